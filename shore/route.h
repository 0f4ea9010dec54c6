/*
 * route.h — delivery of accepted texts to families, off the main loop
 * (contract "Shore routing").
 *
 * A text in state accepted whose contact (vessel, crew, contact_ref) is
 * known goes to the driver chosen by its address scheme (route_pick():
 * mailto:, tel:, webhook:NAME; wave 1 sends every scheme to the spool
 * unless a driver is registered for it).  Outcomes:
 *   0          -> delivered
 *   ERR_AGAIN  -> retry after delivery_retry_min * 2^attempts, capped at
 *                 delivery_retry_max; failed (UNDELIVERABLE) once
 *                 dead_letter_after has passed since the message arrived
 *   other < 0  -> failed (REFUSED), never retried
 * A contact still unknown after dead_letter_after: failed (UNKNOWN_CONTACT).
 * SOS, complaints and contact records are never routed to families.
 *
 * Threads: route_start() runs a worker with its OWN database connection
 * (opened by route_new, used only by the worker once started).  Whenever an
 * outcome is committed, the worker writes the vessel id to a pipe whose
 * read end (route_wake_fd) the main loop watches, so the receipt goes out.
 * route_poke() (any thread) tells the worker new messages may be due.
 * Tests call route_run_once() with an injected clock instead of starting
 * the thread.
 */
#ifndef LIFELINE_SHORE_ROUTE_H
#define LIFELINE_SHORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"
#include "shore/deliver.h"

#define ROUTE_BATCH 32u                 /* due messages read per round */
#define ROUTE_IDLE_MAX_MS 60000u        /* the worker looks again at least this often */
#define ROUTE_SCHEMES_MAX 8u
#define ROUTE_SCHEME_MAX 16u            /* bytes of a scheme name, with NUL */

struct route_config {
	const char *db_path;            /* the shore database (copied) */
	uint64_t retry_min_ms;
	uint64_t retry_max_ms;
	uint64_t dead_letter_ms;
};

struct route_stats {
	uint64_t attempts, delivered, failed, retries;
};

struct route;

/* Opens the worker's database connection and the wake pipe.  Returns 0,
 * ERR_INVAL, ERR_NOMEM, ERR_IO or a db_open() error. */
int route_new(struct route **out, const struct route_config *cfg) LL_MUST_CHECK;
/* Stops the worker if running, closes everything.  NULL is a no-op. */
void route_free(struct route *r);

/* Routes addresses of scheme ("mailto", "tel", "webhook"; "*" = every
 * scheme without its own driver, the spool by default) to ops/drv.  Call
 * before route_start().  Returns 0, ERR_FULL or ERR_INVAL. */
int route_set_driver(struct route *r, const char *scheme, const struct deliver_ops *ops,
		     void *drv) LL_MUST_CHECK;

/*
 * One round at wall-clock time now_ms (unix milliseconds): handles up to
 * ROUTE_BATCH due messages.  *handled (may be NULL) counts them;
 * *next_due_ms (may be NULL) is when the next one is due (INT64_MAX: none).
 * Returns 0 or a db error.
 */
int route_run_once(struct route *r, int64_t now_ms, size_t *handled, int64_t *next_due_ms) LL_MUST_CHECK;

/* Starts / stops (and joins) the worker thread.  route_start returns 0 or
 * ERR_IO. */
int route_start(struct route *r) LL_MUST_CHECK;
void route_stop(struct route *r);
/* New work may be due (thread-safe, cheap). */
void route_poke(struct route *r);

/* Asks the main loop to look at vessel's downlink (thread-safe; for the
 * worker, and for the HTTP reply endpoint after store_reply_enqueue()). */
void route_notify_vessel(struct route *r, uint32_t vessel);
/* The pipe the main loop watches (POLLIN). */
int route_wake_fd(const struct route *r);
/* Drains the pipe: up to cap vessel ids into ids; *all is set when some
 * were lost (pipe full): then look at every vessel.  Returns the count. */
size_t route_wakes_read(struct route *r, uint32_t *ids, size_t cap, bool *all);

struct route_stats route_get_stats(struct route *r);

#endif
