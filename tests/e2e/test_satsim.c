/*
 * test_satsim.c — build/satsim end to end: 32 KiB cross byte-exact over
 * pty endpoints and over tcp-listen endpoints, never faster than --rate
 * allows (elapsed, on CLOCK_MONOTONIC, is at least n*8/rate s + latency);
 * SIGTERM exits 0 with totals that match what was sent; a scheduled outage
 * loses exactly what entered during it; a full queue stops the writer
 * instead of dropping; bytes for an absent receiver are dropped and
 * counted; a new TCP peer replaces the old; bad options exit 2 with a
 * reason; SIGUSR1 toggles the manual outage.  Every wait has a deadline;
 * nothing sleeps.  LIFELINE_NO_E2E (make valgrind) skips the suite.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/lib/testutil.h"

#define XFER_BYTES 32768u
#define RATE_BPS 64000u
#define TCP_RATE_BPS 256000u           /* same check, a quarter of the wait */
#define LATENCY_MS 50u
#define READY_MS 5000
#define XFER_DEADLINE_MS 20000
#define EXIT_MS 5000
#define IO_CHUNK 4096u

struct sim {
	char *dir;
	char log[TU_PATH_MAX];
	pid_t pid;
};

static bool sim_start(struct sim *s, const char *a, const char *b, const char *const extra[])
{
	const char *argv[32];
	size_t k = 0;
	argv[k++] = tu_build("satsim");
	argv[k++] = "--a";
	argv[k++] = a;
	argv[k++] = "--b";
	argv[k++] = b;
	for (size_t i = 0; extra && extra[i] && k < 31; i++)
		argv[k++] = extra[i];
	argv[k] = NULL;
	s->pid = tu_spawn(argv, s->log);
	if (s->pid <= 0)
		return false;
	if (!tu_wait_log(s->log, "satsim: ready", READY_MS)) {
		tu_dump_file(s->log, 2000);
		return false;
	}
	return true;
}

static bool sim_init(struct sim *s)
{
	memset(s, 0, sizeof *s);
	s->dir = tu_tmpdir();
	if (!s->dir)
		return false;
	snprintf(s->log, sizeof s->log, "%s", tu_path(s->dir, "satsim.log"));
	return true;
}

/* SIGTERM; true if satsim exited 0 within the deadline. */
static bool sim_stop(struct sim *s)
{
	int status = 0;
	int rc = tu_kill_wait_status(s->pid, SIGTERM, EXIT_MS, &status);
	s->pid = 0;
	return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void sim_fini(struct sim *s)
{
	if (s->pid > 0)
		(void)tu_kill_wait(s->pid, SIGKILL, EXIT_MS);
	if (s->dir) {
		tu_rmrf(s->dir);
		free(s->dir);
	}
}

static int pty_open_raw(const char *path)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct termios t;
	if (tcgetattr(fd, &t) != 0) {
		close(fd);
		return -1;
	}
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return fd;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)seed;
	}
}

/*
 * Writes n bytes to wfd while reading from rfd into got, until `expect`
 * bytes arrived or the deadline.  Returns bytes received; *elapsed_ms is
 * from just before the first write to the last byte read.
 */
static size_t transfer(int wfd, int rfd, const uint8_t *data, size_t n, uint8_t *got,
		       size_t expect, int deadline_ms, uint64_t *elapsed_ms)
{
	uint64_t t0 = tu_now_ms(), end = t0 + (uint64_t)deadline_ms, last = t0;
	size_t sent = 0, recvd = 0;
	while (recvd < expect && tu_now_ms() < end) {
		struct pollfd p[2] = { { .fd = rfd, .events = POLLIN },
				       { .fd = wfd, .events = sent < n ? POLLOUT : 0 } };
		int wait = (int)(end - tu_now_ms());
		if (poll(p, 2, wait > 0 ? wait : 0) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLOUT) {
			size_t k = n - sent < IO_CHUNK ? n - sent : IO_CHUNK;
			ssize_t w = write(wfd, data + sent, k);
			if (w > 0)
				sent += (size_t)w;
		}
		if (p[0].revents & POLLIN) {
			ssize_t r = read(rfd, got + recvd, expect - recvd);
			if (r > 0) {
				recvd += (size_t)r;
				last = tu_now_ms();
			}
		}
	}
	*elapsed_ms = last - t0;
	return recvd;
}

/* Nothing readable on fd within timeout_ms. */
static bool quiet_for(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms) == 0;
}

