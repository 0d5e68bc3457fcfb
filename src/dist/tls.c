/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TLS 1.3 for the controller <-> agent channel: see tls.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "dist/tls.h"

void fg_dist_ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	if (err)
		snprintf(err, errlen, "%s: %s", what, e ? buf : "failed");
	ERR_clear_error();
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fg_dist_psk_parse(const char *text, uint8_t *psk, size_t *len, char *err, size_t errlen)
{
	const char *p = text;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	size_t n = 0;
	while (hexval(p[n]) >= 0)
		n++;
	const char *q = p + n;
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	if (*q)
		return fg_errf(err, errlen, -FG_ESYNTAX, "not hex digits (a character outside 0-9a-f "
			       "at offset %zu)", (size_t)(q - text));
	if (n % 2 || n < 2 * FG_DIST_PSK_MIN || n > 2 * FG_DIST_PSK_MAX)
		return fg_errf(err, errlen, -FG_ESYNTAX, "%zu hex digits: a key is %d to %d octets "
			       "(64 to 128 hex digits)", n, FG_DIST_PSK_MIN, FG_DIST_PSK_MAX);
	for (size_t i = 0; i < n / 2; i++)
		psk[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
	*len = n / 2;
	return 0;
}

int fg_dist_psk_read(const char *path, uint8_t *psk, size_t *len, char *err, size_t errlen)
{
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return fg_errf(err, errlen, -e, "%s: %s", path, strerror(e));
	buf[n] = '\0';
	char why[160];
	int rc = fg_dist_psk_parse(buf, psk, len, why, sizeof(why));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc < 0)
		return fg_errf(err, errlen, rc, "%s: %s", path, why);
	return 0;
}

/* ex_data slots: the client's key, the server's lookup and the identity it
 * accepted */
static int idx_key = -1, idx_self = -1, idx_lookup = -1, idx_lookup_ctx = -1, idx_psk_id = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void free_psk_id(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	free(ptr);
}

static void idx_init(void)
{
	idx_key = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_self = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_lookup = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_lookup_ctx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	idx_psk_id = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_psk_id);
}

/* A TLS 1.3 external PSK as OpenSSL wants it: a session whose master key
 * is the PSK, with an SHA-256 cipher suite. */
static SSL_SESSION *psk_session(SSL *ssl, const fg_dist_key_t *k)
{
	static const unsigned char aes128gcm[] = { 0x13, 0x01 };
	const SSL_CIPHER *c = SSL_CIPHER_find(ssl, aes128gcm);
	SSL_SESSION *s = c ? SSL_SESSION_new() : NULL;
	if (!s)
		return NULL;
	static const unsigned char sid_ctx[] = "fluxgate-dist";
	if (!SSL_SESSION_set1_master_key(s, k->psk, k->psklen) || !SSL_SESSION_set_cipher(s, c) ||
	    !SSL_SESSION_set1_id_context(s, sid_ctx, sizeof(sid_ctx) - 1) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		return NULL;
	}
	return s;
}

static int client_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
			 SSL_SESSION **sess)
{
	const fg_dist_key_t *k = SSL_get_ex_data(ssl, idx_key);
	const char *self = SSL_get_ex_data(ssl, idx_self);
	*sess = NULL;
	if (!k || !k->psklen || !self)
		return 1;   /* certificates */
	SSL_SESSION *s = psk_session(ssl, k);
	if (!s)
		return 0;
	if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
		SSL_SESSION_free(s);
		return 1;
	}
	*id = (const unsigned char *)self;
	*idlen = strlen(self);
	*sess = s;
	return 1;
}

static int server_psk_cb(SSL *ssl, const unsigned char *identity, size_t len, SSL_SESSION **sess)
{
	fg_dist_key_lookup_fn fn = (fg_dist_key_lookup_fn)(uintptr_t)SSL_get_ex_data(ssl, idx_lookup);
	void *ctx = SSL_get_ex_data(ssl, idx_lookup_ctx);
	char id[FG_DIST_ID_MAX + 1];
	*sess = NULL;
	if (!fn || len == 0 || len > FG_DIST_ID_MAX)
		return 1;     /* no PSK: the handshake then needs a certificate */
	memcpy(id, identity, len);
	id[len] = '\0';
	const fg_dist_key_t *k = fn(ctx, id);
	if (!k || !k->psklen)
		return 1;
	*sess = psk_session(ssl, k);
	if (*sess) {
		char *copy = strdup(id);
		free(SSL_get_ex_data(ssl, idx_psk_id));
		SSL_set_ex_data(ssl, idx_psk_id, copy);
	}
	return *sess ? 1 : 0;
}

