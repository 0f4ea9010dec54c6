/* test_compress.c — [method][raw deflate] blocks: round trips with every
 * dictionary, stored fallback, the deflate bomb, corrupt / truncated /
 * trailing data, no state between calls, dictionary choice, and the
 * shipped dictionaries rebuilt from tools/phrases byte for byte. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proto/compress.h"
#include "proto/dict.h"
#include "proto/script.h"

static struct compress_work *W;

static const char *samples[] = {
	"ok i miss you so much, when are you coming home? the kids ask every day",
	"\xe0\xb8\x84\xe0\xb8\xb4\xe0\xb8\x94\xe0\xb8\x96\xe0\xb8\xb6\xe0\xb8\x87\xe0\xb8\xa1\xe0\xb8\xb2\xe0\xb8\x81 "
	"\xe0\xb9\x80\xe0\xb8\x87\xe0\xb8\xb4\xe0\xb8\x99\xe0\xb9\x80\xe0\xb8\x94\xe0\xb8\xb7\xe0\xb8\xad\xe0\xb8\x99 ok",
	"hello 123 \xf0\x9f\x98\x80 \xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac\xe1\x80\x95\xe1\x80\xab",
	"",
	"a",
};

static void test_round_trip_every_dict(void)
{
	uint8_t ids[16];
	size_t nids = 0;
	ids[nids++] = COMPRESS_METHOD_DEFLATE;
	for (size_t i = 0; i < dict_shipped_count; i++)
		ids[nids++] = dict_shipped[i].id;
	CU_ASSERT(nids >= 7);
	for (size_t k = 0; k < nids; k++)
		for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++) {
			uint8_t tr[512], out[600], back[512];
			size_t n = strlen(samples[s]);
			ssize_t m = script_encode((const uint8_t *)samples[s], n, tr, sizeof tr);
			CU_ASSERT_FATAL(m >= 0);
			ssize_t c = compress_block(W, ids[k], tr, (size_t)m, out, sizeof out);
			CU_ASSERT_FATAL(c >= 1);
			CU_ASSERT(out[0] == ids[k] || out[0] == COMPRESS_METHOD_STORED);
			CU_ASSERT(c <= m + 1);
			ssize_t d = decompress_block(W, out, (size_t)c, back, sizeof back);
			CU_ASSERT_FATAL(d == m);
			CU_ASSERT(memcmp(back, tr, (size_t)m) == 0);
		}
	/* A dictionary actually helps its language. */
	uint8_t tr[512], a[600], b[600];
	ssize_t m = script_encode((const uint8_t *)samples[1], strlen(samples[1]), tr, sizeof tr);
	CU_ASSERT_FATAL(m > 0);
	ssize_t plain = compress_block(W, COMPRESS_METHOD_DEFLATE, tr, (size_t)m, a, sizeof a);
	ssize_t withd = compress_block(W, DICT_ID_THA, tr, (size_t)m, b, sizeof b);
	CU_ASSERT(withd > 0 && withd < plain);
	CU_ASSERT_EQUAL(b[0], DICT_ID_THA);
	CU_ASSERT_EQUAL(compress_block(W, 0x7f, tr, (size_t)m, a, sizeof a), ERR_NOTFOUND);
}

static void test_stored_when_no_gain(void)
{
	static uint8_t in[2000], out[2100], back[2000];
	uint64_t x = 0x9e3779b97f4a7c15ull;   /* fixed seed */
	for (size_t i = 0; i < sizeof in; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		in[i] = (uint8_t)x;
	}
	ssize_t c = compress_block(W, DICT_ID_EN, in, sizeof in, out, sizeof out);
	CU_ASSERT_EQUAL(c, (ssize_t)sizeof in + 1);
	CU_ASSERT_EQUAL(out[0], COMPRESS_METHOD_STORED);
	CU_ASSERT_EQUAL(decompress_block(W, out, (size_t)c, back, sizeof back), (ssize_t)sizeof in);
	CU_ASSERT(memcmp(back, in, sizeof in) == 0);
	/* Exactly n + 1 bytes of room is enough; n is not. */
	CU_ASSERT_EQUAL(compress_block(W, DICT_ID_EN, in, sizeof in, out, sizeof in + 1), (ssize_t)sizeof in + 1);
	CU_ASSERT_EQUAL(compress_block(W, DICT_ID_EN, in, sizeof in, out, sizeof in), ERR_FULL);
	/* Stored over the cap is a bomb too. */
	CU_ASSERT_EQUAL(decompress_block(W, out, sizeof in + 1, back, 100), ERR_BOMB);
	/* Tiny inputs are stored (deflate cannot beat 1 byte). */
	CU_ASSERT_EQUAL(compress_block(W, DICT_ID_EN, (const uint8_t *)"k", 1, out, sizeof out), 2);
	CU_ASSERT_EQUAL(out[0], COMPRESS_METHOD_STORED);
}

