/*
 * link.h — one interface over every way a vessel reaches the shore.
 *
 * A link moves *units*: whole pieces of at most link_mtu() bytes.  On a
 * byte pipe (serial port, TCP) a unit is a frame content, delimited and
 * checked by proto/frame; on a message modem (Iridium SBD, a later driver)
 * a unit is one modem message.  Upper layers (the ARQ channel, bundles)
 * never see bytes of a stream.
 *
 * Spec strings:
 *   serial:/dev/ttyUSB0?baud=19200&flow=none|rtscts
 *        libserialport for real ports; pseudo-terminals (which libserialport
 *        refuses) and serial-over-IP bridges open with plain termios.
 *        Defaults: baud=19200, flow=none.  Test/diagnostic option
 *        driver=auto|termios|libserialport forces one code path.
 *   tcp:HOST:PORT            connect (reconnects with backoff)
 *   tcp-listen:[ADDR:]PORT   accept; each connection becomes a child link
 *                            handed to on_accept (the shore's fleet port)
 *
 * Failure behaviour: everything is non-blocking.  A vanished USB adapter or
 * a dropped connection makes the link "down" (on_state) and it is reopened
 * with exponential backoff (LINK_BACKOFF_MIN_MS .. LINK_BACKOFF_MAX_MS),
 * never a crash and never a busy loop.  Bad bytes are counted and logged
 * once per burst.  Accepted child links are not reopened: when their peer
 * goes, they report down and the owner frees them.
 */
#ifndef LIFELINE_COMMON_LINK_H
#define LIFELINE_COMMON_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/loop.h"
#include "proto/err.h"
#include "proto/frame.h"

#define LINK_SPEC_MAX 512u
#define LINK_BACKOFF_MIN_MS 1000u
#define LINK_BACKOFF_MAX_MS 60000u
#define LINK_TXBUF_BYTES 16384u     /* encoded bytes waiting for the fd */
#define LINK_IDLE_LEAD_MS 1000u     /* a frame after this much quiet gets a leading delimiter */

struct link;

enum link_state { LINK_DOWN = 0, LINK_UP = 1 };

struct link_callbacks {
	/* One unit arrived (a checked frame content, or a modem message). */
	void (*on_unit)(void *ctx, struct link *l, const uint8_t *unit, size_t len);
	/* The link came up or went down. */
	void (*on_state)(void *ctx, struct link *l, enum link_state st);
	/* There is room to send again after link_send() said -ERR_AGAIN. */
	void (*on_writable)(void *ctx, struct link *l);
	/* tcp-listen only: a new connection, already up; the callee owns it and
	 * sets its callbacks with link_set_callbacks(). */
	void (*on_accept)(void *ctx, struct link *listener, struct link *child);
};

struct link_stats {
	uint64_t bytes_in, bytes_out, units_in, units_out;
	uint64_t bad_units;     /* frames dropped by the lexer */
	uint64_t reopens;       /* successful reconnects after a loss */
	uint64_t errors;        /* I/O errors seen */
};

/* Parses spec and starts opening: the first attempt runs on the next loop
 * turn (a timer due now), so every state change reaches on_state.  Returns
 * 0 with *out owned by the caller (free with link_close), ERR_INVAL for a
 * bad spec (logged with its reason), ERR_NOMEM. */
int link_open(struct link **out, const char *spec, struct loop *lp,
	      const struct link_callbacks *cb, void *ctx) LL_MUST_CHECK;
void link_close(struct link *l);                /* NULL is a no-op */
void link_set_callbacks(struct link *l, const struct link_callbacks *cb, void *ctx);

/*
 * Sends one unit.  Returns 0 when queued whole, ERR_AGAIN when the
 * transmit buffer has no room (wait for on_writable), ERR_CLOSED when the
 * link is down, ERR_TOOBIG over link_mtu(), ERR_INVAL for an empty unit,
 * ERR_STATE on a tcp-listen link (codes are the negative enum err values).
 * The bytes are copied; they leave when the fd is writable.
 */
int link_send(struct link *l, const uint8_t *unit, size_t len) LL_MUST_CHECK;

bool link_is_up(const struct link *l);
size_t link_mtu(const struct link *l);          /* largest unit */
size_t link_tx_pending(const struct link *l);   /* encoded bytes not yet written */
const char *link_name(const struct link *l);    /* the spec, or peer address */
const struct link_stats *link_get_stats(const struct link *l);

/* Tests and diagnosis: the reopen backoff range (min doubles up to max);
 * applies from the next scheduled retry. */
void link_set_backoff(struct link *l, uint64_t min_ms, uint64_t max_ms);

/* Validates a spec without opening it; on error writes a reason to why. */
int link_spec_check(const char *spec, char *why, size_t why_cap) LL_MUST_CHECK;

#endif
