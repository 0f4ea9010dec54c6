/*
 * test_link.c — the link layer over real fds and a real loop: spec strings
 * (table), serial over a pty (termios path) with split writes, noise and a
 * vanishing device, TCP connect/listen with reconnects and many clients,
 * the transmit buffer's back-pressure, and libserialport's own path over a
 * pty through the LD_PRELOAD shim (in a re-executed child runner).
 *
 * No sleeps: pump() drives the loop (blocking in poll() on the fds) until
 * a condition holds or a deadline passes; backoff tests step a fake clock.
 */
#include <CUnit/CUnit.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/link.h"
#include "common/log.h"
#include "common/loop.h"
#include "proto/frame.h"
#include "tests/lib/testutil.h"

#define DEADLINE_MS 5000
#define PUMP_WAIT_MS 20
#define MAX_CLIENTS 24
#define SHIM_ENV "LIFELINE_LINK_SHIM_CHILD"

/* ---- helpers --------------------------------------------------------------- */

struct rx {
	int units;
	uint8_t last[FRAME_CONTENT_MAX];
	size_t last_len;
	int ups, downs, writables;
	struct link *self;
	bool echo;              /* send every unit back */
	bool close_on_down;     /* link_close() inside on_state(DOWN) */
	bool closed;
};

static void rx_unit(void *ctx, struct link *l, const uint8_t *u, size_t n)
{
	struct rx *r = ctx;
	r->units++;
	memcpy(r->last, u, n);
	r->last_len = n;
	if (r->echo)
		CU_ASSERT_EQUAL(link_send(l, u, n), 0);
}

static void rx_state(void *ctx, struct link *l, enum link_state st)
{
	struct rx *r = ctx;
	if (st == LINK_UP) {
		r->ups++;
		return;
	}
	r->downs++;
	if (r->close_on_down) {
		link_close(l);
		r->closed = true;
	}
}

static void rx_writable(void *ctx, struct link *l)
{
	(void)l;
	struct rx *r = ctx;
	r->writables++;
}

static const struct link_callbacks rx_cb = {
	.on_unit = rx_unit, .on_state = rx_state, .on_writable = rx_writable,
};

/* Runs the loop until cond(arg) or the deadline; returns cond(arg). */
static bool pump(struct loop *lp, bool (*cond)(void *), void *arg, int timeout_ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)timeout_ms;
	while (!cond(arg)) {
		if (tu_now_ms() >= end)
			return cond(arg);
		if (loop_run_once(lp, PUMP_WAIT_MS) < 0)
			return false;
	}
	return true;
}

struct want { const int *counter; int at_least; };
static bool reached(void *arg)
{
	const struct want *w = arg;
	return *w->counter >= w->at_least;
}
static bool pump_count(struct loop *lp, const int *counter, int at_least)
{
	struct want w = { counter, at_least };
	return pump(lp, reached, &w, DEADLINE_MS);
}

static bool is_up(void *arg) { return link_is_up(arg); }

/* A pty master whose slave the link opens; the test plays the far end. */
struct far {
	int master;
	char slave[64];
	struct frame_lexer lx;
	int units, bad;
	uint8_t last[FRAME_CONTENT_MAX];
	size_t last_len;
	uint8_t raw[8192];
	size_t raw_len;
	bool reading;
};

static void far_readable(struct loop *lp, int fd, short revents, void *ctx)
{
	(void)lp;
	(void)revents;
	struct far *f = ctx;
	if (!f->reading)
		return;
	uint8_t buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0)
		return;
	size_t room = sizeof f->raw - f->raw_len;
	size_t keep = (size_t)n < room ? (size_t)n : room;
	memcpy(f->raw + f->raw_len, buf, keep);
	f->raw_len += keep;
	const uint8_t *in = buf;
	size_t len = (size_t)n;
	while (len > 0) {
		const uint8_t *c;
		size_t cl;
		int rc = frame_lexer_next(&f->lx, &in, &len, &c, &cl);
		if (rc == 1) {
			f->units++;
			memcpy(f->last, c, cl);
			f->last_len = cl;
		} else if (rc < 0) {
			f->bad++;
		}
	}
}

static int far_open(struct far *f, struct loop *lp)
{
	memset(f, 0, sizeof *f);
	f->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f->master < 0 || grantpt(f->master) != 0 || unlockpt(f->master) != 0)
		return -1;
	if (ptsname_r(f->master, f->slave, sizeof f->slave) != 0)
		return -1;
	frame_lexer_init(&f->lx);
	f->reading = true;
	return loop_fd_add(lp, f->master, POLLIN, far_readable, f);
}

