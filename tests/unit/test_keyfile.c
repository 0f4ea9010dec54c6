/*
 * test_keyfile.c — key files: round trip, modes, never overwriting, refusing
 * a secret readable by others, a table of malformed files with the line
 * each error names, and the lifeline-keygen tool's exit codes.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/keyfile.h"

static char dir[64];

static int setup(void)
{
	if (sodium_init() < 0)
		return 1;
	strcpy(dir, "/tmp/lifeline-keyfile-XXXXXX");
	return mkdtemp(dir) ? 0 : 1;
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void spit(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void test_round_trip(void)
{
	static const enum keyfile_role roles[] = { KEYFILE_ROLE_VESSEL, KEYFILE_ROLE_SHORE,
						   KEYFILE_ROLE_INSPECTOR };
	static const char *ids[] = { "TH-1042", "shore.bkk", "inspector_7" };
	for (size_t i = 0; i < 3; i++) {
		struct keyfile_secret *s = NULL, *back = NULL;
		CU_ASSERT_EQUAL_FATAL(keyfile_generate(roles[i], ids[i], &s), 0);
		char sp[KEYFILE_PATH_MAX], pp[KEYFILE_PATH_MAX];
		struct keyfile_diag d;
		CU_ASSERT_EQUAL(keyfile_write(dir, s, sp, pp, &d), 0);
		struct stat st;
		CU_ASSERT(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);
		CU_ASSERT(stat(pp, &st) == 0 && (st.st_mode & 0777) == 0644);
		CU_ASSERT_EQUAL(keyfile_secret_load(sp, &back, &d), 0);
		CU_ASSERT_FATAL(back != NULL);
		CU_ASSERT_EQUAL(memcmp(back, s, sizeof *s), 0);
		struct keyfile_public pub;
		CU_ASSERT_EQUAL(keyfile_public_load(pp, &pub, &d), 0);
		CU_ASSERT_EQUAL(memcmp(pub.key_id, s->pub.key_id, sizeof pub.key_id), 0);
		CU_ASSERT_EQUAL(memcmp(pub.sign_pk, s->pub.sign_pk, sizeof pub.sign_pk), 0);
		CU_ASSERT_EQUAL(memcmp(pub.kx_pk, s->pub.kx_pk, sizeof pub.kx_pk), 0);
		CU_ASSERT_EQUAL(pub.role, roles[i]);
		CU_ASSERT_STRING_EQUAL(pub.id, ids[i]);
		/* The key id printed is the one in the file. */
		char kid[KEYFILE_KEYID_HEX_BYTES], text[KEYFILE_BYTES_MAX], want[64];
		keyfile_key_id_hex(&pub, kid);
		slurp(pp, text, sizeof text);
		snprintf(want, sizeof want, "\nkey-id %s\n", kid);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		/* The public file holds no secret. */
		CU_ASSERT_PTR_NULL(strstr(text, "secret "));
		/* Each kind refuses the other. */
		struct keyfile_secret *wrong = NULL;
		chmod(pp, 0600);
		CU_ASSERT_EQUAL(keyfile_secret_load(pp, &wrong, &d), ERR_KEY);
		CU_ASSERT_EQUAL(d.line, 2u);
		CU_ASSERT_PTR_NULL(wrong);
		CU_ASSERT_EQUAL(keyfile_public_load(sp, &pub, &d), ERR_KEY);
		keyfile_secret_free(s);
		keyfile_secret_free(back);
	}
	keyfile_secret_free(NULL);
	struct keyfile_secret *s = NULL;
	CU_ASSERT_EQUAL(keyfile_generate(KEYFILE_ROLE_VESSEL, ".hidden", &s), ERR_INVAL);
	CU_ASSERT_EQUAL(keyfile_generate(KEYFILE_ROLE_VESSEL, "a/b", &s), ERR_INVAL);
	CU_ASSERT_EQUAL(keyfile_generate((enum keyfile_role)9, "ok", &s), ERR_INVAL);
	CU_ASSERT_PTR_NULL(s);
}

