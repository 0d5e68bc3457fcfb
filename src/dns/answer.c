/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Authoritative answer engine: query -> lookup -> response, on the hot path.
 * No allocation: the only state is one context on the stack; the frozen db
 * is only read, so any number of threads may answer from it at once.
 *
 * Behaviour choices (a differential test against Knot should know them):
 * - Minimal responses: positive answers carry no NS in authority.
 * - ANY (RFC 8482): over UDP, the first RRset of the node in type order
 *   (A before NS before SOA...), over TCP, every RRset of the node. A node
 *   with no RRset (empty non-terminal, service name without static data)
 *   gives NODATA. Knot 3.2 answers one RRset on both transports.
 * - AXFR/IXFR: zone transfer is not offered: NOTIMP over UDP (a transfer
 *   cannot happen there anyway), REFUSED over TCP (policy refusal).
 * - Any other QTYPE (unknown, or meta like OPT/TSIG/MAILA) is looked up
 *   like a data type: NODATA. Knot 3.2 does the same.
 * - Class other than IN (CH version.bind, ANY...): REFUSED.
 * - CNAME chains are followed through all our zones, 8 CNAMEs at most;
 *   a loop stops the chain as soon as a name repeats (NOERROR, the CNAMEs
 *   written so far). The rcode and the authority section reflect the last
 *   name of the chain (RFC 6604): NXDOMAIN/NODATA with that zone's SOA, a
 *   referral if it ends at a zone cut (AA kept: the CNAMEs are ours).
 * - Additional section: A then AAAA of NS/MX/SRV targets found in our zones
 *   (not of service names: their addresses are granted per query), dropped
 *   silently when they do not fit. Referral glue for targets inside the
 *   delegated subtree is mandatory (RFC 9471): TC when it does not fit.
 * - Truncation keeps header, question and OPT only (TC=1, empty sections).
 * - NSID (RFC 5001): every answer built here (errors included) carries the
 *   configured NSID when the query asked for it. EXPIRE (RFC 7314): only
 *   the apex SOA answer carries it, with the SOA expire (we are the
 *   primary); transfers, where it matters most, are not offered.
 */
#include "dns/internal.h"
#include "dns/dnssec/signer.h"

#include <string.h>

#define MAX_CHAIN 8     /* CNAMEs followed for one query */
#define MAX_ADDL 16     /* NS/MX/SRV targets considered for additional */

typedef struct actx {
	const fg_zonedb_t *db;
	const fg_dns_query_t *q;
	bool tcp;
	fg_dnsb_t b;
	bool aa;
	bool refused;
	bool truncated;
	int rcode;
	fg_dns_optx_t x;                /* NSID / EXPIRE of the response OPT */
	const fg_zone_t *soa_answer;    /* the apex SOA was answered (EXPIRE) */
	/* fg_dns_answer_service(): the granted address */
	bool svc_mode;
	bool svc_nodata;        /* the service has no pool of this family */
	bool svc_hidden;        /* private service, unauthenticated: NXDOMAIN */
	const uint8_t *svc_addr;
	uint32_t svc_ttl;
	/* outcome of resolve() */
	bool need_service;
	uint32_t service_id;
	const fg_zone_t *soa_zone;      /* NODATA / NXDOMAIN authority */
	const fg_node_t *cut;           /* referral: the delegation node */
	const fg_zone_t *cut_zone;
	const uint8_t *addl[MAX_ADDL];  /* target names (zone case) */
	unsigned naddl;
	/* DNSSEC (DO=1, signed zone): where the denial NSEC goes */
	const fg_node_t *deny_node;     /* NODATA node; NULL with NXDOMAIN */
	bool deny_wild;                 /* node is a wildcard's: no cache */
	uint8_t deny_name[FG_DNS_MAXNAME];
} actx_t;

/* The signer of zone z when the answer must carry DNSSEC records. */
static fg_signer_t *signer_for(const actx_t *c, const fg_zone_t *z)
{
	return c->q->do_bit ? fg_zone_signer(z) : NULL;
}

static void collect_targets(actx_t *c, const fg_rr_t *rr, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *t;
		switch (rr[i].type) {
		case FG_TYPE_NS: t = rr[i].rdata; break;
		case FG_TYPE_MX: t = rr[i].rdata + 2; break;
		case FG_TYPE_SRV: t = rr[i].rdata + 6; break;
		default: return;
		}
		if (t[0] == 0)
			continue;       /* "." : no service */
		bool dup = false;
		for (unsigned k = 0; k < c->naddl && !dup; k++)
			dup = fg_dns_name_eq(c->addl[k], t);
		if (!dup && c->naddl < MAX_ADDL)
			c->addl[c->naddl++] = t;
	}
}

