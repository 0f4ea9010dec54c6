/*
 * store.h — vesseld's SQLite database (schema version 1): crew, contacts,
 * the outbox and its states, the quota ledger, stored bundles, the inbox
 * and the sequence/window meta values.  Every query of vesseld lives in
 * store.c; the modules above (vctl, uplink) never write SQL.
 *
 * Ownership: struct vstore owns one struct db connection.  Strings handed
 * in are copied by SQLite; rows handed back through callbacks point into
 * SQLite memory valid only during the callback.
 *
 * Every function returns 0 or a negative enum err (db_last_error() of
 * vstore_db() says why) unless it says otherwise.
 */
#ifndef LIFELINE_VESSEL_STORE_H
#define LIFELINE_VESSEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/db.h"
#include "proto/err.h"

#define VSTORE_SCHEMA_VERSION 2
/* PRAGMA cache_size in KiB: small, so the daemon's peak RSS stays low (the
 * vessel db is a few MB and mostly appended to). */
#define VSTORE_CACHE_KIB 256
/* crew.locked_until of an account the captain locked: never unlocks alone. */
#define VSTORE_LOCKED_FOREVER INT64_MAX
#define VSTORE_NAME_MAX 64u             /* crew display name, bytes */
#define VSTORE_LANG_MAX 16u             /* language tag, bytes */
#define VSTORE_PIN_HASH_MAX 128u        /* crypto_pwhash_STRBYTES */

/* Message kinds and states as stored (text columns). */
enum vmsg_kind { VMSG_TEXT = 0, VMSG_CONTACT, VMSG_SOS, VMSG_COMPLAINT, VMSG_KIND_COUNT };
enum vmsg_state {
	VMSG_QUEUED = 0, VMSG_SENT, VMSG_ACCEPTED, VMSG_DELIVERED, VMSG_FAILED, VMSG_STATE_COUNT
};

const char *vmsg_kind_name(enum vmsg_kind k);
const char *vmsg_state_name(enum vmsg_state s);
/* -1 if unknown. */
int vmsg_state_parse(const char *s);
int vmsg_kind_parse(const char *s);

struct vstore;

struct vcrew {
	uint32_t id;
	char name[VSTORE_NAME_MAX + 1];
	char lang[VSTORE_LANG_MAX + 1];
	char pin_hash[VSTORE_PIN_HASH_MAX + 1];
	uint32_t fails;
	int64_t locked_until;   /* unix s; 0 none; VSTORE_LOCKED_FOREVER */
	int64_t pin_reset_at;   /* unix s of the last admin PIN reset, 0 never */
	int64_t inbox_floor;    /* inbox ids <= this are hidden (admin reset) */
	int64_t msg_floor;      /* message ids <= this are hidden (admin reset) */
	int64_t created;
};

/* A message to queue.  body: UTF-8 text, a complaint's sealed blob, or a
 * contact's address; owned by the caller. */
struct vmsg_new {
	uint32_t crew_id;
	enum vmsg_kind kind;
	uint32_t contact_ref;
	const uint8_t *body;
	size_t body_len;
	uint64_t text_bytes;    /* what the crew member is shown */
	uint64_t quota_bytes;   /* added to quota(crew, period) in the same commit */
	int64_t ts;
	uint32_t period;        /* YYYYMM of ts in the quota zone */
};

/* A stored message as the uplink and the listings see it. */
struct vmsg {
	uint64_t id;
	uint32_t crew_id;
	enum vmsg_kind kind;
	uint32_t contact_ref;
	const uint8_t *body;    /* SQLite memory: valid during the callback */
	size_t body_len;
	uint64_t text_bytes;
	int64_t ts;
	enum vmsg_state state;
	uint32_t reason;
	const char *to;         /* listing only: the contact address or "" */
};

/* What the scheduler needs of a queued message (no body). */
struct vpending {
	uint64_t id;
	uint32_t crew_id;
	enum vmsg_kind kind;
	uint32_t body_len;
};

