/*
 * alert.h — forwards operator alerts (rows of the alerts table: silence,
 * gap, ...) to an alert webhook and/or an e-mail address, through the
 * delivery drivers, from its own thread (a slow or dead alert gateway never
 * stalls the main loop nor the families' deliveries).
 *
 * What is sent is metadata only (alert id, kind, vessel id and name, time,
 * the alert's detail line), never message text.  As a struct deliver_msg:
 * vessel 0 ("the shore"), msg_id = alert id (so the webhook idempotency key
 * is "0-ALERTID" and the e-mail Message-ID <lifeline.0.ALERTID@..>),
 * crew_id 0, contact_ref 0, channel "alert", vessel_name "KIND, vessel V",
 * ts = when it was raised, text = one line.
 *
 * Progress per target is the counter "alert_sent_NAME" (highest alert id
 * handled) in the counters table, so a restart neither repeats nor loses
 * alerts.  A target configured for the first time starts after the alerts
 * that already exist.  ERR_AGAIN: retried with backoff (retry_min doubling
 * to retry_max), in order; a permanent failure is logged and skipped.
 */
#ifndef LIFELINE_SHORE_ALERT_H
#define LIFELINE_SHORE_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "proto/err.h"
#include "shore/deliver.h"

#define ALERT_TARGETS_MAX 4u             /* operator and inspectors, webhook and e-mail */
#define ALERT_BATCH 16u                 /* alerts read per target and round */
#define ALERT_IDLE_MAX_MS 60000u        /* the thread looks at least this often */
#define ALERT_TEXT_MAX 512u

struct alert_target {
	const char *name;               /* "webhook", "email", ...: names the counter */
	const struct deliver_ops *ops;
	void *drv;
	const char *to;                 /* "webhook:NAME" | "mailto:ADDR" */
	bool inspectors;                /* only complaint and SOS alerts (the
	                                 * labour inspectors' channel); others
	                                 * are passed over */
};

struct alert_config {
	const char *db_path;
	struct alert_target targets[ALERT_TARGETS_MAX];
	size_t ntargets;
	uint64_t retry_min_ms, retry_max_ms;
};

struct alert;

/* Opens its own connection and sets up the counters.  Returns 0, ERR_INVAL,
 * ERR_NOMEM or a db error. */
int alert_new(struct alert **out, const struct alert_config *cfg) LL_MUST_CHECK;
/* Stops the thread (finishing the send in hand), closes.  NULL: no-op. */
void alert_free(struct alert *a);
/* One round at unix time now_ms; *next_ms (may be NULL): when a retry is
 * due (INT64_MAX: only when poked).  *sent (may be NULL) counts alerts
 * handed over.  Returns 0 or a db error.  For tests; the thread calls it. */
int alert_run_once(struct alert *a, int64_t now_ms, int64_t *next_ms, size_t *sent) LL_MUST_CHECK;
int alert_start(struct alert *a) LL_MUST_CHECK;     /* 0 or ERR_IO */
void alert_poke(struct alert *a);                    /* any thread */

#endif
