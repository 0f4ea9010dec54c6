/*
 * ingest.c — one uplink bundle in, committed messages out (contract step 7).
 *
 * What it is for: the shore acknowledges only what it has committed
 * (DESIGN invariant 1), holds every (vessel, message id) once (invariant 2)
 * and authenticates before parsing further (invariant 4).  This file is that
 * path, without sockets, so a unit test or a benchmark drives it directly.
 *
 * Invariants:
 *  - order: header -> registry -> AEAD (bundle_unseal without a window)
 *    -> window check -> whole body decoded -> one transaction -> commit ->
 *    in-memory window.  The window check follows authentication, so
 *    REPLAY/WINDOW always mean "genuine" (their plaintext is then used only
 *    to re-queue receipts for messages already held);
 *  - the in-memory window of a vessel always equals its committed copy:
 *    the new window is computed on a copy, stored in the transaction and
 *    installed only after COMMIT returned 0;
 *  - a body that fails to decode (bad record, deflate bomb, too many
 *    records) leaves the sequence number unspent and the database untouched;
 *  - every message id of an accepted bundle has reported = -1 afterwards
 *    (new rows by default, duplicates by UPDATE), so a receipt goes back.
 *
 * Failure behaviour: peer-caused refusals are counted, logged at most once
 * per burst per kind with the vessel and the reason, and reported in the
 * outcome; a database failure rolls back, changes no memory and returns the
 * error (INGEST_FAILED): the bundle may come again and will be new.
 */
#include "shore/ingest.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proto/body.h"
#include "shore/cases.h"
#include "shore/ledger.h"

#define REG_BUCKETS 256u               /* registry hash buckets (power of two) */
#define KEY_SLOTS_FIRST 16u
#define MSEC_PER_SEC 1000
/* The shore's Ed25519 key (complaint receipts, shore/cases.c). */
#define SHORE_SIGN_SK(in) ((in)->kx + BUNDLE_KX_PK_BYTES + BUNDLE_KX_SK_BYTES)

/* One vessel as the registry caches it. */
struct vreg {
	uint32_t id;
	bool loaded;                    /* false: read the store again */
	bool present;                   /* the store has this vessel */
	enum store_vessel_state state;
	struct bundle_window win;
	uint64_t highest;
	size_t key_slot;                /* index into ingest.keys */
	bool keys_ok;
	struct vreg *next;
};

/* One decoded record worth keeping; strings are offsets into the arena. */
struct irec {
	enum record_type type;
	uint64_t msg_id, ts;
	uint32_t crew, ref;
	enum record_channel channel;
	size_t off, len;                /* text, address or blob */
	size_t name_off, name_len;      /* contact name */
	bool has_pos;
	struct record_pos pos;
	uint32_t queue, on_board, registered;   /* heartbeat */
};

struct ingest {
	struct store *st;
	struct db *db;
	uint8_t *kx;                    /* sodium_malloc: shore kx pk || sk || sign sk */
	void (*alert_fn)(void *ctx);    /* ingest_set_alert_hook */
	void *alert_ctx;
	bool alerted;                   /* the open transaction added an alert row */
	struct bundle_keys *keys;       /* sodium_malloc: one slot per vessel */
	size_t nkeys, capkeys;
	struct vreg *buckets[REG_BUCKETS];
	struct ingest_stats stats;
	struct log_burst burst[INGEST_RESULT_COUNT_];
	/* scratch */
	struct compress_work work;
	struct body_reader rd;
	struct ledger_scan ls;          /* what the compliance ledger keeps of a bundle */
	uint8_t plain[BUNDLE_BYTES_MAX];
	struct irec *recs;
	size_t nrecs, caprecs;
	uint8_t *arena;
	size_t alen, acap;
};

static const char *const result_names[INGEST_RESULT_COUNT_] = {
	"accepted", "replay", "window", "malformed", "auth", "unknown_vessel", "suspended",
	"failed",
};

const char *ingest_result_name(enum ingest_result r)
{
	return (unsigned)r < INGEST_RESULT_COUNT_ ? result_names[r] : "?";
}

/* Counter names in the store, in struct ingest_stats order. */
static const char *const counter_names[] = {
	"bundles", "replays", "duplicates", "messages", "auth", "unknown_vessel",
	"malformed", "window", "db_errors",
};
#define NCOUNTERS (sizeof counter_names / sizeof counter_names[0])

