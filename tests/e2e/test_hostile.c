/*
 * test_hostile.c — end to end: shored under hostile peers while an honest
 * vesseld keeps sending (issue 5, DESIGN invariant 4).
 *
 * The attacker runs in this process: a real ARQ channel over a real TCP
 * connection to shored's tcp-listen port, sending hand-made bundles:
 *   - garbage in place of a bundle, and raw noise outside any frame;
 *   - a bundle from a vessel the shore does not know;
 *   - a forgery: vessel 103's header, sealed with a key that is not its;
 *   - a genuine bundle of vessel 103 (whose keys the attacker stole), then
 *     the same bytes again (a replay);
 *   - a genuine bundle whose body is a deflate bomb; its sequence number
 *     must stay unspent, so a later honest bundle with it is accepted;
 *   - a genuine bundle far below the replay window;
 *   - a bundle of a suspended vessel;
 *   - a flood of idle TCP connections, over the shore's connection limit,
 *     held open while a vessel connects and sends.
 * Each refusal must be counted in `shorectl status` and each stored
 * message held once; vessel 101's texts must all reach "delivered".
 * Waits poll the daemons' state with deadlines; nothing sleeps.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>
#include <zlib.h>

#include "common/channel.h"
#include "common/keyfile.h"
#include "common/link.h"
#include "common/loop.h"
#include "proto/body.h"
#include "proto/bundle.h"
#include "proto/varint.h"
#include "tests/lib/e2e.h"
#include "tests/lib/testutil.h"

#define WAIT_MS 60000
#define FLOOD 40                /* idle connections; the shore allows 16 */
#define HONEST_TEXTS 20
#define PIN "4711"

struct attacker {
	struct loop *lp;
	struct channel *ch;
	struct bundle_keys keys;        /* vessel 103's, stolen */
	struct compress_work work;
	struct body_writer bw;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint8_t out[BUNDLE_BYTES_MAX];
};

struct hostile {
	char *dir;
	char shore_conf[TU_PATH_MAX], shore_sock[TU_PATH_MAX], spool[TU_PATH_MAX];
	char vconf[TU_PATH_MAX], vsock[TU_PATH_MAX];
	int port;
	pid_t shored, vesseld;
	struct attacker *a;
};

/* ---- the attacker's bundles ------------------------------------------------ */

static void on_message(void *ctx, struct channel *ch, const uint8_t *m, size_t n)
{
	(void)ctx, (void)ch, (void)m, (void)n;  /* the shore's receipts: unread */
}

static const struct channel_callbacks attacker_cb = {.on_message = on_message};

static void attacker_open(struct hostile *h)
{
	CU_ASSERT_FATAL(sodium_init() >= 0);
	struct attacker *a = calloc(1, sizeof *a);
	CU_ASSERT_FATAL(a != NULL);
	h->a = a;
	a->lp = loop_new(NULL, NULL);
	CU_ASSERT_FATAL(a->lp != NULL);

	char path[TU_PATH_MAX];
	struct keyfile_secret *vsk = NULL;
	struct keyfile_public spk;
	struct keyfile_diag d;
	snprintf(path, sizeof path, "%s/103.secret", h->dir);
	CU_ASSERT_FATAL(keyfile_secret_load(path, &vsk, &d) == 0);
	snprintf(path, sizeof path, "%s/shore.public", h->dir);
	CU_ASSERT_FATAL(keyfile_public_load(path, &spk, &d) == 0);
	CU_ASSERT_FATAL(bundle_keys_vessel(&a->keys, vsk->pub.kx_pk, vsk->kx_sk, spk.kx_pk) == 0);
	keyfile_secret_free(vsk);

	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", h->port);
	struct link *ln = NULL;
	CU_ASSERT_FATAL(link_open(&ln, spec, a->lp, NULL, NULL) == 0);
	struct channel_config cfg = {.rate_bps = 1000000, .rtt_ms = 50};
	CU_ASSERT_FATAL(channel_new(&a->ch, a->lp, ln, &cfg, &attacker_cb, a) == 0);
}

static void attacker_close(struct hostile *h)
{
	channel_free(h->a->ch);
	loop_free(h->a->lp);
	sodium_memzero(&h->a->keys, sizeof h->a->keys);
	free(h->a);
}