static void far_close(struct far *f, struct loop *lp)
{
	if (f->master >= 0) {
		loop_fd_del(lp, f->master);
		close(f->master);
	}
	f->master = -1;
}

static void far_send(struct far *f, const uint8_t *u, size_t n, unsigned flags)
{
	uint8_t enc[FRAME_ENCODED_MAX];
	ssize_t e = frame_encode(u, n, flags, enc, sizeof enc);
	CU_ASSERT_FATAL(e > 0);
	CU_ASSERT_EQUAL(write(f->master, enc, (size_t)e), e);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
	p[0] = frame_header(1);     /* a valid header byte (version, type 1) */
}

/* Redirects stderr (where log lines go) into a file while a test runs. */
struct capture { int saved; char *dir; char path[512]; };
static void capture_start(struct capture *c)
{
	c->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->dir);
	snprintf(c->path, sizeof c->path, "%s/stderr.log", c->dir);
	fflush(stderr);
	c->saved = dup(2);
	int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CU_ASSERT_FATAL(fd >= 0 && c->saved >= 0);
	dup2(fd, 2);
	close(fd);
}
static void capture_stop(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
}
static void capture_free(struct capture *c)
{
	tu_rmrf(c->dir);
	free(c->dir);
}

static int saved_level;
static int suite_init(void)
{
	saved_level = log_level_current;
	log_set_level(LOG_LVL_WARN);
	return 0;
}
static int suite_fini(void)
{
	log_level_current = saved_level;
	return 0;
}

/* ---- spec strings ------------------------------------------------------------ */

struct spec_vec { const char *spec; int rc; const char *why; };

