/*
 * deliver_webhook.c — the webhook delivery driver (see deliver_webhook.h).
 *
 * What it is for: handing a crew member's text to an SMS or chat gateway
 * over HTTP(S), signed so the gateway knows it came from us, with the
 * message id as the idempotency key so retries never deliver twice.
 *
 * Invariants: the driver state (names, URLs, keys) is immutable after
 * deliver_webhook_new(); each send() uses its own curl handle; keys stay in
 * sodium_malloc() memory (netutil.c).  Redirects are never followed (the
 * signature is for one URL) and only http/https are allowed.
 *
 * Failure behaviour: send() never blocks longer than timeout_ms; every
 * failure is classified temporary (ERR_AGAIN) or permanent per the table in
 * deliver_webhook.h and described in why, with the gateway's own answer
 * quoted (printable, truncated).  Nothing logs here: the router logs the
 * outcome.
 */
#include "shore/deliver_webhook.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "shore/netutil.h"

#define ANSWER_KEEP_BYTES 160u      /* of a gateway's answer, quoted in why */
#define HEADER_BYTES 128u
#define TEL_DIGITS_MIN 6u           /* shortest E.164 number worth trying */
#define TEL_DIGITS_MAX 15u          /* E.164 */
#define HTTP_TIMEOUT_CODE 408
#define HTTP_TOO_MANY 429
#define SCHEME_WEBHOOK "webhook:"
#define SCHEME_TEL "tel:"

struct hook {
	char name[DELIVER_WEBHOOK_NAME_MAX + 1];
	char url[DELIVER_WEBHOOK_URL_MAX + 1];
	struct netutil_secret *key;
};

struct deliver_webhook {
	struct hook hooks[DELIVER_WEBHOOK_MAX];
	size_t nhooks;
	char sms_hook[DELIVER_WEBHOOK_NAME_MAX + 1];
	char ca_file[DELIVER_WEBHOOK_PATH_MAX + 1];
	bool tls_insecure;
	long timeout_ms;
};

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > DELIVER_WEBHOOK_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20u || (unsigned char)*p >= 0x7fu)
			return false;
	return true;
}

/* Next whitespace-separated field of *p into out; 0, ERR_INVAL (none) or
 * ERR_TOOBIG. */
static int field(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = 0;
	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	*p = s + n;
	if (n == 0)
		return ERR_INVAL;
	if (n >= cap)
		return ERR_TOOBIG;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int deliver_webhook_spec_parse(const char *spec, char name[DELIVER_WEBHOOK_NAME_MAX + 1],
			       char url[DELIVER_WEBHOOK_URL_MAX + 1],
			       char secret_file[DELIVER_WEBHOOK_PATH_MAX + 1], char *why, size_t why_cap)
{
	const char *p = spec;
	char extra[2];
	int rc;
	if ((rc = field(&p, name, DELIVER_WEBHOOK_NAME_MAX + 1)) != 0 ||
	    (rc = field(&p, url, DELIVER_WEBHOOK_URL_MAX + 1)) != 0 ||
	    (rc = field(&p, secret_file, DELIVER_WEBHOOK_PATH_MAX + 1)) != 0) {
		if (rc == ERR_TOOBIG)
			snprintf(why, why_cap, "webhook: a field is too long (name %u, URL %u, path %u bytes "
				 "at most)", DELIVER_WEBHOOK_NAME_MAX, DELIVER_WEBHOOK_URL_MAX,
				 DELIVER_WEBHOOK_PATH_MAX);
		else
			snprintf(why, why_cap, "webhook: write NAME URL SECRET_FILE");
		return rc;
	}
	if (field(&p, extra, sizeof extra) != ERR_INVAL) {
		snprintf(why, why_cap, "webhook: text after SECRET_FILE (write NAME URL SECRET_FILE)");
		return ERR_INVAL;
	}
	if (!name_ok(name, strlen(name))) {
		snprintf(why, why_cap, "webhook: name \"%s\" must be letters, digits, '_' or '-'", name);
		return ERR_INVAL;
	}
	if (!url_ok(url)) {
		snprintf(why, why_cap, "webhook %s: URL must start with http:// or https://", name);
		return ERR_INVAL;
	}
	return 0;
}

void deliver_webhook_free(void *drv)
{
	struct deliver_webhook *w = drv;
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nhooks; i++)
		netutil_secret_free(w->hooks[i].key);
	free(w);
}

