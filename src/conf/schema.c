/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The config schema: every section and key fluxgate understands, with its
 * type, range, default and place in fg_conf_t. apply.c interprets it; this
 * file is the one place to edit when a key is added. Defaults are written as
 * they would be in the file, so they go through the same parsers as user
 * values (a default cannot drift out of its own range unnoticed: the unit
 * tests load a config that relies on every default).
 *
 * Checks that involve one list entry as a whole live in the `post` hooks
 * below; checks across entries are in conf.c.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"

#include "conf/scalar.h"
#include "conf/schema.h"

/* Upper bound of millisecond TIME values: a round figure below the
 * uint32 limit (about 49.7 days). */
#define MS_MAX  (49ULL * 86400000ULL)
/* Upper bound of DNS TTLs and SOA timers in seconds (RFC 2181, 8). */
#define TTL_MAX 2147483647ULL

static const char *const rotation_names[] = { "per-answer", "min-interval", NULL };
static const char *const nat_backends[] = { "nft", "memory", NULL };
static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const role_names[] = { "standalone", "controller", "agent", NULL };
static const char *const on_timeout_names[] = { "servfail", "healthy-pool", NULL };

static void zone_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		      const char *label)
{
	fg_conf_zone_t *z = entry;

	(void)ld;
	(void)label;
	z->line = map->line;
}

static void pool_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		      const char *label)
{
	fg_conf_pool_t *p = entry;

	(void)ld;
	(void)label;
	p->line = map->line;
}

int fg_conf_parse_port(const char *s, fg_conf_port_t *out)
{
	unsigned long a, b;
	char *end;

	if (!strcmp(s, "any")) {
		*out = (fg_conf_port_t){ 0, 0, 65535 };
		return 0;
	}
	if (!strncmp(s, "tcp/", 4))
		out->proto = 6;
	else if (!strncmp(s, "udp/", 4))
		out->proto = 17;
	else
		return -FG_ESYNTAX;
	s += 4;
	if (*s < '0' || *s > '9')
		return -FG_ESYNTAX;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -FG_ESYNTAX;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || a < 1 || b > 65535 || a > b)
		return -FG_ESYNTAX;
	out->first = (uint16_t)a;
	out->last = (uint16_t)b;
	return 0;
}

static int check_port(const char *s, char *err, size_t errlen)
{
	fg_conf_port_t p;

	if (fg_conf_parse_port(s, &p) == 0)
		return 0;
	snprintf(err, errlen, "invalid port '%.40s' (use tcp/N, udp/N, tcp/N-M, udp/N-M "
		 "with N, M in 1-65535, or any)", s);
	return -FG_ESYNTAX;
}

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void service_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			 const char *label)
{
	fg_conf_service_t *s = entry;

	s->line = map->line;
	/* Secure default: a grant exposes only what the service declares.
	 * Without `ports`, the backends' ports (TCP) are the service; a
	 * backend without a port then declares nothing, which is an error
	 * rather than "every port" (write `ports: [any]` for that). */
	/* the data plane translates ports per pool range, so per service */
	bool mixed = false;
	for (size_t i = 1; i < s->nbackends && !mixed; i++)
		if (!addr_port(&s->backends[i].ss) != !addr_port(&s->backends[0].ss)) {
			fg_diag(ld, s->backends[i].line ? s->backends[i].line : map->line,
				"%s: backends either all carry a port or none do", label);
			mixed = true;
		}
	if (!mixed && s->nports == 0 && !fg_ymap_get(map, "ports")) /* a bad one is reported */
		for (size_t i = 0; i < s->nbackends; i++)
			if (addr_port(&s->backends[i].ss) == 0) {
				fg_diag(ld, s->backends[i].line ? s->backends[i].line : map->line,
					"%s: backend without a port and no 'ports': list the ports "
					"the service exposes (ports: [tcp/80]) or write ports: [any]",
					label);
				break;
			}
	for (size_t i = 0; i < s->nports; i++)
		if (!strcmp(s->ports[i], "any") && s->nports > 1) {
			fg_diag(ld, fg_ymap_value_line(map, "ports", "any", 0),
				"%s: ports: 'any' exposes every port; it cannot be combined "
				"with other entries", label);
			break;
		}
	for (size_t i = 0; i < s->npools; i++) {
		unsigned before = 0;
		for (size_t j = 0; j < i; j++)
			before += strcmp(s->pools[i], s->pools[j]) == 0;
		if (before == 1)  /* once per id, at its second mention */
			fg_diag(ld, fg_ymap_value_line(map, "pool", s->pools[i], 1),
				"%s: pool '%s' is listed twice", label, s->pools[i]);
	}
}

