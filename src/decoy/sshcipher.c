/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "common/err.h"
#include "decoy/sshcipher.h"
#include "decoy/sshwire.h"

struct cipher_def {
	const char *name;
	int kind;
	size_t keylen, ivlen, bs;
	const char *evp;          /* OpenSSL's name */
};

static const struct cipher_def ciphers[] = {
	{ "chacha20-poly1305@openssh.com", FD_SSHC_CHACHA, 64, 0, 8, "ChaCha20" },
	{ "aes128-gcm@openssh.com", FD_SSHC_GCM, 16, 12, 16, "AES-128-GCM" },
	{ "aes256-gcm@openssh.com", FD_SSHC_GCM, 32, 12, 16, "AES-256-GCM" },
	{ "aes128-ctr", FD_SSHC_CTR, 16, 16, 16, "AES-128-CTR" },
	{ "aes192-ctr", FD_SSHC_CTR, 24, 16, 16, "AES-192-CTR" },
	{ "aes256-ctr", FD_SSHC_CTR, 32, 16, 16, "AES-256-CTR" },
};

struct mac_def {
	const char *name;
	const char *md;
	size_t keylen;
	bool etm;
};

static const struct mac_def macs[] = {
	{ "hmac-sha2-256", "SHA256", 32, false },
	{ "hmac-sha2-512", "SHA512", 64, false },
	{ "hmac-sha1", "SHA1", 20, false },
	{ "hmac-sha2-256-etm@openssh.com", "SHA256", 32, true },
	{ "hmac-sha2-512-etm@openssh.com", "SHA512", 64, true },
	{ "hmac-sha1-etm@openssh.com", "SHA1", 20, true },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct cipher_def *cipher_of(const char *name)
{
	for (size_t i = 0; name && i < N(ciphers); i++)
		if (strcmp(ciphers[i].name, name) == 0)
			return &ciphers[i];
	return NULL;
}

static const struct mac_def *mac_of(const char *name)
{
	for (size_t i = 0; name && i < N(macs); i++)
		if (strcmp(macs[i].name, name) == 0)
			return &macs[i];
	return NULL;
}

bool fd_ssh_cipher_known(const char *name) { return cipher_of(name) != NULL; }
bool fd_ssh_mac_known(const char *name) { return mac_of(name) != NULL; }

bool fd_ssh_cipher_aead(const char *name)
{
	const struct cipher_def *c = cipher_of(name);
	return c && (c->kind == FD_SSHC_CHACHA || c->kind == FD_SSHC_GCM);
}

size_t fd_ssh_cipher_keylen(const char *name)
{
	const struct cipher_def *c = cipher_of(name);
	return c ? c->keylen : 0;
}

size_t fd_ssh_cipher_ivlen(const char *name)
{
	const struct cipher_def *c = cipher_of(name);
	return c ? c->ivlen : 0;
}

size_t fd_ssh_mac_keylen(const char *name)
{
	const struct mac_def *m = mac_of(name);
	return m ? m->keylen : 0;
}

void fd_ssh_dir_reset(fd_ssh_dir_t *d)
{
	uint32_t seq = d->seq;

	EVP_CIPHER_CTX_free(d->ctx);
	OPENSSL_cleanse(d, sizeof(*d));
	d->seq = seq;
	d->bs = 8;
}

int fd_ssh_dir_set(fd_ssh_dir_t *d, const char *cipher, const char *mac,
		   const uint8_t *key, const uint8_t *iv, const uint8_t *mackey,
		   bool encrypt)
{
	const struct cipher_def *c = cipher_of(cipher);
	const struct mac_def *m = NULL;

	if (!c)
		return -EINVAL;
	if (c->kind == FD_SSHC_CTR && !(m = mac_of(mac)))
		return -EINVAL;
	fd_ssh_dir_reset(d);
	d->kind = c->kind;
	d->encrypt = encrypt;
	d->bs = c->bs;
	memcpy(d->key, key, c->keylen);
	if (c->ivlen)
		memcpy(d->iv, iv, c->ivlen);
	if (c->kind == FD_SSHC_GCM || c->kind == FD_SSHC_CTR) {
		EVP_CIPHER *ev = EVP_CIPHER_fetch(NULL, c->evp, NULL);
		d->ctx = EVP_CIPHER_CTX_new();
		int ok = ev && d->ctx &&
			 EVP_CipherInit_ex(d->ctx, ev, NULL, d->key,
					   c->kind == FD_SSHC_CTR ? d->iv : NULL,
					   encrypt) == 1;
		EVP_CIPHER_free(ev);
		if (!ok) {
			fd_ssh_dir_reset(d);
			return -EIO;
		}
	}
	if (m) {
		d->md = EVP_get_digestbyname(m->md);
		d->mackeylen = m->keylen;
		d->maclen = (size_t)EVP_MD_get_size(d->md);
		d->etm = m->etm;
		memcpy(d->mackey, mackey, m->keylen);
	}
	if (c->kind == FD_SSHC_CHACHA || c->kind == FD_SSHC_GCM)
		d->maclen = 16;
	return 0;
}

/* ---- primitives ---- */

/* ChaCha20 of the original construction (64-bit counter, 64-bit nonce)
 * through OpenSSL's RFC 7539 one: IV = counter (LE, 8 bytes) || nonce. */
static int chacha(const uint8_t key[32], uint32_t seq, uint32_t counter,
		  const uint8_t *in, uint8_t *out, size_t n)
{
	uint8_t iv[16] = { 0 };
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	iv[0] = (uint8_t)counter;
	iv[12] = (uint8_t)(seq >> 24);
	iv[13] = (uint8_t)(seq >> 16);
	iv[14] = (uint8_t)(seq >> 8);
	iv[15] = (uint8_t)seq;
	ok = ctx && EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv) == 1 &&
	     EVP_EncryptUpdate(ctx, out, &outl, in, (int)n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int poly1305(const uint8_t key[32], const uint8_t *in, size_t n, uint8_t tag[16])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t tl = 0;
	int ok = mc && EVP_MAC_init(mc, key, 32, NULL) == 1 &&
		 EVP_MAC_update(mc, in, n) == 1 && EVP_MAC_final(mc, tag, &tl, 16) == 1;

	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
	return ok && tl == 16 ? 0 : -EIO;
}

static int chacha_tag(const fd_ssh_dir_t *d, const uint8_t *pkt, size_t n, uint8_t tag[16])
{
	static const uint8_t zero[32];
	uint8_t pk[32];
	int rc = chacha(d->key, d->seq, 0, zero, pk, 32);

	if (rc == 0)
		rc = poly1305(pk, pkt, n, tag);
	OPENSSL_cleanse(pk, sizeof(pk));
	return rc;
}

/* HMAC(mackey, seq || data) */
static int hmac(const fd_ssh_dir_t *d, const uint8_t *data, size_t n, uint8_t *out)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = mac ? EVP_MAC_CTX_new(mac) : NULL;
	uint8_t s[4] = { (uint8_t)(d->seq >> 24), (uint8_t)(d->seq >> 16),
			 (uint8_t)(d->seq >> 8), (uint8_t)d->seq };
	OSSL_PARAM p[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)EVP_MD_get0_name(d->md), 0),
		OSSL_PARAM_construct_end()
	};
	size_t ol = 0;
	int ok = mc && EVP_MAC_init(mc, d->mackey, d->mackeylen, p) == 1 &&
		 EVP_MAC_update(mc, s, 4) == 1 && EVP_MAC_update(mc, data, n) == 1 &&
		 EVP_MAC_final(mc, out, &ol, 64) == 1;

	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(mac);
	return ok && ol == d->maclen ? 0 : -EIO;
}

