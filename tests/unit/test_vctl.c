/*
 * test_vctl.c — vesseld's control commands on a real SQLite file in a temp
 * dir, with an injected wall clock, and vesseld's configuration schema.
 *
 * Shows: the quota counts exactly up to the month boundary in the
 * configured zone (+07:00) and starts again at local midnight, and the
 * ledger survives a close/reopen; an over-quota text is refused with
 * status 75 and a sentence saying when it resets, while a complaint and an
 * SOS from the same person still go through and never count; wrong PINs
 * lock the account after pin_max_failures and it unlocks after
 * pin_lock_time (clock stepped); a locked account refuses even the right
 * PIN; a peer that is not admin is refused captain commands; an admin PIN
 * reset hides the older inbox; the complaint blob in the database holds no
 * plaintext, is padded to a size bucket and opens with the inspector's key
 * to the vessel-signed proto/complaint.h record naming its own message id;
 * the crew member's status shows the case status, the captain's views do
 * not mention complaints; address forms are table-tested;
 * config refusals name the line (unknown key, bad value) and the printed
 * sample parses back.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/complaint.h"
#include "tests/lib/testutil.h"
#include "vessel/vconf.h"
#include "vessel/vctl.h"

#define NOV30_2359_BKK INT64_C(1796057999)     /* 2026-11-30T23:59:59+07:00 */
#define ALLOW 100u

struct fx {
	char *dir;
	char db[TU_PATH_MAX];
	struct vstore *st;
	struct vctl v;
	int64_t now;
	int kicks;
	uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES], sign_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t insp_pk[crypto_box_PUBLICKEYBYTES], insp_sk[crypto_box_SECRETKEYBYTES];
	struct vctl_result r;
};

static const struct ctl_peer root = {0, 0, 1};
static const struct ctl_peer stranger = {4242, 4242, 2};

static int64_t clock_read(void *ctx)
{
	return *(int64_t *)ctx;
}

static void on_queued(void *ctx)
{
	((struct fx *)ctx)->kicks++;
}

static void fx_open_store(struct fx *f)
{
	CU_ASSERT_EQUAL_FATAL(vstore_open(f->db, &f->st, NULL), 0);
	f->v.st = f->st;
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	CU_ASSERT_FATAL(sodium_init() >= 0);
	f->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
	snprintf(f->db, sizeof f->db, "%s/vessel.db", f->dir);
	crypto_sign_keypair(f->sign_pk, f->sign_sk);
	crypto_box_keypair(f->insp_pk, f->insp_sk);
	f->now = NOV30_2359_BKK - 3600;
	f->v = (struct vctl){.admin_uid = 1000, .now = clock_read, .now_ctx = &f->now,
		.sign_sk = f->sign_sk, .inspector_pk = f->insp_pk, .queued = on_queued, .hook_ctx = f,
		.cfg = {.allowance = ALLOW, .zone = 7 * 3600, .warn = {80, 95}, .nwarn = 2,
			.pin = {.max_failures = 3, .lock_time_s = 900}}};
	fx_open_store(f);
}

static void fx_fini(struct fx *f)
{
	vctl_result_free(&f->r);
	vstore_close(f->st);
	tu_rmrf(f->dir);
	free(f->dir);
}

/* Runs argv (NULL-terminated) as peer; returns the status. */
static int run_as(struct fx *f, const struct ctl_peer *p, const char *const argv[])
{
	int argc = 0;
	while (argv[argc])
		argc++;
	vctl_result_free(&f->r);
	CU_ASSERT_EQUAL_FATAL(vctl_handle(&f->v, p, argc, (char *const *)argv, &f->r), 0);
	CU_ASSERT_PTR_NOT_NULL(f->r.text);
	CU_ASSERT_PTR_NOT_NULL(f->r.json);
	return f->r.status;
}
#define RUN(f, ...) run_as((f), &root, (const char *const[]){__VA_ARGS__, NULL})

static bool has(const char *s, const char *needle)
{
	bool ok = s && strstr(s, needle) != NULL;
	if (!ok)
		fprintf(stderr, "\n  [%s] lacks [%s]\n", s ? s : "(null)", needle);
	return ok;
}

