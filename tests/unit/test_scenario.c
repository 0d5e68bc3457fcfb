/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: fluxlab scenario parser (lab/scenario.h): the shipped
 * scenarios load, bad files are rejected with exact file:line messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/scenario.h"

static char diags[4096];

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	size_t o = strlen(diags);
	snprintf(diags + o, sizeof diags - o, "%s:%d: %s\n", file, line, msg);
}

static lab_scenario_t *load(const char *text)
{
	lab_scenario_t *s = NULL;
	diags[0] = 0;
	if (lab_scenario_load_buffer("t.yaml", text, strlen(text), &s, collect, NULL) < 0)
		return NULL;
	return s;
}

/* the text must fail with exactly this diagnostic among its messages */
static void rejects(const char *text, const char *want)
{
	lab_scenario_t *s = load(text);
	if (s) {
		lab_scenario_free(s);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(diags, want))
		fail_msg("wanted \"%s\", got:\n%s", want, diags);
}

static void test_shipped_scenarios(void **state)
{
	(void)state;
	glob_t g;
	/* run from the repository root (tests/run.sh does) */
	int rc = glob("lab/scenarios/*.yaml", 0, NULL, &g);
	assert_int_equal(rc, 0);
	assert_true(g.gl_pathc >= 20);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		lab_scenario_t *s = NULL;
		diags[0] = 0;
		if (lab_scenario_load(g.gl_pathv[i], &s, collect, NULL) < 0)
			fail_msg("%s rejected:\n%s", g.gl_pathv[i], diags);
		assert_non_null(s->name);
		lab_scenario_free(s);
	}
	globfree(&g);
}

static void test_full(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\n"
				 "duration: 30s\n"
				 "gateway: { pool: 203.0.113.0/24, ttl: 3s, grace: 500ms, pin: 1m }\n"
				 "dns: { mode: direct }\n"
				 "legit:\n"
				 "  clients: 100\n"
				 "  protocols: [http, smtp]\n"
				 "  think: { dist: pareto, shape: 1.5, min: 100ms, scale: 2 }\n"
				 "  latency: { dist: normal, mean: 200ms, stddev: 5ms }\n"
				 "attack:\n"
				 "  - { type: syn-flood, rate: 1000/s, dynamics: ramp-down, spoof: yes, start: 5s }\n"
				 "  - type: aware\n"
				 "    probes: 500\n"
				 "expect: { legit-misrouted-max: 0, attack-reach-max: 0 }\n");
	assert_non_null(s);
	assert_int_equal(s->duration_ms, 30000);
	assert_string_equal(s->gateway.pool, "203.0.113.0/24");
	assert_int_equal(s->gateway.ttl_ms, 3000);
	assert_int_equal(s->gateway.grace_ms, 500);
	assert_int_equal(s->gateway.pin_ms, 60000);
	assert_false(s->dns.resolver);
	assert_int_equal(s->legit.clients, 100);
	assert_int_equal(s->legit.protocols, LAB_HTTP | LAB_SMTP);
	assert_int_equal(s->legit.think.kind, LAB_DIST_PARETO);
	assert_true(s->legit.think.scale == 2);
	assert_int_equal(s->legit.latency.kind, LAB_DIST_NORMAL);
	assert_true(s->legit.latency.mean == 200);
	assert_int_equal(s->nattacks, 2);
	assert_int_equal(s->attacks[0].kind, LAB_ATK_SYN_FLOOD);
	assert_true(s->attacks[0].rate == 1000);
	assert_int_equal(s->attacks[0].dynamics, LAB_DYN_RAMP_DOWN);
	assert_true(s->attacks[0].spoof);
	assert_int_equal(s->attacks[0].start_ms, 5000);
	assert_int_equal(s->attacks[0].line, 11);
	assert_int_equal(s->attacks[1].kind, LAB_ATK_AWARE);
	assert_int_equal(s->attacks[1].probes, 500);
	assert_string_equal(s->attacks[1].name, "aware");
	assert_true(s->expect.set);
	lab_scenario_free(s);
}

