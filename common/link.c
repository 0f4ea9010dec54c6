/*
 * link.c — the link core: spec strings, the life cycle every kind shares
 * (open attempts, up/down, reopen with backoff, callbacks, freeing), and
 * the stream helper that frames units over a byte pipe (serial, TCP).
 * Drivers live in link_serial.c and link_tcp.c behind struct link_ops.
 *
 * Invariants:
 *  - a link is either up (fd open and watched, units flow) or down (no fd
 *    for reopening kinds, a retry timer pending unless it is an accepted
 *    child); on_state is called only on a change;
 *  - the fd is watched for POLLOUT only while encoded bytes wait, so an
 *    idle link costs no wake-ups; a hang-up always closes the fd, so
 *    POLLHUP can never make the loop spin;
 *  - a unit is queued whole or not at all (ERR_AGAIN); the first frame
 *    after (re)open or after LINK_IDLE_LEAD_MS of transmit silence carries
 *    a leading delimiter, so line noise cannot merge with it;
 *  - a callback may call anything on the link, link_close() included: the
 *    core brackets every callback (link_hold/link_release), tears down at
 *    once and frees only when the outermost bracket ends.
 *
 * Failure behaviour: open failures and losses are logged (a repeated
 * identical open failure only at debug level) and retried with backoff
 * from backoff_min to backoff_max, doubling; a successful open resets it.
 * Bad frames are counted in stats.bad_units and logged once per burst.
 * Nothing here exits or aborts on bad input.
 */
#include "common/link_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEME_SERIAL "serial:"
#define SCHEME_TCP "tcp:"
#define SCHEME_TCP_LISTEN "tcp-listen:"
#define LINK_DEFAULT_BAUD 19200u
#define PORT_DIGITS_MAX 5u
#define PORT_MAX 65535u
#define WHY_BYTES 256u
#define DECIMAL_BASE 10u

/* Rates every Linux serial driver and libserialport know by name. */
static const uint32_t std_bauds[] = {
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600
};

void link_why(char *why, size_t cap, const char *fmt, ...)
{
	if (!why || cap == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* ---- spec strings -------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A decimal port 1..65535 spanning exactly [p, p + n). */
static int parse_port(const char *p, size_t n, uint16_t *out, char *why, size_t cap)
{
	if (n == 0) {
		link_why(why, cap, "missing port number");
		return ERR_INVAL;
	}
	if (n > PORT_DIGITS_MAX) {
		link_why(why, cap, "port number too long (1..65535)");
		return ERR_INVAL;
	}
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			link_why(why, cap, "port must be a decimal number 1..65535");
			return ERR_INVAL;
		}
		v = v * DECIMAL_BASE + (uint32_t)(p[i] - '0');
	}
	if (v == 0 || v > PORT_MAX) {
		link_why(why, cap, "port %u out of range 1..65535", (unsigned)v);
		return ERR_INVAL;
	}
	*out = (uint16_t)v;
	return 0;
}

static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

/*
 * HOST:PORT with HOST a name, an IPv4 address or [IPv6].  With
 * port_only_ok, a bare PORT is accepted and host is left empty.
 */
static int parse_hostport(const char *s, bool port_only_ok, struct link_spec *out,
			  char *why, size_t cap)
{
	out->host[0] = '\0';
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end) {
			link_why(why, cap, "missing ']' after IPv6 address");
			return ERR_INVAL;
		}
		size_t hn = (size_t)(end - s - 1);
		if (hn == 0 || hn >= LINK_HOST_MAX) {
			link_why(why, cap, "bad IPv6 address length");
			return ERR_INVAL;
		}
		memcpy(out->host, s + 1, hn);
		out->host[hn] = '\0';
		unsigned char a6[sizeof(struct in6_addr)];
		if (inet_pton(AF_INET6, out->host, a6) != 1) {
			link_why(why, cap, "'%s' is not an IPv6 address", out->host);
			return ERR_INVAL;
		}
		if (end[1] != ':') {
			link_why(why, cap, "expected ':PORT' after ']'");
			return ERR_INVAL;
		}
		return parse_port(end + 2, strlen(end + 2), &out->port, why, cap);
	}
	const char *colon = strrchr(s, ':');
	if (!colon) {
		if (port_only_ok)
			return parse_port(s, strlen(s), &out->port, why, cap);
		link_why(why, cap, "expected HOST:PORT");
		return ERR_INVAL;
	}
	size_t hn = (size_t)(colon - s);
	if (memchr(s, ':', hn)) {
		link_why(why, cap, "an IPv6 address goes in brackets: [ADDR]:PORT");
		return ERR_INVAL;
	}
	if (hn == 0) {
		link_why(why, cap, "empty host before ':'");
		return ERR_INVAL;
	}
	if (hn >= LINK_HOST_MAX) {
		link_why(why, cap, "host name longer than %u bytes", LINK_HOST_MAX - 1u);
		return ERR_INVAL;
	}
	for (size_t i = 0; i < hn; i++) {
		if (!host_char_ok(s[i])) {
			link_why(why, cap, "bad character in host name (letters, digits, '-', '.')");
			return ERR_INVAL;
		}
	}
	memcpy(out->host, s, hn);
	out->host[hn] = '\0';
	return parse_port(colon + 1, strlen(colon + 1), &out->port, why, cap);
}