static void test_spec_table(void)
{
	static char longspec[LINK_SPEC_MAX + 8];
	memset(longspec, 'a', sizeof longspec - 1);
	memcpy(longspec, "serial:/", 8);
	longspec[sizeof longspec - 1] = '\0';
	const struct spec_vec v[] = {
		{ "serial:/dev/ttyUSB0", 0, NULL },
		{ "serial:/dev/ttyUSB0?baud=19200&flow=none", 0, NULL },
		{ "serial:/dev/ttyS1?flow=rtscts&baud=115200", 0, NULL },
		{ "serial:/dev/pts/3?driver=libserialport", 0, NULL },
		{ "serial:/dev/serial/by-id/usb-FTDI-if00?baud=2400", 0, NULL },
		{ "serial:/dev/ttyUSB0?baud=12345", ERR_INVAL, "standard rate" },
		{ "serial:/dev/ttyUSB0?baud=", ERR_INVAL, "KEY=VALUE" },
		{ "serial:/dev/ttyUSB0?baud=19200x", ERR_INVAL, "standard rate" },
		{ "serial:/dev/ttyUSB0?baud=99999999999", ERR_INVAL, "standard rate" },
		{ "serial:/dev/ttyUSB0?flow=xonxoff", ERR_INVAL, "neither none nor rtscts" },
		{ "serial:/dev/ttyUSB0?parity=even", ERR_INVAL, "unknown serial option" },
		{ "serial:/dev/ttyUSB0?baud=9600&baud=9600", ERR_INVAL, "twice" },
		{ "serial:/dev/ttyUSB0?", ERR_INVAL, "empty option" },
		{ "serial:/dev/ttyUSB0?baud=9600&", ERR_INVAL, "empty option" },
		{ "serial:/dev/ttyUSB0?driver=magic", ERR_INVAL, "not auto" },
		{ "serial:ttyUSB0", ERR_INVAL, "absolute path" },
		{ "serial:", ERR_INVAL, "absolute path" },
		{ "serial:/", ERR_INVAL, "absolute path" },
		{ "tcp:127.0.0.1:5000", 0, NULL },
		{ "tcp:shore.example.org:443", 0, NULL },
		{ "tcp:[::1]:5000", 0, NULL },
		{ "tcp:[2001:db8::7]:65535", 0, NULL },
		{ "tcp:::1:5000", ERR_INVAL, "brackets" },
		{ "tcp:[::1:5000", ERR_INVAL, "missing ']'" },
		{ "tcp:[::1]5000", ERR_INVAL, "':PORT'" },
		{ "tcp:[zz::1]:5000", ERR_INVAL, "not an IPv6" },
		{ "tcp:[]:5000", ERR_INVAL, "IPv6" },
		{ "tcp:127.0.0.1", ERR_INVAL, "HOST:PORT" },
		{ "tcp:127.0.0.1:", ERR_INVAL, "missing port" },
		{ "tcp::5000", ERR_INVAL, "empty host" },
		{ "tcp:host:0", ERR_INVAL, "out of range" },
		{ "tcp:host:65536", ERR_INVAL, "out of range" },
		{ "tcp:host:123456", ERR_INVAL, "too long" },
		{ "tcp:host:50a0", ERR_INVAL, "decimal" },
		{ "tcp:-host!:50", ERR_INVAL, "bad character" },
		{ "tcp-listen:5000", 0, NULL },
		{ "tcp-listen:0.0.0.0:5000", 0, NULL },
		{ "tcp-listen:[::]:5000", 0, NULL },
		{ "tcp-listen:localhost:5000", 0, NULL },
		{ "tcp-listen:", ERR_INVAL, "missing port" },
		{ "tcp-listen::5000", ERR_INVAL, "empty host" },
		{ "tcp-listen:70000", ERR_INVAL, "out of range" },
		{ "udp:1.2.3.4:5", ERR_INVAL, "unknown link kind 'udp'" },
		{ "", ERR_INVAL, "unknown link kind" },
		{ "serial:/dev/tty USB0", ERR_INVAL, "space" },
		{ "tcp:host:50\n", ERR_INVAL, "control" },
		{ longspec, ERR_TOOBIG, "longer than" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char why[256] = "untouched";
		int rc = link_spec_check(v[i].spec, why, sizeof why);
		if (rc != v[i].rc)
			fprintf(stderr, "spec #%zu '%.40s': rc %d want %d (%s)\n", i, v[i].spec, rc, v[i].rc, why);
		CU_ASSERT_EQUAL(rc, v[i].rc);
		if (v[i].why) {
			if (!strstr(why, v[i].why))
				fprintf(stderr, "spec #%zu: why '%s' lacks '%s'\n", i, why, v[i].why);
			CU_ASSERT_PTR_NOT_NULL(strstr(why, v[i].why));
		} else {
			CU_ASSERT_STRING_EQUAL(why, "");
		}
	}
	/* A truncating reason buffer stays terminated; NULL is refused. */
	char tiny[8];
	CU_ASSERT_EQUAL(link_spec_check("tcp:host:0", tiny, sizeof tiny), ERR_INVAL);
	CU_ASSERT(strlen(tiny) < sizeof tiny);
	CU_ASSERT_EQUAL(link_spec_check(NULL, tiny, sizeof tiny), ERR_INVAL);
	CU_ASSERT_EQUAL(link_spec_check("tcp:host:0", NULL, 0), ERR_INVAL);

	struct loop *lp = loop_new(NULL, NULL);
	struct link *l = (struct link *)1;
	struct capture cap;
	capture_start(&cap);
	int rc = link_open(&l, "tcp:nowhere", lp, &rx_cb, NULL);
	capture_stop(&cap);
	CU_ASSERT_EQUAL(rc, ERR_INVAL);
	CU_ASSERT_PTR_NULL(l);
	CU_ASSERT(tu_file_contains(cap.path, "HOST:PORT"));
	capture_free(&cap);
	loop_free(lp);
}

/* ---- serial over a pty (termios path) ----------------------------------------- */

static void test_pty_units(void)
{
	struct loop *lp = loop_new(NULL, NULL);
	struct far f;
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	char spec[128];
	snprintf(spec, sizeof spec, "serial:%s?baud=115200", f.slave);
	struct rx r = { 0 };
	struct link *l = NULL;
	CU_ASSERT_FATAL(link_open(&l, spec, lp, &rx_cb, &r) == 0);
	CU_ASSERT_FALSE(link_is_up(l));     /* the first attempt is on the next turn */
	CU_ASSERT_FATAL(pump(lp, is_up, l, DEADLINE_MS));
	CU_ASSERT_EQUAL(r.ups, 1);
	CU_ASSERT_EQUAL(link_mtu(l), FRAME_CONTENT_MAX);
	CU_ASSERT_STRING_EQUAL(link_name(l), spec);

	/* Far end -> link. */
	uint8_t u[FRAME_CONTENT_MAX];
	fill(u, 40, 1);
	far_send(&f, u, 40, FRAME_LEAD);
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 1));
	CU_ASSERT_EQUAL(r.last_len, 40);
	CU_ASSERT_EQUAL(memcmp(r.last, u, 40), 0);

	/* Link -> far end: the first frame after open has a leading delimiter,
	 * the next one (sent at once) does not. */
	fill(u, 100, 2);
	CU_ASSERT_EQUAL(link_send(l, u, 100), 0);
	CU_ASSERT_EQUAL(link_tx_pending(l), 100 + FRAME_OVERHEAD_SMALL + 1);
	fill(u, 100, 3);
	CU_ASSERT_EQUAL(link_send(l, u, 100), 0);
	CU_ASSERT_FATAL(pump_count(lp, &f.units, 2));
	CU_ASSERT_EQUAL(f.raw_len, 2 * (100 + FRAME_OVERHEAD_SMALL) + 1);
	CU_ASSERT_EQUAL(f.raw[0], 0x00);
	CU_ASSERT_EQUAL(f.last_len, 100);
	CU_ASSERT_EQUAL(memcmp(f.last, u, 100), 0);
	CU_ASSERT_EQUAL(link_tx_pending(l), 0);
	CU_ASSERT_EQUAL(link_get_stats(l)->units_out, 2);
	CU_ASSERT_EQUAL(link_get_stats(l)->bytes_out, f.raw_len);

	/* A largest unit, written by the far end one byte at a time. */
	fill(u, FRAME_CONTENT_MAX, 4);
	uint8_t enc[FRAME_ENCODED_MAX];
	ssize_t e = frame_encode(u, FRAME_CONTENT_MAX, FRAME_LEAD, enc, sizeof enc);
	CU_ASSERT_FATAL(e > 0);
	for (ssize_t i = 0; i < e; i++) {
		CU_ASSERT_EQUAL(write(f.master, enc + i, 1), 1);
		CU_ASSERT(loop_run_once(lp, 0) >= 0);
	}
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 2));
	CU_ASSERT_EQUAL(r.last_len, FRAME_CONTENT_MAX);
	CU_ASSERT_EQUAL(memcmp(r.last, u, FRAME_CONTENT_MAX), 0);

	/* Noise: random bytes, a corrupted frame, then a good frame. */
	uint8_t noise[300];
	fill(noise, sizeof noise, 5);
	CU_ASSERT_EQUAL(write(f.master, noise, sizeof noise), (ssize_t)sizeof noise);
	fill(u, 60, 6);
	e = frame_encode(u, 60, FRAME_LEAD, enc, sizeof enc);
	CU_ASSERT_FATAL(e > 0);
	enc[10] ^= 0x40;
	CU_ASSERT_EQUAL(write(f.master, enc, (size_t)e), e);
	fill(u, 61, 7);
	far_send(&f, u, 61, FRAME_LEAD);
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 3));
	CU_ASSERT_EQUAL(r.last_len, 61);
	CU_ASSERT_EQUAL(memcmp(r.last, u, 61), 0);
	CU_ASSERT(link_get_stats(l)->bad_units >= 2);
	CU_ASSERT(link_is_up(l));
	CU_ASSERT_EQUAL(r.downs, 0);

	/* Refusals. */
	CU_ASSERT_EQUAL(link_send(l, u, 0), ERR_INVAL);
	CU_ASSERT_EQUAL(link_send(l, u, FRAME_CONTENT_MAX + 1), ERR_TOOBIG);

	link_close(l);
	far_close(&f, lp);
	loop_free(lp);
}

