/*
 * store.c — the shore's SQLite schema and the store operations more than
 * one module needs (vessel registry rows, reply queue, alerts, counters).
 *
 * What it is for: shored commits everything it acknowledges (DESIGN
 * invariant 1) here; the schema is versioned through common/db.h
 * migrations, so a later version adds a migration and never edits one.
 *
 * Invariants:
 *  - (vessel, msg_id) is the primary key of messages: a message is held
 *    once whatever number of bundles carried it (DESIGN invariant 2);
 *  - reply ids are unique per vessel and never reused (max + 1 inside the
 *    inserting transaction, rows are never deleted);
 *  - the downlink sequence limit only grows (UPDATE ... WHERE limit < new).
 *
 * Failure behaviour: every function returns 0 or a negative enum err with
 * db_last_error() telling why; nothing exits.
 */
#include "shore/store.h"
#include "shore/ledger.h"
#include "shore/cases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"

static const char schema_v1[] =
	"CREATE TABLE vessels ("
	" id INTEGER PRIMARY KEY CHECK (id > 0 AND id <= 4294967295),"
	" name TEXT NOT NULL,"
	" sign_pk BLOB NOT NULL CHECK (length(sign_pk) = 32),"
	" kx_pk BLOB NOT NULL CHECK (length(kx_pk) = 32),"
	" state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1)),"    /* active|suspended */
	" created INTEGER NOT NULL,"
	" last_contact INTEGER NOT NULL DEFAULT 0,"
	" highest_seq INTEGER NOT NULL DEFAULT 0,"
	" gaps INTEGER NOT NULL DEFAULT 0,"
	" window BLOB,"                                  /* bundle_window_encode() */
	" down_seq_limit INTEGER NOT NULL DEFAULT 0,"
	" hb_ts INTEGER, hb_queue INTEGER, hb_crew_on_board INTEGER,"
	" hb_crew_registered INTEGER, hb_lat INTEGER, hb_lon INTEGER,"
	" silence_alerted INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages ("
	" vessel INTEGER NOT NULL REFERENCES vessels(id),"
	" msg_id INTEGER NOT NULL,"
	" crew_id INTEGER NOT NULL DEFAULT 0,"
	" kind TEXT NOT NULL CHECK (kind IN ('text', 'contact', 'sos', 'complaint')),"
	" contact_ref INTEGER NOT NULL DEFAULT 0,"
	" body BLOB NOT NULL,"            /* UTF-8 text; a complaint's sealed blob */
	" ts INTEGER NOT NULL,"           /* written on board, unix s */
	" received INTEGER NOT NULL,"     /* committed ashore, unix s */
	" bundle_seq INTEGER NOT NULL,"   /* the first bundle that carried it */
	" state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
	" reason INTEGER NOT NULL DEFAULT 0,"
	" reported INTEGER NOT NULL DEFAULT -1,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
	" error TEXT NOT NULL DEFAULT '',"      /* last delivery outcome, for operators */
	" lat INTEGER, lon INTEGER,"           /* SOS position, 1e-5 degree */
	" PRIMARY KEY (vessel, msg_id)) WITHOUT ROWID;"
	"CREATE INDEX messages_pending ON messages (vessel, msg_id) WHERE state != reported;"
	"CREATE INDEX messages_due ON messages (next_attempt_ms) WHERE state = 0 AND kind = 'text';"
	"CREATE INDEX messages_seq ON messages (vessel, bundle_seq);"
	"CREATE TABLE contacts ("
	" vessel INTEGER NOT NULL REFERENCES vessels(id),"
	" crew_id INTEGER NOT NULL, contact_ref INTEGER NOT NULL,"
	" address TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
	" channel INTEGER NOT NULL,"
	" msg_id INTEGER NOT NULL,"       /* the CONTACT record that set it */
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (vessel, crew_id, contact_ref)) WITHOUT ROWID;"
	"CREATE TABLE replies ("
	" vessel INTEGER NOT NULL REFERENCES vessels(id),"
	" id INTEGER NOT NULL,"
	" crew_id INTEGER NOT NULL, contact_ref INTEGER NOT NULL,"
	" text TEXT NOT NULL, ts INTEGER NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'acked')),"
	" PRIMARY KEY (vessel, id)) WITHOUT ROWID;"
	"CREATE INDEX replies_queued ON replies (vessel, id) WHERE state != 'acked';"
	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" vessel INTEGER NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,"
	" detail TEXT NOT NULL);"
	"CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/* v2 (issue 5, reply endpoint): a gateway's own id for a reply, unique per
 * vessel, so a gateway that re-posts gets the earlier reply id back. */