static int parse_serial_option(const char *opt, size_t n, struct link_spec *out,
			       unsigned *seen, char *why, size_t cap)
{
	enum { SEEN_BAUD = 1u, SEEN_FLOW = 2u, SEEN_DRIVER = 4u };
	const char *eq = memchr(opt, '=', n);
	if (n == 0) {
		link_why(why, cap, "empty option");
		return ERR_INVAL;
	}
	if (!eq || eq == opt || eq == opt + n - 1) {
		link_why(why, cap, "option '%.*s' is not KEY=VALUE", (int)n, opt);
		return ERR_INVAL;
	}
	size_t kn = (size_t)(eq - opt);
	const char *v = eq + 1;
	size_t vn = n - kn - 1;
	unsigned bit;
	if (kn == strlen("baud") && strncmp(opt, "baud", kn) == 0) {
		bit = SEEN_BAUD;
		uint32_t b = 0;
		bool digits = vn <= 7;
		for (size_t i = 0; digits && i < vn; i++) {
			if (v[i] < '0' || v[i] > '9')
				digits = false;
			else
				b = b * DECIMAL_BASE + (uint32_t)(v[i] - '0');
		}
		bool ok = false;
		for (size_t i = 0; digits && i < sizeof std_bauds / sizeof std_bauds[0]; i++)
			ok = ok || std_bauds[i] == b;
		if (!ok) {
			link_why(why, cap, "baud '%.*s' is not a standard rate (300..921600, e.g. 19200)",
				 (int)vn, v);
			return ERR_INVAL;
		}
		out->baud = b;
	} else if (kn == strlen("flow") && strncmp(opt, "flow", kn) == 0) {
		bit = SEEN_FLOW;
		if (vn == strlen("none") && strncmp(v, "none", vn) == 0) {
			out->rtscts = false;
		} else if (vn == strlen("rtscts") && strncmp(v, "rtscts", vn) == 0) {
			out->rtscts = true;
		} else {
			link_why(why, cap, "flow '%.*s' is neither none nor rtscts", (int)vn, v);
			return ERR_INVAL;
		}
	} else if (kn == strlen("driver") && strncmp(opt, "driver", kn) == 0) {
		bit = SEEN_DRIVER;
		if (vn == strlen("auto") && strncmp(v, "auto", vn) == 0) {
			out->driver = LINK_SERIAL_AUTO;
		} else if (vn == strlen("termios") && strncmp(v, "termios", vn) == 0) {
			out->driver = LINK_SERIAL_TERMIOS;
		} else if (vn == strlen("libserialport") && strncmp(v, "libserialport", vn) == 0) {
			out->driver = LINK_SERIAL_LIBSERIALPORT;
		} else {
			link_why(why, cap, "driver '%.*s' is not auto, termios or libserialport", (int)vn, v);
			return ERR_INVAL;
		}
	} else {
		link_why(why, cap, "unknown serial option '%.*s' (baud, flow, driver)", (int)kn, opt);
		return ERR_INVAL;
	}
	if (*seen & bit) {
		link_why(why, cap, "option '%.*s' given twice", (int)kn, opt);
		return ERR_INVAL;
	}
	*seen |= bit;
	return 0;
}

