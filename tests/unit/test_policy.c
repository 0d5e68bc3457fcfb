/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: grant scope policy (grant/policy.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "grant/policy.h"

static struct sockaddr_storage peer4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage peer6(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s->sin6_addr);
	return ss;
}

static fg_conf_prefix_t pfx4(const char *first, const char *last)
{
	fg_conf_prefix_t p;
	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	inet_pton(AF_INET, first, p.first);
	inet_pton(AF_INET, last, p.last);
	return p;
}

static void test_direct_client(void **state)
{
	(void)state;
	fg_conf_prefix_t direct[1] = { pfx4("10.0.1.0", "10.0.1.255") };
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage p = peer4("10.0.1.7");
	fg_scope_decision_t d;
	fg_scope_decide(&p, &q, AF_INET, &(fg_scope_policy_t){ direct, 1, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_CLIENT);
	assert_int_equal(d.client_plen, 32);
	assert_int_equal(d.client[3], 7);
	/* AAAA over IPv4 from a direct client: cannot scope to the client */
	fg_scope_decide(&p, &q, AF_INET6, &(fg_scope_policy_t){ direct, 1, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	/* not in direct: a resolver without ECS -> anyone */
	p = peer4("10.0.53.2");
	fg_scope_decide(&p, &q, AF_INET, &(fg_scope_policy_t){ direct, 1, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	assert_int_equal(d.ecs_scope, 0);
}

static void test_ecs(void **state)
{
	(void)state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 24;
	q.ecs.addr[0] = 192; q.ecs.addr[1] = 0; q.ecs.addr[2] = 2;
	struct sockaddr_storage p = peer4("10.0.53.2");
	fg_scope_decision_t d;
	fg_scope_decide(&p, &q, AF_INET, &(fg_scope_policy_t){ NULL, 0, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_NET);
	assert_int_equal(d.client_plen, 24);
	assert_int_equal(d.ecs_scope, 24);
	assert_int_equal(d.client[2], 2);
	/* v4 ECS for an AAAA answer: wrong family, anyone */
	fg_scope_decide(&p, &q, AF_INET6, &(fg_scope_policy_t){ NULL, 0, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	/* source prefix 0 carries no client information */
	q.ecs.source_prefix = 0;
	fg_scope_decide(&p, &q, AF_INET, &(fg_scope_policy_t){ NULL, 0, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	/* v6 ECS for AAAA over an IPv4 resolver connection */
	q.ecs.family = 2;
	q.ecs.source_prefix = 56;
	fg_scope_decide(&p, &q, AF_INET6, &(fg_scope_policy_t){ NULL, 0, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_NET);
	assert_int_equal(d.client_plen, 56);
}

static void test_v6_and_mapped(void **state)
{
	(void)state;
	fg_conf_prefix_t d6;
	memset(&d6, 0, sizeof(d6));
	d6.family = AF_INET6;
	inet_pton(AF_INET6, "fd00:1::", d6.first);
	inet_pton(AF_INET6, "fd00:1::ffff:ffff:ffff:ffff", d6.last);
	fg_conf_prefix_t d4 = pfx4("10.0.1.0", "10.0.1.255");
	fg_conf_prefix_t direct[2] = { d6, d4 };
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	fg_scope_decision_t d;
	struct sockaddr_storage p = peer6("fd00:1::2");
	fg_scope_decide(&p, &q, AF_INET6, &(fg_scope_policy_t){ direct, 2, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_CLIENT);
	assert_int_equal(d.client_plen, 128);
	/* IPv4-mapped source counts as IPv4 */
	p = peer6("::ffff:10.0.1.9");
	fg_scope_decide(&p, &q, AF_INET, &(fg_scope_policy_t){ direct, 2, NULL, 0, 0, 0 }, &d);
	assert_int_equal(d.scope, FG_SCOPE_CLIENT);
	assert_int_equal(d.client[3], 9);
}

static void test_resolver_allow_list(void **state)
{
	(void)state;
	fg_conf_prefix_t res[1] = { pfx4("10.0.53.0", "10.0.53.255") };
	fg_scope_policy_t pol = { NULL, 0, res, 1, 0, 0 };
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	fg_scope_decision_t d;
	/* a listed resolver may still get "anyone" */
	struct sockaddr_storage p = peer4("10.0.53.2");
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	/* any other source is the client itself: a (spoofed) flood cannot
	 * open addresses to anyone */
	p = peer4("203.0.113.9");
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_CLIENT);
	assert_int_equal(d.client[3], 9);
	/* ... even when it sends ECS */
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 8;
	q.ecs.addr[0] = 10;
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_CLIENT);
	/* and an AAAA over IPv4 from it gets no grant at all */
	q.has_ecs = false;
	fg_scope_decide(&p, &q, AF_INET6, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_NONE);
}

/* Hardening finding 1: ECS wider than policy.ecs-min-prefix is no ECS. */
static void test_ecs_min_prefix(void **state)
{
	(void)state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 1;           /* kdig +subnet=0.0.0.0/1 */
	struct sockaddr_storage p = peer4("10.0.53.2");
	fg_scope_decision_t d;
	fg_scope_policy_t pol = { NULL, 0, NULL, 0, 0, 0 };   /* defaults: 24, 56 */
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	assert_int_equal(d.client_plen, 0);
	assert_int_equal(d.ecs_scope, 0);
	assert_true(d.ecs_ignored);
	q.ecs.source_prefix = 23;
	q.ecs.addr[0] = 192; q.ecs.addr[1] = 0; q.ecs.addr[2] = 2;
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	assert_true(d.ecs_ignored);
	q.ecs.source_prefix = 24;
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_NET);
	assert_int_equal(d.client_plen, 24);
	assert_false(d.ecs_ignored);
	/* a configured minimum */
	pol.ecs_min4 = 28;
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	pol.ecs_min4 = 20;
	q.ecs.source_prefix = 20;
	q.ecs.addr[2] = 0;
	fg_scope_decide(&p, &q, AF_INET, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_NET);
	assert_int_equal(d.client_plen, 20);
	/* IPv6: ::/1 and a /48 are too wide by default, a /56 is fine */
	memset(&q.ecs, 0, sizeof(q.ecs));
	q.ecs.family = 2;
	q.ecs.source_prefix = 1;
	fg_scope_decide(&p, &q, AF_INET6, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	assert_true(d.ecs_ignored);
	q.ecs.source_prefix = 48;
	fg_scope_decide(&p, &q, AF_INET6, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	q.ecs.source_prefix = 56;
	fg_scope_decide(&p, &q, AF_INET6, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_NET);
	assert_int_equal(d.client_plen, 56);
	/* source prefix 0 is "no information", not an error to count */
	q.ecs.source_prefix = 0;
	fg_scope_decide(&p, &q, AF_INET6, &pol, &d);
	assert_int_equal(d.scope, FG_SCOPE_ANY);
	assert_false(d.ecs_ignored);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_client),
		cmocka_unit_test(test_ecs),
		cmocka_unit_test(test_v6_and_mapped),
		cmocka_unit_test(test_resolver_allow_list),
		cmocka_unit_test(test_ecs_min_prefix),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
