/*
 * sctl.c — shored's control commands (see sctl.h for the list).
 *
 * What it is for: operators register and suspend vessels, look at messages
 * and alerts, retry deliveries and send replies, as text for people and as
 * JSON for scripts and tests; both are built from the same rows.
 *
 * Invariants: mutating commands need an admin peer (uid 0 or the daemon's
 * euid); a command either answers from one consistent read or changes the
 * store with one statement/transaction; a complaint's sealed blob is never
 * shown (only its size); registry changes are pushed to ingest at once.
 *
 * Failure behaviour: bad usage -> 64 with the usage line of the command;
 * unknown vessel or message -> 67; database failure -> 70 with the
 * database's text.  Nothing here exits.
 */
#include "shore/sctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "common/json.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/stmtfmt.h"
#include "proto/record.h"
#include "shore/cases.h"

#define SAY_BYTES 1024u                /* one say() formatted on the stack */
#define OPTS_MAX 8u
#define POS_MAX 4u

const char sctl_usage[] =
	"shorectl [--socket PATH] [--json] COMMAND ...\n"
	"  vessel add ID --name NAME --key PATH.public   register a vessel (admin)\n"
	"  vessel list | vessel show ID\n"
	"  vessel suspend ID | vessel resume ID          refuse / accept its bundles (admin)\n"
	"  contact list [--vessel V]\n"
	"  messages list [--vessel V] [--crew C] [--state accepted|delivered|failed]\n"
	"                [--since UNIX] [--limit N]\n"
	"  messages show V MSGID\n"
	"  deliveries retry V MSGID                      deliver again now (admin)\n"
	"  reply --vessel V --crew C --contact REF TEXT  queue a reply to a crew member (admin)\n"
	"  alerts [--vessel V]\n"
	"  cases list [--vessel V] [--status S] | cases show CASE   complaint cases (metadata only)\n"
	"  cases update CASE --status received|assigned|investigating|resolved|closed\n"
	"                [--note TEXT] [--for-crew]      change a case; tells the crew member (admin)\n"
	"  cases blob CASE                               the sealed complaint for lifeline-inspect\n"
	"  statement --vessel V --month YYYY-MM         the month's signed statement (admin;\n"
	"                                                shorectl writes it with --out FILE)\n"
	"  status\n"
	"  help\n";

/* What one command writes. */
struct out {
	int status;
	FILE *tf;
	char *text;
	size_t tlen;
	struct json j;
};

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text for a terminal: what a vessel sent (contact names, addresses,
 * texts) may hold control characters; they are written as '?' so that no
 * escape sequence reaches the operator's terminal.  Newlines and tabs stay:
 * the listings are made of them. */
static void say(struct out *o, const char *fmt, ...)
{
	char buf[SAY_BYTES];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *p = buf;
	if (n >= (int)sizeof buf) {             /* a long text: format it again, whole */
		p = malloc((size_t)n + 1);
		if (!p)
			return;
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		fputc((c < ' ' && c != '\n' && c != '\t') || c == 0x7f ? '?' : c, o->tf);
	}
	if (p != buf)
		free(p);
}

/* An error: status, a sentence, and {"error": code, "message": text}. */
static void fail(struct out *o, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct out *o, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	o->status = status;
	fprintf(o->tf, "%s\n", msg);
	json_fini(&o->j);
	json_init(&o->j);
	json_object_begin(&o->j);
	json_kv_string(&o->j, "error", code);
	json_kv_string(&o->j, "message", msg);
	json_object_end(&o->j);
}

static void db_fail(struct out *o, struct sctl *c)
{
	fail(o, CTL_EX_SOFTWARE, "database", "database error: %s; see the shored log",
	     db_last_error(store_db(c->st)));
}

static int64_t now_s(struct sctl *c)
{
	return c->now ? c->now(c->now_ctx) : (int64_t)time(NULL);
}

/* ---- arguments ------------------------------------------------------------------ */

struct args {
	const char *opt[OPTS_MAX];     /* value of option i of the command's list */
	const char *pos[POS_MAX];
	size_t npos;
};

/* Splits argv[from..) into --name VALUE options (names[] NULL-terminated)
 * and positional words.  Returns false with a usage error written. */
static bool parse(struct out *o, int argc, char *const argv[], int from,
		  const char *const names[], size_t max_pos, struct args *a, const char *usage)
{
	memset(a, 0, sizeof *a);
	for (int i = from; i < argc; i++) {
		const char *w = argv[i];
		if (strncmp(w, "--", 2) == 0 && w[2]) {
			size_t k = 0;
			while (names[k] && strcmp(names[k], w + 2) != 0)
				k++;
			if (!names[k]) {
				fail(o, CTL_EX_USAGE, "usage", "unknown option %s; usage: %s", w, usage);
				return false;
			}
			if (i + 1 >= argc) {
				fail(o, CTL_EX_USAGE, "usage", "%s needs a value; usage: %s", w, usage);
				return false;
			}
			a->opt[k] = argv[++i];
			continue;
		}
		if (a->npos == max_pos || a->npos == POS_MAX) {
			fail(o, CTL_EX_USAGE, "usage", "unexpected '%s'; usage: %s", w, usage);
			return false;
		}
		a->pos[a->npos++] = w;
	}
	return true;
}

