/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the privileged side's request checks
 * (daemon/privsep_policy.h): the input is what a compromised DNS process
 * could send, cut into grants, quarantine arguments and data plane
 * descriptions, checked against a fixed configuration. A grant the policy
 * lets through must really lie inside a pool, lead to that pool's service
 * backend and live no longer than its ttl + grace, or the target aborts.
 *
 * The policy module lives with the daemon, outside the library the replay
 * drivers link, so it is compiled in here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/privsep_policy.c"
#include "daemon/privsep_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONF[] =
	"server:\n  listen: [ 127.0.0.1@5353 ]\n"
	"zone:\n  - domain: example.test\n"
	"    soa: { mname: ns1.example.test, rname: h.example.test }\n"
	"pool:\n  - id: web4\n    prefix: 198.51.100.0/24\n"
	"  - id: web6\n    prefix: 2001:db8:77::/64\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: [ 10.0.2.10, 'fd00:2::10' ]\n"
	"    ports: [ any ]\n    pool: [ web4, web6 ]\n    ttl: 5s\n    grace: 2s\n"
	"decoy:\n  route-via: 10.0.3.1\n";

static fg_ps_policy_t *policy(void)
{
	static fg_ps_policy_t *p;
	if (!p) {
		fg_conf_t *c = NULL;
		if (fg_conf_load_buffer("fuzz.conf", CONF, sizeof(CONF) - 1, &c, NULL, NULL) < 0 ||
		    fg_ps_policy_new(c, &p) < 0)
			abort();
		fg_conf_free(c);
	}
	return p;
}

static void grant(const fg_ps_policy_t *p, const uint8_t *d)
{
	fg_grant_t g;
	memcpy(&g, d, sizeof(g));
	if (fg_ps_check_grant(p, &g) != FG_PS_OK)
		return;
	/* what the policy lets through, checked the long way round */
	static const uint8_t b4[4] = { 10, 0, 2, 10 };
	static const uint8_t b6[16] = { 0xfd, 0, 0, 2, [15] = 0x10 };
	if (g.timeout_ms == 0 || g.timeout_ms > 7000 || g.backend_port != 0)
		abort();
	if (g.family == AF_INET) {
		if (g.addr[0] != 198 || g.addr[1] != 51 || g.addr[2] != 100 ||
		    memcmp(g.backend, b4, 4) != 0)
			abort();
		if (g.scope == FG_SCOPE_NET && (g.client_plen < 24 || g.client_plen > 32))
			abort();
	} else if (g.family == AF_INET6) {
		static const uint8_t pfx[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0 };
		if (memcmp(g.addr, pfx, 8) != 0 || memcmp(g.backend, b6, 16) != 0)
			abort();
		if (g.scope == FG_SCOPE_NET && (g.client_plen < 56 || g.client_plen > 128))
			abort();
	} else {
		abort();
	}
	if (g.scope > FG_SCOPE_ANY)
		abort();
}

static void natcfg(const fg_ps_policy_t *p, const uint8_t *d)
{
	struct ps_natcfg m;
	memcpy(&m, d, sizeof(m));
	m.table[sizeof(m.table) - 1] = '\0';
	if (m.npools > FG_PS_MAX_POOLS)
		m.npools = FG_PS_MAX_POOLS;
	fg_nat_config_t got = {
		.table = m.table, .pools = m.pools, .npools = m.npools,
		.decoy_set = m.decoy_set, .decoy_family = m.decoy_family,
		.decoy6_set = m.decoy6_set, .pin_ms = m.pin_ms,
		.pin_set_size = m.pin_set_size, .grant_set_size = m.grant_set_size,
		.decoy_mark = m.decoy_mark, .route_table = m.route_table,
		.nflog_group = m.nflog_group,
	};
	memcpy(got.decoy_via, m.decoy_via, 16);
	memcpy(got.decoy_via6, m.decoy_via6, 16);
	const fg_nat_config_t *want = fg_ps_policy_natcfg(p);
	/* accepted only when it is the configuration's own */
	if (!fg_ps_natcfg_diff(want, &got) &&
	    (got.route_table != want->route_table || got.decoy_mark != want->decoy_mark ||
	     got.npools != want->npools || strcmp(got.table, want->table) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fg_ps_policy_t *p = policy();
	if (size < 1)
		return 0;
	uint8_t kind = data[0] % 3;
	data++;
	size--;
	if (kind == 0) {
		for (; size >= sizeof(fg_grant_t); data += sizeof(fg_grant_t), size -= sizeof(fg_grant_t))
			grant(p, data);
	} else if (kind == 1) {
		for (; size >= sizeof(struct ps_quar); data += sizeof(struct ps_quar),
		     size -= sizeof(struct ps_quar)) {
			struct ps_quar q;
			memcpy(&q, data, sizeof(q));
			enum fg_ps_refusal r = fg_ps_check_quarantine(q.family, q.addr, q.timeout_ms,
								      q.timeout_ms & 1);
			if (r == FG_PS_OK && q.family != AF_INET && q.family != AF_INET6)
				abort();
			(void)fg_ps_refusal_name(r);
		}
	} else if (size >= sizeof(struct ps_natcfg)) {
		natcfg(p, data);
	}
	return 0;
}
