/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the nftables element encoding (nft_elem.c): which map a
 * grant goes to, its key there (the pipapo interval, the masked key of the
 * subnet hash maps), and the names of the subnet hash maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dataplane/nft_int.h"

static fg_grant_t grant(int family, int scope, const char *client, unsigned plen,
			const char *addr)
{
	fg_grant_t g = { 0 };

	g.family = (uint8_t)family;
	g.scope = (uint8_t)scope;
	g.client_plen = (uint8_t)plen;
	assert_int_equal(inet_pton(family, client, g.client), 1);
	assert_int_equal(inet_pton(family, addr, g.addr), 1);
	g.timeout_ms = 1000;
	return g;
}

static void ip(int family, const char *s, uint8_t *out)
{
	assert_int_equal(inet_pton(family, s, out), 1);
}

static void test_group(void **state)
{
	fg_nat_config_t c = { .net_hash_plen4 = 24, .net_hash_plen6 = 56 };
	fg_grant_t g;

	(void)state;
	g = grant(AF_INET, FG_SCOPE_NET, "10.1.2.0", 24, "198.51.100.7");
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NETH);
	g.client_plen = 28;
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NET);
	g.client_plen = 25;
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NET);
	g.scope = FG_SCOPE_CLIENT;
	g.client_plen = 32;
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_CLIENT);
	g.scope = FG_SCOPE_ANY;
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_ANY);
	g = grant(AF_INET6, FG_SCOPE_NET, "2001:db8:1:200::", 56, "2001:db8:100::9");
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NETH);
	g.client_plen = 64;
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NET);
	/* no hash length (or a nonsensical one): everything to pipapo */
	c.net_hash_plen4 = 0;
	c.net_hash_plen6 = 128;
	g.client_plen = 128;
	assert_int_equal(fg_nft_hash_plen(&c, AF_INET6), 0);
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NET);
	g = grant(AF_INET, FG_SCOPE_NET, "10.1.2.0", 24, "198.51.100.7");
	assert_int_equal(fg_nft_grant_group(&c, &g), FG_NFT_G_NET);
}

/* The hash key is (client & /plen) . addr: what the rule's bitwise leaves
 * of any saddr of the prefix; host bits of the grant's client are cleared. */
static void test_hash_key(void **state)
{
	fg_grant_t g = grant(AF_INET, FG_SCOPE_NET, "10.1.2.77", 24, "198.51.100.7");
	uint8_t key[32], kend[32], want[32];

	(void)state;
	memset(kend, 0xaa, sizeof(kend));
	assert_int_equal(fg_nft_grant_key(&g, FG_NFT_G_NETH, key, kend), 8);
	ip(AF_INET, "10.1.2.0", want);
	ip(AF_INET, "198.51.100.7", want + 4);
	assert_memory_equal(key, want, 8);
	assert_int_equal(kend[0], 0xaa);   /* no key end for a hash map */
	g.client_plen = 20;
	fg_nft_grant_key(&g, FG_NFT_G_NETH, key, kend);
	ip(AF_INET, "10.1.0.0", want);
	assert_memory_equal(key, want, 8);

	g = grant(AF_INET6, FG_SCOPE_NET, "2001:db8:1:2ff:1::5", 56, "2001:db8:100::9");
	assert_int_equal(fg_nft_grant_key(&g, FG_NFT_G_NETH, key, kend), 32);
	ip(AF_INET6, "2001:db8:1:200::", want);
	ip(AF_INET6, "2001:db8:100::9", want + 16);
	assert_memory_equal(key, want, 32);
}

/* The pipapo element: first . addr .. last . addr. */
static void test_interval_key(void **state)
{
	fg_grant_t g = grant(AF_INET, FG_SCOPE_NET, "10.1.2.16", 28, "198.51.100.7");
	uint8_t key[32], kend[32], want[32];

	(void)state;
	assert_int_equal(fg_nft_grant_key(&g, FG_NFT_G_NET, key, kend), 8);
	ip(AF_INET, "10.1.2.16", want);
	ip(AF_INET, "198.51.100.7", want + 4);
	assert_memory_equal(key, want, 8);
	ip(AF_INET, "10.1.2.31", want);
	assert_memory_equal(kend, want, 8);
	/* exact and anyone keys */
	g.scope = FG_SCOPE_CLIENT;
	assert_int_equal(fg_nft_grant_key(&g, FG_NFT_G_CLIENT, key, kend), 8);
	assert_memory_equal(key, g.client, 4);
	assert_int_equal(fg_nft_grant_key(&g, FG_NFT_G_ANY, key, kend), 4);
	assert_memory_equal(key, g.addr, 4);
}

static void test_names(void **state)
{
	char n[32];

	(void)state;
	fg_nft_group_set(n, sizeof(n), FG_NFT_G_NETH, AF_INET, 24);
	assert_string_equal(n, "grant_net4_24");
	fg_nft_group_set(n, sizeof(n), FG_NFT_G_NETH, AF_INET6, 56);
	assert_string_equal(n, "grant_net6_56");
	fg_nft_group_set(n, sizeof(n), FG_NFT_G_NET, AF_INET6, 56);
	assert_string_equal(n, "grant_net6");
	fg_nft_group_set(n, sizeof(n), FG_NFT_G_CLIENT, AF_INET, 0);
	assert_string_equal(n, "grant_client4");
	assert_int_equal(fg_nft_net_map_plen("grant_net4_24", AF_INET), 24);
	assert_int_equal(fg_nft_net_map_plen("grant_net6_56", AF_INET6), 56);
	assert_int_equal(fg_nft_net_map_plen("grant_net6_56", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net4", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net4_", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net4_32", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net4_0", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net4_2x", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_client4", AF_INET), 0);
	assert_int_equal(fg_nft_net_map_plen("grant_net6_127", AF_INET6), 127);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_hash_key),
		cmocka_unit_test(test_interval_key),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
