/*
 * fixture.c — fixtures shared by unit suites (see fixture.h).
 *
 * Failure behaviour: fx_quiet() reports a libsodium failure to CUnit (the
 * suite does not run); the key helpers cannot fail.
 */
#include "tests/lib/fixture.h"

#include <sodium.h>

#include "common/log.h"

static int saved_level;

int fx_quiet(void)
{
	saved_level = (int)log_level_current;
	log_set_level(LOG_LVL_ERROR);
	return sodium_init() < 0 ? -1 : 0;
}

int fx_loud(void)
{
	log_set_level((enum log_level)saved_level);
	return 0;
}

static void seed(uint8_t s[32], uint8_t v)
{
	for (int i = 0; i < 32; i++)
		s[i] = (uint8_t)(v + i);
}

void fx_sign_keypair(uint8_t pk[32], uint8_t sk[64], uint8_t v)
{
	uint8_t s[32];
	seed(s, v);
	crypto_sign_seed_keypair(pk, sk, s);
}

void fx_box_keypair(uint8_t pk[32], uint8_t sk[32], uint8_t v)
{
	uint8_t s[32];
	seed(s, v);
	crypto_box_seed_keypair(pk, sk, s);
}
