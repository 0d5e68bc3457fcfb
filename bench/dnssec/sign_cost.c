/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cost of one online signature, as a granted answer pays it: an RRSIG over
 * a one-record A RRset with a fresh address each time (no cache), for
 * ECDSAP256SHA256 and Ed25519. Prints p50/p99/mean in µs of:
 *   rrsig       the whole RRSIG as the signer makes it now (prepared
 *               context: fg_rrsig_sign_ctx), one thread;
 *   sign-only   the OpenSSL call alone over the same signature input
 *               (ECDSA: EVP_PKEY_sign of the SHA-256 digest on a context
 *               initialised once; Ed25519: DigestSign on a reused context);
 *   old-copy    the former path: EVP_MD_CTX_copy_ex of a template, then
 *               EVP_DigestSign (which duplicates the EVP_PKEY_CTX again);
 *   old-init    EVP_DigestSignInit + EVP_DigestSign per signature;
 * then signatures/s with 2 threads on one fg_signer_t (the daemon's
 * workers), against 2 threads sharing one template under a mutex (before).
 * Not a test: the figures depend on the machine.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"
#include "dns/dnssec/signer.h"

static const uint8_t OWNER[] = "\003www\007example\004test";

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

static void report(const char *alg, const char *what, uint64_t *t, unsigned n)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(*t), cmp);
	printf("%-16s %-10s n=%u  p50 %.1f us  p99 %.1f us  mean %.1f us\n", alg, what, n,
	       t[n / 2] / 1e3, t[(n * 99) / 100] / 1e3, (double)sum / n / 1e3);
}

/* The signature input of a granted A answer (RRSIG head + one record),
 * close enough in size for the OpenSSL-only measurements. */
static size_t sample_input(uint8_t *b, unsigned i)
{
	memset(b, 0x5a, 64);
	b[60] = (uint8_t)(i >> 8);
	b[61] = (uint8_t)i;
	return 64;
}

static uint32_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 100000;
}

struct thr {
	fg_signer_t *s;
	const fg_dnskey_t *k;
	EVP_MD_CTX *tpl;
	pthread_mutex_t *mu;
	unsigned n, seed;
	int rc;
};

static void *thr_signer(void *arg)
{
	struct thr *t = arg;
	uint8_t sig[FG_RRSIG_MAX];
	for (unsigned i = 0; i < t->n && !t->rc; i++) {
		uint8_t addr[4] = { 198, (uint8_t)t->seed, (uint8_t)(i >> 8), (uint8_t)i };
		fg_rdref_t rr = { addr, 4 };
		if (fg_signer_sign(t->s, NULL, OWNER, 1, 5, &rr, 1, sig, sizeof(sig)) < 0)
			t->rc = -1;
	}
	return NULL;
}

static void *thr_shared_tpl(void *arg)
{
	struct thr *t = arg;
	uint8_t in[64], sig[80];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	for (unsigned i = 0; i < t->n && !t->rc; i++) {
		size_t l = sample_input(in, i), sl = sizeof(sig);
		pthread_mutex_lock(t->mu);
		int ok = EVP_MD_CTX_copy_ex(md, t->tpl) == 1;
		pthread_mutex_unlock(t->mu);
		if (!ok || EVP_DigestSign(md, sig, &sl, in, l) != 1)
			t->rc = -1;
	}
	EVP_MD_CTX_free(md);
	return NULL;
}