/* A far end that stops reading fills the transmit buffer: ERR_AGAIN, then
 * on_writable once it drains. */
static void test_pty_backpressure(void)
{
	struct loop *lp = loop_new(NULL, NULL);
	struct far f;
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	f.reading = false;
	loop_fd_del(lp, f.master);
	char spec[128];
	snprintf(spec, sizeof spec, "serial:%s", f.slave);
	struct rx r = { 0 };
	struct link *l = NULL;
	CU_ASSERT_FATAL(link_open(&l, spec, lp, &rx_cb, &r) == 0);
	CU_ASSERT_FATAL(pump(lp, is_up, l, DEADLINE_MS));
	uint8_t u[FRAME_CONTENT_MAX];
	fill(u, sizeof u, 8);
	int sent = 0, rc = 0;
	for (int i = 0; i < 10000; i++) {
		rc = link_send(l, u, sizeof u);
		if (rc == ERR_AGAIN)
			break;
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		sent++;
		CU_ASSERT(loop_run_once(lp, 0) >= 0);
	}
	CU_ASSERT_EQUAL(rc, ERR_AGAIN);
	CU_ASSERT(link_tx_pending(l) <= LINK_TXBUF_BYTES);
	CU_ASSERT(link_tx_pending(l) + FRAME_ENCODED_MAX > LINK_TXBUF_BYTES);
	CU_ASSERT_EQUAL(r.writables, 0);
	/* The far end reads again. */
	f.reading = true;
	CU_ASSERT_FATAL(loop_fd_add(lp, f.master, POLLIN, far_readable, &f) == 0);
	CU_ASSERT_FATAL(pump_count(lp, &r.writables, 1));
	CU_ASSERT_EQUAL(link_send(l, u, sizeof u), 0);
	sent++;
	CU_ASSERT_FATAL(pump_count(lp, &f.units, sent));
	CU_ASSERT_EQUAL(f.bad, 0);
	link_close(l);
	far_close(&f, lp);
	loop_free(lp);
}