static uint64_t *counter_slot(struct ingest_stats *s, size_t i)
{
	uint64_t *f[NCOUNTERS] = {&s->bundles, &s->replays, &s->duplicates, &s->messages,
				  &s->auth, &s->unknown_vessel, &s->malformed, &s->window,
				  &s->db_errors};
	return f[i];
}

int ingest_new(struct ingest **out, struct store *st, const struct keyfile_secret *shore)
{
	struct ingest *in = calloc(1, sizeof *in);
	*out = NULL;
	if (!in)
		return ERR_NOMEM;
	in->st = st;
	in->db = store_db(st);
	in->kx = sodium_malloc(BUNDLE_KX_PK_BYTES + BUNDLE_KX_SK_BYTES + KEYFILE_SIGN_SK_BYTES);
	if (!in->kx) {
		free(in);
		return ERR_NOMEM;
	}
	memcpy(in->kx, shore->pub.kx_pk, BUNDLE_KX_PK_BYTES);
	memcpy(in->kx + BUNDLE_KX_PK_BYTES, shore->kx_sk, BUNDLE_KX_SK_BYTES);
	memcpy(SHORE_SIGN_SK(in), shore->sign_sk, KEYFILE_SIGN_SK_BYTES);      /* receipts */
	for (size_t i = 0; i < NCOUNTERS; i++) {
		int rc = store_counter_get(st, counter_names[i], counter_slot(&in->stats, i));
		if (rc < 0) {
			ingest_free(in);
			return rc;
		}
	}
	*out = in;
	return 0;
}

void ingest_free(struct ingest *in)
{
	if (!in)
		return;
	for (size_t b = 0; b < REG_BUCKETS; b++) {
		struct vreg *v = in->buckets[b];
		while (v) {
			struct vreg *n = v->next;
			free(v);
			v = n;
		}
	}
	sodium_free(in->keys);
	sodium_free(in->kx);
	free(in->recs);
	free(in->arena);
	free(in);
}

void ingest_set_alert_hook(struct ingest *in, void (*fn)(void *ctx), void *ctx)
{
	in->alert_fn = fn;
	in->alert_ctx = ctx;
}

const struct ingest_stats *ingest_stats(const struct ingest *in)
{
	return &in->stats;
}

int ingest_stats_flush(struct ingest *in)
{
	bool own = !db_in_transaction(in->db);
	int rc = own ? db_begin(in->db) : 0;
	for (size_t i = 0; i < NCOUNTERS && rc == 0; i++)
		rc = store_counter_set(in->st, counter_names[i], *counter_slot(&in->stats, i));
	if (!own)
		return rc;
	if (rc < 0) {
		store_rollback(in->db);
		return rc;
	}
	return db_commit(in->db);
}

/* ---- registry ------------------------------------------------------------ */

static struct vreg *reg_find(struct ingest *in, uint32_t id, bool create)
{
	struct vreg **head = &in->buckets[(id * 2654435761u) & (REG_BUCKETS - 1)];
	for (struct vreg *v = *head; v; v = v->next)
		if (v->id == id)
			return v;
	if (!create)
		return NULL;
	struct vreg *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->id = id;
	v->key_slot = SIZE_MAX;
	v->next = *head;
	*head = v;
	return v;
}

static int key_slot_new(struct ingest *in, size_t *slot)
{
	if (in->nkeys == in->capkeys) {
		size_t cap = in->capkeys ? in->capkeys * 2 : KEY_SLOTS_FIRST;
		struct bundle_keys *k = sodium_allocarray(cap, sizeof *k);
		if (!k)
			return ERR_NOMEM;
		if (in->keys)
			memcpy(k, in->keys, in->nkeys * sizeof *k);
		sodium_free(in->keys);
		in->keys = k;
		in->capkeys = cap;
	}
	*slot = in->nkeys++;
	return 0;
}

/* The registry entry of id, loaded from the store if needed; NULL only on
 * a database or memory failure (*rc says which). */
