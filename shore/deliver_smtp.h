/*
 * deliver_smtp.h — delivery by e-mail through an SMTP relay (libcurl).
 *
 * A contact `mailto:ADDR` gets one RFC 5322 message per crew text:
 *
 *   Date: <when the crew member wrote it, UTC>
 *   From: "<from_name>" <from>
 *   To: "<contact name>" <ADDR>
 *   Reply-To: <reply_to pattern expanded>       (when configured)
 *   Subject: <subject pattern expanded>         (RFC 2047 =?UTF-8?B?...?=
 *                                                when not plain ASCII)
 *   Message-ID: <lifeline.V.MSGID@DOMAIN-OF-FROM>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=utf-8
 *   Content-Transfer-Encoding: base64
 *   X-Lifeline-Id: V-MSGID
 *
 * The message is a pure function of the crew text and the config: a retry
 * sends byte-identical mail with the same Message-ID, so mail systems and
 * readers can drop a duplicate.
 *
 * Patterns (subject, reply_to): %v vessel id, %n vessel name (subject
 * only), %c crew id, %r contact ref, %m message id, %% a '%'.  reply_to
 * must contain %v, %c and %r so that a family's answer to
 * reply+%v-%c-%r@replies.example.org names the crew member it is for; the
 * mail system behind that domain turns it into a POST /v1/replies.
 *
 * Outcomes: 0 when the server said 250 after DATA; ERR_AGAIN for any 4xx
 * answer, connection failure, TLS failure, authentication failure (our
 * configuration: fix it and the queue drains) and timeout; ERR_PERM for a
 * 5xx answer (e.g. "550 5.1.1 mailbox unknown"); ERR_INVAL for an address
 * we cannot use (not mailto:, not a plain ASCII addr-spec, header
 * injection attempts) or text that is not UTF-8.
 *
 * Thread safety: read-only after deliver_smtp_new(); send() uses its own
 * curl handle.  curl_global_init() must have been called by the daemon's
 * main before any thread starts.
 */
#ifndef LIFELINE_SHORE_DELIVER_SMTP_H
#define LIFELINE_SHORE_DELIVER_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shore/deliver.h"

#define DELIVER_SMTP_URL_MAX 512u
#define DELIVER_SMTP_ADDR_MAX 254u          /* RFC 5321 path limit, without <> */
#define DELIVER_SMTP_TEXT_MAX 256u          /* patterns, names, paths (bytes, no NUL) */
#define DELIVER_SMTP_SUBJECT_DEFAULT "Message from the crew of %n"
#define DELIVER_SMTP_FROM_NAME_DEFAULT "Lifeline"

enum deliver_smtp_tls {
	DELIVER_SMTP_TLS_REQUIRED = 0,   /* STARTTLS or smtps://, or fail (default) */
	DELIVER_SMTP_TLS_TRY,            /* STARTTLS if offered */
	DELIVER_SMTP_TLS_NONE            /* plain text (a relay on localhost) */
};

struct deliver_smtp_config {
	const char *url;             /* smtp://host[:port] or smtps://host[:port] */
	const char *user;            /* NULL or "": no AUTH */
	const char *password_file;   /* with user: a netutil.h secret file (>= 1 byte here) */
	enum deliver_smtp_tls tls;
	const char *ca_file;         /* PEM CA bundle; NULL: system store */
	bool tls_insecure;           /* true: do not verify the server (tests only) */
	const char *from;            /* envelope and From: address, required */
	const char *from_name;       /* NULL: "Lifeline" */
	const char *reply_to;        /* pattern; NULL or "": no Reply-To */
	const char *subject;         /* pattern; NULL: DELIVER_SMTP_SUBJECT_DEFAULT */
	uint64_t timeout_ms;         /* whole session; 0: 30 s */
};

/* "required" | "try" | "none" -> *out; 0 or ERR_INVAL. */
int deliver_smtp_tls_parse(const char *s, enum deliver_smtp_tls *out) LL_MUST_CHECK;

/* Checks and copies cfg (loads the password file).  Returns 0, ERR_CONFIG
 * with why, or ERR_NOMEM. */
int deliver_smtp_new(void **drv, const struct deliver_smtp_config *cfg, char *why, size_t why_cap)
	LL_MUST_CHECK;
void deliver_smtp_free(void *drv);          /* NULL is a no-op */

/* The exact message send() would transmit for m (CRLF lines), malloc'd;
 * *rcpt (cap DELIVER_SMTP_ADDR_MAX + 1) gets the envelope recipient.
 * Returns 0, ERR_INVAL (address/text unusable, why says so), ERR_NOMEM. */
int deliver_smtp_message(const void *drv, const struct deliver_msg *m, char **msg, size_t *len,
			 char *rcpt, char *why, size_t why_cap) LL_MUST_CHECK;

extern const struct deliver_ops deliver_smtp_ops;

#endif
