/*
 * test_complaints.c — issue 6 end to end with the real daemons: shored,
 * vesseld (vessel 101 over ptys) and satsim in between with a known
 * latency (100 ms one way, 64 kbit/s, no loss), vesselctl, shorectl,
 * lifeline-inspect and lifeline-verify.
 *
 * Shows:
 *  - an SOS raises the inspector alert (row + log line) within one link
 *    round trip of its submission (measured; the figure is printed);
 *  - a crew member at 100% of the quota can still complain; vesselctl reads
 *    the text from a file (not the command line);
 *  - the complaint arrives as a case with a metadata-only alert; the
 *    inspector opens it with the inspectorate key (text matches), updates
 *    it twice, and the crew member sees both updates (inbox, status);
 *  - the exported evidence file passes lifeline-verify (pinned keys); every
 *    single flipped byte fails evidence_verify, and a tampered file fails
 *    lifeline-verify;
 *  - no file the vessel or the shore wrote (databases, -wal/-shm, logs,
 *    spool, satsim logs) holds the complaint's text.
 * The inspector's own files (its output, the evidence) live in a separate
 * folder: the inspector's machine.
 */
#define _XOPEN_SOURCE 700
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proto/evidence.h"
#include "tests/lib/e2e.h"
#include "tests/lib/fleet.h"
#include "tests/lib/testutil.h"

#define WAIT_MS 30000
#define LATENCY_MS 100                  /* satsim one way, as fleet.c starts it */
#define RTT_MS (2 * LATENCY_MS)
#define COMPLAINT_TEXT "Captain Lek holds our passports and beat Ko Min on 3 June. " \
		       "\xe0\xb8\x99\xe0\xb8\xb2\xe0\xb8\xa2\xe0\xb8\x88\xe0\xb9\x89\xe0\xb8\xb2\xe0\xb8\x87"
#define NEEDLE "Captain Lek holds"

static const char *const no_loss[] = {"--loss", "0", NULL};

