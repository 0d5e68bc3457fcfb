/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response writer with name compression (RFC 1035 section 4.1.4).
 *
 * The compression table is a fixed array of offsets of labels already in
 * the message; a name is compressed against the longest suffix found there.
 * Matching is exact (case-sensitive), so every name keeps its own case: zone
 * data as configured (owners lowercased), the answer owner as received (it
 * is an explicit pointer to the question). A 0x20-randomised qname then
 * shares fewer suffixes with zone names, which costs a few octets; Knot
 * behaves the same, and differential tests see identical names. When the
 * table is full, names are written in full: bigger messages, never wrong.
 */
#include "dns/internal.h"

#include <string.h>

void fg_dnsb_init(fg_dnsb_t *b, uint8_t *buf, size_t cap)
{
	b->w = fg_wire_init(buf, cap);
	b->cap = cap;
	memset(b->count, 0, sizeof(b->count));
	b->ncomp = 0;
}

void fg_dnsb_header(fg_dnsb_t *b, uint16_t id, uint16_t flags)
{
	fg_wire_write_u16(&b->w, id);
	fg_wire_write_u16(&b->w, flags);
	fg_wire_write_u32(&b->w, 0);
	fg_wire_write_u32(&b->w, 0);
}

void fg_dnsb_set_flags(fg_dnsb_t *b, uint16_t flags)
{
	if (b->w.pos >= 4) {
		b->w.buf[2] = (uint8_t)(flags >> 8);
		b->w.buf[3] = (uint8_t)flags;
	}
}

void fg_dnsb_reserve(fg_dnsb_t *b, size_t n)
{
	b->w.len = n < b->cap ? b->cap - n : 0;
	if (b->w.len < b->w.pos)
		b->w.len = b->w.pos;
}

fg_dnsb_mark_t fg_dnsb_mark(const fg_dnsb_t *b)
{
	fg_dnsb_mark_t m;
	m.pos = b->w.pos;
	m.ncomp = b->ncomp;
	memcpy(m.count, b->count, sizeof(m.count));
	return m;
}

void fg_dnsb_rollback(fg_dnsb_t *b, const fg_dnsb_mark_t *m)
{
	b->w.pos = m->pos;
	b->w.err = 0;
	b->ncomp = m->ncomp;
	memcpy(b->count, m->count, sizeof(b->count));
}

/* Does the (possibly compressed, written by us) name at `off` equal the
 * uncompressed `name`, octet for octet? Our pointers always point
 * backwards, so this ends. */
static bool buf_name_eq(const uint8_t *buf, size_t off, const uint8_t *name)
{
	for (;;) {
		uint8_t c = buf[off];
		while ((c & 0xC0) == 0xC0) {
			off = ((size_t)(c & 0x3F) << 8) | buf[off + 1];
			c = buf[off];
		}
		if (c != *name)
			return false;
		if (c == 0)
			return true;
		if (memcmp(buf + off + 1, name + 1, c) != 0)
			return false;
		off += c + 1u;
		name += c + 1u;
	}
}

static void comp_add(fg_dnsb_t *b, size_t start, const uint8_t *name, size_t upto)
{
	for (size_t p = 0; p < upto && name[p]; p += name[p] + 1u) {
		size_t off = start + p;
		if (b->ncomp == FG_DNSB_COMP_MAX || off > 0x3FFF)
			return;
		b->comp[b->ncomp++] = (uint16_t)off;
	}
}

static void write_name(fg_dnsb_t *b, const uint8_t *name, bool compress)
{
	size_t len = fg_dns_name_len(name);
	size_t start = b->w.pos;

	if (compress) {
		for (size_t s = 0; name[s]; s += name[s] + 1u) {
			for (unsigned i = 0; i < b->ncomp; i++) {
				if (!buf_name_eq(b->w.buf, b->comp[i], name + s))
					continue;
				fg_wire_write(&b->w, name, s);
				fg_wire_write_u16(&b->w, (uint16_t)(0xC000u | b->comp[i]));
				if (!b->w.err)
					comp_add(b, start, name, s);
				return;
			}
		}
	}
	fg_wire_write(&b->w, name, len);
	if (!b->w.err)
		comp_add(b, start, name, len);
}

int fg_dnsb_question(fg_dnsb_t *b, const uint8_t *name, uint16_t qtype, uint16_t qclass)
{
	write_name(b, name, false);
	fg_wire_write_u16(&b->w, qtype);
	fg_wire_write_u16(&b->w, qclass);
	if (b->w.err)
		return b->w.err;
	b->count[FG_SEC_QD]++;
	return 0;
}

