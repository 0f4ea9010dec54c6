/*
 * cases.c — complaint cases ashore: receipts, inspector alerts, status
 * history and CASE_UPDATEs down (see cases.h).
 *
 * What it is for: an inspector learns at once that a complaint or an SOS
 * arrived (metadata only), can prove in court when the shore received
 * which sealed blob (the signed receipt), and can tell the crew member how
 * the case goes (CASE_UPDATE) without the shore ever reading a complaint.
 *
 * Invariants:
 *  - a case row and its receipt are written in the transaction that
 *    committed the sealed blob (ingest's), never later; they are never
 *    changed afterwards (only status/updated move);
 *  - nothing here reads or logs a blob's content; alerts and listings carry
 *    vessel, message id, case number, times, sizes and hashes only;
 *  - an update's note reaches the vessel only when marked for the crew and
 *    at most CASES_CREW_NOTE_MAX bytes of UTF-8;
 *  - case_updates move queued -> sent -> acked; a forgotten bundle puts
 *    sent back to queued (same rule as replies, shore/downlink.c).
 *
 * Failure behaviour: database errors are returned (ingest rolls back) or,
 * in the control commands, answered with status 70 and the database text;
 * bad input gets 64/65/67 and a sentence saying what to do.
 */
#include "shore/cases.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "proto/complaint.h"

#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOUSER 67
#define EX_SOFTWARE 70
#define EX_NOPERM 77
#define HEX_MAX (2u * COMPLAINT_BLOB_MAX + 1u)

const char cases_schema_sql[] =
	"CREATE TABLE cases ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" vessel INTEGER NOT NULL, msg_id INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"                       /* shore clock, unix s */
	" blob_hash BLOB NOT NULL CHECK (length(blob_hash) = 32),"
	" receipt BLOB NOT NULL CHECK (length(receipt) = 85),"   /* proto/evidence.h */
	" receipt_sig BLOB NOT NULL CHECK (length(receipt_sig) = 64),"
	" shore_pk BLOB NOT NULL CHECK (length(shore_pk) = 32),"
	" status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),"
	" updated INTEGER NOT NULL,"
	" UNIQUE (vessel, msg_id));"
	"CREATE TABLE case_updates ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" case_id INTEGER NOT NULL REFERENCES cases(id),"
	" vessel INTEGER NOT NULL, msg_id INTEGER NOT NULL,"
	" status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),"
	" note TEXT NOT NULL DEFAULT '',"
	" for_crew INTEGER NOT NULL DEFAULT 0,"
	" ts INTEGER NOT NULL, by_uid INTEGER NOT NULL DEFAULT 0,"
	" state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'acked')));"
	"CREATE INDEX case_updates_down ON case_updates (vessel, id) WHERE state != 'acked';";

static const char *const status_names[] = {
	[RECORD_CASE_RECEIVED] = "received", [RECORD_CASE_ASSIGNED] = "assigned",
	[RECORD_CASE_INVESTIGATING] = "investigating", [RECORD_CASE_ACTION_TAKEN] = "resolved",
	[RECORD_CASE_CLOSED] = "closed",
};

const char *cases_status_name(int status)
{
	return status >= 0 && status <= RECORD_CASE_LAST_ ? status_names[status] : NULL;
}

int cases_status_parse(const char *s, enum record_case_status *out)
{
	if (!s)
		return ERR_INVAL;
	for (int i = 0; i <= RECORD_CASE_LAST_; i++)
		if (strcmp(s, status_names[i]) == 0 || (s[0] == '0' + i && !s[1])) {
			*out = (enum record_case_status)i;
			return 0;
		}
	return ERR_INVAL;
}

/* ---- ingest ------------------------------------------------------------------ */

static const char sql_vessel_pk[] = "SELECT sign_pk FROM vessels WHERE id = ?1";
static const char sql_case_ins[] =
	"INSERT OR IGNORE INTO cases (vessel, msg_id, received, blob_hash, receipt, receipt_sig, "
	"shore_pk, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3)";

