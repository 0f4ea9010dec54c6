/*
 * config.c — schema-driven parser of the daemons' `key = value` files.
 *
 * What it is for: vesseld and shored read their settings through one set of
 * rules (format and types in config.h), so an installer learns them once,
 * and every refusal names the file, the line, the key and what would be
 * accepted.  The schema also prints the commented sample (--print-config).
 *
 * Invariants: every length is checked before it is used (a line is copied
 * into a CONFIG_LINE_MAX buffer only after its length is checked; numbers
 * are checked for overflow digit by digit); text stored in the caller's
 * struct always fits its array and is NUL-terminated; list counts never
 * exceed max_count; defaults go through the very parser the file does.
 * Nothing is allocated except the read buffer of config_load().
 *
 * Failure behaviour: the first problem stops parsing and is described in
 * struct config_error; the function returns a negative enum err.  Hostile
 * input (NUL bytes, invalid UTF-8, huge numbers, endless lines) is refused,
 * never trusted.  Values shown in messages are truncated and escaped.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/link.h"
#include "common/log.h"
#include "proto/script.h"

#define SHOW_MAX 64u              /* bytes of a bad value quoted in a message */
#define SHOW_BYTES (4u * SHOW_MAX + 8u)  /* its escaped form */
#define WHY_BYTES 256u            /* reasons from check() and link_spec_check() */
#define DESCRIBE_BYTES 384u       /* config_key_describe() output */
#define NUM_BYTES 32u             /* a formatted number */
#define SUGGEST_NEAR 2u           /* largest edit distance worth suggesting */
#define SUGGEST_SHORT_NAME 4u     /* names shorter than this: distance 1 only */
#define DECIMAL_BASE 10u
#define KIB 1024u
#define MS_PER_S 1000u
#define S_PER_MIN 60u
#define S_PER_HOUR 3600u
#define S_PER_DAY 86400u
#define TZ_MINUTES_MAX 59u
#define TZ_HOUR_DIGITS 2u
#define UTF8_BOM "\xef\xbb\xbf"
#define UTF8_BOM_BYTES 3u
#define ASCII_DEL 0x7f

/* One parse in progress. */
struct ctx {
	const char *name;            /* file name for messages */
	const char *base_dir;        /* relative paths join this; NULL: as written */
	struct config_error *err;    /* may be NULL */
};

/* A parsed non-text value. */
union value {
	uint64_t u;
	bool b;
	int32_t tz;
	int level;
};

/* ---- messages -------------------------------------------------------------- */

static __attribute__((format(printf, 5, 6))) void fail(const struct ctx *c, enum config_problem p,
							 unsigned line, const char *key,
							 const char *fmt, ...)
{
	struct config_error *e = c->err;
	if (!e)
		return;
	e->problem = p;
	e->line = line;
	snprintf(e->file, sizeof e->file, "%s", c->name ? c->name : "(config)");
	snprintf(e->key, sizeof e->key, "%s", key ? key : "");
	int w;
	if (line)
		w = snprintf(e->msg, sizeof e->msg, "%s:%u: ", e->file, line);
	else
		w = snprintf(e->msg, sizeof e->msg, "%s: ", e->file);
	size_t used = w < 0 ? 0u : (size_t)w;
	if (used >= sizeof e->msg)
		return;                  /* a file name filling the whole message */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg + used, sizeof e->msg - used, fmt, ap);
	va_end(ap);
}

/* A value as it may appear in a message: valid UTF-8 without control
 * characters is shown as is (cut at a character boundary), anything else
 * escaped; longer than SHOW_MAX bytes ends in "...". */
static const char *show(const char *s, size_t n, char out[SHOW_BYTES])
{
	size_t cut = n > SHOW_MAX ? SHOW_MAX : n;
	bool plain = true;
	for (size_t i = 0; i < cut; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < ' ' || ch == ASCII_DEL)
			plain = false;
	}
	size_t bad = 0;
	if (plain && script_utf8_check((const uint8_t *)s, cut, &bad) != 0) {
		if (cut < n && bad + SCRIPT_UTF8_CHAR_MAX > cut)
			cut = bad;       /* a character split by the cut */
		else
			plain = false;
	}
	if (plain) {
		memcpy(out, s, cut);
		out[cut] = '\0';
	} else {
		log_escape((const uint8_t *)s, cut, out, SHOW_BYTES - 4u);
	}
	if (cut < n)
		strcat(out, "...");
	return out;
}

/* ---- formatting numbers ---------------------------------------------------- */

