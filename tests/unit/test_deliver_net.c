/*
 * test_deliver_net.c — the SMTP and webhook delivery drivers against real
 * servers started here: aiosmtpd (tests/lib/smtpd_capture.py) and a Python
 * http.server (tests/lib/http_capture.py), each decoding and checking what
 * it receives with its own, independent code (Python's email package and
 * hmac module).
 *
 * SMTP: a Thai/Burmese message arrives with the right headers (From,
 * Reply-To pattern, Message-ID from vessel+msg id, encoded Subject, UTF-8
 * body); a retry is byte-identical; 451 -> ERR_AGAIN, 550 -> ERR_PERM;
 * refused connection and a server that never greets -> ERR_AGAIN within
 * the timeout; bad addresses and header injection refused; config checks.
 * Webhook: signed JSON (verified by the receiver and here), routing of
 * webhook:NAME and tel:, 503 twice then 200, 429, 400, a receiver that
 * never answers, refused connection, missing hooks, config checks.
 * Waits are on files with deadlines; no sleeps.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "shore/deliver_smtp.h"
#include "shore/deliver_webhook.h"
#include "shore/netutil.h"
#include "tests/lib/testutil.h"

#define PYTHON "/usr/bin/python3"
#define READY_MS 15000
#define SEND_TIMEOUT_MS 5000u
#define HANG_TIMEOUT_MS 1000u
#define PATHBUF 4096
#define SECRET "0123456789abcdef-test-secret-0123456789"

/* Burmese "Myanmar" and a Thai/Burmese text. */
#define VESSEL_MM "\xe1\x80\x99\xe1\x80\xbc\xe1\x80\x94\xe1\x80\xba\xe1\x80\x99\xe1\x80\xac"
#define MOTHER_TH "\xe0\xb9\x81\xe0\xb8\xa1\xe0\xb9\x88"
#define TEXT_TH_MM "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5 " \
	"\xe0\xb9\x81\xe0\xb8\xa1\xe0\xb9\x88\n" \
	"\xe1\x80\x99\xe1\x80\x84\xe1\x80\xba\xe1\x80\xb9\xe1\x80\x82\xe1\x80\x9c\xe1\x80\xac\xe1\x80\x95\xe1\x80\xab\n" \
	"fish: 120 kg, back in 3 months."

static char *dir;
static char smtp_dir[PATHBUF], http_dir[PATHBUF], secret_path[PATHBUF];
static pid_t smtp_pid = -1, http_pid = -1;
static int smtp_port, http_port;

static int write_secret(const char *path, const char *s, mode_t mode)
{
	if (tu_write_file(path, s, strlen(s)) != 0)
		return -1;
	return chmod(path, mode);
}

static pid_t start_server(const char *script, const char *folder, int port, const char *extra)
{
	char p[16], ready[PATHBUF], log[PATHBUF], scr[PATHBUF];
	snprintf(p, sizeof p, "%d", port);
	snprintf(scr, sizeof scr, "%s", tu_src(script));
	snprintf(ready, sizeof ready, "%s/ready", folder);
	snprintf(log, sizeof log, "%s/server.log", folder);
	const char *argv[] = { PYTHON, scr, p, folder, extra, NULL };
	pid_t pid = tu_spawn(argv, log);
	if (pid <= 0 || !tu_wait_file(ready, READY_MS)) {
		tu_dump_file(log, 4000);
		return -1;
	}
	return pid;
}

static int setup(void)
{
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	dir = tu_tmpdir();
	if (dir == NULL)
		return -1;
	snprintf(smtp_dir, sizeof smtp_dir, "%s/smtp", dir);
	snprintf(http_dir, sizeof http_dir, "%s/http", dir);
	snprintf(secret_path, sizeof secret_path, "%s/hook.secret", dir);
	if (mkdir(smtp_dir, 0700) != 0 || mkdir(http_dir, 0700) != 0 ||
	    write_secret(secret_path, SECRET "\n", 0600) != 0)
		return -1;
	smtp_port = tu_free_tcp_port();
	http_port = tu_free_tcp_port();
	if (smtp_port <= 0 || http_port <= 0)
		return -1;
	smtp_pid = start_server("tests/lib/smtpd_capture.py", smtp_dir, smtp_port, NULL);
	http_pid = start_server("tests/lib/http_capture.py", http_dir, http_port, secret_path);
	return smtp_pid > 0 && http_pid > 0 ? 0 : -1;
}

