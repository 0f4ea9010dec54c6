/*
 * test_testutil.c — the end-to-end test helpers do what they promise:
 * exit statuses come back, exec failures are reported at spawn, waits end
 * when the awaited thing happens and time out on time, files round-trip.
 */
#include <CUnit/CUnit.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

static void test_paths(void)
{
	const char *old = getenv("LIFELINE_BUILD");
	char *saved = old ? strdup(old) : NULL;
	setenv("LIFELINE_BUILD", "/x/build", 1);
	CU_ASSERT_STRING_EQUAL(tu_build("satsim"), "/x/build/satsim");
	unsetenv("LIFELINE_BUILD");
	CU_ASSERT_STRING_EQUAL(tu_build("satsim"), "build/satsim");
	if (saved) {
		setenv("LIFELINE_BUILD", saved, 1);
		free(saved);
	}
	/* Results stay valid for TU_PATH_RING calls. */
	const char *a = tu_path("d", "a");
	const char *b = tu_path("d", "b");
	CU_ASSERT_STRING_EQUAL(a, "d/a");
	CU_ASSERT_STRING_EQUAL(b, "d/b");
	/* The source tree the runner was started with has this very file. */
	struct stat st;
	CU_ASSERT_EQUAL(stat(tu_src("tests/lib/testutil.h"), &st), 0);
}

static void test_tmpdir_files_rmrf(void)
{
	char *d = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	char *d2 = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d2);
	CU_ASSERT_STRING_NOT_EQUAL(d, d2);
	struct stat st;
	CU_ASSERT_EQUAL(stat(d, &st), 0);
	CU_ASSERT(S_ISDIR(st.st_mode));
	/* Binary round trip, NUL included, plus the appended terminator. */
	static const uint8_t data[] = { 'a', 0, 0xff, '\n', 'z' };
	char f[4096];
	snprintf(f, sizeof f, "%s/sub", d);
	CU_ASSERT_EQUAL(mkdir(f, 0700), 0);
	snprintf(f, sizeof f, "%s/sub/file.bin", d);
	CU_ASSERT_EQUAL(tu_write_file(f, data, sizeof data), 0);
	uint8_t *buf;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(tu_read_file(f, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof data);
	CU_ASSERT_EQUAL(memcmp(buf, data, sizeof data), 0);
	CU_ASSERT_EQUAL(buf[len], 0);
	free(buf);
	CU_ASSERT_EQUAL(tu_file_size(f), (off_t)sizeof data);
	/* A file bigger than one read chunk. */
	size_t big = 200000;
	uint8_t *bigbuf = malloc(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bigbuf);
	for (size_t i = 0; i < big; i++)
		bigbuf[i] = (uint8_t)(i * 7u);
	CU_ASSERT_EQUAL(tu_write_file(tu_path(d, "big"), bigbuf, big), 0);
	CU_ASSERT_EQUAL_FATAL(tu_read_file(tu_path(d, "big"), &buf, &len), 0);
	CU_ASSERT_EQUAL(len, big);
	CU_ASSERT_EQUAL(memcmp(buf, bigbuf, big), 0);
	free(buf);
	free(bigbuf);
	CU_ASSERT_EQUAL(tu_read_file(tu_path(d, "missing"), &buf, &len), ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(tu_write_file(tu_path(d, "no/such/dir"), data, 1), ERR_IO);
	/* A symlink out of the tree must not be followed by rmrf. */
	CU_ASSERT_EQUAL(symlink(d2, tu_path(d, "link")), 0);
	CU_ASSERT_EQUAL(tu_write_file(tu_path(d2, "keep"), "k", 1), 0);
	tu_rmrf(d);
	CU_ASSERT_NOT_EQUAL(stat(d, &st), 0);
	CU_ASSERT_EQUAL(stat(tu_path(d2, "keep"), &st), 0);
	tu_rmrf(d2);
	CU_ASSERT_NOT_EQUAL(stat(d2, &st), 0);
	tu_rmrf(NULL);
	tu_rmrf("");
	free(d);
	free(d2);
}

static void test_spawn_exit_status(void)
{
	char *d = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	const char *log = tu_path(d, "child.log");
	char logp[4096];
	snprintf(logp, sizeof logp, "%s", log);
	const char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	pid_t pid = tu_spawn(argv, logp);
	CU_ASSERT_FATAL(pid > 0);
	int st = 0;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 5000, &st), 0);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 3);
	CU_ASSERT_TRUE(tu_file_contains(logp, "out\n"));
	CU_ASSERT_TRUE(tu_file_contains(logp, "err\n"));
	/* Reaped: a second wait finds nothing. */
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 100, &st), ERR_NOTFOUND);
	/* Own process group; stdin is /dev/null (read gives EOF at once). */
	const char *argv2[] = { "/bin/sh", "-c",
	                        "test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ || exit 4; "
	                        "read x && exit 5; exit 0", NULL };
	pid = tu_spawn(argv2, logp);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 5000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Exec failure is reported by tu_spawn itself. */
	const char *bad[] = { "/nonexistent/program", NULL };
	CU_ASSERT_EQUAL(tu_spawn(bad, logp), -1);
	tu_rmrf(d);
	free(d);
}

