/*
 * test_evidence.c — signed documents (LLDOC), complaint receipts and
 * evidence files.
 *
 * Shows: the PROTOCOL.md example file is reproduced byte for byte from fixed
 * seeds and verifies; a file made from a real seal/open round trip verifies
 * and says what the record and receipt say; every single-byte change (three
 * masks at every offset), every truncation and an appended byte are
 * refused; each cross-check fails with its own error when the parts are
 * individually well signed but disagree (vessel key, vessel id, message
 * id); kinds, versions, part orders, empty and oversized bodies are refused
 * by the decoder and the encoder; a signature from one domain never
 * verifies in another; a statement document verifies as a document but is
 * not evidence.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/fixture.h"
#include "proto/complaint.h"
#include "proto/evidence.h"

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))
#define T0 1750000100u
#define T_RECV 1750000460u
#define TEXT "No wages for 5 months."
#define EV_CAP 16384u

static uint8_t vpk[32], vsk[64], v2pk[32], v2sk[64], spk[32], ssk[64];
static uint8_t ipk[32], isk[32];

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	fx_sign_keypair(vpk, vsk, 0x01);
	fx_sign_keypair(v2pk, v2sk, 0x02);
	fx_box_keypair(ipk, isk, 0x40);
	fx_sign_keypair(spk, ssk, 0x80);
	return 0;
}

/* The PROTOCOL.md worked example: record of test_complaint.c, receipt of a
 * stand-in blob (the bytes 00..ff), received at T_RECV. */
static const char golden_evidence[] =
	"4c4c444f43010102013200000001120400000700000008e903000000000000e4"
	"e14e680000000016004e6f20776167657320666f722035206d6f6e7468732e79"
	"b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664be"
	"4eb30f759c6305c73dea80fd4d0fe4ca8e9bdd63dd5b444fff0fb14e5ffbc102"
	"9a8f669d77f9189be8393369623f53487533a592ee68811b609ccefb7b550802"
	"550000000112040000e9030000000000004ce34e680000000039a7eb9fedc19a"
	"abc83425c6755dd90e6f9d0c804964a1f4aaeea3b9fb59983579b5562e8fe654"
	"f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664cd14b37f956e95"
	"3194ff7fb73b3d81dcc561d61a7538094b7c3e1a643ee5f3aa7b5745f35618ca"
	"9bbe8c7672f66275609e4d69f0e6549a5a53dcb384e1ce7b9022e4e0293b0d4a"
	"c7bea4480d129d85e975c91f1781f3084e9442ba69eee74202";

static struct complaint fixture(void)
{
	return (struct complaint){1042, 7, COMPLAINT_CAT_WAGES, 1001, T0,
				  (const uint8_t *)TEXT, strlen(TEXT)};
}

/* Builds an evidence file: record signed by sign_sk, receipt r signed by
 * the shore.  Returns its length. */
static size_t build(const struct complaint *c, const uint8_t *sign_pk, const uint8_t *sign_sk,
		    const struct evidence_receipt *r, uint8_t *out)
{
	uint8_t rec[COMPLAINT_RECORD_MAX], sig[64], rb[RECEIPT_BYTES], rs[64];
	ssize_t rl = complaint_record_encode(c, rec, sizeof rec);
	CU_ASSERT_FATAL(rl > 0);
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_COMPLAINT, rec, (size_t)rl, sign_sk, sig), 0);
	CU_ASSERT_EQUAL_FATAL(evidence_receipt_sign(r, ssk, rb, rs), 0);
	ssize_t n = evidence_encode(rec, (size_t)rl, sign_pk, sig, rb, spk, rs, out, EV_CAP);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(evidence_encode(rec, (size_t)rl, sign_pk, sig, rb, spk, rs, NULL, 0), n);
	return (size_t)n;
}

static struct evidence_receipt golden_receipt(void)
{
	struct evidence_receipt r = {.vessel = 1042, .msg_id = 1001, .received = T_RECV};
	uint8_t stand_in[256];
	for (int i = 0; i < 256; i++)
		stand_in[i] = (uint8_t)i;
	complaint_blob_hash(stand_in, sizeof stand_in, r.blob_hash);
	memcpy(r.vessel_pk, vpk, 32);
	return r;
}

