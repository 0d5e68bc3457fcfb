/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxdecoy clone` of an HTTPS server that selects ALPN h2: its SETTINGS
 * (in its order) and the WINDOW_UPDATE it sends on the connection before
 * answering, read through one GET / with libnghttp2 as the client, as curl
 * would send it. The fields and the page of its h2 answers are the HTTP/1
 * ones (decoy/h2sess.h), so only these are captured here.
 */
#ifndef FG_FLUXDECOY_CLONE_H2_H
#define FG_FLUXDECOY_CLONE_H2_H

#include <openssl/ssl.h>

/* ssl: a blocking connection (read timeouts set) whose handshake selected
 * h2. On 0, *settings is "ID:VALUE ..." (malloc'ed, owned by the caller)
 * and *window_update the connection increment (0: none). -FG_EMALF: the
 * server spoke no h2 or sent no SETTINGS; -EIO: the connection failed. */
int fd_clone_h2(SSL *ssl, const char *authority, char **settings,
		unsigned *window_update);

#endif
