/*
 * compress.c — [method][raw deflate] blocks with preset dictionaries, and
 * the choice of dictionary (layout and privacy rule in compress.h).
 *
 * Invariants: zlib gets its memory only from w->arena through a bump
 * allocator reset at the start of every call, so nothing survives a call
 * and proto/ stays allocation-free; every stream is ended before return;
 * inflate never writes past cap_max bytes of out, plus one probe byte kept
 * inside w.
 *
 * Failure: a negative enum err (zlib codes are translated here only); out
 * may hold garbage after a failure.
 */
#include "proto/compress.h"

#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#include "proto/dict.h"
#include "proto/script.h"

#define ARENA_ALIGN 16u

static voidpf arena_get(voidpf opaque, uInt items, uInt size)
{
	struct compress_work *w = opaque;
	size_t want = (size_t)items * (size_t)size;   /* both < 2^32: no overflow in 64 bits */
	size_t start = (w->used + ARENA_ALIGN - 1u) & ~(size_t)(ARENA_ALIGN - 1u);
	if (start > sizeof w->arena || want > sizeof w->arena - start)
		return Z_NULL;
	w->used = start + want;
	return w->arena + start;
}

static void arena_put(voidpf opaque, voidpf p)
{
	/* Bump allocator: everything is released by the reset of the next call. */
	(void)opaque;
	(void)p;
}

static void stream_prepare(z_stream *zs, struct compress_work *w)
{
	memset(zs, 0, sizeof *zs);
	w->used = 0;
	zs->zalloc = arena_get;
	zs->zfree = arena_put;
	zs->opaque = w;
}

static int dict_for(uint8_t method, const uint8_t **d, size_t *dlen)
{
	*d = NULL;
	*dlen = 0;
	if (method == COMPRESS_METHOD_DEFLATE)
		return 0;
	const struct dict *di = dict_find(method);
	if (di == NULL)
		return ERR_NOTFOUND;
	*d = di->bytes;
	*dlen = di->len;
	return 0;
}

static ssize_t store(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	if (cap < n + COMPRESS_HEADER_BYTES)
		return ERR_FULL;
	out[0] = COMPRESS_METHOD_STORED;
	if (n > 0)
		memmove(out + COMPRESS_HEADER_BYTES, in, n);
	return (ssize_t)(n + COMPRESS_HEADER_BYTES);
}