char *config_duration_format(uint64_t ms, char *out, size_t cap)
{
	static const struct { uint64_t ms; const char *unit; } units[] = {
		{ (uint64_t)S_PER_DAY * MS_PER_S, "d" },
		{ (uint64_t)S_PER_HOUR * MS_PER_S, "h" },
		{ (uint64_t)S_PER_MIN * MS_PER_S, "m" },
		{ MS_PER_S, "s" },
	};
	if (!out || cap == 0)
		return out;
	if (ms == 0) {
		snprintf(out, cap, "0s");
		return out;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ms % units[i].ms == 0) {
			snprintf(out, cap, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
			return out;
		}
	snprintf(out, cap, "%llums", (unsigned long long)ms);
	return out;
}

/* Bytes in the largest 1024-based unit that is exact: "1M", "1536k", "1000". */
static char *bytes_format(uint64_t b, char *out, size_t cap)
{
	static const char units[] = "kMG";
	unsigned k = 0;
	uint64_t v = b;
	while (v != 0 && v % KIB == 0 && k < sizeof units - 1u) {
		v /= KIB;
		k++;
	}
	if (k == 0)
		snprintf(out, cap, "%llu", (unsigned long long)b);
	else
		snprintf(out, cap, "%llu%c", (unsigned long long)v, units[k - 1u]);
	return out;
}

/* A number of the key's type in its natural unit. */
static char *num_format(const struct config_key *k, uint64_t v, char *out, size_t cap)
{
	if (k->type == CONFIG_BYTES)
		return bytes_format(v, out, cap);
	if (k->type == CONFIG_DURATION)
		return config_duration_format(v, out, cap);
	snprintf(out, cap, "%llu", (unsigned long long)v);
	return out;
}

const char *config_type_name(enum config_type t)
{
	switch (t) {
	case CONFIG_STRING: return "string";
	case CONFIG_PATH: return "path";
	case CONFIG_UINT: return "number";
	case CONFIG_BYTES: return "size";
	case CONFIG_BOOL: return "yes/no";
	case CONFIG_DURATION: return "duration";
	case CONFIG_TZ: return "UTC offset";
	case CONFIG_LOG_LEVEL: return "log level";
	case CONFIG_LINK: return "link spec";
	case CONFIG_LIST: return "list";
	}
	return "?";
}

static bool is_text_type(enum config_type t)
{
	return t == CONFIG_STRING || t == CONFIG_PATH || t == CONFIG_LINK || t == CONFIG_LIST;
}

static bool is_number_type(enum config_type t)
{
	return t == CONFIG_UINT || t == CONFIG_BYTES || t == CONFIG_DURATION;
}

/* " from A to B" / ", at least A" / "" for a numeric key's range. */
static void range_text(const struct config_key *k, char *out, size_t cap)
{
	char lo[NUM_BYTES], hi[NUM_BYTES];
	num_format(k, k->min, lo, sizeof lo);
	if (k->max != 0)
		snprintf(out, cap, ", from %s to %s", lo, num_format(k, k->max, hi, sizeof hi));
	else if (k->min != 0)
		snprintf(out, cap, ", at least %s", lo);
	else if (cap)
		out[0] = '\0';
}

char *config_key_describe(const struct config_key *k, char *out, size_t cap)
{
	char range[2u * NUM_BYTES + 16u];
	if (!out || cap == 0)
		return out;
	out[0] = '\0';
	if (!k)
		return out;
	size_t most = k->size ? k->size - 1u : 0u;
	switch (k->type) {
	case CONFIG_STRING:
		if (k->min)
			snprintf(out, cap, "text of %zu to %zu bytes", (size_t)k->min, most);
		else
			snprintf(out, cap, "text of at most %zu bytes", most);
		break;
	case CONFIG_PATH:
		snprintf(out, cap, "a file path of at most %zu bytes (relative: from the folder of this file)",
			 most);
		break;
	case CONFIG_UINT:
		range_text(k, range, sizeof range);
		snprintf(out, cap, "a whole number%s", range);
		break;
	case CONFIG_BYTES:
		range_text(k, range, sizeof range);
		snprintf(out, cap, "a size in bytes such as 1048576, 1024k or 1M (k, M, G are 1024-based)%s",
			 range);
		break;
	case CONFIG_BOOL:
		snprintf(out, cap, "yes or no (also true/false, on/off, 1/0)");
		break;
	case CONFIG_DURATION:
		range_text(k, range, sizeof range);
		snprintf(out, cap, "a duration such as 250ms, 30s, 15m, 2h, 1d, or plain seconds%s", range);
		break;
	case CONFIG_TZ:
		snprintf(out, cap, "a UTC offset such as +07:00, -03:30, Z or UTC, from -12:00 to +14:00");
		break;
	case CONFIG_LOG_LEVEL:
		snprintf(out, cap, "one of error, warn, info, debug, io");
		break;
	case CONFIG_LINK:
		snprintf(out, cap, "a link spec: serial:/dev/ttyUSB0?baud=19200&flow=none, tcp:HOST:PORT "
			 "or tcp-listen:[ADDR:]PORT");
		break;
	case CONFIG_LIST:
		snprintf(out, cap, "text of at most %zu bytes; the key may be given up to %zu times",
			 most, k->max_count);
		break;
	}
	return out;
}

/* ---- parsing one value ----------------------------------------------------- */

/* Decimal digits at s[*i..n) into *v; false if none or on overflow. */
static bool digits(const char *s, size_t n, size_t *i, uint64_t *v)
{
	size_t start = *i;
	uint64_t acc = 0;
	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		uint64_t d = (uint64_t)(s[*i] - '0');
		if (acc > (UINT64_MAX - d) / DECIMAL_BASE)
			return false;
		acc = acc * DECIMAL_BASE + d;
		(*i)++;
	}
	*v = acc;
	return *i > start;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return false;
	*out = a * b;
	return true;
}

