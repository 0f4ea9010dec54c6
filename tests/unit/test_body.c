/*
 * test_body.c — bundle plaintext bodies: sections per sender, transformed
 * texts, compression isolation, bounds on hostile input.
 */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"
#include "proto/dict.h"

static struct compress_work *work;
static struct body_writer *bw;
static struct body_reader *br;

static int setup(void)
{
	work = calloc(1, sizeof *work);
	bw = calloc(1, sizeof *bw);
	br = calloc(1, sizeof *br);
	return work && bw && br ? 0 : -1;
}

static int teardown(void)
{
	free(work);
	free(bw);
	free(br);
	return 0;
}

static const char *texts[] = {
	"Mum I am ok, the boat is going to port next week. Salary not paid yet.",
	"\xe1\x80\x99\xe1\x80\xad\xe1\x80\x94\xe1\x80\xba\xe1\x80\xb8\xe1\x80\x80\xe1\x80\xad\xe1\x80\xaf", /* Burmese */
	"\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x9a", /* Thai */
	"\xe1\x9e\x87\xe1\x9f\x86\xe1\x9e\x9a\xe1\x9e\xb6\xe1\x9e\x94\xe1\x9e\x9f\xe1\x9e\xbd\xe1\x9e\x9a", /* Khmer */
};

static struct record text_rec(uint64_t id, uint32_t crew, const char *t)
{
	struct record r = {.type = RECORD_TEXT};
	r.u.text.msg_id = id;
	r.u.text.ts = 1790000000u + id;
	r.u.text.crew_id = crew;
	r.u.text.contact_ref = crew + 1;
	r.u.text.text.ptr = (const uint8_t *)t;
	r.u.text.text.len = strlen(t);
	return r;
}

static size_t boundaries[8];     /* body length after each section */

static size_t build(uint8_t *out, size_t cap, size_t nsenders)
{
	body_writer_init(bw, work, out, cap, 1790000500u);
	uint64_t id = 1;
	for (size_t s = 0; s < nsenders; s++) {
		CU_ASSERT_EQUAL_FATAL(body_section_begin(bw, -1), 0);
		for (int k = 0; k < 3; k++) {
			struct record r = text_rec(id++, (uint32_t)s, texts[s % 4]);
			CU_ASSERT_EQUAL_FATAL(body_add(bw, &r), 0);
		}
		CU_ASSERT_EQUAL_FATAL(body_section_end(bw), 0);
		if (s < 8)
			boundaries[s] = bw->len;
	}
	return bw->len;
}

