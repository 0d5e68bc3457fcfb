/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Connections per source, for the DNS-over-TCP per-source cap. A source is
 * an IPv4 address or an IPv6 /64 (one IPv6 host usually holds a whole /64,
 * so per-address counting would not bound it).
 *
 * An open-addressing table sized for `max_keys` live sources (at most one
 * per connection, so the global connection limit), hashed with a random
 * key so that no one can choose addresses that collide. No locking: the
 * caller serializes (the server holds a mutex around it).
 *
 * Ownership: fg_srclimit_new() returns a table owned by the caller, freed
 * with fg_srclimit_free().
 */
#ifndef FG_DAEMON_SRCLIMIT_H
#define FG_DAEMON_SRCLIMIT_H

#include <stdint.h>
#include <sys/socket.h>

typedef struct fg_srclimit fg_srclimit_t;

/* `seed` keys the hash (the caller draws it at random). */
int fg_srclimit_new(unsigned max_keys, uint64_t seed, fg_srclimit_t **out);
void fg_srclimit_free(fg_srclimit_t *t);

/* Count one more connection from `sa` unless it already has `limit`.
 * Returns 0, -EBUSY (at the limit), -ENOSPC (max_keys sources present) or
 * -EAFNOSUPPORT (not IPv4/IPv6). */
int fg_srclimit_acquire(fg_srclimit_t *t, const struct sockaddr *sa, unsigned limit);

/* Undo one successful acquire for `sa`. */
void fg_srclimit_release(fg_srclimit_t *t, const struct sockaddr *sa);

/* Connections counted for `sa`'s source. */
unsigned fg_srclimit_count(const fg_srclimit_t *t, const struct sockaddr *sa);

#endif