static const char *const access_names[] = { "public", "private", NULL };
static const char *const unauth_names[] = { "nxdomain", "decoy", NULL };
static const char *const key_role_names[] = { "resolver", "client", NULL };
static const char *const tsig_algs[] = { "hmac-sha256", "hmac-sha512", NULL };

static void key_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		     const char *label)
{
	fg_conf_key_t *k = entry;

	(void)ld;
	(void)label;
	k->line = map->line;
}

static void policy_key_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			    const char *label)
{
	fg_conf_policy_key_t *k = entry;

	(void)ld;
	(void)label;
	k->line = map->line;
}

/* base64 of 1 to FG_TSIG_SECRET_MAX octets; never echoed in a message */
static int check_tsig_secret(const char *s, char *err, size_t errlen)
{
	uint8_t buf[FG_TSIG_SECRET_MAX];
	int n = fg_tsig_base64_decode(s, buf, sizeof(buf));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (n > 0)
		return 0;
	snprintf(err, errlen, n == -FG_ESPACE ? "TSIG secret longer than %d octets"
		 : "invalid TSIG secret (base64 of the key, e.g. from keymgr -t or "
		   "tsig-keygen)%.0d", FG_TSIG_SECRET_MAX);
	return -1;
}

/* a key name: a domain name of at least one label */
static int check_key_id(const char *s, char *err, size_t errlen)
{
	fg_tsig_key_t k;
	int rc = fg_tsig_key_init(&k, s, "hmac-sha256", "AA==", err, errlen);
	fg_tsig_key_clear(&k);
	return rc < 0 ? -1 : 0;
}

#define KEY(m) offsetof(fg_conf_key_t, m)

static const fg_item_t key_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ, .off = KEY(id),
	  .check = check_key_id },
	{ .name = "algorithm", .type = FG_T_ENUM, .flags = FG_F_REQ | FG_F_ENUM_STR,
	  .off = KEY(algorithm), .enums = tsig_algs },
	{ .name = "secret", .type = FG_T_STR, .off = KEY(secret),
	  .check = check_tsig_secret },
	{ .name = "secret-file", .type = FG_T_STR, .off = KEY(secret_file),
	  .check = fg_check_abspath },
	{ .name = NULL }
};

static const fg_item_t policy_key_items[] = {
	{ .name = "key", .type = FG_T_STR, .flags = FG_F_REQ,
	  .off = offsetof(fg_conf_policy_key_t, key), .check = check_key_id },
	{ .name = "role", .type = FG_T_ENUM, .flags = FG_F_REQ,
	  .off = offsetof(fg_conf_policy_key_t, role), .enums = key_role_names },
	{ .name = NULL }
};

#define SRV(m) offsetof(fg_conf_t, server.m)

