/*
 * json.c — a small JSON writer for the control CLIs' --json output and
 * webhook bodies, and a strict reader for JSON from the network (replies
 * posted by SMS/chat gateways).
 *
 * Writer invariants: buf, when not NULL, always holds len bytes plus a NUL;
 * len <= JSON_BYTES_MAX; the text written so far is a valid JSON prefix
 * and valid UTF-8 (ill-formed input is replaced by U+FFFD, see json.h).
 * level[] tracks, per nesting level, whether it is an object, whether a
 * comma is due and whether a key waits for its value.
 *
 * Writer failure: the first error (ERR_NOMEM, ERR_TOOBIG, ERR_STATE) is
 * kept in j->err, every later call is a no-op, and json_finish() reports it.
 *
 * Reader invariants: the input is read once, left to right, by recursive
 * descent bounded by max_depth; every index is checked against the length
 * before it is read; decoded strings go into one arena allocated up front
 * (a decoded string plus its NUL never outgrows its quoted form, a number
 * literal plus its NUL at most by the final byte), so pointers into it stay
 * valid.  Reader failure: the first error wins, with its byte offset; the
 * partial doc is freed.  Nothing here aborts or logs.
 */
#include "common/json.h"

#include <inttypes.h>
#include <stdarg.h>
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

/* ---- reader ------------------------------------------------------------ */

#define HEX_DIGITS_U 4u               /* \uXXXX */
#define SURR_HI_FIRST 0xd800u
#define SURR_HI_LAST 0xdbffu
#define SURR_LO_FIRST 0xdc00u
#define SURR_LO_LAST 0xdfffu
#define SURR_BASE 0x10000u
#define SURR_SHIFT 10u
#define NODES_INITIAL 16u
#define HASH_FNV_OFFSET 14695981039346656037ull
#define HASH_FNV_PRIME 1099511628211ull

struct parser {
	const uint8_t *p;
	size_t n;
	size_t i;                 /* next byte to read */
	size_t max_nodes;
	unsigned max_depth;
	struct json_node *nodes;
	size_t count, cap;
	char *arena;
	size_t alen, acap;
	int err;
	struct json_error *e;
};

