/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The distributed-mode channel's TLS: TLS 1.3 only (OpenSSL), mutually
 * authenticated either by an external PSK per peer (RFC 8446 section
 * 2.2: the identity is the controller's dist.id, with (EC)DHE, so it has
 * forward secrecy) or by certificates (dist.tls-ca, tls-cert, tls-key; the
 * peer's certificate must carry its dist.id as a DNS name, like Knot's and
 * unbound's TLS settings). A client that offers neither (a plaintext one,
 * an unknown identity, a wrong key) fails the handshake: the server has no
 * certificate to fall back on unless certificates are configured, and then
 * it requires one from the client.
 *
 * Sockets are non-blocking; these helpers poll with deadlines, so a peer
 * that stops reading or writing costs a timeout, never a hung thread.
 *
 * Ownership: a context returned here is the caller's (SSL_CTX_free).
 * Keys read from files are zeroized when freed (OPENSSL_cleanse).
 */
#ifndef FG_DIST_TLS_H
#define FG_DIST_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "dist/frame.h"

#define FG_DIST_PSK_MIN 32
#define FG_DIST_PSK_MAX 64

typedef struct fg_dist_key {
	char id[FG_DIST_ID_MAX + 1];   /* the PSK identity / certificate name */
	uint8_t psk[FG_DIST_PSK_MAX];
	size_t psklen;                  /* 0: certificates */
} fg_dist_key_t;

/* Read a PSK file: 64-128 hex digits (32-64 octets), surrounding white
 * space allowed. 0 or a negative error, the reason in err (never the key). */
int fg_dist_psk_read(const char *path, uint8_t *psk, size_t *len, char *err, size_t errlen);
/* Parse the same from text (pure; tests). */
int fg_dist_psk_parse(const char *text, uint8_t *psk, size_t *len, char *err, size_t errlen);

/* Certificates are optional (all NULL: PSK only). */
typedef struct fg_dist_tls_files {
	const char *ca, *cert, *key;
} fg_dist_tls_files_t;

SSL_CTX *fg_dist_tls_ctx(bool server, const fg_dist_tls_files_t *files, char *err, size_t errlen);

/* Server side: how the PSK callback finds a controller's key by identity.
 * Returns the key or NULL (unknown identity). Called during SSL_accept. */
typedef const fg_dist_key_t *(*fg_dist_key_lookup_fn)(void *ctx, const char *id);

/* Make a client SSL that offers `key` (its psklen 0: certificates, the
 * server's name checked to be key->id). */
SSL *fg_dist_tls_client(SSL_CTX *ctx, int fd, const char *self_id, const fg_dist_key_t *key);
/* Make a server SSL that looks PSK identities up with `fn`. */
SSL *fg_dist_tls_server(SSL_CTX *ctx, int fd, fg_dist_key_lookup_fn fn, void *fnctx);

/* Run the handshake until done or `timeout_ms`. 0, or a negative error with
 * OpenSSL's reason in err. */
int fg_dist_tls_handshake(SSL *ssl, int fd, int timeout_ms, char *err, size_t errlen);
/* The authenticated peer: the PSK identity used, or for certificates
 * whether the certificate names `expect`. */
bool fg_dist_tls_peer_is(SSL *ssl, const char *expect);
/* The PSK identity the server accepted ("" for certificates). */
const char *fg_dist_tls_psk_id(SSL *ssl);

/* Write all of buf within timeout_ms. 0 or negative. */
int fg_dist_tls_write(SSL *ssl, int fd, const void *buf, size_t len, int timeout_ms);

/* A reassembly buffer of received frames. */
typedef struct fg_dist_rbuf {
	uint8_t buf[FG_DIST_MAX_FRAME];
	size_t have;
} fg_dist_rbuf_t;

/* Read what is available into rb without blocking. >0 octets read, 0
 * nothing now, -ECONNRESET peer closed, other negative: TLS error (reason
 * in err). */
int fg_dist_tls_read(SSL *ssl, fg_dist_rbuf_t *rb, char *err, size_t errlen);

/* A whole frame at the start of rb: its length (>0), 0 when incomplete, or
 * a negative error (bad header, reason in err). Pure. */
int fg_dist_rbuf_frame(const fg_dist_rbuf_t *rb, char *err, size_t errlen);
/* Drop the first n octets. */
void fg_dist_rbuf_consume(fg_dist_rbuf_t *rb, size_t n);

/* Wait until fd is readable (or `extra` when >= 0) for at most timeout_ms
 * (-1: forever). 1 fd readable, 2 extra readable, 0 timeout, negative error. */
int fg_dist_wait(int fd, int extra, int timeout_ms);

/* The most recent OpenSSL error as text into err (and clear the queue). */
void fg_dist_ossl_err(char *err, size_t errlen, const char *what);

#endif
