/*
 * test_sctl.c — shored's control commands (shore/sctl.c) without a socket:
 * argv in, status + text + JSON out, on a real SQLite file.
 *
 * Shows: vessel add reads a real public key file and refuses a shore key,
 * a duplicate and bad ids; admin-only commands refuse other users (77);
 * list/show JSON carries the contract's fields; suspend reaches ingest at
 * once; messages list filters by vessel, crew, state and time; messages
 * show returns the text but never a complaint's blob; deliveries retry
 * re-arms only undelivered texts; reply answers {"reply_id":N}; usage
 * errors are 64 with the usage; unknown vessel/message 67; status JSON
 * has the contract's counters.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keyfile.h"
#include "common/log.h"
#include "shore/sctl.h"
#include "tests/lib/fixture.h"
#include "tests/lib/testutil.h"

#define T0 1795000000

struct fx {
	char *dir;
	struct store *st;
	struct ingest *in;
	struct keyfile_secret *shore;
	struct sctl c;
	struct sctl_result r;
	char vkey[TU_PATH_MAX], skey[TU_PATH_MAX];
};

static int64_t fixed_now(void *ctx)
{
	(void)ctx;
	return T0;
}

static const struct ctl_peer admin = {.uid = 4242};
static const struct ctl_peer other = {.uid = 4343};

static struct fx *fx_up(void)
{
	struct fx *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	char p[TU_PATH_MAX];
	snprintf(p, sizeof p, "%s/shore.db", f->dir);
	CU_ASSERT_FATAL(store_open(p, &f->st, NULL) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "shore", &f->shore) == 0);
	struct keyfile_secret *v;
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_VESSEL, "101", &v) == 0);
	CU_ASSERT_FATAL(keyfile_write(f->dir, v, NULL, f->vkey, NULL) == 0);
	CU_ASSERT_FATAL(keyfile_write(f->dir, f->shore, NULL, f->skey, NULL) == 0);
	keyfile_secret_free(v);
	CU_ASSERT_FATAL(ingest_new(&f->in, f->st, f->shore) == 0);
	f->c = (struct sctl){.st = f->st, .in = f->in, .admin_uid = 4242, .now = fixed_now};
	return f;
}

static void fx_down(struct fx *f)
{
	sctl_result_free(&f->r);
	ingest_free(f->in);
	store_close(f->st);
	keyfile_secret_free(f->shore);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

/* Runs a command given as words; returns its status. */
static int cmd(struct fx *f, const struct ctl_peer *p, const char *const *argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	sctl_result_free(&f->r);
	CU_ASSERT_FATAL(sctl_handle(&f->c, p, argc, (char *const *)argv, &f->r) == 0);
	CU_ASSERT(f->r.text[0] != '\0');
	CU_ASSERT(f->r.json[0] == '{');
	return f->r.status;
}
#define CMD(f, p, ...) cmd((f), (p), (const char *const[]){__VA_ARGS__, NULL})
#define HAS(f, s) (strstr((f)->r.json, (s)) != NULL)

static void test_vessels(void)
{
	struct fx *f = fx_up();
	CU_ASSERT_EQUAL(CMD(f, &other, "vessel", "add", "101", "--name", "Sea Star", "--key", f->vkey), 77);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--name", "Sea Star", "--key", f->skey), 65);
	CU_ASSERT(strstr(f->r.text, "vessel") != NULL);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--name", "Sea Star", "--key", "/nonexistent"), 65);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "0", "--name", "Z", "--key", f->vkey), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "x1", "--name", "Z", "--key", f->vkey), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--key", f->vkey), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--name", "Sea Star", "--key", f->vkey), 0);
	CU_ASSERT(HAS(f, "\"id\":101"));
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--name", "Sea Star", "--key", f->vkey), 65);
	CU_ASSERT_EQUAL(CMD(f, &other, "vessel", "list"), 0);
	CU_ASSERT(HAS(f, "{\"vessels\":[{\"id\":101,\"name\":\"Sea Star\",\"state\":\"active\","
		      "\"last_contact\":0,\"highest_seq\":0,\"gaps\":0,\"messages\":0,\"key_id\":\""));
	CU_ASSERT_EQUAL(CMD(f, &other, "vessel", "show", "101"), 0);
	CU_ASSERT_EQUAL(CMD(f, &other, "vessel", "show", "102"), 67);
	CU_ASSERT_EQUAL(CMD(f, &other, "vessel", "suspend", "101"), 77);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "suspend", "102"), 67);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "suspend", "101"), 0);
	CU_ASSERT(HAS(f, "\"state\":\"suspended\""));
	const struct bundle_keys *k;
	CU_ASSERT_EQUAL(ingest_vessel_keys(f->in, 101, &k), 0);   /* registry reloaded */
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "resume", "101"), 0);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "sink", "101"), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "show"), 64);
	fx_down(f);
}

static void exec(struct fx *f, const char *sql)
{
	CU_ASSERT_FATAL(db_exec(store_db(f->st), sql) == 0);
}

