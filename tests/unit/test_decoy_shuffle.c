/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of DESIR's shuffle (decoy/shuffle.c) and of attacker universes
 * (decoy/universe.c): epoch keys, exact persona counts per epoch, the
 * distribution of the overlap between epochs (it must be that of two
 * independent deals, so a map of one epoch is worth nothing in the next),
 * a blacklist carried across epochs, and universe ids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "decoy/shuffle.h"
#include "decoy/binding.h"
#include "decoy/universe.h"

static const uint8_t root[32] = "0123456789abcdef0123456789abcdef";

static fg_conf_prefix_t pfx(const char *s)
{
	fg_conf_prefix_t p;

	assert_int_equal(fg_conf_parse_prefix(s, &p), 0);
	return p;
}

static void test_epoch_key(void **st)
{
	uint8_t a[32], b[32], c[32], d[32];

	(void)st;
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 7, 0, a), 0);
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 7, 0, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 8, 0, c), 0);
	assert_memory_not_equal(a, c, 32);
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 7, 1, d), 0);
	assert_memory_not_equal(a, d, 32);
	/* a root key shorter than 256 bits is refused */
	assert_int_equal(fd_shuffle_epoch_key(root, 31, 7, 0, a), -EINVAL);
	assert_int_equal(fd_shuffle_epoch_key(NULL, 32, 7, 0, a), -EINVAL);
}

static void test_pool_addresses(void **st)
{
	fg_conf_prefix_t p4 = pfx("198.51.100.0/24"), r = pfx("10.0.0.250-10.0.1.5");
	fg_conf_prefix_t p6 = pfx("2001:db8:77::/120"), big = pfx("2001:db8:77::/64");
	uint8_t a[16], want[16];

	(void)st;
	assert_int_equal(fd_shuffle_pool_size(&p4), 256);
	assert_int_equal(fd_shuffle_pool_size(&r), 12);
	assert_int_equal(fd_shuffle_pool_size(&p6), 256);
	assert_int_equal(fd_shuffle_pool_size(&big), FD_SHUFFLE_MAX_ADDRS + 1);
	/* carry across an octet */
	fd_shuffle_pool_addr(&r, 7, a);
	inet_pton(AF_INET, "10.0.1.1", want);
	assert_memory_equal(a, want, 4);
	assert_int_equal(fd_shuffle_pool_index(&r, AF_INET, a), 7);
	fd_shuffle_pool_addr(&p6, 255, a);
	inet_pton(AF_INET6, "2001:db8:77::ff", want);
	assert_memory_equal(a, want, 16);
	assert_int_equal(fd_shuffle_pool_index(&p6, AF_INET6, a), 255);
	/* outside, other family, unenumerable pool */
	inet_pton(AF_INET, "198.51.101.0", want);
	assert_int_equal(fd_shuffle_pool_index(&p4, AF_INET, want), -1);
	assert_int_equal(fd_shuffle_pool_index(&p6, AF_INET, want), -1);
	inet_pton(AF_INET6, "2001:db8:77::1", want);
	assert_int_equal(fd_shuffle_pool_index(&big, AF_INET6, want), -1);
}

static void count_labels(const uint16_t *l, size_t n, size_t *c, size_t *closed)
{
	memset(c, 0, 4 * sizeof(*c));
	*closed = 0;
	for (size_t i = 0; i < n; i++) {
		if (l[i] == FD_SHUFFLE_CLOSED)
			(*closed)++;
		else {
			assert_true(l[i] < 4);
			c[l[i]]++;
		}
	}
}

static void test_exact_counts(void **st)
{
	fg_conf_prefix_t p = pfx("198.51.100.0/24");
	const double shares[] = { 0.75, 0.2 };
	uint16_t l[256], l2[256];
	uint8_t ek[32];
	size_t c[4], closed;

	(void)st;
	for (uint64_t e = 0; e < 20; e++) {
		assert_int_equal(fd_shuffle_epoch_key(root, 32, e, 0, ek), 0);
		assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, l), 0);
		count_labels(l, 256, c, &closed);
		assert_int_equal(c[0], 192);    /* 0.75 * 256 */
		assert_int_equal(c[1], 51);     /* round(0.95 * 256) - 192 */
		assert_int_equal(closed, 13);
	}
	/* deterministic for one key; another pool id deals differently */
	assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, l2), 0);
	assert_memory_equal(l, l2, sizeof(l));
	assert_int_equal(fd_shuffle_assign(ek, "mail4", &p, shares, 2, l2), 0);
	assert_memory_not_equal(l, l2, sizeof(l));
	/* bad shares are refused */
	const double over[] = { 0.7, 0.4 }, neg[] = { -0.1 };
	assert_int_equal(fd_shuffle_assign(ek, "web4", &p, over, 2, l), -EINVAL);
	assert_int_equal(fd_shuffle_assign(ek, "web4", &p, neg, 1, l), -EINVAL);
	fg_conf_prefix_t big = pfx("2001:db8::/64");
	assert_int_equal(fd_shuffle_assign(ek, "web6", &big, shares, 2, l), -E2BIG);
}

/* Over many epochs the overlap of consecutive deals averages what two
 * independent deals give: sum of (count_i / N)^2. A shuffle that kept
 * addresses in place would sit near 1; one that moved everything by rule
 * (an anti-correlated deal) well below. */