/* Two distinct free ports on 127.0.0.1. */
static bool two_ports(int *a, int *b)
{
	for (int tries = 0; tries < 8; tries++) {
		*a = tu_free_tcp_port();
		*b = tu_free_tcp_port();
		if (*a > 0 && *b > 0 && *a != *b)
			return true;
	}
	return false;
}

static const char *const rate_args[] = { "--rate", "64000", "--latency", "50", NULL };

/* The byte-exact, rate-bound transfer a -> b, then SIGTERM and totals. */
static void check_transfer(struct sim *s, int fa, int fb, uint64_t rate_bps)
{
	uint8_t *data = malloc(XFER_BYTES), *got = calloc(1, XFER_BYTES);
	CU_ASSERT_FATAL(data && got);
	fill_random(data, XFER_BYTES, 0x5a75);
	uint64_t elapsed = 0;
	size_t n = transfer(fa, fb, data, XFER_BYTES, got, XFER_BYTES, XFER_DEADLINE_MS, &elapsed);
	CU_ASSERT_EQUAL(n, XFER_BYTES);
	CU_ASSERT(memcmp(data, got, XFER_BYTES) == 0);
	/* Honesty: n*8/rate seconds of serialisation plus the one-way latency;
	 * 1 ms of slack for millisecond rounding of two clocks. */
	uint64_t theory = (uint64_t)XFER_BYTES * 8u * 1000u / rate_bps + LATENCY_MS;
	CU_ASSERT(elapsed + 1 >= theory);
	fprintf(stderr, "[%u bytes at %llu bit/s in %llu ms, bound %llu ms] ", XFER_BYTES,
		(unsigned long long)rate_bps, (unsigned long long)elapsed,
		(unsigned long long)theory);
	CU_ASSERT(sim_stop(s));
	CU_ASSERT(tu_file_contains(s->log, "a->b bytes_in=32768 bytes_out=32768 flipped_bits=0 "
					   "dropped_bytes=0 outage_bytes=0 absent_bytes=0"));
	CU_ASSERT(tu_file_contains(s->log, "b->a bytes_in=0 bytes_out=0 flipped_bits=0 "
					   "dropped_bytes=0 outage_bytes=0"));
	free(data);
	free(got);
}

static void test_pty_transfer(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	char pa[TU_PATH_MAX], pb[TU_PATH_MAX], sa[TU_PATH_MAX + 8], sb[TU_PATH_MAX + 8];
	snprintf(pa, sizeof pa, "%s", tu_path(s.dir, "a"));
	snprintf(pb, sizeof pb, "%s", tu_path(s.dir, "b"));
	snprintf(sa, sizeof sa, "pty:%s", pa);
	snprintf(sb, sizeof sb, "pty:%s", pb);
	CU_ASSERT_FATAL(symlink("/nonexistent", pb) == 0);   /* a stale link is replaced */
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, rate_args));
	int fa = pty_open_raw(pa), fb = pty_open_raw(pb);
	CU_ASSERT_FATAL(fa >= 0 && fb >= 0);
	check_transfer(&s, fa, fb, RATE_BPS);
	struct stat st;
	CU_ASSERT(lstat(pa, &st) != 0 && errno == ENOENT);   /* links removed on exit */
	CU_ASSERT(lstat(pb, &st) != 0 && errno == ENOENT);
	close(fa);
	close(fb);
	sim_fini(&s);
}

static void test_tcp_transfer(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	int porta, portb;
	CU_ASSERT_FATAL(two_ports(&porta, &portb));
	char sa[64], sb[64];
	snprintf(sa, sizeof sa, "tcp-listen:127.0.0.1:%d", porta);
	snprintf(sb, sizeof sb, "tcp-listen:%d", portb);
	static const char *const tcp_args[] = { "--rate", "256000", "--latency", "50", NULL };
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, tcp_args));
	int fb = tcp_connect_local(portb), fa = tcp_connect_local(porta);
	CU_ASSERT_FATAL(fa >= 0 && fb >= 0);
	check_transfer(&s, fa, fb, TCP_RATE_BPS);
	close(fa);
	close(fb);
	sim_fini(&s);
}

