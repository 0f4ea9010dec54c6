/*
 * test_hostile_ctl.c — end to end: hostile input on the local side of the
 * daemons (issue 8 "Hostile input"): vesselctl commands carrying SQL
 * metacharacters, path separators and control characters; control-socket
 * requests from other users; malformed and oversized control requests; a
 * control-connection flood; malformed configuration files for both daemons.
 * Peer-side cases (frames, bundles, bodies) are in test_hostile.c.
 *
 * One shored and one honest vesseld serve the whole suite (suite init,
 * tests/lib/hostile.c); configuration cases start short-lived daemons that
 * must refuse to start.  Each case is one CUnit test and ends with
 * hostile_after(): both daemons run, status answers, and an honest text
 * reaches "delivered".  The tests run as root: "other users" are forked
 * children that drop to nobody (65534).  Waits have deadlines; nothing
 * sleeps.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ctl.h"
#include "tests/lib/e2e.h"
#include "tests/lib/hostile.h"
#include "tests/lib/testutil.h"

#define NOBODY 65534
#define EX_CONFIG 78
#define EXIT_MS 10000                   /* a refused daemon must exit in this */
#define CHILD_ERR_BASE 100              /* child exit: 100 + -rc for a ctl_call error */
#define CTL_FLOOD (CTL_CONNS_MAX + 8u)

static struct hostile H;

static int suite_up(void)
{
	return hostile_up(&H);
}

static int suite_down(void)
{
	return hostile_down(&H);
}

/* ---- vesselctl commands with hostile words ------------------------------------- */

/* One vesseld call as root; returns the status; text and json if asked. */
static int vcall(const char *const argv[], char **text, char **json)
{
	int st = -1;
	CU_ASSERT_EQUAL_FATAL(hostile_call(H.vsock, argv, &st, text, json), 0);
	return st;
}

static void expect_crew_added(const char *name)
{
	const char *add[] = {"crew", "add", name, "--lang", "km", "--pin", "2468", NULL};
	CU_ASSERT_EQUAL(vcall(add, NULL, NULL), 0);
	const char *list[] = {"crew", "list", NULL};
	char *json = NULL;
	CU_ASSERT_EQUAL(vcall(list, NULL, &json), 0);
	char want[256];
	snprintf(want, sizeof want, "\"name\":\"%s\"", name);
	CU_ASSERT(json && strstr(json, want) != NULL);        /* stored verbatim */
	free(json);
}

static void test_crew_name_sql(void)
{
	expect_crew_added("'; DROP TABLE msg; --");
	expect_crew_added("Robert'); DELETE FROM crew WHERE ('1'='1");
	hostile_after(&H);      /* msg and crew tables still work */
}

static void test_crew_name_path(void)
{
	expect_crew_added("../../etc/passwd");
	char p[TU_PATH_MAX + 16];
	struct stat st;
	snprintf(p, sizeof p, "%s/etc", H.dir);
	CU_ASSERT(stat(p, &st) != 0);
	hostile_after(&H);
}

static void test_crew_name_control(void)
{
	const char *add[] = {"crew", "add", "Aung\x1b[2J\r\nroot", "--pin", "2468", NULL};
	char *text = NULL;
	CU_ASSERT_EQUAL(vcall(add, &text, NULL), 64);
	CU_ASSERT(text && strstr(text, "name") != NULL);     /* says what is wrong */
	free(text);
	hostile_after(&H);
}

/* contact add for crew 1 with ADDRESS [--name NAME]: returns the status. */
static int contact_add(const char *address, const char *name, char **text)
{
	const char *argv[] = {"contact", "add", "--crew", "1", "--pin", HOSTILE_PIN, address,
			      name ? "--name" : NULL, name, NULL};
	return vcall(argv, text, NULL);
}

static void expect_address_refused(const char *address)
{
	char *text = NULL;
	CU_ASSERT_EQUAL(contact_add(address, NULL, &text), 65);
	CU_ASSERT(text && strstr(text, "address") != NULL);
	free(text);
	const char *list[] = {"contact", "list", "--crew", "1", "--pin", HOSTILE_PIN, NULL};
	char *json = NULL;
	CU_ASSERT_EQUAL(vcall(list, NULL, &json), 0);
	CU_ASSERT(json && strstr(json, address) == NULL);     /* not stored */
	free(json);
	hostile_after(&H);
}

