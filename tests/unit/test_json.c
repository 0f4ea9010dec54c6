/*
 * test_json.c — the JSON writer: an escaping table (quotes, backslash,
 * every control character, DEL/C1, U+2028/2029, bidi controls, Burmese and
 * Thai passthrough, each kind of ill-formed UTF-8 replaced by U+FFFD),
 * structure and commas, integer extremes, misuse refused, depth cap,
 * seeded random strings always give valid UTF-8 with no raw control bytes.
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

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
}
