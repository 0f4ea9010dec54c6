/*
 * lifeline-verify — checks a Lifeline signed document (an evidence file of
 * a complaint, or a monthly statement) offline, with no database.
 *
 *     lifeline-verify FILE [--json] [--show-text]
 *                     [--vessel-key V.public] [--shore-key S.public]
 *
 * Prints what was verified (vessel id, message id, category, times, the
 * signing keys in hex) and exits 0, or names exactly which check failed and
 * exits 1.  The complainant's crew id and text are printed only with
 * --show-text (the inspector decides who sees them).  --vessel-key and
 * --shore-key additionally require the signers to be the keys of those
 * public key files (lifeline-keygen's format); without them the output
 * shows the keys, which the reader must match against the parties' keys.
 *
 * Exit status: 0 verified; 1 not verified (tampered, malformed, wrong key,
 * unknown kind, unreadable file); 2 bad arguments (usage printed).
 * The file is only read; nothing is written anywhere.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/keyfile.h"
#include "common/stmtfmt.h"
#include "proto/complaint.h"
#include "proto/evidence.h"
#include "proto/script.h"
#include "proto/statement.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define HEX_KEY_BYTES (2u * DOC_SIGN_PK_BYTES + 1u)
#define HEX_HASH_BYTES (2u * COMPLAINT_HASH_BYTES + 1u)
#define TIME_TEXT_BYTES 32u
#define C0_END 0x20u
#define DEL_FIRST 0x7fu
#define C1_LAST 0x9fu

struct opts {
	const char *file;
	const char *vessel_key;
	const char *shore_key;
	bool json;
	bool show_text;
};

/* why NULL: help was asked for (stdout, exit 0); else a usage error. */
static int usage(const char *why)
{
	FILE *f = why ? stderr : stdout;
	if (why)
		fprintf(stderr, "lifeline-verify: %s\n", why);
	fprintf(f,
		"usage: lifeline-verify FILE [--json] [--show-text]\n"
		"                       [--vessel-key V.public] [--shore-key S.public]\n"
		"  Verifies a Lifeline evidence file offline: the vessel's signature\n"
		"  on the complaint, the shore's signed receipt, and that they agree;\n"
		"  or a monthly statement: the shore's signature and its layout.\n"
		"  --show-text      also print the complainant's crew id and text\n"
		"  --vessel-key F   require the complaint to be signed by this vessel key\n"
		"  --shore-key F    require the receipt to be signed by this shore key\n"
		"  --json           one JSON object on stdout\n"
		"  Exit: 0 verified, 1 not verified, 2 usage.\n");
	return why ? EXIT_USAGE : 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--json") == 0)
			o->json = true;
		else if (strcmp(a, "--show-text") == 0)
			o->show_text = true;
		else if (strcmp(a, "--vessel-key") == 0)
			slot = &o->vessel_key;
		else if (strcmp(a, "--shore-key") == 0)
			slot = &o->shore_key;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return usage(NULL), -1;         /* shown: main exits 0 */
		else if (a[0] == '-' && a[1] != '\0')
			return usage("unknown option");
		else if (o->file)
			return usage("only one FILE");
		else
			o->file = a;
		if (slot) {
			if (i + 1 >= argc)
				return usage("an option lacks its value");
			if (*slot)
				return usage("an option is given twice");
			*slot = argv[++i];
		}
	}
	if (!o->file)
		return usage("FILE is required");
	return 0;
}

/* Reads at most DOC_BYTES_MAX + 1 bytes (one more tells "too big"). */
static int read_doc(const char *path, uint8_t **buf, size_t *len, const char **why)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*why = strerror(errno);
		return ERR_IO;
	}
	*buf = malloc(DOC_BYTES_MAX + 1u);
	if (!*buf) {
		fclose(f);
		*why = "out of memory";
		return ERR_NOMEM;
	}
	*len = fread(*buf, 1, DOC_BYTES_MAX + 1u, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		*why = "read error";
		return ERR_IO;
	}
	return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

static void fmt_time(uint64_t t, char out[TIME_TEXT_BYTES])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t > (uint64_t)INT64_MAX / 2 || (uint64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    strftime(out, TIME_TEXT_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIME_TEXT_BYTES, "(out of range)");
}

/* Prints valid UTF-8 text for a terminal: newlines and tabs kept, other
 * control, bidirectional-override and line-separator characters shown as
 * \u{XXXX} so the text cannot rewrite what the screen shows. */
static void print_text(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l;
		if (script_utf8_next(s + i, n - i, &cp, &l) != 0)
			break;          /* cannot happen: the record parser checked */
		bool escape = (cp < C0_END && cp != '\n' && cp != '\t') ||
			      (cp >= DEL_FIRST && cp <= C1_LAST) ||
			      cp == 0x2028u || cp == 0x2029u ||
			      (cp >= 0x202au && cp <= 0x202eu) || (cp >= 0x2066u && cp <= 0x2069u);
		if (escape)
			printf("\\u{%04x}", (unsigned)cp);
		else if (cp == '\n')
			fputs("\n    ", stdout);
		else
			fwrite(s + i, 1, l, stdout);
		i += l;
	}
	putchar('\n');
}

