/* test_script.c — the script transform: golden vectors, round trips over
 * the phrase lists and seeded random UTF-8 of every plane, the invalid
 * UTF-8 table with offsets, malformed transformed input, size bounds. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/script.h"

struct golden {
	const char *utf8;
	const char *enc;      /* expected transform */
	size_t enc_len;
};

static const struct golden goldens[] = {
	{ "ok", "ok", 2 },
	{ "", "", 0 },
	{ "a\x01" "b", "a\x01\x01" "b", 4 },                 /* tag byte quoted */
	{ "\x10\x17\x18\x19", "\x01\x10\x01\x17\x01\x18\x19", 7 },
	{ "\t\r\n\x00x", "\t\r\n\x00x", 5 },
	/* Thai สวัสดี: SELECT 2, then one byte per letter */
	{ "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5",
	  "\x12\xaa\xa7\xb1\xaa\x94\xb5", 7 },
	/* Burmese မင်္ဂလာပါ 2024: SELECT 4, ASCII digits need no switch */
	{ "\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac\xe1\x80\x95\xe1\x80\xab 2024",
	  "\x14\x99\x84\xba\xb9\x82\x9c\xac\x95\xab 2024", 15 },
	/* Khmer សួស្ដី: SELECT 7 */
	{ "\xe1\x9e\x9f\xe1\x9e\xbd\xe1\x9e\x9f\xe1\x9f\x92\xe1\x9e\x8a\xe1\x9e\xb8",
	  "\x17\x9f\xbd\x9f\xd2\x8a\xb8", 7 },
	/* Lao ສະບາຍດີ: SELECT 3 */
	{ "\xe0\xba\xaa\xe0\xba\xb0\xe0\xba\x9a\xe0\xba\xb2\xe0\xba\x8d\xe0\xba\x94\xe0\xba\xb5",
	  "\x13\xaa\xb0\x9a\xb2\x8d\x94\xb5", 8 },
	/* don’t: punctuation window */
	{ "don\xe2\x80\x99t", "don\x11\x99t", 6 },
	/* an emoji has no window: QUOTE + its UTF-8 */
	{ "hi \xf0\x9f\x98\x80", "hi \x01\xf0\x9f\x98\x80", 8 },
	/* Cyrillic привет: DEFINE block 0x08 (U+0400) */
	{ "\xd0\xbf\xd1\x80\xd0\xb8", "\x18\x08\xbf\xc0\xb8", 5 },
	/* lone é: SELECT 0 */
	{ "caf\xc3\xa9", "caf\x10\xe9", 5 },
};

static void test_golden(void)
{
	for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
		const struct golden *g = &goldens[i];
		size_t n = strlen(g->utf8);
		if (i == 4)
			n = 5;      /* contains a NUL */
		uint8_t enc[64], dec[64];
		ssize_t e = script_encode((const uint8_t *)g->utf8, n, enc, sizeof enc);
		CU_ASSERT_EQUAL(e, (ssize_t)g->enc_len);
		if (e == (ssize_t)g->enc_len)
			CU_ASSERT_EQUAL(memcmp(enc, g->enc, g->enc_len), 0);
		ssize_t d = script_decode((const uint8_t *)g->enc, g->enc_len, dec, sizeof dec);
		CU_ASSERT_EQUAL(d, (ssize_t)n);
		if (d == (ssize_t)n)
			CU_ASSERT_EQUAL(memcmp(dec, g->utf8, n), 0);
	}
}

struct bad_utf8 {
	const char *s;
	size_t n;
	size_t off;
};

static const struct bad_utf8 bads[] = {
	{ "\x80", 1, 0 },                       /* lone continuation */
	{ "ab\xbf", 3, 2 },
	{ "\xc0\xaf", 2, 0 },                   /* overlong '/' */
	{ "\xc1\xbf", 2, 0 },                   /* overlong */
	{ "x\xe0\x80\xaf", 4, 1 },              /* overlong 3-byte */
	{ "\xe0\x9f\xbf", 3, 0 },               /* overlong below U+0800 */
	{ "\xf0\x80\x80\xaf", 4, 0 },           /* overlong 4-byte */
	{ "\xf0\x8f\xbf\xbf", 4, 0 },           /* overlong below U+10000 */
	{ "ok\xed\xa0\x80", 5, 2 },             /* surrogate U+D800 */
	{ "\xed\xbf\xbf", 3, 0 },               /* surrogate U+DFFF */
	{ "\xf4\x90\x80\x80", 4, 0 },           /* U+110000 */
	{ "\xf5\x80\x80\x80", 4, 0 },           /* lead byte 0xf5 */
	{ "\xff", 1, 0 },
	{ "\xfe", 1, 0 },
	{ "abc\xe0\xb8", 5, 3 },                /* truncated Thai at the end */
	{ "\xe0\xb8" "a", 3, 0 },               /* truncated in the middle */
	{ "\xf0\x9f\x98", 3, 0 },               /* truncated emoji */
	{ "\xc3", 1, 0 },
	{ "\xe1\x80\x80\xe1\x80", 5, 3 },
	{ "\xc3\xa9\xc3\x28", 4, 2 },           /* bad continuation */
};

