/*
 * linktest — a field tool for installers: move N random bytes over the ARQ
 * link and report the goodput.
 *
 *   linktest send LINK --bytes N [--rate BPS] [--rtt MS] [--mss B] [--save FILE]
 *   linktest recv LINK --out FILE [--rate BPS] [--rtt MS]
 *
 * The sender first sends a header message (magic, byte count, chunk size,
 * BLAKE2b-256 of the data), then the data in numbered chunks; the receiver
 * places chunks by number (so a resend after a peer restart is harmless),
 * checks the hash, writes the file and prints one line
 *   goodput_bps=… link_bps=… ratio=… retransmitted=… elapsed_s=…
 * The receiver's elapsed time runs from the header's arrival to the last
 * byte's; the sender's from its first frame to the last acknowledgement.
 * Exit status: 0 on a byte-exact transfer, 1 on corruption, timeout or a
 * link that cannot be opened, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/channel.h"
#include "common/link.h"
#include "common/log.h"
#include "common/loop.h"

#define LT_MAGIC "LTv1"
#define LT_MAGIC_BYTES 4u
#define LT_HASH_BYTES crypto_generichash_BYTES          /* 32 */
#define LT_HEADER_BYTES (LT_MAGIC_BYTES + 8u + 4u + LT_HASH_BYTES)
#define LT_INDEX_BYTES 4u
#define LT_CHUNK_DEFAULT 4096u
#define LT_BYTES_MAX (1024u * 1024u * 1024u)
/* The receiver keeps acknowledging after completion until the sender has
 * been quiet this long.  If the last ACK is lost, the sender re-sends only
 * when its retransmission timer fires, and after an outage that timer is
 * backed off (up to the ARQ's 64 s cap): 5 s was seen to be too short on a
 * lossy link with an outage, leaving the sender without its last ACK. */
#define LT_LINGER_MS 30000u

struct lt {
	struct loop *lp;
	struct link *listener;
	struct channel *ch;
	struct channel_config cfg;
	bool sending;
	/* data */
	uint8_t *data;
	uint64_t total;
	uint32_t chunk;
	uint32_t nchunks;
	uint8_t hash[LT_HASH_BYTES];
	/* sender progress */
	uint32_t next_chunk;     /* next chunk to queue */
	bool header_queued;
	uint64_t acked_msgs;
	/* receiver progress */
	bool have_header;
	uint8_t *seen;
	uint32_t got_chunks;
	uint64_t t_start_ms, t_end_ms, last_rx_ms;
	bool done;
	int status;
	const char *out_path;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: linktest send LINK --bytes N [--rate BPS] [--rtt MS] [--mss B] [--save FILE]\n"
		"                [--timeout S] [--log LEVEL]\n"
		"       linktest recv LINK --out FILE [--rate BPS] [--rtt MS] [--timeout S] [--log LEVEL]\n"
		"LINK is serial:/dev/ttyUSB0?baud=19200, tcp:HOST:PORT or tcp-listen:[ADDR:]PORT.\n"
		"Run recv on one end first, then send on the other; both print a goodput line.\n");
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void report(struct lt *t, uint64_t elapsed_ms)
{
	const struct arq_stats *st = channel_stats(t->ch);
	double secs = (double)elapsed_ms / 1000.0;
	double goodput = secs > 0 ? (double)t->total * 8.0 / secs : 0.0;
	printf("goodput_bps=%.0f link_bps=%" PRIu32 " ratio=%.3f retransmitted=%" PRIu64
	       " elapsed_s=%.2f\n", goodput, t->cfg.rate_bps,
	       goodput / (double)t->cfg.rate_bps, st->retransmits, secs);
	fflush(stdout);
}

/* Sender: keep the ARQ's queue topped up. */
static void fill(struct lt *t)
{
	uint8_t msg[LT_INDEX_BYTES + LT_CHUNK_DEFAULT];
	uint64_t id;

	if (!t->header_queued) {
		uint8_t h[LT_HEADER_BYTES];
		memcpy(h, LT_MAGIC, LT_MAGIC_BYTES);
		put_le(h + 4, t->total, 8);
		put_le(h + 12, t->chunk, 4);
		memcpy(h + 16, t->hash, LT_HASH_BYTES);
		if (channel_send(t->ch, h, sizeof h, &id) != 0)
			return;
		t->header_queued = true;
		t->t_start_ms = loop_now(t->lp);
	}
	while (t->next_chunk < t->nchunks) {
		uint64_t off = (uint64_t)t->next_chunk * t->chunk;
		size_t n = (size_t)(t->total - off < t->chunk ? t->total - off : t->chunk);
		put_le(msg, t->next_chunk, LT_INDEX_BYTES);
		memcpy(msg + LT_INDEX_BYTES, t->data + off, n);
		if (channel_send(t->ch, msg, LT_INDEX_BYTES + n, &id) != 0)
			return;
		t->next_chunk++;
	}
}

