/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Late binding (Potemkin): the table of (attacker universe, pool address,
 * port/protocol) -> high-interaction backend. The universe is the epoch's
 * (decoy/universe.h): a new epoch binds afresh. A binding is made when the
 * first flow of its key passes the scan filter, is used by every later
 * flow of the key (the attacker keeps seeing the same machine), and is
 * collected once no flow has used it for `idle` ms and none is open.
 *
 * Backends are chosen by fd_backend_pick(): the least loaded, ties broken
 * by the universe's hash, so that one universe lands on the same backend
 * while the load is even.
 *
 * Pure: no I/O, no globals; the caller passes the time and the hash key.
 * Ownership: fd_bindings_new() returns a table freed by fd_bindings_free();
 * keys and values are copied.
 */
#ifndef FG_DECOY_BINDING_H
#define FG_DECOY_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/universe.h"

typedef struct fd_binding_key {
	fd_universe_t u;
	fd_addr_t dst;            /* the pool address the attacker used */
	uint16_t port;
	uint8_t proto;            /* IPPROTO_TCP / IPPROTO_UDP */
} fd_binding_key_t;

typedef struct fd_binding {
	fd_binding_key_t key;
	uint32_t persona;         /* index in the config */
	uint32_t backend;         /* index in the persona's backends */
	uint64_t created_ms, last_ms;
	uint64_t flows;           /* flows that used it, the first included */
	unsigned open;            /* flows using it now */
} fd_binding_t;

typedef struct fd_bindings fd_bindings_t;

int fd_bindings_new(size_t max, uint64_t hash_key, fd_bindings_t **out);
void fd_bindings_free(fd_bindings_t *t);

/* The binding of `k`, or NULL. A non-NULL result stays valid until the
 * next fd_bindings_add() or fd_bindings_expire(). */
fd_binding_t *fd_bindings_find(fd_bindings_t *t, const fd_binding_key_t *k);

/* A new binding (the caller checked that none exists). Returns 0,
 * -ENOSPC when `max` are live, -EEXIST, -ENOMEM. */
int fd_bindings_add(fd_bindings_t *t, const fd_binding_key_t *k, uint32_t persona,
		    uint32_t backend, uint64_t now_ms, fd_binding_t **out);

/* A flow starts / ends using binding b. */
void fd_binding_open(fd_binding_t *b, uint64_t now_ms);
void fd_binding_close(fd_binding_t *b, uint64_t now_ms);

/* Remove bindings with no open flow idle for >= idle_ms; `gone` (may be
 * NULL) sees each before it is freed. Returns how many. */
size_t fd_bindings_expire(fd_bindings_t *t, uint64_t now_ms, uint32_t idle_ms,
			  void (*gone)(void *ctx, const fd_binding_t *b), void *ctx);

size_t fd_bindings_count(const fd_bindings_t *t);

/* Index of the backend to bind: the least loaded of load[0..n-1], ties
 * broken starting from hash % n. n must be > 0. */
uint32_t fd_backend_pick(const unsigned *load, size_t n, uint64_t hash);

/* The hash of a universe, for fd_backend_pick(). */
uint64_t fd_universe_hash(const fd_universe_t *u, uint64_t key);

#endif
