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

/* Pool state outlives config snapshots: a reload keeps the "open to anyone"
 * bookkeeping of every pool whose id and range did not change. */
typedef struct pool_state {
	char *id;
	fg_conf_prefix_t prefix;
	fg_pool_t *pool;
	struct pool_state *next;
} pool_state_t;

/* What a resolver was last given for a service and family. */
typedef struct rcache_ent {
	uint8_t peer[16];
	uint32_t service_id;
	uint8_t family;
	uint8_t scope;
	uint8_t addr[16];
	uint64_t interval_until;   /* min-interval rotation: same address until */
	uint64_t grant_until;      /* the grant's own end */
} rcache_ent_t;

typedef struct shared_state {
	_Atomic int refs;
	pthread_mutex_t lock;
	pool_state_t *pools;
	rcache_ent_t *rcache;
} shared_state_t;

typedef struct svc_rt {
	pool_state_t *pool[2];        /* [0] IPv4, [1] IPv6 (first of each) */
	struct { uint8_t addr[16]; uint16_t port; } *backend[2];  /* port 0: same */
	size_t nbackend[2];
	uint32_t ttl_ms, grace_ms, min_interval_ms;
	enum fg_rotation rotation;
	double max_open_fraction;
	_Atomic uint64_t grants[3];   /* by scope */
	_Atomic uint64_t failures;    /* requests that got no grant */
} svc_rt_t;

struct fg_grant_engine {
	shared_state_t *shared;
	svc_rt_t *svcs;
	size_t nsvcs;
	fg_conf_prefix_t *direct;
	size_t ndirect;
	fg_conf_prefix_t *resolvers;
	size_t nresolvers;
	const fg_nat_ops_t *ops;
	fg_nat_cfgbuf_t *nat;         /* the data plane, built from conf */
	/* counters (read by metrics) */
	_Atomic uint64_t grants[3];         /* by scope */
	_Atomic uint64_t forced_reuse;      /* cap reached: reused an open address */
	_Atomic uint64_t commit_failures;
};

