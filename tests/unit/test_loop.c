/*
 * test_loop.c — the poll() loop: timer order with a fake clock, cancel,
 * timers and fds changed from inside callbacks, pipe readiness, signals as
 * events, bounded waits with the real clock, and no busy spin.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/loop.h"

#define ORDER_MAX 64

struct order {
	int seen[ORDER_MAX];
	int n;
	struct loop *l;
	uint64_t ids[ORDER_MAX];
	struct fake_clock *fc;
};

struct tag {
	struct order *o;
	int value;
};

static void record(struct loop *l, void *ctx)
{
	(void)l;
	struct tag *t = ctx;
	if (t->o->n < ORDER_MAX)
		t->o->seen[t->o->n++] = t->value;
}

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_timer_order(void)
{
	struct fake_clock fc = { .now_ms = 1000 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(loop_now(l), 1000);
	struct order o = { .n = 0 };
	/* Created out of order; two share a deadline and must keep creation order. */
	static const uint64_t when[] = { 1500, 1100, 1300, 1300, 1200, 3000 };
	static const int expect[] = { 1, 4, 2, 3, 0 };
	struct tag tags[6];
	for (int i = 0; i < 6; i++) {
		tags[i] = (struct tag){ &o, i };
		uint64_t id = loop_timer_at(l, when[i], record, &tags[i]);
		CU_ASSERT(id > 0);
		if (i > 0)
			CU_ASSERT(id > o.ids[i - 1]);
		o.ids[i] = id;
	}
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);  /* nothing due at 1000 */
	CU_ASSERT_EQUAL(o.n, 0);
	fc.now_ms = 1099;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	fc.now_ms = 1100;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 1);
	CU_ASSERT_EQUAL(o.n, 1);
	fc.now_ms = 2000;                           /* four due at once */
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 4);
	CU_ASSERT_EQUAL_FATAL(o.n, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(o.seen[i], expect[i]);
	fc.now_ms = 2999;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	fc.now_ms = 3000;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 1);
	CU_ASSERT_EQUAL(o.seen[5], 5);
	loop_free(l);
}

