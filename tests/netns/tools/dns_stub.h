/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A deliberately tiny, independent DNS stub codec for the test and bench
 * clients (gba_client.c, bench/grant/grant_lat.c): they judge fluxgated's
 * answers, so they must not reuse the daemon's own codec. Header-only;
 * bounds-checked reads; no compression on output.
 */
#ifndef FG_TESTS_DNS_STUB_H
#define FG_TESTS_DNS_STUB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Write a query (RD set, one question, class IN) into buf (>= 300 octets).
 * Returns its length. */
static inline size_t dns_stub_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype)
{
	size_t n = 0;
	buf[n++] = (uint8_t)(id >> 8);
	buf[n++] = (uint8_t)id;
	buf[n++] = 0x01;                 /* RD */
	buf[n++] = 0x00;
	buf[n++] = 0;
	buf[n++] = 1;                    /* QDCOUNT */
	memset(buf + n, 0, 6);
	n += 6;
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63)
			break;
		buf[n++] = (uint8_t)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = (uint8_t)(qtype >> 8);
	buf[n++] = (uint8_t)qtype;
	buf[n++] = 0;
	buf[n++] = 1;                    /* IN */
	return n;
}

/* Skip a (possibly compressed) name; the new offset, or 0 when malformed. */
static inline size_t dns_stub_skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = m[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xc0)
			return 0;
		off += 1u + l;
	}
	return 0;
}

/* First answer record of type qtype in a NOERROR response: sets *rdata and
 * returns its length, or -1 (error rcode, malformed, none). */
static inline int dns_stub_find(const uint8_t *m, size_t len, uint16_t qtype,
				const uint8_t **rdata)
{
	if (len < 12 || !(m[2] & 0x80) || (m[3] & 0x0f))
		return -1;
	unsigned qd = (unsigned)(m[4] << 8 | m[5]), an = (unsigned)(m[6] << 8 | m[7]);
	size_t off = 12;
	for (unsigned i = 0; i < qd; i++) {
		off = dns_stub_skip_name(m, len, off);
		if (!off || off + 4 > len)
			return -1;
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		off = dns_stub_skip_name(m, len, off);
		if (!off || off + 10 > len)
			return -1;
		uint16_t type = (uint16_t)(m[off] << 8 | m[off + 1]);
		uint16_t rdlen = (uint16_t)(m[off + 8] << 8 | m[off + 9]);
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (type == qtype) {
			*rdata = m + off;
			return rdlen;
		}
		off += rdlen;
	}
	return -1;
}

#endif
