/*
 * test_uplink.c — vesseld's engine driven without a link: bundles built
 * from a real SQLite outbox and opened with the shore's keys; downlink
 * bundles sealed with the shore's keys and applied.
 *
 * Shows: under 400 seeded random submissions from 3 crew members (one
 * chatty), every message leaves exactly once, SOS before complaints before
 * contacts before texts, texts first-in-first-out per person and shared
 * fairly (DRR bound) while everybody is backlogged, each bundle within
 * bundle_max, complaints only in the vessel section and one crew member
 * per crew section; a lone message leaves at once and a heartbeat-only
 * bundle is not stored; across simulated crashes (the database closed with
 * the bundle's transaction open) no sequence number is ever sealed twice,
 * and the crashed bundle's messages go in a new bundle; after a simulated
 * restart the stored bundles come back as their identical bytes, oldest
 * first, and a bundle whose messages were all accepted no longer does;
 * at most 2 new bundles are in flight; a downlink bundle moves states
 * forward, fills the inbox, is ignored when replayed (also after a
 * restart) and refused when forged or malformed.
 */
#include <CUnit/CUnit.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"
#include "tests/lib/testutil.h"
#include "vessel/sched.h"
#include "vessel/uplink.h"

#define VESSEL 7u
#define T0 INT64_C(1796000000)
#define NCREW 3u
#define MSGS_MAX 512u

struct fx {
	char *dir;
	char path[TU_PATH_MAX];
	struct vstore *st;
	struct uplink *u;
	struct bundle_keys vk, sk;
	struct uplink_config cfg;
};

/* What the shore saw in one bundle. */
struct seen {
	uint64_t seq;
	size_t plen, n;
	struct { enum record_type type; uint64_t id; uint32_t crew; size_t section; size_t len; } r[UPLINK_PICK_MAX + 1];
};

static struct compress_work work;
static struct body_reader br;
static struct body_writer bw;
static uint8_t plain[BUNDLE_BYTES_MAX], body[BUNDLE_PLAIN_MAX];

