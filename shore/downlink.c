/*
 * downlink.c — receipts, replies and case updates to a vessel, one bundle
 * in flight.
 *
 * What it is for: the vessel's crew member sees "accepted", then
 * "delivered" or "failed", and a family's reply reaches the inbox
 * (contract step 8).  Everything to send is read from the database, so a
 * crash, a reset or a lost bundle only means building it again.
 *
 * Invariants:
 *  - at most one bundle in flight per vessel; what it carried is recorded
 *    (reported, replies acked) only when the ARQ acknowledges it;
 *  - a downlink sequence number is used only below the limit persisted in
 *    the vessel row (seq_reserve -> store -> seq_confirm -> seq_take);
 *  - receipt ids are ascending within a bundle (ORDER BY msg_id).
 *
 * Failure behaviour: a database error while building returns it and leaves
 * nothing in flight; while recording an acknowledgement it rolls back and
 * forgets the bundle, whose content is then sent again (the vessel applies
 * receipts and replies idempotently).
 */
#include "shore/downlink.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proto/body.h"
#include "shore/cases.h"

#define DV_BUCKETS 256u

struct carried {
	uint64_t msg_id;
	int state;
};

struct dvessel {
	uint32_t id;
	bool seq_loaded;
	struct seq_state seq;
	bool in_flight;
	uint64_t arq_id;
	struct carried *rc;             /* receipts carried */
	size_t nrc;
	uint64_t *rp;                   /* reply ids carried */
	size_t nrp;
	uint64_t cu[CASES_DOWN_MAX];    /* case_updates ids carried */
	size_t ncu;
	struct dvessel *next;
};

struct downlink {
	struct store *st;
	struct db *db;
	struct ingest *in;
	struct dvessel *buckets[DV_BUCKETS];
	struct compress_work work;
	struct body_writer bw;
	uint8_t body[BUNDLE_PLAIN_MAX];
	/* scratch for one build */
	struct carried rc[DOWNLINK_RECEIPT_IDS_MAX];
	uint32_t reason[DOWNLINK_RECEIPT_IDS_MAX];
	size_t nrc;
	struct {
		uint64_t id, ts;
		uint32_t crew, ref;
		char *text;
		size_t len;
	} rp[DOWNLINK_REPLIES_MAX];
	size_t nrp;
	struct cases_down cu[CASES_DOWN_MAX];   /* CASE_UPDATEs (shore/cases.c) */
	size_t ncu;
};

static const char sql_pending[] =
	"SELECT msg_id, state, reason FROM messages WHERE vessel = ?1 AND state != reported "
	"ORDER BY msg_id LIMIT ?2";
static const char sql_replies[] =
	"SELECT id, crew_id, contact_ref, text, ts FROM replies WHERE vessel = ?1 AND "
	"state = 'queued' ORDER BY id LIMIT ?2";
static const char sql_reply_state[] =
	"UPDATE replies SET state = ?3 WHERE vessel = ?1 AND id = ?2";
static const char sql_reported[] =
	"UPDATE messages SET reported = ?3 WHERE vessel = ?1 AND msg_id = ?2";
static const char sql_unsend[] =
	"UPDATE replies SET state = 'queued' WHERE vessel = ?1 AND state = 'sent'";

int downlink_new(struct downlink **out, struct store *st, struct ingest *in)
{
	struct downlink *dl = calloc(1, sizeof *dl);
	*out = NULL;
	if (!dl)
		return ERR_NOMEM;
	dl->st = st;
	dl->db = store_db(st);
	dl->in = in;
	int rc = db_exec(dl->db, "UPDATE replies SET state = 'queued' WHERE state = 'sent'");
	if (rc == 0)
		rc = cases_down_unsend(dl->db, 0);
	if (rc < 0) {
		free(dl);
		return rc;
	}
	*out = dl;
	return 0;
}

static void clear_carried(struct dvessel *v)
{
	free(v->rc);
	free(v->rp);
	v->rc = NULL;
	v->rp = NULL;
	v->nrc = v->nrp = v->ncu = 0;
	v->in_flight = false;
	v->arq_id = 0;
}

void downlink_free(struct downlink *dl)
{
	if (!dl)
		return;
	for (size_t b = 0; b < DV_BUCKETS; b++)
		for (struct dvessel *v = dl->buckets[b], *n; v; v = n) {
			n = v->next;
			clear_carried(v);
			free(v);
		}
	free(dl);
}

