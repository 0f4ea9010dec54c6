/*
 * test_bundle.c — sealing/opening bundles, sequence tickets, replay window.
 *
 * Fixed test keys come from seeds (bytes tag, tag+1, ...), so every run
 * produces the same bytes; randomized tests use a seeded xorshift PRNG.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bundle.h"

#define VESSEL_ID 1042u
#define SEED_VESSEL_KX 0x10
#define SEED_VESSEL_SIGN 0x20
#define SEED_SHORE_KX 0x30
#define SEED_SHORE_SIGN 0x40
#define SEED_OTHER_KX 0x50

struct party {
	uint8_t kx_pk[32], kx_sk[32], sign_pk[32], sign_sk[64];
	struct bundle_keys keys;
};

static struct party vessel, shore, other;

static void seed_fill(uint8_t *b, size_t n, uint8_t tag)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(tag + i);
}

static void party_make(struct party *p, uint8_t kx_tag, uint8_t sign_tag)
{
	uint8_t seed[32];
	seed_fill(seed, sizeof seed, kx_tag);
	crypto_kx_seed_keypair(p->kx_pk, p->kx_sk, seed);
	seed_fill(seed, sizeof seed, sign_tag);
	crypto_sign_seed_keypair(p->sign_pk, p->sign_sk, seed);
}

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	party_make(&vessel, SEED_VESSEL_KX, SEED_VESSEL_SIGN);
	party_make(&shore, SEED_SHORE_KX, SEED_SHORE_SIGN);
	party_make(&other, SEED_OTHER_KX, SEED_OTHER_KX);
	if (bundle_keys_vessel(&vessel.keys, vessel.kx_pk, vessel.kx_sk, shore.kx_pk) != 0 ||
	    bundle_keys_shore(&shore.keys, shore.kx_pk, shore.kx_sk, vessel.kx_pk) != 0 ||
	    bundle_keys_vessel(&other.keys, other.kx_pk, other.kx_sk, shore.kx_pk) != 0)
		return 1;
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A ticket for seq, through the proper reserve/confirm path. */
static struct seq_ticket ticket_for(uint64_t seq)
{
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim = 0;
	seq_init(&s, seq);
	CU_ASSERT_EQUAL(seq_reserve(&s, 1, &lim), 0);
	CU_ASSERT_EQUAL(seq_confirm(&s, lim), 0);
	CU_ASSERT_EQUAL(seq_take(&s, &t), 0);
	return t;
}

static ssize_t seal(bool to_vessel, uint64_t seq, bool sign, bool has_time, const uint8_t *p,
		    size_t n, uint8_t *out, size_t cap)
{
	const struct party *from = to_vessel ? &shore : &vessel;
	struct bundle_sender snd = { VESSEL_ID, to_vessel, from->keys.tx, from->sign_sk };
	struct bundle_opts o = { sign, has_time, 1767225600u };
	struct seq_ticket t = ticket_for(seq);
	return bundle_seal(&snd, &o, &t, p, n, out, cap);
}

static struct bundle_receiver receiver(bool to_vessel)
{
	const struct party *to = to_vessel ? &vessel : &shore;
	const struct party *from = to_vessel ? &shore : &vessel;
	struct bundle_receiver r = { VESSEL_ID, to_vessel, to->keys.rx, from->sign_pk };
	return r;
}

static const uint8_t text[] = "Pay arrived? Tell mother I am well. Home in March.";

static void test_round_trip(void)
{
	static uint8_t plain[BUNDLE_PLAIN_MAX], out[BUNDLE_BYTES_MAX], back[BUNDLE_PLAIN_MAX];
	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)rng();
	const size_t sizes[] = { 0, 1, sizeof text, 1000, BUNDLE_PLAIN_MAX };
	for (int dir = 0; dir < 2; dir++)
		for (int sign = 0; sign < 2; sign++)
			for (int tm = 0; tm < 2; tm++)
				for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
					uint64_t seq = rng() >> (rng() % 64);
					ssize_t n = seal(dir, seq, sign, tm, plain, sizes[k], out, sizeof out);
					CU_ASSERT_FATAL(n > 0);
					CU_ASSERT((size_t)n <= BUNDLE_BYTES_MAX);
					struct bundle_receiver r = receiver(dir);
					struct bundle_window w;
					bundle_window_init(&w);
					struct bundle_hdr h;
					ssize_t m = bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back);
					CU_ASSERT_EQUAL(m, (ssize_t)sizes[k]);
					CU_ASSERT(m >= 0 && memcmp(back, plain, sizes[k]) == 0);
					CU_ASSERT_EQUAL(h.seq, seq);
					CU_ASSERT_EQUAL(h.vessel, VESSEL_ID);
					CU_ASSERT_EQUAL(!!(h.flags & BUNDLE_F_SIGNED), sign);
					CU_ASSERT_EQUAL(h.base_time, tm ? 1767225600u : 0);
				}
	/* Over the maximum body: refused. */
	struct bundle_sender snd = { VESSEL_ID, false, vessel.keys.tx, NULL };
	struct bundle_opts o = { false, false, 0 };
	struct seq_ticket t = ticket_for(1);
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &t, plain, BUNDLE_PLAIN_MAX + 1, out, sizeof out), ERR_TOOBIG);
}

