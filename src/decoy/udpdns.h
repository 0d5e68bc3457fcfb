/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS-aware answers for udp/53 personas (decoy/udpwire.h): a query in a
 * form that was never captured byte for byte still gets the answer the
 * real server gives it. A captured reply is picked by the query's
 * normalized question (qname without case, qtype, qclass, opcode, RD and
 * CD, EDNS present or not, DO) and re-rendered for the actual query:
 *
 *   - the ID is the query's; the question is the query's, in its own
 *     letter case (0x20), as BIND echoes it;
 *   - every name is decompressed and written again with compression as
 *     BIND 9.18 renders it: case-sensitive, only the whole name or the
 *     name less its first label looked up (so a 0x20 query gets the owner
 *     names spelled out in the zone's case, as from named);
 *   - the OPT record keeps the captured options but COOKIE: a client
 *     cookie gets itself back with a fresh RFC 9018 server cookie (keyed,
 *     with the client's address, as BIND makes them); no client cookie,
 *     no COOKIE option.
 *
 * Templates cover the questions nobody captured: `nodata` (the server's
 * answer for a type a captured name lacks), `nxdomain` (for a name below
 * the zone: the template's question minus its first label) and `other`
 * (any other question, e.g. REFUSED outside the zones), and `badvers` (a
 * query with an EDNS version the server does not know: BIND's BADVERS).
 * Their question is rewritten to the query's and RD/CD are mirrored from
 * it.
 *
 * Pure: no I/O, no globals, no clock (the time comes in fd_udp_peer_t);
 * the keyed hash is OpenSSL's, through dns/cookie.h. Every read of the
 * captured bytes goes through a bounds-checked cursor (common/wire.h), so
 * a hand-edited persona cannot make the renderer read or write out of
 * bounds; the loader refuses one that does not render
 * (fd_udp_dns_check()).
 */
#ifndef FG_DECOY_UDPDNS_H
#define FG_DECOY_UDPDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/siphash.h"

/* How a captured exchange is matched (the `match` persona key). */
enum fd_udp_match {
	FD_UDP_EXACT = 0,      /* the request's bytes after copy-id, its length */
	FD_UDP_QUESTION,       /* the normalized question (above) */
	FD_UDP_NODATA,         /* template: a captured name, another type */
	FD_UDP_NXDOMAIN,       /* template: a name below the zone */
	FD_UDP_OTHER,          /* template: any other question */
	FD_UDP_BADVERS,        /* template: an EDNS version above 0 */
	FD_UDP_NMATCH
};

/* The words of the `match` key, in enum order, NULL-terminated; and the
 * word for m. */
extern const char *const fd_udp_match_names[];
const char *fd_udp_match_name(enum fd_udp_match m);

/* The normalized question of a captured request (the matching key). */
typedef struct fd_udp_dnskey {
	uint8_t qname_lc[255];
	uint8_t qname_len;
	uint16_t qtype, qclass;
	uint8_t opcode;
	bool rd, cd, edns, do_bit;
	uint8_t edns_version;
} fd_udp_dnskey_t;

/* Who asked, for the server cookie: `sip` and `secret` (16 octets) key it,
 * `now` is Unix seconds, addr holds 4 (AF_INET) or 16 (AF_INET6) octets.
 * Borrowed for the call. With no peer (NULL), a query that carries a
 * client cookie gets no answer (a reply without the cookie would be
 * unlike the real server's). */
typedef struct fd_udp_peer {
	fg_siphash_t *sip;
	const uint8_t *secret;
	uint32_t now;
	int family;
	const uint8_t *addr;
} fd_udp_peer_t;

/* The key of captured request req[len]. Returns 0, or a negative error
 * when it is not a query fg_dns_parse_query() accepts (an EDNS version
 * above 0 is accepted here: the `badvers` template's request has one). */
int fd_udp_dns_key(const uint8_t *req, size_t len, fd_udp_dnskey_t *k);

/* One candidate for the matcher: a key and its captured reply. */
typedef struct fd_udp_dnsent {
	enum fd_udp_match match;
	const fd_udp_dnskey_t *key;
	const uint8_t *rep;
	size_t replen;
} fd_udp_dnsent_t;

/* The answer to query d[len] from the candidates e[n]: > 0, its length in
 * out[cap]; 0, nothing fits (no candidate, a query fg_dns_parse_query()
 * refuses, a cookie with no peer, an answer over the query's UDP size);
 * -FG_ESPACE, out is too small; another negative error, a captured reply
 * that does not parse (never for a table the loader checked). */
int fd_udp_dns_answer(const fd_udp_dnsent_t *e, size_t n, const fd_udp_peer_t *peer,
		      const uint8_t *d, size_t len, uint8_t *out, size_t cap);

/* The loader's check of one non-exact exchange: the request is a query
 * and the reply renders for it. Returns 0, or a negative error with the
 * reason in err[errlen]. */
int fd_udp_dns_check(enum fd_udp_match m, const uint8_t *req, size_t reqlen,
		     const uint8_t *rep, size_t replen, char *err, size_t errlen);

#endif
