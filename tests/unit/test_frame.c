/*
 * test_frame.c — CRC-32C, COBS, frame encoding and the incremental lexer.
 *
 * Shows: the CRC matches published check values; COBS matches published
 * vectors (block boundaries at 253/254/255 non-zero bytes, all-zero input)
 * and refuses malformed or non-canonical input; every content length
 * 1..FRAME_CONTENT_MAX survives a round trip; max is accepted and max+1
 * refused; a table of hostile streams gives the same frames, errors and
 * counters whether fed whole, a byte at a time or split in two anywhere;
 * no single- or double-bit flip ever yields a wrong frame; a long seeded
 * random stream of frames and garbage returns exactly the frames sent.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

#define SEED_ROUNDTRIP 0x5eed0001u
#define SEED_STREAM 0x5eed0002u
#define STREAM_FRAMES 400
#define VEC_PIECES_MAX 6
#define VEC_WANT_MAX 6
#define VEC_INPUT_MAX 8192
#define RESULTS_MAX 64
#define W_FRAME_A 1000      /* "frame A returned" in a vector's want list */
#define W_FRAME_B 1001
#define W_FRAME_MAX 1002

/* ---- helpers ------------------------------------------------------------ */

static uint64_t prng_state;

static void prng_seed(uint64_t s)
{
	prng_state = s;
}

/* splitmix64: deterministic, good enough to spread test inputs. */
static uint64_t prng_next(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t prng_below(size_t n)
{
	return (size_t)(prng_next() % n);
}

/* Random bytes, a quarter of them zero so COBS has work to do. */
static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = prng_below(4) == 0 ? 0 : (uint8_t)prng_next();
}

/* The fixed contents the vectors refer to. */
static uint8_t frame_a[] = { 0, 'h', 'e', 'l', 'l', 'o', 0x00, 0x01 };
static uint8_t frame_b[300];
static uint8_t frame_max[FRAME_CONTENT_MAX];

static int setup(void)
{
	frame_a[0] = frame_header(3);
	for (size_t i = 0; i < sizeof frame_b; i++)
		frame_b[i] = (uint8_t)(i % 37 == 5 ? 0 : i * 7 + 1);
	frame_b[0] = frame_header(1);
	memset(frame_max, 0xa5, sizeof frame_max);   /* worst case for COBS */
	frame_max[0] = frame_header(31);
	return 0;
}

/* Lexes all of in[0..n) with chunk boundaries at cuts[0..ncuts) and
 * records each non-zero result (a frame as its index in contents, or the
 * error code).  Returns the number of results. */
struct lex_result {
	int code[RESULTS_MAX];
	size_t n;
	struct frame_stats st;
	int wrong;              /* frames that match none of the contents */
};

static const uint8_t *const contents[] = { frame_a, frame_b, frame_max };
static const size_t content_lens[] = { sizeof frame_a, sizeof frame_b, sizeof frame_max };

static void lex_chunks(const uint8_t *in, size_t n, const size_t *cuts, size_t ncuts,
		       struct lex_result *r)
{
	struct frame_lexer *lx = malloc(sizeof *lx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lx);
	frame_lexer_init(lx);
	memset(r, 0, sizeof *r);
	size_t start = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : n;
		const uint8_t *p = in + start;
		size_t len = end - start;
		for (;;) {
			const uint8_t *ct;
			size_t cl;
			int rc = frame_lexer_next(lx, &p, &len, &ct, &cl);
			if (rc == 0)
				break;
			int code = rc;
			if (rc == 1) {
				code = -1;
				for (int k = 0; k < 3; k++)
					if (cl == content_lens[k] && memcmp(ct, contents[k], cl) == 0)
						code = W_FRAME_A + k;
				if (code < 0)
					r->wrong++;
			} else {
				CU_ASSERT_PTR_NULL(ct);
				CU_ASSERT_EQUAL(cl, 0);
			}
			if (r->n < RESULTS_MAX)
				r->code[r->n++] = code;
		}
		CU_ASSERT_EQUAL(len, 0);
		start = end;
	}
	r->st = lx->st;
	free(lx);
}

static void lex_whole(const uint8_t *in, size_t n, struct lex_result *r)
{
	lex_chunks(in, n, NULL, 0, r);
}

static bool results_equal(const struct lex_result *a, const struct lex_result *b)
{
	return a->n == b->n && memcmp(a->code, b->code, a->n * sizeof a->code[0]) == 0 &&
	       memcmp(&a->st, &b->st, sizeof a->st) == 0 && a->wrong == b->wrong;
}

/* ---- CRC-32C ------------------------------------------------------------ */

static void test_crc32c(void)
{
	static const uint8_t check[] = "123456789";
	CU_ASSERT_EQUAL(crc32c(0, check, 9), 0xE3069283u);
	CU_ASSERT_EQUAL(crc32c(0, check, 0), 0);
	/* RFC 3720 (iSCSI) appendix B.4. */
	uint8_t b[32];
	memset(b, 0, sizeof b);
	CU_ASSERT_EQUAL(crc32c(0, b, sizeof b), 0x8A9136AAu);
	memset(b, 0xff, sizeof b);
	CU_ASSERT_EQUAL(crc32c(0, b, sizeof b), 0x62A8AB43u);
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)i;
	CU_ASSERT_EQUAL(crc32c(0, b, sizeof b), 0x46DD794Eu);
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)(31 - i);
	CU_ASSERT_EQUAL(crc32c(0, b, sizeof b), 0x113FDB5Cu);
	/* Chainable: any split gives the same value. */
	for (size_t k = 0; k <= 9; k++)
		CU_ASSERT_EQUAL(crc32c(crc32c(0, check, k), check + k, 9 - k), 0xE3069283u);
}

