/*
 * dict.c — the dictionary registry (how every id ever shipped is built)
 * and dict_build(), the one function that turns phrase lists into
 * dictionary bytes (used by tools/mkdict and by the unit test that checks
 * the shipped bytes).
 *
 * Invariants: dict_build() is deterministic and pure (the caller reads the
 * files); its output never exceeds DICT_BYTES_MAX; phrases are laid out
 * least common first so that the most common sit at the end, nearest to
 * the text being compressed (deflate's distance codes are cheapest there,
 * and zlib keeps only the last 32 KiB of a longer dictionary anyway).
 *
 * Failure: a negative enum err, out untouched or partly written.
 */
#include "proto/dict.h"

#include <stdbool.h>
#include <string.h>

#include "proto/script.h"

#define FNV_OFFSET 0xcbf29ce484222325u
#define FNV_PRIME 0x100000001b3u
#define COMMENT_CHAR '#'

/* One entry per id ever shipped, in id order, each naming the exact
 * versioned phrase files it was built from (a shipped file never changes).
 * Budgets are in encoded bytes; the mixed dictionary takes its own list
 * whole, then the most common part of each language's list of its day. */
const struct dict_spec dict_specs[] = {
	{ DICT_ID_EN_1, 1, "en", 1, { "en.1" }, { 0 } },
	{ DICT_ID_MYA_1, 1, "mya", 2, { "mya.1", "en.1" }, { 0, 2048 } },
	{ DICT_ID_KHM_1, 1, "khm", 2, { "khm.1", "en.1" }, { 0, 2048 } },
	{ DICT_ID_LAO_1, 1, "lao", 2, { "lao.1", "en.1" }, { 0, 2048 } },
	{ DICT_ID_THA_1, 1, "tha", 2, { "tha.1", "en.1" }, { 0, 2048 } },
	{ DICT_ID_MIXED_1, 1, "mixed", 6,
	  { "mixed.1", "en.1", "mya.1", "khm.1", "tha.1", "lao.1" },
	  { 0, 6144, 5120, 5120, 5120, 5120 } },
	{ DICT_ID_EN_2, 2, "en", 1, { "en.2" }, { 0 } },
	{ DICT_ID_LAO_2, 2, "lao", 2, { "lao.2", "en.2" }, { 0, 2048 } },
	{ DICT_ID_THA_2, 2, "tha", 2, { "tha.2", "en.2" }, { 0, 2048 } },
	{ DICT_ID_MIXED_2, 2, "mixed", 6,
	  { "mixed.2", "en.2", "mya.1", "khm.1", "tha.2", "lao.2" },
	  { 0, 6144, 5120, 5120, 5120, 5120 } },
};
const size_t dict_spec_count = sizeof dict_specs / sizeof dict_specs[0];

const struct dict *dict_find(uint8_t id)
{
	for (size_t i = 0; i < dict_shipped_count; i++)
		if (dict_shipped[i].id == id && dict_shipped[i].len > 0)
			return &dict_shipped[i];
	return NULL;
}

uint64_t dict_hash(const uint8_t *p, size_t n)
{
	uint64_t h = FNV_OFFSET;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Next line of t from *pos: trimmed of trailing CR, spaces and tabs; false
 * at the end of the text. */
static bool next_line(const struct dict_text *t, size_t *pos,
		      const uint8_t **line, size_t *len)
{
	if (*pos >= t->n)
		return false;
	const uint8_t *s = t->p + *pos;
	const uint8_t *nl = memchr(s, '\n', t->n - *pos);
	size_t l = nl ? (size_t)(nl - s) : t->n - *pos;
	*pos += nl ? l + 1u : l;
	while (l > 0 && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	*line = s;
	*len = l;
	return true;
}

ssize_t dict_build(const struct dict_spec *spec, const struct dict_text *texts,
		   uint8_t *scratch, size_t scratch_cap,
		   uint8_t *out, size_t cap)
{
	if (spec == NULL || texts == NULL || scratch == NULL || out == NULL ||
	    spec->nsources == 0 || spec->nsources > DICT_SOURCES_MAX)
		return ERR_INVAL;
	/* The UTF-8 is assembled backwards from the end of scratch: the most
	 * common phrase is written first and ends up last. */
	size_t start = scratch_cap;
	size_t total = 0;              /* encoded estimate of everything taken */
	uint8_t enc[SCRIPT_ENCODE_MAX(DICT_BYTES_MAX)];
	for (size_t s = 0; s < spec->nsources; s++) {
		const struct dict_text *t = &texts[s];
		if (t->n > 0 && t->p == NULL)
			return ERR_INVAL;
		size_t bad;
		if (script_utf8_check(t->p, t->n, &bad) != 0)
			return ERR_UTF8;
		size_t budget = spec->budget[s] ? spec->budget[s] : DICT_BYTES_MAX;
		size_t used = 0;
		size_t pos = 0;
		const uint8_t *line;
		size_t len;
		while (next_line(t, &pos, &line, &len)) {
			if (len == 0 || line[0] == COMMENT_CHAR)
				continue;
			if (len > DICT_BYTES_MAX)
				return ERR_TOOBIG;
			/* Already inside a more common phrase: deflate finds it there. */
			if (start < scratch_cap &&
			    memmem(scratch + start, scratch_cap - start, line, len) != NULL)
				continue;
			ssize_t e = script_encode(line, len, enc, sizeof enc);
			if (e < 0)
				return e;
			size_t cost = (size_t)e + 1u;          /* + separator */
			if (used + cost > budget || total + cost > DICT_BYTES_MAX)
				break;
			if (start < len + 1u)
				return ERR_FULL;
			start -= len + 1u;
			memcpy(scratch + start, line, len);
			scratch[start + len] = DICT_PHRASE_SEP;
			used += cost;
			total += cost;
		}
	}
	ssize_t e = script_encode(scratch + start, scratch_cap - start, out, cap);
	if (e < 0)
		return e;
	return (size_t)e > DICT_BYTES_MAX ? ERR_TOOBIG : e;
}