int deliver_webhook_new(void **drv, const struct deliver_webhook_config *cfg, char *why,
			size_t why_cap)
{
	*drv = NULL;
	if (cfg->nhooks > DELIVER_WEBHOOK_MAX) {
		snprintf(why, why_cap, "webhook: at most %u webhooks", DELIVER_WEBHOOK_MAX);
		return ERR_CONFIG;
	}
	const char *sms = cfg->sms_hook && *cfg->sms_hook ? cfg->sms_hook : DELIVER_WEBHOOK_SMS_DEFAULT;
	if (!name_ok(sms, strlen(sms)) ||
	    (cfg->ca_file && strlen(cfg->ca_file) > DELIVER_WEBHOOK_PATH_MAX)) {
		snprintf(why, why_cap, "webhook: bad sms hook name or CA file path");
		return ERR_CONFIG;
	}
	struct deliver_webhook *w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(why, why_cap, "out of memory");
		return ERR_NOMEM;
	}
	snprintf(w->sms_hook, sizeof w->sms_hook, "%s", sms);
	snprintf(w->ca_file, sizeof w->ca_file, "%s", cfg->ca_file ? cfg->ca_file : "");
	w->tls_insecure = cfg->tls_insecure;
	w->timeout_ms = (long)(cfg->timeout_ms ? cfg->timeout_ms : NETUTIL_TIMEOUT_MS_DEFAULT);
	int rc = 0;
	for (size_t i = 0; i < cfg->nhooks && rc == 0; i++) {
		const struct deliver_webhook_hook *h = &cfg->hooks[i];
		if (!h->name || !name_ok(h->name, strlen(h->name)) || !h->url || !url_ok(h->url) ||
		    strlen(h->url) > DELIVER_WEBHOOK_URL_MAX || !h->secret_file) {
			snprintf(why, why_cap, "webhook %zu: needs a name of letters, digits, '_', '-', an "
				 "http(s):// URL and a secret file", i + 1u);
			rc = ERR_CONFIG;
			break;
		}
		for (size_t j = 0; j < w->nhooks; j++)
			if (strcmp(w->hooks[j].name, h->name) == 0) {
				snprintf(why, why_cap, "webhook %s: defined twice", h->name);
				rc = ERR_CONFIG;
			}
		if (rc != 0)
			break;
		struct hook *d = &w->hooks[w->nhooks];
		snprintf(d->name, sizeof d->name, "%s", h->name);
		snprintf(d->url, sizeof d->url, "%s", h->url);
		char kwhy[DELIVER_WHY_MAX];
		rc = netutil_secret_load(h->secret_file, 0, &d->key, kwhy, sizeof kwhy);
		if (rc != 0) {
			snprintf(why, why_cap, "webhook %s: %s", h->name, kwhy);
			break;
		}
		w->nhooks++;
	}
	if (rc != 0) {
		deliver_webhook_free(w);
		return rc;
	}
	*drv = w;
	return 0;
}

int deliver_webhook_body(const struct deliver_msg *m, char **body, size_t *len)
{
	char id[HEADER_BYTES];
	snprintf(id, sizeof id, "%" PRIu32 "-%" PRIu64, m->vessel, m->msg_id);
	struct json j;
	json_init(&j);
	json_object_begin(&j);
	json_kv_string(&j, "id", id);
	json_kv_uint(&j, "vessel", m->vessel);
	json_kv_string(&j, "vessel_name", m->vessel_name ? m->vessel_name : "");
	json_kv_uint(&j, "msg_id", m->msg_id);
	json_kv_uint(&j, "crew_id", m->crew_id);
	json_kv_uint(&j, "contact_ref", m->contact_ref);
	json_kv_string(&j, "to", m->to);
	json_kv_string(&j, "contact_name", m->contact_name ? m->contact_name : "");
	json_kv_string(&j, "channel", m->channel ? m->channel : "");
	json_kv_int(&j, "ts", m->ts);
	json_key(&j, "text");
	json_string_n(&j, m->text ? m->text : "", m->text ? m->text_len : 0);
	json_object_end(&j);
	int rc = json_finish(&j, body, len);
	json_fini(&j);
	return rc;
}

/* Which hook an address goes to: 0 and *h, ERR_INVAL (malformed) or
 * ERR_AGAIN (no such hook configured). */
static int route(const struct deliver_webhook *w, const char *to, const struct hook **h,
		 char *why, size_t why_cap)
{
	const char *name;
	size_t nlen;
	*h = NULL;
	if (strncmp(to, SCHEME_WEBHOOK, sizeof SCHEME_WEBHOOK - 1u) == 0) {
		name = to + sizeof SCHEME_WEBHOOK - 1u;
		nlen = strlen(name);
		if (!name_ok(name, nlen)) {
			snprintf(why, why_cap, "webhook: bad address (webhook:NAME, NAME of letters, digits, "
				 "'_', '-')");
			return ERR_INVAL;
		}
	} else if (strncmp(to, SCHEME_TEL, sizeof SCHEME_TEL - 1u) == 0) {
		const char *p = to + sizeof SCHEME_TEL - 1u;
		size_t digits = 0;
		bool ok = *p == '+';
		for (p++; ok && *p; p++) {
			if (*p >= '0' && *p <= '9')
				digits++;
			else if (*p != '-' && *p != '.')   /* RFC 3966 visual separators */
				ok = false;
		}
		if (!ok || digits < TEL_DIGITS_MIN || digits > TEL_DIGITS_MAX) {
			snprintf(why, why_cap, "webhook: bad phone number (tel:+ and %u..%u digits, "
				 "international form)", TEL_DIGITS_MIN, TEL_DIGITS_MAX);
			return ERR_INVAL;
		}
		name = w->sms_hook;
		nlen = strlen(name);
	} else {
		snprintf(why, why_cap, "webhook: cannot deliver to this address (tel: or webhook:NAME)");
		return ERR_INVAL;
	}
	for (size_t i = 0; i < w->nhooks; i++)
		if (strlen(w->hooks[i].name) == nlen && memcmp(w->hooks[i].name, name, nlen) == 0) {
			*h = &w->hooks[i];
			return 0;
		}
	snprintf(why, why_cap, "webhook: no webhook named \"%.*s\" is configured (add webhook = %.*s "
		 "URL SECRET_FILE to shored's config)", (int)nlen, name, (int)nlen, name);
	return ERR_AGAIN;
}

