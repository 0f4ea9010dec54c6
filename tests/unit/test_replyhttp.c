/*
 * test_replyhttp.c — the reply endpoint, driven by libcurl over real
 * loopback TCP: health; a good signed Burmese reply (202, the callback saw
 * every field); the same gateway id again (200, the earlier reply id,
 * nothing queued twice); bad signature, tampered body, stale and future
 * timestamps, missing headers (401, callback not called); bad JSON and bad
 * fields (400 with the reason and offset); oversized bodies with and
 * without Content-Length (413); callback failures (503 with Retry-After,
 * 404); wrong method and path; bad listen settings; counters.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/json.h"
#include "shore/netutil.h"
#include "shore/replyhttp.h"
#include "tests/lib/testutil.h"

#define SECRET "reply-secret-0123456789abcdef-0123"
#define PATHBUF 4096
#define BODY_MAX 1024u
#define ANSWER_MAX 1024u
#define SKEW_S 300
#define BURMESE "\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac\xe1\x80\x95\xe1\x80\xab"

struct store {
	pthread_mutex_t mu;
	int calls;
	char ids[16][REPLYHTTP_ID_MAX + 1];
	uint64_t next_id;
	struct replyhttp_reply last;
	char last_text[256];
	int fail;                  /* returned when != 0 */
};

static struct store store = { .mu = PTHREAD_MUTEX_INITIALIZER };
static char *dir;
static char secret_path[PATHBUF];
static struct replyhttp *srv;
static struct netutil_secret *key;

