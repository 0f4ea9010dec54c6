/*
 * route.c — the delivery worker: due texts -> driver -> outcome -> receipt.
 *
 * What it is for: families get the crew's texts through the channel they
 * use, and the crew member sees "delivered" or "failed" (issue 5), without
 * a slow SMTP server or HTTP gateway ever stalling ingest on the main loop.
 *
 * Invariants:
 *  - the worker uses only its own connection (r->db); the main loop never
 *    touches it after route_start();
 *  - no transaction is open while a driver runs: rows are copied out, the
 *    statement reset, the driver called, then the outcome written with a
 *    guarded UPDATE (... AND state = 0), so an operator's change in between
 *    is never overwritten;
 *  - a message leaves state accepted once, for delivered or failed;
 *  - exactly one driver per scheme, chosen in route_pick() only.
 *
 * Failure behaviour: a database error ends the round (logged) and the
 * worker tries again later; a driver's failure is an outcome, never a
 * crash; a full wake pipe degrades to "look at every vessel".
 */
#include "shore/route.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/db.h"
#include "common/log.h"
#include "proto/record.h"
#include "shore/store.h"

#define MS_PER_S 1000

struct driver_slot {
	char scheme[ROUTE_SCHEME_MAX];
	const struct deliver_ops *ops;
	void *drv;
};

/* One due message, copied out of the database. */
struct job {
	uint32_t vessel, crew, ref;
	uint64_t msg_id;
	int64_t ts, received, attempts;
	int channel;
	bool has_contact;
	char *text, *to, *name, *vessel_name;
	size_t text_len;
};

struct route {
	struct db *db;
	struct route_config cfg;
	struct driver_slot drivers[ROUTE_SCHEMES_MAX];
	size_t ndrivers;
	int pipe_rd, pipe_wr;
	atomic_bool wake_all;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool poked, stop;
	struct route_stats stats;       /* under mu */
};

static const char sql_due[] =
	"SELECT m.vessel, m.msg_id, m.crew_id, m.contact_ref, m.body, m.ts, m.received, "
	"m.attempts, c.address, c.name, c.channel, v.name FROM messages m "
	"JOIN vessels v ON v.id = m.vessel "
	"LEFT JOIN contacts c ON c.vessel = m.vessel AND c.crew_id = m.crew_id AND "
	"c.contact_ref = m.contact_ref "
	"WHERE m.state = 0 AND m.kind = 'text' AND m.next_attempt_ms <= ?1 "
	"ORDER BY m.next_attempt_ms LIMIT ?2";
static const char sql_next[] =
	"SELECT min(next_attempt_ms) FROM messages WHERE state = 0 AND kind = 'text'";
static const char sql_outcome[] =
	"UPDATE messages SET state = ?3, reason = ?4, attempts = attempts + 1, "
	"next_attempt_ms = ?5, error = ?6 WHERE vessel = ?1 AND msg_id = ?2 AND state = 0";

