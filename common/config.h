/*
 * config.h — the `key = value` configuration files of vesseld and shored.
 *
 * Both daemons describe their settings as a const schema: a table of
 * struct config_key, one entry per key, each saying where the value goes
 * in the daemon's own settings struct (offsetof), its type, its range, its
 * default (a string, parsed by the same code as the file) and a line of
 * help.  The same table drives parsing, defaults, refusals and the
 * commented sample printed by `--print-config`.
 *
 * File format (the operator's manual is the "Configuration files" section
 * of proto/PROTOCOL.md):
 *   - UTF-8 text, one `key = value` per line; an optional UTF-8 byte order
 *     mark at the start is skipped; CRLF line ends are accepted.
 *   - Blank lines and lines whose first non-blank character is '#' are
 *     comments; a '#' after whitespace starts a trailing comment.  A '#'
 *     inside a word (`tcp:host#1`) or inside quotes is part of the value.
 *   - Whitespace around keys and values is trimmed.  A value may be put in
 *     double quotes to keep '#', leading or trailing spaces, or to be
 *     empty; inside quotes \" is a quote and \\ a backslash (no other
 *     escapes).  Outside quotes a backslash is an ordinary character.
 *   - Keys are case-sensitive; each key at most once, except list keys,
 *     which may repeat up to their max_count (each line adds one item; the
 *     first line replaces the default).
 *   - A key not in the file gets its default; a required key must appear.
 *
 * Value types and what is stored at the key's offset:
 *   CONFIG_STRING    char[size]: text, 1..size-1 bytes (min: least length)
 *   CONFIG_PATH      char[size]: like a string; relative paths are taken
 *                    from the folder holding the file (config_load only)
 *   CONFIG_UINT      uint64_t: decimal whole number in [min, max]
 *   CONFIG_BYTES     uint64_t: 1048576, 1024k, 1M, 1G (k/M/G = 1024-based;
 *                    KiB/MiB/GiB also; "MB"/"kB" refused as ambiguous)
 *   CONFIG_BOOL      bool: yes/no, true/false, on/off, 1/0 (any case)
 *   CONFIG_DURATION  uint64_t milliseconds: 250ms, 30s, 15m, 2h, 1d, or a
 *                    plain number of seconds; [min, max] in milliseconds
 *   CONFIG_TZ        int32_t seconds east of UTC: +07:00, -03:30, Z, UTC;
 *                    from -12:00 to +14:00
 *   CONFIG_LOG_LEVEL int (enum log_level): error|warn|info|debug|io
 *   CONFIG_LINK      char[size]: a link spec accepted by link_spec_check()
 *   CONFIG_LIST      char[max_count][size] items, and a size_t count at
 *                    count_offset; each item is text like CONFIG_STRING
 * For the text types (string, path, link, list) control characters other
 * than tab are refused, and the optional check() callback may refuse a
 * value with its own reason.
 *
 * Failure behaviour: the first problem stops parsing; struct config_error
 * names the file, the line (0 when not about one line), the key, the kind
 * of problem and a message that says what would be accepted.  The output
 * struct is then in an unspecified but safe state (strings terminated,
 * counts within bounds).  Nothing here logs or exits.
 */
#ifndef LIFELINE_COMMON_CONFIG_H
#define LIFELINE_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/err.h"

#define CONFIG_LINE_MAX 1024u        /* bytes on one line, without its end */
#define CONFIG_FILE_MAX 65536u       /* bytes in a whole file */
#define CONFIG_KEY_MAX 64u           /* bytes in a key name */
#define CONFIG_KEYS_MAX 128u         /* entries in one schema */
#define CONFIG_MSG_MAX 1024u         /* struct config_error.msg, with NUL */
#define CONFIG_FILE_NAME_MAX 256u    /* struct config_error.file, with NUL */
#define CONFIG_TZ_MIN_S (-12 * 3600) /* -12:00, the westernmost zone in use */
#define CONFIG_TZ_MAX_S (14 * 3600)  /* +14:00, Line Islands */

enum config_type {
	CONFIG_STRING = 1,
	CONFIG_PATH,
	CONFIG_UINT,
	CONFIG_BYTES,
	CONFIG_BOOL,
	CONFIG_DURATION,
	CONFIG_TZ,
	CONFIG_LOG_LEVEL,
	CONFIG_LINK,
	CONFIG_LIST
};

/*
 * One key of a schema.  Tables are const and written with designated
 * initializers; unused fields stay zero.
 *   size        text types: bytes of the char array (value <= size-1
 *               bytes); list: bytes of one item.  Ignored otherwise.
 *   min, max    uint, bytes, duration: the accepted range (max 0 means no
 *               upper bound); text types: min is the least length in bytes.
 *   def         default as it would be written in the file; NULL: none
 *               (text empty, numbers 0, list empty, bool false, tz 0,
 *               log level error).  A required key has no default.
 *   example     optional: the value config_write_sample() writes for a
 *               required key (so a sample parses); NULL: the line is
 *               commented out and must be filled in.
 *   max_count   list: most lines (>= 1).
 *   count_offset list: offset of the size_t item count.
 *   check       optional, text types: returns 0 to accept, or nonzero and a
 *               reason (what is accepted) in why.
 */
struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	size_t size;
	uint64_t min;
	uint64_t max;
	const char *def;
	const char *example;
	bool required;
	size_t max_count;
	size_t count_offset;
	int (*check)(const char *value, char *why, size_t why_cap);
	const char *help;
};

enum config_problem {
	CONFIG_PROBLEM_NONE = 0,
	CONFIG_PROBLEM_UNKNOWN_KEY,    /* not in the schema (msg may suggest one) */
	CONFIG_PROBLEM_DUPLICATE,      /* non-list key again, or a list item twice */
	CONFIG_PROBLEM_TOO_MANY,       /* list key over max_count */
	CONFIG_PROBLEM_NO_EQUALS,      /* text that is not a comment and has no '=' */
	CONFIG_PROBLEM_EMPTY_KEY,      /* "= value" */
	CONFIG_PROBLEM_BAD_VALUE,      /* value not of the key's type */
	CONFIG_PROBLEM_RANGE,          /* a number outside [min, max] */
	CONFIG_PROBLEM_MISSING,        /* required key absent (line 0) */
	CONFIG_PROBLEM_LINE_TOO_LONG,  /* over CONFIG_LINE_MAX */
	CONFIG_PROBLEM_FILE_TOO_BIG,   /* over CONFIG_FILE_MAX (line 0) */
	CONFIG_PROBLEM_UNREADABLE,     /* open/read failed (line 0; msg has errno text) */
	CONFIG_PROBLEM_UTF8,           /* value is not valid UTF-8 */
	CONFIG_PROBLEM_NUL,            /* a NUL byte in the file */
	CONFIG_PROBLEM_SCHEMA          /* the schema itself is wrong (a program bug) */
};

/* Why parsing failed.  msg is the whole sentence, already prefixed with
 * "FILE:LINE: " (or "FILE: " for line 0), ready to print. */
struct config_error {
	enum config_problem problem;
	unsigned line;                         /* 1-based; 0: whole file */
	char file[CONFIG_FILE_NAME_MAX];
	char key[CONFIG_KEY_MAX + 1];          /* "" when no key is known */
	char msg[CONFIG_MSG_MAX];
};

/*
 * Checks a schema: names unique and well formed ([a-z0-9_.-], at most
 * CONFIG_KEY_MAX), sizes and ranges sensible, every default valid, no
 * required key with a default, at most CONFIG_KEYS_MAX keys.  The parsing
 * functions call it first.  Returns 0 or ERR_INVAL (err->problem is
 * CONFIG_PROBLEM_SCHEMA, err may be NULL).
 */
int config_schema_check(const struct config_key *schema, size_t nkeys,
			struct config_error *err) LL_MUST_CHECK;

/*
 * Sets every key of the schema in *out to its default (or the zero value
 * when it has none): text emptied, lists emptied then given their default
 * item.  Returns 0 or ERR_INVAL (bad schema, described in err, may be NULL).
 */
int config_apply_defaults(const struct config_key *schema, size_t nkeys, void *out,
			  struct config_error *err) LL_MUST_CHECK;

/*
 * Parses a whole file held in buf[0..len) (need not be NUL-terminated).
 * name is only used in messages.  Applies the defaults first, then every
 * line; relative paths are left as written.  *out is the caller's
 * settings struct; nothing is allocated.  Returns 0, ERR_CONFIG (problem
 * in the text), ERR_TOOBIG (len over CONFIG_FILE_MAX) or ERR_INVAL (bad
 * schema); err (may be NULL) says why.
 */
int config_parse_buf(const char *name, const void *buf, size_t len,
		     const struct config_key *schema, size_t nkeys, void *out,
		     struct config_error *err) LL_MUST_CHECK;

/*
 * Reads the file at path (a regular file of at most CONFIG_FILE_MAX
 * bytes) and parses it like config_parse_buf(); relative CONFIG_PATH
 * values (and defaults) are then taken from the folder holding the file.
 * Returns 0, ERR_IO (cannot open or read: err->msg has the errno text),
 * ERR_TOOBIG, ERR_CONFIG, ERR_INVAL, ERR_NOMEM.
 */
int config_load(const char *path, const struct config_key *schema, size_t nkeys, void *out,
		struct config_error *err) LL_MUST_CHECK;

/*
 * Writes a commented sample file: a header naming the program (title, may
 * be NULL) and the format rules, then every key with its help, type, range
 * and default, as an active line `key = default` (keys without a default:
 * the example of a required key, or a commented-out line).  Parsing the
 * output gives back the defaults (and examples).  Returns 0, ERR_IO (a
 * write failed) or ERR_INVAL (bad schema).
 */
int config_write_sample(FILE *f, const char *title, const struct config_key *schema,
			size_t nkeys) LL_MUST_CHECK;

/* What a value of the key must look like, e.g. "a duration: 250ms, 30s, 15m,
 * 2h, 1d or plain seconds, from 1s to 1d"; written into out (NUL-terminated,
 * truncated to cap).  Returns out. */
char *config_key_describe(const struct config_key *k, char *out, size_t cap);

/* Name of a type ("duration"); "?" for an unknown value. */
const char *config_type_name(enum config_type t);

/* Formats milliseconds in the largest unit that is exact ("90s", "15m",
 * "250ms", "0s") into out (truncated to cap).  Returns out. */
char *config_duration_format(uint64_t ms, char *out, size_t cap);

#endif
