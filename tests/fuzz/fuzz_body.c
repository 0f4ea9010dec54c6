/*
 * fuzz_body.c — the bundle-plaintext decoder (sections, inflate with a
 * cap, records, text un-transform) on arbitrary bytes.  It must never
 * crash, never read out of bounds, and every text it returns must be
 * valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto/body.h"
#include "proto/script.h"

static struct compress_work work;
static struct body_reader reader;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r;
	size_t sec;
	int rc;

	body_reader_init(&reader, &work, data, size, 1790000000u);
	while ((rc = body_next(&reader, &r, &sec)) == 1) {
		const struct record_bytes *t = NULL;
		if (r.type == RECORD_TEXT)
			t = &r.u.text.text;
		else if (r.type == RECORD_REPLY)
			t = &r.u.reply.text;
		if (t && t->len && script_utf8_check(t->ptr, t->len, NULL) != 0)
			abort();
		if (sec >= BODY_SECTIONS_MAX)
			abort();
	}
	return 0;
}
