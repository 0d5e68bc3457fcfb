/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decoy's event loop: listening sockets for every port a persona
 * serves, on every `decoy.listen` address (wildcards: the pool reaches this
 * host through a local route, `ip route add local POOL dev lo`, so a plain
 * socket accepts every pool address and no capability is needed once
 * bound), one connection state machine per flow (HTTP, HTTPS, SSH, SMTP)
 * and the Prometheus endpoint. One thread, epoll, non-blocking sockets.
 *
 * A flow to an address no persona covers, or over `max-clients`, is reset
 * (RST), as a host without the service would do.
 *
 * Ownership: fd_server_new() binds everything and keeps `conf` and `ev`
 * borrowed (they must outlive the server); fd_server_free() closes all.
 */
#ifndef FG_FLUXDECOY_SERVER_H
#define FG_FLUXDECOY_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/dconf.h"
#include "fluxdecoy/control.h"
#include "decoy/universe.h"
#include "fluxdecoy/event.h"

typedef struct fd_server fd_server_t;

/* Bind the listeners and the metrics endpoint and set up TLS. Returns 0 or
 * a negative code with a message in err. */
int fd_server_new(const fd_conf_t *conf, fd_event_t *ev, fd_server_t **out,
		  char *err, size_t errlen);

/* Bind the shuffled pools' sockets (universe.h; none when no persona names
 * a pool) with root key `root` and deal the current epoch; a signal
 * handler setting *force asks for a shuffle. Before privileges are dropped.
 * The attacker universe of a flow is then fd_universe_of() under the bed's
 * current fd_universes_t. */
int fd_server_shuffle(fd_server_t *s, const uint8_t *root, size_t rootlen,
		      volatile sig_atomic_t *force, char *err, size_t errlen);

/* Serve until *stop becomes non-zero (a signal handler sets it). */
int fd_server_run(fd_server_t *s, volatile sig_atomic_t *stop);

void fd_server_free(fd_server_t *s);

/* Hand over the socket to fluxdecoy's privileged part (dpriv.h). */
void fd_server_set_priv(fd_server_t *s, int fd);
/* Serve `ctl` from the event loop and register the server's commands on
 * it: status, stats, keys, rotate-keys, reload (fluxdecoy(8)). `ctl` is
 * borrowed and must outlive the server. */
int fd_server_set_control(fd_server_t *s, fd_ctl_t *ctl);

/* The metrics text (Prometheus exposition 0.0.4), malloc'd. */
char *fd_server_metrics(const fd_server_t *s);

#endif
