/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NAT backend interface: where grants become kernel state.
 *
 * Implementations: nat_nft.c (nftables through libnftnl + libmnl netlink
 * batches; the production backend) and nat_mem.c (in-memory, unit tests
 * only), and on a distributed controller dist/hub.c ("agents": the
 * commit goes to every agent serving the addresses, over TLS).
 *
 * Grant before answer: commit() returns only after the backend has
 * acknowledged every grant of the batch (netlink ACK for nft); a negative
 * return means none of the batch may be announced in a DNS answer. The
 * pipelined form (commit_start, then commit_result) keeps that rule: a
 * started transaction is not granted until its result says so.
 *
 * Ownership: fg_nat_open() returns a handle owned by the caller, released
 * with fg_nat_close(). A handle is used by one thread at a time (each worker
 * opens its own, they share the kernel table).
 */
#ifndef FG_DATAPLANE_NAT_H
#define FG_DATAPLANE_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grant/grant.h"

/* Data-plane constants: the fwmark of decoy traffic, the routing table
 * holding the decoy route, the NFLOG group of decoy events. The daemon
 * owns exactly this table (and only its own routes in it). */
#define FG_DECOY_MARK         0x666
#define FG_DECOY_ROUTE_TABLE  4666
#define FG_DECOY_NFLOG_GROUP  4666
/* Why a packet went to the decoys: the NFLOG prefix of each decoy rule,
 * the `reason` of the daemon's decoy events. */
#define FG_DECOY_REASON_POOL       "pool-miss"    /* no pin or grant for it */
#define FG_DECOY_REASON_PORT       "port-miss"    /* a port no service exposes */
#define FG_DECOY_REASON_QUARANTINE "quarantine"   /* the source is quarantined */

/* Static description of the data plane, from the config. */
typedef struct fg_nat_prefix {
	int family;
	uint8_t first[16], last[16];
} fg_nat_prefix_t;

/* What a service exposes on its pool addresses: a (pool range, protocol
 * range, port range) triple; a grant's traffic outside every triple of its
 * address goes to the decoys. proto 0-255 with ports 0-65535 is "any". */
typedef struct fg_nat_svcport {
	int family;
	uint8_t first[16], last[16];
	uint8_t proto_first, proto_last;
	uint16_t port_first, port_last;
} fg_nat_svcport_t;

/* A DNS listener of fluxgated (addr all zero = wildcard): its traffic is
 * left out of conntrack (a query flood must not fill the table). */
typedef struct fg_nat_listen {
	int family;
	uint8_t addr[16];
	uint16_t port;         /* host order */
} fg_nat_listen_t;

/* A backend a pool range may lead to (one per service, pool and backend). */
typedef struct fg_nat_backend {
	int family;
	uint8_t first[16], last[16];  /* the pool range */
	uint8_t addr[16];
	uint16_t port;         /* host order, 0 = same port */
} fg_nat_backend_t;

typedef struct fg_nat_config {
	const char *table;            /* nftables table name (inet family) */
	const fg_nat_prefix_t *pools; /* every pool range */
	size_t npools;
	bool decoy_set;
	int decoy_family;
	uint8_t decoy_via[16];        /* next hop of the decoy bed */
	/* IPv6 next hop of the decoy bed when decoy_via is IPv4 and there are
	 * IPv6 pools (an IPv6 route cannot use an IPv4 gateway; an IPv4 route
	 * can use an IPv6 one). Without one, decoy-marked IPv6 is blackholed. */
	bool decoy6_set;
	uint8_t decoy_via6[16];
	uint32_t pin_ms;              /* pin lifetime (refreshed by use) */
	uint32_t pin_set_size;
	uint32_t grant_set_size;
	/* Subnet grants of exactly this client prefix length (the configured
	 * policy.ecs-min-prefix4/6, what most resolvers send) go to a hash
	 * map keyed by masked client . addr, not to the pipapo interval map
	 * whose every change the kernel pays for with a rebuild; 0: none,
	 * every subnet grant in the interval map. */
	uint8_t net_hash_plen4, net_hash_plen6;
	uint32_t decoy_mark;          /* fwmark for decoy routing (default 0x666) */
	uint32_t route_table;         /* routing table for the decoy route (default 4666) */
	uint16_t nflog_group;         /* NFLOG group for decoy events (0 = off) */
	/* Port filter: with ports_set, only svcports[] reach backends (none:
	 * everything to the decoys). Without it (a caller that did not build
	 * the config with fg_nat_config_build()) every port of a granted
	 * address is open, as before the filter existed. */
	bool ports_set;
	const fg_nat_svcport_t *svcports;
	size_t nsvcports;
	/* Pool ranges whose backends carry ports: TCP and UDP to them are
	 * DNATed to the backend's port; elsewhere the client's port stays. */
	const fg_nat_prefix_t *portmap;
	size_t nportmap;
	const fg_nat_listen_t *listen; /* DNS listeners kept out of conntrack */
	size_t nlisten;
	/* With backends_set, commits accept only grants whose address lies in
	 * a pool range and whose backend (address and port) is configured
	 * for it: the privileged side does not take a backend on trust. */
	bool backends_set;
	const fg_nat_backend_t *backends;
	size_t nbackends;
} fg_nat_config_t;