static void test_rejects(void **state)
{
	(void)state;
	rejects("name: x\nduraton: 5s\n", "t.yaml:2: scenario: unknown key 'duraton'");
	rejects("duration: 5s\n", "t.yaml:1: scenario: 'name' is required");
	rejects("name: x\nduration: soon\n", "t.yaml:2: duration: invalid TIME 'soon' (e.g. 500ms, 2s, 1m)");
	rejects("name: x\nlegit:\n  clients: 30000\n",
		"t.yaml:3: legit.clients: 30000 out of range [0, 20000]");
	rejects("name: x\nlegit:\n  protocols: [http, gopher]\n",
		"t.yaml:3: legit.protocols: unknown protocol 'gopher' (http, https, ssh, smtp)");
	rejects("name: x\nlegit:\n  think: { dist: normal, mean: 1s }\n",
		"t.yaml:3: legit.think: distribution 'normal' needs 'stddev'");
	rejects("name: x\nlegit:\n  think: { dist: weibull }\n",
		"t.yaml:3: legit.think.dist: unknown distribution 'weibull'");
	rejects("name: x\nattack:\n  - clients: 3\n", "t.yaml:3: attack[0]: 'type' is required");
	rejects("name: x\nattack:\n  - type: invalid\n  - type: ping\n",
		"t.yaml:4: attack[1].type: unknown attack type 'ping'");
	rejects("name: x\nattack:\n  - { type: syn-flood, rate: 1e9 }\n",
		"t.yaml:3: attack[0].rate: 1e9 out of range [0.1, 200000]");
	rejects("name: x\ngateway:\n  pool: 10.5.0.0/24\n",
		"t.yaml:3: gateway.pool: 10.0.0.0/8 is the lab's own address space");
	rejects("name: x\ngateway:\n  pool: 198.51.100.1/24\n", "t.yaml:3: gateway.pool: host bits set");
	rejects("name: x\ngateway:\n  ttl: 1500ms\n", "t.yaml:3: gateway.ttl: whole seconds, at least 1s");
	rejects("name: x\ndns: { mode: dot }\n", "t.yaml:2: dns.mode: 'resolver' or 'direct', not 'dot'");
	rejects("name: x\nname: y\n", "t.yaml:2: scenario: duplicate key 'name'");
	/* a repeated list key is refused, not applied twice (was a heap overflow) */
	rejects("name: x\nduration: 10s\nattack:\n  - type: aware\nattack:\n  - type: aware\n",
		"t.yaml:5: scenario: duplicate key 'attack'");
	rejects("name: x\nattack:\n  - { type: aware, spoof: maybe }\n",
		"t.yaml:3: attack[0].spoof: expected true or false, not 'maybe'");
	rejects("name: x\nlegit: [1, 2]\n", "t.yaml:2: legit: expected a mapping");
	rejects("name: x\n  bad: [\n", "t.yaml:2: YAML syntax error");
	rejects("name: x\nduration: 10s\nattack:\n  - { type: aware, start: 20s }\n",
		"attack[0] (line 4): starts after the scenario ends");
}

/* gateway.rrl-rate / rrl-slip: unset means the daemon's defaults */
static void test_rrl_keys(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\n");
	assert_non_null(s);
	assert_int_equal(s->gateway.rrl_rate, -1);
	assert_int_equal(s->gateway.rrl_slip, -1);
	lab_scenario_free(s);
	s = load("name: x\ngateway: { rrl-rate: 0, rrl-slip: 3 }\n");
	assert_non_null(s);
	assert_int_equal(s->gateway.rrl_rate, 0);
	assert_int_equal(s->gateway.rrl_slip, 3);
	lab_scenario_free(s);
	rejects("name: x\ngateway: { rrl-slip: 101 }\n", "t.yaml:2: gateway.rrl-slip:");
}

