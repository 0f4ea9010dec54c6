/*
 * lifeline-bench — what Lifeline costs on the air, measured through the real
 * encoder, and how fast the shore takes it in.  A benchmark, not a test: it
 * prints figures and never judges them (beyond refusing a wrong result).
 *
 *   lifeline-bench bytes --corpus FILE.jsonl [--batch N | --lone BYTES]
 *   lifeline-bench text  --corpus FILE.jsonl [--batch N | --lone BYTES]
 *                        [--dict ID|NAME|auto]
 *
 * Each corpus line is one JSON string (one message).  Messages become TEXT
 * records of one crew member, go into a bundle body (script transform, raw
 * deflate with the chosen preset dictionary: proto/body.c), are sealed
 * (XChaCha20-Poly1305 with keys from crypto_kx: proto/bundle.c), carried by
 * the ARQ (proto/arq.c) and framed for a stream link (proto/frame.c) with a
 * leading delimiter, as on a link that was idle.  onair_bytes counts every
 * framed byte from vessel to shore after the ARQ handshake; the shore's
 * acknowledgements travel the other way and are printed as ack_bytes.
 *
 *   --batch N  consecutive messages, N to a bundle, one crew member's batch
 *              (one compression section, as vesseld batches one person's
 *              backlog); figures are totals.
 *   --lone B   every message whose UTF-8 length is within 10 bytes of B,
 *              each alone in its own bundle on an idle link; onair_bytes is
 *              then the mean per message.
 *
 * deflate_ratio is plain raw deflate (level 9, no dictionary, no transform)
 * of the same batches' texts concatenated, in the same run, for comparison.
 * The output is one line:
 *   messages=… text_bytes=… body_bytes=… bundle_bytes=… onair_bytes=… ack_bytes=…
 *   ratio=… deflate_ratio=… dict=ID(name.version)
 * body_bytes and bundle_bytes are totals of the compressed plaintext bodies
 * and of the sealed bundles: the steps between text and air.  ID is the
 * method byte most sections carried.
 *
 * text mode measures the text alone (PROTOCOL.md 7.4), over the same
 * messages and groups, a batch's messages joined with "\n" (counted in
 * text_bytes).  Per group, through the project's own functions:
 *   deflate            raw deflate level 9 of the UTF-8, no method byte;
 *   transform          script_encode() alone (proto/script.h), no method byte;
 *   transform_deflate  compress_block(COMPRESS_METHOD_DEFLATE) of the
 *                      transformed text: method byte, stored fallback;
 *   dict_ratio         compress_block() of the transformed text with the
 *                      dictionary compress_pick_dict() picks for the UTF-8
 *                      (or --dict: an id such as 0x11, a name such as mya,
 *                      or auto), as proto/body.c does for a section.
 * Each figure is output bytes / text_bytes summed over all groups:
 *   messages=… text_bytes=… deflate=… transform=… transform_deflate=…
 *   dict_ratio=… dict=ID(name.version)
 * where ID is the dictionary picked for most groups.  A group over
 * COMPRESS_INPUT_MAX after the transform is an encoder failure (exit 1).
 *
 * ingest mode measures the shore's intake (shore/ingest.h): authenticate,
 * decrypt, inflate, dedup and commit, one SQLite transaction (one fsync)
 * per bundle, as shored does, without sockets:
 *   lifeline-bench ingest --vessels N --messages M [--per-bundle K]
 *                         [--db PATH] [--corpus FILE.jsonl]
 * Untimed first: a new database (PATH, which must not exist, kept
 * afterwards; else shore.db in a mkdtemp directory under $TMPDIR or /tmp,
 * removed at the end), a shore key and N vessels with their own keys
 * (keyfile_generate(), in memory) registered through the store; then
 * ceil(M/K) bundles of K texts (the last one holds the rest), round robin
 * over the vessels, each from one of a vessel's crew members, sequence
 * numbers rising per vessel.  Texts: the corpus lines in order (wrapping),
 * or built-in news home in eight languages of the region (about 45 .. 200
 * UTF-8 bytes), a crew member keeping to one, with a figure changing per message.
 * Timed (CLOCK_MONOTONIC): only the ingest_bundle() calls, one process,
 * one connection.  The first bundle of each vessel also loads it from the
 * store, as after a shored start.  The output is one line:
 *   vessels=… messages=… bundles=… per_bundle=… elapsed_s=… bundles_per_s=…
 *   msgs_per_s=…
 * Every bundle must be accepted and every message stored once; otherwise
 * the outcomes are printed and the exit status is 1.  Most of the time is
 * fsync (on tmpfs the same run is about three times as fast): the figure
 * depends on the disk holding the database and on what else writes to it.
 *
 * Exit status: 0, 1 on an unreadable corpus, text that is not UTF-8, an
 * encoder failure or a bundle ingest did not accept (a bug), 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/keyfile.h"
#include "common/log.h"

#include "proto/arq.h"
#include "proto/body.h"
#include "proto/bundle.h"
#include "proto/compress.h"
#include "proto/dict.h"
#include "proto/frame.h"
#include "proto/script.h"
#include "proto/varint.h"
#include "shore/ingest.h"
#include "shore/store.h"

#define LINE_MAX_BYTES (1u << 20)
#define BATCH_MAX 1000u
#define LONE_SLACK 10u               /* --lone B takes lengths B-10 .. B+10 */
#define BENCH_VESSEL 1042u
#define BENCH_TIME 1795000000u       /* a Unix time in late 2026 */
#define BENCH_MSG_GAP_S 60u          /* messages a minute apart */
#define BENCH_CREW 7u                /* the crew member of bytes mode */
#define BENCH_RATE_BPS 2400u
#define BENCH_RTT_MS 1500u
#define BENCH_STEP_MS 10000u         /* fake-clock step: far beyond pacing */