struct vinbox {
	int64_t id;
	uint32_t crew_id;
	bool is_case;
	uint64_t shore_id;      /* reply id, or the complaint's msg_id (case) */
	uint32_t contact_ref;   /* replies */
	uint32_t status;        /* cases: enum record_case_status */
	int64_t ts;
	const char *text;       /* SQLite memory */
};

struct vcounts {
	uint64_t state[VMSG_STATE_COUNT];
	uint64_t bundles;
	uint64_t crew;
};

/* Opens (creating, migrating) the database at path with a small page
 * cache.  why may be NULL.  Returns 0 and *out, or db_open()'s errors. */
int vstore_open(const char *path, struct vstore **out, struct db_open_error *why) LL_MUST_CHECK;
/* Closes; an open transaction is rolled back.  NULL is a no-op. */
void vstore_close(struct vstore *st);
struct db *vstore_db(struct vstore *st);

/* Transactions (db_begin / db_commit / db_rollback). */
int vstore_begin(struct vstore *st) LL_MUST_CHECK;
int vstore_commit(struct vstore *st) LL_MUST_CHECK;
void vstore_rollback(struct vstore *st);

/* ---- meta ------------------------------------------------------------- */
/* *v = def when the key is absent. */
int vstore_meta_u64(struct vstore *st, const char *key, uint64_t def, uint64_t *v) LL_MUST_CHECK;
int vstore_meta_set_u64(struct vstore *st, const char *key, uint64_t v) LL_MUST_CHECK;
/* Copies at most cap bytes; *len the stored length (0 when absent). */
int vstore_meta_blob(struct vstore *st, const char *key, uint8_t *out, size_t cap, size_t *len) LL_MUST_CHECK;
int vstore_meta_set_blob(struct vstore *st, const char *key, const uint8_t *p, size_t len) LL_MUST_CHECK;

/* ---- crew --------------------------------------------------------------- */
int vstore_crew_add(struct vstore *st, const char *name, const char *lang, const char *pin_hash,
		    int64_t now, uint32_t *id) LL_MUST_CHECK;
/* ERR_NOTFOUND if there is no such crew member. */
int vstore_crew_get(struct vstore *st, uint32_t id, struct vcrew *c) LL_MUST_CHECK;
int vstore_crew_each(struct vstore *st, int (*fn)(void *ctx, const struct vcrew *c), void *ctx) LL_MUST_CHECK;
int vstore_crew_set_lock(struct vstore *st, uint32_t id, uint32_t fails, int64_t locked_until) LL_MUST_CHECK;
/* New PIN hash; admin_reset also hides every inbox item and message so
 * far from the new PIN holder (floors = current max ids) and unlocks. */
int vstore_crew_set_pin(struct vstore *st, uint32_t id, const char *pin_hash, bool admin_reset,
			int64_t now) LL_MUST_CHECK;

/* ---- contacts ----------------------------------------------------------- */
/* In one transaction: the next ref of crew_id, the contact row and its
 * CONTACT message (queued, not counted). */
int vstore_contact_add(struct vstore *st, uint32_t crew_id, const char *address, const char *name,
		       int64_t ts, uint32_t period, uint32_t *ref, uint64_t *msg_id) LL_MUST_CHECK;
/* ERR_NOTFOUND if absent.  address/name: caller buffers (may be NULL). */
int vstore_contact_get(struct vstore *st, uint32_t crew_id, uint32_t ref, char *address, size_t acap,
		       char *name, size_t ncap) LL_MUST_CHECK;
int vstore_contact_each(struct vstore *st, uint32_t crew_id,
			int (*fn)(void *ctx, uint32_t ref, const char *address, const char *name),
			void *ctx) LL_MUST_CHECK;

/* ---- messages and quota ------------------------------------------------- */
/* Bytes counted for crew_id in period (0 if none). */
int vstore_quota_used(struct vstore *st, uint32_t crew_id, uint32_t period, uint64_t *used) LL_MUST_CHECK;
/* Inserts the message (state queued) and adds m->quota_bytes to the
 * ledger, in ONE transaction.  *id: its message id. */
