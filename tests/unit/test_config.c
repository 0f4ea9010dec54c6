/*
 * test_config.c — the configuration parser: a table of values for every
 * type (accepted, refused as malformed, refused as out of range), a table
 * of whole files for every refusal with the exact line and key, quoting and
 * comments, lists, the schema checker, files on disk (missing, folder, too
 * big, relative paths), the sample printed from the schema read back to
 * the defaults, and seeded random files that must never break the parser.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/link.h"
#include "common/log.h"

#define ID_BYTES 33u
#define PATH_BYTES 128u
#define LISTEN_MAX 4u
#define LISTEN_BYTES 64u
#define MOTD_BYTES 64u
#define KIB 1024ull

struct tconf {
	char vessel_id[ID_BYTES];
	char database[PATH_BYTES];
	uint64_t quota_bytes;
	uint64_t heartbeat_ms;
	uint64_t retries;
	bool verbose;
	int32_t quota_tz;
	int log_level;
	char link[LINK_SPEC_MAX];
	char listen[LISTEN_MAX][LISTEN_BYTES];
	size_t nlisten;
	char motd[MOTD_BYTES];
	char spool[PATH_BYTES];
};

/* Ids: letters, digits and '-'. */
static int id_check(const char *v, char *why, size_t cap)
{
	for (const char *p = v; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-')) {
			snprintf(why, cap, "only letters, digits and '-'");
			return 1;
		}
	return 0;
}

static const struct config_key schema[] = {
	{ .name = "vessel_id", .type = CONFIG_STRING, .offset = offsetof(struct tconf, vessel_id),
	  .size = ID_BYTES, .min = 1, .required = true, .example = "TH-1042", .check = id_check,
	  .help = "This vessel's id, as registered ashore." },
	{ .name = "database", .type = CONFIG_PATH, .offset = offsetof(struct tconf, database),
	  .size = PATH_BYTES, .min = 1, .def = "vessel.db", .help = "SQLite database file." },
	{ .name = "quota_bytes", .type = CONFIG_BYTES, .offset = offsetof(struct tconf, quota_bytes),
	  .min = 1024, .max = 1024ull * 1024 * 1024, .def = "1M",
	  .help = "Monthly allowance per crew member." },
	{ .name = "heartbeat", .type = CONFIG_DURATION, .offset = offsetof(struct tconf, heartbeat_ms),
	  .min = 1000, .max = 86400000, .def = "15m", .help = "Time between heartbeats." },
	{ .name = "retries", .type = CONFIG_UINT, .offset = offsetof(struct tconf, retries),
	  .min = 1, .max = 10, .def = "3", .help = "Attempts before giving up." },
	{ .name = "verbose", .type = CONFIG_BOOL, .offset = offsetof(struct tconf, verbose),
	  .def = "no", .help = "Say more." },
	{ .name = "quota_tz", .type = CONFIG_TZ, .offset = offsetof(struct tconf, quota_tz),
	  .def = "+07:00", .help = "Zone of the quota month." },
	{ .name = "log_level", .type = CONFIG_LOG_LEVEL, .offset = offsetof(struct tconf, log_level),
	  .def = "info", .help = "How much to log." },
	{ .name = "link", .type = CONFIG_LINK, .offset = offsetof(struct tconf, link),
	  .size = LINK_SPEC_MAX, .min = 1, .def = "serial:/dev/ttyUSB0?baud=19200",
	  .help = "How this vessel reaches the shore." },
	{ .name = "listen", .type = CONFIG_LIST, .offset = offsetof(struct tconf, listen),
	  .size = LISTEN_BYTES, .min = 1, .max_count = LISTEN_MAX,
	  .count_offset = offsetof(struct tconf, nlisten), .def = "tcp-listen:7100",
	  .help = "Where to listen; give the key once per address." },
	{ .name = "motd", .type = CONFIG_STRING, .offset = offsetof(struct tconf, motd),
	  .size = MOTD_BYTES, .def = "  Welcome # aboard \"crew\" \\o/", .help = "Greeting." },
	{ .name = "spool", .type = CONFIG_PATH, .offset = offsetof(struct tconf, spool),
	  .size = PATH_BYTES, .help = "Optional spool folder." },
};
#define NKEYS (sizeof schema / sizeof schema[0])

static int parse(const char *text, struct tconf *c, struct config_error *e)
{
	memset(c, 0, sizeof *c);
	memset(e, 0, sizeof *e);
	return config_parse_buf("test.conf", text, strlen(text), schema, NKEYS, c, e);
}

static const struct config_key *key_named(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(schema[i].name, name) == 0)
			return &schema[i];
	return NULL;
}

/* ---- defaults ------------------------------------------------------------- */