struct fg_grant_worker {
	const fg_nat_ops_t *ops;
	fg_nat_t *nat;
	uint64_t rnd[RAND_WORDS];
	unsigned rnd_left;
	fg_grant_t grants[64];
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
	free(sh->rcache);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

static shared_state_t *shared_new(void)
{
	shared_state_t *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	sh->rcache = calloc(RCACHE_SIZE, sizeof(*sh->rcache));
	if (!sh->rcache) {
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
	memcpy(eng->direct, conf->policy.direct, conf->policy.ndirect * sizeof(*eng->direct));
	eng->ndirect = conf->policy.ndirect;
	if (conf->policy.nresolvers) {
		eng->resolvers = calloc(conf->policy.nresolvers, sizeof(*eng->resolvers));
		if (!eng->resolvers)
			goto fail;
		memcpy(eng->resolvers, conf->policy.resolvers,
		       conf->policy.nresolvers * sizeof(*eng->resolvers));
		eng->nresolvers = conf->policy.nresolvers;
	}

	pthread_mutex_lock(&eng->shared->lock);
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *cs = &conf->services[s];
		svc_rt_t *rt = &eng->svcs[s];
		rt->ttl_ms = cs->ttl_ms;
		rt->grace_ms = cs->grace_ms;
		rt->min_interval_ms = cs->min_interval_ms;
		rt->rotation = cs->rotation;
		rt->max_open_fraction = cs->max_open_fraction > 0 ? cs->max_open_fraction : 0.1;
		for (size_t k = 0; k < cs->npools; k++) {
			const fg_conf_pool_t *cp = conf_pool(conf, cs->pools[k]);
			if (!cp)
				continue;
			int fi = fam_idx(cp->prefix.family);
			if (rt->pool[fi])
				continue;   /* first pool of a family serves it */
			rt->pool[fi] = pool_get(eng->shared, cp);
			if (!rt->pool[fi]) {
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

/* Restart recovery: grants the kernel still holds keep their pool
 * addresses open, so the open-fraction cap counts them. */
static void recover_grant(void *ctx, const fg_grant_t *g)
{
	fg_grant_engine_t *eng = ctx;
	if (g->scope != FG_SCOPE_ANY)
		return;
	uint64_t until = mono_ms() + g->timeout_ms;
	for (pool_state_t *p = eng->shared->pools; p; p = p->next)
		if (fg_pool_family(p->pool) == g->family && fg_pool_contains(p->pool, g->addr))
			fg_pool_open(p->pool, g->addr, until);
}

int fg_grant_engine_setup(fg_grant_engine_t *eng)
{
	fg_nat_t *nat = NULL;
	int rc = eng->ops->open(&eng->nat->cfg, &nat);
	if (rc < 0)
		return rc;
	rc = eng->ops->setup(nat, &eng->nat->cfg);
	if (rc == 0 && eng->ops->dump) {
		pthread_mutex_lock(&eng->shared->lock);
		int drc = eng->ops->dump(nat, recover_grant, eng);
		pthread_mutex_unlock(&eng->shared->lock);
		if (drc < 0)
			log_warn("reading back live grants failed: %s", fg_strerror(drc));
	}
	eng->ops->close(nat);
	return rc;
}

/* ---- workers ---------------------------------------------------------- */

int fg_grant_worker_new(fg_grant_engine_t *eng, fg_grant_worker_t **out)
{
	fg_grant_worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ops = eng->ops;
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

void fg_grant_worker_free(fg_grant_worker_t *w)
{
	if (!w)
		return;
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
				 uint32_t service_id)
{
	uint64_t h = 1469598103934665603ull ^ service_id ^ ((uint64_t)family << 40);
	for (int i = 0; i < 16; i++) {
		h ^= peer[i];
		h *= 1099511628211ull;
	}
	return &sh->rcache[(h ^ (h >> 31)) % RCACHE_SIZE];
}

static void peer_key(const struct sockaddr_storage *peer, uint8_t out[16])
{
	memset(out, 0, 16);
	if (peer->ss_family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	else if (peer->ss_family == AF_INET6)
		memcpy(out, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
}

/* Choose the address for one request; shared lock held. Returns 0 or <0. */
static int choose(fg_grant_engine_t *eng, fg_grant_worker_t *w, fg_grant_req_t *r,
		  const fg_scope_decision_t *sd, uint64_t now, fg_grant_t *g)
{
	if (r->service_id >= eng->nsvcs)
		return -EINVAL;
	const svc_rt_t *svc = &eng->svcs[r->service_id];
	int family = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;
	int fi = fam_idx(family);
	pool_state_t *ps = svc->pool[fi];
	if (!ps || !svc->nbackend[fi])
		return -ENOENT;
	fg_pool_t *pool = ps->pool;
	size_t alen = alen_of(family);
	uint32_t window = svc->ttl_ms + svc->grace_ms;
	uint8_t key[16];
	peer_key(r->peer, key);
	rcache_ent_t *rc = rcache_slot(eng->shared, key, family, r->service_id);
	bool rc_mine = !memcmp(rc->peer, key, 16) && rc->family == family &&
		       rc->service_id == r->service_id;
	uint8_t addr[16] = { 0 };
	bool have = false;

	/* min-interval: the same resolver keeps its address inside the
	 * interval (a different scope for another ECS client is still a fresh
	 * grant element on the same address) */
	if (svc->rotation == FG_ROTATE_MIN_INTERVAL && rc_mine && rc->interval_until > now) {
		memcpy(addr, rc->addr, alen);
		have = true;
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
		if (prc < 0) {
			if (fg_pool_any_open(pool, now, addr) < 0)
				return prc;
			eng->forced_reuse++;
		}
	}
	if (sd->scope == FG_SCOPE_ANY)
		fg_pool_open(pool, addr, now + window);

	if (!rc_mine || svc->rotation != FG_ROTATE_MIN_INTERVAL || rc->interval_until <= now)
		rc->interval_until = now + svc->min_interval_ms;
	memcpy(rc->peer, key, 16);
	rc->family = (uint8_t)family;
	rc->service_id = r->service_id;
	rc->scope = sd->scope;
	memcpy(rc->addr, addr, alen);
	rc->grant_until = now + window;

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
	return 0;
}

int fg_grant_resolve(fg_grant_engine_t *eng, fg_grant_worker_t *w,
		     fg_grant_req_t *reqs, size_t n)
{
	size_t ng = 0;
	size_t idx[64];
	uint64_t now = mono_ms();

	if (n > 64)
		return -EINVAL;
	pthread_mutex_lock(&eng->shared->lock);
	for (size_t i = 0; i < n; i++) {
		fg_grant_req_t *r = &reqs[i];
		fg_scope_decision_t sd;
		int family = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;
		r->ok = false;
		r->nodata = false;
		if (r->service_id < eng->nsvcs) {
			const svc_rt_t *svc = &eng->svcs[r->service_id];
			int fi = fam_idx(family);
			if (!svc->pool[fi] || !svc->nbackend[fi]) {
				r->nodata = true;   /* e.g. AAAA for an IPv4-only service */
				continue;
			}
		}
		fg_scope_policy_t pol = { eng->direct, eng->ndirect, eng->resolvers, eng->nresolvers };
		fg_scope_decide(r->peer, r->q, family, &pol, &sd);
		if (sd.scope == FG_SCOPE_NONE) {
			r->nodata = true;
			continue;
		}
		if (choose(eng, w, r, &sd, now, &w->grants[ng]) == 0)
			idx[ng++] = i;
		else if (r->service_id < eng->nsvcs)
			eng->svcs[r->service_id].failures++;
	}
	pthread_mutex_unlock(&eng->shared->lock);
	if (!ng)
		return 0;

	/* grant before answer: nothing is marked ok until the backend ACKed
	 * the whole transaction */
	int rc = w->ops->commit(w->nat, w->grants, ng);
	if (rc == 0) {
		for (size_t k = 0; k < ng; k++) {
			reqs[idx[k]].ok = true;
			eng->grants[w->grants[k].scope]++;
			eng->svcs[reqs[idx[k]].service_id].grants[w->grants[k].scope]++;
		}
		return (int)ng;
	}
	eng->commit_failures++;
	log_warn("grant commit of %zu grants failed: %s", ng, fg_strerror(rc));
	if (ng == 1) {
		eng->svcs[reqs[idx[0]].service_id].failures++;
		return rc;
	}
	/* The transaction is atomic: nothing of it was installed. One element
	 * the kernel refuses (e.g. nested subnet grants on one address) must
	 * not cost the whole batch its answers, so retry one by one; each
	 * answer still waits for its own acknowledgement. */
	int okn = 0;
	for (size_t k = 0; k < ng; k++) {
		if (w->ops->commit(w->nat, &w->grants[k], 1) == 0) {
			reqs[idx[k]].ok = true;
			eng->grants[w->grants[k].scope]++;
			eng->svcs[reqs[idx[k]].service_id].grants[w->grants[k].scope]++;
			okn++;
		} else {
			eng->commit_failures++;
			eng->svcs[reqs[idx[k]].service_id].failures++;
		}
	}
	return okn ? okn : rc;
}

void fg_grant_engine_counters(const fg_grant_engine_t *eng, uint64_t by_scope[3],
			      uint64_t *forced_reuse, uint64_t *commit_failures)
{
	for (int i = 0; i < 3; i++)
		by_scope[i] = eng->grants[i];
	*forced_reuse = eng->forced_reuse;
	*commit_failures = eng->commit_failures;
}

int fg_grant_engine_rotate(fg_grant_engine_t *eng, uint32_t service_id)
{
	if (service_id >= eng->nsvcs)
		return -ENOENT;
	int n = 0;
	pthread_mutex_lock(&eng->shared->lock);
	for (size_t i = 0; i < RCACHE_SIZE; i++) {
		rcache_ent_t *e = &eng->shared->rcache[i];
		if (e->service_id == service_id && (e->interval_until || e->grant_until)) {
			memset(e, 0, sizeof(*e));
			n++;
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
	const pool_state_t *ps = eng->svcs[service_id].pool[fam_idx(family)];
	return ps && fg_pool_contains(ps->pool, addr);
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
