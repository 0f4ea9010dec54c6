/*
 * fleet.c — a fleet on one machine for end-to-end tests (see fleet.h).
 *
 * What it is for: the fleet, chaos, delivery and complaint scenarios start
 * the same processes and reconcile the same way; this is the one copy.
 *
 * Invariants: every wait has a deadline; nothing sleeps.  Kill points are
 * chosen by the caller from fleet_rand(), so a run is reproducible.
 * Failure behaviour: asserts (CUnit); the run's folder is kept when a test
 * failed, and its path printed.
 */
#include "tests/lib/fleet.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define READY_MS 20000
#define PIN FLEET_PIN
#define CREW_PER_VESSEL FLEET_CREW
#define DRAIN_MS FLEET_DRAIN_MS

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

uint64_t fleet_rand(struct fleet *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

void fleet_text(size_t i, char *out, size_t cap)
{
	snprintf(out, cap, "%s #%zu", phrases[i % NPHRASES], i);
}

static void start_vessel(struct fleet *f, struct fleet_vessel *v)
{
	char tag[32];
	snprintf(tag, sizeof tag, "vesseld-%u", v->id);
	v->pid = e2e_start(f->dir, "vesseld", v->conf, tag, ++v->gen);
}

void fleet_kill_vessel(struct fleet *f, struct fleet_vessel *v)
{
	CU_ASSERT_EQUAL(tu_kill_wait(v->pid, SIGKILL, 10000), 0);
	start_vessel(f, v);
}

void fleet_kill_shored(struct fleet *f)
{
	CU_ASSERT_EQUAL(tu_kill_wait(f->shored, SIGKILL, 10000), 0);
	f->shored = e2e_start(f->dir, "shored", f->shore_conf, "shored", ++f->shore_gen);
}

static const char *const light_loss[] = {"--ber", "1e-6", "--loss", "0.01", NULL};

static void start_satsim(struct fleet *f, struct fleet_vessel *v)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = tu_build("satsim");
	argv[n++] = "--a";
	argv[n++] = v->sat_a;
	argv[n++] = "--b";
	argv[n++] = v->sat_b;
	argv[n++] = "--rate";
	argv[n++] = "64000";
	argv[n++] = "--latency";
	argv[n++] = "100";
	argv[n++] = "--seed";
	argv[n++] = v->sat_seed;
	for (const char *const *o = f->impair; *o && n + 1 < sizeof argv / sizeof argv[0]; o++)
		argv[n++] = *o;
	argv[n] = NULL;
	char satlog[700];
	snprintf(satlog, sizeof satlog, "%s/satsim-%u.%d.log", f->dir, v->id, ++v->sat_gen);
	v->sat = tu_spawn(argv, satlog);
	CU_ASSERT_FATAL(v->sat > 0);
	CU_ASSERT_FATAL(tu_wait_log(satlog, "satsim: ready", READY_MS));
}

void fleet_kill_satsim(struct fleet *f, struct fleet_vessel *v)
{
	CU_ASSERT_EQUAL(tu_kill_wait(v->sat, SIGKILL, 10000), 0);
	start_satsim(f, v);
}

static void write_text(const char *path, const char *text)
{
	CU_ASSERT_FATAL(tu_write_file(path, text, strlen(text)) == 0);
}

