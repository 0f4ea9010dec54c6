/*
 * ctl.c — the control-socket protocol: codec, server on the poll loop,
 * blocking client with deadlines.
 *
 * Invariants:
 *  - a message is encoded and decoded field by field through bounded
 *    cursors (proto/varint.h); every length is checked against its cap
 *    before any allocation or arithmetic;
 *  - the server reads exactly one message at a time (header, then the
 *    announced payload) and never reads the next request before the
 *    current one is answered, so one connection costs at most
 *    CTL_HEADER_BYTES + CTL_MSG_MAX of buffer;
 *  - a connection whose request is with the handler stays allocated until
 *    ctl_reply(), even if its peer leaves (it becomes an orphan without fd);
 *  - the socket file is created under umask ~mode: it never exists with
 *    wider permissions than asked.
 *
 * Failure: hostile or broken input (garbage, wrong version, oversize length,
 * undecodable payload, a half message then close, a stalled peer, too many
 * peers) is counted, logged (rate-limited) with the peer's uid and pid,
 * answered with an EX_PROTOCOL / EX_TEMPFAIL response when the peer can
 * still read one, and the connection closed; the server keeps serving.
 * Resource exhaustion at accept() pauses accepting briefly instead of
 * spinning.
 */
#include "common/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/varint.h"

#define U32_BYTES 4u
#define BYTE_BITS 8u
#define MODE_BITS 0777u
#define STATUS_MAX 255
#define ACCEPT_BATCH 16          /* accepts per callback: fairness */
#define ACCEPT_PAUSE_MS 100u     /* after EMFILE & co: retry later, not spin */
#define LOG_QUIET_MS 1000u       /* refusal log burst window */
#define MS_PER_S 1000
#define NS_PER_MS 1000000L

/* ---- codec ------------------------------------------------------------- */

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < U32_BYTES; i++)
		p[i] = (uint8_t)(v >> (BYTE_BITS * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < U32_BYTES; i++)
		v |= (uint32_t)p[i] << (BYTE_BITS * i);
	return v;
}

int ctl_header_parse(const uint8_t *hdr, uint32_t max, uint8_t *type, uint32_t *len)
{
	if ((hdr[0] & CTL_MAGIC_MASK) != CTL_MAGIC)
		return ERR_INVAL;
	if (hdr[0] != CTL_MAGIC_VERSION)
		return ERR_VERSION;
	if (hdr[1] != CTL_TYPE_REQUEST && hdr[1] != CTL_TYPE_RESPONSE)
		return ERR_INVAL;
	uint32_t n = get_u32le(hdr + 2);
	if (n > max)
		return ERR_TOOBIG;
	*type = hdr[1];
	*len = n;
	return 0;
}

/* Allocates header + payload of plen bytes and writes the header. */
static int message_alloc(uint8_t type, size_t plen, uint8_t **out, size_t *len)
{
	uint8_t *m = malloc(CTL_HEADER_BYTES + plen);
	if (m == NULL)
		return ERR_NOMEM;
	m[0] = CTL_MAGIC_VERSION;
	m[1] = type;
	put_u32le(m + 2, (uint32_t)plen);
	*out = m;
	*len = CTL_HEADER_BYTES + plen;
	return 0;
}

static void put_string(struct wcursor *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	wcursor_put_varint(w, n);
	wcursor_put_bytes(w, (const uint8_t *)s, n);
}

int ctl_request_encode(int argc, const char *const argv[], uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (argc < 0 || (unsigned)argc > CTL_ARGS_MAX || (argc > 0 && argv == NULL))
		return ERR_INVAL;
	for (int i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			return ERR_INVAL;
		if (strlen(argv[i]) > CTL_MSG_MAX)
			return ERR_TOOBIG;      /* keeps the sum below from overflowing */
	}
	struct wcursor w;
	wcursor_init(&w, NULL, 0);      /* measure */
	wcursor_put_varint(&w, (uint64_t)argc);
	for (int i = 0; i < argc; i++)
		put_string(&w, argv[i]);
	if (w.len > CTL_MSG_MAX)
		return ERR_TOOBIG;
	size_t plen = w.len;
	uint8_t *m;
	int rc = message_alloc(CTL_TYPE_REQUEST, plen, &m, len);
	if (rc != 0)
		return rc;
	wcursor_init(&w, m + CTL_HEADER_BYTES, plen);
	wcursor_put_varint(&w, (uint64_t)argc);
	for (int i = 0; i < argc; i++)
		put_string(&w, argv[i]);
	*out = m;
	return 0;
}

