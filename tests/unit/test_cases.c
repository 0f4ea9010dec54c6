/*
 * test_cases.c — complaint cases ashore (shore/cases.c) on a real SQLite
 * file in a temp dir, through the functions ingest and the downlink call
 * and through `shorectl cases ...` (sctl_handle).
 *
 * Shows: a new complaint gets a case whose receipt is signed by the shore,
 * names the vessel's registered key, the message and the BLAKE2b-256 of the
 * exact blob, and an alert row that holds no text; an SOS gets an alert
 * (no text); other kinds nothing; listings and `show` carry metadata only,
 * never the blob; `blob` hands the sealed bytes and the receipt to the
 * inspector's tool; `update` is admin-only, checks status names and note
 * sizes, records the history and queues a CASE_UPDATE whose note is sent
 * only when marked for the crew; queued -> sent -> acked, a forgotten
 * bundle puts `sent` back; status names are table-tested.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keyfile.h"
#include "proto/complaint.h"
#include "proto/evidence.h"
#include "shore/cases.h"
#include "shore/sctl.h"
#include "tests/lib/testutil.h"

#define T0 1795000000
#define VESSEL 101u
#define SECRET "the bosun beat Min Thu"

struct fx {
	char *dir;
	struct store *st;
	struct ingest *in;
	struct keyfile_secret *shore, *vessel, *insp;
	struct sctl c;
	struct sctl_result r;
	uint8_t blob[COMPLAINT_BLOB_MAX];
	size_t blen;
};

static int64_t fixed_now(void *ctx)
{
	(void)ctx;
	return T0 + 100;
}

static const struct ctl_peer admin = {.uid = 4242};
static const struct ctl_peer other = {.uid = 4343};

/* Inserts a message row as ingest would, then runs cases_on_message in the
 * same transaction. */
static int add_msg(struct fx *f, uint64_t id, const char *kind, enum record_type t,
		   const uint8_t *body, size_t len, bool *alerted)
{
	struct db *db = store_db(f->st);
	CU_ASSERT_FATAL(db_begin(db) == 0);
	sqlite3_stmt *q = db_stmt(db, "INSERT INTO messages (vessel, msg_id, kind, body, ts, received,"
				  " bundle_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)");
	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_FATAL(db_bind_int64(db, q, 1, VESSEL) == 0 && db_bind_int64(db, q, 2, (int64_t)id) == 0 &&
			db_bind_text(db, q, 3, kind, strlen(kind)) == 0 &&
			db_bind_blob(db, q, 4, body, len) == 0 && db_bind_int64(db, q, 5, T0) == 0 &&
			db_step(db, q) >= 0);
	int rc = cases_on_message(f->st, VESSEL, id, t, body, len, T0, f->shore->sign_sk, alerted);
	CU_ASSERT_FATAL(db_commit(db) == 0);
	return rc;
}

static struct fx *fx_up(void)
{
	struct fx *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL && sodium_init() >= 0);
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	char p[TU_PATH_MAX];
	snprintf(p, sizeof p, "%s/shore.db", f->dir);
	CU_ASSERT_FATAL(store_open(p, &f->st, NULL) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "shore", &f->shore) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_VESSEL, "101", &f->vessel) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_INSPECTOR, "insp", &f->insp) == 0);
	CU_ASSERT_FATAL(store_vessel_add(f->st, VESSEL, "Sea Star", f->vessel->pub.sign_pk,
					 f->vessel->pub.kx_pk, T0) == 0);
	CU_ASSERT_FATAL(ingest_new(&f->in, f->st, f->shore) == 0);
	f->c = (struct sctl){.st = f->st, .in = f->in, .admin_uid = 4242, .now = fixed_now};
	struct complaint c = {VESSEL, 3, COMPLAINT_CAT_VIOLENCE, 17, T0 - 50,
			      (const uint8_t *)SECRET, strlen(SECRET)};
	ssize_t n = complaint_seal(&c, f->vessel->sign_sk, f->insp->pub.kx_pk, f->blob, sizeof f->blob);
	CU_ASSERT_FATAL(n == 256);
	f->blen = (size_t)n;
	bool alerted = false;
	CU_ASSERT_FATAL(add_msg(f, 17, "complaint", RECORD_COMPLAINT, f->blob, f->blen, &alerted) == 0);
	CU_ASSERT(alerted);
	return f;
}

