/*
 * json.c — a small JSON writer for the control CLIs' --json output.
 *
 * Invariants: buf, when not NULL, always holds len bytes plus a NUL;
 * len <= JSON_BYTES_MAX; the text written so far is a valid JSON prefix
 * and valid UTF-8 (ill-formed input is replaced by U+FFFD, see json.h).
 * level[] tracks, per nesting level, whether it is an object, whether a
 * comma is due and whether a key waits for its value.
 *
 * Failure: the first error (ERR_NOMEM, ERR_TOOBIG, ERR_STATE) is kept in
 * j->err, every later call is a no-op, and json_finish() reports it.
 * Nothing here aborts or logs.
 */
#include "common/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LVL_OBJECT 0x1u
#define LVL_COMMA 0x2u
#define LVL_KEY 0x4u

#define INT_TEXT_BYTES 24u        /* "-9223372036854775808" + NUL, rounded */
#define UESC_BYTES 6u             /* \uXXXX */
#define ASCII_CTRL_END 0x20u      /* U+0000..U+001F must be escaped */
#define C1_FIRST 0x7fu            /* DEL and C1 controls: escaped too */
#define C1_LAST 0x9fu
#define UTF8_CONT_LO 0x80u
#define UTF8_CONT_HI 0xbfu
#define UTF8_CONT_MASK 0x3fu
#define UTF8_CONT_BITS 6u
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define REPLACEMENT_BYTES 3u

static const char hex_digits[] = "0123456789abcdef";

void json_init(struct json *j)
{
	memset(j, 0, sizeof *j);
}

void json_fini(struct json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = 0;
	j->cap = 0;
}

static void fail(struct json *j, int err)
{
	if (j->err == 0)
		j->err = err;
}

static void put(struct json *j, const char *p, size_t n)
{
	if (j->err != 0)
		return;
	if (n > JSON_BYTES_MAX - j->len) {
		fail(j, ERR_TOOBIG);
		return;
	}
	size_t need = j->len + n + 1u;        /* + NUL */
	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : JSON_INITIAL_BYTES;
		while (cap < need)
			cap *= 2u;                    /* need <= 16 MiB + 1: no overflow */
		char *nb = realloc(j->buf, cap);
		if (nb == NULL) {
			fail(j, ERR_NOMEM);
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putc1(struct json *j, char c)
{
	put(j, &c, 1);
}

/* Before any value: a comma if due, checks that a value may go here. */
static void value_start(struct json *j)
{
	if (j->err != 0)
		return;
	if (j->depth == 0) {
		if (j->done)
			fail(j, ERR_STATE);   /* one top-level value only */
		return;
	}
	uint8_t *lv = &j->level[j->depth];
	if (*lv & LVL_OBJECT) {
		if (!(*lv & LVL_KEY)) {
			fail(j, ERR_STATE);   /* a value in an object needs a key */
			return;
		}
		*lv = (uint8_t)(*lv & ~LVL_KEY);
		return;                       /* comma went before the key */
	}
	if (*lv & LVL_COMMA)
		putc1(j, ',');
	*lv |= LVL_COMMA;
}

/* After a complete value. */
static void value_end(struct json *j)
{
	if (j->err == 0 && j->depth == 0)
		j->done = true;
}

static void open_level(struct json *j, bool object)
{
	value_start(j);
	if (j->err != 0)
		return;
	if (j->depth >= JSON_DEPTH_MAX) {
		fail(j, ERR_TOOBIG);
		return;
	}
	putc1(j, object ? '{' : '[');
	j->depth++;
	j->level[j->depth] = object ? LVL_OBJECT : 0;
}

static void close_level(struct json *j, bool object)
{
	if (j->err != 0)
		return;
	if (j->depth == 0) {
		fail(j, ERR_STATE);
		return;
	}
	uint8_t lv = j->level[j->depth];
	if (((lv & LVL_OBJECT) != 0) != object || (lv & LVL_KEY)) {
		fail(j, ERR_STATE);       /* mismatched end, or a key without value */
		return;
	}
	putc1(j, object ? '}' : ']');
	j->depth--;
	value_end(j);
}

void json_object_begin(struct json *j) { open_level(j, true); }
void json_object_end(struct json *j) { close_level(j, true); }
void json_array_begin(struct json *j) { open_level(j, false); }
void json_array_end(struct json *j) { close_level(j, false); }

/*
 * Decodes one UTF-8 sequence at p[0..n), n >= 1.  On success *ok is true,
 * *cp the code point, and the return its length.  Otherwise *ok is false
 * and the return is the length of the maximal ill-formed subpart (>= 1):
 * the longest prefix that could start a well-formed sequence, or 1.
 * Ranges from the Unicode Standard, table 3-7.
 */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp, bool *ok)
{
	uint8_t b0 = p[0];
	unsigned need;
	uint8_t lo = UTF8_CONT_LO, hi = UTF8_CONT_HI;
	uint32_t v;
	*ok = false;
	if (b0 < 0x80u) {
		*cp = b0;
		*ok = true;
		return 1;
	} else if (b0 >= 0xc2u && b0 <= 0xdfu) {
		need = 1;
		v = b0 & 0x1fu;
	} else if (b0 >= 0xe0u && b0 <= 0xefu) {
		need = 2;
		v = b0 & 0x0fu;
		if (b0 == 0xe0u)
			lo = 0xa0u;       /* no overlongs */
		else if (b0 == 0xedu)
			hi = 0x9fu;       /* no surrogates */
	} else if (b0 >= 0xf0u && b0 <= 0xf4u) {
		need = 3;
		v = b0 & 0x07u;
		if (b0 == 0xf0u)
			lo = 0x90u;       /* no overlongs */
		else if (b0 == 0xf4u)
			hi = 0x8fu;       /* nothing over U+10FFFF */
	} else {
		return 1;                 /* 80..C1, F5..FF never start a sequence */
	}
	for (unsigned k = 1; k <= need; k++) {
		if (k >= n)
			return k;
		uint8_t b = p[k];
		if (b < lo || b > hi)
			return k;
		v = (v << UTF8_CONT_BITS) | (b & UTF8_CONT_MASK);
		lo = UTF8_CONT_LO;
		hi = UTF8_CONT_HI;
	}
	*cp = v;
	*ok = true;
	return need + 1u;
}

bool json_utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		bool ok;
		size_t k = utf8_next(p + i, n - i, &cp, &ok);
		if (!ok)
			return false;
		i += k;
	}
	return true;
}

