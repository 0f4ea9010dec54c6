/*
 * record.c — encoder, decoder and iterator for typed records.
 *
 * What it is for: the message-level content of a bundle (texts, replies,
 * contacts, complaints, SOS, receipts, case updates, heartbeats,
 * checkpoints, quota reports), each a [type][length][fields] unit that an older peer can
 * skip or read the known prefix of.
 *
 * Invariants:
 *  - the decoder reads only through struct cursor, which checks bounds
 *    before every read; a record's fields are read from a cursor limited to
 *    its body, so no field can reach into the next record;
 *  - every length is compared with its *_MAX before it is used, every sum of
 *    ids or times is checked for overflow before it is formed;
 *  - encoding then decoding gives back an equal record (record_equal()), and
 *    a decoded record re-encodes to the same bytes unless the input carried
 *    trailing fields or flag bits this version does not know;
 *  - nothing is allocated or copied: decoded byte strings point into the
 *    input.
 *
 * Failure behaviour: the encoder validates as it writes and returns the
 * first error before reporting any length; the decoder returns ERR_TRUNC
 * only when the input ends before the record does, ERR_INVAL when a field
 * is malformed or runs past the end of its body, ERR_TOOBIG when a length is
 * over its limit.  A type this version does not know is not an error.
 */
#include "proto/record.h"

#include <string.h>

#include "proto/varint.h"

/* RECEIPT packs state and reason into one varint: reason << 2 | state. */
#define STATE_BITS 2u
#define STATE_MASK 0x3u

/* ---- encoding ----------------------------------------------------------- */

static bool enum_ok(long v, long last)
{
	return v >= 0 && v <= last;
}

/* The zigzag code of ts - base, or ERR_INVAL when the distance does not fit
 * a signed 64-bit value. */
static int ts_code(uint64_t ts, uint64_t base, uint64_t *zz)
{
	if (ts >= base) {
		uint64_t d = ts - base;
		if (d > (uint64_t)INT64_MAX)
			return ERR_INVAL;
		*zz = d << 1;
	} else {
		uint64_t d = base - ts;     /* >= 1: zigzag(-d) == 2d - 1 */
		if (d > (uint64_t)INT64_MAX + 1u)
			return ERR_INVAL;
		*zz = ((d - 1u) << 1) | 1u;
	}
	return 0;
}

static int put_ts(struct wcursor *w, uint64_t ts, uint64_t base)
{
	uint64_t zz;
	int rc = ts_code(ts, base, &zz);
	if (rc < 0)
		return rc;
	wcursor_put_varint(w, zz);
	return 0;
}

static int put_str(struct wcursor *w, const struct record_bytes *b, size_t max)
{
	if (b->len > max)
		return ERR_TOOBIG;
	if (b->ptr == NULL && b->len > 0)
		return ERR_INVAL;
	wcursor_put_varint(w, b->len);
	wcursor_put_bytes(w, b->ptr, b->len);
	return 0;
}

static int put_pos(struct wcursor *w, const struct record_pos *p)
{
	if (p->lat < -RECORD_LAT_MAX || p->lat > RECORD_LAT_MAX ||
	    p->lon < -RECORD_LON_MAX || p->lon > RECORD_LON_MAX)
		return ERR_INVAL;
	wcursor_put_varint(w, varint_zigzag_encode(p->lat));
	wcursor_put_varint(w, varint_zigzag_encode(p->lon));
	return 0;
}

/* TEXT and REPLY share a layout. */
static int put_message(struct wcursor *w, uint64_t base, uint64_t msg_id,
		       uint64_t ts, uint32_t crew_id, uint32_t contact_ref,
		       const struct record_bytes *text)
{
	wcursor_put_varint(w, msg_id);
	int rc = put_ts(w, ts, base);
	if (rc < 0)
		return rc;
	wcursor_put_varint(w, crew_id);
	wcursor_put_varint(w, contact_ref);
	return put_str(w, text, RECORD_TEXT_MAX);
}