/* A pinned key: the signer must be the sign key of this public key file. */
static int check_pin(const char *path, enum keyfile_role role, const uint8_t *signer,
		     char *id, const char **why)
{
	struct keyfile_public pub;
	struct keyfile_diag d;
	static char msg[KEYFILE_MSG_MAX + KEYFILE_PATH_MAX];
	if (keyfile_public_load(path, &pub, &d) != 0) {
		snprintf(msg, sizeof msg, "cannot use key file %s: %s", path, d.msg);
		*why = msg;
		return ERR_KEY;
	}
	if (pub.role != role) {
		snprintf(msg, sizeof msg, "key file %s is a %s key, not a %s key", path,
			 keyfile_role_name(pub.role), keyfile_role_name(role));
		*why = msg;
		return ERR_KEY;
	}
	if (sodium_memcmp(pub.sign_pk, signer, DOC_SIGN_PK_BYTES) != 0) {
		snprintf(msg, sizeof msg, "the %s key that signed this file is not the one in %s",
			 keyfile_role_name(role), path);
		*why = msg;
		return ERR_KEY;
	}
	snprintf(id, KEYFILE_ID_MAX + 1, "%s", pub.id);
	return 0;
}

static int report_failure(const struct opts *o, int rc, const char *why)
{
	if (o->json) {
		struct json j;
		char *out = NULL;
		json_init(&j);
		json_object_begin(&j);
		json_kv_bool(&j, "verified", false);
		json_kv_string(&j, "file", o->file);
		json_kv_string(&j, "error", err_str(rc));
		json_kv_string(&j, "reason", why);
		json_object_end(&j);
		if (json_finish(&j, &out, NULL) == 0)
			printf("%s\n", out);
		free(out);
		json_fini(&j);
	}
	fprintf(stderr, "lifeline-verify: NOT VERIFIED: %s: %s\n", o->file, why);
	return EXIT_FAILED;
}

static void report_json(const struct opts *o, const struct evidence *ev, const char *vid,
			const char *sid)
{
	char vk[HEX_KEY_BYTES], sk[HEX_KEY_BYTES], bh[HEX_HASH_BYTES], wt[TIME_TEXT_BYTES],
	     rt[TIME_TEXT_BYTES];
	hex(ev->vessel_pk, DOC_SIGN_PK_BYTES, vk);
	hex(ev->shore_pk, DOC_SIGN_PK_BYTES, sk);
	hex(ev->receipt.blob_hash, COMPLAINT_HASH_BYTES, bh);
	fmt_time(ev->c.ts, wt);
	fmt_time(ev->receipt.received, rt);
	struct json j;
	char *out = NULL;
	json_init(&j);
	json_object_begin(&j);
	json_kv_bool(&j, "verified", true);
	json_kv_string(&j, "file", o->file);
	json_kv_string(&j, "kind", "evidence");
	json_kv_uint(&j, "vessel", ev->c.vessel);
	json_kv_uint(&j, "msg_id", ev->c.msg_id);
	json_kv_uint(&j, "category", (uint64_t)ev->c.category);
	json_kv_string(&j, "category_name", complaint_category_name((int)ev->c.category));
	json_kv_string(&j, "category_title", complaint_category_title((int)ev->c.category));
	json_kv_uint(&j, "written", ev->c.ts);
	json_kv_string(&j, "written_utc", wt);
	json_kv_uint(&j, "received", ev->receipt.received);
	json_kv_string(&j, "received_utc", rt);
	json_kv_string(&j, "blob_blake2b256", bh);
	json_kv_string(&j, "vessel_key", vk);
	json_kv_string(&j, "shore_key", sk);
	json_kv_string(&j, "vessel_key_file_id", vid[0] ? vid : NULL);
	json_kv_string(&j, "shore_key_file_id", sid[0] ? sid : NULL);
	json_kv_uint(&j, "text_bytes", ev->c.text_len);
	if (o->show_text) {
		json_kv_uint(&j, "crew", ev->c.crew);
		json_key(&j, "text");
		json_string_n(&j, (const char *)ev->c.text, ev->c.text_len);
	}
	json_object_end(&j);
	if (json_finish(&j, &out, NULL) == 0)
		printf("%s\n", out);
	free(out);
	json_fini(&j);
}

