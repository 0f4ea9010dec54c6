/*
 * test_frag.c — fragmentation to SBD sizes and bounded reassembly: every
 * order of a 4-fragment bundle, 7 copies of each fragment, interleaved
 * bundles, garbage, and a flood of distinct ids in fixed memory.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frag.h"

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A bundle-like buffer: first byte 0x10 (version 1, top bit clear). */
static void fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
	b[0] = 0x10;
}

struct pieces {
	int n;
	uint8_t msg[FRAG_COUNT_MAX][FRAG_MTU_MAX];
	size_t len[FRAG_COUNT_MAX];
};

static void cut(const uint8_t *b, size_t len, size_t mtu, uint8_t id, struct pieces *p)
{
	p->n = frag_count(len, mtu);
	CU_ASSERT_FATAL(p->n > 0);
	for (int i = 0; i < p->n; i++) {
		ssize_t m = frag_get(b, len, mtu, id, (unsigned)i, p->msg[i], sizeof p->msg[i]);
		CU_ASSERT_FATAL(m > 0);
		CU_ASSERT((size_t)m <= mtu);
		p->len[i] = (size_t)m;
	}
}

static void test_counts(void)
{
	CU_ASSERT_EQUAL(frag_count(270, 270), 1);
	CU_ASSERT_EQUAL(frag_count(271, 270), 2);
	CU_ASSERT_EQUAL(frag_count(536, 270), 2);
	CU_ASSERT_EQUAL(frag_count(537, 270), 3);
	CU_ASSERT_EQUAL(frag_count(16 * 268, 270), 16);
	CU_ASSERT_EQUAL(frag_count(16 * 268 + 1, 270), ERR_TOOBIG);
	CU_ASSERT_EQUAL(frag_count(0, 270), ERR_INVAL);
	CU_ASSERT_EQUAL(frag_count(10, FRAG_MTU_MIN - 1), ERR_INVAL);
	CU_ASSERT_EQUAL(frag_count(10, FRAG_MTU_MAX + 1), ERR_INVAL);
	CU_ASSERT_EQUAL(frag_count(FRAG_TOTAL_MAX + 1, FRAG_MTU_MAX), ERR_TOOBIG);
	uint8_t b[600], out[400];
	fill(b, sizeof b);
	CU_ASSERT_EQUAL(frag_get(b, sizeof b, 340, 1, 2, out, sizeof out), ERR_INVAL); /* 2 fragments */
	CU_ASSERT_EQUAL(frag_get(b, sizeof b, 340, 1, 0, out, 100), ERR_FULL);
	/* A bundle that fits goes whole, unchanged, no header byte. */
	CU_ASSERT_EQUAL(frag_get(b, 200, 270, 1, 0, out, sizeof out), 200);
	CU_ASSERT_EQUAL(memcmp(out, b, 200), 0);
	/* Header layout: 1|id, index<<4 | count-1. */
	CU_ASSERT_EQUAL(frag_get(b, sizeof b, 340, 0x45, 1, out, sizeof out), 2 + 600 - 338);
	CU_ASSERT_EQUAL(out[0], 0x80 | 0x45);
	CU_ASSERT_EQUAL(out[1], (1 << 4) | 1);
}

/* Heap's algorithm over 4 elements: all 24 orders. */
static void permute(int *a, int k, void (*visit)(const int *, void *), void *ctx)
{
	if (k == 1) {
		visit(a, ctx);
		return;
	}
	for (int i = 0; i < k; i++) {
		permute(a, k - 1, visit, ctx);
		int j = (k % 2) ? 0 : i;
		int t = a[j]; a[j] = a[k - 1]; a[k - 1] = t;
	}
}

struct perm_ctx {
	const uint8_t *bundle;
	size_t len;
	struct pieces *p;
	struct frag_reasm *r;
	int orders;
};

static void feed_order(const int *order, void *vctx)
{
	struct perm_ctx *c = vctx;
	frag_reasm_init(c->r);
	const uint8_t *b = NULL;
	size_t bl = 0;
	for (int k = 0; k < 4; k++) {
		int rc = frag_input(c->r, 9, c->p->msg[order[k]], c->p->len[order[k]], 0, &b, &bl);
		CU_ASSERT_EQUAL(rc, k == 3 ? 1 : 0);
	}
	CU_ASSERT(bl == c->len && b && memcmp(b, c->bundle, bl) == 0);
	CU_ASSERT_EQUAL(frag_pending(c->r), 0u);
	c->orders++;
}

