/*
 * test_db.c — common/db on real SQLite files in a temp dir: migrations
 * (order, once, reopen, failure rollback, newer schema refused untouched),
 * file modes, pragmas, transactions, statement cache, error translation,
 * busy timeout, quick_check on a damaged file, backups, and durability
 * under SIGKILL at seeded random instants.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/db.h"
#include "common/log.h"
#include "tests/lib/testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers -------------------------------------------------------- */

static const struct db_migration MIGS4[] = {
	{ 1, "CREATE TABLE applied(v INTEGER NOT NULL); INSERT INTO applied VALUES(1)", "applied log" },
	{ 2, "INSERT INTO applied VALUES(2)", "second" },
	{ 3, "INSERT INTO applied VALUES(3)", "third" },
	{ 4, "INSERT INTO applied VALUES(4)", "fourth" },
};

/* Integer result of a one-value query, or INT64_MIN on failure. */
static int64_t q_int(struct db *db, const char *sql)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	if (!st)
		return INT64_MIN;
	if (db_step(db, st) != DB_ROW)
		return INT64_MIN;
	int64_t v = sqlite3_column_int64(st, 0);
	db_stmt_reset(st);
	return v;
}

/* FNV-1a 64 of a file's bytes; 0 if unreadable. */
static uint64_t file_hash(const char *path, size_t *len_out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (tu_read_file(path, &buf, &len) != 0)
		return 0;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h ^= buf[i];
		h *= 1099511628211ull;
	}
	free(buf);
	if (len_out)
		*len_out = len;
	return h;
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static unsigned file_mode(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return 0xffffu;
	return (unsigned)(sb.st_mode & 0777);
}

/* ---- migrations ------------------------------------------------------- */

static void test_migrations_once_in_order(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "m.db"));

	struct db *db = NULL;
	struct db_open_error why;
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS4, 3, &db, &why), 0);
	CU_ASSERT_STRING_EQUAL(why.text, "");
	int v = -1;
	CU_ASSERT_EQUAL(db_schema_version(db, &v), 0);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM applied"), 3);
	/* In order: rowid order is application order. */
	CU_ASSERT_EQUAL(q_int(db, "SELECT group_concat(v, '') FROM (SELECT v FROM applied ORDER BY rowid)"), 123);
	db_close(db);

	/* Reopen with the same list: nothing runs again. */
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS4, 3, &db, &why), 0);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM applied"), 3);
	db_close(db);

	/* A newer program: only migration 4 runs. */
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS4, 4, &db, &why), 0);
	CU_ASSERT_EQUAL(q_int(db, "SELECT group_concat(v, '') FROM (SELECT v FROM applied ORDER BY rowid)"), 1234);
	CU_ASSERT_EQUAL(db_schema_version(db, &v), 0);
	CU_ASSERT_EQUAL(v, 4);
	db_close(db);

	/* Migration lists the program must refuse, before creating a file. */
	char p2[TU_PATH_MAX];
	snprintf(p2, sizeof p2, "%s", tu_path(dir, "bad.db"));
	static const struct db_migration dup[] = { { 1, "SELECT 1", "a" }, { 1, "SELECT 1", "b" } };
	static const struct db_migration down[] = { { 2, "SELECT 1", "a" }, { 1, "SELECT 1", "b" } };
	static const struct db_migration zero[] = { { 0, "SELECT 1", "a" } };
	static const struct db_migration nosql[] = { { 1, NULL, "a" } };
	CU_ASSERT_EQUAL(db_open(p2, dup, 2, &db, &why), ERR_INVAL);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(db_open(p2, down, 2, &db, &why), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, "ascending"));
	CU_ASSERT_EQUAL(db_open(p2, zero, 1, &db, &why), ERR_INVAL);
	CU_ASSERT_EQUAL(db_open(p2, nosql, 1, &db, &why), ERR_INVAL);
	CU_ASSERT_EQUAL(db_open(p2, NULL, 1, &db, &why), ERR_INVAL);
	CU_ASSERT_EQUAL(db_open("", MIGS4, 1, &db, &why), ERR_INVAL);
	CU_ASSERT_FALSE(exists(p2));

	tu_rmrf(dir);
	free(dir);
}

