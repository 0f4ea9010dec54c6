/*
 * pin.c — crew PIN hashing (Argon2id) and the lockout rule (see pin.h for
 * why the lockout, not the hash cost, protects a short PIN).
 *
 * Invariants: a stored hash never holds the PIN; verification goes through
 * crypto_pwhash_str_verify (constant-time compare); the lockout rule is a
 * pure function of (state, policy, outcome, time).
 * Failure behaviour: a malformed hash verifies as a wrong PIN (ERR_AUTH);
 * a libsodium allocation failure while hashing is ERR_CRYPTO.
 */
#include "vessel/pin.h"

#include <sodium.h>
#include <string.h>

_Static_assert(PIN_HASH_BYTES == crypto_pwhash_STRBYTES, "hash string size");

bool pin_valid(const char *pin)
{
	size_t n = 0;
	if (!pin)
		return false;
	for (; pin[n]; n++)
		if (pin[n] < '0' || pin[n] > '9')
			return false;
	return n >= PIN_DIGITS_MIN && n <= PIN_DIGITS_MAX;
}

int pin_hash(const char *pin, char out[PIN_HASH_BYTES])
{
	if (!pin_valid(pin))
		return ERR_INVAL;
	if (crypto_pwhash_str_alg(out, pin, strlen(pin), PIN_OPSLIMIT, PIN_MEMLIMIT,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return ERR_CRYPTO;
	return 0;
}

int pin_verify(const char *hash, const char *pin)
{
	if (!hash || !pin || strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
				     strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
		return ERR_AUTH;
	return crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0 ? 0 : ERR_AUTH;
}

bool pin_locked(const struct pin_account *a, int64_t now)
{
	return a->locked_until > now;
}

struct pin_account pin_after_attempt(struct pin_account a, const struct pin_policy *p, bool ok,
				     int64_t now)
{
	if (ok) {
		a.fails = 0;
		return a;
	}
	a.fails++;
	if (a.fails >= p->max_failures) {
		a.fails = 0;
		a.locked_until = now > INT64_MAX - p->lock_time_s ? INT64_MAX : now + p->lock_time_s;
	}
	return a;
}
