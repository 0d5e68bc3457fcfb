/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "decoy/httpwire.h"

static void copy_clean(char *dst, size_t dstlen, const uint8_t *s, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : (char)s[i];
	dst[n] = '\0';
}

/* First CR LF in [p, end), or end. end points at the CR LF CR LF that ends
 * the head, so p[1] is always readable. */
static const uint8_t *line_end(const uint8_t *p, const uint8_t *end)
{
	while (p < end && !(p[0] == '\r' && p[1] == '\n'))
		p++;
	return p;
}

int fd_http_parse(const uint8_t *buf, size_t len, fd_http_req_t *req)
{
	const uint8_t *end = NULL;
	size_t lim = len < FD_HTTP_MAX_HEAD ? len : FD_HTTP_MAX_HEAD;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i + 3 < lim; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n') {
			end = buf + i;
			break;
		}
	if (!end)
		return len >= FD_HTTP_MAX_HEAD ? -FG_EMALF : -EAGAIN;
	req->head_len = (size_t)(end - buf) + 4;

	/* request line: METHOD SP TARGET SP VERSION, up to the first CR LF
	 * (a bare CR inside it makes it malformed) */
	const uint8_t *eol = line_end(buf, end);
	const uint8_t *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1 || sp1 == buf || sp1 - buf >= (long)sizeof(req->method))
		return -FG_EMALF;
	const uint8_t *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return -FG_EMALF;
	for (const uint8_t *p = buf; p < sp1; p++)
		if (*p < 'A' || *p > 'Z')
			return -FG_EMALF;
	if (eol - sp2 - 1 < 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0)
		return -FG_EMALF;
	for (const uint8_t *p = buf; p < eol; p++)
		if (*p == '\r' || *p == '\n')
			return -FG_EMALF;
	copy_clean(req->method, sizeof(req->method), buf, (size_t)(sp1 - buf));
	copy_clean(req->target, sizeof(req->target), sp1 + 1, (size_t)(sp2 - sp1 - 1));
	copy_clean(req->version, sizeof(req->version), sp2 + 1, (size_t)(eol - sp2 - 1));

	/* header fields: lines in [eol + 2, end), each up to its CR LF */
	for (const uint8_t *p = eol + 2; p < end;) {
		const uint8_t *le = line_end(p, end);
		const uint8_t *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			size_t kn = (size_t)(colon - p);
			const uint8_t *v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			size_t vn = (size_t)(le - v);
			if (kn == 10 && strncasecmp((const char *)p, "User-Agent", 10) == 0)
				copy_clean(req->user_agent, sizeof(req->user_agent), v, vn);
			else if (kn == 4 && strncasecmp((const char *)p, "Host", 4) == 0)
				copy_clean(req->host, sizeof(req->host), v, vn);
			else if (kn == 5 && strncasecmp((const char *)p, "Range", 5) == 0) {
				copy_clean(req->range, sizeof(req->range), v, vn);
				req->range_cut = vn >= sizeof(req->range);
			}
			else if (kn == 14 &&
				 strncasecmp((const char *)p, "Content-Length", 14) == 0) {
				uint64_t x = 0;
				for (size_t i = 0; i < vn && v[i] >= '0' && v[i] <= '9'; i++)
					x = x > UINT64_MAX / 20 ? UINT64_MAX : x * 10 + (v[i] - '0');
				req->content_length = x;
			}
		}
		p = le + 2;
	}
	return 0;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f';
}

/* A signed decimal at *p (blanks and one sign first) as strtoll reads it
 * and lighttpd takes it: 1 and *p past the digits, 0 when there are no
 * digits (*p unmoved), -1 when strtoll would saturate (LLONG_MAX or
 * LLONG_MIN, which lighttpd refuses) with *p past the digits. */
static int signed_num(const char **p, const char *e, bool *neg, uint64_t *v)
{
	const uint64_t lim = (uint64_t)INT64_MAX;
	const char *q = *p;
	bool sat = false;

	while (q < e && blank(*q))
		q++;
	*neg = false;
	if (q < e && (*q == '+' || *q == '-'))
		*neg = *q++ == '-';
	if (q == e || *q < '0' || *q > '9')
		return 0;
	for (*v = 0; q < e && *q >= '0' && *q <= '9'; q++) {
		uint64_t d = (uint64_t)(*q - '0');
		if (sat || *v > (lim + 1 - d) / 10)
			sat = true;
		else
			*v = *v * 10 + d;
	}
	*p = q;
	/* saturated: past 2^63; positive INT64_MAX is LLONG_MAX itself */
	return sat || (*neg ? *v > lim : *v >= lim) ? -1 : 1;
}

