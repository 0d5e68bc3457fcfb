/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Query parser (header, question, EDNS(0) OPT with Client Subnet) and error
 * responses. Everything is read through the sticky-error cursor, so a short
 * or lying packet can only make a field read as zero and the cursor fail;
 * nothing here can read past pkt[len-1].
 */
#include "dns/internal.h"

#include <errno.h>
#include <string.h>

/* RFC 7871 section 6: family, source prefix, scope 0 in queries, exactly
 * ceil(source/8) address octets, and no bit set beyond the source prefix
 * (a resolver that leaks them is broken, and we would echo them back). */
static int parse_ecs(const uint8_t *data, uint16_t olen, fg_dns_ecs_t *ecs)
{
	fg_wire_t o = fg_wire_init(data, olen);
	uint16_t family = fg_wire_read_u16(&o);
	uint8_t src = fg_wire_read_u8(&o);
	uint8_t scope = fg_wire_read_u8(&o);
	if (o.err)
		return -FG_EECS;
	unsigned maxp = family == 1 ? 32 : family == 2 ? 128 : 0;
	if (!maxp || src > maxp || scope != 0)
		return -FG_EECS;
	size_t alen = (src + 7u) / 8u;
	if (fg_wire_avail(&o) != alen)
		return -FG_EECS;
	memset(ecs->addr, 0, sizeof(ecs->addr));
	fg_wire_read(&o, ecs->addr, alen);
	if ((src & 7) && (ecs->addr[alen - 1] & (0xFFu >> (src & 7))))
		return -FG_EECS;
	ecs->family = family;
	ecs->source_prefix = src;
	ecs->scope_prefix = scope;
	return 0;
}

/* OPT RR body (RFC 6891 section 6.1.2): CLASS = payload size, TTL =
 * extended rcode | version | DO | Z. Unknown options are skipped (section
 * 6.1.2: "MUST be ignored"), but their TLV framing must be exact. */
static int parse_opt(const uint8_t *rdata, uint16_t rdlen, uint16_t cls,
		     uint32_t ttl, fg_dns_query_t *q)
{
	fg_wire_t o = fg_wire_init(rdata, rdlen);
	int ecs_err = 0, cookie_err = 0;

	q->udp_size = cls < FG_DNS_UDP_MIN ? FG_DNS_UDP_MIN : cls;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->do_bit = (ttl & 0x8000u) != 0;
	while (fg_wire_avail(&o) > 0) {
		uint16_t code = fg_wire_read_u16(&o);
		uint16_t olen = fg_wire_read_u16(&o);
		const uint8_t *data = fg_wire_take(&o, olen, -FG_ETRUNC);
		if (o.err)
			return -FG_EOPT;
		/* options of a version we do not speak mean nothing to us */
		if (q->edns_version != 0)
			continue;
		if (code == FG_EDNS_OPT_COOKIE) {
			/* RFC 7873 5.2.2: a bad length is FORMERR; so is a
			 * second COOKIE (which of the two would we answer?) */
			if (q->has_cookie || cookie_err ||
			    fg_cookie_parse(data, olen, &q->cookie) < 0)
				cookie_err = -FG_ECOOKIE;
			q->has_cookie = cookie_err == 0;
			continue;
		}
		/* RFC 5001 2.2: the server MUST ignore an NSID payload; RFC
		 * 7314 2: a query's EXPIRE is empty, anything else is ignored
		 * as well (the option is advisory, a FORMERR would only hurt) */
		if (code == FG_EDNS_OPT_NSID) {
			q->want_nsid = true;
			continue;
		}
		if (code == FG_EDNS_OPT_EXPIRE) {
			q->want_expire = true;
			continue;
		}
		if (code != FG_EDNS_OPT_ECS)
			continue;
		if (q->has_ecs || ecs_err) {
			ecs_err = -FG_EECS;     /* more than one ECS option */
			continue;
		}
		ecs_err = parse_ecs(data, olen, &q->ecs);
		q->has_ecs = ecs_err == 0;
	}
	q->has_edns = true;
	if (cookie_err) {
		q->has_cookie = false;  /* the OPT is echoed, the bad COOKIE not */
		memset(&q->cookie, 0, sizeof(q->cookie));
	}
	if (ecs_err) {
		q->has_ecs = false;     /* the OPT is echoed, the bad ECS not */
		return ecs_err;
	}
	return cookie_err;
}

