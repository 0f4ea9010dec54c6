/*
 * test_vstore.c — vesseld's database on real SQLite files in a temp dir.
 *
 * Shows: schema version 1 is made once and reopened as is; a message and
 * its quota ledger change commit together (and a crash inside that
 * transaction leaves neither); message ids keep growing across reopen;
 * receipts move states forward only (an ACCEPTED after DELIVERED changes
 * nothing, FAILED never overrides DELIVERED); a stored bundle comes back
 * for resending while it holds a sent message and is pruned once all its
 * messages are accepted or later; inbox items are idempotent and a case
 * update goes to the complaint's sender; the pending list puts SOS,
 * complaints and contacts first and keeps a share of each crew member's
 * texts under its limit; meta values and blobs round-trip.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/record.h"
#include "tests/lib/testutil.h"
#include "vessel/store.h"

struct fx {
	char *dir;
	char path[TU_PATH_MAX];
	struct vstore *st;
};

static void fx_init(struct fx *f)
{
	f->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
	snprintf(f->path, sizeof f->path, "%s/v.db", f->dir);
	CU_ASSERT_EQUAL_FATAL(vstore_open(f->path, &f->st, NULL), 0);
}

static void fx_reopen(struct fx *f)
{
	vstore_close(f->st);
	CU_ASSERT_EQUAL_FATAL(vstore_open(f->path, &f->st, NULL), 0);
}

static void fx_fini(struct fx *f)
{
	vstore_close(f->st);
	tu_rmrf(f->dir);
	free(f->dir);
}

static uint32_t add_crew(struct fx *f, const char *name)
{
	uint32_t id = 0;
	CU_ASSERT_EQUAL(vstore_crew_add(f->st, name, "en", "$argon2id$x", 1, &id), 0);
	return id;
}

static uint64_t add_msg(struct fx *f, uint32_t crew, enum vmsg_kind k, const char *text)
{
	struct vmsg_new m = {.crew_id = crew, .kind = k, .contact_ref = k == VMSG_TEXT ? 1 : 0,
		.body = (const uint8_t *)text, .body_len = strlen(text), .text_bytes = strlen(text),
		.quota_bytes = k == VMSG_TEXT ? strlen(text) : 0, .ts = 1000, .period = 202611};
	uint64_t id = 0;
	CU_ASSERT_EQUAL(vstore_msg_add(f->st, &m, &id), 0);
	return id;
}

static int get_state(void *ctx, const struct vmsg *m)
{
	*(enum vmsg_state *)ctx = m->state;
	return 0;
}

static enum vmsg_state state(struct fx *f, uint64_t id)
{
	enum vmsg_state s = VMSG_STATE_COUNT;
	CU_ASSERT_EQUAL(vstore_msg_get(f->st, id, get_state, &s), 0);
	return s;
}

static void test_schema_and_ledger(void)
{
	struct fx f;
	fx_init(&f);
	int v = 0;
	CU_ASSERT_EQUAL(db_schema_version(vstore_db(f.st), &v), 0);
	CU_ASSERT_EQUAL(v, VSTORE_SCHEMA_VERSION);
	uint32_t c = add_crew(&f, "A");
	CU_ASSERT_EQUAL(c, 1);
	uint64_t m1 = add_msg(&f, c, VMSG_TEXT, "hello");
	add_msg(&f, c, VMSG_SOS, "help");
	uint64_t used = 0;
	CU_ASSERT_EQUAL(vstore_quota_used(f.st, c, 202611, &used), 0);
	CU_ASSERT_EQUAL(used, 5);               /* the SOS did not count */
	/* a crash inside the insert transaction leaves neither row nor ledger */
	CU_ASSERT_EQUAL(vstore_begin(f.st), 0);
	CU_ASSERT_EQUAL(db_exec(vstore_db(f.st), "INSERT INTO msg (crew_id, kind, body, ts, period, "
				"updated) VALUES (1, 'text', 'x', 1, 202611, 1); UPDATE quota SET used = "
				"used + 1"), 0);
	fx_reopen(&f);                          /* db_close rolls back */
	CU_ASSERT_EQUAL(vstore_quota_used(f.st, c, 202611, &used), 0);
	CU_ASSERT_EQUAL(used, 5);
	uint64_t m3 = add_msg(&f, c, VMSG_TEXT, "again");
	CU_ASSERT(m3 > m1 + 1);                 /* ids grow, never reused */
	CU_ASSERT_EQUAL(db_schema_version(vstore_db(f.st), &v), 0);
	CU_ASSERT_EQUAL(v, VSTORE_SCHEMA_VERSION);
	struct vcounts n;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &n), 0);
	CU_ASSERT_EQUAL(n.state[VMSG_QUEUED], 3);
	CU_ASSERT_EQUAL(n.crew, 1);
	/* meta */
	uint64_t x;
	CU_ASSERT_EQUAL(vstore_meta_u64(f.st, "seq_limit", 7, &x), 0);
	CU_ASSERT_EQUAL(x, 7);
	CU_ASSERT_EQUAL(vstore_meta_set_u64(f.st, "seq_limit", 64), 0);
	CU_ASSERT_EQUAL(vstore_meta_set_u64(f.st, "seq_limit", 80), 0);
	uint8_t blob[4] = {1, 2, 3, 4}, back[8];
	size_t blen;
	CU_ASSERT_EQUAL(vstore_meta_set_blob(f.st, "w", blob, 4), 0);
	fx_reopen(&f);
	CU_ASSERT_EQUAL(vstore_meta_u64(f.st, "seq_limit", 0, &x), 0);
	CU_ASSERT_EQUAL(x, 80);
	CU_ASSERT_EQUAL(vstore_meta_blob(f.st, "w", back, sizeof back, &blen), 0);
	CU_ASSERT_EQUAL(blen, 4);
	CU_ASSERT(memcmp(back, blob, 4) == 0);
	fx_fini(&f);
}

