/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/udpdns.h"
#include "dns/cookie.h"
#include "dns/msg.h"

#define F_RD 0x0100u
#define F_CD 0x0010u
#define T_OPT 41
#define COMP_MAX 1024  /* two per name: more than a 1232-octet message holds */

const char *const fd_udp_match_names[] = {
	[FD_UDP_EXACT] = "exact", [FD_UDP_QUESTION] = "question",
	[FD_UDP_NODATA] = "nodata", [FD_UDP_NXDOMAIN] = "nxdomain",
	[FD_UDP_OTHER] = "other", [FD_UDP_BADVERS] = "badvers", [FD_UDP_NMATCH] = NULL,
};

const char *fd_udp_match_name(enum fd_udp_match m)
{
	return (unsigned)m < FD_UDP_NMATCH ? fd_udp_match_names[m] : "?";
}

int fd_udp_dns_key(const uint8_t *req, size_t len, fd_udp_dnskey_t *k)
{
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	int rc = fg_dns_parse_query(req, len, &q, &act, &rcode);

	if (rc < 0 && rc != -FG_EVERSION)
		return rc;
	memset(k, 0, sizeof(*k));
	k->edns_version = q.edns_version;
	memcpy(k->qname_lc, q.qname_lc, q.qname_len);
	k->qname_len = q.qname_len;
	k->qtype = q.qtype;
	k->qclass = q.qclass;
	k->opcode = q.opcode;
	k->rd = q.rd;
	k->cd = q.cd;
	k->edns = q.has_edns;
	k->do_bit = q.do_bit;
	return 0;
}

/* ---- names ------------------------------------------------------------ */

/* Read a possibly compressed name at r's cursor (r spans the message from
 * its first octet) into out, uncompressed; the cursor moves past the name
 * as it sits there. Pointers must go strictly back and not into the
 * header, so none loops. Returns the length or a negative error (sticky). */
static int read_name(fg_wire_t *r, uint8_t out[255])
{
	fg_wire_t c = *r;
	size_t run = c.pos, n = 0;
	bool jumped = false;

	for (;;) {
		uint8_t b = fg_wire_read_u8(&c);
		if (c.err)
			break;
		if ((b & 0xC0) == 0xC0) {
			size_t to = (size_t)(b & 0x3F) << 8 | fg_wire_read_u8(&c);
			if (c.err)
				break;
			if (!jumped) {
				r->pos = c.pos;
				jumped = true;
			}
			if (to >= run || to < 12) {
				fg_wire_fail(&c, -FG_EPTR);
				break;
			}
			c.pos = run = to;
			continue;
		}
		if (b & 0xC0) {
			fg_wire_fail(&c, -FG_EMALF);   /* 0x40, 0x80: no such labels */
			break;
		}
		if (n + 1 + b > 255) {
			fg_wire_fail(&c, -FG_ENAME);
			break;
		}
		out[n++] = b;
		if (b == 0)
			break;
		fg_wire_read(&c, out + n, b);
		n += b;
	}
	if (c.err) {
		fg_wire_fail(r, c.err);
		return c.err;
	}
	if (!jumped)
		r->pos = c.pos;
	return (int)n;
}

