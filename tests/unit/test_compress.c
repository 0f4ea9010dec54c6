/* test_compress.c — [method][raw deflate] blocks: round trips with every
 * dictionary, stored fallback, the deflate bomb, corrupt / truncated /
 * trailing data, no state between calls, dictionary choice (newest per
 * language), the shipped dictionaries rebuilt from tools/phrases byte for
 * byte against their pins, and golden blocks written with every id ever
 * shipped (by the release that shipped it) that must decode forever. */
#include <CUnit/CUnit.h>
#include <stdbool.h>
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
	uint8_t ids[256];
	size_t nids = 0;
	ids[nids++] = COMPRESS_METHOD_DEFLATE;
	for (size_t i = 0; i < dict_shipped_count; i++)
		ids[nids++] = dict_shipped[i].id;
	CU_ASSERT(nids >= 11);
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
	/* The same texts by wire id: the encoder writes the newest dictionary
	 * of each language (en.2, tha.2, lao.2, mya.1, khm.1, mixed.2), never a
	 * superseded id. */
	static const uint8_t wire[] = { 0x16, 0x16, 0x16, 0x18, 0x17, 0x11, 0x12, 0x19 };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CU_ASSERT_EQUAL(compress_pick_dict((const uint8_t *)v[i].s, strlen(v[i].s)), wire[i]);
}

/* DICT_ID_<language> (what the encoder writes) is the highest version of
 * that language in the registry. */
static void test_current_is_newest(void)
{
	static const uint8_t current[] = { DICT_ID_EN, DICT_ID_MYA, DICT_ID_KHM,
					   DICT_ID_LAO, DICT_ID_THA, DICT_ID_MIXED };
	size_t names = 0;
	for (size_t c = 0; c < sizeof current; c++) {
		const struct dict *cur = dict_find(current[c]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
		for (size_t i = 0; i < dict_shipped_count; i++)
			if (strcmp(dict_shipped[i].name, cur->name) == 0)
				CU_ASSERT(dict_shipped[i].version <= cur->version);
	}
	/* every language in the registry has a current id */
	for (size_t i = 0; i < dict_shipped_count; i++) {
		bool found = false;
		for (size_t c = 0; c < sizeof current; c++)
			found = found || strcmp(dict_find(current[c])->name, dict_shipped[i].name) == 0;
		CU_ASSERT(found);
		names += dict_shipped[i].version == 1;
	}
	CU_ASSERT_EQUAL(names, sizeof current);
}

/* Pins: an id names these exact bytes forever (dict.h).  Append a line for
 * a newly released dictionary; never edit one: a changed list is a new id. */
static const struct dict_pin frozen[] = { DICT_FROZEN };

static const struct dict_pin *pin_of(uint8_t id)
{
	for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
		if (frozen[i].id == id)
			return &frozen[i];
	return NULL;
}

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
		const struct dict_pin *pin = pin_of(di->id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pin);
		CU_ASSERT_EQUAL(pin->len, di->len);
		CU_ASSERT_EQUAL(pin->fnv, dict_hash(di->bytes, di->len));
		/* ids are unique, in the dictionary range, and in release order;
		 * a name and version are never reused either */
		CU_ASSERT(di->id >= 0x10);
		CU_ASSERT(d == 0 || dict_specs[d - 1].id < sp->id);
		for (size_t e = 0; e < d; e++)
			CU_ASSERT(strcmp(dict_specs[e].name, sp->name) != 0 ||
				  dict_specs[e].version < sp->version);
	}
	/* every pin names a dictionary still in the registry */
	for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
		CU_ASSERT_PTR_NOT_NULL(dict_find(frozen[i].id));
	CU_ASSERT_PTR_NULL(dict_find(COMPRESS_METHOD_STORED));
	CU_ASSERT_PTR_NULL(dict_find(COMPRESS_METHOD_DEFLATE));
	/* a phrase file that is not UTF-8 is refused */
	struct dict_text bad = { (const uint8_t *)"ok\n\xff\n", 5 };
	CU_ASSERT_EQUAL(dict_build(&dict_specs[0], &bad, scratch, sizeof scratch, built, sizeof built), ERR_UTF8);
}

/* Golden blocks: [id][raw deflate] of script_encode(text), written by the
 * release that shipped the id (0x10..0x15 by commit a8c3776's build, the
 * others by the build that introduced them) from phrases of its own lists.
 * NEVER regenerate these: they stand for messages already at sea or stored
 * ashore.  If one stops decoding, the dictionary under its id changed. */
