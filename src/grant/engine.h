/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The grant engine: for each DNS query on a service name, decide the grant
 * scope (grant/policy.h), pick the pool address (pool/pool.h rotation
 * policy), commit all grants of a worker batch to the NAT backend in one
 * transaction and wait for its acknowledgement. Only then may the caller
 * send the answers (grant before answer).
 *
 * Threading: one engine per config snapshot, shared by all workers; each
 * worker holds its own fg_grant_worker_t (its own NAT handle = its own
 * netlink socket). Shared pool state is locked once per batch, not per query.
 *
 * Ownership: fg_grant_engine_new() copies what it needs from the config;
 * the engine is freed with fg_grant_engine_free() after every worker
 * context made from it was freed.
 */
#ifndef FG_GRANT_ENGINE_H
#define FG_GRANT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "dataplane/nat.h"
#include "dns/msg.h"

typedef struct fg_grant_engine fg_grant_engine_t;
typedef struct fg_grant_worker fg_grant_worker_t;

typedef struct fg_grant_req {
	/* in */
	const fg_dns_query_t *q;
	const struct sockaddr_storage *peer;  /* sender of the query */
	uint32_t service_id;
	uint16_t qtype;                       /* FG_TYPE_A or FG_TYPE_AAAA */
	uint8_t role;                         /* enum fg_key_role the query's
					       * verified TSIG key proves */
	bool hidden;                          /* skip: a private service this
					       * asker may not get (daemon/tsigq.h) */
	bool unverified;                      /* the caller counts this grant in
					       * its unverified budget once ok
					       * (grant/budget.h): an exact
					       * grant then records count_until
					       * for a later renew_of */
	/* out */
	bool ok;                              /* false: answer SERVFAIL */
	bool nodata;                          /* no pool of this family: NODATA */
	uint8_t addr[16];
	uint32_t ttl;                         /* seconds, for the answer */
	uint32_t grant_ms;                    /* the grant's lifetime: ttl + grace */
	uint8_t ecs_scope;                    /* scope prefix to echo */
	uint8_t scope;                        /* enum fg_scope used */
	uint8_t client[16];                   /* who may use it (scope client or net), */
	uint8_t client_plen;                  /* as a prefix; for the grant event */
	uint8_t backend[16];                  /* the backend it leads to (grant event) */
	bool pending;                         /* addr chosen, in the transaction
					       * (not granted before ok) */
	uint8_t cause;                        /* !ok && !nodata: enum fg_noaddr */
	uint64_t count_until;                 /* ok: the ACK's time + grant_ms
					       * (ms, CLOCK_MONOTONIC), no earlier
					       * than the kernel element expires */
	uint64_t renew_of;                    /* an exact grant renewing the live
					       * element of earlier acknowledged
					       * unverified grants: the latest
					       * count_until among them, for
					       * fg_budget_renew; 0: a new
					       * element as far as is known */
} fg_grant_req_t;

/* Why an answer for a service name carries no address (SERVFAIL): the
 * label of fluxgate_grant_noaddr_total{cause=...}. */
enum fg_noaddr {
	FG_NOADDR_POOL = 0,     /* pool_exhausted: no address could be picked */
	FG_NOADDR_KERNEL,       /* kernel_refused: the netlink transaction failed */
	FG_NOADDR_PRIV,         /* priv_refused: [priv] refused the commit */
	FG_NOADDR_CHANNEL,      /* channel: the [dns]-[priv] channel failed */
	FG_NOADDR_INTERNAL,     /* internal: out of memory, bad request */
	FG_NOADDR_COUNT,
	FG_NOADDR_NONE = 255
};
const char *fg_grant_noaddr_name(unsigned cause);
/* The cause of a failed commit's return code. */
int fg_grant_noaddr_cause(int rc);

/* Batches one grant worker may have between begin and finish. */
#define FG_GRANT_PIPE FG_NAT_PIPE_MAX

/* Build an engine for `conf`; `prev` (may be NULL) is the engine of the
 * previous snapshot whose rotation state (open addresses, per-resolver
 * memory, per-source holdings) carries over on reload. That state is keyed
 * by service and pool *ids*, so a reload that reorders, adds or removes
 * services never hands one service's address to another. */
int fg_grant_engine_new(const fg_conf_t *conf, fg_grant_engine_t *prev,
			fg_grant_engine_t **out);
