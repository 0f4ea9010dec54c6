/*
 * test_statement.c — end to end: the monthly statement of issue 7 from the
 * real vesseld and shored through satsim, against known ground truth.
 *
 * Scenario (quota 1000 bytes a month at +07:00, heartbeat every hour):
 *  - month M, vessel clock 23:00 on its last day (LIFELINE_TEST_CLOCK_OFFSET,
 *    test-only, shifts both daemons' wall clock): crew 1 sends 300, 300,
 *    300 bytes, is refused a 150-byte text at 900 used, sends 100 (exactly
 *    at the limit), is refused 1 byte at 1000; crew 2 sends 200; then an
 *    outage (satsim SIGUSR1) during which crew 2 sends 50, crew 3 an SOS
 *    and crew 1 a complaint; the outage ends and everything arrives;
 *  - both daemons stop and restart at 00:10 on day 1 of month M+1: crew 1
 *    sends 50 bytes (a new month on board: accepted);
 *  - `shorectl statement --out` for M, verified by lifeline-verify with the
 *    shore's key file, must say exactly: crew 1 allowance 1000, used 1000
 *    on board and arrived, 4 texts delivered, 2 refusals at 900 (150) and
 *    1000 (1), none below the allowance; crew 2 250 bytes, 2 texts; no crew
 *    3 entry; 1 complaint, 1 SOS; 3 crew registered; contact on 1 day of
 *    the month's days; heartbeats expected = hours in M; cost = airtime x
 *    4.50 USD per 10^6 bytes; airtime = the crew shares + unattributed;
 *  - `vesselctl quota --all` shows the captain the same figures as counted
 *    on board (M before the restart; M+1 after: crew 1 at 50);
 *  - the file holds no message text, no complaint or SOS text, no contact,
 *    no name; every single-byte change makes lifeline-verify fail.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/wallclock.h"
#include "shore/ledger.h"
#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define PIN "2468"
#define VESSEL 301
#define ZONE_S (7 * 3600)
#define WAIT_MS 30000
#define RUN_MS 10000
#define ALLOWANCE 1000

struct env {
	char *dir;
	char shore_conf[600], shore_sock[600], vessel_conf[600], vessel_sock[600];
	char sat_a[128], sat_b[128], satlog[700];
	pid_t sat, shored, vesseld;
	int gen;
	uint32_t crew[3];
};

/* Runs a tool with argv (NULL-terminated, argv[0] a build name); returns
 * the exit code and its output in *out (caller frees). */
static int run(struct env *e, const char *const args[], char **out)
{
	char log[700];
	snprintf(log, sizeof log, "%s/tool.log", e->dir);
	unlink(log);
	const char *argv[24] = {tu_build(args[0])};
	for (size_t k = 1; args[k] && k < 23; k++)
		argv[k] = args[k];
	pid_t pid = tu_spawn(argv, log);
	CU_ASSERT_FATAL(pid > 0);
	int st = -1;
	CU_ASSERT_EQUAL_FATAL(tu_wait_exit(pid, RUN_MS, &st), 0);
	uint8_t *buf = NULL;
	size_t n = 0;
	if (tu_read_file(log, &buf, &n) != 0)
		buf = (uint8_t *)strdup("");
	if (out)
		*out = (char *)buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text)
{
	CU_ASSERT_FATAL(tu_write_file(path, text, strlen(text)) == 0);
}

static void set_offset(int64_t off)
{
	char v[32];
	snprintf(v, sizeof v, "%lld", (long long)off);
	CU_ASSERT_FATAL(setenv(WALLCLOCK_ENV, v, 1) == 0);
}

static void start_daemons(struct env *e)
{
	e->gen++;
	e->shored = e2e_start(e->dir, "shored", e->shore_conf, "shored", e->gen);
	e->vesseld = e2e_start(e->dir, "vesseld", e->vessel_conf, "vesseld", e->gen);
}

