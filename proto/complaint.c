/*
 * complaint.c — complaint records: encode, parse, sign, pad, seal, open.
 *
 * For: DESIGN invariant 5 (complaints are for inspectors only).  Layout,
 * buckets and the signing rule are in complaint.h and PROTOCOL.md.
 *
 * Invariants: every plaintext byte this file puts in a buffer it owns is
 * wiped before return; the blob length is always one of the bucket sizes;
 * a record is parsed only after the seal authenticated it; the parser takes
 * exactly one byte form per record (fixed widths, no trailing bytes).
 *
 * Failure: every function returns a negative enum err and leaves nothing
 * half-written that could be mistaken for a result (outputs are wiped).
 */
#include <sodium.h>
#include <string.h>

#include "proto/complaint.h"
#include "proto/evidence.h"
#include "proto/record.h"
#include "proto/script.h"
#include "proto/varint.h"

_Static_assert(COMPLAINT_BLOB_MAX == RECORD_BLOB_MAX, "a sealed complaint must fit its record");
_Static_assert(COMPLAINT_SEAL_BYTES == crypto_box_SEALBYTES, "seal overhead");
_Static_assert(COMPLAINT_KX_PK_BYTES == crypto_box_PUBLICKEYBYTES, "kx pk");
_Static_assert(COMPLAINT_KX_SK_BYTES == crypto_box_SECRETKEYBYTES, "kx sk");
_Static_assert(COMPLAINT_SIG_BYTES == crypto_sign_BYTES, "sig");
_Static_assert(COMPLAINT_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES, "sign sk");
_Static_assert(COMPLAINT_BLOB_MIN << (COMPLAINT_BUCKETS - 1u) == COMPLAINT_BLOB_MAX, "buckets");
_Static_assert(COMPLAINT_TEXT_MAX <= UINT16_MAX, "text length is 2 bytes");

#define DECIMAL 10u

struct category_info {
	const char *name;
	const char *title;
};

/* Index = wire code.  Short names are what `vesselctl complain --category`
 * takes; titles follow the ILO's wording. */
static const struct category_info categories[COMPLAINT_CAT_LAST_ + 1] = {
	[COMPLAINT_CAT_VULNERABILITY] = {"vulnerability", "Abuse of vulnerability"},
	[COMPLAINT_CAT_DECEPTION] = {"deception", "Deception"},
	[COMPLAINT_CAT_MOVEMENT] = {"movement", "Restriction of movement"},
	[COMPLAINT_CAT_ISOLATION] = {"isolation", "Isolation"},
	[COMPLAINT_CAT_VIOLENCE] = {"violence", "Physical and sexual violence"},
	[COMPLAINT_CAT_THREATS] = {"threats", "Intimidation and threats"},
	[COMPLAINT_CAT_DOCUMENTS] = {"documents", "Retention of identity documents"},
	[COMPLAINT_CAT_WAGES] = {"wages", "Withholding of wages"},
	[COMPLAINT_CAT_DEBT] = {"debt", "Debt bondage"},
	[COMPLAINT_CAT_CONDITIONS] = {"conditions", "Abusive working and living conditions"},
	[COMPLAINT_CAT_OVERTIME] = {"overtime", "Excessive overtime"},
	[COMPLAINT_CAT_INJURY] = {"injury", "Injury or illness"},
	[COMPLAINT_CAT_OTHER] = {"other", "Other"},
};

static bool category_valid(int cat)
{
	return cat >= COMPLAINT_CAT_FIRST_ && cat <= COMPLAINT_CAT_LAST_;
}

const char *complaint_category_name(int cat)
{
	return category_valid(cat) ? categories[cat].name : NULL;
}

const char *complaint_category_title(int cat)
{
	return category_valid(cat) ? categories[cat].title : NULL;
}

static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
		if (x != *b)
			return false;
	}
	return *a == *b;
}