/* Suffix s[i..n) equals word, ASCII case-insensitively. */
static bool suffix_is(const char *s, size_t n, size_t i, const char *word)
{
	size_t w = strlen(word);
	return n - i == w && strncasecmp(s + i, word, w) == 0;
}

static bool parse_bytes(const char *s, size_t n, uint64_t *v, const char **hint)
{
	size_t i = 0;
	uint64_t num;
	if (!digits(s, n, &i, &num))
		return false;
	uint64_t mult = 1;
	if (i == n)
		mult = 1;
	else if (suffix_is(s, n, i, "k") || suffix_is(s, n, i, "KiB"))
		mult = KIB;
	else if (suffix_is(s, n, i, "M") || suffix_is(s, n, i, "MiB"))
		mult = (uint64_t)KIB * KIB;
	else if (suffix_is(s, n, i, "G") || suffix_is(s, n, i, "GiB"))
		mult = (uint64_t)KIB * KIB * KIB;
	else if (suffix_is(s, n, i, "B"))
		mult = 1;
	else {
		if (suffix_is(s, n, i, "kB") || suffix_is(s, n, i, "MB") || suffix_is(s, n, i, "GB"))
			*hint = "; \"MB\" is ambiguous (1,000,000 or 1,048,576?): write 1M for 1048576 bytes "
				"or the plain number";
		return false;
	}
	return mul_ok(num, mult, v);
}

static bool parse_duration(const char *s, size_t n, uint64_t *v)
{
	size_t i = 0;
	uint64_t num;
	if (!digits(s, n, &i, &num))
		return false;
	uint64_t mult;
	if (i == n || suffix_is(s, n, i, "s"))
		mult = MS_PER_S;
	else if (suffix_is(s, n, i, "ms"))
		mult = 1;
	else if (suffix_is(s, n, i, "m"))
		mult = (uint64_t)S_PER_MIN * MS_PER_S;
	else if (suffix_is(s, n, i, "h"))
		mult = (uint64_t)S_PER_HOUR * MS_PER_S;
	else if (suffix_is(s, n, i, "d"))
		mult = (uint64_t)S_PER_DAY * MS_PER_S;
	else
		return false;
	return mul_ok(num, mult, v);
}

/* Exactly two digits at s[i], i + 2 <= n. */
static bool two_digits(const char *s, size_t n, size_t i, unsigned *v)
{
	if (i + TZ_HOUR_DIGITS > n || !isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1u]))
		return false;
	*v = (unsigned)(s[i] - '0') * DECIMAL_BASE + (unsigned)(s[i + 1u] - '0');
	return true;
}

/* 1 parsed, 0 malformed, -1 well formed but outside -12:00..+14:00. */
static int parse_tz(const char *s, size_t n, int32_t *v)
{
	if (suffix_is(s, n, 0, "Z") || suffix_is(s, n, 0, "UTC")) {
		*v = 0;
		return 1;
	}
	/* [+-]HH:MM */
	unsigned hh, mm;
	if (n != 6u || (s[0] != '+' && s[0] != '-') || !two_digits(s, n, 1u, &hh) || s[3] != ':' ||
	    !two_digits(s, n, 4u, &mm) || mm > TZ_MINUTES_MAX)
		return 0;
	int32_t secs = (int32_t)(hh * S_PER_HOUR + mm * S_PER_MIN);
	if (s[0] == '-')
		secs = -secs;
	if (secs < CONFIG_TZ_MIN_S || secs > CONFIG_TZ_MAX_S)
		return -1;
	*v = secs;
	return 1;
}

static bool parse_bool(const char *s, size_t n, bool *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (suffix_is(s, n, 0, yes[i])) {
			*v = true;
			return true;
		}
		if (suffix_is(s, n, 0, no[i])) {
			*v = false;
			return true;
		}
	}
	return false;
}

/*
 * Checks val[0..n) (NUL-terminated at n) against key k; non-text values go
 * to *out.  Returns CONFIG_PROBLEM_NONE or the problem, with a sentence in
 * msg (without the file/line prefix).
 */
static enum config_problem value_parse(const struct config_key *k, const char *val, size_t n,
				       union value *out, char *msg, size_t cap)
{
	char shown[SHOW_BYTES], desc[DESCRIBE_BYTES], why[WHY_BYTES];
	const char *hint = "";
	config_key_describe(k, desc, sizeof desc);
	show(val, n, shown);

	size_t bad = 0;
	if (script_utf8_check((const uint8_t *)val, n, &bad) != 0) {
		snprintf(msg, cap, "key '%s': the value is not valid UTF-8 (byte %zu); save the file as "
			 "UTF-8, not TIS-620 or another legacy encoding", k->name, bad + 1u);
		return CONFIG_PROBLEM_UTF8;
	}