static struct dvessel *dv_get(struct downlink *dl, uint32_t id, bool create)
{
	struct dvessel **head = &dl->buckets[(id * 2654435761u) & (DV_BUCKETS - 1)];
	for (struct dvessel *v = *head; v; v = v->next)
		if (v->id == id)
			return v;
	if (!create)
		return NULL;
	struct dvessel *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->id = id;
	v->next = *head;
	*head = v;
	return v;
}

bool downlink_in_flight(struct downlink *dl, uint32_t vessel)
{
	struct dvessel *v = dv_get(dl, vessel, false);
	return v && v->in_flight;
}

static int set_reply_state(struct downlink *dl, uint32_t vessel, uint64_t id, const char *s)
{
	sqlite3_stmt *q = db_stmt(dl->db, sql_reply_state);
	if (!q)
		return ERR_DB;
	int rc;
	if ((rc = db_bind_int64(dl->db, q, 1, vessel)) < 0 ||
	    (rc = db_bind_int64(dl->db, q, 2, (int64_t)id)) < 0 ||
	    (rc = db_bind_text(dl->db, q, 3, s, strlen(s))) < 0 || (rc = db_step(dl->db, q)) < 0)
		return rc;
	return 0;
}

void downlink_forget(struct downlink *dl, uint32_t vessel)
{
	struct dvessel *v = dv_get(dl, vessel, false);
	if (!v || !v->in_flight)
		return;
	if (v->nrp) {
		sqlite3_stmt *q = db_stmt(dl->db, sql_unsend);
		if (!q || db_bind_int64(dl->db, q, 1, vessel) < 0 || db_step(dl->db, q) < 0)
			log_warn("vessel %" PRIu32 ": replies stay 'sent' until restart: %s", vessel,
				 db_last_error(dl->db));
	}
	if (v->ncu && cases_down_unsend(dl->db, vessel) < 0)
		log_warn("vessel %" PRIu32 ": case updates stay 'sent' until restart: %s", vessel,
			 db_last_error(dl->db));
	clear_carried(v);
}

/* ---- building ---------------------------------------------------------------- */

static void free_replies(struct downlink *dl)
{
	for (size_t i = 0; i < dl->nrp; i++)
		free(dl->rp[i].text);
	dl->nrp = 0;
}

/* Reads up to max_rc pending receipts and max_rp queued replies. */
static int load_pending(struct downlink *dl, uint32_t vessel, size_t max_rc, size_t max_rp)
{
	struct db *db = dl->db;
	int rc;
	dl->nrc = 0;
	sqlite3_stmt *q = db_stmt(db, sql_pending);
	if (!q || db_bind_int64(db, q, 1, vessel) < 0 || db_bind_int64(db, q, 2, (int64_t)max_rc) < 0)
		return ERR_DB;
	while ((rc = db_step(db, q)) == DB_ROW) {
		dl->rc[dl->nrc].msg_id = (uint64_t)sqlite3_column_int64(q, 0);
		dl->rc[dl->nrc].state = sqlite3_column_int(q, 1);
		dl->reason[dl->nrc++] = (uint32_t)sqlite3_column_int64(q, 2);
	}
	if (rc < 0)
		return rc;
	q = db_stmt(db, sql_replies);
	if (!q || db_bind_int64(db, q, 1, vessel) < 0 || db_bind_int64(db, q, 2, (int64_t)max_rp) < 0)
		return ERR_DB;
	while ((rc = db_step(db, q)) == DB_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 3);
		char *t = malloc(n + 1);
		if (!t) {
			db_stmt_reset(q);
			return ERR_NOMEM;
		}
		memcpy(t, sqlite3_column_text(q, 3), n);
		t[n] = '\0';
		dl->rp[dl->nrp].id = (uint64_t)sqlite3_column_int64(q, 0);
		dl->rp[dl->nrp].crew = (uint32_t)sqlite3_column_int64(q, 1);
		dl->rp[dl->nrp].ref = (uint32_t)sqlite3_column_int64(q, 2);
		dl->rp[dl->nrp].ts = (uint64_t)sqlite3_column_int64(q, 4);
		dl->rp[dl->nrp].text = t;
		dl->rp[dl->nrp++].len = n;
	}
	if (rc < 0)
		return rc;
	ssize_t ncu = cases_down_pending(db, vessel, dl->cu, CASES_DOWN_MAX);
	dl->ncu = ncu > 0 ? (size_t)ncu : 0;
	return ncu < 0 ? (int)ncu : 0;
}

