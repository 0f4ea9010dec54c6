/*
 * e2e.h — helpers for end-to-end tests of the daemons: keys, starting and
 * restarting vesseld/shored, control-socket calls, and reading the flat
 * JSON objects the daemons answer with.
 *
 * Assertions: e2e_must() and e2e_start() assert with CUnit (they are only
 * ever used inside tests); the rest return errors for the caller to assert.
 */
#ifndef LIFELINE_TESTS_E2E_H
#define LIFELINE_TESTS_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define E2E_READY_MS 20000      /* a daemon's "ready" line */
#define E2E_CTL_MS 20000        /* one control-socket call */

/* Runs build/lifeline-keygen --role ROLE --id ID --out DIR; true on exit 0. */
bool e2e_keygen(const char *dir, const char *role, const char *id);

/* Starts build/PROG --config CONF --foreground with its output in
 * DIR/TAG.GEN.log and waits for "PROG: ready" (asserts, dumping the log on
 * failure).  Returns the pid. */
pid_t e2e_start(const char *dir, const char *prog, const char *conf, const char *tag, int gen);

/* One control call: argv is NULL-terminated.  Returns ctl_call()'s code;
 * on 0, *status and *json (caller frees) are set.  A non-zero status is
 * printed to stderr with the daemon's text. */
int e2e_call(const char *sock, int *status, char **json, const char *const argv[]);

/* A call that must answer status 0 (asserts).  Returns the json (caller
 * frees) or NULL. */
char *e2e_must(const char *sock, const char *const argv[]);

/* "key": number / "key": "string" inside obj[.. end) (end NULL: to the
 * NUL).  Flat objects only: the daemons' list items hold no nesting. */
bool e2e_json_u64(const char *obj, const char *end, const char *key, uint64_t *v);
bool e2e_json_str(const char *obj, const char *end, const char *key, char *out, size_t cap);

/* Calls fn(obj, end, arg) for every '{'..'}' item after "key" in json;
 * returns how many items there were. */
size_t e2e_json_each(const char *json, const char *key,
		     void (*fn)(const char *obj, const char *end, void *arg), void *arg);

/* VmHWM (peak resident set) of pid in kB, or 0 when unknown. */
uint64_t e2e_peak_rss_kb(pid_t pid);

#endif