static const char schema_v2[] =
	"ALTER TABLE replies ADD COLUMN gateway_id TEXT;"
	"CREATE UNIQUE INDEX replies_gateway ON replies (vessel, gateway_id) "
	"WHERE gateway_id IS NOT NULL;";

const struct db_migration store_migrations[] = {
	{1, schema_v1, "vessels, messages, contacts, replies, alerts, counters"},
	{2, schema_v2, "replies.gateway_id (unique per vessel)"},
	{3, ledger_schema_sql, "compliance ledger (shore/ledger.c)"},
	{4, cases_schema_sql, "complaint cases, receipts, case updates (shore/cases.c)"},
};
const size_t store_migrations_n = sizeof store_migrations / sizeof store_migrations[0];

struct store {
	struct db *db;
};

int store_open(const char *path, struct store **out, struct db_open_error *why)
{
	struct store *st = calloc(1, sizeof *st);
	*out = NULL;
	if (!st)
		return ERR_NOMEM;
	int rc = db_open(path, store_migrations, store_migrations_n, &st->db, why);
	if (rc < 0) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	db_close(st->db);
	free(st);
}

struct db *store_db(struct store *st)
{
	return st->db;
}

void store_rollback(struct db *db)
{
	if (db_in_transaction(db) && db_rollback(db) < 0)
		log_error("rollback failed: %s", db_last_error(db));
}

/* Runs one prepared statement to completion (no rows wanted). */
static int run(struct db *db, sqlite3_stmt *q)
{
	int rc = db_step(db, q);
	return rc < 0 ? rc : 0;
}

int store_query_int(struct store *st, const char *sql, int nb, int64_t a, int64_t b,
		    int64_t c, int64_t *v)
{
	const int64_t args[3] = {a, b, c};
	sqlite3_stmt *q = db_stmt(st->db, sql);
	*v = 0;
	if (!q)
		return db_last_code(st->db) ? db_last_code(st->db) : ERR_DB;
	for (int i = 0; i < nb && i < 3; i++) {
		int rc = db_bind_int64(st->db, q, i + 1, args[i]);
		if (rc < 0)
			return rc;
	}
	int rc = db_step(st->db, q);
	if (rc == DB_ROW) {
		*v = sqlite3_column_int64(q, 0);
		db_stmt_reset(q);
		return 0;
	}
	return rc < 0 ? rc : 0;
}

/* ---- vessels ------------------------------------------------------------ */

const char *store_vessel_state_name(enum store_vessel_state s)
{
	return s == STORE_VESSEL_SUSPENDED ? "suspended" : "active";
}

int store_vessel_add(struct store *st, uint32_t id, const char *name,
		     const uint8_t sign_pk[BUNDLE_SIGN_PK_BYTES],
		     const uint8_t kx_pk[BUNDLE_KX_PK_BYTES], int64_t now)
{
	size_t nl = name ? strlen(name) : 0;
	if (id == 0 || nl == 0 || nl > STORE_NAME_MAX)
		return ERR_INVAL;
	static const char sql[] = "INSERT INTO vessels (id, name, sign_pk, kx_pk, created) "
				  "VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(st->db, q, 1, id)) < 0 ||
	    (rc = db_bind_text(st->db, q, 2, name, nl)) < 0 ||
	    (rc = db_bind_blob(st->db, q, 3, sign_pk, BUNDLE_SIGN_PK_BYTES)) < 0 ||
	    (rc = db_bind_blob(st->db, q, 4, kx_pk, BUNDLE_KX_PK_BYTES)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 5, now)) < 0)
		return rc;
	return run(st->db, q);
}

