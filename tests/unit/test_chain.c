/*
 * test_chain.c — hash chain and checkpoints: a third party verifies a range
 * from stored bundles; any modified, missing, extra or reordered bundle, or
 * a tampered checkpoint, fails.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <string.h>

#include "proto/bundle.h"
#include "proto/chain.h"

#define VESSEL_ID 77u
#define NB 12u
#define BUNDLE_CAP 256u

static uint8_t sign_pk[32], sign_sk[64], other_pk[32], other_sk[64], key[32];
static uint8_t store[NB][BUNDLE_CAP];
static size_t lens[NB];
static const uint8_t *ptrs[NB];

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	uint8_t seed[32];
	for (size_t i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0x20 + i);
	crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
	seed[0] ^= 1;
	crypto_sign_seed_keypair(other_pk, other_sk, seed);
	memset(key, 0x5a, sizeof key);
	/* Twelve bundles with a gap (seq 3 burned by a "crash"). */
	struct seq_state s;
	uint64_t lim = 0;
	seq_init(&s, 0);
	if (seq_reserve(&s, NB + 1, &lim) != 0 || seq_confirm(&s, lim) != 0)
		return 1;
	struct bundle_sender snd = { VESSEL_ID, false, key, sign_sk };
	for (size_t i = 0; i < NB; i++) {
		struct seq_ticket t;
		if (seq_take(&s, &t) != 0)
			return 1;
		if (i == 3 && seq_take(&s, &t) != 0)
			return 1;
		struct bundle_opts o = { i == 5, false, 0 };   /* one signed (SOS) */
		uint8_t body[40];
		memset(body, (int)i, sizeof body);
		ssize_t n = bundle_seal(&snd, &o, &t, body, sizeof body - i, store[i], BUNDLE_CAP);
		if (n <= 0)
			return 1;
		lens[i] = (size_t)n;
		ptrs[i] = store[i];
	}
	return 0;
}

static void make_checkpoint(struct checkpoint *cp)
{
	struct chain c;
	chain_init(&c, VESSEL_ID, false);
	for (size_t i = 0; i < NB; i++)
		CU_ASSERT_EQUAL(chain_add(&c, ptrs[i], lens[i], 1000 + i), 0);
	CU_ASSERT_EQUAL(c.count, NB);
	CU_ASSERT_EQUAL(c.first, 0u);
	CU_ASSERT_EQUAL(c.last, NB);          /* one number burned */
	CU_ASSERT_EQUAL(checkpoint_sign(&c, sign_sk, cp), 0);
}

static void test_verifies(void)
{
	struct checkpoint cp;
	make_checkpoint(&cp);
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &cp, sign_pk), 0);
	/* Through its wire encoding too. */
	uint8_t enc[CHECKPOINT_ENC_MAX_BYTES];
	ssize_t n = checkpoint_encode(&cp, enc, sizeof enc);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(n, 1 + 1 + 1 + 1 + 1 + 32 + 64);
	struct checkpoint back;
	CU_ASSERT_EQUAL(checkpoint_decode(enc, (size_t)n, &back), 0);
	CU_ASSERT_EQUAL(memcmp(&back, &cp, sizeof cp), 0);
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &back, sign_pk), 0);
	/* Every truncation of the encoding and every flip of it fails. */
	for (size_t len = 0; len < (size_t)n; len++)
		CU_ASSERT(checkpoint_decode(enc, len, &back) < 0);
	for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = checkpoint_decode(enc, (size_t)n, &back);
		if (rc == 0)
			rc = checkpoint_verify(ptrs, lens, NB, &back, sign_pk);
		CU_ASSERT(rc < 0);
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	enc[n] = 0;
	CU_ASSERT_EQUAL(checkpoint_decode(enc, (size_t)n + 1, &back), ERR_INVAL);
}

