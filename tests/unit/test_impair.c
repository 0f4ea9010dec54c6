/*
 * test_impair.c — the satellite link model of common/impair: loss fraction
 * and burst shape, bit error counts, the exact rate bound, monotonic due
 * times under jitter, outage windows, option parsing, and replay by seed.
 */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/impair.h"

#define CHUNK_BYTES 4096u
#define MIB (1024u * 1024u)

/* Test-side PRNG for chunk sizes and times (independent of the model's). */
static uint64_t test_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned popcount8(uint8_t x)
{
	unsigned c = 0;
	for (; x; x &= (uint8_t)(x - 1))
		c++;
	return c;
}

static struct impair_config clean_config(void)
{
	struct impair_config c;
	impair_config_default(&c);
	c.latency_ms = 0;
	return c;
}

/* ---- loss --------------------------------------------------------------- */

static const struct {
	double loss;
	uint32_t burst;
	double tolerance;   /* absolute, on the lost fraction over 1 MiB */
} loss_vectors[] = {
	{ 0.05, 32, 0.006 },
	{ 0.02, 32, 0.004 },
	{ 0.20, 1, 0.003 },
	{ 0.10, 8, 0.004 },
	{ 0.50, 100, 0.03 },
	{ 0.0, 32, 0.0 },
	{ 1.0, 32, 0.0 },
};

static void test_loss_fraction_and_bursts(void)
{
	uint8_t *buf = malloc(CHUNK_BYTES);
	struct impair_verdict *v = malloc(CHUNK_BYTES * sizeof *v);
	CU_ASSERT_FATAL(buf && v);
	for (size_t t = 0; t < sizeof loss_vectors / sizeof loss_vectors[0]; t++) {
		struct impair_config c = clean_config();
		c.loss = loss_vectors[t].loss;
		c.burst_bytes = loss_vectors[t].burst;
		struct impair im;
		CU_ASSERT_FATAL(impair_init(&im, &c, 1000 + t, 0) == 0);
		uint64_t lost = 0, run = 0, runs = 0, bad_runs = 0, exact_runs = 0;
		for (size_t off = 0; off < MIB; off += CHUNK_BYTES) {
			memset(buf, 0x55, CHUNK_BYTES);
			CU_ASSERT_FATAL(impair_push(&im, 0, buf, CHUNK_BYTES, v) == 0);
			for (size_t i = 0; i < CHUNK_BYTES; i++) {
				if (v[i].fate == IMPAIR_LOST) {
					lost++;
					run++;
					continue;
				}
				CU_ASSERT_EQUAL(v[i].fate, IMPAIR_DELIVER);
				if (run > 0) {
					/* Runs are whole bursts (adjacent bursts merge). */
					runs++;
					if (run % c.burst_bytes != 0)
						bad_runs++;
					if (run == c.burst_bytes)
						exact_runs++;
				}
				run = 0;
			}
		}
		double frac = (double)lost / MIB;
		CU_ASSERT(fabs(frac - c.loss) <= loss_vectors[t].tolerance);
		CU_ASSERT_EQUAL(im.stats.dropped_bytes, lost);
		CU_ASSERT_EQUAL(im.stats.bytes_in, MIB);
		CU_ASSERT_EQUAL(bad_runs, 0);
		if (c.loss > 0.0 && c.loss < 0.2) /* merges are rare at low loss */
			CU_ASSERT(exact_runs * 10 >= runs * 9);
		if (c.loss > 0.0 && c.loss < 1.0)
			CU_ASSERT(runs > 0);
	}
	free(buf);
	free(v);
}

/* ---- bit errors --------------------------------------------------------- */