/* Reads [len varint][bytes] with len <= max and no NUL inside. */
static int get_string(struct cursor *c, uint64_t max, const uint8_t **p, size_t *n)
{
	uint64_t v;
	int rc = cursor_get_varint(c, &v);
	if (rc != 0)
		return rc == ERR_TRUNC ? ERR_TRUNC : ERR_INVAL;
	if (v > max)
		return ERR_TOOBIG;
	if (v > c->len)
		return ERR_TRUNC;
	rc = cursor_get_bytes(c, (size_t)v, p);
	if (rc != 0)
		return rc;
	if (memchr(*p, 0, (size_t)v) != NULL)
		return ERR_INVAL;
	*n = (size_t)v;
	return 0;
}

int ctl_request_decode(const uint8_t *p, size_t len, struct ctl_request *req)
{
	req->argc = 0;
	req->argv[0] = NULL;
	if (len > CTL_MSG_MAX)
		return ERR_TOOBIG;
	struct cursor c;
	cursor_init(&c, p, len);
	uint64_t argc;
	int rc = cursor_get_varint(&c, &argc);
	if (rc != 0)
		return rc == ERR_TRUNC ? ERR_TRUNC : ERR_INVAL;
	if (argc > CTL_ARGS_MAX)
		return ERR_TOOBIG;
	size_t pos = 0;
	for (uint64_t i = 0; i < argc; i++) {
		const uint8_t *s;
		size_t n;
		rc = get_string(&c, CTL_MSG_MAX, &s, &n);
		if (rc != 0)
			return rc;
		if (n >= sizeof req->buf - pos)
			return ERR_TOOBIG;      /* cannot happen: strings + NULs < len */
		memcpy(req->buf + pos, s, n);
		req->buf[pos + n] = '\0';
		req->argv[i] = req->buf + pos;
		pos += n + 1u;
	}
	if (c.len != 0)
		return ERR_INVAL;               /* bytes left over */
	req->argc = (int)argc;
	req->argv[argc] = NULL;
	return 0;
}

int ctl_response_encode(int status, const char *text, const char *json,
                        uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (status < 0 || status > STATUS_MAX)
		return ERR_INVAL;
	size_t tl = text ? strlen(text) : 0, jl = json ? strlen(json) : 0;
	if (tl > CTL_REPLY_MAX || jl > CTL_REPLY_MAX)
		return ERR_TOOBIG;
	struct wcursor w;
	wcursor_init(&w, NULL, 0);
	wcursor_put_u8(&w, (uint8_t)status);
	put_string(&w, text);
	put_string(&w, json);
	if (w.len > CTL_REPLY_MAX)
		return ERR_TOOBIG;
	size_t plen = w.len;
	uint8_t *m;
	int rc = message_alloc(CTL_TYPE_RESPONSE, plen, &m, len);
	if (rc != 0)
		return rc;
	wcursor_init(&w, m + CTL_HEADER_BYTES, plen);
	wcursor_put_u8(&w, (uint8_t)status);
	put_string(&w, text);
	put_string(&w, json);
	*out = m;
	return 0;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1u);
	if (s == NULL)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int ctl_response_decode(const uint8_t *p, size_t len, int *status, char **text, char **json)
{
	*text = NULL;
	*json = NULL;
	if (len > CTL_REPLY_MAX)
		return ERR_TOOBIG;
	struct cursor c;
	cursor_init(&c, p, len);
	uint8_t st;
	const uint8_t *tp, *jp;
	size_t tn, jn;
	int rc = cursor_get_u8(&c, &st);
	if (rc == 0)
		rc = get_string(&c, CTL_REPLY_MAX, &tp, &tn);
	if (rc == 0)
		rc = get_string(&c, CTL_REPLY_MAX, &jp, &jn);
	if (rc == 0 && c.len != 0)
		rc = ERR_INVAL;
	if (rc != 0)
		return rc;
	char *t = dup_bytes(tp, tn), *j = dup_bytes(jp, jn);
	if (t == NULL || j == NULL) {
		free(t);
		free(j);
		return ERR_NOMEM;
	}
	*status = st;
	*text = t;
	*json = j;
	return 0;
}

