/*
 * downlink.h — what the shore sends a vessel: receipts and replies, sealed
 * into downlink bundles, one in flight per vessel (contract step 8).
 *
 *   len = downlink_build(dl, vessel, now, buf, cap);   // > 0: a bundle
 *   channel_send(ch, buf, len, &arq_id)  ok -> downlink_sent(dl, vessel, arq_id)
 *                                        fail -> downlink_forget(dl, vessel)
 *   on_acked(arq_id)  -> downlink_acked(dl, vessel, arq_id)
 *   on_reset / link down / vessel moved -> downlink_forget(dl, vessel)
 *
 * Pending receipts are the message rows whose state differs from what the
 * vessel is known to hold (messages.state != reported); a bundle carries
 * them in ascending id ranges and, once the ARQ says the vessel holds every
 * byte of it, `reported` takes the state it carried.  Replies are `sent`
 * while a bundle carries them and `acked` after; a forgotten bundle puts
 * them back to `queued`.  Nothing is marked before the acknowledgement, so
 * a lost bundle is simply built again.
 *
 * Sequence numbers: the shore's per-vessel space, its limit persisted in
 * vessels.down_seq_limit before any number below it is used (proto/bundle.h).
 */
#ifndef LIFELINE_SHORE_DOWNLINK_H
#define LIFELINE_SHORE_DOWNLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "shore/ingest.h"
#include "shore/store.h"

#define DOWNLINK_RECEIPT_IDS_MAX 2048u  /* message ids per bundle */
#define DOWNLINK_REPLIES_MAX 8u         /* replies per bundle */
#define DOWNLINK_SEQ_RESERVE 64u        /* numbers reserved per persisted limit */

struct downlink;

/* keys come from in (ingest_vessel_keys).  Puts replies left `sent` by a
 * previous run back to `queued`.  Returns 0, ERR_NOMEM or a db error. */
int downlink_new(struct downlink **out, struct store *st, struct ingest *in) LL_MUST_CHECK;
void downlink_free(struct downlink *dl);         /* NULL is a no-op */

/*
 * Builds the next bundle for vessel at unix time now into out[0..cap)
 * (cap >= BUNDLE_BYTES_MAX) when the vessel has pending receipts or queued
 * replies and no bundle in flight.  Returns its length, 0 when there is
 * nothing to send (or one is in flight), or a negative enum err.
 */
ssize_t downlink_build(struct downlink *dl, uint32_t vessel, int64_t now, uint8_t *out,
		       size_t cap) LL_MUST_CHECK;
/* The bundle just built left as channel message arq_id. */
void downlink_sent(struct downlink *dl, uint32_t vessel, uint64_t arq_id);
/* The peer holds channel message arq_id.  If it is the vessel's bundle in
 * flight, records what it carried.  Returns 0 (also when it was not ours)
 * or a db error (the bundle is then forgotten and built again). */
int downlink_acked(struct downlink *dl, uint32_t vessel, uint64_t arq_id) LL_MUST_CHECK;
/* Forgets the bundle in flight (reset, link loss). */
void downlink_forget(struct downlink *dl, uint32_t vessel);
bool downlink_in_flight(struct downlink *dl, uint32_t vessel);

#endif
