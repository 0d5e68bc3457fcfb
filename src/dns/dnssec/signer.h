/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A signed zone's signing state: its keys, its signature policy (lifetime,
 * refresh, backdated inception) and a cache of static RRsets' signatures.
 * No I/O: the keys are handed in already parsed, and the clock is a
 * function the caller supplies (tests pin it).
 *
 * Which key signs what: the DNSKEY RRset is signed by the active KSK
 * (flags 257); every other RRset by the active ZSK (flags 256), or by the
 * KSK when the zone has no ZSK (a CSK). A key is published in the DNSKEY
 * RRset from its Publish time until its Delete time, and signs from its
 * Activate time until its Inactive time (times absent = always), judged
 * when the zone is built: a reload re-judges them (pre-publish rollover).
 *
 * Thread safety: after fg_signer_freeze() the key set is read-only; the
 * cache is guarded by a mutex, held only to copy one entry in or out
 * (signing happens outside it). Signing uses one of a few prepared
 * contexts per key, each under its own lock, so concurrent workers sign
 * in parallel.
 *
 * Ownership: the signer owns the keys added to it (fg_signer_free()
 * zeroizes and frees them).
 */
#ifndef FG_DNS_DNSSEC_SIGNER_H
#define FG_DNS_DNSSEC_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"

#define FG_SIGNER_MAXKEYS 8
#define FG_SIGNER_BACKDATE 3600u   /* inception = now - 1 h: clock skew */

typedef struct fg_signer fg_signer_t;
typedef uint32_t (*fg_clock_fn)(void *ctx);     /* seconds since the epoch */

/* `apex` wire form; lifetime > refresh > 0 (seconds); dnskey_ttl for the
 * DNSKEY RRset. Returns NULL on allocation failure. */
fg_signer_t *fg_signer_new(const uint8_t *apex, uint32_t lifetime, uint32_t refresh,
			   uint32_t dnskey_ttl, fg_clock_fn clock, void *clock_ctx);
void fg_signer_free(fg_signer_t *s);

/* Add a key with its private half; the signer takes it over (*k is
 * zeroed). `now` decides whether it is published and/or active. Keys of
 * another owner than the apex are refused. */
int fg_signer_add_key(fg_signer_t *s, fg_dnskey_t *k, int64_t now, char *err, size_t errlen);

/* Check that the zone can be signed (a DNSKEY signer and a data signer
 * are active) and freeze the key set. */
int fg_signer_freeze(fg_signer_t *s, char *err, size_t errlen);

uint32_t fg_signer_now(const fg_signer_t *s);
uint32_t fg_signer_dnskey_ttl(const fg_signer_t *s);
/* The published DNSKEY RRset. */
const fg_rdref_t *fg_signer_dnskeys(const fg_signer_t *s, unsigned *n);

/*
 * RRSIG rdata for the RRset into out (cap >= FG_RRSIG_MAX); returns its
 * length or a negative error. `cache_key` non-NULL marks a static RRset
 * whose identity is (cache_key, type): its signature is reused until it
 * is within rrsig-refresh of its expiration. NULL signs afresh (granted
 * addresses, synthesized denial, wildcard expansions).
 */
int fg_signer_sign(fg_signer_t *s, const void *cache_key, const uint8_t *owner,
		   uint16_t type, uint32_t ttl, const fg_rdref_t *rrs, unsigned n,
		   uint8_t *out, size_t cap);

/* Copy the key with this DNSKEY rdata (private half shared: its reference
 * count is raised) into out; 0, or -ENOENT when the signer has none. */
int fg_signer_copy_key(const fg_signer_t *s, const uint8_t *rdata, size_t len,
		       fg_dnskey_t *out);

/* Counters (monotonic): signatures made, cache hits. */
void fg_signer_stats(fg_signer_t *s, uint64_t *signed_, uint64_t *hits);

#endif
