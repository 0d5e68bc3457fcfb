/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <netinet/in.h>
#include <string.h>

#include "decoy/epochid.h"

static void mask(uint8_t *a, size_t n, unsigned plen)
{
	for (size_t i = 0; i < n; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * (unsigned)i : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

uint64_t fd_epochid_of(const fd_epochid_t *u, const struct sockaddr_storage *src)
{
	/* message: "universe", family, prefix length, masked address */
	uint8_t msg[9 + 2 + 16] = "universe";
	size_t n;
	uint8_t *a = msg + 11;

	if (src->ss_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)src)->sin_addr, 4);
		n = 4;
	} else if (src->ss_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)src)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			memcpy(a, &v6->s6_addr[12], 4);
			n = 4;
		} else {
			memcpy(a, v6, 16);
			n = 16;
		}
	} else {
		n = 0;
	}
	unsigned plen = n == 4 ? (u->prefix4 > 32 ? 32 : u->prefix4)
			       : (u->prefix6 > 128 ? 128 : u->prefix6);
	msg[9] = (uint8_t)n;
	msg[10] = (uint8_t)plen;
	mask(a, n, plen);
	uint64_t id = fd_shuffle_prf(u->key, msg, 11 + n);
	return id ? id : 1;
}
