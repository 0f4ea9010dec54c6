/*
 * vctl.c — vesseld's control commands (see vctl.h for the list, the
 * status codes and the complaint blob).
 *
 * What it is for: a crew member with a cheap phone and little schooling
 * sends a text, sees what happened to it and how much allowance is left;
 * the captain manages crew accounts but can neither send as a crew member
 * nor read their inbox (crew commands always need the PIN; an admin PIN
 * reset hides what came before it).
 *
 * Invariants:
 *  - "queued" is answered only after the message and its quota change
 *    committed (vstore_msg_add: one transaction);
 *  - a locked account is refused before its PIN is verified (no oracle);
 *    every wrong PIN is counted (pin_after_attempt) and persisted;
 *  - complaints and SOS never touch the quota; a complaint's plaintext
 *    exists only in memory, wiped after sealing.
 *
 * Failure behaviour: bad input gets a status and a sentence saying what to
 * do; a database failure gets status 70 and its text; only ERR_NOMEM is
 * returned to the caller.
 */
#include "vessel/vctl.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "proto/record.h"
#include "vessel/complain.h"
#include "vessel/qreport.h"
#include "vessel/quota.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70
#define EX_TEMPFAIL 75
#define EX_NOPERM 77
#define DATE_BYTES 64u
#define TEXT_CAP 4096u
#define ADMIN_ONLY "Only the captain (root or the vesseld user) may do this."

const char vctl_usage[] =
	"vesselctl [--socket PATH] [--json] [--pin-file FILE] COMMAND ...\n"
	"Crew (asks for your PIN):\n"
	"  send --crew ID --to REF TEXT       send TEXT to your contact REF\n"
	"  contact add --crew ID ADDRESS [--name NAME]\n"
	"                                     ADDRESS: mailto:a@b.example, tel:+66812345678, webhook:NAME\n"
	"  contact list --crew ID             your contacts and their REF numbers\n"
	"  inbox --crew ID                    replies from your family, complaint updates\n"
	"  status --crew ID [--limit N]       what happened to your messages (newest 200)\n"
	"  quota --crew ID                    bytes used and left this month\n"
	"  complain --crew ID [--category C] [TEXT]\n"
	"                                     a complaint only the labour inspectors can read;\n"
	"                                     without TEXT it is read from the terminal (or --file F).\n"
	"                                     C: vulnerability deception movement isolation violence\n"
	"                                     threats documents wages debt conditions overtime injury\n"
	"                                     other (the default)\n"
	"  sos --crew ID [TEXT]               emergency: goes before everything else\n"
	"  crew set-pin ID --new-pin NEW      change your PIN (asks for the old one)\n"
	"Captain (root or the vesseld user):\n"
	"  crew add NAME [--lang LANG] --pin PIN    crew list\n"
	"  crew lock ID | crew unlock ID | crew set-pin ID --pin NEW (reset: hides the old inbox)\n"
	"  status                             link, queue and bundles\n"
	"  quota --all                        every crew member's allowance\n"
	"Complaints and SOS never count against the monthly allowance.\n";

/* ---- results ------------------------------------------------------------ */

struct out {
	struct vctl_result *r;
	struct json j;
	char text[TEXT_CAP];
	size_t tlen;
	bool oom;
};

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->text + o->tlen, sizeof o->text - o->tlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->tlen += (size_t)n < sizeof o->text - o->tlen ? (size_t)n : sizeof o->text - o->tlen - 1;
}

/* An error: status, the sentence, and {"error":code,"message":sentence}. */
static int fail(struct out *o, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct out *o, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof o->text, fmt, ap);
	va_end(ap);
	o->tlen = strlen(o->text);
	json_fini(&o->j);
	json_init(&o->j);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "error", code);
	json_kv_string(&o->j, "message", o->text);
	json_object_end(&o->j);
	o->r->status = status;
	return -1;
}

static int db_fail(struct out *o, struct vctl *v, int rc)
{
	return fail(o, EX_SOFTWARE, "internal", "vesseld could not use its database (%s: %s). "
		    "Try again; if it keeps failing, tell the captain to check the vesseld log.",
		    err_str(rc), db_last_error(vstore_db(v->st)));
}

static int64_t now_of(struct vctl *v)
{
	return v->now ? v->now(v->now_ctx) : (int64_t)time(NULL);
}

/* "14:05 on 2026-12-01 (UTC+07:00)" for unix time t in the zone. */
static const char *local_time(const struct vctl *v, int64_t t, char *buf, size_t cap)
{
	time_t s = (time_t)(t + v->cfg.zone);
	struct tm tm;
	int z = v->cfg.zone < 0 ? -v->cfg.zone : v->cfg.zone;
	if (!gmtime_r(&s, &tm)) {
		snprintf(buf, cap, "?");
		return buf;
	}
	snprintf(buf, cap, "%02d:%02d on %04d-%02d-%02d (UTC%c%02d:%02d)", tm.tm_hour, tm.tm_min,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, v->cfg.zone < 0 ? '-' : '+', z / 3600,
		 z / 60 % 60);
	return buf;
}

static void reset_date(uint32_t period, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04u-%02u-01", period / 100u, period % 100u);
}

/* ---- arguments ----------------------------------------------------------- */

struct args {
	const char *crew, *pin, *new_pin, *to, *lang, *name, *limit, *category;
	bool all;
	int npos;
	const char *pos[CTL_ARGS_MAX];
};

