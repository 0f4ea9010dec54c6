/*
 * qreport.c — refusals kept on board and QUOTA_REPORT records for the
 * shore's ledger (qreport.h).
 *
 * What it is for: the shore can sign that nobody was refused below their
 * allowance only if it learns every refusal with the usage level at that
 * moment, and the bytes counted on board, from the vessel.
 *
 * Invariants: a refusal row is committed before the crew member is told
 * "refused"; reports are cumulative figures read from the quota ledger and
 * the refusal table (never deltas), so a lost, repeated or reordered report
 * changes nothing at the shore but the moment it learns; reports never
 * take more than the bytes the caller reserved.
 *
 * Failure behaviour: database errors are returned (the uplink retries the
 * pump); a report that cannot be encoded is skipped, never fatal.
 */
#include "vessel/qreport.h"

#include <string.h>

#include "vessel/quota.h"

#define META_REFUSAL "qr_refusal"
#define META_PERIOD "qr_period"
#define SECS_PER_DAY 86400

const char qreport_schema_v2[] =
	"CREATE TABLE refusal ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" crew_id INTEGER NOT NULL, period INTEGER NOT NULL, ts INTEGER NOT NULL,"
	" used INTEGER NOT NULL, attempted INTEGER NOT NULL);"
	"CREATE INDEX refusal_by_crew ON refusal (crew_id, period, id);";

static const char sql_add[] =
	"INSERT INTO refusal (crew_id, period, ts, used, attempted) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_count[] = "SELECT COUNT(*) FROM refusal WHERE crew_id = ?1 AND period = ?2";
static const char sql_max[] = "SELECT COALESCE(MAX(id), 0) FROM refusal";
static const char sql_rows[] =
	"SELECT c.id, COALESCE((SELECT used FROM quota q WHERE q.crew_id = c.id AND q.period = ?1), 0),"
	" (SELECT COUNT(*) FROM refusal r WHERE r.crew_id = c.id AND r.period = ?1)"
	" FROM crew c ORDER BY c.id";
static const char sql_latest[] =
	"SELECT ts, used, attempted FROM refusal WHERE crew_id = ?1 AND period = ?2"
	" ORDER BY id DESC LIMIT ?3";

/* First column of the first row of q (bound by the caller) into *v. */
static int one_i64(struct db *db, sqlite3_stmt *q, int64_t *v)
{
	int rc = db_step(db, q);
	if (rc < 0)
		return rc;
	*v = rc == DB_ROW ? sqlite3_column_int64(q, 0) : 0;
	if (rc == DB_ROW)
		db_stmt_reset(q);
	return 0;
}

int qreport_refusal_add(struct vstore *st, uint32_t crew_id, uint32_t period, int64_t ts,
			uint64_t used, uint64_t attempted)
{
	struct db *db = vstore_db(st);
	sqlite3_stmt *q = db_stmt(db, sql_add);
	int rc;
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, crew_id)) < 0 || (rc = db_bind_int64(db, q, 2, period)) < 0 ||
	    (rc = db_bind_int64(db, q, 3, ts)) < 0 || (rc = db_bind_int64(db, q, 4, (int64_t)used)) < 0 ||
	    (rc = db_bind_int64(db, q, 5, (int64_t)attempted)) < 0 || (rc = db_step(db, q)) < 0)
		return rc;
	return 0;
}

int qreport_refusals(struct vstore *st, uint32_t crew_id, uint32_t period, uint64_t *n)
{
	struct db *db = vstore_db(st);
	sqlite3_stmt *q = db_stmt(db, sql_count);
	int64_t v = 0;
	int rc;
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, crew_id)) < 0 || (rc = db_bind_int64(db, q, 2, period)) < 0 ||
	    (rc = one_i64(db, q, &v)) < 0)
		return rc;
	*n = (uint64_t)v;
	return 0;
}

static int max_refusal(struct vstore *st, int64_t *id)
{
	sqlite3_stmt *q = db_stmt(vstore_db(st), sql_max);
	return q ? one_i64(vstore_db(st), q, id) : ERR_DB;
}

int qreport_due(struct vstore *st, const struct qreport_config *cfg, int64_t now, bool *due)
{
	*due = false;
	if (cfg->interval == 0)
		return 0;
	uint32_t period;
	uint64_t sent_id, sent_period;
	int64_t id;
	int rc;
	if (quota_period(now, cfg->zone, &period) < 0)
		return 0;       /* a clock outside the calendar: nothing to report */
	if ((rc = max_refusal(st, &id)) < 0 ||
	    (rc = vstore_meta_u64(st, META_REFUSAL, 0, &sent_id)) < 0 ||
	    (rc = vstore_meta_u64(st, META_PERIOD, 0, &sent_period)) < 0)
		return rc;
	*due = (uint64_t)id > sent_id || sent_period != period;
	return 0;
}