/* The test's stand-in for shored's store: dedup on the gateway id. */
static int on_reply(void *ctx, const struct replyhttp_reply *r, uint64_t *reply_id, char *why,
		    size_t why_cap)
{
	struct store *s = ctx;
	pthread_mutex_lock(&s->mu);
	s->calls++;
	int rc = s->fail;
	if (rc == ERR_NOTFOUND)
		snprintf(why, why_cap, "no crew member %u on vessel %u", r->crew, r->vessel);
	for (uint64_t i = 0; rc == 0 && i < s->next_id; i++)
		if (strcmp(s->ids[i], r->id) == 0) {
			*reply_id = i + 1;
			rc = ERR_DUP;
		}
	if (rc == 0 && s->next_id < 16) {
		snprintf(s->ids[s->next_id], sizeof s->ids[0], "%s", r->id);
		*reply_id = ++s->next_id;
		s->last = *r;
		snprintf(s->last_text, sizeof s->last_text, "%s", r->text);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int setup(void)
{
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	dir = tu_tmpdir();
	if (dir == NULL)
		return -1;
	snprintf(secret_path, sizeof secret_path, "%s/http.secret", dir);
	if (tu_write_file(secret_path, SECRET "\n", strlen(SECRET) + 1) != 0 || chmod(secret_path, 0600) != 0)
		return -1;
	char why[256];
	if (netutil_secret_load(secret_path, 0, &key, why, sizeof why) != 0)
		return -1;
	struct replyhttp_config cfg = { .listen = "127.0.0.1:0", .secret_file = secret_path,
					.body_max = BODY_MAX, .on_reply = on_reply, .ctx = &store };
	if (replyhttp_start(&srv, &cfg, why, sizeof why) != 0) {
		fprintf(stderr, "replyhttp_start: %s\n", why);
		return -1;
	}
	return 0;
}

static int teardown(void)
{
	replyhttp_stop(srv);
	netutil_secret_free(key);
	if (dir) {
		tu_rmrf(dir);
		free(dir);
	}
	curl_global_cleanup();
	return 0;
}

struct answer {
	char text[ANSWER_MAX];
	size_t len;
	char retry_after[32];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t k = size * n;
	if (k > sizeof a->text - 1 - a->len)
		k = sizeof a->text - 1 - a->len;
	memcpy(a->text + a->len, p, k);
	a->len += k;
	a->text[a->len] = '\0';
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	if (n * size > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		snprintf(a->retry_after, sizeof a->retry_after, "%.*s", (int)(n * size - 13), p + 13);
	return size * n;
}

enum sig_mode { SIG_GOOD, SIG_NONE, SIG_WRONG_KEY, SIG_TAMPER, SIG_GARBLED };

/* POSTs body to path with a signature made per mode at time ts; returns
 * the HTTP status (0 when the request failed). */
static long request(const char *method, const char *path, const char *body, size_t len,
		    enum sig_mode mode, int64_t ts, bool chunked, struct answer *a)
{
	char url[128], th[64], sh[128], sig[NETUTIL_SIG_BYTES];
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", replyhttp_port(srv), path);
	memset(a, 0, sizeof *a);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	if (mode != SIG_NONE) {
		struct netutil_secret *k = key;
		char why[128];
		char wrong[PATHBUF];
		if (mode == SIG_WRONG_KEY) {
			snprintf(wrong, sizeof wrong, "%s/wrong.secret", dir);
			CU_ASSERT_EQUAL(tu_write_file(wrong, "another-secret-0123456789", 25), 0);
			chmod(wrong, 0600);
			CU_ASSERT_EQUAL_FATAL(netutil_secret_load(wrong, 0, &k, why, sizeof why), 0);
		}
		netutil_sign(k, ts, body, len, sig);
		if (k != key)
			netutil_secret_free(k);
		if (mode == SIG_GARBLED)
			sig[10] = 'x';
		snprintf(th, sizeof th, "X-Lifeline-Timestamp: %lld", (long long)ts);
		snprintf(sh, sizeof sh, "X-Lifeline-Signature: %s", sig);
		h = curl_slist_append(h, th);
		h = curl_slist_append(h, sh);
	}
	char *sent = malloc(len + 1);
	memcpy(sent, body, len);
	sent[len] = '\0';                     /* chunked: curl takes strlen() */
	if (mode == SIG_TAMPER && len > 0)
		sent[len - 2] ^= 1;                /* a change inside the JSON */
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, sent);
		if (!chunked)
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(sent);
	return code;
}

static long post(const char *body, enum sig_mode mode, int64_t ts, struct answer *a)
{
	return request("POST", "/v1/replies", body, strlen(body), mode, ts, false, a);
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

static int calls(void)
{
	pthread_mutex_lock(&store.mu);
	int n = store.calls;
	pthread_mutex_unlock(&store.mu);
	return n;
}

static void test_health_and_routes(void)
{
	struct answer a;
	CU_ASSERT_EQUAL(request("GET", "/v1/health", "", 0, SIG_NONE, 0, false, &a), 200);
	CU_ASSERT_STRING_EQUAL(a.text, "{\"status\":\"ok\"}");
	CU_ASSERT_EQUAL(request("GET", "/v1/replies", "", 0, SIG_NONE, 0, false, &a), 405);
	CU_ASSERT_EQUAL(request("POST", "/v1/nothing", "{}", 2, SIG_GOOD, now(), false, &a), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.text, "POST /v1/replies"));
	CU_ASSERT_EQUAL(request("DELETE", "/v1/health", "", 0, SIG_NONE, 0, false, &a), 405);
	CU_ASSERT_EQUAL(calls(), 0);
}

static const char good[] =
	"{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"" BURMESE "\\nlove, mum\",\"id\":\"gw-0001\"}";

static void test_good_and_duplicate(void)
{
	struct answer a;
	int before = calls();
	int64_t ts = now();
	CU_ASSERT_EQUAL(post(good, SIG_GOOD, ts, &a), 202);
	CU_ASSERT_STRING_EQUAL(a.text, "{\"reply_id\":1}");
	CU_ASSERT_EQUAL(calls(), before + 1);
	pthread_mutex_lock(&store.mu);
	CU_ASSERT_EQUAL(store.last.vessel, 7);
	CU_ASSERT_EQUAL(store.last.crew, 3);
	CU_ASSERT_EQUAL(store.last.contact, 2);
	CU_ASSERT_EQUAL(store.last.ts, ts);
	CU_ASSERT_STRING_EQUAL(store.last_text, BURMESE "\nlove, mum");
	CU_ASSERT_STRING_EQUAL(store.ids[0], "gw-0001");
	pthread_mutex_unlock(&store.mu);
	/* the gateway lost our 202 and retries */
	CU_ASSERT_EQUAL(post(good, SIG_GOOD, now(), &a), 200);
	CU_ASSERT_STRING_EQUAL(a.text, "{\"reply_id\":1,\"duplicate\":true}");
	/* another id is another reply */
	CU_ASSERT_EQUAL(post("{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"ok\",\"id\":\"gw-0002\","
			     "\"extra\":[1,2]}", SIG_GOOD, now(), &a), 202);
	CU_ASSERT_STRING_EQUAL(a.text, "{\"reply_id\":2}");
	pthread_mutex_lock(&store.mu);
	CU_ASSERT_EQUAL(store.next_id, 2);
	pthread_mutex_unlock(&store.mu);
}

static void test_auth_refused(void)
{
	struct answer a;
	int before = calls();
	struct { enum sig_mode mode; int64_t ts; const char *says; } v[] = {
		{ SIG_NONE, 0, "missing X-Lifeline-Timestamp" },
		{ SIG_WRONG_KEY, now(), "does not match" },
		{ SIG_TAMPER, now(), "does not match" },
		{ SIG_GARBLED, now(), "64 hex digits" },
		{ SIG_GOOD, now() - SKEW_S - 5, "from our clock" },
		{ SIG_GOOD, now() + SKEW_S + 5, "from our clock" },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		CU_ASSERT_EQUAL(post(good, v[i].mode, v[i].ts, &a), 401);
		if (!strstr(a.text, v[i].says))
			fprintf(stderr, "\nauth %zu: %s\n", i, a.text);
		CU_ASSERT_PTR_NOT_NULL(strstr(a.text, v[i].says));
	}
	/* within the skew is fine (the duplicate answer proves it got through) */
	CU_ASSERT_EQUAL(post(good, SIG_GOOD, now() - SKEW_S + 5, &a), 200);
	CU_ASSERT_EQUAL(calls(), before + 1);
}

static void test_bad_json(void)
{
	struct { const char *body; const char *says; } v[] = {
		{ "{\"vessel\":7,", "bad JSON: offset 12" },
		{ "", "bad JSON: offset 0: empty document" },
		{ "[1]", "must be a JSON object" },
		{ "{\"vessel\":7,\"vessel\":8}", "duplicate key" },
		{ "{\"vessel\":0,\"crew\":3,\"contact\":2,\"text\":\"x\",\"id\":\"g\"}", "\"vessel\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":4294967296,\"text\":\"x\",\"id\":\"g\"}", "\"contact\" must be" },
		{ "{\"vessel\":7,\"contact\":2,\"text\":\"x\",\"id\":\"g\"}", "\"crew\" must be a whole number from 1 to 4294967295 (missing)" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":5,\"id\":\"g\"}", "\"text\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"\",\"id\":\"g\"}", "\"text\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"a\\u0000b\",\"id\":\"g\"}", "\"text\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"x\",\"id\":\"a b\"}", "\"id\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"x\"}", "\"id\" must be" },
		{ "{\"vessel\":7,\"crew\":3,\"contact\":2,\"text\":\"\xff\",\"id\":\"g\"}", "invalid UTF-8" },
		{ "[[[[[1]]]]]", "nested deeper" },
	};
	struct answer a;
	int before = calls();
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		CU_ASSERT_EQUAL(post(v[i].body, SIG_GOOD, now(), &a), 400);
		/* the answer itself is strict JSON: {"error":"..."} */
		struct json_doc d;
		struct json_error e;
		const char *err = "";
		CU_ASSERT_EQUAL_FATAL(json_parse(&d, a.text, a.len, NULL, &e), 0);
		CU_ASSERT_EQUAL(json_get_string(&d, json_root(&d), "error", &err, NULL), 0);
		if (!strstr(err, v[i].says))
			fprintf(stderr, "\njson %zu: %s\n", i, a.text);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, v[i].says));
		json_doc_free(&d);
	}
	CU_ASSERT_EQUAL(calls(), before);
}