/* A second connection replaces the first: the first sees EOF, the second gets the bytes. */
static void test_tcp_peer_replaced(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	int porta, portb;
	CU_ASSERT_FATAL(two_ports(&porta, &portb));
	char sa[64], sb[64];
	snprintf(sa, sizeof sa, "tcp-listen:127.0.0.1:%d", porta);
	snprintf(sb, sizeof sb, "tcp-listen:127.0.0.1:%d", portb);
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, rate_args));
	int old = tcp_connect_local(portb);
	CU_ASSERT_FATAL(old >= 0);
	int fb = tcp_connect_local(portb);
	CU_ASSERT_FATAL(fb >= 0);
	CU_ASSERT(tu_wait_log(s.log, "new peer replaces the old one", READY_MS));
	int fa = tcp_connect_local(porta);
	CU_ASSERT_FATAL(fa >= 0);
	static const uint8_t msg[] = "hello from the vessel";
	uint8_t got[sizeof msg];
	uint64_t elapsed;
	CU_ASSERT_EQUAL(transfer(fa, fb, msg, sizeof msg, got, sizeof msg, XFER_DEADLINE_MS, &elapsed),
			sizeof msg);
	CU_ASSERT(memcmp(msg, got, sizeof msg) == 0);
	struct pollfd p = { .fd = old, .events = POLLIN };
	CU_ASSERT(poll(&p, 1, READY_MS) == 1);
	CU_ASSERT(read(old, got, sizeof got) == 0);   /* EOF */
	CU_ASSERT(sim_stop(&s));
	close(old);
	close(fa);
	close(fb);
	sim_fini(&s);
}

/*
 * --a-outage covers the a->b direction for the whole test: what a sends is
 * counted as outage bytes and never reaches b, while b->a works.  The
 * b->a message is the barrier: it was written after a's bytes and takes
 * 50 ms through satsim, by which time satsim has read a's bytes.
 */
static void test_scheduled_outage(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	char pa[TU_PATH_MAX], pb[TU_PATH_MAX], sa[TU_PATH_MAX + 8], sb[TU_PATH_MAX + 8];
	snprintf(pa, sizeof pa, "%s", tu_path(s.dir, "a"));
	snprintf(pb, sizeof pb, "%s", tu_path(s.dir, "b"));
	snprintf(sa, sizeof sa, "pty:%s", pa);
	snprintf(sb, sizeof sb, "pty:%s", pb);
	static const char *const args[] = { "--rate", "64000", "--latency", "50",
					    "--a-outage", "0:3600", NULL };
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, args));
	int fa = pty_open_raw(pa), fb = pty_open_raw(pb);
	CU_ASSERT_FATAL(fa >= 0 && fb >= 0);
	uint8_t lostbuf[100];
	memset(lostbuf, 'x', sizeof lostbuf);
	CU_ASSERT_FATAL(write(fa, lostbuf, sizeof lostbuf) == (ssize_t)sizeof lostbuf);
	static const uint8_t back[] = "reply";
	uint8_t got[sizeof back];
	uint64_t elapsed;
	CU_ASSERT_EQUAL(transfer(fb, fa, back, sizeof back, got, sizeof back, XFER_DEADLINE_MS, &elapsed),
			sizeof back);
	CU_ASSERT(memcmp(back, got, sizeof back) == 0);
	CU_ASSERT(quiet_for(fb, 0));   /* after the barrier: nothing came through */
	CU_ASSERT(sim_stop(&s));
	CU_ASSERT(tu_file_contains(s.log, "a->b bytes_in=100 bytes_out=0 flipped_bits=0 "
					  "dropped_bytes=0 outage_bytes=100"));
	CU_ASSERT(tu_file_contains(s.log, "b->a bytes_in=6 bytes_out=6 "));
	close(fa);
	close(fb);
	sim_fini(&s);
}

/*
 * Back-pressure: with a small --queue and a receiver that does not read,
 * the writer is stopped (its pty stays unwritable) instead of satsim
 * dropping bytes; once the receiver reads, everything arrives byte-exact.
 */
