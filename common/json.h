/*
 * json.h — a small JSON writer into a growable buffer (no parser).
 *
 * For `--json` output of the control CLIs: objects, arrays, strings,
 * integers, booleans and null.  Errors are sticky, like proto's wcursor:
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

#endif