int store_vessel_get(struct store *st, uint32_t id, struct store_vessel *v)
{
	static const char sql[] = "SELECT name, state, sign_pk, kx_pk, window, highest_seq, "
				  "down_seq_limit, last_contact FROM vessels WHERE id = ?1";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return ERR_DB;
	int rc = db_bind_int64(st->db, q, 1, id);
	if (rc < 0)
		return rc;
	rc = db_step(st->db, q);
	if (rc < 0)
		return rc;
	if (rc == DB_DONE)
		return ERR_NOTFOUND;
	memset(v, 0, sizeof *v);
	v->id = id;
	snprintf(v->name, sizeof v->name, "%s", (const char *)sqlite3_column_text(q, 0));
	v->state = sqlite3_column_int(q, 1) ? STORE_VESSEL_SUSPENDED : STORE_VESSEL_ACTIVE;
	rc = 0;
	if (sqlite3_column_bytes(q, 2) != BUNDLE_SIGN_PK_BYTES ||
	    sqlite3_column_bytes(q, 3) != BUNDLE_KX_PK_BYTES) {
		rc = ERR_DB;
	} else {
		memcpy(v->sign_pk, sqlite3_column_blob(q, 2), BUNDLE_SIGN_PK_BYTES);
		memcpy(v->kx_pk, sqlite3_column_blob(q, 3), BUNDLE_KX_PK_BYTES);
	}
	bundle_window_init(&v->window);
	if (rc == 0 && sqlite3_column_bytes(q, 4) == BUNDLE_WINDOW_ENC_BYTES) {
		rc = bundle_window_decode(&v->window, sqlite3_column_blob(q, 4));
		v->has_window = rc == 0;
		if (rc < 0)
			rc = ERR_DB;
	}
	v->highest_seq = (uint64_t)sqlite3_column_int64(q, 5);
	v->down_seq_limit = (uint64_t)sqlite3_column_int64(q, 6);
	v->last_contact = sqlite3_column_int64(q, 7);
	db_stmt_reset(q);
	if (rc < 0)
		log_error("vessel %" PRIu32 ": stored keys or window are damaged", id);
	return rc;
}

int store_vessel_set_state(struct store *st, uint32_t id, enum store_vessel_state s)
{
	static const char sql[] = "UPDATE vessels SET state = ?2 WHERE id = ?1";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(st->db, q, 1, id)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, s)) < 0 || (rc = run(st->db, q)) < 0)
		return rc;
	return db_changes(st->db) == 1 ? 0 : ERR_NOTFOUND;
}

int store_vessel_set_down_limit(struct store *st, uint32_t id, uint64_t limit)
{
	static const char sql[] = "UPDATE vessels SET down_seq_limit = ?2 "
				  "WHERE id = ?1 AND down_seq_limit < ?2";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q || limit > INT64_MAX)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(st->db, q, 1, id)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, (int64_t)limit)) < 0)
		return rc;
	return run(st->db, q);      /* autocommit: durable when it returns */
}

/* ---- replies -------------------------------------------------------------- */

int store_reply_enqueue(struct store *st, uint32_t vessel, uint32_t crew_id,
			uint32_t contact_ref, const char *text, size_t len, int64_t now,
			uint64_t *reply_id)
{
	struct store_reply in = {vessel, crew_id, contact_ref, text, len, NULL, false};
	return store_reply_add(st, &in, now, reply_id, NULL, 0);
}

/* Inside the open transaction: ERR_DUP and the earlier id when the
 * gateway id was seen; ERR_NOTFOUND / ERR_PERM (why says which) when the
 * vessel, crew member or contact is unknown or the vessel suspended. */
