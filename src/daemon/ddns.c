/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * External authoritative servers: the epoch thread, its TCP transport and
 * TSIG (see daemon/ddns.h).
 */
#include "daemon/ddns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/scalar.h"
#include "dns/tsig.h"
#include "dns/update.h"
#include "grant/epoch.h"

/* a DNS message over TCP: 16 services x 2 families of UPDATE fit with
 * the longest names */
#define MSG_MAX 65535

struct fg_ddns {
	fg_epoch_t *ep;
	fg_tsig_key_t *keys;          /* one per zone (ep->zones[i]) */
	fg_grant_engine_t *eng;
	fg_grant_worker_t *w;
	fg_evlog_t *ev;
	pthread_t thread;
	bool running;
	int stopfd;                   /* eventfd: stop */
	pthread_mutex_t mu;           /* guards stats */
	fg_metrics_ddns_zone_t *zstats;
	fg_metrics_ddns_service_t *sstats;
	size_t nsstats;
	enum fg_epoch_result *last;   /* last result per zone: log changes */
	int *zlast;                   /* the same for status (under mu), -1: none yet */
	bool *ran;                    /* the zone had an epoch (thread only) */
	char (*zserver)[80];          /* each zone's server as text */
	uint64_t grant_us, update_us; /* of the zone run in progress (log) */
	uint8_t buf[MSG_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void addr_text(const fg_conf_addr_t *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
	}
	snprintf(out, cap, "%s@%u", ip, port);
}

/* ---- transport: one TCP exchange (RFC 1035 4.2.2 framing) ---------------- */

/* Wait for `ev` on fd until deadline; 0, -ETIMEDOUT, or -ECANCELED when
 * asked to stop. */
static int wait_fd(fg_ddns_t *d, int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p[2] = { { .fd = fd, .events = ev }, { .fd = d->stopfd, .events = POLLIN } };
		int n = poll(p, 2, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0;
	}
}

/* Send msg[0..len) to the server and read one response into resp (cap);
 * returns its length or <0 (-ETIMEDOUT, -ECONNREFUSED, ...). */
static int tcp_exchange(fg_ddns_t *d, const fg_conf_addr_t *srv, uint32_t timeout_ms,
			const uint8_t *msg, size_t len, uint8_t *resp, size_t cap)
{
	uint64_t deadline = mono_ms() + timeout_ms;
	int fd = socket(srv->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc;
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) < 0 && errno != EINPROGRESS) {
		rc = -errno;
		goto out;
	}
	if ((rc = wait_fd(d, fd, POLLOUT, deadline)) < 0)
		goto out;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		rc = soerr ? -soerr : -errno;
		goto out;
	}
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct iovec iov[2] = { { hdr, 2 }, { (void *)msg, len } };
	size_t sent = 0, total = len + 2;
	while (sent < total) {
		struct msghdr mh = { 0 };
		struct iovec v[2];
		int nv = 0;
		size_t skip = sent;
		for (int i = 0; i < 2; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			v[nv].iov_base = (uint8_t *)iov[i].iov_base + skip;
			v[nv++].iov_len = iov[i].iov_len - skip;
			skip = 0;
		}
		mh.msg_iov = v;
		mh.msg_iovlen = (size_t)nv;
		ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((rc = wait_fd(d, fd, POLLOUT, deadline)) < 0)
				goto out;
			continue;
		}
		if (k < 0) {
			rc = -errno;
			goto out;
		}
		sent += (size_t)k;
	}
	/* length, then the message */
	uint8_t lb[2];
	size_t got = 0, want = 2;
	uint8_t *dst = lb;
	for (int phase = 0; phase < 2;) {
		ssize_t k = recv(fd, dst + got, want - got, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((rc = wait_fd(d, fd, POLLIN, deadline)) < 0)
				goto out;
			continue;
		}
		if (k < 0) {
			rc = -errno;
			goto out;
		}
		if (k == 0) {
			rc = -ECONNRESET;
			goto out;
		}
		got += (size_t)k;
		if (got < want)
			continue;
		if (phase == 0) {
			want = (size_t)lb[0] << 8 | lb[1];
			if (want == 0 || want > cap) {
				rc = -FG_EMALF;
				goto out;
			}
			dst = resp;
			got = 0;
		}
		phase++;
	}
	rc = (int)want;