static bool num(struct out *o, const char *s, const char *what, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!s || *s < '0' || *s > '9' || errno || *end || x > max) {
		fail(o, CTL_EX_USAGE, "usage", "%s must be a whole number from 0 to %" PRIu64 ", not '%s'",
		     what, max, s ? s : "");
		return false;
	}
	*v = x;
	return true;
}

static bool id32(struct out *o, const char *s, const char *what, uint32_t *v)
{
	uint64_t x;
	if (!num(o, s, what, UINT32_MAX, &x))
		return false;
	if (x == 0) {
		fail(o, CTL_EX_USAGE, "usage", "%s must be 1 or more", what);
		return false;
	}
	*v = (uint32_t)x;
	return true;
}

static bool admin(struct out *o, struct sctl *c, const struct ctl_peer *p)
{
	if (p->uid == 0 || p->uid == c->admin_uid)
		return true;
	fail(o, CTL_EX_NOPERM, "not_admin", "only root or the shored user may do this; run it "
	     "with sudo -u (the user shored runs as)");
	return false;
}

static const char *state_name(int s)
{
	switch (s) {
	case RECORD_STATE_DELIVERED: return "delivered";
	case RECORD_STATE_FAILED: return "failed";
	default: return "accepted";
	}
}

static const char *reason_name(int64_t r)
{
	switch (r) {
	case RECORD_REASON_NONE: return "";
	case RECORD_REASON_UNKNOWN_CONTACT: return "unknown_contact";
	case RECORD_REASON_UNDELIVERABLE: return "undeliverable";
	case RECORD_REASON_REFUSED: return "refused";
	case RECORD_REASON_EXPIRED: return "expired";
	default: return "other";
	}
}

static int64_t ci(sqlite3_stmt *q, int i)
{
	return (int64_t)sqlite3_column_int64(q, i);
}

static const char *col(sqlite3_stmt *q, int i)
{
	const char *s = (const char *)sqlite3_column_text(q, i);
	return s ? s : "";
}

/* ---- vessel ---------------------------------------------------------------------- */

static const char sql_vessels[] =
	"SELECT v.id, v.name, v.state, v.last_contact, v.highest_seq, v.gaps, "
	"(SELECT count(*) FROM messages m WHERE m.vessel = v.id), v.hb_ts, v.hb_queue, "
	"v.hb_crew_registered, v.kx_pk, v.sign_pk FROM vessels v "
	"WHERE ?1 IS NULL OR v.id = ?1 ORDER BY v.id";

static void vessel_row(struct out *o, sqlite3_stmt *q, bool detail)
{
	struct keyfile_public pub = {.role = KEYFILE_ROLE_VESSEL};
	char kid[KEYFILE_KEYID_HEX_BYTES] = "";
	if (sqlite3_column_bytes(q, 10) == KEYFILE_KX_PK_BYTES &&
	    sqlite3_column_bytes(q, 11) == KEYFILE_SIGN_PK_BYTES) {
		memcpy(pub.kx_pk, sqlite3_column_blob(q, 10), KEYFILE_KX_PK_BYTES);
		memcpy(pub.sign_pk, sqlite3_column_blob(q, 11), KEYFILE_SIGN_PK_BYTES);
		/* keyfile.h: key id = BLAKE2b-256(sign public || kx public)[0..8) */
		uint8_t both[KEYFILE_SIGN_PK_BYTES + KEYFILE_KX_PK_BYTES], h[crypto_generichash_BYTES];
		memcpy(both, pub.sign_pk, KEYFILE_SIGN_PK_BYTES);
		memcpy(both + KEYFILE_SIGN_PK_BYTES, pub.kx_pk, KEYFILE_KX_PK_BYTES);
		crypto_generichash(h, sizeof h, both, sizeof both, NULL, 0);
		memcpy(pub.key_id, h, KEYFILE_KEYID_BYTES);
		keyfile_key_id_hex(&pub, kid);
	}
	int64_t id = ci(q, 0), last = ci(q, 3);
	const char *state = store_vessel_state_name((enum store_vessel_state)sqlite3_column_int(q, 2));
	json_object_begin(&o->j);
	json_kv_int(&o->j, "id", id);
	json_kv_string(&o->j, "name", col(q, 1));
	json_kv_string(&o->j, "state", state);
	json_kv_int(&o->j, "last_contact", last);
	json_kv_int(&o->j, "highest_seq", ci(q, 4));
	json_kv_int(&o->j, "gaps", ci(q, 5));
	json_kv_int(&o->j, "messages", ci(q, 6));
	json_kv_string(&o->j, "key_id", kid);
	if (detail) {
		json_kv_int(&o->j, "heartbeat_ts", ci(q, 7));
		json_kv_int(&o->j, "queue_depth", ci(q, 8));
		json_kv_int(&o->j, "crew_registered", ci(q, 9));
	}
	json_object_end(&o->j);
	say(o, "%-6" PRId64 " %-24s %-9s last contact %-10" PRId64 " seq %-6" PRId64 " gaps %-3" PRId64
	    " messages %" PRId64 "\n", id, col(q, 1), state, last, ci(q, 4),
	    ci(q, 5), ci(q, 6));
	if (detail)
		say(o, "  key id %s; last heartbeat %" PRId64 ": %" PRId64 " queued on board, %" PRId64
		    " crew registered\n", kid, ci(q, 7), ci(q, 8),
		    ci(q, 9));
}

