/*
 * test_ingest.c — shore ingest and downlink with real keys, real sealed
 * bundles and a real SQLite file (shore/ingest.c, shore/downlink.c).
 *
 * Shows: an honest bundle is committed (messages, contacts, heartbeat) and
 * every id gets a pending receipt; garbage (a table of bad headers), a
 * forgery, an unknown and a suspended vessel, a deflate bomb and an
 * out-of-window bundle are refused, counted and store nothing; a bomb leaves
 * its sequence unspent; a replay is re-acknowledged and never re-stored; a
 * message carried by two bundles is held once; a failed commit leaves the
 * window untouched (the same bundle is then accepted, not a replay), and
 * the window survives a restart; contacts keep the highest msg_id; receipts
 * stay pending until the ARQ acknowledges the bundle carrying them, are
 * built again after a reset, and carry later states; replies ride down and
 * are acked.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/keyfile.h"
#include "common/log.h"
#include "proto/body.h"
#include "proto/varint.h"
#include "shore/downlink.h"
#include "shore/ingest.h"
#include "shore/store.h"
#include "tests/lib/fixture.h"
#include "tests/lib/testutil.h"

#define V 103u
#define T0 1795000000
#define NVEC(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	char *dir;
	char path[TU_PATH_MAX];
	struct store *st;
	struct ingest *in;
	struct downlink *dl;
	struct keyfile_secret *shore, *vessel;
	struct bundle_keys vk;          /* the vessel's side */
	struct compress_work work;
	struct body_writer bw;
	struct body_reader rd;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint8_t out[BUNDLE_BYTES_MAX];
	size_t len;                     /* of out */
	struct ingest_outcome o;
};

static struct fx *fx_up(void)
{
	struct fx *f = calloc(1, sizeof *f);
	CU_ASSERT_FATAL(f != NULL);
	f->dir = tu_tmpdir();
	CU_ASSERT_FATAL(f->dir != NULL);
	snprintf(f->path, sizeof f->path, "%s/shore.db", f->dir);
	CU_ASSERT_FATAL(store_open(f->path, &f->st, NULL) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_SHORE, "shore", &f->shore) == 0);
	CU_ASSERT_FATAL(keyfile_generate(KEYFILE_ROLE_VESSEL, "103", &f->vessel) == 0);
	CU_ASSERT_FATAL(store_vessel_add(f->st, V, "Sea Star", f->vessel->pub.sign_pk,
					 f->vessel->pub.kx_pk, T0) == 0);
	CU_ASSERT_FATAL(bundle_keys_vessel(&f->vk, f->vessel->pub.kx_pk, f->vessel->kx_sk,
					   f->shore->pub.kx_pk) == 0);
	CU_ASSERT_FATAL(ingest_new(&f->in, f->st, f->shore) == 0);
	CU_ASSERT_FATAL(downlink_new(&f->dl, f->st, f->in) == 0);
	return f;
}