static const fg_item_t server_items[] = {
	{ .name = "listen", .type = FG_T_ADDR, .flags = FG_F_MULTI | FG_F_REQ,
	  .off = SRV(listen), .cnt_off = SRV(nlisten), .port = 53 },
	{ .name = "workers", .type = FG_T_INT, .flags = FG_F_AUTO,
	  .off = SRV(workers), .min = 1, .max = 256, .def = "auto" },
	{ .name = "tcp-max-clients", .type = FG_T_INT, .off = SRV(tcp_max_clients),
	  .min = 1, .max = 1048576, .def = "1024" },
	{ .name = "tcp-idle-timeout", .type = FG_T_TIME,
	  .off = SRV(tcp_idle_timeout_ms), .min = 1, .max = MS_MAX, .def = "10s" },
	{ .name = "tcp-query-timeout", .type = FG_T_TIME,
	  .off = SRV(tcp_query_timeout_ms), .min = 1, .max = MS_MAX, .def = "5s" },
	{ .name = "tcp-max-per-source", .type = FG_T_INT, .off = SRV(tcp_max_per_source),
	  .min = 1, .max = 1048576, .def = "16" },
	{ .name = "user", .type = FG_T_STR, .off = SRV(user),
	  .check = fg_check_user },
	{ .name = "pidfile", .type = FG_T_STR, .off = SRV(pidfile),
	  .check = fg_check_abspath },
	{ .name = "nsid", .type = FG_T_STR, .off = SRV(nsid),
	  .check = fg_check_nsid },
	{ .name = "tls-listen", .type = FG_T_ADDR, .flags = FG_F_MULTI,
	  .off = SRV(tls_listen), .cnt_off = SRV(ntls_listen), .port = 853 },
	{ .name = "tls-certificate", .type = FG_T_STR, .off = SRV(tls_certificate),
	  .check = fg_check_abspath },
	{ .name = "tls-key", .type = FG_T_STR, .off = SRV(tls_key),
	  .check = fg_check_abspath },
	{ .name = "tls-max-clients", .type = FG_T_INT, .off = SRV(tls_max_clients),
	  .min = 1, .max = 1048576, .def = "256" },
	{ .name = "tls-idle-timeout", .type = FG_T_TIME,
	  .off = SRV(tls_idle_timeout_ms), .min = 1, .max = MS_MAX, .def = "10s" },
	{ .name = NULL }
};

#define SOA(m) offsetof(fg_conf_zone_t, soa.m)

static const fg_item_t soa_items[] = {
	{ .name = "mname", .type = FG_T_STR, .flags = FG_F_REQ, .off = SOA(mname),
	  .check = fg_check_dname },
	{ .name = "rname", .type = FG_T_STR, .flags = FG_F_REQ, .off = SOA(rname),
	  .check = fg_check_dname },
	{ .name = "serial", .type = FG_T_INT, .off = SOA(serial),
	  .min = 0, .max = UINT32_MAX, .def = "1" },
	{ .name = "refresh", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = SOA(refresh), .min = 0, .max = TTL_MAX, .def = "1h" },
	{ .name = "retry", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = SOA(retry), .min = 0, .max = TTL_MAX, .def = "10m" },
	{ .name = "expire", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = SOA(expire), .min = 0, .max = TTL_MAX, .def = "1w" },
	{ .name = "minimum", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = SOA(minimum), .min = 0, .max = TTL_MAX, .def = "1h" },
	{ .name = NULL }
};

#define ZONE(m) offsetof(fg_conf_zone_t, m)

/* zone.dnssec (keys are read and checked when the zone is built) */
static const char *const dnssec_algs[] = { "ecdsap256sha256", "ed25519", NULL };
static const fg_item_t dnssec_items[] = {
	{ .name = "algorithm", .type = FG_T_ENUM, .flags = FG_F_ENUM_STR,
	  .off = ZONE(dnssec.algorithm), .enums = dnssec_algs, .def = "ecdsap256sha256" },
	{ .name = "keys", .type = FG_T_STR, .flags = FG_F_REQ, .off = ZONE(dnssec.keys),
	  .check = fg_check_abspath },
	{ .name = "rrsig-lifetime", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = ZONE(dnssec.rrsig_lifetime), .min = 7200, .max = 365 * 86400, .def = "14d" },
	{ .name = "rrsig-refresh", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = ZONE(dnssec.rrsig_refresh), .min = 3600, .max = 364 * 86400, .def = "7d" },
	{ .name = NULL }
};