static void test_timer_null_cb(void)
{
	struct fake_clock fc = { .now_ms = 0 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(loop_timer_at(l, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	loop_free(l);
}

struct heap_rec { int idx; uint64_t when; int *n; int *order; };

static void heap_cb(struct loop *l, void *ctx)
{
	(void)l;
	struct heap_rec *r = ctx;
	r->order[(*r->n)++] = r->idx;
}

static void test_timer_heap_order(void)
{
	enum { N = 500 };
	struct fake_clock fc = { .now_ms = 0 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	static struct heap_rec recs[N];
	static int order[N];
	static uint64_t ids[N];
	static int cancelled[N];
	int n = 0;
	srand(4242);
	for (int i = 0; i < N; i++) {
		recs[i] = (struct heap_rec){ i, (uint64_t)(rand() % 1000), &n, order };
		ids[i] = loop_timer_at(l, recs[i].when, heap_cb, &recs[i]);
		CU_ASSERT(ids[i] > 0);
		cancelled[i] = 0;
	}
	/* Cancel a random third, some twice. */
	int ncancel = 0;
	for (int k = 0; k < N / 3; k++) {
		int i = rand() % N;
		loop_timer_cancel(l, ids[i]);
		if (!cancelled[i])
			ncancel++;
		cancelled[i] = 1;
	}
	for (uint64_t t = 0; t <= 1000 + 7; t += 7) {
		fc.now_ms = t;
		CU_ASSERT(loop_run_once(l, 0) >= 0);
	}
	CU_ASSERT_EQUAL(n, N - ncancel);
	for (int k = 0; k < n; k++) {
		int i = order[k];
		CU_ASSERT_FALSE(cancelled[i]);
		if (k > 0) {
			int p = order[k - 1];
			/* Time moves in steps of 7 ms: a timer fires at the first
			 * step at or after its deadline, and within one step in
			 * (deadline, creation) order. */
			uint64_t sp = (recs[p].when + 6) / 7, si = (recs[i].when + 6) / 7;
			CU_ASSERT(sp < si || (sp == si && (recs[p].when < recs[i].when ||
			          (recs[p].when == recs[i].when && p < i))));
		}
	}
	loop_free(l);
}

static void test_timer_cancel(void)
{
	struct fake_clock fc = { .now_ms = 0 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct order o = { .n = 0 };
	struct tag a = { &o, 1 }, b = { &o, 2 }, c = { &o, 3 };
	uint64_t ia = loop_timer_at(l, 10, record, &a);
	uint64_t ib = loop_timer_at(l, 20, record, &b);
	uint64_t ic = loop_timer_at(l, 30, record, &c);
	CU_ASSERT(ia && ib && ic);
	loop_timer_cancel(l, ib);
	loop_timer_cancel(l, ib);          /* twice: no-op */
	loop_timer_cancel(l, 0);           /* unknown: no-op */
	loop_timer_cancel(l, ic + 1000);   /* never issued: no-op */
	fc.now_ms = 100;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 2);
	CU_ASSERT_EQUAL_FATAL(o.n, 2);
	CU_ASSERT_EQUAL(o.seen[0], 1);
	CU_ASSERT_EQUAL(o.seen[1], 3);
	loop_timer_cancel(l, ia);          /* already fired: no-op */
	/* Ids are never reused. */
	uint64_t id = loop_timer_at(l, 200, record, &a);
	CU_ASSERT(id > ic);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	loop_free(l);
}

/* A timer callback that re-arms itself, cancels another, and adds one that
 * is already due. */
struct rearm {
	struct fake_clock *fc;
	int fires;
	int victim_fired;
	int due_fired;
	uint64_t victim;
};

static void victim_cb(struct loop *l, void *ctx)
{
	(void)l;
	((struct rearm *)ctx)->victim_fired++;
}

static void due_cb(struct loop *l, void *ctx)
{
	(void)l;
	((struct rearm *)ctx)->due_fired++;
}

static void rearm_cb(struct loop *l, void *ctx)
{
	struct rearm *r = ctx;
	r->fires++;
	if (r->fires == 1) {
		loop_timer_cancel(l, r->victim);
		CU_ASSERT(loop_timer_at(l, r->fc->now_ms, due_cb, r) > 0);
	}
	/* Re-arm at "now": must not loop forever inside one pass. */
	if (r->fires < 5)
		CU_ASSERT(loop_timer_at(l, r->fc->now_ms, rearm_cb, r) > 0);
}

static void test_timers_inside_callbacks(void)
{
	struct fake_clock fc = { .now_ms = 0 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct rearm r = { .fc = &fc };
	CU_ASSERT(loop_timer_at(l, 5, rearm_cb, &r) > 0);
	r.victim = loop_timer_at(l, 5, victim_cb, &r);  /* same time, created later */
	CU_ASSERT(r.victim > 0);
	fc.now_ms = 5;
	/* One run: first pass fires rearm (cancelling the victim); timers it
	 * added join the heap after the pass and fire in the second pass. */
	int n = loop_run_once(l, 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(r.fires, 2);
	CU_ASSERT_EQUAL(r.due_fired, 1);
	CU_ASSERT_EQUAL(r.victim_fired, 0);
	for (int i = 0; i < 10; i++)
		CU_ASSERT(loop_run_once(l, 0) >= 0);
	CU_ASSERT_EQUAL(r.fires, 5);
	CU_ASSERT_EQUAL(r.victim_fired, 0);
	CU_ASSERT_EQUAL(r.due_fired, 1);
	loop_free(l);
}

/* ---- fds ---------------------------------------------------------------- */

struct pipe_ctx {
	int reads;
	int bytes;
	short last;
	bool del_self;
	int other_fd;           /* deleted from inside this callback when >= 0 */
};

static void pipe_cb(struct loop *l, int fd, short revents, void *ctx)
{
	struct pipe_ctx *p = ctx;
	p->reads++;
	p->last = revents;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0)
		p->bytes += (int)n;
	if (p->del_self)
		loop_fd_del(l, fd);
	if (p->other_fd >= 0)
		loop_fd_del(l, p->other_fd);
}

static void test_fd_pipe(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	struct pipe_ctx c = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, p[0], POLLIN, pipe_cb, &c), 0);
	CU_ASSERT_EQUAL(loop_fd_add(l, p[0], POLLIN, pipe_cb, &c), ERR_DUP);
	CU_ASSERT_EQUAL(loop_fd_add(l, -1, POLLIN, pipe_cb, &c), ERR_INVAL);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);    /* nothing readable yet */
	CU_ASSERT_EQUAL(c.reads, 0);
	CU_ASSERT_EQUAL(write(p[1], "abc", 3), 3);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(c.reads, 1);
	CU_ASSERT_EQUAL(c.bytes, 3);
	CU_ASSERT(c.last & POLLIN);
	/* Writable end, mask changed at run time. */
	struct pipe_ctx w = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, p[1], 0, pipe_cb, &w), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	CU_ASSERT_EQUAL(loop_fd_events(l, p[1], POLLOUT), 0);
	CU_ASSERT_EQUAL(loop_fd_events(l, 999, POLLOUT), ERR_NOTFOUND);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 1);
	CU_ASSERT(w.last & POLLOUT);
	loop_fd_del(l, p[1]);
	loop_fd_del(l, p[1]);                       /* twice: no-op */
	/* Writer closed: the reader sees POLLHUP. */
	close(p[1]);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT(c.last & POLLHUP);
	loop_fd_del(l, p[0]);
	close(p[0]);
	loop_free(l);
}

