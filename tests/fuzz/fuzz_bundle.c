/*
 * fuzz_bundle.c — the bundle decoder on arbitrary bytes, with fixed test
 * keys (the seeds of tests/unit/test_bundle.c: vessel 1042).
 *
 * Input is tried as a bundle in both directions, as a link message through
 * the fragment reassembler (whose completed bundles are opened too), and as
 * a checkpoint encoding.  Oracle: a bundle may open only if it is exactly
 * what the holder of the key would have sealed (re-sealing the recovered
 * plaintext with the same sequence, flags and base time gives the input
 * byte for byte: XChaCha20-Poly1305 and Ed25519 are deterministic), so only
 * genuinely sealed inputs such as the seed bundles can succeed.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/bundle.h"
#include "proto/chain.h"
#include "proto/frag.h"

#define VESSEL_ID 1042u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct party {
	uint8_t kx_pk[32], kx_sk[32], sign_pk[32], sign_sk[64];
	struct bundle_keys keys;
};

static struct party vessel, shore;
static struct frag_reasm *reasm;
static bool ready;

static void party_make(struct party *p, uint8_t kx_tag, uint8_t sign_tag)
{
	uint8_t seed[32];
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(kx_tag + i);
	crypto_kx_seed_keypair(p->kx_pk, p->kx_sk, seed);
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(sign_tag + i);
	crypto_sign_seed_keypair(p->sign_pk, p->sign_sk, seed);
}

static void init(void)
{
	if (sodium_init() < 0)
		abort();
	party_make(&vessel, 0x10, 0x20);
	party_make(&shore, 0x30, 0x40);
	if (bundle_keys_vessel(&vessel.keys, vessel.kx_pk, vessel.kx_sk, shore.kx_pk) != 0 ||
	    bundle_keys_shore(&shore.keys, shore.kx_pk, shore.kx_sk, vessel.kx_pk) != 0)
		abort();
	reasm = malloc(sizeof *reasm);
	if (!reasm)
		abort();
	frag_reasm_init(reasm);
	ready = true;
}

static void try_open(const uint8_t *data, size_t size, bool to_vessel)
{
	static uint8_t plain[BUNDLE_BYTES_MAX], again[BUNDLE_BYTES_MAX];
	const struct party *to = to_vessel ? &vessel : &shore;
	const struct party *from = to_vessel ? &shore : &vessel;
	struct bundle_receiver r = { VESSEL_ID, to_vessel, to->keys.rx, from->sign_pk };
	struct bundle_window w;
	bundle_window_init(&w);
	struct bundle_hdr h;
	ssize_t n = bundle_unseal(&r, &w, data, size, &h, plain, sizeof plain);
	if (n < 0)
		return;
	/* Opened: it must be exactly what the key holder seals. */
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim = 0;
	seq_init(&s, h.seq);
	if (seq_reserve(&s, 1, &lim) != 0 || seq_confirm(&s, lim) != 0 || seq_take(&s, &t) != 0)
		abort();
	struct bundle_sender snd = { VESSEL_ID, to_vessel, from->keys.tx, from->sign_sk };
	struct bundle_opts o = { (h.flags & BUNDLE_F_SIGNED) != 0, (h.flags & BUNDLE_F_TIME) != 0,
				 h.base_time };
	ssize_t m = bundle_seal(&snd, &o, &t, plain, (size_t)n, again, sizeof again);
	if (m != (ssize_t)size || memcmp(again, data, size) != 0)
		abort();
	if (bundle_window_accept(&w, h.seq) != 0 ||
	    bundle_unseal(&r, &w, data, size, &h, plain, sizeof plain) != ERR_REPLAY)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		init();
	try_open(data, size, false);
	try_open(data, size, true);

	const uint8_t *b = NULL;
	size_t bl = 0;
	uint32_t src = size ? data[size - 1] % 4u : 0;
	if (frag_input(reasm, src, data, size, 0, &b, &bl) == 1) {
		if (bl > FRAG_TOTAL_MAX)
			abort();
		try_open(b, bl, false);
	}

	struct checkpoint cp;
	if (checkpoint_decode(data, size, &cp) == 0) {
		uint8_t enc[CHECKPOINT_ENC_MAX_BYTES];
		ssize_t n = checkpoint_encode(&cp, enc, sizeof enc);
		/* Decoding is canonical: re-encoding gives the input back. */
		if (n != (ssize_t)size || memcmp(enc, data, size) != 0)
			abort();
		const uint8_t *none[1] = { NULL };
		size_t lens[1] = { 0 };
		/* No seed checkpoint is signed over zero bundles. */
		if (checkpoint_verify(none, lens, 0, &cp, vessel.sign_pk) == 0)
			abort();
	}
	return 0;
}
