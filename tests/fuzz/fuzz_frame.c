/*
 * fuzz_frame.c — libFuzzer target for the frame lexer and COBS.
 *
 * Input: byte 0 chooses how the rest is split into chunks (0: one chunk;
 * k > 0: each chunk is 1 + (its first byte mod k) bytes long), the rest is
 * the stream fed to one lexer.  Invariants, checked with abort() so that
 * libFuzzer reports a violation:
 *  - the lexer consumes every byte, and bytes_in counts them;
 *  - a returned frame has 1..FRAME_CONTENT_MAX bytes and version
 *    FRAME_VERSION, and re-encoding it (no lead) gives exactly the bytes
 *    that ended at the current position, preceded by a delimiter or the
 *    start of the stream: the lexer returned what was on the wire;
 *  - frames + every error counter match the returns seen;
 *  - any COBS string the decoder accepts re-encodes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

static void require(int ok)
{
	if (!ok)
		abort();
}

static void check_cobs(const uint8_t *data, size_t size)
{
	static uint8_t dec[FRAME_RAW_MAX], re[FRAME_RAW_MAX + 1];
	if (size == 0 || size > FRAME_RAW_MAX)
		return;
	ssize_t d = frame_cobs_decode(data, size, dec, sizeof dec);
	if (d < 0) {
		require(d == ERR_INVAL || d == ERR_FULL);
		return;
	}
	ssize_t e = frame_cobs_encode(dec, (size_t)d, re, sizeof re);
	require(e == (ssize_t)size && memcmp(re, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned key = data[0];
	const uint8_t *stream = data + 1;
	size_t n = size - 1;
	check_cobs(stream, n);

	static struct frame_lexer lx;
	static uint8_t enc[FRAME_ENCODED_MAX];
	frame_lexer_init(&lx);
	uint64_t frames = 0, errors = 0;
	size_t pos = 0;
	while (pos < n) {
		size_t chunk = key == 0 ? n - pos : 1u + stream[pos] % key;
		if (chunk > n - pos)
			chunk = n - pos;
		const uint8_t *p = stream + pos;
		size_t len = chunk;
		for (;;) {
			const uint8_t *ct;
			size_t cl;
			int rc = frame_lexer_next(&lx, &p, &len, &ct, &cl);
			if (rc == 0)
				break;
			if (rc < 0) {
				require(ct == NULL && cl == 0);
				require(rc == ERR_CRC || rc == ERR_INVAL || rc == ERR_TOOBIG ||
					rc == ERR_VERSION);
				errors++;
				continue;
			}
			require(rc == 1);
			frames++;
			require(cl >= 1 && cl <= FRAME_CONTENT_MAX);
			require(frame_version(ct[0]) == FRAME_VERSION);
			ssize_t e = frame_encode(ct, cl, 0, enc, sizeof enc);
			require(e > 0);
			size_t at = (size_t)(p - stream);    /* just past the delimiter */
			size_t en = (size_t)e;
			require(en <= at && memcmp(stream + at - en, enc, en) == 0);
			require(at == en || stream[at - en - 1] == FRAME_DELIM);
		}
		require(len == 0 && p == stream + pos + chunk);
		pos += chunk;
	}
	require(lx.st.bytes_in == n);
	require(lx.st.frames == frames);
	require(lx.st.bad_crc + lx.st.bad_cobs + lx.st.too_long + lx.st.bad_version +
		lx.st.runts == errors);
	require(lx.st.garbage <= n);
	return 0;
}
