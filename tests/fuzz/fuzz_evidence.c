/*
 * fuzz_evidence.c — the signed-document decoder and the evidence verifier
 * against arbitrary input.
 *
 * Every input goes through doc_decode() and evidence_verify().  A document
 * that decodes must re-encode to the same bytes (one byte form per
 * document); evidence that verifies must be rebuilt byte for byte by
 * evidence_encode() from what the verifier returned, and must decode as a
 * document too.  Any mismatch aborts.  Returns 0.  The seed corpus holds a
 * genuine evidence file so that mutations reach the signature checks and
 * the cross-checks.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[DOC_BYTES_MAX];
	if (sodium_init() < 0)
		abort();
	struct doc d;
	const char *why = NULL;
	int drc = doc_decode(data, size, &d, &why);
	if ((drc == 0) != (why == NULL))
		abort();
	if (drc == 0) {
		ssize_t n = doc_encode(&d, again, sizeof again);
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
	}
	struct evidence ev;
	int rc = evidence_verify(data, size, &ev, &why);
	if (rc == 0) {
		if (drc != 0 || why != NULL)
			abort();
		uint8_t receipt[RECEIPT_BYTES];
		evidence_receipt_encode(&ev.receipt, receipt);
		ssize_t n = evidence_encode(ev.record, ev.record_len, ev.vessel_pk, ev.vessel_sig,
					    receipt, ev.shore_pk, ev.shore_sig, again, sizeof again);
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
	} else if (why == NULL) {
		abort();        /* every failure names its reason */
	}
	return 0;
}
