/*
 * test_ctl.c — the control-socket protocol over real Unix sockets in a temp
 * dir: codec vectors and caps +-1, round trips with the client in a forked
 * child and the server in the test's loop, SO_PEERCRED, deferred replies,
 * stale socket replaced, live socket and regular file left alone, every
 * malformed message refused with the server still answering an honest
 * client, another uid refused by the socket mode, 100 connections at once
 * (served; and over the limit, told "busy"), the idle deadline on a fake
 * clock, and the client's errors with their explanations.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/log.h"
#include "tests/lib/testutil.h"

#define WAIT_MS 5000
#define NOBODY 65534
#define MANY 100

struct srv_ctx {
	struct ctl_peer last_peer;
	int calls;
	struct ctl_conn *deferred;
	char deferred_text[64];
};

/* echo: text = args joined by ' ', json = {"argc":N}; "later" defers. */
static void handler(struct ctl_conn *c, const struct ctl_peer *peer,
		    const struct ctl_request *req, void *vctx)
{
	struct srv_ctx *x = vctx;
	x->last_peer = *peer;
	x->calls++;
	if (req->argc >= 1 && strcmp(req->argv[0], "later") == 0) {
		x->deferred = c;
		snprintf(x->deferred_text, sizeof x->deferred_text, "%s",
			 req->argc > 1 ? req->argv[1] : "");
		return;
	}
	if (req->argc >= 1 && strcmp(req->argv[0], "uid") == 0) {
		char t[32];
		snprintf(t, sizeof t, "%u", (unsigned)peer->uid);
		CU_ASSERT_EQUAL(ctl_reply(c, 0, t, NULL), 0);
		return;
	}
	char text[4096] = "";
	for (int i = 0; i < req->argc; i++) {
		if (i)
			strncat(text, " ", sizeof text - strlen(text) - 1);
		strncat(text, req->argv[i], sizeof text - strlen(text) - 1);
	}
	char json[32];
	snprintf(json, sizeof json, "{\"argc\":%d}", req->argc);
	CU_ASSERT_EQUAL(ctl_reply(c, req->argc == 0 ? CTL_EX_USAGE : 0, text, json), 0);
}

/* Fills a Unix address; the test paths are short (asserted). */
static void addr_of(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);
	CU_ASSERT_FATAL(n < sizeof sa->sun_path);
	memcpy(sa->sun_path, path, n + 1);
}

struct fixture {
	char *dir;
	char path[256];
	struct loop *l;
	struct ctl_server *s;
	struct srv_ctx x;
};

static void fx_open(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	f->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
	snprintf(f->path, sizeof f->path, "%s/ctl.sock", f->dir);
	f->l = loop_new(NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->l);
	CU_ASSERT_EQUAL_FATAL(ctl_server_open(&f->s, f->path, 0660, f->l, handler, &f->x), 0);
}

static void fx_close(struct fixture *f)
{
	ctl_server_close(f->s);
	loop_free(f->l);
	tu_rmrf(f->dir);
	free(f->dir);
}

/* Runs the loop until child pid exits (deadline WAIT_MS); returns its
 * exit code, or -1. */
