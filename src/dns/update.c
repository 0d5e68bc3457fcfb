/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 2136 UPDATE messages and the SOA serial query (see dns/update.h).
 */
#include "dns/update.h"

#include <errno.h>
#include <string.h>

#include "dns/internal.h"

#define CLASS_ANY  255
#define CLASS_NONE 254

const char *fg_update_rcode_name(unsigned rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	switch (rcode) {
	case FG_UPD_BADSIG: return "BADSIG";
	case FG_UPD_BADKEY: return "BADKEY";
	case FG_UPD_BADTIME: return "BADTIME";
	case FG_UPD_BADTRUNC: return "BADTRUNC";
	default: return "UNKNOWN";
	}
}

bool fg_serial_gt(uint32_t b, uint32_t a)
{
	return b != a && (uint32_t)(b - a) < 0x80000000u;
}

static int zone_wire(const char *zone, uint8_t out[FG_DNS_MAXNAME], char *err, size_t errlen)
{
	int zl = zone ? fg_dns_name_from_text(zone, NULL, out) : -FG_ESYNTAX;
	if (zl < 0)
		return fg_errf(err, errlen, zl, "zone '%s': not a domain name", zone ? zone : "");
	return zl;
}

static void put_header(fg_wire_t *w, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		       uint16_t ns, uint16_t ar)
{
	fg_wire_write_u16(w, id);
	fg_wire_write_u16(w, flags);
	fg_wire_write_u16(w, qd);
	fg_wire_write_u16(w, an);
	fg_wire_write_u16(w, ns);
	fg_wire_write_u16(w, ar);
}

int fg_update_build(uint8_t *buf, size_t cap, uint16_t id, const char *zone,
		    const fg_update_rrset_t *sets, size_t nsets, char *err, size_t errlen)
{
	uint8_t zw[FG_DNS_MAXNAME];
	int zl = zone_wire(zone, zw, err, errlen);
	if (zl < 0)
		return zl;
	if (nsets == 0 || nsets > 0xffff / 2)
		return fg_errf(err, errlen, -EINVAL, "zone %s: %zu RRsets in one UPDATE", zone, nsets);

	fg_wire_t w = fg_wire_init(buf, cap);
	/* ZOCOUNT 1, PRCOUNT 0, UPCOUNT 2 per set, ADCOUNT 0 */
	put_header(&w, id, (uint16_t)(FG_OPCODE_UPDATE << 11), 1, 0, (uint16_t)(2 * nsets), 0);
	fg_wire_write(&w, zw, (size_t)zl);
	fg_wire_write_u16(&w, FG_TYPE_SOA);
	fg_wire_write_u16(&w, FG_CLASS_IN);
	for (size_t i = 0; i < nsets; i++) {
		const fg_update_rrset_t *s = &sets[i];
		uint8_t nw[FG_DNS_MAXNAME];
		int nl = s->name ? fg_dns_name_from_text(s->name, NULL, nw) : -FG_ESYNTAX;
		if (nl < 0)
			return fg_errf(err, errlen, nl, "'%s': not a domain name",
				       s->name ? s->name : "");
		if (!fg_dns_name_in(nw, zw))
			return fg_errf(err, errlen, -FG_ENOZONE, "%s is not inside zone %s",
				       s->name, zone);
		size_t alen = s->type == FG_TYPE_A ? 4 : s->type == FG_TYPE_AAAA ? 16 : 0;
		if (!alen)
			return fg_errf(err, errlen, -EINVAL, "%s: type %u is neither A nor AAAA",
				       s->name, s->type);
		if (s->ttl > 0x7fffffffu)
			return fg_errf(err, errlen, -EINVAL, "%s: TTL %u above 2^31-1", s->name,
				       s->ttl);
		/* RFC 2136 2.5.2: delete an RRset = class ANY, TTL 0, no rdata */
		fg_wire_write(&w, nw, (size_t)nl);
		fg_wire_write_u16(&w, s->type);
		fg_wire_write_u16(&w, CLASS_ANY);
		fg_wire_write_u32(&w, 0);
		fg_wire_write_u16(&w, 0);
		/* 2.5.1: add to an RRset */
		fg_wire_write(&w, nw, (size_t)nl);
		fg_wire_write_u16(&w, s->type);
		fg_wire_write_u16(&w, FG_CLASS_IN);
		fg_wire_write_u32(&w, s->ttl);
		fg_wire_write_u16(&w, (uint16_t)alen);
		fg_wire_write(&w, s->addr, alen);
	}
	if (w.err)
		return fg_errf(err, errlen, w.err, "zone %s: UPDATE of %zu RRsets does not fit %zu octets",
			       zone, nsets, cap);
	return (int)w.pos;
}