static void gcm_next_iv(fd_ssh_dir_t *d)
{
	for (int i = 11; i >= 4; i--)
		if (++d->iv[i])
			break;
}

static int update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t n)
{
	int outl = 0;

	if (n == 0)
		return 0;
	return EVP_CipherUpdate(ctx, out, &outl, in, (int)n) == 1 && (size_t)outl == n
	       ? 0 : -EIO;
}

/* ---- sealing ---- */

int fd_ssh_seal(fd_ssh_dir_t *d, const uint8_t *payload, size_t plen,
		uint8_t *out, size_t outlen)
{
	bool aad = d->kind == FD_SSHC_CHACHA || d->kind == FD_SSHC_GCM || d->etm;
	size_t bs = d->bs ? d->bs : 8;
	size_t padn = bs - (((aad ? 0 : 4) + 1 + plen) % bs);
	int rc = 0;

	if (padn < 4)
		padn += bs;
	if (plen > FD_SSH_MAX_PACKET)
		return -FG_ESPACE;
	size_t pktlen = 1 + plen + padn, total = 4 + pktlen + d->maclen;
	if (total > outlen)
		return -FG_ESPACE;
	out[0] = (uint8_t)(pktlen >> 24);
	out[1] = (uint8_t)(pktlen >> 16);
	out[2] = (uint8_t)(pktlen >> 8);
	out[3] = (uint8_t)pktlen;
	out[4] = (uint8_t)padn;
	memcpy(out + 5, payload, plen);
	if (RAND_bytes(out + 5 + plen, (int)padn) != 1)
		return -EIO;
	uint8_t *tag = out + 4 + pktlen;
	switch (d->kind) {
	case FD_SSHC_NONE:
		break;
	case FD_SSHC_CHACHA:
		rc = chacha(d->key + 32, d->seq, 0, out, out, 4);
		if (rc == 0)
			rc = chacha(d->key, d->seq, 1, out + 4, out + 4, pktlen);
		if (rc == 0)
			rc = chacha_tag(d, out, 4 + pktlen, tag);
		break;
	case FD_SSHC_GCM: {
		int outl = 0;
		if (EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, d->iv, 1) != 1 ||
		    EVP_CipherUpdate(d->ctx, NULL, &outl, out, 4) != 1 ||
		    update(d->ctx, out + 4, out + 4, pktlen) < 0 ||
		    EVP_CipherFinal_ex(d->ctx, tag, &outl) != 1 ||
		    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
			rc = -EIO;
		gcm_next_iv(d);
		break;
	}
	case FD_SSHC_CTR:
		if (d->etm) {
			rc = update(d->ctx, out + 4, out + 4, pktlen);
			if (rc == 0)
				rc = hmac(d, out, 4 + pktlen, tag);
		} else {
			rc = hmac(d, out, 4 + pktlen, tag);
			if (rc == 0)
				rc = update(d->ctx, out, out, 4 + pktlen);
		}
		break;
	default:
		rc = -EINVAL;
	}
	d->seq++;
	return rc < 0 ? rc : (int)total;
}