/* One element [p, e) of a byte-range-set against a non-empty file: "A-B",
 * "A-" or "-S", read as lighttpd reads it. Returns false when lighttpd
 * ignores it (malformed, or starting past the end). */
static bool range_spec(const char *p, const char *e, uint64_t size, uint64_t *f, uint64_t *l)
{
	uint64_t a, b;
	bool neg;

	if (signed_num(&p, e, &neg, &a) <= 0)
		return false;
	if (neg) {                      /* the last a bytes; "-0" is none */
		if (a == 0)
			return false;
		*f = a >= size ? 0 : size - a;
		*l = size - 1;
	} else {
		if (a >= size)
			return false;
		while (p < e && blank(*p))
			p++;
		if (p == e || *p++ != '-')
			return false;
		*f = a;
		const char *q = p;
		int k = signed_num(&q, e, &neg, &b);
		if (k == 0) {
			/* no digits: to the end; the blanks after are skipped */
			*l = size - 1;
		} else {
			if (k < 0 || neg || b < a)
				return false;
			*l = b < size ? b : size - 1;
			p = q;
		}
	}
	while (p < e && blank(*p))
		p++;
	return p == e;
}

/* true when [f1, l1] and [f2, l2] overlap or lie at most the merge gap
 * apart */
static bool near(uint64_t f1, uint64_t l1, uint64_t f2, uint64_t l2)
{
	return f1 <= f2 ? f2 <= l1 + FD_RANGE_MERGE_GAP : f1 <= l2 + FD_RANGE_MERGE_GAP;
}

int fd_http_ranges(const char *v, uint64_t size, fd_range_set_t *rs)
{
	rs->n = 0;
	if (strncasecmp(v, "bytes=", 6) != 0 || size == 0)
		return FD_RANGE_NONE;
	for (const char *p = v + 6; rs->n < FD_RANGE_MAX;) {
		const char *e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		uint64_t f, l;
		if (range_spec(p, e, size, &f, &l)) {
			rs->first[rs->n] = f;
			rs->last[rs->n++] = l;
		}
		if (!*e)
			break;
		p = e + 1;
	}
	if (rs->n == 0)
		return FD_RANGE_UNSATISFIABLE;
	/* merge a later range into an earlier one, then start over: at most
	 * FD_RANGE_MAX ranges, so the quadratic cost stays small */
	for (unsigned i = 0; i + 1 < rs->n; i++)
		for (unsigned j = i + 1; j < rs->n; j++) {
			if (!near(rs->first[i], rs->last[i], rs->first[j], rs->last[j]))
				continue;
			if (rs->first[j] < rs->first[i])
				rs->first[i] = rs->first[j];
			if (rs->last[j] > rs->last[i])
				rs->last[i] = rs->last[j];
			rs->n--;
			memmove(rs->first + j, rs->first + j + 1, (rs->n - j) * sizeof(rs->first[0]));
			memmove(rs->last + j, rs->last + j + 1, (rs->n - j) * sizeof(rs->last[0]));
			i = (unsigned)-1;       /* the outer loop's i++ makes it 0 */
			break;
		}
	return rs->n == 1 ? FD_RANGE_OK : FD_RANGE_MULTI;
}

int fd_http_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last)
{
	fd_range_set_t rs;
	int k = fd_http_ranges(v, size, &rs);

	if (k == FD_RANGE_OK) {
		*first = rs.first[0];
		*last = rs.last[0];
	}
	return k;
}

int fd_http_part_head(const char *boundary, const char *ctype, const fd_range_set_t *rs,
		      unsigned i, uint64_t size, char *out, size_t outlen)
{
	if (i >= rs->n)
		return -FG_EMALF;
	int w = snprintf(out, outlen, "%s--%s%s%s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
			 i ? "\r\n" : "", boundary, ctype[0] ? "\r\nContent-Type: " : "", ctype,
			 (unsigned long long)rs->first[i], (unsigned long long)rs->last[i],
			 (unsigned long long)size);
	return w < 0 || (size_t)w >= outlen ? -FG_ESPACE : w;
}

