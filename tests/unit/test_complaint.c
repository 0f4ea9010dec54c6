/*
 * test_complaint.c — complaint records: categories, golden bytes, parser
 * table, signing, padding buckets, sealing and opening.
 *
 * Shows: every category has a stable code, a name and a title, and parses
 * back; a fixed record encodes to fixed bytes and its Ed25519 signature
 * (fixed seeds) is fixed (the PROTOCOL.md example); every proper prefix and
 * each malformed field of a record is refused with its own error, read from
 * an exact-size heap copy; invalid UTF-8 is refused on both sides; every
 * category round-trips through seal/open/verify; the wrong inspector key is
 * ERR_AUTH and the wrong vessel key ERR_KEY; every single-byte change and
 * every truncation of a sealed blob is refused; blob sizes are exactly the
 * buckets, at each bucket's text capacity and one byte over; hand-made
 * plaintexts with bad padding are refused; the blob holds no plaintext.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/fixture.h"
#include "proto/complaint.h"
#include "proto/evidence.h"
#include "proto/record.h"

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))
#define T0 1750000100u
#define TEXT "No wages for 5 months."

static uint8_t vpk[32], vsk[64], v2pk[32], v2sk[64];
static uint8_t ipk[32], isk[32], i2pk[32], i2sk[32];

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	fx_sign_keypair(vpk, vsk, 0x01);
	fx_sign_keypair(v2pk, v2sk, 0x02);
	fx_box_keypair(ipk, isk, 0x40);
	fx_box_keypair(i2pk, i2sk, 0x41);
	return 0;
}

static struct complaint fixture(void)
{
	return (struct complaint){1042, 7, COMPLAINT_CAT_WAGES, 1001, T0,
				  (const uint8_t *)TEXT, strlen(TEXT)};
}

/* The PROTOCOL.md worked example. */
static const char golden_record[] =
	"01120400000700000008e903000000000000e4e14e680000000016004e6f2077"
	"6167657320666f722035206d6f6e7468732e";
static const char golden_sig[] =
	"be4eb30f759c6305c73dea80fd4d0fe4ca8e9bdd63dd5b444fff0fb14e5ffbc1"
	"029a8f669d77f9189be8393369623f53487533a592ee68811b609ccefb7b5508";
static const char golden_vpk[] =
	"79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL), 0);
	return n;
}

static void test_categories(void)
{
	static const char *const names[] = {
		"vulnerability", "deception", "movement", "isolation", "violence", "threats",
		"documents", "wages", "debt", "conditions", "overtime", "injury", "other",
	};
	CU_ASSERT_EQUAL(NVEC(names), (size_t)COMPLAINT_CAT_LAST_);
	for (int c = COMPLAINT_CAT_FIRST_; c <= COMPLAINT_CAT_LAST_; c++) {
		CU_ASSERT_STRING_EQUAL(complaint_category_name(c), names[c - 1]);
		CU_ASSERT_PTR_NOT_NULL(complaint_category_title(c));
		enum complaint_category got = 0;
		CU_ASSERT_EQUAL(complaint_category_parse(names[c - 1], &got), 0);
		CU_ASSERT_EQUAL((int)got, c);
		char num[8];
		snprintf(num, sizeof num, "%d", c);
		CU_ASSERT_EQUAL(complaint_category_parse(num, &got), 0);
		CU_ASSERT_EQUAL((int)got, c);
	}
	/* The stable codes named in PROTOCOL.md. */
	CU_ASSERT_EQUAL(COMPLAINT_CAT_DOCUMENTS, 7);
	CU_ASSERT_EQUAL(COMPLAINT_CAT_WAGES, 8);
	CU_ASSERT_EQUAL(COMPLAINT_CAT_OTHER, 13);
	CU_ASSERT_STRING_EQUAL(complaint_category_title(COMPLAINT_CAT_WAGES), "Withholding of wages");
	enum complaint_category got;
	CU_ASSERT_EQUAL(complaint_category_parse("WAGES", &got), 0);
	CU_ASSERT_EQUAL(got, COMPLAINT_CAT_WAGES);
	static const char *const bad[] = {"", "wage", "wagesx", "0", "14", "08", "8x", "-1",
					  "99999999999999999999", "other "};
	for (size_t i = 0; i < NVEC(bad); i++)
		CU_ASSERT_EQUAL(complaint_category_parse(bad[i], &got), ERR_INVAL);
	CU_ASSERT_EQUAL(complaint_category_parse(NULL, &got), ERR_INVAL);
	CU_ASSERT_PTR_NULL(complaint_category_name(0));
	CU_ASSERT_PTR_NULL(complaint_category_name(14));
	CU_ASSERT_PTR_NULL(complaint_category_title(-1));
}