/* One section holding receipts rc[0..nrc), replies rp[0..nrp) and case
 * updates cu[0..ncu).  Returns 0, ERR_FULL (too much for one bundle), or
 * another error. */
static int write_body(struct downlink *dl, uint64_t base, size_t nrc, size_t nrp, size_t ncu)
{
	int rc;
	body_writer_init(&dl->bw, &dl->work, dl->body, sizeof dl->body, base);
	if ((rc = body_section_begin(&dl->bw, -1)) < 0)
		return rc;
	struct record r = {.type = RECORD_RECEIPT};
	memset(&r.u.receipt, 0, sizeof r.u.receipt);
	for (size_t i = 0; i < nrc; i++) {
		rc = record_receipt_add(&r.u.receipt, dl->rc[i].msg_id,
					(enum record_msg_state)dl->rc[i].state, dl->reason[i]);
		if (rc == ERR_FULL) {
			if ((rc = body_add(&dl->bw, &r)) < 0)
				return rc;
			memset(&r.u.receipt, 0, sizeof r.u.receipt);
			rc = record_receipt_add(&r.u.receipt, dl->rc[i].msg_id,
						(enum record_msg_state)dl->rc[i].state, dl->reason[i]);
		}
		if (rc < 0)
			return rc;
	}
	if (r.u.receipt.n && (rc = body_add(&dl->bw, &r)) < 0)
		return rc;
	for (size_t i = 0; i < nrp; i++) {
		struct record p = {.type = RECORD_REPLY};
		p.u.reply = (struct record_reply){.msg_id = dl->rp[i].id, .ts = dl->rp[i].ts,
			.crew_id = dl->rp[i].crew, .contact_ref = dl->rp[i].ref,
			.text = {(const uint8_t *)dl->rp[i].text, dl->rp[i].len}};
		if ((rc = body_add(&dl->bw, &p)) < 0)
			return rc;
	}
	for (size_t i = 0; i < ncu; i++) {
		struct record c = {.type = RECORD_CASE_UPDATE};
		c.u.case_update = (struct record_case_update){.case_ref = dl->cu[i].case_ref,
			.status = (enum record_case_status)dl->cu[i].status, .ts = dl->cu[i].ts,
			.text = {dl->cu[i].len ? (const uint8_t *)dl->cu[i].text : NULL, dl->cu[i].len}};
		if ((rc = body_add(&dl->bw, &c)) < 0)
			return rc;
	}
	return body_section_end(&dl->bw);
}

static int take_seq(struct downlink *dl, struct dvessel *v, struct seq_ticket *t)
{
	int rc;
	if (!v->seq_loaded) {
		struct store_vessel sv;
		if ((rc = store_vessel_get(dl->st, v->id, &sv)) < 0)
			return rc;
		seq_init(&v->seq, sv.down_seq_limit);
		v->seq_loaded = true;
	}
	if (seq_available(&v->seq) == 0) {
		uint64_t lim;
		if ((rc = seq_reserve(&v->seq, DOWNLINK_SEQ_RESERVE, &lim)) < 0 ||
		    (rc = store_vessel_set_down_limit(dl->st, v->id, lim)) < 0 ||
		    (rc = seq_confirm(&v->seq, lim)) < 0)
			return rc;
	}
	return seq_take(&v->seq, t);
}

