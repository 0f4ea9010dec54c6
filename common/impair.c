/*
 * impair.c — the satellite link model: outages, jitter, rate, burst loss,
 * bit errors and latency for one direction (see impair.h for the model).
 *
 * Invariants: due times never decrease; the transmitter clock advances by
 * exactly 8*1000 units (units: ms * rate_bps) per byte, whatever its fate,
 * so n back-to-back bytes finish
 * exactly ceil(n*8000/rate) ms after the first starts; every random choice
 * comes from the model's own xoshiro256** state, so a seed replays exactly.
 * Time is clamped to IMPAIR_TIME_MAX_MS after start so that unit
 * arithmetic cannot overflow.
 *
 * Failure behaviour: no I/O and no allocation; bad configurations are
 * refused by impair_config_check() with a reason, NULL pointers with ERR_INVAL.
 */
#include "common/impair.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITS_PER_BYTE 8u
#define MS_PER_S 1000u
#define UNITS_PER_BYTE ((uint64_t)BITS_PER_BYTE * MS_PER_S)  /* ms*bps for one byte */
/* Relative times past this are clamped: rate * time stays far below 2^64. */
#define IMPAIR_TIME_MAX_MS (UINT64_MAX / 4u / IMPAIR_RATE_MAX_BPS)
#define DOUBLE_MANTISSA_SHIFT 11u                       /* 64 - 53 bits */
#define DOUBLE_UNIT (1.0 / 9007199254740992.0)          /* 2^-53 */
#define GEOMETRIC_CAP 1.0e18                            /* "never", in draws */

/* ---- PRNG: splitmix64 to seed xoshiro256** (Blackman & Vigna) ---------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, unsigned k)
{
	return (x << k) | (x >> (64u - k));
}

static uint64_t rng_next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5u, 7) * 9u;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in (0, 1]: never 0, so log() is finite. */
static double rng_unit(uint64_t s[4])
{
	return (double)((rng_next(s) >> DOUBLE_MANTISSA_SHIFT) + 1u) * DOUBLE_UNIT;
}

/* Failures before the first success of a Bernoulli(p) sequence. */
static uint64_t geometric(uint64_t s[4], double p)
{
	if (!(p > 0.0))
		return UINT64_MAX;
	if (p >= 1.0)
		return 0;
	double g = floor(log(rng_unit(s)) / log1p(-p));
	if (!(g < GEOMETRIC_CAP))
		return UINT64_MAX;
	return (uint64_t)g;
}

/* ---- configuration ------------------------------------------------------ */

void impair_config_default(struct impair_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->rate_bps = IMPAIR_DEFAULT_RATE_BPS;
	cfg->latency_ms = IMPAIR_DEFAULT_LATENCY_MS;
	cfg->burst_bytes = IMPAIR_DEFAULT_BURST_BYTES;
}

static int refuse(char *why, size_t cap, const char *msg)
{
	if (why && cap > 0)
		snprintf(why, cap, "%s", msg);
	return ERR_INVAL;
}

static bool is_probability(double p)
{
	return p >= 0.0 && p <= 1.0;   /* false for NaN too */
}

int impair_config_check(const struct impair_config *cfg, char *why, size_t cap)
{
	if (!cfg)
		return refuse(why, cap, "no configuration");
	if (cfg->rate_bps < IMPAIR_RATE_MIN_BPS || cfg->rate_bps > IMPAIR_RATE_MAX_BPS)
		return refuse(why, cap, "rate must be 1..100000000 bit/s");
	if (cfg->latency_ms > IMPAIR_DELAY_MAX_MS)
		return refuse(why, cap, "latency must be 0..600000 ms");
	if (cfg->jitter_ms > IMPAIR_DELAY_MAX_MS)
		return refuse(why, cap, "jitter must be 0..600000 ms");
	if (!is_probability(cfg->ber))
		return refuse(why, cap, "ber must be a probability in 0..1");
	if (!is_probability(cfg->loss))
		return refuse(why, cap, "loss must be a probability in 0..1");
	if (cfg->burst_bytes < 1u || cfg->burst_bytes > IMPAIR_BURST_MAX)
		return refuse(why, cap, "burst must be 1..65536 bytes");
	if (cfg->n_outages > IMPAIR_OUTAGE_MAX)
		return refuse(why, cap, "too many outages (at most 32)");
	for (size_t i = 0; i < cfg->n_outages; i++) {
		const struct impair_outage *o = &cfg->outages[i];
		if (o->duration_ms == 0 || o->duration_ms > IMPAIR_OUTAGE_MAX_MS ||
		    o->start_ms > IMPAIR_OUTAGE_MAX_MS)
			return refuse(why, cap, "outage start and duration must be 0..1 year, duration > 0");
	}
	return 0;
}

/* Parses a non-negative decimal number of seconds ending at `stop`. */
static int parse_seconds(const char *s, char stop, const char **end, uint64_t *ms)
{
	if (*s < '0' || *s > '9') {
		if (*s != '.')
			return ERR_INVAL;   /* no sign, space, "inf", "nan" */
	}
	char *e = NULL;
	double v = strtod(s, &e);
	if (e == s || *e != stop || !(v >= 0.0) || !isfinite(v))
		return ERR_INVAL;
	double v_ms = v * MS_PER_S;
	if (v_ms > (double)IMPAIR_OUTAGE_MAX_MS)
		return ERR_INVAL;
	*ms = (uint64_t)llround(v_ms);
	*end = e;
	return 0;
}