/* Crew 1 (PIN 1234) with contact 1. */
static void fx_crew(struct fx *f)
{
	CU_ASSERT_EQUAL(RUN(f, "crew", "add", "Aung", "Ko", "--lang", "my", "--pin", "1234"), 0);
	CU_ASSERT(has(f->r.json, "{\"crew_id\":1}"));
	CU_ASSERT_EQUAL(RUN(f, "contact", "add", "--crew", "1", "--pin", "1234", "tel:+66812345678",
			    "--name", "Mother"), 0);
	CU_ASSERT(has(f->r.json, "\"contact_ref\":1"));
}

static void test_quota_month(void)
{
	struct fx f;
	fx_init(&f);
	fx_crew(&f);
	char t60[61], t41[42];
	memset(t60, 'a', 60), t60[60] = '\0';
	memset(t41, 'b', 41), t41[41] = '\0';
	f.now = NOV30_2359_BKK;
	CU_ASSERT_EQUAL(RUN(&f, "send", "--crew", "1", "--pin", "1234", "--to", "1", t60), 0);
	CU_ASSERT(has(f.r.json, "\"state\":\"queued\",\"used\":60,\"allowance\":100,\"remaining\":40,"
		      "\"resets\":\"2026-12-01\""));
	CU_ASSERT(has(f.r.text, "Queued as message"));
	/* 41 more bytes: one over, refused with the reset date */
	CU_ASSERT_EQUAL(RUN(&f, "send", "--crew", "1", "--pin", "1234", "--to", "1", t41), 75);
	CU_ASSERT(has(f.r.json, "\"error\":\"quota\",\"used\":60,\"allowance\":100"));
	CU_ASSERT(has(f.r.json, "\"resets\":\"2026-12-01\""));
	CU_ASSERT(has(f.r.text, "1 December 2026"));
	CU_ASSERT(has(f.r.text, "Remove the last 1 character"));
	/* the same person's complaint and SOS go through and never count */
	CU_ASSERT_EQUAL(RUN(&f, "complain", "--crew", "1", "--pin", "1234", "no pay for 3 months"), 0);
	CU_ASSERT(has(f.r.json, "\"msg_id\":"));
	CU_ASSERT_EQUAL(RUN(&f, "sos", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT_EQUAL(RUN(&f, "quota", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "\"used\":60,"));
	/* exactly the last byte: 40 fits */
	t41[40] = '\0';
	CU_ASSERT_EQUAL(RUN(&f, "send", "--crew", "1", "--pin", "1234", "--to", "1", t41), 0);
	CU_ASSERT(has(f.r.json, "\"used\":100,\"allowance\":100,\"remaining\":0"));
	CU_ASSERT(has(f.r.text, "95% of this month"));
	/* one second later it is December in Bangkok: a fresh allowance */
	f.now = NOV30_2359_BKK + 1;
	t41[40] = 'b';
	CU_ASSERT_EQUAL(RUN(&f, "send", "--crew", "1", "--pin", "1234", "--to", "1", t41), 0);
	CU_ASSERT(has(f.r.json, "\"used\":41,\"allowance\":100,\"remaining\":59,\"resets\":\"2027-01-01\""));
	/* close and reopen: the ledger is what was committed */
	vstore_close(f.st);
	fx_open_store(&f);
	CU_ASSERT_EQUAL(RUN(&f, "quota", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "\"used\":41,"));
	f.now = NOV30_2359_BKK;
	CU_ASSERT_EQUAL(RUN(&f, "quota", "--all"), 0);
	CU_ASSERT(has(f.r.json, "{\"crew\":[{\"crew_id\":1,\"name\":\"Aung Ko\",\"used\":100,"));
	uint64_t used;
	CU_ASSERT_EQUAL(vstore_quota_used(f.st, 1, 202611, &used), 0);
	CU_ASSERT_EQUAL(used, 100);
	CU_ASSERT_EQUAL(vstore_quota_used(f.st, 1, 202612, &used), 0);
	CU_ASSERT_EQUAL(used, 41);
	CU_ASSERT(f.kicks >= 4);
	fx_fini(&f);
}

static void test_pin_lockout(void)
{
	struct fx f;
	fx_init(&f);
	fx_crew(&f);
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "0000"), 77);
	CU_ASSERT(has(f.r.text, "2 more wrong PINs"));
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 0);   /* success clears */
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "0000"), 77);
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "0000"), 77);
	CU_ASSERT(has(f.r.text, "1 more wrong PIN "));
	int64_t t0 = f.now;
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "0000"), 77);
	CU_ASSERT(has(f.r.json, "\"error\":\"locked\""));
	/* locked: even the right PIN is refused until lock_time has passed */
	f.now = t0 + 899;
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 77);
	CU_ASSERT(has(f.r.text, "locked"));
	CU_ASSERT_EQUAL(RUN(&f, "crew", "list"), 0);
	CU_ASSERT(has(f.r.json, "\"locked\":true"));
	f.now = t0 + 900;
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 0);
	/* the captain's lock holds until unlock */
	CU_ASSERT_EQUAL(RUN(&f, "crew", "lock", "1"), 0);
	f.now += 86400 * 365;
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 77);
	CU_ASSERT(has(f.r.text, "locked by the captain"));
	CU_ASSERT_EQUAL(RUN(&f, "crew", "unlock", "1"), 0);
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 0);
	/* the crew member changes their own PIN */
	CU_ASSERT_EQUAL(run_as(&f, &stranger, (const char *const[]){"crew", "set-pin", "1", "--pin",
			"1234", "--new-pin", "987654", NULL}), 0);
	CU_ASSERT_EQUAL(RUN(&f, "quota", "--crew", "1", "--pin", "987654"), 0);
	fx_fini(&f);
}

