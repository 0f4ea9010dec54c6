/*
 * evidence.h — signed documents (LLDOC) and complaint evidence files (pure).
 *
 * A signed document is a self-contained, byte-exact file that a court, an
 * inspector or a port-state officer can check offline with nothing but the
 * file and an Ed25519 implementation.  Version 1 (integers little-endian):
 *
 *     off  bytes  field
 *     0    5      magic "LLDOC" (4c 4c 44 4f 43)
 *     5    1      version, DOC_VERSION (1)
 *     6    1      kind (enum doc_kind): the parts that must follow, in order
 *     7    1      number of parts, 1..DOC_PARTS_MAX
 *     8    ...    parts, back to back; nothing may follow the last one
 *
 *     part:  1    type (enum doc_part_type)
 *            4    body length n, 1..DOC_BODY_MAX
 *            n    body (its own versioned layout, per type)
 *            32   signer's Ed25519 public key
 *            64   Ed25519 signature by the signer over
 *                 domain(type) || 0x00 || body
 *
 * The domain strings (doc_part_domain()) keep one party's signature of one
 * kind of thing from being passed off as another: "lifeline complaint v1"
 * (the vessel signed it on board, complaint.h), "lifeline receipt v1" (the
 * shore signed it on receipt), "lifeline statement v1" (reserved for the
 * monthly statements of issue 7).
 *
 * Kinds and their parts:
 *     1 evidence   [complaint record (vessel), complaint receipt (shore)]
 *     2 statement  [statement (shore)]          body layout: proto/statement.h
 *
 * The complaint receipt body (version 1, 85 bytes):
 *
 *     0    1      version, RECEIPT_VERSION (1)
 *     1    4      vessel id
 *     5    8      message id
 *     13   8      time received, Unix seconds (shore clock)
 *     21   32     BLAKE2b-256 of the sealed blob as received (complaint.h)
 *     53   32     the vessel's Ed25519 public key, as the shore knows it
 *
 * Evidence verifies when: both signatures verify; the receipt names the
 * complaint's signer as the vessel's key; the vessel ids and message ids of
 * record and receipt agree; both bodies parse (strict UTF-8 text).  The
 * receipt's blob hash ties it to the sealed blob the shore stored; the blob
 * itself is not in the file (the court cannot open it without the
 * inspectorate's secret key).
 *
 * Decoding goes through bounded cursors and checks every length before
 * arithmetic; decoded pointers point into the caller's input.  Order
 * (DESIGN 4): structure -> every signature -> bodies -> cross-checks.
 * Assumes sodium_init() has been called by the program.
 */
#ifndef LIFELINE_PROTO_EVIDENCE_H
#define LIFELINE_PROTO_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/complaint.h"
#include "proto/err.h"

#define DOC_MAGIC "LLDOC"
#define DOC_MAGIC_BYTES 5u
#define DOC_VERSION 1u                  /* bump on any change to the layout */
#define DOC_HDR_BYTES 8u                /* magic, version, kind, count */
#define DOC_PART_HDR_BYTES 5u           /* type, body length */
#define DOC_SIGN_PK_BYTES 32u
#define DOC_SIGN_SK_BYTES 64u
#define DOC_SIG_BYTES 64u
#define DOC_PART_TRAILER_BYTES (DOC_SIGN_PK_BYTES + DOC_SIG_BYTES)
#define DOC_PARTS_MAX 4u
/* Largest body: a complaint record is at most 8079 bytes, a statement must
 * stay under this.  The signed message is built on the stack (proto/ does
 * not allocate), hence a modest cap. */
#define DOC_BODY_MAX 32768u
#define DOC_DOMAIN_MAX 24u              /* longest domain string, NUL included */
#define DOC_BYTES_MAX (DOC_HDR_BYTES + DOC_PARTS_MAX * \
		       (DOC_PART_HDR_BYTES + DOC_BODY_MAX + DOC_PART_TRAILER_BYTES))

enum doc_kind {
	DOC_KIND_EVIDENCE = 1,
	DOC_KIND_STATEMENT = 2,         /* monthly statement, proto/statement.h */
	DOC_KIND_LAST_ = DOC_KIND_STATEMENT
};

enum doc_part_type {
	DOC_PART_COMPLAINT = 1,         /* complaint record, signed by the vessel */
	DOC_PART_RECEIPT = 2,           /* complaint receipt, signed by the shore */
	DOC_PART_STATEMENT = 3,         /* proto/statement.h, signed by the shore */
	DOC_PART_LAST_ = DOC_PART_STATEMENT
};

/* One signed part: pointers into the decoded input (or caller memory when
 * encoding). */
struct doc_part {
	enum doc_part_type type;
	const uint8_t *body;
	size_t len;
	const uint8_t *signer;          /* DOC_SIGN_PK_BYTES */
	const uint8_t *sig;             /* DOC_SIG_BYTES */
};

struct doc {
	uint8_t version;
	enum doc_kind kind;
	size_t nparts;
	struct doc_part parts[DOC_PARTS_MAX];
};

/* The domain string of a part type ("lifeline complaint v1"); NULL for an
 * unknown type.  What is signed is the string, one 0x00, then the body. */
const char *doc_part_domain(int type);
/* "complaint record", "complaint receipt", "statement"; NULL if unknown. */
const char *doc_part_name(int type);
/* "evidence", "statement"; NULL if unknown. */
const char *doc_kind_name(int kind);

