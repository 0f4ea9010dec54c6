/*
 * ctl.h — the control-socket protocol between vesselctl and vesseld (and
 * shorectl and shored): message codec, server on the loop, blocking client.
 *
 * Transport: a Unix stream socket whose file mode decides who may connect
 * (created under a restrictive umask, never wider than asked); the server
 * learns each peer's uid, gid and pid with SO_PEERCRED and hands them to
 * its handler, which decides what that peer may do.
 *
 * Message (all integers little-endian, see proto/PROTOCOL.md "Control
 * socket"):
 *   [CTL_MAGIC_VERSION u8][type u8][payload length u32][payload]
 * Request payload (type CTL_TYPE_REQUEST): [argc varint][argc x ([len varint][bytes])]
 * Response payload (type CTL_TYPE_RESPONSE):
 *   [status u8: a sysexits code][text: len varint, bytes][json: len varint, bytes]
 * Strings never contain NUL (refused), so they decode to C strings.
 * A request payload is capped at CTL_MSG_MAX, a response at CTL_REPLY_MAX.
 * One connection may carry several requests, one after another: each
 * request gets exactly one response before the next is read.
 */
#ifndef LIFELINE_COMMON_CTL_H
#define LIFELINE_COMMON_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/loop.h"
#include "proto/err.h"

/* High nibble 0xC marks a Lifeline control message (never ASCII, so a
 * stray text client is told apart at once); low nibble the version.
 * Bump on any change of the layout. */
#define CTL_MAGIC 0xc0u
#define CTL_MAGIC_MASK 0xf0u
#define CTL_VERSION 1u
#define CTL_MAGIC_VERSION (CTL_MAGIC | CTL_VERSION)
#define CTL_TYPE_REQUEST 0x01u
#define CTL_TYPE_RESPONSE 0x02u
#define CTL_HEADER_BYTES 6u                 /* magic/version, type, u32 length */
#define CTL_MSG_MAX (64u * 1024u)           /* request payload cap */
#define CTL_REPLY_MAX (16u * 1024u * 1024u) /* response payload cap (listings) */
#define CTL_ARGS_MAX 64u                    /* strings in one request */

/* Server defaults (ctl_server_set_limits() changes them). */
#define CTL_CONNS_MAX 32u                   /* simultaneous connections */
#define CTL_IDLE_MS 10000u                  /* a request or a reply write must finish in this */
#define CTL_BACKLOG 128                     /* listen() backlog */

/* sysexits(3) codes used by the protocol itself. */
#define CTL_EX_OK 0
#define CTL_EX_USAGE 64
#define CTL_EX_DATAERR 65
#define CTL_EX_SOFTWARE 70
#define CTL_EX_TEMPFAIL 75
#define CTL_EX_PROTOCOL 76
#define CTL_EX_NOPERM 77

/* ---- codec (no I/O) ---------------------------------------------------- */

/* A decoded request: argv[i] point into buf; argv[argc] is NULL. */
struct ctl_request {
	int argc;
	char *argv[CTL_ARGS_MAX + 1];
	char buf[CTL_MSG_MAX];      /* NUL-terminated strings, back to back */
};

/*
 * Parses a 6-byte header.  Returns 0 with *type and *len set; ERR_VERSION
 * if the magic matches but the version does not; ERR_INVAL if the first
 * byte is not a control message at all or the type is unknown; ERR_TOOBIG
 * if len exceeds max (CTL_MSG_MAX for requests, CTL_REPLY_MAX for
 * responses).  hdr must hold CTL_HEADER_BYTES.
 */
int ctl_header_parse(const uint8_t *hdr, uint32_t max, uint8_t *type, uint32_t *len) LL_MUST_CHECK;

/*
 * Encodes a request (header + payload) into a malloc'd buffer *out of *len
 * bytes (caller frees).  Returns 0, ERR_INVAL (argc < 0 or over
 * CTL_ARGS_MAX, a NULL string), ERR_TOOBIG (payload over CTL_MSG_MAX) or
 * ERR_NOMEM.
 */
int ctl_request_encode(int argc, const char *const argv[], uint8_t **out, size_t *len) LL_MUST_CHECK;

/*
 * Decodes a request payload (without header) into *req.  Returns 0, or
 * ERR_TOOBIG (len over CTL_MSG_MAX, argc over CTL_ARGS_MAX), ERR_TRUNC
 * (a string runs past the end), ERR_INVAL (bad varint, a NUL inside a
 * string, bytes left over).  Never reads outside p[0..len).
 */
int ctl_request_decode(const uint8_t *p, size_t len, struct ctl_request *req) LL_MUST_CHECK;

/*
 * Encodes a response (header + payload) into a malloc'd buffer (caller
 * frees).  text and json may be NULL (sent as empty).  Returns 0,
 * ERR_INVAL (status outside 0..255, a NUL inside a string cannot occur
 * with C strings), ERR_TOOBIG (over CTL_REPLY_MAX) or ERR_NOMEM.
 */
int ctl_response_encode(int status, const char *text, const char *json,
                        uint8_t **out, size_t *len) LL_MUST_CHECK;

/*
 * Decodes a response payload.  *text and *json are malloc'd C strings the
 * caller frees (empty strings when absent).  Returns 0, ERR_TRUNC,
 * ERR_INVAL, ERR_TOOBIG or ERR_NOMEM; on error both are NULL.
 */
int ctl_response_decode(const uint8_t *p, size_t len, int *status,
                        char **text, char **json) LL_MUST_CHECK;

/* ---- server ------------------------------------------------------------ */

struct ctl_server;
struct ctl_conn;

