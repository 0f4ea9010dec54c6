/*
 * err.h — Lifeline's one error convention.
 *
 * Functions return int: 0 on success or an enum err value (all of which
 * are negative: return ERR_INVAL, never -ERR_INVAL).  Byte movers
 * return ssize_t: a count, or an enum err value.  Library codes
 * (sp_return, SQLITE_*, Z_*, libsodium's -1, errno) are translated inside
 * their wrapper only.  This lives in proto/ because proto/ may include
 * nothing from common/, and both layers share the codes.
 */
#ifndef LIFELINE_PROTO_ERR_H
#define LIFELINE_PROTO_ERR_H

#define LL_MUST_CHECK __attribute__((warn_unused_result))

enum err {
	ERR_OK = 0,
	ERR_NOMEM = -1,      /* allocation failed */
	ERR_INVAL = -2,      /* bad argument or malformed input */
	ERR_AGAIN = -3,      /* try again later (buffer full, no data yet) */
	ERR_IO = -4,         /* operating-system I/O error */
	ERR_CLOSED = -5,     /* peer or device went away */
	ERR_TOOBIG = -6,     /* length over a *_MAX */
	ERR_CRC = -7,        /* checksum mismatch */
	ERR_TRUNC = -8,      /* input ends early */
	ERR_FULL = -9,       /* no room in a fixed buffer or window */
	ERR_NOTFOUND = -10,  /* no such thing */
	ERR_AUTH = -11,      /* tag or signature does not verify */
	ERR_REPLAY = -12,    /* already seen */
	ERR_WINDOW = -13,    /* outside the accepted window */
	ERR_VERSION = -14,   /* unknown protocol or file version */
	ERR_UTF8 = -15,      /* invalid UTF-8 */
	ERR_BOMB = -16,      /* decompressed size over the cap */
	ERR_KEY = -17,       /* key missing, malformed or of the wrong kind */
	ERR_VESSEL = -18,    /* wrong or unknown vessel */
	ERR_DB = -19,        /* database error */
	ERR_CONFIG = -20,    /* bad configuration */
	ERR_PERM = -21,      /* not allowed */
	ERR_TIMEOUT = -22,   /* deadline passed */
	ERR_DUP = -23,       /* duplicate */
	ERR_QUOTA = -24,     /* over the monthly allowance */
	ERR_LOCKED = -25,    /* account locked */
	ERR_STATE = -26,     /* call not valid in the current state */
	ERR_CRYPTO = -27,    /* crypto library failure */
	ERR_MIN_ = -28
};

/* A short English description of a code; never NULL. */
const char *err_str(int code);

#endif
