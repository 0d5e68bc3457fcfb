/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Restart recovery in the background: see adopt.h. */
#include "daemon/adopt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/privsep.h"

/* grants adopted per lock of the engine: one privsep data message's worth */
#define ADOPT_CHUNK 256

struct fg_adopt {
	pthread_t thread;
	fg_grant_adopt_t *ad;
	const fg_nat_ops_t *ops;
	fg_nat_t *nat;                /* opened by fg_adopt_start (the engine
				       * may go with a reload), closed by the
				       * thread; NULL once closed */
	pthread_mutex_t mu;
	bool done, stop;
	int rc;
	uint64_t adopted, took_ms;
	fg_grant_t buf[ADOPT_CHUNK];
	size_t nbuf;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void flush(struct fg_adopt *a)
{
	size_t got = fg_grant_adopt(a->ad, a->buf, a->nbuf);
	a->nbuf = 0;
	pthread_mutex_lock(&a->mu);
	a->adopted += got;
	pthread_mutex_unlock(&a->mu);
}

static void on_grant(void *ctx, const fg_grant_t *g)
{
	struct fg_adopt *a = ctx;
	if (g->scope != FG_SCOPE_ANY)   /* a backend without dump_any */
		return;
	a->buf[a->nbuf++] = *g;
	if (a->nbuf == ADOPT_CHUNK)
		flush(a);
}

static void *adopt_main(void *arg)
{
	struct fg_adopt *a = arg;
	uint64_t start = mono_ms();
	fg_nat_t *nat = a->nat;
	int rc;
	pthread_mutex_lock(&a->mu);
	bool stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	if (stop)
		rc = -ECANCELED;
	else if (a->ops->dump_any)
		rc = a->ops->dump_any(nat, on_grant, a);
	else
		rc = a->ops->dump(nat, on_grant, a);
	if (a->nbuf)
		flush(a);
	pthread_mutex_lock(&a->mu);
	a->nat = NULL;
	pthread_mutex_unlock(&a->mu);
	a->ops->close(nat);
	uint64_t took = mono_ms() - start;
	pthread_mutex_lock(&a->mu);
	a->done = true;
	a->rc = rc;
	a->took_ms = took;
	bool stopped = a->stop;
	uint64_t n = a->adopted;
	pthread_mutex_unlock(&a->mu);
	if (rc == 0)
		log_info("restart recovery: %llu live grant%s open to anyone adopted from the kernel "
			 "in %llu ms (served meanwhile)", (unsigned long long)n, n == 1 ? "" : "s",
			 (unsigned long long)took);
	else if (!stopped)
		log_warn("restart recovery: reading back the grants open to anyone failed after "
			 "%llu adopted: %s (until they expire, the open-fraction cap does not count "
			 "the rest)", (unsigned long long)n, fg_strerror(rc));
	return NULL;
}

int fg_adopt_start(fg_grant_engine_t *eng, fg_adopt_t **out)
{
	*out = NULL;
	const fg_nat_ops_t *ops = fg_grant_engine_ops(eng);
	if (!ops || (!ops->dump_any && !ops->dump))
		return 0;
	struct fg_adopt *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ops = ops;
	pthread_mutex_init(&a->mu, NULL);
	int rc = fg_grant_adopt_new(eng, &a->ad);
	if (rc == 0)
		rc = ops->open(fg_grant_engine_natcfg(eng), &a->nat);
	if (rc == 0 && (rc = pthread_create(&a->thread, NULL, adopt_main, a)) != 0)
		rc = -rc;
	if (rc < 0) {
		if (a->nat)
			ops->close(a->nat);
		fg_grant_adopt_free(a->ad);
		pthread_mutex_destroy(&a->mu);
		free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void fg_adopt_stop(fg_adopt_t *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	/* a read still running at exit is cut short: its channel is shut,
	 * never handed to anyone again */
	if (a->nat && a->ops == &fg_nat_priv_ops)
		fg_privsep_cancel(a->nat);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	fg_grant_adopt_free(a->ad);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
