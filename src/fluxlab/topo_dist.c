/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab, gateway.mode: distributed. The "gw" namespace keeps the
 * clients', resolver's and attackers' links and runs fluxgated as the
 * controller (it answers DNS and decides); the NAT data planes are agents
 * in namespaces of their own, each fluxgated role agent with its nftables
 * ruleset, commanded over TLS 1.3 with a PSK per agent:
 *
 *   agents: N (no pair) - each owns an equal share of gateway.pool, routed
 *   to it by the gw namespace; the real server and the decoy bed have a
 *   link to every agent and send each reply back through the agent its
 *   connection came from (connmark policy routing: NAT needs the reply to
 *   cross the same data plane)
 *
 *     gw g<k> 10.0.2<k>.1 ---- ag<k> up0 10.0.2<k>.2
 *     ag<k> s0 10.0.3<k>.1 ---- srv a<k> 10.0.3<k>.10   (srv 10.0.2.10 on lo)
 *     ag<k> d0 10.0.4<k>.1 ---- dcy a<k> 10.0.4<k>.10   (dcy 10.0.3.10 on lo)
 *
 *   pair: two agents sharing the whole pool through keepalived (VRRP) and
 *   conntrackd (FTFW), configured from etc/failover/'s samples with only
 *   their paths, router id, priority and notify command replaced: the
 *   samples' own addresses are the lab's (10.83/10.85/10.87)
 *
 *     sw br0: gw 10.83.0.254, ag1 lan0 10.83.0.2, ag2 lan0 10.83.0.3, VIP 10.83.0.1
 *     sw br1: ag1 srv0 10.85.0.2, ag2 srv0 10.85.0.3, srv 10.85.0.10, dcy 10.85.0.11, VIP 10.85.0.1
 *     ag1 sync0 10.87.0.1 ---- ag2 sync0 10.87.0.2
 *
 * Every process is started through topo_spawn (PID recorded, killed at
 * teardown); the events thread kills agents and the pair's master by PID.
 */
#include "fluxlab/topo_int.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void ip4(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int lab_dist_share(const lab_run_t *r, uint32_t addr)
{
	const lab_dist_t *d = r->dist;
	if (!d)
		return -1;
	uint32_t mask = d->share_plen ? ~0u << (32 - d->share_plen) : 0;
	for (unsigned k = 0; k < d->nshares; k++)
		if ((addr & mask) == d->share_net[k])
			return (int)k;
	return -1;
}

void lab_dist_answer(lab_run_t *r, double t_query, double now, uint32_t addr, bool fresh)
{
	lab_dist_t *d = r->dist;
	int k = lab_dist_share(r, addr);
	if (!d || k < 0)
		return;
	atomic_fetch_add(&d->answers[k][lab_sec_index(r, now)], 1);
	/* a query that left after the kill cannot have been granted by the
	 * dead agent: an answer carrying its share is the product's failure
	 * (or, with a resolver, its cache's copy) */
	double killed = d->killed_at[k];
	if (!r->sc->gateway.pair && killed >= 0 && t_query - r->t0 > killed)
		atomic_fetch_add(fresh ? &d->dead_answers[k] : &d->dead_cached[k], 1);
}

bool lab_dist_failover_window(const lab_run_t *r, double *from, double *to)
{
	const lab_dist_t *d = r->dist;
	if (!d || d->failover_at < 0)
		return false;
	/* from a second before the kill (a flow conntrackd had not yet
	 * replicated) until both planes have failed over - the backup holds
	 * both addresses and the controller has dropped the dead master's
	 * link (until then its batches fail) - plus 2 s: a SYN sent into
	 * the dead master is retransmitted after 1 s */
	double end = r->sc->duration_ms / 1000.0;
	double done = d->failover_done >= 0 ? d->failover_done : end;
	double ctl = d->failover_ctl_down >= 0 ? d->failover_ctl_down : end;
	*from = d->failover_at - 1.0;
	*to = (done > ctl ? done : ctl) + 2.0;
	return true;
}

void lab_dist_outcome(lab_run_t *r, uint32_t addr, int outcome, double t_syn, double now, bool late)
{
	lab_dist_t *d = r->dist;
	double from, to;
	if (!d)
		return;
	if (outcome == 3) {
		if (lab_dist_failover_window(r, &from, &to)) {
			double t = now - r->t0;
			atomic_fetch_add(t >= from && t <= to ? &d->fo_dns_in : &d->fo_dns_out, 1);
		}
		return;
	}
	int k = lab_dist_share(r, addr);
	if (k < 0)
		return;
	atomic_fetch_add(outcome == 0 ? &d->real[k] : outcome == 1 ? &d->decoy[k] : &d->fail[k], 1);
	if (!t_syn || !lab_dist_failover_window(r, &from, &to))
		return;
	double t = t_syn - r->t0;
	bool in = t >= from && t <= to;
	/* in flight when the master died: the flows conntrackd must carry */
	if (t < d->failover_at && now - r->t0 > d->failover_at)
		atomic_fetch_add(outcome == 0 ? &d->fo_flight_real : outcome == 1 ? &d->fo_flight_decoy
										 : &d->fo_flight_fail, 1);
	if (outcome == 0)
		atomic_fetch_add(&d->fo_real_in, in ? 1 : 0);
	else if (outcome == 1)
		/* inside: the client's lateness; or its SYN left into the
		 * blackout (the master dead, the backup not yet holding the
		 * addresses): the retransmission that reached the backup came
		 * after the answer's TTL + grace, when the grant had lapsed;
		 * else the product */
		atomic_fetch_add(!in ? &d->fo_decoy_out
			     : late ? &d->fo_decoy_in_late
			     : t >= d->failover_at && (d->failover_done < 0 || t <= d->failover_done)
				     ? &d->fo_decoy_in_blackout
				     : &d->fo_decoy_in_product,
			     1);
	else
		atomic_fetch_add(in ? &d->fo_fail_in : &d->fo_fail_out, 1);
}

/* ------------------------------------------------------------ topology */

