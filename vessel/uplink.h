/*
 * uplink.h — vesseld's engine: queued messages -> sealed bundles, stored
 * bundles -> resends, downlink bundles -> message states and the inbox.
 *
 * Two layers, both testable without a link:
 *   - bytes in, bytes out: uplink_build() makes the next uplink bundle
 *     (sched_pick -> body_writer -> seq reserve/persist/confirm/take ->
 *     seal -> store + mark sent in ONE commit) and hands its bytes back;
 *     uplink_receive() applies one downlink bundle in ONE commit;
 *   - driving: uplink_pump() sends through a struct uplink_io (the daemon
 *     wraps its channel; tests capture the bytes) what is due now: stored
 *     bundles after a restart/reset/link-up (uplink_resend_from_start()),
 *     then new bundles, at most UPLINK_NEW_INFLIGHT_MAX in flight.
 *
 * Contract steps 2, 9, 10, 11, 12 (see the protocol document): a message
 * is "sent" from the commit that stores the bundle holding it until an
 * ACCEPTED (or later) receipt; stored bundles are re-sent as their exact
 * bytes, never re-sealed; a heartbeat-only bundle is not stored.
 */
#ifndef LIFELINE_VESSEL_UPLINK_H
#define LIFELINE_VESSEL_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/channel.h"
#include "common/loop.h"
#include "proto/bundle.h"
#include "proto/err.h"
#include "vessel/qreport.h"
#include "vessel/store.h"

/* Numbers reserved per persisted limit.  One: a crash can then burn at
 * most the one number whose bundle was being stored, so the shore's gap
 * alerts stay rare and meaningful (a gap is a crash at that instant, or a
 * bundle that never arrived).  The price is one more commit per bundle,
 * nothing next to a satellite round trip. */
#define UPLINK_SEQ_BLOCK 1u
#define UPLINK_PENDING_MAX 1024u        /* queued messages the scheduler sees at once */
#define UPLINK_PENDING_PER_CREW 64u     /* of which texts of one crew member */
#define UPLINK_PICK_MAX 256u            /* messages in one bundle */
#define UPLINK_RECORD_OVERHEAD 24u      /* estimated record bytes besides its text */
#define UPLINK_SECTION_OVERHEAD 8u      /* estimated section bytes (length, method) */
#define UPLINK_HEARTBEAT_BYTES 24u      /* estimated heartbeat record */
#define UPLINK_NEW_INFLIGHT_MAX 2u      /* new bundles unacknowledged on the channel */
#define UPLINK_RESEND_INFLIGHT_MAX 8u   /* channel messages while re-sending */
#define UPLINK_TRACK_MAX 32u            /* channel ids remembered */
#define UPLINK_BUNDLE_MAX_DEFAULT 4096u
#define UPLINK_RETRY_MS 5000u           /* after a failed pump (database busy, ...) */

/* Test-only faults (struct uplink_config.fault). */
#define UPLINK_FAULT_NONE 0u
#define UPLINK_FAULT_BEFORE_COMMIT 1u   /* seal, write, return without COMMIT */

struct uplink_config {
	uint32_t vessel_id;
	uint64_t bundle_max;            /* plaintext budget, <= BUNDLE_PLAIN_MAX */
	const struct bundle_keys *keys; /* caller's (sodium_malloc), outlives */
	uint32_t fault;                 /* UPLINK_FAULT_*, tests only */
	struct qreport_config quota;    /* QUOTA_REPORTs with heartbeats; zero: none */
};

/* How bytes leave.  send: 0 and the channel's id of the message, or a
 * negative enum err (ERR_FULL: try after an acknowledgement). */
struct uplink_io {
	int (*send)(void *ctx, const uint8_t *b, size_t len, uint64_t *id);
	size_t (*unacked)(void *ctx);   /* channel messages not yet acknowledged */
	bool (*up)(void *ctx);          /* link up */
	void *ctx;
};

/* What one downlink bundle did. */
struct uplink_rx {
	bool replay;                    /* already applied: nothing done */
	uint64_t seq;
	uint64_t receipts_changed;      /* message rows moved forward */
	uint32_t replies, cases;        /* new inbox items */
	uint32_t dropped;               /* items for unknown crew or complaints */
};

struct uplink_stats {
	uint64_t bundles_new, bundles_resent, heartbeats, seq_reserved;
	uint64_t rx_bundles, rx_replays, rx_rejected;
};

struct uplink;

/* Loads the persisted sequence limit and downlink window.  Returns 0,
 * ERR_INVAL (bad config), ERR_NOMEM, or a store error. */
int uplink_new(struct uplink **out, struct vstore *st, const struct uplink_config *cfg) LL_MUST_CHECK;
void uplink_free(struct uplink *u);             /* NULL is a no-op */

/*
 * Builds, seals and (when it carries messages) stores the next uplink
 * bundle at unix time now, with a HEARTBEAT if heartbeat is set.  Returns
 * its length in out (cap >= BUNDLE_BYTES_MAX), 0 when there is nothing to
 * send, or a negative enum err (the messages then stay queued; a sealed
 * but uncommitted sequence number is burned).  *stored (may be NULL) says
 * whether it was stored for resending; *seq (may be NULL) its number.
 */
ssize_t uplink_build(struct uplink *u, int64_t now, bool heartbeat, uint8_t *out, size_t cap,
		     bool *stored, uint64_t *seq) LL_MUST_CHECK;

/*
 * Applies one downlink bundle received at unix time now (contract step 9).
 * Returns 0 (rx filled; rx->replay for a bundle already applied), or the
 * unseal error (ERR_AUTH, ERR_VESSEL, ERR_WINDOW, ERR_TRUNC, ...), a body
 * error (nothing applied, sequence not accepted), or a store error.
 */
int uplink_receive(struct uplink *u, const uint8_t *b, size_t len, int64_t now,
		   struct uplink_rx *rx) LL_MUST_CHECK;

/* ---- driving ------------------------------------------------------------ */
void uplink_set_io(struct uplink *u, const struct uplink_io *io);
/* After a start, a channel reset or the link coming back: every stored
 * bundle with a sent message not already in the channel goes again,
 * oldest first (at the next uplink_pump()). */
void uplink_resend_from_start(struct uplink *u);
/* A heartbeat is due: it rides in the next bundle. */
void uplink_heartbeat_due(struct uplink *u);
/* The channel acknowledged message id. */
void uplink_acked(struct uplink *u, uint64_t channel_id);
/* Sends what is due now while the link is up and the channel has room.
 * Returns 0 or the first hard error (store, crypto). */
int uplink_pump(struct uplink *u, int64_t now) LL_MUST_CHECK;

const struct uplink_stats *uplink_get_stats(const struct uplink *u);

/* ---- the daemon's wiring ---------------------------------------------------
 * Opens link spec on lp with an ARQ channel over it and drives u from it:
 * downlink messages -> uplink_receive(), acknowledgements, resets and the
 * link coming up -> resend and pump; a heartbeat every heartbeat_ms; after
 * a failed pump one retry timer (UPLINK_RETRY_MS).  No other timer: idle
 * means quiet.  Unix time from time(NULL).  Returns 0, or link_open()'s /
 * channel_new()'s errors. */
struct uplink_link_config {
	const char *spec;
	struct channel_config ch;
	uint64_t heartbeat_ms;
};
int uplink_attach(struct uplink *u, struct loop *lp, const struct uplink_link_config *c) LL_MUST_CHECK;
/* Pumps now, logging a failure and arming the retry (after a submit). */
void uplink_kick(struct uplink *u);
bool uplink_link_up(const struct uplink *u);

#endif
