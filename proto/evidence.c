/*
 * evidence.c — signed documents (LLDOC), complaint receipts, evidence files.
 *
 * For: proving in court, offline, who sent which complaint and when the
 * shore received it (issue 6), and later signed monthly statements
 * (issue 7), with one envelope.  Layouts are in evidence.h.
 *
 * Invariants: encoders and decoders go field by field through bounded
 * cursors (no struct is ever copied to or from the wire); every declared
 * length is checked against what remains and against its *_MAX before it
 * is used; a document has exactly one byte form (fixed widths, the kind
 * fixes the parts and their order, nothing after the last part); no body is
 * parsed before every signature of the document verified.
 *
 * Failure: a negative enum err plus, where a person reads the result, a
 * static sentence (*why) naming the check that failed.  Nothing is
 * allocated; the signed message is assembled on the stack and wiped (it may
 * hold complaint text).
 */
#include <sodium.h>
#include <string.h>

#include "proto/evidence.h"
#include "proto/varint.h"

_Static_assert(DOC_SIG_BYTES == crypto_sign_BYTES, "sig");
_Static_assert(DOC_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "pk");
_Static_assert(COMPLAINT_RECORD_MAX <= DOC_BODY_MAX, "a complaint record fits a part");
_Static_assert(COMPLAINT_SIG_BYTES == DOC_SIG_BYTES, "one signature size");

#define U32_BYTES 4u
#define U64_BYTES 8u

struct part_info {
	const char *domain;
	const char *name;
	const char *bad_sig;    /* *why when its signature does not verify */
};

static const struct part_info part_infos[DOC_PART_LAST_ + 1] = {
	[DOC_PART_COMPLAINT] = {COMPLAINT_SIG_DOMAIN, "complaint record",
				"complaint record: the vessel's signature does not verify "
				"(the record, the signature or the vessel key was altered)"},
	[DOC_PART_RECEIPT] = {"lifeline receipt v1", "complaint receipt",
			      "complaint receipt: the shore's signature does not verify "
			      "(the receipt, the signature or the shore key was altered)"},
	[DOC_PART_STATEMENT] = {"lifeline statement v1", "statement",
				"statement: the shore's signature does not verify "
				"(the statement, the signature or the shore key was altered)"},
};

/* The parts each kind holds, in order; 0 ends a list. */
static const uint8_t kind_parts[DOC_KIND_LAST_ + 1][DOC_PARTS_MAX + 1] = {
	[DOC_KIND_EVIDENCE] = {DOC_PART_COMPLAINT, DOC_PART_RECEIPT, 0},
	[DOC_KIND_STATEMENT] = {DOC_PART_STATEMENT, 0},
};

static const char *const kind_names[DOC_KIND_LAST_ + 1] = {
	[DOC_KIND_EVIDENCE] = "evidence",
	[DOC_KIND_STATEMENT] = "statement",
};

static bool part_valid(int t)
{
	return t >= DOC_PART_COMPLAINT && t <= DOC_PART_LAST_;
}

static bool kind_valid(int k)
{
	return k >= DOC_KIND_EVIDENCE && k <= DOC_KIND_LAST_;
}

const char *doc_part_domain(int type)
{
	return part_valid(type) ? part_infos[type].domain : NULL;
}

const char *doc_part_name(int type)
{
	return part_valid(type) ? part_infos[type].name : NULL;
}

const char *doc_kind_name(int kind)
{
	return kind_valid(kind) ? kind_names[kind] : NULL;
}

static size_t kind_nparts(int kind)
{
	size_t n = 0;
	while (n < DOC_PARTS_MAX && kind_parts[kind][n] != 0)
		n++;
	return n;
}

/* ---- signatures ----------------------------------------------------------- */