struct msg {
	uint8_t *p;
	size_t n;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: lifeline-bench bytes --corpus FILE.jsonl [--batch N | --lone BYTES]\n"
		"       lifeline-bench text --corpus FILE.jsonl [--batch N | --lone BYTES]\n"
		"                           [--dict ID|NAME|auto]\n"
		"       lifeline-bench ingest --vessels N --messages M [--per-bundle K (10)]\n"
		"                             [--db PATH] [--corpus FILE.jsonl]\n"
		"  FILE.jsonl holds one JSON string per line (e.g. ../shared/corpus/sms_en_dev.jsonl).\n");
}

/* ---- corpus ------------------------------------------------------------ */

static size_t put_utf8(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Decodes one JSON string line into UTF-8; -1 if it is not one. */
static int json_string(const char *s, struct msg *m)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s++ != '"')
		return -1;
	size_t cap = strlen(s) + 1;
	uint8_t *o = malloc(cap);
	size_t n = 0;
	if (!o)
		return -1;
	for (;;) {
		char c = *s++;
		if (c == '\0')
			goto bad;
		if (c == '"')
			break;
		if (c != '\\') {
			o[n++] = (uint8_t)c;
			continue;
		}
		c = *s++;
		switch (c) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (hex4(s, &cp) < 0)
				goto bad;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo >= 0xe000)
					goto bad;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto bad;
			}
			if (n + 4 > cap)
				goto bad;
			n += put_utf8(cp, o + n);
			break;
		}
		default:
			goto bad;
		}
	}
	m->p = o;
	m->n = n;
	return 0;
bad:
	free(o);
	return -1;
}

static struct msg *load(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "lifeline-bench: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *line = malloc(LINE_MAX_BYTES);
	size_t cap = 1024, n = 0, skipped = 0;
	struct msg *v = malloc(cap * sizeof *v);
	if (!line || !v) {
		fprintf(stderr, "lifeline-bench: out of memory\n");
		exit(1);
	}
	while (fgets(line, LINE_MAX_BYTES, f)) {
		struct msg m;
		if (json_string(line, &m) < 0 || m.n == 0 || m.n > BODY_TEXT_UTF8_MAX) {
			if (m.n == 0 || m.n > BODY_TEXT_UTF8_MAX)
				skipped++;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof *v);
			if (!v) {
				fprintf(stderr, "lifeline-bench: out of memory\n");
				exit(1);
			}
		}
		v[n++] = m;
	}
	fclose(f);
	free(line);
	if (skipped)
		fprintf(stderr, "lifeline-bench: %zu empty or over-long lines skipped\n", skipped);
	*count = n;
	return v;
}

/* ---- the encoder path ----------------------------------------------------- */

/* One vessel's sending side: its id, session keys (tx seals the uplink),
 * sequence numbers and message ids. */
struct vessel_tx {
	uint32_t id;
	struct bundle_keys keys;
	struct seq_state seq;
	uint64_t next_id;
};

/* Builds bodies and seals them, with totals over every bundle sealed.
 * Large (a body writer): lives on the heap. */
struct sealer {
	struct compress_work work;
	struct body_writer bw;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint64_t body_bytes, bundle_bytes;
	uint64_t dict_use[256];      /* method byte of each bundle's section */
};

struct bench {
	struct sealer sl;
	struct vessel_tx v;
	uint8_t bundle[BUNDLE_BYTES_MAX];
	struct arq *tx, *rx;
	uint64_t now;
	uint64_t onair, acks;
	bool counting;
};

static void ignore_deliver(void *ctx, const uint8_t *m, size_t n) { (void)ctx; (void)m; (void)n; }
static void ignore_acked(void *ctx, uint64_t id) { (void)ctx; (void)id; }
static void ignore_reset(void *ctx, enum arq_reset_reason r) { (void)ctx; (void)r; }

static void die(const char *what, int rc)
{
	fprintf(stderr, "lifeline-bench: %s: %s\n", what, err_str(rc));
	exit(1);
}

/* A vessel that has never sent: sequence numbers from 0, as vesseld's
 * first start. */
