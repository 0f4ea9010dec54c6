/*
 * varint.c — minimal unsigned LEB128 varints, zigzag, bounded cursors.
 *
 * Invariants: every value has exactly one accepted encoding (the shortest);
 * the decoder never looks at a byte at or past in + len; the cursors never
 * move past their region and never touch memory outside it.
 *
 * Failure behaviour: decoders return ERR_TRUNC when the input ends early and
 * ERR_INVAL for a non-minimal or over-long encoding, and leave their outputs
 * and cursors untouched.  The writer stops writing at the first field that
 * does not fit, sets its full flag and keeps counting, so the caller learns
 * both that it failed and how much room it would have needed.
 */
#include "proto/varint.h"

#include <string.h>

/* The tenth byte holds bit 63 only: 9 groups of 7 bits come before it. */
#define LAST_GROUP_MAX 0x01u

size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v > VARINT_GROUP_MASK) {
		v >>= VARINT_GROUP_BITS;
		n++;
	}
	return n;
}

ssize_t varint_encode(uint64_t v, uint8_t *out, size_t cap)
{
	size_t n = varint_size(v);
	if (n > cap)
		return ERR_FULL;
	for (size_t i = 0; i + 1 < n; i++) {
		out[i] = (uint8_t)((v & VARINT_GROUP_MASK) | VARINT_MORE);
		v >>= VARINT_GROUP_BITS;
	}
	out[n - 1] = (uint8_t)v;
	return (ssize_t)n;
}

ssize_t varint_decode(const uint8_t *in, size_t len, uint64_t *v)
{
	uint64_t acc = 0;
	for (size_t i = 0; i < VARINT_MAX_BYTES; i++) {
		if (i >= len)
			return ERR_TRUNC;
		uint8_t b = in[i];
		uint64_t group = b & VARINT_GROUP_MASK;
		if (i == VARINT_MAX_BYTES - 1 && b > LAST_GROUP_MAX)
			return ERR_INVAL;     /* bits above 63, or an 11th byte */
		acc |= group << (VARINT_GROUP_BITS * i);
		if ((b & VARINT_MORE) == 0) {
			if (b == 0 && i > 0)
				return ERR_INVAL;     /* non-minimal: trailing zero group */
			*v = acc;
			return (ssize_t)(i + 1);
		}
	}
	return ERR_INVAL;     /* not reached: the tenth byte ends the loop */
}

uint64_t varint_zigzag_encode(int64_t v)
{
	/* (v << 1) ^ (v >> 63) without shifting a negative value. */
	uint64_t u = (uint64_t)v;
	return (u << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

int64_t varint_zigzag_decode(uint64_t u)
{
	uint64_t mag = u >> 1;
	/* mag <= INT64_MAX, so neither conversion nor negation overflows. */
	if ((u & 1u) == 0)
		return (int64_t)mag;
	return -(int64_t)mag - 1;
}

void cursor_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->ptr = p;
	c->len = p ? len : 0;
}

int cursor_get_u8(struct cursor *c, uint8_t *v)
{
	if (c->len < 1)
		return ERR_TRUNC;
	*v = c->ptr[0];
	c->ptr++;
	c->len--;
	return 0;
}

int cursor_get_varint(struct cursor *c, uint64_t *v)
{
	ssize_t n = varint_decode(c->ptr, c->len, v);
	if (n < 0)
		return (int)n;
	c->ptr += n;
	c->len -= (size_t)n;
	return 0;
}

int cursor_get_varint_max(struct cursor *c, uint64_t max, uint64_t *v)
{
	uint64_t x;
	struct cursor save = *c;
	int rc = cursor_get_varint(c, &x);
	if (rc < 0)
		return rc;
	if (x > max) {
		*c = save;
		return ERR_INVAL;
	}
	*v = x;
	return 0;
}

int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p)
{
	if (n > c->len)
		return ERR_TRUNC;
	*p = c->ptr;
	c->ptr += n;
	c->len -= n;
	return 0;
}

void wcursor_init(struct wcursor *w, uint8_t *p, size_t cap)
{
	w->ptr = p;
	w->cap = p ? cap : 0;
	w->len = 0;
	w->full = false;
}

/* Reserves n bytes: returns where to write them, or NULL when measuring or
 * when they do not fit (full is then set).  len always advances. */
static uint8_t *reserve(struct wcursor *w, size_t n)
{
	uint8_t *at = NULL;
	if (n > SIZE_MAX - w->len) {
		w->full = true;
		w->len = SIZE_MAX;
		return NULL;
	}
	if (w->ptr && !w->full) {
		if (n <= w->cap - w->len)
			at = w->ptr + w->len;
		else
			w->full = true;
	}
	w->len += n;
	return at;
}

void wcursor_put_u8(struct wcursor *w, uint8_t v)
{
	uint8_t *at = reserve(w, 1);
	if (at)
		*at = v;
}

void wcursor_put_varint(struct wcursor *w, uint64_t v)
{
	size_t n = varint_size(v);
	uint8_t *at = reserve(w, n);
	if (at && varint_encode(v, at, n) < 0)
		w->full = true;     /* cannot happen: n bytes were reserved */
}

void wcursor_put_bytes(struct wcursor *w, const uint8_t *p, size_t n)
{
	uint8_t *at = reserve(w, n);
	if (at && n > 0)
		memcpy(at, p, n);
}

int cursor_get_le(struct cursor *c, size_t n, uint64_t *v)
{
	const uint8_t *p;
	int rc = cursor_get_bytes(c, n, &p);
	if (rc < 0)
		return rc;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8u * i);
	*v = x;
	return 0;
}

void wcursor_put_le(struct wcursor *w, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wcursor_put_u8(w, (uint8_t)(v >> (8u * i)));
}