/*
 * A deflate bomb of 100 MiB of zeros: a prefix block, then one byte-aligned
 * segment that expands to 1 MiB repeated 100 times, then an empty final
 * block.  Built with zlib (tests may allocate), about 100 KiB.
 */
static uint8_t *make_bomb(size_t *len, size_t *expands_to)
{
	enum { MIB = 1 << 20, REPEAT = 100 };
	static uint8_t zeros[MIB];
	uint8_t seg[8192], head[64];
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_FATAL(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
	z.next_in = zeros; z.avail_in = 1;
	z.next_out = head; z.avail_out = sizeof head;
	CU_ASSERT_FATAL(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
	size_t head_len = sizeof head - z.avail_out;
	z.next_in = zeros; z.avail_in = MIB;
	z.next_out = seg; z.avail_out = sizeof seg;
	CU_ASSERT_FATAL(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
	size_t seg_len = sizeof seg - z.avail_out;
	deflateEnd(&z);
	static const uint8_t final_empty[] = { 0x03, 0x00 };   /* final fixed block, end code */
	size_t total = 1 + head_len + seg_len * REPEAT + sizeof final_empty;
	uint8_t *b = malloc(total);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	b[0] = COMPRESS_METHOD_DEFLATE;
	memcpy(b + 1, head, head_len);
	for (int r = 0; r < REPEAT; r++)
		memcpy(b + 1 + head_len + (size_t)r * seg_len, seg, seg_len);
	memcpy(b + total - sizeof final_empty, final_empty, sizeof final_empty);
	*len = total;
	*expands_to = 1 + (size_t)MIB * REPEAT;
	return b;
}

static void test_bomb(void)
{
	size_t len, big;
	uint8_t *bomb = make_bomb(&len, &big);
	CU_ASSERT(len < 128 * 1024);
	CU_ASSERT(big > 100u * 1000u * 1000u);
	/* Proof that it is a real stream: plain zlib inflates all of it. */
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_FATAL(inflateInit2(&z, -15) == Z_OK);
	static uint8_t sink[1 << 16];
	z.next_in = bomb + 1; z.avail_in = (uInt)(len - 1);
	int rc;
	do {
		z.next_out = sink; z.avail_out = sizeof sink;
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	CU_ASSERT_EQUAL(rc, Z_STREAM_END);
	CU_ASSERT_EQUAL(z.total_out, big);
	inflateEnd(&z);
	/* Ours refuses it under a 64 KiB cap and writes nothing past the cap. */
	enum { CAP = 1 << 16, GUARD = 64 };
	uint8_t *out = malloc(CAP + GUARD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	memset(out + CAP, 0xa5, GUARD);
	CU_ASSERT_EQUAL(decompress_block(W, bomb, len, out, CAP), ERR_BOMB);
	for (size_t i = 0; i < GUARD; i++)
		CU_ASSERT_EQUAL(out[CAP + i], 0xa5);
	free(out);
	free(bomb);
}

static void test_exact_cap(void)
{
	uint8_t in[300], out[400], back[300];
	memset(in, 'z', sizeof in);
	ssize_t c = compress_block(W, COMPRESS_METHOD_DEFLATE, in, sizeof in, out, sizeof out);
	CU_ASSERT_FATAL(c > 1 && c < 20);
	CU_ASSERT_EQUAL(decompress_block(W, out, (size_t)c, back, sizeof in), (ssize_t)sizeof in);
	CU_ASSERT_EQUAL(decompress_block(W, out, (size_t)c, back, sizeof in - 1), ERR_BOMB);
	CU_ASSERT_EQUAL(decompress_block(W, out, (size_t)c, back, 0), ERR_BOMB);
}

static void test_corrupt(void)
{
	uint8_t tr[256], out[300], back[4096];
	const char *t = samples[0];
	ssize_t m = script_encode((const uint8_t *)t, strlen(t), tr, sizeof tr);
	CU_ASSERT_FATAL(m > 0);
	ssize_t c = compress_block(W, DICT_ID_EN, tr, (size_t)m, out, sizeof out);
	CU_ASSERT_FATAL(c > 2 && out[0] == DICT_ID_EN);
	/* every truncation is refused */
	for (ssize_t k = 2; k < c; k++)
		CU_ASSERT_EQUAL(decompress_block(W, out, (size_t)k, back, sizeof back), ERR_TRUNC);
	CU_ASSERT_EQUAL(decompress_block(W, out, 0, back, sizeof back), ERR_INVAL);
	/* trailing garbage is refused */
	uint8_t longer[320];
	memcpy(longer, out, (size_t)c);
	longer[c] = 0;
	CU_ASSERT_EQUAL(decompress_block(W, longer, (size_t)c + 1, back, sizeof back), ERR_INVAL);
	/* unknown methods */
	for (unsigned mth = 2; mth < 0x10; mth++) {
		longer[0] = (uint8_t)mth;
		CU_ASSERT_EQUAL(decompress_block(W, longer, (size_t)c, back, sizeof back), ERR_INVAL);
	}
	longer[0] = 0xff;
	CU_ASSERT_EQUAL(decompress_block(W, longer, (size_t)c, back, sizeof back), ERR_INVAL);
	/* a wrong dictionary or a bit flip never yields the original text */
	int errors = 0;
	for (ssize_t k = 1; k < c; k++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(longer, out, (size_t)c);
			longer[k] ^= (uint8_t)(1u << bit);
			ssize_t d = decompress_block(W, longer, (size_t)c, back, sizeof back);
			if (d < 0)
				errors++;
			else if (d == m && memcmp(back, tr, (size_t)m) == 0)
				/* raw deflate has no check: only the padding bits
				 * after the last code may change unnoticed (the
				 * bundle's AEAD tag catches those) */
				CU_ASSERT_EQUAL(k, c - 1);
		}
	CU_ASSERT(errors > 0);
	/* reserved bits: BTYPE 11 is invalid deflate */
	uint8_t bad[] = { COMPRESS_METHOD_DEFLATE, 0x07, 0x00 };
	CU_ASSERT_EQUAL(decompress_block(W, bad, sizeof bad, back, sizeof back), ERR_INVAL);
}

/* The same input gives the same block whatever was compressed before:
 * nothing leaks between calls (the privacy rule in compress.h). */
static void test_no_shared_state(void)
{
	const uint8_t *a = (const uint8_t *)"pls send the money for the children, the school fees are due";
	const uint8_t *b = (const uint8_t *)"the children school fees money send pls the are due for";
	uint8_t o1[128], o2[128], o3[128];
	ssize_t c1 = compress_block(W, DICT_ID_EN, a, strlen((const char *)a), o1, sizeof o1);
	ssize_t cb = compress_block(W, DICT_ID_EN, b, strlen((const char *)b), o2, sizeof o2);
	ssize_t c3 = compress_block(W, DICT_ID_EN, a, strlen((const char *)a), o3, sizeof o3);
	CU_ASSERT(cb > 0);
	CU_ASSERT_FATAL(c1 > 0 && c1 == c3);
	CU_ASSERT(memcmp(o1, o3, (size_t)c1) == 0);
}

static void test_pick_dict(void)
{
	static const struct { const char *s; int id; } v[] = {
		{ "ok see you tmr", DICT_ID_EN },
		{ "12345 !!", DICT_ID_EN },
		{ "", DICT_ID_EN },
		{ "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5 ok", DICT_ID_THA },
		{ "\xe0\xba\xaa\xe0\xba\xb0\xe0\xba\x9a\xe0\xba\xb2\xe0\xba\x8d", DICT_ID_LAO },
		{ "\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac", DICT_ID_MYA },
		{ "\xe1\x9e\x9f\xe1\x9e\xbd\xe1\x9e\x9f\xe1\x9f\x92\xe1\x9e\x8a\xe1\x9e\xb8", DICT_ID_KHM },
		/* half Thai, half English letters: mixed */
		{ "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa abcd", DICT_ID_MIXED },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CU_ASSERT_EQUAL(compress_pick_dict((const uint8_t *)v[i].s, strlen(v[i].s)), v[i].id);
	CU_ASSERT_EQUAL(compress_pick_dict((const uint8_t *)"ok\xc0\xaf", 4), ERR_UTF8);
}

/* Pins: an id names these exact bytes forever (dict.h).  Update only for a
 * dictionary that has never been released; otherwise add a new id. */
static const struct { uint8_t id; size_t len; uint64_t fnv; } frozen[] = {
	DICT_FROZEN
};

static void test_shipped_dicts(void)
{
	const char *src = getenv("LIFELINE_SRC");
	static uint8_t files[DICT_SOURCES_MAX][1 << 18];
	static uint8_t scratch[3 * DICT_BYTES_MAX], built[DICT_BYTES_MAX];
	CU_ASSERT_EQUAL(dict_shipped_count, dict_spec_count);
	CU_ASSERT_EQUAL(sizeof frozen / sizeof frozen[0], dict_shipped_count);
	for (size_t d = 0; d < dict_spec_count; d++) {
		const struct dict_spec *sp = &dict_specs[d];
		struct dict_text texts[DICT_SOURCES_MAX];
		for (size_t s = 0; s < sp->nsources; s++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/tools/phrases/%s.txt", src ? src : ".", sp->sources[s]);
			FILE *f = fopen(path, "rb");
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			texts[s].p = files[s];
			texts[s].n = fread(files[s], 1, sizeof files[s], f);
			fclose(f);
		}
		ssize_t n = dict_build(sp, texts, scratch, sizeof scratch, built, sizeof built);
		const struct dict *di = dict_find(sp->id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(di);
		CU_ASSERT_EQUAL(di->version, sp->version);
		CU_ASSERT_STRING_EQUAL(di->name, sp->name);
		CU_ASSERT_FATAL(n > 0 && (size_t)n <= DICT_BYTES_MAX);
		CU_ASSERT_EQUAL((size_t)n, di->len);
		CU_ASSERT(memcmp(built, di->bytes, di->len) == 0);
		CU_ASSERT_EQUAL(frozen[d].id, di->id);
		CU_ASSERT_EQUAL(frozen[d].len, di->len);
		CU_ASSERT_EQUAL(frozen[d].fnv, dict_hash(di->bytes, di->len));
		/* ids are unique and in the dictionary range */
		CU_ASSERT(di->id >= 0x10);
		for (size_t e = 0; e < d; e++)
			CU_ASSERT(dict_specs[e].id != sp->id);
	}
	CU_ASSERT_PTR_NULL(dict_find(COMPRESS_METHOD_STORED));
	CU_ASSERT_PTR_NULL(dict_find(COMPRESS_METHOD_DEFLATE));
	/* a phrase file that is not UTF-8 is refused */
	struct dict_text bad = { (const uint8_t *)"ok\n\xff\n", 5 };
	CU_ASSERT_EQUAL(dict_build(&dict_specs[0], &bad, scratch, sizeof scratch, built, sizeof built), ERR_UTF8);
}

static int setup(void)
{
	W = malloc(sizeof *W);
	return W == NULL;
}

static int teardown(void)
{
	free(W);
	return 0;
}

void suite_compress(void);
void suite_compress(void)
{
	CU_pSuite s = CU_add_suite("compress", setup, teardown);
	CU_add_test(s, "round trip with every dictionary", test_round_trip_every_dict);
	CU_add_test(s, "stored when deflate does not shrink", test_stored_when_no_gain);
	CU_add_test(s, "100 MiB deflate bomb refused under the cap", test_bomb);
	CU_add_test(s, "output exactly at the cap", test_exact_cap);
	CU_add_test(s, "corrupt, truncated, trailing, unknown method", test_corrupt);
	CU_add_test(s, "no state shared between calls", test_no_shared_state);
	CU_add_test(s, "dictionary picked by script", test_pick_dict);
	CU_add_test(s, "shipped dictionaries = phrase lists, pinned", test_shipped_dicts);
}
