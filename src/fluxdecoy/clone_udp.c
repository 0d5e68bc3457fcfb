/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/udpwire.h"
#include "fluxdecoy/clone_udp.h"

/* nmap-service-probes: Probe UDP DNSVersionBindReq, DNSStatusRequest */
static const uint8_t nmap_version_bind[] = {
	0x00, 0x06, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 4, 'b', 'i', 'n', 'd', 0,
	0x00, 0x10, 0x00, 0x03,
};
static const uint8_t nmap_status[] = {
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* A query as `dig +noedns +noadflag` sends it: RD set, one question. */
static int dns_query(uint8_t *out, size_t cap, const char *name, uint16_t type,
		     uint16_t cls)
{
	fg_wire_t w = fg_wire_init(out, cap);
	static const uint8_t head[12] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01 };
	uint8_t *p = fg_wire_take(&w, sizeof(head), -FG_ESPACE);

	if (p)
		memcpy(p, head, sizeof(head));
	const char *s = name;
	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63)
			return -FG_ELABEL;
		p = fg_wire_take(&w, n + 1, -FG_ESPACE);
		if (p) {
			p[0] = (uint8_t)n;
			memcpy(p + 1, s, n);
		}
		s += n + (dot ? 1 : 0);
	}
	p = fg_wire_take(&w, 5, -FG_ESPACE);
	if (p) {
		p[0] = 0;
		p[1] = (uint8_t)(type >> 8);
		p[2] = (uint8_t)type;
		p[3] = (uint8_t)(cls >> 8);
		p[4] = (uint8_t)cls;
	}
	return w.err ? w.err : (int)w.pos;
}

static void hex(FILE *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%02x", p[i]);
}

/* One exchange on connected socket fd: the reply with the request's ID. */
static int exchange(int fd, const uint8_t *q, size_t qn, uint8_t *r, size_t cap,
		    unsigned timeout_s)
{
	if (send(fd, q, qn, 0) != (ssize_t)qn)
		return -errno;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = (long)timeout_s * 1000 - ((t.tv_sec - t0.tv_sec) * 1000 +
						      (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t n = recv(fd, r, cap, MSG_TRUNC);
		if (n < 0)
			return -errno;   /* e.g. ECONNREFUSED: the port is closed */
		if ((size_t)n > cap)
			return -FG_ESPACE;
		if (n >= 2 && memcmp(r, q, 2) == 0)
			return (int)n;
	}
}

int fd_clone_udp(FILE *o, const char *addr, unsigned port, const char *zone,
		 unsigned timeout_s)
{
	struct probe { uint8_t q[300]; int n; } pr[6];
	size_t np = 0;
	uint8_t rep[6][FD_UDP_MAX_PAYLOAD];
	int rn[6];

	if (port != 53)
		return -ENOTSUP;
	memcpy(pr[np].q, nmap_version_bind, sizeof(nmap_version_bind));
	pr[np++].n = (int)sizeof(nmap_version_bind);
	memcpy(pr[np].q, nmap_status, sizeof(nmap_status));
	pr[np++].n = (int)sizeof(nmap_status);
	pr[np].n = dns_query(pr[np].q, sizeof(pr[np].q), "id.server", 16, 3);
	np++;
	pr[np].n = dns_query(pr[np].q, sizeof(pr[np].q), "hostname.bind", 16, 3);
	np++;
	if (zone) {
		pr[np].n = dns_query(pr[np].q, sizeof(pr[np].q), zone, 6, 1);
		np++;
		pr[np].n = dns_query(pr[np].q, sizeof(pr[np].q), zone, 2, 1);
		np++;
	}
	for (size_t i = 0; i < np; i++)
		if (pr[i].n < 0)
			return pr[i].n;

	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(addr, ps, &hints, &ai) != 0)
		return -EINVAL;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int rc = -errno;
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	freeaddrinfo(ai);
	unsigned amp = 1;
	size_t answered = 0;
	for (size_t i = 0; i < np; i++) {
		rn[i] = exchange(fd, pr[i].q, (size_t)pr[i].n, rep[i], sizeof(rep[i]),
				 timeout_s);
		if (rn[i] == -ECONNREFUSED)
			break;
		if (rn[i] <= 0)
			continue;
		unsigned need = (unsigned)((rn[i] + pr[i].n - 1) / pr[i].n);
		if (need > FD_UDP_MAX_AMP) {
			fprintf(stderr, "fluxdecoy clone: udp/%u: a reply of %d octets to "
				"a request of %d is over amplification %d: left out\n",
				port, rn[i], pr[i].n, FD_UDP_MAX_AMP);
			rn[i] = 0;
			continue;
		}
		if (need > amp)
			amp = need;
		answered++;
	}
	close(fd);
	if (!answered)
		return -ETIMEDOUT;
	fprintf(o, "  - port: %u\n"
		   "    # the longest captured reply over its request: the decoy\n"
		   "    # never answers with more than this many bytes per byte\n"
		   "    amplification: %u\n    replies:\n", port, amp);
	for (size_t i = 0; i < np; i++) {
		if (rn[i] <= 0)
			continue;
		fprintf(o, "      - request: \"");
		hex(o, pr[i].q, (size_t)pr[i].n);
		fprintf(o, "\"\n        reply: \"");
		hex(o, rep[i], (size_t)rn[i]);
		fprintf(o, "\"\n        copy-id: 2\n");
	}
	return 0;
}