int vstore_msg_add(struct vstore *st, const struct vmsg_new *m, uint64_t *id) LL_MUST_CHECK;
/*
 * Queues a complaint (never counted) whose sealed body needs its own
 * message id: in ONE transaction, inserts the row with an empty body,
 * calls seal(ctx, id, out, cap) (out: cap >= RECORD_BLOB_MAX bytes; it
 * returns the blob length or a negative enum err), stores the blob as the
 * body, commits.  The plaintext never reaches SQLite: only the blob is
 * bound.  A seal error rolls back and is returned.  *id: the message id.
 */
int vstore_complaint_add(struct vstore *st, uint32_t crew_id, uint64_t text_bytes, int64_t ts,
			 uint32_t period,
			 ssize_t (*seal)(void *ctx, uint64_t id, uint8_t *out, size_t cap),
			 void *ctx, uint64_t *id) LL_MUST_CHECK;
/* The newest case status the shore sent for complaint msg_id: 0 and
 * *status, or ERR_NOTFOUND (no update yet). */
int vstore_case_status(struct vstore *st, uint64_t msg_id, uint32_t *status) LL_MUST_CHECK;
/* ERR_NOTFOUND if absent; fn gets the row. */
int vstore_msg_get(struct vstore *st, uint64_t id, int (*fn)(void *ctx, const struct vmsg *m),
		   void *ctx) LL_MUST_CHECK;
/* Messages of crew_id above its msg floor, newest first, at most limit. */
int vstore_msg_each_crew(struct vstore *st, uint32_t crew_id, int64_t floor, uint32_t limit,
			 int (*fn)(void *ctx, const struct vmsg *m), void *ctx) LL_MUST_CHECK;
/* Queued messages for the scheduler: every SOS, complaint and contact
 * first, then at most per_crew texts of each crew member, interleaved;
 * at most max in all.  Returns the count written to out[]. */
ssize_t vstore_pending(struct vstore *st, uint32_t per_crew, struct vpending *out, size_t max) LL_MUST_CHECK;
int vstore_counts(struct vstore *st, struct vcounts *c) LL_MUST_CHECK;

/* ---- bundles ------------------------------------------------------------ */
/* Inside a transaction the caller opened: stores the bundle and moves the
 * messages ids[0..n) from queued to sent with bundle_seq = seq. */
int vstore_bundle_put(struct vstore *st, uint64_t seq, const uint8_t *b, size_t len,
		      const uint64_t *ids, size_t n, int64_t now) LL_MUST_CHECK;
/* Stored bundles with seq >= from that still hold a sent message, oldest
 * first.  fn may return non-zero to stop (that value is returned). */
int vstore_bundle_each_unacked(struct vstore *st, uint64_t from,
			       int (*fn)(void *ctx, uint64_t seq, const uint8_t *b, size_t len),
			       void *ctx) LL_MUST_CHECK;

/* ---- downlink (inside the caller's transaction) ------------------------- */
/* Moves messages first..first+count-1 forward to state (accepted,
 * delivered, failed) with reason; never backwards.  *changed (may be
 * NULL) adds the rows changed. */
int vstore_receipt_apply(struct vstore *st, uint64_t first, uint64_t count, enum vmsg_state state,
			 uint32_t reason, int64_t now, uint64_t *changed) LL_MUST_CHECK;
/* Deletes stored bundles whose messages are all accepted or later. */
int vstore_bundle_prune(struct vstore *st) LL_MUST_CHECK;
/* INSERT OR IGNORE an inbox item.  A case update's crew is the
 * complaint's sender (i->crew_id ignored).  Items for an unknown crew
 * member or complaint are dropped: *stored false. */
int vstore_inbox_add(struct vstore *st, const struct vinbox *i, size_t text_len, int64_t received,
		     bool *stored) LL_MUST_CHECK;
int vstore_inbox_each(struct vstore *st, uint32_t crew_id, int64_t floor,
		      int (*fn)(void *ctx, const struct vinbox *i), void *ctx) LL_MUST_CHECK;

#endif
