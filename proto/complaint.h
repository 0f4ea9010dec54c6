/*
 * complaint.h — a crew member's complaint: signed on board by the vessel,
 * padded to a size bucket and sealed to the inspectorate (pure).
 *
 * DESIGN invariant 5: the plaintext exists only inside vesseld's memory at
 * submission and on the inspector's machine.  What travels and is stored is
 * the sealed blob (RECORD_COMPLAINT's opaque bytes).
 *
 * The record (version 1, every integer little-endian, fixed offsets):
 *
 *     off  bytes  field
 *     0    1      version, COMPLAINT_VERSION (1)
 *     1    4      vessel id (the bundle header's vessel id)
 *     5    4      crew id
 *     9    1      category (enum complaint_category, 1..13)
 *     10   8      message id (the RECORD_COMPLAINT msg_id, vessel-unique)
 *     18   8      time written, Unix seconds (vessel clock)
 *     26   2      text length n, 0..COMPLAINT_TEXT_MAX
 *     28   n      text, strictly valid UTF-8
 *
 * The vessel signs it:  sig = Ed25519(vessel sign key,
 *                                     "lifeline complaint v1" 0x00 || record)
 * (the domain string with its NUL, as the chain and checkpoint signatures
 * do, so no other Lifeline signature can be replayed as a complaint's).
 *
 * The sealed plaintext is  record || sig (64) || 0x80 || 0x00 ... 0x00,
 * ISO/IEC 7816-4 padding to (bucket - 48) bytes, so the blob is exactly one
 * of COMPLAINT_BUCKETS sizes: 256, 512, 1024, 2048, 4096, 8192 bytes.  The
 * blob is crypto_box_seal(plaintext, inspectorate X25519 public key):
 * 32-byte ephemeral public key || XSalsa20-Poly1305 box (16-byte tag).  The
 * padding is inside the box, hence authenticated; it is unambiguous (the
 * last non-zero byte is the 0x80 marker) and the record's own length field
 * must then account for every byte before the signature.
 *
 * Text capacity per bucket: bucket - 141 bytes (48 seal, 64 signature,
 * 1 pad marker, 28 header): 115, 371, 883, 1907, 3955, 8051.  The smallest
 * bucket fits one Iridium SBD MO message (340 bytes) with its record and
 * bundle overhead.
 *
 * crypto_box_seal is anonymous: anyone holding the inspectorate's public key
 * can make a blob.  The vessel signature is what says who wrote it; open
 * then verify (complaint_open(), complaint_verify()).
 *
 * Assumes sodium_init() has been called by the program.
 */
#ifndef LIFELINE_PROTO_COMPLAINT_H
#define LIFELINE_PROTO_COMPLAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define COMPLAINT_VERSION 1u            /* bump on any change to the record */
#define COMPLAINT_HDR_BYTES 28u         /* fixed fields before the text */
#define COMPLAINT_SIG_BYTES 64u         /* Ed25519 */
#define COMPLAINT_SIGN_PK_BYTES 32u
#define COMPLAINT_SIGN_SK_BYTES 64u     /* libsodium form: seed || pk */
#define COMPLAINT_KX_PK_BYTES 32u       /* X25519 (the key file's kx key) */
#define COMPLAINT_KX_SK_BYTES 32u
#define COMPLAINT_SEAL_BYTES 48u        /* crypto_box_SEALBYTES */
#define COMPLAINT_HASH_BYTES 32u        /* BLAKE2b-256 of a sealed blob */
#define COMPLAINT_PAD_MARKER 0x80u      /* ISO/IEC 7816-4 */
#define COMPLAINT_PAD_MIN 1u            /* the marker byte */
#define COMPLAINT_BLOB_MIN 256u         /* smallest bucket */
#define COMPLAINT_BLOB_MAX 8192u        /* largest bucket == RECORD_BLOB_MAX */
#define COMPLAINT_BUCKETS 6u            /* 256 << 0 .. 256 << 5 */
#define COMPLAINT_PLAIN_MAX (COMPLAINT_BLOB_MAX - COMPLAINT_SEAL_BYTES)
/* Largest text: what still fits the largest bucket (8051 bytes). */
#define COMPLAINT_TEXT_MAX (COMPLAINT_PLAIN_MAX - COMPLAINT_SIG_BYTES - \
			    COMPLAINT_PAD_MIN - COMPLAINT_HDR_BYTES)
#define COMPLAINT_RECORD_MAX (COMPLAINT_HDR_BYTES + COMPLAINT_TEXT_MAX)
/* Per bucket, the overhead on top of the text. */
#define COMPLAINT_OVERHEAD (COMPLAINT_SEAL_BYTES + COMPLAINT_SIG_BYTES + \
			    COMPLAINT_PAD_MIN + COMPLAINT_HDR_BYTES)
/* The signature's domain, NUL included in what is signed. */
#define COMPLAINT_SIG_DOMAIN "lifeline complaint v1"

/* Stable wire codes: never renumber, never reuse.  1..11 are the ILO's
 * eleven indicators of forced labour (ILO, "ILO Indicators of Forced
 * Labour", 2012), in the ILO's order. */
