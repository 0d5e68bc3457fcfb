/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session openings from a pcap trace (see pcap.h). */
#include "lab/pcap.h"

#include "common/err.h"
#include "common/wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN_MAX (256u * 1024u)

/* source addresses seen so far: open addressing on 16-byte keys */
typedef struct srcmap {
	uint8_t (*key)[17];   /* [0] = used, then the address (IPv4 mapped) */
	uint32_t *idx;
	size_t cap, n;
} srcmap_t;

static uint64_t hash16(const uint8_t *k)
{
	uint64_t h = 1469598103934665603ull;
	for (int i = 0; i < 16; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h;
}

static int src_index(srcmap_t *m, const uint8_t addr[16], uint32_t *out)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 1024;
		uint8_t (*nk)[17] = calloc(nc, sizeof *nk);
		uint32_t *ni = calloc(nc, sizeof *ni);
		if (!nk || !ni) {
			free(nk);
			free(ni);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->key[i][0])
				continue;
			size_t j = hash16(m->key[i] + 1) & (nc - 1);
			while (nk[j][0])
				j = (j + 1) & (nc - 1);
			memcpy(nk[j], m->key[i], 17);
			ni[j] = m->idx[i];
		}
		free(m->key);
		free(m->idx);
		m->key = nk;
		m->idx = ni;
		m->cap = nc;
	}
	size_t j = hash16(addr) & (m->cap - 1);
	while (m->key[j][0]) {
		if (!memcmp(m->key[j] + 1, addr, 16)) {
			*out = m->idx[j];
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->key[j][0] = 1;
	memcpy(m->key[j] + 1, addr, 16);
	m->idx[j] = (uint32_t)m->n;
	*out = (uint32_t)m->n++;
	return 0;
}

/* A TCP opening in an IP packet at p (n captured bytes): true with the
 * source (IPv4 mapped into ::ffff:0:0/96) and the destination port. */
static bool tcp_opening(const uint8_t *p, size_t n, uint8_t src[16], uint16_t *dport)
{
	fg_wire_t w = fg_wire_init(p, n);
	uint8_t v = n ? p[0] >> 4 : 0;
	size_t l4;
	uint8_t proto;
	if (v == 4) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		if (ihl < 20 || n < ihl)
			return false;
		uint16_t frag = (uint16_t)(p[6] << 8 | p[7]);
		if (frag & 0x1fff)   /* a later fragment has no TCP header */
			return false;
		proto = p[9];
		memset(src, 0, 10);
		src[10] = src[11] = 0xff;
		memcpy(src + 12, p + 12, 4);
		l4 = ihl;
	} else if (v == 6) {
		if (n < 40)
			return false;
		proto = p[6];   /* extension headers are not followed: rare on a SYN */
		memcpy(src, p + 8, 16);
		l4 = 40;
	} else {
		return false;
	}
	if (proto != 6)
		return false;
	fg_wire_skip(&w, l4);
	fg_wire_skip(&w, 2);
	uint16_t dp = fg_wire_read_u16(&w);
	fg_wire_skip(&w, 9);
	uint8_t flags = fg_wire_read_u8(&w);
	if (w.err)
		return false;
	*dport = dp;
	return (flags & 0x12) == 0x02;   /* SYN, no ACK */
}