/* Lists vessels (id 0: all); returns the rows written or -1 (db error). */
static int vessels(struct out *o, struct sctl *c, uint32_t id, bool detail)
{
	struct db *db = store_db(c->st);
	sqlite3_stmt *q = db_stmt(db, sql_vessels);
	if (!q || (id ? db_bind_int64(db, q, 1, id) : db_bind_null(db, q, 1)) < 0)
		return -1;
	int rc, n = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		vessel_row(o, q, detail);
		n++;
	}
	return rc < 0 ? -1 : n;
}

static void cmd_vessel(struct out *o, struct sctl *c, const struct ctl_peer *p, int argc,
		       char *const argv[])
{
	static const char *const names[] = {"name", "key", NULL};
	static const char u[] = "vessel add ID --name NAME --key PATH.public | vessel list | "
				"vessel show ID | vessel suspend ID | vessel resume ID";
	struct args a;
	const char *sub = argc > 1 ? argv[1] : "";
	uint32_t id = 0;
	if (!parse(o, argc, argv, 2, names, 1, &a, u))
		return;
	if (strcmp(sub, "list") == 0) {
		json_object_begin(&o->j);
		json_key(&o->j, "vessels");
		json_array_begin(&o->j);
		int n = vessels(o, c, 0, false);
		json_array_end(&o->j);
		json_object_end(&o->j);
		if (n < 0)
			db_fail(o, c);
		else if (n == 0)
			say(o, "no vessels registered; add one with: shorectl vessel add ID --name NAME "
			    "--key ID.public\n");
		return;
	}
	if (strcmp(sub, "add") && strcmp(sub, "show") && strcmp(sub, "suspend") && strcmp(sub, "resume")) {
		fail(o, CTL_EX_USAGE, "usage", "usage: %s", u);
		return;
	}
	if (a.npos != 1) {
		fail(o, CTL_EX_USAGE, "usage", "vessel %s needs the vessel's number; usage: %s", sub, u);
		return;
	}
	if (!id32(o, a.pos[0], "the vessel id", &id))
		return;
	if (strcmp(sub, "show") == 0) {
		int n = vessels(o, c, id, true);
		if (n < 0)
			db_fail(o, c);
		else if (n == 0)
			fail(o, SCTL_EX_NOUSER, "no_vessel", "no vessel %" PRIu32 "; see shorectl vessel list", id);
		return;
	}
	if (!admin(o, c, p))
		return;
	int rc;
	if (strcmp(sub, "add") == 0) {
		if (!a.opt[0] || !a.opt[1]) {
			fail(o, CTL_EX_USAGE, "usage", "vessel add needs --name and --key; usage: %s", u);
			return;
		}
		struct keyfile_public pub;
		struct keyfile_diag d = {0};
		if ((rc = keyfile_public_load(a.opt[1], &pub, &d)) < 0) {
			fail(o, CTL_EX_DATAERR, "bad_key", "cannot use %s: %s", a.opt[1], d.msg);
			return;
		}
		if (pub.role != KEYFILE_ROLE_VESSEL) {
			fail(o, CTL_EX_DATAERR, "bad_key", "%s is a %s key, not a vessel's; make one with "
			     "lifeline-keygen --role vessel", a.opt[1], keyfile_role_name(pub.role));
			return;
		}
		rc = store_vessel_add(c->st, id, a.opt[0], pub.sign_pk, pub.kx_pk, now_s(c));
		if (rc == ERR_DUP) {
			fail(o, CTL_EX_DATAERR, "exists", "vessel %" PRIu32 " is registered already; "
			     "see shorectl vessel show %" PRIu32, id, id);
			return;
		}
		if (rc == ERR_INVAL) {
			fail(o, CTL_EX_USAGE, "usage", "the name must be 1 to %u bytes", STORE_NAME_MAX);
			return;
		}
		if (rc < 0)
			{ db_fail(o, c); return; }
		char kid[KEYFILE_KEYID_HEX_BYTES];
		keyfile_key_id_hex(&pub, kid);
		ingest_vessel_forget(c->in, id);
		log_info("vessel %" PRIu32 " (%s) registered, key id %s", id, a.opt[0], kid);
		say(o, "vessel %" PRIu32 " (%s) registered, key id %s (file id %s)\n", id, a.opt[0], kid,
		    pub.id);
		json_object_begin(&o->j);
		json_kv_uint(&o->j, "id", id);
		json_kv_string(&o->j, "name", a.opt[0]);
		json_kv_string(&o->j, "state", "active");
		json_kv_string(&o->j, "key_id", kid);
		json_object_end(&o->j);
		return;
	}
	bool suspend = strcmp(sub, "suspend") == 0;
	rc = store_vessel_set_state(c->st, id, suspend ? STORE_VESSEL_SUSPENDED : STORE_VESSEL_ACTIVE);
	if (rc == ERR_NOTFOUND) {
		fail(o, SCTL_EX_NOUSER, "no_vessel", "no vessel %" PRIu32 "; see shorectl vessel list", id);
		return;
	}
	if (rc < 0)
		{ db_fail(o, c); return; }
	ingest_vessel_forget(c->in, id);
	if (suspend && c->sm)
		session_drop_vessel(c->sm, id);
	log_info("vessel %" PRIu32 " %s by the operator", id, suspend ? "suspended" : "resumed");
	say(o, "vessel %" PRIu32 " %s\n", id, suspend ? "suspended: its bundles are refused" :
	    "active again");
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "id", id);
	json_kv_string(&o->j, "state", suspend ? "suspended" : "active");
	json_object_end(&o->j);
}

