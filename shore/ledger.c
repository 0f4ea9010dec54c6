/*
 * ledger.c — the shore's compliance ledger and the monthly statements it
 * signs (ledger.h).
 *
 * What it is for: an owner proves at port-in/port-out inspection, with a
 * file the shore (not the owner) signed, that every crew member had the
 * month's allowance, that nobody was refused below it, that the link
 * worked, and what the airtime cost.
 *
 * Invariants:
 *  - ledger rows are written in ingest's accepting transaction, so they
 *    exist exactly for committed bundles (a replayed or refused bundle adds
 *    nothing; a bundle's airtime is counted once);
 *  - on-board figures are cumulative: a report only ever raises used and
 *    refusals (MAX), refusals are keyed by their on-board number, so
 *    repeated or reordered reports change nothing;
 *  - a statement is computed only from stored facts and the clock passed
 *    in; it holds no message text, no contact, no name, and complaints and
 *    SOS only as per-vessel counts;
 *  - months are cut with days-from-civil arithmetic in the zone the vessel
 *    reported (never the process's TZ).
 *
 * Failure behaviour: db errors are returned to the caller (ingest then
 * rolls the whole bundle back); a statement that cannot be made says why
 * through its return code.
 */
#include "shore/ledger.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/varint.h"

#define SECS_PER_DAY 86400
#define SECS_PER_HOUR 3600
#define DECIMALS_MAX 6
#define PERIOD_MIN 197001u
#define PERIOD_MAX 999912u
#define MONTHS 12u

const char ledger_schema_sql[] =
	"CREATE TABLE ledger_bundle ("
	" vessel INTEGER NOT NULL, seq INTEGER NOT NULL, received INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, PRIMARY KEY (vessel, seq)) WITHOUT ROWID;"
	"CREATE INDEX ledger_bundle_time ON ledger_bundle (vessel, received);"
	"CREATE TABLE ledger_air ("
	" vessel INTEGER NOT NULL, seq INTEGER NOT NULL, crew_id INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, PRIMARY KEY (vessel, seq, crew_id)) WITHOUT ROWID;"
	"CREATE TABLE ledger_hb ("
	" vessel INTEGER NOT NULL, received INTEGER NOT NULL, ts INTEGER NOT NULL,"
	" on_board INTEGER NOT NULL, registered INTEGER NOT NULL);"
	"CREATE INDEX ledger_hb_time ON ledger_hb (vessel, received);"
	"CREATE TABLE ledger_vessel ("
	" vessel INTEGER PRIMARY KEY, zone INTEGER NOT NULL, interval INTEGER NOT NULL,"
	" allowance INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE ledger_quota ("
	" vessel INTEGER NOT NULL, crew_id INTEGER NOT NULL, period INTEGER NOT NULL,"
	" used INTEGER NOT NULL, allowance INTEGER NOT NULL, refusals INTEGER NOT NULL,"
	" updated INTEGER NOT NULL, PRIMARY KEY (vessel, crew_id, period)) WITHOUT ROWID;"
	"CREATE TABLE ledger_refusal ("
	" vessel INTEGER NOT NULL, crew_id INTEGER NOT NULL, period INTEGER NOT NULL,"
	" n INTEGER NOT NULL, ts INTEGER NOT NULL, used INTEGER NOT NULL,"
	" attempted INTEGER NOT NULL, PRIMARY KEY (vessel, crew_id, period, n)) WITHOUT ROWID;";

/* ---- scanning a bundle ------------------------------------------------------ */

void ledger_scan_begin(struct ledger_scan *ls, const uint8_t *body, size_t len)
{
	ls->nsections = 0;
	ls->has_hb = false;
	ls->nreports = 0;
	ls->wire_bytes = 0;
	struct cursor c;
	cursor_init(&c, body, len);
	while (c.len > 0 && ls->nsections < BODY_SECTIONS_MAX) {
		size_t before = c.len;
		uint64_t n;
		const uint8_t *p;
		if (cursor_get_varint(&c, &n) < 0 || n > c.len || cursor_get_bytes(&c, (size_t)n, &p) < 0)
			return;         /* the body reader refuses it */
		ls->section_bytes[ls->nsections] = (uint32_t)(before - c.len);
		ls->section_crew[ls->nsections] = 0;
		ls->nsections++;
	}
}

