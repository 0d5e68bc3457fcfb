/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decoy's SSH server session (RFC 4253, 4252): after the version line
 * it sends the persona's KEXINIT (cloned from the real sshd), answers the
 * key exchange the client picks from it (sntrup761x25519-sha512,
 * curve25519-sha256[@libssh.org], ecdh-sha2-nistp256/384/521, the RFC 3526
 * diffie-hellman groups and group exchange: all of OpenSSH 9.2's), signs
 * the exchange hash with the decoy's own host key of the negotiated type,
 * switches to the negotiated cipher (sshcipher.h) after NEWKEYS (strict
 * KEX when both sides offer it, as OpenSSH 9.2p1-2+deb12u3 and later do),
 * sends EXT_INFO like sshd, then runs ssh-userauth: every attempt
 * (username, method, password, public key fingerprint, keyboard-interactive
 * responses) becomes an "ssh_auth" event and fails with the real sshd's
 * method list, after a delay like sshd's, until MaxAuthTries disconnects.
 *
 * Pure apart from OpenSSL (crypto, RAND); no I/O, no clock: the caller
 * passes the time and writes the bytes the session hands to io->out.
 *
 * Ownership: the session borrows `cfg` (and the persona lists in it) for
 * its lifetime and takes its own reference on each host key.
 */
#ifndef FG_DECOY_SSHSESS_H
#define FG_DECOY_SSHSESS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoy/persona.h"
#include "decoy/sshkey.h"

typedef struct fd_ssh_cfg {
	const char *version;            /* "SSH-2.0-..." without CR LF */
	const fd_strlist_t *kex;        /* the persona's 10 KEXINIT lists */
	EVP_PKEY *hostkey[FD_SSHK_NTYPES]; /* active host keys (NULL: none) */
	const char *auth_methods;       /* USERAUTH_FAILURE list */
	unsigned max_auth_tries;        /* sshd's MaxAuthTries */
	uint32_t auth_delay_ms;         /* before a password / kbd failure */
	const char *server_sig_algs;    /* EXT_INFO value; NULL: none sent */
} fd_ssh_cfg_t;

typedef struct fd_ssh_io {
	void *ctx;
	/* queue bytes for the client; negative: give up the flow */
	int (*out)(void *ctx, const uint8_t *p, size_t n);
	/* one event ("ssh", "ssh_kexinit", "ssh_kex", "ssh_auth",
	 * "protocol_error"); takes ownership of fields */
	void (*event)(void *ctx, const char *event, json_t *fields);
} fd_ssh_io_t;

typedef struct fd_ssh_sess fd_ssh_sess_t;

enum { FD_SSH_MORE = 0, FD_SSH_DONE = 1 };

/* KEX methods this session can answer. */
bool fd_ssh_kex_known(const char *name);

int fd_ssh_sess_new(const fd_ssh_cfg_t *cfg, fd_ssh_sess_t **out);
void fd_ssh_sess_free(fd_ssh_sess_t *s);

/* Consume client bytes in[0..len) (*used: how many). Returns FD_SSH_MORE,
 * FD_SSH_DONE (close after sending what is queued), or a negative code for
 * input the protocol refuses (a "protocol_error" event was emitted). While
 * output is deferred (fd_ssh_sess_due), nothing is consumed. */
int fd_ssh_sess_input(fd_ssh_sess_t *s, const uint8_t *in, size_t len,
		      uint64_t now_ms, const fd_ssh_io_t *io, size_t *used);

/* Time (ms, the caller's clock) at which deferred output is due; 0: none. */
uint64_t fd_ssh_sess_due(const fd_ssh_sess_t *s);

/* Hand the deferred output to io->out. FD_SSH_MORE or FD_SSH_DONE. */
int fd_ssh_sess_release(fd_ssh_sess_t *s, const fd_ssh_io_t *io);

/* Parsers of client messages, exposed for the unit tests and the fuzzer.
 * A USERAUTH_REQUEST payload (type byte included): */
typedef struct fd_ssh_authreq {
	const uint8_t *user, *service, *method;
	size_t userlen, servicelen, methodlen;
	/* password */
	bool change;
	const uint8_t *password, *newpassword;
	size_t passwordlen, newpasswordlen;
	/* publickey */
	bool has_sig;
	const uint8_t *alg, *blob;
	size_t alglen, bloblen;
} fd_ssh_authreq_t;

int fd_ssh_authreq_parse(const uint8_t *p, size_t n, fd_ssh_authreq_t *r);

/* Printable copy of untrusted bytes: ASCII 0x20..0x7e kept, '\\' and the
 * rest as \xHH; cut (NUL-terminated) to outlen. */
void fd_ssh_printable(const uint8_t *p, size_t n, char *out, size_t outlen);

/* Key exchange primitives, shared with the clone's client (sshprobe.h):
 * X25519 with a peer share (our share and the secret; the all-zero secret
 * refused), an SSH string into a running hash, and RFC 4253 7.2 key
 * derivation of `need` bytes for letter x. */
int fd_ssh_x25519(const uint8_t *qc, size_t qn, uint8_t qs[32], uint8_t sec[32]);
void fd_ssh_hash_str(EVP_MD_CTX *mc, const uint8_t *p, size_t n);
int fd_ssh_derive_key(const EVP_MD *md, const uint8_t *kenc, size_t kn,
		      const uint8_t *h, size_t hl, char x, const uint8_t *sid,
		      size_t sidlen, uint8_t *out, size_t need);

#endif