static int put_contact(struct wcursor *w, uint64_t base, const struct record_contact *c)
{
	if (!enum_ok((long)c->channel, RECORD_CHANNEL_LAST_))
		return ERR_INVAL;
	wcursor_put_varint(w, c->msg_id);
	int rc = put_ts(w, c->ts, base);
	if (rc < 0)
		return rc;
	wcursor_put_varint(w, c->crew_id);
	wcursor_put_varint(w, c->contact_ref);
	wcursor_put_varint(w, (uint64_t)c->channel);
	rc = put_str(w, &c->address, RECORD_ADDRESS_MAX);
	if (rc < 0)
		return rc;
	return put_str(w, &c->name, RECORD_NAME_MAX);
}

static int put_complaint(struct wcursor *w, uint64_t base, const struct record_complaint *c)
{
	if (c->blob.len == 0)
		return ERR_INVAL;
	wcursor_put_varint(w, c->msg_id);
	int rc = put_ts(w, c->ts, base);
	if (rc < 0)
		return rc;
	return put_str(w, &c->blob, RECORD_BLOB_MAX);
}

static int put_sos(struct wcursor *w, uint64_t base, const struct record_sos *s)
{
	wcursor_put_varint(w, s->msg_id);
	int rc = put_ts(w, s->ts, base);
	if (rc < 0)
		return rc;
	wcursor_put_varint(w, s->crew_id);
	wcursor_put_varint(w, s->has_pos ? RECORD_FLAG_POS : 0u);
	rc = put_str(w, &s->text, RECORD_TEXT_MAX);
	if (rc < 0)
		return rc;
	return s->has_pos ? put_pos(w, &s->pos) : 0;
}

/* Ranges: [count][per range: gap][count - 1][reason << 2 | state], where
 * gap is the first id for the first range and, after that, the number of
 * ids skipped since the end of the previous range. */
static int put_receipt(struct wcursor *w, const struct record_receipt *rc)
{
	if (rc->n == 0)
		return ERR_INVAL;
	if (rc->n > RECORD_RECEIPT_MAX)
		return ERR_TOOBIG;
	wcursor_put_varint(w, rc->n);
	uint64_t next_free = 0;     /* lowest id the next range may start at */
	for (size_t i = 0; i < rc->n; i++) {
		const struct record_receipt_range *g = &rc->r[i];
		if (g->count == 0 || g->count - 1u > UINT64_MAX - g->first)
			return ERR_INVAL;
		if (!enum_ok((long)g->state, RECORD_STATE_LAST_))
			return ERR_INVAL;
		if (i > 0 && (next_free == 0 || g->first < next_free))
			return ERR_INVAL;   /* overlap, disorder, or after UINT64_MAX */
		wcursor_put_varint(w, g->first - next_free);
		wcursor_put_varint(w, g->count - 1u);
		wcursor_put_varint(w, ((uint64_t)g->reason << STATE_BITS) | (uint64_t)g->state);
		next_free = g->first + (g->count - 1u) + 1u;   /* 0 after UINT64_MAX */
	}
	return 0;
}

static int put_case_update(struct wcursor *w, uint64_t base, const struct record_case_update *c)
{
	if (!enum_ok((long)c->status, RECORD_CASE_LAST_))
		return ERR_INVAL;
	wcursor_put_varint(w, c->case_ref);
	wcursor_put_varint(w, (uint64_t)c->status);
	int rc = put_ts(w, c->ts, base);
	if (rc < 0)
		return rc;
	return put_str(w, &c->text, RECORD_SHORT_TEXT_MAX);
}

static int put_heartbeat(struct wcursor *w, uint64_t base, const struct record_heartbeat *h)
{
	int rc = put_ts(w, h->ts, base);
	if (rc < 0)
		return rc;
	wcursor_put_varint(w, h->queue_depth);
	wcursor_put_varint(w, h->crew_on_board);
	wcursor_put_varint(w, h->crew_registered);
	wcursor_put_varint(w, h->has_pos ? RECORD_FLAG_POS : 0u);
	return h->has_pos ? put_pos(w, &h->pos) : 0;
}

