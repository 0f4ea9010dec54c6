/*
 * test_delivery.c — end to end: the real vesseld and the real shored (over
 * TCP) delivering through the real drivers to real servers started here,
 * and a family's reply coming back (issue 5, "Must show").
 *
 * One shored serves the whole suite:
 *   crew 1: mailto:     -> SMTP (tests/lib/smtpd_capture.py, aiosmtpd)
 *   crew 2: webhook:family -> HTTP receiver answering 503 twice, then 200
 *   crew 3: tel:        -> webhook "sms": a socket that never answers
 *   webhook "ops" (http_capture.py) gets the operator alerts;
 *   the reply endpoint takes families' answers (libcurl, HMAC-signed with
 *   libsodium here, independent of shore/netutil.c).
 * What it proves: (a) a UTF-8 text reaches the SMTP server with the right
 * headers and the crew member sees "delivered"; (b) retries with one
 * idempotency key, then "delivered"; (c) dead letter: "failed" with a
 * reason on board; (d) a reply reaches `vesselctl inbox` once, however
 * often the gateway posts it; (e) a silent vessel's alert reaches the
 * alert webhook.  Short timeouts (retry 200ms, dead letter 4s, silence
 * 2s); every wait is a condition with a deadline; no sleeps.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define PYTHON "/usr/bin/python3"
#define READY_MS 15000
#define WAIT_MS 20000
#define PIN "4711"
#define VESSEL 201
#define VESSEL_NAME "Sea Star 201"
#define SECRET "0123456789abcdef-e2e-secret-0123456789"
#define CREW 3
#define PATHBUF 1024
#define MOTHER_TH "\xe0\xb9\x81\xe0\xb8\xa1\xe0\xb9\x88"     /* "mother" in Thai */
#define TEXT_MM "\xe1\x80\x99\xe1\x80\xb1\xe1\x80\x99\xe1\x80\xb1 I am fine, catch is good."
#define TEXT_TH "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5 mum"
#define REPLY_TH "\xe0\xb9\x81\xe0\xb8\xa1\xe0\xb9\x88\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x81 come home safe"

static struct world {
	char *dir;
	char smtp[PATHBUF], family[PATHBUF], ops[PATHBUF];
	char shore_sock[PATHBUF], vessel_sock[PATHBUF], shore_log[PATHBUF];
	pid_t smtpd, familyd, opsd, shored, vesseld;
	int mute_fd;                    /* listens, never accepts */
	int reply_port;
	uint32_t crew[CREW];
} w = {.smtpd = -1, .familyd = -1, .opsd = -1, .shored = -1, .vesseld = -1, .mute_fd = -1};

static pid_t start_server(const char *script, const char *folder, int port, const char *extra)
{
	char p[16], log[PATHBUF], scr[PATHBUF];
	snprintf(p, sizeof p, "%d", port);
	snprintf(scr, sizeof scr, "%s", tu_src(script));
	snprintf(log, sizeof log, "%s/server.log", folder);
	if (mkdir(folder, 0700) != 0)
		return -1;
	const char *argv[] = {PYTHON, scr, p, folder, extra, NULL};
	pid_t pid = tu_spawn(argv, log);
	if (pid <= 0 || !tu_wait_file(tu_path(folder, "ready"), READY_MS)) {
		tu_dump_file(log, 4000);
		return -1;
	}
	return pid;
}

/* A TCP listener that never accepts: connections complete in the backlog
 * and no answer ever comes. */
static int mute_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static bool write_file(const char *name, const char *text)
{
	return tu_write_file(tu_path(w.dir, name), text, strlen(text)) == 0;
}

