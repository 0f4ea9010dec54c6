/*
 * hostile.c — the shared stage of the hostile-input suites (see hostile.h).
 *
 * What it is for: dozens of hostile cases share one shored and one honest
 * vesseld, so the suites stay fast; this file starts and stops them and
 * proves, after each case, that the daemons survived and honest traffic
 * still flows.
 *
 * Invariants: every wait has a deadline (testutil.h); nothing sleeps.
 * hostile_up/down never assert (they run in CUnit suite init/cleanup,
 * outside any test); the rest asserts.
 * Failure behaviour: setup problems are printed with the daemon's log tail
 * and reported as -1, so CUnit marks the suite's init as failed.
 */
#include "tests/lib/hostile.h"

#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/ctl.h"
#include "tests/lib/e2e.h"

static int say_fail(const char *what, const char *log)
{
	fprintf(stderr, "hostile setup: %s\n", what);
	if (log)
		tu_dump_file(log, 4000);
	return -1;
}

/* e2e_start() without assertions. */
static pid_t start(const char *prog, const char *conf, const char *log)
{
	const char *argv[] = {tu_build(prog), "--config", conf, "--foreground", NULL};
	pid_t pid = tu_spawn(argv, log);
	char ready[64];
	snprintf(ready, sizeof ready, "%s: ready", prog);
	if (pid > 0 && tu_wait_log(log, ready, E2E_READY_MS))
		return pid;
	if (pid > 0)
		(void)tu_kill_wait(pid, SIGKILL, 5000);
	say_fail("a daemon did not become ready", log);
	return -1;
}

int hostile_call(const char *sock, const char *const argv[], int *status, char **text,
		 char **json)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char *t = NULL, *j = NULL;
	int rc = ctl_call(sock, argc, argv, E2E_CTL_MS, status, &t, &j);
	if (text)
		*text = t;
	else
		free(t);
	if (json)
		*json = j;
	else
		free(j);
	return rc;
}

/* A call that must answer 0; no assertion (setup). */
static int must(const char *sock, const char *const argv[])
{
	int st = -1;
	char *text = NULL;
	int rc = hostile_call(sock, argv, &st, &text, NULL);
	if (rc != 0 || st != 0)
		fprintf(stderr, "hostile setup: %s %s -> rc %d status %d: %s\n", argv[0],
			argv[1] ? argv[1] : "", rc, st, text ? text : "");
	free(text);
	return rc == 0 && st == 0 ? 0 : -1;
}

int hostile_vessel_key(struct hostile *h, const char *id, uint32_t register_as)
{
	if (!e2e_keygen(h->dir, "vessel", id))
		return say_fail("lifeline-keygen failed", NULL);
	if (!register_as)
		return 0;
	char key[TU_PATH_MAX], num[16];
	snprintf(key, sizeof key, "%s/%s.public", h->dir, id);
	snprintf(num, sizeof num, "%" PRIu32, register_as);
	const char *add[] = {"vessel", "add", num, "--name", "Sea Star", "--key", key, NULL};
	return must(h->shore_sock, add);
}

int hostile_up(struct hostile *h)
{
	memset(h, 0, sizeof *h);
	h->dir = tu_tmpdir();
	if (!h->dir)
		return say_fail("no temp dir", NULL);
	/* Other users may traverse (not list) the dir: the control sockets'
	 * own modes are then what refuses them. */
	if (chmod(h->dir, 0711) != 0 || !e2e_keygen(h->dir, "shore", "shore") ||
	    !e2e_keygen(h->dir, "vessel", "101"))
		return say_fail("keys", NULL);
	h->port = tu_free_tcp_port();
	if (h->port <= 0)
		return say_fail("no free port", NULL);

	char conf[2048];
	snprintf(h->shore_conf, sizeof h->shore_conf, "%s/shored.conf", h->dir);
	snprintf(h->shore_sock, sizeof h->shore_sock, "%s/shored.sock", h->dir);
	snprintf(h->shore_log, sizeof h->shore_log, "%s/shored.log", h->dir);
	snprintf(h->spool, sizeof h->spool, "%s/spool", h->dir);
	snprintf(conf, sizeof conf,
		 "secret_key = shore.secret\ndatabase = shore.db\ncontrol_socket = shored.sock\n"
		 "spool_dir = spool\nlisten = tcp-listen:127.0.0.1:%d\nlink_rate = 1000000\n"
		 "link_rtt = 50ms\nmax_connections = %d\nauth_timeout = 2s\nlog_level = info\n",
		 h->port, HOSTILE_MAX_CONN);
	if (tu_write_file(h->shore_conf, conf, strlen(conf)) != 0)
		return say_fail("cannot write shored.conf", NULL);
	if ((h->shored = start("shored", h->shore_conf, h->shore_log)) < 0)
		return -1;
	char key[TU_PATH_MAX];
	snprintf(key, sizeof key, "%s/101.public", h->dir);
	const char *add[] = {"vessel", "add", "101", "--name", "Honest", "--key", key, NULL};
	if (must(h->shore_sock, add) != 0)
		return -1;

	snprintf(h->vconf, sizeof h->vconf, "%s/vesseld.conf", h->dir);
	snprintf(h->vsock, sizeof h->vsock, "%s/vesseld.sock", h->dir);
	snprintf(h->vlog, sizeof h->vlog, "%s/vesseld.log", h->dir);
	snprintf(conf, sizeof conf,
		 "vessel_id = 101\nsecret_key = 101.secret\nshore_key = shore.public\n"
		 "database = vessel.db\nlink = tcp:127.0.0.1:%d\nlink_rate = 1000000\n"
		 "link_rtt = 50ms\ncontrol_socket = vesseld.sock\nlog_level = info\n", h->port);
	if (tu_write_file(h->vconf, conf, strlen(conf)) != 0)
		return say_fail("cannot write vesseld.conf", NULL);
	if ((h->vesseld = start("vesseld", h->vconf, h->vlog)) < 0)
		return -1;
	const char *crew[] = {"crew", "add", "Aung", "--lang", "my", "--pin", HOSTILE_PIN, NULL};
	const char *contact[] = {"contact", "add", "--crew", "1", "--pin", HOSTILE_PIN,
				 "mailto:family@example.org", "--name", "Mother", NULL};
	return must(h->vsock, crew) == 0 && must(h->vsock, contact) == 0 ? 0 : -1;
}