static int put_checkpoint(struct wcursor *w, const struct record_checkpoint *c)
{
	if (c->seq_last < c->seq_first)
		return ERR_INVAL;
	wcursor_put_varint(w, c->seq_first);
	wcursor_put_varint(w, c->seq_last - c->seq_first);
	wcursor_put_bytes(w, c->chain_hash, RECORD_HASH_BYTES);
	wcursor_put_bytes(w, c->sig, RECORD_SIG_BYTES);
	return 0;
}

/* YYYYMM with a month 1..12 and a year 1970..9999. */
static bool period_ok(uint32_t p)
{
	return p >= 197001u && p <= 999912u && p % 100u >= 1u && p % 100u <= 12u;
}

/* The rules a QUOTA_REPORT obeys on both sides. */
static bool quota_report_ok(const struct record_quota_report *q)
{
	if (!period_ok(q->period) || q->interval == 0 || q->n > RECORD_REFUSALS_MAX ||
	    q->zone < -RECORD_ZONE_MAX_S || q->zone > RECORD_ZONE_MAX_S)
		return false;
	if (q->crew_id == 0 && (q->used || q->refusals || q->n))
		return false;
	if (q->n == 0)
		return q->first == 0;
	return q->first >= 1 && q->first - 1u <= q->refusals && q->n <= q->refusals - (q->first - 1u);
}

/* crew, period, zone (zigzag), interval, allowance, used, refusals, first,
 * n, then n x (ts, used, attempted). */
static int put_quota_report(struct wcursor *w, uint64_t base, const struct record_quota_report *q)
{
	if (!quota_report_ok(q))
		return ERR_INVAL;
	wcursor_put_varint(w, q->crew_id);
	wcursor_put_varint(w, q->period);
	wcursor_put_varint(w, varint_zigzag_encode(q->zone));
	wcursor_put_varint(w, q->interval);
	wcursor_put_varint(w, q->allowance);
	wcursor_put_varint(w, q->used);
	wcursor_put_varint(w, q->refusals);
	wcursor_put_varint(w, q->first);
	wcursor_put_varint(w, q->n);
	for (size_t i = 0; i < q->n; i++) {
		int rc = put_ts(w, q->r[i].ts, base);
		if (rc < 0)
			return rc;
		wcursor_put_varint(w, q->r[i].used);
		wcursor_put_varint(w, q->r[i].attempted);
	}
	return 0;
}

static int put_body(struct wcursor *w, const struct record *r, uint64_t base)
{
	switch (r->type) {
	case RECORD_TEXT: {
		const struct record_text *t = &r->u.text;
		return put_message(w, base, t->msg_id, t->ts, t->crew_id, t->contact_ref, &t->text);
	}
	case RECORD_REPLY: {
		const struct record_reply *t = &r->u.reply;
		return put_message(w, base, t->msg_id, t->ts, t->crew_id, t->contact_ref, &t->text);
	}
	case RECORD_CONTACT: return put_contact(w, base, &r->u.contact);
	case RECORD_COMPLAINT: return put_complaint(w, base, &r->u.complaint);
	case RECORD_SOS: return put_sos(w, base, &r->u.sos);
	case RECORD_RECEIPT: return put_receipt(w, &r->u.receipt);
	case RECORD_CASE_UPDATE: return put_case_update(w, base, &r->u.case_update);
	case RECORD_HEARTBEAT: return put_heartbeat(w, base, &r->u.heartbeat);
	case RECORD_CHECKPOINT: return put_checkpoint(w, &r->u.checkpoint);
	case RECORD_QUOTA_REPORT: return put_quota_report(w, base, &r->u.quota_report);
	case RECORD_UNKNOWN: {
		const struct record_unknown *u = &r->u.unknown;
		if (u->type >= RECORD_TEXT && u->type <= RECORD_TYPE_LAST_)
			return ERR_INVAL;
		if (u->body.len > RECORD_BODY_MAX)
			return ERR_TOOBIG;
		if (u->body.ptr == NULL && u->body.len > 0)
			return ERR_INVAL;
		wcursor_put_bytes(w, u->body.ptr, u->body.len);
		return 0;
	}
	}
	return ERR_INVAL;
}