static bool must_escape(uint32_t cp)
{
	return cp < ASCII_CTRL_END || (cp >= C1_FIRST && cp <= C1_LAST) ||
	       cp == 0x2028u || cp == 0x2029u ||
	       (cp >= 0x202au && cp <= 0x202eu) || (cp >= 0x2066u && cp <= 0x2069u);
}

static void put_uesc(struct json *j, uint32_t cp)
{
	char e[UESC_BYTES] = { '\\', 'u',
		hex_digits[(cp >> 12) & 0xfu], hex_digits[(cp >> 8) & 0xfu],
		hex_digits[(cp >> 4) & 0xfu], hex_digits[cp & 0xfu] };
	put(j, e, sizeof e);
}

static void put_string_body(struct json *j, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, run = 0;   /* run: start of bytes to copy as they are */
	putc1(j, '"');
	while (i < n && j->err == 0) {
		uint32_t cp = 0;
		bool ok;
		size_t k = utf8_next(p + i, n - i, &cp, &ok);
		const char *short_esc = NULL;
		if (ok) {
			switch (cp) {
			case '"': short_esc = "\\\""; break;
			case '\\': short_esc = "\\\\"; break;
			case '\b': short_esc = "\\b"; break;
			case '\f': short_esc = "\\f"; break;
			case '\n': short_esc = "\\n"; break;
			case '\r': short_esc = "\\r"; break;
			case '\t': short_esc = "\\t"; break;
			default: break;
			}
			if (short_esc == NULL && !must_escape(cp)) {
				i += k;
				continue;          /* stays in the run */
			}
		}
		put(j, s + run, i - run);
		if (!ok) {
			put(j, REPLACEMENT, REPLACEMENT_BYTES);
			j->replaced++;
		} else if (short_esc != NULL) {
			put(j, short_esc, strlen(short_esc));
		} else {
			put_uesc(j, cp);
		}
		i += k;
		run = i;
	}
	put(j, s + run, n - run);
	putc1(j, '"');
}

void json_key(struct json *j, const char *key)
{
	if (j->err != 0)
		return;
	if (j->depth == 0 || key == NULL) {
		fail(j, ERR_STATE);
		return;
	}
	uint8_t *lv = &j->level[j->depth];
	if (!(*lv & LVL_OBJECT) || (*lv & LVL_KEY)) {
		fail(j, ERR_STATE);   /* key in an array, or two keys in a row */
		return;
	}
	if (*lv & LVL_COMMA)
		putc1(j, ',');
	put_string_body(j, key, strlen(key));
	putc1(j, ':');
	*lv |= LVL_COMMA | LVL_KEY;
}

void json_string_n(struct json *j, const char *s, size_t n)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	value_start(j);
	put_string_body(j, s, n);
	value_end(j);
}

void json_string(struct json *j, const char *s)
{
	json_string_n(j, s, s ? strlen(s) : 0);
}

static void put_raw_value(struct json *j, const char *text)
{
	value_start(j);
	put(j, text, strlen(text));
	value_end(j);
}

void json_int(struct json *j, int64_t v)
{
	char t[INT_TEXT_BYTES];
	snprintf(t, sizeof t, "%" PRId64, v);
	put_raw_value(j, t);
}

void json_uint(struct json *j, uint64_t v)
{
	char t[INT_TEXT_BYTES];
	snprintf(t, sizeof t, "%" PRIu64, v);
	put_raw_value(j, t);
}

void json_bool(struct json *j, bool v) { put_raw_value(j, v ? "true" : "false"); }
void json_null(struct json *j) { put_raw_value(j, "null"); }

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

int json_finish(struct json *j, char **out, size_t *len)
{
	*out = NULL;
	if (len)
		*len = 0;
	if (j->err == 0 && (j->depth != 0 || !j->done))
		fail(j, ERR_STATE);
	if (j->err != 0)
		return j->err;
	*out = j->buf;
	if (len)
		*len = j->len;
	j->buf = NULL;
	j->len = 0;
	j->cap = 0;
	return 0;
}
