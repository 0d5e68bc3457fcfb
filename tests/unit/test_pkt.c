/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the NFLOG packet header parser fg_pkt_parse() (daemon/nflog.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "daemon/nflog.h"

/* ---- packet builders ------------------------------------------------------ */

static size_t ip4(uint8_t *p, uint8_t proto, const char *src, const char *dst,
		  size_t optlen, uint16_t total, uint16_t frag)
{
	size_t ihl = 20 + optlen;
	memset(p, 0, ihl);
	p[0] = (uint8_t)(0x40 | (ihl / 4));
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	for (size_t i = 20; i < ihl; i++)
		p[i] = 1;   /* NOP options */
	return ihl;
}

static size_t ip6(uint8_t *p, uint8_t next, const char *src, const char *dst, uint16_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = next;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	return 40;
}

static size_t ports(uint8_t *p, uint16_t s, uint16_t d)
{
	p[0] = (uint8_t)(s >> 8);
	p[1] = (uint8_t)s;
	p[2] = (uint8_t)(d >> 8);
	p[3] = (uint8_t)d;
	return 4;
}

static size_t tcp(uint8_t *p, uint16_t s, uint16_t d, uint8_t flags)
{
	memset(p, 0, 20);
	ports(p, s, d);
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

static size_t udp(uint8_t *p, uint16_t s, uint16_t d)
{
	memset(p, 0, 8);
	ports(p, s, d);
	p[5] = 8;
	return 8;
}

/* generic extension header (hop-by-hop, routing, destination options) of
 * 8 * (units + 1) octets */
static size_t ext(uint8_t *p, uint8_t next, uint8_t units)
{
	size_t len = ((size_t)units + 1) * 8;
	memset(p, 0, len);
	p[0] = next;
	p[1] = units;
	return len;
}

static void assert_addr(int family, const uint8_t *got, const char *want)
{
	uint8_t w[16];
	assert_int_equal(inet_pton(family, want, w), 1);
	assert_memory_equal(got, w, family == AF_INET ? 4 : 16);
}

/* ---- IPv4 ---------------------------------------------------------------- */

static void test_v4_tcp_syn(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = ip4(b, IPPROTO_TCP, "203.0.113.9", "198.51.100.77", 0, 40, 0x4000);
	n += tcp(b + n, 51000, 443, 0x02);
	fg_pkt_info_t pi;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.family, AF_INET);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 51000);
	assert_int_equal(pi.dport, 443);
	assert_int_equal(pi.tcp_flags, 0x02);
	assert_addr(AF_INET, pi.src, "203.0.113.9");
	assert_addr(AF_INET, pi.dst, "198.51.100.77");
}

static void test_v4_udp_with_options(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 8, 36, 0);
	n += udp(b + n, 5353, 53);
	fg_pkt_info_t pi;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 5353);
	assert_int_equal(pi.dport, 53);
	assert_int_equal(pi.tcp_flags, 0);
}

static void test_v4_later_fragment_has_no_ports(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 0, 28, 185); /* offset 1480 */
	n += udp(b + n, 1, 2);
	fg_pkt_info_t pi;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_false(pi.has_ports);
	assert_int_equal(pi.sport, 0);
	/* the first fragment (MF set, offset 0) carries the ports */
	n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 0, 28, 0x2000);
	n += udp(b + n, 1, 2);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_true(pi.has_ports);
}

static void test_v4_truncated(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = ip4(b, IPPROTO_TCP, "192.0.2.1", "198.51.100.2", 0, 40, 0);
	n += tcp(b + n, 1000, 80, 0x02);
	fg_pkt_info_t pi;
	/* every cut inside the IP header fails, never reads past the end */
	for (size_t cut = 0; cut < 20; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, b, cut);
		assert_int_equal(fg_pkt_parse(copy, cut, &pi), -FG_ETRUNC);
		free(copy);
	}
	/* header complete, transport cut: addresses without ports */
	for (size_t cut = 20; cut < 24; cut++) {
		assert_int_equal(fg_pkt_parse(b, cut, &pi), 0);
		assert_false(pi.has_ports);
		assert_int_equal(pi.proto, IPPROTO_TCP);
	}
	/* ports present, flags cut off */
	assert_int_equal(fg_pkt_parse(b, 24, &pi), 0);
	assert_true(pi.has_ports);
	assert_int_equal(pi.tcp_flags, 0);
	/* options announced but cut */
	n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 12, 40, 0);
	assert_int_equal(fg_pkt_parse(b, 24, &pi), -FG_ETRUNC);
}