static void test_golden(void)
{
	uint8_t want[128], sig_want[64], pk_want[32], got[128], sig[64];
	size_t n = unhex(golden_record, want, sizeof want);
	CU_ASSERT_EQUAL(unhex(golden_sig, sig_want, sizeof sig_want), 64u);
	CU_ASSERT_EQUAL(unhex(golden_vpk, pk_want, sizeof pk_want), 32u);
	CU_ASSERT_EQUAL(memcmp(pk_want, vpk, 32), 0);
	struct complaint c = fixture();
	ssize_t m = complaint_record_encode(&c, got, sizeof got);
	CU_ASSERT_EQUAL(m, (ssize_t)n);
	CU_ASSERT_EQUAL(memcmp(got, want, n), 0);
	CU_ASSERT_EQUAL(complaint_record_encode(&c, NULL, 0), (ssize_t)n);   /* measures */
	uint8_t small[128];
	CU_ASSERT_EQUAL(complaint_record_encode(&c, small, n - 1), ERR_FULL);
	CU_ASSERT_EQUAL(doc_sign(DOC_PART_COMPLAINT, got, n, vsk, sig), 0);
	CU_ASSERT_EQUAL(memcmp(sig, sig_want, 64), 0);
	CU_ASSERT_EQUAL(complaint_verify(vpk, got, n, sig), 0);
	CU_ASSERT_EQUAL(complaint_verify(v2pk, got, n, sig), ERR_KEY);
	/* The signature is over the domain string, its NUL, then the record. */
	uint8_t msg[sizeof COMPLAINT_SIG_DOMAIN + 128];
	memcpy(msg, COMPLAINT_SIG_DOMAIN, sizeof COMPLAINT_SIG_DOMAIN);
	memcpy(msg + sizeof COMPLAINT_SIG_DOMAIN, want, n);
	CU_ASSERT_EQUAL(crypto_sign_verify_detached(sig, msg, sizeof COMPLAINT_SIG_DOMAIN + n, vpk), 0);
	CU_ASSERT_NOT_EQUAL(crypto_sign_verify_detached(sig, want, n, vpk), 0);

	struct complaint p;
	CU_ASSERT_EQUAL(complaint_record_parse(want, n, &p), 0);
	CU_ASSERT_EQUAL(p.vessel, 1042u);
	CU_ASSERT_EQUAL(p.crew, 7u);
	CU_ASSERT_EQUAL(p.category, COMPLAINT_CAT_WAGES);
	CU_ASSERT_EQUAL(p.msg_id, 1001u);
	CU_ASSERT_EQUAL(p.ts, T0);
	CU_ASSERT_EQUAL(p.text_len, strlen(TEXT));
	CU_ASSERT(p.text == want + COMPLAINT_HDR_BYTES);
}

