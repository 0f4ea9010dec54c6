/*
 * uplink.c — vesseld's engine: bundles out, receipts and replies in.
 *
 * What it is for: every message a crew member was told "queued" reaches
 * the shore exactly once from the shore's point of view (the shore
 * de-duplicates on (vessel, msg_id)), however often vesseld is killed.
 *
 * Invariants:
 *  - a sequence number is used only below the limit committed to meta
 *    "seq_limit" (seq_reserve -> vstore_meta_set_u64 (a commit) ->
 *    seq_confirm -> seq_take): a crash burns numbers, never reuses one;
 *  - the bundle bytes and the queued -> sent move of its messages commit in
 *    ONE transaction BEFORE the bytes are handed to the channel;
 *  - stored bundles are re-sent as their exact stored bytes, oldest first;
 *  - a queued SOS leaves at once, even past UPLINK_NEW_INFLIGHT_MAX bundles
 *    in flight (up to UPLINK_RESEND_INFLIGHT_MAX);
 *  - one downlink bundle = one transaction (receipts, inbox, window);
 *    the in-memory window accepts its sequence only after the COMMIT;
 *  - each section is compressed on its own: vessel-level records
 *    (HEARTBEAT, COMPLAINT) first, then one section per crew member.
 *
 * Failure behaviour: a store error leaves the messages queued (a sealed
 * number is burned) and is returned; a downlink bundle that does not
 * authenticate or decode is counted, changes nothing and is returned as an
 * error for the caller to log.  A stored message that can no longer be
 * encoded (a bug or a damaged row) is marked failed (REFUSED) so it cannot
 * block the queue.
 */
#include "vessel/uplink.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/wallclock.h"
#include "proto/body.h"
#include "vessel/sched.h"

#define META_SEQ_LIMIT "seq_limit"
#define META_DL_WINDOW "dl_window"

struct track {
	uint64_t channel_id;
	uint64_t seq;
	bool stored;            /* false: heartbeat only */
};

struct uplink {
	struct vstore *st;
	struct uplink_config cfg;
	struct uplink_io io;
	bool has_io;
	struct seq_state seq;
	struct bundle_window dlwin;
	struct sched_state sched;
	bool hb_due;
	bool resending;
	uint64_t resend_from;           /* the next stored seq this pass looks at */
	struct track track[UPLINK_TRACK_MAX];
	size_t ntrack;
	struct uplink_stats stats;
	/* the daemon's wiring (uplink_attach) */
	struct loop *lp;
	struct channel *ch;
	uint64_t hb_ms, hb_timer, retry_timer;
	/* scratch for one build */
	struct vpending pend[UPLINK_PENDING_MAX];
	struct sched_item items[UPLINK_PENDING_MAX];
	size_t pick[UPLINK_PICK_MAX];
	uint64_t ids[UPLINK_PICK_MAX];
	size_t nids;
	int add_err;
	struct compress_work work;
	struct body_writer bw;
	struct body_reader br;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint8_t plain[BUNDLE_BYTES_MAX];
	uint8_t out[BUNDLE_BYTES_MAX];
};

static enum sched_class class_of(enum vmsg_kind k)
{
	switch (k) {
	case VMSG_SOS: return SCHED_SOS;
	case VMSG_COMPLAINT: return SCHED_COMPLAINT;
	case VMSG_CONTACT: return SCHED_CONTROL;
	default: return SCHED_TEXT;
	}
}