static void test_round_trip(void)
{
	static uint8_t body[8192];
	size_t n = build(body, sizeof body, 4);
	CU_ASSERT(n > 0);
	body_reader_init(br, work, body, n, 1790000500u);
	struct record r;
	size_t sec, count = 0;
	int rc;
	while ((rc = body_next(br, &r, &sec)) == 1) {
		CU_ASSERT_EQUAL(r.type, RECORD_TEXT);
		CU_ASSERT_EQUAL(sec, count / 3);
		CU_ASSERT_EQUAL(r.u.text.msg_id, count + 1);
		CU_ASSERT_EQUAL(r.u.text.ts, 1790000000u + count + 1);
		const char *want = texts[sec % 4];
		CU_ASSERT_EQUAL(r.u.text.text.len, strlen(want));
		CU_ASSERT(memcmp(r.u.text.text.ptr, want, strlen(want)) == 0);
		count++;
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(count, 12u);
}

/* Compression isolation: a sender's section is byte-identical whatever the
 * other sections hold. */
static void test_sections_isolated(void)
{
	static uint8_t a[4096], b[4096];
	body_writer_init(bw, work, a, sizeof a, 100);
	CU_ASSERT_EQUAL(body_section_begin(bw, DICT_ID_EN), 0);
	struct record r = text_rec(1, 1, texts[0]);
	CU_ASSERT_EQUAL(body_add(bw, &r), 0);
	CU_ASSERT_EQUAL(body_section_end(bw), 0);
	size_t first = bw->len;
	CU_ASSERT_EQUAL(body_section_begin(bw, DICT_ID_EN), 0);
	r = text_rec(2, 2, texts[0]);   /* same words: a shared context would shrink it */
	CU_ASSERT_EQUAL(body_add(bw, &r), 0);
	CU_ASSERT_EQUAL(body_section_end(bw), 0);
	size_t second = bw->len - first;

	body_writer_init(bw, work, b, sizeof b, 100);
	CU_ASSERT_EQUAL(body_section_begin(bw, DICT_ID_EN), 0);
	CU_ASSERT_EQUAL(body_add(bw, &r), 0);
	CU_ASSERT_EQUAL(body_section_end(bw), 0);
	CU_ASSERT_EQUAL(bw->len, second);
	CU_ASSERT(memcmp(a + first, b, second) == 0);
}

static void test_writer_errors(void)
{
	static uint8_t out[256];
	body_writer_init(bw, work, out, sizeof out, 0);
	struct record r = text_rec(1, 1, "hello");
	CU_ASSERT_EQUAL(body_add(bw, &r), ERR_STATE);
	CU_ASSERT_EQUAL(body_section_end(bw), ERR_STATE);
	CU_ASSERT_EQUAL(body_section_begin(bw, -1), 0);
	CU_ASSERT_EQUAL(body_section_begin(bw, -1), ERR_STATE);
	r = text_rec(1, 1, "bad \xc0\xaf utf8");
	CU_ASSERT_EQUAL(body_add(bw, &r), ERR_UTF8);
	static char big[BODY_TEXT_UTF8_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	r = text_rec(1, 1, big);
	CU_ASSERT_EQUAL(body_add(bw, &r), ERR_TOOBIG);
	big[BODY_TEXT_UTF8_MAX] = '\0';
	r = text_rec(1, 1, big);
	CU_ASSERT_EQUAL(body_add(bw, &r), 0);
	CU_ASSERT_EQUAL(body_section_end(bw), 0);   /* compresses well into 256 */
	/* A body too small for a section: refused, nothing appended. */
	uint8_t tiny[4];
	body_writer_init(bw, work, tiny, sizeof tiny, 0);
	CU_ASSERT_EQUAL(body_section_begin(bw, -1), 0);
	r = text_rec(1, 1, "hello there");
	CU_ASSERT_EQUAL(body_add(bw, &r), 0);
	CU_ASSERT(body_section_end(bw) < 0);
	CU_ASSERT_EQUAL(bw->len, 0u);
}

static int read_all(const uint8_t *in, size_t n, size_t *count)
{
	body_reader_init(br, work, in, n, 1790000500u);
	struct record r;
	int rc;
	*count = 0;
	while ((rc = body_next(br, &r, NULL)) == 1)
		(*count)++;
	return rc;
}

static void test_truncations(void)
{
	static uint8_t body[8192];
	size_t n = build(body, sizeof body, 3);
	size_t count;
	CU_ASSERT_EQUAL(read_all(body, n, &count), 0);
	/* A cut inside a section is always an error; a cut exactly between
	 * sections is a shorter valid body (the bundle's tag is what catches
	 * that), holding exactly the whole sections before it. */
	for (size_t cut = 1; cut < n; cut++) {
		uint8_t *copy = malloc(cut);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, body, cut);
		int rc = read_all(copy, cut, &count);
		bool ok;
		if (cut == boundaries[0])
			ok = rc == 0 && count == 3;
		else if (cut == boundaries[1])
			ok = rc == 0 && count == 6;
		else
			ok = rc < 0;
		CU_ASSERT(ok);
		free(copy);
	}
}

static void test_bomb_and_zero(void)
{
	/* A section that inflates past BODY_SECTION_MAX: 200 KiB of zeros. */
	static uint8_t zeros[200 * 1024];
	static uint8_t blk[4096];
	ssize_t n = compress_block(work, COMPRESS_METHOD_DEFLATE, zeros, sizeof zeros,
				   blk + 3, sizeof blk - 3);
	CU_ASSERT_FATAL(n > 0 && n < 2000);
	blk[0] = (uint8_t)(0x80 | (n & 0x7f));
	blk[1] = (uint8_t)(n >> 7);
	memmove(blk + 2, blk + 3, (size_t)n);
	size_t count;
	CU_ASSERT_EQUAL(read_all(blk, (size_t)n + 2, &count), ERR_BOMB);
	uint8_t zero_len[] = {0x00};
	CU_ASSERT_EQUAL(read_all(zero_len, 1, &count), ERR_INVAL);
	uint8_t over[] = {0x05, 0x00, 0x01};
	CU_ASSERT_EQUAL(read_all(over, sizeof over, &count), ERR_TRUNC);
}

void suite_body(void);
void suite_body(void)
{
	CU_pSuite s = CU_add_suite("body", setup, teardown);
	CU_add_test(s, "round trip, four senders, four scripts", test_round_trip);
	CU_add_test(s, "sections never share compression", test_sections_isolated);
	CU_add_test(s, "writer refusals", test_writer_errors);
	CU_add_test(s, "every truncation refused", test_truncations);
	CU_add_test(s, "bomb, zero-length and overlong sections", test_bomb_and_zero);
}