static struct vreg *reg_get(struct ingest *in, uint32_t id, int *rc)
{
	struct vreg *v = reg_find(in, id, true);
	*rc = 0;
	if (!v) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	if (v->loaded)
		return v;
	struct store_vessel sv;
	int r = store_vessel_get(in->st, id, &sv);
	if (r == ERR_NOTFOUND) {
		v->present = false;
		v->loaded = true;
		return v;
	}
	if (r < 0) {
		*rc = r;
		return NULL;
	}
	if (v->key_slot == SIZE_MAX && (r = key_slot_new(in, &v->key_slot)) < 0) {
		*rc = r;
		return NULL;
	}
	v->keys_ok = bundle_keys_shore(&in->keys[v->key_slot], in->kx, in->kx + BUNDLE_KX_PK_BYTES,
				       sv.kx_pk) == 0;
	v->present = true;
	v->state = sv.state;
	v->win = sv.window;
	v->highest = sv.highest_seq;
	v->loaded = true;
	return v;
}

int ingest_vessel_keys(struct ingest *in, uint32_t vessel, const struct bundle_keys **k)
{
	int rc;
	struct vreg *v = reg_get(in, vessel, &rc);
	if (!v)
		return rc;
	if (!v->present)
		return ERR_NOTFOUND;
	if (!v->keys_ok)
		return ERR_KEY;
	*k = &in->keys[v->key_slot];
	return 0;
}

void ingest_vessel_forget(struct ingest *in, uint32_t vessel)
{
	struct vreg *v = reg_find(in, vessel, false);
	if (v)
		v->loaded = false;
}

/* ---- refusals ------------------------------------------------------------- */

static int refuse(struct ingest *in, struct ingest_outcome *o, enum ingest_result r, int err,
		  int64_t now, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(struct ingest *in, struct ingest_outcome *o, enum ingest_result r, int err,
		  int64_t now, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof o->why, fmt, ap);
	va_end(ap);
	o->result = r;
	o->err = err;
	switch (r) {
	case INGEST_REPLAY: in->stats.replays++; break;
	case INGEST_WINDOW: in->stats.window++; break;
	case INGEST_AUTH: in->stats.auth++; break;
	case INGEST_UNKNOWN_VESSEL:
	case INGEST_SUSPENDED: in->stats.unknown_vessel++; break;
	case INGEST_FAILED: in->stats.db_errors++; break;
	default: in->stats.malformed++; break;
	}
	uint64_t suppressed = 0;
	uint64_t ms = now > 0 ? (uint64_t)now * MSEC_PER_SEC : 0;
	if (log_burst_check(&in->burst[r], ms, INGEST_LOG_QUIET_MS, &suppressed)) {
		enum log_level lvl = r == INGEST_REPLAY ? LOG_LVL_INFO : LOG_LVL_WARN;
		LOG_AT(lvl, "bundle refused (%s): %s (%" PRIu64 " more like it since the last report)",
		       ingest_result_name(r), o->why, suppressed);
	}
	return r == INGEST_FAILED ? err : 0;
}

/* ---- body --------------------------------------------------------------------- */

static int arena_put(struct ingest *in, const struct record_bytes *b, size_t *off)
{
	if (b->len > INGEST_ARENA_MAX - in->alen)
		return ERR_TOOBIG;
	if (in->alen + b->len > in->acap) {
		size_t cap = in->acap ? in->acap : 4096;
		while (cap < in->alen + b->len)
			cap *= 2;
		uint8_t *p = realloc(in->arena, cap);
		if (!p)
			return ERR_NOMEM;
		in->arena = p;
		in->acap = cap;
	}
	if (b->len)
		memcpy(in->arena + in->alen, b->ptr, b->len);
	*off = in->alen;
	in->alen += b->len;
	return 0;
}

static bool id_ok(uint64_t v)
{
	return v > 0 && v <= INT64_MAX;
}

/* Copies the records the shore keeps into in->recs.  Returns 0 or the
 * error that makes the body unacceptable (text in why). */
