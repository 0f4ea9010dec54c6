/*
 * store.c — vesseld's SQLite schema (version 1) and every query it runs.
 *
 * What it is for: "queued" is said to a crew member only after the message
 * row and its quota ledger change are committed together (DESIGN
 * invariant 1); a bundle's bytes and the move of its messages to "sent"
 * commit together before the bytes leave (contract step 10); receipts,
 * replies and the downlink window commit together (step 9).
 *
 * Invariants:
 *  - msg.id is AUTOINCREMENT: a message id is never reused, even after the
 *    newest row is deleted;
 *  - message states only move forward (queued -> sent -> accepted ->
 *    delivered | failed): every UPDATE names the states it may leave;
 *  - quota(crew, period).used changes only in the transaction that inserts
 *    the text it counts;
 *  - no row holds complaint plaintext: vctl hands a sealed blob.
 *
 * Failure behaviour: every function returns 0 or a negative enum err with
 * db_last_error() telling why; a failed multi-statement write is rolled
 * back before returning; nothing logs or exits.
 */
#include "vessel/store.h"
#include "vessel/qreport.h"
#include "proto/record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vstore {
	struct db *db;
};

static const char schema_v1[] =
	"CREATE TABLE crew ("
	" id INTEGER PRIMARY KEY CHECK (id > 0),"
	" name TEXT NOT NULL, lang TEXT NOT NULL, pin_hash TEXT NOT NULL,"
	" fails INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER NOT NULL DEFAULT 0,"
	" pin_reset_at INTEGER NOT NULL DEFAULT 0,"
	" inbox_floor INTEGER NOT NULL DEFAULT 0,"
	" msg_floor INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE contact ("
	" crew_id INTEGER NOT NULL REFERENCES crew(id),"
	" ref INTEGER NOT NULL CHECK (ref > 0),"
	" address TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
	" msg_id INTEGER NOT NULL,"
	" PRIMARY KEY (crew_id, ref)) WITHOUT ROWID;"
	"CREATE TABLE msg ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" crew_id INTEGER NOT NULL REFERENCES crew(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('text', 'contact', 'sos', 'complaint')),"
	" contact_ref INTEGER NOT NULL DEFAULT 0,"
	" body BLOB NOT NULL,"
	" text_bytes INTEGER NOT NULL DEFAULT 0,"
	" ts INTEGER NOT NULL, period INTEGER NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK (state IN ('queued', 'sent', 'accepted', 'delivered', 'failed')),"
	" reason INTEGER NOT NULL DEFAULT 0,"
	" bundle_seq INTEGER,"
	" updated INTEGER NOT NULL);"
	"CREATE INDEX msg_by_state ON msg (state, crew_id, id);"
	"CREATE INDEX msg_by_bundle ON msg (bundle_seq) WHERE bundle_seq IS NOT NULL;"
	"CREATE INDEX msg_by_crew ON msg (crew_id, id);"
	"CREATE TABLE quota ("
	" crew_id INTEGER NOT NULL, period INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (crew_id, period)) WITHOUT ROWID;"
	"CREATE TABLE bundle (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE inbox ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" crew_id INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('reply', 'case')),"
	" shore_id INTEGER NOT NULL,"
	" contact_ref INTEGER NOT NULL DEFAULT 0,"
	" status INTEGER NOT NULL DEFAULT 0,"
	" ts INTEGER NOT NULL, text TEXT NOT NULL, received INTEGER NOT NULL,"
	" UNIQUE (kind, shore_id, status, ts));"
	"CREATE INDEX inbox_by_crew ON inbox (crew_id, id);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;";

static const struct db_migration migrations[] = {
	{1, schema_v1, "crew, contacts, outbox, quota, bundles, inbox, meta"},
	{2, qreport_schema_v2, "refusals for the shore's ledger (vessel/qreport.c)"},
};

static const char *const kind_names[VMSG_KIND_COUNT] = {"text", "contact", "sos", "complaint"};
static const char *const state_names[VMSG_STATE_COUNT] = {"queued", "sent", "accepted", "delivered",
							  "failed"};

const char *vmsg_kind_name(enum vmsg_kind k)
{
	return (unsigned)k < VMSG_KIND_COUNT ? kind_names[k] : "?";
}

