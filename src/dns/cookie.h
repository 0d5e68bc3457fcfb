/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * parsing the COOKIE option, making and verifying server cookies. Pure
 * apart from the keyed hash (OpenSSL): the clock and the client address
 * are parameters, there are no globals.
 *
 * Server cookie (16 octets): Version (1) | Reserved (3, zero) | Timestamp
 * (4, seconds, serial arithmetic) | Hash (8) where Hash = SipHash-2-4(
 * Client Cookie | Version | Reserved | Timestamp | Client IP, secret).
 *
 * Ownership: everything is caller-owned plain data; the secret is borrowed
 * per call (the caller keeps it and zeroizes it, fg_cookie_secret_clear()).
 */
#ifndef FG_DNS_COOKIE_H
#define FG_DNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/siphash.h"

#define FG_EDNS_OPT_COOKIE     10
#define FG_COOKIE_CLIENT_LEN   8
#define FG_COOKIE_SERVER_MIN   8      /* RFC 7873 4: server cookie 8..32 */
#define FG_COOKIE_SERVER_MAX   32
#define FG_COOKIE_SERVER_LEN   16     /* the RFC 9018 version 1 layout */
#define FG_COOKIE_SECRET_LEN   FG_SIPHASH_KEYLEN
#define FG_COOKIE_MAX_AGE      3600u  /* RFC 9018 4.3: 1 h in the past */
#define FG_COOKIE_MAX_AHEAD    300u   /* and 5 min in the future */

typedef struct fg_cookie {
	uint8_t client[FG_COOKIE_CLIENT_LEN];
	uint8_t server[FG_COOKIE_SERVER_MAX];
	uint8_t server_len;           /* 0: the client has none yet */
} fg_cookie_t;

enum fg_cookie_verdict {
	FG_COOKIE_NONE = 0,   /* no COOKIE option */
	FG_COOKIE_CLIENT,     /* client cookie only (first contact) */
	FG_COOKIE_VALID,      /* our server cookie, fresh, for this client IP */
	FG_COOKIE_BAD,        /* a server cookie that is not (or no longer) ours */
};

/* Parse a COOKIE option body (RFC 7873 4): 8 octets, or 16 to 40. Any
 * other length is -FG_ECOOKIE (the query is answered FORMERR, 5.2.2). */
int fg_cookie_parse(const uint8_t *data, size_t len, fg_cookie_t *c);

/* Server cookie for `client` at time `now` (Unix seconds) seen from the
 * address `addr` (4 octets for AF_INET, 16 for AF_INET6). */
int fg_cookie_make(fg_siphash_t *h, const uint8_t secret[FG_COOKIE_SECRET_LEN],
		   const uint8_t client[FG_COOKIE_CLIENT_LEN], uint32_t now,
		   int family, const uint8_t *addr, uint8_t out[FG_COOKIE_SERVER_LEN]);

/* Judge a parsed option (NULL: none). A server cookie is VALID when it has
 * our length and version, zero reserved octets, a timestamp within
 * [now - 1 h, now + 5 min] and the hash we would make (compared in
 * constant time); anything else with a server cookie is BAD. */
enum fg_cookie_verdict fg_cookie_verify(fg_siphash_t *h,
					const uint8_t secret[FG_COOKIE_SECRET_LEN],
					const fg_cookie_t *c, uint32_t now,
					int family, const uint8_t *addr);

/* Decode a secret written as 32 hex digits. Returns 0 or -EINVAL. */
int fg_cookie_secret_from_hex(const char *hex, uint8_t out[FG_COOKIE_SECRET_LEN]);

/* Zeroize a secret (not optimised away). */
void fg_cookie_secret_clear(uint8_t secret[FG_COOKIE_SECRET_LEN]);

#endif