static void test_address_sql(void) { expect_address_refused("'; DROP TABLE contact; --"); }
static void test_address_path(void) { expect_address_refused("../../etc/passwd"); }
static void test_address_control(void) { expect_address_refused("mailto:a@b.example\r\nBcc:x@y.example"); }

/* A mailto: domain holds letters, digits, dots and hyphens only. */
static void test_address_mailto_path(void)
{
	expect_address_refused("mailto:a@b/../../x");
}

struct shore_contact {
	const char *needle;
};

static bool shore_lists(void *arg)
{
	struct shore_contact *c = arg;
	const char *argv[] = {"contact", "list", "--vessel", "101", NULL};
	int st = -1;
	char *json = NULL;
	bool found = hostile_call(H.shore_sock, argv, &st, NULL, &json) == 0 && st == 0 &&
		     strstr(json, c->needle) != NULL;
	free(json);
	return found;
}

/* A display name with SQL in it: stored and carried ashore verbatim. */
static void test_contact_name_sql(void)
{
	const char *name = "'; DROP TABLE contacts; --";
	CU_ASSERT_EQUAL(contact_add("mailto:sister@example.org", name, NULL), 0);
	const char *list[] = {"contact", "list", "--crew", "1", "--pin", HOSTILE_PIN, NULL};
	char *json = NULL;
	CU_ASSERT_EQUAL(vcall(list, NULL, &json), 0);
	CU_ASSERT(json && strstr(json, "\"name\":\"'; DROP TABLE contacts; --\"") != NULL);
	free(json);
	struct shore_contact c = {"\"name\":\"'; DROP TABLE contacts; --\""};
	CU_ASSERT(tu_wait_until_every(shore_lists, &c, HOSTILE_WAIT_MS, HOSTILE_POLL_MS));
	hostile_after(&H);
}

/* A contact's display name, like a crew name, holds no control
 * characters (escape sequences would reach `vesselctl contact list`). */
static void test_contact_name_control(void)
{
	char *text = NULL;
	CU_ASSERT_EQUAL(contact_add("mailto:brother@example.org", "\x1b[31mMum\r\nroot", &text), 65);
	free(text);
	hostile_after(&H);
}

/* ---- other users ------------------------------------------------------------------- */

/* Runs one control call in a child as uid/gid (no other groups).  Returns
 * the daemon's status, or CHILD_ERR_BASE + -rc for a ctl_call() error. */
static int call_as(uid_t uid, gid_t gid, const char *sock, const char *const argv[])
{
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			_exit(1);
		int argc = 0;
		while (argv[argc])
			argc++;
		int st = -1;
		char *text = NULL, *json = NULL;
		int rc = ctl_call(sock, argc, argv, E2E_CTL_MS, &st, &text, &json);
		_exit(rc < 0 ? CHILD_ERR_BASE - rc : st);
	}
	int st = -1;
	CU_ASSERT_FATAL(tu_wait_exit(pid, E2E_CTL_MS + 5000, &st) == 0);
	CU_ASSERT_FATAL(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void expect_socket_refuses_nobody(const char *sock)
{
	const char *argv[] = {"status", NULL};
	CU_ASSERT_EQUAL(call_as(NOBODY, NOBODY, sock, argv), CHILD_ERR_BASE - ERR_PERM);
	hostile_after(&H);
}

static void test_nobody_shored_socket(void) { expect_socket_refuses_nobody(H.shore_sock); }
static void test_nobody_vesseld_socket(void) { expect_socket_refuses_nobody(H.vsock); }

/* nobody in the sockets' group (root's): may connect, is no admin. */
static void test_group_peer_shored_admin(void)
{
	const char *add[] = {"vessel", "add", "777", "--name", "Pirate", "--key",
			     tu_path(H.dir, "101.public"), NULL};
	const char *susp[] = {"vessel", "suspend", "101", NULL};
	const char *status[] = {"status", NULL};
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.shore_sock, add), 77);
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.shore_sock, susp), 77);
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.shore_sock, status), 0);      /* read-only: fine */
	const char *show[] = {"vessel", "show", "777", NULL};
	int st = -1;
	CU_ASSERT_EQUAL(hostile_call(H.shore_sock, show, &st, NULL, NULL), 0);
	CU_ASSERT_EQUAL(st, 67);                                            /* not registered */
	hostile_after(&H);                                                  /* 101 not suspended */
}

