/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's flood defences (daemon/floods.c): the cookie secret from the
 * config makes RFC 9018 cookies other servers with the same secret accept,
 * a fresh server cookie is set only for queries with a client cookie, the
 * rate-limit table follows the config on reload.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "daemon/floods.h"

static void conf_defaults(fg_conf_t *c, uint32_t rate)
{
	memset(c, 0, sizeof(*c));
	c->rrl.rate = rate;
	c->rrl.slip = 1;
	c->rrl.ipv4_prefix = 24;
	c->rrl.ipv6_prefix = 56;
	c->rrl.table_size = 64;
}

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	s4->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	return ss;
}

static void test_cookie_secret(void **st)
{
	(void)st;
	fg_conf_t c;
	fg_floods_t *a = NULL, *b = NULL;
	fg_siphash_t *h = NULL;
	char secret[] = "e5e973e5a6b2a43f48e7dc849e37bfcf";
	struct sockaddr_storage peer = v4("198.51.100.100");
	fg_dns_query_t q;

	assert_int_equal(fg_siphash_new(&h), 0);
	conf_defaults(&c, 20);
	c.cookie.secret = secret;
	assert_int_equal(fg_floods_new(&c, &a), 0);
	assert_int_equal(fg_floods_new(&c, &b), 0);

	/* no COOKIE: nothing to echo */
	memset(&q, 0, sizeof(q));
	assert_int_equal(fg_floods_cookie(a, h, &q, &peer, 1559731985), FG_COOKIE_NONE);
	assert_false(q.resp_cookie_set);

	/* RFC 9018 A.1 from the configured secret */
	memset(&q, 0, sizeof(q));
	q.has_cookie = true;
	memcpy(q.cookie.client, "\x24\x64\xc4\xab\xcf\x10\xc9\x57", 8);
	assert_int_equal(fg_floods_cookie(a, h, &q, &peer, 1559731985), FG_COOKIE_CLIENT);
	assert_true(q.resp_cookie_set);
	assert_memory_equal(q.resp_cookie, "\x01\x00\x00\x00\x5c\xf7\x9f\x11"
			    "\x1f\x81\x30\xc3\xee\xe2\x94\x80", 16);

	/* a second server with the same secret accepts it (anycast) */
	q.cookie.server_len = 16;
	memcpy(q.cookie.server, q.resp_cookie, 16);
	assert_int_equal(fg_floods_cookie(b, h, &q, &peer, 1559731985 + 60), FG_COOKIE_VALID);
	/* a random secret does not */
	fg_floods_free(b);
	c.cookie.secret = NULL;
	assert_int_equal(fg_floods_new(&c, &b), 0);
	assert_int_equal(fg_floods_cookie(b, h, &q, &peer, 1559731985 + 60), FG_COOKIE_BAD);
	assert_true(q.resp_cookie_set);   /* but it hands out its own */

	fg_floods_free(a);
	fg_floods_free(b);
	fg_siphash_free(h);
}

static void test_rrl_reload(void **st)
{
	(void)st;
	fg_conf_t c;
	fg_floods_t *f = NULL;
	struct sockaddr_storage peer = v4("192.0.2.7");

	conf_defaults(&c, 2);
	assert_int_equal(fg_floods_new(&c, &f), 0);
	fg_floods_lock(f);
	assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_PASS);
	assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_PASS);
	assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_SLIP);   /* slip 1 */
	fg_floods_unlock(f);

	/* the same parameters keep the table (and its empty bucket) */
	fg_floods_reload(f, &c);
	fg_floods_lock(f);
	assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_SLIP);
	fg_floods_unlock(f);

	/* rate 0 turns it off */
	c.rrl.rate = 0;
	fg_floods_reload(f, &c);
	fg_floods_lock(f);
	for (int i = 0; i < 100; i++)
		assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_PASS);
	fg_floods_unlock(f);

	/* and back on with slip 0: the fourth is dropped */
	c.rrl.rate = 3;
	c.rrl.slip = 0;
	fg_floods_reload(f, &c);
	fg_floods_lock(f);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_PASS);
	assert_int_equal(fg_floods_rrl(f, &peer, 1000), FG_RRL_DROP);
	struct sockaddr_storage unix_peer;
	memset(&unix_peer, 0, sizeof(unix_peer));
	unix_peer.ss_family = AF_UNIX;
	assert_int_equal(fg_floods_rrl(f, &unix_peer, 1000), FG_RRL_DROP);
	fg_floods_unlock(f);
	fg_floods_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_secret),
		cmocka_unit_test(test_rrl_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
