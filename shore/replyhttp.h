/*
 * replyhttp.h — the HTTP endpoint where SMS/chat gateways (and the mail
 * bridge) post families' replies (libmicrohttpd).
 *
 *   POST /v1/replies        body: {"vessel":V,"crew":C,"contact":R,
 *                                  "text":"..","id":"gateway-unique id"}
 *     X-Lifeline-Timestamp: UNIX          (within max_skew_s of our clock)
 *     X-Lifeline-Signature: sha256=HEX    (netutil.h; the http secret)
 *   GET  /v1/health          200 {"status":"ok"} (no authentication)
 *
 * Order of checks: path and method (404, 405), size (413, from
 * Content-Length before reading, or while reading a chunked body),
 * signature and timestamp (401), JSON and fields (400, with the reason and
 * byte offset), then on_reply().  Answers are JSON: {"reply_id":N} or
 * {"error":"what is wrong and what to do"}.
 *
 * on_reply() outcome -> HTTP status:
 *   0              202 {"reply_id":N}   queued durably (committed)
 *   ERR_DUP        200 {"reply_id":N,"duplicate":true}   this gateway id
 *                  was seen before; N is the earlier reply's id, so a
 *                  gateway that lost our 202 and retries gets the same
 *                  answer and nothing is queued twice
 *   ERR_NOTFOUND   404 (no such vessel, crew member or contact)
 *   ERR_PERM       403 (e.g. vessel suspended)
 *   ERR_INVAL, ERR_TOOBIG, ERR_UTF8   400
 *   anything else  503 with Retry-After (database busy: try later)
 * why (from on_reply) becomes the "error" text.
 *
 * Threads: libmicrohttpd runs one internal polling thread; on_reply() is
 * called from THAT thread, one call at a time (never concurrently with
 * itself), and must not touch the main loop's state without locking: give
 * it its own database connection.  While it runs, other HTTP clients wait.
 * sodium_init() must have been called before replyhttp_start().
 */
#ifndef LIFELINE_SHORE_REPLYHTTP_H
#define LIFELINE_SHORE_REPLYHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define REPLYHTTP_SKEW_S_DEFAULT 300u
#define REPLYHTTP_BODY_MAX_DEFAULT 16384u     /* bytes of a request body */
#define REPLYHTTP_TEXT_MAX_DEFAULT 4096u      /* bytes of a reply's UTF-8 text */
#define REPLYHTTP_ID_MAX 128u                 /* bytes of a gateway id */
#define REPLYHTTP_CONNECTIONS_DEFAULT 64u
#define REPLYHTTP_CONN_TIMEOUT_S_DEFAULT 10u  /* idle connection closed after */
#define REPLYHTTP_LISTEN_MAX 128u
#define REPLYHTTP_RETRY_AFTER_S 30u           /* on 503 */

/* One reply; strings NUL-terminated, valid only during on_reply(). */
struct replyhttp_reply {
	uint32_t vessel;        /* >= 1 */
	uint32_t crew;          /* >= 1 */
	uint32_t contact;       /* contact_ref, >= 1 */
	const char *text;       /* valid UTF-8 without NUL, 1..text_max bytes */
	size_t text_len;
	const char *id;         /* printable ASCII, 1..REPLYHTTP_ID_MAX bytes */
	int64_t ts;             /* the request's X-Lifeline-Timestamp */
};

struct replyhttp_config {
	const char *listen;     /* "ADDR:PORT" or "[ADDR6]:PORT", numeric; PORT 0: any */
	const char *secret_file;/* netutil.h secret file shared with the gateways */
	uint64_t max_skew_s;    /* 0: 300 */
	size_t body_max;        /* 0: 16384 */
	size_t text_max;        /* 0: 4096 */
	unsigned max_connections;   /* 0: 64 */
	unsigned conn_timeout_s;    /* 0: 10 */
	/* Stores r durably; 0 and *reply_id, or an outcome as above. */
	int (*on_reply)(void *ctx, const struct replyhttp_reply *r, uint64_t *reply_id, char *why,
			size_t why_cap);
	void *ctx;
};

/* Counters since start (read from any thread). */
struct replyhttp_stats {
	uint64_t accepted, duplicates, refused_auth, refused_json, refused_size, unavailable;
};

struct replyhttp;

/* Loads the secret, binds, starts the thread.  Returns 0, ERR_CONFIG
 * (bad listen address or settings), a netutil_secret_load() error, ERR_IO
 * (cannot bind: why says so), ERR_NOMEM. */
int replyhttp_start(struct replyhttp **out, const struct replyhttp_config *cfg, char *why,
		    size_t why_cap) LL_MUST_CHECK;
/* The bound port (useful with PORT 0). */
uint16_t replyhttp_port(const struct replyhttp *h);
void replyhttp_stats(const struct replyhttp *h, struct replyhttp_stats *st);
/* Stops the thread (waits for an on_reply() in progress), closes, frees.
 * NULL is a no-op. */
void replyhttp_stop(struct replyhttp *h);

#endif
