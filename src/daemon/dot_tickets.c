/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/dot_tickets.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rand.h>

typedef struct tk_key {
	bool live;
	uint64_t born_ms;
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char mac[32];
} tk_key_t;

struct fg_tkr {
	pthread_mutex_t mu;
	uint64_t period_ms;
	unsigned rotations;
	tk_key_t cur, prev;
};

static int key_draw(tk_key_t *k, uint64_t now_ms)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_bytes(k->mac, sizeof(k->mac)) != 1) {
		OPENSSL_cleanse(k, sizeof(*k));
		return -EIO;
	}
	k->live = true;
	k->born_ms = now_ms;
	return 0;
}

int fg_tkr_new(uint64_t period_ms, uint64_t now_ms, fg_tkr_t **out)
{
	fg_tkr_t *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->period_ms = period_ms ? period_ms : 1;
	if (key_draw(&r->cur, now_ms) < 0) {
		free(r);
		return -EIO;
	}
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void fg_tkr_free(fg_tkr_t *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

/* Under the lock: age the ring to `now`. After two periods without a
 * ticket both keys are stale: the previous one is dropped too. */
static int rotate(fg_tkr_t *r, uint64_t now_ms)
{
	while (now_ms - r->cur.born_ms >= r->period_ms) {
		tk_key_t next;
		if (key_draw(&next, r->cur.born_ms + r->period_ms) < 0)
			return -EIO;
		OPENSSL_cleanse(&r->prev, sizeof(r->prev));
		r->prev = r->cur;
		r->cur = next;
		OPENSSL_cleanse(&next, sizeof(next));
		r->rotations++;
		/* far behind (no handshake for a long time): skip ahead */
		if (now_ms - r->cur.born_ms >= 2 * r->period_ms) {
			OPENSSL_cleanse(&r->prev, sizeof(r->prev));
			r->cur.born_ms = now_ms;
		}
	}
	return 0;
}

static int mac_init(EVP_MAC_CTX *h, const unsigned char *key)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)key, 32),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	return EVP_MAC_CTX_set_params(h, p) == 1 ? 0 : -1;
}

int fg_tkr_crypt(fg_tkr_t *r, uint64_t now_ms, unsigned char name[16], unsigned char *iv,
		 EVP_CIPHER_CTX *c, EVP_MAC_CTX *h, int enc)
{
	int rc = -1;
	pthread_mutex_lock(&r->mu);
	if (rotate(r, now_ms) < 0)
		goto out;
	if (enc) {
		if (RAND_bytes(iv, 16) != 1)
			goto out;
		memcpy(name, r->cur.name, 16);
		if (EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, r->cur.aes, iv) != 1 ||
		    mac_init(h, r->cur.mac) < 0)
			goto out;
		rc = 1;
		goto out;
	}
	const tk_key_t *k = NULL;
	if (CRYPTO_memcmp(name, r->cur.name, 16) == 0) {
		k = &r->cur;
		rc = 1;
	} else if (r->prev.live && CRYPTO_memcmp(name, r->prev.name, 16) == 0) {
		k = &r->prev;
		rc = 2;
	} else {
		rc = 0;
		goto out;
	}
	if (EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1 || mac_init(h, k->mac) < 0)
		rc = -1;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

unsigned fg_tkr_rotations(fg_tkr_t *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned n = r->rotations;
	pthread_mutex_unlock(&r->mu);
	return n;
}