void ledger_scan_record(struct ledger_scan *ls, size_t sec, const struct record *r)
{
	uint32_t crew = 0;
	switch (r->type) {
	case RECORD_TEXT: crew = r->u.text.crew_id; break;
	case RECORD_CONTACT: crew = r->u.contact.crew_id; break;
	/* An SOS alone does not make its section the crew member's: a
	 * statement shows SOS per vessel only (they share a section with that
	 * member's texts when both go in one bundle). */
	case RECORD_HEARTBEAT:
		ls->has_hb = true;
		ls->hb = r->u.heartbeat;
		return;
	case RECORD_QUOTA_REPORT:
		if (ls->nreports < LEDGER_REPORTS_MAX)
			ls->reports[ls->nreports++] = r->u.quota_report;
		return;
	default:
		return;
	}
	if (sec < ls->nsections && ls->section_crew[sec] == 0)
		ls->section_crew[sec] = crew;
}

/* ---- storing ------------------------------------------------------------------ */

static const char sql_bundle[] =
	"INSERT OR IGNORE INTO ledger_bundle (vessel, seq, received, bytes) VALUES (?1, ?2, ?3, ?4)";
static const char sql_air[] =
	"INSERT INTO ledger_air (vessel, seq, crew_id, bytes) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (vessel, seq, crew_id) DO UPDATE SET bytes = bytes + excluded.bytes";
static const char sql_hb[] =
	"INSERT INTO ledger_hb (vessel, received, ts, on_board, registered) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_vessel[] =
	"INSERT INTO ledger_vessel (vessel, zone, interval, allowance, updated) VALUES (?1, ?2, ?3, ?4, ?5)"
	" ON CONFLICT (vessel) DO UPDATE SET zone = excluded.zone, interval = excluded.interval,"
	" allowance = excluded.allowance, updated = excluded.updated";
static const char sql_quota[] =
	"INSERT INTO ledger_quota (vessel, crew_id, period, used, allowance, refusals, updated)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (vessel, crew_id, period) DO UPDATE SET"
	" used = MAX(used, excluded.used), allowance = excluded.allowance,"
	" refusals = MAX(refusals, excluded.refusals), updated = excluded.updated";
static const char sql_refusal[] =
	"INSERT OR IGNORE INTO ledger_refusal (vessel, crew_id, period, n, ts, used, attempted)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/* Binds v[0..n) to a cached statement and steps it once. */
static int exec_ints(struct db *db, const char *sql, const int64_t *v, int n)
{
	sqlite3_stmt *q = db_stmt(db, sql);
	int rc;
	if (!q)
		return ERR_DB;
	for (int i = 0; i < n; i++)
		if ((rc = db_bind_int64(db, q, i + 1, v[i])) < 0)
			return rc;
	rc = db_step(db, q);
	return rc < 0 ? rc : 0;
}

static int64_t clamp64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int store_air(struct db *db, uint32_t vessel, uint64_t seq, const struct ledger_scan *ls)
{
	uint64_t crew_total = 0;
	for (size_t i = 0; i < ls->nsections; i++)
		if (ls->section_crew[i])
			crew_total += ls->section_bytes[i];
	uint64_t wire = ls->wire_bytes, overhead = wire > crew_total ? wire - crew_total : 0;
	uint64_t given = 0;
	int rc;
	for (size_t i = 0; i < ls->nsections && crew_total; i++) {
		if (!ls->section_crew[i])
			continue;
		uint64_t own = ls->section_bytes[i];
		uint64_t share = own + overhead * own / crew_total;   /* < 2^17 * 2^17 */
		const int64_t v[4] = {vessel, clamp64(seq), ls->section_crew[i], (int64_t)share};
		if ((rc = exec_ints(db, sql_air, v, 4)) < 0)
			return rc;
		given += share;
	}
	if (given >= wire)
		return 0;
	const int64_t v[4] = {vessel, clamp64(seq), 0, (int64_t)(wire - given)};
	return exec_ints(db, sql_air, v, 4);
}

static int store_report(struct db *db, uint32_t vessel, int64_t now, const struct record_quota_report *q)
{
	const int64_t s[5] = {vessel, q->zone, q->interval, clamp64(q->allowance), now};
	int rc = exec_ints(db, sql_vessel, s, 5);
	if (rc < 0 || q->crew_id == 0)
		return rc;
	const int64_t v[7] = {vessel, q->crew_id, q->period, clamp64(q->used), clamp64(q->allowance),
			      q->refusals, now};
	if ((rc = exec_ints(db, sql_quota, v, 7)) < 0)
		return rc;
	for (size_t i = 0; i < q->n; i++) {
		const int64_t r[7] = {vessel, q->crew_id, q->period, (int64_t)q->first + (int64_t)i,
				      clamp64(q->r[i].ts), clamp64(q->r[i].used), clamp64(q->r[i].attempted)};
		if ((rc = exec_ints(db, sql_refusal, r, 7)) < 0)
			return rc;
	}
	return 0;
}