static int teardown(void)
{
	if (smtp_pid > 0)
		tu_kill_wait(smtp_pid, SIGTERM, 5000);
	if (http_pid > 0)
		tu_kill_wait(http_pid, SIGTERM, 5000);
	if (dir) {
		tu_rmrf(dir);
		free(dir);
	}
	curl_global_cleanup();
	return 0;
}

static void set_plan(const char *folder, const char *plan)
{
	CU_ASSERT_EQUAL(tu_write_file(tu_path(folder, "plan"), plan, strlen(plan)), 0);
}

/* Parses DIR/NAME (a JSON object written by a capture server). */
static bool load_json(const char *folder, const char *name, struct json_doc *d, char **text)
{
	uint8_t *buf;
	size_t len;
	struct json_error e;
	*text = NULL;
	if (tu_read_file(tu_path(folder, name), &buf, &len) != 0)
		return false;
	if (json_parse(d, (const char *)buf, len, NULL, &e) != 0) {
		fprintf(stderr, "\n%s: %s\n", name, e.msg);
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
	return json_get_string(d, o, key, &s, &n) == 0 ? s : "";
}

static int count_files(const char *folder, const char *prefix)
{
	int n = 0;
	char name[64];
	for (;;) {
		snprintf(name, sizeof name, "%s-%d.json", prefix, n + 1);
		if (access(tu_path(folder, name), F_OK) != 0)
			return n;
		n++;
	}
}

static struct deliver_msg sample_msg(const char *to)
{
	struct deliver_msg m = {
		.vessel = 7, .vessel_name = VESSEL_MM, .msg_id = 42, .crew_id = 3, .contact_ref = 2,
		.to = to, .contact_name = MOTHER_TH, .channel = "email", .ts = 1717200000,
		.text = TEXT_TH_MM, .text_len = sizeof TEXT_TH_MM - 1,
	};
	return m;
}

/* ---------------------------------------------------------------- SMTP */

static void *smtp_driver(int port, uint64_t timeout_ms)
{
	char url[64], why[DELIVER_WHY_MAX];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	struct deliver_smtp_config cfg = {
		.url = url, .tls = DELIVER_SMTP_TLS_NONE, .from = "lifeline@shore.example",
		.reply_to = "reply+%v-%c-%r@replies.example", .timeout_ms = timeout_ms,
	};
	void *drv = NULL;
	int rc = deliver_smtp_new(&drv, &cfg, why, sizeof why);
	if (rc != 0)
		fprintf(stderr, "\nsmtp new: %s\n", why);
	CU_ASSERT_EQUAL(rc, 0);
	return drv;
}

static void test_smtp_delivers_utf8(void)
{
	void *drv = smtp_driver(smtp_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	int before = count_files(smtp_dir, "msg");
	struct deliver_msg m = sample_msg("mailto:mae@family.example");
	char why[DELIVER_WHY_MAX];
	int rc = deliver_smtp_ops.send(drv, &m, why, sizeof why);
	if (rc != 0)
		fprintf(stderr, "\nsmtp send: %d %s\n", rc, why);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "250"));
	/* The server wrote the capture before it said 250. */
	CU_ASSERT_EQUAL_FATAL(count_files(smtp_dir, "msg"), before + 1);
	char name[64];
	snprintf(name, sizeof name, "msg-%d.json", before + 1);
	struct json_doc d;
	char *text;
	CU_ASSERT_FATAL(load_json(smtp_dir, name, &d, &text));
	const struct json_node *r = json_root(&d);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "mail_from"), "lifeline@shore.example");
	const struct json_node *rcpt = json_get(&d, r, "rcpt");
	CU_ASSERT_FATAL(rcpt != NULL && rcpt->count == 1);
	CU_ASSERT_STRING_EQUAL(json_first(&d, rcpt)->str, "mae@family.example");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "subject"), "Message from the crew of " VESSEL_MM);
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "from"), "Lifeline <lifeline@shore.example>");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "to"), MOTHER_TH " <mae@family.example>");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "reply_to"), "reply+7-3-2@replies.example");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "message_id"), "<lifeline.7.42@shore.example>");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "date"), "Sat, 01 Jun 2024 00:00:00 +0000");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "content_type"), "text/plain");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "charset"), "utf-8");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "cte"), "base64");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "x_lifeline_id"), "7-42");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "body"), TEXT_TH_MM);
	int64_t v;
	CU_ASSERT(json_get_int(&d, r, "max_line", &v) == 0 && v <= 78);
	CU_ASSERT(json_get_int(&d, r, "defects", &v) == 0 && v == 0);
	CU_ASSERT_EQUAL(json_get(&d, r, "bare_lf")->type, JSON_FALSE);
	json_doc_free(&d);
	free(text);
	deliver_smtp_free(drv);
}

