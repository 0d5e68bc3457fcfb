/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "pool/pool.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PICK_DRAWS 64

typedef struct open_slot {
	uint8_t addr[16];
	uint64_t until;     /* 0 = empty slot */
} open_slot_t;

typedef struct fifo_ent {
	uint8_t addr[16];
	uint64_t until;
} fifo_ent_t;

struct fg_pool {
	int family;
	unsigned alen;          /* 4 or 16 */
	uint8_t first[16], last[16];
	/* usable range as 128-bit numbers split in two 64-bit halves */
	uint64_t lo_hi, lo_lo, hi_hi, hi_lo;
	uint64_t size;          /* saturated */
	/* open-to-anyone table: linear probing, backward-shift deletion */
	open_slot_t *slots;
	size_t cap, used;
	/* min-heap of window ends, for purging expired entries */
	fifo_ent_t *fifo;
	size_t fcap, flen;
};

static void to_u128(const uint8_t *a, unsigned alen, uint64_t *hi, uint64_t *lo)
{
	/* the two sizes there are, as loads: this runs for every holding of
	 * a source on every grant (the grant path's hottest user code) */
	if (alen == 16) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, a + 8, 8);
		*hi = be64toh(x);
		*lo = be64toh(y);
		return;
	}
	if (alen == 4) {
		uint32_t x;
		memcpy(&x, a, 4);
		*hi = 0;
		*lo = be32toh(x);
		return;
	}
	uint8_t b[16] = { 0 };
	memcpy(b + 16 - alen, a, alen);
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = (*hi << 8) | b[i];
		*lo = (*lo << 8) | b[8 + i];
	}
}

static void from_u128(uint64_t hi, uint64_t lo, unsigned alen, uint8_t *a)
{
	uint8_t b[16];
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)hi;
		b[8 + i] = (uint8_t)lo;
		hi >>= 8;
		lo >>= 8;
	}
	memcpy(a, b + 16 - alen, alen);
}

static int cmp_u128(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl)
{
	if (ah != bh)
		return ah < bh ? -1 : 1;
	if (al != bl)
		return al < bl ? -1 : 1;
	return 0;
}

int fg_pool_new(int family, const uint8_t *first, const uint8_t *last, uint8_t plen,
		fg_pool_t **out)
{
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	fg_pool_t *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->family = family;
	p->alen = family == AF_INET ? 4 : 16;
	memcpy(p->first, first, p->alen);
	memcpy(p->last, last, p->alen);
	to_u128(first, p->alen, &p->lo_hi, &p->lo_lo);
	to_u128(last, p->alen, &p->hi_hi, &p->hi_lo);
	if (cmp_u128(p->lo_hi, p->lo_lo, p->hi_hi, p->hi_lo) > 0) {
		free(p);
		return -EINVAL;
	}
	if (family == AF_INET && plen && plen <= 30) {
		/* skip network and broadcast addresses */
		p->lo_lo++;
		p->hi_lo--;
	} else if (family == AF_INET6 && p->lo_lo == 0 && cmp_u128(p->lo_hi, 1, p->hi_hi, p->hi_lo) <= 0) {
		/* skip the subnet-router anycast address (IID 0) */
		p->lo_lo = 1;
	}
	uint64_t dh = p->hi_hi - p->lo_hi - (p->hi_lo < p->lo_lo ? 1 : 0);
	uint64_t dl = p->hi_lo - p->lo_lo;
	p->size = (dh || dl == UINT64_MAX) ? UINT64_MAX : dl + 1;
	p->cap = 64;
	p->slots = calloc(p->cap, sizeof(*p->slots));
	p->fcap = 64;
	p->fifo = calloc(p->fcap, sizeof(*p->fifo));
	if (!p->slots || !p->fifo) {
		fg_pool_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void fg_pool_free(fg_pool_t *p)
{
	if (!p)
		return;
	free(p->slots);
	free(p->fifo);
	free(p);
}

int fg_pool_family(const fg_pool_t *p)
{
	return p->family;
}

uint64_t fg_pool_size(const fg_pool_t *p)
{
	return p->size;
}

bool fg_pool_contains(const fg_pool_t *p, const uint8_t *addr)
{
	uint64_t h, l;
	to_u128(addr, p->alen, &h, &l);
	return cmp_u128(h, l, p->lo_hi, p->lo_lo) >= 0 && cmp_u128(h, l, p->hi_hi, p->hi_lo) <= 0;
}

static size_t slot_hash(const fg_pool_t *p, const uint8_t *addr)
{
	/* FNV-1a: the addresses are CSPRNG picks, no adversarial keys */
	uint64_t h = 1469598103934665603ull;
	for (unsigned i = 0; i < p->alen; i++) {
		h ^= addr[i];
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29)) & (p->cap - 1);
}

static open_slot_t *slot_find(fg_pool_t *p, const uint8_t *addr)
{
	size_t i = slot_hash(p, addr);
	while (p->slots[i].until) {
		if (memcmp(p->slots[i].addr, addr, p->alen) == 0)
			return &p->slots[i];
		i = (i + 1) & (p->cap - 1);
	}
	return NULL;
}

static void slot_delete(fg_pool_t *p, open_slot_t *s)
{
	size_t i = (size_t)(s - p->slots);
	size_t j = i;
	p->slots[i].until = 0;
	p->used--;
	/* backward-shift: move later members of the cluster into the hole */
	for (;;) {
		j = (j + 1) & (p->cap - 1);
		if (!p->slots[j].until)
			return;
		size_t k = slot_hash(p, p->slots[j].addr);
		bool movable = (i <= j) ? (k <= i || k > j) : (k <= i && k > j);
		if (movable) {
			p->slots[i] = p->slots[j];
			p->slots[j].until = 0;
			i = j;
		}
	}
}

static int slots_grow(fg_pool_t *p)
{
	size_t ncap = p->cap * 2;
	open_slot_t *old = p->slots;
	size_t ocap = p->cap;
	open_slot_t *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	p->slots = ns;
	p->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].until)
			continue;
		size_t j = slot_hash(p, old[i].addr);
		while (ns[j].until)
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

