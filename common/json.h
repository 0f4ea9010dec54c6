/*
 * json.h — a small JSON writer into a growable buffer, and a small strict
 * reader (json_parse, below) for documents from the network.
 *
 * Writer: for `--json` output of the control CLIs and for webhook bodies:
 * objects, arrays, strings, integers, booleans and null.  Errors are sticky, like proto's wcursor:
 * call the writers in sequence and check once with json_finish().
 *
 * Strings: the input is UTF-8.  Escaped: '"' and '\\'; control characters
 * U+0000..U+001F (as \b \f \n \r \t or \u00XX), DEL and the C1 controls
 * U+007F..U+009F, U+2028/U+2029 (line/paragraph separators, which break
 * JavaScript string literals) and the bidirectional controls U+202A..U+202E
 * and U+2066..U+2069 (which reorder what a terminal shows), all as \uXXXX.
 * Everything else — Burmese, Khmer, Lao, Thai, emoji — passes through as
 * its own UTF-8 bytes.  Invalid UTF-8 (stray continuation bytes, overlong
 * forms, surrogates, values over U+10FFFF, truncated sequences) is REPLACED,
 * not refused: each maximal ill-formed subpart becomes one U+FFFD, as the
 * Unicode Standard (ch. 3, "U+FFFD Substitution of Maximal Subparts")
 * recommends, and json.replaced counts them.  Why replace: a listing must
 * not fail because one stored message has a bad byte, and the output is
 * always valid UTF-8 JSON.
 */
#ifndef LIFELINE_COMMON_JSON_H
#define LIFELINE_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define JSON_DEPTH_MAX 32u            /* nested objects/arrays */
#define JSON_BYTES_MAX (16u << 20)    /* output cap: 16 MiB */
#define JSON_INITIAL_BYTES 256u       /* first allocation */

/*
 * Writer state; embed it and zero it with json_init().  buf is malloc'd and
 * owned by the writer until json_finish() hands it over.
 */
struct json {
	char *buf;
	size_t len;
	size_t cap;
	unsigned depth;
	/* Per level: bit 0 = in an object (else array), bit 1 = an element was
	 * written (a comma is due), bit 2 = a key was written (a value is due). */
	uint8_t level[JSON_DEPTH_MAX + 1];
	bool done;            /* the top-level value is complete */
	int err;              /* first error, sticky */
	size_t replaced;      /* ill-formed UTF-8 subparts replaced by U+FFFD */
};

void json_init(struct json *j);
/* Frees the buffer if json_finish() did not take it; safe twice. */
void json_fini(struct json *j);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* A member name inside an object; a value must follow. */
void json_key(struct json *j, const char *key);
/* s: NUL-terminated (json_string) or n bytes that may hold NUL (json_string_n,
 * written as \u0000).  s NULL writes null. */
void json_string(struct json *j, const char *s);
void json_string_n(struct json *j, const char *s, size_t n);
void json_int(struct json *j, int64_t v);
void json_uint(struct json *j, uint64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value in one call, for object members. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);

/*
 * Ends writing.  On success *out gets the NUL-terminated text (malloc'd,
 * the caller frees it; the writer no longer owns it) and *len its length
 * (len may be NULL).  Returns 0; the first sticky error (ERR_NOMEM,
 * ERR_TOOBIG over JSON_BYTES_MAX, ERR_STATE for a misuse such as a value
 * without a key, a missing end or a second top-level value); or ERR_STATE
 * if nothing complete was written.  On error *out is NULL.
 */
int json_finish(struct json *j, char **out, size_t *len) LL_MUST_CHECK;

/* Whether s[0..n) is entirely well-formed UTF-8 (no overlongs, no
 * surrogates, nothing over U+10FFFF, no truncated sequence).  NUL is valid. */
bool json_utf8_valid(const char *s, size_t n);

/* ---- reader ------------------------------------------------------------
 *
 * json_parse() reads one complete document (RFC 8259, strictly) into a
 * flat array of nodes in document order (pre-order: a container is
 * followed by its members, each by its own members).  Refused, each with
 * the byte offset of the problem and a message:
 *   - invalid UTF-8 anywhere (ERR_UTF8), a byte-order mark, control
 *     characters U+0000..U+001F unescaped in strings;
 *   - \u escapes that are not 4 hex digits or give a lone surrogate (a
 *     high surrogate must be followed by a \u low surrogate: the pair is
 *     decoded to one code point);
 *   - comments, trailing commas, single quotes, NaN/Infinity, leading
 *     zeros, "+1", ".5", "1.", anything after the document but whitespace
 *     (space, tab, CR, LF);
 *   - a key twice in one object (ERR_DUP; checked after the syntax, so a
 *     syntax error anywhere wins);
 *   - more than limits->max_bytes of input, containers nested deeper than
 *     limits->max_depth, more than limits->max_nodes values (ERR_TOOBIG).
 * Strings are decoded (escapes resolved) into one arena owned by the doc;
 * each is NUL-terminated and also has its length (it may hold \u0000).
 */
