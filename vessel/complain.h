/*
 * complain.h — a crew member's complaint, sealed on board (issue 6).
 *
 * vcomplain_submit() builds the proto/complaint.h record (vessel, crew,
 * category, message id, time, text), signs it with the vessel key and seals
 * it to the inspectorate INSIDE the transaction that allocates the message
 * id (vstore_complaint_add), so the record can name its own id while the
 * database only ever receives the sealed blob (DESIGN invariant 5).
 *
 * Case status names (what crew and inspectors read) and their wire values
 * (proto/record.h enum record_case_status; the wire enum is unchanged):
 *     received       0  RECORD_CASE_RECEIVED
 *     assigned       1  RECORD_CASE_ASSIGNED
 *     investigating  2  RECORD_CASE_INVESTIGATING
 *     resolved       3  RECORD_CASE_ACTION_TAKEN  (the "resolved")
 *     closed         4  RECORD_CASE_CLOSED
 */
#ifndef LIFELINE_VESSEL_COMPLAIN_H
#define LIFELINE_VESSEL_COMPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/complaint.h"
#include "vessel/store.h"

struct vcomplain {
	uint32_t vessel_id;
	uint32_t crew_id;
	enum complaint_category category;
	int64_t ts;                     /* unix s, vessel clock */
	uint32_t period;                /* YYYYMM (kept on the row; never counted) */
	const uint8_t *text;            /* UTF-8, <= COMPLAINT_TEXT_MAX; caller wipes */
	size_t len;
	const uint8_t *sign_sk;         /* vessel Ed25519 secret key (64) */
	const uint8_t *inspector_pk;    /* inspectorate X25519 key (32) */
};

/* Queues c.  Returns 0 and *id, complaint_seal()'s errors (ERR_UTF8,
 * ERR_TOOBIG, ERR_INVAL, ERR_CRYPTO), or a store error.  Every plaintext
 * copy made here is wiped. */
int vcomplain_submit(struct vstore *st, const struct vcomplain *c, uint64_t *id) LL_MUST_CHECK;

/* "received" ... "closed" for a wire value; "updated" for an unknown one. */
const char *vcase_status_name(uint32_t status);

#endif