struct answer {
	char text[ANSWER_KEEP_BYTES];
	size_t len;
};

static size_t keep_answer(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t total = size * n;
	size_t room = sizeof a->text - 1u - a->len;
	size_t k = total < room ? total : room;
	memcpy(a->text + a->len, p, k);
	a->len += k;
	a->text[a->len] = '\0';
	return total;                 /* the rest is read and dropped */
}

static int classify(const struct hook *h, CURLcode cc, long code, const struct answer *a,
		    const char *errbuf, long timeout_ms, char *why, size_t why_cap)
{
	char said[ANSWER_KEEP_BYTES];
	netutil_printable(a->text, a->len, said, sizeof said);
	if (cc != CURLE_OK) {
		if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(why, why_cap, "webhook %s: no answer within %ld ms", h->name, timeout_ms);
		else
			snprintf(why, why_cap, "webhook %s: %s", h->name, *errbuf ? errbuf : curl_easy_strerror(cc));
		return ERR_AGAIN;
	}
	snprintf(why, why_cap, "webhook %s: HTTP %ld%s%s", h->name, code, *said ? ": " : "", said);
	if (code >= 200 && code < 300)
		return 0;
	if (code < 400 || code == HTTP_TIMEOUT_CODE || code == HTTP_TOO_MANY || code >= 500)
		return ERR_AGAIN;
	return ERR_PERM;
}

static int webhook_send(void *drv, const struct deliver_msg *m, char *why, size_t why_cap)
{
	const struct deliver_webhook *w = drv;
	const struct hook *h;
	int rc = route(w, m->to, &h, why, why_cap);
	if (rc != 0)
		return rc;
	char *body = NULL;
	size_t len = 0;
	if (deliver_webhook_body(m, &body, &len) != 0) {
		snprintf(why, why_cap, "webhook %s: cannot build the request (out of memory?)", h->name);
		return ERR_AGAIN;
	}
	int64_t now = (int64_t)time(NULL);
	char sig[NETUTIL_SIG_BYTES];
	netutil_sign(h->key, now, body, len, sig);
	char hdr_key[HEADER_BYTES], hdr_ts[HEADER_BYTES], hdr_sig[HEADER_BYTES];
	snprintf(hdr_key, sizeof hdr_key, "Idempotency-Key: %" PRIu32 "-%" PRIu64, m->vessel, m->msg_id);
	snprintf(hdr_ts, sizeof hdr_ts, "X-Lifeline-Timestamp: %" PRId64, now);
	snprintf(hdr_sig, sizeof hdr_sig, "X-Lifeline-Signature: %s", sig);
	static const char *const fixed[] = {
		"Content-Type: application/json",
		"Expect:",                     /* no 100-continue round trip */
	};
	struct curl_slist *hdrs = NULL, *t;
	const char *all[] = { fixed[0], fixed[1], hdr_key, hdr_ts, hdr_sig };
	bool hdrs_ok = true;
	for (size_t i = 0; i < sizeof all / sizeof all[0] && hdrs_ok; i++) {
		t = curl_slist_append(hdrs, all[i]);
		hdrs_ok = t != NULL;
		hdrs = t ? t : hdrs;
	}
	CURL *c = curl_easy_init();
	if (c == NULL || !hdrs_ok) {
		snprintf(why, why_cap, "webhook %s: cannot set up the request (out of memory?)", h->name);
		rc = ERR_AGAIN;
		goto out;
	}
	struct answer a = { .len = 0 };
	a.text[0] = '\0';
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "lifeline-shored/" LIFELINE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (w->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, w->ca_file);
	if (w->tls_insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	rc = classify(h, cc, code, &a, errbuf, w->timeout_ms, why, why_cap);
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(body);
	return rc;
}

const struct deliver_ops deliver_webhook_ops = {
	.name = "webhook",
	.send = webhook_send,
};
