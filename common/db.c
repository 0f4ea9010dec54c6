/*
 * db.c — SQLite connection, schema migrations, transactions and a
 * statement cache for the vessel and shore stores.
 *
 * What it is for: both daemons keep everything they have acknowledged in
 * SQLite (DESIGN invariant 1).  This file is the one place that opens a
 * database, decides how durable a commit is, upgrades the schema, and turns
 * SQLite's result codes into enum err; the stores above it speak SQL and
 * enum err only.
 *
 * Invariants:
 *  - the database file is created by this file with mode DB_FILE_MODE
 *    (fchmod after open, so the umask cannot widen it) and its directory is
 *    fsync'd, so the new name survives a power cut.  SQLite gives the -wal
 *    and -shm files the main file's mode.
 *  - every connection runs journal_mode=WAL, synchronous=FULL and
 *    foreign_keys=ON (db.h explains why FULL): a commit that returned is on
 *    stable storage.
 *  - the schema version is PRAGMA user_version and moves only inside the
 *    transaction of the migration that needs it; a database newer than the
 *    program is refused before any statement that could write to it runs.
 *  - at most one transaction per connection, never nested; SQLite's own
 *    autocommit flag is the truth about whether one is open.  After
 *    db_commit() no transaction is open, whatever happened.
 *  - cached statements are owned here and finalized in db_close().
 *  - SQLite codes never leave this file: code_to_err() translates them.
 *
 * Failure behaviour: every function returns a negative enum err and leaves
 * a sentence in db_last_error(); nothing exits or aborts.  db_open() frees
 * everything it made on failure and says why in struct db_open_error.
 */
#include "common/db.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define MEMORY_PATH ":memory:"
#define PRIMARY_CODE_MASK 0xff     /* extended result code -> primary code */
#define PERM_GROUP_OTHER 077       /* permission bits nobody but the owner needs */
#define PERM_ALL 0777              /* every permission bit, for messages */
#define PRAGMA_SQL_BYTES 64u       /* "PRAGMA user_version = <int>" */
#define STMT_CACHE_FIRST 16u       /* first allocation of the statement cache */

struct cached_stmt {
	const char *key;           /* the caller's pointer: the cache key */
	char *text;                /* copy of the text, to catch a reused pointer */
	sqlite3_stmt *st;
};

struct db {
	sqlite3 *h;
	struct cached_stmt *cache;
	size_t ncache, capcache;
	int code;                  /* enum err of the last failure */
	char err[DB_ERROR_BYTES];  /* its text */
};

/* snprintf that truncates quietly: error text is cut, never overflowed. */
static void textf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

/* All of SQLite's result codes, as enum err.  The only translation table. */
static int code_to_err(int rc)
{
	switch (rc & PRIMARY_CODE_MASK) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:       /* another connection holds the lock */
	case SQLITE_LOCKED:
	case SQLITE_INTERRUPT:
	case SQLITE_SCHEMA:
	case SQLITE_PROTOCOL:
		return ERR_AGAIN;
	case SQLITE_CONSTRAINT:
		/* Only a uniqueness violation means "already there".  A failed
		 * foreign key or NOT NULL is a bad row, and a caller that took it
		 * for a duplicate would drop a message it never stored. */
		switch (rc) {
		case SQLITE_CONSTRAINT:
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
		case SQLITE_CONSTRAINT_ROWID:
			return ERR_DUP;
		default:
			return ERR_INVAL;
		}
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_NOLFS:
		return ERR_IO;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return ERR_PERM;
	case SQLITE_TOOBIG:
		return ERR_TOOBIG;
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return ERR_INVAL;
	case SQLITE_MISUSE:
		return ERR_STATE;
	case SQLITE_NOTFOUND:
		return ERR_NOTFOUND;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_ERROR:      /* bad SQL, missing table */
	default:
		return ERR_DB;
	}
}

