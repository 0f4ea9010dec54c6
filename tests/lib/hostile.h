/*
 * hostile.h — the shared stage of the hostile-input suites
 * (tests/e2e/test_hostile.c, test_hostile_ctl.c): one real shored, one
 * honest vesseld (vessel 101, crew 1 with a family contact) talking to it
 * over TCP, in one temp dir, started once per suite.
 *
 * Every hostile case ends with hostile_after(): both daemons still run,
 * shored's `status` answers, and a fresh honest text reaches "delivered".
 *
 * hostile_up()/hostile_down() are for CUnit suite init/cleanup, so they do
 * not assert: they return 0 or -1 (with the reason on stderr).  The rest
 * asserts with CUnit and is for use inside tests.
 */
#ifndef LIFELINE_TESTS_HOSTILE_H
#define LIFELINE_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/lib/testutil.h"

#define HOSTILE_PIN "4711"
#define HOSTILE_WAIT_MS 20000          /* any single condition wait */
#define HOSTILE_POLL_MS 20             /* re-check interval for daemon state */
#define HOSTILE_MAX_CONN 16            /* shored max_connections */

struct hostile {
	char *dir;                      /* mode 0711: other users may traverse */
	char shore_conf[TU_PATH_MAX], shore_sock[TU_PATH_MAX], shore_log[TU_PATH_MAX];
	char spool[TU_PATH_MAX];
	char vconf[TU_PATH_MAX], vsock[TU_PATH_MAX], vlog[TU_PATH_MAX];
	int port;                       /* shored's tcp-listen port */
	pid_t shored, vesseld;
	unsigned honest;                /* honest texts sent so far */
};

/* Keys (shore, 101), shored, vessel 101 registered, the honest vesseld with
 * crew 1 and one contact.  0, or -1 after printing why. */
int hostile_up(struct hostile *h);
/* SIGTERMs both daemons (each must exit 0), removes the dir unless a test
 * failed.  0, or -1 if a daemon did not stop cleanly. */
int hostile_down(struct hostile *h);

/* Runs lifeline-keygen for a vessel key ID in h->dir; then registers it
 * as vessel ID (when register_as is non-zero).  0 or -1. */
int hostile_vessel_key(struct hostile *h, const char *id, uint32_t register_as);

/* The case is over: asserts both daemons run, status answers, and an honest
 * text from vessel 101 reaches "delivered". */
void hostile_after(struct hostile *h);

/* Whether pid (our child) is still running (not exited). */
bool hostile_running(pid_t pid);

/* One control call keeping the text: ctl_call()'s code; on 0 *status, and
 * *text / *json (either pointer may be NULL: not wanted; caller frees). */
int hostile_call(const char *sock, const char *const argv[], int *status, char **text,
		 char **json);

/* A number from shored's `status` json (first "key": in it), or UINT64_MAX
 * if status does not answer. */
uint64_t hostile_counter(struct hostile *h, const char *key);

/* Whether s holds a byte below 0x20 other than '\n', or DEL. */
bool hostile_has_control(const char *s);

#endif