static const struct golden {
	uint8_t id;
	const char *text;
	const char *block;
	size_t len;
} golden[] = {
	{ 0x10, "you uncle god will prote"
	  "ct you",
	  "\x10\x03\x31\xa0\xdd\x12,K\xa5\x00", 10 },
	{ 0x11, "\xe1\x80\x95\xe1\x80\xab\xe1\x80\x90\xe1\x80\x9a\xe1\x80\xba \xe1\x80\x80\xe1\x80\xbb\xe1\x80"
	  "\xb1\xe1\x80\xac\xe1\x80\x94\xe1\x80\xac\xe1\x80\x90\xe1\x80\x9a\xe1\x80\xba \xe1\x80\x98\xe1"
	  "\x80\xaf\xe1\x80\x9b\xe1\x80\xac\xe1\x80\xb8\xe1\x80\x99\xe1\x80\xbe\xe1\x80\xac\xe1\x80\x86\xe1"
	  "\x80\xaf\xe1\x80\x90\xe1\x80\xb1\xe1\x80\xac\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb8\xe1\x80\x95\xe1"
	  "\x80\xb1\xe1\x80\xb8\xe1\x80\x81\xe1\x80\xb2\xe1\x80\xb7\xe1\x80\x90\xe1\x80\x9a\xe1\x80\xba",
	  "\x11\x13\x81G)\xb4\x9e\xc2\x39\x82\x04\x00", 12 },
	{ 0x12, "\xe1\x9e\x91\xe1\x9f\x81 \xe1\x9e\x82\xe1\x9f\x92\xe1\x9e\x9a\xe1\x9e\xbb\xe1\x9e\x93 \xe1"
	  "\x9e\x91\xe1\x9f\x85\xe1\x9e\x9c\xe1\x9e\x8f\xe1\x9f\x92\xe1\x9e\x8f\xe1\x9e\x92\xe1\x9f\x92\xe1"
	  "\x9e\x9c\xe1\x9e\xbe\xe1\x9e\x94\xe1\x9e\xbb\xe1\x9e\x8e\xe1\x9f\x92\xe1\x9e\x99\xe1\x9e\xb2\xe1"
	  "\x9f\x92\xe1\x9e\x99\xe1\x9e\xa0\xe1\x9e\xbe\xe1\x9e\x99",
	  "\x12\x13\x07\xb2!E;\xd6^6\x00", 11 },
	{ 0x13, "\xe0\xba\x9a\xe0\xbb\x8d\xe0\xbb\x88 \xe0\xba\xad\xe0\xba\xb8\xe0\xba\x9a\xe0\xba\xb1\xe0\xba"
	  "\x94\xe0\xba\x95\xe0\xba\xb4\xe0\xbb\x80\xe0\xba\xab\xe0\xba\x94 \xe0\xbb\x84\xe0\xba\x9b\xe0"
	  "\xba\xa7\xe0\xba\xb1\xe0\xba\x94\xe0\xbb\x80\xe0\xba\xae\xe0\xba\xb1\xe0\xba\x94\xe0\xba\x9a\xe0"
	  "\xba\xb8\xe0\xba\x99\xe0\xbb\x83\xe0\xba\xab\xe0\xbb\x89\xe0\xbb\x81\xe0\xba\xa5\xe0\xbb\x89\xe0"
	  "\xba\xa7 the captain said they"
	  " never pay",
	  "\x13\x13\x06\xf1\x90Jnl}a\x8c\xf1O\xd4qX\x00", 17 },
	{ 0x14, "\xe0\xb8\x84\xe0\xb8\xb0 \xe0\xb8\x9b\xe0\xb8\xa7\xe0\xb8\x94\xe0\xb8\xab\xe0\xb8\xa5\xe0\xb8"
	  "\xb1\xe0\xb8\x87 \xe0\xb9\x84\xe0\xb8\x9b\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\x94\xe0\xb8\x97\xe0"
	  "\xb8\xb3\xe0\xb8\x9a\xe0\xb8\xb8\xe0\xb8\x8d\xe0\xb9\x83\xe0\xb8\xab\xe0\xb9\x89\xe0\xb9\x81\xe0"
	  "\xb8\xa5\xe0\xb9\x89\xe0\xb8\xa7 the captain sai"
	  "d they never pay",
	  "\x14\x13\x02r`\x95#\xe6\x30\x0b\xc6\xc0:\xea\x00\x3f\x00", 17 },
	{ 0x15, "ok na ok lar sunday \xe0\xb8\x88\xe0"
	  "\xb9\x89\xe0\xb8\xb0 \xe1\x80\x9c\xe1\x80\xac\xe1\x80\xb8",
	  "\x15\x83\x8b\x81|\x07--\x84@\x9b\xb8\x45\xe6\xac\xd9\x01\x00", 18 },
	{ 0x16, "you the boss hit one of "
	  "the workers I work overt"
	  "ime every day",
	  "\x16\x83/s\xc0\x33\x01\xec\x89\xebn\x06\x00", 13 },
	{ 0x17, "\xe0\xba\x9a\xe0\xbb\x8d\xe0\xbb\x88 \xe0\xba\xab\xe0\xba\xa7\xe0\xbb\x88\xe0\xba\xb2\xe0\xba"
	  "\x87 \xe0\xba\x9a\xe0\xbb\x89\xe0\xba\xb2\xe0\xba\x99\xe0\xbb\x80\xe0\xba\x81\xe0\xba\xb5\xe0"
	  "\xba\x94\xe0\xbb\x80\xe0\xba\xa1\xe0\xba\xb7\xe0\xba\xad\xe0\xba\x87\xe0\xba\x99\xe0\xba\xad\xe0"
	  "\xba\x99",
	  "\x17\x13\x06\xf1 5=\xfa\xfc\x16\x00", 11 },
	{ 0x18, "\xe0\xb8\x84\xe0\xb8\xb0 \xe0\xb8\x9b\xe0\xb8\xb1\xe0\xb8\x8d\xe0\xb8\xab\xe0\xb8\xb2 \xe0"
	  "\xb8\x84\xe0\xb9\x88\xe0\xb8\xb2\xe0\xb8\x88\xe0\xb9\x89\xe0\xb8\xb2\xe0\xb8\x87\xe0\xb8\x82\xe0"
	  "\xb8\xb1\xe0\xb9\x89\xe0\xb8\x99\xe0\xb8\x95\xe0\xb9\x88\xe0\xb8\xb3",
	  "\x18\x13\x02r \x0d*\xd4IX\x00", 11 },
	{ 0x19, "ok \xe0\xb8\x99\xe0\xb8\xb0 \xe0\xb9\x80\xe0\xb8\x94\xe0\xb8\xb5\xe0\xb9\x8b\xe0\xb8"
	  "\xa2\xe0\xb8\xa7\xe0\xb9\x82\xe0\xb8\x97\xe0\xb8\xa3\xe0\xb8\xab\xe0\xb8\xb2 on n"
	  "gern sunday \xe1\x9e\x93\xe1\x9e\xb7\xe1\x9e\x84 \xe0\xbb"
	  "\x81\xe0\xba\xa5\xe0\xba\xb0",
	  "\x19\x03\xea\x11\x42\xd3\x04\xaf@\xa0m q\xd0^\x17\xe1\x83K7\x00\x00", 22 },
};