static int world_up(void)
{
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(w.dir = tu_tmpdir()))
		return -1;
	snprintf(w.smtp, sizeof w.smtp, "%s/smtp", w.dir);
	snprintf(w.family, sizeof w.family, "%s/family", w.dir);
	snprintf(w.ops, sizeof w.ops, "%s/ops", w.dir);
	snprintf(w.shore_sock, sizeof w.shore_sock, "%s/shored.sock", w.dir);
	snprintf(w.vessel_sock, sizeof w.vessel_sock, "%s/vesseld.sock", w.dir);
	snprintf(w.shore_log, sizeof w.shore_log, "%s/shored.1.log", w.dir);
	char secret[PATHBUF];
	snprintf(secret, sizeof secret, "%s/hook.secret", w.dir);
	if (!write_file("hook.secret", SECRET "\n") || chmod(secret, 0600) != 0 ||
	    !e2e_keygen(w.dir, "shore", "shore") || !e2e_keygen(w.dir, "vessel", "201"))
		return -1;
	int sp = tu_free_tcp_port(), fp = tu_free_tcp_port(), op = tu_free_tcp_port();
	int lp = tu_free_tcp_port(), mp = 0;
	w.reply_port = tu_free_tcp_port();
	w.mute_fd = mute_listener(&mp);
	if (sp <= 0 || fp <= 0 || op <= 0 || lp <= 0 || w.reply_port <= 0 || w.mute_fd < 0)
		return -1;
	w.smtpd = start_server("tests/lib/smtpd_capture.py", w.smtp, sp, NULL);
	w.familyd = start_server("tests/lib/http_capture.py", w.family, fp, secret);
	w.opsd = start_server("tests/lib/http_capture.py", w.ops, op, secret);
	if (w.smtpd < 0 || w.familyd < 0 || w.opsd < 0 ||
	    tu_write_file(tu_path(w.family, "plan"), "503\n503\n", 8) != 0)
		return -1;

	char conf[4096];
	snprintf(conf, sizeof conf,
		 "secret_key = shore.secret\ndatabase = shore.db\ncontrol_socket = shored.sock\n"
		 "spool_dir = spool\nlisten = tcp-listen:127.0.0.1:%d\n"
		 "link_rate = 64000\nlink_rtt = 200ms\n"
		 "delivery_retry_min = 200ms\ndelivery_retry_max = 1s\n"
		 "dead_letter_after = 4s\nsilence_alert = 2s\n"
		 "smtp_url = smtp://127.0.0.1:%d\nsmtp_tls = none\nsmtp_timeout = 5s\n"
		 "smtp_from = lifeline@shore.example\n"
		 "smtp_reply_to = reply+%%v-%%c-%%r@replies.example\n"
		 "webhook = family http://127.0.0.1:%d/family hook.secret\n"
		 "webhook = sms http://127.0.0.1:%d/sms hook.secret\n"
		 "webhook = ops http://127.0.0.1:%d/ops hook.secret\n"
		 "webhook_timeout = 500ms\nalert_webhook = ops\n"
		 "http_listen = 127.0.0.1:%d\nhttp_secret = hook.secret\nlog_level = info\n",
		 lp, sp, fp, mp, op, w.reply_port);
	if (!write_file("shored.conf", conf))
		return -1;
	w.shored = e2e_start(w.dir, "shored", tu_path(w.dir, "shored.conf"), "shored", 1);
	char key[PATHBUF];
	snprintf(key, sizeof key, "%s/201.public", w.dir);
	const char *add[] = {"vessel", "add", "201", "--name", VESSEL_NAME, "--key", key, NULL};
	free(e2e_must(w.shore_sock, add));

	snprintf(conf, sizeof conf,
		 "vessel_id = %d\nvessel_name = %s\nsecret_key = 201.secret\n"
		 "shore_key = shore.public\ndatabase = vessel.db\nlink = tcp:127.0.0.1:%d\n"
		 "link_rate = 64000\nlink_rtt = 200ms\ncontrol_socket = vesseld.sock\n"
		 "heartbeat_interval = 1h\nlog_level = info\n", VESSEL, VESSEL_NAME, lp);
	if (!write_file("vesseld.conf", conf))
		return -1;
	w.vesseld = e2e_start(w.dir, "vesseld", tu_path(w.dir, "vesseld.conf"), "vesseld", 1);

	static const char *const names[CREW] = {"Aung", "Sokha", "Noy"};
	static const char *const to[CREW] = {"mailto:mae@family.example", "webhook:family",
					     "tel:+66812345678"};
	for (int c = 0; c < CREW; c++) {
		const char *cadd[] = {"crew", "add", names[c], "--lang", "tha", "--pin", PIN, NULL};
		char *j = e2e_must(w.vessel_sock, cadd);
		uint64_t id = 0;
		if (!j || !e2e_json_u64(j, NULL, "crew_id", &id))
			return free(j), -1;
		free(j);
		w.crew[c] = (uint32_t)id;
		char cs[16];
		snprintf(cs, sizeof cs, "%u", w.crew[c]);
		const char *kadd[] = {"contact", "add", "--crew", cs, "--pin", PIN, to[c], "--name",
				      MOTHER_TH, NULL};
		free(e2e_must(w.vessel_sock, kadd));
	}
	return 0;
}