static void vessel_tx_init(struct vessel_tx *v, uint32_t id, const uint8_t vpk[BUNDLE_KX_PK_BYTES],
			   const uint8_t vsk[BUNDLE_KX_SK_BYTES],
			   const uint8_t spk[BUNDLE_KX_PK_BYTES])
{
	int rc = bundle_keys_vessel(&v->keys, vpk, vsk, spk);
	if (rc < 0)
		die("keys", rc);
	v->id = id;
	v->next_id = 0;
	seq_init(&v->seq, 0);
}

/* Seals msgs[0..n), texts of one crew member of v, as one bundle of one
 * section into out[0..cap); returns its length. */
static size_t seal_texts(struct sealer *s, struct vessel_tx *v, uint32_t crew,
			 const struct msg *msgs, size_t n, uint8_t *out, size_t cap)
{
	uint64_t base = BENCH_TIME + v->next_id * BENCH_MSG_GAP_S;
	/* One message: absolute time inside the compressed record is cheaper
	 * than a base time in the clear header; several: the base pays. */
	bool has_time = n > 1;
	body_writer_init(&s->bw, &s->work, s->body, sizeof s->body, has_time ? base : 0);
	int rc = body_section_begin(&s->bw, -1);
	if (rc < 0)
		die("body_section_begin", rc);
	for (size_t i = 0; i < n; i++) {
		struct record r = {.type = RECORD_TEXT};
		r.u.text.msg_id = ++v->next_id;
		r.u.text.ts = BENCH_TIME + v->next_id * BENCH_MSG_GAP_S;
		r.u.text.crew_id = crew;
		r.u.text.contact_ref = 1;
		r.u.text.text.ptr = msgs[i].p;
		r.u.text.text.len = msgs[i].n;
		if ((rc = body_add(&s->bw, &r)) < 0)
			die("body_add", rc);
	}
	if ((rc = body_section_end(&s->bw)) < 0)
		die("body_section_end", rc);
	/* The section's method byte follows its length varint. */
	uint64_t slen;
	ssize_t vl = varint_decode(s->body, s->bw.len, &slen);
	if (vl > 0)
		s->dict_use[s->body[vl]]++;

	if (seq_available(&v->seq) == 0) {
		uint64_t lim;
		if ((rc = seq_reserve(&v->seq, 1024, &lim)) < 0 || (rc = seq_confirm(&v->seq, lim)) < 0)
			die("seq", rc);
	}
	struct seq_ticket t;
	if ((rc = seq_take(&v->seq, &t)) < 0)
		die("seq_take", rc);
	struct bundle_sender snd = {.vessel = v->id, .to_vessel = false,
				    .tx_key = v->keys.tx, .sign_sk = NULL};
	struct bundle_opts o = {.sign = false, .has_time = has_time, .base_time = base};
	ssize_t blen = bundle_seal(&snd, &o, &t, s->body, s->bw.len, out, cap);
	if (blen < 0)
		die("bundle_seal", (int)blen);
	s->body_bytes += s->bw.len;
	s->bundle_bytes += (uint64_t)blen;
	return (size_t)blen;
}

/* Runs both ARQ ends to quiet, counting framed bytes each way. */
static void drain(struct bench *b)
{
	uint8_t c[FRAME_CONTENT_MAX], f[FRAME_ENCODED_MAX];
	bool lead = true;
	for (int rounds = 0; rounds < 100000; rounds++) {
		bool moved = false;
		ssize_t n;
		while ((n = arq_output(b->tx, b->now, c, sizeof c)) > 0) {
			ssize_t fl = frame_encode(c, (size_t)n, lead ? FRAME_LEAD : 0, f, sizeof f);
			if (fl < 0)
				die("frame_encode", (int)fl);
			lead = false;
			if (b->counting)
				b->onair += (uint64_t)fl;
			if (arq_input(b->rx, c, (size_t)n, b->now) < 0)
				die("arq_input", ERR_INVAL);
			moved = true;
		}
		while ((n = arq_output(b->rx, b->now, c, sizeof c)) > 0) {
			ssize_t fl = frame_encode(c, (size_t)n, 0, f, sizeof f);
			if (fl < 0)
				die("frame_encode", (int)fl);
			if (b->counting)
				b->acks += (uint64_t)fl;
			if (arq_input(b->tx, c, (size_t)n, b->now) < 0)
				die("arq_input", ERR_INVAL);
			moved = true;
		}
		if (!moved && arq_next_wakeup(b->tx, b->now) == ARQ_NO_WAKEUP &&
		    arq_next_wakeup(b->rx, b->now) == ARQ_NO_WAKEUP)
			return;
		b->now += BENCH_STEP_MS;
	}
	die("ARQ did not settle", ERR_STATE);
}

