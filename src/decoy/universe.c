/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "decoy/universe.h"

static void mask(uint8_t *a, size_t n, unsigned plen)
{
	for (size_t i = 0; i < n; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * (unsigned)i : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

fd_universe_t fd_universe_of(const fd_universes_t *u, const fd_addr_t *src)
{
	fd_universe_t r;
	/* the PRF's message: "universe", length, prefix length, prefix */
	uint8_t msg[9 + 2 + 16] = "universe";
	size_t n = src->family == AF_INET ? 4 : 16;
	unsigned plen = n == 4 ? (u->prefix4 > 32 ? 32 : u->prefix4)
			       : (u->prefix6 > 128 ? 128 : u->prefix6);

	memset(&r, 0, sizeof(r));
	r.family = src->family;
	r.plen = (uint8_t)plen;
	memcpy(r.a, src->a, n);
	mask(r.a, n, plen);
	r.epoch = u->epoch;
	r.gen = u->gen;
	msg[9] = (uint8_t)n;
	msg[10] = (uint8_t)plen;
	memcpy(msg + 11, r.a, n);
	r.id = fd_shuffle_prf(u->key, msg, 11 + n);
	if (!r.id)
		r.id = 1;
	return r;
}

bool fd_universe_eq(const fd_universe_t *x, const fd_universe_t *y)
{
	return x->id == y->id && x->family == y->family && x->plen == y->plen &&
	       memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

void fd_universe_id_text(const fd_universe_t *u, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)u->id);
}

bool fd_addr_eq(const fd_addr_t *x, const fd_addr_t *y)
{
	return x->family == y->family && memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

bool fd_addr_from_sockaddr(const struct sockaddr_storage *ss, fd_addr_t *a,
			   uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
		a->family = AF_INET;
		memcpy(a->a, &v4->sin_addr, 4);
		if (port)
			*port = ntohs(v4->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->a, &v6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->a, &v6->sin6_addr, 16);
		}
		if (port)
			*port = ntohs(v6->sin6_port);
		return true;
	}
	return false;
}

void fd_universe_text(const fd_universe_t *u, char out[64])
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(u->family == AF_INET ? AF_INET : AF_INET6, u->a, ip, sizeof(ip));
	snprintf(out, 64, "%s/%u", ip, u->plen);
}

/* splitmix64 finaliser over 8-byte words, seeded by the key */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t fd_hash(uint64_t key, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = mix(key ^ (uint64_t)len);

	while (len) {
		uint64_t w = 0;
		size_t n = len < 8 ? len : 8;
		memcpy(&w, p, n);
		h = mix(h ^ w ^ key);
		p += n;
		len -= n;
	}
	return h;
}