/* 0 when grant `g` fits `cfg` (family, scope, prefix length, timeout; with
 * backends_set also address and backend), else -EINVAL or -EPERM. Pure. */
int fg_nat_grant_allowed(const fg_nat_config_t *cfg, const fg_grant_t *g);

typedef struct fg_nat fg_nat_t;

/* Transactions one handle may have in flight (commit_start). */
#define FG_NAT_PIPE_MAX 4

/* Callback for fg_nat_dump(): one live grant, with its remaining timeout. */
typedef void (*fg_nat_dump_fn)(void *ctx, const fg_grant_t *g);

/* Live data plane elements, both families together (metrics gauges). */
typedef struct fg_nat_counts {
	uint64_t grants[3];    /* live grants by enum fg_scope */
	uint64_t pinned;       /* (client, addr) pins */
	uint64_t quarantined;  /* quarantined sources */
} fg_nat_counts_t;

typedef struct fg_nat_ops {
	const char *name;
	int (*open)(const fg_nat_config_t *cfg, fg_nat_t **out);
	/* Create the table, sets, maps, chains and routes when absent. Never
	 * flushes existing grants; updates the pool/static parts in one batch. */
	int (*setup)(fg_nat_t *nat, const fg_nat_config_t *cfg);
	/* Install n grants in one atomic transaction; wait for the ACK. */
	int (*commit)(fg_nat_t *nat, const fg_grant_t *g, size_t n);
	/* Optional, all three or none: the same transaction in two halves,
	 * so the caller works while it is in flight. commit_start() sends it
	 * (at most FG_NAT_PIPE_MAX unanswered per handle, n <= 64);
	 * commit_result() waits for the outcome of the oldest one started
	 * (results come back in order): 0 only once the backend ACKed it.
	 * commit_fd() is readable when a result is waiting. */
	int (*commit_start)(fg_nat_t *nat, const fg_grant_t *g, size_t n);
	int (*commit_result)(fg_nat_t *nat);
	int (*commit_fd)(fg_nat_t *nat);
	/* Read back live grants (`fluxctl grants`). */
	int (*dump)(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx);
	/* Read back only the grants open to anyone (restart recovery: the one
	 * scope the grant engine's state depends on). Optional (NULL: dump()
	 * filtered). nft: the grant_any sets alone, so a million exact grants
	 * cost the recovery nothing. */
	int (*dump_any)(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx);
	/* Count the live elements of the grant maps, pin and quarantine sets.
	 * nft: a small set is walked (exact), a big one counted by the
	 * kernel's figure, which also holds elements expired since its last
	 * garbage collection (nft_dump.c). Not for the packet or DNS paths. */
	int (*count)(fg_nat_t *nat, fg_nat_counts_t *out);
	/* Send `src` (all of its addresses of one family: plen) to the decoys
	 * for timeout_ms (0 = until released) and kill its live conntrack flows
	 * towards the pool. */
	int (*quarantine)(fg_nat_t *nat, int family, const uint8_t *src, uint32_t timeout_ms);
	int (*release)(fg_nat_t *nat, int family, const uint8_t *src);
	/* Delete n grants (the same elements commit installed) in one
	 * transaction; absent ones are not an error. Optional (NULL): a
	 * distributed controller revokes a batch it could not answer. */
	int (*revoke)(fg_nat_t *nat, const fg_grant_t *g, size_t n);
	/* Remove the table and routes (uninstall / tests); never on restart. */
	int (*destroy)(fg_nat_t *nat);
	void (*close)(fg_nat_t *nat);
} fg_nat_ops_t;

extern const fg_nat_ops_t fg_nat_nft_ops;
extern const fg_nat_ops_t fg_nat_mem_ops;

/* Look a backend up by name ("nft", "memory"); NULL if unknown. */
const fg_nat_ops_t *fg_nat_ops_find(const char *name);

#endif
