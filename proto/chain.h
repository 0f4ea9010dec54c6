/*
 * chain.h — hash chain over bundles and signed checkpoints (pure).
 *
 * Every message must be covered by the sender's Ed25519 signature.  Instead
 * of 64 bytes per bundle, the sender hashes every bundle it sends into a
 * chain and, every CHAIN_CHECKPOINT_EVERY bundles (or CHAIN_CHECKPOINT_AGE_MS
 * after the first unsigned one), signs one CHECKPOINT over the chain:
 *
 *     h_0 = BLAKE2b-256("lifeline chain v1" || dir || vessel LE32)
 *     h_i = BLAKE2b-256(h_{i-1} || seq_i LE64 || BLAKE2b-256(bundle_i))
 *
 * over the bundles of one range in increasing sequence order, bundle_i being
 * the exact bytes as sent (signature included, if any).  Each checkpoint
 * range starts again from h_0, so a third party holding only the stored
 * bundles of the range, the checkpoint and the sender's public key can check
 * every bundle of it (checkpoint_verify()), without the session keys.  Gaps
 * in sequence numbers inside a range are numbers burned by a crash; the
 * signed count says how many bundles the range holds.
 *
 * The chain is caller-embedded state: the sender persists it in the same
 * transaction that stores the sealed bundle, or a crash could leave a sent
 * bundle outside the chain.  Assumes sodium_init() was called.
 */
#ifndef LIFELINE_PROTO_CHAIN_H
#define LIFELINE_PROTO_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define CHAIN_HASH_BYTES 32u            /* BLAKE2b-256 */
#define CHAIN_SIG_BYTES 64u             /* Ed25519 */
#define CHAIN_SIGN_PK_BYTES 32u
#define CHAIN_SIGN_SK_BYTES 64u
#define CHAIN_COUNT_MAX 65535u          /* bundles under one checkpoint */
/* Default policy (PROTOCOL.md "Chain and checkpoints"): a checkpoint after
 * 32 bundles, or 6 hours after the first bundle not yet covered. */
#define CHAIN_CHECKPOINT_EVERY 32u
#define CHAIN_CHECKPOINT_AGE_MS (6u * 3600u * 1000u)

#define CHECKPOINT_VERSION 1u           /* bump on any change to the layout */
/* Encoded: byte 0, 4 varints, hash, signature. */
#define CHECKPOINT_ENC_MAX_BYTES (1u + 5u + 10u + 10u + 3u + CHAIN_HASH_BYTES + CHAIN_SIG_BYTES)

struct chain {
	uint8_t h[CHAIN_HASH_BYTES];    /* h_count */
	uint32_t vessel;
	bool to_vessel;                 /* direction of the chained bundles */
	uint64_t first;                 /* sequence of the first bundle (count > 0) */
	uint64_t last;                  /* sequence of the last bundle (count > 0) */
	uint32_t count;
	uint64_t first_ms;              /* when the first bundle was added */
};

struct checkpoint {
	uint32_t vessel;
	bool to_vessel;
	uint64_t first;
	uint64_t last;
	uint32_t count;
	uint8_t h_last[CHAIN_HASH_BYTES];
	uint8_t sig[CHAIN_SIG_BYTES];
};

/* Starts an empty range (h = h_0) for one vessel and direction. */
void chain_init(struct chain *c, uint32_t vessel, bool to_vessel);

/*
 * Adds one sealed bundle (the bytes as sent).  Its header must name the
 * chain's vessel and direction, and its sequence must be above the last one.
 * Returns 0, a bundle_header_parse() error, ERR_VESSEL, ERR_INVAL (wrong
 * direction), ERR_STATE (sequence not increasing), ERR_FULL (count at
 * CHAIN_COUNT_MAX: sign a checkpoint first).
 */
int chain_add(struct chain *c, const uint8_t *bundle, size_t len, uint64_t now_ms) LL_MUST_CHECK;

/* True when the default policy wants a checkpoint now. */
bool chain_checkpoint_due(const struct chain *c, uint64_t now_ms);

/*
 * Signs a checkpoint over the range so far.  The caller then starts the
 * next range with chain_init().  Returns 0, ERR_STATE for an empty range,
 * ERR_CRYPTO.
 */
int checkpoint_sign(const struct chain *c, const uint8_t sk[CHAIN_SIGN_SK_BYTES],
		    struct checkpoint *cp) LL_MUST_CHECK;

/*
 * Verifies a checkpoint and every bundle of its range: bundles[0..n) with
 * lengths lens[], in increasing sequence order, exactly the range's bundles.
 * Returns 0 if all are exactly what the signer sent; ERR_AUTH for a bad
 * signature or a chain mismatch (a modified bundle); ERR_NOTFOUND if n
 * differs from the signed count (a missing or extra bundle); ERR_STATE for
 * bundles out of order or outside [first, last]; ERR_VESSEL or ERR_INVAL for
 * a bundle of another vessel or direction; a bundle_header_parse() error.
 */
int checkpoint_verify(const uint8_t *const bundles[], const size_t lens[], size_t n,
		      const struct checkpoint *cp, const uint8_t pk[CHAIN_SIGN_PK_BYTES]) LL_MUST_CHECK;

/* Encodes a checkpoint for a CHECKPOINT record body.  Returns the length,
 * ERR_FULL if cap is too small, ERR_INVAL for an inconsistent checkpoint. */
ssize_t checkpoint_encode(const struct checkpoint *cp, uint8_t *out, size_t cap) LL_MUST_CHECK;

/* Decodes one (the whole input).  Returns 0, ERR_TRUNC, ERR_VERSION,
 * ERR_INVAL (bad varint, trailing bytes, count 0 or over last-first+1). */
int checkpoint_decode(const uint8_t *in, size_t len, struct checkpoint *cp) LL_MUST_CHECK;

#endif