static void test_fd_del_inside_callback(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int a[2], b[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(a, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(b, O_NONBLOCK), 0);
	/* A removes itself and B, both readable in the same poll(): B must not
	 * be called after its removal. */
	struct pipe_ctx ca = { .del_self = true, .other_fd = b[0] };
	struct pipe_ctx cb = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, a[0], POLLIN, pipe_cb, &ca), 0);
	CU_ASSERT_EQUAL(loop_fd_add(l, b[0], POLLIN, pipe_cb, &cb), 0);
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(b[1], "y", 1), 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(ca.reads, 1);
	CU_ASSERT_EQUAL(cb.reads, 0);
	/* Both still readable, neither watched. */
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	CU_ASSERT_EQUAL(ca.reads, 1);
	/* Re-adding after removal works. */
	struct pipe_ctx cc = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, b[0], POLLIN, pipe_cb, &cc), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(cc.reads, 1);
	CU_ASSERT_EQUAL(cc.bytes, 1);
	loop_fd_del(l, b[0]);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	loop_free(l);
}

/* A callback that removes its fd and adds a new one: the new watch is
 * polled from the next round on. */
struct swap_ctx {
	int new_fd;
	struct pipe_ctx *next;
	int calls;
};

static void swap_cb(struct loop *l, int fd, short revents, void *ctx)
{
	(void)revents;
	struct swap_ctx *s = ctx;
	s->calls++;
	char c;
	CU_ASSERT_EQUAL(read(fd, &c, 1), 1);
	loop_fd_del(l, fd);
	CU_ASSERT_EQUAL(loop_fd_add(l, s->new_fd, POLLIN, pipe_cb, s->next), 0);
}

static void test_fd_add_inside_callback(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int a[2], b[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(a, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL_FATAL(pipe2(b, O_NONBLOCK), 0);
	struct pipe_ctx nb = { .other_fd = -1 };
	struct swap_ctx s = { .new_fd = b[0], .next = &nb };
	CU_ASSERT_EQUAL(loop_fd_add(l, a[0], POLLIN, swap_cb, &s), 0);
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(b[1], "y", 1), 1);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	CU_ASSERT_EQUAL(nb.reads, 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(nb.reads, 1);
	CU_ASSERT_EQUAL(s.calls, 1);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	loop_free(l);
}

/* An fd closed without loop_fd_del(): reported once, then dropped. */
static void test_fd_closed_without_del(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	struct pipe_ctx c = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, p[0], POLLIN, pipe_cb, &c), 0);
	close(p[0]);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 1);
	CU_ASSERT(c.last & POLLNVAL);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
	CU_ASSERT_EQUAL(c.reads, 1);
	close(p[1]);
	loop_free(l);
}

