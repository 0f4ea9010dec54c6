/*
 * fuzz_json.c — json_parse() against arbitrary bytes.
 *
 * Properties (any failure aborts):
 *   - the parser returns 0 or ERR_INVAL/ERR_UTF8/ERR_DUP/ERR_TOOBIG, never
 *     anything else; on failure the message is set, starts with
 *     "offset N:", N <= size, and the doc is empty;
 *   - on success: node 0 spans the whole array, every container's members
 *     are counted right and lie inside it, every string and key is valid
 *     UTF-8 and NUL-terminated, no object holds a key twice;
 *   - on success, a document whose numbers are all integers, written back
 *     with the JSON writer, parses again to the same tree (same types,
 *     keys, strings byte for byte, integers).
 * Returns 0.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static bool all_integers(const struct json_doc *d)
{
	for (size_t i = 0; i < d->count; i++) {
		int64_t v;
		if (d->nodes[i].type == JSON_NUMBER && json_node_int(&d->nodes[i], &v) != 0)
			return false;
	}
	return true;
}

static void write_node(struct json *j, const struct json_doc *d, const struct json_node *n)
{
	if (n->key != NULL) {
		/* json_key takes a C string: keys with NUL are skipped by the
		 * caller (all_keys_plain). */
		json_key(j, n->key);
	}
	int64_t v;
	switch (n->type) {
	case JSON_NULL: json_null(j); break;
	case JSON_TRUE: json_bool(j, true); break;
	case JSON_FALSE: json_bool(j, false); break;
	case JSON_NUMBER:
		if (json_node_int(n, &v) != 0)
			abort();
		json_int(j, v);
		break;
	case JSON_STRING: json_string_n(j, n->str, n->len); break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (n->type == JSON_ARRAY)
			json_array_begin(j);
		else
			json_object_begin(j);
		for (const struct json_node *m = json_first(d, n); m; m = json_next(d, n, m))
			write_node(j, d, m);
		if (n->type == JSON_ARRAY)
			json_array_end(j);
		else
			json_object_end(j);
		break;
	}
}

static bool all_keys_plain(const struct json_doc *d)
{
	for (size_t i = 0; i < d->count; i++)
		if (d->nodes[i].key != NULL && memchr(d->nodes[i].key, '\0', d->nodes[i].key_len))
			return false;
	return true;
}

static void check_tree(const struct json_doc *d)
{
	if (d->count == 0 || d->nodes[0].end != d->count || d->nodes[0].key != NULL)
		abort();
	for (size_t i = 0; i < d->count; i++) {
		const struct json_node *n = &d->nodes[i];
		if (n->end <= i || n->end > d->count)
			abort();
		if ((n->type == JSON_STRING || n->type == JSON_NUMBER) &&
		    (n->str == NULL || n->str[n->len] != '\0' || !json_utf8_valid(n->str, n->len)))
			abort();
		if (n->key != NULL && (n->key[n->key_len] != '\0' || !json_utf8_valid(n->key, n->key_len)))
			abort();
		if (n->type != JSON_ARRAY && n->type != JSON_OBJECT) {
			if (n->end != i + 1u)
				abort();
			continue;
		}
		size_t k = 0;
		for (const struct json_node *m = json_first(d, n); m; m = json_next(d, n, m)) {
			if ((m->key != NULL) != (n->type == JSON_OBJECT) || m->end > n->end)
				abort();
			for (const struct json_node *o = json_first(d, n); o != m; o = json_next(d, n, o))
				if (n->type == JSON_OBJECT && o->key_len == m->key_len &&
				    memcmp(o->key, m->key, m->key_len) == 0)
					abort();
			k++;
		}
		if (k != n->count)
			abort();
	}
}

static void same_tree(const struct json_doc *a, const struct json_doc *b)
{
	if (a->count != b->count)
		abort();
	for (size_t i = 0; i < a->count; i++) {
		const struct json_node *x = &a->nodes[i], *y = &b->nodes[i];
		int64_t vx, vy;
		if (x->type != y->type || x->end != y->end || x->count != y->count ||
		    x->key_len != y->key_len || (x->key && memcmp(x->key, y->key, x->key_len) != 0))
			abort();
		if (x->type == JSON_STRING && (x->len != y->len || memcmp(x->str, y->str, x->len) != 0))
			abort();
		if (x->type == JSON_NUMBER &&
		    (json_node_int(x, &vx) != 0 || json_node_int(y, &vy) != 0 || vx != vy))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc d;
	struct json_error e;
	int rc = json_parse(&d, (const char *)data, size, NULL, &e);
	if (rc != 0) {
		if ((rc != ERR_INVAL && rc != ERR_UTF8 && rc != ERR_DUP && rc != ERR_TOOBIG) ||
		    d.nodes != NULL || d.count != 0 || e.offset > size ||
		    strncmp(e.msg, "offset ", 7) != 0 || memchr(e.msg, '\0', sizeof e.msg) == NULL)
			abort();
		return 0;
	}
	check_tree(&d);
	if (all_integers(&d) && all_keys_plain(&d)) {
		struct json j;
		json_init(&j);
		write_node(&j, &d, json_root(&d));
		char *out = NULL;
		size_t len = 0;
		if (json_finish(&j, &out, &len) != 0 || j.replaced != 0)
			abort();
		struct json_doc again;
		if (json_parse(&again, out, len, NULL, &e) != 0) {
			fprintf(stderr, "written back and refused: %s\n%s\n", e.msg, out);
			abort();
		}
		same_tree(&d, &again);
		json_doc_free(&again);
		free(out);
		json_fini(&j);
	}
	json_doc_free(&d);
	return 0;
}
