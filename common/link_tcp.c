/*
 * link_tcp.c — TCP drivers: tcp:HOST:PORT (connect, for a vessel behind an
 * IP satellite terminal) and tcp-listen:[ADDR:]PORT (accept, the shore's
 * fleet port).  Both carry the stream helper's frames.
 *
 * Connect: getaddrinfo (numeric hosts resolve without blocking; a host
 * name blocks the loop for as long as the resolver takes — configure
 * numeric addresses on board, where DNS over satellite is slow), a
 * non-blocking connect whose completion is the socket's writability, a
 * connect timeout of TCP_CONNECT_TIMEOUT_MS, SO_KEEPALIVE (kernel default
 * timers: probes cost airtime, so none are added here) and TCP_NODELAY
 * (frames are whole when queued; Nagle would only add latency).  Each
 * failed attempt moves on to the next resolved address.
 *
 * Listen: SO_REUSEADDR so a restarted shore binds at once; with no ADDR a
 * dual-stack [::] socket, falling back to 0.0.0.0.  Each accepted
 * connection (accept4, non-blocking) becomes a child link of kind tcp,
 * already up, handed to on_accept; children are never reopened: when the
 * peer goes they report down and their owner frees them with link_close().
 *
 * Failure behaviour: refused, reset, timed out or closed connections go
 * down and are retried with backoff (children: down only).  Writes use
 * MSG_NOSIGNAL, so a vanished peer is an error code, never SIGPIPE.  When
 * the process runs out of descriptors, the listener stops accepting for
 * backoff_min_ms instead of spinning on a readable listen socket.
 */
#include "common/link_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_CONNECT_TIMEOUT_MS 30000u
#define TCP_LISTEN_BACKLOG 128
#define TCP_ACCEPTS_PER_EVENT 64u
#define TCP_PORT_TEXT_BYTES 8u
#define TCP_ADDR_TEXT_BYTES (INET6_ADDRSTRLEN + 1u)
#define WHY_MAX_TCP 128u
#define V4MAPPED_PREFIX_BYTES 12u  /* ::ffff: before the IPv4 address */

struct tcp_drv {
	bool connecting;
	struct log_burst accept_burst;
};

static bool host_numeric(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void set_stream_opts(int fd)
{
	int one = 1;
	/* Failures only lose an optimisation; the link works without them. */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static ssize_t sock_errno_code(int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
		return ERR_AGAIN;
	if (e == ECONNRESET || e == EPIPE || e == ETIMEDOUT || e == ENOTCONN ||
	    e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNABORTED)
		return ERR_CLOSED;
	return ERR_IO;
}

/* Formats a socket address as "[v6]:port" or "v4:port". */
static void addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
	char host[TCP_ADDR_TEXT_BYTES], serv[TCP_PORT_TEXT_BYTES];
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (sa->sa_family == AF_INET6 && len >= sizeof *s6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d. */
		const uint8_t *b = s6->sin6_addr.s6_addr + V4MAPPED_PREFIX_BYTES;
		snprintf(out, cap, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
			 (unsigned)ntohs(s6->sin6_port));
		return;
	}
	if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, cap, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(out, cap, "[%s]:%s", host, serv);
	else
		snprintf(out, cap, "%s:%s", host, serv);
}

static int resolve(const struct link *l, bool passive, int family, struct addrinfo **res,
		   char *why, size_t cap)
{
	char port[TCP_PORT_TEXT_BYTES];
	snprintf(port, sizeof port, "%u", (unsigned)l->spec.port);
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	const char *host = l->spec.host[0] ? l->spec.host : NULL;
	if (host && host_numeric(host))
		hints.ai_flags |= AI_NUMERICHOST;
	int rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		link_why(why, cap, "resolve %s: %s", host ? host : "(any)",
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return ERR_NOTFOUND;
	}
	return 0;
}

/* ---- tcp: connect ----------------------------------------------------------- */

static void tcp_close(struct link *l)
{
	link_unwatch(l);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	loop_timer_cancel(l->lp, l->drv_timer);
	l->drv_timer = 0;
	free(l->drv);
	l->drv = NULL;
}

static void connect_timeout(struct loop *lp, void *ctx)
{
	(void)lp;
	struct link *l = ctx;
	l->drv_timer = 0;
	link_hold(l);
	char why[64];
	link_why(why, sizeof why, "connect: no answer within %u ms", TCP_CONNECT_TIMEOUT_MS);
	link_lost(l, why);
	link_release(l);
}

static int tcp_open(struct link *l, char *why, size_t cap)
{
	struct addrinfo *res = NULL;
	int rc = resolve(l, false, AF_UNSPEC, &res, why, cap);
	if (rc < 0)
		return rc;
	size_t count = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next)
		count++;
	/* Rotate through the addresses, one per failed attempt. */
	struct addrinfo *ai = res;
	for (uint64_t skip = count ? l->st.errors % count : 0; skip > 0; skip--)
		ai = ai->ai_next;
	char at[TCP_ADDR_TEXT_BYTES + TCP_PORT_TEXT_BYTES + 4];
	addr_text(ai->ai_addr, ai->ai_addrlen, at, sizeof at);

	struct tcp_drv *d = calloc(1, sizeof *d);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!d || fd < 0) {
		link_why(why, cap, "socket: %s", d ? strerror(errno) : "out of memory");
		rc = ERR_IO;
		goto fail;
	}
	set_stream_opts(fd);
	l->drv = d;
	l->fd = fd;
	fd = -1;
	if (connect(l->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		rc = link_watch(l, POLLIN);
		if (rc < 0) {
			link_why(why, cap, "cannot watch the socket: %s", err_str(rc));
			goto fail;
		}
		freeaddrinfo(res);
		return 0;
	}
	if (errno != EINPROGRESS) {
		link_why(why, cap, "connect %s: %s", at, strerror(errno));
		rc = ERR_IO;
		goto fail;
	}
	d->connecting = true;
	rc = link_watch(l, POLLOUT);
	if (rc == 0) {
		l->drv_timer = loop_timer_at(l->lp, loop_now(l->lp) + TCP_CONNECT_TIMEOUT_MS,
					     connect_timeout, l);
		if (!l->drv_timer)
			rc = ERR_NOMEM;
	}
	if (rc < 0) {
		link_why(why, cap, "connect %s: %s", at, err_str(rc));
		goto fail;
	}
	log_debug("%s: connecting to %s", l->name, at);
	freeaddrinfo(res);
	return ERR_AGAIN;
fail:
	if (fd >= 0)
		close(fd);
	if (!l->drv)
		free(d);
	tcp_close(l);
	freeaddrinfo(res);
	return rc;
}

