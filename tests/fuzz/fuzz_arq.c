/*
 * fuzz_arq.c — arbitrary frame contents into a struct arq.
 *
 * Input: a sequence of records [op:1][len:1][bytes:len].  op's low 2 bits:
 *   0  feed bytes as a received frame content (after op bit 2 set: with a
 *      valid header byte forced to one of the ARQ types, so the fuzzer gets
 *      past the header check cheaply);
 *   1  queue bytes as a message to send (len 0: a 2 KiB message);
 *   2  advance the fake clock by bytes[0..1] * 16 ms, then drain arq_output;
 *   3  arq_link_up.
 * The victim has already opened a stream towards a scripted peer, so DATA,
 * ACK and SYN paths are all reachable.  Checked after every step: outputs
 * fit the buffer and are well-formed at their first byte, next_wakeup is
 * never in the past, and an idle ARQ stays silent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arq.h"
#include "proto/frame.h"

#define FUZZ_EPOCH_A 0x11111111u
#define FUZZ_EPOCH_B 0x22222222u
#define TICK_MS 16u
#define BIG_MSG 2048u

static void on_deliver(void *ctx, const uint8_t *m, size_t l)
{
	(void)ctx;
	if (l == 0 || l > ARQ_MSG_MAX || m == NULL)
		abort();
}
static void on_acked(void *ctx, uint64_t id) { (void)ctx; if (id == 0) abort(); }
static void on_reset(void *ctx, enum arq_reset_reason why)
{
	(void)ctx;
	if (why != ARQ_RESET_PEER_RESTARTED && why != ARQ_RESET_PEER_LOST_STATE)
		abort();
}

static void drain(struct arq *a, struct arq *peer, uint64_t now, uint8_t *buf)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n = arq_output(a, now, buf, FRAME_CONTENT_MAX);
		if (n < 0 || (size_t)n > FRAME_CONTENT_MAX)
			abort();
		if (n == 0)
			break;
		if (frame_version(buf[0]) != FRAME_VERSION)
			abort();
		if (peer)
			(void)arq_input(peer, buf, (size_t)n, now);
	}
	uint64_t w = arq_next_wakeup(a, now);
	if (w != ARQ_NO_WAKEUP && w < now)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = { 0x01, 0x02, 0x10, 0x18, 0x11, 0x1f };
	struct arq *a = calloc(1, arq_size()), *b = calloc(1, arq_size());
	uint8_t *buf = malloc(FRAME_CONTENT_MAX);
	static uint8_t msg[BIG_MSG];
	if (!a || !b || !buf)
		abort();
	struct arq_callbacks cb = { on_deliver, on_acked, on_reset };
	struct arq_config ca = { 2400, 1500, 0, FRAME_OVERHEAD_SMALL, FUZZ_EPOCH_A };
	struct arq_config cbb = { 2400, 1500, 64, FRAME_OVERHEAD_SMALL, FUZZ_EPOCH_B };
	uint64_t now = 1000, id;
	if (arq_init(a, &ca, &cb, NULL, now) != 0 || arq_init(b, &cbb, &cb, NULL, now) != 0)
		abort();
	/* open both streams through a clean exchange, leave data in flight */
	memset(msg, 'm', sizeof msg);
	if (arq_send(a, msg, 300, &id) != 0 || arq_send(b, msg, 100, &id) != 0)
		abort();
	for (int r = 0; r < 6; r++) {
		now += 700;
		drain(a, b, now, buf);
		drain(b, a, now, buf);
	}
	if (arq_send(a, msg, 500, &id) != 0)
		abort();
	now += 700;
	drain(a, NULL, now, buf);

	size_t at = 0;
	while (at + 2 <= size) {
		uint8_t op = data[at];
		size_t len = data[at + 1];
		at += 2;
		if (len > size - at)
			len = size - at;
		const uint8_t *p = data + at;
		at += len;
		switch (op & 3u) {
		case 0:
			if (len == 0)
				break;
			memcpy(buf, p, len);
			if (op & 4u)
				buf[0] = frame_header(types[p[0] % sizeof types] | (p[0] & 7u));
			(void)arq_input(a, buf, len, now);
			break;
		case 1: {
			int rc = len == 0 ? arq_send(a, msg, BIG_MSG, &id) : arq_send(a, p, len, &id);
			if (rc != 0 && rc != ERR_FULL)
				abort();
			break;
		}
		case 2:
			now += TICK_MS * (1u + (len > 0 ? p[0] : 0u) + (len > 1 ? 256u * p[1] : 0u));
			drain(a, NULL, now, buf);
			break;
		default:
			arq_link_up(a, now);
			break;
		}
		uint64_t w = arq_next_wakeup(a, now);
		if (w != ARQ_NO_WAKEUP && w < now)
			abort();
	}
	/* whatever happened, the ARQ still answers sanely and, once idle, is silent */
	drain(a, NULL, now, buf);
	if (arq_unacked(a) == 0 && arq_next_wakeup(a, now) == ARQ_NO_WAKEUP) {
		if (arq_output(a, now + 86400000u, buf, FRAME_CONTENT_MAX) != 0)
			abort();
	}
	free(a);
	free(b);
	free(buf);
	return 0;
}