static void test_defaults(void)
{
	struct tconf c;
	struct config_error e;
	memset(&c, 0xa5, sizeof c);     /* defaults overwrite whatever was there */
	CU_ASSERT_EQUAL(config_apply_defaults(schema, NKEYS, &c, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.vessel_id, "");
	CU_ASSERT_STRING_EQUAL(c.database, "vessel.db");
	CU_ASSERT_EQUAL(c.quota_bytes, 1048576u);
	CU_ASSERT_EQUAL(c.heartbeat_ms, 900000u);
	CU_ASSERT_EQUAL(c.retries, 3u);
	CU_ASSERT_EQUAL(c.verbose, false);
	CU_ASSERT_EQUAL(c.quota_tz, 25200);
	CU_ASSERT_EQUAL(c.log_level, LOG_LVL_INFO);
	CU_ASSERT_STRING_EQUAL(c.link, "serial:/dev/ttyUSB0?baud=19200");
	CU_ASSERT_EQUAL(c.nlisten, 1u);
	CU_ASSERT_STRING_EQUAL(c.listen[0], "tcp-listen:7100");
	CU_ASSERT_STRING_EQUAL(c.listen[1], "");
	CU_ASSERT_STRING_EQUAL(c.motd, "  Welcome # aboard \"crew\" \\o/");
	CU_ASSERT_STRING_EQUAL(c.spool, "");
}

/* ---- values of every type --------------------------------------------------- */

struct vvec {
	const char *key;
	const char *value;       /* as written after "key = " */
	enum config_problem problem;
	int64_t num;             /* numbers, bool (0/1), tz seconds, log level */
	const char *text;        /* text types: stored value */
};

#define OK CONFIG_PROBLEM_NONE
#define BAD CONFIG_PROBLEM_BAD_VALUE
#define RANGE CONFIG_PROBLEM_RANGE
#define UTF8 CONFIG_PROBLEM_UTF8

static const struct vvec vvecs[] = {
	/* unsigned integer, 1..10 */
	{ "retries", "3", OK, 3, NULL },
	{ "retries", "10", OK, 10, NULL },
	{ "retries", "007", OK, 7, NULL },
	{ "retries", "\"4\"", OK, 4, NULL },
	{ "retries", "0", RANGE, 0, NULL },
	{ "retries", "11", RANGE, 0, NULL },
	{ "retries", "18446744073709551615", RANGE, 0, NULL },
	{ "retries", "18446744073709551616", BAD, 0, NULL },
	{ "retries", "-1", BAD, 0, NULL },
	{ "retries", "+3", BAD, 0, NULL },
	{ "retries", "3 4", BAD, 0, NULL },
	{ "retries", "0x3", BAD, 0, NULL },
	{ "retries", "", BAD, 0, NULL },
	/* size in bytes, 1k..1G */
	{ "quota_bytes", "1048576", OK, 1048576, NULL },
	{ "quota_bytes", "1024k", OK, 1048576, NULL },
	{ "quota_bytes", "1024K", OK, 1048576, NULL },
	{ "quota_bytes", "1M", OK, 1048576, NULL },
	{ "quota_bytes", "1MiB", OK, 1048576, NULL },
	{ "quota_bytes", "3KiB", OK, 3072, NULL },
	{ "quota_bytes", "1G", OK, 1073741824, NULL },
	{ "quota_bytes", "2048B", OK, 2048, NULL },
	{ "quota_bytes", "1024", OK, 1024, NULL },
	{ "quota_bytes", "1023", RANGE, 0, NULL },
	{ "quota_bytes", "2G", RANGE, 0, NULL },
	{ "quota_bytes", "1MB", BAD, 0, NULL },
	{ "quota_bytes", "1kB", BAD, 0, NULL },
	{ "quota_bytes", "1.5M", BAD, 0, NULL },
	{ "quota_bytes", "1T", BAD, 0, NULL },
	{ "quota_bytes", "M", BAD, 0, NULL },
	{ "quota_bytes", "17179869184G", BAD, 0, NULL },     /* 2^64: overflows */
	/* duration, 1s..1d, stored in milliseconds */
	{ "heartbeat", "30s", OK, 30000, NULL },
	{ "heartbeat", "15m", OK, 900000, NULL },
	{ "heartbeat", "2h", OK, 7200000, NULL },
	{ "heartbeat", "1d", OK, 86400000, NULL },
	{ "heartbeat", "45", OK, 45000, NULL },
	{ "heartbeat", "1000ms", OK, 1000, NULL },
	{ "heartbeat", "999ms", RANGE, 0, NULL },
	{ "heartbeat", "0", RANGE, 0, NULL },
	{ "heartbeat", "2d", RANGE, 0, NULL },
	{ "heartbeat", "1w", BAD, 0, NULL },
	{ "heartbeat", "1 h", BAD, 0, NULL },
	{ "heartbeat", "1h30m", BAD, 0, NULL },
	{ "heartbeat", "s", BAD, 0, NULL },
	{ "heartbeat", "-5s", BAD, 0, NULL },
	{ "heartbeat", "213503982335d", BAD, 0, NULL },    /* overflows in ms */
	/* bool */
	{ "verbose", "yes", OK, 1, NULL },
	{ "verbose", "no", OK, 0, NULL },
	{ "verbose", "true", OK, 1, NULL },
	{ "verbose", "false", OK, 0, NULL },
	{ "verbose", "on", OK, 1, NULL },
	{ "verbose", "off", OK, 0, NULL },
	{ "verbose", "1", OK, 1, NULL },
	{ "verbose", "0", OK, 0, NULL },
	{ "verbose", "YES", OK, 1, NULL },
	{ "verbose", "y", BAD, 0, NULL },
	{ "verbose", "2", BAD, 0, NULL },
	{ "verbose", "yess", BAD, 0, NULL },
	/* time-zone offset */
	{ "quota_tz", "+07:00", OK, 25200, NULL },
	{ "quota_tz", "-03:30", OK, -12600, NULL },
	{ "quota_tz", "+05:45", OK, 20700, NULL },
	{ "quota_tz", "Z", OK, 0, NULL },
	{ "quota_tz", "UTC", OK, 0, NULL },
	{ "quota_tz", "+14:00", OK, 50400, NULL },
	{ "quota_tz", "-12:00", OK, -43200, NULL },
	{ "quota_tz", "+14:01", RANGE, 0, NULL },
	{ "quota_tz", "-12:30", RANGE, 0, NULL },
	{ "quota_tz", "+7:00", BAD, 0, NULL },
	{ "quota_tz", "+0700", BAD, 0, NULL },
	{ "quota_tz", "07:00", BAD, 0, NULL },
	{ "quota_tz", "+07:60", BAD, 0, NULL },
	{ "quota_tz", "Asia/Bangkok", BAD, 0, NULL },
	/* log level */
	{ "log_level", "error", OK, LOG_LVL_ERROR, NULL },
	{ "log_level", "warn", OK, LOG_LVL_WARN, NULL },
	{ "log_level", "info", OK, LOG_LVL_INFO, NULL },
	{ "log_level", "debug", OK, LOG_LVL_DEBUG, NULL },
	{ "log_level", "io", OK, LOG_LVL_IO, NULL },
	{ "log_level", "verbose", BAD, 0, NULL },
	/* link spec */
	{ "link", "tcp:shore.example.org:7100", OK, 0, "tcp:shore.example.org:7100" },
	{ "link", "serial:/dev/ttyUSB1?baud=9600&flow=rtscts", OK, 0,
	  "serial:/dev/ttyUSB1?baud=9600&flow=rtscts" },
	{ "link", "tcp-listen:7100", OK, 0, "tcp-listen:7100" },
	{ "link", "udp:host:1", BAD, 0, NULL },
	{ "link", "tcp:host", BAD, 0, NULL },
	{ "link", "", RANGE, 0, NULL },
	/* string with a check and a least length */
	{ "vessel_id", "TH-1042", OK, 0, "TH-1042" },
	{ "vessel_id", "abcdefghijabcdefghijabcdefghijab", OK, 0, "abcdefghijabcdefghijabcdefghijab" },
	{ "vessel_id", "abcdefghijabcdefghijabcdefghijabc", RANGE, 0, NULL },
	{ "vessel_id", "\"\"", RANGE, 0, NULL },
	{ "vessel_id", "TH 1042", BAD, 0, NULL },
	{ "vessel_id", "TH\x01", BAD, 0, NULL },
	/* free text: UTF-8 yes, anything else no */
	{ "motd", "สวัสดี ครับ", OK, 0, "สวัสดี ครับ" },
	{ "motd", "caf\xe9", UTF8, 0, NULL },                  /* Latin-1 */
	{ "motd", "\xc3\xa9\xed\xa0\x80", UTF8, 0, NULL },     /* a surrogate */
	{ "motd", "\xc0\xaf", UTF8, 0, NULL },                 /* overlong '/' */
	{ "motd", "tab\there", OK, 0, "tab\there" },
	{ "motd", "del\x7f", BAD, 0, NULL },
	{ "motd", "", OK, 0, "" },
	/* paths are kept as written by config_parse_buf */
	{ "database", "data/v.db", OK, 0, "data/v.db" },
	{ "database", "/var/lib/lifeline/v.db", OK, 0, "/var/lib/lifeline/v.db" },
};

static int64_t number_of(const struct tconf *c, const char *key)
{
	if (strcmp(key, "retries") == 0)
		return (int64_t)c->retries;
	if (strcmp(key, "quota_bytes") == 0)
		return (int64_t)c->quota_bytes;
	if (strcmp(key, "heartbeat") == 0)
		return (int64_t)c->heartbeat_ms;
	if (strcmp(key, "verbose") == 0)
		return c->verbose;
	if (strcmp(key, "quota_tz") == 0)
		return c->quota_tz;
	if (strcmp(key, "log_level") == 0)
		return c->log_level;
	return -1;
}

static const char *text_of(const struct tconf *c, const char *key)
{
	if (strcmp(key, "vessel_id") == 0)
		return c->vessel_id;
	if (strcmp(key, "link") == 0)
		return c->link;
	if (strcmp(key, "motd") == 0)
		return c->motd;
	if (strcmp(key, "database") == 0)
		return c->database;
	return NULL;
}

static void test_value_vectors(void)
{
	for (size_t i = 0; i < sizeof vvecs / sizeof vvecs[0]; i++) {
		const struct vvec *v = &vvecs[i];
		char text[2048];
		struct tconf c;
		struct config_error e;
		/* The key under test on line 3, after a comment and the id. */
		bool is_id = strcmp(v->key, "vessel_id") == 0;
		snprintf(text, sizeof text, "# vector\n%s\n%s = %s\n", is_id ? "" : "vessel_id = X",
			 v->key, v->value);
		int rc = parse(text, &c, &e);
		if (rc != (v->problem == OK ? 0 : ERR_CONFIG) || e.problem != v->problem)
			fprintf(stderr, "\nvector %zu (%s = %s): rc %d problem %d msg %s\n", i, v->key,
				v->value, rc, e.problem, e.msg);
		CU_ASSERT_EQUAL(rc, v->problem == OK ? 0 : ERR_CONFIG);
		CU_ASSERT_EQUAL(e.problem, v->problem);
		if (v->problem != OK) {
			CU_ASSERT_EQUAL(e.line, 3u);
			CU_ASSERT_STRING_EQUAL(e.key, v->key);
			CU_ASSERT_STRING_EQUAL(e.file, "test.conf");
			CU_ASSERT(strncmp(e.msg, "test.conf:3: key '", 18) == 0);
			CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "accepted") ? e.msg : strstr(e.msg, "UTF-8"));
			continue;
		}
		if (v->text) {
			CU_ASSERT_STRING_EQUAL(text_of(&c, v->key), v->text);
		} else {
			CU_ASSERT_EQUAL(number_of(&c, v->key), v->num);
		}
	}
}