static int run_until_exit(struct loop *l, pid_t pid)
{
	uint64_t end = tu_now_ms() + WAIT_MS;
	while (tu_now_ms() < end) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		(void)loop_run_once(l, 10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Child: ctl_call and compare.  Exit 0 when everything matched; 10+rc
 * mismatch codes otherwise. */
static pid_t spawn_call(const char *path, int argc, const char *const argv[], int want_rc,
			int want_status, const char *want_text)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int status = -1;
	char *text = NULL, *json = NULL;
	int rc = ctl_call(path, argc, argv, WAIT_MS, &status, &text, &json);
	if (rc != want_rc)
		_exit(20 + (rc < 0 ? -rc : rc) % 100);
	if (rc == 0 && status != want_status)
		_exit(3);
	if (rc == 0 && want_text && strcmp(text, want_text) != 0)
		_exit(4);
	if (rc != 0 && (text != NULL || json != NULL))
		_exit(5);
	free(text);
	free(json);
	_exit(0);
}

static int call_in_child(struct fixture *f, int argc, const char *const argv[], int want_status,
			 const char *want_text)
{
	pid_t pid = spawn_call(f->path, argc, argv, 0, want_status, want_text);
	CU_ASSERT(pid > 0);
	int code = run_until_exit(f->l, pid);
	if (code == 0)
		CU_ASSERT_EQUAL(f->x.last_peer.pid, pid);
	return code;
}

/* ---- codec ------------------------------------------------------------- */

static void test_codec_round_trip(void)
{
	const char *argv[] = { "send", "",
		"\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac",
		"--to", "mailto:mother@example.org" };
	uint8_t *m;
	size_t n;
	CU_ASSERT_EQUAL_FATAL(ctl_request_encode(5, argv, &m, &n), 0);
	uint8_t type;
	uint32_t plen;
	CU_ASSERT_EQUAL(ctl_header_parse(m, CTL_MSG_MAX, &type, &plen), 0);
	CU_ASSERT_EQUAL(type, CTL_TYPE_REQUEST);
	CU_ASSERT_EQUAL(plen + CTL_HEADER_BYTES, n);
	static struct ctl_request req;
	CU_ASSERT_EQUAL_FATAL(ctl_request_decode(m + CTL_HEADER_BYTES, plen, &req), 0);
	CU_ASSERT_EQUAL_FATAL(req.argc, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_STRING_EQUAL(req.argv[i], argv[i]);
	CU_ASSERT_PTR_NULL(req.argv[5]);
	free(m);

	CU_ASSERT_EQUAL_FATAL(ctl_response_encode(75, "queued", "{\"id\":7}", &m, &n), 0);
	CU_ASSERT_EQUAL(ctl_header_parse(m, CTL_REPLY_MAX, &type, &plen), 0);
	CU_ASSERT_EQUAL(type, CTL_TYPE_RESPONSE);
	int st;
	char *t, *j;
	CU_ASSERT_EQUAL_FATAL(ctl_response_decode(m + CTL_HEADER_BYTES, plen, &st, &t, &j), 0);
	CU_ASSERT_EQUAL(st, 75);
	CU_ASSERT_STRING_EQUAL(t, "queued");
	CU_ASSERT_STRING_EQUAL(j, "{\"id\":7}");
	free(t);
	free(j);
	free(m);
	CU_ASSERT_EQUAL(ctl_response_encode(256, "x", NULL, &m, &n), ERR_INVAL);
	CU_ASSERT_EQUAL(ctl_response_encode(-1, "x", NULL, &m, &n), ERR_INVAL);
	/* Both strings absent: empty strings, not NULL. */
	CU_ASSERT_EQUAL_FATAL(ctl_response_encode(0, NULL, NULL, &m, &n), 0);
	CU_ASSERT_EQUAL(n, CTL_HEADER_BYTES + 3u);
	CU_ASSERT_EQUAL(ctl_response_decode(m + CTL_HEADER_BYTES, 3, &st, &t, &j), 0);
	CU_ASSERT_STRING_EQUAL(t, "");
	CU_ASSERT_STRING_EQUAL(j, "");
	free(t);
	free(j);
	free(m);
}

struct hdr_vec {
	uint8_t b[CTL_HEADER_BYTES];
	int rc;
};

static const struct hdr_vec hdr_vecs[] = {
	{ { 0xc1, 0x01, 0x00, 0x00, 0x00, 0x00 }, 0 },
	{ { 0xc1, 0x02, 0x05, 0x00, 0x00, 0x00 }, 0 },
	{ { 0xc1, 0x01, 0x00, 0x00, 0x01, 0x00 }, 0 },             /* 65536 = cap */
	{ { 0xc1, 0x01, 0x01, 0x00, 0x01, 0x00 }, ERR_TOOBIG },    /* cap + 1 */
	{ { 0xc1, 0x01, 0xff, 0xff, 0xff, 0xff }, ERR_TOOBIG },
	{ { 0xc2, 0x01, 0x00, 0x00, 0x00, 0x00 }, ERR_VERSION },
	{ { 0xc0, 0x01, 0x00, 0x00, 0x00, 0x00 }, ERR_VERSION },
	{ { 'G', 'E', 'T', ' ', '/', ' ' }, ERR_INVAL },
	{ { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, ERR_INVAL },
	{ { 0xc1, 0x00, 0x00, 0x00, 0x00, 0x00 }, ERR_INVAL },     /* unknown type */
	{ { 0xc1, 0x03, 0x00, 0x00, 0x00, 0x00 }, ERR_INVAL },
};

static void test_header_vectors(void)
{
	for (size_t i = 0; i < sizeof hdr_vecs / sizeof hdr_vecs[0]; i++) {
		uint8_t type;
		uint32_t len;
		CU_ASSERT_EQUAL(ctl_header_parse(hdr_vecs[i].b, CTL_MSG_MAX, &type, &len), hdr_vecs[i].rc);
	}
}

struct dec_vec {
	const char *p;
	size_t n;
	int rc;
	int argc;
};

#define D(s, rc, argc) { s, sizeof(s) - 1, rc, argc }
static const struct dec_vec dec_vecs[] = {
	D("\x00", 0, 0),
	D("\x01\x00", 0, 1),                       /* one empty string */
	D("\x02\x02hi\x03you", 0, 2),
	D("", ERR_TRUNC, 0),
	D("\x01", ERR_TRUNC, 0),
	D("\x01\x05hi", ERR_TRUNC, 0),
	D("\x02\x02hi", ERR_TRUNC, 0),
	D("\x01\x03h\x00i", ERR_INVAL, 0),         /* NUL inside */
	D("\x01\x02hiX", ERR_INVAL, 0),            /* left over */
	D("\x80\x00", ERR_INVAL, 0),               /* non-minimal varint */
	D("\x41", ERR_TOOBIG, 0),                  /* 65 strings > CTL_ARGS_MAX */
	D("\x01\xff\xff\xff\xff\x0f", ERR_TOOBIG, 0),
	D("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", ERR_INVAL, 0),
};

static void test_request_decode_vectors(void)
{
	static struct ctl_request req;
	for (size_t i = 0; i < sizeof dec_vecs / sizeof dec_vecs[0]; i++) {
		int rc = ctl_request_decode((const uint8_t *)dec_vecs[i].p, dec_vecs[i].n, &req);
		if (rc != dec_vecs[i].rc)
			fprintf(stderr, "\nvector %zu: rc %d\n", i, rc);
		CU_ASSERT_EQUAL(rc, dec_vecs[i].rc);
		CU_ASSERT_EQUAL(req.argc, dec_vecs[i].argc);
	}
}

/* A request whose payload is exactly CTL_MSG_MAX + delta bytes:
 * [argc=1][len: 3-byte varint][len bytes]. */
static char *string_for_payload(long delta)
{
	size_t n = CTL_MSG_MAX - 4u + (size_t)delta;
	char *s = malloc(n + 1u);
	memset(s, 'a', n);
	s[n] = '\0';
	return s;
}

static void test_encode_cap(void)
{
	for (long d = -1; d <= 1; d++) {
		char *s = string_for_payload(d);
		const char *argv[] = { s };
		uint8_t *m = NULL;
		size_t n;
		int rc = ctl_request_encode(1, argv, &m, &n);
		CU_ASSERT_EQUAL(rc, d <= 0 ? 0 : ERR_TOOBIG);
		if (rc == 0)
			CU_ASSERT_EQUAL(n, CTL_HEADER_BYTES + CTL_MSG_MAX + (size_t)d);
		free(m);
		free(s);
	}
	const char *many[CTL_ARGS_MAX + 1];
	for (unsigned i = 0; i <= CTL_ARGS_MAX; i++)
		many[i] = "x";
	uint8_t *m;
	size_t n;
	CU_ASSERT_EQUAL(ctl_request_encode(CTL_ARGS_MAX, many, &m, &n), 0);
	free(m);
	CU_ASSERT_EQUAL(ctl_request_encode(CTL_ARGS_MAX + 1, many, &m, &n), ERR_INVAL);
}

/* ---- server ------------------------------------------------------------ */

static void test_round_trip_and_peercred(void)
{
	struct fixture f;
	mode_t saved = umask(0);           /* the widest umask: mode must still hold */
	fx_open(&f);
	mode_t um = umask(saved);
	CU_ASSERT_EQUAL(um, 0);            /* the process umask is restored */
	struct stat st;
	CU_ASSERT_EQUAL(stat(f.path, &st), 0);
	CU_ASSERT(S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);

	const char *a1[] = { "send", "\xe1\x80\x99\xe1\x80\x84", "hello" };
	CU_ASSERT_EQUAL(call_in_child(&f, 3, a1, 0, "send \xe1\x80\x99\xe1\x80\x84 hello"), 0);
	CU_ASSERT_EQUAL(f.x.last_peer.uid, getuid());
	CU_ASSERT_EQUAL(f.x.last_peer.gid, getgid());
	const char *a2[] = { "uid" };
	char want[32];
	snprintf(want, sizeof want, "%u", (unsigned)getuid());
	CU_ASSERT_EQUAL(call_in_child(&f, 1, a2, 0, want), 0);
	CU_ASSERT_EQUAL(call_in_child(&f, 0, NULL, CTL_EX_USAGE, ""), 0);
	struct ctl_stats s = ctl_server_stats(f.s);
	CU_ASSERT_EQUAL(s.requests, 3);
	CU_ASSERT_EQUAL(s.replies, 3);
	CU_ASSERT_EQUAL(s.accepted, 3);
	fx_close(&f);
	CU_ASSERT_EQUAL(access(f.path, F_OK), -1);  /* unlinked on close */
}

static void reply_later(struct loop *l, void *ctx)
{
	(void)l;
	struct srv_ctx *x = ctx;
	char t[80];
	snprintf(t, sizeof t, "done %s", x->deferred_text);
	CU_ASSERT_EQUAL(ctl_reply(x->deferred, 0, t, "{}"), 0);
	x->deferred = NULL;
}

static bool deferred_seen(void *arg)
{
	struct fixture *f = arg;
	(void)loop_run_once(f->l, 5);
	return f->x.deferred != NULL;
}

static void test_deferred_reply(void)
{
	struct fixture f;
	fx_open(&f);
	const char *a[] = { "later", "x1" };
	pid_t pid = spawn_call(f.path, 2, a, 0, 0, "done x1");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(tu_wait_until(deferred_seen, &f, WAIT_MS));
	CU_ASSERT(loop_timer_at(f.l, loop_now(f.l) + 20, reply_later, &f.x) > 0);
	CU_ASSERT_EQUAL(run_until_exit(f.l, pid), 0);
	CU_ASSERT_PTR_NULL(f.x.deferred);

	/* The peer leaves before the answer: the reply is dropped cleanly. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	addr_of(&sa, f.path);
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	uint8_t *m;
	size_t n;
	CU_ASSERT_EQUAL_FATAL(ctl_request_encode(2, a, &m, &n), 0);
	CU_ASSERT_EQUAL(write(fd, m, n), (ssize_t)n);
	free(m);
	CU_ASSERT_FATAL(tu_wait_until(deferred_seen, &f, WAIT_MS));
	close(fd);
	for (int i = 0; i < 5; i++)
		(void)loop_run_once(f.l, 5);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 0);
	CU_ASSERT_EQUAL(ctl_reply(f.x.deferred, 0, "late", NULL), ERR_CLOSED);
	/* A pending conn at close time is freed by ctl_server_close (ASan). */
	int fd2 = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(connect(fd2, (struct sockaddr *)&sa, sizeof sa), 0);
	CU_ASSERT_EQUAL_FATAL(ctl_request_encode(2, a, &m, &n), 0);
	CU_ASSERT_EQUAL(write(fd2, m, n), (ssize_t)n);
	free(m);
	f.x.deferred = NULL;
	CU_ASSERT_FATAL(tu_wait_until(deferred_seen, &f, WAIT_MS));
	fx_close(&f);
	close(fd2);
}

static void test_stale_and_live_socket(void)
{
	struct fixture f;
	fx_open(&f);
	/* Live: a second server must not steal the path. */
	struct ctl_server *s2 = NULL;
	struct srv_ctx x2 = { 0 };
	CU_ASSERT_EQUAL(ctl_server_open(&s2, f.path, 0660, f.l, handler, &x2), ERR_DUP);
	CU_ASSERT_PTR_NULL(s2);
	const char *a[] = { "still", "mine" };
	CU_ASSERT_EQUAL(call_in_child(&f, 2, a, 0, "still mine"), 0);
	CU_ASSERT_EQUAL(x2.calls, 0);

	/* Stale: a socket file nobody listens on is replaced. */
	char stale[300];
	snprintf(stale, sizeof stale, "%s/stale.sock", f.dir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	addr_of(&sa, stale);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	close(fd);
	CU_ASSERT_EQUAL(access(stale, F_OK), 0);
	CU_ASSERT_EQUAL(ctl_server_open(&s2, stale, 0600, f.l, handler, &x2), 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(stale, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	pid_t pid = spawn_call(stale, 2, a, 0, 0, "still mine");
	CU_ASSERT_EQUAL(run_until_exit(f.l, pid), 0);
	CU_ASSERT_EQUAL(x2.calls, 1);
	ctl_server_close(s2);

	/* Not a socket: never removed. */
	char reg[300];
	snprintf(reg, sizeof reg, "%s/file", f.dir);
	CU_ASSERT_EQUAL_FATAL(tu_write_file(reg, "keep", 4), 0);
	CU_ASSERT_EQUAL(ctl_server_open(&s2, reg, 0660, f.l, handler, &x2), ERR_INVAL);
	CU_ASSERT(tu_file_contains(reg, "keep"));
	CU_ASSERT_EQUAL(ctl_server_open(&s2, f.path, 01660, f.l, handler, &x2), ERR_INVAL);
	fx_close(&f);
}

static int raw_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	addr_of(&sa, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one whole response from a non-blocking fd, running the loop while
 * waiting.  Returns the status, -1 on EOF without one, -2 on timeout. */
static int raw_read_response(struct loop *l, int fd, char **text)
{
	uint8_t buf[1024];
	size_t got = 0;
	uint64_t end = tu_now_ms() + WAIT_MS;
	*text = NULL;
	while (tu_now_ms() < end) {
		ssize_t n = read(fd, buf + got, sizeof buf - got);
		if (n == 0)
			return -1;
		if (n > 0)
			got += (size_t)n;
		if (got >= CTL_HEADER_BYTES) {
			uint8_t type;
			uint32_t len;
			if (ctl_header_parse(buf, CTL_REPLY_MAX, &type, &len) != 0)
				return -3;
			if (got >= CTL_HEADER_BYTES + len) {
				int st;
				char *j;
				if (ctl_response_decode(buf + CTL_HEADER_BYTES, len, &st, text, &j) != 0)
					return -3;
				free(j);
				return st;
			}
		}
		(void)loop_run_once(l, 5);
	}
	return -2;
}

enum bad_kind { BAD_GARBAGE, BAD_VERSION, BAD_TYPE, BAD_TOOBIG, BAD_NUL, BAD_LEFTOVER,
	BAD_HALF_HEADER, BAD_HALF_PAYLOAD, BAD_COUNT };

struct bad_vec {
	const char *name;
	const uint8_t *bytes;
	size_t n;
	bool close_after;         /* the peer closes after sending */
	size_t stat_off;          /* which counter must go up */
	bool expect_reply;        /* an EX_PROTOCOL reply comes back */
};

#define B(s) (const uint8_t *)(s), sizeof(s) - 1
#define OFF(f) offsetof(struct ctl_stats, f)
static const struct bad_vec bad_vecs[] = {
	{ "garbage", B("GET / HTTP/1.0\r\n\r\n"), false, OFF(bad_magic), true },
	{ "version", B("\xc2\x01\x00\x00\x00\x00"), false, OFF(bad_version), true },
	{ "type", B("\xc1\x02\x00\x00\x00\x00"), false, OFF(bad_type), true },
	{ "toobig", B("\xc1\x01\x01\x00\x01\x00"), false, OFF(too_big), true },
	{ "nul", B("\xc1\x01\x04\x00\x00\x00\x01\x02" "a\x00"), false, OFF(malformed), true },
	{ "leftover", B("\xc1\x01\x04\x00\x00\x00\x01\x01" "ab"), false, OFF(malformed), true },
	{ "half header", B("\xc1\x01\x04"), true, OFF(truncated), false },
	{ "half payload", B("\xc1\x01\x04\x00\x00\x00\x01\x02"), true, OFF(truncated), false },
};

static uint64_t stat_at(const struct ctl_stats *s, size_t off)
{
	return *(const uint64_t *)((const char *)s + off);
}

static void test_malformed_refused(void)
{
	struct fixture f;
	fx_open(&f);
	log_set_level(LOG_LVL_ERROR);      /* the refusals are expected */
	for (size_t i = 0; i < sizeof bad_vecs / sizeof bad_vecs[0]; i++) {
		const struct bad_vec *v = &bad_vecs[i];
		struct ctl_stats before = ctl_server_stats(f.s);
		int fd = raw_connect(f.path);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(write(fd, v->bytes, v->n), (ssize_t)v->n);
		if (v->close_after)
			close(fd);
		if (v->expect_reply) {
			char *text;
			int st = raw_read_response(f.l, fd, &text);
			CU_ASSERT_EQUAL(st, CTL_EX_PROTOCOL);
			CU_ASSERT_PTR_NOT_NULL(text);
			free(text);
			char c;
			/* then the server closes */
			int tries = 0;
			ssize_t r;
			while ((r = read(fd, &c, 1)) < 0 && tries++ < 1000)
				(void)loop_run_once(f.l, 5);
			CU_ASSERT_EQUAL(r, 0);
			close(fd);
		}
		/* Until the refusal is counted and the conn is gone (deadline). */
		uint64_t end = tu_now_ms() + WAIT_MS;
		struct ctl_stats now = ctl_server_stats(f.s);
		while (tu_now_ms() < end && (stat_at(&now, v->stat_off) == stat_at(&before, v->stat_off) ||
					     ctl_server_conns(f.s) > 0)) {
			(void)loop_run_once(f.l, 5);
			now = ctl_server_stats(f.s);
		}
		struct ctl_stats after = ctl_server_stats(f.s);
		if (stat_at(&after, v->stat_off) != stat_at(&before, v->stat_off) + 1)
			fprintf(stderr, "\nvector %s: counter did not move\n", v->name);
		CU_ASSERT_EQUAL(stat_at(&after, v->stat_off), stat_at(&before, v->stat_off) + 1);
		CU_ASSERT_EQUAL(ctl_server_conns(f.s), 0);
		CU_ASSERT_EQUAL(after.requests, before.requests);
	}
	/* The payload cap over the wire: exactly CTL_MSG_MAX is served. */
	char *s = string_for_payload(0);
	const char *a[] = { s };
	CU_ASSERT_EQUAL(call_in_child(&f, 1, a, 0, NULL), 0);
	free(s);
	const char *h[] = { "honest" };
	CU_ASSERT_EQUAL(call_in_child(&f, 1, h, 0, "honest"), 0);
	/* A connect-and-close is not an error. */
	struct ctl_stats before = ctl_server_stats(f.s);
	close(raw_connect(f.path));
	for (int k = 0; k < 20; k++)
		(void)loop_run_once(f.l, 1);
	struct ctl_stats after = ctl_server_stats(f.s);
	CU_ASSERT_EQUAL(after.truncated, before.truncated);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 0);
	log_set_level(LOG_LVL_WARN);
	fx_close(&f);
}

static bool replies_reached(void *arg)
{
	struct fixture *f = arg;
	(void)loop_run_once(f->l, 5);
	struct ctl_stats s = ctl_server_stats(f->s);
	return s.replies + s.refused_busy >= MANY;
}

static void many_connections(unsigned limit)
{
	struct fixture f;
	fx_open(&f);
	log_set_level(LOG_LVL_ERROR);
	ctl_server_set_limits(f.s, limit, 0);
	int fds[MANY];
	for (int i = 0; i < MANY; i++) {
		fds[i] = raw_connect(f.path);   /* all queued before the loop runs */
		CU_ASSERT_FATAL(fds[i] >= 0);
		char arg[16];
		snprintf(arg, sizeof arg, "n%d", i);
		const char *a[] = { arg };
		uint8_t *m;
		size_t n;
		CU_ASSERT_EQUAL_FATAL(ctl_request_encode(1, a, &m, &n), 0);
		CU_ASSERT_EQUAL(write(fds[i], m, n), (ssize_t)n);
		free(m);
	}
	CU_ASSERT(tu_wait_until(replies_reached, &f, WAIT_MS));
	int served = 0, busy = 0;
	for (int i = 0; i < MANY; i++) {
		char *text;
		int st = raw_read_response(f.l, fds[i], &text);
		char want[16];
		snprintf(want, sizeof want, "n%d", i);
		if (st == 0 && text && strcmp(text, want) == 0)
			served++;
		else if (st == CTL_EX_TEMPFAIL)
			busy++;
		free(text);
		close(fds[i]);
	}
	unsigned want_served = limit < MANY ? limit : MANY;
	CU_ASSERT_EQUAL(served, (int)want_served);
	CU_ASSERT_EQUAL(busy, MANY - (int)want_served);
	struct ctl_stats s = ctl_server_stats(f.s);
	CU_ASSERT_EQUAL(s.refused_busy, MANY - want_served);
	for (int k = 0; k < 1000 && ctl_server_conns(f.s) > 0; k++)
		(void)loop_run_once(f.l, 5);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 0);
	const char *h[] = { "after" };
	CU_ASSERT_EQUAL(call_in_child(&f, 1, h, 0, "after"), 0);
	log_set_level(LOG_LVL_WARN);
	fx_close(&f);
}

static void test_hundred_connections(void) { many_connections(MANY + 28); }
static void test_hundred_over_limit(void) { many_connections(10); }

static void test_idle_timeout_fake_clock(void)
{
	struct fake_clock fc = { .now_ms = 1000 };
	struct fixture f;
	memset(&f, 0, sizeof f);
	f.dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.dir);
	snprintf(f.path, sizeof f.path, "%s/ctl.sock", f.dir);
	f.l = loop_new(fake_clock_read, &fc);
	CU_ASSERT_EQUAL_FATAL(ctl_server_open(&f.s, f.path, 0660, f.l, handler, &f.x), 0);
	ctl_server_set_limits(f.s, 4, 500);
	log_set_level(LOG_LVL_ERROR);
	int fd = raw_connect(f.path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "\xc1\x01", 2), 2);     /* a slow half header */
	for (int k = 0; k < 5; k++)
		(void)loop_run_once(f.l, 0);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 1);
	fc.now_ms += 499;
	(void)loop_run_once(f.l, 0);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 1);        /* deadline - 1 */
	fc.now_ms += 1;
	(void)loop_run_once(f.l, 0);
	CU_ASSERT_EQUAL(ctl_server_conns(f.s), 0);        /* deadline */
	CU_ASSERT_EQUAL(ctl_server_stats(f.s).timeouts, 1);
	char c;
	CU_ASSERT_EQUAL(read(fd, &c, 1), 0);              /* EOF */
	close(fd);
	log_set_level(LOG_LVL_WARN);
	fx_close(&f);
}

static void test_other_uid_refused(void)
{
	if (getuid() != 0) {
		fprintf(stderr, "\n(not root: other-uid test skipped) ");
		return;
	}
	struct fixture f;
	fx_open(&f);
	CU_ASSERT_EQUAL_FATAL(chmod(f.dir, 0755), 0);   /* only the socket mode decides */
	/* An open socket for contrast: nobody connects, SO_PEERCRED says so. */
	char open_path[300];
	snprintf(open_path, sizeof open_path, "%s/open.sock", f.dir);
	struct ctl_server *s2;
	struct srv_ctx x2 = { 0 };
	CU_ASSERT_EQUAL_FATAL(ctl_server_open(&s2, open_path, 0666, f.l, handler, &x2), 0);
	for (int which = 0; which < 2; which++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
				_exit(2);
			const char *a[] = { "uid" };
			int st;
			char *t, *j;
			int rc = ctl_call(which == 0 ? f.path : open_path, 1, a, WAIT_MS, &st, &t, &j);
			if (which == 0)
				_exit(rc == ERR_PERM ? 0 : 10);
			_exit(rc == 0 && strcmp(t, "65534") == 0 ? 0 : 11);
		}
		CU_ASSERT_EQUAL(run_until_exit(f.l, pid), 0);
	}
	CU_ASSERT_EQUAL(f.x.calls, 0);
	CU_ASSERT_EQUAL(x2.calls, 1);
	CU_ASSERT_EQUAL(x2.last_peer.uid, NOBODY);
	CU_ASSERT_EQUAL(x2.last_peer.gid, NOBODY);
	ctl_server_close(s2);
	fx_close(&f);
}

