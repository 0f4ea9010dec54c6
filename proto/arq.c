/*
 * arq.c — selective-repeat ARQ over frames, as a pure state machine.
 *
 * What it is for: a satellite byte pipe loses, corrupts and (during outages)
 * swallows frames; this layer turns it into reliable, ordered delivery of
 * whole messages in each direction, spending as few bytes on air as it can.
 * Byte layouts are in proto/PROTOCOL.md section 2; in short:
 *
 *   SYN   [hdr 0x01][epoch:4][isn:2]                 opens my send stream
 *   ACK   [hdr 0x02][epoch:4][echo:4][cum:2][sack:0..32]
 *   DATA  [hdr 0x10|END<<3|seq>>8][seq&0xff][payload 1..ARQ_MSS_MAX]
 *
 * Sequence numbers are 11 bits (3 in the header's type field, 8 in one
 * byte), so a DATA frame costs 2 header bytes; serial arithmetic works
 * because the window (<= ARQ_WINDOW_MAX = 256) is below half the space.
 *
 * Invariants:
 *  - a message's bytes stay in the send ring until every byte of it is
 *    cumulatively acknowledged; only then acked() runs and it is dropped, so
 *    a resynchronisation can always resend un-acknowledged messages whole
 *    and never resends an acknowledged one;
 *  - nothing but SYN is sent on a stream until the peer has acknowledged
 *    that SYN with our epoch; DATA is accepted only on a stream whose SYN
 *    was received;
 *  - the receiver delivers a message only when all its segments arrived in
 *    order, at most once per pair of incarnations;
 *  - frames leave no faster than cfg.rate_bps (pacing), so RTT samples are
 *    not inflated by queueing in the modem;
 *  - with nothing un-acknowledged and no ACK owed, arq_output() returns 0 and
 *    arq_next_wakeup() ARQ_NO_WAKEUP, for ever: an idle link is silent.
 *
 * Failure behaviour: a malformed or out-of-window frame is rejected with a
 * negative enum err before any state changes, and counted in bad_frames.
 * A peer restart (new epoch) or a peer that lost our stream resynchronises
 * both directions and calls reset().  No I/O, no allocation, no globals;
 * time is a parameter in milliseconds.
 */
#include <math.h>
#include <string.h>

#include "proto/arq.h"

/* ---- wire constants ---------------------------------------------------- */
#define SEQ_BITS 11u
#define SEQ_MOD (1u << SEQ_BITS)
#define SEQ_MASK (SEQ_MOD - 1u)
#define SEQ_HALF (SEQ_MOD / 2u)
#define BYTE_BITS 8u
#define BYTE_MASK 0xffu

#define TYPE_SYN 0x01u
#define TYPE_ACK 0x02u
#define TYPE_DATA 0x10u              /* 0x10..0x1f: DATA */
#define TYPE_DATA_END 0x08u          /* last segment of a message */
#define TYPE_DATA_SEQHI 0x07u        /* top 3 bits of the sequence number */

#define HDR_BYTES 1u
#define EPOCH_BYTES 4u
#define SEQ_BYTES 2u
#define SYN_BYTES (HDR_BYTES + EPOCH_BYTES + SEQ_BYTES)
#define ACK_FIXED_BYTES (HDR_BYTES + 2u * EPOCH_BYTES + SEQ_BYTES)
#define SACK_BYTES_MAX (ARQ_WINDOW_MAX / BYTE_BITS)
#define ACK_BYTES_MAX (ACK_FIXED_BYTES + SACK_BYTES_MAX)
#define DATA_HDR_BYTES 2u

/* ---- sizes and timers -------------------------------------------------- */
#define SENDQ_MSGS_MAX 1024u         /* messages queued or in flight */
#define RTO_INIT_RTTS 2u             /* initial RTO: twice the configured RTT */
#define RTO_MIN_MS 1000u             /* RFC 6298 (2.4) */
#define RTO_MAX_MS 64000u            /* backoff cap: a probe a minute in an outage */
#define RTO_BACKOFF 2u               /* RFC 6298 (5.5): double on expiry */
#define RTT_MAX_MS 600000u           /* configured RTT sanity cap */
#define ACK_DELAY_MS 200u            /* delayed-ACK floor */
#define ACK_DELAY_MAX_MS 1000u       /* delayed-ACK ceiling at slow rates */
#define ACK_EVERY_SEGS 2u            /* ack every 2nd in-order segment */
#define WINDOW_MIN 4u
#define WINDOW_BDP_FACTOR 4u         /* window = 4 x bandwidth-delay product */
#define FRAME_AIRTIME_MAX_MS 4000u   /* largest frame airtime (latency of SOS) */
#define OVERHEAD_MAX 1024u           /* sanity cap on cfg.frame_overhead */
#define COBS_BLOCK 254u              /* a COBS code byte per 254 bytes */
#define MS_US 1000u
#define S_MS 1000u
#define XMITS_MAX 255u