/* ---- header ------------------------------------------------------------- */

static void test_header(void)
{
	for (unsigned t = 0; t <= FRAME_TYPE_MASK; t++) {
		uint8_t h = frame_header((uint8_t)t);
		CU_ASSERT_EQUAL(frame_version(h), FRAME_VERSION);
		CU_ASSERT_EQUAL(frame_type(&h), t);
		CU_ASSERT_EQUAL(h >> FRAME_VERSION_SHIFT, FRAME_VERSION);
	}
	/* A type out of range cannot change the version bits. */
	CU_ASSERT_EQUAL(frame_version(frame_header(0xff)), FRAME_VERSION);
	CU_ASSERT_EQUAL(frame_header(0x21), frame_header(0x01));
}

/* ---- COBS --------------------------------------------------------------- */

/* Builds the decoded/encoded pair for one generated vector kind. */
enum cobs_kind {
	CK_HEX,             /* both given as bytes */
	CK_RUN,             /* run of n non-zero bytes 1,2,..(wrapping past 0) */
	CK_ZEROS,           /* n zero bytes */
};

struct cobs_vec {
	const char *name;
	enum cobs_kind kind;
	size_t n;
	const uint8_t *dec;
	const uint8_t *enc;
	size_t enc_n;
};

/* Published vectors (Cheshire & Baker; the same appear in the COBS
 * literature) plus generated block-boundary cases. */
static const uint8_t v0d[] = { 0x00 }, v0e[] = { 0x01, 0x01 };
static const uint8_t v1d[] = { 0x00, 0x00 }, v1e[] = { 0x01, 0x01, 0x01 };
static const uint8_t v2d[] = { 0x00, 0x11, 0x00 }, v2e[] = { 0x01, 0x02, 0x11, 0x01 };
static const uint8_t v3d[] = { 0x11, 0x22, 0x00, 0x33 }, v3e[] = { 0x03, 0x11, 0x22, 0x02, 0x33 };
static const uint8_t v4d[] = { 0x11, 0x22, 0x33, 0x44 }, v4e[] = { 0x05, 0x11, 0x22, 0x33, 0x44 };
static const uint8_t v5d[] = { 0x11, 0x00, 0x00, 0x00 }, v5e[] = { 0x02, 0x11, 0x01, 0x01, 0x01 };
static const uint8_t v6e[] = { 0x01 };

static const struct cobs_vec cobs_vecs[] = {
	{ "00", CK_HEX, 1, v0d, v0e, sizeof v0e },
	{ "00 00", CK_HEX, 2, v1d, v1e, sizeof v1e },
	{ "00 11 00", CK_HEX, 3, v2d, v2e, sizeof v2e },
	{ "11 22 00 33", CK_HEX, 4, v3d, v3e, sizeof v3e },
	{ "11 22 33 44", CK_HEX, 4, v4d, v4e, sizeof v4e },
	{ "11 00 00 00", CK_HEX, 4, v5d, v5e, sizeof v5e },
	{ "empty", CK_HEX, 0, v0d, v6e, sizeof v6e },
	{ "run 1", CK_RUN, 1, NULL, NULL, 0 },
	{ "run 253", CK_RUN, 253, NULL, NULL, 0 },
	{ "run 254", CK_RUN, 254, NULL, NULL, 0 },
	{ "run 255", CK_RUN, 255, NULL, NULL, 0 },
	{ "run 508", CK_RUN, 508, NULL, NULL, 0 },
	{ "run 509", CK_RUN, 509, NULL, NULL, 0 },
	{ "zeros 1", CK_ZEROS, 1, NULL, NULL, 0 },
	{ "zeros 300", CK_ZEROS, 300, NULL, NULL, 0 },
	{ "zeros 1104", CK_ZEROS, 1104, NULL, NULL, 0 },
};

/* Expected COBS of a run of n non-zero bytes: 0xFF blocks of 254 and a
 * final block of the remainder; no trailing code byte when n is a
 * multiple of 254. */
static size_t expect_run(const uint8_t *dec, size_t n, uint8_t *enc)
{
	size_t o = 0, i = 0;
	for (;;) {
		size_t blk = n - i < 254 ? n - i : 254;
		enc[o++] = (uint8_t)(blk + 1);
		memcpy(enc + o, dec + i, blk);
		o += blk;
		i += blk;
		if (i == n)
			return o;
	}
}