static int parse_args(struct out *o, int argc, char *const argv[], struct args *a)
{
	static const struct { const char *name; size_t off; } opts[] = {
		{"--crew", offsetof(struct args, crew)}, {"--pin", offsetof(struct args, pin)},
		{"--new-pin", offsetof(struct args, new_pin)}, {"--to", offsetof(struct args, to)},
		{"--lang", offsetof(struct args, lang)}, {"--name", offsetof(struct args, name)},
		{"--limit", offsetof(struct args, limit)}, {"--category", offsetof(struct args, category)},
	};
	memset(a, 0, sizeof *a);
	bool dashdash = false;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (dashdash || s[0] != '-' || s[1] != '-') {
			a->pos[a->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			dashdash = true;
			continue;
		}
		if (strcmp(s, "--all") == 0) {
			a->all = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof opts / sizeof opts[0] && strcmp(s, opts[k].name) != 0)
			k++;
		if (k == sizeof opts / sizeof opts[0])
			return fail(o, EX_USAGE, "usage", "Unknown option %s. Run `vesselctl help` to "
				    "see the commands.", s);
		if (i + 1 >= argc)
			return fail(o, EX_USAGE, "usage", "%s needs a value. Run `vesselctl help`.", s);
		*(const char **)(void *)((char *)a + opts[k].off) = argv[++i];
	}
	return 0;
}

static bool parse_u32(const char *s, uint32_t *v)
{
	uint64_t x = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > UINT32_MAX / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x == 0 || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* Joins pos[from..] with single spaces into buf; returns its length. */
static size_t join(const struct args *a, int from, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = from; i < a->npos; i++) {
		int w = snprintf(buf + n, cap - n, "%s%s", i > from ? " " : "", a->pos[i]);
		if (w < 0 || (size_t)w >= cap - n)
			return cap;     /* too long: the caller refuses it */
		n += (size_t)w;
	}
	return n;
}

static bool is_admin(const struct vctl *v, const struct ctl_peer *p)
{
	return p->uid == 0 || p->uid == v->admin_uid;
}

/* ---- crew authentication -------------------------------------------------- */

static int find_crew(struct out *o, struct vctl *v, const char *id_text, struct vcrew *c)
{
	uint32_t id;
	if (!id_text)
		return fail(o, EX_USAGE, "usage", "Say who you are with --crew ID (your crew number; "
			    "the captain can tell you).");
	if (!parse_u32(id_text, &id))
		return fail(o, EX_USAGE, "usage", "--crew wants your crew number (1, 2, ...), not "
			    "\"%s\".", id_text);
	int rc = vstore_crew_get(v->st, id, c);
	if (rc == ERR_NOTFOUND)
		return fail(o, VCTL_EX_NOUSER, "no_crew", "There is no crew member %" PRIu32 ". "
			    "Check your crew number with the captain.", id);
	return rc < 0 ? db_fail(o, v, rc) : 0;
}

/* Checks the PIN of the crew member named by --crew; the lockout rule
 * and the failure count are applied and persisted here. */
static int crew_auth(struct out *o, struct vctl *v, const struct args *a, struct vcrew *c)
{
	char when[DATE_BYTES];
	if (find_crew(o, v, a->crew, c) < 0)
		return -1;
	if (!a->pin)
		return fail(o, EX_USAGE, "usage", "This needs your PIN (--pin, or let vesselctl ask "
			    "for it).");
	int64_t now = now_of(v);
	struct pin_account acc = {.fails = c->fails, .locked_until = c->locked_until};
	if (pin_locked(&acc, now)) {
		if (acc.locked_until == VSTORE_LOCKED_FOREVER)
			return fail(o, EX_NOPERM, "locked", "Your account is locked by the captain. "
				    "Ask the captain to unlock it.");
		return fail(o, EX_NOPERM, "locked", "Your account is locked after too many wrong "
			    "PINs. Try again after %s, or ask the captain to unlock it.",
			    local_time(v, acc.locked_until, when, sizeof when));
	}
	bool ok = pin_verify(c->pin_hash, a->pin) == 0;
	struct pin_account next = pin_after_attempt(acc, &v->cfg.pin, ok, now);
	if (next.fails != acc.fails || next.locked_until != acc.locked_until) {
		int rc = vstore_crew_set_lock(v->st, c->id, next.fails, next.locked_until);
		if (rc < 0)
			return db_fail(o, v, rc);
	}
	if (ok)
		return 0;
	if (pin_locked(&next, now))
		return fail(o, EX_NOPERM, "locked", "Wrong PIN. Your account is now locked until %s. "
			    "Ask the captain if you forgot your PIN.",
			    local_time(v, next.locked_until, when, sizeof when));
	return fail(o, EX_NOPERM, "wrong_pin", "Wrong PIN. %" PRIu32 " more wrong PIN%s and your "
		    "account locks for %" PRId64 " minutes.", v->cfg.pin.max_failures - next.fails,
		    v->cfg.pin.max_failures - next.fails == 1 ? "" : "s",
		    (v->cfg.pin.lock_time_s + 59) / 60);
}

static int need_admin(struct out *o, const struct vctl *v, const struct ctl_peer *p)
{
	return is_admin(v, p) ? 0 : fail(o, EX_NOPERM, "not_admin", ADMIN_ONLY
					 " Crew commands need --crew ID and your PIN.");
}

/* ---- texts --------------------------------------------------------------- */

