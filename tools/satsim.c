/*
 * satsim.c — the satellite in a box: relays bytes between two endpoints
 * through a slow, lossy, intermittent link model (common/impair).
 *
 *   satsim --a ENDPOINT --b ENDPOINT [options]
 *   ENDPOINT: pty:PATH | tcp-listen:[ADDR:]PORT | tcp:HOST:PORT
 *
 * What it is for: tests and benchmarks of the link layer on one machine.
 * Each direction (a->b, b->a) has its own struct impair; this file only
 * moves bytes between file descriptors and the model.
 *
 * Invariants:
 *  - honest rate: a byte is written to the far endpoint no earlier than the
 *    model's due time, so no more than --rate bits per second leave a
 *    direction; bytes are never reordered.
 *  - bounded memory: bytes in flight (lost ones too, until their airtime
 *    ends, so a lossy or dark link paces its writer like a clean one) wait
 *    in a fixed ring per direction
 *    (--queue, default: what the link holds in flight plus 2 s of rate, at
 *    least 4 KiB).  When a ring is full satsim stops reading that side, so
 *    the writer meets back-pressure (EAGAIN, or a blocking write stalls)
 *    instead of a silent drop, like a modem's full serial buffer.
 *  - a satellite does not wait: a byte due at an endpoint nobody is
 *    attached to (pty slave not open, TCP peer not connected) is dropped
 *    and counted as absent_bytes.  A present but slow reader is waited for.
 *  - pty endpoints: satsim opens the slave once to make it raw, then closes
 *    it, so the master reports POLLHUP exactly while nobody has the slave
 *    open (the hold-the-slave-open trick would hide that).  A hung-up
 *    master is not polled (POLLHUP would fire without end); a timer probes
 *    it every PTY_PROBE_MS and every delivery probes it, so an EIO read or
 *    a hang-up is "nobody attached", never fatal, never a spin.  When a
 *    reader leaves, what it left unread is flushed (tcflush) so the next
 *    one does not receive stale bytes.
 *
 * Failure behaviour: bad options -> message and usage on stderr, exit 2;
 * an endpoint that cannot be created -> message, exit 1.  At run time a
 * vanished peer is absent (tcp: reconnect with backoff), never an exit.
 * SIGTERM/SIGINT print one totals line per direction on stdout and exit 0;
 * SIGUSR1 toggles a manual outage on both directions.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/impair.h"
#include "common/loop.h"

#define READ_CHUNK_BYTES 4096u           /* one read() = one chunk for the model */
#define QUEUE_MIN_BYTES 4096u            /* smallest ring */
#define QUEUE_MAX_BYTES (64u << 20)      /* largest ring, per direction */
#define QUEUE_BUFFER_MS 2000u            /* modem buffer beyond what is in flight */
#define PTY_PROBE_MS 50u                 /* how often a hung-up pty master is probed */
#define CONNECT_BACKOFF_MIN_MS 100u
#define CONNECT_BACKOFF_MAX_MS 5000u
#define LISTEN_BACKLOG 4
#define HOST_BYTES 256u
#define PORT_BYTES 16u
#define SEED_B_XOR 0x5a7e11175a7e1117ull  /* b->a gets its own stream */
#define BITS_PER_BYTE 8u
#define MS_PER_S 1000u

enum ep_kind { EP_PTY, EP_TCP_LISTEN, EP_TCP_CONNECT };

struct direction;

struct endpoint {
	char name;                 /* 'a' or 'b' */
	enum ep_kind kind;
	char path[PATH_MAX];       /* pty: the symlink we made */
	char slave[PATH_MAX];      /* pty: the slave device */
	char host[HOST_BYTES], port[PORT_BYTES];
	int fd;                    /* pty master or connected socket; -1 none */
	int listen_fd;             /* tcp-listen; -1 otherwise */
	bool present;              /* someone attached at the other side of fd */
	bool watched;              /* fd is in the loop */
	bool connecting;           /* tcp: connect() in progress */
	bool symlinked;
	bool warned;               /* tcp: a connect failure was reported */
	bool dropping;             /* an absent-receiver drop was reported */
	uint64_t timer;            /* pty probe or tcp reconnect */
	uint32_t backoff_ms;
	struct loop *lp;
	struct direction *rx;      /* bytes read here enter this direction */
	struct direction *tx;      /* this direction delivers here */
};