/* Overhead of a small unsigned bundle: 3-byte header + 16-byte tag. */
static void test_overhead(void)
{
	uint8_t out[256];
	ssize_t n = seal(false, 5, false, false, text, sizeof text, out, sizeof out);
	CU_ASSERT_EQUAL(n, (ssize_t)(sizeof text + 1 + 2 + 1 + BUNDLE_TAG_BYTES)); /* vessel 1042: 2 bytes */
	n = seal(false, 5, true, false, text, sizeof text, out, sizeof out);
	CU_ASSERT_EQUAL(n, (ssize_t)(sizeof text + 4 + BUNDLE_TAG_BYTES + BUNDLE_SIG_BYTES));
	CU_ASSERT_EQUAL(seal(false, 5, false, false, text, sizeof text, out, 20), ERR_FULL);
}

static void flip_all(bool sign, bool to_vessel)
{
	uint8_t out[256], back[256];
	ssize_t n = seal(to_vessel, 300, sign, true, text, sizeof text, out, sizeof out);
	CU_ASSERT_FATAL(n > 0);
	struct bundle_receiver r = receiver(to_vessel);
	struct bundle_hdr h;
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), (ssize_t)sizeof text);
	unsigned rejected = 0;
	for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ssize_t m = bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back);
		out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT(m < 0);
		CU_ASSERT(m == ERR_AUTH || m == ERR_VERSION || m == ERR_VESSEL || m == ERR_TRUNC ||
			  m == ERR_INVAL || m == ERR_KEY);
		rejected += m < 0;
	}
	CU_ASSERT_EQUAL(rejected, (unsigned)n * 8);
}

static void test_every_bit_flip(void)
{
	flip_all(false, false);
	flip_all(true, false);
	flip_all(false, true);
	flip_all(true, true);
}

static void test_wrong_key_vessel_direction(void)
{
	uint8_t out[256], back[256];
	struct bundle_hdr h;
	ssize_t n = seal(false, 7, false, false, text, sizeof text, out, sizeof out);
	CU_ASSERT_FATAL(n > 0);
	/* Sealed by another vessel's keys under this vessel's id. */
	struct bundle_sender snd = { VESSEL_ID, false, other.keys.tx, NULL };
	struct bundle_opts o = { false, false, 0 };
	struct seq_ticket t = ticket_for(7);
	uint8_t forged[256];
	ssize_t fn = bundle_seal(&snd, &o, &t, text, sizeof text, forged, sizeof forged);
	CU_ASSERT_FATAL(fn > 0);
	struct bundle_receiver r = receiver(false);
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, forged, (size_t)fn, &h, back, sizeof back), ERR_AUTH);
	/* The receiver holding the wrong key. */
	r.rx_key = shore.keys.tx;
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), ERR_AUTH);
	/* Expecting another vessel. */
	r = receiver(false);
	r.vessel = VESSEL_ID + 1;
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), ERR_VESSEL);
	/* A vessel->shore bundle reflected back at the vessel. */
	r = receiver(true);
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), ERR_AUTH);
	/* Signed bundle but the receiver has no signing key / the wrong one. */
	n = seal(false, 8, true, false, text, sizeof text, out, sizeof out);
	r = receiver(false);
	r.sign_pk = NULL;
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), ERR_KEY);
	r.sign_pk = shore.sign_pk;
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, sizeof back), ERR_AUTH);
	/* Stripping the signature and its flag breaks the tag (header is AD). */
	out[0] &= (uint8_t)~BUNDLE_F_SIGNED;
	r = receiver(false);
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n - BUNDLE_SIG_BYTES, &h, back, sizeof back), ERR_AUTH);
	/* Small output buffer. */
	n = seal(false, 9, false, false, text, sizeof text, out, sizeof out);
	CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n, &h, back, 10), ERR_FULL);
}

