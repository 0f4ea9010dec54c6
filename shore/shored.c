/*
 * shored — the shore daemon: takes bundles from a fleet, commits each
 * message once, sends receipts and replies back, delivers texts to families.
 *   shored --config FILE [--foreground] | shored --print-config
 * A thin main: configuration, then store, ingest, downlink, router, shore/wire.c
 * (drivers, replies, alerts), sessions, control socket; the loop; stop in reverse.
 * Invariants: "shored: ready" is logged once, after the database is open and
 * the control socket listens; SIGTERM/SIGINT stop the loop between events
 * (never inside a transaction); the worker finishes its delivery in hand.
 * Failure behaviour: a bad configuration, key, database or socket: one line
 * on stderr saying what to fix, exit 78 (EX_CONFIG) or 1.
 */
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/daemon.h"
#include "common/ctl.h"
#include "common/log.h"
#include "common/wallclock.h"
#include "common/loop.h"
#include "shore/deliver_spool.h"
#include "shore/sctl.h"
#include "shore/wire.h"

#define EX_CONFIG 78
#define HOUSEKEEPING_MAX_MS 60000u      /* counters flushed, silence checked */
#define WAKES_MAX 256u
#define SOCKET_MODE 0660               /* owner and group (the operators) */
#define CONF_PATH_MAX (CONFIG_LINE_MAX + 1)  /* longest value a line can hold */

struct cfg {
	char secret_key[CONF_PATH_MAX], database[CONF_PATH_MAX], control_socket[CONF_PATH_MAX];
	char spool_dir[CONF_PATH_MAX];
	char listen[SESSION_LISTEN_MAX][LINK_SPEC_MAX];
	size_t nlisten;
	uint64_t link_rate, link_rtt, retry_min, retry_max, dead_letter, silence, max_conn, auth_timeout;
	int log_level;
	char price_per_mb[LEDGER_PRICE_MAX];     /* monthly statements (shore/ledger.h) */
	struct wire_cfg net;            /* smtp_*, webhook*, http_*, alert_* (shore/wire.h) */
};

static int check_link(const char *v, char *why, size_t cap) { return link_spec_check(v, why, cap) < 0; }
static int64_t wall_now(void *ctx) { (void)ctx; return wallclock_now(); }

#define S(f) offsetof(struct cfg, f), sizeof(((struct cfg *)0)->f)
#define PATHKEY(n, f, d, h) {.name = n, .type = CONFIG_PATH, S(f), .min = 1, .def = d, .help = h}
#define NUMKEY(n, t, f, lo, hi, d, h) \
	{.name = n, .type = t, .offset = offsetof(struct cfg, f), .min = lo, .max = hi, .def = d, .help = h}
static const struct config_key schema[] = {
	{.name = "secret_key", .type = CONFIG_PATH, S(secret_key), .min = 1, .required = true,
	 .example = "shore.secret", .help = "the shore's secret key file (lifeline-keygen --role shore)"},
	PATHKEY("database", database, "shore.db", "SQLite database: vessels, messages, receipts, replies"),
	{.name = "listen", .type = CONFIG_LIST, offsetof(struct cfg, listen), LINK_SPEC_MAX, .min = 1,
	 .required = true, .max_count = SESSION_LISTEN_MAX, .count_offset = offsetof(struct cfg, nlisten),
	 .check = check_link, .example = "tcp-listen:0.0.0.0:7800",
	 .help = "where vessels reach us, one line each: tcp-listen:[ADDR:]PORT or serial:/dev/ttyX"},
	NUMKEY("link_rate", CONFIG_UINT, link_rate, 50, 1000000000, "2400", "link rate, bits per second"),
	NUMKEY("link_rtt", CONFIG_DURATION, link_rtt, 1, 600000, "1500ms", "expected round trip"),
	PATHKEY("control_socket", control_socket, "shored.sock", "Unix socket for shorectl (mode 0660)"),
	PATHKEY("spool_dir", spool_dir, "spool", "spool driver: SPOOL/VESSEL/MSGID.json per text"),
	NUMKEY("delivery_retry_min", CONFIG_DURATION, retry_min, 100, 86400000, "30s",
	       "first retry after a temporary delivery failure"),
	NUMKEY("delivery_retry_max", CONFIG_DURATION, retry_max, 100, 604800000, "1h",
	       "longest wait between retries (doubling from delivery_retry_min)"),
	NUMKEY("dead_letter_after", CONFIG_DURATION, dead_letter, 1000, 0, "2d",
	       "give up (failed, undeliverable) this long after a text arrived"),
	NUMKEY("silence_alert", CONFIG_DURATION, silence, 1000, 0, "1d",
	       "alert when a vessel has been silent this long"),
	NUMKEY("max_connections", CONFIG_UINT, max_conn, 1, 65536, "256", "accepted TCP connections at once"),
	NUMKEY("auth_timeout", CONFIG_DURATION, auth_timeout, 100, 3600000, "30s",
	       "a connection must send an authentic bundle within this, or is closed"),
	NUMKEY("log_level", CONFIG_LOG_LEVEL, log_level, 0, 0, "info", "error, warn, info, debug or io"),
	{.name = "price_per_mb", .type = CONFIG_STRING, S(price_per_mb), .check = ledger_price_check,
	 .help = "airtime price per 1,000,000 bytes for monthly statements, e.g. 4.50 USD (empty: none)"},
};
#define NKEYS (sizeof schema / sizeof schema[0])

