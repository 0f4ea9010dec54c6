/*
 * deliver_webhook.h — delivery by HTTP POST of a signed JSON document to
 * an SMS or chat gateway ("webhook").
 *
 * Named webhooks: shored's config lists each as `webhook = NAME URL
 * SECRET_FILE` (deliver_webhook_spec_parse() splits one item).  A contact
 * `webhook:NAME` goes to the webhook NAME; a contact `tel:+E164` goes to the
 * webhook named by sms_hook (default "sms"), an SMS gateway.
 *
 * Request (the exact format is in /tmp/doc_net_protocol.md):
 *   POST URL
 *   Content-Type: application/json
 *   Idempotency-Key: V-MSGID
 *   X-Lifeline-Timestamp: UNIX
 *   X-Lifeline-Signature: sha256=HEX   (netutil.h: HMAC-SHA256 over
 *                                       "UNIX." + body, key = secret file)
 *   {"id":"V-MSGID","vessel":V,"vessel_name":"..","msg_id":M,"crew_id":C,
 *    "contact_ref":R,"to":"tel:+66..","contact_name":"..","channel":"sms",
 *    "ts":T,"text":".."}
 * The same message always carries the same id (retries included), so a
 * gateway that keys on it delivers once.
 *
 * Outcomes: 2xx delivered; 408, 429, 5xx, 1xx/3xx (redirects are not
 * followed: fix the URL), connection errors and timeouts ERR_AGAIN; any
 * other 4xx ERR_PERM (permanent).  A webhook:NAME or tel: with no such
 * webhook configured is ERR_AGAIN (the operator may add it; the message
 * dead-letters after dead_letter_after); a malformed address is ERR_INVAL.
 *
 * Thread safety: the driver is read-only after deliver_webhook_new(), so
 * send() may run in several threads at once.  libcurl must have been
 * initialised with curl_global_init() by the daemon's main before any
 * thread starts (and sodium_init() called).
 */
#ifndef LIFELINE_SHORE_DELIVER_WEBHOOK_H
#define LIFELINE_SHORE_DELIVER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shore/deliver.h"

#define DELIVER_WEBHOOK_MAX 16u           /* named webhooks */
#define DELIVER_WEBHOOK_NAME_MAX 32u      /* bytes of a name, without NUL */
#define DELIVER_WEBHOOK_URL_MAX 1024u     /* bytes of a URL, without NUL */
#define DELIVER_WEBHOOK_PATH_MAX 1024u    /* bytes of a secret file path */
#define DELIVER_WEBHOOK_SMS_DEFAULT "sms"

struct deliver_webhook_hook {
	const char *name;         /* [A-Za-z0-9_-], 1..DELIVER_WEBHOOK_NAME_MAX */
	const char *url;          /* http:// or https:// */
	const char *secret_file;  /* netutil.h secret file */
};

struct deliver_webhook_config {
	const struct deliver_webhook_hook *hooks;
	size_t nhooks;            /* 0..DELIVER_WEBHOOK_MAX */
	const char *sms_hook;     /* the hook for tel:; NULL or "": "sms" */
	const char *ca_file;      /* PEM CA bundle for https; NULL: system store */
	bool tls_insecure;        /* true: do not verify the server (tests only) */
	uint64_t timeout_ms;      /* whole request; 0: 30 s */
};

/* Splits "NAME URL SECRET_FILE" (separated by spaces or tabs) into the
 * three buffers, checking the name and the URL scheme.  Returns 0 or
 * ERR_INVAL/ERR_TOOBIG with why. */
int deliver_webhook_spec_parse(const char *spec, char name[DELIVER_WEBHOOK_NAME_MAX + 1],
			       char url[DELIVER_WEBHOOK_URL_MAX + 1],
			       char secret_file[DELIVER_WEBHOOK_PATH_MAX + 1], char *why, size_t why_cap)
	LL_MUST_CHECK;

/* Copies the config and loads every secret file.  Returns 0, ERR_CONFIG
 * (bad name, duplicate name, bad URL, too many), an error of
 * netutil_secret_load(), or ERR_NOMEM; why says which.  *drv is for
 * deliver_webhook_ops.send and deliver_webhook_free(). */
int deliver_webhook_new(void **drv, const struct deliver_webhook_config *cfg, char *why,
			size_t why_cap) LL_MUST_CHECK;
void deliver_webhook_free(void *drv);    /* NULL is a no-op */

/* The request body send() would post for m (malloc'd, caller frees).
 * For tests and for operators documenting a gateway. */
int deliver_webhook_body(const struct deliver_msg *m, char **body, size_t *len) LL_MUST_CHECK;

extern const struct deliver_ops deliver_webhook_ops;

#endif
