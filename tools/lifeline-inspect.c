/*
 * lifeline-inspect — the labour inspector's tool for complaint cases.
 *
 *   lifeline-inspect [--socket PATH] open CASE --key INSPECTOR.secret [--json]
 *                    [--vessel-key V.public] [--shore-key S.public]
 *   lifeline-inspect [--socket PATH] export CASE --key INSPECTOR.secret --out FILE
 *                    [--vessel-key V.public] [--shore-key S.public]
 *   lifeline-inspect [--socket PATH] update CASE --status received|assigned|
 *                    investigating|resolved|closed [--note TEXT] [--note-for-crew]
 *
 * What it is for: the inspectorate's secret key never leaves the
 * inspector's machine.  `open` fetches the sealed blob and the shore's
 * signed receipt through shored's control socket (`cases blob CASE`),
 * decrypts locally (proto/complaint.h), checks the vessel's signature, that
 * the receipt is the shore's, names this blob (BLAKE2b-256) and this
 * vessel/message, then shows the complaint.  `export` writes the evidence
 * file (proto/evidence.h) only after evidence_verify() accepted it, so
 * lifeline-verify accepts it too.  `update` records a status change ashore
 * and queues a CASE_UPDATE to the crew member (the note only with
 * --note-for-crew).
 *
 * Invariants: the plaintext is held only in sodium_malloc memory and wiped
 * before exit; it is written only to stdout (open) or to the evidence file
 * the inspector names (export, mode 0600, written to a temporary name and
 * renamed, so a half-written file never carries the final name).
 *
 * Exit status: 0 done; 1 the complaint or its receipt does not verify, or
 * a file cannot be written; 2 bad arguments; 69 shored cannot be reached;
 * otherwise shored's status (67 no such case, 77 not allowed, ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl.h"
#include "common/json.h"
#include "common/keyfile.h"
#include "proto/complaint.h"
#include "proto/evidence.h"
#include "proto/script.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define SYSTEM_SOCKET "/run/lifeline/shored.sock"
#define HEX_KEY (2u * DOC_SIGN_PK_BYTES + 1u)
#define TIME_BYTES 32u
#define TIMEOUT_MS 30000

static const struct ctl_hint hint = {"shored", "systemctl start shored", "lifeline"};

struct opts {
	const char *sock, *cmd, *cas, *key, *out, *vessel_key, *shore_key, *status, *note;
	bool json, note_for_crew;
};

/* What shored holds for a case (`cases blob`). */
struct fetched {
	uint8_t blob[COMPLAINT_BLOB_MAX];
	size_t blob_len;
	uint8_t receipt[RECEIPT_BYTES], receipt_sig[DOC_SIG_BYTES];
	uint8_t shore_pk[DOC_SIGN_PK_BYTES], vessel_pk[DOC_SIGN_PK_BYTES];
};

static int usage(const char *why)
{
	FILE *f = why ? stderr : stdout;
	if (why)
		fprintf(stderr, "lifeline-inspect: %s\n", why);
	fprintf(f,
		"usage: lifeline-inspect [--socket PATH] open CASE --key INSPECTOR.secret [--json]\n"
		"                        [--vessel-key V.public] [--shore-key S.public]\n"
		"       lifeline-inspect [--socket PATH] export CASE --key INSPECTOR.secret --out FILE\n"
		"       lifeline-inspect [--socket PATH] update CASE --status received|assigned|\n"
		"                        investigating|resolved|closed [--note TEXT] [--note-for-crew]\n"
		"CASE: the case number from `shorectl cases list`, or VESSEL/MSGID.\n"
		"The secret key stays on this machine: shored only ever sends the sealed blob.\n");
	return why ? EXIT_USAGE : EXIT_OK;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct { const char *name; size_t off; } vals[] = {
		{"--socket", offsetof(struct opts, sock)}, {"--key", offsetof(struct opts, key)},
		{"--out", offsetof(struct opts, out)}, {"--vessel-key", offsetof(struct opts, vessel_key)},
		{"--shore-key", offsetof(struct opts, shore_key)},
		{"--status", offsetof(struct opts, status)}, {"--note", offsetof(struct opts, note)},
	};
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return usage(NULL), -1;
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--note-for-crew") == 0 || strcmp(a, "--for-crew") == 0) {
			o->note_for_crew = true;
			continue;
		}
		size_t k = 0;
		while (k < sizeof vals / sizeof vals[0] && strcmp(a, vals[k].name) != 0)
			k++;
		if (k < sizeof vals / sizeof vals[0]) {
			if (i + 1 >= argc)
				return fprintf(stderr, "lifeline-inspect: %s needs a value\n", a), -2;
			*(const char **)(void *)((char *)o + vals[k].off) = argv[++i];
			continue;
		}
		if (strncmp(a, "--", 2) == 0)
			return fprintf(stderr, "lifeline-inspect: unknown option %s\n", a), -2;
		if (!o->cmd)
			o->cmd = a;
		else if (!o->cas)
			o->cas = a;
		else
			return fprintf(stderr, "lifeline-inspect: unexpected '%s'\n", a), -2;
	}
	if (!o->sock || !*o->sock)
		o->sock = getenv("SHORED_SOCKET");
	if (!o->sock || !*o->sock)
		o->sock = access(SYSTEM_SOCKET, F_OK) == 0 ? SYSTEM_SOCKET : "shored.sock";
	return 0;
}

