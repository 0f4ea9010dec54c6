/*
 * log.h — leveled logging to stderr (journald picks it up).
 *
 * The macros check the level before formatting.  log_bytes() writes bytes
 * escaped (printable ASCII as is, \r \n \\ and \xNN otherwise) so that a
 * modem or link transcript in the log can be replayed as a test input.
 * log_burst() logs at most once per burst of repeated events.
 */
#ifndef LIFELINE_COMMON_LOG_H
#define LIFELINE_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_IO };

extern int log_level_current;

void log_set_level(enum log_level lvl);
/* "error|warn|info|debug|io" -> level; -1 if unknown. */
int log_level_parse(const char *name);
void log_set_ident(const char *ident);   /* program name in each line */
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escaped bytes after a prefix, at LOG_LVL_IO. */
void log_bytes(const char *prefix, const uint8_t *p, size_t n);
/* Escapes p into out (NUL-terminated, truncated to cap); returns out. */
char *log_escape(const uint8_t *p, size_t n, char *out, size_t cap);

#define LOG_AT(lvl, ...) do { if ((int)(lvl) <= log_level_current) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) LOG_AT(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * Rate limiter for repeated events (bad frames from a noisy line): the first
 * event of a burst is logged, later ones only counted until quiet_ms passes
 * without one; the next log line then says how many were suppressed.
 */
struct log_burst { uint64_t last_ms; uint64_t suppressed; int active; };
/* Returns 1 if the caller should log now (and *suppressed says how many
 * were swallowed since the last logged one), 0 to stay quiet. */
int log_burst_check(struct log_burst *b, uint64_t now_ms, uint64_t quiet_ms, uint64_t *suppressed);

#endif