static int errno_to_err(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:
		return ERR_PERM;
	case EEXIST:
		return ERR_DUP;
	case ENOENT:
	case ENOTDIR:
		return ERR_NOTFOUND;
	case ENOMEM:
		return ERR_NOMEM;
	case ENAMETOOLONG:
		return ERR_TOOBIG;
	default:
		return ERR_IO;
	}
}

/* Records a failure: code and "context: SQLite's message".  Returns code. */
static int fail_sqlite(struct db *db, int rc, const char *context)
{
	db->code = code_to_err(rc);
	if (db->code == 0)
		db->code = ERR_DB;
	textf(db->err, sizeof db->err, "%s: %s", context, sqlite3_errmsg(db->h));
	return db->code;
}

/* Records a failure of our own making.  Returns code. */
static int fail_text(struct db *db, int code, const char *text)
{
	db->code = code;
	textf(db->err, sizeof db->err, "%s", text);
	return code;
}

/* fsyncs the directory holding path, so a newly created name is durable. */
static int sync_parent_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash) {
		textf(dir, sizeof dir, ".");
	} else {
		size_t len = (size_t)(slash - path);
		if (len >= sizeof dir)
			return ERR_TOOBIG;
		if (len == 0)
			len = 1;  /* "/name": the root directory */
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno_to_err(errno);
	int rc = fsync(fd) == 0 ? 0 : errno_to_err(errno);
	close(fd);
	return rc;
}

/*
 * Creates path with DB_FILE_MODE if missing (umask-proof), or checks the
 * existing one is a regular file and tightens its permissions.  Text of a
 * failure into text.
 */
static int file_prepare(const char *path, char *text, size_t cap)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, DB_FILE_MODE);
	if (fd >= 0) {
		int rc = 0;
		if (fchmod(fd, DB_FILE_MODE) != 0 || fsync(fd) != 0)
			rc = errno_to_err(errno);
		close(fd);
		if (rc == 0)
			rc = sync_parent_dir(path);
		if (rc != 0) {
			textf(text, cap, "cannot create %s: %s", path, err_str(rc));
			unlink(path);
		}
		return rc;
	}
	if (errno != EEXIST) {
		int e = errno;
		textf(text, cap, "cannot create %s: %s", path, strerror(e));
		return errno_to_err(e);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		textf(text, cap, "cannot open %s: %s", path, strerror(e));
		return errno_to_err(e);
	}
	struct stat sb;
	int rc = 0;
	if (fstat(fd, &sb) != 0) {
		rc = errno_to_err(errno);
		textf(text, cap, "cannot stat %s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		rc = ERR_INVAL;
		textf(text, cap, "%s is not a regular file", path);
	} else if ((sb.st_mode & PERM_GROUP_OTHER) != 0) {
		log_warn("database %s had mode %03o; set to %03o (messages are private)",
		         path, (unsigned)(sb.st_mode & PERM_ALL), (unsigned)DB_FILE_MODE);
		if (fchmod(fd, DB_FILE_MODE) != 0) {
			rc = errno_to_err(errno);
			textf(text, cap, "cannot restrict the mode of %s: %s", path, strerror(errno));
		}
	}
	close(fd);
	return rc;
}

/* Runs a statement that yields one integer (a pragma) into *out. */
static int query_int(struct db *db, const char *sql, int *out)
{
	sqlite3_stmt *st = db_stmt(db, sql);
	if (!st)
		return db->code;
	int rc = db_step(db, st);
	if (rc < 0)
		return rc;
	if (rc != DB_ROW) {
		return fail_text(db, ERR_DB, "pragma returned no row");
	}
	*out = sqlite3_column_int(st, 0);
	db_stmt_reset(st);
	return 0;
}

static int check_migrations(const struct db_migration *migs, size_t n, char *text, size_t cap)
{
	if (n > 0 && !migs) {
		textf(text, cap, "no migration array");
		return ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (migs[i].version < 1 || !migs[i].sql) {
			textf(text, cap, "migration %zu: version must be >= 1 and sql set", i);
			return ERR_INVAL;
		}
		if (i > 0 && migs[i].version <= migs[i - 1].version) {
			textf(text, cap, "migrations not strictly ascending: %d after %d",
			         migs[i].version, migs[i - 1].version);
			return ERR_INVAL;
		}
	}
	return 0;
}