static void test_never_overwrite(void)
{
	struct keyfile_secret *a = NULL, *b = NULL;
	struct keyfile_diag d;
	char sp[KEYFILE_PATH_MAX], before[KEYFILE_BYTES_MAX], after[KEYFILE_BYTES_MAX];
	CU_ASSERT_EQUAL_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "dup", &a), 0);
	CU_ASSERT_EQUAL_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "dup", &b), 0);
	CU_ASSERT_EQUAL(keyfile_write(dir, a, sp, NULL, &d), 0);
	slurp(sp, before, sizeof before);
	CU_ASSERT_EQUAL(keyfile_write(dir, b, NULL, NULL, &d), ERR_DUP);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "never overwrites"));
	slurp(sp, after, sizeof after);
	CU_ASSERT_STRING_EQUAL(before, after);
	/* Only the public file exists: nothing written either. */
	char pp[KEYFILE_PATH_MAX], lone[KEYFILE_PATH_MAX];
	keyfile_secret_free(b);
	CU_ASSERT_EQUAL_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "lone", &b), 0);
	path_of(pp, sizeof pp, "lone.public");
	spit(pp, "x\n", 0644);
	CU_ASSERT_EQUAL(keyfile_write(dir, b, NULL, NULL, &d), ERR_DUP);
	path_of(lone, sizeof lone, "lone.secret");
	CU_ASSERT(access(lone, F_OK) != 0);
	/* A missing directory says what to do. */
	CU_ASSERT_EQUAL(keyfile_write("/nonexistent-lifeline-dir", b, NULL, NULL, &d), ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "mkdir"));
	keyfile_secret_free(a);
	keyfile_secret_free(b);
}

static void test_refuse_readable_secret(void)
{
	struct keyfile_secret *s = NULL, *back = NULL;
	struct keyfile_diag d;
	char sp[KEYFILE_PATH_MAX];
	CU_ASSERT_EQUAL_FATAL(keyfile_generate(KEYFILE_ROLE_INSPECTOR, "perm", &s), 0);
	CU_ASSERT_EQUAL(keyfile_write(dir, s, sp, NULL, &d), 0);
	static const mode_t bad[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CU_ASSERT_EQUAL(chmod(sp, bad[i]), 0);
		CU_ASSERT_EQUAL(keyfile_secret_load(sp, &back, &d), ERR_PERM);
		CU_ASSERT_PTR_NULL(back);
		CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "chmod 600"));
	}
	CU_ASSERT_EQUAL(chmod(sp, 0400), 0);
	CU_ASSERT_EQUAL(keyfile_secret_load(sp, &back, &d), 0);
	keyfile_secret_free(back);
	keyfile_secret_free(s);
}

#define HEX64_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX64_0 "0000000000000000000000000000000000000000000000000000000000000000"

/* Edits of a valid secret file (lines: 1 comment, 2 header, 3 role, 4 id,
 * 5 key-id, 6 sign, 7 kx, 8 sign-secret, 9 kx-secret).  '$' in the
 * replacement stands for the original line's last word. */
static const struct {
	unsigned line;
	const char *repl;       /* NULL: delete the line */
	int rc;
	unsigned err_line;
} edits[] = {
	{ 2, "lifeline-key 2 secret", ERR_VERSION, 2 },
	{ 2, "lifeline-key 1 public", ERR_KEY, 2 },
	{ 2, "hello", ERR_KEY, 2 },
	{ 2, NULL, ERR_KEY, 2 },                        /* no header: role first */
	{ 3, "role captain", ERR_KEY, 3 },
	{ 3, "role vessel\r", ERR_KEY, 3 },             /* CRLF line ends */
	{ 3, "role  vessel", ERR_KEY, 3 },              /* two spaces */
	{ 3, " role vessel", ERR_KEY, 3 },
	{ 3, "role vessel ", ERR_KEY, 3 },
	{ 3, "role", ERR_KEY, 3 },
	{ 4, "id ../etc", ERR_KEY, 4 },
	{ 4, "id " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ERR_KEY, 4 },
	{ 5, "key-id 00", ERR_KEY, 5 },
	{ 5, "key-id 0000000000000000", ERR_KEY, 5 },   /* does not match */
	{ 5, "key-id $ 1", ERR_KEY, 5 },
	{ 6, "sign rsa $", ERR_KEY, 6 },
	{ 6, "sign ed25519 0$", ERR_KEY, 6 },            /* 65 digits */
	{ 6, "sign ed25519 " HEX64_0, ERR_KEY, 5 },      /* key id no longer matches */
	{ 7, "kx x25519 $ extra", ERR_KEY, 7 },
	{ 7, "kx x25519 zz" HEX64_0, ERR_KEY, 7 },
	{ 8, "sign-secret ed25519 " HEX64_1, ERR_KEY, 8 },
	{ 9, "kx-secret x25519 " HEX64_1, ERR_KEY, 9 },
	{ 9, "role vessel", ERR_KEY, 9 },               /* given twice */
	{ 9, "colour blue", ERR_KEY, 9 },
	{ 9, NULL, ERR_KEY, 9 },                        /* kx-secret missing */
	{ 1, "", 0, 0 },                                /* blank line is fine */
	{ 1, "# any comment", 0, 0 },
};

