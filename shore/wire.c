/*
 * wire.c — shored's network delivery, reply endpoint and operator alerts,
 * built from the configuration (see wire.h).
 *
 * What it is for: keeping shored.c a thin main while the SMTP/webhook
 * drivers, the HTTP reply endpoint and the alert forwarder get their keys,
 * their checks and their start/stop order in one place.
 *
 * Invariants: every secret file is loaded and every key checked in
 * wire_new(), before shored daemonizes, so a mistake stops the start with
 * a sentence; curl_global_init() runs there, before any thread, and
 * curl_global_cleanup() in wire_free(), after every thread that uses curl
 * (reply endpoint, alert thread, the router's worker) is stopped.
 *
 * Failure behaviour: errors return with why; nothing exits or logs here
 * except through the modules it starts.
 */
#include "shore/wire.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shore/alert.h"
#include "shore/deliver_smtp.h"
#include "shore/replies.h"
#include "shore/replyhttp.h"
#include "shore/store.h"

#define ALERT_RETRY_MIN_MS 30000u
#define ALERT_RETRY_MAX_MS 3600000u
#define ALERT_SUBJECT "Lifeline alert: %n"
#define MAILTO "mailto:"

struct wire {
	const struct wire_cfg *cfg;
	bool curl;
	void *smtp, *smtp_alert, *webhook;
	char hook_names[DELIVER_WEBHOOK_MAX][DELIVER_WEBHOOK_NAME_MAX + 1];
	char hook_urls[DELIVER_WEBHOOK_MAX][DELIVER_WEBHOOK_URL_MAX + 1];
	char hook_secrets[DELIVER_WEBHOOK_MAX][PATH_MAX];
	char alert_hook_to[DELIVER_WEBHOOK_NAME_MAX + sizeof "webhook:"];
	char inspector_hook_to[DELIVER_WEBHOOK_NAME_MAX + sizeof "webhook:"];
	struct route *route;
	struct alert *alert;
	struct replies *replies;
	struct replyhttp *http;
};

/* ---- the keys ------------------------------------------------------------- */

#define F(f) offsetof(struct wire_cfg, f)
#define STR(n, f, cap, d, h) {.name = n, .type = CONFIG_STRING, F(f), (cap) + 1, .def = d, .help = h}
#define PATHK(n, f, h) {.name = n, .type = CONFIG_PATH, F(f), sizeof(((struct wire_cfg *)0)->f), .help = h}
#define NUM(n, t, f, lo, hi, d, h) {.name = n, .type = t, .offset = F(f), .min = lo, .max = hi, .def = d, .help = h}