/* A whole RRset or nothing (RFC 2181 section 9: no partial RRsets). */
static int put_rrset(actx_t *c, enum fg_dns_section sec, const uint8_t *owner,
		     const fg_rr_t *rr, unsigned n, bool collect)
{
	fg_dnsb_mark_t m = fg_dnsb_mark(&c->b);
	for (unsigned i = 0; i < n; i++) {
		int rc = fg_dnsb_rr(&c->b, sec, owner, FG_DNS_HDRLEN, rr[i].type,
				    rr[i].ttl, rr[i].rdata, rr[i].rdlen);
		if (rc < 0) {
			fg_dnsb_rollback(&c->b, &m);
			return rc;
		}
	}
	if (collect)
		collect_targets(c, rr, n);
	return 0;
}

/* put_rrset + its RRSIG when the zone is signed and DO=1. `sname` is the
 * owner in lowercase, `key` the cache identity (NULL: sign afresh). */
static int put_signed(actx_t *c, const fg_zone_t *z, const uint8_t *owner,
		      const uint8_t *sname, const void *key, const fg_rr_t *rr,
		      unsigned n, bool collect)
{
	fg_dnsb_mark_t m = fg_dnsb_mark(&c->b);
	int rc = put_rrset(c, FG_SEC_AN, owner, rr, n, collect);
	fg_signer_t *s = signer_for(c, z);
	if (rc == 0 && s)
		rc = fg_dnssec_sign_rrset(&c->b, FG_SEC_AN, owner, s, key, sname, rr, n);
	if (rc < 0)
		fg_dnsb_rollback(&c->b, &m);
	return rc;
}