static void test_malformed_table(void)
{
	struct keyfile_secret *s = NULL;
	struct keyfile_diag d;
	char sp[KEYFILE_PATH_MAX], orig[KEYFILE_BYTES_MAX], bad[KEYFILE_PATH_MAX];
	CU_ASSERT_EQUAL_FATAL(keyfile_generate(KEYFILE_ROLE_VESSEL, "table", &s), 0);
	CU_ASSERT_EQUAL(keyfile_write(dir, s, sp, NULL, &d), 0);
	keyfile_secret_free(s);
	slurp(sp, orig, sizeof orig);
	path_of(bad, sizeof bad, "bad.secret");
	for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
		char text[KEYFILE_BYTES_MAX * 2] = "", copy[KEYFILE_BYTES_MAX];
		strcpy(copy, orig);
		unsigned ln = 0;
		for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
			ln++;
			if (ln != edits[e].line) {
				strcat(text, line);
				strcat(text, "\n");
				continue;
			}
			if (!edits[e].repl)
				continue;
			const char *last = strrchr(line, ' ');
			last = last ? last + 1 : line;
			for (const char *r = edits[e].repl; *r; r++) {
				if (*r == '$')
					strcat(text, last);
				else
					strncat(text, r, 1);
			}
			strcat(text, "\n");
		}
		spit(bad, text, 0600);
		struct keyfile_secret *out = NULL;
		int rc = keyfile_secret_load(bad, &out, &d);
		CU_ASSERT_EQUAL(rc, edits[e].rc);
		if (rc != edits[e].rc)
			fprintf(stderr, "\nedit %zu: rc %d (%s) line %u\n", e, rc, d.msg, d.line);
		if (edits[e].rc != 0) {
			CU_ASSERT_EQUAL(d.line, edits[e].err_line);
			CU_ASSERT_PTR_NULL(out);
			CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, bad));     /* names the file */
		}
		keyfile_secret_free(out);
	}
	/* Empty, oversized, NUL byte. */
	struct keyfile_secret *out = NULL;
	spit(bad, "", 0600);
	CU_ASSERT_EQUAL(keyfile_secret_load(bad, &out, &d), ERR_KEY);
	static char huge[KEYFILE_BYTES_MAX + 10];
	memset(huge, '#', sizeof huge - 1);
	spit(bad, huge, 0600);
	CU_ASSERT_EQUAL(keyfile_secret_load(bad, &out, &d), ERR_TOOBIG);
	int fd = open(bad, O_WRONLY | O_TRUNC);
	CU_ASSERT(write(fd, "lifeline-key 1 secret\n\0\n", 24) == 24);
	close(fd);
	CU_ASSERT_EQUAL(keyfile_secret_load(bad, &out, &d), ERR_KEY);
	CU_ASSERT_EQUAL(keyfile_secret_load("/nonexistent/x.secret", &out, &d), ERR_IO);
	CU_ASSERT_PTR_NULL(out);
}

static int run_keygen(const char *args)
{
	const char *build = getenv("LIFELINE_BUILD");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s/lifeline-keygen' %s >/dev/null 2>&1", build, args);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_keygen_tool(void)
{
	if (!getenv("LIFELINE_BUILD"))
		return;
	char args[512], sp[KEYFILE_PATH_MAX];
	snprintf(args, sizeof args, "--role vessel --id tool-1 --out '%s'", dir);
	CU_ASSERT_EQUAL(run_keygen(args), 0);
	CU_ASSERT_EQUAL(run_keygen(args), 1);                   /* exists */
	path_of(sp, sizeof sp, "tool-1.secret");
	struct keyfile_secret *s = NULL;
	struct keyfile_diag d;
	CU_ASSERT_EQUAL(keyfile_secret_load(sp, &s, &d), 0);
	CU_ASSERT(s && s->pub.role == KEYFILE_ROLE_VESSEL);
	keyfile_secret_free(s);
	CU_ASSERT_EQUAL(run_keygen(""), 2);
	CU_ASSERT_EQUAL(run_keygen("--role boat --id x --out /tmp"), 2);
	CU_ASSERT_EQUAL(run_keygen("--role shore --id ../x --out /tmp"), 2);
	CU_ASSERT_EQUAL(run_keygen("--role shore --id x"), 2);
	CU_ASSERT_EQUAL(run_keygen("--role shore --role shore --id x --out /tmp"), 2);
}

void suite_keyfile(void);
void suite_keyfile(void)
{
	CU_pSuite s = CU_add_suite("keyfile", setup, teardown);
	CU_add_test(s, "round trip and modes", test_round_trip);
	CU_add_test(s, "never overwrite", test_never_overwrite);
	CU_add_test(s, "refuse a secret readable by others", test_refuse_readable_secret);
	CU_add_test(s, "malformed files, with line numbers", test_malformed_table);
	CU_add_test(s, "lifeline-keygen exit codes", test_keygen_tool);
}