static void test_cobs_vectors(void)
{
	static uint8_t dec[2048], enc[2048], want[2048], back[2048];
	for (size_t v = 0; v < sizeof cobs_vecs / sizeof cobs_vecs[0]; v++) {
		const struct cobs_vec *cv = &cobs_vecs[v];
		size_t n = cv->n, wn = 0;
		switch (cv->kind) {
		case CK_HEX:
			memcpy(dec, cv->dec, n);
			memcpy(want, cv->enc, cv->enc_n);
			wn = cv->enc_n;
			break;
		case CK_RUN:
			for (size_t i = 0; i < n; i++)
				dec[i] = (uint8_t)(i % 255 + 1);
			wn = expect_run(dec, n, want);
			break;
		case CK_ZEROS:
			memset(dec, 0, n);
			memset(want, 1, n + 1);
			wn = n + 1;
			break;
		}
		ssize_t r = frame_cobs_encode(dec, n, enc, sizeof enc);
		CU_ASSERT_EQUAL(r, (ssize_t)wn);
		if (r != (ssize_t)wn) {
			fprintf(stderr, "cobs vector %s: encoded %zd, want %zu\n", cv->name, r, wn);
			continue;
		}
		CU_ASSERT(memcmp(enc, want, wn) == 0);
		CU_ASSERT(memchr(enc, 0, wn) == NULL);
		CU_ASSERT(wn <= FRAME_COBS_MAX(n));
		/* Exactly enough room works; one byte less does not. */
		CU_ASSERT_EQUAL(frame_cobs_encode(dec, n, enc, wn), (ssize_t)wn);
		CU_ASSERT_EQUAL(frame_cobs_encode(dec, n, enc, wn - 1), ERR_FULL);
		CU_ASSERT_EQUAL(frame_cobs_decode(want, wn, back, sizeof back), (ssize_t)n);
		CU_ASSERT(memcmp(back, dec, n) == 0);
		if (n > 0)
			CU_ASSERT_EQUAL(frame_cobs_decode(want, wn, back, n - 1), ERR_FULL);
	}
	/* Runs of 253/254/255: the code bytes themselves. */
	for (size_t i = 0; i < 255; i++)
		dec[i] = 0x5a;
	CU_ASSERT_EQUAL(frame_cobs_encode(dec, 253, enc, sizeof enc), 254);
	CU_ASSERT_EQUAL(enc[0], 0xfe);
	CU_ASSERT_EQUAL(frame_cobs_encode(dec, 254, enc, sizeof enc), 255);
	CU_ASSERT_EQUAL(enc[0], 0xff);
	CU_ASSERT_EQUAL(frame_cobs_encode(dec, 255, enc, sizeof enc), 257);
	CU_ASSERT_EQUAL(enc[0], 0xff);
	CU_ASSERT_EQUAL(enc[255], 0x02);
}

static void test_cobs_malformed(void)
{
	static const struct {
		const char *name;
		uint8_t in[8];
		size_t n;
	} bad[] = {
		{ "empty", { 0 }, 0 },
		{ "zero code", { 0x00, 0x11 }, 2 },
		{ "zero inside block", { 0x03, 0x11, 0x00 }, 3 },
		{ "block past end", { 0x05, 0x11, 0x22 }, 3 },
		{ "second block past end", { 0x02, 0x11, 0x03, 0x22 }, 4 },
	};
	uint8_t out[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CU_ASSERT_EQUAL(frame_cobs_decode(bad[i].in, bad[i].n, out, sizeof out), ERR_INVAL);
	/* Non-canonical: a full block followed by an empty final block decodes
	 * to the same bytes as the full block alone; only the latter passes. */
	uint8_t in[256];
	in[0] = 0xff;
	memset(in + 1, 0x33, 254);
	in[255] = 0x01;
	CU_ASSERT_EQUAL(frame_cobs_decode(in, 255, out, sizeof out), 254);
	CU_ASSERT_EQUAL(frame_cobs_decode(in, 256, out, sizeof out), ERR_INVAL);
	CU_ASSERT_EQUAL(frame_cobs_decode(NULL, 1, out, sizeof out), ERR_INVAL);
}

/* Decoding is the inverse of encoding on random inputs, and any string the
 * decoder accepts re-encodes to itself (one encoded form per content). */
static void test_cobs_canonical(void)
{
	static uint8_t a[600], dec[700], re[700];
	prng_seed(SEED_ROUNDTRIP);
	int accepted = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = 1 + prng_below(round < 10000 ? 8 : 600);
		for (size_t i = 0; i < n; i++) {
			/* Small code values so that some strings are valid COBS. */
			a[i] = (uint8_t)(1 + prng_below(round % 2 ? 255 : 4));
		}
		ssize_t d = frame_cobs_decode(a, n, dec, sizeof dec);
		if (d < 0)
			continue;
		accepted++;
		ssize_t e = frame_cobs_encode(dec, (size_t)d, re, sizeof re);
		CU_ASSERT_EQUAL(e, (ssize_t)n);
		CU_ASSERT(e == (ssize_t)n && memcmp(re, a, n) == 0);
	}
	CU_ASSERT(accepted > 1000);     /* the property was exercised */
}

/* ---- frame_encode ------------------------------------------------------- */

