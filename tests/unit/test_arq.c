/*
 * test_arq.c — the selective-repeat ARQ under a simulated satellite link.
 *
 * Two struct arq talk through an in-process channel with a fake clock: per
 * direction a serialiser at a bit rate, a one-way latency, and seeded
 * impairments — whole-frame loss, duplication, reordering, outages — or, in
 * byte mode, the real frame codec (frame_encode + lexer) with bit errors and
 * burst byte loss on the encoded stream, the model of tools/satsim.  No test
 * sleeps; time jumps to the next event.
 *
 * Messages are generated from their index (length and bytes), so the
 * receiver checks every delivery byte for byte and its order.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arq.h"
#include "proto/frame.h"

#define OVERHEAD FRAME_OVERHEAD_SMALL
#define QMAX 4096
#define MSGS_MAX 8192
#define MSG_LEN_MAX 4096
#define OUTAGES_MAX 4

/* ---- PRNG (xorshift64*) ------------------------------------------------ */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static double rnd_unit(uint64_t *s) { return (double)(rnd_next(s) >> 11) / 9007199254740992.0; }

/* ---- messages derived from their index --------------------------------- */
static size_t msg_len(uint32_t idx, size_t maxlen)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)idx << 20) ^ maxlen;
	return 4 + (size_t)(rnd_next(&s) % (maxlen - 3));
}
static void msg_fill(uint32_t idx, uint8_t *buf, size_t len)
{
	uint64_t s = 0xD1B54A32D192ED03ULL ^ idx;
	memcpy(buf, &idx, 4);
	for (size_t i = 4; i < len; i++)
		buf[i] = (uint8_t)rnd_next(&s);
}

/* ---- the simulated link ------------------------------------------------ */
struct pkt {
	uint64_t due;
	size_t len;
	uint8_t *data;
};

struct dir {
	struct pkt q[QMAX];
	size_t n;
	uint64_t busy_us;
	struct frame_lexer lx;
	unsigned burst_left;
	uint64_t wire_bytes;
};

struct side {
	struct arq *a;
	uint32_t epoch;
	/* application as sender */
	uint32_t next_new, n_msgs;     /* next index to queue, how many to send */
	uint32_t requeue[MSGS_MAX];    /* after a local restart: to queue again */
	size_t rq_n, rq_at;
	uint32_t id2idx[2 * MSGS_MAX]; /* msg id of this incarnation -> index */
	bool acked[MSGS_MAX];
	uint64_t acked_at[MSGS_MAX];
	/* application as receiver */
	uint32_t expect;
	unsigned delivered[MSGS_MAX];
	uint64_t bytes_delivered;
	uint64_t first_delivery, bytes_in_window, last_in_window, bytes_by_last, last_by;
	bool order_error, content_error;
	unsigned resets;
	struct sim *sim;
};

struct sim {
	uint64_t now;
	uint32_t rate, latency;
	size_t maxlen;
	uint32_t mss;
	/* frame-level impairments */
	double loss, dup, reorder;
	uint32_t reorder_ms;
	/* byte-level impairments (bytes mode) */
	bool bytes;
	double ber, burst_loss;
	unsigned burst;
	uint64_t out_start[OUTAGES_MAX], out_end[OUTAGES_MAX];
	size_t n_out;
	bool link_up_calls, allow_dups;
	uint64_t rng;
	struct side s[2];
	struct dir d[2];        /* d[i]: frames travelling from side i */
	unsigned spins;
	uint64_t window_end;    /* for efficiency measurement */
	uint64_t t0;
	uint64_t first_after_outage; /* first delivery once the outage ended */
};

static bool in_outage(const struct sim *m, uint64_t t)
{
	for (size_t i = 0; i < m->n_out; i++)
		if (t >= m->out_start[i] && t < m->out_end[i])
			return true;
	return false;
}

static void q_insert(struct dir *d, uint64_t due, const uint8_t *p, size_t len)
{
	CU_ASSERT_FATAL(d->n < QMAX);
	size_t i = d->n;
	while (i > 0 && d->q[i - 1].due > due) {
		d->q[i] = d->q[i - 1];
		i--;
	}
	d->q[i].due = due;
	d->q[i].len = len;
	d->q[i].data = malloc(len ? len : 1);
	memcpy(d->q[i].data, p, len);
	d->n++;
}