struct direction {
	const char *label;
	struct impair im;
	uint8_t *data;             /* ring of cap bytes ... */
	uint64_t *due;             /* ... with their due times ... */
	uint8_t *lost;             /* ... and whether they were lost on the way
				    * (kept until due: they still took airtime) */
	size_t cap, head, len;
	uint64_t timer;            /* delivery timer, 0 when none */
	bool blocked;              /* dst said EAGAIN: waiting for POLLOUT */
	uint64_t bytes_out, absent_bytes;
	struct endpoint *src, *dst;
	struct loop *lp;
};

struct options {
	const char *spec[2];
	struct impair_config cfg[2];   /* [0] a->b, [1] b->a */
	uint64_t seed;
	size_t queue_bytes;            /* 0: computed */
};

static void ep_update(struct endpoint *ep);
static void dir_deliver(struct direction *d);

/* ---- the ring of bytes in flight ---------------------------------------- */

static size_t ring_default(const struct impair_config *c)
{
	uint64_t ms = (uint64_t)c->latency_ms + c->jitter_ms + QUEUE_BUFFER_MS;
	uint64_t bytes = ms * c->rate_bps / (BITS_PER_BYTE * MS_PER_S);
	if (bytes < QUEUE_MIN_BYTES)
		bytes = QUEUE_MIN_BYTES;
	return bytes > QUEUE_MAX_BYTES ? QUEUE_MAX_BYTES : (size_t)bytes;
}

static int dir_alloc(struct direction *d, size_t cap)
{
	d->data = malloc(cap);
	d->due = malloc(cap * sizeof *d->due);
	d->lost = malloc(cap);
	d->cap = cap;
	return d->data && d->due && d->lost ? 0 : ERR_NOMEM;
}

static void timer_fired(struct loop *l, void *ctx)
{
	struct direction *d = ctx;
	d->timer = 0;
	dir_deliver(d);
}

static void dir_arm(struct direction *d)
{
	if (d->timer || d->len == 0 || d->blocked)
		return;
	d->timer = loop_timer_at(d->lp, d->due[d->head], timer_fired, d);
	if (d->timer == 0)
		fprintf(stderr, "satsim: %s: out of memory for a timer\n", d->label);
}

/* Takes one chunk just read from the source through the model into the ring. */
static void dir_push(struct direction *d, uint8_t *buf, size_t n)
{
	struct impair_verdict v[READ_CHUNK_BYTES];
	if (impair_push(&d->im, loop_now(d->lp), buf, n, v) != 0)
		return;
	for (size_t i = 0; i < n; i++) {   /* lost bytes hold their airtime too */
		size_t at = (d->head + d->len) % d->cap;
		d->data[at] = buf[i];
		d->due[at] = v[i].due_ms;
		d->lost[at] = v[i].fate != IMPAIR_DELIVER;
		d->len++;
	}
	dir_arm(d);
}

static void ring_pop(struct direction *d, size_t n)
{
	d->head = (d->head + n) % d->cap;
	d->len -= n;
}

/* ---- endpoint I/O -------------------------------------------------------- */

static bool pty_hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = 0, .revents = 0 };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static void ep_unwatch(struct endpoint *ep)
{
	if (ep->watched)
		loop_fd_del(ep->lp, ep->fd);
	ep->watched = false;
}

static void ep_fd_event(struct loop *l, int fd, short revents, void *ctx);

static void pty_probe(struct loop *l, void *ctx);

