/*
 * replyhttp.c — the reply endpoint (see replyhttp.h).
 *
 * What it is for: families answer by SMS, chat or e-mail; their gateway
 * posts each answer here, and shored queues it for the vessel.
 *
 * Invariants: a request body is held in at most body_max bytes (one buffer
 * per connection, freed when the request completes); the signature is
 * checked over the exact body bytes before any JSON is parsed
 * (authenticated before parsed further); on_reply() only sees a
 * well-formed, authenticated reply; the answer to a request is sent only
 * after on_reply() has returned, so a 202 means "committed".
 *
 * Failure behaviour: every refusal is an HTTP status with a JSON reason and
 * a counter; refusals are logged at most once per burst (log_burst) so a
 * flood cannot fill the journal.  An out-of-memory while answering makes
 * libmicrohttpd close the connection (the gateway retries).
 */
#include "shore/replyhttp.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "shore/netutil.h"

#define WHY_BYTES 256u
#define REPLY_JSON_DEPTH 4u           /* a reply is one flat object; room for extras */
#define REPLY_JSON_NODES 64u
#define LOG_QUIET_MS 10000u
#define MS_PER_S 1000u
#define NUM_BYTES 24u

#define HTTP_OK 200
#define HTTP_ACCEPTED 202
#define HTTP_BAD_REQUEST 400
#define HTTP_UNAUTHORIZED 401
#define HTTP_FORBIDDEN 403
#define HTTP_NOT_FOUND 404
#define HTTP_BAD_METHOD 405
#define HTTP_TOO_LARGE 413
#define HTTP_UNAVAILABLE 503

struct replyhttp {
	struct MHD_Daemon *d;
	struct netutil_secret *key;
	uint64_t max_skew_s;
	size_t body_max, text_max;
	int (*on_reply)(void *, const struct replyhttp_reply *, uint64_t *, char *, size_t);
	void *ctx;
	uint16_t port;
	atomic_uint_fast64_t accepted, duplicates, refused_auth, refused_json, refused_size, unavailable;
	struct log_burst burst;       /* used only from the MHD thread */
};

struct request {
	char *body;
	size_t len;
	bool too_big;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / 1000000u;
}

static void note_refusal(struct replyhttp *h, int status, const char *why)
{
	uint64_t suppressed = 0;
	if (log_burst_check(&h->burst, now_ms(), LOG_QUIET_MS, &suppressed))
		log_warn("replyhttp: refused a reply with %d: %s (%" PRIu64 " similar suppressed)", status, why,
			 suppressed);
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
							       MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == HTTP_UNAVAILABLE) {
		char ra[NUM_BYTES];
		snprintf(ra, sizeof ra, "%u", REPLYHTTP_RETRY_AFTER_S);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (status == HTTP_BAD_METHOD)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"error":why} (or {"reply_id":N[,"duplicate":true]} when id != NULL). */
static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *why,
			      const uint64_t *id, bool duplicate)
{
	struct json j;
	json_init(&j);
	json_object_begin(&j);
	if (id != NULL) {
		json_kv_uint(&j, "reply_id", *id);
		if (duplicate)
			json_kv_bool(&j, "duplicate", true);
	} else {
		json_kv_string(&j, "error", why);
	}
	json_object_end(&j);
	char *text = NULL;
	enum MHD_Result ret = MHD_NO;
	if (json_finish(&j, &text, NULL) == 0)
		ret = send_json(c, status, text);
	free(text);
	json_fini(&j);
	return ret;
}

static enum MHD_Result refuse(struct replyhttp *h, struct MHD_Connection *c, int status,
			      atomic_uint_fast64_t *counter, const char *why)
{
	if (counter != NULL)
		atomic_fetch_add(counter, 1);
	note_refusal(h, status, why);
	return answer(c, status, why, NULL, false);
}

/* A uint32 member >= 1; 0 or why. */
static int get_id32(const struct json_doc *d, const struct json_node *root, const char *key,
		    uint32_t *out, char *why, size_t why_cap)
{
	uint64_t v;
	int rc = json_get_uint(d, root, key, &v);
	if (rc != 0 || v == 0 || v > UINT32_MAX) {
		snprintf(why, why_cap, "\"%s\" must be a whole number from 1 to 4294967295%s", key,
			 rc == ERR_NOTFOUND ? " (missing)" : "");
		return ERR_INVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static bool printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20u || (unsigned char)s[i] >= 0x7fu)
			return false;
	return true;
}

