/*
 * test_hostile.c — end to end: shored under hostile peers while an honest
 * vesseld keeps sending (issue 5 "Hostile peers", issue 8 "Hostile input",
 * DESIGN invariant 4).  Control-socket and configuration cases are in
 * test_hostile_ctl.c; the stage (shored + honest vesseld) is tests/lib/hostile.c.
 *
 * The attacker runs in this process: a real ARQ channel over a real TCP
 * connection to shored's tcp-listen port, sending hand-made bundles.  It
 * holds the keys of vessel 103 (stolen), of vessel 104 (registered, other
 * keys), an old key of 103 ("103old", not the registered one), and of 999
 * (never registered); 105 is registered and gets suspended.  Raw TCP
 * sockets send garbage below the frame layer.
 *
 * Each case is one CUnit test: the refusal must be counted in
 * `shorectl status` (or, below the bundle layer, logged for that very
 * connection), nothing hostile may be stored, a refused bundle must leave
 * its sequence number unspent where the bundle was genuine, and afterwards
 * hostile_after() proves both daemons run and an honest text reaches
 * "delivered".  Cases share one shored and one vesseld (suite init), run in
 * the order registered, and wait on conditions with deadlines; nothing
 * sleeps.
 */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zlib.h>

#include "common/channel.h"
#include "common/keyfile.h"
#include "common/link.h"
#include "common/loop.h"
#include "proto/body.h"
#include "proto/bundle.h"
#include "proto/frame.h"
#include "proto/varint.h"
#include "tests/lib/e2e.h"
#include "tests/lib/hostile.h"
#include "tests/lib/testutil.h"

#define FLOOD 40                /* idle connections; the shore allows 16 */
#define SECTIONS_TOO_MANY (BODY_SECTIONS_MAX + 10u)

struct attacker {
	struct loop *lp;
	struct channel *ch;
	struct bundle_keys k103, k104, k105, k103old, k999;
	uint64_t seq;                   /* 103's last sequence number used */
	uint64_t msg;                   /* 103's last message id used */
	uint8_t downlink[BUNDLE_BYTES_MAX];     /* last bundle the shore sent us */
	size_t downlink_len;
	struct compress_work work;
	struct body_writer bw;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint8_t out[BUNDLE_BYTES_MAX + 1024];
};

static struct hostile H;
static struct attacker *A;

/* ---- the attacker's channel ----------------------------------------------- */

static void on_message(void *ctx, struct channel *ch, const uint8_t *m, size_t n)
{
	struct attacker *a = ctx;
	(void)ch;
	if (n <= sizeof a->downlink) {          /* keep it: to reflect it back */
		memcpy(a->downlink, m, n);
		a->downlink_len = n;
	}
}

static const struct channel_callbacks attacker_cb = {.on_message = on_message};