static void test_admin_and_errors(void)
{
	struct fx f;
	fx_init(&f);
	fx_crew(&f);
	const char *const adm[][4] = {{"crew", "list"}, {"status"}, {"quota", "--all"},
				      {"crew", "lock", "1"}, {"crew", "set-pin", "1", "--pin"}};
	for (size_t i = 0; i < sizeof adm / sizeof adm[0]; i++) {
		const char *argv[6] = {0};
		for (int k = 0; k < 4 && adm[i][k]; k++)
			argv[k] = adm[i][k];
		if (i == 4)
			argv[4] = "5555";
		CU_ASSERT_EQUAL(run_as(&f, &stranger, argv), 77);
		CU_ASSERT(has(f.r.json, "not_admin"));
	}
	f.v.admin_uid = 4242;   /* the daemon's own euid is admin too */
	CU_ASSERT_EQUAL(run_as(&f, &stranger, (const char *const[]){"status", NULL}), 0);
	CU_ASSERT(has(f.r.json, "{\"link\":\"down\",\"queued\":1,\"sent\":0,\"accepted\":0,"
		      "\"delivered\":0,\"failed\":0,\"bundles_stored\":0"));
	/* crew commands from any peer, with the PIN */
	CU_ASSERT_EQUAL(run_as(&f, &root, (const char *const[]){"contact", "list", "--crew", "1",
			"--pin", "1234", NULL}), 0);
	CU_ASSERT(has(f.r.json, "{\"contacts\":[{\"ref\":1,\"address\":\"tel:+66812345678\","
		      "\"name\":\"Mother\"}]}"));
	static const struct { const char *argv[10]; int status; const char *code; } bad[] = {
		{{"frobnicate"}, 64, "usage"},
		{{"send", "--crew", "1", "--pin", "1234", "--to", "1"}, 64, "usage"},
		{{"send", "--crew", "1", "--pin", "1234", "--to", "9", "hi"}, 67, "no_contact"},
		{{"send", "--crew", "9", "--pin", "1234", "--to", "1", "hi"}, 67, "no_crew"},
		{{"send", "--crew", "x", "--pin", "1234", "--to", "1", "hi"}, 64, "usage"},
		{{"send", "--crew", "1", "--to", "1", "hi"}, 64, "usage"},
		{{"send", "--crew", "1", "--pin", "1234", "--to", "1", "bad\xff"}, 65, "bad_text"},
		{{"send", "--bogus"}, 64, "usage"},
		{{"contact", "add", "--crew", "1", "--pin", "1234", "ftp:x"}, 65, "bad_address"},
		{{"crew", "add", "Bo", "--pin", "12"}, 64, "usage"},
		{{"crew", "add", "Bo", "--lang", "Burmese!", "--pin", "1234"}, 64, "usage"},
		{{"crew", "lock", "77"}, 67, "no_crew"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CU_ASSERT_EQUAL(run_as(&f, &root, bad[i].argv), bad[i].status);
		CU_ASSERT(has(f.r.json, bad[i].code));
		CU_ASSERT(strlen(f.r.text) > 20);       /* a sentence saying what to do */
	}
	CU_ASSERT_EQUAL(RUN(&f, "help"), 0);
	CU_ASSERT(has(f.r.text, "send --crew ID --to REF TEXT"));
	fx_fini(&f);
}

static void test_reset_hides_inbox(void)
{
	struct fx f;
	fx_init(&f);
	fx_crew(&f);
	bool stored;
	struct vinbox old = {.crew_id = 1, .shore_id = 1, .contact_ref = 1, .ts = f.now, .text = "old secret"};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &old, strlen(old.text), f.now, &stored), 0);
	CU_ASSERT(stored);
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "old secret"));
	CU_ASSERT_EQUAL(RUN(&f, "crew", "set-pin", "1", "--pin", "2222"), 0);
	struct vinbox nw = {.crew_id = 1, .shore_id = 2, .contact_ref = 1, .ts = f.now, .text = "new one"};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &nw, strlen(nw.text), f.now, &stored), 0);
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 77);  /* old PIN gone */
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "2222"), 0);
	CU_ASSERT(has(f.r.json, "new one"));
	CU_ASSERT(strstr(f.r.json, "old secret") == NULL);
	CU_ASSERT(strstr(f.r.text, "old secret") == NULL);
	CU_ASSERT_EQUAL(RUN(&f, "status", "--crew", "1", "--pin", "2222"), 0);
	CU_ASSERT(has(f.r.json, "{\"messages\":[]}"));   /* the contact message is hidden too */
	fx_fini(&f);
}