static void fx_down(struct fx *f)
{
	downlink_free(f->dl);
	ingest_free(f->in);
	store_close(f->st);
	keyfile_secret_free(f->shore);
	keyfile_secret_free(f->vessel);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

/* ---- building uplink bundles -------------------------------------------------- */

static void begin(struct fx *f)
{
	body_writer_init(&f->bw, &f->work, f->body, sizeof f->body, T0);
	CU_ASSERT_FATAL(body_section_begin(&f->bw, -1) == 0);
}

static void add_text(struct fx *f, uint64_t id, uint32_t crew, uint32_t ref, const char *text)
{
	struct record r = {.type = RECORD_TEXT};
	r.u.text = (struct record_text){.msg_id = id, .ts = T0 - 60, .crew_id = crew,
		.contact_ref = ref, .text = {(const uint8_t *)text, strlen(text)}};
	CU_ASSERT_FATAL(body_add(&f->bw, &r) == 0);
}

static void add_contact(struct fx *f, uint64_t id, uint32_t crew, uint32_t ref, const char *addr)
{
	struct record r = {.type = RECORD_CONTACT};
	r.u.contact = (struct record_contact){.msg_id = id, .ts = T0 - 60, .crew_id = crew,
		.contact_ref = ref, .channel = RECORD_CHANNEL_EMAIL,
		.address = {(const uint8_t *)addr, strlen(addr)}, .name = {(const uint8_t *)"Mum", 3}};
	CU_ASSERT_FATAL(body_add(&f->bw, &r) == 0);
}

static void add_heartbeat(struct fx *f, uint32_t queue)
{
	struct record r = {.type = RECORD_HEARTBEAT};
	r.u.heartbeat = (struct record_heartbeat){.ts = T0, .queue_depth = queue, .crew_on_board = 9,
		.crew_registered = 3};
	CU_ASSERT_FATAL(body_add(&f->bw, &r) == 0);
}

static size_t end(struct fx *f)
{
	int rc = body_section_end(&f->bw);
	if (rc != 0)
		fprintf(stderr, "body_section_end: %s\n", err_str(rc));
	CU_ASSERT_FATAL(rc == 0);
	return f->bw.len;
}

/* Seals body[0..n) as vessel's bundle seq with key into f->out. */
static void seal(struct fx *f, uint32_t vessel, const uint8_t *key, uint64_t seq, size_t n)
{
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim;
	seq_init(&s, seq);
	CU_ASSERT_FATAL(seq_reserve(&s, 1, &lim) == 0 && seq_confirm(&s, lim) == 0);
	CU_ASSERT_FATAL(seq_take(&s, &t) == 0);
	struct bundle_sender snd = {.vessel = vessel, .to_vessel = false, .tx_key = key};
	struct bundle_opts o = {.has_time = true, .base_time = T0};
	ssize_t len = bundle_seal(&snd, &o, &t, f->body, n, f->out, sizeof f->out);
	CU_ASSERT_FATAL(len > 0);
	f->len = (size_t)len;
}

/* One text in a bundle of vessel V, seq. */
static void text_bundle(struct fx *f, uint64_t seq, uint64_t id, const char *text)
{
	begin(f);
	add_text(f, id, 1, 1, text);
	seal(f, V, f->vk.tx, seq, end(f));
}

static int ingest(struct fx *f)
{
	int rc = ingest_bundle(f->in, f->out, f->len, T0, &f->o);
	return rc < 0 ? rc : (int)f->o.result;
}

static int64_t q1(struct fx *f, const char *sql)
{
	int64_t v = -1;
	CU_ASSERT_FATAL(store_query_int(f->st, sql, 0, 0, 0, 0, &v) == 0);
	return v;
}

#define ROWS(f) q1(f, "SELECT count(*) FROM messages")
#define PENDING(f) q1(f, "SELECT count(*) FROM messages WHERE state != reported")

/* ---- tests ------------------------------------------------------------------------- */

static void test_accept(void)
{
	struct fx *f = fx_up();
	begin(f);
	add_heartbeat(f, 4);
	add_contact(f, 1, 1, 1, "mailto:mum@example.org");
	add_text(f, 2, 1, 1, "ကျွန်တော် နေကောင်းပါတယ်");
	seal(f, V, f->vk.tx, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT(f->o.authentic);
	CU_ASSERT_EQUAL(f->o.vessel, V);
	CU_ASSERT_EQUAL(f->o.messages, 2);
	CU_ASSERT_EQUAL(f->o.stored, 2);
	CU_ASSERT_EQUAL(ROWS(f), 2);
	CU_ASSERT_EQUAL(PENDING(f), 2);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM messages WHERE kind = 'text' AND "
			   "body = CAST('ကျွန်တော် နေကောင်းပါတယ်' AS BLOB) AND bundle_seq = 1"), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM contacts WHERE address = 'mailto:mum@example.org'"), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT hb_queue FROM vessels"), 4);
	CU_ASSERT_EQUAL(q1(f, "SELECT last_contact FROM vessels"), T0);
	CU_ASSERT_EQUAL(q1(f, "SELECT highest_seq FROM vessels"), 1);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->bundles, 1);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->messages, 2);
	fx_down(f);
}