int uplink_new(struct uplink **out, struct vstore *st, const struct uplink_config *cfg)
{
	*out = NULL;
	if (!cfg || !cfg->keys || cfg->bundle_max < 64 || cfg->bundle_max > BUNDLE_PLAIN_MAX)
		return ERR_INVAL;
	struct uplink *u = calloc(1, sizeof *u);
	if (!u)
		return ERR_NOMEM;
	u->st = st;
	u->cfg = *cfg;
	uint64_t limit;
	uint8_t enc[BUNDLE_WINDOW_ENC_BYTES];
	size_t elen;
	int rc;
	bundle_window_init(&u->dlwin);
	if ((rc = vstore_meta_u64(st, META_SEQ_LIMIT, 0, &limit)) < 0 ||
	    (rc = vstore_meta_blob(st, META_DL_WINDOW, enc, sizeof enc, &elen)) < 0 ||
	    (rc = sched_state_init(&u->sched, SCHED_QUANTUM_DEFAULT_BYTES)) < 0)
		goto fail;
	if (elen == sizeof enc && (rc = bundle_window_decode(&u->dlwin, enc)) < 0)
		goto fail;
	seq_init(&u->seq, limit);
	*out = u;
	return 0;
fail:
	free(u);
	return rc;
}

void uplink_free(struct uplink *u)
{
	if (!u)
		return;
	if (u->lp) {
		loop_timer_cancel(u->lp, u->hb_timer);
		loop_timer_cancel(u->lp, u->retry_timer);
	}
	channel_free(u->ch);
	free(u);
}

const struct uplink_stats *uplink_get_stats(const struct uplink *u)
{
	return &u->stats;
}

/* ---- building ------------------------------------------------------------ */

/* Persists a new limit before any number below it is used. */
static int seq_ready(struct uplink *u)
{
	if (seq_available(&u->seq) > 0)
		return 0;
	uint64_t limit;
	int rc = seq_reserve(&u->seq, UPLINK_SEQ_BLOCK, &limit);
	if (rc < 0 || (rc = vstore_meta_set_u64(u->st, META_SEQ_LIMIT, limit)) < 0)
		return rc;
	u->stats.seq_reserved += UPLINK_SEQ_BLOCK;
	return seq_confirm(&u->seq, limit);
}

/* Section of a picked message: 0 for the vessel section, else its crew
 * member's rank of first appearance (1, 2, ...). */
static void order_sections(struct uplink *u, size_t n, uint32_t *section)
{
	uint32_t crews[UPLINK_PICK_MAX], ncrews = 0;
	for (size_t i = 0; i < n; i++) {
		const struct vpending *p = &u->pend[u->pick[i]];
		section[i] = 0;
		if (p->kind == VMSG_COMPLAINT)
			continue;
		uint32_t k = 0;
		while (k < ncrews && crews[k] != p->crew_id)
			k++;
		if (k == ncrews)
			crews[ncrews++] = p->crew_id;
		section[i] = k + 1;
	}
	/* stable insertion sort of pick[] by section */
	for (size_t i = 1; i < n; i++) {
		size_t pk = u->pick[i];
		uint32_t s = section[i];
		size_t j = i;
		for (; j > 0 && section[j - 1] > s; j--) {
			u->pick[j] = u->pick[j - 1];
			section[j] = section[j - 1];
		}
		u->pick[j] = pk;
		section[j] = s;
	}
}

static enum record_channel channel_of(const char *address)
{
	if (strncmp(address, "tel:", 4) == 0)
		return RECORD_CHANNEL_SMS;
	if (strncmp(address, "webhook:", 8) == 0)
		return RECORD_CHANNEL_CHAT;
	return RECORD_CHANNEL_EMAIL;
}