static int decode_body(struct ingest *in, size_t plen, uint64_t base, char *why, size_t cap)
{
	struct record r;
	int rc;
	in->nrecs = 0;
	in->alen = 0;
	body_reader_init(&in->rd, &in->work, in->plain, plen, base);
	ledger_scan_begin(&in->ls, in->plain, plen);
	size_t sec = 0;
	while ((rc = body_next(&in->rd, &r, &sec)) == 1) {
		ledger_scan_record(&in->ls, sec, &r);
		struct irec x = {.type = r.type};
		const struct record_bytes *s = NULL, *name = NULL;
		switch (r.type) {
		case RECORD_TEXT:
			x.msg_id = r.u.text.msg_id, x.ts = r.u.text.ts;
			x.crew = r.u.text.crew_id, x.ref = r.u.text.contact_ref;
			s = &r.u.text.text;
			if (x.crew == 0 || x.ref == 0) {
				snprintf(why, cap, "TEXT %" PRIu64 " without crew or contact", x.msg_id);
				return ERR_INVAL;
			}
			break;
		case RECORD_CONTACT:
			x.msg_id = r.u.contact.msg_id, x.ts = r.u.contact.ts;
			x.crew = r.u.contact.crew_id, x.ref = r.u.contact.contact_ref;
			x.channel = r.u.contact.channel;
			s = &r.u.contact.address;
			name = &r.u.contact.name;
			if (x.crew == 0 || x.ref == 0 || s->len == 0) {
				snprintf(why, cap, "CONTACT %" PRIu64 " without crew, ref or address", x.msg_id);
				return ERR_INVAL;
			}
			break;
		case RECORD_SOS:
			x.msg_id = r.u.sos.msg_id, x.ts = r.u.sos.ts, x.crew = r.u.sos.crew_id;
			x.has_pos = r.u.sos.has_pos, x.pos = r.u.sos.pos;
			s = &r.u.sos.text;
			break;
		case RECORD_COMPLAINT:
			x.msg_id = r.u.complaint.msg_id, x.ts = r.u.complaint.ts;
			s = &r.u.complaint.blob;
			break;
		case RECORD_HEARTBEAT:
			x.ts = r.u.heartbeat.ts, x.queue = r.u.heartbeat.queue_depth;
			x.on_board = r.u.heartbeat.crew_on_board;
			x.registered = r.u.heartbeat.crew_registered;
			x.has_pos = r.u.heartbeat.has_pos, x.pos = r.u.heartbeat.pos;
			x.msg_id = 1;   /* no id; passes the check below */
			break;
		default:
			continue;       /* unknown or shore-bound types: ignored */
		}
		if (!id_ok(x.msg_id) || x.ts > INT64_MAX) {
			snprintf(why, cap, "record with message id %" PRIu64 " or time out of range", x.msg_id);
			return ERR_INVAL;
		}
		if (in->nrecs == INGEST_RECORDS_MAX) {
			snprintf(why, cap, "more than %u records", INGEST_RECORDS_MAX);
			return ERR_TOOBIG;
		}
		if ((s && (rc = arena_put(in, s, &x.off)) < 0) ||
		    (name && (rc = arena_put(in, name, &x.name_off)) < 0)) {
			snprintf(why, cap, "records hold more than %u bytes of text", INGEST_ARENA_MAX);
			return rc;
		}
		x.len = s ? s->len : 0;
		x.name_len = name ? name->len : 0;
		if (in->nrecs == in->caprecs) {
			size_t c = in->caprecs ? in->caprecs * 2 : 64;
			struct irec *p = realloc(in->recs, c * sizeof *p);
			if (!p)
				return ERR_NOMEM;
			in->recs = p;
			in->caprecs = c;
		}
		in->recs[in->nrecs++] = x;
	}
	if (rc < 0)
		snprintf(why, cap, "body does not decode: %s", err_str(rc));
	return rc;
}

static bool is_message(enum record_type t)
{
	return t == RECORD_TEXT || t == RECORD_CONTACT || t == RECORD_SOS || t == RECORD_COMPLAINT;
}

static const char *kind_of(enum record_type t)
{
	switch (t) {
	case RECORD_TEXT: return "text";
	case RECORD_CONTACT: return "contact";
	case RECORD_SOS: return "sos";
	default: return "complaint";
	}
}

/* ---- statements ------------------------------------------------------------------ */

static const char sql_insert[] =
	"INSERT OR IGNORE INTO messages (vessel, msg_id, crew_id, kind, contact_ref, body, ts, "
	"received, bundle_seq, lat, lon) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_rereport[] =
	"UPDATE messages SET reported = -1 WHERE vessel = ?1 AND msg_id = ?2 AND reported != -1";
static const char sql_rereport_seq[] =
	"UPDATE messages SET reported = -1 WHERE vessel = ?1 AND bundle_seq = ?2 AND reported != -1";
static const char sql_contact[] =
	"INSERT INTO contacts (vessel, crew_id, contact_ref, address, name, channel, msg_id, updated) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (vessel, crew_id, contact_ref) DO UPDATE "
	"SET address = excluded.address, name = excluded.name, channel = excluded.channel, "
	"msg_id = excluded.msg_id, updated = excluded.updated WHERE excluded.msg_id > contacts.msg_id";
