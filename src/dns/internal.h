/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal interfaces shared by the C files of src/dns only (not part of the
 * public contract in msg.h / zone.h; other layers must not include this).
 *
 * Names handled here are uncompressed wire form (length-prefixed labels
 * ending with the root label) unless said otherwise. Functions that take a
 * "trusted" name expect one we built or validated ourselves (labels <= 63,
 * total <= 255); packet input goes through fg_dns_wire_name() first.
 *
 * Ownership: nothing here allocates except the zone-building helpers in
 * rr.c / zone.c, whose header comments say who frees what.
 */
#ifndef FG_DNS_INTERNAL_H
#define FG_DNS_INTERNAL_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "dns/msg.h"
#include "dns/zone.h"

#define FG_TYPE_DS 43
#define FG_DNS_MAXLABELS 128   /* 255 octets allow at most 127 labels + root */

/* Header flag bits (second 16-bit word). */
#define FG_DNS_F_QR 0x8000u
#define FG_DNS_F_AA 0x0400u
#define FG_DNS_F_TC 0x0200u
#define FG_DNS_F_RD 0x0100u
#define FG_DNS_F_CD 0x0010u

static inline uint8_t fg_dns_lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* ---- name.c ------------------------------------------------------------ */

/* Read a possibly compressed name at the cursor, store it uncompressed in
 * `out`, advance the cursor past the name as it sits in the packet. Returns
 * the uncompressed length, or a negative error (also left sticky in w). */
int fg_dns_wire_name(fg_wire_t *w, uint8_t out[FG_DNS_MAXNAME]);

/* Length of a trusted uncompressed name, root label included. */
size_t fg_dns_name_len(const uint8_t *name);

/* Case-insensitive equality of two trusted uncompressed names. */
bool fg_dns_name_eq(const uint8_t *a, const uint8_t *b);

/* True when `name` equals `parent` or lies below it (case-insensitive). */
bool fg_dns_name_in(const uint8_t *name, const uint8_t *parent);

/* Offsets of every label start in a trusted name (the last entry is the
 * root label). Returns the number of entries (labels + 1). */
unsigned fg_dns_name_offsets(const uint8_t *name, uint8_t offs[FG_DNS_MAXLABELS]);

/* Hash of a lowercased wire name (FNV-1a; keys come from our config, the
 * attacker only chooses probes, so a keyed hash buys nothing here). */
uint32_t fg_dns_name_hash(const uint8_t *name, size_t len);

/* Copy a trusted name lowercased into out; returns its length. */
size_t fg_dns_name_copy_lower(uint8_t out[FG_DNS_MAXNAME], const uint8_t *name);

/* ---- builder.c: response writer with name compression ----------------- */

#define FG_DNSB_COMP_MAX 64     /* fixed compression table: no malloc */

enum fg_dns_section { FG_SEC_QD = 0, FG_SEC_AN, FG_SEC_NS, FG_SEC_AR };

typedef struct fg_dnsb {
	fg_wire_t w;            /* w.len is the current limit (cap - reserve) */
	size_t cap;             /* hard capacity of the buffer */
	uint16_t count[4];      /* per-section record counts */
	uint16_t comp[FG_DNSB_COMP_MAX]; /* offsets of names already written */
	unsigned ncomp;
} fg_dnsb_t;

/* Saved position for rolling back a partly written RRset. */
typedef struct fg_dnsb_mark {
	size_t pos;
	unsigned ncomp;
	uint16_t count[4];
} fg_dnsb_mark_t;

void fg_dnsb_init(fg_dnsb_t *b, uint8_t *buf, size_t cap);
/* Header with zero counts; flags is the full second word. */
void fg_dnsb_header(fg_dnsb_t *b, uint16_t id, uint16_t flags);
void fg_dnsb_set_flags(fg_dnsb_t *b, uint16_t flags);
/* Question: name written uncompressed (first name of the message) and
 * entered in the compression table. */