/* Parses in[0..n) from an exact-size heap copy. */
static int parse_exact(const uint8_t *in, size_t n, struct complaint *c)
{
	uint8_t *h = malloc(n ? n : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	memcpy(h, in, n);
	int rc = complaint_record_parse(h, n, c);
	free(h);
	return rc;
}

static void test_parse_table(void)
{
	uint8_t rec[128];
	size_t n = unhex(golden_record, rec, sizeof rec);
	struct complaint c;
	for (size_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL(parse_exact(rec, k, &c), ERR_TRUNC);

	struct {
		const char *what;
		size_t off;     /* byte to set; SIZE_MAX: append one byte */
		uint8_t val;
		int want;
	} vec[] = {
		{"version 0", 0, 0, ERR_VERSION},
		{"version 2", 0, 2, ERR_VERSION},
		{"category 0", 9, 0, ERR_INVAL},
		{"category 14", 9, 14, ERR_INVAL},
		{"category 255", 9, 255, ERR_INVAL},
		{"text length + 1", 26, 23, ERR_TRUNC},
		{"text length - 1", 26, 21, ERR_INVAL},
		{"text length over max", 27, 0x20, ERR_TOOBIG},
		{"stray continuation byte", 28, 0x80, ERR_UTF8},
		{"byte FF", 30, 0xff, ERR_UTF8},
		{"appended byte", SIZE_MAX, 0, ERR_INVAL},
	};
	for (size_t i = 0; i < NVEC(vec); i++) {
		uint8_t t[129];
		memcpy(t, rec, n);
		size_t len = n;
		if (vec[i].off == SIZE_MAX)
			t[len++] = vec[i].val;
		else
			t[vec[i].off] = vec[i].val;
		int rc = parse_exact(t, len, &c);
		if (rc != vec[i].want)
			fprintf(stderr, "\n  %s: got %d want %d\n", vec[i].what, rc, vec[i].want);
		CU_ASSERT_EQUAL(rc, vec[i].want);
	}
	/* Text length exactly at the max: accepted on both sides. */
	static uint8_t big[COMPLAINT_RECORD_MAX + 1], text[COMPLAINT_TEXT_MAX + 1];
	memset(text, 'a', sizeof text);
	struct complaint m = fixture();
	m.text = text;
	m.text_len = COMPLAINT_TEXT_MAX;
	CU_ASSERT_EQUAL(complaint_record_encode(&m, big, sizeof big), (ssize_t)COMPLAINT_RECORD_MAX);
	CU_ASSERT_EQUAL(complaint_record_parse(big, COMPLAINT_RECORD_MAX, &c), 0);
	m.text_len++;
	CU_ASSERT_EQUAL(complaint_record_encode(&m, big, sizeof big), ERR_TOOBIG);
}

static void test_utf8(void)
{
	static const char *const bad[] = {
		"\xc0\x80",             /* overlong NUL */
		"\xe0\x80\xaf",         /* overlong '/' */
		"\xed\xa0\x80",         /* surrogate */
		"\xf4\x90\x80\x80",     /* over U+10FFFF */
		"\xf5\x80\x80\x80",
		"\x80",                 /* stray continuation */
		"ok \xe1\x80",          /* truncated Burmese letter */
		"\xff",
	};
	uint8_t rec[64], blob[COMPLAINT_BLOB_MAX];
	for (size_t i = 0; i < NVEC(bad); i++) {
		struct complaint c = fixture();
		c.text = (const uint8_t *)bad[i];
		c.text_len = strlen(bad[i]);
		CU_ASSERT_EQUAL(complaint_record_encode(&c, rec, sizeof rec), ERR_UTF8);
		CU_ASSERT_EQUAL(complaint_seal(&c, vsk, ipk, blob, sizeof blob), ERR_UTF8);
		/* A record made by hand with this text is refused by the parser. */
		struct complaint ok = fixture();
		ok.text_len = c.text_len;
		ok.text = (const uint8_t *)"aaaaaaaa";
		ssize_t n = complaint_record_encode(&ok, rec, sizeof rec);
		CU_ASSERT_FATAL(n > 0);
		memcpy(rec + COMPLAINT_HDR_BYTES, bad[i], c.text_len);
		CU_ASSERT_EQUAL(parse_exact(rec, (size_t)n, &ok), ERR_UTF8);
	}
	/* Valid: Burmese, Thai, Khmer, emoji, and NUL (valid UTF-8). */
	static const char *const good[] = {"\xe1\x80\x80\xe1\x80\xbb", "\xe0\xb8\x81",
					   "\xe1\x9e\x80", "\xf0\x9f\x86\x98", ""};
	for (size_t i = 0; i < NVEC(good); i++) {
		struct complaint c = fixture(), p;
		c.text = (const uint8_t *)good[i];
		c.text_len = strlen(good[i]);
		ssize_t n = complaint_record_encode(&c, rec, sizeof rec);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL(parse_exact(rec, (size_t)n, &p), 0);
		CU_ASSERT_EQUAL(p.text_len, c.text_len);
	}
	struct complaint z = fixture();
	z.text = NULL;
	z.text_len = 3;
	CU_ASSERT_EQUAL(complaint_record_encode(&z, rec, sizeof rec), ERR_INVAL);
	z.category = 0;
	z.text_len = 0;
	CU_ASSERT_EQUAL(complaint_record_encode(&z, rec, sizeof rec), ERR_INVAL);
}

static void test_roundtrip_every_category(void)
{
	static uint8_t blob[COMPLAINT_BLOB_MAX];
	static struct complaint_opened o;
	for (int cat = COMPLAINT_CAT_FIRST_; cat <= COMPLAINT_CAT_LAST_; cat++) {
		struct complaint c = fixture();
		c.category = (enum complaint_category)cat;
		c.msg_id = 5000u + (unsigned)cat;
		c.crew = UINT32_MAX;
		c.vessel = UINT32_MAX - 1u;
		c.ts = UINT64_MAX - (unsigned)cat;
		ssize_t n = complaint_seal(&c, vsk, ipk, blob, sizeof blob);
		CU_ASSERT_EQUAL_FATAL(n, 256);
		CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, (size_t)n, &o), 0);
		CU_ASSERT_EQUAL(complaint_verify(vpk, o.record, o.record_len, o.sig), 0);
		CU_ASSERT_EQUAL((int)o.c.category, cat);
		CU_ASSERT_EQUAL(o.c.msg_id, c.msg_id);
		CU_ASSERT_EQUAL(o.c.crew, c.crew);
		CU_ASSERT_EQUAL(o.c.vessel, c.vessel);
		CU_ASSERT_EQUAL(o.c.ts, c.ts);
		CU_ASSERT_EQUAL(o.c.text_len, c.text_len);
		CU_ASSERT(o.c.text && memcmp(o.c.text, TEXT, c.text_len) == 0);
		CU_ASSERT(o.c.text == o.record + COMPLAINT_HDR_BYTES);
		/* The blob does not hold the text in the clear. */
		CU_ASSERT_PTR_NULL(memmem(blob, (size_t)n, TEXT, strlen(TEXT)));
	}
	/* Two seals of one complaint differ (fresh ephemeral key) but open to
	 * the same signed bytes (Ed25519 is deterministic). */
	static uint8_t b2[COMPLAINT_BLOB_MAX];
	static struct complaint_opened o2;
	struct complaint c = fixture();
	CU_ASSERT_EQUAL(complaint_seal(&c, vsk, ipk, blob, sizeof blob), 256);
	CU_ASSERT_EQUAL(complaint_seal(&c, vsk, ipk, b2, sizeof b2), 256);
	CU_ASSERT_NOT_EQUAL(memcmp(blob, b2, 256), 0);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, 256, &o), 0);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, b2, 256, &o2), 0);
	CU_ASSERT_EQUAL(o.record_len, o2.record_len);
	CU_ASSERT_EQUAL(memcmp(o.record, o2.record, o.record_len), 0);
	CU_ASSERT_EQUAL(memcmp(o.sig, o2.sig, 64), 0);
	/* Hash: BLAKE2b-256 of the bytes. */
	uint8_t h[32], want[32];
	complaint_blob_hash(blob, 256, h);
	crypto_generichash(want, 32, blob, 256, NULL, 0);
	CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
	complaint_blob_hash(b2, 256, want);
	CU_ASSERT_NOT_EQUAL(memcmp(h, want, 32), 0);
	complaint_opened_wipe(&o);
	complaint_opened_wipe(&o2);
}