static void test_encode_limits(void)
{
	static uint8_t c[FRAME_CONTENT_MAX + 1], out[FRAME_ENCODED_MAX + 16];
	memset(c, 0x7e, sizeof c);
	c[0] = frame_header(2);
	CU_ASSERT_EQUAL(frame_encode(c, 0, 0, out, sizeof out), ERR_INVAL);
	CU_ASSERT_EQUAL(frame_encode(c, FRAME_CONTENT_MAX + 1, 0, out, sizeof out), ERR_TOOBIG);
	CU_ASSERT_EQUAL(frame_encode(c, 8, 0x2, out, sizeof out), ERR_INVAL);
	CU_ASSERT_EQUAL(frame_encode(NULL, 8, 0, out, sizeof out), ERR_INVAL);
	/* Max accepted, and the worst case (no zero at all) fits exactly. */
	ssize_t r = frame_encode(c, FRAME_CONTENT_MAX, FRAME_LEAD, out, sizeof out);
	CU_ASSERT_EQUAL(r, (ssize_t)FRAME_ENCODED_MAX);
	CU_ASSERT_EQUAL(out[0], FRAME_DELIM);
	CU_ASSERT_EQUAL(out[FRAME_ENCODED_MAX - 1], FRAME_DELIM);
	CU_ASSERT(memchr(out + 1, 0, FRAME_ENCODED_MAX - 2) == NULL);
	/* Every cap below the needed size is refused, never overrun. */
	size_t need = (size_t)frame_encode(c, 100, FRAME_LEAD, out, sizeof out);
	for (size_t cap = 0; cap < need; cap++) {
		memset(out, 0xee, sizeof out);
		CU_ASSERT_EQUAL(frame_encode(c, 100, FRAME_LEAD, out, cap), ERR_FULL);
		CU_ASSERT_EQUAL(out[cap], 0xee);
	}
	/* Small content: exactly FRAME_OVERHEAD_SMALL bytes added, and the
	 * lead costs one more. */
	for (size_t n = 1; n + FRAME_CRC_BYTES <= 254; n++) {
		CU_ASSERT_EQUAL(frame_encode(c, n, 0, out, sizeof out), (ssize_t)(n + FRAME_OVERHEAD_SMALL));
		CU_ASSERT_EQUAL(frame_encode(c, n, FRAME_LEAD, out, sizeof out), (ssize_t)(n + FRAME_OVERHEAD_SMALL + 1));
	}
}

/* Every length 1..FRAME_CONTENT_MAX, random content, through the lexer. */
static void test_roundtrip_every_length(void)
{
	static uint8_t c[FRAME_CONTENT_MAX], out[FRAME_ENCODED_MAX];
	struct frame_lexer lx;
	frame_lexer_init(&lx);
	prng_seed(SEED_ROUNDTRIP);
	size_t bytes = 0;
	for (size_t n = 1; n <= FRAME_CONTENT_MAX; n++) {
		fill_random(c, n);
		c[0] = frame_header((uint8_t)prng_below(32));
		unsigned flags = (n % 3 == 0) ? FRAME_LEAD : 0;
		ssize_t r = frame_encode(c, n, flags, out, sizeof out);
		CU_ASSERT_FATAL(r > 0);
		CU_ASSERT((size_t)r <= FRAME_ENCODED_MAX);
		CU_ASSERT((size_t)r <= n + FRAME_CRC_BYTES + (n + FRAME_CRC_BYTES) / 254 + 1 + 1 + (flags ? 1 : 0));
		bytes += (size_t)r;
		const uint8_t *p = out, *ct;
		size_t len = (size_t)r, cl;
		CU_ASSERT_EQUAL_FATAL(frame_lexer_next(&lx, &p, &len, &ct, &cl), 1);
		CU_ASSERT_EQUAL(len, 0);
		CU_ASSERT_EQUAL(cl, n);
		CU_ASSERT(cl == n && memcmp(ct, c, n) == 0);
		CU_ASSERT_EQUAL(frame_type(ct), c[0] & FRAME_TYPE_MASK);
	}
	CU_ASSERT_EQUAL(lx.st.frames, FRAME_CONTENT_MAX);
	CU_ASSERT_EQUAL(lx.st.bytes_in, bytes);
	CU_ASSERT_EQUAL(lx.st.garbage, 0);
	CU_ASSERT_EQUAL(lx.st.bad_crc + lx.st.bad_cobs + lx.st.too_long + lx.st.runts + lx.st.bad_version, 0);
}

/* ---- lexer vectors ------------------------------------------------------ */

enum piece_kind {
	P_END = 0,
	P_HEX,          /* literal bytes */
	P_FRAME,        /* contents[arg] encoded with flags */
	P_TRUNC,        /* contents[arg] encoded without lead, first cut bytes */
	P_FLIP,         /* contents[arg] encoded without lead, bit cut flipped */
	P_VERSION,      /* frame_a with version cut in the header, valid CRC */
	P_FILL,         /* cut bytes of value arg */
	P_OVERLONG,     /* FRAME_CONTENT_MAX+1 bytes, valid header and CRC;
			 * arg 0: no zeros (too long before the delimiter),
			 * arg 1: mostly zeros (fits raw, decodes too long) */
};

struct piece {
	enum piece_kind kind;
	const char *hex;
	unsigned arg;
	unsigned flags;
	size_t cut;
};

struct lex_vector {
	const char *name;
	struct piece in[VEC_PIECES_MAX];
	int want[VEC_WANT_MAX];          /* results in order; 0 ends */
	/* expected counters (bytes_in is checked against the input length) */
	uint64_t frames, garbage, bad_crc, bad_cobs, too_long, bad_version, runts;
};

