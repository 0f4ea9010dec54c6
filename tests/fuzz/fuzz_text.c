/*
 * fuzz_text.c — libFuzzer target for the text path: script_decode() and
 * decompress_block() on hostile bytes, and round trips through
 * script_encode() and compress_block() when the input is valid UTF-8.
 * The first byte picks the mode (low 2 bits); the rest is the input.
 * Any crash, sanitizer report or broken round trip aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/compress.h"
#include "proto/script.h"

#define FUZZ_INPUT_MAX 8192u
#define FUZZ_OUT_CAP (64u * 1024u)

static struct compress_work work;
static uint8_t a[SCRIPT_DECODE_MAX(SCRIPT_ENCODE_MAX(FUZZ_OUT_CAP))];
static uint8_t b[SCRIPT_ENCODE_MAX(FUZZ_OUT_CAP) + 1];
static uint8_t c[SCRIPT_DECODE_MAX(SCRIPT_ENCODE_MAX(FUZZ_OUT_CAP))];

static void check(int ok)
{
	if (!ok)
		abort();
}

/* utf8[0..n) is valid: encode, decode, compare. */
static void text_round_trip(const uint8_t *utf8, size_t n, int compress)
{
	ssize_t e = script_encode(utf8, n, b, sizeof b);
	check(e >= 0 && (size_t)e <= SCRIPT_ENCODE_MAX(n));
	const uint8_t *enc = b;
	size_t elen = (size_t)e;
	if (compress) {
		int id = compress_pick_dict(utf8, n);
		check(id > 0);
		ssize_t z = compress_block(&work, (uint8_t)id, b, elen, a, sizeof a);
		check(z > 0 && (size_t)z <= elen + 1u);
		ssize_t back = decompress_block(&work, a, (size_t)z, c, sizeof c);
		check(back == e && memcmp(c, b, elen) == 0);
	}
	ssize_t d = script_decode(enc, elen, c, sizeof c);
	check(d == (ssize_t)n && memcmp(c, utf8, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	switch (data[0] & 3u) {
	case 0: {
		ssize_t d = script_decode(in, n, a, sizeof a);
		check(d == ERR_INVAL || d >= 0);
		if (d >= 0) {
			check(script_utf8_check(a, (size_t)d, NULL) == 0);
			text_round_trip(a, (size_t)d, 0);
		}
		break;
	}
	case 1: {
		ssize_t d = decompress_block(&work, in, n, a, FUZZ_OUT_CAP);
		check(d == ERR_INVAL || d == ERR_TRUNC || d == ERR_BOMB ||
		      (d >= 0 && (size_t)d <= FUZZ_OUT_CAP));
		break;
	}
	default: {
		size_t off;
		if (script_utf8_check(in, n, &off) == 0)
			text_round_trip(in, n, (data[0] & 3u) == 3u);
		else
			check(script_encode(in, n, b, sizeof b) == ERR_UTF8 && off < n);
		break;
	}
	}
	return 0;
}