/* the agents' namespace roles (topo.c's) */
static const char *agr(unsigned k)
{
	static const char *const names[LAB_MAX_AGENTS] = { "ag1", "ag2", "ag3", "ag4" };
	return names[k < LAB_MAX_AGENTS ? k : 0];
}

/* NS's IF on the pair switch's BRIDGE */
static int sw_port(lab_run_t *r, const char *ns, const char *ifn, const char *addr, const char *br)
{
	char peer[16], nsn[64], swn[64];
	snprintf(peer, sizeof peer, "%s-%s", ns, ifn);
	topo_ns(r, ns, nsn, sizeof nsn);
	topo_ns(r, "sw", swn, sizeof swn);
	if (runv(r, NULL, "ip", "link", "add", ifn, "netns", nsn, "type", "veth", "peer", "name", peer,
		 "netns", swn, NULL) ||
	    runv(r, ns, "ip", "addr", "add", addr, "dev", ifn, NULL) ||
	    runv(r, ns, "ip", "link", "set", ifn, "up", NULL) ||
	    runv(r, "sw", "ip", "link", "set", peer, "master", br, NULL) ||
	    runv(r, "sw", "ip", "link", "set", peer, "up", NULL))
		return -1;
	runv(r, ns, "ip", "link", "set", ifn, "txqueuelen", "10000", NULL);
	return 0;
}

/* srv and dcy: a reply leaves through the interface its connection came
 * in on (the agent that NATed it), by connmark and policy routing */
static int reply_routing(lab_run_t *r, const char *role, unsigned base)
{
	char text[2048], path[800];
	size_t o = (size_t)snprintf(text, sizeof text,
				    "table inet fluxlab_rt {\n chain pre {\n"
				    "  type filter hook prerouting priority -150; policy accept;\n");
	for (unsigned k = 0; k < r->dist->nagents; k++)
		o += (size_t)snprintf(text + o, sizeof text - o, "  iifname \"a%u\" ct mark set %u\n", k + 1,
				      k + 1);
	snprintf(text + o, sizeof text - o,
		 " }\n chain out {\n  type route hook output priority -150; policy accept;\n"
		 "  ct mark != 0 meta mark set ct mark\n }\n}\n");
	snprintf(path, sizeof path, "%s/rt-%s.nft", r->workdir, role);
	if (write_file(path, text) || runv(r, role, "nft", "-f", path, NULL))
		return -1;
	for (unsigned k = 0; k < r->dist->nagents; k++) {
		char mark[16], table[16], via[32], dev[16];
		snprintf(mark, sizeof mark, "%u", k + 1);
		snprintf(table, sizeof table, "%u", 100 + k + 1);
		snprintf(via, sizeof via, "10.0.%u.1", base + k + 1);
		snprintf(dev, sizeof dev, "a%u", k + 1);
		if (runv(r, role, "ip", "rule", "add", "fwmark", mark, "table", table, NULL) ||
		    runv(r, role, "ip", "route", "add", "default", "via", via, "dev", dev, "table", table, NULL))
			return -1;
	}
	/* anything unmarked (the lab's own probes) through the first agent */
	char via[32];
	snprintf(via, sizeof via, "10.0.%u.1", base + 1);
	return runv(r, role, "ip", "route", "add", "default", "via", via, NULL);
}

static int links_agents(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	for (unsigned k = 0; k < d->nagents; k++) {
		char gwif[16], up[32], gwa[32], sa[32], sb[32], da[32], db[32], srvif[16];
		snprintf(gwif, sizeof gwif, "g%u", k + 1);
		snprintf(srvif, sizeof srvif, "a%u", k + 1);
		snprintf(gwa, sizeof gwa, "10.0.%u.1/24", 20 + k + 1);
		snprintf(up, sizeof up, "10.0.%u.2/24", 20 + k + 1);
		snprintf(sa, sizeof sa, "10.0.%u.1/24", 30 + k + 1);
		snprintf(sb, sizeof sb, "10.0.%u.10/24", 30 + k + 1);
		snprintf(da, sizeof da, "10.0.%u.1/24", 40 + k + 1);
		snprintf(db, sizeof db, "10.0.%u.10/24", 40 + k + 1);
		if (link_pair(r, "gw", gwif, gwa, agr(k), "up0", up) ||
		    link_pair(r, agr(k), "s0", sa, "srv", srvif, sb) ||
		    link_pair(r, agr(k), "d0", da, "dcy", srvif, db))
			return -1;
		char gwv[32], srvv[32], dcyv[32], share[40], nx[32];
		snprintf(gwv, sizeof gwv, "10.0.%u.1", 20 + k + 1);
		snprintf(srvv, sizeof srvv, "10.0.%u.10", 30 + k + 1);
		snprintf(dcyv, sizeof dcyv, "10.0.%u.10", 40 + k + 1);
		snprintf(nx, sizeof nx, "10.0.%u.2", 20 + k + 1);
		ip4(d->share_net[k], share, sizeof share);
		size_t o = strlen(share);
		snprintf(share + o, sizeof share - o, "/%u", d->share_plen);
		if (runv(r, agr(k), "ip", "route", "add", "default", "via", gwv, NULL) ||
		    runv(r, agr(k), "ip", "route", "add", "10.0.2.10/32", "via", srvv, NULL) ||
		    runv(r, agr(k), "ip", "route", "add", "10.0.3.10/32", "via", dcyv, NULL) ||
		    runv(r, "gw", "ip", "route", "add", share, "via", nx, NULL))
			return -1;
	}
	if (runv(r, "srv", "ip", "addr", "add", "10.0.2.10/32", "dev", "lo", NULL) ||
	    runv(r, "dcy", "ip", "addr", "add", "10.0.3.10/32", "dev", "lo", NULL) ||
	    reply_routing(r, "srv", 30) || reply_routing(r, "dcy", 40))
		return -1;
	return 0;
}