	if (is_text_type(k->type)) {
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)val[i];
			if ((ch < ' ' && ch != '\t') || ch == ASCII_DEL) {
				snprintf(msg, cap, "key '%s': control character in \"%s\"; accepted: %s",
					 k->name, shown, desc);
				return CONFIG_PROBLEM_BAD_VALUE;
			}
		}
		if (n + 1u > k->size || n < k->min) {
			snprintf(msg, cap, "key '%s': \"%s\" is %zu bytes long; accepted: %s", k->name,
				 shown, n, desc);
			return CONFIG_PROBLEM_RANGE;
		}
		if (k->type == CONFIG_LINK && link_spec_check(val, why, sizeof why) != 0) {
			snprintf(msg, cap, "key '%s': link spec \"%s\" refused: %s; accepted: %s", k->name,
				 shown, why, desc);
			return CONFIG_PROBLEM_BAD_VALUE;
		}
		if (k->check) {
			why[0] = '\0';
			if (k->check(val, why, sizeof why) != 0) {
				snprintf(msg, cap, "key '%s': \"%s\" refused; accepted: %s", k->name,
					 shown, why[0] ? why : desc);
				return CONFIG_PROBLEM_BAD_VALUE;
			}
		}
		return CONFIG_PROBLEM_NONE;
	}

	bool ok = false;
	switch (k->type) {
	case CONFIG_UINT: {
		size_t i = 0;
		ok = digits(val, n, &i, &out->u) && i == n;
		break;
	}
	case CONFIG_BYTES:
		ok = parse_bytes(val, n, &out->u, &hint);
		break;
	case CONFIG_DURATION:
		ok = parse_duration(val, n, &out->u);
		break;
	case CONFIG_BOOL:
		ok = parse_bool(val, n, &out->b);
		break;
	case CONFIG_TZ: {
		int r = parse_tz(val, n, &out->tz);
		if (r < 0) {
			snprintf(msg, cap, "key '%s': \"%s\" is out of range; accepted: %s", k->name, shown, desc);
			return CONFIG_PROBLEM_RANGE;
		}
		ok = r > 0;
		break;
	}
	case CONFIG_LOG_LEVEL:
		out->level = log_level_parse(val);
		ok = out->level >= 0;
		break;
	default:
		break;
	}
	if (!ok) {
		snprintf(msg, cap, "key '%s': \"%s\" is not a %s%s; accepted: %s", k->name, shown,
			 config_type_name(k->type), hint, desc);
		return CONFIG_PROBLEM_BAD_VALUE;
	}
	if (is_number_type(k->type) && (out->u < k->min || (k->max != 0 && out->u > k->max))) {
		snprintf(msg, cap, "key '%s': \"%s\" is out of range; accepted: %s", k->name, shown, desc);
		return CONFIG_PROBLEM_RANGE;
	}
	return CONFIG_PROBLEM_NONE;
}

/* ---- storing --------------------------------------------------------------- */

static char *field(void *out, size_t offset)
{
	return (char *)out + offset;
}

static size_t *list_count(void *out, const struct config_key *k)
{
	return (size_t *)(void *)field(out, k->count_offset);
}

static void store_value(const struct config_key *k, void *out, const union value *v)
{
	char *p = field(out, k->offset);
	switch (k->type) {
	case CONFIG_UINT:
	case CONFIG_BYTES:
	case CONFIG_DURATION:
		memcpy(p, &v->u, sizeof v->u);
		break;
	case CONFIG_BOOL:
		memcpy(p, &v->b, sizeof v->b);
		break;
	case CONFIG_TZ:
		memcpy(p, &v->tz, sizeof v->tz);
		break;
	case CONFIG_LOG_LEVEL:
		memcpy(p, &v->level, sizeof v->level);
		break;
	default:
		break;
	}
}

/* Copies checked text into the key's field (a path joined to base_dir
 * when relative), or appends it to a list.  *dup_item is set to the 1-based
 * index of an equal list item already present (0: none).  Returns
 * CONFIG_PROBLEM_NONE, TOO_MANY, DUPLICATE or RANGE (joined path too long). */
static enum config_problem store_text(const struct config_key *k, void *out, const char *val,
				      size_t n, const char *base_dir, size_t *dup_item)
{
	*dup_item = 0;
	if (k->type == CONFIG_LIST) {
		size_t *cnt = list_count(out, k);
		for (size_t i = 0; i < *cnt && i < k->max_count; i++)
			if (strcmp(field(out, k->offset + i * k->size), val) == 0) {
				*dup_item = i + 1u;
				return CONFIG_PROBLEM_DUPLICATE;
			}
		if (*cnt >= k->max_count)
			return CONFIG_PROBLEM_TOO_MANY;
		memcpy(field(out, k->offset + *cnt * k->size), val, n + 1u);
		(*cnt)++;
		return CONFIG_PROBLEM_NONE;
	}
	char *dst = field(out, k->offset);
	if (k->type == CONFIG_PATH && base_dir && n > 0 && val[0] != '/') {
		size_t b = strlen(base_dir);
		bool slash = b > 0 && base_dir[b - 1u] == '/';
		size_t need = b + (slash ? 0u : 1u) + n;
		if (need + 1u > k->size)
			return CONFIG_PROBLEM_RANGE;
		memcpy(dst, base_dir, b);
		if (!slash)
			dst[b++] = '/';
		memcpy(dst + b, val, n + 1u);
		return CONFIG_PROBLEM_NONE;
	}
	memcpy(dst, val, n + 1u);
	return CONFIG_PROBLEM_NONE;
}

