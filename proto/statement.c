/*
 * statement.c — encoder, parser and LLDOC wrapping of monthly statements.
 *
 * For: a vessel owner proving at a port inspection, with a file the shore
 * signed, that every crew member had the month's allowance, that the link
 * worked and what it cost (issue 7).  Layout in statement.h.
 *
 * Invariants: fields go one by one through bounded cursors (no struct is
 * copied to or from the wire); one rule set (check()) is applied by the
 * encoder before writing and by the parser after reading, so whatever the
 * shore signs parses and whatever parses obeys the rules; the flags are
 * derived from the entries, never taken from the caller; a statement has
 * exactly one byte form (fixed widths, nothing after the last entry).
 *
 * Failure: a negative enum err and, for the parser, a static sentence
 * naming the rule.  Nothing is allocated.
 */
#include "proto/statement.h"

#include <string.h>

#include "proto/varint.h"

#define U16_BYTES 2u
#define U32_BYTES 4u
#define U64_BYTES 8u
#define PERIOD_MIN 197001u
#define PERIOD_MAX 999912u
#define DAYS_MAX 31u
#define ZONE_MAX_S (14 * 3600)

_Static_assert(STATEMENT_BODY_MAX <= DOC_BODY_MAX, "a statement fits one part");

uint8_t statement_flags(const struct statement *s)
{
	uint8_t f = 0;
	for (size_t i = 0; i < s->ncrew && i < STATEMENT_CREW_MAX; i++) {
		const struct statement_crew *c = &s->crew[i];
		if (c->refused_below)
			f |= STATEMENT_F_REFUSED_BELOW;
		if (!c->reported && c->messages)
			f |= STATEMENT_F_UNREPORTED;
		else if (c->used_on_board != c->text_bytes)
			f |= STATEMENT_F_COUNT_MISMATCH;
	}
	return f;
}

uint64_t statement_cost(uint64_t airtime, uint64_t price_micro)
{
	uint64_t whole = airtime / STATEMENT_BYTES_PER_MB, part = airtime % STATEMENT_BYTES_PER_MB;
	if (price_micro && whole > UINT64_MAX / price_micro)
		return UINT64_MAX;
	uint64_t a = whole * price_micro;
	/* part < 10^6: the product fits while price_micro < 1.8e13. */
	if (price_micro > UINT64_MAX / STATEMENT_BYTES_PER_MB)
		return UINT64_MAX;
	uint64_t b = part * price_micro / STATEMENT_BYTES_PER_MB;
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool currency_ok(const char *c, uint64_t price)
{
	size_t n = strnlen(c, STATEMENT_CURRENCY_BYTES + 1);
	if (n == 0)
		return price == 0;
	if (n != STATEMENT_CURRENCY_BYTES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i] < 'A' || c[i] > 'Z')
			return false;
	return true;
}

/* The rules both directions enforce; NULL when s obeys them. */
static const char *check(const struct statement *s)
{
	if (s->period < PERIOD_MIN || s->period > PERIOD_MAX || s->period % 100u == 0 ||
	    s->period % 100u > 12u)
		return "statement: the period is not a month";
	if (s->zone < -ZONE_MAX_S || s->zone > ZONE_MAX_S)
		return "statement: the zone is out of range";
	if (s->start >= s->end || s->until < s->start || s->until > s->end)
		return "statement: the period's times are out of order";
	if (s->days_covered > DAYS_MAX || s->days_contact > s->days_covered)
		return "statement: day counts out of range";
	if (s->airtime_unattributed > s->airtime)
		return "statement: more airtime unattributed than in all";
	if (!currency_ok(s->currency, s->price_micro))
		return "statement: the currency is not three capital letters (or none without a price)";
	if (s->ncrew > STATEMENT_CREW_MAX)
		return "statement: too many crew entries";
	for (size_t i = 0; i < s->ncrew; i++) {
		const struct statement_crew *c = &s->crew[i];
		if (c->crew_id == 0 || (i > 0 && c->crew_id <= s->crew[i - 1].crew_id))
			return "statement: crew ids are not ascending from 1";
		if (c->delivered > c->messages || c->failed > c->messages - c->delivered)
			return "statement: more texts delivered or failed than arrived";
		if (c->refused_below > c->refusals || c->nref > STATEMENT_REFUSALS_MAX ||
		    c->nref > c->refusals)
			return "statement: refusal counts out of range";
	}
	return NULL;
}

static void put_crew(struct wcursor *w, const struct statement_crew *c)
{
	wcursor_put_le(w, c->crew_id, U32_BYTES);
	wcursor_put_le(w, c->allowance, U64_BYTES);
	wcursor_put_le(w, c->used_on_board, U64_BYTES);
	wcursor_put_u8(w, c->reported ? 1u : 0u);
	wcursor_put_le(w, c->text_bytes, U64_BYTES);
	wcursor_put_le(w, c->messages, U32_BYTES);
	wcursor_put_le(w, c->delivered, U32_BYTES);
	wcursor_put_le(w, c->failed, U32_BYTES);
	wcursor_put_le(w, c->airtime, U64_BYTES);
	wcursor_put_le(w, c->refusals, U32_BYTES);
	wcursor_put_le(w, c->refused_below, U32_BYTES);
	wcursor_put_u8(w, (uint8_t)c->nref);
	for (size_t k = 0; k < c->nref; k++) {
		wcursor_put_le(w, c->ref[k].ts, U64_BYTES);
		wcursor_put_le(w, c->ref[k].used, U64_BYTES);
		wcursor_put_le(w, c->ref[k].attempted, U64_BYTES);
	}
}