/* ---- signals ------------------------------------------------------------ */

struct sig_ctx {
	int count;
	int last;
};

static void sig_cb(struct loop *l, int signo, void *ctx)
{
	(void)l;
	struct sig_ctx *s = ctx;
	s->count++;
	s->last = signo;
}

static void test_signal_event(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct sig_ctx s = { 0 };
	CU_ASSERT_EQUAL(loop_signal(l, SIGKILL, sig_cb, &s), ERR_INVAL);
	CU_ASSERT_EQUAL(loop_signal(l, 0, sig_cb, &s), ERR_INVAL);
	CU_ASSERT_EQUAL_FATAL(loop_signal(l, SIGUSR1, sig_cb, &s), 0);
	CU_ASSERT_EQUAL_FATAL(loop_signal(l, SIGUSR2, sig_cb, &s), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);   /* the pipe is no callback */
	CU_ASSERT_EQUAL(raise(SIGUSR1), 0);
	CU_ASSERT_EQUAL(s.count, 0);               /* nothing runs in the handler */
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 1);
	CU_ASSERT_EQUAL(s.count, 1);
	CU_ASSERT_EQUAL(s.last, SIGUSR1);
	CU_ASSERT_EQUAL(raise(SIGUSR2), 0);
	CU_ASSERT_EQUAL(raise(SIGUSR1), 0);
	CU_ASSERT_EQUAL(loop_run_once(l, 1000), 2);
	CU_ASSERT_EQUAL(s.count, 3);
	CU_ASSERT_EQUAL(s.last, SIGUSR1);
	loop_free(l);
	/* The previous disposition is back: SIGUSR1 ignored now stays ignored. */
	struct sigaction sa;
	CU_ASSERT_EQUAL(sigaction(SIGUSR1, NULL, &sa), 0);
	CU_ASSERT(sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN);
}

/* A signal arriving while the loop sleeps in poll() wakes it at once. */
static void test_signal_wakes_poll(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	struct sig_ctx s = { 0 };
	CU_ASSERT_EQUAL_FATAL(loop_signal(l, SIGALRM, sig_cb, &s), 0);
	timer_t t;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	CU_ASSERT_EQUAL_FATAL(timer_create(CLOCK_MONOTONIC, &sev, &t), 0);
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = 30 * 1000000L } };
	uint64_t t0 = real_ms();
	CU_ASSERT_EQUAL(timer_settime(t, 0, &its, NULL), 0);
	int n = loop_run_once(l, 5000);
	uint64_t dt = real_ms() - t0;
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(s.last, SIGALRM);
	CU_ASSERT(dt >= 20 && dt < 2000);
	timer_delete(t);
	loop_free(l);
}

/* ---- waiting ------------------------------------------------------------ */

static void test_max_wait_returns(void)
{
	struct loop *l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	struct pipe_ctx c = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, p[0], POLLIN, pipe_cb, &c), 0);
	/* A far timer does not make it wait longer than max_wait. */
	struct order o = { .n = 0 };
	struct tag tg = { &o, 1 };
	CU_ASSERT(loop_timer_at(l, loop_now(l) + 60000, record, &tg) > 0);
	uint64_t t0 = real_ms();
	CU_ASSERT_EQUAL(loop_run_once(l, 30), 0);
	uint64_t dt = real_ms() - t0;
	CU_ASSERT(dt >= 29);
	CU_ASSERT(dt < 1000);
	/* A near timer cuts a long max_wait short. */
	struct tag tg2 = { &o, 2 };
	t0 = real_ms();
	CU_ASSERT(loop_timer_at(l, loop_now(l) + 20, record, &tg2) > 0);
	int ran = 0;
	while (o.n == 0 && real_ms() - t0 < 2000) {
		int r = loop_run_once(l, 5000);
		CU_ASSERT(r >= 0);
		ran += r;
	}
	dt = real_ms() - t0;
	CU_ASSERT_EQUAL(ran, 1);
	CU_ASSERT_EQUAL(o.n, 1);
	CU_ASSERT(dt >= 19 && dt < 1000);
	loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* Counting clock: every read of the time is one loop wake-up at most. */
