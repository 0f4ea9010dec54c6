/*
 * test_fleet.c — end to end: the real vesseld and the real shored through
 * satsim, with both daemons killed (SIGKILL) at seeded random moments.
 *
 * What it proves (issues 4 and 5, DESIGN invariants 1, 2 and 7):
 *  - every message a crew member was told "queued" reaches the family's
 *    spool exactly once and the crew member finally sees "delivered";
 *  - the shore holds each (vessel, message id) once;
 *  - each crew member's quota ledger equals the UTF-8 bytes of the texts
 *    the vessel holds for them, across every crash;
 *  - over quota, a clear refusal; a complaint from the same person still
 *    reaches the shore.
 * The harness (processes, kills, reconciliation) is tests/lib/fleet.c.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ctl.h"
#include "tests/lib/e2e.h"
#include "tests/lib/fleet.h"
#include "tests/lib/testutil.h"

static void run_fleet(size_t nvessels, size_t per_vessel, int vessel_kills, int shore_kills)
{
	struct fleet f;
	size_t total = nvessels * per_vessel;
	fleet_up(&f, nvessels, total, "1M", NULL);

	/* Kill points: seeded, spread over the submissions. */
	bool *vkill = calloc(total, 1), *skill = calloc(total, 1);
	CU_ASSERT_FATAL(vkill && skill);
	for (int k = 0; k < vessel_kills; k++)
		vkill[1 + fleet_rand(&f) % (total - 1)] = true;
	for (int k = 0; k < shore_kills; k++)
		skill[1 + fleet_rand(&f) % (total - 1)] = true;

	for (size_t i = 0; i < total; i++) {
		struct fleet_vessel *v = &f.v[i % nvessels];
		int c = (int)((i / nvessels) % FLEET_CREW);
		char text[512];
		fleet_text(i, text, sizeof text);
		CU_ASSERT_EQUAL(fleet_send(&f, v, c, text), 0);
		if (vkill[i])
			fleet_kill_vessel(&f, &f.v[fleet_rand(&f) % nvessels]);
		if (skill[i])
			fleet_kill_shored(&f);
	}
	free(vkill);
	free(skill);
	fleet_check_everything(&f);
	fleet_down(&f);
}

/* Issue 4: one vessel, 3 crew, 300 texts, vesseld killed 5 times. */
static void test_vessel_crashes(void)
{
	run_fleet(1, 300, 5, 0);
}

/* Issue 5: two vessels (ptys and TCP), 500 texts each, shored and vesseld
 * each killed 5 times. */
static void test_fleet_crashes(void)
{
	run_fleet(2, 500, 5, 5);
}

struct complaint_arg {
	const char *sock;
	uint32_t vessel;
	uint64_t id;
};

static bool shore_has_complaint(void *arg)
{
	struct complaint_arg *a = arg;
	char vid[16];
	snprintf(vid, sizeof vid, "%u", a->vessel);
	const char *ml[] = {"messages", "list", "--vessel", vid, NULL};
	int st = -1;
	char *json = NULL;
	bool found = e2e_call(a->sock, &st, &json, ml) == 0 && st == 0 &&
		     fleet_shore_count(json, "complaint", a->id) == 1;
	free(json);
	return found;
}

/* Over quota: a clear refusal; a complaint from the same person still
 * reaches the shore. */
static void test_quota_and_complaint(void)
{
	struct fleet f;
	fleet_up(&f, 1, 16, "1k", NULL);
	struct fleet_vessel *v = &f.v[0];
	char text[512];
	memset(text, 'a', 300);
	text[300] = '\0';
	int st = 0, sent = 0;
	while ((st = fleet_send(&f, v, 0, text)) == 0)
		sent++;
	CU_ASSERT_EQUAL(sent, 3);               /* 3 x 300 <= 1024 < 4 x 300 */
	CU_ASSERT_EQUAL(st, 75);                /* EX_TEMPFAIL: try after the reset */

	char cs[16];
	snprintf(cs, sizeof cs, "%u", v->crew[0]);
	const char *again[] = {"send", "--crew", cs, "--pin", FLEET_PIN, "--to", "1", text, NULL};
	char *json = NULL, *msg = NULL;
	int rc = ctl_call(v->sock, 8, again, E2E_CTL_MS, &st, &msg, &json);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st, 75);
	CU_ASSERT(msg && strstr(msg, "1,024") != NULL);          /* the allowance */
	CU_ASSERT(msg && strstr(msg, "omplaint") != NULL);       /* complaints are free */
	free(json);
	free(msg);

	const char *comp[] = {"complain", "--crew", cs, "--pin", FLEET_PIN,
			      "The captain keeps our passports and has not paid us for 4 months.",
			      NULL};
	json = e2e_must(v->sock, comp);
	uint64_t cid = 0;
	CU_ASSERT_FATAL(json && e2e_json_u64(json, NULL, "msg_id", &cid));
	free(json);

	/* The complaint reaches the shore, which holds it sealed. */
	struct complaint_arg ca = {f.shore_sock, v->id, cid};
	CU_ASSERT(tu_wait_until_every(shore_has_complaint, &ca, FLEET_DRAIN_MS, 100));
	fleet_down(&f);
}

void suite_fleet(void);
void suite_fleet(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("fleet", NULL, NULL);
	CU_add_test(s, "over quota: refusal; a complaint still reaches the shore",
		    test_quota_and_complaint);
	CU_add_test(s, "vesseld killed 5 times: 300 texts exactly once, ledger exact",
		    test_vessel_crashes);
	CU_add_test(s, "two vessels, both daemons killed 5 times: 1000 texts exactly once",
		    test_fleet_crashes);
}
