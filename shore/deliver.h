/*
 * deliver.h — delivery drivers: how a crew member's text reaches a family.
 *
 * A driver is a vtable (struct deliver_ops) and a private state made from
 * the daemon's settings.  shored picks the driver from the contact's
 * address scheme (mailto:, tel:, webhook:NAME) and its routing settings,
 * and calls send() from the delivery worker thread: send() may block for
 * at most its own configured timeout and must never be called from the
 * main loop.  A driver keeps no per-message state: retries, backoff and
 * dead-lettering are the caller's (shore/route.c), keyed on the outcome.
 *
 * Outcomes of send():
 *   0            delivered (handed to the channel: file on disk, SMTP 250
 *                after DATA, HTTP 2xx)
 *   ERR_AGAIN    temporary: try again later (connection refused, timeout,
 *                SMTP 4xx, HTTP 5xx/429)
 *   other < 0    permanent: never retried (SMTP 5xx, HTTP 4xx, bad address);
 *                ERR_INVAL for an address the driver cannot use
 * why (NUL-terminated, truncated to why_cap) says what happened in words an
 * operator can act on, e.g. "smtp: 550 5.1.1 mailbox unknown".
 *
 * To add a driver: a file shore/deliver_NAME.c defining
 * `const struct deliver_ops deliver_NAME_ops`, its settings in
 * struct deliver_NAME_config below, the keys in shored's schema, and a
 * case in the router.
 */
#ifndef LIFELINE_SHORE_DELIVER_H
#define LIFELINE_SHORE_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define DELIVER_WHY_MAX 256u            /* bytes of an outcome text, with NUL */

/* One message to deliver.  Strings are NUL-terminated UTF-8 and belong to
 * the caller for the duration of send(). */
struct deliver_msg {
	uint32_t vessel;                /* vessel id */
	const char *vessel_name;        /* may be "" */
	uint64_t msg_id;                /* vessel-unique: the idempotency key */
	uint32_t crew_id;
	uint32_t contact_ref;
	const char *to;                 /* the contact URI: mailto:, tel:, webhook:NAME */
	const char *contact_name;       /* may be "" */
	const char *channel;            /* "email" | "sms" | "chat" */
	int64_t ts;                     /* when the crew member wrote it, unix s */
	const char *text;
	size_t text_len;
};

struct deliver_ops {
	const char *name;               /* "spool", "smtp", "webhook" */
	int (*send)(void *drv, const struct deliver_msg *m, char *why, size_t why_cap);
};

#endif