void fleet_up(struct fleet *f, size_t nvessels, size_t cap, const char *quota,
	      const char *const *impair)
{
	memset(f, 0, sizeof *f);
	f->impair = impair ? impair : light_loss;
	f->cap = cap;
	f->rng = 0x9e3779b97f4a7c15ull;
	f->nvessels = nvessels;
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	f->sent = calloc(cap, sizeof *f->sent);
	CU_ASSERT_FATAL(f->sent != NULL);

	CU_ASSERT_FATAL(e2e_keygen(f->dir, "shore", "shore"));
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "inspector", "inspectorate"));
	int shore_port = tu_free_tcp_port();
	CU_ASSERT_FATAL(shore_port > 0);

	/* Vessel 101: ptys through satsim; vessel 102: TCP through satsim. */
	char listen[2][256];
	for (size_t i = 0; i < nvessels; i++) {
		struct fleet_vessel *v = &f->v[i];
		v->id = 101 + (uint32_t)i;
		char id[16];
		snprintf(id, sizeof id, "%u", v->id);
		CU_ASSERT_FATAL(e2e_keygen(f->dir, "vessel", id));
		if (i == 0) {
			snprintf(v->sat_a, sizeof v->sat_a, "pty:%s/v%u.pty", f->dir, v->id);
			snprintf(v->sat_b, sizeof v->sat_b, "pty:%s/s%u.pty", f->dir, v->id);
			snprintf(v->link, sizeof v->link, "serial:%s/v%u.pty", f->dir, v->id);
			snprintf(listen[i], sizeof listen[i], "serial:%s/s%u.pty", f->dir, v->id);
		} else {
			int vp = tu_free_tcp_port();
			CU_ASSERT_FATAL(vp > 0);
			snprintf(v->sat_a, sizeof v->sat_a, "tcp-listen:127.0.0.1:%d", vp);
			snprintf(v->sat_b, sizeof v->sat_b, "tcp:127.0.0.1:%d", shore_port);
			snprintf(v->link, sizeof v->link, "tcp:127.0.0.1:%d", vp);
			snprintf(listen[i], sizeof listen[i], "tcp-listen:127.0.0.1:%d", shore_port);
		}
		snprintf(v->sat_seed, sizeof v->sat_seed, "%u", 7 + (unsigned)i);
		start_satsim(f, v);
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
		struct fleet_vessel *v = &f->v[i];
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

void fleet_down(struct fleet *f)
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
		tu_kill_wait(f->v[i].sat, SIGTERM, 10000);
	if (CU_get_number_of_failures() == 0)
		tu_rmrf(f->dir);
	else
		fprintf(stderr, "fleet: logs kept in %s\n", f->dir);
	free(f->dir);
	free(f->sent);
}

/* ---- submitting ------------------------------------------------------------ */

/* Returns the sysexits status of `send` (or -1 when no answer came). */
int fleet_send(struct fleet *f, struct fleet_vessel *v, int c, const char *text)
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
		CU_ASSERT_FATAL(f->nsent < f->cap);
		struct fleet_sent *s = &f->sent[f->nsent++];
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
static long crew_messages(struct fleet_vessel *v, int c, struct held *out, size_t cap)
{
	char cs[16];
	snprintf(cs, sizeof cs, "%u", v->crew[c]);
	const char *argv[] = {"status", "--crew", cs, "--pin", PIN, "--limit", "1000000", NULL};
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
			long n = crew_messages(&d->f->v[i], c, d->buf, d->f->cap + 64);
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

size_t fleet_shore_count(const char *json, const char *kind, uint64_t id)
{
	struct kind_count k = {kind, id, 0};
	e2e_json_each(json, "messages", count_kind, &k);
	return k.n;
}

void fleet_check_everything(struct fleet *f)
{
	struct held *buf = calloc(f->cap + 64, sizeof *buf);
	CU_ASSERT_FATAL(buf != NULL);
	struct drain_arg d = {f, buf};
	if (!tu_wait_until_every(all_delivered, &d, DRAIN_MS, 250))
		CU_FAIL("not every message reached \"delivered\" in time");

	/* Every promised message is in the spool once, with its text. */
	for (size_t k = 0; k < f->nsent; k++) {
		struct fleet_sent *s = &f->sent[k];
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
		struct fleet_vessel *v = &f->v[i];
		size_t held_total = 0;
		const char *all[] = {"quota", "--all", NULL};
		char *qj = e2e_must(v->sock, all);
		CU_ASSERT_FATAL(qj != NULL);
		for (int c = 0; c < CREW_PER_VESSEL; c++) {
			long n = crew_messages(v, c, buf, f->cap + 64);
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
		CU_ASSERT_EQUAL(fleet_shore_count(mj, "text", 0), held_total);
		free(mj);

		fprintf(stderr, "fleet: vesseld %u peak RSS %" PRIu64 " kB\n", v->id,
			e2e_peak_rss_kb(v->pid));
	}
	free(buf);
}

