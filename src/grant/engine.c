/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "grant/engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/natcfg.h"
#include "grant/policy.h"
#include "pool/pool.h"

#define RCACHE_SIZE 16384          /* per-resolver memory, direct-mapped */
#define RAND_WORDS  512
/* per-source holdings: sets of ways; with the largest quota (256 exact
 * grants) the exact table takes 1024 * 4 * 256 * 32 B = 32 MiB, with the
 * default (64) 8 MiB */
#define HOLD_SETS   1024
#define HOLD_WAYS   4
#define BATCH_MAX   64

/* Pool state outlives config snapshots: a reload keeps the "open to anyone"
 * bookkeeping of every pool whose id and range did not change. */
typedef struct pool_state {
	char *id;
	fg_conf_prefix_t prefix;
	fg_pool_t *pool;
	struct pool_state *next;
} pool_state_t;

/* A service id, interned in the shared state: per-resolver memory and
 * holdings point at it, so they follow the service by its id across
 * reloads whatever its index in the new config. Never freed before the
 * shared state. */
typedef struct svc_ident {
	char *id;
	uint64_t key;              /* hash of id, for slot choice */
	struct svc_ident *next;
} svc_ident_t;

/* What a resolver was last given for a service and family. */
typedef struct rcache_ent {
	uint8_t peer[16];
	const svc_ident_t *svc;
	uint8_t family;
	uint8_t scope;
	uint8_t addr[16];
	uint64_t interval_until;   /* min-interval rotation: same address until */
	uint64_t grant_until;      /* the grant's own end */
} rcache_ent_t;

/* One address a source holds, and until when. An exact holding is one
 * kernel element (client . address): `counted` is the latest count_until
 * of its acknowledged unverified grants, until which the caller's budget
 * counts it (fg_grant_req_t.renew_of). */
typedef struct hold_slot {
	uint8_t addr[16];
	uint64_t until;            /* 0 = free */
	uint64_t counted;          /* 0 = none */
} hold_slot_t;

/* The addresses one source holds for one service and family: kind ANY
 * keyed by the source's /24 or /56, kind CLIENT by its exact address. */
typedef struct hold_ent {
	const svc_ident_t *svc;    /* NULL = empty */
	uint8_t family;
	uint8_t src[16];
	hold_slot_t *slot;         /* tab->nslot of them */
} hold_ent_t;

/* Set-associative; a set's least recently extended way is evicted, which
 * only forgets a quiet source (it then starts again from zero). */
typedef struct hold_tab {
	hold_ent_t *ent;           /* HOLD_SETS * HOLD_WAYS */
	hold_slot_t *slots;        /* nslot per entry */
	unsigned nslot;
	struct hold_tab *retired;  /* replaced tables, freed with the state */
} hold_tab_t;

typedef struct shared_state {
	_Atomic int refs;
	pthread_mutex_t lock;
	pool_state_t *pools;
	svc_ident_t *idents;
	rcache_ent_t *rcache;
	hold_tab_t *hold[2];       /* [0] exact (CLIENT), [1] anyone */
	uint64_t seed;             /* keys the holdings' slot choice */
} shared_state_t;

typedef struct svc_rt {
	const svc_ident_t *ident;
	pool_state_t *pool[2];        /* [0] IPv4, [1] IPv6 (first of each) */
	/* the service's other pools of each family: used only when a pool
	 * filter (fg_grant_engine_set_pool_filter) turns the first down */
	pool_state_t *alt[2][4];
	unsigned nalt[2];
	struct { uint8_t addr[16]; uint16_t port; } *backend[2];  /* port 0: same */
	size_t nbackend[2];
	uint32_t ttl_ms, grace_ms, min_interval_ms;
	uint32_t max_grant_ms;        /* fg_conf_service_grant_ms() */
	enum fg_rotation rotation;
	double max_open_fraction;
	_Atomic uint64_t grants[3];   /* by scope */
	_Atomic uint64_t failures;    /* requests that got no grant */
} svc_rt_t;

struct fg_grant_engine {
	fg_grant_pool_ok_fn pool_ok;  /* NULL: the first pool of a family serves */
	void *pool_ok_ctx;
	shared_state_t *shared;
	svc_rt_t *svcs;
	size_t nsvcs;
	fg_conf_prefix_t *direct;
	size_t ndirect;
	fg_conf_prefix_t *resolvers;
	size_t nresolvers;
	uint8_t ecs_min4, ecs_min6;
	unsigned anyone_per_source, exact_per_source;
	const fg_nat_ops_t *ops;
	fg_nat_cfgbuf_t *nat;         /* the data plane, built from conf */
	/* counters (read by metrics) */
	_Atomic uint64_t grants[3];         /* by scope */
	_Atomic uint64_t forced_reuse;      /* cap reached: reused an open address */
	_Atomic uint64_t commit_failures;
	_Atomic uint64_t commit_servfail;
	_Atomic uint64_t anyone_source_reuse;
	_Atomic uint64_t exact_quota_reuse;
	_Atomic uint64_t ecs_ignored;
	_Atomic uint64_t noaddr[FG_NOADDR_COUNT]; /* answers without an address, by cause */
	_Atomic uint64_t log_at;            /* rate limit of the failure log */
	_Atomic uint64_t log_skipped;
};

/* What choose() changed for one grant, to undo it if the kernel refuses
 * the transaction. Each undo applies only while the state is still what
 * this grant left (another worker may have moved it on meanwhile). */
typedef struct undo {
	fg_pool_t *pool;           /* non-NULL: the pool open state was set */
	uint8_t addr[16];
	uint64_t pool_before, pool_after;
	rcache_ent_t *rc;
	rcache_ent_t rc_before, rc_after;
	hold_slot_t *hs;           /* non-NULL: a holdings slot was set */
	hold_slot_t hs_before, hs_after;
	/* an unverified exact grant: on its ACK, hs->counted takes its
	 * count_until if hs still holds it for the same source */
	hold_ent_t *he;            /* NULL: nothing to record */
	hold_ent_t he_key;         /* svc, family, src of he (slot unused) */
} undo_t;

/* One batch between fg_grant_begin() and fg_grant_finish(). */
typedef struct ticket {
	fg_grant_t grants[BATCH_MAX];
	undo_t undo[BATCH_MAX];
	size_t idx[BATCH_MAX];     /* grant k is for request idx[k] */
	size_t ng;
	bool sent;                 /* started on the backend, result unread */
	int rc;                    /* the result once known */
} ticket_t;

