/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's privileged part ([priv]): forked at start, before anything
 * faces the network, when a persona has high-interaction backends. It
 * keeps only CAP_NET_ADMIN (every other capability goes, no_new_privs is
 * set) and its own copy of the config, and answers one request of the
 * serving part over a SOCK_SEQPACKET pair: the containment table's
 * counters, template spawn/stop, and the deal of an epoch for the closed
 * UDP ports (decoy/privmsg.h). A deal is made only for an epoch within one
 * of [priv]'s own clock, from its own key. A request that does not parse is refused,
 * logged and counted. It exits when the serving part closes the socket.
 *
 * Ownership: fd_priv_start() returns the serving side's socket, owned by
 * the caller; fd_priv_wait() reaps the child.
 */
#ifndef FG_FLUXDECOY_DPRIV_H
#define FG_FLUXDECOY_DPRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decoy/dconf.h"
#include "fluxdecoy/event.h"

/* Returns the socket (>= 0) or a negative errno. `conf` and `ev` are the
 * caller's; the child frees its copies before it exits. `root` (the
 * shuffle's root key, rootlen octets; may be NULL) is the caller's: the
 * child deals the closed UDP ports of the shuffled pools itself from its
 * copy (cleansed when it exits), so the serving part only names the epoch. */
int fd_priv_start(fd_conf_t *conf, fd_event_t *ev, const uint8_t *root, size_t rootlen,
		  pid_t *pid);

/* Wait for [priv] to exit (after the socket was closed). */
void fd_priv_wait(pid_t pid);

#endif
