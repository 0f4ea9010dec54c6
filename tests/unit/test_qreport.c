/*
 * test_qreport.c — refusals on board and the QUOTA_REPORT records vesseld
 * sends with heartbeats (vessel/qreport.c), on a real SQLite file.
 *
 * Shows: nothing is due with reports off; a new database is due (first
 * report of the month); after qreport_add nothing is due until a refusal
 * or a new month; reports carry the ledger's used bytes and the latest
 * refusals numbered from the total, crew members with refusals first; the
 * previous month rides along only in the first days of a month; with no
 * figures a settings-only report (crew 0) goes; the byte budget is kept.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"
#include "vessel/qreport.h"
#include "vessel/store.h"
#include "tests/lib/testutil.h"

#define ZONE (7 * 3600)
#define NOV_START 1793466000            /* 2026-11-01T00:00+07:00 */
#define DEC_START 1796058000            /* 2026-12-01T00:00+07:00 */
#define DAY 86400

static struct compress_work work;
static struct body_writer bw;
static struct body_reader br;
static uint8_t body[8192];

struct fx {
	char *dir;
	struct vstore *st;
};

static void fx_init(struct fx *f)
{
	char path[512];
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	snprintf(path, sizeof path, "%s/v.db", f->dir);
	CU_ASSERT_EQUAL_FATAL(vstore_open(path, &f->st, NULL), 0);
}

static void fx_fini(struct fx *f)
{
	vstore_close(f->st);
	tu_rmrf(f->dir);
	free(f->dir);
}

static uint32_t crew(struct fx *f, const char *name)
{
	uint32_t id = 0;
	CU_ASSERT_EQUAL(vstore_crew_add(f->st, name, "en", "$argon2id$x", 1, &id), 0);
	return id;
}

static void text(struct fx *f, uint32_t c, uint64_t bytes, int64_t ts, uint32_t period)
{
	struct vmsg_new m = {.crew_id = c, .kind = VMSG_TEXT, .contact_ref = 1,
			     .body = (const uint8_t *)"x", .body_len = 1, .text_bytes = bytes,
			     .quota_bytes = bytes, .ts = ts, .period = period};
	uint64_t id;
	CU_ASSERT_EQUAL(vstore_msg_add(f->st, &m, &id), 0);
}

/* Runs qreport_add into a fresh section; returns the reports decoded. */
static size_t reports(struct fx *f, const struct qreport_config *cfg, int64_t now, size_t max,
		      struct record_quota_report *out, size_t cap)
{
	body_writer_init(&bw, &work, body, sizeof body, (uint64_t)now);
	CU_ASSERT_EQUAL_FATAL(body_section_begin(&bw, -1), 0);
	CU_ASSERT_EQUAL_FATAL(qreport_add(f->st, cfg, now, &bw, max), 0);
	CU_ASSERT_EQUAL_FATAL(body_section_end(&bw), 0);
	body_reader_init(&br, &work, body, bw.len, (uint64_t)now);
	struct record r;
	size_t n = 0;
	int rc;
	while ((rc = body_next(&br, &r, NULL)) == 1) {
		CU_ASSERT_EQUAL(r.type, RECORD_QUOTA_REPORT);
		if (n < cap)
			out[n] = r.u.quota_report;
		n++;
	}
	CU_ASSERT_EQUAL(rc, 0);
	return n;
}