/* Applies one migration in its own transaction with the version bump. */
static int apply_migration(struct db *db, const char *path, const struct db_migration *m)
{
	const char *what = m->what ? m->what : "";
	char saved[DB_ERROR_BYTES];
	int rc = db_begin(db);
	if (rc < 0)
		goto fail;
	int now = 0;
	rc = query_int(db, "PRAGMA user_version", &now);
	if (rc < 0)
		goto fail;
	if (now >= m->version) {
		/* Another process applied it while we waited for the lock. */
		return db_rollback(db);
	}
	rc = db_exec(db, m->sql);
	if (rc < 0)
		goto fail;
	if (!db_in_transaction(db)) {
		rc = fail_text(db, ERR_INVAL, "its SQL ended the transaction (no BEGIN/COMMIT in migrations)");
		goto fail;
	}
	char sql[PRAGMA_SQL_BYTES];
	textf(sql, sizeof sql, "PRAGMA user_version = %d", m->version);
	rc = db_exec(db, sql);
	if (rc < 0)
		goto fail;
	rc = db_commit(db);
	if (rc < 0)
		goto fail;
	log_info("database %s: schema now %d (%s)", path, m->version, what);
	return 0;
fail:
	if (db_in_transaction(db))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	textf(saved, sizeof saved, "%s", db->err);
	textf(db->err, sizeof db->err, "migration %d (%s) failed, database left at the previous version: %s",
	         m->version, what, saved);
	db->code = rc;
	return rc;
}

/* Pragmas of every connection; see db.h for why each. */
static int configure(struct db *db, bool memory)
{
	sqlite3_stmt *st = db_stmt(db, "PRAGMA journal_mode = WAL");
	if (!st)
		return db->code;
	int rc = db_step(db, st);
	if (rc < 0)
		return rc;
	const char *mode = rc == DB_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	bool ok = mode && (strcmp(mode, "wal") == 0 || (memory && strcmp(mode, "memory") == 0));
	if (!ok) {
		char text[DB_ERROR_BYTES];
		textf(text, sizeof text, "cannot use WAL (journal mode is %s): put the database on a local file system",
		         mode ? mode : "unknown");
		db_stmt_reset(st);
		return fail_text(db, ERR_DB, text);
	}
	db_stmt_reset(st);
	rc = db_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
	if (rc < 0)
		return rc;
	int v = 0;
	rc = query_int(db, "PRAGMA synchronous", &v);
	if (rc < 0)
		return rc;
	enum { SYNCHRONOUS_FULL = 2 };
	if (v != SYNCHRONOUS_FULL)
		return fail_text(db, ERR_DB, "cannot set synchronous = FULL");
	rc = query_int(db, "PRAGMA foreign_keys", &v);
	if (rc < 0)
		return rc;
	if (v != 1)
		return fail_text(db, ERR_DB, "this SQLite has no foreign key support");
	return 0;
}

