/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of the data plane shared by the kernel backends: decoy routing
 * (route.c, rtnetlink) and conntrack revocation (ct.c). Not a public
 * interface.
 */
#ifndef FG_DATAPLANE_DP_INT_H
#define FG_DATAPLANE_DP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"

/* Preference of the `fwmark decoy_mark lookup route_table` policy rule:
 * before `main` (32766), after `local` (0). Fixed, so that re-running
 * setup finds the rule it added (the kernel compares the preference). */
#define FG_DECOY_RULE_PREF 1666
/* rtm_protocol / FRA_PROTOCOL of our routes and rules: how destroy and a
 * re-run of setup tell ours from the host's (an unassigned value). */
#define FG_RTPROT 166

/* Install, for each family that has pools, the policy rule and a default
 * route in cfg->route_table towards the decoy bed (a blackhole when that
 * family has no decoy next hop, so marked packets never fall back to the
 * main table). Idempotent. 0 or a negative code. */
int fg_route_setup(const fg_nat_config_t *cfg);
/* Remove what fg_route_setup() installed; absent entries are no error. */
int fg_route_destroy(const fg_nat_config_t *cfg);
/* Log a warning for each sysctl the data plane needs but finds unset
 * (forwarding, nf_conntrack_tcp_loose=0). Reads /proc only. */
void fg_dp_check_sysctls(const fg_nat_config_t *cfg);

/* Delete the live conntrack entries whose original source is `src` and
 * whose original destination lies in one of the pools (the flows it opened
 * through the gateway). Returns the number deleted or a negative code. */
int fg_ct_kill_src(int family, const uint8_t *src, const fg_nat_prefix_t *pools, size_t npools);

#endif
