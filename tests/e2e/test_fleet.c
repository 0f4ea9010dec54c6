/*
 * test_fleet.c — end to end: the real vesseld and the real shored through
 * satsim, with both daemons killed (SIGKILL) at seeded random moments.
 *
 * What it proves (issues 4 and 5, DESIGN invariants 1, 2 and 7):
 *  - every message a crew member was told "queued" reaches the family's
 *    spool exactly once and the crew member finally sees "delivered";
 *  - the shore holds each (vessel, message id) once;
 *  - each crew member's quota ledger equals the UTF-8 bytes of the texts
 *    the vessel holds for them, across every crash;
 *  - over quota, a clear refusal; a complaint from the same person still
 *    reaches the shore.
 *
 * Vessel 101 reaches the shore over pseudo-terminals (the serial driver),
 * vessel 102 over TCP; satsim sits in both paths.  A send whose answer was
 * lost to a kill may or may not have been queued: such messages are not
 * counted as promised, but if the vessel holds them they must be delivered
 * and counted like the rest.  Waits poll daemon state with deadlines; there
 * are no sleeps.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/ctl.h"
#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define READY_MS 20000
#define DRAIN_MS 300000
#define CREW_PER_VESSEL 3
#define VESSELS_MAX 2
#define MSGS_MAX 1200
#define PIN "4711"

static const char *const phrases[] = {
	"Hello mum, we are fine. The catch is good this week.",
	"สวัสดีครับแม่ ผมสบายดี เดือนนี้ยังไม่ได้รับค่าจ้าง",
	"မေမေ နေကောင်းလား။ ကျွန်တော် နေကောင်းပါတယ်။ လစာ မရသေးဘူး။",
	"ម៉ាក់ ខ្ញុំសុខសប្បាយទេ។ ខែនេះមិនទាន់បានប្រាក់ខែទេ។",
	"ແມ່ ຂ້ອຍສະບາຍດີ ເດືອນນີ້ຍັງບໍ່ໄດ້ຮັບເງິນເດືອນ",
	"Please send the money to the broker only after I call.",
	"Kiss the children for me. Coming home in March.",
	"พายุเข้า เรือต้องหลบ อีกสองวันจะออกทะเลอีก",
};
#define NPHRASES (sizeof phrases / sizeof phrases[0])

struct sent {
	uint32_t vessel;
	uint32_t crew;
	uint64_t msg_id;
	char text[512];
};

struct vessel {
	uint32_t id;
	char conf[512], sock[512], link[256];
	pid_t pid;
	int gen;
	uint32_t crew[CREW_PER_VESSEL];
};

struct fleet {
	char *dir;
	char shore_conf[512], shore_sock[512], spool[512];
	pid_t shored;
	int shore_gen;
	pid_t sat[VESSELS_MAX];
	size_t nvessels;
	struct vessel v[VESSELS_MAX];
	struct sent *sent;
	size_t nsent;
	uint64_t rng;
};

static uint64_t rnd(struct fleet *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static void restart_shored(struct fleet *f)
{
	CU_ASSERT_EQUAL(tu_kill_wait(f->shored, SIGKILL, 10000), 0);
	f->shored = e2e_start(f->dir, "shored", f->shore_conf, "shored", ++f->shore_gen);
}

static void start_vessel(struct fleet *f, struct vessel *v)
{
	char tag[32];
	snprintf(tag, sizeof tag, "vesseld-%u", v->id);
	v->pid = e2e_start(f->dir, "vesseld", v->conf, tag, ++v->gen);
}

static void restart_vessel(struct fleet *f, struct vessel *v)
{
	CU_ASSERT_EQUAL(tu_kill_wait(v->pid, SIGKILL, 10000), 0);
	start_vessel(f, v);
}

static void write_text(const char *path, const char *text)
{
	CU_ASSERT_FATAL(tu_write_file(path, text, strlen(text)) == 0);
}

/* ---- set-up and tear-down ------------------------------------------------- */

