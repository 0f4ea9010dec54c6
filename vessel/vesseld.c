/*
 * vesseld — the onboard daemon: crew accounts, quota, the outbox, the
 * uplink to the shore and the inbox.
 *
 *   vesseld --config FILE [--foreground] | vesseld --print-config
 *
 * A thin main (STYLE "Thin mains"): configuration, keys, store -> uplink
 * -> control socket -> link and channel, the loop, then the reverse.  The
 * logic lives in vessel/store.c, uplink.c and vctl.c.
 *
 * Invariants: "vesseld: ready" is logged once, after the database is open
 * and the control socket listens.  Timers only when something is due: the
 * heartbeat, and a retry after a failed pump.  SIGTERM/SIGINT stop the
 * loop between events (a transaction is never left half done), exit 0.
 * Failure behaviour: a bad configuration, key, database or socket: one
 * line on stderr saying what to fix, exit 78 (EX_CONFIG) or 1.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/wallclock.h"
#include "vessel/uplink.h"
#include "vessel/vconf.h"
#include "vessel/vctl.h"

#define EX_CONFIG 78
#define SOCKET_MODE 0660
struct vesseld {
	struct vconf cfg;
	struct loop *lp;
	struct vstore *st;
	struct uplink *up;
	struct ctl_server *ctl;
	struct vctl vctl;
	struct keyfile_secret *key;
	struct bundle_keys *keys;       /* sodium_malloc */
	uint8_t inspector_pk[KEYFILE_KX_PK_BYTES];
};

static void on_queued(void *ctx) { uplink_kick(((struct vesseld *)ctx)->up); }
static bool on_link_query(void *ctx) { return uplink_link_up(((struct vesseld *)ctx)->up); }
static int64_t on_now(void *ctx) { (void)ctx; return wallclock_now(); }

static void on_ctl(struct ctl_conn *conn, const struct ctl_peer *peer, const struct ctl_request *req,
		   void *ctx)
{
	struct vesseld *d = ctx;
	struct vctl_result r;
	if (vctl_handle(&d->vctl, peer, req->argc, req->argv, &r) < 0) {
		(void)ctl_reply(conn, 70, "vesseld is out of memory", NULL);
		return;
	}
	(void)ctl_reply(conn, r.status, r.text, r.json);
	vctl_result_free(&r);
}

static void on_signal(struct loop *lp, int signo, void *ctx)
{
	log_info("signal %d: %s", signo, signo == SIGHUP ? "nothing to reload (restart to apply a "
		 "new configuration)" : "stopping");
	if (signo != SIGHUP)
		loop_stop(lp);
}

