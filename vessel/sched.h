/*
 * sched.h — the outbox scheduler: which pending messages go in the next
 * bundle (pure logic).
 *
 * Order: every SOS first, then complaints, then control traffic (receipts,
 * contacts, heartbeats), each class first-in-first-out by submission order;
 * then crew texts shared fairly between crew members by deficit round robin
 * (DRR, Shreedhar & Varghese 1996) on wire bytes, first-in-first-out per
 * crew member.  Priority is strict: a pick never holds an item of a lower
 * class while an item of a higher class is left out of it; when the next
 * item in that order does not fit in the bundle budget the pick ends there
 * (it goes first in the next pick).
 *
 * Budget: budget_bytes is the link's bundle limit.  Items are added while
 * their wire_bytes estimates fit in it.  An item bigger than the whole
 * budget is picked alone, as the only item of a pick (the bundle layer then
 * fragments it or the link carries it as one frame); it never blocks the
 * queue.
 *
 * Fairness (texts): each crew member with pending texts gets quantum bytes
 * of credit per round and is served while its head message fits its
 * credit; credit left over is kept only while the member still has texts.
 * Under a sustained backlog, bytes served to any two backlogged members
 * differ by less than quantum + M since they both became backlogged, and by
 * at most quantum + 2*M over any window (M = the largest message): the DRR
 * bound.  With quantum >= M, a member whose first text arrives while k-1
 * others are backlogged is served within ceil((k-1)*(quantum + M) /
 * (budget - M + 1)) + 1 picks; that is at most k picks when quantum <=
 * budget - 2*M + 1.  No one starves: every round credits everyone.
 *
 * struct sched_state is the bookkeeping of credits and of whose turn it
 * is.  The daemon keeps it in memory only: after a restart it starts from
 * sched_state_init(), which costs at most one round of fairness (credits
 * restart at zero), never a message (the queue itself is in SQLite).
 */
#ifndef LIFELINE_VESSEL_SCHED_H
#define LIFELINE_VESSEL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

/* Crew members with pending texts at once: a vessel's crew, with room. */
#define SCHED_CREW_MAX 256u
/* Default DRR quantum: one SBD MO message's worth (340 bytes) and more. */
#define SCHED_QUANTUM_DEFAULT_BYTES 512u
/* Largest quantum accepted (1 MiB). */
#define SCHED_QUANTUM_MAX_BYTES 1048576u

/* Priority classes, highest first: the numeric order is the priority. */
enum sched_class {
	SCHED_SOS = 0,
	SCHED_COMPLAINT = 1,
	SCHED_CONTROL = 2,
	SCHED_TEXT = 3,
	SCHED_CLASS_COUNT = 4
};

/* One pending message, as the daemon's outbox knows it. */
struct sched_item {
	uint64_t msg_id;      /* vessel-unique message id (not used to order) */
	uint64_t order;       /* submission order: smaller was submitted first */
	uint32_t crew_id;     /* sender; fairness is per crew_id (texts only) */
	uint32_t wire_bytes;  /* estimated bytes this item takes in a bundle */
	enum sched_class cls;
};

/* Fair-share bookkeeping of one crew member (a slot of the round). */
struct sched_crew {
	uint32_t crew_id;
	bool used;            /* the slot belongs to crew_id */
	uint64_t deficit;     /* DRR credit in bytes */
};

/* The scheduler's memory between picks; embed it, set it with
 * sched_state_init(). */
struct sched_state {
	uint32_t quantum;     /* credit added per round, bytes */
	uint32_t turn;        /* slot whose turn it is */
	bool in_visit;        /* the slot at turn already got this round's quantum */
	struct sched_crew crew[SCHED_CREW_MAX];
};

/*
 * Starts an empty state with the given quantum.  Returns 0, or ERR_INVAL
 * for a NULL state or a quantum of 0 or over SCHED_QUANTUM_MAX_BYTES.
 */
int sched_state_init(struct sched_state *st, uint32_t quantum) LL_MUST_CHECK;

/*
 * Chooses the items of the next bundle from items[0..n): the pending items
 * not yet handed to a bundle (the caller owns them; nothing is kept).
 * Writes their indexes into out_idx[0..max_out) in bundle order (priority
 * order, then fair-share order) and updates st.  The total wire_bytes of
 * the picked items is <= budget_bytes, except that an item bigger than the
 * budget may be picked alone.  Items with the same order are taken in index
 * order.  Returns the number picked (0 only when n is 0 or max_out is 0),
 * ERR_INVAL (NULL pointers with n or max_out > 0, a class out of range,
 * budget 0, a state not initialised).  The daemon must not register more
 * than SCHED_CREW_MAX crew members: texts of members beyond the table wait
 * (SOS, complaints and control are never affected) until a member's texts
 * are all sent and its slot frees.
 */
ssize_t sched_pick(const struct sched_item *items, size_t n, struct sched_state *st, uint64_t budget_bytes,
                   size_t *out_idx, size_t max_out) LL_MUST_CHECK;

#endif
