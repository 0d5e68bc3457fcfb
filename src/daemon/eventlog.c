/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event log (see eventlog.h). Two halves:
 *
 *  - a pure formatter: a small JSON writer into a caller's fixed buffer. It
 *    is hand-written rather than built with jansson objects because it runs
 *    on the DNS worker threads for every logged answer, and building a
 *    jansson tree costs a few dozen allocations per line; formatting straight
 *    into the ring slot costs none. The unit tests parse every line back with
 *    jansson to keep it honest.
 *
 *  - a bounded multi-producer single-consumer ring of fixed-size slots
 *    (sequence-numbered cells, after Vyukov's bounded queue): a producer
 *    claims a cell with one CAS on `head`, formats into it and publishes it
 *    by storing the cell's sequence number. The writer thread consumes cells
 *    in order, copies them into a batch buffer, frees the cells at once and
 *    writes the batch with one write(2).
 */
#include "daemon/eventlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

/* ---- pure formatting ----------------------------------------------------- */

/* JSON writer over a fixed buffer with a sticky overflow flag. */
typedef struct jw {
	char *buf;
	size_t size, pos;
	bool over;
} jw_t;

static void jw_raw(jw_t *w, const char *s, size_t n)
{
	if (w->over)
		return;
	if (w->size - w->pos < n) {
		w->over = true;
		return;
	}
	memcpy(w->buf + w->pos, s, n);
	w->pos += n;
}

static void jw_lit(jw_t *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* A comma before every member but the first of an object: the first one
 * follows the '{' just written. */
static void jw_key(jw_t *w, const char *key)
{
	if (!w->over && w->pos > 0 && w->buf[w->pos - 1] != '{')
		jw_raw(w, ",", 1);
	jw_raw(w, "\"", 1);
	jw_lit(w, key);
	jw_raw(w, "\":", 2);
}

/* A string value, escaped, cut after FG_EVLOG_STR_MAX output characters at
 * an escape boundary. Octets outside printable ASCII are written as \u00XX
 * (read as Latin-1), so any input yields valid JSON. */
static void jw_str(jw_t *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t out = 0;

	jw_raw(w, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6];
		size_t n;
		switch (*p) {
		case '"':  esc[0] = '\\'; esc[1] = '"'; n = 2; break;
		case '\\': esc[0] = '\\'; esc[1] = '\\'; n = 2; break;
		case '\n': esc[0] = '\\'; esc[1] = 'n'; n = 2; break;
		case '\r': esc[0] = '\\'; esc[1] = 'r'; n = 2; break;
		case '\t': esc[0] = '\\'; esc[1] = 't'; n = 2; break;
		default:
			if (*p < 0x20 || *p >= 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				n = 6;
			} else {
				esc[0] = (char)*p;
				n = 1;
			}
		}
		if (out + n > FG_EVLOG_STR_MAX)
			break;
		jw_raw(w, esc, n);
		out += n;
	}
	jw_raw(w, "\"", 1);
}

static void jw_u64(jw_t *w, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	jw_raw(w, tmp + i, sizeof(tmp) - i);
}

static void jw_i64(jw_t *w, int64_t v)
{
	if (v < 0) {
		jw_raw(w, "-", 1);
		jw_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		jw_u64(w, (uint64_t)v);
	}
}

static void kv_str(jw_t *w, const char *key, const char *val)
{
	if (!val)
		return;
	jw_key(w, key);
	jw_str(w, val);
}

static void kv_u64(jw_t *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_u64(w, v);
}

static const char *const type_names[FG_EV_NTYPES] = {
	[FG_EV_DNS] = "dns",           [FG_EV_GRANT] = "grant",
	[FG_EV_DECOY] = "decoy",
	[FG_EV_QUARANTINE] = "quarantine", [FG_EV_RELEASE] = "release",
	[FG_EV_RELOAD] = "reload",     [FG_EV_ERROR] = "error",
};

const char *fg_ev_type_name(enum fg_ev_type t)
{
	return (unsigned)t < FG_EV_NTYPES ? type_names[t] : NULL;
}

static const char *const rcode_names[24] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	NULL, NULL, NULL, NULL,
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG",
	"BADTRUNC", "BADCOOKIE",
};

