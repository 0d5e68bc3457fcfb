/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Client-side DNS latency meter for bench/grant/run.sh.
 *
 * Keeps OUT queries in flight on one UDP socket (closed loop), stamps each
 * query when it is sent and its answer when it is received
 * (CLOCK_MONOTONIC), and prints the latency percentiles of the answered
 * queries. With a granted name every answer carries a fresh grant that the
 * daemon committed to the kernel before answering, so this is query sent ->
 * answer received: the grant latency seen by a client, network and client
 * overhead included (a few microseconds on a veth).
 *
 *   grant_lat -s SERVER -n NAME [-t A|AAAA] [-c COUNT | -d SECONDS]
 *             [-q OUTSTANDING] [-r RATE] [-D] [-b SOURCE | -P PREFIX]
 *
 * -D: queries carry EDNS with DO=1 (signed answers from a signed zone).
 * -r: send at most RATE queries/s (paced from the start; OUTSTANDING still
 * bounds the queries in flight).
 *
 * -P: each query from a fresh random source of PREFIX, so that every answer
 * makes a new exact grant: with an IPv6 server the /64 PREFIX (its low 64
 * bits from getrandom), with an IPv4 one the /16 PREFIX (its low 16 bits).
 * The caller routes the prefix to this host and makes it local here (ip
 * route add local PREFIX dev lo); the socket uses FREEBIND.
 *
 * Output, one line:
 *   sent=N answered=N with_addr=N lost=N secs=S qps=Q p50_us=.. p90_us=..
 *   p99_us=.. p999_us=.. max_us=..
 * with_addr: NOERROR answers holding an address of the asked type.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/netns/tools/dns_stub.h"

#define MAXOUT 4096
#define TIMEOUT_NS 2000000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -1;
}