const char *vmsg_state_name(enum vmsg_state s)
{
	return (unsigned)s < VMSG_STATE_COUNT ? state_names[s] : "?";
}

static int parse_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int vmsg_state_parse(const char *s)
{
	return parse_name(s, state_names, VMSG_STATE_COUNT);
}

int vmsg_kind_parse(const char *s)
{
	return parse_name(s, kind_names, VMSG_KIND_COUNT);
}

int vstore_open(const char *path, struct vstore **out, struct db_open_error *why)
{
	*out = NULL;
	struct vstore *st = calloc(1, sizeof *st);
	if (!st)
		return ERR_NOMEM;
	int rc = db_open(path, migrations, sizeof migrations / sizeof migrations[0], &st->db, why);
	if (rc == 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", VSTORE_CACHE_KIB);
		rc = db_exec(st->db, sql);
	}
	if (rc < 0) {
		db_close(st->db);
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

void vstore_close(struct vstore *st)
{
	if (!st)
		return;
	db_close(st->db);
	free(st);
}

struct db *vstore_db(struct vstore *st)
{
	return st->db;
}

int vstore_begin(struct vstore *st)
{
	return db_begin(st->db);
}

int vstore_commit(struct vstore *st)
{
	return db_commit(st->db);
}

void vstore_rollback(struct vstore *st)
{
	if (db_in_transaction(st->db) && db_rollback(st->db) < 0)
		return; /* db_rollback leaves no transaction open either way */
}

/* ---- small helpers ------------------------------------------------------ */

/* Prepares sql and binds up to 6 int64 values (n of them). */
static sqlite3_stmt *prep(struct vstore *st, const char *sql, int n, const int64_t *v)
{
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return NULL;
	for (int i = 0; i < n; i++)
		if (db_bind_int64(st->db, q, i + 1, v[i]) < 0)
			return NULL;
	return q;
}

/* Runs a statement of int64 bindings to completion. */
static int run(struct vstore *st, const char *sql, int n, const int64_t *v)
{
	sqlite3_stmt *q = prep(st, sql, n, v);
	if (!q)
		return db_last_code(st->db) ? db_last_code(st->db) : ERR_DB;
	int rc = db_step(st->db, q);
	return rc < 0 ? rc : 0;
}

static int fail(struct vstore *st)
{
	int rc = db_last_code(st->db);
	return rc < 0 ? rc : ERR_DB;
}

/* One int64 from a query of int64 bindings; def when no row or NULL. */
static int query_i64(struct vstore *st, const char *sql, int n, const int64_t *v, int64_t def,
		     int64_t *out)
{
	sqlite3_stmt *q = prep(st, sql, n, v);
	if (!q)
		return fail(st);
	int rc = db_step(st->db, q);
	*out = def;
	if (rc == DB_ROW) {
		if (sqlite3_column_type(q, 0) != SQLITE_NULL)
			*out = sqlite3_column_int64(q, 0);
		db_stmt_reset(q);
	}
	return rc < 0 ? rc : 0;
}

static void copy_col(sqlite3_stmt *q, int col, char *out, size_t cap)
{
	const char *s = (const char *)sqlite3_column_text(q, col);
	if (out && cap)
		snprintf(out, cap, "%s", s ? s : "");
}

/* ---- meta ------------------------------------------------------------- */

static const char sql_meta_get[] = "SELECT value FROM meta WHERE key = ?1";
static const char sql_meta_set[] =
	"INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2";

int vstore_meta_u64(struct vstore *st, const char *key, uint64_t def, uint64_t *v)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_meta_get);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_text(st->db, q, 1, key, strlen(key))) < 0)
		return rc;
	*v = def;
	rc = db_step(st->db, q);
	if (rc == DB_ROW) {
		*v = (uint64_t)sqlite3_column_int64(q, 0);
		db_stmt_reset(q);
	}
	return rc < 0 ? rc : 0;
}

int vstore_meta_set_u64(struct vstore *st, const char *key, uint64_t v)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_meta_set);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_text(st->db, q, 1, key, strlen(key))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, (int64_t)v)) < 0)
		return rc;
	rc = db_step(st->db, q);
	return rc < 0 ? rc : 0;
}