static size_t put_hex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		unsigned v;
		CU_ASSERT_FATAL(sscanf(hex, "%2x", &v) == 1);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static size_t put_encoded(const uint8_t *c, size_t n, unsigned flags, uint8_t *out)
{
	ssize_t r = frame_encode(c, n, flags, out, FRAME_ENCODED_MAX);
	CU_ASSERT_FATAL(r > 0);
	return (size_t)r;
}

/* Content + CRC + COBS + delimiter for content longer than the maximum
 * (built by hand: frame_encode refuses it). */
static size_t put_overlong(bool zeros, uint8_t *out)
{
	static uint8_t c[FRAME_CONTENT_MAX + 1 + FRAME_CRC_BYTES];
	size_t n = FRAME_CONTENT_MAX + 1;
	memset(c, zeros ? 0 : 0x42, n);
	c[0] = frame_header(4);
	uint32_t crc = crc32c(0, c, n);
	for (size_t k = 0; k < FRAME_CRC_BYTES; k++)
		c[n + k] = (uint8_t)(crc >> (8 * k));
	ssize_t r = frame_cobs_encode(c, n + FRAME_CRC_BYTES, out, 2 * FRAME_ENCODED_MAX);
	CU_ASSERT_FATAL(r > 0);
	out[r] = FRAME_DELIM;
	return (size_t)r + 1;
}

static size_t build_input(const struct piece *pc, uint8_t *out)
{
	size_t n = 0;
	uint8_t tmp[FRAME_ENCODED_MAX];
	for (int i = 0; i < VEC_PIECES_MAX && pc[i].kind != P_END; i++) {
		const struct piece *p = &pc[i];
		CU_ASSERT_FATAL(n + 2 * FRAME_ENCODED_MAX + p->cut < VEC_INPUT_MAX);
		switch (p->kind) {
		case P_END:
			break;
		case P_HEX:
			n += put_hex(p->hex, out + n);
			break;
		case P_FRAME:
			n += put_encoded(contents[p->arg], content_lens[p->arg], p->flags, out + n);
			break;
		case P_TRUNC: {
			size_t e = put_encoded(contents[p->arg], content_lens[p->arg], 0, tmp);
			CU_ASSERT_FATAL(p->cut < e);
			memcpy(out + n, tmp, p->cut);
			n += p->cut;
			break;
		}
		case P_FLIP: {
			size_t e = put_encoded(contents[p->arg], content_lens[p->arg], 0, out + n);
			CU_ASSERT_FATAL(p->cut / 8 < e);
			out[n + p->cut / 8] ^= (uint8_t)(1u << (p->cut % 8));
			n += e;
			break;
		}
		case P_VERSION: {
			uint8_t c[sizeof frame_a];
			memcpy(c, frame_a, sizeof c);
			c[0] = (uint8_t)((p->cut << FRAME_VERSION_SHIFT) | (c[0] & FRAME_TYPE_MASK));
			n += put_encoded(c, sizeof c, p->flags, out + n);
			break;
		}
		case P_FILL:
			memset(out + n, (int)p->arg, p->cut);
			n += p->cut;
			break;
		case P_OVERLONG:
			n += put_overlong(p->arg != 0, out + n);
			break;
		}
	}
	return n;
}

#define HEX(s) { P_HEX, s, 0, 0, 0 }
#define FRAME(i, f) { P_FRAME, NULL, i, f, 0 }
#define TRUNC(i, k) { P_TRUNC, NULL, i, 0, k }
#define FLIP(i, bit) { P_FLIP, NULL, i, 0, bit }
#define VERSION(v) { P_VERSION, NULL, 0, FRAME_LEAD, v }
#define FILL(v, k) { P_FILL, NULL, v, 0, k }
#define OVERLONG(z) { P_OVERLONG, NULL, z, 0, 0 }
#define A 0
#define B 1
#define MAXF 2

/* frame_a encodes as 07 <hdr> 68 65 6c 6c 6f 06 01 <crc4> 00 (13 bytes and
 * the delimiter; its CRC has no zero byte): the first block is 6 bytes, so
 * a cut inside it is bad COBS, a cut after it a block boundary.  Garbage
 * counts the bytes of a dropped frame, not its delimiter.  A lost
 * delimiter turns 0x00 into 0x01, an empty final block: valid COBS, so
 * the CRC catches it. */