static void test_wrong_keys(void)
{
	uint8_t blob[512];
	static struct complaint_opened o;
	struct complaint c = fixture();
	CU_ASSERT_EQUAL_FATAL(complaint_seal(&c, vsk, ipk, blob, sizeof blob), 256);
	CU_ASSERT_EQUAL(complaint_open(i2pk, i2sk, blob, 256, &o), ERR_AUTH);
	CU_ASSERT_EQUAL(o.record_len, 0u);      /* wiped */
	CU_ASSERT_EQUAL(complaint_open(ipk, i2sk, blob, 256, &o), ERR_AUTH);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, 256, &o), 0);
	CU_ASSERT_EQUAL(complaint_verify(v2pk, o.record, o.record_len, o.sig), ERR_KEY);
	/* Signed by another vessel: opens (anyone may seal), does not verify
	 * as the first vessel. */
	CU_ASSERT_EQUAL(complaint_seal(&c, v2sk, ipk, blob, sizeof blob), 256);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, 256, &o), 0);
	CU_ASSERT_EQUAL(complaint_verify(vpk, o.record, o.record_len, o.sig), ERR_KEY);
	CU_ASSERT_EQUAL(complaint_verify(v2pk, o.record, o.record_len, o.sig), 0);
	/* Capacity. */
	CU_ASSERT_EQUAL(complaint_seal(&c, vsk, ipk, blob, 255), ERR_FULL);
	complaint_opened_wipe(&o);
}