/* the workbench's flood palette: sizes in bytes, TCP flag sets */
static void test_flood_palette(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\nattack:\n"
				 "  - { type: udp-flood, size: { dist: pareto, shape: 1.5, min: 64 } }\n"
				 "  - { type: icmp-flood, size: 512 }\n"
				 "  - { type: tcp-flood, flags: [syn, \"fin+psh+urg\", ack] }\n");
	assert_non_null(s);
	assert_int_equal(s->nattacks, 3);
	assert_int_equal(s->attacks[0].kind, LAB_ATK_UDP_FLOOD);
	assert_true(s->attacks[0].size_set);
	assert_true(s->attacks[0].size.min == 64);   /* bytes, not milliseconds */
	assert_true(s->attacks[1].size.mean == 512);
	assert_true(lab_attack_is_flood(s->attacks[1].kind));
	assert_int_equal(s->attacks[2].nflags, 3);
	assert_int_equal(s->attacks[2].flags[0], 0x02);
	assert_int_equal(s->attacks[2].flags[1], 0x01 | 0x08 | 0x20);
	assert_int_equal(s->attacks[2].flags[2], 0x10);
	assert_false(lab_attack_is_flood(LAB_ATK_NMAP));
	lab_scenario_free(s);
	rejects("name: x\nattack:\n  - { type: tcp-flood, flags: [syn, \"syn+xmas\"] }\n",
		"t.yaml:3: attack[0].flags: unknown TCP flag 'xmas'");
	rejects("name: x\nattack:\n  - { type: tcp-flood, flags: syn }\n", "t.yaml:3: attack[0].flags: expected a list");
	rejects("name: x\nattack:\n  - { type: udp-flood, size: 1ms }\n", "t.yaml:3: attack[0].size:");
}

/* legit.sizes: the workbench's request and reply size distributions per
 * protocol, in bytes, with scale */
static void test_sizes(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\nlegit:\n  protocols: [http, https]\n  sizes:\n"
				 "    http: { request: { dist: exponential, mean: 400 },\n"
				 "            reply: { dist: pareto, shape: 1.2, min: 1000, scale: 2 } }\n"
				 "    https: { reply: { dist: gamma, shape: 2, theta: 8000 } }\n");
	assert_non_null(s);
	const lab_size_pair_t *h = &s->legit.sizes[0], *t = &s->legit.sizes[1];
	assert_true(h->set && t->set);
	assert_false(s->legit.sizes[2].set || s->legit.sizes[3].set);
	assert_int_equal(h->request.kind, LAB_DIST_EXP);
	assert_true(h->request.mean == 400);          /* bytes, not milliseconds */
	assert_true(h->request.scale == 1);
	assert_int_equal(h->reply.kind, LAB_DIST_PARETO);
	assert_true(h->reply.min == 1000 && h->reply.shape == 1.2 && h->reply.scale == 2);
	assert_int_equal(t->reply.kind, LAB_DIST_GAMMA);
	assert_true(t->reply.scale_param == 8000);
	assert_int_equal(t->request.kind, LAB_DIST_NONE);   /* not given: the minimal request */
	assert_true(t->request.scale == 1);
	assert_int_equal(h->line, 5);
	lab_scenario_free(s);
	/* a bare number is a constant; uniform and normal too */
	s = load("name: x\nlegit:\n  sizes:\n    http: { request: 100, reply: { dist: uniform, min: 0, max: 5000 } }\n");
	assert_non_null(s);
	assert_int_equal(s->legit.sizes[0].request.kind, LAB_DIST_CONST);
	assert_true(s->legit.sizes[0].request.mean == 100);
	assert_int_equal(s->legit.sizes[0].reply.kind, LAB_DIST_UNIFORM);
	lab_scenario_free(s);
	rejects("name: x\nlegit:\n  sizes:\n    http: { reply: 10ms }\n", "t.yaml:4: legit.sizes.http.reply:");
	rejects("name: x\nlegit:\n  sizes:\n    http: { reply: 20000000 }\n",
		"t.yaml:4: legit.sizes.http.reply: 20000000 out of range [0, 1e+07]");
	rejects("name: x\nlegit:\n  sizes:\n    http: { request: 70000 }\n",
		"t.yaml:4: legit.sizes.http.request: 70000 out of range [0, 60000]");
	rejects("name: x\nlegit:\n  sizes:\n    http: { reply: { dist: pareto, shape: 1.2 } }\n",
		"t.yaml:4: legit.sizes.http.reply: distribution 'pareto' needs 'min'");
	rejects("name: x\nlegit:\n  sizes:\n    http: { reply: { dist: zipf } }\n",
		"t.yaml:4: legit.sizes.http.reply.dist: unknown distribution 'zipf'");
	rejects("name: x\nlegit:\n  sizes:\n    http: { body: 3 }\n", "t.yaml:4: legit.sizes.http: unknown key 'body'");
	rejects("name: x\nlegit:\n  sizes:\n    ftp: { reply: 3 }\n",
		"t.yaml:4: legit.sizes: unknown protocol 'ftp' (http, https)");
	rejects("name: x\nlegit:\n  protocols: [http, ssh]\n  sizes:\n    ssh: { reply: 3 }\n",
		"t.yaml:5: legit.sizes.ssh: sizes are drawn for http and https only");
	rejects("name: x\nlegit:\n  protocols: [http]\n  sizes:\n    https: { reply: 3 }\n",
		"t.yaml:0: legit.sizes.https (line 5): the legit clients do not speak https");
	rejects("name: x\nlegit:\n  sizes: [http]\n", "t.yaml:3: legit.sizes:");
}

