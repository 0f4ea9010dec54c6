/*
 * body.h — a bundle's plaintext: per-sender sections of compressed records
 * (pure).
 *
 *     body    = section*
 *     section = [length varint][compressed block (proto/compress.h)]
 *     block   = records (proto/record.h), timestamps relative to the
 *               bundle's base time, every text field script-transformed
 *               (proto/script.h)
 *
 * One section holds the records of one crew member (or of the vessel
 * itself: heartbeats, checkpoints, receipts), compressed on its own: a
 * compression context is never shared between crew members, so nobody's
 * text changes the compressed size of anybody else's (DESIGN "Text on
 * air").  The dictionary is chosen per section from its text.
 *
 * Text fields travel transformed: TEXT, REPLY and SOS text, CASE_UPDATE
 * text and CONTACT name.  The writer takes UTF-8 (refusing invalid UTF-8
 * with ERR_UTF8) and the reader hands back UTF-8.
 *
 * Decoding is bounded: a section inflates to at most BODY_SECTION_MAX bytes
 * (a decompression bomb is refused with ERR_BOMB) and a body holds at most
 * BODY_SECTIONS_MAX sections.  The caller has already authenticated the
 * bundle (DESIGN invariant 4) before handing its plaintext here.
 */
#ifndef LIFELINE_PROTO_BODY_H
#define LIFELINE_PROTO_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/compress.h"
#include "proto/err.h"
#include "proto/record.h"
#include "proto/script.h"

#define BODY_SECTION_MAX 65536u        /* records bytes per section, inflated */
#define BODY_SECTIONS_MAX 256u
/* UTF-8 bytes of one text field: its transform always fits a record. */
#define BODY_TEXT_UTF8_MAX (RECORD_TEXT_MAX / 2u)

/* Building a body into caller memory.  Large (holds one section's records
 * uncompressed): embed it in a long-lived object. */
struct body_writer {
	struct compress_work *work;     /* caller's scratch, shared with readers */
	uint8_t *out;                   /* the body, caller-owned */
	size_t cap, len;
	uint64_t base_time;
	bool open;                      /* a section is being filled */
	int dict;                       /* chosen dictionary, or -1: pick */
	size_t nsections;
	size_t recs_len;
	uint8_t recs[BODY_SECTION_MAX];
	uint8_t text[SCRIPT_ENCODE_MAX(BODY_TEXT_UTF8_MAX)];
	uint8_t pickbuf[BODY_TEXT_UTF8_MAX * 4u];  /* text sample for the dictionary choice */
	size_t pick_len;
};

/* Starts a body in out[0..cap) whose records' times are relative to
 * base_time (the bundle header's). */
void body_writer_init(struct body_writer *w, struct compress_work *work,
		      uint8_t *out, size_t cap, uint64_t base_time);

/* Opens a section for one sender.  dict_id: a dictionary id or method
 * (proto/dict.h), or -1 to choose from the section's text.  ERR_STATE if a
 * section is open, ERR_FULL past BODY_SECTIONS_MAX. */
int body_section_begin(struct body_writer *w, int dict_id) LL_MUST_CHECK;

/*
 * Adds one record (texts in UTF-8, owned by the caller) to the open
 * section.  Returns 0; ERR_STATE if no section is open; ERR_UTF8 for a text
 * that is not valid UTF-8; ERR_TOOBIG for a text over BODY_TEXT_UTF8_MAX;
 * ERR_FULL when the section is full (end it and start another); the
 * record codec's errors otherwise.  On error the section is unchanged.
 */
int body_add(struct body_writer *w, const struct record *r) LL_MUST_CHECK;

/* Compresses the open section and appends it.  ERR_FULL if the body has no
 * room for it (the section is then dropped: the caller re-adds its records
 * to a new body). */
int body_section_end(struct body_writer *w) LL_MUST_CHECK;

/* Reading a body.  Texts handed back point into the reader and stay valid
 * until the next body_next(). */
struct body_reader {
	struct compress_work *work;
	const uint8_t *in;
	size_t len, off;
	uint64_t base_time;
	size_t nsections;
	bool in_section;
	struct record_iter it;
	uint8_t plain[BODY_SECTION_MAX];
	uint8_t text[SCRIPT_DECODE_MAX(RECORD_TEXT_MAX)];
	uint8_t name[SCRIPT_DECODE_MAX(RECORD_NAME_MAX)];
};

void body_reader_init(struct body_reader *r, struct compress_work *work,
		      const uint8_t *in, size_t len, uint64_t base_time);

/*
 * The next record.  Returns 1 with *rec filled (texts as UTF-8), 0 at the
 * clean end of the body, or an error: ERR_TRUNC / ERR_INVAL for a malformed
 * section or record, ERR_BOMB for a section over BODY_SECTION_MAX,
 * ERR_TOOBIG past BODY_SECTIONS_MAX.  Errors are final for this body.
 * *section (may be NULL) is the 0-based index of the record's section.
 */
int body_next(struct body_reader *r, struct record *rec, size_t *section) LL_MUST_CHECK;

#endif