static void test_failing_migration(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "f.db"));
	static const struct db_migration migs[] = {
		{ 1, "CREATE TABLE a(x)", "table a" },
		{ 2, "CREATE TABLE z(x); INSERT INTO z VALUES(1); INSERT INTO nosuch VALUES(1)", "broken step" },
		{ 3, "CREATE TABLE c(x)", "table c" },
	};
	struct db *db = NULL;
	struct db_open_error why;
	CU_ASSERT_EQUAL(db_open(path, migs, 3, &db, &why), ERR_DB);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(why.version, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, "migration 2 (broken step) failed"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, "nosuch"));

	/* The first migration stayed, the broken one left nothing behind. */
	CU_ASSERT_EQUAL_FATAL(db_open(path, migs, 1, &db, &why), 0);
	int v = -1;
	CU_ASSERT_EQUAL(db_schema_version(db, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'a'"), 1);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'z'"), 0);
	db_close(db);

	/* A migration that commits on its own is refused. */
	static const struct db_migration selfcommit[] = {
		{ 1, "CREATE TABLE a(x)", "table a" },
		{ 2, "CREATE TABLE y(x); COMMIT", "commits itself" },
	};
	CU_ASSERT_EQUAL(db_open(path, selfcommit, 2, &db, &why), ERR_INVAL);
	CU_ASSERT_EQUAL(why.version, 2);

	tu_rmrf(dir);
	free(dir);
}

static void test_newer_schema_refused(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "n.db"));
	struct db_migration migs[7];
	for (int i = 0; i < 7; i++)
		migs[i] = (struct db_migration){ i + 1, i == 0 ? "CREATE TABLE t(x)" : "INSERT INTO t VALUES(1)", "step" };
	struct db *db = NULL;
	struct db_open_error why;
	CU_ASSERT_EQUAL_FATAL(db_open(path, migs, 7, &db, &why), 0);
	db_close(db);

	size_t len_before = 0, len_after = 0;
	uint64_t h_before = file_hash(path, &len_before);
	CU_ASSERT_NOT_EQUAL(h_before, 0);
	CU_ASSERT_EQUAL(db_open(path, migs, 5, &db, &why), ERR_VERSION);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text,
		"made by a newer Lifeline: schema 7, this program knows up to 5; upgrade the program"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, path));
	uint64_t h_after = file_hash(path, &len_after);
	CU_ASSERT_EQUAL(h_before, h_after);
	CU_ASSERT_EQUAL(len_before, len_after);
	char side[TU_PATH_MAX + 8];
	snprintf(side, sizeof side, "%s-wal", path);
	CU_ASSERT_FALSE(exists(side));  /* no log left behind either */
	/* No migrations at all: knows up to 0. */
	CU_ASSERT_EQUAL(db_open(path, NULL, 0, &db, &why), ERR_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, "schema 7, this program knows up to 0"));
	CU_ASSERT_EQUAL(file_hash(path, NULL), h_before);

	tu_rmrf(dir);
	free(dir);
}

/* ---- files, pragmas ---------------------------------------------------- */