int route_new(struct route **out, const struct route_config *cfg)
{
	*out = NULL;
	if (!cfg || !cfg->db_path || cfg->retry_min_ms == 0 || cfg->retry_max_ms < cfg->retry_min_ms)
		return ERR_INVAL;
	struct route *r = calloc(1, sizeof *r);
	if (!r)
		return ERR_NOMEM;
	r->cfg = *cfg;
	r->cfg.db_path = NULL;
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		free(r);
		return ERR_IO;
	}
	r->pipe_rd = fds[0];
	r->pipe_wr = fds[1];
	atomic_init(&r->wake_all, false);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	struct db_open_error why;
	int rc = db_open(cfg->db_path, store_migrations, store_migrations_n, &r->db, &why);
	if (rc < 0) {
		log_error("delivery worker: cannot open %s: %s", cfg->db_path, why.text);
		route_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void route_free(struct route *r)
{
	if (!r)
		return;
	route_stop(r);
	db_close(r->db);
	close(r->pipe_rd);
	close(r->pipe_wr);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

int route_set_driver(struct route *r, const char *scheme, const struct deliver_ops *ops, void *drv)
{
	if (!scheme || !*scheme || strlen(scheme) >= ROUTE_SCHEME_MAX || !ops || !ops->send)
		return ERR_INVAL;
	for (size_t i = 0; i < r->ndrivers; i++)
		if (strcmp(r->drivers[i].scheme, scheme) == 0) {
			r->drivers[i].ops = ops;
			r->drivers[i].drv = drv;
			return 0;
		}
	if (r->ndrivers == ROUTE_SCHEMES_MAX)
		return ERR_FULL;
	struct driver_slot *d = &r->drivers[r->ndrivers++];
	snprintf(d->scheme, sizeof d->scheme, "%s", scheme);
	d->ops = ops;
	d->drv = drv;
	return 0;
}

/* THE routing decision: the driver for an address, by its scheme; NULL
 * when nothing is registered for it (nor "*"). */
static const struct driver_slot *route_pick(const struct route *r, const char *address)
{
	const char *colon = strchr(address, ':');
	size_t n = colon ? (size_t)(colon - address) : 0;
	const struct driver_slot *any = NULL;
	for (size_t i = 0; i < r->ndrivers; i++) {
		const struct driver_slot *d = &r->drivers[i];
		if (n && strlen(d->scheme) == n && strncmp(d->scheme, address, n) == 0)
			return d;
		if (strcmp(d->scheme, "*") == 0)
			any = d;
	}
	return any;
}

/* ---- wakes ------------------------------------------------------------------ */

void route_notify_vessel(struct route *r, uint32_t vessel)
{
	uint8_t b[4] = {(uint8_t)vessel, (uint8_t)(vessel >> 8), (uint8_t)(vessel >> 16),
			(uint8_t)(vessel >> 24)};
	ssize_t w;
	do
		w = write(r->pipe_wr, b, sizeof b);     /* <= PIPE_BUF: atomic */
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof b) {
		atomic_store(&r->wake_all, true);
		static const uint8_t zero[4];
		if (write(r->pipe_wr, zero, sizeof zero) < 0) {
			/* full: the reader is behind and will see wake_all */
		}
	}
}

int route_wake_fd(const struct route *r)
{
	return r->pipe_rd;
}

size_t route_wakes_read(struct route *r, uint32_t *ids, size_t cap, bool *all)
{
	size_t n = 0;
	*all = atomic_exchange(&r->wake_all, false);
	while (n < cap) {
		uint8_t b[4];
		ssize_t got = read(r->pipe_rd, b, sizeof b);
		if (got < 0 && errno == EINTR)
			continue;
		if (got != (ssize_t)sizeof b)
			break;
		uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			     (uint32_t)b[3] << 24;
		if (v == 0)
			*all = true;
		else
			ids[n++] = v;
	}
	return n;
}

/* ---- one round ----------------------------------------------------------------- */

static char *dup_col(sqlite3_stmt *q, int col, size_t *len)
{
	size_t n = (size_t)sqlite3_column_bytes(q, col);
	const void *p = sqlite3_column_blob(q, col);
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

static void job_free(struct job *j)
{
	free(j->text);
	free(j->to);
	free(j->name);
	free(j->vessel_name);
}

static int load_jobs(struct route *r, int64_t now_ms, struct job *jobs, size_t *n)
{
	sqlite3_stmt *q = db_stmt(r->db, sql_due);
	*n = 0;
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(r->db, q, 1, now_ms)) < 0 ||
	    (rc = db_bind_int64(r->db, q, 2, ROUTE_BATCH)) < 0)
		return rc;
	while ((rc = db_step(r->db, q)) == DB_ROW) {
		struct job *j = &jobs[*n];
		memset(j, 0, sizeof *j);
		j->vessel = (uint32_t)sqlite3_column_int64(q, 0);
		j->msg_id = (uint64_t)sqlite3_column_int64(q, 1);
		j->crew = (uint32_t)sqlite3_column_int64(q, 2);
		j->ref = (uint32_t)sqlite3_column_int64(q, 3);
		j->ts = sqlite3_column_int64(q, 5);
		j->received = sqlite3_column_int64(q, 6);
		j->attempts = sqlite3_column_int64(q, 7);
		j->has_contact = sqlite3_column_type(q, 8) != SQLITE_NULL;
		j->channel = sqlite3_column_int(q, 10);
		j->text = dup_col(q, 4, &j->text_len);
		j->to = dup_col(q, 8, NULL);
		j->name = dup_col(q, 9, NULL);
		j->vessel_name = dup_col(q, 11, NULL);
		(*n)++;
		if (!j->text || !j->to || !j->name || !j->vessel_name) {
			db_stmt_reset(q);
			return ERR_NOMEM;
		}
	}
	return rc < 0 ? rc : 0;
}