int db_open(const char *path, const struct db_migration *migs, size_t n,
            struct db **out, struct db_open_error *why)
{
	struct db_open_error dummy;
	if (!why)
		why = &dummy;
	why->version = 0;
	why->text[0] = '\0';
	if (!out || !path || !*path) {
		textf(why->text, sizeof why->text, "no database path");
		if (out)
			*out = NULL;
		return ERR_INVAL;
	}
	*out = NULL;
	int rc = check_migrations(migs, n, why->text, sizeof why->text);
	if (rc < 0)
		return rc;
	bool memory = strcmp(path, MEMORY_PATH) == 0;
	if (!memory) {
		rc = file_prepare(path, why->text, sizeof why->text);
		if (rc < 0)
			return rc;
	}
	struct db *db = calloc(1, sizeof *db);
	if (!db) {
		textf(why->text, sizeof why->text, "out of memory");
		return ERR_NOMEM;
	}
	/* The file exists now: no SQLITE_OPEN_CREATE, so SQLite cannot make
	 * one with its own default mode if it was removed meanwhile. */
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (memory ? SQLITE_OPEN_CREATE : 0);
	int src = sqlite3_open_v2(path, &db->h, flags, NULL);
	if (src != SQLITE_OK) {
		rc = db->h ? fail_sqlite(db, src, "cannot open database")
		           : fail_text(db, ERR_NOMEM, "cannot open database: out of memory");
		goto fail;
	}
	(void)sqlite3_extended_result_codes(db->h, 1);
	(void)sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);

	/* Read the version before anything that could write. */
	int version = 0;
	rc = query_int(db, "PRAGMA user_version", &version);
	if (rc < 0) {
		textf(why->text, sizeof why->text, "%s", sqlite3_errmsg(db->h));
		textf(db->err, sizeof db->err, "cannot read the schema version (is it a Lifeline database?): %s",
		      why->text);
		goto fail;
	}
	int known = n > 0 ? migs[n - 1].version : 0;
	if (version > known) {
		char text[DB_ERROR_BYTES];
		textf(text, sizeof text,
		         "%s was made by a newer Lifeline: schema %d, this program knows up to %d; upgrade the program",
		         path, version, known);
		rc = fail_text(db, ERR_VERSION, text);
		goto fail;
	}
	rc = configure(db, memory);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (migs[i].version <= version)
			continue;
		rc = apply_migration(db, path, &migs[i]);
		if (rc < 0) {
			why->version = migs[i].version;
			goto fail;
		}
	}
	*out = db;
	return 0;
fail:
	textf(why->text, sizeof why->text, "%s: %s", path, db->err);
	if (rc == ERR_VERSION)  /* its text already names the file */
		textf(why->text, sizeof why->text, "%s", db->err);
	db_close(db);
	return rc;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->ncache; i++) {
		sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].text);
	}
	free(db->cache);
	if (db->h) {
		if (!sqlite3_get_autocommit(db->h)) {
			log_warn("database closed inside a transaction: rolled back");
			(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		}
		/* _v2: never leaves the handle half-open if something still
		 * holds a statement; the close completes when it is finalized. */
		(void)sqlite3_close_v2(db->h);
	}
	free(db);
}

int db_set_busy_timeout(struct db *db, int ms)
{
	if (!db || ms < 0)
		return ERR_INVAL;
	int rc = sqlite3_busy_timeout(db->h, ms);
	return rc == SQLITE_OK ? 0 : fail_sqlite(db, rc, "busy timeout");
}

int db_schema_version(struct db *db, int *version)
{
	if (!db || !version)
		return ERR_INVAL;
	return query_int(db, "PRAGMA user_version", version);
}

int db_exec(struct db *db, const char *sql)
{
	if (!db || !sql)
		return ERR_INVAL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_sqlite(db, sqlite3_extended_errcode(db->h), "exec");
	return 0;
}

bool db_in_transaction(struct db *db)
{
	return db && db->h && !sqlite3_get_autocommit(db->h);
}

int db_begin(struct db *db)
{
	if (!db)
		return ERR_INVAL;
	if (db_in_transaction(db))
		return fail_text(db, ERR_STATE, "begin: a transaction is already open (no nesting)");
	int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_sqlite(db, sqlite3_extended_errcode(db->h), "begin");
	return 0;
}