static void test_invalid_utf8(void)
{
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		uint8_t out[32];
		size_t off = 999;
		CU_ASSERT_EQUAL(script_utf8_check((const uint8_t *)bads[i].s, bads[i].n, &off), ERR_UTF8);
		CU_ASSERT_EQUAL(off, bads[i].off);
		CU_ASSERT_EQUAL(script_encode((const uint8_t *)bads[i].s, bads[i].n, out, sizeof out), ERR_UTF8);
	}
	/* Boundaries that ARE valid. */
	static const char *goods[] = { "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
				       "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
				       "\xf4\x8f\xbf\xbf" };
	for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
		uint8_t enc[16], dec[16];
		size_t n = strlen(goods[i]);
		CU_ASSERT_EQUAL(script_utf8_check((const uint8_t *)goods[i], n, NULL), 0);
		ssize_t e = script_encode((const uint8_t *)goods[i], n, enc, sizeof enc);
		CU_ASSERT(e > 0);
		CU_ASSERT_EQUAL(script_decode(enc, (size_t)e, dec, sizeof dec), (ssize_t)n);
		CU_ASSERT_EQUAL(memcmp(dec, goods[i], n), 0);
	}
}

struct bad_enc {
	const char *s;
	size_t n;
};

static const struct bad_enc bad_encs[] = {
	{ "\x80", 1 },                  /* window byte before any window */
	{ "abc\xff", 4 },
	{ "\x01", 1 },                  /* QUOTE at the end */
	{ "\x01\x80", 2 },              /* QUOTE of a continuation byte */
	{ "\x01\xe0\xb8", 3 },          /* QUOTE of a truncated character */
	{ "\x01\xed\xa0\x80", 4 },      /* QUOTE of a surrogate */
	{ "\x01\xc0\xaf", 3 },          /* QUOTE of an overlong */
	{ "\x18", 1 },                  /* DEFINE cut short */
	{ "\x18\x00\x80", 3 },          /* DEFINE 0 */
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof bad_encs / sizeof bad_encs[0]; i++) {
		uint8_t out[32];
		CU_ASSERT_EQUAL(script_decode((const uint8_t *)bad_encs[i].s, bad_encs[i].n, out, sizeof out), ERR_INVAL);
	}
	/* Tags at the end and every DEFINE block decode to valid UTF-8. */
	uint8_t in[3] = { SCRIPT_TAG_DEFINE, 0, 0xff }, out[8];
	for (unsigned b = 1; b <= 0xff; b++) {
		in[1] = (uint8_t)b;
		ssize_t d = script_decode(in, 3, out, sizeof out);
		CU_ASSERT_FATAL(d >= 2 && d <= 3);
		CU_ASSERT_EQUAL(script_utf8_check(out, (size_t)d, NULL), 0);
	}
	CU_ASSERT_EQUAL(script_decode((const uint8_t *)"\x12", 1, out, sizeof out), 0);
}

static void test_cap(void)
{
	const char *t = "\xe0\xb8\xaa\xe0\xb8\xa7 ok \xf0\x9f\x98\x80 \x01";
	size_t n = strlen(t);
	uint8_t enc[64], dec[64];
	ssize_t e = script_encode((const uint8_t *)t, n, enc, sizeof enc);
	CU_ASSERT_FATAL(e > 0);
	for (size_t cap = 0; cap < (size_t)e; cap++)
		CU_ASSERT_EQUAL(script_encode((const uint8_t *)t, n, enc, cap), ERR_FULL);
	for (size_t cap = 0; cap < n; cap++)
		CU_ASSERT_EQUAL(script_decode(enc, (size_t)e, dec, cap), ERR_FULL);
	CU_ASSERT_EQUAL(script_decode(enc, (size_t)e, dec, n), (ssize_t)n);
	CU_ASSERT_EQUAL(script_encode(NULL, SCRIPT_INPUT_MAX + 1u, enc, sizeof enc), ERR_TOOBIG);
}

/* xorshift64*: seeded, reproducible. */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t put_cp(uint8_t *o, uint32_t c)
{
	if (c < 0x80) { o[0] = (uint8_t)c; return 1; }
	if (c < 0x800) { o[0] = (uint8_t)(0xc0 | (c >> 6)); o[1] = (uint8_t)(0x80 | (c & 63)); return 2; }
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (c >> 12)); o[1] = (uint8_t)(0x80 | ((c >> 6) & 63));
		o[2] = (uint8_t)(0x80 | (c & 63)); return 3;
	}
	o[0] = (uint8_t)(0xf0 | (c >> 18)); o[1] = (uint8_t)(0x80 | ((c >> 12) & 63));
	o[2] = (uint8_t)(0x80 | ((c >> 6) & 63)); o[3] = (uint8_t)(0x80 | (c & 63)); return 4;
}