/* The message text from the positional words after skip; refuses empty,
 * invalid UTF-8 and over-long texts. */
static int get_text(struct out *o, const struct args *a, int from, bool optional, size_t max,
		    char *buf, size_t cap, size_t *len)
{
	*len = join(a, from, buf, cap);
	if (*len == 0 && !optional)
		return fail(o, EX_USAGE, "usage", "Write the message after the command, in quotes: "
			    "vesselctl send --crew 3 --to 1 \"Hello\".");
	if (*len > max)
		return fail(o, EX_DATAERR, "too_long", "This message is too long: one message holds "
			    "at most %zu bytes. Split it into shorter messages.", max);
	if (!json_utf8_valid(buf, *len))
		return fail(o, EX_DATAERR, "bad_text", "This message has bytes that are not text "
			    "(not UTF-8). Type it again, or set your terminal to UTF-8.");
	return 0;
}

int vctl_warn_parse(const char *s, uint32_t *out, size_t max)
{
	int n = 0;
	while (*s) {
		char *e;
		unsigned long v = strtoul(s, &e, 10);
		if (e == s || v < 1 || v > QUOTA_PERCENT_MAX || (size_t)n >= max)
			return -1;
		out[n++] = (uint32_t)v;
		for (s = e; *s == ' ' || *s == ','; s++)
			;
	}
	return n;
}

/* No control characters (tab included): text that reaches a terminal. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/* A mail domain: letters, digits, dots and hyphens, a dot inside. */
static bool domain_valid(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || d[0] == '.' || d[n - 1] == '.' || !strchr(d, '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
		      (d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == '-'))
			return false;
	return true;
}

int vctl_address_check(const char *s, char *why, size_t cap)
{
	size_t n = strlen(s);
	if (n > RECORD_ADDRESS_MAX) {
		snprintf(why, cap, "An address has at most %u characters.", RECORD_ADDRESS_MAX);
		return ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			snprintf(why, cap, "An address has no spaces or control characters.");
			return ERR_INVAL;
		}
	if (strncmp(s, "mailto:", 7) == 0) {
		const char *at = strchr(s + 7, '@');
		if (at && at > s + 7 && domain_valid(at + 1))
			return 0;
		snprintf(why, cap, "An e-mail address looks like mailto:name@example.com.");
		return ERR_INVAL;
	}
	if (strncmp(s, "tel:", 4) == 0) {
		const char *d = s + 4;
		size_t digits = 0;
		if (*d == '+')
			d++;
		for (; *d >= '0' && *d <= '9'; d++)
			digits++;
		if (s[4] == '+' && !*d && digits >= 7 && digits <= 15)
			return 0;
		snprintf(why, cap, "A phone number is tel: then + and the country code and number, "
			 "digits only: tel:+66812345678.");
		return ERR_INVAL;
	}
	if (strncmp(s, "webhook:", 8) == 0) {
		const char *d = s + 8;
		size_t k = 0;
		for (; d[k]; k++)
			if (!((d[k] >= 'a' && d[k] <= 'z') || (d[k] >= 'A' && d[k] <= 'Z') ||
			      (d[k] >= '0' && d[k] <= '9') || d[k] == '.' || d[k] == '_' || d[k] == '-'))
				break;
		if (k >= 1 && k <= 64 && !d[k])
			return 0;
		snprintf(why, cap, "A chat gateway contact is webhook:NAME (letters, digits, . _ -).");
		return ERR_INVAL;
	}
	snprintf(why, cap, "Use mailto:name@example.com for e-mail, tel:+66812345678 for SMS, or "
		 "webhook:NAME for a chat gateway.");
	return ERR_INVAL;
}

/* ---- crew member commands ------------------------------------------------- */

static void quota_json(struct out *o, uint64_t used, uint64_t allowance, uint32_t reset_period)
{
	char date[DATE_BYTES];
	reset_date(reset_period, date, sizeof date);
	json_kv_uint(&o->j, "used", used);
	json_kv_uint(&o->j, "allowance", allowance);
	json_kv_uint(&o->j, "remaining", used >= allowance ? 0 : allowance - used);
	json_kv_string(&o->j, "resets", date);
}

static void kick(struct vctl *v)
{
	if (v->queued)
		v->queued(v->hook_ctx);
}