static void test_smtp_retry_identical(void)
{
	void *drv = smtp_driver(smtp_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	struct deliver_msg m = sample_msg("mailto:mae@family.example");
	m.msg_id = 43;
	char why[DELIVER_WHY_MAX], a[64], b[64];
	int n = count_files(smtp_dir, "msg");
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), 0);
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), 0);
	CU_ASSERT_EQUAL_FATAL(count_files(smtp_dir, "msg"), n + 2);
	snprintf(a, sizeof a, "msg-%d.eml", n + 1);
	snprintf(b, sizeof b, "msg-%d.eml", n + 2);
	uint8_t *x, *y;
	size_t xl, yl;
	CU_ASSERT_EQUAL_FATAL(tu_read_file(tu_path(smtp_dir, a), &x, &xl), 0);
	CU_ASSERT_EQUAL_FATAL(tu_read_file(tu_path(smtp_dir, b), &y, &yl), 0);
	CU_ASSERT(xl == yl && memcmp(x, y, xl) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr((char *)x, "Message-ID: <lifeline.7.43@shore.example>\r\n"));
	free(x);
	free(y);
	deliver_smtp_free(drv);
}

static void test_smtp_server_refusals(void)
{
	void *drv = smtp_driver(smtp_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	struct deliver_msg m = sample_msg("mailto:mae@family.example");
	char why[DELIVER_WHY_MAX];
	int n = count_files(smtp_dir, "msg");
	set_plan(smtp_dir, "451 4.3.0 mailbox busy, try later\n");
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "451 4.3.0 mailbox busy"));
	set_plan(smtp_dir, "550 5.1.1 mailbox unknown\n");
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_PERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "smtp: 550 5.1.1 mailbox unknown"));
	CU_ASSERT_EQUAL(count_files(smtp_dir, "msg"), n);     /* nothing delivered */
	/* and the next one goes through again */
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), 0);
	CU_ASSERT_EQUAL(count_files(smtp_dir, "msg"), n + 1);
	deliver_smtp_free(drv);
}

/* A listening socket that never accepts: the kernel completes the TCP
 * handshake, then nothing is ever said. */
static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_smtp_unreachable(void)
{
	char why[DELIVER_WHY_MAX];
	struct deliver_msg m = sample_msg("mailto:mae@family.example");
	int closed = tu_free_tcp_port();
	void *drv = smtp_driver(closed, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "smtp: "));
	deliver_smtp_free(drv);

	int port = 0, fd = silent_listener(&port);
	CU_ASSERT_FATAL(fd >= 0);
	drv = smtp_driver(port, HANG_TIMEOUT_MS);
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	uint64_t took = tu_now_ms() - t0;
	CU_ASSERT(took >= HANG_TIMEOUT_MS - 50 && took < HANG_TIMEOUT_MS + 2000);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no answer within 1000 ms"));
	close(fd);
	deliver_smtp_free(drv);
}