/* ctl_call with the reachability message; returns shored's status, or
 * CTL_EX_UNAVAILABLE (message printed). */
static int call(const struct opts *o, int argc, const char *const argv[], char **text, char **json)
{
	int status = 0;
	int rc = ctl_call(o->sock, argc, argv, TIMEOUT_MS, &status, text, json);
	if (rc < 0) {
		char msg[512];
		fprintf(stderr, "lifeline-inspect: %s\n", ctl_error_explain(rc, o->sock, &hint, msg,
									  sizeof msg));
		return CTL_EX_UNAVAILABLE;
	}
	return status;
}

static bool hex_field(const struct json_doc *d, const char *key, uint8_t *out, size_t cap,
		      size_t *len, bool exact)
{
	const char *s;
	size_t n, got = 0;
	if (json_get_string(d, json_root(d), key, &s, &n) != 0 ||
	    sodium_hex2bin(out, cap, s, n, NULL, &got, NULL) != 0 || (exact && got != cap))
		return false;
	if (len)
		*len = got;
	return true;
}

/* `cases blob CASE` -> *f.  0, or an exit status (message printed). */
static int fetch(const struct opts *o, struct fetched *f)
{
	const char *argv[] = {"cases", "blob", o->cas, NULL};
	char *text = NULL, *json = NULL;
	int st = call(o, 3, argv, &text, &json);
	if (st != 0) {
		if (st != CTL_EX_UNAVAILABLE)
			fprintf(stderr, "lifeline-inspect: shored: %s\n", text ? text : "?");
		free(text);
		free(json);
		return st;
	}
	struct json_doc d;
	bool ok = json_parse(&d, json, strlen(json), NULL, NULL) == 0;
	ok = ok && hex_field(&d, "blob", f->blob, sizeof f->blob, &f->blob_len, false) &&
	     hex_field(&d, "receipt", f->receipt, sizeof f->receipt, NULL, true) &&
	     hex_field(&d, "receipt_sig", f->receipt_sig, sizeof f->receipt_sig, NULL, true) &&
	     hex_field(&d, "shore_pk", f->shore_pk, sizeof f->shore_pk, NULL, true) &&
	     hex_field(&d, "vessel_pk", f->vessel_pk, sizeof f->vessel_pk, NULL, true);
	json_doc_free(&d);
	free(text);
	free(json);
	if (!ok)
		return fprintf(stderr, "lifeline-inspect: shored's answer for case %s is malformed\n",
			       o->cas), EXIT_FAILED;
	return 0;
}

/* A pinned key file: its sign key must be want (role checked). */
static int pin(const char *path, enum keyfile_role role, const uint8_t *want)
{
	struct keyfile_public pub;
	struct keyfile_diag d;
	if (keyfile_public_load(path, &pub, &d) != 0)
		return fprintf(stderr, "lifeline-inspect: %s: %s\n", path, d.msg), EXIT_FAILED;
	if (pub.role != role)
		return fprintf(stderr, "lifeline-inspect: %s is a %s key, not a %s key\n", path,
			       keyfile_role_name(pub.role), keyfile_role_name(role)), EXIT_FAILED;
	if (sodium_memcmp(pub.sign_pk, want, DOC_SIGN_PK_BYTES) != 0)
		return fprintf(stderr, "lifeline-inspect: NOT VERIFIED: the %s key is not the one in "
			       "%s\n", keyfile_role_name(role), path), EXIT_FAILED;
	return 0;
}

/*
 * Opens and checks a fetched case: the vessel signature (with the shore's
 * registered vessel key, or the pinned one), the receipt's shore signature,
 * that the receipt names this blob, vessel, message and vessel key.
 * 0, or EXIT_FAILED with the reason printed.
 */