int fg_update_build_soa_query(uint8_t *buf, size_t cap, uint16_t id, const char *zone,
			      char *err, size_t errlen)
{
	uint8_t zw[FG_DNS_MAXNAME];
	int zl = zone_wire(zone, zw, err, errlen);
	if (zl < 0)
		return zl;
	fg_wire_t w = fg_wire_init(buf, cap);
	put_header(&w, id, 0, 1, 0, 0, 0);
	fg_wire_write(&w, zw, (size_t)zl);
	fg_wire_write_u16(&w, FG_TYPE_SOA);
	fg_wire_write_u16(&w, FG_CLASS_IN);
	if (w.err)
		return fg_errf(err, errlen, w.err, "SOA query for %s does not fit", zone);
	return (int)w.pos;
}

/* One resource record header at the cursor; the rdata is left to take. */
typedef struct rr_hdr {
	uint8_t name[FG_DNS_MAXNAME];
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	size_t start;             /* offset of the owner name */
} rr_hdr_t;

static void read_rr_hdr(fg_wire_t *w, rr_hdr_t *h)
{
	h->start = w->pos;
	(void)fg_dns_wire_name(w, h->name);
	h->type = fg_wire_read_u16(w);
	h->cls = fg_wire_read_u16(w);
	h->ttl = fg_wire_read_u32(w);
	h->rdlen = fg_wire_read_u16(w);
}

/* The 12-bit rcode: header rcode and, with an OPT record, its upper bits. */
static unsigned ext_rcode(unsigned hdr_rcode, const rr_hdr_t *opt)
{
	return ((opt->ttl >> 24) << 4) | hdr_rcode;
}

/* TSIG rdata (RFC 8945 4.2): algorithm, time (48), fudge, MAC size, MAC,
 * original id, error, other len, other data. Only the error is needed here;
 * the MAC is checked by the TSIG module. */
static int tsig_error(const uint8_t *msg, size_t len, size_t rd_off, uint16_t rdlen,
		      unsigned *error)
{
	fg_wire_t w = fg_wire_init(msg, rd_off + rdlen);
	w.pos = rd_off;
	uint8_t alg[FG_DNS_MAXNAME];
	(void)len;
	(void)fg_dns_wire_name(&w, alg);
	fg_wire_skip(&w, 6 + 2);          /* time signed, fudge */
	uint16_t macsz = fg_wire_read_u16(&w);
	fg_wire_skip(&w, macsz);
	fg_wire_skip(&w, 2);              /* original id */
	*error = fg_wire_read_u16(&w);
	uint16_t olen = fg_wire_read_u16(&w);
	fg_wire_skip(&w, olen);
	if (w.err || w.pos != rd_off + rdlen)
		return -FG_EMALF;
	return 0;
}

/* Header checks shared by both responses; fills the counts. */
static int check_header(fg_wire_t *w, uint16_t id, unsigned opcode, uint16_t cnt[4],
			unsigned *rcode, char *err, size_t errlen)
{
	if (w->len < FG_DNS_HDRLEN)
		return fg_errf(err, errlen, -FG_ETRUNC, "response of %zu octets: shorter than a header",
			       w->len);
	uint16_t rid = fg_wire_read_u16(w);
	uint16_t flags = fg_wire_read_u16(w);
	for (int i = 0; i < 4; i++)
		cnt[i] = fg_wire_read_u16(w);
	if (!(flags & FG_DNS_F_QR))
		return fg_errf(err, errlen, -FG_EMALF, "QR clear: a query, not a response");
	if (rid != id)
		return fg_errf(err, errlen, -FG_EMALF, "id %u does not match the request's %u", rid,
			       id);
	if (((flags >> 11) & 0xf) != opcode)
		return fg_errf(err, errlen, -FG_EMALF, "opcode %u, expected %u", (flags >> 11) & 0xf,
			       opcode);
	if (flags & FG_DNS_F_TC)
		return fg_errf(err, errlen, -FG_ETRUNC, "truncated (TC=1)");
	*rcode = flags & 0xf;
	return 0;
}

