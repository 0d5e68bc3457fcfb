/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Addresses and attacker universes (Potemkin's causal address aliasing):
 * the part of the world one attacker sees as a whole. Everything fluxdecoy
 * keeps per attacker (high-interaction bindings) is keyed by the universe
 * of the flow's source, never by the source itself, so that the rule that
 * groups sources lives in one place.
 *
 * fd_universe_of() is the default grouping, the source's /32 (IPv4) or
 * /64 (IPv6: one site's hosts usually share it); the epoch shuffle
 * (universes per epoch) replaces this one function.
 *
 * Pure: no I/O, no globals. Values only, no ownership.
 */
#ifndef FG_DECOY_UNIVERSE_H
#define FG_DECOY_UNIVERSE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct fd_addr {
	uint8_t family;       /* AF_INET (a[0..3]) or AF_INET6; rest zero */
	uint8_t a[16];        /* network order */
} fd_addr_t;

typedef struct fd_universe {
	uint8_t family;
	uint8_t plen;         /* bits of a[] that count; the rest are zero */
	uint8_t a[16];
} fd_universe_t;

/* The universe a source belongs to. */
fd_universe_t fd_universe_of(const fd_addr_t *src);

bool fd_universe_eq(const fd_universe_t *x, const fd_universe_t *y);
bool fd_addr_eq(const fd_addr_t *x, const fd_addr_t *y);

/* A socket address as fd_addr_t and port (IPv4-mapped IPv6 as IPv4).
 * Returns false for another family. */
bool fd_addr_from_sockaddr(const struct sockaddr_storage *ss, fd_addr_t *a,
			   uint16_t *port);

/* Text of a universe, "10.0.3.1/32", "2001:db8::/64" (out: 64 bytes). */
void fd_universe_text(const fd_universe_t *u, char out[64]);

/* A keyed 64-bit mix of `len` bytes (hash tables: the key is random per
 * process, so that an attacker cannot aim at one chain). */
uint64_t fd_hash(uint64_t key, const void *data, size_t len);

#endif