static int parse_serial(const char *s, struct link_spec *out, char *why, size_t cap)
{
	const char *q = strchr(s, '?');
	size_t pn = q ? (size_t)(q - s) : strlen(s);
	if (pn < 2 || s[0] != '/') {
		link_why(why, cap, "serial device must be an absolute path (serial:/dev/ttyUSB0)");
		return ERR_INVAL;
	}
	memcpy(out->path, s, pn);
	out->path[pn] = '\0';
	out->baud = LINK_DEFAULT_BAUD;
	out->rtscts = false;
	out->driver = LINK_SERIAL_AUTO;
	if (!q)
		return 0;
	unsigned seen = 0;
	const char *opt = q + 1;
	for (;;) {
		const char *amp = strchr(opt, '&');
		size_t n = amp ? (size_t)(amp - opt) : strlen(opt);
		int rc = parse_serial_option(opt, n, out, &seen, why, cap);
		if (rc < 0)
			return rc;
		if (!amp)
			return 0;
		opt = amp + 1;
	}
}

int link_spec_parse(const char *spec, struct link_spec *out, char *why, size_t why_cap)
{
	if (why && why_cap > 0)
		why[0] = '\0';
	if (!spec || !out) {
		link_why(why, why_cap, "no spec");
		return ERR_INVAL;
	}
	memset(out, 0, sizeof *out);
	size_t n = strnlen(spec, LINK_SPEC_MAX);
	if (n >= LINK_SPEC_MAX) {
		link_why(why, why_cap, "spec longer than %u bytes", LINK_SPEC_MAX - 1u);
		return ERR_TOOBIG;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)spec[i];
		if (c <= ' ' || c >= 0x7f) {
			link_why(why, why_cap, "spec has a space, control or non-ASCII byte at offset %zu", i);
			return ERR_INVAL;
		}
	}
	if (starts_with(spec, SCHEME_SERIAL)) {
		out->kind = LINK_KIND_SERIAL;
		return parse_serial(spec + strlen(SCHEME_SERIAL), out, why, why_cap);
	}
	if (starts_with(spec, SCHEME_TCP_LISTEN)) {
		out->kind = LINK_KIND_TCP_LISTEN;
		return parse_hostport(spec + strlen(SCHEME_TCP_LISTEN), true, out, why, why_cap);
	}
	if (starts_with(spec, SCHEME_TCP)) {
		out->kind = LINK_KIND_TCP;
		return parse_hostport(spec + strlen(SCHEME_TCP), false, out, why, why_cap);
	}
	const char *colon = strchr(spec, ':');
	int kn = colon ? (int)(colon - spec) : (int)n;
	link_why(why, why_cap, "unknown link kind '%.*s' (serial:, tcp:, tcp-listen:)", kn, spec);
	return ERR_INVAL;
}

int link_spec_check(const char *spec, char *why, size_t why_cap)
{
	struct link_spec sp;
	return link_spec_parse(spec, &sp, why, why_cap);
}

/* ---- core ------------------------------------------------------------------ */

static const struct link_ops *ops_for_kind(enum link_kind k)
{
	switch (k) {
	case LINK_KIND_SERIAL: return &link_serial_ops;
	case LINK_KIND_TCP: return &link_tcp_ops;
	case LINK_KIND_TCP_LISTEN: return &link_tcp_listen_ops;
	}
	return NULL;
}

struct link *link_alloc(struct loop *lp, const struct link_ops *ops)
{
	struct link *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->ops = ops;
	l->lp = lp;
	l->fd = -1;
	l->backoff_min_ms = LINK_BACKOFF_MIN_MS;
	l->backoff_max_ms = LINK_BACKOFF_MAX_MS;
	l->backoff_ms = LINK_BACKOFF_MIN_MS;
	link_stream_reset(l);
	return l;
}

void link_set_name(struct link *l, const char *name)
{
	snprintf(l->name, sizeof l->name, "%s", name);
}

void link_hold(struct link *l)
{
	l->depth++;
}

static void destroy(struct link *l)
{
	free(l);
}

bool link_release(struct link *l)
{
	l->depth--;
	if (l->depth == 0 && l->doomed) {
		destroy(l);
		return false;
	}
	return !l->doomed;
}

static void fd_fire(struct loop *lp, int fd, short revents, void *ctx)
{
	(void)lp;
	struct link *l = ctx;
	link_hold(l);
	if (!l->doomed && fd == l->fd)
		l->ops->on_events(l, revents);
	link_release(l);
}

