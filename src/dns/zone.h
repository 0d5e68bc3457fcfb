/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone database and the authoritative answer engine (pure: no I/O, no
 * globals). Built once from the config, then frozen: after
 * fg_zonedb_finalize() it is read-only and shared by all worker threads
 * without locks. A reload builds a new one and swaps the pointer.
 *
 * Ownership: the db owns every zone, name and record added to it;
 * fg_zonedb_free() releases all. Text arguments are copied.
 *
 * Service names (protected servers) are dynamic: A/AAAA queries for them are
 * not answered here but returned to the caller as FG_ANSWER_SERVICE so the
 * grant engine can choose and grant a pool address first (grant before
 * answer); the caller then finishes with fg_dns_answer_service().
 */
#ifndef FG_DNS_ZONE_H
#define FG_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"

typedef struct fg_zonedb fg_zonedb_t;
typedef struct fg_zone fg_zone_t;

typedef struct fg_soa_params {
	const char *mname;      /* relative to the origin or absolute */
	const char *rname;
	uint32_t serial, refresh, retry, expire, minimum;
} fg_soa_params_t;

fg_zonedb_t *fg_zonedb_new(void);
void fg_zonedb_free(fg_zonedb_t *db);

/* Add a zone. `origin` is presentation form ("example.test"), `ttl` the
 * default TTL of its records. err/errlen receive a message on failure. */
int fg_zonedb_add_zone(fg_zonedb_t *db, const char *origin, uint32_t ttl,
		       const fg_soa_params_t *soa, fg_zone_t **zone,
		       char *err, size_t errlen);

/* Add one record in zone-file presentation form relative to the zone:
 *   "@ NS ns1", "ns1 A 10.0.0.1", "www 60 AAAA fd00::1", "@ MX 10 mail",
 *   "@ TXT \"v=spf1 -all\"", "_sip._udp SRV 10 5 5060 sip", "mail CNAME x."
 * Owner first; optional TTL and class IN; then type and rdata.
 * Supported types: A AAAA NS CNAME SOA PTR MX TXT SRV. */
int fg_zone_add_record(fg_zone_t *zone, const char *text, char *err, size_t errlen);

/* Declare `name` (presentation form, relative or absolute) a service name
 * with the given id: A/AAAA queries for it yield FG_ANSWER_SERVICE. The
 * name must lie inside the zone and must not own a CNAME. */
int fg_zone_add_service(fg_zone_t *zone, const char *name, uint32_t service_id,
			char *err, size_t errlen);

/* Tell which address families the service `service_id` of the zone can
 * answer (from its pools), so that the NSEC type bitmaps of a signed zone
 * list only those. Without this call both A and AAAA are listed. */
int fg_zone_set_service_families(fg_zone_t *zone, uint32_t service_id, bool v4, bool v6);

/* Sign the zone online (DNSSEC): the zone takes over `signer` (see
 * dns/dnssec/signer.h), also when this fails. Before finalize only. */
typedef struct fg_signer fg_signer_t;
int fg_zone_set_signer(fg_zone_t *zone, fg_signer_t *signer);

/* The signer of the zone with this apex (wire form, any case), or NULL. */
const fg_signer_t *fg_zonedb_signer(const fg_zonedb_t *db, const uint8_t *apex);

/* The signature counters of all signed zones, summed into *sum (which
 * the call zeroes; dns/dnssec/signer.h). Any thread. */
struct fg_signer_stats;
void fg_zonedb_signer_stats(const fg_zonedb_t *db, struct fg_signer_stats *sum);

/* The NSID (RFC 5001) sent in the OPT of answers to queries that carry
 * the NSID option (its payload, empty by the RFC, is ignored): up to FG_DNS_NSID_MAX octets, copied; len 0 turns it off (the
 * default). Before finalize only. */
int fg_zonedb_set_nsid(fg_zonedb_t *db, const uint8_t *nsid, size_t len);

/* Freeze and index. Returns 0 or a negative error (with message). */
int fg_zonedb_finalize(fg_zonedb_t *db, char *err, size_t errlen);

enum fg_answer_kind {
	FG_ANSWER_DROP = 0,     /* send nothing */
	FG_ANSWER_READY,        /* `len` bytes of response are in `out` */
	FG_ANSWER_SERVICE,      /* needs a granted address: see zone.h header */
};

typedef struct fg_dns_result {
	enum fg_answer_kind kind;
	size_t len;             /* with READY */
	int rcode;              /* rcode of the READY response (for metrics) */
	uint32_t service_id;    /* with SERVICE */
	uint16_t qtype;         /* with SERVICE: FG_TYPE_A or FG_TYPE_AAAA */
} fg_dns_result_t;

/*
 * Answer one query packet: parse, look up, build. `tcp` selects the size
 * limit (TC over UDP when the answer does not fit). `q` receives the parsed
 * query (needed by fg_dns_answer_service). Static data is answered with an
 * ECS scope of 0 when the query carried ECS.
 */
void fg_dns_answer(const fg_zonedb_t *db, const uint8_t *pkt, size_t len,
		   bool tcp, uint8_t *out, size_t outcap,
		   fg_dns_query_t *q, fg_dns_result_t *res);

/*
 * The second half of fg_dns_answer(): answer a query that
 * fg_dns_parse_query() returned `prc`, `action` and `rcode` for. Lets the
 * caller look at the parsed query first (DNS cookies: it sets the server
 * cookie the response carries).
 */
void fg_dns_answer_parsed(const fg_zonedb_t *db, const fg_dns_query_t *q,
			  int prc, enum fg_dns_parse_action action, int rcode,
			  bool tcp, uint8_t *out, size_t outcap, fg_dns_result_t *res);

/*
 * Finish a FG_ANSWER_SERVICE query: `addr` is the granted address (4 octets
 * for A, 16 for AAAA) or NULL when the grant failed (SERVFAIL is built).
 * `ttl` is the answer TTL; `ecs_scope` the scope prefix echoed when the
 * query carried ECS.
 */
void fg_dns_answer_service(const fg_zonedb_t *db, const fg_dns_query_t *q,
			   bool tcp, const uint8_t *addr, uint32_t ttl,
			   uint8_t ecs_scope, uint8_t *out, size_t outcap,
			   fg_dns_result_t *res);

/*
 * Finish a FG_ANSWER_SERVICE query for which the service has no address of
 * the asked family (AAAA for a service with IPv4 pools only): NODATA with
 * the zone's SOA, as for any name without that type.
 */
void fg_dns_answer_service_nodata(const fg_zonedb_t *db, const fg_dns_query_t *q,
				  bool tcp, uint8_t ecs_scope, uint8_t *out,
				  size_t outcap, fg_dns_result_t *res);

/*
 * Finish a FG_ANSWER_SERVICE query for a private service (service.access
 * private) that the asker may not see: NXDOMAIN with the zone's SOA (and,
 * with DO=1 in a signed zone, the compact denial of any NXDOMAIN).
 */
void fg_dns_answer_service_hidden(const fg_zonedb_t *db, const fg_dns_query_t *q,
				  bool tcp, uint8_t ecs_scope, uint8_t *out,
				  size_t outcap, fg_dns_result_t *res);

#endif