static void test_garbage_table(void)
{
	struct fx *f = fx_up();
	static const struct {
		const char *what;
		uint8_t b[24];
		size_t n;
	} vec[] = {
		{"empty", {0}, 0},
		{"one byte", {0x10}, 1},
		{"version 15", {0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5,
				0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5, 0xf5}, 20},
		{"reserved flag", {0x18, 103, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 19},
		{"header without tag", {0x10, 103, 1, 0, 0}, 5},
		{"non-minimal varint", {0x10, 0xe7, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 20},
	};
	for (size_t i = 0; i < NVEC(vec); i++) {
		int rc = ingest_bundle(f->in, vec[i].b, vec[i].n, T0, &f->o);
		CU_ASSERT_EQUAL(rc, 0);
		if (f->o.result != INGEST_MALFORMED)
			fprintf(stderr, "garbage '%s': %s\n", vec[i].what, ingest_result_name(f->o.result));
		CU_ASSERT_EQUAL(f->o.result, INGEST_MALFORMED);
		CU_ASSERT(!f->o.authentic);
		CU_ASSERT(f->o.why[0] != '\0');
	}
	CU_ASSERT_EQUAL(ingest_stats(f->in)->malformed, NVEC(vec));
	CU_ASSERT_EQUAL(ROWS(f), 0);
	fx_down(f);
}

static void test_forged_unknown_suspended(void)
{
	struct fx *f = fx_up();
	uint8_t wrong[BUNDLE_KEY_BYTES];
	memset(wrong, 0x42, sizeof wrong);
	begin(f);
	add_text(f, 1, 1, 1, "forged");
	seal(f, V, wrong, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_AUTH);
	CU_ASSERT(!f->o.authentic);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->auth, 1);

	begin(f);
	add_text(f, 1, 1, 1, "who?");
	seal(f, 999, f->vk.tx, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_UNKNOWN_VESSEL);
	CU_ASSERT(strstr(f->o.why, "999") != NULL);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->unknown_vessel, 1);

	CU_ASSERT(store_vessel_set_state(f->st, V, STORE_VESSEL_SUSPENDED) == 0);
	ingest_vessel_forget(f->in, V);
	text_bundle(f, 1, 1, "suspended");
	CU_ASSERT_EQUAL(ingest(f), INGEST_SUSPENDED);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->unknown_vessel, 2);
	CU_ASSERT_EQUAL(ROWS(f), 0);
	/* Resumed: the very same bundle is new (nothing was accepted). */
	CU_ASSERT(store_vessel_set_state(f->st, V, STORE_VESSEL_ACTIVE) == 0);
	ingest_vessel_forget(f->in, V);
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT_EQUAL(ROWS(f), 1);
	fx_down(f);
}

static void test_replay(void)
{
	struct fx *f = fx_up();
	text_bundle(f, 10, 1, "genuine");
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	/* The vessel has its receipt. */
	CU_ASSERT(db_exec(store_db(f->st), "UPDATE messages SET reported = state") == 0);
	CU_ASSERT_EQUAL(PENDING(f), 0);
	CU_ASSERT_EQUAL(ingest(f), INGEST_REPLAY);
	CU_ASSERT(f->o.authentic);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->replays, 1);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->bundles, 1);
	CU_ASSERT_EQUAL(ROWS(f), 1);
	CU_ASSERT_EQUAL(PENDING(f), 1);        /* re-acknowledged */
	fx_down(f);
}