int link_watch(struct link *l, short events)
{
	if (l->fd < 0)
		return ERR_STATE;
	if (!l->watched) {
		int rc = loop_fd_add(l->lp, l->fd, events, fd_fire, l);
		if (rc < 0)
			return rc;
		l->watched = true;
		l->events = events;
		return 0;
	}
	if (events == l->events)
		return 0;
	int rc = loop_fd_events(l->lp, l->fd, events);
	if (rc == 0)
		l->events = events;
	return rc;
}

void link_unwatch(struct link *l)
{
	if (l->watched && l->fd >= 0)
		loop_fd_del(l->lp, l->fd);
	l->watched = false;
	l->events = 0;
}

static void attempt_open(struct loop *lp, void *ctx);

static void schedule_retry(struct link *l)
{
	if (!l->reopen || l->doomed || l->retry_timer)
		return;
	uint64_t delay = l->backoff_ms;
	l->retry_timer = loop_timer_at(l->lp, loop_now(l->lp) + delay, attempt_open, l);
	if (!l->retry_timer)
		log_error("%s: cannot schedule a reopen (out of memory)", l->name);
	else
		log_debug("%s: retry in %llu ms", l->name, (unsigned long long)delay);
	uint64_t next = l->backoff_ms * 2u;
	l->backoff_ms = next > l->backoff_max_ms ? l->backoff_max_ms : next;
}

static void open_failed(struct link *l, const char *why)
{
	l->st.errors++;
	if (strcmp(why, l->last_why) != 0) {
		log_warn("%s: cannot open: %s (retrying every %llu..%llu ms)", l->name, why,
			 (unsigned long long)l->backoff_min_ms, (unsigned long long)l->backoff_max_ms);
		snprintf(l->last_why, sizeof l->last_why, "%s", why);
	} else {
		log_debug("%s: cannot open: %s", l->name, why);
	}
	schedule_retry(l);
}

static void attempt_open(struct loop *lp, void *ctx)
{
	(void)lp;
	struct link *l = ctx;
	l->retry_timer = 0;
	if (l->doomed || l->up)
		return;
	char why[WHY_BYTES] = "";
	link_hold(l);
	link_stream_reset(l);
	int rc = l->ops->open(l, why, sizeof why);
	if (rc == 0) {
		link_up_now(l);
	} else if (rc != ERR_AGAIN) {
		if (!why[0])
			link_why(why, sizeof why, "%s", err_str(rc));
		open_failed(l, why);
	}
	link_release(l);
}

void link_up_now(struct link *l)
{
	if (l->up || l->doomed)
		return;
	l->up = true;
	if (l->ever_up)
		l->st.reopens++;
	l->ever_up = true;
	l->backoff_ms = l->backoff_min_ms;
	l->last_why[0] = '\0';
	log_info("%s: up", l->name);
	if (l->cb.on_state) {
		link_hold(l);
		l->cb.on_state(l->ctx, l, LINK_UP);
		link_release(l);
	}
}

void link_lost(struct link *l, const char *why)
{
	if (l->doomed)
		return;
	l->ops->close(l);
	link_stream_reset(l);
	if (!l->up) {
		/* An attempt in progress (a TCP connect) failed. */
		open_failed(l, why);
		return;
	}
	l->up = false;
	l->st.errors++;
	l->last_why[0] = '\0';
	if (l->reopen)
		log_warn("%s: down: %s", l->name, why);
	else    /* an accepted connection ending is the peer's business */
		log_info("%s: down: %s", l->name, why);
	schedule_retry(l);
	if (l->cb.on_state) {
		link_hold(l);
		l->cb.on_state(l->ctx, l, LINK_DOWN);
		link_release(l);
	}
}

void link_deliver_unit(struct link *l, const uint8_t *unit, size_t len)
{
	l->st.units_in++;
	if (l->cb.on_unit) {
		link_hold(l);
		l->cb.on_unit(l->ctx, l, unit, len);
		link_release(l);
	}
}

/* ---- public API ------------------------------------------------------------ */