/* ---- schema ---------------------------------------------------------------- */

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0u;
	if (n == 0 || n > CONFIG_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static int schema_fail(const struct ctx *c, const char *key, const char *what)
{
	fail(c, CONFIG_PROBLEM_SCHEMA, 0, key, "schema: key '%s': %s (a program bug)", key ? key : "?",
	     what);
	return ERR_INVAL;
}

/* A default or example string must itself be a valid value. */
static int schema_value_ok(const struct ctx *c, const struct config_key *k, const char *s)
{
	char msg[CONFIG_MSG_MAX];
	union value v;
	size_t n = strlen(s);
	if (n >= CONFIG_LINE_MAX)
		return schema_fail(c, k->name, "default or example too long");
	if (value_parse(k, s, n, &v, msg, sizeof msg) != CONFIG_PROBLEM_NONE)
		return schema_fail(c, k->name, msg);
	return 0;
}

static int schema_check(const struct ctx *c, const struct config_key *schema, size_t nkeys)
{
	if ((!schema && nkeys) || nkeys > CONFIG_KEYS_MAX)
		return schema_fail(c, NULL, "no table, or more than CONFIG_KEYS_MAX keys");
	for (size_t i = 0; i < nkeys; i++) {
		const struct config_key *k = &schema[i];
		if (!name_ok(k->name))
			return schema_fail(c, k->name, "name not 1..CONFIG_KEY_MAX of [a-z0-9_.-]");
		for (size_t j = 0; j < i; j++)
			if (strcmp(schema[j].name, k->name) == 0)
				return schema_fail(c, k->name, "listed twice");
		if (k->type < CONFIG_STRING || k->type > CONFIG_LIST)
			return schema_fail(c, k->name, "unknown type");
		if (is_text_type(k->type) && (k->size < 2u || k->min > k->size - 1u))
			return schema_fail(c, k->name, "size under 2 or min over size - 1");
		if (is_text_type(k->type) && k->size > CONFIG_LINE_MAX + 1u)
			return schema_fail(c, k->name, "size over CONFIG_LINE_MAX + 1");
		if (is_number_type(k->type) && k->max != 0 && k->min > k->max)
			return schema_fail(c, k->name, "min over max");
		if (k->type == CONFIG_LIST && k->max_count < 1u)
			return schema_fail(c, k->name, "list without max_count");
		if (k->required && k->def)
			return schema_fail(c, k->name, "required key with a default");
		if (k->def && schema_value_ok(c, k, k->def) != 0)
			return ERR_INVAL;
		if (k->example && schema_value_ok(c, k, k->example) != 0)
			return ERR_INVAL;
	}
	return 0;
}

int config_schema_check(const struct config_key *schema, size_t nkeys, struct config_error *err)
{
	struct ctx c = { "(schema)", NULL, err };
	return schema_check(&c, schema, nkeys);
}

static int defaults_apply(const struct ctx *c, const struct config_key *schema, size_t nkeys,
			  void *out)
{
	int rc = schema_check(c, schema, nkeys);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < nkeys; i++) {
		const struct config_key *k = &schema[i];
		union value v;
		memset(&v, 0, sizeof v);
		if (k->type == CONFIG_LOG_LEVEL)
			v.level = LOG_LVL_ERROR;
		if (is_text_type(k->type)) {
			if (k->type == CONFIG_LIST) {
				*list_count(out, k) = 0;
				for (size_t j = 0; j < k->max_count; j++)
					field(out, k->offset + j * k->size)[0] = '\0';
			} else {
				field(out, k->offset)[0] = '\0';
			}
		} else {
			store_value(k, out, &v);
		}
		if (!k->def)
			continue;
		char msg[CONFIG_MSG_MAX];
		size_t n = strlen(k->def), dup;
		if (value_parse(k, k->def, n, &v, msg, sizeof msg) != CONFIG_PROBLEM_NONE)
			return schema_fail(c, k->name, msg);   /* unreachable after schema_check */
		if (is_text_type(k->type)) {
			if (store_text(k, out, k->def, n, c->base_dir, &dup) != CONFIG_PROBLEM_NONE) {
				fail(c, CONFIG_PROBLEM_RANGE, 0, k->name,
				     "key '%s': the default path \"%s\" joined to the folder of this file "
				     "is longer than %zu bytes; set the key to a shorter path",
				     k->name, k->def, k->size - 1u);
				return ERR_CONFIG;
			}
		} else {
			store_value(k, out, &v);
		}
	}
	return 0;
}

int config_apply_defaults(const struct config_key *schema, size_t nkeys, void *out,
			  struct config_error *err)
{
	struct ctx c = { "(defaults)", NULL, err };
	return defaults_apply(&c, schema, nkeys, out);
}