struct shored {
	struct cfg cfg;
	struct loop *lp;
	struct store *st;
	struct ingest *in;
	struct downlink *dl;
	struct deliver_spool *spool;
	struct route *route;
	struct session_mgr *sm;
	struct ctl_server *ctl;
	struct sctl sctl;
	struct wire *wire;
};

static void on_signal(struct loop *lp, int signo, void *ctx)
{
	log_info("signal %d: %s", signo, signo == SIGHUP ? "nothing to reload (restart to apply a "
		 "new configuration)" : "stopping");
	if (signo != SIGHUP)
		loop_stop(lp);
}

static void on_ctl(struct ctl_conn *conn, const struct ctl_peer *peer,
		   const struct ctl_request *req, void *ctx)
{
	struct sctl_result r;
	if (sctl_handle(ctx, peer, req->argc, req->argv, &r) < 0)
		r = (struct sctl_result){CTL_EX_SOFTWARE, NULL, NULL};
	(void)ctl_reply(conn, r.status, r.text ? r.text : "shored is out of memory", r.json);
	sctl_result_free(&r);
}

/* Ingest committed alert rows (a new complaint or SOS, a gap): the
 * inspector/operator alert channel (shore/alert.c) gets them now, not at
 * the next housekeeping round.  Metadata only (shore/cases.c). */
static void on_alert(void *ctx)
{
	wire_alert_poke(((struct shored *)ctx)->wire);
}

/* The delivery worker committed outcomes: send the receipts. */
static void on_wake(struct loop *lp, int fd, short revents, void *ctx)
{
	struct shored *d = ctx;
	uint32_t ids[WAKES_MAX];
	bool all;
	size_t n = route_wakes_read(d->route, ids, WAKES_MAX, &all);
	if (all)
		session_kick_all(d->sm);
	for (size_t i = 0; !all && i < n; i++)
		session_kick(d->sm, ids[i]);
}

static void housekeeping(struct loop *lp, void *ctx)
{
	struct shored *d = ctx;
	if (store_check_silence(d->st, (int64_t)time(NULL), (int64_t)(d->cfg.silence / 1000), NULL) < 0 ||
	    ingest_stats_flush(d->in) < 0)
		log_error("housekeeping: %s", db_last_error(store_db(d->st)));
	wire_alert_poke(d->wire);       /* silence and gap alerts to the operator */
	uint64_t every = d->cfg.silence / 4 < HOUSEKEEPING_MAX_MS ? d->cfg.silence / 4 : HOUSEKEEPING_MAX_MS;
	if (!loop_timer_at(lp, loop_now(lp) + every, housekeeping, d))
		log_error("housekeeping: cannot arm its timer");
}

static int die(int code, const char *what, const char *arg, int rc)
{
	return fprintf(stderr, "shored: %s%s%s%s\n", what, arg, rc ? ": " : "", rc ? err_str(rc) : ""), code;
}

static int start(struct shored *d, struct keyfile_secret *key)
{
	struct cfg *c = &d->cfg;
	struct db_open_error why = {0};
	int rc;
	if ((rc = store_open(c->database, &d->st, &why)) < 0)
		return fprintf(stderr, "shored: database %s: %s\n", c->database, why.text), 1;
	struct route_config rcfg = {c->database, c->retry_min, c->retry_max, c->dead_letter};
	struct session_config scfg = {{(uint32_t)c->link_rate, (uint32_t)c->link_rtt, 0},
				      (unsigned)c->max_conn, c->auth_timeout};
	if ((rc = ingest_new(&d->in, d->st, key)) < 0 || (rc = downlink_new(&d->dl, d->st, d->in)) < 0 ||
	    (rc = deliver_spool_new(&d->spool, c->spool_dir)) < 0 || (rc = route_new(&d->route, &rcfg)) < 0 ||
	    (rc = route_set_driver(d->route, "*", &deliver_spool_ops, d->spool)) < 0 ||
	    (rc = wire_start(d->wire, d->route, c->database, why.text, sizeof why.text)) < 0 ||
	    (rc = session_mgr_new(&d->sm, d->lp, &scfg, d->in, d->dl, d->route)) < 0)
		return die(1, "cannot start ", why.text, rc);
	ingest_set_alert_hook(d->in, on_alert, d);
	for (size_t i = 0; i < c->nlisten; i++)
		if ((rc = session_listen(d->sm, c->listen[i])) < 0)
			return die(1, "cannot listen on ", c->listen[i], rc);
	d->sctl = (struct sctl){.st = d->st, .in = d->in, .route = d->route, .sm = d->sm,
				.spool = d->spool, .admin_uid = geteuid(), .now = wall_now};
	if ((rc = ledger_signer_new(&d->sctl.signer, key, c->price_per_mb)) < 0)
		return die(EX_CONFIG, "price_per_mb: ", c->price_per_mb, rc);
	if ((rc = ctl_server_open(&d->ctl, c->control_socket, SOCKET_MODE, d->lp, on_ctl, &d->sctl)) < 0)
		return die(1, "cannot open the control socket ", c->control_socket, rc);
	if ((rc = loop_fd_add(d->lp, route_wake_fd(d->route), POLLIN, on_wake, d)) < 0 ||
	    (rc = route_start(d->route)) < 0)
		return die(1, "cannot start the delivery worker", "", rc);
	housekeeping(d->lp, d);
	return 0;
}