static int keys_of(const char *id, struct bundle_keys *k)
{
	char path[TU_PATH_MAX];
	struct keyfile_secret *vsk = NULL;
	struct keyfile_public spk;
	struct keyfile_diag d;
	snprintf(path, sizeof path, "%s/%s.secret", H.dir, id);
	if (keyfile_secret_load(path, &vsk, &d) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/shore.public", H.dir);
	int rc = keyfile_public_load(path, &spk, &d) < 0 ||
		 bundle_keys_vessel(k, vsk->pub.kx_pk, vsk->kx_sk, spk.kx_pk) < 0 ? -1 : 0;
	keyfile_secret_free(vsk);
	return rc;
}

static int channel_to_shore(struct channel **ch, void *ctx)
{
	char spec[64];
	snprintf(spec, sizeof spec, "tcp:127.0.0.1:%d", H.port);
	struct link *ln = NULL;
	struct channel_config cfg = {.rate_bps = 1000000, .rtt_ms = 50};
	if (link_open(&ln, spec, A->lp, NULL, NULL) < 0)
		return -1;
	return channel_new(ch, A->lp, ln, &cfg, &attacker_cb, ctx) < 0 ? -1 : 0;
}

/* Seals body[0..n) into A->out: vessel, direction, key, seq, optional
 * signing key.  Returns the length (0 on failure). */
static size_t seal_ex(uint32_t vessel, bool to_vessel, const uint8_t *key, uint64_t seq,
		      const uint8_t *sign_sk, const uint8_t *body, size_t n)
{
	struct seq_state s;
	struct seq_ticket t;
	uint64_t lim;
	seq_init(&s, seq);
	if (seq_reserve(&s, 1, &lim) < 0 || seq_confirm(&s, lim) < 0 || seq_take(&s, &t) < 0)
		return 0;
	struct bundle_sender snd = {.vessel = vessel, .to_vessel = to_vessel, .tx_key = key,
				    .sign_sk = sign_sk};
	struct bundle_opts o = {.sign = sign_sk != NULL, .has_time = true,
				.base_time = (uint64_t)time(NULL)};
	ssize_t len = bundle_seal(&snd, &o, &t, body, n, A->out, sizeof A->out);
	return len > 0 ? (size_t)len : 0;
}

static size_t seal(uint32_t vessel, const uint8_t *key, uint64_t seq, const uint8_t *body, size_t n)
{
	size_t len = seal_ex(vessel, false, key, seq, NULL, body, n);
	CU_ASSERT_FATAL(len > 0);
	return len;
}

/* A body with one crew section holding one TEXT (crew 1, contact ref). */
static size_t text_body_to(uint64_t msg_id, uint32_t ref, const char *text)
{
	uint64_t now = (uint64_t)time(NULL);
	body_writer_init(&A->bw, &A->work, A->body, sizeof A->body, now);
	struct record r = {.type = RECORD_TEXT};
	r.u.text = (struct record_text){.msg_id = msg_id, .ts = now, .crew_id = 1,
		.contact_ref = ref, .text = {(const uint8_t *)text, strlen(text)}};
	if (body_section_begin(&A->bw, -1) < 0 || body_add(&A->bw, &r) < 0 ||
	    body_section_end(&A->bw) < 0)
		return 0;
	return A->bw.len;
}

static size_t text_body(uint64_t msg_id, const char *text)
{
	size_t n = text_body_to(msg_id, 1, text);
	CU_ASSERT_FATAL(n > 0);
	return n;
}

static void send_bytes(struct channel *ch, const uint8_t *p, size_t n)
{
	uint64_t id;
	CU_ASSERT_FATAL(channel_send(ch, p, n, &id) == 0);
}

/* ---- waiting on the shore ------------------------------------------------------ */

struct counter_wait {
	const char *key;
	uint64_t want;
};

static bool counter_reached(void *arg)
{
	struct counter_wait *w = arg;
	(void)loop_run_once(A->lp, HOSTILE_POLL_MS);
	uint64_t v = hostile_counter(&H, w->key);
	return v != UINT64_MAX && v >= w->want;
}

static bool wait_counter(const char *key, uint64_t want)
{
	struct counter_wait w = {key, want};
	if (tu_wait_until(counter_reached, &w, HOSTILE_WAIT_MS))
		return true;
	fprintf(stderr, "hostile: counter %s is %" PRIu64 ", wanted %" PRIu64 "\n", key,
		hostile_counter(&H, key), want);
	return false;
}

struct held_arg {
	uint32_t vessel;
	uint64_t msg_id;
	size_t n;
	char state[32];
};

static void count_id(const char *obj, const char *end, void *arg)
{
	struct held_arg *a = arg;
	uint64_t id = 0;
	if (e2e_json_u64(obj, end, "msg_id", &id) && id == a->msg_id) {
		a->n++;
		(void)e2e_json_str(obj, end, "state", a->state, sizeof a->state);
	}
}

/* How many times the shore holds (vessel, msg_id); its state in a->state. */
static size_t shore_holds_ex(struct held_arg *a)
{
	char v[16];
	snprintf(v, sizeof v, "%" PRIu32, a->vessel);
	const char *argv[] = {"messages", "list", "--vessel", v, NULL};
	int st = -1;
	char *json = NULL;
	a->n = 0;
	a->state[0] = '\0';
	if (hostile_call(H.shore_sock, argv, &st, NULL, &json) == 0 && st == 0)
		e2e_json_each(json, "messages", count_id, a);
	free(json);
	return a->n;
}

static size_t shore_holds(uint64_t msg_id)
{
	struct held_arg a = {103, msg_id, 0, ""};
	return shore_holds_ex(&a);
}

static bool holds_once(void *arg)
{
	struct held_arg *a = arg;
	(void)loop_run_once(A->lp, HOSTILE_POLL_MS);
	return shore_holds_ex(a) == 1;
}

static bool wait_held(uint32_t vessel, uint64_t msg_id)
{
	struct held_arg a = {vessel, msg_id, 0, ""};
	return tu_wait_until(holds_once, &a, HOSTILE_WAIT_MS);
}

static bool delivered_once(void *arg)
{
	struct held_arg *a = arg;
	(void)loop_run_once(A->lp, HOSTILE_POLL_MS);
	return shore_holds_ex(a) == 1 && strcmp(a->state, "delivered") == 0;
}

/* ---- case helpers ----------------------------------------------------------------- */

/* Sends p[0..n) on the attacker's channel and asserts that counter grows. */
static void expect_refused(const char *counter, const uint8_t *p, size_t n)
{
	uint64_t before = hostile_counter(&H, counter);
	CU_ASSERT_FATAL(before != UINT64_MAX);
	send_bytes(A->ch, p, n);
	CU_ASSERT(wait_counter(counter, before + 1));
}

/* A genuine bundle of 103 with one text, with the next seq and msg id;
 * asserts it is held once.  Returns its msg id. */
static uint64_t genuine_text(const char *text)
{
	uint64_t msg = ++A->msg, seq = ++A->seq;
	size_t n = text_body(msg, text);
	n = seal(103, A->k103.tx, seq, A->body, n);
	send_bytes(A->ch, A->out, n);
	CU_ASSERT(wait_held(103, msg));
	return msg;
}

/* After a refused genuine bundle with (seq, msg): the same numbers in a
 * good bundle are accepted, so the refusal spent nothing. */
static void expect_unspent(uint64_t seq, uint64_t msg)
{
	size_t n = text_body(msg, "the same numbers, now well formed");
	n = seal(103, A->k103.tx, seq, A->body, n);
	send_bytes(A->ch, A->out, n);
	CU_ASSERT(wait_held(103, msg));
}

/* Seals a hand-made body with 103's key and the next numbers; expects it
 * refused as malformed, nothing held, and its numbers unspent. */
static void expect_malformed_body(size_t blen)
{
	uint64_t msg = ++A->msg, seq = ++A->seq;
	size_t n = seal(103, A->k103.tx, seq, A->body, blen);
	expect_refused("malformed", A->out, n);
	CU_ASSERT_EQUAL(shore_holds(msg), 0);
	expect_unspent(seq, msg);
}

/* body = one section: [varint len][method STORED][records]. */
static size_t stored_section(size_t off, const uint8_t *recs, size_t n)
{
	ssize_t p = varint_encode(1 + n, A->body + off, VARINT_MAX_BYTES);
	CU_ASSERT_FATAL(p > 0);
	A->body[off + (size_t)p] = COMPRESS_METHOD_STORED;
	if (n)
		memcpy(A->body + off + (size_t)p + 1, recs, n);
	return off + (size_t)p + 1 + n;
}

/* ---- suite setup -------------------------------------------------------------------- */

static bool first_bundle_held(void *arg)
{
	(void)arg;
	(void)loop_run_once(A->lp, HOSTILE_POLL_MS);
	return shore_holds(1) == 1;
}

static int suite_up(void)
{
	if (sodium_init() < 0 || hostile_up(&H) != 0)
		return -1;
	if (hostile_vessel_key(&H, "103", 103) || hostile_vessel_key(&H, "104", 104) ||
	    hostile_vessel_key(&H, "105", 105) || hostile_vessel_key(&H, "103old", 0) ||
	    hostile_vessel_key(&H, "999", 0))
		return -1;
	A = calloc(1, sizeof *A);
	if (!A || !(A->lp = loop_new(NULL, NULL)) || keys_of("103", &A->k103) ||
	    keys_of("104", &A->k104) || keys_of("105", &A->k105) ||
	    keys_of("103old", &A->k103old) || keys_of("999", &A->k999) ||
	    channel_to_shore(&A->ch, A) != 0)
		return -1;
	/* Authenticate the attacker's connection as 103 at once, so the
	 * shore's auth_timeout does not close it between cases. */
	A->msg = A->seq = 1;
	size_t n = text_body_to(1, 1, "hello from 103");
	n = n ? seal_ex(103, false, A->k103.tx, 1, NULL, A->body, n) : 0;
	uint64_t id;
	if (!n || channel_send(A->ch, A->out, n, &id) != 0 ||
	    !tu_wait_until(first_bundle_held, NULL, HOSTILE_WAIT_MS)) {
		fprintf(stderr, "hostile setup: the attacker's first genuine bundle was not held\n");
		return -1;
	}
	return 0;
}

static int suite_down(void)
{
	if (A) {
		channel_free(A->ch);
		loop_free(A->lp);
		sodium_memzero(A, sizeof *A);
		free(A);
		A = NULL;
	}
	return hostile_down(&H);
}

/* ---- below the bundle: raw bytes on a fresh TCP connection ------------------------ */

static int connect_raw(int *local_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)H.port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    (local_port && getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)) {
		close(fd);
		return -1;
	}
	if (local_port)
		*local_port = ntohs(sa.sin_port);
	return fd;
}

