/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "decoy/universe.h"

fd_universe_t fd_universe_of(const fd_addr_t *src)
{
	fd_universe_t u;

	memset(&u, 0, sizeof(u));
	u.family = src->family;
	if (src->family == AF_INET) {
		u.plen = 32;
		memcpy(u.a, src->a, 4);
	} else {
		u.plen = 64;
		memcpy(u.a, src->a, 8);
	}
	return u;
}

bool fd_universe_eq(const fd_universe_t *x, const fd_universe_t *y)
{
	return x->family == y->family && x->plen == y->plen &&
	       memcmp(x->a, y->a, sizeof(x->a)) == 0;
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
