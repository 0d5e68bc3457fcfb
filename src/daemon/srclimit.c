/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/srclimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* key: family byte then the counted prefix (4 octets IPv4, 8 IPv6) */
#define KEY_LEN 9

typedef struct ent {
	uint32_t count;            /* 0: empty slot */
	uint8_t key[KEY_LEN];
} ent_t;

struct fg_srclimit {
	ent_t *slots;
	size_t mask;               /* slots - 1 (a power of two) */
	size_t used, max_keys;
	uint64_t seed;
};

static bool make_key(const struct sockaddr *sa, uint8_t key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 8);
		return true;
	}
	return false;
}

/* splitmix64 finalizer over the seeded key words */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t hash(const fg_srclimit_t *t, const uint8_t key[KEY_LEN])
{
	uint64_t a = 0;
	memcpy(&a, key + 1, 8);
	return (size_t)mix(mix(a ^ t->seed) ^ key[0] ^ (t->seed >> 7));
}

int fg_srclimit_new(unsigned max_keys, uint64_t seed, fg_srclimit_t **out)
{
	fg_srclimit_t *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	size_t n = 16;
	while (n < 2 * (size_t)max_keys)   /* load factor <= 1/2 */
		n <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	t->mask = n - 1;
	t->max_keys = max_keys ? max_keys : 1;
	t->seed = seed;
	*out = t;
	return 0;
}

void fg_srclimit_free(fg_srclimit_t *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

/* Slot holding `key`, or the empty slot where it would go. */
static size_t find(const fg_srclimit_t *t, const uint8_t key[KEY_LEN])
{
	size_t i = hash(t, key) & t->mask;
	while (t->slots[i].count && memcmp(t->slots[i].key, key, KEY_LEN))
		i = (i + 1) & t->mask;
	return i;
}

int fg_srclimit_acquire(fg_srclimit_t *t, const struct sockaddr *sa, unsigned limit)
{
	uint8_t key[KEY_LEN];
	if (!make_key(sa, key))
		return -EAFNOSUPPORT;
	size_t i = find(t, key);
	ent_t *e = &t->slots[i];
	if (e->count) {
		if (e->count >= limit)
			return -EBUSY;
		e->count++;
		return 0;
	}
	if (limit == 0)
		return -EBUSY;
	if (t->used >= t->max_keys)
		return -ENOSPC;
	memcpy(e->key, key, KEY_LEN);
	e->count = 1;
	t->used++;
	return 0;
}

void fg_srclimit_release(fg_srclimit_t *t, const struct sockaddr *sa)
{
	uint8_t key[KEY_LEN];
	if (!make_key(sa, key))
		return;
	size_t i = find(t, key);
	if (!t->slots[i].count || --t->slots[i].count)
		return;
	t->used--;
	/* backward-shift deletion: keep every probe chain unbroken */
	size_t j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].count)
			break;
		size_t home = hash(t, t->slots[j].key) & t->mask;
		/* move j into the hole at i unless its home lies in (i, j] */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j].count = 0;
		i = j;
	}
}

unsigned fg_srclimit_count(const fg_srclimit_t *t, const struct sockaddr *sa)
{
	uint8_t key[KEY_LEN];
	if (!make_key(sa, key))
		return 0;
	return t->slots[find(t, key)].count;
}