static int vessel_pk(struct db *db, uint32_t vessel, uint8_t pk[DOC_SIGN_PK_BYTES])
{
	sqlite3_stmt *q = db_stmt(db, sql_vessel_pk);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 || (rc = db_step(db, q)) < 0)
		return rc;
	if (rc != DB_ROW || sqlite3_column_bytes(q, 0) != DOC_SIGN_PK_BYTES) {
		if (rc == DB_ROW)
			db_stmt_reset(q);
		return ERR_NOTFOUND;
	}
	memcpy(pk, sqlite3_column_blob(q, 0), DOC_SIGN_PK_BYTES);
	db_stmt_reset(q);
	return 0;
}

int cases_on_message(struct store *st, uint32_t vessel, uint64_t msg_id, enum record_type type,
		     const uint8_t *body, size_t len, int64_t now,
		     const uint8_t shore_sk[DOC_SIGN_SK_BYTES], bool *alerted)
{
	char d[STORE_ALERT_DETAIL_MAX];
	struct db *db = store_db(st);
	int rc;
	if (type == RECORD_SOS) {
		snprintf(d, sizeof d, "SOS: vessel %" PRIu32 " message %" PRIu64 " (shorectl messages "
			 "show %" PRIu32 " %" PRIu64 ")", vessel, msg_id, vessel, msg_id);
		if ((rc = store_alert_add(st, vessel, "sos", now, d)) == 0 && alerted)
			*alerted = true;
		return rc;
	}
	if (type != RECORD_COMPLAINT)
		return 0;
	struct evidence_receipt r = {.vessel = vessel, .msg_id = msg_id,
				     .received = now < 0 ? 0 : (uint64_t)now};
	uint8_t body_enc[RECEIPT_BYTES], sig[DOC_SIG_BYTES];
	complaint_blob_hash(body, len, r.blob_hash);
	if ((rc = vessel_pk(db, vessel, r.vessel_pk)) < 0 ||
	    (rc = evidence_receipt_sign(&r, shore_sk, body_enc, sig)) < 0)
		return rc;
	sqlite3_stmt *q = db_stmt(db, sql_case_ins);
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 ||
	    (rc = db_bind_int64(db, q, 2, (int64_t)msg_id)) < 0 ||
	    (rc = db_bind_int64(db, q, 3, now)) < 0 ||
	    (rc = db_bind_blob(db, q, 4, r.blob_hash, sizeof r.blob_hash)) < 0 ||
	    (rc = db_bind_blob(db, q, 5, body_enc, sizeof body_enc)) < 0 ||
	    (rc = db_bind_blob(db, q, 6, sig, sizeof sig)) < 0 ||
	    (rc = db_bind_blob(db, q, 7, shore_sk + 32, DOC_SIGN_PK_BYTES)) < 0 ||
	    (rc = db_step(db, q)) < 0)
		return rc;
	if (db_changes(db) != 1)
		return 0;       /* held already (cannot happen for a new message row) */
	snprintf(d, sizeof d, "new complaint: case %" PRId64 ", vessel %" PRIu32 " message %" PRIu64
		 ", %zu sealed bytes (shorectl cases show %" PRId64 ")", db_last_insert_id(db), vessel,
		 msg_id, len, db_last_insert_id(db));
	if ((rc = store_alert_add(st, vessel, "complaint", now, d)) == 0 && alerted)
		*alerted = true;
	return rc;
}

/* ---- CASE_UPDATEs down --------------------------------------------------------- */

static const char sql_down[] =
	"SELECT id, msg_id, status, ts, CASE WHEN for_crew THEN note ELSE '' END FROM case_updates "
	"WHERE vessel = ?1 AND state = 'queued' ORDER BY id LIMIT ?2";
static const char sql_down_set[] = "UPDATE case_updates SET state = ?3 WHERE vessel = ?1 AND id = ?2";
static const char sql_unsend_one[] =
	"UPDATE case_updates SET state = 'queued' WHERE vessel = ?1 AND state = 'sent'";
static const char sql_unsend_all[] = "UPDATE case_updates SET state = 'queued' WHERE state = 'sent'";

