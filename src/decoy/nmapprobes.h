/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The UDP probes nmap's version detection sends to a port, read from the
 * installed nmap's own data file (/usr/share/nmap/nmap-service-probes, its
 * format in nmap's "Service and Application Version Detection" chapter):
 * every `Probe UDP NAME q|...|` whose `ports` or `sslports` line lists the
 * port, in file order (the order nmap tries them). `fluxdecoy clone
 * --ports udp/N` sends them to the real server and stores the answered
 * ones in the persona, so `nmap -sU -sV` finds the same service at the
 * decoy. The file is data of the installed nmap, read at clone time; none
 * of it is copied into this tree.
 *
 * Pure: parses a caller's buffer, no I/O, no globals; bounds-checked on
 * the buffer's length (it need not end in NUL). Ownership: results are
 * written into the caller's array.
 */
#ifndef FG_DECOY_NMAPPROBES_H
#define FG_DECOY_NMAPPROBES_H

#include <stddef.h>
#include <stdint.h>

#include "decoy/udpwire.h"

typedef struct fd_nmap_probe {
	char name[64];
	uint8_t q[FD_UDP_MAX_PAYLOAD];
	size_t n;                  /* may be 0: nmap's empty probes */
	int line;
} fd_nmap_probe_t;

/* The UDP probes of text[len] for `port` into out[max]. Returns how many
 * (at most max; the rest are left out), or -FG_ESYNTAX with the line and
 * the reason in err[errlen] for a Probe line of a UDP probe that does not
 * parse (a bad escape, no closing delimiter, a payload over
 * FD_UDP_MAX_PAYLOAD, a bad `ports` list). */
int fd_nmap_udp_probes(const char *text, size_t len, unsigned port,
		       fd_nmap_probe_t *out, size_t max, char *err, size_t errlen);

#endif