int vstore_meta_blob(struct vstore *st, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_meta_get);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_text(st->db, q, 1, key, strlen(key))) < 0)
		return rc;
	*len = 0;
	rc = db_step(st->db, q);
	if (rc == DB_ROW) {
		const void *p = sqlite3_column_blob(q, 0);
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		*len = n;
		if (p)
			memcpy(out, p, n < cap ? n : cap);
		db_stmt_reset(q);
	}
	return rc < 0 ? rc : 0;
}

int vstore_meta_set_blob(struct vstore *st, const char *key, const uint8_t *p, size_t len)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_meta_set);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_text(st->db, q, 1, key, strlen(key))) < 0 ||
	    (rc = db_bind_blob(st->db, q, 2, p, len)) < 0)
		return rc;
	rc = db_step(st->db, q);
	return rc < 0 ? rc : 0;
}

/* ---- crew --------------------------------------------------------------- */

static const char sql_crew_add[] =
	"INSERT INTO crew (name, lang, pin_hash, created) VALUES (?1, ?2, ?3, ?4)";
#define CREW_COLS "id, name, lang, pin_hash, fails, locked_until, pin_reset_at, inbox_floor, " \
		  "msg_floor, created"
static const char sql_crew_get[] = "SELECT " CREW_COLS " FROM crew WHERE id = ?1";
static const char sql_crew_all[] = "SELECT " CREW_COLS " FROM crew ORDER BY id";
static const char sql_crew_lock[] = "UPDATE crew SET fails = ?2, locked_until = ?3 WHERE id = ?1";
static const char sql_crew_pin[] = "UPDATE crew SET pin_hash = ?2 WHERE id = ?1";
static const char sql_crew_reset[] =
	"UPDATE crew SET pin_hash = ?2, pin_reset_at = ?3, fails = 0, locked_until = 0,"
	" inbox_floor = (SELECT COALESCE(MAX(id), 0) FROM inbox),"
	" msg_floor = (SELECT COALESCE(MAX(id), 0) FROM msg) WHERE id = ?1";

int vstore_crew_add(struct vstore *st, const char *name, const char *lang, const char *pin_hash,
		    int64_t now, uint32_t *id)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_crew_add);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_text(st->db, q, 1, name, strlen(name))) < 0 ||
	    (rc = db_bind_text(st->db, q, 2, lang, strlen(lang))) < 0 ||
	    (rc = db_bind_text(st->db, q, 3, pin_hash, strlen(pin_hash))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 4, now)) < 0)
		return rc;
	if ((rc = db_step(st->db, q)) < 0)
		return rc;
	*id = (uint32_t)db_last_insert_id(st->db);
	return 0;
}

static void crew_row(sqlite3_stmt *q, struct vcrew *c)
{
	memset(c, 0, sizeof *c);
	c->id = (uint32_t)sqlite3_column_int64(q, 0);
	copy_col(q, 1, c->name, sizeof c->name);
	copy_col(q, 2, c->lang, sizeof c->lang);
	copy_col(q, 3, c->pin_hash, sizeof c->pin_hash);
	c->fails = (uint32_t)sqlite3_column_int64(q, 4);
	c->locked_until = sqlite3_column_int64(q, 5);
	c->pin_reset_at = sqlite3_column_int64(q, 6);
	c->inbox_floor = sqlite3_column_int64(q, 7);
	c->msg_floor = sqlite3_column_int64(q, 8);
	c->created = sqlite3_column_int64(q, 9);
}

int vstore_crew_get(struct vstore *st, uint32_t id, struct vcrew *c)
{
	int64_t v = id;
	sqlite3_stmt *q = prep(st, sql_crew_get, 1, &v);
	if (!q)
		return fail(st);
	int rc = db_step(st->db, q);
	if (rc != DB_ROW)
		return rc < 0 ? rc : ERR_NOTFOUND;
	crew_row(q, c);
	db_stmt_reset(q);
	return 0;
}

int vstore_crew_each(struct vstore *st, int (*fn)(void *ctx, const struct vcrew *c), void *ctx)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_crew_all);
	if (!q)
		return fail(st);
	int rc;
	struct vcrew c;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		crew_row(q, &c);
		if ((rc = fn(ctx, &c)) != 0) {
			db_stmt_reset(q);
			return rc;
		}
	}
	return rc < 0 ? rc : 0;
}

int vstore_crew_set_lock(struct vstore *st, uint32_t id, uint32_t fails, int64_t locked_until)
{
	int64_t v[3] = {id, fails, locked_until};
	return run(st, sql_crew_lock, 3, v);
}