static void test_truncation(void)
{
	uint8_t out[256], back[256];
	struct bundle_hdr h;
	for (int sign = 0; sign < 2; sign++) {
		ssize_t n = seal(false, 200000, sign, true, text, sizeof text, out, sizeof out);
		CU_ASSERT_FATAL(n > 0);
		struct bundle_receiver r = receiver(false);
		for (size_t len = 0; len < (size_t)n; len++) {
			/* exact-size copy so a sanitizer would see an overread */
			uint8_t *cut = malloc(len ? len : 1);
			memcpy(cut, out, len);
			ssize_t m = bundle_unseal(&r, NULL, cut, len, &h, back, sizeof back);
			CU_ASSERT(m == ERR_TRUNC || m == ERR_AUTH);
			if (len < 1 + 2 + 3 + 5 + BUNDLE_TAG_BYTES)
				CU_ASSERT_EQUAL(m, ERR_TRUNC);
			free(cut);
		}
		/* One byte more is no better. */
		out[n] = 0;
		CU_ASSERT_EQUAL(bundle_unseal(&r, NULL, out, (size_t)n + 1, &h, back, sizeof back), ERR_AUTH);
	}
}

static void test_replay_window(void)
{
	uint8_t out[256], back[256];
	struct bundle_hdr h;
	struct bundle_window w;
	bundle_window_init(&w);
	struct bundle_receiver r = receiver(false);
	ssize_t n = seal(false, 5000, false, false, text, sizeof text, out, sizeof out);
	/* Not accepted until the caller says it committed: still new. */
	CU_ASSERT(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back) > 0);
	CU_ASSERT(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back) > 0);
	CU_ASSERT_EQUAL(bundle_window_accept(&w, h.seq), 0);
	CU_ASSERT_EQUAL(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back), ERR_REPLAY);
	CU_ASSERT_EQUAL(h.seq, 5000u);        /* filled: the caller re-acknowledges */
	CU_ASSERT_EQUAL(bundle_window_accept(&w, 5000), ERR_REPLAY);
	/* Older than the window. */
	n = seal(false, 5000 - BUNDLE_WINDOW_BITS, false, false, text, sizeof text, out, sizeof out);
	CU_ASSERT_EQUAL(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back), ERR_WINDOW);
	/* Just inside the window, and older but unseen: accepted. */
	n = seal(false, 5000 - BUNDLE_WINDOW_BITS + 1, false, false, text, sizeof text, out, sizeof out);
	CU_ASSERT(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back) > 0);
	/* A forged bundle at a replayed seq is a forgery, not a replay. */
	n = seal(false, 5000, false, false, text, sizeof text, out, sizeof out);
	out[n - 1] ^= 1;
	CU_ASSERT_EQUAL(bundle_unseal(&r, &w, out, (size_t)n, &h, back, sizeof back), ERR_AUTH);
}