static void tcp_on_events(struct link *l, short revents)
{
	struct tcp_drv *d = l->drv;
	if (!d || !d->connecting) {
		link_stream_on_events(l, revents);
		return;
	}
	if (!(revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)))
		return;
	int err = 0;
	socklen_t elen = sizeof err;
	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		err = errno;
	if (err == 0 && (revents & (POLLERR | POLLHUP | POLLNVAL)))
		err = ECONNREFUSED;
	if (err != 0) {
		char why[WHY_MAX_TCP];
		link_why(why, sizeof why, "connect: %s", strerror(err));
		link_lost(l, why);
		return;
	}
	d->connecting = false;
	loop_timer_cancel(l->lp, l->drv_timer);
	l->drv_timer = 0;
	int rc = link_watch(l, link_stream_events(l));
	if (rc < 0) {
		link_lost(l, "cannot watch the socket");
		return;
	}
	link_up_now(l);
}

static ssize_t tcp_read(struct link *l, uint8_t *buf, size_t cap)
{
	ssize_t n = recv(l->fd, buf, cap, 0);
	return n >= 0 ? n : sock_errno_code(errno);
}

static ssize_t tcp_write(struct link *l, const uint8_t *buf, size_t len)
{
	ssize_t n = send(l->fd, buf, len, MSG_NOSIGNAL);
	return n >= 0 ? n : sock_errno_code(errno);
}

const struct link_ops link_tcp_ops = {
	.kind = "tcp",
	.open = tcp_open,
	.close = tcp_close,
	.send_unit = link_stream_send_unit,
	.mtu = link_stream_mtu,
	.on_events = tcp_on_events,
	.read_bytes = tcp_read,
	.write_bytes = tcp_write,
};

/* ---- tcp-listen: accept ------------------------------------------------------ */

static int listen_on(struct link *l, int family, char *why, size_t cap)
{
	struct addrinfo *res = NULL;
	int rc = resolve(l, true, family, &res, why, cap);
	if (rc < 0)
		return rc;
	rc = ERR_IO;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		char at[TCP_ADDR_TEXT_BYTES + TCP_PORT_TEXT_BYTES + 4];
		addr_text(ai->ai_addr, ai->ai_addrlen, at, sizeof at);
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			link_why(why, cap, "socket for %s: %s", at, strerror(errno));
			continue;
		}
		int one = 1, zero = 0;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6 && !l->spec.host[0])
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, TCP_LISTEN_BACKLOG) != 0) {
			link_why(why, cap, "listen on %s: %s", at, strerror(errno));
			close(fd);
			continue;
		}
		l->fd = fd;
		log_info("%s: listening on %s", l->name, at);
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	return rc;
}

static void listen_close(struct link *l)
{
	tcp_close(l);
}