int fg_dnsb_question(fg_dnsb_t *b, const uint8_t *name, uint16_t qtype, uint16_t qclass);
/* Keep `n` octets free at the end (for the OPT record written last). */
void fg_dnsb_reserve(fg_dnsb_t *b, size_t n);
fg_dnsb_mark_t fg_dnsb_mark(const fg_dnsb_t *b);
void fg_dnsb_rollback(fg_dnsb_t *b, const fg_dnsb_mark_t *m);
/*
 * One resource record. The owner is either `owner` (a trusted name, written
 * with compression) or, when owner is NULL, a pointer to offset `owner_ptr`
 * (used for "the qname as received" at offset 12). rdata is our internal
 * form: wire rdata with uncompressed embedded names; names in NS, CNAME,
 * PTR, MX and SOA are compressed on output (RFC 3597 section 4), SRV
 * targets never (RFC 2782). On lack of space nothing is written and
 * -FG_ESPACE is returned.
 */
int fg_dnsb_rr(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
	       uint16_t owner_ptr, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen);
/* Options of a response that the query alone does not give: NSID (sent
 * when nsid_len > 0; the octets are borrowed, owned by the zone db) and
 * EXPIRE (RFC 7314: the SOA expire of the zone, when `expire`). */
typedef struct fg_dns_optx {
	const uint8_t *nsid;
	uint16_t nsid_len;
	bool expire;
	uint32_t expire_val;
} fg_dns_optx_t;
/* Size of our OPT record for a query (0 without EDNS); x may be NULL. */
size_t fg_dns_opt_size(const fg_dns_query_t *q, const fg_dns_optx_t *x);
/* OPT record (lifts the reserve first). ext_rcode = rcode >> 4. The ECS
 * option is echoed when q->has_ecs, with `scope`; x (may be NULL) adds
 * NSID and EXPIRE. */
int fg_dnsb_opt(fg_dnsb_t *b, const fg_dns_query_t *q, const fg_dns_optx_t *x,
		int rcode, uint8_t scope);
/* Patch the counts; returns the message length or a negative error. */
int fg_dnsb_finish(fg_dnsb_t *b);

/* ---- msg.c ------------------------------------------------------------- */

/* Error response from explicit header fields (used when no packet is at
 * hand, e.g. SERVFAIL after a failed grant). */
int fg_dns_build_error_q(const fg_dns_query_t *q, const fg_dns_optx_t *x, int rcode,
			 uint8_t ecs_scope, uint8_t *out, size_t outcap);

/* ---- rr.c: zone-file style record text -> internal rdata --------------- */

typedef struct fg_rr_text {
	uint8_t owner[FG_DNS_MAXNAME];  /* as written (case kept) */
	uint8_t owner_len;
	bool has_ttl;
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	uint8_t *rdata;                 /* malloc'd; caller frees */
} fg_rr_text_t;

/* Parse one record line relative to `origin`. On success rr->rdata is
 * malloc'd and owned by the caller. */
int fg_rr_parse(const char *text, const uint8_t *origin, fg_rr_text_t *rr,
		char *err, size_t errlen);
/* Build SOA rdata from parameters; returns the length or negative. */
int fg_rr_soa_rdata(const fg_soa_params_t *soa, const uint8_t *origin,
		    uint8_t *out, size_t cap, char *err, size_t errlen);
/* Type mnemonic ("A", "TYPE99" style is not produced: NULL if unknown). */
const char *fg_rr_type_name(uint16_t type);

/* ---- zone.c: frozen lookup structures ---------------------------------- */

typedef struct fg_rr {
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint8_t *rdata;         /* owned by the node */
} fg_rr_t;

