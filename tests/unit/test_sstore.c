/*
 * test_sstore.c — the shore store (shore/store.c) on a real SQLite file.
 *
 * Shows: the schema is version 1 and reopens unchanged; vessel ids are
 * unique and id 0 / empty names are refused; state changes report unknown
 * vessels; reply ids count up per vessel independently and bad replies are
 * refused with the right code; the downlink limit only grows; a silent
 * vessel raises one alert per silence and is re-armed by contact; counters
 * round-trip.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "shore/store.h"
#include "tests/lib/fixture.h"
#include "tests/lib/testutil.h"

#define T0 1795000000

static char *dir;
static char path[TU_PATH_MAX];

static struct store *open_fresh(void)
{
	dir = tu_tmpdir();
	CU_ASSERT_FATAL(dir != NULL);
	snprintf(path, sizeof path, "%s/shore.db", dir);
	struct store *st = NULL;
	CU_ASSERT_FATAL(store_open(path, &st, NULL) == 0);
	return st;
}

static void close_all(struct store *st)
{
	store_close(st);
	tu_rmrf(dir);
	free(dir);
}

static int64_t q1(struct store *st, const char *sql)
{
	int64_t v = -1;
	CU_ASSERT_FATAL(store_query_int(st, sql, 0, 0, 0, 0, &v) == 0);
	return v;
}

static const uint8_t pk[32] = {7};

static void test_schema_and_vessels(void)
{
	struct store *st = open_fresh();
	int ver = 0;
	CU_ASSERT(db_schema_version(store_db(st), &ver) == 0 && ver == STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(store_vessel_add(st, 101, "Sea Star", pk, pk, T0), 0);
	CU_ASSERT_EQUAL(store_vessel_add(st, 101, "Again", pk, pk, T0), ERR_DUP);
	CU_ASSERT_EQUAL(store_vessel_add(st, 0, "Zero", pk, pk, T0), ERR_INVAL);
	CU_ASSERT_EQUAL(store_vessel_add(st, 102, "", pk, pk, T0), ERR_INVAL);
	struct store_vessel v;
	CU_ASSERT_EQUAL(store_vessel_get(st, 101, &v), 0);
	CU_ASSERT_STRING_EQUAL(v.name, "Sea Star");
	CU_ASSERT_EQUAL(v.state, STORE_VESSEL_ACTIVE);
	CU_ASSERT(!v.has_window && !v.window.any);
	CU_ASSERT_EQUAL(store_vessel_get(st, 999, &v), ERR_NOTFOUND);
	CU_ASSERT_EQUAL(store_vessel_set_state(st, 101, STORE_VESSEL_SUSPENDED), 0);
	CU_ASSERT_EQUAL(store_vessel_set_state(st, 999, STORE_VESSEL_SUSPENDED), ERR_NOTFOUND);
	CU_ASSERT_EQUAL(store_vessel_get(st, 101, &v), 0);
	CU_ASSERT_EQUAL(v.state, STORE_VESSEL_SUSPENDED);
	/* The downlink limit only grows. */
	CU_ASSERT_EQUAL(store_vessel_set_down_limit(st, 101, 64), 0);
	CU_ASSERT_EQUAL(store_vessel_set_down_limit(st, 101, 10), 0);
	CU_ASSERT_EQUAL(store_vessel_get(st, 101, &v), 0);
	CU_ASSERT_EQUAL(v.down_seq_limit, 64);
	/* Reopening keeps everything and migrates nothing. */
	store_close(st);
	CU_ASSERT_FATAL(store_open(path, &st, NULL) == 0);
	CU_ASSERT_EQUAL(q1(st, "SELECT count(*) FROM vessels"), 1);
	close_all(st);
}

