/*
 * test_demo.c — `make demo` keeps working: runs tools/demo.sh against the
 * build and checks that it exits 0 having shown every step (issue 8).
 * The demo itself waits on conditions with deadlines; this test waits for
 * it with a deadline of its own.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tests/lib/testutil.h"

#define DEMO_MS 120000          /* the promise: within two minutes */

static void test_demo_runs(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_FATAL(dir != NULL);
	const char *logp = tu_path(dir, "demo.log");
	const char *build = getenv("LIFELINE_BUILD");
	const char *argv[] = {"/bin/sh", tu_src("tools/demo.sh"), build ? build : "build", NULL};
	pid_t pid = tu_spawn(argv, logp);
	CU_ASSERT_FATAL(pid > 0);
	int st = -1;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, DEMO_MS, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT(tu_file_contains(logp, "Not sent: this message is"));
	CU_ASSERT(tu_file_contains(logp, "Complaint queued"));
	CU_ASSERT(tu_file_contains(logp, "spool/1042/4.json"));
	CU_ASSERT(tu_file_contains(logp, "ဂရုစိုက်ပါ"));                /* the reply, on board */
	CU_ASSERT(tu_file_contains(logp, "VERIFIED complaint"));        /* the inspector */
	CU_ASSERT(tu_file_contains(logp, "investigating. An inspector will meet"));
	CU_ASSERT(tu_file_contains(logp, "VERIFIED monthly statement"));
	CU_ASSERT(tu_file_contains(logp, "refused below the allowance: never"));
	CU_ASSERT(tu_file_contains(logp, "Done: everything stopped"));
	if (CU_get_number_of_failures() == 0)
		tu_rmrf(dir);
	else
		tu_dump_file(logp, 6000);
	free(dir);
}

void suite_demo(void);
void suite_demo(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("demo", NULL, NULL);
	CU_add_test(s, "make demo runs every step and exits 0", test_demo_runs);
}