static void test_smtp_bad_addresses(void)
{
	static const char *const bad[] = {
		"mailto:", "mailto:foo", "mailto:@x.example", "mailto:a@", "mailto:a..b@x.example",
		"mailto:.a@x.example", "mailto:a@x..example", "mailto:a@-x.example",
		"mailto:a@x.example\r\nBcc: evil@x.example", "mailto:a b@x.example",
		"mailto:<a@x.example>", "mailto:a@x.example?subject=hi", "mailto:a%40b@x.example",
		"mailto:\xc3\xbc@x.example", "mailto:a@x.example,b@x.example", "tel:+66812345678",
		"webhook:chat", "",
	};
	/* Pointed at a closed port: an address check that passed would give
	 * ERR_AGAIN, so ERR_INVAL proves nothing was contacted. */
	void *drv = smtp_driver(tu_free_tcp_port(), SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	char why[DELIVER_WHY_MAX];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct deliver_msg m = sample_msg(bad[i]);
		int rc = deliver_smtp_ops.send(drv, &m, why, sizeof why);
		if (rc != ERR_INVAL)
			fprintf(stderr, "\naddress %zu accepted: %d %s\n", i, rc, why);
		CU_ASSERT_EQUAL(rc, ERR_INVAL);
	}
	struct deliver_msg m = sample_msg("mailto:ok@x.example");
	m.text = "bad \xff utf-8";
	m.text_len = strlen(m.text);
	CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "UTF-8"));
	/* Upper-case scheme and the good shapes pass the check (then the
	 * closed port makes them temporary). */
	static const char *const good[] = { "MAILTO:a@x.example", "mailto:a.b+c_d@x-y.example" };
	for (size_t i = 0; i < 2; i++) {
		m = sample_msg(good[i]);
		CU_ASSERT_EQUAL(deliver_smtp_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	}
	deliver_smtp_free(drv);
}

/* The message itself: header shapes, folding, no injection, body. */
static void test_smtp_message_format(void)
{
	void *drv = smtp_driver(smtp_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	static char longname[400];
	for (size_t i = 0; i + 3 < 300; i += 3)
		memcpy(longname + i, "\xe0\xb8\xaa", 3);               /* Thai letters */
	static const char *const names[] = { "Sea Star", "Evil\r\nBcc: x@y.example", longname, "" };
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		struct deliver_msg m = sample_msg("mailto:mae@family.example");
		m.vessel_name = names[k];
		m.contact_name = names[k];
		char *msg = NULL, rcpt[DELIVER_SMTP_ADDR_MAX + 1], why[DELIVER_WHY_MAX];
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(deliver_smtp_message(drv, &m, &msg, &len, rcpt, why, sizeof why), 0);
		CU_ASSERT_STRING_EQUAL(rcpt, "mae@family.example");
		CU_ASSERT_EQUAL(strlen(msg), len);
		/* every line ends in CRLF, at most 76 characters, no injected header */
		size_t start = 0;
		bool in_body = false;
		for (size_t i = 0; i < len; i++) {
			if (msg[i] != '\n')
				continue;
			CU_ASSERT(i > 0 && msg[i - 1] == '\r');
			size_t ll = i - 1 - start;
			CU_ASSERT(ll <= 76);
			if (ll == 0)
				in_body = true;
			if (!in_body)
				CU_ASSERT(strncmp(msg + start, "Bcc:", 4) != 0);
			start = i + 1;
		}
		CU_ASSERT_EQUAL(start, len);
		if (k == 0) {
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "\r\nSubject: Message from the crew of Sea Star\r\n"));
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "\r\nTo: \"Sea Star\" <mae@family.example>\r\n"));
		} else if (k == 3) {
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "Subject: Message from the crew of 7\r\n"));
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "\r\nTo: <mae@family.example>\r\n"));
		} else {
			CU_ASSERT_PTR_NOT_NULL(strstr(msg, "\r\nSubject: =?UTF-8?B?"));
		}
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, "\r\nReply-To: <reply+7-3-2@replies.example>\r\n"));
		/* the body decodes back to the text */
		const char *body = strstr(msg, "\r\n\r\n") + 4;
		char b64[4096];
		size_t bl = 0;
		for (const char *p = body; *p; p++)
			if (*p != '\r' && *p != '\n')
				b64[bl++] = *p;
		unsigned char bin[2048];
		size_t binlen;
		CU_ASSERT_EQUAL(sodium_base642bin(bin, sizeof bin, b64, bl, NULL, &binlen, NULL,
						  sodium_base64_VARIANT_ORIGINAL), 0);
		CU_ASSERT(binlen == m.text_len && memcmp(bin, m.text, binlen) == 0);
		free(msg);
	}
	deliver_smtp_free(drv);
}

