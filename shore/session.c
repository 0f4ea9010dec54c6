/*
 * session.c — channels, vessel binding and the connection limits of shored.
 *
 * What it is for: many vessels at once on one tcp-listen port (and serial
 * ports), each channel's bundles ingested in order, receipts flowing back
 * on the channel the vessel last spoke on, and no flood of connections
 * able to keep an honest vessel out (issue 5 "Hostile peers").
 *
 * Invariants:
 *  - a session is freed only from a timer callback (reap), never inside
 *    one of its own channel's callbacks (the channel code still runs after
 *    them); a session to be freed is marked dead and ignored meanwhile;
 *  - one vessel, at most one bound session;
 *  - accepted (child) sessions count against max_connections until freed.
 *
 * Failure behaviour: a database failure while ingesting restarts the
 * channel (closes a TCP connection; reopens a serial link), so the vessel
 * sees a reset and re-sends what it has not had accepted; refusals are
 * logged at most once per burst.
 */
#include "shore/session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/link.h"
#include "common/log.h"
#include "common/wallclock.h"

struct sess {
	struct session_mgr *m;
	struct channel *ch;
	uint32_t vessel;                /* 0: not bound yet */
	bool child;                     /* accepted from tcp-listen */
	bool authed;
	bool dead;                      /* to be freed by reap() */
	bool restart;                   /* serial: reopen by reap() */
	uint64_t deadline;              /* timer id, 0 = none */
	uint64_t opened_ms;
	char spec[LINK_SPEC_MAX];       /* non-child: to reopen */
	struct sess *prev, *next;
};

struct session_mgr {
	struct loop *lp;
	struct session_config cfg;
	struct ingest *in;
	struct downlink *dl;
	struct route *route;
	struct link *listeners[SESSION_LISTEN_MAX];
	size_t nlisteners;
	struct sess *head;
	size_t children;
	uint64_t reap_timer;
	struct session_stats st;
	struct log_burst full_burst, err_burst;
	uint8_t buf[BUNDLE_BYTES_MAX];
};

static void on_message(void *ctx, struct channel *ch, const uint8_t *msg, size_t len);
static void on_acked(void *ctx, struct channel *ch, uint64_t id);
static void on_reset(void *ctx, struct channel *ch, enum arq_reset_reason why);
static void on_link(void *ctx, struct channel *ch, bool up);

static const struct channel_callbacks ch_cb = {
	.on_message = on_message, .on_acked = on_acked, .on_reset = on_reset, .on_link = on_link,
};

int session_mgr_new(struct session_mgr **out, struct loop *lp, const struct session_config *cfg,
		    struct ingest *in, struct downlink *dl, struct route *route)
{
	*out = NULL;
	if (!cfg || cfg->max_connections == 0 || cfg->auth_timeout_ms == 0)
		return ERR_INVAL;
	struct session_mgr *m = calloc(1, sizeof *m);
	if (!m)
		return ERR_NOMEM;
	m->lp = lp;
	m->cfg = *cfg;
	m->in = in;
	m->dl = dl;
	m->route = route;
	*out = m;
	return 0;
}

static void sess_free(struct sess *s)
{
	struct session_mgr *m = s->m;
	if (s->deadline)
		loop_timer_cancel(m->lp, s->deadline);
	if (s->vessel)
		downlink_forget(m->dl, s->vessel);
	if (s->prev)
		s->prev->next = s->next;
	else
		m->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->child)
		m->children--;
	channel_free(s->ch);
	free(s);
}

void session_mgr_free(struct session_mgr *m)
{
	if (!m)
		return;
	while (m->head)
		sess_free(m->head);
	for (size_t i = 0; i < m->nlisteners; i++)
		link_close(m->listeners[i]);
	if (m->reap_timer)
		loop_timer_cancel(m->lp, m->reap_timer);
	free(m);
}

static int sess_open_channel(struct sess *s, struct link *ln)
{
	int rc = channel_new(&s->ch, s->m->lp, ln, &s->m->cfg.ch, &ch_cb, s);
	if (rc < 0)
		link_close(ln);
	return rc;
}

/* ---- freeing later ------------------------------------------------------------ */

static void reap(struct loop *lp, void *ctx)
{
	struct session_mgr *m = ctx;
	m->reap_timer = 0;
	for (struct sess *s = m->head, *n; s; s = n) {
		n = s->next;
		if (s->dead) {
			sess_free(s);
		} else if (s->restart) {
			s->restart = false;
			channel_free(s->ch);
			s->ch = NULL;
			struct link *ln;
			if (link_open(&ln, s->spec, lp, &(struct link_callbacks){0}, NULL) < 0 ||
			    sess_open_channel(s, ln) < 0) {
				log_error("%s: cannot reopen; the link stays closed", s->spec);
				s->ch = NULL;
				sess_free(s);
			}
		}
	}
}

