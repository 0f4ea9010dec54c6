/*
 * quota.c — calendar months in a fixed zone, the allowance check, the
 * refusal text and warning thresholds (see quota.h).
 *
 * Invariants: dates come from integer days-from-civil arithmetic (Howard
 * Hinnant's algorithms, exact for the proleptic Gregorian calendar), never
 * from the C library's time zone; a text is accepted exactly when
 * used + text_len <= allowance, decided without forming the sum; every
 * figure in a message is the figure in the decision.
 *
 * Failure behaviour: out-of-range arguments return ERR_INVAL and invalid
 * UTF-8 ERR_UTF8 before any output is written; quota_describe() never
 * writes past cap and always terminates what it wrote.  No state, no clock,
 * no allocation, no I/O.
 */
#include "vessel/quota.h"

#include <string.h>

#include "proto/script.h"

#define SECONDS_PER_DAY INT64_C(86400)
#define SECONDS_PER_HOUR 3600
#define SECONDS_PER_MINUTE 60
#define MONTHS_PER_YEAR 12u
#define PERIOD_YEAR_FACTOR 100u       /* YYYYMM = year * 100 + month */
/* Hinnant's constants: days from 0000-03-01 to 1970-01-01, days in a
 * 400-year era, and the month lengths of a March-based year folded into
 * (153 * m + 2) / 5. */
#define DAYS_0000_03_01_TO_EPOCH INT64_C(719468)
#define DAYS_PER_ERA INT64_C(146097)
#define YEARS_PER_ERA INT64_C(400)
#define DAYS_PER_YEAR INT64_C(365)
#define MARCH_MONTHS_NUM INT64_C(153)
#define MARCH_MONTHS_DEN INT64_C(5)
#define NUM_TEXT_MAX_BYTES 32u        /* "18,446,744,073,709,551,615" + NUL */
#define PERCENT 100u

static const char *const month_name[MONTHS_PER_YEAR] = {
	"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December",
};

/* Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - (YEARS_PER_ERA - 1)) / YEARS_PER_ERA;
	int64_t yoe = y - era * YEARS_PER_ERA;
	int64_t doy = (MARCH_MONTHS_NUM * (m > 2 ? m - 3 : m + 9) + 2) / MARCH_MONTHS_DEN + d - 1;
	int64_t doe = yoe * DAYS_PER_YEAR + yoe / 4 - yoe / 100 + doy;
	return era * DAYS_PER_ERA + doe - DAYS_0000_03_01_TO_EPOCH;
}

/* The civil year and month of day z (days since 1970-01-01). */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m)
{
	z += DAYS_0000_03_01_TO_EPOCH;
	int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
	int64_t doe = z - era * DAYS_PER_ERA;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / (DAYS_PER_ERA - 1)) / DAYS_PER_YEAR;
	int64_t doy = doe - (DAYS_PER_YEAR * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (MARCH_MONTHS_DEN * doy + 2) / MARCH_MONTHS_NUM;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * YEARS_PER_ERA + (*m <= 2);
}

static bool zone_ok(int32_t zone)
{
	return zone >= QUOTA_ZONE_MIN_S && zone <= QUOTA_ZONE_MAX_S;
}

static bool period_ok(uint32_t period)
{
	uint32_t m = period % PERIOD_YEAR_FACTOR;
	return period >= QUOTA_PERIOD_MIN && period <= QUOTA_PERIOD_MAX && m >= 1u && m <= MONTHS_PER_YEAR;
}

