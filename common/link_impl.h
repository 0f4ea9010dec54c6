/*
 * link_impl.h — inside the link layer: the driver vtable, the shared link
 * state, and the stream helper that byte-pipe drivers share.  Only
 * common/link*.c include this; everyone else sees the opaque struct link
 * of common/link.h.
 *
 * Writing a new driver (e.g. Iridium SBD over AT commands) touches:
 *   1. a new common/link_<kind>.c defining `const struct link_ops
 *      link_<kind>_ops` (open/close/send_unit/mtu/on_events; read_bytes and
 *      write_bytes only if it is a byte pipe that uses the stream helper);
 *   2. enum link_kind and struct link_spec below (its kind and options),
 *      link_spec_parse() in common/link.c (its scheme) and the kind-to-ops
 *      table there (ops_for_kind());
 *   3. the spec table in tests/unit/test_link.c and a driver test;
 *   4. the spec strings section of the link protocol notes.
 * A message modem does not use the stream helper: its send_unit queues one
 * modem message (at most its mtu, e.g. 340 bytes MO for SBD), its
 * on_events runs the AT dialogue, and each received message goes to
 * link_deliver_unit().  The core handles state, backoff, callbacks and
 * freeing for every driver.
 */
#ifndef LIFELINE_COMMON_LINK_IMPL_H
#define LIFELINE_COMMON_LINK_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/link.h"
#include "common/log.h"
#include "common/loop.h"
#include "proto/frame.h"

#define LINK_HOST_MAX 256u           /* host name or address, NUL included */
#define LINK_NAME_MAX (LINK_SPEC_MAX + 64u)
#define LINK_BAD_QUIET_MS 5000u      /* a burst of bad frames ends after this much quiet */
#define LINK_READ_BYTES 4096u        /* bytes read per read() */
#define LINK_READS_PER_EVENT 16u     /* reads per readable event, for fairness */

enum link_kind { LINK_KIND_SERIAL = 0, LINK_KIND_TCP, LINK_KIND_TCP_LISTEN };

/* Which code opens a serial device. */
enum link_serial_driver {
	LINK_SERIAL_AUTO = 0,        /* ptys with termios, other devices with libserialport */
	LINK_SERIAL_TERMIOS,         /* plain open() + termios, any tty */
	LINK_SERIAL_LIBSERIALPORT    /* libserialport even on a pty (tests, diagnosis) */
};

/* A parsed spec string (see link.h for the grammar). */
struct link_spec {
	enum link_kind kind;
	char path[LINK_SPEC_MAX];    /* serial: device path */
	char host[LINK_HOST_MAX];    /* tcp: host; tcp-listen: address or "" for any */
	uint16_t port;               /* tcp, tcp-listen */
	uint32_t baud;               /* serial */
	bool rtscts;                 /* serial: hardware flow control */
	enum link_serial_driver driver;
};

/*
 * Parses spec into *out.  Returns 0, or ERR_INVAL / ERR_TOOBIG with a
 * one-line English reason in why (NUL-terminated, truncated to why_cap;
 * why may be NULL when why_cap is 0).
 */
int link_spec_parse(const char *spec, struct link_spec *out, char *why, size_t why_cap) LL_MUST_CHECK;

/*
 * One kind of link.  Every function gets the link; the driver keeps its
 * private state in l->drv (allocated in open, released in close).
 */
