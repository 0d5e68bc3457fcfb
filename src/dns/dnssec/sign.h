/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RRSIG over one RRset (RFC 4034 sections 3.1.8.1, 6.2, 6.3; pure: no I/O,
 * no globals). The RRset is taken in any order and case: owner and the
 * names embedded in NS, CNAME, PTR, MX, SRV and SOA rdata are lowercased,
 * records are sorted by canonical rdata and duplicates dropped before the
 * signature input is hashed. ECDSA signatures are written as the 64-octet
 * r|s of RFC 6605, not OpenSSL's DER.
 *
 * Ownership: nothing is kept; rdata arrays are only read. Sets larger than
 * a stack buffer are copied into a temporary heap buffer, freed before
 * return (the common case, a granted address, allocates nothing).
 */
#ifndef FG_DNS_DNSSEC_SIGN_H
#define FG_DNS_DNSSEC_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dnssec/key.h"

#define FG_TYPE_RRSIG  46
#define FG_TYPE_NSEC   47
#define FG_TYPE_DNSKEY 48
#define FG_TYPE_NXNAME 128   /* RFC 9824 meta type */
#define FG_RRSIG_MAX   (18 + FG_DNS_MAXNAME + FG_DNSSEC_SIGMAX)
#define FG_RRSET_MAX   256   /* records per signed RRset */

/* One record of an RRset: rdata in our internal form (uncompressed). */
typedef struct fg_rdref {
	const uint8_t *rdata;
	uint16_t rdlen;
} fg_rdref_t;

typedef struct fg_sigparams {
	uint32_t inception, expiration;  /* RFC 1982 serial seconds */
	const uint8_t *signer;           /* zone apex, wire form */
} fg_sigparams_t;

/*
 * Sign the RRset (owner, class IN, type, ttl, rrs[0..n)) with key `k`
 * (which must hold its private half). Writes the complete RRSIG rdata to
 * out and returns its length, or a negative error.
 */
int fg_rrsig_sign(const fg_dnskey_t *k, const fg_sigparams_t *sp,
		  const uint8_t *owner, uint16_t type, uint32_t ttl,
		  const fg_rdref_t *rrs, unsigned n, uint8_t *out, size_t cap);

/*
 * A signing context prepared once for a key. In OpenSSL 3.0 the per-call
 * setup (provider fetches, EVP_PKEY_CTX duplication inside DigestSign)
 * costs as much as the ECDSA arithmetic: ECDSA signs the SHA-256 digest
 * with EVP_PKEY_sign on an EVP_PKEY_CTX initialised once, Ed25519 runs the
 * one-shot EVP_DigestSign on an EVP_MD_CTX initialised once.
 *
 * Not thread safe: one context per thread, or used under the caller's
 * lock. It references k->pkey (the key must outlive it). NULL when the key
 * has no private half or OpenSSL fails.
 */
typedef struct fg_signctx fg_signctx_t;
fg_signctx_t *fg_signctx_new(const fg_dnskey_t *k);
void fg_signctx_free(fg_signctx_t *c);

/* fg_rrsig_sign with a context of fg_signctx_new(k): no allocation for
 * RRsets that fit the stack buffer. */
int fg_rrsig_sign_ctx(const fg_dnskey_t *k, fg_signctx_t *c, const fg_sigparams_t *sp,
		      const uint8_t *owner, uint16_t type, uint32_t ttl,
		      const fg_rdref_t *rrs, unsigned n, uint8_t *out, size_t cap);

/* An ECDSA-Sig-Value in DER (as OpenSSL writes it) to the 64-octet r|s of
 * RFC 6605; 0, or -FG_EMALF. Exposed for the unit tests. */
int fg_ecdsa_der_to_raw(const uint8_t *der, size_t dl, uint8_t out[64]);

/*
 * Verify RRSIG rdata against the RRset and the DNSKEY rdata (public half
 * only, as a validator would). Returns 0 when valid, -FG_EAUTH when the
 * signature does not verify, another negative error when malformed.
 * Validity times are not checked (the caller compares them to its clock).
 */
int fg_rrsig_verify(const uint8_t *dnskey, size_t dnskey_len,
		    const uint8_t *owner, uint16_t type, uint32_t ttl,
		    const fg_rdref_t *rrs, unsigned n,
		    const uint8_t *rrsig, size_t rrsig_len);

/* Canonical rdata (RFC 4034 6.2: embedded names lowercased) of `type`
 * into out; returns the length or a negative error. */
int fg_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
		       uint8_t *out, size_t cap);

/* RRSIG labels field: labels of owner, not counting the root nor a
 * leading "*" (RFC 4034 3.1.3). */
unsigned fg_rrsig_labels(const uint8_t *owner);

#endif