static void test_every_byte_of_blob(void)
{
	uint8_t blob[256], t[256];
	static struct complaint_opened o;
	struct complaint c = fixture();
	CU_ASSERT_EQUAL_FATAL(complaint_seal(&c, vsk, ipk, blob, sizeof blob), 256);
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	unsigned accepted = 0;
	for (size_t i = 0; i < sizeof blob; i++)
		for (size_t k = 0; k < NVEC(masks); k++) {
			memcpy(t, blob, sizeof t);
			t[i] ^= masks[k];
			if (complaint_open(ipk, isk, t, sizeof t, &o) != ERR_AUTH)
				accepted++;
		}
	CU_ASSERT_EQUAL(accepted, 0u);
	/* Truncations and extensions: never a bucket below 256 or next to it. */
	for (size_t n = 0; n < sizeof blob; n++)
		CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, n, &o), ERR_INVAL);
	uint8_t big[257];
	memcpy(big, blob, 256);
	big[256] = 0;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, big, sizeof big, &o), ERR_INVAL);
	/* A larger blob cut to a bucket size does not authenticate. */
	static uint8_t b512[512];
	c.text_len = 200;
	static uint8_t text[200];
	memset(text, 'x', sizeof text);
	c.text = text;
	CU_ASSERT_EQUAL_FATAL(complaint_seal(&c, vsk, ipk, b512, sizeof b512), 512);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, b512, 256, &o), ERR_AUTH);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, b512, 512, &o), 0);
	complaint_opened_wipe(&o);
}