static int stop(pid_t pid, const char *log)
{
	int st = -1;
	if (pid <= 0)
		return 0;
	if (tu_kill_wait_status(pid, SIGTERM, 20000, &st) != 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return say_fail("a daemon did not stop cleanly on SIGTERM", log);
	return 0;
}

int hostile_down(struct hostile *h)
{
	int rc = stop(h->vesseld, h->vlog);
	rc |= stop(h->shored, h->shore_log);
	if (CU_get_number_of_failures() == 0 && rc == 0)
		tu_rmrf(h->dir);
	else
		fprintf(stderr, "hostile: logs kept in %s\n", h->dir);
	free(h->dir);
	h->dir = NULL;
	return rc;
}

bool hostile_running(pid_t pid)
{
	int st;
	return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

uint64_t hostile_counter(struct hostile *h, const char *key)
{
	const char *argv[] = {"status", NULL};
	int st = -1;
	char *json = NULL;
	uint64_t v = 0;
	if (hostile_call(h->shore_sock, argv, &st, NULL, &json) != 0 || st != 0 ||
	    !e2e_json_u64(json, NULL, key, &v))
		v = UINT64_MAX;
	free(json);
	return v;
}

bool hostile_has_control(const char *s)
{
	for (; s && *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
			return true;
	return false;
}

struct delivered_arg {
	struct hostile *h;
	uint64_t id;
	bool found;
};

static void find_delivered(const char *obj, const char *end, void *arg)
{
	struct delivered_arg *a = arg;
	uint64_t id = 0;
	char state[32];
	if (e2e_json_u64(obj, end, "msg_id", &id) && id == a->id &&
	    e2e_json_str(obj, end, "state", state, sizeof state) && strcmp(state, "delivered") == 0)
		a->found = true;
}

static bool honest_delivered(void *arg)
{
	struct delivered_arg *a = arg;
	const char *argv[] = {"status", "--crew", "1", "--pin", HOSTILE_PIN, NULL};
	int st = -1;
	char *json = NULL;
	if (hostile_call(a->h->vsock, argv, &st, NULL, &json) == 0 && st == 0)
		e2e_json_each(json, "messages", find_delivered, a);
	free(json);
	return a->found;
}

void hostile_after(struct hostile *h)
{
	CU_ASSERT(hostile_running(h->shored));
	CU_ASSERT(hostile_running(h->vesseld));
	CU_ASSERT(hostile_counter(h, "vessels") != UINT64_MAX);   /* status answers */
	char text[64];
	snprintf(text, sizeof text, "ပိုက်ဆံ မရသေးဘူး %u", ++h->honest);
	const char *send[] = {"send", "--crew", "1", "--pin", HOSTILE_PIN, "--to", "1", text, NULL};
	int st = -1;
	char *json = NULL;
	struct delivered_arg a = {h, 0, false};
	CU_ASSERT_EQUAL(hostile_call(h->vsock, send, &st, NULL, &json), 0);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT(json && e2e_json_u64(json, NULL, "msg_id", &a.id));
	free(json);
	if (!tu_wait_until_every(honest_delivered, &a, HOSTILE_WAIT_MS, HOSTILE_POLL_MS)) {
		fprintf(stderr, "hostile: honest text %" PRIu64 " not delivered\n", a.id);
		CU_FAIL("honest traffic stopped flowing");
	}
}