/* ---- server ------------------------------------------------------------ */

enum conn_state { ST_READ, ST_HANDLER, ST_WRITE };

struct ctl_conn {
	struct ctl_server *s;
	struct ctl_conn *prev, *next;
	int fd;                       /* -1: orphan (peer gone, reply pending) */
	struct ctl_peer peer;
	enum conn_state state;
	uint8_t hdr[CTL_HEADER_BYTES];
	size_t hdr_got;
	uint8_t *payload;             /* plen bytes once the header is in */
	uint32_t plen;
	size_t pgot;
	uint8_t *wbuf;                /* response being written */
	size_t wlen, woff;
	bool close_after_write;       /* a refusal: close once it is out */
	uint64_t timer;
};

struct ctl_server {
	struct loop *l;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	ctl_handler_fn handler;
	void *ctx;
	unsigned conns_max;
	uint64_t idle_ms;
	unsigned nconns;              /* connections with an fd */
	struct ctl_conn *conns;       /* all, orphans included */
	struct ctl_request *req;      /* one decode buffer, used during a call */
	struct ctl_stats st;
	struct log_burst burst;
	uint64_t accept_timer;
};

static void refuse_log(struct ctl_server *s, const struct ctl_peer *p, const char *why)
{
	uint64_t suppressed = 0;
	if (log_burst_check(&s->burst, loop_now(s->l), LOG_QUIET_MS, &suppressed))
		log_warn("ctl: refused peer uid %u pid %d: %s (%llu similar suppressed)",
			 (unsigned)p->uid, (int)p->pid, why, (unsigned long long)suppressed);
}

static void conn_timer(struct loop *l, void *ctx);
static void conn_cb(struct loop *l, int fd, short revents, void *ctx);

static void conn_arm_timer(struct ctl_conn *c)
{
	loop_timer_cancel(c->s->l, c->timer);
	c->timer = loop_timer_at(c->s->l, loop_now(c->s->l) + c->s->idle_ms, conn_timer, c);
}

static void conn_reset_read(struct ctl_conn *c)
{
	free(c->payload);
	c->payload = NULL;
	c->plen = 0;
	c->pgot = 0;
	c->hdr_got = 0;
	c->state = ST_READ;
}

static void conn_unlink(struct ctl_conn *c)
{
	struct ctl_server *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* Closes the fd; frees the conn unless a reply is pending (then orphan). */
static void conn_close(struct ctl_conn *c)
{
	struct ctl_server *s = c->s;
	loop_timer_cancel(s->l, c->timer);
	c->timer = 0;
	if (c->fd >= 0) {
		loop_fd_del(s->l, c->fd);
		close(c->fd);
		c->fd = -1;
		s->nconns--;
	}
	free(c->payload);
	c->payload = NULL;
	free(c->wbuf);
	c->wbuf = NULL;
	if (c->state == ST_HANDLER)
		return;                   /* freed by ctl_reply() */
	conn_unlink(c);
	free(c);
}

/* Writes what is pending.  Returns 0 when done, ERR_AGAIN, or ERR_CLOSED
 * after closing the conn. */
static int conn_flush(struct ctl_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return ERR_AGAIN;
			c->s->st.io_errors++;
			log_debug("ctl: write to pid %d: %s", (int)c->peer.pid, strerror(errno));
			conn_close(c);
			return ERR_CLOSED;
		}
		c->woff += (size_t)n;
	}
	return 0;
}

/* Starts sending buf (taken over); closes afterwards if close_after. */
static int conn_send(struct ctl_conn *c, uint8_t *buf, size_t len, bool close_after)
{
	free(c->wbuf);
	c->wbuf = buf;
	c->wlen = len;
	c->woff = 0;
	c->close_after_write = close_after;
	c->state = ST_WRITE;
	conn_arm_timer(c);
	int rc = conn_flush(c);
	if (rc == ERR_CLOSED)
		return rc;
	if (rc == ERR_AGAIN) {
		(void)loop_fd_events(c->s->l, c->fd, POLLOUT);
		return 0;
	}
	if (!close_after)
		c->s->st.replies++;
	free(c->wbuf);
	c->wbuf = NULL;
	if (close_after) {
		conn_close(c);
		return 0;
	}
	conn_reset_read(c);
	conn_arm_timer(c);
	(void)loop_fd_events(c->s->l, c->fd, POLLIN);
	return 0;
}

