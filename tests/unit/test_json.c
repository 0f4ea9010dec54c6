/*
 * test_json.c — the JSON writer: an escaping table (quotes, backslash,
 * every control character, DEL/C1, U+2028/2029, bidi controls, Burmese and
 * Thai passthrough, each kind of ill-formed UTF-8 replaced by U+FFFD),
 * structure and commas, integer extremes, misuse refused, depth cap,
 * seeded random strings always give valid UTF-8 with no raw control bytes.
 * The reader: a table of good documents (dumped back to a canonical form),
 * a table of bad ones (code and byte offset of the error), limits at +-1,
 * lookups, integer ranges, and writer -> reader round trips of random
 * strings.
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

#define DUMP_MAX 512u

struct esc_vec {
	const char *in;
	size_t len;
	const char *out;     /* the whole JSON text of json_string_n(in) */
	size_t replaced;
};

#define V(s, o, r) { s, sizeof(s) - 1, o, r }

static const struct esc_vec esc_vecs[] = {
	V("", "\"\"", 0),
	V("hello", "\"hello\"", 0),
	V("say \"hi\"", "\"say \\\"hi\\\"\"", 0),
	V("a\\b", "\"a\\\\b\"", 0),
	V("/", "\"/\"", 0),
	V("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"", 0),
	V("\x00", "\"\\u0000\"", 0),
	V("\x01\x1f", "\"\\u0001\\u001f\"", 0),
	V("\x1b[31m", "\"\\u001b[31m\"", 0),           /* terminal escape */
	V("\x7f", "\"\\u007f\"", 0),                    /* DEL */
	V("\xc2\x80\xc2\x9f\xc2\xa0", "\"\\u0080\\u009f\xc2\xa0\"", 0), /* C1; NBSP stays */
	V("a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"", 0),
	V("\xe2\x80\xae" "x\xe2\x81\xa6", "\"\\u202ex\\u2066\"", 0), /* bidi */
	/* Burmese "mingalaba" and Thai "sawatdee": pass through untouched. */
	V("\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac",
	  "\"\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac\"", 0),
	V("\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5",
	  "\"\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5\"", 0),
	V("\xf0\x9f\x90\x9f", "\"\xf0\x9f\x90\x9f\"", 0),   /* fish emoji, 4 bytes */
	V("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", 0),   /* U+10FFFF */
	/* Ill-formed: one U+FFFD per maximal subpart. */
	V("\x80", "\"\xef\xbf\xbd\"", 1),                   /* lone continuation */
	V("a\xff" "b", "\"a\xef\xbf\xbd" "b\"", 1),
	V("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"", 2),   /* overlong '/' */
	V("\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 3),
	V("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 3), /* surrogate */
	V("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 4),
	V("\xe1\x80", "\"\xef\xbf\xbd\"", 1),               /* truncated at end */
	V("\xe1\x80z", "\"\xef\xbf\xbdz\"", 1),             /* truncated mid */
	V("\xf0\x9f\x90", "\"\xef\xbf\xbd\"", 1),
	V("\xf5\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\"", 2),
	V("\xe1\x80\"", "\"\xef\xbf\xbd\\\"\"", 1),         /* bad then quote */
};

static void test_escape_table(void)
{
	for (size_t i = 0; i < sizeof esc_vecs / sizeof esc_vecs[0]; i++) {
		const struct esc_vec *v = &esc_vecs[i];
		struct json j;
		json_init(&j);
		json_string_n(&j, v->in, v->len);
		size_t replaced = j.replaced;
		char *out = NULL;
		size_t len = 0;
		CU_ASSERT_EQUAL(json_finish(&j, &out, &len), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		if (strcmp(out, v->out) != 0)
			fprintf(stderr, "\nvector %zu: got %s\n", i, out);
		CU_ASSERT_STRING_EQUAL(out, v->out);
		CU_ASSERT_EQUAL(len, strlen(v->out));
		CU_ASSERT_EQUAL(replaced, v->replaced);
		CU_ASSERT(json_utf8_valid(out, len));
		CU_ASSERT_EQUAL(json_utf8_valid(v->in, v->len), v->replaced == 0);
		free(out);
		json_fini(&j);
	}
}

static void test_every_control_char(void)
{
	for (unsigned c = 0; c < 0x20u; c++) {
		char in[1] = { (char)c };
		struct json j;
		json_init(&j);
		json_string_n(&j, in, 1);
		char *out;
		CU_ASSERT_EQUAL_FATAL(json_finish(&j, &out, NULL), 0);
		for (const char *p = out; *p; p++)
			CU_ASSERT((unsigned char)*p >= 0x20u);
		CU_ASSERT(out[1] == '\\');
		free(out);
	}
}

static void test_structure(void)
{
	struct json j;
	json_init(&j);
	json_object_begin(&j);
	json_kv_string(&j, "name", "Aung");
	json_kv_int(&j, "min", INT64_MIN);
	json_kv_uint(&j, "max", UINT64_MAX);
	json_kv_bool(&j, "locked", false);
	json_key(&j, "list");
	json_array_begin(&j);
	json_int(&j, 1);
	json_string(&j, "two");
	json_null(&j);
	json_array_begin(&j);
	json_array_end(&j);
	json_object_begin(&j);
	json_object_end(&j);
	json_bool(&j, true);
	json_array_end(&j);
	json_key(&j, "nil");
	json_string(&j, NULL);
	json_object_end(&j);
	char *out;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(json_finish(&j, &out, &len), 0);
	CU_ASSERT_STRING_EQUAL(out,
		"{\"name\":\"Aung\",\"min\":-9223372036854775808,"
		"\"max\":18446744073709551615,\"locked\":false,"
		"\"list\":[1,\"two\",null,[],{},true],\"nil\":null}");
	CU_ASSERT_EQUAL(len, strlen(out));
	free(out);
	json_fini(&j);
	json_fini(&j);      /* twice is safe */
}

enum misuse { M_VALUE_NO_KEY, M_KEY_IN_ARRAY, M_TWO_KEYS, M_WRONG_END, M_UNCLOSED,
	M_NOTHING, M_TWO_TOP, M_END_AT_TOP, M_KEY_NO_VALUE, M_KEY_TOP, M_COUNT };

static void test_misuse_refused(void)
{
	for (int m = 0; m < M_COUNT; m++) {
		struct json j;
		json_init(&j);
		switch (m) {
		case M_VALUE_NO_KEY: json_object_begin(&j); json_int(&j, 1); json_object_end(&j); break;
		case M_KEY_IN_ARRAY: json_array_begin(&j); json_key(&j, "k"); json_int(&j, 1); json_array_end(&j); break;
		case M_TWO_KEYS: json_object_begin(&j); json_key(&j, "a"); json_key(&j, "b"); json_int(&j, 1); json_object_end(&j); break;
		case M_WRONG_END: json_object_begin(&j); json_array_end(&j); break;
		case M_UNCLOSED: json_array_begin(&j); json_int(&j, 1); break;
		case M_NOTHING: break;
		case M_TWO_TOP: json_int(&j, 1); json_int(&j, 2); break;
		case M_END_AT_TOP: json_array_end(&j); break;
		case M_KEY_NO_VALUE: json_object_begin(&j); json_key(&j, "a"); json_object_end(&j); break;
		case M_KEY_TOP: json_key(&j, "a"); json_int(&j, 1); break;
		default: break;
		}
		char *out = (char *)&j;   /* must be reset to NULL */
		CU_ASSERT_EQUAL(json_finish(&j, &out, NULL), ERR_STATE);
		CU_ASSERT_PTR_NULL(out);
		json_fini(&j);
	}
}

static void test_depth_cap(void)
{
	struct json j;
	json_init(&j);
	for (unsigned i = 0; i < JSON_DEPTH_MAX; i++)
		json_array_begin(&j);
	for (unsigned i = 0; i < JSON_DEPTH_MAX; i++)
		json_array_end(&j);
	char *out;
	CU_ASSERT_EQUAL_FATAL(json_finish(&j, &out, NULL), 0);
	CU_ASSERT_EQUAL(strlen(out), 2u * JSON_DEPTH_MAX);
	free(out);
	json_init(&j);
	for (unsigned i = 0; i < JSON_DEPTH_MAX + 1u; i++)
		json_array_begin(&j);
	CU_ASSERT_EQUAL(json_finish(&j, &out, NULL), ERR_TOOBIG);
	json_fini(&j);
}

static void test_size_cap(void)
{
	/* A string just over the cap is refused, not truncated. */
	size_t n = JSON_BYTES_MAX - 1u;    /* + 2 quotes = cap + 1 */
	char *big = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', n);
	struct json j;
	json_init(&j);
	json_string_n(&j, big, n);
	char *out;
	CU_ASSERT_EQUAL(json_finish(&j, &out, NULL), ERR_TOOBIG);
	json_fini(&j);
	json_init(&j);
	json_string_n(&j, big, n - 1u);   /* exactly the cap */
	size_t len;
	CU_ASSERT_EQUAL(json_finish(&j, &out, &len), 0);
	CU_ASSERT_EQUAL(len, JSON_BYTES_MAX);
	free(out);
	json_fini(&j);
	free(big);
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Random bytes in, always: valid UTF-8 out, no raw byte < 0x20 or DEL,
 * every '"' inside preceded by a backslash, framed by quotes. */
static void test_random_strings(void)
{
	uint64_t seed = 20240611u;
	for (int iter = 0; iter < 2000; iter++) {
		char in[64];
		size_t n = (size_t)(rng_next(&seed) % sizeof in);
		for (size_t i = 0; i < n; i++)
			in[i] = (char)(rng_next(&seed) & 0xffu);
		struct json j;
		json_init(&j);
		json_string_n(&j, in, n);
		char *out;
		size_t len;
		CU_ASSERT_EQUAL_FATAL(json_finish(&j, &out, &len), 0);
		CU_ASSERT(json_utf8_valid(out, len));
		CU_ASSERT(len >= 2 && out[0] == '"' && out[len - 1] == '"');
		int bad = 0;
		for (size_t i = 1; i + 1 < len; i++) {
			unsigned char c = (unsigned char)out[i];
			if (c < 0x20u || c == 0x7fu)
				bad++;
			if (c == '\\') {
				i++;          /* skip the escaped character */
				continue;
			}
			if (c == '"')
				bad++;
		}
		CU_ASSERT_EQUAL(bad, 0);
		free(out);
	}
}

/* ---- reader ---- */

/* A canonical dump of a parsed tree: strings and keys in quotes with bytes
 * outside printable ASCII as \xNN, numbers as their literal. */
static void dump_node(const struct json_doc *d, const struct json_node *n, char *out, size_t *o)
{
#define PUT(...) (*o += (size_t)snprintf(out + *o, DUMP_MAX - *o, __VA_ARGS__))
	if (*o >= DUMP_MAX - 16u)
		return;
	if (n->key != NULL) {
		PUT("\"");
		for (size_t i = 0; i < n->key_len; i++) {
			unsigned char c = (unsigned char)n->key[i];
			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				PUT("%c", c);
			else
				PUT("\\x%02x", c);
		}
		PUT("\":");
	}
	switch (n->type) {
	case JSON_NULL: PUT("null"); break;
	case JSON_TRUE: PUT("true"); break;
	case JSON_FALSE: PUT("false"); break;
	case JSON_NUMBER: PUT("%s", n->str); break;
	case JSON_STRING:
		PUT("\"");
		for (size_t i = 0; i < n->len; i++) {
			unsigned char c = (unsigned char)n->str[i];
			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				PUT("%c", c);
			else
				PUT("\\x%02x", c);
		}
		PUT("\"");
		break;
	case JSON_ARRAY:
	case JSON_OBJECT: {
		PUT(n->type == JSON_ARRAY ? "[" : "{");
		size_t k = 0;
		for (const struct json_node *m = json_first(d, n); m; m = json_next(d, n, m)) {
			if (k++)
				PUT(",");
			dump_node(d, m, out, o);
		}
		CU_ASSERT_EQUAL(k, n->count);
		PUT(n->type == JSON_ARRAY ? "]" : "}");
		break;
	}
	}
#undef PUT
}

struct good_vec {
	const char *in;
	size_t len;
	const char *dump;
};
#define G(s, d) { s, sizeof(s) - 1, d }

static const struct good_vec good_vecs[] = {
	G("{}", "{}"),
	G("[]", "[]"),
	G(" \t\r\n{ } \n", "{}"),
	G("0", "0"),
	G("-0", "-0"),
	G("-12.5e+3", "-12.5e+3"),
	G("1E9", "1E9"),
	G("true", "true"),
	G("null", "null"),
	G("\"\"", "\"\""),
	G("[1,[2,[3]],{\"a\":{}}]", "[1,[2,[3]],{\"a\":{}}]"),
	G("{\"a\":1,\"b\":\"x\",\"c\":[true,false,null]}", "{\"a\":1,\"b\":\"x\",\"c\":[true,false,null]}"),
	G("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\x22\\x5c/\\x08\\x0c\\x0a\\x0d\\x09\""),
	G("\"\\u0041\\u00e9\\u0E2A\"", "\"A\\xc3\\xa9\\xe0\\xb8\\xaa\""),
	G("\"\\u0000\"", "\"\\x00\""),
	G("\"\\ud83d\\udc1f\"", "\"\\xf0\\x9f\\x90\\x9f\""),          /* fish, surrogate pair */
	G("\"\\uDBFF\\uDFFF\"", "\"\\xf4\\x8f\\xbf\\xbf\""),          /* U+10FFFF */
	/* Thai and Burmese as raw UTF-8 */
	G("{\"t\":\"\xe0\xb8\xaa\xe0\xb8\xa7\",\"m\":\"\xe1\x80\x99\xe1\x80\x84\"}",
	  "{\"t\":\"\\xe0\\xb8\\xaa\\xe0\\xb8\\xa7\",\"m\":\"\\xe1\\x80\\x99\\xe1\\x80\\x84\"}"),
	G("{\"a\":{\"x\":1},\"b\":{\"x\":1}}", "{\"a\":{\"x\":1},\"b\":{\"x\":1}}"), /* same key, other objects */
	G("[{\"a\":1},{\"a\":1}]", "[{\"a\":1},{\"a\":1}]"),
};

struct bad_vec {
	const char *in;
	size_t len;
	int rc;
	size_t offset;
	const char *says;     /* part of the message */
};
#define B(s, rc, off, says) { s, sizeof(s) - 1, rc, off, says }

static const struct bad_vec bad_vecs[] = {
	B("", ERR_INVAL, 0, "empty"),
	B("  ", ERR_INVAL, 2, "empty"),
	B("\xef\xbb\xbf{}", ERR_INVAL, 0, "byte-order mark"),
	B("{", ERR_INVAL, 1, "expected a key"),
	B("{\"a\"", ERR_INVAL, 4, "expected ':'"),
	B("{\"a\":", ERR_INVAL, 5, "expected a value"),
	B("{\"a\":1", ERR_INVAL, 6, "ends inside an object"),
	B("{\"a\":1,}", ERR_INVAL, 7, "trailing comma"),
	B("[1,]", ERR_INVAL, 3, "trailing comma"),
	B("[1 2]", ERR_INVAL, 3, "expected ','"),
	B("{a:1}", ERR_INVAL, 1, "expected a key"),
	B("{'a':1}", ERR_INVAL, 1, "expected a key"),
	B("{\"a\":1}x", ERR_INVAL, 7, "text after"),
	B("{} {}", ERR_INVAL, 3, "text after"),
	B("/*c*/{}", ERR_INVAL, 0, "unexpected character"),
	B("NaN", ERR_INVAL, 0, "unexpected"),
	B("tru", ERR_INVAL, 0, "unexpected"),
	B("nul", ERR_INVAL, 0, "unexpected"),
	B("01", ERR_INVAL, 0, "leading zero"),
	B("-", ERR_INVAL, 0, "digit after '-'"),
	B("+1", ERR_INVAL, 0, "unexpected"),
	B(".5", ERR_INVAL, 0, "unexpected"),
	B("1.", ERR_INVAL, 2, "follow '.'"),
	B("1e", ERR_INVAL, 2, "exponent"),
	B("1e+", ERR_INVAL, 3, "exponent"),
	B("\"abc", ERR_INVAL, 0, "not closed"),
	B("\"a\nb\"", ERR_INVAL, 2, "control character 0x0a"),
	B("\"a\x00" "b\"", ERR_INVAL, 2, "control character 0x00"),
	B("\"\\x\"", ERR_INVAL, 1, "unknown escape"),
	B("\"\\u12\"", ERR_INVAL, 3, "4 hex digits"),
	B("\"\\u12G4\"", ERR_INVAL, 5, "4 hex digits"),
	B("\"\\udc00\"", ERR_INVAL, 1, "lone low surrogate"),
	B("\"\\ud800\"", ERR_INVAL, 1, "high surrogate"),
	B("\"\\ud800x\"", ERR_INVAL, 1, "high surrogate"),
	B("\"\\ud800\\u0041\"", ERR_INVAL, 7, "no low surrogate"),
	B("\"\xff\"", ERR_UTF8, 1, "invalid UTF-8"),
	B("\"\xc0\xaf\"", ERR_UTF8, 1, "invalid UTF-8"),              /* overlong */
	B("\"\xed\xa0\x80\"", ERR_UTF8, 1, "invalid UTF-8"),          /* raw surrogate */
	B("\"\xe0\xb8\"", ERR_UTF8, 1, "invalid UTF-8"),              /* truncated Thai */
	B("\xe0\xb8\xaa", ERR_INVAL, 0, "unexpected"),
	B("\xff", ERR_UTF8, 0, "invalid UTF-8"),
	B("{\"a\":1,\"a\":2}", ERR_DUP, 7, "duplicate key \"a\""),
	B("{\"a\":{\"x\":1,\"x\":2},\"a\":3}", ERR_DUP, 12, "duplicate key \"x\""),
	B("{\"\\u0061\":1,\"a\":2}", ERR_DUP, 12, "duplicate key"),     /* same after decoding */
	B("{\"a\":1,\"a\":2,x}", ERR_INVAL, 13, "expected a key"),     /* syntax wins */
};

static void test_parse_good(void)
{
	for (size_t i = 0; i < sizeof good_vecs / sizeof good_vecs[0]; i++) {
		const struct good_vec *v = &good_vecs[i];
		struct json_doc d;
		struct json_error e;
		int rc = json_parse(&d, v->in, v->len, NULL, &e);
		if (rc != 0)
			fprintf(stderr, "\ngood vector %zu refused: %s\n", i, e.msg);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		char out[DUMP_MAX];
		size_t o = 0;
		out[0] = '\0';
		dump_node(&d, json_root(&d), out, &o);
		if (strcmp(out, v->dump) != 0)
			fprintf(stderr, "\ngood vector %zu: got %s\n", i, out);
		CU_ASSERT_STRING_EQUAL(out, v->dump);
		CU_ASSERT_EQUAL(json_root(&d)->end, d.count);
		json_doc_free(&d);
		json_doc_free(&d);     /* safe twice */
	}
}

static void test_parse_bad(void)
{
	for (size_t i = 0; i < sizeof bad_vecs / sizeof bad_vecs[0]; i++) {
		const struct bad_vec *v = &bad_vecs[i];
		struct json_doc d;
		struct json_error e;
		int rc = json_parse(&d, v->in, v->len, NULL, &e);
		if (rc != v->rc || e.offset != v->offset || !strstr(e.msg, v->says))
			fprintf(stderr, "\nbad vector %zu: rc %d offset %zu msg %s\n", i, rc, e.offset, e.msg);
		CU_ASSERT_EQUAL(rc, v->rc);
		CU_ASSERT_EQUAL(e.offset, v->offset);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, v->says));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "offset "));
		CU_ASSERT_PTR_NULL(d.nodes);
		CU_ASSERT_EQUAL(d.count, 0);
		/* the error pointer is optional */
		CU_ASSERT_EQUAL(json_parse(&d, v->in, v->len, NULL, NULL), v->rc);
	}
}

static void nest(char *buf, unsigned levels, size_t *len)
{
	for (unsigned i = 0; i < levels; i++)
		buf[i] = '[';
	for (unsigned i = 0; i < levels; i++)
		buf[levels + i] = ']';
	*len = 2u * levels;
}

static void test_parse_limits(void)
{
	struct json_doc d;
	struct json_error e;
	char buf[2 * JSON_DEPTH_MAX + 4];
	size_t len;
	/* depth: default JSON_DEPTH_MAX containers, one more refused */
	nest(buf, JSON_DEPTH_MAX, &len);
	CU_ASSERT_EQUAL(json_parse(&d, buf, len, NULL, &e), 0);
	CU_ASSERT_EQUAL(d.count, JSON_DEPTH_MAX);
	json_doc_free(&d);
	nest(buf, JSON_DEPTH_MAX + 1, &len);
	CU_ASSERT_EQUAL(json_parse(&d, buf, len, NULL, &e), ERR_TOOBIG);
	CU_ASSERT_EQUAL(e.offset, JSON_DEPTH_MAX);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "nested deeper than 32"));
	struct json_limits lim = { .max_depth = 2 };
	nest(buf, 2, &len);
	CU_ASSERT_EQUAL(json_parse(&d, buf, len, &lim, &e), 0);
	json_doc_free(&d);
	nest(buf, 3, &len);
	CU_ASSERT_EQUAL(json_parse(&d, buf, len, &lim, &e), ERR_TOOBIG);
	/* bytes: exactly max_bytes passes, one more is refused */
	lim = (struct json_limits){ .max_bytes = 7 };
	CU_ASSERT_EQUAL(json_parse(&d, "[1,2,3]", 7, &lim, &e), 0);
	json_doc_free(&d);
	CU_ASSERT_EQUAL(json_parse(&d, "[1,2,3] ", 8, &lim, &e), ERR_TOOBIG);
	CU_ASSERT_EQUAL(e.offset, 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "over 7 bytes"));
	/* nodes: the array and its 3 members = 4 */
	lim = (struct json_limits){ .max_nodes = 4 };
	CU_ASSERT_EQUAL(json_parse(&d, "[1,2,3]", 7, &lim, &e), 0);
	json_doc_free(&d);
	CU_ASSERT_EQUAL(json_parse(&d, "[1,2,3,4]", 9, &lim, &e), ERR_TOOBIG);
	CU_ASSERT_EQUAL(e.offset, 7);
}

static void test_lookups(void)
{
	static const char doc[] =
		"{\"vessel\":7,\"neg\":-3,\"big\":18446744073709551615,\"over\":18446744073709551616,"
		"\"min\":-9223372036854775808,\"frac\":1.5,\"exp\":1e3,\"text\":\"hi\",\"nul\":\"a\\u0000b\","
		"\"arr\":[1,2],\"mz\":-0}";
	struct json_doc d;
	struct json_error e;
	CU_ASSERT_EQUAL_FATAL(json_parse(&d, doc, sizeof doc - 1, NULL, &e), 0);
	const struct json_node *r = json_root(&d);
	int64_t i;
	uint64_t u;
	const char *s;
	size_t n;
	CU_ASSERT_EQUAL(json_get_int(&d, r, "vessel", &i), 0);
	CU_ASSERT_EQUAL(i, 7);
	CU_ASSERT_EQUAL(json_get_uint(&d, r, "vessel", &u), 0);
	CU_ASSERT_EQUAL(u, 7);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "neg", &i), 0);
	CU_ASSERT_EQUAL(i, -3);
	CU_ASSERT_EQUAL(json_get_uint(&d, r, "neg", &u), ERR_TOOBIG);
	CU_ASSERT_EQUAL(json_get_uint(&d, r, "mz", &u), 0);
	CU_ASSERT_EQUAL(u, 0);
	CU_ASSERT_EQUAL(json_get_uint(&d, r, "big", &u), 0);
	CU_ASSERT_EQUAL(u, UINT64_MAX);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "big", &i), ERR_TOOBIG);
	CU_ASSERT_EQUAL(json_get_uint(&d, r, "over", &u), ERR_TOOBIG);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "min", &i), 0);
	CU_ASSERT_EQUAL(i, INT64_MIN);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "frac", &i), ERR_INVAL);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "exp", &i), ERR_INVAL);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "text", &i), ERR_INVAL);
	CU_ASSERT_EQUAL(json_get_int(&d, r, "absent", &i), ERR_NOTFOUND);
	CU_ASSERT_EQUAL(json_get_string(&d, r, "text", &s, &n), 0);
	CU_ASSERT_STRING_EQUAL(s, "hi");
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(json_get_string(&d, r, "nul", &s, &n), ERR_INVAL);  /* NUL inside */
	CU_ASSERT_EQUAL(json_get(&d, r, "nul")->len, 3);
	CU_ASSERT_EQUAL(json_get_string(&d, r, "vessel", &s, &n), ERR_INVAL);
	CU_ASSERT_EQUAL(json_get_string(&d, r, "absent", &s, NULL), ERR_NOTFOUND);
	const struct json_node *arr = json_get(&d, r, "arr");
	CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
	CU_ASSERT_EQUAL(arr->count, 2);
	CU_ASSERT_PTR_NULL(json_get(&d, arr, "x"));              /* not an object */
	const struct json_node *a0 = json_first(&d, arr);
	CU_ASSERT_EQUAL(json_node_int(a0, &i), 0);
	CU_ASSERT_EQUAL(i, 1);
	CU_ASSERT_EQUAL(json_node_int(json_next(&d, arr, a0), &i), 0);
	CU_ASSERT_EQUAL(i, 2);
	CU_ASSERT_PTR_NULL(json_next(&d, arr, json_next(&d, arr, a0)));
	json_doc_free(&d);
}