/* Writes raw bytes on a new connection and expects shored to log a bad
 * frame for that connection with the given reason ("" = any). */
static void expect_bad_frame(const uint8_t *p, size_t n, const char *reason)
{
	off_t from = tu_file_size(H.shore_log);
	int port = 0;
	int fd = connect_raw(&port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, p, n) == (ssize_t)n);
	char needle[160];
	snprintf(needle, sizeof needle, "tcp:127.0.0.1:%d: bad frame dropped (%s", port, reason);
	if (!tu_wait_log_from(H.shore_log, needle, from, HOSTILE_WAIT_MS)) {
		fprintf(stderr, "hostile: no log line \"%s\"\n", needle);
		CU_FAIL("the bad frame was not logged");
	}
	close(fd);
	hostile_after(&H);
}

static void test_frame_random_bytes(void)
{
	static uint8_t junk[4096];
	randombytes_buf_deterministic(junk, sizeof junk, (const uint8_t[32]){7});
	junk[sizeof junk - 1] = FRAME_DELIM;   /* ends a frame for sure */
	expect_bad_frame(junk, sizeof junk, "");
}

/* content || crc, COBS-encoded, delimited: a well-formed frame when
 * crc_xor is 0. */
static size_t make_frame(uint8_t header, uint32_t crc_xor, uint8_t *out, size_t cap)
{
	uint8_t content[64 + FRAME_CRC_BYTES];
	content[0] = header;
	for (size_t i = 1; i < 64; i++)
		content[i] = (uint8_t)(i * 37u);
	uint32_t crc = crc32c(0, content, 64) ^ crc_xor;
	for (unsigned i = 0; i < FRAME_CRC_BYTES; i++)
		content[64 + i] = (uint8_t)(crc >> (8 * i));
	out[0] = FRAME_DELIM;
	ssize_t n = frame_cobs_encode(content, sizeof content, out + 1, cap - 2);
	CU_ASSERT_FATAL(n > 0);
	out[1 + n] = FRAME_DELIM;
	return (size_t)n + 2;
}

