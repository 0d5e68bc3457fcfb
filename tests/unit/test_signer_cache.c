/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The signer's content cache of single-address RRsets (granted answers):
 * one signature per distinct (owner, type, TTL, address), reused until
 * within rrsig-refresh of its expiration (pinned clock), every reused
 * RRSIG verifies, a collision replaces the slot, and other RRsets (more
 * than one record, other types, static keys) keep their own rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"
#include "dns/dnssec/signer.h"

#define LIFETIME 86400u
#define REFRESH  3600u
#define T0       1700000000u

static uint32_t now = T0;
static uint32_t clock_fn(void *ctx)
{
	(void)ctx;
	return now;
}

static const uint8_t apex[] = "\007example\003net";
static const uint8_t www[] = "\003www\007example\003net";
static const uint8_t www_caps[] = "\003WwW\007eXample\003NET";
static const uint8_t ftp[] = "\003ftp\007example\003net";

static uint8_t zsk_rd[FG_DNSKEY_RDMAX];
static uint16_t zsk_len;

/* A CSK-less zone: KSK + ZSK, the ZSK signs addresses. */
static fg_signer_t *make(unsigned slots)
{
	char err[256];
	fg_dnskey_t k, z;
	fg_signer_t *s = fg_signer_new(apex, LIFETIME, REFRESH, 300, clock_fn, NULL);
	assert_non_null(s);
	if (slots != FG_SIGNER_ADDR_SLOTS)
		assert_int_equal(fg_signer_set_addr_slots(s, slots), 0);
	assert_int_equal(fg_dnskey_generate("example.net", 13, 257, &k, err, sizeof(err)), 0);
	assert_int_equal(fg_dnskey_generate("example.net", 13, 256, &z, err, sizeof(err)), 0);
	memcpy(zsk_rd, z.rdata, z.rdlen);
	zsk_len = z.rdlen;
	assert_int_equal(fg_signer_add_key(s, &k, T0, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_add_key(s, &z, T0, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_freeze(s, err, sizeof(err)), 0);
	return s;
}

static int sign(fg_signer_t *s, const uint8_t *owner, uint16_t type, uint32_t ttl,
		const uint8_t *addr, uint16_t alen, uint8_t *out)
{
	fg_rdref_t rr = { addr, alen };
	int n = fg_signer_sign(s, NULL, owner, type, ttl, &rr, 1, out, FG_RRSIG_MAX);
	assert_true(n > 0);
	/* whatever the cache did, a validator accepts it */
	assert_int_equal(fg_rrsig_verify(zsk_rd, zsk_len, owner, type, ttl, &rr, 1, out,
					 (size_t)n), 0);
	return n;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static fg_signer_stats_t stats(const fg_signer_t *s)
{
	fg_signer_stats_t st;
	fg_signer_stats(s, &st);
	return st;
}

static const uint8_t a1[4] = { 192, 0, 2, 1 }, a2[4] = { 192, 0, 2, 2 };
static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

/* Same RRset: one signature, then the same bytes (ECDSA signatures are
 * randomised, so equal bytes prove reuse); owner case does not matter. */
static void test_hit(void **state)
{
	(void)state;
	now = T0;
	fg_signer_t *s = make(FG_SIGNER_ADDR_SLOTS);
	uint8_t first[FG_RRSIG_MAX], out[FG_RRSIG_MAX];
	int n0 = sign(s, www, 1, 60, a1, 4, first);
	for (int i = 0; i < 5; i++) {
		now = T0 + (uint32_t)i * 100;
		int n = sign(s, i & 1 ? www_caps : www, 1, 60, a1, 4, out);
		assert_int_equal(n, n0);
		assert_memory_equal(out, first, (size_t)n);
	}
	fg_signer_stats_t st = stats(s);
	assert_int_equal(st.signatures, 1);
	assert_int_equal(st.addr_misses, 1);
	assert_int_equal(st.addr_hits, 5);
	assert_int_equal(st.static_hits, 0);
	fg_signer_free(s);
}

/* Any part of the identity that differs is another entry, and each of
 * them is then a hit of its own. */
static void test_distinct(void **state)
{
	(void)state;
	now = T0;
	fg_signer_t *s = make(FG_SIGNER_ADDR_SLOTS);
	uint8_t sig[6][FG_RRSIG_MAX], out[FG_RRSIG_MAX];
	int len[6];
	len[0] = sign(s, www, 1, 60, a1, 4, sig[0]);
	len[1] = sign(s, www, 1, 30, a1, 4, sig[1]);      /* TTL */
	len[2] = sign(s, www, 1, 60, a2, 4, sig[2]);      /* address */
	len[3] = sign(s, ftp, 1, 60, a1, 4, sig[3]);      /* owner */
	len[4] = sign(s, www, 28, 60, v6, 16, sig[4]);    /* type */
	len[5] = sign(s, ftp, 28, 60, v6, 16, sig[5]);
	fg_signer_stats_t st = stats(s);
	assert_int_equal(st.addr_misses, 6);
	assert_int_equal(st.addr_hits, 0);
	assert_int_equal(st.signatures, 6);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < i; j++)
			assert_false(len[i] == len[j] && !memcmp(sig[i], sig[j], (size_t)len[i]));
	/* all six are cached (4096 slots: a collision among six is
	 * possible in principle, so count hits rather than demand six) */
	const uint8_t *own[6] = { www, www, www, ftp, www, ftp };
	const uint16_t ty[6] = { 1, 1, 1, 1, 28, 28 };
	const uint32_t tl[6] = { 60, 30, 60, 60, 60, 60 };
	const uint8_t *ad[6] = { a1, a1, a2, a1, v6, v6 };
	unsigned same = 0;
	for (int i = 0; i < 6; i++) {
		int n = sign(s, own[i], ty[i], tl[i], ad[i], ty[i] == 1 ? 4 : 16, out);
		same += n == len[i] && !memcmp(out, sig[i], (size_t)n);
	}
	st = stats(s);
	assert_int_equal(st.addr_hits, same);
	assert_true(same >= 4);
	fg_signer_free(s);
}

/* Reused until rrsig-refresh before the expiration, then signed again
 * with a later validity window; the new signature is then reused. */
static void test_refresh(void **state)
{
	(void)state;
	now = T0;
	fg_signer_t *s = make(FG_SIGNER_ADDR_SLOTS);
	uint8_t first[FG_RRSIG_MAX], out[FG_RRSIG_MAX], second[FG_RRSIG_MAX];
	int n0 = sign(s, www, 1, 60, a1, 4, first);
	assert_int_equal(be32(first + 8), T0 + LIFETIME);     /* expiration */
	now = T0 + LIFETIME - REFRESH - 1;                    /* last second of reuse */
	int n = sign(s, www, 1, 60, a1, 4, out);
	assert_int_equal(n, n0);
	assert_memory_equal(out, first, (size_t)n);
	now = T0 + LIFETIME - REFRESH;                        /* refresh due */
	n = sign(s, www, 1, 60, a1, 4, second);
	assert_int_equal(be32(second + 8), now + LIFETIME);
	assert_int_equal(be32(second + 12), now - FG_SIGNER_BACKDATE);  /* inception */
	now += 10;
	int m = sign(s, www, 1, 60, a1, 4, out);
	assert_int_equal(m, n);
	assert_memory_equal(out, second, (size_t)m);
	fg_signer_stats_t st = stats(s);
	assert_int_equal(st.signatures, 2);
	assert_int_equal(st.addr_hits, 2);
	assert_int_equal(st.addr_misses, 2);
	fg_signer_free(s);
}

/* One slot: every RRset collides. The newcomer replaces the entry, the
 * old one is signed again (never answered with the other's signature). */
static void test_collision(void **state)
{
	(void)state;
	now = T0;
	fg_signer_t *s = make(1);
	uint8_t x[FG_RRSIG_MAX], y[FG_RRSIG_MAX], out[FG_RRSIG_MAX];
	int nx = sign(s, www, 1, 60, a1, 4, x);
	int ny = sign(s, www, 1, 60, a2, 4, y);     /* replaces x */
	int n = sign(s, www, 1, 60, a2, 4, out);    /* hit on y */
	assert_int_equal(n, ny);
	assert_memory_equal(out, y, (size_t)n);
	n = sign(s, www, 1, 60, a1, 4, out);        /* miss: signed afresh, verified */
	assert_false(n == nx && !memcmp(out, x, (size_t)n));
	fg_signer_stats_t st = stats(s);
	assert_int_equal(st.addr_hits, 1);
	assert_int_equal(st.addr_misses, 3);
	assert_int_equal(st.signatures, 3);
	fg_signer_free(s);
}

/* Off (0 slots): every answer signed; slot counts are checked; RRsets
 * that are not one address, or have a static key, are not content-cached. */
static void test_scope(void **state)
{
	(void)state;
	now = T0;
	fg_signer_t *s = fg_signer_new(apex, LIFETIME, REFRESH, 300, clock_fn, NULL);
	assert_int_equal(fg_signer_set_addr_slots(s, (1u << 20) + 1), -EINVAL);
	assert_int_equal(fg_signer_set_addr_slots(s, 3), 0);   /* rounded up to 4 */
	fg_signer_free(s);

	s = make(0);
	uint8_t out[FG_RRSIG_MAX];
	for (int i = 0; i < 3; i++)
		sign(s, www, 1, 60, a1, 4, out);
	fg_signer_stats_t st = stats(s);
	assert_int_equal(st.signatures, 3);
	assert_int_equal(st.addr_hits + st.addr_misses, 0);
	fg_signer_free(s);

	s = make(FG_SIGNER_ADDR_SLOTS);
	fg_rdref_t two[2] = { { a1, 4 }, { a2, 4 } };
	for (int i = 0; i < 2; i++)
		assert_true(fg_signer_sign(s, NULL, www, 1, 60, two, 2, out, sizeof(out)) > 0);
	static const uint8_t txt[] = "\003abc";
	fg_rdref_t t = { txt, 4 };
	for (int i = 0; i < 2; i++)
		assert_true(fg_signer_sign(s, NULL, www, 16, 60, &t, 1, out, sizeof(out)) > 0);
	st = stats(s);
	assert_int_equal(st.signatures, 4);
	assert_int_equal(st.addr_hits + st.addr_misses, 0);
	/* a static RRset keeps the identity cache: hits counted there */
	static const int node = 0;
	fg_rdref_t one = { a1, 4 };
	for (int i = 0; i < 3; i++)
		assert_true(fg_signer_sign(s, &node, www, 1, 60, &one, 1, out, sizeof(out)) > 0);
	st = stats(s);
	assert_int_equal(st.static_misses, 1);
	assert_int_equal(st.static_hits, 2);
	assert_int_equal(st.addr_hits + st.addr_misses, 0);
	/* a reload's signer starts from the old counters */
	fg_signer_t *s2 = make(FG_SIGNER_ADDR_SLOTS);
	fg_signer_carry_stats(s2, s);
	fg_signer_stats_t st2 = stats(s2);
	assert_int_equal(st2.signatures, st.signatures);
	assert_int_equal(st2.static_hits, 2);
	fg_signer_free(s2);
	fg_signer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_collision),
		cmocka_unit_test(test_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
