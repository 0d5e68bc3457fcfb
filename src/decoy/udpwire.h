/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * UDP personas, the wire side: a port answers a datagram when it is one of
 * the requests captured from the real server (`fluxdecoy clone --ports
 * udp/N`), compared after its first `copy-id` octets (the DNS transaction
 * ID), with the captured reply whose first `copy-id` octets are the
 * request's (`match: exact`). A DNS port's exchanges may instead be
 * matched by their question and re-rendered for the query actually sent
 * (`match: question` and the templates, decoy/udpdns.h); exact entries are
 * tried first. Anything else gets no answer, as most UDP daemons do with
 * datagrams they cannot parse: an open, silent port.
 *
 * Reflection safety: the persona loader refuses a captured reply longer
 * than `amplification` x its request, and fd_udp_answer() refuses any
 * answer over that ratio to the datagram actually received (a re-rendered
 * DNS answer may be longer than its capture: a cookie, a longer name); the
 * answer also passes a per-source token bucket (fd_udp_bucket_take()).
 *
 * Pure: no I/O, no globals, no clock (the time is passed in). Ownership:
 * fd_udp_table_build() returns a table owned by the caller, released by
 * fd_udp_table_free(); fd_udp_answer() writes into the caller's buffer.
 */
#ifndef FG_DECOY_UDPWIRE_H
#define FG_DECOY_UDPWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/persona.h"
#include "decoy/udpdns.h"

/* Bounds of one captured exchange and of one port's list. */
enum {
	FD_UDP_MAX_PAYLOAD = 1232,  /* the DNS flag day's safe UDP size */
	FD_UDP_MAX_REPLIES = 128,
	FD_UDP_MAX_AMP = 10,        /* the most `amplification` may say */
};

/* Decode the hex text `hex` (upper or lower case, even length, no
 * separators) into out[cap]. Returns the byte count, -FG_ESYNTAX for a
 * character that is not a hex digit or an odd length, -FG_ESPACE when it
 * does not fit. */
int fd_udp_hex_decode(const char *hex, uint8_t *out, size_t cap);

typedef struct fd_udp_entry {
	uint8_t req[FD_UDP_MAX_PAYLOAD], rep[FD_UDP_MAX_PAYLOAD];
	uint16_t reqlen, replen;
	uint16_t copy_id;               /* <= reqlen, <= replen */
	enum fd_udp_match match;
	fd_udp_dnskey_t key;            /* match != FD_UDP_EXACT */
} fd_udp_entry_t;

typedef struct fd_udp_table {
	unsigned port;
	unsigned amplification;         /* reply bytes per request byte, at most */
	fd_udp_entry_t *e;
	size_t n;
	fd_udp_dnsent_t *dns;           /* the non-exact entries, pointing into e */
	size_t ndns;
} fd_udp_table_t;

/* Decode a loaded persona's `udp:` entry. Returns 0, -FG_ESYNTAX (a field
 * the loader would have refused) or -ENOMEM. */
int fd_udp_table_build(const fd_udp_service_t *sv, fd_udp_table_t **out);
void fd_udp_table_free(fd_udp_table_t *t);

/* The answer to datagram d[len] from `peer` (for a DNS server cookie; may
 * be NULL): > 0, its length in out[cap]; 0, no captured request matches
 * (stay silent); -FG_ESPACE, out is too small; -ERANGE, the answer would
 * exceed the table's amplification (counted by the caller); another
 * negative error, a captured reply that does not render (never for a
 * table the loader checked). */
int fd_udp_answer(const fd_udp_table_t *t, const fd_udp_peer_t *peer,
		  const uint8_t *d, size_t len, uint8_t *out, size_t cap);

/* A per-source token bucket: `rate` answers per second, `burst` at once.
 * The caller keeps the buckets (zeroed at start) and picks one by a keyed
 * hash of the source, so sources sharing a bucket only share its limit.
 * Returns true when an answer may be sent now (and takes the token). */
typedef struct fd_udp_bucket {
	uint64_t last_ms;
	uint32_t milli;                 /* tokens x 1000 */
	bool used;
} fd_udp_bucket_t;

bool fd_udp_bucket_take(fd_udp_bucket_t *b, uint32_t rate, uint32_t burst,
			uint64_t now_ms);

#endif