static void stop(struct shored *d)
{
	wire_free(d->wire);             /* reply endpoint, alerts, delivery worker; curl */
	route_free(d->route);           /* joins the worker first */
	if (d->in && ingest_stats_flush(d->in) < 0)
		log_error("counters not saved: %s", db_last_error(store_db(d->st)));
	ctl_server_close(d->ctl);
	session_mgr_free(d->sm);
	downlink_free(d->dl);
	ingest_free(d->in);
	deliver_spool_free(d->spool);
	ledger_signer_free(d->sctl.signer);
	store_close(d->st);
	loop_free(d->lp);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
		{"print-config", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	static struct shored d;
	const struct wire_keys keys = wire_schema(schema, NKEYS, offsetof(struct cfg, net));
	const char *conf = NULL;
	bool fg = false;
	int o;
	while ((o = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf = optarg; break;
		case 'f': fg = true; break;
		case 'p': return config_write_sample(stdout, "shored", keys.k, keys.n) < 0 ? 1 : 0;
		case 'V': return printf("shored %s\n", LIFELINE_VERSION) < 0;
		default: return die(o == 'h' ? 0 : 64, "usage: shored --config FILE [--foreground] | "
				    "shored --print-config", "", 0);
		}
	}
	if (!conf || optind != argc)
		return die(64, "usage: shored --config FILE [--foreground] (see --print-config)", "", 0);
	char real[PATH_MAX];
	struct config_error cerr;
	if (!realpath(conf, real))
		return die(EX_CONFIG, "cannot find ", conf, 0);
	if (config_load(real, keys.k, keys.n, &d.cfg, &cerr) < 0)
		return fprintf(stderr, "shored: %s\n", cerr.msg), EX_CONFIG;
	log_set_ident("shored");
	log_set_level((enum log_level)d.cfg.log_level);
	if (d.cfg.retry_max < d.cfg.retry_min)
		return die(EX_CONFIG, "delivery_retry_max must not be below delivery_retry_min", "", 0);
	if (sodium_init() < 0)
		return die(1, "libsodium failed to initialise", "", 0);
	struct keyfile_secret *key = NULL;
	struct keyfile_diag kd = {0};
	if (keyfile_secret_load(d.cfg.secret_key, &key, &kd) < 0)
		return fprintf(stderr, "shored: %s: %s\n", d.cfg.secret_key, kd.msg), EX_CONFIG;
	if (key->pub.role != KEYFILE_ROLE_SHORE)
		return die(EX_CONFIG, d.cfg.secret_key, " is not a shore key (lifeline-keygen --role shore)", 0);
	if (wire_new(&d.wire, &d.cfg.net, real, cerr.msg, sizeof cerr.msg) < 0)  /* curl_global_init */
		return fprintf(stderr, "shored: %s\n", cerr.msg), EX_CONFIG;
	if (!fg && daemon_detach() < 0)
		return die(1, "cannot detach from the terminal (try --foreground)", "", 0);
	signal(SIGPIPE, SIG_IGN);
	d.lp = loop_new(NULL, NULL);
	if (!d.lp || loop_signal(d.lp, SIGTERM, on_signal, &d) < 0 ||
	    loop_signal(d.lp, SIGINT, on_signal, &d) < 0 || loop_signal(d.lp, SIGHUP, on_signal, &d) < 0)
		return die(1, "cannot set up the event loop", "", 0);
	if (wallclock_offset() != 0)
		log_warn("%s is set: the wall clock is shifted by %lld s (for tests only)", WALLCLOCK_ENV,
			 (long long)wallclock_offset());
	int rc = start(&d, key);
	keyfile_secret_free(key);       /* ingest keeps its own copy */
	if (rc != 0)
		return stop(&d), 1;
	log_info("shored: ready (%zu listener(s), control socket %s, database %s)", d.cfg.nlisten,
		 d.cfg.control_socket, d.cfg.database);
	rc = loop_run(d.lp);
	stop(&d);
	log_info("stopped");
	return rc < 0;
}