static const struct {
	uint16_t type;
	const char *name;
} qtype_names[] = {
	{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" },
	{ 35, "NAPTR" }, { 41, "OPT" }, { 43, "DS" }, { 46, "RRSIG" }, { 47, "NSEC" },
	{ 48, "DNSKEY" }, { 50, "NSEC3" }, { 52, "TLSA" }, { 64, "SVCB" },
	{ 65, "HTTPS" }, { 99, "SPF" }, { 251, "IXFR" }, { 252, "AXFR" },
	{ 255, "ANY" }, { 257, "CAA" },
};

/* Mnemonic, or the RFC 3597 form TYPE123 written into `tmp`. */
static const char *qtype_text(uint16_t t, char tmp[12])
{
	for (size_t i = 0; i < sizeof(qtype_names) / sizeof(qtype_names[0]); i++)
		if (qtype_names[i].type == t)
			return qtype_names[i].name;
	snprintf(tmp, 12, "TYPE%u", (unsigned)t);
	return tmp;
}

static const char *rcode_text(uint8_t rc, char tmp[12])
{
	if (rc < 24 && rcode_names[rc])
		return rcode_names[rc];
	snprintf(tmp, 12, "RCODE%u", (unsigned)rc);
	return tmp;
}

static const char *proto_text(uint8_t p, char tmp[12])
{
	switch (p) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_ICMP: return "ICMP";
	case IPPROTO_ICMPV6: return "IPv6-ICMP";
	case IPPROTO_SCTP: return "SCTP";
	case IPPROTO_UDPLITE: return "UDPLite";
	default:
		snprintf(tmp, 12, "%u", (unsigned)p);
		return tmp;
	}
}

static bool proto_has_ports(uint8_t p)
{
	return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP ||
	       p == IPPROTO_UDPLITE;
}

/* Proleptic Gregorian date of a day count since 1970-01-01 (the usual
 * era-of-400-years decomposition; exact for every int64 day we can meet). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;                                   /* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);   /* [0, 146096] */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;             /* March = 0 */
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* `width` decimal digits of v, zero-padded, at p. */
static void put_digits(char *p, uint64_t v, unsigned width)
{
	while (width--) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Own UTC conversion instead of gmtime_r(): glibc takes its time zone lock
 * in gmtime_r too, which every worker thread would contend on. */
void fg_evlog_timestamp(const struct timespec *ts, char out[32])
{
	int64_t s = ts->tv_sec;
	int64_t days = s / 86400, rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	long us = ts->tv_nsec / 1000;
	if (us < 0 || us > 999999)
		us = 0;
	if (y < 0 || y > 9999)   /* keep the fixed width of the format */
		y = y < 0 ? 0 : 9999;
	/* fixed positions, digits written directly: no printf on the hot path */
	memcpy(out, "0000-00-00T00:00:00.000000+0000", 32);
	put_digits(out + 0, (uint64_t)y, 4);
	put_digits(out + 5, mo, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (uint64_t)(rem / 3600), 2);
	put_digits(out + 14, (uint64_t)(rem / 60 % 60), 2);
	put_digits(out + 17, (uint64_t)(rem % 60), 2);
	put_digits(out + 20, (uint64_t)us, 6);
}

static void kv_ip(jw_t *w, const char *key, int family, const uint8_t *a)
{
	char txt[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, a, txt, sizeof(txt)))
		return;
	jw_key(w, key);
	jw_str(w, txt);
}