/* One frame content leaves side `from` now. */
static void chan_push(struct sim *m, int from, const uint8_t *content, size_t len)
{
	struct dir *d = &m->d[from];
	uint8_t enc[FRAME_ENCODED_MAX];
	size_t wire;
	if (m->bytes) {
		ssize_t n = frame_encode(content, len, 0, enc, sizeof enc);
		CU_ASSERT_FATAL(n > 0);
		wire = (size_t)n;
	} else {
		wire = len + OVERHEAD + len / 254;
	}
	uint64_t start = d->busy_us > m->now * 1000 ? d->busy_us : m->now * 1000;
	d->busy_us = start + (wire * 8 * 1000000 + m->rate - 1) / m->rate;
	d->wire_bytes += wire;
	uint64_t due = (d->busy_us + 999) / 1000 + m->latency;
	if (in_outage(m, m->now))
		return;
	if (m->bytes) {
		uint8_t out[FRAME_ENCODED_MAX];
		size_t k = 0;
		for (size_t i = 0; i < wire; i++) {
			if (d->burst_left > 0) {
				d->burst_left--;
				continue;
			}
			if (m->burst_loss > 0 && rnd_unit(&m->rng) < m->burst_loss / m->burst) {
				d->burst_left = m->burst - 1;
				continue;
			}
			uint8_t b = enc[i];
			for (int bit = 0; bit < 8; bit++)
				if (m->ber > 0 && rnd_unit(&m->rng) < m->ber)
					b ^= (uint8_t)(1u << bit);
			out[k++] = b;
		}
		if (k)
			q_insert(d, due, out, k);
		return;
	}
	if (rnd_unit(&m->rng) < m->loss)
		return;
	if (m->reorder > 0 && rnd_unit(&m->rng) < m->reorder)
		due += 1 + rnd_next(&m->rng) % m->reorder_ms;
	q_insert(d, due, content, len);
	if (m->dup > 0 && rnd_unit(&m->rng) < m->dup)
		q_insert(d, due + rnd_next(&m->rng) % 50, content, len);
}

/* ---- callbacks: the layer above ---------------------------------------- */
static void cb_deliver(void *ctx, const uint8_t *msg, size_t len)
{
	struct side *s = ctx;
	uint32_t idx;
	if (len < 4) {
		s->content_error = true;
		return;
	}
	memcpy(&idx, msg, 4);
	if (idx >= MSGS_MAX) {
		s->content_error = true;
		return;
	}
	static uint8_t want[MSG_LEN_MAX];
	size_t wl = msg_len(idx, s->sim->maxlen);
	msg_fill(idx, want, wl);
	if (wl != len || memcmp(want, msg, len) != 0)
		s->content_error = true;
	if (!s->sim->allow_dups && idx != s->expect)
		s->order_error = true;
	if (idx == s->expect)
		s->expect++;
	if (s->delivered[idx] == 0) {
		s->bytes_delivered += len;
		if (s->first_delivery == 0)
			s->first_delivery = s->sim->now;
		else if (s->sim->now <= s->first_delivery + s->sim->window_end) {
			s->bytes_in_window += len;
			s->last_in_window = s->sim->now;
		}
		if (s->sim->now <= s->sim->t0 + s->sim->window_end) {
			s->bytes_by_last += len;
			s->last_by = s->sim->now;
		}
	}
	s->delivered[idx]++;
	struct sim *m = s->sim;
	if (m->n_out && m->now >= m->out_end[0] && m->first_after_outage == 0)
		m->first_after_outage = m->now;
}
static void cb_acked(void *ctx, uint64_t id)
{
	struct side *s = ctx;
	CU_ASSERT_FATAL(id >= 1 && id < 2 * MSGS_MAX);
	uint32_t idx = s->id2idx[id];
	CU_ASSERT(!s->acked[idx]);
	s->acked[idx] = true;
	s->acked_at[idx] = s->sim->now;
}
static void cb_reset(void *ctx, enum arq_reset_reason why)
{
	struct side *s = ctx;
	s->resets++;
	CU_ASSERT(why == ARQ_RESET_PEER_RESTARTED || why == ARQ_RESET_PEER_LOST_STATE);
}

static void side_init(struct sim *m, int i, uint32_t epoch)
{
	struct side *s = &m->s[i];
	struct arq_config cfg = {
		.rate_bps = m->rate, .rtt_ms = 2 * m->latency, .mss = m->mss,
		.frame_overhead = OVERHEAD, .epoch = epoch,
	};
	struct arq_callbacks cb = { cb_deliver, cb_acked, cb_reset };
	s->epoch = epoch;
	s->sim = m;
	CU_ASSERT_FATAL(arq_init(s->a, &cfg, &cb, s, m->now) == 0);
}

static void sim_init(struct sim *m, uint64_t seed, uint32_t rate, uint32_t latency)
{
	memset(m, 0, sizeof *m);
	m->rng = seed * 2654435761u + 1;
	m->rate = rate;
	m->latency = latency;
	m->maxlen = MSG_LEN_MAX;
	m->now = 1000;
	for (int i = 0; i < 2; i++) {
		m->s[i].a = calloc(1, arq_size());
		CU_ASSERT_FATAL(m->s[i].a != NULL);
		frame_lexer_init(&m->d[i].lx);
	}
}

static void sim_start(struct sim *m)
{
	side_init(m, 0, 0x1000u + (uint32_t)rnd_next(&m->rng) % 1000000u);
	side_init(m, 1, 0x2000000u + (uint32_t)rnd_next(&m->rng) % 1000000u);
}

static void sim_free(struct sim *m)
{
	for (int i = 0; i < 2; i++) {
		free(m->s[i].a);
		for (size_t k = 0; k < m->d[i].n; k++)
			free(m->d[i].q[k].data);
	}
}