static void test_due_and_reports(void)
{
	struct fx f;
	fx_init(&f);
	struct qreport_config off = {0}, on = {.zone = ZONE, .allowance = 1000, .interval = 3600};
	struct record_quota_report q[8];
	bool due = true;
	int64_t now = NOV_START + 10 * DAY;
	CU_ASSERT_EQUAL(qreport_due(f.st, &off, now, &due), 0);
	CU_ASSERT_FALSE(due);
	CU_ASSERT_EQUAL(qreport_reserve(&off, 4096), 0);
	CU_ASSERT_EQUAL(qreport_reserve(&on, 4096), 1024);
	CU_ASSERT_EQUAL(qreport_reserve(&on, 400), 100);
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, now, &due), 0);
	CU_ASSERT_TRUE(due);                    /* never reported */

	/* no figures yet: a settings-only report */
	CU_ASSERT_EQUAL_FATAL(reports(&f, &on, now, 1024, q, 8), 1);
	CU_ASSERT_EQUAL(q[0].crew_id, 0);
	CU_ASSERT_EQUAL(q[0].period, 202611);
	CU_ASSERT_EQUAL(q[0].zone, ZONE);
	CU_ASSERT_EQUAL(q[0].interval, 3600);
	CU_ASSERT_EQUAL(q[0].allowance, 1000);
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, now, &due), 0);
	CU_ASSERT_FALSE(due);

	uint32_t a = crew(&f, "A"), b = crew(&f, "B");
	crew(&f, "C");                          /* no figures: no report */
	text(&f, a, 900, now, 202611);
	text(&f, b, 10, now, 202611);
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, now, &due), 0);
	CU_ASSERT_FALSE(due);                   /* usage alone waits for the heartbeat */
	for (int i = 0; i < 10; i++)            /* ten refusals of crew B */
		CU_ASSERT_EQUAL(qreport_refusal_add(f.st, b, 202611, now + i, 990 + (uint64_t)i, 20), 0);
	uint64_t n = 0;
	CU_ASSERT_EQUAL(qreport_refusals(f.st, b, 202611, &n), 0);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, now, &due), 0);
	CU_ASSERT_TRUE(due);
	CU_ASSERT_EQUAL_FATAL(reports(&f, &on, now + 60, 1024, q, 8), 2);
	CU_ASSERT_EQUAL(q[0].crew_id, b);       /* refusals first */
	CU_ASSERT_EQUAL(q[0].used, 10);
	CU_ASSERT_EQUAL(q[0].refusals, 10);
	CU_ASSERT_EQUAL(q[0].n, RECORD_REFUSALS_MAX);
	CU_ASSERT_EQUAL(q[0].first, 3);         /* the latest 8 of 10 */
	CU_ASSERT_EQUAL(q[0].r[0].used, 992);
	CU_ASSERT_EQUAL(q[0].r[7].used, 999);
	CU_ASSERT_EQUAL(q[0].r[7].ts, (uint64_t)now + 9);
	CU_ASSERT_EQUAL(q[1].crew_id, a);
	CU_ASSERT_EQUAL(q[1].used, 900);
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, now + 60, &due), 0);
	CU_ASSERT_FALSE(due);

	/* a small budget: only what fits (B's report alone is over 90 bytes) */
	CU_ASSERT_EQUAL(reports(&f, &on, now + 60, 40, q, 8), 1);
	CU_ASSERT_EQUAL(q[0].crew_id, a);

	/* a new month is due at once; its first days carry the last month */
	CU_ASSERT_EQUAL(qreport_due(f.st, &on, DEC_START + 5, &due), 0);
	CU_ASSERT_TRUE(due);
	text(&f, a, 50, DEC_START + 5, 202612);
	CU_ASSERT_EQUAL_FATAL(reports(&f, &on, DEC_START + 10, 1024, q, 8), 3);
	CU_ASSERT_EQUAL(q[0].period, 202611);   /* B's refusals first */
	CU_ASSERT_EQUAL(q[1].period, 202612);
	CU_ASSERT_EQUAL(q[1].used, 50);
	CU_ASSERT_EQUAL(q[2].period, 202611);
	CU_ASSERT_EQUAL(q[2].used, 900);
	CU_ASSERT_EQUAL(reports(&f, &on, DEC_START + 3 * DAY, 1024, q, 8), 1);
	CU_ASSERT_EQUAL(q[0].period, 202612);
	fx_fini(&f);
}

void suite_qreport(void);
void suite_qreport(void)
{
	CU_pSuite s = CU_add_suite("qreport", NULL, NULL);
	CU_add_test(s, "due, reports, budget, month change", test_due_and_reports);
}