ssize_t cases_down_pending(struct db *db, uint32_t vessel, struct cases_down *out, size_t max)
{
	sqlite3_stmt *q = db_stmt(db, sql_down);
	int rc;
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 || (rc = db_bind_int64(db, q, 2, (int64_t)max)) < 0)
		return rc;
	size_t n = 0;
	while (n < max && (rc = db_step(db, q)) == DB_ROW) {
		struct cases_down *c = &out[n++];
		c->id = (uint64_t)sqlite3_column_int64(q, 0);
		c->case_ref = (uint64_t)sqlite3_column_int64(q, 1);
		c->status = (uint32_t)sqlite3_column_int64(q, 2);
		c->ts = (uint64_t)sqlite3_column_int64(q, 3);
		size_t l = (size_t)sqlite3_column_bytes(q, 4);
		c->len = l > CASES_CREW_NOTE_MAX ? 0 : l;       /* checked at update time */
		memcpy(c->text, c->len ? (const char *)sqlite3_column_text(q, 4) : "", c->len);
		c->text[c->len] = '\0';
	}
	if (rc == DB_ROW)
		db_stmt_reset(q);
	return rc < 0 ? rc : (ssize_t)n;
}

int cases_down_set(struct db *db, uint32_t vessel, uint64_t id, const char *state)
{
	sqlite3_stmt *q = db_stmt(db, sql_down_set);
	int rc;
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, vessel)) < 0 || (rc = db_bind_int64(db, q, 2, (int64_t)id)) < 0 ||
	    (rc = db_bind_text(db, q, 3, state, strlen(state))) < 0 || (rc = db_step(db, q)) < 0)
		return rc;
	return 0;
}

int cases_down_unsend(struct db *db, uint32_t vessel)
{
	sqlite3_stmt *q = db_stmt(db, vessel ? sql_unsend_one : sql_unsend_all);
	int rc;
	if (!q)
		return ERR_DB;
	if ((vessel && (rc = db_bind_int64(db, q, 1, vessel)) < 0) || (rc = db_step(db, q)) < 0)
		return rc;
	return 0;
}

/* ---- control ------------------------------------------------------------------ */

static void say(struct cases_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct cases_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(o->tf, fmt, ap);
	va_end(ap);
}

static int fail(struct cases_out *o, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct cases_out *o, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof o->msg, fmt, ap);
	va_end(ap);
	snprintf(o->code, sizeof o->code, "%s", code);
	o->status = status;
	return -1;
}

static int db_fail(struct cases_out *o, struct db *db)
{
	return fail(o, EX_SOFTWARE, "database", "database error: %s; see the shored log", db_last_error(db));
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x == 0 || x > INT64_MAX)
		return false;
	*v = x;
	return true;
}

#define CASE_COLS "c.id, c.vessel, c.msg_id, c.received, c.status, c.updated, hex(c.blob_hash), " \
		  "COALESCE(v.name, ''), COALESCE(m.ts, 0), COALESCE(length(m.body), 0), " \
		  "(SELECT COUNT(*) FROM case_updates u WHERE u.case_id = c.id)"
#define CASE_FROM " FROM cases c LEFT JOIN vessels v ON v.id = c.vessel " \
		  "LEFT JOIN messages m ON m.vessel = c.vessel AND m.msg_id = c.msg_id"
static const char sql_list[] =
	"SELECT " CASE_COLS CASE_FROM " WHERE (?1 = 0 OR c.vessel = ?1) AND (?2 < 0 OR c.status = ?2) "
	"ORDER BY c.id";
static const char sql_one[] = "SELECT " CASE_COLS CASE_FROM " WHERE c.id = ?1";
static const char sql_by_msg[] = "SELECT id FROM cases WHERE vessel = ?1 AND msg_id = ?2";
static const char sql_history[] =
	"SELECT id, status, note, for_crew, ts, by_uid, state FROM case_updates WHERE case_id = ?1 "
	"ORDER BY id";
static const char sql_blob[] =
	"SELECT m.body, c.receipt, c.receipt_sig, c.shore_pk, v.sign_pk FROM cases c "
	"JOIN messages m ON m.vessel = c.vessel AND m.msg_id = c.msg_id "
	"JOIN vessels v ON v.id = c.vessel WHERE c.id = ?1";