/* ---- contacts ---------------------------------------------------------------------- */

static void cmd_contact(struct out *o, struct sctl *c, int argc, char *const argv[])
{
	static const char *const names[] = {"vessel", NULL};
	static const char u[] = "contact list [--vessel V]";
	static const char sql[] =
		"SELECT vessel, crew_id, contact_ref, address, name, channel, msg_id FROM contacts "
		"WHERE ?1 IS NULL OR vessel = ?1 ORDER BY vessel, crew_id, contact_ref";
	static const char *const chan[] = {"email", "sms", "chat"};
	struct args a;
	uint32_t v = 0;
	if (argc < 2 || strcmp(argv[1], "list") != 0) {
		fail(o, CTL_EX_USAGE, "usage", "usage: %s", u);
		return;
	}
	if (!parse(o, argc, argv, 2, names, 0, &a, u) || (a.opt[0] && !id32(o, a.opt[0], "--vessel", &v)))
		return;
	struct db *db = store_db(c->st);
	sqlite3_stmt *q = db_stmt(db, sql);
	if (!q || (v ? db_bind_int64(db, q, 1, v) : db_bind_null(db, q, 1)) < 0)
		{ db_fail(o, c); return; }
	json_object_begin(&o->j);
	json_key(&o->j, "contacts");
	json_array_begin(&o->j);
	int rc;
	while ((rc = db_step(db, q)) == DB_ROW) {
		int ch = sqlite3_column_int(q, 5);
		const char *cn = ch >= 0 && ch <= 2 ? chan[ch] : "?";
		json_object_begin(&o->j);
		json_kv_int(&o->j, "vessel", ci(q, 0));
		json_kv_int(&o->j, "crew_id", ci(q, 1));
		json_kv_int(&o->j, "contact_ref", ci(q, 2));
		json_kv_string(&o->j, "address", col(q, 3));
		json_kv_string(&o->j, "name", col(q, 4));
		json_kv_string(&o->j, "channel", cn);
		json_kv_int(&o->j, "msg_id", ci(q, 6));
		json_object_end(&o->j);
		say(o, "vessel %" PRId64 " crew %" PRId64 " contact %" PRId64 ": %s %s (%s)\n",
		    ci(q, 0), ci(q, 1), ci(q, 2),
		    col(q, 3), col(q, 4), cn);
	}
	json_array_end(&o->j);
	json_object_end(&o->j);
	if (rc < 0)
		db_fail(o, c);
}

/* ---- messages ------------------------------------------------------------------------ */

static const char sql_messages[] =
	"SELECT m.vessel, m.msg_id, m.crew_id, m.kind, m.contact_ref, coalesce(c.address, ''), "
	"m.state, m.reason, m.ts, m.received, m.attempts, m.error, m.body, m.bundle_seq "
	"FROM messages m LEFT JOIN contacts c ON c.vessel = m.vessel AND c.crew_id = m.crew_id "
	"AND c.contact_ref = m.contact_ref AND m.kind = 'text' "
	"WHERE (?1 IS NULL OR m.vessel = ?1) AND (?2 IS NULL OR m.crew_id = ?2) AND "
	"(?3 IS NULL OR m.state = ?3) AND (?4 IS NULL OR m.received >= ?4) AND "
	"(?5 IS NULL OR m.msg_id = ?5) ORDER BY m.vessel, m.msg_id LIMIT ?6";

