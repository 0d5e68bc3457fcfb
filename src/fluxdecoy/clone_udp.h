/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxdecoy clone --ports udp/N`: the real server's answers to a probe
 * set, written as one entry of a persona's `udp:` list (decoy/udpwire.h).
 * The probes are those nmap's version detection sends to port N, read
 * from the installed nmap's nmap-service-probes (decoy/nmapprobes.h),
 * byte for byte, and the
 * generic "\r\n". For udp/53 also each CHAOS TXT name (version.bind,
 * id.server, hostname.bind) and, with --zone, the apex SOA and NS (and
 * the A and AAAA of the --names), in the
 * forms dig and kdig send, and the templates for the questions nobody
 * captured (decoy/udpdns.h). A probe the server does not answer is left
 * out: the decoy is silent to it as well.
 *
 * Ownership: writes to the caller's stream; allocates nothing it keeps.
 */
#ifndef FG_FLUXDECOY_CLONE_UDP_H
#define FG_FLUXDECOY_CLONE_UDP_H

#include <stdio.h>

#define FD_NMAP_PROBES "/usr/share/nmap/nmap-service-probes"

/* Write the "  - port: N ..." entry for `port` of `addr` to o. `zone` may
 * be NULL; `names` (NULL, or a comma list of names relative to the zone,
 * or absolute with a final dot) adds their A and AAAA. Returns 0, -ENOTSUP (nmap has no UDP probe for this port),
 * -ETIMEDOUT (no probe answered) or another negative code. */
int fd_clone_udp(FILE *o, const char *addr, unsigned port, const char *zone,
		 const char *names, unsigned timeout_s);

#endif