static void test_back_pressure(void)
{
	enum { TOTAL = 65536, STALL_MS = 300 };   /* pty buffers + queue hold ~45 KB */
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	char pa[TU_PATH_MAX], pb[TU_PATH_MAX], sa[TU_PATH_MAX + 8], sb[TU_PATH_MAX + 8];
	snprintf(pa, sizeof pa, "%s", tu_path(s.dir, "a"));
	snprintf(pb, sizeof pb, "%s", tu_path(s.dir, "b"));
	snprintf(sa, sizeof sa, "pty:%s", pa);
	snprintf(sb, sizeof sb, "pty:%s", pb);
	static const char *const args[] = { "--rate", "1000000", "--latency", "10",
					    "--queue", "4096", NULL };
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, args));
	int fa = pty_open_raw(pa), fb = pty_open_raw(pb);
	CU_ASSERT_FATAL(fa >= 0 && fb >= 0);
	uint8_t *data = malloc(TOTAL), *got = calloc(1, TOTAL);
	CU_ASSERT_FATAL(data && got);
	fill_random(data, TOTAL, 0xb4c);
	size_t sent = 0;
	for (;;) {   /* write until the pty stays unwritable for STALL_MS */
		struct pollfd p = { .fd = fa, .events = POLLOUT };
		if (sent == TOTAL || poll(&p, 1, STALL_MS) != 1)
			break;
		ssize_t w = write(fa, data + sent, TOTAL - sent < IO_CHUNK ? TOTAL - sent : IO_CHUNK);
		if (w > 0)
			sent += (size_t)w;
	}
	CU_ASSERT(sent < TOTAL);   /* the writer was held back */
	uint64_t elapsed;
	size_t n = transfer(fa, fb, data + sent, TOTAL - sent, got, TOTAL, XFER_DEADLINE_MS, &elapsed);
	CU_ASSERT_EQUAL(n, TOTAL);
	CU_ASSERT(memcmp(data, got, TOTAL) == 0);
	CU_ASSERT(sim_stop(&s));
	CU_ASSERT(tu_file_contains(s.log, "a->b bytes_in=65536 bytes_out=65536 flipped_bits=0 "
					  "dropped_bytes=0 outage_bytes=0 absent_bytes=0"));
	free(data);
	free(got);
	close(fa);
	close(fb);
	sim_fini(&s);
}

/*
 * A satellite does not wait: bytes due while nobody is connected at b are
 * dropped and counted (satsim says so once); a peer that connects later
 * gets only what is sent after it came.
 */
static void test_absent_receiver(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	int porta, portb;
	CU_ASSERT_FATAL(two_ports(&porta, &portb));
	char sa[64], sb[64];
	snprintf(sa, sizeof sa, "tcp-listen:127.0.0.1:%d", porta);
	snprintf(sb, sizeof sb, "tcp-listen:127.0.0.1:%d", portb);
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, rate_args));
	int fa = tcp_connect_local(porta);
	CU_ASSERT_FATAL(fa >= 0);
	/* One byte: its drop and the log line are one event, so once the line
	 * is there nothing from before can still reach a new peer. */
	static const uint8_t early = 'e';
	CU_ASSERT_FATAL(write(fa, &early, 1) == 1);
	CU_ASSERT(tu_wait_log(s.log, "b: nobody attached, dropping", READY_MS));
	int fb = tcp_connect_local(portb);
	CU_ASSERT_FATAL(fb >= 0);
	/* Connected when satsim's b->a traffic reaches a. */
	static const uint8_t hi[] = "hi";
	uint8_t got[sizeof hi];
	uint64_t elapsed;
	CU_ASSERT_EQUAL(transfer(fb, fa, hi, sizeof hi, got, sizeof hi, XFER_DEADLINE_MS, &elapsed),
			sizeof hi);
	static const uint8_t late[] = "late";
	uint8_t got2[sizeof late];
	CU_ASSERT_EQUAL(transfer(fa, fb, late, sizeof late, got2, sizeof late, XFER_DEADLINE_MS, &elapsed),
			sizeof late);
	CU_ASSERT(memcmp(late, got2, sizeof late) == 0);   /* no 'e' from before */
	CU_ASSERT(sim_stop(&s));
	CU_ASSERT(tu_file_contains(s.log, "a->b bytes_in=6 bytes_out=5 flipped_bits=0 "
					  "dropped_bytes=0 outage_bytes=0 absent_bytes=1"));
	close(fa);
	close(fb);
	sim_fini(&s);
}