/* The application queues what it has, as far as the ARQ takes it. */
static void feed(struct side *s)
{
	static uint8_t buf[MSG_LEN_MAX];
	for (;;) {
		uint32_t idx;
		if (s->rq_at < s->rq_n)
			idx = s->requeue[s->rq_at];
		else if (s->next_new < s->n_msgs)
			idx = s->next_new;
		else
			return;
		size_t len = msg_len(idx, s->sim->maxlen);
		msg_fill(idx, buf, len);
		uint64_t id;
		int rc = arq_send(s->a, buf, len, &id);
		if (rc == ERR_FULL)
			return;
		CU_ASSERT_FATAL(rc == 0);
		CU_ASSERT_FATAL(id < 2 * MSGS_MAX);
		s->id2idx[id] = idx;
		if (s->rq_at < s->rq_n)
			s->rq_at++;
		else
			s->next_new++;
	}
}

/* A local restart: the application re-queues what was not acknowledged. */
static void side_restart(struct sim *m, int i, uint32_t epoch)
{
	struct side *s = &m->s[i];
	s->rq_n = s->rq_at = 0;
	for (uint32_t k = 0; k < s->next_new; k++)
		if (!s->acked[k])
			s->requeue[s->rq_n++] = k;
	side_init(m, i, epoch);
	memset(s->id2idx, 0, sizeof s->id2idx);
}

static void deliver_due(struct sim *m)
{
	for (int from = 0; from < 2; from++) {
		struct dir *d = &m->d[from];
		struct side *to = &m->s[1 - from];
		while (d->n > 0 && d->q[0].due <= m->now) {
			struct pkt p = d->q[0];
			memmove(d->q, d->q + 1, (d->n - 1) * sizeof d->q[0]);
			d->n--;
			if (m->bytes) {
				const uint8_t *in = p.data;
				size_t len = p.len;
				const uint8_t *c;
				size_t cl;
				for (;;) {
					int rc = frame_lexer_next(&d->lx, &in, &len, &c, &cl);
					if (rc == 0)
						break;
					if (rc == 1)
						(void)arq_input(to->a, c, cl, m->now);
				}
			} else {
				(void)arq_input(to->a, p.data, p.len, m->now);
			}
			free(p.data);
		}
	}
}

static bool side_done(const struct side *s)
{
	return s->next_new >= s->n_msgs && s->rq_at >= s->rq_n && arq_unacked(s->a) == 0;
}

/* Runs until both directions are done and quiet, or until `until`. */
static void sim_run(struct sim *m, uint64_t until, bool stop_when_done)
{
	uint8_t out[FRAME_CONTENT_MAX];
	bool was_out = false;
	while (m->now <= until) {
		bool o = in_outage(m, m->now);
		if (was_out && !o && m->link_up_calls) {
			arq_link_up(m->s[0].a, m->now);
			arq_link_up(m->s[1].a, m->now);
		}
		was_out = o;
		deliver_due(m);
		for (int i = 0; i < 2; i++) {
			feed(&m->s[i]);
			for (;;) {
				ssize_t n = arq_output(m->s[i].a, m->now, out, sizeof out);
				CU_ASSERT_FATAL(n >= 0);
				if (n == 0)
					break;
				chan_push(m, i, out, (size_t)n);
			}
		}
		if (stop_when_done && side_done(&m->s[0]) && side_done(&m->s[1]) &&
		    m->d[0].n == 0 && m->d[1].n == 0)
			return;
		uint64_t t = UINT64_MAX;
		for (int i = 0; i < 2; i++) {
			uint64_t w = arq_next_wakeup(m->s[i].a, m->now);
			if (w < t)
				t = w;
			if (m->d[i].n && m->d[i].q[0].due < t)
				t = m->d[i].q[0].due;
		}
		for (size_t k = 0; k < m->n_out; k++)
			if (m->out_end[k] > m->now && m->out_end[k] < t)
				t = m->out_end[k];
		if (t == UINT64_MAX)
			return;               /* everything idle */
		if (t <= m->now) {
			m->spins++;           /* wakeup said "now" but output had nothing */
			t = m->now + 1;
		}
		m->now = t;
	}
}

/* Checks that side `to` received all of side `from`'s messages in order. */
static void check_exact(struct sim *m, int from)
{
	struct side *snd = &m->s[from], *rcv = &m->s[1 - from];
	CU_ASSERT(!rcv->content_error);
	CU_ASSERT(!rcv->order_error);
	CU_ASSERT_EQUAL(rcv->expect, snd->n_msgs);
	for (uint32_t k = 0; k < snd->n_msgs; k++) {
		CU_ASSERT_EQUAL(rcv->delivered[k], 1);
		CU_ASSERT(snd->acked[k]);
	}
	CU_ASSERT_EQUAL(arq_unacked(snd->a), 0);
}

