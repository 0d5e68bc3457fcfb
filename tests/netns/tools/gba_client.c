/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Grant-before-answer client for tests/netns/centralized.sh.
 *
 * For each session: send one DNS query (UDP) for NAME straight to the
 * authoritative SERVER from a source address, take the first A/AAAA of the
 * answer and, with no delay at all, connect from the same source to that
 * address on PORT and GET "/". The body tells where the session landed.
 *
 * usage: gba_client -s SERVER -n NAME [-t A|AAAA] [-c COUNT] [-p PORT]
 *                   -b SRC[,SRC...]
 * Prints one summary line:
 *   sessions=N real=N decoy=N failed=N dnsfail=N maxdns_us=N
 * (failed: the DNS answer came but the connection or the GET did not work;
 * dnsfail: no usable DNS answer after 3 tries of 2 s). Exit 0 always when
 * the arguments were valid; the caller judges the figures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dns_stub.h"

typedef struct {
	int family;
	struct sockaddr_storage ss;
	socklen_t len;
} addr_t;

static int parse_addr(const char *s, uint16_t port, addr_t *a)
{
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		a->family = AF_INET;
		a->len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		a->family = AF_INET6;
		a->len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* First record of type qtype in the answer section: copies its rdata. */
static int parse_answer(const uint8_t *m, size_t len, uint16_t id, uint16_t qtype,
			uint8_t *out, size_t alen)
{
	const uint8_t *rd;
	if (len < 12 || ((m[0] << 8) | m[1]) != id)
		return -1;
	if (dns_stub_find(m, len, qtype, &rd) != (int)alen)
		return -1;
	memcpy(out, rd, alen);
	return 0;
}

static int lookup(const addr_t *src, const addr_t *srv, const char *name, uint16_t qtype,
		  uint8_t *out, size_t alen)
{
	int fd = socket(srv->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint8_t q[512], r[4096];
	int rc = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)&src->ss, src->len) < 0 ||
	    connect(fd, (const struct sockaddr *)&srv->ss, srv->len) < 0)
		goto out;
	for (int attempt = 0; attempt < 3 && rc < 0; attempt++) {
		uint16_t id = (uint16_t)random();
		size_t qn = dns_stub_query(q, id, name, qtype);
		if (send(fd, q, qn, 0) != (ssize_t)qn)
			continue;
		uint64_t deadline = now_us() + 2000000u;
		while (rc < 0) {
			uint64_t t = now_us();
			if (t >= deadline)
				break;
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, (int)((deadline - t) / 1000u) + 1) <= 0)
				break;
			ssize_t k = recv(fd, r, sizeof(r), 0);
			if (k > 0)
				rc = parse_answer(r, (size_t)k, id, qtype, out, alen);
			/* a late answer to an earlier try has another id: ignored */
		}
	}
out:
	close(fd);
	return rc;
}

/* 0 real, 1 decoy, -1 failed */
static int session(const addr_t *src, const addr_t *dst)
{
	int fd = socket(dst->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 3 };
	char buf[4096];
	size_t got = 0;
	int res = -1;
	static const char req[] = "GET / HTTP/1.0\r\nHost: www.example.test\r\n\r\n";

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	addr_t s = *src;
	if (s.family == AF_INET)
		((struct sockaddr_in *)&s.ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&s.ss)->sin6_port = 0;
	if (bind(fd, (struct sockaddr *)&s.ss, s.len) < 0 ||
	    connect(fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		goto out;
	for (;;) {
		ssize_t k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		got += (size_t)k;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = 0;
	char *body = strstr(buf, "\r\n\r\n");
	if (!body || strncmp(buf, "HTTP/1.", 7) != 0)
		goto out;
	body += 4;
	if (!strncmp(body, "real", 4))
		res = 0;
	else if (!strncmp(body, "decoy", 5))
		res = 1;
out:
	close(fd);
	return res;
}

int main(int argc, char **argv)
{
	const char *server = NULL, *name = NULL, *srcs = NULL;
	uint16_t qtype = 1, port = 80;
	long count = 1000;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:t:c:p:b:")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'n': name = optarg; break;
		case 't': qtype = strcmp(optarg, "AAAA") == 0 ? 28 : 1; break;
		case 'c': count = strtol(optarg, NULL, 10); break;
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'b': srcs = optarg; break;
		default: goto usage;
		}
	}
	if (!server || !name || !srcs || count < 1)
		goto usage;
	addr_t srv, src[64];
	size_t nsrc = 0;
	if (parse_addr(server, 53, &srv) < 0)
		goto usage;
	char *list = strdup(srcs), *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t && nsrc < 64; t = strtok_r(NULL, ",", &save))
		if (parse_addr(t, 0, &src[nsrc++]) < 0 || src[nsrc - 1].family != srv.family)
			goto usage;
	free(list);
	if (!nsrc)
		goto usage;
	srandom((unsigned)(now_us() ^ (uint64_t)getpid()));

	size_t alen = qtype == 28 ? 16 : 4;
	long real = 0, decoy = 0, failed = 0, dnsfail = 0;
	uint64_t maxdns = 0;
	for (long i = 0; i < count; i++) {
		const addr_t *s = &src[(size_t)i % nsrc];
		uint8_t a[16];
		char txt[INET6_ADDRSTRLEN];
		uint64_t t0 = now_us();
		if (lookup(s, &srv, name, qtype, a, alen) < 0) {
			dnsfail++;
			continue;
		}
		if (now_us() - t0 > maxdns)
			maxdns = now_us() - t0;
		/* no delay: connect right after the answer */
		inet_ntop(srv.family, a, txt, sizeof(txt));
		addr_t dst;
		parse_addr(txt, port, &dst);
		switch (session(s, &dst)) {
		case 0: real++; break;
		case 1: decoy++; break;
		default: failed++; break;
		}
	}
	printf("sessions=%ld real=%ld decoy=%ld failed=%ld dnsfail=%ld maxdns_us=%llu\n",
	       count, real, decoy, failed, dnsfail, (unsigned long long)maxdns);
	return 0;
usage:
	fprintf(stderr, "usage: gba_client -s SERVER -n NAME [-t A|AAAA] [-c COUNT] [-p PORT] -b SRC[,SRC...]\n");
	return 2;
}
