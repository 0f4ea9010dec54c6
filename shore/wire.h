/*
 * wire.h — shored's network side, wired from its configuration: the SMTP
 * and webhook delivery drivers (routes mailto:, tel:, webhook:NAME), the
 * HTTP reply endpoint (replies stored through shore/replies.c) and the
 * operator alert forwarder (shore/alert.c).
 *
 *   wire_schema()  the smtp_*, webhook*, http_*, alert_* keys, appended to
 *                  shored's own schema (offsets of struct wire_cfg shifted
 *                  by where shored embeds it);
 *   wire_new()     after config_load() and sodium_init(), BEFORE any
 *                  thread or daemonizing: curl_global_init(), checks the
 *                  keys, loads every secret file (refuse to start on error);
 *   wire_start()   after route_new(): registers the drivers with the
 *                  router, starts the reply endpoint and the alert thread;
 *   wire_alert_poke()  new alert rows may exist (main loop, cheap);
 *   wire_free()    stops the endpoint, the alert thread AND the router's
 *                  worker (both use the drivers), frees the drivers,
 *                  curl_global_cleanup().  Call it before route_free().
 *
 * A driver is only made when its key is set: smtp_url for e-mail, at least
 * one webhook for tel:/webhook:, http_listen for the endpoint; anything
 * not routed goes to the spool ("*").
 */
#ifndef LIFELINE_SHORE_WIRE_H
#define LIFELINE_SHORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "shore/deliver_webhook.h"
#include "shore/route.h"

#define WIRE_TEXT_MAX (CONFIG_LINE_MAX + 1u)   /* any value a line can hold */
#define WIRE_KEYS 27u                          /* keys wire_schema() adds */

struct wire_cfg {
	char smtp_url[WIRE_TEXT_MAX], smtp_tls[16], smtp_ca_file[WIRE_TEXT_MAX];
	bool smtp_tls_verify;
	char smtp_user[WIRE_TEXT_MAX], smtp_password_file[WIRE_TEXT_MAX];
	char smtp_from[WIRE_TEXT_MAX], smtp_from_name[WIRE_TEXT_MAX];
	char smtp_reply_to[WIRE_TEXT_MAX], smtp_subject[WIRE_TEXT_MAX];
	uint64_t smtp_timeout;
	char webhook[DELIVER_WEBHOOK_MAX][WIRE_TEXT_MAX];
	size_t nwebhook;
	char webhook_sms[DELIVER_WEBHOOK_NAME_MAX + 1], webhook_ca_file[WIRE_TEXT_MAX];
	bool webhook_tls_verify;
	uint64_t webhook_timeout;
	char http_listen[WIRE_TEXT_MAX], http_secret[WIRE_TEXT_MAX];
	uint64_t http_max_skew, http_body_max, http_text_max, http_max_connections, http_conn_timeout;
	char alert_webhook[DELIVER_WEBHOOK_NAME_MAX + 1], alert_email[WIRE_TEXT_MAX];
	char inspector_webhook[DELIVER_WEBHOOK_NAME_MAX + 1], inspector_email[WIRE_TEXT_MAX];
};

/* base[0..nbase) then the wire keys with offset + at (where the caller's
 * settings struct embeds struct wire_cfg), in a static table; .n is the
 * count (nbase alone if the table would overflow CONFIG_KEYS_MAX, so the
 * schema check or an unknown-key error shows it).  Not thread-safe: call
 * once, from main. */
struct wire_keys {
	const struct config_key *k;
	size_t n;
};
struct wire_keys wire_schema(const struct config_key *base, size_t nbase, size_t at);

struct wire;

/* conf_path: the configuration file (relative SECRET_FILEs of `webhook`
 * lines are taken from its folder).  Returns 0, or ERR_CONFIG / ERR_NOMEM /
 * a secret-file error with why (one sentence: what to fix). */
int wire_new(struct wire **out, const struct wire_cfg *cfg, const char *conf_path, char *why,
	     size_t why_cap) LL_MUST_CHECK;
/* db_path: the shore database (the endpoint and the alert thread open
 * their own connections).  Returns 0 or an error with why. */
int wire_start(struct wire *w, struct route *route, const char *db_path, char *why,
	       size_t why_cap) LL_MUST_CHECK;
void wire_alert_poke(struct wire *w);      /* NULL is a no-op */
void wire_free(struct wire *w);            /* NULL is a no-op */

#endif
