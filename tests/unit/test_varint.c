/*
 * test_varint.c — varint vectors, refusals, zigzag, and the bounded cursors.
 *
 * Shows: every listed value encodes to its fixed bytes and back; non-minimal,
 * over-long and truncated encodings are refused with the right code and the
 * decoder never reads past len (each prefix is decoded from an exact-size
 * heap copy, so ASan would catch an overread); writers never write past cap.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "proto/varint.h"

struct vec {
	uint64_t v;
	size_t n;
	uint8_t b[VARINT_MAX_BYTES];
};

static const struct vec good[] = {
	{0, 1, {0x00}},
	{1, 1, {0x01}},
	{127, 1, {0x7f}},
	{128, 2, {0x80, 0x01}},
	{300, 2, {0xac, 0x02}},
	{16383, 2, {0xff, 0x7f}},
	{16384, 3, {0x80, 0x80, 0x01}},
	{1750000000u, 5, {0x80, 0xc3, 0xbb, 0xc2, 0x06}},
	{UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
	{(uint64_t)1 << 32, 5, {0x80, 0x80, 0x80, 0x80, 0x10}},
	{(uint64_t)1 << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
	{UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
};

struct bad {
	const char *what;
	size_t n;
	uint8_t b[12];
	int err;
};

static const struct bad bad[] = {
	{"empty", 0, {0}, ERR_TRUNC},
	{"lone continuation", 1, {0x80}, ERR_TRUNC},
	{"two continuations", 2, {0xff, 0xff}, ERR_TRUNC},
	{"nine continuations", 9, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ERR_TRUNC},
	{"zero in two bytes", 2, {0x80, 0x00}, ERR_INVAL},
	{"127 in two bytes", 2, {0xff, 0x00}, ERR_INVAL},
	{"1 in three bytes", 3, {0x81, 0x80, 0x00}, ERR_INVAL},
	{"zero tenth byte", 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, ERR_INVAL},
	{"bit 64 set", 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, ERR_INVAL},
	{"tenth byte 0x7f", 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, ERR_INVAL},
	{"eleven bytes", 11, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01}, ERR_INVAL},
	{"eleven zero-ish", 11, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, ERR_INVAL},
};

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))

/* A heap block of exactly n bytes (at least 1), holding p[0..n). */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

static void test_vectors(void)
{
	for (size_t i = 0; i < NVEC(good); i++) {
		const struct vec *t = &good[i];
		uint8_t out[VARINT_MAX_BYTES + 2];
		memset(out, 0xee, sizeof out);
		CU_ASSERT_EQUAL(varint_size(t->v), t->n);
		CU_ASSERT_EQUAL(varint_encode(t->v, out, sizeof out), (ssize_t)t->n);
		CU_ASSERT_EQUAL(memcmp(out, t->b, t->n), 0);
		CU_ASSERT_EQUAL(out[t->n], 0xee);

		uint8_t *in = exact_copy(t->b, t->n);
		uint64_t v = 0;
		CU_ASSERT_EQUAL(varint_decode(in, t->n, &v), (ssize_t)t->n);
		CU_ASSERT_EQUAL(v, t->v);
		free(in);
	}
}

static void test_refused(void)
{
	for (size_t i = 0; i < NVEC(bad); i++) {
		uint8_t *in = exact_copy(bad[i].b, bad[i].n);
		uint64_t v = 12345;
		ssize_t rc = varint_decode(in, bad[i].n, &v);
		if (rc != bad[i].err)
			fprintf(stderr, "\n  %s: got %zd\n", bad[i].what, rc);
		CU_ASSERT_EQUAL(rc, bad[i].err);
		CU_ASSERT_EQUAL(v, 12345);     /* untouched on error */
		free(in);
	}
}

/* Every proper prefix of every good vector is truncated, read from an
 * exact-size copy. */
static void test_truncated_prefixes(void)
{
	for (size_t i = 0; i < NVEC(good); i++) {
		for (size_t n = 0; n < good[i].n; n++) {
			uint8_t *in = exact_copy(good[i].b, n);
			uint64_t v;
			CU_ASSERT_EQUAL(varint_decode(in, n, &v), ERR_TRUNC);
			free(in);
		}
	}
}

/* Trailing bytes after a varint are not consumed. */
static void test_trailing_left(void)
{
	const uint8_t in[] = {0xac, 0x02, 0x05, 0x80};
	uint64_t v;
	CU_ASSERT_EQUAL(varint_decode(in, sizeof in, &v), 2);
	CU_ASSERT_EQUAL(v, 300);
}

