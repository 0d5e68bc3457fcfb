/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "decoy/shuffle.h"
#include "fluxdecoy/universe.h"

#define KEY_MAX 4096

struct bed_pool {
	const fg_conf_pool_t *pool;
	const fd_conf_persona_t **personas;  /* the labels of the deal */
	double *shares;
	size_t npersonas;
	unsigned *ports;                     /* union of their TCP ports */
	size_t nports;
	size_t naddr;
	uint16_t *label, *prev;              /* per address */
	int *fd;                             /* naddr * nports */
	bool *listening;
	double overlap;                      /* of the last shuffle */
	size_t *count;                       /* per label, closed last */
};

struct fd_bed {
	const fd_conf_t *conf;
	uint8_t *root;
	size_t rootlen;
	fd_bed_listen_fn listen_fn;
	void *ctx;
	struct bed_pool *pools;
	size_t npools;
	fd_universes_t uni;
	uint64_t epoch, gen;
	bool dealt;
	uint64_t shuffles, listen_errors;
};

int fd_bed_key_load(const char *path, uint8_t **key, size_t *len, char *err,
		    size_t errlen)
{
	struct stat st;
	uint8_t *k;
	ssize_t n;

	*key = NULL;
	*len = 0;
	if (!path) {
		k = malloc(FD_SHUFFLE_KEYLEN);
		if (!k)
			return -ENOMEM;
		if (RAND_bytes(k, FD_SHUFFLE_KEYLEN) != 1) {
			free(k);
			return fg_errf(err, errlen, -EIO, "shuffle key: no randomness");
		}
		*key = k;
		*len = FD_SHUFFLE_KEYLEN;
		return 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "shuffle.key %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fg_errf(err, errlen, -EINVAL, "shuffle.key %s: not a regular file",
			       path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return fg_errf(err, errlen, -EPERM, "shuffle.key %s: mode %04o lets "
			       "group or others read it (chmod 0600)", path,
			       (unsigned)(st.st_mode & 07777));
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return fg_errf(err, errlen, -EPERM, "shuffle.key %s: owned by uid %u, "
			       "not root", path, (unsigned)st.st_uid);
	}
	k = malloc(KEY_MAX + 1);
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got <= KEY_MAX && (n = read(fd, k + got, KEY_MAX + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got < FD_SHUFFLE_KEYLEN || got > KEY_MAX) {
		OPENSSL_cleanse(k, KEY_MAX + 1);
		free(k);
		return fg_errf(err, errlen, -EINVAL, "shuffle.key %s: %zu octets, "
			       "need %d to %d (head -c 32 /dev/urandom)", path, got,
			       FD_SHUFFLE_KEYLEN, KEY_MAX);
	}
	*key = k;
	*len = got;
	return 0;
}

static bool has_port(const struct bed_pool *bp, unsigned port)
{
	for (size_t i = 0; i < bp->nports; i++)
		if (bp->ports[i] == port)
			return true;
	return false;
}

static int add_port(struct bed_pool *bp, unsigned port)
{
	if (has_port(bp, port))
		return 0;
	unsigned *np = realloc(bp->ports, (bp->nports + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	bp->ports = np;
	bp->ports[bp->nports++] = port;
	return 0;
}

static int bind_one(const fg_conf_pool_t *pl, size_t i, unsigned port, char *err,
		    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t a[16];
	int one = 1;
	char ip[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	fd_shuffle_pool_addr(&pl->prefix, i, a);
	if (pl->prefix.family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		memcpy(&v4->sin_addr, a, 4);
		sl = sizeof(*v4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		memcpy(&v6->sin6_addr, a, 16);
		sl = sizeof(*v6);
	}
	inet_ntop(pl->prefix.family, a, ip, sizeof(ip));
	int fd = socket(pl->prefix.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "pool '%s': socket: %s", pl->id,
			       strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (pl->prefix.family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* the pool's local route may come after us */
	if (pl->prefix.family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		return fg_errf(err, errlen, -e, "pool '%s': bind %s port %u: %s%s", pl->id,
			       ip, port, strerror(e), e == EADDRINUSE
			       ? " (a persona without pool: serving this port on a "
				 "wildcard decoy.listen takes it)" : "");
	}
	return fd;
}

static int pool_setup(fd_bed_t *b, struct bed_pool *bp, const fg_conf_pool_t *pl,
		      char *err, size_t errlen)
{
	const fd_conf_t *c = b->conf;

	bp->pool = pl;
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t k = 0; k < c->personas[i].npools; k++)
			if (strcmp(c->personas[i].pools[k], pl->id) == 0)
				bp->npersonas++;
	bp->personas = calloc(bp->npersonas, sizeof(*bp->personas));
	bp->shares = calloc(bp->npersonas, sizeof(*bp->shares));
	bp->count = calloc(bp->npersonas + 1, sizeof(*bp->count));
	if (!bp->personas || !bp->shares || !bp->count)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t k = 0; k < c->personas[i].npools; k++)
			if (strcmp(c->personas[i].pools[k], pl->id) == 0) {
				const fd_conf_persona_t *cp = &c->personas[i];
				bp->personas[n] = cp;
				bp->shares[n++] = cp->share;
				for (size_t s = 0; s < cp->persona->nservices; s++)
					if (add_port(bp, cp->persona->services[s].port) < 0)
						return -ENOMEM;
			}
	bp->naddr = (size_t)fd_shuffle_pool_size(&pl->prefix);
	if (bp->naddr > FD_SHUFFLE_MAX_ADDRS)
		return fg_errf(err, errlen, -E2BIG, "pool '%s': too large to shuffle",
			       pl->id);
	size_t nsock = bp->naddr * bp->nports;
	bp->label = calloc(bp->naddr, sizeof(*bp->label));
	bp->prev = calloc(bp->naddr, sizeof(*bp->prev));
	bp->fd = malloc((nsock ? nsock : 1) * sizeof(*bp->fd));
	bp->listening = calloc(nsock ? nsock : 1, sizeof(*bp->listening));
	if (!bp->label || !bp->prev || !bp->fd || !bp->listening)
		return -ENOMEM;
	for (size_t i = 0; i < nsock; i++)
		bp->fd[i] = -1;
	for (size_t a = 0; a < bp->naddr; a++)
		for (size_t p = 0; p < bp->nports; p++) {
			int fd = bind_one(pl, a, bp->ports[p], err, errlen);
			if (fd < 0)
				return fd;
			bp->fd[a * bp->nports + p] = fd;
		}
	return 0;
}

int fd_bed_new(const fd_conf_t *conf, const uint8_t *root, size_t rootlen,
	       fd_bed_listen_fn listen_fn, void *ctx, fd_bed_t **out,
	       char *err, size_t errlen)
{
	int rc;

	/* even without a shuffled pool: the epochs and universes exist */
	*out = NULL;
	fd_bed_t *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->conf = conf;
	b->listen_fn = listen_fn;
	b->ctx = ctx;
	b->root = malloc(rootlen);
	if (!b->root) {
		free(b);
		return -ENOMEM;
	}
	memcpy(b->root, root, rootlen);
	b->rootlen = rootlen;
	b->uni.prefix4 = conf->shuffle.universe_prefix4;
	b->uni.prefix6 = conf->shuffle.universe_prefix6;
	b->pools = calloc(conf->npools ? conf->npools : 1, sizeof(*b->pools));
	if (!b->pools) {
		fd_bed_free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < conf->npools; i++) {
		bool named = false;
		for (size_t j = 0; j < conf->npersonas && !named; j++)
			for (size_t k = 0; k < conf->personas[j].npools; k++)
				named |= strcmp(conf->personas[j].pools[k],
						conf->pools[i].id) == 0;
		if (!named)
			continue;
		rc = pool_setup(b, &b->pools[b->npools++], &conf->pools[i], err, errlen);
		if (rc < 0) {
			if (rc == -ENOMEM)
				snprintf(err, errlen, "out of memory");
			fd_bed_free(b);
			return rc;
		}
	}
	*out = b;
	return 0;
}

/* Make the sockets of bp listen exactly where its deal says. */
static void pool_apply(fd_bed_t *b, struct bed_pool *bp)
{
	for (size_t a = 0; a < bp->naddr; a++) {
		const fd_conf_persona_t *cp =
			bp->label[a] == FD_SHUFFLE_CLOSED ? NULL : bp->personas[bp->label[a]];
		for (size_t p = 0; p < bp->nports; p++) {
			size_t i = a * bp->nports + p;
			bool want = cp && fd_persona_find(cp->persona, bp->ports[p]);
			if (want == bp->listening[i])
				continue;
			if (want) {
				if (listen(bp->fd[i], 1024) < 0) {
					b->listen_errors++;
					continue;
				}
				bp->listening[i] = true;
				b->listen_fn(b->ctx, bp->fd[i], true);
			} else {
				b->listen_fn(b->ctx, bp->fd[i], false);
				/* back to bound: SYNs get the kernel's RST again */
				shutdown(bp->fd[i], SHUT_RDWR);
				bp->listening[i] = false;
			}
		}
	}
}

int fd_bed_tick(fd_bed_t *b, uint64_t now_ms, bool force)
{
	uint64_t e;

	if (!b)
		return 0;
	e = now_ms / (b->conf->shuffle.epoch_ms ? b->conf->shuffle.epoch_ms : 600000);
	if (b->dealt && e == b->epoch && !force)
		return 0;
	if (e != b->epoch)
		b->gen = 0;
	else if (force && b->dealt)
		b->gen++;
	int rc = fd_shuffle_epoch_key(b->root, b->rootlen, e, b->gen, b->uni.key);
	if (rc < 0)
		return rc;
	b->uni.epoch = e;
	b->uni.gen = b->gen;
	for (size_t i = 0; i < b->npools; i++) {
		struct bed_pool *bp = &b->pools[i];
		memcpy(bp->prev, bp->label, bp->naddr * sizeof(*bp->label));
		rc = fd_shuffle_assign(b->uni.key, bp->pool->id, &bp->pool->prefix,
				       bp->shares, bp->npersonas, bp->label);
		if (rc < 0)
			return rc;
		bp->overlap = b->dealt ? fd_shuffle_overlap(bp->prev, bp->label, bp->naddr)
				       : 1.0;
		memset(bp->count, 0, (bp->npersonas + 1) * sizeof(*bp->count));
		for (size_t a = 0; a < bp->naddr; a++)
			bp->count[bp->label[a] == FD_SHUFFLE_CLOSED ? bp->npersonas
								    : bp->label[a]]++;
		pool_apply(b, bp);
		log_info("shuffle: epoch %llu.%llu pool '%s': %zu addresses, %.3f the "
			 "same as before", (unsigned long long)e,
			 (unsigned long long)b->gen, bp->pool->id, bp->naddr, bp->overlap);
	}
	b->epoch = e;
	b->dealt = true;
	b->shuffles++;
	return 1;
}

const fd_conf_persona_t *fd_bed_persona(const fd_bed_t *b, int family,
					const uint8_t *a, bool *in_bed)
{
	*in_bed = false;
	if (!b)
		return NULL;
	for (size_t i = 0; i < b->npools; i++) {
		const struct bed_pool *bp = &b->pools[i];
		int64_t k = fd_shuffle_pool_index(&bp->pool->prefix, family, a);
		if (k < 0)
			continue;
		*in_bed = true;
		uint16_t l = bp->label[k];
		return l == FD_SHUFFLE_CLOSED ? NULL : bp->personas[l];
	}
	return NULL;
}

const fd_universes_t *fd_bed_universes(const fd_bed_t *b)
{
	return b ? &b->uni : NULL;
}

void fd_bed_metrics(const fd_bed_t *b, fd_bed_text_fn add, void *ctx)
{
	char line[512];

	if (!b)
		return;
	snprintf(line, sizeof(line),
		 "# HELP fluxdecoy_shuffle_epoch Epoch of the current deal.\n"
		 "# TYPE fluxdecoy_shuffle_epoch gauge\nfluxdecoy_shuffle_epoch %llu\n"
		 "# HELP fluxdecoy_shuffles_total Deals that took effect (epoch "
		 "changes and forced shuffles).\n# TYPE fluxdecoy_shuffles_total "
		 "counter\nfluxdecoy_shuffles_total %llu\n"
		 "# HELP fluxdecoy_shuffle_listen_errors_total Sockets that failed "
		 "to listen at a shuffle.\n# TYPE fluxdecoy_shuffle_listen_errors_total "
		 "counter\nfluxdecoy_shuffle_listen_errors_total %llu\n",
		 (unsigned long long)b->epoch, (unsigned long long)b->shuffles,
		 (unsigned long long)b->listen_errors);
	add(ctx, line);
	add(ctx, "# HELP fluxdecoy_shuffle_overlap Share of a pool's addresses "
		 "that kept their persona at the last shuffle.\n"
		 "# TYPE fluxdecoy_shuffle_overlap gauge\n");
	for (size_t i = 0; i < b->npools; i++) {
		snprintf(line, sizeof(line), "fluxdecoy_shuffle_overlap{pool=\"%s\"} %.4f\n",
			 b->pools[i].pool->id, b->pools[i].overlap);
		add(ctx, line);
	}
	add(ctx, "# HELP fluxdecoy_pool_addresses Addresses of a shuffled pool "
		 "showing each persona (closed: none) in this epoch.\n"
		 "# TYPE fluxdecoy_pool_addresses gauge\n");
	for (size_t i = 0; i < b->npools; i++) {
		const struct bed_pool *bp = &b->pools[i];
		for (size_t l = 0; l <= bp->npersonas; l++) {
			snprintf(line, sizeof(line),
				 "fluxdecoy_pool_addresses{pool=\"%s\",persona=\"%s\"} %zu\n",
				 bp->pool->id, l < bp->npersonas ? bp->personas[l]->id
								 : "closed", bp->count[l]);
			add(ctx, line);
		}
	}
}

void fd_bed_free(fd_bed_t *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->npools; i++) {
		struct bed_pool *bp = &b->pools[i];
		for (size_t k = 0; bp->fd && k < bp->naddr * bp->nports; k++)
			if (bp->fd[k] >= 0)
				close(bp->fd[k]);
		free(bp->personas);
		free(bp->shares);
		free(bp->count);
		free(bp->ports);
		free(bp->label);
		free(bp->prev);
		free(bp->fd);
		free(bp->listening);
	}
	free(b->pools);
	if (b->root) {
		OPENSSL_cleanse(b->root, b->rootlen);
		free(b->root);
	}
	OPENSSL_cleanse(b->uni.key, sizeof(b->uni.key));
	free(b);
}