int vstore_crew_set_pin(struct vstore *st, uint32_t id, const char *pin_hash, bool admin_reset,
			int64_t now)
{
	sqlite3_stmt *q = db_stmt(st->db, admin_reset ? sql_crew_reset : sql_crew_pin);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_int64(st->db, q, 1, id)) < 0 ||
	    (rc = db_bind_text(st->db, q, 2, pin_hash, strlen(pin_hash))) < 0 ||
	    (admin_reset && (rc = db_bind_int64(st->db, q, 3, now)) < 0))
		return rc;
	rc = db_step(st->db, q);
	return rc < 0 ? rc : 0;
}

/* ---- contacts ----------------------------------------------------------- */

static const char sql_contact_next[] =
	"SELECT COALESCE(MAX(ref), 0) + 1 FROM contact WHERE crew_id = ?1";
static const char sql_contact_ins[] =
	"INSERT INTO contact (crew_id, ref, address, name, msg_id) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_contact_get[] =
	"SELECT address, name FROM contact WHERE crew_id = ?1 AND ref = ?2";
static const char sql_contact_all[] =
	"SELECT ref, address, name FROM contact WHERE crew_id = ?1 ORDER BY ref";

static int msg_insert(struct vstore *st, const struct vmsg_new *m, uint64_t *id);

int vstore_contact_add(struct vstore *st, uint32_t crew_id, const char *address, const char *name,
		       int64_t ts, uint32_t period, uint32_t *ref, uint64_t *msg_id)
{
	int rc = db_begin(st->db);
	if (rc < 0)
		return rc;
	int64_t v = crew_id, next;
	struct vmsg_new m = {.crew_id = crew_id, .kind = VMSG_CONTACT, .body = (const uint8_t *)address,
			     .body_len = strlen(address), .ts = ts, .period = period};
	if ((rc = query_i64(st, sql_contact_next, 1, &v, 1, &next)) < 0)
		goto out;
	m.contact_ref = (uint32_t)next;
	if ((rc = msg_insert(st, &m, msg_id)) < 0)
		goto out;
	sqlite3_stmt *q = db_stmt(st->db, sql_contact_ins);
	if (!q) {
		rc = fail(st);
		goto out;
	}
	if ((rc = db_bind_int64(st->db, q, 1, crew_id)) < 0 || (rc = db_bind_int64(st->db, q, 2, next)) < 0 ||
	    (rc = db_bind_text(st->db, q, 3, address, strlen(address))) < 0 ||
	    (rc = db_bind_text(st->db, q, 4, name, strlen(name))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 5, (int64_t)*msg_id)) < 0 || (rc = db_step(st->db, q)) < 0)
		goto out;
	*ref = (uint32_t)next;
	return db_commit(st->db);
out:
	vstore_rollback(st);
	return rc;
}

int vstore_contact_get(struct vstore *st, uint32_t crew_id, uint32_t ref, char *address, size_t acap,
		       char *name, size_t ncap)
{
	int64_t v[2] = {crew_id, ref};
	sqlite3_stmt *q = prep(st, sql_contact_get, 2, v);
	if (!q)
		return fail(st);
	int rc = db_step(st->db, q);
	if (rc != DB_ROW)
		return rc < 0 ? rc : ERR_NOTFOUND;
	copy_col(q, 0, address, acap);
	copy_col(q, 1, name, ncap);
	db_stmt_reset(q);
	return 0;
}

int vstore_contact_each(struct vstore *st, uint32_t crew_id,
			int (*fn)(void *ctx, uint32_t ref, const char *address, const char *name),
			void *ctx)
{
	int64_t v = crew_id;
	sqlite3_stmt *q = prep(st, sql_contact_all, 1, &v);
	if (!q)
		return fail(st);
	int rc;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		const char *a = (const char *)sqlite3_column_text(q, 1);
		const char *n = (const char *)sqlite3_column_text(q, 2);
		if ((rc = fn(ctx, (uint32_t)sqlite3_column_int64(q, 0), a ? a : "", n ? n : "")) != 0) {
			db_stmt_reset(q);
			return rc;
		}
	}
	return rc < 0 ? rc : 0;
}

/* ---- messages and quota ------------------------------------------------- */