static void stop_daemons(struct env *e)
{
	int st = -1;
	CU_ASSERT_EQUAL(tu_kill_wait_status(e->vesseld, SIGTERM, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(tu_kill_wait_status(e->shored, SIGTERM, 10000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void setup_env(struct env *e, int64_t offset)
{
	memset(e, 0, sizeof *e);
	e->dir = tu_tmpdir();
	CU_ASSERT_FATAL(e->dir != NULL);
	CU_ASSERT_FATAL(e2e_keygen(e->dir, "shore", "shore"));
	CU_ASSERT_FATAL(e2e_keygen(e->dir, "inspector", "inspectorate"));
	CU_ASSERT_FATAL(e2e_keygen(e->dir, "vessel", "301"));
	int sp = tu_free_tcp_port(), vp = tu_free_tcp_port();
	CU_ASSERT_FATAL(sp > 0 && vp > 0);
	snprintf(e->sat_a, sizeof e->sat_a, "tcp-listen:127.0.0.1:%d", vp);
	snprintf(e->sat_b, sizeof e->sat_b, "tcp:127.0.0.1:%d", sp);
	snprintf(e->satlog, sizeof e->satlog, "%s/satsim.log", e->dir);
	const char *sat[] = {tu_build("satsim"), "--a", e->sat_a, "--b", e->sat_b, "--rate", "64000",
			     "--latency", "100", "--seed", "3", NULL};
	e->sat = tu_spawn(sat, e->satlog);
	CU_ASSERT_FATAL(e->sat > 0);
	CU_ASSERT_FATAL(tu_wait_log(e->satlog, "satsim: ready", WAIT_MS));

	char conf[2048];
	snprintf(e->shore_conf, sizeof e->shore_conf, "%s/shored.conf", e->dir);
	snprintf(e->shore_sock, sizeof e->shore_sock, "%s/shored.sock", e->dir);
	snprintf(conf, sizeof conf, "secret_key = shore.secret\ndatabase = shore.db\n"
		 "control_socket = shored.sock\nspool_dir = spool\nlink_rate = 64000\n"
		 "link_rtt = 400ms\ndelivery_retry_min = 1s\nlog_level = info\n"
		 "price_per_mb = 4.50 USD\nlisten = tcp-listen:127.0.0.1:%d\n", sp);
	write_text(e->shore_conf, conf);
	snprintf(e->vessel_conf, sizeof e->vessel_conf, "%s/vesseld.conf", e->dir);
	snprintf(e->vessel_sock, sizeof e->vessel_sock, "%s/vesseld.sock", e->dir);
	snprintf(conf, sizeof conf, "vessel_id = %d\nvessel_name = Ocean Dawn\n"
		 "secret_key = 301.secret\nshore_key = shore.public\n"
		 "inspector_key = inspectorate.public\ndatabase = vessel.db\n"
		 "link = tcp:127.0.0.1:%d\nlink_rate = 64000\nlink_rtt = 400ms\n"
		 "control_socket = vesseld.sock\nquota_allowance = %d\nquota_zone = +07:00\n"
		 "heartbeat_interval = 1h\nlog_level = info\n", VESSEL, vp, ALLOWANCE);
	write_text(e->vessel_conf, conf);
	set_offset(offset);
	start_daemons(e);
	char key[700];
	snprintf(key, sizeof key, "%s/301.public", e->dir);
	const char *add[] = {"vessel", "add", "301", "--name", "Ocean Dawn", "--key", key, NULL};
	free(e2e_must(e->shore_sock, add));
	static const char *const names[] = {"Aung Ko Ko", "Sok Dara", "Noy Phommachan"};
	for (int i = 0; i < 3; i++) {
		const char *ca[] = {"crew", "add", names[i], "--lang", "en", "--pin", PIN, NULL};
		char *j = e2e_must(e->vessel_sock, ca);
		uint64_t id = 0;
		CU_ASSERT_FATAL(j && e2e_json_u64(j, NULL, "crew_id", &id));
		e->crew[i] = (uint32_t)id;
		free(j);
	}
	static const char *const addr[] = {"mailto:family.aung@example.org",
					   "tel:+85512345678"};
	for (int i = 0; i < 2; i++) {
		char cs[16];
		snprintf(cs, sizeof cs, "%u", e->crew[i]);
		const char *ca[] = {"contact", "add", "--crew", cs, "--pin", PIN, addr[i], NULL};
		free(e2e_must(e->vessel_sock, ca));
	}
}

/* A text of exactly n bytes, recognisable by its first bytes. */
static void text_of(size_t n, int tag, char *out)
{
	static const char alpha[] = "HelloMumTheCatchIsGoodThisWeek";
	snprintf(out, 16, "T%02d:", tag);
	for (size_t i = 4; i < n; i++)
		out[i] = alpha[i % (sizeof alpha - 1)];
	out[n] = '\0';
}

static int send_text(struct env *e, int crew, size_t n, int tag)
{
	char text[1100], cs[16];
	text_of(n, tag, text);
	snprintf(cs, sizeof cs, "%u", e->crew[crew]);
	const char *argv[] = {"send", "--crew", cs, "--pin", PIN, "--to", "1", text, NULL};
	int st = -1;
	char *json = NULL;
	CU_ASSERT_EQUAL(e2e_call(e->vessel_sock, &st, &json, argv), 0);
	free(json);
	return st;
}

struct delivered_arg {
	struct env *e;
	size_t texts;
	size_t others;          /* sos + complaint held */
};

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static bool all_arrived(void *arg)
{
	struct delivered_arg *a = arg;
	const char *ml[] = {"messages", "list", "--vessel", "301", NULL};
	int st = -1;
	char *json = NULL;
	bool ok = e2e_call(a->e->shore_sock, &st, &json, ml) == 0 && st == 0 &&
		  count(json, "\"kind\":\"text\"") == a->texts &&
		  count(json, "\"state\":\"delivered\"") == a->texts &&
		  count(json, "\"kind\":\"sos\"") + count(json, "\"kind\":\"complaint\"") == a->others;
	free(json);
	return ok;
}

/* The statement's crew entry i from json, or NULL. */
static const struct json_node *crew_entry(const struct json_doc *d, size_t i)
{
	const struct json_node *arr = json_get(d, json_root(d), "crew");
	if (!arr || arr->type != JSON_ARRAY)
		return NULL;
	const struct json_node *n = json_first(d, arr);
	for (size_t k = 0; n && k < i; k++)
		n = json_next(d, arr, n);
	return n;
}

static uint64_t u(const struct json_doc *d, const struct json_node *o, const char *key)
{
	uint64_t v = UINT64_MAX;
	if (!o || json_get_uint(d, o, key, &v) != 0)
		return UINT64_MAX;
	return v;
}

struct report_arg {
	struct env *e;
	const char *month;
	uint64_t used0;
	uint64_t refusals0;
};

/* Shored's statement for a month shows crew 1's on-board figures. */
static bool reported(void *arg)
{
	struct report_arg *a = arg;
	const char *argv[] = {"statement", "--vessel", "301", "--month", a->month, NULL};
	int st = -1;
	char *json = NULL;
	bool ok = false;
	if (e2e_call(a->e->shore_sock, &st, &json, argv) == 0 && st == 0) {
		struct json_doc d = {0};
		if (json_parse(&d, json, strlen(json), NULL, NULL) == 0) {
			const struct json_node *c = crew_entry(&d, 0);
			ok = u(&d, c, "used") == a->used0 && u(&d, c, "refusals") == a->refusals0;
		}
		json_doc_free(&d);
	}
	free(json);
	return ok;
}

/* vesselctl quota --all, crew 1: used, refusals and month. */
static void check_quota_all(struct env *e, uint64_t used, uint64_t refusals, const char *month)
{
	const char *argv[] = {"quota", "--all", NULL};
	char *json = e2e_must(e->vessel_sock, argv);
	CU_ASSERT_FATAL(json != NULL);
	const char *first = strstr(json, "{\"crew_id\"");
	const char *end = first ? strchr(first, '}') : NULL;
	uint64_t v = 0;
	char m[16] = "";
	CU_ASSERT(e2e_json_u64(first, end, "used", &v) && v == used);
	CU_ASSERT(e2e_json_u64(first, end, "allowance", &v) && v == ALLOWANCE);
	CU_ASSERT(e2e_json_u64(first, end, "refusals", &v) && v == refusals);
	CU_ASSERT(e2e_json_str(first, end, "month", m, sizeof m) && strcmp(m, month) == 0);
	free(json);
}

static void test_statement_month(void)
{
	/* Month M: the one holding now in +07:00; B: the start of M+1. */
	int64_t t0 = (int64_t)time(NULL), tl = t0 + ZONE_S;
	struct tm tm;
	time_t tt = (time_t)tl;
	CU_ASSERT_FATAL(gmtime_r(&tt, &tm) != NULL);
	uint32_t pm = (uint32_t)((tm.tm_year + 1900) * 100 + tm.tm_mon + 1);
	uint32_t pn = pm % 100 == 12 ? (pm / 100 + 1) * 100 + 1 : pm + 1;
	int64_t start, b, next_end;
	CU_ASSERT_FATAL(ledger_period_bounds(pm, ZONE_S, &start, &b) == 0);
	CU_ASSERT_FATAL(ledger_period_bounds(pn, ZONE_S, &b, &next_end) == 0);
	char month[16], month2[16];
	snprintf(month, sizeof month, "%04u-%02u", pm / 100, pm % 100);
	snprintf(month2, sizeof month2, "%04u-%02u", pn / 100, pn % 100);

	struct env e;
	setup_env(&e, b - 3600 - t0);           /* 23:00 on M's last day */

	/* crew 1: 900 used, refused 150 at 900, 100 to the limit, refused 1 */
	CU_ASSERT_EQUAL(send_text(&e, 0, 300, 1), 0);
	CU_ASSERT_EQUAL(send_text(&e, 0, 300, 2), 0);
	CU_ASSERT_EQUAL(send_text(&e, 0, 300, 3), 0);
	CU_ASSERT_EQUAL(send_text(&e, 0, 150, 4), 75);
	CU_ASSERT_EQUAL(send_text(&e, 0, 100, 5), 0);
	CU_ASSERT_EQUAL(send_text(&e, 0, 1, 6), 75);
	CU_ASSERT_EQUAL(send_text(&e, 1, 200, 7), 0);
	struct delivered_arg da = {&e, 5, 0};
	CU_ASSERT_FATAL(tu_wait_until_every(all_arrived, &da, WAIT_MS, 50));

	/* an outage: a text, an SOS and a complaint wait on board */
	off_t mark = tu_file_size(e.satlog);
	CU_ASSERT_FATAL(kill(e.sat, SIGUSR1) == 0);
	CU_ASSERT_FATAL(tu_wait_log_from(e.satlog, "manual outage on", mark, WAIT_MS));
	CU_ASSERT_EQUAL(send_text(&e, 1, 50, 8), 0);
	char c3[16], c1[16];
	snprintf(c3, sizeof c3, "%u", e.crew[2]);
	snprintf(c1, sizeof c1, "%u", e.crew[0]);
	const char *sos[] = {"sos", "--crew", c3, "--pin", PIN, "Engine fire in the hold", NULL};
	free(e2e_must(e.vessel_sock, sos));
	const char *comp[] = {"complain", "--crew", c1, "--pin", PIN, "--category", "documents",
			      "The captain keeps our passports", NULL};
	free(e2e_must(e.vessel_sock, comp));
	mark = tu_file_size(e.satlog);
	CU_ASSERT_FATAL(kill(e.sat, SIGUSR1) == 0);
	CU_ASSERT_FATAL(tu_wait_log_from(e.satlog, "manual outage off", mark, WAIT_MS));
	da = (struct delivered_arg){&e, 6, 2};
	CU_ASSERT_FATAL(tu_wait_until_every(all_arrived, &da, WAIT_MS, 50));
	struct report_arg ra = {&e, month, 1000, 2};
	CU_ASSERT_FATAL(tu_wait_until_every(reported, &ra, WAIT_MS, 100));
	check_quota_all(&e, 1000, 2, month);

	/* over the month boundary: both daemons restart at 00:10 of M+1 */
	stop_daemons(&e);
	set_offset(b + 600 - t0);
	start_daemons(&e);
	CU_ASSERT_EQUAL(send_text(&e, 0, 50, 9), 0);
	check_quota_all(&e, 50, 0, month2);
	da = (struct delivered_arg){&e, 7, 2};
	CU_ASSERT_FATAL(tu_wait_until_every(all_arrived, &da, WAIT_MS, 50));

	/* the signed statement of month M */
	char file[700], sockopt[700], shorekey[700];
	snprintf(file, sizeof file, "%s/statement.lldoc", e.dir);
	snprintf(sockopt, sizeof sockopt, "%s", e.shore_sock);
	snprintf(shorekey, sizeof shorekey, "%s/shore.public", e.dir);
	const char *mk[] = {"shorectl", "--socket", sockopt, "statement", "--vessel", "301",
			    "--month", month, "--out", file, NULL};
	char *out = NULL;
	CU_ASSERT_EQUAL_FATAL(run(&e, mk, &out), 0);
	CU_ASSERT(out && strstr(out, "refused below the allowance: never"));
	free(out);
	const char *vf[] = {"lifeline-verify", file, "--json", "--shore-key", shorekey, NULL};
	CU_ASSERT_EQUAL_FATAL(run(&e, vf, &out), 0);
	struct json_doc d = {0};
	CU_ASSERT_FATAL(json_parse(&d, out, strlen(out), NULL, NULL) == 0);
	const struct json_node *r = json_root(&d), *av = json_get(&d, r, "availability");
	const struct json_node *a = crew_entry(&d, 0), *bb = crew_entry(&d, 1);
	CU_ASSERT_EQUAL(u(&d, r, "vessel"), VESSEL);
	CU_ASSERT_EQUAL(u(&d, r, "complaints"), 1);
	CU_ASSERT_EQUAL(u(&d, r, "sos"), 1);
	CU_ASSERT_EQUAL(u(&d, r, "crew_registered"), 3);
	CU_ASSERT_EQUAL(u(&d, r, "crew_on_board"), 3);
	CU_ASSERT_EQUAL(u(&d, av, "days_with_contact"), 1);
	CU_ASSERT_EQUAL(u(&d, av, "days_covered"), (uint64_t)((b - start) / 86400));
	CU_ASSERT_EQUAL(u(&d, av, "heartbeat_interval_s"), 3600);
	CU_ASSERT_EQUAL(u(&d, av, "heartbeats_expected"), (uint64_t)((b - start) / 3600));
	uint64_t hb = u(&d, av, "heartbeats_received"), bundles = u(&d, av, "bundles");
	CU_ASSERT(hb >= 2 && hb <= bundles);    /* start, refusals, outage end */
	CU_ASSERT(u(&d, av, "longest_silence_s") >= (uint64_t)(b - 3600 - start));
	uint64_t air = u(&d, r, "airtime_bytes");
	CU_ASSERT(air > 0);                     /* compressed: the texts repeat a phrase */
	CU_ASSERT_EQUAL(u(&d, a, "airtime_bytes") + u(&d, bb, "airtime_bytes") +
			u(&d, r, "airtime_unattributed_bytes"), air);
	CU_ASSERT_EQUAL(u(&d, r, "price_micro_per_mb"), 4500000);
	CU_ASSERT_EQUAL(u(&d, r, "cost_micro"), air * 45 / 10);
	const char *cur = NULL;
	size_t cl = 0;
	CU_ASSERT(json_get_string(&d, r, "currency", &cur, &cl) == 0 && strcmp(cur, "USD") == 0);
	const struct json_node *n = json_get(&d, r, "refused_below_allowance");
	CU_ASSERT(n && n->type == JSON_FALSE);
	n = json_get(&d, r, "counts_agree");
	CU_ASSERT(n && n->type == JSON_TRUE);
	n = json_get(&d, r, "all_reported");
	CU_ASSERT(n && n->type == JSON_TRUE);
	/* exactly two crew entries: crew 3 (the SOS) has none */
	CU_ASSERT_PTR_NULL(crew_entry(&d, 2));
	CU_ASSERT_EQUAL(u(&d, a, "crew_id"), e.crew[0]);
	CU_ASSERT_EQUAL(u(&d, a, "allowance"), ALLOWANCE);
	CU_ASSERT_EQUAL(u(&d, a, "used"), 1000);
	CU_ASSERT_EQUAL(u(&d, a, "arrived_bytes"), 1000);
	CU_ASSERT_EQUAL(u(&d, a, "messages"), 4);
	CU_ASSERT_EQUAL(u(&d, a, "delivered"), 4);
	CU_ASSERT_EQUAL(u(&d, a, "failed"), 0);
	CU_ASSERT_EQUAL(u(&d, a, "refusals"), 2);
	CU_ASSERT_EQUAL(u(&d, a, "refused_below_allowance"), 0);
	const struct json_node *lv = json_get(&d, a, "refusal_levels");
	const struct json_node *l0 = lv ? json_first(&d, lv) : NULL;
	const struct json_node *l1 = l0 ? json_next(&d, lv, l0) : NULL;
	CU_ASSERT(u(&d, l0, "used") == 900 && u(&d, l0, "attempted") == 150);
	CU_ASSERT(u(&d, l1, "used") == 1000 && u(&d, l1, "attempted") == 1);
	CU_ASSERT(u(&d, l0, "ts") >= (uint64_t)(b - 3600) && u(&d, l1, "ts") < (uint64_t)b);
	CU_ASSERT_EQUAL(u(&d, bb, "crew_id"), e.crew[1]);
	CU_ASSERT_EQUAL(u(&d, bb, "used"), 250);
	CU_ASSERT_EQUAL(u(&d, bb, "arrived_bytes"), 250);
	CU_ASSERT_EQUAL(u(&d, bb, "messages"), 2);
	CU_ASSERT_EQUAL(u(&d, bb, "refusals"), 0);
	json_doc_free(&d);

	/* no text, no contact, no name, no complaint or SOS content */
	static const char *const secret[] = {"T01:", "T05:", "T07:", "T08:", "HelloMum", "passports",
					      "Engine fire", "mailto", "family.aung", "+85512345678",
					      "Aung", "Sok Dara", "Noy", "Ocean Dawn"};
	uint8_t *doc = NULL;
	size_t len = 0;
	CU_ASSERT_FATAL(tu_read_file(file, &doc, &len) == 0);
	for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
		CU_ASSERT_PTR_NULL(memmem(doc, len, secret[i], strlen(secret[i])));
		CU_ASSERT_PTR_NULL(strstr(out, secret[i]));
	}
	free(out);

	/* every single-byte change fails lifeline-verify */
	char bad[700];
	snprintf(bad, sizeof bad, "%s/bad.lldoc", e.dir);
	const char *vb[] = {"lifeline-verify", bad, NULL};
	size_t passed = 0;
	for (size_t i = 0; i < len; i++) {
		doc[i] ^= 0x01;
		CU_ASSERT_FATAL(tu_write_file(bad, doc, len) == 0);
		if (run(&e, vb, NULL) != 1)
			passed++;
		doc[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(passed, 0u);
	free(doc);

	stop_daemons(&e);
	CU_ASSERT_EQUAL(tu_kill_wait(e.sat, SIGTERM, 10000), 0);
	CU_ASSERT(unsetenv(WALLCLOCK_ENV) == 0);
	if (CU_get_number_of_failures() == 0)
		tu_rmrf(e.dir);
	else
		fprintf(stderr, "\n  kept %s\n", e.dir);
	free(e.dir);
}

void suite_statement(void);
void suite_statement(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("statement", NULL, NULL);
	CU_add_test(s, "a month with refusals, an outage and the boundary: exact statement",
		    test_statement_month);
}