static int links_pair(lab_run_t *r)
{
	if (runv(r, "sw", "ip", "link", "add", "br0", "type", "bridge", NULL) ||
	    runv(r, "sw", "ip", "link", "add", "br1", "type", "bridge", NULL) ||
	    runv(r, "sw", "ip", "link", "set", "br0", "up", NULL) ||
	    runv(r, "sw", "ip", "link", "set", "br1", "up", NULL))
		return -1;
	if (sw_port(r, "gw", "g1", "10.83.0.254/24", "br0") || sw_port(r, "ag1", "lan0", "10.83.0.2/24", "br0") ||
	    sw_port(r, "ag2", "lan0", "10.83.0.3/24", "br0") || sw_port(r, "ag1", "srv0", "10.85.0.2/24", "br1") ||
	    sw_port(r, "ag2", "srv0", "10.85.0.3/24", "br1") || sw_port(r, "srv", "eth0", "10.85.0.10/24", "br1") ||
	    sw_port(r, "dcy", "eth0", "10.85.0.11/24", "br1") ||
	    link_pair(r, "ag1", "sync0", "10.87.0.1/24", "ag2", "sync0", "10.87.0.2/24"))
		return -1;
	for (unsigned k = 0; k < 2; k++)
		if (runv(r, agr(k), "ip", "route", "add", "default", "via", "10.83.0.254", NULL) ||
		    runv(r, agr(k), "ip", "route", "add", "10.0.2.10/32", "via", "10.85.0.10", NULL) ||
		    runv(r, agr(k), "ip", "route", "add", "10.0.3.10/32", "via", "10.85.0.11", NULL))
			return -1;
	if (runv(r, "gw", "ip", "route", "add", r->sc->gateway.pool, "via", "10.83.0.1", NULL) ||
	    runv(r, "srv", "ip", "addr", "add", "10.0.2.10/32", "dev", "lo", NULL) ||
	    runv(r, "dcy", "ip", "addr", "add", "10.0.3.10/32", "dev", "lo", NULL) ||
	    runv(r, "srv", "ip", "route", "add", "default", "via", "10.85.0.1", NULL) ||
	    runv(r, "dcy", "ip", "route", "add", "default", "via", "10.85.0.1", NULL))
		return -1;
	return 0;
}

int topo_dist_links(lab_run_t *r)
{
	const lab_scenario_t *s = r->sc;
	lab_dist_t *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	r->dist = d;
	d->nagents = s->gateway.agents;
	d->failover_at = d->failover_done = d->failover_ctl_down = -1;
	d->failover_from = -1;
	for (unsigned k = 0; k < LAB_MAX_AGENTS; k++)
		d->killed_at[k] = -1;
	unsigned bits = s->gateway.pair ? 0 : d->nagents > 2 ? 2 : d->nagents > 1 ? 1 : 0;
	d->nshares = s->gateway.pair ? 1 : d->nagents;
	d->share_plen = r->pool_plen + bits;
	for (unsigned k = 0; k < d->nshares; k++)
		d->share_net[k] = r->pool_net + (k << (32 - d->share_plen));
	for (unsigned k = 0; k < d->nagents; k++) {
		const char *ag = agr(k);
		if (ns_sysctl(r, ag, "net.ipv4.ip_forward", "1") ||
		    ns_sysctl(r, ag, "net.ipv4.conf.all.rp_filter", "0") ||
		    ns_sysctl(r, ag, "net.ipv4.conf.default.rp_filter", "0") ||
		    ns_sysctl(r, ag, "net.netfilter.nf_conntrack_tcp_loose", "0"))
			return -1;
	}
	const char *ends[] = { "srv", "dcy" };
	for (int i = 0; i < 2; i++)
		if (ns_sysctl(r, ends[i], "net.ipv4.conf.all.rp_filter", "0") ||
		    ns_sysctl(r, ends[i], "net.ipv4.conf.default.rp_filter", "0"))
			return -1;
	/* gateway.external-dns: Knot or BIND next to the controller */
	if (s->gateway.external &&
	    (link_pair(r, "gw", "x0", "10.0.6.1/24", "ext", "eth0", "10.0.6.53/24") ||
	     runv(r, "ext", "ip", "route", "add", "default", "via", "10.0.6.1", NULL)))
		return -1;
	return s->gateway.pair ? links_pair(r) : links_agents(r);
}

int topo_server_rate(lab_run_t *r)
{
	uint64_t bps = r->sc->gateway.server_rate_bps;
	if (!bps)
		return 0;
	char rate[32];
	snprintf(rate, sizeof rate, "%llubit", (unsigned long long)bps);
	const char *ends[] = { "srv", "dcy" };
	for (int i = 0; i < 2; i++) {
		char ifs[LAB_MAX_AGENTS][16];
		unsigned n = 0;
		if (r->dist && !r->sc->gateway.pair)
			for (; n < r->dist->nagents; n++)
				snprintf(ifs[n], sizeof ifs[n], "a%u", n + 1);
		else
			snprintf(ifs[n++], sizeof ifs[0], "eth0");
		/* a burst of 64 kB and at most 200 ms of queue: TCP sees a
		 * slower link, not a loss storm */
		for (unsigned k = 0; k < n; k++)
			if (runv(r, ends[i], "tc", "qdisc", "add", "dev", ifs[k], "root", "tbf", "rate", rate, "burst",
				 "64kb", "latency", "200ms", NULL))
				return -1;
	}
	return 0;
}

const char *topo_dist_probe_role(lab_run_t *r)
{
	return "ag1";
}

/* ------------------------------------------------------------ configs */

/* what the controller and every agent share: the zone, pools, service.
 * ext: the controller's with gateway.external-dns - no zone of its own
 * (the external server's), the TSIG key, the service's external map */