static void on_acked(void *ctx, struct channel *ch, uint64_t msg_id)
{
	struct lt *t = ctx;
	(void)ch;
	(void)msg_id;
	if (!t->sending)
		return;
	t->acked_msgs++;
	if (t->acked_msgs == (uint64_t)t->nchunks + 1 && !t->done) {
		t->done = true;
		report(t, loop_now(t->lp) - t->t_start_ms);
		loop_stop(t->lp);
		return;
	}
	fill(t);
}

static void finish_recv(struct lt *t)
{
	uint8_t h[LT_HASH_BYTES];
	crypto_generichash(h, sizeof h, t->data, (unsigned long long)t->total, NULL, 0);
	t->done = true;
	if (sodium_memcmp(h, t->hash, sizeof h) != 0) {
		fprintf(stderr, "linktest: received data does not match its hash: the link corrupted it\n");
		t->status = 1;
	}
	FILE *f = fopen(t->out_path, "wb");
	if (!f || fwrite(t->data, 1, (size_t)t->total, f) != t->total || fclose(f) != 0) {
		fprintf(stderr, "linktest: cannot write %s: %s\n", t->out_path, strerror(errno));
		t->status = 1;
	}
	report(t, t->t_end_ms - t->t_start_ms);
}

static void on_message(void *ctx, struct channel *ch, const uint8_t *msg, size_t len)
{
	struct lt *t = ctx;
	(void)ch;
	uint64_t now = loop_now(t->lp);
	t->last_rx_ms = now;
	if (t->sending || t->done)
		return;
	if (!t->have_header) {
		if (len != LT_HEADER_BYTES || memcmp(msg, LT_MAGIC, LT_MAGIC_BYTES) != 0) {
			log_warn("message before the header; ignored");
			return;
		}
		t->total = get_le(msg + 4, 8);
		t->chunk = (uint32_t)get_le(msg + 12, 4);
		if (t->total == 0 || t->total > LT_BYTES_MAX || t->chunk == 0 ||
		    t->chunk > LT_CHUNK_DEFAULT) {
			fprintf(stderr, "linktest: bad header (bytes=%" PRIu64 " chunk=%" PRIu32 ")\n",
				t->total, t->chunk);
			t->status = 1;
			loop_stop(t->lp);
			return;
		}
		memcpy(t->hash, msg + 16, LT_HASH_BYTES);
		t->nchunks = (uint32_t)((t->total + t->chunk - 1) / t->chunk);
		t->data = calloc(1, (size_t)t->total);
		t->seen = calloc(t->nchunks, 1);
		if (!t->data || !t->seen) {
			fprintf(stderr, "linktest: out of memory for %" PRIu64 " bytes\n", t->total);
			t->status = 1;
			loop_stop(t->lp);
			return;
		}
		t->have_header = true;
		t->t_start_ms = now;
		return;
	}
	if (len < LT_INDEX_BYTES)
		return;
	uint32_t idx = (uint32_t)get_le(msg, LT_INDEX_BYTES);
	if (idx >= t->nchunks || t->seen[idx])
		return;
	uint64_t off = (uint64_t)idx * t->chunk;
	size_t want = (size_t)(t->total - off < t->chunk ? t->total - off : t->chunk);
	if (len - LT_INDEX_BYTES != want) {
		log_warn("chunk %" PRIu32 " has %zu bytes, expected %zu; ignored", idx,
			 len - LT_INDEX_BYTES, want);
		return;
	}
	memcpy(t->data + off, msg + LT_INDEX_BYTES, want);
	t->seen[idx] = 1;
	if (++t->got_chunks == t->nchunks) {
		t->t_end_ms = now;
		finish_recv(t);
	}
}

static void on_reset(void *ctx, struct channel *ch, enum arq_reset_reason why)
{
	(void)ctx;
	(void)ch;
	(void)why;
}

static void on_link(void *ctx, struct channel *ch, bool up)
{
	(void)ctx;
	log_info("%s is %s", link_name(channel_link(ch)), up ? "up" : "down");
}

static const struct channel_callbacks ch_cb = {
	.on_message = on_message, .on_acked = on_acked,
	.on_reset = on_reset, .on_link = on_link,
};

static int attach(struct lt *t, struct link *ln)
{
	struct channel *ch;
	int rc = channel_new(&ch, t->lp, ln, &t->cfg, &ch_cb, t);
	if (rc < 0) {
		fprintf(stderr, "linktest: cannot start the ARQ: %s\n", err_str(rc));
		link_close(ln);
		return rc;
	}
	channel_free(t->ch);      /* a new connection replaces the old one */
	t->ch = ch;
	if (t->sending)
		fill(t);
	return 0;
}

static void on_accept(void *ctx, struct link *listener, struct link *child)
{
	(void)listener;
	log_info("connection from %s", link_name(child));
	(void)attach(ctx, child);
}

static void on_signal(struct loop *lp, int signo, void *ctx)
{
	struct lt *t = ctx;
	fprintf(stderr, "linktest: stopped by signal %d before the transfer finished\n", signo);
	t->status = 1;
	loop_stop(lp);
}

