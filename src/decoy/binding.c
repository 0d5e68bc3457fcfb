/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/binding.h"

struct bent {
	fd_binding_t b;
	struct bent *next;
};

struct fd_bindings {
	size_t max, n, nbuckets;
	uint64_t key;
	struct bent **bk;
};

int fd_bindings_new(size_t max, uint64_t hash_key, fd_bindings_t **out)
{
	fd_bindings_t *t;
	size_t nb = 64;

	if (!out || max == 0)
		return -EINVAL;
	*out = NULL;
	while (nb < max && nb < (1u << 20))
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->bk = calloc(nb, sizeof(*t->bk));
	if (!t->bk) {
		free(t);
		return -ENOMEM;
	}
	t->max = max;
	t->nbuckets = nb;
	t->key = hash_key;
	*out = t;
	return 0;
}

void fd_bindings_free(fd_bindings_t *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct bent *e = t->bk[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(t->bk);
	free(t);
}

/* Keys are compared and hashed as bytes: normalise the padding. */
static fd_binding_key_t norm(const fd_binding_key_t *k)
{
	fd_binding_key_t n;

	memset(&n, 0, sizeof(n));
	n.u.id = k->u.id;
	n.u.epoch = k->u.epoch;
	n.u.gen = k->u.gen;
	n.u.family = k->u.family;
	n.u.plen = k->u.plen;
	memcpy(n.u.a, k->u.a, sizeof(n.u.a));
	n.dst = k->dst;
	n.port = k->port;
	n.proto = k->proto;
	return n;
}

static size_t bucket(const fd_bindings_t *t, const fd_binding_key_t *k)
{
	return (size_t)(fd_hash(t->key, k, sizeof(*k)) & (t->nbuckets - 1));
}

fd_binding_t *fd_bindings_find(fd_bindings_t *t, const fd_binding_key_t *k)
{
	fd_binding_key_t n = norm(k);

	for (struct bent *e = t->bk[bucket(t, &n)]; e; e = e->next)
		if (memcmp(&e->b.key, &n, sizeof(n)) == 0)
			return &e->b;
	return NULL;
}

int fd_bindings_add(fd_bindings_t *t, const fd_binding_key_t *k, uint32_t persona,
		    uint32_t backend, uint64_t now_ms, fd_binding_t **out)
{
	fd_binding_key_t n = norm(k);
	size_t i;
	struct bent *e;

	if (out)
		*out = NULL;
	if (fd_bindings_find(t, &n))
		return -EEXIST;
	if (t->n >= t->max)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->b.key = n;
	e->b.persona = persona;
	e->b.backend = backend;
	e->b.created_ms = e->b.last_ms = now_ms;
	i = bucket(t, &n);
	e->next = t->bk[i];
	t->bk[i] = e;
	t->n++;
	if (out)
		*out = &e->b;
	return 0;
}

void fd_binding_open(fd_binding_t *b, uint64_t now_ms)
{
	b->open++;
	b->flows++;
	b->last_ms = now_ms;
}

void fd_binding_close(fd_binding_t *b, uint64_t now_ms)
{
	if (b->open)
		b->open--;
	b->last_ms = now_ms;
}

size_t fd_bindings_expire(fd_bindings_t *t, uint64_t now_ms, uint32_t idle_ms,
			  void (*gone)(void *ctx, const fd_binding_t *b), void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nbuckets; i++) {
		struct bent **pp = &t->bk[i];
		while (*pp) {
			struct bent *e = *pp;
			if (e->b.open == 0 && now_ms - e->b.last_ms >= idle_ms) {
				*pp = e->next;
				if (gone)
					gone(ctx, &e->b);
				free(e);
				n++;
			} else {
				pp = &e->next;
			}
		}
	}
	t->n -= n;
	return n;
}

size_t fd_bindings_count(const fd_bindings_t *t)
{
	return t->n;
}

uint32_t fd_backend_pick(const unsigned *load, size_t n, uint64_t hash)
{
	size_t start = (size_t)(hash % n), best = start;

	for (size_t j = 1; j < n; j++) {
		size_t i = (start + j) % n;
		if (load[i] < load[best])
			best = i;
	}
	return (uint32_t)best;
}

uint64_t fd_universe_hash(const fd_universe_t *u, uint64_t key)
{
	return fd_hash(key, &u->id, sizeof(u->id));
}