static void test_messages(void)
{
	struct fx *f = fx_up();
	CU_ASSERT_EQUAL(CMD(f, &admin, "vessel", "add", "101", "--name", "Sea Star", "--key", f->vkey), 0);
	exec(f, "INSERT INTO contacts VALUES (101, 1, 1, 'mailto:mum@example.org', 'Mum', 0, 1, 0)");
	exec(f, "INSERT INTO messages (vessel, msg_id, crew_id, kind, contact_ref, body, ts, received, "
		"bundle_seq, state) VALUES "
		"(101, 2, 1, 'text', 1, 'hello mum', 100, 1000, 1, 1),"
		"(101, 3, 2, 'text', 1, 'second', 100, 2000, 1, 2),"
		"(101, 4, 1, 'complaint', 0, X'DEADBEEF', 100, 3000, 2, 0)");
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list"), 0);
	CU_ASSERT(HAS(f, "{\"vessel\":101,\"msg_id\":2,\"crew_id\":1,\"kind\":\"text\",\"contact_ref\":1,"
		      "\"to\":\"mailto:mum@example.org\",\"state\":\"delivered\",\"reason\":\"\",\"ts\":100,"
		      "\"received\":1000,\"attempts\":0}"));
	CU_ASSERT(!HAS(f, "hello mum"));                  /* lists carry no text */
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--crew", "2"), 0);
	CU_ASSERT(HAS(f, "\"msg_id\":3") && !HAS(f, "\"msg_id\":2"));
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--state", "failed"), 0);
	CU_ASSERT(HAS(f, "\"msg_id\":3") && !HAS(f, "\"msg_id\":4"));
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--since", "2500"), 0);
	CU_ASSERT(HAS(f, "\"msg_id\":4") && !HAS(f, "\"msg_id\":3"));
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--vessel", "102"), 0);
	CU_ASSERT_STRING_EQUAL(f->r.json, "{\"messages\":[]}");
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--state", "lost"), 64);
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "list", "--colour", "red"), 64);
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "show", "101", "2"), 0);
	CU_ASSERT(HAS(f, "\"text\":\"hello mum\""));
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "show", "101", "4"), 0);
	CU_ASSERT(HAS(f, "\"sealed_bytes\":4") && !HAS(f, "\"text\""));
	CU_ASSERT_EQUAL(CMD(f, &other, "messages", "show", "101", "99"), 67);
	CU_ASSERT_EQUAL(CMD(f, &other, "contact", "list"), 0);
	CU_ASSERT(HAS(f, "\"address\":\"mailto:mum@example.org\""));

	CU_ASSERT_EQUAL(CMD(f, &other, "deliveries", "retry", "101", "3"), 77);
	CU_ASSERT_EQUAL(CMD(f, &admin, "deliveries", "retry", "101", "2"), 67);  /* delivered */
	CU_ASSERT_EQUAL(CMD(f, &admin, "deliveries", "retry", "101", "3"), 0);
	int64_t st = -1;
	CU_ASSERT(store_query_int(f->st, "SELECT state FROM messages WHERE msg_id = 3", 0, 0, 0, 0, &st) == 0);
	CU_ASSERT_EQUAL(st, 0);

	CU_ASSERT_EQUAL(CMD(f, &admin, "reply", "--vessel", "101", "--crew", "1", "--contact", "1",
			    "เราคิดถึงลูก"), 0);
	CU_ASSERT_STRING_EQUAL(f->r.json, "{\"reply_id\":1}");
	CU_ASSERT_EQUAL(CMD(f, &admin, "reply", "--vessel", "102", "--crew", "1", "--contact", "1", "x"), 67);
	CU_ASSERT_EQUAL(CMD(f, &admin, "reply", "--vessel", "101", "--crew", "1", "x"), 64);
	CU_ASSERT_EQUAL(CMD(f, &other, "reply", "--vessel", "101", "--crew", "1", "--contact", "1", "x"), 77);

	CU_ASSERT_EQUAL(CMD(f, &other, "status"), 0);
	CU_ASSERT(HAS(f, "{\"vessels\":1,\"bundles\":0,\"replays\":0,\"rejected\":{\"auth\":0,"
		      "\"unknown_vessel\":0,\"malformed\":0,\"window\":0},\"duplicates\":0,\"messages\":3,"
		      "\"delivered\":1,\"failed\":0,"));
	CU_ASSERT_EQUAL(CMD(f, &other, "alerts"), 0);
	CU_ASSERT_STRING_EQUAL(f->r.json, "{\"alerts\":[]}");
	CU_ASSERT_EQUAL(CMD(f, &other, "launch"), 64);
	CU_ASSERT(strstr(f->r.text, "messages list") != NULL);
	CU_ASSERT_EQUAL(CMD(f, &other, "help"), 0);
	fx_down(f);
}

void suite_sctl(void);
void suite_sctl(void)
{
	CU_pSuite s = CU_add_suite("sctl", fx_quiet, fx_loud);
	CU_add_test(s, "vessel add/list/show/suspend/resume; admin only", test_vessels);
	CU_add_test(s, "messages, contacts, retry, reply, status, alerts, usage", test_messages);
}