/* The messages say what would be accepted, in the key's own units. */
static void test_value_messages(void)
{
	struct tconf c;
	struct config_error e;
	CU_ASSERT_EQUAL(parse("vessel_id = A\nquota_bytes = 2G\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "from 1k to 1G"));
	CU_ASSERT_EQUAL(parse("vessel_id = A\nquota_bytes = 1MB\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "ambiguous"));
	CU_ASSERT_EQUAL(parse("vessel_id = A\nheartbeat = 2d\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "from 1s to 1d"));
	CU_ASSERT_EQUAL(parse("vessel_id = A\nquota_tz = +15:00\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "from -12:00 to +14:00"));
	CU_ASSERT_EQUAL(parse("vessel_id = A\nlog_level = loud\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "error, warn, info, debug, io"));
	CU_ASSERT_EQUAL(parse("vessel_id = A\nlink = udp:x:1\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "link spec \"udp:x:1\" refused: "));
	CU_ASSERT_EQUAL(parse("vessel_id = A B\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "only letters, digits and '-'"));
	/* A hostile value is escaped and cut in the message. */
	char text[600];
	snprintf(text, sizeof text, "vessel_id = A\nretries = \x1b[31m%0300d\n", 7);
	CU_ASSERT_EQUAL(parse(text, &c, &e), ERR_CONFIG);
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\x1b'));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "\\x1b[31m"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "...\""));
	CU_ASSERT(strlen(e.msg) < 400);
}

/* ---- whole files: syntax and every refusal ---------------------------------- */

struct fvec {
	const char *text;
	int rc;
	enum config_problem problem;
	unsigned line;
	const char *key;
	const char *in_msg;      /* must appear in the message; NULL: no check */
};

static const struct fvec fvecs[] = {
	{ "# only the id\n\n   \t\nvessel_id = A\n", 0, OK, 0, "", NULL },
	{ "vessel_id=A", 0, OK, 0, "", NULL },                      /* no final newline */
	{ "vessel_id = A\nfoo = 1\n", ERR_CONFIG, CONFIG_PROBLEM_UNKNOWN_KEY, 2, "foo",
	  "known keys: vessel_id, database," },
	{ "vessel_id = A\nretires = 3\n", ERR_CONFIG, CONFIG_PROBLEM_UNKNOWN_KEY, 2, "retires",
	  "did you mean 'retries'?" },
	{ "vessel_id = A\nquota-bytes = 1M\n", ERR_CONFIG, CONFIG_PROBLEM_UNKNOWN_KEY, 2,
	  "quota-bytes", "did you mean 'quota_bytes'?" },
	{ "vessel_id = A\nquota bytes = 1M\n", ERR_CONFIG, CONFIG_PROBLEM_UNKNOWN_KEY, 2,
	  "quota bytes", "did you mean 'quota_bytes'?" },
	{ "vessel_id = A\nVerbose = yes\n", ERR_CONFIG, CONFIG_PROBLEM_UNKNOWN_KEY, 2, "Verbose",
	  "did you mean 'verbose'?" },
	{ "vessel_id = A\n\n\nvessel_id = B\n", ERR_CONFIG, CONFIG_PROBLEM_DUPLICATE, 4, "vessel_id",
	  "already set on line 1" },
	{ "vessel_id = A\nretries\n", ERR_CONFIG, CONFIG_PROBLEM_NO_EQUALS, 2, "", "no '='" },
	{ "vessel_id = A\nretries: 3\n", ERR_CONFIG, CONFIG_PROBLEM_NO_EQUALS, 2, "", "key = value" },
	{ "vessel_id = A\nretries # = 3\n", ERR_CONFIG, CONFIG_PROBLEM_NO_EQUALS, 2, "", NULL },
	{ "vessel_id = A\n = 3\n", ERR_CONFIG, CONFIG_PROBLEM_EMPTY_KEY, 2, "", "without a key" },
	{ "", ERR_CONFIG, CONFIG_PROBLEM_MISSING, 0, "vessel_id",
	  "test.conf: required key missing: vessel_id" },
	{ "# nothing\nretries = 2\n", ERR_CONFIG, CONFIG_PROBLEM_MISSING, 0, "vessel_id", NULL },
	{ "vessel_id = A\nmotd = x\0y\n", ERR_CONFIG, CONFIG_PROBLEM_NUL, 2, "", "NUL" },
	{ "vessel_id = A\n# \xa1\xa2 TIS-620 in a comment is ignored\n", 0, OK, 0, "", NULL },
	{ "vessel_id = A\nmotd = \xa1\xa2\n", ERR_CONFIG, CONFIG_PROBLEM_UTF8, 2, "motd", "TIS-620" },
	{ "vessel_id = A\r\nretries = 4\r\n", 0, OK, 0, "", NULL },
	{ "\xef\xbb\xbfvessel_id = A\n", 0, OK, 0, "", NULL },
	{ "vessel_id = A\nmotd = \"open\n", ERR_CONFIG, BAD, 2, "motd", "not closed" },
	{ "vessel_id = A\nmotd = \"a\" b\n", ERR_CONFIG, BAD, 2, "motd", "after the closing quote" },
	{ "vessel_id = A\nmotd = \"a\\nb\"\n", ERR_CONFIG, BAD, 2, "motd", "unknown escape" },
	{ "vessel_id = A\nmotd = \"a\\\"\n", ERR_CONFIG, BAD, 2, "motd", "not closed" },
	{ "vessel_id = A\nlisten = tcp-listen:1\nlisten = tcp-listen:2\nlisten = tcp-listen:1\n",
	  ERR_CONFIG, CONFIG_PROBLEM_DUPLICATE, 4, "listen", "already in the list" },
	{ "vessel_id = A\nlisten = a\nlisten = b\nlisten = c\nlisten = d\nlisten = e\n", ERR_CONFIG,
	  CONFIG_PROBLEM_TOO_MANY, 6, "listen", "more than 4 times" },
	{ "vessel_id = A\nlisten =\n", ERR_CONFIG, RANGE, 2, "listen", NULL },
	{ "vessel_id = A\nmotd = a\rb\n", ERR_CONFIG, BAD, 2, "motd", "control character" },
};

static void test_file_vectors(void)
{
	for (size_t i = 0; i < sizeof fvecs / sizeof fvecs[0]; i++) {
		const struct fvec *v = &fvecs[i];
		struct tconf c;
		struct config_error e;
		/* Vectors may hold a NUL: their length is the literal's, to its final NUL. */
		size_t len = strlen(v->text);
		if (v->problem == CONFIG_PROBLEM_NUL)
			len += 1u + strlen(v->text + len + 1u);
		memset(&c, 0, sizeof c);
		memset(&e, 0, sizeof e);
		int rc = config_parse_buf("test.conf", v->text, len, schema, NKEYS, &c, &e);
		if (rc != v->rc || e.problem != v->problem || e.line != v->line)
			fprintf(stderr, "\nfile vector %zu: rc %d problem %d line %u msg %s\n", i, rc,
				e.problem, e.line, e.msg);
		CU_ASSERT_EQUAL(rc, v->rc);
		CU_ASSERT_EQUAL(e.problem, v->problem);
		CU_ASSERT_EQUAL(e.line, v->line);
		CU_ASSERT_STRING_EQUAL(e.key, v->key);
		if (v->in_msg && !strstr(e.msg, v->in_msg))
			fprintf(stderr, "\nfile vector %zu: \"%s\" not in \"%s\"\n", i, v->in_msg, e.msg);
		if (v->in_msg)
			CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, v->in_msg));
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(c.vessel_id, "A");
			CU_ASSERT_STRING_EQUAL(e.msg, "");
		}
	}
}

/* Quotes and comments: what the value ends up being. */
static void test_quoting(void)
{
	static const struct { const char *line; const char *motd; } q[] = {
		{ "motd = plain text", "plain text" },
		{ "motd =    spaced   ", "spaced" },
		{ "motd = a#b", "a#b" },
		{ "motd = a #b", "a" },
		{ "motd = a\t# tab before the hash", "a" },
		{ "motd = # all comment", "" },
		{ "motd =", "" },
		{ "motd = \"\"", "" },
		{ "motd = \"  # kept  \"", "  # kept  " },
		{ "motd = \"say \\\"hi\\\" \\\\o/\"", "say \"hi\" \\o/" },
		{ "motd = \"x\" # comment", "x" },
		{ "motd = \"x\"# comment", "x" },
		{ "motd = back\\slash", "back\\slash" },
		{ "motd = it\"s", "it\"s" },
		{ "  motd=x", "x" },
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		char text[256];
		struct tconf c;
		struct config_error e;
		snprintf(text, sizeof text, "vessel_id = A\n%s\n", q[i].line);
		int rc = parse(text, &c, &e);
		if (rc != 0 || strcmp(c.motd, q[i].motd) != 0)
			fprintf(stderr, "\nquote %zu: rc %d motd [%s] msg %s\n", i, rc, c.motd, e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_STRING_EQUAL(c.motd, q[i].motd);
	}
}

static void test_list(void)
{
	struct tconf c;
	struct config_error e;
	CU_ASSERT_EQUAL(parse("vessel_id = A\nlisten = tcp-listen:1\nretries = 2\nlisten = tcp-listen:2\n",
			      &c, &e), 0);
	CU_ASSERT_EQUAL(c.nlisten, 2u);         /* the file replaced the default */
	CU_ASSERT_STRING_EQUAL(c.listen[0], "tcp-listen:1");
	CU_ASSERT_STRING_EQUAL(c.listen[1], "tcp-listen:2");
	CU_ASSERT_STRING_EQUAL(c.listen[2], "");
	CU_ASSERT_EQUAL(parse("vessel_id = A\nlisten = a\nlisten = b\nlisten = c\nlisten = d\n",
			      &c, &e), 0);
	CU_ASSERT_EQUAL(c.nlisten, LISTEN_MAX);
	CU_ASSERT_STRING_EQUAL(c.listen[3], "d");
	CU_ASSERT_EQUAL(parse("vessel_id = A\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.nlisten, 1u);
	CU_ASSERT_STRING_EQUAL(c.listen[0], "tcp-listen:7100");
}

/* Lines of exactly CONFIG_LINE_MAX bytes pass, one more is refused. */
static void test_limits(void)
{
	static char text[CONFIG_FILE_MAX + 64];
	struct tconf c;
	struct config_error e;
	size_t n = (size_t)snprintf(text, sizeof text, "vessel_id = A\n#");
	memset(text + n, 'x', CONFIG_LINE_MAX - 1u);
	n += CONFIG_LINE_MAX - 1u;
	text[n++] = '\n';
	CU_ASSERT_EQUAL(config_parse_buf("t", text, n, schema, NKEYS, &c, &e), 0);
	/* The same with CRLF: the CR does not count. */
	text[n - 1u] = '\r';
	text[n++] = '\n';
	CU_ASSERT_EQUAL(config_parse_buf("t", text, n, schema, NKEYS, &c, &e), 0);
	text[n - 2u] = 'x';
	text[n - 1u] = '\n';
	CU_ASSERT_EQUAL(config_parse_buf("t", text, n, schema, NKEYS, &c, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_LINE_TOO_LONG);
	CU_ASSERT_EQUAL(e.line, 2u);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "t:2: the line is 1025 bytes long"));

	/* A file of CONFIG_FILE_MAX bytes of comments is read; one more is not. */
	memset(text, '\n', sizeof text);
	memcpy(text, "vessel_id = A\n", 14);
	CU_ASSERT_EQUAL(config_parse_buf("t", text, CONFIG_FILE_MAX, schema, NKEYS, &c, &e), 0);
	CU_ASSERT_EQUAL(config_parse_buf("t", text, CONFIG_FILE_MAX + 1u, schema, NKEYS, &c, &e),
			ERR_TOOBIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_FILE_TOO_BIG);
	CU_ASSERT_EQUAL(e.line, 0u);
}

static void test_missing_lists_all(void)
{
	struct two { char a[8]; char b[8]; uint64_t n; };
	static const struct config_key two_keys[] = {
		{ .name = "alpha", .type = CONFIG_STRING, .offset = offsetof(struct two, a), .size = 8,
		  .required = true },
		{ .name = "n", .type = CONFIG_UINT, .offset = offsetof(struct two, n), .def = "5" },
		{ .name = "beta", .type = CONFIG_STRING, .offset = offsetof(struct two, b), .size = 8,
		  .required = true },
	};
	struct two t;
	struct config_error e;
	CU_ASSERT_EQUAL(config_parse_buf("two.conf", "n = 6\n", 6, two_keys, 3, &t, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_MISSING);
	CU_ASSERT_EQUAL(e.line, 0u);
	CU_ASSERT_STRING_EQUAL(e.key, "alpha");
	CU_ASSERT_STRING_EQUAL(e.msg, "two.conf: required keys missing: alpha, beta; add a line "
			       "key = value for each");
	CU_ASSERT_EQUAL(config_parse_buf("two.conf", "beta=x\nalpha=y\n", 14, two_keys, 3, &t, &e), 0);
	CU_ASSERT_STRING_EQUAL(t.a, "y");
	CU_ASSERT_STRING_EQUAL(t.b, "x");
	CU_ASSERT_EQUAL(t.n, 5u);
}

/* ---- schema checks ---------------------------------------------------------- */

struct sconf { char s[8]; uint64_t u; size_t n; };

static void test_schema_refusals(void)
{
	static const struct config_key bad[][1] = {
		{ { .name = "Upper", .type = CONFIG_UINT } },
		{ { .name = "", .type = CONFIG_UINT } },
		{ { .name = "u", .type = CONFIG_UINT, .def = "x" } },
		{ { .name = "u", .type = CONFIG_UINT, .min = 5, .max = 10, .def = "11" } },
		{ { .name = "u", .type = CONFIG_UINT, .min = 11, .max = 10 } },
		{ { .name = "u", .type = CONFIG_UINT, .required = true, .def = "1" } },
		{ { .name = "s", .type = CONFIG_STRING, .size = 1 } },
		{ { .name = "s", .type = CONFIG_STRING, .size = 8, .min = 8 } },
		{ { .name = "s", .type = CONFIG_STRING, .size = 8, .def = "too long!" } },
		{ { .name = "s", .type = CONFIG_LIST, .size = 8 } },
		{ { .name = "s", .type = (enum config_type)99 } },
		{ { .name = "l", .type = CONFIG_LINK, .size = 64, .def = "bogus" } },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct config_error e;
		struct sconf s;
		memset(&e, 0, sizeof e);
		CU_ASSERT_EQUAL(config_schema_check(bad[i], 1, &e), ERR_INVAL);
		CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_SCHEMA);
		CU_ASSERT_EQUAL(config_parse_buf("x", "", 0, bad[i], 1, &s, NULL), ERR_INVAL);
		CU_ASSERT_EQUAL(config_write_sample(stderr, "x", bad[i], 1), ERR_INVAL);
	}
	static const struct config_key twice[] = {
		{ .name = "u", .type = CONFIG_UINT, .offset = offsetof(struct sconf, u) },
		{ .name = "u", .type = CONFIG_UINT, .offset = offsetof(struct sconf, u) },
	};
	CU_ASSERT_EQUAL(config_schema_check(twice, 2, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(config_schema_check(schema, NKEYS, NULL), 0);
	CU_ASSERT_EQUAL(config_schema_check(NULL, 0, NULL), 0);
	CU_ASSERT_EQUAL(config_schema_check(NULL, 1, NULL), ERR_INVAL);
}

/* ---- sample ----------------------------------------------------------------- */

static void test_sample_round_trip(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(config_write_sample(f, "vesseld", schema, NKEYS), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);

	struct tconf want, got;
	struct config_error e;
	memset(&want, 0, sizeof want);
	memset(&got, 0, sizeof got);
	CU_ASSERT_EQUAL(config_apply_defaults(schema, NKEYS, &want, &e), 0);
	snprintf(want.vessel_id, sizeof want.vessel_id, "TH-1042");    /* the example */
	int rc = config_parse_buf("sample", text, len, schema, NKEYS, &got, &e);
	if (rc != 0)
		fprintf(stderr, "\n%s\n%s\n", e.msg, text);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(memcmp(&want, &got, sizeof want), 0);

	/* Every key's help and name is in it; the optional key is commented out. */
	for (size_t i = 0; i < NKEYS; i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(text, schema[i].help));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, schema[i].name));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n#spool =\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nmotd = \"  Welcome # aboard \\\"crew\\\" \\\\o/\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nquota_bytes = 1M\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Accepted: a size in bytes such as 1048576, 1024k or 1M "
					    "(k, M, G are 1024-based), from 1k to 1G.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n# Required; the value below is an example.\n"
					    "vessel_id = TH-1042\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# vesseld configuration"));
	free(text);
}

/* A required key without an example stays commented out: the sample is
 * refused until someone fills it in. */
static void test_sample_required_without_example(void)
{
	struct one { char id[16]; };
	static const struct config_key one_key[] = {
		{ .name = "id", .type = CONFIG_STRING, .offset = offsetof(struct one, id), .size = 16,
		  .min = 1, .required = true, .help = "The id." },
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(config_write_sample(f, NULL, one_key, 1), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Required: set it.\n#id =\n"));
	struct one o;
	struct config_error e;
	CU_ASSERT_EQUAL(config_parse_buf("s", text, len, one_key, 1, &o, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_MISSING);
	free(text);
}

static void test_format_helpers(void)
{
	char b[32];
	CU_ASSERT_STRING_EQUAL(config_duration_format(0, b, sizeof b), "0s");
	CU_ASSERT_STRING_EQUAL(config_duration_format(250, b, sizeof b), "250ms");
	CU_ASSERT_STRING_EQUAL(config_duration_format(90000, b, sizeof b), "90s");
	CU_ASSERT_STRING_EQUAL(config_duration_format(900000, b, sizeof b), "15m");
	CU_ASSERT_STRING_EQUAL(config_duration_format(7200000, b, sizeof b), "2h");
	CU_ASSERT_STRING_EQUAL(config_duration_format(172800000, b, sizeof b), "2d");
	CU_ASSERT_STRING_EQUAL(config_type_name(CONFIG_TZ), "UTC offset");
	CU_ASSERT_STRING_EQUAL(config_type_name((enum config_type)0), "?");
	CU_ASSERT_PTR_NOT_NULL(strstr(config_key_describe(key_named("heartbeat"), b, sizeof b), "a dur"));
	CU_ASSERT_EQUAL(strlen(b), sizeof b - 1u);     /* truncated, terminated */
}

/* ---- files on disk ---------------------------------------------------------- */

static char dir[64];

static int setup(void)
{
	strcpy(dir, "/tmp/lifeline-config-XXXXXX");
	return mkdtemp(dir) ? 0 : 1;
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

static void spit(const char *path, const void *text, size_t n)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void test_load(void)
{
	char path[256], want[256];
	struct tconf c;
	struct config_error e;

	snprintf(path, sizeof path, "%s/absent.conf", dir);
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), ERR_IO);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_UNREADABLE);
	CU_ASSERT_EQUAL(e.line, 0u);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, strerror(ENOENT)));

	CU_ASSERT_EQUAL(config_load(dir, schema, NKEYS, &c, &e), ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "folder"));

	/* Relative paths (values and defaults) are taken from the file's folder. */
	snprintf(path, sizeof path, "%s/v.conf", dir);
	const char *text = "vessel_id = A\nspool = out/spool\n";
	spit(path, text, strlen(text));
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), 0);
	snprintf(want, sizeof want, "%s/vessel.db", dir);
	CU_ASSERT_STRING_EQUAL(c.database, want);
	snprintf(want, sizeof want, "%s/out/spool", dir);
	CU_ASSERT_STRING_EQUAL(c.spool, want);

	text = "vessel_id = A\ndatabase = /srv/v.db\n";
	spit(path, text, strlen(text));
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.database, "/srv/v.db");

	/* Joined to the folder, a path may no longer fit: refused with its line. */
	char longv[PATH_BYTES];
	memset(longv, 'p', sizeof longv - 10u);
	longv[sizeof longv - 10u] = '\0';
	char t2[512];
	snprintf(t2, sizeof t2, "vessel_id = A\n\nspool = %s\n", longv);
	spit(path, t2, strlen(t2));
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_RANGE);
	CU_ASSERT_EQUAL(e.line, 3u);
	CU_ASSERT_STRING_EQUAL(e.key, "spool");

	/* Errors name the file as given. */
	text = "vessel_id = A\nretries = many\n";
	spit(path, text, strlen(text));
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(e.file, path);
	char prefix[300];
	snprintf(prefix, sizeof prefix, "%s:2: key 'retries': \"many\" is not a number", path);
	CU_ASSERT_EQUAL(strncmp(e.msg, prefix, strlen(prefix)), 0);

	/* Too big, checked before reading. */
	static char big[CONFIG_FILE_MAX + 1u];
	memset(big, '\n', sizeof big);
	spit(path, big, sizeof big);
	CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), ERR_TOOBIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_FILE_TOO_BIG);

	/* Not readable (root reads anything: then the check cannot apply). */
	text = "vessel_id = A\n";
	spit(path, text, strlen(text));
	CU_ASSERT_EQUAL(chmod(path, 0), 0);
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(config_load(path, schema, NKEYS, &c, &e), ERR_IO);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, strerror(EACCES)));
	}
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);

	/* /dev/null is not a regular file. */
	CU_ASSERT_EQUAL(config_load("/dev/null", schema, NKEYS, &c, &e), ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a regular file"));
}

