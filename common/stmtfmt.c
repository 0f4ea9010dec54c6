/*
 * stmtfmt.c — renders a monthly statement as text and as JSON.
 *
 * For: one wording of the statement everywhere a person reads it
 * (shorectl statement, lifeline-verify, the operator guide's examples).
 * Invariants: prints only what the statement holds (it holds no text, no
 * names, no complaint content); times are shown in the statement's own
 * zone and as Unix seconds.  Failure: none; output errors are the
 * caller's stream's.
 */
#include "common/stmtfmt.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#define TIME_BYTES 96u
#define NUM_BYTES 32u
#define SECS_PER_MIN 60
#define SECS_PER_HOUR 3600
#define SECS_PER_DAY 86400

const char *stmtfmt_bytes(uint64_t v, char *out, size_t cap)
{
	char raw[NUM_BYTES];
	int n = snprintf(raw, sizeof raw, "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = raw[i];
	}
	out[o] = '\0';
	return out;
}

/* "2026-11-01 00:00 (UTC+07:00)" for Unix time t in zone. */
static void local_time(int64_t t, int32_t zone, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)(t + zone);
	int az = zone < 0 ? -zone : zone;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, cap, "(out of range)");
		return;
	}
	snprintf(out, cap, "%04d-%02d-%02d %02d:%02d (UTC%c%02d:%02d)", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, zone < 0 ? '-' : '+',
		 az / SECS_PER_HOUR, az % SECS_PER_HOUR / SECS_PER_MIN);
}

static void duration(uint64_t s, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		 s / SECS_PER_DAY, s % SECS_PER_DAY / SECS_PER_HOUR,
		 s % SECS_PER_HOUR / SECS_PER_MIN, s % SECS_PER_MIN);
}

static void money(uint64_t micro, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 ".%06" PRIu64, micro / STATEMENT_MICRO, micro % STATEMENT_MICRO);
}

static uint32_t refused_below_total(const struct statement *s)
{
	uint32_t n = 0;
	for (size_t i = 0; i < s->ncrew; i++)
		n += s->crew[i].refused_below;
	return n;
}

