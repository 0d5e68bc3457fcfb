/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DESIR's shuffle: per epoch, the personas (and variants) that share a pool
 * are reassigned to its addresses by a keyed PRF, so that a map of the pool
 * made in one epoch (which address shows which persona) says nothing about
 * the next.
 *
 *   epoch key  K_e = HMAC-SHA256(root key, "fluxdecoy epoch" | e | gen)
 *   tag(a)     = first 8 octets of HMAC-SHA256(K_e, pool id | 0 | a)
 *
 * The addresses of a pool, sorted by tag, are dealt out in that order:
 * the first round(share_0 * N) to persona 0, the next to persona 1, and so
 * on; what the shares leave over (they sum to at most 1) answers nothing
 * (every port closed). The counts are exact in every epoch; which address
 * gets which persona is a fresh keyed permutation, so the expected overlap
 * of two epochs' assignments is sum(share_i^2) + closed^2, the value of
 * two independent random deals (fd_shuffle_overlap() measures it).
 *
 * `gen` counts forced shuffles within an epoch (SIGUSR1): 0 normally.
 *
 * Pure: no I/O, no globals (HMAC through OpenSSL). Ownership: callers own
 * every buffer; the root and epoch keys are theirs to cleanse.
 */
#ifndef FG_DECOY_SHUFFLE_H
#define FG_DECOY_SHUFFLE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define FD_SHUFFLE_KEYLEN 32        /* epoch key and minimum root key */
#define FD_SHUFFLE_MAX_ADDRS 65536  /* addresses of one shuffled pool */
#define FD_SHUFFLE_MAX_LABELS 64    /* personas sharing one pool */
#define FD_SHUFFLE_CLOSED 0xffff    /* label of an address left closed */

/* Derive the key of epoch `epoch` (forced shuffle `gen`) from the root key.
 * Returns 0 or -EINVAL (root shorter than FD_SHUFFLE_KEYLEN) / -EIO. */
int fd_shuffle_epoch_key(const uint8_t *root, size_t rootlen, uint64_t epoch,
			 uint64_t gen, uint8_t out[FD_SHUFFLE_KEYLEN]);

/* Keyed PRF, 64 bits: the first 8 octets (big endian) of HMAC-SHA256. */
uint64_t fd_shuffle_prf(const uint8_t key[FD_SHUFFLE_KEYLEN], const void *data,
			size_t len);

/* Number of addresses in `p` (saturated at FD_SHUFFLE_MAX_ADDRS + 1). */
uint64_t fd_shuffle_pool_size(const fg_conf_prefix_t *p);

/* Address number `i` of `p` (first + i) into out (4 or 16 octets). */
void fd_shuffle_pool_addr(const fg_conf_prefix_t *p, uint64_t i, uint8_t out[16]);

/* Index of address `a` (of `family`) in `p`, or -1 when outside it. */
int64_t fd_shuffle_pool_index(const fg_conf_prefix_t *p, int family, const uint8_t *a);

/* How many addresses of n each label gets: counts[i] for shares[i]
 * (cumulative rounding, so they sum to round(sum of shares * n)). */
void fd_shuffle_counts(const double *shares, size_t nshares, size_t n, size_t *counts);

/* Deal the addresses of pool `p` (named `pool_id`) for epoch key `ek`:
 * label[i] in [0, nshares) is the persona of address i, FD_SHUFFLE_CLOSED
 * an address left closed. `label` has fd_shuffle_pool_size(p) entries.
 * Returns 0, -E2BIG (pool larger than FD_SHUFFLE_MAX_ADDRS, or too many
 * shares), -EINVAL (a share outside [0,1] or a sum above 1) or -ENOMEM. */
int fd_shuffle_assign(const uint8_t ek[FD_SHUFFLE_KEYLEN], const char *pool_id,
		      const fg_conf_prefix_t *p, const double *shares, size_t nshares,
		      uint16_t *label);

/* Share of the n positions where a and b hold the same label. */
double fd_shuffle_overlap(const uint16_t *a, const uint16_t *b, size_t n);

#endif
