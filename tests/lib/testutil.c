/*
 * testutil.c — helpers for end-to-end tests (see testutil.h).
 *
 * What it is for: tests that start real programs (satsim, linktest, the
 * daemons) need to start them, wait for them and read what they wrote,
 * without fixed sleeps, which are the classic source of flaky tests.
 *
 * Invariants: every wait has a deadline computed once from CLOCK_MONOTONIC
 * and recomputed after each wake-up (EINTR included), so a wait never lasts
 * longer than asked plus one scheduling delay.  Waits block on a pidfd or
 * an inotify fd; only tu_wait_until() re-checks at an interval, and says so.
 * Children run in their own process group, so killing the group reaches
 * whatever they started.
 *
 * Failure behaviour: helpers return errors (proto/err.h codes, NULL, -1 or
 * false) rather than aborting; the calling test asserts.  If the kernel has
 * no pidfd_open (before Linux 5.3), tu_wait_exit() falls back to a
 * condition wait on waitpid(WNOHANG).  If inotify is unavailable, file
 * waits fall back to condition waits.
 */
#include "tests/lib/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TU_NFTW_FDS 32                    /* fds nftw may hold open */
#define TU_READ_CHUNK_BYTES 65536u
#define TU_INOTIFY_BUF_BYTES 4096u
#define TU_FD_CLOSE_FROM 3                /* first fd a child closes */
#define TU_FILE_MODE 0644
#define MS_PER_S 1000u
#define NS_PER_MS 1000000u

uint64_t tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

/* Milliseconds left until deadline (timeout < 0: -1, no limit). */
static int remaining_ms(uint64_t deadline, int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	uint64_t now = tu_now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

static uint64_t deadline_of(int timeout_ms)
{
	return tu_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
}

/* ---- paths ---------------------------------------------------------------- */

static char *ring_next(void)
{
	static char ring[TU_PATH_RING][TU_PATH_MAX];
	static unsigned next;
	char *b = ring[next];
	next = (next + 1) % TU_PATH_RING;
	return b;
}

const char *tu_path(const char *dir, const char *name)
{
	char *b = ring_next();
	snprintf(b, TU_PATH_MAX, "%s/%s", dir, name);
	return b;
}

const char *tu_build(const char *name)
{
	const char *d = getenv("LIFELINE_BUILD");
	return tu_path(d && *d ? d : "build", name);
}

const char *tu_src(const char *rel)
{
	const char *d = getenv("LIFELINE_SRC");
	return tu_path(d && *d ? d : ".", rel);
}

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char tmpl[TU_PATH_MAX];
	int n = snprintf(tmpl, sizeof tmpl, "%s/lifeline-test-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof tmpl)
		return NULL;
	if (!mkdtemp(tmpl))
		return NULL;
	return strdup(tmpl);
}

/* ---- processes ------------------------------------------------------------ */

/* In the child between fork and exec: only async-signal-safe calls. */
static void child_setup_and_exec(const char *const argv[], const char *log_path, int errpipe)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);   /* SIG_IGN would survive exec */
	int in = open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, STDIN_FILENO) < 0)
		goto fail;
	if (in != STDIN_FILENO)
		close(in);
	if (log_path) {
		int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, TU_FILE_MODE);
		if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			goto fail;
		if (out > STDERR_FILENO)
			close(out);
	}
	/* execvp() casts away const the way POSIX documents it must. */
	execvp(argv[0], (char *const *)(uintptr_t)argv);
fail:;
	int e = errno;
	ssize_t w = write(errpipe, &e, sizeof e);
	(void)w;
	_exit(127);
}

pid_t tu_spawn(const char *const argv[], const char *log_path)
{
	if (!argv || !argv[0])
		return -1;
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(errpipe[0]);
		close(errpipe[1]);
		return -1;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child_setup_and_exec(argv, log_path, errpipe[1]);
	}
	close(errpipe[1]);
	setpgid(pid, pid);   /* also here: no window where a kill misses */
	int e = 0;
	ssize_t n;
	do
		n = read(errpipe[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n > 0) {         /* exec failed: reap the child, report here */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -1;
	}
	return pid;
}