static size_t common_conf(lab_run_t *r, char *text, size_t cap, bool ext)
{
	const lab_scenario_t *s = r->sc;
	lab_dist_t *d = r->dist;
	size_t o = 0;
	if (ext)
		o = (size_t)snprintf(text, cap,
				     "key:\n"
				     "  - id: " LAB_SERVICE_NAME "\n"
				     "    algorithm: hmac-sha256\n"
				     "    secret: \"%s\"\n"
				     "pool:\n",
				     d->tsig_secret);
	else
		o = (size_t)snprintf(text, cap,
				    "zone:\n"
				    "  - domain: lab.test\n"
				    "    ttl: 300\n"
				    "    soa: { mname: ns1.lab.test., rname: hostmaster.lab.test., serial: 1, refresh: 1h, "
				    "retry: 10m, expire: 1w, minimum: 1s }\n"
				    "    records:\n"
				    "      - \"@ NS ns1\"\n"
				    "      - \"ns1 A 10.0.4.1\"\n"
				    "pool:\n");
	for (unsigned k = 0; k < d->nshares; k++) {
		char net[32];
		ip4(d->share_net[k], net, sizeof net);
		o += (size_t)snprintf(text + o, o < cap ? cap - o : 0, "  - id: lab4s%u\n    prefix: %s/%u\n", k + 1,
				      net, d->share_plen);
	}
	o += (size_t)snprintf(text + o, o < cap ? cap - o : 0,
			      "service:\n"
			      "  - id: www\n"
			      "    name: " LAB_SERVICE_NAME "\n"
			      "    backend: [ 10.0.2.10 ]\n"
			      "    ports: [ any ]\n"
			      "    pool: [ ");
	for (unsigned k = 0; k < d->nshares; k++)
		o += (size_t)snprintf(text + o, o < cap ? cap - o : 0, "%slab4s%u", k ? ", " : "", k + 1);
	/* external: the address moves once an epoch, at the server. An
	 * agent's privileged side caps a grant at its own service's ttl +
	 * grace (+ epoch only for a service it knows as external - and one it
	 * knew so would run an epoch thread of its own, sending UPDATEs of
	 * addresses only it granted): so the agents' copy of the service
	 * carries the epoch in its grace, to accept the controller's grants */
	uint32_t agent_grace = s->gateway.grace_ms;
	if (s->gateway.external && !ext)
		agent_grace += s->gateway.epoch_ms;
	char how[256];
	if (ext)
		snprintf(how, sizeof how,
			 "    external: { server: 10.0.6.53@53, zone: lab.test, key: " LAB_SERVICE_NAME
			 ", epoch: %us, timeout: 1s }\n",
			 s->gateway.epoch_ms / 1000);
	else
		snprintf(how, sizeof how, "    rotation: per-answer\n    max-open-fraction: %g\n",
			 s->gateway.max_open_fraction);
	o += (size_t)snprintf(text + o, o < cap ? cap - o : 0,
			      " ]\n"
			      "    ttl: %us\n"
			      "    grace: %ums\n"
			      "    pin: %ums\n"
			      "%s"
			      "policy:\n"
			      "  direct: [ 10.1.0.0/16 ]\n"
			      "  resolvers: [ 10.0.4.53/32 ]\n",
			      s->gateway.ttl_ms / 1000, agent_grace, s->gateway.pin_ms, how);
	return o;
}

static int agent_conf(lab_run_t *r, unsigned k)
{
	bool pair = r->sc->gateway.pair;
	char text[8192], path[800], listen[32], via[32];
	if (pair) {
		snprintf(listen, sizeof listen, "10.83.0.%u@4700", k + 2);
		snprintf(via, sizeof via, "10.85.0.11");
	} else {
		snprintf(listen, sizeof listen, "10.0.%u.2@4700", 20 + k + 1);
		snprintf(via, sizeof via, "10.0.%u.10", 40 + k + 1);
	}
	size_t o = (size_t)snprintf(text, sizeof text,
				    "# generated by fluxlab: agent %u\n"
				    "role: agent\n"
				    "server:\n"
				    "  listen: [ \"127.0.0.1@53\" ]\n"
				    "  user: nobody\n"
				    "  workers: 1\n"
				    "dist:\n"
				    "  id: ag%u\n"
				    "  listen: %s\n"
				    "controller:\n"
				    "  - id: ctl\n"
				    "    psk-file: %s/ag%u.psk\n"
				    "control:\n"
				    "  socket: \"%s/ag%u.sock\"\n"
				    "log:\n"
				    "  level: warning\n"
				    "decoy:\n"
				    "  route-via: [ %s ]\n"
				    "nat:\n"
				    "  backend: nft\n"
				    "  table: fluxgate\n",
				    k + 1, k + 1, listen, r->workdir, k + 1, r->workdir, k + 1, via);
	common_conf(r, text + o, sizeof text - o, false);
	snprintf(path, sizeof path, "%s/ag%u.conf", r->workdir, k + 1);
	return write_file(path, text);
}

static int controller_conf(lab_run_t *r)
{
	const lab_scenario_t *s = r->sc;
	lab_dist_t *d = r->dist;
	char text[12288], path[800];
	size_t o = (size_t)snprintf(text, sizeof text,
				    "# generated by fluxlab for scenario %s: the controller\n"
				    "role: controller\n"
				    "server:\n"
				    "  listen: [ \"10.0.4.1@53\", \"10.0.1.1@53\", \"10.0.5.1@53\" ]\n"
				    "  user: nobody\n"
				    "  workers: %u\n"
				    "control:\n"
				    "  socket: \"%s/control.sock\"\n"
				    "log:\n"
				    "  level: warning\n"
				    "dist:\n"
				    "  id: ctl\n"
				    "  on-timeout: %s\n"
				    "agent:\n",
				    s->name, s->gateway.workers ? s->gateway.workers : 2, r->workdir,
				    s->gateway.on_timeout_healthy ? "healthy-pool" : "servfail");
	for (unsigned k = 0; k < d->nagents; k++) {
		char addr[32], pool[16], pair[32] = "";
		if (s->gateway.pair) {
			snprintf(addr, sizeof addr, "10.83.0.%u@4700", k + 2);
			snprintf(pool, sizeof pool, "lab4s1");
			snprintf(pair, sizeof pair, "    pair: ag%u\n", 2 - k);
		} else {
			snprintf(addr, sizeof addr, "10.0.%u.2@4700", 20 + k + 1);
			snprintf(pool, sizeof pool, "lab4s%u", k + 1);
		}
		o += (size_t)snprintf(text + o, o < sizeof text ? sizeof text - o : 0,
				      "  - id: ag%u\n"
				      "    address: %s\n"
				      "    psk-file: %s/ag%u.psk\n"
				      "    pool: [ %s ]\n"
				      "    timeout: %ums\n"
				      "%s",
				      k + 1, addr, r->workdir, k + 1, pool, s->gateway.agent_timeout_ms, pair);
	}
	if (s->gateway.rrl_rate >= 0 || s->gateway.rrl_slip >= 0)
		o += (size_t)snprintf(text + o, o < sizeof text ? sizeof text - o : 0, "rrl:\n");
	if (s->gateway.rrl_rate >= 0)
		o += (size_t)snprintf(text + o, o < sizeof text ? sizeof text - o : 0, "  rate: %ld\n",
				      s->gateway.rrl_rate);
	if (s->gateway.rrl_slip >= 0)
		o += (size_t)snprintf(text + o, o < sizeof text ? sizeof text - o : 0, "  slip: %ld\n",
				      s->gateway.rrl_slip);
	if (o >= sizeof text)
		return -1;
	common_conf(r, text + o, sizeof text - o, s->gateway.external != LAB_EXT_NONE);
	snprintf(path, sizeof path, "%s/fluxgated.conf", r->workdir);
	return write_file(path, text);
}