static int suite_down(void)
{
	if (getenv("LIFELINE_NO_E2E"))
		return 0;
	int st = -1;
	if (w.vesseld > 0 && (tu_kill_wait_status(w.vesseld, SIGTERM, 20000, &st) != 0 ||
			      !WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fprintf(stderr, "delivery: vesseld did not stop cleanly\n");
	if (w.shored > 0 && (tu_kill_wait_status(w.shored, SIGTERM, 20000, &st) != 0 ||
			     !WIFEXITED(st) || WEXITSTATUS(st) != 0))
		fprintf(stderr, "delivery: shored did not stop cleanly\n");
	pid_t servers[] = {w.smtpd, w.familyd, w.opsd};
	for (size_t i = 0; i < 3; i++)
		if (servers[i] > 0)
			tu_kill_wait(servers[i], SIGTERM, 5000);
	if (w.mute_fd >= 0)
		close(w.mute_fd);
	if (w.dir && CU_get_number_of_failures() == 0)
		tu_rmrf(w.dir);
	else if (w.dir)
		fprintf(stderr, "delivery: logs kept in %s\n", w.dir);
	free(w.dir);
	curl_global_cleanup();
	return 0;
}

/* The world is set up by the first test that runs (e2e_start and e2e_must
 * assert, which CUnit allows only inside a test); later tests reuse it. */
static bool up(void)
{
	static int state;       /* 0 not tried, 1 up, -1 failed */
	if (state == 0)
		state = world_up() == 0 ? 1 : -1;
	return state == 1;
}

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t send_text(int c, const char *text)
{
	char cs[16];
	snprintf(cs, sizeof cs, "%u", w.crew[c]);
	const char *argv[] = {"send", "--crew", cs, "--pin", PIN, "--to", "1", text, NULL};
	char *j = e2e_must(w.vessel_sock, argv);
	uint64_t id = 0;
	CU_ASSERT(j && e2e_json_u64(j, NULL, "msg_id", &id));
	free(j);
	return id;
}

struct msg_state {
	uint64_t id;
	char state[32], reason[64];
	bool found;
};

static void find_msg(const char *obj, const char *end, void *arg)
{
	struct msg_state *m = arg;
	uint64_t id = 0;
	if (e2e_json_u64(obj, end, "msg_id", &id) && id == m->id) {
		m->found = e2e_json_str(obj, end, "state", m->state, sizeof m->state) &&
			   e2e_json_str(obj, end, "reason", m->reason, sizeof m->reason);
	}
}

struct want {
	int crew;
	uint64_t id;
	const char *state;
	struct msg_state got;
};

/* What the crew member sees on board (vesselctl status --crew). */
static bool crew_sees(void *arg)
{
	struct want *x = arg;
	char cs[16];
	snprintf(cs, sizeof cs, "%u", w.crew[x->crew]);
	const char *argv[] = {"status", "--crew", cs, "--pin", PIN, NULL};
	int st = -1;
	char *j = NULL;
	x->got = (struct msg_state){.id = x->id};
	if (e2e_call(w.vessel_sock, &st, &j, argv) == 0 && st == 0)
		e2e_json_each(j, "messages", find_msg, &x->got);
	free(j);
	return x->got.found && strcmp(x->got.state, x->state) == 0;
}

static void expect_state(int crew, uint64_t id, const char *state, int ms)
{
	struct want x = {crew, id, state, {0}};
	bool ok = tu_wait_until_every(crew_sees, &x, ms, 50);
	if (!ok) {
		fprintf(stderr, "\ndelivery: msg %" PRIu64 " is \"%s\", not \"%s\"\n", id, x.got.state,
			state);
		tu_dump_file(w.shore_log, 3000);
	}
	CU_ASSERT(ok);
	if (strcmp(state, "failed") == 0)
		CU_ASSERT(x.got.reason[0] != '\0');     /* the crew member sees why */
}

static bool load_json(const char *folder, const char *name, struct json_doc *d, char **text)
{
	uint8_t *buf;
	size_t len;
	struct json_error e;
	*text = NULL;
	if (tu_read_file(tu_path(folder, name), &buf, &len) != 0)
		return false;
	if (json_parse(d, (const char *)buf, len, NULL, &e) != 0) {
		free(buf);
		return false;
	}
	*text = (char *)buf;
	return json_root(d)->type == JSON_OBJECT;
}

static const char *str_of(const struct json_doc *d, const struct json_node *o, const char *key)
{
	const char *s = NULL;
	size_t n;
	return o && json_get_string(d, o, key, &s, &n) == 0 ? s : "";
}

/* ---- (a) SMTP ----------------------------------------------------------------- */

static void test_smtp(void)
{
	CU_ASSERT_FATAL(up());
	uint64_t id = send_text(0, TEXT_MM);
	CU_ASSERT_FATAL(tu_wait_file(tu_path(w.smtp, "msg-1.json"), WAIT_MS));
	struct json_doc d;
	char *text, want[128];
	CU_ASSERT_FATAL(load_json(w.smtp, "msg-1.json", &d, &text));
	const struct json_node *r = json_root(&d);
	const struct json_node *rcpt = json_get(&d, r, "rcpt");
	CU_ASSERT(rcpt && rcpt->count == 1 && strcmp(json_first(&d, rcpt)->str, "mae@family.example") == 0);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "mail_from"), "lifeline@shore.example");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "from"), "Lifeline <lifeline@shore.example>");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "to"), MOTHER_TH " <mae@family.example>");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "subject"), "Message from the crew of " VESSEL_NAME);
	snprintf(want, sizeof want, "reply+%d-%u-1@replies.example", VESSEL, w.crew[0]);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "reply_to"), want);
	snprintf(want, sizeof want, "<lifeline.%d.%" PRIu64 "@shore.example>", VESSEL, id);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "message_id"), want);
	snprintf(want, sizeof want, "%d-%" PRIu64, VESSEL, id);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "x_lifeline_id"), want);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "charset"), "utf-8");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "body"), TEXT_MM);
	int64_t v = -1;
	CU_ASSERT(json_get_int(&d, r, "defects", &v) == 0 && v == 0);
	json_doc_free(&d);
	free(text);
	expect_state(0, id, "delivered", WAIT_MS);
}

