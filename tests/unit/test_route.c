/*
 * test_route.c — delivery routing (shore/route.c) and the spool driver
 * (shore/deliver_spool.c), with an injected clock and a real SQLite file.
 *
 * Shows: the spool writes <dir>/<vessel>/<msg_id>.json whole with the
 * contract's fields and leaves no temporary file; a second delivery of the
 * same message is a counted redelivery, not a second file; a driver that
 * fails N times is retried at exactly retry_min * 2^k (capped at retry_max)
 * and then delivered; a driver that never succeeds is dead-lettered
 * (failed, UNDELIVERABLE) at dead_letter_after, a permanent failure at
 * once (REFUSED), an unknown contact after dead_letter_after
 * (UNKNOWN_CONTACT); SOS and complaints are never routed; the scheme picks
 * the driver; every outcome wakes the main loop with the vessel id; the
 * worker thread delivers on a poke.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proto/record.h"
#include "shore/deliver_spool.h"
#include "shore/route.h"
#include "shore/store.h"
#include "tests/lib/fixture.h"
#include "tests/lib/testutil.h"

#define V 101u
#define T0_S 1795000000
#define T0 ((int64_t)T0_S * 1000)
#define MIN_MS 1000u
#define MAX_MS 8000u
#define DEAD_MS 60000u

struct stub {
	int fail_left;          /* ERR_AGAIN this many times, then 0 */
	int permanent;          /* nonzero: return this */
	int calls;
	char last_to[128];
};

static int stub_send(void *drv, const struct deliver_msg *m, char *why, size_t cap)
{
	struct stub *s = drv;
	s->calls++;
	snprintf(s->last_to, sizeof s->last_to, "%s", m->to);
	if (s->permanent) {
		snprintf(why, cap, "stub: 550 no such mailbox");
		return s->permanent;
	}
	if (s->fail_left > 0) {
		s->fail_left--;
		snprintf(why, cap, "stub: 451 try later");
		return ERR_AGAIN;
	}
	snprintf(why, cap, "stub: 250 ok");
	return 0;
}

static const struct deliver_ops stub_ops = {.name = "stub", .send = stub_send};

struct fx {
	char *dir;
	char db[TU_PATH_MAX], spool_dir[TU_PATH_MAX];
	struct store *st;
	struct route *r;
	struct deliver_spool *spool;
	struct stub stub;
};

static struct fx *fx_up(bool spool_default)
{
	struct fx *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	snprintf(f->db, sizeof f->db, "%s/shore.db", f->dir);
	snprintf(f->spool_dir, sizeof f->spool_dir, "%s/spool", f->dir);
	CU_ASSERT_FATAL(store_open(f->db, &f->st, NULL) == 0);
	uint8_t pk[32] = {1};
	CU_ASSERT_FATAL(store_vessel_add(f->st, V, "Sea Star", pk, pk, T0_S) == 0);
	struct route_config c = {.db_path = f->db, .retry_min_ms = MIN_MS, .retry_max_ms = MAX_MS,
				 .dead_letter_ms = DEAD_MS};
	CU_ASSERT_FATAL(route_new(&f->r, &c) == 0);
	CU_ASSERT_FATAL(deliver_spool_new(&f->spool, f->spool_dir) == 0);
	int rc = spool_default ? route_set_driver(f->r, "*", &deliver_spool_ops, f->spool)
			       : route_set_driver(f->r, "*", &stub_ops, &f->stub);
	CU_ASSERT_FATAL(rc == 0);
	return f;
}