static void defer(struct sess *s, bool restart)
{
	struct session_mgr *m = s->m;
	if (s->vessel) {
		downlink_forget(m->dl, s->vessel);
		s->vessel = 0;
	}
	if (restart && !s->child)
		s->restart = true;
	else
		s->dead = true;
	if (!m->reap_timer)
		m->reap_timer = loop_timer_at(m->lp, loop_now(m->lp), reap, m);
}

/* ---- sending --------------------------------------------------------------------- */

static void kick(struct sess *s)
{
	struct session_mgr *m = s->m;
	if (s->dead || s->restart || !s->vessel || !link_is_up(channel_link(s->ch)) ||
	    downlink_in_flight(m->dl, s->vessel))
		return;
	ssize_t n = downlink_build(m->dl, s->vessel, (int64_t)time(NULL), m->buf, sizeof m->buf);
	if (n <= 0) {
		uint64_t sup;
		if (n < 0 && log_burst_check(&m->err_burst, loop_now(m->lp), SESSION_LOG_QUIET_MS, &sup))
			log_error("vessel %" PRIu32 ": cannot build a downlink bundle: %s", s->vessel,
				  err_str((int)n));
		return;
	}
	uint64_t id;
	int rc = channel_send(s->ch, m->buf, (size_t)n, &id);
	if (rc < 0) {
		downlink_forget(m->dl, s->vessel);
		log_debug("vessel %" PRIu32 ": downlink waits: %s", s->vessel, err_str(rc));
		return;
	}
	downlink_sent(m->dl, s->vessel, id);
}

static struct sess *bound_to(struct session_mgr *m, uint32_t vessel)
{
	for (struct sess *s = m->head; s; s = s->next)
		if (!s->dead && s->vessel == vessel)
			return s;
	return NULL;
}

void session_kick(struct session_mgr *m, uint32_t vessel)
{
	struct sess *s = bound_to(m, vessel);
	if (s)
		kick(s);
}

void session_kick_all(struct session_mgr *m)
{
	for (struct sess *s = m->head; s; s = s->next)
		kick(s);
}

void session_drop_vessel(struct session_mgr *m, uint32_t vessel)
{
	struct sess *s = bound_to(m, vessel);
	if (s)
		defer(s, false);
}

static void bind(struct sess *s, uint32_t vessel)
{
	struct session_mgr *m = s->m;
	if (s->deadline) {
		loop_timer_cancel(m->lp, s->deadline);
		s->deadline = 0;
	}
	s->authed = true;
	if (s->vessel == vessel)
		return;
	if (s->vessel)
		downlink_forget(m->dl, s->vessel);
	struct sess *old = bound_to(m, vessel);
	if (old) {
		log_info("vessel %" PRIu32 " moved to %s; dropping %s", vessel,
			 link_name(channel_link(s->ch)), link_name(channel_link(old->ch)));
		if (old->child)
			defer(old, false);
		else {
			downlink_forget(m->dl, vessel);
			old->vessel = 0;
		}
	}
	s->vessel = vessel;
	log_info("vessel %" PRIu32 " on %s", vessel, link_name(channel_link(s->ch)));
}

/* ---- channel callbacks ---------------------------------------------------------------- */

static void on_message(void *ctx, struct channel *ch, const uint8_t *msg, size_t len)
{
	struct sess *s = ctx;
	struct session_mgr *m = s->m;
	(void)ch;
	if (s->dead || s->restart)
		return;
	struct ingest_outcome o;
	int rc = ingest_bundle(m->in, msg, len, wallclock_now(), &o);
	if (rc < 0) {
		/* Not committed, but the ARQ will acknowledge the bytes: restart
		 * the channel so the vessel re-sends what was not accepted. */
		log_error("%s: %s; restarting the channel", link_name(channel_link(s->ch)), o.why);
		defer(s, true);
		return;
	}
	if (o.authentic)
		bind(s, o.vessel);
	if (o.result == INGEST_ACCEPTED && o.stored && m->route)
		route_poke(m->route);
	if (s->vessel == o.vessel)
		kick(s);
}

static void on_acked(void *ctx, struct channel *ch, uint64_t id)
{
	struct sess *s = ctx;
	(void)ch;
	if (s->dead || !s->vessel)
		return;
	if (downlink_acked(s->m->dl, s->vessel, id) == 0)
		kick(s);
}

static void on_reset(void *ctx, struct channel *ch, enum arq_reset_reason why)
{
	struct sess *s = ctx;
	(void)ch;
	if (s->dead || !s->vessel)
		return;
	log_info("vessel %" PRIu32 ": channel reset (%s)", s->vessel,
		 why == ARQ_RESET_PEER_RESTARTED ? "peer restarted" : "peer lost our stream");
	downlink_forget(s->m->dl, s->vessel);
	kick(s);
}

