/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Addresses and attacker universes (Potemkin's causal address aliasing):
 * the part of the world one attacker sees as a whole, within which
 * fluxdecoy keeps what it shows stable. A universe is a source prefix
 * (`shuffle.universe-prefix4`, default /32, and `universe-prefix6`, default
 * /64: one site's hosts usually share it) within one epoch of the shuffle:
 * for the whole epoch one attacker sees the same persona and (with
 * high-interaction backends) the same backend at the same address, and
 * what its backends send out is attributed to it. The next epoch (or a
 * forced shuffle) is a new universe, so bindings do not outlive the deal.
 *
 * fd_universe_of() is the one definition: high-interaction bindings, the
 * flash clones' owners, reflection and events key on the universe it
 * returns, never on the source itself. Its id is a keyed hash of the
 * masked source under the epoch key, so ids cannot be predicted or aimed
 * at one another.
 *
 * Pure: no I/O, no globals. Values only; fd_universes_t holds a copy of
 * the epoch key (its owner cleanses it).
 */
#ifndef FG_DECOY_UNIVERSE_H
#define FG_DECOY_UNIVERSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "decoy/shuffle.h"

typedef struct fd_addr {
	uint8_t family;       /* AF_INET (a[0..3]) or AF_INET6; rest zero */
	uint8_t a[16];        /* network order */
} fd_addr_t;

/* The rule of one epoch: how sources are grouped, and its key. */
typedef struct fd_universes {
	uint8_t key[FD_SHUFFLE_KEYLEN];   /* the epoch key (fd_shuffle_epoch_key) */
	uint64_t epoch;                    /* epoch number, for events */
	uint64_t gen;                      /* forced shuffles within it */
	unsigned prefix4, prefix6;         /* source prefix lengths of a universe */
} fd_universes_t;

typedef struct fd_universe {
	uint64_t id;          /* never 0; the same source in another epoch or
			       * generation has another id */
	uint64_t epoch, gen;
	uint8_t family;
	uint8_t plen;         /* bits of a[] that count; the rest are zero */
	uint8_t a[16];        /* the source prefix */
} fd_universe_t;

/* The universe of source `src` under the epoch's rule `u`. */
fd_universe_t fd_universe_of(const fd_universes_t *u, const fd_addr_t *src);

bool fd_universe_eq(const fd_universe_t *x, const fd_universe_t *y);
bool fd_addr_eq(const fd_addr_t *x, const fd_addr_t *y);

/* A socket address as fd_addr_t and port (IPv4-mapped IPv6 as IPv4).
 * Returns false for another family. */
bool fd_addr_from_sockaddr(const struct sockaddr_storage *ss, fd_addr_t *a,
			   uint16_t *port);

/* The id as events write it: 16 hex digits. */
void fd_universe_id_text(const fd_universe_t *u, char out[17]);

/* Its source prefix, "10.0.3.1/32", "2001:db8::/64" (out: 64 bytes). */
void fd_universe_text(const fd_universe_t *u, char out[64]);

/* A keyed 64-bit mix of `len` bytes (hash tables: the key is random per
 * process, so that an attacker cannot aim at one chain). */
uint64_t fd_hash(uint64_t key, const void *data, size_t len);

#endif