/* Seals body[0..n) as vessel `vessel`'s bundle number seq with key. */
static size_t seal(struct attacker *a, uint32_t vessel, const uint8_t *key, uint64_t seq,
		   const uint8_t *body, size_t n)
{
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim;
	seq_init(&s, seq);
	CU_ASSERT_FATAL(seq_reserve(&s, 1, &lim) == 0 && seq_confirm(&s, lim) == 0);
	CU_ASSERT_FATAL(seq_take(&s, &t) == 0);
	struct bundle_sender snd = {.vessel = vessel, .to_vessel = false, .tx_key = key};
	struct bundle_opts o = {.has_time = true, .base_time = (uint64_t)time(NULL)};
	ssize_t len = bundle_seal(&snd, &o, &t, body, n, a->out, sizeof a->out);
	CU_ASSERT_FATAL(len > 0);
	return (size_t)len;
}

/* A body with one crew section holding one TEXT. */
static size_t text_body(struct attacker *a, uint64_t msg_id, const char *text)
{
	uint64_t now = (uint64_t)time(NULL);
	body_writer_init(&a->bw, &a->work, a->body, sizeof a->body, now);
	CU_ASSERT_FATAL(body_section_begin(&a->bw, -1) == 0);
	struct record r = {.type = RECORD_TEXT};
	r.u.text = (struct record_text){.msg_id = msg_id, .ts = now, .crew_id = 1,
		.contact_ref = 1, .text = {(const uint8_t *)text, strlen(text)}};
	CU_ASSERT_FATAL(body_add(&a->bw, &r) == 0);
	CU_ASSERT_FATAL(body_section_end(&a->bw) == 0);
	return a->bw.len;
}

/* A body whose one section is 1 byte of method (raw deflate, no
 * dictionary) and a deflate stream of 8 MiB of zeros (about 8 KiB). */
static size_t bomb_body(struct attacker *a)
{
	static uint8_t zeros[1u << 16];
	uint8_t *blk = malloc(BUNDLE_PLAIN_MAX);
	CU_ASSERT_FATAL(blk != NULL);
	z_stream z = {0};
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
	size_t off = (size_t)varint_encode(blen, a->body, 8);
	memcpy(a->body + off, blk, blen);
	free(blk);
	return off + blen;
}

static void attacker_send(struct hostile *h, const uint8_t *p, size_t n)
{
	uint64_t id;
	CU_ASSERT_FATAL(channel_send(h->a->ch, p, n, &id) == 0);
}

/* ---- waiting on the shore's counters ------------------------------------------ */

struct counter_wait {
	struct hostile *h;
	const char *key;
	uint64_t want;
};

static uint64_t shore_counter(struct hostile *h, const char *key)
{
	const char *argv[] = {"status", NULL};
	int st = -1;
	char *json = NULL;
	uint64_t v = 0;
	if (e2e_call(h->shore_sock, &st, &json, argv) != 0 || st != 0 ||
	    !e2e_json_u64(json, NULL, key, &v))
		v = UINT64_MAX;
	free(json);
	return v;
}

/* Runs the attacker's loop a little, then asks the shore. */
static bool counter_reached(void *arg)
{
	struct counter_wait *w = arg;
	(void)loop_run_once(w->h->a->lp, 20);
	uint64_t v = shore_counter(w->h, w->key);
	return v != UINT64_MAX && v >= w->want;
}

static void expect_counter(struct hostile *h, const char *key, uint64_t want)
{
	struct counter_wait w = {h, key, want};
	if (!tu_wait_until(counter_reached, &w, WAIT_MS)) {
		fprintf(stderr, "hostile: counter %s is %" PRIu64 ", wanted %" PRIu64 "\n", key,
			shore_counter(h, key), want);
		CU_FAIL("the shore did not count the refusal");
	}
}

struct held_arg {
	struct hostile *h;
	uint64_t msg_id;
	size_t n;
};

static void count_id(const char *obj, const char *end, void *arg)
{
	struct held_arg *a = arg;
	uint64_t id = 0;
	if (e2e_json_u64(obj, end, "msg_id", &id) && id == a->msg_id)
		a->n++;
}

/* How many times the shore holds vessel 103's message id. */
static size_t shore_holds(struct hostile *h, uint64_t msg_id)
{
	const char *argv[] = {"messages", "list", "--vessel", "103", NULL};
	char *json = e2e_must(h->shore_sock, argv);
	struct held_arg a = {h, msg_id, 0};
	e2e_json_each(json, "messages", count_id, &a);
	free(json);
	return a.n;
}

static bool holds_once(void *arg)
{
	struct held_arg *a = arg;
	(void)loop_run_once(a->h->a->lp, 20);
	return shore_holds(a->h, a->msg_id) == 1;
}