int ledger_commit(struct db *db, uint32_t vessel, uint64_t seq, int64_t now, const struct ledger_scan *ls)
{
	const int64_t b[4] = {vessel, clamp64(seq), now, (int64_t)ls->wire_bytes};
	int rc = exec_ints(db, sql_bundle, b, 4);
	if (rc < 0 || (rc = store_air(db, vessel, seq, ls)) < 0)
		return rc;
	if (ls->has_hb) {
		const int64_t h[5] = {vessel, now, clamp64(ls->hb.ts), ls->hb.crew_on_board,
				      ls->hb.crew_registered};
		if ((rc = exec_ints(db, sql_hb, h, 5)) < 0)
			return rc;
	}
	for (size_t i = 0; i < ls->nreports; i++)
		if ((rc = store_report(db, vessel, now, &ls->reports[i])) < 0)
			return rc;
	return 0;
}

/* ---- months --------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool period_ok(uint32_t p)
{
	return p >= PERIOD_MIN && p <= PERIOD_MAX && p % 100u >= 1u && p % 100u <= MONTHS;
}

int ledger_period_bounds(uint32_t period, int32_t zone, int64_t *start, int64_t *end)
{
	if (!period_ok(period))
		return ERR_INVAL;
	int64_t y = period / 100u;
	unsigned m = period % 100u;
	*start = days_from_civil(y, m, 1) * SECS_PER_DAY - zone;
	*end = (m == MONTHS ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) *
	       SECS_PER_DAY - zone;
	return 0;
}

int ledger_month_parse(const char *s, uint32_t *period)
{
	unsigned y, m;
	char tail;
	if (!s || strlen(s) != 7 || sscanf(s, "%4u-%2u%c", &y, &m, &tail) != 2 || s[4] != '-')
		return ERR_INVAL;
	uint32_t p = y * 100u + m;
	if (!period_ok(p))
		return ERR_INVAL;
	*period = p;
	return 0;
}

/* ---- prices ------------------------------------------------------------------- */

int ledger_price_parse(const char *s, struct ledger_price *p)
{
	memset(p, 0, sizeof *p);
	if (!s || !*s)
		return 0;
	uint64_t whole = 0, frac = 0;
	int decimals = 0;
	const char *c = s;
	if (*c < '0' || *c > '9')
		return ERR_INVAL;
	for (; *c >= '0' && *c <= '9'; c++) {
		if (whole > (UINT64_MAX / STATEMENT_MICRO - 9) / 10)
			return ERR_INVAL;
		whole = whole * 10 + (uint64_t)(*c - '0');
	}
	if (*c == '.') {
		for (c++; *c >= '0' && *c <= '9'; c++) {
			if (++decimals > DECIMALS_MAX)
				return ERR_INVAL;
			frac = frac * 10 + (uint64_t)(*c - '0');
		}
		if (decimals == 0)
			return ERR_INVAL;
	}
	for (int d = decimals; d < DECIMALS_MAX; d++)
		frac *= 10;
	if (*c != ' ')
		return ERR_INVAL;
	c++;
	for (int i = 0; i < (int)STATEMENT_CURRENCY_BYTES; i++)
		if (c[i] < 'A' || c[i] > 'Z')
			return ERR_INVAL;
	if (c[STATEMENT_CURRENCY_BYTES] != '\0')
		return ERR_INVAL;
	p->micro_per_mb = whole * STATEMENT_MICRO + frac;
	memcpy(p->currency, c, STATEMENT_CURRENCY_BYTES);
	if (p->micro_per_mb == 0)
		memset(p, 0, sizeof *p);
	return 0;
}

int ledger_price_check(const char *value, char *why, size_t cap)
{
	struct ledger_price p;
	if (ledger_price_parse(value, &p) == 0)
		return 0;
	snprintf(why, cap, "write the price of 1,000,000 bytes on air and its currency code, "
		 "e.g. \"4.50 USD\" (at most 6 decimals)");
	return 1;
}

/* ---- the statement ------------------------------------------------------------- */

static const char sql_vessel_known[] = "SELECT COUNT(*) FROM vessels WHERE id = ?1";
static const char sql_settings[] =
	"SELECT zone, interval, allowance FROM ledger_vessel WHERE vessel = ?1";
