/*
 * err.c — human-readable text for enum err.
 *
 * Pure: a table lookup.  Unknown codes (including positive ones) get a
 * generic string, never NULL, so err_str() is safe in any log line.
 */
#include "proto/err.h"

const char *err_str(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "out of memory";
	case ERR_INVAL: return "invalid argument or malformed input";
	case ERR_AGAIN: return "try again later";
	case ERR_IO: return "I/O error";
	case ERR_CLOSED: return "closed by peer or device";
	case ERR_TOOBIG: return "too big";
	case ERR_CRC: return "checksum mismatch";
	case ERR_TRUNC: return "truncated";
	case ERR_FULL: return "buffer or window full";
	case ERR_NOTFOUND: return "not found";
	case ERR_AUTH: return "authentication failed";
	case ERR_REPLAY: return "replayed";
	case ERR_WINDOW: return "outside the accepted window";
	case ERR_VERSION: return "unsupported version";
	case ERR_UTF8: return "invalid UTF-8";
	case ERR_BOMB: return "decompressed size over the limit";
	case ERR_KEY: return "bad or missing key";
	case ERR_VESSEL: return "wrong or unknown vessel";
	case ERR_DB: return "database error";
	case ERR_CONFIG: return "bad configuration";
	case ERR_PERM: return "permission denied";
	case ERR_TIMEOUT: return "timed out";
	case ERR_DUP: return "duplicate";
	case ERR_QUOTA: return "monthly allowance used up";
	case ERR_LOCKED: return "locked";
	case ERR_STATE: return "not valid in this state";
	case ERR_CRYPTO: return "cryptographic library failure";
	default: return "unknown error";
	}
}
