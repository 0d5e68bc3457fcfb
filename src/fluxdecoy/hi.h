/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * High interaction (Potemkin's late binding) in the decoy's event loop:
 * the scan filter, the binding table, the splice proxy to the backends,
 * the fake Internet's DNS answerer (containment `reflect`) and the
 * containment counters fetched from the privileged part.
 *
 * A flow accepted for a persona with `backends` is offered to
 * fd_hi_accept() before the persona answers it: when its (universe,
 * address, port) is bound, or when it passes the scan filter and a new
 * binding is made, the flow is spliced to its backend (a connection from
 * the bed to the backend's address, the same port) and the persona never
 * sees it; otherwise the low-interaction persona answers, and a flow that
 * the scan filter held back is counted and logged ("filtered").
 *
 * Single-threaded (the server's loop). Epoll objects made here start with
 * FD_OBJ_HI, so the loop hands their events to fd_hi_event().
 * Ownership: fd_hi_new() borrows conf and ev (they outlive it) and the
 * epoll fd; fd_hi_free() closes every flow and socket it opened.
 */
#ifndef FG_FLUXDECOY_HI_H
#define FG_FLUXDECOY_HI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "decoy/dconf.h"
#include "decoy/universe.h"
#include "fluxdecoy/event.h"

#define FD_OBJ_HI 7

typedef struct fd_hi fd_hi_t;

/* Binds the reflect-dns socket when configured. */
int fd_hi_new(const fd_conf_t *conf, fd_event_t *ev, int ep, fd_hi_t **out,
	      char *err, size_t errlen);
void fd_hi_free(fd_hi_t *h);

/* The socket to the privileged part (containment counters); -1: none.
 * Taken over (closed by fd_hi_free). */
void fd_hi_set_priv(fd_hi_t *h, int fd);

/* Offer an accepted flow to persona `pidx`, in the universes of the
 * current epoch `uni`. true: taken (fd is the splice's now); false: the
 * low-interaction persona answers it. */
bool fd_hi_accept(fd_hi_t *h, int fd, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, size_t pidx,
		  const fd_universes_t *uni);

/* UDP (a persona with udp-backends): offer datagram d[0..len-1] from
 * `src` to `dst` (a pool address, its port), received on the UDP persona
 * socket `lfd`, to persona `pidx`. The datagram late-binds exactly as a
 * TCP flow does (the scan filter, then a binding of proto udp per
 * (universe, address, port)) and is relayed: one connected socket per
 * (source, destination) to the bound backend, whose replies leave `lfd`
 * from `dst` (fd_udp_send_from). true: taken (relayed, or held while a
 * flash clone starts); false: the low-interaction persona answers it.
 * `lfd` is borrowed: it must outlive this module's flows. */
bool fd_hi_udp(fd_hi_t *h, int lfd, const struct sockaddr_storage *src,
	       const struct sockaddr_storage *dst, size_t pidx,
	       const fd_universes_t *uni, const uint8_t *d, size_t len);

/* Reflection: the universe a flow from backend address `src` belongs to,
 * the one of the attacker that drives it: a flash clone's owner, or the
 * universe of the last binding made to a pooled backend. false: src is no
 * backend, or none is bound. */
bool fd_hi_backend_universe(const fd_hi_t *h, const fd_addr_t *src, fd_universe_t *out);

/* A new deal of the shuffle (epoch, forced shuffle gen): the privileged
 * part redoes it for the closed UDP ports of the shuffled pools. */
void fd_hi_deal(fd_hi_t *h, uint64_t epoch, uint64_t gen);

void fd_hi_event(fd_hi_t *h, void *obj, uint32_t events);

/* Periodic work: idle flows, binding and scan filter expiry, counters. */
void fd_hi_tick(fd_hi_t *h);

/* Prometheus text of the high-interaction metrics, malloc'd. */
char *fd_hi_metrics(const fd_hi_t *h);

#endif
