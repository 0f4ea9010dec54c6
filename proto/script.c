/*
 * script.c — the SCSU-style script transform (format in script.h).
 *
 * Invariants: the encoder reads only strictly valid UTF-8 and writes only
 * sequences the decoder accepts; the decoder writes only valid UTF-8 (every
 * window lies in U+0080..U+FFFF outside the surrogates, and quoted
 * characters are validated).  Every write is checked against cap before it
 * happens.
 *
 * Encoder policy (not part of the format; any policy decodes the same):
 * ASCII is written as is (tag bytes quoted); a character of the current
 * window costs one byte; a character of another fixed window costs a
 * SELECT and one byte (never more than a QUOTE), choosing among the fixed
 * windows that hold it the one covering the longest run of the next
 * non-ASCII characters; a BMP character below U+8000 whose next non-ASCII
 * neighbour shares its 128-block costs a DEFINE and one byte; anything else
 * is QUOTEd.
 *
 * Failure: ERR_UTF8 / ERR_INVAL / ERR_FULL / ERR_TOOBIG, never a
 * partial success; out may hold garbage after a failure.
 */
#include "proto/script.h"

#include <stdbool.h>

#define ASCII_END 0x80u
#define WINDOW_SPAN 0x80u          /* code points in a window */
#define QUARTER_SPAN 0x20u         /* code points in a quarter */
#define QUARTERS 4u
#define DEFINE_LIMIT 0x8000u       /* DEFINE reaches b * 0x80 + 0x7f at most */
#define LOOKAHEAD_MAX 16u          /* non-ASCII characters weighed at a switch */

static const uint32_t fixed[SCRIPT_FIXED_WINDOWS][QUARTERS] = {
	{ 0x0080, 0x00a0, 0x00c0, 0x00e0 },
	{ 0x2000, 0x2020, 0x2040, 0x2060 },
	{ 0x0e00, 0x0e20, 0x0e40, 0x0e60 },
	{ 0x0e80, 0x0ea0, 0x0ec0, 0x0ee0 },
	{ 0x1000, 0x1020, 0x1040, 0x1060 },
	{ 0x1000, 0x1020, 0x1060, 0x1080 },
	{ 0x1000, 0x1020, 0xa9e0, 0xaa60 },
	{ 0x1780, 0x17a0, 0x17c0, 0x17e0 },
};

struct window {
	bool set;
	uint32_t q[QUARTERS];
};

static bool is_tag(uint32_t c)
{
	return c == SCRIPT_TAG_QUOTE ||
	       (c >= SCRIPT_TAG_SELECT0 && c <= SCRIPT_TAG_DEFINE);
}

/* The byte 0x80..0xff for c in w, or -1. */
static int window_byte(const uint32_t q[QUARTERS], uint32_t c)
{
	for (unsigned i = 0; i < QUARTERS; i++)
		if (c >= q[i] && c - q[i] < QUARTER_SPAN)
			return (int)(ASCII_END + i * QUARTER_SPAN + (c - q[i]));
	return -1;
}

static void define_quarters(uint32_t q[QUARTERS], uint32_t block)
{
	for (unsigned i = 0; i < QUARTERS; i++)
		q[i] = block * WINDOW_SPAN + i * QUARTER_SPAN;
}

