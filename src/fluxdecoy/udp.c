/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "dns/siphash.h"
#include "decoy/udpwire.h"
#include "fluxdecoy/hi.h"
#include "fluxdecoy/udp.h"

/* Buckets per UDP port of a persona: sources that hash alike share one
 * limit, which only ever makes the decoy quieter. */
#define UDP_SLOTS 1024
#define UDP_BATCH 64               /* datagrams read per socket wakeup */
#define UDP_LIMIT_LOG_MS 10000     /* one rate-limited event per bucket per 10 s */

enum udp_result { R_ANSWERED, R_NO_MATCH, R_LIMITED, R_AMP, R_NO_PERSONA,
		  R_SEND_FAIL, R_N };
static const char *const result_names[R_N] = {
	"answered", "no-match", "rate-limited", "amplification", "no-persona",
	"send-failed",
};

struct usock {
	int type;                      /* FD_OBJ_UDP */
	int fd;
};

struct uport {                     /* one `udp:` entry of one persona */
	const fd_conf_persona_t *cp;
	const fd_udp_service_t *sv;
	fd_udp_table_t *t;
	fd_udp_bucket_t *b;            /* UDP_SLOTS */
	uint64_t *logged;              /* when the bucket's refusal was logged */
};

struct fd_udp {
	const fd_conf_t *conf;
	fd_event_t *ev;
	int ep;
	const fd_bed_t *bed;
	fd_hi_t *hi;                   /* udp-backends personas: late binding */
	struct usock *socks;
	size_t nsocks;
	struct uport *ports;
	size_t nports;
	fg_siphash_t *sip;
	uint8_t key[FG_SIPHASH_KEYLEN];
	uint8_t cookie[FG_SIPHASH_KEYLEN];  /* DNS server cookies' secret */
	uint64_t n[R_N], rx, tx;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int bind_one(fd_udp_t *u, const fg_conf_addr_t *la, unsigned port,
		    char *err, size_t errlen)
{
	struct sockaddr_storage ss = la->ss;
	int one = 1, fd;
	char ip[INET6_ADDRSTRLEN];
	unsigned dummy;

	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	fd_sockaddr_text(&ss, ip, sizeof(ip), &dummy);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&ss, la->len) < 0)
		goto fail;
	struct usock *ns = realloc(u->socks, (u->nsocks + 1) * sizeof(*ns));
	if (!ns) {
		close(fd);
		return -ENOMEM;
	}
	u->socks = ns;
	u->socks[u->nsocks] = (struct usock){ FD_OBJ_UDP, fd };
	u->nsocks++;
	return 0;
fail:;
	int rc = -errno;
	snprintf(err, errlen, "udp: bind %s port %u: %s", ip, port, fg_strerror(rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

static bool port_used(const fd_conf_t *c, unsigned port)
{
	for (size_t i = 0; i < c->npersonas; i++)
		if (fd_persona_find_udp(c->personas[i].persona, port))
			return true;
	return false;
}

int fd_udp_new(const fd_conf_t *conf, fd_event_t *ev, int ep, fd_udp_t **out,
	       char *err, size_t errlen)
{
	fd_udp_t *u = calloc(1, sizeof(*u));
	int rc = 0;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	u->conf = conf;
	u->ev = ev;
	u->ep = ep;
	for (size_t i = 0; i < conf->npersonas; i++) {
		const fd_conf_persona_t *cp = &conf->personas[i];
		for (size_t j = 0; j < cp->persona->nudp; j++) {
			struct uport *np = realloc(u->ports, (u->nports + 1) * sizeof(*np));
			if (!np) {
				rc = -ENOMEM;
				goto fail;
			}
			u->ports = np;
			struct uport *p = &u->ports[u->nports];
			*p = (struct uport){ cp, &cp->persona->udp[j], NULL, NULL, NULL };
			u->nports++;
			p->b = calloc(UDP_SLOTS, sizeof(*p->b));
			p->logged = calloc(UDP_SLOTS, sizeof(*p->logged));
			rc = p->b && p->logged ? fd_udp_table_build(p->sv, &p->t) : -ENOMEM;
			if (rc < 0) {
				snprintf(err, errlen, "persona '%s' udp port %u: %s", cp->id,
					 p->sv->port, fg_strerror(rc));
				goto fail;
			}
		}
	}
	if (u->nports) {
		if (RAND_bytes(u->key, sizeof(u->key)) != 1 ||
		    RAND_bytes(u->cookie, sizeof(u->cookie)) != 1 ||
		    fg_siphash_new(&u->sip) < 0) {
			snprintf(err, errlen, "udp: no SipHash for the source buckets");
			rc = -ENOTSUP;
			goto fail;
		}
	}
	for (unsigned port = 1; u->nports && port <= 65535; port++) {
		if (!port_used(conf, port))
			continue;
		for (size_t i = 0; i < conf->decoy.nlisten; i++) {
			rc = bind_one(u, &conf->decoy.listen[i], port, err, errlen);
			if (rc < 0)
				goto fail;
		}
	}
	for (size_t i = 0; i < u->nsocks; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &u->socks[i] };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, u->socks[i].fd, &e) < 0) {
			rc = -errno;
			snprintf(err, errlen, "udp: epoll_ctl: %s", fg_strerror(rc));
			goto fail;
		}
	}
	*out = u;
	return 0;
