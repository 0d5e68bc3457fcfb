/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The encapsulation side of Streamlined NTRU Prime sntrup761 (the NTRU
 * Prime round 3 specification: p = 761, q = 4591, w = 286), the KEM half
 * of OpenSSH's sntrup761x25519-sha512@openssh.com, written from the
 * specification (OpenSSL has no NTRU Prime). Only encapsulation: the
 * decoy is the server, the client holds the secret key.
 *
 * Pure apart from RAND_bytes; no globals.
 */
#ifndef FG_DECOY_SNTRUP761_H
#define FG_DECOY_SNTRUP761_H

#include <stdint.h>

#define FD_SNTRUP761_PK 1158   /* public key */
#define FD_SNTRUP761_CT 1039   /* ciphertext: rounded 1007 || confirm 32 */
#define FD_SNTRUP761_KEY 32

/* Encapsulate to pk: ct and the 32-byte session key. 0, or -EIO. */
int fd_sntrup761_enc(const uint8_t pk[FD_SNTRUP761_PK], uint8_t ct[FD_SNTRUP761_CT],
		     uint8_t key[FD_SNTRUP761_KEY]);

/* The encoding of the specification (exposed for the unit tests): encode
 * n values R[i] < M[i] into out (at most outlen), returning the length;
 * decode is its inverse. */
int fd_sntrup_encode(const uint32_t *R, const uint32_t *M, int n, uint8_t *out,
		     int outlen);
int fd_sntrup_decode(const uint8_t *s, int slen, const uint32_t *M, int n,
		     uint32_t *R);

#endif