static void test_smtp_config(void)
{
	struct bad_cfg {
		struct deliver_smtp_config c;
		const char *says;
	};
	const struct bad_cfg bad[] = {
		{ { .url = "http://x", .from = "a@b.example" }, "smtp_url" },
		{ { .url = NULL, .from = "a@b.example" }, "smtp_url" },
		{ { .url = "smtp://x", .from = "nobody" }, "smtp_from" },
		{ { .url = "smtp://x", .from = "a@b.example", .reply_to = "r+%v-%c@x.example" }, "smtp_reply_to" },
		{ { .url = "smtp://x", .from = "a@b.example", .reply_to = "r+%v-%c-%r-%n@x.example" }, "smtp_reply_to" },
		{ { .url = "smtp://x", .from = "a@b.example", .reply_to = "r+%v-%c-%r" }, "smtp_reply_to" },
		{ { .url = "smtp://x", .from = "a@b.example", .subject = "hi %q" }, "smtp_subject" },
		{ { .url = "smtp://x", .from = "a@b.example", .user = "u" }, "smtp_password_file" },
		{ { .url = "smtp://x", .from = "a@b.example", .user = "u", .password_file = "/nonexistent" },
		  "smtp_password_file" },
	};
	char why[DELIVER_WHY_MAX];
	void *drv;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		CU_ASSERT_NOT_EQUAL(deliver_smtp_new(&drv, &bad[i].c, why, sizeof why), 0);
		CU_ASSERT_PTR_NULL(drv);
		if (!strstr(why, bad[i].says))
			fprintf(stderr, "\nconfig %zu: %s\n", i, why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad[i].says));
	}
	struct deliver_smtp_config ok = { .url = "smtps://mail.example:465", .from = "a@b.example",
					  .user = "u", .password_file = secret_path,
					  .subject = "%% %v %n %c %r %m" };
	CU_ASSERT_EQUAL(deliver_smtp_new(&drv, &ok, why, sizeof why), 0);
	deliver_smtp_free(drv);
	deliver_smtp_free(NULL);
	enum deliver_smtp_tls t;
	CU_ASSERT(deliver_smtp_tls_parse("required", &t) == 0 && t == DELIVER_SMTP_TLS_REQUIRED);
	CU_ASSERT(deliver_smtp_tls_parse("try", &t) == 0 && t == DELIVER_SMTP_TLS_TRY);
	CU_ASSERT(deliver_smtp_tls_parse("none", &t) == 0 && t == DELIVER_SMTP_TLS_NONE);
	CU_ASSERT_EQUAL(deliver_smtp_tls_parse("yes", &t), ERR_INVAL);
}

/* ------------------------------------------------------------- webhook */

static void *webhook_driver(int port, uint64_t timeout_ms)
{
	char chat[128], sms[128], why[DELIVER_WHY_MAX];
	snprintf(chat, sizeof chat, "http://127.0.0.1:%d/hook/chat", port);
	snprintf(sms, sizeof sms, "http://127.0.0.1:%d/hook/sms", port);
	struct deliver_webhook_hook hooks[] = {
		{ .name = "chat", .url = chat, .secret_file = secret_path },
		{ .name = "sms", .url = sms, .secret_file = secret_path },
	};
	struct deliver_webhook_config cfg = { .hooks = hooks, .nhooks = 2, .timeout_ms = timeout_ms };
	void *drv = NULL;
	int rc = deliver_webhook_new(&drv, &cfg, why, sizeof why);
	if (rc != 0)
		fprintf(stderr, "\nwebhook new: %s\n", why);
	CU_ASSERT_EQUAL(rc, 0);
	return drv;
}