static void test_ber_count(void)
{
	static const struct { double ber; double rel_tolerance; } vec[] = {
		{ 1e-3, 0.05 }, { 1e-4, 0.12 }, { 1e-2, 0.02 }, { 0.0, 0.0 },
	};
	uint8_t *orig = malloc(CHUNK_BYTES), *buf = malloc(CHUNK_BYTES);
	struct impair_verdict *v = malloc(CHUNK_BYTES * sizeof *v);
	CU_ASSERT_FATAL(orig && buf && v);
	uint64_t s = 99;
	for (size_t t = 0; t < sizeof vec / sizeof vec[0]; t++) {
		struct impair_config c = clean_config();
		c.ber = vec[t].ber;
		struct impair im;
		CU_ASSERT_FATAL(impair_init(&im, &c, 7 + t, 0) == 0);
		uint64_t diff_bits = 0;
		for (size_t off = 0; off < MIB; off += CHUNK_BYTES) {
			for (size_t i = 0; i < CHUNK_BYTES; i++)
				orig[i] = (uint8_t)test_rng(&s);
			memcpy(buf, orig, CHUNK_BYTES);
			CU_ASSERT_FATAL(impair_push(&im, 0, buf, CHUNK_BYTES, v) == 0);
			for (size_t i = 0; i < CHUNK_BYTES; i++)
				diff_bits += popcount8((uint8_t)(orig[i] ^ buf[i]));
		}
		double expect = vec[t].ber * 8.0 * MIB;
		CU_ASSERT_EQUAL(im.stats.flipped_bits, diff_bits);
		CU_ASSERT(fabs((double)diff_bits - expect) <= expect * vec[t].rel_tolerance);
		CU_ASSERT_EQUAL(im.stats.dropped_bytes, 0);
	}
	free(orig);
	free(buf);
	free(v);
}

static void test_ber_one_flips_everything(void)
{
	struct impair_config c = clean_config();
	c.ber = 1.0;
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 1, 0) == 0);
	uint8_t buf[4] = { 0x00, 0xff, 0x5a, 0x81 };
	struct impair_verdict v[4];
	CU_ASSERT_FATAL(impair_push(&im, 0, buf, 4, v) == 0);
	CU_ASSERT_EQUAL(buf[0], 0xff);
	CU_ASSERT_EQUAL(buf[1], 0x00);
	CU_ASSERT_EQUAL(buf[2], 0xa5);
	CU_ASSERT_EQUAL(buf[3], 0x7e);
	CU_ASSERT_EQUAL(im.stats.flipped_bits, 32);
}

/* ---- rate and latency --------------------------------------------------- */

static const struct {
	uint32_t rate;
	uint32_t latency;
	size_t n;
	uint64_t last_done_ms;   /* ceil(n * 8000 / rate) */
} rate_vectors[] = {
	{ 2400, 750, 300, 1000 },
	{ 2400, 0, 1, 4 },          /* 3.33 ms -> 4 */
	{ 9600, 10, 7, 6 },         /* 5.83 ms -> 6 */
	{ 64000, 50, 32768, 4096 },
	{ 1, 0, 2, 16000 },
	{ 100000000, 0, 12500, 1 },
};

static void test_rate_exact(void)
{
	for (size_t t = 0; t < sizeof rate_vectors / sizeof rate_vectors[0]; t++) {
		struct impair_config c = clean_config();
		c.rate_bps = rate_vectors[t].rate;
		c.latency_ms = rate_vectors[t].latency;
		size_t n = rate_vectors[t].n;
		uint8_t *buf = calloc(n, 1);
		struct impair_verdict *v = calloc(n, sizeof *v);
		CU_ASSERT_FATAL(buf && v);
		const uint64_t start = 123456;
		struct impair im;
		CU_ASSERT_FATAL(impair_init(&im, &c, 5, start) == 0);
		CU_ASSERT_FATAL(impair_push(&im, start, buf, n, v) == 0);
		for (size_t i = 0; i < n; i++) {
			uint64_t units = (uint64_t)(i + 1) * 8000u;
			uint64_t done = units / c.rate_bps + (units % c.rate_bps != 0);
			CU_ASSERT_EQUAL_FATAL(v[i].due_ms, start + done + c.latency_ms);
			CU_ASSERT_EQUAL(v[i].fate, IMPAIR_DELIVER);
		}
		CU_ASSERT_EQUAL(v[n - 1].due_ms, start + rate_vectors[t].last_done_ms + c.latency_ms);
		CU_ASSERT_EQUAL(impair_backlog_ms(&im, start), rate_vectors[t].last_done_ms);
		free(buf);
		free(v);
	}
}

