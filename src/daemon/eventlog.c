/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event log (see eventlog.h): the producers format each event straight
 * into a cell of the lock-free queue (daemon/evqueue.h, formatter in
 * daemon/eventlog_fmt.c); one writer thread takes the cells in order,
 * copies them into a batch buffer, frees the cells at once and writes the
 * batch with one write(2). Reopening (logrotate) hands a new descriptor to
 * the writer, which switches between two batches.
 */
#include "daemon/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/evqueue.h"

_Static_assert(FG_EVLOG_LINE_MAX <= FG_EVQ_SLOT_BYTES, "an event line fits a queue cell");

/* ---- the writer ---------------------------------------------------------- */

#define BATCH_BYTES (64u * 1024u)
#define IDLE_WAIT_MS 250           /* bounds any missed wake-up */

struct fg_evlog {
	char *path;
	fg_evq_t q;
	int fd;                    /* writer thread only once started */
	char *batch;               /* writer thread only */
	size_t batch_len, batch_lines;
	bool failing;              /* writer: last write failed (log once) */
	char pad2[64];
	_Atomic int pending_fd;    /* reopened file waiting for the writer, or -1 */
	_Atomic bool idle;         /* writer is (about to be) asleep */
	_Atomic bool stop;
	_Atomic uint64_t dropped, written, write_errors;
	pthread_mutex_t mu;        /* only for sleeping and waking the writer */
	pthread_cond_t cv;
	pthread_t thr;
};

static bool ring_ready(fg_evlog_t *ev)
{
	return fg_evq_peek(&ev->q) != NULL;
}

