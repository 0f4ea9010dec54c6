/*
 * test_log.c — escape vectors and their inverse, level parsing, the line
 * format seen on stderr, and the burst limiter driven by a stepped clock.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct esc_vec {
	const char *in;
	size_t len;
	const char *out;
};

static const struct esc_vec esc_vecs[] = {
	{ "", 0, "" },
	{ "AT+SBDIX", 8, "AT+SBDIX" },
	{ "OK\r\n", 4, "OK\\r\\n" },
	{ "a\\b", 3, "a\\\\b" },
	{ "\t", 1, "\\t" },
	{ "\x00", 1, "\\x00" },
	{ "\x7e\x7f\x80\xff", 4, "~\\x7f\\x80\\xff" },
	{ " \x1f", 2, " \\x1f" },
	{ "\x7e" "abc\x1b[0m", 8, "~abc\\x1b[0m" },
	{ "\"'?", 3, "\"'?" },
	{ "\xe0\xb8\x81", 3, "\\xe0\\xb8\\x81" },   /* Thai ko kai in UTF-8 */
};

static void test_escape_vectors(void)
{
	for (size_t i = 0; i < sizeof esc_vecs / sizeof esc_vecs[0]; i++) {
		const struct esc_vec *v = &esc_vecs[i];
		char out[128];
		CU_ASSERT_PTR_EQUAL(log_escape((const uint8_t *)v->in, v->len, out, sizeof out), out);
		CU_ASSERT_STRING_EQUAL(out, v->out);
		uint8_t back[64];
		ssize_t n = log_unescape(out, back, sizeof back);
		CU_ASSERT_EQUAL(n, (ssize_t)v->len);
		if (n == (ssize_t)v->len)
			CU_ASSERT_EQUAL(memcmp(back, v->in, v->len), 0);
	}
}