/* Checks request number n: path, headers, signature, body fields. */
static void check_request(int n, const char *path, const struct deliver_msg *m)
{
	char name[64];
	snprintf(name, sizeof name, "req-%d.json", n);
	struct json_doc d;
	char *text;
	CU_ASSERT_FATAL(load_json(http_dir, name, &d, &text));
	const struct json_node *r = json_root(&d), *h = json_get(&d, r, "headers");
	CU_ASSERT_STRING_EQUAL(str_of(&d, r, "path"), path);
	CU_ASSERT_EQUAL(json_get(&d, r, "sig_ok")->type, JSON_TRUE);
	CU_ASSERT_STRING_EQUAL(str_of(&d, h, "content-type"), "application/json");
	char key[64];
	snprintf(key, sizeof key, "%u-%llu", m->vessel, (unsigned long long)m->msg_id);
	CU_ASSERT_STRING_EQUAL(str_of(&d, h, "idempotency-key"), key);
	long long ts = atoll(str_of(&d, h, "x-lifeline-timestamp"));
	CU_ASSERT(llabs(ts - (long long)time(NULL)) < 60);
	/* our own verifier agrees with Python's */
	struct netutil_secret *k;
	char why[DELIVER_WHY_MAX];
	const char *body = str_of(&d, r, "body");
	CU_ASSERT_EQUAL_FATAL(netutil_secret_load(secret_path, 0, &k, why, sizeof why), 0);
	CU_ASSERT_EQUAL(netutil_verify(k, str_of(&d, h, "x-lifeline-timestamp"),
				       str_of(&d, h, "x-lifeline-signature"), body, strlen(body),
				       (int64_t)time(NULL), 60, NULL, why, sizeof why), 0);
	netutil_secret_free(k);
	/* the body, with the strict reader */
	struct json_doc b;
	struct json_error e;
	CU_ASSERT_EQUAL_FATAL(json_parse(&b, body, strlen(body), NULL, &e), 0);
	const struct json_node *o = json_root(&b);
	uint64_t u;
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "id"), key);
	CU_ASSERT(json_get_uint(&b, o, "vessel", &u) == 0 && u == m->vessel);
	CU_ASSERT(json_get_uint(&b, o, "msg_id", &u) == 0 && u == m->msg_id);
	CU_ASSERT(json_get_uint(&b, o, "crew_id", &u) == 0 && u == m->crew_id);
	CU_ASSERT(json_get_uint(&b, o, "contact_ref", &u) == 0 && u == m->contact_ref);
	CU_ASSERT(json_get_uint(&b, o, "ts", &u) == 0 && u == (uint64_t)m->ts);
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "to"), m->to);
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "channel"), m->channel);
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "vessel_name"), m->vessel_name);
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "contact_name"), m->contact_name);
	CU_ASSERT_STRING_EQUAL(str_of(&b, o, "text"), m->text);
	json_doc_free(&b);
	json_doc_free(&d);
	free(text);
}

static void test_webhook_delivers_signed(void)
{
	void *drv = webhook_driver(http_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	char why[DELIVER_WHY_MAX];
	int n = count_files(http_dir, "req");
	struct deliver_msg m = sample_msg("webhook:chat");
	m.channel = "chat";
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "HTTP 200"));
	check_request(n + 1, "/hook/chat", &m);
	struct deliver_msg t = sample_msg("tel:+66812345678");
	t.channel = "sms";
	t.msg_id = 44;
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &t, why, sizeof why), 0);
	check_request(n + 2, "/hook/sms", &t);
	deliver_webhook_free(drv);
}

static void test_webhook_retry_then_success(void)
{
	void *drv = webhook_driver(http_port, SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	char why[DELIVER_WHY_MAX];
	struct deliver_msg m = sample_msg("webhook:chat");
	m.msg_id = 50;
	int n = count_files(http_dir, "req");
	set_plan(http_dir, "503 {\"error\":\"gateway busy\"}\n503\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "webhook chat: HTTP 503: {\"error\":\"gateway busy\"}"));
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), 0);
	CU_ASSERT_EQUAL(count_files(http_dir, "req"), n + 3);
	for (int i = 1; i <= 3; i++)
		check_request(n + i, "/hook/chat", &m);         /* same id every time */
	set_plan(http_dir, "429\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	set_plan(http_dir, "500\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	set_plan(http_dir, "301\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	set_plan(http_dir, "400 {\"error\":\"no such number\"}\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_PERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "HTTP 400: {\"error\":\"no such number\"}"));
	set_plan(http_dir, "404\n");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_PERM);
	deliver_webhook_free(drv);
}

