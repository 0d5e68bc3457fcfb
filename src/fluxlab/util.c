/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fluxlab utilities: clock, PRNG, the think-time/latency distributions,
 * latency histogram, logging. */
#include "fluxlab/lab.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

lab_run_t *g_run;

const char *lab_control_sock(const lab_run_t *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/control.sock", r->workdir);
	if (n < 0 || n >= 100 || (size_t)n >= len)
		snprintf(buf, len, "/tmp/fluxlab-%d.ctl", (int)getpid());
	return buf;
}

double lab_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lab_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fluxlab: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* splitmix64: fast, seedable, good enough for traffic shaping (the lab
 * must be reproducible from the scenario's seed, not unpredictable) */
uint64_t lab_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double lab_rand01(uint64_t *s)
{
	/* (0, 1]: never 0, so log() and pow(u, -1/a) stay finite */
	return ((double)(lab_rand(s) >> 11) + 1.0) / 9007199254740992.0;
}

static double std_normal(uint64_t *s)
{
	double u1 = lab_rand01(s), u2 = lab_rand01(s);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Marsaglia and Tsang's method; shape < 1 through the U^(1/shape) boost. */
static double gamma_sample(double shape, double theta, uint64_t *s)
{
	if (shape < 1.0)
		return gamma_sample(shape + 1.0, theta, s) * pow(lab_rand01(s), 1.0 / shape);
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x = std_normal(s), v = 1.0 + c * x;
		if (v <= 0)
			continue;
		v = v * v * v;
		double u = lab_rand01(s);
		if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
			return d * v * theta;
	}
}

/* one draw times scale, unclamped */
static double draw(const lab_dist_spec_t *d, uint64_t *rng)
{
	double v = 0;
	switch (d->kind) {
	case LAB_DIST_NONE: v = 0; break;
	case LAB_DIST_CONST: v = d->mean; break;
	case LAB_DIST_NORMAL:
		/* truncated at 0 as in the T&E report: negatives become 0 */
		v = d->mean + d->stddev * std_normal(rng);
		if (v < 0)
			v = 0;
		break;
	case LAB_DIST_EXP: v = -d->mean * log(lab_rand01(rng)); break;
	case LAB_DIST_PARETO: v = d->min / pow(lab_rand01(rng), 1.0 / d->shape); break;
	case LAB_DIST_GAMMA: v = gamma_sample(d->shape, d->scale_param, rng); break;
	case LAB_DIST_UNIFORM: v = d->min + (d->max - d->min) * lab_rand01(rng); break;
	}
	return v * d->scale;
}

double lab_sample(const lab_dist_spec_t *d, uint64_t *rng)
{
	double v = draw(d, rng);
	/* a heavy tail must not park a client for the whole run */
	return v > 3600000.0 ? 3600000.0 : v;
}

double lab_sample_bytes(const lab_dist_spec_t *d, uint64_t *rng, double max)
{
	double v = draw(d, rng);
	return v > max ? max : v;
}

/* Histogram buckets: 1 µs resolution below 1 ms, then 64 buckets per
 * power of two: under 1% error, fixed memory. */
static unsigned hist_bucket(uint64_t us)
{
	if (us < 1024)
		return (unsigned)us;
	unsigned lg = 63u - (unsigned)__builtin_clzll(us);   /* >= 10 */
	unsigned sub = (unsigned)((us >> (lg - 6)) & 63);
	unsigned b = 1024 + (lg - 10) * 64 + sub;
	return b < LAB_HIST_BUCKETS ? b : LAB_HIST_BUCKETS - 1;
}

static double bucket_value(unsigned b)
{
	if (b < 1024)
		return b;
	unsigned lg = (b - 1024) / 64 + 10, sub = (b - 1024) % 64;
	return (double)((1ull << lg) + ((uint64_t)sub << (lg - 6)));
}

void lab_hist_add(lab_hist_t *h, uint64_t us)
{
	atomic_fetch_add_explicit(&h->b[hist_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
}

double lab_hist_quantile(const lab_hist_t *h, double q)
{
	uint64_t n = atomic_load(&h->n);
	if (!n)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)n), acc = 0;
	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < LAB_HIST_BUCKETS; b++) {
		acc += atomic_load(&h->b[b]);
		if (acc >= want)
			return bucket_value(b) / 1000.0;
	}
	return bucket_value(LAB_HIST_BUCKETS - 1) / 1000.0;
}