static int count_bundle(void *ctx, uint64_t seq, const uint8_t *b, size_t len)
{
	uint64_t *seqs = ctx;
	seqs[seqs[0]++ + 1] = seq;
	CU_ASSERT(len == 3 && b[0] == (uint8_t)seq);
	return 0;
}

static void test_receipts_forward_only(void)
{
	struct fx f;
	fx_init(&f);
	uint32_t c = add_crew(&f, "A");
	uint64_t id[4];
	for (int i = 0; i < 4; i++)
		id[i] = add_msg(&f, c, VMSG_TEXT, "t");
	uint8_t b1[3] = {5, 0, 0}, b2[3] = {6, 0, 0};
	CU_ASSERT_EQUAL(vstore_begin(f.st), 0);
	CU_ASSERT_EQUAL(vstore_bundle_put(f.st, 5, b1, 3, id, 2, 10), 0);
	CU_ASSERT_EQUAL(vstore_bundle_put(f.st, 6, b2, 3, id + 2, 2, 10), 0);
	CU_ASSERT_EQUAL(vstore_commit(f.st), 0);
	CU_ASSERT_EQUAL(state(&f, id[0]), VMSG_SENT);
	uint64_t seqs[8] = {0};
	CU_ASSERT_EQUAL(vstore_bundle_each_unacked(f.st, 0, count_bundle, seqs), 0);
	CU_ASSERT_EQUAL(seqs[0], 2);
	CU_ASSERT_EQUAL(seqs[1], 5);
	CU_ASSERT_EQUAL(seqs[2], 6);
	memset(seqs, 0, sizeof seqs);
	CU_ASSERT_EQUAL(vstore_bundle_each_unacked(f.st, 6, count_bundle, seqs), 0);
	CU_ASSERT_EQUAL(seqs[0], 1);

	static const struct { int first, count; enum vmsg_state to; enum vmsg_state want[4]; } steps[] = {
		{0, 1, VMSG_DELIVERED, {VMSG_DELIVERED, VMSG_SENT, VMSG_SENT, VMSG_SENT}},
		{0, 2, VMSG_ACCEPTED, {VMSG_DELIVERED, VMSG_ACCEPTED, VMSG_SENT, VMSG_SENT}},
		{0, 4, VMSG_FAILED, {VMSG_DELIVERED, VMSG_FAILED, VMSG_FAILED, VMSG_FAILED}},
		{1, 3, VMSG_DELIVERED, {VMSG_DELIVERED, VMSG_FAILED, VMSG_FAILED, VMSG_FAILED}},
		{0, 4, VMSG_ACCEPTED, {VMSG_DELIVERED, VMSG_FAILED, VMSG_FAILED, VMSG_FAILED}},
	};
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		CU_ASSERT_EQUAL(vstore_receipt_apply(f.st, id[0] + (uint64_t)steps[s].first,
			(uint64_t)steps[s].count, steps[s].to, 2, 20, NULL), 0);
		for (int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(state(&f, id[i]), steps[s].want[i]);
		if (s == 1) {   /* bundle 5 now holds only accepted-or-later: pruned */
			CU_ASSERT_EQUAL(vstore_bundle_prune(f.st), 0);
			memset(seqs, 0, sizeof seqs);
			CU_ASSERT_EQUAL(vstore_bundle_each_unacked(f.st, 0, count_bundle, seqs), 0);
			CU_ASSERT_EQUAL(seqs[0], 1);
			CU_ASSERT_EQUAL(seqs[1], 6);
		}
	}
	CU_ASSERT_EQUAL(vstore_receipt_apply(f.st, 1, 1, VMSG_SENT, 0, 0, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(vstore_receipt_apply(f.st, 1, 0, VMSG_ACCEPTED, 0, 0, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(vstore_bundle_prune(f.st), 0);
	struct vcounts n;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &n), 0);
	CU_ASSERT_EQUAL(n.bundles, 0);
	fx_fini(&f);
}

static int inbox_count(void *ctx, const struct vinbox *i)
{
	(*(int *)ctx)++;
	CU_ASSERT(i->text != NULL);
	return 0;
}

static void test_inbox(void)
{
	struct fx f;
	fx_init(&f);
	uint32_t a = add_crew(&f, "A"), b = add_crew(&f, "B");
	uint64_t complaint = add_msg(&f, b, VMSG_COMPLAINT, "sealed-blob");
	bool st;
	struct vinbox r = {.crew_id = a, .shore_id = 9, .contact_ref = 1, .ts = 5, .text = "hi"};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &r, 2, 6, &st), 0);
	CU_ASSERT(st);
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &r, 2, 7, &st), 0);
	CU_ASSERT_FALSE(st);                    /* same reply again: ignored */
	r.crew_id = 99;
	r.shore_id = 10;
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &r, 2, 7, &st), 0);
	CU_ASSERT_FALSE(st);                    /* unknown crew: dropped */
	struct vinbox c = {.is_case = true, .crew_id = a, .shore_id = complaint,
			   .status = RECORD_CASE_ASSIGNED, .ts = 8, .text = "assigned"};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &c, 8, 9, &st), 0);
	CU_ASSERT(st);
	c.status = RECORD_CASE_INVESTIGATING;
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &c, 8, 9, &st), 0);
	CU_ASSERT(st);                          /* a new status is a new item */
	c.shore_id = 12345;
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &c, 8, 9, &st), 0);
	CU_ASSERT_FALSE(st);                    /* no such complaint */
	int na = 0, nb = 0;
	CU_ASSERT_EQUAL(vstore_inbox_each(f.st, a, 0, inbox_count, &na), 0);
	CU_ASSERT_EQUAL(vstore_inbox_each(f.st, b, 0, inbox_count, &nb), 0);
	CU_ASSERT_EQUAL(na, 1);
	CU_ASSERT_EQUAL(nb, 2);                 /* the complaint's sender, not crew_id */
	fx_fini(&f);
}