size_t qreport_reserve(const struct qreport_config *cfg, uint64_t bundle_max)
{
	if (cfg->interval == 0)
		return 0;
	uint64_t r = bundle_max / 4u;
	return r > QREPORT_BYTES_MAX ? QREPORT_BYTES_MAX : (size_t)r;
}

struct row {
	uint32_t crew, period;
	uint64_t used, refusals;
};

/* Crew members with a figure in period, appended to rows[*n..). */
static int load_rows(struct vstore *st, uint32_t period, struct row *rows, size_t *n, size_t max)
{
	struct db *db = vstore_db(st);
	sqlite3_stmt *q = db_stmt(db, sql_rows);
	int rc;
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, period)) < 0)
		return rc;
	while ((rc = db_step(db, q)) == DB_ROW) {
		int64_t used = sqlite3_column_int64(q, 1), refusals = sqlite3_column_int64(q, 2);
		if ((used <= 0 && refusals <= 0) || *n == max)
			continue;
		rows[(*n)++] = (struct row){(uint32_t)sqlite3_column_int64(q, 0), period,
					    (uint64_t)(used > 0 ? used : 0), (uint64_t)refusals};
	}
	return rc < 0 ? rc : 0;
}

/* The report of one row, its latest refusals detailed. */
static int fill(struct vstore *st, const struct qreport_config *cfg, const struct row *w,
		struct record *r)
{
	struct db *db = vstore_db(st);
	struct record_quota_report *q = &r->u.quota_report;
	memset(r, 0, sizeof *r);
	r->type = RECORD_QUOTA_REPORT;
	*q = (struct record_quota_report){.crew_id = w->crew, .period = w->period, .zone = cfg->zone,
		.interval = cfg->interval, .allowance = cfg->allowance, .used = w->used,
		.refusals = w->refusals > UINT32_MAX ? UINT32_MAX : (uint32_t)w->refusals};
	if (w->refusals == 0)
		return 0;
	sqlite3_stmt *s = db_stmt(db, sql_latest);
	int rc;
	if (!s)
		return ERR_DB;
	if ((rc = db_bind_int64(db, s, 1, w->crew)) < 0 || (rc = db_bind_int64(db, s, 2, w->period)) < 0 ||
	    (rc = db_bind_int64(db, s, 3, RECORD_REFUSALS_MAX)) < 0)
		return rc;
	struct record_refusal tmp[RECORD_REFUSALS_MAX];
	size_t k = 0;
	while ((rc = db_step(db, s)) == DB_ROW && k < RECORD_REFUSALS_MAX)
		tmp[k++] = (struct record_refusal){(uint64_t)sqlite3_column_int64(s, 0),
			(uint64_t)sqlite3_column_int64(s, 1), (uint64_t)sqlite3_column_int64(s, 2)};
	if (rc == DB_ROW)
		db_stmt_reset(s);
	else if (rc < 0)
		return rc;
	for (size_t i = 0; i < k; i++)          /* oldest first */
		q->r[i] = tmp[k - 1 - i];
	q->n = k;
	q->first = k ? q->refusals - (uint32_t)k + 1u : 0;
	return 0;
}

int qreport_add(struct vstore *st, const struct qreport_config *cfg, int64_t now,
		struct body_writer *bw, size_t max_bytes)
{
	static struct row rows[2 * QREPORT_CREW_MAX];
	uint32_t period;
	int64_t start, top;
	size_t n = 0, used_bytes = 0;
	int rc;
	if (cfg->interval == 0 || quota_period(now, cfg->zone, &period) < 0 ||
	    quota_period_start(period, cfg->zone, &start) < 0)
		return 0;
	if ((rc = max_refusal(st, &top)) < 0 ||
	    (rc = load_rows(st, period, rows, &n, QREPORT_CREW_MAX)) < 0)
		return rc;
	uint32_t prev;
	if (now - start < QREPORT_PREV_DAYS * SECS_PER_DAY && quota_period(start - 1, cfg->zone, &prev) == 0 &&
	    (rc = load_rows(st, prev, rows, &n, 2 * QREPORT_CREW_MAX)) < 0)
		return rc;
	if (n == 0)
		rows[n++] = (struct row){0, period, 0, 0};
	/* Those with refusals first, keeping the order otherwise. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			if ((rows[i].refusals > 0) != (pass == 0))
				continue;
			struct record r;
			if ((rc = fill(st, cfg, &rows[i], &r)) < 0)
				return rc;
			ssize_t sz = record_encode_base(&r, bw->base_time, NULL, 0);
			if (sz < 0 || used_bytes + (size_t)sz > max_bytes)
				continue;
			if ((rc = body_add(bw, &r)) == ERR_FULL)
				continue;
			if (rc < 0)
				return rc;
			used_bytes += (size_t)sz;
		}
	if ((rc = vstore_meta_set_u64(st, META_REFUSAL, (uint64_t)top)) < 0)
		return rc;
	return vstore_meta_set_u64(st, META_PERIOD, period);
}
