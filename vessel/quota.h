/*
 * quota.h — the monthly text allowance of each crew member (pure logic).
 *
 * The law (Thai Ministerial Regulation on Labour Protection in Sea Fishing
 * Work (No. 2) B.E. 2561) gives each crew member at least 1 MB of text per
 * month.  Lifeline counts the UTF-8 bytes of the message text a crew member
 * submits, per calendar month in one configured time zone, and refuses a
 * text that would take the month's total past the allowance.  Compression
 * and the script transform shrink what goes on air, never what is counted.
 * Complaints, SOS and control traffic never count (quota_class_counts()).
 *
 * Time zone: a fixed offset from UTC in seconds (config key type CONFIG_TZ,
 * e.g. +07:00).  Thailand, Myanmar (+06:30), Cambodia and Laos keep no
 * daylight-saving time, so a fixed offset is exact there all year.  Months
 * are computed with days-from-civil arithmetic on the proleptic Gregorian
 * calendar, never with gmtime()/mktime(), whose answer depends on the
 * process's TZ variable.  Leap seconds do not exist in Unix time and do
 * not exist here.
 *
 * A period is a calendar month written as the number YYYYMM (202612 is
 * December 2026).  Timestamps are Unix seconds (int64_t).  Nothing here
 * reads a clock, keeps state, allocates or does I/O: the daemon passes the
 * time and the bytes already used this period (from its ledger, which is
 * keyed by period, so a restart changes nothing).
 */
#ifndef LIFELINE_VESSEL_QUOTA_H
#define LIFELINE_VESSEL_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "vessel/sched.h"

/* The law's 1 MB read generously: 2^20 bytes (the decimal reading is 10^6). */
#define QUOTA_ALLOWANCE_DEFAULT_BYTES 1048576u
/* Largest allowance accepted (1 TiB): keeps every product below 2^63. */
#define QUOTA_ALLOWANCE_MAX_BYTES ((uint64_t)1 << 40)
/* Zone offsets accepted: the same range as config.h's CONFIG_TZ. */
#define QUOTA_ZONE_MIN_S (-12 * 3600)
#define QUOTA_ZONE_MAX_S (14 * 3600)
/* Timestamps accepted: 1970-01-01T00:00:00Z up to 9999-12-31T23:59:59Z
 * minus the largest offset, so that every local date has a 4-digit year. */
#define QUOTA_TS_MIN 0
#define QUOTA_TS_MAX (INT64_C(253402300799) - QUOTA_ZONE_MAX_S)
/* Periods accepted by quota_period_start/end (local years 1969..9999). */
#define QUOTA_PERIOD_MIN 196901u
#define QUOTA_PERIOD_MAX 999912u
/* Default warning thresholds, in percent of the allowance. */
#define QUOTA_WARN_FIRST_PERCENT 80u
#define QUOTA_WARN_SECOND_PERCENT 95u
#define QUOTA_PERCENT_MAX 100u
/* Room that quota_describe() needs at most for any decision, with NUL. */
#define QUOTA_DESCRIBE_MAX_BYTES 512u

/* The outcome of quota_check(): every figure the crew member is told. */
struct quota_decision {
	bool allowed;          /* used + text_bytes <= allowance */
	uint64_t allowance;    /* bytes allowed this period */
	uint64_t used;         /* bytes used before this message */
	uint64_t remaining;    /* allowance - used, or 0 when used >= allowance */
	uint64_t text_bytes;   /* UTF-8 bytes of this message (what is counted) */
	uint64_t text_chars;   /* Unicode characters of this message */
	uint64_t over_bytes;   /* refused: used + text_bytes - allowance; else 0 */
	uint64_t cut_chars;    /* refused: characters to remove from the end so
	                        * that the rest fits; else 0 */
	uint32_t period;       /* YYYYMM of ts in the zone */
	uint32_t reset_period; /* YYYYMM of the next month */
	int64_t reset_at;      /* Unix seconds when the next month starts */
	int32_t zone;          /* seconds east of UTC, as given */
};

/*
 * The calendar month holding Unix time ts in the zone (seconds east of
 * UTC), as YYYYMM in *period.  Returns 0, or ERR_INVAL when ts is outside
 * [QUOTA_TS_MIN, QUOTA_TS_MAX] or zone outside [QUOTA_ZONE_MIN_S,
 * QUOTA_ZONE_MAX_S] (*period untouched).
 */
