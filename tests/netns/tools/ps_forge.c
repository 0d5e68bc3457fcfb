/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ps_forge CONF TABLE: play a compromised fluxgated [dns] process against
 * the real [priv] request loop with the nftables backend, inside the
 * network namespace it is run in. Sends, in order:
 *   setup_254      the configuration's data plane with route table 254
 *   setup_ok       the configuration's own data plane
 *   commit_foreign a grant to a backend of no service (an internal host)
 *   commit_outside a grant for an address outside the pools
 *   commit_wide    a subnet grant for 0.0.0.0/1 (finding 1's half the Internet)
 *   commit_long    a grant that outlives the service's ttl + grace
 *   commit_ok      a valid grant
 * and prints one line per request: NAME status=N refused=TOTAL. The calling
 * script checks the kernel afterwards (routes, rules, set elements).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_policy.h"

static int fds[2];
static const char *conf_path, *table;

static void *serve(void *arg)
{
	(void)arg;
	int rc = fg_privsep_test_serve(fds[0], table, conf_path, &fg_nat_nft_ops);
	if (rc < 0)
		fprintf(stderr, "serve: %d\n", rc);
	return NULL;
}

static int req(uint16_t op, uint16_t count, const void *pl, uint32_t len)
{
	static uint8_t buf[sizeof(struct ps_hdr) + sizeof(struct ps_natcfg) +
			   FG_PS_MAX_GRANTS * sizeof(fg_grant_t) + FG_PS_CONF_CHUNK];
	struct ps_hdr h = { PS_MAGIC, op, count, 0, len };
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), pl, len);
	if (send(fds[1], buf, sizeof(h) + len, 0) < 0)
		return -999;
	for (;;) {
		ssize_t k = recv(fds[1], buf, sizeof(buf), 0);
		if (k < (ssize_t)sizeof(h))
			return -998;
		memcpy(&h, buf, sizeof(h));
		if (h.len == 0 && h.count == 0)
			return h.status;
	}
}

static void natcfg_msg(const fg_nat_config_t *c, struct ps_natcfg *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->table, sizeof(m->table), "%s", c->table);
	m->npools = (uint32_t)c->npools;
	memcpy(m->pools, c->pools, c->npools * sizeof(*c->pools));
	m->decoy_set = c->decoy_set;
	m->decoy6_set = c->decoy6_set;
	m->decoy_family = c->decoy_family;
	memcpy(m->decoy_via, c->decoy_via, 16);
	memcpy(m->decoy_via6, c->decoy_via6, 16);
	m->pin_ms = c->pin_ms;
	m->pin_set_size = c->pin_set_size;
	m->grant_set_size = c->grant_set_size;
	m->decoy_mark = c->decoy_mark;
	m->route_table = c->route_table;
	m->nflog_group = c->nflog_group;
}

static fg_grant_t grant(const char *addr, const char *backend)
{
	fg_grant_t g;
	memset(&g, 0, sizeof(g));
	g.family = AF_INET;
	g.scope = FG_SCOPE_CLIENT;
	g.client_plen = 32;
	/* a client no other part of the scenario uses, so a grant the daemon
	 * made earlier cannot stand in for this one */
	inet_pton(AF_INET, "10.66.1.99", g.client);
	inet_pton(AF_INET, addr, g.addr);
	inet_pton(AF_INET, backend, g.backend);
	g.timeout_ms = 5000;
	return g;
}

static void say(const char *name, int status)
{
	printf("%s status=%d refused=%llu\n", name, status,
	       (unsigned long long)fg_privsep_refused(0));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ps_forge CONF TABLE\n");
		return 2;
	}
	conf_path = argv[1];
	table = argv[2];
	fg_log_init("ps_forge", FG_LOG_WARN);
	fg_conf_t *conf = NULL;
	fg_ps_policy_t *pol = NULL;
	if (fg_conf_load(conf_path, &conf, NULL, NULL) < 0 || fg_ps_policy_new(conf, &pol) < 0) {
		fprintf(stderr, "cannot load %s\n", conf_path);
		return 2;
	}
	pthread_t th;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ||
	    pthread_create(&th, NULL, serve, NULL) != 0)
		return 2;
	struct ps_natcfg m;
	natcfg_msg(fg_ps_policy_natcfg(pol), &m);
	m.route_table = 254;
	say("setup_254", req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(pol), &m);
	say("setup_ok", req(PS_SETUP, 0, &m, sizeof(m)));
	fg_grant_t g = grant("198.51.100.20", "10.66.9.9");
	say("commit_foreign", req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant("192.0.2.20", "10.66.2.10");
	say("commit_outside", req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant("198.51.100.22", "10.66.2.10");
	g.scope = FG_SCOPE_NET;
	g.client_plen = 1;
	memset(g.client, 0, sizeof(g.client));
	say("commit_wide", req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant("198.51.100.23", "10.66.2.10");
	g.timeout_ms = 3600 * 1000;
	say("commit_long", req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant("198.51.100.21", "10.66.2.10");
	say("commit_ok", req(PS_COMMIT, 1, &g, sizeof(g)));
	close(fds[1]);
	pthread_join(th, NULL);
	fg_ps_policy_free(pol);
	fg_conf_free(conf);
	return 0;
}
