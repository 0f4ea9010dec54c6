/*
 * body.c — compose and parse a bundle's plaintext: sections of one
 * sender's records, text fields script-transformed, each section compressed
 * on its own with a preset dictionary.
 *
 * Invariants: a section's compression never sees another section's bytes;
 * every length is checked before it is used; a reader never inflates more
 * than BODY_SECTION_MAX bytes per section nor walks more than
 * BODY_SECTIONS_MAX sections.  Failure: the writer leaves its state as it
 * was before the failing call; the reader stops at the first error.
 */
#include "proto/body.h"

#include <string.h>

#include "proto/dict.h"
#include "proto/varint.h"

void body_writer_init(struct body_writer *w, struct compress_work *work,
		      uint8_t *out, size_t cap, uint64_t base_time)
{
	w->work = work;
	w->out = out;
	w->cap = cap;
	w->len = 0;
	w->base_time = base_time;
	w->open = false;
	w->dict = -1;
	w->nsections = 0;
	w->recs_len = 0;
	w->pick_len = 0;
}

int body_section_begin(struct body_writer *w, int dict_id)
{
	if (w->open)
		return ERR_STATE;
	if (w->nsections >= BODY_SECTIONS_MAX)
		return ERR_FULL;
	if (dict_id > 0xff)
		return ERR_INVAL;
	w->open = true;
	w->dict = dict_id;
	w->recs_len = 0;
	w->pick_len = 0;
	return 0;
}

/* Transforms one UTF-8 field into w->text; *field then points there. */
static int transform(struct body_writer *w, struct record_bytes *field)
{
	if (field->len == 0)
		return 0;
	if (field->len > BODY_TEXT_UTF8_MAX)
		return ERR_TOOBIG;
	ssize_t n = script_encode(field->ptr, field->len, w->text, sizeof w->text);
	if (n < 0)
		return (int)n;
	/* Remember some text to choose the dictionary from. */
	size_t room = sizeof w->pickbuf - w->pick_len;
	if (room > field->len) {
		memcpy(w->pickbuf + w->pick_len, field->ptr, field->len);
		w->pick_len += field->len;
	}
	field->ptr = w->text;
	field->len = (size_t)n;
	return 0;
}

/* The one transformed field of a record, if any. */
static struct record_bytes *text_field(struct record *r)
{
	switch (r->type) {
	case RECORD_TEXT: return &r->u.text.text;
	case RECORD_REPLY: return &r->u.reply.text;
	case RECORD_SOS: return &r->u.sos.text;
	case RECORD_CASE_UPDATE: return &r->u.case_update.text;
	case RECORD_CONTACT: return &r->u.contact.name;
	default: return NULL;
	}
}

int body_add(struct body_writer *w, const struct record *r)
{
	if (!w->open)
		return ERR_STATE;
	struct record copy = *r;
	struct record_bytes *f = text_field(&copy);
	size_t pick_before = w->pick_len;
	if (f) {
		int rc = transform(w, f);
		if (rc < 0)
			return rc;
	}
	ssize_t n = record_encode_base(&copy, w->base_time, w->recs + w->recs_len,
				       sizeof w->recs - w->recs_len);
	if (n < 0) {
		w->pick_len = pick_before;
		return (int)n;
	}
	w->recs_len += (size_t)n;
	return 0;
}

int body_section_end(struct body_writer *w)
{
	if (!w->open)
		return ERR_STATE;
	w->open = false;
	if (w->recs_len == 0)
		return 0;               /* an empty section is not written */
	int dict = w->dict;
	if (dict < 0) {
		dict = compress_pick_dict(w->pickbuf, w->pick_len);
		if (dict < 0)
			dict = DICT_ID_MIXED;
	}
	/* Length prefix first, then the block right after it: compress into
	 * the body at the largest prefix offset, then close the gap. */
	size_t room = w->cap - w->len;
	if (room <= VARINT_MAX_BYTES)
		return ERR_FULL;
	uint8_t *blk = w->out + w->len + VARINT_MAX_BYTES;
	ssize_t n = compress_block(w->work, (uint8_t)dict, w->recs, w->recs_len,
				   blk, room - VARINT_MAX_BYTES);
	if (n < 0)
		return (int)n;
	uint8_t pre[VARINT_MAX_BYTES];
	ssize_t p = varint_encode((uint64_t)n, pre, sizeof pre);
	if (p < 0)
		return (int)p;
	memmove(w->out + w->len + (size_t)p, blk, (size_t)n);
	memcpy(w->out + w->len, pre, (size_t)p);
	w->len += (size_t)p + (size_t)n;
	w->nsections++;
	return 0;
}

void body_reader_init(struct body_reader *r, struct compress_work *work,
		      const uint8_t *in, size_t len, uint64_t base_time)
{
	r->work = work;
	r->in = in;
	r->len = len;
	r->off = 0;
	r->base_time = base_time;
	r->nsections = 0;
	r->in_section = false;
}

/* Turns a transformed field back into UTF-8 in buf. */
static int untransform(struct record_bytes *field, uint8_t *buf, size_t cap)
{
	if (field->len == 0)
		return 0;
	ssize_t n = script_decode(field->ptr, field->len, buf, cap);
	if (n < 0)
		return (int)n;
	field->ptr = buf;
	field->len = (size_t)n;
	return 0;
}

static int open_section(struct body_reader *r)
{
	if (r->nsections >= BODY_SECTIONS_MAX)
		return ERR_TOOBIG;
	struct cursor c;
	cursor_init(&c, r->in + r->off, r->len - r->off);
	uint64_t blen;
	int rc = cursor_get_varint(&c, &blen);
	if (rc < 0)
		return rc;
	const uint8_t *blk;
	if (blen == 0)
		return ERR_INVAL;
	if (blen > c.len)
		return ERR_TRUNC;
	rc = cursor_get_bytes(&c, (size_t)blen, &blk);
	if (rc < 0)
		return rc;
	ssize_t n = decompress_block(r->work, blk, (size_t)blen, r->plain, sizeof r->plain);
	if (n < 0)
		return (int)n;
	r->off = r->len - c.len;
	r->nsections++;
	r->in_section = true;
	record_iter_init(&r->it, r->plain, (size_t)n, r->base_time);
	return 0;
}

int body_next(struct body_reader *r, struct record *rec, size_t *section)
{
	for (;;) {
		if (!r->in_section) {
			if (r->off == r->len)
				return 0;
			int rc = open_section(r);
			if (rc < 0)
				return rc;
		}
		int rc = record_iter_next(&r->it, rec);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			r->in_section = false;
			continue;
		}
		if (section)
			*section = r->nsections - 1;
		struct record_bytes *f = text_field(rec);
		if (f) {
			bool is_name = rec->type == RECORD_CONTACT;
			rc = untransform(f, is_name ? r->name : r->text,
					 is_name ? sizeof r->name : sizeof r->text);
			if (rc < 0)
				return rc;
		}
		return 1;
	}
}