static int cmd_send(struct out *o, struct vctl *v, const struct args *a)
{
	struct vcrew c;
	uint32_t ref;
	char text[VCTL_TEXT_MAX + 2], addr[RECORD_ADDRESS_MAX + 1], buf[QUOTA_DESCRIBE_MAX_BYTES];
	size_t len;
	if (crew_auth(o, v, a, &c) < 0)
		return -1;
	if (!a->to || !parse_u32(a->to, &ref))
		return fail(o, EX_USAGE, "usage", "Say who gets it with --to REF (the number of your "
			    "contact; `vesselctl contact list --crew %" PRIu32 "` shows them).", c.id);
	int rc = vstore_contact_get(v->st, c.id, ref, addr, sizeof addr, NULL, 0);
	if (rc == ERR_NOTFOUND)
		return fail(o, VCTL_EX_NOUSER, "no_contact", "You have no contact %" PRIu32 ". "
			    "`vesselctl contact list --crew %" PRIu32 "` shows yours; `contact add` "
			    "adds one.", ref, c.id);
	if (rc < 0)
		return db_fail(o, v, rc);
	if (get_text(o, a, 0, false, VCTL_TEXT_MAX, text, sizeof text, &len) < 0)
		return -1;
	int64_t now = now_of(v);
	uint32_t period;
	uint64_t used;
	struct quota_decision d;
	if ((rc = quota_period(now, v->cfg.zone, &period)) < 0 ||
	    (rc = vstore_quota_used(v->st, c.id, period, &used)) < 0)
		return db_fail(o, v, rc);
	rc = quota_check(used, v->cfg.allowance, (const uint8_t *)text, len, now, v->cfg.zone, &d);
	if (rc == ERR_QUOTA) {
		/* Kept (with the usage level) for the shore's monthly statement. */
		if ((rc = qreport_refusal_add(v->st, c.id, period, now, used, len)) < 0)
			return db_fail(o, v, rc);
		kick(v);
		if (quota_describe(&d, c.lang, buf, sizeof buf) < 0)
			buf[0] = '\0';
		fail(o, EX_TEMPFAIL, "quota", "%s", buf);
		json_fini(&o->j);
		json_init(&o->j);
		json_object_begin(&o->j);
		json_kv_string(&o->j, "error", "quota");
		quota_json(o, used, d.allowance, d.reset_period);
		json_kv_string(&o->j, "message", buf);
		json_object_end(&o->j);
		return -1;
	}
	if (rc < 0)
		return fail(o, EX_DATAERR, "bad_text", "This message cannot be counted (%s).",
			    err_str(rc));
	struct vmsg_new m = {.crew_id = c.id, .kind = VMSG_TEXT, .contact_ref = ref,
			     .body = (const uint8_t *)text, .body_len = len, .text_bytes = len,
			     .quota_bytes = len, .ts = now, .period = period};
	uint64_t id;
	if ((rc = vstore_msg_add(v->st, &m, &id)) < 0)
		return db_fail(o, v, rc);
	kick(v);
	if (quota_describe(&d, c.lang, buf, sizeof buf) < 0)
		buf[0] = '\0';
	say(o, "Queued as message %" PRIu64 " to %s. %s", id, addr, buf);
	int w = quota_warning(used, used + len, d.allowance, v->cfg.warn, v->cfg.nwarn);
	if (w > 0)
		say(o, " Note: you have now used %d%% of this month's allowance.", w);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "msg_id", id);
	json_kv_string(&o->j, "state", "queued");
	quota_json(o, used + len, d.allowance, d.reset_period);
	json_object_end(&o->j);
	return 0;
}

/* complain and sos: never counted, first in the queue (SOS before all). */
static int cmd_free(struct out *o, struct vctl *v, const struct args *a, enum vmsg_kind kind)
{
	struct vcrew c;
	char text[COMPLAINT_TEXT_MAX + 2];
	size_t len;
	enum complaint_category cat = COMPLAINT_CAT_OTHER;
	if (crew_auth(o, v, a, &c) < 0)
		return -1;
	if (kind == VMSG_COMPLAINT && !v->inspector_pk)
		return fail(o, VCTL_EX_UNAVAILABLE, "no_inspector", "Complaints are not set up on this "
			    "vessel yet (no inspector key). Ask the operator to install the labour "
			    "inspectors' public key (inspector_key in vesseld.conf). SOS still works.");
	if (kind == VMSG_COMPLAINT && a->category && complaint_category_parse(a->category, &cat) < 0)
		return fail(o, EX_USAGE, "usage", "Say what the complaint is about with --category: "
			    "vulnerability, deception, movement, isolation, violence, threats, "
			    "documents, wages, debt, conditions, overtime, injury or other (or 1-13).");
	int rc = get_text(o, a, 0, kind == VMSG_SOS, kind == VMSG_SOS ? VCTL_TEXT_MAX : COMPLAINT_TEXT_MAX,
			  text, sizeof text, &len);
	if (rc < 0) {
		sodium_memzero(text, sizeof text);
		return -1;
	}
	int64_t now = now_of(v);
	uint32_t period;
	uint64_t id;
	if ((rc = quota_period(now, v->cfg.zone, &period)) < 0) {
		sodium_memzero(text, sizeof text);
		return db_fail(o, v, rc);
	}
	if (kind == VMSG_COMPLAINT) {
		struct vcomplain k = {.vessel_id = v->vessel_id, .crew_id = c.id, .category = cat,
				      .ts = now, .period = period, .text = (const uint8_t *)text,
				      .len = len, .sign_sk = v->sign_sk, .inspector_pk = v->inspector_pk};
		rc = vcomplain_submit(v->st, &k, &id);
		sodium_memzero(text, sizeof text);
		if (rc == ERR_UTF8 || rc == ERR_TOOBIG || rc == ERR_INVAL || rc == ERR_CRYPTO || rc == ERR_FULL)
			return fail(o, EX_SOFTWARE, "internal", "The complaint could not be sealed (%s). "
				    "Nothing was stored. Try again.", err_str(rc));
	} else {
		struct vmsg_new m = {.crew_id = c.id, .kind = kind, .body = (const uint8_t *)text,
				     .body_len = len, .text_bytes = len, .ts = now, .period = period};
		rc = vstore_msg_add(v->st, &m, &id);
	}
	if (rc < 0)
		return db_fail(o, v, rc);
	kick(v);
	if (kind == VMSG_COMPLAINT)
		say(o, "Complaint queued as message %" PRIu64 " (%s). Only the labour inspectors can "
		    "read it. It does not count against your allowance. `vesselctl status --crew %"
		    PRIu32 "` shows when it arrives; updates come to your inbox.", id,
		    complaint_category_title((int)cat), c.id);
	else
		say(o, "SOS queued as message %" PRIu64 ". It goes before every other message and is "
		    "sent again until the shore has it. `vesselctl status --crew %" PRIu32 "` shows "
		    "when the shore has it.", id, c.id);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "msg_id", id);
	json_object_end(&o->j);
	return 0;
}