/* The far end closes: down, then reopen attempts back off (the pty is
 * gone); a new pty at a symlinked path brings the link back. */
static void test_pty_vanish(void)
{
	struct fake_clock fc = { .now_ms = 1000 };
	struct loop *lp = loop_new(fake_clock_read, &fc);
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char alias[512];
	snprintf(alias, sizeof alias, "%s/modem", dir);
	struct far f;
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	CU_ASSERT_FATAL(symlink(f.slave, alias) == 0);
	char spec[600];
	snprintf(spec, sizeof spec, "serial:%s", alias);
	struct rx r = { 0 };
	struct link *l = NULL;
	CU_ASSERT_FATAL(link_open(&l, spec, lp, &rx_cb, &r) == 0);
	CU_ASSERT(loop_run_once(lp, 0) >= 1);
	CU_ASSERT_FATAL(link_is_up(l));

	struct capture cap;
	capture_start(&cap);
	far_close(&f, lp);
	for (int i = 0; i < 50 && r.downs == 0; i++)
		(void)loop_run_once(lp, PUMP_WAIT_MS);
	CU_ASSERT_EQUAL(r.downs, 1);
	CU_ASSERT_FALSE(link_is_up(l));
	CU_ASSERT_EQUAL(link_send(l, (const uint8_t *)"x", 1), ERR_CLOSED);
	/* 60 s in 100 ms steps: retries at +1, +3, +7, +15, +31 s only. */
	uint64_t errors0 = link_get_stats(l)->errors;
	int callbacks = 0;
	for (int i = 0; i < 600; i++) {
		fc.now_ms += 100;
		int n = loop_run_once(lp, 0);
		CU_ASSERT(n >= 0);
		callbacks += n;
	}
	capture_stop(&cap);
	CU_ASSERT_EQUAL(callbacks, 5);
	CU_ASSERT_EQUAL(link_get_stats(l)->errors - errors0, 5);
	CU_ASSERT(tu_file_contains(cap.path, "down:"));
	CU_ASSERT(tu_file_contains(cap.path, "cannot open"));
	capture_free(&cap);

	/* The device comes back under the same name. */
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	CU_ASSERT_FATAL(unlink(alias) == 0);
	CU_ASSERT_FATAL(symlink(f.slave, alias) == 0);
	for (int i = 0; i < 700 && !link_is_up(l); i++) {
		fc.now_ms += 100;
		(void)loop_run_once(lp, 0);
	}
	CU_ASSERT_FATAL(link_is_up(l));
	CU_ASSERT_EQUAL(r.ups, 2);
	CU_ASSERT_EQUAL(link_get_stats(l)->reopens, 1);
	uint8_t u[32];
	fill(u, sizeof u, 9);
	CU_ASSERT_EQUAL(link_send(l, u, sizeof u), 0);
	for (int i = 0; i < 100 && f.units == 0; i++)
		(void)loop_run_once(lp, PUMP_WAIT_MS);
	CU_ASSERT_EQUAL(f.units, 1);
	CU_ASSERT_EQUAL(f.raw[0], 0x00);   /* first frame after reopen leads */

	link_close(l);
	far_close(&f, lp);
	unlink(alias);
	tu_rmrf(dir);
	free(dir);
	loop_free(lp);
}

/* A device that does not exist: down, a logged reason, retries with
 * backoff and no busy loop. */
static void test_serial_missing(void)
{
	struct fake_clock fc = { .now_ms = 5 };
	struct loop *lp = loop_new(fake_clock_read, &fc);
	struct rx r = { 0 };
	struct link *l = NULL;
	struct capture cap;
	capture_start(&cap);
	CU_ASSERT_FATAL(link_open(&l, "serial:/dev/lifeline-no-such-modem?baud=2400", lp, &rx_cb, &r) == 0);
	int callbacks = 0;
	/* 130 s in 50 ms steps: attempts at 0, 1, 3, 7, 15, 31, 63, 123 s. */
	for (int i = 0; i < 2600; i++) {
		int n = loop_run_once(lp, 0);
		CU_ASSERT(n >= 0);
		callbacks += n;
		fc.now_ms += 50;
	}
	capture_stop(&cap);
	CU_ASSERT_EQUAL(callbacks, 8);
	CU_ASSERT_EQUAL(link_get_stats(l)->errors, 8);
	CU_ASSERT_FALSE(link_is_up(l));
	CU_ASSERT_EQUAL(r.ups + r.downs, 0);
	CU_ASSERT(tu_file_contains(cap.path, "No such file or directory"));
	CU_ASSERT(tu_file_contains(cap.path, "lifeline-no-such-modem"));
	capture_free(&cap);
	/* Past the cap the interval stays at LINK_BACKOFF_MAX_MS. */
	callbacks = 0;
	for (int i = 0; i < 2400; i++) {    /* 120 s more */
		fc.now_ms += 50;
		callbacks += loop_run_once(lp, 0);
	}
	CU_ASSERT(callbacks == 2);
	link_close(l);
	loop_free(lp);
}