static void setup(struct bench *b)
{
	uint8_t vpk[crypto_kx_PUBLICKEYBYTES], vsk[crypto_kx_SECRETKEYBYTES];
	uint8_t spk[crypto_kx_PUBLICKEYBYTES], ssk[crypto_kx_SECRETKEYBYTES];
	crypto_kx_keypair(vpk, vsk);
	crypto_kx_keypair(spk, ssk);
	vessel_tx_init(&b->v, BENCH_VESSEL, vpk, vsk, spk);
	sodium_memzero(vsk, sizeof vsk);
	sodium_memzero(ssk, sizeof ssk);

	static const struct arq_callbacks cb = {ignore_deliver, ignore_acked, ignore_reset};
	int rc;
	struct arq_config cfg = {.rate_bps = BENCH_RATE_BPS, .rtt_ms = BENCH_RTT_MS,
				 .frame_overhead = FRAME_OVERHEAD_SMALL, .epoch = 1};
	b->tx = calloc(1, arq_size());
	b->rx = calloc(1, arq_size());
	if (!b->tx || !b->rx)
		die("arq", ERR_NOMEM);
	if ((rc = arq_init(b->tx, &cfg, &cb, b, 0)) < 0)
		die("arq_init", rc);
	cfg.epoch = 2;
	if ((rc = arq_init(b->rx, &cfg, &cb, b, 0)) < 0)
		die("arq_init", rc);
	/* Handshake once, outside the count: a link is set up once. */
	uint64_t id;
	static const uint8_t hello = 0;
	if ((rc = arq_send(b->tx, &hello, 1, &id)) < 0)
		die("arq_send", rc);
	drain(b);
	b->counting = true;
}

/* One bundle of msgs[0..n) from one crew member, through the ARQ. */
static void send_bundle(struct bench *b, const struct msg *msgs, size_t n)
{
	size_t len = seal_texts(&b->sl, &b->v, BENCH_CREW, msgs, n, b->bundle, sizeof b->bundle);
	uint64_t id;
	int rc = arq_send(b->tx, b->bundle, len, &id);
	if (rc < 0)
		die("arq_send", rc);
	drain(b);
}

/* ---- groups of messages --------------------------------------------------- */

/* msgs[0..n) end to end, separated by sep if sep is not 0; *len gets the
 * length.  The caller frees the result. */
static uint8_t *join(const struct msg *msgs, size_t n, char sep, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += msgs[i].n + (sep && i > 0);
	uint8_t *p = malloc(total ? total : 1);
	if (!p)
		die("join", ERR_NOMEM);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (sep && i > 0)
			p[off++] = (uint8_t)sep;
		memcpy(p + off, msgs[i].p, msgs[i].n);
		off += msgs[i].n;
	}
	*len = total;
	return p;
}

/* Raw deflate (level 9, no dictionary, no method byte) length of p[0..n). */
static size_t deflate_len(const uint8_t *p, size_t n)
{
	size_t cap = deflateBound(NULL, (uLong)n);
	uint8_t *out = malloc(cap);
	if (!out)
		die("deflate", ERR_NOMEM);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2", ERR_CRYPTO);
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("deflate", ERR_FULL);
	size_t n_out = z.total_out;
	deflateEnd(&z);
	free(out);
	return n_out;
}

typedef void group_fn(void *ctx, const struct msg *msgs, size_t n);

/* Calls fn for every group the options select: each message of length
 * lone +- LONE_SLACK alone if lone, else consecutive runs of batch.
 * Returns the number of messages passed. */
static uint64_t for_each_group(const struct msg *msgs, size_t count, unsigned long batch,
			       unsigned long lone, group_fn *fn, void *ctx)
{
	uint64_t messages = 0;
	if (lone) {
		for (size_t i = 0; i < count; i++) {
			if (msgs[i].n + LONE_SLACK < lone || msgs[i].n > lone + LONE_SLACK)
				continue;
			fn(ctx, &msgs[i], 1);
			messages++;
		}
		return messages;
	}
	for (size_t i = 0; i < count; i += batch) {
		size_t n = count - i < batch ? count - i : batch;
		fn(ctx, &msgs[i], n);
		messages += n;
	}
	return messages;
}

/* "0x11(mya.1)", "0x01(deflate)", "0x00(stored)". */
static const char *dict_label(unsigned id, char *buf, size_t cap)
{
	const struct dict *d = dict_find((uint8_t)id);
	if (d)
		snprintf(buf, cap, "0x%02x(%s.%u)", id, d->name, d->version);
	else
		snprintf(buf, cap, "0x%02x(%s)", id,
			 id == COMPRESS_METHOD_STORED ? "stored" :
			 id == COMPRESS_METHOD_DEFLATE ? "deflate" : "unknown");
	return buf;
}

/* The id counted most often (ties: the lowest). */
static unsigned most_used(const uint64_t use[256])
{
	unsigned best = 0;
	for (unsigned d = 1; d < 256; d++)
		if (use[d] > use[best])
			best = d;
	return best;
}

/* ---- bytes mode ------------------------------------------------------------ */

struct bytes_run {
	struct bench *b;
	uint64_t text, deflated;
};