static const char sql_vessel[] =
	"UPDATE vessels SET window = ?2, highest_seq = max(highest_seq, ?3), last_contact = ?4, "
	"silence_alerted = 0, gaps = gaps + ?5 WHERE id = ?1";
static const char sql_heartbeat[] =
	"UPDATE vessels SET hb_ts = ?2, hb_queue = ?3, hb_crew_on_board = ?4, "
	"hb_crew_registered = ?5, hb_lat = ?6, hb_lon = ?7 WHERE id = ?1";

/* Binds int64 values v[0..n) to ?1..?n of sql and runs it. */
static int exec_ints(struct db *db, const char *sql, const int64_t *v, int n)
{
	sqlite3_stmt *q = db_stmt(db, sql);
	if (!q)
		return ERR_DB;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++)
		rc = db_bind_int64(db, q, i + 1, v[i]);
	if (rc == 0)
		rc = db_step(db, q);
	return rc < 0 ? rc : 0;
}

static int bind_pos(struct db *db, sqlite3_stmt *q, int idx, const struct irec *x)
{
	int rc;
	if (!x->has_pos)
		return (rc = db_bind_null(db, q, idx)) < 0 ? rc : db_bind_null(db, q, idx + 1);
	return (rc = db_bind_int64(db, q, idx, x->pos.lat)) < 0 ? rc
								: db_bind_int64(db, q, idx + 1, x->pos.lon);
}

static int store_message(struct ingest *in, uint32_t vessel, uint64_t seq, int64_t now,
			 const struct irec *x, struct ingest_outcome *o)
{
	struct db *db = in->db;
	sqlite3_stmt *q = db_stmt(db, sql_insert);
	if (!q)
		return ERR_DB;
	const char *kind = kind_of(x->type);
	int rc;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 ||
	    (rc = db_bind_int64(db, q, 2, (int64_t)x->msg_id)) < 0 ||
	    (rc = db_bind_int64(db, q, 3, x->crew)) < 0 ||
	    (rc = db_bind_text(db, q, 4, kind, strlen(kind))) < 0 ||
	    (rc = db_bind_int64(db, q, 5, x->ref)) < 0 ||
	    (rc = db_bind_blob(db, q, 6, in->arena + x->off, x->len)) < 0 ||
	    (rc = db_bind_int64(db, q, 7, (int64_t)x->ts)) < 0 ||
	    (rc = db_bind_int64(db, q, 8, now)) < 0 ||
	    (rc = db_bind_int64(db, q, 9, (int64_t)seq)) < 0 || (rc = bind_pos(db, q, 10, x)) < 0 ||
	    (rc = db_step(db, q)) < 0)
		return rc;
	o->messages++;
	if (db_changes(db) == 1) {
		o->stored++;
		return 0;
	}
	o->duplicates++;
	const int64_t v[2] = {vessel, (int64_t)x->msg_id};
	return exec_ints(db, sql_rereport, v, 2);
}

static int store_contact(struct ingest *in, uint32_t vessel, int64_t now, const struct irec *x)
{
	struct db *db = in->db;
	sqlite3_stmt *q = db_stmt(db, sql_contact);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 || (rc = db_bind_int64(db, q, 2, x->crew)) < 0 ||
	    (rc = db_bind_int64(db, q, 3, x->ref)) < 0 ||
	    (rc = db_bind_text(db, q, 4, (const char *)in->arena + x->off, x->len)) < 0 ||
	    (rc = db_bind_text(db, q, 5, (const char *)in->arena + x->name_off, x->name_len)) < 0 ||
	    (rc = db_bind_int64(db, q, 6, x->channel)) < 0 ||
	    (rc = db_bind_int64(db, q, 7, (int64_t)x->msg_id)) < 0 ||
	    (rc = db_bind_int64(db, q, 8, now)) < 0 || (rc = db_step(db, q)) < 0)
		return rc;
	return 0;
}

static int store_heartbeat(struct ingest *in, uint32_t vessel, const struct irec *x)
{
	struct db *db = in->db;
	sqlite3_stmt *q = db_stmt(db, sql_heartbeat);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 ||
	    (rc = db_bind_int64(db, q, 2, (int64_t)x->ts)) < 0 ||
	    (rc = db_bind_int64(db, q, 3, x->queue)) < 0 ||
	    (rc = db_bind_int64(db, q, 4, x->on_board)) < 0 ||
	    (rc = db_bind_int64(db, q, 5, x->registered)) < 0 || (rc = bind_pos(db, q, 6, x)) < 0 ||
	    (rc = db_step(db, q)) < 0)
		return rc;
	return 0;
}