void stmtfmt_json(struct json *j, const struct statement *s)
{
	char t[TIME_BYTES];
	json_kv_string(j, "kind", "statement");
	json_kv_uint(j, "vessel", s->vessel);
	snprintf(t, sizeof t, "%04u-%02u", (unsigned)(s->period / 100u), (unsigned)(s->period % 100u));
	json_kv_string(j, "month", t);
	json_kv_int(j, "zone_s", s->zone);
	json_kv_int(j, "period_start", s->start);
	json_kv_int(j, "period_end", s->end);
	json_kv_int(j, "issued", s->issued);
	json_kv_int(j, "covered_until", s->until);
	json_kv_bool(j, "refused_below_allowance", (s->flags & STATEMENT_F_REFUSED_BELOW) != 0);
	json_kv_bool(j, "counts_agree", (s->flags & STATEMENT_F_COUNT_MISMATCH) == 0);
	json_kv_bool(j, "all_reported", (s->flags & STATEMENT_F_UNREPORTED) == 0);
	json_key(j, "availability");
	json_object_begin(j);
	json_kv_uint(j, "days_with_contact", s->days_contact);
	json_kv_uint(j, "days_covered", s->days_covered);
	json_kv_uint(j, "longest_silence_s", s->longest_silence);
	json_kv_uint(j, "heartbeat_interval_s", s->hb_interval);
	json_kv_uint(j, "heartbeats_received", s->hb_received);
	json_kv_uint(j, "heartbeats_expected", s->hb_expected);
	json_kv_uint(j, "bundles", s->bundles);
	json_object_end(j);
	json_kv_uint(j, "crew_registered", s->crew_registered);
	json_kv_uint(j, "crew_on_board", s->crew_on_board);
	json_kv_uint(j, "complaints", s->complaints);
	json_kv_uint(j, "sos", s->sos);
	json_kv_uint(j, "airtime_bytes", s->airtime);
	json_kv_uint(j, "airtime_unattributed_bytes", s->airtime_unattributed);
	json_kv_string(j, "currency", s->currency[0] ? s->currency : NULL);
	json_kv_uint(j, "price_micro_per_mb", s->price_micro);
	json_kv_uint(j, "cost_micro", s->cost_micro);
	json_key(j, "crew");
	json_array_begin(j);
	for (size_t i = 0; i < s->ncrew; i++) {
		const struct statement_crew *c = &s->crew[i];
		json_object_begin(j);
		json_kv_uint(j, "crew_id", c->crew_id);
		json_kv_uint(j, "allowance", c->allowance);
		json_kv_bool(j, "reported", c->reported);
		json_kv_uint(j, "used", c->used_on_board);
		json_kv_uint(j, "remaining", c->used_on_board >= c->allowance ? 0 :
			     c->allowance - c->used_on_board);
		json_kv_uint(j, "arrived_bytes", c->text_bytes);
		json_kv_uint(j, "messages", c->messages);
		json_kv_uint(j, "delivered", c->delivered);
		json_kv_uint(j, "failed", c->failed);
		json_kv_uint(j, "airtime_bytes", c->airtime);
		json_kv_uint(j, "refusals", c->refusals);
		json_kv_uint(j, "refused_below_allowance", c->refused_below);
		json_key(j, "refusal_levels");
		json_array_begin(j);
		for (size_t k = 0; k < c->nref; k++) {
			json_object_begin(j);
			json_kv_uint(j, "ts", c->ref[k].ts);
			json_kv_uint(j, "used", c->ref[k].used);
			json_kv_uint(j, "attempted", c->ref[k].attempted);
			json_object_end(j);
		}
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}

void stmtfmt_text(FILE *f, const struct statement *s)
{
	char a[TIME_BYTES], b[TIME_BYTES], n1[NUM_BYTES], n2[NUM_BYTES], n3[NUM_BYTES];
	fprintf(f, "Lifeline monthly statement: vessel %" PRIu32 ", month %04u-%02u\n", s->vessel,
		(unsigned)(s->period / 100u), (unsigned)(s->period % 100u));
	local_time(s->start, s->zone, a, sizeof a);
	local_time(s->end, s->zone, b, sizeof b);
	fprintf(f, "  period:        %s to %s\n", a, b);
	local_time(s->issued, s->zone, a, sizeof a);
	local_time(s->until, s->zone, b, sizeof b);
	fprintf(f, "  issued:        %s (shore clock); figures up to %s\n", a, b);
	uint32_t below = refused_below_total(s);
	if (below)
		fprintf(f, "  refused below the allowance: YES, %" PRIu32 " time(s): a text that fit "
			"the allowance was refused\n", below);
	else
		fprintf(f, "  refused below the allowance: never\n");
	fprintf(f, "  on-board counts vs arrived: %s%s\n",
		(s->flags & STATEMENT_F_COUNT_MISMATCH) ? "DIFFER (see used / arrived)" : "agree",
		(s->flags & STATEMENT_F_UNREPORTED) ? "; some crew sent no on-board report" : "");
	duration(s->longest_silence, a, sizeof a);
	fprintf(f, "  link:          contact on %u of %u days; longest silence %s\n",
		(unsigned)s->days_contact, (unsigned)s->days_covered, a);
	fprintf(f, "  heartbeats:    %" PRIu32 " received of %" PRIu32 " expected (every %" PRIu32
		" s); %" PRIu32 " bundles\n", s->hb_received, s->hb_expected, s->hb_interval, s->bundles);
	fprintf(f, "  crew:          %" PRIu32 " registered, %" PRIu32 " on board (last heartbeat)\n",
		s->crew_registered, s->crew_on_board);
	fprintf(f, "  complaints:    %" PRIu32 "; SOS: %" PRIu32 " (per vessel; contents are for "
		"the inspectors only)\n", s->complaints, s->sos);
	fprintf(f, "  airtime:       %s bytes (%s not attributed to a crew member)\n",
		stmtfmt_bytes(s->airtime, n1, sizeof n1),
		stmtfmt_bytes(s->airtime_unattributed, n2, sizeof n2));
	if (s->currency[0]) {
		money(s->cost_micro, a, sizeof a);
		money(s->price_micro, b, sizeof b);
		fprintf(f, "  cost:          %s %s (at %s %s per 1,000,000 bytes), paid by the "
			"employer\n", a, s->currency, b, s->currency);
	} else {
		fprintf(f, "  cost:          no price configured (price_per_mb)\n");
	}
	fprintf(f, "  %5s %12s %12s %12s %6s %6s %6s %10s %8s %6s\n", "crew", "allowance", "used",
		"arrived", "texts", "deliv", "failed", "airtime", "refused", "below");
	for (size_t i = 0; i < s->ncrew; i++) {
		const struct statement_crew *c = &s->crew[i];
		char n4[NUM_BYTES];
		fprintf(f, "  %5" PRIu32 " %12s %12s %12s %6" PRIu32 " %6" PRIu32 " %6" PRIu32
			" %10s %8" PRIu32 " %6" PRIu32 "%s\n", c->crew_id,
			stmtfmt_bytes(c->allowance, n1, sizeof n1),
			c->reported ? stmtfmt_bytes(c->used_on_board, n2, sizeof n2) : "no report",
			stmtfmt_bytes(c->text_bytes, n3, sizeof n3), c->messages, c->delivered,
			c->failed, stmtfmt_bytes(c->airtime, n4, sizeof n4), c->refusals,
			c->refused_below, c->reported && c->used_on_board != c->text_bytes ?
			"  (counts differ)" : "");
		for (size_t k = 0; k < c->nref; k++) {
			local_time((int64_t)c->ref[k].ts, s->zone, a, sizeof a);
			fprintf(f, "        refused %s at %s of %s bytes used, text of %s bytes\n", a,
				stmtfmt_bytes(c->ref[k].used, n1, sizeof n1),
				stmtfmt_bytes(c->allowance, n2, sizeof n2),
				stmtfmt_bytes(c->ref[k].attempted, n3, sizeof n3));
		}
	}
	fprintf(f, "  (no message text, contact, name or complaint content is in this statement)\n");
}