/* Parses and checks the body into r (strings point into d).  0 or why. */
static int parse_reply(const struct replyhttp *h, const char *body, size_t len, struct json_doc *d,
		       struct replyhttp_reply *r, char *why, size_t why_cap)
{
	struct json_error e;
	struct json_limits lim = { .max_bytes = h->body_max, .max_depth = REPLY_JSON_DEPTH,
				   .max_nodes = REPLY_JSON_NODES };
	if (json_parse(d, body, len, &lim, &e) != 0) {
		snprintf(why, why_cap, "bad JSON: %s", e.msg);
		return ERR_INVAL;
	}
	const struct json_node *root = json_root(d);
	if (root->type != JSON_OBJECT) {
		snprintf(why, why_cap, "the body must be a JSON object");
		return ERR_INVAL;
	}
	if (get_id32(d, root, "vessel", &r->vessel, why, why_cap) != 0 ||
	    get_id32(d, root, "crew", &r->crew, why, why_cap) != 0 ||
	    get_id32(d, root, "contact", &r->contact, why, why_cap) != 0)
		return ERR_INVAL;
	size_t idlen = 0;
	if (json_get_string(d, root, "text", &r->text, &r->text_len) != 0 || r->text_len == 0 ||
	    r->text_len > h->text_max) {
		snprintf(why, why_cap, "\"text\" must be a string of 1 to %zu bytes of UTF-8 without NUL",
			 h->text_max);
		return ERR_INVAL;
	}
	if (json_get_string(d, root, "id", &r->id, &idlen) != 0 || idlen == 0 ||
	    idlen > REPLYHTTP_ID_MAX || !printable_ascii(r->id, idlen)) {
		snprintf(why, why_cap, "\"id\" must be the gateway's unique id: 1 to %u printable ASCII "
			 "characters without spaces", REPLYHTTP_ID_MAX);
		return ERR_INVAL;
	}
	return 0;
}

