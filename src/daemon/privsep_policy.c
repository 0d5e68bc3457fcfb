/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/privsep_policy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "dataplane/natcfg.h"
#include "grant/policy.h"

/* One (pool, service) pair the grant engine can produce: the engine hands
 * out a service's first pool of each family, with that service's backends
 * of the same family, for at most ttl + grace (+ epoch for an external
 * service: fg_conf_service_grant_ms()). */
struct ps_backend {
	uint8_t addr[16];
	uint16_t port;            /* host order, 0 = same port */
};

struct ps_rule {
	int family;
	uint8_t first[16], last[16];
	struct ps_backend *backends;
	size_t nbackends;
	uint32_t max_timeout_ms;
};

struct fg_ps_policy {
	struct ps_rule *rules;
	size_t nrules;
	unsigned ecs_min4, ecs_min6;  /* policy.ecs-min-prefix4/6 */
	fg_nat_cfgbuf_t *nat;         /* the data plane of this configuration */
};

static const char *const refusal_names[FG_PS_R_COUNT] = {
	[FG_PS_OK] = "ok",
	[FG_PS_R_FRAME] = "frame",
	[FG_PS_R_FAMILY] = "family",
	[FG_PS_R_SCOPE] = "scope",
	[FG_PS_R_POOL] = "pool",
	[FG_PS_R_BACKEND] = "backend",
	[FG_PS_R_PREFIX] = "prefix",
	[FG_PS_R_TIMEOUT] = "timeout",
	[FG_PS_R_SETUP] = "setup",
	[FG_PS_R_NOCONF] = "noconf",
};

const char *fg_ps_refusal_name(enum fg_ps_refusal r)
{
	return (unsigned)r < FG_PS_R_COUNT ? refusal_names[r] : "unknown";
}

static const fg_conf_pool_t *find_pool(const fg_conf_t *c, const char *id)
{
	for (size_t i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].id, id) == 0)
			return &c->pools[i];
	return NULL;
}

static const uint8_t *ss_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static int add_rules(fg_ps_policy_t *p, const fg_conf_service_t *s, const fg_conf_t *c)
{
	/* every pool of the service: the engine answers from the first of a
	 * family, and from the others when a distributed controller's pool
	 * filter (dist.on-timeout: healthy-pool) turns the first down */
	for (size_t k = 0; k < s->npools; k++) {
		const fg_conf_pool_t *cp = find_pool(c, s->pools[k]);
		if (!cp)
			continue;
		struct ps_rule *r = &p->rules[p->nrules];
		memset(r, 0, sizeof(*r));
		r->family = cp->prefix.family;
		memcpy(r->first, cp->prefix.first, 16);
		memcpy(r->last, cp->prefix.last, 16);
		r->max_timeout_ms = fg_conf_service_grant_ms(s);
		r->backends = calloc(s->nbackends ? s->nbackends : 1, sizeof(*r->backends));
		if (!r->backends)
			return -ENOMEM;
		p->nrules++;
		for (size_t b = 0; b < s->nbackends; b++) {
			if (s->backends[b].ss.ss_family != (sa_family_t)r->family)
				continue;
			struct ps_backend *pb = &r->backends[r->nbackends++];
			memcpy(pb->addr, ss_addr(&s->backends[b].ss), r->family == AF_INET ? 4 : 16);
			pb->port = fg_nat_addr_port(&s->backends[b].ss);
		}
	}
	return 0;
}

int fg_ps_policy_new(const fg_conf_t *conf, fg_ps_policy_t **out)
{
	fg_ps_policy_t *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* the same minimum the scope policy applies (grant/policy.c) */
	p->ecs_min4 = conf->policy.ecs_min_prefix4 ? conf->policy.ecs_min_prefix4
						   : FG_ECS_MIN4_DEFAULT;
	p->ecs_min6 = conf->policy.ecs_min_prefix6 ? conf->policy.ecs_min_prefix6
						   : FG_ECS_MIN6_DEFAULT;
	size_t cap = 0;
	for (size_t s = 0; s < conf->nservices; s++)
		cap += conf->services[s].npools;
	p->rules = calloc(cap ? cap : 1, sizeof(*p->rules));
	int rc = p->rules ? 0 : -ENOMEM;
	for (size_t s = 0; s < conf->nservices && rc == 0; s++)
		rc = add_rules(p, &conf->services[s], conf);

	/* the data plane from the same builder the grant engine uses, so
	 * [priv] and [dns] cannot drift apart on a field */
	if (rc == 0)
		rc = fg_nat_config_build(conf, &p->nat);
	if (rc < 0) {
		fg_ps_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void fg_ps_policy_free(fg_ps_policy_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].backends);
	free(p->rules);
	fg_nat_cfgbuf_free(p->nat);
	free(p);
}

const fg_nat_config_t *fg_ps_policy_natcfg(const fg_ps_policy_t *p)
{
	return &p->nat->cfg;
}

static bool in_range(const uint8_t *a, const uint8_t *first, const uint8_t *last, size_t n)
{
	return memcmp(a, first, n) >= 0 && memcmp(a, last, n) <= 0;
}

static bool zero_tail(const uint8_t a[16], int family)
{
	if (family == AF_INET6)
		return true;
	for (int i = 4; i < 16; i++)
		if (a[i])
			return false;
	return true;
}