/* ---- loss estimator (segment-size choice) ------------------------------ */
#define LOSS_DECAY 32.0              /* memory of ~32 frame outcomes */
#define LOSS_PRIOR_FRAMES 8.0        /* weight of the prior */
#define LOSS_PRIOR_Q 1e-4            /* prior: one loss event per 10^4 bytes */
#define LOSS_P_MAX 0.9               /* clamp of the per-frame loss estimate */
#define LOSS_Q_MIN 1e-9              /* below this: as large as allowed */

struct txseg {
	uint64_t pos;        /* stream position of the first payload byte */
	uint64_t order;      /* transmission counter of the last send */
	uint64_t tx_end_ms;  /* when the last send finished leaving (paced) */
	uint16_t len;
	uint8_t xmits;       /* sends so far, saturating */
	bool end, sacked, lost;
};

struct txmsg {
	uint64_t id;
	uint64_t start;      /* stream position of the first byte */
	uint32_t len;
};

struct rxslot {
	uint16_t seq;
	uint16_t len;
	bool used, end;
};

struct arq {
	struct arq_config cfg;
	struct arq_callbacks cb;
	void *ctx;
	struct arq_stats st;
	uint32_t peer_epoch;      /* 0: unknown */
	uint32_t prev_peer_epoch; /* frames from it are stale */

	/* send queue: message bytes in a ring, addressed by stream position */
	uint8_t sq[ARQ_SENDQ_BYTES];
	struct txmsg msgs[SENDQ_MSGS_MAX];
	size_t msg_head, msg_count;
	size_t seg_msg;           /* message being segmented, counted from head */
	uint64_t write_pos, seg_pos, next_id;

	/* send stream */
	bool tx_synced, tx_used, syn_resend;
	uint8_t syn_xmits;
	uint64_t syn_tx_end_ms;
	uint16_t isn, snd_una, snd_nxt;
	struct txseg seg[ARQ_WINDOW_MAX];
	uint64_t xmit_order, rto_order;
	bool rto_armed;
	uint64_t rto_deadline;
	bool have_rtt;
	uint32_t srtt, rttvar, rto, min_rtt;
	uint64_t link_free_us;    /* pacing: the link is busy until then */
	double loss_n, loss_l, loss_e;
	uint32_t mss;

	/* receive stream */
	bool rx_synced;
	uint16_t rx_isn, rx_next, rx_high; /* rx_high: distance of the highest seen */
	struct rxslot slot[ARQ_WINDOW_MAX];
	uint8_t slotbuf[ARQ_WINDOW_MAX][ARQ_MSS_MAX];
	uint8_t rmsg[ARQ_MSG_MAX];
	size_t rmsg_len;
	bool rmsg_bad;
	bool ack_pending, ack_now;
	uint64_t ack_deadline;
	unsigned ack_segs;
	uint32_t ack_delay;
};

/* ---- small helpers ----------------------------------------------------- */
static uint16_t seq_add(uint16_t s, unsigned n) { return (uint16_t)((s + n) & SEQ_MASK); }
static unsigned seq_dist(uint16_t to, uint16_t from) { return (unsigned)((to - from) & SEQ_MASK); }

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < EPOCH_BYTES; i++)
		p[i] = (uint8_t)((v >> (BYTE_BITS * i)) & BYTE_MASK);
}
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & BYTE_MASK);
	p[1] = (uint8_t)(v >> BYTE_BITS);
}
static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < EPOCH_BYTES; i++)
		v |= (uint32_t)p[i] << (BYTE_BITS * i);
	return v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << BYTE_BITS)); }

static bool bit_at(const uint8_t *bm, size_t i)
{
	return (((unsigned)bm[i / BYTE_BITS] >> (i % BYTE_BITS)) & 1u) != 0;
}

static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static struct txmsg *msg_at(struct arq *a, size_t i)
{
	return &a->msgs[(a->msg_head + i) % SENDQ_MSGS_MAX];
}
static struct txseg *seg_of(struct arq *a, uint16_t seq) { return &a->seg[seq % ARQ_WINDOW_MAX]; }
static unsigned inflight(const struct arq *a) { return seq_dist(a->snd_nxt, a->snd_una); }

/* Bytes a frame of len content bytes occupies on air. */
static uint64_t wire_bytes(const struct arq *a, size_t len)
{
	/* cfg.frame_overhead plus COBS's extra code byte per 254: conservative
	 * by < 0.4% on links without COBS, never too fast on links with it. */
	return (uint64_t)len + a->cfg.frame_overhead + len / COBS_BLOCK;
}
static uint64_t airtime_us(const struct arq *a, size_t len)
{
	uint64_t bits = wire_bytes(a, len) * BYTE_BITS;
	return (bits * S_MS * MS_US + a->cfg.rate_bps - 1u) / a->cfg.rate_bps;
}
static uint64_t airtime_ms(const struct arq *a, size_t len)
{
	return (airtime_us(a, len) + MS_US - 1u) / MS_US;
}