/* Who is on the other end, from SO_PEERCRED at accept time. */
struct ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/*
 * Called once per complete, well-formed request.  req (and its strings)
 * and peer are valid only during the call: copy what must outlive it.
 * The handler must call ctl_reply(conn, ...) exactly once, now or later
 * (after a database write, say); conn stays valid until then, even if the
 * peer hangs up meanwhile (the reply is then dropped).
 */
typedef void (*ctl_handler_fn)(struct ctl_conn *conn, const struct ctl_peer *peer,
                               const struct ctl_request *req, void *ctx);

/* Counters, for tests and status output. */
struct ctl_stats {
	uint64_t accepted;      /* connections taken */
	uint64_t refused_busy;  /* over the connection limit: told and closed */
	uint64_t requests;      /* well-formed requests handed to the handler */
	uint64_t replies;       /* replies fully written */
	uint64_t bad_magic;     /* first byte not a control message */
	uint64_t bad_version;   /* right magic, other version */
	uint64_t bad_type;      /* not a request */
	uint64_t too_big;       /* length over CTL_MSG_MAX */
	uint64_t malformed;     /* payload does not decode */
	uint64_t truncated;     /* peer closed inside a message */
	uint64_t timeouts;      /* idle deadline passed */
	uint64_t io_errors;     /* read/write/accept failures */
};

/*
 * Creates the socket at path with file mode `mode` (e.g. 0660: owner and
 * group read/write; the umask is set to its complement while binding, so
 * the socket never exists with wider permissions), listens, and serves on
 * loop l.  An existing path is replaced only if it is a socket nobody
 * listens on (a connect test); a live socket is left alone (ERR_DUP), and
 * anything that is not a socket is never removed (ERR_INVAL).  Giving the
 * socket to a group (chown) is the caller's choice after this returns.
 * Returns 0 with *out set, or ERR_INVAL (bad arguments, path too long,
 * path is not a socket), ERR_DUP, ERR_PERM, ERR_IO or ERR_NOMEM.
 */
int ctl_server_open(struct ctl_server **out, const char *path, mode_t mode,
                    struct loop *l, ctl_handler_fn handler, void *ctx) LL_MUST_CHECK;

/* Changes the connection limit (>= 1) and the idle deadline (ms, >= 1)
 * for connections accepted from now on. */
void ctl_server_set_limits(struct ctl_server *s, unsigned conns_max, uint64_t idle_ms);

/* Current counters and the number of open connections. */
struct ctl_stats ctl_server_stats(const struct ctl_server *s);
unsigned ctl_server_conns(const struct ctl_server *s);

/*
 * Stops listening, closes every connection, frees conns whose reply is
 * still pending (a later ctl_reply() on them is a bug), and unlinks the
 * socket file if it is still the one this server created.  NULL: no-op.
 */
void ctl_server_close(struct ctl_server *s);

/*
 * Answers the request on conn: status (a sysexits code, 0..255), a human
 * text and a JSON text (either may be NULL).  Starts writing at once and
 * finishes on the loop.  If the response would exceed CTL_REPLY_MAX, an
 * EX_SOFTWARE "response too large" reply goes instead and ERR_TOOBIG is
 * returned.  Returns 0, ERR_TOOBIG, ERR_INVAL (status out of range: an
 * EX_SOFTWARE reply goes instead), ERR_STATE (no request pending), or
 * ERR_CLOSED (the peer left; conn is freed all the same).  Either way
 * conn must not be used afterwards.
 */
int ctl_reply(struct ctl_conn *conn, int status, const char *text, const char *json);

/* ---- client ------------------------------------------------------------ */

/*
 * Sends argv[0..argc) to the server at path and waits for the response,
 * at most timeout_ms in total (poll deadlines; no signals).  On 0, *status
 * is the server's sysexits code and *text, *json are malloc'd C strings
 * (caller frees).  Errors: ERR_NOTFOUND (no socket there, or nobody
 * listening: the daemon is not running), ERR_PERM (the socket's mode or
 * directory refuses this user), ERR_TIMEOUT, ERR_CLOSED (the server closed
 * without a full answer), ERR_VERSION (the server speaks another version),
 * ERR_INVAL / ERR_TOOBIG (bad arguments or a malformed answer), ERR_IO,
 * ERR_NOMEM.  On error *text and *json are NULL.
 */
int ctl_call(const char *path, int argc, const char *const argv[], int timeout_ms,
             int *status, char **text, char **json) LL_MUST_CHECK;

/* What the user should be told about a ctl_call() error. */
struct ctl_hint {
	const char *daemon;    /* "vesseld" */
	const char *start;     /* "systemctl start vesseld" */
	const char *group;     /* "lifeline" (may be NULL) */
};

/*
 * Writes a one-line message for ctl_call() error rc into out (cap bytes,
 * NUL-terminated, truncated if needed) that says what went wrong and what
 * to do.  Returns out.
 */
char *ctl_error_explain(int rc, const char *path, const struct ctl_hint *hint,
                        char *out, size_t cap);

#define CTL_CLIENT_TIMEOUT_MS 30000         /* ctl_client_run()'s deadline */
#define CTL_EX_UNAVAILABLE 69               /* the daemon cannot be reached */

/*
 * What vesselctl and shorectl do once they have their words: ctl_call()
 * with CTL_CLIENT_TIMEOUT_MS, then print the daemon's text (or its JSON
 * when json) with a final newline — on stdout when the status is 0 or json
 * was asked, on stderr otherwise.  Returns the exit status: the daemon's,
 * or CTL_EX_UNAVAILABLE after printing "PROG: " and ctl_error_explain()'s
 * sentence on stderr.
 */
int ctl_client_run(const char *prog, const char *path, int argc, const char *const argv[],
                   bool json, const struct ctl_hint *hint);

#endif
