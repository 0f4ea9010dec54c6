/*
 * complain.c — seals a crew member's complaint on board (see complain.h).
 *
 * What it is for: a fisher can tell a labour inspector what happens on
 * board without the captain being able to read it (DESIGN invariant 5).
 *
 * Invariants: the record names the message id the same transaction
 * allocates; only complaint_seal()'s output is handed to the store;
 * complaint_seal() wipes its plaintext buffers; the record struct here only
 * points at the caller's text (which the caller wipes).
 *
 * Failure behaviour: a seal or store error rolls the transaction back (no
 * id is shown to the crew member) and is returned; nothing is logged.
 */
#include "vessel/complain.h"

#include <sodium.h>

#include "proto/record.h"

static ssize_t seal_cb(void *ctx, uint64_t id, uint8_t *out, size_t cap)
{
	const struct vcomplain *v = ctx;
	struct complaint c = {.vessel = v->vessel_id, .crew = v->crew_id, .category = v->category,
			      .msg_id = id, .ts = v->ts < 0 ? 0 : (uint64_t)v->ts, .text = v->text,
			      .text_len = v->len};
	ssize_t n = complaint_seal(&c, v->sign_sk, v->inspector_pk, out, cap);
	sodium_memzero(&c, sizeof c);
	return n;
}

int vcomplain_submit(struct vstore *st, const struct vcomplain *c, uint64_t *id)
{
	if (!c->sign_sk || !c->inspector_pk || c->len > COMPLAINT_TEXT_MAX)
		return c->len > COMPLAINT_TEXT_MAX ? ERR_TOOBIG : ERR_INVAL;
	return vstore_complaint_add(st, c->crew_id, c->len, c->ts, c->period, seal_cb, (void *)c, id);
}

const char *vcase_status_name(uint32_t status)
{
	static const char *const names[] = {
		[RECORD_CASE_RECEIVED] = "received", [RECORD_CASE_ASSIGNED] = "assigned",
		[RECORD_CASE_INVESTIGATING] = "investigating", [RECORD_CASE_ACTION_TAKEN] = "resolved",
		[RECORD_CASE_CLOSED] = "closed",
	};
	return status < sizeof names / sizeof names[0] ? names[status] : "updated";
}