int impair_config_add_outage(struct impair_config *cfg, const char *text)
{
	if (!cfg || !text)
		return ERR_INVAL;
	if (cfg->n_outages >= IMPAIR_OUTAGE_MAX)
		return ERR_FULL;
	struct impair_outage o;
	const char *p = text;
	if (parse_seconds(p, ':', &p, &o.start_ms) != 0)
		return ERR_INVAL;
	p++;   /* the ':' */
	if (parse_seconds(p, '\0', &p, &o.duration_ms) != 0 || o.duration_ms == 0)
		return ERR_INVAL;
	cfg->outages[cfg->n_outages++] = o;
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

int impair_init(struct impair *im, const struct impair_config *cfg, uint64_t seed,
		uint64_t start_ms)
{
	if (!im || impair_config_check(cfg, NULL, 0) != 0)
		return ERR_INVAL;
	memset(im, 0, sizeof *im);
	im->cfg = *cfg;
	uint64_t x = seed;
	for (size_t i = 0; i < 4; i++)
		im->rng[i] = splitmix64(&x);
	im->start_ms = start_ms;
	/*
	 * A burst starts at a good byte with probability q.  Gaps average
	 * (1-q)/q good bytes, bursts B lost ones, so the lost fraction is
	 * qB / (qB + 1 - q); solving for a fraction of exactly P gives
	 * q = P / (B(1-P) + P).  (P/B is its small-P approximation.)
	 */
	double p = cfg->loss, b = (double)cfg->burst_bytes;
	im->burst_start_p = p > 0.0 ? p / (b * (1.0 - p) + p) : 0.0;
	im->gap_bytes = geometric(im->rng, im->burst_start_p);
	im->gap_bits = geometric(im->rng, cfg->ber);
	return 0;
}

static uint64_t relative_ms(const struct impair *im, uint64_t now_ms)
{
	if (now_ms <= im->start_ms)
		return 0;
	uint64_t rel = now_ms - im->start_ms;
	return rel > IMPAIR_TIME_MAX_MS ? IMPAIR_TIME_MAX_MS : rel;
}

/* Whether a scheduled outage covers rel ms after start. */
static bool scheduled_outage(const struct impair *im, uint64_t rel)
{
	for (size_t i = 0; i < im->cfg.n_outages; i++) {
		const struct impair_outage *o = &im->cfg.outages[i];
		if (rel >= o->start_ms && rel - o->start_ms < o->duration_ms)
			return true;
	}
	return false;
}

bool impair_in_outage(const struct impair *im, uint64_t now_ms)
{
	return im->manual_outage || scheduled_outage(im, relative_ms(im, now_ms));
}

void impair_set_manual_outage(struct impair *im, bool on)
{
	im->manual_outage = on;
}

uint64_t impair_backlog_ms(const struct impair *im, uint64_t now_ms)
{
	uint64_t rate = im->cfg.rate_bps;
	uint64_t free_ms = im->tx_free_units / rate + (im->tx_free_units % rate != 0);
	uint64_t rel = relative_ms(im, now_ms);
	return free_ms > rel ? free_ms - rel : 0;
}

/* Decides whether the next byte on air is lost to a burst. */
static bool burst_takes(struct impair *im)
{
	if (im->burst_left > 0) {
		im->burst_left--;
		return true;
	}
	if (im->burst_start_p <= 0.0)
		return false;
	if (im->gap_bytes > 0) {
		im->gap_bytes--;
		return false;
	}
	im->burst_left = im->cfg.burst_bytes - 1u;
	im->gap_bytes = geometric(im->rng, im->burst_start_p);
	return true;
}

/* Flips each bit of *b with probability ber, skipping geometrically. */
static void flip_bits(struct impair *im, uint8_t *b)
{
	if (!(im->cfg.ber > 0.0))
		return;
	uint64_t pos = 0;
	while (im->gap_bits < BITS_PER_BYTE - pos) {
		pos += im->gap_bits;
		*b = (uint8_t)(*b ^ (1u << pos));
		im->stats.flipped_bits++;
		pos++;
		im->gap_bits = geometric(im->rng, im->cfg.ber);
	}
	im->gap_bits -= BITS_PER_BYTE - pos;
}

int impair_push(struct impair *im, uint64_t now_ms, uint8_t *buf, size_t n,
		struct impair_verdict *out)
{
	if (n == 0)
		return 0;
	if (!im || !buf || !out)
		return ERR_INVAL;
	im->stats.bytes_in += n;
	uint64_t arrival = relative_ms(im, now_ms);
	if (im->cfg.jitter_ms > 0)
		arrival += rng_next(im->rng) % ((uint64_t)im->cfg.jitter_ms + 1u);
	if (arrival < im->last_arrival_ms)
		arrival = im->last_arrival_ms;   /* never overtake an earlier chunk */
	im->last_arrival_ms = arrival;

	uint64_t rate = im->cfg.rate_bps;
	uint64_t arrival_units = arrival * rate;
	if (im->tx_free_units < arrival_units)
		im->tx_free_units = arrival_units;
	bool check_schedule = im->cfg.n_outages > 0 && !im->manual_outage;
	for (size_t i = 0; i < n; i++) {
		uint64_t start_ms = im->tx_free_units / rate;   /* this byte goes on air */
		im->tx_free_units += UNITS_PER_BYTE;
		uint64_t done_ms = im->tx_free_units / rate + (im->tx_free_units % rate != 0);
		out[i].due_ms = im->start_ms + done_ms + im->cfg.latency_ms;
		if (im->manual_outage || (check_schedule && scheduled_outage(im, start_ms))) {
			out[i].fate = IMPAIR_OUTAGE;
			im->stats.outage_bytes++;
			continue;
		}
		if (burst_takes(im)) {
			out[i].fate = IMPAIR_LOST;
			im->stats.dropped_bytes++;
			continue;
		}
		out[i].fate = IMPAIR_DELIVER;
		flip_bits(im, &buf[i]);
	}
	return 0;
}