ssize_t record_encode_base(const struct record *r, uint64_t base_time,
			   uint8_t *out, size_t cap)
{
	if (r == NULL || (out == NULL && cap != 0))
		return ERR_INVAL;
	struct wcursor m;
	wcursor_init(&m, NULL, 0);
	int rc = put_body(&m, r, base_time);
	if (rc < 0)
		return rc;
	if (m.len > RECORD_BODY_MAX)
		return ERR_TOOBIG;
	uint64_t wire_type = r->type == RECORD_UNKNOWN ? r->u.unknown.type : (uint64_t)r->type;
	size_t total = varint_size(wire_type) + varint_size(m.len) + m.len;
	if (out == NULL)
		return (ssize_t)total;
	if (total > cap)
		return ERR_FULL;
	struct wcursor w;
	wcursor_init(&w, out, cap);
	wcursor_put_varint(&w, wire_type);
	wcursor_put_varint(&w, m.len);
	rc = put_body(&w, r, base_time);
	if (rc < 0)
		return rc;
	if (w.full || w.len != total)
		return ERR_FULL;     /* cannot happen: measured above */
	return (ssize_t)w.len;
}

ssize_t record_encode(const struct record *r, uint8_t *out, size_t cap)
{
	return record_encode_base(r, 0, out, cap);
}

/* ---- decoding ----------------------------------------------------------- */

static int get_u64(struct cursor *c, uint64_t *v)
{
	return cursor_get_varint(c, v);
}

static int get_u32(struct cursor *c, uint32_t *v)
{
	uint64_t x;
	int rc = cursor_get_varint_max(c, RECORD_SMALL_ID_MAX, &x);
	if (rc < 0)
		return rc;
	*v = (uint32_t)x;
	return 0;
}

static int get_ts(struct cursor *c, uint64_t base, uint64_t *ts)
{
	uint64_t zz;
	int rc = cursor_get_varint(c, &zz);
	if (rc < 0)
		return rc;
	if ((zz & 1u) == 0) {
		uint64_t d = zz >> 1;
		if (d > UINT64_MAX - base)
			return ERR_INVAL;
		*ts = base + d;
	} else {
		uint64_t d = (zz >> 1) + 1u;
		if (d > base)
			return ERR_INVAL;
		*ts = base - d;
	}
	return 0;
}

static int get_str(struct cursor *c, size_t max, struct record_bytes *b)
{
	uint64_t n;
	int rc = cursor_get_varint(c, &n);
	if (rc < 0)
		return rc;
	if (n > max)
		return ERR_TOOBIG;
	rc = cursor_get_bytes(c, (size_t)n, &b->ptr);
	if (rc < 0)
		return rc;
	b->len = (size_t)n;
	return 0;
}

static int get_pos(struct cursor *c, struct record_pos *p)
{
	uint64_t zlat, zlon;
	int rc = cursor_get_varint(c, &zlat);
	if (rc < 0)
		return rc;
	rc = cursor_get_varint(c, &zlon);
	if (rc < 0)
		return rc;
	int64_t lat = varint_zigzag_decode(zlat);
	int64_t lon = varint_zigzag_decode(zlon);
	if (lat < -RECORD_LAT_MAX || lat > RECORD_LAT_MAX ||
	    lon < -RECORD_LON_MAX || lon > RECORD_LON_MAX)
		return ERR_INVAL;
	p->lat = (int32_t)lat;
	p->lon = (int32_t)lon;
	return 0;
}

/* Runs a chain of field reads, stopping at the first error. */
#define TRY(expr) do { int rc_ = (expr); if (rc_ < 0) return rc_; } while (0)

