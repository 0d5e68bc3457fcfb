/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxctl dnssec keygen|ds`: local key management, no daemon involved.
 * keygen writes BIND-format key files (as dnssec-keygen does); ds prints
 * the DS records (SHA-256) of the zone's KSKs for the parent zone.
 */
#ifndef FG_FLUXCTL_DNSSEC_H
#define FG_FLUXCTL_DNSSEC_H

/* argv[0] is "keygen" or "ds". Returns an exit code, or -1 for bad usage. */
int fg_fluxctl_dnssec(int argc, char **argv);

#endif
