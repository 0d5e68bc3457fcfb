/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 2136 DNS UPDATE, the client side fluxgate needs to publish a rotated
 * address on an external authoritative server (Knot, BIND): build one
 * UPDATE message for one zone that replaces the A/AAAA RRset of several
 * names (each: delete the RRset, add the one new RR; the server applies the
 * message as one transaction), parse the server's response (rcode, and the
 * TSIG error of RFC 8945 when the server rejected our signature), and
 * query and parse the zone's SOA serial.
 *
 * Pure: no I/O, no allocation, no globals. Messages are built unsigned
 * (ARCOUNT 0); the TSIG module appends the TSIG record. Response parsing
 * reads untrusted input through the bounds-checked cursor (common/wire.h)
 * and is fuzzed (tests/fuzz/fuzz_update.c).
 *
 * Ownership: every buffer belongs to the caller.
 */
#ifndef FG_DNS_UPDATE_H
#define FG_DNS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FG_OPCODE_QUERY  0
#define FG_OPCODE_UPDATE 5
#ifndef FG_TYPE_TSIG
#define FG_TYPE_TSIG     250   /* also in dns/tsig.h */
#endif

/* Response codes of RFC 2136 and the TSIG errors of RFC 8945. */
enum fg_update_rcode {
	FG_UPD_NOERROR = 0, FG_UPD_FORMERR = 1, FG_UPD_SERVFAIL = 2,
	FG_UPD_NXDOMAIN = 3, FG_UPD_NOTIMP = 4, FG_UPD_REFUSED = 5,
	FG_UPD_YXDOMAIN = 6, FG_UPD_YXRRSET = 7, FG_UPD_NXRRSET = 8,
	FG_UPD_NOTAUTH = 9, FG_UPD_NOTZONE = 10,
	FG_UPD_BADSIG = 16, FG_UPD_BADKEY = 17, FG_UPD_BADTIME = 18,
	FG_UPD_BADTRUNC = 22,
};

/* "NOERROR", "REFUSED", "BADKEY", ...; "RCODE<n>" style text for others
 * is not needed: unknown codes give "UNKNOWN". Static string. */
const char *fg_update_rcode_name(unsigned rcode);

/* One RRset to replace: owner (presentation form, at or below the zone),
 * A or AAAA, the TTL and the one address it will hold. */
typedef struct fg_update_rrset {
	const char *name;
	uint16_t type;            /* FG_TYPE_A (4 octets) or FG_TYPE_AAAA (16) */
	uint32_t ttl;             /* seconds, at most 2^31 - 1 */
	uint8_t addr[16];
} fg_update_rrset_t;

/* Build an UPDATE for `zone` with message id `id`: zone section (zone SOA
 * IN), no prerequisite, and for each set "delete RRset name type" then
 * "add name ttl IN type addr". Returns the length written, or a negative
 * error with a message in err (name outside the zone, bad type, no space). */
int fg_update_build(uint8_t *buf, size_t cap, uint16_t id, const char *zone,
		    const fg_update_rrset_t *sets, size_t nsets, char *err, size_t errlen);

/* A query for the SOA of `zone` (RD clear). Returns the length or <0. */
int fg_update_build_soa_query(uint8_t *buf, size_t cap, uint16_t id, const char *zone,
			      char *err, size_t errlen);

/* What a response to an UPDATE said. */
typedef struct fg_update_resp {
	unsigned rcode;           /* header rcode (with the OPT extension) */
	bool has_tsig;            /* a TSIG record ends the additional section */
	unsigned tsig_error;      /* its error field (0, BADSIG, BADKEY, BADTIME) */
	size_t tsig_off;          /* offset of the TSIG record (for verification) */
} fg_update_resp_t;

/* Parse a response to the UPDATE `id` for `zone`: QR set, opcode UPDATE,
 * the same id, the zone section (when echoed) naming the zone, every record
 * inside the message, a TSIG record only last. Returns 0 and fills *out
 * (whatever the rcode), or a negative error with a message. */
int fg_update_parse_response(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
			     fg_update_resp_t *out, char *err, size_t errlen);

/* Parse a response to the SOA query `id` for `zone`: NOERROR, the question
 * echoed, an SOA record owned by the zone in the answer. Returns 0 and
 * the serial, or a negative error with a message (rcode named). */
int fg_update_parse_soa(const uint8_t *msg, size_t len, uint16_t id, const char *zone,
			uint32_t *serial, char *err, size_t errlen);

/* RFC 1982 serial arithmetic: is `b` after `a`? */
bool fg_serial_gt(uint32_t b, uint32_t a);

#endif
