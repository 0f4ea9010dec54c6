/*
 * fuzz_statement.c — the monthly statement parser and verifier against
 * arbitrary input.
 *
 * Every input goes to statement_parse() as a bare body (no signature stands
 * in the way of mutations there) and to statement_verify() as a document.
 * A body that parses must re-encode to the same bytes (one byte form) and
 * name no reason; every failure must name one.  Any mismatch aborts.
 * Returns 0.  The seed corpus holds the documented example as a body and
 * as a signed document.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct statement s;
	static uint8_t again[STATEMENT_BODY_MAX];
	if (sodium_init() < 0)
		abort();
	const char *why = NULL;
	int rc = statement_parse(data, size, &s, &why);
	if ((rc == 0) != (why == NULL))
		abort();
	if (rc == 0) {
		ssize_t n = statement_encode(&s, again, sizeof again);
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
	}
	why = NULL;
	rc = statement_verify(data, size, &s, NULL, &why);
	if ((rc == 0) != (why == NULL))
		abort();
	return 0;
}