static void test_group_peer_vesseld_admin(void)
{
	const char *add[] = {"crew", "add", "Intruder", "--pin", "1111", NULL};
	const char *list[] = {"crew", "list", NULL};
	const char *status[] = {"status", NULL};
	const char *lock[] = {"crew", "lock", "1", NULL};
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.vsock, add), 77);
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.vsock, list), 77);
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.vsock, status), 77);
	CU_ASSERT_EQUAL(call_as(NOBODY, 0, H.vsock, lock), 77);
	hostile_after(&H);                                                  /* crew 1 not locked */
}

/* ---- malformed control requests --------------------------------------------------------- */

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Reads exactly n bytes before the deadline; false on EOF, error or time. */
static bool read_exact(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		uint64_t now = tu_now_ms();
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (now >= deadline || poll(&pf, 1, (int)(deadline - now)) != 1)
			return false;
		ssize_t r = read(fd, p + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* The daemon's answer on fd: status and text (caller frees); then the
 * daemon must close the connection.  Returns true if all of that happened. */
static bool read_refusal(int fd, int *status, char **text)
{
	uint64_t deadline = tu_now_ms() + HOSTILE_WAIT_MS;
	uint8_t hdr[CTL_HEADER_BYTES], type, end;
	uint32_t len;
	if (!read_exact(fd, hdr, sizeof hdr, deadline) ||
	    ctl_header_parse(hdr, CTL_REPLY_MAX, &type, &len) != 0 || type != CTL_TYPE_RESPONSE)
		return false;
	uint8_t *p = malloc(len ? len : 1);
	char *json = NULL;
	bool ok = p && read_exact(fd, p, len, deadline) &&
		  ctl_response_decode(p, len, status, text, &json) == 0;
	free(p);
	free(json);
	return ok && !read_exact(fd, &end, 1, deadline);      /* then closed */
}

/* Sends raw bytes to shored's control socket; expects EX_PROTOCOL with a
 * reason containing `why`, then the connection closed. */
static void expect_ctl_refused(const uint8_t *req, size_t n, const char *why)
{
	int fd = connect_unix(H.shore_sock);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, req, n) == (ssize_t)n);
	int st = -1;
	char *text = NULL;
	CU_ASSERT(read_refusal(fd, &st, &text));
	CU_ASSERT_EQUAL(st, CTL_EX_PROTOCOL);
	CU_ASSERT(text && strstr(text, why) != NULL);
	if (text && !strstr(text, why))
		fprintf(stderr, "hostile_ctl: refusal said \"%s\", wanted \"%s\"\n", text, why);
	free(text);
	close(fd);
	CU_ASSERT(tu_file_contains(H.shore_log, "ctl: refused peer uid 0"));  /* logged (rate-limited) */
	hostile_after(&H);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_ctl_bad_magic(void)
{
	static const char http[] = "GET /status HTTP/1.0\r\n\r\n";
	expect_ctl_refused((const uint8_t *)http, sizeof http - 1, "not a control message");
}

static void test_ctl_wrong_version(void)
{
	uint8_t m[] = {CTL_MAGIC | (CTL_VERSION + 1), CTL_TYPE_REQUEST, 1, 0, 0, 0, 0};
	expect_ctl_refused(m, sizeof m, "version");
}

static void test_ctl_wrong_type(void)
{
	uint8_t m[] = {CTL_MAGIC_VERSION, CTL_TYPE_RESPONSE, 1, 0, 0, 0, 0};
	expect_ctl_refused(m, sizeof m, "expected a request");
}

static void test_ctl_length_over_cap(void)
{
	uint8_t m[CTL_HEADER_BYTES] = {CTL_MAGIC_VERSION, CTL_TYPE_REQUEST};
	put_u32le(m + 2, CTL_MSG_MAX + 1);
	expect_ctl_refused(m, sizeof m, "size limit");
}

static void test_ctl_argc_over_cap(void)
{
	enum { ARGC = CTL_ARGS_MAX + 1 };
	uint8_t m[CTL_HEADER_BYTES + 1 + ARGC];
	m[0] = CTL_MAGIC_VERSION;
	m[1] = CTL_TYPE_REQUEST;
	put_u32le(m + 2, 1 + ARGC);
	m[CTL_HEADER_BYTES] = ARGC;             /* < 128: a one-byte varint */
	memset(m + CTL_HEADER_BYTES + 1, 0, ARGC);      /* ARGC empty strings */
	expect_ctl_refused(m, sizeof m, "malformed request");
}

static void test_ctl_nul_in_argument(void)
{
	uint8_t m[] = {CTL_MAGIC_VERSION, CTL_TYPE_REQUEST, 9, 0, 0, 0,
		       1, 7, 's', 't', 'a', 0, 't', 'u', 's'};
	expect_ctl_refused(m, sizeof m, "malformed request");
}

/* Half a request, then a hang-up: no answer is possible; vesseld logs it. */
static void test_ctl_truncated(void)
{
	off_t from = tu_file_size(H.vlog);
	int fd = connect_unix(H.vsock);
	CU_ASSERT_FATAL(fd >= 0);
	uint8_t m[] = {CTL_MAGIC_VERSION, CTL_TYPE_REQUEST, 100, 0, 0, 0, 1, 6, 's', 't'};
	CU_ASSERT(write(fd, m, sizeof m) == (ssize_t)sizeof m);
	close(fd);
	CU_ASSERT(tu_wait_log_from(H.vlog, "closed inside a message", from, HOSTILE_WAIT_MS));
	hostile_after(&H);
}

/* ---- a control-connection flood ------------------------------------------------------------ */

struct flood {
	int fd[CTL_FLOOD];
	bool done[CTL_FLOOD];
	unsigned busy;                  /* answered "busy" (75) */
};

static bool busy_answers(void *arg)
{
	struct flood *f = arg;
	for (unsigned i = 0; i < CTL_FLOOD; i++) {
		if (f->done[i] || f->fd[i] < 0)
			continue;
		struct pollfd pf = {.fd = f->fd[i], .events = POLLIN};
		if (poll(&pf, 1, 0) != 1)
			continue;
		int st = -1;
		char *text = NULL;
		f->done[i] = true;
		if (read_refusal(f->fd[i], &st, &text) && st == CTL_EX_TEMPFAIL && text &&
		    strstr(text, "busy"))
			f->busy++;
		free(text);
	}
	return f->busy >= CTL_FLOOD - CTL_CONNS_MAX;
}

static bool status_answers(void *arg)
{
	return hostile_counter(arg, "vessels") != UINT64_MAX;
}

static void test_ctl_flood(void)
{
	struct flood f = {0};
	for (unsigned i = 0; i < CTL_FLOOD; i++)
		f.fd[i] = connect_unix(H.shore_sock);
	CU_ASSERT(tu_wait_until(busy_answers, &f, HOSTILE_WAIT_MS));
	CU_ASSERT_EQUAL(f.busy, CTL_FLOOD - CTL_CONNS_MAX);
	for (unsigned i = 0; i < CTL_FLOOD; i++)
		if (f.fd[i] >= 0)
			close(f.fd[i]);
	/* Once the idle ones are gone, the operator gets in again. */
	CU_ASSERT(tu_wait_until_every(status_answers, &H, HOSTILE_WAIT_MS, HOSTILE_POLL_MS));
	hostile_after(&H);
}

/* ---- malformed configuration files ---------------------------------------------------------- */

struct cfg_case {
	const char *prog;               /* "shored" | "vesseld" */
	const char *extra;              /* lines appended to a valid file ("" none) */
	const char *drop;               /* key left out of the valid file, or NULL */
	bool open_key;                  /* secret key copied with mode 0644 */
	const char *needle;             /* must be in the message, besides file:line */
	unsigned line;                  /* the line named (0: the file only) */
};

/* A valid file for prog (one key per line, `drop` left out), with
 * secret_key pointing at key. */
static void valid_conf(const struct cfg_case *c, const char *key, const char *dir, char *out,
		       size_t cap)
{
	char lines[8][TU_PATH_MAX + 64];
	unsigned n = 0;
	bool shore = strcmp(c->prog, "shored") == 0;
	snprintf(lines[n++], sizeof lines[0], "secret_key = %s", key);
	snprintf(lines[n++], sizeof lines[0], "database = %s/x.db", dir);
	snprintf(lines[n++], sizeof lines[0], "control_socket = %s/x.sock", dir);
	snprintf(lines[n++], sizeof lines[0], "link_rate = 9600");
	if (shore) {
		snprintf(lines[n++], sizeof lines[0], "listen = tcp-listen:127.0.0.1:%d", H.port);
		snprintf(lines[n++], sizeof lines[0], "spool_dir = %s/spool", dir);
	} else {
		snprintf(lines[n++], sizeof lines[0], "vessel_id = 101");
		snprintf(lines[n++], sizeof lines[0], "shore_key = %s/shore.public", H.dir);
		snprintf(lines[n++], sizeof lines[0], "link = tcp:127.0.0.1:%d", H.port);
	}
	size_t len = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (c->drop && strncmp(lines[i], c->drop, strlen(c->drop)) == 0 &&
		    lines[i][strlen(c->drop)] == ' ')
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s\n", lines[i]);
	}
	snprintf(out + len, cap - len, "%s", c->extra);
}

