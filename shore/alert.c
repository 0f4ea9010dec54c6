/*
 * alert.c — the operator alert forwarder (see alert.h).
 *
 * What it is for: a vessel gone silent may mean men in danger; the operator
 * must hear of it where they look (a chat/SMS gateway, e-mail), not only in
 * `shorectl alerts` and the log (issue 5).
 *
 * Invariants: the thread uses only its own connection; a target's counter
 * only grows and is written after the driver's outcome, so an alert is
 * handed over at least once (a crash between the hand-over and the counter
 * write sends it again with the same idempotency key / Message-ID); alerts
 * go out per target in id order.
 *
 * Failure behaviour: a database error ends the round (logged) and the
 * thread tries again after retry_min; a driver's temporary failure backs
 * off; a permanent one is logged and the alert skipped for that target.
 */
#include "shore/alert.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "shore/store.h"

#define MS_PER_S 1000
#define COUNTER_MAX 48u

struct target {
	struct alert_target t;
	char counter[COUNTER_MAX];
	int64_t next_ms;                /* no try before (backoff) */
	unsigned fails;
};

struct alert {
	struct store *st;
	struct target targets[ALERT_TARGETS_MAX];
	size_t ntargets;
	uint64_t retry_min_ms, retry_max_ms;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool poked, stop;
};

static const char sql_pick[] =
	"SELECT a.id, a.vessel, a.kind, a.ts, a.detail, coalesce(v.name, '') FROM alerts a "
	"LEFT JOIN vessels v ON v.id = a.vessel WHERE a.id > ?1 ORDER BY a.id LIMIT ?2";
/* A new target starts after the alerts that exist already. */
static const char sql_init[] =
	"INSERT OR IGNORE INTO counters (name, value) SELECT ?1, coalesce(max(id), 0) FROM alerts";