static const struct config_key keys[WIRE_KEYS] = {
	STR("smtp_url", smtp_url, DELIVER_SMTP_URL_MAX, NULL,
	    "e-mail for mailto: contacts: smtp://HOST[:PORT] (STARTTLS per smtp_tls) or "
	    "smtps://HOST[:PORT]; not set: mailto: texts go to the spool"),
	STR("smtp_tls", smtp_tls, 15, "required", "STARTTLS policy: required, try, or none "
	    "(none only for a relay on localhost)"),
	PATHK("smtp_ca_file", smtp_ca_file, "PEM CA bundle for the relay; not set: the system store"),
	NUM("smtp_tls_verify", CONFIG_BOOL, smtp_tls_verify, 0, 0, "yes",
	    "verify the relay's certificate (no: tests only)"),
	STR("smtp_user", smtp_user, DELIVER_SMTP_TEXT_MAX, NULL, "SMTP AUTH login; not set: no AUTH"),
	PATHK("smtp_password_file", smtp_password_file,
	      "with smtp_user: file holding the password (one line, chmod 600)"),
	STR("smtp_from", smtp_from, DELIVER_SMTP_ADDR_MAX, NULL,
	    "required with smtp_url: sender address, e.g. lifeline@shore.example.org"),
	STR("smtp_from_name", smtp_from_name, DELIVER_SMTP_TEXT_MAX, DELIVER_SMTP_FROM_NAME_DEFAULT,
	    "From display name"),
	STR("smtp_reply_to", smtp_reply_to, DELIVER_SMTP_TEXT_MAX, NULL,
	    "Reply-To pattern naming the crew member (must hold %v %c %r), e.g. "
	    "reply+%v-%c-%r@replies.example.org; not set: no Reply-To"),
	STR("smtp_subject", smtp_subject, DELIVER_SMTP_TEXT_MAX, DELIVER_SMTP_SUBJECT_DEFAULT,
	    "subject pattern: %n vessel name, %v vessel id, %c crew id, %r contact, %m message id"),
	NUM("smtp_timeout", CONFIG_DURATION, smtp_timeout, 1000, 600000, "30s",
	    "longest SMTP session (then: try again later)"),
	{.name = "webhook", .type = CONFIG_LIST, F(webhook), WIRE_TEXT_MAX, .min = 5,
	 .max_count = DELIVER_WEBHOOK_MAX, .count_offset = F(nwebhook),
	 .help = "a gateway for tel: and webhook:NAME contacts, one line each: NAME URL SECRET_FILE "
		 "(signed JSON POST; SECRET_FILE: 16+ random bytes, chmod 600); not set: spool"},
	STR("webhook_sms", webhook_sms, DELIVER_WEBHOOK_NAME_MAX, DELIVER_WEBHOOK_SMS_DEFAULT,
	    "the webhook NAME that takes tel: contacts (an SMS gateway)"),
	PATHK("webhook_ca_file", webhook_ca_file, "PEM CA bundle for https gateways; not set: system store"),
	NUM("webhook_tls_verify", CONFIG_BOOL, webhook_tls_verify, 0, 0, "yes",
	    "verify gateways' certificates (no: tests only)"),
	NUM("webhook_timeout", CONFIG_DURATION, webhook_timeout, 100, 600000, "30s",
	    "longest webhook request (then: try again later)"),
	STR("http_listen", http_listen, REPLYHTTP_LISTEN_MAX - 1, NULL,
	    "reply endpoint POST /v1/replies: ADDRESS:PORT (numeric, e.g. 127.0.0.1:8080); "
	    "not set: off"),
	PATHK("http_secret", http_secret, "required with http_listen: HMAC key file shared with the "
	      "gateways (16+ random bytes, chmod 600)"),
	NUM("http_max_skew", CONFIG_DURATION, http_max_skew, 1000, 86400000, "300s",
	    "a request's X-Lifeline-Timestamp may be this far from our clock"),
	NUM("http_body_max", CONFIG_BYTES, http_body_max, 256, 1048576, "16k",
	    "largest request body (413 beyond)"),
	NUM("http_text_max", CONFIG_BYTES, http_text_max, 1, STORE_REPLY_TEXT_MAX, "2048",
	    "longest reply text in bytes of UTF-8"),
	NUM("http_max_connections", CONFIG_UINT, http_max_connections, 1, 65536, "64",
	    "reply endpoint connections at once"),
	NUM("http_conn_timeout", CONFIG_DURATION, http_conn_timeout, 1000, 3600000, "10s",
	    "an idle reply endpoint connection is closed after this"),
	STR("alert_webhook", alert_webhook, DELIVER_WEBHOOK_NAME_MAX, NULL,
	    "NAME of a webhook line that also gets operator alerts (silence, gap); not set: none"),
	STR("alert_email", alert_email, DELIVER_SMTP_TEXT_MAX, NULL,
	    "mailto:ADDRESS that gets operator alerts through the smtp_* relay; not set: none"),
	STR("inspector_webhook", inspector_webhook, DELIVER_WEBHOOK_NAME_MAX, NULL,
	    "NAME of a webhook line that gets the labour inspectors' alerts: a new complaint or SOS "
	    "(metadata only, at once); not set: none"),
	STR("inspector_email", inspector_email, DELIVER_SMTP_TEXT_MAX, NULL,
	    "mailto:ADDRESS of the labour inspectors for new complaint and SOS alerts (metadata "
	    "only) through the smtp_* relay; not set: none"),
};

struct wire_keys wire_schema(const struct config_key *base, size_t nbase, size_t at)
{
	static struct config_key all[CONFIG_KEYS_MAX];
	if (nbase + WIRE_KEYS > CONFIG_KEYS_MAX)
		return (struct wire_keys){base, nbase};     /* the wire keys are then unknown */
	memcpy(all, base, nbase * sizeof *base);
	for (size_t i = 0; i < WIRE_KEYS; i++) {
		all[nbase + i] = keys[i];
		all[nbase + i].offset += at;
		if (keys[i].type == CONFIG_LIST)
			all[nbase + i].count_offset += at;
	}
	return (struct wire_keys){all, nbase + WIRE_KEYS};
}

/* ---- set-up ------------------------------------------------------------------- */

static const char *opt(const char *s)
{
	return *s ? s : NULL;
}