static void test_pending(void)
{
	struct fx f;
	fx_init(&f);
	uint32_t a = add_crew(&f, "A"), b = add_crew(&f, "B");
	for (int i = 0; i < 50; i++)
		add_msg(&f, a, VMSG_TEXT, "chatty");
	add_msg(&f, b, VMSG_TEXT, "quiet");
	add_msg(&f, b, VMSG_CONTACT, "mailto:x@y.z");
	add_msg(&f, a, VMSG_COMPLAINT, "blob");
	add_msg(&f, b, VMSG_SOS, "");
	struct vpending p[16];
	ssize_t n = vstore_pending(f.st, 4, p, 16);
	CU_ASSERT_EQUAL(n, 8);          /* 3 priority + 4 of A's texts + B's text */
	CU_ASSERT_EQUAL(p[0].kind, VMSG_SOS);
	CU_ASSERT_EQUAL(p[1].kind, VMSG_COMPLAINT);
	CU_ASSERT_EQUAL(p[2].kind, VMSG_CONTACT);
	CU_ASSERT_EQUAL(p[2].body_len, 12);
	int bseen = 0;
	for (ssize_t i = 3; i < n; i++) {
		CU_ASSERT_EQUAL(p[i].kind, VMSG_TEXT);
		bseen += p[i].crew_id == b;
		if (i > 3)
			CU_ASSERT(p[i].id > p[i - 1].id || p[i].crew_id != p[i - 1].crew_id);
	}
	CU_ASSERT_EQUAL(bseen, 1);
	n = vstore_pending(f.st, 4, p, 5);      /* under the limit B is not starved */
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT(p[3].crew_id != p[4].crew_id);
	fx_fini(&f);
}