static void fx_down(struct fx *f)
{
	sctl_result_free(&f->r);
	ingest_free(f->in);
	store_close(f->st);
	keyfile_secret_free(f->shore);
	keyfile_secret_free(f->vessel);
	keyfile_secret_free(f->insp);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

static int cmd(struct fx *f, const struct ctl_peer *p, const char *const *argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	sctl_result_free(&f->r);
	CU_ASSERT_FATAL(sctl_handle(&f->c, p, argc, (char *const *)argv, &f->r) == 0);
	CU_ASSERT(f->r.json[0] == '{');
	return f->r.status;
}
#define CMD(f, p, ...) cmd((f), (p), (const char *const[]){__VA_ARGS__, NULL})
#define HAS(f, s) (strstr((f)->r.json, (s)) != NULL)
#define TEXT_HAS(f, s) (strstr((f)->r.text, (s)) != NULL)

static void test_status_names(void)
{
	static const struct { const char *in; int want; } v[] = {
		{"received", 0}, {"assigned", 1}, {"investigating", 2}, {"resolved", 3}, {"closed", 4},
		{"0", 0}, {"4", 4}, {"5", -1}, {"action taken", -1}, {"Closed", -1}, {"", -1},
		{"resolvedx", -1}, {"01", -1},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		enum record_case_status s = RECORD_CASE_CLOSED;
		int rc = cases_status_parse(v[i].in, &s);
		CU_ASSERT_EQUAL(rc, v[i].want < 0 ? ERR_INVAL : 0);
		if (v[i].want >= 0)
			CU_ASSERT_EQUAL((int)s, v[i].want);
	}
	CU_ASSERT_EQUAL(cases_status_parse(NULL, &(enum record_case_status){0}), ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(cases_status_name(RECORD_CASE_ACTION_TAKEN), "resolved");
	CU_ASSERT_PTR_NULL(cases_status_name(5));
	CU_ASSERT_PTR_NULL(cases_status_name(-1));
}

static void test_receipt_and_alerts(void)
{
	struct fx *f = fx_up();
	struct db *db = store_db(f->st);
	/* the receipt: signed by the shore, this blob, this vessel key */
	sqlite3_stmt *q = db_stmt(db, "SELECT receipt, receipt_sig, shore_pk, blob_hash, status FROM cases"
				  " WHERE vessel = 101 AND msg_id = 17");
	CU_ASSERT_FATAL(q && db_step(db, q) == DB_ROW);
	struct evidence_receipt r;
	uint8_t h[COMPLAINT_HASH_BYTES];
	complaint_blob_hash(f->blob, f->blen, h);
	CU_ASSERT_EQUAL(doc_sig_verify(DOC_PART_RECEIPT, sqlite3_column_blob(q, 0), RECEIPT_BYTES,
				       f->shore->pub.sign_pk, sqlite3_column_blob(q, 1)), 0);
	CU_ASSERT_EQUAL(memcmp(sqlite3_column_blob(q, 2), f->shore->pub.sign_pk, 32), 0);
	CU_ASSERT_EQUAL(memcmp(sqlite3_column_blob(q, 3), h, 32), 0);
	CU_ASSERT_EQUAL(sqlite3_column_int(q, 4), 0);
	CU_ASSERT_EQUAL(evidence_receipt_parse(sqlite3_column_blob(q, 0), RECEIPT_BYTES, &r), 0);
	db_stmt_reset(q);
	CU_ASSERT_EQUAL(r.vessel, VESSEL);
	CU_ASSERT_EQUAL(r.msg_id, 17);
	CU_ASSERT_EQUAL(r.received, T0);
	CU_ASSERT_EQUAL(memcmp(r.blob_hash, h, 32), 0);
	CU_ASSERT_EQUAL(memcmp(r.vessel_pk, f->vessel->pub.sign_pk, 32), 0);

	/* SOS: an alert; a text: nothing; neither alert holds any text */
	bool alerted = false;
	CU_ASSERT_EQUAL(add_msg(f, 18, "sos", RECORD_SOS, (const uint8_t *)"fire in the engine room", 23,
				&alerted), 0);
	CU_ASSERT(alerted);
	alerted = false;
	CU_ASSERT_EQUAL(add_msg(f, 19, "text", RECORD_TEXT, (const uint8_t *)"hello mum", 9, &alerted), 0);
	CU_ASSERT(!alerted);
	CU_ASSERT_EQUAL(CMD(f, &other, "alerts"), 0);
	CU_ASSERT(HAS(f, "\"kind\":\"complaint\""));
	CU_ASSERT(HAS(f, "case 1, vessel 101 message 17"));
	CU_ASSERT(HAS(f, "\"kind\":\"sos\""));
	CU_ASSERT(HAS(f, "SOS: vessel 101 message 18"));
	CU_ASSERT(!HAS(f, "engine") && !HAS(f, "bosun") && !HAS(f, "hello"));
	int64_t n = 0;
	CU_ASSERT_EQUAL(store_query_int(f->st, "SELECT COUNT(*) FROM cases", 0, 0, 0, 0, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	fx_down(f);
}

static void test_ctl(void)
{
	struct fx *f = fx_up();
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "list"), 0);
	CU_ASSERT(HAS(f, "{\"cases\":[{\"case\":1,\"vessel\":101,\"vessel_name\":\"Sea Star\","
		      "\"msg_id\":17,\"status\":\"received\""));
	CU_ASSERT(HAS(f, "\"sealed_bytes\":256"));
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "list", "--vessel", "102"), 0);
	CU_ASSERT(HAS(f, "{\"cases\":[]}"));
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "list", "--status", "closed"), 0);
	CU_ASSERT(HAS(f, "{\"cases\":[]}"));
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "list", "--status", "bogus"), 64);
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "1"), 0);
	CU_ASSERT(HAS(f, "\"history\":[]"));
	CU_ASSERT(TEXT_HAS(f, "not readable here"));
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "101/17"), 0);
	CU_ASSERT(HAS(f, "\"case\":1"));
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "2"), 67);
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "101/18"), 67);
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "x"), 64);
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "frob", "1"), 64);
	/* the sealed blob goes out as it is (hex) with the receipt */
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "blob", "1"), 0);
	char hex[2 * 256 + 1];
	sodium_bin2hex(hex, sizeof hex, f->blob, f->blen);
	CU_ASSERT(HAS(f, hex));
	CU_ASSERT(HAS(f, "\"receipt\":\"01650000001100000000000000"));
	/* updates: admin only, names checked, notes sized */
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "update", "1", "--status", "assigned"), 77);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1", "--status", "done"), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1"), 64);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "9", "--status", "assigned"), 67);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1", "--status", "assigned", "--for-crew"), 64);
	char big[CASES_CREW_NOTE_MAX + 2];
	memset(big, 'n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1", "--status", "assigned", "--note", big,
			    "--for-crew"), 65);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1", "--status", "assigned", "--note",
			    "\xff\xfe"), 65);
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "1", "--status", "assigned", "--note",
			    "inspector Somchai, ashore only"), 0);
	CU_ASSERT(HAS(f, "\"status\":\"assigned\""));
	CU_ASSERT_EQUAL(CMD(f, &admin, "cases", "update", "101/17", "--status", "investigating",
			    "--note", "We will meet you in port.", "--for-crew"), 0);
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "1"), 0);
	CU_ASSERT(HAS(f, "\"status\":\"investigating\""));
	CU_ASSERT(HAS(f, "\"note\":\"inspector Somchai, ashore only\",\"for_crew\":false"));
	CU_ASSERT(HAS(f, "\"by_uid\":4242"));
	CU_ASSERT(HAS(f, "\"updates\":2"));

	/* down: both queued, the ashore-only note stays ashore */
	struct db *db = store_db(f->st);
	struct cases_down d[CASES_DOWN_MAX];
	ssize_t n = cases_down_pending(db, VESSEL, d, CASES_DOWN_MAX);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(d[0].case_ref, 17);
	CU_ASSERT_EQUAL(d[0].status, RECORD_CASE_ASSIGNED);
	CU_ASSERT_EQUAL(d[0].len, 0);
	CU_ASSERT_EQUAL(d[0].ts, (uint64_t)T0 + 100);
	CU_ASSERT_EQUAL(d[1].status, RECORD_CASE_INVESTIGATING);
	CU_ASSERT_STRING_EQUAL(d[1].text, "We will meet you in port.");
	CU_ASSERT_EQUAL(cases_down_pending(db, 102, d, CASES_DOWN_MAX), 0);
	CU_ASSERT_EQUAL(cases_down_pending(db, VESSEL, d, 1), 1);
	/* sent, forgotten, sent again, acked */
	CU_ASSERT_EQUAL(cases_down_set(db, VESSEL, d[0].id, "sent"), 0);
	CU_ASSERT_EQUAL(cases_down_pending(db, VESSEL, d, CASES_DOWN_MAX), 1);
	CU_ASSERT_EQUAL(cases_down_unsend(db, VESSEL), 0);
	CU_ASSERT_EQUAL(cases_down_pending(db, VESSEL, d, CASES_DOWN_MAX), 2);
	CU_ASSERT_EQUAL(cases_down_set(db, VESSEL, d[0].id, "sent"), 0);
	CU_ASSERT_EQUAL(cases_down_unsend(db, 0), 0);           /* every vessel (restart) */
	CU_ASSERT_EQUAL(cases_down_pending(db, VESSEL, d, CASES_DOWN_MAX), 2);
	CU_ASSERT_EQUAL(cases_down_set(db, VESSEL, d[0].id, "acked"), 0);
	CU_ASSERT_EQUAL(cases_down_set(db, VESSEL, d[1].id, "acked"), 0);
	CU_ASSERT_EQUAL(cases_down_pending(db, VESSEL, d, CASES_DOWN_MAX), 0);
	CU_ASSERT(cases_down_set(db, VESSEL, d[1].id, "lost") < 0);     /* CHECK constraint */
	CU_ASSERT_EQUAL(CMD(f, &other, "cases", "show", "1"), 0);
	CU_ASSERT(HAS(f, "\"to_vessel\":\"acked\""));
	fx_down(f);
}

void suite_cases(void);
void suite_cases(void)
{
	CU_pSuite s = CU_add_suite("cases", NULL, NULL);
	CU_add_test(s, "case status names and numbers", test_status_names);
	CU_add_test(s, "complaint: signed receipt of the blob; SOS alert; no text in alerts",
		    test_receipt_and_alerts);
	CU_add_test(s, "cases list/show/blob/update; CASE_UPDATE queue", test_ctl);
}