static const char sql_quota_used[] = "SELECT used FROM quota WHERE crew_id = ?1 AND period = ?2";
static const char sql_quota_add[] =
	"INSERT INTO quota (crew_id, period, used) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (crew_id, period) DO UPDATE SET used = used + ?3";
static const char sql_msg_ins[] =
	"INSERT INTO msg (crew_id, kind, contact_ref, body, text_bytes, ts, period, updated)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)";
#define MSG_COLS "m.id, m.crew_id, m.kind, m.contact_ref, m.body, m.text_bytes, m.ts, m.state, " \
		 "m.reason, COALESCE(c.address, '')"
#define MSG_FROM " FROM msg m LEFT JOIN contact c ON m.kind = 'text' AND c.crew_id = m.crew_id" \
		 " AND c.ref = m.contact_ref"
static const char sql_msg_get[] = "SELECT " MSG_COLS MSG_FROM " WHERE m.id = ?1";
static const char sql_msg_crew[] =
	"SELECT " MSG_COLS MSG_FROM " WHERE m.crew_id = ?1 AND m.id > ?2 ORDER BY m.id DESC LIMIT ?3";
/* Priority classes first (SOS, complaint, contact), then each crew
 * member's oldest texts, round by round (rn), so that LIMIT keeps a share
 * of everybody. */
static const char sql_pending[] =
	"SELECT id, crew_id, kind, len FROM ("
	" SELECT id, crew_id, kind, length(body) AS len,"
	"  CASE kind WHEN 'sos' THEN 0 WHEN 'complaint' THEN 1 WHEN 'contact' THEN 2 ELSE 3 END AS cls,"
	"  ROW_NUMBER() OVER (PARTITION BY kind = 'text', crew_id ORDER BY id) AS rn"
	" FROM msg WHERE state = 'queued')"
	" WHERE cls < 3 OR rn <= ?1 ORDER BY cls, rn, id LIMIT ?2";
static const char sql_counts[] = "SELECT state, COUNT(*) FROM msg GROUP BY state";
static const char sql_nbundles[] = "SELECT COUNT(*) FROM bundle";
static const char sql_ncrew[] = "SELECT COUNT(*) FROM crew";

int vstore_quota_used(struct vstore *st, uint32_t crew_id, uint32_t period, uint64_t *used)
{
	int64_t v[2] = {crew_id, period}, u = 0;
	int rc = query_i64(st, sql_quota_used, 2, v, 0, &u);
	*used = (uint64_t)u;
	return rc;
}

static int msg_insert(struct vstore *st, const struct vmsg_new *m, uint64_t *id)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_msg_ins);
	const char *k = vmsg_kind_name(m->kind);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_int64(st->db, q, 1, m->crew_id)) < 0 ||
	    (rc = db_bind_text(st->db, q, 2, k, strlen(k))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 3, m->contact_ref)) < 0 ||
	    (rc = db_bind_blob(st->db, q, 4, m->body ? (const void *)m->body : "", m->body_len)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 5, (int64_t)m->text_bytes)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 6, m->ts)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 7, m->period)) < 0 || (rc = db_step(st->db, q)) < 0)
		return rc;
	*id = (uint64_t)db_last_insert_id(st->db);
	return 0;
}

int vstore_msg_add(struct vstore *st, const struct vmsg_new *m, uint64_t *id)
{
	int rc = db_begin(st->db);
	if (rc < 0)
		return rc;
	int64_t v[3] = {m->crew_id, m->period, (int64_t)m->quota_bytes};
	if ((rc = msg_insert(st, m, id)) < 0 ||
	    (m->quota_bytes && (rc = run(st, sql_quota_add, 3, v)) < 0)) {
		vstore_rollback(st);
		return rc;
	}
	return db_commit(st->db);
}

static const char sql_msg_body[] = "UPDATE msg SET body = ?2 WHERE id = ?1 AND kind = 'complaint'";
static const char sql_case_status[] =
	"SELECT status FROM inbox WHERE kind = 'case' AND shore_id = ?1 ORDER BY ts DESC, id DESC LIMIT 1";