int complaint_category_parse(const char *s, enum complaint_category *cat)
{
	if (!s || !*s)
		return ERR_INVAL;
	if (s[0] >= '0' && s[0] <= '9') {
		unsigned v = 0;
		for (const char *p = s; *p; p++) {
			if (*p < '0' || *p > '9' || v > COMPLAINT_CAT_LAST_)
				return ERR_INVAL;
			v = v * DECIMAL + (unsigned)(*p - '0');
		}
		if (s[0] == '0' || !category_valid((int)v))
			return ERR_INVAL;       /* no leading zeros: one spelling */
		*cat = (enum complaint_category)v;
		return 0;
	}
	for (int i = COMPLAINT_CAT_FIRST_; i <= COMPLAINT_CAT_LAST_; i++)
		if (ascii_caseeq(s, categories[i].name)) {
			*cat = (enum complaint_category)i;
			return 0;
		}
	return ERR_INVAL;
}

/* ---- record ------------------------------------------------------------- */

ssize_t complaint_record_encode(const struct complaint *c, uint8_t *out, size_t cap)
{
	if (!category_valid((int)c->category))
		return ERR_INVAL;
	if (c->text_len > COMPLAINT_TEXT_MAX)
		return ERR_TOOBIG;
	if (c->text_len > 0 && (!c->text || script_utf8_check(c->text, c->text_len, NULL) != 0))
		return c->text ? ERR_UTF8 : ERR_INVAL;
	struct wcursor w;
	wcursor_init(&w, out, cap);
	wcursor_put_u8(&w, COMPLAINT_VERSION);
	wcursor_put_le(&w, c->vessel, 4);
	wcursor_put_le(&w, c->crew, 4);
	wcursor_put_u8(&w, (uint8_t)c->category);
	wcursor_put_le(&w, c->msg_id, 8);
	wcursor_put_le(&w, c->ts, 8);
	wcursor_put_le(&w, c->text_len, 2);
	wcursor_put_bytes(&w, c->text, c->text_len);
	if (w.full) {
		if (out)
			sodium_memzero(out, cap);
		return ERR_FULL;
	}
	return (ssize_t)w.len;
}

int complaint_record_parse(const uint8_t *in, size_t len, struct complaint *c)
{
	struct cursor cur;
	cursor_init(&cur, in, len);
	uint8_t version, cat;
	uint64_t vessel, crew, msg_id, ts, tlen;
	int rc = cursor_get_u8(&cur, &version);
	if (rc < 0)
		return rc;
	if (version != COMPLAINT_VERSION)
		return ERR_VERSION;
	if ((rc = cursor_get_le(&cur, 4, &vessel)) < 0 || (rc = cursor_get_le(&cur, 4, &crew)) < 0 ||
	    (rc = cursor_get_u8(&cur, &cat)) < 0 || (rc = cursor_get_le(&cur, 8, &msg_id)) < 0 ||
	    (rc = cursor_get_le(&cur, 8, &ts)) < 0 || (rc = cursor_get_le(&cur, 2, &tlen)) < 0)
		return rc;
	if (!category_valid(cat))
		return ERR_INVAL;
	if (tlen > COMPLAINT_TEXT_MAX)
		return ERR_TOOBIG;
	const uint8_t *text = NULL;
	if ((rc = cursor_get_bytes(&cur, (size_t)tlen, &text)) < 0)
		return rc;
	if (cur.len != 0)
		return ERR_INVAL;
	if (script_utf8_check(text, (size_t)tlen, NULL) != 0)
		return ERR_UTF8;
	c->vessel = (uint32_t)vessel;
	c->crew = (uint32_t)crew;
	c->category = (enum complaint_category)cat;
	c->msg_id = msg_id;
	c->ts = ts;
	c->text = tlen ? text : NULL;
	c->text_len = (size_t)tlen;
	return 0;
}

/* ---- buckets ------------------------------------------------------------ */

size_t complaint_bucket(size_t record_len)
{
	if (record_len > COMPLAINT_RECORD_MAX)
		return 0;
	size_t need = record_len + COMPLAINT_SIG_BYTES + COMPLAINT_PAD_MIN + COMPLAINT_SEAL_BYTES;
	for (size_t b = COMPLAINT_BLOB_MIN; b <= COMPLAINT_BLOB_MAX; b <<= 1)
		if (need <= b)
			return b;
	return 0;
}

bool complaint_is_bucket(size_t n)
{
	for (size_t b = COMPLAINT_BLOB_MIN; b <= COMPLAINT_BLOB_MAX; b <<= 1)
		if (n == b)
			return true;
	return false;
}

/* ---- seal and open ------------------------------------------------------ */