static int cmd_contact(struct out *o, struct vctl *v, const struct args *a);

static int contact_row(void *ctx, uint32_t ref, const char *address, const char *name)
{
	struct out *o = ctx;
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "ref", ref);
	json_kv_string(&o->j, "address", address);
	json_kv_string(&o->j, "name", name);
	json_object_end(&o->j);
	say(o, "%4" PRIu32 "  %s%s%s\n", ref, address, *name ? "  " : "", name);
	return 0;
}

static int cmd_contact(struct out *o, struct vctl *v, const struct args *a)
{
	struct vcrew c;
	char why[256];
	const char *sub = a->npos > 0 ? a->pos[0] : "";
	bool add = strcmp(sub, "add") == 0;
	if (!add && strcmp(sub, "list") != 0)
		return fail(o, EX_USAGE, "usage", "Use `contact add --crew ID ADDRESS [--name NAME]` "
			    "or `contact list --crew ID`.");
	if (crew_auth(o, v, a, &c) < 0)
		return -1;
	int rc;
	if (!add) {
		json_object_begin(&o->j);
		json_key(&o->j, "contacts");
		json_array_begin(&o->j);
		if ((rc = vstore_contact_each(v->st, c.id, contact_row, o)) < 0)
			return db_fail(o, v, rc);
		json_array_end(&o->j);
		json_object_end(&o->j);
		if (o->tlen == 0)
			say(o, "You have no contacts yet. Add one: vesselctl contact add --crew %" PRIu32
			    " mailto:name@example.com --name \"Mother\"\n", c.id);
		return 0;
	}
	if (a->npos != 2)
		return fail(o, EX_USAGE, "usage", "Give one address: vesselctl contact add --crew %"
			    PRIu32 " tel:+66812345678 --name \"Mother\".", c.id);
	const char *addr = a->pos[1], *name = a->name ? a->name : "";
	if (vctl_address_check(addr, why, sizeof why) < 0)
		return fail(o, EX_DATAERR, "bad_address", "Not an address vesseld can use: %s", why);
	if (strlen(name) > RECORD_NAME_MAX || !json_utf8_valid(name, strlen(name)) ||
	    !printable(name, strlen(name)))
		return fail(o, EX_DATAERR, "bad_name", "A contact name is text of at most %u bytes, "
			    "without control characters.", RECORD_NAME_MAX);
	int64_t now = now_of(v);
	uint32_t period, ref;
	uint64_t id;
	if ((rc = quota_period(now, v->cfg.zone, &period)) < 0 ||
	    (rc = vstore_contact_add(v->st, c.id, addr, name, now, period, &ref, &id)) < 0)
		return db_fail(o, v, rc);
	kick(v);
	say(o, "Contact %" PRIu32 " is %s. Send to it with: vesselctl send --crew %" PRIu32
	    " --to %" PRIu32 " \"your text\"", ref, addr, c.id, ref);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "contact_ref", ref);
	json_kv_uint(&o->j, "msg_id", id);
	json_object_end(&o->j);
	return 0;
}

static int inbox_row(void *ctx, const struct vinbox *i)
{
	void **p = ctx;
	struct out *o = p[0];
	struct vctl *v = p[1];
	char when[DATE_BYTES];
	json_object_begin(&o->j);
	json_kv_int(&o->j, "id", i->id);
	json_kv_string(&o->j, "kind", i->is_case ? "case" : "reply");
	json_kv_uint(&o->j, "contact_ref", i->contact_ref);
	json_kv_int(&o->j, "ts", i->ts);
	json_kv_string(&o->j, "text", i->text);
	if (i->is_case) {
		json_kv_uint(&o->j, "case_ref", i->shore_id);
		json_kv_string(&o->j, "status", vcase_status_name(i->status));
	}
	json_object_end(&o->j);
	local_time(v, i->ts, when, sizeof when);
	if (i->is_case)
		say(o, "[%" PRId64 "] %s  your complaint %" PRIu64 ": %s%s%s\n", i->id, when, i->shore_id,
		    vcase_status_name(i->status), *i->text ? ". " : "", i->text);
	else
		say(o, "[%" PRId64 "] %s  from contact %" PRIu32 ": %s\n", i->id, when, i->contact_ref,
		    i->text);
	return 0;
}

static int cmd_inbox(struct out *o, struct vctl *v, const struct args *a)
{
	struct vcrew c;
	if (crew_auth(o, v, a, &c) < 0)
		return -1;
	void *ctx[2] = {o, v};
	json_object_begin(&o->j);
	json_key(&o->j, "inbox");
	json_array_begin(&o->j);
	int rc = vstore_inbox_each(v->st, c.id, c.inbox_floor, inbox_row, ctx);
	if (rc < 0)
		return db_fail(o, v, rc);
	json_array_end(&o->j);
	json_object_end(&o->j);
	if (o->tlen == 0)
		say(o, "Your inbox is empty. Replies from your contacts will show here.\n");
	return 0;
}