/* Answer section; sets the outcome fields. Returns 0 or -FG_ESPACE. */
static int resolve(actx_t *c)
{
	const fg_dns_query_t *q = c->q;
	uint16_t qtype = q->qtype;
	uint8_t name[FG_DNS_MAXNAME];
	const uint8_t *owner = NULL;    /* NULL: the qname in the question */
	const fg_node_t *visited[MAX_CHAIN + 1];
	unsigned nvisited = 0;
	int rc;

	const fg_zone_t *zone = NULL;
	const fg_node_t *last = NULL;   /* the node a NODATA stops at */
	bool last_wild = false;

	memcpy(name, q->qname_lc, q->qname_len);
	for (unsigned hop = 0;; hop++) {
		fg_lookup_t lk;
		fg_zonedb_lookup(c->db, name, qtype, &lk);
		zone = lk.zone;
		switch (lk.kind) {
		case FG_LK_OUTSIDE:
			/* not ours at all: REFUSED; a chain leaving our zones
			 * just ends (the resolver follows it) */
			c->refused = hop == 0;
			return 0;
		case FG_LK_DELEG:
			c->cut = lk.node;
			c->cut_zone = lk.zone;
			return 0;
		case FG_LK_NXDOMAIN:
			if (hop == 0)
				c->aa = true;
			c->rcode = FG_RCODE_NXDOMAIN;
			c->soa_zone = lk.zone;
			memcpy(c->deny_name, name, fg_dns_name_len(name));
			return 0;
		case FG_LK_FOUND:
			break;
		}
		if (hop == 0)
			c->aa = true;
		const fg_node_t *n = lk.node;
		last = n;
		last_wild = lk.wildcard;
		for (unsigned v = 0; v < nvisited; v++)
			if (visited[v] == n)
				return 0;       /* CNAME loop */
		visited[nvisited++] = n;

		if (n->service && (qtype == FG_TYPE_A || qtype == FG_TYPE_AAAA)) {
			if (!c->svc_mode) {
				c->need_service = true;
				c->service_id = n->service_id;
				return 0;
			}
			if (c->svc_nodata)
				break;          /* NODATA */
			if (c->svc_hidden) {
				/* a private service to an unauthenticated asker:
				 * the name does not exist (signed denial as for
				 * any NXDOMAIN) */
				c->rcode = FG_RCODE_NXDOMAIN;
				c->soa_zone = zone;
				memcpy(c->deny_name, name, fg_dns_name_len(name));
				return 0;
			}
			uint16_t alen = qtype == FG_TYPE_A ? 4 : 16;
			fg_dnsb_mark_t m = fg_dnsb_mark(&c->b);
			rc = fg_dnsb_rr(&c->b, FG_SEC_AN, owner, FG_DNS_HDRLEN, qtype,
					c->svc_ttl, c->svc_addr, alen);
			fg_signer_t *s = signer_for(c, zone);
			if (rc == 0 && s) {
				/* granted: no static identity (NULL); the signer
				 * reuses the signature of this same RRset by its
				 * content, else signs it now, while the grant is
				 * in flight */
				fg_rdref_t ref = { c->svc_addr, alen };
				rc = fg_dnssec_put_rrsig(&c->b, FG_SEC_AN, owner, s, NULL, name,
							 qtype, c->svc_ttl, c->svc_ttl, &ref, 1);
			}
			if (rc < 0)
				fg_dnsb_rollback(&c->b, &m);
			return rc;
		}
		const void *key = lk.wildcard ? NULL : (const void *)n;
		if (qtype == FG_TYPE_DNSKEY && n == fg_zone_apex(zone) && fg_zone_signer(zone)) {
			fg_signer_t *zs = fg_zone_signer(zone);
			unsigned nk;
			const fg_rdref_t *keys = fg_signer_dnskeys(zs, &nk);
			uint32_t kttl = fg_signer_dnskey_ttl(zs);
			fg_dnsb_mark_t m = fg_dnsb_mark(&c->b);
			rc = 0;
			for (unsigned i = 0; i < nk && rc == 0; i++)
				rc = fg_dnsb_rr(&c->b, FG_SEC_AN, owner, FG_DNS_HDRLEN,
						FG_TYPE_DNSKEY, kttl, keys[i].rdata, keys[i].rdlen);
			if (rc == 0 && signer_for(c, zone))
				rc = fg_dnssec_put_rrsig(&c->b, FG_SEC_AN, owner, zs, key, name,
							 FG_TYPE_DNSKEY, kttl, kttl, keys, nk);
			if (rc < 0)
				fg_dnsb_rollback(&c->b, &m);
			return rc;
		}
		if (qtype == FG_TYPE_ANY) {
			if (n->nrr == 0)
				break;          /* NODATA */
			for (unsigned i = 0; i < n->nrr;) {
				unsigned cnt = 1;
				while (i + cnt < n->nrr && n->rrs[i + cnt].type == n->rrs[i].type)
					cnt++;
				rc = put_signed(c, zone, owner, name, key, &n->rrs[i], cnt, true);
				if (rc < 0)
					return rc;
				if (!c->tcp)
					break;  /* RFC 8482: one RRset over UDP */
				i += cnt;
			}
			return 0;
		}
		unsigned cnt;
		const fg_rr_t *rr = fg_node_rrset(n, qtype, &cnt);
		if (rr) {
			if (qtype == FG_TYPE_SOA && hop == 0 && n == fg_zone_apex(zone))
				c->soa_answer = zone;
			return put_signed(c, zone, owner, name, key, rr, cnt, true);
		}
		rr = n->has_cname ? fg_node_rrset(n, FG_TYPE_CNAME, &cnt) : NULL;
		if (!rr)
			break;                  /* NODATA */
		if (hop == MAX_CHAIN)
			return 0;
		rc = put_signed(c, zone, owner, name, key, rr, 1, false);
		if (rc < 0)
			return rc;
		owner = rr->rdata;
		fg_dns_name_copy_lower(name, owner);
	}
	c->soa_zone = zone;     /* NODATA: the zone of the node we stopped at */
	c->deny_node = last;
	c->deny_wild = last_wild;
	memcpy(c->deny_name, name, fg_dns_name_len(name));
	return 0;
}