/* An idle link earns no credit: a byte after a pause still takes 8/rate s. */
static void test_rate_no_idle_credit(void)
{
	struct impair_config c = clean_config();
	c.rate_bps = 800;   /* 10 ms per byte */
	c.latency_ms = 100;
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 5, 0) == 0);
	uint8_t b[3] = { 1, 2, 3 };
	struct impair_verdict v[3];
	CU_ASSERT_FATAL(impair_push(&im, 0, b, 1, v) == 0);
	CU_ASSERT_EQUAL(v[0].due_ms, 110);
	CU_ASSERT_EQUAL(impair_backlog_ms(&im, 5000), 0);
	CU_ASSERT_FATAL(impair_push(&im, 5000, b, 2, v) == 0);
	CU_ASSERT_EQUAL(v[0].due_ms, 5110);
	CU_ASSERT_EQUAL(v[1].due_ms, 5120);
}

/*
 * Random chunks at random times with jitter and loss: due times never
 * decrease, no byte is due before it could have crossed, and any k
 * consecutive bytes span at least floor(k*8000/rate) ms (the rate bound).
 */
static void test_jitter_monotonic_rate_bound(void)
{
	enum { N = 200000 };
	struct impair_config c = clean_config();
	c.rate_bps = 19200;
	c.latency_ms = 300;
	c.jitter_ms = 250;
	c.loss = 0.05;
	c.ber = 1e-4;
	uint8_t *buf = calloc(N, 1);
	uint64_t *entered = calloc(N, sizeof *entered);
	struct impair_verdict *v = calloc(N, sizeof *v);
	CU_ASSERT_FATAL(buf && v && entered);
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 42, 1000) == 0);
	uint64_t s = 4242, now = 1000;
	size_t off = 0;
	uint64_t min_extra = UINT64_MAX, max_extra = 0, idle_samples = 0;
	while (off < N) {
		size_t n = 1 + (size_t)(test_rng(&s) % 300);
		if (n > N - off)
			n = N - off;
		now += test_rng(&s) % 200;
		bool idle = impair_backlog_ms(&im, now) == 0 && im.start_ms + im.last_arrival_ms <= now;
		CU_ASSERT_FATAL(impair_push(&im, now, buf + off, n, v + off) == 0);
		if (idle) {   /* nothing ahead: the extra delay is the jitter alone */
			uint64_t first = 8000u / c.rate_bps + 1;   /* ceil, 8000 % 19200 != 0 */
			uint64_t extra = v[off].due_ms - now - c.latency_ms - first;
			idle_samples++;
			if (extra < min_extra)
				min_extra = extra;
			if (extra > max_extra)
				max_extra = extra;
		}
		for (size_t i = off; i < off + n; i++)
			entered[i] = now;
		off += n;
	}
	for (size_t i = 0; i < N; i++) {
		CU_ASSERT_FATAL(v[i].due_ms >= entered[i] + c.latency_ms + 1);
		if (i > 0)
			CU_ASSERT_FATAL(v[i].due_ms >= v[i - 1].due_ms);
	}
	static const size_t spans[] = { 1, 10, 1000, N - 1 };
	for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
		uint64_t floor_ms = (uint64_t)spans[k] * 8000u / c.rate_bps;
		for (size_t i = 0; i + spans[k] < N; i += 97)
			CU_ASSERT_FATAL(v[i + spans[k]].due_ms - v[i].due_ms >= floor_ms);
	}
	/* The jitter really varies the delay, within its bound. */
	CU_ASSERT(idle_samples > 10);
	CU_ASSERT(max_extra <= c.jitter_ms);
	CU_ASSERT(max_extra > min_extra);
	free(buf);
	free(entered);
	free(v);
}