/* Messages so that side 0 sends `total` bytes. */
static uint32_t msgs_for(size_t total, size_t maxlen)
{
	size_t sum = 0;
	uint32_t n = 0;
	while (sum < total) {
		CU_ASSERT_FATAL(n < MSGS_MAX);
		sum += msg_len(n++, maxlen);
	}
	return n;
}
static uint64_t bytes_of(uint32_t n, size_t maxlen)
{
	uint64_t sum = 0;
	for (uint32_t k = 0; k < n; k++)
		sum += msg_len(k, maxlen);
	return sum;
}

#define MIB (1024u * 1024u)

static void test_mib_at_20pct_loss(void)
{
	static struct sim m;
	sim_init(&m, 1, 64000, 750);
	m.loss = 0.20;
	m.s[0].n_msgs = msgs_for(MIB, m.maxlen);
	m.s[1].n_msgs = 40;           /* a little traffic the other way too */
	sim_start(&m);
	sim_run(&m, 3600u * 1000u, true);
	CU_ASSERT(bytes_of(m.s[0].n_msgs, m.maxlen) >= MIB);
	CU_ASSERT_EQUAL(m.s[1].bytes_delivered, bytes_of(m.s[0].n_msgs, m.maxlen));
	check_exact(&m, 0);
	check_exact(&m, 1);
	CU_ASSERT_EQUAL(m.spins, 0);
	const struct arq_stats *st = arq_get_stats(m.s[0].a);
	CU_ASSERT(st->retransmits > 0);
	printf("\n    1 MiB at 20%% loss: %.0f s simulated, %llu data frames, %llu retransmitted ",
	       (double)m.now / 1000.0, (unsigned long long)st->data_out,
	       (unsigned long long)st->retransmits);
	sim_free(&m);
}

static void test_dup_and_reorder(void)
{
	static struct sim m;
	sim_init(&m, 2, 64000, 750);
	m.loss = 0.05;
	m.dup = 0.10;
	m.reorder = 0.10;
	m.reorder_ms = 400;
	m.mss = 512;
	m.s[0].n_msgs = msgs_for(256u * 1024u, m.maxlen);
	m.s[1].n_msgs = msgs_for(64u * 1024u, m.maxlen);
	sim_start(&m);
	sim_run(&m, 3600u * 1000u, true);
	check_exact(&m, 0);
	check_exact(&m, 1);
	CU_ASSERT(arq_get_stats(m.s[1].a)->dup_segments > 0);
	CU_ASSERT_EQUAL(m.spins, 0);
	sim_free(&m);
}

static void outage_run(uint64_t dur_ms, bool link_up, uint64_t seed)
{
	static struct sim m;
	sim_init(&m, seed, 64000, 750);
	m.loss = 0.02;
	m.out_start[0] = 20000;
	m.out_end[0] = 20000 + dur_ms;
	m.n_out = 1;
	m.link_up_calls = link_up;
	m.s[0].n_msgs = msgs_for(512u * 1024u, m.maxlen);
	m.s[1].n_msgs = 20;
	sim_start(&m);
	sim_run(&m, 20000 + dur_ms + 3600u * 1000u, true);
	check_exact(&m, 0);
	check_exact(&m, 1);
	CU_ASSERT(arq_get_stats(m.s[0].a)->timeouts > 0);
	CU_ASSERT(m.now > m.out_end[0]);
	CU_ASSERT_EQUAL(m.spins, 0);
	/* recovery time after the link came back */
	uint64_t back = m.first_after_outage - m.out_end[0];
	printf("\n    outage %llu s%s: first delivery %.1f s after it ended, all done %.1f s after ",
	       (unsigned long long)(dur_ms / 1000), link_up ? " (link_up)" : "",
	       (double)back / 1000.0, (double)(m.now - m.out_end[0]) / 1000.0);
	/* the backed-off timer is capped at 64 s; arq_link_up probes at once */
	CU_ASSERT(m.first_after_outage > m.out_end[0]);
	CU_ASSERT(back <= (link_up ? 5000u : 64000u + 5000u));
	sim_free(&m);
}
static void test_outage_60s(void) { outage_run(60000, false, 3); }
static void test_outage_1h(void)
{
	outage_run(3600u * 1000u, false, 4);
	outage_run(3600u * 1000u, true, 5);
}

static void test_idle_day(void)
{
	static struct sim m;
	sim_init(&m, 6, 2400, 750);
	m.s[0].n_msgs = 10;
	m.s[1].n_msgs = 3;
	sim_start(&m);
	sim_run(&m, 3600u * 1000u, false);   /* runs until nothing is scheduled */
	check_exact(&m, 0);
	check_exact(&m, 1);
	uint64_t out0 = arq_get_stats(m.s[0].a)->frames_out;
	uint64_t out1 = arq_get_stats(m.s[1].a)->frames_out;
	uint8_t buf[FRAME_CONTENT_MAX];
	uint64_t t0 = m.now;
	for (uint64_t t = t0; t < t0 + 86400u * 1000u; t += 7919) {
		for (int i = 0; i < 2; i++) {
			CU_ASSERT_EQUAL(arq_next_wakeup(m.s[i].a, t), ARQ_NO_WAKEUP);
			CU_ASSERT_EQUAL(arq_output(m.s[i].a, t, buf, sizeof buf), 0);
		}
	}
	CU_ASSERT_EQUAL(arq_get_stats(m.s[0].a)->frames_out, out0);
	CU_ASSERT_EQUAL(arq_get_stats(m.s[1].a)->frames_out, out1);
	/* and a message after a day of silence still goes at once */
	uint64_t id;
	CU_ASSERT_EQUAL(arq_send(m.s[0].a, (const uint8_t *)"hi", 2, &id), 0);
	uint64_t t1 = t0 + 86400u * 1000u;
	CU_ASSERT_EQUAL(arq_next_wakeup(m.s[0].a, t1), t1);
	CU_ASSERT(arq_output(m.s[0].a, t1, buf, sizeof buf) > 0);
	sim_free(&m);
}

