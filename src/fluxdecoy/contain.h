/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Containment of the high-interaction backends (Potemkin's export
 * policy), in fluxdecoy's own nftables table (decoy.nft-table, family
 * inet), built from the config through libnftnl/libmnl in one netlink
 * batch (one kernel transaction, extended ACKs). Per persona i with
 * backends (F = 4, 6):
 *
 *   sets  hi<F>_<i>     the backends' addresses
 *         talk<F>_<i>   (reply-only) peer . backend, timeout binding-idle,
 *                       filled by the packets forwarded to a backend
 *   counters  contained_<i>  packets a backend started that were dropped
 *             replied_<i>    packets let out by reply-only
 *             reflected_<i>  flows reflected into the bed (reflect)
 *   chain pre  (nat prerouting -100), reflect personas, IPv4:
 *         saddr @hi4_i udp|tcp dport 53  dnat to decoy.reflect-dns
 *         saddr @hi4_i daddr != reflect-address, != reflect-dns
 *                                        dnat to decoy.reflect-address
 *   chain fwd  (filter forward 0):
 *         daddr @hi<F>_i                 update @talk<F>_i {saddr . daddr}  (reply-only)
 *         saddr @hi<F>_i ct state established,related  accept
 *         saddr @hi<F>_i daddr . saddr @talk<F>_i      counter replied_i, accept (reply-only)
 *         saddr @hi<F>_i                 counter contained_i, drop
 *   chain in   (filter input 0): what a backend may send to the bed itself
 *         saddr @hi<F>_i ct state established,related  accept (the proxy's flows)
 *         saddr @hi4_i ct status dnat    counter reflected_i, accept (reflect)
 *         saddr @hi4_i daddr reflect-address|reflect-dns  counter reflected_i, accept (reflect)
 *         saddr @hi<F>_i                 counter contained_i, drop
 *
 * and, with UDP personas, the chain udpclosed (fd_contain_udp_needed()).
 *
 * Under every policy nothing a backend starts leaves the bed except, under
 * reply-only, to a host that sent to it first. The table is replaced as a
 * whole at start and is left in place at exit: the backends stay contained
 * while fluxdecoy is down (fail closed).
 *
 * Needs CAP_NET_ADMIN: only fluxdecoy's privileged part calls these, with
 * its own copy of the config.
 */
#ifndef FG_FLUXDECOY_CONTAIN_H
#define FG_FLUXDECOY_CONTAIN_H

#include <stddef.h>
#include <stdint.h>

#include "decoy/dconf.h"
#include "decoy/privmsg.h"

/* Whether any persona has backends (the containment chains). */
int fd_contain_needed(const fd_conf_t *c);

/* Whether any persona has UDP ports: chain udpclosed answers a datagram to a
 * persona's address on a UDP port of the bed that this persona lacks with
 * ICMP port unreachable, as the real host's kernel does (counter
 * udp_closed). Addresses of shuffled pools are left to the deal. The table
 * is made when either is needed. */
int fd_contain_udp_needed(const fd_conf_t *c);

/* Whether the bed has UDP ports and shuffled pools: then the closed UDP
 * ports of the pools follow the deal (fd_contain_udp_deal()). */
int fd_contain_udp_shuffled(const fd_conf_t *c);

/* The deal of epoch `epoch`, forced shuffle `gen`, for the shuffled pools'
 * UDP ports: sets udp_served4/6 replaced in one batch, computed here from
 * the root key (decoy/shuffle.h), as the bed deals them. A datagram to a
 * shuffled pool address on a bed UDP port that its persona of the deal
 * lacks (or with no persona) gets port unreachable. Returns 0 or a
 * negative code, message in err. */
int fd_contain_udp_deal(const fd_conf_t *c, const uint8_t *root, size_t rootlen,
			uint64_t epoch, uint64_t gen, char *err, size_t errlen);

/* Replace the table. Returns 0 or a negative code, message in err. */
int fd_contain_install(const fd_conf_t *c, char *err, size_t errlen);

/* Per-persona packet counts from the kernel's named counters: fill out[0..c->npersonas-1]. Returns 0 or a negative code. */
int fd_contain_read(const fd_conf_t *c, fd_contain_counts_t *out);

#endif
