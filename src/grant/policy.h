/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Grant scope policy (pure): how narrowly can the grant for one answer be
 * scoped, given who asked and what the query said?
 *
 *   1. exact client  - the query came from the host that will connect
 *                      (its source matches policy.direct and the answer
 *                      is of the same address family);
 *   2. client subnet - the resolver sent EDNS Client Subnet of the answer's
 *                      family with a source prefix at least as long as
 *                      the minimum (policy.ecs-min-prefix4/6, default /24
 *                      and /56); a shorter one is ignored, as if the
 *                      query carried no ECS, so no subnet grant is ever
 *                      wider than the minimum;
 *   3. anyone        - last resort, for that one address only.
 *
 * A query that arrives over one family for an answer of the other (AAAA
 * asked over IPv4) cannot be scoped to the client: ECS of the answer's
 * family, else anyone.
 *
 * With policy.resolvers set, only those sources may get subnet or anyone
 * scopes: any other source is taken for the client itself (exact scope,
 * or no grant at all when the families differ), so forged queries from
 * outside the resolver list never open an address to anyone.
 */
#ifndef FG_GRANT_POLICY_H
#define FG_GRANT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "dns/msg.h"
#include "grant/grant.h"

/* No grant possible under the policy: the answer is NODATA. */
#define FG_SCOPE_NONE 0xff

typedef struct fg_scope_decision {
	uint8_t scope;          /* enum fg_scope */
	uint8_t client[16];     /* masked client address / prefix */
	uint8_t client_plen;
	uint8_t ecs_scope;      /* scope prefix to echo in the answer's ECS */
	bool ecs_ignored;       /* ECS of the answer's family was shorter than
				 * the minimum (the caller counts it) */
} fg_scope_decision_t;

/* The sender's address in plain form, 16 octets zero-padded (IPv4 in the
 * first 4); an IPv4-mapped IPv6 source counts as IPv4. Returns AF_INET,
 * AF_INET6, or -1 for another family (out all zero). */
int fg_peer_addr(const struct sockaddr_storage *peer, uint8_t out[16]);

/* True when `addr` (4 or 16 octets by family) lies in the prefix/range. */
bool fg_prefix_contains(const fg_conf_prefix_t *p, int family, const uint8_t *addr);

/* Decide the scope for an answer of `family` (AF_INET for A, AF_INET6 for
 * AAAA) to query `q` received from `peer`. */
typedef struct fg_scope_policy {
	const fg_conf_prefix_t *direct;     /* stub clients: exact scope */
	size_t ndirect;
	const fg_conf_prefix_t *resolvers;  /* if nresolvers > 0: the only */
	size_t nresolvers;                  /* sources allowed ECS/anyone */
	uint8_t ecs_min4, ecs_min6;         /* shortest ECS source prefix
					     * honoured; 0 = 24 and 56 */
} fg_scope_policy_t;

#define FG_ECS_MIN4_DEFAULT 24
#define FG_ECS_MIN6_DEFAULT 56

void fg_scope_decide(const struct sockaddr_storage *peer, const fg_dns_query_t *q,
		     int family, const fg_scope_policy_t *pol, fg_scope_decision_t *out);

/* The same for a query whose TSIG key proved a role (enum fg_key_role,
 * policy.keys): FG_ROLE_RESOLVER counts as a source in policy.resolvers
 * (subnet and anyone scopes), FG_ROLE_CLIENT as one in policy.direct
 * (exact scope only, never anyone); FG_ROLE_NONE is fg_scope_decide(). */
void fg_scope_decide_role(const struct sockaddr_storage *peer, const fg_dns_query_t *q,
			  int family, const fg_scope_policy_t *pol, int role,
			  fg_scope_decision_t *out);

#endif