/* Restart side `who` mid-transfer (both sides send). */
static void restart_run(int who, uint64_t seed)
{
	static struct sim m;
	sim_init(&m, seed, 9600, 750);
	m.loss = 0.05;
	m.allow_dups = true;
	m.mss = 256;
	m.s[0].n_msgs = msgs_for(96u * 1024u, m.maxlen);
	m.s[1].n_msgs = msgs_for(32u * 1024u, m.maxlen);
	sim_start(&m);
	sim_run(&m, 30000, false);
	uint64_t t_restart = m.now;
	int other = 1 - who;
	CU_ASSERT(m.s[0].next_new > 0 && !side_done(&m.s[0]));
	/* snapshot: what each side had acknowledged before the restart */
	static unsigned before[2][MSGS_MAX];
	for (int i = 0; i < 2; i++)
		memcpy(before[i], m.s[1 - i].delivered, sizeof before[i]);
	side_restart(&m, who, 0x7777000u + (uint32_t)seed);
	sim_run(&m, t_restart + 3600u * 1000u, true);
	CU_ASSERT(m.s[other].resets >= 1);
	for (int i = 0; i < 2; i++) {
		struct side *snd = &m.s[i], *rcv = &m.s[1 - i];
		CU_ASSERT(!rcv->content_error);
		CU_ASSERT(side_done(snd));
		for (uint32_t k = 0; k < snd->n_msgs; k++) {
			CU_ASSERT(rcv->delivered[k] >= 1);   /* every message at least once */
			/* acknowledged before the restart: never sent again */
			if (snd->acked[k] && snd->acked_at[k] <= t_restart)
				CU_ASSERT_EQUAL(rcv->delivered[k], before[i][k]);
		}
	}
	CU_ASSERT_EQUAL(m.spins, 0);
	sim_free(&m);
}
static void test_restart_receiver(void) { restart_run(1, 7); }
static void test_restart_sender(void) { restart_run(0, 8); }

/* ---- RTO: hand-driven with exact times --------------------------------- */
struct rec {
	unsigned acked, delivered;
};
static void r_deliver(void *ctx, const uint8_t *m, size_t l) { ((struct rec *)ctx)->delivered++; (void)m; (void)l; }
static void r_acked(void *ctx, uint64_t id) { ((struct rec *)ctx)->acked++; (void)id; }

/* A and B at 8 Mbit/s (airtime ~0), rtt configured 1000 ms. */
static void pair_init(struct arq *a, struct arq *b, struct rec *ra, struct rec *rb, uint32_t mss)
{
	struct arq_callbacks cb = { r_deliver, r_acked, NULL };
	struct arq_config ca = { 8000000, 1000, mss, OVERHEAD, 0xA0A0A0A0u };
	struct arq_config cbb = { 8000000, 1000, mss, OVERHEAD, 0xB0B0B0B0u };
	CU_ASSERT_FATAL(arq_init(a, &ca, &cb, ra, 1000) == 0);
	CU_ASSERT_FATAL(arq_init(b, &cbb, &cb, rb, 1000) == 0);
}

/* Moves every frame x has to say at t into y; returns how many. */
static int pump(struct arq *x, struct arq *y, uint64_t t)
{
	uint8_t buf[FRAME_CONTENT_MAX];
	int k = 0;
	ssize_t n;
	while ((n = arq_output(x, t, buf, sizeof buf)) > 0) {
		if (y)
			CU_ASSERT(arq_input(y, buf, (size_t)n, t) == 0);
		k++;
	}
	return k;
}