static int put_soa(actx_t *c, const fg_zone_t *z)
{
	const fg_rr_t *soa = fg_zone_soa(z);
	const uint8_t *mn = soa->rdata + soa->rdlen - 4;
	uint32_t minimum = ((uint32_t)mn[0] << 24) | ((uint32_t)mn[1] << 16) |
			   ((uint32_t)mn[2] << 8) | mn[3];
	/* RFC 2308 section 3: negative answers live min(SOA TTL, MINIMUM) */
	uint32_t ttl = soa->ttl < minimum ? soa->ttl : minimum;
	int rc = fg_dnsb_rr(&c->b, FG_SEC_NS, fg_zone_origin(z), 0, FG_TYPE_SOA, ttl,
			    soa->rdata, soa->rdlen);
	fg_signer_t *s = signer_for(c, z);
	if (rc < 0 || !s)
		return rc;
	fg_rdref_t ref = { soa->rdata, soa->rdlen };
	rc = fg_dnssec_put_rrsig(&c->b, FG_SEC_NS, fg_zone_origin(z), s, soa, fg_zone_origin(z),
				 FG_TYPE_SOA, soa->ttl, ttl, &ref, 1);
	if (rc < 0)
		return rc;
	/* compact denial (RFC 9824): one NSEC at the denied name; a name
	 * that does not exist is answered NOERROR with NXNAME in its bitmap */
	if (c->rcode == FG_RCODE_NXDOMAIN) {
		c->rcode = FG_RCODE_NOERROR;
		return fg_dnssec_put_nsec(&c->b, s, NULL, c->deny_name, NULL, false, NULL, 0, 0, ttl);
	}
	const fg_node_t *n = c->deny_node;
	bool apex = n == fg_zone_apex(z);
	/* a service without a pool of the asked family lists only the other */
	uint16_t absent = c->svc_nodata ? c->q->qtype : 0;
	const void *key = c->deny_wild || absent ? NULL : (const void *)n;
	return fg_dnssec_put_nsec(&c->b, s, key, c->deny_name, n, apex, NULL, 0, absent, ttl);
}

