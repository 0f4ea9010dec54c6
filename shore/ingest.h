/*
 * ingest.h — the shore's intake of one uplink bundle (contract step 7),
 * callable without any socket: shored's sessions call it from the channel's
 * message handler, `lifeline-bench ingest` calls it in a loop.
 *
 *   struct ingest *in;
 *   ingest_new(&in, store, shore_secret);          // once
 *   ingest_bundle(in, bytes, len, now, &outcome);  // per bundle
 *   ingest_stats_flush(in);                        // now and then, at exit
 *
 * Per bundle: header -> registry (unknown, suspended: refused) -> AEAD ->
 * replay window -> whole body decoded (bounded) -> ONE transaction (messages
 * INSERT OR IGNORE on (vessel, msg_id), contacts keeping the highest msg_id,
 * heartbeat, window, last contact) -> COMMIT -> only then the in-memory
 * window accepts the sequence.  Every message id in the bundle gets a
 * pending receipt (messages.reported = -1), so the downlink tells the vessel.
 * A replayed or too-old authentic bundle stores nothing new but re-queues
 * receipts for what the shore holds of it.
 *
 * Fast path for many bundles: cached prepared statements, one transaction
 * (one fsync) per bundle, the registry (keys, window) kept in memory and
 * read from the database once per vessel.
 *
 * Not thread-safe: one ingest per thread, with its own store connection.
 */
#ifndef LIFELINE_SHORE_INGEST_H
#define LIFELINE_SHORE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/keyfile.h"
#include "proto/bundle.h"
#include "proto/err.h"
#include "shore/store.h"

#define INGEST_RECORDS_MAX 4096u        /* records in one bundle */
#define INGEST_ARENA_MAX (1u << 20)     /* text bytes copied from one bundle */
#define INGEST_WHY_MAX 160u
#define INGEST_LOG_QUIET_MS 10000u      /* a burst of refusals: one log line */

enum ingest_result {
	INGEST_ACCEPTED = 0,    /* committed (possibly all duplicates) */
	INGEST_REPLAY,          /* authentic, seq already accepted: receipts re-queued */
	INGEST_WINDOW,          /* authentic, older than the window: receipts re-queued */
	INGEST_MALFORMED,       /* garbage header, or an authentic body that does not
				 * decode (deflate bomb, bad record): seq NOT accepted */
	INGEST_AUTH,            /* tag does not verify: forged or wrong key */
	INGEST_UNKNOWN_VESSEL,  /* not in the registry */
	INGEST_SUSPENDED,       /* registered but suspended */
	INGEST_FAILED,          /* database failure: nothing changed, try again */
	INGEST_RESULT_COUNT_
};

struct ingest_outcome {
	enum ingest_result result;
	int err;                /* the enum err behind a refusal, or 0 */
	bool authentic;         /* the bundle proved the vessel's key */
	uint32_t vessel;        /* from the header (0 if it did not parse) */
	uint64_t seq;
	size_t messages;        /* message records in the bundle */
	size_t stored;          /* of which new */
	size_t duplicates;      /* of which already held */
	char why[INGEST_WHY_MAX];
};

/* Totals since the database was made (persisted by ingest_stats_flush). */
struct ingest_stats {
	uint64_t bundles;       /* accepted */
	uint64_t replays;
	uint64_t duplicates;
	uint64_t messages;      /* stored */
	uint64_t auth;          /* rejected: forged */
	uint64_t unknown_vessel;/* rejected: unknown or suspended */
	uint64_t malformed;     /* rejected: bad header or body (bombs included) */
	uint64_t window;        /* rejected: older than the window */
	uint64_t db_errors;
};

struct ingest;

/* shore: the shore's secret key (its kx pair is copied into sodium_malloc
 * memory; the caller may free it afterwards).  Loads the persisted
 * counters.  Returns 0, ERR_NOMEM, or a db error. */
int ingest_new(struct ingest **out, struct store *st, const struct keyfile_secret *shore) LL_MUST_CHECK;
void ingest_free(struct ingest *in);             /* NULL is a no-op */
/* fn(ctx) runs after a commit that added alert rows (gap; a new complaint
 * or SOS, shore/cases.c), so they are forwarded at once.  NULL: none. */
void ingest_set_alert_hook(struct ingest *in, void (*fn)(void *ctx), void *ctx);

/*
 * Ingests one sealed bundle received at unix time now.  Fills *o and
 * returns 0 for every outcome a peer can cause (refusals included: see
 * o->result), or a negative enum err only for INGEST_FAILED (database).
 * Refusals are counted and logged (at most one line per burst per kind,
 * naming the vessel and the reason).
 */
int ingest_bundle(struct ingest *in, const uint8_t *b, size_t len, int64_t now,
		  struct ingest_outcome *o);

const struct ingest_stats *ingest_stats(const struct ingest *in);
/* Writes the counters to the store.  Returns 0 or a db error. */
int ingest_stats_flush(struct ingest *in) LL_MUST_CHECK;

/* The session keys for vessel (loading it from the store if needed); the
 * pointer stays valid until ingest_free().  Returns 0, ERR_NOTFOUND,
 * ERR_KEY, or a db error. */
int ingest_vessel_keys(struct ingest *in, uint32_t vessel, const struct bundle_keys **k) LL_MUST_CHECK;

/* Drops what the registry cached about vessel (after `vessel add`,
 * `suspend`, `resume`): the next bundle reads it from the store again. */
void ingest_vessel_forget(struct ingest *in, uint32_t vessel);

const char *ingest_result_name(enum ingest_result r);

#endif
