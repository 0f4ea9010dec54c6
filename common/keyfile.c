/*
 * keyfile.c — key generation, key files on disk, loading them safely.
 *
 * What it is for: the only place where Lifeline's long-term secret keys
 * touch the file system (format in keyfile.h).
 *
 * Invariants: secret keys, and every buffer that held their hex text, are
 * in sodium_malloc() memory and wiped before being freed; a key file is
 * never overwritten (O_EXCL), a secret file is created 0600 and refused on
 * load when group or others may read or write it; a loaded file is fully
 * checked (key id against keys, public keys against secret keys).
 *
 * Failure behaviour: every function returns a negative enum err and fills
 * struct keyfile_diag with a message that says what is wrong and what to
 * do; nothing is left half written (a secret file whose public companion
 * could not be written is removed).
 */
#include "common/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODE_SECRET 0600
#define MODE_PUBLIC 0644
#define MODE_GROUP_OTHER 077
#define HEX_DIGIT_BITS 4u
#define HEX_LOW_NIBBLE 0x0fu
#define MAGIC_WORD "lifeline-key"
#define KIND_SECRET "secret"
#define KIND_PUBLIC "public"
#define ALG_SIGN "ed25519"
#define ALG_KX "x25519"
#define WORDS_MAX 4u                    /* most words on one line */

static __attribute__((format(printf, 3, 4))) void diag(struct keyfile_diag *d, unsigned line,
							   const char *fmt, ...)
{
	if (!d)
		return;
	d->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
}

int keyfile_role_parse(const char *name, enum keyfile_role *role)
{
	if (strcmp(name, "vessel") == 0)
		*role = KEYFILE_ROLE_VESSEL;
	else if (strcmp(name, "shore") == 0)
		*role = KEYFILE_ROLE_SHORE;
	else if (strcmp(name, "inspector") == 0)
		*role = KEYFILE_ROLE_INSPECTOR;
	else
		return ERR_INVAL;
	return 0;
}

const char *keyfile_role_name(enum keyfile_role role)
{
	switch (role) {
	case KEYFILE_ROLE_VESSEL: return "vessel";
	case KEYFILE_ROLE_SHORE: return "shore";
	case KEYFILE_ROLE_INSPECTOR: return "inspector";
	}
	return "?";
}

bool keyfile_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > KEYFILE_ID_MAX || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static void key_id_compute(const struct keyfile_public *p, uint8_t out[KEYFILE_KEYID_BYTES])
{
	uint8_t both[KEYFILE_SIGN_PK_BYTES + KEYFILE_KX_PK_BYTES];
	uint8_t h[crypto_generichash_BYTES];
	memcpy(both, p->sign_pk, KEYFILE_SIGN_PK_BYTES);
	memcpy(both + KEYFILE_SIGN_PK_BYTES, p->kx_pk, KEYFILE_KX_PK_BYTES);
	crypto_generichash(h, sizeof h, both, sizeof both, NULL, 0);
	memcpy(out, h, KEYFILE_KEYID_BYTES);
}

void keyfile_key_id_hex(const struct keyfile_public *p, char out[KEYFILE_KEYID_HEX_BYTES])
{
	sodium_bin2hex(out, KEYFILE_KEYID_HEX_BYTES, p->key_id, KEYFILE_KEYID_BYTES);
}

int keyfile_generate(enum keyfile_role role, const char *id, struct keyfile_secret **out)
{
	*out = NULL;
	if (!keyfile_id_valid(id) || strcmp(keyfile_role_name(role), "?") == 0)
		return ERR_INVAL;
	struct keyfile_secret *s = sodium_malloc(sizeof *s);
	if (!s)
		return ERR_NOMEM;
	memset(s, 0, sizeof *s);
	s->pub.role = role;
	memcpy(s->pub.id, id, strlen(id) + 1);
	if (crypto_sign_keypair(s->pub.sign_pk, s->sign_sk) != 0 ||
	    crypto_kx_keypair(s->pub.kx_pk, s->kx_sk) != 0) {
		keyfile_secret_free(s);
		return ERR_CRYPTO;
	}
	key_id_compute(&s->pub, s->pub.key_id);
	*out = s;
	return 0;
}

void keyfile_secret_free(struct keyfile_secret *s)
{
	if (!s)
		return;
	sodium_memzero(s, sizeof *s);
	sodium_free(s);
}

/* ---- writing ------------------------------------------------------------- */