/* Books airtime for a frame leaving at now; returns when it has left. */
static uint64_t pace(struct arq *a, uint64_t now_ms, size_t len)
{
	uint64_t start = max64(now_ms * MS_US, a->link_free_us);
	a->link_free_us = start + airtime_us(a, len);
	a->st.frames_out++;
	a->st.bytes_out += len;
	return (a->link_free_us + MS_US - 1u) / MS_US;
}

static uint32_t rto_initial(const struct arq *a)
{
	uint64_t r = RTO_INIT_RTTS * (uint64_t)a->cfg.rtt_ms;
	return (uint32_t)min64(max64(r, RTO_MIN_MS), RTO_MAX_MS);
}
static uint32_t rto_base(const struct arq *a)
{
	if (!a->have_rtt)
		return rto_initial(a);
	/* RFC 6298 (2.3) plus the peer's largest ACK delay, as RFC 9002's PTO
	 * does: samples come mostly from ACKs sent at once, yet the ACK for the
	 * oldest segment may legitimately be held ACK_DELAY_MAX_MS */
	uint64_t var = 4u * (uint64_t)a->rttvar;
	uint64_t r = (uint64_t)a->srtt + (var > 1u ? var : 1u) + ACK_DELAY_MAX_MS;
	return (uint32_t)min64(max64(r, RTO_MIN_MS), RTO_MAX_MS);
}

/* RFC 6298 section 2: one RTT measurement r (ms). */
static void rtt_sample(struct arq *a, uint64_t r64)
{
	uint32_t r = (uint32_t)min64(r64, RTT_MAX_MS);
	if (!a->have_rtt) {
		a->srtt = r;
		a->rttvar = r / 2u;
		a->have_rtt = true;
		a->min_rtt = r;
	} else {
		uint32_t d = a->srtt > r ? a->srtt - r : r - a->srtt;
		a->rttvar = (3u * a->rttvar + d) / 4u;
		a->srtt = (7u * a->srtt + r) / 8u;
		if (r < a->min_rtt)
			a->min_rtt = r;
	}
	a->rto = rto_base(a);
}

/* Payload bytes per DATA frame that maximise goodput for the current loss
 * estimate (see PROTOCOL.md 2.6). */
static void mss_choose(struct arq *a)
{
	if (a->cfg.mss) {
		a->mss = a->cfg.mss;
		return;
	}
	double h = (double)(DATA_HDR_BYTES + a->cfg.frame_overhead);
	double p = a->loss_l / a->loss_n;
	if (p > LOSS_P_MAX)
		p = LOSS_P_MAX;
	double w = a->loss_e / a->loss_n;
	double q = -log1p(-p) / w;
	double best = (double)ARQ_MSS_MAX;
	if (q > LOSS_Q_MIN)
		best = (-h + sqrt(h * h + 4.0 * h / q)) / 2.0;
	/* airtime cap, so one frame never holds the link for long */
	double cap = (double)a->cfg.rate_bps / BYTE_BITS * FRAME_AIRTIME_MAX_MS / S_MS - h;
	if (best > cap)
		best = cap;
	if (best > (double)ARQ_MSS_MAX)
		best = (double)ARQ_MSS_MAX;
	if (best < (double)ARQ_MSS_MIN)
		best = (double)ARQ_MSS_MIN;
	a->mss = (uint32_t)best;
}

static void loss_outcome(struct arq *a, size_t wire, bool lost)
{
	double keep = 1.0 - 1.0 / LOSS_DECAY;
	a->loss_n = a->loss_n * keep + 1.0;
	a->loss_l = a->loss_l * keep + (lost ? 1.0 : 0.0);
	a->loss_e = a->loss_e * keep + (double)wire;
	mss_choose(a);
}

static void loss_prior(struct arq *a)
{
	/* a prior of LOSS_PRIOR_Q per byte, as if seen on frames of the size it
	 * itself recommends; a clean link grows the segments from there */
	double h = (double)(DATA_HDR_BYTES + a->cfg.frame_overhead);
	double w = (-h + sqrt(h * h + 4.0 * h / LOSS_PRIOR_Q)) / 2.0 + h;
	a->loss_n = LOSS_PRIOR_FRAMES;
	a->loss_e = LOSS_PRIOR_FRAMES * w;
	a->loss_l = LOSS_PRIOR_FRAMES * -expm1(-LOSS_PRIOR_Q * w);
	mss_choose(a);
}

/* Segments allowed in flight: WINDOW_BDP_FACTOR x rate x effective RTT
 * (RTT + data airtime + worst ACK delay), in frames of the current size. */
static unsigned window_segs(const struct arq *a)
{
	uint64_t frame = DATA_HDR_BYTES + a->mss;
	uint64_t rtt = a->cfg.rtt_ms;
	if (a->have_rtt && a->srtt > rtt)
		rtt = a->srtt;
	uint64_t eff = rtt + airtime_ms(a, frame) + ACK_DELAY_MAX_MS;
	uint64_t bytes = (uint64_t)a->cfg.rate_bps * eff * WINDOW_BDP_FACTOR / (BYTE_BITS * S_MS);
	uint64_t w = (bytes + wire_bytes(a, frame) - 1u) / wire_bytes(a, frame);
	return (unsigned)min64(max64(w, WINDOW_MIN), ARQ_WINDOW_MAX);
}