void fg_grant_engine_free(fg_grant_engine_t *eng);

/* Use `ops` instead of the backend named in the config (privilege
 * separation swaps "nft" for the channel to the privileged process). Call
 * before fg_grant_engine_setup(). */
void fg_grant_engine_set_ops(fg_grant_engine_t *eng, const fg_nat_ops_t *ops);

/* A pool filter: false when the data plane of the pool starting at
 * `first` cannot take grants now (distributed mode: an agent serving it is
 * down or stalled). With one set, a service answers from the first of its
 * pools of the family that passes, else from its first pool (whose commit
 * then fails: SERVFAIL). Called under the engine's lock; must not block. */
typedef bool (*fg_grant_pool_ok_fn)(void *ctx, int family, const uint8_t *first);
void fg_grant_engine_set_pool_filter(fg_grant_engine_t *eng, fg_grant_pool_ok_fn fn, void *ctx);

/* Set up the data plane (the kernel table; never flushed), from the main
 * thread, before workers start and on each reload. Reads no grant back. */
int fg_grant_engine_setup(fg_grant_engine_t *eng);

/* Restart recovery (daemon/adopt.h runs it in the background while the
 * workers serve): the grants open to anyone that the kernel still holds
 * from a previous run are adopted into the pools' open state. An adopter
 * holds the rotation state every later snapshot shares, so it outlives
 * reloads; free it after its last fg_grant_adopt(). Until adoption is
 * done, a fresh pick may choose an address the kernel already holds open
 * to anyone (the commit then renews that element), and the open-fraction
 * cap counts only what is known. fg_grant_adopt() takes the engine's lock
 * once per call and returns how many of the n grants it adopted (those
 * open to anyone, live, inside a pool). */
typedef struct fg_grant_adopt fg_grant_adopt_t;
int fg_grant_adopt_new(fg_grant_engine_t *eng, fg_grant_adopt_t **out);
size_t fg_grant_adopt(fg_grant_adopt_t *a, const fg_grant_t *g, size_t n);
void fg_grant_adopt_free(fg_grant_adopt_t *a);

int fg_grant_worker_new(fg_grant_engine_t *eng, fg_grant_worker_t **out);
void fg_grant_worker_free(fg_grant_worker_t *w);

/* Resolve a batch: fills every req's outputs. Returns the number of reqs
 * granted, or a negative error when the whole batch failed.
 *
 * Per-source bounds: a source /24 (IPv4) or /56 (IPv6) holds at most
 * policy.anyone-per-source addresses open to anyone per service, a source
 * address at most policy.exact-per-source live exact grants per service;
 * past either, the answer hands again one address it already holds (a
 * fresh element of the same key: the grant sets do not grow).
 *
 * A refused transaction: every change it made to the pools' open state,
 * the per-resolver memory and the holdings is undone, and its requests
 * are answered SERVFAIL (counted, logged at most once a second). It is
 * retried once, without its subnet grants, only when it mixed those with
 * others: overlapping subnet grants on one address are the one refusal a
 * single element causes; a full set is not retried. */
int fg_grant_resolve(fg_grant_engine_t *eng, fg_grant_worker_t *w,
		     fg_grant_req_t *reqs, size_t n);

/* Grants the epoch scheduler publishes itself (service.external,
 * grant/epoch.h): open to anyone, one address per service and family,
 * named in an RFC 2136 UPDATE only after the backend ACKed them. */
typedef struct fg_grant_pub {
	uint32_t service_id;
	int family;               /* AF_INET or AF_INET6 */
	bool fresh;               /* pick a new address (not open to anyone);
				     false: grant `addr` again */
	uint8_t addr[16];         /* out when fresh, else in */
	uint32_t timeout_ms;      /* the grant's lifetime from now (exactly:
				     a shorter one than the live one shortens
				     it, which is how an old address is let go) */
} fg_grant_pub_t;

/* Commit the n grants of `p` as one transaction and wait for the ACK.
 * Returns 0, -ENOENT (a service without a pool or backend of the family),
 * -EAGAIN (no address left to pick) or the backend's error; on any error
 * nothing was granted and the pools' open state is as before. */
int fg_grant_publish(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_pub_t *p,
		     size_t n);