/* The accepting transaction.  *win is the new window (a copy). */
static int commit_bundle(struct ingest *in, struct vreg *v, const struct bundle_hdr *h,
			 const struct bundle_window *win, int64_t now, struct ingest_outcome *o)
{
	struct db *db = in->db;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	const struct irec *hb = NULL;
	in->alerted = false;
	for (size_t i = 0; i < in->nrecs && rc == 0; i++) {
		const struct irec *x = &in->recs[i];
		if (x->type == RECORD_HEARTBEAT) {
			hb = x;
			continue;
		}
		size_t stored = o->stored;
		rc = store_message(in, v->id, h->seq, now, x, o);
		if (rc == 0 && o->stored > stored)      /* new: a complaint's case, SOS alerts */
			rc = cases_on_message(in->st, v->id, x->msg_id, x->type, in->arena + x->off,
					      x->len, now, SHORE_SIGN_SK(in), &in->alerted);
		if (rc == 0 && x->type == RECORD_CONTACT)
			rc = store_contact(in, v->id, now, x);
	}
	if (rc == 0 && hb)
		rc = store_heartbeat(in, v->id, hb);
	if (rc == 0)
		rc = ledger_commit(db, v->id, h->seq, now, &in->ls);
	uint64_t gap = v->win.any && h->seq > v->highest + 1 ? h->seq - v->highest - 1 : 0;
	if (rc == 0 && gap) {
		char d[STORE_ALERT_DETAIL_MAX];
		snprintf(d, sizeof d, "bundles %" PRIu64 "..%" PRIu64 " never arrived (a vessel "
			 "restart burns numbers; gaps without restarts mean lost or suppressed "
			 "bundles)", v->highest + 1, h->seq - 1);
		rc = store_alert_add(in->st, v->id, "gap", now, d);
		in->alerted = rc == 0;
	}
	if (rc == 0) {
		uint8_t enc[BUNDLE_WINDOW_ENC_BYTES];
		bundle_window_encode(win, enc);
		sqlite3_stmt *q = db_stmt(db, sql_vessel);
		if (!q)
			rc = ERR_DB;
		else if ((rc = db_bind_int64(db, q, 1, v->id)) == 0 &&
			 (rc = db_bind_blob(db, q, 2, enc, sizeof enc)) == 0 &&
			 (rc = db_bind_int64(db, q, 3, (int64_t)h->seq)) == 0 &&
			 (rc = db_bind_int64(db, q, 4, now)) == 0 &&
			 (rc = db_bind_int64(db, q, 5, gap ? 1 : 0)) == 0)
			rc = db_step(db, q) < 0 ? db_last_code(db) : 0;
	}
	if (rc < 0) {
		store_rollback(db);
		return rc;
	}
	return db_commit(db);
}

/* A genuine bundle already (or no longer) acceptable: its held messages get
 * their current state reported again; nothing new is stored. */
static int rereport(struct ingest *in, uint32_t vessel, uint64_t seq, bool body_ok)
{
	struct db *db = in->db;
	int rc = db_begin(db);
	if (rc < 0)
		return rc;
	const int64_t s[2] = {vessel, (int64_t)(seq > INT64_MAX ? INT64_MAX : seq)};
	rc = exec_ints(db, sql_rereport_seq, s, 2);
	for (size_t i = 0; body_ok && i < in->nrecs && rc == 0; i++)
		if (is_message(in->recs[i].type)) {
			const int64_t v[2] = {vessel, (int64_t)in->recs[i].msg_id};
			rc = exec_ints(db, sql_rereport, v, 2);
		}
	if (rc < 0) {
		store_rollback(db);
		return rc;
	}
	return db_commit(db);
}

/* ---- the entry point ---------------------------------------------------------------- */

static enum ingest_result unseal_result(int err)
{
	switch (err) {
	case ERR_AUTH:
	case ERR_KEY:
	case ERR_VESSEL: return INGEST_AUTH;
	case ERR_REPLAY: return INGEST_REPLAY;
	case ERR_WINDOW: return INGEST_WINDOW;
	default: return INGEST_MALFORMED;
	}
}