static void fx_open(struct fx *f)
{
	CU_ASSERT_EQUAL_FATAL(vstore_open(f->path, &f->st, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(uplink_new(&f->u, f->st, &f->cfg), 0);
}

static void fx_close(struct fx *f)
{
	uplink_free(f->u);
	vstore_close(f->st);
	f->u = NULL;
	f->st = NULL;
}

static void fx_init(struct fx *f, uint64_t bundle_max)
{
	memset(f, 0, sizeof *f);
	CU_ASSERT_FATAL(sodium_init() >= 0);
	f->dir = tu_tmpdir();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->dir);
	snprintf(f->path, sizeof f->path, "%s/v.db", f->dir);
	uint8_t vpk[32], vsk[32], spk[32], ssk[32];
	crypto_kx_keypair(vpk, vsk);
	crypto_kx_keypair(spk, ssk);
	CU_ASSERT_EQUAL_FATAL(bundle_keys_vessel(&f->vk, vpk, vsk, spk), 0);
	CU_ASSERT_EQUAL_FATAL(bundle_keys_shore(&f->sk, spk, ssk, vpk), 0);
	f->cfg = (struct uplink_config){.vessel_id = VESSEL, .bundle_max = bundle_max, .keys = &f->vk};
	fx_open(f);
	for (uint32_t c = 1; c <= NCREW; c++) {
		uint32_t id, ref;
		uint64_t mid;
		CU_ASSERT_EQUAL(vstore_crew_add(f->st, "crew", "en", "$argon2id$x", T0, &id), 0);
		CU_ASSERT_EQUAL(vstore_contact_add(f->st, id, "mailto:a@b.example", "Mum", T0, 202611,
						   &ref, &mid), 0);
	}
}

static void fx_fini(struct fx *f)
{
	fx_close(f);
	tu_rmrf(f->dir);
	free(f->dir);
}

static uint64_t queue(struct fx *f, uint32_t crew, enum vmsg_kind k, size_t len, char fill)
{
	char text[2100];
	memset(text, fill, len);
	struct vmsg_new m = {.crew_id = crew, .kind = k, .contact_ref = k == VMSG_TEXT ? 1 : 0,
		.body = (const uint8_t *)text, .body_len = len, .text_bytes = len, .ts = T0,
		.period = 202611};
	uint64_t id = 0;
	CU_ASSERT_EQUAL(vstore_msg_add(f->st, &m, &id), 0);
	return id;
}

/* Opens an uplink bundle as the shore would. */
static void shore_open(const struct fx *f, const uint8_t *b, size_t len, struct seen *s)
{
	struct bundle_receiver rcv = {.vessel = VESSEL, .to_vessel = false, .rx_key = f->sk.rx};
	struct bundle_hdr h;
	ssize_t plen = bundle_unseal(&rcv, NULL, b, len, &h, plain, sizeof plain);
	CU_ASSERT_FATAL(plen > 0);
	CU_ASSERT(h.flags & BUNDLE_F_TIME);
	memset(s, 0, sizeof *s);
	s->seq = h.seq;
	s->plen = (size_t)plen;
	body_reader_init(&br, &work, plain, (size_t)plen, h.base_time);
	struct record r;
	size_t sec;
	int rc;
	while ((rc = body_next(&br, &r, &sec)) == 1 && s->n <= UPLINK_PICK_MAX) {
		s->r[s->n].type = r.type;
		s->r[s->n].section = sec;
		switch (r.type) {
		case RECORD_TEXT:
			s->r[s->n].id = r.u.text.msg_id, s->r[s->n].crew = r.u.text.crew_id;
			s->r[s->n].len = r.u.text.text.len;
			break;
		case RECORD_SOS: s->r[s->n].id = r.u.sos.msg_id, s->r[s->n].crew = r.u.sos.crew_id; break;
		case RECORD_CONTACT:
			s->r[s->n].id = r.u.contact.msg_id, s->r[s->n].crew = r.u.contact.crew_id;
			CU_ASSERT_EQUAL(r.u.contact.channel, RECORD_CHANNEL_EMAIL);
			break;
		case RECORD_COMPLAINT: s->r[s->n].id = r.u.complaint.msg_id; break;
		default: break;
		}
		s->n++;
	}
	CU_ASSERT_EQUAL(rc, 0);
}

static int cls_of(enum record_type t)
{
	return t == RECORD_SOS ? 0 : t == RECORD_COMPLAINT ? 1 : t == RECORD_CONTACT ? 2 : 3;
}

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_priority_fairness(void)
{
	struct fx f;
	fx_init(&f, 2048);
	static uint8_t out[BUNDLE_BYTES_MAX];
	static struct seen s;
	static uint8_t sent_count[MSGS_MAX + 8];
	static size_t len_of[MSGS_MAX + 8];
	size_t texts_left[NCREW + 1] = {0}, total = NCREW; /* the 3 contacts */
	rng_state = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 400; i++) {
		uint64_t x = rng() % 100;
		uint32_t crew = x < 60 ? 1 : (uint32_t)(2 + rng() % 2);
		enum vmsg_kind k = x % 20 == 0 ? VMSG_SOS : x % 20 == 1 ? VMSG_COMPLAINT : VMSG_TEXT;
		size_t len = 10 + (size_t)(rng() % 290);
		uint64_t id = queue(&f, crew, k, len, (char)('a' + rng() % 26));
		CU_ASSERT_FATAL(id < MSGS_MAX);
		len_of[id] = len;
		texts_left[crew] += k == VMSG_TEXT;
		total++;
	}
	int last_max = 0;
	uint64_t last_text[NCREW + 1] = {0}, served[NCREW + 1] = {0}, max_gap = 0;
	size_t got = 0, bundles = 0;
	for (;;) {
		bool stored;
		ssize_t n = uplink_build(f.u, T0 + (int64_t)bundles, false, out, sizeof out, &stored, NULL);
		CU_ASSERT_FATAL(n >= 0);
		if (n == 0)
			break;
		CU_ASSERT(stored);
		bundles++;
		shore_open(&f, out, (size_t)n, &s);
		CU_ASSERT(s.plen <= f.cfg.bundle_max);
		size_t crew_of_section[64] = {0};
		int clo = 3, chi = 0;
		for (size_t i = 0; i < s.n; i++) {
			int c = cls_of(s.r[i].type);
			clo = c < clo ? c : clo;
			chi = c > chi ? c : chi;
			CU_ASSERT_EQUAL(sent_count[s.r[i].id]++, 0);
			got++;
			if (s.r[i].type == RECORD_COMPLAINT) {
				CU_ASSERT_EQUAL(s.r[i].section, 0);
				continue;
			}
			CU_ASSERT_FATAL(s.r[i].section < 64);
			if (!crew_of_section[s.r[i].section])
				crew_of_section[s.r[i].section] = s.r[i].crew;
			CU_ASSERT_EQUAL(crew_of_section[s.r[i].section], s.r[i].crew);
			if (s.r[i].type != RECORD_TEXT)
				continue;
			uint32_t cr = s.r[i].crew;
			CU_ASSERT(s.r[i].id > last_text[cr]);   /* FIFO per person */
			last_text[cr] = s.r[i].id;
			CU_ASSERT_EQUAL(s.r[i].len, len_of[s.r[i].id]);
			served[cr] += s.r[i].len + UPLINK_RECORD_OVERHEAD;
			texts_left[cr]--;
		}
		CU_ASSERT(clo >= last_max);     /* strict priority across bundles */
		last_max = chi;
		if (texts_left[1] && texts_left[2] && texts_left[3]) {
			uint64_t lo = served[1], hi = served[1];
			for (uint32_t c = 2; c <= NCREW; c++) {
				lo = served[c] < lo ? served[c] : lo;
				hi = served[c] > hi ? served[c] : hi;
			}
			max_gap = hi - lo > max_gap ? hi - lo : max_gap;
		}
	}
	CU_ASSERT_EQUAL(got, total);
	CU_ASSERT_EQUAL(last_max, 3);
	/* DRR: backlogged members differ by at most quantum + 2 * largest */
	CU_ASSERT(max_gap <= SCHED_QUANTUM_DEFAULT_BYTES + 2 * (300 + UPLINK_RECORD_OVERHEAD));
	CU_ASSERT(bundles > 20 && bundles < 120);
	struct vcounts n;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &n), 0);
	CU_ASSERT_EQUAL(n.state[VMSG_SENT], total);
	CU_ASSERT_EQUAL(n.bundles, bundles);
	fx_fini(&f);
}