static void message_row(struct out *o, sqlite3_stmt *q, bool detail)
{
	const char *kind = col(q, 3);
	int state = sqlite3_column_int(q, 6);
	int64_t reason = ci(q, 7);
	json_object_begin(&o->j);
	json_kv_int(&o->j, "vessel", ci(q, 0));
	json_kv_int(&o->j, "msg_id", ci(q, 1));
	json_kv_int(&o->j, "crew_id", ci(q, 2));
	json_kv_string(&o->j, "kind", kind);
	json_kv_int(&o->j, "contact_ref", ci(q, 4));
	json_kv_string(&o->j, "to", col(q, 5));
	json_kv_string(&o->j, "state", state_name(state));
	json_kv_string(&o->j, "reason", reason_name(reason));
	json_kv_int(&o->j, "ts", ci(q, 8));
	json_kv_int(&o->j, "received", ci(q, 9));
	json_kv_int(&o->j, "attempts", ci(q, 10));
	bool sealed = strcmp(kind, "complaint") == 0;
	int blen = sqlite3_column_bytes(q, 12);
	if (detail) {
		json_kv_int(&o->j, "bundle_seq", ci(q, 13));
		json_kv_string(&o->j, "error", col(q, 11));
		if (sealed) {
			json_kv_int(&o->j, "sealed_bytes", blen);
		} else {
			json_key(&o->j, "text");
			json_string_n(&o->j, (const char *)sqlite3_column_blob(q, 12), (size_t)blen);
		}
	}
	json_object_end(&o->j);
	say(o, "%" PRId64 "/%-8" PRId64 " crew %-4" PRId64 " %-9s %-10s %-16s to %s%s%s\n",
	    ci(q, 0), ci(q, 1), ci(q, 2), kind,
	    state_name(state), reason_name(reason), *col(q, 5) ? col(q, 5) : "-",
	    *col(q, 11) && state != RECORD_STATE_DELIVERED ? "; last try: " : "",
	    state != RECORD_STATE_DELIVERED ? col(q, 11) : "");
	if (detail) {
		if (sealed)
			say(o, "  sealed to the inspectorate: %d bytes (not readable here)\n", blen);
		else
			say(o, "  %.*s\n", blen, (const char *)sqlite3_column_blob(q, 12));
	}
}

static int state_parse(const char *s)
{
	if (strcmp(s, "accepted") == 0)
		return RECORD_STATE_ACCEPTED;
	if (strcmp(s, "delivered") == 0)
		return RECORD_STATE_DELIVERED;
	if (strcmp(s, "failed") == 0)
		return RECORD_STATE_FAILED;
	return -1;
}

static void cmd_messages(struct out *o, struct sctl *c, int argc, char *const argv[])
{
	static const char *const names[] = {"vessel", "crew", "state", "since", "limit", NULL};
	static const char u[] = "messages list [--vessel V] [--crew C] [--state accepted|delivered|"
				"failed] [--since UNIX] [--limit N] | messages show V MSGID";
	struct args a;
	const char *sub = argc > 1 ? argv[1] : "";
	bool show = strcmp(sub, "show") == 0;
	if (!show && strcmp(sub, "list") != 0) {
		fail(o, CTL_EX_USAGE, "usage", "usage: %s", u);
		return;
	}
	if (!parse(o, argc, argv, 2, show ? (const char *const[]){NULL} : names, show ? 2 : 0, &a, u))
		return;
	uint32_t v = 0, crew = 0;
	uint64_t since = 0, limit = SCTL_LIST_DEFAULT, msg = 0;
	int state = -1;
	if (show) {
		if (a.npos != 2 || !id32(o, a.pos[0], "the vessel id", &v) ||
		    !num(o, a.pos[1], "the message id", INT64_MAX, &msg))
			{ if (a.npos != 2) fail(o, CTL_EX_USAGE, "usage", "usage: %s", u); return; }
	} else {
		if ((a.opt[0] && !id32(o, a.opt[0], "--vessel", &v)) ||
		    (a.opt[1] && !id32(o, a.opt[1], "--crew", &crew)) ||
		    (a.opt[3] && !num(o, a.opt[3], "--since", INT64_MAX, &since)) ||
		    (a.opt[4] && !num(o, a.opt[4], "--limit", INT64_MAX, &limit)))
			return;
		if (a.opt[2] && (state = state_parse(a.opt[2])) < 0) {
			fail(o, CTL_EX_USAGE, "usage", "--state takes accepted, delivered or failed");
			return;
		}
	}
	struct db *db = store_db(c->st);
	sqlite3_stmt *q = db_stmt(db, sql_messages);
	if (!q || (v ? db_bind_int64(db, q, 1, v) : db_bind_null(db, q, 1)) < 0 ||
	    (crew ? db_bind_int64(db, q, 2, crew) : db_bind_null(db, q, 2)) < 0 ||
	    (state >= 0 ? db_bind_int64(db, q, 3, state) : db_bind_null(db, q, 3)) < 0 ||
	    (a.opt[3] ? db_bind_int64(db, q, 4, (int64_t)since) : db_bind_null(db, q, 4)) < 0 ||
	    (show ? db_bind_int64(db, q, 5, (int64_t)msg) : db_bind_null(db, q, 5)) < 0 ||
	    db_bind_int64(db, q, 6, (int64_t)limit) < 0)
		{ db_fail(o, c); return; }
	if (!show) {
		json_object_begin(&o->j);
		json_key(&o->j, "messages");
		json_array_begin(&o->j);
	}
	int rc, n = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		message_row(o, q, show);
		n++;
	}
	if (!show) {
		json_array_end(&o->j);
		json_object_end(&o->j);
	}
	if (rc < 0)
		db_fail(o, c);
	else if (show && n == 0)
		fail(o, SCTL_EX_NOUSER, "no_message", "vessel %" PRIu32 " has no message %" PRIu64
		     "; see shorectl messages list --vessel %" PRIu32, v, msg, v);
	else if (n == 0)
		say(o, "no messages match\n");
}