static int verify_exact(const uint8_t *in, size_t n, struct evidence *ev, const char **why)
{
	uint8_t *h = malloc(n ? n : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	memcpy(h, in, n);
	int rc = evidence_verify(h, n, ev, why);
	free(h);
	return rc;
}

static void test_golden(void)
{
	static uint8_t want[EV_CAP], got[EV_CAP];
	size_t wn = 0;
	CU_ASSERT_EQUAL_FATAL(sodium_hex2bin(want, sizeof want, golden_evidence,
					     strlen(golden_evidence), NULL, &wn, NULL), 0);
	CU_ASSERT_EQUAL(wn, 345u);
	struct complaint c = fixture();
	struct evidence_receipt r = golden_receipt();
	size_t n = build(&c, vpk, vsk, &r, got);
	CU_ASSERT_EQUAL(n, wn);
	CU_ASSERT_EQUAL(memcmp(got, want, wn), 0);

	struct evidence ev;
	const char *why = "unset";
	CU_ASSERT_EQUAL(evidence_verify(want, wn, &ev, &why), 0);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_EQUAL(ev.c.vessel, 1042u);
	CU_ASSERT_EQUAL(ev.c.msg_id, 1001u);
	CU_ASSERT_EQUAL(ev.c.category, COMPLAINT_CAT_WAGES);
	CU_ASSERT_EQUAL(ev.c.ts, T0);
	CU_ASSERT_EQUAL(ev.receipt.received, T_RECV);
	CU_ASSERT_EQUAL(memcmp(ev.vessel_pk, vpk, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ev.shore_pk, spk, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ev.receipt.blob_hash, r.blob_hash, 32), 0);
	CU_ASSERT_EQUAL(ev.record, want + DOC_HDR_BYTES + DOC_PART_HDR_BYTES);
	CU_ASSERT_EQUAL(ev.c.text_len, strlen(TEXT));

	/* By hand, with nothing but Ed25519: the offsets of PROTOCOL.md. */
	size_t rl = 50, r0 = 8 + 5;
	const uint8_t *vsig = want + r0 + rl + 32;
	uint8_t msg[128];
	memcpy(msg, "lifeline complaint v1", 22);
	memcpy(msg + 22, want + r0, rl);
	CU_ASSERT_EQUAL(crypto_sign_verify_detached(vsig, msg, 22 + rl, want + r0 + rl), 0);
	size_t p1 = r0 + rl + 96, b1 = p1 + 5;
	CU_ASSERT_EQUAL(want[p1], DOC_PART_RECEIPT);
	memcpy(msg, "lifeline receipt v1", 20);
	memcpy(msg + 20, want + b1, RECEIPT_BYTES);
	CU_ASSERT_EQUAL(crypto_sign_verify_detached(want + b1 + 85 + 32, msg, 20 + 85,
						    want + b1 + 85), 0);
}

static void test_from_real_seal(void)
{
	static uint8_t blob[COMPLAINT_BLOB_MAX], file[EV_CAP];
	static struct complaint_opened o;
	struct complaint c = fixture();
	ssize_t bn = complaint_seal(&c, vsk, ipk, blob, sizeof blob);
	CU_ASSERT_FATAL(bn > 0);
	/* Shore: hashes what it received, signs a receipt, stores both. */
	struct evidence_receipt r = {.vessel = 1042, .msg_id = 1001, .received = T_RECV};
	complaint_blob_hash(blob, (size_t)bn, r.blob_hash);
	memcpy(r.vessel_pk, vpk, 32);
	uint8_t rb[RECEIPT_BYTES], rs[64];
	CU_ASSERT_EQUAL_FATAL(evidence_receipt_sign(&r, ssk, rb, rs), 0);
	/* Inspector: opens, verifies, exports. */
	CU_ASSERT_EQUAL_FATAL(complaint_open(ipk, isk, blob, (size_t)bn, &o), 0);
	CU_ASSERT_EQUAL(complaint_verify(vpk, o.record, o.record_len, o.sig), 0);
	ssize_t n = evidence_encode(o.record, o.record_len, vpk, o.sig, rb, spk, rs, file, sizeof file);
	CU_ASSERT_FATAL(n > 0);
	struct evidence ev;
	CU_ASSERT_EQUAL(verify_exact(file, (size_t)n, &ev, NULL), 0);
	uint8_t h[32];
	complaint_blob_hash(blob, (size_t)bn, h);
	CU_ASSERT_EQUAL(memcmp(ev.receipt.blob_hash, h, 32), 0);
	CU_ASSERT_EQUAL((size_t)n, DOC_HDR_BYTES + 2 * (DOC_PART_HDR_BYTES + 96) +
				   COMPLAINT_HDR_BYTES + strlen(TEXT) + RECEIPT_BYTES);
	complaint_opened_wipe(&o);
	/* Capacity. */
	CU_ASSERT_EQUAL(evidence_encode(o.record, 30, vpk, o.sig, rb, spk, rs, file, 100), ERR_FULL);
}

static void test_every_byte(void)
{
	static uint8_t file[EV_CAP], t[EV_CAP];
	struct complaint c = fixture();
	struct evidence_receipt r = golden_receipt();
	size_t n = build(&c, vpk, vsk, &r, file);
	struct evidence ev;
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	unsigned accepted = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < NVEC(masks); k++) {
			memcpy(t, file, n);
			t[i] ^= masks[k];
			const char *why = NULL;
			int rc = evidence_verify(t, n, &ev, &why);
			if (rc == 0) {
				fprintf(stderr, "\n  byte %zu ^ %02x accepted\n", i, masks[k]);
				accepted++;
			} else {
				CU_ASSERT_PTR_NOT_NULL(why);
			}
		}
	CU_ASSERT_EQUAL(accepted, 0u);
	for (size_t k = 0; k < n; k++) {
		const char *why = NULL;
		CU_ASSERT_EQUAL(verify_exact(file, k, &ev, &why), ERR_TRUNC);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
	memcpy(t, file, n);
	t[n] = 0;
	CU_ASSERT_EQUAL(verify_exact(t, n + 1, &ev, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(verify_exact(file, n, &ev, NULL), 0);
}

static void test_cross_checks(void)
{
	static uint8_t file[EV_CAP];
	struct evidence ev;
	const char *why;
	struct complaint c = fixture();
	struct evidence_receipt r = golden_receipt();

	/* Record signed by another vessel, receipt naming the first. */
	size_t n = build(&c, v2pk, v2sk, &r, file);
	CU_ASSERT_EQUAL(verify_exact(file, n, &ev, &why), ERR_KEY);
	CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "vessel key"));
	/* Both well signed, other vessel id / message id in the receipt. */
	r.vessel = 1043;
	n = build(&c, vpk, vsk, &r, file);
	CU_ASSERT_EQUAL(verify_exact(file, n, &ev, &why), ERR_VESSEL);
	r = golden_receipt();
	r.msg_id = 1002;
	n = build(&c, vpk, vsk, &r, file);
	CU_ASSERT_EQUAL(verify_exact(file, n, &ev, &why), ERR_NOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "message id"));
	/* Signature by the wrong key for the key in the file. */
	r = golden_receipt();
	n = build(&c, vpk, v2sk, &r, file);
	CU_ASSERT_EQUAL(verify_exact(file, n, &ev, &why), ERR_AUTH);
	CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "vessel's signature"));

	/* Well-signed bodies that do not parse. */
	uint8_t rec[64], sig[64], rb[RECEIPT_BYTES + 1], rs[64];
	ssize_t rl = complaint_record_encode(&c, rec, sizeof rec);
	CU_ASSERT_FATAL(rl > 0);
	CU_ASSERT_EQUAL_FATAL(evidence_receipt_sign(&r, ssk, rb, rs), 0);
	struct {
		const char *what;
		size_t off;
		uint8_t val;
		int want;
	} vec[] = {
		{"record version", 0, 9, ERR_VERSION},
		{"record category", 9, 0, ERR_INVAL},
		{"record text UTF-8", 28, 0xff, ERR_UTF8},
		{"record text length", 26, 30, ERR_TRUNC},
	};
	for (size_t i = 0; i < NVEC(vec); i++) {
		uint8_t t[64];
		memcpy(t, rec, (size_t)rl);
		t[vec[i].off] = vec[i].val;
		CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_COMPLAINT, t, (size_t)rl, vsk, sig), 0);
		ssize_t m = evidence_encode(t, (size_t)rl, vpk, sig, rb, spk, rs, file, EV_CAP);
		CU_ASSERT_FATAL(m > 0);
		int rc = verify_exact(file, (size_t)m, &ev, &why);
		if (rc != vec[i].want)
			fprintf(stderr, "\n  %s: got %d want %d\n", vec[i].what, rc, vec[i].want);
		CU_ASSERT_EQUAL(rc, vec[i].want);
		CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "complaint record"));
	}
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_COMPLAINT, rec, (size_t)rl, vsk, sig), 0);
	/* Receipt of another version, and one byte longer. */
	rb[0] = 2;
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_RECEIPT, rb, RECEIPT_BYTES, ssk, rs), 0);
	struct doc d = {DOC_VERSION, DOC_KIND_EVIDENCE, 2,
			{{DOC_PART_COMPLAINT, rec, (size_t)rl, vpk, sig},
			 {DOC_PART_RECEIPT, rb, RECEIPT_BYTES, spk, rs}}};
	ssize_t m = doc_encode(&d, file, EV_CAP);
	CU_ASSERT_EQUAL(verify_exact(file, (size_t)m, &ev, &why), ERR_VERSION);
	rb[0] = RECEIPT_VERSION;
	rb[RECEIPT_BYTES] = 0;
	d.parts[1].len = RECEIPT_BYTES + 1;
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_RECEIPT, rb, RECEIPT_BYTES + 1, ssk, rs), 0);
	m = doc_encode(&d, file, EV_CAP);
	CU_ASSERT_EQUAL(verify_exact(file, (size_t)m, &ev, &why), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "receipt"));
	struct evidence_receipt pr;
	CU_ASSERT_EQUAL(evidence_receipt_parse(rb, RECEIPT_BYTES, &pr), 0);
	for (size_t k = 0; k < RECEIPT_BYTES; k++)
		CU_ASSERT_EQUAL(evidence_receipt_parse(rb, k, &pr), ERR_TRUNC);
}