static void put_flow(jw_t *w, const fg_ev_flow_t *f)
{
	char tmp[12];
	bool ports = proto_has_ports(f->proto);

	if (f->sfamily == AF_INET || f->sfamily == AF_INET6) {
		kv_ip(w, "src_ip", f->sfamily, f->src);
		if (ports)
			kv_u64(w, "src_port", f->sport);
	}
	if (f->dfamily == AF_INET || f->dfamily == AF_INET6) {
		kv_ip(w, "dest_ip", f->dfamily, f->dst);
		if (ports)
			kv_u64(w, "dest_port", f->dport);
	}
	if (f->proto)
		kv_str(w, "proto", proto_text(f->proto, tmp));
}

static void put_body(jw_t *w, const fg_event_t *e)
{
	char tmp[12], tmp2[12];

	switch (e->type) {
	case FG_EV_DNS:
		kv_str(w, "query", e->u.dns.query);
		kv_str(w, "qtype", qtype_text(e->u.dns.qtype, tmp));
		kv_str(w, "rcode", rcode_text(e->u.dns.rcode, tmp2));
		kv_str(w, "scope", e->u.dns.scope);
		if (e->u.dns.answer) {
			kv_str(w, "answer", e->u.dns.answer);
			kv_u64(w, "ttl", e->u.dns.ttl);
		}
		break;
	case FG_EV_GRANT:
		kv_str(w, "service", e->u.grant.service);
		kv_str(w, "scope", e->u.grant.scope);
		kv_str(w, "client", e->u.grant.client);
		kv_str(w, "address", e->u.grant.address);
		kv_str(w, "backend", e->u.grant.backend);
		kv_u64(w, "timeout_ms", e->u.grant.timeout_ms);
		kv_u64(w, "commit_us", e->u.grant.commit_us);
		break;
		break;
	case FG_EV_DECOY:
		kv_str(w, "reason", e->u.decoy.reason);
		kv_str(w, "pool", e->u.decoy.pool);
		break;
	case FG_EV_QUARANTINE:
		kv_u64(w, "timeout_ms", e->u.quarantine.timeout_ms);
		kv_str(w, "origin", e->u.quarantine.origin);
		break;
	case FG_EV_RELEASE:
		kv_str(w, "origin", e->u.quarantine.origin);
		break;
	case FG_EV_RELOAD:
		jw_key(w, "ok");
		jw_lit(w, e->u.reload.ok ? "true" : "false");
		kv_str(w, "config", e->u.reload.config);
		if (e->u.reload.ok) {
			kv_u64(w, "zones", e->u.reload.zones);
			kv_u64(w, "services", e->u.reload.services);
		}
		kv_str(w, "message", e->u.reload.message);
		break;
	case FG_EV_ERROR:
		kv_str(w, "where", e->u.error.where);
		if (e->u.error.code) {
			jw_key(w, "code");
			jw_i64(w, e->u.error.code);
			kv_str(w, "reason", fg_strerror(e->u.error.code));
		}
		kv_str(w, "message", e->u.error.message);
		break;
	default:
		break;
	}
}

int fg_evlog_format(const fg_event_t *e, const struct timespec *ts, char *buf, size_t size)
{
	const char *tname = fg_ev_type_name(e->type);
	char stamp[32];
	jw_t w = { .buf = buf, .size = size };

	if (!tname)
		return -EINVAL;
	fg_evlog_timestamp(ts, stamp);
	jw_raw(&w, "{", 1);
	kv_str(&w, "timestamp", stamp);
	kv_str(&w, "event_type", tname);
	put_flow(&w, &e->flow);
	jw_key(&w, tname);
	jw_raw(&w, "{", 1);
	put_body(&w, e);
	jw_raw(&w, "}}\n", 3);
	if (w.over)
		return -FG_ESPACE;
	if (w.pos < size)
		buf[w.pos] = '\0';
	return (int)w.pos;
}

static void side_from_sockaddr(const struct sockaddr *sa, uint8_t *family, uint8_t *addr,
			       uint16_t *port)
{
	*family = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		*family = AF_INET;
		memcpy(addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			*family = AF_INET;
			memcpy(addr, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, &s6->sin6_addr, 16);
		}
	}
}