static void test_lone_and_heartbeat(void)
{
	struct fx f;
	fx_init(&f, 4096);
	static uint8_t out[BUNDLE_BYTES_MAX];
	static struct seen s;
	bool stored = true;
	uint64_t seq;
	/* drain the three contacts first */
	CU_ASSERT(uplink_build(f.u, T0, false, out, sizeof out, &stored, &seq) > 0);
	CU_ASSERT_EQUAL(uplink_build(f.u, T0, false, out, sizeof out, &stored, NULL), 0);
	ssize_t n = uplink_build(f.u, T0, true, out, sizeof out, &stored, &seq);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_FALSE(stored);
	shore_open(&f, out, (size_t)n, &s);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_EQUAL(s.r[0].type, RECORD_HEARTBEAT);
	CU_ASSERT(n < 60);                      /* tiny: it costs money */
	uint64_t id = queue(&f, 2, VMSG_TEXT, 40, 'x');
	n = uplink_build(f.u, T0 + 1, false, out, sizeof out, &stored, &seq);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT(stored);
	shore_open(&f, out, (size_t)n, &s);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_EQUAL(s.r[0].id, id);
	struct vcounts c;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.bundles, 2);          /* the contacts' and this one */
	fx_fini(&f);
}

static void test_seq_crashes(void)
{
	struct fx f;
	fx_init(&f, 4096);
	static uint8_t out[BUNDLE_BYTES_MAX];
	static struct seen s;
	uint64_t max_sealed = 0, sealed = 0;
	static uint8_t carried[1024];
	rng_state = 42;
	for (int round = 0; round < 12; round++) {
		bool crash = round % 3 == 1;
		int builds = 1 + (int)(rng() % 20);
		for (int b = 0; b < builds; b++) {
			queue(&f, 1 + (uint32_t)(rng() % NCREW), VMSG_TEXT, 20, 'q');
			uint64_t seq = 0;
			bool last = b == builds - 1;
			if (crash && last) {
				uplink_free(f.u);
				struct uplink_config c = f.cfg;
				c.fault = UPLINK_FAULT_BEFORE_COMMIT;
				CU_ASSERT_EQUAL_FATAL(uplink_new(&f.u, f.st, &c), 0);
			}
			ssize_t n = uplink_build(f.u, T0, false, out, sizeof out, NULL, &seq);
			CU_ASSERT(seq > max_sealed || sealed == 0);     /* never reused */
			max_sealed = seq > max_sealed ? seq : max_sealed;
			sealed++;
			if (crash && last) {
				CU_ASSERT_EQUAL(n, ERR_IO);
				break;  /* "killed" with the transaction open */
			}
			CU_ASSERT_FATAL(n > 0);
			shore_open(&f, out, (size_t)n, &s);
			CU_ASSERT_EQUAL(s.seq, seq);
			for (size_t i = 0; i < s.n; i++)
				if (s.r[i].type == RECORD_TEXT) {
					CU_ASSERT_FATAL(s.r[i].id < sizeof carried);
					CU_ASSERT_EQUAL(carried[s.r[i].id]++, 0);
				}
		}
		fx_close(&f);           /* closes the db: an open transaction rolls back */
		fx_open(&f);
	}
	/* whatever a crash left queued goes in a new bundle, once */
	ssize_t n;
	while ((n = uplink_build(f.u, T0, false, out, sizeof out, NULL, NULL)) > 0) {
		shore_open(&f, out, (size_t)n, &s);
		CU_ASSERT(s.seq > max_sealed);
		max_sealed = s.seq;
		for (size_t i = 0; i < s.n; i++)
			if (s.r[i].type == RECORD_TEXT)
				CU_ASSERT_EQUAL(carried[s.r[i].id]++, 0);
	}
	CU_ASSERT_EQUAL(n, 0);
	struct vcounts c;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.state[VMSG_QUEUED], 0);
	CU_ASSERT(sealed > 12);
	fx_fini(&f);
}

