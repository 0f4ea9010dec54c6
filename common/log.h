/*
 * log.h — leveled logging to stderr (journald picks it up).
 *
 * The macros check the level before formatting.  log_bytes() writes bytes
 * escaped (printable ASCII as is, \r \n \\ and \xNN otherwise) so that a
 * modem or link transcript in the log can be replayed as a test input.
 * log_burst_check() logs at most once per burst of repeated events.
 * Lines are "ident[pid]: level: message" on stderr, one write(2) each,
 * without time stamps (journald adds them); control characters in a
 * message are printed as '?' so input cannot forge log lines.
 */
#ifndef LIFELINE_COMMON_LOG_H
#define LIFELINE_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_IO };

extern int log_level_current;

void log_set_level(enum log_level lvl);
/* "error|warn|info|debug|io" -> level; -1 if unknown. */
int log_level_parse(const char *name);
void log_set_ident(const char *ident);   /* program name in each line */
/* From now on, lines go to syslog(3) (LOG_DAEMON, with the pid) instead of
 * stderr: for a daemon that has left its terminal (common/daemon.h). */
void log_to_syslog(void);
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escaped bytes after a prefix, at LOG_LVL_IO. */
void log_bytes(const char *prefix, const uint8_t *p, size_t n);
/* Escapes p into out (NUL-terminated, truncated to cap at a whole escape
 * sequence; cap 0 writes nothing); returns out.  Printable ASCII stays as
 * is; \\ \r \n \t; every other byte \xNN (lower-case hex).  At most 4
 * output characters per input byte. */
char *log_escape(const uint8_t *p, size_t n, char *out, size_t cap);
/* The inverse of log_escape() (upper-case hex accepted too): decodes the
 * C string s into out.  Returns the byte count, ERR_INVAL on a bad escape,
 * or ERR_FULL if out is too small.  For replaying logged transcripts. */
ssize_t log_unescape(const char *s, uint8_t *out, size_t cap) LL_MUST_CHECK;

#define LOG_AT(lvl, ...) do { if ((int)(lvl) <= log_level_current) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) LOG_AT(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * Rate limiter for repeated events (bad frames from a noisy line): the first
 * event of a burst is logged, later ones only counted until quiet_ms passes
 * without one; the next log line then says how many were suppressed.  A
 * burst that never ends (a permanently noisy line) still gets one line per
 * LOG_BURST_REMIND_MS.  Zero-initialise the struct.
 */
#define LOG_BURST_REMIND_MS 60000u
struct log_burst { uint64_t last_ms; uint64_t suppressed; int active; uint64_t logged_ms; };
/* Returns 1 if the caller should log now (and *suppressed says how many
 * were swallowed since the last logged one), 0 to stay quiet. */
int log_burst_check(struct log_burst *b, uint64_t now_ms, uint64_t quiet_ms, uint64_t *suppressed);

#endif