static void bytes_group(void *ctx, const struct msg *msgs, size_t n)
{
	struct bytes_run *r = ctx;
	size_t len;
	uint8_t *t = join(msgs, n, 0, &len);
	send_bundle(r->b, msgs, n);
	r->text += len;
	r->deflated += deflate_len(t, len);
	free(t);
}

static int run_bytes(const struct msg *msgs, size_t count, unsigned long batch, unsigned long lone)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "lifeline-bench: libsodium failed to initialise\n");
		return 1;
	}
	struct bench *b = calloc(1, sizeof *b);
	if (!b)
		die("bench", ERR_NOMEM);
	setup(b);
	struct bytes_run r = {.b = b};
	uint64_t messages = for_each_group(msgs, count, batch, lone, bytes_group, &r);
	if (messages == 0) {
		fprintf(stderr, "lifeline-bench: no message in the corpus matches\n");
		return 1;
	}
	char label[64];
	double onair = lone ? (double)b->onair / (double)messages : (double)b->onair;
	double acks = lone ? (double)b->acks / (double)messages : (double)b->acks;
	printf("messages=%" PRIu64 " text_bytes=%" PRIu64 " body_bytes=%" PRIu64
	       " bundle_bytes=%" PRIu64 " onair_bytes=%.1f ack_bytes=%.1f "
	       "ratio=%.3f deflate_ratio=%.3f dict=%s\n",
	       messages, r.text, b->sl.body_bytes, b->sl.bundle_bytes, onair, acks,
	       (double)b->onair / (double)r.text, (double)r.deflated / (double)r.text,
	       dict_label(most_used(b->sl.dict_use), label, sizeof label));
	free(b->tx);
	free(b->rx);
	free(b);
	return 0;
}

/* ---- text mode ------------------------------------------------------------- */

#define DICT_AUTO (-1)

struct text_run {
	struct compress_work work;   /* large: the run lives on the heap */
	int dict;                    /* DICT_AUTO or a method byte */
	uint64_t text, deflated, transformed, t_deflated, dicted;
	uint64_t picks[256];
};

static void text_group(void *ctx, const struct msg *msgs, size_t n)
{
	struct text_run *r = ctx;
	size_t len;
	uint8_t *t = join(msgs, n, '\n', &len);
	size_t ecap = SCRIPT_ENCODE_MAX(len);
	uint8_t *enc = malloc(ecap ? ecap : 1), *blk = malloc(ecap + COMPRESS_HEADER_BYTES);
	if (!enc || !blk)
		die("text", ERR_NOMEM);
	ssize_t e = script_encode(t, len, enc, ecap);
	if (e < 0)
		die("script_encode", (int)e);
	int dict = r->dict;
	if (dict == DICT_AUTO && (dict = compress_pick_dict(t, len)) < 0)
		die("compress_pick_dict", dict);
	ssize_t td = compress_block(&r->work, COMPRESS_METHOD_DEFLATE, enc, (size_t)e,
				    blk, ecap + COMPRESS_HEADER_BYTES);
	if (td < 0)
		die("compress_block", (int)td);
	ssize_t dd = compress_block(&r->work, (uint8_t)dict, enc, (size_t)e,
				    blk, ecap + COMPRESS_HEADER_BYTES);
	if (dd < 0)
		die("compress_block", (int)dd);
	r->text += len;
	r->deflated += deflate_len(t, len);
	r->transformed += (uint64_t)e;
	r->t_deflated += (uint64_t)td;
	r->dicted += (uint64_t)dd;
	r->picks[dict]++;
	free(blk);
	free(enc);
	free(t);
}

/* --dict: "auto", a number (0x11, 17) or a shipped dictionary's name:
 * "mya.1" for one version, "mya" for the newest; DICT_AUTO, the method
 * byte, or ERR_NOTFOUND. */
static int parse_dict(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return DICT_AUTO;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (end != s && *end == '\0' && errno == 0)
		return v <= 0xff && (v == COMPRESS_METHOD_DEFLATE || dict_find((uint8_t)v))
		       ? (int)v : ERR_NOTFOUND;
	const struct dict *best = NULL;
	for (size_t i = 0; i < dict_shipped_count; i++) {
		const struct dict *d = &dict_shipped[i];
		char full[64];
		snprintf(full, sizeof full, "%s.%u", d->name, d->version);
		if (strcmp(s, full) == 0)
			return d->id;
		if (strcmp(s, d->name) == 0 && (!best || d->version > best->version))
			best = d;
	}
	return best ? best->id : ERR_NOTFOUND;
}

static int run_text(const struct msg *msgs, size_t count, unsigned long batch,
		    unsigned long lone, int dict)
{
	struct text_run *r = calloc(1, sizeof *r);
	if (!r)
		die("text", ERR_NOMEM);
	r->dict = dict;
	uint64_t messages = for_each_group(msgs, count, batch, lone, text_group, r);
	if (messages == 0) {
		fprintf(stderr, "lifeline-bench: no message in the corpus matches\n");
		free(r);
		return 1;
	}
	char label[64];
	double t = (double)r->text;
	printf("messages=%" PRIu64 " text_bytes=%" PRIu64 " deflate=%.3f transform=%.3f"
	       " transform_deflate=%.3f dict_ratio=%.3f dict=%s\n",
	       messages, r->text, (double)r->deflated / t, (double)r->transformed / t,
	       (double)r->t_deflated / t, (double)r->dicted / t,
	       dict_label(most_used(r->picks), label, sizeof label));
	free(r);
	return 0;
}

