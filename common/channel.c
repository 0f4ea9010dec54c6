/*
 * channel.c — glue between proto/arq (what to send, when) and a link plus
 * the loop (moving the bytes, keeping the time).
 *
 * Invariants: the ARQ is asked for a frame only when the link's transmit
 * buffer can take a whole encoded frame, so a frame the ARQ counts as sent
 * is never dropped here; at most one wake-up timer is armed, at the time
 * the ARQ asked for.  Callbacks into the owner run from the loop, never
 * re-entrantly from channel_send().
 */
#include "common/channel.h"

#include <sodium.h>
#include <stdlib.h>

#include "common/log.h"

struct channel {
	struct loop *lp;
	struct link *ln;
	struct arq *arq;
	struct channel_callbacks cb;
	void *ctx;
	uint64_t timer_id;
	uint64_t timer_at;
};

static void pump(struct channel *ch);

static void arq_deliver(void *ctx, const uint8_t *msg, size_t len)
{
	struct channel *ch = ctx;
	if (ch->cb.on_message)
		ch->cb.on_message(ch->ctx, ch, msg, len);
}

static void arq_acked(void *ctx, uint64_t msg_id)
{
	struct channel *ch = ctx;
	if (ch->cb.on_acked)
		ch->cb.on_acked(ch->ctx, ch, msg_id);
}

static void arq_reset(void *ctx, enum arq_reset_reason why)
{
	struct channel *ch = ctx;
	log_info("%s: peer %s; resending what it had not acknowledged",
		 link_name(ch->ln),
		 why == ARQ_RESET_PEER_RESTARTED ? "restarted" : "lost our stream");
	if (ch->cb.on_reset)
		ch->cb.on_reset(ch->ctx, ch, why);
}

static void on_timer(struct loop *lp, void *ctx)
{
	struct channel *ch = ctx;
	(void)lp;
	ch->timer_id = 0;
	ch->timer_at = 0;
	pump(ch);
}

static void arm(struct channel *ch)
{
	uint64_t now = loop_now(ch->lp);
	uint64_t when = arq_next_wakeup(ch->arq, now);
	if (when == ARQ_NO_WAKEUP) {
		if (ch->timer_id)
			loop_timer_cancel(ch->lp, ch->timer_id);
		ch->timer_id = 0;
		ch->timer_at = 0;
		return;
	}
	if (ch->timer_id && ch->timer_at == when)
		return;
	if (ch->timer_id)
		loop_timer_cancel(ch->lp, ch->timer_id);
	ch->timer_at = when;
	ch->timer_id = loop_timer_at(ch->lp, when, on_timer, ch);
	if (ch->timer_id == 0)
		log_error("%s: cannot arm the ARQ timer (out of memory)", link_name(ch->ln));
}

/* Moves every frame the ARQ wants sent now into the link, then re-arms. */
static void pump(struct channel *ch)
{
	uint8_t buf[FRAME_CONTENT_MAX];

	while (link_is_up(ch->ln) &&
	       link_tx_pending(ch->ln) + FRAME_ENCODED_MAX <= LINK_TXBUF_BYTES) {
		ssize_t n = arq_output(ch->arq, loop_now(ch->lp), buf, sizeof buf);
		if (n <= 0)
			break;
		int rc = link_send(ch->ln, buf, (size_t)n);
		if (rc < 0) {
			/* Counted as sent by the ARQ: it will retransmit. */
			log_debug("%s: frame not queued: %s", link_name(ch->ln), err_str(rc));
			break;
		}
	}
	arm(ch);
}

static void on_unit(void *ctx, struct link *ln, const uint8_t *unit, size_t len)
{
	struct channel *ch = ctx;
	(void)ln;
	int rc = arq_input(ch->arq, unit, len, loop_now(ch->lp));
	if (rc < 0)
		log_debug("%s: frame refused by ARQ: %s", link_name(ch->ln), err_str(rc));
	pump(ch);
}

static void on_state(void *ctx, struct link *ln, enum link_state st)
{
	struct channel *ch = ctx;
	(void)ln;
	if (st == LINK_UP)
		arq_link_up(ch->arq, loop_now(ch->lp));
	if (ch->cb.on_link)
		ch->cb.on_link(ch->ctx, ch, st == LINK_UP);
	pump(ch);
}

static void on_writable(void *ctx, struct link *ln)
{
	(void)ln;
	pump(ctx);
}

static const struct link_callbacks link_cb = {
	.on_unit = on_unit,
	.on_state = on_state,
	.on_writable = on_writable,
	.on_accept = NULL,
};

int channel_new(struct channel **out, struct loop *lp, struct link *ln,
		const struct channel_config *cfg,
		const struct channel_callbacks *cb, void *ctx)
{
	static const struct arq_callbacks acb = {
		.deliver = arq_deliver, .acked = arq_acked, .reset = arq_reset,
	};
	struct channel *ch = calloc(1, sizeof *ch);
	if (!ch)
		return ERR_NOMEM;
	ch->arq = calloc(1, arq_size());
	if (!ch->arq) {
		free(ch);
		return ERR_NOMEM;
	}
	ch->lp = lp;
	ch->ln = ln;
	ch->cb = *cb;
	ch->ctx = ctx;

	uint32_t epoch;
	do
		epoch = randombytes_random();
	while (epoch == 0);
	struct arq_config acfg = {
		.rate_bps = cfg->rate_bps,
		.rtt_ms = cfg->rtt_ms,
		.mss = cfg->mss,
		.frame_overhead = FRAME_OVERHEAD_SMALL,
		.epoch = epoch,
	};
	int rc = arq_init(ch->arq, &acfg, &acb, ch, loop_now(lp));
	if (rc < 0) {
		free(ch->arq);
		free(ch);
		return rc;
	}
	link_set_callbacks(ln, &link_cb, ch);
	*out = ch;
	pump(ch);
	return 0;
}

void channel_free(struct channel *ch)
{
	if (!ch)
		return;
	if (ch->timer_id)
		loop_timer_cancel(ch->lp, ch->timer_id);
	link_close(ch->ln);
	free(ch->arq);
	free(ch);
}

int channel_send(struct channel *ch, const uint8_t *msg, size_t len, uint64_t *msg_id)
{
	int rc = arq_send(ch->arq, msg, len, msg_id);
	if (rc == 0)
		pump(ch);
	return rc;
}

size_t channel_unacked(const struct channel *ch)
{
	return arq_unacked(ch->arq);
}

struct link *channel_link(const struct channel *ch)
{
	return ch->ln;
}

const struct arq_stats *channel_stats(const struct channel *ch)
{
	return arq_get_stats(ch->arq);
}
