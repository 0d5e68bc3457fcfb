/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "decoy/httpwire.h"
#include "fluxdecoy/tls.h"

static void ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "failed");
	ERR_clear_error();
}

static SSL_CTX *new_ctx(char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ossl_err(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* the decoy resumes nothing: no ticket key to keep */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

SSL_CTX *fd_tls_ctx_from_files(const char *chain, const char *key,
			       char *err, size_t errlen)
{
	SSL_CTX *ctx = new_ctx(err, errlen);

	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, chain) != 1) {
		ossl_err(err, errlen, chain);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ossl_err(err, errlen, key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ossl_err(err, errlen, "tls-key does not match the tls-cert leaf");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* A new key of the same type and size as `like`. */
static EVP_PKEY *same_kind_key(EVP_PKEY *like)
{
	int id = EVP_PKEY_get_base_id(like);
	char group[80];
	size_t glen = 0;

	if (id == EVP_PKEY_RSA)
		return EVP_RSA_gen((unsigned)EVP_PKEY_get_bits(like));
	if (id == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(like, "group", group, sizeof(group), &glen))
		return EVP_EC_gen(group);
	if (id == EVP_PKEY_ED25519)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (id == EVP_PKEY_ED448)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	return NULL;
}

static X509 *shaped_leaf(X509 *orig, EVP_PKEY *key)
{
	X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;
	const ASN1_TIME *nb = X509_get0_notBefore(orig), *na = X509_get0_notAfter(orig);
	int days = 0, secs = 0;
	int crit = -1;
	GENERAL_NAMES *san;
	const EVP_MD *md;

	if (!x || !ASN1_TIME_diff(&days, &secs, nb, na))
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_set_version(x, X509_get_version(orig)) ||
	    !X509_set_subject_name(x, X509_get_subject_name(orig)) ||
	    !X509_set_issuer_name(x, X509_get_issuer_name(orig)) ||
	    !X509_set_pubkey(x, key))
		goto out;
	/* same validity length, starting a day ago like a recently issued one */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, secs - 86400, NULL))
		goto out;
	san = X509_get_ext_d2i(orig, NID_subject_alt_name, &crit, NULL);
	if (san) {
		int r = X509_add1_ext_i2d(x, NID_subject_alt_name, san, crit > 0, 0);
		GENERAL_NAMES_free(san);
		if (r != 1)
			goto out;
	}
	md = (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ||
	      EVP_PKEY_get_base_id(key) == EVP_PKEY_ED448) ? NULL : EVP_sha256();
	if (X509_sign(x, key, md) <= 0)
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

SSL_CTX *fd_tls_ctx_shaped(const char *captured_pem, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(captured_pem, -1);
	X509 *orig = NULL, *leaf = NULL, *extra;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;

	if (!bio || !(orig = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		ossl_err(err, errlen, "tls-chain of the persona");
		goto out;
	}
	EVP_PKEY *opub = X509_get0_pubkey(orig);
	if (!opub || !(key = same_kind_key(opub))) {
		snprintf(err, errlen, "tls-chain: cannot make a key like the leaf's");
		goto out;
	}
	if (!(leaf = shaped_leaf(orig, key))) {
		ossl_err(err, errlen, "shaped certificate");
		goto out;
	}
	if (!(ctx = new_ctx(err, errlen)))
		goto out;
	if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		ossl_err(err, errlen, "shaped certificate");
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1)  /* takes it */
			X509_free(extra);
	ERR_clear_error();  /* the end of the PEM stream */
out:
	X509_free(orig);
	X509_free(leaf);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return ctx;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const fd_service_t *sv = arg;
	int k = fd_alpn_pick(in, inlen, sv->alpn.v, sv->alpn.n,
			     sv->alpn_prefer == FD_ALPN_CLIENT);

	if (k < 0)
		return SSL_TLSEXT_ERR_NOACK;
	*out = (const unsigned char *)sv->alpn.v[k];
	*outlen = (unsigned char)strlen(sv->alpn.v[k]);
	return SSL_TLSEXT_ERR_OK;
}

void fd_tls_set_alpn(SSL_CTX *ctx, const fd_service_t *sv)
{
	if (sv->alpn.n)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_select, (void *)sv);
}

bool fd_tls_is_h2(const SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned len = 0;

	SSL_get0_alpn_selected(ssl, &p, &len);
	return len == 2 && memcmp(p, "h2", 2) == 0;
}