__attribute__((format(printf, 4, 5)))
static int perr(struct parser *ps, size_t off, int code, const char *fmt, ...)
{
	if (ps->err != 0)
		return ps->err;
	ps->err = code;
	if (ps->e != NULL) {
		ps->e->offset = off;
		int k = snprintf(ps->e->msg, sizeof ps->e->msg, "offset %zu: ", off);
		if (k > 0 && (size_t)k < sizeof ps->e->msg) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(ps->e->msg + k, sizeof ps->e->msg - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static void skip_ws(struct parser *ps)
{
	while (ps->i < ps->n) {
		uint8_t c = ps->p[ps->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		ps->i++;
	}
}

/* Appends a node; returns its index through *idx. */
static int new_node(struct parser *ps, enum json_type t, size_t off, size_t *idx)
{
	if (ps->count >= ps->max_nodes)
		return perr(ps, off, ERR_TOOBIG, "more than %zu values", ps->max_nodes);
	if (ps->count == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2u : NODES_INITIAL;
		if (cap > ps->max_nodes)
			cap = ps->max_nodes;
		struct json_node *nn = realloc(ps->nodes, cap * sizeof *nn);
		if (nn == NULL)
			return perr(ps, off, ERR_NOMEM, "out of memory");
		ps->nodes = nn;
		ps->cap = cap;
	}
	*idx = ps->count++;
	struct json_node *nd = &ps->nodes[*idx];
	memset(nd, 0, sizeof *nd);
	nd->type = t;
	nd->offset = off;
	nd->end = ps->count;
	return 0;
}

static int arena_put(struct parser *ps, const void *b, size_t k)
{
	if (k > ps->acap - ps->alen)      /* cannot happen: see the invariant */
		return perr(ps, ps->i, ERR_NOMEM, "string arena exhausted");
	memcpy(ps->arena + ps->alen, b, k);
	ps->alen += k;
	return 0;
}

static int hex4(struct parser *ps, size_t at, uint32_t *v)
{
	*v = 0;
	if (ps->n - at < HEX_DIGITS_U)
		return perr(ps, at, ERR_INVAL, "\\u needs 4 hex digits");
	for (unsigned k = 0; k < HEX_DIGITS_U; k++) {
		uint8_t c = ps->p[at + k];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return perr(ps, at + k, ERR_INVAL, "\\u needs 4 hex digits");
		*v = (*v << 4) | d;
	}
	return 0;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80u) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800u) {
		out[0] = (char)(0xc0u | (cp >> 6));
		out[1] = (char)(0x80u | (cp & UTF8_CONT_MASK));
		return 2;
	}
	if (cp < SURR_BASE) {
		out[0] = (char)(0xe0u | (cp >> 12));
		out[1] = (char)(0x80u | ((cp >> 6) & UTF8_CONT_MASK));
		out[2] = (char)(0x80u | (cp & UTF8_CONT_MASK));
		return 3;
	}
	out[0] = (char)(0xf0u | (cp >> 18));
	out[1] = (char)(0x80u | ((cp >> 12) & UTF8_CONT_MASK));
	out[2] = (char)(0x80u | ((cp >> 6) & UTF8_CONT_MASK));
	out[3] = (char)(0x80u | (cp & UTF8_CONT_MASK));
	return 4;
}

/* One escape after the backslash at ps->i - 1; appends its bytes. */
static int parse_escape(struct parser *ps)
{
	size_t at = ps->i - 1u;
	if (ps->i >= ps->n)
		return perr(ps, at, ERR_INVAL, "string ends inside an escape");
	uint8_t c = ps->p[ps->i++];
	char one;
	switch (c) {
	case '"': one = '"'; break;
	case '\\': one = '\\'; break;
	case '/': one = '/'; break;
	case 'b': one = '\b'; break;
	case 'f': one = '\f'; break;
	case 'n': one = '\n'; break;
	case 'r': one = '\r'; break;
	case 't': one = '\t'; break;
	case 'u': {
		uint32_t cp, lo;
		if (hex4(ps, ps->i, &cp) != 0)
			return ps->err;
		ps->i += HEX_DIGITS_U;
		if (cp >= SURR_LO_FIRST && cp <= SURR_LO_LAST)
			return perr(ps, at, ERR_INVAL, "\\u%04x is a lone low surrogate", (unsigned)cp);
		if (cp >= SURR_HI_FIRST && cp <= SURR_HI_LAST) {
			if (ps->n - ps->i < 2u || ps->p[ps->i] != '\\' || ps->p[ps->i + 1u] != 'u')
				return perr(ps, at, ERR_INVAL,
					    "\\u%04x (high surrogate) not followed by a \\u low surrogate",
					    (unsigned)cp);
			if (hex4(ps, ps->i + 2u, &lo) != 0)
				return ps->err;
			if (lo < SURR_LO_FIRST || lo > SURR_LO_LAST)
				return perr(ps, ps->i, ERR_INVAL,
					    "\\u%04x after a high surrogate is no low surrogate",
					    (unsigned)lo);
			ps->i += 2u + HEX_DIGITS_U;
			cp = SURR_BASE + (((cp - SURR_HI_FIRST) << SURR_SHIFT) | (lo - SURR_LO_FIRST));
		}
		char u[4];
		return arena_put(ps, u, utf8_encode(cp, u));
	}
	default:
		return perr(ps, at, ERR_INVAL, "unknown escape \\%c",
			    (c >= 0x20u && c < 0x7fu) ? (char)c : '?');
	}
	return arena_put(ps, &one, 1);
}

/* A string at ps->i (the opening quote); decoded into the arena. */
static int parse_string(struct parser *ps, const char **out, size_t *len)
{
	size_t start = ps->i;
	ps->i++;
	size_t a0 = ps->alen;
	while (ps->err == 0) {
		size_t run = ps->i;
		/* Copy runs of plain bytes at once; stop at quote, backslash,
		 * control or non-ASCII. */
		while (ps->i < ps->n) {
			uint8_t c = ps->p[ps->i];
			if (c == '"' || c == '\\' || c < ASCII_CTRL_END || c >= 0x80u)
				break;
			ps->i++;
		}
		if (ps->i > run && arena_put(ps, ps->p + run, ps->i - run) != 0)
			return ps->err;
		if (ps->i >= ps->n)
			return perr(ps, start, ERR_INVAL, "string not closed");
		uint8_t c = ps->p[ps->i];
		if (c == '"') {
			ps->i++;
			break;
		}
		if (c == '\\') {
			ps->i++;
			parse_escape(ps);
		} else if (c < ASCII_CTRL_END) {
			return perr(ps, ps->i, ERR_INVAL,
				    "control character 0x%02x in a string (escape it)", (unsigned)c);
		} else {
			uint32_t cp;
			bool ok;
			size_t k = utf8_next(ps->p + ps->i, ps->n - ps->i, &cp, &ok);
			if (!ok)
				return perr(ps, ps->i, ERR_UTF8, "invalid UTF-8 in a string");
			if (arena_put(ps, ps->p + ps->i, k) != 0)
				return ps->err;
			ps->i += k;
		}
	}
	if (ps->err != 0)
		return ps->err;
	*out = ps->arena + a0;
	*len = ps->alen - a0;
	char nul = '\0';
	return arena_put(ps, &nul, 1);
}

static bool is_digit(const struct parser *ps, size_t i)
{
	return i < ps->n && ps->p[i] >= '0' && ps->p[i] <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(struct parser *ps, size_t idx)
{
	size_t start = ps->i;
	if (ps->p[ps->i] == '-')
		ps->i++;
	if (!is_digit(ps, ps->i))
		return perr(ps, start, ERR_INVAL, "a number needs a digit after '-'");
	if (ps->p[ps->i] == '0') {
		ps->i++;
		if (is_digit(ps, ps->i))
			return perr(ps, start, ERR_INVAL, "leading zero in a number");
	} else {
		while (is_digit(ps, ps->i))
			ps->i++;
	}
	if (ps->i < ps->n && ps->p[ps->i] == '.') {
		ps->i++;
		if (!is_digit(ps, ps->i))
			return perr(ps, ps->i, ERR_INVAL, "a digit must follow '.'");
		while (is_digit(ps, ps->i))
			ps->i++;
	}
	if (ps->i < ps->n && (ps->p[ps->i] == 'e' || ps->p[ps->i] == 'E')) {
		ps->i++;
		if (ps->i < ps->n && (ps->p[ps->i] == '+' || ps->p[ps->i] == '-'))
			ps->i++;
		if (!is_digit(ps, ps->i))
			return perr(ps, ps->i, ERR_INVAL, "a digit must follow the exponent");
		while (is_digit(ps, ps->i))
			ps->i++;
	}
	const char *lit = ps->arena + ps->alen;
	char nul = '\0';
	if (arena_put(ps, ps->p + start, ps->i - start) != 0 || arena_put(ps, &nul, 1) != 0)
		return ps->err;
	ps->nodes[idx].str = lit;
	ps->nodes[idx].len = ps->i - start;
	return 0;
}

static int parse_value(struct parser *ps, unsigned depth);

/* Members of an array or object; ps->i is just past the opening bracket. */
static int parse_members(struct parser *ps, size_t idx, bool object, unsigned depth)
{
	const uint8_t close = object ? '}' : ']';
	size_t count = 0;
	skip_ws(ps);
	if (ps->i < ps->n && ps->p[ps->i] == close) {
		ps->i++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0, key_off = 0;
		skip_ws(ps);
		if (object) {
			if (ps->i >= ps->n || ps->p[ps->i] != '"')
				return perr(ps, ps->i, ERR_INVAL, "expected a key in quotes");
			key_off = ps->i;
			if (parse_string(ps, &key, &key_len) != 0)
				return ps->err;
			skip_ws(ps);
			if (ps->i >= ps->n || ps->p[ps->i] != ':')
				return perr(ps, ps->i, ERR_INVAL, "expected ':' after a key");
			ps->i++;
			skip_ws(ps);
		}
		size_t member = ps->count;
		if (parse_value(ps, depth + 1u) != 0)
			return ps->err;
		if (object) {
			ps->nodes[member].key = key;
			ps->nodes[member].key_len = key_len;
			ps->nodes[member].key_offset = key_off;
		}
		count++;
		skip_ws(ps);
		if (ps->i >= ps->n)
			return perr(ps, ps->i, ERR_INVAL, "document ends inside %s",
				    object ? "an object" : "an array");
		uint8_t c = ps->p[ps->i++];
		if (c == close)
			break;
		if (c != ',')
			return perr(ps, ps->i - 1u, ERR_INVAL, "expected ',' or '%c'", close);
		skip_ws(ps);
		if (ps->i < ps->n && ps->p[ps->i] == close)
			return perr(ps, ps->i, ERR_INVAL, "trailing comma");
	}
	ps->nodes[idx].count = count;
	return 0;
}

static int parse_literal(struct parser *ps, const char *word, enum json_type t)
{
	size_t k = strlen(word), idx;
	if (ps->n - ps->i < k || memcmp(ps->p + ps->i, word, k) != 0)
		return perr(ps, ps->i, ERR_INVAL, "unexpected character (expected a value)");
	if (new_node(ps, t, ps->i, &idx) != 0)
		return ps->err;
	ps->i += k;
	return 0;
}

/* One value at ps->i (whitespace already skipped); depth counts the
 * containers around it. */
static int parse_value(struct parser *ps, unsigned depth)
{
	if (ps->i >= ps->n)
		return perr(ps, ps->i, ERR_INVAL, "expected a value, found the end");
	uint8_t c = ps->p[ps->i];
	size_t idx;
	switch (c) {
	case '{':
	case '[':
		if (depth >= ps->max_depth)
			return perr(ps, ps->i, ERR_TOOBIG, "nested deeper than %u", ps->max_depth);
		if (new_node(ps, c == '{' ? JSON_OBJECT : JSON_ARRAY, ps->i, &idx) != 0)
			return ps->err;
		ps->i++;
		if (parse_members(ps, idx, c == '{', depth) != 0)
			return ps->err;
		ps->nodes[idx].end = ps->count;
		return 0;
	case '"':
		if (new_node(ps, JSON_STRING, ps->i, &idx) != 0)
			return ps->err;
		return parse_string(ps, &ps->nodes[idx].str, &ps->nodes[idx].len);
	case 't': return parse_literal(ps, "true", JSON_TRUE);
	case 'f': return parse_literal(ps, "false", JSON_FALSE);
	case 'n': return parse_literal(ps, "null", JSON_NULL);
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			if (new_node(ps, JSON_NUMBER, ps->i, &idx) != 0)
				return ps->err;
			return parse_number(ps, idx);
		}
		if (c >= 0x80u) {
			uint32_t cp;
			bool ok;
			(void)utf8_next(ps->p + ps->i, ps->n - ps->i, &cp, &ok);
			if (!ok)
				return perr(ps, ps->i, ERR_UTF8, "invalid UTF-8");
		}
		return perr(ps, ps->i, ERR_INVAL, "unexpected character (expected a value)");
	}
}

static uint64_t key_hash(size_t parent, const char *k, size_t n)
{
	uint64_t h = HASH_FNV_OFFSET ^ (uint64_t)parent;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)k[i];
		h *= HASH_FNV_PRIME;
	}
	h ^= (uint64_t)parent * HASH_FNV_PRIME;
	return h;
}

