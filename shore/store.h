/*
 * store.h — the shore's SQLite store: vessels, messages, contacts, replies,
 * alerts and counters (schema version 3, see shore/store.c for the SQL).
 *
 * One struct store is one connection (common/db.h): the main loop has one,
 * the delivery worker opens its own on the same file (WAL lets them share).
 * Ingest (shore/ingest.c), downlink (shore/downlink.c) and routing
 * (shore/route.c) speak SQL to store_db() directly with cached statements
 * for speed; what more than one caller needs lives here.
 *
 * Message states (messages.state and messages.reported) are the wire's
 * enum record_msg_state numbers: 0 accepted, 1 delivered, 2 failed.
 * reported = STORE_REPORTED_NONE (-1) means "the vessel must be told the
 * current state": set on every insert, on every duplicate or replayed copy
 * of a message, and never by anything else.  A receipt is pending while
 * state != reported.
 */
#ifndef LIFELINE_SHORE_STORE_H
#define LIFELINE_SHORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "proto/bundle.h"
#include "proto/err.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_REPORTED_NONE (-1)
#define STORE_NAME_MAX 128u            /* bytes of a vessel name */
#define STORE_ALERT_DETAIL_MAX 256u
#define STORE_REPLY_TEXT_MAX 2048u      /* UTF-8 bytes (BODY_TEXT_UTF8_MAX) */
#define STORE_GATEWAY_ID_MAX 128u       /* bytes of a gateway's reply id */

struct store;

enum store_vessel_state { STORE_VESSEL_ACTIVE = 0, STORE_VESSEL_SUSPENDED = 1 };

/* A vessel row as the registry needs it. */
struct store_vessel {
	uint32_t id;
	char name[STORE_NAME_MAX + 1];
	enum store_vessel_state state;
	uint8_t sign_pk[BUNDLE_SIGN_PK_BYTES];
	uint8_t kx_pk[BUNDLE_KX_PK_BYTES];
	bool has_window;
	struct bundle_window window;   /* uplink replay window, as committed */
	uint64_t highest_seq;
	uint64_t down_seq_limit;       /* downlink seq numbers below are burned */
	int64_t last_contact;          /* unix s, 0 = never */
};

/* Opens (creating, migrating) the database at path.  why may be NULL.
 * Returns 0, or db_open()'s errors. */
int store_open(const char *path, struct store **out, struct db_open_error *why) LL_MUST_CHECK;
void store_close(struct store *st);            /* NULL is a no-op */
struct db *store_db(struct store *st);

/* Rolls back the open transaction of db (if any); a failure is logged. */
void store_rollback(struct db *db);

/* The schema, for tests and for anyone opening the same file. */
extern const struct db_migration store_migrations[];
extern const size_t store_migrations_n;

/* ---- vessels ------------------------------------------------------------ */

/* Registers a vessel (state active).  Returns 0, ERR_DUP if the id exists,
 * ERR_INVAL for id 0 or an empty/over-long name, or a db error. */
int store_vessel_add(struct store *st, uint32_t id, const char *name,
		     const uint8_t sign_pk[BUNDLE_SIGN_PK_BYTES],
		     const uint8_t kx_pk[BUNDLE_KX_PK_BYTES], int64_t now) LL_MUST_CHECK;
/* Reads vessel id into *v.  Returns 0, ERR_NOTFOUND, or a db error. */
int store_vessel_get(struct store *st, uint32_t id, struct store_vessel *v) LL_MUST_CHECK;
/* Sets the state.  Returns 0, ERR_NOTFOUND, or a db error. */
int store_vessel_set_state(struct store *st, uint32_t id, enum store_vessel_state s) LL_MUST_CHECK;
/* Persists the downlink sequence limit of a vessel (its own transaction
 * unless one is open).  Returns 0 or a db error. */
int store_vessel_set_down_limit(struct store *st, uint32_t id, uint64_t limit) LL_MUST_CHECK;
const char *store_vessel_state_name(enum store_vessel_state s);

/* ---- replies -------------------------------------------------------------- */

/*
 * Queues a family's reply for (vessel, crew_id, contact_ref), durably: the
 * one entry point for `shorectl reply` and the HTTP reply endpoint.  The id
 * is unique per vessel (the REPLY record's msg_id).  text: UTF-8, 1 ..
 * STORE_REPLY_TEXT_MAX bytes.  Returns 0 with *reply_id, ERR_NOTFOUND (no
 * such vessel), ERR_UTF8, ERR_TOOBIG, ERR_INVAL (empty text, zero crew or
 * contact), or a db error.  The caller then wakes the vessel's session.
 */
int store_reply_enqueue(struct store *st, uint32_t vessel, uint32_t crew_id,
			uint32_t contact_ref, const char *text, size_t len, int64_t now,
			uint64_t *reply_id) LL_MUST_CHECK;

/* A reply for store_reply_add(). */
struct store_reply {
	uint32_t vessel, crew_id, contact_ref;
	const char *text;               /* UTF-8, 1..STORE_REPLY_TEXT_MAX bytes */
	size_t len;
	const char *gateway_id;         /* NULL: none (shorectl); else unique per vessel */
	bool strict;                    /* gateways: the vessel must be active and
					 * (crew_id, contact_ref) a known contact */
};

/*
 * store_reply_enqueue() with a gateway id and checks, in one transaction
 * (the HTTP reply endpoint's entry point; store_reply_enqueue() is this
 * with no gateway id and strict false).  Returns 0 with *reply_id; ERR_DUP
 * with the EARLIER reply's *reply_id when gateway_id was stored before for
 * this vessel (nothing queued); ERR_NOTFOUND (vessel, or with strict: crew
 * member or contact unknown); ERR_PERM (strict: vessel suspended);
 * ERR_INVAL, ERR_TOOBIG, ERR_UTF8 as above; or a db error.  why (may be
 * NULL) says which, for the gateway.
 */
int store_reply_add(struct store *st, const struct store_reply *in, int64_t now,
		    uint64_t *reply_id, char *why, size_t why_cap) LL_MUST_CHECK;

/* ---- alerts ---------------------------------------------------------------- */

/* Records an alert row (kind "silence" | "gap" | ...) and logs it at warn.
 * Uses the open transaction if there is one.  Returns 0 or a db error. */
int store_alert_add(struct store *st, uint32_t vessel, const char *kind, int64_t now,
		    const char *detail) LL_MUST_CHECK;

/* Raises a "silence" alert (once per silence) for every active vessel heard
 * from before now - silence_s; a vessel that speaks again is re-armed by
 * ingest.  *raised (may be NULL) counts new alerts.  Returns 0 or a db
 * error. */
int store_check_silence(struct store *st, int64_t now, int64_t silence_s,
			size_t *raised) LL_MUST_CHECK;

/* ---- counters ---------------------------------------------------------------- */

/* Persistent named counters (ingest refusals, replays, ...).  get: 0 if
 * absent.  set writes the absolute value. */
int store_counter_get(struct store *st, const char *name, uint64_t *v) LL_MUST_CHECK;
int store_counter_set(struct store *st, const char *name, uint64_t v) LL_MUST_CHECK;

/* ---- small query helpers ---------------------------------------------------- */

/* Runs sql (cached by pointer) with up to 3 int64 bindings (nb of them) and
 * returns the first column of the first row in *v (0 when no row).
 * Returns 0 or a db error. */
int store_query_int(struct store *st, const char *sql, int nb, int64_t a, int64_t b,
		    int64_t c, int64_t *v) LL_MUST_CHECK;

#endif
