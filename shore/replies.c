/*
 * replies.c — stores families' replies that arrive over HTTP (see
 * replies.h).
 *
 * What it is for: a mother's answer reaches her son at sea exactly once,
 * however often her gateway re-posts it (issue 5).
 *
 * Invariants: one store connection, used only from the endpoint's thread;
 * the 202 is given only after COMMIT (store_reply_add); the vessel is woken
 * after the commit, so the main loop finds the row.
 *
 * Failure behaviour: store errors become the outcome (503 "try later" for
 * database trouble) and are logged; nothing exits.
 */
#include "shore/replies.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "shore/store.h"

struct replies {
	struct store *st;
	struct route *route;
};

int replies_new(struct replies **out, const char *db_path, struct route *route)
{
	*out = NULL;
	struct replies *rp = calloc(1, sizeof *rp);
	if (!rp)
		return ERR_NOMEM;
	struct db_open_error why = {0};
	int rc = store_open(db_path, &rp->st, &why);
	if (rc < 0) {
		log_error("reply endpoint: cannot open %s: %s", db_path, why.text);
		free(rp);
		return rc;
	}
	rp->route = route;
	*out = rp;
	return 0;
}

void replies_free(struct replies *rp)
{
	if (!rp)
		return;
	store_close(rp->st);
	free(rp);
}

int replies_on_reply(void *ctx, const struct replyhttp_reply *r, uint64_t *reply_id, char *why,
		     size_t why_cap)
{
	struct replies *rp = ctx;
	struct store_reply in = {r->vessel, r->crew, r->contact, r->text, r->text_len, r->id, true};
	int rc = store_reply_add(rp->st, &in, (int64_t)time(NULL), reply_id, why, why_cap);
	if (rc == 0) {
		log_info("reply %" PRIu64 " for vessel %" PRIu32 " crew %" PRIu32 " contact %" PRIu32
			 " queued (gateway id %s)", *reply_id, r->vessel, r->crew, r->contact, r->id);
		if (rp->route)
			route_notify_vessel(rp->route, r->vessel);
	} else if (rc == ERR_DUP) {
		log_info("reply for vessel %" PRIu32 ": gateway id %s posted again: %s", r->vessel,
			 r->id, why);
	} else if (rc == ERR_TOOBIG) {
		snprintf(why, why_cap, "the text is over %u bytes; shorten it", STORE_REPLY_TEXT_MAX);
	} else if (rc != ERR_NOTFOUND && rc != ERR_PERM && rc != ERR_INVAL && rc != ERR_UTF8) {
		log_error("reply endpoint: %s", db_last_error(store_db(rp->st)));
		snprintf(why, why_cap, "shored cannot store the reply now; try again later");
	}
	return rc;
}