static int smtp_new(void **drv, const struct wire_cfg *c, const char *subject, const char *reply_to,
		    char *why, size_t cap)
{
	struct deliver_smtp_config sc = {
		.url = c->smtp_url, .user = opt(c->smtp_user),
		.password_file = opt(c->smtp_password_file), .ca_file = opt(c->smtp_ca_file),
		.tls_insecure = !c->smtp_tls_verify, .from = c->smtp_from,
		.from_name = c->smtp_from_name, .reply_to = reply_to, .subject = subject,
		.timeout_ms = c->smtp_timeout,
	};
	if (deliver_smtp_tls_parse(c->smtp_tls, &sc.tls) < 0)
		return snprintf(why, cap, "smtp_tls: \"%s\" is not required, try or none", c->smtp_tls),
		       ERR_CONFIG;
	if (*c->smtp_user && !*c->smtp_password_file)
		return snprintf(why, cap, "smtp_user needs smtp_password_file"), ERR_CONFIG;
	int rc = deliver_smtp_new(drv, &sc, why, cap);
	return rc;
}

/* The webhook lines, SECRET_FILEs taken from the configuration's folder. */
static int hooks_new(struct wire *w, const struct wire_cfg *c, const char *conf_path, char *why,
		     size_t cap)
{
	struct deliver_webhook_hook hooks[DELIVER_WEBHOOK_MAX];
	const char *slash = strrchr(conf_path, '/');
	int dirlen = slash ? (int)(slash - conf_path) : 0;
	for (size_t i = 0; i < c->nwebhook; i++) {
		char sec[DELIVER_WEBHOOK_PATH_MAX + 1], e[DELIVER_WHY_MAX];
		if (deliver_webhook_spec_parse(c->webhook[i], w->hook_names[i], w->hook_urls[i], sec, e,
					       sizeof e) < 0)
			return snprintf(why, cap, "webhook \"%s\": %s", c->webhook[i], e), ERR_CONFIG;
		int n = sec[0] == '/' || !slash ?
			snprintf(w->hook_secrets[i], PATH_MAX, "%s", sec) :
			snprintf(w->hook_secrets[i], PATH_MAX, "%.*s/%s", dirlen, conf_path, sec);
		if (n < 0 || n >= PATH_MAX)
			return snprintf(why, cap, "webhook %s: secret file path too long", w->hook_names[i]),
			       ERR_CONFIG;
		hooks[i] = (struct deliver_webhook_hook){w->hook_names[i], w->hook_urls[i],
							 w->hook_secrets[i]};
	}
	struct deliver_webhook_config wc = {
		.hooks = hooks, .nhooks = c->nwebhook, .sms_hook = c->webhook_sms,
		.ca_file = opt(c->webhook_ca_file), .tls_insecure = !c->webhook_tls_verify,
		.timeout_ms = c->webhook_timeout,
	};
	return deliver_webhook_new(&w->webhook, &wc, why, cap);
}

/* A webhook NAME that a key names: empty, or one of the webhook lines. */
static bool hook_known(const struct wire *w, const struct wire_cfg *c, const char *name)
{
	if (!*name)
		return true;
	for (size_t i = 0; i < c->nwebhook; i++)
		if (strcmp(w->hook_names[i], name) == 0)
			return true;
	return false;
}

/* Cross-key rules the schema cannot say. */
static int check(const struct wire *w, const struct wire_cfg *c, char *why, size_t cap)
{
	if (*c->http_listen && !*c->http_secret)
		return snprintf(why, cap, "http_listen needs http_secret (the HMAC key file)"), ERR_CONFIG;
	const char *mail[] = {c->alert_email, c->inspector_email};
	const char *mail_key[] = {"alert_email", "inspector_email"};
	for (size_t i = 0; i < 2; i++)
		if (*mail[i] && (!*c->smtp_url || strncmp(mail[i], MAILTO, strlen(MAILTO)) != 0))
			return snprintf(why, cap, "%s must be mailto:ADDRESS and needs smtp_url",
					mail_key[i]), ERR_CONFIG;
	if (!hook_known(w, c, c->alert_webhook))
		return snprintf(why, cap, "alert_webhook \"%s\" names no webhook line",
				c->alert_webhook), ERR_CONFIG;
	if (!hook_known(w, c, c->inspector_webhook))
		return snprintf(why, cap, "inspector_webhook \"%s\" names no webhook line",
				c->inspector_webhook), ERR_CONFIG;
	return 0;
}