static const fg_item_t zone_items[] = {
	{ .name = "domain", .type = FG_T_STR, .flags = FG_F_REQ,
	  .off = ZONE(domain), .check = fg_check_dname },
	{ .name = "ttl", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = ZONE(ttl), .min = 0, .max = TTL_MAX, .def = "3600" },
	{ .name = "soa", .type = FG_T_MAP, .flags = FG_F_REQ, .sub = soa_items },
	/* record syntax is checked when the zone is built (zonebuild.c) */
	{ .name = "records", .type = FG_T_RECORD, .flags = FG_F_MULTI,
	  .off = ZONE(records), .cnt_off = ZONE(nrecords) },
	{ .name = "dnssec", .type = FG_T_MAP, .flags = FG_F_SETFLAG,
	  .set_off = ZONE(dnssec.set), .sub = dnssec_items },
	{ .name = NULL }
};

const fg_item_t fg_conf_pool_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ,
	  .off = offsetof(fg_conf_pool_t, id), .check = fg_check_id },
	{ .name = "prefix", .type = FG_T_PREFIX, .flags = FG_F_REQ,
	  .off = offsetof(fg_conf_pool_t, prefix) },
	{ .name = NULL }
};

#define SVC(m) offsetof(fg_conf_service_t, m)

/* service.external: RFC 2136 updates of an external primary (the relations
 * between services of one zone are checked in conf.c) */
static const fg_item_t external_items[] = {
	{ .name = "server", .type = FG_T_ADDR, .flags = FG_F_REQ,
	  .off = SVC(external.server), .port = 53 },
	{ .name = "zone", .type = FG_T_STR, .flags = FG_F_REQ, .off = SVC(external.zone),
	  .check = fg_check_dname },
	/* no unsigned updates: an UPDATE anyone on the path could forge
	 * would publish any address */
	{ .name = "key", .type = FG_T_STR, .flags = FG_F_REQ, .off = SVC(external.key),
	  .check = check_key_id },
	{ .name = "epoch", .type = FG_T_TIME, .off = SVC(external.epoch_ms),
	  .min = 1000, .max = 86400000, .def = "30s" },
	{ .name = "timeout", .type = FG_T_TIME, .off = SVC(external.timeout_ms),
	  .min = 10, .max = 60000, .def = "2s" },
	{ .name = NULL }
};

static const fg_item_t service_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ, .off = SVC(id),
	  .check = fg_check_id },
	{ .name = "name", .type = FG_T_STR, .flags = FG_F_REQ, .off = SVC(name),
	  .check = fg_check_dname },
	/* port 0: connect to the backend on the port the client used */
	{ .name = "backend", .type = FG_T_ADDR, .flags = FG_F_MULTI | FG_F_REQ,
	  .off = SVC(backends), .cnt_off = SVC(nbackends), .port = 0 },
	{ .name = "pool", .type = FG_T_STR, .flags = FG_F_MULTI | FG_F_REQ,
	  .off = SVC(pools), .cnt_off = SVC(npools), .check = fg_check_id },
	/* what a grant opens; everything else on the address goes to the
	 * decoys (checked against the backends in service_post) */
	{ .name = "ports", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = SVC(ports), .cnt_off = SVC(nports), .check = check_port },
	{ .name = "ttl", .type = FG_T_TIME, .flags = FG_F_WHOLE_SEC,
	  .off = SVC(ttl_ms), .min = 0, .max = 86400000, .def = "5s" },
	{ .name = "grace", .type = FG_T_TIME, .off = SVC(grace_ms),
	  .min = 0, .max = MS_MAX, .def = "2s" },
	{ .name = "pin", .type = FG_T_TIME, .off = SVC(pin_ms),
	  .min = 0, .max = MS_MAX, .def = "60s" },
	{ .name = "rotation", .type = FG_T_ENUM, .off = SVC(rotation),
	  .enums = rotation_names, .def = "per-answer" },
	/* only read by min-interval rotation; accepted (and defaulted) with
	 * per-answer too so switching the rotation is a one-line change */
	{ .name = "min-interval", .type = FG_T_TIME, .off = SVC(min_interval_ms),
	  .min = 1, .max = MS_MAX, .def = "1s" },
	{ .name = "max-open-fraction", .type = FG_T_FLOAT,
	  .off = SVC(max_open_fraction), .fmin = 0, .fmin_open = true, .fmax = 1,
	  .def = "0.1" },
	{ .name = "external", .type = FG_T_MAP, .flags = FG_F_SETFLAG,
	  .set_off = SVC(external.set), .sub = external_items },
	/* private: only askers proven by a policy.keys key get the address */
	{ .name = "access", .type = FG_T_ENUM, .off = SVC(access),
	  .enums = access_names, .def = "public" },
	{ .name = "unauthenticated", .type = FG_T_ENUM, .off = SVC(unauthenticated),
	  .enums = unauth_names, .def = "nxdomain" },
	{ .name = NULL }
};

