/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * UDP personas in the decoy's event loop (decoy/udpwire.h): one socket per
 * (`decoy.listen` address, UDP port any persona serves), bound before the
 * privilege drop. A datagram is attributed to the persona of its
 * destination (the epoch's deal for a shuffled pool, else the persona
 * that covers the address), passes the per-source token bucket of that
 * port (a keyed hash of the source, /64 for IPv6, picks the bucket), and
 * is answered from the captured replies or, if none matches, not at all.
 * The answer leaves from the address the datagram was sent to
 * (IP_PKTINFO). Every datagram is counted; events ("udp") are emitted
 * only for datagrams the bucket let through, plus one per bucket and 10 s
 * while a source is limited, so a flood cannot flood the log either.
 *
 * Single-threaded (the server's loop). Epoll objects made here start with
 * FD_OBJ_UDP, so the loop hands their events to fd_udp_event().
 * Ownership: fd_udp_new() borrows conf and ev (they outlive it) and the
 * epoll fd; fd_udp_free() closes its sockets.
 */
#ifndef FG_FLUXDECOY_UDP_H
#define FG_FLUXDECOY_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "decoy/dconf.h"
#include "fluxdecoy/event.h"
#include "fluxdecoy/universe.h"

#define FD_OBJ_UDP 8

typedef struct fd_udp fd_udp_t;

/* Bind and register the sockets (none when no persona has `udp:`). */
int fd_udp_new(const fd_conf_t *conf, fd_event_t *ev, int ep, fd_udp_t **out,
	       char *err, size_t errlen);
void fd_udp_free(fd_udp_t *u);

/* The shuffled pools' deal decides the persona of their addresses. */
void fd_udp_set_bed(fd_udp_t *u, const fd_bed_t *bed);

/* Datagrams to personas with udp-backends are offered to `hi` first
 * (fd_hi_udp); NULL: none. */
struct fd_hi;
void fd_udp_set_hi(fd_udp_t *u, struct fd_hi *hi);

/* Send n octets to src from the pool address dst (the address the request
 * was sent to: IP_PKTINFO / IPV6_PKTINFO) on socket fd. */
bool fd_udp_send_from(int fd, const struct sockaddr_storage *src,
		      const struct sockaddr_storage *dst, const uint8_t *out, size_t n);

/* Readable socket `obj` (an epoll object of this module). */
void fd_udp_event(fd_udp_t *u, void *obj);

/* Metrics text (Prometheus), malloc'd; NULL when out of memory. */
char *fd_udp_metrics(const fd_udp_t *u);

#endif
