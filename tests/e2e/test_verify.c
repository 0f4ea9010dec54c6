/*
 * test_verify.c — end to end: build/lifeline-verify on evidence files made
 * with real key files (build/lifeline-keygen), through the whole path a
 * complaint takes: sealed on board, hashed and receipted ashore, opened and
 * exported by the inspector.
 *
 * Shows: a good file exits 0 and prints the vessel id, message id,
 * category, times and keys, but neither the crew id nor the text unless
 * --show-text; --json says the same as one object; pinned key files must
 * match (exit 1 naming the file otherwise); a change of any single byte of
 * the file exits 1; each kind of damage is named (vessel signature, shore
 * signature, truncation, not a document, missing file, a statement this
 * version cannot check); bad arguments exit 2.  Processes are waited for
 * with deadlines; nothing sleeps.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/keyfile.h"
#include "proto/complaint.h"
#include "proto/evidence.h"
#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define RUN_MS 10000
#define ARGS_MAX 8
#define TEXT "Captain keeps our passports. \xe1\x80\x80\xe1\x80\xbb"
#define VESSEL_ID 1042u
#define MSG_ID 1001u
#define T_WRITTEN 1750000100u
#define T_RECEIVED 1750000460u

struct fixture {
	char *dir;
	char file[600];
	uint8_t doc[DOC_BYTES_MAX];
	size_t len;
};

static struct keyfile_secret *load_secret(const char *dir, const char *id)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s.secret", dir, id);
	struct keyfile_secret *s = NULL;
	struct keyfile_diag d;
	CU_ASSERT_EQUAL_FATAL(keyfile_secret_load(path, &s, &d), 0);
	return s;
}

/* Keys from lifeline-keygen; a complaint sealed, received, opened and
 * exported; the file written to DIR/complaint.lldoc. */
static void make_fixture(struct fixture *f)
{
	CU_ASSERT_FATAL(sodium_init() >= 0);
	f->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "vessel", "TH-1042"));
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "vessel", "TH-9999"));
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "shore", "dof-shore"));
	CU_ASSERT_FATAL(e2e_keygen(f->dir, "inspector", "dol"));
	struct keyfile_secret *v = load_secret(f->dir, "TH-1042");
	struct keyfile_secret *s = load_secret(f->dir, "dof-shore");
	struct keyfile_secret *i = load_secret(f->dir, "dol");

	static uint8_t blob[COMPLAINT_BLOB_MAX];
	struct complaint c = {VESSEL_ID, 7, COMPLAINT_CAT_DOCUMENTS, MSG_ID, T_WRITTEN,
			      (const uint8_t *)TEXT, strlen(TEXT)};
	ssize_t bn = complaint_seal(&c, v->sign_sk, i->pub.kx_pk, blob, sizeof blob);
	CU_ASSERT_EQUAL_FATAL(bn, 256);

	struct evidence_receipt r = {.vessel = VESSEL_ID, .msg_id = MSG_ID, .received = T_RECEIVED};
	complaint_blob_hash(blob, (size_t)bn, r.blob_hash);
	memcpy(r.vessel_pk, v->pub.sign_pk, DOC_SIGN_PK_BYTES);
	uint8_t rb[RECEIPT_BYTES], rs[DOC_SIG_BYTES];
	CU_ASSERT_EQUAL_FATAL(evidence_receipt_sign(&r, s->sign_sk, rb, rs), 0);

	struct complaint_opened *o = sodium_malloc(sizeof *o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(complaint_open(i->pub.kx_pk, i->kx_sk, blob, (size_t)bn, o), 0);
	CU_ASSERT_EQUAL_FATAL(complaint_verify(v->pub.sign_pk, o->record, o->record_len, o->sig), 0);
	ssize_t n = evidence_encode(o->record, o->record_len, v->pub.sign_pk, o->sig, rb,
				    s->pub.sign_pk, rs, f->doc, sizeof f->doc);
	CU_ASSERT_FATAL(n > 0);
	f->len = (size_t)n;
	sodium_free(o);
	keyfile_secret_free(v);
	keyfile_secret_free(s);
	keyfile_secret_free(i);
	snprintf(f->file, sizeof f->file, "%s/complaint.lldoc", f->dir);
	CU_ASSERT_EQUAL_FATAL(tu_write_file(f->file, f->doc, f->len), 0);
}