/* T&E section 3.1: client host caches and a TTL-stretching resolver */
static void test_client_caches(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\ndns: { min-ttl: 30s }\nlegit:\n  host-cache: { share: 0.2, ttl: 1h }\n");
	assert_non_null(s);
	assert_int_equal(s->dns.min_ttl_ms, 30000);
	assert_true(s->legit.host_cache_share > 0.19 && s->legit.host_cache_share < 0.21);
	assert_int_equal(s->legit.host_cache_ttl_ms, 3600000);
	lab_scenario_free(s);
	rejects("name: x\ndns: { min-ttl: 1500ms }\n", "t.yaml:2: dns.min-ttl: whole seconds");
	rejects("name: x\nlegit:\n  host-cache: { share: 2 }\n", "t.yaml:3: legit.host-cache.share: 2 out of range");
	rejects("name: x\nlegit:\n  host-cache: { size: 2 }\n", "t.yaml:3: legit.host-cache: unknown key 'size'");
}

/* expect.attack-reach-max: predicted, only with invalid attackers; the
 * shipped grid has expect: on every row */
static void test_reach_predicted(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\nattack:\n  - { type: invalid, clients: 5 }\n"
				 "expect:\n  attack-reach-max: predicted\n");
	assert_non_null(s);
	assert_true(s->expect.set);
	assert_int_equal(s->expect.attack_reach_max, LAB_REACH_PREDICTED);
	lab_scenario_free(s);
	rejects("name: x\nattack:\n  - { type: sweep, rate: 5 }\nexpect:\n  attack-reach-max: predicted\n",
		"expect.attack-reach-max (line 5): 'predicted' is the bound for 'invalid' attackers only; "
		"attack[0] (line 3) is 'sweep'");
	rejects("name: x\nexpect:\n  attack-reach-max: predicted\n",
		"expect.attack-reach-max (line 3): 'predicted' needs an 'invalid' attacker");
	rejects("name: x\nexpect:\n  attack-reach-max: some\n", "t.yaml:3: expect.attack-reach-max:");

	glob_t g;
	assert_int_equal(glob("lab/scenarios/te-*.yaml", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 18);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		diags[0] = 0;
		assert_int_equal(lab_scenario_load(g.gl_pathv[i], &s, collect, NULL), 0);
		if (!s->expect.set)
			fail_msg("%s has no expect:", g.gl_pathv[i]);
		if (strstr(g.gl_pathv[i], "-some-") && !strstr(g.gl_pathv[i], "-ecs") &&
		    !strstr(g.gl_pathv[i], "-direct"))
			assert_int_equal(s->expect.attack_reach_max, LAB_REACH_PREDICTED);
		else if (strstr(g.gl_pathv[i], "-valid-") == NULL)
			assert_int_equal(s->expect.attack_reach_max, 0);
		lab_scenario_free(s);
	}
	globfree(&g);
}

/* IPv6 in the lab: gateway.pool6, legit.ipv6, attacker family/sample,
 * the hitlist attacker; and what each refuses */