/* ---- lines ----------------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Levenshtein distance between a[0..na) and b[0..nb), both <= CONFIG_KEY_MAX. */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
	size_t row[CONFIG_KEY_MAX + 1u];
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1u] == b[j - 1u] ? 0u : 1u);
			if (up + 1u < best)
				best = up + 1u;
			if (row[j - 1u] + 1u < best)
				best = row[j - 1u] + 1u;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

static int unknown_key(const struct ctx *c, unsigned line, const char *key, size_t n,
		       const struct config_key *schema, size_t nkeys)
{
	char shown[SHOW_BYTES];
	show(key, n, shown);
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	if (n <= CONFIG_KEY_MAX)
		for (size_t i = 0; i < nkeys; i++) {
			size_t len = strlen(schema[i].name);
			size_t d = distance(key, n, schema[i].name, len);
			size_t near = len < SUGGEST_SHORT_NAME ? 1u : SUGGEST_NEAR;
			if (d <= near && d < best_d) {
				best = schema[i].name;
				best_d = d;
			}
		}
	if (best) {
		fail(c, CONFIG_PROBLEM_UNKNOWN_KEY, line, shown, "unknown key '%s'; did you mean '%s'?",
		     shown, best);
		return ERR_CONFIG;
	}
	char known[CONFIG_MSG_MAX / 2u];
	size_t used = 0;
	known[0] = '\0';
	for (size_t i = 0; i < nkeys && used < sizeof known; i++) {
		int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", schema[i].name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	fail(c, CONFIG_PROBLEM_UNKNOWN_KEY, line, shown, "unknown key '%s'; known keys: %s", shown,
	     known);
	return ERR_CONFIG;
}

/* State of one parse over the lines of a file. */
struct parse {
	const struct ctx *c;
	const struct config_key *schema;
	size_t nkeys;
	void *out;
	unsigned first_line[CONFIG_KEYS_MAX];   /* 0: key not seen yet */
};

/* Unquotes "..." starting at line[*i] (the opening quote) into val.
 * Returns the value length, or -1 with msg set. */
static ssize_t unquote(const char *line, size_t n, size_t *i, char *val, const char **why)
{
	size_t o = 0;
	size_t j = *i + 1u;
	for (;;) {
		if (j >= n) {
			*why = "the quote is not closed; end the value with '\"'";
			return -1;
		}
		char ch = line[j];
		if (ch == '"') {
			j++;
			break;
		}
		if (ch == '\\') {
			if (j + 1u >= n || (line[j + 1u] != '"' && line[j + 1u] != '\\')) {
				*why = "unknown escape: inside quotes only \\\" and \\\\ are escapes";
				return -1;
			}
			ch = line[j + 1u];
			j++;
		}
		val[o++] = ch;
		j++;
	}
	while (j < n && is_blank(line[j]))
		j++;
	if (j < n && line[j] != '#') {
		*why = "text after the closing quote; put the whole value inside the quotes";
		return -1;
	}
	*i = j;
	val[o] = '\0';
	return (ssize_t)o;
}

