/*
 * test_quota.c — calendar months in a fixed zone, the allowance check, the
 * refusal text and the warning thresholds.
 *
 * Shows: the month boundary is exact to the second around local midnight
 * in +07:00 and in negative zones, across leap days and year ends; period
 * starts and ends agree with the month of every second next to them; 200,000
 * seeded random timestamps and zones agree with a slow reference that walks
 * the calendar year by year and month by month; the allowance accepts
 * exactly up to its last byte and refuses the next, never overflows, and a
 * month filled with seeded random message sizes never passes the allowance
 * and never refuses a message that fits; the refusal text carries the
 * decision's true figures (bytes, and characters to remove for 3-byte
 * scripts); warnings report the highest threshold crossed.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "vessel/quota.h"

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))
#define H 3600
#define ZONE_BKK (7 * H)
#define MB 1048576u

/* ---- a slow reference calendar ---------------------------------------- */

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t month_days(int64_t y, int64_t m)
{
	static const int64_t len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return len[m - 1] + (m == 2 && leap(y));
}

/* Month of local seconds (>= -12 h): walks from 1969-01-01 a year, then a
 * month, at a time. */
static uint32_t ref_period(int64_t local)
{
	int64_t y = 1969, m = 1;
	int64_t t = -365 * 86400; /* 1969-01-01T00:00 */
	while (t + (leap(y) ? 366 : 365) * 86400 <= local) {
		t += (leap(y) ? 366 : 365) * 86400;
		y++;
	}
	while (t + month_days(y, m) * 86400 <= local) {
		t += month_days(y, m) * 86400;
		m++;
	}
	return (uint32_t)(y * 100 + m);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- months ------------------------------------------------------------ */

struct pvec {
	int64_t ts;
	int32_t zone;
	uint32_t period;
};

static const struct pvec pvecs[] = {
	/* 2026-11-30T16:59:59Z is 23:59:59 on 30 November in +07:00 */
	{1796057999, ZONE_BKK, 202611},
	{1796058000, ZONE_BKK, 202612},
	{1796058001, ZONE_BKK, 202612},
	{1796058000, 0, 202611},
	/* leap day 2028: 29 February exists, then March */
	{1835370000 - 1, ZONE_BKK, 202802},
	{1835370000, ZONE_BKK, 202802},      /* 2028-02-29T00:00 local */
	{1835456399, ZONE_BKK, 202802},      /* 2028-02-29T23:59:59 local */
	{1835456400, ZONE_BKK, 202803},
	{1835456401, ZONE_BKK, 202803},
	/* 2000 was a leap year, 2100 is not */
	{951825600, 0, 200002},
	{4107542400 - 1, 0, 210002},
	{4107542400, 0, 210003},
	/* year end in +07:00 */
	{1798736399, ZONE_BKK, 202612},
	{1798736400, ZONE_BKK, 202701},
	{1798736401, ZONE_BKK, 202701},
	/* negative zones: -03:00 and -09:30 */
	{1798772400 - 1, -3 * H, 202612},
	{1798772400, -3 * H, 202701},
	{1798795800 - 1, -(9 * H + 30 * 60), 202612},
	{1798795800, -(9 * H + 30 * 60), 202701},
	/* Myanmar +06:30 */
	{1798736400 + 30 * 60 - 1, 6 * H + 30 * 60, 202612},
	{1798736400 + 30 * 60, 6 * H + 30 * 60, 202701},
	/* the epoch, west of UTC it is still 1969 */
	{0, 0, 197001},
	{0, -1, 196912},
	{0, QUOTA_ZONE_MIN_S, 196912},
	{0, QUOTA_ZONE_MAX_S, 197001},
	{QUOTA_TS_MAX, QUOTA_ZONE_MAX_S, 999912},
};

static void test_period_vectors(void)
{
	for (size_t i = 0; i < NVEC(pvecs); i++) {
		uint32_t p = 0;
		CU_ASSERT_EQUAL_FATAL(quota_period(pvecs[i].ts, pvecs[i].zone, &p), 0);
		if (p != pvecs[i].period)
			fprintf(stderr, "vector %zu: ts %lld zone %d: got %u want %u\n", i, (long long)pvecs[i].ts,
			        pvecs[i].zone, p, pvecs[i].period);
		CU_ASSERT_EQUAL(p, pvecs[i].period);
	}
}

static void test_period_refusals(void)
{
	uint32_t p = 7;
	int64_t t = 7;
	CU_ASSERT_EQUAL(quota_period(-1, 0, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(QUOTA_TS_MAX + 1, 0, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(INT64_MAX, 0, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(INT64_MIN, 0, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(0, QUOTA_ZONE_MAX_S + 1, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(0, QUOTA_ZONE_MIN_S - 1, &p), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period(0, 0, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(p, 7u);
	static const uint32_t badp[] = {0, 202600, 202613, 196812, 1000001, 99999999, 202699};
	for (size_t i = 0; i < NVEC(badp); i++) {
		CU_ASSERT_EQUAL(quota_period_start(badp[i], 0, &t), ERR_INVAL);
		CU_ASSERT_EQUAL(quota_period_end(badp[i], 0, &t), ERR_INVAL);
	}
	CU_ASSERT_EQUAL(quota_period_start(202601, INT32_MAX, &t), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_period_start(202601, 0, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(t, 7);
	/* the zone range is config's CONFIG_TZ range */
	CU_ASSERT_EQUAL(QUOTA_ZONE_MIN_S, CONFIG_TZ_MIN_S);
	CU_ASSERT_EQUAL(QUOTA_ZONE_MAX_S, CONFIG_TZ_MAX_S);
}

static void test_period_bounds(void)
{
	int64_t s, e;
	CU_ASSERT_EQUAL_FATAL(quota_period_start(202612, ZONE_BKK, &s), 0);
	CU_ASSERT_EQUAL_FATAL(quota_period_end(202612, ZONE_BKK, &e), 0);
	CU_ASSERT_EQUAL(s, 1796058000);        /* 2026-11-30T17:00:00Z */
	CU_ASSERT_EQUAL(e, 1798736400);        /* 2026-12-31T17:00:00Z */
	CU_ASSERT_EQUAL_FATAL(quota_period_end(202802, ZONE_BKK, &e), 0);
	CU_ASSERT_EQUAL(e, 1835456400);        /* after 29 February 2028 */
	CU_ASSERT_EQUAL_FATAL(quota_period_start(202802, ZONE_BKK, &s), 0);
	CU_ASSERT_EQUAL(e - s, 29 * 86400);
	CU_ASSERT_EQUAL_FATAL(quota_period_start(197001, 0, &s), 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL_FATAL(quota_period_start(196912, 0, &s), 0);
	CU_ASSERT_EQUAL(s, -31 * 86400);
	CU_ASSERT_EQUAL(quota_period_next(202612), 202701u);
	CU_ASSERT_EQUAL(quota_period_next(202611), 202612u);
	CU_ASSERT_EQUAL(quota_period_next(202701), 202702u);

	/* every month from 1970 to 2100 in three zones: start/end exact to the
	 * second, and consecutive */
	static const int32_t zones[] = {ZONE_BKK, -(9 * H + 30 * 60), 0};
	for (size_t z = 0; z < NVEC(zones); z++) {
		int64_t prev_end = 0;
		bool first = true;
		for (uint32_t p = 197002; p <= 210012; p = quota_period_next(p)) {
			uint32_t q;
			CU_ASSERT_EQUAL_FATAL(quota_period_start(p, zones[z], &s), 0);
			CU_ASSERT_EQUAL_FATAL(quota_period_end(p, zones[z], &e), 0);
			if (!first)
				CU_ASSERT_EQUAL(s, prev_end);
			first = false;
			prev_end = e;
			CU_ASSERT_EQUAL_FATAL(quota_period(s, zones[z], &q), 0);
			CU_ASSERT_EQUAL(q, p);
			CU_ASSERT_EQUAL_FATAL(quota_period(s - 1, zones[z], &q), 0);
			CU_ASSERT_NOT_EQUAL(q, p);
			CU_ASSERT_EQUAL_FATAL(quota_period(e - 1, zones[z], &q), 0);
			CU_ASSERT_EQUAL(q, p);
			CU_ASSERT_EQUAL_FATAL(quota_period(e, zones[z], &q), 0);
			CU_ASSERT_EQUAL(q, quota_period_next(p));
			int64_t days = (e - s) / 86400;
			CU_ASSERT_EQUAL((e - s) % 86400, 0);
			CU_ASSERT_EQUAL(days, month_days(p / 100, p % 100));
		}
	}
}

static void test_period_random(void)
{
	rng_state = 0x9e3779b97f4a7c15u;
	int64_t span = QUOTA_TS_MAX + 1;
	for (int i = 0; i < 200000; i++) {
		/* one in ten across the whole range, the rest within 2020..2040 */
		int64_t ts = (i % 10 == 0) ? (int64_t)(rng() % (uint64_t)span)
		                     : 1577836800 + (int64_t)(rng() % (20u * 366u * 86400u));
		int32_t zone = (int32_t)(rng() % (uint64_t)(QUOTA_ZONE_MAX_S - QUOTA_ZONE_MIN_S + 1)) + QUOTA_ZONE_MIN_S;
		if (i % 4 == 1)
			zone = (int32_t)((zone / 900) * 900); /* real zones are quarter hours */
		uint32_t p, want = ref_period(ts + zone);
		CU_ASSERT_EQUAL_FATAL(quota_period(ts, zone, &p), 0);
		if (p != want) {
			fprintf(stderr, "ts %lld zone %d: got %u want %u\n", (long long)ts, zone, p, want);
			CU_FAIL_FATAL("period differs from the reference");
		}
		int64_t s, e;
		CU_ASSERT_EQUAL_FATAL(quota_period_start(p, zone, &s), 0);
		CU_ASSERT_EQUAL_FATAL(quota_period_end(p, zone, &e), 0);
		CU_ASSERT_FATAL(s <= ts && ts < e);
		CU_ASSERT_EQUAL(ref_period(s + zone), p);
		CU_ASSERT_NOT_EQUAL(ref_period(s - 1 + zone), p);
		CU_ASSERT_EQUAL(ref_period(e + zone), quota_period_next(p));
	}
}

/* ---- the allowance ----------------------------------------------------- */

static const uint8_t burmese3[] = "\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba"; /* 3 chars, 9 bytes */

static void test_check_edges(void)
{
	struct quota_decision d;
	uint8_t text[200];
	memset(text, 'a', sizeof text);
	const int64_t ts = 1796058000 - 1; /* last second of November 2026 in +07:00 */

	/* exactly at the allowance: accepted */
	CU_ASSERT_EQUAL(quota_check(MB - 100, MB, text, 100, ts, ZONE_BKK, &d), 0);
	CU_ASSERT_TRUE(d.allowed);
	CU_ASSERT_EQUAL(d.remaining, 100u);
	CU_ASSERT_EQUAL(d.period, 202611u);
	CU_ASSERT_EQUAL(d.reset_period, 202612u);
	CU_ASSERT_EQUAL(d.reset_at, 1796058000);
	/* one byte more: refused */
	CU_ASSERT_EQUAL(quota_check(MB - 100, MB, text, 101, ts, ZONE_BKK, &d), ERR_QUOTA);
	CU_ASSERT_FALSE(d.allowed);
	CU_ASSERT_EQUAL(d.over_bytes, 1u);
	CU_ASSERT_EQUAL(d.cut_chars, 1u);
	CU_ASSERT_EQUAL(d.used, MB - 100);
	CU_ASSERT_EQUAL(d.allowance, MB);
	/* used exactly the allowance: only an empty text fits */
	CU_ASSERT_EQUAL(quota_check(MB, MB, text, 1, ts, ZONE_BKK, &d), ERR_QUOTA);
	CU_ASSERT_EQUAL(d.remaining, 0u);
	CU_ASSERT_EQUAL(quota_check(MB, MB, NULL, 0, ts, ZONE_BKK, &d), 0);
	/* used over the allowance (allowance lowered): no underflow */
	CU_ASSERT_EQUAL(quota_check(MB + 5000, MB, text, 1, ts, ZONE_BKK, &d), ERR_QUOTA);
	CU_ASSERT_EQUAL(d.remaining, 0u);
	CU_ASSERT_EQUAL(d.over_bytes, 1u);
	/* huge used: the sum is never formed */
	CU_ASSERT_EQUAL(quota_check(UINT64_MAX, MB, text, 1, ts, ZONE_BKK, &d), ERR_QUOTA);
	CU_ASSERT_EQUAL(quota_check(UINT64_MAX - 1, QUOTA_ALLOWANCE_MAX_BYTES, text, 200, ts, ZONE_BKK, &d), ERR_QUOTA);
	/* 3-byte characters: 9 bytes, 3 characters; 5 bytes left fit 1 char */
	CU_ASSERT_EQUAL(quota_check(MB - 5, MB, burmese3, 9, ts, ZONE_BKK, &d), ERR_QUOTA);
	CU_ASSERT_EQUAL(d.text_bytes, 9u);
	CU_ASSERT_EQUAL(d.text_chars, 3u);
	CU_ASSERT_EQUAL(d.over_bytes, 4u);
	CU_ASSERT_EQUAL(d.cut_chars, 2u);
	CU_ASSERT_EQUAL(quota_check(MB - 9, MB, burmese3, 9, ts, ZONE_BKK, &d), 0);
	/* refusals of bad input leave d untouched */
	memset(&d, 0x5a, sizeof d);
	struct quota_decision before = d;
	static const uint8_t bad_utf8[][4] = {{0xc0, 0x80}, {0xe1, 0x80}, {0xed, 0xa0, 0x80}, {0xff}};
	static const size_t bad_len[] = {2, 2, 3, 1};
	for (size_t i = 0; i < NVEC(bad_len); i++)
		CU_ASSERT_EQUAL(quota_check(0, MB, bad_utf8[i], bad_len[i], ts, ZONE_BKK, &d), ERR_UTF8);
	CU_ASSERT_EQUAL(quota_check(0, QUOTA_ALLOWANCE_MAX_BYTES + 1, text, 1, ts, ZONE_BKK, &d), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_check(0, MB, NULL, 1, ts, ZONE_BKK, &d), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_check(0, MB, text, 1, -5, ZONE_BKK, &d), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_check(0, MB, text, 1, ts, 15 * H, &d), ERR_INVAL);
	CU_ASSERT_EQUAL(memcmp(&d, &before, sizeof d), 0);
	CU_ASSERT_EQUAL(quota_check(0, MB, text, 1, ts, ZONE_BKK, NULL), ERR_INVAL);
	/* the month boundary decides which ledger a text goes to */
	CU_ASSERT_EQUAL(quota_check(0, MB, text, 1, ts + 1, ZONE_BKK, &d), 0);
	CU_ASSERT_EQUAL(d.period, 202612u);
	CU_ASSERT_EQUAL(d.reset_period, 202701u);
	CU_ASSERT_EQUAL(d.reset_at, 1798736400);
}

static void test_class_counts(void)
{
	CU_ASSERT_TRUE(quota_class_counts(SCHED_TEXT));
	CU_ASSERT_FALSE(quota_class_counts(SCHED_SOS));
	CU_ASSERT_FALSE(quota_class_counts(SCHED_COMPLAINT));
	CU_ASSERT_FALSE(quota_class_counts(SCHED_CONTROL));
}

/* A month of seeded random messages against a 1 MiB allowance, with the
 * ledger starting again at each month boundary. */
static void test_fill_month(void)
{
	static uint8_t text[4096];
	memset(text, 'x', sizeof text);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		rng_state = seed * 0x2545f4914f6cdd1du;
		uint64_t used = 0;
		size_t refused = 0, accepted = 0;
		uint32_t period = 202611;
		int64_t ts = 1793552400; /* 2026-11-01T00:00 in +07:00 */
		while (refused < 50) {
			size_t len = (size_t)(rng() % sizeof text) + 1;
			ts += (int64_t)(rng() % 600);
			struct quota_decision d;
			int r = quota_check(used, MB, text, len, ts, ZONE_BKK, &d);
			CU_ASSERT_FATAL(r == 0 || r == ERR_QUOTA);
			if (d.period != period) {
				CU_ASSERT_EQUAL(d.period, 202612u); /* a new month: a new ledger */
				break;
			}
			if (used + len <= MB) {
				CU_ASSERT_EQUAL_FATAL(r, 0); /* never refused below */
				used += len;
				accepted++;
			} else {
				CU_ASSERT_EQUAL_FATAL(r, ERR_QUOTA);
				CU_ASSERT_EQUAL(d.over_bytes, used + len - MB);
				refused++;
			}
			CU_ASSERT_FATAL(used <= MB);
		}
		CU_ASSERT(accepted > 400);
		CU_ASSERT(used > MB - 4096 || refused < 50);
	}
}

/* ---- the text the crew member reads ------------------------------------ */

static void test_describe(void)
{
	struct quota_decision d;
	char buf[QUOTA_DESCRIBE_MAX_BYTES];
	uint8_t text[196];
	memset(text, 'a', sizeof text);
	const int64_t ts = 1795000000; /* November 2026 */

	CU_ASSERT_EQUAL(quota_check(1048500, MB, text, 196, ts, ZONE_BKK, &d), ERR_QUOTA);
	ssize_t n = quota_describe(&d, "en", buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_STRING_EQUAL(buf,
	        "Not sent: this message is 120 bytes too long for what is left of your allowance this month. "
	        "Remove the last 120 characters to send it. You have used 1,048,500 of 1,048,576 bytes. "
	        "It starts again on 1 December 2026 at 00:00 (UTC+07:00). Complaints and SOS are always free.");

	/* Burmese: 3 bytes a character, so fewer characters to remove */
	uint8_t my[90];
	for (size_t i = 0; i < sizeof my; i += 3)
		memcpy(my + i, "\xe1\x80\x99", 3);
	CU_ASSERT_EQUAL(quota_check(MB - 30, MB, my, sizeof my, ts, -(3 * H + 30 * 60), &d), ERR_QUOTA);
	n = quota_describe(&d, "my", buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_STRING_EQUAL(buf,
	        "Not sent: this message is 60 bytes too long for what is left of your allowance this month. "
	        "Remove the last 20 characters to send it. You have used 1,048,546 of 1,048,576 bytes. "
	        "It starts again on 1 December 2026 at 00:00 (UTC-03:30). Complaints and SOS are always free.");

	/* nothing left */
	CU_ASSERT_EQUAL(quota_check(MB, MB, text, 1, 1798736400, ZONE_BKK, &d), ERR_QUOTA);
	n = quota_describe(&d, NULL, buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_STRING_EQUAL(buf,
	        "Not sent: you have used all of your allowance this month. You have used 1,048,576 of 1,048,576 bytes. "
	        "It starts again on 1 February 2027 at 00:00 (UTC+07:00). Complaints and SOS are always free.");

	/* 1 byte left, a 3-byte character does not fit in it */
	CU_ASSERT_EQUAL(quota_check(MB - 1, MB, my, 3, ts, ZONE_BKK, &d), ERR_QUOTA);
	n = quota_describe(&d, "en", buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "this message is 2 bytes too long"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " Only 1 byte is left. "));

	/* accepted */
	CU_ASSERT_EQUAL(quota_check(1000, MB, text, 1, ts, 0, &d), 0);
	n = quota_describe(&d, "en", buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_STRING_EQUAL(buf,
	        "This message uses 1 byte. You have used 1,001 of 1,048,576 bytes this month; 1,047,575 are left. "
	        "It starts again on 1 December 2026 at 00:00 (UTC+00:00).");

	/* too small a buffer: ERR_FULL, terminated, never past cap */
	char small[40];
	memset(small, '#', sizeof small);
	CU_ASSERT_EQUAL(quota_describe(&d, "en", small, 20), ERR_FULL);
	CU_ASSERT_EQUAL(strlen(small), 19u);
	CU_ASSERT_EQUAL(small[20], '#');
	CU_ASSERT_EQUAL(quota_describe(&d, "en", small, 0), ERR_FULL);
	CU_ASSERT_EQUAL(quota_describe(NULL, "en", small, sizeof small), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_describe(&d, "en", NULL, 10), ERR_INVAL);

	/* the largest figures still fit QUOTA_DESCRIBE_MAX_BYTES */
	CU_ASSERT_EQUAL(quota_check(UINT64_MAX, QUOTA_ALLOWANCE_MAX_BYTES, text, 196, QUOTA_TS_MAX, QUOTA_ZONE_MIN_S, &d),
	                ERR_QUOTA);
	CU_ASSERT(quota_describe(&d, "en", buf, sizeof buf) > 0);
	CU_ASSERT_EQUAL(quota_check(0, QUOTA_ALLOWANCE_MAX_BYTES, text, 196, QUOTA_TS_MAX, QUOTA_ZONE_MAX_S, &d), 0);
	CU_ASSERT(quota_describe(&d, "en", buf, sizeof buf) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " 1,099,511,627,580 are left. It starts again on 1 January 10000 at 00:00 (UTC+14:00)."));
	CU_ASSERT_EQUAL(quota_check(QUOTA_ALLOWANCE_MAX_BYTES - 1, QUOTA_ALLOWANCE_MAX_BYTES, text, 196, 0, 0, &d),
	                ERR_QUOTA);
	CU_ASSERT(quota_describe(&d, "en", buf, sizeof buf) > 0);
}

/* ---- warnings ---------------------------------------------------------- */

static void test_warning(void)
{
	static const uint32_t th[] = {80, 95};
	static const uint32_t th_rev[] = {95, 80};
	const uint64_t at80 = (MB * 80 + 99) / 100; /* 838861 */
	const uint64_t at95 = (MB * 95 + 99) / 100; /* 996148 */
	CU_ASSERT_EQUAL(at80, 838861u);
	CU_ASSERT_EQUAL(quota_warning(0, 100, MB, th, 2), 0);
	CU_ASSERT_EQUAL(quota_warning(at80 - 2, at80 - 1, MB, th, 2), 0);
	CU_ASSERT_EQUAL(quota_warning(at80 - 1, at80, MB, th, 2), 80);
	CU_ASSERT_EQUAL(quota_warning(at80, at80 + 1, MB, th, 2), 0); /* already past */
	CU_ASSERT_EQUAL(quota_warning(at95 - 1, at95, MB, th, 2), 95);
	CU_ASSERT_EQUAL(quota_warning(0, MB, MB, th, 2), 95);         /* both at once */
	CU_ASSERT_EQUAL(quota_warning(0, MB, MB, th_rev, 2), 95);
	CU_ASSERT_EQUAL(quota_warning(5, 5, MB, th, 2), 0);
	CU_ASSERT_EQUAL(quota_warning(0, 100, MB, NULL, 0), 0);
	static const uint32_t full[] = {100};
	CU_ASSERT_EQUAL(quota_warning(MB - 1, MB, MB, full, 1), 100);
	CU_ASSERT_EQUAL(quota_warning(MB - 2, MB - 1, MB, full, 1), 0);
	static const uint32_t bad0[] = {0}, bad101[] = {101};
	CU_ASSERT_EQUAL(quota_warning(0, 1, MB, bad0, 1), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_warning(0, 1, MB, bad101, 1), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_warning(2, 1, MB, th, 2), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_warning(0, 1, 0, th, 2), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_warning(0, 1, QUOTA_ALLOWANCE_MAX_BYTES + 1, th, 2), ERR_INVAL);
	CU_ASSERT_EQUAL(quota_warning(0, 1, MB, NULL, 2), ERR_INVAL);
	/* small allowance: rounding up, 80% of 10 bytes is 8 bytes */
	CU_ASSERT_EQUAL(quota_warning(7, 8, 10, th, 2), 80);
	CU_ASSERT_EQUAL(quota_warning(9, 10, 10, th, 2), 95);
}

void suite_quota(void);
void suite_quota(void)
{
	CU_pSuite s = CU_add_suite("quota", NULL, NULL);
	CU_add_test(s, "month vectors around local midnight", test_period_vectors);
	CU_add_test(s, "month refusals", test_period_refusals);
	CU_add_test(s, "month starts and ends 1970-2100", test_period_bounds);
	CU_add_test(s, "200k random times vs reference", test_period_random);
	CU_add_test(s, "allowance edges", test_check_edges);
	CU_add_test(s, "only texts count", test_class_counts);
	CU_add_test(s, "a month filled at random", test_fill_month);
	CU_add_test(s, "refusal and status texts", test_describe);
	CU_add_test(s, "warning thresholds", test_warning);
}
