/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The epoch scheduler of external services (service.external): names that
 * an external authoritative server (Knot, BIND) serves, which fluxgated
 * moves once per epoch over RFC 2136 UPDATE.
 *
 * Each epoch, for every zone (all its services in one step):
 *   1. pick the next address of every (service, family) and grant it to
 *      anyone for epoch + ttl + grace; one transaction, wait for the ACK
 *      (ops->grant: the grant engine in standalone mode, every agent that
 *      serves the pool later);
 *   2. only then send one UPDATE for the zone that replaces each name's
 *      RRset with its new address and the service TTL (ops->update: signed
 *      with TSIG by the caller), check the response rcode;
 *   3. on success, let the previous address go: grant it again for exactly
 *      ttl + grace from now (resolvers may hold it that long), then read
 *      the zone's new SOA serial (ops->serial) and check that it moved on;
 *   4. on any failure (grant refused, timeout, REFUSED, NOTAUTH/BADKEY...),
 *      the previous address is granted again for epoch + ttl + grace (it
 *      stays published), the picked one is kept and offered again at the
 *      next epoch: nothing is published before it is granted, and nothing
 *      published loses its grant.
 *
 * Pure apart from the ops: no I/O, no clock (time is passed in), no
 * globals. Not thread-safe: one thread runs the scheduler.
 *
 * Ownership: fg_epoch_new() copies what it needs from the config (names,
 * zones); the scheduler is freed with fg_epoch_free(). fg_epoch_adopt()
 * takes the published state of a previous scheduler (reload).
 */
#ifndef FG_GRANT_EPOCH_H
#define FG_GRANT_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dns/update.h"
#include "grant/engine.h"

/* Why an epoch of a zone did not publish (metrics label, log text). */
enum fg_epoch_result {
	FG_EPOCH_OK = 0,
	FG_EPOCH_GRANT_FAILED,   /* the backend refused the new grants */
	FG_EPOCH_TIMEOUT,        /* no answer from the server in time */
	FG_EPOCH_NETWORK,        /* socket error (unreachable, refused port) */
	FG_EPOCH_MALFORMED,      /* the answer did not parse or verify */
	FG_EPOCH_REFUSED,        /* rcode REFUSED (ACL / update-policy) */
	FG_EPOCH_NOTAUTH,        /* NOTAUTH without a TSIG error */
	FG_EPOCH_BADKEY,         /* TSIG error BADKEY: the server lacks our key */
	FG_EPOCH_BADSIG,         /* TSIG error BADSIG: wrong secret */
	FG_EPOCH_BADTIME,        /* TSIG error BADTIME: clocks apart */
	FG_EPOCH_RCODE,          /* any other rcode (SERVFAIL, NOTZONE...) */
	FG_EPOCH_NRESULTS
};

/* "ok", "grant-failed", "timeout", "network", "malformed", "refused",
 * "notauth", "badkey", "badsig", "badtime", "rcode". */
const char *fg_epoch_result_name(enum fg_epoch_result r);

/* The result of an UPDATE response (rcode and TSIG error). */
enum fg_epoch_result fg_epoch_classify(const fg_update_resp_t *resp);

typedef struct fg_epoch_zone {
	char *zone;                       /* presentation form, as configured */
	fg_conf_addr_t server;
	char *key;                        /* TSIG key id */
	uint32_t epoch_ms, timeout_ms;
	size_t first, nslots;             /* its slots in fg_epoch_t.slots */
	uint64_t next_ms;                 /* when its next epoch starts */
	bool have_serial;
	uint32_t serial;                  /* last SOA serial read */
	uint64_t results[FG_EPOCH_NRESULTS];
	uint64_t serial_stuck;            /* updates after which it did not move */
} fg_epoch_zone_t;

/* One name and family of one service. */
typedef struct fg_epoch_slot {
	uint32_t service_id;
	char *service;                    /* its id, for logs and reloads */
	char *name;
	int family;
	uint32_t ttl_s;                   /* TTL of the published RR */
	uint32_t hold_ms;                 /* epoch + ttl + grace: while published */
	uint32_t linger_ms;               /* ttl + grace: after it was replaced */
	bool has_cur, has_pend;
	uint8_t cur[16];                  /* published at the server */
	uint8_t pend[16];                 /* granted, not yet published */
	uint64_t rotations;               /* addresses published */
} fg_epoch_slot_t;

typedef struct fg_epoch {
	fg_epoch_zone_t *zones;
	size_t nzones;
	fg_epoch_slot_t *slots;
	size_t nslots;
} fg_epoch_t;

/* What the scheduler asks of its environment. Each returns 0 or <0 with a
 * message in err. */
typedef struct fg_epoch_ops {
	/* grant p[0..n) in one transaction and wait for the ACK */
	int (*grant)(void *ctx, fg_grant_pub_t *p, size_t n);
	/* send the UPDATE of `sets` for zone z, wait for the answer; 0 with
	 * *resp filled when the server answered (whatever its rcode), <0 when
	 * it did not (*result then says why: TIMEOUT, NETWORK, MALFORMED) */
	int (*update)(void *ctx, const fg_epoch_zone_t *z, const fg_update_rrset_t *sets,
		      size_t n, fg_update_resp_t *resp, enum fg_epoch_result *result,
		      char *err, size_t errlen);
	/* the zone's SOA serial at the server */
	int (*serial)(void *ctx, const fg_epoch_zone_t *z, uint32_t *serial, char *err,
		      size_t errlen);
} fg_epoch_ops_t;

/* The external services of `conf`, grouped by zone (conf.c made sure one
 * zone has one server, key, epoch and timeout). Every zone is due at
 * `now_ms`. A config without external services gives nzones 0. */
int fg_epoch_new(const fg_conf_t *conf, uint64_t now_ms, fg_epoch_t **out);
void fg_epoch_free(fg_epoch_t *e);

/* Carry the published and pending addresses of every slot that `prev` has
 * for the same service id, name and family (a reload). */
void fg_epoch_adopt(fg_epoch_t *e, const fg_epoch_t *prev);

/* The outcome of one zone's epoch, for the caller's log and metrics. */
typedef struct fg_epoch_report {
	enum fg_epoch_result result;
	int rc;                           /* the failing op's return, or 0 */
	char err[256];                    /* what failed, precisely */
	bool serial_read;                 /* after a published update */
	uint32_t serial_before, serial_after;
	bool serial_moved;
	size_t published;                 /* names whose address changed */
} fg_epoch_report_t;

/* Run the epoch of zone `zi` now (steps 1-4 above) and schedule the next
 * one an epoch later. Returns the result. */
enum fg_epoch_result fg_epoch_run_zone(fg_epoch_t *e, size_t zi, uint64_t now_ms,
				       const fg_epoch_ops_t *ops, void *ctx,
				       fg_epoch_report_t *rep);

/* The earliest next_ms over all zones (UINT64_MAX without zones). */
uint64_t fg_epoch_next_due(const fg_epoch_t *e);

#endif