static int die(int code, const char *what, const char *detail)
{
	fprintf(stderr, "vesseld: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return code;
}

static int load_keys(struct vesseld *d)
{
	struct keyfile_diag kd = {0};
	struct keyfile_public shore, insp;
	if (keyfile_secret_load(d->cfg.secret_key, &d->key, &kd) < 0)
		return die(EX_CONFIG, d->cfg.secret_key, kd.msg);
	if (d->key->pub.role != KEYFILE_ROLE_VESSEL)
		return die(EX_CONFIG, "secret_key is not a vessel key (lifeline-keygen --role vessel)", NULL);
	if (keyfile_public_load(d->cfg.shore_key, &shore, &kd) < 0)
		return die(EX_CONFIG, d->cfg.shore_key, kd.msg);
	if (shore.role != KEYFILE_ROLE_SHORE)
		return die(EX_CONFIG, "shore_key is not a shore key", NULL);
	if (d->cfg.inspector_key[0]) {
		if (keyfile_public_load(d->cfg.inspector_key, &insp, &kd) < 0)
			return die(EX_CONFIG, d->cfg.inspector_key, kd.msg);
		if (insp.role != KEYFILE_ROLE_INSPECTOR)
			return die(EX_CONFIG, "inspector_key is not an inspector key", NULL);
		memcpy(d->inspector_pk, insp.kx_pk, sizeof d->inspector_pk);
		d->vctl.inspector_pk = d->inspector_pk;
	}
	if (!(d->keys = sodium_malloc(sizeof *d->keys)) ||
	    bundle_keys_vessel(d->keys, d->key->pub.kx_pk, d->key->kx_sk, shore.kx_pk) < 0)
		return die(EX_CONFIG, "cannot derive session keys from secret_key and shore_key", NULL);
	return 0;
}

static int start(struct vesseld *d)
{
	struct vconf *c = &d->cfg;
	struct db_open_error why = {0};
	int rc;
	if ((rc = load_keys(d)) != 0)
		return rc;
	if (vstore_open(c->database, &d->st, &why) < 0)
		return die(1, c->database, why.text);
	struct uplink_config ucfg = {.vessel_id = (uint32_t)c->vessel_id, .bundle_max = c->bundle_max,
				     .keys = d->keys, .quota = {.zone = c->zone, .allowance = c->allowance,
				     .interval = (uint32_t)(c->hb_ms / 1000u ? c->hb_ms / 1000u : 1u)}};
	if (uplink_new(&d->up, d->st, &ucfg) < 0)
		return die(1, "cannot start the uplink", db_last_error(vstore_db(d->st)));
	d->vctl = (struct vctl){.st = d->st, .admin_uid = geteuid(), .vessel_id = (uint32_t)c->vessel_id,
		.sign_sk = d->key->sign_sk,
		.inspector_pk = d->vctl.inspector_pk, .queued = on_queued, .link_up = on_link_query, .hook_ctx = d,
		.cfg = c->vctl, .now = on_now};
	if (ctl_server_open(&d->ctl, c->control_socket, SOCKET_MODE, d->lp, on_ctl, d) < 0)
		return die(1, "cannot open the control socket", c->control_socket);
	struct uplink_link_config lc = {.spec = c->link, .heartbeat_ms = c->hb_ms,
		.ch = {.rate_bps = (uint32_t)c->link_rate, .rtt_ms = (uint32_t)c->link_rtt}};
	if (uplink_attach(d->up, d->lp, &lc) < 0)
		return die(1, "cannot open the link", c->link);
	return 0;
}

static void stop(struct vesseld *d)
{
	ctl_server_close(d->ctl);
	uplink_free(d->up);
	vstore_close(d->st);
	sodium_free(d->keys);
	keyfile_secret_free(d->key);
	loop_free(d->lp);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
		{"print-config", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	static struct vesseld d;
	const char *conf = NULL;
	bool fg = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 'f': fg = true; break;
		case 'p': return config_write_sample(stdout, "vesseld", vconf_schema, vconf_nkeys) < 0 ? 1 : 0;
		case 'V': printf("vesseld %s\n", LIFELINE_VERSION); return 0;
		default:
			fprintf(stderr, "usage: vesseld --config FILE [--foreground] | vesseld --print-config\n");
			return o == 'h' ? 0 : 64;
		}
	}
	if (!conf || optind != argc)
		return die(64, "usage: vesseld --config FILE [--foreground] (see --print-config)", NULL);
	char real[PATH_MAX];
	struct config_error cerr;
	if (!realpath(conf, real))
		return die(EX_CONFIG, "cannot find the configuration file", conf);
	if (vconf_load(real, &d.cfg, &cerr) < 0)
		return die(EX_CONFIG, cerr.msg, NULL);
	log_set_ident("vesseld");
	log_set_level((enum log_level)d.cfg.log_level);
	if (sodium_init() < 0)
		return die(1, "libsodium failed to initialise", NULL);
	if (!fg && daemon_detach() < 0)
		return die(1, "cannot detach from the terminal (try --foreground)", NULL);
	signal(SIGPIPE, SIG_IGN);
	d.lp = loop_new(NULL, NULL);
	if (!d.lp || loop_signal(d.lp, SIGTERM, on_signal, &d) < 0 ||
	    loop_signal(d.lp, SIGINT, on_signal, &d) < 0 || loop_signal(d.lp, SIGHUP, on_signal, &d) < 0)
		return die(1, "cannot set up the event loop", NULL);
	if (wallclock_offset() != 0)
		log_warn("%s is set: the wall clock is shifted by %lld s (for tests only)", WALLCLOCK_ENV,
			 (long long)wallclock_offset());
	int rc = start(&d);
	if (rc != 0) {
		stop(&d);
		return rc;
	}
	log_info("vesseld: ready (vessel %llu%s%s, link %s, control socket %s, database %s)",
		 (unsigned long long)d.cfg.vessel_id, d.cfg.vessel_name[0] ? " " : "", d.cfg.vessel_name,
		 d.cfg.link, d.cfg.control_socket, d.cfg.database);
	rc = loop_run(d.lp);
	stop(&d);
	log_info("stopped");
	return rc < 0 ? 1 : 0;
}