ssize_t statement_encode(const struct statement *s, uint8_t *out, size_t cap)
{
	if (s->ncrew > STATEMENT_CREW_MAX)
		return ERR_TOOBIG;
	if (check(s))
		return ERR_INVAL;
	struct wcursor w;
	wcursor_init(&w, out, cap);
	wcursor_put_u8(&w, STATEMENT_VERSION);
	wcursor_put_le(&w, s->vessel, U32_BYTES);
	wcursor_put_le(&w, s->period, U32_BYTES);
	wcursor_put_le(&w, (uint32_t)s->zone, U32_BYTES);
	wcursor_put_le(&w, (uint64_t)s->start, U64_BYTES);
	wcursor_put_le(&w, (uint64_t)s->end, U64_BYTES);
	wcursor_put_le(&w, (uint64_t)s->issued, U64_BYTES);
	wcursor_put_le(&w, (uint64_t)s->until, U64_BYTES);
	wcursor_put_le(&w, s->hb_interval, U32_BYTES);
	wcursor_put_le(&w, s->hb_received, U32_BYTES);
	wcursor_put_le(&w, s->hb_expected, U32_BYTES);
	wcursor_put_le(&w, s->days_contact, U16_BYTES);
	wcursor_put_le(&w, s->days_covered, U16_BYTES);
	wcursor_put_le(&w, s->longest_silence, U64_BYTES);
	wcursor_put_le(&w, s->bundles, U32_BYTES);
	wcursor_put_le(&w, s->airtime, U64_BYTES);
	wcursor_put_le(&w, s->airtime_unattributed, U64_BYTES);
	wcursor_put_le(&w, s->crew_registered, U32_BYTES);
	wcursor_put_le(&w, s->crew_on_board, U32_BYTES);
	wcursor_put_le(&w, s->complaints, U32_BYTES);
	wcursor_put_le(&w, s->sos, U32_BYTES);
	uint8_t cur[STATEMENT_CURRENCY_BYTES] = {0};
	memcpy(cur, s->currency, strnlen(s->currency, STATEMENT_CURRENCY_BYTES));
	wcursor_put_bytes(&w, cur, STATEMENT_CURRENCY_BYTES);
	wcursor_put_le(&w, s->price_micro, U64_BYTES);
	wcursor_put_le(&w, s->cost_micro, U64_BYTES);
	wcursor_put_u8(&w, statement_flags(s));
	wcursor_put_le(&w, s->ncrew, U16_BYTES);
	for (size_t i = 0; i < s->ncrew; i++)
		put_crew(&w, &s->crew[i]);
	if (w.full)
		return ERR_FULL;
	return (ssize_t)w.len;
}

/* ---- parsing -------------------------------------------------------------- */

static int fail(const char **why, const char *msg, int rc)
{
	if (why)
		*why = msg;
	return rc;
}

#define TRUNC_MSG "statement: the body ends early (truncated)"

/* Reads n little-endian bytes; a short read ends the parse. */
#define GET(c, n, dst) do {                                     \
		uint64_t v_;                                    \
		if (cursor_get_le((c), (n), &v_) < 0)           \
			return fail(why, TRUNC_MSG, ERR_TRUNC); \
		(dst) = v_;                                     \
	} while (0)

static int get_crew(struct cursor *c, struct statement_crew *e, const char **why)
{
	uint64_t v;
	GET(c, U32_BYTES, v);
	e->crew_id = (uint32_t)v;
	GET(c, U64_BYTES, e->allowance);
	GET(c, U64_BYTES, e->used_on_board);
	GET(c, 1, v);
	if (v > 1)
		return fail(why, "statement: a crew entry's report byte is not 0 or 1", ERR_INVAL);
	e->reported = v == 1;
	GET(c, U64_BYTES, e->text_bytes);
	GET(c, U32_BYTES, v);
	e->messages = (uint32_t)v;
	GET(c, U32_BYTES, v);
	e->delivered = (uint32_t)v;
	GET(c, U32_BYTES, v);
	e->failed = (uint32_t)v;
	GET(c, U64_BYTES, e->airtime);
	GET(c, U32_BYTES, v);
	e->refusals = (uint32_t)v;
	GET(c, U32_BYTES, v);
	e->refused_below = (uint32_t)v;
	GET(c, 1, v);
	if (v > STATEMENT_REFUSALS_MAX)
		return fail(why, "statement: too many refusals detailed", ERR_INVAL);
	e->nref = (size_t)v;
	for (size_t k = 0; k < e->nref; k++) {
		GET(c, U64_BYTES, e->ref[k].ts);
		GET(c, U64_BYTES, e->ref[k].used);
		GET(c, U64_BYTES, e->ref[k].attempted);
	}
	return 0;
}

