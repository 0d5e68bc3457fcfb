/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/nmapprobes.h"
#include "decoy/udpwire.h"
#include "fluxdecoy/clone_udp.h"

/* How a DNS probe is asked (the forms of dig and kdig). */
enum { Q_RD = 1, Q_EDNS = 2, Q_DO = 4, Q_V1 = 8 /* EDNS version 1 */ };

/* A query as dig 9.18 sends it: AD set, RD per `form`; with Q_EDNS an OPT
 * of 1232 octets with a client cookie (dig's default), DO per Q_DO. */
static int dns_query(uint8_t *out, size_t cap, uint16_t id, const char *name,
		     uint16_t type, uint16_t cls, unsigned form, const uint8_t cookie[8])
{
	fg_wire_t w = fg_wire_init(out, cap);

	fg_wire_write_u16(&w, id);
	fg_wire_write_u16(&w, (form & Q_RD) ? 0x0120 : 0x0020);
	fg_wire_write_u16(&w, 1);
	fg_wire_write_u16(&w, 0);
	fg_wire_write_u16(&w, 0);
	fg_wire_write_u16(&w, (form & Q_EDNS) ? 1 : 0);
	const char *s = name;
	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63)
			return -FG_ELABEL;
		fg_wire_write_u8(&w, (uint8_t)n);
		fg_wire_write(&w, s, n);
		s += n + (dot ? 1 : 0);
	}
	fg_wire_write_u8(&w, 0);
	fg_wire_write_u16(&w, type);
	fg_wire_write_u16(&w, cls);
	if (form & Q_EDNS) {
		fg_wire_write_u8(&w, 0);
		fg_wire_write_u16(&w, 41);
		fg_wire_write_u16(&w, 1232);
		fg_wire_write_u32(&w, ((form & Q_DO) ? 0x8000u : 0) |
				      ((form & Q_V1) ? 0x10000u : 0));
		fg_wire_write_u16(&w, 12);
		fg_wire_write_u16(&w, 10);      /* COOKIE: the client's, 8 octets */
		fg_wire_write_u16(&w, 8);
		fg_wire_write(&w, cookie, 8);
	}
	return w.err ? w.err : (int)w.pos;
}

static void hex(FILE *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%02x", p[i]);
}

/* One exchange on connected socket fd: the first reply (for DNS, the
 * first with the request's ID). */
static int exchange(int fd, const uint8_t *q, size_t qn, uint8_t *r, size_t cap,
		    unsigned timeout_s, bool dns)
{
	/* a late answer to an earlier probe is not this one's */
	for (int i = 0; i < 64 && recv(fd, r, cap, MSG_DONTWAIT) >= 0; i++)
		;
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
		if (!dns || (n >= 2 && qn >= 2 && memcmp(r, q, 2) == 0))
			return (int)n;
	}
}

struct probe {
	uint8_t q[FD_UDP_MAX_PAYLOAD];
	int n;
	enum fd_udp_match match;
	unsigned copy_id;
	unsigned shrink;        /* octets a template's question may be shorter */
	unsigned pace_ms;       /* wait this long before sending it */
	uint8_t r[FD_UDP_MAX_PAYLOAD];
	int rn;
};

typedef struct probes {
	struct probe p[FD_UDP_MAX_REPLIES];
	size_t n;
	int err;
} probes_t;

static struct probe *add(probes_t *ps, enum fd_udp_match m, unsigned copy_id)
{
	if (ps->n >= FD_UDP_MAX_REPLIES) {
		ps->err = -FG_ESPACE;
		return NULL;
	}
	struct probe *p = &ps->p[ps->n++];
	memset(p, 0, sizeof(*p));
	p->match = m;
	p->copy_id = copy_id;
	return p;
}

static void add_raw(probes_t *ps, const uint8_t *q, size_t n, enum fd_udp_match m,
		    unsigned copy_id)
{
	struct probe *p = add(ps, m, copy_id);

	if (p) {
		memcpy(p->q, q, n);
		p->n = (int)n;
	}
}

static void add_dns(probes_t *ps, const char *name, uint16_t type, uint16_t cls,
		    unsigned form, enum fd_udp_match m, const uint8_t cookie[8])
{
	struct probe *p = add(ps, m, 2);

	if (!p)
		return;
	/* an ID per probe: a late reply to one is never taken for the next's */
	p->n = dns_query(p->q, sizeof(p->q), (uint16_t)(0x1234 + ps->n), name, type,
			 cls, form, cookie);
	if (cls == 3)
		p->pace_ms = 400;
	if (p->n < 0)
		ps->err = p->n;
	else if (m == FD_UDP_NXDOMAIN)
		p->shrink = p->q[12] - 1u;      /* the first label, down to one octet */
	else if (m == FD_UDP_OTHER)
		p->shrink = (unsigned)strlen(name);  /* down to the root: its wire
						      * form is strlen + 2 octets */
}