static void test_file_mode(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX], wal[TU_PATH_MAX + 8];
	snprintf(path, sizeof path, "%s", tu_path(dir, "mode.db"));
	snprintf(wal, sizeof wal, "%s-wal", path);

	mode_t old = umask(0);  /* the widest umask: SQLite alone would give 0644 */
	struct db *db = NULL;
	int rc = db_open(path, MIGS4, 1, &db, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_EQUAL(file_mode(path), 0600);
		CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO applied VALUES(9)"), 0);
		CU_ASSERT_TRUE(exists(wal));
		CU_ASSERT_EQUAL(file_mode(wal), 0600);
		db_close(db);
	}
	/* An existing file readable by others is tightened. */
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	rc = db_open(path, MIGS4, 1, &db, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(file_mode(path), 0600);
	if (rc == 0)
		db_close(db);
	/* A umask that would take the owner's write bit away: still 0600. */
	umask(0277);
	char p2[TU_PATH_MAX];
	snprintf(p2, sizeof p2, "%s", tu_path(dir, "narrow.db"));
	rc = db_open(p2, MIGS4, 1, &db, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(file_mode(p2), 0600);
	if (rc == 0)
		db_close(db);
	umask(old);

	/* Not a regular file. */
	CU_ASSERT_EQUAL(db_open(dir, MIGS4, 1, &db, NULL), ERR_INVAL);
	/* A directory that does not exist. */
	CU_ASSERT_EQUAL(db_open(tu_path(dir, "no/such.db"), MIGS4, 1, &db, NULL), ERR_NOTFOUND);

	tu_rmrf(dir);
	free(dir);
}

static void test_pragmas_and_garbage(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(tu_path(dir, "p.db"), MIGS4, 1, &db, NULL), 0);
	sqlite3_stmt *st = db_stmt(db, "PRAGMA journal_mode");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(db_step(db, st), DB_ROW);
	CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(st, 0), "wal");
	db_stmt_reset(st);
	CU_ASSERT_EQUAL(q_int(db, "PRAGMA synchronous"), 2);  /* FULL */
	CU_ASSERT_EQUAL(q_int(db, "PRAGMA foreign_keys"), 1);
	CU_ASSERT_EQUAL(q_int(db, "PRAGMA busy_timeout"), DB_BUSY_TIMEOUT_MS);
	CU_ASSERT_EQUAL(db_check(db), 0);
	db_close(db);

	/* A file that is not a database: refused, left alone. */
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	memcpy(junk, "this is not a database", 22);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "junk.db"));
	CU_ASSERT_EQUAL_FATAL(tu_write_file(path, junk, sizeof junk), 0);
	uint64_t h = file_hash(path, NULL);
	struct db_open_error why;
	CU_ASSERT_EQUAL(db_open(path, MIGS4, 1, &db, &why), ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(why.text, "not a database"));
	CU_ASSERT_EQUAL(file_hash(path, NULL), h);

	/* In memory, for other modules' tests. */
	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", MIGS4, 4, &db, NULL), 0);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM applied"), 4);
	db_close(db);
	db_close(NULL);

	tu_rmrf(dir);
	free(dir);
}

/* ---- transactions, cache, errors ---------------------------------------- */

static const struct db_migration MIGS_KV[] = {
	{ 1, "CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
	     "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
	     "CREATE TABLE child(id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES parent(id),"
	     " tag TEXT UNIQUE, n INTEGER CHECK (n >= 0))", "kv and fk" },
};

static void test_transactions(void)
{
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", MIGS_KV, 1, &db, NULL), 0);
	CU_ASSERT_FALSE(db_in_transaction(db));
	CU_ASSERT_EQUAL(db_commit(db), ERR_STATE);
	CU_ASSERT_EQUAL(db_rollback(db), ERR_STATE);

	CU_ASSERT_EQUAL(db_begin(db), 0);
	CU_ASSERT_TRUE(db_in_transaction(db));
	CU_ASSERT_EQUAL(db_begin(db), ERR_STATE);  /* no nesting */
	CU_ASSERT_PTR_NOT_NULL(strstr(db_last_error(db), "no nesting"));
	CU_ASSERT_TRUE(db_in_transaction(db));     /* the refusal changed nothing */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('a', 1)"), 0);
	CU_ASSERT_EQUAL(db_rollback(db), 0);
	CU_ASSERT_FALSE(db_in_transaction(db));
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM kv"), 0);

	CU_ASSERT_EQUAL(db_begin(db), 0);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('a', 1); INSERT INTO kv VALUES('b', 2)"), 0);
	CU_ASSERT_EQUAL(db_commit(db), 0);
	CU_ASSERT_FALSE(db_in_transaction(db));
	CU_ASSERT_EQUAL(q_int(db, "SELECT sum(v) FROM kv"), 3);

	/* A failed statement inside a transaction leaves it open for the
	 * caller to decide; rollback undoes the earlier statement. */
	CU_ASSERT_EQUAL(db_begin(db), 0);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('c', 3)"), 0);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('a', 9)"), ERR_DUP);
	CU_ASSERT_TRUE(db_in_transaction(db));
	CU_ASSERT_EQUAL(db_rollback(db), 0);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM kv"), 2);
	db_close(db);
}