/* A fake channel: records what is sent, acknowledges on demand. */
struct fake_io {
	uint8_t b[64][1024];
	size_t len[64], n;
	size_t unacked;
	bool up;
};

static int fake_send(void *ctx, const uint8_t *b, size_t len, uint64_t *id)
{
	struct fake_io *io = ctx;
	CU_ASSERT_FATAL(io->n < 64 && len <= 1024);
	memcpy(io->b[io->n], b, len);
	io->len[io->n] = len;
	*id = ++io->n;
	io->unacked++;
	return 0;
}

static size_t fake_unacked(void *ctx)
{
	return ((struct fake_io *)ctx)->unacked;
}

static bool fake_up(void *ctx)
{
	return ((struct fake_io *)ctx)->up;
}

static void attach(struct fx *f, struct fake_io *io)
{
	memset(io, 0, sizeof *io);
	io->up = true;
	uplink_set_io(f->u, &(struct uplink_io){fake_send, fake_unacked, fake_up, io});
}

/* Seals a downlink bundle of records with the shore's keys. */
static size_t downlink(struct fx *f, struct seq_state *seq, const struct record *r, size_t n,
		       const uint8_t *key, uint8_t *out)
{
	body_writer_init(&bw, &work, body, sizeof body, (uint64_t)T0);
	CU_ASSERT_EQUAL_FATAL(body_section_begin(&bw, -1), 0);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(body_add(&bw, &r[i]), 0);
	CU_ASSERT_EQUAL_FATAL(body_section_end(&bw), 0);
	uint64_t lim;
	struct seq_ticket t;
	if (seq_available(seq) == 0) {
		CU_ASSERT_EQUAL_FATAL(seq_reserve(seq, 16, &lim), 0);
		CU_ASSERT_EQUAL_FATAL(seq_confirm(seq, lim), 0);
	}
	CU_ASSERT_EQUAL_FATAL(seq_take(seq, &t), 0);
	struct bundle_sender snd = {.vessel = VESSEL, .to_vessel = true, .tx_key = key};
	struct bundle_opts o = {.has_time = true, .base_time = (uint64_t)T0};
	ssize_t len = bundle_seal(&snd, &o, &t, body, bw.len, out, BUNDLE_BYTES_MAX);
	CU_ASSERT_FATAL(len > 0);
	return (size_t)len;
}

