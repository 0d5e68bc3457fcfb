/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/siphash.h"

#include <errno.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct fg_siphash {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

int fg_siphash_new(fg_siphash_t **out)
{
	fg_siphash_t *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	h->ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
	if (!h->ctx) {
		fg_siphash_free(h);
		return -ENOTSUP;
	}
	*out = h;
	return 0;
}

void fg_siphash_free(fg_siphash_t *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	free(h);
}

int fg_siphash24(fg_siphash_t *h, const uint8_t key[FG_SIPHASH_KEYLEN],
		 const void *data, size_t len, uint8_t out[8])
{
	/* OpenSSL's default is the 128-bit variant; 2-4 rounds are its
	 * default and stated anyway so the output cannot change under us */
	size_t size = 8;
	unsigned int crounds = 2, drounds = 4;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &crounds),
		OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &drounds),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;

	if (!EVP_MAC_init(h->ctx, key, FG_SIPHASH_KEYLEN, params) ||
	    !EVP_MAC_update(h->ctx, data, len) ||
	    !EVP_MAC_final(h->ctx, out, &outl, 8) || outl != 8)
		return -EIO;
	return 0;
}