static void test_stmt_cache(void)
{
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", MIGS_KV, 1, &db, NULL), 0);
	static const char *const SQL_ECHO = "SELECT ?1";
	sqlite3_stmt *a = db_stmt(db, SQL_ECHO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(db_bind_int64(db, a, 1, 42), 0);
	CU_ASSERT_EQUAL(db_step(db, a), DB_ROW);
	CU_ASSERT_EQUAL(sqlite3_column_int64(a, 0), 42);
	/* Same pointer: same statement, reset mid-result, bindings cleared. */
	sqlite3_stmt *b = db_stmt(db, SQL_ECHO);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(db_step(db, b), DB_ROW);
	CU_ASSERT_EQUAL(sqlite3_column_type(b, 0), SQLITE_NULL);
	CU_ASSERT_EQUAL(db_step(db, b), DB_DONE);

	/* Keyed by pointer: a copy of the text is another entry. */
	char copy[32];
	snprintf(copy, sizeof copy, "%s", SQL_ECHO);
	sqlite3_stmt *c = db_stmt(db, copy);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_PTR_NOT_EQUAL(c, a);
	/* The same buffer reused for other text is re-prepared, not served
	 * the old statement. */
	snprintf(copy, sizeof copy, "SELECT 7");
	sqlite3_stmt *d = db_stmt(db, copy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(db_step(db, d), DB_ROW);
	CU_ASSERT_EQUAL(sqlite3_column_int64(d, 0), 7);
	db_stmt_reset(d);

	/* Text, blob and null bindings round-trip; copies are taken. */
	static const char *const SQL_KINDS = "SELECT ?1, length(?2), typeof(?2), ?3 IS NULL, typeof(?4)";
	sqlite3_stmt *k = db_stmt(db, SQL_KINDS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	char text[8] = "héllo";
	CU_ASSERT_EQUAL(db_bind_text(db, k, 1, text, strlen(text)), 0);
	memset(text, 0, sizeof text);
	const uint8_t blob[3] = { 0, 1, 2 };
	CU_ASSERT_EQUAL(db_bind_blob(db, k, 2, blob, sizeof blob), 0);
	CU_ASSERT_EQUAL(db_bind_null(db, k, 3), 0);
	CU_ASSERT_EQUAL(db_bind_blob(db, k, 4, NULL, 0), 0);
	CU_ASSERT_EQUAL(db_bind_int64(db, k, 6, 1), ERR_INVAL);  /* no ?6 */
	CU_ASSERT_EQUAL(db_step(db, k), DB_ROW);
	CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(k, 0), "héllo");
	CU_ASSERT_EQUAL(sqlite3_column_int(k, 1), 3);
	CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(k, 2), "blob");
	CU_ASSERT_EQUAL(sqlite3_column_int(k, 3), 1);
	CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(k, 4), "blob");
	db_stmt_reset(k);

	/* Errors: bad SQL and several statements are not cached. */
	static const char *const SQL_BAD = "SELEKT 1";
	CU_ASSERT_PTR_NULL(db_stmt(db, SQL_BAD));
	CU_ASSERT_EQUAL(db_last_code(db), ERR_DB);
	CU_ASSERT_PTR_NOT_NULL(strstr(db_last_error(db), "SELEKT"));
	CU_ASSERT_PTR_NULL(db_stmt(db, SQL_BAD));
	CU_ASSERT_PTR_NULL(db_stmt(db, "SELECT 1; SELECT 2"));
	CU_ASSERT_EQUAL(db_last_code(db), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(db_stmt(db, "SELECT 1;  \n"));

	/* The cache is bounded. */
	static char many[DB_STMT_CACHE_MAX + 1][24];
	sqlite3_stmt *last = NULL;
	for (size_t i = 0; i < ARRAY_LEN(many); i++) {
		snprintf(many[i], sizeof many[i], "SELECT %zu", i);
		last = db_stmt(db, many[i]);
	}
	CU_ASSERT_PTR_NULL(last);
	CU_ASSERT_EQUAL(db_last_code(db), ERR_FULL);
	db_close(db);
}

static void test_constraints(void)
{
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(":memory:", MIGS_KV, 1, &db, NULL), 0);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('a', 1)"), 0);
	CU_ASSERT_EQUAL(db_changes(db), 1);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('a', 2)"), ERR_DUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(db_last_error(db), "UNIQUE"));

	static const char *const SQL_INS = "INSERT INTO kv(k, v) VALUES(?1, ?2)";
	sqlite3_stmt *st = db_stmt(db, SQL_INS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(db_bind_text(db, st, 1, "a", 1), 0);
	CU_ASSERT_EQUAL(db_bind_int64(db, st, 2, 5), 0);
	CU_ASSERT_EQUAL(db_step(db, st), ERR_DUP);
	st = db_stmt(db, SQL_INS);
	CU_ASSERT_EQUAL(db_bind_text(db, st, 1, "b", 1), 0);
	CU_ASSERT_EQUAL(db_bind_int64(db, st, 2, 5), 0);
	CU_ASSERT_EQUAL(db_step(db, st), DB_DONE);

	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO parent VALUES(1)"), 0);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO child VALUES(1, 1, 't', 0)"), 0);
	CU_ASSERT_EQUAL(db_last_insert_id(db), 1);
	/* Integer primary key and UNIQUE column: duplicates. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO child VALUES(1, 1, 'u', 0)"), ERR_DUP);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO child VALUES(2, 1, 't', 0)"), ERR_DUP);
	/* Other constraints are bad rows, not duplicates: foreign keys are on. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO child VALUES(3, 99, 'v', 0)"), ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(db_last_error(db), "FOREIGN KEY"));
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO kv VALUES('z', NULL)"), ERR_INVAL);
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO child VALUES(4, 1, 'w', -1)"), ERR_INVAL);
	/* Bad SQL at run time. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO nosuch VALUES(1)"), ERR_DB);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM child"), 1);
	db_close(db);
}

static void test_busy(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "busy.db"));
	struct db *a = NULL, *b = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_KV, 1, &a, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_KV, 1, &b, NULL), 0);
	enum { SHORT_MS = 100, GENEROUS_MS = 3000 };
	CU_ASSERT_EQUAL(db_set_busy_timeout(b, SHORT_MS), 0);
	CU_ASSERT_EQUAL(db_set_busy_timeout(b, -1), ERR_INVAL);

	CU_ASSERT_EQUAL_FATAL(db_begin(a), 0);
	CU_ASSERT_EQUAL(db_exec(a, "INSERT INTO kv VALUES('a', 1)"), 0);
	uint64_t t0 = tu_now_ms();
	CU_ASSERT_EQUAL(db_begin(b), ERR_AGAIN);
	uint64_t waited = tu_now_ms() - t0;
	CU_ASSERT(waited >= SHORT_MS - 10);   /* it did wait for the lock */
	CU_ASSERT(waited < GENEROUS_MS);      /* and gave up */
	CU_ASSERT_FALSE(db_in_transaction(b));
	CU_ASSERT_EQUAL(db_exec(b, "INSERT INTO kv VALUES('b', 2)"), ERR_AGAIN);
	/* WAL: the reader is not blocked and sees the last commit only. */
	CU_ASSERT_EQUAL(q_int(b, "SELECT count(*) FROM kv"), 0);
	CU_ASSERT_EQUAL(db_commit(a), 0);
	CU_ASSERT_EQUAL(db_begin(b), 0);
	CU_ASSERT_EQUAL(db_exec(b, "INSERT INTO kv VALUES('b', 2)"), 0);
	CU_ASSERT_EQUAL(db_commit(b), 0);
	CU_ASSERT_EQUAL(q_int(a, "SELECT count(*) FROM kv"), 2);
	db_close(b);
	db_close(a);
	tu_rmrf(dir);
	free(dir);
}