/* Signs domain(type) || 0 || body[0..len) with sk.  Returns 0, ERR_INVAL
 * (unknown type), ERR_TOOBIG (len over DOC_BODY_MAX), ERR_CRYPTO. */
int doc_sign(enum doc_part_type type, const uint8_t *body, size_t len,
	     const uint8_t sk[DOC_SIGN_SK_BYTES], uint8_t sig[DOC_SIG_BYTES]) LL_MUST_CHECK;
/* Checks such a signature.  Returns 0, ERR_AUTH, ERR_INVAL, ERR_TOOBIG. */
int doc_sig_verify(enum doc_part_type type, const uint8_t *body, size_t len,
		   const uint8_t pk[DOC_SIGN_PK_BYTES], const uint8_t sig[DOC_SIG_BYTES]) LL_MUST_CHECK;

/*
 * Writes d (version DOC_VERSION) to out[0..cap); out NULL with cap 0
 * measures.  Signatures are the caller's (doc_sign()).  Returns the length,
 * ERR_INVAL (no or too many parts, unknown kind or type, parts not those
 * of the kind, empty body), ERR_TOOBIG (body), ERR_FULL (cap).
 */
ssize_t doc_encode(const struct doc *d, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Decodes the structure of in[0..len) (no signature checked) into *d.
 * Returns 0, ERR_TRUNC (ends early), ERR_TOOBIG (over DOC_BYTES_MAX or a
 * body over DOC_BODY_MAX), ERR_VERSION (not version 1, or a kind this
 * version does not know), ERR_INVAL (bad magic, part count, types not those
 * of the kind, empty body, bytes after the last part).  *why (may be NULL)
 * gets a static sentence saying what is wrong, or NULL on success.
 */
int doc_decode(const uint8_t *in, size_t len, struct doc *d, const char **why) LL_MUST_CHECK;

/* doc_decode(), then every part's signature against its own signer key.
 * Adds ERR_AUTH (a signature does not verify; *why says which). */
int doc_verify(const uint8_t *in, size_t len, struct doc *d, const char **why) LL_MUST_CHECK;

/* ---- complaint receipts --------------------------------------------------- */

#define RECEIPT_VERSION 1u              /* bump on any change to the layout */
#define RECEIPT_BYTES 85u

struct evidence_receipt {
	uint32_t vessel;
	uint64_t msg_id;
	uint64_t received;              /* Unix seconds, shore clock */
	uint8_t blob_hash[COMPLAINT_HASH_BYTES];
	uint8_t vessel_pk[DOC_SIGN_PK_BYTES];
};

/* Encodes r into out (always RECEIPT_BYTES). */
void evidence_receipt_encode(const struct evidence_receipt *r, uint8_t out[RECEIPT_BYTES]);
/* Parses exactly in[0..len).  0, ERR_TRUNC, ERR_VERSION, ERR_INVAL (extra
 * bytes). */
int evidence_receipt_parse(const uint8_t *in, size_t len, struct evidence_receipt *r) LL_MUST_CHECK;
/* The shore's side, when a complaint arrives: encodes r into body and signs
 * it with the shore key.  Store body, sig and the shore public key; they go
 * into the evidence file later.  0 or ERR_CRYPTO. */
int evidence_receipt_sign(const struct evidence_receipt *r, const uint8_t shore_sk[DOC_SIGN_SK_BYTES],
			  uint8_t body[RECEIPT_BYTES], uint8_t sig[DOC_SIG_BYTES]) LL_MUST_CHECK;

/* ---- evidence files ------------------------------------------------------- */

/*
 * Writes an evidence document (kind 1): the signed complaint record
 * (from complaint_open(): record, record_len, sig) with the vessel's key,
 * and the stored shore receipt with the shore's key and signature.  Checks
 * nothing cryptographic: run evidence_verify() on the result before handing
 * it out.  Returns the length (out NULL, cap 0: measures) or doc_encode()'s
 * errors.
 */
ssize_t evidence_encode(const uint8_t *record, size_t record_len,
			const uint8_t vessel_pk[DOC_SIGN_PK_BYTES],
			const uint8_t vessel_sig[DOC_SIG_BYTES],
			const uint8_t receipt[RECEIPT_BYTES],
			const uint8_t shore_pk[DOC_SIGN_PK_BYTES],
			const uint8_t shore_sig[DOC_SIG_BYTES],
			uint8_t *out, size_t cap) LL_MUST_CHECK;

/* What a verified evidence file says.  Pointers point into the input. */
struct evidence {
	struct complaint c;                     /* c.text points into record */
	const uint8_t *record;
	size_t record_len;
	const uint8_t *vessel_pk;
	const uint8_t *vessel_sig;
	struct evidence_receipt receipt;
	const uint8_t *shore_pk;
	const uint8_t *shore_sig;
};

/*
 * Verifies an evidence file completely, offline.  Returns 0 with *ev
 * filled, or: doc_verify()'s errors; ERR_VERSION (a document of another
 * kind, or a record or receipt version this code does not know); ERR_INVAL,
 * ERR_TRUNC, ERR_TOOBIG (malformed record or receipt); ERR_UTF8 (text);
 * ERR_KEY (the receipt names another vessel key than the complaint's
 * signer); ERR_VESSEL (vessel ids differ); ERR_NOTFOUND (message ids
 * differ: the receipt is for another message).  *why (may be NULL) gets a
 * static sentence naming exactly what failed.
 */
int evidence_verify(const uint8_t *in, size_t len, struct evidence *ev, const char **why) LL_MUST_CHECK;

#endif