static void test_modified_missing_reordered(void)
{
	struct checkpoint cp;
	make_checkpoint(&cp);
	static uint8_t copy[NB][BUNDLE_CAP];
	const uint8_t *p[NB + 1];
	size_t l[NB + 1];
	/* Every bit of every bundle modified. */
	for (size_t i = 0; i < NB; i++) {
		memcpy(copy, store, sizeof copy);
		for (size_t k = 0; k < NB; k++) {
			p[k] = copy[k];
			l[k] = lens[k];
		}
		for (size_t bit = 0; bit < lens[i] * 8; bit++) {
			copy[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CU_ASSERT(checkpoint_verify(p, l, NB, &cp, sign_pk) < 0);
			copy[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		CU_ASSERT_EQUAL(checkpoint_verify(p, l, NB, &cp, sign_pk), 0);
	}
	/* Each bundle missing in turn. */
	for (size_t miss = 0; miss < NB; miss++) {
		size_t n = 0;
		for (size_t k = 0; k < NB; k++)
			if (k != miss) {
				p[n] = ptrs[k];
				l[n++] = lens[k];
			}
		CU_ASSERT_EQUAL(checkpoint_verify(p, l, n, &cp, sign_pk), ERR_NOTFOUND);
	}
	/* Each adjacent pair swapped. */
	for (size_t i = 0; i + 1 < NB; i++) {
		for (size_t k = 0; k < NB; k++) {
			p[k] = ptrs[k];
			l[k] = lens[k];
		}
		p[i] = ptrs[i + 1];
		l[i] = lens[i + 1];
		p[i + 1] = ptrs[i];
		l[i + 1] = lens[i];
		CU_ASSERT_EQUAL(checkpoint_verify(p, l, NB, &cp, sign_pk), ERR_STATE);
	}
	/* One bundle replaced by a duplicate of its neighbour. */
	for (size_t k = 0; k < NB; k++) {
		p[k] = ptrs[k];
		l[k] = lens[k];
	}
	p[4] = ptrs[3];
	l[4] = lens[3];
	CU_ASSERT(checkpoint_verify(p, l, NB, &cp, sign_pk) < 0);
	/* Truncated last bundle. */
	for (size_t k = 0; k < NB; k++) {
		p[k] = ptrs[k];
		l[k] = lens[k];
	}
	l[NB - 1]--;
	CU_ASSERT_EQUAL(checkpoint_verify(p, l, NB, &cp, sign_pk), ERR_AUTH);
}

static void test_tampered_checkpoint(void)
{
	struct checkpoint cp, t;
	make_checkpoint(&cp);
	t = cp; t.count--;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.last++;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.first++;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.vessel++;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.to_vessel = true;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.h_last[31] ^= 1;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	t = cp; t.sig[0] ^= 1;
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	/* Wrong public key; a checkpoint signed by someone else. */
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &cp, other_pk), ERR_AUTH);
	struct chain c;
	chain_init(&c, VESSEL_ID, false);
	for (size_t i = 0; i < NB; i++)
		CU_ASSERT_EQUAL(chain_add(&c, ptrs[i], lens[i], 0), 0);
	CU_ASSERT_EQUAL(checkpoint_sign(&c, other_sk, &t), 0);
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
	/* A bundle signature does not pass for a checkpoint: domains differ. */
	t = cp;
	memcpy(t.sig, store[5] + lens[5] - BUNDLE_SIG_BYTES, BUNDLE_SIG_BYTES);
	CU_ASSERT_EQUAL(checkpoint_verify(ptrs, lens, NB, &t, sign_pk), ERR_AUTH);
}

static void test_chain_rules(void)
{
	struct chain c;
	struct checkpoint cp;
	chain_init(&c, VESSEL_ID, false);
	CU_ASSERT_EQUAL(checkpoint_sign(&c, sign_sk, &cp), ERR_STATE);    /* empty */
	CU_ASSERT(!chain_checkpoint_due(&c, 0));
	CU_ASSERT_EQUAL(chain_add(&c, ptrs[2], lens[2], 0), 0);
	CU_ASSERT_EQUAL(chain_add(&c, ptrs[2], lens[2], 0), ERR_STATE);   /* repeat */
	CU_ASSERT_EQUAL(chain_add(&c, ptrs[1], lens[1], 0), ERR_STATE);   /* backwards */
	CU_ASSERT_EQUAL(chain_add(&c, ptrs[3], 5, 0), ERR_TRUNC);
	struct chain other;
	chain_init(&other, VESSEL_ID + 1, false);
	CU_ASSERT_EQUAL(chain_add(&other, ptrs[0], lens[0], 0), ERR_VESSEL);
	chain_init(&other, VESSEL_ID, true);
	CU_ASSERT_EQUAL(chain_add(&other, ptrs[0], lens[0], 0), ERR_INVAL);
	/* Policy: due after CHAIN_CHECKPOINT_EVERY bundles or the age limit. */
	CU_ASSERT(!chain_checkpoint_due(&c, CHAIN_CHECKPOINT_AGE_MS - 1));
	CU_ASSERT(chain_checkpoint_due(&c, CHAIN_CHECKPOINT_AGE_MS));
	c.count = CHAIN_CHECKPOINT_EVERY;
	CU_ASSERT(chain_checkpoint_due(&c, 0));
	/* A checkpoint with count over the span cannot be encoded. */
	make_checkpoint(&cp);
	cp.count = (uint32_t)(cp.last - cp.first + 2);
	uint8_t enc[CHECKPOINT_ENC_MAX_BYTES];
	CU_ASSERT_EQUAL(checkpoint_encode(&cp, enc, sizeof enc), ERR_INVAL);
}

void suite_chain(void);
void suite_chain(void)
{
	CU_pSuite s = CU_add_suite("chain", setup, NULL);
	CU_add_test(s, "checkpoint verifies from stored bundles", test_verifies);
	CU_add_test(s, "modified, missing, reordered bundles fail", test_modified_missing_reordered);
	CU_add_test(s, "tampered checkpoint fails", test_tampered_checkpoint);
	CU_add_test(s, "chain rules and policy", test_chain_rules);
}