int script_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *len)
{
	if (n == 0)
		return ERR_UTF8;
	uint8_t b0 = s[0];
	size_t need;
	uint32_t c;
	uint8_t lo = 0x80, hi = 0xbf;   /* allowed range of the second byte */
	if (b0 < 0x80) {
		*cp = b0;
		*len = 1;
		return 0;
	} else if (b0 >= 0xc2 && b0 <= 0xdf) {
		need = 2;
		c = b0 & 0x1fu;
	} else if (b0 >= 0xe0 && b0 <= 0xef) {
		need = 3;
		c = b0 & 0x0fu;
		if (b0 == 0xe0)
			lo = 0xa0;          /* overlong below U+0800 */
		else if (b0 == 0xed)
			hi = 0x9f;          /* surrogates U+D800..U+DFFF */
	} else if (b0 >= 0xf0 && b0 <= 0xf4) {
		need = 4;
		c = b0 & 0x07u;
		if (b0 == 0xf0)
			lo = 0x90;          /* overlong below U+10000 */
		else if (b0 == 0xf4)
			hi = 0x8f;          /* above U+10FFFF */
	} else {
		return ERR_UTF8;           /* continuation, 0xc0/0xc1, 0xf5.. */
	}
	if (n < need)
		return ERR_UTF8;
	for (size_t i = 1; i < need; i++) {
		uint8_t b = s[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return ERR_UTF8;
		c = (c << 6) | (b & 0x3fu);
	}
	*cp = c;
	*len = need;
	return 0;
}

int script_utf8_check(const uint8_t *s, size_t n, size_t *bad_off)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c;
		size_t len;
		if (s[i] < ASCII_END) {
			i++;
			continue;
		}
		if (script_utf8_next(s + i, n - i, &c, &len) != 0) {
			if (bad_off)
				*bad_off = i;
			return ERR_UTF8;
		}
		i += len;
	}
	return 0;
}

/* Appends one byte; false when out is full. */
static bool put(uint8_t *out, size_t cap, size_t *o, uint32_t b)
{
	if (*o >= cap)
		return false;
	out[(*o)++] = (uint8_t)b;
	return true;
}

/*
 * How many of the next non-ASCII characters after s[0..n) (up to
 * LOOKAHEAD_MAX, stopping at the first one outside) the quarters q cover.
 * An invalid sequence ends the count (the main walk reports it).
 */
static unsigned run_covered(const uint32_t q[QUARTERS], const uint8_t *s, size_t n)
{
	unsigned run = 0;
	size_t i = 0;
	while (i < n && run < LOOKAHEAD_MAX) {
		uint32_t c;
		size_t len;
		if (s[i] < ASCII_END) {
			i++;
			continue;
		}
		if (script_utf8_next(s + i, n - i, &c, &len) != 0)
			break;
		if (window_byte(q, c) < 0)
			break;
		run++;
		i += len;
	}
	return run;
}

/* The next non-ASCII code point in s[0..n), or 0 if none (or invalid). */
static uint32_t next_non_ascii(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < ASCII_END)
			continue;
		uint32_t c;
		size_t len;
		if (script_utf8_next(s + i, n - i, &c, &len) != 0)
			return 0;
		return c;
	}
	return 0;
}

ssize_t script_encode(const uint8_t *utf8, size_t n, uint8_t *out, size_t cap)
{
	if (n > SCRIPT_INPUT_MAX)
		return ERR_TOOBIG;
	if (n > 0 && (utf8 == NULL || out == NULL))
		return ERR_INVAL;
	struct window w = { .set = false, .q = { 0 } };
	size_t i = 0, o = 0;
	while (i < n) {
		uint32_t c;
		size_t len;
		if (script_utf8_next(utf8 + i, n - i, &c, &len) != 0)
			return ERR_UTF8;
		const uint8_t *rest = utf8 + i + len;
		size_t rest_n = n - i - len;
		bool ok = true;
		int b = w.set ? window_byte(w.q, c) : -1;
		if (c < ASCII_END) {
			if (is_tag(c))
				ok = put(out, cap, &o, SCRIPT_TAG_QUOTE);
			ok = ok && put(out, cap, &o, c);
		} else if (b >= 0) {
			ok = put(out, cap, &o, (uint32_t)b);
		} else {
			int best = -1;
			unsigned best_run = 0;
			for (unsigned k = 0; k < SCRIPT_FIXED_WINDOWS; k++) {
				if (window_byte(fixed[k], c) < 0)
					continue;
				unsigned run = run_covered(fixed[k], rest, rest_n);
				if (best < 0 || run > best_run) {
					best = (int)k;
					best_run = run;
				}
			}
			uint32_t next = next_non_ascii(rest, rest_n);
			if (best >= 0) {
				w.set = true;
				for (unsigned q = 0; q < QUARTERS; q++)
					w.q[q] = fixed[best][q];
				ok = put(out, cap, &o, SCRIPT_TAG_SELECT0 + (uint32_t)best) &&
				     put(out, cap, &o, (uint32_t)window_byte(w.q, c));
			} else if (c < DEFINE_LIMIT && next != 0 &&
				   next / WINDOW_SPAN == c / WINDOW_SPAN) {
				w.set = true;
				define_quarters(w.q, c / WINDOW_SPAN);
				ok = put(out, cap, &o, SCRIPT_TAG_DEFINE) &&
				     put(out, cap, &o, c / WINDOW_SPAN) &&
				     put(out, cap, &o, (uint32_t)window_byte(w.q, c));
			} else {
				ok = put(out, cap, &o, SCRIPT_TAG_QUOTE);
				for (size_t k = 0; ok && k < len; k++)
					ok = put(out, cap, &o, utf8[i + k]);
			}
		}
		if (!ok)
			return ERR_FULL;
		i += len;
	}
	return (ssize_t)o;
}