static void test_overlap_distribution(void **st)
{
	fg_conf_prefix_t p = pfx("198.51.100.0/24");
	const double shares[] = { 0.75, 0.2 };
	uint16_t prev[256], cur[256];
	uint8_t ek[32];
	double sum = 0, min = 1, max = 0, expect;
	const int epochs = 400;
	size_t c[4], closed;

	(void)st;
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 0, 0, ek), 0);
	assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, prev), 0);
	count_labels(prev, 256, c, &closed);
	expect = ((double)c[0] * c[0] + (double)c[1] * c[1] + (double)closed * closed) / (256.0 * 256.0);
	for (int e = 1; e <= epochs; e++) {
		assert_int_equal(fd_shuffle_epoch_key(root, 32, (uint64_t)e, 0, ek), 0);
		assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, cur), 0);
		double o = fd_shuffle_overlap(prev, cur, 256);
		sum += o;
		min = o < min ? o : min;
		max = o > max ? o : max;
		memcpy(prev, cur, sizeof(cur));
	}
	double mean = sum / epochs;
	/* the standard deviation of one epoch's overlap is about 0.03; of the
	 * mean of 400 about 0.0015: 0.01 is over six of them */
	assert_true(mean > expect - 0.01 && mean < expect + 0.01);
	assert_true(max < 1.0);
	assert_true(min < expect && max > expect);
}

/* A blacklist of the minority persona's addresses made in epoch e: in e+1
 * it hits that persona no more often than its share (chance). */
static void test_blacklist_worthless(void **st)
{
	fg_conf_prefix_t p = pfx("198.51.100.0/24");
	const double shares[] = { 0.75, 0.25 };
	uint16_t a[256], b[256];
	uint8_t ek[32];
	size_t listed = 0, hits = 0;

	(void)st;
	for (uint64_t e = 0; e < 100; e++) {
		assert_int_equal(fd_shuffle_epoch_key(root, 32, e, 0, ek), 0);
		assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, a), 0);
		assert_int_equal(fd_shuffle_epoch_key(root, 32, e + 1, 0, ek), 0);
		assert_int_equal(fd_shuffle_assign(ek, "web4", &p, shares, 2, b), 0);
		for (size_t i = 0; i < 256; i++)
			if (a[i] == 1) {
				listed++;
				hits += b[i] == 1;
			}
	}
	double rate = (double)hits / (double)listed;
	assert_int_equal(listed, 6400);
	assert_true(rate > 0.25 - 0.03 && rate < 0.25 + 0.03);
}

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return ss;
}

static fd_universe_t uof(const fd_universes_t *u, const struct sockaddr_storage *ss)
{
	fd_addr_t a;

	assert_true(fd_addr_from_sockaddr(ss, &a, NULL));
	return fd_universe_of(u, &a);
}

static void test_universe(void **st)
{
	fd_universes_t u = { .prefix4 = 32, .prefix6 = 64, .epoch = 1 };
	struct sockaddr_storage a = sa("10.0.5.2"), b = sa("10.0.5.3"),
		m = sa("::ffff:10.0.5.2"), x = sa("fd00:5::2"), y = sa("fd00:5::99");

	(void)st;
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 1, 0, u.key), 0);
	fd_universe_t ua = uof(&u, &a), t;
	assert_true(ua.id != 0);
	assert_int_equal(ua.epoch, 1);
	t = uof(&u, &a);
	assert_true(fd_universe_eq(&ua, &t));
	t = uof(&u, &b);
	assert_false(fd_universe_eq(&ua, &t));
	assert_true(ua.id != t.id);
	t = uof(&u, &m);                               /* v4-mapped is v4 */
	assert_true(fd_universe_eq(&ua, &t));
	fd_universe_t ux = uof(&u, &x), uy = uof(&u, &y);  /* same /64 */
	assert_true(fd_universe_eq(&ux, &uy));
	char txt[64];
	fd_universe_text(&ux, txt);
	assert_string_equal(txt, "fd00:5::/64");
	/* a /24 universe holds both IPv4 sources */
	u.prefix4 = 24;
	fd_universe_t a24 = uof(&u, &a), b24 = uof(&u, &b);
	assert_true(fd_universe_eq(&a24, &b24));
	assert_true(a24.id != ua.id);                  /* other prefix length */
	fd_universe_text(&a24, txt);
	assert_string_equal(txt, "10.0.5.0/24");
	/* a new epoch is a new universe, and so a new binding key */
	assert_int_equal(fd_shuffle_epoch_key(root, 32, 2, 0, u.key), 0);
	u.epoch = 2;
	t = uof(&u, &a);
	assert_false(fd_universe_eq(&a24, &t));
	assert_int_equal(t.epoch, 2);
	fd_bindings_t *bt;
	fd_binding_t *bd;
	fd_binding_key_t k1 = { .u = a24, .dst = { AF_INET, { 198, 51, 100, 7 } }, .port = 80, .proto = 6 };
	fd_binding_key_t k2 = k1;
	k2.u = t;
	assert_int_equal(fd_bindings_new(16, 5, &bt), 0);
	assert_int_equal(fd_bindings_add(bt, &k1, 0, 0, 0, &bd), 0);
	assert_non_null(fd_bindings_find(bt, &k1));
	assert_null(fd_bindings_find(bt, &k2));
	fd_bindings_free(bt);
	/* ids are keyed: the text names the id, 16 hex digits */
	fd_universe_id_text(&t, txt);
	assert_int_equal(strlen(txt), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_epoch_key),
		cmocka_unit_test(test_pool_addresses),
		cmocka_unit_test(test_exact_counts),
		cmocka_unit_test(test_overlap_distribution),
		cmocka_unit_test(test_blacklist_worthless),
		cmocka_unit_test(test_universe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