/* ---- TCP ---------------------------------------------------------------------- */

struct server {
	struct link *kids[MAX_CLIENTS * 2];
	struct rx krx[MAX_CLIENTS * 2];
	int accepted;
};

static void on_accept(void *ctx, struct link *listener, struct link *child)
{
	(void)listener;
	struct server *s = ctx;
	CU_ASSERT_FATAL(s->accepted < MAX_CLIENTS * 2);
	int i = s->accepted++;
	s->kids[i] = child;
	memset(&s->krx[i], 0, sizeof s->krx[i]);
	s->krx[i].echo = true;
	s->krx[i].close_on_down = true;
	CU_ASSERT(link_is_up(child));
	link_set_callbacks(child, &rx_cb, &s->krx[i]);
}

static const struct link_callbacks server_cb = { .on_accept = on_accept };

static void test_tcp_units_and_reconnect(void)
{
	struct loop *lp = loop_new(NULL, NULL);
	int port = tu_free_tcp_port();
	CU_ASSERT_FATAL(port > 0);
	char spec[64];
	struct server srv = { 0 };
	struct link *ls = NULL, *lc = NULL;
	snprintf(spec, sizeof spec, "tcp-listen:127.0.0.1:%d", port);
	CU_ASSERT_FATAL(link_open(&ls, spec, lp, &server_cb, &srv) == 0);
	CU_ASSERT_FATAL(pump(lp, is_up, ls, DEADLINE_MS));
	CU_ASSERT_EQUAL(link_send(ls, (const uint8_t *)"x", 1), ERR_STATE);
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", port);
	struct rx r = { 0 };
	CU_ASSERT_FATAL(link_open(&lc, spec, lp, &rx_cb, &r) == 0);
	link_set_backoff(lc, 10, 40);
	CU_ASSERT_FATAL(pump_count(lp, &r.ups, 1));
	CU_ASSERT_FATAL(pump_count(lp, &srv.accepted, 1));
	CU_ASSERT_PTR_NOT_NULL(strstr(link_name(srv.kids[0]), "tcp:127.0.0.1:"));

	/* Client -> server, echoed back. */
	uint8_t u[FRAME_CONTENT_MAX];
	fill(u, sizeof u, 10);
	CU_ASSERT_EQUAL(link_send(lc, u, sizeof u), 0);
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 1));
	CU_ASSERT_EQUAL(srv.krx[0].units, 1);
	CU_ASSERT_EQUAL(r.last_len, sizeof u);
	CU_ASSERT_EQUAL(memcmp(r.last, u, sizeof u), 0);

	/* The server kills the connection: the client goes down, reconnects. */
	link_close(srv.kids[0]);
	CU_ASSERT_FATAL(pump_count(lp, &r.downs, 1));
	CU_ASSERT_FATAL(pump_count(lp, &r.ups, 2));
	CU_ASSERT_FATAL(pump_count(lp, &srv.accepted, 2));
	CU_ASSERT_EQUAL(link_get_stats(lc)->reopens, 1);
	fill(u, 7, 11);
	CU_ASSERT_EQUAL(link_send(lc, u, 7), 0);
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 2));
	CU_ASSERT_EQUAL(r.last_len, 7);
	CU_ASSERT_EQUAL(memcmp(r.last, u, 7), 0);

	/* The client goes: the child reports down and is freed in on_state. */
	link_close(lc);
	CU_ASSERT_FATAL(pump_count(lp, &srv.krx[1].downs, 1));
	CU_ASSERT(srv.krx[1].closed);
	link_close(ls);
	loop_free(lp);
}

