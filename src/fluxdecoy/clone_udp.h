/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxdecoy clone --ports udp/53`: the real server's answers to a fixed
 * probe set, written as one entry of a persona's `udp:` list
 * (decoy/udpwire.h). For DNS the probes are those nmap sends to udp/53
 * (nmap-service-probes' DNSVersionBindReq and DNSStatusRequest, whose
 * forms nmap-payloads uses for -sU too), CHAOS TXT id.server and
 * hostname.bind in the form `dig +noedns +noadflag` sends, and, with
 * --zone, the zone apex's SOA and NS in that form. A probe the server does
 * not answer is left out: the decoy is silent to it as well.
 *
 * Ownership: writes to the caller's stream; allocates nothing it keeps.
 */
#ifndef FG_FLUXDECOY_CLONE_UDP_H
#define FG_FLUXDECOY_CLONE_UDP_H

#include <stdio.h>

/* Write the "  - port: N ..." entry for `port` of `addr` to o. `zone` may
 * be NULL. Returns 0, -ENOTSUP (no probe set for this port),
 * -ETIMEDOUT (no probe answered) or another negative code. */
int fd_clone_udp(FILE *o, const char *addr, unsigned port, const char *zone,
		 unsigned timeout_s);

#endif