/* vstore_msg_get callback: adds the message's record to the open section. */
static int add_msg(void *ctx, const struct vmsg *m)
{
	struct uplink *u = ctx;
	struct record r;
	char addr[RECORD_ADDRESS_MAX + 1], name[RECORD_NAME_MAX + 1];
	struct record_bytes body = {m->body_len ? m->body : NULL, m->body_len};
	memset(&r, 0, sizeof r);
	switch (m->kind) {
	case VMSG_TEXT:
		r.type = RECORD_TEXT;
		r.u.text = (struct record_text){.msg_id = m->id, .ts = (uint64_t)m->ts,
			.crew_id = m->crew_id, .contact_ref = m->contact_ref, .text = body};
		break;
	case VMSG_SOS:
		r.type = RECORD_SOS;
		r.u.sos = (struct record_sos){.msg_id = m->id, .ts = (uint64_t)m->ts,
			.crew_id = m->crew_id, .text = body};
		break;
	case VMSG_COMPLAINT:
		r.type = RECORD_COMPLAINT;
		r.u.complaint = (struct record_complaint){.msg_id = m->id, .ts = (uint64_t)m->ts,
			.blob = body};
		break;
	case VMSG_CONTACT: {
		int rc = vstore_contact_get(u->st, m->crew_id, m->contact_ref, addr, sizeof addr, name,
					    sizeof name);
		if (rc < 0)
			return u->add_err = rc;
		r.type = RECORD_CONTACT;
		r.u.contact = (struct record_contact){.msg_id = m->id, .ts = (uint64_t)m->ts,
			.crew_id = m->crew_id, .contact_ref = m->contact_ref, .channel = channel_of(addr),
			.address = {(const uint8_t *)addr, strlen(addr)},
			.name = {(const uint8_t *)name, strlen(name)}};
		break;
	}
	default:
		return u->add_err = ERR_INVAL;
	}
	return u->add_err = body_add(&u->bw, &r);
}

static int add_heartbeat(struct uplink *u, int64_t now)
{
	struct vcounts c;
	int rc = vstore_counts(u->st, &c);
	if (rc < 0)
		return rc;
	uint64_t q = c.state[VMSG_QUEUED];
	struct record r = {.type = RECORD_HEARTBEAT};
	r.u.heartbeat = (struct record_heartbeat){.ts = (uint64_t)now,
		.queue_depth = q > UINT32_MAX ? UINT32_MAX : (uint32_t)q,
		.crew_on_board = (uint32_t)c.crew, .crew_registered = (uint32_t)c.crew};
	if ((rc = body_add(&u->bw, &r)) < 0)
		return rc;
	return qreport_add(u->st, &u->cfg.quota, now, &u->bw,
			   qreport_reserve(&u->cfg.quota, u->cfg.bundle_max));
}

/* Marks a message that cannot be encoded as failed so it never blocks. */
static int refuse(struct uplink *u, uint64_t id, int why, int64_t now)
{
	log_error("message %llu cannot be encoded (%s): marked failed",
		  (unsigned long long)id, err_str(why));
	return vstore_receipt_apply(u->st, id, 1, VMSG_FAILED, RECORD_REASON_REFUSED, now, NULL);
}

/* Fills the body from the picks; u->ids gets the messages it holds. */
static int fill_body(struct uplink *u, size_t npick, bool heartbeat, int64_t now)
{
	uint32_t section[UPLINK_PICK_MAX];
	uint32_t open = UINT32_MAX;
	int rc;
	order_sections(u, npick, section);
	body_writer_init(&u->bw, &u->work, u->body, sizeof u->body, (uint64_t)now);
	u->nids = 0;
	if (heartbeat) {
		if ((rc = body_section_begin(&u->bw, -1)) < 0 || (rc = add_heartbeat(u, now)) < 0)
			return rc;
		open = 0;
	}
	size_t sec_start = 0;   /* u->ids of the open section start here */
	for (size_t i = 0; i < npick; i++) {
		const struct vpending *p = &u->pend[u->pick[i]];
		if (section[i] != open) {
			if (open != UINT32_MAX) {
				open = UINT32_MAX;
				if ((rc = body_section_end(&u->bw)) == ERR_FULL) {
					u->nids = sec_start;    /* dropped: it waits */
					return 0;
				}
				if (rc < 0)
					return rc;
			}
			if ((rc = body_section_begin(&u->bw, -1)) == ERR_FULL)
				return 0;       /* BODY_SECTIONS_MAX: the rest waits */
			if (rc < 0)
				return rc;
			open = section[i];
			sec_start = u->nids;
		}
		u->add_err = 0;
		rc = vstore_msg_get(u->st, p->id, add_msg, u);
		if (rc == ERR_FULL)
			break;          /* the section is full: the rest waits */
		if (rc == ERR_UTF8 || rc == ERR_TOOBIG || rc == ERR_INVAL) {
			if ((rc = refuse(u, p->id, rc, now)) < 0)
				return rc;
			continue;
		}
		if (rc < 0)
			return rc;
		u->ids[u->nids++] = p->id;
	}
	if (open != UINT32_MAX && (rc = body_section_end(&u->bw)) < 0) {
		if (rc != ERR_FULL)
			return rc;
		u->nids = sec_start;
	}
	return 0;
}

