/*
 * cases.h — complaint cases ashore (issue 6): the shore's signed receipt of
 * each sealed complaint, the inspector alert for every new complaint or
 * SOS, the case status history, and CASE_UPDATE records to the vessel.
 *
 * The shore never holds a complaint's plaintext (DESIGN invariant 5): the
 * sealed blob stays in messages.body; a case row adds the blob's BLAKE2b-256
 * hash and the shore-signed receipt (proto/evidence.h) made in the same
 * transaction that committed the blob.  Inspectors open the blob on their
 * own machine (tools/lifeline-inspect.c) and change the status here through
 * shored's control socket.
 *
 * Status names and wire values (proto/record.h enum record_case_status):
 *   received 0, assigned 1, investigating 2, resolved 3 (RECORD_CASE_ACTION_TAKEN),
 *   closed 4.  A new case starts "received".
 *
 * Control commands (cases_ctl; `shorectl cases ...`):
 *   cases list [--vessel V] [--status S]           metadata only
 *   cases show CASE                                metadata and status history
 *   cases blob CASE                                the sealed blob, receipt,
 *                                                  keys (hex; for lifeline-inspect)
 *   cases update CASE --status S [--note TEXT] [--for-crew]   (admin)
 * CASE is the case number ("7") or VESSEL/MSGID ("101/17").
 */
#ifndef LIFELINE_SHORE_CASES_H
#define LIFELINE_SHORE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/db.h"
#include "common/json.h"
#include "proto/evidence.h"
#include "proto/record.h"
#include "shore/store.h"

#define CASES_NOTE_MAX 2048u                    /* an inspector's note kept ashore */
#define CASES_CREW_NOTE_MAX RECORD_SHORT_TEXT_MAX /* a note sent to the crew member */
#define CASES_DOWN_MAX 8u                       /* CASE_UPDATEs per downlink bundle */
#define CASES_MSG_MAX 512u

/* Migration 4 of the shore schema (shore/store.c): cases, case_updates. */
extern const char cases_schema_sql[];

/* "received" .. "closed"; NULL outside the enum. */
const char *cases_status_name(int status);
/* A name above, or its number.  0, or ERR_INVAL. */
int cases_status_parse(const char *s, enum record_case_status *out) LL_MUST_CHECK;

/*
 * In ingest's accepting transaction, for a message row just inserted (not a
 * duplicate): a complaint gets its case (blob hash, receipt signed with
 * shore_sk, status received) and an alert; an SOS gets an alert.  Other
 * kinds: nothing.  Alerts carry metadata only (vessel, message id, case
 * number), never text.  *alerted (may be NULL) is set when an alert row was
 * added.  Returns 0 or a db error (the caller rolls back).
 */
int cases_on_message(struct store *st, uint32_t vessel, uint64_t msg_id, enum record_type type,
		     const uint8_t *body, size_t len, int64_t now,
		     const uint8_t shore_sk[DOC_SIGN_SK_BYTES], bool *alerted) LL_MUST_CHECK;

/* ---- CASE_UPDATEs down (shore/downlink.c) ---------------------------------- */

struct cases_down {
	uint64_t id;                    /* case_updates.id */
	uint64_t case_ref;              /* the complaint's msg_id on the vessel */
	uint32_t status;
	uint64_t ts;
	char text[CASES_CREW_NOTE_MAX + 1];     /* the note, if marked for the crew */
	size_t len;
};

/* Queued updates of vessel, oldest first, at most max.  Returns the count
 * or a db error. */
ssize_t cases_down_pending(struct db *db, uint32_t vessel, struct cases_down *out, size_t max) LL_MUST_CHECK;
/* Sets one update's state: "sent" (a bundle carries it) or "acked". */
int cases_down_set(struct db *db, uint32_t vessel, uint64_t id, const char *state) LL_MUST_CHECK;
/* Every "sent" update of vessel (0: of every vessel) back to "queued". */
int cases_down_unsend(struct db *db, uint32_t vessel) LL_MUST_CHECK;

/* ---- control ------------------------------------------------------------------ */

struct cases_out {
	FILE *tf;                       /* the human text */
	struct json *j;                 /* the JSON answer (begun empty) */
	int status;                     /* 0, or a sysexits code with code/msg */
	char code[32];
	char msg[CASES_MSG_MAX];
	uint32_t uid;                   /* in: the peer's uid, kept with an update */
	uint32_t kick;                  /* out: a vessel with a new CASE_UPDATE, or 0 */
};

/* Runs `cases ...` (argv[0] == "cases").  admin: the peer may update. */
void cases_ctl(struct store *st, bool admin, int64_t now, int argc, char *const argv[],
	       struct cases_out *o);

#endif
