/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Compact denial of existence (RFC 9824; pure: no I/O, no globals): every
 * negative answer carries one NSEC owned by the query name whose next name
 * is the immediate successor "\000.<qname>", so it covers nothing but the
 * name itself and cannot be replayed for other names (unlike NSEC chains,
 * it also reveals nothing about the zone's contents).
 *   - no such name: NOERROR, bitmap { RRSIG, NSEC, NXNAME }
 *   - no such type: bitmap { types at the name } + RRSIG + NSEC
 *
 * Ownership: output buffers belong to the caller.
 */
#ifndef FG_DNS_DNSSEC_DENIAL_H
#define FG_DNS_DNSSEC_DENIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type bitmap (RFC 4034 4.1.2) of `types` (any order, duplicates allowed).
 * Returns its length or a negative error. */
int fg_nsec_bitmap(const uint16_t *types, unsigned n, uint8_t *out, size_t cap);

/* NSEC rdata for `owner` (trusted wire name): next name "\000.owner"
 * (lowercased), then the bitmap of `types` plus RRSIG and NSEC (and
 * NXNAME when `nxname`). Returns the rdata length, -FG_ENAME when the
 * successor name would exceed 255 octets, or another negative error. */
int fg_nsec_compact(const uint8_t *owner, const uint16_t *types, unsigned n,
		    bool nxname, uint8_t *out, size_t cap);

#endif