static const char sql_update_ins[] =
	"INSERT INTO case_updates (case_id, vessel, msg_id, status, note, for_crew, ts, by_uid) "
	"SELECT id, vessel, msg_id, ?2, ?3, ?4, ?5, ?6 FROM cases WHERE id = ?1";
static const char sql_update_case[] = "UPDATE cases SET status = ?2, updated = ?3 WHERE id = ?1";

/* "7" or "101/17" -> case id.  0, or a failure written. */
static int find_case(struct cases_out *o, struct db *db, const char *s, int64_t *id)
{
	uint64_t a, b;
	const char *slash = s ? strchr(s, '/') : NULL;
	char head[24];
	if (slash && (size_t)(slash - s) < sizeof head) {
		memcpy(head, s, (size_t)(slash - s));
		head[slash - s] = '\0';
		if (parse_u64(head, &a) && a <= UINT32_MAX && parse_u64(slash + 1, &b)) {
			sqlite3_stmt *q = db_stmt(db, sql_by_msg);
			int rc;
			if (!q || db_bind_int64(db, q, 1, (int64_t)a) < 0 ||
			    db_bind_int64(db, q, 2, (int64_t)b) < 0 || (rc = db_step(db, q)) < 0)
				return db_fail(o, db);
			if (rc != DB_ROW)
				return fail(o, EX_NOUSER, "no_case", "vessel %s has no complaint %s "
					    "(shorectl cases list shows the cases)", head, slash + 1), -1;
			*id = sqlite3_column_int64(q, 0);
			db_stmt_reset(q);
			return 0;
		}
	} else if (parse_u64(s, &a)) {
		*id = (int64_t)a;
		return 0;
	}
	fail(o, EX_USAGE, "usage", "name the case by its number (7) or as VESSEL/MSGID (101/17); "
	     "shorectl cases list shows them");
	return -1;
}

static void utc(int64_t t, char *buf, size_t cap)
{
	time_t s = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&s, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "-");
}

/* One case row (columns CASE_COLS) as JSON members and a text line. */
static void case_row(struct cases_out *o, sqlite3_stmt *q, bool one)
{
	char rcv[32], wr[32], upd[32];
	int64_t id = sqlite3_column_int64(q, 0), status = sqlite3_column_int64(q, 4);
	const char *st = cases_status_name((int)status), *hash = (const char *)sqlite3_column_text(q, 6);
	const char *name = (const char *)sqlite3_column_text(q, 7);
	utc(sqlite3_column_int64(q, 3), rcv, sizeof rcv);
	utc(sqlite3_column_int64(q, 8), wr, sizeof wr);
	utc(sqlite3_column_int64(q, 5), upd, sizeof upd);
	json_kv_int(o->j, "case", id);
	json_kv_int(o->j, "vessel", sqlite3_column_int64(q, 1));
	json_kv_string(o->j, "vessel_name", name ? name : "");
	json_kv_int(o->j, "msg_id", sqlite3_column_int64(q, 2));
	json_kv_string(o->j, "status", st ? st : "?");
	json_kv_int(o->j, "written", sqlite3_column_int64(q, 8));
	json_kv_int(o->j, "received", sqlite3_column_int64(q, 3));
	json_kv_int(o->j, "updated", sqlite3_column_int64(q, 5));
	json_kv_int(o->j, "sealed_bytes", sqlite3_column_int64(q, 9));
	json_kv_string(o->j, "blob_hash", hash ? hash : "");
	json_kv_int(o->j, "updates", sqlite3_column_int64(q, 10));
	int64_t vessel = sqlite3_column_int64(q, 1), msg = sqlite3_column_int64(q, 2);
	int64_t nupd = sqlite3_column_int64(q, 10), sealed = sqlite3_column_int64(q, 9);
	if (!one) {
		say(o, "%6" PRId64 "  vessel %-6" PRId64 " msg %-8" PRId64 " %-14s received %s, %"
		    PRId64 " update(s)\n", id, vessel, msg, st ? st : "?", rcv, nupd);
		return;
	}
	say(o, "case %" PRId64 ": complaint %" PRId64 " from vessel %" PRId64 " (%s)\n"
	    "  status:    %s (since %s)\n  written:   %s (vessel clock)\n  received:  %s (shore clock)\n"
	    "  sealed:    %" PRId64 " bytes, BLAKE2b-256 %s (not readable here: "
	    "lifeline-inspect open %" PRId64 ")\n", id, msg, vessel, name ? name : "", st ? st : "?",
	    upd, wr, rcv, sealed, hash ? hash : "", id);
}