/* ---- outages ------------------------------------------------------------ */

static void test_outage_window_exact(void)
{
	struct impair_config c = clean_config();
	CU_ASSERT_FATAL(impair_config_add_outage(&c, "2:3") == 0);
	CU_ASSERT_FATAL(impair_config_add_outage(&c, "6.5:0.25") == 0);
	const uint64_t start = 50000;
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 3, start) == 0);
	uint64_t outage = 0, delivered = 0;
	for (uint64_t t = 0; t < 8000; t += 10) {
		uint8_t b = (uint8_t)t;
		struct impair_verdict v;
		CU_ASSERT_FATAL(impair_push(&im, start + t, &b, 1, &v) == 0);
		bool inside = (t >= 2000 && t < 5000) || (t >= 6500 && t < 6750);
		CU_ASSERT_EQUAL_FATAL(v.fate, inside ? IMPAIR_OUTAGE : IMPAIR_DELIVER);
		CU_ASSERT_EQUAL(impair_in_outage(&im, start + t), inside);
		if (inside)
			outage++;
		else
			delivered++;
	}
	CU_ASSERT_EQUAL(outage, 300 + 25);
	CU_ASSERT_EQUAL(im.stats.outage_bytes, outage);
	CU_ASSERT_EQUAL(im.stats.bytes_in, outage + delivered);
}

static void test_manual_outage(void)
{
	struct impair_config c = clean_config();
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 3, 0) == 0);
	uint8_t b[8] = { 0 };
	struct impair_verdict v[8];
	impair_set_manual_outage(&im, true);
	CU_ASSERT(impair_in_outage(&im, 10));
	CU_ASSERT_FATAL(impair_push(&im, 10, b, 8, v) == 0);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(v[i].fate, IMPAIR_OUTAGE);
	impair_set_manual_outage(&im, false);
	CU_ASSERT(!impair_in_outage(&im, 20));
	CU_ASSERT_FATAL(impair_push(&im, 20, b, 8, v) == 0);
	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(v[i].fate, IMPAIR_DELIVER);
	CU_ASSERT_EQUAL(im.stats.outage_bytes, 8);
	/* Bytes lost in an outage still take their airtime (a dead sky is no
	 * faster): the 8 + 8 bytes above end at 63.3 ms, 10000 more at
	 * 33396.7 ms, so a byte pushed at 100 ms finishes at 33400 ms. */
	static uint8_t big[10000];
	static struct impair_verdict vbig[10000];
	impair_set_manual_outage(&im, true);
	CU_ASSERT_FATAL(impair_push(&im, 30, big, sizeof big, vbig) == 0);
	impair_set_manual_outage(&im, false);
	CU_ASSERT_FATAL(impair_push(&im, 100, b, 1, v) == 0);
	CU_ASSERT_EQUAL(v[0].fate, IMPAIR_DELIVER);
	CU_ASSERT_EQUAL(v[0].due_ms, 33400);
	CU_ASSERT_EQUAL(im.stats.outage_bytes, 8 + sizeof big);
}

/*
 * A backlog crossing a scheduled outage: at 8000 bit/s byte i goes on air
 * at exactly i ms, so the outage 2 s..5 s takes bytes 2000..4999 and no other.
 */