static void test_v4_malformed(void **state)
{
	(void)state;
	uint8_t b[64];
	fg_pkt_info_t pi;
	size_t n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 0, 28, 0);
	n += udp(b + n, 1, 2);
	b[0] = 0x44;                 /* IHL 16 octets */
	assert_int_equal(fg_pkt_parse(b, n, &pi), -FG_EMALF);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = 19;                   /* total length below the header */
	assert_int_equal(fg_pkt_parse(b, n, &pi), -FG_EMALF);
	b[3] = 28;
	b[0] = 0x55;                 /* version 5 */
	assert_int_equal(fg_pkt_parse(b, n, &pi), -FG_EMALF);
	assert_int_equal(pi.family, 0);   /* output cleared on failure */
}

static void test_v4_total_length_bounds_transport(void **state)
{
	(void)state;
	uint8_t b[64];
	fg_pkt_info_t pi;
	/* total length says 20: what follows is link padding, not UDP */
	size_t n = ip4(b, IPPROTO_UDP, "192.0.2.1", "198.51.100.2", 0, 20, 0);
	n += udp(b + n, 7, 9);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_false(pi.has_ports);
}

/* ---- IPv6 ---------------------------------------------------------------- */

static void test_v6_udp(void **state)
{
	(void)state;
	uint8_t b[128];
	size_t n = ip6(b, IPPROTO_UDP, "2001:db8:1::5", "2001:db8:77::abcd", 8);
	n += udp(b + n, 40000, 8443);
	fg_pkt_info_t pi;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.family, AF_INET6);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 40000);
	assert_int_equal(pi.dport, 8443);
	assert_addr(AF_INET6, pi.src, "2001:db8:1::5");
	assert_addr(AF_INET6, pi.dst, "2001:db8:77::abcd");
}

static void test_v6_extension_chain(void **state)
{
	(void)state;
	uint8_t b[256];
	/* hop-by-hop -> destination options -> routing -> destination
	 * options (16 octets) -> TCP */
	size_t n = ip6(b, IPPROTO_HOPOPTS, "2001:db8::1", "2001:db8::2", 0);
	n += ext(b + n, IPPROTO_DSTOPTS, 0);
	n += ext(b + n, IPPROTO_ROUTING, 0);
	n += ext(b + n, IPPROTO_DSTOPTS, 1);
	n += ext(b + n, IPPROTO_TCP, 0);
	n += tcp(b + n, 1234, 80, 0x12);
	fg_pkt_info_t pi;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_TCP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.sport, 1234);
	assert_int_equal(pi.dport, 80);
	assert_int_equal(pi.tcp_flags, 0x12);
}

static void test_v6_ah_and_fragment(void **state)
{
	(void)state;
	uint8_t b[256];
	fg_pkt_info_t pi;
	/* AH: length in 4-octet units minus 2; 12 octets of ICV -> len 4 */
	size_t n = ip6(b, IPPROTO_AH, "2001:db8::1", "2001:db8::2", 0);
	memset(b + n, 0, 24);
	b[n] = IPPROTO_FRAGMENT;
	b[n + 1] = 4;
	n += 24;
	/* first fragment (offset 0, M set) */
	memset(b + n, 0, 8);
	b[n] = IPPROTO_UDP;
	b[n + 3] = 1;
	n += 8;
	n += udp(b + n, 99, 100);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_true(pi.has_ports);
	assert_int_equal(pi.dport, 100);

	/* a later fragment: protocol known, ports not */
	n = ip6(b, IPPROTO_FRAGMENT, "2001:db8::1", "2001:db8::2", 0);
	memset(b + n, 0, 8);
	b[n] = IPPROTO_UDP;
	b[n + 2] = 0x05;   /* offset 0x05 << 5 units */
	b[n + 3] = 0xa8;
	n += 8;
	n += udp(b + n, 99, 100);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_UDP);
	assert_false(pi.has_ports);
}

