/*
 * test_wire.c — shored's network wiring on real SQLite files: the reply
 * store with gateway ids (store_reply_add), the operator alert forwarder
 * (shore/alert.c) with a scripted driver and an injected clock, and the
 * configuration checks of shore/wire.c.
 *
 * Shows: a gateway id posted twice gives the first reply id back (ERR_DUP)
 * and one row; unknown vessel/crew/contact -> ERR_NOTFOUND, suspended ->
 * ERR_PERM, and shorectl's path skips those checks; alerts that existed
 * before a target is configured are not sent, new ones are sent once, in
 * order, with metadata only; a temporary failure backs off and resends the
 * same alert; a restart does not resend; bad key combinations refuse to
 * start with a sentence.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>

#include "common/log.h"
#include "shore/alert.h"
#include "shore/store.h"
#include "shore/wire.h"
#include "tests/lib/fixture.h"
#include "tests/lib/testutil.h"

#define T0 1795000000
#define SECRET "0123456789abcdef-test-secret-0123456789\n"

static char *dir;
static char path[TU_PATH_MAX];
static const uint8_t pk[32] = {7};

static struct store *open_fresh(void)
{
	dir = tu_tmpdir();
	CU_ASSERT_FATAL(dir != NULL);
	snprintf(path, sizeof path, "%s/shore.db", dir);
	struct store *st = NULL;
	CU_ASSERT_FATAL(store_open(path, &st, NULL) == 0);
	CU_ASSERT_FATAL(store_vessel_add(st, 7, "Sea Star", pk, pk, T0) == 0);
	CU_ASSERT_FATAL(db_exec(store_db(st), "INSERT INTO contacts (vessel, crew_id, contact_ref, "
				"address, channel, msg_id, updated) VALUES (7, 3, 2, "
				"'mailto:a@b.example', 0, 1, 0)") == 0);
	return st;
}

static void close_all(struct store *st)
{
	store_close(st);
	tu_rmrf(dir);
	free(dir);
}

/* ---- replies with gateway ids ---------------------------------------------------- */

static void test_reply_gateway_ids(void)
{
	struct store *st = open_fresh();
	uint64_t id = 0, again = 0;
	char why[128];
	struct store_reply r = {7, 3, 2, "love you", 8, "gw-1", true};
	CU_ASSERT_EQUAL(store_reply_add(st, &r, T0, &id, why, sizeof why), 0);
	CU_ASSERT_EQUAL(id, 1);
	CU_ASSERT_EQUAL(store_reply_add(st, &r, T0, &again, why, sizeof why), ERR_DUP);
	CU_ASSERT_EQUAL(again, id);
	r.gateway_id = "gw-2";
	CU_ASSERT_EQUAL(store_reply_add(st, &r, T0, &id, why, sizeof why), 0);
	CU_ASSERT_EQUAL(id, 2);
	int64_t rows = 0;
	CU_ASSERT(store_query_int(st, "SELECT count(*) FROM replies", 0, 0, 0, 0, &rows) == 0 && rows == 2);

	static const struct {
		uint32_t vessel, crew, ref;
		bool strict;
		int want;
		const char *says;
	} cases[] = {
		{8, 3, 2, true, ERR_NOTFOUND, "no vessel 8"},
		{7, 4, 2, true, ERR_NOTFOUND, "no crew member 4"},
		{7, 3, 9, true, ERR_NOTFOUND, "no contact 9"},
		{7, 3, 9, false, 0, ""},                /* shorectl: contact may come later */
		{8, 3, 2, false, ERR_NOTFOUND, "no vessel 8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char gw[16];
		snprintf(gw, sizeof gw, "case-%zu", i);
		struct store_reply c = {cases[i].vessel, cases[i].crew, cases[i].ref, "x", 1, gw,
					cases[i].strict};
		CU_ASSERT_EQUAL(store_reply_add(st, &c, T0, &id, why, sizeof why), cases[i].want);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].says));
	}
	/* The same gateway id on another vessel is another reply. */
	CU_ASSERT_FATAL(store_vessel_add(st, 9, "Other", pk, pk, T0) == 0);
	struct store_reply o = {9, 1, 1, "x", 1, "gw-1", false};
	CU_ASSERT_EQUAL(store_reply_add(st, &o, T0, &id, why, sizeof why), 0);
	CU_ASSERT_EQUAL(id, 1);
	/* Suspended: refused for gateways. */
	CU_ASSERT_FATAL(store_vessel_set_state(st, 7, STORE_VESSEL_SUSPENDED) == 0);
	r.gateway_id = "gw-3";
	CU_ASSERT_EQUAL(store_reply_add(st, &r, T0, &id, why, sizeof why), ERR_PERM);
	close_all(st);
}