static void test_outage_on_air_time(void)
{
	enum { N = 10000 };
	struct impair_config c = clean_config();
	c.rate_bps = 8000;
	c.latency_ms = 600;
	c.loss = 0.0;
	CU_ASSERT_FATAL(impair_config_add_outage(&c, "2:3") == 0);
	static uint8_t buf[N];
	static struct impair_verdict v[N];
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 11, 1000) == 0);
	CU_ASSERT_FATAL(impair_push(&im, 1000, buf, N, v) == 0);
	for (size_t i = 0; i < N; i++) {
		bool inside = i >= 2000 && i < 5000;
		CU_ASSERT_EQUAL_FATAL(v[i].fate, inside ? IMPAIR_OUTAGE : IMPAIR_DELIVER);
		CU_ASSERT_EQUAL_FATAL(v[i].due_ms, 1000 + i + 1 + 600);
	}
	CU_ASSERT_EQUAL(im.stats.outage_bytes, 3000);
}

/* ---- determinism -------------------------------------------------------- */

static void run_all_impairments(uint64_t seed, uint8_t *buf, struct impair_verdict *v, size_t n)
{
	struct impair_config c;
	impair_config_default(&c);
	c.jitter_ms = 100;
	c.ber = 1e-3;
	c.loss = 0.1;
	c.burst_bytes = 5;
	CU_ASSERT_FATAL(impair_config_add_outage(&c, "1:1") == 0);
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, seed, 0) == 0);
	uint64_t s = 77, now = 0;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)i;
	for (size_t off = 0; off < n;) {
		size_t k = 1 + (size_t)(test_rng(&s) % 64);
		if (k > n - off)
			k = n - off;
		now += test_rng(&s) % 50;
		CU_ASSERT_FATAL(impair_push(&im, now, buf + off, k, v + off) == 0);
		off += k;
	}
}

static void test_same_seed_same_output(void)
{
	enum { N = 50000 };
	uint8_t *a = malloc(N), *b = malloc(N), *d = malloc(N);
	struct impair_verdict *va = calloc(N, sizeof *va), *vb = calloc(N, sizeof *vb),
			      *vd = calloc(N, sizeof *vd);
	CU_ASSERT_FATAL(a && b && d && va && vb && vd);
	run_all_impairments(2024, a, va, N);
	run_all_impairments(2024, b, vb, N);
	run_all_impairments(2025, d, vd, N);
	CU_ASSERT(memcmp(a, b, N) == 0);
	int same_verdicts = 1, differ = 0;
	for (size_t i = 0; i < N; i++) {
		if (va[i].fate != vb[i].fate || va[i].due_ms != vb[i].due_ms)
			same_verdicts = 0;
		if (va[i].fate != vd[i].fate || a[i] != d[i])
			differ = 1;
	}
	CU_ASSERT(same_verdicts);
	CU_ASSERT(differ);   /* another seed is another run */
	free(a); free(b); free(d);
	free(va); free(vb); free(vd);
}

/* ---- configuration ------------------------------------------------------ */

static const struct {
	const char *text;
	int ok;
	uint64_t start_ms, duration_ms;
} outage_vectors[] = {
	{ "2:3", 1, 2000, 3000 },
	{ "0:1", 1, 0, 1000 },
	{ "0.5:1.25", 1, 500, 1250 },
	{ "10:0.001", 1, 10000, 1 },
	{ "", 0, 0, 0 },
	{ ":", 0, 0, 0 },
	{ "2", 0, 0, 0 },
	{ "2:", 0, 0, 0 },
	{ ":3", 0, 0, 0 },
	{ "2:0", 0, 0, 0 },
	{ "-1:3", 0, 0, 0 },
	{ "1:-3", 0, 0, 0 },
	{ "a:b", 0, 0, 0 },
	{ "1:2:3", 0, 0, 0 },
	{ "inf:1", 0, 0, 0 },
	{ "1:nan", 0, 0, 0 },
	{ " 1:2", 0, 0, 0 },
	{ "1:2 ", 0, 0, 0 },
	{ "1e30:1", 0, 0, 0 },
	{ "1:99999999999", 0, 0, 0 },
};

