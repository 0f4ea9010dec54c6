/*
 * db.h — the small SQLite helper both daemons' stores build on.
 *
 * One struct db is one connection to one database file.  db_open() makes
 * the file (mode 0600 whatever the umask), sets the connection up for
 * durability and applies the program's versioned schema migrations.  The
 * helpers below keep SQLite's result codes inside common/db.c: every
 * function returns 0 or a negative enum err (proto/err.h), and
 * db_last_error() gives the text of the last failure.
 *
 * What "committed" means here.  The connection runs with
 *   journal_mode = WAL      readers never block the writer, and a crash
 *                           leaves at worst an uncheckpointed log that the
 *                           next open replays;
 *   synchronous  = FULL     the write-ahead log is fsync'd at EVERY commit.
 * Why FULL and not NORMAL: in WAL mode, NORMAL syncs the log only at
 * checkpoints, so a transaction whose COMMIT has returned can still be lost
 * on power loss (the last commits vanish on the next open; the database
 * stays consistent, just older).  Lifeline tells a crew member "queued" and
 * tells a vessel "accepted" only after the commit returns (DESIGN
 * invariant 1: nothing acknowledged is lost), so a returned commit must
 * survive a power cut: when db_commit() returns 0 the data is on stable
 * storage.  The price is one fsync per commit, which is nothing next to a
 * satellite round trip.  foreign_keys = ON; busy_timeout = DB_BUSY_TIMEOUT_MS.
 *
 * Not thread-safe: one connection belongs to one thread (Lifeline has one).
 */
#ifndef LIFELINE_COMMON_DB_H
#define LIFELINE_COMMON_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "proto/err.h"

#define DB_ERROR_BYTES 320u        /* bytes of error text kept, NUL included */
#define DB_BUSY_TIMEOUT_MS 5000    /* default wait for another writer's lock */
#define DB_STMT_CACHE_MAX 256u     /* distinct cached statements per connection */
#define DB_FILE_MODE 0600          /* database, -wal and -shm files: owner only */

/* db_step() results besides a negative enum err. */
enum db_step_result { DB_DONE = 0, DB_ROW = 1 };

struct db;

/*
 * One schema step.  version: >= 1, strictly ascending in the array given
 * to db_open().  sql: one or more statements; it runs inside a transaction
 * that db_open() opens and commits, so it must not contain BEGIN, COMMIT,
 * ROLLBACK or PRAGMA foreign_keys.  what: a short human description
 * ("crew and contacts"), shown in logs and errors.
 */
struct db_migration {
	int version;
	const char *sql;
	const char *what;
};

/*
 * Why db_open() failed.  version: the migration that failed (0 if the
 * failure was not in a migration); text: a sentence for the operator.
 */
struct db_open_error {
	int version;
	char text[DB_ERROR_BYTES];
};

/*
 * Opens (creating if missing, mode DB_FILE_MODE, umask-independent; an
 * existing file with group or other permission bits is tightened to
 * DB_FILE_MODE with a warning) the database at path, sets WAL, synchronous
 * FULL, foreign keys and the busy timeout, and brings the schema up to date:
 * the version lives in PRAGMA user_version, and every migration with a
 * version above it runs, in order, in its own transaction together with the
 * user_version bump, so a crash mid-migration leaves the previous version.
 * A database whose version is above the last migration's was made by a newer
 * program: it is refused (ERR_VERSION) and not modified.  path ":memory:"
 * opens a private in-memory database (for tests; not durable).
 *
 * migs[0..n-1] and their strings are only read during the call.  why may be
 * NULL; on failure it says what went wrong, on success text is "".
 * Returns 0 and *out (caller owns it: db_close()), or ERR_INVAL (bad
 * arguments, migrations not strictly ascending), ERR_VERSION (newer schema),
 * ERR_IO, ERR_PERM, ERR_DB (not a database, corrupt, a migration's SQL
 * failed), ERR_AGAIN (another process held the write lock past the busy
 * timeout), ERR_NOMEM; *out is then NULL.
 */
int db_open(const char *path, const struct db_migration *migs, size_t n,
            struct db **out, struct db_open_error *why) LL_MUST_CHECK;

/*
 * Finalizes every cached statement and closes the connection.  An open
 * transaction is rolled back (with a warning: it is a caller bug).
 * db_close(NULL) does nothing.
 */
void db_close(struct db *db);

/* Sets how long a write waits for another connection's lock before giving
 * ERR_AGAIN.  ms >= 0.  Returns 0 or ERR_INVAL. */
int db_set_busy_timeout(struct db *db, int ms) LL_MUST_CHECK;

/* The schema version (PRAGMA user_version) into *version.  Returns 0 or a
 * negative enum err. */