static int open_case(const struct opts *o, const struct keyfile_secret *k, const struct fetched *f,
		     struct complaint_opened *c, struct evidence_receipt *r)
{
	uint8_t h[COMPLAINT_HASH_BYTES];
	int rc = complaint_open(k->pub.kx_pk, k->kx_sk, f->blob, f->blob_len, c);
	if (rc != 0)
		return fprintf(stderr, "lifeline-inspect: cannot open case %s: %s (%s)\n", o->cas,
			       rc == ERR_AUTH ? "it is not sealed to this inspector key, or it was altered"
					      : "the sealed complaint is malformed", err_str(rc)), EXIT_FAILED;
	if (complaint_verify(f->vessel_pk, c->record, c->record_len, c->sig) != 0)
		return fprintf(stderr, "lifeline-inspect: NOT VERIFIED: the complaint is not signed by "
			       "the key the shore holds for vessel %u\n", c->c.vessel), EXIT_FAILED;
	if (doc_sig_verify(DOC_PART_RECEIPT, f->receipt, RECEIPT_BYTES, f->shore_pk, f->receipt_sig) != 0 ||
	    evidence_receipt_parse(f->receipt, RECEIPT_BYTES, r) != 0)
		return fprintf(stderr, "lifeline-inspect: NOT VERIFIED: the shore's receipt for case %s "
			       "does not verify\n", o->cas), EXIT_FAILED;
	complaint_blob_hash(f->blob, f->blob_len, h);
	if (sodium_memcmp(h, r->blob_hash, sizeof h) != 0 || r->vessel != c->c.vessel ||
	    r->msg_id != c->c.msg_id || sodium_memcmp(r->vessel_pk, f->vessel_pk, DOC_SIGN_PK_BYTES) != 0)
		return fprintf(stderr, "lifeline-inspect: NOT VERIFIED: the receipt is for another blob, "
			       "vessel, message or vessel key than the complaint\n"), EXIT_FAILED;
	if (o->vessel_key && (rc = pin(o->vessel_key, KEYFILE_ROLE_VESSEL, f->vessel_pk)) != 0)
		return rc;
	if (o->shore_key && (rc = pin(o->shore_key, KEYFILE_ROLE_SHORE, f->shore_pk)) != 0)
		return rc;
	return 0;
}

static void when(uint64_t t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t > (uint64_t)INT64_MAX / 2 || !gmtime_r(&tt, &tm) ||
	    strftime(out, TIME_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_BYTES, "(out of range)");
}

/* Text for a terminal: control and bidi-override characters as \u{XXXX}. */
static void print_text(const uint8_t *s, size_t n)
{
	for (size_t i = 0, l; i < n; i += l) {
		uint32_t cp;
		if (script_utf8_next(s + i, n - i, &cp, &l) != 0)
			break;
		if ((cp < 0x20u && cp != '\n' && cp != '\t') || (cp >= 0x7fu && cp <= 0x9fu) ||
		    cp == 0x2028u || cp == 0x2029u || (cp >= 0x202au && cp <= 0x202eu) ||
		    (cp >= 0x2066u && cp <= 0x2069u))
			printf("\\u{%04x}", (unsigned)cp);
		else
			fwrite(s + i, 1, l, stdout);
	}
	putchar('\n');
}

static void show(const struct opts *o, const struct complaint_opened *c, const struct evidence_receipt *r,
		 const struct fetched *f)
{
	char w[TIME_BYTES], rc[TIME_BYTES], vk[HEX_KEY], sk[HEX_KEY];
	when(c->c.ts, w);
	when(r->received, rc);
	sodium_bin2hex(vk, sizeof vk, f->vessel_pk, DOC_SIGN_PK_BYTES);
	sodium_bin2hex(sk, sizeof sk, f->shore_pk, DOC_SIGN_PK_BYTES);
	if (o->json) {
		struct json j;
		char *out = NULL;
		json_init(&j);
		json_object_begin(&j);
		json_kv_string(&j, "case", o->cas);
		json_kv_uint(&j, "vessel", c->c.vessel);
		json_kv_uint(&j, "crew_id", c->c.crew);
		json_kv_uint(&j, "msg_id", c->c.msg_id);
		json_kv_uint(&j, "category", (uint64_t)c->c.category);
		json_kv_string(&j, "category_name", complaint_category_name((int)c->c.category));
		json_kv_uint(&j, "written", c->c.ts);
		json_kv_uint(&j, "received", r->received);
		json_kv_string(&j, "vessel_key", vk);
		json_kv_string(&j, "shore_key", sk);
		json_key(&j, "text");
		json_string_n(&j, (const char *)c->c.text, c->c.text_len);
		json_object_end(&j);
		if (json_finish(&j, &out, NULL) == 0) {
			puts(out);
			sodium_memzero(out, strlen(out));
		}
		free(out);
		json_fini(&j);
		return;
	}
	printf("VERIFIED complaint, case %s\n"
	       "  vessel:    %u (key ed25519 %s, as registered ashore)\n"
	       "  crew id:   %u\n  message:   %llu\n  category:  %d %s (%s)\n"
	       "  written:   %s (vessel clock)\n  received:  %s (shore clock, shore key %s)\n"
	       "  text (%zu bytes):\n", o->cas, c->c.vessel, vk, c->c.crew,
	       (unsigned long long)c->c.msg_id, (int)c->c.category,
	       complaint_category_name((int)c->c.category), complaint_category_title((int)c->c.category),
	       w, rc, sk, c->c.text_len);
	print_text(c->c.text, c->c.text_len);
}