static double run2(void *(*fn)(void *), struct thr *proto, unsigned n)
{
	struct thr t[2] = { *proto, *proto };
	pthread_t th[2];
	uint64_t t0 = ns_now();
	for (int i = 0; i < 2; i++) {
		t[i].n = n / 2;
		t[i].seed = (unsigned)i;
		pthread_create(&th[i], NULL, fn, &t[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	uint64_t dt = ns_now() - t0;
	return t[0].rc || t[1].rc ? -1 : (double)(n / 2 * 2) / (dt / 1e9);
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
		const char *an = fg_dnssec_alg_name(alg[a]);
		if (fg_dnskey_generate("example.test", alg[a], 257, &k, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		fg_sigparams_t sp = { 1000, 2000, k.owner };
		uint8_t sig[FG_RRSIG_MAX], in[64], out[80];
		fg_signctx_t *c = fg_signctx_new(&k);
		if (!c)
			return 1;
		for (unsigned i = 0; i < n; i++) {
			uint8_t addr[4] = { 198, 51, (uint8_t)(i >> 8), (uint8_t)i };
			fg_rdref_t rr = { addr, 4 };
			uint64_t t0 = ns_now();
			int len = fg_rrsig_sign_ctx(&k, c, &sp, OWNER, 1, 5, &rr, 1, sig, sizeof(sig));
			t[i] = ns_now() - t0;
			if (len < 0)
				return 1;
		}
		report(an, "rrsig", t, n);

		/* the OpenSSL call alone, prepared once */
		const EVP_MD *h = alg[a] == FG_DNSSEC_ALG_ECDSAP256 ? EVP_sha256() : NULL;
		EVP_PKEY_CTX *pk = EVP_PKEY_CTX_new_from_pkey(NULL, k.pkey, NULL);
		EVP_MD_CTX *md = EVP_MD_CTX_new(), *tpl = EVP_MD_CTX_new();
		if (!pk || !md || !tpl || EVP_DigestSignInit(tpl, NULL, h, NULL, k.pkey) != 1)
			return 1;
		if (h && EVP_PKEY_sign_init(pk) != 1)
			return 1;
		if (!h && EVP_DigestSignInit(md, NULL, NULL, NULL, k.pkey) != 1)
			return 1;
		for (unsigned i = 0; i < n; i++) {
			size_t l = sample_input(in, i), sl = sizeof(out);
			uint64_t t0 = ns_now();
			int ok;
			if (h) {
				uint8_t dg[32];
				ok = EVP_Digest(in, l, dg, NULL, h, NULL) == 1 &&
				     EVP_PKEY_sign(pk, out, &sl, dg, sizeof(dg)) == 1;
			} else {
				ok = EVP_DigestSign(md, out, &sl, in, l) == 1;
			}
			t[i] = ns_now() - t0;
			if (!ok)
				return 1;
		}
		report(an, "sign-only", t, n);
		for (unsigned i = 0; i < n; i++) {
			size_t l = sample_input(in, i), sl = sizeof(out);
			uint64_t t0 = ns_now();
			int ok = EVP_MD_CTX_copy_ex(md, tpl) == 1 &&
				 EVP_DigestSign(md, out, &sl, in, l) == 1;
			t[i] = ns_now() - t0;
			if (!ok)
				return 1;
		}
		report(an, "old-copy", t, n);
		for (unsigned i = 0; i < n; i++) {
			size_t l = sample_input(in, i), sl = sizeof(out);
			uint64_t t0 = ns_now();
			EVP_MD_CTX_reset(md);
			int ok = EVP_DigestSignInit(md, NULL, h, NULL, k.pkey) == 1 &&
				 EVP_DigestSign(md, out, &sl, in, l) == 1;
			t[i] = ns_now() - t0;
			if (!ok)
				return 1;
		}
		report(an, "old-init", t, n);

		/* 2 threads, as the daemon's 2 workers */
		fg_signer_t *s = fg_signer_new(k.owner, 3600, 600, 300, fixed_clock, NULL);
		pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
		struct thr proto = { .s = s, .k = &k, .tpl = tpl, .mu = &mu };
		fg_dnskey_t kc = k;     /* the signer takes it over: its own reference */
		if (!s || EVP_PKEY_up_ref(k.pkey) != 1 ||
		    fg_signer_add_key(s, &kc, 0, err, sizeof(err)) < 0 ||
		    fg_signer_freeze(s, err, sizeof(err)) < 0)
			return 1;
		double now2 = run2(thr_signer, &proto, n), old2 = run2(thr_shared_tpl, &proto, n);
		printf("%-16s 2 threads: %.0f signatures/s (per-slot contexts), %.0f/s "
		       "(shared template under a mutex, before)\n", an, now2, old2);
		fg_signer_free(s);
		EVP_PKEY_CTX_free(pk);
		EVP_MD_CTX_free(md);
		EVP_MD_CTX_free(tpl);
		fg_signctx_free(c);
		fg_dnskey_clear(&k);
	}
	free(t);
	return 0;
}