static void tcp_schedule_retry(struct endpoint *ep);

static void ep_gone(struct endpoint *ep)
{
	if (ep->present)
		fprintf(stderr, "satsim: %c: peer left\n", ep->name);
	ep_unwatch(ep);
	ep->present = false;
	ep->tx->blocked = false;
	if (ep->kind == EP_PTY) {
		/* What the departed reader left unread must not greet the next one. */
		(void)tcflush(ep->fd, TCOFLUSH);
		if (!ep->timer)
			ep->timer = loop_timer_at(ep->lp, loop_now(ep->lp) + PTY_PROBE_MS, pty_probe, ep);
	} else if (ep->fd >= 0) {
		close(ep->fd);
		ep->fd = -1;
		if (ep->kind == EP_TCP_CONNECT) {
			ep->backoff_ms = CONNECT_BACKOFF_MIN_MS;
			tcp_schedule_retry(ep);
		}
	}
	dir_deliver(ep->tx);   /* whatever is due now is dropped as absent */
}

static void tcp_connect_start(struct endpoint *ep);

static void tcp_retry(struct loop *l, void *ctx)
{
	struct endpoint *ep = ctx;
	ep->timer = 0;
	tcp_connect_start(ep);
}

static void tcp_schedule_retry(struct endpoint *ep)
{
	if (ep->timer)
		return;
	if (!ep->warned) {   /* once per run of failures, not per attempt */
		fprintf(stderr, "satsim: %c: %s:%s not reachable, retrying\n", ep->name,
			ep->host, ep->port);
		ep->warned = true;
	}
	ep->timer = loop_timer_at(ep->lp, loop_now(ep->lp) + ep->backoff_ms, tcp_retry, ep);
	ep->backoff_ms = ep->backoff_ms * 2 > CONNECT_BACKOFF_MAX_MS ? CONNECT_BACKOFF_MAX_MS
								   : ep->backoff_ms * 2;
}

/* Registers or updates the fd's poll mask from the rings' state. */
static void ep_update(struct endpoint *ep)
{
	if (ep->fd < 0 || (!ep->present && !ep->connecting))
		return;
	short ev = 0;
	if (ep->connecting)
		ev = POLLOUT;
	else {
		if (ep->rx->len < ep->rx->cap)
			ev |= POLLIN;
		if (ep->tx->blocked)
			ev |= POLLOUT;
	}
	if (ep->watched) {
		(void)loop_fd_events(ep->lp, ep->fd, ev);
		return;
	}
	if (loop_fd_add(ep->lp, ep->fd, ev, ep_fd_event, ep) != 0) {
		fprintf(stderr, "satsim: %c: cannot watch fd\n", ep->name);
		return;
	}
	ep->watched = true;
}

static void ep_present(struct endpoint *ep)
{
	ep->present = true;
	ep->dropping = false;
	ep_update(ep);
}

/* Probes the pty master: attached again once the slave is open. */
static void pty_probe(struct loop *l, void *ctx)
{
	struct endpoint *ep = ctx;
	ep->timer = 0;
	if (!pty_hung_up(ep->fd)) {
		ep_present(ep);
		return;
	}
	ep->timer = loop_timer_at(l, loop_now(l) + PTY_PROBE_MS, pty_probe, ep);
}

static ssize_t ep_write(struct endpoint *ep, const uint8_t *p, size_t n)
{
	if (ep->kind == EP_PTY)
		return write(ep->fd, p, n);
	return send(ep->fd, p, n, MSG_NOSIGNAL);
}

/* Is anyone attached to receive?  A pty is probed on the spot. */
static bool ep_can_receive(struct endpoint *ep)
{
	if (ep->kind == EP_PTY && !ep->present && !pty_hung_up(ep->fd)) {
		if (ep->timer) {
			loop_timer_cancel(ep->lp, ep->timer);
			ep->timer = 0;
		}
		ep_present(ep);
	}
	return ep->present && ep->fd >= 0;
}