/* The IP packet inside a link-layer frame, or NULL */
static const uint8_t *link_payload(uint32_t linktype, const uint8_t *f, size_t n, size_t *out_n)
{
	size_t off;
	switch (linktype) {
	case 0: {   /* BSD loopback: 4-byte address family in host order */
		off = 4;
		break;
	}
	case 1: {   /* Ethernet, with up to two 802.1Q/802.1ad tags */
		off = 14;
		if (n < off)
			return NULL;
		uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
		for (int tags = 0; (et == 0x8100 || et == 0x88a8) && tags < 2; tags++) {
			if (n < off + 4)
				return NULL;
			et = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
			off += 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return NULL;
		break;
	}
	case 101: case 228: case 229:   /* raw IP, raw IPv4, raw IPv6 */
		off = 0;
		break;
	case 113:   /* Linux cooked capture v1 */
		off = 16;
		break;
	default:
		return NULL;
	}
	if (n < off)
		return NULL;
	*out_n = n - off;
	return f + off;
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return swap ? __builtin_bswap32(v) : v;
}

int lab_pcap_parse(const uint8_t *buf, size_t len, lab_pcap_t *out, char *msg, size_t msglen)
{
	memset(out, 0, sizeof *out);
	if (len < 24) {
		snprintf(msg, msglen, "not a pcap file: %zu bytes, a header has 24", len);
		return -EINVAL;
	}
	uint32_t magic = rd32(buf, false);
	bool swap, nano;
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
		swap = false;
		nano = magic == 0xa1b23c4d;
	} else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
		swap = true;
		nano = magic == 0x4d3cb2a1;
	} else {
		snprintf(msg, msglen, "not a pcap file: magic 0x%08x (pcapng is not read: convert it with "
				      "editcap -F pcap)", magic);
		return -EINVAL;
	}
	uint32_t snaplen = rd32(buf + 16, swap), linktype = rd32(buf + 20, swap) & 0x0fffffff;
	if (snaplen > SNAPLEN_MAX) {
		snprintf(msg, msglen, "offset 16: snaplen %u over %u", snaplen, SNAPLEN_MAX);
		return -EINVAL;
	}
	srcmap_t m = { 0 };
	size_t cap = 0, off = 24;
	double first = -1;
	int rc = 0;
	while (off < len) {
		if (len - off < 16) {
			snprintf(msg, msglen, "offset %zu: a record header cut short (%zu of 16 bytes)", off, len - off);
			rc = -EINVAL;
			break;
		}
		uint32_t sec = rd32(buf + off, swap), frac = rd32(buf + off + 4, swap);
		uint32_t incl = rd32(buf + off + 8, swap);
		if (incl > snaplen || incl > SNAPLEN_MAX || len - off - 16 < incl) {
			snprintf(msg, msglen, "offset %zu: record length %u runs past the %s", off, incl,
				 incl > snaplen ? "snaplen" : "end of the file");
			rc = -EINVAL;
			break;
		}
		if (frac >= (nano ? 1000000000u : 1000000u)) {
			snprintf(msg, msglen, "offset %zu: fraction of a second %u out of range", off, frac);
			rc = -EINVAL;
			break;
		}
		const uint8_t *f = buf + off + 16;
		off += 16 + (size_t)incl;
		out->packets++;
		size_t ipn;
		const uint8_t *ip = link_payload(linktype, f, incl, &ipn);
		uint8_t src[16];
		uint16_t dport;
		if (!ip || !tcp_opening(ip, ipn, src, &dport)) {
			out->skipped++;
			continue;
		}
		if (out->nstarts == LAB_PCAP_MAX_STARTS) {
			out->skipped++;
			continue;
		}
		double t = sec + frac / (nano ? 1e9 : 1e6);
		if (first < 0)
			first = t;
		if (out->nstarts == cap) {
			size_t nc = cap ? cap * 2 : 256;
			lab_pcap_start_t *ns = realloc(out->starts, nc * sizeof *ns);
			if (!ns) {
				rc = -ENOMEM;
				break;
			}
			out->starts = ns;
			cap = nc;
		}
		uint32_t si;
		if ((rc = src_index(&m, src, &si)) < 0)
			break;
		/* a trace out of time order (merged captures) keeps its order;
		 * negative offsets are clamped to the first opening */
		double rel = t - first < 0 ? 0 : t - first;
		out->starts[out->nstarts++] = (lab_pcap_start_t){ rel, si, dport };
		if (rel > out->span)
			out->span = rel;
	}
	out->nsources = m.n;
	free(m.key);
	free(m.idx);
	if (rc < 0)
		lab_pcap_free(out);
	return rc;
}

void lab_pcap_free(lab_pcap_t *p)
{
	free(p->starts);
	memset(p, 0, sizeof *p);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

size_t lab_pcap_write(uint8_t *buf, size_t cap, const lab_pcap_start_t *starts, size_t n, uint64_t t0_ns)
{
	size_t need = 24 + n * 56;
	if (cap < need)
		return 0;
	wr32(buf, 0xa1b23c4d);      /* nanosecond resolution */
	buf[4] = 2; buf[5] = 0;     /* version 2.4 */
	buf[6] = 4; buf[7] = 0;
	memset(buf + 8, 0, 8);
	wr32(buf + 16, 65535);
	wr32(buf + 20, 101);        /* raw IP */
	uint8_t *p = buf + 24;
	for (size_t i = 0; i < n; i++, p += 56) {
		uint64_t t = t0_ns + (uint64_t)(starts[i].t * 1e9);
		wr32(p, (uint32_t)(t / 1000000000u));
		wr32(p + 4, (uint32_t)(t % 1000000000u));
		wr32(p + 8, 40);
		wr32(p + 12, 40);
		uint8_t *ip = p + 16;
		memset(ip, 0, 40);
		ip[0] = 0x45;
		ip[3] = 40;
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 10;
		ip[13] = 1;
		ip[14] = (uint8_t)(starts[i].src >> 8);
		ip[15] = (uint8_t)starts[i].src;
		ip[16] = 198; ip[17] = 51; ip[18] = 100; ip[19] = 1;
		uint32_t sum = 0;
		for (int k = 0; k < 20; k += 2)
			sum += (uint32_t)(ip[k] << 8 | ip[k + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		ip[10] = (uint8_t)(~sum >> 8);
		ip[11] = (uint8_t)~sum;
		uint8_t *t4 = ip + 20;
		uint16_t sport = (uint16_t)(32768 + i % 28000);
		t4[0] = (uint8_t)(sport >> 8); t4[1] = (uint8_t)sport;
		t4[2] = (uint8_t)(starts[i].dport >> 8); t4[3] = (uint8_t)starts[i].dport;
		t4[12] = 5 << 4;
		t4[13] = 0x02;
		t4[14] = 0xff; t4[15] = 0xff;
	}
	return need;
}