/* ---- ingest mode ------------------------------------------------------------ */

#define INGEST_PER_BUNDLE_DEFAULT 10u
#define INGEST_PER_BUNDLE_MAX 100u
#define INGEST_VESSELS_MAX 100000u
#define INGEST_MESSAGES_MAX 100000000u
#define INGEST_CREW 4u                /* crew members writing on each vessel */
#define INGEST_KG_MIN 10u             /* the built-in texts' varying figure */
#define INGEST_KG_SPAN 990u
#define INGEST_KG_STEP 37u
#define INGEST_MORE_EVERY 3u          /* every third built-in text is longer */
#define NS_PER_S 1000000000.0

/* The built-in texts: a crew member's news home in one language, with a
 * figure that changes per message and now and then one sentence more
 * (about 45 .. 200 UTF-8 bytes). */
static const struct phrase {
	const char *head, *tail, *more;
} phrases[] = {
	{"Catch was good today, about ", " kg of tuna. Back in port Friday if the weather holds.",
	 " Love to the kids, tell Mum I called."},
	{"วันนี้จับปลาได้ประมาณ ", " กิโล สบายดีทุกคน", " คิดถึงนะ ฝากบอกแม่ด้วย"},
	{"ကျွန်တော် နေကောင်းပါတယ်။ ဒီနေ့ ငါး ", " ကီလို ရတယ်။", " အမေ့ကို နှုတ်ဆက်ပေးပါ။"},
	{"ខ្ញុំសុខសប្បាយ។ ថ្ងៃនេះចាប់ត្រីបាន ", " គីឡូ។", " នឹកកូនៗណាស់។"},
	{"ຂ້ອຍສະບາຍດີ. ມື້ນີ້ຫາປາໄດ້ ", " ກິໂລ.", " ຄິດຮອດເດີ້."},
	{"Anh vẫn khỏe. Hôm nay bắt được ", " ký cá.", " Nhớ em và các con nhiều lắm."},
	{"Saya sehat. Hari ini dapat ", " kg ikan. Pulang minggu depan kalau cuaca baik.",
	 " Salam untuk ibu."},
	{"Okay lang ako. Nakahuli kami ng ", " kilo ngayon.", " Ingat kayo diyan, mahal ko kayo."},
};
#define NPHRASES (sizeof phrases / sizeof phrases[0])

struct ingest_opts {
	unsigned long vessels, messages, per_bundle;
	const char *db;                 /* NULL: a temporary directory */
};

/* Every sealed bundle, end to end. */
struct sealed_set {
	uint8_t *bytes;
	size_t len, cap;
	size_t *off;                    /* bundle i: bytes[off[i] .. off[i + 1]) */
	size_t count;
};

static void sealed_add(struct sealed_set *ss, const uint8_t *b, size_t n)
{
	if (ss->len + n > ss->cap) {
		size_t cap = ss->cap ? ss->cap : 1u << 20;
		while (cap < ss->len + n)
			cap *= 2;
		uint8_t *p = realloc(ss->bytes, cap);
		if (!p)
			die("bundles", ERR_NOMEM);
		ss->bytes = p;
		ss->cap = cap;
	}
	memcpy(ss->bytes + ss->len, b, n);
	ss->len += n;
	ss->off[++ss->count] = ss->len;
}

/* Built-in text i in language lang into buf (BODY_TEXT_UTF8_MAX bytes). */
static struct msg phrase_text(size_t lang, uint64_t i, uint8_t *buf)
{
	const struct phrase *p = &phrases[lang % NPHRASES];
	int n = snprintf((char *)buf, BODY_TEXT_UTF8_MAX, "%s%" PRIu64 "%s%s", p->head,
			 INGEST_KG_MIN + i * INGEST_KG_STEP % INGEST_KG_SPAN, p->tail,
			 i % INGEST_MORE_EVERY == 0 ? p->more : "");
	if (n < 0 || (size_t)n >= BODY_TEXT_UTF8_MAX)
		die("built-in text", ERR_TOOBIG);
	return (struct msg){buf, (size_t)n};
}

/* Registers count vessels with fresh keys in st (one transaction)
 * and returns their sending sides, keyed to shore. */
