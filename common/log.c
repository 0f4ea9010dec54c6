/*
 * log.c — leveled logging to stderr, escaped byte transcripts, burst limits.
 *
 * What it is for: the daemons run under systemd, so a log line is just
 * "ident[pid]: level: message" on stderr; journald adds the time stamp.
 * Link and modem bytes are logged escaped (log_escape) in a form that
 * log_unescape() turns back into the same bytes, so a transcript copied out
 * of a log becomes a test input.  A noisy line (a wrong-speed modem) must
 * not flood the log: log_burst_check() lets one line through per burst.
 *
 * Invariants: one log_write() is one write(2) of one line, so lines from
 * several processes sharing a journal stream never interleave mid-line.  A
 * line never contains a control character (they become '?'), so hostile
 * text formatted into a message cannot forge further log lines.  Lines
 * longer than LOG_LINE_MAX are cut and end in "...".  log_escape() never
 * splits an escape sequence and always terminates its output.
 *
 * Failure behaviour: logging never fails its caller.  A failed or short
 * write to stderr is dropped (EINTR retried); there is nothing better to
 * do with a log line that cannot be written.
 */
#include "common/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048u          /* bytes in one line, newline included */
#define LOG_IDENT_MAX 32u           /* bytes of program name kept */
#define LOG_BYTES_PER_LINE 64u      /* input bytes per log_bytes() line */
#define LOG_ESCAPED_MAX 4u          /* "\xNN": escaped bytes per input byte */
#define LOG_ELLIPSIS "..."
#define ASCII_PRINT_MIN 0x20
#define ASCII_PRINT_MAX 0x7e
#define HEX_DIGITS "0123456789abcdef"
#define NIBBLE_BITS 4u
#define NIBBLE_MASK 0x0fu

int log_level_current = LOG_LVL_INFO;
static char ident[LOG_IDENT_MAX] = "lifeline";

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_IO] = "io",
};
#define LEVEL_COUNT (sizeof level_names / sizeof level_names[0])

void log_set_level(enum log_level lvl)
{
	int v = (int)lvl;
	if (v < (int)LOG_LVL_ERROR)
		v = LOG_LVL_ERROR;
	if (v > (int)LOG_LVL_IO)
		v = LOG_LVL_IO;
	log_level_current = v;
}

int log_level_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < LEVEL_COUNT; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_set_ident(const char *name)
{
	if (!name || !*name)
		name = "lifeline";
	const char *slash = strrchr(name, '/');   /* argv[0] may be a path */
	if (slash && slash[1])
		name = slash + 1;
	snprintf(ident, sizeof ident, "%s", name);
}

static bool use_syslog;

void log_to_syslog(void)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	use_syslog = true;
}

/* syslog priority of each level, in enum log_level order. */
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};

/* Writes all of buf to stderr, retrying on EINTR; drops it otherwise. */
static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

__attribute__((format(printf, 2, 0)))
static void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int v = (int)lvl;
	const char *name = v >= 0 && (size_t)v < LEVEL_COUNT ? level_names[v] : "?";
	int head = snprintf(line, sizeof line, "%s[%ld]: %s: ", ident, (long)getpid(), name);
	if (head < 0 || (size_t)head >= sizeof line)
		return;
	size_t room = sizeof line - (size_t)head - 1;   /* 1 for the newline */
	int body = vsnprintf(line + head, room + 1, fmt, ap);
	if (body < 0)
		body = 0;
	size_t len = (size_t)head;
	if ((size_t)body > room) {
		len += room;
		memcpy(line + len - strlen(LOG_ELLIPSIS), LOG_ELLIPSIS, strlen(LOG_ELLIPSIS));
	} else {
		len += (size_t)body;
	}
	while (len > (size_t)head && line[len - 1] == '\n')
		len--;
	for (size_t i = (size_t)head; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < ASCII_PRINT_MIN && c != '\t') || c == ASCII_PRINT_MAX + 1)
			line[i] = '?';
	}
	if (use_syslog) {               /* syslog adds ident, pid and time */
		line[len] = '\0';
		syslog(v >= 0 && (size_t)v < LEVEL_COUNT ? syslog_prio[v] : LOG_ERR, "%s: %s", name,
		       line + head);
		return;
	}
	line[len++] = '\n';
	write_all(line, len);
}