/* ---- alerts ------------------------------------------------------------------------ */

struct script {
	int outcome[8];
	size_t n, calls;
	uint64_t ids[8];
	char last_text[ALERT_TEXT_MAX];
	uint32_t last_vessel;
	char last_channel[16];
};

static int scripted_send(void *drv, const struct deliver_msg *m, char *why, size_t cap)
{
	struct script *s = drv;
	int rc = s->calls < s->n ? s->outcome[s->calls] : 0;
	if (s->calls < 8)
		s->ids[s->calls] = m->msg_id;
	s->calls++;
	snprintf(s->last_text, sizeof s->last_text, "%.*s", (int)m->text_len, m->text);
	snprintf(s->last_channel, sizeof s->last_channel, "%s", m->channel);
	s->last_vessel = m->vessel;
	snprintf(why, cap, "scripted %d", rc);
	return rc;
}

static const struct deliver_ops scripted_ops = {"scripted", scripted_send};

static struct alert *alert_open(struct script *s)
{
	struct alert_config c = {.db_path = path, .ntargets = 1, .retry_min_ms = 1000,
				 .retry_max_ms = 4000};
	c.targets[0] = (struct alert_target){"webhook", &scripted_ops, s, "webhook:ops", false};
	struct alert *a = NULL;
	CU_ASSERT_FATAL(alert_new(&a, &c) == 0);
	return a;
}

