/*
 * loop.c — the one poll() loop: fd watches, one-shot timers, signals.
 *
 * What it is for: every daemon and tool of Lifeline is one thread that waits
 * in poll() for its links, control sockets and timers.  This file is that
 * wait, plus the bookkeeping that lets callbacks change what is watched while
 * the loop is dispatching.
 *
 * Invariants:
 *  - fd watches live in a growable array; at most one live watch per fd.  A
 *    watch deleted while callbacks run is only marked dead (fd -1) and the
 *    array is compacted at the start of the next loop_run_once(), so indices
 *    stay stable during dispatch and a deleted watch is never called again,
 *    not even for events already returned by the same poll().  Watches added
 *    during dispatch are appended and first polled on the next round.
 *  - timers live in a binary min-heap ordered by (when_ms, id); equal times
 *    fire in creation order.  Ids come from a 64-bit counter and are never
 *    reused, so cancelling a stale id is a harmless no-op.  A timer created
 *    while timers are firing goes to a pending list and joins the heap when
 *    that pass ends: a callback re-arming itself "now" fires once per pass,
 *    never in an endless loop.  Heap capacity is reserved when a timer is
 *    created, so merging pending timers never allocates.
 *  - the poll() timeout is min(next timer - now, max_wait_ms); with nothing
 *    due the loop sleeps in the kernel, it never spins.
 *  - signals: one self-pipe per loop (non-blocking, close-on-exec).  The
 *    handler (installed with SA_RESTART) only writes the signal number as
 *    one byte to the pipe of the loop that registered it; the loop reads the
 *    pipe like any fd and calls the registered callback from normal context.
 *  - time comes only from the injected clock (CLOCK_MONOTONIC by default),
 *    so a test drives timers with struct fake_clock and loop_run_once(l, 0).
 *
 * Failure behaviour: allocation failures are reported to the caller
 * (ERR_NOMEM, or timer id 0) and leave the loop as it was.  poll() EINTR is
 * retried once without waiting, then reported as zero events.  Other poll()
 * failures return -ERR_IO.  A watched fd that poll() reports as invalid
 * (POLLNVAL: closed without loop_fd_del) is passed to its callback once and
 * then dropped, so a forgotten fd cannot make the loop spin.  If a burst of
 * signals fills the self-pipe, further identical bytes are dropped: signals
 * coalesce, as the kernel's do.  Calling loop_run_once() from inside a
 * callback returns -ERR_STATE.
 */
#include "common/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOOP_FDS_MIN 8u          /* first allocation of the watch array */
#define LOOP_TIMERS_MIN 16u      /* first allocation of the timer heap */
#define LOOP_SIGNAL_MAX NSIG     /* signal numbers are below this */
#define LOOP_SIGBUF_BYTES 64u    /* self-pipe bytes read per read() */
#define MS_PER_S 1000u
#define NS_PER_MS 1000000u

struct watch {
	int fd;                  /* -1: deleted, awaiting compaction */
	short events;
	short revents;           /* copied out of the last poll() */
	loop_fd_fn cb;
	void *ctx;
	bool internal;           /* the signal pipe: not counted as a callback */
};

struct timer {
	uint64_t when_ms;
	uint64_t id;
	loop_timer_fn cb;
	void *ctx;
};

struct sig_slot {
	loop_signal_fn cb;
	void *ctx;
	struct sigaction old;
	bool set;
};

struct loop {
	loop_clock_fn clock;
	void *clock_ctx;

	struct watch *fds;
	size_t nfds, cap_fds;
	struct pollfd *pfd;
	size_t cap_pfd;

	struct timer *heap;      /* min-heap on (when_ms, id) */
	size_t nheap, cap_heap;
	struct timer *pending;   /* created during a timer pass */
	size_t npending, cap_pending;
	uint64_t next_id;
	bool in_timers;

	int sig_pipe[2];         /* -1 until the first loop_signal() */
	struct sig_slot sigs[LOOP_SIGNAL_MAX];

	int depth;               /* > 0 while loop_run_once() runs */
	int ran;                 /* callbacks run in this loop_run_once() */
	bool stopped;
};