/* domain || 0x00 || body into msg; returns its length or a negative err. */
static ssize_t sig_message(enum doc_part_type type, const uint8_t *body, size_t len,
			   uint8_t *msg, size_t cap)
{
	if (!part_valid((int)type))
		return ERR_INVAL;
	if (len > DOC_BODY_MAX)
		return ERR_TOOBIG;
	const char *d = part_infos[type].domain;
	size_t dl = strlen(d) + 1;      /* with its NUL */
	if (dl + len > cap)
		return ERR_TOOBIG;      /* cannot happen: DOC_DOMAIN_MAX covers it */
	memcpy(msg, d, dl);
	if (len)
		memcpy(msg + dl, body, len);
	return (ssize_t)(dl + len);
}

int doc_sign(enum doc_part_type type, const uint8_t *body, size_t len,
	     const uint8_t sk[DOC_SIGN_SK_BYTES], uint8_t sig[DOC_SIG_BYTES])
{
	uint8_t msg[DOC_DOMAIN_MAX + DOC_BODY_MAX];
	ssize_t n = sig_message(type, body, len, msg, sizeof msg);
	if (n < 0)
		return (int)n;
	int rc = crypto_sign_detached(sig, NULL, msg, (unsigned long long)n, sk) == 0 ? 0 : ERR_CRYPTO;
	sodium_memzero(msg, (size_t)n);
	return rc;
}

int doc_sig_verify(enum doc_part_type type, const uint8_t *body, size_t len,
		   const uint8_t pk[DOC_SIGN_PK_BYTES], const uint8_t sig[DOC_SIG_BYTES])
{
	uint8_t msg[DOC_DOMAIN_MAX + DOC_BODY_MAX];
	ssize_t n = sig_message(type, body, len, msg, sizeof msg);
	if (n < 0)
		return (int)n;
	int rc = crypto_sign_verify_detached(sig, msg, (unsigned long long)n, pk) == 0 ? 0 : ERR_AUTH;
	sodium_memzero(msg, (size_t)n);
	return rc;
}

/* ---- documents ------------------------------------------------------------ */

ssize_t doc_encode(const struct doc *d, uint8_t *out, size_t cap)
{
	if (!kind_valid((int)d->kind) || d->nparts != kind_nparts((int)d->kind))
		return ERR_INVAL;
	struct wcursor w;
	wcursor_init(&w, out, cap);
	wcursor_put_bytes(&w, (const uint8_t *)DOC_MAGIC, DOC_MAGIC_BYTES);
	wcursor_put_u8(&w, DOC_VERSION);
	wcursor_put_u8(&w, (uint8_t)d->kind);
	wcursor_put_u8(&w, (uint8_t)d->nparts);
	for (size_t i = 0; i < d->nparts; i++) {
		const struct doc_part *p = &d->parts[i];
		if ((int)p->type != kind_parts[d->kind][i] || p->len == 0 || !p->body ||
		    !p->signer || !p->sig)
			return ERR_INVAL;
		if (p->len > DOC_BODY_MAX)
			return ERR_TOOBIG;
		wcursor_put_u8(&w, (uint8_t)p->type);
		wcursor_put_le(&w, p->len, U32_BYTES);
		wcursor_put_bytes(&w, p->body, p->len);
		wcursor_put_bytes(&w, p->signer, DOC_SIGN_PK_BYTES);
		wcursor_put_bytes(&w, p->sig, DOC_SIG_BYTES);
	}
	if (w.full)
		return ERR_FULL;
	return (ssize_t)w.len;
}

static int fail(const char **why, const char *msg, int rc)
{
	if (why)
		*why = msg;
	return rc;
}

#define TRUNC_MSG "the file ends early (truncated)"