static void on_deadline(struct loop *lp, void *ctx)
{
	struct lt *t = ctx;
	fprintf(stderr, "linktest: timed out; check the cable, the modem and the far end\n");
	t->status = 1;
	loop_stop(lp);
}

static uint64_t parse_u64(const char *s, const char *what, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > max) {
		fprintf(stderr, "linktest: bad %s '%s' (a whole number from 1 to %" PRIu64 ")\n",
			what, s, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'n'}, {"rate", required_argument, NULL, 'r'},
		{"rtt", required_argument, NULL, 't'}, {"mss", required_argument, NULL, 'm'},
		{"out", required_argument, NULL, 'o'}, {"save", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 'T'}, {"log", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct lt t = {.cfg = {.rate_bps = 2400, .rtt_ms = 1500, .mss = 0}, .chunk = LT_CHUNK_DEFAULT};
	const char *save = NULL;
	uint64_t timeout_s = 0;
	int c;

	log_set_ident("linktest");
	log_set_level(LOG_LVL_WARN);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	const char *mode = argv[1], *spec = argv[2];
	if (strcmp(mode, "send") == 0)
		t.sending = true;
	else if (strcmp(mode, "recv") != 0) {
		fprintf(stderr, "linktest: first word must be send or recv, not '%s'\n", mode);
		usage(stderr);
		return 2;
	}
	optind = 3;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': t.total = parse_u64(optarg, "--bytes", LT_BYTES_MAX); break;
		case 'r': t.cfg.rate_bps = (uint32_t)parse_u64(optarg, "--rate", 100000000); break;
		case 't': t.cfg.rtt_ms = (uint32_t)parse_u64(optarg, "--rtt", 600000); break;
		case 'm': t.cfg.mss = (uint32_t)parse_u64(optarg, "--mss", ARQ_MSS_MAX); break;
		case 'o': t.out_path = optarg; break;
		case 's': save = optarg; break;
		case 'T': timeout_s = parse_u64(optarg, "--timeout", 86400); break;
		case 'l':
			if (log_level_parse(optarg) < 0) {
				fprintf(stderr, "linktest: --log takes error, warn, info, debug or io\n");
				return 2;
			}
			log_set_level((enum log_level)log_level_parse(optarg));
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (t.sending && t.total == 0) {
		fprintf(stderr, "linktest: send needs --bytes N\n");
		return 2;
	}
	if (!t.sending && !t.out_path) {
		fprintf(stderr, "linktest: recv needs --out FILE\n");
		return 2;
	}
	char why[256];
	if (link_spec_check(spec, why, sizeof why) < 0) {
		fprintf(stderr, "linktest: bad link '%s': %s\n", spec, why);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "linktest: libsodium failed to initialise\n");
		return 1;
	}
	if (t.sending) {
		t.data = malloc((size_t)t.total);
		if (!t.data) {
			fprintf(stderr, "linktest: out of memory\n");
			return 1;
		}
		randombytes_buf(t.data, (size_t)t.total);
		crypto_generichash(t.hash, sizeof t.hash, t.data, t.total, NULL, 0);
		t.nchunks = (uint32_t)((t.total + t.chunk - 1) / t.chunk);
		if (save) {
			FILE *f = fopen(save, "wb");
			if (!f || fwrite(t.data, 1, (size_t)t.total, f) != t.total || fclose(f) != 0) {
				fprintf(stderr, "linktest: cannot write %s: %s\n", save, strerror(errno));
				return 1;
			}
		}
	}
	t.lp = loop_new(NULL, NULL);
	if (!t.lp || loop_signal(t.lp, SIGTERM, on_signal, &t) < 0 ||
	    loop_signal(t.lp, SIGINT, on_signal, &t) < 0) {
		fprintf(stderr, "linktest: cannot set up the event loop\n");
		return 1;
	}
	if (timeout_s && loop_timer_at(t.lp, loop_now(t.lp) + timeout_s * 1000, on_deadline, &t) == 0)
		return 1;

	static const struct link_callbacks listen_cb = {.on_accept = on_accept};
	bool listening = strncmp(spec, "tcp-listen:", 11) == 0;
	struct link *ln;
	int rc = link_open(&ln, spec, t.lp, listening ? &listen_cb : &(struct link_callbacks){0}, &t);
	if (rc < 0) {
		fprintf(stderr, "linktest: cannot open %s: %s\n", spec, err_str(rc));
		return 1;
	}
	if (listening)
		t.listener = ln;
	else if (attach(&t, ln) < 0)
		return 1;

	/* Run until done; the receiver lingers, acknowledging, until the
	 * sender has been quiet for LT_LINGER_MS, so its last ACK is heard. */
	while (!loop_stopped(t.lp)) {
		if (loop_run_once(t.lp, 200) < 0)
			break;
		if (!t.sending && t.done && loop_now(t.lp) - t.last_rx_ms >= LT_LINGER_MS)
			break;
	}
	channel_free(t.ch);
	link_close(t.listener);
	loop_free(t.lp);
	free(t.data);
	free(t.seen);
	if (!t.done && t.status == 0)
		t.status = 1;
	return t.status;
}