static void test_buckets(void)
{
	static const size_t buckets[] = {256, 512, 1024, 2048, 4096, 8192};
	CU_ASSERT_EQUAL(NVEC(buckets), (size_t)COMPLAINT_BUCKETS);
	CU_ASSERT_EQUAL(COMPLAINT_TEXT_MAX, 8051u);
	CU_ASSERT_EQUAL(COMPLAINT_OVERHEAD, 141u);
	/* Sizes for every text length: only the bucket shows. */
	size_t prev = 0;
	for (size_t t = 0; t <= COMPLAINT_TEXT_MAX; t++) {
		size_t b = complaint_bucket(COMPLAINT_HDR_BYTES + t);
		CU_ASSERT(complaint_is_bucket(b));
		CU_ASSERT(b >= prev);
		CU_ASSERT(t + COMPLAINT_OVERHEAD <= b);
		CU_ASSERT(b == COMPLAINT_BLOB_MIN || t + COMPLAINT_OVERHEAD > b / 2);
		prev = b;
	}
	CU_ASSERT_EQUAL(complaint_bucket(COMPLAINT_RECORD_MAX + 1), 0u);
	CU_ASSERT(!complaint_is_bucket(0));
	CU_ASSERT(!complaint_is_bucket(300));
	CU_ASSERT(!complaint_is_bucket(16384));

	/* Sealed for real at each bucket's capacity and one byte over. */
	static uint8_t text[COMPLAINT_TEXT_MAX + 1], blob[COMPLAINT_BLOB_MAX];
	static struct complaint_opened o;
	memset(text, 'q', sizeof text);
	for (size_t i = 0; i < NVEC(buckets); i++) {
		size_t cap = buckets[i] - COMPLAINT_OVERHEAD;
		for (size_t d = 0; d < 2; d++) {
			struct complaint c = fixture();
			c.text = text;
			c.text_len = cap + d;
			ssize_t n = complaint_seal(&c, vsk, ipk, blob, sizeof blob);
			if (i + 1 == NVEC(buckets) && d == 1) {
				CU_ASSERT_EQUAL(n, ERR_TOOBIG);
				continue;
			}
			CU_ASSERT_EQUAL(n, (ssize_t)(d ? buckets[i + 1] : buckets[i]));
			CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, (size_t)n, &o), 0);
			CU_ASSERT_EQUAL(o.c.text_len, cap + d);
			CU_ASSERT_EQUAL(complaint_verify(vpk, o.record, o.record_len, o.sig), 0);
		}
	}
	/* Empty text: smallest bucket. */
	struct complaint e = fixture();
	e.text = NULL;
	e.text_len = 0;
	CU_ASSERT_EQUAL(complaint_seal(&e, vsk, ipk, blob, sizeof blob), 256);
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, 256, &o), 0);
	CU_ASSERT_EQUAL(o.c.text_len, 0u);
	CU_ASSERT_PTR_NULL(o.c.text);
	complaint_opened_wipe(&o);
	CU_ASSERT(COMPLAINT_BLOB_MAX <= RECORD_BLOB_MAX);
}

/* Seals an arbitrary plaintext as a vessel would not: for padding tests. */
static size_t seal_raw(const uint8_t *plain, size_t n, uint8_t *blob)
{
	CU_ASSERT_EQUAL_FATAL(crypto_box_seal(blob, plain, n, ipk), 0);
	return n + crypto_box_SEALBYTES;
}