/* Tells the peer why it is refused (best effort), then closes. */
static void conn_refuse(struct ctl_conn *c, uint64_t *counter, int status, const char *why)
{
	(*counter)++;
	refuse_log(c->s, &c->peer, why);
	uint8_t *m;
	size_t n;
	if (ctl_response_encode(status, why, NULL, &m, &n) != 0) {
		conn_close(c);
		return;
	}
	(void)conn_send(c, m, n, true);
}

static void conn_dispatch(struct ctl_conn *c)
{
	struct ctl_server *s = c->s;
	int rc = ctl_request_decode(c->payload, c->plen, s->req);
	if (rc != 0) {
		conn_refuse(c, &s->st.malformed, CTL_EX_PROTOCOL, "malformed request");
		return;
	}
	free(c->payload);
	c->payload = NULL;
	loop_timer_cancel(s->l, c->timer);
	c->timer = 0;
	(void)loop_fd_events(s->l, c->fd, 0);   /* POLLHUP still tells of a hangup */
	c->state = ST_HANDLER;
	s->st.requests++;
	struct ctl_peer peer = c->peer;
	s->handler(c, &peer, s->req, s->ctx);   /* c may be gone after this */
}

/* Reads into p[*got..want).  Returns 1 complete, 0 would block, or an
 * error: ERR_CLOSED (EOF) or ERR_IO. */
static int read_some(int fd, uint8_t *p, size_t want, size_t *got)
{
	while (*got < want) {
		ssize_t n = recv(fd, p + *got, want - *got, MSG_DONTWAIT);
		if (n == 0)
			return ERR_CLOSED;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return ERR_IO;
		}
		*got += (size_t)n;
	}
	return 1;
}

static void conn_read(struct ctl_conn *c)
{
	struct ctl_server *s = c->s;
	int rc;
	if (c->hdr_got < CTL_HEADER_BYTES) {
		rc = read_some(c->fd, c->hdr, CTL_HEADER_BYTES, &c->hdr_got);
		if (rc <= 0)
			goto short_read;
		uint8_t type;
		uint32_t len;
		rc = ctl_header_parse(c->hdr, CTL_MSG_MAX, &type, &len);
		if (rc == ERR_VERSION) {
			conn_refuse(c, &s->st.bad_version, CTL_EX_PROTOCOL,
				    "control protocol version mismatch: use the control program of the same release");
			return;
		}
		if (rc == ERR_TOOBIG) {
			conn_refuse(c, &s->st.too_big, CTL_EX_PROTOCOL, "request over the size limit");
			return;
		}
		if (rc != 0) {
			conn_refuse(c, &s->st.bad_magic, CTL_EX_PROTOCOL, "not a control message");
			return;
		}
		if (type != CTL_TYPE_REQUEST) {
			conn_refuse(c, &s->st.bad_type, CTL_EX_PROTOCOL, "expected a request");
			return;
		}
		c->plen = len;
		c->pgot = 0;
		c->payload = malloc(len ? len : 1u);
		if (c->payload == NULL) {
			conn_refuse(c, &s->st.io_errors, CTL_EX_TEMPFAIL, "out of memory");
			return;
		}
	}
	rc = read_some(c->fd, c->payload, c->plen, &c->pgot);
	if (rc <= 0)
		goto short_read;
	conn_dispatch(c);
	return;
short_read:
	if (rc == 0)
		return;
	if (rc == ERR_CLOSED && c->hdr_got == 0) {
		conn_close(c);            /* clean close between requests */
		return;
	}
	if (rc == ERR_CLOSED) {
		s->st.truncated++;
		refuse_log(s, &c->peer, "closed inside a message");
	} else {
		s->st.io_errors++;
		refuse_log(s, &c->peer, "read error");
	}
	conn_close(c);
}

static void conn_cb(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	struct ctl_conn *c = ctx;
	switch (c->state) {
	case ST_READ:
		if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			conn_read(c);
		break;
	case ST_HANDLER:
		if (revents & (POLLHUP | POLLERR | POLLNVAL))
			conn_close(c);        /* orphan until ctl_reply() */
		break;
	case ST_WRITE:
		if (revents & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) {
			uint8_t *m = c->wbuf;
			bool close_after = c->close_after_write;
			int rc = conn_flush(c);
			if (rc == 0) {
				c->wbuf = NULL;
				free(m);
				if (close_after) {
					conn_close(c);
					return;
				}
				c->s->st.replies++;
				conn_reset_read(c);
				conn_arm_timer(c);
				(void)loop_fd_events(c->s->l, c->fd, POLLIN);
			}
		}
		break;
	}
}

