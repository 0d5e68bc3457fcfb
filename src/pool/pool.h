/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Address pools and the "open to anyone" bookkeeping of the rotation policy
 * (pure: no I/O, no clock, no globals; time and randomness come from the
 * caller).
 *
 * A pool is one IPv4 or IPv6 range. Addresses are picked uniformly at random
 * among the usable ones that are not currently open to "anyone"; an address
 * may carry any number of client- or subnet-scoped grants at the same time.
 * The pool remembers which addresses are open to anyone and until when, so
 * the rotation policy can cap the open fraction of the pool.
 *
 * Usable addresses: for IPv4 CIDR pools of /30 and shorter, the first and
 * last address (network, broadcast) are skipped because some client stacks
 * refuse them; for IPv6 the all-zero interface identifier (subnet-router
 * anycast) is skipped.
 *
 * Ownership: fg_pool_new() returns a pool owned by the caller
 * (fg_pool_free()). Not thread-safe: the grant engine locks around it.
 */
#ifndef FG_POOL_POOL_H
#define FG_POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fg_pool fg_pool_t;

/* Uniform 64-bit random numbers from a CSPRNG (the caller's). */
typedef uint64_t (*fg_rand_fn)(void *ctx);

/* `first`/`last` in network byte order, 4 or 16 octets by family; `plen` is
 * the CIDR prefix length or 0 for a first-last range. */
int fg_pool_new(int family, const uint8_t *first, const uint8_t *last, uint8_t plen,
		fg_pool_t **out);
void fg_pool_free(fg_pool_t *p);

int fg_pool_family(const fg_pool_t *p);

/* Number of usable addresses, saturated at UINT64_MAX (IPv6 /64 and up). */
uint64_t fg_pool_size(const fg_pool_t *p);

bool fg_pool_contains(const fg_pool_t *p, const uint8_t *addr);

/* Pick a random usable address that is not open to anyone at `now_ms`.
 * Returns 0, or -EAGAIN when none was found after a bounded number of draws
 * (the pool is (nearly) all open). */
int fg_pool_pick(fg_pool_t *p, uint64_t now_ms, fg_rand_fn rnd, void *rctx, uint8_t *out);

/* Mark `addr` open to anyone until `until_ms` (extends, never shortens). */
int fg_pool_open(fg_pool_t *p, const uint8_t *addr, uint64_t until_ms);

bool fg_pool_is_open(fg_pool_t *p, const uint8_t *addr, uint64_t now_ms);

/* When `addr` stops being open to anyone, or 0 when it is not open at
 * `now_ms` (for undoing an fg_pool_open() whose grant the kernel refused). */
uint64_t fg_pool_open_until(fg_pool_t *p, const uint8_t *addr, uint64_t now_ms);

/* Set the open window of `addr` to exactly `until_ms` (0: no longer open),
 * shortening it if need be: the undo of fg_pool_open(). */
int fg_pool_restore(fg_pool_t *p, const uint8_t *addr, uint64_t until_ms);

/* Addresses open to anyone at `now_ms` (expired entries are purged). */
uint64_t fg_pool_open_count(fg_pool_t *p, uint64_t now_ms);

/* Largest number of addresses that may be open at once for `fraction`
 * (at least 1). */
uint64_t fg_pool_max_open(const fg_pool_t *p, double fraction);

/* Any currently open address (the one whose window ends last), for the
 * forced-reuse path when the cap is reached. Returns 0 or -ENOENT. */
int fg_pool_any_open(fg_pool_t *p, uint64_t now_ms, uint8_t *out);

#endif
