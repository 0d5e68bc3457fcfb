/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "grant/policy.h"

#include <netinet/in.h>
#include <string.h>

bool fg_prefix_contains(const fg_conf_prefix_t *p, int family, const uint8_t *addr)
{
	if (p->family != family)
		return false;
	size_t n = family == AF_INET ? 4 : 16;
	return memcmp(addr, p->first, n) >= 0 && memcmp(addr, p->last, n) <= 0;
}

int fg_peer_addr(const struct sockaddr_storage *peer, uint8_t out[16])
{
	memset(out, 0, 16);
	if (peer->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		return AF_INET;
	}
	if (peer->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)peer)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(out, a->s6_addr, 16);
		return AF_INET6;
	}
	return -1;
}

static bool in_list(const fg_conf_prefix_t *l, size_t n, int family, const uint8_t *a)
{
	for (size_t i = 0; i < n; i++)
		if (fg_prefix_contains(&l[i], family, a))
			return true;
	return false;
}

void fg_scope_decide(const struct sockaddr_storage *peer, const fg_dns_query_t *q,
		     int family, const fg_scope_policy_t *pol, fg_scope_decision_t *out)
{
	fg_scope_decide_role(peer, q, family, pol, FG_ROLE_NONE, out);
}

void fg_scope_decide_role(const struct sockaddr_storage *peer, const fg_dns_query_t *q,
			  int family, const fg_scope_policy_t *pol, int role,
			  fg_scope_decision_t *out)
{
	uint8_t a[16];
	int pf = fg_peer_addr(peer, a);

	memset(out, 0, sizeof(*out));
	out->scope = FG_SCOPE_ANY;

	bool direct = pf > 0 && in_list(pol->direct, pol->ndirect, pf, a);
	bool resolver = pol->nresolvers == 0 || (pf > 0 && in_list(pol->resolvers, pol->nresolvers, pf, a));
	/* a key proves more than a source address: it decides */
	if (role == FG_ROLE_RESOLVER) {
		resolver = true;
		direct = false;
	} else if (role == FG_ROLE_CLIENT) {
		resolver = false;
	}
	if (!resolver)
		direct = true;   /* not a known resolver: the asker is the client */
	if (direct) {
		if (pf == family) {
			out->scope = FG_SCOPE_CLIENT;
			memcpy(out->client, a, family == AF_INET ? 4 : 16);
			out->client_plen = family == AF_INET ? 32 : 128;
			/* a stub that also sent ECS gets the exact scope */
			if (q->has_ecs)
				out->ecs_scope = out->client_plen;
			return;
		}
		if (!resolver) {
			/* AAAA asked over IPv4 by an unknown source: no scope can
			 * be narrow enough, and anyone is not allowed */
			out->scope = FG_SCOPE_NONE;
			return;
		}
	}
	if (!q->has_ecs || !((family == AF_INET && q->ecs.family == 1) ||
			     (family == AF_INET6 && q->ecs.family == 2)))
		return;
	unsigned min = family == AF_INET ?
		(pol->ecs_min4 ? pol->ecs_min4 : FG_ECS_MIN4_DEFAULT) :
		(pol->ecs_min6 ? pol->ecs_min6 : FG_ECS_MIN6_DEFAULT);
	/* A wide source prefix (0.0.0.0/1) would open the address to half
	 * the Internet in one element: such a query is scoped as if it had
	 * no ECS (anyone, counted against the open-fraction cap). Scope 0
	 * in the echo tells the resolver the answer is not subnet-specific. */
	if (q->ecs.source_prefix < min) {
		out->ecs_ignored = q->ecs.source_prefix > 0;
		return;
	}
	out->scope = FG_SCOPE_NET;
	memcpy(out->client, q->ecs.addr, family == AF_INET ? 4 : 16);
	out->client_plen = q->ecs.source_prefix;
	out->ecs_scope = q->ecs.source_prefix;
}