static void conn_timer(struct loop *l, void *ctx)
{
	(void)l;
	struct ctl_conn *c = ctx;
	c->timer = 0;
	if (c->state == ST_READ && c->hdr_got == 0) {
		conn_close(c);            /* idle between requests: just close */
		return;
	}
	c->s->st.timeouts++;
	refuse_log(c->s, &c->peer, c->state == ST_WRITE ? "does not read its reply" :
		   "request incomplete before the deadline");
	conn_close(c);
}

static void accept_resume(struct loop *l, void *ctx)
{
	struct ctl_server *s = ctx;
	s->accept_timer = 0;
	(void)loop_fd_events(l, s->fd, POLLIN);
}

static void refuse_busy(struct ctl_server *s, int fd, const struct ctl_peer *p)
{
	s->st.refused_busy++;
	refuse_log(s, p, "too many control connections");
	uint8_t *m;
	size_t n;
	if (ctl_response_encode(CTL_EX_TEMPFAIL, "the daemon is busy (too many control connections); try again",
				NULL, &m, &n) == 0) {
		/* A fresh socket's buffer takes this whole; best effort. */
		(void)!send(fd, m, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(m);
	}
	close(fd);
}

static void accept_cb(struct loop *l, int lfd, short revents, void *ctx)
{
	struct ctl_server *s = ctx;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			s->st.io_errors++;
			log_warn("ctl: accept: %s; pausing %u ms", strerror(errno), ACCEPT_PAUSE_MS);
			(void)loop_fd_events(l, lfd, 0);
			loop_timer_cancel(l, s->accept_timer);
			s->accept_timer = loop_timer_at(l, loop_now(l) + ACCEPT_PAUSE_MS, accept_resume, s);
			return;
		}
		struct ucred cr;
		socklen_t cl = sizeof cr;
		struct ctl_peer peer = { (uid_t)-1, (gid_t)-1, 0 };
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 || cl != sizeof cr) {
			s->st.io_errors++;
			log_warn("ctl: SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		peer.uid = cr.uid;
		peer.gid = cr.gid;
		peer.pid = cr.pid;
		if (s->nconns >= s->conns_max) {
			refuse_busy(s, fd, &peer);
			continue;
		}
		struct ctl_conn *c = calloc(1, sizeof *c);
		if (c == NULL || loop_fd_add(l, fd, POLLIN, conn_cb, c) != 0) {
			free(c);
			s->st.io_errors++;
			log_warn("ctl: out of memory for a connection");
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->peer = peer;
		c->state = ST_READ;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->st.accepted++;
		conn_arm_timer(c);
	}
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof sa->sun_path)
		return ERR_INVAL;
	memcpy(sa->sun_path, path, n + 1u);
	return 0;
}

static int errno_to_err(int e)
{
	switch (e) {
	case ENOENT: case ECONNREFUSED: return ERR_NOTFOUND;
	case EACCES: case EPERM: return ERR_PERM;
	case ENOMEM: case ENOBUFS: return ERR_NOMEM;
	default: return ERR_IO;
	}
}