static void test_encode_small_cap(void)
{
	for (size_t i = 0; i < NVEC(good); i++) {
		for (size_t cap = 0; cap < good[i].n; cap++) {
			uint8_t out[VARINT_MAX_BYTES];
			memset(out, 0xee, sizeof out);
			CU_ASSERT_EQUAL(varint_encode(good[i].v, out, cap), ERR_FULL);
			for (size_t k = 0; k < sizeof out; k++)
				CU_ASSERT_EQUAL(out[k], 0xee);
		}
	}
}

static uint64_t prng_state;

static uint64_t prng(void)
{
	/* xorshift64*, seeded per test: reproducible. */
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545f4914f6cdd1dULL;
}

static void test_random_round_trip(void)
{
	prng_state = 0x1f2e3d4c5b6a7988ULL;
	for (int i = 0; i < 20000; i++) {
		unsigned bits = (unsigned)(prng() % 65);
		uint64_t v = bits == 0 ? 0 : prng() >> (64 - bits);
		uint8_t buf[VARINT_MAX_BYTES];
		ssize_t n = varint_encode(v, buf, sizeof buf);
		CU_ASSERT_EQUAL_FATAL(n, (ssize_t)varint_size(v));
		/* Minimal: the size is the number of 7-bit groups of v. */
		size_t want = 1;
		for (uint64_t x = v >> 7; x; x >>= 7)
			want++;
		CU_ASSERT_EQUAL(n, (ssize_t)want);
		uint64_t back;
		CU_ASSERT_EQUAL(varint_decode(buf, (size_t)n, &back), n);
		CU_ASSERT_EQUAL(back, v);
	}
}

