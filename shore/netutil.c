/*
 * netutil.c — secret files, HMAC request signatures and printable outcome
 * text for the network drivers and the reply endpoint (see netutil.h).
 *
 * Invariants: a loaded key is in sodium_malloc() memory, never copied out,
 * wiped on free; the file buffer that held it is wiped too.  Signatures are
 * compared with crypto_verify_32 (constant time).
 *
 * Failure: every function reports through its return value and a why text;
 * nothing logs (callers decide) and nothing aborts.
 */
#include "shore/netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct netutil_secret {
	size_t len;
	uint8_t key[NETUTIL_SECRET_MAX + 3u];   /* + "\r\n" + one byte too many */
};

int netutil_secret_load(const char *path, size_t min_len, struct netutil_secret **out, char *why,
			size_t why_cap)
{
	*out = NULL;
	if (min_len == 0)
		min_len = NETUTIL_SECRET_MIN;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(why, why_cap, "cannot open secret file %s: %s", path, strerror(e));
		return e == ENOENT ? ERR_NOTFOUND : ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_cap, "secret file %s is not a regular file", path);
		close(fd);
		return ERR_IO;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(why, why_cap, "secret file %s is readable or writable by others: chmod 600 it",
			 path);
		close(fd);
		return ERR_PERM;
	}
	struct netutil_secret *k = sodium_malloc(sizeof *k);
	if (k == NULL) {
		close(fd);
		snprintf(why, why_cap, "out of memory");
		return ERR_NOMEM;
	}
	/* Room for the longest key, its "\r\n" and one byte to see excess. */
	size_t got = 0;
	int rc = 0;
	while (got < sizeof k->key) {
		ssize_t r = read(fd, k->key + got, sizeof k->key - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, why_cap, "cannot read secret file %s: %s", path, strerror(errno));
			rc = ERR_IO;
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	size_t len = got;
	if (len > 0 && k->key[len - 1u] == '\n') {
		len--;
		if (len > 0 && k->key[len - 1u] == '\r')
			len--;
	}
	if (rc == 0 && len > NETUTIL_SECRET_MAX) {
		snprintf(why, why_cap, "secret file %s holds over %u bytes", path, NETUTIL_SECRET_MAX);
		rc = ERR_TOOBIG;
	} else if (rc == 0 && len < min_len) {
		snprintf(why, why_cap,
			 "secret file %s holds %zu bytes, at least %zu needed "
			 "(make one: head -c 32 /dev/urandom | base64 > FILE)",
			 path, len, min_len);
		rc = ERR_INVAL;
	}
	if (rc != 0) {
		sodium_free(k);
		return rc;
	}
	k->len = len;
	k->key[len] = '\0';
	*out = k;
	return 0;
}

const char *netutil_secret_bytes(const struct netutil_secret *k, size_t *len)
{
	*len = k->len;
	return (const char *)k->key;
}

void netutil_secret_free(struct netutil_secret *k)
{
	if (k != NULL)
		sodium_free(k);       /* wipes */
}

static void hmac(const struct netutil_secret *k, int64_t ts, const void *body, size_t len,
		 uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
	char t[NETUTIL_TS_DIGITS_MAX + 2u];
	int tl = snprintf(t, sizeof t, "%" PRId64 ".", ts);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, k->key, k->len);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)t, (unsigned long long)tl);
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

void netutil_sign(const struct netutil_secret *k, int64_t ts, const void *body, size_t len,
		  char out[NETUTIL_SIG_BYTES])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	hmac(k, ts, body, len, mac);
	memcpy(out, NETUTIL_SIG_PREFIX, sizeof NETUTIL_SIG_PREFIX - 1u);
	sodium_bin2hex(out + sizeof NETUTIL_SIG_PREFIX - 1u, NETUTIL_SIG_HEX_BYTES + 1u, mac, sizeof mac);
}

int netutil_verify(const struct netutil_secret *k, const char *ts_hdr, const char *sig_hdr,
		   const void *body, size_t len, int64_t now, uint64_t max_skew_s, int64_t *ts,
		   char *why, size_t why_cap)
{
	if (ts_hdr == NULL || sig_hdr == NULL) {
		snprintf(why, why_cap, "missing X-Lifeline-%s header", ts_hdr ? "Signature" : "Timestamp");
		return ERR_AUTH;
	}
	size_t tl = strlen(ts_hdr);
	int64_t t = 0;
	if (tl == 0 || tl > NETUTIL_TS_DIGITS_MAX - 1u) {     /* 18 digits: no overflow */
		snprintf(why, why_cap, "X-Lifeline-Timestamp must be unix seconds");
		return ERR_AUTH;
	}
	for (size_t i = 0; i < tl; i++) {
		if (ts_hdr[i] < '0' || ts_hdr[i] > '9') {
			snprintf(why, why_cap, "X-Lifeline-Timestamp must be unix seconds");
			return ERR_AUTH;
		}
		t = t * 10 + (ts_hdr[i] - '0');
	}
	if (ts != NULL)
		*ts = t;
	uint64_t skew = (uint64_t)(t > now ? t - now : now - t);
	if (skew > max_skew_s) {
		snprintf(why, why_cap, "X-Lifeline-Timestamp is %" PRIu64 " s from our clock (at most %" PRIu64
			 " allowed): check the sender's clock", skew, max_skew_s);
		return ERR_WINDOW;
	}
	const size_t pl = sizeof NETUTIL_SIG_PREFIX - 1u;
	uint8_t got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
	size_t bin_len = 0;
	if (strncmp(sig_hdr, NETUTIL_SIG_PREFIX, pl) != 0 || strlen(sig_hdr + pl) != NETUTIL_SIG_HEX_BYTES ||
	    sodium_hex2bin(got, sizeof got, sig_hdr + pl, NETUTIL_SIG_HEX_BYTES, NULL, &bin_len, NULL) != 0 ||
	    bin_len != sizeof got) {
		snprintf(why, why_cap, "X-Lifeline-Signature must be sha256= and 64 hex digits");
		return ERR_AUTH;
	}
	hmac(k, t, body, len, want);
	int bad = crypto_verify_32(got, want);
	sodium_memzero(want, sizeof want);
	if (bad != 0) {
		snprintf(why, why_cap, "X-Lifeline-Signature does not match (wrong secret, or the body "
			 "or timestamp changed on the way)");
		return ERR_AUTH;
	}
	return 0;
}

void netutil_printable(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	bool space = false;
	for (size_t i = 0; i < n && s[i] != '\0' && o + 1u < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = o > 0;
			continue;
		}
		if (space && o + 2u < cap)
			out[o++] = ' ';
		space = false;
		out[o++] = (c > 0x20u && c < 0x7fu) ? (char)c : '?';
	}
	out[o] = '\0';
}
