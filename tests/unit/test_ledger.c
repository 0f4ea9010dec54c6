/*
 * test_ledger.c — monthly statements (proto/statement.c), their LLDOC
 * document, and the shore ledger that computes them (shore/ledger.c).
 *
 * Shows: the documented example body and document are reproduced byte for
 * byte from a fixed shore seed, with fields at the documented offsets;
 * parse(encode(s)) == s; every single-byte change (three masks at every
 * offset), every truncation and an appended byte fail statement_verify();
 * each layout rule is refused by the encoder and, re-signed, by the parser
 * (flags that lie, ids out of order, refusals out of range, cost not
 * airtime x price, bad currency, trailing bytes, unknown version); price
 * and month parsing tables; and the ledger, fed bundles, heartbeats and
 * quota reports on a real SQLite file, yields exactly the expected
 * availability, airtime split, refusal check and counts.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/statement.h"
#include "shore/ledger.h"
#include "shore/store.h"
#include "tests/lib/testutil.h"

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))
#define ZONE (7 * 3600)
#define START 1793466000        /* 2026-11-01T00:00+07:00 */
#define END 1796058000          /* 2026-12-01T00:00+07:00 */
#define ISSUED 1796094000       /* 2026-12-01T10:00+07:00 */

static uint8_t spk[32], ssk[64];

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	uint8_t s[32];
	for (int i = 0; i < 32; i++)
		s[i] = (uint8_t)(0x80 + i);
	crypto_sign_seed_keypair(spk, ssk, s);
	return 0;
}

/* The documented example: vessel 1042, November 2026 at +07:00, two crew
 * members, one refused at the limit. */
static void example(struct statement *s)
{
	memset(s, 0, sizeof *s);
	*s = (struct statement){.vessel = 1042, .period = 202611, .zone = ZONE, .start = START,
		.end = END, .issued = ISSUED, .until = END, .hb_interval = 21600, .hb_received = 118,
		.hb_expected = 120, .days_contact = 30, .days_covered = 30, .longest_silence = 43200,
		.bundles = 1500, .airtime = 2500000, .airtime_unattributed = 100000,
		.crew_registered = 2, .crew_on_board = 2, .complaints = 1, .sos = 0,
		.currency = "USD", .price_micro = 4500000, .ncrew = 2};
	s->cost_micro = statement_cost(s->airtime, s->price_micro);
	s->crew[0] = (struct statement_crew){.crew_id = 1, .allowance = 1048576,
		.used_on_board = 1048500, .reported = true, .text_bytes = 1048500, .messages = 9000,
		.delivered = 8990, .failed = 10, .airtime = 1400000, .refusals = 1, .refused_below = 0,
		.nref = 1, .ref = {{1795921200, 1048500, 120}}};
	s->crew[1] = (struct statement_crew){.crew_id = 2, .allowance = 1048576,
		.used_on_board = 700000, .reported = true, .text_bytes = 700000, .messages = 6000,
		.delivered = 6000, .airtime = 1000000};
}

/* The example as a document signed with the shore seed 80 81 .. 9f
 * (doc_stmt_protocol.md shows it field by field). */
static const char golden_doc[] =
	"4c4c444f43010201030b01000001120400007317030070620000901ee66a0000"
	"000090ab0d6b0000000030380e6b0000000090ab0d6b00000000605400007600"
	"0000780000001e001e00c0a8000000000000dc050000a025260000000000a086"
	"0100000000000200000002000000010000000000000055534420aa4400000000"
	"0050a9ab0000000000000200010000000000100000000000b4ff0f0000000000"
	"01b4ff0f0000000000282300001e2300000a000000c05c150000000000010000"
	"00000000000130950b6b00000000b4ff0f000000000078000000000000000200"
	"0000000010000000000060ae0a00000000000160ae0a00000000007017000070"
	"1700000000000040420f0000000000000000000000000000cd14b37f956e9531"
	"94ff7fb73b3d81dcc561d61a7538094b7c3e1a643ee5f3aa30355e487a6dc2de"
	"d3beeaffdb88e5cb5457404e62fe78eed3fe8e41d0e378b44adf72c2431bd257"
	"7be347a29ffa6369827199611d580911ab4500db10c6e506";

