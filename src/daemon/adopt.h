/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Restart recovery in the background. After a restart (kill -9 included)
 * the kernel still holds every grant: nothing is flushed. The grant engine
 * needs back only which pool addresses are open to anyone (the cap on the
 * open fraction, and no fresh pick of such an address); this thread reads
 * those grants from the kernel (PS_DUMPANY: the grant_any sets only) while
 * the workers already serve, and adopts them a message at a time, so the
 * engine's lock is never held across a kernel read. The client and subnet
 * maps are never read: they need no recovery, and a dump of a million
 * elements takes minutes (the kernel restarts its walk for every message).
 *
 * Ownership: fg_adopt_start() takes its own reference on the engine's
 * rotation state (grant/engine.h, fg_grant_adopt_new), so reloads may free
 * the engine meanwhile; fg_adopt_stop() ends the thread (cutting a read in
 * progress short at exit) and frees everything.
 */
#ifndef FG_DAEMON_ADOPT_H
#define FG_DAEMON_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grant/engine.h"

typedef struct fg_adopt fg_adopt_t;

/* Start reading back with `eng`'s backend. Returns 0 (and *out NULL when
 * the backend cannot read grants back: nothing to adopt), or a negative
 * error. */
int fg_adopt_start(fg_grant_engine_t *eng, fg_adopt_t **out);

void fg_adopt_stop(fg_adopt_t *a);

#endif
