/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fake Internet's DNS (containment `reflect`): a backend's queries are
 * routed back into the bed and answered here. Every A query is answered
 * with one address inside the bed (`decoy.reflect-address`), so whatever
 * name malware looks up leads back to a decoy; AAAA and every other type
 * get an empty NOERROR answer (the bed reflects IPv4 only). Queries that do
 * not parse get what the DNS codec says (FORMERR, NOTIMP) or nothing.
 *
 * Pure: no I/O, no globals. Writes into the caller's buffer.
 */
#ifndef FG_DECOY_REFLECTDNS_H
#define FG_DECOY_REFLECTDNS_H

#include <stddef.h>
#include <stdint.h>

#define FD_REFLECT_TTL 60

/* Answer `pkt` (one DNS message, without TCP's length prefix). Returns the
 * answer's length, 0 when nothing is to be sent, or a negative error.
 * *qtype and qname (may be NULL; 256 bytes) get the question's type and
 * name as text (0 and "" without one). */
int fd_reflect_dns_answer(const uint8_t *pkt, size_t len, const uint8_t a4[4],
			  uint8_t *out, size_t cap, uint16_t *qtype, char *qname);

#endif
