/*
 * bundle.c — sealing and opening bundles, sequence tickets, replay window.
 *
 * What it is for: turning an opaque body (records, compressed) into the
 * bytes that travel, encrypted and authenticated once per bundle, and back.
 *
 * Invariants:
 *  - a nonce is derived from (direction, vessel, sequence) and the sequence
 *    comes only from a ticket issued below a confirmed durable limit; a
 *    ticket is spent by the first bundle_seal() call that sees it;
 *  - nothing of the body is looked at before the tag (and the signature,
 *    when flagged) verifies; header varints are minimal, so one bundle has
 *    exactly one encoding (the chain hashes bytes as sent);
 *  - the replay window changes only through bundle_window_accept().
 *
 * Failure behaviour: every function returns a negative enum err and leaves
 * caller state unchanged (except a spent ticket); plaintext output buffers
 * are wiped on failure.  Pure: no allocation, no I/O, no clock; assumes
 * sodium_init() was called by the program.
 */
#include "proto/bundle.h"
#include "proto/varint.h"

#include <sodium.h>
#include <string.h>

#define SEQ_TICKET_MAGIC 0x5e9717c4u
#define SEQ_RESERVE_MAX (UINT64_C(1) << 32)
#define BYTE_BITS 8u
#define HASH_BYTES 32u
#define U32_BYTES 4u
#define U64_BYTES 8u

/* Domain separation for the nonce and the bundle signature. */
static const uint8_t nonce_domain[4] = { 'L', 'L', 'b', '1' };
static const char sig_domain[] = "lifeline bundle signature v1";

static void le_put(uint8_t *out, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

static uint64_t le_get(const uint8_t *in, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)in[i] << (BYTE_BITS * i);
	return v;
}

/* ---- sequence numbers --------------------------------------------------- */

void seq_init(struct seq_state *s, uint64_t persisted_limit)
{
	s->next = persisted_limit;
	s->durable_limit = persisted_limit;
	s->pending_limit = persisted_limit;
}

int seq_reserve(struct seq_state *s, uint64_t count, uint64_t *new_limit)
{
	if (count == 0 || count > SEQ_RESERVE_MAX)
		return ERR_INVAL;
	if (s->durable_limit > UINT64_MAX - count)
		return ERR_FULL;
	s->pending_limit = s->durable_limit + count;
	*new_limit = s->pending_limit;
	return 0;
}

int seq_confirm(struct seq_state *s, uint64_t limit)
{
	if (limit != s->pending_limit || limit <= s->durable_limit)
		return ERR_STATE;
	s->durable_limit = limit;
	return 0;
}

int seq_take(struct seq_state *s, struct seq_ticket *t)
{
	t->magic = 0;
	if (s->next >= s->durable_limit)
		return ERR_STATE;
	t->seq = s->next++;
	t->magic = SEQ_TICKET_MAGIC;
	return 0;
}

uint64_t seq_available(const struct seq_state *s)
{
	return s->durable_limit > s->next ? s->durable_limit - s->next : 0;
}

/* ---- keys ----------------------------------------------------------------- */

int bundle_keys_vessel(struct bundle_keys *k, const uint8_t vessel_pk[BUNDLE_KX_PK_BYTES],
		       const uint8_t vessel_sk[BUNDLE_KX_SK_BYTES],
		       const uint8_t shore_pk[BUNDLE_KX_PK_BYTES])
{
	if (crypto_kx_client_session_keys(k->rx, k->tx, vessel_pk, vessel_sk, shore_pk) != 0) {
		sodium_memzero(k, sizeof *k);
		return ERR_KEY;
	}
	return 0;
}

int bundle_keys_shore(struct bundle_keys *k, const uint8_t shore_pk[BUNDLE_KX_PK_BYTES],
		      const uint8_t shore_sk[BUNDLE_KX_SK_BYTES],
		      const uint8_t vessel_pk[BUNDLE_KX_PK_BYTES])
{
	if (crypto_kx_server_session_keys(k->rx, k->tx, shore_pk, shore_sk, vessel_pk) != 0) {
		sodium_memzero(k, sizeof *k);
		return ERR_KEY;
	}
	return 0;
}

/* ---- header --------------------------------------------------------------- */

void bundle_nonce(uint8_t nonce[BUNDLE_NONCE_BYTES], bool to_vessel, uint32_t vessel, uint64_t seq)
{
	memset(nonce, 0, BUNDLE_NONCE_BYTES);
	memcpy(nonce, nonce_domain, sizeof nonce_domain);
	nonce[sizeof nonce_domain] = to_vessel ? 1 : 0;
	le_put(nonce + 2 * U32_BYTES, vessel, U32_BYTES);
	le_put(nonce + 3 * U32_BYTES, seq, U64_BYTES);
}