static void wake(fg_evlog_t *ev)
{
	pthread_mutex_lock(&ev->mu);
	pthread_cond_signal(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
}

static void flush_batch(fg_evlog_t *ev)
{
	size_t off = 0;

	while (off < ev->batch_len) {
		ssize_t k = write(ev->fd, ev->batch + off, ev->batch_len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* the lines are lost (a full disk must not stall the
			 * ring); say so once per failure period */
			atomic_fetch_add_explicit(&ev->write_errors, ev->batch_lines,
						  memory_order_relaxed);
			if (!ev->failing)
				log_err("event log %s: write failed: %s (events are lost until it recovers)",
					ev->path, k < 0 ? strerror(errno) : "short write");
			ev->failing = true;
			ev->batch_len = ev->batch_lines = 0;
			return;
		}
		off += (size_t)k;
	}
	if (ev->failing)
		log_info("event log %s: writing again", ev->path);
	ev->failing = false;
	atomic_fetch_add_explicit(&ev->written, ev->batch_lines, memory_order_relaxed);
	ev->batch_len = ev->batch_lines = 0;
}

/* Move every published line into the batch buffer, freeing its cell at
 * once, writing the batch whenever it fills. */
static void drain(fg_evlog_t *ev)
{
	fg_evq_slot_t *s;

	while ((s = fg_evq_peek(&ev->q))) {
		uint32_t len = s->len;
		if (len > sizeof(s->line))
			len = 0;
		if (ev->batch_len + len > BATCH_BYTES)
			flush_batch(ev);
		memcpy(ev->batch + ev->batch_len, s->line, len);
		ev->batch_len += len;
		ev->batch_lines += len > 0;
		fg_evq_pop(&ev->q, s);
	}
	if (ev->batch_len)
		flush_batch(ev);
}

static void take_reopened(fg_evlog_t *ev)
{
	int nfd = atomic_exchange(&ev->pending_fd, -1);
	if (nfd < 0)
		return;
	if (ev->batch_len)
		flush_batch(ev);
	close(ev->fd);
	ev->fd = nfd;
}

static void *writer_main(void *arg)
{
	fg_evlog_t *ev = arg;

	for (;;) {
		take_reopened(ev);
		drain(ev);
		if (atomic_load(&ev->stop)) {
			drain(ev);   /* whatever was published meanwhile */
			break;
		}
		pthread_mutex_lock(&ev->mu);
		atomic_store(&ev->idle, true);
		/* pairs with the fence in publish(): either the producer sees
		 * idle and wakes us, or we see its line here */
		atomic_thread_fence(memory_order_seq_cst);
		if (!ring_ready(ev) && !atomic_load(&ev->stop) &&
		    atomic_load(&ev->pending_fd) < 0) {
			struct timespec dl;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_nsec += IDLE_WAIT_MS * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ev->cv, &ev->mu, &dl);
		}
		atomic_store(&ev->idle, false);
		pthread_mutex_unlock(&ev->mu);
	}
	return NULL;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

int fg_evlog_open(const char *path, size_t capacity, fg_evlog_t **out)
{
	if (!path || !*path || !out)
		return -EINVAL;
	int fd = open_file(path);
	if (fd < 0)
		return fd;
	return fg_evlog_adopt(path, fd, capacity, out);
}

int fg_evlog_adopt(const char *path, int fd, size_t capacity, fg_evlog_t **out)
{
	int rc;

	if (fd < 0)
		return -EBADF;
	if (!capacity)
		capacity = FG_EVLOG_DEFAULT_CAPACITY;
	if (!path || !*path || !out || capacity > FG_EVQ_MAX_CAPACITY) {
		close(fd);
		return -EINVAL;
	}

	fg_evlog_t *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		close(fd);
		return -ENOMEM;
	}
	ev->fd = fd;
	atomic_init(&ev->pending_fd, -1);
	ev->path = strdup(path);
	ev->batch = malloc(BATCH_BYTES);
	if (!ev->path || !ev->batch || fg_evq_init(&ev->q, capacity) < 0) {
		rc = -ENOMEM;
		goto fail;
	}

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ev->mu, NULL);

	/* the writer must never take a signal: the main thread reads them
	 * from a signalfd, which needs them blocked in every thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&ev->thr, NULL, writer_main, ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		pthread_cond_destroy(&ev->cv);
		pthread_mutex_destroy(&ev->mu);
		goto fail;
	}
	pthread_setname_np(ev->thr, "fg-evlog");
	*out = ev;
	return 0;
fail:
	if (ev->fd >= 0)
		close(ev->fd);
	free(ev->batch);
	fg_evq_fini(&ev->q);
	free(ev->path);
	free(ev);
	return rc;
}

int fg_evlog_emit(fg_evlog_t *ev, const fg_event_t *e)
{
	if (!ev)
		return 0;

	size_t pos;
	fg_evq_slot_t *s = fg_evq_claim(&ev->q, &pos);
	if (!s) {
		atomic_fetch_add_explicit(&ev->dropped, 1, memory_order_relaxed);
		return -ENOBUFS;
	}

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int n = fg_evlog_format(e, &now, s->line, FG_EVLOG_LINE_MAX);
	/* a claimed cell must be published even when empty, or the writer
	 * would wait on it forever */
	fg_evq_publish(s, pos, n > 0 ? (uint32_t)n : 0);
	if (n < 0)
		atomic_fetch_add_explicit(&ev->dropped, 1, memory_order_relaxed);

	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&ev->idle, memory_order_relaxed) &&
	    atomic_exchange(&ev->idle, false))
		wake(ev);
	return n < 0 ? n : 0;
}

int fg_evlog_reopen(fg_evlog_t *ev)
{
	if (!ev)
		return 0;
	return fg_evlog_reopen_fd(ev, open_file(ev->path));
}

int fg_evlog_reopen_fd(fg_evlog_t *ev, int fd)
{
	if (!ev) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0) {
		log_err("event log %s: reopen failed, keeping the old file: %s", ev->path,
			fg_strerror(fd));
		return fd;
	}
	int old = atomic_exchange(&ev->pending_fd, fd);
	if (old >= 0)
		close(old);   /* two reopens before the writer took the first */
	wake(ev);
	return 0;
}

uint64_t fg_evlog_dropped(const fg_evlog_t *ev)
{
	return ev ? atomic_load_explicit(&ev->dropped, memory_order_relaxed) : 0;
}

uint64_t fg_evlog_written(const fg_evlog_t *ev)
{
	return ev ? atomic_load_explicit(&ev->written, memory_order_relaxed) : 0;
}