static int reply_check(struct store *st, const struct store_reply *in, uint64_t *reply_id,
		       char *why, size_t cap)
{
	static const char dup[] = "SELECT id FROM replies WHERE vessel = ?1 AND gateway_id = ?2";
	int64_t v;
	int rc;
	if (in->gateway_id) {
		sqlite3_stmt *q = db_stmt(st->db, dup);
		if (!q)
			return ERR_DB;
		if ((rc = db_bind_int64(st->db, q, 1, in->vessel)) < 0 ||
		    (rc = db_bind_text(st->db, q, 2, in->gateway_id, strlen(in->gateway_id))) < 0)
			return rc;
		if ((rc = db_step(st->db, q)) == DB_ROW) {
			*reply_id = (uint64_t)sqlite3_column_int64(q, 0);
			db_stmt_reset(q);
			snprintf(why, cap, "reply %" PRIu64 " already has this id", *reply_id);
			return ERR_DUP;
		}
		if (rc < 0)
			return rc;
	}
	if ((rc = store_query_int(st, "SELECT 1 + state FROM vessels WHERE id = ?1", 1, in->vessel,
				  0, 0, &v)) < 0)
		return rc;
	if (v == 0)
		return snprintf(why, cap, "no vessel %" PRIu32, in->vessel), ERR_NOTFOUND;
	if (!in->strict)
		return 0;
	if (v != 1 + STORE_VESSEL_ACTIVE)
		return snprintf(why, cap, "vessel %" PRIu32 " is suspended", in->vessel), ERR_PERM;
	if ((rc = store_query_int(st, "SELECT count(*) FROM contacts WHERE vessel = ?1 AND "
				  "crew_id = ?2", 2, in->vessel, in->crew_id, 0, &v)) < 0)
		return rc;
	if (v == 0)
		return snprintf(why, cap, "no crew member %" PRIu32 " with contacts on vessel %" PRIu32,
				in->crew_id, in->vessel), ERR_NOTFOUND;
	if ((rc = store_query_int(st, "SELECT count(*) FROM contacts WHERE vessel = ?1 AND "
				  "crew_id = ?2 AND contact_ref = ?3", 3, in->vessel, in->crew_id,
				  in->contact_ref, &v)) < 0)
		return rc;
	if (v == 0)
		return snprintf(why, cap, "crew member %" PRIu32 " of vessel %" PRIu32 " has no contact %"
				PRIu32, in->crew_id, in->vessel, in->contact_ref), ERR_NOTFOUND;
	return 0;
}

int store_reply_add(struct store *st, const struct store_reply *in, int64_t now,
		    uint64_t *reply_id, char *why, size_t why_cap)
{
	char none[1];
	if (!why || why_cap == 0) {
		why = none;
		why_cap = sizeof none;
	}
	why[0] = '\0';
	if (in->crew_id == 0 || in->contact_ref == 0 || in->len == 0)
		return ERR_INVAL;
	if (in->len > STORE_REPLY_TEXT_MAX)
		return ERR_TOOBIG;
	if (!json_utf8_valid(in->text, in->len) || memchr(in->text, '\0', in->len))
		return ERR_UTF8;
	if (in->gateway_id && (!*in->gateway_id || strlen(in->gateway_id) > STORE_GATEWAY_ID_MAX))
		return ERR_INVAL;
	static const char sql[] =
		"INSERT INTO replies (vessel, id, crew_id, contact_ref, text, ts, gateway_id) "
		"SELECT ?1, coalesce(max(id), 0) + 1, ?2, ?3, ?4, ?5, ?6 FROM replies WHERE vessel = ?1 "
		"RETURNING id";
	int rc = db_begin(st->db);
	if (rc < 0)
		return rc;
	if ((rc = reply_check(st, in, reply_id, why, why_cap)) < 0)
		goto fail;
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q) {
		rc = ERR_DB;
		goto fail;
	}
	if ((rc = db_bind_int64(st->db, q, 1, in->vessel)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, in->crew_id)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 3, in->contact_ref)) < 0 ||
	    (rc = db_bind_text(st->db, q, 4, in->text, in->len)) < 0 ||
	    (rc = db_bind_int64(st->db, q, 5, now)) < 0 ||
	    (rc = in->gateway_id ? db_bind_text(st->db, q, 6, in->gateway_id, strlen(in->gateway_id))
				 : db_bind_null(st->db, q, 6)) < 0)
		goto fail;
	rc = db_step(st->db, q);
	if (rc != DB_ROW) {
		rc = rc < 0 ? rc : ERR_DB;
		goto fail;
	}
	*reply_id = (uint64_t)sqlite3_column_int64(q, 0);
	db_stmt_reset(q);
	return db_commit(st->db);