/* Writes or drops everything due; re-arms for the rest. */
static void dir_deliver(struct direction *d)
{
	uint64_t now = loop_now(d->lp);
	bool was_full = d->len == d->cap;
	while (d->len > 0 && d->due[d->head] <= now) {
		size_t run = 0, max = d->cap - d->head;   /* contiguous in the ring */
		bool lost = d->lost[d->head];
		while (run < d->len && run < max && d->due[d->head + run] <= now &&
		       (bool)d->lost[d->head + run] == lost)
			run++;
		if (lost) {
			ring_pop(d, run);
			continue;
		}
		if (!ep_can_receive(d->dst)) {
			if (!d->dst->dropping)   /* once per absence, not per byte */
				fprintf(stderr, "satsim: %c: nobody attached, dropping what arrives\n",
					d->dst->name);
			d->dst->dropping = true;
			d->absent_bytes += run;
			ring_pop(d, run);
			continue;
		}
		ssize_t w = ep_write(d->dst, d->data + d->head, run);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			d->blocked = true;
			ep_update(d->dst);
			break;
		}
		if (w < 0) {   /* EIO, EPIPE, ECONNRESET: the receiver left */
			ep_gone(d->dst);
			return;
		}
		d->bytes_out += (uint64_t)w;
		ring_pop(d, (size_t)w);
		if ((size_t)w < run) {
			d->blocked = true;
			ep_update(d->dst);
			break;
		}
	}
	if (d->len == 0 || d->due[d->head] > now) {
		bool was_blocked = d->blocked;
		d->blocked = false;
		if (was_blocked)
			ep_update(d->dst);
	}
	dir_arm(d);
	if (was_full && d->len < d->cap)
		ep_update(d->src);
}

static void ep_read(struct endpoint *ep)
{
	struct direction *d = ep->rx;
	size_t room = d->cap - d->len;
	if (room == 0) {
		ep_update(ep);
		return;
	}
	uint8_t buf[READ_CHUNK_BYTES];
	size_t want = room < sizeof buf ? room : sizeof buf;
	ssize_t r = read(ep->fd, buf, want);
	if (r > 0) {
		dir_push(d, buf, (size_t)r);
		if (d->len == d->cap)
			ep_update(ep);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	ep_gone(ep);   /* EOF, EIO (pty: nobody attached), reset */
}

static void tcp_connected(struct endpoint *ep)
{
	int err = 0;
	socklen_t len = sizeof err;
	ep_unwatch(ep);
	ep->connecting = false;
	if (getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		close(ep->fd);
		ep->fd = -1;
		tcp_schedule_retry(ep);
		return;
	}
	ep->backoff_ms = CONNECT_BACKOFF_MIN_MS;
	ep->warned = false;
	fprintf(stderr, "satsim: %c: connected to %s:%s\n", ep->name, ep->host, ep->port);
	ep_present(ep);
}

static void ep_fd_event(struct loop *l, int fd, short revents, void *ctx)
{
	struct endpoint *ep = ctx;
	if (ep->connecting) {
		tcp_connected(ep);
		return;
	}
	if (revents & POLLOUT) {
		ep->tx->blocked = false;
		dir_deliver(ep->tx);
		if (!ep->present)
			return;
		ep_update(ep);   /* drop POLLOUT unless blocked again: no spinning */
	}
	if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
		if (revents & POLLIN)
			ep_read(ep);
		else
			ep_gone(ep);
	}
}

static void set_nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void tcp_accept(struct loop *l, int fd, short revents, void *ctx)
{
	struct endpoint *ep = ctx;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;   /* EAGAIN, ECONNABORTED, EMFILE: try on the next event */
	if (ep->fd >= 0) {   /* a new connection replaces the old one */
		fprintf(stderr, "satsim: %c: new peer replaces the old one\n", ep->name);
		ep_unwatch(ep);
		close(ep->fd);
	}
	set_nodelay(c);
	ep->fd = c;
	ep->tx->blocked = false;
	ep_present(ep);
}

