/*
 * arq.h — selective-repeat ARQ over frames, as a pure state machine.
 *
 * The caller feeds received frame contents and the current time, asks what
 * to send now and when to wake next.  No I/O, no clock, no allocation: the
 * caller allocates struct arq (it is large: it holds the window).
 *
 * Service: reliable, ordered delivery of whole messages (1..ARQ_MSG_MAX
 * bytes) in each direction.  A message is delivered at most once per pair of
 * incarnations; across a peer restart un-acknowledged messages are sent
 * again whole, so the layer above de-duplicates (it does, by message id).
 *
 * Properties (see proto/PROTOCOL.md for the bytes):
 *  - window sized from the configured rate x RTT, paced at the configured
 *    rate so the modem's buffer never fills and RTT samples stay honest;
 *  - cumulative + selective acknowledgement; loss detected when a later-sent
 *    segment is acknowledged (a byte pipe does not reorder);
 *  - RTO per RFC 6298 (SRTT, RTTVAR, Karn, exponential backoff, capped);
 *  - nothing at all on the air when nothing is pending;
 *  - each side has a random incarnation id (epoch); a restarted peer is
 *    detected from it and both directions resynchronise.
 */
#ifndef LIFELINE_PROTO_ARQ_H
#define LIFELINE_PROTO_ARQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "proto/frame.h"

#define ARQ_MSS_MAX 1024u           /* payload bytes per DATA frame */
#define ARQ_MSS_MIN 32u
#define ARQ_WINDOW_MAX 256u         /* segments in flight */
#define ARQ_MSG_MAX 65536u          /* bytes per message */
#define ARQ_SENDQ_BYTES (2u * ARQ_MSG_MAX) /* queued, not yet segmented */
#define ARQ_NO_WAKEUP UINT64_MAX

enum arq_reset_reason {
	ARQ_RESET_PEER_RESTARTED = 1,  /* the peer's epoch changed */
	ARQ_RESET_PEER_LOST_STATE = 2, /* the peer does not know our stream */
};

struct arq_config {
	uint32_t rate_bps;      /* link rate, bits per second (pacing, window) */
	uint32_t rtt_ms;        /* expected round trip (initial RTO, window) */
	uint32_t mss;           /* max payload per frame; 0 = chosen from rate */
	uint32_t frame_overhead;/* bytes the link adds per frame (for pacing) */
	uint32_t epoch;         /* random, non-zero: this incarnation */
};

struct arq_callbacks {
	/* A whole message arrived, in order. */
	void (*deliver)(void *ctx, const uint8_t *msg, size_t len);
	/* The peer has every byte of message id (as returned by arq_send). */
	void (*acked)(void *ctx, uint64_t msg_id);
	/* Resynchronised with the peer: partially received messages were
	 * dropped and un-acknowledged ones will be sent again whole. */
	void (*reset)(void *ctx, enum arq_reset_reason why);
};

struct arq_stats {
	uint64_t frames_out, frames_in, bytes_out, bytes_in;
	uint64_t data_out, retransmits, acks_out, acks_in;
	uint64_t timeouts, resets, bad_frames, dup_segments;
	uint64_t msgs_sent, msgs_delivered;
};

struct arq;   /* opaque to callers; allocate arq_size() bytes (e.g. calloc) */

/* Bytes to allocate for a struct arq (it holds fixed windows). */
size_t arq_size(void);

/* Initialises a zeroed or reused block of arq_size() bytes; cfg and cb are
 * copied, ctx is passed to the callbacks (any of which may be NULL).
 * Returns 0, ERR_INVAL for NULL a or cfg, ERR_CONFIG for a zero rate or
 * epoch, an mss outside ARQ_MSS_MIN..ARQ_MSS_MAX (0 = adaptive), an RTT
 * over 600 s or a frame_overhead over 1024. */
int arq_init(struct arq *a, const struct arq_config *cfg,
	     const struct arq_callbacks *cb, void *ctx, uint64_t now_ms) LL_MUST_CHECK;

/*
 * Queues one message (copied; the caller keeps msg).  Returns 0 and its id
 * in *msg_id (ids count up from 1 per incarnation), ERR_TOOBIG over
 * ARQ_MSG_MAX, ERR_INVAL for an empty message, ERR_FULL when the send
 * queue has no room (try after some are acknowledged).  Error codes here
 * and below are the (negative) enum err values.
 */
int arq_send(struct arq *a, const uint8_t *msg, size_t len, uint64_t *msg_id) LL_MUST_CHECK;

/*
 * Feeds one received frame content (header byte first).  Returns 0, or a
 * negative code for a malformed or out-of-window frame (counted; the state
 * is unchanged).  Callbacks run from inside this call.
 */
int arq_input(struct arq *a, const uint8_t *content, size_t len, uint64_t now_ms);

/*
 * The next frame content to transmit at now_ms, written to out.  Returns
 * its length, 0 when nothing is due (ask arq_next_wakeup()), or ERR_FULL
 * if cap < FRAME_CONTENT_MAX.
 */
ssize_t arq_output(struct arq *a, uint64_t now_ms, uint8_t *out, size_t cap) LL_MUST_CHECK;

/* When arq_output() may next have something to say (never before now_ms);
 * ARQ_NO_WAKEUP if idle. */
uint64_t arq_next_wakeup(const struct arq *a, uint64_t now_ms);

/* The link came back after an outage: probe at once instead of waiting
 * out the backed-off retransmission timer. */
void arq_link_up(struct arq *a, uint64_t now_ms);

/* Messages queued or in flight, not yet acknowledged. */
size_t arq_unacked(const struct arq *a);
uint32_t arq_rto_ms(const struct arq *a);
const struct arq_stats *arq_get_stats(const struct arq *a);

#endif