#define CONF(m) offsetof(fg_conf_t, m)

static const fg_item_t decoy_items[] = {
	{ .name = "route-via", .type = FG_T_ADDR, .flags = FG_F_REQ | FG_F_NOPORT | FG_F_MULTI,
	  .off = CONF(decoy.route_via), .cnt_off = CONF(decoy.nroute_via) },
	{ .name = NULL }
};

/* policy.direct: sources that resolve for themselves (stub resolvers),
 * whose grants are scoped to their exact address */
static const fg_item_t policy_items[] = {
	{ .name = "direct", .type = FG_T_PREFIX, .flags = FG_F_MULTI,
	  .off = CONF(policy.direct), .cnt_off = CONF(policy.ndirect) },
	{ .name = "resolvers", .type = FG_T_PREFIX, .flags = FG_F_MULTI,
	  .off = CONF(policy.resolvers), .cnt_off = CONF(policy.nresolvers) },
	/* ECS narrower than a /16 (IPv4) or /32 (IPv6) only: a shorter
	 * minimum would let one query open a large share of the Internet */
	{ .name = "ecs-min-prefix4", .type = FG_T_INT, .off = CONF(policy.ecs_min_prefix4),
	  .min = 16, .max = 32, .def = "24" },
	{ .name = "ecs-min-prefix6", .type = FG_T_INT, .off = CONF(policy.ecs_min_prefix6),
	  .min = 32, .max = 128, .def = "56" },
	{ .name = "anyone-per-source", .type = FG_T_INT,
	  .off = CONF(policy.anyone_per_source), .min = 1, .max = 64, .def = "4" },
	{ .name = "exact-per-source", .type = FG_T_INT,
	  .off = CONF(policy.exact_per_source), .min = 1, .max = 256, .def = "64" },
	{ .name = "unverified-share", .type = FG_T_INT,
	  .off = CONF(policy.unverified_share), .min = 0, .max = 100, .def = "50" },
	{ .name = "keys", .type = FG_T_LIST, .sub = policy_key_items,
	  .off = CONF(policy.keys), .cnt_off = CONF(policy.nkeys),
	  .elem_size = sizeof(fg_conf_policy_key_t), .label_key = "key",
	  .post = policy_key_post },
	{ .name = NULL }
};

static const fg_item_t nat_items[] = {
	{ .name = "backend", .type = FG_T_ENUM, .flags = FG_F_ENUM_STR,
	  .off = CONF(nat.backend), .enums = nat_backends, .def = "nft" },
	{ .name = "table", .type = FG_T_STR, .off = CONF(nat.table),
	  .check = fg_check_nft_name, .def = "fluxgate" },
	/* element counts of the kernel sets; SIZE so "256k" reads naturally */
	{ .name = "pin-set-size", .type = FG_T_SIZE, .off = CONF(nat.pin_set_size),
	  .min = 16, .max = 1ULL << 30, .def = "262144" },
	{ .name = "grant-set-size", .type = FG_T_SIZE,
	  .off = CONF(nat.grant_set_size), .min = 16, .max = 1ULL << 30,
	  .def = "1048576" },
	{ .name = NULL }
};

static const fg_item_t control_items[] = {
	{ .name = "socket", .type = FG_T_STR, .off = CONF(control.socket),
	  .check = fg_check_sockpath, .def = "/run/fluxgate/control.sock" },
	/* the one group besides root that may connect (socket 0660) */
	{ .name = "group", .type = FG_T_STR, .off = CONF(control.group),
	  .check = fg_check_group },
	{ .name = NULL }
};