static const struct lex_vector lex_vectors[] = {
	{ "one frame", { FRAME(A, 0) }, { W_FRAME_A }, 1, 0, 0, 0, 0, 0, 0 },
	{ "one frame with lead", { FRAME(A, FRAME_LEAD) }, { W_FRAME_A }, 1, 0, 0, 0, 0, 0, 0 },
	{ "idle fill around a frame", { HEX("00 00 00"), FRAME(A, FRAME_LEAD), HEX("00 00") },
	  { W_FRAME_A }, 1, 0, 0, 0, 0, 0, 0 },
	{ "leading garbage then frame", { HEX("11 22 33"), FRAME(A, FRAME_LEAD) },
	  { ERR_INVAL, W_FRAME_A }, 1, 3, 0, 1, 0, 0, 0 },
	{ "garbage that decodes to a runt", { HEX("03 41 42"), FRAME(B, FRAME_LEAD) },
	  { ERR_INVAL, W_FRAME_B }, 1, 3, 0, 0, 0, 0, 1 },
	{ "garbage with no delimiter", { HEX("11 22 33 44 55 66") }, { 0 }, 0, 0, 0, 0, 0, 0, 0 },
	{ "garbage merges with a frame sent without lead", { HEX("41 42"), FRAME(A, 0) },
	  { ERR_INVAL }, 0, 2 + 13, 0, 1, 0, 0, 0 },
	{ "two frames in one buffer", { FRAME(A, 0), FRAME(B, 0) },
	  { W_FRAME_A, W_FRAME_B }, 2, 0, 0, 0, 0, 0, 0 },
	{ "two frames with leads", { FRAME(B, FRAME_LEAD), FRAME(A, FRAME_LEAD) },
	  { W_FRAME_B, W_FRAME_A }, 2, 0, 0, 0, 0, 0, 0 },
	{ "bad CRC then good", { FLIP(A, 2 * 8), FRAME(B, FRAME_LEAD) },
	  { ERR_CRC, W_FRAME_B }, 1, 13, 1, 0, 0, 0, 0 },
	{ "bad CRC in the CRC bytes", { FLIP(A, 10 * 8 + 3), FRAME(A, 0) },
	  { ERR_CRC, W_FRAME_A }, 1, 13, 1, 0, 0, 0, 0 },
	{ "truncated inside a block then good", { TRUNC(A, 5), FRAME(B, FRAME_LEAD) },
	  { ERR_INVAL, W_FRAME_B }, 1, 5, 0, 1, 0, 0, 0 },
	{ "truncated at a block boundary then good", { TRUNC(A, 7), FRAME(A, FRAME_LEAD) },
	  { ERR_CRC, W_FRAME_A }, 1, 7, 1, 0, 0, 0, 0 },
	{ "truncated long frame then good", { TRUNC(B, 200), FRAME(A, FRAME_LEAD) },
	  { ERR_INVAL, W_FRAME_A }, 1, 200, 0, 1, 0, 0, 0 },
	{ "runt", { HEX("00 02 41 00"), FRAME(A, 0) }, { ERR_INVAL, W_FRAME_A }, 1, 2, 0, 0, 0, 0, 1 },
	{ "runt of header and 3 bytes", { HEX("05 21 01 02 03 00"), FRAME(A, 0) },
	  { ERR_INVAL, W_FRAME_A }, 1, 5, 0, 0, 0, 0, 1 },
	{ "lone code byte", { HEX("01 00"), FRAME(A, 0) }, { ERR_INVAL, W_FRAME_A }, 1, 1, 0, 0, 0, 0, 1 },
	{ "wrong version 2", { VERSION(2), FRAME(A, 0) },
	  { ERR_VERSION, W_FRAME_A }, 1, 13, 0, 0, 0, 1, 0 },
	{ "wrong version 0", { VERSION(0), FRAME(A, 0) },
	  { ERR_VERSION, W_FRAME_A }, 1, 13, 0, 0, 0, 1, 0 },
	{ "delimiter lost: frame merges with the next lead", { FLIP(A, 13 * 8 + 0), FRAME(B, FRAME_LEAD) },
	  { ERR_CRC, W_FRAME_B }, 1, 14, 1, 0, 0, 0, 0 },
	{ "max length frame", { FRAME(MAXF, FRAME_LEAD), FRAME(A, 0) },
	  { W_FRAME_MAX, W_FRAME_A }, 2, 0, 0, 0, 0, 0, 0 },
	{ "over-long run without delimiter, counted once", { FILL(0x55, 3000), FRAME(A, FRAME_LEAD) },
	  { ERR_TOOBIG, W_FRAME_A }, 1, 3000, 0, 0, 1, 0, 0 },
	{ "max+1 frame, no zeros", { OVERLONG(0), FRAME(A, 0) },
	  { ERR_TOOBIG, W_FRAME_A }, 1, FRAME_RAW_MAX + 1, 0, 0, 1, 0, 0 },
	{ "max+1 frame, decodes too long", { OVERLONG(1), FRAME(A, 0) },
	  { ERR_TOOBIG, W_FRAME_A }, 1, FRAME_CONTENT_MAX + 1 + FRAME_CRC_BYTES + 1, 0, 0, 1, 0, 0 },
	{ "run of FRAME_RAW_MAX bytes is not too long", { FILL(0xff, FRAME_RAW_MAX), FRAME(A, FRAME_LEAD) },
	  { ERR_INVAL, W_FRAME_A }, 1, FRAME_RAW_MAX, 0, 1, 0, 0, 0 },
	{ "run of FRAME_RAW_MAX+1 is reported before any delimiter", { FILL(0x55, FRAME_RAW_MAX + 1) },
	  { ERR_TOOBIG }, 0, FRAME_RAW_MAX + 1, 0, 0, 1, 0, 0 },
	{ "over-long run ended by a frame's lead", { FILL(0x77, 1500), FRAME(B, FRAME_LEAD), FRAME(A, 0) },
	  { ERR_TOOBIG, W_FRAME_B, W_FRAME_A }, 2, 1500, 0, 0, 1, 0, 0 },
};