static void test_resend(void)
{
	struct fx f;
	fx_init(&f, 256);
	static struct fake_io io, io2;
	static struct seen s;
	for (int i = 0; i < 6; i++)
		queue(&f, 1 + (uint32_t)i % NCREW, VMSG_TEXT, 150, (char)('a' + i));
	attach(&f, &io);
	uplink_resend_from_start(f.u);
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL(io.n, UPLINK_NEW_INFLIGHT_MAX);         /* at most 2 new in flight */
	io.up = false;
	uplink_acked(f.u, 1);
	io.unacked--;
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL(io.n, 2);                               /* link down: nothing */
	io.up = true;
	while (io.n < 64) {
		size_t before = io.n;
		CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
		io.unacked = 0;
		for (size_t k = before; k < io.n; k++)
			uplink_acked(f.u, k + 1);
		if (io.n == before)
			break;
	}
	CU_ASSERT(io.n >= 4);
	struct vcounts c;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.bundles, io.n);
	CU_ASSERT_EQUAL(c.state[VMSG_SENT], 9);
	/* restart: the same bytes, oldest first */
	fx_close(&f);
	fx_open(&f);
	attach(&f, &io2);
	uplink_resend_from_start(f.u);
	for (int k = 0; k < 10; k++) {
		io2.unacked = 0;
		CU_ASSERT_EQUAL(uplink_pump(f.u, T0 + 99), 0);
	}
	if (io2.n != io.n)
		fprintf(stderr, "\n  resent %zu of %zu\n", io2.n, io.n);
	CU_ASSERT_EQUAL_FATAL(io2.n, io.n);
	for (size_t k = 0; k < io.n; k++) {
		CU_ASSERT_EQUAL(io2.len[k], io.len[k]);
		CU_ASSERT(memcmp(io2.b[k], io.b[k], io.len[k]) == 0);
	}
	/* the shore accepts what the first bundle carried: it is not re-sent */
	shore_open(&f, io.b[0], io.len[0], &s);
	struct record rc = {.type = RECORD_RECEIPT};
	for (size_t i = 0; i < s.n; i++)
		CU_ASSERT_EQUAL(record_receipt_add(&rc.u.receipt, s.r[i].id, RECORD_STATE_ACCEPTED, 0), 0);
	struct seq_state dseq;
	seq_init(&dseq, 0);
	static uint8_t dl[BUNDLE_BYTES_MAX];
	size_t dlen = downlink(&f, &dseq, &rc, 1, f.sk.tx, dl);
	struct uplink_rx rx;
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, dlen, T0, &rx), 0);
	CU_ASSERT_EQUAL(rx.receipts_changed, s.n);
	fx_close(&f);
	fx_open(&f);
	attach(&f, &io2);
	uplink_resend_from_start(f.u);
	for (int k = 0; k < 10; k++) {
		io2.unacked = 0;
		CU_ASSERT_EQUAL(uplink_pump(f.u, T0 + 99), 0);
	}
	CU_ASSERT_EQUAL_FATAL(io2.n, io.n - 1);
	CU_ASSERT(memcmp(io2.b[0], io.b[1], io.len[1]) == 0);
	fx_fini(&f);
}

static int inbox_text(void *ctx, const struct vinbox *i)
{
	char *out = ctx;
	strncat(out, i->text, 200);
	strcat(out, "|");
	return 0;
}

/* An SOS does not wait for the 2-bundle limit: it leaves at once. */
static void test_sos_now(void)
{
	struct fx f;
	fx_init(&f, 256);
	static struct fake_io io;
	static struct seen s;
	for (int i = 0; i < 4; i++)
		queue(&f, 1, VMSG_TEXT, 150, (char)('a' + i));
	attach(&f, &io);
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL(io.n, UPLINK_NEW_INFLIGHT_MAX);
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL(io.n, UPLINK_NEW_INFLIGHT_MAX);         /* texts wait */
	uint64_t sos = queue(&f, 2, VMSG_SOS, 20, 's');
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL_FATAL(io.n, UPLINK_NEW_INFLIGHT_MAX + 1);       /* the SOS went */
	memset(&s, 0, sizeof s);
	shore_open(&f, io.b[io.n - 1], io.len[io.n - 1], &s);
	CU_ASSERT(s.n >= 1 && s.r[0].type == RECORD_SOS && s.r[0].id == sos);
	CU_ASSERT_EQUAL(uplink_pump(f.u, T0), 0);
	CU_ASSERT_EQUAL(io.n, UPLINK_NEW_INFLIGHT_MAX + 1);     /* texts still wait */
	fx_fini(&f);
}

