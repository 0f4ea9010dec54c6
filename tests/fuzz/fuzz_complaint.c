/*
 * fuzz_complaint.c — the complaint record parser and the padding check
 * after decryption, against arbitrary input.
 *
 * Input: byte 0 chooses the path.  Bit 0 clear: the rest is a record, fed
 * straight to complaint_record_parse().  Bit 0 set: the rest is a sealed
 * plaintext (record || signature || padding), zero-extended to the next
 * bucket's plaintext size, sealed to a fixed test inspector key and opened
 * with complaint_open(), so that everything after decryption (padding,
 * lengths, record) sees fuzzer-chosen bytes.  Whatever parses must
 * re-encode to the same bytes (the parser accepts one form per record).
 * Any mismatch aborts.  Returns 0.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/complaint.h"

#define MODE_OPEN 0x1u

static void check_record(const uint8_t *rec, size_t len, const struct complaint *c)
{
	static uint8_t again[COMPLAINT_RECORD_MAX];
	ssize_t n = complaint_record_encode(c, again, sizeof again);
	if (n < 0 || (size_t)n != len || memcmp(again, rec, len) != 0)
		abort();
	if (complaint_record_encode(c, NULL, 0) != n)
		abort();
	if (complaint_bucket(len) == 0)
		abort();
}

static void open_path(const uint8_t *data, size_t size)
{
	static uint8_t pk[COMPLAINT_KX_PK_BYTES], sk[COMPLAINT_KX_SK_BYTES];
	static bool keyed;
	static uint8_t plain[COMPLAINT_PLAIN_MAX], blob[COMPLAINT_BLOB_MAX];
	static struct complaint_opened o;
	if (!keyed) {
		uint8_t seed[crypto_box_SEEDBYTES];
		memset(seed, 0x40, sizeof seed);
		crypto_box_seed_keypair(pk, sk, seed);
		keyed = true;
	}
	if (size > COMPLAINT_PLAIN_MAX)
		return;
	size_t bucket = COMPLAINT_BLOB_MIN;
	while (bucket - COMPLAINT_SEAL_BYTES < size)
		bucket <<= 1;
	size_t plen = bucket - COMPLAINT_SEAL_BYTES;
	memset(plain, 0, plen);
	memcpy(plain, data, size);
	if (crypto_box_seal(blob, plain, plen, pk) != 0)
		abort();
	int rc = complaint_open(pk, sk, blob, bucket, &o);
	if (rc == 0) {
		if (o.record_len + COMPLAINT_SIG_BYTES + 1 > plen ||
		    memcmp(o.record, plain, o.record_len) != 0 ||
		    memcmp(o.sig, plain + o.record_len, COMPLAINT_SIG_BYTES) != 0 ||
		    plain[o.record_len + COMPLAINT_SIG_BYTES] != COMPLAINT_PAD_MARKER)
			abort();
		check_record(o.record, o.record_len, &o.c);
	} else if (rc == ERR_AUTH || o.record_len != 0) {
		abort();        /* a genuine seal always authenticates; failure wipes */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (sodium_init() < 0)
		abort();
	if (data[0] & MODE_OPEN) {
		open_path(data + 1, size - 1);
		return 0;
	}
	struct complaint c;
	if (complaint_record_parse(data + 1, size - 1, &c) == 0)
		check_record(data + 1, size - 1, &c);
	return 0;
}