int fg_dnsb_rr(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
	       uint16_t owner_ptr, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen)
{
	fg_dnsb_mark_t m = fg_dnsb_mark(b);

	if (owner)
		write_name(b, owner, true);
	else
		fg_wire_write_u16(&b->w, (uint16_t)(0xC000u | owner_ptr));
	fg_wire_write_u16(&b->w, type);
	fg_wire_write_u16(&b->w, FG_CLASS_IN);
	fg_wire_write_u32(&b->w, ttl);
	size_t rdpos = b->w.pos;
	fg_wire_write_u16(&b->w, 0);
	switch (type) {
	case FG_TYPE_NS:
	case FG_TYPE_CNAME:
	case FG_TYPE_PTR:
		write_name(b, rdata, true);
		break;
	case FG_TYPE_MX:
		fg_wire_write(&b->w, rdata, 2);
		write_name(b, rdata + 2, true);
		break;
	case FG_TYPE_SOA: {
		size_t l1 = fg_dns_name_len(rdata);
		size_t l2 = fg_dns_name_len(rdata + l1);
		write_name(b, rdata, true);
		write_name(b, rdata + l1, true);
		fg_wire_write(&b->w, rdata + l1 + l2, 20);
		break;
	}
	default:
		fg_wire_write(&b->w, rdata, rdlen);
		break;
	}
	if (!b->w.err && b->w.pos - rdpos - 2 > 0xFFFF)
		fg_wire_fail(&b->w, -FG_ESPACE);
	fg_wire_put_u16_at(&b->w, rdpos, (uint16_t)(b->w.pos - rdpos - 2));
	if (b->w.err) {
		fg_dnsb_rollback(b, &m);
		return -FG_ESPACE;
	}
	b->count[sec]++;
	return 0;
}

static unsigned ecs_addr_len(const fg_dns_ecs_t *e)
{
	return (e->source_prefix + 7u) / 8u;
}

/* Only what the query asked for (RFC 5001 2.2, RFC 7314 2). */
static bool want_nsid(const fg_dns_query_t *q, const fg_dns_optx_t *x)
{
	return x && q->want_nsid && x->nsid && x->nsid_len;
}

size_t fg_dns_opt_size(const fg_dns_query_t *q, const fg_dns_optx_t *x)
{
	if (!q || !q->has_edns)
		return 0;
	size_t n = 11;
	if (want_nsid(q, x))
		n += 4 + (size_t)x->nsid_len;
	if (x && x->expire && q->want_expire)
		n += 4 + 4;
	if (q->has_ecs)
		n += 4 + 4 + ecs_addr_len(&q->ecs);
	if (q->has_cookie && q->resp_cookie_set)
		n += 4 + FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_LEN;
	return n;
}

int fg_dnsb_opt(fg_dnsb_t *b, const fg_dns_query_t *q, const fg_dns_optx_t *x,
		int rcode, uint8_t scope)
{
	if (!q || !q->has_edns)
		return 0;
	fg_dnsb_mark_t m = fg_dnsb_mark(b);
	b->w.len = b->cap;
	fg_wire_write_u8(&b->w, 0);                  /* root owner */
	fg_wire_write_u16(&b->w, FG_TYPE_OPT);
	fg_wire_write_u16(&b->w, FG_DNS_UDP_MAX);    /* our payload size */
	/* TTL: extended rcode (upper 8 of 12 bits), version 0, DO echoed */
	uint32_t ttl = ((uint32_t)((rcode >> 4) & 0xFF) << 24) | (q->do_bit ? 0x8000u : 0);
	fg_wire_write_u32(&b->w, ttl);
	size_t rdpos = b->w.pos;
	fg_wire_write_u16(&b->w, 0);                 /* RDLENGTH, patched below */
	if (q->has_ecs) {
		unsigned alen = ecs_addr_len(&q->ecs);
		uint8_t maxp = q->ecs.family == 1 ? 32 : 128;
		fg_wire_write_u16(&b->w, FG_EDNS_OPT_ECS);
		fg_wire_write_u16(&b->w, (uint16_t)(4 + alen));
		fg_wire_write_u16(&b->w, q->ecs.family);
		fg_wire_write_u8(&b->w, q->ecs.source_prefix);
		fg_wire_write_u8(&b->w, scope > maxp ? maxp : scope);
		fg_wire_write(&b->w, q->ecs.addr, alen);
	}
	if (q->has_cookie && q->resp_cookie_set) {
		/* RFC 7873 5.2: the client cookie echoed, a fresh server cookie */
		fg_wire_write_u16(&b->w, FG_EDNS_OPT_COOKIE);
		fg_wire_write_u16(&b->w, FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_LEN);
		fg_wire_write(&b->w, q->cookie.client, FG_COOKIE_CLIENT_LEN);
		fg_wire_write(&b->w, q->resp_cookie, FG_COOKIE_SERVER_LEN);
	}
	if (want_nsid(q, x)) {
		fg_wire_write_u16(&b->w, FG_EDNS_OPT_NSID);
		fg_wire_write_u16(&b->w, x->nsid_len);
		fg_wire_write(&b->w, x->nsid, x->nsid_len);
	}
	if (x && x->expire && q->want_expire) {
		fg_wire_write_u16(&b->w, FG_EDNS_OPT_EXPIRE);
		fg_wire_write_u16(&b->w, 4);
		fg_wire_write_u32(&b->w, x->expire_val);
	}
	fg_wire_put_u16_at(&b->w, rdpos, (uint16_t)(b->w.pos - rdpos - 2));
	if (b->w.err) {
		fg_dnsb_rollback(b, &m);
		return -FG_ESPACE;
	}
	b->count[FG_SEC_AR]++;
	return 0;
}

int fg_dnsb_finish(fg_dnsb_t *b)
{
	if (b->w.err)
		return b->w.err;
	if (b->w.pos < FG_DNS_HDRLEN)
		return -FG_ESPACE;
	for (int i = 0; i < 4; i++) {
		b->w.buf[4 + 2 * i] = (uint8_t)(b->count[i] >> 8);
		b->w.buf[5 + 2 * i] = (uint8_t)b->count[i];
	}
	return (int)b->w.pos;
}