static void test_downlink(void)
{
	struct fx f;
	fx_init(&f, 4096);
	uint64_t t1 = queue(&f, 1, VMSG_TEXT, 10, 'a');
	uint64_t t2 = queue(&f, 1, VMSG_TEXT, 10, 'b');
	uint64_t cp = queue(&f, 2, VMSG_COMPLAINT, 300, 'z');
	static uint8_t out[BUNDLE_BYTES_MAX], dl[BUNDLE_BYTES_MAX];
	while (uplink_build(f.u, T0, false, out, sizeof out, NULL, NULL) > 0)
		;
	struct record r[4];
	memset(r, 0, sizeof r);
	r[0].type = RECORD_RECEIPT;
	CU_ASSERT_EQUAL(record_receipt_add(&r[0].u.receipt, 1, RECORD_STATE_ACCEPTED, 0), 0);
	CU_ASSERT_EQUAL(record_receipt_add(&r[0].u.receipt, t1, RECORD_STATE_DELIVERED, 0), 0);
	CU_ASSERT_EQUAL(record_receipt_add(&r[0].u.receipt, t2, RECORD_STATE_FAILED, 2), 0);
	r[1].type = RECORD_REPLY;
	r[1].u.reply = (struct record_reply){.msg_id = 1, .ts = (uint64_t)T0, .crew_id = 1,
		.contact_ref = 1, .text = {(const uint8_t *)"we miss you", 11}};
	r[2].type = RECORD_CASE_UPDATE;
	r[2].u.case_update = (struct record_case_update){.case_ref = cp,
		.status = RECORD_CASE_INVESTIGATING, .ts = (uint64_t)T0,
		.text = {(const uint8_t *)"inspector assigned", 18}};
	r[3].type = RECORD_REPLY;      /* for a crew member who does not exist */
	r[3].u.reply = (struct record_reply){.msg_id = 2, .ts = (uint64_t)T0, .crew_id = 99,
		.contact_ref = 1, .text = {(const uint8_t *)"lost", 4}};
	struct seq_state dseq;
	seq_init(&dseq, 0);
	size_t len = downlink(&f, &dseq, r, 4, f.sk.tx, dl);
	struct uplink_rx rx;
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), 0);
	CU_ASSERT_FALSE(rx.replay);
	CU_ASSERT_EQUAL(rx.receipts_changed, 3);
	CU_ASSERT_EQUAL(rx.replies, 1);
	CU_ASSERT_EQUAL(rx.cases, 1);
	CU_ASSERT_EQUAL(rx.dropped, 1);
	struct vcounts c;
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.state[VMSG_DELIVERED], 1);
	CU_ASSERT_EQUAL(c.state[VMSG_FAILED], 1);
	char got[512] = "";
	CU_ASSERT_EQUAL(vstore_inbox_each(f.st, 1, 0, inbox_text, got), 0);
	CU_ASSERT_STRING_EQUAL(got, "we miss you|");
	got[0] = '\0';
	CU_ASSERT_EQUAL(vstore_inbox_each(f.st, 2, 0, inbox_text, got), 0);
	CU_ASSERT_STRING_EQUAL(got, "inspector assigned|");
	/* the same bundle again, also after a restart: already applied */
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), 0);
	CU_ASSERT(rx.replay);
	fx_close(&f);
	fx_open(&f);
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), 0);
	CU_ASSERT(rx.replay);
	/* an older ACCEPTED never moves a delivered message back */
	struct record acc = {.type = RECORD_RECEIPT};
	CU_ASSERT_EQUAL(record_receipt_add(&acc.u.receipt, t1, RECORD_STATE_ACCEPTED, 0), 0);
	len = downlink(&f, &dseq, &acc, 1, f.sk.tx, dl);
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), 0);
	CU_ASSERT_EQUAL(rx.receipts_changed, 0);
	/* forged (the vessel's own key), truncated, tampered: refused, nothing changes */
	len = downlink(&f, &dseq, &acc, 1, f.vk.tx, dl);
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), ERR_AUTH);
	len = downlink(&f, &dseq, &acc, 1, f.sk.tx, dl);
	CU_ASSERT(uplink_receive(f.u, dl, 5, T0, &rx) < 0);
	dl[len - 1] ^= 1;
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), ERR_AUTH);
	dl[len - 1] ^= 1;
	CU_ASSERT_EQUAL(uplink_receive(f.u, dl, len, T0, &rx), 0);
	CU_ASSERT_FALSE(rx.replay);
	CU_ASSERT_EQUAL(uplink_get_stats(f.u)->rx_rejected, 3);
	CU_ASSERT_EQUAL(vstore_counts(f.st, &c), 0);
	CU_ASSERT_EQUAL(c.state[VMSG_DELIVERED], 1);
	fx_fini(&f);
}

void suite_uplink(void);
void suite_uplink(void)
{
	CU_pSuite s = CU_add_suite("uplink", NULL, NULL);
	CU_add_test(s, "priority and fairness under seeded random submissions", test_priority_fairness);
	CU_add_test(s, "a lone message at once; heartbeat-only not stored", test_lone_and_heartbeat);
	CU_add_test(s, "sequence numbers never reused across simulated crashes", test_seq_crashes);
	CU_add_test(s, "resend rule: identical bytes, oldest first; 2 in flight", test_resend);
	CU_add_test(s, "downlink: receipts, inbox, replay, forgery", test_downlink);
	CU_add_test(s, "an SOS leaves at once even with 2 bundles in flight", test_sos_now);
}
