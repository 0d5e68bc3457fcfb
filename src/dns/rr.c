/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone-file style record text (one record per line, RFC 1035 section 5.1
 * subset) to our internal rdata: wire rdata with uncompressed names, case
 * kept as written. Runs only at config load, so it may allocate; it still
 * does no I/O.
 *
 * Accepted: OWNER [TTL] [IN] TYPE RDATA..., TTL and class in either order,
 * TTL in seconds or with s/m/h/d/w units ("1h30m"), ';' starts a comment
 * outside quotes. No parentheses, no $ directives, no "blank owner".
 */
#include "dns/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct tok {
	const char *s;
	size_t len;
	bool quoted;
} tok_t;

static const struct {
	const char *name;
	uint16_t type;
} rr_types[] = {
	{ "A", FG_TYPE_A }, { "NS", FG_TYPE_NS }, { "CNAME", FG_TYPE_CNAME },
	{ "SOA", FG_TYPE_SOA }, { "PTR", FG_TYPE_PTR }, { "MX", FG_TYPE_MX },
	{ "TXT", FG_TYPE_TXT }, { "AAAA", FG_TYPE_AAAA }, { "SRV", FG_TYPE_SRV },
	{ "DS", FG_TYPE_DS },
};


const char *fg_rr_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(rr_types) / sizeof(rr_types[0]); i++)
		if (rr_types[i].type == type)
			return rr_types[i].name;
	return NULL;
}


/* Next token: 1, 0 at end of line / comment, -1 for an open quote. */
static int next_tok(const char **pp, tok_t *t)
{
	const char *p = *pp;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '\0' || *p == ';') {
		*pp = p;
		return 0;
	}
	if (*p == '"') {
		const char *s = ++p;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
		if (*p != '"')
			return -1;
		t->s = s;
		t->len = (size_t)(p - s);
		t->quoted = true;
		*pp = p + 1;
		return 1;
	}
	const char *s = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' &&
	       *p != ';' && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	t->s = s;
	t->len = (size_t)(p - s);
	t->quoted = false;
	*pp = p;
	return 1;
}

static bool tok_cstr(const tok_t *t, char *buf, size_t cap)
{
	if (t->len >= cap)
		return false;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	return true;
}

static bool tok_is(const tok_t *t, const char *word)
{
	return !t->quoted && strlen(word) == t->len && strncasecmp(t->s, word, t->len) == 0;
}