struct count_clock { int reads; };

static uint64_t counting_clock(void *ctx)
{
	((struct count_clock *)ctx)->reads++;
	return real_ms();
}

static void test_no_busy_spin(void)
{
	struct count_clock cc = { 0 };
	struct loop *l = loop_new(counting_clock, &cc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe2(p, O_NONBLOCK), 0);
	struct pipe_ctx c = { .other_fd = -1 };
	CU_ASSERT_EQUAL(loop_fd_add(l, p[0], POLLIN, pipe_cb, &c), 0);
	struct order o = { .n = 0 };
	struct tag tg = { &o, 1 };
	uint64_t start = real_ms();
	CU_ASSERT(loop_timer_at(l, start + 100, record, &tg) > 0);
	/* Over a 100 ms window with one timer due at its end and nothing else,
	 * the loop may wake a handful of times, never hundreds. */
	int wakeups = 0;
	while (o.n == 0 && real_ms() - start < 2000) {
		CU_ASSERT(loop_run_once(l, -1) >= 0);
		wakeups++;
	}
	CU_ASSERT_EQUAL(o.n, 1);
	CU_ASSERT(real_ms() - start >= 99);
	CU_ASSERT(wakeups <= 3);
	CU_ASSERT(cc.reads <= 4 * wakeups + 2);
	loop_fd_del(l, p[0]);
	close(p[0]);
	close(p[1]);
	loop_free(l);
}

/* ---- stop and nesting ---------------------------------------------------- */

static void stop_cb(struct loop *l, void *ctx)
{
	int *n = ctx;
	(*n)++;
	CU_ASSERT_EQUAL(loop_run_once(l, 0), ERR_STATE);   /* no nesting */
	if (*n == 3)
		loop_stop(l);
	else
		CU_ASSERT(loop_timer_at(l, loop_now(l), stop_cb, ctx) > 0);
}

static void test_run_until_stop(void)
{
	struct fake_clock fc = { .now_ms = 7 };
	struct loop *l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	int n = 0;
	CU_ASSERT(loop_timer_at(l, 7, stop_cb, &n) > 0);
	CU_ASSERT_FALSE(loop_stopped(l));
	CU_ASSERT_EQUAL(loop_run(l), 0);
	CU_ASSERT_TRUE(loop_stopped(l));
	CU_ASSERT_EQUAL(n, 3);
	loop_free(l);
	loop_free(NULL);
}

void suite_loop(void);
void suite_loop(void)
{
	CU_pSuite s = CU_add_suite("loop", NULL, NULL);
	CU_add_test(s, "timers fire in order (fake clock)", test_timer_order);
	CU_add_test(s, "NULL timer callback refused", test_timer_null_cb);
	CU_add_test(s, "500 random timers, a third cancelled", test_timer_heap_order);
	CU_add_test(s, "cancel; ids never reused", test_timer_cancel);
	CU_add_test(s, "timers added and cancelled inside callbacks", test_timers_inside_callbacks);
	CU_add_test(s, "fd readiness on a pipe", test_fd_pipe);
	CU_add_test(s, "fd removed inside callbacks", test_fd_del_inside_callback);
	CU_add_test(s, "fd added inside a callback", test_fd_add_inside_callback);
	CU_add_test(s, "fd closed without del is dropped", test_fd_closed_without_del);
	CU_add_test(s, "signal delivered as an event", test_signal_event);
	CU_add_test(s, "signal wakes a sleeping poll", test_signal_wakes_poll);
	CU_add_test(s, "max_wait bounds the wait; timers cut it short", test_max_wait_returns);
	CU_add_test(s, "no busy spin", test_no_busy_spin);
	CU_add_test(s, "run until stop; no nesting", test_run_until_stop);
}
