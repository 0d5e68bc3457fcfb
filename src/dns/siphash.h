/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Keyed SipHash-2-4 (64-bit output) through OpenSSL's EVP_MAC "SIPHASH":
 * the one keyed hash of the DNS front (server cookies, RFC 9018; the rate
 * limiter's bucket index, so an attacker cannot aim collisions).
 *
 * Ownership: fg_siphash_new() returns a context owned by the caller (one per
 * thread: a context is not thread-safe); fg_siphash_free() releases it. The
 * key is passed per call and never stored.
 */
#ifndef FG_DNS_SIPHASH_H
#define FG_DNS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define FG_SIPHASH_KEYLEN 16

typedef struct fg_siphash fg_siphash_t;

/* Returns 0 or -ENOMEM / -ENOTSUP (no SipHash in this OpenSSL). */
int fg_siphash_new(fg_siphash_t **out);
void fg_siphash_free(fg_siphash_t *h);

/* SipHash-2-4 of data under key into out[8] (the octets as the reference
 * implementation emits them, little-endian). Returns 0 or a negative error. */
int fg_siphash24(fg_siphash_t *h, const uint8_t key[FG_SIPHASH_KEYLEN],
		 const void *data, size_t len, uint8_t out[8]);

#endif
