/*
 * test_chaos.c — end to end under chaos (issue 8): texts from several crew
 * on two vessels while vesseld, shored and satsim are killed with SIGKILL
 * at seeded random moments, on links with bit errors, burst loss and
 * scheduled outages.  At the end the fleet reconciliation (tests/lib/
 * fleet.c) proves 0 lost and 0 duplicated at the families and every
 * sender's state and ledger correct.
 *
 * Size: LIFELINE_CHAOS_N texts (default 400) and LIFELINE_CHAOS_KILLS
 * kills (default 8); `make chaos N=10000 KILLS=20` runs the big one.
 * LIFELINE_CHAOS_SEED changes the kill schedule.  Nothing sleeps.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/lib/fleet.h"

#define CHAOS_N_DEFAULT 400
#define CHAOS_KILLS_DEFAULT 8
#define CHAOS_N_MAX 1000000

/* Bit errors, 2% burst loss, and outages at 4 s and 12 s after each satsim
 * (re)start, so a restarted satsim goes dark again. */
static const char *const chaos_link[] = {"--ber", "1e-5", "--loss", "0.02", "--outage", "4:2",
					 "--outage", "12:3", NULL};

enum victim { V_VESSEL, V_SHORED, V_SATSIM, V_COUNT };

static size_t env_size(const char *name, size_t def, size_t max)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v == 0 || v > max) {
		fprintf(stderr, "chaos: ignoring %s=%s (a whole number from 1 to %zu)\n", name, s, max);
		return def;
	}
	return (size_t)v;
}

static void test_chaos(void)
{
	size_t total = env_size("LIFELINE_CHAOS_N", CHAOS_N_DEFAULT, CHAOS_N_MAX);
	size_t kills = env_size("LIFELINE_CHAOS_KILLS", CHAOS_KILLS_DEFAULT, total / 2 + 1);
	size_t seed = env_size("LIFELINE_CHAOS_SEED", 1, SIZE_MAX);
	if (total < 4)
		total = 4;
	struct fleet f;
	fleet_up(&f, 2, total, "1M", chaos_link);
	f.rng += (uint64_t)seed * 0xbf58476d1ce4e5b9ull;   /* never 0: xorshift would stick */
	if (!f.rng)
		f.rng = 1;

	unsigned char *at = calloc(total, 1);      /* victim + 1 at each kill point */
	CU_ASSERT_FATAL(at != NULL);
	for (size_t k = 0; k < kills; k++)
		at[1 + fleet_rand(&f) % (total - 1)] = (unsigned char)(1 + fleet_rand(&f) % V_COUNT);

	size_t done[V_COUNT] = {0};
	for (size_t i = 0; i < total; i++) {
		struct fleet_vessel *v = &f.v[i % 2];
		char text[512];
		fleet_text(i, text, sizeof text);
		CU_ASSERT_EQUAL(fleet_send(&f, v, (int)((i / 2) % FLEET_CREW), text), 0);
		if (!at[i])
			continue;
		struct fleet_vessel *victim = &f.v[fleet_rand(&f) % 2];
		switch (at[i] - 1) {
		case V_VESSEL: fleet_kill_vessel(&f, victim); break;
		case V_SHORED: fleet_kill_shored(&f); break;
		default: fleet_kill_satsim(&f, victim); break;
		}
		done[at[i] - 1]++;
	}
	free(at);
	fprintf(stderr, "chaos: %zu texts, killed vesseld %zu, shored %zu, satsim %zu times\n",
		total, done[V_VESSEL], done[V_SHORED], done[V_SATSIM]);
	fleet_check_everything(&f);
	fleet_down(&f);
}

void suite_chaos(void);
void suite_chaos(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("chaos", NULL, NULL);
	CU_add_test(s, "kills of every process on a lossy, dark link: 0 lost, 0 duplicated",
		    test_chaos);
}