/* Runs a tool to completion; its output in log.  Returns the exit code. */
static int run(const char *log, const char *const argv[])
{
	pid_t p = tu_spawn(argv, log);
	int st = -1;
	CU_ASSERT_FATAL(p > 0);
	CU_ASSERT_FATAL(tu_wait_exit(p, WAIT_MS, &st) == 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct has_arg {
	const char *sock;
	const char *const *argv;
	const char *needle;
};

static bool answer_has(void *arg)
{
	struct has_arg *a = arg;
	int st = -1;
	char *json = NULL;
	bool ok = e2e_call(a->sock, &st, &json, a->argv) == 0 && st == 0 && json &&
		  strstr(json, a->needle) != NULL;
	free(json);
	return ok;
}

static bool wait_answer(const char *sock, const char *const argv[], const char *needle)
{
	struct has_arg a = {sock, argv, needle};
	return tu_wait_until_every(answer_has, &a, WAIT_MS, 5);
}

/* ---- the file search ---------------------------------------------------------- */

static size_t searched, found;

static int search_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	uint8_t *b;
	size_t n;
	if (tu_read_file(path, &b, &n) != 0)
		return 0;       /* a socket or a pty */
	searched++;
	if (memmem(b, n, NEEDLE, strlen(NEEDLE)) || memmem(b, n, "Ko Min", 6)) {
		fprintf(stderr, "complaint text found in %s\n", path);
		found++;
	}
	free(b);
	return 0;
}

/* ---- the test -------------------------------------------------------------------- */

static void test_complaint_flow(void)
{
	struct fleet f;
	fleet_up(&f, 1, 16, "1k", no_loss);
	struct fleet_vessel *v = &f.v[0];
	char *insp = tu_tmpdir();               /* the inspector's machine */
	CU_ASSERT_FATAL(insp != NULL);
	char cs[16], out[TU_PATH_MAX], path[TU_PATH_MAX], key[TU_PATH_MAX], pinf[TU_PATH_MAX];
	snprintf(cs, sizeof cs, "%u", v->crew[0]);
	snprintf(key, sizeof key, "%s/inspectorate.secret", f.dir);

	/* 1. SOS: the alert within one round trip of the link (idle: the crew's
	 * three contacts have been accepted ashore) */
	const char *vst[] = {"status", NULL};
	CU_ASSERT(wait_answer(v->sock, vst, "\"queued\":0,\"sent\":0,\"accepted\":3"));
	const char *alerts[] = {"alerts", NULL};
	const char *sos[] = {"sos", "--crew", cs, "--pin", FLEET_PIN, "engine room fire", NULL};
	uint64_t t0 = tu_now_ms();
	char *json = e2e_must(v->sock, sos);
	uint64_t sos_id = 0;
	CU_ASSERT(json && e2e_json_u64(json, NULL, "msg_id", &sos_id));
	free(json);
	CU_ASSERT(wait_answer(f.shore_sock, alerts, "\"kind\":\"sos\""));
	uint64_t dt = tu_now_ms() - t0;
	fprintf(stderr, "\n    SOS submitted -> inspector alert row: %" PRIu64 " ms (link: %d ms one "
		"way, round trip %d ms)\n", dt, LATENCY_MS, RTT_MS);
	CU_ASSERT(dt <= RTT_MS);
	char slog[TU_PATH_MAX];
	snprintf(slog, sizeof slog, "%s/shored.1.log", f.dir);
	CU_ASSERT(tu_file_contains(slog, "alert: vessel 101: sos: SOS: vessel 101 message"));

	/* 2. a crew member at 100% of the allowance (1024 = 4 x 256) */
	char text[300];
	memset(text, 'a', 256);
	text[256] = '\0';
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(fleet_send(&f, v, 0, text), 0);
	CU_ASSERT_EQUAL(fleet_send(&f, v, 0, text), 75);

	/* 3. ... complains, the text from a file on their own device */
	snprintf(path, sizeof path, "%s/complaint.txt", insp);
	snprintf(pinf, sizeof pinf, "%s/pin", insp);
	CU_ASSERT_FATAL(tu_write_file(path, COMPLAINT_TEXT "\n", strlen(COMPLAINT_TEXT) + 1) == 0);
	CU_ASSERT_FATAL(tu_write_file(pinf, FLEET_PIN "\n", strlen(FLEET_PIN) + 1) == 0);
	snprintf(out, sizeof out, "%s/vesselctl.out", insp);
	const char *comp[] = {tu_build("vesselctl"), "--socket", v->sock, "--json", "--pin-file", pinf,
			      "complain", "--crew", cs, "--category", "documents", "--file", path, NULL};
	CU_ASSERT_EQUAL_FATAL(run(out, comp), 0);
	uint8_t *o;
	size_t on;
	uint64_t cid = 0;
	CU_ASSERT_FATAL(tu_read_file(out, &o, &on) == 0);
	char *oz = realloc(o, on + 1);
	CU_ASSERT_FATAL(oz != NULL);
	oz[on] = '\0';
	CU_ASSERT(e2e_json_u64(oz, NULL, "msg_id", &cid));
	free(oz);

	/* 4. it arrives as a case; the alert says so, without the text */
	char needle[64];
	snprintf(needle, sizeof needle, "\"vessel\":101,\"vessel_name\":\"Sea Star 101\",\"msg_id\":%"
		 PRIu64, cid);
	const char *cl[] = {"cases", "list", NULL};
	CU_ASSERT_FATAL(wait_answer(f.shore_sock, cl, needle));
	CU_ASSERT(wait_answer(f.shore_sock, alerts, "new complaint: case 1, vessel 101 message"));
	char cas[32];
	snprintf(cas, sizeof cas, "101/%" PRIu64, cid);

	/* 5. the inspector opens it on their machine */
	snprintf(out, sizeof out, "%s/open.json", insp);
	const char *op[] = {tu_build("lifeline-inspect"), "--socket", f.shore_sock, "open", cas, "--key",
			    key, "--json", NULL};
	CU_ASSERT_EQUAL(run(out, op), 0);
	CU_ASSERT(tu_file_contains(out, "\"text\":\"" COMPLAINT_TEXT "\""));
	CU_ASSERT(tu_file_contains(out, "\"category_name\":\"documents\""));
	char crew_json[48];
	snprintf(crew_json, sizeof crew_json, "\"crew_id\":%s,", cs);
	CU_ASSERT(tu_file_contains(out, crew_json));
	/* a wrong key cannot open it */
	snprintf(path, sizeof path, "%s/shore.secret", f.dir);
	const char *bad[] = {tu_build("lifeline-inspect"), "--socket", f.shore_sock, "open", cas, "--key",
			     path, NULL};
	snprintf(out, sizeof out, "%s/open-bad.out", insp);
	CU_ASSERT_EQUAL(run(out, bad), 1);

	/* 6. two updates; the second with a note for the crew member */
	snprintf(out, sizeof out, "%s/update.out", insp);
	const char *u1[] = {tu_build("lifeline-inspect"), "--socket", f.shore_sock, "update", cas,
			    "--status", "investigating", "--note", "assigned to the Songkhla office",
			    NULL};
	CU_ASSERT_EQUAL(run(out, u1), 0);
	const char *u2[] = {tu_build("lifeline-inspect"), "--socket", f.shore_sock, "update", cas,
			    "--status", "resolved", "--note", "Passports returned at port.",
			    "--note-for-crew", NULL};
	CU_ASSERT_EQUAL(run(out, u2), 0);
	const char *inbox[] = {"inbox", "--crew", cs, "--pin", FLEET_PIN, NULL};
	CU_ASSERT(wait_answer(v->sock, inbox, "\"status\":\"resolved\""));
	json = e2e_must(v->sock, inbox);
	CU_ASSERT(json && strstr(json, "\"status\":\"investigating\"") != NULL);
	CU_ASSERT(json && strstr(json, "Passports returned at port.") != NULL);
	CU_ASSERT(json && strstr(json, "Songkhla") == NULL);        /* stayed ashore */
	free(json);
	const char *st[] = {"status", "--crew", cs, "--pin", FLEET_PIN, NULL};
	json = e2e_must(v->sock, st);
	CU_ASSERT(json && strstr(json, "\"case_status\":\"resolved\"") != NULL);
	free(json);

	/* 7. evidence: exported, verified, every byte matters */
	char ev[TU_PATH_MAX], vk[TU_PATH_MAX], sk[TU_PATH_MAX];
	snprintf(ev, sizeof ev, "%s/case.lldoc", insp);
	snprintf(vk, sizeof vk, "%s/101.public", f.dir);
	snprintf(sk, sizeof sk, "%s/shore.public", f.dir);
	snprintf(out, sizeof out, "%s/export.out", insp);
	const char *ex[] = {tu_build("lifeline-inspect"), "--socket", f.shore_sock, "export", cas, "--key",
			    key, "--out", ev, "--vessel-key", vk, "--shore-key", sk, NULL};
	CU_ASSERT_EQUAL_FATAL(run(out, ex), 0);
	snprintf(out, sizeof out, "%s/verify.out", insp);
	const char *ver[] = {tu_build("lifeline-verify"), ev, "--vessel-key", vk, "--shore-key", sk, NULL};
	CU_ASSERT_EQUAL(run(out, ver), 0);
	CU_ASSERT(tu_file_contains(out, "VERIFIED complaint evidence"));
	uint8_t *doc;
	size_t dn;
	CU_ASSERT_FATAL(tu_read_file(ev, &doc, &dn) == 0);
	size_t caught = 0;
	for (size_t i = 0; i < dn; i++) {
		struct evidence e;
		doc[i] ^= 0x01;
		caught += evidence_verify(doc, dn, &e, NULL) != 0;
		doc[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(caught, dn);
	doc[dn / 2] ^= 0x40;
	CU_ASSERT_FATAL(tu_write_file(ev, doc, dn) == 0);
	free(doc);
	CU_ASSERT_EQUAL(run(out, ver), 1);
	CU_ASSERT(tu_file_contains(out, "NOT VERIFIED"));

	/* 8. nothing the vessel or the shore wrote holds the text */
	searched = found = 0;
	CU_ASSERT_EQUAL(nftw(f.dir, search_one, 16, FTW_PHYS), 0);
	fprintf(stderr, "    searched %zu files of the vessel and the shore for the complaint "
		"text: %zu hit(s)\n", searched, found);
	CU_ASSERT(searched >= 6);       /* both dbs (+ -wal), 2 daemon logs, satsim log ... */
	CU_ASSERT_EQUAL(found, 0);
	fleet_down(&f);
	/* after a clean stop too (checkpointed databases) */
	if (CU_get_number_of_failures() == 0) {
		tu_rmrf(insp);
	}
	free(insp);
}

void suite_complaints(void);
void suite_complaints(void)
{
	if (getenv("LIFELINE_NO_E2E"))
		return;
	CU_pSuite s = CU_add_suite("complaints", NULL, NULL);
	CU_add_test(s, "SOS alert in one round trip; complaint at 100% quota -> case, open, "
		    "2 updates seen on board, evidence verified, no plaintext on disk",
		    test_complaint_flow);
}
