/*
 * bundle.h — the unit that travels: a sealed, optionally signed bundle (pure).
 *
 * Wire layout (see proto/PROTOCOL.md, "Bundles"):
 *
 *     byte 0        version (high 4 bits, 1..7) | flags (low 4 bits)
 *     varint        vessel id (LEB128, minimal, fits uint32)
 *     varint        sequence number (LEB128, minimal, fits uint64)
 *     [varint]      base time, Unix seconds, when BUNDLE_F_TIME is set
 *     ciphertext    XChaCha20-Poly1305-IETF(body), tag (16 bytes) at the end;
 *                   associated data = every header byte above
 *     [64 bytes]    Ed25519 signature, when BUNDLE_F_SIGNED is set
 *
 * The nonce is never sent: it is derived from direction, vessel and sequence
 * (bundle_nonce()).  The key is the direction's crypto_kx session key, so the
 * two directions never share a key either.
 *
 * Invariant "no nonce is ever reused" (DESIGN 3) is carried by the types:
 * bundle_seal() takes a struct seq_ticket, and the only way to get one is
 * seq_take(), which refuses to hand out a number at or above the durable
 * limit the caller has persisted and confirmed:
 *
 *     seq_init(&s, limit_read_from_disk);          // after every start
 *     seq_reserve(&s, 64, &limit);                 // 1. ask for numbers
 *     store_put("seq_limit", limit); fsync/commit; // 2. persist the limit
 *     seq_confirm(&s, limit);                      // 3. only then confirm
 *     seq_take(&s, &ticket);                       // 4. ERR_STATE if none
 *     bundle_seal(..., &ticket, ...);              // 5. spends the ticket
 *
 * A crash between any two steps burns numbers (seq_init() starts at the
 * persisted limit), never reuses one.  A ticket is single use: bundle_seal()
 * spends it even when sealing fails, so the same number can never seal two
 * different plaintexts.  Re-sending a bundle re-sends the stored bytes.
 *
 * Decoder order (DESIGN 4): bounds and header -> vessel -> signature (if
 * flagged) -> AEAD verify and decrypt -> replay window.  The window is
 * checked after authentication so that ERR_REPLAY always means "a genuine
 * bundle you already hold" (re-acknowledge it) and never a forgery.  The
 * window is updated by a separate call, bundle_window_accept(), after the
 * caller has committed the bundle, so a crash before the commit does not
 * lose it.
 *
 * Assumes sodium_init() has been called by the program.
 */
#ifndef LIFELINE_PROTO_BUNDLE_H
#define LIFELINE_PROTO_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define BUNDLE_VERSION 1u           /* bump on any change to the layout */
#define BUNDLE_VERSION_SHIFT 4u
#define BUNDLE_VERSION_MAX 7u       /* byte 0 top bit stays 0: see frag.h */
#define BUNDLE_FLAGS_MASK 0x0fu
#define BUNDLE_F_TO_VESSEL 0x01u    /* direction: 0 vessel->shore, 1 shore->vessel */
#define BUNDLE_F_SIGNED 0x02u       /* a 64-byte Ed25519 signature follows */
#define BUNDLE_F_TIME 0x04u         /* a base-time varint follows the sequence */
#define BUNDLE_F_RESERVED 0x08u     /* must be 0 in version 1 */

#define BUNDLE_KEY_BYTES 32u        /* crypto_kx session key */
#define BUNDLE_NONCE_BYTES 24u      /* XChaCha20-Poly1305-IETF */
#define BUNDLE_TAG_BYTES 16u
#define BUNDLE_SIG_BYTES 64u        /* Ed25519 */
#define BUNDLE_SIGN_PK_BYTES 32u
#define BUNDLE_SIGN_SK_BYTES 64u
#define BUNDLE_KX_PK_BYTES 32u
#define BUNDLE_KX_SK_BYTES 32u
#define BUNDLE_VARINT32_MAX_BYTES 5u
#define BUNDLE_VARINT64_MAX_BYTES 10u
/* Smallest header: byte 0, one-byte vessel, one-byte sequence. */
#define BUNDLE_HEADER_MIN_BYTES 3u
#define BUNDLE_HEADER_MAX_BYTES (1u + BUNDLE_VARINT32_MAX_BYTES + 2u * BUNDLE_VARINT64_MAX_BYTES)
#define BUNDLE_MIN_BYTES (BUNDLE_HEADER_MIN_BYTES + BUNDLE_TAG_BYTES)
/* Largest sealed bundle: what one reassembly slot holds (frag.h). */
#define BUNDLE_BYTES_MAX 16384u
#define BUNDLE_OVERHEAD_MAX (BUNDLE_HEADER_MAX_BYTES + BUNDLE_TAG_BYTES + BUNDLE_SIG_BYTES)
#define BUNDLE_PLAIN_MAX (BUNDLE_BYTES_MAX - BUNDLE_OVERHEAD_MAX)