static void test_tcp_refused_backoff(void)
{
	struct loop *lp = loop_new(NULL, NULL);
	int port = tu_free_tcp_port();
	CU_ASSERT_FATAL(port > 0);
	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", port);
	struct rx r = { 0 };
	struct link *lc = NULL;
	CU_ASSERT_FATAL(link_open(&lc, spec, lp, &rx_cb, &r) == 0);
	link_set_backoff(lc, 5, 20);
	struct capture cap;
	capture_start(&cap);
	uint64_t end = tu_now_ms() + 300;
	int callbacks = 0;
	while (tu_now_ms() < end)
		callbacks += loop_run_once(lp, PUMP_WAIT_MS);
	capture_stop(&cap);
	/* Refused at once each time; retries every <= 20 ms, never spinning. */
	uint64_t errs = link_get_stats(lc)->errors;
	CU_ASSERT(errs >= 5 && errs <= 40);
	CU_ASSERT(callbacks <= 3 * (int)errs + 3);
	CU_ASSERT(tu_file_contains(cap.path, "Connection refused"));
	capture_free(&cap);
	CU_ASSERT_EQUAL(r.ups, 0);

	/* The shore comes up: the vessel connects on its next retry. */
	struct server srv = { 0 };
	struct link *ls = NULL;
	snprintf(spec, sizeof spec, "tcp-listen:127.0.0.1:%d", port);
	CU_ASSERT_FATAL(link_open(&ls, spec, lp, &server_cb, &srv) == 0);
	CU_ASSERT_FATAL(pump_count(lp, &r.ups, 1));
	CU_ASSERT_FATAL(pump_count(lp, &srv.accepted, 1));
	link_close(lc);
	CU_ASSERT_FATAL(pump_count(lp, &srv.krx[0].downs, 1));
	link_close(ls);
	loop_free(lp);
}

static bool all_echoed(void *arg)
{
	const struct rx *r = arg;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (r[i].units < 1)
			return false;
	return true;
}

static void test_tcp_many_clients(void)
{
	struct loop *lp = loop_new(NULL, NULL);
	int port = tu_free_tcp_port();
	CU_ASSERT_FATAL(port > 0);
	char spec[64];
	struct server srv = { 0 };
	struct link *ls = NULL;
	snprintf(spec, sizeof spec, "tcp-listen:%d", port);   /* any address */
	CU_ASSERT_FATAL(link_open(&ls, spec, lp, &server_cb, &srv) == 0);
	CU_ASSERT_FATAL(pump(lp, is_up, ls, DEADLINE_MS));
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", port);
	static struct rx r[MAX_CLIENTS];
	struct link *lc[MAX_CLIENTS];
	memset(r, 0, sizeof r);
	for (int i = 0; i < MAX_CLIENTS; i++)
		CU_ASSERT_FATAL(link_open(&lc[i], spec, lp, &rx_cb, &r[i]) == 0);
	for (int i = 0; i < MAX_CLIENTS; i++)
		CU_ASSERT_FATAL(pump_count(lp, &r[i].ups, 1));
	for (int i = 0; i < MAX_CLIENTS; i++) {
		uint8_t u[16];
		fill(u, sizeof u, (uint32_t)(100 + i));
		u[1] = (uint8_t)i;
		CU_ASSERT_EQUAL(link_send(lc[i], u, sizeof u), 0);
	}
	CU_ASSERT_FATAL(pump(lp, all_echoed, r, DEADLINE_MS));
	CU_ASSERT_EQUAL(srv.accepted, MAX_CLIENTS);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		CU_ASSERT_EQUAL(r[i].units, 1);
		CU_ASSERT_EQUAL(r[i].last[1], i);     /* each got its own unit back */
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		link_close(lc[i]);
	for (int i = 0; i < MAX_CLIENTS; i++)
		CU_ASSERT_FATAL(pump_count(lp, &srv.krx[i].downs, 1));
	link_close(ls);
	loop_free(lp);
}

/* ---- libserialport over a pty through the shim ------------------------------- */

/* Runs in the child runner, with LD_PRELOAD=ptyshim.so. */
static void test_shim_libserialport_path(void)
{
	unsigned long (*answered)(void) = NULL;
	void *sym = dlsym(RTLD_DEFAULT, "ptyshim_answered");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sym);
	memcpy(&answered, &sym, sizeof sym);

	struct loop *lp = loop_new(NULL, NULL);
	struct far f;
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	char spec[128];
	snprintf(spec, sizeof spec, "serial:%s?baud=19200&flow=rtscts&driver=libserialport", f.slave);
	struct rx r = { 0 };
	struct link *l = NULL;
	unsigned long before = answered();
	CU_ASSERT_FATAL(link_open(&l, spec, lp, &rx_cb, &r) == 0);
	CU_ASSERT_FATAL(pump(lp, is_up, l, DEADLINE_MS));
	CU_ASSERT(answered() > before);      /* the sysfs look-up and modem ioctls */
	uint8_t u[200];
	fill(u, sizeof u, 12);
	far_send(&f, u, sizeof u, FRAME_LEAD);
	CU_ASSERT_FATAL(pump_count(lp, &r.units, 1));
	CU_ASSERT_EQUAL(memcmp(r.last, u, sizeof u), 0);
	fill(u, 50, 13);
	CU_ASSERT_EQUAL(link_send(l, u, 50), 0);
	CU_ASSERT_FATAL(pump_count(lp, &f.units, 1));
	CU_ASSERT_EQUAL(memcmp(f.last, u, 50), 0);
	/* A vanished device on this path too: down, no crash. */
	far_close(&f, lp);
	CU_ASSERT_FATAL(pump_count(lp, &r.downs, 1));
	link_close(l);
	loop_free(lp);
}

