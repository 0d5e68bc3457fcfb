/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS wire codec: query parsing and response building (pure: no I/O, no
 * globals, no allocation). RFC 1035, RFC 6891 (EDNS(0)), RFC 7871 (ECS),
 * RFC 7873 (COOKIE option; the server cookie itself is dns/cookie.h),
 * RFC 5001 (NSID), RFC 7314 (EXPIRE).
 *
 * Ownership: fg_dns_query_t is a plain value filled by the parser; it keeps
 * no pointer into the packet, so the packet buffer may be reused once
 * fg_dns_parse_query() returns. The response builder writes into a buffer
 * owned by the caller.
 */
#ifndef FG_DNS_MSG_H
#define FG_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/cookie.h"

#define FG_DNS_HDRLEN      12
#define FG_DNS_MAXNAME     255
#define FG_DNS_MAXLABEL    63
#define FG_DNS_UDP_MIN     512     /* without EDNS */
#define FG_DNS_UDP_MAX     1232    /* our EDNS payload size (DNS flag day 2020) */
#define FG_DNS_TCP_MAX     65535

enum fg_dns_rcode {
	FG_RCODE_NOERROR = 0, FG_RCODE_FORMERR = 1, FG_RCODE_SERVFAIL = 2,
	FG_RCODE_NXDOMAIN = 3, FG_RCODE_NOTIMP = 4, FG_RCODE_REFUSED = 5,
	FG_RCODE_BADVERS = 16,    /* extended: upper 8 bits go into OPT TTL */
};

enum fg_dns_type {
	FG_TYPE_A = 1, FG_TYPE_NS = 2, FG_TYPE_CNAME = 5, FG_TYPE_SOA = 6,
	FG_TYPE_PTR = 12, FG_TYPE_MX = 15, FG_TYPE_TXT = 16, FG_TYPE_AAAA = 28,
	FG_TYPE_SRV = 33, FG_TYPE_OPT = 41, FG_TYPE_AXFR = 252,
	FG_TYPE_IXFR = 251, FG_TYPE_ANY = 255,
};

#define FG_CLASS_IN 1
#define FG_EDNS_OPT_NSID 3
#define FG_EDNS_OPT_ECS 8
#define FG_EDNS_OPT_EXPIRE 9
#define FG_DNS_NSID_MAX 128   /* longest server.nsid we send */

typedef struct fg_dns_ecs {
	uint16_t family;        /* 1 = IPv4, 2 = IPv6 (IANA address family) */
	uint8_t source_prefix;  /* as sent by the resolver */
	uint8_t scope_prefix;   /* as sent (must be 0 in queries) */
	uint8_t addr[16];       /* address bits, zero beyond source_prefix */
} fg_dns_ecs_t;

typedef struct fg_dns_query {
	uint16_t id;
	uint16_t flags;          /* raw header flags word as received */
	uint8_t opcode;
	bool rd, cd;
	uint16_t qtype, qclass;
	uint8_t qname[FG_DNS_MAXNAME];    /* uncompressed wire form, case as received */
	uint8_t qname_lc[FG_DNS_MAXNAME]; /* same, lowercased: the lookup key */
	uint8_t qname_len;                /* octets incl. the root label */
	bool has_edns;
	uint8_t edns_version;
	bool do_bit;
	uint16_t udp_size;       /* advertised payload size (512 without EDNS) */
	bool has_ecs;
	fg_dns_ecs_t ecs;
	bool has_question;       /* question parsed (echoed in error responses) */
	bool has_cookie;         /* a well-formed COOKIE option (RFC 7873) */
	fg_cookie_t cookie;      /* as received */
	/* NSID (RFC 5001) and EXPIRE (RFC 7314) requested: both options are
	 * requests whatever their payload, which the RFCs say to ignore */
	bool want_nsid, want_expire;
	/* Server cookie for the response, set by the caller after parsing
	 * (the parser clears it): when set, the response OPT carries the
	 * client cookie and this server cookie. */
	bool resp_cookie_set;
	uint8_t resp_cookie[FG_COOKIE_SERVER_LEN];
} fg_dns_query_t;

/* What the caller must do with a query that fails to parse. */
enum fg_dns_parse_action {
	FG_DNS_DROP = 0,        /* no answer at all (no header, QR set, ...) */
	FG_DNS_REPLY_ERROR,     /* answer with `rcode` (FORMERR, NOTIMP, BADVERS) */
};

/*
 * Parse a query. Returns 0 when the query is well formed and answerable, or a
 * negative fg error code; then *action tells whether to drop it or answer
 * with *rcode (use fg_dns_build_error()). Never reads past pkt[len-1].
 */
int fg_dns_parse_query(const uint8_t *pkt, size_t len, fg_dns_query_t *q,
		       enum fg_dns_parse_action *action, int *rcode);

/* Build an error-only response (header + question if it was parsed + OPT if
 * the query had a parsable one) for a query that failed to parse or that we
 * refuse. Returns the length written, or a negative error. */
int fg_dns_build_error(const uint8_t *pkt, size_t len, const fg_dns_query_t *q,
		       int rcode, uint8_t *out, size_t outcap);

/* Truncated answer without records (header with TC=1, question, OPT):
 * what rate limiting sends instead of the answer ("slip"), so a real client
 * retries over TCP. Returns the length written, or a negative error. */
int fg_dns_build_truncated(const fg_dns_query_t *q, uint8_t *out, size_t outcap);

/* Maximum response size for this query over UDP (512 without EDNS, else the
 * advertised size clamped to [512, FG_DNS_UDP_MAX]) or TCP. */
size_t fg_dns_max_response(const fg_dns_query_t *q, bool tcp);

/* Convert a presentation-form name ("www.Example.test." or relative to
 * origin) to wire form. Returns the wire length or a negative error.
 * `origin` (wire form) may be NULL for absolute names only; "@" means origin. */
int fg_dns_name_from_text(const char *text, const uint8_t *origin,
			  uint8_t out[FG_DNS_MAXNAME]);

/* Write a wire name as presentation text (with trailing dot). Returns length
 * or a negative error when `cap` is too small. */
int fg_dns_name_to_text(const uint8_t *name, char *out, size_t cap);

/* Lowercase a wire-form name in place (ASCII only, labels untouched). */
void fg_dns_name_lower(uint8_t *name);

#endif