/* Every (object, key) pair once: an open-addressing table of member
 * indexes; reports the duplicate whose key comes first in the input. */
static int check_duplicates(struct parser *ps)
{
	size_t members = 0;
	for (size_t i = 0; i < ps->count; i++)
		if (ps->nodes[i].key != NULL)
			members++;
	if (members < 2u)
		return 0;
	size_t cap = 4u;
	while (cap < members * 2u)
		cap *= 2u;
	size_t *slot = malloc(cap * sizeof *slot);   /* node index + 1; 0 = free */
	size_t *parent_of = malloc(ps->count * sizeof *parent_of);
	if (slot == NULL || parent_of == NULL) {
		free(slot);
		free(parent_of);
		return perr(ps, 0, ERR_NOMEM, "out of memory");
	}
	memset(slot, 0, cap * sizeof *slot);
	for (size_t i = 0; i < ps->count; i++)        /* parents from the end indexes */
		for (size_t c = i + 1u; c < ps->nodes[i].end; c = ps->nodes[c].end)
			parent_of[c] = i;
	size_t worst = SIZE_MAX;
	for (size_t i = 0; i < ps->count; i++) {
		const struct json_node *m = &ps->nodes[i];
		if (m->key == NULL)
			continue;
		size_t h = (size_t)key_hash(parent_of[i], m->key, m->key_len) & (cap - 1u);
		for (;; h = (h + 1u) & (cap - 1u)) {
			if (slot[h] == 0) {
				slot[h] = i + 1u;
				break;
			}
			const struct json_node *o = &ps->nodes[slot[h] - 1u];
			if (parent_of[slot[h] - 1u] == parent_of[i] && o->key_len == m->key_len &&
			    memcmp(o->key, m->key, m->key_len) == 0) {
				if (worst == SIZE_MAX || m->key_offset < ps->nodes[worst].key_offset)
					worst = i;
				break;
			}
		}
	}
	free(slot);
	free(parent_of);
	if (worst != SIZE_MAX) {
		char shown[JSON_ERR_MSG_MAX / 2u];
		size_t k = 0;
		for (size_t i = 0; i < ps->nodes[worst].key_len && k + 1u < sizeof shown; i++) {
			uint8_t c = (uint8_t)ps->nodes[worst].key[i];
			shown[k++] = (c >= 0x20u && c < 0x7fu) ? (char)c : '?';
		}
		shown[k] = '\0';
		return perr(ps, ps->nodes[worst].key_offset, ERR_DUP, "duplicate key \"%s\"", shown);
	}
	return 0;
}