ssize_t complaint_seal(const struct complaint *c,
		       const uint8_t vessel_sign_sk[COMPLAINT_SIGN_SK_BYTES],
		       const uint8_t inspector_kx_pk[COMPLAINT_KX_PK_BYTES],
		       uint8_t *blob, size_t cap)
{
	uint8_t plain[COMPLAINT_PLAIN_MAX];
	ssize_t rlen = complaint_record_encode(c, plain, COMPLAINT_RECORD_MAX);
	if (rlen < 0)
		return rlen;            /* the encoder wiped plain */
	size_t r = (size_t)rlen;
	size_t bucket = complaint_bucket(r);    /* != 0: text_len was checked */
	ssize_t ret;
	if (cap < bucket) {
		ret = ERR_FULL;
		goto out;
	}
	int rc = doc_sign(DOC_PART_COMPLAINT, plain, r, vessel_sign_sk, plain + r);
	if (rc < 0) {
		ret = rc;
		goto out;
	}
	size_t plen = bucket - COMPLAINT_SEAL_BYTES;
	size_t used = r + COMPLAINT_SIG_BYTES;
	plain[used] = COMPLAINT_PAD_MARKER;
	memset(plain + used + 1, 0, plen - used - 1);
	if (crypto_box_seal(blob, plain, plen, inspector_kx_pk) != 0) {
		sodium_memzero(blob, bucket);
		ret = ERR_CRYPTO;
		goto out;
	}
	ret = (ssize_t)bucket;
out:
	sodium_memzero(plain, sizeof plain);
	return ret;
}

void complaint_opened_wipe(struct complaint_opened *o)
{
	sodium_memzero(o, sizeof *o);
}

int complaint_open(const uint8_t inspector_kx_pk[COMPLAINT_KX_PK_BYTES],
		   const uint8_t inspector_kx_sk[COMPLAINT_KX_SK_BYTES],
		   const uint8_t *blob, size_t len, struct complaint_opened *o)
{
	uint8_t plain[COMPLAINT_PLAIN_MAX];
	int rc;
	complaint_opened_wipe(o);
	if (!complaint_is_bucket(len))
		return ERR_INVAL;
	size_t plen = len - COMPLAINT_SEAL_BYTES;
	if (crypto_box_seal_open(plain, blob, len, inspector_kx_pk, inspector_kx_sk) != 0) {
		rc = ERR_AUTH;
		goto fail;
	}
	/* Padding: trailing zeros, then the marker, after at least a header
	 * and a signature. */
	size_t end = plen;
	while (end > 0 && plain[end - 1] == 0)
		end--;
	if (end == 0 || plain[end - 1] != COMPLAINT_PAD_MARKER ||
	    end - 1 < COMPLAINT_HDR_BYTES + COMPLAINT_SIG_BYTES) {
		rc = ERR_INVAL;
		goto fail;
	}
	size_t rlen = end - 1 - COMPLAINT_SIG_BYTES;
	if (rlen > COMPLAINT_RECORD_MAX) {
		rc = ERR_INVAL;         /* cannot happen within 8192, kept as a bound */
		goto fail;
	}
	memcpy(o->record, plain, rlen);
	memcpy(o->sig, plain + rlen, COMPLAINT_SIG_BYTES);
	o->record_len = rlen;
	rc = complaint_record_parse(o->record, rlen, &o->c);
	if (rc == ERR_TRUNC)
		rc = ERR_INVAL;         /* the record's length disagrees with the padding */
	if (rc < 0)
		goto fail;
	sodium_memzero(plain, sizeof plain);
	return 0;
fail:
	sodium_memzero(plain, sizeof plain);
	complaint_opened_wipe(o);
	return rc;
}

int complaint_verify(const uint8_t vessel_sign_pk[COMPLAINT_SIGN_PK_BYTES],
		     const uint8_t *record, size_t len,
		     const uint8_t sig[COMPLAINT_SIG_BYTES])
{
	int rc = doc_sig_verify(DOC_PART_COMPLAINT, record, len, vessel_sign_pk, sig);
	return rc == ERR_AUTH ? ERR_KEY : rc;
}

void complaint_blob_hash(const uint8_t *blob, size_t len, uint8_t out[COMPLAINT_HASH_BYTES])
{
	crypto_generichash(out, COMPLAINT_HASH_BYTES, blob, len, NULL, 0);
}