static int cmd_list(struct cases_out *o, struct db *db, int argc, char *const argv[])
{
	uint64_t vessel = 0;
	int64_t status = -1;
	for (int i = 2; i < argc; i += 2) {
		enum record_case_status s;
		if (i + 1 >= argc)
			return fail(o, EX_USAGE, "usage", "usage: cases list [--vessel V] [--status S]");
		if (strcmp(argv[i], "--vessel") == 0 && parse_u64(argv[i + 1], &vessel) && vessel <= UINT32_MAX)
			continue;
		if (strcmp(argv[i], "--status") == 0 && cases_status_parse(argv[i + 1], &s) == 0) {
			status = s;
			continue;
		}
		return fail(o, EX_USAGE, "usage", "usage: cases list [--vessel V] [--status received|"
			    "assigned|investigating|resolved|closed]");
	}
	sqlite3_stmt *q = db_stmt(db, sql_list);
	int rc;
	if (!q || db_bind_int64(db, q, 1, (int64_t)vessel) < 0 || db_bind_int64(db, q, 2, status) < 0)
		return db_fail(o, db);
	json_object_begin(o->j);
	json_key(o->j, "cases");
	json_array_begin(o->j);
	size_t n = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		json_object_begin(o->j);
		case_row(o, q, false);
		json_object_end(o->j);
		n++;
	}
	if (rc < 0)
		return db_fail(o, db);
	json_array_end(o->j);
	json_object_end(o->j);
	if (n == 0)
		say(o, "no cases\n");
	return 0;
}

static int cmd_show(struct cases_out *o, struct db *db, int64_t id)
{
	sqlite3_stmt *q = db_stmt(db, sql_one);
	int rc;
	if (!q || db_bind_int64(db, q, 1, id) < 0 || (rc = db_step(db, q)) < 0)
		return db_fail(o, db);
	if (rc != DB_ROW)
		return fail(o, EX_NOUSER, "no_case", "there is no case %" PRId64 " (shorectl cases list "
			    "shows the cases)", id);
	json_object_begin(o->j);
	case_row(o, q, true);
	db_stmt_reset(q);
	q = db_stmt(db, sql_history);
	if (!q || db_bind_int64(db, q, 1, id) < 0)
		return db_fail(o, db);
	json_key(o->j, "history");
	json_array_begin(o->j);
	while ((rc = db_step(db, q)) == DB_ROW) {
		char when[32];
		const char *st = cases_status_name(sqlite3_column_int(q, 1));
		const char *note = (const char *)sqlite3_column_text(q, 2);
		const char *state = (const char *)sqlite3_column_text(q, 6);
		bool crew = sqlite3_column_int(q, 3) != 0;
		utc(sqlite3_column_int64(q, 4), when, sizeof when);
		json_object_begin(o->j);
		json_kv_int(o->j, "id", sqlite3_column_int64(q, 0));
		json_kv_string(o->j, "status", st ? st : "?");
		json_kv_string(o->j, "note", note ? note : "");
		json_kv_bool(o->j, "for_crew", crew);
		json_kv_int(o->j, "ts", sqlite3_column_int64(q, 4));
		json_kv_int(o->j, "by_uid", sqlite3_column_int64(q, 5));
		json_kv_string(o->j, "to_vessel", state ? state : "");
		json_object_end(o->j);
		say(o, "  %s  -> %-13s (to the crew member: %s)%s%s\n", when, st ? st : "?",
		    state ? state : "", note && *note ? (crew ? "  note for the crew: " :
		    "  note (ashore only): ") : "", note ? note : "");
	}
	if (rc < 0)
		return db_fail(o, db);
	json_array_end(o->j);
	json_object_end(o->j);
	return 0;
}

