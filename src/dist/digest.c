/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Per-set bucket digests: see digest.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dist/digest.h"

int fg_dist_set_of(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

size_t fg_dist_grant_key(const fg_grant_t *g, uint8_t out[FG_DIST_KEY_LEN])
{
	size_t alen = g->family == AF_INET ? 4 : 16;
	memset(out, 0, FG_DIST_KEY_LEN);
	out[0] = g->family;
	out[1] = g->scope;
	if (g->scope == FG_SCOPE_CLIENT) {
		out[2] = (uint8_t)(alen * 8);
		memcpy(out + 3, g->client, alen);
	} else if (g->scope == FG_SCOPE_NET) {
		unsigned plen = g->client_plen > alen * 8 ? (unsigned)(alen * 8) : g->client_plen;
		out[2] = (uint8_t)plen;
		for (unsigned i = 0; i < alen; i++) {
			unsigned bits = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
			out[3 + i] = (uint8_t)(g->client[i] & (uint8_t)(0xff00u >> bits));
		}
	}
	memcpy(out + 19, g->addr, alen);
	memcpy(out + 35, g->backend, alen);
	out[51] = (uint8_t)(g->backend_port >> 8);
	out[52] = (uint8_t)g->backend_port;
	return FG_DIST_KEY_LEN;
}

bool fg_dist_grant_same(const fg_grant_t *a, const fg_grant_t *b)
{
	uint8_t ka[FG_DIST_KEY_LEN], kb[FG_DIST_KEY_LEN];
	fg_dist_grant_key(a, ka);
	fg_dist_grant_key(b, kb);
	return !memcmp(ka, kb, sizeof(ka));
}

int fg_dist_grant_hash(fg_siphash_t *h, const uint8_t salt[FG_DIST_SALT_LEN],
		       const fg_grant_t *g, uint64_t *out)
{
	uint8_t key[FG_DIST_KEY_LEN], o[8];
	fg_dist_grant_key(g, key);
	int rc = fg_siphash24(h, salt, key, sizeof(key), o);
	if (rc < 0)
		return rc;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | o[i];
	*out = v;
	return 0;
}

void fg_dist_digest_init(fg_dist_digest_t *d)
{
	memset(d, 0, sizeof(*d));
}

int fg_dist_digest_add(fg_dist_digest_t *d, int family, uint64_t hash)
{
	int s = fg_dist_set_of(family);
	if (s < 0)
		return -EINVAL;
	d->count[s]++;
	d->sum[s][fg_dist_bucket_of(hash)] += hash;
	return 0;
}

uint64_t fg_dist_digest_diff(const fg_dist_digest_t *a, const fg_dist_digest_t *b, unsigned s)
{
	uint64_t bits = 0;
	if (s >= FG_DIST_NSETS)
		return 0;
	for (unsigned i = 0; i < FG_DIST_BUCKETS; i++)
		if (a->sum[s][i] != b->sum[s][i])
			bits |= (uint64_t)1 << i;
	return bits;
}

bool fg_dist_digest_wants(const uint64_t want[FG_DIST_NSETS], int family, uint64_t hash)
{
	int s = fg_dist_set_of(family);
	return s >= 0 && (want[s] >> fg_dist_bucket_of(hash) & 1);
}