static int path_join(char *out, const char *dir, const char *id, const char *suffix)
{
	int n = snprintf(out, KEYFILE_PATH_MAX, "%s/%s%s", dir, id, suffix);
	return (n < 0 || (size_t)n >= KEYFILE_PATH_MAX) ? ERR_TOOBIG : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates path exclusively with mode and writes text; fsyncs. */
static int create_file(const char *path, mode_t mode, const char *text, size_t n,
		       struct keyfile_diag *d)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST) {
			diag(d, 0, "%s already exists; Lifeline never overwrites a key file. "
			     "Keep using it, or choose another --id, or move the old files "
			     "away yourself if you really mean to replace them", path);
			return ERR_DUP;
		}
		diag(d, 0, "cannot create %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	int rc = 0;
	if (fchmod(fd, mode) != 0 || write_all(fd, text, n) != 0 || fsync(fd) != 0) {
		diag(d, 0, "cannot write %s: %s", path, strerror(errno));
		rc = ERR_IO;
	}
	if (close(fd) != 0 && rc == 0) {
		diag(d, 0, "cannot close %s: %s", path, strerror(errno));
		rc = ERR_IO;
	}
	if (rc != 0)
		unlink(path);
	return rc;
}

/* Formats the file text into buf (cap bytes).  Returns length or ERR_FULL. */
static int format_file(char *buf, size_t cap, const struct keyfile_secret *s, bool secret)
{
	char sign_pk[2 * KEYFILE_SIGN_PK_BYTES + 1];
	char kx_pk[2 * KEYFILE_KX_PK_BYTES + 1];
	char key_id[KEYFILE_KEYID_HEX_BYTES];
	sodium_bin2hex(sign_pk, sizeof sign_pk, s->pub.sign_pk, KEYFILE_SIGN_PK_BYTES);
	sodium_bin2hex(kx_pk, sizeof kx_pk, s->pub.kx_pk, KEYFILE_KX_PK_BYTES);
	keyfile_key_id_hex(&s->pub, key_id);
	int n = snprintf(buf, cap,
			 "# Lifeline %s key file. %s\n"
			 MAGIC_WORD " %u %s\n"
			 "role %s\n"
			 "id %s\n"
			 "key-id %s\n"
			 "sign " ALG_SIGN " %s\n"
			 "kx " ALG_KX " %s\n",
			 secret ? "SECRET" : "public",
			 secret ? "Keep it mode 0600; never copy it off this machine."
				: "Give it to the parties that must verify or reach this key.",
			 KEYFILE_VERSION, secret ? KIND_SECRET : KIND_PUBLIC,
			 keyfile_role_name(s->pub.role), s->pub.id, key_id, sign_pk, kx_pk);
	if (n < 0 || (size_t)n >= cap)
		return ERR_FULL;
	if (!secret)
		return n;
	/* Secret hex is written straight into buf (sodium_malloc memory). */
	size_t used = (size_t)n;
	const struct { const char *prefix; const uint8_t *key; size_t len; } parts[] = {
		{ "sign-secret " ALG_SIGN " ", s->sign_sk, KEYFILE_SIGN_SEED_BYTES },
		{ "kx-secret " ALG_KX " ", s->kx_sk, KEYFILE_KX_SK_BYTES },
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t pl = strlen(parts[i].prefix);
		size_t need = pl + 2 * parts[i].len + 1;        /* hex + newline */
		if (cap - used <= need)
			return ERR_FULL;
		memcpy(buf + used, parts[i].prefix, pl);
		used += pl;
		sodium_bin2hex(buf + used, cap - used, parts[i].key, parts[i].len);
		used += 2 * parts[i].len;
		buf[used++] = '\n';
	}
	buf[used] = '\0';
	return (int)used;
}

