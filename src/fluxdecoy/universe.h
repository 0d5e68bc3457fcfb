/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The shuffled part of the bed (DESIR): the personas that name a `pool:`
 * are dealt over its addresses per epoch (decoy/shuffle.h), and the
 * kernel is made to answer exactly as the deal says. Every (address, port)
 * the pool's personas serve gets its own socket, bound once at start
 * (while the privileges to bind low ports are still held); a socket
 * listens while the address's persona serves the port and is shut down
 * (back to bound, not listening) otherwise, so a SYN to a port the
 * persona does not serve gets the kernel's own RST, as on the real host.
 * Connections already accepted survive a shuffle; an accept queue being
 * shut is reset.
 *
 * Epoch e = wall-clock ms / shuffle.epoch, so instances sharing the key
 * deal the same world and a restart keeps it; a forced shuffle (SIGUSR1)
 * bumps a counter mixed into the epoch key until the epoch ends.
 *
 * Ownership: fd_bed_new() borrows `conf` (it must outlive the bed), copies
 * the root key (cleansed by fd_bed_free()) and owns every socket; the
 * `listen_fn` callback hands a socket that starts (add) or stops listening
 * to the event loop, which must not close it.
 */
#ifndef FG_FLUXDECOY_UNIVERSE_H
#define FG_FLUXDECOY_UNIVERSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/dconf.h"
#include "decoy/universe.h"

typedef struct fd_bed fd_bed_t;

typedef void (*fd_bed_listen_fn)(void *ctx, int fd, bool add);

/* Read the root key from `path` (shuffle.key): a regular file of 32 to
 * 4096 octets, owned by root or by us, with no group or other access.
 * NULL path: 32 random octets. *key is malloc'd; cleanse and free it. */
int fd_bed_key_load(const char *path, uint8_t **key, size_t *len, char *err,
		    size_t errlen);

/* Bind the sockets of every shuffled pool. Without one the bed still
 * keeps the epochs, so universes exist for every persona. */
int fd_bed_new(const fd_conf_t *conf, const uint8_t *root, size_t rootlen,
	       fd_bed_listen_fn listen_fn, void *ctx, fd_bed_t **out,
	       char *err, size_t errlen);

/* Deal the epoch of `now_ms` (wall clock) when it changed, or a forced
 * shuffle. Returns 1 when a new deal took effect, 0, or a negative code. */
int fd_bed_tick(fd_bed_t *b, uint64_t now_ms, bool force);

/* The persona shown at address `a` now: *in_bed tells whether the address
 * belongs to a shuffled pool at all; NULL there means "closed". */
const fd_conf_persona_t *fd_bed_persona(const fd_bed_t *b, int family,
					const uint8_t *a, bool *in_bed);

/* The current epoch's universes (fd_universe_of()). */
const fd_universes_t *fd_bed_universes(const fd_bed_t *b);

/* Metrics text (Prometheus), appended through `add`. */
typedef void (*fd_bed_text_fn)(void *ctx, const char *text);
void fd_bed_metrics(const fd_bed_t *b, fd_bed_text_fn add, void *ctx);

void fd_bed_free(fd_bed_t *b);

#endif
