/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Listening sockets of the DNS workers (UDP, TCP, DNS over TLS): one per
 * worker and address, SO_REUSEPORT so the kernel spreads the load, bound
 * even before the address is configured (FREEBIND, as Knot). No ownership
 * beyond the returned descriptor, which the caller closes. */
#ifndef FG_DAEMON_LISTEN_H
#define FG_DAEMON_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf/conf.h"

/* A non-blocking socket of `type` (SOCK_DGRAM or SOCK_STREAM, listening)
 * bound to `a`; the descriptor, or -errno. */
int fg_listen_bind(const fg_conf_addr_t *a, int type);

/* "ADDR@PORT" of a socket address, for log lines. */
void fg_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