enum complaint_category {
	COMPLAINT_CAT_VULNERABILITY = 1, /* abuse of vulnerability */
	COMPLAINT_CAT_DECEPTION = 2,
	COMPLAINT_CAT_MOVEMENT = 3,      /* restriction of movement */
	COMPLAINT_CAT_ISOLATION = 4,
	COMPLAINT_CAT_VIOLENCE = 5,      /* physical and sexual violence */
	COMPLAINT_CAT_THREATS = 6,       /* intimidation and threats */
	COMPLAINT_CAT_DOCUMENTS = 7,     /* retention of identity documents */
	COMPLAINT_CAT_WAGES = 8,         /* withholding of wages */
	COMPLAINT_CAT_DEBT = 9,          /* debt bondage */
	COMPLAINT_CAT_CONDITIONS = 10,   /* abusive working and living conditions */
	COMPLAINT_CAT_OVERTIME = 11,     /* excessive overtime */
	COMPLAINT_CAT_INJURY = 12,       /* injury or illness */
	COMPLAINT_CAT_OTHER = 13,
	COMPLAINT_CAT_FIRST_ = COMPLAINT_CAT_VULNERABILITY,
	COMPLAINT_CAT_LAST_ = COMPLAINT_CAT_OTHER
};

/* Short name ("wages"); NULL for a value outside the enum. */
const char *complaint_category_name(int cat);
/* The ILO's wording ("Withholding of wages"); NULL outside the enum. */
const char *complaint_category_title(int cat);
/* Short name (ASCII case-insensitive) or decimal code -> category.
 * 0, or ERR_INVAL. */
int complaint_category_parse(const char *s, enum complaint_category *cat) LL_MUST_CHECK;

/* The fields of a record.  text points at caller memory when encoding and
 * into the parsed input when parsing (no copy). */
struct complaint {
	uint32_t vessel;
	uint32_t crew;
	enum complaint_category category;
	uint64_t msg_id;
	uint64_t ts;            /* Unix seconds */
	const uint8_t *text;    /* UTF-8; NULL only when text_len is 0 */
	size_t text_len;        /* <= COMPLAINT_TEXT_MAX */
};

/*
 * Encodes c as a version-1 record into out[0..cap) (out NULL with cap 0:
 * measures only).  Returns its length
 * (COMPLAINT_HDR_BYTES + text_len), ERR_INVAL for a bad category,
 * ERR_TOOBIG for text over COMPLAINT_TEXT_MAX, ERR_UTF8 for invalid UTF-8,
 * ERR_FULL when cap is too small (out is then wiped).
 */
ssize_t complaint_record_encode(const struct complaint *c, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Parses a record that is exactly in[0..len).  c->text points into in.
 * Returns 0, ERR_TRUNC (ends early), ERR_VERSION (unknown version),
 * ERR_INVAL (unknown category, bytes after the text), ERR_TOOBIG (text
 * length over COMPLAINT_TEXT_MAX), ERR_UTF8 (text not strictly UTF-8).
 */
int complaint_record_parse(const uint8_t *in, size_t len, struct complaint *c) LL_MUST_CHECK;

/* The blob size (bucket) for a record of record_len bytes: the smallest of
 * 256 << k holding record, signature, a pad marker and the seal; 0 when it
 * fits none. */
size_t complaint_bucket(size_t record_len);

/* True if n is one of the bucket sizes. */
bool complaint_is_bucket(size_t n);

/*
 * Signs and seals c on board.  Writes the blob (complaint_bucket() bytes,
 * at most COMPLAINT_BLOB_MAX == RECORD_BLOB_MAX) to blob[0..cap).  Every
 * plaintext buffer is wiped before return.  Returns the blob length, or
 * complaint_record_encode()'s errors, ERR_FULL (cap), ERR_CRYPTO.
 */
ssize_t complaint_seal(const struct complaint *c,
		       const uint8_t vessel_sign_sk[COMPLAINT_SIGN_SK_BYTES],
		       const uint8_t inspector_kx_pk[COMPLAINT_KX_PK_BYTES],
		       uint8_t *blob, size_t cap) LL_MUST_CHECK;

/* What complaint_open() recovers.  Holds plaintext: keep it in
 * sodium_malloc() memory or wipe it (complaint_opened_wipe()).  c.text
 * points into record: do not copy the struct, pass a pointer. */
struct complaint_opened {
	uint8_t record[COMPLAINT_RECORD_MAX];   /* the exact signed bytes */
	size_t record_len;
	uint8_t sig[COMPLAINT_SIG_BYTES];       /* the vessel's signature */
	struct complaint c;                     /* c.text points into record */
};

/*
 * Opens a blob with the inspectorate's X25519 pair and parses what is in
 * it.  The vessel signature is NOT checked here: call complaint_verify()
 * with the key of the vessel c.vessel names.  Order (DESIGN 4): size ->
 * decrypt and authenticate -> padding -> record.  Returns 0, ERR_INVAL
 * (size not a bucket, bad padding, record length not matching), ERR_AUTH
 * (not sealed to this key, or altered), and complaint_record_parse()'s
 * errors.  *o is wiped on any failure.
 */
int complaint_open(const uint8_t inspector_kx_pk[COMPLAINT_KX_PK_BYTES],
		   const uint8_t inspector_kx_sk[COMPLAINT_KX_SK_BYTES],
		   const uint8_t *blob, size_t len, struct complaint_opened *o) LL_MUST_CHECK;

/* Wipes *o. */
void complaint_opened_wipe(struct complaint_opened *o);

/*
 * Checks the vessel's signature over record[0..len).  Returns 0, or
 * ERR_KEY: not signed by this key (a wrong vessel key, or a record altered
 * after signing; the seal alone cannot tell who wrote a blob).
 */
int complaint_verify(const uint8_t vessel_sign_pk[COMPLAINT_SIGN_PK_BYTES],
		     const uint8_t *record, size_t len,
		     const uint8_t sig[COMPLAINT_SIG_BYTES]) LL_MUST_CHECK;

/* BLAKE2b-256 (unkeyed, 32-byte digest; `b2sum -l 256`) of a sealed blob as
 * stored and received: what shore receipts name. */
void complaint_blob_hash(const uint8_t *blob, size_t len, uint8_t out[COMPLAINT_HASH_BYTES]);

#endif