/* Write end + 1 of the self-pipe of the loop that owns each signal; 0 for
 * none (so the zero-initialised array needs no set-up).  One owner per
 * signal at a time: the last loop_signal() call wins. */
static volatile sig_atomic_t sig_owner[LOOP_SIGNAL_MAX];

static uint64_t monotonic_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

uint64_t fake_clock_read(void *fake_clock)
{
	const struct fake_clock *fc = fake_clock;
	return fc->now_ms;
}

/* Grows *arr (elements of size elem) so that it holds at least need. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem, size_t min)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : min;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return ERR_NOMEM;
		n *= 2;
	}
	void *p = realloc(*arr, n * elem);
	if (!p)
		return ERR_NOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

struct loop *loop_new(loop_clock_fn clock, void *clock_ctx)
{
	struct loop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->clock = clock ? clock : monotonic_ms;
	l->clock_ctx = clock ? clock_ctx : NULL;
	l->next_id = 1;
	l->sig_pipe[0] = -1;
	l->sig_pipe[1] = -1;
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (int s = 1; s < LOOP_SIGNAL_MAX; s++) {
		if (!l->sigs[s].set)
			continue;
		if (sig_owner[s] == l->sig_pipe[1] + 1) {
			sigaction(s, &l->sigs[s].old, NULL);
			sig_owner[s] = 0;
		}
	}
	if (l->sig_pipe[0] >= 0)
		close(l->sig_pipe[0]);
	if (l->sig_pipe[1] >= 0)
		close(l->sig_pipe[1]);
	free(l->fds);
	free(l->pfd);
	free(l->heap);
	free(l->pending);
	free(l);
}

uint64_t loop_now(struct loop *l)
{
	return l->clock(l->clock_ctx);
}

/* ---- fd watches ---------------------------------------------------------- */