static void fleet_up(struct fleet *f, size_t nvessels, const char *quota)
{
	memset(f, 0, sizeof *f);
	f->rng = 0x9e3779b97f4a7c15ull;
	f->nvessels = nvessels;
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	f->sent = calloc(MSGS_MAX, sizeof *f->sent);
	CU_ASSERT_FATAL(f->sent != NULL);

	CU_ASSERT_FATAL(e2e_keygen(f->dir, "shore", "shore"));
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "inspector", "inspectorate"));
	int shore_port = tu_free_tcp_port();
	CU_ASSERT_FATAL(shore_port > 0);

	/* Vessel 101: ptys through satsim; vessel 102: TCP through satsim. */
	char listen[2][256];
	for (size_t i = 0; i < nvessels; i++) {
		struct vessel *v = &f->v[i];
		v->id = 101 + (uint32_t)i;
		char id[16], satlog[600], a[600], b[600];
		snprintf(id, sizeof id, "%u", v->id);
		CU_ASSERT_FATAL(e2e_keygen(f->dir, "vessel", id));
		snprintf(satlog, sizeof satlog, "%s/satsim-%u.log", f->dir, v->id);
		if (i == 0) {
			snprintf(a, sizeof a, "pty:%s/v%u.pty", f->dir, v->id);
			snprintf(b, sizeof b, "pty:%s/s%u.pty", f->dir, v->id);
			snprintf(v->link, sizeof v->link, "serial:%s/v%u.pty", f->dir, v->id);
			snprintf(listen[i], sizeof listen[i], "serial:%s/s%u.pty", f->dir, v->id);
		} else {
			int vp = tu_free_tcp_port();
			CU_ASSERT_FATAL(vp > 0);
			snprintf(a, sizeof a, "tcp-listen:127.0.0.1:%d", vp);
			snprintf(b, sizeof b, "tcp:127.0.0.1:%d", shore_port);
			snprintf(v->link, sizeof v->link, "tcp:127.0.0.1:%d", vp);
			snprintf(listen[i], sizeof listen[i], "tcp-listen:127.0.0.1:%d", shore_port);
		}
		char seed[16];
		snprintf(seed, sizeof seed, "%u", 7 + (unsigned)i);
		const char *sat[] = {tu_build("satsim"), "--a", a, "--b", b, "--rate", "64000",
				     "--latency", "100", "--ber", "1e-6", "--loss", "0.01",
				     "--seed", seed, NULL};
		f->sat[i] = tu_spawn(sat, satlog);
		CU_ASSERT_FATAL(f->sat[i] > 0);
		CU_ASSERT_FATAL(tu_wait_log(satlog, "satsim: ready", READY_MS));
	}

	snprintf(f->shore_conf, sizeof f->shore_conf, "%s/shored.conf", f->dir);
	snprintf(f->shore_sock, sizeof f->shore_sock, "%s/shored.sock", f->dir);
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	char conf[4096];
	int n = snprintf(conf, sizeof conf,
			 "secret_key = shore.secret\n"
			 "database = shore.db\n"
			 "control_socket = shored.sock\n"
			 "spool_dir = spool\n"
			 "link_rate = 64000\nlink_rtt = 400ms\n"
			 "delivery_retry_min = 1s\n"
			 "log_level = info\n");
	for (size_t i = 0; i < nvessels; i++)
		n += snprintf(conf + n, sizeof conf - (size_t)n, "listen = %s\n", listen[i]);
	write_text(f->shore_conf, conf);
	f->shored = e2e_start(f->dir, "shored", f->shore_conf, "shored", ++f->shore_gen);

	for (size_t i = 0; i < nvessels; i++) {
		struct vessel *v = &f->v[i];
		char id[16], key[600], name[32];
		snprintf(id, sizeof id, "%u", v->id);
		snprintf(key, sizeof key, "%s/%u.public", f->dir, v->id);
		snprintf(name, sizeof name, "Sea Star %u", v->id);
		const char *add[] = {"vessel", "add", id, "--name", name, "--key", key, NULL};
		free(e2e_must(f->shore_sock, add));

		snprintf(v->conf, sizeof v->conf, "%s/vesseld-%u.conf", f->dir, v->id);
		snprintf(v->sock, sizeof v->sock, "%s/vesseld-%u.sock", f->dir, v->id);
		snprintf(conf, sizeof conf,
			 "vessel_id = %u\n"
			 "vessel_name = %s\n"
			 "secret_key = %u.secret\n"
			 "shore_key = shore.public\n"
			 "inspector_key = inspectorate.public\n"
			 "database = vessel-%u.db\n"
			 "link = %s\n"
			 "link_rate = 64000\nlink_rtt = 400ms\n"
			 "control_socket = vesseld-%u.sock\n"
			 "quota_allowance = %s\n"
			 "heartbeat_interval = 1h\n"
			 "log_level = info\n",
			 v->id, name, v->id, v->id, v->link, v->id, quota);
		write_text(v->conf, conf);
		start_vessel(f, v);

		static const char *const names[] = {"Aung", "Sokha", "Noy"};
		static const char *const langs[] = {"mya", "khm", "lao"};
		static const char *const to[] = {"mailto:family@example.org", "tel:+66812345678",
						 "webhook:family"};
		for (int c = 0; c < CREW_PER_VESSEL; c++) {
			const char *cadd[] = {"crew", "add", names[c], "--lang", langs[c], "--pin", PIN,
					      NULL};
			char *j = e2e_must(v->sock, cadd);
			uint64_t cid = 0;
			CU_ASSERT_FATAL(j && e2e_json_u64(j, NULL, "crew_id", &cid));
			free(j);
			v->crew[c] = (uint32_t)cid;
			char cs[16];
			snprintf(cs, sizeof cs, "%u", v->crew[c]);
			const char *kadd[] = {"contact", "add", "--crew", cs, "--pin", PIN, to[c],
					      "--name", "Family", NULL};
			j = e2e_must(v->sock, kadd);
			uint64_t ref = 0;
			CU_ASSERT_FATAL(j && e2e_json_u64(j, NULL, "contact_ref", &ref));
			CU_ASSERT_EQUAL(ref, 1);
			free(j);
		}
	}
}

