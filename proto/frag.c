/*
 * frag.c — fragmentation and bounded reassembly for message links.
 *
 * What it is for: carrying bundles larger than one SBD message (270/340
 * bytes) with 2 bytes per fragment and nothing for a bundle that fits.
 *
 * Invariants: memory is the fixed struct frag_reasm; a slot holds one
 * (source, id, count); fragment i is stored at i * FRAG_PAYLOAD_MAX and
 * lengths are checked before every copy; on completion all fragments but
 * the last have one length (the stride) and the last is 1..stride bytes.
 *
 * Failure behaviour: garbage is rejected with ERR_INVAL / ERR_TOOBIG and
 * counted; a slot whose fragments disagree is dropped; an id reused with a
 * different count restarts its slot.  Nothing here crashes on any input.
 */
#include "proto/frag.h"

#include <string.h>

int frag_count(size_t len, size_t mtu)
{
	if (len == 0 || mtu < FRAG_MTU_MIN || mtu > FRAG_MTU_MAX)
		return ERR_INVAL;
	if (len > FRAG_TOTAL_MAX)
		return ERR_TOOBIG;
	if (len <= mtu)
		return 1;
	size_t per = mtu - FRAG_HDR_BYTES;
	size_t n = (len + per - 1) / per;
	if (n > FRAG_COUNT_MAX)
		return ERR_TOOBIG;
	return (int)n;
}

ssize_t frag_get(const uint8_t *bundle, size_t len, size_t mtu, uint8_t id, unsigned index,
		 uint8_t *out, size_t cap)
{
	int n = frag_count(len, mtu);
	if (n < 0)
		return n;
	if (index >= (unsigned)n)
		return ERR_INVAL;
	if (n == 1) {
		if (cap < len)
			return ERR_FULL;
		memcpy(out, bundle, len);
		return (ssize_t)len;
	}
	size_t per = mtu - FRAG_HDR_BYTES;
	size_t off = (size_t)index * per;
	size_t take = len - off < per ? len - off : per;
	if (cap < FRAG_HDR_BYTES + take)
		return ERR_FULL;
	out[0] = (uint8_t)(FRAG_MARK | (id & FRAG_ID_MASK));
	out[1] = (uint8_t)((index << FRAG_INDEX_SHIFT) | ((unsigned)n - 1u));
	memcpy(out + FRAG_HDR_BYTES, bundle + off, take);
	return (ssize_t)(FRAG_HDR_BYTES + take);
}

void frag_reasm_init(struct frag_reasm *r)
{
	memset(r, 0, sizeof *r);
}

size_t frag_pending(const struct frag_reasm *r)
{
	size_t n = 0;
	for (size_t i = 0; i < FRAG_SLOTS; i++)
		n += r->slots[i].used ? 1u : 0u;
	return n;
}

static bool recently_done(const struct frag_reasm *r, uint32_t src, uint8_t id, uint8_t count,
			  uint64_t now_ms)
{
	for (size_t i = 0; i < FRAG_DONE_MAX; i++) {
		const struct frag_done *d = &r->done[i];
		if (d->used && d->src == src && d->id == id && d->count == count &&
		    now_ms >= d->at_ms && now_ms - d->at_ms < FRAG_DONE_TTL_MS)
			return true;
	}
	return false;
}

static void remember_done(struct frag_reasm *r, const struct frag_slot *s, uint64_t now_ms)
{
	struct frag_done *d = &r->done[r->done_next];
	r->done_next = (r->done_next + 1u) % FRAG_DONE_MAX;
	d->used = true;
	d->src = s->src;
	d->id = s->id;
	d->count = s->count;
	d->at_ms = now_ms;
}

static void slot_start(struct frag_reasm *r, struct frag_slot *s, uint32_t src, uint8_t id,
		       uint8_t count, uint64_t now_ms)
{
	s->used = true;
	s->src = src;
	s->id = id;
	s->count = count;
	s->have = 0;
	s->stride = 0;
	memset(s->lens, 0, sizeof s->lens);
	s->born_ms = now_ms;
	s->order = ++r->order;
}

