/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "decoy/nmapprobes.h"

/* One line of the buffer: [p, e). */
typedef struct span {
	const char *p, *e;
} span_t;

static bool starts(span_t l, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(l.e - l.p) >= n && memcmp(l.p, w, n) == 0;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The payload of `q<d>...<d>` at s (s.p at the 'q'), nmap's escapes: \\0
 * \\a \\b \\f \\n \\r \\t \\v \\xHH, and a backslash before any other
 * character (the delimiter, a backslash) stands for that character. */
static int payload(span_t s, fd_nmap_probe_t *pr, const char **why)
{
	const char *p = s.p;

	if (p >= s.e || *p != 'q' || p + 1 >= s.e) {
		*why = "expected q|...|";
		return -FG_ESYNTAX;
	}
	char d = p[1];
	p += 2;
	pr->n = 0;
	for (;;) {
		if (p >= s.e) {
			*why = "no closing delimiter";
			return -FG_ESYNTAX;
		}
		char c = *p++;
		if (c == d)
			return 0;
		uint8_t b = (uint8_t)c;
		if (c == '\\') {
			if (p >= s.e) {
				*why = "a backslash at the end";
				return -FG_ESYNTAX;
			}
			c = *p++;
			switch (c) {
			case '0': b = 0; break;
			case 'a': b = 7; break;
			case 'b': b = 8; break;
			case 'f': b = 12; break;
			case 'n': b = 10; break;
			case 'r': b = 13; break;
			case 't': b = 9; break;
			case 'v': b = 11; break;
			case 'x': {
				int hi = p < s.e ? hexv(p[0]) : -1;
				int lo = p + 1 < s.e ? hexv(p[1]) : -1;
				if (hi < 0 || lo < 0) {
					*why = "\\x without two hex digits";
					return -FG_ESYNTAX;
				}
				b = (uint8_t)(hi << 4 | lo);
				p += 2;
				break;
			}
			default:
				b = (uint8_t)c;
			}
		}
		if (pr->n >= sizeof(pr->q)) {
			*why = "a payload over 1232 octets";
			return -FG_ESYNTAX;
		}
		pr->q[pr->n++] = b;
	}
}

/* Whether the list of a `ports` line ("53,1000-1010") holds port. */
static int ports_has(span_t s, unsigned port, bool *has, const char **why)
{
	const char *p = s.p;

	while (p < s.e && *p == ' ')
		p++;
	while (p < s.e) {
		unsigned a = 0, b;
		int nd = 0;
		while (p < s.e && *p >= '0' && *p <= '9' && nd < 6) {
			a = a * 10 + (unsigned)(*p++ - '0');
			nd++;
		}
		if (!nd || a > 65535) {
			*why = "a bad port list";
			return -FG_ESYNTAX;
		}
		b = a;
		if (p < s.e && *p == '-') {
			p++;
			b = 0;
			nd = 0;
			while (p < s.e && *p >= '0' && *p <= '9' && nd < 6) {
				b = b * 10 + (unsigned)(*p++ - '0');
				nd++;
			}
			if (!nd || b > 65535 || b < a) {
				*why = "a bad port range";
				return -FG_ESYNTAX;
			}
		}
		if (port >= a && port <= b)
			*has = true;
		if (p < s.e && *p == ',') {
			p++;
			continue;
		}
		while (p < s.e && (*p == ' ' || *p == '\r'))
			p++;
		if (p < s.e) {
			*why = "a bad port list";
			return -FG_ESYNTAX;
		}
	}
	return 0;
}

int fd_nmap_udp_probes(const char *text, size_t len, unsigned port,
		       fd_nmap_probe_t *out, size_t max, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	size_t n = 0;
	int line = 0;
	bool udp = false, has = false;
	fd_nmap_probe_t cur;

	while (p < end) {
		span_t l = { p, memchr(p, '\n', (size_t)(end - p)) };
		if (!l.e)
			l.e = end;
		p = l.e < end ? l.e + 1 : end;
		line++;
		const char *why = NULL;
		if (starts(l, "Probe ")) {
			if (udp && has && n < max)
				out[n++] = cur;
			udp = starts(l, "Probe UDP ");
			has = false;
			if (!udp)
				continue;
			span_t r = { l.p + 10, l.e };
			const char *sp = memchr(r.p, ' ', (size_t)(r.e - r.p));
			if (!sp || sp == r.p) {
				why = "expected Probe UDP NAME q|...|";
			} else {
				memset(&cur, 0, sizeof(cur));
				size_t nl = (size_t)(sp - r.p);
				if (nl >= sizeof(cur.name))
					nl = sizeof(cur.name) - 1;
				memcpy(cur.name, r.p, nl);
				cur.line = line;
				(void)payload((span_t){ sp + 1, r.e }, &cur, &why);
			}
		} else if (udp && (starts(l, "ports ") || starts(l, "sslports "))) {
			const char *sp = memchr(l.p, ' ', (size_t)(l.e - l.p));
			(void)ports_has((span_t){ sp + 1, l.e }, port, &has, &why);
		}
		if (why)
			return fg_errf(err, errlen, -FG_ESYNTAX, "line %d: %s", line, why);
	}
	if (udp && has && n < max)
		out[n++] = cur;
	return (int)n;
}