static enum MHD_Result complete(struct replyhttp *h, struct MHD_Connection *c, struct request *q)
{
	char why[WHY_BYTES] = "";
	if (q->too_big)
		return refuse(h, c, HTTP_TOO_LARGE, &h->refused_size, "body too large");
	struct replyhttp_reply r;
	memset(&r, 0, sizeof r);
	const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lifeline-Timestamp");
	const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Lifeline-Signature");
	if (netutil_verify(h->key, ts, sig, q->body ? q->body : "", q->len, (int64_t)time(NULL),
			   h->max_skew_s, &r.ts, why, sizeof why) != 0)
		return refuse(h, c, HTTP_UNAUTHORIZED, &h->refused_auth, why);
	struct json_doc d;
	if (parse_reply(h, q->body ? q->body : "", q->len, &d, &r, why, sizeof why) != 0) {
		json_doc_free(&d);
		return refuse(h, c, HTTP_BAD_REQUEST, &h->refused_json, why);
	}
	uint64_t id = 0;
	int rc = h->on_reply(h->ctx, &r, &id, why, sizeof why);
	json_doc_free(&d);
	switch (rc) {
	case 0:
		atomic_fetch_add(&h->accepted, 1);
		return answer(c, HTTP_ACCEPTED, NULL, &id, false);
	case ERR_DUP:
		atomic_fetch_add(&h->duplicates, 1);
		return answer(c, HTTP_OK, NULL, &id, true);
	case ERR_NOTFOUND:
		return refuse(h, c, HTTP_NOT_FOUND, NULL, why[0] ? why : "no such vessel, crew or contact");
	case ERR_PERM:
		return refuse(h, c, HTTP_FORBIDDEN, NULL, why[0] ? why : "not allowed");
	case ERR_INVAL:
	case ERR_TOOBIG:
	case ERR_UTF8:
		return refuse(h, c, HTTP_BAD_REQUEST, &h->refused_json, why[0] ? why : "reply refused");
	default:
		return refuse(h, c, HTTP_UNAVAILABLE, &h->unavailable,
			      why[0] ? why : "cannot queue the reply now: try again later");
	}
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct replyhttp *h = cls;
	(void)version;
	struct request *q = *con_cls;
	if (q == NULL) {              /* headers are in; no body read yet */
		if (strcmp(url, "/v1/health") == 0) {
			if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
				return answer(c, HTTP_BAD_METHOD, "use GET", NULL, false);
			return send_json(c, HTTP_OK, "{\"status\":\"ok\"}");
		}
		if (strcmp(url, "/v1/replies") != 0)
			return answer(c, HTTP_NOT_FOUND, "no such endpoint (POST /v1/replies, GET /v1/health)",
				      NULL, false);
		if (strcmp(method, "POST") != 0)
			return answer(c, HTTP_BAD_METHOD, "use POST", NULL, false);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (*end != '\0' || n > h->body_max)
				return refuse(h, c, HTTP_TOO_LARGE, &h->refused_size, "body too large");
		}
		q = calloc(1, sizeof *q);
		if (q == NULL)
			return MHD_NO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;
		*upload_size = 0;         /* consumed (or dropped when too big) */
		if (q->too_big)
			return MHD_YES;
		if (n > h->body_max - q->len) {
			q->too_big = true;
			free(q->body);
			q->body = NULL;
			return MHD_YES;
		}
		if (q->body == NULL && (q->body = malloc(h->body_max)) == NULL)
			return MHD_NO;
		memcpy(q->body + q->len, upload, n);
		q->len += n;
		return MHD_YES;
	}
	return complete(h, c, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct request *q = *con_cls;
	if (q != NULL) {
		free(q->body);
		free(q);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's own messages: fmt comes from the library. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[WHY_BYTES];
	vsnprintf(line, sizeof line, fmt, ap);
	log_warn("replyhttp: %s", line);
}

/* "ADDR:PORT" / "[ADDR6]:PORT" -> *ss. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
	char host[REPLYHTTP_LISTEN_MAX];
	const char *colon;
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof host)
		return ERR_CONFIG;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return ERR_CONFIG;
		snprintf(host, sizeof host, "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return ERR_CONFIG;
		snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
	}
	const char *port = colon + 1;
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p > UINT16_MAX)
		return ERR_CONFIG;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM }, *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return ERR_CONFIG;
	if (ai->ai_addrlen > sizeof *ss) {
		freeaddrinfo(ai);
		return ERR_CONFIG;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
}

int replyhttp_start(struct replyhttp **out, const struct replyhttp_config *cfg, char *why,
		    size_t why_cap)
{
	*out = NULL;
	struct sockaddr_storage ss;
	bool v6 = false;
	if (cfg->listen == NULL || parse_listen(cfg->listen, &ss, &v6) != 0) {
		snprintf(why, why_cap, "http_listen must be ADDRESS:PORT with a numeric address, such as "
			 "127.0.0.1:8080 or [::1]:8080");
		return ERR_CONFIG;
	}
	if (cfg->on_reply == NULL || cfg->secret_file == NULL) {
		snprintf(why, why_cap, "replyhttp: needs on_reply and http_secret");
		return ERR_CONFIG;
	}
	struct replyhttp *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(why, why_cap, "out of memory");
		return ERR_NOMEM;
	}
	char kwhy[WHY_BYTES];
	int rc = netutil_secret_load(cfg->secret_file, 0, &h->key, kwhy, sizeof kwhy);
	if (rc != 0) {
		snprintf(why, why_cap, "http_secret: %s", kwhy);
		free(h);
		return rc;
	}
	h->max_skew_s = cfg->max_skew_s ? cfg->max_skew_s : REPLYHTTP_SKEW_S_DEFAULT;
	h->body_max = cfg->body_max ? cfg->body_max : REPLYHTTP_BODY_MAX_DEFAULT;
	h->text_max = cfg->text_max ? cfg->text_max : REPLYHTTP_TEXT_MAX_DEFAULT;
	h->on_reply = cfg->on_reply;
	h->ctx = cfg->ctx;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
			 (v6 ? MHD_USE_IPv6 : 0u);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,   /* first, or MHD warns */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_CONNECTION_LIMIT,
				cfg->max_connections ? cfg->max_connections : REPLYHTTP_CONNECTIONS_DEFAULT,
				MHD_OPTION_CONNECTION_TIMEOUT,
				cfg->conn_timeout_s ? cfg->conn_timeout_s : REPLYHTTP_CONN_TIMEOUT_S_DEFAULT,
				MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(why, why_cap, "http_listen %s: cannot listen (address in use or not local?)",
			 cfg->listen);
		netutil_secret_free(h->key);
		free(h);
		return ERR_IO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	return 0;
}

uint16_t replyhttp_port(const struct replyhttp *h)
{
	return h->port;
}

void replyhttp_stats(const struct replyhttp *h, struct replyhttp_stats *st)
{
	st->accepted = atomic_load(&h->accepted);
	st->duplicates = atomic_load(&h->duplicates);
	st->refused_auth = atomic_load(&h->refused_auth);
	st->refused_json = atomic_load(&h->refused_json);
	st->refused_size = atomic_load(&h->refused_size);
	st->unavailable = atomic_load(&h->unavailable);
}

void replyhttp_stop(struct replyhttp *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	netutil_secret_free(h->key);
	free(h);
}