enum fg_ps_refusal fg_ps_check_grant(const fg_ps_policy_t *p, const fg_grant_t *g)
{
	if (g->family != AF_INET && g->family != AF_INET6)
		return FG_PS_R_FAMILY;
	if (!zero_tail(g->addr, g->family) || !zero_tail(g->backend, g->family) ||
	    !zero_tail(g->client, g->family))
		return FG_PS_R_FAMILY;
	unsigned maxp = g->family == AF_INET ? 32 : 128;
	switch (g->scope) {
	case FG_SCOPE_CLIENT:
		if (g->client_plen != maxp)
			return FG_PS_R_SCOPE;
		break;
	case FG_SCOPE_NET:
		if (g->client_plen > maxp)
			return FG_PS_R_SCOPE;
		if (g->client_plen < (g->family == AF_INET ? p->ecs_min4 : p->ecs_min6))
			return FG_PS_R_PREFIX;
		break;
	case FG_SCOPE_ANY:
		if (g->client_plen != 0)
			return FG_PS_R_SCOPE;
		break;
	default:
		return FG_PS_R_SCOPE;
	}
	if (g->timeout_ms == 0)
		return FG_PS_R_TIMEOUT;

	/* the most specific reason wins: pool, then backend, then timeout */
	size_t alen = g->family == AF_INET ? 4 : 16;
	enum fg_ps_refusal why = FG_PS_R_POOL;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct ps_rule *r = &p->rules[i];
		if (r->family != g->family || !in_range(g->addr, r->first, r->last, alen))
			continue;
		bool backend = false;
		for (size_t b = 0; b < r->nbackends && !backend; b++)
			backend = memcmp(r->backends[b].addr, g->backend, alen) == 0 &&
				  r->backends[b].port == g->backend_port;
		if (!backend) {
			if (why == FG_PS_R_POOL)
				why = FG_PS_R_BACKEND;
			continue;
		}
		if (g->timeout_ms > r->max_timeout_ms) {
			why = FG_PS_R_TIMEOUT;
			continue;
		}
		return FG_PS_OK;
	}
	return why;
}

enum fg_ps_refusal fg_ps_check_quarantine(int family, const uint8_t addr[16],
					  uint32_t timeout_ms, int release)
{
	if ((family != AF_INET && family != AF_INET6) || !zero_tail(addr, family))
		return FG_PS_R_FAMILY;
	if (!release && timeout_ms > FG_PS_QUARANTINE_MAX_MS)
		return FG_PS_R_TIMEOUT;
	if (release && timeout_ms != 0)
		return FG_PS_R_TIMEOUT;
	return FG_PS_OK;
}

const char *fg_ps_natcfg_diff(const fg_nat_config_t *want, const fg_nat_config_t *got)
{
	if (!want->table || !got->table || strcmp(want->table, got->table) != 0)
		return "table";
	if (want->npools != got->npools)
		return "pools";
	for (size_t i = 0; i < want->npools; i++) {
		const fg_nat_prefix_t *a = &want->pools[i], *b = &got->pools[i];
		if (a->family != b->family || memcmp(a->first, b->first, 16) != 0 ||
		    memcmp(a->last, b->last, 16) != 0)
			return "pools";
	}
	if (want->decoy_set != got->decoy_set ||
	    (want->decoy_set && (want->decoy_family != got->decoy_family ||
				 memcmp(want->decoy_via, got->decoy_via, 16) != 0)))
		return "decoy_via";
	if (want->decoy6_set != got->decoy6_set ||
	    (want->decoy6_set && memcmp(want->decoy_via6, got->decoy_via6, 16) != 0))
		return "decoy_via6";
	if (want->pin_ms != got->pin_ms)
		return "pin_ms";
	if (want->pin_set_size != got->pin_set_size)
		return "pin_set_size";
	if (want->grant_set_size != got->grant_set_size)
		return "grant_set_size";
	if (want->decoy_mark != got->decoy_mark)
		return "decoy_mark";
	if (want->route_table != got->route_table)
		return "route_table";
	if (want->nflog_group != got->nflog_group)
		return "nflog_group";
	return NULL;
}

bool fg_ps_natcfg_same_kernel(const fg_nat_config_t *a, const fg_nat_config_t *b)
{
	/* the subnet hash maps and their rules follow ecs-min-prefix4/6 */
	if (fg_ps_natcfg_diff(a, b) != NULL || a->ports_set != b->ports_set ||
	    a->net_hash_plen4 != b->net_hash_plen4 || a->net_hash_plen6 != b->net_hash_plen6 ||
	    a->nsvcports != b->nsvcports || a->nportmap != b->nportmap ||
	    a->nlisten != b->nlisten)
		return false;
	for (size_t i = 0; i < a->nsvcports; i++) {
		const fg_nat_svcport_t *x = &a->svcports[i], *y = &b->svcports[i];
		if (x->family != y->family || memcmp(x->first, y->first, 16) != 0 ||
		    memcmp(x->last, y->last, 16) != 0 || x->proto_first != y->proto_first ||
		    x->proto_last != y->proto_last || x->port_first != y->port_first ||
		    x->port_last != y->port_last)
			return false;
	}
	for (size_t i = 0; i < a->nportmap; i++) {
		const fg_nat_prefix_t *x = &a->portmap[i], *y = &b->portmap[i];
		if (x->family != y->family || memcmp(x->first, y->first, 16) != 0 ||
		    memcmp(x->last, y->last, 16) != 0)
			return false;
	}
	for (size_t i = 0; i < a->nlisten; i++) {
		const fg_nat_listen_t *x = &a->listen[i], *y = &b->listen[i];
		if (x->family != y->family || memcmp(x->addr, y->addr, 16) != 0 ||
		    x->port != y->port)
			return false;
	}
	return true;
}