int keyfile_write(const char *dir, const struct keyfile_secret *s, char *secret_path,
		  char *public_path, struct keyfile_diag *d)
{
	char sp[KEYFILE_PATH_MAX], pp[KEYFILE_PATH_MAX];
	diag(d, 0, "ok");
	if (!keyfile_id_valid(s->pub.id)) {
		diag(d, 0, "bad id \"%s\": use 1 to %u of A-Z a-z 0-9 . _ -, not starting with '.'",
		     s->pub.id, KEYFILE_ID_MAX);
		return ERR_INVAL;
	}
	if (path_join(sp, dir, s->pub.id, KEYFILE_SECRET_SUFFIX) != 0 ||
	    path_join(pp, dir, s->pub.id, KEYFILE_PUBLIC_SUFFIX) != 0) {
		diag(d, 0, "directory path too long: %s", dir);
		return ERR_INVAL;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		diag(d, 0, "%s is not a directory; create it first (mkdir -m 700 %s)", dir, dir);
		return ERR_IO;
	}
	const char *exists = lstat(sp, &st) == 0 ? sp : lstat(pp, &st) == 0 ? pp : NULL;
	if (exists) {
		diag(d, 0, "%s already exists; Lifeline never overwrites a key file. "
		     "Keep using it, or choose another --id, or move the old files away "
		     "yourself if you really mean to replace them", exists);
		return ERR_DUP;
	}
	char *buf = sodium_malloc(KEYFILE_BYTES_MAX);
	if (!buf) {
		diag(d, 0, "out of secure memory");
		return ERR_NOMEM;
	}
	int rc;
	int n = format_file(buf, KEYFILE_BYTES_MAX, s, true);
	if (n < 0) {
		diag(d, 0, "key file text too long");
		rc = ERR_INVAL;
		goto out;
	}
	rc = create_file(sp, MODE_SECRET, buf, (size_t)n, d);
	if (rc != 0)
		goto out;
	n = format_file(buf, KEYFILE_BYTES_MAX, s, false);
	rc = n < 0 ? ERR_INVAL : create_file(pp, MODE_PUBLIC, buf, (size_t)n, d);
	if (rc != 0) {
		unlink(sp);             /* never leave a secret without its public */
		goto out;
	}
	/* Make the new directory entries durable too. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	if (secret_path)
		memcpy(secret_path, sp, sizeof sp);
	if (public_path)
		memcpy(public_path, pp, sizeof pp);
out:
	sodium_memzero(buf, KEYFILE_BYTES_MAX);
	sodium_free(buf);
	return rc;
}

/* ---- loading --------------------------------------------------------------- */

/* Reads the whole file into a sodium_malloc'd, NUL-terminated buffer. */
static int read_file(const char *path, bool secret, char **out, struct keyfile_diag *d)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		diag(d, 0, "cannot open %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	int rc = 0;
	char *buf = NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag(d, 0, "%s is not a regular file", path);
		rc = ERR_IO;
		goto out;
	}
	if (secret && (st.st_mode & MODE_GROUP_OTHER)) {
		diag(d, 0, "%s is accessible by group or others (mode %04o); a secret key "
		     "must be private: run  chmod 600 %s  and check who may have copied it",
		     path, (unsigned)(st.st_mode & 07777), path);
		rc = ERR_PERM;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size >= KEYFILE_BYTES_MAX) {
		diag(d, 0, "%s is too big to be a key file (%lld bytes)", path, (long long)st.st_size);
		rc = ERR_TOOBIG;
		goto out;
	}
	buf = sodium_malloc(KEYFILE_BYTES_MAX);
	if (!buf) {
		diag(d, 0, "out of secure memory");
		rc = ERR_NOMEM;
		goto out;
	}
	size_t used = 0;
	for (;;) {
		ssize_t r = read(fd, buf + used, KEYFILE_BYTES_MAX - 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag(d, 0, "cannot read %s: %s", path, strerror(errno));
			rc = ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used >= KEYFILE_BYTES_MAX - 1) {
			diag(d, 0, "%s is too big to be a key file", path);
			rc = ERR_TOOBIG;
			goto out;
		}
	}
	buf[used] = '\0';
	if (memchr(buf, '\0', used)) {
		diag(d, 0, "%s holds a NUL byte: not a key file", path);
		rc = ERR_KEY;
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (buf) {
		sodium_memzero(buf, KEYFILE_BYTES_MAX);
		sodium_free(buf);
	}
	close(fd);
	return rc;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2*n hex digits -> n bytes.  0 or ERR_KEY. */
static int hex_exact(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return ERR_KEY;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return ERR_KEY;
		out[i] = (uint8_t)(((unsigned)hi << HEX_DIGIT_BITS) | ((unsigned)lo & HEX_LOW_NIBBLE));
	}
	return 0;
}

enum field {
	F_ROLE, F_ID, F_KEYID, F_SIGN, F_KX, F_SIGN_SECRET, F_KX_SECRET, F_COUNT_
};

static const struct { const char *name; size_t words; bool secret_only; } fields[F_COUNT_] = {
	[F_ROLE] = { "role", 2, false },
	[F_ID] = { "id", 2, false },
	[F_KEYID] = { "key-id", 2, false },
	[F_SIGN] = { "sign", 3, false },
	[F_KX] = { "kx", 3, false },
	[F_SIGN_SECRET] = { "sign-secret", 3, true },
	[F_KX_SECRET] = { "kx-secret", 3, true },
};

/* Splits a line in place on single spaces.  Returns the word count, or
 * WORDS_MAX + 1 if there are too many; 0 words for an empty token marks a
 * malformed line (double space, leading or trailing space). */
static size_t split(char *line, char *words[WORDS_MAX])
{
	size_t n = 0;
	char *p = line;
	for (;;) {
		char *sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		if (*p == '\0')
			return 0;
		if (n == WORDS_MAX)
			return WORDS_MAX + 1;
		words[n++] = p;
		if (!sp)
			return n;
		p = sp + 1;
	}
}

/* Parses text (destroyed) into pub and, if sec, the secret keys. */
static int parse(char *text, bool secret, struct keyfile_public *pub, struct keyfile_secret *sec,
		 const char *path, struct keyfile_diag *d)
{
	unsigned seen_line[F_COUNT_] = { 0 };
	bool header = false;
	unsigned lineno = 0;
	uint8_t seed[KEYFILE_SIGN_SEED_BYTES];
	char *save = text;
	int rc = 0;
	memset(pub, 0, sizeof *pub);
	while (save) {
		char *line = save;
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		else if (*line == '\0')
			break;                  /* the end after a final newline */
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		char *w[WORDS_MAX];
		size_t n = split(line, w);
		if (n == 0 || n > WORDS_MAX) {
			diag(d, lineno, "%s:%u: malformed line (one space between words, no "
			     "leading or trailing space, no CR)", path, lineno);
			rc = ERR_KEY;
			goto out;
		}
		if (!header) {
			if (n != 3 || strcmp(w[0], MAGIC_WORD) != 0) {
				diag(d, lineno, "%s:%u: not a Lifeline key file (expected \"" MAGIC_WORD
				     " %u %s\")", path, lineno, KEYFILE_VERSION,
				     secret ? KIND_SECRET : KIND_PUBLIC);
				rc = ERR_KEY;
				goto out;
			}
			if (strcmp(w[1], "1") != 0) {
				diag(d, lineno, "%s:%u: key file version %s is not supported (this "
				     "program reads version %u)", path, lineno, w[1], KEYFILE_VERSION);
				rc = ERR_VERSION;
				goto out;
			}
			if (strcmp(w[2], secret ? KIND_SECRET : KIND_PUBLIC) != 0) {
				diag(d, lineno, "%s:%u: this is a \"%s\" key file; a %s key file was "
				     "expected (ID%s)", path, lineno, w[2],
				     secret ? KIND_SECRET : KIND_PUBLIC,
				     secret ? KEYFILE_SECRET_SUFFIX : KEYFILE_PUBLIC_SUFFIX);
				rc = ERR_KEY;
				goto out;
			}
			header = true;
			continue;
		}
		size_t f = 0;
		while (f < F_COUNT_ && strcmp(fields[f].name, w[0]) != 0)
			f++;
		if (f == F_COUNT_ || (fields[f].secret_only && !secret)) {
			diag(d, lineno, "%s:%u: unknown field \"%s\"", path, lineno, w[0]);
			rc = ERR_KEY;
			goto out;
		}
		if (seen_line[f]) {
			diag(d, lineno, "%s:%u: \"%s\" given twice (first on line %u)", path, lineno,
			     w[0], seen_line[f]);
			rc = ERR_KEY;
			goto out;
		}
		seen_line[f] = lineno;
		if (n != fields[f].words) {
			diag(d, lineno, "%s:%u: \"%s\" takes %zu value(s)", path, lineno, w[0],
			     fields[f].words - 1);
			rc = ERR_KEY;
			goto out;
		}
		bool ok = true;
		switch ((enum field)f) {
		case F_ROLE:
			ok = keyfile_role_parse(w[1], &pub->role) == 0;
			break;
		case F_ID:
			ok = keyfile_id_valid(w[1]);
			if (ok)
				memcpy(pub->id, w[1], strlen(w[1]) + 1);
			break;
		case F_KEYID:
			ok = hex_exact(w[1], pub->key_id, KEYFILE_KEYID_BYTES) == 0;
			break;
		case F_SIGN:
			ok = strcmp(w[1], ALG_SIGN) == 0 &&
			     hex_exact(w[2], pub->sign_pk, KEYFILE_SIGN_PK_BYTES) == 0;
			break;
		case F_KX:
			ok = strcmp(w[1], ALG_KX) == 0 &&
			     hex_exact(w[2], pub->kx_pk, KEYFILE_KX_PK_BYTES) == 0;
			break;
		case F_SIGN_SECRET:
			ok = strcmp(w[1], ALG_SIGN) == 0 &&
			     hex_exact(w[2], seed, KEYFILE_SIGN_SEED_BYTES) == 0;
			break;
		case F_KX_SECRET:
			ok = strcmp(w[1], ALG_KX) == 0 &&
			     hex_exact(w[2], sec->kx_sk, KEYFILE_KX_SK_BYTES) == 0;
			break;
		case F_COUNT_:
			ok = false;
			break;
		}
		if (!ok) {
			diag(d, lineno, "%s:%u: bad value for \"%s\" (see the format in "
			     "common/keyfile.h)", path, lineno, w[0]);
			rc = ERR_KEY;
			goto out;
		}
	}
	if (!header) {
		diag(d, 1, "%s: empty: not a Lifeline key file", path);
		rc = ERR_KEY;
		goto out;
	}
	for (size_t f = 0; f < F_COUNT_; f++) {
		if (!seen_line[f] && (secret || !fields[f].secret_only)) {
			diag(d, lineno + 1, "%s: field \"%s\" is missing", path, fields[f].name);
			rc = ERR_KEY;
			goto out;
		}
	}
	uint8_t kid[KEYFILE_KEYID_BYTES];
	key_id_compute(pub, kid);
	if (sodium_memcmp(kid, pub->key_id, KEYFILE_KEYID_BYTES) != 0) {
		diag(d, seen_line[F_KEYID], "%s:%u: key-id does not match the keys in the file "
		     "(altered or damaged file)", path, seen_line[F_KEYID]);
		rc = ERR_KEY;
		goto out;
	}
	if (secret) {
		uint8_t pk[KEYFILE_SIGN_PK_BYTES], kxpk[KEYFILE_KX_PK_BYTES];
		if (crypto_sign_seed_keypair(pk, sec->sign_sk, seed) != 0 ||
		    sodium_memcmp(pk, pub->sign_pk, sizeof pk) != 0) {
			diag(d, seen_line[F_SIGN_SECRET], "%s:%u: sign-secret does not match the "
			     "sign public key", path, seen_line[F_SIGN_SECRET]);
			rc = ERR_KEY;
			goto out;
		}
		if (crypto_scalarmult_base(kxpk, sec->kx_sk) != 0 ||
		    sodium_memcmp(kxpk, pub->kx_pk, sizeof kxpk) != 0) {
			diag(d, seen_line[F_KX_SECRET], "%s:%u: kx-secret does not match the kx "
			     "public key", path, seen_line[F_KX_SECRET]);
			rc = ERR_KEY;
			goto out;
		}
	}
out:
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int keyfile_secret_load(const char *path, struct keyfile_secret **out, struct keyfile_diag *d)
{
	*out = NULL;
	diag(d, 0, "ok");
	char *text = NULL;
	int rc = read_file(path, true, &text, d);
	if (rc != 0)
		return rc;
	struct keyfile_secret *s = sodium_malloc(sizeof *s);
	if (!s) {
		diag(d, 0, "out of secure memory");
		rc = ERR_NOMEM;
		goto out;
	}
	memset(s, 0, sizeof *s);
	rc = parse(text, true, &s->pub, s, path, d);
	if (rc != 0) {
		keyfile_secret_free(s);
		goto out;
	}
	*out = s;
out:
	sodium_memzero(text, KEYFILE_BYTES_MAX);
	sodium_free(text);
	return rc;
}

int keyfile_public_load(const char *path, struct keyfile_public *out, struct keyfile_diag *d)
{
	diag(d, 0, "ok");
	char *text = NULL;
	int rc = read_file(path, false, &text, d);
	if (rc != 0)
		return rc;
	struct keyfile_public p;
	rc = parse(text, false, &p, NULL, path, d);
	if (rc == 0)
		*out = p;
	sodium_memzero(text, KEYFILE_BYTES_MAX);
	sodium_free(text);
	return rc;
}