/* Answer, authority and additional sections of a query. */
static int parse_rest(fg_wire_t *w, fg_dns_query_t *q, uint16_t an,
		      uint16_t ns, uint16_t ar)
{
	bool seen_opt = false;
	int ecs_err = 0;

	/* An IXFR query carries the client's SOA in the authority section
	 * (RFC 1995); any other query with answer/authority records is
	 * malformed. The SOA is skipped: transfers are refused anyway. */
	if (an || (ns && q->qtype != FG_TYPE_IXFR))
		return -FG_EMALF;
	for (unsigned i = 0; i < ns; i++) {
		uint8_t name[FG_DNS_MAXNAME];
		(void)fg_dns_wire_name(w, name);
		fg_wire_skip(w, 8);
		uint16_t rdlen = fg_wire_read_u16(w);
		fg_wire_skip(w, rdlen);
		if (w->err)
			return w->err;
	}
	for (unsigned i = 0; i < ar; i++) {
		uint8_t name[FG_DNS_MAXNAME];
		int nl = fg_dns_wire_name(w, name);
		uint16_t type = fg_wire_read_u16(w);
		uint16_t cls = fg_wire_read_u16(w);
		uint32_t ttl = fg_wire_read_u32(w);
		uint16_t rdlen = fg_wire_read_u16(w);
		const uint8_t *rdata = fg_wire_take(w, rdlen, -FG_ETRUNC);
		if (w->err)
			return w->err;
		if (type != FG_TYPE_OPT)
			continue;       /* e.g. TSIG/SIG(0): not offered, ignored */
		if (seen_opt || nl != 1) {
			/* RFC 6891 6.1.1: one OPT, owned by the root */
			q->has_edns = false;
			q->has_ecs = false;
			q->has_cookie = false;
			return -FG_EOPT;
		}
		seen_opt = true;
		int rc = parse_opt(rdata, rdlen, cls, ttl, q);
		if (rc == -FG_EECS || rc == -FG_ECOOKIE)
			ecs_err = rc;   /* keep going: trailing garbage first */
		else if (rc < 0)
			return rc;
	}
	if (w->pos != w->len)
		return -FG_EMALF;       /* octets beyond the declared records */
	return ecs_err;
}

int fg_dns_parse_query(const uint8_t *pkt, size_t len, fg_dns_query_t *q,
		       enum fg_dns_parse_action *action, int *rcode)
{
	memset(q, 0, sizeof(*q));
	q->udp_size = FG_DNS_UDP_MIN;
	*action = FG_DNS_DROP;
	*rcode = FG_RCODE_NOERROR;
	if (!pkt || len < FG_DNS_HDRLEN)
		return -FG_ETRUNC;      /* no header to answer with */

	fg_wire_t w = fg_wire_init(pkt, len);
	q->id = fg_wire_read_u16(&w);
	q->flags = fg_wire_read_u16(&w);
	uint16_t qd = fg_wire_read_u16(&w);
	uint16_t an = fg_wire_read_u16(&w);
	uint16_t ns = fg_wire_read_u16(&w);
	uint16_t ar = fg_wire_read_u16(&w);
	q->opcode = (uint8_t)((q->flags >> 11) & 0xF);
	q->rd = (q->flags & FG_DNS_F_RD) != 0;
	q->cd = (q->flags & FG_DNS_F_CD) != 0;
	if (q->flags & FG_DNS_F_QR)
		return -FG_ENOTQUERY;   /* never answer a response: no loops */

	*action = FG_DNS_REPLY_ERROR;
	int rc;
	if (qd != 1) {
		rc = -FG_EQDCOUNT;
	} else {
		int nl = fg_dns_wire_name(&w, q->qname);
		q->qtype = fg_wire_read_u16(&w);
		q->qclass = fg_wire_read_u16(&w);
		rc = w.err;
		if (!rc) {
			q->qname_len = (uint8_t)nl;
			memcpy(q->qname_lc, q->qname, (size_t)nl);
			fg_dns_name_lower(q->qname_lc);
			q->has_question = true;
			rc = parse_rest(&w, q, an, ns, ar);
		}
	}
	if (q->opcode != 0) {
		/* Only QUERY is served (NOTIFY, UPDATE...: NOTIMP). The
		 * question and OPT are echoed only when they parsed cleanly. */
		if (rc < 0) {
			q->has_edns = false;
			q->has_ecs = false;
			q->has_cookie = false;
		}
		*rcode = FG_RCODE_NOTIMP;
		return -EOPNOTSUPP;
	}
	if (rc < 0) {
		*rcode = FG_RCODE_FORMERR;
		return rc;
	}
	if (q->has_edns && q->edns_version > 0) {
		/* RFC 6891 6.1.3; our OPT says version 0 */
		*rcode = FG_RCODE_BADVERS;
		return -FG_EVERSION;
	}
	if (q->qtype == 0) {
		/* type 0 is reserved (RFC 6895): nothing to look up; NOTIMP as
		 * Knot answers it */
		*rcode = FG_RCODE_NOTIMP;
		return -EOPNOTSUPP;
	}
	return 0;
}