/* The window against a reference set, seeded random sequences. */
static void test_window_model(void)
{
	enum { RANGE = 4000, OPS = 20000 };
	static bool seen[RANGE];
	memset(seen, 0, sizeof seen);
	struct bundle_window w;
	bundle_window_init(&w);
	uint64_t highest = 0;
	bool any = false;
	for (int i = 0; i < OPS; i++) {
		uint64_t seq = any && rng() % 4 ? (highest + RANGE - 1200 + rng() % 1300) % RANGE : rng() % RANGE;
		if (i % 997 == 0)
			seq = 0;
		int expect;
		if (!any || seq > highest)
			expect = 0;
		else if (highest - seq >= BUNDLE_WINDOW_BITS)
			expect = ERR_WINDOW;
		else
			expect = seen[seq] ? ERR_REPLAY : 0;
		CU_ASSERT_EQUAL(bundle_window_check(&w, seq), expect);
		CU_ASSERT_EQUAL(bundle_window_accept(&w, seq), expect);
		if (expect == 0) {
			seen[seq] = true;
			if (!any || seq > highest)
				highest = seq;
			any = true;
		}
	}
	uint8_t enc[BUNDLE_WINDOW_ENC_BYTES];
	struct bundle_window w2;
	bundle_window_encode(&w, enc);
	CU_ASSERT_EQUAL(bundle_window_decode(&w2, enc), 0);
	CU_ASSERT_EQUAL(w.any, w2.any);
	CU_ASSERT_EQUAL(w.highest, w2.highest);
	CU_ASSERT_EQUAL(memcmp(w.bits, w2.bits, sizeof w.bits), 0);
	enc[0] = 2;
	CU_ASSERT_EQUAL(bundle_window_decode(&w2, enc), ERR_INVAL);
	/* Big jumps clear the bitmap. */
	bundle_window_init(&w);
	CU_ASSERT_EQUAL(bundle_window_accept(&w, 10), 0);
	CU_ASSERT_EQUAL(bundle_window_accept(&w, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(bundle_window_check(&w, 10), ERR_WINDOW);
	CU_ASSERT_EQUAL(bundle_window_check(&w, UINT64_MAX - 1), 0);
	CU_ASSERT_EQUAL(bundle_window_check(&w, UINT64_MAX), ERR_REPLAY);
}

static void test_nonce_and_keys(void)
{
	uint8_t a[BUNDLE_NONCE_BYTES], b[BUNDLE_NONCE_BYTES];
	for (uint64_t s = 0; s < 2000; s++) {
		uint64_t seq = rng();
		bundle_nonce(a, false, VESSEL_ID, seq);
		bundle_nonce(b, false, VESSEL_ID, seq + 1);
		CU_ASSERT(memcmp(a, b, sizeof a) != 0);
		bundle_nonce(b, true, VESSEL_ID, seq);
		CU_ASSERT(memcmp(a, b, sizeof a) != 0);
		bundle_nonce(b, false, VESSEL_ID + 1, seq);
		CU_ASSERT(memcmp(a, b, sizeof a) != 0);
	}
	/* The two directions use different keys, and each side's tx is the
	 * other's rx. */
	CU_ASSERT(memcmp(vessel.keys.tx, vessel.keys.rx, BUNDLE_KEY_BYTES) != 0);
	CU_ASSERT(memcmp(vessel.keys.tx, shore.keys.rx, BUNDLE_KEY_BYTES) == 0);
	CU_ASSERT(memcmp(vessel.keys.rx, shore.keys.tx, BUNDLE_KEY_BYTES) == 0);
	/* Same seq, both directions, same plaintext: different ciphertext. */
	uint8_t x[256], y[256];
	ssize_t nx = seal(false, 42, false, false, text, sizeof text, x, sizeof x);
	ssize_t ny = seal(true, 42, false, false, text, sizeof text, y, sizeof y);
	CU_ASSERT(nx == ny && memcmp(x + 4, y + 4, (size_t)nx - 4) != 0);
	/* An all-zero public key is refused by crypto_kx. */
	struct bundle_keys k;
	uint8_t zero[32] = { 0 };
	CU_ASSERT_EQUAL(bundle_keys_vessel(&k, vessel.kx_pk, vessel.kx_sk, zero), ERR_KEY);
}

static void test_seq_state(void)
{
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim = 0;
	uint8_t out[256];
	struct bundle_sender snd = { VESSEL_ID, false, vessel.keys.tx, NULL };
	struct bundle_opts o = { false, false, 0 };

	seq_init(&s, 0);
	CU_ASSERT_EQUAL(seq_take(&s, &t), ERR_STATE);          /* nothing reserved */
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &t, text, 4, out, sizeof out), ERR_STATE);
	CU_ASSERT_EQUAL(seq_reserve(&s, 0, &lim), ERR_INVAL);
	CU_ASSERT_EQUAL(seq_reserve(&s, 4, &lim), 0);
	CU_ASSERT_EQUAL(lim, 4u);
	CU_ASSERT_EQUAL(seq_take(&s, &t), ERR_STATE);          /* not confirmed */
	CU_ASSERT_EQUAL(seq_confirm(&s, 3), ERR_STATE);        /* not what was asked */
	CU_ASSERT_EQUAL(seq_confirm(&s, 4), 0);
	CU_ASSERT_EQUAL(seq_available(&s), 4u);
	CU_ASSERT_EQUAL(seq_take(&s, &t), 0);
	CU_ASSERT(bundle_seal(&snd, &o, &t, text, 4, out, sizeof out) > 0);
	/* The same ticket again: spent. */
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &t, text, 4, out, sizeof out), ERR_STATE);
	/* A hand-made ticket is refused. */
	struct seq_ticket forged = { 2, 0 };
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &forged, text, 4, out, sizeof out), ERR_STATE);
	/* A ticket is spent even when sealing fails. */
	CU_ASSERT_EQUAL(seq_take(&s, &t), 0);
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &t, text, 4, out, 5), ERR_FULL);
	CU_ASSERT_EQUAL(bundle_seal(&snd, &o, &t, text, 4, out, sizeof out), ERR_STATE);
	CU_ASSERT_EQUAL(seq_take(&s, &t), 0);
	CU_ASSERT_EQUAL(seq_take(&s, &t), 0);
	CU_ASSERT_EQUAL(seq_take(&s, &t), ERR_STATE);          /* used up */
	CU_ASSERT_EQUAL(seq_confirm(&s, 4), ERR_STATE);        /* no second confirm */
	seq_init(&s, UINT64_MAX - 1);
	CU_ASSERT_EQUAL(seq_reserve(&s, 2, &lim), ERR_FULL);

	/* Crashes at random points never hand out a number twice. */
	enum { ROUNDS = 3000 };
	uint64_t disk = 0, last = 0;
	bool any = false;
	seq_init(&s, disk);
	for (int i = 0; i < ROUNDS; i++) {
		switch (rng() % 5) {
		case 0:                         /* crash: restart from disk */
			seq_init(&s, disk);
			break;
		case 1:
			if (seq_reserve(&s, 1 + rng() % 8, &lim) == 0 && rng() % 2) {
				disk = lim;     /* persisted (maybe crash before confirm) */
				if (rng() % 4)
					CU_ASSERT_EQUAL(seq_confirm(&s, lim), 0);
			}
			break;
		default:
			if (seq_take(&s, &t) == 0) {
				CU_ASSERT(t.seq < disk);
				CU_ASSERT(!any || t.seq > last);
				last = t.seq;
				any = true;
			}
		}
	}
	CU_ASSERT(any);
}