struct reap_arg {
	pid_t pid;
	int *status;
	int rc;
};

static bool reaped(void *arg)
{
	struct reap_arg *r = arg;
	pid_t w = waitpid(r->pid, r->status, WNOHANG);
	if (w == r->pid) {
		r->rc = 0;
		return true;
	}
	if (w < 0 && errno != EINTR) {
		r->rc = ERR_NOTFOUND;
		return true;
	}
	return false;
}

int tu_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	int st = 0;
	int *sp = status ? status : &st;
	if (pid <= 0)
		return ERR_NOTFOUND;
	struct reap_arg r = { pid, sp, ERR_TIMEOUT };
	if (reaped(&r))
		return r.rc;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		if (errno == ESRCH)
			return ERR_NOTFOUND;
		tu_wait_until(reaped, &r, timeout_ms);   /* old kernel */
		return r.rc;
	}
	uint64_t deadline = deadline_of(timeout_ms);
	for (;;) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n = poll(&p, 1, remaining_ms(deadline, timeout_ms));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {         /* exited: the zombie is there to reap */
			pid_t w;
			do
				w = waitpid(pid, sp, 0);
			while (w < 0 && errno == EINTR);
			r.rc = w == pid ? 0 : ERR_NOTFOUND;
			break;
		}
		if (n < 0 || remaining_ms(deadline, timeout_ms) == 0) {
			reaped(&r);   /* a last look */
			break;
		}
	}
	close(pfd);
	return r.rc;
}

int tu_kill_wait_status(pid_t pid, int sig, int timeout_ms, int *status)
{
	if (pid <= 0)
		return ERR_NOTFOUND;
	if (kill(-pid, sig) < 0)
		kill(pid, sig);
	int rc = tu_wait_exit(pid, timeout_ms, status);
	if (rc != ERR_TIMEOUT)
		return rc;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	if (tu_wait_exit(pid, -1, status) == ERR_NOTFOUND)
		return ERR_NOTFOUND;
	return ERR_TIMEOUT;
}

int tu_kill_wait(pid_t pid, int sig, int timeout_ms)
{
	return tu_kill_wait_status(pid, sig, timeout_ms, NULL);
}

/* ---- waits ------------------------------------------------------------------ */

bool tu_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	return tu_wait_until_every(cond, arg, timeout_ms, TU_COND_INTERVAL_MS);
}

bool tu_wait_until_every(bool (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms)
{
	uint64_t deadline = deadline_of(timeout_ms);
	for (;;) {
		if (cond(arg))
			return true;
		int left = remaining_ms(deadline, timeout_ms);
		if (left == 0)
			return cond(arg);
		int step = left < 0 || left > interval_ms ? interval_ms : left;
		poll(NULL, 0, step);
	}
}

static bool file_exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* Watches the directory holding path; returns an inotify fd or -1. */
static int watch_parent(const char *path)
{
	char dir[TU_PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s", path);
	if (n < 0 || (size_t)n >= sizeof dir)
		return -1;
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	uint32_t mask = IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB;
	if (inotify_add_watch(fd, dir, mask) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Blocks until an inotify event, TU_RECHECK_MS, or the deadline; drains the
 * events (the caller re-checks its condition rather than parse names). */
static void inotify_wait(int fd, uint64_t deadline, int timeout_ms)
{
	int left = remaining_ms(deadline, timeout_ms);
	int t = left < 0 || left > TU_RECHECK_MS ? TU_RECHECK_MS : left;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, t) > 0) {
		char buf[TU_INOTIFY_BUF_BYTES] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(fd, buf, sizeof buf) > 0)
			;
	}
}

bool tu_wait_file(const char *path, int timeout_ms)
{
	int fd = watch_parent(path);
	if (fd < 0)
		return tu_wait_until(file_exists, (void *)(uintptr_t)path, timeout_ms);
	uint64_t deadline = deadline_of(timeout_ms);
	bool ok;
	for (;;) {
		ok = file_exists((void *)(uintptr_t)path);
		if (ok || remaining_ms(deadline, timeout_ms) == 0)
			break;
		inotify_wait(fd, deadline, timeout_ms);
	}
	close(fd);
	return ok;
}

off_t tu_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Searches the file from *off on; advances *off so that the next search
 * overlaps by needle length - 1 bytes. */
static bool scan_from(const char *path, const char *needle, off_t *off)
{
	size_t nlen = strlen(needle);
	if (nlen == 0)
		return true;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return false;
	}
	if (st.st_size < *off)
		*off = 0;   /* truncated or replaced: start again */
	bool found = false;
	size_t cap = TU_READ_CHUNK_BYTES + nlen;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return false;
	}
	size_t keep = 0;   /* bytes carried from the previous chunk */
	off_t pos = *off;
	for (;;) {
		ssize_t n = pread(fd, buf + keep, cap - keep, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pos += n;
		size_t have = keep + (size_t)n;
		if (memmem(buf, have, needle, nlen)) {
			found = true;
			break;
		}
		keep = have < nlen - 1 ? have : nlen - 1;
		memmove(buf, buf + have - keep, keep);
	}
	if (!found)
		*off = pos - (off_t)keep;
	free(buf);
	close(fd);
	return found;
}