static void test_rto(void)
{
	struct arq *a = calloc(1, arq_size()), *b = calloc(1, arq_size());
	struct rec ra = { 0 }, rb = { 0 };
	pair_init(a, b, &ra, &rb, 0);
	CU_ASSERT_EQUAL(arq_rto_ms(a), 2000);          /* 2 x configured RTT */
	uint64_t id;
	CU_ASSERT_EQUAL(arq_send(a, (const uint8_t *)"one", 3, &id), 0);
	/* SYN leaves at 1000 and has left by 1001; B's ACK reaches A at 2501 */
	CU_ASSERT_EQUAL(pump(a, b, 1000), 1);
	uint8_t ack[FRAME_CONTENT_MAX];
	ssize_t n = arq_output(b, 1001, ack, sizeof ack);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(arq_input(a, ack, (size_t)n, 2501), 0);
	/* first sample R=1500: SRTT=1500, RTTVAR=750,
	 * RTO=1500+4*750 + 1000 (the peer's largest ACK delay) */
	CU_ASSERT_EQUAL(arq_rto_ms(a), 5500);
	/* DATA leaves at 2501 (gone by 2502), ACK back at 3502: R=1000 */
	CU_ASSERT_EQUAL(pump(a, b, 2501), 1);
	n = arq_output(b, 2502, ack, sizeof ack);   /* END: acked at once */
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(arq_input(a, ack, (size_t)n, 3502), 0);
	/* RTTVAR=(3*750+500)/4=687, SRTT=(7*1500+1000)/8=1437,
	 * RTO=1437+4*687+1000 */
	CU_ASSERT_EQUAL(arq_rto_ms(a), 5185);
	CU_ASSERT_EQUAL(ra.acked, 1);
	/* Karn: a retransmitted segment gives no sample, the backoff stays */
	CU_ASSERT_EQUAL(arq_send(a, (const uint8_t *)"two", 3, &id), 0);
	CU_ASSERT_EQUAL(pump(a, NULL, 4000), 1);     /* lost */
	CU_ASSERT_EQUAL(arq_next_wakeup(a, 4001), 4001 + 5185);
	CU_ASSERT_EQUAL(pump(a, NULL, 4001 + 5184), 0);
	CU_ASSERT_EQUAL(pump(a, b, 4001 + 5185), 1);  /* the probe arrives */
	CU_ASSERT_EQUAL(arq_get_stats(a)->timeouts, 1);
	CU_ASSERT_EQUAL(arq_rto_ms(a), 10370);
	n = arq_output(b, 9000, ack, sizeof ack);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(arq_input(a, ack, (size_t)n, 9100), 0);
	CU_ASSERT_EQUAL(ra.acked, 2);
	CU_ASSERT_EQUAL(arq_rto_ms(a), 10370);          /* no sample taken */
	CU_ASSERT_EQUAL(arq_next_wakeup(a, 9100), ARQ_NO_WAKEUP);
	/* backoff doubles up to the 64 s cap */
	CU_ASSERT_EQUAL(arq_send(a, (const uint8_t *)"three", 5, &id), 0);
	uint64_t t = 10000;
	CU_ASSERT_EQUAL(pump(a, NULL, t), 1);
	uint32_t want[] = { 20740, 41480, 64000, 64000, 64000 };
	uint32_t prev = 10370;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint64_t w = arq_next_wakeup(a, t);
		CU_ASSERT_EQUAL(w, t + 1 + prev);        /* frame gone at t+1 */
		t = w;
		CU_ASSERT_EQUAL(pump(a, NULL, t), 1);
		CU_ASSERT_EQUAL(arq_rto_ms(a), want[i]);
		prev = want[i];
	}
	/* the link is back: probe at once, from the un-backed-off RTO */
	arq_link_up(a, t + 5000);
	CU_ASSERT_EQUAL(arq_next_wakeup(a, t + 5000), t + 5000);
	CU_ASSERT_EQUAL(pump(a, NULL, t + 5000), 1);
	CU_ASSERT(arq_rto_ms(a) < 64000);
	free(a);
	free(b);
}

/* ---- malformed frames: negative return, state unchanged ---------------- */
struct snap {
	uint8_t *mem;
	size_t st_off;
};
static void snap_take(struct snap *s, const struct arq *a)
{
	s->mem = malloc(arq_size());
	memcpy(s->mem, a, arq_size());
	s->st_off = (size_t)((const uint8_t *)arq_get_stats(a) - (const uint8_t *)a);
}
/* Equal apart from the statistics counters. */
static bool snap_same(const struct snap *s, const struct arq *a)
{
	const uint8_t *p = (const uint8_t *)a;
	size_t e = s->st_off + sizeof(struct arq_stats);
	return memcmp(s->mem, p, s->st_off) == 0 && memcmp(s->mem + e, p + e, arq_size() - e) == 0;
}

static void expect_bad(struct arq *a, const uint8_t *f, size_t len, int want)
{
	struct snap s;
	snap_take(&s, a);
	uint64_t bad = arq_get_stats(a)->bad_frames;
	int rc = arq_input(a, f, len, 5000);
	CU_ASSERT(rc < 0);
	if (want)
		CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT(snap_same(&s, a));
	CU_ASSERT_EQUAL(arq_get_stats(a)->bad_frames, bad + 1);
	free(s.mem);
}

