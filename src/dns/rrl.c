/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/rrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Tokens are counted in thousandths so that refilling `rate` per second is
 * exact in whole milliseconds: `rate` milli-tokens per millisecond. */
#define MILLI 1000u

typedef struct bucket {
	uint64_t prefix;        /* masked address bits, left-aligned */
	uint64_t last_ms;       /* last refill */
	uint32_t tokens;        /* milli-tokens, <= rate * MILLI */
	uint32_t limited;       /* limited responses so far (slip counter) */
	uint8_t family;         /* 0 = free */
} bucket_t;

struct fg_rrl {
	fg_rrl_params_t p;
	size_t nsets;
	bucket_t *b;            /* nsets * FG_RRL_WAYS */
	fg_siphash_t *h;
	uint8_t key[FG_SIPHASH_KEYLEN];
};

int fg_rrl_new(const fg_rrl_params_t *p, const uint8_t key[FG_SIPHASH_KEYLEN],
	       fg_rrl_t **out)
{
	if (!p || p->v4_prefix < 8 || p->v4_prefix > 32 || p->v6_prefix < 16 ||
	    p->v6_prefix > 64 || p->rate > 1000000u || p->table_size < FG_RRL_WAYS)
		return -EINVAL;
	fg_rrl_t *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->p = *p;
	r->nsets = p->table_size / FG_RRL_WAYS;
	r->b = calloc(r->nsets * FG_RRL_WAYS, sizeof(bucket_t));
	int rc = r->b ? fg_siphash_new(&r->h) : -ENOMEM;
	if (rc == 0 && key)
		memcpy(r->key, key, sizeof(r->key));
	else if (rc == 0 && RAND_bytes(r->key, sizeof(r->key)) != 1)
		rc = -EIO;
	if (rc < 0) {
		fg_rrl_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void fg_rrl_free(fg_rrl_t *r)
{
	if (!r)
		return;
	OPENSSL_cleanse(r->key, sizeof(r->key));
	fg_siphash_free(r->h);
	free(r->b);
	free(r);
}

size_t fg_rrl_buckets(const fg_rrl_t *r)
{
	return r->nsets * FG_RRL_WAYS;
}

bool fg_rrl_params_eq(const fg_rrl_params_t *a, const fg_rrl_params_t *b)
{
	return a->rate == b->rate && a->slip == b->slip && a->v4_prefix == b->v4_prefix &&
	       a->v6_prefix == b->v6_prefix && a->table_size == b->table_size;
}

/* The first `plen` bits of the address, left-aligned in 64 bits. */
static uint64_t prefix_of(const uint8_t *addr, size_t alen, unsigned plen)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = (v << 8) | (i < alen ? addr[i] : 0);
	if (alen == 4)
		v &= 0xFFFFFFFF00000000ull;
	return plen >= 64 ? v : v & ~(UINT64_MAX >> plen);
}

static void refill(const fg_rrl_t *r, bucket_t *b, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)r->p.rate * MILLI;
	if (now_ms <= b->last_ms)
		return;         /* a clock that stands still (or steps back) adds nothing */
	uint64_t add = (now_ms - b->last_ms) * r->p.rate;
	uint64_t t = b->tokens + add;
	b->tokens = (uint32_t)(t > cap ? cap : t);
	b->last_ms = now_ms;
}

static bucket_t *find(fg_rrl_t *r, uint8_t family, uint64_t prefix, uint64_t now_ms)
{
	uint8_t in[9], hv[8];
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(prefix >> (56 - 8 * i));
	in[8] = family;
	uint64_t hash = 0;
	if (fg_siphash24(r->h, r->key, in, sizeof(in), hv) == 0)
		memcpy(&hash, hv, sizeof(hash));
	bucket_t *set = r->b + (hash % r->nsets) * FG_RRL_WAYS;

	bucket_t *victim = NULL;
	for (unsigned i = 0; i < FG_RRL_WAYS; i++) {
		bucket_t *b = &set[i];
		if (b->family == family && b->prefix == prefix)
			return b;
		if (!b->family) {
			if (!victim || victim->family)
				victim = b;
		} else if (!victim || (victim->family && b->last_ms < victim->last_ms)) {
			victim = b;
		}
	}
	if (!victim->family) {
		victim->tokens = r->p.rate * MILLI;     /* a new prefix: full burst */
		victim->last_ms = now_ms;
	} else {
		/* take over the bucket with the tokens it has now: more
		 * prefixes than buckets share, they do not add bursts */
		refill(r, victim, now_ms);
	}
	victim->family = family;
	victim->prefix = prefix;
	victim->limited = 0;
	return victim;
}

enum fg_rrl_action fg_rrl_check(fg_rrl_t *r, int family, const uint8_t *addr,
				uint64_t now_ms)
{
	if (!r || r->p.rate == 0)
		return FG_RRL_PASS;
	uint64_t prefix;
	if (family == AF_INET)
		prefix = prefix_of(addr, 4, r->p.v4_prefix);
	else if (family == AF_INET6)
		prefix = prefix_of(addr, 16, r->p.v6_prefix);
	else
		return FG_RRL_DROP;     /* no source we could ever answer */

	bucket_t *b = find(r, family == AF_INET ? 4 : 6, prefix, now_ms);
	refill(r, b, now_ms);
	if (b->tokens >= MILLI) {
		b->tokens -= MILLI;
		return FG_RRL_PASS;
	}
	b->limited++;
	if (r->p.slip && b->limited % r->p.slip == 0)
		return FG_RRL_SLIP;
	return FG_RRL_DROP;
}