static void drop_fixture(struct fixture *f)
{
	tu_rmrf(f->dir);
	free(f->dir);
}

/* Runs lifeline-verify with args (NULL-terminated); returns its exit
 * status (-1 if it did not exit normally) and its output in *out. */
static int run(const struct fixture *f, const char *const args[], char **out)
{
	char log[700];
	snprintf(log, sizeof log, "%s/verify.log", f->dir);
	unlink(log);
	const char *argv[ARGS_MAX + 2] = {tu_build("lifeline-verify")};
	for (size_t k = 0; args[k]; k++) {
		CU_ASSERT_FATAL(k < ARGS_MAX);
		argv[k + 1] = args[k];
	}
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

static char *pub(const struct fixture *f, const char *id)
{
	static char ring[4][700];
	static int k;
	char *p = ring[k++ % 4];
	snprintf(p, 700, "%s/%s.public", f->dir, id);
	return p;
}

static void test_good(void)
{
	struct fixture *f = malloc(sizeof *f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	make_fixture(f);
	char *out = NULL;
	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, NULL}, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "VERIFIED complaint evidence"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "vessel id:    1042"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "message id:   1001"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "7 documents (Retention of identity documents)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "2025-06-15T15:08:20Z"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "2025-06-15T15:14:20Z"));
	CU_ASSERT_PTR_NULL(strstr(out, "passports"));
	CU_ASSERT_PTR_NULL(strstr(out, "crew id:"));
	free(out);

	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, "--show-text", NULL}, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Captain keeps our passports."));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "crew id:      7"));
	free(out);

	CU_ASSERT_EQUAL(run(f, (const char *[]){"--json", f->file, NULL}, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"verified\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"msg_id\":1001"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"category_name\":\"documents\""));
	CU_ASSERT_PTR_NULL(strstr(out, "passports"));
	free(out);
	CU_ASSERT_EQUAL(run(f, (const char *[]){"--json", "--show-text", f->file, NULL}, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"text\":\"Captain keeps our passports."));
	free(out);

	/* Pinned key files. */
	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, "--vessel-key", pub(f, "TH-1042"),
						"--shore-key", pub(f, "dof-shore"), NULL}, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(= key file \"TH-1042\")"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(= key file \"dof-shore\")"));
	free(out);
	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, "--vessel-key", pub(f, "TH-9999"), NULL},
			    &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is not the one in"));
	free(out);
	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, "--vessel-key", pub(f, "dof-shore"), NULL},
			    &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is a shore key, not a vessel key"));
	free(out);
	drop_fixture(f);
	free(f);
}

static void test_every_byte(void)
{
	struct fixture *f = malloc(sizeof *f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	make_fixture(f);
	static uint8_t t[DOC_BYTES_MAX];
	unsigned passed = 0;
	for (size_t i = 0; i < f->len; i++) {
		memcpy(t, f->doc, f->len);
		t[i] ^= 0x01;
		CU_ASSERT_EQUAL_FATAL(tu_write_file(f->file, t, f->len), 0);
		if (run(f, (const char *[]){f->file, NULL}, NULL) != 1)
			passed++;
	}
	CU_ASSERT_EQUAL(passed, 0u);
	drop_fixture(f);
	free(f);
}

/* Writes the fixture with byte i xor'ed (or cut to len bytes) and expects
 * exit 1 with needle in the output. */
static void expect_named(struct fixture *f, size_t i, size_t len, const char *needle)
{
	static uint8_t t[DOC_BYTES_MAX];
	memcpy(t, f->doc, f->len);
	if (i < len)
		t[i] ^= 0x01;
	CU_ASSERT_EQUAL_FATAL(tu_write_file(f->file, t, len), 0);
	char *out = NULL;
	CU_ASSERT_EQUAL(run(f, (const char *[]){f->file, NULL}, &out), 1);
	if (!strstr(out, needle))
		fprintf(stderr, "\n  wanted \"%s\" in: %s\n", needle, out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, needle));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "NOT VERIFIED"));
	free(out);
}