static const char sql_bundles[] =
	"SELECT received FROM ledger_bundle WHERE vessel = ?1 AND received >= ?2 AND received < ?3"
	" ORDER BY received";
static const char sql_bytes[] =
	"SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM ledger_bundle"
	" WHERE vessel = ?1 AND received >= ?2 AND received < ?3";
static const char sql_air_crew[] =
	"SELECT a.crew_id, SUM(a.bytes) FROM ledger_air a JOIN ledger_bundle b"
	" ON b.vessel = a.vessel AND b.seq = a.seq"
	" WHERE a.vessel = ?1 AND b.received >= ?2 AND b.received < ?3 GROUP BY a.crew_id";
static const char sql_hbs[] =
	"SELECT COUNT(*) FROM ledger_hb WHERE vessel = ?1 AND received >= ?2 AND received < ?3";
static const char sql_hb_last[] =
	"SELECT on_board, registered FROM ledger_hb WHERE vessel = ?1 AND received >= ?2"
	" AND received < ?3 ORDER BY received DESC, rowid DESC LIMIT 1";
static const char sql_kind_count[] =
	"SELECT COALESCE(SUM(kind = 'complaint'), 0), COALESCE(SUM(kind = 'sos'), 0) FROM messages"
	" WHERE vessel = ?1 AND received >= ?2 AND received < ?3";
static const char sql_texts[] =
	"SELECT crew_id, COUNT(*), COALESCE(SUM(length(CAST(body AS BLOB))), 0),"
	" COALESCE(SUM(state = 1), 0), COALESCE(SUM(state = 2), 0) FROM messages"
	" WHERE vessel = ?1 AND kind = 'text' AND ts >= ?2 AND ts < ?3 GROUP BY crew_id";
static const char sql_reports[] =
	"SELECT crew_id, used, allowance, refusals FROM ledger_quota WHERE vessel = ?1 AND period = ?2";
static const char sql_refusals[] =
	"SELECT ts, used, attempted, n FROM ledger_refusal WHERE vessel = ?1 AND crew_id = ?2"
	" AND period = ?3 ORDER BY n";

