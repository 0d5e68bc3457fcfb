/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Attacker universes (Potemkin): the unit within which fluxdecoy keeps the
 * world it shows stable. A universe is a source prefix (`shuffle.universe-
 * prefix4`, default /32, and `universe-prefix6`, default /64) within one
 * epoch: one attacker sees, for the whole epoch, the same persona and (with
 * high-interaction backends) the same backend at the same address, and
 * what its backends send out stays in its universe. The next epoch is a
 * new universe, so bindings do not outlive the shuffle.
 *
 * fd_epochid_of() is the one definition of that id: bindings, reflection
 * and events key on it. It is a keyed hash of the masked source under the
 * epoch key, so ids cannot be predicted or aimed at one another.
 *
 * Pure: no I/O, no globals. Ownership: `fd_epochid_t` is a plain value
 * the caller owns (it holds a copy of the epoch key: cleanse it).
 */
#ifndef FG_DECOY_EPOCHID_H
#define FG_DECOY_EPOCHID_H

#include <stdint.h>
#include <sys/socket.h>

#include "decoy/shuffle.h"

typedef struct fd_epochid {
	uint8_t key[FD_SHUFFLE_KEYLEN];   /* the epoch key (fd_shuffle_epoch_key) */
	uint64_t epoch;                    /* epoch number, for events */
	uint64_t gen;                      /* forced shuffles within it */
	unsigned prefix4, prefix6;         /* source prefix lengths of a universe */
} fd_epochid_t;

/* The universe id of source `src` (AF_INET, AF_INET6; a v4-mapped IPv6
 * source counts as its IPv4 address). Never 0 (0 means "no universe"). */
uint64_t fd_epochid_of(const fd_epochid_t *u, const struct sockaddr_storage *src);

#endif