static void test_zigzag(void)
{
	static const struct {
		int64_t s;
		uint64_t u;
	} z[] = {
		{0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {2, 4},
		{-850123, 1700245}, {9754321, 19508642},
		{INT64_MAX, UINT64_MAX - 1}, {INT64_MIN, UINT64_MAX},
	};
	for (size_t i = 0; i < NVEC(z); i++) {
		CU_ASSERT_EQUAL(varint_zigzag_encode(z[i].s), z[i].u);
		CU_ASSERT_EQUAL(varint_zigzag_decode(z[i].u), z[i].s);
	}
	prng_state = 0x0badc0ffee123457ULL;
	for (int i = 0; i < 10000; i++) {
		uint64_t u = prng();
		CU_ASSERT_EQUAL(varint_zigzag_encode(varint_zigzag_decode(u)), u);
	}
}

static void test_cursor(void)
{
	const uint8_t in[] = {0x05, 0xac, 0x02, 'a', 'b', 'c', 0x80, 0x00};
	uint8_t *p = exact_copy(in, sizeof in);
	struct cursor c;
	cursor_init(&c, p, sizeof in);
	uint8_t b;
	uint64_t v;
	const uint8_t *s;
	CU_ASSERT_EQUAL(cursor_get_u8(&c, &b), 0);
	CU_ASSERT_EQUAL(b, 5);
	CU_ASSERT_EQUAL(cursor_get_varint_max(&c, 299, &v), ERR_INVAL);
	CU_ASSERT_EQUAL(c.len, sizeof in - 1);     /* unchanged on error */
	CU_ASSERT_EQUAL(cursor_get_varint_max(&c, 300, &v), 0);
	CU_ASSERT_EQUAL(v, 300);
	CU_ASSERT_EQUAL(cursor_get_bytes(&c, 6, &s), ERR_TRUNC);
	CU_ASSERT_EQUAL(c.len, 5);
	CU_ASSERT_EQUAL(cursor_get_bytes(&c, 3, &s), 0);
	CU_ASSERT_EQUAL(memcmp(s, "abc", 3), 0);
	CU_ASSERT_EQUAL(cursor_get_varint(&c, &v), ERR_INVAL);     /* 80 00 */
	CU_ASSERT_EQUAL(c.len, 2);
	CU_ASSERT_EQUAL(cursor_get_bytes(&c, 2, &s), 0);
	CU_ASSERT_EQUAL(cursor_get_u8(&c, &b), ERR_TRUNC);
	CU_ASSERT_EQUAL(cursor_get_varint(&c, &v), ERR_TRUNC);
	CU_ASSERT_EQUAL(cursor_get_bytes(&c, 0, &s), 0);
	CU_ASSERT_EQUAL(c.len, 0);
	free(p);
}

static void test_wcursor(void)
{
	struct wcursor m;
	wcursor_init(&m, NULL, 0);
	wcursor_put_varint(&m, 300);
	wcursor_put_bytes(&m, (const uint8_t *)"abcd", 4);
	wcursor_put_u8(&m, 9);
	CU_ASSERT_EQUAL(m.len, 7);
	CU_ASSERT_FALSE(m.full);

	uint8_t out[8];
	for (size_t cap = 0; cap <= 7; cap++) {
		memset(out, 0xee, sizeof out);
		struct wcursor w;
		wcursor_init(&w, out, cap);
		wcursor_put_varint(&w, 300);
		wcursor_put_bytes(&w, (const uint8_t *)"abcd", 4);
		wcursor_put_u8(&w, 9);
		CU_ASSERT_EQUAL(w.len, 7);                 /* counts what it needed */
		CU_ASSERT_EQUAL(w.full, cap < 7);
		for (size_t k = cap; k < sizeof out; k++)
			CU_ASSERT_EQUAL(out[k], 0xee);     /* nothing past cap */
		if (cap == 7)
			CU_ASSERT_EQUAL(memcmp(out, "\xac\x02" "abcd\x09", 7), 0);
	}
}

/* Fixed-width little-endian fields: vectors, widths 1..8, truncation. */
static void test_le(void)
{
	uint8_t buf[16];
	struct wcursor w;
	wcursor_init(&w, buf, sizeof buf);
	wcursor_put_le(&w, 0x0102030405060708ull, 8);
	wcursor_put_le(&w, 0xabcd, 2);
	wcursor_put_le(&w, 0xffffffffull, 3);           /* keeps the low 3 bytes */
	static const uint8_t want[] = {8, 7, 6, 5, 4, 3, 2, 1, 0xcd, 0xab, 0xff, 0xff, 0xff};
	CU_ASSERT_EQUAL(w.len, sizeof want);
	CU_ASSERT_FALSE(w.full);
	CU_ASSERT_EQUAL(memcmp(buf, want, sizeof want), 0);

	struct cursor c;
	uint64_t v = 0;
	cursor_init(&c, buf, w.len);
	CU_ASSERT_EQUAL(cursor_get_le(&c, 8, &v), 0);
	CU_ASSERT_EQUAL(v, 0x0102030405060708ull);
	CU_ASSERT_EQUAL(cursor_get_le(&c, 2, &v), 0);
	CU_ASSERT_EQUAL(v, 0xabcd);
	CU_ASSERT_EQUAL(cursor_get_le(&c, 4, &v), ERR_TRUNC);  /* 3 left */
	CU_ASSERT_EQUAL(c.len, 3);                              /* unchanged */
	CU_ASSERT_EQUAL(cursor_get_le(&c, 3, &v), 0);
	CU_ASSERT_EQUAL(v, 0xffffff);

	for (size_t n = 1; n <= 8; n++) {                      /* every width round-trips */
		uint64_t x = 0x8877665544332211ull & (n == 8 ? ~0ull : ((1ull << (8 * n)) - 1));
		wcursor_init(&w, buf, n);
		wcursor_put_le(&w, x, n);
		CU_ASSERT_FALSE(w.full);
		cursor_init(&c, buf, n);
		CU_ASSERT_EQUAL(cursor_get_le(&c, n, &v), 0);
		CU_ASSERT_EQUAL(v, x);
	}
	wcursor_init(&w, buf, 3);
	wcursor_put_le(&w, 1, 4);
	CU_ASSERT_TRUE(w.full);
}

void suite_varint(void);
void suite_varint(void)
{
	CU_pSuite s = CU_add_suite("varint", NULL, NULL);
	CU_add_test(s, "vectors encode and decode", test_vectors);
	CU_add_test(s, "non-minimal, over-long, truncated refused", test_refused);
	CU_add_test(s, "every prefix truncated", test_truncated_prefixes);
	CU_add_test(s, "trailing bytes left", test_trailing_left);
	CU_add_test(s, "encode into small buffer", test_encode_small_cap);
	CU_add_test(s, "seeded random round trip", test_random_round_trip);
	CU_add_test(s, "zigzag", test_zigzag);
	CU_add_test(s, "bounded read cursor", test_cursor);
	CU_add_test(s, "bounded write cursor", test_wcursor);
	CU_add_test(s, "fixed-width little-endian fields", test_le);
}