int wire_new(struct wire **out, const struct wire_cfg *c, const char *conf_path, char *why,
	     size_t cap)
{
	*out = NULL;
	struct wire *w = calloc(1, sizeof *w);
	if (!w)
		return ERR_NOMEM;
	w->cfg = c;
	int rc = 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = ERR_NOMEM, snprintf(why, cap, "libcurl failed to initialise");
	else
		w->curl = true;
	if (rc == 0 && *c->smtp_url)
		rc = smtp_new(&w->smtp, c, c->smtp_subject, opt(c->smtp_reply_to), why, cap);
	if (rc == 0 && (*c->alert_email || *c->inspector_email) && *c->smtp_url)
		rc = smtp_new(&w->smtp_alert, c, ALERT_SUBJECT, NULL, why, cap);
	if (rc == 0 && c->nwebhook > 0)
		rc = hooks_new(w, c, conf_path, why, cap);
	if (rc == 0)
		rc = check(w, c, why, cap);
	if (rc < 0) {
		wire_free(w);
		return rc;
	}
	snprintf(w->alert_hook_to, sizeof w->alert_hook_to, "webhook:%s", c->alert_webhook);
	snprintf(w->inspector_hook_to, sizeof w->inspector_hook_to, "webhook:%s", c->inspector_webhook);
	*out = w;
	return 0;
}

int wire_start(struct wire *w, struct route *route, const char *db_path, char *why, size_t cap)
{
	const struct wire_cfg *c = w->cfg;
	int rc = 0;
	w->route = route;
	if (w->smtp)
		rc = route_set_driver(route, "mailto", &deliver_smtp_ops, w->smtp);
	if (rc == 0 && w->webhook && (rc = route_set_driver(route, "tel", &deliver_webhook_ops,
							    w->webhook)) == 0)
		rc = route_set_driver(route, "webhook", &deliver_webhook_ops, w->webhook);
	if (rc < 0)
		return snprintf(why, cap, "cannot register the delivery drivers"), rc;
	struct alert_config ac = {.db_path = db_path, .retry_min_ms = ALERT_RETRY_MIN_MS,
				  .retry_max_ms = ALERT_RETRY_MAX_MS};
	if (*c->alert_webhook)
		ac.targets[ac.ntargets++] = (struct alert_target){"webhook", &deliver_webhook_ops,
								  w->webhook, w->alert_hook_to, false};
	if (w->smtp_alert && *c->alert_email)
		ac.targets[ac.ntargets++] = (struct alert_target){"email", &deliver_smtp_ops,
								  w->smtp_alert, c->alert_email, false};
	if (*c->inspector_webhook)
		ac.targets[ac.ntargets++] = (struct alert_target){"inspector_webhook",
			&deliver_webhook_ops, w->webhook, w->inspector_hook_to, true};
	if (w->smtp_alert && *c->inspector_email)
		ac.targets[ac.ntargets++] = (struct alert_target){"inspector_email",
			&deliver_smtp_ops, w->smtp_alert, c->inspector_email, true};
	if (ac.ntargets > 0 && ((rc = alert_new(&w->alert, &ac)) < 0 || (rc = alert_start(w->alert)) < 0))
		return snprintf(why, cap, "cannot start the alert forwarder"), rc;
	if (!*c->http_listen)
		return 0;
	if ((rc = replies_new(&w->replies, db_path, route)) < 0)
		return snprintf(why, cap, "reply endpoint: cannot open the database"), rc;
	struct replyhttp_config hc = {
		.listen = c->http_listen, .secret_file = c->http_secret,
		.max_skew_s = c->http_max_skew / 1000, .body_max = c->http_body_max,
		.text_max = c->http_text_max, .max_connections = (unsigned)c->http_max_connections,
		.conn_timeout_s = (unsigned)(c->http_conn_timeout / 1000),
		.on_reply = replies_on_reply, .ctx = w->replies,
	};
	return replyhttp_start(&w->http, &hc, why, cap);
}

void wire_alert_poke(struct wire *w)
{
	if (w)
		alert_poke(w->alert);
}

void wire_free(struct wire *w)
{
	if (!w)
		return;
	replyhttp_stop(w->http);        /* waits for an on_reply() in progress */
	replies_free(w->replies);
	alert_free(w->alert);
	if (w->route)
		route_stop(w->route);   /* its worker calls our drivers */
	deliver_smtp_free(w->smtp);
	deliver_smtp_free(w->smtp_alert);
	deliver_webhook_free(w->webhook);
	if (w->curl)
		curl_global_cleanup();
	free(w);
}