static void fleet_down(struct fleet *f)
{
	for (size_t i = 0; i < f->nvessels; i++) {
		int st = -1;
		CU_ASSERT_EQUAL(tu_kill_wait_status(f->v[i].pid, SIGTERM, 20000, &st), 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	int st = -1;
	CU_ASSERT_EQUAL(tu_kill_wait_status(f->shored, SIGTERM, 20000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (size_t i = 0; i < f->nvessels; i++)
		tu_kill_wait(f->sat[i], SIGTERM, 10000);
	if (CU_get_number_of_failures() == 0)
		tu_rmrf(f->dir);
	else
		fprintf(stderr, "fleet: logs kept in %s\n", f->dir);
	free(f->dir);
	free(f->sent);
}

/* ---- submitting ------------------------------------------------------------ */

/* Returns the sysexits status of `send` (or -1 when no answer came). */
static int send_text(struct fleet *f, struct vessel *v, int c, const char *text)
{
	char cs[16];
	snprintf(cs, sizeof cs, "%u", v->crew[c]);
	const char *argv[] = {"send", "--crew", cs, "--pin", PIN, "--to", "1", text, NULL};
	int st = -1;
	char *json = NULL;
	if (e2e_call(v->sock, &st, &json, argv) != 0)
		return -1;
	uint64_t id = 0;
	if (st == 0) {
		CU_ASSERT_FATAL(e2e_json_u64(json, NULL, "msg_id", &id));
		CU_ASSERT_FATAL(f->nsent < MSGS_MAX);
		struct sent *s = &f->sent[f->nsent++];
		s->vessel = v->id;
		s->crew = v->crew[c];
		s->msg_id = id;
		snprintf(s->text, sizeof s->text, "%s", text);
	}
	free(json);
	return st;
}

/* ---- checking ----------------------------------------------------------------- */

struct held {                   /* a message the vessel says it holds */
	uint64_t msg_id;
	uint64_t bytes;
	char state[32];
};

struct held_list {
	struct held *out;
	size_t cap, n;
};

static void add_held(const char *obj, const char *end, void *arg)
{
	struct held_list *l = arg;
	struct held *h = &l->out[l->n];
	char kind[32] = "";
	if (l->n < l->cap && e2e_json_str(obj, end, "kind", kind, sizeof kind) &&
	    strcmp(kind, "text") == 0 && e2e_json_u64(obj, end, "msg_id", &h->msg_id) &&
	    e2e_json_str(obj, end, "state", h->state, sizeof h->state)) {
		if (!e2e_json_u64(obj, end, "text_bytes", &h->bytes))
			h->bytes = 0;
		l->n++;
	}
}

/* Lists one crew member's messages; returns how many, or -1. */
static long crew_messages(struct vessel *v, int c, struct held *out, size_t cap)
{
	char cs[16];
	snprintf(cs, sizeof cs, "%u", v->crew[c]);
	const char *argv[] = {"status", "--crew", cs, "--pin", PIN, NULL};
	int st = -1;
	char *json = NULL;
	if (e2e_call(v->sock, &st, &json, argv) != 0 || st != 0) {
		free(json);
		return -1;
	}
	struct held_list l = {out, cap, 0};
	e2e_json_each(json, "messages", add_held, &l);
	long n = (long)l.n;
	free(json);
	return n;
}

struct drain_arg {
	struct fleet *f;
	struct held *buf;
};

static bool all_delivered(void *arg)
{
	struct drain_arg *d = arg;
	for (size_t i = 0; i < d->f->nvessels; i++)
		for (int c = 0; c < CREW_PER_VESSEL; c++) {
			long n = crew_messages(&d->f->v[i], c, d->buf, MSGS_MAX);
			if (n < 0)
				return false;
			for (long k = 0; k < n; k++)
				if (strcmp(d->buf[k].state, "delivered") != 0)
					return false;
		}
	return true;
}

static size_t spool_count(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
			n++;
	}
	closedir(d);
	return n;
}

struct kind_count {
	const char *kind;
	uint64_t id;            /* 0: any */
	size_t n;
};

static void count_kind(const char *obj, const char *end, void *arg)
{
	struct kind_count *k = arg;
	uint64_t m = 0;
	char kind[32] = "";
	if (e2e_json_u64(obj, end, "msg_id", &m) && e2e_json_str(obj, end, "kind", kind, sizeof kind) &&
	    strcmp(kind, k->kind) == 0 && (k->id == 0 || m == k->id))
		k->n++;
}

/* Messages of one kind in a shore listing; with id nonzero, only that one. */
static size_t shore_count(const char *json, const char *kind, uint64_t id)
{
	struct kind_count k = {kind, id, 0};
	e2e_json_each(json, "messages", count_kind, &k);
	return k.n;
}

static void check_everything(struct fleet *f)
{
	struct held *buf = calloc(MSGS_MAX, sizeof *buf);
	CU_ASSERT_FATAL(buf != NULL);
	struct drain_arg d = {f, buf};
	if (!tu_wait_until_every(all_delivered, &d, DRAIN_MS, 250))
		CU_FAIL("not every message reached \"delivered\" in time");

	/* Every promised message is in the spool once, with its text. */
	for (size_t k = 0; k < f->nsent; k++) {
		struct sent *s = &f->sent[k];
		char path[700];
		snprintf(path, sizeof path, "%s/%u/%" PRIu64 ".json", f->spool, s->vessel, s->msg_id);
		uint8_t *body = NULL;
		size_t len = 0;
		if (tu_read_file(path, &body, &len) != 0) {
			fprintf(stderr, "fleet: missing in spool: %s\n", path);
			CU_FAIL("a queued message is missing from the spool");
			continue;
		}
		char *nul = realloc(body, len + 1);
		CU_ASSERT_FATAL(nul != NULL);
		nul[len] = '\0';
		if (!strstr(nul, s->text)) {
			fprintf(stderr, "fleet: %s does not hold \"%s\"\n", path, s->text);
			CU_FAIL("spooled text differs from what was sent");
		}
		free(nul);
	}

	for (size_t i = 0; i < f->nvessels; i++) {
		struct vessel *v = &f->v[i];
		size_t held_total = 0;
		const char *all[] = {"quota", "--all", NULL};
		char *qj = e2e_must(v->sock, all);
		CU_ASSERT_FATAL(qj != NULL);
		for (int c = 0; c < CREW_PER_VESSEL; c++) {
			long n = crew_messages(v, c, buf, MSGS_MAX);
			CU_ASSERT_FATAL(n >= 0);
			held_total += (size_t)n;
			uint64_t bytes = 0, promised = 0, promised_bytes = 0;
			for (long k = 0; k < n; k++)
				bytes += buf[k].bytes;
			for (size_t k = 0; k < f->nsent; k++)
				if (f->sent[k].vessel == v->id && f->sent[k].crew == v->crew[c]) {
					promised++;
					promised_bytes += strlen(f->sent[k].text);
				}
			/* Everything promised is held; a lost answer may add more. */
			CU_ASSERT((uint64_t)n >= promised);
			CU_ASSERT(bytes >= promised_bytes);
			/* The ledger counts exactly the texts held. */
			char pat[48];
			snprintf(pat, sizeof pat, "\"crew_id\":%u,", v->crew[c]);
			const char *o = strstr(qj, pat);
			uint64_t used = UINT64_MAX;
			CU_ASSERT(o && e2e_json_u64(o, strchr(o, '}'), "used", &used));
			if (used != bytes)
				fprintf(stderr, "fleet: vessel %u crew %u ledger %" PRIu64
					" != held %" PRIu64 "\n", v->id, v->crew[c], used, bytes);
			CU_ASSERT_EQUAL(used, bytes);
		}
		free(qj);
		/* Exactly once: the spool holds one file per message held. */
		char dir[700];
		snprintf(dir, sizeof dir, "%s/%u", f->spool, v->id);
		CU_ASSERT_EQUAL(spool_count(dir), held_total);

		/* And the shore holds each of them once. */
		char vid[16];
		snprintf(vid, sizeof vid, "%u", v->id);
		const char *ml[] = {"messages", "list", "--vessel", vid, NULL};
		char *mj = e2e_must(f->shore_sock, ml);
		CU_ASSERT_EQUAL(shore_count(mj, "text", 0), held_total);
		free(mj);

		fprintf(stderr, "fleet: vesseld %u peak RSS %" PRIu64 " kB\n", v->id,
			e2e_peak_rss_kb(v->pid));
	}
	free(buf);
}

/* ---- tests ------------------------------------------------------------------- */

static void run_fleet(size_t nvessels, size_t per_vessel, int vessel_kills, int shore_kills)
{
	struct fleet f;
	fleet_up(&f, nvessels, "1M");
	size_t total = nvessels * per_vessel;

	/* Kill points: distinct, seeded, spread over the submissions. */
	bool vkill[MSGS_MAX] = {false}, skill[MSGS_MAX] = {false};
	for (int k = 0; k < vessel_kills; k++)
		vkill[1 + rnd(&f) % (total - 1)] = true;
	for (int k = 0; k < shore_kills; k++)
		skill[1 + rnd(&f) % (total - 1)] = true;

	for (size_t i = 0; i < total; i++) {
		struct vessel *v = &f.v[i % nvessels];
		int c = (int)((i / nvessels) % CREW_PER_VESSEL);
		char text[512];
		snprintf(text, sizeof text, "%s #%zu", phrases[i % NPHRASES], i);
		int st = send_text(&f, v, c, text);
		CU_ASSERT_EQUAL(st, 0);
		if (vkill[i])
			restart_vessel(&f, &f.v[rnd(&f) % nvessels]);
		if (skill[i])
			restart_shored(&f);
	}
	check_everything(&f);
	fleet_down(&f);
}

/* Issue 4: one vessel, 3 crew, 300 texts, vesseld killed 5 times. */
static void test_vessel_crashes(void)
{
	run_fleet(1, 300, 5, 0);
}

/* Issue 5: two vessels (ptys and TCP), 500 texts each, shored and vesseld
 * each killed 5 times. */
static void test_fleet_crashes(void)
{
	run_fleet(2, 500, 5, 5);
}

struct complaint_arg {
	const char *sock;
	uint32_t vessel;
	uint64_t id;
};

static bool shore_has_complaint(void *arg)
{
	struct complaint_arg *a = arg;
	char vid[16];
	snprintf(vid, sizeof vid, "%u", a->vessel);
	const char *ml[] = {"messages", "list", "--vessel", vid, NULL};
	int st = -1;
	char *json = NULL;
	bool found = e2e_call(a->sock, &st, &json, ml) == 0 && st == 0 &&
		     shore_count(json, "complaint", a->id) == 1;
	free(json);
	return found;
}

/* Over quota: a clear refusal; a complaint from the same person still
 * reaches the shore. */
static void test_quota_and_complaint(void)
{
	struct fleet f;
	fleet_up(&f, 1, "1k");
	struct vessel *v = &f.v[0];
	char text[512];
	memset(text, 'a', 300);
	text[300] = '\0';
	int st = 0, sent = 0;
	while ((st = send_text(&f, v, 0, text)) == 0)
		sent++;
	CU_ASSERT_EQUAL(sent, 3);               /* 3 x 300 <= 1024 < 4 x 300 */
	CU_ASSERT_EQUAL(st, 75);                /* EX_TEMPFAIL: try after the reset */

	char cs[16];
	snprintf(cs, sizeof cs, "%u", v->crew[0]);
	const char *again[] = {"send", "--crew", cs, "--pin", PIN, "--to", "1", text, NULL};
	char *json = NULL, *msg = NULL;
	int rc = ctl_call(v->sock, 8, again, E2E_CTL_MS, &st, &msg, &json);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(st, 75);
	CU_ASSERT(msg && strstr(msg, "1,024") != NULL);          /* the allowance */
	CU_ASSERT(msg && strstr(msg, "omplaint") != NULL);       /* complaints are free */
	free(json);
	free(msg);

	const char *comp[] = {"complain", "--crew", cs, "--pin", PIN,
			      "The captain keeps our passports and has not paid us for 4 months.",
			      NULL};
	json = e2e_must(v->sock, comp);
	uint64_t cid = 0;
	CU_ASSERT_FATAL(json && e2e_json_u64(json, NULL, "msg_id", &cid));
	free(json);

	/* The complaint reaches the shore, which holds it sealed. */
	struct complaint_arg ca = {f.shore_sock, v->id, cid};
	CU_ASSERT(tu_wait_until_every(shore_has_complaint, &ca, DRAIN_MS, 100));
	fleet_down(&f);
}

void suite_fleet(void);
void suite_fleet(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("fleet", NULL, NULL);
	CU_add_test(s, "over quota: refusal; a complaint still reaches the shore",
		    test_quota_and_complaint);
	CU_add_test(s, "vesseld killed 5 times: 300 texts exactly once, ledger exact",
		    test_vessel_crashes);
	CU_add_test(s, "two vessels, both daemons killed 5 times: 1000 texts exactly once",
		    test_fleet_crashes);
}