int db_schema_version(struct db *db, int *version) LL_MUST_CHECK;

/*
 * Runs one or more SQL statements that return no rows the caller needs
 * (rows are discarded).  Returns 0 or a negative enum err: ERR_DUP for a
 * UNIQUE or PRIMARY KEY violation, ERR_INVAL for another constraint (NOT
 * NULL, CHECK, FOREIGN KEY), ERR_AGAIN if the database stayed locked for
 * the busy timeout, ERR_IO (disk full, I/O error), ERR_DB (bad SQL,
 * corruption) ...; the text is in db_last_error().
 */
int db_exec(struct db *db, const char *sql) LL_MUST_CHECK;

/*
 * Transactions: db_begin() starts one with BEGIN IMMEDIATE (takes the write
 * lock now, so a later write inside it never fails with ERR_AGAIN).  No
 * nesting: db_begin() inside a transaction, or db_commit()/db_rollback()
 * outside one, return ERR_STATE and change nothing.
 * db_commit() returning 0 means the transaction is durable (see above).  If
 * the commit fails, the transaction is rolled back before db_commit()
 * returns the error: after db_commit() there is never an open transaction.
 * db_rollback() discards the transaction; if SQLite already rolled it back
 * on an error, it just returns 0.
 */
int db_begin(struct db *db) LL_MUST_CHECK;
int db_commit(struct db *db) LL_MUST_CHECK;
int db_rollback(struct db *db) LL_MUST_CHECK;
/* Whether a transaction is open on this connection. */
bool db_in_transaction(struct db *db);

/*
 * The prepared statement for sql from the connection's cache, reset and
 * with its bindings cleared, ready to bind and step.  The cache is keyed
 * by the POINTER sql (pass a string literal or other string that lives as
 * long as the connection); a pointer seen before with different text is
 * re-prepared.  The connection owns the statement: do not finalize it; it
 * lives until db_close().  Returns NULL on error (bad SQL, more than
 * DB_STMT_CACHE_MAX distinct statements): see db_last_error() and
 * db_last_code().
 */
sqlite3_stmt *db_stmt(struct db *db, const char *sql) LL_MUST_CHECK;

/*
 * Steps st.  Returns DB_ROW (read the columns with sqlite3_column_*()),
 * DB_DONE, or a negative enum err as for db_exec().  On DB_DONE or an
 * error the statement is reset, so it holds no read snapshot; a caller that
 * stops reading rows early calls db_stmt_reset().
 */
int db_step(struct db *db, sqlite3_stmt *st) LL_MUST_CHECK;
/* Resets st (ends its read snapshot) and clears its bindings. */
void db_stmt_reset(sqlite3_stmt *st);

/*
 * Binding helpers; idx is 1-based as in SQLite.  Text and blobs are copied,
 * so the caller's buffer may go away at once.  Returns 0, ERR_TOOBIG (len
 * over INT_MAX), ERR_INVAL (idx out of range) or another enum err.
 */
int db_bind_int64(struct db *db, sqlite3_stmt *st, int idx, int64_t v) LL_MUST_CHECK;
int db_bind_text(struct db *db, sqlite3_stmt *st, int idx, const char *s, size_t len) LL_MUST_CHECK;
int db_bind_blob(struct db *db, sqlite3_stmt *st, int idx, const void *p, size_t len) LL_MUST_CHECK;
int db_bind_null(struct db *db, sqlite3_stmt *st, int idx) LL_MUST_CHECK;

/* Rowid of the last successful INSERT on this connection. */
int64_t db_last_insert_id(struct db *db);
/* Rows changed by the last INSERT, UPDATE or DELETE. */
int64_t db_changes(struct db *db);

/* Text of the last failure on this connection ("" if none yet); valid
 * until the next call on db.  Never NULL. */
const char *db_last_error(const struct db *db);
/* The enum err of the last failure (0 if none yet). */
int db_last_code(const struct db *db);

/*
 * Start-up check: PRAGMA quick_check (structure of every page and index;
 * linear in the file size).  Returns 0 if the database is sound, ERR_DB
 * with the first problem in db_last_error() if not, or another enum err if
 * the check could not run.
 */
int db_check(struct db *db) LL_MUST_CHECK;

/*
 * Writes a consistent, compacted copy of the database to dest_path (which
 * must not exist; created with DB_FILE_MODE, fsync'd with its directory)
 * while the daemon runs.  Not inside a transaction (ERR_STATE).  Returns 0,
 * ERR_DUP if dest_path exists, or another enum err.
 */
int db_backup(struct db *db, const char *dest_path) LL_MUST_CHECK;

#endif