/* SIGUSR1 turns the manual outage on and off again; the link then works. */
static void test_sigusr1_toggles(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	int porta, portb;
	CU_ASSERT_FATAL(two_ports(&porta, &portb));
	char sa[64], sb[64];
	snprintf(sa, sizeof sa, "tcp-listen:127.0.0.1:%d", porta);
	snprintf(sb, sizeof sb, "tcp-listen:127.0.0.1:%d", portb);
	CU_ASSERT_FATAL(sim_start(&s, sa, sb, rate_args));
	CU_ASSERT(kill(s.pid, SIGUSR1) == 0);
	CU_ASSERT(tu_wait_log(s.log, "manual outage on", READY_MS));
	off_t from = tu_file_size(s.log);
	CU_ASSERT(kill(s.pid, SIGUSR1) == 0);
	CU_ASSERT(tu_wait_log_from(s.log, "manual outage off", from, READY_MS));
	int fa = tcp_connect_local(porta), fb = tcp_connect_local(portb);
	CU_ASSERT_FATAL(fa >= 0 && fb >= 0);
	static const uint8_t msg[] = "after the outage";
	uint8_t got[sizeof msg];
	uint64_t elapsed;
	CU_ASSERT_EQUAL(transfer(fb, fa, msg, sizeof msg, got, sizeof msg, XFER_DEADLINE_MS, &elapsed),
			sizeof msg);
	CU_ASSERT(memcmp(msg, got, sizeof msg) == 0);
	CU_ASSERT(sim_stop(&s));
	close(fa);
	close(fb);
	sim_fini(&s);
}

static const struct {
	const char *args[8];
	const char *reason;   /* expected in the output */
} bad_options[] = {
	{ { "--a", "pty:/tmp/x", NULL }, "--b ENDPOINT is required" },
	{ { "--a", "pty:/tmp/x", "--b", "serial:/dev/ttyS0", NULL }, "bad endpoint" },
	{ { "--a", "tcp:nohost", "--b", "tcp-listen:1", NULL }, "bad endpoint" },
	{ { "--a", "tcp-listen:70000", "--b", "tcp-listen:1", NULL }, "bad endpoint" },
	{ { "--a", "pty:/tmp/x", "--b", "pty:/tmp/x", NULL }, "same pty path" },
	{ { "--rate", "0", NULL }, "bad --rate" },
	{ { "--rate", "12k", NULL }, "bad --rate" },
	{ { "--loss", "1.5", NULL }, "bad --loss" },
	{ { "--ber", "nan", NULL }, "bad --ber" },
	{ { "--burst", "0", NULL }, "bad --burst" },
	{ { "--outage", "5", NULL }, "bad --outage" },
	{ { "--b-latency", "-1", NULL }, "bad --b-latency" },
	{ { "--queue", "0", NULL }, "--queue must be" },
	{ { "--frobnicate", NULL }, "unknown option" },
	{ { "--seed", "x", NULL }, "bad --seed" },
};

static void test_bad_options(void)
{
	struct sim s;
	CU_ASSERT_FATAL(sim_init(&s));
	for (size_t t = 0; t < sizeof bad_options / sizeof bad_options[0]; t++) {
		const char *argv[12];
		size_t k = 0;
		argv[k++] = tu_build("satsim");
		for (size_t i = 0; bad_options[t].args[i]; i++)
			argv[k++] = bad_options[t].args[i];
		argv[k] = NULL;
		char log[TU_PATH_MAX];
		snprintf(log, sizeof log, "%s/bad%zu.log", s.dir, t);
		pid_t pid = tu_spawn(argv, log);
		CU_ASSERT_FATAL(pid > 0);
		int status = 0;
		CU_ASSERT_EQUAL(tu_wait_exit(pid, EXIT_MS, &status), 0);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 2);
		CU_ASSERT(tu_file_contains(log, bad_options[t].reason));
		CU_ASSERT(tu_file_contains(log, "usage: satsim"));
		if (!tu_file_contains(log, bad_options[t].reason))
			tu_dump_file(log, 1000);
	}
	sim_fini(&s);
}

void suite_satsim(void);
void suite_satsim(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("satsim", NULL, NULL);
	CU_add_test(s, "pty endpoints: 32 KiB byte-exact at the rate bound", test_pty_transfer);
	CU_add_test(s, "tcp-listen endpoints: 32 KiB byte-exact at the rate bound", test_tcp_transfer);
	CU_add_test(s, "a new tcp peer replaces the old", test_tcp_peer_replaced);
	CU_add_test(s, "scheduled outage loses what enters it", test_scheduled_outage);
	CU_add_test(s, "back-pressure instead of silent drops", test_back_pressure);
	CU_add_test(s, "absent receiver: dropped and counted", test_absent_receiver);
	CU_add_test(s, "SIGUSR1 toggles the manual outage", test_sigusr1_toggles);
	CU_add_test(s, "bad options exit 2 with a reason", test_bad_options);
}