static void on_link(void *ctx, struct channel *ch, bool up)
{
	struct sess *s = ctx;
	if (s->dead)
		return;
	if (up) {
		kick(s);
		return;
	}
	log_info("%s is down", link_name(channel_link(ch)));
	if (s->vessel)
		downlink_forget(s->m->dl, s->vessel);
	if (s->child)
		defer(s, false);
}

/* ---- accepting ------------------------------------------------------------------------- */

static void on_deadline(struct loop *lp, void *ctx)
{
	struct sess *s = ctx;
	(void)lp;
	s->deadline = 0;
	if (s->authed || s->dead)
		return;
	s->m->st.timed_out++;
	log_info("%s: nothing authentic within %" PRIu64 " ms; closed",
		 link_name(channel_link(s->ch)), s->m->cfg.auth_timeout_ms);
	defer(s, false);
}

static struct sess *sess_new(struct session_mgr *m, bool child, const char *spec)
{
	struct sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->m = m;
	s->child = child;
	s->opened_ms = loop_now(m->lp);
	if (spec)
		snprintf(s->spec, sizeof s->spec, "%s", spec);
	s->next = m->head;
	if (m->head)
		m->head->prev = s;
	m->head = s;
	if (child)
		m->children++;
	return s;
}

/* Unauthenticated children, oldest first: the one to evict. */
static struct sess *oldest_unauthed(struct session_mgr *m)
{
	struct sess *best = NULL;
	for (struct sess *s = m->head; s; s = s->next)
		if (s->child && !s->authed && !s->dead && (!best || s->opened_ms <= best->opened_ms))
			best = s;
	return best;
}

static size_t live_children(const struct session_mgr *m)
{
	size_t n = 0;
	for (const struct sess *s = m->head; s; s = s->next)
		n += s->child && !s->dead;
	return n;
}

static void on_accept(void *ctx, struct link *listener, struct link *child)
{
	struct session_mgr *m = ctx;
	uint64_t sup;
	if (live_children(m) >= m->cfg.max_connections) {
		struct sess *victim = oldest_unauthed(m);
		if (!victim) {
			m->st.refused++;
			if (log_burst_check(&m->full_burst, loop_now(m->lp), SESSION_LOG_QUIET_MS, &sup))
				log_warn("%s: %u vessels connected, the limit (max_connections): refusing "
					 "%s (%" PRIu64 " more refused)", link_name(listener),
					 m->cfg.max_connections, link_name(child), sup);
			link_close(child);
			return;
		}
		m->st.evicted++;
		if (log_burst_check(&m->full_burst, loop_now(m->lp), SESSION_LOG_QUIET_MS, &sup))
			log_warn("%s: connection limit reached: closing %s, which has proved nothing "
				 "(%" PRIu64 " more since the last report)", link_name(listener),
				 link_name(channel_link(victim->ch)), sup);
		defer(victim, false);
	}
	struct sess *s = sess_new(m, true, NULL);
	if (!s) {
		link_close(child);
		return;
	}
	if (sess_open_channel(s, child) < 0) {
		s->ch = NULL;
		s->dead = true;
		defer(s, false);
		return;
	}
	m->st.accepted++;
	s->deadline = loop_timer_at(m->lp, loop_now(m->lp) + m->cfg.auth_timeout_ms, on_deadline, s);
}

int session_listen(struct session_mgr *m, const char *spec)
{
	if (m->nlisteners == SESSION_LISTEN_MAX)
		return ERR_FULL;
	struct link *ln;
	int rc;
	if (strncmp(spec, "tcp-listen:", 11) == 0) {
		static const struct link_callbacks lcb = {.on_accept = on_accept};
		if ((rc = link_open(&ln, spec, m->lp, &lcb, m)) < 0)
			return rc;
		m->listeners[m->nlisteners++] = ln;
		return 0;
	}
	if ((rc = link_open(&ln, spec, m->lp, &(struct link_callbacks){0}, NULL)) < 0)
		return rc;
	struct sess *s = sess_new(m, false, spec);
	if (!s) {
		link_close(ln);
		return ERR_NOMEM;
	}
	if ((rc = sess_open_channel(s, ln)) < 0) {
		s->ch = NULL;
		sess_free(s);
		return rc;
	}
	return 0;
}

struct session_stats session_get_stats(const struct session_mgr *m)
{
	struct session_stats st = m->st;
	st.open = 0;
	st.bound = 0;
	for (const struct sess *s = m->head; s; s = s->next) {
		st.open += !s->dead;
		st.bound += !s->dead && s->vessel;
	}
	return st;
}