static void test_frame_bad_crc(void)
{
	uint8_t f[FRAME_ENCODED_MAX];
	size_t n = make_frame(frame_header(1), 0x00010000u, f, sizeof f);
	expect_bad_frame(f, n, "checksum mismatch");
}

static void test_frame_bad_version(void)
{
	uint8_t f[FRAME_ENCODED_MAX];
	uint8_t hdr = (uint8_t)((7u << FRAME_VERSION_SHIFT) | 1u);   /* version 7 */
	size_t n = make_frame(hdr, 0, f, sizeof f);
	expect_bad_frame(f, n, "unsupported version");
}

static void test_frame_over_max(void)
{
	size_t n = FRAME_RAW_MAX + 100;
	uint8_t *f = malloc(n);
	CU_ASSERT_FATAL(f != NULL);
	memset(f, 0x55, n);
	f[0] = FRAME_DELIM;
	f[n - 1] = FRAME_DELIM;
	expect_bad_frame(f, n, "too big");
	free(f);
}

/* ---- bundles that do not parse ------------------------------------------------------ */

static void test_bundle_garbage(void)
{
	uint8_t g[64];
	memset(g, 0xf5, sizeof g);              /* version nibble 15 */
	expect_refused("malformed", g, sizeof g);
	hostile_after(&H);
}

static void test_bundle_over_max(void)
{
	size_t n = BUNDLE_BYTES_MAX + 100;
	uint8_t *b = calloc(1, n);
	CU_ASSERT_FATAL(b != NULL);
	size_t len = seal(103, A->k103.tx, A->seq + 1, A->body, text_body(A->msg + 1, "x"));
	memcpy(b, A->out, len);                 /* a genuine header, then padding */
	expect_refused("malformed", b, n);
	free(b);
	hostile_after(&H);
}

/* ---- truncated genuine bundles: each cut point class ------------------------------- */

/* Seals a genuine bundle with the next numbers, sends its first `keep(len,
 * hdr_len)` bytes, expects `counter` to grow, then the whole bundle to be
 * accepted (the cut one spent nothing). */
static void truncated(const char *counter, size_t (*keep)(size_t len, size_t hdr))
{
	uint64_t msg = ++A->msg, seq = ++A->seq;
	size_t n = seal(103, A->k103.tx, seq, A->body,
			text_body(msg, "cut short: Qx7 vLm2 pZ9k Wr4t Jc8n Hy3b Fs6d Gu1e Ko5a"));
	struct bundle_hdr h;
	CU_ASSERT_FATAL(bundle_header_parse(A->out, n, &h) == 0);
	CU_ASSERT_FATAL(n - h.hdr_len - BUNDLE_TAG_BYTES >= 2 * BUNDLE_TAG_BYTES);
	size_t k = keep(n, h.hdr_len);
	CU_ASSERT_FATAL(k > 0 && k < n);
	uint8_t full[BUNDLE_BYTES_MAX];
	memcpy(full, A->out, n);
	expect_refused(counter, full, k);
	CU_ASSERT_EQUAL(shore_holds(msg), 0);
	send_bytes(A->ch, full, n);
	CU_ASSERT(wait_held(103, msg));
	hostile_after(&H);
}

static size_t cut_in_header(size_t len, size_t hdr) { (void)len; return hdr - 2; }  /* inside base time */
static size_t cut_before_tag(size_t len, size_t hdr) { (void)len; return hdr + BUNDLE_TAG_BYTES - 1; }
/* Keeps more than a tag's worth of ciphertext, so the cut bytes parse. */
static size_t cut_in_body(size_t len, size_t hdr) { (void)hdr; return len - BUNDLE_TAG_BYTES - 8; }
static size_t cut_in_tag(size_t len, size_t hdr) { (void)hdr; return len - 5; }

static void test_trunc_header(void) { truncated("malformed", cut_in_header); }
static void test_trunc_before_tag(void) { truncated("malformed", cut_before_tag); }
static void test_trunc_ciphertext(void) { truncated("auth", cut_in_body); }
static void test_trunc_tag(void) { truncated("auth", cut_in_tag); }

/* ---- forgeries, wrong keys, wrong direction -------------------------------------------- */

/* A genuine bundle with the next numbers, altered by flip(); expects an
 * auth refusal, nothing held, numbers unspent. */
static void forged(void (*alter)(uint8_t *b, size_t n, const struct bundle_hdr *h))
{
	uint64_t msg = ++A->msg, seq = ++A->seq;
	size_t n = seal(103, A->k103.tx, seq, A->body, text_body(msg, "forged"));
	struct bundle_hdr h;
	CU_ASSERT_FATAL(bundle_header_parse(A->out, n, &h) == 0);
	alter(A->out, n, &h);
	expect_refused("auth", A->out, n);
	CU_ASSERT_EQUAL(shore_holds(msg), 0);
	expect_unspent(seq, msg);
	hostile_after(&H);
}