/* ---- seeded random files ---------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

/* Files built from the pieces a config file is made of, shuffled: the
 * parser either accepts (and then the required key is set and every value
 * is in range) or names a line of the file. */
static void test_random_files(void)
{
	static const char *const pieces[] = {
		"vessel_id", "retries", "quota_bytes", "heartbeat", "verbose", "quota_tz", "log_level",
		"link", "listen", "motd", "database", "spool", "bogus", " ", "\t", "=", " = ", "#",
		" #", "\"", "\\", "\n", "\r\n", "\n", "3", "1M", "15m", "+07:00", "yes", "info",
		"tcp:h:1", "x", "\xe0\xb8\x81", "\xff", "\0", "99999999999999999999", "-", "k",
	};
	rng_state = 20240601u;
	unsigned accepted = 0;
	for (int round = 0; round < 4000; round++) {
		char text[512];
		size_t n = 0;
		unsigned lines = 1;
		if (rng() % 2u)
			n = (size_t)snprintf(text, sizeof text, "vessel_id = A\n");
		int count = (int)(rng() % 40u);
		for (int i = 0; i < count; i++) {
			const char *p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
			size_t pl = *p ? strlen(p) : 1u;
			if (n + pl >= sizeof text)
				break;
			memcpy(text + n, p, pl);
			n += pl;
		}
		for (size_t i = 0; i < n; i++)
			if (text[i] == '\n')
				lines++;
		struct tconf c;
		struct config_error e;
		memset(&c, 0, sizeof c);
		int rc = config_parse_buf("r", text, n, schema, NKEYS, &c, &e);
		CU_ASSERT(rc == 0 || rc == ERR_CONFIG);
		CU_ASSERT(memchr(e.msg, '\0', sizeof e.msg) != NULL);
		if (rc == 0) {
			accepted++;
			CU_ASSERT(c.vessel_id[0] != '\0');
			CU_ASSERT(c.retries >= 1 && c.retries <= 10);
			CU_ASSERT(c.nlisten <= LISTEN_MAX);
			CU_ASSERT(memchr(c.motd, '\0', sizeof c.motd) != NULL);
		} else {
			CU_ASSERT(e.line <= lines);
			CU_ASSERT(e.problem != CONFIG_PROBLEM_NONE);
			CU_ASSERT(strncmp(e.msg, "r:", 2) == 0);
		}
	}
	CU_ASSERT(accepted > 0);      /* the generator does reach success */
}

void suite_config(void);
void suite_config(void)
{
	CU_pSuite s = CU_add_suite("config", setup, teardown);
	CU_add_test(s, "defaults", test_defaults);
	CU_add_test(s, "value vectors of every type", test_value_vectors);
	CU_add_test(s, "messages say what is accepted", test_value_messages);
	CU_add_test(s, "file vectors: every refusal and its line", test_file_vectors);
	CU_add_test(s, "quotes and comments", test_quoting);
	CU_add_test(s, "list keys", test_list);
	CU_add_test(s, "line and file limits", test_limits);
	CU_add_test(s, "all missing required keys named", test_missing_lists_all);
	CU_add_test(s, "schema refusals", test_schema_refusals);
	CU_add_test(s, "sample round trip", test_sample_round_trip);
	CU_add_test(s, "sample with an unfilled required key", test_sample_required_without_example);
	CU_add_test(s, "format helpers", test_format_helpers);
	CU_add_test(s, "files on disk", test_load);
	CU_add_test(s, "seeded random files", test_random_files);
}