ssize_t uplink_build(struct uplink *u, int64_t now, bool heartbeat, uint8_t *out, size_t cap,
		     bool *stored, uint64_t *seqp)
{
	if (stored)
		*stored = false;
	ssize_t n = vstore_pending(u->st, UPLINK_PENDING_PER_CREW, u->pend, UPLINK_PENDING_MAX);
	if (n < 0)
		return n;
	if (n == 0 && !heartbeat)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		const struct vpending *p = &u->pend[i];
		uint64_t w = (uint64_t)p->body_len + UPLINK_RECORD_OVERHEAD;
		u->items[i] = (struct sched_item){.msg_id = p->id, .order = p->id, .crew_id = p->crew_id,
			.wire_bytes = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w, .cls = class_of(p->kind)};
	}
	uint64_t budget = u->cfg.bundle_max - UPLINK_SECTION_OVERHEAD -
			  (heartbeat ? UPLINK_HEARTBEAT_BYTES + UPLINK_SECTION_OVERHEAD +
			   qreport_reserve(&u->cfg.quota, u->cfg.bundle_max) : 0);
	ssize_t npick = 0;
	if (n > 0 && (npick = sched_pick(u->items, (size_t)n, &u->sched, budget, u->pick,
					 UPLINK_PICK_MAX)) < 0)
		return npick;
	int rc = fill_body(u, (size_t)npick, heartbeat, now);
	if (rc < 0)
		return rc;
	if (u->nids == 0 && !heartbeat)
		return 0;       /* everything picked was refused */
	if ((rc = seq_ready(u)) < 0)
		return rc;
	struct seq_ticket t;
	struct bundle_hdr h;
	if ((rc = seq_take(&u->seq, &t)) < 0)
		return rc;
	struct bundle_sender snd = {.vessel = u->cfg.vessel_id, .to_vessel = false,
				    .tx_key = u->cfg.keys->tx, .sign_sk = NULL};
	struct bundle_opts o = {.sign = false, .has_time = true, .base_time = (uint64_t)now};
	ssize_t len = bundle_seal(&snd, &o, &t, u->body, u->bw.len, out, cap);
	if (len < 0)
		return len;
	if ((rc = bundle_header_parse(out, (size_t)len, &h)) < 0)
		return rc;
	uint64_t seq = h.seq;
	if (seqp)
		*seqp = seq;
	if (u->nids == 0) {
		u->stats.heartbeats++;
		return len;     /* heartbeat only: not stored */
	}
	if ((rc = vstore_begin(u->st)) < 0)
		return rc;
	if ((rc = vstore_bundle_put(u->st, seq, out, (size_t)len, u->ids, u->nids, now)) < 0) {
		vstore_rollback(u->st);
		return rc;
	}
	if (u->cfg.fault == UPLINK_FAULT_BEFORE_COMMIT)
		return ERR_IO;  /* tests: the process "dies" here, transaction open */
	if ((rc = vstore_commit(u->st)) < 0)
		return rc;
	if (heartbeat)
		u->stats.heartbeats++;
	u->stats.bundles_new++;
	if (stored)
		*stored = true;
	return len;
}

/* ---- receiving ----------------------------------------------------------- */

static enum vmsg_state state_of(enum record_msg_state s)
{
	switch (s) {
	case RECORD_STATE_DELIVERED: return VMSG_DELIVERED;
	case RECORD_STATE_FAILED: return VMSG_FAILED;
	default: return VMSG_ACCEPTED;
	}
}

