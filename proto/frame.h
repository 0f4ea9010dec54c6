/*
 * frame.h — delimiting a stream link into frames (pure).
 *
 * On a byte pipe (serial, TCP) each unit travels as
 *
 *     [0x00]? COBS( content || CRC-32C(content) little-endian ) 0x00
 *
 * "content" is what the layer above hands down: its first byte is the frame
 * header, version in the top 3 bits and a type in the low 5 bits
 * (frame_header()).  COBS bounds the stuffing overhead to 1 byte per 254
 * plus the delimiter.  A leading delimiter is written only when asked
 * (FRAME_LEAD), e.g. for the first frame after the line was idle, so that
 * line noise before it cannot merge with it.
 *
 * The lexer is incremental: bytes arrive in any split, garbage and corrupted
 * or truncated frames are dropped and counted, and it resynchronises on the
 * next delimiter.  No I/O, no allocation: the caller embeds the lexer.
 */
#ifndef LIFELINE_PROTO_FRAME_H
#define LIFELINE_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define FRAME_VERSION 1u            /* bump on any change to the layout */
#define FRAME_VERSION_SHIFT 5u      /* version in the top 3 bits of the header */
#define FRAME_TYPE_MASK 0x1fu
#define FRAME_CONTENT_MAX 1100u     /* header byte + upper-layer fields + payload */
#define FRAME_HEADER_BYTES 1u       /* the header byte starts every content */
#define FRAME_CRC_BYTES 4u
#define FRAME_DELIM 0x00u
/* COBS worst case: one code byte per 254 data bytes, plus one. */
#define FRAME_COBS_MAX(n) ((n) + (n) / 254u + 1u)
/* Longest run of bytes between two delimiters that can hold a valid frame. */
#define FRAME_RAW_MAX FRAME_COBS_MAX(FRAME_CONTENT_MAX + FRAME_CRC_BYTES)
/* Largest encoded frame, delimiters included. */
#define FRAME_ENCODED_MAX (FRAME_COBS_MAX(FRAME_CONTENT_MAX + FRAME_CRC_BYTES) + 2u)
/* Framing bytes added to content of at most 250 bytes (content + CRC fits
 * one 254-byte COBS block), one delimiter. */
#define FRAME_OVERHEAD_SMALL (FRAME_CRC_BYTES + 1u + 1u)

#define FRAME_LEAD 0x1u             /* frame_encode flag: write a leading delimiter */

/* The header byte for a frame of the given type (0..31). */
uint8_t frame_header(uint8_t type);
/* The type of a content whose header has been checked by the lexer. */
uint8_t frame_type(const uint8_t *content);
/* The version carried by a header byte (FRAME_VERSION for a good frame). */
uint8_t frame_version(uint8_t header);

/* CRC-32C (Castagnoli), reflected, init and final xor 0xffffffff when
 * called as crc32c(0, p, n); chainable. */
uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n);

/*
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).  Encodes n
 * bytes (n may be 0) into out so that no 0x00 appears; no delimiter is
 * written.  The output is at most FRAME_COBS_MAX(n) bytes; a block of 254
 * non-zero bytes that ends the input gets no trailing code byte.  Returns
 * the encoded length, or ERR_FULL if cap is too small.
 */
ssize_t frame_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Decodes n bytes of COBS (no delimiter) into out.  Accepts only the
 * canonical encoding frame_cobs_encode() produces, so that one decoded
 * string has exactly one encoded form.  Returns the decoded length,
 * ERR_INVAL for n == 0, a 0x00 byte, a block running past the end or a
 * non-canonical ending, and ERR_FULL if the decoded bytes exceed cap.
 */
ssize_t frame_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Encodes one frame of content (1..FRAME_CONTENT_MAX bytes) into out.
 * Returns the encoded length, ERR_TOOBIG if len is over the maximum,
 * ERR_INVAL if len is 0, a pointer is NULL or flags has unknown bits,
 * ERR_FULL if cap is too small (FRAME_ENCODED_MAX always suffices).
 * Error codes here and below are the (negative) enum err values.
 */
ssize_t frame_encode(const uint8_t *content, size_t len, unsigned flags,
		     uint8_t *out, size_t cap) LL_MUST_CHECK;

struct frame_stats {
	uint64_t frames;        /* good frames returned */
	uint64_t bytes_in;      /* every byte fed */
	uint64_t garbage;       /* bytes in dropped frames */
	uint64_t bad_crc;
	uint64_t bad_cobs;
	uint64_t too_long;
	uint64_t bad_version;
	uint64_t runts;         /* shorter than header + CRC */
};

struct frame_lexer {
	uint8_t raw[FRAME_ENCODED_MAX];     /* bytes since the last delimiter */
	size_t rawlen;
	bool overflow;                      /* discarding until a delimiter */
	uint8_t content[FRAME_CONTENT_MAX + FRAME_CRC_BYTES];
	struct frame_stats st;
};

void frame_lexer_init(struct frame_lexer *lx);

/*
 * Consumes bytes from *in / *len (both advanced) until one frame completes
 * or the input is used up.  Returns
 *   1   a good frame: *content and *content_len point into lx, valid until
 *       the next call; the CRC is stripped, content[0] is the header;
 *   0   all input consumed, no frame yet;
 *  <0   a bad frame was dropped (ERR_CRC, ERR_TOOBIG, ERR_VERSION,
 *       ERR_INVAL for bad COBS or a runt) and counted; call again.
 * Two delimiters in a row are idle fill, neither an error nor garbage.  A
 * run of more than FRAME_RAW_MAX bytes without a delimiter returns
 * ERR_TOOBIG once, when it overflows; the rest of the run up to the next
 * delimiter is discarded silently (counted in garbage).  On any return
 * other than 1, *content is NULL and *content_len 0.  All pointers must be
 * valid (*in may be NULL when *len is 0).
 */
int frame_lexer_next(struct frame_lexer *lx, const uint8_t **in, size_t *len,
		     const uint8_t **content, size_t *content_len);

#endif