static void tcp_connect_start(struct endpoint *ep)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	if (getaddrinfo(ep->host, ep->port, &hints, &res) != 0 || !res) {
		tcp_schedule_retry(ep);
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		tcp_schedule_retry(ep);
		return;
	}
	set_nodelay(fd);
	int rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc != 0 && errno != EINPROGRESS) {
		close(fd);
		tcp_schedule_retry(ep);
		return;
	}
	ep->fd = fd;
	ep->connecting = true;
	ep_update(ep);
}

/* ---- endpoint set-up ----------------------------------------------------- */

/* Splits "[ADDR:]PORT" or "HOST:PORT" ("[v6]:PORT" too). */
static int split_host_port(const char *s, bool host_needed, char *host, char *port)
{
	const char *colon = strrchr(s, ':');
	const char *p = colon ? colon + 1 : s;
	size_t hl = colon ? (size_t)(colon - s) : 0;
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if ((host_needed && hl == 0) || hl >= HOST_BYTES || strlen(p) == 0 ||
	    strlen(p) >= PORT_BYTES || strspn(p, "0123456789") != strlen(p) ||
	    strtoul(p, NULL, 10) > 65535u)
		return ERR_INVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	strcpy(port, p);
	return 0;
}

static int ep_parse(struct endpoint *ep, const char *spec)
{
	if (strncmp(spec, "pty:", 4) == 0) {
		ep->kind = EP_PTY;
		size_t n = strlen(spec + 4);
		if (n == 0 || n >= sizeof ep->path)
			return ERR_INVAL;
		memcpy(ep->path, spec + 4, n + 1);
		return 0;
	}
	if (strncmp(spec, "tcp-listen:", 11) == 0) {
		ep->kind = EP_TCP_LISTEN;
		return split_host_port(spec + 11, false, ep->host, ep->port);
	}
	if (strncmp(spec, "tcp:", 4) == 0) {
		ep->kind = EP_TCP_CONNECT;
		return split_host_port(spec + 4, true, ep->host, ep->port);
	}
	return ERR_INVAL;
}

static int pty_create(struct endpoint *ep)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (m < 0)
		return ERR_IO;
	ep->fd = m;
	const char *name = ptsname(m);
	if (grantpt(m) != 0 || unlockpt(m) != 0 || !name ||
	    strlen(name) >= sizeof ep->slave)
		return ERR_IO;
	strcpy(ep->slave, name);
	struct termios t;
	if (tcgetattr(m, &t) == 0) {
		cfmakeraw(&t);
		(void)tcsetattr(m, TCSANOW, &t);
	}
	/* Raw slave (no echo, no CR/NL mapping), kept by the pty after close.
	 * Closing it leaves the master hung up until someone opens it. */
	int s = open(ep->slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return ERR_IO;
	int rc = tcgetattr(s, &t);
	if (rc == 0) {
		cfmakeraw(&t);
		rc = tcsetattr(s, TCSANOW, &t);
	}
	close(s);
	if (rc != 0)
		return ERR_IO;
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.satsim-%ld", ep->path, (long)getpid());
	(void)unlink(tmp);
	if (symlink(ep->slave, tmp) != 0)
		return ERR_IO;
	if (rename(tmp, ep->path) != 0) {   /* replaces an old link atomically */
		(void)unlink(tmp);
		return ERR_IO;
	}
	ep->symlinked = true;
	ep->timer = loop_timer_at(ep->lp, loop_now(ep->lp) + PTY_PROBE_MS, pty_probe, ep);
	return ep->timer ? 0 : ERR_NOMEM;
}

