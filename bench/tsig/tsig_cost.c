/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cost of TSIG on one query, as the server pays it: verify a signed query
 * (HMAC over the message) and sign its answer (HMAC over request MAC +
 * answer), for HMAC-SHA256 and HMAC-SHA512, one thread, a fresh time each
 * round. Prints p50/p99/mean in µs. Not a test: the figures depend on the
 * machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/tsig.h"

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t ns_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
	static const char *const algs[2] = { "hmac-sha256", "hmac-sha512" };
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	if (!t || !n)
		return 1;
	/* www.example.test A, as kdig sends it (with an OPT) */
	static const uint8_t q0[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	for (int a = 0; a < 2; a++) {
		fg_tsig_key_t k;
		char err[128];
		if (fg_tsig_key_init(&k, "bench-key", algs[a],
				     "YmVuY2gta2V5LWZvci1mbHV4Z2F0ZS10c2lnLWJlbmNobWFyaw==", err,
				     sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		uint64_t now = 1764633600;
		for (unsigned i = 0; i < n; i++, now++) {
			uint8_t q[512], r[512];
			fg_tsig_ctx_t cli, srv;
			memcpy(q, q0, sizeof(q0));
			int ql = fg_tsig_sign_request(q, sizeof(q0), sizeof(q), &k, now, 0, &cli);
			memcpy(r, q0, sizeof(q0));
			r[2] |= 0x84;
			uint64_t t0 = ns_now();
			if (fg_tsig_verify_request(q, (size_t)ql, &k, 1, now, &srv) != FG_TSIG_OK ||
			    fg_tsig_sign_response(r, sizeof(q0), sizeof(r), &srv, now) < 0)
				return 2;
			t[i] = ns_now() - t0;
		}
		qsort(t, n, sizeof(*t), cmp);
		double sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += (double)t[i];
		printf("%s: verify + sign per query: p50 %.2f us, p99 %.2f us, mean %.2f us (%u rounds)\n",
		       algs[a], t[n / 2] / 1e3, t[(size_t)(n * 0.99)] / 1e3, sum / n / 1e3, n);
		fg_tsig_key_clear(&k);
	}
	free(t);
	return 0;
}