out:
	close(fd);
	return rc;
}

static enum fg_epoch_result transport_result(int rc)
{
	if (rc == -ETIMEDOUT)
		return FG_EPOCH_TIMEOUT;
	if (rc == -FG_EMALF)
		return FG_EPOCH_MALFORMED;
	return FG_EPOCH_NETWORK;
}

/* ---- the scheduler's ops ---------------------------------------------------- */

static size_t zone_index(const fg_ddns_t *d, const fg_epoch_zone_t *z)
{
	return (size_t)(z - d->ep->zones);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int op_grant(void *ctx, fg_grant_pub_t *p, size_t n)
{
	fg_ddns_t *d = ctx;
	uint64_t t0 = mono_us();
	int rc = fg_grant_publish(d->eng, d->w, p, n);
	if (!d->grant_us)   /* the first grant of a run: the new addresses */
		d->grant_us = mono_us() - t0;
	return rc;
}

/* Sign msg, exchange it, verify the response's TSIG when it claims
 * success. Returns the response length, or <0 with *res and err set. */
static int signed_exchange(fg_ddns_t *d, const fg_epoch_zone_t *z, uint8_t *msg, size_t len,
			   uint8_t *resp, size_t cap, fg_tsig_ctx_t *tc,
			   enum fg_epoch_result *res, char *err, size_t errlen)
{
	char srv[80];
	addr_text(&z->server, srv, sizeof(srv));
	int n = fg_tsig_sign_request(msg, len, MSG_MAX, &d->keys[zone_index(d, z)],
				     (uint64_t)time(NULL), 0, tc);
	if (n < 0) {
		*res = FG_EPOCH_MALFORMED;
		return fg_errf(err, errlen, n, "signing with key %s: %s", z->key, fg_strerror(n));
	}
	int rl = tcp_exchange(d, &z->server, z->timeout_ms, msg, (size_t)n, resp, cap);
	if (rl < 0) {
		*res = transport_result(rl);
		if (rl == -ETIMEDOUT)
			return fg_errf(err, errlen, rl, "%s: no answer within %u ms", srv,
				       z->timeout_ms);
		return fg_errf(err, errlen, rl, "%s: %s", srv, fg_strerror(rl));
	}
	return rl;
}

static int op_update(void *ctx, const fg_epoch_zone_t *z, const fg_update_rrset_t *sets,
		     size_t n, fg_update_resp_t *resp, enum fg_epoch_result *res, char *err,
		     size_t errlen)
{
	fg_ddns_t *d = ctx;
	uint8_t msg[MSG_MAX];
	uint16_t id;
	char perr[160];
	if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
		id = (uint16_t)mono_ms();
	int len = fg_update_build(msg, sizeof(msg) - 512, id, z->zone, sets, n, perr, sizeof(perr));
	if (len < 0) {
		*res = FG_EPOCH_MALFORMED;
		return fg_errf(err, errlen, len, "building the UPDATE: %s", perr);
	}
	fg_tsig_ctx_t tc;
	uint64_t t0 = mono_us();
	int rl = signed_exchange(d, z, msg, (size_t)len, d->buf, sizeof(d->buf), &tc, res, err,
				 errlen);
	d->update_us = mono_us() - t0;
	if (rl < 0)
		return rl;
	int rc = fg_update_parse_response(d->buf, (size_t)rl, id, z->zone, resp, perr,
					  sizeof(perr));
	if (rc < 0) {
		*res = FG_EPOCH_MALFORMED;
		return fg_errf(err, errlen, rc, "response to the UPDATE: %s", perr);
	}
	if (resp->rcode == FG_UPD_NOERROR) {
		/* believe a NOERROR only under a valid TSIG of the server's */
		uint16_t terr = 0;
		rc = fg_tsig_verify_response(d->buf, (size_t)rl, &tc, (uint64_t)time(NULL), &terr, NULL);
		if (rc < 0) {
			*res = FG_EPOCH_MALFORMED;
			return fg_errf(err, errlen, rc, "NOERROR response whose TSIG does not verify "
				       "(%s)", terr ? fg_tsig_error_text(terr) : fg_strerror(rc));
		}
	}
	return 0;
}

static int op_serial(void *ctx, const fg_epoch_zone_t *z, uint32_t *serial, char *err,
		     size_t errlen)
{
	fg_ddns_t *d = ctx;
	uint8_t msg[MSG_MAX];
	uint16_t id;
	char perr[160];
	enum fg_epoch_result res;
	if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
		id = (uint16_t)mono_ms();
	int len = fg_update_build_soa_query(msg, sizeof(msg) - 512, id, z->zone, perr, sizeof(perr));
	if (len < 0)
		return fg_errf(err, errlen, len, "%s", perr);
	fg_tsig_ctx_t tc;
	int rl = signed_exchange(d, z, msg, (size_t)len, d->buf, sizeof(d->buf), &tc, &res, err,
				 errlen);
	if (rl < 0)
		return rl;
	uint16_t terr = 0;
	int rc = fg_tsig_verify_response(d->buf, (size_t)rl, &tc, (uint64_t)time(NULL), &terr, NULL);
	if (rc < 0)
		return fg_errf(err, errlen, rc, "SOA answer whose TSIG does not verify (%s)",
			       terr ? fg_tsig_error_text(terr) : fg_strerror(rc));
	rc = fg_update_parse_soa(d->buf, (size_t)rl, id, z->zone, serial, perr, sizeof(perr));
	if (rc < 0)
		return fg_errf(err, errlen, rc, "%s", perr);
	return 0;
}

static const fg_epoch_ops_t OPS = { op_grant, op_update, op_serial };

/* ---- the thread -------------------------------------------------------------- */

static void publish_stats(fg_ddns_t *d)
{
	pthread_mutex_lock(&d->mu);
	for (size_t z = 0; z < d->ep->nzones && z < FG_METRICS_MAX_DDNS_ZONES; z++) {
		const fg_epoch_zone_t *ez = &d->ep->zones[z];
		fg_metrics_ddns_zone_t *s = &d->zstats[z];
		for (unsigned r = 0; r < FG_METRICS_DDNS_RESULTS && r < FG_EPOCH_NRESULTS; r++)
			s->results[r] = ez->results[r];
		s->has_serial = ez->have_serial;
		s->serial = ez->serial;
		s->serial_stuck = ez->serial_stuck;
	}
	for (size_t z = 0; z < d->ep->nzones; z++)
		if (d->ran && d->ran[z])
			d->zlast[z] = (int)d->last[z];
	for (size_t i = 0; i < d->nsstats; i++) {
		d->sstats[i].rotations = 0;
		for (size_t k = 0; k < d->ep->nslots; k++)
			if (!strcmp(d->ep->slots[k].service, d->sstats[i].id))
				d->sstats[i].rotations += d->ep->slots[k].rotations;
	}
	pthread_mutex_unlock(&d->mu);
}

/* The code of an error event: the failing op's, or what the server's
 * answer means. */
static int event_code(const fg_epoch_report_t *rep)
{
	switch (rep->result) {
	case FG_EPOCH_REFUSED: return -EPERM;
	case FG_EPOCH_NOTAUTH: case FG_EPOCH_BADKEY: case FG_EPOCH_BADSIG:
	case FG_EPOCH_BADTIME: return -FG_EAUTH;
	case FG_EPOCH_RCODE: return -FG_EMALF;
	default: return rep->rc < 0 ? rep->rc : -FG_EMALF;
	}
}

static void report(fg_ddns_t *d, size_t zi, const fg_epoch_report_t *rep)
{
	const fg_epoch_zone_t *z = &d->ep->zones[zi];
	char srv[80];
	addr_text(&z->server, srv, sizeof(srv));
	if (rep->result == FG_EPOCH_OK) {
		if (d->last[zi] != FG_EPOCH_OK)
			log_info("ddns: zone %s at %s: publishing again", z->zone, srv);
		if (rep->err[0])
			log_warn("ddns: zone %s at %s: %s", z->zone, srv, rep->err);
		if (rep->serial_read && !rep->serial_moved)
			log_warn("ddns: zone %s at %s: SOA serial %u did not move on after the "
				 "update (serial policy of the server?)", z->zone, srv,
				 rep->serial_after);
		log_debug("ddns: zone %s: %zu address%s published, serial %u (grant %llu us, "
			  "signed UPDATE exchange %llu us)", z->zone, rep->published,
			  rep->published == 1 ? "" : "es", rep->serial_after,
			  (unsigned long long)d->grant_us, (unsigned long long)d->update_us);
	} else {
		log_warn("ddns: zone %s at %s: update %s: %s; the published addresses stay "
			 "granted, retrying next epoch", z->zone, srv,
			 fg_epoch_result_name(rep->result), rep->err);
		char msg[512];
		snprintf(msg, sizeof(msg), "zone %s at %s: update %s: %s", z->zone, srv,
			 fg_epoch_result_name(rep->result), rep->err);
		fg_evlog_error(d->ev, "ddns", event_code(rep), msg);
	}
	d->last[zi] = rep->result;
	d->ran[zi] = true;
}

static void *ddns_main(void *arg)
{
	fg_ddns_t *d = arg;
	for (;;) {
		uint64_t now = mono_ms();
		uint64_t due = fg_epoch_next_due(d->ep);
		if (due > now) {
			uint64_t wait = due - now;
			struct pollfd p = { .fd = d->stopfd, .events = POLLIN };
			int n = poll(&p, 1, wait > 60000 ? 60000 : (int)wait);
			if (n > 0)
				break;
			continue;
		}
		for (size_t z = 0; z < d->ep->nzones; z++) {
			if (d->ep->zones[z].next_ms > now)
				continue;
			fg_epoch_report_t rep;
			d->grant_us = d->update_us = 0;
			fg_epoch_run_zone(d->ep, z, now, &OPS, d, &rep);
			if (rep.rc == -ECANCELED)
				break;
			report(d, z, &rep);
		}
		publish_stats(d);
		uint64_t v;
		struct pollfd p = { .fd = d->stopfd, .events = POLLIN };
		if (poll(&p, 1, 0) > 0 && read(d->stopfd, &v, sizeof(v)) >= 0)
			break;
	}
	publish_stats(d);
	return NULL;
}

/* The TSIG key of a zone: the `key:` entry named by external.key. */
static int zone_key(const fg_conf_t *conf, const char *id, fg_tsig_key_t *out)
{
	char a[256], b[256];
	fg_dname_canon(id, a);
	for (size_t i = 0; i < conf->nkeys; i++) {
		fg_dname_canon(conf->keys[i].id, b);
		if (!strcmp(a, b)) {
			*out = conf->tsig_keys[i];
			return 0;
		}
	}
	return -ENOENT;
}

void fg_ddns_free(fg_ddns_t *d)
{
	if (!d)
		return;
	fg_ddns_stop(d);
	if (d->keys) {
		OPENSSL_cleanse(d->keys, d->ep->nzones * sizeof(*d->keys));
		free(d->keys);
	}
	fg_epoch_free(d->ep);
	fg_grant_worker_free(d->w);
	if (d->stopfd >= 0)
		close(d->stopfd);
	pthread_mutex_destroy(&d->mu);
	free(d->zstats);
	free(d->sstats);
	free(d->last);
	free(d->zlast);
	free(d->ran);
	free(d->zserver);
	free(d);
}

int fg_ddns_start(const fg_conf_t *conf, fg_grant_engine_t *eng, fg_evlog_t *ev,
		  const fg_ddns_t *prev, fg_ddns_t **out)
{
	*out = NULL;
	fg_epoch_t *ep = NULL;
	int rc = fg_epoch_new(conf, mono_ms(), &ep);
	if (rc < 0)
		return rc;
	if (!ep->nzones) {
		fg_epoch_free(ep);
		return 0;
	}
	fg_ddns_t *d = calloc(1, sizeof(*d));
	if (!d) {
		fg_epoch_free(ep);
		return -ENOMEM;
	}
	d->ep = ep;
	d->stopfd = -1;
	d->eng = eng;
	d->ev = ev;
	pthread_mutex_init(&d->mu, NULL);
	if (prev)
		fg_epoch_adopt(ep, prev->ep);
	d->keys = calloc(ep->nzones, sizeof(*d->keys));
	d->zstats = calloc(ep->nzones, sizeof(*d->zstats));
	d->last = calloc(ep->nzones, sizeof(*d->last));
	d->sstats = calloc(conf->nservices ? conf->nservices : 1, sizeof(*d->sstats));
	d->zlast = calloc(ep->nzones, sizeof(*d->zlast));
	d->ran = calloc(ep->nzones, sizeof(*d->ran));
	d->zserver = calloc(ep->nzones, sizeof(*d->zserver));
	if (!d->keys || !d->zstats || !d->sstats || !d->last || !d->zlast || !d->ran ||
	    !d->zserver) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t z = 0; z < ep->nzones; z++) {
		if ((rc = zone_key(conf, ep->zones[z].key, &d->keys[z])) < 0) {
			log_err("ddns: zone %s: external.key '%s' is not a key: entry",
				ep->zones[z].zone, ep->zones[z].key);
			goto fail;
		}
		snprintf(d->zstats[z].zone, sizeof(d->zstats[z].zone), "%s", ep->zones[z].zone);
		addr_text(&ep->zones[z].server, d->zserver[z], sizeof(d->zserver[z]));
		d->zlast[z] = -1;
	}
	for (size_t s = 0; s < conf->nservices; s++)
		if (conf->services[s].external.set)
			snprintf(d->sstats[d->nsstats++].id, FG_METRICS_ID_MAX, "%s",
				 conf->services[s].id);
	if ((rc = fg_grant_worker_new(eng, &d->w)) < 0)
		goto fail;
	d->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stopfd < 0) {
		rc = -errno;
		goto fail;
	}
	publish_stats(d);
	if ((rc = -pthread_create(&d->thread, NULL, ddns_main, d)) < 0)
		goto fail;
	d->running = true;
	log_info("ddns: %zu external zone%s, first update now", ep->nzones,
		 ep->nzones == 1 ? "" : "s");
	*out = d;
	return 0;