/* Writes p[0..n) to path via a temporary file in the same folder, 0600. */
static int write_file(const char *path, const uint8_t *p, size_t n)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
		return ERR_TOOBIG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ERR_IO;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	bool ok = done == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return ERR_IO;
	}
	return 0;
}

static int do_export(const struct opts *o, const struct complaint_opened *c, const struct fetched *f)
{
	static uint8_t doc[DOC_BYTES_MAX];
	struct evidence ev;
	const char *why = NULL;
	ssize_t n = evidence_encode(c->record, c->record_len, f->vessel_pk, c->sig, f->receipt,
				    f->shore_pk, f->receipt_sig, doc, sizeof doc);
	int rc = n < 0 ? (int)n : evidence_verify(doc, (size_t)n, &ev, &why);
	if (rc != 0) {
		sodium_memzero(doc, sizeof doc);
		return fprintf(stderr, "lifeline-inspect: the evidence file does not verify (%s); "
			       "nothing written\n", why ? why : err_str(rc)), EXIT_FAILED;
	}
	rc = write_file(o->out, doc, (size_t)n);
	sodium_memzero(doc, sizeof doc);
	if (rc != 0)
		return fprintf(stderr, "lifeline-inspect: cannot write %s: %s\n", o->out,
			       strerror(errno)), EXIT_FAILED;
	printf("wrote %s (%zd bytes): evidence of case %s; check it with: lifeline-verify %s\n",
	       o->out, n, o->cas, o->out);
	return EXIT_OK;
}

static int do_update(const struct opts *o)
{
	const char *argv[10];
	int n = 0;
	argv[n++] = "cases";
	argv[n++] = "update";
	argv[n++] = o->cas;
	argv[n++] = "--status";
	argv[n++] = o->status;
	if (o->note) {
		argv[n++] = "--note";
		argv[n++] = o->note;
	}
	if (o->note_for_crew)
		argv[n++] = "--for-crew";
	argv[n] = NULL;
	char *text = NULL, *json = NULL;
	int st = call(o, n, argv, &text, &json);
	if (st != CTL_EX_UNAVAILABLE) {
		const char *t = o->json ? json : text;
		fprintf(st == 0 || o->json ? stdout : stderr, "%s%s", t ? t : "",
			t && *t && t[strlen(t) - 1] == '\n' ? "" : "\n");
	}
	free(text);
	free(json);
	return st;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse(argc, argv, &o);
	if (rc == -1)
		return EXIT_OK;
	if (rc < 0 || !o.cmd)
		return usage(rc < 0 ? "bad arguments" : "say open, export or update");
	if (!o.cas)
		return usage("name the case (its number, or VESSEL/MSGID)");
	if (sodium_init() < 0)
		return fprintf(stderr, "lifeline-inspect: libsodium failed to initialise\n"), EXIT_FAILED;
	bool is_open = strcmp(o.cmd, "open") == 0, is_export = strcmp(o.cmd, "export") == 0;
	if (strcmp(o.cmd, "update") == 0)
		return o.status ? do_update(&o) : usage("update needs --status");
	if (!is_open && !is_export)
		return usage("say open, export or update");
	if (!o.key)
		return usage("open and export need --key INSPECTOR.secret (the inspectorate's key)");
	if (is_export && !o.out)
		return usage("export needs --out FILE");

	struct keyfile_secret *k = NULL;
	struct keyfile_diag d = {0};
	if (keyfile_secret_load(o.key, &k, &d) != 0)
		return fprintf(stderr, "lifeline-inspect: %s: %s\n", o.key, d.msg), EXIT_FAILED;
	if (k->pub.role != KEYFILE_ROLE_INSPECTOR) {
		keyfile_secret_free(k);
		return fprintf(stderr, "lifeline-inspect: %s is not an inspector key (lifeline-keygen "
			       "--role inspector)\n", o.key), EXIT_FAILED;
	}
	struct fetched *f = malloc(sizeof *f);
	struct complaint_opened *c = sodium_malloc(sizeof *c);
	struct evidence_receipt r;
	if (!f || !c) {
		fprintf(stderr, "lifeline-inspect: out of memory\n");
		rc = EXIT_FAILED;
	} else if ((rc = fetch(&o, f)) == 0 && (rc = open_case(&o, k, f, c, &r)) == 0) {
		if (is_open)
			show(&o, c, &r, f);
		else
			rc = do_export(&o, c, f);
	}
	if (c) {
		complaint_opened_wipe(c);
		sodium_free(c);
	}
	free(f);
	keyfile_secret_free(k);
	return rc;
}