static void test_too_big(void)
{
	char body[BODY_MAX + 2];
	struct answer a;
	memset(body, ' ', sizeof body);
	memcpy(body, "{}", 2);
	/* exactly BODY_MAX: read, then refused as a reply (400), not 413 */
	CU_ASSERT_EQUAL(request("POST", "/v1/replies", body, BODY_MAX, SIG_GOOD, now(), false, &a), 400);
	CU_ASSERT_EQUAL(request("POST", "/v1/replies", body, BODY_MAX + 1, SIG_GOOD, now(), false, &a), 413);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.text, "too large"));
	CU_ASSERT_EQUAL(request("POST", "/v1/replies", body, BODY_MAX + 1, SIG_GOOD, now(), true, &a), 413);
	CU_ASSERT_EQUAL(request("POST", "/v1/replies", body, BODY_MAX, SIG_GOOD, now(), true, &a), 400);
}

static void test_callback_failures(void)
{
	struct answer a;
	const char *body = "{\"vessel\":9,\"crew\":1,\"contact\":1,\"text\":\"x\",\"id\":\"gw-9\"}";
	store.fail = ERR_DB;
	CU_ASSERT_EQUAL(post(body, SIG_GOOD, now(), &a), 503);
	CU_ASSERT_STRING_EQUAL(a.retry_after, "30\r\n");
	store.fail = ERR_NOTFOUND;
	CU_ASSERT_EQUAL(post(body, SIG_GOOD, now(), &a), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.text, "no crew member 1 on vessel 9"));
	store.fail = ERR_PERM;
	CU_ASSERT_EQUAL(post(body, SIG_GOOD, now(), &a), 403);
	store.fail = 0;
	CU_ASSERT_EQUAL(post(body, SIG_GOOD, now(), &a), 202);   /* nothing was stored before */
	struct replyhttp_stats st;
	replyhttp_stats(srv, &st);
	CU_ASSERT_EQUAL(st.accepted, 3);
	CU_ASSERT(st.duplicates >= 2);
	CU_ASSERT_EQUAL(st.unavailable, 1);
	CU_ASSERT(st.refused_auth >= 6);
	CU_ASSERT(st.refused_size >= 2);
	CU_ASSERT(st.refused_json >= 14);
}