static void test_wait_exit_timeout(void)
{
	const char *argv[] = { "/usr/bin/tail", "-f", "/dev/null", NULL };   /* blocks until killed */
	pid_t pid = tu_spawn(argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	uint64_t t0 = tu_now_ms();
	int st;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 100, &st), ERR_TIMEOUT);
	uint64_t dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 100 && dt < 1000);
	/* SIGTERM ends it; the status says so. */
	t0 = tu_now_ms();
	CU_ASSERT_EQUAL(tu_kill_wait_status(pid, SIGTERM, 5000, &st), 0);
	CU_ASSERT(tu_now_ms() - t0 < 1000);
	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	/* A child that ignores SIGTERM is killed at the deadline. */
	char *d = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	char log[4096];
	snprintf(log, sizeof log, "%s/stubborn.log", d);
	/* An ignored SIGTERM stays ignored across exec; tail -f blocks for
	 * ever on its own (no polling loop in the child). */
	const char *stubborn[] = { "/bin/sh", "-c", "trap '' TERM; echo trapped; exec tail -f /dev/null",
				   NULL };
	pid = tu_spawn(stubborn, log);
	CU_ASSERT_FATAL(pid > 0);
	/* Signal only once the shell has installed its trap. */
	CU_ASSERT_TRUE(tu_wait_log(log, "trapped", 5000));
	t0 = tu_now_ms();
	CU_ASSERT_EQUAL(tu_kill_wait_status(pid, SIGTERM, 300, &st), ERR_TIMEOUT);
	dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 300 && dt < 2000);
	CU_ASSERT(WIFSIGNALED(st));
	CU_ASSERT_EQUAL(tu_kill_wait(pid, SIGTERM, 100), ERR_NOTFOUND);
	tu_rmrf(d);
	free(d);
}

struct counter { int calls; int until; };

static bool count_cond(void *arg)
{
	struct counter *c = arg;
	return ++c->calls >= c->until;
}

static void test_wait_until(void)
{
	struct counter c = { 0, 3 };
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_TRUE(tu_wait_until(count_cond, &c, 5000));
	CU_ASSERT_EQUAL(c.calls, 3);
	CU_ASSERT(tu_now_ms() - t0 < 1000);
	/* Never true: returns false at the deadline, not much later. */
	struct counter never = { 0, 1 << 30 };
	t0 = tu_now_ms();
	CU_ASSERT_FALSE(tu_wait_until(count_cond, &never, 80));
	uint64_t dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 80 && dt < 1000);
	CU_ASSERT(never.calls >= 2);
	CU_ASSERT(never.calls <= 80 / TU_COND_INTERVAL_MS + 3);  /* interval respected */
}