static bool parse_u32(const tok_t *t, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (t->quoted || t->len == 0 || t->len > 10)
		return false;
	for (size_t i = 0; i < t->len; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(t->s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Seconds, or a sum of number+unit terms ("1h30m"); RFC 2181 section 8
 * keeps TTLs below 2^31. */
static bool parse_ttl(const tok_t *t, uint32_t *out)
{
	uint64_t total = 0, cur = 0;
	bool digits = false;

	if (t->quoted || t->len == 0 || t->s[0] < '0' || t->s[0] > '9')
		return false;
	for (size_t i = 0; i < t->len; i++) {
		char c = t->s[i];
		if (c >= '0' && c <= '9') {
			cur = cur * 10 + (uint64_t)(c - '0');
			digits = true;
			if (cur > 0x7FFFFFFFu)
				return false;
			continue;
		}
		uint64_t mul;
		switch (c) {
		case 's': case 'S': mul = 1; break;
		case 'm': case 'M': mul = 60; break;
		case 'h': case 'H': mul = 3600; break;
		case 'd': case 'D': mul = 86400; break;
		case 'w': case 'W': mul = 604800; break;
		default: return false;
		}
		if (!digits)
			return false;
		total += cur * mul;
		cur = 0;
		digits = false;
		if (total > 0x7FFFFFFFu)
			return false;
	}
	total += cur;
	if (total > 0x7FFFFFFFu)
		return false;
	*out = (uint32_t)total;
	return true;
}

static int name_tok(const tok_t *t, const uint8_t *origin, uint8_t out[FG_DNS_MAXNAME],
		    const char *what, char *err, size_t errlen)
{
	char buf[4 * FG_DNS_MAXNAME + 8];
	if (!tok_cstr(t, buf, sizeof(buf)))
		return fg_errf(err, errlen, -FG_ENAME, "%s: name too long", what);
	int n = fg_dns_name_from_text(buf, origin, out);
	if (n < 0)
		return fg_errf(err, errlen, n, "%s: invalid name '%s': %s", what, buf,
			    fg_strerror(n));
	return n;
}

/* One <character-string> (RFC 1035 section 3.3): \X and \DDD escapes. */
static int txt_string(const tok_t *t, fg_wire_t *w, char *err, size_t errlen)
{
	uint8_t s[256];
	size_t n = 0;

	for (size_t i = 0; i < t->len;) {
		uint8_t c;
		if (t->s[i] == '\\' && i + 1 < t->len) {
			const char *d = t->s + i + 1;
			if (d[0] >= '0' && d[0] <= '9') {
				if (i + 3 >= t->len || d[1] < '0' || d[1] > '9' ||
				    d[2] < '0' || d[2] > '9')
					return fg_errf(err, errlen, -FG_ESYNTAX,
						    "TXT: bad \\DDD escape");
				int v = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
				if (v > 255)
					return fg_errf(err, errlen, -FG_ESYNTAX,
						    "TXT: \\DDD escape above 255");
				c = (uint8_t)v;
				i += 4;
			} else {
				c = (uint8_t)d[0];
				i += 2;
			}
		} else {
			c = (uint8_t)t->s[i++];
		}
		if (n == 255)
			return fg_errf(err, errlen, -FG_ESYNTAX,
				    "TXT: string longer than 255 octets; split it into "
				    "several quoted strings");
		s[n++] = c;
	}
	fg_wire_write_u8(w, (uint8_t)n);
	fg_wire_write(w, s, n);
	if (w->err)
		return fg_errf(err, errlen, -FG_ESYNTAX, "TXT: rdata longer than 65535 octets");
	return 0;
}

static int write_name_tok(fg_wire_t *w, const tok_t *t, const uint8_t *origin,
			  const char *what, char *err, size_t errlen)
{
	uint8_t name[FG_DNS_MAXNAME];
	int n = name_tok(t, origin, name, what, err, errlen);
	if (n < 0)
		return n;
	fg_wire_write(w, name, (size_t)n);
	return 0;
}

static int need(int got, const char *what, char *err, size_t errlen)
{
	if (got < 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "unterminated quoted string");
	if (got == 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "%s: missing field", what);
	return 0;
}

int fg_rr_soa_rdata(const fg_soa_params_t *soa, const uint8_t *origin,
		    uint8_t *out, size_t cap, char *err, size_t errlen)
{
	fg_wire_t w = fg_wire_init(out, cap);
	uint8_t name[FG_DNS_MAXNAME];
	const char *names[2] = { soa->mname, soa->rname };

	for (int i = 0; i < 2; i++) {
		int n = fg_dns_name_from_text(names[i] ? names[i] : "", origin, name);
		if (n < 0)
			return fg_errf(err, errlen, n, "SOA %s: invalid name '%s': %s",
				    i ? "rname" : "mname", names[i] ? names[i] : "",
				    fg_strerror(n));
		fg_wire_write(&w, name, (size_t)n);
	}
	fg_wire_write_u32(&w, soa->serial);
	fg_wire_write_u32(&w, soa->refresh);
	fg_wire_write_u32(&w, soa->retry);
	fg_wire_write_u32(&w, soa->expire);
	fg_wire_write_u32(&w, soa->minimum);
	if (w.err)
		return fg_errf(err, errlen, w.err, "SOA: rdata too long");
	return (int)w.pos;
}

static int parse_rdata(const char **pp, const uint8_t *origin, uint16_t type,
		       fg_wire_t *w, char *err, size_t errlen)
{
	tok_t t;
	int rc, got;
	uint32_t v;

	switch (type) {
	case FG_TYPE_A:
	case FG_TYPE_AAAA: {
		char buf[64];
		uint8_t addr[16];
		bool v4 = type == FG_TYPE_A;
		if ((rc = need(next_tok(pp, &t), v4 ? "A" : "AAAA", err, errlen)))
			return rc;
		if (!tok_cstr(&t, buf, sizeof(buf)) ||
		    inet_pton(v4 ? AF_INET : AF_INET6, buf, addr) != 1)
			return fg_errf(err, errlen, -FG_ESYNTAX, "%s: invalid address '%.*s'",
				    v4 ? "A" : "AAAA", (int)t.len, t.s);
		fg_wire_write(w, addr, v4 ? 4 : 16);
		return 0;
	}
	case FG_TYPE_NS:
	case FG_TYPE_CNAME:
	case FG_TYPE_PTR: {
		const char *what = fg_rr_type_name(type);
		if ((rc = need(next_tok(pp, &t), what, err, errlen)))
			return rc;
		return write_name_tok(w, &t, origin, what, err, errlen);
	}
	case FG_TYPE_MX:
		if ((rc = need(next_tok(pp, &t), "MX preference", err, errlen)))
			return rc;
		if (!parse_u32(&t, 0xFFFF, &v))
			return fg_errf(err, errlen, -FG_ESYNTAX, "MX: invalid preference '%.*s'",
				    (int)t.len, t.s);
		fg_wire_write_u16(w, (uint16_t)v);
		if ((rc = need(next_tok(pp, &t), "MX exchange", err, errlen)))
			return rc;
		return write_name_tok(w, &t, origin, "MX", err, errlen);
	case FG_TYPE_SRV: {
		static const char *const f[3] = { "priority", "weight", "port" };
		for (int i = 0; i < 3; i++) {
			if ((rc = need(next_tok(pp, &t), "SRV", err, errlen)))
				return rc;
			if (!parse_u32(&t, 0xFFFF, &v))
				return fg_errf(err, errlen, -FG_ESYNTAX, "SRV: invalid %s '%.*s'",
					    f[i], (int)t.len, t.s);
			fg_wire_write_u16(w, (uint16_t)v);
		}
		if ((rc = need(next_tok(pp, &t), "SRV target", err, errlen)))
			return rc;
		return write_name_tok(w, &t, origin, "SRV", err, errlen);
	}
	case FG_TYPE_SOA: {
		static const char *const f[5] = { "serial", "refresh", "retry",
						  "expire", "minimum" };
		for (int i = 0; i < 2; i++) {
			if ((rc = need(next_tok(pp, &t), "SOA", err, errlen)))
				return rc;
			if ((rc = write_name_tok(w, &t, origin, "SOA", err, errlen)))
				return rc;
		}
		for (int i = 0; i < 5; i++) {
			if ((rc = need(next_tok(pp, &t), "SOA", err, errlen)))
				return rc;
			bool ok = i == 0 ? parse_u32(&t, 0xFFFFFFFFu, &v) : parse_ttl(&t, &v);
			if (!ok)
				return fg_errf(err, errlen, -FG_ESYNTAX, "SOA: invalid %s '%.*s'",
					    f[i], (int)t.len, t.s);
			fg_wire_write_u32(w, v);
		}
		return 0;
	}
	case FG_TYPE_TXT:
		got = 0;
		while ((rc = next_tok(pp, &t)) > 0) {
			if ((rc = txt_string(&t, w, err, errlen)))
				return rc;
			got++;
		}
		if (rc < 0)
			return need(rc, "TXT", err, errlen);
		if (!got)
			return fg_errf(err, errlen, -FG_ESYNTAX, "TXT: missing string");
		return 0;
	case FG_TYPE_DS: {
		/* key tag, algorithm, digest type, then the digest in hex
		 * (RFC 4034 5.3), which may be split by blanks */
		static const char *const f[3] = { "key tag", "algorithm", "digest type" };
		static const uint32_t max[3] = { 0xFFFF, 0xFF, 0xFF };
		uint32_t dt = 0;
		for (int i = 0; i < 3; i++) {
			if ((rc = need(next_tok(pp, &t), "DS", err, errlen)))
				return rc;
			if (!parse_u32(&t, max[i], &v))
				return fg_errf(err, errlen, -FG_ESYNTAX, "DS: invalid %s '%.*s'",
						   f[i], (int)t.len, t.s);
			if (i == 0)
				fg_wire_write_u16(w, (uint16_t)v);
			else
				fg_wire_write_u8(w, (uint8_t)v);
			dt = v;
		}
		size_t nhex = 0;
		unsigned hi = 0;
		while ((rc = next_tok(pp, &t)) > 0)
			for (size_t i = 0; i < t.len; i++) {
				char c = t.s[i];
				int d = c >= '0' && c <= '9' ? c - '0' :
					c >= 'a' && c <= 'f' ? c - 'a' + 10 :
					c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
				if (d < 0)
					return fg_errf(err, errlen, -FG_ESYNTAX,
							   "DS: digest is not hexadecimal");
				if (nhex++ & 1)
					fg_wire_write_u8(w, (uint8_t)(hi << 4 | (unsigned)d));
				else
					hi = (unsigned)d;
			}
		if (rc < 0)
			return need(rc, "DS", err, errlen);
		/* digest lengths of SHA-1, SHA-256, SHA-384 (RFC 3658, 4509, 6605) */
		size_t want = dt == 1 ? 40 : dt == 2 ? 64 : dt == 4 ? 96 : 0;
		if (!want)
			return fg_errf(err, errlen, -FG_ESYNTAX,
					   "DS: digest type %u (1, 2 or 4)", dt);
		if (nhex != want)
			return fg_errf(err, errlen, -FG_ESYNTAX,
					   "DS: digest of type %u has %zu hex digits, not %zu",
					   dt, nhex, want);
		return 0;
	}
	default:
		return fg_errf(err, errlen, -FG_ESYNTAX, "unsupported type");
	}
}

int fg_rr_parse(const char *text, const uint8_t *origin, fg_rr_text_t *rr,
		char *err, size_t errlen)
{
	const char *p = text;
	tok_t t;
	int rc;

	memset(rr, 0, sizeof(*rr));
	if (!text)
		return fg_errf(err, errlen, -EINVAL, "no record text");
	if ((rc = need(next_tok(&p, &t), "record owner", err, errlen)))
		return rc;
	rc = name_tok(&t, origin, rr->owner, "owner", err, errlen);
	if (rc < 0)
		return rc;
	rr->owner_len = (uint8_t)rc;

	bool has_class = false;
	for (;;) {
		if ((rc = need(next_tok(&p, &t), "record type", err, errlen)))
			return rc;
		if (!t.quoted && t.len && t.s[0] >= '0' && t.s[0] <= '9') {
			if (rr->has_ttl || !parse_ttl(&t, &rr->ttl))
				return fg_errf(err, errlen, -FG_ESYNTAX, "invalid TTL '%.*s'",
					    (int)t.len, t.s);
			rr->has_ttl = true;
			continue;
		}
		if (tok_is(&t, "IN") && !has_class) {
			has_class = true;
			continue;
		}
		if (tok_is(&t, "CH") || tok_is(&t, "HS") || tok_is(&t, "CS") ||
		    tok_is(&t, "ANY"))
			return fg_errf(err, errlen, -FG_ESYNTAX, "only class IN is supported");
		break;
	}
	for (size_t i = 0; i < sizeof(rr_types) / sizeof(rr_types[0]); i++)
		if (tok_is(&t, rr_types[i].name))
			rr->type = rr_types[i].type;
	if (!rr->type)
		return fg_errf(err, errlen, -FG_ESYNTAX,
			    "unsupported record type '%.*s' (A AAAA NS CNAME SOA PTR MX TXT SRV)",
			    (int)t.len, t.s);

	uint8_t *buf = malloc(65535);
	if (!buf)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	fg_wire_t w = fg_wire_init(buf, 65535);
	rc = parse_rdata(&p, origin, rr->type, &w, err, errlen);
	if (!rc && w.err)
		rc = fg_errf(err, errlen, -FG_ESYNTAX, "rdata too long");
	if (!rc && next_tok(&p, &t) != 0)
		rc = fg_errf(err, errlen, -FG_ESYNTAX, "%s: unexpected '%.*s' after rdata",
			  fg_rr_type_name(rr->type), (int)t.len, t.s);
	if (rc) {
		free(buf);
		return rc;
	}
	rr->rdlen = (uint16_t)w.pos;
	uint8_t *shrunk = realloc(buf, w.pos ? w.pos : 1);
	rr->rdata = shrunk ? shrunk : buf;
	return 0;
}