int ingest_bundle(struct ingest *in, const uint8_t *b, size_t len, int64_t now,
		  struct ingest_outcome *o)
{
	struct bundle_hdr h;
	memset(o, 0, sizeof *o);
	int rc = bundle_header_parse(b, len, &h);
	if (rc < 0)
		return refuse(in, o, INGEST_MALFORMED, rc, now, "%zu bytes that are not a bundle: %s",
			      len, err_str(rc));
	o->vessel = h.vessel;
	o->seq = h.seq;
	struct vreg *v = reg_get(in, h.vessel, &rc);
	if (!v)
		return refuse(in, o, INGEST_FAILED, rc, now, "vessel %" PRIu32 ": registry: %s",
			      h.vessel, err_str(rc));
	if (!v->present)
		return refuse(in, o, INGEST_UNKNOWN_VESSEL, ERR_VESSEL, now,
			      "vessel %" PRIu32 " is not registered (shorectl vessel add)", h.vessel);
	if (v->state == STORE_VESSEL_SUSPENDED)
		return refuse(in, o, INGEST_SUSPENDED, ERR_VESSEL, now,
			      "vessel %" PRIu32 " is suspended (shorectl vessel resume)", h.vessel);
	if (!v->keys_ok)
		return refuse(in, o, INGEST_AUTH, ERR_KEY, now,
			      "vessel %" PRIu32 ": its registered key is unusable", h.vessel);

	struct bundle_receiver rcv = {.vessel = h.vessel, .to_vessel = false,
				      .rx_key = in->keys[v->key_slot].rx, .sign_pk = NULL};
	ssize_t plen = bundle_unseal(&rcv, NULL, b, len, &h, in->plain, sizeof in->plain);
	if (plen < 0)
		return refuse(in, o, unseal_result((int)plen), (int)plen, now,
			      "vessel %" PRIu32 " seq %" PRIu64 ": %s", h.vessel, h.seq,
			      err_str((int)plen));
	o->authentic = true;
	char why[INGEST_WHY_MAX] = "";
	int body = decode_body(in, (size_t)plen, h.base_time, why, sizeof why);
	sodium_memzero(in->plain, (size_t)plen);

	int wc = bundle_window_check(&v->win, h.seq);
	if (wc == ERR_REPLAY || wc == ERR_WINDOW) {
		if ((rc = rereport(in, v->id, h.seq, body == 0)) < 0)
			return refuse(in, o, INGEST_FAILED, rc, now, "vessel %" PRIu32 ": %s", v->id,
				      db_last_error(in->db));
		return refuse(in, o, wc == ERR_REPLAY ? INGEST_REPLAY : INGEST_WINDOW, wc, now,
			      "vessel %" PRIu32 " seq %" PRIu64 ": %s; receipts sent again", v->id,
			      h.seq, wc == ERR_REPLAY ? "already accepted" : "older than the window");
	}
	if (body < 0)
		return refuse(in, o, INGEST_MALFORMED, body, now,
			      "vessel %" PRIu32 " seq %" PRIu64 ": %s; sequence left unspent", v->id,
			      h.seq, why);

	struct bundle_window next = v->win;
	if ((rc = bundle_window_accept(&next, h.seq)) < 0)
		return refuse(in, o, INGEST_WINDOW, rc, now, "vessel %" PRIu32 " seq %" PRIu64 ": %s",
			      v->id, h.seq, err_str(rc));
	in->ls.wire_bytes = len;
	if ((rc = commit_bundle(in, v, &h, &next, now, o)) < 0) {
		o->messages = o->stored = o->duplicates = 0;
		return refuse(in, o, INGEST_FAILED, rc, now, "vessel %" PRIu32 " seq %" PRIu64
			      ": not committed: %s", v->id, h.seq, db_last_error(in->db));
	}
	/* Committed: only now does memory move. */
	v->win = next;
	if (h.seq > v->highest)
		v->highest = h.seq;
	in->stats.bundles++;
	in->stats.messages += o->stored;
	in->stats.duplicates += o->duplicates;
	o->result = INGEST_ACCEPTED;
	if (in->alerted && in->alert_fn)
		in->alert_fn(in->alert_ctx);    /* new alert rows: forward them now */
	if (o->duplicates)
		log_debug("vessel %" PRIu32 " seq %" PRIu64 ": %zu duplicate message(s)", v->id, h.seq,
			  o->duplicates);
	return 0;
}