static const char *reason_name(uint32_t r)
{
	switch (r) {
	case RECORD_REASON_NONE: return "";
	case RECORD_REASON_UNKNOWN_CONTACT: return "unknown contact";
	case RECORD_REASON_UNDELIVERABLE: return "undeliverable";
	case RECORD_REASON_REFUSED: return "refused";
	case RECORD_REASON_EXPIRED: return "expired";
	default: return "other";
	}
}

static const char *state_words(enum vmsg_state s)
{
	switch (s) {
	case VMSG_QUEUED: return "waiting on board";
	case VMSG_SENT: return "on its way";
	case VMSG_ACCEPTED: return "arrived ashore";
	case VMSG_DELIVERED: return "delivered";
	default: return "FAILED";
	}
}

static int msg_row(void *ctx, const struct vmsg *m)
{
	void **p = ctx;
	struct out *o = p[0];
	struct vctl *v = p[1];
	uint32_t cs = 0;
	bool has_case = false;
	if (m->kind == VMSG_COMPLAINT) {    /* the inspectors' latest word on it */
		int rc = vstore_case_status(v->st, m->id, &cs);
		if (rc < 0 && rc != ERR_NOTFOUND)
			return rc;
		has_case = rc == 0;
	}
	const char *to = m->kind == VMSG_TEXT ? (m->to ? m->to : "") :
			 m->kind == VMSG_COMPLAINT ? "inspectors" :
			 m->kind == VMSG_SOS ? "SOS" : "(new contact)";
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "msg_id", m->id);
	json_kv_string(&o->j, "kind", vmsg_kind_name(m->kind));
	json_kv_string(&o->j, "to", to);
	json_kv_string(&o->j, "state", vmsg_state_name(m->state));
	json_kv_string(&o->j, "reason", reason_name(m->reason));
	json_kv_uint(&o->j, "text_bytes", m->text_bytes);
	json_kv_int(&o->j, "ts", m->ts);
	if (has_case)
		json_kv_string(&o->j, "case_status", vcase_status_name(cs));
	json_object_end(&o->j);
	say(o, "%6" PRIu64 "  %-9s %-28s %s%s%s%s%s\n", m->id, vmsg_kind_name(m->kind), to,
	    state_words(m->state), m->reason ? ": " : "", reason_name(m->reason),
	    has_case ? "; case " : "", has_case ? vcase_status_name(cs) : "");
	return 0;
}

static int crew_quota(struct out *o, struct vctl *v, const struct vcrew *c, bool list)
{
	char when[DATE_BYTES];
	int64_t now = now_of(v), reset_at;
	uint32_t period;
	uint64_t used;
	int rc;
	if ((rc = quota_period(now, v->cfg.zone, &period)) < 0 ||
	    (rc = quota_period_end(period, v->cfg.zone, &reset_at)) < 0 ||
	    (rc = vstore_quota_used(v->st, c->id, period, &used)) < 0)
		return db_fail(o, v, rc);
	uint64_t al = v->cfg.allowance, left = used >= al ? 0 : al - used, refusals = 0;
	if (list && (rc = qreport_refusals(v->st, c->id, period, &refusals)) < 0)
		return db_fail(o, v, rc);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "crew_id", c->id);
	if (list)
		json_kv_string(&o->j, "name", c->name);
	quota_json(o, used, al, quota_period_next(period));
	if (list) {             /* the fields of the shore's monthly statement */
		char month[DATE_BYTES];
		snprintf(month, sizeof month, "%04u-%02u", (unsigned)(period / 100u),
			 (unsigned)(period % 100u));
		json_kv_string(&o->j, "month", month);
		json_kv_uint(&o->j, "refusals", refusals);
	}
	json_object_end(&o->j);
	local_time(v, reset_at, when, sizeof when);
	if (list)
		say(o, "%4" PRIu32 "  %-20s %10" PRIu64 " of %" PRIu64 " bytes used, %" PRIu64 " left, "
		    "%" PRIu64 " refused\n", c->id, c->name, used, al, left, refusals);
	else
		say(o, "You have used %" PRIu64 " of %" PRIu64 " bytes this month; %" PRIu64 " are left. "
		    "It starts again at %s. Complaints and SOS are always free.", used, al, left, when);
	return 0;
}

static int quota_row(void *ctx, const struct vcrew *c)
{
	void **p = ctx;
	return crew_quota(p[0], p[1], c, true) < 0 ? -1 : 0;
}

static int cmd_quota(struct out *o, struct vctl *v, const struct ctl_peer *peer, const struct args *a)
{
	struct vcrew c;
	if (!a->all) {
		if (crew_auth(o, v, a, &c) < 0)
			return -1;
		return crew_quota(o, v, &c, false);
	}
	if (need_admin(o, v, peer) < 0)
		return -1;
	void *ctx[2] = {o, v};
	json_object_begin(&o->j);
	json_key(&o->j, "crew");
	json_array_begin(&o->j);
	int rc = vstore_crew_each(v->st, quota_row, ctx);
	if (rc == -1)
		return -1;
	if (rc < 0)
		return db_fail(o, v, rc);
	json_array_end(&o->j);
	json_object_end(&o->j);
	return 0;
}