ssize_t downlink_build(struct downlink *dl, uint32_t vessel, int64_t now, uint8_t *out,
		       size_t cap)
{
	struct dvessel *v = dv_get(dl, vessel, true);
	if (!v)
		return ERR_NOMEM;
	if (v->in_flight)
		return 0;
	const struct bundle_keys *k;
	int rc = ingest_vessel_keys(dl->in, vessel, &k);
	if (rc < 0)
		return rc;
	rc = load_pending(dl, vessel, DOWNLINK_RECEIPT_IDS_MAX, DOWNLINK_REPLIES_MAX);
	size_t nrc = dl->nrc, nrp = dl->nrp, ncu = dl->ncu;
	if (rc < 0 || (nrc == 0 && nrp == 0 && ncu == 0))
		goto out;
	uint64_t base = now > 0 ? (uint64_t)now : 0;
	/* Too much for one bundle: halve replies first, then receipts. */
	while ((rc = write_body(dl, base, nrc, nrp, ncu)) == ERR_FULL && (nrc > 1 || nrp > 0 || ncu > 0)) {
		if (ncu > 0)
			ncu /= 2;
		else if (nrp > 0)
			nrp /= 2;
		else
			nrc /= 2;
	}
	if (rc < 0)
		goto out;
	struct seq_ticket t;
	if ((rc = take_seq(dl, v, &t)) < 0)
		goto out;
	struct bundle_sender snd = {.vessel = vessel, .to_vessel = true, .tx_key = k->tx};
	struct bundle_opts o = {.sign = false, .has_time = true, .base_time = base};
	ssize_t len = bundle_seal(&snd, &o, &t, dl->body, dl->bw.len, out, cap);
	if (len < 0) {
		rc = (int)len;
		goto out;
	}
	v->rc = nrc ? malloc(nrc * sizeof *v->rc) : NULL;
	v->rp = nrp ? malloc(nrp * sizeof *v->rp) : NULL;
	if ((nrc && !v->rc) || (nrp && !v->rp)) {
		clear_carried(v);
		rc = ERR_NOMEM;
		goto out;
	}
	if (nrc)
		memcpy(v->rc, dl->rc, nrc * sizeof *v->rc);
	for (size_t i = 0; i < nrp && rc == 0; i++) {
		v->rp[i] = dl->rp[i].id;
		rc = set_reply_state(dl, vessel, dl->rp[i].id, "sent");
	}
	for (size_t i = 0; i < ncu && rc == 0; i++) {
		v->cu[i] = dl->cu[i].id;
		rc = cases_down_set(dl->db, vessel, dl->cu[i].id, "sent");
	}
	v->nrc = nrc;
	v->nrp = nrp;
	v->ncu = ncu;
	v->in_flight = true;
	v->arq_id = 0;
	if (rc < 0) {
		downlink_forget(dl, vessel);
		goto out;
	}
	free_replies(dl);
	log_debug("vessel %" PRIu32 ": downlink bundle, %zu receipt(s), %zu reply(ies), %zu case "
		  "update(s), %zd bytes", vessel, nrc, nrp, ncu, len);
	return len;
out:
	free_replies(dl);
	return rc;
}

void downlink_sent(struct downlink *dl, uint32_t vessel, uint64_t arq_id)
{
	struct dvessel *v = dv_get(dl, vessel, false);
	if (v && v->in_flight)
		v->arq_id = arq_id;
}

int downlink_acked(struct downlink *dl, uint32_t vessel, uint64_t arq_id)
{
	struct dvessel *v = dv_get(dl, vessel, false);
	if (!v || !v->in_flight || v->arq_id != arq_id)
		return 0;
	struct db *db = dl->db;
	int rc = db_begin(db);
	for (size_t i = 0; i < v->nrc && rc == 0; i++) {
		sqlite3_stmt *q = db_stmt(db, sql_reported);
		if (!q)
			rc = ERR_DB;
		else if ((rc = db_bind_int64(db, q, 1, vessel)) == 0 &&
			 (rc = db_bind_int64(db, q, 2, (int64_t)v->rc[i].msg_id)) == 0 &&
			 (rc = db_bind_int64(db, q, 3, v->rc[i].state)) == 0)
			rc = db_step(db, q) < 0 ? db_last_code(db) : 0;
	}
	for (size_t i = 0; i < v->nrp && rc == 0; i++)
		rc = set_reply_state(dl, vessel, v->rp[i], "acked");
	for (size_t i = 0; i < v->ncu && rc == 0; i++)
		rc = cases_down_set(db, vessel, v->cu[i], "acked");
	if (rc == 0)
		rc = db_commit(db);
	else
		store_rollback(db);
	if (rc < 0) {
		log_warn("vessel %" PRIu32 ": receipts acknowledged but not recorded (%s); "
			 "they will be sent again", vessel, db_last_error(db));
		downlink_forget(dl, vessel);
		return rc;
	}
	clear_carried(v);
	return 0;
}
