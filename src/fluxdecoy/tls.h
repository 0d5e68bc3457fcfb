/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TLS for HTTPS personas (OpenSSL). With the operator's chain and key the
 * decoy presents exactly the real server's certificates. Without them it
 * presents a certificate of the same shape as the captured leaf: the same
 * subject, issuer, subjectAltName, key type and size (RSA bits or EC
 * curve) and validity length, freshly keyed and self-signed (it cannot
 * carry the real issuer's signature); the captured intermediates follow it.
 *
 * Ownership: fd_tls_ctx_*() return an SSL_CTX owned by the caller
 * (SSL_CTX_free). Messages go to err.
 */
#ifndef FG_FLUXDECOY_TLS_H
#define FG_FLUXDECOY_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "decoy/persona.h"

SSL_CTX *fd_tls_ctx_from_files(const char *chain, const char *key,
			       char *err, size_t errlen);
SSL_CTX *fd_tls_ctx_shaped(const char *captured_pem, char *err, size_t errlen);

/* Answer ALPN as the real server does: select from sv->alpn (in the
 * client's or the persona's order, sv->alpn_prefer), no ALPN extension when
 * nothing matches or the persona lists none. sv must outlive ctx. */
void fd_tls_set_alpn(SSL_CTX *ctx, const fd_service_t *sv);

/* Whether the handshake of ssl selected "h2". */
bool fd_tls_is_h2(const SSL *ssl);

#endif
