/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fg_nat_config_t from fg_conf_t (see natcfg.h). */
#include "dataplane/natcfg.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "grant/policy.h"

uint16_t fg_nat_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static const uint8_t *addr_bytes(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

static const fg_conf_pool_t *find_pool(const fg_conf_t *conf, const char *id)
{
	for (size_t i = 0; i < conf->npools; i++)
		if (!strcmp(conf->pools[i].id, id))
			return &conf->pools[i];
	return NULL;
}

/* Entries one service contributes per pool: its ports, or its backends'
 * (TCP), plus ICMP of the pool's family (errors of live flows, PMTU). */
static size_t svc_entries(const fg_conf_service_t *s)
{
	return (s->nports ? s->nports : s->nbackends) + 1;
}

static void put_svcport(fg_nat_svcport_t *e, const fg_conf_pool_t *p, uint8_t pf, uint8_t pl,
			uint16_t lo, uint16_t hi)
{
	memset(e, 0, sizeof(*e));
	e->family = p->prefix.family;
	memcpy(e->first, p->prefix.first, 16);
	memcpy(e->last, p->prefix.last, 16);
	e->proto_first = pf;
	e->proto_last = pl;
	e->port_first = lo;
	e->port_last = hi;
}

static bool same_svcport(const fg_nat_svcport_t *a, const fg_nat_svcport_t *b)
{
	return a->family == b->family && !memcmp(a->first, b->first, 16) &&
	       !memcmp(a->last, b->last, 16) && a->proto_first == b->proto_first &&
	       a->proto_last == b->proto_last && a->port_first == b->port_first &&
	       a->port_last == b->port_last;
}

static int build_svcports(const fg_conf_t *conf, fg_nat_cfgbuf_t *b)
{
	size_t cap = 0, n = 0;

	for (size_t s = 0; s < conf->nservices; s++)
		cap += conf->services[s].npools * svc_entries(&conf->services[s]);
	b->svcports = calloc(cap ? cap : 1, sizeof(*b->svcports));
	if (!b->svcports)
		return -ENOMEM;
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *cs = &conf->services[s];

		for (size_t k = 0; k < cs->npools; k++) {
			const fg_conf_pool_t *p = find_pool(conf, cs->pools[k]);
			size_t start = n;
			bool any = false;

			if (!p)
				continue;
			if (cs->nports) {
				for (size_t i = 0; i < cs->nports; i++) {
					fg_conf_port_t pp;

					if (fg_conf_parse_port(cs->ports[i], &pp) < 0)
						return -EINVAL;
					if (pp.proto == 0) {
						put_svcport(&b->svcports[n++], p, 0, 255, 0, 65535);
						any = true;
					} else {
						put_svcport(&b->svcports[n++], p, pp.proto, pp.proto,
							    pp.first, pp.last);
					}
				}
			} else {
				for (size_t i = 0; i < cs->nbackends; i++) {
					uint16_t port = fg_nat_addr_port(&cs->backends[i].ss);

					if (port)
						put_svcport(&b->svcports[n++], p, 6, 6, port, port);
				}
			}
			if (!any) {
				uint8_t icmp = p->prefix.family == AF_INET6 ? 58 : 1;

				put_svcport(&b->svcports[n++], p, icmp, icmp, 0, 65535);
			}
			/* the kernel refuses duplicate intervals: two backends
			 * on one port give one entry */
			for (size_t i = start; i < n; i++)
				for (size_t j = 0; j < i; j++)
					if (same_svcport(&b->svcports[i], &b->svcports[j])) {
						b->svcports[i--] = b->svcports[--n];
						break;
					}
		}
	}
	b->cfg.svcports = b->svcports;
	b->cfg.nsvcports = n;
	b->cfg.ports_set = true;
	return 0;
}

/* Every (pool range, backend) pair of every service, same family. */
static int build_backends(const fg_conf_t *conf, fg_nat_cfgbuf_t *b)
{
	size_t cap = 0, n = 0;

	for (size_t s = 0; s < conf->nservices; s++)
		cap += conf->services[s].npools * conf->services[s].nbackends;
	b->backends = calloc(cap ? cap : 1, sizeof(*b->backends));
	if (!b->backends)
		return -ENOMEM;
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *cs = &conf->services[s];

		for (size_t k = 0; k < cs->npools; k++) {
			const fg_conf_pool_t *p = find_pool(conf, cs->pools[k]);

			for (size_t i = 0; p && i < cs->nbackends; i++) {
				const struct sockaddr_storage *ss = &cs->backends[i].ss;
				fg_nat_backend_t *e = &b->backends[n];

				if (ss->ss_family != p->prefix.family)
					continue;
				e->family = p->prefix.family;
				memcpy(e->first, p->prefix.first, 16);
				memcpy(e->last, p->prefix.last, 16);
				memcpy(e->addr, addr_bytes(ss), ss->ss_family == AF_INET6 ? 16 : 4);
				e->port = fg_nat_addr_port(ss);
				n++;
			}
		}
	}
	b->cfg.backends = b->backends;
	b->cfg.nbackends = n;
	b->cfg.backends_set = true;
	return 0;
}

/* Pool ranges of the services whose backends carry ports (the loader
 * makes that all or none of a service's backends). */