/* The DNS probe set, after nmap's: each name in the forms dig and kdig
 * send, and the templates for the questions nobody
 * captured (a random name below the zone, a type its apex lacks, a name
 * outside it). */
static void dns_probes(probes_t *ps, const char *zone, const char *names)
{
	static const unsigned forms[] = { Q_RD, 0, Q_RD | Q_EDNS, Q_EDNS, Q_RD | Q_EDNS | Q_DO };
	static const unsigned tforms[] = { Q_RD, Q_RD | Q_EDNS, Q_RD | Q_EDNS | Q_DO };
	uint8_t cookie[8], rnd[6];
	char nx[300], out[300];

	if (RAND_bytes(cookie, sizeof(cookie)) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ps->err = -EIO;
		return;
	}
	struct { const char *name; uint16_t type, cls; } nm[] = {
		{ "version.bind", 16, 3 }, { "id.server", 16, 3 }, { "hostname.bind", 16, 3 },
		{ zone, 6, 1 }, { zone, 2, 1 },
	};
	size_t nn = zone ? 5 : 3;
	for (size_t i = 0; i < nn; i++)
		for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
			add_dns(ps, nm[i].name, nm[i].type, nm[i].cls, forms[f],
				FD_UDP_QUESTION, cookie);
	/* --names: A and AAAA of each, relative to the zone */
	for (const char *p = names; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char full[300];
		if (l == 0 || l > 253) {
			ps->err = -FG_ENAME;
			return;
		}
		if (p[l - 1] == '.')
			snprintf(full, sizeof(full), "%.*s", (int)(l - 1), p);
		else
			snprintf(full, sizeof(full), "%.*s.%s", (int)l, p, zone);
		for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
			add_dns(ps, full, 1, 1, forms[f], FD_UDP_QUESTION, cookie);
			add_dns(ps, full, 28, 1, forms[f], FD_UDP_QUESTION, cookie);
		}
		p = c ? c + 1 : p + l;
	}
	snprintf(nx, sizeof(nx), "fd%02x%02x%02x%02x%02x%02x.%s", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5], zone ? zone : "");
	snprintf(out, sizeof(out), "fd%02x%02x%02x%02x%02x%02x.invalid", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5]);
	for (size_t f = 0; f < sizeof(tforms) / sizeof(tforms[0]); f++) {
		if (zone) {
			add_dns(ps, nx, 1, 1, tforms[f], FD_UDP_NXDOMAIN, cookie);
			/* NULL (10): a type no apex has, so the answer is NODATA */
			add_dns(ps, zone, 10, 1, tforms[f], FD_UDP_NODATA, cookie);
		}
		add_dns(ps, out, 1, 1, tforms[f], FD_UDP_OTHER, cookie);
	}
	/* an EDNS version the server does not know (dig +edns=1 +noednsneg) */
	add_dns(ps, zone ? zone : "version.bind", zone ? 6 : 16, zone ? 1 : 3,
		Q_RD | Q_EDNS | Q_V1, FD_UDP_BADVERS, cookie);
	add_dns(ps, zone ? zone : "version.bind", zone ? 6 : 16, zone ? 1 : 3,
		Q_RD | Q_EDNS | Q_DO | Q_V1, FD_UDP_BADVERS, cookie);
}

/* nmap's own UDP probes for port (decoy/nmapprobes.h), from the installed
 * nmap's data file, byte for byte (`match: exact`; a DNS port's copy the
 * ID), then the generic "\r\n" nmap-like scanners send. An empty probe is
 * left out: no reply is within an amplification bound of nothing. */