static void hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void test_golden(void)
{
	static struct statement s, back;
	static uint8_t body[STATEMENT_BODY_MAX], doc[STATEMENT_DOC_MAX];
	static char h[2 * STATEMENT_DOC_MAX + 1];
	example(&s);
	ssize_t n = statement_encode(&s, body, sizeof body);
	CU_ASSERT_EQUAL_FATAL(n, STATEMENT_HDR_BYTES + 2 * STATEMENT_CREW_BYTES + STATEMENT_REFUSAL_BYTES);
	CU_ASSERT_EQUAL(statement_encode(&s, NULL, 0), n);
	/* fields at their documented offsets */
	CU_ASSERT_EQUAL(body[0], 1);
	CU_ASSERT_EQUAL(le(body + 1, 4), 1042);
	CU_ASSERT_EQUAL(le(body + 5, 4), 202611);
	CU_ASSERT_EQUAL(le(body + 9, 4), ZONE);
	CU_ASSERT_EQUAL(le(body + 13, 8), START);
	CU_ASSERT_EQUAL(le(body + 21, 8), END);
	CU_ASSERT_EQUAL(le(body + 45, 4), 21600);
	CU_ASSERT_EQUAL(le(body + 57, 2), 30);
	CU_ASSERT_EQUAL(le(body + 61, 8), 43200);
	CU_ASSERT_EQUAL(le(body + 73, 8), 2500000);
	CU_ASSERT_EQUAL(le(body + 97, 4), 1);
	CU_ASSERT_EQUAL(memcmp(body + 105, "USD", 3), 0);
	CU_ASSERT_EQUAL(le(body + 116, 8), 11250000);          /* 2.5 MB at 4.50 */
	CU_ASSERT_EQUAL(body[124], 0);                          /* never refused below */
	CU_ASSERT_EQUAL(le(body + 125, 2), 2);
	CU_ASSERT_EQUAL(le(body + 127, 4), 1);                  /* crew 1 */
	CU_ASSERT_EQUAL(le(body + 127 + 12, 8), 1048500);
	CU_ASSERT_EQUAL(le(body + 127 + 49, 4), 1);             /* one refusal */
	CU_ASSERT_EQUAL(body[127 + 57], 1);
	CU_ASSERT_EQUAL(le(body + 127 + 58 + 8, 8), 1048500);   /* at this usage */
	CU_ASSERT_EQUAL(le(body + 127 + 58 + 16, 8), 120);
	CU_ASSERT_EQUAL(statement_parse(body, (size_t)n, &back, NULL), 0);
	s.flags = statement_flags(&s);
	CU_ASSERT_EQUAL(memcmp(&s, &back, sizeof s), 0);

	ssize_t d = statement_doc_sign(&s, ssk, spk, doc, sizeof doc);
	CU_ASSERT_EQUAL_FATAL(d, (ssize_t)(DOC_HDR_BYTES + DOC_PART_HDR_BYTES) + n +
			      (ssize_t)DOC_PART_TRAILER_BYTES);
	hex(doc, (size_t)d, h);
	if (strcmp(h, golden_doc) != 0)
		fprintf(stderr, "\n  statement document: %s\n", h);
	CU_ASSERT_STRING_EQUAL(h, golden_doc);
	const uint8_t *pk = NULL;
	const char *why = NULL;
	CU_ASSERT_EQUAL(statement_verify(doc, (size_t)d, &back, &pk, &why), 0);
	CU_ASSERT_PTR_EQUAL(pk, doc + DOC_HDR_BYTES + DOC_PART_HDR_BYTES + n);
	CU_ASSERT_EQUAL(memcmp(&s, &back, sizeof s), 0);
}

