/*
 * pin.h — crew PINs: Argon2id hashes and the lockout rule.
 *
 * Why the hash is cheap and the lockout is strict.  A PIN of 4 to 8 digits
 * has at most 10^8 values (10^4 for the usual 4).  Whoever steals the
 * database file can try them all offline: at 10 ms a guess a 4-digit PIN
 * falls in under two minutes and even a 6-digit one in three hours, whatever
 * cost we could afford on a vessel's small computer — and the hash cost is
 * paid in the daemon's memory (goal: 8 MB peak RSS for all of vesseld).
 * So the hash (Argon2id, crypto_pwhash, PIN_OPSLIMIT passes over
 * PIN_MEMLIMIT = 1 MiB) only makes the file not hold PINs in the clear and
 * costs a few milliseconds; what protects a PIN is the online rule: after
 * max_failures wrong PINs in a row the account locks for lock_time, so a
 * person at the control socket gets max_failures guesses per lock_time
 * (5 per 15 minutes by default: 10^4 PINs take on average 10 days, with the
 * captain seeing the account locked meanwhile).  The database file itself
 * is protected by its mode (0600, owner vesseld).
 *
 * Verification is constant-time (crypto_pwhash_str_verify compares the
 * derived keys with a constant-time compare).  Callers must have called
 * sodium_init().
 */
#ifndef LIFELINE_VESSEL_PIN_H
#define LIFELINE_VESSEL_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define PIN_DIGITS_MIN 4u
#define PIN_DIGITS_MAX 8u
#define PIN_HASH_BYTES 128u             /* crypto_pwhash_STRBYTES, with NUL */
#define PIN_OPSLIMIT 2u                 /* Argon2id passes */
#define PIN_MEMLIMIT (1024u * 1024u)    /* 1 MiB: see above */
#define PIN_MAX_FAILURES_DEFAULT 5u
#define PIN_LOCK_TIME_DEFAULT_S (15 * 60)

/* Whether pin is PIN_DIGITS_MIN..PIN_DIGITS_MAX ASCII digits. */
bool pin_valid(const char *pin);

/* Hashes pin into out (a NUL-terminated "$argon2id$..." string).  Returns
 * 0, ERR_INVAL (not a valid PIN), ERR_CRYPTO (out of memory inside
 * libsodium). */
int pin_hash(const char *pin, char out[PIN_HASH_BYTES]) LL_MUST_CHECK;

/* 0 if pin matches hash, ERR_AUTH if not (or the hash is malformed). */
int pin_verify(const char *hash, const char *pin) LL_MUST_CHECK;

/* The lockout state of one account, as stored. */
struct pin_account {
	uint32_t fails;         /* wrong PINs in a row since the last success/lock */
	int64_t locked_until;   /* unix s; 0: not locked; INT64_MAX: locked by the captain */
};

struct pin_policy {
	uint32_t max_failures;  /* >= 1 */
	int64_t lock_time_s;    /* >= 1 */
};

/* Whether the account refuses every PIN at time now (checked BEFORE the
 * PIN is verified, so a locked account gives no oracle). */
bool pin_locked(const struct pin_account *a, int64_t now);

/* The account after an attempt at time now with outcome ok: success
 * clears the failures; the max_failures-th failure in a row locks until
 * now + lock_time_s and clears the count.  Pure: returns the new state. */
struct pin_account pin_after_attempt(struct pin_account a, const struct pin_policy *p, bool ok,
				     int64_t now);

#endif