ssize_t compress_block(struct compress_work *w, uint8_t dict_id,
		       const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	if (n > COMPRESS_INPUT_MAX)
		return ERR_TOOBIG;
	if (w == NULL || out == NULL || (n > 0 && in == NULL))
		return ERR_INVAL;
	const uint8_t *d;
	size_t dlen;
	int rc = dict_for(dict_id, &d, &dlen);
	if (rc != 0)
		return rc;
	if (cap < COMPRESS_HEADER_BYTES + 1u || n < 2u)
		return store(in, n, out, cap);   /* nothing shorter than 1 byte */

	/* Deflate is worth it only if strictly shorter than n: give it n - 1
	 * bytes of room (or less if cap is smaller) and fall back to stored
	 * when it does not finish in that room. */
	size_t room = cap - COMPRESS_HEADER_BYTES;
	if (room > n - 1u)
		room = n - 1u;
	z_stream zs;
	stream_prepare(&zs, w);
	rc = deflateInit2(&zs, COMPRESS_LEVEL, Z_DEFLATED, -COMPRESS_WINDOW_BITS,
			  COMPRESS_MEM_LEVEL, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK)
		return rc == Z_MEM_ERROR ? ERR_NOMEM : ERR_INVAL;
	ssize_t ret;
	if (dlen > 0 && deflateSetDictionary(&zs, d, (uInt)dlen) != Z_OK) {
		ret = ERR_INVAL;
		goto out;
	}
	zs.next_in = (z_const Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out + COMPRESS_HEADER_BYTES;
	zs.avail_out = (uInt)room;
	rc = deflate(&zs, Z_FINISH);
	if (rc == Z_STREAM_END) {
		out[0] = dict_id;
		ret = (ssize_t)(COMPRESS_HEADER_BYTES + zs.total_out);
	} else if (rc == Z_OK || rc == Z_BUF_ERROR) {
		ret = ERR_FULL;                     /* did not shrink: store below */
	} else {
		ret = rc == Z_MEM_ERROR ? ERR_NOMEM : ERR_INVAL;
	}
out:
	deflateEnd(&zs);
	if (ret == ERR_FULL)
		return store(in, n, out, cap);
	return ret;
}

ssize_t decompress_block(struct compress_work *w, const uint8_t *in, size_t n,
			 uint8_t *out, size_t cap_max)
{
	if (n > COMPRESS_INPUT_MAX + COMPRESS_HEADER_BYTES)
		return ERR_TOOBIG;
	if (w == NULL || in == NULL || n < COMPRESS_HEADER_BYTES)
		return ERR_INVAL;
	if (cap_max > COMPRESS_INPUT_MAX)
		cap_max = COMPRESS_INPUT_MAX;
	uint8_t method = in[0];
	size_t len = n - COMPRESS_HEADER_BYTES;
	if (method == COMPRESS_METHOD_STORED) {
		if (len > cap_max)
			return ERR_BOMB;
		if (len > 0)
			memmove(out, in + COMPRESS_HEADER_BYTES, len);
		return (ssize_t)len;
	}
	const uint8_t *d;
	size_t dlen;
	if (dict_for(method, &d, &dlen) != 0)
		return ERR_INVAL;
	if (cap_max > 0 && out == NULL)
		return ERR_INVAL;

	z_stream zs;
	stream_prepare(&zs, w);
	int rc = inflateInit2(&zs, -COMPRESS_WINDOW_BITS);
	if (rc != Z_OK)
		return rc == Z_MEM_ERROR ? ERR_NOMEM : ERR_INVAL;
	ssize_t ret;
	if (dlen > 0 && inflateSetDictionary(&zs, d, (uInt)dlen) != Z_OK) {
		ret = ERR_INVAL;
		goto done;
	}
	zs.next_in = (z_const Bytef *)(in + COMPRESS_HEADER_BYTES);
	zs.avail_in = (uInt)len;
	uint8_t probe;
	zs.next_out = cap_max > 0 ? out : &probe;
	zs.avail_out = (uInt)cap_max;
	rc = inflate(&zs, Z_FINISH);
	if (rc != Z_STREAM_END && rc != Z_DATA_ERROR && rc != Z_MEM_ERROR &&
	    zs.avail_out == 0) {
		/* out is full but the stream has not ended: one more byte decides
		 * between "ends exactly at cap_max" and a bomb. */
		zs.next_out = &probe;
		zs.avail_out = 1;
		rc = inflate(&zs, Z_FINISH);
		if (zs.avail_out == 0) {
			ret = ERR_BOMB;
			goto done;
		}
	}
	if (rc == Z_STREAM_END)
		ret = zs.avail_in == 0 ? (ssize_t)zs.total_out : ERR_INVAL;
	else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
		ret = ERR_INVAL;
	else if (rc == Z_MEM_ERROR)
		ret = ERR_NOMEM;
	else
		ret = ERR_TRUNC;   /* Z_BUF_ERROR / Z_OK: input ran out first */
done:
	inflateEnd(&zs);
	return ret;
}

enum script_class { CLS_NONE, CLS_LATIN, CLS_MYA, CLS_KHM, CLS_LAO, CLS_THA, CLS_COUNT };

static enum script_class classify(uint32_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xc0 && c <= 0x24f) || (c >= 0x1e00 && c <= 0x1eff))
		return CLS_LATIN;
	if ((c >= 0x1000 && c <= 0x109f) || (c >= 0xa9e0 && c <= 0xa9ff) ||
	    (c >= 0xaa60 && c <= 0xaa7f))
		return CLS_MYA;
	if ((c >= 0x1780 && c <= 0x17ff) || (c >= 0x19e0 && c <= 0x19ff))
		return CLS_KHM;
	if (c >= 0x0e80 && c <= 0x0eff)
		return CLS_LAO;
	if (c >= 0x0e00 && c <= 0x0e7f)
		return CLS_THA;
	return CLS_NONE;
}

int compress_pick_dict(const uint8_t *utf8, size_t n)
{
	static const uint8_t ids[CLS_COUNT] = {
		[CLS_LATIN] = DICT_ID_EN, [CLS_MYA] = DICT_ID_MYA,
		[CLS_KHM] = DICT_ID_KHM, [CLS_LAO] = DICT_ID_LAO,
		[CLS_THA] = DICT_ID_THA,
	};
	size_t count[CLS_COUNT] = { 0 };
	size_t letters = 0;
	size_t i = 0;
	if (n > 0 && utf8 == NULL)
		return ERR_INVAL;
	while (i < n) {
		uint32_t c;
		size_t len;
		if (script_utf8_next(utf8 + i, n - i, &c, &len) != 0)
			return ERR_UTF8;
		enum script_class k = classify(c);
		if (k != CLS_NONE) {
			count[k]++;
			letters++;
		}
		i += len;
	}
	if (letters == 0)
		return DICT_ID_EN;
	for (int k = CLS_LATIN; k < CLS_COUNT; k++)
		if (count[k] * 100u >= letters * COMPRESS_DOMINANT_PCT)
			return ids[k];
	return DICT_ID_MIXED;
}