static void test_replies(void)
{
	struct store *st = open_fresh();
	CU_ASSERT_EQUAL(store_vessel_add(st, 1, "A", pk, pk, T0), 0);
	CU_ASSERT_EQUAL(store_vessel_add(st, 2, "B", pk, pk, T0), 0);
	uint64_t id = 0;
	for (uint64_t k = 1; k <= 3; k++) {
		CU_ASSERT_EQUAL(store_reply_enqueue(st, 1, 1, 1, "ok", 2, T0, &id), 0);
		CU_ASSERT_EQUAL(id, k);
	}
	CU_ASSERT_EQUAL(store_reply_enqueue(st, 2, 1, 1, "ok", 2, T0, &id), 0);
	CU_ASSERT_EQUAL(id, 1);                         /* per vessel */
	static char big[STORE_REPLY_TEXT_MAX + 1];
	memset(big, 'a', sizeof big);
	static const struct {
		uint32_t vessel, crew, ref;
		const char *text;
		size_t len;
		int want;
	} bad[] = {
		{9, 1, 1, "x", 1, ERR_NOTFOUND},
		{1, 0, 1, "x", 1, ERR_INVAL},
		{1, 1, 0, "x", 1, ERR_INVAL},
		{1, 1, 1, "", 0, ERR_INVAL},
		{1, 1, 1, "\xc3\x28", 2, ERR_UTF8},
		{1, 1, 1, "a\0b", 3, ERR_UTF8},
		{1, 1, 1, big, sizeof big, ERR_TOOBIG},
		{1, 1, 1, big, sizeof big - 1, 0},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CU_ASSERT_EQUAL(store_reply_enqueue(st, bad[i].vessel, bad[i].crew, bad[i].ref,
						    bad[i].text, bad[i].len, T0, &id), bad[i].want);
	CU_ASSERT_EQUAL(q1(st, "SELECT count(*) FROM replies WHERE state = 'queued'"), 5);
	close_all(st);
}

static void test_silence_and_counters(void)
{
	struct store *st = open_fresh();
	CU_ASSERT_EQUAL(store_vessel_add(st, 1, "A", pk, pk, T0), 0);
	CU_ASSERT_EQUAL(store_vessel_add(st, 2, "never heard", pk, pk, T0), 0);
	CU_ASSERT(db_exec(store_db(st), "UPDATE vessels SET last_contact = 1795000000 WHERE id = 1") == 0);
	size_t n = 9;
	CU_ASSERT_EQUAL(store_check_silence(st, T0 + 100, 100, &n), 0);
	CU_ASSERT_EQUAL(n, 0);                          /* exactly at the limit: not yet */
	CU_ASSERT_EQUAL(store_check_silence(st, T0 + 101, 100, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(store_check_silence(st, T0 + 500, 100, &n), 0);
	CU_ASSERT_EQUAL(n, 0);                          /* once per silence */
	CU_ASSERT_EQUAL(q1(st, "SELECT count(*) FROM alerts WHERE vessel = 1 AND kind = 'silence'"), 1);
	/* Contact re-arms it (as ingest does). */
	CU_ASSERT(db_exec(store_db(st), "UPDATE vessels SET last_contact = 1795000600, "
		  "silence_alerted = 0 WHERE id = 1") == 0);
	CU_ASSERT_EQUAL(store_check_silence(st, T0 + 701, 100, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	uint64_t v = 9;
	CU_ASSERT_EQUAL(store_counter_get(st, "replays", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(store_counter_set(st, "replays", 42), 0);
	CU_ASSERT_EQUAL(store_counter_set(st, "replays", 43), 0);
	CU_ASSERT_EQUAL(store_counter_get(st, "replays", &v), 0);
	CU_ASSERT_EQUAL(v, 43);
	close_all(st);
}

void suite_sstore(void);
void suite_sstore(void)
{
	CU_pSuite s = CU_add_suite("sstore", fx_quiet, fx_loud);
	CU_add_test(s, "schema v1, vessels", test_schema_and_vessels);
	CU_add_test(s, "reply ids per vessel; bad replies refused", test_replies);
	CU_add_test(s, "silence alerts once per silence; counters", test_silence_and_counters);
}