static int parse_line(struct parse *p, unsigned lineno, const char *line, size_t n)
{
	const struct ctx *c = p->c;
	char shown[SHOW_BYTES];
	size_t i = 0;
	while (i < n && is_blank(line[i]))
		i++;
	if (i == n || line[i] == '#')
		return 0;

	size_t eq = n;
	for (size_t j = i; j < n; j++) {
		if (line[j] == '=') {
			eq = j;
			break;
		}
		if (line[j] == '#' && is_blank(line[j - 1u]))
			break;
	}
	if (eq == n) {
		fail(c, CONFIG_PROBLEM_NO_EQUALS, lineno, NULL,
		     "no '=' in \"%s\"; write key = value, or start the line with '#' for a comment",
		     show(line + i, n - i, shown));
		return ERR_CONFIG;
	}
	size_t kend = eq;
	while (kend > i && is_blank(line[kend - 1u]))
		kend--;
	if (kend == i) {
		fail(c, CONFIG_PROBLEM_EMPTY_KEY, lineno, NULL,
		     "'=' without a key before it; write key = value");
		return ERR_CONFIG;
	}
	const char *key = line + i;
	size_t klen = kend - i;
	size_t ki = p->nkeys;
	for (size_t j = 0; j < p->nkeys; j++)
		if (strlen(p->schema[j].name) == klen && memcmp(p->schema[j].name, key, klen) == 0) {
			ki = j;
			break;
		}
	if (ki == p->nkeys)
		return unknown_key(c, lineno, key, klen, p->schema, p->nkeys);
	const struct config_key *k = &p->schema[ki];

	/* The value: quoted, or up to a comment that follows whitespace. */
	char val[CONFIG_LINE_MAX + 1u];
	size_t vlen;
	size_t j = eq + 1u;
	while (j < n && is_blank(line[j]))
		j++;
	if (j < n && line[j] == '"') {
		const char *why = "";
		ssize_t q = unquote(line, n, &j, val, &why);
		if (q < 0) {
			fail(c, CONFIG_PROBLEM_BAD_VALUE, lineno, k->name, "key '%s': %s", k->name, why);
			return ERR_CONFIG;
		}
		vlen = (size_t)q;
	} else {
		size_t end = n;
		for (size_t m = j; m < n; m++)
			if (line[m] == '#' && is_blank(line[m - 1u])) {
				end = m;
				break;
			}
		while (end > j && is_blank(line[end - 1u]))
			end--;
		vlen = end - j;
		memcpy(val, line + j, vlen);
		val[vlen] = '\0';
	}

	if (p->first_line[ki] && k->type != CONFIG_LIST) {
		fail(c, CONFIG_PROBLEM_DUPLICATE, lineno, k->name,
		     "key '%s' is already set on line %u; give it once (remove one of the lines)",
		     k->name, p->first_line[ki]);
		return ERR_CONFIG;
	}

	char msg[CONFIG_MSG_MAX];
	union value v;
	enum config_problem prob = value_parse(k, val, vlen, &v, msg, sizeof msg);
	if (prob != CONFIG_PROBLEM_NONE) {
		fail(c, prob, lineno, k->name, "%s", msg);
		return ERR_CONFIG;
	}
	if (k->type == CONFIG_LIST && !p->first_line[ki])
		*list_count(p->out, k) = 0;       /* the file replaces the default */
	if (!p->first_line[ki])
		p->first_line[ki] = lineno;
	if (!is_text_type(k->type)) {
		store_value(k, p->out, &v);
		return 0;
	}
	size_t dup;
	prob = store_text(k, p->out, val, vlen, c->base_dir, &dup);
	switch (prob) {
	case CONFIG_PROBLEM_NONE:
		return 0;
	case CONFIG_PROBLEM_DUPLICATE:
		fail(c, prob, lineno, k->name, "key '%s': \"%s\" is already in the list; give each "
		     "value once", k->name, show(val, vlen, shown));
		break;
	case CONFIG_PROBLEM_TOO_MANY:
		fail(c, prob, lineno, k->name, "key '%s' is given more than %zu times; accepted: at "
		     "most %zu lines", k->name, k->max_count, k->max_count);
		break;
	default:
		fail(c, prob, lineno, k->name, "key '%s': the path joined to the folder of this file "
		     "is longer than %zu bytes; use a shorter or absolute path", k->name,
		     k->size - 1u);
		break;
	}
	return ERR_CONFIG;
}

static int parse_all(const struct ctx *c, const void *buf, size_t len,
		     const struct config_key *schema, size_t nkeys, void *out)
{
	if (c->err)
		memset(c->err, 0, sizeof *c->err);
	int rc = defaults_apply(c, schema, nkeys, out);
	if (rc != 0)
		return rc;
	if (len > CONFIG_FILE_MAX) {
		fail(c, CONFIG_PROBLEM_FILE_TOO_BIG, 0, NULL,
		     "the file is %zu bytes; a configuration file may have at most %u", len,
		     CONFIG_FILE_MAX);
		return ERR_TOOBIG;
	}
	if (!buf && len)
		return ERR_INVAL;

	struct parse p;
	memset(&p, 0, sizeof p);
	p.c = c;
	p.schema = schema;
	p.nkeys = nkeys;
	p.out = out;

	const char *s = buf;
	size_t pos = 0;
	if (len >= UTF8_BOM_BYTES && memcmp(s, UTF8_BOM, UTF8_BOM_BYTES) == 0)
		pos = UTF8_BOM_BYTES;
	unsigned lineno = 0;
	while (pos < len) {
		lineno++;
		const char *start = s + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		pos += n + (nl ? 1u : 0u);
		if (n > 0 && start[n - 1u] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX) {
			fail(c, CONFIG_PROBLEM_LINE_TOO_LONG, lineno, NULL,
			     "the line is %zu bytes long; at most %u are accepted", n, CONFIG_LINE_MAX);
			return ERR_CONFIG;
		}
		if (memchr(start, '\0', n)) {
			fail(c, CONFIG_PROBLEM_NUL, lineno, NULL,
			     "a NUL byte; this is not a text file (save it as plain UTF-8 text)");
			return ERR_CONFIG;
		}
		rc = parse_line(&p, lineno, start, n);
		if (rc != 0)
			return rc;
	}

	/* Every missing required key, the first one in err->key. */
	char missing[CONFIG_MSG_MAX / 2u];
	size_t used = 0;
	const char *first = NULL;
	missing[0] = '\0';
	for (size_t i = 0; i < nkeys; i++) {
		if (!schema[i].required || p.first_line[i])
			continue;
		if (!first)
			first = schema[i].name;
		if (used < sizeof missing) {
			int w = snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "",
					 schema[i].name);
			if (w > 0)
				used += (size_t)w;
		}
	}
	if (first) {
		fail(c, CONFIG_PROBLEM_MISSING, 0, first,
		     "required key%s missing: %s; add a line key = value for each", used > strlen(first) ?
		     "s" : "", missing);
		return ERR_CONFIG;
	}
	return 0;
}