int quota_period(int64_t ts, int32_t zone, uint32_t *period)
{
	if (!period || !zone_ok(zone) || ts < QUOTA_TS_MIN || ts > QUOTA_TS_MAX)
		return ERR_INVAL;
	int64_t local = ts + zone;
	/* Floor division: local is negative just after the epoch west of UTC. */
	int64_t day = local >= 0 ? local / SECONDS_PER_DAY : -((-local + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
	int64_t y, m;
	civil_from_days(day, &y, &m);
	*period = (uint32_t)(y * PERIOD_YEAR_FACTOR + m);
	return 0;
}

uint32_t quota_period_next(uint32_t period)
{
	uint32_t y = period / PERIOD_YEAR_FACTOR, m = period % PERIOD_YEAR_FACTOR;
	if (m >= MONTHS_PER_YEAR)
		return (y + 1u) * PERIOD_YEAR_FACTOR + 1u;
	return y * PERIOD_YEAR_FACTOR + m + 1u;
}

/* Local midnight starting day 1 of the month y-m, in Unix seconds. */
static int64_t month_start(uint32_t period, int32_t zone)
{
	int64_t y = (int64_t)(period / PERIOD_YEAR_FACTOR), m = (int64_t)(period % PERIOD_YEAR_FACTOR);
	return days_from_civil(y, m, 1) * SECONDS_PER_DAY - zone;
}

int quota_period_start(uint32_t period, int32_t zone, int64_t *start)
{
	if (!start || !period_ok(period) || !zone_ok(zone))
		return ERR_INVAL;
	*start = month_start(period, zone);
	return 0;
}

int quota_period_end(uint32_t period, int32_t zone, int64_t *end)
{
	if (!end || !period_ok(period) || !zone_ok(zone))
		return ERR_INVAL;
	*end = month_start(quota_period_next(period), zone);
	return 0;
}

bool quota_class_counts(enum sched_class cls)
{
	return cls == SCHED_TEXT;
}

int quota_check(uint64_t used_bytes, uint64_t allowance_bytes, const uint8_t *text, size_t text_len,
                int64_t ts, int32_t zone, struct quota_decision *d)
{
	uint32_t period;
	if (!d || (text_len > 0 && !text) || allowance_bytes > QUOTA_ALLOWANCE_MAX_BYTES)
		return ERR_INVAL;
	if (quota_period(ts, zone, &period) != 0)
		return ERR_INVAL;

	uint64_t remaining = used_bytes < allowance_bytes ? allowance_bytes - used_bytes : 0;
	/* Count characters, and how many whole leading characters fit. */
	uint64_t chars = 0, fit_chars = 0;
	size_t off = 0;
	while (off < text_len) {
		uint32_t cp;
		size_t len;
		if (script_utf8_next(text + off, text_len - off, &cp, &len) != 0)
			return ERR_UTF8;
		off += len;
		chars++;
		if (off <= remaining)
			fit_chars++;
	}

	memset(d, 0, sizeof *d);
	d->allowed = text_len <= remaining;
	d->allowance = allowance_bytes;
	d->used = used_bytes;
	d->remaining = remaining;
	d->text_bytes = text_len;
	d->text_chars = chars;
	d->over_bytes = d->allowed ? 0 : text_len - remaining;
	d->cut_chars = d->allowed ? 0 : chars - fit_chars;
	d->period = period;
	d->reset_period = quota_period_next(period);
	d->reset_at = month_start(d->reset_period, zone);
	d->zone = zone;
	return d->allowed ? 0 : ERR_QUOTA;
}

/* Writes v in decimal into out, with thousands separators ("1,048,576")
 * when sep is set. */
static void fmt_num(uint64_t v, bool sep, char out[NUM_TEXT_MAX_BYTES])
{
	char rev[NUM_TEXT_MAX_BYTES];
	size_t n = 0, digits = 0;
	do {
		if (sep && digits > 0 && digits % 3u == 0)
			rev[n++] = ',';
		rev[n++] = (char)('0' + (int)(v % 10u));
		v /= 10u;
		digits++;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1u - i];
	out[n] = '\0';
}

/* A bounded string builder: remembers whether anything did not fit; the
 * text stays NUL-terminated (cap > 0) and never passes cap. */
struct sb {
	char *buf;
	size_t cap;
	size_t len;
	bool full;
};

static void sb_add(struct sb *b, const char *str)
{
	for (; *str != '\0'; str++) {
		if (b->full || b->len + 1u >= b->cap) {
			b->full = true;
			break;
		}
		b->buf[b->len++] = *str;
	}
	b->buf[b->len] = '\0';
}

/* Appends v with thousands separators. */
static void sb_num(struct sb *b, uint64_t v)
{
	char s[NUM_TEXT_MAX_BYTES];
	fmt_num(v, true, s);
	sb_add(b, s);
}

/* Appends v (0..99) as two digits. */
static void sb_two(struct sb *b, uint32_t v)
{
	char s[3] = {(char)('0' + (int)(v / 10u % 10u)), (char)('0' + (int)(v % 10u)), '\0'};
	sb_add(b, s);
}

static const char *plural(uint64_t v, const char *one, const char *many)
{
	return v == 1u ? one : many;
}

/* " It starts again on 1 December 2026 at 00:00 (UTC+07:00)." */
static void add_reset(struct sb *b, const struct quota_decision *d)
{
	uint32_t m = d->reset_period % PERIOD_YEAR_FACTOR;
	uint32_t y = d->reset_period / PERIOD_YEAR_FACTOR;
	int32_t z = d->zone;
	uint32_t az = z < 0 ? (uint32_t)-(int64_t)z : (uint32_t)z;
	if (az > (uint32_t)QUOTA_ZONE_MAX_S)
		az = (uint32_t)QUOTA_ZONE_MAX_S; /* d is the caller's: keep the text sane */
	char year[NUM_TEXT_MAX_BYTES];
	fmt_num(y, false, year);
	sb_add(b, " It starts again on 1 ");
	sb_add(b, (m >= 1u && m <= MONTHS_PER_YEAR) ? month_name[m - 1u] : "?");
	sb_add(b, " ");
	sb_add(b, year);
	sb_add(b, " at 00:00 (UTC");
	sb_add(b, z < 0 ? "-" : "+");
	sb_two(b, az / SECONDS_PER_HOUR);
	sb_add(b, ":");
	sb_two(b, az % SECONDS_PER_HOUR / SECONDS_PER_MINUTE);
	sb_add(b, ").");
}

ssize_t quota_describe(const struct quota_decision *d, const char *lang, char *buf, size_t cap)
{
	if (!d || !buf)
		return ERR_INVAL;
	if (cap == 0)
		return ERR_FULL;
	(void)lang; /* English only for now: every language falls back to it */
	buf[0] = '\0';
	struct sb b = {.buf = buf, .cap = cap, .len = 0, .full = false};

	if (d->allowed) {
		uint64_t left = d->remaining - d->text_bytes;
		sb_add(&b, "This message uses ");
		sb_num(&b, d->text_bytes);
		sb_add(&b, plural(d->text_bytes, " byte. You have used ", " bytes. You have used "));
		sb_num(&b, d->used + d->text_bytes);
		sb_add(&b, " of ");
		sb_num(&b, d->allowance);
		sb_add(&b, " bytes this month; ");
		sb_num(&b, left);
		sb_add(&b, plural(left, " is left.", " are left."));
		add_reset(&b, d);
		return b.full ? ERR_FULL : (ssize_t)b.len;
	}
	if (d->remaining == 0) {
		sb_add(&b, "Not sent: you have used all of your allowance this month.");
	} else {
		sb_add(&b, "Not sent: this message is ");
		sb_num(&b, d->over_bytes);
		sb_add(&b, plural(d->over_bytes, " byte", " bytes"));
		sb_add(&b, " too long for what is left of your allowance this month.");
		if (d->cut_chars < d->text_chars) {
			sb_add(&b, " Remove the last ");
			sb_num(&b, d->cut_chars);
			sb_add(&b, plural(d->cut_chars, " character", " characters"));
			sb_add(&b, " to send it.");
		} else {
			sb_add(&b, " Only ");
			sb_num(&b, d->remaining);
			sb_add(&b, plural(d->remaining, " byte is left.", " bytes are left."));
		}
	}
	sb_add(&b, " You have used ");
	sb_num(&b, d->used);
	sb_add(&b, " of ");
	sb_num(&b, d->allowance);
	sb_add(&b, " bytes.");
	add_reset(&b, d);
	sb_add(&b, " Complaints and SOS are always free.");
	return b.full ? ERR_FULL : (ssize_t)b.len;
}

int quota_warning(uint64_t used_before, uint64_t used_after, uint64_t allowance_bytes, const uint32_t *thresholds,
                  size_t n)
{
	if ((n > 0 && !thresholds) || used_after < used_before || allowance_bytes == 0 ||
	    allowance_bytes > QUOTA_ALLOWANCE_MAX_BYTES)
		return ERR_INVAL;
	uint32_t best = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t t = thresholds[i];
		if (t == 0 || t > QUOTA_PERCENT_MAX)
			return ERR_INVAL;
		uint64_t limit = (allowance_bytes * t + PERCENT - 1u) / PERCENT;
		if (used_before < limit && limit <= used_after && t > best)
			best = t;
	}
	return (int)best;
}