/* ---- damage, backup ------------------------------------------------------- */

static const struct db_migration MIGS_T[] = {
	{ 1, "CREATE TABLE t(id INTEGER PRIMARY KEY, pad TEXT NOT NULL);"
	     "CREATE TABLE counter(n INTEGER NOT NULL); INSERT INTO counter VALUES(0)", "rows" },
};

static void test_check_and_backup(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX], bak[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "c.db"));
	snprintf(bak, sizeof bak, "%s", tu_path(dir, "c.bak"));
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_T, 1, &db, NULL), 0);
	CU_ASSERT_EQUAL(db_begin(db), 0);
	CU_ASSERT_EQUAL(db_exec(db, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000)"
	                            " INSERT INTO t SELECT i, printf('%0100d', i) FROM s"), 0);
	CU_ASSERT_EQUAL(db_commit(db), 0);
	CU_ASSERT_EQUAL(db_check(db), 0);

	/* Backup: a consistent 0600 copy that opens with the same schema. */
	mode_t old = umask(0);
	CU_ASSERT_EQUAL(db_backup(db, bak), 0);
	umask(old);
	CU_ASSERT_EQUAL(file_mode(bak), 0600);
	CU_ASSERT_EQUAL(db_backup(db, bak), ERR_DUP);  /* never overwrites */
	CU_ASSERT_EQUAL(db_begin(db), 0);
	CU_ASSERT_EQUAL(db_backup(db, tu_path(dir, "x.bak")), ERR_STATE);
	CU_ASSERT_EQUAL(db_rollback(db), 0);
	struct db *copy = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(bak, MIGS_T, 1, &copy, NULL), 0);
	CU_ASSERT_EQUAL(q_int(copy, "SELECT count(*) FROM t"), 2000);
	CU_ASSERT_EQUAL(db_check(copy), 0);
	db_close(copy);

	int64_t root = q_int(db, "SELECT rootpage FROM sqlite_master WHERE name = 't'");
	int64_t page = q_int(db, "PRAGMA page_size");
	db_close(db);
	CU_ASSERT_FATAL(root > 1 && page > 0);

	/* Damage the table's root page: an invalid b-tree page type. */
	FILE *f = fopen(path, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fseek(f, (long)((root - 1) * page), SEEK_SET), 0);
	CU_ASSERT_EQUAL(fputc(0x01, f), 0x01);
	CU_ASSERT_EQUAL(fclose(f), 0);
	int rc = db_open(path, MIGS_T, 1, &db, NULL);
	CU_ASSERT_EQUAL(rc, 0);  /* page 1 is intact: it opens ... */
	if (rc == 0) {
		CU_ASSERT_EQUAL(db_check(db), ERR_DB);  /* ... but the check finds it */
		CU_ASSERT_PTR_NOT_NULL(strstr(db_last_error(db), "quick_check"));
		db_close(db);
	}
	tu_rmrf(dir);
	free(dir);
}