static void test_ipv6(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: v6\n"
				 "gateway: { pool6: \"2001:db8:100::/64\" }\n"
				 "legit: { clients: 10, ipv6: 0.5 }\n"
				 "attack:\n"
				 "  - { type: sweep, family: 6, sample: 500 }\n"
				 "  - { type: nmap, family: 6 }\n"
				 "  - { type: hitlist, delay: 12s }\n"
				 "  - { type: invalid }\n");
	if (!s)
		fail_msg("rejected:\n%s", diags);
	assert_string_equal(s->gateway.pool6, "2001:db8:100::/64");
	assert_true(s->legit.ipv6_share == 0.5);
	assert_int_equal(s->nattacks, 4);
	assert_int_equal(s->attacks[0].family, 6);
	assert_int_equal(s->attacks[0].sample, 500);
	assert_int_equal(s->attacks[1].sample, 256);       /* nmap's default sample */
	assert_int_equal(s->attacks[2].kind, LAB_ATK_HITLIST);
	assert_int_equal(s->attacks[2].family, 4);         /* default family */
	assert_int_equal(s->attacks[2].delay_ms, 12000);
	assert_string_equal(s->attacks[2].name, "hitlist");
	assert_null(s->attacks[3].sample ? "sample set" : NULL);
	lab_scenario_free(s);
	s = load("name: v4\n");
	assert_non_null(s);
	assert_null(s->gateway.pool6);                     /* IPv4 only by default */
	lab_scenario_free(s);
	rejects("name: x\ngateway: { pool6: \"2001:db8::/48\" }\n",
		"t.yaml:2: gateway.pool6: expected an IPv6 prefix /64../120, not '2001:db8::/48'");
	rejects("name: x\ngateway: { pool6: \"2001:db8::1/64\" }\n",
		"t.yaml:2: gateway.pool6: host bits set in '2001:db8::1/64'");
	rejects("name: x\ngateway: { pool6: \"fd00:9::/64\" }\n",
		"t.yaml:2: gateway.pool6: 'fd00:9::/64' is not a global or ULA unicast prefix outside the lab's fd00::/8");
	rejects("name: x\ngateway: { pool6: \"2001:zz::/64\" }\n",
		"t.yaml:2: gateway.pool6: expected an IPv6 prefix /64../120, not '2001:zz::/64'");
	rejects("name: x\nlegit: { ipv6: 0.5 }\n", "t.yaml:0: legit.ipv6 (line 2): IPv6 clients need gateway.pool6");
	rejects("name: x\nlegit: { ipv6: 1.5 }\n", "t.yaml:2: legit.ipv6");
	rejects("name: x\nattack:\n  - { type: invalid, family: 6 }\n",
		"attack[0] (line 3): family 6 needs gateway.pool6");
	rejects("name: x\nattack:\n  - { type: invalid, family: 5 }\n", "t.yaml:3: attack[0].family: 4 or 6");
	rejects("name: x\ngateway: { pool6: \"2001:db8::/64\" }\nattack:\n  - { type: syn-flood, family: 6 }\n",
		"attack[0] (line 4): family 6 is for invalid, aware, sweep, nmap and hitlist attackers, not 'syn-flood'");
	rejects("name: x\nattack:\n  - { type: sweep, sample: 10 }\n",
		"attack[0] (line 3): 'sample' is for family 6 sweep and nmap attackers");
	/* dns.ecs6: the IPv6 ECS prefix, only with ECS on and an IPv6 pool */
	s = load("name: e\ngateway: { pool6: \"2001:db8:100::/64\" }\ndns: { ecs: 24, ecs6: 48 }\n");
	if (!s)
		fail_msg("rejected:\n%s", diags);
	assert_int_equal(s->dns.ecs6, 48);
	lab_scenario_free(s);
	rejects("name: x\ngateway: { pool6: \"2001:db8:100::/64\" }\ndns: { ecs6: 48 }\n",
		"dns.ecs6 (line 3): needs dns.ecs (ECS on) and gateway.pool6");
	rejects("name: x\ndns: { ecs: 24, ecs6: 48 }\n", "dns.ecs6 (line 2): needs dns.ecs (ECS on) and gateway.pool6");
	rejects("name: x\ndns: { ecs: 24, ecs6: 24 }\n", "t.yaml:2: dns.ecs6: 24 out of range [32, 128]");
}