#define JSON_PARSE_BYTES_MAX (1u << 20)   /* default input cap: 1 MiB */
#define JSON_PARSE_NODES_MAX 65536u       /* default cap on values */
#define JSON_ERR_MSG_MAX 128u             /* struct json_error.msg, with NUL */

enum json_type {
	JSON_NULL = 1,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

struct json_node {
	enum json_type type;
	size_t offset;        /* byte offset of the value in the input */
	size_t end;           /* index one past this node's last descendant */
	size_t count;         /* ARRAY/OBJECT: number of members */
	const char *key;      /* member name when the parent is an object, else NULL */
	size_t key_len;
	size_t key_offset;    /* byte offset of the member name's opening quote */
	const char *str;      /* STRING: decoded text; NUMBER: its literal text */
	size_t len;           /* bytes of str (without the NUL) */
};

/* Owns the nodes and the string arena; zero it or let json_parse() fill it. */
struct json_doc {
	struct json_node *nodes;  /* nodes[0] is the root */
	size_t count;
	char *arena;
};

struct json_limits {
	size_t max_bytes;         /* 0: JSON_PARSE_BYTES_MAX */
	unsigned max_depth;       /* 0: JSON_DEPTH_MAX; at most JSON_DEPTH_MAX */
	size_t max_nodes;         /* 0: JSON_PARSE_NODES_MAX */
};

struct json_error {
	size_t offset;            /* byte offset of the problem in the input */
	char msg[JSON_ERR_MSG_MAX]; /* "offset 12: expected ':' after a key" */
};

/*
 * Parses text[0..len) (need not be NUL-terminated).  limits may be NULL
 * (the defaults); e may be NULL.  Returns 0 and fills *doc (free it with
 * json_doc_free()), or ERR_INVAL (syntax), ERR_UTF8, ERR_DUP, ERR_TOOBIG,
 * ERR_NOMEM; then *doc is empty and e says where and why.
 */
int json_parse(struct json_doc *doc, const char *text, size_t len,
	       const struct json_limits *limits, struct json_error *e) LL_MUST_CHECK;
/* Frees what json_parse() allocated and zeroes doc; safe twice. */
void json_doc_free(struct json_doc *doc);

/* The root value (NULL for an empty doc). */
const struct json_node *json_root(const struct json_doc *doc);
/* First member of a container, the next sibling of a member (NULL at the
 * end).  next must only be given a member of parent. */
const struct json_node *json_first(const struct json_doc *doc, const struct json_node *n);
const struct json_node *json_next(const struct json_doc *doc, const struct json_node *parent,
				  const struct json_node *n);
/* The member of object obj named key; NULL if none or obj is no object. */
const struct json_node *json_get(const struct json_doc *doc, const struct json_node *obj,
				 const char *key);

/* A number node holding an integer (no fraction, no exponent) in range.
 * Returns 0, ERR_INVAL (not an integer number) or ERR_TOOBIG (out of range). */
int json_node_int(const struct json_node *n, int64_t *v) LL_MUST_CHECK;
int json_node_uint(const struct json_node *n, uint64_t *v) LL_MUST_CHECK;

/*
 * Member lookups for the common case.  Return 0; ERR_NOTFOUND (no such
 * member); ERR_INVAL (wrong type; for strings also: holds a NUL, since
 * callers use them as C strings); ERR_TOOBIG (integer out of range).
 * *s points into the doc's arena: valid until json_doc_free().
 */
int json_get_string(const struct json_doc *doc, const struct json_node *obj, const char *key,
		    const char **s, size_t *len) LL_MUST_CHECK;
int json_get_int(const struct json_doc *doc, const struct json_node *obj, const char *key,
		 int64_t *v) LL_MUST_CHECK;
int json_get_uint(const struct json_doc *doc, const struct json_node *obj, const char *key,
		  uint64_t *v) LL_MUST_CHECK;

#endif