int config_parse_buf(const char *name, const void *buf, size_t len,
		     const struct config_key *schema, size_t nkeys, void *out,
		     struct config_error *err)
{
	struct ctx c = { name, NULL, err };
	return parse_all(&c, buf, len, schema, nkeys, out);
}

/* ---- files ----------------------------------------------------------------- */

int config_load(const char *path, const struct config_key *schema, size_t nkeys, void *out,
		struct config_error *err)
{
	struct ctx c = { path, NULL, err };
	if (err)
		memset(err, 0, sizeof *err);
	if (!path)
		return ERR_INVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		fail(&c, CONFIG_PROBLEM_UNREADABLE, 0, NULL, "cannot open: %s", strerror(e));
		return ERR_IO;
	}
	int rc = 0;
	char *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		fail(&c, CONFIG_PROBLEM_UNREADABLE, 0, NULL, "cannot read: %s", strerror(e));
		rc = ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(&c, CONFIG_PROBLEM_UNREADABLE, 0, NULL, "cannot read: %s",
		     S_ISDIR(st.st_mode) ? "it is a folder" : "not a regular file");
		rc = ERR_IO;
		goto out;
	}
	if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		fail(&c, CONFIG_PROBLEM_FILE_TOO_BIG, 0, NULL,
		     "the file is %lld bytes; a configuration file may have at most %u",
		     (long long)st.st_size, CONFIG_FILE_MAX);
		rc = ERR_TOOBIG;
		goto out;
	}
	buf = malloc(CONFIG_FILE_MAX + 1u);
	if (!buf) {
		rc = ERR_NOMEM;
		goto out;
	}
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, CONFIG_FILE_MAX + 1u - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			fail(&c, CONFIG_PROBLEM_UNREADABLE, 0, NULL, "cannot read: %s", strerror(e));
			rc = ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONFIG_FILE_MAX)
			break;            /* grew since fstat; parse_all refuses it */
	}
	char dir[CONFIG_LINE_MAX + 1u];
	const char *slash = strrchr(path, '/');
	if (slash) {
		size_t dn = (size_t)(slash - path);
		if (dn == 0)
			dn = 1;            /* "/x.conf": the root */
		if (dn >= sizeof dir) {
			fail(&c, CONFIG_PROBLEM_UNREADABLE, 0, NULL, "the folder name is too long");
			rc = ERR_IO;
			goto out;
		}
		memcpy(dir, path, dn);
		dir[dn] = '\0';
		c.base_dir = dir;
	}
	rc = parse_all(&c, buf, len, schema, nkeys, out);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- sample ---------------------------------------------------------------- */

/* Writes v as the value of a line: bare if it reads back unchanged, else
 * quoted with \" and \\ escaped. */
static void put_value(FILE *f, const char *v)
{
	size_t n = strlen(v);
	bool quote = n == 0 || is_blank(v[0]) || is_blank(v[n - 1u]) || v[0] == '"' ||
		     strchr(v, '#') != NULL;
	if (!quote) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			fputc('\\', f);
		fputc(v[i], f);
	}
	fputc('"', f);
}

int config_write_sample(FILE *f, const char *title, const struct config_key *schema,
			size_t nkeys)
{
	struct ctx c = { "(schema)", NULL, NULL };
	if (!f || schema_check(&c, schema, nkeys) != 0)
		return ERR_INVAL;
	fprintf(f, "# %s%sconfiguration: every key, its meaning and its default.\n",
		title ? title : "", title ? " " : "");
	fputs("#\n"
	      "# One \"key = value\" per line.  A line starting with '#' is a comment, and\n"
	      "# so is the rest of a line after a space and '#'.  Put a value in double\n"
	      "# quotes to keep a '#' or spaces at its ends; inside quotes write \\\" for a\n"
	      "# quote and \\\\ for a backslash.  Sizes: 1048576, 1024k, 1M, 1G (k, M, G are\n"
	      "# 1024-based).  Durations: 250ms, 30s, 15m, 2h, 1d, or plain seconds.\n"
	      "# Relative paths are taken from the folder holding this file.  A key left\n"
	      "# out gets its default; keys marked \"required\" must be set.\n", f);
	for (size_t i = 0; i < nkeys; i++) {
		const struct config_key *k = &schema[i];
		char desc[DESCRIBE_BYTES];
		fprintf(f, "\n");
		if (k->help)
			fprintf(f, "# %s\n", k->help);
		fprintf(f, "# Accepted: %s.\n", config_key_describe(k, desc, sizeof desc));
		const char *v = k->def;
		if (k->required) {
			fprintf(f, "# Required%s.\n", k->example ? "; the value below is an example" :
				": set it");
			v = k->example;
		} else if (!k->def) {
			fprintf(f, "# Not set by default.\n");
		}
		if (v) {
			fprintf(f, "%s = ", k->name);
			put_value(f, v);
			fputc('\n', f);
		} else {
			fprintf(f, "#%s =\n", k->name);
		}
	}
	fflush(f);
	return ferror(f) ? ERR_IO : 0;
}