fail:
	store_rollback(st->db);
	return rc;
}

/* ---- alerts ---------------------------------------------------------------- */

int store_alert_add(struct store *st, uint32_t vessel, const char *kind, int64_t now,
		    const char *detail)
{
	static const char sql[] = "INSERT INTO alerts (vessel, kind, ts, detail) VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(st->db, q, 1, vessel)) < 0 ||
	    (rc = db_bind_text(st->db, q, 2, kind, strlen(kind))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 3, now)) < 0 ||
	    (rc = db_bind_text(st->db, q, 4, detail, strlen(detail))) < 0 || (rc = run(st->db, q)) < 0)
		return rc;
	log_warn("alert: vessel %" PRIu32 ": %s: %s", vessel, kind, detail);
	return 0;
}

int store_check_silence(struct store *st, int64_t now, int64_t silence_s, size_t *raised)
{
	static const char pick[] = "SELECT id, last_contact FROM vessels WHERE state = 0 AND "
				   "silence_alerted = 0 AND last_contact > 0 AND last_contact < ?1 "
				   "ORDER BY id LIMIT 64";
	static const char mark[] = "UPDATE vessels SET silence_alerted = 1 WHERE id = ?1";
	size_t n = 0;
	int rc = 0;
	if (raised)
		*raised = 0;
	for (;;) {
		uint32_t ids[64];
		int64_t last[64];
		size_t k = 0;
		sqlite3_stmt *q = db_stmt(st->db, pick);
		if (!q)
			return ERR_DB;
		if ((rc = db_bind_int64(st->db, q, 1, now - silence_s)) < 0)
			return rc;
		while ((rc = db_step(st->db, q)) == DB_ROW && k < 64) {
			ids[k] = (uint32_t)sqlite3_column_int64(q, 0);
			last[k++] = sqlite3_column_int64(q, 1);
		}
		if (rc == DB_ROW)
			db_stmt_reset(q);
		else if (rc < 0)
			return rc;
		if (k == 0)
			break;
		if ((rc = db_begin(st->db)) < 0)
			return rc;
		for (size_t i = 0; i < k && rc == 0; i++) {
			char detail[STORE_ALERT_DETAIL_MAX];
			snprintf(detail, sizeof detail,
				 "silent for %" PRId64 " s (last heard at %" PRId64 "); ask the owner "
				 "to check the terminal and the crew's safety", now - last[i], last[i]);
			sqlite3_stmt *u = db_stmt(st->db, mark);
			if (!u)
				rc = ERR_DB;
			else if ((rc = db_bind_int64(st->db, u, 1, ids[i])) == 0 &&
				 (rc = run(st->db, u)) == 0)
				rc = store_alert_add(st, ids[i], "silence", now, detail);
		}
		if (rc < 0) {
			store_rollback(st->db);
			return rc;
		}
		if ((rc = db_commit(st->db)) < 0)
			return rc;
		n += k;
	}
	if (raised)
		*raised = n;
	return 0;
}

/* ---- counters ---------------------------------------------------------------- */

int store_counter_get(struct store *st, const char *name, uint64_t *v)
{
	static const char sql[] = "SELECT value FROM counters WHERE name = ?1";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	*v = 0;
	if (!q)
		return ERR_DB;
	int rc = db_bind_text(st->db, q, 1, name, strlen(name));
	if (rc < 0)
		return rc;
	rc = db_step(st->db, q);
	if (rc == DB_ROW) {
		*v = (uint64_t)sqlite3_column_int64(q, 0);
		db_stmt_reset(q);
		return 0;
	}
	return rc < 0 ? rc : 0;
}

int store_counter_set(struct store *st, const char *name, uint64_t v)
{
	static const char sql[] = "INSERT INTO counters (name, value) VALUES (?1, ?2) "
				  "ON CONFLICT (name) DO UPDATE SET value = excluded.value";
	sqlite3_stmt *q = db_stmt(st->db, sql);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_text(st->db, q, 1, name, strlen(name))) < 0 ||
	    (rc = db_bind_int64(st->db, q, 2, (int64_t)v)) < 0)
		return rc;
	return run(st->db, q);
}