int statement_parse(const uint8_t *in, size_t len, struct statement *s, const char **why)
{
	memset(s, 0, sizeof *s);
	if (why)
		*why = NULL;
	struct cursor c;
	cursor_init(&c, in, len);
	uint64_t v;
	GET(&c, 1, v);
	if (v != STATEMENT_VERSION)
		return fail(why, "statement: unknown statement version", ERR_VERSION);
	GET(&c, U32_BYTES, v);
	s->vessel = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->period = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->zone = (int32_t)(uint32_t)v;
	GET(&c, U64_BYTES, v);
	s->start = (int64_t)v;
	GET(&c, U64_BYTES, v);
	s->end = (int64_t)v;
	GET(&c, U64_BYTES, v);
	s->issued = (int64_t)v;
	GET(&c, U64_BYTES, v);
	s->until = (int64_t)v;
	GET(&c, U32_BYTES, v);
	s->hb_interval = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->hb_received = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->hb_expected = (uint32_t)v;
	GET(&c, U16_BYTES, v);
	s->days_contact = (uint16_t)v;
	GET(&c, U16_BYTES, v);
	s->days_covered = (uint16_t)v;
	GET(&c, U64_BYTES, s->longest_silence);
	GET(&c, U32_BYTES, v);
	s->bundles = (uint32_t)v;
	GET(&c, U64_BYTES, s->airtime);
	GET(&c, U64_BYTES, s->airtime_unattributed);
	GET(&c, U32_BYTES, v);
	s->crew_registered = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->crew_on_board = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->complaints = (uint32_t)v;
	GET(&c, U32_BYTES, v);
	s->sos = (uint32_t)v;
	const uint8_t *cur;
	if (cursor_get_bytes(&c, STATEMENT_CURRENCY_BYTES, &cur) < 0)
		return fail(why, TRUNC_MSG, ERR_TRUNC);
	bool none = cur[0] == 0 && cur[1] == 0 && cur[2] == 0;
	if (!none) {
		for (size_t i = 0; i < STATEMENT_CURRENCY_BYTES; i++)
			if (cur[i] < 'A' || cur[i] > 'Z')
				return fail(why, "statement: the currency is not three capital letters",
					    ERR_INVAL);
		memcpy(s->currency, cur, STATEMENT_CURRENCY_BYTES);
	}
	GET(&c, U64_BYTES, s->price_micro);
	GET(&c, U64_BYTES, s->cost_micro);
	GET(&c, 1, v);
	s->flags = (uint8_t)v;
	GET(&c, U16_BYTES, v);
	if (v > STATEMENT_CREW_MAX)
		return fail(why, "statement: more crew entries than allowed", ERR_TOOBIG);
	s->ncrew = (size_t)v;
	for (size_t i = 0; i < s->ncrew; i++) {
		int rc = get_crew(&c, &s->crew[i], why);
		if (rc < 0)
			return rc;
	}
	if (c.len != 0)
		return fail(why, "statement: bytes follow the last crew entry", ERR_INVAL);
	const char *bad = check(s);
	if (bad)
		return fail(why, bad, ERR_INVAL);
	if (s->flags != statement_flags(s))
		return fail(why, "statement: the flags disagree with the crew entries", ERR_INVAL);
	if (s->cost_micro != statement_cost(s->airtime, s->price_micro))
		return fail(why, "statement: the cost is not airtime times price", ERR_INVAL);
	return 0;
}

/* ---- documents ------------------------------------------------------------ */

ssize_t statement_doc_sign(const struct statement *s, const uint8_t sk[DOC_SIGN_SK_BYTES],
			   const uint8_t pk[DOC_SIGN_PK_BYTES], uint8_t *out, size_t cap)
{
	uint8_t body[STATEMENT_BODY_MAX], sig[DOC_SIG_BYTES];
	ssize_t n = statement_encode(s, body, sizeof body);
	if (n < 0)
		return n;
	int rc = doc_sign(DOC_PART_STATEMENT, body, (size_t)n, sk, sig);
	if (rc < 0)
		return rc;
	struct doc d = {
		.version = DOC_VERSION,
		.kind = DOC_KIND_STATEMENT,
		.nparts = 1,
		.parts = {{DOC_PART_STATEMENT, body, (size_t)n, pk, sig}},
	};
	return doc_encode(&d, out, cap);
}

int statement_verify(const uint8_t *in, size_t len, struct statement *s, const uint8_t **shore_pk,
		     const char **why)
{
	struct doc d;
	memset(s, 0, sizeof *s);
	int rc = doc_verify(in, len, &d, why);
	if (rc < 0)
		return rc;
	if (d.kind != DOC_KIND_STATEMENT)
		return fail(why, "this document is not a monthly statement", ERR_VERSION);
	if ((rc = statement_parse(d.parts[0].body, d.parts[0].len, s, why)) < 0)
		return rc;
	if (shore_pk)
		*shore_pk = d.parts[0].signer;
	return 0;
}