static int find_blob(void *ctx, const struct vmsg *m)
{
	uint8_t *out = ctx;
	CU_ASSERT_EQUAL(m->kind, VMSG_COMPLAINT);
	CU_ASSERT(complaint_is_bucket(m->body_len));    /* padded to a size bucket */
	CU_ASSERT_EQUAL(m->text_bytes, 27);
	memcpy(out, m->body, m->body_len < COMPLAINT_BLOB_MAX ? m->body_len : COMPLAINT_BLOB_MAX);
	return 0;
}

static void test_complaint_sealed(void)
{
	struct fx f;
	fx_init(&f);
	fx_crew(&f);
	f.v.vessel_id = 1042;
	const char *secret = "captain keeps our passports";
	CU_ASSERT_EQUAL(RUN(&f, "complain", "--crew", "1", "--pin", "1234", "--category", "nonsense",
			    secret), 64);
	CU_ASSERT(has(f.r.text, "--category"));
	CU_ASSERT_EQUAL(RUN(&f, "complain", "--crew", "1", "--pin", "1234", "--category", "documents",
			    secret), 0);
	CU_ASSERT(has(f.r.text, "Retention of identity documents"));
	static uint8_t blob[COMPLAINT_BLOB_MAX];
	CU_ASSERT_EQUAL(vstore_msg_get(f.st, 2, find_blob, blob), 0);
	/* no plaintext anywhere in the database file */
	vstore_close(f.st);
	f.st = NULL;
	uint8_t *file;
	size_t flen;
	char wal[TU_PATH_MAX + 8];
	snprintf(wal, sizeof wal, "%s-wal", f.db);
	for (int k = 0; k < 2; k++) {
		if (tu_read_file(k ? wal : f.db, &file, &flen) == 0) {
			CU_ASSERT(memmem(file, flen, "passports", 9) == NULL);
			free(file);
		}
	}
	fx_open_store(&f);
	/* the inspector opens it: the proto/complaint.h record, signed by the
	 * vessel, naming its own message id */
	static struct complaint_opened o;
	CU_ASSERT_EQUAL_FATAL(complaint_open(f.insp_pk, f.insp_sk, blob, 256, &o), 0);
	CU_ASSERT_EQUAL(complaint_verify(f.sign_pk, o.record, o.record_len, o.sig), 0);
	CU_ASSERT_EQUAL(o.c.vessel, 1042);
	CU_ASSERT_EQUAL(o.c.crew, 1);
	CU_ASSERT_EQUAL(o.c.msg_id, 2);
	CU_ASSERT_EQUAL(o.c.category, COMPLAINT_CAT_DOCUMENTS);
	CU_ASSERT_EQUAL((int64_t)o.c.ts, f.now);
	CU_ASSERT_EQUAL(o.c.text_len, strlen(secret));
	CU_ASSERT(memcmp(o.c.text, secret, strlen(secret)) == 0);
	complaint_opened_wipe(&o);
	/* the crew member sees it and, once the shore says so, its case status */
	CU_ASSERT_EQUAL(RUN(&f, "status", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "\"kind\":\"complaint\""));
	CU_ASSERT(!has(f.r.json, "case_status"));
	bool stored;
	struct vinbox up = {.is_case = true, .shore_id = 2, .status = 3, .ts = f.now + 5, .text = ""};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &up, 0, f.now, &stored), 0);
	CU_ASSERT(stored);
	CU_ASSERT_EQUAL(RUN(&f, "status", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "\"case_status\":\"resolved\""));
	CU_ASSERT(has(f.r.text, "case resolved"));
	CU_ASSERT_EQUAL(RUN(&f, "inbox", "--crew", "1", "--pin", "1234"), 0);
	CU_ASSERT(has(f.r.json, "\"status\":\"resolved\""));
	/* the captain's views do not say who complained */
	CU_ASSERT_EQUAL(RUN(&f, "status"), 0);
	CU_ASSERT(!has(f.r.json, "complaint") && !has(f.r.text, "complaint"));
	CU_ASSERT_EQUAL(RUN(&f, "quota", "--all"), 0);
	CU_ASSERT(!has(f.r.json, "complaint") && !has(f.r.text, "omplain"));
	/* no inspector key: refused with what to do */
	f.v.inspector_pk = NULL;
	CU_ASSERT_EQUAL(RUN(&f, "complain", "--crew", "1", "--pin", "1234", "x"), 69);
	CU_ASSERT(has(f.r.text, "inspector_key"));
	fx_fini(&f);
}