/* ---- lifecycle --------------------------------------------------------- */
size_t arq_size(void)
{
	return sizeof(struct arq);
}

int arq_init(struct arq *a, const struct arq_config *cfg,
	     const struct arq_callbacks *cb, void *ctx, uint64_t now_ms)
{
	if (!a || !cfg)
		return ERR_INVAL;
	if (cfg->rate_bps == 0 || cfg->epoch == 0 || cfg->rtt_ms > RTT_MAX_MS ||
	    cfg->frame_overhead > OVERHEAD_MAX ||
	    (cfg->mss != 0 && (cfg->mss < ARQ_MSS_MIN || cfg->mss > ARQ_MSS_MAX)))
		return ERR_CONFIG;
	memset(a, 0, sizeof *a);
	a->cfg = *cfg;
	if (cb)
		a->cb = *cb;
	a->ctx = ctx;
	a->next_id = 1;
	/* the first stream's ISN comes from the epoch (random per incarnation) */
	a->isn = (uint16_t)((cfg->epoch ^ (cfg->epoch >> (2u * BYTE_BITS))) & SEQ_MASK);
	a->snd_una = a->snd_nxt = a->isn;
	a->rto = rto_initial(a);
	a->link_free_us = now_ms * MS_US;
	a->ack_delay = ACK_DELAY_MS;
	loss_prior(a);
	return 0;
}

/* ---- resynchronisation ------------------------------------------------- */
static void rx_clear(struct arq *a)
{
	a->rx_synced = false;
	for (unsigned i = 0; i < ARQ_WINDOW_MAX; i++)
		a->slot[i].used = false;
	a->rmsg_len = 0;
	a->rmsg_bad = false;
	a->rx_high = 0;
	a->ack_pending = a->ack_now = false;
	a->ack_segs = 0;
}

/* Forgets the send stream; un-acknowledged messages go again whole, on a
 * new stream opened by a new SYN when there is something to send. */
static void tx_requeue(struct arq *a)
{
	if (a->tx_used) {
		/* new ISN well clear of every number of the old stream, so stray
		 * frames of it are stale, and never equal to the old ISN, so the
		 * peer cannot take the new SYN for a duplicate */
		uint16_t isn = seq_add(a->snd_nxt, ARQ_WINDOW_MAX);
		if (isn == a->isn)
			isn = seq_add(isn, ARQ_WINDOW_MAX);
		a->isn = isn;
	}
	a->snd_una = a->snd_nxt = a->isn;
	memset(a->seg, 0, sizeof a->seg);
	a->seg_pos = a->msg_count ? msg_at(a, 0)->start : a->write_pos;
	a->seg_msg = 0;
	a->tx_synced = false;
	a->syn_xmits = 0;
	a->syn_resend = false;
	a->rto_armed = false;
	a->rto = rto_base(a);
}

static void resync(struct arq *a, enum arq_reset_reason why)
{
	tx_requeue(a);
	a->st.resets++;
	if (a->cb.reset)
		a->cb.reset(a->ctx, why);
}

static void peer_restarted(struct arq *a, uint32_t epoch)
{
	a->prev_peer_epoch = a->peer_epoch;
	a->peer_epoch = epoch;
	rx_clear(a);
	resync(a, ARQ_RESET_PEER_RESTARTED);
}

/* Checks the sender epoch of a SYN or ACK.  Returns true if the rest of
 * the frame should be processed. */
static bool epoch_check(struct arq *a, uint32_t epoch, bool *restarted)
{
	*restarted = false;
	if (epoch == a->peer_epoch)
		return true;
	if (a->prev_peer_epoch != 0 && epoch == a->prev_peer_epoch)
		return false;          /* a straggler from a dead incarnation */
	if (a->peer_epoch == 0) {
		a->peer_epoch = epoch; /* first contact */
		return true;
	}
	peer_restarted(a, epoch);
	*restarted = true;
	return true;
}

/* ---- sending ----------------------------------------------------------- */
int arq_send(struct arq *a, const uint8_t *msg, size_t len, uint64_t *msg_id)
{
	if (!a || !msg || len == 0)
		return ERR_INVAL;
	if (len > ARQ_MSG_MAX)
		return ERR_TOOBIG;
	uint64_t head = a->msg_count ? msg_at(a, 0)->start : a->write_pos;
	if (a->msg_count >= SENDQ_MSGS_MAX || a->write_pos - head + len > ARQ_SENDQ_BYTES)
		return ERR_FULL;
	size_t at = (size_t)(a->write_pos % ARQ_SENDQ_BYTES);
	size_t first = len < ARQ_SENDQ_BYTES - at ? len : ARQ_SENDQ_BYTES - at;
	memcpy(a->sq + at, msg, first);
	memcpy(a->sq, msg + first, len - first);
	struct txmsg *m = msg_at(a, a->msg_count);
	m->id = a->next_id++;
	m->start = a->write_pos;
	m->len = (uint32_t)len;
	a->msg_count++;
	a->write_pos += len;
	a->st.msgs_sent++;
	if (msg_id)
		*msg_id = m->id;
	return 0;
}