static int tcp_listen_create(struct endpoint *ep)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
	if (getaddrinfo(ep->host[0] ? ep->host : NULL, ep->port, &hints, &res) != 0 || !res)
		return ERR_INVAL;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	int rc = fd < 0 ? -1 : setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (rc == 0)
		rc = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (rc == 0)
		rc = listen(fd, LISTEN_BACKLOG);
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		return ERR_IO;
	}
	ep->listen_fd = fd;
	return loop_fd_add(ep->lp, fd, POLLIN, tcp_accept, ep);
}

static int ep_open(struct endpoint *ep)
{
	switch (ep->kind) {
	case EP_PTY:
		return pty_create(ep);
	case EP_TCP_LISTEN:
		return tcp_listen_create(ep);
	case EP_TCP_CONNECT:
		ep->backoff_ms = CONNECT_BACKOFF_MIN_MS;
		tcp_connect_start(ep);
		return 0;
	}
	return ERR_INVAL;
}

static void ep_close(struct endpoint *ep)
{
	if (ep->symlinked) {
		char target[PATH_MAX];
		ssize_t n = readlink(ep->path, target, sizeof target - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, ep->slave) == 0)   /* still ours */
				(void)unlink(ep->path);
		}
	}
	if (ep->fd >= 0)
		close(ep->fd);
	if (ep->listen_fd >= 0)
		close(ep->listen_fd);
}

/* ---- options -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: satsim --a ENDPOINT --b ENDPOINT [options]\n"
		"  ENDPOINT       pty:PATH | tcp-listen:[ADDR:]PORT | tcp:HOST:PORT\n"
		"  --rate BPS     bit/s each way (default 2400)\n"
		"  --latency MS   one-way delay (default 750)\n"
		"  --jitter MS    extra random delay per chunk, never reordering (default 0)\n"
		"  --ber P        bit error rate (default 0)\n"
		"  --loss P       fraction of bytes lost (default 0) ...\n"
		"  --burst BYTES  ... in bursts of this many bytes (default 32)\n"
		"  --outage START_S:DURATION_S   scheduled outage, repeatable\n"
		"  --seed N       PRNG seed (default 1)\n"
		"  --queue BYTES  bytes in flight per direction before back-pressure\n"
		"  Prefix an impairment with a- or b- (--a-rate, --b-loss, ...) to set only\n"
		"  the direction leaving that endpoint.\n"
		"  SIGUSR1 toggles an outage; SIGTERM prints totals and exits.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return ERR_INVAL;
	char *e = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno != 0 || *e != '\0' || v > max)
		return ERR_INVAL;
	*out = v;
	return 0;
}

static int parse_prob(const char *s, double *out)
{
	char *e = NULL;
	double v = strtod(s, &e);
	if (e == s || *e != '\0' || !(v >= 0.0 && v <= 1.0))
		return ERR_INVAL;
	*out = v;
	return 0;
}

enum { IMP_RATE, IMP_LATENCY, IMP_JITTER, IMP_BER, IMP_LOSS, IMP_BURST, IMP_OUTAGE, IMP_COUNT };
static const char *const imp_names[IMP_COUNT] = {
	"rate", "latency", "jitter", "ber", "loss", "burst", "outage"
};
#define OPT_IMP_BASE 1000        /* getopt values: base + 3*imp + (0 both, 1 a, 2 b) */
#define OPT_A 'a'
#define OPT_B 'b'
#define OPT_SEED 's'
#define OPT_QUEUE 'q'
#define OPT_HELP 'h'

static int set_impairment(struct impair_config *c, int imp, const char *v)
{
	uint64_t u = 0;
	switch (imp) {
	case IMP_RATE:
		if (parse_u64(v, IMPAIR_RATE_MAX_BPS, &u) != 0 || u < IMPAIR_RATE_MIN_BPS)
			return ERR_INVAL;
		c->rate_bps = (uint32_t)u;
		return 0;
	case IMP_LATENCY:
	case IMP_JITTER:
		if (parse_u64(v, IMPAIR_DELAY_MAX_MS, &u) != 0)
			return ERR_INVAL;
		*(imp == IMP_LATENCY ? &c->latency_ms : &c->jitter_ms) = (uint32_t)u;
		return 0;
	case IMP_BER:
		return parse_prob(v, &c->ber);
	case IMP_LOSS:
		return parse_prob(v, &c->loss);
	case IMP_BURST:
		if (parse_u64(v, IMPAIR_BURST_MAX, &u) != 0 || u < 1)
			return ERR_INVAL;
		c->burst_bytes = (uint32_t)u;
		return 0;
	case IMP_OUTAGE:
		return impair_config_add_outage(c, v);
	}
	return ERR_INVAL;
}