static void expect_config_refused(const struct cfg_case *c)
{
	static unsigned serial;
	char dir[TU_PATH_MAX], conf[TU_PATH_MAX + 32], log[TU_PATH_MAX + 32], key[TU_PATH_MAX + 32];
	snprintf(dir, sizeof dir, "%s/cfg%u", H.dir, ++serial);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	char real[PATH_MAX];
	CU_ASSERT_FATAL(realpath(dir, real) != NULL);
	snprintf(conf, sizeof conf, "%s/%s.conf", real, c->prog);
	snprintf(log, sizeof log, "%s/%s.log", real, c->prog);
	const char *keyname = strcmp(c->prog, "shored") == 0 ? "shore.secret" : "101.secret";
	snprintf(key, sizeof key, "%s/%s", H.dir, keyname);
	if (c->open_key) {
		uint8_t *k = NULL;
		size_t klen = 0;
		snprintf(key, sizeof key, "%s/%s", real, keyname);
		CU_ASSERT_FATAL(tu_read_file(tu_path(H.dir, keyname), &k, &klen) == 0);
		CU_ASSERT_FATAL(tu_write_file(key, k, klen) == 0);
		CU_ASSERT_FATAL(chmod(key, 0644) == 0);
		free(k);
	}
	char text[8192];
	valid_conf(c, key, real, text, sizeof text);
	CU_ASSERT_FATAL(tu_write_file(conf, text, strlen(text)) == 0);

	const char *argv[] = {tu_build(c->prog), "--config", conf, "--foreground", NULL};
	pid_t pid = tu_spawn(argv, log);
	CU_ASSERT_FATAL(pid > 0);
	int st = -1;
	if (tu_wait_exit(pid, EXIT_MS, &st) != 0) {
		(void)tu_kill_wait(pid, SIGKILL, EXIT_MS);
		CU_FAIL("the daemon started with a bad configuration");
	}
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG);
	char where[TU_PATH_MAX + 64];
	if (c->open_key)
		snprintf(where, sizeof where, "%s", key);
	else if (c->line)
		snprintf(where, sizeof where, "%s:%u:", conf, c->line);
	else
		snprintf(where, sizeof where, "%s:", conf);
	CU_ASSERT(tu_file_contains(log, where));
	CU_ASSERT(tu_file_contains(log, c->needle));
	CU_ASSERT(!tu_file_contains(log, ": ready"));      /* never served */
	if (!tu_file_contains(log, where) || !tu_file_contains(log, c->needle))
		tu_dump_file(log, 2000);
	hostile_after(&H);
}