int fd_http_part_end(const char *boundary, char *out, size_t outlen)
{
	int w = snprintf(out, outlen, "\r\n--%s--\r\n", boundary);
	return w < 0 || (size_t)w >= outlen ? -FG_ESPACE : w;
}

uint64_t fd_http_multipart_length(const char *boundary, const char *ctype,
				  const fd_range_set_t *rs, uint64_t size)
{
	char b[512];
	uint64_t total = 0;

	for (unsigned i = 0; i < rs->n; i++) {
		int w = fd_http_part_head(boundary, ctype, rs, i, size, b, sizeof(b));
		if (w < 0)
			return 0;
		total += (uint64_t)w + rs->last[i] - rs->first[i] + 1;
	}
	int w = fd_http_part_end(boundary, b, sizeof(b));
	return w < 0 ? 0 : total + (uint64_t)w;
}

int fd_http_field(const char *head, const char *name, char *out, size_t outlen)
{
	const char *hend = strstr(head, "\r\n\r\n");
	size_t nl = strlen(name);

	if (!hend)
		hend = head + strlen(head);
	for (const char *p = strstr(head, "\r\n"); p && p < hend; p = strstr(p + 2, "\r\n")) {
		const char *q = p + 2;
		if ((size_t)(hend - q) <= nl || strncasecmp(q, name, nl) != 0 || q[nl] != ':')
			continue;
		q += nl + 1;
		const char *e = strstr(q, "\r\n");
		if (!e || e > hend)
			e = hend;
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - q) >= outlen)
			return -FG_ESPACE;
		memcpy(out, q, (size_t)(e - q));
		out[e - q] = '\0';
		return (int)(e - q);
	}
	return -ENOENT;
}

/* RFC 2046 5.1.1 bchars, without the space (a boundary that ends in one
 * is not allowed and lighttpd's has none) */
static bool bchar(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch && strchr("'()+_,-./:=?", ch));
}

int fd_http_boundary(const char *ctype, char out[71])
{
	if (strncasecmp(ctype, "multipart/byteranges", 20) != 0)
		return -FG_EMALF;
	for (const char *p = ctype + 20; (p = strchr(p, ';')) != NULL;) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		bool quoted = *p == '"';
		p += quoted;
		size_t n = 0;
		while (bchar(p[n]) && n < 71)
			n++;
		if (n == 0 || n > 70 || (quoted ? p[n] != '"' : p[n] && p[n] != ';' && p[n] != ' '))
			return -FG_EMALF;
		memcpy(out, p, n);
		out[n] = '\0';
		return (int)n;
	}
	return -FG_EMALF;
}

int fd_http_render_sized(const char *head, time_t now, uint64_t cl, const char *cr,
			 char *out, size_t outlen)
{
	const char *hend = strstr(head, "\r\n\r\n");
	size_t total = hend ? (size_t)(hend - head) + 4 : strlen(head);
	size_t o = 0;
	const char *p = head;
	char date[30];

	fd_http_date(now, date);
	while (p < head + total) {
		const char *le = strstr(p, "\r\n");
		size_t n = le ? (size_t)(le - p) + 2 : (size_t)(head + total - p);
		size_t room = outlen > o ? outlen - o : 0;
		int w = -2;
		if (p != head && n >= 5 && strncasecmp(p, "Date:", 5) == 0)
			w = snprintf(out + o, room, "%.5s %s\r\n", p, date);
		else if (p != head && n >= 15 && strncasecmp(p, "Content-Length:", 15) == 0)
			w = snprintf(out + o, room, "%.15s %llu\r\n", p, (unsigned long long)cl);
		else if (cr && p != head && n >= 14 && strncasecmp(p, "Content-Range:", 14) == 0)
			w = snprintf(out + o, room, "%.14s %s\r\n", p, cr);
		if (w == -2) {
			if (o + n > outlen)
				return -FG_ESPACE;
			memcpy(out + o, p, n);
			o += n;
		} else {
			if (w < 0 || (size_t)w >= room)
				return -FG_ESPACE;
			o += (size_t)w;
		}
		p += n;
	}
	return (int)o;
}

