/*
 * fuzz_record.c — the records block decoder against arbitrary input.
 *
 * Input: byte 0 chooses the timestamp base (bit 0 clear: 0, absolute
 * times; set: 1,750,000,000), the rest is a records block.  Every record
 * the iterator returns is re-encoded, decoded again and compared with
 * record_equal(); the second encoding must equal the first byte for byte
 * (the encoder's output is canonical).  Any mismatch aborts.  Returns 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"

#define BASE_FLAG 0x1u
#define FUZZ_BASE_TIME 1750000000u
/* Room for the largest record: body plus header. */
#define OUT_BYTES (RECORD_BODY_MAX + RECORD_HEADER_MAX)

static void check_one(const struct record *r, uint64_t base)
{
	static uint8_t first[OUT_BYTES], second[OUT_BYTES];
	struct record again, third;
	size_t used;

	ssize_t n = record_encode_base(r, base, first, sizeof first);
	if (n <= 0)
		abort();     /* whatever decodes must encode */
	if (record_encode_base(r, base, NULL, 0) != n)
		abort();
	if (record_decode_base(first, (size_t)n, base, &used, &again) != 0 ||
	    used != (size_t)n || !record_equal(r, &again))
		abort();
	ssize_t m = record_encode_base(&again, base, second, sizeof second);
	if (m != n || memcmp(first, second, (size_t)n) != 0)
		abort();
	if (record_decode_base(second, (size_t)m, base, &used, &third) != 0 ||
	    !record_equal(&again, &third))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint64_t base = (data[0] & BASE_FLAG) ? FUZZ_BASE_TIME : 0;
	struct record_iter it;
	struct record r;
	record_iter_init(&it, data + 1, size - 1, base);
	int rc;
	while ((rc = record_iter_next(&it, &r)) == 1)
		check_one(&r, base);
	/* An error stops the iterator for good, at the bad record. */
	if (rc < 0 && (record_iter_next(&it, &r) != rc || it.off >= size))
		abort();
	if (rc == 0 && it.off != size - 1)
		abort();
	return 0;
}