/* A then AAAA of a target in `z` (any of our zones when z is NULL). */
static int put_addresses(actx_t *c, const fg_zone_t *z, const uint8_t *target)
{
	uint8_t lc[FG_DNS_MAXNAME];
	fg_dns_name_copy_lower(lc, target);
	if (!z)
		z = fg_zonedb_zone_of(c->db, lc);
	if (!z)
		return 0;
	const fg_node_t *n = fg_zone_node(z, lc);
	if (!n || n->service)
		return 0;
	static const uint16_t types[2] = { FG_TYPE_A, FG_TYPE_AAAA };
	for (int i = 0; i < 2; i++) {
		unsigned cnt;
		const fg_rr_t *rr = fg_node_rrset(n, types[i], &cnt);
		if (!rr)
			continue;
		int rc = put_rrset(c, FG_SEC_AR, target, rr, cnt, false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Authority and additional sections. Returns -FG_ESPACE when a mandatory
 * part does not fit (the caller truncates). */
static int put_rest(actx_t *c)
{
	int rc;

	if (c->soa_zone) {
		/* NXDOMAIN or NODATA (maybe at the end of a CNAME chain) */
		rc = put_soa(c, c->soa_zone);
		if (rc < 0)
			return rc;
	}
	if (c->cut) {
		unsigned cnt;
		const fg_rr_t *ns = fg_node_rrset(c->cut, FG_TYPE_NS, &cnt);
		rc = put_rrset(c, FG_SEC_NS, c->cut->name, ns, cnt, false);
		if (rc < 0)
			return rc;
		fg_signer_t *s = signer_for(c, c->cut_zone);
		unsigned nds;
		const fg_rr_t *ds = s ? fg_node_rrset(c->cut, FG_TYPE_DS, &nds) : NULL;
		if (ds) {
			/* a secure delegation: the DS RRset, signed (RFC 4035 3.1.4) */
			fg_dnsb_mark_t m = fg_dnsb_mark(&c->b);
			rc = put_rrset(c, FG_SEC_NS, c->cut->name, ds, nds, false);
			if (rc == 0)
				rc = fg_dnssec_sign_rrset(&c->b, FG_SEC_NS, c->cut->name, s, c->cut,
							  c->cut->name, ds, nds);
			if (rc < 0) {
				fg_dnsb_rollback(&c->b, &m);
				return rc;
			}
		} else if (s) {
			/* no DS: prove the delegation insecure (RFC 4035
			 * 3.1.4) with the cut's NSEC */
			const fg_rr_t *soa = fg_zone_soa(c->cut_zone);
			const uint8_t *mn = soa->rdata + soa->rdlen - 4;
			uint32_t minimum = ((uint32_t)mn[0] << 24) | ((uint32_t)mn[1] << 16) |
					   ((uint32_t)mn[2] << 8) | mn[3];
			uint32_t ttl = soa->ttl < minimum ? soa->ttl : minimum;
			rc = fg_dnssec_put_nsec(&c->b, s, c->cut, c->cut->name, c->cut, false,
						NULL, 0, 0, ttl);
			if (rc < 0)
				return rc;
		}
		/* in-domain glue first (mandatory), then sibling glue */
		for (int pass = 0; pass < 2; pass++) {
			for (unsigned i = 0; i < cnt; i++) {
				const uint8_t *t = ns[i].rdata;
				bool below = fg_dns_name_in(t, c->cut->name);
				if (pass == 0 ? !below
					      : below || !fg_dns_name_in(t, fg_zone_origin(c->cut_zone)))
					continue;
				rc = put_addresses(c, c->cut_zone, t);
				if (rc < 0 && pass == 0)
					return rc;
				if (rc < 0)
					return 0;
			}
		}
	}
	for (unsigned i = 0; i < c->naddl; i++)
		if (put_addresses(c, NULL, c->addl[i]) < 0)
			break;          /* optional: stop at the first misfit */
	return 0;
}

/* The response options the db adds: its NSID. */
static fg_dns_optx_t db_optx(const fg_zonedb_t *db)
{
	fg_dns_optx_t x = { 0 };
	x.nsid = fg_zonedb_nsid(db, &x.nsid_len);
	return x;
}

/* The SOA expire field (RFC 1035 3.3.13: serial refresh retry EXPIRE
 * minimum end the rdata). */
static uint32_t soa_expire(const fg_zone_t *z)
{
	const fg_rr_t *soa = fg_zone_soa(z);
	const uint8_t *e = soa->rdata + soa->rdlen - 8;
	return ((uint32_t)e[0] << 24) | ((uint32_t)e[1] << 16) | ((uint32_t)e[2] << 8) | e[3];
}

static void reply_error(const fg_zonedb_t *db, const fg_dns_query_t *q, int rcode,
			uint8_t scope, uint8_t *out, size_t outcap, fg_dns_result_t *res)
{
	fg_dns_optx_t x = db_optx(db);
	int n = fg_dns_build_error_q(q, &x, rcode, scope, out, outcap);
	if (n < 0)
		return;         /* res stays DROP */
	res->kind = FG_ANSWER_READY;
	res->len = (size_t)n;
	res->rcode = rcode;
}

static void build_answer(actx_t *c, uint8_t scope, uint8_t *out, size_t outcap,
			 fg_dns_result_t *res)
{
	const fg_dns_query_t *q = c->q;
	size_t limit = fg_dns_max_response(q, c->tcp);
	/* room for EXPIRE whenever it may be sent: resolve() decides */
	c->x = db_optx(c->db);
	c->x.expire = q->qtype == FG_TYPE_SOA;
	size_t opt = fg_dns_opt_size(q, &c->x);

	if (limit > outcap)
		limit = outcap;
	if (limit < FG_DNS_HDRLEN + q->qname_len + 4u + opt)
		return;         /* cannot even say TC: DROP */
	fg_dnsb_init(&c->b, out, limit);
	fg_dnsb_header(&c->b, q->id, 0);
	fg_dnsb_question(&c->b, q->qname, q->qtype, q->qclass);
	fg_dnsb_reserve(&c->b, opt);
	fg_dnsb_mark_t after_q = fg_dnsb_mark(&c->b);

	int rc = resolve(c);
	if (c->refused) {
		reply_error(c->db, q, FG_RCODE_REFUSED, scope, out, outcap, res);
		return;
	}
	if (c->need_service) {
		res->kind = FG_ANSWER_SERVICE;
		res->service_id = c->service_id;
		res->qtype = q->qtype;
		res->len = 0;
		return;
	}
	if (rc == 0)
		rc = put_rest(c);
	if (rc < 0) {
		fg_dnsb_rollback(&c->b, &after_q);
		c->truncated = true;
	}
	uint16_t flags = (uint16_t)(FG_DNS_F_QR | (q->flags & (FG_DNS_F_RD | FG_DNS_F_CD)) |
				    (c->rcode & 0xF));
	if (c->aa)
		flags |= FG_DNS_F_AA;
	if (c->truncated)
		flags |= FG_DNS_F_TC;
	fg_dnsb_set_flags(&c->b, flags);
	c->x.expire = c->soa_answer && !c->truncated;
	if (c->x.expire)
		c->x.expire_val = soa_expire(c->soa_answer);
	if (fg_dnsb_opt(&c->b, q, &c->x, c->rcode, scope) < 0)
		return;
	int n = fg_dnsb_finish(&c->b);
	if (n < 0)
		return;
	res->kind = FG_ANSWER_READY;
	res->len = (size_t)n;
	res->rcode = c->rcode;
}

void fg_dns_answer(const fg_zonedb_t *db, const uint8_t *pkt, size_t len,
		   bool tcp, uint8_t *out, size_t outcap,
		   fg_dns_query_t *q, fg_dns_result_t *res)
{
	fg_dns_query_t local;
	enum fg_dns_parse_action action;
	int rcode;

	if (!q)
		q = &local;
	int prc = fg_dns_parse_query(pkt, len, q, &action, &rcode);
	fg_dns_answer_parsed(db, q, prc, action, rcode, tcp, out, outcap, res);
}

void fg_dns_answer_parsed(const fg_zonedb_t *db, const fg_dns_query_t *q,
			  int prc, enum fg_dns_parse_action action, int rcode,
			  bool tcp, uint8_t *out, size_t outcap, fg_dns_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->kind = FG_ANSWER_DROP;
	if (!out)
		return;
	if (prc < 0) {
		if (action == FG_DNS_REPLY_ERROR)
			reply_error(db, q, rcode, 0, out, outcap, res);
		return;
	}
	if (q->qclass != FG_CLASS_IN) {
		reply_error(db, q, FG_RCODE_REFUSED, 0, out, outcap, res);
		return;
	}
	/* RFC 9824 section 3.5: NXNAME is a meta type, never queried */
	if (q->qtype == FG_TYPE_NXNAME && fg_zone_signer(fg_zonedb_zone_of(db, q->qname_lc))) {
		reply_error(db, q, FG_RCODE_FORMERR, 0, out, outcap, res);
		return;
	}
	switch (q->qtype) {
	case FG_TYPE_AXFR:
	case FG_TYPE_IXFR:
		/* zone transfer is not offered (see the header comment) */
		reply_error(db, q, tcp ? FG_RCODE_REFUSED : FG_RCODE_NOTIMP, 0, out, outcap, res);
		return;
	default:
		break;
	}
	actx_t c;
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.q = q;
	c.tcp = tcp;
	build_answer(&c, 0, out, outcap, res);
}

/* Shared by the two ways of finishing a SERVICE query: resolve again (a few
 * hash probes) rather than carry state between the two calls: this rebuilds
 * any CNAME chain leading to the service name, and stays correct if the db
 * was swapped in between. addr NULL with nodata 0 means SERVFAIL; nodata
 * 1 is NODATA, 2 NXDOMAIN (a private service hidden from the asker). */
static void finish_service(const fg_zonedb_t *db, const fg_dns_query_t *q, bool tcp,
			   const uint8_t *addr, int nodata, uint32_t ttl,
			   uint8_t ecs_scope, uint8_t *out, size_t outcap,
			   fg_dns_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->kind = FG_ANSWER_DROP;
	if (!q || !out || !q->has_question || !q->qname_len)
		return;         /* not a query fg_dns_answer() returned SERVICE for */
	if (!nodata && (!addr || (q->qtype != FG_TYPE_A && q->qtype != FG_TYPE_AAAA))) {
		/* the grant failed: never hand out an ungranted address */
		reply_error(db, q, FG_RCODE_SERVFAIL, ecs_scope, out, outcap, res);
		return;
	}
	actx_t c;
	memset(&c, 0, sizeof(c));
	c.db = db;
	c.q = q;
	c.tcp = tcp;
	c.svc_mode = true;
	c.svc_nodata = nodata == 1;
	c.svc_hidden = nodata == 2;
	c.svc_addr = addr;
	c.svc_ttl = ttl;
	build_answer(&c, ecs_scope, out, outcap, res);
}

void fg_dns_answer_service(const fg_zonedb_t *db, const fg_dns_query_t *q,
			   bool tcp, const uint8_t *addr, uint32_t ttl,
			   uint8_t ecs_scope, uint8_t *out, size_t outcap,
			   fg_dns_result_t *res)
{
	finish_service(db, q, tcp, addr, 0, ttl, ecs_scope, out, outcap, res);
}

void fg_dns_answer_service_nodata(const fg_zonedb_t *db, const fg_dns_query_t *q,
				  bool tcp, uint8_t ecs_scope, uint8_t *out,
				  size_t outcap, fg_dns_result_t *res)
{
	finish_service(db, q, tcp, NULL, 1, 0, ecs_scope, out, outcap, res);
}

void fg_dns_answer_service_hidden(const fg_zonedb_t *db, const fg_dns_query_t *q,
				  bool tcp, uint8_t ecs_scope, uint8_t *out,
				  size_t outcap, fg_dns_result_t *res)
{
	finish_service(db, q, tcp, NULL, 2, 0, ecs_scope, out, outcap, res);
}
