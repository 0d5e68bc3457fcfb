/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One direction of the SSH binary packet protocol (RFC 4253 6): framing,
 * padding, encryption and integrity, with the ciphers OpenSSH clients pick
 * from an OpenSSH server's list:
 *
 *   chacha20-poly1305@openssh.com   (OpenSSH PROTOCOL.chacha20poly1305:
 *                                    64-byte key, K_1 seals the length)
 *   aes128-gcm@openssh.com, aes256-gcm@openssh.com   (RFC 5647)
 *   aes128-ctr, aes192-ctr, aes256-ctr (RFC 4344) with hmac-sha2-256,
 *       hmac-sha2-512, hmac-sha1 (RFC 6668, 4253) or their -etm@openssh.com
 *       forms (MAC over the ciphertext, length in clear)
 *
 * and "none" before the first NEWKEYS. All crypto is OpenSSL's (EVP
 * ciphers, EVP_MAC Poly1305 and HMAC); tags are compared in constant time
 * and key material is cleansed on reset.
 *
 * Pure apart from RAND_bytes for the padding. Ownership: a direction owns
 * its OpenSSL contexts; fd_ssh_dir_reset() releases them.
 */
#ifndef FG_DECOY_SSHCIPHER_H
#define FG_DECOY_SSHCIPHER_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fd_ssh_ck { FD_SSHC_NONE = 0, FD_SSHC_CHACHA, FD_SSHC_GCM, FD_SSHC_CTR };

typedef struct fd_ssh_dir {
	int kind;                 /* enum fd_ssh_ck */
	bool encrypt;
	EVP_CIPHER_CTX *ctx;      /* gcm, ctr: the running context */
	uint8_t key[64];          /* chacha: K_2 || K_1 */
	uint8_t iv[16];           /* gcm: fixed 4 || invocation counter 8 */
	const EVP_MD *md;         /* ctr: the HMAC digest */
	uint8_t mackey[64];
	size_t mackeylen, maclen;
	bool etm;
	size_t bs;                /* block size for the padding */
	uint32_t seq;             /* packet sequence number */
	/* ctr without etm, receiving: the first block is decrypted to read
	 * the length before the rest has arrived */
	bool have_first;
	uint8_t first[16];
} fd_ssh_dir_t;

/* Key, IV and MAC key sizes the KDF has to produce; 0 and false for a name
 * not implemented. The MAC is ignored (0) for the AEAD ciphers. */
bool fd_ssh_cipher_known(const char *name);
bool fd_ssh_mac_known(const char *name);
bool fd_ssh_cipher_aead(const char *name);
size_t fd_ssh_cipher_keylen(const char *name);
size_t fd_ssh_cipher_ivlen(const char *name);
size_t fd_ssh_mac_keylen(const char *name);

/* Switch `d` to cipher / mac (mac ignored for AEAD) with the derived key
 * material; the sequence number is kept. Returns 0 or -EINVAL / -EIO. */
int fd_ssh_dir_set(fd_ssh_dir_t *d, const char *cipher, const char *mac,
		   const uint8_t *key, const uint8_t *iv, const uint8_t *mackey,
		   bool encrypt);
void fd_ssh_dir_reset(fd_ssh_dir_t *d);

/* Frame, pad and protect `payload` into out. Returns the bytes written or
 * -FG_ESPACE / -EIO. Advances the sequence number. */
int fd_ssh_seal(fd_ssh_dir_t *d, const uint8_t *payload, size_t plen,
		uint8_t *out, size_t outlen);

/* Read one packet from in[0..len): on success returns the bytes consumed
 * and points *payload (*plen) into `scratch` (scap bytes, at least the
 * packet's size). -EAGAIN: incomplete; -FG_EMALF: impossible length or
 * padding; -FG_EAUTH: the tag or MAC does not verify. */
int fd_ssh_open(fd_ssh_dir_t *d, const uint8_t *in, size_t len, uint8_t *scratch,
		size_t scap, const uint8_t **payload, size_t *plen);

#endif