static void check_vector(const struct lex_vector *v, size_t n,
			 const struct lex_result *r, const char *how)
{
	size_t nwant = 0;
	while (nwant < VEC_WANT_MAX && v->want[nwant] != 0)
		nwant++;
	bool ok = r->n == nwant && memcmp(r->code, v->want, nwant * sizeof v->want[0]) == 0 &&
		  r->wrong == 0 && r->st.bytes_in == n && r->st.frames == v->frames &&
		  r->st.garbage == v->garbage && r->st.bad_crc == v->bad_crc &&
		  r->st.bad_cobs == v->bad_cobs && r->st.too_long == v->too_long &&
		  r->st.bad_version == v->bad_version && r->st.runts == v->runts;
	CU_ASSERT(ok);
	if (!ok) {
		fprintf(stderr, "\nvector \"%s\" (%s):", v->name, how);
		for (size_t i = 0; i < r->n; i++)
			fprintf(stderr, " %d", r->code[i]);
		fprintf(stderr, " | frames %lu garbage %lu crc %lu cobs %lu long %lu ver %lu runt %lu\n",
			(unsigned long)r->st.frames, (unsigned long)r->st.garbage,
			(unsigned long)r->st.bad_crc, (unsigned long)r->st.bad_cobs,
			(unsigned long)r->st.too_long, (unsigned long)r->st.bad_version,
			(unsigned long)r->st.runts);
	}
}

static void test_lexer_vectors(void)
{
	static uint8_t in[VEC_INPUT_MAX];
	static size_t cuts[VEC_INPUT_MAX];
	for (size_t v = 0; v < sizeof lex_vectors / sizeof lex_vectors[0]; v++) {
		const struct lex_vector *lv = &lex_vectors[v];
		size_t n = build_input(lv->in, in);
		struct lex_result whole, r;
		lex_whole(in, n, &whole);
		check_vector(lv, n, &whole, "whole");
		/* One byte at a time. */
		for (size_t i = 0; i + 1 < n; i++)
			cuts[i] = i + 1;
		lex_chunks(in, n, cuts, n ? n - 1 : 0, &r);
		CU_ASSERT(results_equal(&r, &whole));
		/* Every two-way split. */
		int differ = 0;
		for (size_t k = 0; k <= n; k++) {
			cuts[0] = k;
			lex_chunks(in, n, cuts, 1, &r);
			differ += !results_equal(&r, &whole);
		}
		CU_ASSERT_EQUAL(differ, 0);
	}
}

/* Returns true when r holds exactly one result: frame want. */
static bool only_frame(const struct lex_result *r, int want)
{
	return r->n >= 1 && r->code[r->n - 1] == want && r->st.frames == 1 && r->wrong == 0;
}

/* Every single-bit flip anywhere in an encoded frame (lead and delimiter
 * included), followed by a good frame: the flipped frame is never
 * returned and the good one always is. */