struct log_arg {
	const char *path;
	const char *needle;
	off_t off;
};

static bool log_has(void *arg)
{
	struct log_arg *a = arg;
	return scan_from(a->path, a->needle, &a->off);
}

bool tu_wait_log_from(const char *log_path, const char *needle, off_t from, int timeout_ms)
{
	struct log_arg a = { log_path, needle, from < 0 ? 0 : from };
	int fd = watch_parent(log_path);
	if (fd < 0)
		return tu_wait_until(log_has, &a, timeout_ms);
	uint64_t deadline = deadline_of(timeout_ms);
	bool ok;
	for (;;) {
		ok = log_has(&a);
		if (ok || remaining_ms(deadline, timeout_ms) == 0)
			break;
		inotify_wait(fd, deadline, timeout_ms);
	}
	close(fd);
	return ok;
}

bool tu_wait_log(const char *log_path, const char *needle, int timeout_ms)
{
	return tu_wait_log_from(log_path, needle, 0, timeout_ms);
}

/* ---- sockets and files ------------------------------------------------------ */

int tu_free_tcp_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ERR_IO;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	socklen_t len = sizeof a;
	int rc = ERR_IO;
	if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		rc = ntohs(a.sin_port);
	close(s);
	return rc;
}

int tu_read_file(const char *path, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	uint8_t *b = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (cap - n < TU_READ_CHUNK_BYTES + 1) {
			if (cap > SIZE_MAX / 2 - TU_READ_CHUNK_BYTES) {
				rc = ERR_NOMEM;
				break;
			}
			size_t ncap = cap * 2 + TU_READ_CHUNK_BYTES + 1;
			uint8_t *p = realloc(b, ncap);
			if (!p) {
				rc = ERR_NOMEM;
				break;
			}
			b = p;
			cap = ncap;
		}
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ERR_IO;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int tu_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, TU_FILE_MODE);
	if (fd < 0)
		return ERR_IO;
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return ERR_IO;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) == 0 ? 0 : ERR_IO;
}

bool tu_file_contains(const char *path, const char *needle)
{
	off_t off = 0;
	return scan_from(path, needle, &off);
}

void tu_dump_file(const char *path, size_t tail_bytes)
{
	uint8_t *b;
	size_t n;
	if (tu_read_file(path, &b, &n) < 0) {
		fprintf(stderr, "---- %s: unreadable\n", path);
		return;
	}
	size_t from = n > tail_bytes ? n - tail_bytes : 0;
	fprintf(stderr, "---- %s (last %zu of %zu bytes)\n", path, n - from, n);
	fwrite(b + from, 1, n - from, stderr);
	fprintf(stderr, "\n---- end of %s\n", path);
	free(b);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void tu_rmrf(const char *dir)
{
	if (!dir || !*dir || strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0 ||
	    strcmp(dir, "..") == 0)
		return;
	nftw(dir, rm_one, TU_NFTW_FDS, FTW_DEPTH | FTW_PHYS);
}