int bundle_header_parse(const uint8_t *in, size_t len, struct bundle_hdr *h)
{
	memset(h, 0, sizeof *h);
	if (len < 1)
		return ERR_TRUNC;
	if (len > BUNDLE_BYTES_MAX)
		return ERR_TOOBIG;
	uint8_t version = (uint8_t)(in[0] >> BUNDLE_VERSION_SHIFT);
	uint8_t flags = (uint8_t)(in[0] & BUNDLE_FLAGS_MASK);
	if (version != BUNDLE_VERSION || (flags & BUNDLE_F_RESERVED))
		return ERR_VERSION;
	struct cursor c;
	cursor_init(&c, in + 1, len - 1);
	uint64_t vessel = 0;
	int rc = cursor_get_varint_max(&c, UINT32_MAX, &vessel);
	if (rc == 0)
		rc = cursor_get_varint(&c, &h->seq);
	if (rc == 0 && (flags & BUNDLE_F_TIME))
		rc = cursor_get_varint(&c, &h->base_time);
	if (rc < 0) {
		memset(h, 0, sizeof *h);
		return rc;
	}
	h->vessel = (uint32_t)vessel;
	size_t off = len - c.len;
	size_t trailer = BUNDLE_TAG_BYTES + ((flags & BUNDLE_F_SIGNED) ? BUNDLE_SIG_BYTES : 0);
	if (len - off < trailer)
		return ERR_TRUNC;
	h->version = version;
	h->flags = flags;
	h->hdr_len = off;
	return 0;
}

/* The signed message: domain || BLAKE2b-256(header || ciphertext). */
static void sig_message(uint8_t msg[sizeof sig_domain + HASH_BYTES], const uint8_t *p, size_t n)
{
	memcpy(msg, sig_domain, sizeof sig_domain);
	crypto_generichash(msg + sizeof sig_domain, HASH_BYTES, p, n, NULL, 0);
}

/* ---- sealing ------------------------------------------------------------- */

ssize_t bundle_seal(const struct bundle_sender *snd, const struct bundle_opts *o,
		    struct seq_ticket *t, const uint8_t *plain, size_t plen,
		    uint8_t *out, size_t cap)
{
	bool valid = t->magic == SEQ_TICKET_MAGIC;
	uint64_t seq = t->seq;
	t->magic = 0;                   /* spent, whatever happens next */
	t->seq = 0;
	if (!valid)
		return ERR_STATE;
	if (plen > BUNDLE_PLAIN_MAX)
		return ERR_TOOBIG;
	if (o->sign && !snd->sign_sk)
		return ERR_KEY;

	uint8_t hdr[BUNDLE_HEADER_MAX_BYTES];
	uint8_t flags = (uint8_t)((snd->to_vessel ? BUNDLE_F_TO_VESSEL : 0) |
				  (o->sign ? BUNDLE_F_SIGNED : 0) |
				  (o->has_time ? BUNDLE_F_TIME : 0));
	hdr[0] = (uint8_t)((BUNDLE_VERSION << BUNDLE_VERSION_SHIFT) | flags);
	struct wcursor w;
	wcursor_init(&w, hdr + 1, sizeof hdr - 1);
	wcursor_put_varint(&w, snd->vessel);
	wcursor_put_varint(&w, seq);
	if (o->has_time)
		wcursor_put_varint(&w, o->base_time);
	if (w.full)
		return ERR_INVAL;       /* cannot happen: sized for the maximum */
	size_t hlen = 1 + w.len;

	size_t total = hlen + plen + BUNDLE_TAG_BYTES + (o->sign ? BUNDLE_SIG_BYTES : 0);
	if (cap < total)
		return ERR_FULL;
	memcpy(out, hdr, hlen);

	uint8_t nonce[BUNDLE_NONCE_BYTES];
	bundle_nonce(nonce, snd->to_vessel, snd->vessel, seq);
	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + hlen, &clen, plain, plen,
						       out, hlen, NULL, nonce, snd->tx_key) != 0 ||
	    clen != plen + BUNDLE_TAG_BYTES) {
		sodium_memzero(out, total);
		return ERR_CRYPTO;
	}
	size_t signed_len = hlen + (size_t)clen;
	if (o->sign) {
		uint8_t msg[sizeof sig_domain + HASH_BYTES];
		sig_message(msg, out, signed_len);
		if (crypto_sign_detached(out + signed_len, NULL, msg, sizeof msg, snd->sign_sk) != 0) {
			sodium_memzero(out, total);
			return ERR_CRYPTO;
		}
	}
	return (ssize_t)total;
}

/* ---- opening ------------------------------------------------------------- */

