/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * In-memory NAT backend for unit tests of the grant engine (and netns
 * tests of the DNS side that need no kernel): a thin store of what was
 * granted and quarantined, with the kernel maps' timeouts and sizes (see
 * nat_mem.h). What the ruleset does with the elements is not modelled.
 *
 * One chained hash table holds every element. Grants hash on (family,
 * addr), so that "which grants does this address have" is one bucket walk;
 * quarantine entries hash on the source. Expired entries are dropped when
 * met, and in a full sweep when a map reaches its size.
 *
 * Ownership: the state is shared by the handles made from it
 * (fg_nat_mem_open_shared) and freed with the last one; a mutex serializes
 * them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/nat_mem.h"

enum kind { KI_CLIENT = FG_SCOPE_CLIENT, KI_NET = FG_SCOPE_NET, KI_ANY = FG_SCOPE_ANY,
	    KI_QUAR, KI_N };

struct ent {
	struct ent *next;
	uint8_t kind, family, plen;
	bool hashed;        /* KI_NET in the subnet hash map, not the pipapo one */
	uint8_t client[16], addr[16], backend[16];
	uint16_t bport;     /* backend port, 0 = same */
	uint64_t expires;   /* clock ms; 0 = never */
	uint32_t timeout;   /* as given, ms */
};

struct mem_state {
	pthread_mutex_t mu;
	unsigned refs;
	struct ent **b;
	size_t nb;
	size_t count[KI_N][2];      /* per kind and family, expired included */
	fg_nat_config_t cfg;        /* scalars only: every array is forgotten */
	bool frozen;
	uint64_t frozen_at;
	uint64_t offset;
	unsigned fail_count;
	int fail_err;
	fg_nat_mem_stats_t st;
};

/* A transaction started by commit_start of fg_nat_mem_async_ops: applied
 * (or failed) only when its result is asked for, as if the kernel took
 * that long; tests see the window between start and ACK. */
struct mem_pending {
	fg_grant_t g[64];
	size_t n;
};

struct fg_nat {
	struct mem_state *s;
	struct mem_pending pend[FG_NAT_PIPE_MAX];  /* FIFO ring */
	unsigned phead, npend;
};

static size_t alen_of(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static int fi(int family)
{
	return family == AF_INET6;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(struct mem_state *s)
{
	/* +1: 0 stays free to mean "never expires" */
	return (s->frozen ? s->frozen_at : mono_ms()) + s->offset + 1;
}

static size_t hash_bytes(int family, int kind, const uint8_t *a)
{
	/* FNV-1a: tests need spread, not resistance to adversaries */
	uint64_t h = 1469598103934665603ull;
	size_t i, n = alen_of(family);

	h = (h ^ (uint64_t)family) * 1099511628211ull;
	h = (h ^ (uint64_t)(kind == KI_QUAR)) * 1099511628211ull;
	for (i = 0; i < n; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	return (size_t)h;
}

static size_t bucket(struct mem_state *s, int family, int kind, const uint8_t *a)
{
	return hash_bytes(family, kind, a) & (s->nb - 1);
}

static bool live(struct mem_state *s, const struct ent *e, uint64_t now)
{
	(void)s;
	return e->expires == 0 || e->expires > now;
}

static void unlink_free(struct mem_state *s, struct ent **pp)
{
	struct ent *e = *pp;

	*pp = e->next;
	s->count[e->kind][fi(e->family)]--;
	free(e);
}

/* Drop expired entries of one bucket. */
static void sweep_bucket(struct mem_state *s, size_t i, uint64_t now)
{
	struct ent **pp = &s->b[i];

	while (*pp) {
		if (!live(s, *pp, now))
			unlink_free(s, pp);
		else
			pp = &(*pp)->next;
	}
}

static void sweep_all(struct mem_state *s, uint64_t now)
{
	size_t i;

	for (i = 0; i < s->nb; i++)
		sweep_bucket(s, i, now);
}

static size_t total(struct mem_state *s)
{
	size_t k, n = 0;

	for (k = 0; k < KI_N; k++)
		n += s->count[k][0] + s->count[k][1];
	return n;
}

static void rehash(struct mem_state *s)
{
	size_t nnb = s->nb * 4, i;
	struct ent **nb = calloc(nnb, sizeof(*nb));

	if (!nb)
		return; /* keep the old (slower) table */
	for (i = 0; i < s->nb; i++) {
		struct ent *e = s->b[i], *n;

		for (; e; e = n) {
			size_t j = hash_bytes(e->family, e->kind,
					      e->kind == KI_QUAR ? e->client : e->addr) & (nnb - 1);

			n = e->next;
			e->next = nb[j];
			nb[j] = e;
		}
	}
	free(s->b);
	s->b = nb;
	s->nb = nnb;
}

static bool prefix_match(const uint8_t *a, const uint8_t *p, unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(a, p, full) != 0)
		return false;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		return (a[full] & m) == (p[full] & m);
	}
	return true;
}

static void mask_prefix(uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned lo = (unsigned)i * 8;

		if (plen >= lo + 8)
			continue;
		a[i] &= plen <= lo ? 0 : (uint8_t)(0xff << (8 - (plen - lo)));
	}
}