static int get_text(struct cursor *c, uint64_t base, struct record_text *t)
{
	TRY(get_u64(c, &t->msg_id));
	TRY(get_ts(c, base, &t->ts));
	TRY(get_u32(c, &t->crew_id));
	TRY(get_u32(c, &t->contact_ref));
	return get_str(c, RECORD_TEXT_MAX, &t->text);
}

static int get_reply(struct cursor *c, uint64_t base, struct record_reply *t)
{
	TRY(get_u64(c, &t->msg_id));
	TRY(get_ts(c, base, &t->ts));
	TRY(get_u32(c, &t->crew_id));
	TRY(get_u32(c, &t->contact_ref));
	return get_str(c, RECORD_TEXT_MAX, &t->text);
}

static int get_contact(struct cursor *c, uint64_t base, struct record_contact *k)
{
	uint64_t channel;
	TRY(get_u64(c, &k->msg_id));
	TRY(get_ts(c, base, &k->ts));
	TRY(get_u32(c, &k->crew_id));
	TRY(get_u32(c, &k->contact_ref));
	TRY(cursor_get_varint_max(c, RECORD_CHANNEL_LAST_, &channel));
	k->channel = (enum record_channel)channel;
	TRY(get_str(c, RECORD_ADDRESS_MAX, &k->address));
	return get_str(c, RECORD_NAME_MAX, &k->name);
}

static int get_complaint(struct cursor *c, uint64_t base, struct record_complaint *k)
{
	TRY(get_u64(c, &k->msg_id));
	TRY(get_ts(c, base, &k->ts));
	TRY(get_str(c, RECORD_BLOB_MAX, &k->blob));
	return k->blob.len == 0 ? ERR_INVAL : 0;
}

static int get_sos(struct cursor *c, uint64_t base, struct record_sos *s)
{
	uint64_t flags;
	TRY(get_u64(c, &s->msg_id));
	TRY(get_ts(c, base, &s->ts));
	TRY(get_u32(c, &s->crew_id));
	TRY(get_u64(c, &flags));
	TRY(get_str(c, RECORD_TEXT_MAX, &s->text));
	s->has_pos = (flags & RECORD_FLAG_POS) != 0;
	return s->has_pos ? get_pos(c, &s->pos) : 0;
}

static int get_receipt(struct cursor *c, struct record_receipt *rc)
{
	uint64_t n;
	TRY(get_u64(c, &n));
	if (n == 0)
		return ERR_INVAL;
	if (n > RECORD_RECEIPT_MAX)
		return ERR_TOOBIG;
	uint64_t next_free = 0;
	for (size_t i = 0; i < (size_t)n; i++) {
		uint64_t gap, more, packed;
		TRY(get_u64(c, &gap));
		TRY(get_u64(c, &more));
		TRY(get_u64(c, &packed));
		if (i > 0 && next_free == 0)
			return ERR_INVAL;   /* previous range ended at UINT64_MAX */
		if (gap > UINT64_MAX - next_free)
			return ERR_INVAL;
		uint64_t first = next_free + gap;
		if (more > UINT64_MAX - first)
			return ERR_INVAL;
		uint64_t state = packed & STATE_MASK;
		uint64_t reason = packed >> STATE_BITS;
		if (state > RECORD_STATE_LAST_ || reason > UINT32_MAX)
			return ERR_INVAL;
		struct record_receipt_range *g = &rc->r[i];
		g->first = first;
		g->count = more + 1u;     /* more < UINT64_MAX - first + 1 */
		g->state = (enum record_msg_state)state;
		g->reason = (uint32_t)reason;
		next_free = first + more + 1u;     /* wraps to 0 after UINT64_MAX */
	}
	rc->n = (size_t)n;
	return 0;
}