/* shored's valid file has 6 lines, vesseld's 7: appended lines follow. */
#define CFG_CASE(fn, ...) \
	static void fn(void) { const struct cfg_case c = {__VA_ARGS__}; expect_config_refused(&c); }
CFG_CASE(test_shored_unknown_key, "shored", "colour = blue\n", NULL, false, "colour", 7)
CFG_CASE(test_shored_bad_value, "shored", "auth_timeout = soon\n", NULL, false, "auth_timeout", 7)
CFG_CASE(test_shored_duplicate_key, "shored", "\n# again\ndatabase = y.db\n", NULL, false, "database", 9)
CFG_CASE(test_shored_missing_key, "shored", "", "secret_key", false, "secret_key", 0)
CFG_CASE(test_shored_open_key, "shored", "", NULL, true, "0644", 0)
CFG_CASE(test_vesseld_unknown_key, "vesseld", "quota_alowance = 1M\n", NULL, false, "quota_alowance", 8)
CFG_CASE(test_vesseld_bad_value, "vesseld", "vessel_name = ok\nbundle_max = 1T\n", NULL, false, "bundle_max", 9)
CFG_CASE(test_vesseld_duplicate_key, "vesseld", "link_rate = 2400\n", NULL, false, "link_rate", 8)
CFG_CASE(test_vesseld_missing_key, "vesseld", "", "vessel_id", false, "vessel_id", 0)
CFG_CASE(test_vesseld_open_key, "vesseld", "", NULL, true, "0644", 0)