/* keys and values are echoed in diagnostics: control bytes come out as \xHH
 * (found by fuzz_scenario: a tab, an ESC or a CR went to the terminal raw) */
/* distributed mode: gateway.mode and its keys, events, their checks */
static void test_distributed(void **state)
{
	(void)state;
	lab_scenario_t *s = load("name: x\n");
	assert_non_null(s);
	assert_int_equal(s->gateway.mode, LAB_GW_STANDALONE);
	assert_int_equal(s->nevents, 0);
	assert_true(s->expect.dead_answers_max < 0);
	lab_scenario_free(s);
	s = load("name: x\nduration: 30s\ngateway: { mode: distributed, on-timeout: healthy-pool, agent-timeout: 500ms }\n"
		 "events:\n  - kill-agent: { agent: 2, at: 10s }\n"
		 "expect: { healthy-misrouted-max: 0, dead-agent-answers-max: 0 }\n");
	assert_non_null(s);
	assert_int_equal(s->gateway.mode, LAB_GW_DISTRIBUTED);
	assert_int_equal(s->gateway.agents, 2);   /* the default */
	assert_false(s->gateway.pair);
	assert_true(s->gateway.on_timeout_healthy);
	assert_int_equal(s->gateway.agent_timeout_ms, 500);
	assert_int_equal(s->nevents, 1);
	assert_int_equal(s->events[0].kind, LAB_EV_KILL_AGENT);
	assert_int_equal(s->events[0].agent, 2);
	assert_int_equal(s->events[0].at_ms, 10000);
	assert_int_equal(s->events[0].line, 5);
	assert_true(s->expect.healthy_misrouted_max == 0);
	assert_int_equal(s->expect.dead_answers_max, 0);
	lab_scenario_free(s);
	s = load("name: x\nduration: 30s\ngateway: { mode: distributed, pair: true }\n"
		 "events:\n  - failover: { at: 12s }\nexpect: { outside-failover-misrouted-max: 0 }\n");
	assert_non_null(s);
	assert_true(s->gateway.pair);
	assert_int_equal(s->events[0].kind, LAB_EV_FAILOVER);
	assert_int_equal(s->expect.outside_failover_misrouted_max, 0);
	lab_scenario_free(s);
	rejects("name: x\ngateway: { mode: cluster }\n",
		"t.yaml:2: gateway.mode: 'standalone' or 'distributed', not 'cluster'");
	rejects("name: x\ngateway: { agents: 2 }\n", "gateway.agents (line 2): needs gateway.mode: distributed");
	rejects("name: x\ngateway: { mode: distributed, agents: 5 }\n",
		"t.yaml:2: gateway.agents: 5 out of range [1, 4]");
	rejects("name: x\ngateway: { mode: distributed, agents: 4, pool: 198.51.100.0/29 }\n",
		"gateway.agents (line 2): 4 agents need a pool of /28 or wider");
	rejects("name: x\ngateway: { mode: distributed, agents: 3, pair: true }\n",
		"gateway.pair (line 2): a failover pair is 2 agents, not 3");
	rejects("name: x\ngateway: { mode: distributed, on-timeout: wait }\n",
		"t.yaml:2: gateway.on-timeout: 'servfail' or 'healthy-pool', not 'wait'");
	rejects("name: x\ngateway: { mode: distributed, agent-timeout: 2m }\n",
		"t.yaml:2: gateway.agent-timeout: between 10ms and 60s");
	rejects("name: x\ngateway: { mode: distributed, pool6: \"2001:db8::/64\" }\n",
		"distributed mode is IPv4 only in the lab");
	rejects("name: x\nevents:\n  - kill-agent: { agent: 1, at: 5s }\n",
		"events[0] (line 3): kill-agent needs gateway.mode: distributed");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - kill-agent: { agent: 3, at: 5s }\n",
		"events[0] (line 4): agent 3 of 2");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - kill-agent: { at: 5s }\n",
		"t.yaml:4: events[0].kill-agent: 'agent' is required");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - kill-agent: { agent: 1 }\n",
		"t.yaml:4: events[0].kill-agent: 'at' is required");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - failover: { at: 5s }\n",
		"events[0] (line 4): failover needs gateway.pair: true");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - reboot: { at: 5s }\n",
		"t.yaml:4: events[0]: unknown event 'reboot' (kill-agent, failover)");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - { kill-agent: { agent: 1, at: 1s }, failover: { at: 2s } }\n",
		"t.yaml:4: events[0].kill-agent: one event per list item");
	rejects("name: x\ngateway: { mode: distributed, pair: true }\nevents:\n  - failover: { at: 5s, agent: 1 }\n",
		"t.yaml:4: events[0].failover: unknown key 'agent'");
	rejects("name: x\nduration: 10s\ngateway: { mode: distributed }\nevents:\n  - kill-agent: { agent: 1, at: 10s }\n",
		"events[0] (line 5): at the end of the scenario or after it");
	rejects("name: x\ngateway: { mode: distributed }\nevents:\n  - kill-agent: { agent: 1, at: 5s }\n"
		"  - kill-agent: { agent: 1, at: 6s }\n", "events[1] (line 5): the same as events[0]");
	rejects("name: x\ngateway: { mode: distributed }\nexpect:\n  dead-agent-answers-max: 0\n",
		"expect (line 4): healthy-misrouted-max and dead-agent-answers-max need a kill-agent event");
	rejects("name: x\ngateway: { mode: distributed }\nexpect:\n  outside-failover-misrouted-max: 0\n",
		"expect (line 4): outside-failover-misrouted-max needs a failover event");
	rejects("name: x\nevents: { kill-agent: 1 }\n", "t.yaml:2: events: expected a list");
	s = load("name: x\ngateway: { mode: distributed, external-dns: bind, epoch: 3s, server-rate: 200mbit }\n");
	assert_non_null(s);
	assert_int_equal(s->gateway.external, LAB_EXT_BIND);
	assert_int_equal(s->gateway.epoch_ms, 3000);
	assert_true(s->gateway.server_rate_bps == 200000000ull);
	lab_scenario_free(s);
	rejects("name: x\ngateway: { mode: distributed, external-dns: nsd }\n",
		"t.yaml:2: gateway.external-dns: 'knot' or 'bind', not 'nsd'");
	rejects("name: x\ngateway: { external-dns: knot }\n",
		"gateway.external-dns (line 2): needs gateway.mode: distributed");
	rejects("name: x\ngateway: { mode: distributed, external-dns: knot }\ndns: { mode: direct }\n",
		"gateway.external-dns (line 2): the clients ask the external server through the resolver");
	rejects("name: x\ngateway: { epoch: 1500ms }\n", "t.yaml:2: gateway.epoch: whole seconds, 1s..1d");
	rejects("name: x\ngateway: { server-rate: 10 }\n",
		"t.yaml:2: gateway.server-rate: a rate of 1mbit..100gbit (e.g. 200mbit), not '10'");
	rejects("name: x\ngateway: { server-rate: 1tbit }\n", "gateway.server-rate: a rate of 1mbit..100gbit");
}

static void test_diag_escapes_control_bytes(void **state)
{
	(void)state;
	rejects("name: x\n\"se\\ted\": 1\n", "t.yaml:2: scenario: unknown key 'se\\x09ed'");
	rejects("name: x\n\"a\\e[2Jb\\rc\": 1\n", "unknown key 'a\\x1b[2Jb\\x0dc'");
	for (const char *c = diags; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n')
			fail_msg("raw control byte 0x%02x in: %s", *c, diags);
}

static void test_missing_file(void **state)
{
	(void)state;
	lab_scenario_t *s = NULL;
	diags[0] = 0;
	assert_true(lab_scenario_load("/nonexistent/x.yaml", &s, collect, NULL) < 0);
	assert_non_null(strstr(diags, "/nonexistent/x.yaml:0: cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_scenarios),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_diag_escapes_control_bytes),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_rrl_keys),
		cmocka_unit_test(test_reach_predicted),
		cmocka_unit_test(test_client_caches),
		cmocka_unit_test(test_flood_palette),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_distributed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
