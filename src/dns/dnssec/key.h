/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNSSEC keys in BIND's key file format (pure: parses text the caller read;
 * no I/O, no globals). A key is a pair of files:
 *   K<zone>.+<alg>+<tag>.key      the DNSKEY record, zone file syntax
 *   K<zone>.+<alg>+<tag>.private  "Private-key-format: v1.3", "Algorithm:",
 *                                 "PrivateKey: <base64>" and timing lines
 * Algorithms: 13 (ECDSAP256SHA256, RFC 6605) and 15 (Ed25519, RFC 8080).
 *
 * Ownership: fg_dnskey_t owns its EVP_PKEY (private half); release it with
 * fg_dnskey_clear(), which also zeroizes the struct. The raw private scalar
 * is never kept: it is zeroized as soon as OpenSSL holds the key.
 */
#ifndef FG_DNS_DNSSEC_KEY_H
#define FG_DNS_DNSSEC_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "dns/msg.h"

#define FG_DNSSEC_ALG_ECDSAP256 13
#define FG_DNSSEC_ALG_ED25519   15
#define FG_DNSKEY_F_ZONE 0x0100u  /* flags 256: zone key */
#define FG_DNSKEY_F_SEP  0x0001u  /* flags 257 = zone key + SEP: a KSK */
#define FG_DNSKEY_RDMAX  (4 + 64) /* flags, protocol, algorithm, P-256 point */
#define FG_DNSSEC_SIGMAX 64       /* r|s of P-256 and Ed25519 alike */

typedef struct fg_dnskey {
	uint8_t owner[FG_DNS_MAXNAME];  /* lowercased wire form */
	uint8_t owner_len;
	uint16_t flags;
	uint8_t alg;
	uint16_t tag;                   /* RFC 4034 appendix B */
	uint8_t rdata[FG_DNSKEY_RDMAX]; /* DNSKEY rdata as published */
	uint16_t rdlen;
	/* timing metadata from the .private file, or the .key file's
	 * comments (0 = not set), seconds
	 * since the epoch: publish in the DNSKEY RRset from `publish`,
	 * sign from `activate` until `inactive`, withdraw at `delete` */
	int64_t publish, activate, inactive, remove;
	EVP_PKEY *pkey;                 /* NULL until the private half is read */
} fg_dnskey_t;

/* Algorithm number <-> config/mnemonic ("ecdsap256sha256", "ed25519"). */
int fg_dnssec_alg_from_name(const char *name);
const char *fg_dnssec_alg_name(uint8_t alg);

/* Parse the .key file text (comments with ';', one DNSKEY record; the
 * base64 may be split by blanks or parentheses). Fills owner, flags, alg,
 * rdata, tag, and the timing from the comments BIND's tools (and fluxctl)
 * write, "; Activate: YYYYMMDDHHMMSS ..." (the .private file's lines, when
 * read, override them). Returns 0 or a negative error with a message in
 * err. */
int fg_dnskey_parse_public(const char *text, size_t len, fg_dnskey_t *k,
			   char *err, size_t errlen);

/* Parse the .private file text for the key `k` whose public half is
 * already parsed: the algorithm must match and the private key must yield
 * exactly the published public key. Sets k->pkey and the timing fields. */
int fg_dnskey_parse_private(const char *text, size_t len, fg_dnskey_t *k,
			    char *err, size_t errlen);

/* RFC 4034 appendix B key tag of DNSKEY rdata. */
uint16_t fg_dnskey_tag(const uint8_t *rdata, size_t rdlen);

/* DS rdata (RFC 4509, digest type 2 = SHA-256) into out (cap >= 36).
 * Returns its length (36) or a negative error. */
int fg_dnskey_ds_sha256(const fg_dnskey_t *k, uint8_t *out, size_t cap);

/* Base64 (RFC 4648) decoding that skips blanks; returns the decoded length
 * or a negative error (bad character, bad padding, overflow). */
int fg_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap);

/* Free the private key and zeroize. Safe on a zeroed struct. */
void fg_dnskey_clear(fg_dnskey_t *k);

/* Generate a new key pair for `zone_text` (presentation form): fills k
 * (public half and pkey). flags 257 (KSK/CSK) or 256 (ZSK). */
int fg_dnskey_generate(const char *zone_text, uint8_t alg, uint16_t flags,
		       fg_dnskey_t *k, char *err, size_t errlen);

/* BIND-format file contents for a key with its private half: `pub` gets
 * the .key text, `priv` the .private text (v1.3). `now` is written as the
 * Created and Publish times, `activate` (0: now) as the Activate time.
 * Return 0 or -FG_ESPACE. The private text is a secret: the caller
 * zeroizes the buffer after writing it. */
int fg_dnskey_format(const fg_dnskey_t *k, int64_t now, int64_t activate, char *pub,
		     size_t publen, char *priv, size_t privlen);

#endif