static int apply_record(struct uplink *u, const struct record *r, int64_t now, struct uplink_rx *rx)
{
	int rc = 0;
	bool stored = false;
	switch (r->type) {
	case RECORD_RECEIPT:
		for (size_t i = 0; i < r->u.receipt.n && rc == 0; i++) {
			const struct record_receipt_range *g = &r->u.receipt.r[i];
			rc = vstore_receipt_apply(u->st, g->first, g->count, state_of(g->state), g->reason,
						  now, &rx->receipts_changed);
		}
		return rc;
	case RECORD_REPLY: {
		const struct record_reply *p = &r->u.reply;
		struct vinbox i = {.crew_id = p->crew_id, .shore_id = p->msg_id,
				   .contact_ref = p->contact_ref, .ts = (int64_t)p->ts,
				   .text = (const char *)p->text.ptr};
		rc = vstore_inbox_add(u->st, &i, p->text.len, now, &stored);
		rx->replies += stored;
		break;
	}
	case RECORD_CASE_UPDATE: {
		const struct record_case_update *c = &r->u.case_update;
		struct vinbox i = {.is_case = true, .shore_id = c->case_ref, .status = c->status,
				   .ts = (int64_t)c->ts, .text = (const char *)c->text.ptr};
		rc = vstore_inbox_add(u->st, &i, c->text.len, now, &stored);
		rx->cases += stored;
		break;
	}
	default:
		return 0;       /* not for the vessel (or unknown): skipped */
	}
	return rc;
}

int uplink_receive(struct uplink *u, const uint8_t *b, size_t len, int64_t now, struct uplink_rx *rx)
{
	memset(rx, 0, sizeof *rx);
	struct bundle_receiver rcv = {.vessel = u->cfg.vessel_id, .to_vessel = true,
				      .rx_key = u->cfg.keys->rx, .sign_pk = NULL};
	struct bundle_hdr h;
	ssize_t plen = bundle_unseal(&rcv, &u->dlwin, b, len, &h, u->plain, sizeof u->plain);
	if (plen == ERR_REPLAY) {
		rx->replay = true;
		rx->seq = h.seq;
		u->stats.rx_replays++;
		return 0;
	}
	if (plen < 0) {
		u->stats.rx_rejected++;
		return (int)plen;
	}
	rx->seq = h.seq;
	int rc = vstore_begin(u->st);
	if (rc < 0)
		return rc;
	body_reader_init(&u->br, &u->work, u->plain, (size_t)plen, h.base_time);
	struct record r;
	while ((rc = body_next(&u->br, &r, NULL)) == 1) {
		uint32_t before = rx->replies + rx->cases;
		if ((rc = apply_record(u, &r, now, rx)) < 0)
			break;
		if ((r.type == RECORD_REPLY || r.type == RECORD_CASE_UPDATE) &&
		    rx->replies + rx->cases == before)
			rx->dropped++;  /* duplicate or unknown crew/complaint */
	}
	struct bundle_window trial = u->dlwin;
	uint8_t enc[BUNDLE_WINDOW_ENC_BYTES];
	if (rc == 0 && (rc = bundle_window_accept(&trial, h.seq)) == 0) {
		bundle_window_encode(&trial, enc);
		if ((rc = vstore_bundle_prune(u->st)) == 0)
			rc = vstore_meta_set_blob(u->st, META_DL_WINDOW, enc, sizeof enc);
	}
	if (rc < 0) {
		vstore_rollback(u->st);
		u->stats.rx_rejected++;
		return rc;
	}
	if ((rc = vstore_commit(u->st)) < 0)
		return rc;
	u->dlwin = trial;
	u->stats.rx_bundles++;
	return 0;
}

/* ---- driving ------------------------------------------------------------- */

void uplink_set_io(struct uplink *u, const struct uplink_io *io)
{
	u->io = *io;
	u->has_io = true;
}