static int listen_open(struct link *l, char *why, size_t cap)
{
	struct tcp_drv *d = calloc(1, sizeof *d);
	if (!d) {
		link_why(why, cap, "out of memory");
		return ERR_NOMEM;
	}
	l->drv = d;
	int rc;
	if (l->spec.host[0]) {
		rc = listen_on(l, AF_UNSPEC, why, cap);
	} else {
		/* Dual-stack first; hosts without IPv6 get IPv4 only. */
		rc = listen_on(l, AF_INET6, why, cap);
		if (rc < 0)
			rc = listen_on(l, AF_INET, why, cap);
	}
	if (rc == 0) {
		rc = link_watch(l, POLLIN);
		if (rc < 0)
			link_why(why, cap, "cannot watch the listen socket: %s", err_str(rc));
	}
	if (rc < 0)
		listen_close(l);
	return rc;
}

static void listen_resume(struct loop *lp, void *ctx)
{
	(void)lp;
	struct link *l = ctx;
	l->drv_timer = 0;
	if (link_watch(l, POLLIN) < 0)
		log_error("%s: cannot resume accepting", l->name);
}

/* Makes a child link of an accepted socket; closes fd on failure. */
static struct link *make_child(struct link *l, int fd, const struct sockaddr *sa, socklen_t slen)
{
	struct link *c = link_alloc(l->lp, &link_tcp_ops);
	struct tcp_drv *d = calloc(1, sizeof *d);
	if (!c || !d) {
		free(c);
		free(d);
		close(fd);
		log_error("%s: out of memory for a new connection", l->name);
		return NULL;
	}
	set_stream_opts(fd);
	char at[TCP_ADDR_TEXT_BYTES + TCP_PORT_TEXT_BYTES + 4];
	addr_text(sa, slen, at, sizeof at);
	char name[LINK_NAME_MAX];
	snprintf(name, sizeof name, "tcp:%s", at);
	link_set_name(c, name);
	c->spec = l->spec;
	c->spec.kind = LINK_KIND_TCP;
	c->drv = d;
	c->fd = fd;
	c->reopen = false;
	c->backoff_min_ms = l->backoff_min_ms;
	c->backoff_max_ms = l->backoff_max_ms;
	if (link_watch(c, POLLIN) < 0) {
		log_error("%s: cannot watch a new connection", l->name);
		link_close(c);
		return NULL;
	}
	c->up = true;
	c->ever_up = true;
	return c;
}

static void accept_pause(struct link *l, int e)
{
	struct tcp_drv *d = l->drv;
	uint64_t suppressed = 0;
	if (log_burst_check(&d->accept_burst, loop_now(l->lp), LINK_BAD_QUIET_MS, &suppressed))
		log_error("%s: accept: %s; pausing %llu ms (%llu more since the last report)", l->name,
			  strerror(e), (unsigned long long)l->backoff_min_ms,
			  (unsigned long long)suppressed);
	l->st.errors++;
	if (link_watch(l, 0) < 0 || l->drv_timer)
		return;
	l->drv_timer = loop_timer_at(l->lp, loop_now(l->lp) + l->backoff_min_ms, listen_resume, l);
	if (!l->drv_timer && link_watch(l, POLLIN) < 0)
		log_error("%s: cannot resume accepting", l->name);
}

static void listen_on_events(struct link *l, short revents)
{
	if (revents & (POLLNVAL | POLLERR)) {
		link_lost(l, "listen socket failed");
		return;
	}
	for (unsigned i = 0; i < TCP_ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t slen = sizeof ss;
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return;
			if (e == EINTR || e == ECONNABORTED || e == EPROTO)
				continue;
			accept_pause(l, e);
			return;
		}
		struct link *c = make_child(l, fd, (const struct sockaddr *)&ss, slen);
		if (!c)
			continue;
		log_info("%s: accepted %s", l->name, c->name);
		if (!l->cb.on_accept) {
			log_warn("%s: nobody takes connections; closing %s", l->name, c->name);
			link_close(c);
			continue;
		}
		link_hold(l);
		l->cb.on_accept(l->ctx, l, c);
		if (!link_release(l) || !l->up)
			return;
	}
}

static int listen_send(struct link *l, const uint8_t *unit, size_t len)
{
	(void)l;
	(void)unit;
	(void)len;
	return ERR_STATE;
}

const struct link_ops link_tcp_listen_ops = {
	.kind = "tcp-listen",
	.open = listen_open,
	.close = listen_close,
	.send_unit = listen_send,
	.mtu = link_stream_mtu,      /* the mtu of the children it accepts */
	.on_events = listen_on_events,
	.read_bytes = NULL,
	.write_bytes = NULL,
};