typedef struct fg_node {
	uint8_t *name;          /* lowercased wire name, owned */
	uint32_t hash;
	uint8_t name_len;
	bool service;           /* A/AAAA answered via FG_ANSWER_SERVICE */
	uint8_t svc_fams;       /* DNSSEC bitmaps: 1 = has A, 2 = AAAA; 0 = both */
	bool has_ns, has_cname; /* set by finalize */
	uint32_t service_id;
	fg_rr_t *rrs;           /* sorted by type after finalize; RRsets are runs */
	uint16_t nrr, caprr;
	struct fg_node *wild;   /* the "*" child, if any (set by finalize) */
} fg_node_t;

enum fg_lookup_kind {
	FG_LK_OUTSIDE = 0,      /* in none of our zones */
	FG_LK_FOUND,            /* node (maybe an empty non-terminal / wildcard) */
	FG_LK_NXDOMAIN,         /* in zone, no such name, no wildcard */
	FG_LK_DELEG,            /* at or below a zone cut: node is the cut */
};

typedef struct fg_lookup {
	enum fg_lookup_kind kind;
	const fg_zone_t *zone;
	const fg_node_t *node;
	bool wildcard;          /* node is the wildcard that matched */
} fg_lookup_t;

/* Find the answer node for a lowercased name (see FG_LK_*). `qtype` only
 * matters for DS at a cut, which belongs to the parent side. */
void fg_zonedb_lookup(const fg_zonedb_t *db, const uint8_t *name_lc,
		      uint16_t qtype, fg_lookup_t *lk);
/* Deepest zone containing the lowercased name, or NULL. */
const fg_zone_t *fg_zonedb_zone_of(const fg_zonedb_t *db, const uint8_t *name_lc);
/* Exact node of a zone, ignoring zone cuts (for glue), or NULL. */
const fg_node_t *fg_zone_node(const fg_zone_t *z, const uint8_t *name_lc);
/* The NSID the db answers with (NULL, *len 0: none). */
const uint8_t *fg_zonedb_nsid(const fg_zonedb_t *db, uint16_t *len);
/* Apex name (lowercased) and its SOA record. */
const uint8_t *fg_zone_origin(const fg_zone_t *z);
const fg_rr_t *fg_zone_soa(const fg_zone_t *z);
/* Apex node and DNSSEC signer (NULL: unsigned zone; may be NULL z). */
const fg_node_t *fg_zone_apex(const fg_zone_t *z);
fg_signer_t *fg_zone_signer(const fg_zone_t *z);
/* First record of the RRset of `type` at node, and its count; NULL if none. */
const fg_rr_t *fg_node_rrset(const fg_node_t *n, uint16_t type, unsigned *count);

/* ---- answer_sec.c: DNSSEC records of an answer (DO=1, signed zone) ---- */

#include "dns/dnssec/sign.h"

/* RRSIG over rrs (owner `sname`, lowercased wire; original TTL `ttl`)
 * written with owner `owner` (NULL: pointer to the question's name) and
 * TTL rr_ttl (lower for negative answers' SOA, RFC 2308). */
int fg_dnssec_put_rrsig(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
			fg_signer_t *s, const void *cache_key, const uint8_t *sname,
			uint16_t type, uint32_t ttl, uint32_t rr_ttl,
			const fg_rdref_t *rrs, unsigned n);
/* Same for an RRset of the zone (type and TTL from its records). */
int fg_dnssec_sign_rrset(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
			 fg_signer_t *s, const void *cache_key, const uint8_t *sname,
			 const fg_rr_t *rr, unsigned n);
/* Compact-denial NSEC at `name` and its RRSIG, in authority. n NULL: the
 * name does not exist (NXNAME); else the types of node n (+ DNSKEY at the
 * apex, + `extra`, - `absent`) are listed. */
int fg_dnssec_put_nsec(fg_dnsb_t *b, fg_signer_t *s, const void *cache_key,
		       const uint8_t *name, const fg_node_t *n, bool apex,
		       const uint16_t *extra, unsigned nextra, uint16_t absent, uint32_t ttl);

#endif