static int make_psk(lab_run_t *r, unsigned k)
{
	char path[800], *out = NULL;
	char *argv[] = { "openssl", "rand", "-hex", "32", NULL };
	if (topo_run(r, NULL, argv, &out) != 0 || !out || strlen(out) < 64) {
		free(out);
		lab_log("cannot make a PSK");
		return -1;
	}
	snprintf(path, sizeof path, "%s/ag%u.psk", r->workdir, k + 1);
	int rc = write_file(path, out);
	free(out);
	return rc ? rc : chmod(path, 0600);
}

static int check_conf(lab_run_t *r, const char *path)
{
	char *chk[] = { r->fluxgated, "--check", "-c", (char *)path, NULL };
	char *out = NULL;
	int rc = topo_run(r, NULL, chk, &out);
	if (rc != 0)
		lab_log("generated fluxgated config %s rejected:\n%s", path, out ? out : "");
	free(out);
	return rc ? -1 : 0;
}

/* the controller's view of agent k's link (`fluxctl status`): "up",
 * "down", "connecting", "stalled"; "" when it cannot tell */
static void agent_state(lab_run_t *r, unsigned k, char *buf, size_t len)
{
	char sock[700], *out = NULL, id[16];
	snprintf(sock, sizeof sock, "%s/control.sock", r->workdir);
	snprintf(id, sizeof id, "ag%u", k + 1);
	char *argv[] = { r->fluxctl, "-s", sock, "--json", "status", NULL };
	buf[0] = 0;
	if (topo_run(r, NULL, argv, &out) == 0 && out) {
		json_t *j = json_loads(out, 0, NULL), *a;
		size_t i;
		json_array_foreach(json_object_get(j, "agents"), i, a) {
			const char *aid = json_string_value(json_object_get(a, "id"));
			const char *st = json_string_value(json_object_get(a, "state"));
			if (aid && st && !strcmp(aid, id))
				snprintf(buf, len, "%s", st);
		}
		json_decref(j);
	}
	free(out);
}

static bool agent_up(lab_run_t *r, unsigned k)
{
	char st[32];
	agent_state(r, k, st, sizeof st);
	return !strcmp(st, "up");
}

/* ------------------------------------------------------------ external DNS */

static const char ext_zone[] = "$TTL 60\n"
			       "@ SOA ns1 hostmaster 100 3600 600 86400 1\n"
			       "@ NS ns1\n"
			       "ns1 A 10.0.6.53\n"
			       "www A 192.0.2.1\n";

/* a real knotd (ACL update-owner: key) or BIND 9 named (update-policy)
 * serving lab.test in "ext"; the key may change only www.lab.test's A */