fail:
	fg_ddns_free(d);
	return rc;
}

void fg_ddns_stop(fg_ddns_t *d)
{
	if (!d || !d->running)
		return;
	uint64_t one = 1;
	if (write(d->stopfd, &one, sizeof(one)) < 0)
		log_warn("ddns: stop: %s", strerror(errno));
	pthread_join(d->thread, NULL);
	d->running = false;
}

void fg_ddns_collect(fg_ddns_t *d, fg_metrics_t *m)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	for (size_t z = 0; z < d->ep->nzones && m->nddns_zones < FG_METRICS_MAX_DDNS_ZONES; z++)
		m->ddns_zones[m->nddns_zones++] = d->zstats[z];
	for (size_t s = 0; s < d->nsstats && m->nddns_services < FG_METRICS_MAX_SERVICES; s++)
		m->ddns_services[m->nddns_services++] = d->sstats[s];
	pthread_mutex_unlock(&d->mu);
}

void fg_ddns_zones(fg_ddns_t *d, fg_ddns_zone_fn fn, void *ctx)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	for (size_t z = 0; z < d->ep->nzones; z++) {
		const fg_metrics_ddns_zone_t *s = &d->zstats[z];
		uint64_t failed = 0;
		for (unsigned r = 1; r < FG_METRICS_DDNS_RESULTS; r++)
			failed += s->results[r];
		fn(ctx, s->zone, d->zserver[z],
		   d->zlast[z] < 0 ? "none" : fg_epoch_result_name((enum fg_epoch_result)d->zlast[z]),
		   s->results[FG_EPOCH_OK], failed, s->has_serial, s->serial);
	}
	pthread_mutex_unlock(&d->mu);
}