static void flip_tag(uint8_t *b, size_t n, const struct bundle_hdr *h) { (void)h; b[n - 1] ^= 0x01; }
static void flip_body(uint8_t *b, size_t n, const struct bundle_hdr *h) { (void)n; b[h->hdr_len + 2] ^= 0x80; }
/* The sequence number in the header (associated data) changed: seq and
 * msg ids stay below 128 in this suite, so seq is the header's byte 2. */
static void bump_seq(uint8_t *b, size_t n, const struct bundle_hdr *h)
{
	(void)n;
	CU_ASSERT_FATAL(h->seq < 64 && b[2] == h->seq);
	b[2] = (uint8_t)(h->seq + 60);
}

static void test_forged_tag(void) { forged(flip_tag); }
static void test_forged_ciphertext(void) { forged(flip_body); }
static void test_forged_header(void) { forged(bump_seq); }

/* Seals with the given (vessel in header, key, direction, signer) and
 * expects an auth refusal; the text's id must not be held by 103. */
static void expect_auth_refusal(uint32_t vessel, const uint8_t *key, bool to_vessel,
				const uint8_t *sign_sk)
{
	uint64_t msg = A->msg + 1;
	size_t n = text_body(msg, "not mine to send");
	n = seal_ex(vessel, to_vessel, key, A->seq + 1, sign_sk, A->body, n);
	CU_ASSERT_FATAL(n > 0);
	expect_refused("auth", A->out, n);
	CU_ASSERT_EQUAL(shore_holds(msg), 0);
	hostile_after(&H);
}

static void test_forged_random_key(void)
{
	uint8_t wrong[BUNDLE_KEY_BYTES];
	memset(wrong, 0x42, sizeof wrong);
	expect_auth_refusal(103, wrong, false, NULL);
}

/* Signed with an Ed25519 key the shore never registered (and the shore
 * takes no stand-alone signed bundles on a session). */
static void test_forged_signature(void)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	crypto_sign_keypair(pk, sk);
	expect_auth_refusal(103, A->k103.tx, false, sk);
	sodium_memzero(sk, sizeof sk);
}

static void test_other_vessels_key(void)       /* 104 seals as 103 */
{
	expect_auth_refusal(103, A->k104.tx, false, NULL);
}

static void test_own_key_other_header(void)    /* 103 claims to be 104 */
{
	struct held_arg a = {104, A->msg + 1, 0, ""};
	expect_auth_refusal(104, A->k103.tx, false, NULL);
	CU_ASSERT_EQUAL(shore_holds_ex(&a), 0);
}

static void test_rotated_key(void)             /* 103's previous key */
{
	expect_auth_refusal(103, A->k103old.tx, false, NULL);
}

static void test_wrong_direction(void)         /* 103's key, the downlink bit set */
{
	expect_auth_refusal(103, A->k103.tx, true, NULL);
}

/* A genuine downlink bundle of the shore, reflected back to it. */
static void test_reflected_downlink(void)
{
	CU_ASSERT_FATAL(A->downlink_len > 0);
	uint8_t b[BUNDLE_BYTES_MAX];
	size_t n = A->downlink_len;
	memcpy(b, A->downlink, n);
	expect_refused("auth", b, n);
	hostile_after(&H);
}

/* ---- registry ------------------------------------------------------------------------ */

static void test_unknown_vessel(void)
{
	off_t from = tu_file_size(H.shore_log);
	size_t n = seal(999, A->k999.tx, 1, A->body, text_body(1, "hello"));
	expect_refused("unknown_vessel", A->out, n);
	CU_ASSERT(tu_wait_log_from(H.shore_log, "vessel 999 is not registered", from, HOSTILE_WAIT_MS));
	hostile_after(&H);
}

static void test_suspended_vessel(void)
{
	const char *susp[] = {"vessel", "suspend", "105", NULL};
	free(e2e_must(H.shore_sock, susp));
	off_t from = tu_file_size(H.shore_log);
	size_t n = seal(105, A->k105.tx, 1, A->body, text_body(1, "suspended"));
	expect_refused("unknown_vessel", A->out, n);
	struct held_arg a = {105, 1, 0, ""};
	CU_ASSERT_EQUAL(shore_holds_ex(&a), 0);
	CU_ASSERT(tu_wait_log_from(H.shore_log, "vessel 105 is suspended", from, HOSTILE_WAIT_MS));
	hostile_after(&H);
}

/* ---- replays --------------------------------------------------------------------------- */

static void test_replay(void)
{
	uint64_t msg = ++A->msg, seq = ++A->seq;
	size_t n = seal(103, A->k103.tx, seq, A->body, text_body(msg, "genuine"));
	uint8_t b[BUNDLE_BYTES_MAX];
	memcpy(b, A->out, n);
	send_bytes(A->ch, b, n);
	CU_ASSERT(wait_held(103, msg));
	/* The exact bytes again: the shore re-sends receipts, stores nothing. */
	expect_refused("replays", b, n);
	CU_ASSERT_EQUAL(shore_holds(msg), 1);
	hostile_after(&H);
}

static void test_replay_below_window(void)
{
	uint64_t old_seq = A->seq + 1;          /* never used */
	A->seq += 5000;                         /* jump far ahead, genuinely */
	genuine_text("jump ahead");
	uint64_t msg = ++A->msg;
	size_t n = seal(103, A->k103.tx, old_seq, A->body, text_body(msg, "too old"));
	expect_refused("window", A->out, n);
	CU_ASSERT_EQUAL(shore_holds(msg), 0);
	hostile_after(&H);
}