int json_parse(struct json_doc *doc, const char *text, size_t len,
	       const struct json_limits *limits, struct json_error *e)
{
	struct parser ps;
	memset(&ps, 0, sizeof ps);
	memset(doc, 0, sizeof *doc);
	if (e != NULL) {
		e->offset = 0;
		e->msg[0] = '\0';
	}
	ps.p = (const uint8_t *)text;
	ps.n = len;
	ps.e = e;
	size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : JSON_PARSE_BYTES_MAX;
	ps.max_depth = limits && limits->max_depth ? limits->max_depth : JSON_DEPTH_MAX;
	if (ps.max_depth > JSON_DEPTH_MAX)
		ps.max_depth = JSON_DEPTH_MAX;
	ps.max_nodes = limits && limits->max_nodes ? limits->max_nodes : JSON_PARSE_NODES_MAX;
	if (len > max_bytes)
		return perr(&ps, max_bytes, ERR_TOOBIG, "document over %zu bytes", max_bytes);
	if (len >= 3u && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		return perr(&ps, 0, ERR_INVAL, "byte-order mark before the document (remove it)");
	skip_ws(&ps);
	if (ps.i == len)
		return perr(&ps, ps.i, ERR_INVAL, "empty document");
	ps.acap = len + 2u;
	ps.arena = malloc(ps.acap);
	if (ps.arena == NULL)
		return perr(&ps, 0, ERR_NOMEM, "out of memory");
	if (parse_value(&ps, 0) == 0) {
		skip_ws(&ps);
		if (ps.i < len)
			perr(&ps, ps.i, ERR_INVAL, "text after the document");
	}
	if (ps.err == 0)
		check_duplicates(&ps);
	if (ps.err != 0) {
		free(ps.nodes);
		free(ps.arena);
		return ps.err;
	}
	doc->nodes = ps.nodes;
	doc->count = ps.count;
	doc->arena = ps.arena;
	return 0;
}

void json_doc_free(struct json_doc *doc)
{
	free(doc->nodes);
	free(doc->arena);
	memset(doc, 0, sizeof *doc);
}

const struct json_node *json_root(const struct json_doc *doc)
{
	return doc->count ? &doc->nodes[0] : NULL;
}

const struct json_node *json_first(const struct json_doc *doc, const struct json_node *n)
{
	(void)doc;             /* members follow their container in the array */
	if (n == NULL || (n->type != JSON_ARRAY && n->type != JSON_OBJECT) || n->count == 0)
		return NULL;
	return n + 1;
}

const struct json_node *json_next(const struct json_doc *doc, const struct json_node *parent,
				  const struct json_node *n)
{
	if (n == NULL || parent == NULL || n->end >= parent->end)
		return NULL;
	return &doc->nodes[n->end];
}

const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj,
				 const char *key)
{
	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	size_t k = strlen(key);
	for (const struct json_node *m = json_first(doc, obj); m; m = json_next(doc, obj, m))
		if (m->key_len == k && memcmp(m->key, key, k) == 0)
			return m;
	return NULL;
}

