/*
 * sched.c — the outbox scheduler: strict priority classes, then deficit
 * round robin between crew members for texts (see sched.h).
 *
 * Invariants: a pick never holds a lower-class item while a higher-class
 * item was left out of it; within a class (and within one crew member's
 * texts) items go in (order, index) order; the picked wire bytes never
 * exceed the budget unless one item alone does; a crew slot is in use only
 * while its member has texts pending, and its credit is zero when freed.
 * Every round credits every member with texts, and the loop skips rounds
 * in which nobody could send arithmetically, so a pick ends after at most
 * n takes plus two passes over the crew table per take.
 *
 * Failure behaviour: bad arguments return ERR_INVAL before anything is
 * written; nothing here allocates, so nothing else can fail.  Items are
 * trusted to come from the daemon's own outbox, but a hostile mix (equal
 * orders, zero sizes, huge sizes) still terminates and never overruns
 * out_idx.
 */
#include "vessel/sched.h"

#include <string.h>

#define NO_ITEM SIZE_MAX

/* Item key (cls, order, index): true when item a comes before item b. */
static bool before(const struct sched_item *items, size_t a, size_t b)
{
	if (items[a].cls != items[b].cls)
		return items[a].cls < items[b].cls;
	if (items[a].order != items[b].order)
		return items[a].order < items[b].order;
	return a < b;
}

/* The first priority item (class above SCHED_TEXT) after item last in
 * key order (last NO_ITEM: the very first), or NO_ITEM. */
static size_t next_priority(const struct sched_item *items, size_t n, size_t last)
{
	size_t best = NO_ITEM;
	for (size_t i = 0; i < n; i++) {
		if (items[i].cls == SCHED_TEXT)
			continue;
		if (last != NO_ITEM && !before(items, last, i))
			continue;
		if (best == NO_ITEM || before(items, i, best))
			best = i;
	}
	return best;
}

/* crew_id's next text after item last (NO_ITEM: its first), or NO_ITEM. */
static size_t next_text(const struct sched_item *items, size_t n, uint32_t crew_id, size_t last)
{
	size_t best = NO_ITEM;
	for (size_t i = 0; i < n; i++) {
		if (items[i].cls != SCHED_TEXT || items[i].crew_id != crew_id)
			continue;
		if (last != NO_ITEM && !before(items, last, i))
			continue;
		if (best == NO_ITEM || before(items, i, best))
			best = i;
	}
	return best;
}

/* Whether w more bytes fit when used of budget are taken (used <= budget). */
static bool fits(uint64_t used, uint64_t w, uint64_t budget)
{
	return used <= budget && w <= budget - used;
}

static void free_slot(struct sched_state *st, size_t s)
{
	st->crew[s].used = false;
	st->crew[s].deficit = 0;
	st->crew[s].crew_id = 0;
}

static void advance_turn(struct sched_state *st)
{
	st->turn = (st->turn + 1u) % SCHED_CREW_MAX;
	st->in_visit = false;
}

/* The slot of crew_id, allocating a free one; SCHED_CREW_MAX if the table
 * is full. */
static size_t slot_of(struct sched_state *st, uint32_t crew_id)
{
	size_t free_s = SCHED_CREW_MAX;
	for (size_t s = 0; s < SCHED_CREW_MAX; s++) {
		if (st->crew[s].used && st->crew[s].crew_id == crew_id)
			return s;
		if (!st->crew[s].used && free_s == SCHED_CREW_MAX)
			free_s = s;
	}
	if (free_s < SCHED_CREW_MAX) {
		st->crew[free_s].used = true;
		st->crew[free_s].crew_id = crew_id;
		st->crew[free_s].deficit = 0;
	}
	return free_s;
}

int sched_state_init(struct sched_state *st, uint32_t quantum)
{
	if (!st || quantum == 0 || quantum > SCHED_QUANTUM_MAX_BYTES)
		return ERR_INVAL;
	memset(st, 0, sizeof *st);
	st->quantum = quantum;
	return 0;
}

/* The state of one pick: what has been taken so far. */
struct pick {
	const struct sched_item *items;
	size_t n;
	uint64_t budget;
	uint64_t used;
	size_t *out;
	size_t max_out;
	size_t count;
};

static void take(struct pick *p, size_t i)
{
	p->out[p->count++] = i;
	p->used += p->items[i].wire_bytes;
}

/*
 * Texts by deficit round robin.  Returns when the bundle is full (the next
 * text in fair order does not fit), out_idx is full, or no text is left.
 */
