/*
 * dict.h — the preset deflate dictionaries and their registry (pure).
 *
 * A compressed block starts with one method byte (proto/compress.h):
 *
 *   id    name     what                                           since
 *   0x00  stored   bytes as they are (compression did not shrink)   v1
 *   0x01  deflate  raw deflate, no dictionary                       v1
 *   0x02..0x0f     reserved for other methods
 *   0x10  en.1     raw deflate, English chat dictionary, version 1
 *   0x11  mya.1    Burmese, version 1
 *   0x12  khm.1    Khmer, version 1
 *   0x13  lao.1    Lao, version 1
 *   0x14  tha.1    Thai, version 1
 *   0x15  mixed.1  mixed languages and code-switching, version 1
 *   0x16..0xff     free
 *
 * An id names one exact byte string FOREVER: messages stored ashore must
 * stay readable.  A released dictionary is never rebuilt under its id; a
 * changed phrase list gets a new id (and a new version number), and the
 * old bytes stay in dict_data.c.  DICT_FROZEN below pins each id's length
 * and FNV-1a 64 hash; the unit tests fail if the shipped bytes drift.
 *
 * Dictionaries are built by dict_build() from phrase lists written for the
 * project (tools/phrases/<name>.txt, one phrase per line, most common
 * first, '#' comments) — never from any benchmark corpus.  tools/mkdict
 * does the file I/O and writes proto/dict_data.c; the tests rebuild the
 * dictionaries in memory and compare.
 */
#ifndef LIFELINE_PROTO_DICT_H
#define LIFELINE_PROTO_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define DICT_BYTES_MAX (32u * 1024u)   /* deflate's window: more is never reached */
#define DICT_SOURCES_MAX 6u            /* phrase files feeding one dictionary */
#define DICT_PHRASE_SEP ' '            /* written between phrases */

#define DICT_ID_EN 0x10u
#define DICT_ID_MYA 0x11u
#define DICT_ID_KHM 0x12u
#define DICT_ID_LAO 0x13u
#define DICT_ID_THA 0x14u
#define DICT_ID_MIXED 0x15u

/* Pins of the shipped dictionaries: { id, length, FNV-1a 64 } in
 * dict_shipped order (tools/mkdict prints them).  Checked by the tests. */
#define DICT_FROZEN \
	{ 0x10, 24952, 0x4512acf3e4597116ull }, \
	{ 0x11, 6700, 0x3b87e773d8b3aaf1ull }, \
	{ 0x12, 5975, 0x77aa149086d94fedull }, \
	{ 0x13, 8912, 0xa6ea60c64c77ee7full }, \
	{ 0x14, 9590, 0xbad2a21b769119f5ull }, \
	{ 0x15, 26372, 0x558c49fe9112e6b0ull },

/* A shipped dictionary (dict_data.c, generated). */
struct dict {
	uint8_t id;
	uint8_t version;
	const char *name;
	const uint8_t *bytes;
	size_t len;
};

/* How to build one dictionary: phrase files in priority order, each with a
 * budget of encoded bytes (0: no budget beyond DICT_BYTES_MAX). */
struct dict_spec {
	uint8_t id;
	uint8_t version;
	const char *name;
	size_t nsources;
	const char *sources[DICT_SOURCES_MAX];   /* tools/phrases/<source>.txt */
	size_t budget[DICT_SOURCES_MAX];
};

/* A phrase file's contents, owned by the caller. */
struct dict_text {
	const uint8_t *p;
	size_t n;
};

extern const struct dict dict_shipped[];      /* dict_data.c */
extern const size_t dict_shipped_count;
extern const struct dict_spec dict_specs[];   /* dict.c */
extern const size_t dict_spec_count;

/* The shipped dictionary with this id, or NULL. */
const struct dict *dict_find(uint8_t id);

/* FNV-1a 64 of p[0..n): the pin checked against DICT_FROZEN. */
uint64_t dict_hash(const uint8_t *p, size_t n);

/*
 * Builds the dictionary described by spec from texts[0..spec->nsources)
 * (the phrase files, in the order of spec->sources).  Phrases are taken in
 * file order (most common first) while the budgets allow, skipping any
 * phrase already contained in a more common one, joined with
 * DICT_PHRASE_SEP in REVERSE order so the most common end up last (nearest
 * to the text, cheapest for deflate), then script_encode()d: compression
 * runs on transformed text.  scratch (scratch_cap bytes, caller-owned) holds
 * the UTF-8 while building; 3 * DICT_BYTES_MAX is enough.
 * Returns the dictionary length (<= DICT_BYTES_MAX) in out; ERR_UTF8 for
 * a phrase file that is not valid UTF-8; ERR_FULL if scratch or out is
 * too small; ERR_INVAL for a bad spec.
 */
ssize_t dict_build(const struct dict_spec *spec, const struct dict_text *texts,
		   uint8_t *scratch, size_t scratch_cap,
		   uint8_t *out, size_t cap) LL_MUST_CHECK;

#endif