int fg_update_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
			     fg_update_resp_t *out, char *err, size_t errlen)
{
	uint8_t zw[FG_DNS_MAXNAME];
	uint16_t cnt[4];
	unsigned rcode = 0;
	memset(out, 0, sizeof(*out));
	int zl = zone_wire(zone, zw, err, errlen);
	if (zl < 0)
		return zl;
	fg_wire_t w = fg_wire_init(msg, len);
	int rc = check_header(&w, id, FG_OPCODE_UPDATE, cnt, &rcode, err, errlen);
	if (rc < 0)
		return rc;
	/* a server may answer FORMERR/NOTIMP without the zone section */
	if (cnt[0] > 1)
		return fg_errf(err, errlen, -FG_EMALF, "%u zone entries (at most 1)", cnt[0]);
	if (cnt[0]) {
		uint8_t name[FG_DNS_MAXNAME];
		(void)fg_dns_wire_name(&w, name);
		uint16_t type = fg_wire_read_u16(&w);
		(void)fg_wire_read_u16(&w);
		if (w.err)
			return fg_errf(err, errlen, w.err, "zone section: %s", fg_strerror(w.err));
		if (type != FG_TYPE_SOA || !fg_dns_name_eq(name, zw))
			return fg_errf(err, errlen, -FG_EMALF, "zone section names another zone");
	}
	unsigned total = (unsigned)cnt[1] + cnt[2] + cnt[3];
	rr_hdr_t opt = { .ttl = 0 };
	bool seen_opt = false;
	for (unsigned i = 0; i < total; i++) {
		rr_hdr_t h;
		read_rr_hdr(&w, &h);
		size_t rd_off = w.pos;
		fg_wire_skip(&w, h.rdlen);
		if (w.err)
			return fg_errf(err, errlen, w.err, "record %u of %u: %s", i + 1, total,
				       fg_strerror(w.err));
		bool in_ar = i >= (unsigned)cnt[1] + cnt[2];
		if (h.type == FG_TYPE_OPT && in_ar) {
			if (seen_opt)
				return fg_errf(err, errlen, -FG_EOPT, "two OPT records");
			seen_opt = true;
			opt = h;
		} else if (h.type == FG_TYPE_TSIG) {
			/* RFC 8945 5.1: only as the last additional record */
			if (!in_ar || i + 1 != total)
				return fg_errf(err, errlen, -FG_EMALF, "TSIG record not last");
			if (tsig_error(msg, len, rd_off, h.rdlen, &out->tsig_error) < 0)
				return fg_errf(err, errlen, -FG_EMALF, "malformed TSIG record");
			out->has_tsig = true;
			out->tsig_off = h.start;
		}
	}
	if (w.pos != len)
		return fg_errf(err, errlen, -FG_EMALF, "%zu octets after the last record",
			       len - w.pos);
	out->rcode = seen_opt ? ext_rcode(rcode, &opt) : rcode;
	return 0;
}

int fg_update_parse_soa(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
			uint32_t *serial, char *err, size_t errlen)
{
	uint8_t zw[FG_DNS_MAXNAME];
	uint16_t cnt[4];
	unsigned rcode = 0;
	int zl = zone_wire(zone, zw, err, errlen);
	if (zl < 0)
		return zl;
	fg_wire_t w = fg_wire_init(msg, len);
	int rc = check_header(&w, id, FG_OPCODE_QUERY, cnt, &rcode, err, errlen);
	if (rc < 0)
		return rc;
	if (rcode != FG_UPD_NOERROR)
		return fg_errf(err, errlen, -FG_EMALF, "SOA query answered %s",
			       fg_update_rcode_name(rcode));
	if (cnt[0] != 1)
		return fg_errf(err, errlen, -FG_EQDCOUNT, "%u questions in the answer", cnt[0]);
	uint8_t name[FG_DNS_MAXNAME];
	(void)fg_dns_wire_name(&w, name);
	uint16_t qtype = fg_wire_read_u16(&w);
	(void)fg_wire_read_u16(&w);
	if (w.err)
		return fg_errf(err, errlen, w.err, "question: %s", fg_strerror(w.err));
	if (qtype != FG_TYPE_SOA || !fg_dns_name_eq(name, zw))
		return fg_errf(err, errlen, -FG_EMALF, "answer to another question");
	for (unsigned i = 0; i < cnt[1]; i++) {
		rr_hdr_t h;
		read_rr_hdr(&w, &h);
		size_t end = w.pos + h.rdlen;
		if (w.err || end > len)
			return fg_errf(err, errlen, -FG_ETRUNC, "answer record %u truncated", i + 1);
		if (h.type != FG_TYPE_SOA || !fg_dns_name_eq(h.name, zw)) {
			fg_wire_skip(&w, h.rdlen);
			continue;
		}
		/* mname, rname (compressible), then serial */
		fg_wire_t r = fg_wire_init(msg, end);
		r.pos = w.pos;
		uint8_t n1[FG_DNS_MAXNAME];
		(void)fg_dns_wire_name(&r, n1);
		(void)fg_dns_wire_name(&r, n1);
		uint32_t s = fg_wire_read_u32(&r);
		fg_wire_skip(&r, 16);
		if (r.err || r.pos != end)
			return fg_errf(err, errlen, -FG_EMALF, "malformed SOA rdata");
		*serial = s;
		return 0;
	}
	return fg_errf(err, errlen, -FG_EMALF, "no SOA record of %s in the answer", zone);
}