static void test_alert_forwarding(void)
{
	struct store *st = open_fresh();
	CU_ASSERT_FATAL(store_alert_add(st, 7, "gap", T0, "old: before the hook existed") == 0);
	struct script s = {.outcome = {0, ERR_AGAIN, ERR_AGAIN, 0, 0}, .n = 5};
	struct alert *a = alert_open(&s);
	int64_t now = (int64_t)T0 * 1000, next = 0;
	size_t sent = 9;
	CU_ASSERT_EQUAL(alert_run_once(a, now, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 0);                    /* the old one is not sent */
	CU_ASSERT_EQUAL(sent, 0);
	CU_ASSERT_EQUAL(next, INT64_MAX);

	CU_ASSERT_FATAL(store_check_silence(st, T0 + 100, 10, NULL) == 0);     /* no contact yet */
	CU_ASSERT_FATAL(db_exec(store_db(st), "UPDATE vessels SET last_contact = 1795000000") == 0);
	CU_ASSERT_FATAL(store_check_silence(st, T0 + 100, 10, NULL) == 0);
	CU_ASSERT_FATAL(store_alert_add(st, 7, "gap", T0 + 101, "bundles 5..6 never arrived") == 0);
	CU_ASSERT_EQUAL(alert_run_once(a, now, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 2);                    /* silence sent; gap: try later */
	CU_ASSERT_EQUAL(sent, 1);
	CU_ASSERT_EQUAL(s.ids[0], 2);
	CU_ASSERT_EQUAL(s.ids[1], 3);
	CU_ASSERT_EQUAL(next, now + 1000);
	CU_ASSERT_EQUAL(s.last_vessel, 0);
	CU_ASSERT_STRING_EQUAL(s.last_channel, "alert");
	CU_ASSERT_PTR_NOT_NULL(strstr(s.last_text, "gap on vessel 7 (Sea Star)"));
	CU_ASSERT_EQUAL(alert_run_once(a, now + 999, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 2);                    /* backing off */
	CU_ASSERT_EQUAL(alert_run_once(a, now + 1000, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 3);
	CU_ASSERT_EQUAL(next, now + 3000);              /* doubled */
	CU_ASSERT_EQUAL(alert_run_once(a, now + 3000, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 4);
	CU_ASSERT_EQUAL(s.ids[3], 3);                   /* the same alert again */
	CU_ASSERT_EQUAL(sent, 1);
	alert_free(a);

	/* A restart resends nothing. */
	a = alert_open(&s);
	CU_ASSERT_EQUAL(alert_run_once(a, now + 5000, &next, &sent), 0);
	CU_ASSERT_EQUAL(s.calls, 4);
	alert_free(a);
	close_all(st);
}

/* The inspectors' target gets complaint and SOS alerts only, at once and
 * in order; the operator's gets everything. */
static void test_alert_inspectors(void)
{
	struct store *st = open_fresh();
	struct script ops = {.n = 0}, insp = {.n = 0};
	struct alert_config c = {.db_path = path, .ntargets = 2, .retry_min_ms = 1000,
				 .retry_max_ms = 4000};
	c.targets[0] = (struct alert_target){"webhook", &scripted_ops, &ops, "webhook:ops", false};
	c.targets[1] = (struct alert_target){"inspector_webhook", &scripted_ops, &insp,
					     "webhook:dol", true};
	struct alert *a = NULL;
	CU_ASSERT_FATAL(alert_new(&a, &c) == 0);
	CU_ASSERT_FATAL(store_alert_add(st, 7, "gap", T0, "bundles 5..6 never arrived") == 0);
	CU_ASSERT_FATAL(store_alert_add(st, 7, "complaint", T0 + 1, "new complaint: case 1") == 0);
	CU_ASSERT_FATAL(store_alert_add(st, 7, "silence", T0 + 2, "silent for 1 d") == 0);
	CU_ASSERT_FATAL(store_alert_add(st, 7, "sos", T0 + 3, "SOS: vessel 7 message 9") == 0);
	int64_t next = 0;
	size_t sent = 0;
	CU_ASSERT_EQUAL(alert_run_once(a, (int64_t)T0 * 1000, &next, &sent), 0);
	CU_ASSERT_EQUAL(ops.calls, 4);
	CU_ASSERT_EQUAL(insp.calls, 2);
	CU_ASSERT_EQUAL(insp.ids[0], 2);                /* the complaint */
	CU_ASSERT_EQUAL(insp.ids[1], 4);                /* the SOS */
	CU_ASSERT_PTR_NOT_NULL(strstr(insp.last_text, "sos on vessel 7"));
	CU_ASSERT_EQUAL(sent, 6);
	/* Passed-over alerts are not looked at again. */
	CU_ASSERT_EQUAL(alert_run_once(a, (int64_t)T0 * 1000 + 10, &next, &sent), 0);
	CU_ASSERT_EQUAL(insp.calls, 2);
	CU_ASSERT_EQUAL(sent, 0);
	alert_free(a);
	close_all(st);
}

/* ---- configuration checks ------------------------------------------------------------ */

static void test_config_checks(void)
{
	char *d = tu_tmpdir();
	CU_ASSERT_FATAL(d != NULL);
	char sec[TU_PATH_MAX], conf[TU_PATH_MAX];
	snprintf(sec, sizeof sec, "%s/hook.secret", d);
	snprintf(conf, sizeof conf, "%s/shored.conf", d);
	CU_ASSERT_FATAL(tu_write_file(sec, SECRET, strlen(SECRET)) == 0 && chmod(sec, 0600) == 0);
	static const struct {
		const char *text;
		bool ok;
		const char *says;
	} cases[] = {
		{"", true, ""},
		{"webhook = ops http://127.0.0.1:1/x hook.secret\nalert_webhook = ops\n", true, ""},
		{"webhook = ops http://127.0.0.1:1/x hook.secret\nalert_webhook = nope\n", false,
		 "names no webhook"},
		{"webhook = ops ftp://127.0.0.1:1/x hook.secret\n", false, "webhook"},
		{"webhook = ops http://127.0.0.1:1/x missing.secret\n", false, "missing.secret"},
		{"http_listen = 127.0.0.1:0\n", false, "http_secret"},
		{"alert_email = mailto:ops@shore.example\n", false, "smtp_url"},
		{"smtp_url = smtp://127.0.0.1:1\nsmtp_tls = maybe\nsmtp_from = a@b.example\n", false,
		 "smtp_tls"},
		{"smtp_url = smtp://127.0.0.1:1\nsmtp_tls = none\nsmtp_from = a@b.example\n"
		 "smtp_user = u\n", false, "smtp_password_file"},
		{"smtp_url = smtp://127.0.0.1:1\nsmtp_tls = none\nsmtp_from = a@b.example\n"
		 "alert_email = ops@shore.example\n", false, "mailto:"},
		{"smtp_url = smtp://127.0.0.1:1\nsmtp_tls = none\nsmtp_from = a@b.example\n"
		 "alert_email = mailto:ops@shore.example\n", true, ""},
		{"webhook = dol http://127.0.0.1:1/x hook.secret\ninspector_webhook = dol\n", true, ""},
		{"webhook = dol http://127.0.0.1:1/x hook.secret\ninspector_webhook = ops\n", false,
		 "inspector_webhook \"ops\" names no webhook"},
		{"inspector_email = mailto:dol@labour.example\n", false, "inspector_email must be"},
		{"smtp_url = smtp://127.0.0.1:1\nsmtp_tls = none\nsmtp_from = a@b.example\n"
		 "inspector_email = mailto:dol@labour.example\n", true, ""},
	};
	struct holder {
		int before;
		struct wire_cfg net;
	};
	static const struct config_key none[] = {
		{.name = "before", .type = CONFIG_UINT, .offset = 0, .def = "1", .max = 9, .help = "x"},
	};
	struct wire_keys keys = wire_schema(none, 1, offsetof(struct holder, net));
	CU_ASSERT_EQUAL(keys.n, 1 + WIRE_KEYS);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		static struct holder h;
		struct config_error ce;
		CU_ASSERT_FATAL(tu_write_file(conf, cases[i].text, strlen(cases[i].text)) == 0);
		int rc = config_load(conf, keys.k, keys.n, &h, &ce);
		if (rc != 0)
			fprintf(stderr, "\ncase %zu: %s\n", i, ce.msg);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		struct wire *w = NULL;
		char why[512] = "";
		rc = wire_new(&w, &h.net, conf, why, sizeof why);
		if ((rc == 0) != cases[i].ok || !strstr(why, cases[i].says))
			fprintf(stderr, "\ncase %zu: rc %d: %s\n", i, rc, why);
		CU_ASSERT_EQUAL((rc == 0), cases[i].ok);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].says));
		wire_free(w);
	}
	tu_rmrf(d);
	free(d);
}

void suite_wire(void);
void suite_wire(void)
{
	CU_pSuite s = CU_add_suite("wire", fx_quiet, fx_loud);
	CU_add_test(s, "replies: gateway ids unique per vessel; unknown/suspended refused",
		    test_reply_gateway_ids);
	CU_add_test(s, "alerts: new ones once, in order, backoff, no resend after restart",
		    test_alert_forwarding);
	CU_add_test(s, "alerts: the inspectors get complaint and SOS alerts only",
		    test_alert_inspectors);
	CU_add_test(s, "config: key combinations checked at start", test_config_checks);
}