void fd_http_date(time_t t, char out[30])
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7],
		 tm.tm_mday, mo[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int fd_http_render(const char *resp, time_t now, int head_only, char *out,
		   size_t outlen)
{
	const char *hend = strstr(resp, "\r\n\r\n");
	size_t total = hend ? (size_t)(hend - resp) + 4 : strlen(resp);
	size_t body = head_only ? 0 : strlen(resp) - total;
	size_t o = 0;
	const char *p = resp;
	char date[30];

	fd_http_date(now, date);
	while (p < resp + total) {
		const char *le = strstr(p, "\r\n");
		size_t n = le ? (size_t)(le - p) + 2 : (size_t)(resp + total - p);
		if (n >= 5 && p != resp && strncasecmp(p, "Date:", 5) == 0) {
			int w = snprintf(out + o, outlen > o ? outlen - o : 0,
					 "%.5s %s\r\n", p, date);
			if (w < 0 || (size_t)w >= (outlen > o ? outlen - o : 0))
				return -FG_ESPACE;
			o += (size_t)w;
		} else {
			if (o + n > outlen)
				return -FG_ESPACE;
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o + body > outlen)
		return -FG_ESPACE;
	memcpy(out + o, resp + total, body);
	return (int)(o + body);
}

static bool conn_specific(const char *n, size_t len)
{
	static const char *const drop[] = { "connection", "keep-alive",
		"proxy-connection", "transfer-encoding", "upgrade" };

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strlen(drop[i]) == len && strncasecmp(n, drop[i], len) == 0)
			return true;
	return false;
}

int fd_h2_from_http1(char *resp, size_t len, unsigned *status, fd_h2_field_t *f,
		     size_t maxf, size_t *body_off)
{
	char *end = NULL;
	size_t nf = 0;

	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(resp + i, "\r\n\r\n", 4) == 0) {
			end = resp + i;
			break;
		}
	/* "HTTP/1.1 200" at least, three digits after the first space */
	char *sp = end ? memchr(resp, ' ', (size_t)(end - resp)) : NULL;
	if (!end || len < 5 || memcmp(resp, "HTTP/", 5) != 0 || !sp || end - sp < 4)
		return -FG_EMALF;
	unsigned st = 0;
	for (int i = 1; i <= 3; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return -FG_EMALF;
		st = st * 10 + (unsigned)(sp[i] - '0');
	}
	if (st < 100)
		return -FG_EMALF;
	*status = st;
	*body_off = (size_t)(end - resp) + 4;
	char *p = memchr(resp, '\r', (size_t)(end - resp));
	p = p ? p + 2 : end;
	while (p < end) {
		char *le = p;
		while (le < end && !(le[0] == '\r' && le[1] == '\n'))
			le++;
		char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon && colon > p && !conn_specific(p, (size_t)(colon - p))) {
			if (nf == maxf)
				return -FG_ESPACE;
			for (char *q = p; q < colon; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			char *v = colon + 1, *ve = le;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			f[nf++] = (fd_h2_field_t){ p, v, (size_t)(colon - p), (size_t)(ve - v) };
		}
		p = le + 2;
	}
	return (int)nf;
}

int fd_h2_settings_parse(const char *s, uint16_t *ids, uint32_t *vals, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return (int)n;
		uint64_t id = 0, v = 0;
		const char *p = s;
		while (*p >= '0' && *p <= '9' && id <= 0xffff)
			id = id * 10 + (uint64_t)(*p++ - '0');
		if (p == s || *p != ':' || id > 0xffff)
			return -FG_EMALF;
		s = ++p;
		while (*p >= '0' && *p <= '9' && v <= 0xffffffffu)
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (p == s || (*p && *p != ' ') || v > 0xffffffffu)
			return -FG_EMALF;
		if (n == max)
			return -FG_ESPACE;
		ids[n] = (uint16_t)id;
		vals[n] = (uint32_t)v;
		n++;
		s = p;
	}
}

static int alpn_index(const uint8_t *name, size_t len, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}

int fd_alpn_pick(const uint8_t *client, size_t clen, char *const *names, size_t n,
		 int client_order)
{
	int best = -1;

	for (size_t i = 0; i < clen;) {
		size_t l = client[i];
		if (l == 0 || i + 1 + l > clen)
			return -FG_EMALF;
		int k = alpn_index(client + i + 1, l, names, n);
		if (k >= 0 && client_order && best < 0)
			best = k;
		else if (k >= 0 && !client_order && (best < 0 || k < best))
			best = k;
		i += 1 + l;
	}
	return best;
}