static struct watch *watch_find(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nfds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

static int watch_add(struct loop *l, int fd, short events, loop_fd_fn cb, void *ctx, bool internal)
{
	if (fd < 0 || !cb)
		return ERR_INVAL;
	if (watch_find(l, fd))
		return ERR_DUP;
	void *arr = l->fds;
	int rc = grow(&arr, &l->cap_fds, l->nfds + 1, sizeof *l->fds, LOOP_FDS_MIN);
	l->fds = arr;
	if (rc < 0)
		return rc;
	l->fds[l->nfds++] = (struct watch){ .fd = fd, .events = events, .cb = cb, .ctx = ctx,
	                                    .internal = internal };
	return 0;
}

int loop_fd_add(struct loop *l, int fd, short events, loop_fd_fn cb, void *ctx)
{
	return watch_add(l, fd, events, cb, ctx, false);
}

int loop_fd_events(struct loop *l, int fd, short events)
{
	struct watch *w = fd >= 0 ? watch_find(l, fd) : NULL;
	if (!w)
		return ERR_NOTFOUND;
	w->events = events;
	return 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	if (fd < 0)
		return;
	struct watch *w = watch_find(l, fd);
	if (!w)
		return;
	if (l->depth > 0) {
		/* Dispatch may be iterating: keep indices, drop it later. */
		w->fd = -1;
		w->cb = NULL;
		w->revents = 0;
		return;
	}
	size_t i = (size_t)(w - l->fds);
	memmove(&l->fds[i], &l->fds[i + 1], (l->nfds - i - 1) * sizeof *l->fds);
	l->nfds--;
}

static void watches_compact(struct loop *l)
{
	size_t j = 0;
	for (size_t i = 0; i < l->nfds; i++)
		if (l->fds[i].fd >= 0)
			l->fds[j++] = l->fds[i];
	l->nfds = j;
}

/* ---- timers ---------------------------------------------------------------- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->id < b->id);
}

static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct timer t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(&l->heap[i], &l->heap[parent]))
			break;
		heap_swap(l, i, parent);
		i = parent;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1, right = left + 1, m = i;
		if (left < l->nheap && timer_before(&l->heap[left], &l->heap[m]))
			m = left;
		if (right < l->nheap && timer_before(&l->heap[right], &l->heap[m]))
			m = right;
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

/* Capacity was reserved by loop_timer_at(), so this cannot fail. */
static void heap_push(struct loop *l, struct timer t)
{
	l->heap[l->nheap] = t;
	heap_up(l, l->nheap);
	l->nheap++;
}

static void heap_remove_at(struct loop *l, size_t i)
{
	l->nheap--;
	if (i == l->nheap)
		return;
	l->heap[i] = l->heap[l->nheap];
	heap_down(l, i);
	heap_up(l, i);
}

uint64_t loop_timer_at(struct loop *l, uint64_t when_ms, loop_timer_fn cb, void *ctx)
{
	if (!cb)
		return 0;
	/* Reserve heap room for every timer that exists, pending ones included. */
	void *arr = l->heap;
	int rc = grow(&arr, &l->cap_heap, l->nheap + l->npending + 1, sizeof *l->heap, LOOP_TIMERS_MIN);
	l->heap = arr;
	if (rc < 0)
		return 0;
	struct timer t = { .when_ms = when_ms, .id = l->next_id, .cb = cb, .ctx = ctx };
	if (l->in_timers) {
		arr = l->pending;
		rc = grow(&arr, &l->cap_pending, l->npending + 1, sizeof *l->pending, LOOP_TIMERS_MIN);
		l->pending = arr;
		if (rc < 0)
			return 0;
		l->pending[l->npending++] = t;
	} else {
		heap_push(l, t);
	}
	l->next_id++;
	return t.id;
}

void loop_timer_cancel(struct loop *l, uint64_t id)
{
	if (id == 0)
		return;
	/* Linear search: a daemon holds tens of timers, not thousands. */
	for (size_t i = 0; i < l->nheap; i++) {
		if (l->heap[i].id == id) {
			heap_remove_at(l, i);
			return;
		}
	}
	for (size_t i = 0; i < l->npending; i++) {
		if (l->pending[i].id == id) {
			memmove(&l->pending[i], &l->pending[i + 1], (l->npending - i - 1) * sizeof *l->pending);
			l->npending--;
			return;
		}
	}
}

/* Fires every timer due at the current time; returns how many ran. */
static int timers_run(struct loop *l)
{
	int ran = 0;
	uint64_t now = loop_now(l);
	l->in_timers = true;
	while (l->nheap > 0 && l->heap[0].when_ms <= now) {
		struct timer t = l->heap[0];
		heap_remove_at(l, 0);
		t.cb(l, t.ctx);
		ran++;
	}
	l->in_timers = false;
	for (size_t i = 0; i < l->npending; i++)
		heap_push(l, l->pending[i]);
	l->npending = 0;
	return ran;
}

/* ---- signals ------------------------------------------------------------- */

static void sig_handler(int signo)
{
	int saved = errno;
	if (signo > 0 && signo < LOOP_SIGNAL_MAX) {
		int fd = (int)sig_owner[signo] - 1;
		if (fd >= 0) {
			unsigned char b = (unsigned char)signo;
			ssize_t w = write(fd, &b, 1);
			(void)w; /* a full pipe already holds a wake-up */
		}
	}
	errno = saved;
}

static void sig_pipe_readable(struct loop *l, int fd, short revents, void *ctx)
{
	(void)revents;
	(void)ctx;
	unsigned char buf[LOOP_SIGBUF_BYTES];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			int s = buf[i];
			if (s > 0 && s < LOOP_SIGNAL_MAX && l->sigs[s].set && l->sigs[s].cb) {
				l->sigs[s].cb(l, s, l->sigs[s].ctx);
				l->ran++;
			}
		}
	}
}

