/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS names: wire decoding with compression, presentation <-> wire, case
 * folding, comparisons and hashing. Pure; no allocation.
 */
#include "dns/internal.h"

#include <errno.h>
#include <string.h>

int fg_dns_wire_name(fg_wire_t *w, uint8_t out[FG_DNS_MAXNAME])
{
	/* `r` walks the name, jumping on pointers; `w` only advances past the
	 * part that sits in place (up to and including the first pointer). */
	fg_wire_t r = *w;
	size_t seg_start = r.pos;   /* where the current run of labels began */
	size_t end = 0;
	bool jumped = false;
	size_t olen = 0;

	if (w->err)
		return w->err;
	for (;;) {
		uint8_t b = fg_wire_read_u8(&r);
		if (r.err) {
			fg_wire_fail(w, r.err);
			return w->err;
		}
		if (b == 0) {
			out[olen++] = 0;  /* room was kept by the label check */
			break;
		}
		if ((b & 0xC0) == 0xC0) {
			uint8_t lo = fg_wire_read_u8(&r);
			if (r.err) {
				fg_wire_fail(w, r.err);
				return w->err;
			}
			size_t target = ((size_t)(b & 0x3F) << 8) | lo;
			if (!jumped) {
				end = r.pos;
				jumped = true;
			}
			/* Strictly backwards from the start of the run we are
			 * in: offsets strictly decrease, so no loop is possible
			 * and out-of-packet targets (>= pos) are caught too. A
			 * name never starts inside the 12-octet header. */
			if (target >= seg_start || target < FG_DNS_HDRLEN) {
				fg_wire_fail(w, -FG_EPTR);
				return w->err;
			}
			r.pos = seg_start = target;
			continue;
		}
		if (b > FG_DNS_MAXLABEL) {
			/* 0x40/0x80 label types (RFC 6891 obsoleted the only
			 * one ever defined): a length we cannot accept */
			fg_wire_fail(w, -FG_ELABEL);
			return w->err;
		}
		/* label + its length octet + the root label still to come */
		if (olen + 1u + b + 1u > FG_DNS_MAXNAME) {
			fg_wire_fail(w, -FG_ENAME);
			return w->err;
		}
		const uint8_t *lab = fg_wire_take(&r, b, -FG_ETRUNC);
		if (!lab) {
			fg_wire_fail(w, r.err);
			return w->err;
		}
		out[olen] = b;
		memcpy(out + olen + 1, lab, b);
		olen += 1u + b;
	}
	w->pos = jumped ? end : r.pos;
	return (int)olen;
}

size_t fg_dns_name_len(const uint8_t *name)
{
	size_t p = 0;
	while (p < FG_DNS_MAXNAME && name[p])
		p += name[p] + 1u;
	return p + 1;
}

bool fg_dns_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t n = *a;
		if (n == 0)
			return true;
		a++;
		b++;
		for (uint8_t i = 0; i < n; i++)
			if (fg_dns_lc(a[i]) != fg_dns_lc(b[i]))
				return false;
		a += n;
		b += n;
	}
}

bool fg_dns_name_in(const uint8_t *name, const uint8_t *parent)
{
	size_t nl = fg_dns_name_len(name), pl = fg_dns_name_len(parent);
	if (pl > nl)
		return false;
	/* compare only at label boundaries, else "xexample.test" would match */
	size_t p = 0;
	while (nl - p > pl)
		p += name[p] + 1u;
	return nl - p == pl && fg_dns_name_eq(name + p, parent);
}

unsigned fg_dns_name_offsets(const uint8_t *name, uint8_t offs[FG_DNS_MAXLABELS])
{
	unsigned n = 0;
	size_t p = 0;
	for (;;) {
		offs[n++] = (uint8_t)p;
		if (name[p] == 0 || n == FG_DNS_MAXLABELS)
			return n;
		p += name[p] + 1u;
	}
}

uint32_t fg_dns_name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h;
}

size_t fg_dns_name_copy_lower(uint8_t out[FG_DNS_MAXNAME], const uint8_t *name)
{
	size_t len = fg_dns_name_len(name);
	memcpy(out, name, len);
	fg_dns_name_lower(out);
	return len;
}