static void test_padding(void)
{
	uint8_t rec[256], plain[256 - 48], blob[256];
	static struct complaint_opened o;
	const size_t plen = sizeof plain;
	size_t n = unhex(golden_record, rec, sizeof rec);
	uint8_t sig[64];
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_COMPLAINT, rec, n, vsk, sig), 0);

	/* Well formed by hand: opens and verifies. */
	memset(plain, 0, plen);
	memcpy(plain, rec, n);
	memcpy(plain + n, sig, 64);
	plain[n + 64] = COMPLAINT_PAD_MARKER;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(plain, plen, blob), &o), 0);
	CU_ASSERT_EQUAL(complaint_verify(vpk, o.record, o.record_len, o.sig), 0);

	/* Marker at the very end (no zeros): fine too. */
	uint8_t full[256 - 48];
	memset(full, 'z', sizeof full);
	struct complaint c = fixture();
	c.text = full;
	c.text_len = sizeof full - COMPLAINT_HDR_BYTES - 64 - 1;
	ssize_t rl = complaint_record_encode(&c, rec, sizeof rec);
	CU_ASSERT_FATAL(rl > 0);
	CU_ASSERT_EQUAL(doc_sign(DOC_PART_COMPLAINT, rec, (size_t)rl, vsk, sig), 0);
	memcpy(full, rec, (size_t)rl);
	memcpy(full + rl, sig, 64);
	full[sizeof full - 1] = COMPLAINT_PAD_MARKER;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(full, sizeof full, blob), &o), 0);
	full[sizeof full - 1] = 0;  /* no marker at all: the zero is taken as padding */
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(full, sizeof full, blob), &o), ERR_INVAL);

	n = unhex(golden_record, rec, sizeof rec);
	struct {
		const char *what;
		size_t marker;  /* where the marker goes; SIZE_MAX: none */
		uint8_t marker_val;
		int want;
	} vec[] = {
		{"all zeros", SIZE_MAX, 0, ERR_INVAL},
		{"marker 0x01", n + 64, 0x01, ERR_INVAL},
		{"marker 0x81", n + 64, 0x81, ERR_INVAL},
		{"marker one byte early", n + 63, 0x80, ERR_INVAL},
		{"marker one byte late", n + 65, 0x80, ERR_INVAL},
		{"marker right after the header", COMPLAINT_HDR_BYTES, 0x80, ERR_INVAL},
		{"marker at byte 0", 0, 0x80, ERR_INVAL},
	};
	for (size_t i = 0; i < NVEC(vec); i++) {
		memset(plain, 0, plen);
		memcpy(plain, rec, n);
		memcpy(plain + n, sig, 64);
		if (vec[i].marker != SIZE_MAX) {
			if (vec[i].marker < n + 64)
				memset(plain + vec[i].marker, 0, plen - vec[i].marker);
			plain[vec[i].marker] = vec[i].marker_val;
		}
		int rc = complaint_open(ipk, isk, blob, seal_raw(plain, plen, blob), &o);
		if (rc != vec[i].want)
			fprintf(stderr, "\n  %s: got %d want %d\n", vec[i].what, rc, vec[i].want);
		CU_ASSERT_EQUAL(rc, vec[i].want);
	}
	/* A signed record with invalid UTF-8: authenticated, then refused. */
	memset(plain, 0, plen);
	memcpy(plain, rec, n);
	plain[COMPLAINT_HDR_BYTES] = 0xc0;
	memcpy(plain + n, sig, 64);
	plain[n + 64] = 0x80;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(plain, plen, blob), &o), ERR_UTF8);
	/* A record of an unknown version. */
	plain[COMPLAINT_HDR_BYTES] = 'N';
	plain[0] = 2;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(plain, plen, blob), &o), ERR_VERSION);
	/* A plaintext whose seal is not a bucket size. */
	plain[0] = 1;
	CU_ASSERT_EQUAL(complaint_open(ipk, isk, blob, seal_raw(plain, plen - 1, blob), &o), ERR_INVAL);
	complaint_opened_wipe(&o);
}

void suite_complaint(void);
void suite_complaint(void)
{
	CU_pSuite s = CU_add_suite("complaint", setup, NULL);
	CU_add_test(s, "categories: codes, names, titles, parser", test_categories);
	CU_add_test(s, "golden record bytes and signature", test_golden);
	CU_add_test(s, "record parser table and truncations", test_parse_table);
	CU_add_test(s, "invalid UTF-8 refused on both sides", test_utf8);
	CU_add_test(s, "every category seals, opens and verifies", test_roundtrip_every_category);
	CU_add_test(s, "wrong inspector key ERR_AUTH, wrong vessel key ERR_KEY", test_wrong_keys);
	CU_add_test(s, "every single-byte change and truncation of a blob refused",
		    test_every_byte_of_blob);
	CU_add_test(s, "blob sizes are the buckets, at capacity and one over", test_buckets);
	CU_add_test(s, "padding: unambiguous, authenticated, checked", test_padding);
}