static void test_header_vectors(void)
{
	static const struct { uint8_t in[24]; size_t len; int rc; } v[] = {
		{ { 0 }, 0, ERR_TRUNC },
		{ { 0x10 }, 1, ERR_TRUNC },
		{ { 0x00, 1, 1 }, 19, ERR_VERSION },                   /* version 0 */
		{ { 0x20, 1, 1 }, 19, ERR_VERSION },                   /* version 2 */
		{ { 0x18, 1, 1 }, 19, ERR_VERSION },                   /* reserved flag */
		{ { 0x10, 0x81, 0x00, 1 }, 20, ERR_INVAL },            /* non-minimal vessel */
		{ { 0x10, 1, 0x80, 0x00 }, 20, ERR_INVAL },            /* non-minimal seq */
		{ { 0x10, 0xff, 0xff, 0xff, 0xff, 0x10, 1 }, 23, ERR_INVAL }, /* vessel > 32 bits */
		{ { 0x10, 1, 1 }, 18, ERR_TRUNC },                     /* tag short by one */
		{ { 0x10, 1, 1 }, 19, 0 },
		{ { 0x14, 1, 1, 5 }, 20, 0 },                          /* with time */
		{ { 0x14, 1, 1 }, 3, ERR_TRUNC },                      /* time missing */
		{ { 0x12, 1, 1 }, 19, ERR_TRUNC },                     /* signature missing */
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t buf[128] = { 0 };
		memcpy(buf, v[i].in, sizeof v[i].in);
		struct bundle_hdr h;
		CU_ASSERT_EQUAL(bundle_header_parse(buf, v[i].len, &h), v[i].rc);
	}
	static uint8_t big[BUNDLE_BYTES_MAX + 1] = { 0x10, 1, 1 };
	struct bundle_hdr h;
	CU_ASSERT_EQUAL(bundle_header_parse(big, sizeof big, &h), ERR_TOOBIG);
	CU_ASSERT_EQUAL(bundle_header_parse(big, sizeof big - 1, &h), 0);
	CU_ASSERT_EQUAL(h.hdr_len, 3u);
}

void suite_bundle(void);
void suite_bundle(void)
{
	CU_pSuite s = CU_add_suite("bundle", setup, NULL);
	CU_add_test(s, "round trip, both directions", test_round_trip);
	CU_add_test(s, "overhead bytes", test_overhead);
	CU_add_test(s, "every single-bit flip rejected", test_every_bit_flip);
	CU_add_test(s, "wrong key, vessel, direction, signer", test_wrong_key_vessel_direction);
	CU_add_test(s, "every truncation rejected", test_truncation);
	CU_add_test(s, "replay and window errors", test_replay_window);
	CU_add_test(s, "window against a model", test_window_model);
	CU_add_test(s, "nonces and keys differ", test_nonce_and_keys);
	CU_add_test(s, "sequence tickets", test_seq_state);
	CU_add_test(s, "header vectors", test_header_vectors);
}