/* ---- (b) HTTP receiver failing for a while -------------------------------------- */

static void test_webhook_retries(void)
{
	CU_ASSERT_FATAL(up());
	uint64_t id = send_text(1, TEXT_TH);
	expect_state(1, id, "delivered", WAIT_MS);
	/* 503, 503, then 200: three requests, one idempotency key, all signed. */
	char key[64];
	snprintf(key, sizeof key, "%d-%" PRIu64, VESSEL, id);
	for (int i = 1; i <= 3; i++) {
		char name[32], *text;
		struct json_doc d;
		snprintf(name, sizeof name, "req-%d.json", i);
		CU_ASSERT_FATAL(load_json(w.family, name, &d, &text));
		const struct json_node *r = json_root(&d);
		CU_ASSERT_STRING_EQUAL(str_of(&d, json_get(&d, r, "headers"), "idempotency-key"), key);
		CU_ASSERT(json_get(&d, r, "sig_ok") && json_get(&d, r, "sig_ok")->type == JSON_TRUE);
		CU_ASSERT(strstr(str_of(&d, r, "body"), TEXT_TH) != NULL);
		json_doc_free(&d);
		free(text);
	}
	CU_ASSERT(access(tu_path(w.family, "req-4.json"), F_OK) != 0);    /* no 4th try */
}

/* ---- (c) a receiver that never answers -------------------------------------------- */

static void test_dead_letter(void)
{
	CU_ASSERT_FATAL(up());
	uint64_t id = send_text(2, "call me when you can");
	expect_state(2, id, "failed", WAIT_MS);
	CU_ASSERT(tu_file_contains(w.shore_log, "failed (reason 2)"));       /* UNDELIVERABLE */
}

/* ---- (d) a family's reply ------------------------------------------------------------ */

/* POSTs body to the reply endpoint, signed; returns the HTTP status and
 * the answer in ans. */
static long post_reply(const char *body, char *ans, size_t cap)
{
	char url[64], ts[32], sig[128], hts[64];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/replies", w.reply_port);
	snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	char hex[2 * sizeof mac + 1];
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(sig, sizeof sig, "X-Lifeline-Signature: sha256=%s", hex);
	snprintf(hts, sizeof hts, "X-Lifeline-Timestamp: %s", ts);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, hts);
	h = curl_slist_append(h, sig);
	FILE *out = fmemopen(ans, cap, "w");
	CURL *c = curl_easy_init();
	long code = 0;
	if (c && out && h) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	}
	if (out)
		fclose(out);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return code;
}

struct inbox {
	size_t n, with_text;
};

static void count_inbox(const char *obj, const char *end, void *arg)
{
	struct inbox *b = arg;
	char text[256] = "";
	b->n++;
	if (e2e_json_str(obj, end, "text", text, sizeof text) && strcmp(text, REPLY_TH) == 0)
		b->with_text++;
}