void log_write(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(lvl, fmt, ap);
	va_end(ap);
}

char *log_escape(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (!out || cap == 0)
		return out;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char esc[LOG_ESCAPED_MAX + 1];
		size_t k = 0;
		uint8_t c = p[i];
		switch (c) {
		case '\\': esc[k++] = '\\'; esc[k++] = '\\'; break;
		case '\r': esc[k++] = '\\'; esc[k++] = 'r'; break;
		case '\n': esc[k++] = '\\'; esc[k++] = 'n'; break;
		case '\t': esc[k++] = '\\'; esc[k++] = 't'; break;
		default:
			if (c >= ASCII_PRINT_MIN && c <= ASCII_PRINT_MAX) {
				esc[k++] = (char)c;
			} else {
				esc[k++] = '\\';
				esc[k++] = 'x';
				esc[k++] = HEX_DIGITS[c >> NIBBLE_BITS];
				esc[k++] = HEX_DIGITS[c & NIBBLE_MASK];
			}
		}
		if (k > cap - 1 - o)
			break;   /* never split an escape sequence */
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o] = '\0';
	return out;
}

static int hex_value(char c)
{
	const char *d = strchr(HEX_DIGITS, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
	return c && d ? (int)(d - HEX_DIGITS) : -1;
}

ssize_t log_unescape(const char *s, uint8_t *out, size_t cap)
{
	size_t o = 0;
	while (*s) {
		uint8_t b;
		if (*s != '\\') {
			b = (uint8_t)*s++;
		} else {
			s++;
			switch (*s) {
			case '\\': b = '\\'; s++; break;
			case 'r': b = '\r'; s++; break;
			case 'n': b = '\n'; s++; break;
			case 't': b = '\t'; s++; break;
			case 'x': {
				int hi = hex_value(s[1]);
				int lo = hi < 0 ? -1 : hex_value(s[2]);
				if (lo < 0)
					return ERR_INVAL;
				b = (uint8_t)((unsigned)hi << NIBBLE_BITS | (unsigned)lo);
				s += 3;
				break;
			}
			default:
				return ERR_INVAL;
			}
		}
		if (o >= cap)
			return ERR_FULL;
		out[o++] = b;
	}
	return (ssize_t)o;
}

void log_bytes(const char *prefix, const uint8_t *p, size_t n)
{
	if (log_level_current < (int)LOG_LVL_IO)
		return;
	char esc[LOG_BYTES_PER_LINE * LOG_ESCAPED_MAX + 1];
	if (n == 0) {
		log_write(LOG_LVL_IO, "%s: (0 bytes)", prefix ? prefix : "bytes");
		return;
	}
	for (size_t off = 0; off < n; off += LOG_BYTES_PER_LINE) {
		size_t k = n - off < LOG_BYTES_PER_LINE ? n - off : LOG_BYTES_PER_LINE;
		log_escape(p + off, k, esc, sizeof esc);
		log_write(LOG_LVL_IO, "%s: %s", prefix ? prefix : "bytes", esc);
	}
}

int log_burst_check(struct log_burst *b, uint64_t now_ms, uint64_t quiet_ms, uint64_t *suppressed)
{
	bool quiet = !b->active || now_ms < b->last_ms || now_ms - b->last_ms >= quiet_ms;
	bool remind = b->active && now_ms >= b->logged_ms &&
	              now_ms - b->logged_ms >= LOG_BURST_REMIND_MS;
	b->last_ms = now_ms;
	if (quiet || remind) {
		if (suppressed)
			*suppressed = b->suppressed;
		b->suppressed = 0;
		b->active = 1;
		b->logged_ms = now_ms;
		return 1;
	}
	b->suppressed++;
	if (suppressed)
		*suppressed = 0;
	return 0;
}
