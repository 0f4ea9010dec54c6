/*
 * vctl.h — vesseld's control commands: argv in, (status, text, json) out.
 *
 * The daemon's control-socket handler and the unit tests call
 * vctl_handle() directly; nothing here does socket I/O.  Commands and JSON
 * fields are the contract's (vctl_usage lists them; `vesselctl help`
 * prints it).  Admin commands need a peer whose uid is 0 or admin_uid;
 * crew commands need the crew member's PIN (`--pin`), from any peer.
 * Status codes are sysexits: 0, 64 usage, 65 data error, 67 no such
 * crew/contact, 69 complaints not set up, 70 internal, 75 over quota,
 * 77 wrong PIN / locked / not admin.  Every error text says what to do.
 *
 * Complaints (DESIGN invariant 5): `complain --crew ID --category C TEXT`
 * is sealed by vessel/complain.c (proto/complaint.h record, vessel
 * signature, sealed to the inspectorate) inside the transaction that
 * allocates its message id; the vessel database holds only the blob.
 */
#ifndef LIFELINE_VESSEL_VCTL_H
#define LIFELINE_VESSEL_VCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ctl.h"
#include "vessel/pin.h"
#include "vessel/store.h"

#define VCTL_EX_NOUSER 67
#define VCTL_EX_UNAVAILABLE 69
#define VCTL_WARN_MAX 8u                 /* quota_warn thresholds */
#define VCTL_CREW_MAX 256u               /* SCHED_CREW_MAX */
#define VCTL_LIST_MAX 200u               /* messages in `status --crew` */
#define VCTL_LIST_LIMIT_MAX 1000000u     /* most `status --crew --limit N` lists */
#define VCTL_TEXT_MAX 2048u              /* BODY_TEXT_UTF8_MAX */

struct vctl_config {
	uint64_t allowance;              /* bytes per crew member per month */
	int32_t zone;                    /* seconds east of UTC */
	uint32_t warn[VCTL_WARN_MAX];    /* percent thresholds */
	size_t nwarn;
	struct pin_policy pin;
};

struct vctl {
	struct vstore *st;
	struct vctl_config cfg;
	uid_t admin_uid;                 /* besides root */
	int64_t (*now)(void *ctx);       /* unix seconds; NULL: time(NULL) */
	void *now_ctx;
	uint32_t vessel_id;              /* named in complaint records */
	const uint8_t *sign_sk;          /* vessel Ed25519 secret key (64 bytes) */
	const uint8_t *inspector_pk;     /* inspector X25519 key (32), NULL: none */
	void (*queued)(void *ctx);       /* a message was queued (kick the uplink); may be NULL */
	bool (*link_up)(void *ctx);      /* may be NULL: "down" */
	void *hook_ctx;
};

struct vctl_result {
	int status;
	char *text;                      /* malloc'd, never NULL after vctl_handle */
	char *json;                      /* malloc'd, never NULL after vctl_handle */
};

/* Runs one command.  Returns 0 with *r filled (free with
 * vctl_result_free), or ERR_NOMEM. */
int vctl_handle(struct vctl *v, const struct ctl_peer *peer, int argc, char *const argv[],
		struct vctl_result *r) LL_MUST_CHECK;
void vctl_result_free(struct vctl_result *r);

/* The usage text (also `vesselctl help`). */
extern const char vctl_usage[];

/* Parses "80, 95" (percentages 1..100, comma or space separated) into
 * out[0..max).  Returns the count, or -1 (bad number, too many). */
int vctl_warn_parse(const char *s, uint32_t *out, size_t max);

/* 0 if address is a contact address vesseld accepts (mailto:, tel:,
 * webhook:), else ERR_INVAL with a sentence in why. */
int vctl_address_check(const char *address, char *why, size_t cap) LL_MUST_CHECK;

#endif