int vstore_complaint_add(struct vstore *st, uint32_t crew_id, uint64_t text_bytes, int64_t ts,
			 uint32_t period,
			 ssize_t (*seal)(void *ctx, uint64_t id, uint8_t *out, size_t cap),
			 void *ctx, uint64_t *id)
{
	uint8_t blob[RECORD_BLOB_MAX];          /* holds only sealed bytes */
	struct vmsg_new m = {.crew_id = crew_id, .kind = VMSG_COMPLAINT, .text_bytes = text_bytes,
			     .ts = ts, .period = period};
	int rc = db_begin(st->db);
	if (rc < 0)
		return rc;
	ssize_t n = 0;
	if ((rc = msg_insert(st, &m, id)) < 0 || (n = seal(ctx, *id, blob, sizeof blob)) < 0) {
		vstore_rollback(st);
		return rc < 0 ? rc : (int)n;
	}
	sqlite3_stmt *q = db_stmt(st->db, sql_msg_body);
	if (!q)
		rc = fail(st);
	else if ((rc = db_bind_int64(st->db, q, 1, (int64_t)*id)) == 0 &&
		 (rc = db_bind_blob(st->db, q, 2, blob, (size_t)n)) == 0)
		rc = db_step(st->db, q);
	if (rc < 0 || (rc = db_changes(st->db) == 1 ? 0 : ERR_DB) < 0) {
		vstore_rollback(st);
		return rc;
	}
	return db_commit(st->db);
}

int vstore_case_status(struct vstore *st, uint64_t msg_id, uint32_t *status)
{
	int64_t v = msg_id > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)msg_id, s = -1;
	int rc = query_i64(st, sql_case_status, 1, &v, -1, &s);
	if (rc < 0)
		return rc;
	if (s < 0)
		return ERR_NOTFOUND;
	*status = (uint32_t)s;
	return 0;
}

static void msg_row(sqlite3_stmt *q, struct vmsg *m)
{
	memset(m, 0, sizeof *m);
	m->id = (uint64_t)sqlite3_column_int64(q, 0);
	m->crew_id = (uint32_t)sqlite3_column_int64(q, 1);
	int k = vmsg_kind_parse((const char *)sqlite3_column_text(q, 2));
	m->kind = k < 0 ? VMSG_TEXT : (enum vmsg_kind)k;
	m->contact_ref = (uint32_t)sqlite3_column_int64(q, 3);
	m->body = sqlite3_column_blob(q, 4);
	m->body_len = (size_t)sqlite3_column_bytes(q, 4);
	m->text_bytes = (uint64_t)sqlite3_column_int64(q, 5);
	m->ts = sqlite3_column_int64(q, 6);
	int s = vmsg_state_parse((const char *)sqlite3_column_text(q, 7));
	m->state = s < 0 ? VMSG_QUEUED : (enum vmsg_state)s;
	m->reason = (uint32_t)sqlite3_column_int64(q, 8);
	m->to = (const char *)sqlite3_column_text(q, 9);
}

static int msg_rows(struct vstore *st, sqlite3_stmt *q, int (*fn)(void *ctx, const struct vmsg *m),
		    void *ctx, bool want_one)
{
	int rc;
	struct vmsg m;
	bool any = false;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		any = true;
		msg_row(q, &m);
		if ((rc = fn(ctx, &m)) != 0) {
			db_stmt_reset(q);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	return want_one && !any ? ERR_NOTFOUND : 0;
}

int vstore_msg_get(struct vstore *st, uint64_t id, int (*fn)(void *ctx, const struct vmsg *m), void *ctx)
{
	int64_t v = (int64_t)id;
	sqlite3_stmt *q = prep(st, sql_msg_get, 1, &v);
	return q ? msg_rows(st, q, fn, ctx, true) : fail(st);
}

int vstore_msg_each_crew(struct vstore *st, uint32_t crew_id, int64_t floor, uint32_t limit,
			 int (*fn)(void *ctx, const struct vmsg *m), void *ctx)
{
	int64_t v[3] = {crew_id, floor, limit};
	sqlite3_stmt *q = prep(st, sql_msg_crew, 3, v);
	return q ? msg_rows(st, q, fn, ctx, false) : fail(st);
}

ssize_t vstore_pending(struct vstore *st, uint32_t per_crew, struct vpending *out, size_t max)
{
	int64_t v[2] = {per_crew, (int64_t)max};
	sqlite3_stmt *q = prep(st, sql_pending, 2, v);
	if (!q)
		return fail(st);
	size_t n = 0;
	int rc;
	while ((rc = db_step(st->db, q)) == DB_ROW && n < max) {
		int k = vmsg_kind_parse((const char *)sqlite3_column_text(q, 2));
		out[n].id = (uint64_t)sqlite3_column_int64(q, 0);
		out[n].crew_id = (uint32_t)sqlite3_column_int64(q, 1);
		out[n].kind = k < 0 ? VMSG_TEXT : (enum vmsg_kind)k;
		out[n].body_len = (uint32_t)sqlite3_column_int64(q, 3);
		n++;
	}
	if (rc == DB_ROW)
		db_stmt_reset(q);
	return rc < 0 ? rc : (ssize_t)n;
}

int vstore_counts(struct vstore *st, struct vcounts *c)
{
	memset(c, 0, sizeof *c);
	sqlite3_stmt *q = db_stmt(st->db, sql_counts);
	if (!q)
		return fail(st);
	int rc;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		int s = vmsg_state_parse((const char *)sqlite3_column_text(q, 0));
		if (s >= 0)
			c->state[s] = (uint64_t)sqlite3_column_int64(q, 1);
	}
	int64_t b, n;
	if (rc < 0 || (rc = query_i64(st, sql_nbundles, 0, NULL, 0, &b)) < 0 ||
	    (rc = query_i64(st, sql_ncrew, 0, NULL, 0, &n)) < 0)
		return rc;
	c->bundles = (uint64_t)b;
	c->crew = (uint64_t)n;
	return 0;
}