static void test_every_byte(void)
{
	static struct statement s, back;
	static uint8_t doc[STATEMENT_DOC_MAX], t[STATEMENT_DOC_MAX + 1];
	example(&s);
	ssize_t d = statement_doc_sign(&s, ssk, spk, doc, sizeof doc);
	CU_ASSERT_FATAL(d > 0);
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	size_t passed = 0;
	for (size_t i = 0; i < (size_t)d; i++)
		for (size_t m = 0; m < NVEC(masks); m++) {
			memcpy(t, doc, (size_t)d);
			t[i] ^= masks[m];
			if (statement_verify(t, (size_t)d, &back, NULL, NULL) == 0)
				passed++;
		}
	CU_ASSERT_EQUAL(passed, 0u);
	for (size_t k = 0; k < (size_t)d; k++)
		CU_ASSERT_NOT_EQUAL(statement_verify(doc, k, &back, NULL, NULL), 0);
	memcpy(t, doc, (size_t)d);
	t[d] = 0;
	CU_ASSERT_EQUAL(statement_verify(t, (size_t)d + 1, &back, NULL, NULL), ERR_INVAL);
}

/* Signs a hand-patched body: the parser, not the signature, must refuse. */
static int verify_patched(const uint8_t *body, size_t n, const char **why)
{
	static uint8_t doc[STATEMENT_DOC_MAX + 64], sig[DOC_SIG_BYTES];
	static struct statement back;
	if (doc_sign(DOC_PART_STATEMENT, body, n, ssk, sig) != 0)
		return 1;
	struct doc dd = {DOC_VERSION, DOC_KIND_STATEMENT, 1, {{DOC_PART_STATEMENT, body, n, spk, sig}}};
	ssize_t d = doc_encode(&dd, doc, sizeof doc);
	if (d < 0)
		return 1;
	return statement_verify(doc, (size_t)d, &back, NULL, why);
}

static void test_rules(void)
{
	static struct statement s;
	static uint8_t body[STATEMENT_BODY_MAX + 8];
	struct { size_t off; uint8_t val; const char *why; } patches[] = {
		{0, 2, "unknown statement version"},
		{124, 1, "flags disagree"},                     /* claims a refusal below */
		{127, 3, "not ascending"},                      /* crew 1 -> 3 > crew 2 */
		{127 + 20, 2, "report byte"},
		{127 + 53, 2, "refusal counts"},                /* below > refusals */
		{127 + 57, 9, "too many refusals"},
		{116, 0, "cost is not"},
		{105, 'u', "currency"},
		{7, 0, "not a month"},
		{125, 3, "ends early"},
	};
	example(&s);
	ssize_t n = statement_encode(&s, body, sizeof body);
	CU_ASSERT_FATAL(n > 0);
	for (size_t i = 0; i < NVEC(patches); i++) {
		static uint8_t t[STATEMENT_BODY_MAX + 8];
		memcpy(t, body, (size_t)n);
		t[patches[i].off] = patches[i].val;
		const char *why = NULL;
		CU_ASSERT_NOT_EQUAL(verify_patched(t, (size_t)n, &why), 0);
		if (!why || !strstr(why, patches[i].why))
			fprintf(stderr, "\n  patch %zu: wanted \"%s\", got \"%s\"\n", i, patches[i].why,
				why ? why : "(none)");
		CU_ASSERT_PTR_NOT_NULL(why && strstr(why, patches[i].why));
	}
	const char *why = NULL;
	body[n] = 0;
	CU_ASSERT_EQUAL(verify_patched(body, (size_t)n + 1, &why), ERR_INVAL);
	CU_ASSERT_EQUAL(verify_patched(body, (size_t)n, &why), 0);
	/* the encoder refuses what the parser would */
	struct statement bad;
	example(&bad);
	bad.crew[1].crew_id = 1;
	CU_ASSERT_EQUAL(statement_encode(&bad, NULL, 0), ERR_INVAL);
	example(&bad);
	bad.crew[0].refused_below = 2;
	CU_ASSERT_EQUAL(statement_encode(&bad, NULL, 0), ERR_INVAL);
	example(&bad);
	memcpy(bad.currency, "us", 3);
	CU_ASSERT_EQUAL(statement_encode(&bad, NULL, 0), ERR_INVAL);
	example(&bad);
	bad.ncrew = STATEMENT_CREW_MAX + 1;
	CU_ASSERT_EQUAL(statement_encode(&bad, NULL, 0), ERR_TOOBIG);
	example(&bad);
	bad.until = bad.end + 1;
	CU_ASSERT_EQUAL(statement_encode(&bad, NULL, 0), ERR_INVAL);
	CU_ASSERT_EQUAL(statement_cost(2500000, 4500000), 11250000);
	CU_ASSERT_EQUAL(statement_cost(999999, 1), 0);
	CU_ASSERT_EQUAL(statement_cost(UINT64_MAX, 1000000000000u), UINT64_MAX);
}