struct fg_grant_worker {
	const fg_nat_ops_t *ops;
	fg_nat_t *nat;
	bool async;                /* the backend pipelines (commit_start) */
	uint64_t rnd[RAND_WORDS];
	unsigned rnd_left;
	ticket_t t[FG_GRANT_PIPE]; /* FIFO ring: head .. head + count - 1 */
	unsigned head, count;
	fg_grant_t retry[BATCH_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int fam_idx(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static size_t alen_of(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* ---- shared state ----------------------------------------------------- */

static void hold_free(hold_tab_t *t)
{
	while (t) {
		hold_tab_t *n = t->retired;
		free(t->ent);
		free(t->slots);
		free(t);
		t = n;
	}
}

static hold_tab_t *hold_new(unsigned nslot)
{
	hold_tab_t *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nslot = nslot;
	t->ent = calloc((size_t)HOLD_SETS * HOLD_WAYS, sizeof(*t->ent));
	t->slots = calloc((size_t)HOLD_SETS * HOLD_WAYS * nslot, sizeof(*t->slots));
	if (!t->ent || !t->slots) {
		hold_free(t);
		return NULL;
	}
	for (size_t i = 0; i < (size_t)HOLD_SETS * HOLD_WAYS; i++)
		t->ent[i].slot = &t->slots[i * nslot];
	return t;
}

static void shared_put(shared_state_t *sh)
{
	if (!sh || atomic_fetch_sub(&sh->refs, 1) != 1)
		return;
	pool_state_t *p = sh->pools;
	while (p) {
		pool_state_t *n = p->next;
		fg_pool_free(p->pool);
		free(p->id);
		free(p);
		p = n;
	}
	svc_ident_t *si = sh->idents;
	while (si) {
		svc_ident_t *n = si->next;
		free(si->id);
		free(si);
		si = n;
	}
	hold_free(sh->hold[0]);
	hold_free(sh->hold[1]);
	free(sh->rcache);
	pthread_mutex_destroy(&sh->lock);
	OPENSSL_cleanse(&sh->seed, sizeof(sh->seed));
	free(sh);
}

static shared_state_t *shared_new(void)
{
	shared_state_t *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->rcache = calloc(RCACHE_SIZE, sizeof(*sh->rcache));
	if (!sh->rcache || RAND_bytes((unsigned char *)&sh->seed, sizeof(sh->seed)) != 1) {
		free(sh->rcache);
		free(sh);
		return NULL;
	}
	pthread_mutex_init(&sh->lock, NULL);
	atomic_store(&sh->refs, 1);
	return sh;
}

static pool_state_t *pool_get(shared_state_t *sh, const fg_conf_pool_t *cp)
{
	for (pool_state_t *p = sh->pools; p; p = p->next)
		if (!strcmp(p->id, cp->id) && !memcmp(&p->prefix, &cp->prefix, sizeof(p->prefix)))
			return p;
	pool_state_t *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = strdup(cp->id);
	p->prefix = cp->prefix;
	if (!p->id || fg_pool_new(cp->prefix.family, cp->prefix.first, cp->prefix.last,
				  cp->prefix.plen, &p->pool) < 0) {
		free(p->id);
		free(p);
		return NULL;
	}
	p->next = sh->pools;
	sh->pools = p;
	return p;
}

static const svc_ident_t *ident_get(shared_state_t *sh, const char *id)
{
	for (svc_ident_t *si = sh->idents; si; si = si->next)
		if (!strcmp(si->id, id))
			return si;
	svc_ident_t *si = calloc(1, sizeof(*si));
	if (!si || !(si->id = strdup(id))) {
		free(si);
		return NULL;
	}
	uint64_t h = 1469598103934665603ull;
	for (const char *c = id; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	si->key = h;
	si->next = sh->idents;
	sh->idents = si;
	return si;
}

/* Holdings tables large enough for the quotas; a reload that raises one
 * starts that table afresh. The old one is kept until the shared state
 * goes: a worker of the previous snapshot may still undo into it. */
static int hold_fit(shared_state_t *sh, int k, unsigned nslot)
{
	if (sh->hold[k] && sh->hold[k]->nslot >= nslot)
		return 0;
	hold_tab_t *t = hold_new(nslot);
	if (!t)
		return -ENOMEM;
	t->retired = sh->hold[k];
	sh->hold[k] = t;
	return 0;
}

/* ---- engine ----------------------------------------------------------- */

void fg_grant_engine_free(fg_grant_engine_t *eng)
{
	if (!eng)
		return;
	for (size_t i = 0; i < eng->nsvcs; i++) {
		free(eng->svcs[i].backend[0]);
		free(eng->svcs[i].backend[1]);
	}
	free(eng->svcs);
	free(eng->direct);
	free(eng->resolvers);
	fg_nat_cfgbuf_free(eng->nat);
	shared_put(eng->shared);
	free(eng);
}

static const fg_conf_pool_t *conf_pool(const fg_conf_t *conf, const char *id)
{
	for (size_t i = 0; i < conf->npools; i++)
		if (!strcmp(conf->pools[i].id, id))
			return &conf->pools[i];
	return NULL;
}

int fg_grant_engine_new(const fg_conf_t *conf, fg_grant_engine_t *prev,
			fg_grant_engine_t **out)
{
	fg_grant_engine_t *eng = calloc(1, sizeof(*eng));
	int rc = -ENOMEM;

	if (!eng)
		return -ENOMEM;
	if (prev) {
		eng->shared = prev->shared;
		atomic_fetch_add(&eng->shared->refs, 1);
	} else if (!(eng->shared = shared_new())) {
		goto fail;
	}
	eng->ops = fg_nat_ops_find(conf->nat.backend ? conf->nat.backend : "nft");
	if (!eng->ops) {
		rc = -EINVAL;
		goto fail;
	}

	eng->nsvcs = conf->nservices;
	eng->svcs = calloc(eng->nsvcs ? eng->nsvcs : 1, sizeof(*eng->svcs));
	eng->direct = calloc(conf->policy.ndirect ? conf->policy.ndirect : 1, sizeof(*eng->direct));
	if (!eng->svcs || !eng->direct)
		goto fail;
	if ((rc = fg_nat_config_build(conf, &eng->nat)) < 0)
		goto fail;
	rc = -ENOMEM;
	/* memcpy from NULL is undefined even for 0 bytes (UBSan aborts) */
	if (conf->policy.ndirect)
		memcpy(eng->direct, conf->policy.direct,
		       conf->policy.ndirect * sizeof(*eng->direct));
	eng->ndirect = conf->policy.ndirect;
	eng->ecs_min4 = (uint8_t)conf->policy.ecs_min_prefix4;
	eng->ecs_min6 = (uint8_t)conf->policy.ecs_min_prefix6;
	eng->anyone_per_source = conf->policy.anyone_per_source ? conf->policy.anyone_per_source : 4;
	eng->exact_per_source = conf->policy.exact_per_source ? conf->policy.exact_per_source : 64;
	size_t answered = 0;   /* external services are not answered by us */
	for (size_t i = 0; i < conf->nservices; i++)
		answered += !conf->services[i].external.set;
	if (answered && !conf->policy.nresolvers)
		log_warn("%s", FG_CONF_WARN_NO_RESOLVERS + sizeof("warning: ") - 1);
	if (conf->policy.nresolvers) {
		eng->resolvers = calloc(conf->policy.nresolvers, sizeof(*eng->resolvers));
		if (!eng->resolvers)
			goto fail;
		memcpy(eng->resolvers, conf->policy.resolvers,
		       conf->policy.nresolvers * sizeof(*eng->resolvers));
		eng->nresolvers = conf->policy.nresolvers;
	}

	pthread_mutex_lock(&eng->shared->lock);
	if (hold_fit(eng->shared, 0, eng->exact_per_source) < 0 ||
	    hold_fit(eng->shared, 1, eng->anyone_per_source) < 0) {
		pthread_mutex_unlock(&eng->shared->lock);
		goto fail;
	}
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *cs = &conf->services[s];
		svc_rt_t *rt = &eng->svcs[s];
		rt->ident = ident_get(eng->shared, cs->id ? cs->id : "");
		if (!rt->ident) {
			pthread_mutex_unlock(&eng->shared->lock);
			goto fail;
		}
		rt->ttl_ms = cs->ttl_ms;
		rt->grace_ms = cs->grace_ms;
		rt->max_grant_ms = fg_conf_service_grant_ms(cs);
		rt->min_interval_ms = cs->min_interval_ms;
		rt->rotation = cs->rotation;
		rt->max_open_fraction = cs->max_open_fraction > 0 ? cs->max_open_fraction : 0.1;
		for (size_t k = 0; k < cs->npools; k++) {
			const fg_conf_pool_t *cp = conf_pool(conf, cs->pools[k]);
			if (!cp)
				continue;
			int fi = fam_idx(cp->prefix.family);
			pool_state_t **slot = &rt->pool[fi];
			if (rt->pool[fi]) {
				/* first pool of a family serves it; the others
				 * stand by for a pool filter */
				if (rt->nalt[fi] >= sizeof(rt->alt[fi]) / sizeof(rt->alt[fi][0]))
					continue;
				slot = &rt->alt[fi][rt->nalt[fi]++];
			}
			*slot = pool_get(eng->shared, cp);
			if (!*slot) {
				pthread_mutex_unlock(&eng->shared->lock);
				goto fail;
			}
		}
		for (int fi = 0; fi < 2; fi++) {
			rt->backend[fi] = calloc(cs->nbackends ? cs->nbackends : 1,
						 sizeof(*rt->backend[fi]));
			if (!rt->backend[fi]) {
				pthread_mutex_unlock(&eng->shared->lock);
				goto fail;
			}
		}
		for (size_t b = 0; b < cs->nbackends; b++) {
			const struct sockaddr_storage *ss = &cs->backends[b].ss;
			int fi = fam_idx(ss->ss_family);
			if (ss->ss_family == AF_INET)
				memcpy(rt->backend[0][rt->nbackend[0]].addr,
				       &((const struct sockaddr_in *)ss)->sin_addr, 4);
			else if (ss->ss_family == AF_INET6)
				memcpy(rt->backend[1][rt->nbackend[1]].addr,
				       &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
			else
				continue;
			rt->backend[fi][rt->nbackend[fi]++].port = fg_nat_addr_port(ss);
		}
	}
	pthread_mutex_unlock(&eng->shared->lock);

	*out = eng;
	return 0;
fail:
	fg_grant_engine_free(eng);
	return rc;
}

void fg_grant_engine_set_ops(fg_grant_engine_t *eng, const fg_nat_ops_t *ops)
{
	eng->ops = ops;
}

const fg_nat_config_t *fg_grant_engine_natcfg(const fg_grant_engine_t *eng)
{
	return &eng->nat->cfg;
}

const fg_nat_ops_t *fg_grant_engine_ops(const fg_grant_engine_t *eng)
{
	return eng->ops;
}

int fg_grant_engine_setup(fg_grant_engine_t *eng)
{
	fg_nat_t *nat = NULL;
	int rc = eng->ops->open(&eng->nat->cfg, &nat);
	if (rc < 0)
		return rc;
	/* no read-back here: at a million grants it takes minutes, and this
	 * runs before serving (restart) and on every reload (under nothing
	 * now, but still on the main loop); restart recovery is the
	 * adopter's, below, in the background */
	rc = eng->ops->setup(nat, &eng->nat->cfg);
	eng->ops->close(nat);
	return rc;
}

/* ---- restart recovery ------------------------------------------------- */

struct fg_grant_adopt {
	shared_state_t *shared;
};

int fg_grant_adopt_new(fg_grant_engine_t *eng, fg_grant_adopt_t **out)
{
	fg_grant_adopt_t *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->shared = eng->shared;
	atomic_fetch_add(&a->shared->refs, 1);
	*out = a;
	return 0;
}

void fg_grant_adopt_free(fg_grant_adopt_t *a)
{
	if (!a)
		return;
	shared_put(a->shared);
	free(a);
}

/* Grants the kernel still holds keep their pool addresses open, so the
 * open-fraction cap counts them and no fresh pick hands them out again.
 * Opening only extends a window, so adopting after (or twice, or racing
 * a worker that granted the same address meanwhile) changes nothing. */
size_t fg_grant_adopt(fg_grant_adopt_t *a, const fg_grant_t *g, size_t n)
{
	size_t got = 0;
	uint64_t now = mono_ms();
	pthread_mutex_lock(&a->shared->lock);
	for (size_t i = 0; i < n; i++) {
		if (g[i].scope != FG_SCOPE_ANY || !g[i].timeout_ms ||
		    (g[i].family != AF_INET && g[i].family != AF_INET6))
			continue;
		for (pool_state_t *p = a->shared->pools; p; p = p->next)
			if (fg_pool_family(p->pool) == g[i].family &&
			    fg_pool_contains(p->pool, g[i].addr) &&
			    fg_pool_open(p->pool, g[i].addr, now + g[i].timeout_ms) == 0) {
				got++;
				break;
			}
	}
	pthread_mutex_unlock(&a->shared->lock);
	return got;
}

/* ---- workers ---------------------------------------------------------- */

int fg_grant_worker_new(fg_grant_engine_t *eng, fg_grant_worker_t **out)
{
	fg_grant_worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ops = eng->ops;
	w->async = w->ops->commit_start && w->ops->commit_result && w->ops->commit_fd;
	int rc = w->ops->open(&eng->nat->cfg, &w->nat);
	if (rc < 0) {
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

fg_nat_t *fg_grant_worker_nat(fg_grant_worker_t *w)
{
	return w->nat;
}

int fg_grant_worker_fd(fg_grant_worker_t *w)
{
	return w->async ? w->ops->commit_fd(w->nat) : -1;
}

unsigned fg_grant_inflight(const fg_grant_worker_t *w)
{
	return w->count;
}

bool fg_grant_oldest_known(const fg_grant_worker_t *w)
{
	return w->count && !w->t[w->head].sent;
}

void fg_grant_worker_free(fg_grant_worker_t *w)
{
	if (!w)
		return;
	/* results still owed by the backend are read, never left for the
	 * next user of the handle (a privsep channel is reused) */
	for (unsigned k = 0; k < w->count; k++)
		if (w->t[(w->head + k) % FG_GRANT_PIPE].sent)
			(void)w->ops->commit_result(w->nat);
	if (w->nat)
		w->ops->close(w->nat);
	OPENSSL_cleanse(w->rnd, sizeof(w->rnd));
	free(w);
}

/* CSPRNG words, refilled in blocks so RAND_bytes is off the per-query path. */
static uint64_t worker_rand(void *ctx)
{
	fg_grant_worker_t *w = ctx;
	if (!w->rnd_left) {
		if (RAND_bytes((unsigned char *)w->rnd, sizeof(w->rnd)) != 1)
			abort();   /* no entropy: never hand out predictable addresses */
		w->rnd_left = RAND_WORDS;
	}
	return w->rnd[--w->rnd_left];
}

static rcache_ent_t *rcache_slot(shared_state_t *sh, const uint8_t *peer, int family,
				 const svc_ident_t *svc)
{
	uint64_t h = 1469598103934665603ull ^ svc->key ^ ((uint64_t)family << 40);
	for (int i = 0; i < 16; i++) {
		h ^= peer[i];
		h *= 1099511628211ull;
	}
	return &sh->rcache[(h ^ (h >> 31)) % RCACHE_SIZE];
}

/* ---- per-source holdings ---------------------------------------------- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* The entry of (svc, family, src) in `t`, made (evicting the quietest way
 * of its set) when absent. The set index is keyed by a secret seed, so a
 * source cannot aim at the set of another. */
static hold_ent_t *hold_get(hold_tab_t *t, uint64_t seed, const svc_ident_t *svc,
			    uint8_t family, const uint8_t src[16], uint64_t now)
{
	uint64_t w0, w1;
	memcpy(&w0, src, 8);
	memcpy(&w1, src + 8, 8);
	uint64_t h = mix64(seed ^ svc->key);
	h = mix64(h ^ w0 ^ family);
	h = mix64(h ^ w1);
	hold_ent_t *set = &t->ent[(h % HOLD_SETS) * HOLD_WAYS];
	hold_ent_t *victim = NULL;
	uint64_t vlast = UINT64_MAX;
	for (int i = 0; i < HOLD_WAYS; i++) {
		hold_ent_t *e = &set[i];
		if (e->svc == svc && e->family == family && !memcmp(e->src, src, 16))
			return e;
		uint64_t last = 0;
		if (e->svc)
			for (unsigned k = 0; k < t->nslot; k++)
				if (e->slot[k].until > last)
					last = e->slot[k].until;
		if (last <= now)
			last = 0;   /* nothing live: as good as empty */
		if (last < vlast) {
			vlast = last;
			victim = e;
		}
	}
	victim->svc = svc;
	victim->family = family;
	memcpy(victim->src, src, 16);
	memset(victim->slot, 0, t->nslot * sizeof(*victim->slot));
	return victim;
}

/* Live holdings of `e` inside `pool`; *latest: the one ending last. */
static unsigned hold_live(const hold_tab_t *t, const hold_ent_t *e, fg_pool_t *pool,
			  uint64_t now, const hold_slot_t **latest)
{
	unsigned n = 0;
	*latest = NULL;
	for (unsigned k = 0; k < t->nslot; k++) {
		const hold_slot_t *sl = &e->slot[k];
		if (sl->until <= now || !fg_pool_contains(pool, sl->addr))
			continue;
		n++;
		if (!*latest || sl->until > (*latest)->until)
			*latest = sl;
	}
	return n;
}

/* The slot that records `addr` for `e`: its own, else a free or expired
 * one, else the one ending first. */
static hold_slot_t *hold_slot_for(const hold_tab_t *t, hold_ent_t *e, const uint8_t *addr,
				  uint64_t now)
{
	hold_slot_t *best = NULL;
	for (unsigned k = 0; k < t->nslot; k++) {
		hold_slot_t *sl = &e->slot[k];
		if (sl->until > now && !memcmp(sl->addr, addr, 16))
			return sl;
		if (!best || sl->until < best->until)
			best = sl;
	}
	return best;
}

/* ---- choosing --------------------------------------------------------- */

/*
 * A renewal of a grant in the last moments of its element races the
 * kernel's collection of that element: a timeout update committed 2 ms
 * before the expiry was collected with the element, and the client's SYN
 * 110 ms later was a pool miss (netns/lab_sizes, kernel 6.18). So a random
 * pick that lands on an address this source holds and that ends within
 * the margin is drawn again: the answer's grant is then a fresh element.
 */
static bool ends_soon(const hold_tab_t *t, const hold_ent_t *e, const uint8_t *addr,
		      size_t alen, uint64_t now, uint32_t window)
{
	uint64_t margin = window / 8 < 250 ? window / 8 : 250;
	for (unsigned k = 0; k < t->nslot; k++) {
		const hold_slot_t *sl = &e->slot[k];
		if (sl->until > now && sl->until - now <= margin && !memcmp(sl->addr, addr, alen))
			return true;
	}
	return false;
}

/* Choose the address for one request; shared lock held. Returns 0 or <0.
 * Records in *u what it changed. */
static int choose(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *r,
		  const fg_scope_decision_t *sd, uint64_t now, fg_grant_t *g, undo_t *u)
{
	memset(u, 0, sizeof(*u));
	if (r->service_id >= eng->nsvcs)
		return -EINVAL;
	const svc_rt_t *svc = &eng->svcs[r->service_id];
	int family = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;
	int fi = fam_idx(family);
	pool_state_t *ps = svc->pool[fi];
	if (!ps || !svc->nbackend[fi])
		return -ENOENT;
	/* a pool whose data plane is down (distributed mode, on-timeout:
	 * healthy-pool): the next one of the family that is up, if any */
	if (eng->pool_ok && !eng->pool_ok(eng->pool_ok_ctx, ps->prefix.family, ps->prefix.first))
		for (unsigned k = 0; k < svc->nalt[fi]; k++)
			if (eng->pool_ok(eng->pool_ok_ctx, svc->alt[fi][k]->prefix.family,
					 svc->alt[fi][k]->prefix.first)) {
				ps = svc->alt[fi][k];
				break;
			}
	fg_pool_t *pool = ps->pool;
	shared_state_t *sh = eng->shared;
	size_t alen = alen_of(family);
	uint32_t window = svc->ttl_ms + svc->grace_ms;
	uint8_t key[16];
	int pf = fg_peer_addr(r->peer, key);
	rcache_ent_t *rc = rcache_slot(sh, key, family, svc->ident);
	bool rc_mine = !memcmp(rc->peer, key, 16) && rc->family == family &&
		       rc->svc == svc->ident;
	uint8_t addr[16] = { 0 };
	bool have = false;

	/* Who holds what: anyone grants by the asking source's /24 or /56,
	 * exact grants by the client address itself. */
	hold_tab_t *ht = NULL;
	hold_ent_t *he = NULL;
	unsigned quota = 0;
	_Atomic uint64_t *quota_ctr = NULL;
	if (sd->scope == FG_SCOPE_ANY && pf > 0) {
		uint8_t src[16];
		memcpy(src, key, 16);
		memset(src + (pf == AF_INET ? 3 : 7), 0, pf == AF_INET ? 13 : 9);
		ht = sh->hold[1];
		he = hold_get(ht, sh->seed, svc->ident, (uint8_t)(pf | (family << 4)), src, now);
		quota = eng->anyone_per_source;
		quota_ctr = &eng->anyone_source_reuse;
	} else if (sd->scope == FG_SCOPE_CLIENT) {
		uint8_t src[16] = { 0 };
		memcpy(src, sd->client, alen);
		ht = sh->hold[0];
		he = hold_get(ht, sh->seed, svc->ident, (uint8_t)family, src, now);
		quota = eng->exact_per_source;
		quota_ctr = &eng->exact_quota_reuse;
	}
	/* min-interval: the same resolver keeps its address inside the
	 * interval (a different scope for another ECS client is still a fresh
	 * grant element on the same address) */
	if (svc->rotation == FG_ROTATE_MIN_INTERVAL && rc_mine && rc->interval_until > now &&
	    fg_pool_contains(pool, rc->addr)) {
		memcpy(addr, rc->addr, alen);
		have = true;
	}
	if (!have && he) {
		const hold_slot_t *latest;
		unsigned live = hold_live(ht, he, pool, now, &latest);
		if (live >= quota && latest) {
			/* the source's bound: hand it again what it holds */
			memcpy(addr, latest->addr, alen);
			(*quota_ctr)++;
			have = true;
		}
	}
	if (!have && sd->scope == FG_SCOPE_ANY) {
		uint64_t open = fg_pool_open_count(pool, now);
		if (open >= fg_pool_max_open(pool, svc->max_open_fraction)) {
			/* the cap: reuse, preferably what this resolver holds */
			if (rc_mine && rc->grant_until > now && rc->scope == FG_SCOPE_ANY &&
			    fg_pool_is_open(pool, rc->addr, now))
				memcpy(addr, rc->addr, alen);
			else if (fg_pool_any_open(pool, now, addr) < 0)
				return -EAGAIN;
			eng->forced_reuse++;
			have = true;
		}
	}
	if (!have) {
		int prc = fg_pool_pick(pool, now, worker_rand, w, addr);
		for (int again = 0; prc >= 0 && he && again < 8 &&
				    ends_soon(ht, he, addr, alen, now, window); again++)
			prc = fg_pool_pick(pool, now, worker_rand, w, addr);
		if (prc < 0) {
			if (fg_pool_any_open(pool, now, addr) < 0)
				return prc;
			eng->forced_reuse++;
		}
	}
	if (sd->scope == FG_SCOPE_ANY) {
		u->pool = pool;
		memcpy(u->addr, addr, alen);
		u->pool_before = fg_pool_open_until(pool, addr, now);
		if (fg_pool_open(pool, addr, now + window) < 0) {
			u->pool = NULL;
			return -ENOMEM;
		}
		u->pool_after = fg_pool_open_until(pool, addr, now);
	}
	r->renew_of = 0;
	if (he) {
		hold_slot_t *hs = hold_slot_for(ht, he, addr, now);
		u->hs = hs;
		u->hs_before = *hs;
		/* the same live element, or another one: its budget count is
		 * then not this grant's to move */
		if (hs->until > now && !memcmp(hs->addr, addr, sizeof(hs->addr))) {
			if (sd->scope == FG_SCOPE_CLIENT)
				r->renew_of = hs->counted;
		} else {
			hs->counted = 0;
		}
		memset(hs->addr, 0, sizeof(hs->addr));
		memcpy(hs->addr, addr, alen);
		if (hs->until < now + window)
			hs->until = now + window;
		u->hs_after = *hs;
		if (sd->scope == FG_SCOPE_CLIENT && r->unverified) {
			/* recorded only on the ACK: a refused grant is never
			 * counted, so no renewal may name it */
			u->he = he;
			u->he_key = *he;
		}
	}

	u->rc = rc;
	u->rc_before = *rc;
	if (!rc_mine || svc->rotation != FG_ROTATE_MIN_INTERVAL || rc->interval_until <= now)
		rc->interval_until = now + svc->min_interval_ms;
	memcpy(rc->peer, key, 16);
	rc->family = (uint8_t)family;
	rc->svc = svc->ident;
	rc->scope = sd->scope;
	memcpy(rc->addr, addr, alen);
	rc->grant_until = now + window;
	u->rc_after = *rc;

	/* the backend an address leads to is a pure function of the address,
	 * so every grant of one address agrees on it */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ addr[i]) * 16777619u;
	memset(g, 0, sizeof(*g));
	g->family = (uint8_t)family;
	g->scope = sd->scope;
	g->client_plen = sd->client_plen;
	memcpy(g->client, sd->client, alen);
	memcpy(g->addr, addr, alen);
	memcpy(g->backend, svc->backend[fi][h % svc->nbackend[fi]].addr, alen);
	g->backend_port = svc->backend[fi][h % svc->nbackend[fi]].port;
	g->timeout_ms = window;

	memcpy(r->addr, addr, alen);
	r->ttl = svc->ttl_ms / 1000u ? svc->ttl_ms / 1000u : 1;
	r->grant_ms = window;
	r->ecs_scope = sd->ecs_scope;
	r->scope = sd->scope;
	memcpy(r->client, sd->client, sizeof r->client);
	r->client_plen = sd->client_plen;
	memcpy(r->backend, g->backend, alen);
	return 0;
}

/* Undo one grant's changes, each only if nothing moved it on since; shared
 * lock held. Called in reverse batch order, so grants of one batch that
 * touched the same state unwind to what was there before the batch. */
static void undo_one(const undo_t *u, uint64_t now)
{
	if (u->pool && fg_pool_open_until(u->pool, u->addr, now) == u->pool_after)
		(void)fg_pool_restore(u->pool, u->addr, u->pool_before > now ? u->pool_before : 0);
	if (u->hs && !memcmp(u->hs, &u->hs_after, sizeof(*u->hs)))
		*u->hs = u->hs_before;
	/* an entry made for this grant stays made (its former owner, a
	 * quiet source, was forgotten either way) */
	if (u->rc && !memcmp(u->rc, &u->rc_after, sizeof(*u->rc)))
		*u->rc = u->rc_before;
}

static void undo_batch(fg_grant_engine_t *eng, ticket_t *t, const size_t *which, size_t n)
{
	uint64_t now = mono_ms();
	pthread_mutex_lock(&eng->shared->lock);
	for (size_t k = n; k-- > 0;)
		undo_one(&t->undo[which[k]], now);
	pthread_mutex_unlock(&eng->shared->lock);
}

/* The acknowledged grants of a batch: count_until from the ACK's time (the
 * kernel set each element's timeout before it acknowledged), and, for the
 * unverified exact ones, in their holdings, where the slot still holds
 * that element (the entry may have passed to another source, the slot to
 * another address, meanwhile). */
static void record_counted(fg_grant_engine_t *eng, const ticket_t *t, fg_grant_req_t *reqs,
			   const size_t *which, size_t n)
{
	bool locked = false;
	uint64_t now = mono_ms();
	for (size_t k = 0; k < n; k++) {
		size_t g = which ? which[k] : k;
		const undo_t *u = &t->undo[g];
		fg_grant_req_t *r = &reqs[t->idx[g]];
		r->count_until = now + r->grant_ms;
		const hold_ent_t *he = u->he;
		if (!he)
			continue;
		if (!locked) {
			pthread_mutex_lock(&eng->shared->lock);
			locked = true;
		}
		if (he->svc != u->he_key.svc || he->family != u->he_key.family ||
		    memcmp(he->src, u->he_key.src, sizeof(he->src)) ||
		    memcmp(u->hs->addr, u->hs_after.addr, sizeof(u->hs->addr)) ||
		    u->hs->until <= now)
			continue;
		if (u->hs->counted < r->count_until)
			u->hs->counted = r->count_until;
	}
	if (locked)
		pthread_mutex_unlock(&eng->shared->lock);
}

/* At most one log line a second for refused transactions, with the count
 * of those left out: a full grant set must not flood the log. */
static void log_commit_failure(fg_grant_engine_t *eng, size_t ng, int rc)
{
	uint64_t now = mono_ms();
	uint64_t at = atomic_load(&eng->log_at);
	if (at && now < at + 1000) {
		eng->log_skipped++;
		return;
	}
	if (!atomic_compare_exchange_strong(&eng->log_at, &at, now)) {
		eng->log_skipped++;
		return;
	}
	uint64_t skipped = atomic_exchange(&eng->log_skipped, 0);
	log_warn("grant commit of %zu grants failed: %s; answered SERVFAIL "
		 "(%llu more failed commits not logged)", ng, fg_strerror(rc),
		 (unsigned long long)skipped);
}

static void mark_ok(fg_grant_engine_t *eng, fg_grant_req_t *r, const fg_grant_t *g)
{
	r->ok = true;
	eng->grants[g->scope]++;
	eng->svcs[r->service_id].grants[g->scope]++;
}

static void mark_failed(fg_grant_engine_t *eng, fg_grant_req_t *r)
{
	eng->commit_servfail++;
	eng->svcs[r->service_id].failures++;
}

int fg_grant_decoy_pick(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *r)
{
	int family = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;

	r->ok = false;
	r->nodata = false;
	if (r->service_id >= eng->nsvcs)
		return -ENOENT;
	const svc_rt_t *svc = &eng->svcs[r->service_id];
	pool_state_t *ps = svc->pool[fam_idx(family)];
	if (!ps || !svc->nbackend[fam_idx(family)]) {
		r->nodata = true;
		return 0;
	}
	/* the scope a real answer would get: its ECS echo (and NODATA where
	 * no grant is possible) must not tell the asker it was refused */
	fg_scope_policy_t pol = { eng->direct, eng->ndirect, eng->resolvers, eng->nresolvers,
				  eng->ecs_min4, eng->ecs_min6 };
	fg_scope_decision_t sd;
	fg_scope_decide_role(r->peer, r->q, family, &pol, r->role, &sd);
	if (sd.scope == FG_SCOPE_NONE) {
		r->nodata = true;
		return 0;
	}
	r->ecs_scope = sd.ecs_scope;
	memset(r->addr, 0, sizeof(r->addr));
	/* never one open to anyone: that one would lead to the service */
	pthread_mutex_lock(&eng->shared->lock);
	int rc = fg_pool_pick(ps->pool, mono_ms(), worker_rand, w, r->addr);
	pthread_mutex_unlock(&eng->shared->lock);
	if (rc < 0)
		return rc;
	r->ttl = svc->ttl_ms / 1000u ? svc->ttl_ms / 1000u : 1;
	return 0;
}

static const char *const noaddr_names[FG_NOADDR_COUNT] = {
	"pool_exhausted", "kernel_refused", "priv_refused", "channel", "internal",
};

const char *fg_grant_noaddr_name(unsigned cause)
{
	return cause < FG_NOADDR_COUNT ? noaddr_names[cause] : "?";
}

int fg_grant_noaddr_cause(int rc)
{
	switch (rc) {
	case -FG_ENETLINK:            /* the kernel refused (or never ACKed) */
		return FG_NOADDR_KERNEL;
	case -EPERM: case -FG_EMALF: case -EAGAIN:  /* [priv] refused it */
		return FG_NOADDR_PRIV;
	case -ENOMEM: case -EINVAL: case -EBUSY:
		return FG_NOADDR_INTERNAL;
	default:                      /* the channel to [priv] failed */
		return FG_NOADDR_CHANNEL;
	}
}

static void mark_failed_cause(fg_grant_engine_t *eng, fg_grant_req_t *r, int cause)
{
	r->cause = (uint8_t)cause;
	eng->noaddr[cause]++;
}

int fg_grant_begin(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *reqs, size_t n)
{
	uint64_t now = mono_ms();
	fg_scope_policy_t pol = { eng->direct, eng->ndirect, eng->resolvers, eng->nresolvers,
				  eng->ecs_min4, eng->ecs_min6 };

	if (n > BATCH_MAX || w->count >= FG_GRANT_PIPE)
		return -EINVAL;
	ticket_t *t = &w->t[(w->head + w->count) % FG_GRANT_PIPE];
	t->ng = 0;
	t->sent = false;
	t->rc = 0;
	pthread_mutex_lock(&eng->shared->lock);
	for (size_t i = 0; i < n; i++) {
		fg_grant_req_t *r = &reqs[i];
		fg_scope_decision_t sd;
		int family = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;
		r->ok = false;
		r->nodata = false;
		r->pending = false;
		r->cause = FG_NOADDR_NONE;
		r->count_until = 0;
		r->renew_of = 0;
		if (r->hidden)
			continue;   /* answered without a grant by the caller */
		if (r->service_id < eng->nsvcs) {
			const svc_rt_t *svc = &eng->svcs[r->service_id];
			int fi = fam_idx(family);
			if (!svc->pool[fi] || !svc->nbackend[fi]) {
				r->nodata = true;   /* e.g. AAAA for an IPv4-only service */
				continue;
			}
		}
		fg_scope_decide_role(r->peer, r->q, family, &pol, r->role, &sd);
		if (sd.ecs_ignored)
			eng->ecs_ignored++;
		if (sd.scope == FG_SCOPE_NONE) {
			r->nodata = true;
			continue;
		}
		int crc = choose(eng, w, r, &sd, now, &t->grants[t->ng], &t->undo[t->ng]);
		if (crc == 0) {
			r->pending = true;
			t->idx[t->ng++] = i;
		} else {
			if (r->service_id < eng->nsvcs)
				eng->svcs[r->service_id].failures++;
			mark_failed_cause(eng, r, crc == -EAGAIN || crc == -ENOENT
						       ? FG_NOADDR_POOL : FG_NOADDR_INTERNAL);
		}
	}
	pthread_mutex_unlock(&eng->shared->lock);
	w->count++;
	if (!t->ng)
		return 0;
	if (w->async) {
		t->rc = w->ops->commit_start(w->nat, t->grants, t->ng);
		t->sent = t->rc == 0;
	} else {
		t->rc = w->ops->commit(w->nat, t->grants, t->ng);
	}
	return (int)t->ng;
}

/* Read the results the backend owes for the batches after the oldest, so
 * that a synchronous retry on the handle reads its own. */
static void collect_later(fg_grant_worker_t *w)
{
	for (unsigned k = 1; k < w->count; k++) {
		ticket_t *t = &w->t[(w->head + k) % FG_GRANT_PIPE];
		if (t->sent) {
			t->rc = w->ops->commit_result(w->nat);
			t->sent = false;
		}
	}
}

static int finish_ticket(fg_grant_engine_t *eng, fg_grant_worker_t *w, ticket_t *t,
			 fg_grant_req_t *reqs)
{
	size_t ng = t->ng;
	if (!ng)
		return 0;
	int rc = t->rc;
	if (t->sent) {
		rc = w->ops->commit_result(w->nat);
		t->sent = false;
	}
	/* grant before answer: nothing is marked ok until the backend ACKed
	 * the whole transaction */
	if (rc == 0) {
		for (size_t k = 0; k < ng; k++)
			mark_ok(eng, &reqs[t->idx[k]], &t->grants[k]);
		record_counted(eng, t, reqs, NULL, ng);
		return (int)ng;
	}
	eng->commit_failures++;
	log_commit_failure(eng, ng, rc);
	int cause = fg_grant_noaddr_cause(rc);

	/* The transaction is atomic: nothing of it was installed. The one
	 * refusal a single element causes is a subnet grant nested in a live
	 * one on the same address (interval sets refuse overlaps): when the
	 * batch mixed subnet grants with others, retry once without them.
	 * Anything else (a full set, a netlink failure) hits every element
	 * alike: no retry, all SERVFAIL. */
	size_t keep[BATCH_MAX], drop[BATCH_MAX], nk = 0, nd = 0;
	for (size_t k = 0; k < ng; k++) {
		if (t->grants[k].scope == FG_SCOPE_NET)
			drop[nd++] = k;
		else
			keep[nk++] = k;
	}
	if (nd && nk) {
		undo_batch(eng, t, drop, nd);
		for (size_t k = 0; k < nd; k++) {
			mark_failed(eng, &reqs[t->idx[drop[k]]]);
			mark_failed_cause(eng, &reqs[t->idx[drop[k]]], cause);
		}
		for (size_t k = 0; k < nk; k++)
			w->retry[k] = t->grants[keep[k]];
		if (w->async)
			collect_later(w);
		int rc2 = w->ops->commit(w->nat, w->retry, nk);
		if (rc2 == 0) {
			for (size_t k = 0; k < nk; k++)
				mark_ok(eng, &reqs[t->idx[keep[k]]], &w->retry[k]);
			record_counted(eng, t, reqs, keep, nk);
			return (int)nk;
		}
		eng->commit_failures++;
		log_commit_failure(eng, nk, rc2);
		undo_batch(eng, t, keep, nk);
		for (size_t k = 0; k < nk; k++) {
			mark_failed(eng, &reqs[t->idx[keep[k]]]);
			mark_failed_cause(eng, &reqs[t->idx[keep[k]]], cause);
		}
		return rc2;
	}
	for (size_t k = 0; k < ng; k++)
		keep[k] = k;
	undo_batch(eng, t, keep, ng);
	for (size_t k = 0; k < ng; k++) {
		mark_failed(eng, &reqs[t->idx[k]]);
		mark_failed_cause(eng, &reqs[t->idx[k]], cause);
	}
	return rc;
}

/* The backend of `addr`: a pure function of the address (see choose()). */
static void fill_backend(const svc_rt_t *svc, int fi, size_t alen, fg_grant_t *g)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ g->addr[i]) * 16777619u;
	memcpy(g->backend, svc->backend[fi][h % svc->nbackend[fi]].addr, alen);
	g->backend_port = svc->backend[fi][h % svc->nbackend[fi]].port;
}

int fg_grant_publish(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_pub_t *p,
		     size_t n)
{
	uint64_t now = mono_ms();
	int rc = 0;
	size_t k = 0;

	if (n > BATCH_MAX)
		return -EINVAL;
	if (w->count)
		return -EBUSY;        /* a synchronous commit on a pipelined handle */
	ticket_t *t = &w->t[w->head];   /* free: its scratch space */
	t->ng = 0;
	t->sent = false;
	pthread_mutex_lock(&eng->shared->lock);
	for (k = 0; k < n; k++) {
		undo_t *u = &t->undo[k];
		fg_grant_t *g = &t->grants[k];
		memset(u, 0, sizeof(*u));
		if (p[k].service_id >= eng->nsvcs) {
			rc = -ENOENT;
			break;
		}
		const svc_rt_t *svc = &eng->svcs[p[k].service_id];
		int fi = fam_idx(p[k].family);
		size_t alen = alen_of(p[k].family);
		if (!svc->pool[fi] || !svc->nbackend[fi]) {
			rc = -ENOENT;
			break;
		}
		fg_pool_t *pool = svc->pool[fi]->pool;
		if (p[k].timeout_ms == 0 || p[k].timeout_ms > svc->max_grant_ms) {
			rc = -EINVAL;
			break;
		}
		if (p[k].fresh) {
			memset(p[k].addr, 0, sizeof(p[k].addr));
			if ((rc = fg_pool_pick(pool, now, worker_rand, w, p[k].addr)) < 0)
				break;
		} else if (!fg_pool_contains(pool, p[k].addr)) {
			rc = -EINVAL;
			break;
		}
		u->pool = pool;
		memcpy(u->addr, p[k].addr, alen);
		u->pool_before = fg_pool_open_until(pool, p[k].addr, now);
		if ((rc = fg_pool_restore(pool, p[k].addr, now + p[k].timeout_ms)) < 0) {
			u->pool = NULL;
			break;
		}
		u->pool_after = fg_pool_open_until(pool, p[k].addr, now);
		memset(g, 0, sizeof(*g));
		g->family = (uint8_t)p[k].family;
		g->scope = FG_SCOPE_ANY;
		memcpy(g->addr, p[k].addr, alen);
		fill_backend(svc, fi, alen, g);
		g->timeout_ms = p[k].timeout_ms;
	}
	if (rc < 0) {
		for (size_t i = k + 1; i-- > 0;)
			undo_one(&t->undo[i], now);
		pthread_mutex_unlock(&eng->shared->lock);
		return rc;
	}
	pthread_mutex_unlock(&eng->shared->lock);
	if (!n)
		return 0;
	rc = w->ops->commit(w->nat, t->grants, n);
	if (rc < 0) {
		eng->commit_failures++;
		log_commit_failure(eng, n, rc);
		size_t all[BATCH_MAX];
		for (size_t i = 0; i < n; i++)
			all[i] = i;
		undo_batch(eng, t, all, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		eng->grants[FG_SCOPE_ANY]++;
		eng->svcs[p[i].service_id].grants[FG_SCOPE_ANY]++;
	}
	return 0;
}

int fg_grant_finish(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *reqs)
{
	if (!w->count)
		return -EINVAL;
	ticket_t *t = &w->t[w->head];
	int rc = finish_ticket(eng, w, t, reqs);
	w->head = (w->head + 1) % FG_GRANT_PIPE;
	w->count--;
	return rc;
}

int fg_grant_resolve(fg_grant_engine_t *eng, fg_grant_worker_t *w,
		     fg_grant_req_t *reqs, size_t n)
{
	if (w->count)
		return -EBUSY;        /* finish the pipelined batches first */
	int rc = fg_grant_begin(eng, w, reqs, n);
	if (rc < 0)
		return rc;
	return fg_grant_finish(eng, w, reqs);
}

void fg_grant_engine_counters_get(const fg_grant_engine_t *eng, fg_grant_counters_t *out)
{
	for (int i = 0; i < 3; i++)
		out->grants[i] = eng->grants[i];
	out->forced_reuse = eng->forced_reuse;
	out->commit_failures = eng->commit_failures;
	out->commit_servfail = eng->commit_servfail;
	out->anyone_source_reuse = eng->anyone_source_reuse;
	out->exact_quota_reuse = eng->exact_quota_reuse;
	out->ecs_ignored = eng->ecs_ignored;
	for (int i = 0; i < FG_NOADDR_COUNT; i++)
		out->noaddr[i] = eng->noaddr[i];
}

int fg_grant_engine_rotate(fg_grant_engine_t *eng, uint32_t service_id)
{
	if (service_id >= eng->nsvcs)
		return -ENOENT;
	const svc_ident_t *svc = eng->svcs[service_id].ident;
	int n = 0;
	pthread_mutex_lock(&eng->shared->lock);
	for (size_t i = 0; i < RCACHE_SIZE; i++) {
		rcache_ent_t *e = &eng->shared->rcache[i];
		if (e->svc == svc && (e->interval_until || e->grant_until)) {
			memset(e, 0, sizeof(*e));
			n++;
		}
	}
	/* and what each source holds, or a source at its bound would be
	 * handed its old addresses until they lapse */
	for (int k = 0; k < 2; k++) {
		hold_tab_t *t = eng->shared->hold[k];
		for (size_t i = 0; t && i < (size_t)HOLD_SETS * HOLD_WAYS; i++) {
			hold_ent_t *e = &t->ent[i];
			if (e->svc != svc)
				continue;
			e->svc = NULL;
			memset(e->slot, 0, t->nslot * sizeof(*e->slot));
		}
	}
	pthread_mutex_unlock(&eng->shared->lock);
	return n;
}

int fg_grant_engine_pools(fg_grant_engine_t *eng, fg_grant_pool_fn fn, void *ctx)
{
	uint64_t now = mono_ms();
	int n = 0;
	pthread_mutex_lock(&eng->shared->lock);
	for (pool_state_t *p = eng->shared->pools; p; p = p->next, n++)
		fn(ctx, p->id, fg_pool_family(p->pool), fg_pool_size(p->pool),
		   fg_pool_open_count(p->pool, now));
	pthread_mutex_unlock(&eng->shared->lock);
	return n;
}

bool fg_grant_engine_service_has(const fg_grant_engine_t *eng, uint32_t service_id,
				 int family, const uint8_t *addr)
{
	if (service_id >= eng->nsvcs)
		return false;
	const svc_rt_t *svc = &eng->svcs[service_id];
	int fi = fam_idx(family);
	if (svc->pool[fi] && fg_pool_contains(svc->pool[fi]->pool, addr))
		return true;
	for (unsigned k = 0; k < svc->nalt[fi]; k++)
		if (fg_pool_contains(svc->alt[fi][k]->pool, addr))
			return true;
	return false;
}

void fg_grant_engine_set_pool_filter(fg_grant_engine_t *eng, fg_grant_pool_ok_fn fn, void *ctx)
{
	eng->pool_ok = fn;
	eng->pool_ok_ctx = ctx;
}

int fg_grant_engine_service_counters(const fg_grant_engine_t *eng, uint32_t service_id,
				     uint64_t grants[3], uint64_t *failures)
{
	if (service_id >= eng->nsvcs)
		return -ENOENT;
	for (int i = 0; i < 3; i++)
		grants[i] = eng->svcs[service_id].grants[i];
	*failures = eng->svcs[service_id].failures;
	return 0;
}