/* An existing path: a live socket is ERR_DUP, a stale one is removed,
 * anything else is refused.  0 when the path is free. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat stt;
	if (lstat(path, &stt) != 0)
		return errno == ENOENT ? 0 : errno_to_err(errno);
	if (!S_ISSOCK(stt.st_mode)) {
		log_error("ctl: %s exists and is not a socket; not removing it", path);
		return ERR_INVAL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno_to_err(errno);
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN) {
		log_error("ctl: %s: another process is serving it; not taking it over", path);
		return ERR_DUP;
	}
	if (e != ECONNREFUSED)
		return errno_to_err(e);
	log_info("ctl: removing stale socket %s", path);
	if (unlink(path) != 0 && errno != ENOENT)
		return errno_to_err(errno);
	return 0;
}

int ctl_server_open(struct ctl_server **out, const char *path, mode_t mode,
                    struct loop *l, ctl_handler_fn handler, void *ctx)
{
	*out = NULL;
	struct sockaddr_un sa;
	if (path == NULL || l == NULL || handler == NULL || (mode & ~(mode_t)MODE_BITS) != 0 ||
	    fill_addr(&sa, path) != 0)
		return ERR_INVAL;
	int rc = clear_stale(path, &sa);
	if (rc != 0)
		return rc;
	struct ctl_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ERR_NOMEM;
	s->fd = -1;
	s->req = malloc(sizeof *s->req);
	if (s->req == NULL) {
		rc = ERR_NOMEM;
		goto fail;
	}
	s->l = l;
	memcpy(s->path, sa.sun_path, sizeof s->path);
	s->handler = handler;
	s->ctx = ctx;
	s->conns_max = CTL_CONNS_MAX;
	s->idle_ms = CTL_IDLE_MS;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = errno_to_err(errno);
		goto fail;
	}
	mode_t old = umask((mode_t)(~mode & MODE_BITS));
	int b = bind(s->fd, (const struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	umask(old);
	if (b != 0) {
		log_error("ctl: bind %s: %s", path, strerror(e));
		rc = e == EADDRINUSE ? ERR_DUP : errno_to_err(e);
		goto fail;
	}
	struct stat stt;
	if (stat(path, &stt) != 0 || listen(s->fd, CTL_BACKLOG) != 0) {
		rc = errno_to_err(errno);
		unlink(path);
		goto fail;
	}
	s->dev = stt.st_dev;
	s->ino = stt.st_ino;
	rc = loop_fd_add(l, s->fd, POLLIN, accept_cb, s);
	if (rc != 0) {
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s->req);
	free(s);
	return rc;
}

void ctl_server_set_limits(struct ctl_server *s, unsigned conns_max, uint64_t idle_ms)
{
	if (conns_max >= 1)
		s->conns_max = conns_max;
	if (idle_ms >= 1)
		s->idle_ms = idle_ms;
}

struct ctl_stats ctl_server_stats(const struct ctl_server *s)
{
	return s->st;
}

unsigned ctl_server_conns(const struct ctl_server *s)
{
	return s->nconns;
}

void ctl_server_close(struct ctl_server *s)
{
	if (s == NULL)
		return;
	while (s->conns) {
		struct ctl_conn *c = s->conns;
		c->state = ST_READ;       /* force a full free */
		conn_close(c);
	}
	loop_timer_cancel(s->l, s->accept_timer);
	loop_fd_del(s->l, s->fd);
	close(s->fd);
	struct stat stt;
	if (stat(s->path, &stt) == 0 && stt.st_dev == s->dev && stt.st_ino == s->ino)
		unlink(s->path);
	free(s->req);
	free(s);
}

int ctl_reply(struct ctl_conn *c, int status, const char *text, const char *json)
{
	if (c == NULL || c->state != ST_HANDLER)
		return ERR_STATE;
	if (c->fd < 0) {              /* the peer left while we worked */
		c->state = ST_READ;
		conn_close(c);
		return ERR_CLOSED;
	}
	uint8_t *m;
	size_t n;
	int ret = ctl_response_encode(status, text, json, &m, &n);
	if (ret != 0) {
		log_warn("ctl: reply to pid %d not sendable: %s", (int)c->peer.pid, err_str(ret));
		if (ctl_response_encode(CTL_EX_SOFTWARE, ret == ERR_TOOBIG ? "response too large" :
					"internal error: bad response", NULL, &m, &n) != 0) {
			c->state = ST_READ;
			conn_close(c);
			return ERR_NOMEM;
		}
	}
	int rc = conn_send(c, m, n, false);
	return ret != 0 ? ret : rc;
}

/* ---- client ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / NS_PER_MS;
}

/* Waits for events on fd until deadline.  0 ready, ERR_TIMEOUT, ERR_IO. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return ERR_TIMEOUT;
		struct pollfd p = { fd, events, 0 };
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return ERR_IO;
	}
}

static int read_full(int fd, uint8_t *p, size_t want, int64_t deadline)
{
	size_t got = 0;
	for (;;) {
		int rc = read_some(fd, p, want, &got);
		if (rc == 1)
			return 0;
		if (rc == ERR_CLOSED)
			return ERR_CLOSED;
		if (rc < 0)
			return errno == ECONNRESET ? ERR_CLOSED : ERR_IO;
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc != 0)
			return rc;
	}
}

/* Sends all of p; EPIPE/ECONNRESET end it early with 0 (the server may
 * have answered with a refusal before closing: the caller reads it). */
