/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Driver of the nft data plane for tests/netns/dataplane.sh: one command
 * per run, against the real kernel of the namespace it runs in.
 *
 *   dataplane_drv [options] setup
 *   dataplane_drv [options] grant SCOPE CLIENT[/PLEN]|* ADDR BACKEND TIMEOUT_MS [SCOPE ...]...
 *   dataplane_drv [options] dump
 *   dataplane_drv [options] quarantine SRC TIMEOUT_MS
 *   dataplane_drv [options] release SRC
 *   dataplane_drv [options] destroy
 *   dataplane_drv [options] bulk N BATCH     (N distinct client grants, batches of BATCH)
 * SCOPE is client, net or any; all grants of one `grant` run go in one
 * commit; BACKEND is ADDR or ADDR@PORT. Options: --table NAME, --pool CIDR
 * (repeatable), --decoy ADDR, --decoy6 ADDR, --pin-ms N, --pin-size N,
 * --grant-size N, --nflog N, --mark N, --rtable N,
 * --svcport CIDR,PROTO,LO[-HI] (repeatable; PROTO tcp, udp, icmp, icmp6 or
 * any; turns the port filter on), --listen ADDR@PORT (repeatable),
 * --backend CIDR,ADDR[@PORT] (repeatable; commits then accept only grants
 * inside a CIDR leading to one of its backends), --portmap CIDR (repeatable;
 * TCP/UDP there go to the backend's port).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/nat.h"

static int parse_addr(const char *s, int *family, uint8_t *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* "a/len" or "a" -> address, prefix length (full when absent). */
static int parse_cidr(const char *s, int *family, uint8_t *a, unsigned *plen)
{
	char buf[80], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, family, a) < 0)
		return -EINVAL;
	*plen = *family == AF_INET6 ? 128 : 32;
	if (slash)
		*plen = (unsigned)atoi(slash + 1);
	return 0;
}

static void prefix_range(const uint8_t *a, unsigned plen, size_t alen, uint8_t *first, uint8_t *last)
{
	size_t i;

	for (i = 0; i < alen * 8; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if (i < plen) {
			first[i / 8] = (uint8_t)((first[i / 8] & ~bit) | (a[i / 8] & bit));
			last[i / 8] = (uint8_t)((last[i / 8] & ~bit) | (a[i / 8] & bit));
		} else {
			first[i / 8] &= (uint8_t)~bit;
			last[i / 8] |= bit;
		}
	}
}

/* "ADDR" or "ADDR@PORT" */
static int parse_backend(const char *s, int *family, uint8_t *out, uint16_t *port)
{
	char buf[80], *at;

	snprintf(buf, sizeof(buf), "%s", s);
	*port = 0;
	if ((at = strrchr(buf, '@'))) {
		*at = 0;
		*port = (uint16_t)strtoul(at + 1, NULL, 10);
	}
	return parse_addr(buf, family, out);
}

static int parse_svcport(const char *s, fg_nat_svcport_t *e)
{
	char buf[120], *proto, *ports, *dash;
	uint8_t a[16];
	unsigned plen;

	snprintf(buf, sizeof(buf), "%s", s);
	if (!(proto = strchr(buf, ',')))
		return -EINVAL;
	*proto++ = 0;
	if (!(ports = strchr(proto, ',')))
		return -EINVAL;
	*ports++ = 0;
	memset(e, 0, sizeof(*e));
	if (parse_cidr(buf, &e->family, a, &plen) < 0)
		return -EINVAL;
	prefix_range(a, plen, e->family == AF_INET6 ? 16 : 4, e->first, e->last);
	if (!strcmp(proto, "any")) {
		e->proto_last = 255;
	} else {
		e->proto_first = e->proto_last = !strcmp(proto, "tcp") ? 6 : !strcmp(proto, "udp") ? 17 :
			!strcmp(proto, "icmp") ? 1 : !strcmp(proto, "icmp6") ? 58 : 0;
		if (!e->proto_first)
			return -EINVAL;
	}
	e->port_first = e->port_last = (uint16_t)strtoul(ports, NULL, 10);
	if ((dash = strchr(ports, '-')))
		e->port_last = (uint16_t)strtoul(dash + 1, NULL, 10);
	return 0;
}