static void test_addresses(void)
{
	static const struct { const char *a; bool ok; } v[] = {
		{"mailto:a@b.example", true}, {"mailto:mum@example.com", true},
		{"mailto:@b.example", false}, {"mailto:a@b", false}, {"mailto:a@@b.c", false},
		{"mailto:a b@c.d", false}, {"mailto:a@b.", false},
		{"tel:+66812345678", true}, {"tel:+1234567", true}, {"tel:+123456", false},
		{"tel:0812345678", false}, {"tel:+6681234567890123", false}, {"tel:+66-81", false},
		{"webhook:line", true}, {"webhook:a.b_c-1", true}, {"webhook:", false},
		{"webhook:a/b", false}, {"http://x", false}, {"", false}, {"MAILTO:a@b.c", false},
	};
	char why[256];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int rc = vctl_address_check(v[i].a, why, sizeof why);
		if ((rc == 0) != v[i].ok)
			fprintf(stderr, "\n  address %s: %d\n", v[i].a, rc);
		CU_ASSERT_EQUAL(rc == 0, v[i].ok);
		if (rc != 0)
			CU_ASSERT(strlen(why) > 10);
	}
	uint32_t w[VCTL_WARN_MAX];
	CU_ASSERT_EQUAL(vctl_warn_parse("80, 95", w, VCTL_WARN_MAX), 2);
	CU_ASSERT_EQUAL(w[1], 95);
	CU_ASSERT_EQUAL(vctl_warn_parse("0", w, VCTL_WARN_MAX), -1);
	CU_ASSERT_EQUAL(vctl_warn_parse("101", w, VCTL_WARN_MAX), -1);
	CU_ASSERT_EQUAL(vctl_warn_parse("x", w, VCTL_WARN_MAX), -1);
}

/* ---- configuration -------------------------------------------------------- */

static const char good_conf[] =
	"vessel_id = 1042\nsecret_key = v.secret\nshore_key = s.public\nlink = tcp:127.0.0.1:7800\n";

static int load_text(const char *dir, const char *text, struct vconf *c, struct config_error *e)
{
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s/vesseld.conf", dir);
	CU_ASSERT_EQUAL_FATAL(tu_write_file(path, text, strlen(text)), 0);
	return vconf_load(path, c, e);
}

