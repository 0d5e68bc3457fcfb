/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The reaper of exact grants (issue #12): while grant transactions come
 * fast, the kernel's hash set GC (nft_rhash_gc) is aborted by every commit
 * (nft_net->gc_seq moves during its walk), expired grants stay in the map
 * and count against its size until the kernel refuses new ones (ENFILE).
 * An element deleted in a transaction leaves the count at once. So, in that
 * regime, the backend installs each exact grant with a backstop margin on
 * its kernel timeout and deletes it itself, in a later transaction of any
 * handle, once its intended end has passed. The kernel skips expired
 * elements when deleting (a late delete frees nothing), hence the margin.
 *
 * Never short: a key's deletion waits for the latest end any handle asked
 * for it (ends are recorded before their transaction is sent, so a record
 * is an upper bound), and a transaction carrying deletions holds the lock
 * until the kernel answered it, so no renewal of a key can be committed
 * between the decision to delete it and the deletion.
 *
 * Data: an open-addressing table key -> latest end (linear probing under
 * a keyed SipHash with a random key per reaper, since the keys are the
 * askers' addresses; deletion by backward shift) and a FIFO of (key, end)
 * in record order; both grow by doubling up to `cap` keys (the map's size:
 * 48 bytes a FIFO entry, at most 112 bytes of table a key; some 14 MB for the 140k live
 * grants of 70k fresh grants a second). A record beyond cap is not
 * tracked: its kernel timeout (with the margin) ends it.
 *
 * Ownership: one reaper per (process, table), shared by every handle of
 * that table: the registry below is the one global of the backend, because
 * the kernel table it mirrors is shared by those handles too. Handles take
 * a reference in open and drop it in close; the last one frees it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dataplane/nft_int.h"
#include "dns/siphash.h"

struct reap_key {
	uint8_t fam, klen;
	uint8_t key[32];
};

struct reap_slot {
	uint64_t end;        /* 0: empty */
	uint64_t h;          /* hash_key(k), kept for growth and deletion */
	struct reap_key k;
};

struct reap_fifo {
	uint64_t end;
	struct reap_key k;
};

struct fg_nft_reap {
	pthread_mutex_t lock;
	char table[64];
	unsigned refs;
	struct fg_nft_reap *next;    /* registry */
	size_t cap;                  /* most keys tracked */
	struct reap_slot *slot;      /* nslot, a power of 2, >= 2 * nkeys */
	size_t nslot, nkeys;
	struct reap_fifo *q;         /* ring of qcap, a power of 2 */
	size_t qcap, qhead, qlen;
	/* commit rate: commits in the current and the previous second */
	uint64_t sec;
	unsigned this_sec, last_sec;
	uint64_t dropped;            /* records not tracked (full) */
	/* the keys are the askers' addresses: a keyed hash, so that nobody
	 * can aim sources at one probe chain (under the lock: one context) */
	fg_siphash_t *sip;
	uint8_t hkey[FG_SIPHASH_KEYLEN];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fg_nft_reap *registry;

struct fg_nft_reap *fg_nft_reap_get(const char *table, uint32_t cap)
{
	struct fg_nft_reap *r;

	pthread_mutex_lock(&registry_lock);
	for (r = registry; r; r = r->next)
		if (!strcmp(r->table, table))
			break;
	if (!r && (r = calloc(1, sizeof(*r)))) {
		if (fg_siphash_new(&r->sip) < 0 || RAND_bytes(r->hkey, sizeof(r->hkey)) != 1) {
			fg_siphash_free(r->sip);
			free(r);
			pthread_mutex_unlock(&registry_lock);
			return NULL;
		}
		pthread_mutex_init(&r->lock, NULL);
		snprintf(r->table, sizeof(r->table), "%s", table);
		r->cap = cap ? cap : 1048576;
		r->next = registry;
		registry = r;
	}
	if (r)
		r->refs++;
	pthread_mutex_unlock(&registry_lock);
	return r;
}

void fg_nft_reap_put(struct fg_nft_reap *r)
{
	struct fg_nft_reap **p;

	if (!r)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--r->refs == 0) {
		for (p = &registry; *p; p = &(*p)->next)
			if (*p == r) {
				*p = r->next;
				break;
			}
		pthread_mutex_destroy(&r->lock);
		fg_siphash_free(r->sip);
		OPENSSL_cleanse(r->hkey, sizeof(r->hkey));
		free(r->slot);
		free(r->q);
		free(r);
	}
	pthread_mutex_unlock(&registry_lock);
}

void fg_nft_reap_lock(struct fg_nft_reap *r) { pthread_mutex_lock(&r->lock); }
void fg_nft_reap_unlock(struct fg_nft_reap *r) { pthread_mutex_unlock(&r->lock); }

bool fg_nft_reap_commit(struct fg_nft_reap *r, uint64_t now_ms)
{
	uint64_t s = now_ms / 1000;

	if (s != r->sec) {
		r->last_sec = s == r->sec + 1 ? r->this_sec : 0;
		r->this_sec = 0;
		r->sec = s;
	}
	r->this_sec++;
	return r->last_sec >= FG_NFT_REAP_RATE || r->this_sec >= FG_NFT_REAP_RATE;
}

static uint64_t hash_key(struct fg_nft_reap *r, const struct reap_key *k)
{
	uint8_t o[8];
	uint64_t h = 0;

	if (fg_siphash24(r->sip, r->hkey, k, 2 + (size_t)k->klen, o) < 0)
		return 0;       /* one chain: slow, still correct */
	memcpy(&h, o, sizeof(h));
	return h;
}

static bool key_eq(const struct reap_key *a, const struct reap_key *b)
{
	return a->fam == b->fam && a->klen == b->klen && !memcmp(a->key, b->key, a->klen);
}

static struct reap_slot *find(struct fg_nft_reap *r, const struct reap_key *k, uint64_t h)
{
	size_t m, i;

	if (!r->nslot)
		return NULL;
	m = r->nslot - 1;
	for (i = h & m; r->slot[i].end; i = (i + 1) & m)
		if (r->slot[i].h == h && key_eq(&r->slot[i].k, k))
			return &r->slot[i];
	return NULL;
}

static void put_slot(struct reap_slot *tab, size_t nslot, const struct reap_key *k, uint64_t h,
		     uint64_t end)
{
	size_t m = nslot - 1, i;

	for (i = h & m; tab[i].end; i = (i + 1) & m)
		;
	tab[i].end = end;
	tab[i].h = h;
	tab[i].k = *k;
}

static int grow_slots(struct fg_nft_reap *r)
{
	size_t n = r->nslot ? 2 * r->nslot : 4096, i;
	struct reap_slot *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < r->nslot; i++)
		if (r->slot[i].end)
			put_slot(t, n, &r->slot[i].k, r->slot[i].h, r->slot[i].end);
	free(r->slot);
	r->slot = t;
	r->nslot = n;
	return 0;
}

/* backward-shift deletion: no tombstones */
static void del_slot(struct fg_nft_reap *r, struct reap_slot *s)
{
	size_t m = r->nslot - 1, i = (size_t)(s - r->slot), j = i;

	r->slot[i].end = 0;
	for (;;) {
		size_t h;

		j = (j + 1) & m;
		if (!r->slot[j].end)
			break;
		h = r->slot[j].h & m;
		/* move j back to i unless its home lies cyclically in (i, j] */
		if ((i < j) ? (h <= i || h > j) : (h <= i && h > j)) {
			r->slot[i] = r->slot[j];
			r->slot[j].end = 0;
			i = j;
		}
	}
	r->nkeys--;
}

static int grow_fifo(struct fg_nft_reap *r)
{
	size_t n = r->qcap ? 2 * r->qcap : 4096, i;
	struct reap_fifo *q = malloc(n * sizeof(*q));

	if (!q)
		return -ENOMEM;
	for (i = 0; i < r->qlen; i++)
		q[i] = r->q[(r->qhead + i) & (r->qcap - 1)];
	free(r->q);
	r->q = q;
	r->qcap = n;
	r->qhead = 0;
	return 0;
}

void fg_nft_reap_record(struct fg_nft_reap *r, int family, const uint8_t *key, size_t klen,
			uint64_t end_ms, bool track)
{
	struct reap_key k = { .fam = (uint8_t)family, .klen = (uint8_t)klen };
	struct reap_slot *s;

	if (klen > sizeof(k.key) || !end_ms)
		return;
	memcpy(k.key, key, klen);
	uint64_t h = hash_key(r, &k);
	s = find(r, &k, h);
	if (s) {
		/* a renewal: its deletion waits for the latest end */
		if (end_ms > s->end)
			s->end = end_ms;
		if (!track)
			return;
	} else if (!track) {
		return;
	}
	if (r->qlen == r->qcap && (r->qcap >= r->cap || grow_fifo(r) < 0)) {
		r->dropped++;
		return;
	}
	if (!s) {
		if (r->nkeys >= r->cap ||
		    (2 * (r->nkeys + 1) > r->nslot && grow_slots(r) < 0)) {
			r->dropped++;
			return;
		}
		put_slot(r->slot, r->nslot, &k, h, end_ms);
		r->nkeys++;
	}
	r->q[(r->qhead + r->qlen) & (r->qcap - 1)] = (struct reap_fifo){ end_ms, k };
	r->qlen++;
}

size_t fg_nft_reap_due(struct fg_nft_reap *r, uint64_t now_ms, fg_nft_reap_fn fn, void *ctx,
		       size_t max)
{
	size_t n = 0;

	while (r->qlen && n < max) {
		struct reap_fifo *e = &r->q[r->qhead];
		struct reap_slot *s;

		if (e->end > now_ms)
			break;
		s = find(r, &e->k, hash_key(r, &e->k));
		if (s && s->end <= e->end) {
			/* its latest end: due */
			fn(ctx, e->k.fam, e->k.key, e->k.klen);
			del_slot(r, s);
			n++;
		}
		/* else renewed: a later entry of the FIFO carries it */
		r->qhead = (r->qhead + 1) & (r->qcap - 1);
		r->qlen--;
	}
	return n;
}

uint64_t fg_nft_reap_dropped(struct fg_nft_reap *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->dropped;
	pthread_mutex_unlock(&r->lock);
	return n;
}