static void test_every_single_bit_flip(void)
{
	static uint8_t in[2 * FRAME_ENCODED_MAX + 2];
	for (unsigned which = 0; which < 3; which++) {
		size_t e = put_encoded(contents[which], content_lens[which], FRAME_LEAD, in);
		unsigned next = which == A ? B : A;
		size_t n = e + put_encoded(contents[next], content_lens[next], FRAME_LEAD, in + e);
		int bad = 0;
		for (size_t bit = 0; bit < 8 * e; bit++) {
			in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			struct lex_result r;
			lex_whole(in, n, &r);
			bad += !only_frame(&r, W_FRAME_A + (int)next);
			bad += r.st.bad_crc + r.st.bad_cobs + r.st.too_long + r.st.runts +
			       r.st.bad_version == 0;
			in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
}

/* Every pair of bit flips in a short frame: never a wrong frame. */
static void test_every_double_bit_flip(void)
{
	uint8_t in[2 * FRAME_ENCODED_MAX];
	size_t e = put_encoded(frame_a, sizeof frame_a, FRAME_LEAD, in);
	size_t n = e + put_encoded(frame_b, sizeof frame_b, FRAME_LEAD, in + e);
	int bad = 0;
	for (size_t b1 = 0; b1 < 8 * e; b1++) {
		for (size_t b2 = b1 + 1; b2 < 8 * e; b2++) {
			in[b1 / 8] ^= (uint8_t)(1u << (b1 % 8));
			in[b2 / 8] ^= (uint8_t)(1u << (b2 % 8));
			struct lex_result r;
			lex_whole(in, n, &r);
			bad += !only_frame(&r, W_FRAME_B);
			in[b1 / 8] ^= (uint8_t)(1u << (b1 % 8));
			in[b2 / 8] ^= (uint8_t)(1u << (b2 % 8));
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* A long seeded stream: random frames (random length, lead or not),
 * separated by random garbage (always closed by the next frame's lead),
 * fed in random chunks.  Exactly the frames sent come out, in order. */
static void test_random_stream(void)
{
	enum { STREAM_BYTES = STREAM_FRAMES * (FRAME_ENCODED_MAX + 64) };
	uint8_t *in = malloc(STREAM_BYTES);
	uint8_t *sent = malloc(STREAM_FRAMES * FRAME_CONTENT_MAX);
	size_t *sent_len = malloc(STREAM_FRAMES * sizeof *sent_len);
	CU_ASSERT_FATAL(in && sent && sent_len);
	prng_seed(SEED_STREAM);
	size_t n = 0;
	uint64_t garbage_runs = 0;
	for (int f = 0; f < STREAM_FRAMES; f++) {
		unsigned flags = prng_below(2) ? FRAME_LEAD : 0;
		if (prng_below(3) == 0) {
			size_t g = 1 + prng_below(60);
			fill_random(in + n, g);
			n += g;
			flags = FRAME_LEAD;
			garbage_runs++;
		}
		uint8_t *c = sent + (size_t)f * FRAME_CONTENT_MAX;
		size_t len = 1 + (prng_below(4) == 0 ? prng_below(FRAME_CONTENT_MAX) : prng_below(80));
		fill_random(c, len);
		c[0] = frame_header((uint8_t)prng_below(32));
		sent_len[f] = len;
		ssize_t r = frame_encode(c, len, flags, in + n, STREAM_BYTES - n);
		CU_ASSERT_FATAL(r > 0);
		n += (size_t)r;
	}
	struct frame_lexer lx;
	frame_lexer_init(&lx);
	int got = 0, wrong = 0;
	const uint8_t *p = in;
	size_t left = n;
	while (left > 0) {
		size_t chunk = 1 + prng_below(prng_below(2) ? 8 : 3000);
		if (chunk > left)
			chunk = left;
		size_t len = chunk;
		left -= chunk;
		const uint8_t *ct;
		size_t cl;
		int rc;
		while ((rc = frame_lexer_next(&lx, &p, &len, &ct, &cl)) != 0) {
			if (rc != 1)
				continue;
			if (got >= STREAM_FRAMES || cl != sent_len[got] ||
			    memcmp(ct, sent + (size_t)got * FRAME_CONTENT_MAX, cl) != 0)
				wrong++;
			got++;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(got, STREAM_FRAMES);
	CU_ASSERT_EQUAL(lx.st.frames, STREAM_FRAMES);
	CU_ASSERT_EQUAL(lx.st.bytes_in, n);
	/* Every garbage run that did not start with a zero is one bad frame
	 * (runs that are all delimiters are idle fill). */
	uint64_t dropped = lx.st.bad_crc + lx.st.bad_cobs + lx.st.too_long + lx.st.runts + lx.st.bad_version;
	CU_ASSERT(dropped > garbage_runs / 2 && dropped <= 60 * garbage_runs);
	CU_ASSERT(lx.st.garbage > 0);
	free(in);
	free(sent);
	free(sent_len);
}

/* The lexer's pointers: input fully consumed, the content valid until the
 * next call, nothing returned for an empty call. */
static void test_lexer_api(void)
{
	struct frame_lexer lx;
	frame_lexer_init(&lx);
	const uint8_t *ct = (const uint8_t *)"x";
	size_t cl = 99;
	const uint8_t *p = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(frame_lexer_next(&lx, &p, &len, &ct, &cl), 0);
	CU_ASSERT_PTR_NULL(ct);
	CU_ASSERT_EQUAL(cl, 0);
	uint8_t buf[2 * FRAME_ENCODED_MAX];
	size_t n = put_encoded(frame_a, sizeof frame_a, 0, buf);
	n += put_encoded(frame_b, sizeof frame_b, 0, buf + n);
	p = buf;
	len = n;
	CU_ASSERT_EQUAL(frame_lexer_next(&lx, &p, &len, &ct, &cl), 1);
	/* Stops right after the first frame's delimiter. */
	CU_ASSERT_EQUAL(p - buf, (ptrdiff_t)(sizeof frame_a + FRAME_OVERHEAD_SMALL));
	CU_ASSERT_EQUAL(len, n - (size_t)(p - buf));
	CU_ASSERT_EQUAL(cl, sizeof frame_a);
	CU_ASSERT_EQUAL(frame_lexer_next(&lx, &p, &len, &ct, &cl), 1);
	CU_ASSERT(cl == sizeof frame_b && memcmp(ct, frame_b, cl) == 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(frame_lexer_next(&lx, &p, &len, &ct, &cl), 0);
}

void suite_frame(void);
void suite_frame(void)
{
	CU_pSuite s = CU_add_suite("frame", setup, NULL);
	CU_add_test(s, "crc32c check values", test_crc32c);
	CU_add_test(s, "header version and type", test_header);
	CU_add_test(s, "cobs vectors", test_cobs_vectors);
	CU_add_test(s, "cobs malformed input", test_cobs_malformed);
	CU_add_test(s, "cobs decode is canonical", test_cobs_canonical);
	CU_add_test(s, "encode limits", test_encode_limits);
	CU_add_test(s, "round trip every length", test_roundtrip_every_length);
	CU_add_test(s, "lexer vectors, every split", test_lexer_vectors);
	CU_add_test(s, "every single-bit flip", test_every_single_bit_flip);
	CU_add_test(s, "every double-bit flip", test_every_double_bit_flip);
	CU_add_test(s, "seeded random stream", test_random_stream);
	CU_add_test(s, "lexer api", test_lexer_api);
}
