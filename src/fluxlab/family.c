/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab's address families: random addresses of the IPv6 pool (random
 * interface ids, as fluxgated hands them out), the ring of answers the
 * legit clients saw (what the hitlist attacker replays), and the per-family
 * legit figures summed into the totals. The ring is owned by the run and
 * locked; everything else here is pure.
 */
#include "fluxlab/lab.h"

#include <math.h>
#include <string.h>

void lab_pool6_random(const lab_run_t *r, uint64_t *rng, uint8_t out[16])
{
	memcpy(out, r->pool6_net, 16);
	unsigned hb = 128 - r->pool6_plen;   /* 8..64 host bits */
	uint64_t mask = hb >= 64 ? ~0ULL : ((1ULL << hb) - 1), iid;
	do
		iid = lab_rand(rng) & mask;
	while (iid == 0);
	for (int i = 0; i < 8; i++)
		out[15 - i] |= (uint8_t)(iid >> (8 * i));
}

double lab_pool6_size(const lab_run_t *r)
{
	return r->pool6_plen ? ldexp(1.0, (int)(128 - r->pool6_plen)) - 1 : 0;
}

void lab_seen_add(lab_seen_t *s, double t, const uint8_t *a, size_t alen)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->t[s->head] = t;
	memset(s->a[s->head], 0, 16);
	memcpy(s->a[s->head], a, alen > 16 ? 16 : alen);
	s->head = (s->head + 1) % LAB_SEEN_MAX;
	if (s->n < LAB_SEEN_MAX)
		s->n++;
	pthread_mutex_unlock(&s->lock);
}

bool lab_seen_pick(lab_seen_t *s, double now, double age, uint64_t *rng, uint8_t *a, size_t alen)
{
	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	/* entries are in arrival order: the old enough ones are the oldest
	 * `k`, found by a binary search over the ring */
	size_t first = (s->head + LAB_SEEN_MAX - s->n) % LAB_SEEN_MAX, lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->t[(first + mid) % LAB_SEEN_MAX] <= now - age)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool ok = lo > 0;
	if (ok) {
		size_t i = (first + (size_t)(lab_rand(rng) % lo)) % LAB_SEEN_MAX;
		memcpy(a, s->a[i], alen > 16 ? 16 : alen);
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void add(_Atomic uint64_t *d, _Atomic uint64_t *s)
{
	atomic_fetch_add(d, atomic_load(s));
}

void lab_role_add(lab_role_stats_t *d, lab_role_stats_t *s)
{
	add(&d->sessions, &s->sessions);
	add(&d->real, &s->real);
	add(&d->decoy, &s->decoy);
	add(&d->fail_dns, &s->fail_dns);
	add(&d->fail_conn, &s->fail_conn);
	add(&d->fail_timeout, &s->fail_timeout);
	add(&d->fail_other, &s->fail_other);
	add(&d->dns_queries, &s->dns_queries);
	add(&d->dns_answers, &s->dns_answers);
	for (int i = 0; i < 4; i++) {
		add(&d->per_proto_real[i], &s->per_proto_real[i]);
		add(&d->per_proto_decoy[i], &s->per_proto_decoy[i]);
	}
	add(&d->pkts, &s->pkts);
	add(&d->probes, &s->probes);
	add(&d->mis_late, &s->mis_late);
	add(&d->mis_product, &s->mis_product);
	add(&d->fail_late, &s->fail_late);
	add(&d->fail_product, &s->fail_product);
	add(&d->ans_cached, &s->ans_cached);
	add(&d->ans_fresh, &s->ans_fresh);
	add(&d->ans_host_cache, &s->ans_host_cache);
	d->srv_syn += s->srv_syn;
	d->dcy_syn += s->dcy_syn;
}
