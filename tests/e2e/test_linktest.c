/*
 * test_linktest.c — end to end: linktest over satsim, the impaired
 * link (64 kbit/s, BER 1e-5, 5% burst loss, a 3-second outage), once over
 * pseudo-terminals with the serial driver and once over TCP endpoints.
 * 64 KiB must arrive byte-exact.  Every wait has a deadline; nothing sleeps.
 */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/testutil.h"

#define E2E_BYTES "65536"
#define READY_MS 10000
#define TRANSFER_MS 120000

static void run_case(const char *a_ep, const char *b_ep, const char *send_link,
		     const char *recv_link, const char *dir, bool wait_files,
		     const char *pa, const char *pb)
{
	char satlog[512], slog[512], rlog[512], out[512], saved[512];
	snprintf(satlog, sizeof satlog, "%s/satsim.log", dir);
	snprintf(slog, sizeof slog, "%s/send.log", dir);
	snprintf(rlog, sizeof rlog, "%s/recv.log", dir);
	snprintf(out, sizeof out, "%s/received.bin", dir);
	snprintf(saved, sizeof saved, "%s/sent.bin", dir);

	const char *sat[] = {tu_build("satsim"), "--a", a_ep, "--b", b_ep,
			     "--rate", "64000", "--ber", "1e-5", "--loss", "0.05",
			     "--outage", "3:3", "--seed", "7", NULL};
	pid_t sp = tu_spawn(sat, satlog);
	CU_ASSERT_FATAL(sp > 0);
	CU_ASSERT_FATAL(tu_wait_log(satlog, "satsim: ready", READY_MS));
	if (wait_files) {
		CU_ASSERT_FATAL(tu_wait_file(pa, READY_MS));
		CU_ASSERT_FATAL(tu_wait_file(pb, READY_MS));
	}

	const char *recv[] = {tu_build("linktest"), "recv", recv_link, "--out", out,
			      "--rate", "64000", "--rtt", "1500", "--timeout", "110", NULL};
	pid_t rp = tu_spawn(recv, rlog);
	CU_ASSERT_FATAL(rp > 0);
	const char *send[] = {tu_build("linktest"), "send", send_link, "--bytes", E2E_BYTES,
			      "--save", saved, "--rate", "64000", "--rtt", "1500",
			      "--timeout", "110", NULL};
	pid_t xp = tu_spawn(send, slog);
	CU_ASSERT_FATAL(xp > 0);

	int st = -1;
	CU_ASSERT_EQUAL(tu_wait_exit(xp, TRANSFER_MS, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = -1;
	CU_ASSERT_EQUAL(tu_wait_exit(rp, TRANSFER_MS, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	uint8_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	CU_ASSERT_EQUAL(tu_read_file(saved, &a, &na), 0);
	CU_ASSERT_EQUAL(tu_read_file(out, &b, &nb), 0);
	CU_ASSERT_EQUAL(na, 65536u);
	CU_ASSERT_EQUAL(nb, na);
	CU_ASSERT(a && b && na == nb && memcmp(a, b, na) == 0);
	free(a);
	free(b);
	/* The receiver reported a goodput line. */
	CU_ASSERT(tu_wait_log(rlog, "goodput_bps=", 1000));

	/* satsim reports totals and exits 0 on SIGTERM; it impaired the link. */
	kill(sp, SIGTERM);
	st = -1;
	CU_ASSERT_EQUAL(tu_wait_exit(sp, READY_MS, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT(tu_wait_log(satlog, "dropped_bytes=", 1000));
	if (CU_get_number_of_failures() > 0) {  /* what the next engineer needs */
		fprintf(stderr, "\n--- send.log\n");
		tu_dump_file(slog, 3000);
		fprintf(stderr, "--- recv.log\n");
		tu_dump_file(rlog, 3000);
		fprintf(stderr, "--- satsim.log\n");
		tu_dump_file(satlog, 2000);
	}
}

static void test_over_ptys(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char pa[512], pb[512], ea[600], eb[600], la[600], lb[600];
	snprintf(pa, sizeof pa, "%s/vessel.tty", dir);
	snprintf(pb, sizeof pb, "%s/shore.tty", dir);
	snprintf(ea, sizeof ea, "pty:%s", pa);
	snprintf(eb, sizeof eb, "pty:%s", pb);
	snprintf(la, sizeof la, "serial:%s?baud=115200", pa);
	snprintf(lb, sizeof lb, "serial:%s?baud=115200", pb);
	run_case(ea, eb, la, lb, dir, true, pa, pb);
	tu_rmrf(dir);
	free(dir);
}

static void test_over_tcp(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	int p1 = tu_free_tcp_port(), p2 = tu_free_tcp_port();
	CU_ASSERT_FATAL(p1 > 0 && p2 > 0 && p1 != p2);
	char ea[64], eb[64], la[64], lb[64];
	snprintf(ea, sizeof ea, "tcp-listen:127.0.0.1:%d", p1);
	snprintf(eb, sizeof eb, "tcp-listen:127.0.0.1:%d", p2);
	snprintf(la, sizeof la, "tcp:127.0.0.1:%d", p1);
	snprintf(lb, sizeof lb, "tcp:127.0.0.1:%d", p2);
	run_case(ea, eb, la, lb, dir, false, NULL, NULL);
	tu_rmrf(dir);
	free(dir);
}

void suite_linktest(void);
void suite_linktest(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("linktest", NULL, NULL);
	CU_add_test(s, "64 KiB over satsim ptys, impaired", test_over_ptys);
	CU_add_test(s, "64 KiB over satsim TCP endpoints, impaired", test_over_tcp);
}