static int cmd_status(struct out *o, struct vctl *v, const struct ctl_peer *peer, const struct args *a)
{
	int rc;
	if (a->crew) {
		uint64_t limit = VCTL_LIST_MAX;
		if (a->limit) {
			char *end;
			errno = 0;
			limit = strtoull(a->limit, &end, 10);
			if (errno || *end || end == a->limit || limit == 0 || limit > VCTL_LIST_LIMIT_MAX)
				return fail(o, EX_USAGE, "usage", "--limit takes a whole number from 1 to %u "
					    "(the newest messages are listed first).", VCTL_LIST_LIMIT_MAX);
		}
		struct vcrew c;
		if (crew_auth(o, v, a, &c) < 0)
			return -1;
		json_object_begin(&o->j);
		json_key(&o->j, "messages");
		json_array_begin(&o->j);
		void *ctx[2] = {o, v};
		if ((rc = vstore_msg_each_crew(v->st, c.id, c.msg_floor, (uint32_t)limit, msg_row, ctx)) < 0)
			return db_fail(o, v, rc);
		json_array_end(&o->j);
		json_object_end(&o->j);
		if (o->tlen == 0)
			say(o, "You have sent no messages yet.\n");
		return 0;
	}
	if (need_admin(o, v, peer) < 0)
		return -1;
	struct vcounts n;
	if ((rc = vstore_counts(v->st, &n)) < 0)
		return db_fail(o, v, rc);
	bool up = v->link_up && v->link_up(v->hook_ctx);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "link", up ? "up" : "down");
	for (int s = 0; s < VMSG_STATE_COUNT; s++)
		json_kv_uint(&o->j, vmsg_state_name((enum vmsg_state)s), n.state[s]);
	json_kv_uint(&o->j, "bundles_stored", n.bundles);
	json_kv_uint(&o->j, "crew", n.crew);
	json_object_end(&o->j);
	say(o, "link %s; messages: %" PRIu64 " waiting on board, %" PRIu64 " on their way, %" PRIu64
	    " arrived ashore, %" PRIu64 " delivered, %" PRIu64 " failed; %" PRIu64 " bundles kept "
	    "for resending; %" PRIu64 " crew.", up ? "up" : "down", n.state[VMSG_QUEUED],
	    n.state[VMSG_SENT], n.state[VMSG_ACCEPTED], n.state[VMSG_DELIVERED], n.state[VMSG_FAILED],
	    n.bundles, n.crew);
	return 0;
}

/* ---- captain commands ------------------------------------------------------ */

static bool lang_valid(const char *s)
{
	size_t n = strlen(s), i = 0;
	if (n < 2 || n > VSTORE_LANG_MAX)
		return false;
	for (; i < n && s[i] >= 'a' && s[i] <= 'z'; i++)
		;
	if (i < 2 || i > 3)
		return false;
	for (; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= VSTORE_NAME_MAX && json_utf8_valid(s, n) && printable(s, n);
}

static int count_crew(void *ctx, const struct vcrew *c)
{
	(void)c;
	(*(size_t *)ctx)++;
	return 0;
}

static int crew_row(void *ctx, const struct vcrew *c)
{
	void **p = ctx;
	struct out *o = p[0];
	struct vctl *v = p[1];
	struct pin_account acc = {.fails = c->fails, .locked_until = c->locked_until};
	bool locked = pin_locked(&acc, now_of(v));
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "id", c->id);
	json_kv_string(&o->j, "name", c->name);
	json_kv_string(&o->j, "lang", c->lang);
	json_kv_bool(&o->j, "locked", locked);
	json_object_end(&o->j);
	say(o, "%4" PRIu32 "  %-24s %-6s%s\n", c->id, c->name, c->lang, locked ? "  LOCKED" : "");
	return 0;
}