int doc_decode(const uint8_t *in, size_t len, struct doc *d, const char **why)
{
	memset(d, 0, sizeof *d);
	if (why)
		*why = NULL;
	if (len > DOC_BYTES_MAX)
		return fail(why, "the file is larger than any Lifeline document", ERR_TOOBIG);
	struct cursor c;
	cursor_init(&c, in, len);
	const uint8_t *magic;
	uint8_t version, kind, count;
	if (cursor_get_bytes(&c, DOC_MAGIC_BYTES, &magic) < 0)
		return fail(why, TRUNC_MSG, ERR_TRUNC);
	if (memcmp(magic, DOC_MAGIC, DOC_MAGIC_BYTES) != 0)
		return fail(why, "not a Lifeline signed document (no LLDOC magic)", ERR_INVAL);
	if (cursor_get_u8(&c, &version) < 0 || cursor_get_u8(&c, &kind) < 0 ||
	    cursor_get_u8(&c, &count) < 0)
		return fail(why, TRUNC_MSG, ERR_TRUNC);
	if (version != DOC_VERSION)
		return fail(why, "unknown document version (this verifier reads version 1)",
			    ERR_VERSION);
	if (!kind_valid(kind))
		return fail(why, "unknown document kind (not evidence or a statement)",
			    ERR_VERSION);
	if (count != kind_nparts(kind))
		return fail(why, "wrong number of parts for this kind of document", ERR_INVAL);
	d->version = version;
	d->kind = (enum doc_kind)kind;
	d->nparts = count;
	for (size_t i = 0; i < count; i++) {
		struct doc_part *p = &d->parts[i];
		uint8_t type;
		uint64_t blen;
		if (cursor_get_u8(&c, &type) < 0 || cursor_get_le(&c, U32_BYTES, &blen) < 0)
			return fail(why, TRUNC_MSG, ERR_TRUNC);
		if (type != kind_parts[kind][i])
			return fail(why, "a part is not of the type this kind of document holds "
				    "there", ERR_INVAL);
		if (blen == 0)
			return fail(why, "a part has an empty body", ERR_INVAL);
		if (blen > DOC_BODY_MAX)
			return fail(why, "a part's body is longer than allowed", ERR_TOOBIG);
		p->type = (enum doc_part_type)type;
		p->len = (size_t)blen;
		if (cursor_get_bytes(&c, p->len, &p->body) < 0 ||
		    cursor_get_bytes(&c, DOC_SIGN_PK_BYTES, &p->signer) < 0 ||
		    cursor_get_bytes(&c, DOC_SIG_BYTES, &p->sig) < 0)
			return fail(why, TRUNC_MSG, ERR_TRUNC);
	}
	if (c.len != 0)
		return fail(why, "bytes follow the last part (appended or altered length)",
			    ERR_INVAL);
	return 0;
}

int doc_verify(const uint8_t *in, size_t len, struct doc *d, const char **why)
{
	int rc = doc_decode(in, len, d, why);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < d->nparts; i++) {
		const struct doc_part *p = &d->parts[i];
		rc = doc_sig_verify(p->type, p->body, p->len, p->signer, p->sig);
		if (rc < 0)
			return fail(why, part_infos[p->type].bad_sig, rc);
	}
	return 0;
}

/* ---- receipts ------------------------------------------------------------- */

void evidence_receipt_encode(const struct evidence_receipt *r, uint8_t out[RECEIPT_BYTES])
{
	struct wcursor w;
	wcursor_init(&w, out, RECEIPT_BYTES);
	wcursor_put_u8(&w, RECEIPT_VERSION);
	wcursor_put_le(&w, r->vessel, U32_BYTES);
	wcursor_put_le(&w, r->msg_id, U64_BYTES);
	wcursor_put_le(&w, r->received, U64_BYTES);
	wcursor_put_bytes(&w, r->blob_hash, COMPLAINT_HASH_BYTES);
	wcursor_put_bytes(&w, r->vessel_pk, DOC_SIGN_PK_BYTES);
}

int evidence_receipt_parse(const uint8_t *in, size_t len, struct evidence_receipt *r)
{
	struct cursor c;
	cursor_init(&c, in, len);
	uint8_t version;
	uint64_t vessel, msg_id, received;
	const uint8_t *hash, *pk;
	int rc;
	if ((rc = cursor_get_u8(&c, &version)) < 0)
		return rc;
	if (version != RECEIPT_VERSION)
		return ERR_VERSION;
	if ((rc = cursor_get_le(&c, U32_BYTES, &vessel)) < 0 ||
	    (rc = cursor_get_le(&c, U64_BYTES, &msg_id)) < 0 ||
	    (rc = cursor_get_le(&c, U64_BYTES, &received)) < 0 ||
	    (rc = cursor_get_bytes(&c, COMPLAINT_HASH_BYTES, &hash)) < 0 ||
	    (rc = cursor_get_bytes(&c, DOC_SIGN_PK_BYTES, &pk)) < 0)
		return rc;
	if (c.len != 0)
		return ERR_INVAL;
	r->vessel = (uint32_t)vessel;
	r->msg_id = msg_id;
	r->received = received;
	memcpy(r->blob_hash, hash, COMPLAINT_HASH_BYTES);
	memcpy(r->vessel_pk, pk, DOC_SIGN_PK_BYTES);
	return 0;
}