/* A body whose one section is raw deflate of 8 MiB of zeros. */
static size_t bomb(struct fx *f)
{
	static uint8_t zeros[1u << 16];
	uint8_t *blk = malloc(BUNDLE_PLAIN_MAX);
	CU_ASSERT_FATAL(blk != NULL);
	z_stream z;
	memset(&z, 0, sizeof z);
	CU_ASSERT_FATAL(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
	blk[0] = 0x01;
	z.next_out = blk + 1;
	z.avail_out = BUNDLE_PLAIN_MAX - 1 - 8;
	for (int i = 0; i < 128; i++) {
		z.next_in = zeros;
		z.avail_in = sizeof zeros;
		CU_ASSERT_FATAL(deflate(&z, i == 127 ? Z_FINISH : Z_NO_FLUSH) != Z_STREAM_ERROR);
	}
	size_t blen = 1 + z.total_out;
	deflateEnd(&z);
	size_t off = (size_t)varint_encode(blen, f->body, 8);
	memcpy(f->body + off, blk, blen);
	free(blk);
	return off + blen;
}

static void test_bomb_leaves_seq_unspent(void)
{
	struct fx *f = fx_up();
	seal(f, V, f->vk.tx, 11, bomb(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_MALFORMED);
	CU_ASSERT_EQUAL(f->o.err, ERR_BOMB);
	CU_ASSERT(f->o.authentic);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->malformed, 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT highest_seq FROM vessels"), 0);
	text_bundle(f, 11, 2, "after the bomb");
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT_EQUAL(ROWS(f), 1);
	fx_down(f);
}

static void test_window(void)
{
	struct fx *f = fx_up();
	text_bundle(f, 5000, 3, "jump ahead");
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	text_bundle(f, 12, 4, "too old");
	CU_ASSERT_EQUAL(ingest(f), INGEST_WINDOW);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->window, 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM messages WHERE msg_id = 4"), 0);
	fx_down(f);
}

static void test_dedup_across_bundles(void)
{
	struct fx *f = fx_up();
	begin(f);
	add_text(f, 7, 1, 1, "once");
	add_text(f, 8, 1, 1, "first bundle only");
	seal(f, V, f->vk.tx, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT(db_exec(store_db(f->st), "UPDATE messages SET reported = state") == 0);
	/* The vessel crashed before committing the bundle: 7 goes again, in a
	 * new bundle, with 9. */
	begin(f);
	add_text(f, 7, 1, 1, "once");
	add_text(f, 9, 1, 1, "new");
	seal(f, V, f->vk.tx, 2, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT_EQUAL(f->o.stored, 1);
	CU_ASSERT_EQUAL(f->o.duplicates, 1);
	CU_ASSERT_EQUAL(ROWS(f), 3);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM messages WHERE msg_id = 7"), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT bundle_seq FROM messages WHERE msg_id = 7"), 1);
	/* Both ids of the second bundle get receipts, 8 does not. */
	CU_ASSERT_EQUAL(PENDING(f), 2);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM messages WHERE msg_id = 8 AND state = reported"), 1);
	CU_ASSERT_EQUAL(ingest_stats(f->in)->duplicates, 1);
	fx_down(f);
}

static void test_commit_before_window(void)
{
	struct fx *f = fx_up();
	text_bundle(f, 1, 1, "must not be lost");
	/* Another connection holds the write lock: the commit cannot happen. */
	struct db *other;
	CU_ASSERT_FATAL(db_open(f->path, store_migrations, store_migrations_n, &other, NULL) == 0);
	CU_ASSERT_FATAL(db_begin(other) == 0);
	CU_ASSERT(db_set_busy_timeout(store_db(f->st), 0) == 0);
	int rc = ingest(f);
	CU_ASSERT(rc < 0);
	CU_ASSERT_EQUAL(f->o.result, INGEST_FAILED);
	CU_ASSERT_EQUAL(f->o.stored, 0);
	CU_ASSERT(db_rollback(other) == 0);
	db_close(other);
	CU_ASSERT(db_set_busy_timeout(store_db(f->st), DB_BUSY_TIMEOUT_MS) == 0);
	CU_ASSERT_EQUAL(ROWS(f), 0);
	/* The window did not move: the same bundle is new, not a replay. */
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT_EQUAL(ROWS(f), 1);
	/* And the committed window survives a restart. */
	downlink_free(f->dl);
	ingest_free(f->in);
	CU_ASSERT_FATAL(ingest_new(&f->in, f->st, f->shore) == 0);
	CU_ASSERT_FATAL(downlink_new(&f->dl, f->st, f->in) == 0);
	CU_ASSERT_EQUAL(ingest(f), INGEST_REPLAY);
	fx_down(f);
}

static void test_contact_keeps_highest(void)
{
	struct fx *f = fx_up();
	begin(f);
	add_contact(f, 5, 2, 1, "mailto:new@example.org");
	seal(f, V, f->vk.tx, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	begin(f);
	add_contact(f, 3, 2, 1, "mailto:old@example.org");
	seal(f, V, f->vk.tx, 2, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM contacts WHERE address = 'mailto:new@example.org' "
			   "AND msg_id = 5"), 1);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM contacts"), 1);
	fx_down(f);
}

/* ---- downlink ---------------------------------------------------------------------- */

struct down {
	size_t nids;
	uint64_t ids[64];
	int states[64];
	size_t nreplies;
	uint64_t reply_id;
	char reply[64];
};

/* Opens a downlink bundle as the vessel would and lists what it says. */
static void open_down(struct fx *f, const uint8_t *b, size_t n, struct down *d)
{
	struct bundle_receiver rcv = {.vessel = V, .to_vessel = true, .rx_key = f->vk.rx};
	struct bundle_hdr h;
	static uint8_t plain[BUNDLE_BYTES_MAX];
	ssize_t pl = bundle_unseal(&rcv, NULL, b, n, &h, plain, sizeof plain);
	CU_ASSERT_FATAL(pl >= 0);
	memset(d, 0, sizeof *d);
	body_reader_init(&f->rd, &f->work, plain, (size_t)pl, h.base_time);
	struct record r;
	int rc;
	while ((rc = body_next(&f->rd, &r, NULL)) == 1) {
		if (r.type == RECORD_RECEIPT) {
			for (size_t i = 0; i < r.u.receipt.n; i++)
				for (uint64_t k = 0; k < r.u.receipt.r[i].count && d->nids < 64; k++) {
					d->ids[d->nids] = r.u.receipt.r[i].first + k;
					d->states[d->nids++] = (int)r.u.receipt.r[i].state;
				}
		} else if (r.type == RECORD_REPLY) {
			d->nreplies++;
			d->reply_id = r.u.reply.msg_id;
			snprintf(d->reply, sizeof d->reply, "%.*s", (int)r.u.reply.text.len,
				 (const char *)r.u.reply.text.ptr);
		}
	}
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_receipts_until_acked(void)
{
	struct fx *f = fx_up();
	begin(f);
	add_text(f, 1, 1, 1, "a");
	add_text(f, 2, 1, 1, "b");
	add_text(f, 4, 1, 1, "d");
	seal(f, V, f->vk.tx, 1, end(f));
	CU_ASSERT_EQUAL(ingest(f), INGEST_ACCEPTED);

	static uint8_t b[BUNDLE_BYTES_MAX];
	struct down d;
	ssize_t n = downlink_build(f->dl, V, T0, b, sizeof b);
	CU_ASSERT_FATAL(n > 0);
	open_down(f, b, (size_t)n, &d);
	CU_ASSERT_EQUAL(d.nids, 3);
	CU_ASSERT(d.ids[0] == 1 && d.ids[1] == 2 && d.ids[2] == 4);
	CU_ASSERT(d.states[0] == RECORD_STATE_ACCEPTED && d.states[2] == RECORD_STATE_ACCEPTED);
	downlink_sent(f->dl, V, 7);
	/* One in flight: nothing more. */
	CU_ASSERT_EQUAL(downlink_build(f->dl, V, T0, b, sizeof b), 0);
	CU_ASSERT_EQUAL(PENDING(f), 3);
	/* Reset: forgotten, built again, with a new sequence number. */
	downlink_forget(f->dl, V);
	n = downlink_build(f->dl, V, T0, b, sizeof b);
	CU_ASSERT_FATAL(n > 0);
	open_down(f, b, (size_t)n, &d);
	CU_ASSERT_EQUAL(d.nids, 3);
	downlink_sent(f->dl, V, 8);
	CU_ASSERT(downlink_acked(f->dl, V, 7) == 0);    /* an old id: not ours */
	CU_ASSERT_EQUAL(PENDING(f), 3);
	CU_ASSERT(downlink_acked(f->dl, V, 8) == 0);
	CU_ASSERT_EQUAL(PENDING(f), 0);
	CU_ASSERT_EQUAL(downlink_build(f->dl, V, T0, b, sizeof b), 0);
	/* Delivered later: a new receipt with the new state. */
	CU_ASSERT(db_exec(store_db(f->st), "UPDATE messages SET state = 1 WHERE msg_id = 2") == 0);
	n = downlink_build(f->dl, V, T0, b, sizeof b);
	CU_ASSERT_FATAL(n > 0);
	open_down(f, b, (size_t)n, &d);
	CU_ASSERT(d.nids == 1 && d.ids[0] == 2 && d.states[0] == RECORD_STATE_DELIVERED);
	/* The downlink sequence limit is persisted before use. */
	CU_ASSERT(q1(f, "SELECT down_seq_limit FROM vessels") >= 3);
	fx_down(f);
}

static void test_reply_down(void)
{
	struct fx *f = fx_up();
	uint64_t id = 0;
	CU_ASSERT(store_reply_enqueue(f->st, V, 1, 1, "กลับบ้านเร็วๆ", strlen("กลับบ้านเร็วๆ"), T0, &id) == 0);
	static uint8_t b[BUNDLE_BYTES_MAX];
	struct down d;
	ssize_t n = downlink_build(f->dl, V, T0, b, sizeof b);
	CU_ASSERT_FATAL(n > 0);
	open_down(f, b, (size_t)n, &d);
	CU_ASSERT_EQUAL(d.nreplies, 1);
	CU_ASSERT_EQUAL(d.reply_id, id);
	CU_ASSERT_STRING_EQUAL(d.reply, "กลับบ้านเร็วๆ");
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM replies WHERE state = 'sent'"), 1);
	downlink_sent(f->dl, V, 1);
	downlink_forget(f->dl, V);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM replies WHERE state = 'queued'"), 1);
	n = downlink_build(f->dl, V, T0, b, sizeof b);
	CU_ASSERT_FATAL(n > 0);
	downlink_sent(f->dl, V, 2);
	CU_ASSERT(downlink_acked(f->dl, V, 2) == 0);
	CU_ASSERT_EQUAL(q1(f, "SELECT count(*) FROM replies WHERE state = 'acked'"), 1);
	CU_ASSERT_EQUAL(downlink_build(f->dl, V, T0, b, sizeof b), 0);
	fx_down(f);
}

void suite_ingest(void);
void suite_ingest(void)
{
	CU_pSuite s = CU_add_suite("ingest", fx_quiet, fx_loud);
	CU_add_test(s, "honest bundle committed, receipts pending", test_accept);
	CU_add_test(s, "garbage table refused and counted", test_garbage_table);
	CU_add_test(s, "forged, unknown, suspended refused", test_forged_unknown_suspended);
	CU_add_test(s, "replay re-acknowledged, never re-stored", test_replay);
	CU_add_test(s, "deflate bomb refused, seq unspent", test_bomb_leaves_seq_unspent);
	CU_add_test(s, "out of window refused", test_window);
	CU_add_test(s, "dedup on (vessel, msg_id) across bundles", test_dedup_across_bundles);
	CU_add_test(s, "window moves only after the commit; survives restart", test_commit_before_window);
	CU_add_test(s, "contacts keep the highest msg_id", test_contact_keeps_highest);
	CU_add_test(s, "receipts pending until acked, re-sent after reset", test_receipts_until_acked);
	CU_add_test(s, "replies ride down and are acked", test_reply_down);
}