static void pick_texts(struct pick *p, struct sched_state *st)
{
	size_t head[SCHED_CREW_MAX];
	size_t active = 0;

	/* Give every member with texts a slot and find its first text;
	 * free the slots of members with none. */
	for (size_t s = 0; s < SCHED_CREW_MAX; s++)
		head[s] = NO_ITEM;
	size_t cached_slot = SCHED_CREW_MAX;
	uint32_t cached_crew = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->items[i].cls != SCHED_TEXT)
			continue;
		size_t s;
		if (cached_slot < SCHED_CREW_MAX && cached_crew == p->items[i].crew_id) {
			s = cached_slot;
		} else {
			s = slot_of(st, p->items[i].crew_id);
			if (s == SCHED_CREW_MAX)
				continue; /* table full: this member waits (see sched.h) */
			cached_slot = s;
			cached_crew = p->items[i].crew_id;
		}
		if (head[s] == NO_ITEM || before(p->items, i, head[s]))
			head[s] = i;
	}
	for (size_t s = 0; s < SCHED_CREW_MAX; s++) {
		if (head[s] != NO_ITEM) {
			active++;
		} else if (st->crew[s].used) {
			free_slot(st, s);
			if (st->turn == s)
				st->in_visit = false;
		}
	}

	size_t futile = 0; /* consecutive visits that took nothing */
	while (active > 0) {
		size_t s = st->turn;
		if (head[s] == NO_ITEM) {
			advance_turn(st);
			continue;
		}
		struct sched_crew *c = &st->crew[s];
		if (!st->in_visit) {
			c->deficit += st->quantum;
			st->in_visit = true;
		}
		size_t h = head[s];
		uint64_t w = p->items[h].wire_bytes;
		if (w > c->deficit) {
			/* The visit ends: the head waits for more credit. */
			advance_turn(st);
			if (++futile < active)
				continue;
			/* A whole round took nothing: add the rounds still needed
			 * before the first member can send, minus the one the
			 * loop adds itself. */
			uint64_t rounds = UINT64_MAX;
			for (size_t t = 0; t < SCHED_CREW_MAX; t++) {
				if (head[t] == NO_ITEM)
					continue;
				uint64_t need = p->items[head[t]].wire_bytes - st->crew[t].deficit;
				uint64_t r = (need + st->quantum - 1u) / st->quantum;
				if (r < rounds)
					rounds = r;
			}
			for (size_t t = 0; t < SCHED_CREW_MAX; t++)
				if (head[t] != NO_ITEM)
					st->crew[t].deficit += (rounds - 1u) * st->quantum;
			futile = 0;
			continue;
		}
		if (p->count == p->max_out)
			return;
		bool alone = p->count == 0 && !fits(p->used, w, p->budget);
		if (!alone && !fits(p->used, w, p->budget))
			return; /* bundle full: this visit goes on in the next pick */
		take(p, h);
		futile = 0;
		c->deficit -= w;
		head[s] = next_text(p->items, p->n, c->crew_id, h);
		if (head[s] == NO_ITEM) {
			free_slot(st, s);
			advance_turn(st);
			active--;
		}
		if (alone)
			return;
	}
}

ssize_t sched_pick(const struct sched_item *items, size_t n, struct sched_state *st, uint64_t budget_bytes,
                   size_t *out_idx, size_t max_out)
{
	if (!st || st->quantum == 0 || st->quantum > SCHED_QUANTUM_MAX_BYTES || st->turn >= SCHED_CREW_MAX ||
	    budget_bytes == 0 || (n > 0 && !items) || (max_out > 0 && !out_idx))
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned)items[i].cls >= (unsigned)SCHED_CLASS_COUNT)
			return ERR_INVAL;
	if (n == 0 || max_out == 0)
		return 0;

	struct pick p = {
		.items = items, .n = n, .budget = budget_bytes, .used = 0,
		.out = out_idx, .max_out = max_out, .count = 0,
	};

	/* SOS, complaints, control: strict FIFO per class, classes in order. */
	size_t last = NO_ITEM;
	for (;;) {
		size_t i = next_priority(items, n, last);
		if (i == NO_ITEM)
			break;
		if (p.count == p.max_out)
			return (ssize_t)p.count;
		if (!fits(p.used, items[i].wire_bytes, p.budget)) {
			if (p.count == 0)
				take(&p, i); /* bigger than the budget: alone */
			return (ssize_t)p.count;
		}
		take(&p, i);
		last = i;
	}

	pick_texts(&p, st);
	return (ssize_t)p.count;
}
