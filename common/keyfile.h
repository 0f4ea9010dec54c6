/*
 * keyfile.h — Lifeline key files: generating, writing and loading keys.
 *
 * Every party (vessel, shore, inspector) has an Ed25519 signing pair and an
 * X25519 key-exchange pair (crypto_kx).  They live in two text files:
 *
 *     DIR/ID.secret   mode 0600, created with O_EXCL (never overwritten)
 *     DIR/ID.public   mode 0644
 *
 * Format (one "field value..." per line, '#' comment lines and blank lines
 * ignored, each field exactly once, any order after the first line):
 *
 *     lifeline-key 1 secret              (or: lifeline-key 1 public)
 *     role vessel                        vessel | shore | inspector
 *     id TH-1042                         [A-Za-z0-9._-], 1..64, not "." first
 *     key-id 1f0c9a4e2b7d5a13            hex of the first 8 bytes of
 *                                        BLAKE2b-256(sign public || kx public)
 *     sign ed25519 <64 hex>              signing public key
 *     kx x25519 <64 hex>                 key-exchange public key
 *     sign-secret ed25519 <64 hex>       secret file only: the Ed25519 seed
 *     kx-secret x25519 <64 hex>          secret file only
 *
 * Loading checks everything: the version, the kind, every field, the key id
 * against the keys, and (secret files) that the public keys derive from the
 * secret ones.  Secret keys and the file text holding them live only in
 * sodium_malloc() memory, wiped and freed by keyfile_secret_free().
 * Callers must have called sodium_init().
 */
#ifndef LIFELINE_COMMON_KEYFILE_H
#define LIFELINE_COMMON_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define KEYFILE_VERSION 1u
#define KEYFILE_ID_MAX 64u
#define KEYFILE_KEYID_BYTES 8u
#define KEYFILE_KEYID_HEX_BYTES (2u * KEYFILE_KEYID_BYTES + 1u)    /* with NUL */
#define KEYFILE_SIGN_PK_BYTES 32u
#define KEYFILE_SIGN_SK_BYTES 64u
#define KEYFILE_SIGN_SEED_BYTES 32u
#define KEYFILE_KX_PK_BYTES 32u
#define KEYFILE_KX_SK_BYTES 32u
#define KEYFILE_BYTES_MAX 4096u         /* a key file is under 1 KiB */
#define KEYFILE_MSG_MAX 512u
#define KEYFILE_PATH_MAX 4096u
#define KEYFILE_SECRET_SUFFIX ".secret"
#define KEYFILE_PUBLIC_SUFFIX ".public"

enum keyfile_role {
	KEYFILE_ROLE_VESSEL = 1,
	KEYFILE_ROLE_SHORE,
	KEYFILE_ROLE_INSPECTOR
};

struct keyfile_public {
	enum keyfile_role role;
	char id[KEYFILE_ID_MAX + 1];
	uint8_t key_id[KEYFILE_KEYID_BYTES];
	uint8_t sign_pk[KEYFILE_SIGN_PK_BYTES];
	uint8_t kx_pk[KEYFILE_KX_PK_BYTES];
};

/* Always in sodium_malloc() memory: get one from keyfile_generate() or
 * keyfile_secret_load(), give it back with keyfile_secret_free(). */
struct keyfile_secret {
	struct keyfile_public pub;
	uint8_t sign_sk[KEYFILE_SIGN_SK_BYTES];   /* libsodium form: seed || pk */
	uint8_t kx_sk[KEYFILE_KX_SK_BYTES];
};

/* Why a call failed: a message for a person (what is wrong and what to do)
 * and the 1-based line of the file it concerns (0: not about one line). */
struct keyfile_diag {
	unsigned line;
	char msg[KEYFILE_MSG_MAX];
};

/* "vessel" | "shore" | "inspector" -> role.  0 or ERR_INVAL. */
int keyfile_role_parse(const char *name, enum keyfile_role *role) LL_MUST_CHECK;
/* The role's name; "?" for an unknown value. */
const char *keyfile_role_name(enum keyfile_role role);
/* True if id is 1..KEYFILE_ID_MAX of [A-Za-z0-9._-] not starting with '.'. */
bool keyfile_id_valid(const char *id);
/* The key id of a public pair, as 16 lowercase hex digits and a NUL. */
void keyfile_key_id_hex(const struct keyfile_public *p, char out[KEYFILE_KEYID_HEX_BYTES]);

/* New random keys for (role, id) in sodium_malloc() memory, owned by the
 * caller.  Returns 0, ERR_INVAL (bad id or role), ERR_NOMEM, ERR_CRYPTO. */
int keyfile_generate(enum keyfile_role role, const char *id, struct keyfile_secret **out) LL_MUST_CHECK;

/* Wipes and frees; NULL is a no-op. */
void keyfile_secret_free(struct keyfile_secret *s);

/*
 * Writes DIR/ID.secret (0600) and DIR/ID.public (0644), ID = s->pub.id,
 * both with O_EXCL, fsynced.  Never overwrites: if either exists nothing is
 * written.  Returns 0, ERR_DUP (a file exists), ERR_IO, ERR_INVAL, ERR_NOMEM,
 * with d->msg saying what to do.  secret_path/public_path (may be NULL)
 * receive the paths written (KEYFILE_PATH_MAX bytes each).
 */
int keyfile_write(const char *dir, const struct keyfile_secret *s, char *secret_path,
		  char *public_path, struct keyfile_diag *d) LL_MUST_CHECK;

/*
 * Loads a secret key file.  Refuses a file readable or writable by group or
 * others (ERR_PERM, with the chmod to run).  Returns 0 and *out (caller
 * frees with keyfile_secret_free()), or ERR_IO, ERR_PERM, ERR_TOOBIG,
 * ERR_VERSION, ERR_KEY (malformed or inconsistent: d->line says where),
 * ERR_NOMEM.
 */
int keyfile_secret_load(const char *path, struct keyfile_secret **out, struct keyfile_diag *d) LL_MUST_CHECK;

/* Loads a public key file into *out.  Same errors, without ERR_PERM. */
int keyfile_public_load(const char *path, struct keyfile_public *out, struct keyfile_diag *d) LL_MUST_CHECK;

#endif