static void expect_held(struct hostile *h, uint64_t msg_id)
{
	struct held_arg a = {h, msg_id, 0};
	CU_ASSERT(tu_wait_until(holds_once, &a, WAIT_MS));
}

/* ---- the honest vessel ------------------------------------------------------- */

static void honest_up(struct hostile *h)
{
	char conf[2048];
	snprintf(h->vconf, sizeof h->vconf, "%s/vesseld.conf", h->dir);
	snprintf(h->vsock, sizeof h->vsock, "%s/vesseld.sock", h->dir);
	snprintf(conf, sizeof conf,
		 "vessel_id = 101\nsecret_key = 101.secret\nshore_key = shore.public\n"
		 "database = vessel.db\nlink = tcp:127.0.0.1:%d\nlink_rate = 1000000\n"
		 "link_rtt = 50ms\ncontrol_socket = vesseld.sock\nlog_level = info\n", h->port);
	CU_ASSERT_FATAL(tu_write_file(h->vconf, conf, strlen(conf)) == 0);
	h->vesseld = e2e_start(h->dir, "vesseld", h->vconf, "vesseld", 1);
	const char *add[] = {"crew", "add", "Aung", "--lang", "mya", "--pin", PIN, NULL};
	free(e2e_must(h->vsock, add));
	const char *contact[] = {"contact", "add", "--crew", "1", "--pin", PIN,
				 "mailto:family@example.org", NULL};
	free(e2e_must(h->vsock, contact));
}

static void count_delivered(const char *obj, const char *end, void *arg)
{
	char state[32];
	if (e2e_json_str(obj, end, "state", state, sizeof state) && strcmp(state, "delivered") == 0)
		++*(size_t *)arg;
}

static bool honest_delivered(void *arg)
{
	struct hostile *h = arg;
	const char *argv[] = {"status", "--crew", "1", "--pin", PIN, NULL};
	int st = -1;
	char *json = NULL;
	size_t n = 0;
	if (e2e_call(h->vsock, &st, &json, argv) == 0 && st == 0)
		e2e_json_each(json, "messages", count_delivered, &n);
	free(json);
	return n == HONEST_TEXTS;
}

/* ---- the test ------------------------------------------------------------------ */