int evidence_receipt_sign(const struct evidence_receipt *r, const uint8_t shore_sk[DOC_SIGN_SK_BYTES],
			  uint8_t body[RECEIPT_BYTES], uint8_t sig[DOC_SIG_BYTES])
{
	evidence_receipt_encode(r, body);
	return doc_sign(DOC_PART_RECEIPT, body, RECEIPT_BYTES, shore_sk, sig);
}

/* ---- evidence ------------------------------------------------------------- */

ssize_t evidence_encode(const uint8_t *record, size_t record_len,
			const uint8_t vessel_pk[DOC_SIGN_PK_BYTES],
			const uint8_t vessel_sig[DOC_SIG_BYTES],
			const uint8_t receipt[RECEIPT_BYTES],
			const uint8_t shore_pk[DOC_SIGN_PK_BYTES],
			const uint8_t shore_sig[DOC_SIG_BYTES],
			uint8_t *out, size_t cap)
{
	struct doc d = {
		.version = DOC_VERSION,
		.kind = DOC_KIND_EVIDENCE,
		.nparts = 2,
		.parts = {
			{DOC_PART_COMPLAINT, record, record_len, vessel_pk, vessel_sig},
			{DOC_PART_RECEIPT, receipt, RECEIPT_BYTES, shore_pk, shore_sig},
		},
	};
	return doc_encode(&d, out, cap);
}

int evidence_verify(const uint8_t *in, size_t len, struct evidence *ev, const char **why)
{
	struct doc d;
	memset(ev, 0, sizeof *ev);
	int rc = doc_verify(in, len, &d, why);
	if (rc < 0)
		return rc;
	if (d.kind != DOC_KIND_EVIDENCE)
		return fail(why, "this document is not complaint evidence", ERR_VERSION);
	const struct doc_part *cp = &d.parts[0], *rp = &d.parts[1];
	rc = complaint_record_parse(cp->body, cp->len, &ev->c);
	switch (rc) {
	case 0:
		break;
	case ERR_VERSION:
		return fail(why, "complaint record: unknown record version", rc);
	case ERR_UTF8:
		return fail(why, "complaint record: the text is not valid UTF-8", rc);
	default:
		return fail(why, "complaint record: malformed (lengths or category)", rc);
	}
	rc = evidence_receipt_parse(rp->body, rp->len, &ev->receipt);
	if (rc == ERR_VERSION)
		return fail(why, "complaint receipt: unknown receipt version", rc);
	if (rc < 0)
		return fail(why, "complaint receipt: malformed (wrong length)", rc);
	if (sodium_memcmp(ev->receipt.vessel_pk, cp->signer, DOC_SIGN_PK_BYTES) != 0)
		return fail(why, "the receipt names another vessel key than the one that "
			    "signed the complaint", ERR_KEY);
	if (ev->receipt.vessel != ev->c.vessel)
		return fail(why, "the receipt is for another vessel id than the complaint's",
			    ERR_VESSEL);
	if (ev->receipt.msg_id != ev->c.msg_id)
		return fail(why, "the receipt is for another message id than the complaint's",
			    ERR_NOTFOUND);
	ev->record = cp->body;
	ev->record_len = cp->len;
	ev->vessel_pk = cp->signer;
	ev->vessel_sig = cp->sig;
	ev->shore_pk = rp->signer;
	ev->shore_sig = rp->sig;
	return 0;
}
