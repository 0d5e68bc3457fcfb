/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945): transaction signatures on DNS messages, HMAC-SHA256 and
 * HMAC-SHA512 through OpenSSL. Pure: no I/O, no globals; the clock is an
 * argument. Used by the authoritative server (verify a signed query, sign
 * its response, answer BADKEY/BADSIG/BADTIME/BADTRUNC as section 5.3
 * says) and by RFC 2136 clients (sign a request, verify the response
 * against the request's MAC).
 *
 * What is accepted (receiver side, section 5.2):
 *   - exactly one TSIG RR, the last record of the additional section,
 *     class ANY, TTL 0, rdata framed exactly; anything else is FORMERR;
 *   - a key known by (name, algorithm), else BADKEY;
 *   - a MAC of the algorithm's full length. A MAC longer than that, or
 *     shorter than max(10, half the hash) octets, is FORMERR (5.2.2.1);
 *     a truncated MAC inside those bounds is checked on its length and,
 *     when correct, refused with BADTRUNC (our local minimum is the full
 *     length: truncation buys nothing over UDP today);
 *   - a wrong MAC: BADSIG; |now - time signed| > fudge: BADTIME.
 * MACs are compared in constant time (CRYPTO_memcmp).
 *
 * Ownership: fg_tsig_key_t holds its secret inline; fg_tsig_key_clear()
 * zeroizes it (OPENSSL_cleanse) and must be called by whoever owns a key.
 * The other types are plain values that borrow nothing. A message buffer
 * passed to a signing function is the caller's; the TSIG RR is appended in
 * place and ARCOUNT patched.
 *
 * API stability: other modules (RFC 2136 client, issue #8) build on this
 * header; changes are additive only.
 */
#ifndef FG_DNS_TSIG_H
#define FG_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FG_TYPE_TSIG        250
#define FG_CLASS_ANY        255
#define FG_RCODE_NOTAUTH    9       /* the rcode of every TSIG error */
#define FG_TSIG_FUDGE       300     /* seconds (RFC 8945 10: recommended) */
#define FG_TSIG_MAC_MAX     64      /* SHA-512 */
#define FG_TSIG_SECRET_MAX  256     /* octets; longer keys are refused */
#define FG_TSIG_NAME_MAX    255

/* TSIG RR error field (RFC 8945 section 3, IANA "TSIG error values"). */
enum fg_tsig_error {
	FG_TSIG_NOERROR = 0,
	FG_TSIG_BADSIG = 16,
	FG_TSIG_BADKEY = 17,
	FG_TSIG_BADTIME = 18,
	FG_TSIG_BADTRUNC = 22,
};

enum fg_tsig_alg {
	FG_TSIG_ALG_NONE = 0,
	FG_TSIG_HMAC_SHA256,
	FG_TSIG_HMAC_SHA512,
};

typedef struct fg_tsig_key {
	uint8_t name[FG_TSIG_NAME_MAX];   /* wire form, lowercased */
	uint8_t name_len;
	enum fg_tsig_alg alg;
	uint8_t secret[FG_TSIG_SECRET_MAX];
	size_t secret_len;
} fg_tsig_key_t;

/* "hmac-sha256" / "hmac-sha512" (case-insensitive, as in knot.conf);
 * FG_TSIG_ALG_NONE for anything else. */
enum fg_tsig_alg fg_tsig_alg_from_text(const char *s);
const char *fg_tsig_alg_text(enum fg_tsig_alg alg);
/* Full MAC length of the algorithm in octets (0: none). */
size_t fg_tsig_alg_maclen(enum fg_tsig_alg alg);

/* Decode RFC 4648 base64 (whitespace between quads refused, padding
 * required). Returns the decoded length or a negative error. */
int fg_tsig_base64_decode(const char *s, uint8_t *out, size_t cap);

/* Fill a key from its name (presentation form, "key." or "key"), algorithm
 * text and base64 secret. On failure writes a message that never contains
 * the secret and leaves *k zeroized. */
int fg_tsig_key_init(fg_tsig_key_t *k, const char *name, const char *alg,
		     const char *secret_b64, char *err, size_t errlen);
/* Zeroize a key (secret included). NULL is a no-op. */
void fg_tsig_key_clear(fg_tsig_key_t *k);

/* The TSIG RR of a message, as parsed (RFC 8945 section 4.2). */
typedef struct fg_tsig_rr {
	size_t offset;                    /* first octet of the RR (its owner) */
	uint8_t key_name[FG_TSIG_NAME_MAX];   /* lowercased wire form */
	uint8_t key_name_len;
	uint8_t alg_name[FG_TSIG_NAME_MAX];   /* lowercased wire form */
	uint8_t alg_name_len;
	uint64_t time_signed;             /* 48 bits */
	uint16_t fudge;
	uint16_t mac_len;
	uint8_t mac[FG_TSIG_MAC_MAX];     /* first min(mac_len, MAC_MAX) octets */
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	uint8_t other[6];                 /* BADTIME: the peer's time (48 bits) */
} fg_tsig_rr_t;

/* Find and parse the TSIG RR. Returns 1 (found, *rr filled), 0 (the message
 * carries none) or a negative error: -FG_ETRUNC/-FG_EMALF for a message
 * that is not well framed, -FG_EMALF for a TSIG that is not the last
 * additional record, not unique, not class ANY/TTL 0, or whose rdata is
 * not framed exactly (the receiver answers FORMERR). */
int fg_tsig_find(const uint8_t *msg, size_t len, fg_tsig_rr_t *rr);

/*
 * State of one exchange: filled when a request is verified (server) or
 * signed (client), then used to sign or verify the response, whose MAC
 * covers the request's MAC (section 5.3).
 */
typedef struct fg_tsig_ctx {
	bool present;                     /* the request carried a TSIG */
	const fg_tsig_key_t *key;         /* borrowed: NULL unless known */
	uint16_t error;                   /* enum fg_tsig_error to answer */
	uint8_t key_name[FG_TSIG_NAME_MAX];   /* as in the request (echoed) */
	uint8_t key_name_len;
	uint8_t alg_name[FG_TSIG_NAME_MAX];
	uint8_t alg_name_len;
	uint8_t req_mac[FG_TSIG_MAC_MAX];
	uint16_t req_mac_len;
	uint64_t time_signed;             /* of the request */
	uint16_t fudge;
	uint16_t orig_id;
} fg_tsig_ctx_t;

/* Outcome of verifying a request (server side). */
enum fg_tsig_verdict {
	FG_TSIG_NONE = 0,     /* no TSIG: an ordinary query */
	FG_TSIG_OK,           /* verified: ctx->key signed it */
	FG_TSIG_REFUSE,       /* answer NOTAUTH with ctx->error (build with
			       * fg_tsig_sign_response: signed or not as the
			       * error requires) */
	FG_TSIG_FORMERR,      /* malformed TSIG: FORMERR, no TSIG in it */
};

/* Verify a signed request against `keys` (nkeys of them, matched on name
 * and algorithm) at time `now` (seconds since the epoch). */
enum fg_tsig_verdict fg_tsig_verify_request(const uint8_t *msg, size_t len,
					    const fg_tsig_key_t *keys, size_t nkeys,
					    uint64_t now, fg_tsig_ctx_t *ctx);

/*
 * Sign the response to a verified request, in place: msg[0..len) is the
 * complete response without a TSIG RR; the RR is appended (fitting in
 * `cap`) and ARCOUNT incremented. With ctx->error BADKEY or BADSIG the
 * TSIG is unsigned (empty MAC, section 5.3.2); BADTIME and BADTRUNC are
 * signed, BADTIME with the request's time signed and `now` in Other Data.
 * Returns the new length or a negative error (-FG_ESPACE).
 */
int fg_tsig_sign_response(uint8_t *msg, size_t len, size_t cap,
			  const fg_tsig_ctx_t *ctx, uint64_t now);

/* Octets the TSIG RR adds to a response under ctx (for size budgets). */
size_t fg_tsig_response_size(const fg_tsig_ctx_t *ctx);

/*
 * Client side: sign a request in place (msg[0..len), no TSIG yet), with
 * `key` at `now` and `fudge` (0: FG_TSIG_FUDGE). Fills ctx for
 * fg_tsig_verify_response(). Returns the new length or a negative error.
 */
int fg_tsig_sign_request(uint8_t *msg, size_t len, size_t cap,
			 const fg_tsig_key_t *key, uint64_t now, uint16_t fudge,
			 fg_tsig_ctx_t *ctx);

/*
 * Client side: check a response to a request signed under ctx. Returns 0
 * when it carries a valid TSIG with error NOERROR; else a negative error:
 * -FG_EAUTH with *tsig_error set to the error the server reported (BADKEY,
 * BADSIG: its TSIG is unsigned; BADTIME: then *server_time, if not NULL,
 * is the server's clock from Other Data), or set to BADSIG/BADKEY/BADTIME
 * when our own check of the response fails; -FG_EMALF for a response
 * without TSIG (section 5.3.1: a signed request gets a signed answer) or
 * with a malformed one. tsig_error may be NULL.
 */
int fg_tsig_verify_response(const uint8_t *msg, size_t len, const fg_tsig_ctx_t *ctx,
			    uint64_t now, uint16_t *tsig_error, uint64_t *server_time);

/* Name of a TSIG error ("BADSIG"), "NOERROR" for 0, "unknown" otherwise. */
const char *fg_tsig_error_text(uint16_t error);

#endif