static void test_every_order(void)
{
	static const size_t mtus[] = { FRAG_MTU_SBD_MT, FRAG_MTU_SBD_MO };
	struct frag_reasm *r = malloc(sizeof *r);
	static struct pieces p;
	CU_ASSERT_FATAL(r != NULL);
	for (size_t m = 0; m < 2; m++) {
		size_t per = mtus[m] - FRAG_HDR_BYTES;
		/* 4 fragments: a full last one and a 1-byte last one. */
		const size_t lens[] = { 4 * per, 3 * per + 1, 3 * per + 77 };
		for (size_t k = 0; k < 3; k++) {
			uint8_t bundle[4 * 338];
			fill(bundle, lens[k]);
			cut(bundle, lens[k], mtus[m], 17, &p);
			CU_ASSERT_EQUAL_FATAL(p.n, 4);
			int order[4] = { 0, 1, 2, 3 };
			struct perm_ctx c = { bundle, lens[k], &p, r, 0 };
			permute(order, 4, feed_order, &c);
			CU_ASSERT_EQUAL(c.orders, 24);
		}
	}
	free(r);
}

static void test_duplicates_and_interleaving(void)
{
	struct frag_reasm *r = malloc(sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	frag_reasm_init(r);
	static struct pieces a, b;
	uint8_t ba[1000], bb[700];
	fill(ba, sizeof ba);
	fill(bb, sizeof bb);
	cut(ba, sizeof ba, 270, 3, &a);
	cut(bb, sizeof bb, 270, 4, &b);
	/* 7 copies of every fragment of both bundles, shuffled (seeded). */
	enum { COPIES = 7 };
	int slots[2 * FRAG_COUNT_MAX * COPIES][2];
	int n = 0;
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < (w ? b.n : a.n); i++)
			for (int c = 0; c < COPIES; c++) {
				slots[n][0] = w;
				slots[n][1] = i;
				n++;
			}
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rng() % (uint64_t)(i + 1));
		int t0 = slots[i][0], t1 = slots[i][1];
		slots[i][0] = slots[j][0]; slots[i][1] = slots[j][1];
		slots[j][0] = t0; slots[j][1] = t1;
	}
	int done_a = 0, done_b = 0, dups = 0, stored = 0;
	for (int k = 0; k < n; k++) {
		struct pieces *p = slots[k][0] ? &b : &a;
		const uint8_t *out = NULL;
		size_t ol = 0;
		int rc = frag_input(r, 1, p->msg[slots[k][1]], p->len[slots[k][1]], (uint64_t)k, &out, &ol);
		if (rc == 1) {
			if (slots[k][0]) {
				done_b++;
				CU_ASSERT(ol == sizeof bb && memcmp(out, bb, ol) == 0);
			} else {
				done_a++;
				CU_ASSERT(ol == sizeof ba && memcmp(out, ba, ol) == 0);
			}
		} else if (rc == ERR_DUP) {
			dups++;
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			stored++;
		}
	}
	CU_ASSERT_EQUAL(done_a, 1);             /* exactly once, despite 7 copies */
	CU_ASSERT_EQUAL(done_b, 1);
	CU_ASSERT_EQUAL(stored + 2, a.n + b.n);
	CU_ASSERT_EQUAL(dups, n - a.n - b.n);
	CU_ASSERT_EQUAL(r->st.duplicates, (uint64_t)dups);
	CU_ASSERT_EQUAL(frag_pending(r), 0u);
	/* The same id from another source is another bundle. */
	const uint8_t *out = NULL;
	size_t ol = 0;
	CU_ASSERT_EQUAL(frag_input(r, 2, a.msg[0], a.len[0], 0, &out, &ol), 0);
	/* Whole bundles pass straight through. */
	CU_ASSERT_EQUAL(frag_input(r, 1, ba, 200, 0, &out, &ol), 1);
	CU_ASSERT(out == ba && ol == 200);
	free(r);
}

