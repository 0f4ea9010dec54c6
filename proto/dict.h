/*
 * dict.h — the preset deflate dictionaries and their registry (pure).
 *
 * A compressed block starts with one method byte (proto/compress.h):
 *
 *   id    name     what                                        status
 *   0x00  stored   bytes as they are (compression did not shrink)
 *   0x01  deflate  raw deflate, no dictionary
 *   0x02..0x0f     reserved for other methods
 *   0x10  en.1     English chat phrases                        decode only
 *   0x11  mya.1    Burmese (+ 2 KiB of en.1)                   current
 *   0x12  khm.1    Khmer (+ 2 KiB of en.1)                     current
 *   0x13  lao.1    Lao (+ 2 KiB of en.1)                       decode only
 *   0x14  tha.1    Thai (+ 2 KiB of en.1)                      decode only
 *   0x15  mixed.1  code-switching + part of each version-1 list decode only
 *   0x16  en.2     longer English list                         current
 *   0x17  lao.2    longer Lao list (+ 2 KiB of en.2)           current
 *   0x18  tha.2    longer Thai list (+ 2 KiB of en.2)          current
 *   0x19  mixed.2  code-switching + part of each current list  current
 *   0x1a..0xff     free
 *
 * An id names one exact byte string FOREVER: blocks written by any vessel
 * ever released, and messages stored ashore, must stay readable.  The
 * decoder therefore knows every id ever shipped; the encoder writes only
 * the current one of each language (DICT_ID_EN ... below).  A released
 * dictionary is never rebuilt under its id: a changed phrase list is a new
 * file tools/phrases/<name>.<version+1>.txt, built under the next free id,
 * and the old file and bytes stay.  DICT_FROZEN below pins each id's
 * length and FNV-1a 64; tools/mkdict refuses to write bytes that differ
 * from a pin, and the unit tests fail if the shipped bytes drift or if a
 * golden block written with an old id stops decoding.
 *
 * Dictionaries are built by dict_build() from phrase lists written for the
 * project (tools/phrases/<name>.<version>.txt, one phrase per line, most
 * common first, '#' comments) — never from any benchmark corpus.
 * tools/mkdict does the file I/O and writes proto/dict_data.c; the tests
 * rebuild the dictionaries in memory and compare.
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

/* Every id ever shipped: decodable forever, never reused. */
#define DICT_ID_EN_1 0x10u
#define DICT_ID_MYA_1 0x11u
#define DICT_ID_KHM_1 0x12u
#define DICT_ID_LAO_1 0x13u
#define DICT_ID_THA_1 0x14u
#define DICT_ID_MIXED_1 0x15u
#define DICT_ID_EN_2 0x16u
#define DICT_ID_LAO_2 0x17u
#define DICT_ID_THA_2 0x18u
#define DICT_ID_MIXED_2 0x19u

/* The current (newest) dictionary of each language: what the encoder
 * writes (compress_pick_dict()).  Moving one to a new id is all it takes
 * to switch the encoder; the old id stays in the registry. */
#define DICT_ID_EN DICT_ID_EN_2
#define DICT_ID_MYA DICT_ID_MYA_1
#define DICT_ID_KHM DICT_ID_KHM_1
#define DICT_ID_LAO DICT_ID_LAO_2
#define DICT_ID_THA DICT_ID_THA_2
#define DICT_ID_MIXED DICT_ID_MIXED_2

/* Pins of the shipped dictionaries, { id, length, FNV-1a 64 } for struct
 * dict_pin, one per id (tools/mkdict prints the line of a new dictionary).
 * APPEND ONLY: a pinned line is never edited or removed. */
#define DICT_FROZEN \
	{ 0x10, 9505, 0x9e2310636ca3c95eull }, \
	{ 0x11, 6703, 0xbad95c57c0dec2b6ull }, \
	{ 0x12, 5978, 0xedd63e2547ed76c0ull }, \
	{ 0x13, 5882, 0x6dcb3b7cdf7ad28bull }, \
	{ 0x14, 6489, 0xefa6430241174bdaull }, \
	{ 0x15, 24054, 0x56ac72b261d3919bull }, \
	{ 0x16, 24952, 0x4512acf3e4597116ull }, \
	{ 0x17, 8912, 0xa6ea60c64c77ee7full }, \
	{ 0x18, 9590, 0xbad2a21b769119f5ull }, \
	{ 0x19, 26372, 0x558c49fe9112e6b0ull },

struct dict_pin {
	uint8_t id;
	size_t len;
	uint64_t fnv;
};

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
	const char *sources[DICT_SOURCES_MAX];   /* tools/phrases/<source>.txt, "en.2" */
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
