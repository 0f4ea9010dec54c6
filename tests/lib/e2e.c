/*
 * e2e.c — helpers for end-to-end tests of the daemons (see e2e.h).
 *
 * What it is for: the fleet, hostile-peer and delivery scenarios all start
 * the real daemons, talk to them over their control sockets and read their
 * JSON answers; this is the one copy of that plumbing.
 *
 * Invariants: every wait has a deadline (testutil.h); nothing sleeps.
 * Failure behaviour: e2e_start() and e2e_must() assert (CUnit); the rest
 * return an error for the caller to assert.
 */
#include "tests/lib/e2e.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/ctl.h"
#include "tests/lib/testutil.h"

bool e2e_keygen(const char *dir, const char *role, const char *id)
{
	char logp[TU_PATH_MAX];
	snprintf(logp, sizeof logp, "%s/keygen-%s.log", dir, id);
	const char *argv[] = {tu_build("lifeline-keygen"), "--role", role, "--id", id,
			      "--out", dir, NULL};
	pid_t pid = tu_spawn(argv, logp);
	int st = -1;
	return pid > 0 && tu_wait_exit(pid, 20000, &st) == 0 && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

pid_t e2e_start(const char *dir, const char *prog, const char *conf, const char *tag, int gen)
{
	char logp[TU_PATH_MAX];
	snprintf(logp, sizeof logp, "%s/%s.%d.log", dir, tag, gen);
	const char *argv[] = {tu_build(prog), "--config", conf, "--foreground", NULL};
	pid_t pid = tu_spawn(argv, logp);
	CU_ASSERT_FATAL(pid > 0);
	char ready[64];
	snprintf(ready, sizeof ready, "%s: ready", prog);
	if (!tu_wait_log(logp, ready, E2E_READY_MS)) {
		tu_dump_file(logp, 4000);
		CU_FAIL_FATAL("daemon did not become ready");
	}
	return pid;
}

int e2e_call(const char *sock, int *status, char **json, const char *const argv[])
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char *text = NULL;
	*json = NULL;
	int rc = ctl_call(sock, argc, argv, E2E_CTL_MS, status, &text, json);
	if (rc == 0 && *status != 0)
		fprintf(stderr, "e2e: %s %s -> %d: %s\n", argv[0], argc > 1 ? argv[1] : "",
			*status, text);
	free(text);
	return rc;
}

char *e2e_must(const char *sock, const char *const argv[])
{
	int st = -1;
	char *json = NULL;
	int rc = e2e_call(sock, &st, &json, argv);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st, 0);
	if (rc != 0 || st != 0) {
		free(json);
		return NULL;
	}
	return json;
}

/* The first character of the value of "key" in obj[.. end), or NULL. */
static const char *value_of(const char *obj, const char *end, const char *key)
{
	char pat[80];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(obj, pat);
	if (!p || (end && p >= end))
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

bool e2e_json_u64(const char *obj, const char *end, const char *key, uint64_t *v)
{
	const char *p = value_of(obj, end, key);
	if (!p || *p < '0' || *p > '9')
		return false;
	char *e;
	*v = strtoull(p, &e, 10);
	return e != p;
}

bool e2e_json_str(const char *obj, const char *end, const char *key, char *out, size_t cap)
{
	const char *p = value_of(obj, end, key);
	if (!p || *p != '"' || cap == 0)
		return false;
	p++;
	size_t n = 0;
	while (*p && *p != '"' && n + 1 < cap)
		out[n++] = *p++;
	out[n] = '\0';
	return *p == '"';
}

size_t e2e_json_each(const char *json, const char *key,
		     void (*fn)(const char *obj, const char *end, void *arg), void *arg)
{
	char pat[80];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = json ? strstr(json, pat) : NULL;
	size_t n = 0;
	while (p && (p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		if (!end)
			break;
		fn(p, end, arg);
		n++;
		p = end + 1;
	}
	return n;
}

uint64_t e2e_peak_rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (tu_read_file(path, &buf, &len) != 0)
		return 0;
	char *s = realloc(buf, len + 1);
	if (!s) {
		free(buf);
		return 0;
	}
	s[len] = '\0';
	const char *hwm = strstr(s, "VmHWM:");
	uint64_t kb = hwm ? strtoull(hwm + 6, NULL, 10) : 0;
	free(s);
	return kb;
}
