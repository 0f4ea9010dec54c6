/*
 * test_pin.c — crew PIN hashing and the lockout rule.
 *
 * Shows: only 4..8 ASCII digits are PINs (table); a hash is an Argon2id
 * string with the documented cost (1 MiB), never contains the PIN, differs
 * per call (salt) and verifies only the right PIN; a malformed or foreign
 * hash verifies nothing; the lockout rule, driven by a stepped clock, locks
 * on the max_failures-th wrong PIN in a row, stays locked until exactly
 * lock_time later, and a success in between clears the count.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <string.h>

#include "vessel/pin.h"

static void test_valid(void)
{
	static const struct { const char *pin; bool ok; } v[] = {
		{"1234", true}, {"000000", true}, {"12345678", true}, {"123", false},
		{"123456789", false}, {"", false}, {"12a4", false}, {" 1234", false},
		{"1234\n", false}, {"١٢٣٤", false}, {"-123", false},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CU_ASSERT_EQUAL(pin_valid(v[i].pin), v[i].ok);
	CU_ASSERT_FALSE(pin_valid(NULL));
}

static void test_hash_verify(void)
{
	CU_ASSERT_FATAL(sodium_init() >= 0);
	char h1[PIN_HASH_BYTES], h2[PIN_HASH_BYTES];
	CU_ASSERT_EQUAL_FATAL(pin_hash("482913", h1), 0);
	CU_ASSERT_EQUAL_FATAL(pin_hash("482913", h2), 0);
	CU_ASSERT(strncmp(h1, "$argon2id$", 10) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(h1, "m=1024,"));  /* KiB: PIN_MEMLIMIT */
	CU_ASSERT_PTR_NULL(strstr(h1, "482913"));
	CU_ASSERT(strcmp(h1, h2) != 0);                 /* salted */
	CU_ASSERT_EQUAL(pin_verify(h1, "482913"), 0);
	CU_ASSERT_EQUAL(pin_verify(h2, "482913"), 0);
	CU_ASSERT_EQUAL(pin_verify(h1, "482914"), ERR_AUTH);
	CU_ASSERT_EQUAL(pin_verify(h1, ""), ERR_AUTH);
	CU_ASSERT_EQUAL(pin_hash("12", h2), ERR_INVAL);
	/* malformed and foreign hashes verify nothing */
	char bad[PIN_HASH_BYTES];
	memcpy(bad, h1, sizeof bad);
	bad[strlen(bad) - 3] ^= 1;
	CU_ASSERT_EQUAL(pin_verify(bad, "482913"), ERR_AUTH);
	CU_ASSERT_EQUAL(pin_verify("", "482913"), ERR_AUTH);
	CU_ASSERT_EQUAL(pin_verify(NULL, "482913"), ERR_AUTH);
	char scrypt[crypto_pwhash_scryptsalsa208sha256_STRBYTES];
	CU_ASSERT_EQUAL_FATAL(crypto_pwhash_scryptsalsa208sha256_str(scrypt, "482913", 6,
		crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN,
		crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN), 0);
	CU_ASSERT_EQUAL(pin_verify(scrypt, "482913"), ERR_AUTH);
}

static void test_lockout(void)
{
	const struct pin_policy p = {.max_failures = 5, .lock_time_s = 900};
	struct pin_account a = {0};
	int64_t t = 1796000000;
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 1; i < p.max_failures; i++) {
			CU_ASSERT_FALSE(pin_locked(&a, t));
			a = pin_after_attempt(a, &p, false, t++);
			CU_ASSERT_EQUAL(a.fails, i);
		}
		if (round == 0) {       /* a success clears the count */
			a = pin_after_attempt(a, &p, true, t);
			CU_ASSERT_EQUAL(a.fails, 0);
			CU_ASSERT_FALSE(pin_locked(&a, t));
			continue;
		}
		int64_t at = t;
		a = pin_after_attempt(a, &p, false, at);
		CU_ASSERT(pin_locked(&a, at));
		CU_ASSERT(pin_locked(&a, at + p.lock_time_s - 1));
		CU_ASSERT_FALSE(pin_locked(&a, at + p.lock_time_s));
		CU_ASSERT_EQUAL(a.fails, 0);
		t = at + p.lock_time_s;
	}
	/* the captain's lock (INT64_MAX) never ends by itself; no overflow */
	struct pin_account forever = {.locked_until = INT64_MAX};
	CU_ASSERT(pin_locked(&forever, INT64_MAX - 1));
	struct pin_account late = {.fails = 4};
	late = pin_after_attempt(late, &p, false, INT64_MAX - 10);
	CU_ASSERT_EQUAL(late.locked_until, INT64_MAX);
	const struct pin_policy one = {.max_failures = 1, .lock_time_s = 60};
	struct pin_account b = pin_after_attempt((struct pin_account){0}, &one, false, 100);
	CU_ASSERT(pin_locked(&b, 159));
	CU_ASSERT_FALSE(pin_locked(&b, 160));
}

void suite_pin(void);
void suite_pin(void)
{
	CU_pSuite s = CU_add_suite("pin", NULL, NULL);
	CU_add_test(s, "what a PIN is", test_valid);
	CU_add_test(s, "Argon2id hash and verify", test_hash_verify);
	CU_add_test(s, "lockout on a stepped clock", test_lockout);
}
