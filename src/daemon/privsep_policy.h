/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the privileged process lets the unprivileged one do: the [priv] side
 * of privilege separation trusts nothing the DNS process sends, so every
 * request is checked against a policy built from the configuration [priv]
 * read itself. Pure: no I/O, no globals.
 *
 *   commit      the address lies in a configured pool; the backend (address
 *               and port) is a backend of a service that hands out that pool; the scope's
 *               client prefix is at least policy.ecs-min-prefix4/6; the timeout
 *               is at most that service's ttl + grace.
 *   setup       the data plane is the one of this configuration (table,
 *               pools, decoy next hops, mark, route table...): a different
 *               one is refused, never applied.
 *   quarantine  a well-formed source of one family, for a bounded time.
 *
 * Ownership: fg_ps_policy_new() copies what it needs from the config (the
 * config may be freed afterwards); release with fg_ps_policy_free().
 */
#ifndef FG_DAEMON_PRIVSEP_POLICY_H
#define FG_DAEMON_PRIVSEP_POLICY_H

#include <stdint.h>

#include "conf/conf.h"
#include "dataplane/nat.h"

/* Longest quarantine the [priv] side applies (0 = until released is
 * allowed too): the control protocol's own limit. */
#define FG_PS_QUARANTINE_MAX_MS (49u * 86400000u)

/* Why a request was refused; the [priv] side counts each reason. */
enum fg_ps_refusal {
	FG_PS_OK = 0,
	FG_PS_R_FRAME,     /* bad magic, header length, count or status */
	FG_PS_R_FAMILY,    /* not AF_INET/AF_INET6, or IPv4 with stray octets */
	FG_PS_R_SCOPE,     /* unknown scope, or a prefix length that does not fit it */
	FG_PS_R_POOL,      /* address outside every configured pool */
	FG_PS_R_BACKEND,   /* backend not of a service handing out that pool */
	FG_PS_R_PREFIX,    /* subnet scope wider than the policy allows */
	FG_PS_R_TIMEOUT,   /* zero, or longer than the service's ttl + grace */
	FG_PS_R_SETUP,     /* data plane differs from the configuration's */
	FG_PS_R_NOCONF,    /* no configuration loaded on the [priv] side */
	FG_PS_R_COUNT
};

typedef struct fg_ps_policy fg_ps_policy_t;

/* Build the policy and the data plane description of `conf`. */
int fg_ps_policy_new(const fg_conf_t *conf, fg_ps_policy_t **out);
void fg_ps_policy_free(fg_ps_policy_t *p);

/* The data plane the configuration describes (owned by the policy). */
const fg_nat_config_t *fg_ps_policy_natcfg(const fg_ps_policy_t *p);

/* Check one grant. Returns FG_PS_OK or the reason it is refused. */
enum fg_ps_refusal fg_ps_check_grant(const fg_ps_policy_t *p, const fg_grant_t *g);

/* Check a quarantine (timeout_ms used only when !release) or a release. */
enum fg_ps_refusal fg_ps_check_quarantine(int family, const uint8_t addr[16],
					  uint32_t timeout_ms, int release);

/* NULL when `got` describes the same data plane as `want`, else the name of
 * the first field that differs. Compares what a SETUP message carries
 * (table, pools, decoy next hops, pin, set sizes, mark, route table, NFLOG
 * group); the rest (service ports, backends, listeners) [priv] only ever
 * takes from its own configuration. */
const char *fg_ps_natcfg_diff(const fg_nat_config_t *want, const fg_nat_config_t *got);

/* True when data planes `a` and `b` are the same kernel state: every field
 * the ruleset, its static sets and the decoy route are built from (the
 * backends are not kernel state: they only check commits). A reload whose
 * data plane is unchanged then writes nothing to the kernel: rebuilding
 * the chains rebinds the grant maps, which the kernel walks element by
 * element under its commit lock (grants wait seconds at a million). Pure. */
bool fg_ps_natcfg_same_kernel(const fg_nat_config_t *a, const fg_nat_config_t *b);

/* Stable short name of a reason ("pool", "backend", ...). */
const char *fg_ps_refusal_name(enum fg_ps_refusal r);

#endif