static void test_garbage(void)
{
	struct frag_reasm *r = malloc(sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	frag_reasm_init(r);
	static const struct { uint8_t m[4]; size_t len; int rc; } v[] = {
		{ { 0 }, 0, ERR_INVAL },                        /* empty */
		{ { 0x81, 0x01 }, 2, ERR_INVAL },               /* header only */
		{ { 0x81 }, 1, ERR_INVAL },
		{ { 0x81, 0x00, 1 }, 3, ERR_INVAL },            /* count 1 */
		{ { 0x81, 0x21, 1 }, 3, ERR_INVAL },            /* index 2 of 2 */
		{ { 0x81, 0xf3, 1 }, 3, ERR_INVAL },            /* index 15 of 4 */
	};
	const uint8_t *out;
	size_t ol;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CU_ASSERT_EQUAL(frag_input(r, 1, v[i].m, v[i].len, 0, &out, &ol), v[i].rc);
	static uint8_t big[FRAG_MTU_MAX + 2];
	memset(big, 0, sizeof big);
	big[0] = 0x81;
	big[1] = 0x01;
	CU_ASSERT_EQUAL(frag_input(r, 1, big, sizeof big - 1, 0, &out, &ol), ERR_TOOBIG);
	big[0] = 0x10;
	CU_ASSERT_EQUAL(frag_input(r, 1, big, sizeof big - 1, 0, &out, &ol), ERR_TOOBIG);
	/* Inconsistent lengths: non-last fragments differ. */
	uint8_t f0[] = { 0x82, 0x02, 1, 2, 3, 4 }, f1[] = { 0x82, 0x12, 5, 6, 7 };
	CU_ASSERT_EQUAL(frag_input(r, 1, f0, sizeof f0, 0, &out, &ol), 0);
	CU_ASSERT_EQUAL(frag_input(r, 1, f1, sizeof f1, 0, &out, &ol), ERR_INVAL);
	/* A last fragment longer than the stride. */
	uint8_t f2[] = { 0x82, 0x22, 1, 2, 3, 4, 5 };
	CU_ASSERT_EQUAL(frag_input(r, 1, f2, sizeof f2, 0, &out, &ol), ERR_INVAL);
	CU_ASSERT(r->st.garbage >= 10);
	/* The slot still completes with consistent fragments. */
	uint8_t g1[] = { 0x82, 0x12, 5, 6, 7, 8 }, g2[] = { 0x82, 0x22, 9 };
	CU_ASSERT_EQUAL(frag_input(r, 1, g1, sizeof g1, 0, &out, &ol), 0);
	CU_ASSERT_EQUAL(frag_input(r, 1, g2, sizeof g2, 0, &out, &ol), 1);
	CU_ASSERT_EQUAL(ol, 9u);
	static const uint8_t want[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	CU_ASSERT(memcmp(out, want, 9) == 0);
	/* An id reused with another count restarts the slot. */
	uint8_t h0[] = { 0x83, 0x01, 1 }, h1[] = { 0x83, 0x02, 1 };
	CU_ASSERT_EQUAL(frag_input(r, 1, h0, sizeof h0, 0, &out, &ol), 0);
	CU_ASSERT_EQUAL(frag_input(r, 1, h1, sizeof h1, 0, &out, &ol), 0);
	CU_ASSERT_EQUAL(r->st.restarted, 1u);
	/* Random junk never crashes and never completes a 2+ fragment bundle
	 * out of thin air more than the structure allows. */
	for (int i = 0; i < 20000; i++) {
		uint8_t junk[64];
		size_t jl = (size_t)(rng() % sizeof junk);
		for (size_t k = 0; k < jl; k++)
			junk[k] = (uint8_t)rng();
		if (jl)
			junk[0] |= 0x80;
		int rc = frag_input(r, (uint32_t)(rng() % 3), junk, jl, (uint64_t)i, &out, &ol);
		CU_ASSERT(rc == 0 || rc == 1 || rc == ERR_DUP || rc == ERR_INVAL || rc == ERR_TOOBIG);
		if (rc == 1)
			CU_ASSERT(ol <= FRAG_TOTAL_MAX);
		CU_ASSERT(frag_pending(r) <= FRAG_SLOTS);
	}
	free(r);
}

static void test_flood_bounded(void)
{
	struct frag_reasm *r = malloc(sizeof *r);
	CU_ASSERT_FATAL(r != NULL);
	frag_reasm_init(r);
	const uint8_t *out;
	size_t ol;
	/* 50,000 first fragments of distinct (source, id) pairs. */
	for (uint32_t i = 0; i < 50000; i++) {
		uint8_t f[] = { (uint8_t)(0x80 | (i & 0x7f)), 0x03, 1, 2, 3 };
		CU_ASSERT_EQUAL(frag_input(r, i >> 7, f, sizeof f, i, &out, &ol), 0);
		CU_ASSERT(frag_pending(r) <= FRAG_SLOTS);
	}
	CU_ASSERT_EQUAL(frag_pending(r), FRAG_SLOTS);
	CU_ASSERT_EQUAL(r->st.evicted, 50000u - FRAG_SLOTS);
	/* A real bundle still gets through when its fragments come together. */
	static struct pieces p;
	uint8_t b[900];
	fill(b, sizeof b);
	cut(b, sizeof b, 340, 99, &p);
	for (int i = p.n - 1; i >= 0; i--)
		CU_ASSERT_EQUAL(frag_input(r, 123456, p.msg[i], p.len[i], 60000, &out, &ol), i == 0 ? 1 : 0);
	CU_ASSERT(ol == sizeof b && memcmp(out, b, ol) == 0);
	/* Old partial bundles expire by age. */
	uint8_t f[] = { 0x85, 0x01, 1 };
	CU_ASSERT_EQUAL(frag_input(r, 999999, f, sizeof f, 60000 + FRAG_SLOT_TTL_MS, &out, &ol), 0);
	CU_ASSERT_EQUAL(frag_pending(r), 1u);
	free(r);
}

void suite_frag(void);
void suite_frag(void)
{
	CU_pSuite s = CU_add_suite("frag", NULL, NULL);
	CU_add_test(s, "counts and header layout", test_counts);
	CU_add_test(s, "every order of 4 fragments at MTU 270 and 340", test_every_order);
	CU_add_test(s, "7 duplicates, interleaved bundles", test_duplicates_and_interleaving);
	CU_add_test(s, "garbage rejected", test_garbage);
	CU_add_test(s, "flood of ids in bounded memory", test_flood_bounded);
}