void fg_dns_name_lower(uint8_t *name)
{
	size_t p = 0;
	while (p < FG_DNS_MAXNAME && name[p]) {
		uint8_t n = name[p];
		/* length octets are skipped: 'A' (0x41) is not a length we
		 * accept, but a label of 65 octets must not become 97 */
		for (size_t i = p + 1; i <= p + n && i < FG_DNS_MAXNAME; i++)
			name[i] = fg_dns_lc(name[i]);
		p += n + 1u;
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int fg_dns_name_from_text(const char *text, const uint8_t *origin,
			  uint8_t out[FG_DNS_MAXNAME])
{
	static const uint8_t root[1] = { 0 };

	if (!text || !*text)
		return -FG_ESYNTAX;
	if (strcmp(text, "@") == 0) {
		if (!origin)
			return -FG_ESYNTAX;
		size_t ol = fg_dns_name_len(origin);
		memmove(out, origin, ol);
		return (int)ol;
	}
	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	/* Without an origin every name is taken as absolute: callers that
	 * hold names from the config ("app.example.test") need no dot. */
	if (!origin)
		origin = root;

	size_t pos = 1, lab = 0;    /* out[lab] is the current length octet */
	unsigned llen = 0;
	bool absolute = false;
	const char *p = text;
	while (*p) {
		uint8_t c;
		if (*p == '.') {
			if (llen == 0)
				return -FG_ESYNTAX;     /* empty label */
			out[lab] = (uint8_t)llen;
			p++;
			if (*p == '\0') {
				absolute = true;
				break;
			}
			/* a new label needs its length octet, one octet and
			 * still the root label: 3 more octets within 255 */
			if (pos + 3 > FG_DNS_MAXNAME)
				return -FG_ENAME;
			lab = pos++;
			llen = 0;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (is_digit(p[0])) {
				if (!is_digit(p[1]) || !is_digit(p[2]))
					return -FG_ESYNTAX;
				int v = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
				if (v > 255)
					return -FG_ESYNTAX;
				c = (uint8_t)v;
				p += 3;
			} else if (*p == '\0') {
				return -FG_ESYNTAX;
			} else {
				c = (uint8_t)*p++;
			}
		} else {
			c = (uint8_t)*p++;
		}
		if (llen == FG_DNS_MAXLABEL)
			return -FG_ELABEL;
		if (pos + 2 > FG_DNS_MAXNAME)   /* keep room for the root */
			return -FG_ENAME;
		out[pos++] = c;
		llen++;
	}
	if (!absolute)
		out[lab] = (uint8_t)llen;
	if (absolute) {
		out[pos++] = 0;
		return (int)pos;
	}
	size_t ol = fg_dns_name_len(origin);
	if (pos + ol > FG_DNS_MAXNAME)
		return -FG_ENAME;
	memcpy(out + pos, origin, ol);
	return (int)(pos + ol);
}

int fg_dns_name_to_text(const uint8_t *name, char *out, size_t cap)
{
	size_t o = 0, p = 0;

#define PUT(ch) do { if (o + 1 >= cap) return -FG_ESPACE; out[o++] = (char)(ch); } while (0)
	if (!cap)
		return -FG_ESPACE;
	if (name[0] == 0) {
		PUT('.');
		out[o] = '\0';
		return (int)o;
	}
	while (name[p]) {
		uint8_t n = name[p];
		if (n > FG_DNS_MAXLABEL || p + n + 1 >= FG_DNS_MAXNAME)
			return -FG_EMALF;
		for (size_t i = p + 1; i <= p + n; i++) {
			uint8_t c = name[i];
			if (c <= 0x20 || c >= 0x7f) {
				PUT('\\');
				PUT('0' + c / 100);
				PUT('0' + (c / 10) % 10);
				PUT('0' + c % 10);
			} else if (c == '.' || c == '\\' || c == '"' || c == '(' ||
				   c == ')' || c == ';' || c == '@' || c == '$') {
				PUT('\\');
				PUT(c);
			} else {
				PUT(c);
			}
		}
		PUT('.');
		p += n + 1u;
	}
#undef PUT
	out[o] = '\0';
	return (int)o;
}