static bool want_syn(const struct arq *a)
{
	return !a->tx_synced && a->msg_count > 0 && (a->syn_xmits == 0 || a->syn_resend);
}
static bool want_new_data(const struct arq *a)
{
	return a->tx_synced && a->seg_pos < a->write_pos && inflight(a) < window_segs(a);
}
static bool any_lost(const struct arq *a)
{
	if (!a->tx_synced)
		return false;
	for (uint16_t s = a->snd_una; s != a->snd_nxt; s = seq_add(s, 1)) {
		const struct txseg *g = &a->seg[s % ARQ_WINDOW_MAX];
		if (g->lost && !g->sacked)
			return true;
	}
	return false;
}

static void arm_rto(struct arq *a, uint64_t from_ms)
{
	if (!a->rto_armed) {
		a->rto_armed = true;
		a->rto_deadline = from_ms + a->rto;
	}
}

/* Runs an expired retransmission timer: back off, and mark the one probe. */
static void fire_timers(struct arq *a, uint64_t now_ms)
{
	if (!a->rto_armed || now_ms < a->rto_deadline)
		return;
	a->rto_armed = false;
	a->st.timeouts++;
	a->rto = a->rto * RTO_BACKOFF > RTO_MAX_MS ? RTO_MAX_MS : a->rto * RTO_BACKOFF;
	a->rto_order = a->xmit_order; /* losses up to here are not link errors */
	if (!a->tx_synced) {
		if (a->msg_count > 0)
			a->syn_resend = true;
	} else if (a->snd_una != a->snd_nxt) {
		seg_of(a, a->snd_una)->lost = true;
	}
}

static size_t build_ack(struct arq *a, uint8_t *out)
{
	out[0] = frame_header(TYPE_ACK);
	put32(out + 1, a->cfg.epoch);
	put32(out + 1 + EPOCH_BYTES, a->rx_synced ? a->peer_epoch : 0u);
	put16(out + 1 + 2u * EPOCH_BYTES, a->rx_synced ? a->rx_next : 0u);
	size_t n = 0;
	if (a->rx_synced) {
		uint8_t *bm = out + ACK_FIXED_BYTES;
		memset(bm, 0, SACK_BYTES_MAX);
		for (unsigned i = 0; i + 1u < ARQ_WINDOW_MAX; i++) {
			uint16_t s = seq_add(a->rx_next, i + 1u);
			const struct rxslot *sl = &a->slot[s % ARQ_WINDOW_MAX];
			if (sl->used && sl->seq == s) {
				bm[i / BYTE_BITS] |= (uint8_t)(1u << (i % BYTE_BITS));
				n = i / BYTE_BITS + 1u;
			}
		}
	}
	a->ack_pending = a->ack_now = false;
	a->ack_segs = 0;
	a->st.acks_out++;
	return ACK_FIXED_BYTES + n;
}

static size_t build_data(struct arq *a, uint16_t seq, const struct txseg *g, uint8_t *out)
{
	uint8_t type = (uint8_t)(TYPE_DATA | (g->end ? TYPE_DATA_END : 0u) |
				 ((seq >> BYTE_BITS) & TYPE_DATA_SEQHI));
	out[0] = frame_header(type);
	out[1] = (uint8_t)(seq & BYTE_MASK);
	size_t at = (size_t)(g->pos % ARQ_SENDQ_BYTES);
	size_t first = g->len < ARQ_SENDQ_BYTES - at ? g->len : ARQ_SENDQ_BYTES - at;
	memcpy(out + DATA_HDR_BYTES, a->sq + at, first);
	memcpy(out + DATA_HDR_BYTES + first, a->sq, g->len - first);
	a->st.data_out++;
	return DATA_HDR_BYTES + g->len;
}

static void sent_data(struct arq *a, struct txseg *g, uint64_t now_ms, size_t len)
{
	g->order = ++a->xmit_order;
	g->tx_end_ms = pace(a, now_ms, len);
	if (g->xmits < XMITS_MAX)
		g->xmits++;
	g->lost = false;
	/* the timer watches the oldest segment's latest send: a fast
	 * retransmission of it must not be cut short by the old deadline */
	if (g == seg_of(a, a->snd_una))
		a->rto_armed = false;
	arm_rto(a, g->tx_end_ms);
}