static int get_case_update(struct cursor *c, uint64_t base, struct record_case_update *k)
{
	uint64_t status;
	TRY(get_u64(c, &k->case_ref));
	TRY(cursor_get_varint_max(c, RECORD_CASE_LAST_, &status));
	k->status = (enum record_case_status)status;
	TRY(get_ts(c, base, &k->ts));
	return get_str(c, RECORD_SHORT_TEXT_MAX, &k->text);
}

static int get_heartbeat(struct cursor *c, uint64_t base, struct record_heartbeat *h)
{
	uint64_t flags;
	TRY(get_ts(c, base, &h->ts));
	TRY(get_u32(c, &h->queue_depth));
	TRY(get_u32(c, &h->crew_on_board));
	TRY(get_u32(c, &h->crew_registered));
	TRY(get_u64(c, &flags));
	h->has_pos = (flags & RECORD_FLAG_POS) != 0;
	return h->has_pos ? get_pos(c, &h->pos) : 0;
}

static int get_checkpoint(struct cursor *c, struct record_checkpoint *k)
{
	uint64_t span;
	const uint8_t *p;
	TRY(get_u64(c, &k->seq_first));
	TRY(get_u64(c, &span));
	if (span > UINT64_MAX - k->seq_first)
		return ERR_INVAL;
	k->seq_last = k->seq_first + span;
	TRY(cursor_get_bytes(c, RECORD_HASH_BYTES, &p));
	memcpy(k->chain_hash, p, RECORD_HASH_BYTES);
	TRY(cursor_get_bytes(c, RECORD_SIG_BYTES, &p));
	memcpy(k->sig, p, RECORD_SIG_BYTES);
	return 0;
}

static int get_quota_report(struct cursor *c, uint64_t base, struct record_quota_report *q)
{
	uint64_t period, zz, n;
	TRY(get_u32(c, &q->crew_id));
	TRY(cursor_get_varint_max(c, UINT32_MAX, &period));
	TRY(cursor_get_varint(c, &zz));
	int64_t zone = varint_zigzag_decode(zz);
	if (zone < -RECORD_ZONE_MAX_S || zone > RECORD_ZONE_MAX_S)
		return ERR_INVAL;
	q->period = (uint32_t)period;
	q->zone = (int32_t)zone;
	TRY(get_u32(c, &q->interval));
	TRY(get_u64(c, &q->allowance));
	TRY(get_u64(c, &q->used));
	TRY(get_u32(c, &q->refusals));
	TRY(get_u32(c, &q->first));
	TRY(get_u64(c, &n));
	if (n > RECORD_REFUSALS_MAX)
		return ERR_TOOBIG;
	q->n = (size_t)n;
	for (size_t i = 0; i < q->n; i++) {
		TRY(get_ts(c, base, &q->r[i].ts));
		TRY(get_u64(c, &q->r[i].used));
		TRY(get_u64(c, &q->r[i].attempted));
	}
	return quota_report_ok(q) ? 0 : ERR_INVAL;
}

static int get_body(struct cursor *c, uint64_t type, uint64_t base, struct record *r)
{
	switch (type) {
	case RECORD_TEXT: return get_text(c, base, &r->u.text);
	case RECORD_REPLY: return get_reply(c, base, &r->u.reply);
	case RECORD_CONTACT: return get_contact(c, base, &r->u.contact);
	case RECORD_COMPLAINT: return get_complaint(c, base, &r->u.complaint);
	case RECORD_SOS: return get_sos(c, base, &r->u.sos);
	case RECORD_RECEIPT: return get_receipt(c, &r->u.receipt);
	case RECORD_CASE_UPDATE: return get_case_update(c, base, &r->u.case_update);
	case RECORD_HEARTBEAT: return get_heartbeat(c, base, &r->u.heartbeat);
	case RECORD_CHECKPOINT: return get_checkpoint(c, &r->u.checkpoint);
	case RECORD_QUOTA_REPORT: return get_quota_report(c, base, &r->u.quota_report);
	default: return ERR_INVAL;     /* callers pass known types only */
	}
}