int quota_period(int64_t ts, int32_t zone, uint32_t *period) LL_MUST_CHECK;

/*
 * The first instant (Unix seconds) of the month period (YYYYMM) in the
 * zone: local 00:00:00 on day 1.  Returns 0, or ERR_INVAL for a period that
 * is not a month in [QUOTA_PERIOD_MIN, QUOTA_PERIOD_MAX] or a bad zone.
 */
int quota_period_start(uint32_t period, int32_t zone, int64_t *start) LL_MUST_CHECK;

/*
 * The first instant of the month after period: the period holds exactly
 * the times start <= t < end.  Same returns as quota_period_start().
 */
int quota_period_end(uint32_t period, int32_t zone, int64_t *end) LL_MUST_CHECK;

/* The month after period (202612 -> 202701); period must be valid. */
uint32_t quota_period_next(uint32_t period);

/*
 * Whether a message of this class counts against the allowance: only
 * SCHED_TEXT (a crew member's text to family) does.  SOS, complaints and
 * control traffic never count (DESIGN invariant 5).
 */
bool quota_class_counts(enum sched_class cls);

/*
 * Decides whether a text of text_len bytes (UTF-8, not NUL-terminated, owned
 * by the caller; may be NULL when text_len is 0) may be accepted from a crew
 * member who has used used_bytes of allowance_bytes in the period holding
 * ts.  Accepted exactly when used_bytes + text_len <= allowance_bytes (the
 * sum is never formed, so it cannot overflow).  Fills *d in both cases.
 * Returns 0 (allowed), ERR_QUOTA (refused; *d says by how much and when it
 * resets), ERR_UTF8 (text is not valid UTF-8; *d untouched) or ERR_INVAL
 * (allowance over QUOTA_ALLOWANCE_MAX_BYTES, bad ts or zone; *d untouched).
 * used_bytes may exceed the allowance (an allowance lowered mid-month).
 */
int quota_check(uint64_t used_bytes, uint64_t allowance_bytes, const uint8_t *text, size_t text_len,
                int64_t ts, int32_t zone, struct quota_decision *d) LL_MUST_CHECK;

/*
 * Writes a short plain sentence for the crew member about decision d into
 * buf[0..cap) (NUL-terminated), e.g. for a refusal:
 *   "Not sent: this message is 120 bytes too long for what is left of your
 *   allowance this month. Remove the last 40 characters to send it. You have
 *   used 1,048,500 of 1,048,576 bytes. It starts again on 1 December 2026
 *   at 00:00 (UTC+07:00). Complaints and SOS are always free."
 * and for an accepted message the figures after it ("This message uses 54
 * bytes. You have used ... of ... bytes this month; ... are left. It starts
 * again on ...").  Bytes are what is counted; "characters" (Unicode code
 * points) are said only where exact: how many to remove from the end so
 * that the rest fits (Burmese, Khmer, Lao and Thai take 3 bytes each).  lang is a language tag
 * ("en"); NULL or a language without texts yet gives English.  Returns the
 * length written (without NUL), ERR_FULL when cap is too small (buf then
 * holds a truncated, terminated text if cap > 0), ERR_INVAL for a NULL d or
 * buf.  QUOTA_DESCRIBE_MAX_BYTES is always enough.
 */
ssize_t quota_describe(const struct quota_decision *d, const char *lang, char *buf, size_t cap) LL_MUST_CHECK;

/*
 * Which warning threshold a submission crossed: thresholds[0..n) are
 * percentages (1..100, any order) of allowance_bytes; t is crossed when
 * used_before < ceil(allowance * t / 100) <= used_after.  Returns the
 * highest threshold crossed (so 80 and 95 crossed at once gives 95), 0 when
 * none was, or ERR_INVAL (a threshold of 0 or over 100, used_after <
 * used_before, allowance 0 or over QUOTA_ALLOWANCE_MAX_BYTES, thresholds
 * NULL with n > 0).
 */
int quota_warning(uint64_t used_before, uint64_t used_after, uint64_t allowance_bytes,
                  const uint32_t *thresholds, size_t n) LL_MUST_CHECK;

#endif