static int64_t backoff_ms(const struct route *r, int64_t attempts)
{
	uint64_t d = r->cfg.retry_min_ms;
	for (int64_t i = 0; i < attempts && d < r->cfg.retry_max_ms; i++)
		d *= 2;
	return (int64_t)(d < r->cfg.retry_max_ms ? d : r->cfg.retry_max_ms);
}

static const char *channel_name(int c)
{
	switch (c) {
	case RECORD_CHANNEL_SMS: return "sms";
	case RECORD_CHANNEL_CHAT: return "chat";
	default: return "email";
	}
}

/* Delivers one job (or decides it) and writes the outcome. */
static int handle(struct route *r, const struct job *j, int64_t now_ms)
{
	char why[DELIVER_WHY_MAX] = "";
	int state = RECORD_STATE_ACCEPTED;
	uint32_t reason = RECORD_REASON_NONE;
	int64_t dead_at = j->received * MS_PER_S + (int64_t)r->cfg.dead_letter_ms;
	int out;
	const struct driver_slot *d = j->has_contact ? route_pick(r, j->to) : NULL;
	if (!j->has_contact) {
		snprintf(why, sizeof why, "contact %" PRIu32 " of crew %" PRIu32 " not known yet",
			 j->ref, j->crew);
		out = ERR_AGAIN;
	} else if (!d) {
		snprintf(why, sizeof why, "no driver for %s", j->to);
		out = ERR_AGAIN;
	} else {
		struct deliver_msg m = {
			.vessel = j->vessel, .vessel_name = j->vessel_name, .msg_id = j->msg_id,
			.crew_id = j->crew, .contact_ref = j->ref, .to = j->to,
			.contact_name = j->name, .channel = channel_name(j->channel), .ts = j->ts,
			.text = j->text, .text_len = j->text_len,
		};
		out = d->ops->send(d->drv, &m, why, sizeof why);
	}
	int64_t next = 0;
	if (out == 0) {
		state = RECORD_STATE_DELIVERED;
	} else if (out != ERR_AGAIN) {
		state = RECORD_STATE_FAILED;
		reason = RECORD_REASON_REFUSED;
	} else if (now_ms >= dead_at) {
		state = RECORD_STATE_FAILED;
		reason = j->has_contact ? RECORD_REASON_UNDELIVERABLE : RECORD_REASON_UNKNOWN_CONTACT;
	} else {
		next = now_ms + backoff_ms(r, j->attempts);
		if (next > dead_at)
			next = dead_at;
	}
	sqlite3_stmt *q = db_stmt(r->db, sql_outcome);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(r->db, q, 1, j->vessel)) < 0 ||
	    (rc = db_bind_int64(r->db, q, 2, (int64_t)j->msg_id)) < 0 ||
	    (rc = db_bind_int64(r->db, q, 3, state)) < 0 ||
	    (rc = db_bind_int64(r->db, q, 4, reason)) < 0 ||
	    (rc = db_bind_int64(r->db, q, 5, next)) < 0 ||
	    (rc = db_bind_text(r->db, q, 6, why, strlen(why))) < 0 || (rc = db_step(r->db, q)) < 0)
		return rc;
	pthread_mutex_lock(&r->mu);
	r->stats.attempts++;
	if (state == RECORD_STATE_DELIVERED)
		r->stats.delivered++;
	else if (state == RECORD_STATE_FAILED)
		r->stats.failed++;
	else
		r->stats.retries++;
	pthread_mutex_unlock(&r->mu);
	if (state == RECORD_STATE_ACCEPTED) {
		log_info("vessel %" PRIu32 " msg %" PRIu64 ": not delivered yet (%s); next try in %" PRId64
			 " ms", j->vessel, j->msg_id, why, next - now_ms);
		return 0;
	}
	if (state == RECORD_STATE_FAILED)
		log_warn("vessel %" PRIu32 " msg %" PRIu64 ": failed (reason %" PRIu32 "): %s", j->vessel,
			 j->msg_id, reason, why);
	else
		log_debug("vessel %" PRIu32 " msg %" PRIu64 ": delivered: %s", j->vessel, j->msg_id, why);
	route_notify_vessel(r, j->vessel);
	return 0;
}

