/*
 * chain.c — the hash chain over sent bundles and its signed checkpoints.
 *
 * What it is for: one Ed25519 signature covering many bundles, checkable by
 * a third party from stored bundles alone (see chain.h for the formulas).
 *
 * Invariants: a chain only grows by bundles of its own vessel and direction
 * in strictly increasing sequence order; each bundle's sequence is read from
 * its own header, so the hashed sequence cannot disagree with the bundle;
 * the signed message is a fixed-width, domain-separated encoding distinct
 * from the bundle signature's.
 *
 * Failure behaviour: functions return a negative enum err and leave the
 * chain unchanged.  Pure: no allocation, no I/O; assumes sodium_init().
 */
#include "proto/chain.h"

#include <sodium.h>
#include <string.h>

#include "proto/bundle.h"
#include "proto/varint.h"

#define BYTE_BITS 8u
#define U32_BYTES 4u
#define U64_BYTES 8u
#define CHECKPOINT_VERSION_SHIFT 4u
#define CHECKPOINT_F_TO_VESSEL 0x01u
#define CHECKPOINT_FLAGS_MASK 0x0fu

static const char chain_domain[] = "lifeline chain v1";
static const char checkpoint_domain[] = "lifeline checkpoint v1";

/* domain || dir || vessel LE32 || first LE64 || last LE64 || count LE32 || h */
#define CHECKPOINT_MSG_BYTES (sizeof checkpoint_domain + 1u + U32_BYTES + 2u * U64_BYTES + \
			      U32_BYTES + CHAIN_HASH_BYTES)

static void le_put(uint8_t *out, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

static void chain_h0(uint8_t h[CHAIN_HASH_BYTES], uint32_t vessel, bool to_vessel)
{
	uint8_t in[sizeof chain_domain + 1u + U32_BYTES];
	memcpy(in, chain_domain, sizeof chain_domain);
	in[sizeof chain_domain] = to_vessel ? 1 : 0;
	le_put(in + sizeof chain_domain + 1u, vessel, U32_BYTES);
	crypto_generichash(h, CHAIN_HASH_BYTES, in, sizeof in, NULL, 0);
}

/* h = BLAKE2b-256(h || seq LE64 || BLAKE2b-256(bundle)) */
static void chain_step(uint8_t h[CHAIN_HASH_BYTES], uint64_t seq, const uint8_t *b, size_t n)
{
	uint8_t in[CHAIN_HASH_BYTES + U64_BYTES + CHAIN_HASH_BYTES];
	memcpy(in, h, CHAIN_HASH_BYTES);
	le_put(in + CHAIN_HASH_BYTES, seq, U64_BYTES);
	crypto_generichash(in + CHAIN_HASH_BYTES + U64_BYTES, CHAIN_HASH_BYTES, b, n, NULL, 0);
	crypto_generichash(h, CHAIN_HASH_BYTES, in, sizeof in, NULL, 0);
}

/* Checks a bundle against (vessel, direction); returns its sequence. */
static int bundle_seq(const uint8_t *b, size_t n, uint32_t vessel, bool to_vessel, uint64_t *seq)
{
	struct bundle_hdr h;
	int rc = bundle_header_parse(b, n, &h);
	if (rc < 0)
		return rc;
	if (h.vessel != vessel)
		return ERR_VESSEL;
	if (((h.flags & BUNDLE_F_TO_VESSEL) != 0) != to_vessel)
		return ERR_INVAL;
	*seq = h.seq;
	return 0;
}

void chain_init(struct chain *c, uint32_t vessel, bool to_vessel)
{
	memset(c, 0, sizeof *c);
	c->vessel = vessel;
	c->to_vessel = to_vessel;
	chain_h0(c->h, vessel, to_vessel);
}

int chain_add(struct chain *c, const uint8_t *bundle, size_t len, uint64_t now_ms)
{
	uint64_t seq = 0;
	int rc = bundle_seq(bundle, len, c->vessel, c->to_vessel, &seq);
	if (rc < 0)
		return rc;
	if (c->count >= CHAIN_COUNT_MAX)
		return ERR_FULL;
	if (c->count > 0 && seq <= c->last)
		return ERR_STATE;
	chain_step(c->h, seq, bundle, len);
	if (c->count == 0) {
		c->first = seq;
		c->first_ms = now_ms;
	}
	c->last = seq;
	c->count++;
	return 0;
}

bool chain_checkpoint_due(const struct chain *c, uint64_t now_ms)
{
	if (c->count == 0)
		return false;
	if (c->count >= CHAIN_CHECKPOINT_EVERY)
		return true;
	return now_ms >= c->first_ms && now_ms - c->first_ms >= CHAIN_CHECKPOINT_AGE_MS;
}

static void checkpoint_message(const struct checkpoint *cp, uint8_t msg[CHECKPOINT_MSG_BYTES])
{
	size_t o = 0;
	memcpy(msg, checkpoint_domain, sizeof checkpoint_domain);
	o += sizeof checkpoint_domain;
	msg[o++] = cp->to_vessel ? 1 : 0;
	le_put(msg + o, cp->vessel, U32_BYTES);
	o += U32_BYTES;
	le_put(msg + o, cp->first, U64_BYTES);
	o += U64_BYTES;
	le_put(msg + o, cp->last, U64_BYTES);
	o += U64_BYTES;
	le_put(msg + o, cp->count, U32_BYTES);
	o += U32_BYTES;
	memcpy(msg + o, cp->h_last, CHAIN_HASH_BYTES);
}

int checkpoint_sign(const struct chain *c, const uint8_t sk[CHAIN_SIGN_SK_BYTES],
		    struct checkpoint *cp)
{
	if (c->count == 0)
		return ERR_STATE;
	memset(cp, 0, sizeof *cp);
	cp->vessel = c->vessel;
	cp->to_vessel = c->to_vessel;
	cp->first = c->first;
	cp->last = c->last;
	cp->count = c->count;
	memcpy(cp->h_last, c->h, CHAIN_HASH_BYTES);
	uint8_t msg[CHECKPOINT_MSG_BYTES];
	checkpoint_message(cp, msg);
	if (crypto_sign_detached(cp->sig, NULL, msg, sizeof msg, sk) != 0)
		return ERR_CRYPTO;
	return 0;
}

int checkpoint_verify(const uint8_t *const bundles[], const size_t lens[], size_t n,
		      const struct checkpoint *cp, const uint8_t pk[CHAIN_SIGN_PK_BYTES])
{
	uint8_t msg[CHECKPOINT_MSG_BYTES];
	checkpoint_message(cp, msg);
	if (crypto_sign_verify_detached(cp->sig, msg, sizeof msg, pk) != 0)
		return ERR_AUTH;
	if (n != cp->count)
		return ERR_NOTFOUND;
	uint8_t h[CHAIN_HASH_BYTES];
	chain_h0(h, cp->vessel, cp->to_vessel);
	uint64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = 0;
		int rc = bundle_seq(bundles[i], lens[i], cp->vessel, cp->to_vessel, &seq);
		if (rc < 0)
			return rc;
		if (seq < cp->first || seq > cp->last || (i > 0 && seq <= prev))
			return ERR_STATE;
		chain_step(h, seq, bundles[i], lens[i]);
		prev = seq;
	}
	if (sodium_memcmp(h, cp->h_last, CHAIN_HASH_BYTES) != 0)
		return ERR_AUTH;
	return 0;
}

