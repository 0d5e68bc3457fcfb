/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "decoy/sntrup761.h"

enum { P = 761, Q = 4591, W = 286, Q12 = (Q - 1) / 2 };
enum { RQ_BYTES = 1158, ROUNDED_BYTES = 1007, SMALL_BYTES = 191, HASH_BYTES = 32 };

/* ---- the encoding (specification, "Encode" / "Decode") ---- */

int fd_sntrup_encode(const uint32_t *R, const uint32_t *M, int n, uint8_t *out,
		     int outlen)
{
	uint32_t R2[P], M2[P];
	int o = 0, n2 = 0;

	if (n <= 0)
		return 0;
	if (n > P)
		return -EINVAL;
	if (n == 1) {
		uint32_t r = R[0], m = M[0];
		while (m > 1) {
			if (o >= outlen)
				return -ENOSPC;
			out[o++] = (uint8_t)r;
			r >>= 8;
			m = (m + 255) >> 8;
		}
		return o;
	}
	for (int i = 0; i + 1 < n; i += 2) {
		uint64_t m = (uint64_t)M[i] * M[i + 1];
		uint64_t r = R[i] + (uint64_t)M[i] * R[i + 1];
		while (m >= 16384) {
			if (o >= outlen)
				return -ENOSPC;
			out[o++] = (uint8_t)r;
			r >>= 8;
			m = (m + 255) >> 8;
		}
		R2[n2] = (uint32_t)r;
		M2[n2++] = (uint32_t)m;
	}
	if (n & 1) {
		R2[n2] = R[n - 1];
		M2[n2++] = M[n - 1];
	}
	int rest = fd_sntrup_encode(R2, M2, n2, out + o, outlen - o);
	return rest < 0 ? rest : o + rest;
}

int fd_sntrup_decode(const uint8_t *s, int slen, const uint32_t *M, int n,
		     uint32_t *R)
{
	uint32_t M2[P], R2[P], bot_r[P], bot_t[P];
	int k = 0, n2 = 0;

	if (n <= 0)
		return 0;
	if (n > P)
		return -EINVAL;
	if (n == 1) {
		uint64_t r = 0, t = 1;
		uint32_t m = M[0];
		while (m > 1) {
			if (k >= slen)
				return -EINVAL;
			r += (uint64_t)s[k++] * t;
			t <<= 8;
			m = (m + 255) >> 8;
		}
		R[0] = (uint32_t)(r % M[0]);
		return k;
	}
	for (int i = 0; i + 1 < n; i += 2) {
		uint64_t m = (uint64_t)M[i] * M[i + 1], r = 0, t = 1;
		while (m >= 16384) {
			if (k >= slen)
				return -EINVAL;
			r += (uint64_t)s[k++] * t;
			t <<= 8;
			m = (m + 255) >> 8;
		}
		bot_r[n2] = (uint32_t)r;
		bot_t[n2] = (uint32_t)t;
		M2[n2++] = (uint32_t)m;
	}
	if (n & 1)
		M2[n2++] = M[n - 1];
	int used = fd_sntrup_decode(s + k, slen - k, M2, n2, R2);
	if (used < 0)
		return used;
	for (int i = 0; i + 1 < n; i += 2) {
		uint64_t r = bot_r[i / 2] + (uint64_t)bot_t[i / 2] * R2[i / 2];
		R[i] = (uint32_t)(r % M[i]);
		R[i + 1] = (uint32_t)((r / M[i]) % M[i + 1]);
	}
	if (n & 1)
		R[n - 1] = R2[n2 - 1];
	return k + used;
}

/* ---- arithmetic ---- */

/* x mod q, centred in [-Q12, Q12] */
static int32_t fq_freeze(int64_t x)
{
	int64_t r = x % Q;

	if (r > Q12)
		r -= Q;
	if (r < -Q12)
		r += Q;
	return (int32_t)r;
}

/* x mod 3, centred in {-1, 0, 1} */
static int32_t f3_freeze(int32_t x)
{
	int32_t r = x % 3;

	if (r > 1)
		r -= 3;
	if (r < -1)
		r += 3;
	return r;
}

/* h * r in Z_q[x] / (x^p - x - 1) */
static void rq_mult_small(int32_t *out, const int32_t *h, const int8_t *r)
{
	int64_t fg[2 * P - 1];

	memset(fg, 0, sizeof(fg));
	for (int i = 0; i < P; i++) {
		if (!r[i])
			continue;
		for (int j = 0; j < P; j++)
			fg[i + j] += (int64_t)r[i] * h[j];
	}
	for (int i = 2 * P - 2; i >= P; i--) {  /* x^p = x + 1 */
		fg[i - P] += fg[i];
		fg[i - P + 1] += fg[i];
	}
	for (int i = 0; i < P; i++)
		out[i] = fq_freeze(fg[i]);
}