int db_commit(struct db *db)
{
	if (!db)
		return ERR_INVAL;
	if (!db_in_transaction(db))
		return fail_text(db, ERR_STATE, "commit: no transaction is open");
	int rc = sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	rc = fail_sqlite(db, sqlite3_extended_errcode(db->h), "commit");
	if (db_in_transaction(db))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int db_rollback(struct db *db)
{
	if (!db)
		return ERR_INVAL;
	if (!db_in_transaction(db))
		return fail_text(db, ERR_STATE, "rollback: no transaction is open");
	int rc = sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail_sqlite(db, sqlite3_extended_errcode(db->h), "rollback");
	return 0;
}

static bool only_space(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* Prepares sql (exactly one statement) into *st. */
static int prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	const char *tail = NULL;
	*st = NULL;
	int rc = sqlite3_prepare_v2(db->h, sql, -1, st, &tail);
	if (rc != SQLITE_OK)
		return fail_sqlite(db, rc, "prepare");
	if (!*st)
		return fail_text(db, ERR_INVAL, "prepare: no statement in the SQL text");
	if (!only_space(tail)) {
		sqlite3_finalize(*st);
		*st = NULL;
		return fail_text(db, ERR_INVAL, "prepare: more than one statement (use db_exec)");
	}
	return 0;
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql)
{
	if (!db || !sql)
		return NULL;
	for (size_t i = 0; i < db->ncache; i++) {
		struct cached_stmt *c = &db->cache[i];
		if (c->key != sql)
			continue;
		if (strcmp(c->text, sql) == 0) {
			(void)sqlite3_reset(c->st);
			(void)sqlite3_clear_bindings(c->st);
			return c->st;
		}
		/* The pointer now holds other text: not a literal after all. */
		sqlite3_stmt *st;
		char *text = strdup(sql);
		if (!text) {
			fail_text(db, ERR_NOMEM, "statement cache: out of memory");
			return NULL;
		}
		if (prepare(db, sql, &st) < 0) {
			free(text);
			return NULL;
		}
		sqlite3_finalize(c->st);
		free(c->text);
		c->st = st;
		c->text = text;
		return st;
	}
	if (db->ncache >= DB_STMT_CACHE_MAX) {
		fail_text(db, ERR_FULL, "statement cache full: pass SQL as string literals");
		return NULL;
	}
	if (db->ncache == db->capcache) {
		size_t cap = db->capcache ? db->capcache * 2 : STMT_CACHE_FIRST;
		if (cap > DB_STMT_CACHE_MAX)
			cap = DB_STMT_CACHE_MAX;
		struct cached_stmt *grown = realloc(db->cache, cap * sizeof *grown);
		if (!grown) {
			fail_text(db, ERR_NOMEM, "statement cache: out of memory");
			return NULL;
		}
		db->cache = grown;
		db->capcache = cap;
	}
	char *text = strdup(sql);
	if (!text) {
		fail_text(db, ERR_NOMEM, "statement cache: out of memory");
		return NULL;
	}
	sqlite3_stmt *st;
	if (prepare(db, sql, &st) < 0) {
		free(text);
		return NULL;
	}
	db->cache[db->ncache++] = (struct cached_stmt){ .key = sql, .text = text, .st = st };
	return st;
}

int db_step(struct db *db, sqlite3_stmt *st)
{
	if (!db || !st)
		return ERR_INVAL;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		(void)sqlite3_reset(st);
		return DB_DONE;
	}
	int e = fail_sqlite(db, rc, "step");
	(void)sqlite3_reset(st);
	return e;
}