int record_decode_base(const uint8_t *in, size_t len, uint64_t base_time,
		       size_t *consumed, struct record *r)
{
	if (consumed == NULL || r == NULL || (in == NULL && len != 0))
		return ERR_INVAL;
	struct cursor c;
	cursor_init(&c, in, len);
	uint64_t type, body_len;
	const uint8_t *body;
	TRY(cursor_get_varint(&c, &type));
	TRY(cursor_get_varint(&c, &body_len));
	if (body_len > RECORD_BODY_MAX)
		return ERR_TOOBIG;
	TRY(cursor_get_bytes(&c, (size_t)body_len, &body));
	*consumed = len - c.len;

	memset(r, 0, sizeof *r);
	if (type < RECORD_TEXT || type > RECORD_TYPE_LAST_) {
		r->type = RECORD_UNKNOWN;
		r->u.unknown.type = type;
		r->u.unknown.body.ptr = body;
		r->u.unknown.body.len = (size_t)body_len;
		return 0;
	}
	r->type = (enum record_type)type;
	struct cursor b;
	cursor_init(&b, body, (size_t)body_len);
	int rc = get_body(&b, type, base_time, r);
	/* The input held the whole body: a field running out is malformed,
	 * not truncated.  Bytes left in b are a newer version's fields. */
	return rc == ERR_TRUNC ? ERR_INVAL : rc;
}

int record_decode(const uint8_t *in, size_t len, size_t *consumed, struct record *r)
{
	return record_decode_base(in, len, 0, consumed, r);
}

/* ---- helpers ------------------------------------------------------------ */

static bool bytes_equal(const struct record_bytes *a, const struct record_bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static bool pos_equal(bool ha, const struct record_pos *a, bool hb, const struct record_pos *b)
{
	return ha == hb && (!ha || (a->lat == b->lat && a->lon == b->lon));
}

static bool receipt_equal(const struct record_receipt *a, const struct record_receipt *b)
{
	if (a->n != b->n || a->n > RECORD_RECEIPT_MAX)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct record_receipt_range *x = &a->r[i], *y = &b->r[i];
		if (x->first != y->first || x->count != y->count ||
		    x->state != y->state || x->reason != y->reason)
			return false;
	}
	return true;
}

