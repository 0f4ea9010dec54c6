/*
 * testutil.h — helpers for end-to-end tests: paths, temp dirs, child
 * processes, waits with deadlines, files, free ports.
 *
 * No helper sleeps for a fixed time.  Every wait blocks in the kernel on the
 * thing awaited (a pidfd, an inotify fd) with a deadline, or, for arbitrary
 * conditions, re-checks at a short interval until a deadline (a condition
 * wait, tu_wait_until).  Timeouts are milliseconds; a negative timeout
 * means "no deadline".
 *
 * Errors follow proto/err.h: int functions return 0 or a negative enum err
 * (ERR_TIMEOUT itself is negative: compare with == ERR_TIMEOUT).
 *
 * Environment (set by `make test`): LIFELINE_BUILD is the build folder
 * (binaries, shims), LIFELINE_SRC the source tree.  TMPDIR, if set, is
 * where temp dirs go.
 */
#ifndef LIFELINE_TESTS_TESTUTIL_H
#define LIFELINE_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define TU_PATH_MAX 4096u          /* longest path the helpers build */
#define TU_PATH_RING 16u           /* tu_build/tu_src/tu_path results alive at once */
#define TU_COND_INTERVAL_MS 5      /* tu_wait_until's re-check interval */
#define TU_RECHECK_MS 250          /* safety re-check while waiting on inotify */

/* Current CLOCK_MONOTONIC time in milliseconds. */
uint64_t tu_now_ms(void);

/*
 * "$LIFELINE_BUILD/name" (default folder "build"), "$LIFELINE_SRC/rel"
 * (default "."), and "dir/name".  The result lives in a static ring of
 * TU_PATH_RING buffers: valid until that many later calls; copy it to keep
 * it.  A path longer than TU_PATH_MAX is truncated (and will not exist).
 */
const char *tu_build(const char *name);
const char *tu_src(const char *rel);
const char *tu_path(const char *dir, const char *name);

/*
 * Makes a fresh, empty directory "$TMPDIR/lifeline-test-XXXXXX" (TMPDIR
 * unset: /tmp), mode 0700.  Returns a malloc'd path the caller frees (after
 * tu_rmrf() when done), or NULL on failure.
 */
char *tu_tmpdir(void) LL_MUST_CHECK;

/*
 * Starts argv[0] (a path, or a name looked up in PATH) with argv.  The
 * child: its own process group (pgid = pid), stdin from /dev/null, stdout
 * and stderr appended to log_path (created 0644; NULL: inherited), signal
 * mask and dispositions reset, and SIGKILL if the test runner dies.
 * Returns the pid, or -1 if the fork or the exec failed (an exec failure is
 * reported here, through a close-on-exec pipe, not later as exit 127).
 * Reap it with tu_wait_exit() or tu_kill_wait().
 */
pid_t tu_spawn(const char *const argv[], const char *log_path) LL_MUST_CHECK;

/*
 * Waits until child pid exits, at most timeout_ms, and reaps it.  Blocks in
 * poll() on a pidfd (pidfd_open): no sleeping, no polling.  *status (may be
 * NULL) gets the waitpid() status.  Returns 0, ERR_TIMEOUT (the child still
 * runs and is not reaped), or ERR_NOTFOUND (not our child / already reaped).
 */
int tu_wait_exit(pid_t pid, int timeout_ms, int *status) LL_MUST_CHECK;

/*
 * Sends sig to the child's process group (so helpers it started get it
 * too) and waits up to timeout_ms for the child to exit.  If it does not,
 * SIGKILLs the group and reaps the child anyway.  *status (may be NULL)
 * gets the waitpid() status.  Returns 0 if it exited within the deadline,
 * ERR_TIMEOUT if it had to be killed, ERR_NOTFOUND if pid is not a child.
 */
int tu_kill_wait_status(pid_t pid, int sig, int timeout_ms, int *status);
/* tu_kill_wait_status() without the status. */
int tu_kill_wait(pid_t pid, int sig, int timeout_ms);

/*
 * A condition wait: calls cond(arg) now and then every TU_COND_INTERVAL_MS
 * (poll(NULL, 0, interval)) until it returns true or timeout_ms passes.
 * For conditions with nothing to block on (a counter in a database, a
 * socket that accepts).  Returns the last value of cond; cond is always
 * checked once more at the deadline.
 */
bool tu_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);
/* The same, re-checking every interval_ms (>= 1): for conditions that cost
 * something to ask, such as a daemon's status over its control socket. */
bool tu_wait_until_every(bool (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms);

/*
 * Waits until path exists (following symlinks: a symlink to a pty counts
 * once its target exists).  Watches the parent directory with inotify,
 * then checks, so a file created in between is not missed.  Returns true
 * when it exists, false at the deadline.  If the parent directory cannot
 * be watched (does not exist yet), falls back to tu_wait_until().
 */
bool tu_wait_file(const char *path, int timeout_ms);

/*
 * Waits until the file at log_path contains needle (a C string), reading
 * only what was appended since the last look (inotify on the parent
 * directory reports writes to its files).  tu_wait_log_from() ignores the
 * first `from` bytes: pass tu_file_size() taken before an action to wait
 * for a line that action causes, not an older identical one.  A file that
 * shrinks is searched again from 0.  Returns true if found before the
 * deadline.
 */
bool tu_wait_log(const char *log_path, const char *needle, int timeout_ms);
bool tu_wait_log_from(const char *log_path, const char *needle, off_t from, int timeout_ms);

/* Size of a file in bytes; 0 if it does not exist. */
off_t tu_file_size(const char *path);

/*
 * A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read
 * back, closed).  Another process may take it before you do; tests using it
 * should still check that their bind succeeded.  Returns the port (> 0) or
 * a negative enum err.
 */
int tu_free_tcp_port(void);

/*
 * Reads a whole file into *buf (malloc'd, caller frees; one NUL byte is
 * appended after the content and not counted, so text can be used as a
 * string).  Returns 0, ERR_NOTFOUND, ERR_IO or ERR_NOMEM; on error *buf is
 * NULL and *len 0.
 */
int tu_read_file(const char *path, uint8_t **buf, size_t *len) LL_MUST_CHECK;

/* Creates or truncates path (mode 0644) and writes len bytes of buf.
 * Returns 0 or ERR_IO. */
int tu_write_file(const char *path, const void *buf, size_t len) LL_MUST_CHECK;

/* Whether the file at path contains needle (false if unreadable). */
bool tu_file_contains(const char *path, const char *needle);

/* Writes the last tail_bytes of a file to stderr between marker lines; for
 * a failing test to show a daemon's log. */
void tu_dump_file(const char *path, size_t tail_bytes);

/*
 * Removes dir and everything below it (does not follow symlinks).  Refuses
 * NULL, "", "/", "." and "..".  Errors are ignored: it is cleanup.
 */
void tu_rmrf(const char *dir);

#endif