void fg_ev_flow_from_sockaddr(fg_ev_flow_t *flow, const struct sockaddr *src,
			      const struct sockaddr *dst, uint8_t proto)
{
	memset(flow, 0, sizeof(*flow));
	flow->proto = proto;
	side_from_sockaddr(src, &flow->sfamily, flow->src, &flow->sport);
	side_from_sockaddr(dst, &flow->dfamily, flow->dst, &flow->dport);
}

/* ---- the ring and its writer --------------------------------------------- */

#define BATCH_BYTES (64u * 1024u)
#define IDLE_WAIT_MS 250           /* bounds any missed wake-up */
#define MAX_CAPACITY (1u << 20)

typedef struct slot {
	_Atomic size_t seq;        /* == index: free; == index + 1: full */
	uint32_t len;              /* 0: nothing to write (format failed) */
	char line[FG_EVLOG_LINE_MAX];
} slot_t;

struct fg_evlog {
	char *path;
	slot_t *slots;
	size_t mask;
	/* producers' cursor, apart from the consumer's to spare the cache
	 * line bouncing between them */
	char pad0[64];
	_Atomic size_t head;
	char pad1[64];
	size_t tail;               /* writer thread only */
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
	slot_t *s = &ev->slots[ev->tail & ev->mask];
	return atomic_load_explicit(&s->seq, memory_order_acquire) == ev->tail + 1;
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
	while (ring_ready(ev)) {
		slot_t *s = &ev->slots[ev->tail & ev->mask];
		uint32_t len = s->len;
		if (len > sizeof(s->line))
			len = 0;
		if (ev->batch_len + len > BATCH_BYTES)
			flush_batch(ev);
		memcpy(ev->batch + ev->batch_len, s->line, len);
		ev->batch_len += len;
		ev->batch_lines += len > 0;
		atomic_store_explicit(&s->seq, ev->tail + ev->mask + 1, memory_order_release);
		ev->tail++;
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
	size_t cap = 2;
	int rc;

	if (fd < 0)
		return -EBADF;
	if (!capacity)
		capacity = FG_EVLOG_DEFAULT_CAPACITY;
	if (!path || !*path || !out || capacity > MAX_CAPACITY) {
		close(fd);
		return -EINVAL;
	}
	while (cap < capacity)
		cap <<= 1;

	fg_evlog_t *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		close(fd);
		return -ENOMEM;
	}
	ev->fd = fd;
	atomic_init(&ev->pending_fd, -1);
	ev->path = strdup(path);
	ev->slots = calloc(cap, sizeof(slot_t));
	ev->batch = malloc(BATCH_BYTES);
	if (!ev->path || !ev->slots || !ev->batch) {
		rc = -ENOMEM;
		goto fail;
	}
	ev->mask = cap - 1;
	for (size_t i = 0; i < cap; i++)
		atomic_init(&ev->slots[i].seq, i);

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
	free(ev->slots);
	free(ev->path);
	free(ev);
	return rc;
}

int fg_evlog_emit(fg_evlog_t *ev, const fg_event_t *e)
{
	if (!ev)
		return 0;

	/* claim a cell: free when its sequence equals our position */
	size_t pos = atomic_load_explicit(&ev->head, memory_order_relaxed);
	slot_t *s;
	for (;;) {
		s = &ev->slots[pos & ev->mask];
		size_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		intptr_t diff = (intptr_t)seq - (intptr_t)pos;
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&ev->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			/* the writer has not freed this cell yet: full */
			atomic_fetch_add_explicit(&ev->dropped, 1, memory_order_relaxed);
			return -ENOBUFS;
		} else {
			pos = atomic_load_explicit(&ev->head, memory_order_relaxed);
		}
	}

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int n = fg_evlog_format(e, &now, s->line, sizeof(s->line));
	/* a claimed cell must be published even when empty, or the writer
	 * would wait on it forever */
	s->len = n > 0 ? (uint32_t)n : 0;
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
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
	free(ev->slots);
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
		   const char *backend, uint32_t timeout_ms, uint32_t commit_us)
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
	e.u.grant.commit_us = commit_us;
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