void uplink_resend_from_start(struct uplink *u)
{
	u->resending = true;
	u->resend_from = 0;
}

void uplink_heartbeat_due(struct uplink *u)
{
	u->hb_due = true;
}

void uplink_acked(struct uplink *u, uint64_t channel_id)
{
	for (size_t i = 0; i < u->ntrack; i++)
		if (u->track[i].channel_id == channel_id) {
			u->track[i] = u->track[--u->ntrack];
			return;
		}
}

static bool tracked(const struct uplink *u, uint64_t seq)
{
	for (size_t i = 0; i < u->ntrack; i++)
		if (u->track[i].stored && u->track[i].seq == seq)
			return true;
	return false;
}

static int send_tracked(struct uplink *u, const uint8_t *b, size_t len, uint64_t seq, bool stored)
{
	uint64_t id = 0;
	int rc = u->io.send(u->io.ctx, b, len, &id);
	if (rc < 0)
		return rc;
	if (u->ntrack == UPLINK_TRACK_MAX)      /* forget the oldest: worst case a duplicate */
		memmove(u->track, u->track + 1, --u->ntrack * sizeof u->track[0]);
	u->track[u->ntrack++] = (struct track){.channel_id = id, .seq = seq, .stored = stored};
	return 0;
}

/* vstore_bundle_each_unacked callback: one stored bundle per call. */
static int resend_one(void *ctx, uint64_t seq, const uint8_t *b, size_t len)
{
	struct uplink *u = ctx;
	if (tracked(u, seq)) {
		u->resend_from = seq + 1;
		return 0;       /* still in the channel: the ARQ re-sends it */
	}
	int rc = send_tracked(u, b, len, seq, true);
	if (rc < 0)
		return rc;      /* try this one again later */
	u->resend_from = seq + 1;
	u->stats.bundles_resent++;
	return 1;
}

/* True when an SOS is queued: it may leave even with UPLINK_NEW_INFLIGHT_MAX
 * bundles in flight (up to UPLINK_RESEND_INFLIGHT_MAX), so an SOS never
 * waits for an acknowledgement.  A store error counts as "no". */
static bool sos_waiting(struct uplink *u)
{
	struct vpending p;
	return vstore_pending(u->st, 0, &p, 1) == 1 && p.kind == VMSG_SOS;
}

int uplink_pump(struct uplink *u, int64_t now)
{
	if (!u->has_io || !u->io.up(u->io.ctx))
		return 0;
	int rc;
	while (u->resending) {
		if (u->io.unacked(u->io.ctx) >= UPLINK_RESEND_INFLIGHT_MAX)
			return 0;
		rc = vstore_bundle_each_unacked(u->st, u->resend_from, resend_one, u);
		if (rc == ERR_FULL)
			return 0;
		if (rc < 0)
			return rc;
		if (rc == 0)
			u->resending = false;   /* every stored bundle went again */
	}
	bool report_due = false;
	if (!u->hb_due && (rc = qreport_due(u->st, &u->cfg.quota, now, &report_due)) < 0)
		return rc;
	if (report_due)
		u->hb_due = true;       /* a refusal or a new month: tell the shore now */
	size_t inflight;
	while ((inflight = u->io.unacked(u->io.ctx)) < UPLINK_NEW_INFLIGHT_MAX ||
	       (inflight < UPLINK_RESEND_INFLIGHT_MAX && sos_waiting(u))) {
		bool stored;
		uint64_t seq = 0;
		ssize_t len = uplink_build(u, now, u->hb_due, u->out, sizeof u->out, &stored, &seq);
		if (len <= 0)
			return (int)len;
		u->hb_due = false;
		/* Stored: a failed send is repaired by the next resend pass.
		 * A heartbeat lost here is sent again at the next interval. */
		if ((rc = send_tracked(u, u->out, (size_t)len, seq, stored)) < 0) {
			log_warn("channel refused a bundle (%s): it goes with the next resend",
				 err_str(rc));
			uplink_resend_from_start(u);
			return 0;
		}
	}
	return 0;
}