/* Min-heap on `until`: windows of different services end out of order. */
static void heap_swap(fifo_ent_t *a, fifo_ent_t *b)
{
	fifo_ent_t t = *a;
	*a = *b;
	*b = t;
}

static int fifo_push(fg_pool_t *p, const uint8_t *addr, uint64_t until)
{
	if (p->flen == p->fcap) {
		size_t ncap = p->fcap * 2;
		fifo_ent_t *nf = realloc(p->fifo, ncap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		p->fifo = nf;
		p->fcap = ncap;
	}
	size_t i = p->flen++;
	memcpy(p->fifo[i].addr, addr, p->alen);
	p->fifo[i].until = until;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (p->fifo[up].until <= p->fifo[i].until)
			break;
		heap_swap(&p->fifo[up], &p->fifo[i]);
		i = up;
	}
	return 0;
}

static void heap_pop(fg_pool_t *p)
{
	p->fifo[0] = p->fifo[--p->flen];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->flen && p->fifo[l].until < p->fifo[m].until)
			m = l;
		if (r < p->flen && p->fifo[r].until < p->fifo[m].until)
			m = r;
		if (m == i)
			return;
		heap_swap(&p->fifo[m], &p->fifo[i]);
		i = m;
	}
}

static void purge(fg_pool_t *p, uint64_t now)
{
	while (p->flen && p->fifo[0].until <= now) {
		open_slot_t *s = slot_find(p, p->fifo[0].addr);
		/* an extended window left a newer heap entry behind: keep it */
		if (s && s->until <= now)
			slot_delete(p, s);
		heap_pop(p);
	}
}

int fg_pool_open(fg_pool_t *p, const uint8_t *addr, uint64_t until_ms)
{
	if (!until_ms)
		until_ms = 1;
	open_slot_t *s = slot_find(p, addr);
	if (s) {
		if (until_ms > s->until) {
			s->until = until_ms;
			return fifo_push(p, addr, until_ms);
		}
		return 0;
	}
	if ((p->used + 1) * 2 > p->cap && slots_grow(p) < 0)
		return -ENOMEM;
	int rc = fifo_push(p, addr, until_ms);
	if (rc < 0)
		return rc;
	size_t i = slot_hash(p, addr);
	while (p->slots[i].until)
		i = (i + 1) & (p->cap - 1);
	memcpy(p->slots[i].addr, addr, p->alen);
	p->slots[i].until = until_ms;
	p->used++;
	return 0;
}