ssize_t arq_output(struct arq *a, uint64_t now_ms, uint8_t *out, size_t cap)
{
	if (!a || !out || cap < FRAME_CONTENT_MAX)
		return ERR_FULL;
	fire_timers(a, now_ms);
	if (now_ms * MS_US < a->link_free_us)
		return 0;
	/* 1. an ACK that is due */
	if (a->ack_pending && (a->ack_now || now_ms >= a->ack_deadline)) {
		size_t n = build_ack(a, out);
		pace(a, now_ms, n);
		return (ssize_t)n;
	}
	/* 2. a SYN opening the send stream */
	if (want_syn(a)) {
		out[0] = frame_header(TYPE_SYN);
		put32(out + 1, a->cfg.epoch);
		put16(out + 1 + EPOCH_BYTES, a->isn);
		if (a->syn_xmits < XMITS_MAX)
			a->syn_xmits++;
		if (a->syn_resend)
			a->st.retransmits++;
		a->syn_resend = false;
		a->tx_used = true;
		a->syn_tx_end_ms = pace(a, now_ms, SYN_BYTES);
		arm_rto(a, a->syn_tx_end_ms);
		return SYN_BYTES;
	}
	if (!a->tx_synced)
		return 0;
	/* 3. retransmissions, oldest first, before any new data */
	for (uint16_t s = a->snd_una; s != a->snd_nxt; s = seq_add(s, 1)) {
		struct txseg *g = seg_of(a, s);
		if (g->lost && !g->sacked) {
			size_t n = build_data(a, s, g, out);
			a->st.retransmits++;
			sent_data(a, g, now_ms, n);
			return (ssize_t)n;
		}
	}
	/* 4. new data, within the window */
	if (!want_new_data(a))
		return 0;
	const struct txmsg *m = msg_at(a, a->seg_msg);
	uint64_t rem = m->start + m->len - a->seg_pos;
	uint64_t nseg = (rem + a->mss - 1u) / a->mss;
	uint64_t len = (rem + nseg - 1u) / nseg;  /* even split: no runt tail */
	struct txseg *g = seg_of(a, a->snd_nxt);
	memset(g, 0, sizeof *g);
	g->pos = a->seg_pos;
	g->len = (uint16_t)len;
	g->end = len == rem;
	uint16_t s = a->snd_nxt;
	a->snd_nxt = seq_add(a->snd_nxt, 1);
	a->seg_pos += len;
	if (g->end)
		a->seg_msg++;
	size_t n = build_data(a, s, g, out);
	sent_data(a, g, now_ms, n);
	return (ssize_t)n;
}

uint64_t arq_next_wakeup(const struct arq *a, uint64_t now_ms)
{
	uint64_t t = ARQ_NO_WAKEUP;
	if (a->ack_pending)
		t = a->ack_now ? now_ms : a->ack_deadline;
	if (want_syn(a) || any_lost(a) || want_new_data(a))
		t = now_ms;
	if (a->rto_armed)
		t = min64(t, a->rto_deadline);
	if (t == ARQ_NO_WAKEUP)
		return t;
	t = max64(t, (a->link_free_us + MS_US - 1u) / MS_US);
	return max64(t, now_ms);
}

void arq_link_up(struct arq *a, uint64_t now_ms)
{
	if (!a->rto_armed)
		return;
	a->rto = rto_base(a);
	a->rto_deadline = now_ms;
}

/* ---- receiving --------------------------------------------------------- */
static void ack_soon(struct arq *a, uint64_t now_ms)
{
	if (!a->ack_pending) {
		a->ack_pending = true;
		a->ack_deadline = now_ms + a->ack_delay;
	}
}
static void ack_at_once(struct arq *a)
{
	a->ack_pending = true;
	a->ack_now = true;
}

static int input_syn(struct arq *a, const uint8_t *p, size_t len)
{
	if (len != SYN_BYTES)
		return ERR_INVAL;
	uint32_t epoch = get32(p + 1);
	uint16_t isn = get16(p + 1 + EPOCH_BYTES);
	if (epoch == 0 || isn > SEQ_MASK)
		return ERR_INVAL;
	bool restarted;
	if (!epoch_check(a, epoch, &restarted))
		return 0;
	if (!(a->rx_synced && a->rx_isn == isn)) {
		/* a new stream from the peer: whatever was partial is dropped, the
		 * peer sends un-acknowledged messages again whole */
		rx_clear(a);
		a->rx_synced = true;
		a->rx_isn = a->rx_next = isn;
	}
	ack_at_once(a);
	return 0;
}

