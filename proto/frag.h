/*
 * frag.h — cutting sealed bundles to a message link's MTU and putting them
 * back together (pure).
 *
 * Message links (Iridium SBD: MO <= 340 bytes, MT <= 270) carry discrete
 * messages.  A bundle that fits travels as is, with no extra byte: its
 * first byte has the top bit clear (bundle versions are 1..7, bundle.h).
 * A larger bundle travels as 2..16 fragments, each
 *
 *     byte 0   1 | id (7 bits)            bundle-local id (seq mod 128)
 *     byte 1   index (4 bits) | count-1 (4 bits)
 *     payload  every fragment but the last carries the same length
 *
 * The receiver tolerates any order, duplicates (SBD gateways have delivered
 * up to 7 copies of one message) and interleaving of ids and sources; it
 * keeps at most FRAG_SLOTS partial bundles (the oldest is evicted, and slots
 * older than FRAG_SLOT_TTL_MS are dropped), so a flood of distinct ids costs
 * a fixed amount of memory.  Fragments are not authenticated here: the
 * reassembled bundle is, by bundle_unseal(); frag only rejects what cannot be
 * a fragment.  No allocation: the caller embeds struct frag_reasm (about
 * 140 KiB, put it on the heap or in static storage).
 */
#ifndef LIFELINE_PROTO_FRAG_H
#define LIFELINE_PROTO_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define FRAG_HDR_BYTES 2u
#define FRAG_MARK 0x80u                 /* byte 0 top bit: a fragment */
#define FRAG_ID_MASK 0x7fu
#define FRAG_INDEX_SHIFT 4u
#define FRAG_NIBBLE_MASK 0x0fu
#define FRAG_COUNT_MAX 16u
#define FRAG_MTU_MIN 32u                /* below this the header dominates */
#define FRAG_MTU_MAX 1100u              /* = FRAME_CONTENT_MAX */
#define FRAG_PAYLOAD_MAX (FRAG_MTU_MAX - FRAG_HDR_BYTES)
#define FRAG_SLOTS 8u                   /* partial bundles kept */
#define FRAG_DONE_MAX 16u               /* completed (source, id) remembered */
#define FRAG_SLOT_TTL_MS (3600u * 1000u)
#define FRAG_DONE_TTL_MS (3600u * 1000u)
#define FRAG_TOTAL_MAX 16384u           /* = BUNDLE_BYTES_MAX */

/* Iridium SBD limits (ISU AT Command Reference: MO 340, MT 270 bytes). */
#define FRAG_MTU_SBD_MO 340u
#define FRAG_MTU_SBD_MT 270u

/*
 * Number of link messages a bundle of len bytes takes at this MTU: 1 when it
 * fits whole.  Returns the count, ERR_INVAL for len 0 or an MTU outside
 * [FRAG_MTU_MIN, FRAG_MTU_MAX], ERR_TOOBIG over FRAG_COUNT_MAX fragments or
 * FRAG_TOTAL_MAX bytes.
 */
int frag_count(size_t len, size_t mtu) LL_MUST_CHECK;

/*
 * Writes link message `index` (0..frag_count()-1) of the bundle into out:
 * the whole bundle when it fits, else fragment `index` with the given id
 * (use the bundle's sequence mod 128).  Returns its length, a frag_count()
 * error, ERR_INVAL for a bad index, ERR_FULL if cap is too small.
 */
ssize_t frag_get(const uint8_t *bundle, size_t len, size_t mtu, uint8_t id, unsigned index,
		 uint8_t *out, size_t cap) LL_MUST_CHECK;

struct frag_stats {
	uint64_t whole;         /* unfragmented bundles passed through */
	uint64_t fragments;     /* fragments stored */
	uint64_t completed;
	uint64_t duplicates;
	uint64_t garbage;       /* rejected as impossible */
	uint64_t evicted;       /* partial bundles dropped for room or age */
	uint64_t restarted;     /* an id reused with another count */
};

struct frag_slot {
	bool used;
	uint32_t src;
	uint8_t id;
	uint8_t count;
	uint16_t have;                          /* bit i: fragment i stored */
	uint16_t stride;                        /* non-last payload length, 0 = unknown */
	uint16_t lens[FRAG_COUNT_MAX];
	uint64_t born_ms;
	uint64_t order;                         /* insertion order, for eviction */
	uint8_t data[FRAG_COUNT_MAX * FRAG_PAYLOAD_MAX]; /* fragment i at i*PAYLOAD_MAX */
};

struct frag_done {
	bool used;
	uint32_t src;
	uint8_t id;
	uint8_t count;
	uint64_t at_ms;
};

struct frag_reasm {
	struct frag_slot slots[FRAG_SLOTS];
	struct frag_done done[FRAG_DONE_MAX];
	size_t done_next;
	uint64_t order;
	struct frag_stats st;
};

void frag_reasm_init(struct frag_reasm *r);

/*
 * Feeds one link message from source src (e.g. the modem's IMEI hash or the
 * connection's vessel) received at now_ms.  Returns
 *   1  a bundle is complete: *bundle / *blen point to it (into msg for a
 *      whole bundle, else into r), valid until the next call;
 *   0  a fragment was stored, more are needed;
 *   ERR_DUP    a fragment already held, or of a bundle just completed;
 *   ERR_INVAL  garbage (empty, bad header, inconsistent lengths);
 *   ERR_TOOBIG longer than any fragment or bundle can be.
 * Every outcome is counted in r->st.
 */
int frag_input(struct frag_reasm *r, uint32_t src, const uint8_t *msg, size_t len,
	       uint64_t now_ms, const uint8_t **bundle, size_t *blen) LL_MUST_CHECK;

/* Partial bundles currently held (for tests and status). */
size_t frag_pending(const struct frag_reasm *r);

#endif