static void test_escape_truncation(void)
{
	const uint8_t in[] = { 'a', 0x01, 'b' };   /* "a\x01b" = 6 chars */
	char out[16];
	/* cap counts the NUL: an escape that does not fit whole is left out. */
	static const struct { size_t cap; const char *want; } t[] = {
		{ 1, "" }, { 2, "a" }, { 3, "a" }, { 5, "a" }, { 6, "a\\x01" },
		{ 7, "a\\x01b" }, { 16, "a\\x01b" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(out, 'Z', sizeof out);
		log_escape(in, sizeof in, out, t[i].cap);
		CU_ASSERT_STRING_EQUAL(out, t[i].want);
		if (t[i].cap < sizeof out)      /* nothing written past cap */
			CU_ASSERT_EQUAL(out[t[i].cap], 'Z');
	}
	memset(out, 'Z', sizeof out);
	log_escape(in, sizeof in, out, 0);         /* cap 0: nothing written */
	CU_ASSERT_EQUAL(out[0], 'Z');
}

static void test_unescape_errors(void)
{
	uint8_t b[8];
	static const char *bad[] = { "\\", "\\q", "\\x", "\\x1", "\\xg0", "\\x0g", "ab\\" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CU_ASSERT_EQUAL(log_unescape(bad[i], b, sizeof b), ERR_INVAL);
	CU_ASSERT_EQUAL(log_unescape("\\xAB\\xcd", b, sizeof b), 2);
	CU_ASSERT_EQUAL(b[0], 0xab);
	CU_ASSERT_EQUAL(b[1], 0xcd);
	CU_ASSERT_EQUAL(log_unescape("abc", b, 2), ERR_FULL);
	CU_ASSERT_EQUAL(log_unescape("abc", b, 3), 3);
}

/* Random bytes survive escape + unescape (seeded, so failures replay). */
static void test_escape_roundtrip_random(void)
{
	srand(20240601);
	for (int round = 0; round < 200; round++) {
		uint8_t in[100], back[100];
		size_t n = (size_t)(rand() % (int)sizeof in);
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rand();
		char esc[sizeof in * 4 + 1];
		log_escape(in, n, esc, sizeof esc);
		CU_ASSERT(strlen(esc) <= n * 4);
		for (const char *c = esc; *c; c++)
			CU_ASSERT(*c >= 0x20 && *c <= 0x7e);
		CU_ASSERT_EQUAL(log_unescape(esc, back, sizeof back), (ssize_t)n);
		CU_ASSERT_EQUAL(memcmp(in, back, n), 0);
	}
}

static void test_level_parse(void)
{
	static const struct { const char *name; int level; } t[] = {
		{ "error", LOG_LVL_ERROR }, { "warn", LOG_LVL_WARN }, { "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG }, { "io", LOG_LVL_IO }, { "DEBUG", LOG_LVL_DEBUG },
		{ "", -1 }, { "warning", -1 }, { "inf", -1 }, { "trace", -1 }, { NULL, -1 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CU_ASSERT_EQUAL(log_level_parse(t[i].name), t[i].level);
	int saved = log_level_current;
	log_set_level(LOG_LVL_DEBUG);
	CU_ASSERT_EQUAL(log_level_current, LOG_LVL_DEBUG);
	log_set_level((enum log_level)99);
	CU_ASSERT_EQUAL(log_level_current, LOG_LVL_IO);
	log_level_current = saved;
}

/* Runs fn with stderr redirected to a temp file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/lifeline-logtest-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)len + 1);
	if (buf && pread(fd, buf, (size_t)len, 0) != len) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

static void emit_lines(void)
{
	log_set_ident("/usr/sbin/vesseld");
	log_set_level(LOG_LVL_INFO);
	log_info("link %s up at %d baud", "serial:/dev/ttyUSB0", 19200);
	log_debug("not shown %d", 1);
	log_warn("forged\nvesseld[1]: error: fake");
	log_error("trailing newline\n");
	const uint8_t b[] = { 'O', 'K', '\r', '\n' };
	log_bytes("rx", b, sizeof b);           /* below IO level: silent */
	log_set_level(LOG_LVL_IO);
	log_bytes("rx", b, sizeof b);
	uint8_t many[100];
	for (size_t i = 0; i < sizeof many; i++)
		many[i] = (uint8_t)('a' + i % 26);
	log_bytes("tx", many, sizeof many);     /* two lines: 64 + 36 bytes */
	char huge[5000];
	memset(huge, 'x', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	log_info("%s", huge);
	log_set_level(LOG_LVL_INFO);
	log_set_ident(NULL);
}

static void test_line_format(void)
{
	char *out = capture_stderr(emit_lines);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	char head[64];
	snprintf(head, sizeof head, "vesseld[%ld]: ", (long)getpid());
	char *lines[16];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(out, "\n", &save); t && n < 16;
	     t = strtok_r(NULL, "\n", &save))
		lines[n++] = t;
	CU_ASSERT_EQUAL_FATAL(n, 7);
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL(strncmp(lines[i], head, strlen(head)), 0);
	size_t h = strlen(head);
	CU_ASSERT_STRING_EQUAL(lines[0] + h, "info: link serial:/dev/ttyUSB0 up at 19200 baud");
	CU_ASSERT_STRING_EQUAL(lines[1] + h, "warn: forged?vesseld[1]: error: fake");
	CU_ASSERT_STRING_EQUAL(lines[2] + h, "error: trailing newline");
	CU_ASSERT_STRING_EQUAL(lines[3] + h, "io: rx: OK\\r\\n");
	CU_ASSERT_EQUAL(strncmp(lines[4] + h, "io: tx: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", 72), 0);
	CU_ASSERT_EQUAL(strlen(lines[4] + h), strlen("io: tx: ") + 64);
	CU_ASSERT_EQUAL(strlen(lines[5] + h), strlen("io: tx: ") + 36);
	/* A long message is cut to one line ending in "...". */
	size_t l6 = strlen(lines[6]);
	CU_ASSERT(l6 < 2048);
	CU_ASSERT(l6 > 1000);
	CU_ASSERT_STRING_EQUAL(lines[6] + l6 - 3, "...");
	free(out);
}

/* Stepped clock: a burst of events 100 ms apart, quiet 1000 ms. */
static void test_burst(void)
{
	struct log_burst b = { 0 };
	uint64_t sup = 99;
	uint64_t t = 5000;
	CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, &sup), 1);   /* first: logged */
	CU_ASSERT_EQUAL(sup, 0);
	for (int i = 0; i < 9; i++) {
		t += 100;
		CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, &sup), 0);
	}
	/* 999 ms of quiet is not enough ... */
	t += 999;
	CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, &sup), 0);
	/* ... 1000 ms is: logged, and 10 were swallowed. */
	t += 1000;
	CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, &sup), 1);
	CU_ASSERT_EQUAL(sup, 10);
	t += 1;
	CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, NULL), 0);
	t += 5000;
	CU_ASSERT_EQUAL(log_burst_check(&b, t, 1000, &sup), 1);
	CU_ASSERT_EQUAL(sup, 1);
	/* A burst that never goes quiet is reminded once per LOG_BURST_REMIND_MS. */
	struct log_burst c = { 0 };
	uint64_t start = 100000, logged = 0, total_sup = 0;
	int events = 0;
	for (uint64_t now = start; now < start + 3 * LOG_BURST_REMIND_MS; now += 100) {
		events++;
		if (log_burst_check(&c, now, 1000, &sup)) {
			logged++;
			total_sup += sup;
		}
	}
	CU_ASSERT_EQUAL(logged, 3);
	CU_ASSERT_EQUAL(total_sup + c.suppressed + logged, (uint64_t)events);
}

void suite_log(void);
void suite_log(void)
{
	CU_pSuite s = CU_add_suite("log", NULL, NULL);
	CU_add_test(s, "escape vectors and inverse", test_escape_vectors);
	CU_add_test(s, "escape truncation keeps whole sequences", test_escape_truncation);
	CU_add_test(s, "unescape rejects bad input", test_unescape_errors);
	CU_add_test(s, "escape round trip, random bytes", test_escape_roundtrip_random);
	CU_add_test(s, "level parsing", test_level_parse);
	CU_add_test(s, "line format on stderr", test_line_format);
	CU_add_test(s, "burst limiter, stepped clock", test_burst);
}