static void test_price_and_month(void)
{
	static const struct { const char *in; int rc; uint64_t micro; const char *cur; } prices[] = {
		{"", 0, 0, ""}, {"4.50 USD", 0, 4500000, "USD"}, {"12 THB", 0, 12000000, "THB"},
		{"0.000001 EUR", 0, 1, "EUR"}, {"0 USD", 0, 0, ""}, {"4.5000001 USD", ERR_INVAL, 0, ""},
		{"4.50", ERR_INVAL, 0, ""}, {"4.50 usd", ERR_INVAL, 0, ""}, {"4. USD", ERR_INVAL, 0, ""},
		{"USD 4.50", ERR_INVAL, 0, ""}, {"4.50 USDX", ERR_INVAL, 0, ""}, {"-1 USD", ERR_INVAL, 0, ""},
		{"99999999999999999999 USD", ERR_INVAL, 0, ""},
	};
	for (size_t i = 0; i < NVEC(prices); i++) {
		struct ledger_price p;
		CU_ASSERT_EQUAL(ledger_price_parse(prices[i].in, &p), prices[i].rc);
		if (prices[i].rc == 0) {
			CU_ASSERT_EQUAL(p.micro_per_mb, prices[i].micro);
			CU_ASSERT_STRING_EQUAL(p.currency, prices[i].cur);
		}
	}
	static const struct { const char *in; int rc; uint32_t p; } months[] = {
		{"2026-11", 0, 202611}, {"2026-12", 0, 202612}, {"1970-01", 0, 197001},
		{"2026-13", ERR_INVAL, 0}, {"2026-00", ERR_INVAL, 0}, {"2026-1", ERR_INVAL, 0},
		{"202611", ERR_INVAL, 0}, {"2026-11x", ERR_INVAL, 0}, {"", ERR_INVAL, 0},
	};
	for (size_t i = 0; i < NVEC(months); i++) {
		uint32_t p = 0;
		CU_ASSERT_EQUAL(ledger_month_parse(months[i].in, &p), months[i].rc);
		CU_ASSERT_EQUAL(p, months[i].p);
	}
	int64_t a, b;
	CU_ASSERT_EQUAL(ledger_period_bounds(202611, ZONE, &a, &b), 0);
	CU_ASSERT_EQUAL(a, START);
	CU_ASSERT_EQUAL(b, END);
	CU_ASSERT_EQUAL(ledger_period_bounds(202612, 0, &a, &b), 0);
	CU_ASSERT_EQUAL(b - a, 31 * 86400);
	CU_ASSERT_EQUAL(ledger_period_bounds(202802, 0, &a, &b), 0);   /* leap year */
	CU_ASSERT_EQUAL(b - a, 29 * 86400);
}

/* ---- the ledger on a real database ------------------------------------------- */

static int64_t msg_id_next = 1;

static void add_text(struct store *st, uint32_t crew, int64_t ts, size_t len, int state)
{
	static char body[1024];
	char sql[2048];
	memset(body, 'a', len);
	body[len] = '\0';
	snprintf(sql, sizeof sql, "INSERT INTO messages (vessel, msg_id, crew_id, kind, contact_ref, "
		 "body, ts, received, bundle_seq, state, reported) VALUES (7, %lld, %u, 'text', 1, "
		 "CAST('%s' AS BLOB), %lld, %lld, 1, %d, %d)", (long long)msg_id_next++, crew, body,
		 (long long)ts, (long long)ts, state, state);
	CU_ASSERT_EQUAL(db_exec(store_db(st), sql), 0);
}