static int connect_idle(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_hostile_peers(void)
{
	struct hostile h = {0};
	h.dir = tu_tmpdir();
	CU_ASSERT_FATAL(h.dir != NULL);
	CU_ASSERT_FATAL(e2e_keygen(h.dir, "shore", "shore"));
	CU_ASSERT_FATAL(e2e_keygen(h.dir, "vessel", "101"));
	CU_ASSERT_FATAL(e2e_keygen(h.dir, "vessel", "103"));
	CU_ASSERT_FATAL(e2e_keygen(h.dir, "vessel", "999"));
	h.port = tu_free_tcp_port();
	CU_ASSERT_FATAL(h.port > 0);

	char conf[2048];
	snprintf(h.shore_conf, sizeof h.shore_conf, "%s/shored.conf", h.dir);
	snprintf(h.shore_sock, sizeof h.shore_sock, "%s/shored.sock", h.dir);
	snprintf(conf, sizeof conf,
		 "secret_key = shore.secret\ndatabase = shore.db\ncontrol_socket = shored.sock\n"
		 "spool_dir = spool\nlisten = tcp-listen:127.0.0.1:%d\nlink_rate = 1000000\n"
		 "link_rtt = 50ms\nmax_connections = 16\nauth_timeout = 2s\nlog_level = info\n",
		 h.port);
	CU_ASSERT_FATAL(tu_write_file(h.shore_conf, conf, strlen(conf)) == 0);
	h.shored = e2e_start(h.dir, "shored", h.shore_conf, "shored", 1);
	char key[TU_PATH_MAX];
	for (int i = 0; i < 2; i++) {
		const char *id = i ? "103" : "101";
		snprintf(key, sizeof key, "%s/%s.public", h.dir, id);
		const char *add[] = {"vessel", "add", id, "--name", "Sea Star", "--key", key, NULL};
		free(e2e_must(h.shore_sock, add));
	}

	/* A flood of idle connections first: the honest vessel must still get
	 * in (the shore drops connections that prove nothing in time). */
	int flood[FLOOD];
	for (int i = 0; i < FLOOD; i++)
		flood[i] = connect_idle(h.port);
	honest_up(&h);
	for (int i = 0; i < HONEST_TEXTS; i++) {
		char text[64];
		snprintf(text, sizeof text, "ပိုက်ဆံ မရသေးဘူး %d", i);
		const char *send[] = {"send", "--crew", "1", "--pin", PIN, "--to", "1", text, NULL};
		free(e2e_must(h.vsock, send));
	}

	/* Raw noise outside any frame, on its own connection. */
	int noise = connect_idle(h.port);
	CU_ASSERT(noise >= 0);
	uint8_t junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 131u + 7u);
	CU_ASSERT(write(noise, junk, sizeof junk) == (ssize_t)sizeof junk);
	close(noise);

	attacker_open(&h);
	struct attacker *a = h.a;

	/* Garbage where a bundle should be: version nibble 15. */
	memset(a->out, 0xf5, 64);
	attacker_send(&h, a->out, 64);
	expect_counter(&h, "malformed", 1);

	/* A vessel nobody registered. */
	size_t n = text_body(a, 1, "hello");
	n = seal(a, 999, a->keys.tx, 1, a->body, n);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "unknown_vessel", 1);

	/* A forgery: 103's header, somebody else's key. */
	uint8_t wrong[BUNDLE_KEY_BYTES];
	memset(wrong, 0x42, sizeof wrong);
	n = text_body(a, 1, "forged");
	n = seal(a, 103, wrong, 1, a->body, n);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "auth", 1);

	/* Genuine, then the same bytes again. */
	n = text_body(a, 1, "genuine");
	n = seal(a, 103, a->keys.tx, 10, a->body, n);
	attacker_send(&h, a->out, n);
	expect_held(&h, 1);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "replays", 1);
	CU_ASSERT_EQUAL(shore_holds(&h, 1), 1);

	/* A deflate bomb under a genuine seal: refused, and seq 11 unspent. */
	uint64_t malformed = shore_counter(&h, "malformed");
	n = bomb_body(a);
	n = seal(a, 103, a->keys.tx, 11, a->body, n);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "malformed", malformed + 1);
	n = text_body(a, 2, "after the bomb");
	n = seal(a, 103, a->keys.tx, 11, a->body, n);
	attacker_send(&h, a->out, n);
	expect_held(&h, 2);

	/* Far below the window. */
	n = text_body(a, 3, "jump ahead");
	n = seal(a, 103, a->keys.tx, 5000, a->body, n);
	attacker_send(&h, a->out, n);
	expect_held(&h, 3);
	n = text_body(a, 4, "too old");
	n = seal(a, 103, a->keys.tx, 12, a->body, n);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "window", 1);
	CU_ASSERT_EQUAL(shore_holds(&h, 4), 0);

	/* A suspended vessel is refused like an unknown one. */
	const char *susp[] = {"vessel", "suspend", "103", NULL};
	free(e2e_must(h.shore_sock, susp));
	uint64_t unknown = shore_counter(&h, "unknown_vessel");
	n = text_body(a, 5, "suspended");
	n = seal(a, 103, a->keys.tx, 5001, a->body, n);
	attacker_send(&h, a->out, n);
	expect_counter(&h, "unknown_vessel", unknown + 1);
	CU_ASSERT_EQUAL(shore_holds(&h, 5), 0);

	/* Through all this, the honest vessel's texts arrive. */
	CU_ASSERT(tu_wait_until_every(honest_delivered, &h, WAIT_MS, 200));
	for (int i = 0; i < FLOOD; i++)
		if (flood[i] >= 0)
			close(flood[i]);

	char logp[TU_PATH_MAX];
	snprintf(logp, sizeof logp, "%s/shored.1.log", h.dir);
	CU_ASSERT(tu_file_contains(logp, "999"));        /* the unknown vessel, named */

	attacker_close(&h);
	int st = -1;
	CU_ASSERT_EQUAL(tu_kill_wait_status(h.vesseld, SIGTERM, 20000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL(tu_kill_wait_status(h.shored, SIGTERM, 20000, &st), 0);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (CU_get_number_of_failures() == 0)
		tu_rmrf(h.dir);
	else
		fprintf(stderr, "hostile: logs kept in %s\n", h.dir);
	free(h.dir);
}

void suite_hostile(void);
void suite_hostile(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("hostile", NULL, NULL);
	CU_add_test(s, "garbage, forgeries, replays, a bomb, old and suspended bundles, "
		    "a connection flood: refused, counted; the honest vessel flows",
		    test_hostile_peers);
}