static void cmd_deliveries(struct out *o, struct sctl *c, const struct ctl_peer *p, int argc,
			   char *const argv[])
{
	static const char u[] = "deliveries retry V MSGID";
	static const char sql[] =
		"UPDATE messages SET state = 0, reason = 0, attempts = 0, next_attempt_ms = 0, "
		"received = ?3, error = '' WHERE vessel = ?1 AND msg_id = ?2 AND kind = 'text' AND "
		"state != 1";
	uint32_t v;
	uint64_t msg;
	if (argc != 4 || strcmp(argv[1], "retry") != 0) {
		fail(o, CTL_EX_USAGE, "usage", "usage: %s", u);
		return;
	}
	if (!id32(o, argv[2], "the vessel id", &v) || !num(o, argv[3], "the message id", INT64_MAX, &msg) ||
	    !admin(o, c, p))
		return;
	struct db *db = store_db(c->st);
	sqlite3_stmt *q = db_stmt(db, sql);
	if (!q || db_bind_int64(db, q, 1, v) < 0 || db_bind_int64(db, q, 2, (int64_t)msg) < 0 ||
	    db_bind_int64(db, q, 3, now_s(c)) < 0 || db_step(db, q) < 0)
		{ db_fail(o, c); return; }
	if (db_changes(db) != 1) {
		fail(o, SCTL_EX_NOUSER, "no_message", "vessel %" PRIu32 " has no undelivered text %" PRIu64
		     " (delivered ones and complaints are never re-sent); see shorectl messages show %"
		     PRIu32 " %" PRIu64, v, msg, v, msg);
		return;
	}
	if (c->route)
		route_poke(c->route);
	log_info("vessel %" PRIu32 " msg %" PRIu64 ": delivery retried by the operator", v, msg);
	say(o, "vessel %" PRIu32 " message %" PRIu64 ": delivery starts again now (dead-letter clock "
	    "restarted)\n", v, msg);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "vessel", v);
	json_kv_uint(&o->j, "msg_id", msg);
	json_kv_string(&o->j, "state", "accepted");
	json_object_end(&o->j);
}

static void cmd_reply(struct out *o, struct sctl *c, const struct ctl_peer *p, int argc,
		      char *const argv[])
{
	static const char *const names[] = {"vessel", "crew", "contact", NULL};
	static const char u[] = "reply --vessel V --crew C --contact REF TEXT";
	struct args a;
	uint32_t v, crew, ref;
	if (!parse(o, argc, argv, 1, names, 1, &a, u))
		return;
	if (!a.opt[0] || !a.opt[1] || !a.opt[2] || a.npos != 1) {
		fail(o, CTL_EX_USAGE, "usage", "usage: %s", u);
		return;
	}
	if (!id32(o, a.opt[0], "--vessel", &v) || !id32(o, a.opt[1], "--crew", &crew) ||
	    !id32(o, a.opt[2], "--contact", &ref) || !admin(o, c, p))
		return;
	uint64_t id;
	int rc = store_reply_enqueue(c->st, v, crew, ref, a.pos[0], strlen(a.pos[0]), now_s(c), &id);
	switch (rc) {
	case 0: break;
	case ERR_NOTFOUND:
		{ fail(o, SCTL_EX_NOUSER, "no_vessel", "no vessel %" PRIu32 "; see shorectl vessel list", v); return; }
	case ERR_TOOBIG:
		{ fail(o, CTL_EX_DATAERR, "too_long", "the reply is over %u bytes; shorten it",
			    STORE_REPLY_TEXT_MAX); return; }
	case ERR_UTF8:
		{ fail(o, CTL_EX_DATAERR, "bad_text", "the reply is not valid UTF-8 text"); return; }
	case ERR_INVAL:
		{ fail(o, CTL_EX_DATAERR, "bad_text", "the reply is empty"); return; }
	default:
		{ db_fail(o, c); return; }
	}
	if (c->sm)
		session_kick(c->sm, v);
	say(o, "reply %" PRIu64 " queued for vessel %" PRIu32 " crew %" PRIu32 "; it leaves when the "
	    "vessel is next in contact\n", id, v, crew);
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "reply_id", id);
	json_object_end(&o->j);
}

