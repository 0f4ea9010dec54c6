/*
 * channel.h — a reliable message channel: proto/arq driven over a link.
 *
 * The channel owns a struct arq and wires it to a struct link and the loop:
 * received units go into the ARQ, whatever the ARQ wants to send goes out
 * when the link has room, and a loop timer wakes the ARQ when it asked to
 * be woken.  It holds no policy: the ARQ decides, the channel moves bytes.
 *
 * Failure behaviour: while the link is down nothing is sent and messages
 * keep queueing in the ARQ (up to its send queue); when the link comes back
 * the ARQ probes at once.  A restarted peer is reported through on_reset;
 * the messages the peer had not acknowledged are sent again whole.
 */
#ifndef LIFELINE_COMMON_CHANNEL_H
#define LIFELINE_COMMON_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/link.h"
#include "common/loop.h"
#include "proto/arq.h"

struct channel;

struct channel_callbacks {
	/* A whole message from the peer, in order. */
	void (*on_message)(void *ctx, struct channel *ch, const uint8_t *msg, size_t len);
	/* The peer holds every byte of message id (from channel_send). */
	void (*on_acked)(void *ctx, struct channel *ch, uint64_t msg_id);
	/* The peer restarted or lost our stream; see arq.h. */
	void (*on_reset)(void *ctx, struct channel *ch, enum arq_reset_reason why);
	/* The underlying link went up or down. */
	void (*on_link)(void *ctx, struct channel *ch, bool up);
};

struct channel_config {
	uint32_t rate_bps;      /* the link's rate; pacing and window */
	uint32_t rtt_ms;        /* expected round trip */
	uint32_t mss;           /* 0: the ARQ chooses */
};

/*
 * Creates a channel over ln, which it takes over: it sets ln's callbacks
 * and closes ln in channel_free().  The ARQ epoch is drawn from libsodium's
 * generator (sodium_init() must have run).  Returns 0 or ERR_NOMEM /
 * ERR_INVAL.
 */
int channel_new(struct channel **out, struct loop *lp, struct link *ln,
		const struct channel_config *cfg,
		const struct channel_callbacks *cb, void *ctx) LL_MUST_CHECK;
void channel_free(struct channel *ch);          /* NULL is a no-op */

/* Queues one message (see arq_send for the codes). */
int channel_send(struct channel *ch, const uint8_t *msg, size_t len,
		 uint64_t *msg_id) LL_MUST_CHECK;

size_t channel_unacked(const struct channel *ch);
struct link *channel_link(const struct channel *ch);
const struct arq_stats *channel_stats(const struct channel *ch);

#endif