static void bundle(struct store *st, uint64_t seq, int64_t when, size_t wire,
		   const uint32_t *crew, const uint32_t *bytes, size_t n, bool hb)
{
	static struct ledger_scan ls;
	memset(&ls, 0, sizeof ls);
	ls.wire_bytes = wire;
	ls.nsections = n;
	for (size_t i = 0; i < n; i++) {
		ls.section_crew[i] = crew[i];
		ls.section_bytes[i] = bytes[i];
	}
	ls.has_hb = hb;
	ls.hb = (struct record_heartbeat){.ts = (uint64_t)when, .crew_on_board = 2, .crew_registered = 3};
	CU_ASSERT_EQUAL(db_begin(store_db(st)), 0);
	CU_ASSERT_EQUAL(ledger_commit(store_db(st), 7, seq, when, &ls), 0);
	CU_ASSERT_EQUAL(db_commit(store_db(st)), 0);
}

static void report(struct store *st, uint32_t crew, uint64_t used, uint32_t refusals,
		   const struct record_refusal *r, size_t n)
{
	static struct ledger_scan ls;
	memset(&ls, 0, sizeof ls);
	ls.nreports = 1;
	struct record_quota_report *q = &ls.reports[0];
	*q = (struct record_quota_report){.crew_id = crew, .period = 202611, .zone = ZONE,
		.interval = 21600, .allowance = 1000, .used = used, .refusals = refusals,
		.first = n ? refusals - (uint32_t)n + 1 : 0, .n = n};
	if (n)
		memcpy(q->r, r, n * sizeof *r);
	CU_ASSERT_EQUAL(db_begin(store_db(st)), 0);
	CU_ASSERT_EQUAL(ledger_commit(store_db(st), 7, 1000 + used + refusals, START + 10, &ls), 0);
	CU_ASSERT_EQUAL(db_commit(store_db(st)), 0);
}