int link_open(struct link **out, const char *spec, struct loop *lp,
	      const struct link_callbacks *cb, void *ctx)
{
	if (!out)
		return ERR_INVAL;
	*out = NULL;
	if (!spec || !lp)
		return ERR_INVAL;
	struct link_spec sp;
	char why[WHY_BYTES];
	int rc = link_spec_parse(spec, &sp, why, sizeof why);
	if (rc < 0) {
		log_error("link '%.64s': %s", spec, why);
		return ERR_INVAL;
	}
	struct link *l = link_alloc(lp, ops_for_kind(sp.kind));
	if (!l)
		return ERR_NOMEM;
	l->spec = sp;
	l->reopen = true;
	link_set_name(l, spec);
	link_set_callbacks(l, cb, ctx);
	l->retry_timer = loop_timer_at(lp, loop_now(lp), attempt_open, l);
	if (!l->retry_timer) {
		destroy(l);
		return ERR_NOMEM;
	}
	*out = l;
	return 0;
}

void link_close(struct link *l)
{
	if (!l || l->doomed)
		return;
	loop_timer_cancel(l->lp, l->retry_timer);
	l->retry_timer = 0;
	loop_timer_cancel(l->lp, l->drv_timer);
	l->drv_timer = 0;
	l->ops->close(l);
	l->up = false;
	memset(&l->cb, 0, sizeof l->cb);
	if (l->depth > 0) {
		l->doomed = true;   /* freed when the outermost callback returns */
		return;
	}
	destroy(l);
}

void link_set_callbacks(struct link *l, const struct link_callbacks *cb, void *ctx)
{
	if (!l)
		return;
	if (cb)
		l->cb = *cb;
	else
		memset(&l->cb, 0, sizeof l->cb);
	l->ctx = ctx;
}

void link_set_backoff(struct link *l, uint64_t min_ms, uint64_t max_ms)
{
	if (!l)
		return;
	if (min_ms == 0)
		min_ms = 1;
	if (max_ms < min_ms)
		max_ms = min_ms;
	l->backoff_min_ms = min_ms;
	l->backoff_max_ms = max_ms;
	l->backoff_ms = min_ms;
}

int link_send(struct link *l, const uint8_t *unit, size_t len)
{
	if (!l || l->doomed || (!unit && len > 0))
		return ERR_INVAL;
	if (l->spec.kind == LINK_KIND_TCP_LISTEN)
		return ERR_STATE;
	if (len == 0)
		return ERR_INVAL;
	if (len > l->ops->mtu(l))
		return ERR_TOOBIG;
	if (!l->up)
		return ERR_CLOSED;
	return l->ops->send_unit(l, unit, len);
}

bool link_is_up(const struct link *l)
{
	return l && l->up && !l->doomed;
}

size_t link_mtu(const struct link *l)
{
	return l ? l->ops->mtu(l) : 0;
}

size_t link_tx_pending(const struct link *l)
{
	return l ? l->s.tx_len : 0;
}

const char *link_name(const struct link *l)
{
	return l ? l->name : "(none)";
}

const struct link_stats *link_get_stats(const struct link *l)
{
	return l ? &l->st : NULL;
}

/* ---- stream helper ----------------------------------------------------------- */

void link_stream_reset(struct link *l)
{
	struct link_stream *s = &l->s;
	s->tx_off = 0;
	s->tx_len = 0;
	s->tx_wanted = 0;
	s->lead_next = true;
	frame_lexer_init(&s->lx);
}

size_t link_stream_mtu(const struct link *l)
{
	(void)l;
	return FRAME_CONTENT_MAX;
}

short link_stream_events(const struct link *l)
{
	return (short)(POLLIN | (l->s.tx_len > 0 ? POLLOUT : 0));
}

int link_stream_send_unit(struct link *l, const uint8_t *unit, size_t len)
{
	struct link_stream *s = &l->s;
	uint64_t now = loop_now(l->lp);
	/* Worst-case encoded size: COBS of content + CRC, two delimiters. */
	size_t need = FRAME_COBS_MAX(len + FRAME_CRC_BYTES) + 2u;
	bool idle = s->tx_len == 0 && now >= s->last_tx_ms && now - s->last_tx_ms >= LINK_IDLE_LEAD_MS;
	unsigned flags = (s->lead_next || idle) ? FRAME_LEAD : 0u;
	if (s->tx_off > 0 && LINK_TXBUF_BYTES - s->tx_off - s->tx_len < need) {
		memmove(s->tx, s->tx + s->tx_off, s->tx_len);
		s->tx_off = 0;
	}
	size_t end = s->tx_off + s->tx_len;
	ssize_t n = frame_encode(unit, len, flags, s->tx + end, LINK_TXBUF_BYTES - end);
	if (n == ERR_FULL) {
		s->tx_wanted = need;
		return ERR_AGAIN;
	}
	if (n < 0)
		return (int)n;
	s->tx_len += (size_t)n;
	s->lead_next = false;
	l->st.units_out++;
	int rc = link_watch(l, link_stream_events(l));
	if (rc < 0)
		log_error("%s: cannot watch for writability: %s", l->name, err_str(rc));
	return 0;
}