int loop_signal(struct loop *l, int signo, loop_signal_fn cb, void *ctx)
{
	if (signo <= 0 || signo >= LOOP_SIGNAL_MAX || signo > UCHAR_MAX || !cb ||
	    signo == SIGKILL || signo == SIGSTOP)
		return ERR_INVAL;
	if (l->sig_pipe[0] < 0) {
		if (pipe2(l->sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return ERR_IO;
		int rc = watch_add(l, l->sig_pipe[0], POLLIN, sig_pipe_readable, NULL, true);
		if (rc < 0) {
			close(l->sig_pipe[0]);
			close(l->sig_pipe[1]);
			l->sig_pipe[0] = l->sig_pipe[1] = -1;
			return rc;
		}
	}
	struct sig_slot *s = &l->sigs[signo];
	if (!s->set) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = sig_handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sig_owner[signo] = l->sig_pipe[1] + 1;
		if (sigaction(signo, &sa, &s->old) < 0) {
			sig_owner[signo] = 0;
			return ERR_IO;
		}
		s->set = true;
	}
	sig_owner[signo] = l->sig_pipe[1] + 1;
	s->cb = cb;
	s->ctx = ctx;
	return 0;
}

/* ---- running ------------------------------------------------------------- */

/* Milliseconds poll() may wait: min(next timer, max_wait_ms); -1 forever. */
static int poll_timeout(struct loop *l, int max_wait_ms)
{
	if (l->nheap == 0)
		return max_wait_ms < 0 ? -1 : max_wait_ms;
	uint64_t now = loop_now(l), when = l->heap[0].when_ms;
	uint64_t delta = when > now ? when - now : 0;
	if (delta > (uint64_t)INT_MAX)
		delta = (uint64_t)INT_MAX;
	int t = (int)delta;
	if (max_wait_ms >= 0 && max_wait_ms < t)
		t = max_wait_ms;
	return t;
}

static int poll_fds(struct loop *l, int timeout)
{
	void *arr = l->pfd;
	int rc = grow(&arr, &l->cap_pfd, l->nfds ? l->nfds : 1, sizeof *l->pfd, LOOP_FDS_MIN);
	l->pfd = arr;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l->nfds; i++) {
		l->pfd[i] = (struct pollfd){ .fd = l->fds[i].fd, .events = l->fds[i].events };
		l->fds[i].revents = 0;
	}
	int n = poll(l->pfd, (nfds_t)l->nfds, timeout);
	if (n < 0 && errno == EINTR)   /* a signal: its byte is in the pipe now */
		n = poll(l->pfd, (nfds_t)l->nfds, 0);
	if (n < 0)
		return errno == EINTR ? 0 : ERR_IO;
	for (size_t i = 0; i < l->nfds; i++)
		l->fds[i].revents = l->pfd[i].revents;
	return n;
}

static void fds_dispatch(struct loop *l, size_t npolled)
{
	for (size_t i = 0; i < npolled; i++) {
		/* Re-read through l->fds each time: callbacks may grow the array. */
		struct watch w = l->fds[i];
		if (w.fd < 0 || w.revents == 0)
			continue;
		short mask = (short)(w.events | POLLERR | POLLHUP | POLLNVAL);
		short rev = (short)(w.revents & mask);
		if (rev == 0)
			continue;
		w.cb(l, w.fd, rev, w.ctx);
		if (!w.internal)
			l->ran++;
		if ((rev & POLLNVAL) && l->fds[i].fd == w.fd) {
			l->fds[i].fd = -1; /* closed without loop_fd_del: drop it */
			l->fds[i].cb = NULL;
		}
	}
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
	if (l->depth > 0)
		return ERR_STATE;
	l->depth++;
	l->ran = 0;
	l->ran += timers_run(l);
	watches_compact(l);
	size_t npolled = l->nfds;
	int n = poll_fds(l, l->stopped ? 0 : poll_timeout(l, max_wait_ms));
	if (n < 0) {
		l->depth--;
		return n;
	}
	if (n > 0)
		fds_dispatch(l, npolled);
	l->ran += timers_run(l);
	l->depth--;
	watches_compact(l);
	return l->ran;
}

int loop_run(struct loop *l)
{
	while (!l->stopped) {
		int rc = loop_run_once(l, -1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stopped = true;
}

bool loop_stopped(struct loop *l)
{
	return l->stopped;
}