/* ---- bundles ------------------------------------------------------------ */

static const char sql_bundle_ins[] = "INSERT INTO bundle (seq, bytes, created) VALUES (?1, ?2, ?3)";
static const char sql_msg_sent[] =
	"UPDATE msg SET state = 'sent', bundle_seq = ?2, updated = ?3 WHERE id = ?1 AND state = 'queued'";
static const char sql_bundle_unacked[] =
	"SELECT seq, bytes FROM bundle b WHERE seq >= ?1 AND EXISTS (SELECT 1 FROM msg m WHERE m.bundle_seq = b.seq"
	" AND m.state IN ('queued', 'sent')) ORDER BY seq";
static const char sql_bundle_prune[] =
	"DELETE FROM bundle WHERE NOT EXISTS (SELECT 1 FROM msg m WHERE m.bundle_seq = bundle.seq"
	" AND m.state IN ('queued', 'sent'))";

int vstore_bundle_put(struct vstore *st, uint64_t seq, const uint8_t *b, size_t len,
		      const uint64_t *ids, size_t n, int64_t now)
{
	sqlite3_stmt *q = db_stmt(st->db, sql_bundle_ins);
	int rc;
	if (!q)
		return fail(st);
	if ((rc = db_bind_int64(st->db, q, 1, (int64_t)seq)) < 0 ||
	    (rc = db_bind_blob(st->db, q, 2, b, len)) < 0 || (rc = db_bind_int64(st->db, q, 3, now)) < 0 ||
	    (rc = db_step(st->db, q)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int64_t v[3] = {(int64_t)ids[i], (int64_t)seq, now};
		if ((rc = run(st, sql_msg_sent, 3, v)) < 0)
			return rc;
	}
	return 0;
}

int vstore_bundle_each_unacked(struct vstore *st, uint64_t from,
			       int (*fn)(void *ctx, uint64_t seq, const uint8_t *b, size_t len),
			       void *ctx)
{
	int64_t v = from > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)from;
	sqlite3_stmt *q = prep(st, sql_bundle_unacked, 1, &v);
	if (!q)
		return fail(st);
	int rc;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		rc = fn(ctx, (uint64_t)sqlite3_column_int64(q, 0), sqlite3_column_blob(q, 1),
			(size_t)sqlite3_column_bytes(q, 1));
		if (rc != 0) {
			db_stmt_reset(q);
			return rc;
		}
	}
	return rc < 0 ? rc : 0;
}

/* ---- downlink ----------------------------------------------------------- */

/* One statement per target state, each naming the states it may leave. */
static const char sql_rc_accepted[] =
	"UPDATE msg SET state = 'accepted', reason = ?3, updated = ?4"
	" WHERE id BETWEEN ?1 AND ?2 AND state IN ('queued', 'sent')";
static const char sql_rc_delivered[] =
	"UPDATE msg SET state = 'delivered', reason = ?3, updated = ?4"
	" WHERE id BETWEEN ?1 AND ?2 AND state IN ('queued', 'sent', 'accepted')";