static uint32_t random_cp(void)
{
	static const uint32_t bases[] = { 0x0e00, 0x0e80, 0x1000, 0x1780, 0xaa60, 0xa9e0, 0x2000, 0x0080 };
	uint32_t c;
	switch (rng() % 6) {
	case 0: return (uint32_t)(rng() % 0x80);                          /* ASCII incl. tags */
	case 1: return bases[rng() % 8] + (uint32_t)(rng() % 0x80);       /* window scripts */
	case 2: return 0x80 + (uint32_t)(rng() % 0x7f80);                 /* DEFINE range */
	case 3: return 0x10000 + (uint32_t)(rng() % 0x100000);            /* planes 1..16 */
	default:
		do
			c = (uint32_t)(rng() % 0x110000);
		while (c >= 0xd800 && c <= 0xdfff);
		return c;
	}
}

static void test_random_round_trip(void)
{
	static uint8_t text[4096], enc[SCRIPT_ENCODE_MAX(4096)], dec[SCRIPT_DECODE_MAX(SCRIPT_ENCODE_MAX(4096))];
	rng_state = 0x4c6966656c696e65ull;  /* fixed seed */
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = 0, want = (size_t)(rng() % 200);
		for (size_t k = 0; k < want; k++) {
			uint32_t c = random_cp();
			/* runs of one script, as in real text */
			size_t run = 1 + (size_t)(rng() % 6);
			for (size_t r = 0; r < run && n + 4 <= sizeof text; r++)
				n += put_cp(text + n, r == 0 ? c : (c & ~0x7fu) + (uint32_t)(rng() % 0x80) * (c >= 0x80));
		}
		/* the run trick can land on surrogates or < 0x80: keep only valid text */
		if (script_utf8_check(text, n, NULL) != 0)
			continue;
		ssize_t e = script_encode(text, n, enc, sizeof enc);
		CU_ASSERT_FATAL(e >= 0);
		CU_ASSERT((size_t)e <= SCRIPT_ENCODE_MAX(n));
		ssize_t d = script_decode(enc, (size_t)e, dec, sizeof dec);
		CU_ASSERT_FATAL(d == (ssize_t)n);
		CU_ASSERT(memcmp(dec, text, n) == 0);
	}
}

/* Every phrase list (tools/phrases/NAME.VERSION.txt) round-trips; SEA
 * scripts shrink to < 0.45 of UTF-8. */
static void test_phrase_lists(void)
{
	static const struct { const char *name; double max_ratio; } lists[] = {
		{ "en.1", 1.0 }, { "en.2", 1.0 }, { "mixed.1", 1.0 }, { "mixed.2", 1.0 },
		{ "tha.1", 0.45 }, { "tha.2", 0.45 }, { "lao.1", 0.45 }, { "lao.2", 0.45 },
		{ "mya.1", 0.45 }, { "khm.1", 0.45 },
	};
	const char *src = getenv("LIFELINE_SRC");
	static uint8_t buf[1 << 18], enc[SCRIPT_ENCODE_MAX(1 << 18)], dec[1 << 18];
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/tools/phrases/%s.txt", src ? src : ".", lists[i].name);
		FILE *f = fopen(path, "rb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		size_t n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		CU_ASSERT(n >= 1000);
		size_t utf8 = 0, coded = 0, pos = 0;
		while (pos < n) {
			uint8_t *nl = memchr(buf + pos, '\n', n - pos);
			size_t len = nl ? (size_t)(nl - (buf + pos)) : n - pos;
			if (len > 0 && buf[pos] != '#') {
				ssize_t e = script_encode(buf + pos, len, enc, sizeof enc);
				CU_ASSERT_FATAL(e > 0);
				ssize_t d = script_decode(enc, (size_t)e, dec, sizeof dec);
				CU_ASSERT(d == (ssize_t)len && memcmp(dec, buf + pos, len) == 0);
				utf8 += len;
				coded += (size_t)e;
			}
			pos += len + 1;
		}
		CU_ASSERT(utf8 > 0 && (double)coded <= lists[i].max_ratio * (double)utf8);
	}
}

void suite_script(void);
void suite_script(void)
{
	CU_pSuite s = CU_add_suite("script", NULL, NULL);
	CU_add_test(s, "golden vectors", test_golden);
	CU_add_test(s, "invalid UTF-8 with offsets", test_invalid_utf8);
	CU_add_test(s, "malformed transformed input", test_malformed);
	CU_add_test(s, "output caps", test_cap);
	CU_add_test(s, "random UTF-8 round trips", test_random_round_trip);
	CU_add_test(s, "phrase lists round trip and shrink", test_phrase_lists);
}