/* Writer -> reader: random byte strings (made valid by the writer) come
 * back exactly as the writer's replacement-free text when valid. */
static void test_roundtrip_random(void)
{
	srand(20240601);
	for (int round = 0; round < 500; round++) {
		char in[64];
		size_t n = (size_t)(rand() % (int)sizeof in);
		for (size_t i = 0; i < n; i++)
			in[i] = (char)(rand() % 4 == 0 ? rand() % 256 : 0x20 + rand() % 95);
		struct json j;
		json_init(&j);
		json_object_begin(&j);
		json_key(&j, "k");
		json_string_n(&j, in, n);
		json_object_end(&j);
		size_t replaced = j.replaced;
		char *out = NULL;
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(json_finish(&j, &out, &len), 0);
		struct json_doc d;
		struct json_error e;
		CU_ASSERT_EQUAL_FATAL(json_parse(&d, out, len, NULL, &e), 0);
		const struct json_node *k = json_get(&d, json_root(&d), "k");
		CU_ASSERT_PTR_NOT_NULL_FATAL(k);
		CU_ASSERT(json_utf8_valid(k->str, k->len));
		if (replaced == 0) {
			CU_ASSERT_EQUAL(k->len, n);
			CU_ASSERT(memcmp(k->str, in, n) == 0);
		}
		json_doc_free(&d);
		free(out);
	}
}

void suite_json(void);
void suite_json(void)
{
	CU_pSuite s = CU_add_suite("json", NULL, NULL);
	CU_add_test(s, "escape table", test_escape_table);
	CU_add_test(s, "every control char escaped", test_every_control_char);
	CU_add_test(s, "structure and commas", test_structure);
	CU_add_test(s, "misuse refused", test_misuse_refused);
	CU_add_test(s, "depth cap", test_depth_cap);
	CU_add_test(s, "size cap +-1", test_size_cap);
	CU_add_test(s, "random strings", test_random_strings);
	CU_add_test(s, "parse: good documents", test_parse_good);
	CU_add_test(s, "parse: bad documents, offsets", test_parse_bad);
	CU_add_test(s, "parse: limits +-1", test_parse_limits);
	CU_add_test(s, "parse: lookups and integers", test_lookups);
	CU_add_test(s, "parse: writer round trip", test_roundtrip_random);
}