SSL_CTX *fg_dist_tls_ctx(bool server, const fg_dist_tls_files_t *f, char *err, size_t errlen)
{
	pthread_once(&idx_once, idx_init);
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		fg_dist_ossl_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* SHA-256 suites only: an external PSK is bound to one hash, and a
	 * server picking an SHA-384 suite would ignore the PSK */
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256") != 1) {
		fg_dist_ossl_err(err, errlen, "ciphersuites");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* every connection authenticates afresh: no tickets, no resumption */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* required with peer verification, though nothing is resumed */
	static const unsigned char sid_ctx[] = "fluxgate-dist";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (server)
		SSL_CTX_set_psk_find_session_callback(ctx, server_psk_cb);
	else
		SSL_CTX_set_psk_use_session_callback(ctx, client_psk_cb);
	if (f && f->cert) {
		if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
			fg_dist_ossl_err(err, errlen, f->cert);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			fg_dist_ossl_err(err, errlen, f->key);
			goto fail;
		}
		if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
			fg_dist_ossl_err(err, errlen, f->ca);
			goto fail;
		}
	}
	/* a certificate, when one is used, must chain to tls-ca; the server
	 * demands one from a client that offered no PSK */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

SSL *fg_dist_tls_client(SSL_CTX *ctx, int fd, const char *self_id, const fg_dist_key_t *key)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	set_nonblock(fd);
	SSL_set_fd(ssl, fd);
	SSL_set_ex_data(ssl, idx_self, (void *)self_id);
	SSL_set_ex_data(ssl, idx_key, (void *)key);
	if (!key->psklen) {
		/* certificates: the agent's must name its id */
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, key->id) != 1) {
			SSL_free(ssl);
			return NULL;
		}
	} else {
		/* PSK only: a server certificate is not expected */
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

SSL *fg_dist_tls_server(SSL_CTX *ctx, int fd, fg_dist_key_lookup_fn fn, void *fnctx)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	set_nonblock(fd);
	SSL_set_fd(ssl, fd);
	SSL_set_ex_data(ssl, idx_lookup, (void *)(uintptr_t)fn);
	SSL_set_ex_data(ssl, idx_lookup_ctx, fnctx);
	SSL_set_accept_state(ssl);
	return ssl;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_io(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int fg_dist_tls_handshake(SSL *ssl, int fd, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		ERR_clear_error();
		int r = SSL_do_handshake(ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int rc = wait_io(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (rc < 0)
				return fg_errf(err, errlen, rc, "TLS handshake: %s", fg_strerror(rc));
			continue;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			ERR_clear_error();
			return fg_errf(err, errlen, -ECONNRESET, "TLS handshake: connection closed by the peer");
		}
		X509 *peer = SSL_get0_peer_certificate(ssl);
		long v = SSL_get_verify_result(ssl);
		if (peer && v != X509_V_OK) {
			ERR_clear_error();
			return fg_errf(err, errlen, -FG_EAUTH, "TLS handshake: certificate: %s",
				       X509_verify_cert_error_string(v));
		}
		fg_dist_ossl_err(err, errlen, "TLS handshake");
		return -FG_EAUTH;
	}
}

const char *fg_dist_tls_psk_id(SSL *ssl)
{
	const char *id = SSL_get_ex_data(ssl, idx_psk_id);
	return id ? id : "";
}

bool fg_dist_tls_peer_is(SSL *ssl, const char *expect)
{
	const char *pid = SSL_get_ex_data(ssl, idx_psk_id);
	if (pid)
		return SSL_session_reused(ssl) && strcmp(pid, expect) == 0;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (!cert)
		return false;
	bool ok = SSL_get_verify_result(ssl) == X509_V_OK &&
		  X509_check_host(cert, expect, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	X509_free(cert);
	return ok;
}

int fg_dist_tls_write(SSL *ssl, int fd, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	const uint8_t *p = buf;
	while (len) {
		ERR_clear_error();
		int r = SSL_write(ssl, p, (int)len);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int rc = wait_io(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		ERR_clear_error();
		return -ECONNRESET;
	}
	return 0;
}

int fg_dist_tls_read(SSL *ssl, fg_dist_rbuf_t *rb, char *err, size_t errlen)
{
	if (rb->have >= sizeof(rb->buf))
		return 0;
	ERR_clear_error();
	int r = SSL_read(ssl, rb->buf + rb->have, (int)(sizeof(rb->buf) - rb->have));
	if (r > 0) {
		rb->have += (size_t)r;
		return r;
	}
	int e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
		ERR_clear_error();
		return fg_errf(err, errlen, -ECONNRESET, "connection closed by the peer");
	}
	fg_dist_ossl_err(err, errlen, "TLS");
	return -FG_EAUTH;
}

int fg_dist_rbuf_frame(const fg_dist_rbuf_t *rb, char *err, size_t errlen)
{
	if (rb->have < FG_DIST_HDR_LEN)
		return 0;
	fg_dist_hdr_t h;
	int rc = fg_dist_hdr_decode(rb->buf, rb->have, &h, err, errlen);
	if (rc < 0)
		return rc;
	size_t total = FG_DIST_HDR_LEN + (size_t)h.len;
	return rb->have >= total ? (int)total : 0;
}

void fg_dist_rbuf_consume(fg_dist_rbuf_t *rb, size_t n)
{
	if (n >= rb->have) {
		rb->have = 0;
		return;
	}
	memmove(rb->buf, rb->buf + n, rb->have - n);
	rb->have -= n;
}

int fg_dist_wait(int fd, int extra, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = extra, .events = POLLIN } };
	int n = poll(p, extra >= 0 ? 2 : 1, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	if (p[0].revents)
		return 1;
	return 2;
}
