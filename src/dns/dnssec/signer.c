/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/dnssec/signer.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dns/internal.h"

/* Direct-mapped: a collision only costs a signature, never correctness,
 * and the table needs no resizing or eviction logic. */
#define CACHE_SLOTS 1024u

/* Prepared signing contexts per key role, each under its own lock: a
 * worker takes the first free one from a slot its thread id picks, so
 * workers do not serialise on one context (a shared template copied under
 * a mutex did). More slots than workers make a wait rare. */
#define CTX_SLOTS 8u

typedef struct ctx_slot {
	pthread_mutex_t mu;
	fg_signctx_t *ctx;
	uint8_t pad[64 - (sizeof(pthread_mutex_t) + sizeof(void *)) % 64];  /* own line */
} ctx_slot_t;

typedef struct cache_ent {
	const void *key;
	uint16_t type;
	uint16_t len;
	uint32_t ttl;
	uint32_t refresh_at;    /* re-sign from this time on */
	uint8_t rdata[FG_RRSIG_MAX];
} cache_ent_t;

struct fg_signer {
	uint8_t apex[FG_DNS_MAXNAME];
	uint32_t lifetime, refresh, dnskey_ttl;
	fg_clock_fn clock;
	void *clock_ctx;
	fg_dnskey_t keys[FG_SIGNER_MAXKEYS];
	bool published[FG_SIGNER_MAXKEYS], active[FG_SIGNER_MAXKEYS];
	unsigned nkeys;
	fg_rdref_t dnskeys[FG_SIGNER_MAXKEYS];
	unsigned ndnskeys;
	int ksk, zsk;           /* indexes of the signing keys, -1 = none */
	bool frozen;
	ctx_slot_t ctxs[2][CTX_SLOTS];  /* of the KSK [0] and the ZSK [1] */
	pthread_mutex_t lock;
	uint64_t nsigned, nhits;
	cache_ent_t cache[CACHE_SLOTS];
};


fg_signer_t *fg_signer_new(const uint8_t *apex, uint32_t lifetime, uint32_t refresh,
			   uint32_t dnskey_ttl, fg_clock_fn clock, void *clock_ctx)
{
	size_t al = 0;
	while (apex[al])
		al += 1u + apex[al];
	if (!clock || refresh >= lifetime || al + 1 > FG_DNS_MAXNAME)
		return NULL;
	fg_signer_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(s->apex, apex, al + 1);
	fg_dns_name_lower(s->apex);
	s->lifetime = lifetime;
	s->refresh = refresh;
	s->dnskey_ttl = dnskey_ttl;
	s->clock = clock;
	s->clock_ctx = clock_ctx;
	s->ksk = s->zsk = -1;
	pthread_mutex_init(&s->lock, NULL);
	for (int r = 0; r < 2; r++)
		for (unsigned i = 0; i < CTX_SLOTS; i++)
			pthread_mutex_init(&s->ctxs[r][i].mu, NULL);
	return s;
}

void fg_signer_free(fg_signer_t *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nkeys; i++)
		fg_dnskey_clear(&s->keys[i]);
	for (int r = 0; r < 2; r++)
		for (unsigned i = 0; i < CTX_SLOTS; i++) {
			fg_signctx_free(s->ctxs[r][i].ctx);
			pthread_mutex_destroy(&s->ctxs[r][i].mu);
		}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static bool in_window(int64_t now, int64_t from, int64_t until)
{
	return (!from || from <= now) && (!until || now < until);
}

int fg_signer_add_key(fg_signer_t *s, fg_dnskey_t *k, int64_t now, char *err, size_t errlen)
{
	if (s->frozen)
		return fg_errf(err, errlen, -EINVAL, "signer is frozen");
	if (!k->pkey)
		return fg_errf(err, errlen, -EINVAL, "key %u has no private key", k->tag);
	if (!fg_dns_name_eq(k->owner, s->apex))
		return fg_errf(err, errlen, -FG_ESCHEMA, "key %u belongs to another zone", k->tag);
	if (s->nkeys == FG_SIGNER_MAXKEYS)
		return fg_errf(err, errlen, -FG_ESCHEMA, "more than %d keys", FG_SIGNER_MAXKEYS);
	for (unsigned i = 0; i < s->nkeys; i++)
		if (s->keys[i].tag == k->tag && s->keys[i].alg == k->alg &&
		    s->keys[i].rdlen == k->rdlen && !memcmp(s->keys[i].rdata, k->rdata, k->rdlen))
			return fg_errf(err, errlen, -FG_ESCHEMA, "key %u is present twice", k->tag);
	unsigned i = s->nkeys++;
	s->keys[i] = *k;
	memset(k, 0, sizeof(*k));
	fg_dnskey_t *key = &s->keys[i];
	s->published[i] = in_window(now, key->publish, key->remove);
	s->active[i] = s->published[i] && in_window(now, key->activate, key->inactive);
	return 0;
}