int route_run_once(struct route *r, int64_t now_ms, size_t *handled, int64_t *next_due_ms)
{
	struct job jobs[ROUTE_BATCH];
	size_t n = 0, done = 0;
	int rc = load_jobs(r, now_ms, jobs, &n);
	for (size_t i = 0; i < n && rc == 0; i++, done++)
		rc = handle(r, &jobs[i], now_ms);
	for (size_t i = 0; i < n; i++)
		job_free(&jobs[i]);
	if (handled)
		*handled = done;
	if (rc == 0 && next_due_ms) {
		sqlite3_stmt *q = db_stmt(r->db, sql_next);
		if (!q)
			return ERR_DB;
		rc = db_step(r->db, q);
		*next_due_ms = INT64_MAX;
		if (rc == DB_ROW) {
			if (sqlite3_column_type(q, 0) != SQLITE_NULL)
				*next_due_ms = sqlite3_column_int64(q, 0);
			db_stmt_reset(q);
			rc = 0;
		}
	}
	return rc < 0 ? rc : 0;
}

/* ---- the worker thread ------------------------------------------------------------ */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

static void *worker(void *arg)
{
	struct route *r = arg;
	for (;;) {
		size_t handled = 0;
		int64_t next = INT64_MAX, now = wall_ms();
		int rc = route_run_once(r, now, &handled, &next);
		if (rc < 0) {
			log_error("delivery worker: %s; trying again shortly", db_last_error(r->db));
			next = now + (int64_t)r->cfg.retry_min_ms;
		}
		pthread_mutex_lock(&r->mu);
		if (handled > 0 && rc == 0 && !r->stop) {
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		int64_t until = next < now + (int64_t)ROUTE_IDLE_MAX_MS ? next : now + ROUTE_IDLE_MAX_MS;
		while (!r->poked && !r->stop && wall_ms() < until) {
			struct timespec ts = {.tv_sec = until / MS_PER_S,
					      .tv_nsec = (long)(until % MS_PER_S) * 1000000};
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		bool stop = r->stop;
		r->poked = false;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			return NULL;
	}
}

int route_start(struct route *r)
{
	if (r->running)
		return 0;
	r->stop = false;
	if (pthread_create(&r->thread, NULL, worker, r) != 0)
		return ERR_IO;
	r->running = true;
	return 0;
}

void route_stop(struct route *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->running = false;
}

void route_poke(struct route *r)
{
	pthread_mutex_lock(&r->mu);
	r->poked = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

struct route_stats route_get_stats(struct route *r)
{
	pthread_mutex_lock(&r->mu);
	struct route_stats s = r->stats;
	pthread_mutex_unlock(&r->mu);
	return s;
}