/* ---- registration ---------------------------------------------------------------------------- */

void suite_hostile_ctl(void);
void suite_hostile_ctl(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("hostile_ctl", suite_up, suite_down);
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{"crew name: SQL metacharacters stored verbatim", test_crew_name_sql},
		{"crew name: path separators stored verbatim", test_crew_name_path},
		{"crew name: control characters refused", test_crew_name_control},
		{"contact address: SQL metacharacters refused", test_address_sql},
		{"contact address: a path refused", test_address_path},
		{"contact address: mailto with a path refused", test_address_mailto_path},
		{"contact address: control characters refused", test_address_control},
		{"contact name: SQL metacharacters verbatim, ashore too", test_contact_name_sql},
		{"contact name: control characters refused", test_contact_name_control},
		{"nobody: shored's socket refuses by its mode", test_nobody_shored_socket},
		{"nobody: vesseld's socket refuses by its mode", test_nobody_vesseld_socket},
		{"group peer: shored admin commands answered 77", test_group_peer_shored_admin},
		{"group peer: vesseld admin commands answered 77", test_group_peer_vesseld_admin},
		{"control request: bad magic", test_ctl_bad_magic},
		{"control request: wrong version", test_ctl_wrong_version},
		{"control request: a response type", test_ctl_wrong_type},
		{"control request: length over the cap", test_ctl_length_over_cap},
		{"control request: argc over the cap", test_ctl_argc_over_cap},
		{"control request: NUL inside an argument", test_ctl_nul_in_argument},
		{"control request: half a request, then a hang-up", test_ctl_truncated},
		{"control socket: connection flood", test_ctl_flood},
		{"shored config: unknown key", test_shored_unknown_key},
		{"shored config: bad value", test_shored_bad_value},
		{"shored config: duplicate key", test_shored_duplicate_key},
		{"shored config: missing required key", test_shored_missing_key},
		{"shored config: secret key file mode 0644", test_shored_open_key},
		{"vesseld config: unknown key", test_vesseld_unknown_key},
		{"vesseld config: bad value", test_vesseld_bad_value},
		{"vesseld config: duplicate key", test_vesseld_duplicate_key},
		{"vesseld config: missing required key", test_vesseld_missing_key},
		{"vesseld config: secret key file mode 0644", test_vesseld_open_key},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CU_add_test(s, cases[i].name, cases[i].fn);
}