int fg_signer_freeze(fg_signer_t *s, char *err, size_t errlen)
{
	uint8_t alg = 0;
	if (s->frozen)
		return 0;
	s->ndnskeys = 0;
	s->ksk = s->zsk = -1;
	for (unsigned i = 0; i < s->nkeys; i++) {
		if (s->published[i]) {
			s->dnskeys[s->ndnskeys].rdata = s->keys[i].rdata;
			s->dnskeys[s->ndnskeys++].rdlen = s->keys[i].rdlen;
		}
		if (!s->active[i])
			continue;
		/* the newest active key wins: during a rollover the old one
		 * may still be active for a while, the new one takes over */
		int *slot = s->keys[i].flags == 257 ? &s->ksk : &s->zsk;
		if (*slot < 0 || s->keys[i].activate >= s->keys[*slot].activate)
			*slot = (int)i;
	}
	if (s->ksk < 0)
		return fg_errf(err, errlen, -FG_ESCHEMA,
			    "no active key-signing key (flags 257) among %u key(s)", s->nkeys);
	if (s->zsk >= 0 && s->keys[s->zsk].alg != s->keys[s->ksk].alg)
		return fg_errf(err, errlen, -FG_ESCHEMA, "the KSK and the ZSK use different algorithms");
	alg = s->keys[s->ksk].alg;
	for (unsigned i = 0; i < s->nkeys; i++)
		if (s->published[i] && s->keys[i].alg != alg)
			return fg_errf(err, errlen, -FG_ESCHEMA,
				    "key %u: one algorithm per zone (no algorithm rollover)",
				    s->keys[i].tag);
	/* the contexts are made when first used (most zones sign on one or
	 * two workers only); a context that cannot be made is retried then */
	s->frozen = true;
	return 0;
}

uint32_t fg_signer_now(const fg_signer_t *s)
{
	return s->clock(s->clock_ctx);
}

uint32_t fg_signer_dnskey_ttl(const fg_signer_t *s)
{
	return s->dnskey_ttl;
}

const fg_rdref_t *fg_signer_dnskeys(const fg_signer_t *s, unsigned *n)
{
	*n = s->ndnskeys;
	return s->dnskeys;
}

static unsigned slot_of(const void *key, uint16_t type)
{
	uintptr_t h = (uintptr_t)key;
	h ^= h >> 17;
	h *= 0x9E3779B1u;
	h ^= (uintptr_t)type * 0x85EBCA6Bu;
	h ^= h >> 13;
	return (unsigned)(h & (CACHE_SLOTS - 1));
}

/* A context slot, locked: the first free one from where this thread's id
 * points, else (all busy) wait for that one. */
static ctx_slot_t *take_ctx(ctx_slot_t *slots)
{
	uintptr_t h = (uintptr_t)pthread_self();
	unsigned start = (unsigned)((h >> 12) ^ (h >> 21)) % CTX_SLOTS;
	for (unsigned i = 0; i < CTX_SLOTS; i++) {
		ctx_slot_t *c = &slots[(start + i) % CTX_SLOTS];
		if (pthread_mutex_trylock(&c->mu) == 0)
			return c;
	}
	pthread_mutex_lock(&slots[start].mu);
	return &slots[start];
}

int fg_signer_sign(fg_signer_t *s, const void *cache_key, const uint8_t *owner,
		   uint16_t type, uint32_t ttl, const fg_rdref_t *rrs, unsigned n,
		   uint8_t *out, size_t cap)
{
	if (!s->frozen)
		return -EINVAL;
	uint32_t now = s->clock(s->clock_ctx);
	unsigned slot = cache_key ? slot_of(cache_key, type) : 0;

	if (cache_key) {
		int len = -1;
		pthread_mutex_lock(&s->lock);
		cache_ent_t *e = &s->cache[slot];
		/* serial arithmetic (RFC 1982): now before refresh_at */
		if (e->key == cache_key && e->type == type && e->ttl == ttl &&
		    (int32_t)(e->refresh_at - now) > 0 && e->len <= cap) {
			memcpy(out, e->rdata, e->len);
			len = e->len;
			s->nhits++;
		}
		pthread_mutex_unlock(&s->lock);
		if (len >= 0)
			return len;
	}
	int use_ksk = type == FG_TYPE_DNSKEY || s->zsk < 0;
	int ki = use_ksk ? s->ksk : s->zsk;
	fg_sigparams_t sp = {
		.inception = now - FG_SIGNER_BACKDATE,
		.expiration = now + s->lifetime,
		.signer = s->apex,
	};
	ctx_slot_t *cs = take_ctx(s->ctxs[use_ksk ? 0 : 1]);
	int len = -ENOMEM;
	if (!cs->ctx)
		cs->ctx = fg_signctx_new(&s->keys[ki]);
	if (cs->ctx)
		len = fg_rrsig_sign_ctx(&s->keys[ki], cs->ctx, &sp, owner, type, ttl, rrs, n,
					out, cap);
	pthread_mutex_unlock(&cs->mu);
	pthread_mutex_lock(&s->lock);
	s->nsigned++;
	if (len > 0 && cache_key && (size_t)len <= sizeof(s->cache[0].rdata)) {
		cache_ent_t *e = &s->cache[slot];
		e->key = cache_key;
		e->type = type;
		e->ttl = ttl;
		e->len = (uint16_t)len;
		e->refresh_at = now + s->lifetime - s->refresh;
		memcpy(e->rdata, out, (size_t)len);
	}
	pthread_mutex_unlock(&s->lock);
	return len;
}

int fg_signer_copy_key(const fg_signer_t *s, const uint8_t *rdata, size_t len,
		       fg_dnskey_t *out)
{
	for (unsigned i = 0; s && i < s->nkeys; i++) {
		const fg_dnskey_t *k = &s->keys[i];
		if (k->rdlen != len || memcmp(k->rdata, rdata, len) || !k->pkey)
			continue;
		if (EVP_PKEY_up_ref(k->pkey) != 1)
			return -ENOMEM;
		*out = *k;
		return 0;
	}
	return -ENOENT;
}

void fg_signer_stats(fg_signer_t *s, uint64_t *signed_, uint64_t *hits)
{
	pthread_mutex_lock(&s->lock);
	*signed_ = s->nsigned;
	*hits = s->nhits;
	pthread_mutex_unlock(&s->lock);
}
