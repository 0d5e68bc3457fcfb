/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSH host keys of the decoy (RFC 4253 6.6, RFC 5656, RFC 8709, RFC 8332):
 * reading an unencrypted OpenSSH private key ("openssh-key-v1") or a PEM
 * key into an EVP_PKEY, the public key blob, the signature blob over an
 * exchange hash, and the SHA256 fingerprint as ssh-keygen prints it. The
 * crypto is OpenSSL's; the wire is ours, through bounds-checked cursors.
 * Pure: buffers in, buffers out; no files, no globals.
 *
 * Ownership: fd_sshkey_parse() / fd_sshkey_generate() return an EVP_PKEY
 * owned by the caller (EVP_PKEY_free). The others borrow their key.
 */
#ifndef FG_DECOY_SSHKEY_H
#define FG_DECOY_SSHKEY_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

enum fd_sshk_type { FD_SSHK_NONE = -1, FD_SSHK_ED25519 = 0, FD_SSHK_ECDSA256,
		    FD_SSHK_RSA, FD_SSHK_NTYPES };

/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa" (the key's own name) */
extern const char *const fd_sshk_names[FD_SSHK_NTYPES];

/* The key type a host key algorithm needs ("rsa-sha2-512" -> RSA), or
 * FD_SSHK_NONE for an algorithm the decoy cannot sign with. */
int fd_sshk_type_of_alg(const char *alg);

/* The type of an EVP_PKEY, FD_SSHK_NONE when not usable (an EC key on
 * another curve, RSA under 2048 or over 8192 bits). */
int fd_sshkey_type(EVP_PKEY *k);

/* Read a private key held in buf: "-----BEGIN OPENSSH PRIVATE KEY-----"
 * (unencrypted only) or any PEM private key OpenSSL reads. Returns 0 and
 * *out, or -FG_EMALF with a message in err. */
int fd_sshkey_parse(const uint8_t *buf, size_t len, EVP_PKEY **out,
		    char *err, size_t errlen);

/* A fresh key of `type` (RSA: 3072 bits, as ssh-keygen). NULL on failure. */
EVP_PKEY *fd_sshkey_generate(int type);

/* The public key blob (RFC 4253 6.6) into out; its length or -FG_ESPACE. */
int fd_sshkey_blob(EVP_PKEY *k, uint8_t *out, size_t outlen);

/* The signature blob of host key algorithm `alg` over data. Returns its
 * length, -FG_ESPACE, or -EIO when OpenSSL fails. */
int fd_sshkey_sign(EVP_PKEY *k, const char *alg, const uint8_t *data, size_t dlen,
		   uint8_t *out, size_t outlen);

/* "SHA256:" + unpadded base64 of SHA-256(blob), as ssh-keygen -l. */
void fd_ssh_fingerprint(const uint8_t *blob, size_t len, char out[64]);

#endif