static void test_golden_blocks_decode(void)
{
	size_t covered = 0;
	for (size_t g = 0; g < sizeof golden / sizeof golden[0]; g++) {
		const struct golden *v = &golden[g];
		uint8_t tr[512], back[512], blk[64];
		ssize_t m = script_encode((const uint8_t *)v->text, strlen(v->text), tr, sizeof tr);
		CU_ASSERT_FATAL(m > 0 && v->len <= sizeof blk);
		CU_ASSERT_EQUAL((uint8_t)v->block[0], v->id);
		ssize_t d = decompress_block(W, (const uint8_t *)v->block, v->len, back, sizeof back);
		CU_ASSERT_EQUAL(d, m);
		CU_ASSERT(d == m && memcmp(back, tr, (size_t)m) == 0);
		uint8_t utf8[512];
		ssize_t u = script_decode(back, (size_t)(d > 0 ? d : 0), utf8, sizeof utf8);
		CU_ASSERT(u == (ssize_t)strlen(v->text) && memcmp(utf8, v->text, (size_t)u) == 0);
		/* The block really uses its dictionary: under any other method
		 * (another version of the same language included — what reusing
		 * an id would do) it fails or decodes to something else. */
		memcpy(blk, v->block, v->len);
		for (unsigned other = COMPRESS_METHOD_DEFLATE; other < 0x100; other++) {
			if (other == v->id || (other != COMPRESS_METHOD_DEFLATE && !dict_find((uint8_t)other)))
				continue;
			blk[0] = (uint8_t)other;
			d = decompress_block(W, blk, v->len, back, sizeof back);
			CU_ASSERT(d != m || memcmp(back, tr, (size_t)m) != 0);
		}
		for (size_t i = 0; i < dict_shipped_count; i++)
			covered += dict_shipped[i].id == v->id;
	}
	/* one golden block per id ever shipped: add one with every new id */
	CU_ASSERT_EQUAL(covered, dict_shipped_count);
	CU_ASSERT_EQUAL(sizeof golden / sizeof golden[0], dict_shipped_count);
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
	CU_add_test(s, "encoder's dictionaries are the newest", test_current_is_newest);
	CU_add_test(s, "shipped dictionaries = phrase lists, pinned", test_shipped_dicts);
	CU_add_test(s, "golden block of every id ever shipped decodes", test_golden_blocks_decode);
}