struct link_ops {
	const char *kind;
	/*
	 * Starts one open attempt.  Returns 0 when the link is up at once
	 * (the core then calls link_up_now()), ERR_AGAIN when the driver will
	 * finish later itself (link_up_now() or link_lost()), or another
	 * negative code with a reason written to why (the core retries with
	 * backoff).  On failure the driver has released everything.
	 */
	int (*open)(struct link *l, char *why, size_t why_cap);
	/* Releases the device (fd watch, fd, driver state); idempotent. */
	void (*close)(struct link *l);
	/* Queues one unit (1..mtu bytes, link up): 0, ERR_AGAIN, or an error. */
	int (*send_unit)(struct link *l, const uint8_t *unit, size_t len);
	size_t (*mtu)(const struct link *l);
	/* The fd watch fired. */
	void (*on_events)(struct link *l, short revents);
	/* Byte pipes only (used by the stream helper): a count > 0, 0 at end
	 * of stream, ERR_AGAIN when nothing is ready, ERR_CLOSED when the
	 * device or peer went away, ERR_IO for other errors (errno kept). */
	ssize_t (*read_bytes)(struct link *l, uint8_t *buf, size_t cap);
	ssize_t (*write_bytes)(struct link *l, const uint8_t *buf, size_t len);
};

extern const struct link_ops link_serial_ops;
extern const struct link_ops link_tcp_ops;
extern const struct link_ops link_tcp_listen_ops;

/* Stream state shared by serial and tcp (frames over a byte pipe). */
struct link_stream {
	uint8_t tx[LINK_TXBUF_BYTES];
	size_t tx_off, tx_len;       /* pending bytes are tx[tx_off .. tx_off + tx_len) */
	size_t tx_wanted;            /* room a refused send needs; 0: nobody waits */
	uint64_t last_tx_ms;         /* when the last byte left */
	bool lead_next;              /* the next frame gets a leading delimiter */
	struct frame_lexer lx;
};

struct link {
	const struct link_ops *ops;
	struct loop *lp;
	struct link_callbacks cb;
	void *ctx;
	struct link_spec spec;
	char name[LINK_NAME_MAX];

	int fd;                      /* -1 when closed */
	short events;                /* the mask last given to the loop */
	bool watched;                /* fd is in the loop */
	bool up;
	bool reopen;                 /* false for accepted children */
	bool ever_up;
	int depth;                   /* > 0 while a callback may be running */
	bool doomed;                 /* link_close() called during a callback */

	uint64_t backoff_min_ms, backoff_max_ms, backoff_ms;
	uint64_t retry_timer;        /* loop timer id, 0 for none */
	uint64_t drv_timer;          /* driver's timer (connect timeout, pause) */
	char last_why[128];          /* previous open failure, to log changes only */

	struct link_stats st;
	struct log_burst bad_burst;
	struct link_stream s;
	void *drv;                   /* driver-private */
};

/* ---- core services for drivers (common/link.c) ---- */

/* Watches l->fd with events (POLLIN/POLLOUT); adds or changes the watch. */
int link_watch(struct link *l, short events) LL_MUST_CHECK;
/* Removes the watch (if any); does not close the fd. */
void link_unwatch(struct link *l);
/* The driver finished opening: state up, on_state(UP). */
void link_up_now(struct link *l);
/* The device or peer went away or failed: logs why, closes through
 * ops->close, reports down and (unless a child) schedules a reopen. */
void link_lost(struct link *l, const char *why);
/* Hands one received unit to on_unit (counts it). */
void link_deliver_unit(struct link *l, const uint8_t *unit, size_t len);
/* Callback bracket: returns false when the link was closed inside. */
void link_hold(struct link *l);
bool link_release(struct link *l);
/* Allocates a link for a driver (accepted children); NULL on failure. */
struct link *link_alloc(struct loop *lp, const struct link_ops *ops);
void link_set_name(struct link *l, const char *name);

/* ---- the stream helper (common/link.c) ---- */

/* Resets buffers and the lexer for a fresh connection or device. */
void link_stream_reset(struct link *l);
int link_stream_send_unit(struct link *l, const uint8_t *unit, size_t len);
size_t link_stream_mtu(const struct link *l);
/* Reads, writes and hang-ups of a byte pipe; calls link_lost() on loss. */
void link_stream_on_events(struct link *l, short revents);
/* The watch mask the stream needs now (POLLIN, plus POLLOUT if pending). */
short link_stream_events(const struct link *l);

/* Copies at most cap-1 bytes of a formatted reason. */
void link_why(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