static void bad_frame(struct link *l, int rc)
{
	l->st.bad_units++;
	uint64_t suppressed = 0;
	if (log_burst_check(&l->bad_burst, loop_now(l->lp), LINK_BAD_QUIET_MS, &suppressed))
		log_warn("%s: bad frame dropped (%s); %llu more since the last report, %llu in all",
			 l->name, err_str(rc), (unsigned long long)suppressed,
			 (unsigned long long)l->st.bad_units);
}

static void lost_errno(struct link *l, const char *what, ssize_t rc, int e)
{
	char why[WHY_BYTES];
	if (rc == ERR_IO || rc == ERR_CLOSED)
		link_why(why, sizeof why, "%s: %s", what, e ? strerror(e) : err_str((int)rc));
	else
		link_why(why, sizeof why, "%s: %s", what, err_str((int)rc));
	link_lost(l, why);
}

/* Returns false when the link went down or was closed. */
static bool stream_read(struct link *l, short revents)
{
	uint8_t buf[LINK_READ_BYTES];
	for (unsigned i = 0; i < LINK_READS_PER_EVENT; i++) {
		errno = 0;
		ssize_t n = l->ops->read_bytes(l, buf, sizeof buf);
		int e = errno;
		if (n == ERR_AGAIN) {
			if (i == 0 && (revents & (POLLHUP | POLLERR))) {
				link_lost(l, "hang-up");
				return false;
			}
			return true;
		}
		if (n == 0) {
			if (i > 0)
				return true;   /* drained (VMIN=0 ports read 0 when empty) */
			link_lost(l, "end of stream: the other end closed");
			return false;
		}
		if (n < 0) {
			lost_errno(l, "read", n, e);
			return false;
		}
		l->st.bytes_in += (uint64_t)n;
		const uint8_t *in = buf;
		size_t len = (size_t)n;
		while (len > 0) {
			const uint8_t *c = NULL;
			size_t clen = 0;
			int rc = frame_lexer_next(&l->s.lx, &in, &len, &c, &clen);
			if (rc == 1) {
				link_deliver_unit(l, c, clen);
				if (l->doomed || !l->up)
					return false;
			} else if (rc < 0) {
				bad_frame(l, rc);
			}
		}
	}
	return true;
}

/* Returns false when the link went down or was closed. */
static bool stream_write(struct link *l)
{
	struct link_stream *s = &l->s;
	while (s->tx_len > 0) {
		errno = 0;
		ssize_t n = l->ops->write_bytes(l, s->tx + s->tx_off, s->tx_len);
		int e = errno;
		if (n == ERR_AGAIN || n == 0)
			break;
		if (n < 0) {
			lost_errno(l, "write", n, e);
			return false;
		}
		size_t w = (size_t)n > s->tx_len ? s->tx_len : (size_t)n;
		s->tx_off += w;
		s->tx_len -= w;
		l->st.bytes_out += w;
		s->last_tx_ms = loop_now(l->lp);
	}
	if (s->tx_len == 0)
		s->tx_off = 0;
	if (s->tx_wanted > 0 && LINK_TXBUF_BYTES - s->tx_len >= s->tx_wanted) {
		s->tx_wanted = 0;
		if (l->cb.on_writable) {
			link_hold(l);
			l->cb.on_writable(l->ctx, l);
			if (!link_release(l) || !l->up)
				return false;
		}
	}
	return true;
}

void link_stream_on_events(struct link *l, short revents)
{
	if (revents & POLLNVAL) {
		link_lost(l, "descriptor closed under the link");
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (!stream_read(l, revents))
			return;
	}
	if (l->s.tx_len > 0 && (revents & POLLOUT)) {
		if (!stream_write(l))
			return;
	}
	int rc = link_watch(l, link_stream_events(l));
	if (rc < 0)
		log_error("%s: cannot update the fd watch: %s", l->name, err_str(rc));
}