static void test_ledger(void)
{
	char *dir = tu_tmpdir(), path[512];
	struct store *st;
	snprintf(path, sizeof path, "%s/shore.db", dir);
	CU_ASSERT_EQUAL_FATAL(store_open(path, &st, NULL), 0);
	uint8_t k[32] = {0};
	CU_ASSERT_EQUAL_FATAL(store_vessel_add(st, 7, "Test", k, k, START - 100), 0);
	static struct statement s;
	CU_ASSERT_EQUAL(ledger_statement(store_db(st), 8, 202611, END, NULL, &s), ERR_NOTFOUND);
	/* settings and on-board figures; a stale report changes nothing */
	const struct record_refusal r1[] = {{START + 3600, 990, 20}};
	const struct record_refusal r2[] = {{START + 7200, 1000, 5}, {START + 7300, 500, 10}};
	report(st, 1, 990, 1, r1, 1);
	report(st, 1, 1000, 3, r2, 2);                  /* refusal 3 would have fit */
	report(st, 1, 800, 1, r1, 1);                   /* older report */
	report(st, 2, 0, 0, NULL, 0);
	/* day 1: two bundles 1 h apart; day 3: one; nothing afterwards */
	const uint32_t c12[] = {1, 2, 0}, b12[] = {300, 100, 50};
	bundle(st, 1, START + 600, 500, c12, b12, 3, true);
	const uint32_t c1[] = {0, 1}, b1[] = {40, 200};
	bundle(st, 2, START + 4200, 260, c1, b1, 2, false);
	const uint32_t c0[] = {0}, b0[] = {40};
	bundle(st, 3, START + 2 * 86400 + 10, 64, c0, b0, 1, true);
	bundle(st, 4, START - 10, 64, c0, b0, 1, true);         /* October: not counted */
	add_text(st, 1, START + 100, 400, 1);
	add_text(st, 1, START + 200, 600, 2);
	add_text(st, 2, START + 300, 10, 0);
	add_text(st, 2, START - 300, 10, 1);                    /* October */
	CU_ASSERT_EQUAL(db_exec(store_db(st), "INSERT INTO messages (vessel, msg_id, crew_id, kind, "
				"body, ts, received, bundle_seq) VALUES (7, 99, 0, 'complaint', x'00', "
				"1793466100, 1793466100, 1), (7, 100, 1, 'sos', x'', 1793466100, "
				"1793466100, 1)"), 0);
	int64_t now = START + 5 * 86400;                        /* mid-month */
	struct ledger_price price = {2000000, "THB"};
	CU_ASSERT_EQUAL_FATAL(ledger_statement(store_db(st), 7, 202611, now, &price, &s), 0);
	CU_ASSERT_EQUAL(s.zone, ZONE);
	CU_ASSERT_EQUAL(s.start, START);
	CU_ASSERT_EQUAL(s.until, now);
	CU_ASSERT_EQUAL(s.hb_interval, 21600);
	CU_ASSERT_EQUAL(s.hb_received, 2);
	CU_ASSERT_EQUAL(s.hb_expected, 5 * 4);
	CU_ASSERT_EQUAL(s.days_contact, 2);
	CU_ASSERT_EQUAL(s.days_covered, 5);
	CU_ASSERT_EQUAL(s.longest_silence, (uint64_t)(now - (START + 2 * 86400 + 10)));
	CU_ASSERT_EQUAL(s.bundles, 3 + 4);                      /* the 4 report bundles too */
	CU_ASSERT_EQUAL(s.airtime, 500 + 260 + 64);
	/* bundle 1: crew 400 of 500, overhead 100: 300 + 75, 100 + 25; bundle 2:
	 * 200 + 60; bundle 3: all 64 unattributed */
	CU_ASSERT_EQUAL(s.airtime_unattributed, 64);
	CU_ASSERT_EQUAL(s.crew_registered, 3);
	CU_ASSERT_EQUAL(s.crew_on_board, 2);
	CU_ASSERT_EQUAL(s.complaints, 1);
	CU_ASSERT_EQUAL(s.sos, 1);
	CU_ASSERT_EQUAL(s.cost_micro, 824 * 2);
	CU_ASSERT_EQUAL_FATAL(s.ncrew, 2);
	const struct statement_crew *a = &s.crew[0], *b = &s.crew[1];
	CU_ASSERT_EQUAL(a->crew_id, 1);
	CU_ASSERT_EQUAL(a->airtime, 375 + 260);
	CU_ASSERT_EQUAL(a->used_on_board, 1000);
	CU_ASSERT_EQUAL(a->text_bytes, 1000);
	CU_ASSERT_EQUAL(a->messages, 2);
	CU_ASSERT_EQUAL(a->delivered, 1);
	CU_ASSERT_EQUAL(a->failed, 1);
	CU_ASSERT_EQUAL(a->refusals, 3);
	CU_ASSERT_EQUAL(a->refused_below, 1);
	CU_ASSERT_EQUAL(a->nref, 3);
	CU_ASSERT_EQUAL(a->ref[0].used, 990);
	CU_ASSERT_EQUAL(b->crew_id, 2);
	CU_ASSERT_EQUAL(b->airtime, 125);
	CU_ASSERT_TRUE(b->reported);
	CU_ASSERT_EQUAL(b->used_on_board, 0);
	CU_ASSERT_EQUAL(b->text_bytes, 10);
	CU_ASSERT_EQUAL(s.flags, STATEMENT_F_REFUSED_BELOW | STATEMENT_F_COUNT_MISMATCH);
	static uint8_t doc[STATEMENT_DOC_MAX];
	CU_ASSERT(statement_doc_sign(&s, ssk, spk, doc, sizeof doc) > 0);
	CU_ASSERT_EQUAL(ledger_statement(store_db(st), 7, 202612, now, NULL, &s), ERR_STATE);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
}

void suite_ledger(void);
void suite_ledger(void)
{
	CU_pSuite s = CU_add_suite("ledger", setup, NULL);
	CU_add_test(s, "golden body and document", test_golden);
	CU_add_test(s, "every changed byte fails verification", test_every_byte);
	CU_add_test(s, "layout rules refused", test_rules);
	CU_add_test(s, "price and month parsing", test_price_and_month);
	CU_add_test(s, "ledger figures from a real database", test_ledger);
}