/* Magnitude of an integer literal (no sign) into *mag; ERR_INVAL if it
 * has a fraction or exponent, ERR_TOOBIG past UINT64_MAX. */
static int int_magnitude(const struct json_node *n, bool *neg, uint64_t *mag)
{
	*mag = 0;
	*neg = false;
	if (n == NULL || n->type != JSON_NUMBER)
		return ERR_INVAL;
	const char *s = n->str;
	if (*s == '-') {
		*neg = true;
		s++;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return ERR_INVAL;              /* '.', 'e', 'E' */
		uint64_t d = (uint64_t)(*s - '0');
		if (*mag > (UINT64_MAX - d) / 10u)
			return ERR_TOOBIG;
		*mag = *mag * 10u + d;
	}
	return 0;
}

int json_node_int(const struct json_node *n, int64_t *v)
{
	bool neg;
	uint64_t mag;
	*v = 0;
	int rc = int_magnitude(n, &neg, &mag);
	if (rc != 0)
		return rc;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1u)
			return ERR_TOOBIG;
		*v = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return ERR_TOOBIG;
		*v = (int64_t)mag;
	}
	return 0;
}

int json_node_uint(const struct json_node *n, uint64_t *v)
{
	bool neg;
	uint64_t mag;
	*v = 0;
	int rc = int_magnitude(n, &neg, &mag);
	if (rc != 0)
		return rc;
	if (neg && mag != 0)
		return ERR_TOOBIG;
	*v = mag;
	return 0;
}

int json_get_string(const struct json_doc *doc, const struct json_node *obj, const char *key,
		    const char **s, size_t *len)
{
	*s = NULL;
	if (len)
		*len = 0;
	const struct json_node *m = json_get(doc, obj, key);
	if (m == NULL)
		return ERR_NOTFOUND;
	if (m->type != JSON_STRING || memchr(m->str, '\0', m->len) != NULL)
		return ERR_INVAL;
	*s = m->str;
	if (len)
		*len = m->len;
	return 0;
}

int json_get_int(const struct json_doc *doc, const struct json_node *obj, const char *key,
		 int64_t *v)
{
	*v = 0;
	const struct json_node *m = json_get(doc, obj, key);
	return m == NULL ? ERR_NOTFOUND : json_node_int(m, v);
}

int json_get_uint(const struct json_doc *doc, const struct json_node *obj, const char *key,
		  uint64_t *v)
{
	*v = 0;
	const struct json_node *m = json_get(doc, obj, key);
	return m == NULL ? ERR_NOTFOUND : json_node_uint(m, v);
}