static void cmd_alerts(struct out *o, struct sctl *c, int argc, char *const argv[])
{
	static const char *const names[] = {"vessel", NULL};
	static const char sql[] = "SELECT id, vessel, kind, ts, detail FROM alerts WHERE ?1 IS NULL "
				  "OR vessel = ?1 ORDER BY id DESC LIMIT 1000";
	struct args a;
	uint32_t v = 0;
	if (!parse(o, argc, argv, 1, names, 0, &a, "alerts [--vessel V]") ||
	    (a.opt[0] && !id32(o, a.opt[0], "--vessel", &v)))
		return;
	struct db *db = store_db(c->st);
	sqlite3_stmt *q = db_stmt(db, sql);
	if (!q || (v ? db_bind_int64(db, q, 1, v) : db_bind_null(db, q, 1)) < 0)
		{ db_fail(o, c); return; }
	json_object_begin(&o->j);
	json_key(&o->j, "alerts");
	json_array_begin(&o->j);
	int rc, n = 0;
	while ((rc = db_step(db, q)) == DB_ROW) {
		json_object_begin(&o->j);
		json_kv_int(&o->j, "id", ci(q, 0));
		json_kv_int(&o->j, "vessel", ci(q, 1));
		json_kv_string(&o->j, "kind", col(q, 2));
		json_kv_int(&o->j, "ts", ci(q, 3));
		json_kv_string(&o->j, "detail", col(q, 4));
		json_object_end(&o->j);
		say(o, "#%" PRId64 " %" PRId64 " vessel %" PRId64 " %s: %s\n", ci(q, 0),
		    ci(q, 3), ci(q, 1), col(q, 2), col(q, 4));
		n++;
	}
	json_array_end(&o->j);
	json_object_end(&o->j);
	if (rc < 0)
		db_fail(o, c);
	else if (n == 0)
		say(o, "no alerts\n");
}

static void cmd_status(struct out *o, struct sctl *c)
{
	static const char *const sql[] = {
		"SELECT count(*) FROM vessels", "SELECT count(*) FROM messages",
		"SELECT count(*) FROM messages WHERE state = 1",
		"SELECT count(*) FROM messages WHERE state = 2",
		"SELECT count(*) FROM replies WHERE state != 'acked'",
	};
	int64_t v[5];
	for (size_t i = 0; i < 5; i++)
		if (store_query_int(c->st, sql[i], 0, 0, 0, 0, &v[i]) < 0)
			{ db_fail(o, c); return; }
	const struct ingest_stats *s = ingest_stats(c->in);
	uint64_t redeliv = c->spool ? deliver_spool_redeliveries(c->spool) : 0;
	struct session_stats ss = {0};
	if (c->sm)
		ss = session_get_stats(c->sm);
	json_object_begin(&o->j);
	json_kv_int(&o->j, "vessels", v[0]);
	json_kv_uint(&o->j, "bundles", s->bundles);
	json_kv_uint(&o->j, "replays", s->replays);
	json_key(&o->j, "rejected");
	json_object_begin(&o->j);
	json_kv_uint(&o->j, "auth", s->auth);
	json_kv_uint(&o->j, "unknown_vessel", s->unknown_vessel);
	json_kv_uint(&o->j, "malformed", s->malformed);
	json_kv_uint(&o->j, "window", s->window);
	json_object_end(&o->j);
	json_kv_uint(&o->j, "duplicates", s->duplicates);
	json_kv_int(&o->j, "messages", v[1]);
	json_kv_int(&o->j, "delivered", v[2]);
	json_kv_int(&o->j, "failed", v[3]);
	json_kv_int(&o->j, "replies_queued", v[4]);
	json_kv_uint(&o->j, "spool_redeliveries", redeliv);
	json_kv_uint(&o->j, "connections", ss.open);
	json_kv_uint(&o->j, "connections_evicted", ss.evicted + ss.timed_out);
	json_kv_uint(&o->j, "db_errors", s->db_errors);
	json_object_end(&o->j);
	say(o, "%" PRId64 " vessels, %zu connected (%zu links open)\n"
	    "bundles accepted %" PRIu64 ", replays %" PRIu64 ", duplicate messages %" PRIu64 "\n"
	    "rejected: forged %" PRIu64 ", unknown/suspended vessel %" PRIu64 ", malformed %" PRIu64
	    ", out of window %" PRIu64 "\n"
	    "messages %" PRId64 ": delivered %" PRId64 ", failed %" PRId64 "; replies waiting %" PRId64
	    "; spool redeliveries %" PRIu64 "\n", v[0], ss.bound, ss.open, s->bundles, s->replays,
	    s->duplicates, s->auth, s->unknown_vessel, s->malformed, s->window, v[1], v[2], v[3], v[4],
	    redeliv);
}

/* The signed monthly statement (issue 7): fields as text and json, and the
 * LLDOC document as "document" (hex) for shorectl --out. */