/* ------------------------------------------------------------------ ops */

/* The state keeps no pointer into the caller's config: pools, ports,
 * listeners and backends are the ruleset's business, not the store's. */
static void forget_arrays(fg_nat_config_t *c)
{
	c->table = NULL;
	c->pools = NULL;
	c->npools = 0;
	c->svcports = NULL;
	c->nsvcports = 0;
	c->portmap = NULL;
	c->nportmap = 0;
	c->listen = NULL;
	c->nlisten = 0;
	c->backends = NULL;
	c->nbackends = 0;
	c->backends_set = false;
}

static int mem_open_state(const fg_nat_config_t *cfg, struct mem_state **out)
{
	struct mem_state *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->nb = 64;
	s->b = calloc(s->nb, sizeof(*s->b));
	if (!s->b) {
		free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->refs = 1;
	if (cfg)
		s->cfg = *cfg;
	forget_arrays(&s->cfg);
	*out = s;
	return 0;
}

static int mem_open(const fg_nat_config_t *cfg, fg_nat_t **out)
{
	fg_nat_t *n = calloc(1, sizeof(*n));
	int rc;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	if ((rc = mem_open_state(cfg, &n->s)) < 0) {
		free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int fg_nat_mem_open_shared(fg_nat_t *peer, fg_nat_t **out)
{
	fg_nat_t *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (!n)
		return -ENOMEM;
	pthread_mutex_lock(&peer->s->mu);
	peer->s->refs++;
	pthread_mutex_unlock(&peer->s->mu);
	n->s = peer->s;
	*out = n;
	return 0;
}

static void mem_close(fg_nat_t *nat)
{
	struct mem_state *s;
	unsigned left;
	size_t i;

	if (!nat)
		return;
	s = nat->s;
	free(nat);
	pthread_mutex_lock(&s->mu);
	left = --s->refs;
	pthread_mutex_unlock(&s->mu);
	if (left)
		return;
	for (i = 0; i < s->nb; i++)
		while (s->b[i])
			unlink_free(s, &s->b[i]);
	free(s->b);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int mem_setup(fg_nat_t *nat, const fg_nat_config_t *cfg)
{
	struct mem_state *s = nat->s;

	if (!cfg)
		return -EINVAL;
	pthread_mutex_lock(&s->mu);
	/* Like the kernel: the sizes follow the config, grants and
	 * quarantine are kept. */
	s->cfg = *cfg;
	forget_arrays(&s->cfg);
	s->st.setups++;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int grant_check(const fg_grant_t *g)
{
	unsigned max;

	if (g->family != AF_INET && g->family != AF_INET6)
		return -EINVAL;
	if (g->scope > FG_SCOPE_ANY || g->timeout_ms == 0)
		return -EINVAL;
	max = g->family == AF_INET6 ? 128 : 32;
	if (g->scope != FG_SCOPE_ANY && g->client_plen > max)
		return -EINVAL;
	return 0;
}

/* Does a subnet grant go to the hash map (the kernel's grant_net<F>_<L>,
 * fg_nft_grant_group), whose elements never clash with another length? */
static bool net_hashed(const struct mem_state *s, const fg_grant_t *g)
{
	unsigned hp = g->family == AF_INET6 ? s->cfg.net_hash_plen6 : s->cfg.net_hash_plen4;

	return g->scope == FG_SCOPE_NET && hp && hp < alen_of(g->family) * 8 &&
	       g->client_plen == hp;
}

/* Find the element a grant would write, or a conflicting NET range (two
 * elements of the pipapo map; hash map elements conflict with nothing). */
static struct ent *find_grant(struct mem_state *s, const fg_grant_t *g, const uint8_t *client,
			      unsigned plen, uint64_t now, bool *overlap)
{
	bool hashed = net_hashed(s, g);

	size_t n = alen_of(g->family);
	struct ent *e;

	*overlap = false;
	for (e = s->b[bucket(s, g->family, g->scope, g->addr)]; e; e = e->next) {
		if (e->kind != g->scope || e->family != g->family ||
		    memcmp(e->addr, g->addr, n) != 0 || !live(s, e, now))
			continue;
		if (g->scope == FG_SCOPE_ANY)
			return e;
		if (g->scope == FG_SCOPE_CLIENT && memcmp(e->client, client, n) == 0)
			return e;
		if (g->scope == FG_SCOPE_NET) {
			if (e->hashed != hashed)
				continue;   /* another map */
			if (e->plen == plen && memcmp(e->client, client, n) == 0)
				return e;
			/* pipapo refuses nested ranges for one address */
			if (!hashed && prefix_match(client, e->client, e->plen < plen ? e->plen : plen))
				*overlap = true;
		}
	}
	return NULL;
}

static int mem_commit(fg_nat_t *nat, const fg_grant_t *g, size_t n)
{
	struct mem_state *s = nat->s;
	struct ent **fresh = NULL;
	size_t i, nfresh = 0;
	size_t add[3][2] = { { 0 } };
	uint64_t now;
	int rc = 0;

	for (i = 0; i < n; i++)
		if ((rc = grant_check(&g[i])) < 0)
			return rc;
	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	if (s->fail_count) {
		s->fail_count--;
		rc = s->fail_err ? s->fail_err : -FG_ENETLINK;
		goto out;
	}
	/* Atomic like a netlink batch: check everything first (capacity,
	 * overlaps), write only when all grants fit. */
	/* Allocate every entry the batch may need up front: past the checks
	 * nothing may fail half-way. */
	fresh = calloc(n, sizeof(*fresh));
	if (!fresh) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!(fresh[i] = calloc(1, sizeof(**fresh)))) {
			rc = -ENOMEM;
			goto out;
		}
	for (i = 0; i < n; i++) {
		uint8_t client[16] = { 0 };
		bool overlap;
		unsigned plen = g[i].client_plen;
		size_t j;

		if (g[i].scope != FG_SCOPE_ANY) {
			memcpy(client, g[i].client, alen_of(g[i].family));
			if (g[i].scope == FG_SCOPE_CLIENT)
				plen = (unsigned)alen_of(g[i].family) * 8;
			mask_prefix(client, alen_of(g[i].family), plen);
		}
		if (find_grant(s, &g[i], client, plen, now, &overlap))
			continue;
		if (overlap) {
			log_err("mem commit: NET grant overlaps a live one for the same address");
			rc = -FG_ENETLINK;
			goto out;
		}
		/* duplicates inside the batch count once */
		for (j = 0; j < i; j++)
			if (g[j].family == g[i].family && g[j].scope == g[i].scope &&
			    memcmp(g[j].addr, g[i].addr, 16) == 0 &&
			    (g[i].scope == FG_SCOPE_ANY ||
			     (g[j].client_plen == g[i].client_plen &&
			      memcmp(g[j].client, g[i].client, 16) == 0)))
				break;
		if (j == i)
			add[g[i].scope][fi(g[i].family)]++;
	}
	if (s->cfg.grant_set_size) {
		int k, f;
		bool swept = false;

		for (k = 0; k < 3; k++)
			for (f = 0; f < 2; f++) {
				if (s->count[k][f] + add[k][f] <= s->cfg.grant_set_size)
					continue;
				if (!swept) {
					sweep_all(s, now);
					swept = true;
				}
				if (s->count[k][f] + add[k][f] > s->cfg.grant_set_size) {
					rc = -FG_ENETLINK; /* the kernel says ENFILE */
					goto out;
				}
			}
	}
	for (i = 0; i < n; i++) {
		uint8_t client[16] = { 0 };
		unsigned plen = g[i].client_plen;
		bool overlap;
		struct ent *e;
		size_t an = alen_of(g[i].family);

		if (g[i].scope != FG_SCOPE_ANY) {
			memcpy(client, g[i].client, an);
			if (g[i].scope == FG_SCOPE_CLIENT)
				plen = (unsigned)an * 8;
			mask_prefix(client, an, plen);
		} else {
			plen = 0;
		}
		e = find_grant(s, &g[i], client, plen, now, &overlap);
		if (!e) {
			size_t bi = bucket(s, g[i].family, g[i].scope, g[i].addr);

			e = fresh[nfresh];
			fresh[nfresh++] = NULL;
			e->kind = g[i].scope;
			e->family = g[i].family;
			e->plen = (uint8_t)plen;
			e->hashed = net_hashed(s, &g[i]);
			memcpy(e->client, client, 16);
			memcpy(e->addr, g[i].addr, an);
			e->next = s->b[bi];
			s->b[bi] = e;
			s->count[e->kind][fi(e->family)]++;
		}
		/* the kernel sets (never maxes) the timeout of a re-added key */
		memcpy(e->backend, g[i].backend, an);
		e->bport = g[i].backend_port;
		e->timeout = g[i].timeout_ms;
		e->expires = now + g[i].timeout_ms;
	}
	if (total(s) > s->nb * 2)
		rehash(s);
	s->st.commits++;
	s->st.grants_written += n;
	s->st.last_batch = n;
out:
	if (rc < 0)
		s->st.commit_failures++;
	pthread_mutex_unlock(&s->mu);
	if (fresh)
		for (i = 0; i < n; i++)
			free(fresh[i]); /* the ones not used */
	free(fresh);
	return rc;
}

static int mem_dump(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx)
{
	struct mem_state *s = nat->s;
	fg_grant_t *out = NULL;
	size_t i, n = 0, cap = 0;
	uint64_t now;

	/* Collect under the lock, call back without it: the callback may
	 * well commit on another handle of the same state. */
	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	sweep_all(s, now);
	for (i = 0; i < s->nb; i++) {
		struct ent *e;

		for (e = s->b[i]; e; e = e->next) {
			fg_grant_t *g;

			if (e->kind > KI_ANY)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *p = realloc(out, nc * sizeof(*out));

				if (!p) {
					pthread_mutex_unlock(&s->mu);
					free(out);
					return -ENOMEM;
				}
				out = p;
				cap = nc;
			}
			g = &out[n++];
			memset(g, 0, sizeof(*g));
			g->family = e->family;
			g->scope = e->kind;
			g->client_plen = e->kind == KI_ANY ? 0 : e->plen;
			memcpy(g->client, e->client, 16);
			memcpy(g->addr, e->addr, 16);
			memcpy(g->backend, e->backend, 16);
			g->backend_port = e->bport;
			g->timeout_ms = (uint32_t)(e->expires - now);
		}
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++)
		fn(ctx, &out[i]);
	free(out);
	return 0;
}

static int mem_count(fg_nat_t *nat, fg_nat_counts_t *out)
{
	struct mem_state *s = nat->s;
	int k;

	pthread_mutex_lock(&s->mu);
	sweep_all(s, now_ms(s));   /* the counters include expired entries */
	for (k = KI_CLIENT; k <= KI_ANY; k++)
		out->grants[k] = s->count[k][0] + s->count[k][1];
	out->pinned = 0;           /* pins are made by the packet path */
	out->quarantined = s->count[KI_QUAR][0] + s->count[KI_QUAR][1];
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static struct ent *find_quar(struct mem_state *s, int family, const uint8_t *src, uint64_t now)
{
	struct ent *e;

	for (e = s->b[bucket(s, family, KI_QUAR, src)]; e; e = e->next)
		if (e->kind == KI_QUAR && e->family == family &&
		    memcmp(e->client, src, alen_of(family)) == 0 && live(s, e, now))
			return e;
	return NULL;
}

static int mem_quarantine(fg_nat_t *nat, int family, const uint8_t *src, uint32_t timeout_ms)
{
	struct mem_state *s = nat->s;
	struct ent *e;
	uint64_t now;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	e = find_quar(s, family, src, now);
	if (!e) {
		size_t bi = bucket(s, family, KI_QUAR, src);

		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_mutex_unlock(&s->mu);
			return -ENOMEM;
		}
		e->kind = KI_QUAR;
		e->family = (uint8_t)family;
		memcpy(e->client, src, alen_of(family));
		e->next = s->b[bi];
		s->b[bi] = e;
		s->count[KI_QUAR][fi(family)]++;
		e->expires = timeout_ms ? now + timeout_ms : 0;
	} else if (e->expires) {
		/* like the kernel: a timed element gets the new timeout, a
		 * permanent one stays permanent */
		e->expires = timeout_ms ? now + timeout_ms : e->expires;
	}
	e->timeout = timeout_ms;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int mem_release(fg_nat_t *nat, int family, const uint8_t *src)
{
	struct mem_state *s = nat->s;
	struct ent **pp;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	pthread_mutex_lock(&s->mu);
	for (pp = &s->b[bucket(s, family, KI_QUAR, src)]; *pp;) {
		struct ent *e = *pp;

		if (e->kind == KI_QUAR && e->family == family &&
		    memcmp(e->client, src, alen_of(family)) == 0)
			unlink_free(s, pp);
		else
			pp = &e->next;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int mem_destroy(fg_nat_t *nat)
{
	struct mem_state *s = nat->s;
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nb; i++)
		while (s->b[i])
			unlink_free(s, &s->b[i]);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* --------------------------------------------------------------- hooks */

void fg_nat_mem_clock_freeze(fg_nat_t *nat)
{
	struct mem_state *s = nat->s;

	pthread_mutex_lock(&s->mu);
	if (!s->frozen) {
		s->frozen_at = mono_ms();
		s->frozen = true;
	}
	pthread_mutex_unlock(&s->mu);
}

void fg_nat_mem_advance(fg_nat_t *nat, uint64_t ms)
{
	pthread_mutex_lock(&nat->s->mu);
	nat->s->offset += ms;
	pthread_mutex_unlock(&nat->s->mu);
}

void fg_nat_mem_fail_next(fg_nat_t *nat, unsigned count, int err)
{
	pthread_mutex_lock(&nat->s->mu);
	nat->s->fail_count = count;
	nat->s->fail_err = err;
	pthread_mutex_unlock(&nat->s->mu);
}

bool fg_nat_mem_granted(fg_nat_t *nat, int family, const uint8_t *client, const uint8_t *addr,
			uint8_t *backend)
{
	struct mem_state *s = nat->s;
	size_t n = alen_of(family);
	struct ent *e, *hit[3] = { NULL, NULL, NULL };
	uint64_t now;

	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	for (e = s->b[bucket(s, family, KI_ANY, addr)]; e; e = e->next) {
		if (e->kind > KI_ANY || e->family != family || memcmp(e->addr, addr, n) != 0 ||
		    !live(s, e, now))
			continue;
		if (e->kind == KI_CLIENT && memcmp(e->client, client, n) == 0)
			hit[0] = e;
		else if (e->kind == KI_NET && prefix_match(client, e->client, e->plen))
			hit[1] = e;
		else if (e->kind == KI_ANY)
			hit[2] = e;
	}
	for (int k = 0; k < 3; k++)
		if (hit[k]) {
			if (backend)
				memcpy(backend, hit[k]->backend, n);
			pthread_mutex_unlock(&s->mu);
			return true;
		}
	pthread_mutex_unlock(&s->mu);
	return false;
}

bool fg_nat_mem_quarantined(fg_nat_t *nat, int family, const uint8_t *src)
{
	struct mem_state *s = nat->s;
	bool q;

	pthread_mutex_lock(&s->mu);
	q = find_quar(s, family, src, now_ms(s)) != NULL;
	pthread_mutex_unlock(&s->mu);
	return q;
}

void fg_nat_mem_stats(fg_nat_t *nat, fg_nat_mem_stats_t *st)
{
	struct mem_state *s = nat->s;
	uint64_t now;
	size_t i;

	pthread_mutex_lock(&s->mu);
	now = now_ms(s);
	*st = s->st;
	st->live_grants = st->quarantined = 0;
	for (i = 0; i < s->nb; i++) {
		struct ent *e;

		for (e = s->b[i]; e; e = e->next) {
			if (!live(s, e, now))
				continue;
			if (e->kind <= KI_ANY)
				st->live_grants++;
			else if (e->kind == KI_QUAR)
				st->quarantined++;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

static int mem_commit_start(fg_nat_t *nat, const fg_grant_t *g, size_t n)
{
	if (n == 0 || n > 64)
		return -EINVAL;
	if (nat->npend >= FG_NAT_PIPE_MAX)
		return -EBUSY;
	struct mem_pending *p = &nat->pend[(nat->phead + nat->npend) % FG_NAT_PIPE_MAX];
	memcpy(p->g, g, n * sizeof(*g));
	p->n = n;
	nat->npend++;
	return 0;
}

static int mem_commit_result(fg_nat_t *nat)
{
	if (!nat->npend)
		return -EINVAL;
	struct mem_pending *p = &nat->pend[nat->phead];
	nat->phead = (nat->phead + 1) % FG_NAT_PIPE_MAX;
	nat->npend--;
	return mem_commit(nat, p->g, p->n);
}

static int mem_commit_fd(fg_nat_t *nat)
{
	(void)nat;
	return -1;   /* no descriptor: the server asks for results at once */
}

unsigned fg_nat_mem_pending(const fg_nat_t *nat)
{
	return nat->npend;
}

const fg_nat_ops_t fg_nat_mem_async_ops = {
	.name = "mem-async",
	.open = mem_open,
	.setup = mem_setup,
	.commit = mem_commit,
	.commit_start = mem_commit_start,
	.commit_result = mem_commit_result,
	.commit_fd = mem_commit_fd,
	.dump = mem_dump,
	.count = mem_count,
	.quarantine = mem_quarantine,
	.release = mem_release,
	.destroy = mem_destroy,
	.close = mem_close,
};

const fg_nat_ops_t fg_nat_mem_ops = {
	.name = "mem",
	.open = mem_open,
	.setup = mem_setup,
	.commit = mem_commit,
	.dump = mem_dump,
	.count = mem_count,
	.quarantine = mem_quarantine,
	.release = mem_release,
	.destroy = mem_destroy,
	.close = mem_close,
};