/* Binds up to 3 ints to a cached query; the caller steps it. */
static sqlite3_stmt *query(struct db *db, const char *sql, int n, int64_t a, int64_t b, int64_t c,
			   int *rc)
{
	sqlite3_stmt *q = db_stmt(db, sql);
	const int64_t v[3] = {a, b, c};
	*rc = 0;
	if (!q) {
		*rc = ERR_DB;
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if ((*rc = db_bind_int64(db, q, i + 1, v[i])) < 0)
			return NULL;
	return q;
}

/* Runs a one-row aggregate over (vessel, start, until) and reads its
 * first ncols columns into col[] (left as they are when no row comes).
 * Returns 0 or a db error. */
static int one_row(struct db *db, const char *sql, const struct statement *s, int64_t *col,
		   int ncols)
{
	int rc;
	sqlite3_stmt *q = query(db, sql, 3, s->vessel, s->start, s->until, &rc);
	if (!q)
		return rc;
	if ((rc = db_step(db, q)) == DB_ROW) {
		for (int i = 0; i < ncols; i++)
			col[i] = sqlite3_column_int64(q, i);
		db_stmt_reset(q);
		return 0;
	}
	return rc < 0 ? rc : 0;
}

static uint32_t u32(int64_t v)
{
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint64_t u64(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

/* The entry of crew id, added in order if new.  NULL when full. */
static struct statement_crew *entry(struct statement *s, uint32_t id, uint64_t allowance, int *rc)
{
	size_t i = 0;
	while (i < s->ncrew && s->crew[i].crew_id < id)
		i++;
	if (i < s->ncrew && s->crew[i].crew_id == id)
		return &s->crew[i];
	if (s->ncrew == STATEMENT_CREW_MAX) {
		*rc = ERR_TOOBIG;
		return NULL;
	}
	memmove(&s->crew[i + 1], &s->crew[i], (s->ncrew - i) * sizeof s->crew[0]);
	s->ncrew++;
	memset(&s->crew[i], 0, sizeof s->crew[i]);
	s->crew[i].crew_id = id;
	s->crew[i].allowance = allowance;
	return &s->crew[i];
}

/* Link availability: contact days, longest silence, bundles, airtime. */
static int availability(struct db *db, struct statement *s)
{
	int rc;
	sqlite3_stmt *q = query(db, sql_bundles, 3, s->vessel, s->start, s->until, &rc);
	if (!q)
		return rc;
	int64_t prev = s->start, last_day = INT64_MIN;
	uint64_t longest = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		if ((uint64_t)(t - prev) > longest)
			longest = (uint64_t)(t - prev);
		prev = t;
		int64_t day = (t - s->start) / SECS_PER_DAY;
		if (day != last_day)
			s->days_contact++;
		last_day = day;
	}
	if (rc < 0)
		return rc;
	if ((uint64_t)(s->until - prev) > longest)
		longest = (uint64_t)(s->until - prev);
	s->longest_silence = longest;
	s->days_covered = (uint16_t)((s->until - s->start + SECS_PER_DAY - 1) / SECS_PER_DAY);
	int64_t col[2] = {0, 0};
	if ((rc = one_row(db, sql_bytes, s, col, 2)) < 0)
		return rc;
	s->bundles = u32(col[0]);
	s->airtime = u64(col[1]);
	col[0] = 0;
	if ((rc = one_row(db, sql_hbs, s, col, 1)) < 0)
		return rc;
	s->hb_received = u32(col[0]);
	if (s->hb_interval)
		s->hb_expected = u32((s->until - s->start) / s->hb_interval);
	col[0] = col[1] = 0;
	if ((rc = one_row(db, sql_hb_last, s, col, 2)) < 0)
		return rc;
	s->crew_on_board = u32(col[0]);
	s->crew_registered = u32(col[1]);
	col[0] = col[1] = 0;
	if ((rc = one_row(db, sql_kind_count, s, col, 2)) < 0)
		return rc;
	s->complaints = u32(col[0]);
	s->sos = u32(col[1]);
	return 0;
}

static int crew_airtime(struct db *db, struct statement *s, uint64_t allowance)
{
	int rc;
	sqlite3_stmt *q = query(db, sql_air_crew, 3, s->vessel, s->start, s->until, &rc);
	if (!q)
		return rc;
	while ((rc = db_step(db, q)) == DB_ROW) {
		int64_t crew = sqlite3_column_int64(q, 0);
		uint64_t bytes = u64(sqlite3_column_int64(q, 1));
		if (crew <= 0) {
			s->airtime_unattributed += bytes;
			continue;
		}
		struct statement_crew *c = entry(s, u32(crew), allowance, &rc);
		if (!c) {
			db_stmt_reset(q);
			return rc;
		}
		c->airtime = bytes;
	}
	return rc < 0 ? rc : 0;
}

static int crew_texts(struct db *db, struct statement *s, uint64_t allowance)
{
	int rc;
	sqlite3_stmt *q = query(db, sql_texts, 3, s->vessel, s->start, s->end, &rc);
	if (!q)
		return rc;
	while ((rc = db_step(db, q)) == DB_ROW) {
		struct statement_crew *c = entry(s, u32(sqlite3_column_int64(q, 0)), allowance, &rc);
		if (!c) {
			db_stmt_reset(q);
			return rc;
		}
		c->messages = u32(sqlite3_column_int64(q, 1));
		c->text_bytes = u64(sqlite3_column_int64(q, 2));
		c->delivered = u32(sqlite3_column_int64(q, 3));
		c->failed = u32(sqlite3_column_int64(q, 4));
	}
	return rc < 0 ? rc : 0;
}

/* Refusals known of one crew member: the latest few detailed, every one
 * checked against the allowance. */
static int crew_refusals(struct db *db, struct statement *s, struct statement_crew *c)
{
	int rc;
	sqlite3_stmt *q = query(db, sql_refusals, 3, s->vessel, c->crew_id, s->period, &rc);
	if (!q)
		return rc;
	uint32_t known = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		struct statement_refusal r = {u64(sqlite3_column_int64(q, 0)),
					      u64(sqlite3_column_int64(q, 1)),
					      u64(sqlite3_column_int64(q, 2))};
		known++;
		if (r.attempted <= c->allowance && r.used <= c->allowance - r.attempted)
			c->refused_below++;     /* it would have fit */
		if (c->nref == STATEMENT_REFUSALS_MAX)
			memmove(c->ref, c->ref + 1, (STATEMENT_REFUSALS_MAX - 1) * sizeof c->ref[0]);
		else
			c->nref++;
		c->ref[c->nref - 1] = r;
	}
	if (rc < 0)
		return rc;
	if (known > c->refusals)
		c->refusals = known;
	return 0;
}

static int crew_reports(struct db *db, struct statement *s, uint64_t allowance)
{
	int rc;
	sqlite3_stmt *q = query(db, sql_reports, 2, s->vessel, s->period, 0, &rc);
	if (!q)
		return rc;
	while ((rc = db_step(db, q)) == DB_ROW) {
		struct statement_crew *c = entry(s, u32(sqlite3_column_int64(q, 0)), allowance, &rc);
		if (!c) {
			db_stmt_reset(q);
			return rc;
		}
		c->reported = true;
		c->used_on_board = u64(sqlite3_column_int64(q, 1));
		c->allowance = u64(sqlite3_column_int64(q, 2));
		c->refusals = u32(sqlite3_column_int64(q, 3));
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->ncrew; i++)
		if ((rc = crew_refusals(db, s, &s->crew[i])) < 0)
			return rc;
	return 0;
}

int ledger_statement(struct db *db, uint32_t vessel, uint32_t period, int64_t now,
		     const struct ledger_price *price, struct statement *s)
{
	int rc;
	memset(s, 0, sizeof *s);
	s->vessel = vessel;
	s->period = period;
	s->zone = LEDGER_ZONE_DEFAULT_S;
	s->issued = now;
	uint64_t allowance = 0;
	sqlite3_stmt *q = query(db, sql_vessel_known, 1, vessel, 0, 0, &rc);
	if (!q)
		return rc;
	if ((rc = db_step(db, q)) < 0)
		return rc;
	bool known = rc == DB_ROW && sqlite3_column_int64(q, 0) > 0;
	if (rc == DB_ROW)
		db_stmt_reset(q);
	if (!known)
		return ERR_NOTFOUND;
	if (!(q = query(db, sql_settings, 1, vessel, 0, 0, &rc)))
		return rc;
	if ((rc = db_step(db, q)) == DB_ROW) {
		int64_t z = sqlite3_column_int64(q, 0);
		if (z >= -RECORD_ZONE_MAX_S && z <= RECORD_ZONE_MAX_S)
			s->zone = (int32_t)z;
		s->hb_interval = u32(sqlite3_column_int64(q, 1));
		allowance = u64(sqlite3_column_int64(q, 2));
		db_stmt_reset(q);
	} else if (rc < 0) {
		return rc;
	}
	if ((rc = ledger_period_bounds(period, s->zone, &s->start, &s->end)) < 0)
		return rc;
	if (now <= s->start)
		return ERR_STATE;
	s->until = now < s->end ? now : s->end;
	if ((rc = availability(db, s)) < 0 || (rc = crew_airtime(db, s, allowance)) < 0 ||
	    (rc = crew_texts(db, s, allowance)) < 0 || (rc = crew_reports(db, s, allowance)) < 0)
		return rc;
	if (price && price->micro_per_mb) {
		memcpy(s->currency, price->currency, sizeof s->currency);
		s->price_micro = price->micro_per_mb;
		s->cost_micro = statement_cost(s->airtime, s->price_micro);
	}
	s->flags = statement_flags(s);
	return 0;
}

/* ---- signing -------------------------------------------------------------------- */

struct ledger_signer {
	uint8_t *sk;                    /* sodium_malloc, DOC_SIGN_SK_BYTES */
	uint8_t pk[DOC_SIGN_PK_BYTES];
	struct ledger_price price;
};

int ledger_signer_new(struct ledger_signer **out, const struct keyfile_secret *key, const char *price)
{
	*out = NULL;
	struct ledger_signer *sg = calloc(1, sizeof *sg);
	if (!sg)
		return ERR_NOMEM;
	int rc = ledger_price_parse(price, &sg->price);
	if (rc < 0) {
		free(sg);
		return rc;
	}
	if (!(sg->sk = sodium_malloc(DOC_SIGN_SK_BYTES))) {
		free(sg);
		return ERR_NOMEM;
	}
	memcpy(sg->sk, key->sign_sk, DOC_SIGN_SK_BYTES);
	memcpy(sg->pk, key->pub.sign_pk, DOC_SIGN_PK_BYTES);
	*out = sg;
	return 0;
}

void ledger_signer_free(struct ledger_signer *sg)
{
	if (!sg)
		return;
	sodium_free(sg->sk);
	free(sg);
}

const struct ledger_price *ledger_signer_price(const struct ledger_signer *sg)
{
	return &sg->price;
}

ssize_t ledger_signer_sign(const struct ledger_signer *sg, const struct statement *s, uint8_t *out,
			   size_t cap)
{
	return statement_doc_sign(s, sg->sk, sg->pk, out, cap);
}