static void cmd_statement(struct out *o, struct sctl *c, const struct ctl_peer *p, int argc,
			  char *const argv[])
{
	static const char *const names[] = {"vessel", "month", NULL};
	static struct statement st;
	static uint8_t doc[STATEMENT_DOC_MAX];
	static char hexdoc[2 * STATEMENT_DOC_MAX + 1];
	struct args a;
	uint32_t v, period;
	if (!parse(o, argc, argv, 1, names, 0, &a, "statement --vessel V --month YYYY-MM") ||
	    !admin(o, c, p))
		return;
	if (!a.opt[0]) {
		fail(o, CTL_EX_USAGE, "usage", "say which vessel with --vessel V; usage: statement "
		     "--vessel V --month YYYY-MM");
		return;
	}
	if (!id32(o, a.opt[0], "--vessel", &v))
		return;
	if (!a.opt[1] || ledger_month_parse(a.opt[1], &period) < 0) {
		fail(o, CTL_EX_USAGE, "usage", "say which month with --month YYYY-MM (e.g. --month "
		     "2026-11)");
		return;
	}
	int rc = c->signer ? ledger_statement(store_db(c->st), v, period, now_s(c),
					      ledger_signer_price(c->signer), &st) : ERR_KEY;
	if (rc == ERR_KEY)
		fail(o, CTL_EX_SOFTWARE, "no_signer", "this shored cannot sign statements (no shore "
		     "key loaded); restart shored");
	else if (rc == ERR_NOTFOUND)
		fail(o, SCTL_EX_NOUSER, "no_vessel", "no vessel %" PRIu32 "; `shorectl vessel list` "
		     "shows them", v);
	else if (rc == ERR_STATE)
		fail(o, CTL_EX_DATAERR, "future", "%s has not begun yet in the vessel's quota zone",
		     a.opt[1]);
	else if (rc == ERR_TOOBIG)
		fail(o, CTL_EX_DATAERR, "too_big", "vessel %" PRIu32 " has more than %u crew members "
		     "in %s: a statement cannot hold them", v, STATEMENT_CREW_MAX, a.opt[1]);
	else if (rc < 0)
		db_fail(o, c);
	if (rc < 0)
		return;
	ssize_t n = ledger_signer_sign(c->signer, &st, doc, sizeof doc);
	if (n < 0) {
		fail(o, CTL_EX_SOFTWARE, "internal", "the statement could not be signed (%s)",
		     err_str((int)n));
		return;
	}
	sodium_bin2hex(hexdoc, sizeof hexdoc, doc, (size_t)n);
	json_object_begin(&o->j);
	stmtfmt_json(&o->j, &st);
	json_kv_uint(&o->j, "document_bytes", (uint64_t)n);
	json_kv_string(&o->j, "document", hexdoc);
	json_object_end(&o->j);
	stmtfmt_text(o->tf, &st);
	say(o, "signed document: %zd bytes (shorectl statement ... --out FILE writes it; "
	    "lifeline-verify FILE checks it)\n", n);
}

/* Complaint cases (shore/cases.c); an update wakes the vessel's session. */
static void cmd_cases(struct out *o, struct sctl *c, const struct ctl_peer *p, int argc,
		      char *const argv[])
{
	struct cases_out co = {.tf = o->tf, .j = &o->j, .uid = (uint32_t)p->uid};
	cases_ctl(c->st, p->uid == 0 || p->uid == c->admin_uid, now_s(c), argc, argv, &co);
	if (co.status) {
		fail(o, co.status, co.code, "%s", co.msg);
		return;
	}
	if (co.kick && c->sm)
		session_kick(c->sm, co.kick);
}

/* ---- dispatch ------------------------------------------------------------------------- */

int sctl_handle(struct sctl *c, const struct ctl_peer *peer, int argc, char *const argv[],
		struct sctl_result *r)
{
	struct out o = {.status = 0};
	memset(r, 0, sizeof *r);
	o.tf = open_memstream(&o.text, &o.tlen);
	if (!o.tf)
		return ERR_NOMEM;
	json_init(&o.j);
	const char *cmd = argc > 0 ? argv[0] : "";
	if (strcmp(cmd, "vessel") == 0)
		cmd_vessel(&o, c, peer, argc, argv);
	else if (strcmp(cmd, "contact") == 0)
		cmd_contact(&o, c, argc, argv);
	else if (strcmp(cmd, "messages") == 0)
		cmd_messages(&o, c, argc, argv);
	else if (strcmp(cmd, "deliveries") == 0)
		cmd_deliveries(&o, c, peer, argc, argv);
	else if (strcmp(cmd, "reply") == 0)
		cmd_reply(&o, c, peer, argc, argv);
	else if (strcmp(cmd, "alerts") == 0)
		cmd_alerts(&o, c, argc, argv);
	else if (strcmp(cmd, "cases") == 0)
		cmd_cases(&o, c, peer, argc, argv);
	else if (strcmp(cmd, "statement") == 0)
		cmd_statement(&o, c, peer, argc, argv);
	else if (strcmp(cmd, "status") == 0 && argc == 1)
		cmd_status(&o, c);
	else if (strcmp(cmd, "help") == 0) {
		say(&o, "%s", sctl_usage);
		json_object_begin(&o.j);
		json_kv_string(&o.j, "usage", sctl_usage);
		json_object_end(&o.j);
	} else
		fail(&o, CTL_EX_USAGE, "usage", "unknown command '%s'; commands:\n%s", cmd, sctl_usage);
	fclose(o.tf);
	r->status = o.status;
	r->text = o.text;
	if (json_finish(&o.j, &r->json, NULL) < 0) {
		r->json = strdup("{\"error\":\"internal\"}");
		if (r->status == 0)
			r->status = CTL_EX_SOFTWARE;
	}
	json_fini(&o.j);
	if (!r->text || !r->json) {
		sctl_result_free(r);
		return ERR_NOMEM;
	}
	return 0;
}

void sctl_result_free(struct sctl_result *r)
{
	free(r->text);
	free(r->json);
	r->text = r->json = NULL;
}