static void hex_kv(struct cases_out *o, const char *key, const void *p, size_t n, char *buf)
{
	sodium_bin2hex(buf, HEX_MAX, p, n);
	json_kv_string(o->j, key, buf);
}

static int cmd_blob(struct cases_out *o, struct db *db, int64_t id)
{
	sqlite3_stmt *q = db_stmt(db, sql_blob);
	int rc;
	if (!q || db_bind_int64(db, q, 1, id) < 0 || (rc = db_step(db, q)) < 0)
		return db_fail(o, db);
	if (rc != DB_ROW)
		return fail(o, EX_NOUSER, "no_case", "there is no case %" PRId64, id);
	size_t bl = (size_t)sqlite3_column_bytes(q, 0);
	char *hex = malloc(HEX_MAX);
	if (!hex || bl > COMPLAINT_BLOB_MAX || sqlite3_column_bytes(q, 1) != RECEIPT_BYTES ||
	    sqlite3_column_bytes(q, 2) != DOC_SIG_BYTES || sqlite3_column_bytes(q, 3) != DOC_SIGN_PK_BYTES ||
	    sqlite3_column_bytes(q, 4) != DOC_SIGN_PK_BYTES) {
		db_stmt_reset(q);
		free(hex);
		return fail(o, EX_SOFTWARE, "internal", "case %" PRId64 " is damaged in the database "
			    "(or out of memory); see the shored log", id);
	}
	json_object_begin(o->j);
	json_kv_int(o->j, "case", id);
	hex_kv(o, "blob", sqlite3_column_blob(q, 0), bl, hex);
	hex_kv(o, "receipt", sqlite3_column_blob(q, 1), RECEIPT_BYTES, hex);
	hex_kv(o, "receipt_sig", sqlite3_column_blob(q, 2), DOC_SIG_BYTES, hex);
	hex_kv(o, "shore_pk", sqlite3_column_blob(q, 3), DOC_SIGN_PK_BYTES, hex);
	hex_kv(o, "vessel_pk", sqlite3_column_blob(q, 4), DOC_SIGN_PK_BYTES, hex);
	json_object_end(o->j);
	db_stmt_reset(q);
	free(hex);
	say(o, "case %" PRId64 ": %zu sealed bytes and the shore's receipt (use lifeline-inspect "
	    "open %" PRId64 " --key INSPECTOR.secret)\n", id, bl, id);
	return 0;
}

