/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/shuffle.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int fd_shuffle_epoch_key(const uint8_t *root, size_t rootlen, uint64_t epoch,
			 uint64_t gen, uint8_t out[FD_SHUFFLE_KEYLEN])
{
	static const char label[] = "fluxdecoy epoch";
	uint8_t msg[sizeof(label) + 16];
	unsigned len = 0;

	if (!root || rootlen < FD_SHUFFLE_KEYLEN)
		return -EINVAL;
	memcpy(msg, label, sizeof(label));  /* with its NUL: a separator */
	put64(msg + sizeof(label), epoch);
	put64(msg + sizeof(label) + 8, gen);
	if (!HMAC(EVP_sha256(), root, (int)rootlen, msg, sizeof(msg), out, &len) ||
	    len != FD_SHUFFLE_KEYLEN)
		return -EIO;
	return 0;
}

uint64_t fd_shuffle_prf(const uint8_t key[FD_SHUFFLE_KEYLEN], const void *data,
			size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	uint64_t v = 0;

	if (!HMAC(EVP_sha256(), key, FD_SHUFFLE_KEYLEN, data, len, md, &mdlen) || mdlen < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	OPENSSL_cleanse(md, sizeof(md));
	return v;
}

uint64_t fd_shuffle_pool_size(const fg_conf_prefix_t *p)
{
	size_t n = p->family == AF_INET ? 4 : 16;
	uint64_t hi = 0, lo = 0;

	/* only the low 64 bits can differ in a pool we can enumerate */
	for (size_t i = 0; i + 8 < n; i++)
		if (p->first[i] != p->last[i])
			return FD_SHUFFLE_MAX_ADDRS + 1;
	for (size_t i = n >= 8 ? n - 8 : 0; i < n; i++) {
		hi = hi << 8 | p->last[i];
		lo = lo << 8 | p->first[i];
	}
	if (hi < lo)
		return 0;
	uint64_t d = hi - lo;
	return d >= FD_SHUFFLE_MAX_ADDRS ? FD_SHUFFLE_MAX_ADDRS + 1 : d + 1;
}

void fd_shuffle_pool_addr(const fg_conf_prefix_t *p, uint64_t i, uint8_t out[16])
{
	size_t n = p->family == AF_INET ? 4 : 16;
	unsigned carry = 0;

	memcpy(out, p->first, n);
	for (size_t k = n; k-- > 0;) {
		unsigned s = out[k] + (unsigned)(i & 0xff) + carry;
		out[k] = (uint8_t)s;
		carry = s >> 8;
		i >>= 8;
	}
}

int64_t fd_shuffle_pool_index(const fg_conf_prefix_t *p, int family, const uint8_t *a)
{
	size_t n = p->family == AF_INET ? 4 : 16;
	uint64_t v = 0, lo = 0;

	if (family != p->family || memcmp(a, p->first, n) < 0 || memcmp(a, p->last, n) > 0)
		return -1;
	if (fd_shuffle_pool_size(p) > FD_SHUFFLE_MAX_ADDRS)
		return -1;
	for (size_t i = n >= 8 ? n - 8 : 0; i < n; i++) {
		v = v << 8 | a[i];
		lo = lo << 8 | p->first[i];
	}
	return (int64_t)(v - lo);
}

void fd_shuffle_counts(const double *shares, size_t nshares, size_t n, size_t *counts)
{
	double cum = 0;
	size_t prev = 0;

	for (size_t i = 0; i < nshares; i++) {
		cum += shares[i];
		double x = cum * (double)n + 0.5;  /* >= 0: the cast rounds down */
		size_t upto = x < 1 ? 0 : x >= (double)n ? n : (size_t)x;
		counts[i] = upto > prev ? upto - prev : 0;
		prev = upto > prev ? upto : prev;
	}
}

struct tagged {
	uint64_t tag;
	uint32_t idx;
};

static int tagged_cmp(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int fd_shuffle_assign(const uint8_t ek[FD_SHUFFLE_KEYLEN], const char *pool_id,
		      const fg_conf_prefix_t *p, const double *shares, size_t nshares,
		      uint16_t *label)
{
	uint64_t n = fd_shuffle_pool_size(p);
	size_t idlen = strlen(pool_id), alen = p->family == AF_INET ? 4 : 16;
	size_t counts[FD_SHUFFLE_MAX_LABELS];
	double sum = 0;

	if (n > FD_SHUFFLE_MAX_ADDRS || nshares > FD_SHUFFLE_MAX_LABELS || idlen > 64)
		return -E2BIG;
	for (size_t i = 0; i < nshares; i++) {
		if (!(shares[i] >= 0 && shares[i] <= 1))
			return -EINVAL;
		sum += shares[i];
	}
	if (sum > 1 + 1e-9)
		return -EINVAL;
	struct tagged *t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* message: pool id, NUL, address; the id keeps two pools apart */
	uint8_t msg[64 + 1 + 16];
	memcpy(msg, pool_id, idlen);
	msg[idlen] = 0;
	for (uint64_t i = 0; i < n; i++) {
		fd_shuffle_pool_addr(p, i, msg + idlen + 1);
		t[i].tag = fd_shuffle_prf(ek, msg, idlen + 1 + alen);
		t[i].idx = (uint32_t)i;
	}
	qsort(t, n, sizeof(*t), tagged_cmp);
	fd_shuffle_counts(shares, nshares, n, counts);
	size_t k = 0;
	for (size_t l = 0; l < nshares; l++)
		for (size_t c = 0; c < counts[l] && k < n; c++, k++)
			label[t[k].idx] = (uint16_t)l;
	for (; k < n; k++)
		label[t[k].idx] = FD_SHUFFLE_CLOSED;
	free(t);
	return 0;
}

double fd_shuffle_overlap(const uint16_t *a, const uint16_t *b, size_t n)
{
	size_t same = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		same += a[i] == b[i];
	return (double)same / (double)n;
}