int alert_new(struct alert **out, const struct alert_config *cfg)
{
	*out = NULL;
	if (!cfg || !cfg->db_path || cfg->ntargets > ALERT_TARGETS_MAX || cfg->retry_min_ms == 0 ||
	    cfg->retry_max_ms < cfg->retry_min_ms)
		return ERR_INVAL;
	struct alert *a = calloc(1, sizeof *a);
	if (!a)
		return ERR_NOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->retry_min_ms = cfg->retry_min_ms;
	a->retry_max_ms = cfg->retry_max_ms;
	struct db_open_error why = {0};
	int rc = store_open(cfg->db_path, &a->st, &why);
	if (rc < 0)
		log_error("alerts: cannot open %s: %s", cfg->db_path, why.text);
	for (size_t i = 0; rc == 0 && i < cfg->ntargets; i++) {
		struct target *t = &a->targets[a->ntargets++];
		t->t = cfg->targets[i];
		if (!t->t.name || !t->t.ops || !t->t.ops->send || !t->t.to) {
			rc = ERR_INVAL;
			break;
		}
		snprintf(t->counter, sizeof t->counter, "alert_sent_%s", t->t.name);
		struct db *db = store_db(a->st);
		sqlite3_stmt *q = db_stmt(db, sql_init);
		if (!q)
			rc = ERR_DB;
		else if ((rc = db_bind_text(db, q, 1, t->counter, strlen(t->counter))) == 0)
			rc = db_step(db, q) < 0 ? ERR_DB : 0;
	}
	if (rc < 0) {
		alert_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void alert_free(struct alert *a)
{
	if (!a)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	store_close(a->st);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

static int64_t backoff_ms(const struct alert *a, unsigned fails)
{
	uint64_t d = a->retry_min_ms;
	for (unsigned i = 1; i < fails && d < a->retry_max_ms; i++)
		d *= 2;
	return (int64_t)(d < a->retry_max_ms ? d : a->retry_max_ms);
}

/* One alert row to one target.  Returns the driver's outcome. */
static int send_one(struct target *t, sqlite3_stmt *q)
{
	uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
	uint32_t vessel = (uint32_t)sqlite3_column_int64(q, 1);
	const char *kind = (const char *)sqlite3_column_text(q, 2);
	int64_t ts = sqlite3_column_int64(q, 3);
	const char *detail = (const char *)sqlite3_column_text(q, 4);
	const char *vname = (const char *)sqlite3_column_text(q, 5);
	char subject[STORE_NAME_MAX + 64], text[ALERT_TEXT_MAX], why[DELIVER_WHY_MAX] = "";
	snprintf(subject, sizeof subject, "%s, vessel %" PRIu32, kind ? kind : "?", vessel);
	int n = snprintf(text, sizeof text, "Lifeline alert %" PRIu64 ": %s on vessel %" PRIu32
			 " (%s) at %" PRId64 ": %s", id, kind ? kind : "?", vessel,
			 vname ? vname : "", ts, detail ? detail : "");
	struct deliver_msg m = {
		.vessel = 0, .vessel_name = subject, .msg_id = id, .crew_id = 0, .contact_ref = 0,
		.to = t->t.to, .contact_name = "Lifeline operator", .channel = "alert", .ts = ts,
		.text = text, .text_len = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1,
	};
	int rc = t->t.ops->send(t->t.drv, &m, why, sizeof why);
	if (rc == 0)
		log_info("alert %" PRIu64 " sent to %s: %s", id, t->t.to, why);
	else if (rc == ERR_AGAIN)
		log_warn("alert %" PRIu64 " not sent to %s yet: %s", id, t->t.to, why);
	else
		log_error("alert %" PRIu64 " cannot be sent to %s (%s): %s; skipped", id, t->t.to,
			  err_str(rc), why);
	return rc;
}

/* Up to ALERT_BATCH alerts for one target; stops at a temporary failure. */
static int run_target(struct alert *a, struct target *t, int64_t now_ms, size_t *sent)
{
	if (now_ms < t->next_ms)
		return 0;
	struct db *db = store_db(a->st);
	uint64_t done = 0;
	int rc = store_counter_get(a->st, t->counter, &done);
	if (rc < 0)
		return rc;
	sqlite3_stmt *q = db_stmt(db, sql_pick);
	if (!q)
		return ERR_DB;
	if ((rc = db_bind_int64(db, q, 1, (int64_t)done)) < 0 ||
	    (rc = db_bind_int64(db, q, 2, ALERT_BATCH)) < 0)
		return rc;
	/* Each row is sent while the read statement is open: a read snapshot
	 * only (no write lock), and the counter is written after the reset. */
	uint64_t last = done;
	while ((rc = db_step(db, q)) == DB_ROW) {
		const char *kind = (const char *)sqlite3_column_text(q, 2);
		if (t->t.inspectors && !(kind && (strcmp(kind, "complaint") == 0 ||
						  strcmp(kind, "sos") == 0))) {
			last = (uint64_t)sqlite3_column_int64(q, 0);    /* not theirs */
			continue;
		}
		int out = send_one(t, q);
		if (out == ERR_AGAIN) {
			t->fails++;
			t->next_ms = now_ms + backoff_ms(a, t->fails);
			db_stmt_reset(q);
			rc = DB_DONE;
			break;
		}
		t->fails = 0;
		last = (uint64_t)sqlite3_column_int64(q, 0);
		if (out == 0 && sent)
			(*sent)++;
	}
	if (rc < 0)
		return rc;
	return last != done ? store_counter_set(a->st, t->counter, last) : 0;
}

int alert_run_once(struct alert *a, int64_t now_ms, int64_t *next_ms, size_t *sent)
{
	int64_t next = INT64_MAX;
	if (sent)
		*sent = 0;
	int rc = 0;
	for (size_t i = 0; i < a->ntargets && rc == 0; i++) {
		rc = run_target(a, &a->targets[i], now_ms, sent);
		if (a->targets[i].next_ms > now_ms && a->targets[i].next_ms < next)
			next = a->targets[i].next_ms;
	}
	if (next_ms)
		*next_ms = next;
	return rc;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * MS_PER_S + ts.tv_nsec / 1000000;
}

static void *worker(void *arg)
{
	struct alert *a = arg;
	for (;;) {
		int64_t next = INT64_MAX, now = wall_ms();
		if (alert_run_once(a, now, &next, NULL) < 0) {
			log_error("alerts: %s; trying again shortly", db_last_error(store_db(a->st)));
			next = now + (int64_t)a->retry_min_ms;
		}
		int64_t until = next < now + (int64_t)ALERT_IDLE_MAX_MS ? next : now + ALERT_IDLE_MAX_MS;
		pthread_mutex_lock(&a->mu);
		while (!a->poked && !a->stop && wall_ms() < until) {
			struct timespec ts = {.tv_sec = until / MS_PER_S,
					      .tv_nsec = (long)(until % MS_PER_S) * 1000000};
			pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		}
		bool stop = a->stop;
		a->poked = false;
		pthread_mutex_unlock(&a->mu);
		if (stop)
			return NULL;
	}
}

int alert_start(struct alert *a)
{
	if (a->running)
		return 0;
	if (pthread_create(&a->thread, NULL, worker, a) != 0)
		return ERR_IO;
	a->running = true;
	return 0;
}

void alert_poke(struct alert *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->poked = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}