static int build_err(uint16_t id, uint16_t qflags, const fg_dns_query_t *q,
		     const fg_dns_optx_t *x, int rcode, uint8_t scope,
		     uint8_t *out, size_t outcap)
{
	fg_dnsb_t b;
	/* RD and CD are defined for QUERY only (RFC 1035 4.1.1, RFC 4035
	 * 3.1.6): copied there, cleared for any other opcode, as ISC's
	 * compliance tester (opcodeflg) expects of a NOTIMP answer */
	uint16_t copy = ((qflags >> 11) & 0xF) == 0 ? (FG_DNS_F_RD | FG_DNS_F_CD) : 0;
	uint16_t flags = (uint16_t)(FG_DNS_F_QR | (qflags & (0x7800u | copy)) | (rcode & 0xF));

	fg_dnsb_init(&b, out, outcap);
	fg_dnsb_header(&b, id, flags);
	if (q && q->has_question && q->qname_len)
		fg_dnsb_question(&b, q->qname, q->qtype, q->qclass);
	if (b.w.err)
		return b.w.err;
	int rc = fg_dnsb_opt(&b, q, x, rcode, scope);
	if (rc < 0)
		return rc;
	return fg_dnsb_finish(&b);
}

int fg_dns_build_error(const uint8_t *pkt, size_t len, const fg_dns_query_t *q,
		       int rcode, uint8_t *out, size_t outcap)
{
	uint16_t id, qflags;

	if (!out)
		return -EINVAL;
	if (pkt && len >= FG_DNS_HDRLEN) {
		id = (uint16_t)((pkt[0] << 8) | pkt[1]);
		qflags = (uint16_t)((pkt[2] << 8) | pkt[3]);
	} else if (q) {
		id = q->id;
		qflags = q->flags;
	} else {
		return -FG_ETRUNC;
	}
	return build_err(id, qflags, q, NULL, rcode, 0, out, outcap);
}

int fg_dns_build_error_q(const fg_dns_query_t *q, const fg_dns_optx_t *x, int rcode,
			 uint8_t ecs_scope, uint8_t *out, size_t outcap)
{
	return build_err(q->id, q->flags, q, x, rcode, ecs_scope, out, outcap);
}

int fg_dns_build_truncated(const fg_dns_query_t *q, uint8_t *out, size_t outcap)
{
	fg_dnsb_t b;

	if (!q || !out || !q->has_question || !q->qname_len)
		return -EINVAL;
	uint16_t flags = (uint16_t)(FG_DNS_F_QR | FG_DNS_F_TC |
				    (q->flags & (FG_DNS_F_RD | FG_DNS_F_CD)));
	fg_dnsb_init(&b, out, outcap);
	fg_dnsb_header(&b, q->id, flags);
	fg_dnsb_question(&b, q->qname, q->qtype, q->qclass);
	if (b.w.err)
		return b.w.err;
	int rc = fg_dnsb_opt(&b, q, NULL, FG_RCODE_NOERROR, 0);
	if (rc < 0)
		return rc;
	return fg_dnsb_finish(&b);
}

size_t fg_dns_max_response(const fg_dns_query_t *q, bool tcp)
{
	if (tcp)
		return FG_DNS_TCP_MAX;
	if (!q || !q->has_edns)
		return FG_DNS_UDP_MIN;
	size_t s = q->udp_size;
	if (s < FG_DNS_UDP_MIN)
		s = FG_DNS_UDP_MIN;
	if (s > FG_DNS_UDP_MAX)
		s = FG_DNS_UDP_MAX;
	return s;
}
