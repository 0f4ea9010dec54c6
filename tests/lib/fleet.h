/*
 * fleet.h — a fleet on one machine for end-to-end tests: shored, one or two
 * vesseld, a satsim in each vessel's path, crew with contacts; submitting
 * texts, killing any of the processes at will, and the reconciliation that
 * proves nothing was lost or duplicated.
 *
 * Vessel 101 reaches the shore over pseudo-terminals (the serial driver),
 * vessel 102 over TCP; satsim sits in both paths.  A send whose answer was
 * lost to a kill may or may not have been queued: such messages are not
 * counted as promised, but if the vessel holds them they must be delivered
 * and counted like the rest.
 */
#ifndef LIFELINE_TESTS_FLEET_H
#define LIFELINE_TESTS_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FLEET_CREW 3                    /* crew members per vessel */
#define FLEET_VESSELS_MAX 2
#define FLEET_PIN "4711"
#define FLEET_DRAIN_MS 600000           /* everything delivered after the last send */

struct fleet_sent {                     /* a text the vessel said "queued" for */
	uint32_t vessel;
	uint32_t crew;
	uint64_t msg_id;
	char text[512];
};

struct fleet_vessel {
	uint32_t id;
	char conf[512], sock[512], link[256];
	pid_t pid;
	int gen;
	uint32_t crew[FLEET_CREW];
	pid_t sat;                      /* satsim in this vessel's path */
	int sat_gen;
	char sat_a[600], sat_b[600], sat_seed[16];
};

struct fleet {
	char *dir;
	char shore_conf[512], shore_sock[512], spool[512];
	pid_t shored;
	int shore_gen;
	size_t nvessels;
	struct fleet_vessel v[FLEET_VESSELS_MAX];
	const char *const *impair;      /* extra satsim options, NULL-terminated */
	struct fleet_sent *sent;
	size_t nsent, cap;
	uint64_t rng;
};

/* Starts satsim(s), shored and nvessels vesseld with FLEET_CREW crew each
 * (every one with contact 1), room for cap promised texts.  quota is the
 * vessels' quota_allowance ("1M"); impair the satsim options beyond rate
 * and latency (NULL: light loss). */
void fleet_up(struct fleet *f, size_t nvessels, size_t cap, const char *quota,
	      const char *const *impair);
/* SIGTERM to all (daemons must exit 0); keeps the folder if a test failed. */
void fleet_down(struct fleet *f);

uint64_t fleet_rand(struct fleet *f);
/* Text i of a run: one of several languages, unique by its "#i". */
void fleet_text(size_t i, char *out, size_t cap);
/* `send` as crew member c of v; records the text when queued.  Returns the
 * daemon's status, or -1 when no answer came. */
int fleet_send(struct fleet *f, struct fleet_vessel *v, int c, const char *text);

void fleet_kill_vessel(struct fleet *f, struct fleet_vessel *v);    /* SIGKILL, restart */
void fleet_kill_shored(struct fleet *f);
void fleet_kill_satsim(struct fleet *f, struct fleet_vessel *v);

/* Waits until every text held by every vessel is "delivered", then checks:
 * every promised text is in the spool once with its text, the spool and
 * the shore hold exactly the texts the vessels hold, and each crew member's
 * ledger equals the bytes of their texts. */
void fleet_check_everything(struct fleet *f);

/* Messages of one kind in a shore listing; with id nonzero, only that one. */
size_t fleet_shore_count(const char *json, const char *kind, uint64_t id);

#endif