/* Returns 0, or prints why to stderr and returns ERR_INVAL. */
static int options_parse(int argc, char **argv, struct options *o)
{
	static char names[IMP_COUNT * 3][16];
	struct option longopts[IMP_COUNT * 3 + 6];
	size_t k = 0;
	for (int i = 0; i < IMP_COUNT; i++)
		for (int v = 0; v < 3; v++, k++) {
			snprintf(names[k], sizeof names[k], "%s%s", v == 0 ? "" : v == 1 ? "a-" : "b-",
				 imp_names[i]);
			longopts[k] = (struct option){ names[k], required_argument, NULL,
						       OPT_IMP_BASE + 3 * i + v };
		}
	longopts[k++] = (struct option){ "a", required_argument, NULL, OPT_A };
	longopts[k++] = (struct option){ "b", required_argument, NULL, OPT_B };
	longopts[k++] = (struct option){ "seed", required_argument, NULL, OPT_SEED };
	longopts[k++] = (struct option){ "queue", required_argument, NULL, OPT_QUEUE };
	longopts[k++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	longopts[k] = (struct option){ NULL, 0, NULL, 0 };

	memset(o, 0, sizeof *o);
	impair_config_default(&o->cfg[0]);
	impair_config_default(&o->cfg[1]);
	o->seed = 1;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		uint64_t u = 0;
		if (c >= OPT_IMP_BASE) {
			int imp = (c - OPT_IMP_BASE) / 3, which = (c - OPT_IMP_BASE) % 3;
			for (int dir = 0; dir < 2; dir++) {
				if (which != 0 && which != dir + 1)
					continue;
				if (set_impairment(&o->cfg[dir], imp, optarg) != 0) {
					fprintf(stderr, "satsim: bad --%s value '%s'\n",
						names[c - OPT_IMP_BASE], optarg);
					return ERR_INVAL;
				}
			}
			continue;
		}
		switch (c) {
		case OPT_A:
		case OPT_B:
			o->spec[c == OPT_B] = optarg;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, UINT64_MAX, &o->seed) != 0) {
				fprintf(stderr, "satsim: bad --seed '%s'\n", optarg);
				return ERR_INVAL;
			}
			break;
		case OPT_QUEUE:
			if (parse_u64(optarg, QUEUE_MAX_BYTES, &u) != 0 || u == 0) {
				fprintf(stderr, "satsim: --queue must be 1..%u bytes\n", QUEUE_MAX_BYTES);
				return ERR_INVAL;
			}
			o->queue_bytes = (size_t)u;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "satsim: unknown option or missing value: %s\n",
				argv[optind - 1]);
			return ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "satsim: unexpected argument '%s'\n", argv[optind]);
		return ERR_INVAL;
	}
	for (int i = 0; i < 2; i++) {
		char why[IMPAIR_WHY_BYTES];
		if (!o->spec[i]) {
			fprintf(stderr, "satsim: --%c ENDPOINT is required\n", 'a' + i);
			return ERR_INVAL;
		}
		if (impair_config_check(&o->cfg[i], why, sizeof why) != 0) {
			fprintf(stderr, "satsim: %s\n", why);
			return ERR_INVAL;
		}
	}
	return 0;
}

/* ---- main ----------------------------------------------------------------- */

static void on_stop(struct loop *l, int signo, void *ctx)
{
	loop_stop(l);
}