ssize_t checkpoint_encode(const struct checkpoint *cp, uint8_t *out, size_t cap)
{
	if (cp->last < cp->first || cp->count == 0 || cp->count > CHAIN_COUNT_MAX ||
	    cp->count - 1u > cp->last - cp->first)
		return ERR_INVAL;
	struct wcursor w;
	wcursor_init(&w, out, cap);
	wcursor_put_u8(&w, (uint8_t)((CHECKPOINT_VERSION << CHECKPOINT_VERSION_SHIFT) |
				     (cp->to_vessel ? CHECKPOINT_F_TO_VESSEL : 0)));
	wcursor_put_varint(&w, cp->vessel);
	wcursor_put_varint(&w, cp->first);
	wcursor_put_varint(&w, cp->last - cp->first);
	wcursor_put_varint(&w, cp->count);
	wcursor_put_bytes(&w, cp->h_last, CHAIN_HASH_BYTES);
	wcursor_put_bytes(&w, cp->sig, CHAIN_SIG_BYTES);
	if (w.full)
		return ERR_FULL;
	return (ssize_t)w.len;
}

int checkpoint_decode(const uint8_t *in, size_t len, struct checkpoint *cp)
{
	struct cursor c;
	cursor_init(&c, in, len);
	uint8_t b0 = 0;
	int rc = cursor_get_u8(&c, &b0);
	if (rc < 0)
		return rc;
	if ((b0 >> CHECKPOINT_VERSION_SHIFT) != CHECKPOINT_VERSION ||
	    (b0 & CHECKPOINT_FLAGS_MASK & ~CHECKPOINT_F_TO_VESSEL) != 0)
		return ERR_VERSION;
	uint64_t vessel = 0, first = 0, span = 0, count = 0;
	const uint8_t *h = NULL, *sig = NULL;
	rc = cursor_get_varint_max(&c, UINT32_MAX, &vessel);
	if (rc == 0)
		rc = cursor_get_varint(&c, &first);
	if (rc == 0)
		rc = cursor_get_varint_max(&c, UINT64_MAX - first, &span);
	if (rc == 0)
		rc = cursor_get_varint_max(&c, CHAIN_COUNT_MAX, &count);
	if (rc == 0)
		rc = cursor_get_bytes(&c, CHAIN_HASH_BYTES, &h);
	if (rc == 0)
		rc = cursor_get_bytes(&c, CHAIN_SIG_BYTES, &sig);
	if (rc < 0)
		return rc;
	if (c.len != 0 || count == 0 || count - 1u > span)
		return ERR_INVAL;
	memset(cp, 0, sizeof *cp);
	cp->vessel = (uint32_t)vessel;
	cp->to_vessel = (b0 & CHECKPOINT_F_TO_VESSEL) != 0;
	cp->first = first;
	cp->last = first + span;
	cp->count = (uint32_t)count;
	memcpy(cp->h_last, h, CHAIN_HASH_BYTES);
	memcpy(cp->sig, sig, CHAIN_SIG_BYTES);
	return 0;
}