static uint8_t lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Case-insensitive equality of two uncompressed names (label lengths are
 * compared exactly: they are never letters' codes here, < 64). */
static bool name_eq_ci(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (lc(a[i]) != lc(b[i]))
			return false;
	return true;
}

/* True when name (case-insensitively) lies strictly below parent. */
static bool name_below(const uint8_t *name, size_t nn, const uint8_t *parent, size_t pn)
{
	size_t i = 0;

	while (i < nn && nn - i > pn)
		i += 1u + name[i];
	return i > 0 && i < nn && nn - i == pn && name_eq_ci(name + i, pn, parent, pn);
}

/* ---- the renderer ----------------------------------------------------- */

typedef struct rend {
	fg_wire_t w;
	struct { uint16_t off; uint8_t len; } comp[COMP_MAX];
	size_t ncomp;
} rend_t;

/* The table offset of a name equal to name[n] octet for octet, or -1. */
static int comp_find(const rend_t *R, const uint8_t *name, size_t n)
{
	uint8_t tmp[255];

	for (size_t k = R->ncomp; k-- > 0;) {      /* the newest first */
		if (R->comp[k].len != n)
			continue;
		fg_wire_t c = fg_wire_init(R->w.buf, R->w.pos);
		c.pos = R->comp[k].off;
		if (read_name(&c, tmp) == (int)n && memcmp(tmp, name, n) == 0)
			return R->comp[k].off;
	}
	return -1;
}

static void comp_add(rend_t *R, size_t off, size_t len)
{
	if (off < 0x4000 && R->ncomp < COMP_MAX) {
		R->comp[R->ncomp].off = (uint16_t)off;
		R->comp[R->ncomp].len = (uint8_t)len;
		R->ncomp++;
	}
}

/* Write name[n] (uncompressed) compressed as BIND 9.18's renderer does
 * (lib/dns/compress.c): it looks up only the whole name and the name
 * without its first label, octet for octet (case-sensitive, as named sets
 * for responses), and remembers only the first two suffixes of what it
 * writes out in full. So "example.test" after the question
 * "a.sub.example.test" is spelled out again, as named does. */
static void put_name(rend_t *R, const uint8_t *name, size_t n)
{
	size_t start = R->w.pos;

	if (n <= 1 || name[0] == 0) {            /* the root */
		fg_wire_write_u8(&R->w, 0);
		return;
	}
	size_t l1 = 1u + name[0];                /* where the second label starts */
	int at = comp_find(R, name, n);
	if (at >= 0) {
		fg_wire_write_u16(&R->w, (uint16_t)(0xC000u | (unsigned)at));
		return;
	}
	if (l1 < n && name[l1] != 0 && (at = comp_find(R, name + l1, n - l1)) >= 0) {
		fg_wire_write(&R->w, name, l1);
		fg_wire_write_u16(&R->w, (uint16_t)(0xC000u | (unsigned)at));
		if (!R->w.err)
			comp_add(R, start, n);
		return;
	}
	fg_wire_write(&R->w, name, n);
	if (R->w.err)
		return;
	comp_add(R, start, n);
	if (l1 < n && name[l1] != 0)
		comp_add(R, start + l1, n - l1);
}

/* Types whose RDATA names BIND compresses (RFC 1035's; RFC 3597 3). */
static int rdata_names(uint16_t type, unsigned *lead, unsigned *names, unsigned *tail)
{
	*lead = *tail = 0;
	*names = 1;
	switch (type) {
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:
		return 1;
	case 6:                 /* SOA: MNAME RNAME SERIAL..MINIMUM */
		*names = 2;
		*tail = 20;
		return 1;
	case 14:                /* MINFO */
		*names = 2;
		return 1;
	case 15:                /* MX: PREFERENCE EXCHANGE */
		*lead = 2;
		return 1;
	default:
		return 0;
	}
}

/* The OPT record's RDATA: the captured options but COOKIE, and in
 * COOKIE's place (or last) the query's client cookie with our server
 * cookie when the query had one. */
static void put_opt_rdata(rend_t *R, fg_wire_t *rd, const fg_dns_query_t *q,
			  const uint8_t *sc)
{
	bool put = false;

	while (!rd->err && fg_wire_avail(rd) > 0) {
		uint16_t code = fg_wire_read_u16(rd), olen = fg_wire_read_u16(rd);
		const uint8_t *p = fg_wire_take(rd, olen, -FG_ETRUNC);
		if (!p)
			break;
		if (code != FG_EDNS_OPT_COOKIE) {
			fg_wire_write_u16(&R->w, code);
			fg_wire_write_u16(&R->w, olen);
			fg_wire_write(&R->w, p, olen);
			continue;
		}
		if (q->has_cookie && !put) {
			fg_wire_write_u16(&R->w, FG_EDNS_OPT_COOKIE);
			fg_wire_write_u16(&R->w, FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_LEN);
			fg_wire_write(&R->w, q->cookie.client, FG_COOKIE_CLIENT_LEN);
			fg_wire_write(&R->w, sc, FG_COOKIE_SERVER_LEN);
			put = true;
		}
	}
	if (q->has_cookie && !put) {
		fg_wire_write_u16(&R->w, FG_EDNS_OPT_COOKIE);
		fg_wire_write_u16(&R->w, FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_LEN);
		fg_wire_write(&R->w, q->cookie.client, FG_COOKIE_CLIENT_LEN);
		fg_wire_write(&R->w, sc, FG_COOKIE_SERVER_LEN);
	}
	if (rd->err)
		fg_wire_fail(&R->w, rd->err);
}

/* Render captured reply rep[replen] for query q into R: the query's ID
 * and question, the captured records (a template's are the zone's: its
 * SOA, none at all for REFUSED, so they stay as captured), a template's
 * RD/CD mirrored from the query. sc: the server cookie (16 octets) when the
 * query has a client cookie. Returns the length or a negative error. */
static int render(rend_t *R, const fg_dns_query_t *q, bool tmpl,
		  const uint8_t *rep, size_t replen, const uint8_t *sc)
{
	fg_wire_t r = fg_wire_init(rep, replen);
	uint8_t name[255];

	fg_wire_skip(&r, 2);
	uint16_t flags = fg_wire_read_u16(&r);
	uint16_t qd = fg_wire_read_u16(&r), an = fg_wire_read_u16(&r);
	uint16_t ns = fg_wire_read_u16(&r), ar = fg_wire_read_u16(&r);
	if (r.err)
		return r.err;
	if (qd != 1 || !(flags & 0x8000u))
		return -FG_EMALF;       /* a response, with its question */
	(void)read_name(&r, name);
	fg_wire_skip(&r, 4);
	if (r.err)
		return r.err;
	if (tmpl)
		flags = (uint16_t)((flags & ~(F_RD | F_CD)) | (q->flags & (F_RD | F_CD)));

	fg_wire_write_u16(&R->w, q->id);
	fg_wire_write_u16(&R->w, flags);
	fg_wire_write_u16(&R->w, 1);
	fg_wire_write_u16(&R->w, an);
	fg_wire_write_u16(&R->w, ns);
	fg_wire_write_u16(&R->w, ar);
	put_name(R, q->qname, q->qname_len);
	fg_wire_write_u16(&R->w, q->qtype);
	fg_wire_write_u16(&R->w, q->qclass);

	for (unsigned i = 0; i < (unsigned)an + ns + ar && !r.err && !R->w.err; i++) {
		int nl = read_name(&r, name);
		uint16_t type = fg_wire_read_u16(&r), cls = fg_wire_read_u16(&r);
		uint32_t ttl = fg_wire_read_u32(&r);
		uint16_t rdlen = fg_wire_read_u16(&r);
		if (r.err)
			break;
		if (fg_wire_avail(&r) < rdlen) {
			fg_wire_fail(&r, -FG_ETRUNC);
			break;
		}
		size_t rdend = r.pos + rdlen;
		put_name(R, name, (size_t)nl);
		fg_wire_write_u16(&R->w, type);
		fg_wire_write_u16(&R->w, cls);
		fg_wire_write_u32(&R->w, ttl);
		size_t lenat = R->w.pos;
		fg_wire_write_u16(&R->w, 0);
		unsigned lead, names, tail;
		/* names in RDATA are read from the whole message up to the end
		 * of this RDATA: a pointer may go back anywhere, a name may not
		 * run past its record */
		fg_wire_t rd = fg_wire_init(rep, rdend);
		rd.pos = r.pos;
		if (type == T_OPT) {
			if (nl != 1 || !q->has_edns)
				return -FG_EOPT;
			put_opt_rdata(R, &rd, q, sc);
		} else if (rdata_names(type, &lead, &names, &tail)) {
			const uint8_t *p = fg_wire_take(&rd, lead, -FG_ETRUNC);
			if (p)
				fg_wire_write(&R->w, p, lead);
			for (unsigned k = 0; k < names && !rd.err; k++) {
				int l = read_name(&rd, name);
				if (l > 0)
					put_name(R, name, (size_t)l);
			}
			p = fg_wire_take(&rd, tail, -FG_ETRUNC);
			if (p)
				fg_wire_write(&R->w, p, tail);
			if (!rd.err && rd.pos != rdend)
				fg_wire_fail(&rd, -FG_EMALF);
			if (rd.err)
				fg_wire_fail(&r, rd.err);
		} else {
			fg_wire_write(&R->w, rep + r.pos, rdlen);
		}
		r.pos = rdend;
		if (!R->w.err && R->w.pos - lenat - 2 > 0xFFFF)
			fg_wire_fail(&R->w, -FG_EMALF);
		fg_wire_put_u16_at(&R->w, lenat, (uint16_t)(R->w.pos - lenat - 2));
	}
	if (r.err)
		return r.err;
	if (R->w.err)
		return R->w.err;
	if (r.pos != replen)
		return -FG_EMALF;       /* octets beyond the declared records */
	return (int)R->w.pos;
}

/* ---- matching --------------------------------------------------------- */

static bool same_form(const fd_udp_dnskey_t *k, const fg_dns_query_t *q)
{
	return k->edns == q->has_edns && k->do_bit == q->do_bit && k->opcode == q->opcode;
}

static bool same_question(const fd_udp_dnskey_t *k, const fg_dns_query_t *q)
{
	return same_form(k, q) && k->qtype == q->qtype && k->qclass == q->qclass &&
	       k->rd == q->rd && k->cd == q->cd &&
	       name_eq_ci(k->qname_lc, k->qname_len, q->qname_lc, q->qname_len);
}

/* A name the server has: a captured question's, in the query's class. */
static bool known_name(const fd_udp_dnsent_t *e, size_t n, const fg_dns_query_t *q)
{
	for (size_t i = 0; i < n; i++)
		if ((e[i].match == FD_UDP_QUESTION || e[i].match == FD_UDP_NODATA) &&
		    e[i].key->qclass == q->qclass &&
		    name_eq_ci(e[i].key->qname_lc, e[i].key->qname_len, q->qname_lc,
			       q->qname_len))
			return true;
	return false;
}

/* The best candidate for q: its own question, else the templates in turn;
 * for an EDNS version above 0 (badvers) only the badvers template. */
static const fd_udp_dnsent_t *pick(const fd_udp_dnsent_t *e, size_t n,
				   const fg_dns_query_t *q, bool badvers)
{
	if (badvers) {
		for (size_t i = 0; i < n; i++)
			if (e[i].match == FD_UDP_BADVERS && same_form(e[i].key, q))
				return &e[i];
		return NULL;
	}
	bool known = known_name(e, n, q);

	for (size_t i = 0; i < n; i++)
		if (e[i].match == FD_UDP_QUESTION && same_question(e[i].key, q))
			return &e[i];
	/* OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY: the server answers
	 * these in ways of their own; only a capture of that very question */
	if (q->qtype == T_OPT || (q->qtype >= 249 && q->qtype <= 255))
		return NULL;
	for (size_t i = 0; known && i < n; i++)
		if (e[i].match == FD_UDP_NODATA && same_form(e[i].key, q) &&
		    e[i].key->qclass == q->qclass)
			return &e[i];
	for (size_t i = 0; !known && i < n; i++) {
		const fd_udp_dnskey_t *k = e[i].key;
		if (e[i].match != FD_UDP_NXDOMAIN || !same_form(k, q) || k->qclass != q->qclass ||
		    k->qname_len < 2)
			continue;
		size_t zl = k->qname_len - 1u - k->qname_lc[0];   /* minus the first label */
		if (name_below(q->qname_lc, q->qname_len, k->qname_lc + (k->qname_len - zl), zl))
			return &e[i];
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].match == FD_UDP_OTHER && same_form(e[i].key, q))
			return &e[i];
	return NULL;
}