static void report_text(const struct opts *o, const struct evidence *ev, const char *vid,
			const char *sid)
{
	char vk[HEX_KEY_BYTES], sk[HEX_KEY_BYTES], bh[HEX_HASH_BYTES], wt[TIME_TEXT_BYTES],
	     rt[TIME_TEXT_BYTES];
	hex(ev->vessel_pk, DOC_SIGN_PK_BYTES, vk);
	hex(ev->shore_pk, DOC_SIGN_PK_BYTES, sk);
	hex(ev->receipt.blob_hash, COMPLAINT_HASH_BYTES, bh);
	fmt_time(ev->c.ts, wt);
	fmt_time(ev->receipt.received, rt);
	printf("VERIFIED complaint evidence %s\n", o->file);
	printf("  vessel id:    %u\n", (unsigned)ev->c.vessel);
	printf("  message id:   %llu\n", (unsigned long long)ev->c.msg_id);
	printf("  category:     %d %s (%s)\n", (int)ev->c.category,
	       complaint_category_name((int)ev->c.category),
	       complaint_category_title((int)ev->c.category));
	printf("  written:      %s (vessel clock, unix %llu)\n", wt, (unsigned long long)ev->c.ts);
	printf("  received:     %s (shore clock, unix %llu)\n", rt,
	       (unsigned long long)ev->receipt.received);
	printf("  sealed blob:  BLAKE2b-256 %s\n", bh);
	printf("  vessel key:   ed25519 %s%s%s%s\n", vk, vid[0] ? " (= key file \"" : "", vid,
	       vid[0] ? "\")" : "");
	printf("  shore key:    ed25519 %s%s%s%s\n", sk, sid[0] ? " (= key file \"" : "", sid,
	       sid[0] ? "\")" : "");
	printf("  checked:      vessel signature on the complaint record, shore signature on\n"
	       "                the receipt, receipt names the signing vessel key, vessel and\n"
	       "                message ids agree, both well-formed%s\n",
	       (vid[0] || sid[0]) ? ", pinned key files" : "");
	if (o->show_text) {
		printf("  crew id:      %u\n", (unsigned)ev->c.crew);
		printf("  text (%zu bytes):\n    ", ev->c.text_len);
		print_text(ev->c.text, ev->c.text_len);
	} else {
		printf("  crew id and text (%zu bytes): not shown (--show-text)\n", ev->c.text_len);
	}
}

/* A statement (kind 2): verified, pinned, printed.  Returns the exit code. */
static int run_statement(const struct opts *o, const uint8_t *buf, size_t len)
{
	static struct statement st;
	const uint8_t *spk = NULL;
	const char *why = NULL;
	char sid[KEYFILE_ID_MAX + 1] = "", sk[HEX_KEY_BYTES];
	int rc = statement_verify(buf, len, &st, &spk, &why);
	if (rc == 0 && o->vessel_key)
		rc = ERR_INVAL, why = "--vessel-key does not apply to a statement (the shore signs it)";
	if (rc == 0 && o->shore_key)
		rc = check_pin(o->shore_key, KEYFILE_ROLE_SHORE, spk, sid, &why);
	if (rc != 0)
		return report_failure(o, rc, why);
	hex(spk, DOC_SIGN_PK_BYTES, sk);
	if (o->json) {
		struct json j;
		char *out = NULL;
		json_init(&j);
		json_object_begin(&j);
		json_kv_bool(&j, "verified", true);
		json_kv_string(&j, "file", o->file);
		stmtfmt_json(&j, &st);
		json_kv_string(&j, "shore_key", sk);
		json_kv_string(&j, "shore_key_file_id", sid[0] ? sid : NULL);
		json_object_end(&j);
		if (json_finish(&j, &out, NULL) == 0)
			printf("%s\n", out);
		free(out);
		json_fini(&j);
	} else {
		printf("VERIFIED monthly statement %s\n", o->file);
		printf("  shore key:     ed25519 %s%s%s%s\n", sk, sid[0] ? " (= key file \"" : "", sid,
		       sid[0] ? "\")" : "");
		stmtfmt_text(stdout, &st);
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "lifeline-verify: libsodium failed to initialise\n");
		return EXIT_FAILED;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *why = NULL;
	rc = read_doc(o.file, &buf, &len, &why);
	if (rc != 0) {
		free(buf);
		return report_failure(&o, rc, why);
	}
	struct doc kind;
	if (doc_decode(buf, len, &kind, NULL) == 0 && kind.kind == DOC_KIND_STATEMENT) {
		rc = run_statement(&o, buf, len);
		free(buf);
		return rc;
	}
	struct evidence ev;
	rc = evidence_verify(buf, len, &ev, &why);
	if (rc == ERR_VERSION) {
		/* A statement (issue 7) or newer kind: say what it is if the
		 * envelope itself verifies. */
		struct doc d;
		if (doc_verify(buf, len, &d, NULL) == 0 && d.kind != DOC_KIND_EVIDENCE)
			why = "a signed document of a kind this lifeline-verify cannot check "
			      "yet (not complaint evidence); its signatures verify but its "
			      "content was not checked";
	}
	char vid[KEYFILE_ID_MAX + 1] = "", sid[KEYFILE_ID_MAX + 1] = "";
	if (rc == 0 && o.vessel_key)
		rc = check_pin(o.vessel_key, KEYFILE_ROLE_VESSEL, ev.vessel_pk, vid, &why);
	if (rc == 0 && o.shore_key)
		rc = check_pin(o.shore_key, KEYFILE_ROLE_SHORE, ev.shore_pk, sid, &why);
	if (rc != 0) {
		sodium_memzero(buf, len);
		free(buf);
		return report_failure(&o, rc, why);
	}
	if (o.json)
		report_json(&o, &ev, vid, sid);
	else
		report_text(&o, &ev, vid, sid);
	sodium_memzero(buf, len);
	free(buf);
	return EXIT_OK;
}