static bool inbox_has_reply(void *arg)
{
	struct inbox *b = arg;
	char cs[16];
	snprintf(cs, sizeof cs, "%u", w.crew[0]);
	const char *argv[] = {"inbox", "--crew", cs, "--pin", PIN, NULL};
	int st = -1;
	char *j = NULL;
	*b = (struct inbox){0};
	if (e2e_call(w.vessel_sock, &st, &j, argv) == 0 && st == 0)
		e2e_json_each(j, "inbox", count_inbox, b);
	free(j);
	return b->with_text > 0;
}

static void test_reply(void)
{
	CU_ASSERT_FATAL(up());
	/* (a) ran first: the shore knows crew 1's contact 1. */
	char body[512], ans[256] = "", ans2[256] = "";
	snprintf(body, sizeof body, "{\"vessel\":%d,\"crew\":%u,\"contact\":1,\"text\":\"%s\","
		 "\"id\":\"gw-0001\"}", VESSEL, w.crew[0], REPLY_TH);
	CU_ASSERT_EQUAL(post_reply(body, ans, sizeof ans - 1), 202);
	CU_ASSERT_EQUAL(post_reply(body, ans2, sizeof ans2 - 1), 200);      /* the gateway retries */
	uint64_t id1 = 0, id2 = 0;
	CU_ASSERT(e2e_json_u64(ans, NULL, "reply_id", &id1) && id1 > 0);
	CU_ASSERT(e2e_json_u64(ans2, NULL, "reply_id", &id2) && id2 == id1);
	CU_ASSERT(strstr(ans2, "\"duplicate\":true") != NULL);

	char bad[512], a3[256] = "";
	snprintf(bad, sizeof bad, "{\"vessel\":%d,\"crew\":%u,\"contact\":9,\"text\":\"x\","
		 "\"id\":\"gw-0002\"}", VESSEL, w.crew[0]);
	CU_ASSERT_EQUAL(post_reply(bad, a3, sizeof a3 - 1), 404);            /* no contact 9 */
	snprintf(bad, sizeof bad, "{\"vessel\":999,\"crew\":1,\"contact\":1,\"text\":\"x\","
		 "\"id\":\"gw-0003\"}");
	CU_ASSERT_EQUAL(post_reply(bad, a3, sizeof a3 - 1), 404);            /* no vessel 999 */

	struct inbox b = {0};
	CU_ASSERT(tu_wait_until_every(inbox_has_reply, &b, WAIT_MS, 50));
	CU_ASSERT_EQUAL(b.n, 1);
	CU_ASSERT_EQUAL(b.with_text, 1);
}

/* ---- (e) a silent vessel: the operator hears of it ----------------------------------- */

static bool ops_got_silence(void *arg)
{
	char name[32], *text;
	for (int i = 1; i <= 64; i++) {
		struct json_doc d;
		snprintf(name, sizeof name, "req-%d.json", i);
		if (!load_json(w.ops, name, &d, &text))
			return false;
		const struct json_node *r = json_root(&d);
		const char *body = str_of(&d, r, "body");
		bool hit = strstr(body, "\"channel\":\"alert\"") && strstr(body, "silence on vessel 201") &&
			   json_get(&d, r, "sig_ok") && json_get(&d, r, "sig_ok")->type == JSON_TRUE &&
			   strncmp(str_of(&d, json_get(&d, r, "headers"), "idempotency-key"), "0-", 2) == 0;
		json_doc_free(&d);
		free(text);
		if (hit)
			return *(bool *)arg = true;
	}
	return false;
}

static void test_silence_alert(void)
{
	CU_ASSERT_FATAL(up());
	bool hit = false;
	/* The vessel has been quiet since its last text: silence_alert is 2 s. */
	CU_ASSERT(tu_wait_until_every(ops_got_silence, &hit, WAIT_MS, 100));
	const char *argv[] = {"alerts", NULL};
	char *j = e2e_must(w.shore_sock, argv);
	CU_ASSERT(j && strstr(j, "silence") != NULL);
	free(j);
}

void suite_delivery(void);
void suite_delivery(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("delivery", NULL, suite_down);
	CU_add_test(s, "SMTP: UTF-8 mail with the right headers; crew sees delivered", test_smtp);
	CU_add_test(s, "webhook 503 twice: retried with one idempotency key, delivered",
		    test_webhook_retries);
	CU_add_test(s, "receiver never answers: dead letter, crew sees failed + reason",
		    test_dead_letter);
	CU_add_test(s, "family reply over HTTP reaches the inbox once", test_reply);
	CU_add_test(s, "silent vessel: alert reaches the operator's webhook", test_silence_alert);
}
