/*
 * fixture.h — small fixtures shared by unit suites: a suite that runs with
 * logging cut to errors (its refusals are expected, their log lines are
 * noise), and key pairs made from fixed seeds (golden vectors need the same
 * keys on every run).
 */
#ifndef LIFELINE_TESTS_FIXTURE_H
#define LIFELINE_TESTS_FIXTURE_H

#include <stdint.h>

/* CUnit suite init/cleanup pair: logs errors only (and sodium_init()),
 * then the level the runner had.  Init returns -1 if libsodium fails. */
int fx_quiet(void);
int fx_loud(void);

/* Key pairs from the 32-byte seed v, v+1, ..., v+31 (mod 256). */
void fx_sign_keypair(uint8_t pk[32], uint8_t sk[64], uint8_t v);
void fx_box_keypair(uint8_t pk[32], uint8_t sk[32], uint8_t v);

#endif
