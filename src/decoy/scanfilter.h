/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Potemkin's scan filter: at most one (source, destination port, protocol)
 * per window (60 s by default) may reach a high-interaction backend; the
 * rest of a horizontal scan gets the low-interaction persona. Only a flow
 * that passes starts the window: filtered flows do not extend it, so a
 * scanner that keeps going gets one backend per window, not none.
 *
 * The table is bounded (`max` entries): when it is full and nothing has
 * expired, a new tuple is filtered (fail closed: a flood of sources costs
 * backends nothing) and fd_scanfilter_pass() says so through *full.
 *
 * Pure: no I/O, no globals; the caller passes the time and the hash key.
 * Ownership: fd_scanfilter_new() returns a table freed by
 * fd_scanfilter_free().
 */
#ifndef FG_DECOY_SCANFILTER_H
#define FG_DECOY_SCANFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/universe.h"

typedef struct fd_scanfilter fd_scanfilter_t;

int fd_scanfilter_new(uint32_t window_ms, size_t max, uint64_t hash_key,
		      fd_scanfilter_t **out);
void fd_scanfilter_free(fd_scanfilter_t *f);

/* Whether this flow may reach a high-interaction backend (and then its
 * window starts at now_ms). *full (may be NULL) is set when it was
 * filtered only because the table is full. */
bool fd_scanfilter_pass(fd_scanfilter_t *f, const fd_addr_t *src, uint16_t dport,
			uint8_t proto, uint64_t now_ms, bool *full);

/* Drop entries whose window has ended; returns how many. */
size_t fd_scanfilter_expire(fd_scanfilter_t *f, uint64_t now_ms);

size_t fd_scanfilter_size(const fd_scanfilter_t *f);

#endif
