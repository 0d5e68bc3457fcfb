/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/scanfilter.h"

struct sf_key {
	fd_addr_t src;
	uint16_t port;
	uint8_t proto;
};

struct sf_ent {
	struct sf_key k;
	uint64_t start_ms;        /* when the window began */
	struct sf_ent *next;
};

struct fd_scanfilter {
	uint32_t window_ms;
	size_t max, n, nbuckets;
	uint64_t key;
	struct sf_ent **b;
};

int fd_scanfilter_new(uint32_t window_ms, size_t max, uint64_t hash_key,
		      fd_scanfilter_t **out)
{
	fd_scanfilter_t *f;
	size_t nb = 64;

	if (!out || max == 0)
		return -EINVAL;
	*out = NULL;
	while (nb < max && nb < (1u << 20))
		nb <<= 1;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->b = calloc(nb, sizeof(*f->b));
	if (!f->b) {
		free(f);
		return -ENOMEM;
	}
	f->window_ms = window_ms;
	f->max = max;
	f->nbuckets = nb;
	f->key = hash_key;
	*out = f;
	return 0;
}

void fd_scanfilter_free(fd_scanfilter_t *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nbuckets; i++)
		for (struct sf_ent *e = f->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(f->b);
	free(f);
}

static size_t bucket(const fd_scanfilter_t *f, const struct sf_key *k)
{
	return (size_t)(fd_hash(f->key, k, sizeof(*k)) & (f->nbuckets - 1));
}

bool fd_scanfilter_pass(fd_scanfilter_t *f, const fd_addr_t *src, uint16_t dport,
			uint8_t proto, uint64_t now_ms, bool *full)
{
	struct sf_key k;
	size_t i;

	if (full)
		*full = false;
	memset(&k, 0, sizeof(k));
	k.src = *src;
	k.port = dport;
	k.proto = proto;
	i = bucket(f, &k);
	for (struct sf_ent *e = f->b[i]; e; e = e->next) {
		if (memcmp(&e->k, &k, sizeof(k)) != 0)
			continue;
		if (now_ms - e->start_ms < f->window_ms)
			return false;
		e->start_ms = now_ms;     /* a new window */
		return true;
	}
	if (f->n >= f->max && fd_scanfilter_expire(f, now_ms) == 0) {
		if (full)
			*full = true;
		return false;
	}
	struct sf_ent *e = calloc(1, sizeof(*e));
	if (!e) {
		if (full)
			*full = true;
		return false;
	}
	e->k = k;
	e->start_ms = now_ms;
	e->next = f->b[i];
	f->b[i] = e;
	f->n++;
	return true;
}

size_t fd_scanfilter_expire(fd_scanfilter_t *f, uint64_t now_ms)
{
	size_t gone = 0;

	for (size_t i = 0; i < f->nbuckets; i++) {
		struct sf_ent **pp = &f->b[i];
		while (*pp) {
			struct sf_ent *e = *pp;
			if (now_ms - e->start_ms >= f->window_ms) {
				*pp = e->next;
				free(e);
				gone++;
			} else {
				pp = &e->next;
			}
		}
	}
	f->n -= gone;
	return gone;
}

size_t fd_scanfilter_size(const fd_scanfilter_t *f)
{
	return f->n;
}