int fd_udp_dns_answer(const fd_udp_dnsent_t *e, size_t n, const fd_udp_peer_t *peer,
		      const uint8_t *d, size_t len, uint8_t *out, size_t cap)
{
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	uint8_t sc[FG_COOKIE_SERVER_LEN];
	rend_t R;

	if (!n)
		return 0;
	int prc = fg_dns_parse_query(d, len, &q, &act, &rcode);
	if (prc < 0 && prc != -FG_EVERSION)
		return 0;
	const fd_udp_dnsent_t *m = pick(e, n, &q, prc == -FG_EVERSION);
	if (!m)
		return 0;
	if (q.has_cookie) {
		if (!peer || !peer->sip || !peer->secret ||
		    fg_cookie_make(peer->sip, peer->secret, q.cookie.client, peer->now,
				   peer->family, peer->addr, sc) < 0)
			return 0;
	}
	memset(&R, 0, sizeof(R));
	R.w = fg_wire_init(out, cap);
	int rc = render(&R, &q, m->match != FD_UDP_QUESTION, m->rep, m->replen, sc);
	if (rc < 0)
		return rc;
	/* the real server would truncate what does not fit the client's size */
	if ((size_t)rc > fg_dns_max_response(&q, false))
		return 0;
	return rc;
}

int fd_udp_dns_check(enum fd_udp_match m, const uint8_t *req, size_t reqlen,
		     const uint8_t *rep, size_t replen, char *err, size_t errlen)
{
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	/* names written out in full may outgrow the capture: room for that */
	uint8_t out[16384], sc[FG_COOKIE_SERVER_LEN] = { 1 };
	rend_t R;

	if (m == FD_UDP_EXACT)
		return 0;
	int rc = fg_dns_parse_query(req, reqlen, &q, &act, &rcode);
	if (rc == -FG_EVERSION && m == FD_UDP_BADVERS)
		rc = 0;
	else if (rc == 0 && m == FD_UDP_BADVERS)
		return fg_errf(err, errlen, -FG_ESCHEMA, "match badvers: the request "
			       "has EDNS version 0 (a badvers request asks for a "
			       "version above 0)");
	if (rc < 0)
		return fg_errf(err, errlen, -FG_ESCHEMA, "match %s: the request is not "
			       "a DNS query (%s)", fd_udp_match_name(m), fg_strerror(rc));
	memset(&R, 0, sizeof(R));
	R.w = fg_wire_init(out, sizeof(out));
	rc = render(&R, &q, m != FD_UDP_QUESTION, rep, replen, sc);
	if (rc < 0)
		return fg_errf(err, errlen, -FG_ESCHEMA, "match %s: the reply is not a "
			       "DNS response for it (%s)", fd_udp_match_name(m),
			       fg_strerror(rc));
	return 0;
}