static void test_config(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	static struct vconf c;
	struct config_error e;
	char text[1024];
	CU_ASSERT_EQUAL(load_text(dir, good_conf, &c, &e), 0);
	CU_ASSERT_EQUAL(c.vessel_id, 1042);
	CU_ASSERT_EQUAL(c.allowance, 1048576);
	CU_ASSERT_EQUAL(c.zone, 7 * 3600);
	CU_ASSERT_EQUAL(c.hb_ms, 6 * 3600 * 1000);
	CU_ASSERT_EQUAL(c.bundle_max, 4096);
	CU_ASSERT_EQUAL(c.vctl.nwarn, 2);
	CU_ASSERT_EQUAL(c.vctl.warn[0], 80);
	CU_ASSERT_EQUAL(c.vctl.pin.max_failures, 5);
	CU_ASSERT_EQUAL(c.vctl.pin.lock_time_s, 900);
	CU_ASSERT(has(c.database, "/vessel.db"));
	CU_ASSERT(c.database[0] == '/');        /* relative to the file's folder */

	static const struct { const char *extra; unsigned line; enum config_problem p; const char *key; } bad[] = {
		{"quota_allowence = 1M\n", 5, CONFIG_PROBLEM_UNKNOWN_KEY, "quota_allowence"},
		{"quota_zone = +25:00\n", 5, CONFIG_PROBLEM_RANGE, "quota_zone"},
		{"heartbeat_interval = 0s\n", 5, CONFIG_PROBLEM_RANGE, "heartbeat_interval"},
		{"bundle_max = 1G\n", 5, CONFIG_PROBLEM_RANGE, "bundle_max"},
		{"quota_warn = 80, 120\n", 5, CONFIG_PROBLEM_BAD_VALUE, "quota_warn"},
		{"link = carrier-pigeon:1\n", 5, CONFIG_PROBLEM_DUPLICATE, "link"},
		{"pin_max_failures = 0\n", 5, CONFIG_PROBLEM_RANGE, "pin_max_failures"},
		{"\n# note\nlog_level = chatty\n", 7, CONFIG_PROBLEM_BAD_VALUE, "log_level"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "%s%s", good_conf, bad[i].extra);
		memset(&e, 0, sizeof e);
		CU_ASSERT_EQUAL(load_text(dir, text, &c, &e), ERR_CONFIG);
		CU_ASSERT_EQUAL(e.line, bad[i].line);
		if (e.problem != bad[i].p)
			fprintf(stderr, "\n  %s: problem %d\n", bad[i].key, (int)e.problem);
		CU_ASSERT_EQUAL(e.problem, bad[i].p);
		CU_ASSERT_STRING_EQUAL(e.key, bad[i].key);
		char where[32];
		snprintf(where, sizeof where, ":%u: ", bad[i].line);
		CU_ASSERT(has(e.msg, where));
	}
	/* a link spec nobody can open */
	CU_ASSERT_EQUAL(load_text(dir, "vessel_id = 1\nsecret_key = a\nshore_key = b\n"
				  "link = carrier-pigeon:1\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.line, 4);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_BAD_VALUE);
	/* a required key missing */
	CU_ASSERT_EQUAL(load_text(dir, "vessel_id = 1\n", &c, &e), ERR_CONFIG);
	CU_ASSERT_EQUAL(e.problem, CONFIG_PROBLEM_MISSING);
	/* more than 8 percentages in all */
	snprintf(text, sizeof text, "%squota_warn = 10 20 30 40 50\nquota_warn = 60 70 80 90\n", good_conf);
	CU_ASSERT_EQUAL(load_text(dir, text, &c, &e), ERR_CONFIG);
	/* the printed sample parses back to the defaults */
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s/sample.conf", dir);
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	CU_ASSERT_EQUAL(config_write_sample(fp, "vesseld", vconf_schema, vconf_nkeys), 0);
	fclose(fp);
	CU_ASSERT_EQUAL(vconf_load(path, &c, &e), 0);
	CU_ASSERT_EQUAL(c.vessel_id, 1042);
	CU_ASSERT_EQUAL(c.vctl.nwarn, 2);
	tu_rmrf(dir);
	free(dir);
}

void suite_vctl(void);
void suite_vctl(void)
{
	CU_pSuite s = CU_add_suite("vctl", NULL, NULL);
	CU_add_test(s, "quota at the month boundary, refusal, complaint still free, reopen", test_quota_month);
	CU_add_test(s, "PIN lockout and unlock on a stepped clock", test_pin_lockout);
	CU_add_test(s, "admin check, error statuses and texts", test_admin_and_errors);
	CU_add_test(s, "admin PIN reset hides the older inbox", test_reset_hides_inbox);
	CU_add_test(s, "complaint blob: sealed, signed, no plaintext in the db", test_complaint_sealed);
	CU_add_test(s, "contact address forms, warning lists", test_addresses);
	CU_add_test(s, "config refusals with line numbers; sample parses", test_config);
}