static int nmap_probes(probes_t *ps, const char *file, unsigned port)
{
	FILE *f = fopen(file, "re");
	static fd_nmap_probe_t np[FD_UDP_MAX_REPLIES];
	char err[160];

	if (!f) {
		int rc = -errno;
		fprintf(stderr, "fluxdecoy clone: %s: %s\n", file, strerror(errno));
		return rc;
	}
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	size_t got;
	while ((got = fread(text + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			char *bigger = cap < (64u << 20) ? realloc(text, cap * 2) : NULL;
			if (!bigger) {
				free(text);
				fclose(f);
				return -EFBIG;
			}
			text = bigger;
			cap *= 2;
		}
	}
	fclose(f);
	int n = fd_nmap_udp_probes(text, len, port, np, FD_UDP_MAX_REPLIES / 2, err,
				   sizeof(err));
	free(text);
	if (n < 0) {
		fprintf(stderr, "fluxdecoy clone: %s: %s\n", file, err);
		return n;
	}
	for (int i = 0; i < n; i++) {
		if (np[i].n == 0) {
			fprintf(stderr, "fluxdecoy clone: udp/%u: nmap's probe %s is empty: "
				"left out (no reply is within an amplification bound "
				"of nothing)\n", port, np[i].name);
			continue;
		}
		add_raw(ps, np[i].q, np[i].n, FD_UDP_EXACT, port == 53 ? 2 : 0);
	}
	add_raw(ps, (const uint8_t *)"\r\n", 2, FD_UDP_EXACT, 0);
	return n;
}

int fd_clone_udp(FILE *o, const char *addr, unsigned port, const char *zone,
		 const char *names, unsigned timeout_s)
{
	probes_t *ps = calloc(1, sizeof(*ps));
	int rc = 0;

	if (!ps)
		return -ENOMEM;
	rc = nmap_probes(ps, FD_NMAP_PROBES, port);
	if (rc >= 0 && port == 53)
		dns_probes(ps, zone, names);
	else if (rc == 0)
		rc = -ENOTSUP;          /* nmap has no probe for this port */
	if (rc > 0)
		rc = 0;
	if (!rc && ps->err)
		rc = ps->err;
	if (rc) {
		free(ps);
		return rc;
	}

	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai;
	char pstr[8];
	snprintf(pstr, sizeof(pstr), "%u", port);
	if (getaddrinfo(addr, pstr, &hints, &ai) != 0) {
		free(ps);
		return -EINVAL;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		rc = -errno;
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		free(ps);
		return rc;
	}
	freeaddrinfo(ai);
	unsigned amp = 1;
	size_t answered = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct probe *p = &ps->p[i];
		if (p->pace_ms) {
			/* named limits its CHAOS answers (the _bind view's
			 * rate-limit: 3 a second per name and client /24) */
			struct timespec ts = { 0, (long)p->pace_ms * 1000000L };
			nanosleep(&ts, NULL);
		}
		p->rn = exchange(fd, p->q, (size_t)p->n, p->r, sizeof(p->r), timeout_s,
				 port == 53);
		/* a DNS server answers every question (an rcode at least): a
		 * lost datagram or a rate-limited answer gets one more try,
		 * after a second, or the decoy would be silent to that form */
		if (p->rn == -ETIMEDOUT && p->match != FD_UDP_EXACT) {
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
			p->rn = exchange(fd, p->q, (size_t)p->n, p->r, sizeof(p->r),
					 timeout_s, true);
		}
		if (p->rn == -ECONNREFUSED)
			break;
		if (p->rn <= 0)
			continue;
		char why[160];
		if (fd_udp_dns_check(p->match, p->q, (size_t)p->n, p->r, (size_t)p->rn,
				     why, sizeof(why)) < 0) {
			fprintf(stderr, "fluxdecoy clone: udp/%u: an answer the decoy "
				"cannot render for its question: left out (%s)\n",
				port, why);
			p->rn = 0;
			continue;
		}
		/* the bound must hold for the shortest query a template answers
		 * too: its question shorter by `shrink`, the reply as much */
		unsigned qn = (unsigned)p->n - p->shrink, rn = (unsigned)p->rn - p->shrink;
		unsigned need = (rn + qn - 1) / qn;
		if (need > FD_UDP_MAX_AMP) {
			fprintf(stderr, "fluxdecoy clone: udp/%u: a reply of %d octets to "
				"a request of %d is over amplification %d: left out\n",
				port, p->rn, p->n, FD_UDP_MAX_AMP);
			p->rn = 0;
			continue;
		}
		if (need > amp)
			amp = need;
		answered++;
	}
	close(fd);
	if (!answered) {
		free(ps);
		return -ETIMEDOUT;
	}
	fprintf(o, "  - port: %u\n"
		   "    # the longest captured reply over its request: the decoy\n"
		   "    # never answers with more than this many bytes per byte\n"
		   "    amplification: %u\n    replies:\n", port, amp);
	for (size_t i = 0; i < ps->n; i++) {
		const struct probe *p = &ps->p[i];
		if (p->rn <= 0)
			continue;
		fprintf(o, "      - request: \"");
		hex(o, p->q, (size_t)p->n);
		fprintf(o, "\"\n        reply: \"");
		hex(o, p->r, (size_t)p->rn);
		fprintf(o, "\"\n");
		if (p->match == FD_UDP_EXACT)
			fprintf(o, "        copy-id: %u\n", p->copy_id);
		else
			fprintf(o, "        match: %s\n", fd_udp_match_name(p->match));
	}
	free(ps);
	return 0;
}