static void test_outage_parse(void)
{
	for (size_t t = 0; t < sizeof outage_vectors / sizeof outage_vectors[0]; t++) {
		struct impair_config c;
		impair_config_default(&c);
		int rc = impair_config_add_outage(&c, outage_vectors[t].text);
		if (outage_vectors[t].ok) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(c.n_outages, 1);
			CU_ASSERT_EQUAL(c.outages[0].start_ms, outage_vectors[t].start_ms);
			CU_ASSERT_EQUAL(c.outages[0].duration_ms, outage_vectors[t].duration_ms);
		} else {
			CU_ASSERT_EQUAL(rc, ERR_INVAL);
			CU_ASSERT_EQUAL(c.n_outages, 0);
		}
	}
	struct impair_config c;
	impair_config_default(&c);
	for (unsigned i = 0; i < IMPAIR_OUTAGE_MAX; i++)
		CU_ASSERT_EQUAL(impair_config_add_outage(&c, "1:1"), 0);
	CU_ASSERT_EQUAL(impair_config_add_outage(&c, "1:1"), ERR_FULL);
	CU_ASSERT_EQUAL(c.n_outages, IMPAIR_OUTAGE_MAX);
}

static void test_config_check(void)
{
	char why[IMPAIR_WHY_BYTES];
	struct impair_config c;
	impair_config_default(&c);
	CU_ASSERT_EQUAL(impair_config_check(&c, why, sizeof why), 0);
	CU_ASSERT_EQUAL(c.rate_bps, 2400);
	CU_ASSERT_EQUAL(c.latency_ms, 750);
	CU_ASSERT_EQUAL(c.burst_bytes, 32);

	struct impair_config bad[8];
	for (size_t i = 0; i < 8; i++)
		bad[i] = c;
	bad[0].rate_bps = 0;
	bad[1].rate_bps = IMPAIR_RATE_MAX_BPS + 1;
	bad[2].ber = 1.5;
	bad[3].loss = NAN;
	bad[4].burst_bytes = 0;
	bad[5].latency_ms = IMPAIR_DELAY_MAX_MS + 1;
	bad[6].loss = -0.1;
	bad[7].n_outages = 1;   /* outages[0] is all zero: duration 0 */
	for (size_t i = 0; i < 8; i++) {
		why[0] = '\0';
		CU_ASSERT_EQUAL(impair_config_check(&bad[i], why, sizeof why), ERR_INVAL);
		CU_ASSERT(strlen(why) > 0);
		struct impair im;
		CU_ASSERT_EQUAL(impair_init(&im, &bad[i], 1, 0), ERR_INVAL);
	}
	struct impair im;
	CU_ASSERT_FATAL(impair_init(&im, &c, 1, 0) == 0);
	CU_ASSERT_EQUAL(impair_push(&im, 0, NULL, 3, NULL), ERR_INVAL);
	CU_ASSERT_EQUAL(impair_push(&im, 0, NULL, 0, NULL), 0);
	CU_ASSERT_EQUAL(im.stats.bytes_in, 0);
}

void suite_impair(void);
void suite_impair(void)
{
	CU_pSuite s = CU_add_suite("impair", NULL, NULL);
	CU_add_test(s, "loss fraction and burst length over 1 MiB", test_loss_fraction_and_bursts);
	CU_add_test(s, "BER count over 1 MiB", test_ber_count);
	CU_add_test(s, "BER 1 flips every bit", test_ber_one_flips_everything);
	CU_add_test(s, "rate bound exact", test_rate_exact);
	CU_add_test(s, "no credit after idle", test_rate_no_idle_credit);
	CU_add_test(s, "jitter keeps order and the rate bound", test_jitter_monotonic_rate_bound);
	CU_add_test(s, "outage window drops exactly its bytes", test_outage_window_exact);
	CU_add_test(s, "manual outage", test_manual_outage);
	CU_add_test(s, "outage takes the bytes on air inside it", test_outage_on_air_time);
	CU_add_test(s, "same seed same output", test_same_seed_same_output);
	CU_add_test(s, "outage option parsing", test_outage_parse);
	CU_add_test(s, "configuration check", test_config_check);
}
