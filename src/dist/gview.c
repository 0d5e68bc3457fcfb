/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller's view of an agent's grants: see gview.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dist/gview.h"

#define MIN_SLOTS 64

struct slot {
	bool used;
	uint64_t deadline;       /* monotonic ms */
	fg_grant_t g;
};

struct fg_dist_gview {
	struct slot *s;
	size_t nslots, n, max;   /* nslots: a power of two */
	bool complete;
	fg_siphash_t *h;
	uint8_t key[FG_SIPHASH_KEYLEN];
};

int fg_dist_gview_new(size_t max, fg_dist_gview_t **out)
{
	fg_dist_gview_t *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->max = max ? max : 1;
	v->complete = true;
	v->nslots = MIN_SLOTS;
	v->s = calloc(v->nslots, sizeof(*v->s));
	int rc = v->s ? fg_siphash_new(&v->h) : -ENOMEM;
	if (rc == 0 && RAND_bytes(v->key, sizeof(v->key)) != 1)
		rc = -EIO;
	if (rc < 0) {
		fg_dist_gview_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void fg_dist_gview_free(fg_dist_gview_t *v)
{
	if (!v)
		return;
	fg_siphash_free(v->h);
	free(v->s);
	free(v);
}

static size_t index_of(const fg_dist_gview_t *v, const fg_grant_t *g)
{
	uint8_t k[FG_DIST_KEY_LEN], o[8];
	fg_dist_grant_key(g, k);
	if (fg_siphash24(v->h, v->key, k, sizeof(k), o) < 0)
		memcpy(o, k + 19, 8);   /* cannot fail once made; still an index */
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | o[i];
	return (size_t)(x & (v->nslots - 1));
}

/* The slot holding g, or the free slot where it would go. */
static size_t find(const fg_dist_gview_t *v, const fg_grant_t *g)
{
	size_t i = index_of(v, g);
	while (v->s[i].used && !fg_dist_grant_same(&v->s[i].g, g))
		i = (i + 1) & (v->nslots - 1);
	return i;
}

static int grow(fg_dist_gview_t *v)
{
	size_t old = v->nslots;
	struct slot *os = v->s;
	if (old > SIZE_MAX / 2 / sizeof(*os))
		return -ENOMEM;
	struct slot *ns = calloc(old * 2, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	v->s = ns;
	v->nslots = old * 2;
	for (size_t i = 0; i < old; i++)
		if (os[i].used)
			v->s[find(v, &os[i].g)] = os[i];
	free(os);
	return 0;
}

void fg_dist_gview_put(fg_dist_gview_t *v, const fg_grant_t *g, uint64_t now)
{
	if (fg_dist_set_of(g->family) < 0)
		return;
	size_t i = find(v, g);
	if (!v->s[i].used) {
		if (v->n >= v->max || ((v->n + 1) * 2 > v->nslots && grow(v) < 0)) {
			v->complete = false;
			return;
		}
		i = find(v, g);
		v->s[i].used = true;
		v->n++;
	}
	v->s[i].g = *g;
	v->s[i].deadline = now + g->timeout_ms;
}

/* Empty slot i and close the probe chain behind it (backward shift). */
static void remove_at(fg_dist_gview_t *v, size_t i)
{
	size_t mask = v->nslots - 1, j = i;
	v->s[i].used = false;
	v->n--;
	for (;;) {
		j = (j + 1) & mask;
		if (!v->s[j].used)
			return;
		size_t home = index_of(v, &v->s[j].g);
		/* j may move to i when its home is not in (i, j] cyclically */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		v->s[i] = v->s[j];
		v->s[j].used = false;
		i = j;
	}
}

void fg_dist_gview_del(fg_dist_gview_t *v, const fg_grant_t *g)
{
	if (fg_dist_set_of(g->family) < 0)
		return;
	size_t i = find(v, g);
	if (v->s[i].used)
		remove_at(v, i);
}

bool fg_dist_gview_has(const fg_dist_gview_t *v, const fg_grant_t *g, uint64_t now,
		       uint32_t *left_ms)
{
	if (fg_dist_set_of(g->family) < 0)
		return false;
	size_t i = find(v, g);
	if (!v->s[i].used || v->s[i].deadline <= now)
		return false;
	if (left_ms) {
		uint64_t left = v->s[i].deadline - now;
		*left_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	}
	return true;
}

void fg_dist_gview_prune(fg_dist_gview_t *v, uint64_t now)
{
	/* a removal may shift a later element into slot i: look at i again */
	for (size_t i = 0; i < v->nslots;)
		if (v->s[i].used && v->s[i].deadline <= now)
			remove_at(v, i);
		else
			i++;
}

size_t fg_dist_gview_count(const fg_dist_gview_t *v)
{
	return v->n;
}

bool fg_dist_gview_complete(const fg_dist_gview_t *v)
{
	return v->complete;
}

void fg_dist_gview_each(const fg_dist_gview_t *v, uint64_t now, uint32_t guard_ms,
			fg_dist_gview_fn fn, void *ctx)
{
	for (size_t i = 0; i < v->nslots; i++) {
		const struct slot *s = &v->s[i];
		if (!s->used || s->deadline <= now + guard_ms)
			continue;
		fg_grant_t g = s->g;
		uint64_t left = s->deadline - now;
		g.timeout_ms = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
		fn(ctx, &g);
	}
}

int fg_dist_gview_digest(const fg_dist_gview_t *v, fg_siphash_t *h,
			 const uint8_t salt[FG_DIST_SALT_LEN], uint64_t now,
			 fg_dist_digest_t *out)
{
	fg_dist_digest_init(out);
	for (size_t i = 0; i < v->nslots; i++) {
		const struct slot *s = &v->s[i];
		if (!s->used || s->deadline <= now + FG_DIST_RECON_GUARD_MS)
			continue;
		uint64_t x;
		int rc = fg_dist_grant_hash(h, salt, &s->g, &x);
		if (rc < 0)
			return rc;
		fg_dist_digest_add(out, s->g.family, x);
	}
	return 0;
}
