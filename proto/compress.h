/*
 * compress.h — one block of bytes compressed with raw deflate and a preset
 * dictionary, or stored (pure: zlib allocates only from the caller's arena).
 *
 * Block layout:  [method: 1 byte][data]
 *   method 0x00 (COMPRESS_METHOD_STORED): data is the input as is;
 *   method 0x01 (COMPRESS_METHOD_DEFLATE): raw deflate (RFC 1951, no zlib or
 *     gzip wrapper), no dictionary;
 *   method 0x10.. : raw deflate with the preset dictionary of that id
 *     (registry in proto/dict.h).
 * Deflate parameters: level 9, windowBits -15, memLevel 9, default strategy.
 * The deflate stream must end exactly at the end of the block.
 *
 * Privacy: each call initialises a fresh zlib stream in a freshly reset
 * arena, primed only with the public preset dictionary, and ends it before
 * returning.  No compression state ever carries over from one call to the
 * next, so one crew member's text can never shorten (and so reveal itself
 * through the compressed size of) another's block.  Call once per crew
 * member's block; never concatenate two people's text into one call.
 */
#ifndef LIFELINE_PROTO_COMPRESS_H
#define LIFELINE_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define COMPRESS_METHOD_STORED 0x00u
#define COMPRESS_METHOD_DEFLATE 0x01u
#define COMPRESS_HEADER_BYTES 1u           /* the method byte */
#define COMPRESS_LEVEL 9
#define COMPRESS_WINDOW_BITS 15            /* passed negated: raw deflate */
#define COMPRESS_MEM_LEVEL 9
#define COMPRESS_INPUT_MAX (1u << 20)      /* longest block either way */

/* zlib's documented memory use (zconf.h): deflate needs
 * (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes, inflate
 * 1 << windowBits, each "plus a few kilobytes" for its state structure. */
#define COMPRESS_DEFLATE_MEM_BYTES \
	((1u << (COMPRESS_WINDOW_BITS + 2)) + (1u << (COMPRESS_MEM_LEVEL + 9)))
#define COMPRESS_INFLATE_MEM_BYTES (1u << COMPRESS_WINDOW_BITS)
#define COMPRESS_STATE_SLACK_BYTES (16u * 1024u)
#define COMPRESS_ARENA_BYTES (COMPRESS_DEFLATE_MEM_BYTES + COMPRESS_STATE_SLACK_BYTES)

/* Scratch memory for one call at a time (about 400 KiB: embed it in a
 * long-lived object, do not put it on a small stack).  Holds no state
 * between calls. */
struct compress_work {
	size_t used;                           /* bytes of arena handed out */
	_Alignas(16) uint8_t arena[COMPRESS_ARENA_BYTES];
};

/*
 * Compresses in[0..n) into out[0..cap) as [method][data] with the method
 * dict_id (COMPRESS_METHOD_DEFLATE or a dictionary id), falling back to
 * COMPRESS_METHOD_STORED whenever deflate would not be strictly shorter
 * than the input.  w is scratch only.  Returns the block length;
 * ERR_NOTFOUND for an unknown dict_id; ERR_FULL if even the stored form
 * (n + 1 bytes) does not fit in cap; ERR_TOOBIG if n > COMPRESS_INPUT_MAX;
 * ERR_NOMEM if zlib needed more than the arena (a bug).
 */
ssize_t compress_block(struct compress_work *w, uint8_t dict_id,
		       const uint8_t *in, size_t n, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Decompresses the block in[0..n) into out, producing at most cap_max
 * bytes (out must have room for cap_max).  Stops as soon as the output
 * would exceed cap_max: ERR_BOMB, after at most cap_max + 1 bytes of work
 * output.  Returns the decompressed length; ERR_INVAL for an empty block,
 * an unknown method, corrupt deflate data or bytes after the end of the
 * deflate stream; ERR_TRUNC if the deflate stream is cut short;
 * ERR_TOOBIG if n > COMPRESS_INPUT_MAX + 1.
 */
ssize_t decompress_block(struct compress_work *w, const uint8_t *in, size_t n,
			 uint8_t *out, size_t cap_max) LL_MUST_CHECK;

/*
 * Picks the method for a text from its dominant script: counts letters of
 * Burmese (Myanmar blocks, incl. Extended-A/B), Khmer, Lao, Thai and Latin;
 * one script holding at least COMPRESS_DOMINANT_PCT percent of them picks
 * its dictionary (Latin: English), otherwise the mixed dictionary; no
 * letters at all: English.  Always the current (newest) version of that
 * language, DICT_ID_EN ... in proto/dict.h; older ids are only decoded.
 * Returns the dictionary id, or ERR_UTF8.
 */
#define COMPRESS_DOMINANT_PCT 60u
int compress_pick_dict(const uint8_t *utf8, size_t n) LL_MUST_CHECK;

#endif