static int cmd_update(struct cases_out *o, struct store *st, int64_t now, uint32_t uid, int64_t id,
		       int argc, char *const argv[])
{
	struct db *db = store_db(st);
	const char *status = NULL, *note = "";
	bool crew = false;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--for-crew") == 0 || strcmp(argv[i], "--note-for-crew") == 0)
			crew = true;
		else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
			status = argv[++i];
		else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
			note = argv[++i];
		else
			return fail(o, EX_USAGE, "usage", "usage: cases update CASE --status received|"
				    "assigned|investigating|resolved|closed [--note TEXT] [--for-crew]");
	}
	enum record_case_status s;
	size_t nl = strlen(note);
	if (!status || cases_status_parse(status, &s) < 0)
		return fail(o, EX_USAGE, "usage", "--status must be received, assigned, investigating, "
			    "resolved or closed");
	if (nl > CASES_NOTE_MAX || (crew && nl > CASES_CREW_NOTE_MAX) || !json_utf8_valid(note, nl))
		return fail(o, EX_DATAERR, "bad_note", "a note is UTF-8 text of at most %u bytes (%u "
			    "when it goes to the crew member over the satellite)", CASES_NOTE_MAX,
			    CASES_CREW_NOTE_MAX);
	if (crew && nl == 0)
		return fail(o, EX_USAGE, "usage", "--for-crew needs a --note TEXT to send");
	int rc = db_begin(db);
	int64_t vessel = 0, msg = 0;
	if (rc < 0)
		return db_fail(o, db);
	sqlite3_stmt *q = db_stmt(db, sql_update_ins);
	if (!q || db_bind_int64(db, q, 1, id) < 0 || db_bind_int64(db, q, 2, s) < 0 ||
	    db_bind_text(db, q, 3, note, nl) < 0 || db_bind_int64(db, q, 4, crew) < 0 ||
	    db_bind_int64(db, q, 5, now) < 0 || db_bind_int64(db, q, 6, (int64_t)uid) < 0 ||
	    db_step(db, q) < 0)
		goto dberr;
	if (db_changes(db) != 1) {
		store_rollback(db);
		return fail(o, EX_NOUSER, "no_case", "there is no case %" PRId64 " (shorectl cases list "
			    "shows the cases)", id);
	}
	int64_t uid_row = db_last_insert_id(db);
	if (store_query_int(st, "SELECT vessel FROM cases WHERE id = ?1", 1, id, 0, 0, &vessel) < 0 ||
	    store_query_int(st, "SELECT msg_id FROM cases WHERE id = ?1", 1, id, 0, 0, &msg) < 0)
		goto dberr;
	q = db_stmt(db, sql_update_case);
	if (!q || db_bind_int64(db, q, 1, id) < 0 || db_bind_int64(db, q, 2, s) < 0 ||
	    db_bind_int64(db, q, 3, now) < 0 || db_step(db, q) < 0 || db_commit(db) < 0)
		goto dberr;
	o->kick = (uint32_t)vessel;
	log_info("case %" PRId64 " (vessel %" PRId64 " message %" PRId64 "): status %s by uid %u",
		 id, vessel, msg, cases_status_name((int)s), (unsigned)uid);
	json_object_begin(o->j);
	json_kv_int(o->j, "case", id);
	json_kv_int(o->j, "update", uid_row);
	json_kv_string(o->j, "status", cases_status_name((int)s));
	json_kv_int(o->j, "vessel", vessel);
	json_kv_int(o->j, "msg_id", msg);
	json_kv_bool(o->j, "note_for_crew", crew);
	json_object_end(o->j);
	say(o, "case %" PRId64 " is now %s; the crew member is told at the next contact with vessel %"
	    PRId64 "%s\n", id, cases_status_name((int)s), vessel, crew ? " (with the note)" :
	    nl ? " (the note stays ashore)" : "");
	return 0;
dberr:
	db_fail(o, db);
	store_rollback(db);
	return -1;
}

static int dispatch(struct store *st, bool admin, int64_t now, int argc, char *const argv[],
		    struct cases_out *o)
{
	struct db *db = store_db(st);
	const char *sub = argc > 1 ? argv[1] : "";
	int64_t id = 0;
	o->status = 0;
	o->kick = 0;
	if (strcmp(sub, "list") == 0)
		return cmd_list(o, db, argc, argv);
	bool show = strcmp(sub, "show") == 0, blob = strcmp(sub, "blob") == 0;
	bool update = strcmp(sub, "update") == 0;
	if (!show && !blob && !update)
		return fail(o, EX_USAGE, "usage", "usage: cases list [--vessel V] [--status S] | cases "
			    "show CASE | cases blob CASE | cases update CASE --status S [--note TEXT] "
			    "[--for-crew]");
	if (argc < 3 || ((show || blob) && argc != 3))
		return fail(o, EX_USAGE, "usage", "usage: cases %s CASE%s", sub,
			    update ? " --status S [--note TEXT] [--for-crew]" : "");
	if (find_case(o, db, argv[2], &id) < 0)
		return -1;
	if (show)
		return cmd_show(o, db, id);
	if (blob)
		return cmd_blob(o, db, id);
	if (!admin)
		return fail(o, EX_NOPERM, "not_admin", "only an inspector or operator with admin rights "
			    "(root or the shored user) may change a case");
	return cmd_update(o, st, now, o->uid, id, argc, argv);
}

void cases_ctl(struct store *st, bool admin, int64_t now, int argc, char *const argv[],
	       struct cases_out *o)
{
	(void)dispatch(st, admin, now, argc, argv, o);
}