static void test_envelope(void)
{
	static uint8_t file[EV_CAP], t[EV_CAP];
	struct complaint c = fixture();
	struct evidence_receipt r = golden_receipt();
	size_t n = build(&c, vpk, vsk, &r, file);
	struct doc d;
	const char *why;
	struct {
		const char *what;
		size_t off;
		uint8_t val;
		int want;
	} vec[] = {
		{"magic", 0, 'l', ERR_INVAL},
		{"version 0", 5, 0, ERR_VERSION},
		{"version 2", 5, 2, ERR_VERSION},
		{"kind 0", 6, 0, ERR_VERSION},
		{"kind 3", 6, 3, ERR_VERSION},
		{"kind statement", 6, DOC_KIND_STATEMENT, ERR_INVAL},  /* 2 parts: wrong count */
		{"count 0", 7, 0, ERR_INVAL},
		{"count 3", 7, 3, ERR_INVAL},
		{"first part type", 8, DOC_PART_RECEIPT, ERR_INVAL},
		{"body length 0", 9, 0, ERR_INVAL},
		{"body length huge", 12, 0x01, ERR_TOOBIG},
		{"body length + 1", 9, 51, ERR_INVAL},
		{"body length - 1", 9, 49, ERR_INVAL},
	};
	for (size_t i = 0; i < NVEC(vec); i++) {
		memcpy(t, file, n);
		t[vec[i].off] = vec[i].val;
		int rc = doc_decode(t, n, &d, &why);
		if (rc != vec[i].want)
			fprintf(stderr, "\n  %s: got %d want %d\n", vec[i].what, rc, vec[i].want);
		CU_ASSERT_EQUAL(rc, vec[i].want);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
	CU_ASSERT_EQUAL(doc_decode(file, DOC_BYTES_MAX + 1, &d, &why), ERR_TOOBIG);
	CU_ASSERT_EQUAL(doc_decode(file, n, &d, &why), 0);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_EQUAL(d.kind, DOC_KIND_EVIDENCE);
	CU_ASSERT_EQUAL(d.nparts, 2u);

	/* Encoder refusals. */
	uint8_t body[8] = {1};
	static uint8_t huge[DOC_BODY_MAX + 1];
	uint8_t sig[64] = {0};
	struct doc e = {DOC_VERSION, DOC_KIND_STATEMENT, 1, {{DOC_PART_STATEMENT, body, 8, spk, sig}}};
	CU_ASSERT(doc_encode(&e, NULL, 0) > 0);
	e.nparts = 2;
	CU_ASSERT_EQUAL(doc_encode(&e, t, EV_CAP), ERR_INVAL);
	e.nparts = 1;
	e.parts[0].type = DOC_PART_RECEIPT;
	CU_ASSERT_EQUAL(doc_encode(&e, t, EV_CAP), ERR_INVAL);
	e.parts[0].type = DOC_PART_STATEMENT;
	e.parts[0].len = 0;
	CU_ASSERT_EQUAL(doc_encode(&e, t, EV_CAP), ERR_INVAL);
	e.parts[0].body = huge;
	e.parts[0].len = sizeof huge;
	CU_ASSERT_EQUAL(doc_encode(&e, t, EV_CAP), ERR_TOOBIG);
	e.kind = 9;
	CU_ASSERT_EQUAL(doc_encode(&e, t, EV_CAP), ERR_INVAL);
	CU_ASSERT_EQUAL(doc_sign(DOC_PART_STATEMENT, huge, sizeof huge, ssk, sig), ERR_TOOBIG);
	CU_ASSERT_EQUAL(doc_sign(0, body, 8, ssk, sig), ERR_INVAL);
	/* The largest body signs and verifies. */
	CU_ASSERT_EQUAL(doc_sign(DOC_PART_STATEMENT, huge, DOC_BODY_MAX, ssk, sig), 0);
	CU_ASSERT_EQUAL(doc_sig_verify(DOC_PART_STATEMENT, huge, DOC_BODY_MAX, spk, sig), 0);

	CU_ASSERT_STRING_EQUAL(doc_kind_name(DOC_KIND_EVIDENCE), "evidence");
	CU_ASSERT_PTR_NULL(doc_kind_name(0));
	CU_ASSERT_PTR_NULL(doc_part_name(4));
	CU_ASSERT_STRING_EQUAL(doc_part_domain(DOC_PART_RECEIPT), "lifeline receipt v1");
	for (int p = DOC_PART_COMPLAINT; p <= DOC_PART_LAST_; p++)
		CU_ASSERT(strlen(doc_part_domain(p)) + 1 <= DOC_DOMAIN_MAX);
}

static void test_domains_and_statement(void)
{
	uint8_t body[RECEIPT_BYTES], sig[64];
	memset(body, 0x5a, sizeof body);
	body[0] = 1;
	/* One signature, one domain. */
	for (int a = DOC_PART_COMPLAINT; a <= DOC_PART_LAST_; a++) {
		CU_ASSERT_EQUAL_FATAL(doc_sign((enum doc_part_type)a, body, sizeof body, ssk, sig), 0);
		for (int b = DOC_PART_COMPLAINT; b <= DOC_PART_LAST_; b++)
			CU_ASSERT_EQUAL(doc_sig_verify((enum doc_part_type)b, body, sizeof body, spk, sig),
					a == b ? 0 : ERR_AUTH);
		CU_ASSERT_EQUAL(doc_sig_verify((enum doc_part_type)a, body, sizeof body, vpk, sig),
				ERR_AUTH);
	}
	/* A statement document (issue 7): the envelope verifies, it is not
	 * evidence. */
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_STATEMENT, body, sizeof body, ssk, sig), 0);
	struct doc d = {DOC_VERSION, DOC_KIND_STATEMENT, 1,
			{{DOC_PART_STATEMENT, body, sizeof body, spk, sig}}};
	uint8_t file[512];
	ssize_t n = doc_encode(&d, file, sizeof file);
	CU_ASSERT_EQUAL_FATAL(n, (ssize_t)(DOC_HDR_BYTES + DOC_PART_HDR_BYTES + sizeof body + 96));
	struct doc got;
	const char *why;
	CU_ASSERT_EQUAL(doc_verify(file, (size_t)n, &got, &why), 0);
	CU_ASSERT_EQUAL(got.kind, DOC_KIND_STATEMENT);
	struct evidence ev;
	CU_ASSERT_EQUAL(evidence_verify(file, (size_t)n, &ev, &why), ERR_VERSION);
	file[n - 1] ^= 1;
	CU_ASSERT_EQUAL(doc_verify(file, (size_t)n, &got, &why), ERR_AUTH);
	CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "statement"));
}

void suite_evidence(void);
void suite_evidence(void)
{
	CU_pSuite s = CU_add_suite("evidence", setup, NULL);
	CU_add_test(s, "golden evidence file, checked by hand too", test_golden);
	CU_add_test(s, "evidence from a real seal, open and receipt", test_from_real_seal);
	CU_add_test(s, "every single-byte change and truncation refused", test_every_byte);
	CU_add_test(s, "cross-checks: keys, ids, bodies", test_cross_checks);
	CU_add_test(s, "envelope decoder and encoder tables", test_envelope);
	CU_add_test(s, "domain separation; statements are documents, not evidence",
		    test_domains_and_statement);
}