static void fx_down(struct fx *f)
{
	route_free(f->r);
	deliver_spool_free(f->spool);
	store_close(f->st);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

static void exec(struct fx *f, const char *sql)
{
	int rc = db_exec(store_db(f->st), sql);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", sql, db_last_error(store_db(f->st)));
	CU_ASSERT_FATAL(rc == 0);
}

/* A text (vessel V, crew 1, contact 1) received at T0. */
static void text(struct fx *f, uint64_t id, const char *kind, const char *body)
{
	char sql[512];
	snprintf(sql, sizeof sql, "INSERT INTO messages (vessel, msg_id, crew_id, kind, contact_ref, "
		 "body, ts, received, bundle_seq) VALUES (%u, %" PRIu64 ", 1, '%s', 1, '%s', %d, %d, 1)",
		 V, id, kind, body, T0_S - 5, T0_S);
	exec(f, sql);
}

static void contact(struct fx *f, const char *addr)
{
	char sql[512];
	snprintf(sql, sizeof sql, "INSERT INTO contacts (vessel, crew_id, contact_ref, address, name, "
		 "channel, msg_id, updated) VALUES (%u, 1, 1, '%s', 'Mum', 0, 1, %d)", V, addr, T0_S);
	exec(f, sql);
}

static int64_t q1(struct fx *f, const char *sql)
{
	int64_t v = -1;
	CU_ASSERT_FATAL(store_query_int(f->st, sql, 0, 0, 0, 0, &v) == 0);
	return v;
}

static size_t run(struct fx *f, int64_t now, int64_t *next)
{
	size_t n = 0;
	int64_t nx;
	CU_ASSERT_FATAL(route_run_once(f->r, now, &n, next ? next : &nx) == 0);
	return n;
}

static size_t wakes(struct fx *f, uint32_t *first)
{
	uint32_t ids[16];
	bool all;
	size_t n = route_wakes_read(f->r, ids, 16, &all);
	CU_ASSERT(!all);
	if (n && first)
		*first = ids[0];
	return n;
}

static void test_spool_file(void)
{
	struct fx *f = fx_up(true);
	contact(f, "mailto:mum@example.org");
	text(f, 7, "text", "Hello \"mum\"\nက");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages WHERE msg_id = 7"), RECORD_STATE_DELIVERED);
	uint32_t w = 0;
	CU_ASSERT_EQUAL(wakes(f, &w), 1);
	CU_ASSERT_EQUAL(w, V);
	char path[TU_PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%u/7.json", f->spool_dir, V);
	uint8_t *buf = NULL;
	size_t len = 0;
	CU_ASSERT_FATAL(tu_read_file(path, &buf, &len) == 0);
	const char *j = (const char *)buf;
	CU_ASSERT(strstr(j, "\"vessel\":101,\"vessel_name\":\"Sea Star\",\"msg_id\":7,\"crew_id\":1,"
			 "\"contact_ref\":1,\"to\":\"mailto:mum@example.org\",\"channel\":\"email\"") != NULL);
	CU_ASSERT(strstr(j, "\"text\":\"Hello \\\"mum\\\"\\nက\"") != NULL);
	free(buf);
	/* No temporary file is left behind. */
	char dir[TU_PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/%u", f->spool_dir, V);
	char cmd[TU_PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	/* A crash before the outcome was written: delivered again, once. */
	exec(f, "UPDATE messages SET state = 0");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages WHERE msg_id = 7"), RECORD_STATE_DELIVERED);
	CU_ASSERT_EQUAL(deliver_spool_redeliveries(f->spool), 1);
	CU_ASSERT_EQUAL(system(cmd), 0);
	fx_down(f);
}

static void test_backoff_then_success(void)
{
	struct fx *f = fx_up(false);
	contact(f, "tel:+66812345678");
	text(f, 1, "text", "hi");
	f->stub.fail_left = 5;
	int64_t next = 0, now = T0;
	/* Expected gaps: 1, 2, 4, 8, 8 s (capped), then success. */
	static const int64_t gap[] = {1000, 2000, 4000, 8000, 8000};
	for (size_t k = 0; k < 5; k++) {
		CU_ASSERT_EQUAL(run(f, now, &next), 1);
		CU_ASSERT_EQUAL(next, now + gap[k]);
		CU_ASSERT_EQUAL(run(f, next - 1, NULL), 0);     /* not before */
		now = next;
	}
	CU_ASSERT_EQUAL(wakes(f, NULL), 0);             /* no outcome yet */
	CU_ASSERT_EQUAL(run(f, now, &next), 1);
	CU_ASSERT_EQUAL(next, INT64_MAX);
	CU_ASSERT_EQUAL(f->stub.calls, 6);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages"), RECORD_STATE_DELIVERED);
	CU_ASSERT_EQUAL(q1(f, "SELECT attempts FROM messages"), 6);
	CU_ASSERT_EQUAL(wakes(f, NULL), 1);
	fx_down(f);
}

static void test_dead_letter(void)
{
	struct fx *f = fx_up(false);
	contact(f, "mailto:nobody@example.org");
	text(f, 1, "text", "hi");
	f->stub.fail_left = 1000000;
	int64_t now = T0, next = 0;
	int rounds = 0;
	while (q1(f, "SELECT state FROM messages") == RECORD_STATE_ACCEPTED && rounds++ < 100) {
		CU_ASSERT_EQUAL(run(f, now, &next), 1);
		CU_ASSERT(next == INT64_MAX || next <= T0 + (int64_t)DEAD_MS);
		now = next;
	}
	CU_ASSERT_EQUAL(now, INT64_MAX);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages"), RECORD_STATE_FAILED);
	CU_ASSERT_EQUAL(q1(f, "SELECT reason FROM messages"), RECORD_REASON_UNDELIVERABLE);
	/* The last try was at the deadline, not later. */
	CU_ASSERT(rounds < 20);
	fx_down(f);
}

static void test_permanent_and_unknown_contact(void)
{
	struct fx *f = fx_up(false);
	f->stub.permanent = ERR_INVAL;
	text(f, 1, "text", "to nobody yet");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 1);            /* contact unknown: retry */
	CU_ASSERT_EQUAL(f->stub.calls, 0);
	CU_ASSERT_EQUAL(run(f, T0 + DEAD_MS - 1, NULL), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages"), RECORD_STATE_ACCEPTED);
	CU_ASSERT_EQUAL(run(f, T0 + DEAD_MS, NULL), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT reason FROM messages WHERE state = 2"), RECORD_REASON_UNKNOWN_CONTACT);

	contact(f, "mailto:x@example.org");
	text(f, 2, "text", "refused");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT reason FROM messages WHERE msg_id = 2 AND state = 2"),
			RECORD_REASON_REFUSED);
	CU_ASSERT_EQUAL(f->stub.calls, 1);
	fx_down(f);
}

static void test_not_routed_and_schemes(void)
{
	struct fx *f = fx_up(true);
	CU_ASSERT(route_set_driver(f->r, "tel", &stub_ops, &f->stub) == 0);
	contact(f, "tel:+66812345678");
	text(f, 1, "sos", "help");
	text(f, 2, "complaint", "sealed");
	text(f, 3, "contact", "tel:+66812345678");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 0);
	text(f, 4, "text", "by sms");
	CU_ASSERT_EQUAL(run(f, T0, NULL), 1);
	CU_ASSERT_EQUAL(f->stub.calls, 1);                 /* tel: went to its driver */
	CU_ASSERT_STRING_EQUAL(f->stub.last_to, "tel:+66812345678");
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM messages WHERE state = 0"), 3);
	fx_down(f);
}

static void test_worker_thread(void)
{
	struct fx *f = fx_up(true);
	contact(f, "mailto:mum@example.org");
	CU_ASSERT_FATAL(route_start(f->r) == 0);
	text(f, 9, "text", "through the worker");
	route_poke(f->r);
	struct pollfd p = {.fd = route_wake_fd(f->r), .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&p, 1, 10000), 1);
	route_stop(f->r);
	uint32_t w = 0;
	CU_ASSERT_EQUAL(wakes(f, &w), 1);
	CU_ASSERT_EQUAL(w, V);
	CU_ASSERT_EQUAL(q1(f, "SELECT state FROM messages"), RECORD_STATE_DELIVERED);
	CU_ASSERT_EQUAL(route_get_stats(f->r).delivered, 1);
	fx_down(f);
}

void suite_route(void);
void suite_route(void)
{
	CU_pSuite s = CU_add_suite("route", fx_quiet, fx_loud);
	CU_add_test(s, "spool file whole, redelivery counted not doubled", test_spool_file);
	CU_add_test(s, "exponential backoff then success", test_backoff_then_success);
	CU_add_test(s, "dead letter after dead_letter_after", test_dead_letter);
	CU_add_test(s, "permanent failure; unknown contact", test_permanent_and_unknown_contact);
	CU_add_test(s, "sos/complaint not routed; scheme picks the driver", test_not_routed_and_schemes);
	CU_add_test(s, "worker thread delivers on a poke and wakes the loop", test_worker_thread);
}