/* A uniformly random short polynomial: W coefficients +-1, the rest 0. */
static int short_random(int8_t *r)
{
	uint32_t rnd[P];

	if (RAND_bytes((unsigned char *)rnd, sizeof(rnd)) != 1)
		return -EIO;
	for (int i = 0; i < P; i++)
		r[i] = i < W ? (int8_t)((rnd[i] & 1) ? 1 : -1) : 0;
	/* Fisher-Yates with a fresh word per step; the modulo bias of a
	 * 31-bit word over at most 761 is below 2^-21 */
	for (int i = P - 1; i > 0; i--) {
		uint32_t j;
		if (RAND_bytes((unsigned char *)&j, sizeof(j)) != 1)
			return -EIO;
		j = (j >> 1) % (uint32_t)(i + 1);
		int8_t t = r[i];
		r[i] = r[j];
		r[j] = t;
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

/* Hash_prefix(b, in) = SHA-512(b || in), first 32 bytes */
static int hash_prefix(uint8_t out[HASH_BYTES], uint8_t b, const uint8_t *in, size_t n)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t h[64];
	unsigned hl = 0;
	int ok = mc && EVP_DigestInit_ex(mc, EVP_sha512(), NULL) == 1 &&
		 EVP_DigestUpdate(mc, &b, 1) == 1 && EVP_DigestUpdate(mc, in, n) == 1 &&
		 EVP_DigestFinal_ex(mc, h, &hl) == 1;

	EVP_MD_CTX_free(mc);
	memcpy(out, h, HASH_BYTES);
	OPENSSL_cleanse(h, sizeof(h));
	return ok ? 0 : -EIO;
}

int fd_sntrup761_enc(const uint8_t pk[FD_SNTRUP761_PK], uint8_t ct[FD_SNTRUP761_CT],
		     uint8_t key[FD_SNTRUP761_KEY])
{
	uint32_t M[P], R[P];
	int32_t h[P], c[P];
	int8_t r[P];
	uint8_t r_enc[SMALL_BYTES], x[HASH_BYTES + FD_SNTRUP761_CT], cache[HASH_BYTES];
	int rc = -EIO;

	for (int i = 0; i < P; i++)
		M[i] = Q;
	if (fd_sntrup_decode(pk, FD_SNTRUP761_PK, M, P, R) != RQ_BYTES)
		return -EINVAL;
	for (int i = 0; i < P; i++)
		h[i] = (int32_t)R[i] - Q12;
	if (short_random(r) < 0)
		goto out;
	/* Encrypt: c = Round(h r); the ciphertext is its rounded encoding */
	rq_mult_small(c, h, r);
	for (int i = 0; i < P; i++) {
		c[i] -= f3_freeze(c[i]);
		R[i] = (uint32_t)((c[i] + Q12) / 3);
		M[i] = (Q + 2) / 3;
	}
	if (fd_sntrup_encode(R, M, P, ct, ROUNDED_BYTES) != ROUNDED_BYTES)
		goto out;
	/* Small_encode(r): four coefficients (plus one) per byte */
	for (int i = 0; i < P / 4; i++)
		r_enc[i] = (uint8_t)((r[4 * i] + 1) | (r[4 * i + 1] + 1) << 2 |
				     (r[4 * i + 2] + 1) << 4 | (r[4 * i + 3] + 1) << 6);
	r_enc[P / 4] = (uint8_t)(r[P - 1] + 1);
	/* confirm = Hash_2(Hash_3(r_enc) || Hash_4(pk)) */
	if (hash_prefix(cache, 4, pk, FD_SNTRUP761_PK) < 0 ||
	    hash_prefix(x, 3, r_enc, SMALL_BYTES) < 0)
		goto out;
	memcpy(x + HASH_BYTES, cache, HASH_BYTES);
	if (hash_prefix(ct + ROUNDED_BYTES, 2, x, 2 * HASH_BYTES) < 0)
		goto out;
	/* session key = Hash_1(Hash_3(r_enc) || ct) */
	memcpy(x + HASH_BYTES, ct, FD_SNTRUP761_CT);
	if (hash_prefix(key, 1, x, sizeof(x)) < 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(r, sizeof(r));
	OPENSSL_cleanse(r_enc, sizeof(r_enc));
	OPENSSL_cleanse(x, sizeof(x));
	return rc;
}