uint64_t fg_evlog_write_errors(const fg_evlog_t *ev)
{
	return ev ? atomic_load_explicit(&ev->write_errors, memory_order_relaxed) : 0;
}

void fg_evlog_close(fg_evlog_t *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->mu);
	atomic_store(&ev->stop, true);
	pthread_cond_signal(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
	pthread_join(ev->thr, NULL);
	int pfd = atomic_exchange(&ev->pending_fd, -1);
	if (pfd >= 0)
		close(pfd);
	if (ev->fd >= 0)
		close(ev->fd);
	pthread_cond_destroy(&ev->cv);
	pthread_mutex_destroy(&ev->mu);
	free(ev->batch);
	fg_evq_fini(&ev->q);
	free(ev->path);
	free(ev);
}

/* ---- typed helpers ------------------------------------------------------- */

int fg_evlog_dns(fg_evlog_t *ev, const struct sockaddr *peer, const struct sockaddr *local,
		 uint8_t proto, const char *qname, uint16_t qtype, uint8_t rcode,
		 const char *scope, const char *answer, uint32_t ttl)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_DNS };
	fg_ev_flow_from_sockaddr(&e.flow, peer, local, proto);
	e.u.dns.query = qname;
	e.u.dns.qtype = qtype;
	e.u.dns.rcode = rcode;
	e.u.dns.scope = scope;
	e.u.dns.answer = answer;
	e.u.dns.ttl = ttl;
	return fg_evlog_emit(ev, &e);
}

int fg_evlog_grant(fg_evlog_t *ev, const struct sockaddr *peer, const char *service,
		   const char *scope, const char *client, const char *address,
		   const char *backend, uint32_t timeout_ms)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_GRANT };
	fg_ev_flow_from_sockaddr(&e.flow, peer, NULL, 0);
	e.u.grant.service = service;
	e.u.grant.scope = scope;
	e.u.grant.client = client;
	e.u.grant.address = address;
	e.u.grant.backend = backend;
	e.u.grant.timeout_ms = timeout_ms;
	return fg_evlog_emit(ev, &e);
}

int fg_evlog_decoy(fg_evlog_t *ev, const fg_ev_flow_t *flow, const char *reason,
		   const char *pool)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_DECOY };
	if (flow)
		e.flow = *flow;
	e.u.decoy.reason = reason;
	e.u.decoy.pool = pool;
	return fg_evlog_emit(ev, &e);
}

static void flow_src(fg_ev_flow_t *f, int family, const uint8_t *addr)
{
	memset(f, 0, sizeof(*f));
	if ((family == AF_INET || family == AF_INET6) && addr) {
		f->sfamily = (uint8_t)family;
		memcpy(f->src, addr, family == AF_INET ? 4 : 16);
	}
}

int fg_evlog_quarantine(fg_evlog_t *ev, int family, const uint8_t *addr,
			uint32_t timeout_ms, const char *origin)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_QUARANTINE };
	flow_src(&e.flow, family, addr);
	e.u.quarantine.timeout_ms = timeout_ms;
	e.u.quarantine.origin = origin;
	return fg_evlog_emit(ev, &e);
}

int fg_evlog_release(fg_evlog_t *ev, int family, const uint8_t *addr, const char *origin)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_RELEASE };
	flow_src(&e.flow, family, addr);
	e.u.quarantine.origin = origin;
	return fg_evlog_emit(ev, &e);
}

int fg_evlog_reload(fg_evlog_t *ev, bool ok, const char *config, uint32_t zones,
		    uint32_t services, const char *message)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_RELOAD };
	e.u.reload.ok = ok;
	e.u.reload.config = config;
	e.u.reload.zones = zones;
	e.u.reload.services = services;
	e.u.reload.message = message;
	return fg_evlog_emit(ev, &e);
}

int fg_evlog_error(fg_evlog_t *ev, const char *where, int code, const char *message)
{
	if (!ev)
		return 0;
	fg_event_t e = { .type = FG_EV_ERROR };
	e.u.error.where = where;
	e.u.error.code = code;
	e.u.error.message = message;
	return fg_evlog_emit(ev, &e);
}
