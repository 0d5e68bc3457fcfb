/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The messages between fluxgated [dns] and [priv] (daemon/privsep.h): one
 * header, then a fixed-size payload per operation. Both processes run the
 * same binary, so the layout is the host's; the [priv] side still checks
 * every length, count and field (daemon/privsep_policy.h). Shared with the
 * tests that forge messages.
 */
#ifndef FG_DAEMON_PRIVSEP_MSG_H
#define FG_DAEMON_PRIVSEP_MSG_H

#include <stdint.h>

#include "dataplane/nat.h"
#include "daemon/privsep.h"

#define PS_MAGIC 0x46475053u     /* "FGPS" */

enum ps_op {
	PS_COMMIT = 1, PS_SETUP, PS_DUMP, PS_QUARANTINE, PS_RELEASE, PS_READCONF,
	PS_COUNT,
	PS_STATS,                 /* reply: one uint64_t, requests refused */
	PS_EVLOG,                 /* reply: count 1, no payload, the event log
				   * file (log.file of [priv]'s own configuration)
				   * as SCM_RIGHTS; then the status */
	PS_REVOKE,                /* like COMMIT: delete those grants (a
				   * distributed agent, on its controller's word) */
	PS_DUMPANY,               /* like DUMP, only the grants open to anyone
				   * (restart recovery, off the serving path) */
	PS_KEYS,                  /* reply: the root-only key material of [priv]'s
				   * own configuration (daemon/privsep_keys.h) */
	PS_OP_MAX
};

struct ps_hdr {
	uint32_t magic;
	uint16_t op;
	uint16_t count;
	int32_t status;           /* 0 in requests; the result in the final reply */
	uint32_t len;             /* payload octets after the header */
};

struct ps_natcfg {
	char table[64];
	uint32_t npools;
	fg_nat_prefix_t pools[FG_PS_MAX_POOLS];
	int32_t decoy_family;
	uint8_t decoy_set, decoy6_set;
	uint8_t decoy_via[16], decoy_via6[16];
	uint32_t pin_ms, pin_set_size, grant_set_size, decoy_mark, route_table;
	uint16_t nflog_group;
};

struct ps_quar {
	int32_t family;
	uint8_t addr[16];
	uint32_t timeout_ms;
};

/* [dns] side: send `op` (no payload) on a free channel and gather the
 * data messages of the reply into *buf (NUL-terminated, at most 16 MiB;
 * every intermediate buffer is zeroized: the reply may hold secrets).
 * The caller zeroizes and frees *buf. */
int fg_privsep_fetch(uint16_t op, char **buf, size_t *len);

#endif