static int ext_start(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	char dir[700], path[800], text[4096], *out = NULL;
	char *rnd[] = { "openssl", "rand", "-base64", "32", NULL };
	if (topo_run(r, NULL, rnd, &out) != 0 || !out || strlen(out) < 44) {
		free(out);
		lab_log("cannot make a TSIG secret");
		return -1;
	}
	snprintf(d->tsig_secret, sizeof d->tsig_secret, "%.44s", out);
	free(out);
	snprintf(dir, sizeof dir, "%s/ext", r->workdir);
	/* a work directory reused (--workdir) must not bring back an earlier
	 * run's journal: its addresses are granted nowhere */
	char *rm[] = { "rm", "-rf", dir, NULL };
	topo_run(r, NULL, rm, NULL);
	if (mkdir(dir, 0755) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/run", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/db", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/lab.test.zone", dir);
	if (write_file(path, ext_zone))
		return -1;
	pid_t p;
	if (r->sc->gateway.external == LAB_EXT_KNOT) {
		snprintf(text, sizeof text,
			 "server:\n"
			 "    rundir: \"%s/run\"\n"
			 "    user: root:root\n"
			 "    listen: [ \"10.0.6.53@53\" ]\n"
			 "    background-workers: 1\n"
			 "log:\n"
			 "  - target: stderr\n"
			 "    any: info\n"
			 "database:\n"
			 "    storage: \"%s/db\"\n"
			 "key:\n"
			 "  - id: " LAB_SERVICE_NAME "\n"
			 "    algorithm: hmac-sha256\n"
			 "    secret: %s\n"
			 "acl:\n"
			 "  - id: fluxgate\n"
			 "    key: [ " LAB_SERVICE_NAME " ]\n"
			 "    action: update\n"
			 "    update-owner: key\n"
			 "    update-type: [ A, AAAA ]\n"
			 "zone:\n"
			 "  - domain: lab.test\n"
			 "    storage: \"%s\"\n"
			 "    file: \"lab.test.zone\"\n"
			 "    zonefile-sync: -1\n"
			 "    zonefile-load: whole\n"
			 "    journal-content: changes\n"
			 "    serial-policy: increment\n"
			 "    acl: fluxgate\n",
			 dir, dir, d->tsig_secret, dir);
		snprintf(path, sizeof path, "%s/knot.conf", dir);
		if (write_file(path, text))
			return -1;
		char *kn[] = { "knotd", "-c", path, NULL };
		p = topo_spawn(r, "ext", "knotd", kn);
	} else {
		snprintf(text, sizeof text,
			 "key \"" LAB_SERVICE_NAME "\" { algorithm hmac-sha256; secret \"%s\"; };\n"
			 "controls { };\n"
			 "options {\n"
			 "    directory \"%s\";\n"
			 "    pid-file \"%s/named.pid\";\n"
			 "    session-keyfile \"%s/session.key\";\n"
			 "    listen-on port 53 { 10.0.6.53; };\n"
			 "    listen-on-v6 { none; };\n"
			 "    recursion no;\n"
			 "    dnssec-validation no;\n"
			 "    allow-query { any; };\n"
			 "};\n"
			 "zone \"lab.test\" {\n"
			 "    type primary;\n"
			 "    file \"%s/lab.test.zone\";\n"
			 "    journal \"%s/lab.test.zone.jnl\";\n"
			 "    update-policy { grant " LAB_SERVICE_NAME ". self " LAB_SERVICE_NAME ". A AAAA; };\n"
			 "};\n",
			 d->tsig_secret, dir, dir, dir, dir, dir);
		snprintf(path, sizeof path, "%s/named.conf", dir);
		if (write_file(path, text))
			return -1;
		char *nm[] = { "named", "-g", "-c", path, NULL };
		p = topo_spawn(r, "ext", "named", nm);
	}
	if (p < 0 || wait_dns(r, "gw", "10.0.6.53", 30) < 0) {
		lab_log("the external DNS server does not answer");
		show_log(r, r->sc->gateway.external == LAB_EXT_KNOT ? "knotd" : "named");
		return -1;
	}
	return 0;
}

/* the SOA serial and www.lab.test's A at the external server (0 / "") */
static uint32_t ext_query(lab_run_t *r, const char *type, char *a, size_t alen)
{
	char *out = NULL;
	char *argv[] = { "kdig", "+short", "+timeout=2", "+retry=1", "@10.0.6.53",
			 (char *)(strcmp(type, "SOA") ? LAB_SERVICE_NAME : "lab.test"), (char *)type, NULL };
	uint32_t serial = 0;
	if (a)
		a[0] = 0;
	if (topo_run(r, "gw", argv, &out) == 0 && out) {
		unsigned s1 = 0;
		char m[256], rn[256];
		if (!a && sscanf(out, "%255s %255s %u", m, rn, &s1) == 3)
			serial = s1;
		else if (a)
			snprintf(a, alen, "%.*s", (int)strcspn(out, "\n"), out);
	}
	free(out);
	return serial;
}

void topo_dist_finish(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	if (!d || !r->sc->gateway.external)
		return;
	d->ext_serial1 = ext_query(r, "SOA", NULL, 0);
	char sock[700], *out = NULL;
	snprintf(sock, sizeof sock, "%s/control.sock", r->workdir);
	char *argv[] = { r->fluxctl, "-s", sock, "--json", "status", NULL };
	if (topo_run(r, NULL, argv, &out) == 0 && out) {
		json_t *j = json_loads(out, 0, NULL), *z;
		size_t i;
		json_array_foreach(json_object_get(j, "external"), i, z) {
			d->ext_published += (uint64_t)json_integer_value(json_object_get(z, "published"));
			d->ext_failed += (uint64_t)json_integer_value(json_object_get(z, "failed"));
		}
		json_decref(j);
	}
	free(out);
}

/* ------------------------------------------------------------ the pair */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		lab_log("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap + 8192);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 8192;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

/* a copy of text with every `from` replaced by `to`; NULL if `from` is
 * not in it (the sample changed: better to stop than run the host's
 * paths) */
static char *subst(char *text, const char *from, const char *to)
{
	if (!text)
		return NULL;
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	for (const char *p = strstr(text, from); p; p = strstr(p + nf, from))
		n++;
	if (!n) {
		lab_log("failover sample: '%s' not found", from);
		free(text);
		return NULL;
	}
	char *out = malloc(strlen(text) + n * nt + 1), *o = out;
	if (!out) {
		free(text);
		return NULL;
	}
	const char *s = text;
	for (const char *p = strstr(s, from); p; p = strstr(s, from)) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, nt);
		o += nt;
		s = p + nf;
	}
	strcpy(o, s);
	free(text);
	return out;
}

static void failover_dir(lab_run_t *r, char *buf, size_t len)
{
	const char *e = getenv("FLUXLAB_FAILOVER");
	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return;
	}
	/* build/fluxlab: the repository's etc/failover */
	char self[sizeof r->self];
	memcpy(self, r->self, sizeof self);
	char *sl = strrchr(self, '/');
	if (sl)
		*sl = 0;
	snprintf(buf, len, "%.400s/../etc/failover", self);
}

/* One replacement in a sample: every `from` becomes `to`, or the path of
 * the file `to` in the agent's directory (in_dir). */
struct sample_sub {
	const char *from, *to;
	bool in_dir;
};

/* dir/name from etc/name.sample with subs applied in order; 0, or -1 (a
 * sample not read, a `from` not in it: logged by read_all and subst). */
