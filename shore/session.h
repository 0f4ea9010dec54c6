/*
 * session.h — shored's connections: one ARQ channel per link (a serial port)
 * or per accepted tcp-listen connection, each bound to the vessel of the
 * first authentic bundle it carries.
 *
 * A channel's messages go to ingest_bundle() synchronously (inside the
 * ARQ input, so the ARQ acknowledgement leaves after the commit); its bound
 * vessel's receipts and replies come from the downlink, one bundle in
 * flight.  A vessel is bound to at most one channel: when it shows up on a
 * new one, the old binding is dropped (and an old TCP connection closed: it
 * is stale).
 *
 * Flood defence on tcp-listen: at most max_connections accepted
 * connections; a connection that has not sent an authentic bundle within
 * auth_timeout is closed; when the limit is reached the OLDEST connection
 * still unauthenticated is closed to make room, so idle or garbage
 * connections can never lock an honest vessel out.  Only when every
 * connection is authenticated is a new one refused.
 */
#ifndef LIFELINE_SHORE_SESSION_H
#define LIFELINE_SHORE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common/channel.h"
#include "common/loop.h"
#include "proto/err.h"
#include "shore/downlink.h"
#include "shore/ingest.h"
#include "shore/route.h"

#define SESSION_LISTEN_MAX 16u
#define SESSION_MAX_CONNECTIONS_DEFAULT 256u
#define SESSION_AUTH_TIMEOUT_DEFAULT_MS 30000u
#define SESSION_LOG_QUIET_MS 10000u

struct session_config {
	struct channel_config ch;
	unsigned max_connections;       /* accepted connections at once (>= 1) */
	uint64_t auth_timeout_ms;       /* time to the first authentic bundle */
};

struct session_stats {
	uint64_t accepted, evicted, refused, timed_out;
	size_t open, bound;
};

struct session_mgr;

/* route may be NULL (tests): then nothing is poked. */
int session_mgr_new(struct session_mgr **out, struct loop *lp, const struct session_config *cfg,
		    struct ingest *in, struct downlink *dl, struct route *route) LL_MUST_CHECK;
/* Closes every link and channel.  NULL is a no-op. */
void session_mgr_free(struct session_mgr *m);

/* Opens one `listen` link spec (tcp-listen:, serial:, tcp:).  Returns 0,
 * ERR_FULL past SESSION_LISTEN_MAX, or link_open()'s / channel_new()'s
 * errors. */
int session_listen(struct session_mgr *m, const char *spec) LL_MUST_CHECK;

/* Something may be pending for vessel (a receipt, a reply): send it if a
 * channel is bound to it.  session_kick_all(): every bound vessel. */
void session_kick(struct session_mgr *m, uint32_t vessel);
void session_kick_all(struct session_mgr *m);
/* Drops vessel's binding (suspended): its connection is closed if it is a
 * TCP child. */
void session_drop_vessel(struct session_mgr *m, uint32_t vessel);

struct session_stats session_get_stats(const struct session_mgr *m);

#endif