static int cmd_crew(struct out *o, struct vctl *v, const struct ctl_peer *peer, const struct args *a)
{
	const char *sub = a->npos > 0 ? a->pos[0] : "";
	char hash[PIN_HASH_BYTES], name[VSTORE_NAME_MAX + 2];
	struct vcrew c;
	int rc;
	int64_t now = now_of(v);
	bool self_pin = strcmp(sub, "set-pin") == 0 && a->new_pin;
	if (!self_pin && need_admin(o, v, peer) < 0)
		return -1;
	if (strcmp(sub, "add") == 0) {
		size_t nc = 0;
		const char *lang = a->lang ? a->lang : "en";
		if (join(a, 1, name, sizeof name) == 0 || !name_valid(name))
			return fail(o, EX_USAGE, "usage", "Give the crew member's name (at most %u bytes): "
				    "vesselctl crew add \"Aung Ko\" --lang my --pin 1234.", VSTORE_NAME_MAX);
		if (!lang_valid(lang))
			return fail(o, EX_USAGE, "usage", "--lang wants a language code such as my, km, "
				    "lo, th or en.");
		if (!pin_valid(a->pin))
			return fail(o, EX_USAGE, "usage", "Give a first PIN of %u to %u digits with --pin; "
				    "the crew member can change it later.", PIN_DIGITS_MIN, PIN_DIGITS_MAX);
		if ((rc = vstore_crew_each(v->st, count_crew, &nc)) < 0)
			return db_fail(o, v, rc);
		if (nc >= VCTL_CREW_MAX)
			return fail(o, EX_DATAERR, "full", "This vessel already has %u crew accounts, the "
				    "most vesseld serves.", VCTL_CREW_MAX);
		uint32_t id;
		if ((rc = pin_hash(a->pin, hash)) < 0 ||
		    (rc = vstore_crew_add(v->st, name, lang, hash, now, &id)) < 0)
			return db_fail(o, v, rc);
		say(o, "Crew member %" PRIu32 " is %s. Give them their number %" PRIu32 " and PIN; "
		    "they should change the PIN with: vesselctl crew set-pin %" PRIu32 " --new-pin NEW",
		    id, name, id, id);
		json_object_begin(&o->j);
		json_kv_uint(&o->j, "crew_id", id);
		json_object_end(&o->j);
		return 0;
	}
	if (strcmp(sub, "list") == 0) {
		void *ctx[2] = {o, v};
		json_object_begin(&o->j);
		json_key(&o->j, "crew");
		json_array_begin(&o->j);
		if ((rc = vstore_crew_each(v->st, crew_row, ctx)) < 0)
			return db_fail(o, v, rc);
		json_array_end(&o->j);
		json_object_end(&o->j);
		if (o->tlen == 0)
			say(o, "No crew yet. Add one: vesselctl crew add NAME --lang my --pin 1234\n");
		return 0;
	}
	bool lock = strcmp(sub, "lock") == 0, unlock = strcmp(sub, "unlock") == 0;
	if (!lock && !unlock && strcmp(sub, "set-pin") != 0)
		return fail(o, EX_USAGE, "usage", "Use crew add, list, lock, unlock or set-pin. Run "
			    "`vesselctl help`.");
	if (a->npos != 2)
		return fail(o, EX_USAGE, "usage", "Give the crew number: vesselctl crew %s ID.", sub);
	struct args who = *a;
	who.crew = a->pos[1];
	if (self_pin) {
		if (crew_auth(o, v, &who, &c) < 0)
			return -1;
	} else if (find_crew(o, v, who.crew, &c) < 0) {
		return -1;
	}
	if (lock || unlock) {
		if ((rc = vstore_crew_set_lock(v->st, c.id, 0, lock ? VSTORE_LOCKED_FOREVER : 0)) < 0)
			return db_fail(o, v, rc);
		say(o, "Crew member %" PRIu32 " (%s) is %s.", c.id, c.name, lock ? "locked: no crew "
		    "command works for them until `crew unlock`" : "unlocked");
	} else {
		const char *pin = self_pin ? a->new_pin : a->pin;
		if (!pin_valid(pin))
			return fail(o, EX_USAGE, "usage", "A PIN is %u to %u digits.", PIN_DIGITS_MIN,
				    PIN_DIGITS_MAX);
		if ((rc = pin_hash(pin, hash)) < 0 ||
		    (rc = vstore_crew_set_pin(v->st, c.id, hash, !self_pin, now)) < 0)
			return db_fail(o, v, rc);
		if (self_pin)
			say(o, "Your PIN is changed. Keep it to yourself.");
		else
			say(o, "PIN of crew member %" PRIu32 " (%s) reset and account unlocked. Their "
			    "earlier inbox and message list are hidden from the new PIN.", c.id, c.name);
	}
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "crew_id", c.id);
	json_object_end(&o->j);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

static int dispatch(struct out *o, struct vctl *v, const struct ctl_peer *peer, int argc,
		    char *const argv[])
{
	struct args a;
	if (argc < 1 || strcmp(argv[0], "help") == 0) {
		say(o, "%s", vctl_usage);
		json_object_begin(&o->j);
		json_kv_string(&o->j, "usage", vctl_usage);
		json_object_end(&o->j);
		return 0;
	}
	if (parse_args(o, argc, argv, &a) < 0)
		return -1;
	const char *cmd = argv[0];
	if (strcmp(cmd, "send") == 0)
		return cmd_send(o, v, &a);
	if (strcmp(cmd, "complain") == 0)
		return cmd_free(o, v, &a, VMSG_COMPLAINT);
	if (strcmp(cmd, "sos") == 0)
		return cmd_free(o, v, &a, VMSG_SOS);
	if (strcmp(cmd, "contact") == 0)
		return cmd_contact(o, v, &a);
	if (strcmp(cmd, "inbox") == 0)
		return cmd_inbox(o, v, &a);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(o, v, peer, &a);
	if (strcmp(cmd, "quota") == 0)
		return cmd_quota(o, v, peer, &a);
	if (strcmp(cmd, "crew") == 0)
		return cmd_crew(o, v, peer, &a);
	return fail(o, EX_USAGE, "usage", "Unknown command \"%s\". Run `vesselctl help` to see the "
		    "commands.", cmd);
}

int vctl_handle(struct vctl *v, const struct ctl_peer *peer, int argc, char *const argv[],
		struct vctl_result *r)
{
	struct out *o = calloc(1, sizeof *o);
	if (!o)
		return ERR_NOMEM;
	memset(r, 0, sizeof *r);
	o->r = r;
	json_init(&o->j);
	if (dispatch(o, v, peer, argc, argv) == 0)
		r->status = EX_OK;
	int rc = json_finish(&o->j, &r->json, NULL);
	if (rc < 0) {   /* a listing cut short by an error: answer with the error only */
		json_fini(&o->j);
		r->json = strdup("{}");
	}
	while (o->tlen > 0 && o->text[o->tlen - 1] == '\n')
		o->text[--o->tlen] = '\0';
	r->text = strdup(o->text);
	free(o);
	if (!r->text || !r->json) {
		vctl_result_free(r);
		return ERR_NOMEM;
	}
	return 0;
}

void vctl_result_free(struct vctl_result *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->json);
	r->text = r->json = NULL;
}