static void test_webhook_unreachable(void)
{
	char why[DELIVER_WHY_MAX];
	struct deliver_msg m = sample_msg("webhook:chat");
	/* accepts, reads the request, never answers */
	void *drv = webhook_driver(http_port, HANG_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	set_plan(http_dir, "hang\n");
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	uint64_t took = tu_now_ms() - t0;
	CU_ASSERT(took >= HANG_TIMEOUT_MS - 50 && took < HANG_TIMEOUT_MS + 2000);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no answer within 1000 ms"));
	deliver_webhook_free(drv);
	/* nothing listens */
	drv = webhook_driver(tu_free_tcp_port(), SEND_TIMEOUT_MS);
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), ERR_AGAIN);
	deliver_webhook_free(drv);
}

static void test_webhook_addresses(void)
{
	struct addr_vec {
		const char *to;
		int rc;
		const char *says;
	};
	static const struct addr_vec v[] = {
		{ "webhook:nosuch", ERR_AGAIN, "no webhook named \"nosuch\"" },
		{ "webhook:", ERR_INVAL, "bad address" },
		{ "webhook:bad name", ERR_INVAL, "bad address" },
		{ "webhook:a/b", ERR_INVAL, "bad address" },
		{ "tel:0812345678", ERR_INVAL, "bad phone number" },
		{ "tel:+66", ERR_INVAL, "bad phone number" },
		{ "tel:+1234567890123456", ERR_INVAL, "bad phone number" },
		{ "tel:+66x812345678", ERR_INVAL, "bad phone number" },
		{ "mailto:a@b.example", ERR_INVAL, "tel: or webhook:NAME" },
	};
	void *drv = webhook_driver(tu_free_tcp_port(), SEND_TIMEOUT_MS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(drv);
	char why[DELIVER_WHY_MAX];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct deliver_msg m = sample_msg(v[i].to);
		CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &m, why, sizeof why), v[i].rc);
		if (!strstr(why, v[i].says))
			fprintf(stderr, "\naddress %zu: %s\n", i, why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, v[i].says));
	}
	deliver_webhook_free(drv);
	/* tel: with no sms hook configured waits for the operator */
	struct deliver_webhook_hook one = { .name = "chat", .url = "http://127.0.0.1:1/", .secret_file = secret_path };
	struct deliver_webhook_config cfg = { .hooks = &one, .nhooks = 1 };
	CU_ASSERT_EQUAL_FATAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), 0);
	struct deliver_msg t = sample_msg("tel:+66-81-234-5678");
	CU_ASSERT_EQUAL(deliver_webhook_ops.send(drv, &t, why, sizeof why), ERR_AGAIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no webhook named \"sms\""));
	deliver_webhook_free(drv);
}

