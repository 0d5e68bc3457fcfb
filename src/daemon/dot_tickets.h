/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session ticket keys of the DNS-over-TLS listener: a ring of two keys
 * (current and previous) that rotates every `period`. A ticket is sealed
 * with the current key; one sealed with the previous key is still accepted
 * and renewed (the client gets a ticket under the current key), and one
 * older than that is refused (a full handshake). So a stolen ticket key
 * opens at most two periods of sessions, and a ticket lives at most two
 * periods. Keys are drawn with RAND_bytes and zeroized when dropped.
 *
 * fg_tkr_crypt() has the contract of OpenSSL's ticket key callback
 * (SSL_CTX_set_tlsext_ticket_key_evp_cb: AES-256-CBC, HMAC-SHA256), with
 * the clock passed in so that rotation is testable. Thread-safe (a mutex:
 * one TLS handshake in several thousand takes it for a few microseconds).
 *
 * Ownership: fg_tkr_new() returns a ring owned by the caller, freed (and
 * its keys zeroized) by fg_tkr_free().
 */
#ifndef FG_DAEMON_DOT_TICKETS_H
#define FG_DAEMON_DOT_TICKETS_H

#include <stdint.h>

#include <openssl/evp.h>

typedef struct fg_tkr fg_tkr_t;

int fg_tkr_new(uint64_t period_ms, uint64_t now_ms, fg_tkr_t **out);
void fg_tkr_free(fg_tkr_t *r);

/* enc=1: pick the current key (rotating first when it is due), write its
 * name and a fresh IV, initialize `c` for encryption and `h` with the
 * HMAC key; returns 1. enc=0: find the key named `name`; returns 1 (the
 * current key), 2 (the previous one: accept, renew), 0 (unknown or
 * expired: full handshake), -1 on an OpenSSL failure. */
int fg_tkr_crypt(fg_tkr_t *r, uint64_t now_ms, unsigned char name[16], unsigned char *iv,
		 EVP_CIPHER_CTX *c, EVP_MAC_CTX *h, int enc);

/* Rotations done so far (for tests and logs). */
unsigned fg_tkr_rotations(fg_tkr_t *r);

#endif
