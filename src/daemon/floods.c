/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/floods.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "grant/budget.h"

struct fg_floods {
	uint8_t secret[FG_COOKIE_SECRET_LEN];
	uint8_t rrl_key[FG_SIPHASH_KEYLEN];   /* kept for tables made on reload */
	bool secret_from_conf;
	pthread_mutex_t mu;
	fg_rrl_t *rrl;                        /* under mu */
	fg_rrl_params_t params;
	fg_budget_t budget;                   /* under mu: grants held by
					       * unverified askers */
};

/* policy.unverified-share of one grant set, and the longest grant
 * lifetime the ring must span */
static uint64_t budget_limit(const fg_conf_t *conf)
{
	return (uint64_t)conf->nat.grant_set_size * conf->policy.unverified_share / 100;
}

static uint64_t longest_window_ms(const fg_conf_t *conf)
{
	uint64_t w = 0;
	for (size_t i = 0; i < conf->nservices; i++) {
		uint64_t x = (uint64_t)conf->services[i].ttl_ms + conf->services[i].grace_ms;
		if (x > w)
			w = x;
	}
	return w;
}

static void params_of(const fg_conf_t *conf, fg_rrl_params_t *p)
{
	p->rate = conf->rrl.rate;
	p->slip = conf->rrl.slip;
	p->v4_prefix = (uint8_t)conf->rrl.ipv4_prefix;
	p->v6_prefix = (uint8_t)conf->rrl.ipv6_prefix;
	p->table_size = conf->rrl.table_size;
}

int fg_floods_new(const fg_conf_t *conf, fg_floods_t **out)
{
	fg_floods_t *f = calloc(1, sizeof(*f));
	int rc = 0;

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->mu, NULL);
	if (conf->cookie.secret) {
		rc = fg_cookie_secret_from_hex(conf->cookie.secret, f->secret);
		f->secret_from_conf = true;
	} else if (RAND_bytes(f->secret, sizeof(f->secret)) != 1) {
		rc = -EIO;
	}
	if (rc == 0 && RAND_bytes(f->rrl_key, sizeof(f->rrl_key)) != 1)
		rc = -EIO;
	params_of(conf, &f->params);
	fg_budget_init(&f->budget, budget_limit(conf), longest_window_ms(conf));
	if (rc == 0)
		rc = fg_rrl_new(&f->params, f->rrl_key, &f->rrl);
	if (rc < 0) {
		fg_floods_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void fg_floods_free(fg_floods_t *f)
{
	if (!f)
		return;
	fg_rrl_free(f->rrl);
	fg_cookie_secret_clear(f->secret);
	OPENSSL_cleanse(f->rrl_key, sizeof(f->rrl_key));
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void fg_floods_reload(fg_floods_t *f, const fg_conf_t *conf)
{
	fg_rrl_params_t p;
	uint8_t s[FG_COOKIE_SECRET_LEN] = { 0 };

	if (conf->cookie.secret && fg_cookie_secret_from_hex(conf->cookie.secret, s) == 0 &&
	    CRYPTO_memcmp(s, f->secret, sizeof(s)) != 0)
		log_warn("reload: a changed cookie.secret takes effect after a restart");
	else if (!conf->cookie.secret && f->secret_from_conf)
		log_warn("reload: removing cookie.secret takes effect after a restart");
	fg_cookie_secret_clear(s);

	pthread_mutex_lock(&f->mu);
	fg_budget_set_limit(&f->budget, budget_limit(conf));
	pthread_mutex_unlock(&f->mu);

	params_of(conf, &p);
	if (fg_rrl_params_eq(&p, &f->params))
		return;
	fg_rrl_t *nr = NULL;
	int rc = fg_rrl_new(&p, f->rrl_key, &nr);
	if (rc < 0) {
		log_err("reload: rrl: %s; the previous limits stay", fg_strerror(rc));
		return;
	}
	pthread_mutex_lock(&f->mu);
	fg_rrl_t *old = f->rrl;
	f->rrl = nr;
	f->params = p;
	pthread_mutex_unlock(&f->mu);
	fg_rrl_free(old);
}

/* The address octets of a peer, or NULL. */
static const uint8_t *peer_addr(const struct sockaddr_storage *peer, int *family)
{
	*family = peer->ss_family;
	if (peer->ss_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr;
	if (peer->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr.s6_addr;
	return NULL;
}

enum fg_cookie_verdict fg_floods_cookie(const fg_floods_t *f, fg_siphash_t *h,
					fg_dns_query_t *q,
					const struct sockaddr_storage *peer, uint32_t now)
{
	int family;
	const uint8_t *addr = peer_addr(peer, &family);

	q->resp_cookie_set = false;
	if (!q->has_cookie || !addr || !h)
		return FG_COOKIE_NONE;
	enum fg_cookie_verdict v = fg_cookie_verify(h, f->secret, &q->cookie, now,
						    family, addr);
	/* always a fresh cookie (RFC 9018 4.3 allows reusing one younger
	 * than half an hour; a fresh one costs a hash and is never wrong) */
	if (fg_cookie_make(h, f->secret, q->cookie.client, now, family, addr,
			   q->resp_cookie) == 0)
		q->resp_cookie_set = true;
	return v;
}

void fg_floods_lock(fg_floods_t *f)
{
	pthread_mutex_lock(&f->mu);
}

void fg_floods_unlock(fg_floods_t *f)
{
	pthread_mutex_unlock(&f->mu);
}

enum fg_rrl_action fg_floods_rrl(fg_floods_t *f, const struct sockaddr_storage *peer,
				 uint64_t now_ms)
{
	int family;
	const uint8_t *addr = peer_addr(peer, &family);
	if (!addr)
		return FG_RRL_DROP;
	return fg_rrl_check(f->rrl, family, addr, now_ms);
}

bool fg_floods_budget_full(fg_floods_t *f, uint64_t now_ms)
{
	return fg_budget_full(&f->budget, now_ms);
}

void fg_floods_budget_add(fg_floods_t *f, uint64_t now_ms, uint64_t until_ms, uint64_t n)
{
	fg_budget_add(&f->budget, now_ms, until_ms, n);
}

void fg_floods_budget_renew(fg_floods_t *f, uint64_t now_ms, uint64_t until_ms,
			    uint64_t prev_until_ms)
{
	fg_budget_renew(&f->budget, now_ms, until_ms, prev_until_ms);
}

uint64_t fg_floods_budget_live(fg_floods_t *f, uint64_t now_ms, uint64_t *limit)
{
	pthread_mutex_lock(&f->mu);
	uint64_t live = fg_budget_live(&f->budget, now_ms);
	*limit = f->budget.limit;
	pthread_mutex_unlock(&f->mu);
	return live;
}