static const char sql_rc_failed[] =
	"UPDATE msg SET state = 'failed', reason = ?3, updated = ?4"
	" WHERE id BETWEEN ?1 AND ?2 AND state IN ('queued', 'sent', 'accepted')";
static const char sql_inbox_reply[] =
	"INSERT OR IGNORE INTO inbox (crew_id, kind, shore_id, contact_ref, status, ts, text, received)"
	" SELECT ?1, 'reply', ?2, ?3, 0, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM crew WHERE id = ?1)";
static const char sql_inbox_case[] =
	"INSERT OR IGNORE INTO inbox (crew_id, kind, shore_id, contact_ref, status, ts, text, received)"
	" SELECT crew_id, 'case', ?2, 0, ?3, ?4, ?5, ?6 FROM msg WHERE id = ?2 AND kind = 'complaint'";
static const char sql_inbox_list[] =
	"SELECT id, kind, shore_id, contact_ref, status, ts, text FROM inbox"
	" WHERE crew_id = ?1 AND id > ?2 ORDER BY id";

int vstore_receipt_apply(struct vstore *st, uint64_t first, uint64_t count, enum vmsg_state state,
			 uint32_t reason, int64_t now, uint64_t *changed)
{
	const char *sql = state == VMSG_ACCEPTED ? sql_rc_accepted :
			  state == VMSG_DELIVERED ? sql_rc_delivered :
			  state == VMSG_FAILED ? sql_rc_failed : NULL;
	if (!sql || count == 0 || first > (uint64_t)INT64_MAX || count - 1 > (uint64_t)INT64_MAX - first)
		return ERR_INVAL;
	int64_t v[4] = {(int64_t)first, (int64_t)(first + count - 1), reason, now};
	int rc = run(st, sql, 4, v);
	if (rc == 0 && changed)
		*changed += (uint64_t)db_changes(st->db);
	return rc;
}

int vstore_bundle_prune(struct vstore *st)
{
	return run(st, sql_bundle_prune, 0, NULL);
}

int vstore_inbox_add(struct vstore *st, const struct vinbox *i, size_t text_len, int64_t received,
		     bool *stored)
{
	sqlite3_stmt *q = db_stmt(st->db, i->is_case ? sql_inbox_case : sql_inbox_reply);
	int rc;
	*stored = false;
	if (!q)
		return fail(st);
	if (i->shore_id > (uint64_t)INT64_MAX)
		return 0;       /* no such complaint or reply id can exist here */
	if ((rc = db_bind_int64(st->db, q, 1, i->crew_id)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, (int64_t)i->shore_id)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 3, i->is_case ? i->status : i->contact_ref)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 4, i->ts)) < 0 ||
	    (rc = db_bind_text(st->db, q, 5, i->text ? i->text : "", i->text ? text_len : 0)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 6, received)) < 0 || (rc = db_step(st->db, q)) < 0)
		return rc;
	*stored = db_changes(st->db) > 0;
	return 0;
}

int vstore_inbox_each(struct vstore *st, uint32_t crew_id, int64_t floor,
		      int (*fn)(void *ctx, const struct vinbox *i), void *ctx)
{
	int64_t v[2] = {crew_id, floor};
	sqlite3_stmt *q = prep(st, sql_inbox_list, 2, v);
	if (!q)
		return fail(st);
	int rc;
	while ((rc = db_step(st->db, q)) == DB_ROW) {
		const char *k = (const char *)sqlite3_column_text(q, 1);
		const char *t = (const char *)sqlite3_column_text(q, 6);
		struct vinbox i = {
			.id = sqlite3_column_int64(q, 0), .crew_id = crew_id,
			.is_case = k && strcmp(k, "case") == 0,
			.shore_id = (uint64_t)sqlite3_column_int64(q, 2),
			.contact_ref = (uint32_t)sqlite3_column_int64(q, 3),
			.status = (uint32_t)sqlite3_column_int64(q, 4),
			.ts = sqlite3_column_int64(q, 5), .text = t ? t : "",
		};
		if (i.is_case)
			i.contact_ref = 0;
		if ((rc = fn(ctx, &i)) != 0) {
			db_stmt_reset(q);
			return rc;
		}
	}
	return rc < 0 ? rc : 0;
}