fail:
	fd_udp_free(u);
	return rc;
}

void fd_udp_free(fd_udp_t *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nsocks; i++) {
		epoll_ctl(u->ep, EPOLL_CTL_DEL, u->socks[i].fd, NULL);
		close(u->socks[i].fd);
	}
	free(u->socks);
	for (size_t i = 0; i < u->nports; i++) {
		fd_udp_table_free(u->ports[i].t);
		free(u->ports[i].b);
		free(u->ports[i].logged);
	}
	free(u->ports);
	fg_siphash_free(u->sip);
	OPENSSL_cleanse(u->key, sizeof(u->key));
	OPENSSL_cleanse(u->cookie, sizeof(u->cookie));
	free(u);
}

void fd_udp_set_bed(fd_udp_t *u, const fd_bed_t *bed)
{
	if (u)
		u->bed = bed;
}

void fd_udp_set_hi(fd_udp_t *u, struct fd_hi *hi)
{
	if (u)
		u->hi = hi;
}

/* The `udp:` entry serving (family, a, port), or NULL. */
static struct uport *port_of(fd_udp_t *u, int family, const uint8_t *a, unsigned port)
{
	bool in_bed = false;
	const fd_conf_persona_t *cp = fd_bed_persona(u->bed, family, a, &in_bed);

	for (size_t i = 0; !in_bed && !cp && i < u->conf->npersonas; i++)
		if (fd_conf_persona_covers(&u->conf->personas[i], family, a) &&
		    fd_persona_find_udp(u->conf->personas[i].persona, port))
			cp = &u->conf->personas[i];
	for (size_t i = 0; cp && i < u->nports; i++)
		if (u->ports[i].cp == cp && u->ports[i].sv->port == port)
			return &u->ports[i];
	return NULL;
}

static size_t slot_of(fd_udp_t *u, const struct sockaddr_storage *src)
{
	uint8_t key[17] = { 0 }, h[8];

	if (src->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)src)->sin_addr, 4);
	} else {
		key[0] = 6;    /* one /64, one source: a host has many /128s */
		memcpy(key + 1, &((const struct sockaddr_in6 *)src)->sin6_addr, 8);
	}
	if (fg_siphash24(u->sip, u->key, key, sizeof(key), h) < 0)
		return 0;
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % UDP_SLOTS);
}

static void event(fd_udp_t *u, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, const struct uport *p,
		  enum udp_result r, size_t in, size_t out)
{
	json_t *d = json_object();

	if (!d)
		return;
	json_object_set_new(d, "event", json_string("udp"));
	if (p) {
		json_object_set_new(d, "persona", json_string(p->cp->id));
		json_object_set_new(d, "persona_name", json_string(p->cp->persona->name));
	}
	json_object_set_new(d, "result", json_string(result_names[r]));
	json_object_set_new(d, "bytes_toserver", json_integer((json_int_t)in));
	json_object_set_new(d, "bytes_toclient", json_integer((json_int_t)out));
	fd_event_emit_proto(u->ev, src, dst, "UDP", d);
}

/* Destination of a received datagram from its IP_PKTINFO. */
static bool dst_of(struct msghdr *mh, int family, unsigned port,
		   struct sockaddr_storage *dst)
{
	memset(dst, 0, sizeof(*dst));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (family == AF_INET && cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in *v4 = (struct sockaddr_in *)dst;
			v4->sin_family = AF_INET;
			v4->sin_addr = pi.ipi_addr;
			v4->sin_port = htons((uint16_t)port);
			return true;
		}
		if (family == AF_INET6 && cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)dst;
			v6->sin6_family = AF_INET6;
			v6->sin6_addr = pi.ipi6_addr;
			v6->sin6_port = htons((uint16_t)port);
			return true;
		}
	}
	return false;
}

/* Send `out` to src from the address the request was sent to. */
bool fd_udp_send_from(int fd, const struct sockaddr_storage *src,
		      const struct sockaddr_storage *dst, const uint8_t *out, size_t n)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)out, n };
	struct msghdr mh = { .msg_name = (void *)src, .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cb.b };

	memset(&cb, 0, sizeof(cb));
	struct cmsghdr *cm = (struct cmsghdr *)cb.b;
	if (src->ss_family == AF_INET) {
		struct in_pktinfo pi = { 0 };
		pi.ipi_spec_dst = ((const struct sockaddr_in *)dst)->sin_addr;
		mh.msg_namelen = sizeof(struct sockaddr_in);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };
		pi.ipi6_addr = ((const struct sockaddr_in6 *)dst)->sin6_addr;
		mh.msg_namelen = sizeof(struct sockaddr_in6);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT) == (ssize_t)n;
}