bool fg_pool_is_open(fg_pool_t *p, const uint8_t *addr, uint64_t now_ms)
{
	purge(p, now_ms);
	open_slot_t *s = slot_find(p, addr);
	return s && s->until > now_ms;
}

uint64_t fg_pool_open_until(fg_pool_t *p, const uint8_t *addr, uint64_t now_ms)
{
	purge(p, now_ms);
	open_slot_t *s = slot_find(p, addr);
	return s && s->until > now_ms ? s->until : 0;
}

int fg_pool_restore(fg_pool_t *p, const uint8_t *addr, uint64_t until_ms)
{
	open_slot_t *s = slot_find(p, addr);
	if (!until_ms) {
		if (s)
			slot_delete(p, s);
		return 0;   /* a heap entry left behind finds no slot: dropped */
	}
	if (!s)
		return fg_pool_open(p, addr, until_ms);
	if (until_ms != s->until) {
		/* the heap holds entries for other ends of it: add this one
		 * so the window is purged on time */
		int rc = fifo_push(p, addr, until_ms);
		if (rc < 0)
			return rc;
	}
	s->until = until_ms;
	return 0;
}

uint64_t fg_pool_open_count(fg_pool_t *p, uint64_t now_ms)
{
	purge(p, now_ms);
	return p->used;
}

uint64_t fg_pool_max_open(const fg_pool_t *p, double fraction)
{
	if (fraction >= 1.0)
		return p->size;
	long double m = (long double)p->size * fraction;
	uint64_t r = m >= (long double)UINT64_MAX ? UINT64_MAX : (uint64_t)m;
	return r ? r : 1;
}

int fg_pool_any_open(fg_pool_t *p, uint64_t now_ms, uint8_t *out)
{
	purge(p, now_ms);
	const open_slot_t *best = NULL;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slots[i].until > now_ms && (!best || p->slots[i].until > best->until))
			best = &p->slots[i];
	if (!best)
		return -ENOENT;
	memcpy(out, best->addr, p->alen);
	return 0;
}

/* Uniform draw in [0, n) without modulo bias (Lemire's method would need
 * 128-bit multiply; rejection is simple and cheap here). */
static uint64_t uniform(uint64_t n, fg_rand_fn rnd, void *rctx)
{
	if (n == 0)
		return rnd(rctx);   /* n == 2^64: every value is fine */
	uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
	uint64_t r;
	do
		r = rnd(rctx);
	while (r >= limit);
	return r % n;
}

int fg_pool_pick(fg_pool_t *p, uint64_t now_ms, fg_rand_fn rnd, void *rctx, uint8_t *out)
{
	purge(p, now_ms);
	for (int d = 0; d < PICK_DRAWS; d++) {
		uint64_t hi = p->lo_hi, lo;
		if (p->size == UINT64_MAX) {
			/* huge range (IPv6): draw the low 64 bits freely inside
			 * [lo, hi]; for a /64 this is a random interface id */
			if (p->lo_hi == p->hi_hi) {
				uint64_t span = p->hi_lo - p->lo_lo;   /* + 1 may wrap */
				lo = p->lo_lo + uniform(span + 1, rnd, rctx);
			} else {
				/* wider than /64: random upper half within range,
				 * then re-check bounds */
				uint64_t hspan = p->hi_hi - p->lo_hi;
				hi = p->lo_hi + uniform(hspan == UINT64_MAX ? 0 : hspan + 1, rnd, rctx);
				lo = rnd(rctx);
				if (cmp_u128(hi, lo, p->lo_hi, p->lo_lo) < 0 ||
				    cmp_u128(hi, lo, p->hi_hi, p->hi_lo) > 0)
					continue;
			}
		} else {
			uint64_t off = uniform(p->size, rnd, rctx);
			lo = p->lo_lo + off;
			if (lo < p->lo_lo)
				hi++;   /* carry into the upper half */
		}
		if (p->family == AF_INET6 && lo == 0)
			continue;   /* never hand out interface id 0 */
		from_u128(hi, lo, p->alen, out);
		open_slot_t *s = slot_find(p, out);
		if (!s || s->until <= now_ms)
			return 0;
	}
	return -EAGAIN;
}