/* Replay window: the highest accepted sequence and the 1024 below it. */
#define BUNDLE_WINDOW_BITS 1024u
#define BUNDLE_WINDOW_WORDS (BUNDLE_WINDOW_BITS / 64u)
/* bundle_window_encode(): flag byte, highest (8 LE), bitmap (8 LE each). */
#define BUNDLE_WINDOW_ENC_BYTES (1u + 8u + 8u * BUNDLE_WINDOW_WORDS)

/* ---- sequence numbers -------------------------------------------------- */

/* Caller-embedded, caller-persisted (only durable_limit needs persisting).
 * Fields are private: use the functions. */
struct seq_state {
	uint64_t next;          /* next number seq_take() hands out */
	uint64_t durable_limit; /* numbers below this are persisted as reserved */
	uint64_t pending_limit; /* asked for by seq_reserve(), not yet confirmed */
};

/* One sequence number, usable once.  Fields are private. */
struct seq_ticket {
	uint64_t seq;
	uint32_t magic;         /* set by seq_take(), cleared by bundle_seal() */
};

/* Starts from the limit last persisted (0 on first ever start).  Every
 * number below it counts as used: a crash burns, never reuses. */
void seq_init(struct seq_state *s, uint64_t persisted_limit);

/* Asks for count more numbers (1..2^32).  *new_limit is the value the caller
 * must persist durably before calling seq_confirm(new_limit).  Returns 0,
 * ERR_INVAL for count 0 or too big, ERR_FULL if the space is exhausted. */
int seq_reserve(struct seq_state *s, uint64_t count, uint64_t *new_limit) LL_MUST_CHECK;

/* Declares that `limit`, returned by the last seq_reserve(), is committed.
 * Returns 0, or ERR_STATE if it is not the pending limit. */
int seq_confirm(struct seq_state *s, uint64_t limit) LL_MUST_CHECK;

/* Issues the next number as a ticket.  Returns 0, or ERR_STATE when no
 * confirmed number is left (reserve, persist, confirm first). */
int seq_take(struct seq_state *s, struct seq_ticket *t) LL_MUST_CHECK;

/* Numbers still available without a new reservation. */
uint64_t seq_available(const struct seq_state *s);

/* ---- keys ---------------------------------------------------------------- */

/* The two session keys of one vessel-shore pair, as seen by one side.
 * Caller-owned (put it in sodium_malloc memory and wipe it after use). */
struct bundle_keys {
	uint8_t tx[BUNDLE_KEY_BYTES];   /* seals what this side sends */
	uint8_t rx[BUNDLE_KEY_BYTES];   /* opens what this side receives */
};

/* Vessel side (crypto_kx client).  Returns 0, ERR_KEY if the shore public
 * key is unacceptable. */
int bundle_keys_vessel(struct bundle_keys *k, const uint8_t vessel_pk[BUNDLE_KX_PK_BYTES],
		       const uint8_t vessel_sk[BUNDLE_KX_SK_BYTES],
		       const uint8_t shore_pk[BUNDLE_KX_PK_BYTES]) LL_MUST_CHECK;
/* Shore side (crypto_kx server).  Returns 0, ERR_KEY. */
int bundle_keys_shore(struct bundle_keys *k, const uint8_t shore_pk[BUNDLE_KX_PK_BYTES],
		      const uint8_t shore_sk[BUNDLE_KX_SK_BYTES],
		      const uint8_t vessel_pk[BUNDLE_KX_PK_BYTES]) LL_MUST_CHECK;

/* ---- header ------------------------------------------------------------ */

struct bundle_hdr {
	uint8_t version;
	uint8_t flags;          /* BUNDLE_F_* */
	uint32_t vessel;
	uint64_t seq;
	uint64_t base_time;     /* Unix seconds; 0 unless BUNDLE_F_TIME */
	size_t hdr_len;         /* bytes of header (the associated data) */
};

/*
 * Parses the header of a bundle without any cryptography (bounds only).
 * Returns 0, ERR_TRUNC if the input ends inside the header or before a
 * minimal tag (and signature, if flagged), ERR_VERSION for an unknown
 * version or reserved flag, ERR_INVAL for a non-minimal or oversized varint,
 * ERR_TOOBIG over BUNDLE_BYTES_MAX.
 */