static void test_v6_truncated_and_long_chains(void **state)
{
	(void)state;
	uint8_t b[512];
	fg_pkt_info_t pi;
	size_t n = ip6(b, IPPROTO_DSTOPTS, "2001:db8::1", "2001:db8::2", 0);
	n += ext(b + n, IPPROTO_UDP, 2);
	n += udp(b + n, 1, 2);
	for (size_t cut = 0; cut < 40; cut++)
		assert_int_equal(fg_pkt_parse(b, cut, &pi), -FG_ETRUNC);
	/* cut inside the extension header: addresses, no transport */
	for (size_t cut = 40; cut < 64; cut++) {
		assert_int_equal(fg_pkt_parse(b, cut, &pi), 0);
		assert_int_equal(pi.proto, IPPROTO_DSTOPTS);
		assert_false(pi.has_ports);
		assert_addr(AF_INET6, pi.dst, "2001:db8::2");
	}
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_true(pi.has_ports);

	/* nine destination options headers: beyond the walk's bound */
	n = ip6(b, IPPROTO_DSTOPTS, "2001:db8::1", "2001:db8::2", 0);
	for (int i = 0; i < 9; i++)
		n += ext(b + n, i == 8 ? IPPROTO_UDP : IPPROTO_DSTOPTS, 0);
	n += udp(b + n, 1, 2);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_false(pi.has_ports);

	/* payload length shorter than the captured bytes bounds the walk */
	n = ip6(b, IPPROTO_UDP, "2001:db8::1", "2001:db8::2", 2);
	n += udp(b + n, 1, 2);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_false(pi.has_ports);

	/* no next header */
	n = ip6(b, IPPROTO_NONE, "2001:db8::1", "2001:db8::2", 0);
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_NONE);
	assert_false(pi.has_ports);
}

static void test_icmp_has_no_ports(void **state)
{
	(void)state;
	uint8_t b[64];
	fg_pkt_info_t pi;
	size_t n = ip4(b, IPPROTO_ICMP, "192.0.2.1", "198.51.100.2", 0, 28, 0);
	memset(b + n, 8, 8);
	n += 8;
	assert_int_equal(fg_pkt_parse(b, n, &pi), 0);
	assert_int_equal(pi.proto, IPPROTO_ICMP);
	assert_false(pi.has_ports);
}

/* Random and mutated inputs: the parser must never read out of bounds
 * (run under ASan) and must either fail cleanly or fill a sane result. */
static void test_random_inputs(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t seed4[64], seed6[128];
	size_t n4 = ip4(seed4, IPPROTO_TCP, "192.0.2.1", "198.51.100.2", 0, 40, 0);
	n4 += tcp(seed4 + n4, 1, 2, 2);
	size_t n6 = ip6(seed6, IPPROTO_HOPOPTS, "2001:db8::1", "2001:db8::2", 0);
	n6 += ext(seed6 + n6, IPPROTO_FRAGMENT, 0);
	memset(seed6 + n6, 0, 8);
	seed6[n6] = IPPROTO_TCP;
	n6 += 8;
	n6 += tcp(seed6 + n6, 1, 2, 2);

	for (int iter = 0; iter < 200000; iter++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const uint8_t *seed = (x & 1) ? seed4 : seed6;
		size_t slen = (x & 1) ? n4 : n6;
		size_t len = (size_t)((x >> 8) % (slen + 8));
		uint8_t *buf = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = i < slen ? seed[i] : (uint8_t)(x >> (i % 56));
		/* flip a few octets */
		for (int k = 0; k < 3 && len; k++)
			buf[(x >> (16 + 8 * k)) % len] ^= (uint8_t)(x >> (40 + k));
		fg_pkt_info_t pi;
		int rc = fg_pkt_parse(buf, len, &pi);
		if (rc == 0) {
			assert_true(pi.family == AF_INET || pi.family == AF_INET6);
			if (!pi.has_ports) {
				assert_int_equal(pi.sport, 0);
				assert_int_equal(pi.dport, 0);
			}
		} else {
			assert_true(rc == -FG_ETRUNC || rc == -FG_EMALF);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp_syn),
		cmocka_unit_test(test_v4_udp_with_options),
		cmocka_unit_test(test_v4_later_fragment_has_no_ports),
		cmocka_unit_test(test_v4_truncated),
		cmocka_unit_test(test_v4_malformed),
		cmocka_unit_test(test_v4_total_length_bounds_transport),
		cmocka_unit_test(test_v6_udp),
		cmocka_unit_test(test_v6_extension_chain),
		cmocka_unit_test(test_v6_ah_and_fragment),
		cmocka_unit_test(test_v6_truncated_and_long_chains),
		cmocka_unit_test(test_icmp_has_no_ports),
		cmocka_unit_test(test_random_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