static void test_webhook_config(void)
{
	char name[DELIVER_WEBHOOK_NAME_MAX + 1], url[DELIVER_WEBHOOK_URL_MAX + 1];
	char path[DELIVER_WEBHOOK_PATH_MAX + 1], why[DELIVER_WHY_MAX];
	struct spec_vec {
		const char *spec;
		int rc;
	};
	static const struct spec_vec specs[] = {
		{ "sms https://gw.example/v1/send /etc/lifeline/sms.secret", 0 },
		{ "  line\thttp://10.0.0.1:8080/x   /s  ", 0 },
		{ "sms https://gw.example/v1/send", ERR_INVAL },
		{ "sms", ERR_INVAL },
		{ "", ERR_INVAL },
		{ "sms https://gw.example/ /s extra", ERR_INVAL },
		{ "sms ftp://gw.example/ /s", ERR_INVAL },
		{ "s.m.s https://gw.example/ /s", ERR_INVAL },
		{ "a23456789012345678901234567890123 https://gw.example/ /s", ERR_TOOBIG },
	};
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
		CU_ASSERT_EQUAL(deliver_webhook_spec_parse(specs[i].spec, name, url, path, why, sizeof why),
				specs[i].rc);
	CU_ASSERT_EQUAL(deliver_webhook_spec_parse(specs[1].spec, name, url, path, why, sizeof why), 0);
	CU_ASSERT_STRING_EQUAL(name, "line");
	CU_ASSERT_STRING_EQUAL(url, "http://10.0.0.1:8080/x");
	CU_ASSERT_STRING_EQUAL(path, "/s");

	char loose[PATHBUF], shortk[PATHBUF], crlf[PATHBUF];
	snprintf(loose, sizeof loose, "%s/loose.secret", dir);
	snprintf(shortk, sizeof shortk, "%s/short.secret", dir);
	snprintf(crlf, sizeof crlf, "%s/crlf.secret", dir);
	CU_ASSERT_EQUAL(write_secret(loose, SECRET, 0644), 0);
	CU_ASSERT_EQUAL(write_secret(shortk, "0123456789abcde\n", 0600), 0);  /* 15 bytes */
	CU_ASSERT_EQUAL(write_secret(crlf, SECRET "\r\n", 0640), 0);
	struct deliver_webhook_hook h = { .name = "x", .url = "https://gw.example/" };
	struct deliver_webhook_config cfg = { .hooks = &h, .nhooks = 1 };
	void *drv;
	h.secret_file = loose;
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), ERR_PERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "chmod 600"));
	h.secret_file = shortk;
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "at least 16"));
	h.secret_file = "/nonexistent/secret";
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), ERR_NOTFOUND);
	h.secret_file = crlf;
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), 0);
	deliver_webhook_free(drv);
	struct deliver_webhook_hook two[] = { h, h };
	cfg = (struct deliver_webhook_config){ .hooks = two, .nhooks = 2 };
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "defined twice"));
	two[1].url = "gw.example";
	two[1].name = "y";
	CU_ASSERT_EQUAL(deliver_webhook_new(&drv, &cfg, why, sizeof why), ERR_CONFIG);
	CU_ASSERT_PTR_NULL(drv);
	deliver_webhook_free(NULL);
	/* The same secret with and without CRLF signs the same. */
	struct netutil_secret *a, *b;
	CU_ASSERT_EQUAL_FATAL(netutil_secret_load(crlf, 0, &a, why, sizeof why), 0);
	CU_ASSERT_EQUAL_FATAL(netutil_secret_load(secret_path, 0, &b, why, sizeof why), 0);
	char sa[NETUTIL_SIG_BYTES], sb[NETUTIL_SIG_BYTES];
	netutil_sign(a, 1717200000, "{}", 2, sa);
	netutil_sign(b, 1717200000, "{}", 2, sb);
	CU_ASSERT_STRING_EQUAL(sa, sb);
	CU_ASSERT_EQUAL(strlen(sa), 71);
	netutil_secret_free(a);
	netutil_secret_free(b);
}

void suite_deliver_net(void);
void suite_deliver_net(void)
{
	CU_pSuite s = CU_add_suite("deliver_net", setup, teardown);
	CU_add_test(s, "smtp: Thai/Burmese mail with all headers", test_smtp_delivers_utf8);
	CU_add_test(s, "smtp: a retry is byte-identical", test_smtp_retry_identical);
	CU_add_test(s, "smtp: 451 temporary, 550 permanent", test_smtp_server_refusals);
	CU_add_test(s, "smtp: refused and silent servers", test_smtp_unreachable);
	CU_add_test(s, "smtp: bad addresses refused", test_smtp_bad_addresses);
	CU_add_test(s, "smtp: message format and folding", test_smtp_message_format);
	CU_add_test(s, "smtp: config checks", test_smtp_config);
	CU_add_test(s, "webhook: signed JSON, webhook: and tel:", test_webhook_delivers_signed);
	CU_add_test(s, "webhook: 503 twice then 200; 429/500/301/400/404", test_webhook_retry_then_success);
	CU_add_test(s, "webhook: never answers, refused", test_webhook_unreachable);
	CU_add_test(s, "webhook: address routing", test_webhook_addresses);
	CU_add_test(s, "webhook: spec and secret files", test_webhook_config);
}
