/*
 * loop.h — the one poll() loop: fd callbacks, timers, signals, a clock.
 *
 * One thread.  Time is milliseconds on a monotonic clock that can be
 * injected, so tests step time instead of sleeping.  Signals become loop
 * events (self-pipe), never work done in a handler.
 */
#ifndef LIFELINE_COMMON_LOOP_H
#define LIFELINE_COMMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"

struct loop;

/* Returns the current monotonic time in milliseconds. */
typedef uint64_t (*loop_clock_fn)(void *ctx);
typedef void (*loop_fd_fn)(struct loop *l, int fd, short revents, void *ctx);
typedef void (*loop_timer_fn)(struct loop *l, void *ctx);
typedef void (*loop_signal_fn)(struct loop *l, int signo, void *ctx);

/* clock NULL: CLOCK_MONOTONIC.  Returns NULL on allocation failure. */
struct loop *loop_new(loop_clock_fn clock, void *clock_ctx);
void loop_free(struct loop *l);                 /* NULL is a no-op */

uint64_t loop_now(struct loop *l);

/* Watches fd for events (POLLIN | POLLOUT); one watch per fd.  The caller
 * keeps owning fd.  Returns 0, ERR_INVAL (fd < 0, cb NULL), ERR_DUP (fd
 * already watched) or ERR_NOMEM.  Safe inside callbacks: a watch added
 * there is polled from the next round.  An fd closed without loop_fd_del()
 * gets one callback with POLLNVAL and is then dropped.  loop_fd_events()
 * returns 0 or ERR_NOTFOUND. */
int loop_fd_add(struct loop *l, int fd, short events, loop_fd_fn cb, void *ctx) LL_MUST_CHECK;
int loop_fd_events(struct loop *l, int fd, short events);  /* change the mask */
void loop_fd_del(struct loop *l, int fd);       /* safe inside callbacks */

/* One-shot timer at absolute time when_ms.  Returns an id > 0, or 0 on
 * allocation failure.  Cancelling an id that fired or is unknown is a no-op. */
uint64_t loop_timer_at(struct loop *l, uint64_t when_ms, loop_timer_fn cb, void *ctx);
void loop_timer_cancel(struct loop *l, uint64_t id);

/* Delivers signo as a loop event (SIGTERM, SIGINT, SIGHUP, SIGUSR1, ...):
 * the handler only writes to a self-pipe; cb runs from loop_run_once().
 * One loop owns a signal at a time (the latest caller); loop_free()
 * restores the previous disposition.  Returns 0, ERR_INVAL or ERR_IO. */
int loop_signal(struct loop *l, int signo, loop_signal_fn cb, void *ctx) LL_MUST_CHECK;

/*
 * Runs due timers, polls fds for at most max_wait_ms (or until the next
 * timer, whichever is sooner; -1 = no limit), dispatches, runs due timers
 * again.  Returns the number of callbacks run, or a negative enum err.
 */
int loop_run_once(struct loop *l, int max_wait_ms);
/* Runs until loop_stop() (sticky: a stopped loop stays stopped, and
 * loop_run_once() then no longer waits).  Calling loop_run_once() from a
 * callback returns ERR_STATE. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
bool loop_stopped(struct loop *l);

/* Test clock: a settable counter usable as a loop_clock_fn. */
struct fake_clock { uint64_t now_ms; };
uint64_t fake_clock_read(void *fake_clock);

#endif