ssize_t bundle_unseal(const struct bundle_receiver *rcv, const struct bundle_window *win,
		    const uint8_t *in, size_t len, struct bundle_hdr *h,
		    uint8_t *plain, size_t cap)
{
	int rc = bundle_header_parse(in, len, h);
	if (rc < 0)
		return rc;
	if (h->vessel != rcv->vessel)
		return ERR_VESSEL;
	if (((h->flags & BUNDLE_F_TO_VESSEL) != 0) != rcv->to_vessel)
		return ERR_AUTH;       /* a reflected bundle: not for this side */

	size_t body_end = len;
	if (h->flags & BUNDLE_F_SIGNED) {
		if (!rcv->sign_pk)
			return ERR_KEY;
		body_end = len - BUNDLE_SIG_BYTES;      /* parse checked the room */
		uint8_t msg[sizeof sig_domain + HASH_BYTES];
		sig_message(msg, in, body_end);
		if (crypto_sign_verify_detached(in + body_end, msg, sizeof msg, rcv->sign_pk) != 0)
			return ERR_AUTH;
	}
	size_t clen = body_end - h->hdr_len;    /* >= BUNDLE_TAG_BYTES by parse */
	size_t plen = clen - BUNDLE_TAG_BYTES;
	if (cap < plen)
		return ERR_FULL;

	uint8_t nonce[BUNDLE_NONCE_BYTES];
	bundle_nonce(nonce, rcv->to_vessel, h->vessel, h->seq);
	unsigned long long out_len = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &out_len, NULL, in + h->hdr_len, clen,
						       in, h->hdr_len, nonce, rcv->rx_key) != 0 ||
	    out_len != plen) {
		if (cap)
			sodium_memzero(plain, plen < cap ? plen : cap);
		return ERR_AUTH;
	}
	if (win) {
		rc = bundle_window_check(win, h->seq);
		if (rc < 0) {
			sodium_memzero(plain, plen);
			return rc;
		}
	}
	return (ssize_t)plen;
}

/* ---- replay window ------------------------------------------------------- */

void bundle_window_init(struct bundle_window *w)
{
	memset(w, 0, sizeof *w);
}

static bool window_bit(const struct bundle_window *w, uint64_t back)
{
	return (w->bits[back / 64u] >> (back % 64u)) & 1u;
}

int bundle_window_check(const struct bundle_window *w, uint64_t seq)
{
	if (!w->any || seq > w->highest)
		return 0;
	uint64_t back = w->highest - seq;
	if (back >= BUNDLE_WINDOW_BITS)
		return ERR_WINDOW;
	return window_bit(w, back) ? ERR_REPLAY : 0;
}

/* Shifts the bitmap toward older by `by` positions (bit i -> bit i + by). */
static void window_shift(struct bundle_window *w, uint64_t by)
{
	if (by >= BUNDLE_WINDOW_BITS) {
		memset(w->bits, 0, sizeof w->bits);
		return;
	}
	size_t words = (size_t)(by / 64u);
	unsigned bits = (unsigned)(by % 64u);
	for (size_t i = BUNDLE_WINDOW_WORDS; i-- > 0;) {
		uint64_t v = 0;
		if (i >= words) {
			v = w->bits[i - words] << bits;
			if (bits && i >= words + 1)
				v |= w->bits[i - words - 1] >> (64u - bits);
		}
		w->bits[i] = v;
	}
}

int bundle_window_accept(struct bundle_window *w, uint64_t seq)
{
	int rc = bundle_window_check(w, seq);
	if (rc < 0)
		return rc;
	if (!w->any) {
		w->any = true;
		w->highest = seq;
		memset(w->bits, 0, sizeof w->bits);
	} else if (seq > w->highest) {
		window_shift(w, seq - w->highest);
		w->highest = seq;
	}
	uint64_t back = w->highest - seq;
	w->bits[back / 64u] |= UINT64_C(1) << (back % 64u);
	return 0;
}

void bundle_window_encode(const struct bundle_window *w, uint8_t out[BUNDLE_WINDOW_ENC_BYTES])
{
	out[0] = w->any ? 1 : 0;
	le_put(out + 1, w->highest, U64_BYTES);
	for (size_t i = 0; i < BUNDLE_WINDOW_WORDS; i++)
		le_put(out + 1 + U64_BYTES * (i + 1), w->bits[i], U64_BYTES);
}

int bundle_window_decode(struct bundle_window *w, const uint8_t in[BUNDLE_WINDOW_ENC_BYTES])
{
	if (in[0] > 1)
		return ERR_INVAL;
	struct bundle_window t;
	memset(&t, 0, sizeof t);
	t.any = in[0] == 1;
	t.highest = le_get(in + 1, U64_BYTES);
	for (size_t i = 0; i < BUNDLE_WINDOW_WORDS; i++)
		t.bits[i] = le_get(in + 1 + U64_BYTES * (i + 1), U64_BYTES);
	/* An empty window has nothing set; a non-empty one has its top bit. */
	if (!t.any) {
		if (t.highest != 0)
			return ERR_INVAL;
		for (size_t i = 0; i < BUNDLE_WINDOW_WORDS; i++)
			if (t.bits[i] != 0)
				return ERR_INVAL;
	}
	if (t.any && !(t.bits[0] & 1u))
		return ERR_INVAL;
	*w = t;
	return 0;
}