/* Without the shim, libserialport refuses a pty: the link stays down with
 * libserialport's reason; the parent then re-runs this suite in a child
 * with LD_PRELOAD set, where the same path works. */
static void test_libserialport_over_pty(void)
{
	struct fake_clock fc = { .now_ms = 0 };
	struct loop *lp = loop_new(fake_clock_read, &fc);
	struct far f;
	CU_ASSERT_FATAL(far_open(&f, lp) == 0);
	char spec[128];
	snprintf(spec, sizeof spec, "serial:%s?driver=libserialport", f.slave);
	struct rx r = { 0 };
	struct link *l = NULL;
	struct capture cap;
	capture_start(&cap);
	CU_ASSERT_FATAL(link_open(&l, spec, lp, &rx_cb, &r) == 0);
	CU_ASSERT(loop_run_once(lp, 0) >= 1);
	capture_stop(&cap);
	CU_ASSERT_FALSE(link_is_up(l));
	CU_ASSERT_EQUAL(link_get_stats(l)->errors, 1);
	CU_ASSERT(tu_file_contains(cap.path, "libserialport"));
	capture_free(&cap);
	link_close(l);
	far_close(&f, lp);
	loop_free(lp);

	const char *shim = tu_build("ptyshim.so");
	CU_ASSERT_FATAL(access(shim, R_OK) == 0);
	char shim_copy[4096];
	snprintf(shim_copy, sizeof shim_copy, "%s", shim);
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char logp[4200];
	snprintf(logp, sizeof logp, "%s/child.log", dir);
	const char *old_asan = getenv("ASAN_OPTIONS");
	char asan[1024];
	/* ASan wants to be first in the library list; the shim comes first. */
	snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old_asan ? old_asan : "",
		 old_asan ? ":" : "");
	char *saved_asan = old_asan ? strdup(old_asan) : NULL;
	setenv("ASAN_OPTIONS", asan, 1);
	setenv("LD_PRELOAD", shim_copy, 1);
	setenv(SHIM_ENV, "1", 1);
	/* This runner's own path (readlink, not "/proc/self/exe" itself, which
	 * is valgrind's binary when the suite runs under valgrind). */
	char self[4096];
	ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
	CU_ASSERT_FATAL(sn > 0);
	self[sn] = '\0';
	const char *argv[] = { self, "link", NULL };
	pid_t pid = tu_spawn(argv, logp);
	unsetenv("LD_PRELOAD");
	unsetenv(SHIM_ENV);
	if (saved_asan)
		setenv("ASAN_OPTIONS", saved_asan, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(saved_asan);
	CU_ASSERT_FATAL(pid > 0);
	int status = -1;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 30000, &status), 0);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		  tu_file_contains(logp, "1 passed, 0 failed");
	if (!ok)
		tu_dump_file(logp, 4000);
	CU_ASSERT(ok);
	tu_rmrf(dir);
	free(dir);
}

void suite_link(void);
void suite_link(void)
{
	if (getenv(SHIM_ENV)) {
		CU_pSuite c = CU_add_suite("link_shim_child", suite_init, suite_fini);
		CU_add_test(c, "libserialport path over a pty via ptyshim", test_shim_libserialport_path);
		return;
	}
	CU_pSuite s = CU_add_suite("link", suite_init, suite_fini);
	CU_add_test(s, "spec strings", test_spec_table);
	CU_add_test(s, "pty: units both ways, splits, noise", test_pty_units);
	CU_add_test(s, "pty: back-pressure and on_writable", test_pty_backpressure);
	CU_add_test(s, "pty: vanish, backoff, come back", test_pty_vanish);
	CU_add_test(s, "serial: missing device, no spin", test_serial_missing);
	CU_add_test(s, "tcp: units, server kill, reconnect", test_tcp_units_and_reconnect);
	CU_add_test(s, "tcp: refused, backoff, shore comes up", test_tcp_refused_backoff);
	CU_add_test(s, "tcp: many clients on one listener", test_tcp_many_clients);
	CU_add_test(s, "libserialport over a pty (shim, child runner)", test_libserialport_over_pty);
}
