/*
 * replies.h — the reply endpoint's store callback: a family's reply posted
 * by a gateway (shore/replyhttp.h) -> store_reply_add() on a connection of
 * its own -> route_notify_vessel() so the main loop sends it down.
 *
 * replies_on_reply() runs on libmicrohttpd's thread, one call at a time;
 * it touches nothing but its own connection and the router's thread-safe
 * wake pipe.  Outcomes are replyhttp.h's: 0 queued, ERR_DUP (the gateway
 * id was seen: the earlier reply id), ERR_NOTFOUND (vessel, crew member or
 * contact unknown), ERR_PERM (vessel suspended), ERR_INVAL/ERR_TOOBIG/
 * ERR_UTF8 (bad text), anything else: try later.
 */
#ifndef LIFELINE_SHORE_REPLIES_H
#define LIFELINE_SHORE_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "shore/replyhttp.h"
#include "shore/route.h"

struct replies;

/* route may be NULL (tests: nothing is woken).  Returns 0, ERR_NOMEM or a
 * db error. */
int replies_new(struct replies **out, const char *db_path, struct route *route) LL_MUST_CHECK;
void replies_free(struct replies *rp);     /* NULL is a no-op */

/* replyhttp_config.on_reply, with ctx = the struct replies. */
int replies_on_reply(void *ctx, const struct replyhttp_reply *r, uint64_t *reply_id, char *why,
		     size_t why_cap);

#endif