static int write_full(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			off += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ERR_IO;
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Connects with a deadline: a blocking connect on a Unix socket waits for
 * room in the listen backlog for at most SO_SNDTIMEO. */
static int connect_deadline(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return ERR_TIMEOUT;
	struct timeval tv = { (time_t)(left / MS_PER_S), (suseconds_t)((left % MS_PER_S) * MS_PER_S) };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		return ERR_IO;
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS)
			return ERR_TIMEOUT;
		return errno_to_err(errno);
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return ERR_IO;
	return 0;
}

int ctl_call(const char *path, int argc, const char *const argv[], int timeout_ms,
             int *status, char **text, char **json)
{
	*text = NULL;
	*json = NULL;
	struct sockaddr_un sa;
	if (path == NULL || timeout_ms < 0 || fill_addr(&sa, path) != 0)
		return ERR_INVAL;
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t *req = NULL, *payload = NULL;
	size_t rlen;
	int fd = -1;
	int rc = ctl_request_encode(argc, argv, &req, &rlen);
	if (rc != 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = errno_to_err(errno);
		goto out;
	}
	rc = connect_deadline(fd, &sa, deadline);
	if (rc == 0)
		rc = write_full(fd, req, rlen, deadline);
	uint8_t hdr[CTL_HEADER_BYTES];
	if (rc == 0)
		rc = read_full(fd, hdr, sizeof hdr, deadline);
	uint8_t type = 0;
	uint32_t plen = 0;
	if (rc == 0)
		rc = ctl_header_parse(hdr, CTL_REPLY_MAX, &type, &plen);
	if (rc == 0 && type != CTL_TYPE_RESPONSE)
		rc = ERR_INVAL;
	if (rc == 0) {
		payload = malloc(plen ? plen : 1u);
		rc = payload ? read_full(fd, payload, plen, deadline) : ERR_NOMEM;
	}
	if (rc == 0)
		rc = ctl_response_decode(payload, plen, status, text, json);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(payload);
	return rc;
}

char *ctl_error_explain(int rc, const char *path, const struct ctl_hint *h,
                        char *out, size_t cap)
{
	const char *d = h && h->daemon ? h->daemon : "the daemon";
	const char *start = h && h->start ? h->start : NULL;
	const char *group = h && h->group ? h->group : NULL;
	if (cap == 0)
		return out;
	switch (rc) {
	case ERR_NOTFOUND:
		snprintf(out, cap, "cannot reach %s at %s: nobody is listening. Is %s running?%s%s",
			 d, path, d, start ? " Start it with: " : "", start ? start : "");
		break;
	case ERR_PERM:
		if (group)
			snprintf(out, cap, "not allowed to talk to %s at %s: run as a member of group %s "
				 "(or ask the captain to add you), or as root", d, path, group);
		else
			snprintf(out, cap, "not allowed to talk to %s at %s: run as the user %s runs as, or as root",
				 d, path, d);
		break;
	case ERR_TIMEOUT:
		snprintf(out, cap, "%s did not answer in time; it may be busy or stuck: check its log and try again", d);
		break;
	case ERR_CLOSED:
		snprintf(out, cap, "%s closed the connection without an answer: check its log", d);
		break;
	case ERR_VERSION:
		snprintf(out, cap, "%s speaks another control protocol version: install matching versions of %s and this program",
			 d, d);
		break;
	default:
		snprintf(out, cap, "talking to %s at %s failed: %s", d, path, err_str(rc));
		break;
	}
	return out;
}

int ctl_client_run(const char *prog, const char *path, int argc, const char *const argv[],
                   bool json, const struct ctl_hint *hint)
{
	int status = 0;
	char *text = NULL, *js = NULL;
	int rc = ctl_call(path, argc, argv, CTL_CLIENT_TIMEOUT_MS, &status, &text, &js);
	if (rc < 0) {
		char msg[1024];
		fprintf(stderr, "%s: %s\n", prog, ctl_error_explain(rc, path, hint, msg, sizeof msg));
		return CTL_EX_UNAVAILABLE;
	}
	const char *out = json ? js : text;
	FILE *f = status == 0 || json ? stdout : stderr;
	fputs(out, f);
	if (*out && out[strlen(out) - 1] != '\n')
		fputc('\n', f);
	free(text);
	free(js);
	return status;
}
