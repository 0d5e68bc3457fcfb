/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG on the query path (RFC 8945) and private services: the one step
 * the DNS workers (server.c) call around the answer engine, for UDP and
 * TCP alike.
 *
 *   1. fg_tsigq_answer_parsed() verifies a query's TSIG against the keys of
 *      the config snapshot. A refused one (BADKEY, BADSIG: unsigned;
 *      BADTIME with our clock, BADTRUNC: signed) is answered NOTAUTH here,
 *      a malformed one FORMERR; else the answer engine answers it with
 *      room kept for the TSIG of the response, and the verified key's role
 *      (policy.keys) goes with the query to the grant step.
 *   2. fg_tsigq_hidden() tells the grant step that a private service must
 *      not be granted to this asker; fg_tsigq_private_answer() answers it
 *      as service.unauthenticated says (NXDOMAIN, or an address of the pool
 *      that is not granted: it leads to the decoys).
 *   3. fg_tsigq_sign() signs the finished response of a verified query.
 *
 * Ownership: fg_tsigq_t is a per-query value; it borrows the key from the
 * snapshot's config, which outlives the query (quiescent-state reclamation
 * of snapshots). Counters go to the worker's stats (one writer).
 */
#ifndef FG_DAEMON_TSIGQ_H
#define FG_DAEMON_TSIGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dns/tsig.h"
#include "dns/zone.h"
#include "grant/engine.h"

/* fluxgate_tsig_queries_total{result=...}, index of the stats array */
enum fg_tsigq_result {
	FG_TSIGQ_OK = 0, FG_TSIGQ_BADKEY, FG_TSIGQ_BADSIG, FG_TSIGQ_BADTIME,
	FG_TSIGQ_BADTRUNC, FG_TSIGQ_FORMERR, FG_TSIGQ_NRESULTS
};
extern const char *const fg_tsigq_result_names[FG_TSIGQ_NRESULTS];

typedef struct fg_tsigq {
	fg_tsig_ctx_t ctx;
	bool sign;        /* the response carries a TSIG (verified query) */
	uint8_t role;     /* enum fg_key_role of the verified key */
} fg_tsigq_t;

/* Counters of the worker that runs the step. */
typedef struct fg_tsigq_stats {
	_Atomic uint64_t *result;     /* [FG_TSIGQ_NRESULTS] */
	_Atomic uint64_t *private_denied;  /* [2]: by enum fg_unauth */
} fg_tsigq_stats_t;

/* Steps 1 and the answer: as fg_dns_answer_parsed() for a query parsed
 * from pkt[0..len) at `now` (seconds since the epoch). */
void fg_tsigq_answer_parsed(const fg_zonedb_t *db, const fg_conf_t *conf,
			    const uint8_t *pkt, size_t len, const fg_dns_query_t *q,
			    int prc, enum fg_dns_parse_action act, int rcode, bool tcp,
			    uint64_t now, uint8_t *out, size_t outcap, fg_dns_result_t *res,
			    fg_tsigq_t *t, const fg_tsigq_stats_t *st);

/* The capacity to build an answer in so that its TSIG still fits. */
size_t fg_tsigq_cap(const fg_tsigq_t *t, const fg_dns_query_t *q, bool tcp, size_t outcap);

/* A private service the asker may not be given (no client/resolver key). */
bool fg_tsigq_hidden(const fg_conf_t *conf, const fg_tsigq_t *t, uint32_t service_id);

/* Answer a hidden request `r` (the grant step skipped it). */
void fg_tsigq_private_answer(const fg_zonedb_t *db, const fg_conf_t *conf,
			     fg_grant_engine_t *eng, fg_grant_worker_t *gw, fg_grant_req_t *r,
			     bool tcp, uint8_t *out, size_t outcap, fg_dns_result_t *res,
			     const fg_tsigq_stats_t *st);

/* Step 3: sign a READY response of a verified query in place. */
void fg_tsigq_sign(const fg_tsigq_t *t, const fg_dns_query_t *q, bool tcp, uint64_t now,
		   uint8_t *out, size_t outcap, fg_dns_result_t *res);

#endif
