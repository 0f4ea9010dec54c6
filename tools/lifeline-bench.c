/*
 * lifeline-bench — what Lifeline costs on the air, measured through the real
 * encoder.  A benchmark, not a test: it prints figures and never judges them.
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
 * Exit status: 0, 1 on an unreadable corpus, text that is not UTF-8 or an
 * encoder failure (a bug), 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proto/arq.h"
#include "proto/body.h"
#include "proto/bundle.h"
#include "proto/compress.h"
#include "proto/dict.h"
#include "proto/frame.h"
#include "proto/script.h"
#include "proto/varint.h"

#define LINE_MAX_BYTES (1u << 20)
#define BATCH_MAX 1000u
#define LONE_SLACK 10u               /* --lone B takes lengths B-10 .. B+10 */
#define BENCH_VESSEL 1042u
#define BENCH_TIME 1795000000u       /* a Unix time in late 2026 */
#define BENCH_MSG_GAP_S 60u          /* messages a minute apart */
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

struct bench {
	struct compress_work work;
	struct body_writer bw;
	uint8_t body[BUNDLE_PLAIN_MAX];
	uint8_t bundle[BUNDLE_BYTES_MAX];
	struct seq_state seq;
	struct bundle_keys vkeys;
	struct arq *tx, *rx;
	uint64_t now;
	uint64_t onair, acks;
	uint64_t body_bytes, bundle_bytes;
	uint64_t dict_use[256];
	uint64_t next_id;
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
	int rc = bundle_keys_vessel(&b->vkeys, vpk, vsk, spk);
	if (rc < 0)
		die("keys", rc);
	sodium_memzero(vsk, sizeof vsk);
	sodium_memzero(ssk, sizeof ssk);
	seq_init(&b->seq, 0);

	static const struct arq_callbacks cb = {ignore_deliver, ignore_acked, ignore_reset};
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

/* One bundle of msgs[0..n) from one crew member; returns its length. */
static size_t send_bundle(struct bench *b, const struct msg *msgs, size_t n)
{
	uint64_t base = BENCH_TIME + b->next_id * BENCH_MSG_GAP_S;
	/* One message: absolute time inside the compressed record is cheaper
	 * than a base time in the clear header; several: the base pays. */
	bool has_time = n > 1;
	body_writer_init(&b->bw, &b->work, b->body, sizeof b->body, has_time ? base : 0);
	int rc = body_section_begin(&b->bw, -1);
	if (rc < 0)
		die("body_section_begin", rc);
	for (size_t i = 0; i < n; i++) {
		struct record r = {.type = RECORD_TEXT};
		r.u.text.msg_id = ++b->next_id;
		r.u.text.ts = BENCH_TIME + b->next_id * BENCH_MSG_GAP_S;
		r.u.text.crew_id = 7;
		r.u.text.contact_ref = 1;
		r.u.text.text.ptr = msgs[i].p;
		r.u.text.text.len = msgs[i].n;
		if ((rc = body_add(&b->bw, &r)) < 0)
			die("body_add", rc);
	}
	if ((rc = body_section_end(&b->bw)) < 0)
		die("body_section_end", rc);
	/* The section's method byte follows its length varint. */
	uint64_t slen;
	ssize_t vl = varint_decode(b->body, b->bw.len, &slen);
	if (vl > 0)
		b->dict_use[b->body[vl]]++;

	if (seq_available(&b->seq) == 0) {
		uint64_t lim;
		if ((rc = seq_reserve(&b->seq, 1024, &lim)) < 0 || (rc = seq_confirm(&b->seq, lim)) < 0)
			die("seq", rc);
	}
	struct seq_ticket t;
	if ((rc = seq_take(&b->seq, &t)) < 0)
		die("seq_take", rc);
	struct bundle_sender snd = {.vessel = BENCH_VESSEL, .to_vessel = false,
				    .tx_key = b->vkeys.tx, .sign_sk = NULL};
	struct bundle_opts o = {.sign = false, .has_time = has_time, .base_time = base};
	ssize_t blen = bundle_seal(&snd, &o, &t, b->body, b->bw.len, b->bundle, sizeof b->bundle);
	if (blen < 0)
		die("bundle_seal", (int)blen);
	b->body_bytes += b->bw.len;
	b->bundle_bytes += (uint64_t)blen;
	uint64_t id;
	if ((rc = arq_send(b->tx, b->bundle, (size_t)blen, &id)) < 0)
		die("arq_send", rc);
	drain(b);
	return (size_t)blen;
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
	       messages, r.text, b->body_bytes, b->bundle_bytes, onair, acks,
	       (double)b->onair / (double)r.text, (double)r.deflated / (double)r.text,
	       dict_label(most_used(b->dict_use), label, sizeof label));
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

/* --dict: "auto", a number (0x11, 17) or a shipped dictionary's name
 * ("mya" or "mya.1"); DICT_AUTO, the method byte, or ERR_NOTFOUND. */
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
	for (size_t i = 0; i < dict_shipped_count; i++) {
		const struct dict *d = &dict_shipped[i];
		char full[64];
		snprintf(full, sizeof full, "%s.%u", d->name, d->version);
		if (strcmp(s, d->name) == 0 || strcmp(s, full) == 0)
			return d->id;
	}
	return ERR_NOTFOUND;
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

int main(int argc, char **argv)
{
	const char *corpus = NULL;
	unsigned long batch = 0, lone = 0;
	int dict = DICT_AUTO;
	bool text;

	if (argc < 2 || (strcmp(argv[1], "bytes") != 0 && strcmp(argv[1], "text") != 0)) {
		usage();
		return 2;
	}
	text = strcmp(argv[1], "text") == 0;
	for (int i = 2; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc) {
			corpus = argv[++i];
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			batch = strtoul(argv[++i], &end, 10);
			if (*end || batch == 0 || batch > BATCH_MAX) {
				fprintf(stderr, "lifeline-bench: --batch takes 1..%u\n", BATCH_MAX);
				return 2;
			}
		} else if (strcmp(argv[i], "--lone") == 0 && i + 1 < argc) {
			lone = strtoul(argv[++i], &end, 10);
			if (*end || lone == 0 || lone > BODY_TEXT_UTF8_MAX) {
				fprintf(stderr, "lifeline-bench: --lone takes 1..%u bytes\n", BODY_TEXT_UTF8_MAX);
				return 2;
			}
		} else if (text && strcmp(argv[i], "--dict") == 0 && i + 1 < argc) {
			dict = parse_dict(argv[++i]);
			if (dict == ERR_NOTFOUND) {
				fprintf(stderr, "lifeline-bench: --dict takes auto, 0x01 (no dictionary)"
					" or a shipped dictionary's id or name, not '%s'\n", argv[i]);
				return 2;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (!corpus || (batch && lone)) {
		usage();
		return 2;
	}
	if (!batch && !lone)
		batch = 1;
	size_t count;
	struct msg *msgs = load(corpus, &count);
	if (!msgs)
		return 1;
	int rc = text ? run_text(msgs, count, batch, lone, dict)
		      : run_bytes(msgs, count, batch, lone);
	for (size_t i = 0; i < count; i++)
		free(msgs[i].p);
	free(msgs);
	return rc;
}