static void put32le(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void test_malformed(void)
{
	struct arq *a = calloc(1, arq_size()), *b = calloc(1, arq_size());
	struct rec ra = { 0 }, rb = { 0 };
	pair_init(a, b, &ra, &rb, 64);
	/* sync A->B and put 3 segments in flight, the first lost */
	static uint8_t big[200];
	memset(big, 'x', sizeof big);
	uint64_t id;
	CU_ASSERT_EQUAL(arq_send(a, big, sizeof big, &id), 0);
	CU_ASSERT_EQUAL(pump(a, b, 1000), 1);   /* SYN */
	CU_ASSERT_EQUAL(pump(b, a, 1001), 1);   /* its ACK */
	uint8_t f[FRAME_CONTENT_MAX + 8];
	ssize_t n = arq_output(a, 1002, f, sizeof f);     /* first segment: lost */
	CU_ASSERT_FATAL(n > 0);
	uint8_t seq_hi = f[0] & 7, seq_lo = f[1];
	uint16_t seq0 = (uint16_t)(seq_hi << 8 | seq_lo);
	CU_ASSERT(pump(a, b, 1003) >= 1);              /* the rest reach B */
	uint8_t e[FRAME_CONTENT_MAX + 8];

	/* every length of every type that cannot be valid */
	for (unsigned type = 0; type < 32; type++) {
		for (size_t len = 0; len <= 60; len++) {
			bool maybe_ok = (type == 1 && len == 7) || (type == 2 && len >= 11 && len <= 43) ||
					(type >= 16 && len >= 3);
			if (maybe_ok || len == 0)
				continue;
			memset(e, 0x55, sizeof e);
			e[0] = frame_header((uint8_t)type);
			expect_bad(a, e, len, 0);
			expect_bad(b, e, len, 0);
		}
	}
	/* zero length, bad version, oversize DATA */
	CU_ASSERT(arq_input(a, e, 0, 5000) < 0);
	for (unsigned v = 0; v < 8; v++) {
		if (v == FRAME_VERSION)
			continue;
		e[0] = (uint8_t)(v << 5 | 0x10);
		expect_bad(b, e, 20, ERR_VERSION);
	}
	e[0] = frame_header(0x10);
	expect_bad(b, e, 2 + ARQ_MSS_MAX + 1, ERR_TOOBIG);
	/* SYN with epoch 0 or an ISN over 11 bits */
	e[0] = frame_header(1);
	put32le(e + 1, 0);
	e[5] = 1; e[6] = 0;
	expect_bad(b, e, 7, ERR_INVAL);
	put32le(e + 1, 0xA0A0A0A0u);
	e[5] = 0; e[6] = 0x08;
	expect_bad(b, e, 7, ERR_INVAL);
	/* DATA beyond B's window: rx_next + 256 .. + 1023 */
	for (unsigned d = 256; d < 1024; d += 97) {
		uint16_t s = (uint16_t)((seq0 + d) & 2047);
		e[0] = frame_header((uint8_t)(0x10 | (s >> 8)));
		e[1] = (uint8_t)s;
		expect_bad(b, e, 10, ERR_WINDOW);
	}
	/* ACKs: cum beyond what A sent, SACK bits beyond, trailing zero */
	uint8_t k[64];
	k[0] = frame_header(2);
	put32le(k + 1, 0xB0B0B0B0u);
	put32le(k + 5, 0xA0A0A0A0u);
	uint16_t cum = (uint16_t)((seq0 + 5) & 2047);
	k[9] = (uint8_t)cum; k[10] = (uint8_t)(cum >> 8);
	expect_bad(a, k, 11, ERR_WINDOW);
	k[9] = (uint8_t)seq0; k[10] = (uint8_t)(seq0 >> 8);
	k[11] = 0x80;                       /* seq0+8: never sent */
	expect_bad(a, k, 12, ERR_WINDOW);
	k[11] = 0x01; k[12] = 0x00;         /* not trimmed */
	expect_bad(a, k, 13, ERR_INVAL);
	put32le(k + 1, 0);                  /* sender epoch 0 */
	expect_bad(a, k, 11, ERR_INVAL);
	k[9] = 0xff; k[10] = 0xff;          /* cum over 11 bits */
	put32le(k + 1, 0xB0B0B0B0u);
	expect_bad(a, k, 11, ERR_INVAL);
	/* after all that, the transfer still completes */
	for (uint64_t t = 2000; t < 60000 && ra.acked < 1; t += 100) {
		pump(a, b, t);
		pump(b, a, t);
	}
	CU_ASSERT_EQUAL(ra.acked, 1);
	CU_ASSERT_EQUAL(rb.delivered, 1);
	free(a);
	free(b);
}

static void test_api_errors(void)
{
	struct arq *a = calloc(1, arq_size());
	struct arq_config c = { 2400, 1500, 0, OVERHEAD, 0 };
	CU_ASSERT_EQUAL(arq_init(a, &c, NULL, NULL, 0), ERR_CONFIG);   /* epoch 0 */
	c.epoch = 5;
	c.mss = 10;
	CU_ASSERT_EQUAL(arq_init(a, &c, NULL, NULL, 0), ERR_CONFIG);
	c.mss = 0;
	c.rate_bps = 0;
	CU_ASSERT_EQUAL(arq_init(a, &c, NULL, NULL, 0), ERR_CONFIG);
	c.rate_bps = 2400;
	CU_ASSERT_EQUAL(arq_init(a, &c, NULL, NULL, 0), 0);
	static uint8_t m[ARQ_MSG_MAX + 1];
	uint64_t id;
	CU_ASSERT_EQUAL(arq_send(a, m, 0, &id), ERR_INVAL);
	CU_ASSERT_EQUAL(arq_send(a, m, ARQ_MSG_MAX + 1, &id), ERR_TOOBIG);
	CU_ASSERT_EQUAL(arq_send(a, m, ARQ_MSG_MAX, &id), 0);
	CU_ASSERT_EQUAL(arq_send(a, m, ARQ_MSG_MAX, &id), 0);
	CU_ASSERT_EQUAL(arq_send(a, m, 1, &id), ERR_FULL);
	CU_ASSERT_EQUAL(arq_unacked(a), 2);
	uint8_t small[16];
	CU_ASSERT_EQUAL(arq_output(a, 0, small, sizeof small), ERR_FULL);
	free(a);
}

/* ---- efficiency at 2400 bit/s, 1.5 s RTT (the goal) ------------ */
static double efficiency(double ber, double loss, uint64_t seed, uint64_t window_ms, double *from_start)
{
	static struct sim m;
	sim_init(&m, seed, 2400, 750);
	m.bytes = true;
	m.ber = ber;
	m.burst_loss = loss;
	m.burst = 32;
	m.maxlen = 600;            /* fine-grained measurement */
	m.allow_dups = false;
	m.window_end = window_ms;
	m.s[0].n_msgs = MSGS_MAX;  /* more than 60 s can carry */
	sim_start(&m);
	m.t0 = m.now;
	sim_run(&m, m.t0 + 2 * window_ms + 2000, false);
	struct side *r = &m.s[1];
	CU_ASSERT(!r->content_error);
	CU_ASSERT(!r->order_error);
	CU_ASSERT_EQUAL(m.spins, 0);
	/* steady state: bytes of the messages delivered after the first one,
	 * over the time from the first delivery to the last within 60 s */
	double steady = (double)r->bytes_in_window * 8.0 /
			((double)(r->last_in_window - r->first_delivery) / 1000.0) / 2400.0;
	/* from the first arq_send, the SYN exchange and latency included */
	*from_start = (double)r->bytes_by_last * 8.0 /
		      ((double)(r->last_by - m.t0) / 1000.0) / 2400.0;
	const struct arq_stats *st = arq_get_stats(m.s[0].a);
	printf("\n    %llu s, ber=%g loss=%g: goodput/link %.3f steady, %.3f from first send; "
	       "%llu data frames, %llu retransmitted, %llu acks back, %llu timeouts, %llu bytes out ",
	       (unsigned long long)(window_ms / 1000), ber, loss, steady, *from_start, (unsigned long long)st->data_out,
	       (unsigned long long)st->retransmits,
	       (unsigned long long)arq_get_stats(m.s[1].a)->acks_out, (unsigned long long)st->timeouts, (unsigned long long)st->bytes_out);
	sim_free(&m);
	return steady;
}

/*
 * The goal: goodput / link rate >= 0.90 clean and >= 0.80 with BER 1e-5
 * plus 2% of bytes lost in 32-byte bursts.  On the impaired link the
 * ceiling is about 0.84 (PROTOCOL.md 2.6), and one 60 s window holds only
 * ~11 loss bursts per direction, so single windows scatter by several
 * points either way: the assertion is on the mean of ten seeded 60 s
 * windows and on one 600 s window, each printed.
 */
static void test_efficiency(void)
{
	double fs, sum = 0;
	CU_ASSERT(efficiency(0, 0, 11, 60000, &fs) >= 0.90);
	CU_ASSERT(fs >= 0.90);
	const int runs = 10;
	for (int i = 0; i < runs; i++)
		sum += efficiency(1e-5, 0.02, 21 + (uint64_t)i, 60000, &fs);
	printf("\n    mean of %d impaired 60 s windows: %.3f ", runs, sum / runs);
	CU_ASSERT(sum / runs >= 0.80);
	CU_ASSERT(efficiency(1e-5, 0.02, 99, 600000, &fs) >= 0.80);
}

void suite_arq(void);
void suite_arq(void)
{
	CU_pSuite s = CU_add_suite("arq", NULL, NULL);
	CU_add_test(s, "api errors", test_api_errors);
	CU_add_test(s, "rto: samples, karn, backoff, cap", test_rto);
	CU_add_test(s, "malformed frames leave state unchanged", test_malformed);
	CU_add_test(s, "1 MiB at 20% frame loss", test_mib_at_20pct_loss);
	CU_add_test(s, "duplication and reordering", test_dup_and_reorder);
	CU_add_test(s, "60 s outage", test_outage_60s);
	CU_add_test(s, "1 h outage", test_outage_1h);
	CU_add_test(s, "idle for a day", test_idle_day);
	CU_add_test(s, "receiver restarts mid-transfer", test_restart_receiver);
	CU_add_test(s, "sender restarts mid-transfer", test_restart_sender);
	CU_add_test(s, "efficiency at 2400 bit/s, 1.5 s RTT", test_efficiency);
}