static struct vessel_tx *vessels_register(struct store *st, const struct keyfile_secret *shore,
					  unsigned long count)
{
	struct vessel_tx *v = calloc(count, sizeof *v);
	if (!v)
		die("vessels", ERR_NOMEM);
	int rc = db_begin(store_db(st));
	if (rc < 0)
		die("db_begin", rc);
	for (unsigned long i = 0; i < count; i++) {
		uint32_t id = BENCH_VESSEL + (uint32_t)i;
		char name[KEYFILE_ID_MAX + 1];
		snprintf(name, sizeof name, "bench-%" PRIu32, id);
		struct keyfile_secret *k;
		if ((rc = keyfile_generate(KEYFILE_ROLE_VESSEL, name, &k)) < 0)
			die("keyfile_generate", rc);
		if ((rc = store_vessel_add(st, id, name, k->pub.sign_pk, k->pub.kx_pk,
					   (int64_t)BENCH_TIME)) < 0)
			die("store_vessel_add", rc);
		vessel_tx_init(&v[i], id, k->pub.kx_pk, k->kx_sk, shore->pub.kx_pk);
		keyfile_secret_free(k);
	}
	if ((rc = db_commit(store_db(st))) < 0)
		die("db_commit", rc);
	return v;
}

/* Seals every bundle before the clock starts: bundle b goes to vessel
 * b mod N (round robin) from one of its crew members, whose language picks
 * the built-in texts; corpus lines are taken in order, wrapping. */
static void build_bundles(struct sealed_set *ss, struct vessel_tx *v,
			  const struct ingest_opts *io, const struct msg *corpus, size_t ncorpus)
{
	struct sealer *s = calloc(1, sizeof *s);
	struct msg *batch = calloc(io->per_bundle, sizeof *batch);
	uint8_t *texts = malloc(io->per_bundle * BODY_TEXT_UTF8_MAX);
	uint8_t *out = malloc(BUNDLE_BYTES_MAX);
	size_t nbundles = (io->messages + io->per_bundle - 1) / io->per_bundle;
	ss->off = calloc(nbundles + 1, sizeof *ss->off);
	if (!s || !batch || !texts || !out || !ss->off)
		die("bundles", ERR_NOMEM);
	uint64_t i = 0;
	for (size_t b = 0; b < nbundles; b++) {
		struct vessel_tx *vt = &v[b % io->vessels];
		uint32_t crew = 1 + (uint32_t)(b / io->vessels % INGEST_CREW);
		size_t n = io->messages - i < io->per_bundle ? (size_t)(io->messages - i) : io->per_bundle;
		for (size_t j = 0; j < n; j++, i++)
			batch[j] = corpus ? corpus[i % ncorpus]
					  : phrase_text(vt->id + crew, i, texts + j * BODY_TEXT_UTF8_MAX);
		sealed_add(ss, out, seal_texts(s, vt, crew, batch, n, out, BUNDLE_BYTES_MAX));
	}
	free(out);
	free(texts);
	free(batch);
	free(s);
}

/* Removes the database files of path and the directory dir holding them. */
static void remove_db(const char *dir, const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffix[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			fprintf(stderr, "lifeline-bench: cannot remove %s: %s\n", p, strerror(errno));
	}
	if (rmdir(dir) < 0)
		fprintf(stderr, "lifeline-bench: cannot remove %s: %s\n", dir, strerror(errno));
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / NS_PER_S;
}

static int run_ingest(const struct ingest_opts *io, const struct msg *corpus, size_t ncorpus)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "lifeline-bench: libsodium failed to initialise\n");
		return 1;
	}
	log_set_level(LOG_LVL_WARN);    /* refusals and alerts still show */
	char dir[PATH_MAX] = "", path[PATH_MAX];
	if (io->db) {
		if (access(io->db, F_OK) == 0) {
			fprintf(stderr, "lifeline-bench: %s exists; --db wants a new file\n", io->db);
			return 1;
		}
		snprintf(path, sizeof path, "%s", io->db);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/lifeline-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "lifeline-bench: cannot make %s: %s\n", dir, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof path, "%s/shore.db", dir);
	}
	struct store *st;
	struct db_open_error why = {0};
	int rc = store_open(path, &st, &why);
	if (rc < 0) {
		fprintf(stderr, "lifeline-bench: %s: %s\n", path, why.text[0] ? why.text : err_str(rc));
		if (!io->db)
			remove_db(dir, path);
		return 1;
	}
	struct keyfile_secret *shore;
	if ((rc = keyfile_generate(KEYFILE_ROLE_SHORE, "shore", &shore)) < 0)
		die("keyfile_generate", rc);
	struct vessel_tx *v = vessels_register(st, shore, io->vessels);
	struct sealed_set ss = {0};
	build_bundles(&ss, v, io, corpus, ncorpus);
	/* Received after the last message was written. */
	uint64_t last = 0;
	for (unsigned long i = 0; i < io->vessels; i++)
		if (v[i].next_id > last)
			last = v[i].next_id;
	int64_t now = (int64_t)(BENCH_TIME + (last + 1) * BENCH_MSG_GAP_S);

	struct ingest *in;
	if ((rc = ingest_new(&in, st, shore)) < 0)
		die("ingest_new", rc);
	uint64_t outcome[INGEST_RESULT_COUNT_] = {0}, stored = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t b = 0; b < ss.count; b++) {
		struct ingest_outcome o;
		ingest_bundle(in, ss.bytes + ss.off[b], ss.off[b + 1] - ss.off[b], now, &o);
		outcome[o.result]++;
		stored += o.stored;
	}
	double elapsed = seconds_since(&t0);

	int status = 0;
	if (outcome[INGEST_ACCEPTED] != ss.count || stored != io->messages) {
		fprintf(stderr, "lifeline-bench: %" PRIu64 " of %zu bundles accepted, %" PRIu64
			" of %lu messages stored; outcomes:", outcome[INGEST_ACCEPTED], ss.count,
			stored, io->messages);
		for (unsigned r = 0; r < INGEST_RESULT_COUNT_; r++)
			if (outcome[r])
				fprintf(stderr, " %s=%" PRIu64, ingest_result_name((enum ingest_result)r),
					outcome[r]);
		fputc('\n', stderr);
		status = 1;
	} else {
		printf("vessels=%lu messages=%lu bundles=%zu per_bundle=%lu elapsed_s=%.3f"
		       " bundles_per_s=%.0f msgs_per_s=%.0f\n", io->vessels, io->messages, ss.count,
		       io->per_bundle, elapsed, (double)ss.count / elapsed,
		       (double)io->messages / elapsed);
	}
	if ((rc = ingest_stats_flush(in)) < 0)
		die("ingest_stats_flush", rc);
	ingest_free(in);
	store_close(st);
	keyfile_secret_free(shore);
	free(v);
	free(ss.bytes);
	free(ss.off);
	if (!io->db)
		remove_db(dir, path);
	return status;
}

