/*
 * varint.h — unsigned LEB128 varints, zigzag, and bounded byte cursors (pure).
 *
 * A varint holds 7 bits of a uint64_t per byte, least significant group
 * first; the top bit of a byte says "another byte follows".  Values 0..127
 * take one byte, a full uint64_t ten.  The decoder accepts only the one
 * minimal encoding of each value, so that every value has exactly one byte
 * form: a final 0x00 byte after the first is refused, as are an eleventh
 * byte and a tenth byte carrying bits above bit 63.
 *
 * Signed values travel zigzag-coded (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...),
 * so that small magnitudes of either sign stay short.
 *
 * struct cursor reads from a bounded region and checks the bounds before
 * every read; struct wcursor writes into a bounded region (or only counts
 * bytes when it has no buffer) and remembers overflow, so that an encoder can
 * write a run of fields and check once at the end.  Neither owns its bytes.
 */
#ifndef LIFELINE_PROTO_VARINT_H
#define LIFELINE_PROTO_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define VARINT_MAX_BYTES 10u          /* ceil(64 / 7) */
#define VARINT_GROUP_BITS 7u          /* payload bits per byte */
#define VARINT_MORE 0x80u             /* continuation bit */
#define VARINT_GROUP_MASK 0x7fu

/* Bytes needed to encode v: 1..VARINT_MAX_BYTES. */
size_t varint_size(uint64_t v);

/*
 * Encodes v at out (cap bytes available).  Returns the number of bytes
 * written (1..VARINT_MAX_BYTES), or ERR_FULL when cap is too small (nothing
 * is written then).
 */
ssize_t varint_encode(uint64_t v, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Decodes one varint from the first len bytes of in into *v.  Returns the
 * number of bytes consumed, ERR_TRUNC when the input ends inside the varint
 * (including len == 0), or ERR_INVAL for a non-minimal encoding, an eleventh
 * byte or a value over 64 bits.  *v is written only on success.
 */
ssize_t varint_decode(const uint8_t *in, size_t len, uint64_t *v) LL_MUST_CHECK;

/* Zigzag: maps a signed value to an unsigned one with small magnitudes
 * small (0 -> 0, -1 -> 1, 1 -> 2, INT64_MIN -> UINT64_MAX). */
uint64_t varint_zigzag_encode(int64_t v);
/* The inverse of varint_zigzag_encode(); total over uint64_t. */
int64_t varint_zigzag_decode(uint64_t u);

/* A read position inside a caller-owned region: ptr..ptr+len unread. */
struct cursor {
	const uint8_t *ptr;
	size_t len;
};

/* Starts a cursor over p[0..len). */
void cursor_init(struct cursor *c, const uint8_t *p, size_t len);

/* Reads one byte.  0, or ERR_TRUNC at the end (cursor unchanged). */
int cursor_get_u8(struct cursor *c, uint8_t *v) LL_MUST_CHECK;

/* Reads one minimal varint.  0, or varint_decode()'s error (cursor
 * unchanged). */
int cursor_get_varint(struct cursor *c, uint64_t *v) LL_MUST_CHECK;

/* Reads a varint that must not exceed max: 0, ERR_INVAL over max, or
 * varint_decode()'s error. */
int cursor_get_varint_max(struct cursor *c, uint64_t max, uint64_t *v) LL_MUST_CHECK;

/*
 * Takes n bytes: *p points at them inside the cursor's region (no copy).
 * 0, or ERR_TRUNC when fewer than n remain (cursor unchanged).
 */
int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p) LL_MUST_CHECK;

/* Reads an n-byte little-endian unsigned integer (1 <= n <= 8) into *v.
 * 0, or ERR_TRUNC (cursor unchanged).  For fixed-width layouts meant to be
 * read by hand (complaints, signed documents). */
int cursor_get_le(struct cursor *c, size_t n, uint64_t *v) LL_MUST_CHECK;

/*
 * A write position: len bytes written so far into ptr[0..cap).  With ptr
 * NULL the cursor only counts (len is then the size the writes need).  Once
 * a write does not fit, full is set, nothing more is written, and len keeps
 * counting what would have been needed.
 */
struct wcursor {
	uint8_t *ptr;
	size_t cap;
	size_t len;
	bool full;
};

/* Starts a writer over p[0..cap); p may be NULL to measure only. */
void wcursor_init(struct wcursor *w, uint8_t *p, size_t cap);
/* Appends one byte. */
void wcursor_put_u8(struct wcursor *w, uint8_t v);
/* Appends the minimal varint of v. */
void wcursor_put_varint(struct wcursor *w, uint64_t v);
/* Appends n bytes from p (p may be NULL only when n is 0). */
void wcursor_put_bytes(struct wcursor *w, const uint8_t *p, size_t n);
/* Appends the low n bytes of v (1 <= n <= 8), little-endian. */
void wcursor_put_le(struct wcursor *w, uint64_t v, size_t n);

#endif