int bundle_header_parse(const uint8_t *in, size_t len, struct bundle_hdr *h) LL_MUST_CHECK;

/* The nonce of (direction, vessel, seq): "LLb1" || dir || 0 0 0 ||
 * vessel LE32 || seq LE64 || 0 0 0 0.  Exposed for tests and the doc. */
void bundle_nonce(uint8_t nonce[BUNDLE_NONCE_BYTES], bool to_vessel, uint32_t vessel, uint64_t seq);

/* ---- sealing ----------------------------------------------------------- */

struct bundle_sender {
	uint32_t vessel;        /* the vessel's id, both directions */
	bool to_vessel;         /* false: vessel->shore, true: shore->vessel */
	const uint8_t *tx_key;  /* BUNDLE_KEY_BYTES, struct bundle_keys.tx */
	const uint8_t *sign_sk; /* BUNDLE_SIGN_SK_BYTES, or NULL if never signing */
};

struct bundle_opts {
	bool sign;              /* append an Ed25519 signature (stand-alone bundle) */
	bool has_time;          /* carry base_time in the header */
	uint64_t base_time;     /* Unix seconds, for records to delta-code against */
};

/*
 * Seals plain[0..plen) into out.  Spends *t (always, even on failure).
 * out must not overlap plain.  Returns the bundle length, or ERR_STATE for a
 * ticket not issued by seq_take() or already spent, ERR_TOOBIG if plen is
 * over BUNDLE_PLAIN_MAX, ERR_FULL if cap is too small, ERR_KEY if signing
 * is asked without a key, ERR_CRYPTO on a library failure.
 */
ssize_t bundle_seal(const struct bundle_sender *snd, const struct bundle_opts *o,
		    struct seq_ticket *t, const uint8_t *plain, size_t plen,
		    uint8_t *out, size_t cap) LL_MUST_CHECK;

/* ---- opening ----------------------------------------------------------- */

struct bundle_window {
	bool any;                               /* false until the first accept */
	uint64_t highest;                       /* highest accepted sequence */
	uint64_t bits[BUNDLE_WINDOW_WORDS];     /* bit i: highest - i accepted */
};

struct bundle_receiver {
	uint32_t vessel;        /* the vessel expected in the header */
	bool to_vessel;         /* the direction expected */
	const uint8_t *rx_key;  /* BUNDLE_KEY_BYTES, struct bundle_keys.rx */
	const uint8_t *sign_pk; /* the sender's Ed25519 key, or NULL: then a
				 * signed bundle is refused with ERR_KEY */
};

/*
 * Opens a bundle: bounds -> vessel -> signature -> AEAD -> window check.
 * On success writes the plaintext to plain (cap at least len - overhead),
 * fills *h and returns the plaintext length.  The window is NOT updated:
 * commit, then call bundle_window_accept(win, h->seq).  win may be NULL
 * (no replay check, e.g. an evidence verifier).
 * Errors: ERR_TRUNC, ERR_VERSION, ERR_INVAL, ERR_TOOBIG (header),
 * ERR_VESSEL (other vessel), ERR_AUTH (wrong direction, bad signature,
 * bad tag or wrong key), ERR_KEY (signed but no sign_pk), ERR_REPLAY
 * (authentic but already accepted: *h is filled, re-acknowledge it),
 * ERR_WINDOW (authentic but older than the window), ERR_FULL (cap).
 * The plaintext buffer is wiped on any failure.
 */
ssize_t bundle_unseal(const struct bundle_receiver *rcv, const struct bundle_window *win,
		    const uint8_t *in, size_t len, struct bundle_hdr *h,
		    uint8_t *plain, size_t cap) LL_MUST_CHECK;

/* ---- replay window ----------------------------------------------------- */

void bundle_window_init(struct bundle_window *w);
/* 0 if seq would be new, ERR_REPLAY if accepted before, ERR_WINDOW if
 * older than the window can tell. */
int bundle_window_check(const struct bundle_window *w, uint64_t seq) LL_MUST_CHECK;
/* Marks seq accepted (call after the commit).  Returns as check() would
 * have; the window is changed only on 0. */
int bundle_window_accept(struct bundle_window *w, uint64_t seq) LL_MUST_CHECK;
/* Fixed-size portable encoding for the caller's store. */
void bundle_window_encode(const struct bundle_window *w, uint8_t out[BUNDLE_WINDOW_ENC_BYTES]);
/* Returns 0 or ERR_INVAL. */
int bundle_window_decode(struct bundle_window *w, const uint8_t in[BUNDLE_WINDOW_ENC_BYTES]) LL_MUST_CHECK;

#endif