static const fg_item_t metrics_items[] = {
	{ .name = "listen", .type = FG_T_ADDR, .flags = FG_F_REQ,
	  .off = CONF(metrics.listen), .port = 9153 },
	{ .name = NULL }
};

static const char *const rrl_apply_names[] = { "service", "all", NULL };

static const fg_item_t rrl_items[] = {
	{ .name = "rate", .type = FG_T_INT, .off = CONF(rrl.rate),
	  .min = 0, .max = 1000000, .def = "200" },
	{ .name = "slip", .type = FG_T_INT, .off = CONF(rrl.slip),
	  .min = 0, .max = 100, .def = "2" },
	{ .name = "ipv4-prefix", .type = FG_T_INT, .off = CONF(rrl.ipv4_prefix),
	  .min = 8, .max = 32, .def = "24" },
	{ .name = "ipv6-prefix", .type = FG_T_INT, .off = CONF(rrl.ipv6_prefix),
	  .min = 16, .max = 64, .def = "56" },
	{ .name = "table-size", .type = FG_T_SIZE, .off = CONF(rrl.table_size),
	  .min = 16, .max = 1ULL << 24, .def = "65536" },
	{ .name = "apply-to", .type = FG_T_ENUM, .off = CONF(rrl.apply_to),
	  .enums = rrl_apply_names, .def = "service" },
	{ .name = NULL }
};

/* 16 octets as 32 hex digits: the SipHash key of RFC 9018 */
static int check_cookie_secret(const char *s, char *err, size_t errlen)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			break;
	if (i == 32 && s[i] == '\0')
		return 0;
	/* never echo the secret into a log */
	snprintf(err, errlen, "invalid cookie secret (use exactly 32 hex digits)");
	return -1;
}

static const fg_item_t cookie_items[] = {
	{ .name = "secret", .type = FG_T_STR, .off = CONF(cookie.secret),
	  .check = check_cookie_secret },
	{ .name = NULL }
};

static const fg_item_t log_items[] = {
	{ .name = "file", .type = FG_T_STR, .off = CONF(log.file),
	  .check = fg_check_abspath },
	{ .name = "level", .type = FG_T_ENUM, .flags = FG_F_ENUM_STR,
	  .off = CONF(log.level), .enums = log_levels, .def = "info" },
	{ .name = NULL }
};

static const fg_item_t dist_items[] = {
	{ .name = "id", .type = FG_T_STR, .off = CONF(dist.id), .check = fg_check_id },
	{ .name = "listen", .type = FG_T_ADDR, .off = CONF(dist.listen),
	  .port = FG_DIST_DEFAULT_PORT },
	{ .name = "on-timeout", .type = FG_T_ENUM, .off = CONF(dist.on_timeout),
	  .enums = on_timeout_names, .def = "servfail" },
	{ .name = "log-size", .type = FG_T_INT, .off = CONF(dist.log_size),
	  .min = 16, .max = 65536, .def = "1024" },
	{ .name = "tls-ca", .type = FG_T_STR, .off = CONF(dist.tls_ca), .check = fg_check_abspath },
	{ .name = "tls-cert", .type = FG_T_STR, .off = CONF(dist.tls_cert), .check = fg_check_abspath },
	{ .name = "tls-key", .type = FG_T_STR, .off = CONF(dist.tls_key), .check = fg_check_abspath },
	{ .name = NULL }
};

static void agent_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map, const char *label)
{
	(void)ld;
	(void)label;
	((fg_conf_agent_t *)entry)->line = map->line;
}

static void controller_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			    const char *label)
{
	(void)ld;
	(void)label;
	((fg_conf_controller_t *)entry)->line = map->line;
}

#define AGT(m) offsetof(fg_conf_agent_t, m)