static void one_datagram(fd_udp_t *u, int fd, int family, unsigned port,
			 const struct sockaddr_storage *src, struct msghdr *mh,
			 const uint8_t *d, size_t len)
{
	struct sockaddr_storage dst;
	uint8_t out[FD_UDP_MAX_PAYLOAD], a[16];

	u->rx += len;
	if (!dst_of(mh, family, port, &dst)) {
		u->n[R_NO_PERSONA]++;
		return;
	}
	if (family == AF_INET)
		memcpy(a, &((struct sockaddr_in *)&dst)->sin_addr, 4);
	else
		memcpy(a, &((struct sockaddr_in6 *)&dst)->sin6_addr, 16);
	struct uport *p = port_of(u, family, a, port);
	if (!p) {            /* the real host has no such port here: silent */
		u->n[R_NO_PERSONA]++;
		return;
	}
	/* high interaction first, as a TCP flow is offered to fd_hi_accept()
	 * before its persona answers: the backend's own limits apply there,
	 * the bucket below is the persona's */
	if (u->hi && fd_hi_udp(u->hi, fd, src, &dst, (size_t)(p->cp - u->conf->personas),
			       u->bed ? fd_bed_universes(u->bed) : NULL, d, len))
		return;
	size_t slot = slot_of(u, src);
	uint64_t now = now_ms();
	if (!fd_udp_bucket_take(&p->b[slot], p->sv->rate, p->sv->burst, now)) {
		u->n[R_LIMITED]++;
		if (!p->logged[slot] || now - p->logged[slot] >= UDP_LIMIT_LOG_MS) {
			event(u, src, &dst, p, R_LIMITED, len, 0);
			p->logged[slot] = now ? now : 1;
		}
		return;
	}
	fd_udp_peer_t peer = { u->sip, u->cookie, (uint32_t)time(NULL), family,
			       family == AF_INET ?
			       (const uint8_t *)&((const struct sockaddr_in *)src)->sin_addr :
			       (const uint8_t *)&((const struct sockaddr_in6 *)src)->sin6_addr };
	int m = fd_udp_answer(p->t, &peer, d, len, out, sizeof(out));
	if (m == 0 || m == -FG_ESPACE) {
		u->n[R_NO_MATCH]++;
		event(u, src, &dst, p, R_NO_MATCH, len, 0);
		return;
	}
	if (m < 0) {
		u->n[R_AMP]++;
		event(u, src, &dst, p, R_AMP, len, 0);
		return;
	}
	if (!fd_udp_send_from(fd, src, &dst, out, (size_t)m)) {
		u->n[R_SEND_FAIL]++;
		return;
	}
	u->n[R_ANSWERED]++;
	u->tx += (size_t)m;
	event(u, src, &dst, p, R_ANSWERED, len, (size_t)m);
}

void fd_udp_event(fd_udp_t *u, void *obj)
{
	struct usock *s = obj;
	struct sockaddr_storage self;
	socklen_t sl = sizeof(self);

	if (getsockname(s->fd, (struct sockaddr *)&self, &sl) < 0)
		return;
	unsigned port = ntohs(self.ss_family == AF_INET ?
			      ((struct sockaddr_in *)&self)->sin_port :
			      ((struct sockaddr_in6 *)&self)->sin6_port);
	for (int k = 0; k < UDP_BATCH; k++) {
		uint8_t d[FD_UDP_MAX_PAYLOAD + 1];
		union {
			char b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
			struct cmsghdr align;
		} cb;
		struct sockaddr_storage src;
		struct iovec iov = { d, sizeof(d) };
		struct msghdr mh = { .msg_name = &src, .msg_namelen = sizeof(src),
				     .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
		ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			/* longer than any captured request: cannot match */
			u->rx += (size_t)n;
			u->n[R_NO_MATCH]++;
			continue;
		}
		one_datagram(u, s->fd, self.ss_family, port, &src, &mh, d, (size_t)n);
	}
}

char *fd_udp_metrics(const fd_udp_t *u)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "# HELP fluxdecoy_udp_datagrams_total UDP datagrams to persona "
		   "ports, by what became of them.\n"
		   "# TYPE fluxdecoy_udp_datagrams_total counter\n");
	for (int r = 0; r < R_N; r++)
		fprintf(f, "fluxdecoy_udp_datagrams_total{result=\"%s\"} %llu\n",
			result_names[r], (unsigned long long)(u ? u->n[r] : 0));
	fprintf(f, "# HELP fluxdecoy_udp_received_bytes_total UDP payload bytes "
		   "received.\n# TYPE fluxdecoy_udp_received_bytes_total counter\n"
		   "fluxdecoy_udp_received_bytes_total %llu\n"
		   "# HELP fluxdecoy_udp_sent_bytes_total UDP payload bytes sent.\n"
		   "# TYPE fluxdecoy_udp_sent_bytes_total counter\n"
		   "fluxdecoy_udp_sent_bytes_total %llu\n",
		(unsigned long long)(u ? u->rx : 0), (unsigned long long)(u ? u->tx : 0));
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