static void test_client_errors(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[300];
	snprintf(path, sizeof path, "%s/none.sock", dir);
	const char *a[] = { "status" };
	int st = -7;
	char *t = (char *)a, *j = (char *)a;
	CU_ASSERT_EQUAL(ctl_call(path, 1, a, 1000, &st, &t, &j), ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_PTR_NULL(j);
	/* Stale: bound, nobody listening. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	addr_of(&sa, path);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	CU_ASSERT_EQUAL(ctl_call(path, 1, a, 1000, &st, &t, &j), ERR_NOTFOUND);
	/* Listening but never answering: the deadline holds. */
	CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_EQUAL(ctl_call(path, 1, a, 100, &st, &t, &j), ERR_TIMEOUT);
	uint64_t took = tu_now_ms() - t0;
	CU_ASSERT(took >= 100 && took < 2000);
	/* A server that answers with another version. */
	int c = accept(fd, NULL, NULL);
	CU_ASSERT(c >= 0);
	close(c);
	pid_t pid = fork();
	if (pid == 0) {
		int k = accept(fd, NULL, NULL);
		uint8_t junk[64];
		(void)!read(k, junk, sizeof junk);
		(void)!write(k, "\xc2\x02\x00\x00\x00\x00", 6);
		_exit(0);
	}
	CU_ASSERT_EQUAL(ctl_call(path, 1, a, WAIT_MS, &st, &t, &j), ERR_VERSION);
	CU_ASSERT_EQUAL(tu_wait_exit(pid, WAIT_MS, NULL), 0);
	/* A server that closes without answering. */
	pid = fork();
	if (pid == 0) {
		int k = accept(fd, NULL, NULL);
		uint8_t junk[64];
		(void)!read(k, junk, sizeof junk);
		_exit(0);
	}
	CU_ASSERT_EQUAL(ctl_call(path, 1, a, WAIT_MS, &st, &t, &j), ERR_CLOSED);
	CU_ASSERT_EQUAL(tu_wait_exit(pid, WAIT_MS, NULL), 0);
	close(fd);
	CU_ASSERT_EQUAL(ctl_call("", 1, a, 100, &st, &t, &j), ERR_INVAL);

	struct ctl_hint h = { "vesseld", "systemctl start vesseld", "lifeline" };
	char msg[512];
	CU_ASSERT_PTR_NOT_NULL(strstr(ctl_error_explain(ERR_NOTFOUND, path, &h, msg, sizeof msg),
				      "Is vesseld running? Start it with: systemctl start vesseld"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ctl_error_explain(ERR_PERM, path, &h, msg, sizeof msg),
				      "member of group lifeline"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ctl_error_explain(ERR_TIMEOUT, path, &h, msg, sizeof msg),
				      "did not answer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ctl_error_explain(ERR_VERSION, path, NULL, msg, sizeof msg),
				      "version"));
	ctl_error_explain(ERR_NOTFOUND, path, &h, msg, 8);
	CU_ASSERT_EQUAL(strlen(msg), 7);
	tu_rmrf(dir);
	free(dir);
}

void suite_ctl(void);
void suite_ctl(void)
{
	CU_pSuite s = CU_add_suite("ctl", NULL, NULL);
	CU_add_test(s, "codec round trip", test_codec_round_trip);
	CU_add_test(s, "header vectors", test_header_vectors);
	CU_add_test(s, "request decode vectors", test_request_decode_vectors);
	CU_add_test(s, "encode cap +-1", test_encode_cap);
	CU_add_test(s, "round trip, mode, SO_PEERCRED", test_round_trip_and_peercred);
	CU_add_test(s, "deferred reply, peer gone", test_deferred_reply);
	CU_add_test(s, "stale replaced, live kept", test_stale_and_live_socket);
	CU_add_test(s, "malformed refused, server serves on", test_malformed_refused);
	CU_add_test(s, "100 connections at once", test_hundred_connections);
	CU_add_test(s, "100 connections, limit 10", test_hundred_over_limit);
	CU_add_test(s, "idle deadline on a fake clock", test_idle_timeout_fake_clock);
	CU_add_test(s, "other uid refused by mode", test_other_uid_refused);
	CU_add_test(s, "client errors explained", test_client_errors);
}