/* ---- the daemon's wiring --------------------------------------------------- */

static void on_retry(struct loop *lp, void *ctx)
{
	struct uplink *u = ctx;
	(void)lp;
	u->retry_timer = 0;
	uplink_kick(u);
}

void uplink_kick(struct uplink *u)
{
	int rc = uplink_pump(u, wallclock_now());
	if (rc < 0 && u->lp && !u->retry_timer) {
		log_error("uplink: %s (%s); retrying in %us", err_str(rc),
			  db_last_error(vstore_db(u->st)), UPLINK_RETRY_MS / 1000);
		u->retry_timer = loop_timer_at(u->lp, loop_now(u->lp) + UPLINK_RETRY_MS, on_retry, u);
	}
}

bool uplink_link_up(const struct uplink *u)
{
	return u->ch && link_is_up(channel_link(u->ch));
}

static void on_heartbeat(struct loop *lp, void *ctx)
{
	struct uplink *u = ctx;
	uplink_heartbeat_due(u);
	uplink_kick(u);
	if (!(u->hb_timer = loop_timer_at(lp, loop_now(lp) + u->hb_ms, on_heartbeat, u)))
		log_error("heartbeat: cannot arm its timer");
}

static void on_message(void *ctx, struct channel *ch, const uint8_t *m, size_t len)
{
	struct uplink_rx rx;
	(void)ch;
	int rc = uplink_receive(ctx, m, len, wallclock_now(), &rx);
	if (rc < 0)
		log_warn("downlink bundle refused: %s", err_str(rc));
	else if (!rx.replay)
		log_debug("downlink %llu: %llu receipts, %u replies, %u case updates",
			  (unsigned long long)rx.seq, (unsigned long long)rx.receipts_changed,
			  rx.replies, rx.cases);
}

static void on_acked(void *ctx, struct channel *ch, uint64_t id)
{
	(void)ch;
	uplink_acked(ctx, id);
	uplink_kick(ctx);
}

static void on_reset(void *ctx, struct channel *ch, enum arq_reset_reason why)
{
	(void)ch;
	log_info("channel reset (%d): re-sending stored bundles", (int)why);
	uplink_resend_from_start(ctx);
	uplink_kick(ctx);
}

static void on_link(void *ctx, struct channel *ch, bool up)
{
	log_info("link %s is %s", link_name(channel_link(ch)), up ? "up" : "down");
	if (up) {
		uplink_heartbeat_due(ctx);      /* the shore learns the outage's end at once */
		uplink_resend_from_start(ctx);
		uplink_kick(ctx);
	}
}

static int io_send(void *ctx, const uint8_t *b, size_t len, uint64_t *id)
{
	return channel_send(((struct uplink *)ctx)->ch, b, len, id);
}

static size_t io_unacked(void *ctx)
{
	return channel_unacked(((struct uplink *)ctx)->ch);
}

static bool io_up(void *ctx)
{
	return uplink_link_up(ctx);
}

int uplink_attach(struct uplink *u, struct loop *lp, const struct uplink_link_config *c)
{
	static const struct channel_callbacks cb = {on_message, on_acked, on_reset, on_link};
	static const struct link_callbacks none = {0};
	struct link *ln = NULL;
	int rc = link_open(&ln, c->spec, lp, &none, u);
	if (rc < 0)
		return rc;
	if ((rc = channel_new(&u->ch, lp, ln, &c->ch, &cb, u)) < 0) {
		link_close(ln);
		return rc;
	}
	u->lp = lp;
	u->hb_ms = c->heartbeat_ms;
	uplink_set_io(u, &(struct uplink_io){io_send, io_unacked, io_up, u});
	uplink_resend_from_start(u);
	if (!(u->hb_timer = loop_timer_at(lp, loop_now(lp) + u->hb_ms, on_heartbeat, u)))
		return ERR_NOMEM;
	return 0;
}