/* Writes code point c (valid, not a surrogate) as UTF-8. */
static bool put_utf8(uint8_t *out, size_t cap, size_t *o, uint32_t c)
{
	if (c < 0x80)
		return put(out, cap, o, c);
	if (c < 0x800)
		return put(out, cap, o, 0xc0u | (c >> 6)) &&
		       put(out, cap, o, 0x80u | (c & 0x3fu));
	if (c < 0x10000)
		return put(out, cap, o, 0xe0u | (c >> 12)) &&
		       put(out, cap, o, 0x80u | ((c >> 6) & 0x3fu)) &&
		       put(out, cap, o, 0x80u | (c & 0x3fu));
	return put(out, cap, o, 0xf0u | (c >> 18)) &&
	       put(out, cap, o, 0x80u | ((c >> 12) & 0x3fu)) &&
	       put(out, cap, o, 0x80u | ((c >> 6) & 0x3fu)) &&
	       put(out, cap, o, 0x80u | (c & 0x3fu));
}

ssize_t script_decode(const uint8_t *in, size_t n, uint8_t *utf8_out, size_t cap)
{
	if (n > SCRIPT_INPUT_MAX)
		return ERR_TOOBIG;
	if (n > 0 && (in == NULL || utf8_out == NULL))
		return ERR_INVAL;
	struct window w = { .set = false, .q = { 0 } };
	size_t i = 0, o = 0;
	while (i < n) {
		uint8_t b = in[i++];
		bool ok = true;
		if (b >= ASCII_END) {
			if (!w.set)
				return ERR_INVAL;
			uint32_t off = (uint32_t)b - ASCII_END;
			ok = put_utf8(utf8_out, cap, &o,
				      w.q[off / QUARTER_SPAN] + off % QUARTER_SPAN);
		} else if (b == SCRIPT_TAG_QUOTE) {
			uint32_t c;
			size_t len;
			if (script_utf8_next(in + i, n - i, &c, &len) != 0)
				return ERR_INVAL;
			for (size_t k = 0; ok && k < len; k++)
				ok = put(utf8_out, cap, &o, in[i + k]);
			i += len;
		} else if (b == SCRIPT_TAG_DEFINE) {
			if (i >= n || in[i] == 0)
				return ERR_INVAL;
			w.set = true;
			define_quarters(w.q, in[i++]);
		} else if (b >= SCRIPT_TAG_SELECT0 &&
			   b < SCRIPT_TAG_SELECT0 + SCRIPT_FIXED_WINDOWS) {
			unsigned k = b - SCRIPT_TAG_SELECT0;
			w.set = true;
			for (unsigned q = 0; q < QUARTERS; q++)
				w.q[q] = fixed[k][q];
		} else {
			ok = put(utf8_out, cap, &o, b);
		}
		if (!ok)
			return ERR_FULL;
	}
	return (ssize_t)o;
}
