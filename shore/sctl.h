/*
 * sctl.h — shored's control commands: argv in, (status, text, json) out.
 *
 * The daemon's control-socket handler and the unit tests call sctl_handle()
 * directly; nothing here does socket I/O.  Commands and JSON fields are the
 * contract's (shorectl help lists them):
 *   vessel add ID --name NAME --key PATH.public   (admin)
 *   vessel list | vessel show ID | vessel suspend ID | vessel resume ID (admin)
 *   contact list [--vessel V]
 *   messages list [--vessel V] [--crew C] [--state S] [--since UNIX] [--limit N]
 *   messages show V MSGID
 *   deliveries retry V MSGID                      (admin)
 *   reply --vessel V --crew C --contact REF TEXT  (admin)
 *   alerts [--vessel V]
 *   cases list|show|blob|update ...               complaint cases (shore/cases.h)
 *   statement --vessel V --month YYYY-MM          (admin; signed, shore/ledger.h)
 *   status
 * Status codes are sysexits: 0, 64 usage, 65 data error, 67 no such vessel
 * or message, 70 internal (database), 77 not admin.  Every error text says
 * what to do next.
 */
#ifndef LIFELINE_SHORE_SCTL_H
#define LIFELINE_SHORE_SCTL_H

#include <stdint.h>
#include <sys/types.h>

#include "common/ctl.h"
#include "shore/deliver_spool.h"
#include "shore/ingest.h"
#include "shore/ledger.h"
#include "shore/route.h"
#include "shore/session.h"
#include "shore/store.h"

#define SCTL_EX_NOUSER 67
#define SCTL_LIST_DEFAULT 100000u       /* rows a listing returns without --limit */

struct sctl {
	struct store *st;               /* the main loop's connection */
	struct ingest *in;
	struct route *route;            /* may be NULL (tests) */
	struct session_mgr *sm;         /* may be NULL (tests) */
	struct deliver_spool *spool;    /* may be NULL */
	uid_t admin_uid;                /* besides root */
	int64_t (*now)(void *ctx);      /* unix seconds; NULL: time(NULL) */
	void *now_ctx;
	struct ledger_signer *signer;   /* monthly statements; NULL: refused */
};

struct sctl_result {
	int status;
	char *text;                     /* malloc'd, never NULL after sctl_handle */
	char *json;                     /* malloc'd, never NULL after sctl_handle */
};

/* Runs one command.  Returns 0 with *r filled (free with
 * sctl_result_free), or ERR_NOMEM. */
int sctl_handle(struct sctl *c, const struct ctl_peer *peer, int argc, char *const argv[],
		struct sctl_result *r) LL_MUST_CHECK;
void sctl_result_free(struct sctl_result *r);

/* The usage text (also `shorectl help`). */
extern const char sctl_usage[];

#endif