/* ---- durability under SIGKILL ------------------------------------------- */

#define DUR_RUNS 20
#define DUR_ROWS 60              /* rows the child tries to commit */
#define DUR_TIMER_MAX_US 300     /* phase KILL_TIMER: latest kill after arming */

/* Where the child dies, at its seeded row k. */
enum kill_phase {
	KILL_BEFORE_BEGIN,       /* between transactions */
	KILL_MID_TRANSACTION,    /* row written, not committed */
	KILL_TIMER,              /* a timer armed just before COMMIT: inside
	                          * the commit's write/fsync, or soon after */
	KILL_BEFORE_REPORT,      /* committed, not yet reported */
	KILL_PHASES
};

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void die_now(int sig)
{
	(void)sig;
	kill(getpid(), SIGKILL);
}

/* The child: commit rows one per transaction, report each id after its
 * commit returned, and die by SIGKILL at row kill_at in phase.  Never
 * returns. */
static void durability_child(const char *path, int wfd, int64_t kill_at, enum kill_phase phase, uint32_t seed)
{
	struct db *db = NULL;
	if (db_open(path, MIGS_T, 1, &db, NULL) != 0)
		_exit(3);
	uint32_t s = seed;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = die_now;
	sigaction(SIGALRM, &sa, NULL);
	static const char *const SQL_INS = "INSERT INTO t(id, pad) VALUES(?1, ?2)";
	static const char *const SQL_CNT = "UPDATE counter SET n = ?1";
	for (int64_t id = 1; id <= DUR_ROWS; id++) {
		bool here = id == kill_at;
		if (here && phase == KILL_BEFORE_BEGIN)
			kill(getpid(), SIGKILL);
		char pad[64];
		snprintf(pad, sizeof pad, "row %lld seed %u", (long long)id, seed);
		if (db_begin(db) != 0)
			_exit(4);
		sqlite3_stmt *st = db_stmt(db, SQL_INS);
		if (!st || db_bind_int64(db, st, 1, id) != 0 ||
		    db_bind_text(db, st, 2, pad, strlen(pad)) != 0 || db_step(db, st) != DB_DONE)
			_exit(5);
		st = db_stmt(db, SQL_CNT);
		if (!st || db_bind_int64(db, st, 1, id) != 0 || db_step(db, st) != DB_DONE)
			_exit(6);
		if (here && phase == KILL_MID_TRANSACTION)
			kill(getpid(), SIGKILL);
		if (here && phase == KILL_TIMER) {
			struct itimerval it;
			memset(&it, 0, sizeof it);
			it.it_value.tv_usec = 1 + (suseconds_t)(xorshift32(&s) % DUR_TIMER_MAX_US);
			setitimer(ITIMER_REAL, &it, NULL);
		}
		if (db_commit(db) != 0)
			_exit(7);
		if (here && phase == KILL_BEFORE_REPORT)
			kill(getpid(), SIGKILL);
		if (write(wfd, &id, sizeof id) != (ssize_t)sizeof id)
			_exit(8);
	}
	kill(getpid(), SIGKILL);  /* a timer that has not fired yet */
	_exit(9);
}