static void test_start_errors(void)
{
	static const char *const listens[] = { "", "127.0.0.1", "localhost:80", "127.0.0.1:99999",
					       "[::1]8080", "1.2.3.4.5:80", "127.0.0.1:x" };
	char why[256];
	struct replyhttp *h;
	for (size_t i = 0; i < sizeof listens / sizeof listens[0]; i++) {
		struct replyhttp_config cfg = { .listen = listens[i], .secret_file = secret_path,
						.on_reply = on_reply, .ctx = &store };
		CU_ASSERT_EQUAL(replyhttp_start(&h, &cfg, why, sizeof why), ERR_CONFIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "http_listen"));
	}
	/* the port in use */
	char busy[64];
	snprintf(busy, sizeof busy, "127.0.0.1:%u", replyhttp_port(srv));
	struct replyhttp_config cfg = { .listen = busy, .secret_file = secret_path, .on_reply = on_reply };
	CU_ASSERT_EQUAL(replyhttp_start(&h, &cfg, why, sizeof why), ERR_IO);
	cfg.listen = "127.0.0.1:0";
	cfg.secret_file = "/nonexistent";
	CU_ASSERT_EQUAL(replyhttp_start(&h, &cfg, why, sizeof why), ERR_NOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "http_secret"));
	/* IPv6 loopback with a port from tu_free_tcp_port (may be absent in a container) */
	char v6[64];
	snprintf(v6, sizeof v6, "[::1]:%d", tu_free_tcp_port());
	cfg.listen = v6;
	cfg.secret_file = secret_path;
	if (replyhttp_start(&h, &cfg, why, sizeof why) == 0)
		replyhttp_stop(h);
	replyhttp_stop(NULL);
}

void suite_replyhttp(void);
void suite_replyhttp(void)
{
	CU_pSuite s = CU_add_suite("replyhttp", setup, teardown);
	CU_add_test(s, "health, routes, methods", test_health_and_routes);
	CU_add_test(s, "good reply 202, same id 200", test_good_and_duplicate);
	CU_add_test(s, "signature and timestamp refused 401", test_auth_refused);
	CU_add_test(s, "bad JSON and fields 400", test_bad_json);
	CU_add_test(s, "oversized 413 +-1", test_too_big);
	CU_add_test(s, "callback failures 503/404/403", test_callback_failures);
	CU_add_test(s, "start errors", test_start_errors);
}