/* A private service's answer to an asker without a key (service.
 * unauthenticated: decoy): fills r->addr, r->ttl and r->ecs_scope (as a
 * real grant's answer would echo) with a random address of the service's
 * pool that is not open to anyone, and grants nothing, so a connection to
 * it goes to the decoys. r->ok stays false; r->nodata is set when the
 * service has no pool of the family or the scope policy allows no grant
 * (as for a real answer). Returns 0 or a negative error (SERVFAIL). */
int fg_grant_decoy_pick(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *r);

/* The same in two halves, so that the worker parses, answers and signs
 * the next batch while this one's transaction is in flight (backends with
 * commit_start; others commit inside fg_grant_begin).
 *
 * fg_grant_begin(): policy and addresses of `reqs`, then the transaction
 * is started. A request that got an address has `pending` set and
 * addr/ttl/ecs_scope filled: its answer may be built (and signed), never
 * sent. Returns the number of grants started, or <0 (nothing begun).
 * At most FG_GRANT_PIPE batches may be begun and not finished.
 *
 * fg_grant_finish(): the oldest begun batch (results come in order),
 * with the same `reqs` its begin had: waits for its outcome and sets `ok`
 * on each request the backend acknowledged; only those may be answered
 * with their address (grant before answer). Return as fg_grant_resolve().
 *
 * fg_grant_resolve() is begin + finish, and refuses (-EBUSY) while batches
 * are in flight. */
int fg_grant_begin(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *reqs, size_t n);
int fg_grant_finish(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *reqs);
/* Batches begun and not finished. */
unsigned fg_grant_inflight(const fg_grant_worker_t *w);
/* The oldest batch's outcome is known without waiting (nothing was sent
 * for it: no grant to make, or the start failed). */
bool fg_grant_oldest_known(const fg_grant_worker_t *w);
/* Readable when the oldest batch's outcome has arrived; -1 when the
 * backend commits synchronously (fg_grant_finish never waits then). */
int fg_grant_worker_fd(fg_grant_worker_t *w);

/* The worker's NAT handle (unit tests inspect the in-memory backend). */
fg_nat_t *fg_grant_worker_nat(fg_grant_worker_t *w);

/* The data plane description and backend the engine was built with
 * (fluxctl, restart recovery). */
const fg_nat_config_t *fg_grant_engine_natcfg(const fg_grant_engine_t *eng);
const fg_nat_ops_t *fg_grant_engine_ops(const fg_grant_engine_t *eng);

/* Counters since start (carried in the engine, not across reloads). */
typedef struct fg_grant_counters {
	uint64_t grants[3];           /* acknowledged grants by enum fg_scope */
	uint64_t forced_reuse;        /* max-open-fraction reached: reused */
	uint64_t commit_failures;     /* NAT transactions refused */
	uint64_t commit_servfail;     /* requests answered SERVFAIL for it */
	uint64_t anyone_source_reuse; /* policy.anyone-per-source reached */
	uint64_t exact_quota_reuse;   /* policy.exact-per-source reached */
	uint64_t ecs_ignored;         /* ECS shorter than policy.ecs-min-prefix */
	uint64_t noaddr[FG_NOADDR_COUNT]; /* SERVFAIL for want of a grant, by cause */
} fg_grant_counters_t;

void fg_grant_engine_counters_get(const fg_grant_engine_t *eng, fg_grant_counters_t *out);

/* Per-service counters: grants by scope, requests left without a grant. */
int fg_grant_engine_service_counters(const fg_grant_engine_t *eng, uint32_t service_id,
				     uint64_t grants[3], uint64_t *failures);

/* Forget what every resolver was last given for a service, and what each
 * source holds of it, so the next answers get fresh addresses
 * (min-interval rotation, per-source bounds). Returns how many
 * per-resolver entries were dropped, or -ENOENT. Live grants run out on
 * their own. */
int fg_grant_engine_rotate(fg_grant_engine_t *eng, uint32_t service_id);

/* Per-pool figures: id, family, usable size, addresses open to anyone. */
typedef void (*fg_grant_pool_fn)(void *ctx, const char *id, int family,
				 uint64_t size, uint64_t open);
int fg_grant_engine_pools(fg_grant_engine_t *eng, fg_grant_pool_fn fn, void *ctx);

/* Does `addr` belong to a pool of the service (fluxctl grants --service)? */
bool fg_grant_engine_service_has(const fg_grant_engine_t *eng, uint32_t service_id,
				 int family, const uint8_t *addr);

#endif