static void test_named_failures(void)
{
	struct fixture *f = malloc(sizeof *f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	make_fixture(f);
	size_t rlen = f->len - (DOC_HDR_BYTES + 2 * (DOC_PART_HDR_BYTES + DOC_PART_TRAILER_BYTES) +
				RECEIPT_BYTES);
	size_t text_at = DOC_HDR_BYTES + DOC_PART_HDR_BYTES + COMPLAINT_HDR_BYTES;
	size_t vsig_at = DOC_HDR_BYTES + DOC_PART_HDR_BYTES + rlen + DOC_SIGN_PK_BYTES;
	expect_named(f, text_at, f->len, "vessel's signature does not verify");
	expect_named(f, vsig_at + 3, f->len, "vessel's signature does not verify");
	expect_named(f, f->len - 1, f->len, "shore's signature does not verify");
	expect_named(f, SIZE_MAX, f->len - 1, "ends early");
	expect_named(f, 0, f->len, "no LLDOC magic");
	expect_named(f, 5, f->len, "unknown document version");

	char *out = NULL;
	CU_ASSERT_EQUAL(run(f, (const char *[]){"--json", pub(f, "missing"), NULL}, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"verified\":false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "No such file"));
	free(out);

	/* A statement (issue 7): a well-signed document of another kind. */
	struct keyfile_secret *s = load_secret(f->dir, "dof-shore");
	uint8_t body[16] = {1, 2, 3}, sig[DOC_SIG_BYTES];
	CU_ASSERT_EQUAL_FATAL(doc_sign(DOC_PART_STATEMENT, body, sizeof body, s->sign_sk, sig), 0);
	struct doc d = {DOC_VERSION, DOC_KIND_STATEMENT, 1,
			{{DOC_PART_STATEMENT, body, sizeof body, s->pub.sign_pk, sig}}};
	ssize_t n = doc_encode(&d, f->doc, sizeof f->doc);
	keyfile_secret_free(s);
	CU_ASSERT_FATAL(n > 0);
	f->len = (size_t)n;
	expect_named(f, SIZE_MAX, f->len, "statement: the body ends early");
	drop_fixture(f);
	free(f);
}

static void test_usage(void)
{
	static struct fixture f;
	f.dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.dir);
	char *out = NULL;
	CU_ASSERT_EQUAL(run(&f, (const char *[]){NULL}, &out), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: lifeline-verify"));
	free(out);
	CU_ASSERT_EQUAL(run(&f, (const char *[]){"a", "--bogus", NULL}, NULL), 2);
	CU_ASSERT_EQUAL(run(&f, (const char *[]){"a", "b", NULL}, NULL), 2);
	CU_ASSERT_EQUAL(run(&f, (const char *[]){"a", "--vessel-key", NULL}, NULL), 2);
	CU_ASSERT_EQUAL(run(&f, (const char *[]){"a", "--shore-key", "x", "--shore-key", "y",
						 NULL}, NULL), 2);
	tu_rmrf(f.dir);
	free(f.dir);
}

void suite_verify(void);
void suite_verify(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("verify", NULL, NULL);
	CU_add_test(s, "a good evidence file verifies; text only on request", test_good);
	CU_add_test(s, "any single changed byte fails lifeline-verify", test_every_byte);
	CU_add_test(s, "each failure is named", test_named_failures);
	CU_add_test(s, "bad arguments exit 2", test_usage);
}