static int build_portmap(const fg_conf_t *conf, fg_nat_cfgbuf_t *b)
{
	size_t cap = 0, n = 0;

	for (size_t s = 0; s < conf->nservices; s++)
		cap += conf->services[s].npools;
	b->portmap = calloc(cap ? cap : 1, sizeof(*b->portmap));
	if (!b->portmap)
		return -ENOMEM;
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *cs = &conf->services[s];

		if (!cs->nbackends || !fg_nat_addr_port(&cs->backends[0].ss))
			continue;
		for (size_t k = 0; k < cs->npools; k++) {
			const fg_conf_pool_t *p = find_pool(conf, cs->pools[k]);

			if (!p)
				continue;
			b->portmap[n].family = p->prefix.family;
			memcpy(b->portmap[n].first, p->prefix.first, 16);
			memcpy(b->portmap[n].last, p->prefix.last, 16);
			n++;
		}
	}
	b->cfg.portmap = b->portmap;
	b->cfg.nportmap = n;
	return 0;
}

int fg_nat_config_build(const fg_conf_t *conf, fg_nat_cfgbuf_t **out)
{
	fg_nat_cfgbuf_t *b = calloc(1, sizeof(*b));
	uint32_t pin_ms = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->table = strdup(conf->nat.table ? conf->nat.table : "fluxgate");
	b->pools = calloc(conf->npools ? conf->npools : 1, sizeof(*b->pools));
	b->listen = calloc(conf->server.nlisten ? conf->server.nlisten : 1, sizeof(*b->listen));
	if (!b->table || !b->pools || !b->listen)
		goto fail;
	for (size_t i = 0; i < conf->npools; i++) {
		b->pools[i].family = conf->pools[i].prefix.family;
		memcpy(b->pools[i].first, conf->pools[i].prefix.first, 16);
		memcpy(b->pools[i].last, conf->pools[i].prefix.last, 16);
	}
	for (size_t s = 0; s < conf->nservices; s++)
		if (conf->services[s].pin_ms > pin_ms)
			pin_ms = conf->services[s].pin_ms;
	b->cfg = (fg_nat_config_t){
		.table = b->table,
		.pools = b->pools,
		.npools = conf->npools,
		.pin_ms = pin_ms ? pin_ms : 60000,
		.pin_set_size = conf->nat.pin_set_size ? conf->nat.pin_set_size : 262144,
		.grant_set_size = conf->nat.grant_set_size ? conf->nat.grant_set_size : 1048576,
		/* the shortest ECS prefix taken is the one resolvers send */
		.net_hash_plen4 = (uint8_t)(conf->policy.ecs_min_prefix4 ?
					    conf->policy.ecs_min_prefix4 : FG_ECS_MIN4_DEFAULT),
		.net_hash_plen6 = (uint8_t)(conf->policy.ecs_min_prefix6 ?
					    conf->policy.ecs_min_prefix6 : FG_ECS_MIN6_DEFAULT),
		.decoy_mark = FG_DECOY_MARK,
		.route_table = FG_DECOY_ROUTE_TABLE,
		/* decoy hits are logged to this NFLOG group (rate-limited in
		 * the rule) and become `decoy` events */
		.nflog_group = FG_DECOY_NFLOG_GROUP,
	};
	if (conf->decoy.set) {
		/* the first next hop serves both families unless an IPv6 one
		 * is listed too (an IPv6 route cannot use an IPv4 gateway) */
		for (size_t i = 0; i < conf->decoy.nroute_via; i++) {
			const struct sockaddr_storage *ss = &conf->decoy.route_via[i].ss;
			size_t alen = ss->ss_family == AF_INET6 ? 16 : 4;

			if (!b->cfg.decoy_set) {
				b->cfg.decoy_set = true;
				b->cfg.decoy_family = ss->ss_family;
				memcpy(b->cfg.decoy_via, addr_bytes(ss), alen);
			}
			if (ss->ss_family == AF_INET6 && !b->cfg.decoy6_set) {
				b->cfg.decoy6_set = true;
				memcpy(b->cfg.decoy_via6, addr_bytes(ss), 16);
			}
		}
	}
	for (size_t i = 0; i < conf->server.nlisten; i++) {
		const struct sockaddr_storage *ss = &conf->server.listen[i].ss;

		if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
			continue;
		b->listen[b->cfg.nlisten].family = ss->ss_family;
		memcpy(b->listen[b->cfg.nlisten].addr, addr_bytes(ss),
		       ss->ss_family == AF_INET6 ? 16 : 4);
		b->listen[b->cfg.nlisten].port = fg_nat_addr_port(ss);
		b->cfg.nlisten++;
	}
	b->cfg.listen = b->listen;
	if ((rc = build_svcports(conf, b)) < 0 || (rc = build_backends(conf, b)) < 0 ||
	    (rc = build_portmap(conf, b)) < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	fg_nat_cfgbuf_free(b);
	return rc;
}

void fg_nat_cfgbuf_free(fg_nat_cfgbuf_t *b)
{
	if (!b)
		return;
	free(b->table);
	free(b->pools);
	free(b->svcports);
	free(b->listen);
	free(b->backends);
	free(b->portmap);
	free(b);
}