static void test_wait_file(void)
{
	char *d = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	char f[4096], lnk[4096];
	snprintf(f, sizeof f, "%s/ready", d);
	snprintf(lnk, sizeof lnk, "%s/link", d);
	/* Missing: times out on time. */
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_FALSE(tu_wait_file(f, 100));
	uint64_t dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 100 && dt < 1000);
	/* Created by a child a little later (the child's own start-up is the
	 * delay; the symlink is made after the file, the way satsim does). */
	const char *argv[] = { "/bin/sh", "-c",
	                       "echo hi > \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && ln -s \"$1\" \"$2\"",
	                       "sh", f, lnk, NULL };
	pid_t pid = tu_spawn(argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	t0 = tu_now_ms();
	CU_ASSERT_TRUE(tu_wait_file(lnk, 5000));
	CU_ASSERT(tu_now_ms() - t0 < 2000);
	CU_ASSERT_TRUE(tu_wait_file(f, 0));        /* already there: at once */
	int st;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 5000, &st), 0);
	/* Parent directory missing: falls back, still times out on time. */
	t0 = tu_now_ms();
	CU_ASSERT_FALSE(tu_wait_file("/nonexistent-dir/x", 50));
	CU_ASSERT(tu_now_ms() - t0 < 1000);
	tu_rmrf(d);
	free(d);
}

static void test_wait_log(void)
{
	char *d = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	char log[4096];
	snprintf(log, sizeof log, "%s/daemon.log", d);
	/* Written in pieces by a child: the needle spans two writes. */
	const char *argv[] = { "/bin/sh", "-c",
	                       "printf 'starting\\nlisten'; printf 'ing on 4000\\n'; "
	                       "i=0; while [ $i -lt 200 ]; do echo filler $i; i=$((i+1)); done; "
	                       "echo ready", NULL };
	pid_t pid = tu_spawn(argv, log);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(tu_wait_log(log, "listening on 4000", 5000));
	CU_ASSERT_TRUE(tu_wait_log(log, "ready\n", 5000));
	int st;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 5000, &st), 0);
	/* From an offset: the old line does not count, a new one does. */
	off_t size = tu_file_size(log);
	CU_ASSERT(size > 0);
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_FALSE(tu_wait_log_from(log, "ready", size, 100));
	uint64_t dt = tu_now_ms() - t0;
	CU_ASSERT(dt >= 100 && dt < 1000);
	const char *argv2[] = { "/bin/sh", "-c", "echo ready again", NULL };
	pid = tu_spawn(argv2, log);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(tu_wait_log_from(log, "ready again", size, 5000));
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 5000, &st), 0);
	/* A log that does not exist yet. */
	CU_ASSERT_FALSE(tu_wait_log(tu_path(d, "nolog"), "x", 50));
	tu_rmrf(d);
	free(d);
}

static void test_free_tcp_port(void)
{
	int port = tu_free_tcp_port();
	CU_ASSERT_FATAL(port > 0 && port < 65536);
	/* It is bindable right after. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(s >= 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr = { htonl(INADDR_LOOPBACK) } };
	CU_ASSERT_EQUAL(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	close(s);
}

void suite_testutil(void);
void suite_testutil(void)
{
	CU_pSuite s = CU_add_suite("testutil", NULL, NULL);
	CU_add_test(s, "build/src paths", test_paths);
	CU_add_test(s, "tmpdir, file round trip, rmrf", test_tmpdir_files_rmrf);
	CU_add_test(s, "spawn: exit status, log, pgid, exec failure", test_spawn_exit_status);
	CU_add_test(s, "wait_exit timeout; kill_wait", test_wait_exit_timeout);
	CU_add_test(s, "wait_until: condition and deadline", test_wait_until);
	CU_add_test(s, "wait_file: created by a child; timeout", test_wait_file);
	CU_add_test(s, "wait_log: split writes, offsets", test_wait_log);
	CU_add_test(s, "free tcp port", test_free_tcp_port);
}
