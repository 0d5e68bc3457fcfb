/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's privileged part ([priv]): forked at start, before anything
 * faces the network, when a persona has high-interaction backends. It
 * keeps only CAP_NET_ADMIN (every other capability goes, no_new_privs is
 * set) and its own copy of the config, and answers one request of the
 * serving part over a SOCK_SEQPACKET pair: the containment table's
 * counters (decoy/privmsg.h). A request that does not parse is refused,
 * logged and counted. It exits when the serving part closes the socket.
 *
 * Ownership: fd_priv_start() returns the serving side's socket, owned by
 * the caller; fd_priv_wait() reaps the child.
 */
#ifndef FG_FLUXDECOY_DPRIV_H
#define FG_FLUXDECOY_DPRIV_H

#include <sys/types.h>

#include "decoy/dconf.h"
#include "fluxdecoy/event.h"

/* Returns the socket (>= 0) or a negative errno. `conf` and `ev` are the
 * caller's; the child frees its copies before it exits. */
int fd_priv_start(fd_conf_t *conf, fd_event_t *ev, pid_t *pid);

/* Wait for [priv] to exit (after the socket was closed). */
void fd_priv_wait(pid_t pid);

#endif