static void test_durability_sigkill(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	int cut_short = 0;
	for (int run = 0; run < DUR_RUNS; run++) {
		uint32_t seed = 0x9e3779b9u ^ (uint32_t)(run * 7919 + 1);
		uint32_t s = seed;
		int64_t kill_at = 1 + (int64_t)(xorshift32(&s) % DUR_ROWS);
		enum kill_phase phase = (enum kill_phase)(run % KILL_PHASES);
		char name[32], path[TU_PATH_MAX];
		snprintf(name, sizeof name, "d%d.db", run);
		snprintf(path, sizeof path, "%s", tu_path(dir, name));
		int fds[2];
		CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
		fflush(NULL);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			durability_child(path, fds[1], kill_at, phase, s);
		}
		close(fds[1]);
		int64_t reported[DUR_ROWS + 1];
		size_t nrep = 0;
		uint8_t buf[sizeof reported];
		size_t have = 0;
		for (;;) {
			ssize_t r = read(fds[0], buf + have, sizeof buf - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			have += (size_t)r;
			if (have == sizeof buf)
				break;
		}
		close(fds[0]);
		for (size_t off = 0; off + sizeof(int64_t) <= have; off += sizeof(int64_t))
			memcpy(&reported[nrep++], buf + off, sizeof(int64_t));
		int status = 0;
		CU_ASSERT_EQUAL(tu_wait_exit(pid, 10000, &status), 0);
		CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		if (nrep < DUR_ROWS)
			cut_short++;
		/* Phases other than the timer die at a known point. */
		if (phase == KILL_BEFORE_BEGIN || phase == KILL_MID_TRANSACTION)
			CU_ASSERT_EQUAL(nrep, (size_t)(kill_at - 1));
		if (phase == KILL_BEFORE_REPORT)
			CU_ASSERT_EQUAL(nrep, (size_t)(kill_at - 1));
		if (phase == KILL_TIMER)
			CU_ASSERT(nrep >= (size_t)(kill_at - 1));

		struct db *db = NULL;
		CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_T, 1, &db, NULL), 0);
		CU_ASSERT_EQUAL(db_check(db), 0);
		int64_t count = q_int(db, "SELECT count(*) FROM t");
		int64_t maxid = q_int(db, "SELECT coalesce(max(id), 0) FROM t");
		int64_t counter = q_int(db, "SELECT n FROM counter");
		static const char *const SQL_HAS = "SELECT count(*) FROM t WHERE id = ?1";
		size_t missing = 0;
		for (size_t i = 0; i < nrep; i++) {
			sqlite3_stmt *st = db_stmt(db, SQL_HAS);
			CU_ASSERT_PTR_NOT_NULL_FATAL(st);
			CU_ASSERT_EQUAL(db_bind_int64(db, st, 1, reported[i]), 0);
			CU_ASSERT_EQUAL(db_step(db, st), DB_ROW);
			if (sqlite3_column_int64(st, 0) != 1)
				missing++;
			db_stmt_reset(st);
		}
		/* Every acknowledged row is there; at most the one commit whose
		 * report the kill cut off is there unreported; transactions are
		 * atomic (the counter moved with its row). */
		CU_ASSERT_EQUAL(missing, 0);
		CU_ASSERT(count == (int64_t)nrep || count == (int64_t)nrep + 1);
		if (phase == KILL_BEFORE_BEGIN || phase == KILL_MID_TRANSACTION)
			CU_ASSERT_EQUAL(count, (int64_t)nrep);      /* nothing half-done */
		if (phase == KILL_BEFORE_REPORT)
			CU_ASSERT_EQUAL(count, (int64_t)nrep + 1);  /* the commit held */
		CU_ASSERT_EQUAL(maxid, count);
		CU_ASSERT_EQUAL(counter, count);
		if (missing != 0 || counter != count)
			fprintf(stderr, "durability run %d seed %#x: reported %zu rows %lld counter %lld\n",
			        run, seed, nrep, (long long)count, (long long)counter);
		db_close(db);
	}
	/* Every run was cut short except timer runs whose timer fired late. */
	CU_ASSERT(cut_short >= DUR_RUNS - DUR_RUNS / KILL_PHASES);
	fprintf(stderr, "  [durability: %d of %d runs killed mid-stream] ", cut_short, DUR_RUNS);
	tu_rmrf(dir);
	free(dir);
}