/* Processes cum/SACK of an ACK on a synced send stream. */
static int ack_stream(struct arq *a, uint16_t cum, const uint8_t *sack, size_t sl, uint64_t now_ms)
{
	unsigned fl = inflight(a);
	unsigned adv = seq_dist(cum, a->snd_una);
	if (adv >= SEQ_HALF)
		return 0;                       /* older than what we know: stale */
	if (adv > fl)
		return ERR_WINDOW;              /* acknowledges what was never sent */
	for (size_t i = 0; i < sl * BYTE_BITS; i++)
		if (bit_at(sack, i))
			if (adv + 1u + i >= fl)
				return ERR_WINDOW;
	/* validated: now change state */
	uint64_t rack = 0, sample = 0;
	bool have_sample = false;
	uint64_t best_order = 0;
	bool progress = false;
	size_t over = a->cfg.frame_overhead + DATA_HDR_BYTES;
	for (unsigned i = 0; i < adv + 1u + sl * BYTE_BITS && i < fl; i++) {
		uint16_t s = seq_add(a->snd_una, i);
		struct txseg *g = seg_of(a, s);
		bool acked;
		if (i < adv)
			acked = true;
		else if (i == adv)
			continue;               /* cum itself is still missing */
		else {
			size_t b = i - adv - 1u;
			acked = bit_at(sack, b);
		}
		if (!acked || g->sacked)
			continue;
		g->sacked = true;
		progress = true;
		uint64_t since = now_ms > g->tx_end_ms ? now_ms - g->tx_end_ms : 0;
		/* Karn: no samples from retransmitted segments */
		if (g->xmits == 1 && g->order > best_order) {
			best_order = g->order;
			sample = since;
			have_sample = true;
		}
		/* an ACK too early for the retransmission acknowledges an earlier
		 * send: it says nothing about what was sent since */
		if (!(g->xmits > 1 && a->have_rtt && since < a->min_rtt / 2u))
			rack = max64(rack, g->order);
		loss_outcome(a, over + g->len, false);
	}
	a->snd_una = cum;
	/* RACK: every un-acknowledged segment sent before a newly acknowledged
	 * one is lost (a byte pipe does not reorder) */
	for (uint16_t s = a->snd_una; s != a->snd_nxt; s = seq_add(s, 1)) {
		struct txseg *g = seg_of(a, s);
		if (!g->sacked && !g->lost && g->order < rack) {
			g->lost = true;
			if (g->order > a->rto_order)
				loss_outcome(a, over + g->len, true);
		}
	}
	if (have_sample)
		rtt_sample(a, sample);
	/* whole messages now acknowledged */
	uint64_t acked_pos = a->snd_una != a->snd_nxt ? seg_of(a, a->snd_una)->pos : a->seg_pos;
	while (a->msg_count > 0) {
		struct txmsg m = *msg_at(a, 0);
		if (m.start + m.len > acked_pos)
			break;
		a->msg_head = (a->msg_head + 1u) % SENDQ_MSGS_MAX;
		a->msg_count--;
		a->seg_msg--;
		if (a->cb.acked)
			a->cb.acked(a->ctx, m.id);
	}
	if (a->snd_una == a->snd_nxt) {
		a->rto_armed = false;
	} else if (progress) {
		a->rto_armed = false;
		arm_rto(a, max64(now_ms, seg_of(a, a->snd_una)->tx_end_ms));
	}
	return 0;
}

static int input_ack(struct arq *a, const uint8_t *p, size_t len, uint64_t now_ms)
{
	if (len < ACK_FIXED_BYTES || len > ACK_BYTES_MAX)
		return ERR_INVAL;
	uint32_t epoch = get32(p + 1);
	uint32_t echo = get32(p + 1 + EPOCH_BYTES);
	uint16_t cum = get16(p + 1 + 2u * EPOCH_BYTES);
	const uint8_t *sack = p + ACK_FIXED_BYTES;
	size_t sl = len - ACK_FIXED_BYTES;
	if (epoch == 0 || cum > SEQ_MASK || (sl > 0 && sack[sl - 1u] == 0))
		return ERR_INVAL;           /* SACK bytes are trimmed: canonical */
	if (sl == SACK_BYTES_MAX && bit_at(sack, SACK_BYTES_MAX * BYTE_BITS - 1u))
		return ERR_INVAL;           /* bit 255 would be cum + 256 */
	/* against the send stream, before any state changes */
	if (a->tx_synced && echo == a->cfg.epoch && epoch == a->peer_epoch) {
		unsigned adv = seq_dist(cum, a->snd_una);
		if (adv < SEQ_HALF) {
			if (adv > inflight(a))
				return ERR_WINDOW;
			for (size_t i = 0; i < sl * BYTE_BITS; i++)
				if ((bit_at(sack, i)) &&
				    adv + 1u + i >= inflight(a))
					return ERR_WINDOW;
		}
	}
	a->st.acks_in++;
	bool restarted;
	if (!epoch_check(a, epoch, &restarted) || restarted)
		return 0;
	if (echo == 0) {
		/* the peer holds no stream of ours: it lost state */
		if (a->tx_synced)
			resync(a, ARQ_RESET_PEER_LOST_STATE);
		return 0;
	}
	if (echo != a->cfg.epoch)
		return 0;                   /* addressed to an old incarnation of ours */
	if (!a->tx_synced) {
		if (a->syn_xmits > 0 && cum == a->isn && sl == 0) {
			a->tx_synced = true;
			if (a->syn_xmits == 1)
				rtt_sample(a, now_ms > a->syn_tx_end_ms ? now_ms - a->syn_tx_end_ms : 0);
			a->syn_xmits = 0;
			a->syn_resend = false;
			a->rto_armed = false;
			a->rto = rto_base(a);
		}
		return 0;
	}
	return ack_stream(a, cum, sack, sl, now_ms);
}