/* The slot for (src, id): existing, free, stale or the oldest evicted. */
static struct frag_slot *slot_find(struct frag_reasm *r, uint32_t src, uint8_t id, bool *found)
{
	struct frag_slot *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < FRAG_SLOTS; i++) {
		struct frag_slot *s = &r->slots[i];
		if (s->used && s->src == src && s->id == id) {
			*found = true;
			return s;
		}
		if (!s->used && !free_slot)
			free_slot = s;
		if (s->used && (!oldest || s->order < oldest->order))
			oldest = s;
	}
	*found = false;
	return free_slot ? free_slot : oldest;
}

static void expire(struct frag_reasm *r, uint64_t now_ms)
{
	for (size_t i = 0; i < FRAG_SLOTS; i++) {
		struct frag_slot *s = &r->slots[i];
		if (s->used && now_ms >= s->born_ms && now_ms - s->born_ms >= FRAG_SLOT_TTL_MS) {
			s->used = false;
			r->st.evicted++;
		}
	}
}

static int garbage(struct frag_reasm *r, int code)
{
	r->st.garbage++;
	return code;
}

int frag_input(struct frag_reasm *r, uint32_t src, const uint8_t *msg, size_t len,
	       uint64_t now_ms, const uint8_t **bundle, size_t *blen)
{
	if (len == 0)
		return garbage(r, ERR_INVAL);
	if (!(msg[0] & FRAG_MARK)) {
		if (len > FRAG_MTU_MAX)
			return garbage(r, ERR_TOOBIG);
		r->st.whole++;
		*bundle = msg;
		*blen = len;
		return 1;
	}
	if (len <= FRAG_HDR_BYTES)
		return garbage(r, ERR_INVAL);
	size_t plen = len - FRAG_HDR_BYTES;
	if (plen > FRAG_PAYLOAD_MAX)
		return garbage(r, ERR_TOOBIG);
	uint8_t id = (uint8_t)(msg[0] & FRAG_ID_MASK);
	unsigned index = (unsigned)msg[1] >> FRAG_INDEX_SHIFT;
	uint8_t count = (uint8_t)((msg[1] & FRAG_NIBBLE_MASK) + 1u);
	if (count < 2)
		return garbage(r, ERR_INVAL);   /* a bundle that fits goes whole */
	if (index >= count)
		return garbage(r, ERR_INVAL);
	bool last = index == count - 1u;
	if (!last && (size_t)(count - 1u) * plen >= FRAG_TOTAL_MAX)
		return garbage(r, ERR_TOOBIG);

	expire(r, now_ms);
	bool found = false;
	struct frag_slot *s = slot_find(r, src, id, &found);
	if (found && s->count != count) {
		r->st.restarted++;
		found = false;
	}
	if (!found) {
		if (recently_done(r, src, id, count, now_ms)) {
			r->st.duplicates++;
			return ERR_DUP;
		}
		if (s->used)
			r->st.evicted++;
		slot_start(r, s, src, id, count, now_ms);
	}
	uint16_t bit = (uint16_t)(1u << index);
	if (s->have & bit) {
		r->st.duplicates++;
		return ERR_DUP;
	}
	/* Length consistency: non-last fragments share one stride, the last is
	 * no longer than it. */
	if (!last) {
		if (s->stride == 0) {
			s->stride = (uint16_t)plen;
			if (s->lens[count - 1u] > plen) {
				s->used = false;
				return garbage(r, ERR_INVAL);
			}
		} else if (s->stride != plen) {
			return garbage(r, ERR_INVAL);
		}
	} else if (s->stride != 0 && plen > s->stride) {
		return garbage(r, ERR_INVAL);
	}
	memcpy(s->data + (size_t)index * FRAG_PAYLOAD_MAX, msg + FRAG_HDR_BYTES, plen);
	s->lens[index] = (uint16_t)plen;
	s->have |= bit;
	r->st.fragments++;
	if (s->have != (uint16_t)((1u << count) - 1u))
		return 0;

	/* Complete: compact fragment i from i*PAYLOAD_MAX down to i*stride. */
	size_t total = 0;
	for (unsigned i = 0; i < count; i++) {
		memmove(s->data + total, s->data + (size_t)i * FRAG_PAYLOAD_MAX, s->lens[i]);
		total += s->lens[i];
	}
	s->used = false;
	if (total > FRAG_TOTAL_MAX)
		return garbage(r, ERR_TOOBIG);
	remember_done(r, s, now_ms);
	r->st.completed++;
	*bundle = s->data;
	*blen = total;
	return 1;
}