/* ---- bodies: bombs, lengths, varints, UTF-8 --------------------------------------------- */

/* One section: method raw deflate, 8 MiB of zeros (about 8 KiB). */
static size_t bomb_body(void)
{
	static uint8_t zeros[1u << 16];
	uint8_t *blk = malloc(BUNDLE_PLAIN_MAX);
	CU_ASSERT_FATAL(blk != NULL);
	z_stream z = {0};
	CU_ASSERT_FATAL(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
	blk[0] = COMPRESS_METHOD_DEFLATE;
	z.next_out = blk + 1;
	z.avail_out = BUNDLE_PLAIN_MAX - 1 - VARINT_MAX_BYTES;
	for (int i = 0; i < 128; i++) {
		z.next_in = zeros;
		z.avail_in = sizeof zeros;
		CU_ASSERT_FATAL(deflate(&z, i == 127 ? Z_FINISH : Z_NO_FLUSH) != Z_STREAM_ERROR);
	}
	size_t blen = 1 + z.total_out;
	deflateEnd(&z);
	size_t off = (size_t)varint_encode(blen, A->body, VARINT_MAX_BYTES);
	memcpy(A->body + off, blk, blen);
	free(blk);
	return off + blen;
}

static void test_deflate_bomb(void)
{
	expect_malformed_body(bomb_body());
	hostile_after(&H);
}

/* A TEXT record whose length field says 16383 bytes; 4 follow. */
static void test_record_length_past_block(void)
{
	const uint8_t recs[] = {RECORD_TEXT, 0xff, 0x7f, 1, 2, 3, 4};
	expect_malformed_body(stored_section(0, recs, sizeof recs));
	hostile_after(&H);
}

/* A record length of 2^20, over RECORD_BODY_MAX. */
static void test_record_length_over_max(void)
{
	const uint8_t recs[] = {RECORD_TEXT, 0x80, 0x80, 0x40, 1, 2, 3, 4};
	expect_malformed_body(stored_section(0, recs, sizeof recs));
	hostile_after(&H);
}

/* A record type varint of 11 bytes. */
static void test_varint_11_bytes_record(void)
{
	uint8_t recs[16];
	memset(recs, 0x81, 10);
	recs[10] = 0x01;
	recs[11] = 0;
	expect_malformed_body(stored_section(0, recs, 12));
	hostile_after(&H);
}

/* A section length varint of 10 bytes (value over 2^63) first. */
static void test_varint_10_bytes_section(void)
{
	memset(A->body, 0xff, 9);
	A->body[9] = 0x01;
	memset(A->body + 10, 0x41, 32);
	expect_malformed_body(42);
	hostile_after(&H);
}

/* A section length of 5000 with 20 bytes after it. */
static void test_section_past_end(void)
{
	size_t p = (size_t)varint_encode(5000, A->body, VARINT_MAX_BYTES);
	A->body[p] = COMPRESS_METHOD_STORED;
	memset(A->body + p + 1, 0, 19);
	expect_malformed_body(p + 20);
	hostile_after(&H);
}

/* More sections than BODY_SECTIONS_MAX (each an empty stored block). */
static void test_too_many_sections(void)
{
	size_t off = 0;
	for (unsigned i = 0; i < SECTIONS_TOO_MANY; i++)
		off = stored_section(off, NULL, 0);
	expect_malformed_body(off);
	hostile_after(&H);
}

/* A TEXT record of an otherwise genuine bundle whose transformed text
 * quotes an overlong (invalid) UTF-8 form of '/'. */
static void test_text_invalid_utf8(void)
{
	const uint8_t bad[] = {'o', 'k', ' ', SCRIPT_TAG_QUOTE, 0xc0, 0xaf};
	uint64_t now = (uint64_t)time(NULL);
	struct record r = {.type = RECORD_TEXT};
	r.u.text = (struct record_text){.msg_id = A->msg + 1, .ts = now, .crew_id = 1,
		.contact_ref = 1, .text = {bad, sizeof bad}};
	uint8_t recs[64];
	ssize_t rn = record_encode_base(&r, now, recs, sizeof recs);
	CU_ASSERT_FATAL(rn > 0);
	/* seal_ex uses time(NULL) as base; a second's skew only shifts ts. */
	expect_malformed_body(stored_section(0, recs, (size_t)rn));
	hostile_after(&H);
}

/* ---- crafted CONTACT records: SQL, paths, control characters ----------------------------- */

/* One genuine bundle of 103: CONTACT (crew 1, ref, address, name) and a
 * TEXT to it.  Returns the text's msg id once the shore holds it. */
static uint64_t crafted_contact(uint32_t ref, const char *address, const char *name)
{
	uint64_t now = (uint64_t)time(NULL);
	uint64_t cid = ++A->msg, tid = ++A->msg, seq = ++A->seq;
	body_writer_init(&A->bw, &A->work, A->body, sizeof A->body, now);
	struct record c = {.type = RECORD_CONTACT}, t = {.type = RECORD_TEXT};
	c.u.contact = (struct record_contact){.msg_id = cid, .ts = now, .crew_id = 1,
		.contact_ref = ref, .channel = RECORD_CHANNEL_EMAIL,
		.address = {(const uint8_t *)address, strlen(address)},
		.name = {(const uint8_t *)name, strlen(name)}};
	t.u.text = (struct record_text){.msg_id = tid, .ts = now, .crew_id = 1, .contact_ref = ref,
		.text = {(const uint8_t *)"to a strange address", 20}};
	CU_ASSERT_FATAL(body_section_begin(&A->bw, -1) == 0);
	CU_ASSERT_FATAL(body_add(&A->bw, &c) == 0);
	CU_ASSERT_FATAL(body_add(&A->bw, &t) == 0);
	CU_ASSERT_FATAL(body_section_end(&A->bw) == 0);
	size_t n = seal(103, A->k103.tx, seq, A->body, A->bw.len);
	send_bytes(A->ch, A->out, n);
	CU_ASSERT(wait_held(103, tid));
	return tid;
}

/* The text reaches the spool, as <spool>/103/<id>.json and nowhere else;
 * the json names the address as given (escaped). */
static void expect_spooled(uint64_t tid, const char *to_json)
{
	struct held_arg a = {103, tid, 0, ""};
	CU_ASSERT(tu_wait_until(delivered_once, &a, HOSTILE_WAIT_MS));
	char path[TU_PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/103/%" PRIu64 ".json", H.spool, tid);
	CU_ASSERT(tu_file_contains(path, to_json));
	/* The spool holds only vessel folders. */
	DIR *d = opendir(H.spool);
	CU_ASSERT_FATAL(d != NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			CU_ASSERT(strspn(de->d_name, "0123456789") == strlen(de->d_name));
	closedir(d);
}

/* The shore lists the contact; json and text are returned (caller frees). */
static void contact_listing(char **text, char **json)
{
	const char *argv[] = {"contact", "list", "--vessel", "103", NULL};
	int st = -1;
	CU_ASSERT_EQUAL(hostile_call(H.shore_sock, argv, &st, text, json), 0);
	CU_ASSERT_EQUAL(st, 0);
}

static void test_contact_sql(void)
{
	const char *evil = "'; DROP TABLE messages; --";
	uint64_t before = hostile_counter(&H, "messages");
	uint64_t tid = crafted_contact(2, evil, "Robert'); DROP TABLE contacts;--");
	expect_spooled(tid, "\"to\":\"'; DROP TABLE messages; --\"");
	char *text = NULL, *json = NULL;
	contact_listing(&text, &json);
	CU_ASSERT(json && strstr(json, "Robert'); DROP TABLE contacts;--") != NULL);
	free(text);
	free(json);
	CU_ASSERT(hostile_counter(&H, "messages") > before);     /* the table is there */
	hostile_after(&H);
}

static void test_contact_paths(void)
{
	uint64_t tid = crafted_contact(3, "../../etc/passwd", "../../../tmp/x");
	expect_spooled(tid, "\"to\":\"../../etc/passwd\"");
	tid = crafted_contact(4, "mailto:a@b/../../x", "/etc/shadow");
	expect_spooled(tid, "\"to\":\"mailto:a@b/../../x\"");
	char p[TU_PATH_MAX + 16];
	struct stat st;
	snprintf(p, sizeof p, "%s/x", H.dir);
	CU_ASSERT(stat(p, &st) != 0);
	snprintf(p, sizeof p, "%s/etc", H.dir);
	CU_ASSERT(stat(p, &st) != 0);
	hostile_after(&H);
}

static const char ctrl_addr[] = "mailto:a@b.example\r\nBcc: evil@example.org";
static const char ctrl_name[] = "\x1b[2J\x1b]0;pwned\x07Mum\r\nshored: ready";

/* Control characters reach neither the JSON nor the log as raw bytes. */
static void test_contact_control_json_log(void)
{
	off_t from = tu_file_size(H.shore_log);
	uint64_t tid = crafted_contact(5, ctrl_addr, ctrl_name);
	expect_spooled(tid, "\"to\":\"mailto:a@b.example\\r\\nBcc: evil@example.org\"");
	char *text = NULL, *json = NULL;
	contact_listing(&text, &json);
	CU_ASSERT(json && strstr(json, "\\r\\nBcc: evil@example.org") != NULL);
	CU_ASSERT(!hostile_has_control(json));
	free(text);
	free(json);
	/* Nothing the vessel wrote became a log line of its own. */
	uint8_t *log = NULL;
	size_t len = 0;
	CU_ASSERT_FATAL(tu_read_file(H.shore_log, &log, &len) == 0);
	const char *tail = (const char *)log + from;
	CU_ASSERT(strstr(tail, "\nBcc: evil") == NULL);
	CU_ASSERT(strstr(tail, "\nshored: ready") == NULL);
	CU_ASSERT(memchr(tail, 0x1b, len - (size_t)from) == NULL);
	free(log);
	hostile_after(&H);
}

/* The human text of `shorectl contact list` shows a vessel-supplied
 * address and name with their control characters as '?', so escape
 * sequences from a crafted CONTACT never reach the operator's terminal. */
static void test_contact_control_operator_text(void)
{
	crafted_contact(6, ctrl_addr, ctrl_name);
	char *text = NULL, *json = NULL;
	contact_listing(&text, &json);
	CU_ASSERT(text && !hostile_has_control(text));
	free(text);
	free(json);
	hostile_after(&H);
}

/* ---- a connection flood on tcp-listen ----------------------------------------------------- */

struct eof_arg {
	const int *fds;
	size_t n;
};

/* Every flood connection has been closed by the shore (whatever it sent
 * before closing is read and dropped). */
static bool all_closed(void *arg)
{
	struct eof_arg *a = arg;
	for (size_t i = 0; i < a->n; i++) {
		if (a->fds[i] < 0)
			continue;
		char buf[4096];
		ssize_t r;
		while ((r = recv(a->fds[i], buf, sizeof buf, MSG_DONTWAIT)) > 0)
			;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;           /* still open */
	}
	return true;
}

static bool flood_vessel_held(void *arg)
{
	(void)arg;
	(void)loop_run_once(A->lp, HOSTILE_POLL_MS);
	struct held_arg a = {104, 1, 0, ""};
	return shore_holds_ex(&a) == 1;
}

static void test_connection_flood(void)
{
	uint64_t evicted = hostile_counter(&H, "connections_evicted");
	int flood[FLOOD];
	for (int i = 0; i < FLOOD; i++)
		flood[i] = connect_raw(NULL);
	/* A vessel connecting now still gets in: vessel 104 on a new connection. */
	struct channel *ch = NULL;
	CU_ASSERT_FATAL(channel_to_shore(&ch, A) == 0);
	size_t n = seal(104, A->k104.tx, 1, A->body, text_body(1, "through the flood"));
	send_bytes(ch, A->out, n);
	CU_ASSERT(tu_wait_until(flood_vessel_held, NULL, HOSTILE_WAIT_MS));
	hostile_after(&H);
	/* The shore closes what proved nothing (evicted or timed out), and counts it. */
	struct eof_arg ea = {flood, FLOOD};
	CU_ASSERT(tu_wait_until(all_closed, &ea, HOSTILE_WAIT_MS));
	CU_ASSERT(hostile_counter(&H, "connections_evicted") >= evicted + FLOOD);
	for (int i = 0; i < FLOOD; i++)
		if (flood[i] >= 0)
			close(flood[i]);
	channel_free(ch);
}

/* ---- registration ---------------------------------------------------------------------------- */

void suite_hostile(void);
void suite_hostile(void)
{
	if (getenv("LIFELINE_NO_E2E"))   /* make valgrind: no child processes */
		return;
	CU_pSuite s = CU_add_suite("hostile", suite_up, suite_down);
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{"frame: 4 KiB of random bytes", test_frame_random_bytes},
		{"frame: valid COBS, bad CRC", test_frame_bad_crc},
		{"frame: good CRC, unknown frame version", test_frame_bad_version},
		{"frame: a run over the frame maximum", test_frame_over_max},
		{"bundle: garbage header", test_bundle_garbage},
		{"bundle: over BUNDLE_BYTES_MAX", test_bundle_over_max},
		{"truncated inside the header", test_trunc_header},
		{"truncated before a whole tag", test_trunc_before_tag},
		{"truncated inside the ciphertext", test_trunc_ciphertext},
		{"truncated inside the tag", test_trunc_tag},
		{"forged: tag bit flipped", test_forged_tag},
		{"forged: ciphertext bit flipped", test_forged_ciphertext},
		{"forged: header sequence changed", test_forged_header},
		{"forged: sealed with a random key", test_forged_random_key},
		{"forged: signed with an unknown Ed25519 key", test_forged_signature},
		{"wrong key: vessel 104's key under 103's header", test_other_vessels_key},
		{"wrong key: 103's key under 104's header", test_own_key_other_header},
		{"wrong key: 103's old (rotated) key", test_rotated_key},
		{"wrong direction bit", test_wrong_direction},
		{"a shore downlink bundle reflected back", test_reflected_downlink},
		{"unknown vessel", test_unknown_vessel},
		{"suspended vessel", test_suspended_vessel},
		{"replay: the same bytes again", test_replay},
		{"replay: below the window", test_replay_below_window},
		{"deflate bomb", test_deflate_bomb},
		{"record length past its block", test_record_length_past_block},
		{"record length over the maximum", test_record_length_over_max},
		{"varint of 11 bytes (record type)", test_varint_11_bytes_record},
		{"varint of 10 bytes over 2^63 (section length)", test_varint_10_bytes_section},
		{"section length past the end of the body", test_section_past_end},
		{"more sections than allowed", test_too_many_sections},
		{"invalid UTF-8 in a TEXT of a genuine bundle", test_text_invalid_utf8},
		{"CONTACT: SQL metacharacters", test_contact_sql},
		{"CONTACT: path separators", test_contact_paths},
		{"CONTACT: control characters stay out of json and log", test_contact_control_json_log},
		{"CONTACT: control characters stay out of shorectl's text", test_contact_control_operator_text},
		{"connection flood on tcp-listen", test_connection_flood},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CU_add_test(s, cases[i].name, cases[i].fn);
}