static void rx_append(struct arq *a, const uint8_t *p, size_t n, bool end)
{
	if (!a->rmsg_bad) {
		if (a->rmsg_len + n > ARQ_MSG_MAX) {
			a->rmsg_bad = true;     /* hostile: a message over the cap */
			a->st.bad_frames++;
		} else {
			memcpy(a->rmsg + a->rmsg_len, p, n);
			a->rmsg_len += n;
		}
	}
	if (end) {
		bool ok = !a->rmsg_bad;
		size_t l = a->rmsg_len;
		a->rmsg_len = 0;
		a->rmsg_bad = false;
		if (ok) {
			a->st.msgs_delivered++;
			if (a->cb.deliver)
				a->cb.deliver(a->ctx, a->rmsg, l);
		}
	}
}

static int input_data(struct arq *a, const uint8_t *p, size_t len, uint64_t now_ms)
{
	if (len < DATA_HDR_BYTES + 1u)
		return ERR_INVAL;
	if (len - DATA_HDR_BYTES > ARQ_MSS_MAX)
		return ERR_TOOBIG;
	uint8_t type = frame_type(p);
	uint16_t seq = (uint16_t)(((type & TYPE_DATA_SEQHI) << BYTE_BITS) | p[1]);
	bool end = (type & TYPE_DATA_END) != 0;
	const uint8_t *pl = p + DATA_HDR_BYTES;
	size_t n = len - DATA_HDR_BYTES;
	if (!a->rx_synced) {
		ack_at_once(a);             /* echo 0: "I know no stream of yours" */
		return 0;
	}
	unsigned d = seq_dist(seq, a->rx_next);
	if (d >= SEQ_HALF) {
		a->st.dup_segments++;       /* our ACK was lost: say it again */
		ack_at_once(a);
		return 0;
	}
	if (d >= ARQ_WINDOW_MAX)
		return ERR_WINDOW;
	uint64_t at = airtime_ms(a, len);
	a->ack_delay = (uint32_t)min64(max64(ACK_DELAY_MS, ACK_EVERY_SEGS * at), ACK_DELAY_MAX_MS);
	bool hole_before = a->rx_high > 0;
	if (d > 0) {
		struct rxslot *sl = &a->slot[seq % ARQ_WINDOW_MAX];
		if (sl->used && sl->seq == seq) {
			a->st.dup_segments++;
			ack_at_once(a);
			return 0;
		}
		sl->used = true;
		sl->seq = seq;
		sl->len = (uint16_t)n;
		sl->end = end;
		memcpy(a->slotbuf[seq % ARQ_WINDOW_MAX], pl, n);
		if (a->rx_high == 0 || d > a->rx_high + 1u || end) {
			ack_at_once(a);     /* a new hole: tell the sender now */
		} else {
			ack_soon(a, now_ms);
			if (++a->ack_segs >= ACK_EVERY_SEGS)
				ack_at_once(a);
		}
		if (d > a->rx_high)
			a->rx_high = (uint16_t)d;
		return 0;
	}
	rx_append(a, pl, n, end);
	a->rx_next = seq_add(a->rx_next, 1);
	if (a->rx_high > 0)
		a->rx_high--;
	for (;;) {
		struct rxslot *sl = &a->slot[a->rx_next % ARQ_WINDOW_MAX];
		if (!sl->used || sl->seq != a->rx_next)
			break;
		sl->used = false;
		if (sl->end)
			end = true;
		rx_append(a, a->slotbuf[a->rx_next % ARQ_WINDOW_MAX], sl->len, sl->end);
		a->rx_next = seq_add(a->rx_next, 1);
		if (a->rx_high > 0)
			a->rx_high--;
	}
	if (end || hole_before) {
		ack_at_once(a);             /* a message completed, or a hole filled */
	} else {
		ack_soon(a, now_ms);
		if (++a->ack_segs >= ACK_EVERY_SEGS)
			ack_at_once(a);
	}
	return 0;
}

int arq_input(struct arq *a, const uint8_t *content, size_t len, uint64_t now_ms)
{
	if (!a || !content || len == 0)
		return ERR_INVAL;
	a->st.frames_in++;
	a->st.bytes_in += len;
	int rc;
	uint8_t type = frame_type(content);
	if (content[0] != frame_header(type))
		rc = ERR_VERSION;
	else if (type == TYPE_SYN)
		rc = input_syn(a, content, len);
	else if (type == TYPE_ACK)
		rc = input_ack(a, content, len, now_ms);
	else if (type & TYPE_DATA)
		rc = input_data(a, content, len, now_ms);
	else
		rc = ERR_INVAL;
	if (rc < 0)
		a->st.bad_frames++;
	return rc;
}

/* ---- queries ----------------------------------------------------------- */
size_t arq_unacked(const struct arq *a)
{
	return a->msg_count;
}

uint32_t arq_rto_ms(const struct arq *a)
{
	return a->rto;
}

const struct arq_stats *arq_get_stats(const struct arq *a)
{
	return &a->st;
}
