/*
 * impair.h — the satellite link model behind tools/satsim.
 *
 * One struct impair models one direction of a link.  It is pure logic: no
 * I/O, no clock (time is a parameter in milliseconds), no allocation, a
 * seeded PRNG of its own.  Same configuration, seed and inputs -> same
 * verdicts, bit for bit.  It lives in common/ because satsim and the tests
 * share it.
 *
 * The model, per byte, in this order:
 *   jitter   each chunk (one impair_push call) waits a random 0..jitter_ms
 *            before the transmitter sees it, never overtaking an earlier
 *            chunk: arrival times stay monotonic, bytes are never reordered.
 *   rate     the transmitter sends 8 bits per byte at rate_bps: a byte
 *            starts at max(arrival, previous finish) and finishes 8/rate s
 *            later.  Kept in exact integer units, so n back-to-back bytes
 *            take exactly n*8/rate s.  Every byte takes its airtime, lost or
 *            not: the transmitter cannot tell, and a lossy link is no faster.
 *   outage   a byte whose transmission starts inside a scheduled outage, or
 *            that is pushed while the manual outage is on, is lost.
 *   loss     other bytes are lost in bursts of burst_bytes; bursts start so
 *            that the expected lost fraction is exactly `loss`.
 *   ber      each bit of a surviving byte flips independently with
 *            probability ber (geometric skipping: one PRNG draw per flip).
 *   latency  every byte is due at the far end latency_ms after it finished;
 *            due times are monotonic and rate-bounded.
 */
#ifndef LIFELINE_COMMON_IMPAIR_H
#define LIFELINE_COMMON_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define IMPAIR_OUTAGE_MAX 32u            /* scheduled outages per direction */
#define IMPAIR_RATE_MIN_BPS 1u
#define IMPAIR_RATE_MAX_BPS 100000000u   /* 100 Mbit/s: far above any satellite */
#define IMPAIR_DELAY_MAX_MS 600000u      /* latency and jitter cap: 10 minutes */
#define IMPAIR_BURST_MAX 65536u          /* longest loss burst, bytes */
#define IMPAIR_OUTAGE_MAX_MS (366ull * 24 * 3600 * 1000)  /* a year */
#define IMPAIR_DEFAULT_RATE_BPS 2400u
#define IMPAIR_DEFAULT_LATENCY_MS 750u
#define IMPAIR_DEFAULT_BURST_BYTES 32u
#define IMPAIR_WHY_BYTES 160u            /* room for a configuration error */

/* One scheduled outage, relative to the model's start time. */
struct impair_outage {
	uint64_t start_ms;
	uint64_t duration_ms;
};

struct impair_config {
	uint32_t rate_bps;       /* IMPAIR_RATE_MIN_BPS .. IMPAIR_RATE_MAX_BPS */
	uint32_t latency_ms;     /* one way, 0 .. IMPAIR_DELAY_MAX_MS */
	uint32_t jitter_ms;      /* extra delay per chunk, 0 .. IMPAIR_DELAY_MAX_MS */
	double ber;              /* bit error rate, 0 .. 1 */
	double loss;             /* fraction of bytes lost, 0 .. 1 */
	uint32_t burst_bytes;    /* loss burst length, 1 .. IMPAIR_BURST_MAX */
	struct impair_outage outages[IMPAIR_OUTAGE_MAX];
	size_t n_outages;
};

/* Counters since impair_init(); bytes_in counts every byte pushed. */
struct impair_stats {
	uint64_t bytes_in;
	uint64_t dropped_bytes;  /* lost to --loss bursts */
	uint64_t outage_bytes;   /* lost because they went on air during an outage */
	uint64_t flipped_bits;   /* bits flipped in surviving bytes */
};

/* What happened to one byte. */
enum impair_fate {
	IMPAIR_DELIVER = 0,      /* due at the far end at due_ms (maybe flipped) */
	IMPAIR_LOST = 1,         /* lost in a burst; its airtime ends at due_ms */
	IMPAIR_OUTAGE = 2        /* lost in an outage; its airtime ends at due_ms */
};

struct impair_verdict {
	uint64_t due_ms;
	enum impair_fate fate;
};

/* Visible so a caller can embed it; touch it only through impair_*(). */
struct impair {
	struct impair_config cfg;
	uint64_t rng[4];          /* xoshiro256** state */
	uint64_t start_ms;
	uint64_t tx_free_units;   /* transmitter free at this time, ms*rate units since start */
	uint64_t last_arrival_ms; /* latest jittered arrival, since start */
	uint64_t gap_bytes;       /* good bytes before the next loss burst starts */
	uint64_t gap_bits;        /* good bits before the next flip */
	uint32_t burst_left;      /* bytes still to lose in the current burst */
	double burst_start_p;     /* probability a burst starts at a good byte */
	bool manual_outage;
	struct impair_stats stats;
};

/* Fills cfg with the defaults: 2400 bit/s, 750 ms, no jitter, no errors,
 * bursts of 32 bytes, no outages. */
void impair_config_default(struct impair_config *cfg);

/*
 * Checks every field against its range.  Returns 0, or ERR_INVAL with a
 * one-line English reason written to why (NUL-terminated, cut at cap).
 */
int impair_config_check(const struct impair_config *cfg, char *why, size_t cap) LL_MUST_CHECK;

/*
 * Parses "START_S:DURATION_S" (seconds, decimals allowed, both >= 0,
 * duration > 0, each at most IMPAIR_OUTAGE_MAX_MS) and appends it to cfg.
 * Returns 0, ERR_INVAL on bad text, ERR_FULL past IMPAIR_OUTAGE_MAX.
 */
int impair_config_add_outage(struct impair_config *cfg, const char *text) LL_MUST_CHECK;

/*
 * Starts a model at start_ms (outages count from here) with a copy of cfg
 * and a PRNG seeded from seed.  Returns 0, or ERR_INVAL if cfg fails
 * impair_config_check().
 */
int impair_init(struct impair *im, const struct impair_config *cfg, uint64_t seed,
		uint64_t start_ms) LL_MUST_CHECK;

/*
 * Passes one chunk of n bytes that entered the link at now_ms.  Surviving
 * bytes of buf are corrupted in place per the BER; out[i] (caller-owned,
 * n entries) receives byte i's fate and due time on the same clock as
 * now_ms.  Times before start_ms count as start_ms.  Returns 0, or
 * ERR_INVAL on NULL pointers with n > 0 (nothing changed then).
 */
int impair_push(struct impair *im, uint64_t now_ms, uint8_t *buf, size_t n,
		struct impair_verdict *out) LL_MUST_CHECK;

/* True while a scheduled or the manual outage covers now_ms (on the
 * caller's clock, like impair_push's now_ms). */
bool impair_in_outage(const struct impair *im, uint64_t now_ms);

/* Turns the manual outage (satsim's SIGUSR1) on or off. */
void impair_set_manual_outage(struct impair *im, bool on);

/* Milliseconds of queued airtime still ahead of now_ms (0 when idle). */
uint64_t impair_backlog_ms(const struct impair *im, uint64_t now_ms);

#endif