/* 1 when a NOERROR answer holds a record of qtype */
static int has_addr(const uint8_t *m, size_t len, uint16_t qtype)
{
	const uint8_t *rd;
	return dns_stub_find(m, len, qtype, &rd) >= 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *name = NULL, *src = NULL, *pfx = NULL;
	uint16_t qtype = 1;
	long count = 0;
	double secs = 0;
	int out = 1, opt;
	double rate = 0;
	int dobit = 0;

	while ((opt = getopt(argc, argv, "s:n:t:c:d:q:b:P:r:D")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'n': name = optarg; break;
		case 't': qtype = strcmp(optarg, "AAAA") == 0 ? 28 : 1; break;
		case 'c': count = strtol(optarg, NULL, 10); break;
		case 'd': secs = strtod(optarg, NULL); break;
		case 'q': out = atoi(optarg); break;
		case 'b': src = optarg; break;
		case 'P': pfx = optarg; break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'D': dobit = 1; break;
		default: goto usage;
		}
	}
	if (!server || !name || (count <= 0 && secs <= 0) || out < 1 || out > MAXOUT)
		goto usage;

	struct sockaddr_storage ss, bs;
	socklen_t slen, blen;
	int fam = parse_addr(server, 53, &ss, &slen);
	if (fam < 0 || (src && parse_addr(src, 0, &bs, &blen) != fam))
		goto usage;
	struct in6_addr p6;
	struct in_addr p4;
	if (pfx && (src || inet_pton(fam, pfx, fam == AF_INET6 ? (void *)&p6 : (void *)&p4) != 1))
		goto usage;
	int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int buf = 4 << 20, one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (pfx) {
		/* unconnected: answers come back to many addresses */
		if (fd < 0 || (fam == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one))
					       : setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one))) < 0) {
			perror("socket");
			return 1;
		}
	} else if (fd < 0 || (src && bind(fd, (struct sockaddr *)&bs, blen) < 0) ||
		   connect(fd, (struct sockaddr *)&ss, slen) < 0) {
		perror("socket");
		return 1;
	}
	uint64_t rnd[256];
	unsigned rnd_left = 0;

	uint8_t q[300];
	size_t qn = dns_stub_query(q, 0, name, qtype);   /* id set per query */
	if (dobit) {
		/* OPT: root owner, type 41, payload 1232, DO, no options */
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
		memcpy(q + qn, opt, sizeof(opt));
		qn += sizeof(opt);
		q[10] = 0;
		q[11] = 1;
	}

	/* slot i of the ring is query id i; a slot is busy while in flight */
	static uint64_t sent_at[65536];
	static uint8_t busy[65536];
	size_t cap = count > 0 ? (size_t)count : 1 << 20, nlat = 0;
	uint32_t *lat = malloc(cap * sizeof(*lat));
	if (!lat)
		return 1;
	long sent = 0, answered = 0, with_addr = 0, lost = 0;
	int inflight = 0;
	uint16_t next_id = 0;
	uint64_t t0 = now_ns(), end = secs > 0 ? t0 + (uint64_t)(secs * 1e9) : UINT64_MAX;
	uint64_t last_sweep = t0;
	uint8_t r[4096];

	for (;;) {
		uint64_t t = now_ns();
		int more = (count > 0 ? sent < count : 1) && t < end;
		while (more && inflight < out &&
		       (rate <= 0 || (double)sent < rate * (double)(t - t0) / 1e9 + 1)) {
			while (busy[next_id])
				next_id++;
			q[0] = (uint8_t)(next_id >> 8);
			q[1] = (uint8_t)next_id;
			ssize_t sk;
			if (pfx) {
				union {
					struct cmsghdr c;
					uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
				} ctl;
				if (!rnd_left) {
					if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
						return 1;
					rnd_left = 256;
				}
				uint64_t rv = rnd[--rnd_left];
				struct iovec iov = { q, qn };
				struct msghdr mh = { .msg_name = &ss, .msg_namelen = slen, .msg_iov = &iov,
						     .msg_iovlen = 1, .msg_control = ctl.b,
						     .msg_controllen = sizeof(ctl.b) };
				struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
				if (fam == AF_INET6) {
					struct in6_pktinfo pi;
					memset(&pi, 0, sizeof(pi));
					memcpy(&pi.ipi6_addr, &p6, 8);
					memcpy((uint8_t *)&pi.ipi6_addr + 8, &rv, 8);
					mh.msg_controllen = CMSG_SPACE(sizeof(pi));
					c->cmsg_level = IPPROTO_IPV6;
					c->cmsg_type = IPV6_PKTINFO;
					c->cmsg_len = CMSG_LEN(sizeof(pi));
					memcpy(CMSG_DATA(c), &pi, sizeof(pi));
				} else {
					/* a host of the /16: not .0.0 nor .255.255 */
					uint32_t h = (uint32_t)(rv % 65534u) + 1u;
					struct in_pktinfo pi;
					memset(&pi, 0, sizeof(pi));
					pi.ipi_spec_dst.s_addr = htonl((ntohl(p4.s_addr) & 0xffff0000u) | h);
					mh.msg_controllen = CMSG_SPACE(sizeof(pi));
					c->cmsg_level = IPPROTO_IP;
					c->cmsg_type = IP_PKTINFO;
					c->cmsg_len = CMSG_LEN(sizeof(pi));
					memcpy(CMSG_DATA(c), &pi, sizeof(pi));
				}
				sk = sendmsg(fd, &mh, 0);
			} else {
				sk = send(fd, q, qn, 0);
			}
			if (sk != (ssize_t)qn) {
				if (errno == EAGAIN || errno == ENOBUFS)
					break;
				perror("send");
				return 1;
			}
			sent_at[next_id] = now_ns();
			busy[next_id] = 1;
			next_id++;
			inflight++;
			sent++;
			more = (count > 0 ? sent < count : 1) && t < end;
		}
		if (!inflight && !more)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, rate > 0 ? 1 : 50);
		for (;;) {
			ssize_t k = recv(fd, r, sizeof(r), 0);
			if (k < 12)
				break;
			uint64_t ta = now_ns();
			uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
			if (!busy[id])
				continue; /* late answer to a query counted lost */
			busy[id] = 0;
			inflight--;
			answered++;
			with_addr += has_addr(r, (size_t)k, qtype);
			if (nlat == cap) {
				cap *= 2;
				uint32_t *nl = realloc(lat, cap * sizeof(*lat));
				if (!nl)
					return 1;
				lat = nl;
			}
			uint64_t d = (ta - sent_at[id]) / 1000u;
			lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		}
		t = now_ns();
		if (t - last_sweep > 100000000ull) {
			for (unsigned i = 0; i < 65536; i++)
				if (busy[i] && t - sent_at[i] > TIMEOUT_NS) {
					busy[i] = 0;
					inflight--;
					lost++;
				}
			last_sweep = t;
		}
	}
	double el = (double)(now_ns() - t0) / 1e9;
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
#define PCT(x) (nlat ? lat[(size_t)((double)(nlat - 1) * (x))] : 0u)
	printf("sent=%ld answered=%ld with_addr=%ld lost=%ld secs=%.2f qps=%.0f p50_us=%u p90_us=%u p99_us=%u p999_us=%u max_us=%u\n",
	       sent, answered, with_addr, lost, el, (double)answered / el, PCT(0.50), PCT(0.90),
	       PCT(0.99), PCT(0.999), nlat ? lat[nlat - 1] : 0u);
	return 0;
usage:
	fprintf(stderr, "usage: grant_lat -s SERVER -n NAME [-t A|AAAA] [-c COUNT | -d SECONDS] [-q OUTSTANDING] [-r RATE] [-D] [-b SOURCE | -P PREFIX]\n");
	return 2;
}