/* A stand-in seal: writes "blob<id>" (or fails), as complain.c's would. */
static uint64_t sealed_for;
static ssize_t fake_seal(void *ctx, uint64_t id, uint8_t *out, size_t cap)
{
	sealed_for = id;
	if (ctx)
		return ERR_CRYPTO;
	CU_ASSERT(cap >= RECORD_BLOB_MAX);
	return snprintf((char *)out, cap, "blob%llu", (unsigned long long)id);
}

static int get_body(void *ctx, const struct vmsg *m)
{
	snprintf(ctx, 32, "%.*s", (int)m->body_len, (const char *)m->body);
	CU_ASSERT_EQUAL(m->kind, VMSG_COMPLAINT);
	CU_ASSERT_EQUAL(m->text_bytes, 42);
	return 0;
}

/* The complaint's body is sealed inside the transaction that gives it its
 * id; a failed seal leaves nothing; never counted; case status lookup. */
static void test_complaint_add(void)
{
	struct fx f;
	fx_init(&f);
	uint32_t a = add_crew(&f, "Aung");
	uint64_t first = add_msg(&f, a, VMSG_TEXT, "hi"), id = 0, used = 1;
	CU_ASSERT_EQUAL(vstore_complaint_add(f.st, a, 42, 1000, 202611, fake_seal, NULL, &id), 0);
	CU_ASSERT_EQUAL(id, first + 1);
	CU_ASSERT_EQUAL(sealed_for, id);                /* the record names its own id */
	char body[32] = "";
	CU_ASSERT_EQUAL(vstore_msg_get(f.st, id, get_body, body), 0);
	char want[32];
	snprintf(want, sizeof want, "blob%llu", (unsigned long long)id);
	CU_ASSERT_STRING_EQUAL(body, want);
	CU_ASSERT_EQUAL(vstore_quota_used(f.st, a, 202611, &used), 0);
	CU_ASSERT_EQUAL(used, 2);                       /* only the text counted */
	uint64_t id2 = 0;
	CU_ASSERT_EQUAL(vstore_complaint_add(f.st, a, 42, 1000, 202611, fake_seal, &f, &id2), ERR_CRYPTO);
	struct vcounts c;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.state[VMSG_QUEUED], 2);       /* nothing of the failed one */
	uint32_t status = 99;
	CU_ASSERT_EQUAL(vstore_case_status(f.st, id, &status), ERR_NOTFOUND);
	bool stored;
	struct vinbox u1 = {.is_case = true, .shore_id = id, .status = 1, .ts = 2000, .text = ""};
	struct vinbox u2 = {.is_case = true, .shore_id = id, .status = 4, .ts = 3000, .text = "done"};
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &u2, 4, 3001, &stored), 0);
	CU_ASSERT_EQUAL(vstore_inbox_add(f.st, &u1, 0, 3002, &stored), 0);     /* arrives late */
	CU_ASSERT_EQUAL(vstore_case_status(f.st, id, &status), 0);
	CU_ASSERT_EQUAL(status, 4);                     /* the newest by its shore time */
	fx_fini(&f);
}

void suite_vstore(void);
void suite_vstore(void)
{
	CU_pSuite s = CU_add_suite("vstore", NULL, NULL);
	CU_add_test(s, "schema, message + ledger in one commit, ids, meta", test_schema_and_ledger);
	CU_add_test(s, "receipts move states forward only; bundles pruned", test_receipts_forward_only);
	CU_add_test(s, "inbox: idempotent, cases to the complainant", test_inbox);
	CU_add_test(s, "pending: priority first, a share of everybody", test_pending);
	CU_add_test(s, "complaint sealed in the id's transaction; failed seal leaves nothing",
		    test_complaint_add);
}