static int from_sample(const char *etc, const char *dir, const char *name,
		       const struct sample_sub *subs, size_t nsubs)
{
	char path[800], v[1400];
	snprintf(path, sizeof path, "%s/%s.sample", etc, name);
	char *t = read_all(path);
	for (size_t i = 0; i < nsubs; i++) {
		const char *to = subs[i].to;
		if (subs[i].in_dir) {
			snprintf(v, sizeof v, "%s/%s", dir, to);
			to = v;
		}
		t = subst(t, subs[i].from, to);
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int rc = !t || write_file(path, t) ? -1 : 0;
	free(t);
	return rc;
}

#define NSUBS(a) (sizeof(a) / sizeof((a)[0]))

/* Agent k of the pair (0 or 1) from etc/failover's samples. */
static int pair_conf(lab_run_t *r, unsigned k)
{
	char etc[512], d[700], notify[1400];
	failover_dir(r, etc, sizeof etc);
	snprintf(d, sizeof d, "%s/ag%u", r->workdir, k + 1);
	if (mkdir(d, 0755) < 0 && errno != EEXIST)
		return -1;
	const struct sample_sub conntrackd[] = {
		{ "IPv4_address 10.87.0.1 ",
		  k ? "IPv4_address 10.87.0.2 " : "IPv4_address 10.87.0.1 ", false },
		/* the peer's line: the Address Ignore list names both, keep it */
		{ "IPv4_Destination_Address 10.87.0.2",
		  k ? "IPv4_Destination_Address 10.87.0.1" : "IPv4_Destination_Address 10.87.0.2", false },
		{ "/var/lock/conntrack.lock", "conntrack.lock", true },
		{ "/var/run/conntrackd.ctl", "conntrackd.ctl", true },
		{ "/var/log/conntrackd.log", "conntrackd.log", true },
	};
	const struct sample_sub failover[] = {
		{ "/etc/conntrackd/conntrackd.conf", "conntrackd.conf", true },
		{ "/run/fluxgate-failover.lock", "failover.lock", true },
		{ "/var/log/fluxgate-failover.log", "failover.log", true },
	};
	snprintf(notify, sizeof notify, "%s/fluxgate-failover-notify %s/failover.conf", etc, d);
	const struct sample_sub keepalived[] = {
		{ "router_id fluxgate-a", k ? "router_id fluxgate-ag2" : "router_id fluxgate-ag1", false },
		{ "priority 150", k ? "priority 100" : "priority 150", false },
		{ "/usr/local/lib/fluxgate/fluxgate-failover-notify /etc/fluxgate/failover/failover.conf",
		  notify, false },
		/* the notify script is the repository's, not a root-only path */
		{ "    enable_script_security\n", "", false },
	};
	if (from_sample(etc, d, "conntrackd.conf", conntrackd, NSUBS(conntrackd)) ||
	    from_sample(etc, d, "failover.conf", failover, NSUBS(failover)) ||
	    from_sample(etc, d, "keepalived.conf", keepalived, NSUBS(keepalived)))
		return -1;
	return 0;
}

static bool has_vips(lab_run_t *r, unsigned k)
{
	char *out = NULL;
	char *argv[] = { "ip", "-o", "-4", "addr", "show", NULL };
	bool ok = topo_run(r, agr(k), argv, &out) == 0 && out && strstr(out, " 10.83.0.1/") &&
		  strstr(out, " 10.85.0.1/");
	free(out);
	return ok;
}

static int start_pair(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	for (unsigned k = 0; k < 2; k++) {
		if (pair_conf(r, k))
			return -1;
		char conf[800], label[32];
		snprintf(conf, sizeof conf, "%s/ag%u/conntrackd.conf", r->workdir, k + 1);
		snprintf(label, sizeof label, "conntrackd-ag%u", k + 1);
		char *ct[] = { "conntrackd", "-C", conf, NULL };
		if ((d->conntrackd[k] = topo_spawn(r, agr(k), label, ct)) < 0)
			return -1;
		double end = lab_now() + 30;
		char *st[] = { "conntrackd", "-C", conf, "-s", NULL };
		while (topo_run(r, agr(k), st, NULL) != 0) {
			if (lab_now() > end || atomic_load(&r->stop)) {
				lab_log("conntrackd of ag%u does not answer", k + 1);
				show_log(r, label);
				return -1;
			}
			usleep(200000);
		}
	}
	/* ag1 first, so that it is the master (the samples' nopreempt) */
	for (unsigned k = 0; k < 2; k++) {
		char dir[700], conf[800], pid[800], vrrp[800], chk[800], label[32];
		snprintf(dir, sizeof dir, "%s/ag%u", r->workdir, k + 1);
		snprintf(conf, sizeof conf, "%s/keepalived.conf", dir);
		snprintf(pid, sizeof pid, "%s/keepalived.pid", dir);
		snprintf(vrrp, sizeof vrrp, "%s/vrrp.pid", dir);
		snprintf(chk, sizeof chk, "%s/checkers.pid", dir);
		snprintf(label, sizeof label, "keepalived-ag%u", k + 1);
		char *ka[] = { "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", pid, "-r", vrrp, "-c", chk, NULL };
		if ((d->keepalived[k] = topo_spawn(r, agr(k), label, ka)) < 0)
			return -1;
		if (k == 0) {
			double end = lab_now() + 60;
			while (!has_vips(r, 0)) {
				if (lab_now() > end || atomic_load(&r->stop)) {
					lab_log("ag1 did not become VRRP master");
					show_log(r, label);
					return -1;
				}
				usleep(200000);
			}
		}
	}
	return 0;
}

pid_t topo_dist_start(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	for (unsigned k = 0; k < d->nagents; k++) {
		char path[800], label[32];
		snprintf(path, sizeof path, "%s/ag%u.conf", r->workdir, k + 1);
		snprintf(label, sizeof label, "fluxgated-ag%u", k + 1);
		if (make_psk(r, k) || agent_conf(r, k) || check_conf(r, path))
			return -1;
		char *fg[] = { r->fluxgated, "-c", path, NULL };
		if ((d->pid[k] = topo_spawn(r, agr(k), label, fg)) < 0)
			return -1;
	}
	for (unsigned k = 0; k < d->nagents; k++) {
		char ip[32], label[32];
		if (r->sc->gateway.pair)
			snprintf(ip, sizeof ip, "10.83.0.%u", k + 2);
		else
			snprintf(ip, sizeof ip, "10.0.%u.2", 20 + k + 1);
		snprintf(label, sizeof label, "fluxgated-ag%u", k + 1);
		if (wait_tcp(r, "gw", ip, "4700", 60) < 0) {
			lab_log("agent ag%u does not listen", k + 1);
			show_log(r, label);
			return -1;
		}
	}
	bool ext = r->sc->gateway.external != LAB_EXT_NONE;
	if (ext && ext_start(r))
		return -1;
	if (ext)
		d->ext_serial0 = ext_query(r, "SOA", NULL, 0);
	char path[800];
	snprintf(path, sizeof path, "%s/fluxgated.conf", r->workdir);
	if (controller_conf(r) || check_conf(r, path))
		return -1;
	char *fg[] = { r->fluxgated, "-c", path, NULL };
	pid_t p = topo_spawn(r, "gw", "fluxgated", fg);
	if (p < 0)
		return -1;
	/* external: the controller serves no zone; the server is checked below */
	if (!ext && wait_dns(r, "cli", "10.0.1.1", 60) < 0) {
		lab_log("the controller does not answer");
		show_log(r, "fluxgated");
		return -1;
	}
	double end = lab_now() + 60;
	for (unsigned k = 0; k < d->nagents; k++)
		while (!agent_up(r, k)) {
			if (lab_now() > end || atomic_load(&r->stop)) {
				lab_log("the controller's link to ag%u is not up", k + 1);
				show_log(r, "fluxgated");
				return -1;
			}
			usleep(200000);
		}
	if (r->sc->gateway.pair && start_pair(r))
		return -1;
	/* external: the first UPDATE published a pool address (granted first) */
	while (ext) {
		char a[64];
		ext_query(r, "A", a, sizeof a);
		unsigned b1, b2, b3, b4;
		if (sscanf(a, "%u.%u.%u.%u", &b1, &b2, &b3, &b4) == 4 &&
		    lab_dist_share(r, b1 << 24 | b2 << 16 | b3 << 8 | b4) >= 0 &&
		    ext_query(r, "SOA", NULL, 0) != d->ext_serial0) {
			lab_log("the external server publishes %s", a);
			break;
		}
		if (lab_now() > end + 30 || atomic_load(&r->stop)) {
			lab_log("the external server never published a pool address (last: '%s')", a);
			show_log(r, "fluxgated");
			return -1;
		}
		usleep(200000);
	}
	lab_log("distributed: controller and %u agent(s)%s up", d->nagents,
		r->sc->gateway.pair ? " (a keepalived/conntrackd failover pair)" : "");
	return p;
}

/* ------------------------------------------------------------ events */

/* SIGKILL a process group we started (topo_spawn makes each child a
 * group leader) and reap it */
static void kill_group(pid_t p)
{
	if (p <= 0)
		return;
	kill(-p, SIGKILL);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	topo_forget(p);
}

static void links_down(lab_run_t *r, unsigned k)
{
	if (r->sc->gateway.pair) {
		runv(r, agr(k), "ip", "link", "set", "lan0", "down", NULL);
		runv(r, agr(k), "ip", "link", "set", "srv0", "down", NULL);
		runv(r, agr(k), "ip", "link", "set", "sync0", "down", NULL);
		return;
	}
	/* the gateway's side too: its route to the share goes with it */
	char gwif[16];
	snprintf(gwif, sizeof gwif, "g%u", k + 1);
	runv(r, "gw", "ip", "link", "set", gwif, "down", NULL);
	runv(r, agr(k), "ip", "link", "set", "up0", "down", NULL);
	runv(r, agr(k), "ip", "link", "set", "s0", "down", NULL);
	runv(r, agr(k), "ip", "link", "set", "d0", "down", NULL);
}

static void ev_kill_agent(lab_run_t *r, unsigned k)
{
	lab_dist_t *d = r->dist;
	d->killed_at[k] = lab_now() - r->t0;
	kill_group(d->pid[k]);
	d->pid[k] = 0;
	links_down(r, k);
	lab_log("t=%.1fs: agent ag%u killed (fluxgated SIGKILLed, links down)", d->killed_at[k], k + 1);
}

static void ev_failover(lab_run_t *r)
{
	lab_dist_t *d = r->dist;
	unsigned m = has_vips(r, 0) ? 0 : 1, b = 1 - m;
	d->failover_from = (int)m;
	d->failover_at = lab_now() - r->t0;
	kill_group(d->keepalived[m]);
	d->keepalived[m] = 0;
	links_down(r, m);
	lab_log("t=%.1fs: failover: ag%u's keepalived SIGKILLed, its links down", d->failover_at, m + 1);
	double end = lab_now() + 120;
	while (!atomic_load(&r->stop) && lab_now() < end) {
		if (has_vips(r, b)) {
			d->failover_done = lab_now() - r->t0;
			lab_log("t=%.1fs: ag%u holds the virtual addresses: failover time %.2f s", d->failover_done,
				b + 1, d->failover_done - d->failover_at);
			break;
		}
		usleep(50000);
	}
	if (d->failover_done < 0)
		lab_log("failover: ag%u did not take the virtual addresses", b + 1);
	/* until the controller drops the dead master's link, its batches
	 * wait for it and fail (agent[].pair: a stalled link is not down) */
	while (!atomic_load(&r->stop) && lab_now() < end) {
		char st[32];
		agent_state(r, m, st, sizeof st);
		if (!strcmp(st, "down") || !strcmp(st, "connecting")) {
			d->failover_ctl_down = lab_now() - r->t0;
			lab_log("t=%.1fs: the controller sees ag%u %s", d->failover_ctl_down, m + 1, st);
			return;
		}
		usleep(100000);
	}
}

static void *events_fn(void *arg)
{
	lab_run_t *r = arg;
	const lab_scenario_t *s = r->sc;
	bool done[LAB_MAX_EVENTS] = { false };
	for (;;) {
		/* the next event by time */
		int next = -1;
		for (size_t i = 0; i < s->nevents; i++)
			if (!done[i] && (next < 0 || s->events[i].at_ms < s->events[next].at_ms))
				next = (int)i;
		if (next < 0)
			return NULL;
		double at = r->t0 + s->events[next].at_ms / 1000.0;
		while (lab_now() < at && !atomic_load(&r->stop))
			usleep(20000);
		if (atomic_load(&r->stop))
			return NULL;
		if (s->events[next].kind == LAB_EV_KILL_AGENT)
			ev_kill_agent(r, s->events[next].agent - 1);
		else
			ev_failover(r);
		done[next] = true;
	}
}

int lab_dist_events_start(lab_run_t *r)
{
	if (!r->dist || !r->sc->nevents)
		return 0;
	if (pthread_create(&r->dist->events, NULL, events_fn, r) != 0)
		return -1;
	r->dist->events_started = true;
	return 0;
}

void lab_dist_events_join(lab_run_t *r)
{
	if (r->dist && r->dist->events_started) {
		pthread_join(r->dist->events, NULL);
		r->dist->events_started = false;
	}
}