void db_stmt_reset(sqlite3_stmt *st)
{
	if (!st)
		return;
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

static int bind_result(struct db *db, int rc)
{
	return rc == SQLITE_OK ? 0 : fail_sqlite(db, rc, "bind");
}

int db_bind_int64(struct db *db, sqlite3_stmt *st, int idx, int64_t v)
{
	if (!db || !st)
		return ERR_INVAL;
	return bind_result(db, sqlite3_bind_int64(st, idx, v));
}

int db_bind_text(struct db *db, sqlite3_stmt *st, int idx, const char *s, size_t len)
{
	if (!db || !st || (!s && len > 0))
		return ERR_INVAL;
	if (len > INT_MAX)
		return fail_text(db, ERR_TOOBIG, "bind: text longer than INT_MAX");
	return bind_result(db, sqlite3_bind_text(st, idx, s ? s : "", (int)len, SQLITE_TRANSIENT));
}

int db_bind_blob(struct db *db, sqlite3_stmt *st, int idx, const void *p, size_t len)
{
	if (!db || !st || (!p && len > 0))
		return ERR_INVAL;
	if (len > INT_MAX)
		return fail_text(db, ERR_TOOBIG, "bind: blob longer than INT_MAX");
	/* A zero-length blob, not NULL: bind_zeroblob keeps "empty" distinct. */
	if (len == 0)
		return bind_result(db, sqlite3_bind_zeroblob(st, idx, 0));
	return bind_result(db, sqlite3_bind_blob(st, idx, p, (int)len, SQLITE_TRANSIENT));
}

int db_bind_null(struct db *db, sqlite3_stmt *st, int idx)
{
	if (!db || !st)
		return ERR_INVAL;
	return bind_result(db, sqlite3_bind_null(st, idx));
}

int64_t db_last_insert_id(struct db *db)
{
	return db ? (int64_t)sqlite3_last_insert_rowid(db->h) : 0;
}

int64_t db_changes(struct db *db)
{
	return db ? (int64_t)sqlite3_changes(db->h) : 0;
}

const char *db_last_error(const struct db *db)
{
	return db ? db->err : "no database";
}

int db_last_code(const struct db *db)
{
	return db ? db->code : ERR_INVAL;
}

int db_check(struct db *db)
{
	if (!db)
		return ERR_INVAL;
	sqlite3_stmt *st = db_stmt(db, "PRAGMA quick_check");
	if (!st)
		return db->code == ERR_DB || db->code == 0 ? ERR_DB : db->code;
	int rc = db_step(db, st);
	if (rc < 0)
		return rc;
	if (rc != DB_ROW)
		return fail_text(db, ERR_DB, "quick_check returned nothing");
	const char *first = (const char *)sqlite3_column_text(st, 0);
	if (first && strcmp(first, "ok") == 0) {
		db_stmt_reset(st);
		return 0;
	}
	char text[DB_ERROR_BYTES];
	textf(text, sizeof text, "quick_check: %s", first ? first : "(no text)");
	db_stmt_reset(st);
	return fail_text(db, ERR_DB, text);
}

int db_backup(struct db *db, const char *dest_path)
{
	if (!db || !dest_path || !*dest_path)
		return ERR_INVAL;
	if (db_in_transaction(db))
		return fail_text(db, ERR_STATE, "backup: not inside a transaction");
	char text[DB_ERROR_BYTES];
	/* VACUUM INTO accepts an existing empty file: make it ours, 0600. */
	int fd = open(dest_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, DB_FILE_MODE);
	if (fd < 0) {
		int e = errno;
		textf(text, sizeof text, "backup: cannot create %s: %s", dest_path, strerror(e));
		return fail_text(db, errno_to_err(e), text);
	}
	int rc = fchmod(fd, DB_FILE_MODE) == 0 ? 0 : errno_to_err(errno);
	close(fd);
	if (rc < 0) {
		textf(text, sizeof text, "backup: cannot set the mode of %s", dest_path);
		rc = fail_text(db, rc, text);
		goto fail;
	}
	sqlite3_stmt *st = db_stmt(db, "VACUUM INTO ?1");
	if (!st) {
		rc = db->code;
		goto fail;
	}
	rc = db_bind_text(db, st, 1, dest_path, strlen(dest_path));
	if (rc == 0)
		rc = db_step(db, st);
	db_stmt_reset(st);
	if (rc < 0)
		goto fail;
	/* VACUUM INTO does not sync its output: do it, then the name. */
	fd = open(dest_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		rc = errno_to_err(errno);
		if (fd >= 0)
			close(fd);
		textf(text, sizeof text, "backup: cannot sync %s", dest_path);
		rc = fail_text(db, rc, text);
		goto fail;
	}
	close(fd);
	rc = sync_parent_dir(dest_path);
	if (rc < 0) {
		textf(text, sizeof text, "backup: cannot sync the directory of %s", dest_path);
		rc = fail_text(db, rc, text);
		goto fail;
	}
	return 0;
fail:
	unlink(dest_path);
	return rc;
}