static const fg_item_t agent_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ, .off = AGT(id), .check = fg_check_id },
	{ .name = "address", .type = FG_T_ADDR, .flags = FG_F_REQ, .off = AGT(address),
	  .port = FG_DIST_DEFAULT_PORT },
	{ .name = "psk-file", .type = FG_T_STR, .off = AGT(psk_file), .check = fg_check_abspath },
	{ .name = "pool", .type = FG_T_STR, .flags = FG_F_MULTI, .off = AGT(pools),
	  .cnt_off = AGT(npools), .check = fg_check_id },
	{ .name = "timeout", .type = FG_T_TIME, .off = AGT(timeout_ms),
	  .min = 10, .max = 60000, .def = "2s" },
	{ .name = "pair", .type = FG_T_STR, .off = AGT(pair), .check = fg_check_id },
	{ .name = NULL }
};

static const fg_item_t controller_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ,
	  .off = offsetof(fg_conf_controller_t, id), .check = fg_check_id },
	{ .name = "psk-file", .type = FG_T_STR, .off = offsetof(fg_conf_controller_t, psk_file),
	  .check = fg_check_abspath },
	{ .name = "pool", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = offsetof(fg_conf_controller_t, pools),
	  .cnt_off = offsetof(fg_conf_controller_t, npools), .check = fg_check_id },
	{ .name = NULL }
};

const fg_item_t fg_conf_schema[] = {
	{ .name = "role", .type = FG_T_ENUM, .off = CONF(role), .enums = role_names,
	  .def = "standalone" },
	{ .name = "dist", .type = FG_T_MAP, .sub = dist_items },
	{ .name = "agent", .type = FG_T_LIST, .sub = agent_items,
	  .off = CONF(agents), .cnt_off = CONF(nagents),
	  .elem_size = sizeof(fg_conf_agent_t), .label_key = "id", .post = agent_post },
	{ .name = "controller", .type = FG_T_LIST, .sub = controller_items,
	  .off = CONF(controllers), .cnt_off = CONF(ncontrollers),
	  .elem_size = sizeof(fg_conf_controller_t), .label_key = "id",
	  .post = controller_post },
	/* expanded before the schema applies (conf/include.c): kept so the
	 * paths are type-checked and documented */
	{ .name = "include", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = CONF(include), .cnt_off = CONF(ninclude), .check = fg_check_abspath },
	{ .name = "server", .type = FG_T_MAP, .flags = FG_F_REQ, .sub = server_items },
	{ .name = "zone", .type = FG_T_LIST, .sub = zone_items,
	  .off = CONF(zones), .cnt_off = CONF(nzones),
	  .elem_size = sizeof(fg_conf_zone_t), .label_key = "domain",
	  .post = zone_post },
	{ .name = "pool", .type = FG_T_LIST, .sub = fg_conf_pool_items,
	  .off = CONF(pools), .cnt_off = CONF(npools),
	  .elem_size = sizeof(fg_conf_pool_t), .label_key = "id",
	  .post = pool_post },
	{ .name = "service", .type = FG_T_LIST, .sub = service_items,
	  .off = CONF(services), .cnt_off = CONF(nservices),
	  .elem_size = sizeof(fg_conf_service_t), .label_key = "id",
	  .post = service_post },
	{ .name = "key", .type = FG_T_LIST, .sub = key_items,
	  .off = CONF(keys), .cnt_off = CONF(nkeys),
	  .elem_size = sizeof(fg_conf_key_t), .label_key = "id",
	  .post = key_post },
	{ .name = "decoy", .type = FG_T_MAP, .flags = FG_F_SETFLAG,
	  .set_off = CONF(decoy.set), .sub = decoy_items },
	{ .name = "policy", .type = FG_T_MAP, .sub = policy_items },
	{ .name = "nat", .type = FG_T_MAP, .sub = nat_items },
	{ .name = "control", .type = FG_T_MAP, .sub = control_items },
	{ .name = "metrics", .type = FG_T_MAP, .flags = FG_F_SETFLAG,
	  .set_off = CONF(metrics.set), .sub = metrics_items },
	{ .name = "log", .type = FG_T_MAP, .sub = log_items },
	{ .name = "rrl", .type = FG_T_MAP, .sub = rrl_items },
	{ .name = "cookie", .type = FG_T_MAP, .sub = cookie_items },
	{ .name = NULL }
};