/* ---- opening ---- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int check_len(const fd_ssh_dir_t *d, uint32_t pktlen, bool aad)
{
	if (pktlen < 5 || pktlen > FD_SSH_MAX_PACKET)
		return -FG_EMALF;
	if (d->kind != FD_SSHC_NONE && ((aad ? 0 : 4) + pktlen) % d->bs)
		return -FG_EMALF;
	return 0;
}

int fd_ssh_open(fd_ssh_dir_t *d, const uint8_t *in, size_t len, uint8_t *scratch,
		size_t scap, const uint8_t **payload, size_t *plen)
{
	bool aad = d->kind == FD_SSHC_CHACHA || d->kind == FD_SSHC_GCM || d->etm;
	uint8_t lenb[4], tag[64];
	uint32_t pktlen;
	int rc = 0;

	if (len < 4 || (d->kind == FD_SSHC_CTR && !d->etm && !d->have_first && len < 16))
		return -EAGAIN;
	switch (d->kind) {
	case FD_SSHC_CHACHA:
		if (chacha(d->key + 32, d->seq, 0, in, lenb, 4) < 0)
			return -EIO;
		pktlen = be32(lenb);
		break;
	case FD_SSHC_CTR:
		if (!d->etm) {
			if (!d->have_first) {
				if (update(d->ctx, d->first, in, 16) < 0)
					return -EIO;
				d->have_first = true;
			}
			pktlen = be32(d->first);
		} else {
			pktlen = be32(in);  /* etm: the length is in clear */
		}
		break;
	default:
		pktlen = be32(in);
	}
	if (check_len(d, pktlen, aad) < 0)
		return -FG_EMALF;
	size_t total = 4 + (size_t)pktlen + d->maclen;
	if (len < total)
		return -EAGAIN;
	if (scap < 4 + (size_t)pktlen)
		return -FG_EMALF;
	switch (d->kind) {
	case FD_SSHC_NONE:
		memcpy(scratch, in, 4 + pktlen);
		break;
	case FD_SSHC_CHACHA:
		rc = chacha_tag(d, in, 4 + pktlen, tag);
		if (rc == 0 && CRYPTO_memcmp(tag, in + 4 + pktlen, 16) != 0)
			rc = -FG_EAUTH;
		if (rc == 0)
			rc = chacha(d->key, d->seq, 1, in + 4, scratch + 4, pktlen);
		memcpy(scratch, lenb, 4);
		break;
	case FD_SSHC_GCM: {
		int outl = 0;
		memcpy(tag, in + 4 + pktlen, 16);
		if (EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, d->iv, 0) != 1 ||
		    EVP_CipherUpdate(d->ctx, NULL, &outl, in, 4) != 1 ||
		    update(d->ctx, scratch + 4, in + 4, pktlen) < 0 ||
		    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
			rc = -EIO;
		else if (EVP_CipherFinal_ex(d->ctx, tag, &outl) != 1)
			rc = -FG_EAUTH;
		memcpy(scratch, in, 4);
		gcm_next_iv(d);
		break;
	}
	case FD_SSHC_CTR:
		if (d->etm) {
			rc = hmac(d, in, 4 + pktlen, tag);
			if (rc == 0 && CRYPTO_memcmp(tag, in + 4 + pktlen, d->maclen) != 0)
				rc = -FG_EAUTH;
			if (rc == 0)
				rc = update(d->ctx, scratch + 4, in + 4, pktlen);
			memcpy(scratch, in, 4);
		} else {
			memcpy(scratch, d->first, 16);
			d->have_first = false;
			rc = update(d->ctx, scratch + 16, in + 16, 4 + pktlen - 16);
			if (rc == 0)
				rc = hmac(d, scratch, 4 + pktlen, tag);
			if (rc == 0 && CRYPTO_memcmp(tag, in + 4 + pktlen, d->maclen) != 0)
				rc = -FG_EAUTH;
		}
		break;
	default:
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	uint8_t padn = scratch[4];
	if (padn < 4 || (size_t)padn + 1 > pktlen)
		return -FG_EMALF;
	*payload = scratch + 5;
	*plen = pktlen - 1 - padn;
	d->seq++;
	return (int)total;
}