static void on_usr1(struct loop *l, int signo, void *ctx)
{
	struct direction *d = ctx;
	bool on = !d[0].im.manual_outage;
	impair_set_manual_outage(&d[0].im, on);
	impair_set_manual_outage(&d[1].im, on);
	fprintf(stderr, "satsim: manual outage %s\n", on ? "on" : "off");
}

static void print_totals(const struct direction *d)
{
	const struct impair_stats *s = &d->im.stats;
	printf("%s bytes_in=%" PRIu64 " bytes_out=%" PRIu64 " flipped_bits=%" PRIu64
	       " dropped_bytes=%" PRIu64 " outage_bytes=%" PRIu64 " absent_bytes=%" PRIu64
	       " queued_bytes=%zu\n",
	       d->label, s->bytes_in, d->bytes_out, s->flipped_bits, s->dropped_bytes,
	       s->outage_bytes, d->absent_bytes, d->len);
}

int main(int argc, char **argv)
{
	struct options o;
	if (options_parse(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	static struct endpoint ep[2];
	static struct direction dir[2];
	int status = 1;
	struct loop *lp = loop_new(NULL, NULL);
	if (!lp) {
		fprintf(stderr, "satsim: out of memory\n");
		return 1;
	}
	uint64_t now = loop_now(lp);
	for (int i = 0; i < 2; i++) {
		ep[i] = (struct endpoint){ .name = (char)('a' + i), .fd = -1, .listen_fd = -1,
					   .lp = lp, .rx = &dir[i], .tx = &dir[1 - i] };
		dir[i].label = i == 0 ? "a->b" : "b->a";
		dir[i].lp = lp;
		dir[i].src = &ep[i];
		dir[i].dst = &ep[1 - i];
		uint64_t seed = i == 0 ? o.seed : o.seed ^ SEED_B_XOR;
		size_t cap = o.queue_bytes ? o.queue_bytes : ring_default(&o.cfg[i]);
		if (impair_init(&dir[i].im, &o.cfg[i], seed, now) != 0 || dir_alloc(&dir[i], cap) != 0) {
			fprintf(stderr, "satsim: out of memory\n");
			goto out;
		}
		if (ep_parse(&ep[i], o.spec[i]) != 0) {
			fprintf(stderr, "satsim: bad endpoint '%s' (pty:PATH, tcp-listen:[ADDR:]PORT, tcp:HOST:PORT)\n",
				o.spec[i]);
			usage(stderr);
			status = 2;
			goto out;
		}
	}
	if (ep[0].kind == EP_PTY && ep[1].kind == EP_PTY && strcmp(ep[0].path, ep[1].path) == 0) {
		fprintf(stderr, "satsim: --a and --b name the same pty path\n");
		usage(stderr);
		status = 2;
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		if (ep_open(&ep[i]) != 0) {
			fprintf(stderr, "satsim: cannot create endpoint %c '%s': %s\n", 'a' + i,
				o.spec[i], strerror(errno));
			goto out;
		}
	}
	if (loop_signal(lp, SIGTERM, on_stop, NULL) != 0 || loop_signal(lp, SIGINT, on_stop, NULL) != 0 ||
	    loop_signal(lp, SIGUSR1, on_usr1, dir) != 0) {
		fprintf(stderr, "satsim: cannot install signal handlers\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("satsim: ready\n");
	fflush(stdout);
	int rc = loop_run(lp);
	if (rc < 0) {
		fprintf(stderr, "satsim: event loop failed: %s\n", strerror(errno));
		goto out;
	}
	print_totals(&dir[0]);
	print_totals(&dir[1]);
	fflush(stdout);
	status = 0;
out:
	for (int i = 0; i < 2; i++) {
		ep_close(&ep[i]);
		free(dir[i].data);
		free(dir[i].due);
		free(dir[i].lost);
	}
	loop_free(lp);
	return status;
}
