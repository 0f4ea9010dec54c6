/*
 * qreport.h — what the shore's ledger learns from the vessel about quota:
 * refusals (kept on board with the usage level at each) and QUOTA_REPORT
 * records (proto/record.h) that ride with heartbeats.
 *
 * Reports are cumulative (each replaces the last for a crew member and
 * month), so a lost heartbeat bundle costs nothing but delay: the next
 * heartbeat carries the same figures or newer ones.  A heartbeat is made
 * due at once after a refusal and when the month changes in the quota
 * zone (qreport_due()), and every heartbeat carries the current month and,
 * during the first QREPORT_PREV_DAYS days of a month, the month before.
 *
 * Vessel database, schema version 2 (added by this module):
 *   refusal(id AUTOINCREMENT, crew_id, period, ts, used, attempted)
 *   meta "qr_refusal" (highest refusal id reported), "qr_period" (month of
 *   the last report).
 */
#ifndef LIFELINE_VESSEL_QREPORT_H
#define LIFELINE_VESSEL_QREPORT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"
#include "proto/err.h"
#include "vessel/store.h"

#define QREPORT_SCHEMA_VERSION 2
#define QREPORT_PREV_DAYS 3             /* the last month is reported this long */
#define QREPORT_BYTES_MAX 1024u         /* record bytes per heartbeat at most */
#define QREPORT_CREW_MAX 256u           /* SCHED_CREW_MAX */

/* The SQL of vessel schema version 2 (vessel/store.c lists it). */
extern const char qreport_schema_v2[];

/* The vessel's settings a report carries. */
struct qreport_config {
	int32_t zone;                   /* quota zone, seconds east of UTC */
	uint64_t allowance;             /* bytes per crew member per month */
	uint32_t interval;              /* heartbeat interval, s; 0: reports off */
};

/* Records a refusal (its own committed statement).  Returns 0 or a db
 * error. */
int qreport_refusal_add(struct vstore *st, uint32_t crew_id, uint32_t period, int64_t ts,
			uint64_t used, uint64_t attempted) LL_MUST_CHECK;

/* Refusals of crew_id in period (total count).  Returns 0 or a db error. */
int qreport_refusals(struct vstore *st, uint32_t crew_id, uint32_t period, uint64_t *n) LL_MUST_CHECK;

/* *due = a refusal not yet reported, or the month changed since the last
 * report.  Returns 0 or a db error. */
int qreport_due(struct vstore *st, const struct qreport_config *cfg, int64_t now, bool *due) LL_MUST_CHECK;

/* Record bytes to keep free for reports in a body of bundle_max bytes:
 * a quarter of it, at most QREPORT_BYTES_MAX; 0 when reports are off. */
size_t qreport_reserve(const struct qreport_config *cfg, uint64_t bundle_max);

/* Adds the QUOTA_REPORT records of now's month (and the previous month in
 * its first days) to the open section of bw, at most max_bytes of records
 * (crew members with refusals first), then marks them reported in meta.
 * A settings-only report (crew 0) goes when no crew member has any
 * figure.  Returns 0, or a db or body_add() error. */
int qreport_add(struct vstore *st, const struct qreport_config *cfg, int64_t now,
		struct body_writer *bw, size_t max_bytes) LL_MUST_CHECK;

#endif