/* A kill -9 in the middle of a long migration leaves the previous version,
 * and the next start applies the migration whole. */
#define MIG_KILL_ROWS 200000
#define MIG_KILL_AFTER_MS 30
static const struct db_migration MIGS_HEAVY[] = {
	{ 1, "CREATE TABLE a(x)", "small" },
	{ 2, "CREATE TABLE big(i INTEGER PRIMARY KEY, s TEXT);"
	     "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 200000)"
	     " INSERT INTO big SELECT i, printf('%040d', i) FROM r;"
	     "INSERT INTO a VALUES(2)", "heavy" },
};

static void test_migration_killed(void)
{
	char *dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char path[TU_PATH_MAX];
	snprintf(path, sizeof path, "%s", tu_path(dir, "k.db"));
	struct db *db = NULL;
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_HEAVY, 1, &db, NULL), 0);
	db_close(db);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = die_now;
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it;
		memset(&it, 0, sizeof it);
		it.it_value.tv_usec = MIG_KILL_AFTER_MS * 1000;
		setitimer(ITIMER_REAL, &it, NULL);
		if (db_open(path, MIGS_HEAVY, 2, &db, NULL) == 0)
			_exit(0);  /* finished before the kill: the parent fails */
		_exit(1);
	}
	int status = 0;
	CU_ASSERT_EQUAL(tu_wait_exit(pid, 60000, &status), 0);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* An older program can still open it: the version did not move. */
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_HEAVY, 1, &db, NULL), 0);
	int v = -1;
	CU_ASSERT_EQUAL(db_schema_version(db, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'big'"), 0);
	CU_ASSERT_EQUAL(db_check(db), 0);
	db_close(db);
	CU_ASSERT_EQUAL_FATAL(db_open(path, MIGS_HEAVY, 2, &db, NULL), 0);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM big"), MIG_KILL_ROWS);
	CU_ASSERT_EQUAL(q_int(db, "SELECT count(*) FROM a"), 1);
	db_close(db);
	tu_rmrf(dir);
	free(dir);
}

static int saved_level;
/* The migrations' info lines and the expected mode warnings would
 * drown the test output. */
static int quiet_logs(void)
{
	saved_level = log_level_current;
	log_set_level(LOG_LVL_ERROR);
	return 0;
}

static int restore_logs(void)
{
	log_set_level((enum log_level)saved_level);
	return 0;
}

void suite_db(void);
void suite_db(void)
{
	CU_pSuite s = CU_add_suite("db", quiet_logs, restore_logs);
	CU_add_test(s, "migrations applied once and in order", test_migrations_once_in_order);
	CU_add_test(s, "failing migration rolls back and is named", test_failing_migration);
	CU_add_test(s, "newer schema refused, file unchanged", test_newer_schema_refused);
	CU_add_test(s, "file mode 0600 whatever the umask", test_file_mode);
	CU_add_test(s, "pragmas; not-a-database refused", test_pragmas_and_garbage);
	CU_add_test(s, "transactions, no nesting", test_transactions);
	CU_add_test(s, "statement cache", test_stmt_cache);
	CU_add_test(s, "constraints -> ERR_DUP / ERR_INVAL", test_constraints);
	CU_add_test(s, "busy -> ERR_AGAIN within the timeout", test_busy);
	CU_add_test(s, "quick_check finds damage; backup", test_check_and_backup);
	CU_add_test(s, "SIGKILL loses no acknowledged commit", test_durability_sigkill);
	CU_add_test(s, "SIGKILL mid-migration leaves the previous version", test_migration_killed);
}
