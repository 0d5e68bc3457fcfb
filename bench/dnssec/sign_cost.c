/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cost of one online signature, as a granted answer pays it: an RRSIG over
 * a one-record A RRset with a fresh address each time (no cache), for
 * ECDSAP256SHA256 and Ed25519, one thread. Prints p50/p99/mean in µs.
 * Not a test: the figures depend on the machine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"

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
	static const uint8_t alg[2] = { FG_DNSSEC_ALG_ECDSAP256, FG_DNSSEC_ALG_ED25519 };
	uint64_t *t = calloc(n ? n : 1, sizeof(*t));
	if (!t || !n)
		return 1;
	for (int a = 0; a < 2; a++) {
		fg_dnskey_t k;
		char err[256];
		if (fg_dnskey_generate("example.test", alg[a], 256, &k, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		fg_sigparams_t sp = { 1000, 2000, k.owner };
		/* as the signer does: a context prepared once, copied per signature */
		EVP_MD_CTX *tpl = fg_rrsig_prepare(&k);
		uint8_t sig[FG_RRSIG_MAX];
		for (unsigned i = 0; i < n; i++) {
			uint8_t addr[4] = { 198, 51, (uint8_t)(i >> 8), (uint8_t)i };
			fg_rdref_t rr = { addr, 4 };
			uint64_t t0 = ns_now();
			int len = fg_rrsig_sign_with(&k, tpl, NULL, &sp,
						     (const uint8_t *)"\003www\007example\004test",
						     1, 5, &rr, 1, sig, sizeof(sig));
			t[i] = ns_now() - t0;
			if (len < 0)
				return 1;
		}
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += t[i];
		qsort(t, n, sizeof(*t), cmp);
		printf("%-16s n=%u  p50 %.1f us  p99 %.1f us  mean %.1f us\n",
		       fg_dnssec_alg_name(alg[a]), n, t[n / 2] / 1e3, t[(n * 99) / 100] / 1e3,
		       (double)sum / n / 1e3);
		EVP_MD_CTX_free(tpl);
		fg_dnskey_clear(&k);
	}
	free(t);
	return 0;
}