bool record_equal(const struct record *a, const struct record *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case RECORD_TEXT: {
		const struct record_text *x = &a->u.text, *y = &b->u.text;
		return x->msg_id == y->msg_id && x->ts == y->ts && x->crew_id == y->crew_id &&
		       x->contact_ref == y->contact_ref && bytes_equal(&x->text, &y->text);
	}
	case RECORD_REPLY: {
		const struct record_reply *x = &a->u.reply, *y = &b->u.reply;
		return x->msg_id == y->msg_id && x->ts == y->ts && x->crew_id == y->crew_id &&
		       x->contact_ref == y->contact_ref && bytes_equal(&x->text, &y->text);
	}
	case RECORD_CONTACT: {
		const struct record_contact *x = &a->u.contact, *y = &b->u.contact;
		return x->msg_id == y->msg_id && x->ts == y->ts && x->crew_id == y->crew_id &&
		       x->contact_ref == y->contact_ref && x->channel == y->channel &&
		       bytes_equal(&x->address, &y->address) && bytes_equal(&x->name, &y->name);
	}
	case RECORD_COMPLAINT: {
		const struct record_complaint *x = &a->u.complaint, *y = &b->u.complaint;
		return x->msg_id == y->msg_id && x->ts == y->ts && bytes_equal(&x->blob, &y->blob);
	}
	case RECORD_SOS: {
		const struct record_sos *x = &a->u.sos, *y = &b->u.sos;
		return x->msg_id == y->msg_id && x->ts == y->ts && x->crew_id == y->crew_id &&
		       bytes_equal(&x->text, &y->text) &&
		       pos_equal(x->has_pos, &x->pos, y->has_pos, &y->pos);
	}
	case RECORD_RECEIPT:
		return receipt_equal(&a->u.receipt, &b->u.receipt);
	case RECORD_CASE_UPDATE: {
		const struct record_case_update *x = &a->u.case_update, *y = &b->u.case_update;
		return x->case_ref == y->case_ref && x->status == y->status && x->ts == y->ts &&
		       bytes_equal(&x->text, &y->text);
	}
	case RECORD_HEARTBEAT: {
		const struct record_heartbeat *x = &a->u.heartbeat, *y = &b->u.heartbeat;
		return x->ts == y->ts && x->queue_depth == y->queue_depth &&
		       x->crew_on_board == y->crew_on_board &&
		       x->crew_registered == y->crew_registered &&
		       pos_equal(x->has_pos, &x->pos, y->has_pos, &y->pos);
	}
	case RECORD_CHECKPOINT: {
		const struct record_checkpoint *x = &a->u.checkpoint, *y = &b->u.checkpoint;
		return x->seq_first == y->seq_first && x->seq_last == y->seq_last &&
		       memcmp(x->chain_hash, y->chain_hash, RECORD_HASH_BYTES) == 0 &&
		       memcmp(x->sig, y->sig, RECORD_SIG_BYTES) == 0;
	}
	case RECORD_QUOTA_REPORT: {
		const struct record_quota_report *x = &a->u.quota_report, *y = &b->u.quota_report;
		if (x->crew_id != y->crew_id || x->period != y->period || x->zone != y->zone ||
		    x->interval != y->interval || x->allowance != y->allowance || x->used != y->used ||
		    x->refusals != y->refusals || x->first != y->first || x->n != y->n ||
		    x->n > RECORD_REFUSALS_MAX)
			return false;
		for (size_t i = 0; i < x->n; i++)
			if (x->r[i].ts != y->r[i].ts || x->r[i].used != y->r[i].used ||
			    x->r[i].attempted != y->r[i].attempted)
				return false;
		return true;
	}
	case RECORD_UNKNOWN:
		return a->u.unknown.type == b->u.unknown.type &&
		       bytes_equal(&a->u.unknown.body, &b->u.unknown.body);
	}
	return false;
}

int record_receipt_add(struct record_receipt *rc, uint64_t id,
		       enum record_msg_state state, uint32_t reason)
{
	if (rc == NULL || !enum_ok((long)state, RECORD_STATE_LAST_) || rc->n > RECORD_RECEIPT_MAX)
		return ERR_INVAL;
	if (rc->n > 0) {
		struct record_receipt_range *g = &rc->r[rc->n - 1];
		if (g->count == 0 || g->count - 1u > UINT64_MAX - g->first)
			return ERR_INVAL;
		uint64_t last = g->first + (g->count - 1u);
		if (id <= last)
			return ERR_INVAL;
		if (id - 1u == last && g->state == state && g->reason == reason) {
			g->count++;
			return 0;
		}
		if (rc->n == RECORD_RECEIPT_MAX)
			return ERR_FULL;
	}
	rc->r[rc->n] = (struct record_receipt_range){
		.first = id, .count = 1, .state = state, .reason = reason,
	};
	rc->n++;
	return 0;
}

/* ---- iterator ----------------------------------------------------------- */

void record_iter_init(struct record_iter *it, const uint8_t *block, size_t len,
		      uint64_t base_time)
{
	memset(it, 0, sizeof *it);
	it->ptr = block;
	it->len = block ? len : 0;
	it->base_time = base_time;
}

int record_iter_next(struct record_iter *it, struct record *r)
{
	if (it->err < 0)
		return it->err;
	if (it->off >= it->len)
		return 0;
	size_t used = 0;
	int rc = record_decode_base(it->ptr + it->off, it->len - it->off, it->base_time, &used, r);
	if (rc < 0) {
		it->err = rc;
		return rc;
	}
	it->off += used;
	if (r->type == RECORD_UNKNOWN)
		it->unknown++;
	else
		it->known++;
	return 1;
}
