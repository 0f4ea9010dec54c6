/*
 * netutil.h — what the network delivery drivers (deliver_smtp,
 * deliver_webhook) and the reply endpoint (replyhttp) share: secret files,
 * the HMAC-SHA256 request signature, and text made safe for an outcome.
 *
 * Signature scheme (both directions, see /tmp/doc_net_protocol.md):
 *   X-Lifeline-Timestamp: UNIX          decimal seconds, no sign
 *   X-Lifeline-Signature: sha256=HEX    HEX = lower-case hex of
 *       HMAC-SHA256(key = the secret file's bytes,
 *                   msg = UNIX || "." || the exact body bytes)
 * A receiver refuses a timestamp more than its skew away from its clock
 * (either way), so a captured request cannot be replayed later.
 *
 * Secret files: the whole file is the key, minus one trailing "\n" or
 * "\r\n"; NETUTIL_SECRET_MIN..NETUTIL_SECRET_MAX bytes; the file must not
 * be readable or writable by others (chmod 0600 or 0640).  Keys live in
 * sodium_malloc() memory; callers must have called sodium_init().
 */
#ifndef LIFELINE_SHORE_NETUTIL_H
#define LIFELINE_SHORE_NETUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define NETUTIL_SECRET_MIN 16u          /* bytes: 128 bits of a random secret */
#define NETUTIL_SECRET_MAX 1024u
#define NETUTIL_SIG_PREFIX "sha256="
#define NETUTIL_SIG_HEX_BYTES 64u        /* hex of a 32-byte HMAC */
#define NETUTIL_SIG_BYTES (sizeof NETUTIL_SIG_PREFIX - 1u + NETUTIL_SIG_HEX_BYTES + 1u)
#define NETUTIL_TS_DIGITS_MAX 19u        /* fits int64 */
#define NETUTIL_TIMEOUT_MS_DEFAULT 30000u

struct netutil_secret;

/* Reads a secret file of min_len..NETUTIL_SECRET_MAX bytes (min_len 0:
 * NETUTIL_SECRET_MIN; 1 for passwords).  Returns 0, ERR_NOTFOUND/ERR_IO
 * (unreadable), ERR_PERM (others may read or write it), ERR_TOOBIG/
 * ERR_INVAL (size out of range), ERR_NOMEM; why says what to do. */
int netutil_secret_load(const char *path, size_t min_len, struct netutil_secret **out, char *why,
			size_t why_cap) LL_MUST_CHECK;
/* The key bytes, NUL-terminated after *len bytes (for APIs that take a
 * C string, such as a password); valid until netutil_secret_free(). */
const char *netutil_secret_bytes(const struct netutil_secret *k, size_t *len);
void netutil_secret_free(struct netutil_secret *k);   /* NULL is a no-op; wipes */

/* out <- "sha256=" + hex(HMAC(k, "<ts>." + body)).  ts >= 0. */
void netutil_sign(const struct netutil_secret *k, int64_t ts, const void *body, size_t len,
		  char out[NETUTIL_SIG_BYTES]);

/*
 * Checks the two headers (either may be NULL: missing) over body.
 * now: the receiver's wall clock; max_skew_s: how far the timestamp may be
 * from it.  Returns 0, ERR_AUTH (missing/malformed header, wrong
 * signature) or ERR_WINDOW (timestamp too old or in the future); why says
 * which.  The comparison is constant-time.  *ts (may be NULL) gets the
 * timestamp when it parsed.
 */
int netutil_verify(const struct netutil_secret *k, const char *ts_hdr, const char *sig_hdr,
		   const void *body, size_t len, int64_t now, uint64_t max_skew_s, int64_t *ts,
		   char *why, size_t why_cap) LL_MUST_CHECK;

/* Copies at most n bytes of s into out (NUL-terminated, cap >= 1) with
 * bytes outside printable ASCII replaced by '?' and runs of whitespace
 * as one space: for server replies quoted in an outcome text or a log. */
void netutil_printable(const char *s, size_t n, char *out, size_t cap);

#endif