/* The value of option opt: an integer in 1..max, or exits with status 2. */
static unsigned long count_arg(const char *opt, const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end || errno || *s == '-' || v == 0 || v > max) {
		fprintf(stderr, "lifeline-bench: %s takes 1..%lu\n", opt, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *corpus = NULL;
	unsigned long batch = 0, lone = 0;
	int dict = DICT_AUTO;
	struct ingest_opts io = {.per_bundle = INGEST_PER_BUNDLE_DEFAULT};
	enum { MODE_BYTES, MODE_TEXT, MODE_INGEST } mode;

	if (argc >= 2 && strcmp(argv[1], "bytes") == 0) {
		mode = MODE_BYTES;
	} else if (argc >= 2 && strcmp(argv[1], "text") == 0) {
		mode = MODE_TEXT;
	} else if (argc >= 2 && strcmp(argv[1], "ingest") == 0) {
		mode = MODE_INGEST;
	} else {
		usage();
		return 2;
	}
	bool ingest = mode == MODE_INGEST;
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i];
		if (i + 1 >= argc) {
			usage();
			return 2;
		}
		const char *val = argv[++i];
		if (strcmp(opt, "--corpus") == 0) {
			corpus = val;
		} else if (!ingest && strcmp(opt, "--batch") == 0) {
			batch = count_arg(opt, val, BATCH_MAX);
		} else if (!ingest && strcmp(opt, "--lone") == 0) {
			lone = count_arg(opt, val, BODY_TEXT_UTF8_MAX);
		} else if (mode == MODE_TEXT && strcmp(opt, "--dict") == 0) {
			dict = parse_dict(val);
			if (dict == ERR_NOTFOUND) {
				fprintf(stderr, "lifeline-bench: --dict takes auto, 0x01 (no dictionary)"
					" or a shipped dictionary's id or name, not '%s'\n", val);
				return 2;
			}
		} else if (ingest && strcmp(opt, "--vessels") == 0) {
			io.vessels = count_arg(opt, val, INGEST_VESSELS_MAX);
		} else if (ingest && strcmp(opt, "--messages") == 0) {
			io.messages = count_arg(opt, val, INGEST_MESSAGES_MAX);
		} else if (ingest && strcmp(opt, "--per-bundle") == 0) {
			io.per_bundle = count_arg(opt, val, INGEST_PER_BUNDLE_MAX);
		} else if (ingest && strcmp(opt, "--db") == 0) {
			io.db = val;
		} else {
			usage();
			return 2;
		}
	}
	if (ingest ? !io.vessels || !io.messages : !corpus || (batch && lone)) {
		usage();
		return 2;
	}
	if (!batch && !lone)
		batch = 1;
	size_t count = 0;
	struct msg *msgs = NULL;
	if (corpus) {
		msgs = load(corpus, &count);
		if (!msgs)
			return 1;
		if (count == 0) {
			fprintf(stderr, "lifeline-bench: no message in %s\n", corpus);
			free(msgs);
			return 1;
		}
	}
	int rc = mode == MODE_INGEST ? run_ingest(&io, msgs, count)
		 : mode == MODE_TEXT ? run_text(msgs, count, batch, lone, dict)
				     : run_bytes(msgs, count, batch, lone);
	for (size_t i = 0; i < count; i++)
		free(msgs[i].p);
	free(msgs);
	return rc;
}