static void print_grant(void *ctx, const fg_grant_t *g)
{
	static const char *const sc[] = { "client", "net", "any" };
	char c[64], a[64], b[64];

	(void)ctx;
	inet_ntop(g->family, g->client, c, sizeof(c));
	inet_ntop(g->family, g->addr, a, sizeof(a));
	inet_ntop(g->family, g->backend, b, sizeof(b));
	if (g->backend_port)
		snprintf(b + strlen(b), sizeof(b) - strlen(b), "@%u", (unsigned)g->backend_port);
	if (g->scope == FG_SCOPE_ANY)
		printf("%s * %s %s %u\n", sc[g->scope], a, b, g->timeout_ms);
	else
		printf("%s %s/%u %s %s %u\n", sc[g->scope], c, g->client_plen, a, b, g->timeout_ms);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	fg_nat_prefix_t pools[16];
	fg_nat_svcport_t svcports[32];
	fg_nat_listen_t listen[8];
	fg_nat_backend_t backends[8];
	fg_nat_prefix_t portmap[8];
	fg_nat_config_t cfg = {
		.table = "fluxgate", .pools = pools, .pin_ms = 60000, .pin_set_size = 65536,
		.decoy_mark = 0x666, .route_table = 4666, .svcports = svcports, .listen = listen,
		.backends = backends, .portmap = portmap,
	};
	const fg_nat_ops_t *ops = fg_nat_ops_find("nft");
	fg_nat_t *nat = NULL;
	int i, rc = 0;

	fg_log_init("dataplane_drv", getenv("FG_DEBUG") ? FG_LOG_DEBUG : FG_LOG_INFO);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			break;
		i++;
		if (!strcmp(o, "--table")) {
			cfg.table = v;
		} else if (!strcmp(o, "--pool") && cfg.npools < 16) {
			uint8_t a[16];
			unsigned plen;
			int fam;

			if (parse_cidr(v, &fam, a, &plen) < 0)
				goto usage;
			memset(&pools[cfg.npools], 0, sizeof(pools[0]));
			pools[cfg.npools].family = fam;
			prefix_range(a, plen, fam == AF_INET6 ? 16 : 4,
				     pools[cfg.npools].first, pools[cfg.npools].last);
			cfg.npools++;
		} else if (!strcmp(o, "--decoy")) {
			if (parse_addr(v, &cfg.decoy_family, cfg.decoy_via) < 0)
				goto usage;
			cfg.decoy_set = true;
		} else if (!strcmp(o, "--decoy6")) {
			int fam;

			if (parse_addr(v, &fam, cfg.decoy_via6) < 0 || fam != AF_INET6)
				goto usage;
			cfg.decoy6_set = true;
		} else if (!strcmp(o, "--pin-ms")) {
			cfg.pin_ms = (uint32_t)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--pin-size")) {
			cfg.pin_set_size = (uint32_t)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--grant-size")) {
			cfg.grant_set_size = (uint32_t)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--nflog")) {
			cfg.nflog_group = (uint16_t)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--mark")) {
			cfg.decoy_mark = (uint32_t)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--svcport") && cfg.nsvcports < 32) {
			if (parse_svcport(v, &svcports[cfg.nsvcports]) < 0)
				goto usage;
			cfg.nsvcports++;
			cfg.ports_set = true;
		} else if (!strcmp(o, "--listen") && cfg.nlisten < 8) {
			memset(&listen[cfg.nlisten], 0, sizeof(listen[0]));
			if (parse_backend(v, &listen[cfg.nlisten].family, listen[cfg.nlisten].addr,
					  &listen[cfg.nlisten].port) < 0)
				goto usage;
			cfg.nlisten++;
		} else if (!strcmp(o, "--backend") && cfg.nbackends < 8) {
			fg_nat_backend_t *be = &backends[cfg.nbackends];
			char buf[120], *comma;
			uint8_t a[16];
			unsigned plen;
			int fam;

			snprintf(buf, sizeof(buf), "%s", v);
			if (!(comma = strchr(buf, ',')))
				goto usage;
			*comma = 0;
			memset(be, 0, sizeof(*be));
			if (parse_cidr(buf, &be->family, a, &plen) < 0 ||
			    parse_backend(comma + 1, &fam, be->addr, &be->port) < 0)
				goto usage;
			prefix_range(a, plen, be->family == AF_INET6 ? 16 : 4, be->first, be->last);
			cfg.nbackends++;
			cfg.backends_set = true;
		} else if (!strcmp(o, "--portmap") && cfg.nportmap < 8) {
			uint8_t a[16];
			unsigned plen;

			memset(&portmap[cfg.nportmap], 0, sizeof(portmap[0]));
			if (parse_cidr(v, &portmap[cfg.nportmap].family, a, &plen) < 0)
				goto usage;
			prefix_range(a, plen, portmap[cfg.nportmap].family == AF_INET6 ? 16 : 4,
				     portmap[cfg.nportmap].first, portmap[cfg.nportmap].last);
			cfg.nportmap++;
		} else if (!strcmp(o, "--rtable")) {
			cfg.route_table = (uint32_t)strtoul(v, NULL, 0);
		} else {
			goto usage;
		}
	}
	if (i >= argc)
		goto usage;
	if (!ops || (rc = ops->open(&cfg, &nat)) < 0) {
		fprintf(stderr, "open: %s\n", fg_strerror(rc));
		return 2;
	}
	if (!strcmp(argv[i], "setup")) {
		rc = ops->setup(nat, &cfg);
	} else if (!strcmp(argv[i], "grant")) {
		int n = (argc - i - 1) / 5, k;
		fg_grant_t *g = calloc((size_t)n + 1, sizeof(*g));

		if (!g || n == 0 || (argc - i - 1) % 5)
			goto usage;
		for (k = 0; k < n; k++) {
			char **a = &argv[i + 1 + 5 * k];
			int fam = 0, fam2;
			unsigned plen = 0;

			g[k].scope = !strcmp(a[0], "client") ? FG_SCOPE_CLIENT :
				     !strcmp(a[0], "net") ? FG_SCOPE_NET : FG_SCOPE_ANY;
			if (parse_addr(a[2], &fam, g[k].addr) < 0 ||
			    parse_backend(a[3], &fam2, g[k].backend, &g[k].backend_port) < 0)
				goto usage;
			if (strcmp(a[1], "*") && parse_cidr(a[1], &fam2, g[k].client, &plen) < 0)
				goto usage;
			g[k].family = (uint8_t)fam;
			g[k].client_plen = (uint8_t)plen;
			g[k].timeout_ms = (uint32_t)strtoul(a[4], NULL, 0);
		}
		rc = ops->commit(nat, g, (size_t)n);
		free(g);
	} else if (!strcmp(argv[i], "dump")) {
		rc = ops->dump(nat, print_grant, NULL);
	} else if (!strcmp(argv[i], "quarantine") && i + 2 < argc) {
		uint8_t a[16];
		int fam;

		if (parse_addr(argv[i + 1], &fam, a) < 0)
			goto usage;
		rc = ops->quarantine(nat, fam, a, (uint32_t)strtoul(argv[i + 2], NULL, 0));
	} else if (!strcmp(argv[i], "release") && i + 1 < argc) {
		uint8_t a[16];
		int fam;

		if (parse_addr(argv[i + 1], &fam, a) < 0)
			goto usage;
		rc = ops->release(nat, fam, a);
	} else if (!strcmp(argv[i], "destroy")) {
		rc = ops->destroy(nat);
	} else if (!strcmp(argv[i], "bulk") && i + 2 < argc) {
		/* N CLIENT grants 100.64.x.y . 198.51.100.z, batches of B. */
		unsigned long n = strtoul(argv[i + 1], NULL, 0), b = strtoul(argv[i + 2], NULL, 0), k;
		fg_grant_t *g = calloc(b, sizeof(*g));
		double t0 = now_s();

		if (!g || !b)
			goto usage;
		for (k = 0; k < n && rc >= 0; k += b) {
			unsigned long j;

			for (j = 0; j < b; j++) {
				uint32_t c = htonl(0x64400000u + (uint32_t)(k + j));
				uint32_t a = htonl(0xc6336400u + (uint32_t)((k + j) % 256));
				uint32_t be = htonl(0x0a02000au);

				g[j].family = AF_INET;
				g[j].scope = FG_SCOPE_CLIENT;
				g[j].client_plen = 32;
				memcpy(g[j].client, &c, 4);
				memcpy(g[j].addr, &a, 4);
				memcpy(g[j].backend, &be, 4);
				g[j].timeout_ms = 600000;
			}
			rc = ops->commit(nat, g, b);
		}
		printf("bulk %lu grants in %.3f s\n", n, now_s() - t0);
		free(g);
	} else {
		goto usage;
	}
	ops->close(nat);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[i], fg_strerror(rc));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: see the header of tests/netns/dataplane_drv.c\n");
	if (nat)
		ops->close(nat);
	return 2;
}
