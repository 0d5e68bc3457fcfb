/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab floods, after the DDoS workbench's generators: DNS query floods
 * at fluxgated; SYN floods, TCP floods with the Flooder's flag choices, UDP
 * and ICMP echo floods with drawn packet sizes at the pool; flat / pulse / ramp-up /
 * ramp-down dynamics and optional source spoofing (random sources inside
 * the attacker's own /16, so every reply stays inside the lab). Always
 * bounded: the rate is capped by the parser and the flood stops at its end
 * time or the end of the run.
 */
#include "fluxlab/lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double flood_rate_at(const lab_attack_t *a, double t, double dur)
{
	if (t < 0 || (dur > 0 && t >= dur))
		return 0;
	switch (a->dynamics) {
	case LAB_DYN_FLAT: return a->rate;
	case LAB_DYN_PULSE: {
		double per = a->period_ms / 1000.0;
		return fmod(t, per) < a->duty * per ? a->rate : 0;
	}
	case LAB_DYN_RAMP_UP: return dur > 0 ? a->rate * t / dur : a->rate;
	case LAB_DYN_RAMP_DOWN: return dur > 0 ? a->rate * (1 - t / dur) : a->rate;
	}
	return 0;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t build_ip(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto, size_t payload, uint16_t id)
{
	memset(b, 0, 20);
	b[0] = 0x45;
	uint16_t tot = (uint16_t)(20 + payload);
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[8] = 64;
	b[9] = proto;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(b + 12, &s, 4);
	memcpy(b + 16, &d, 4);
	uint16_t c = csum(b, 20, 0);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	return 20;
}

static uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (uint32_t)len;
}

static size_t build_dns(uint8_t *b, uint16_t id)
{
	static const uint8_t q[] = { 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				     3, 'w', 'w', 'w', 3, 'l', 'a', 'b', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	memcpy(b + 2, q, sizeof q);
	return 2 + sizeof q;
}

#define FLOOD_PAYLOAD_MAX 1400   /* drawn sizes are clamped to one MTU */

static size_t draw_size(const lab_flood_cfg_t *c, uint64_t *rng, size_t dflt)
{
	if (!c->a->size_set)
		return dflt;
	double v = lab_sample(&c->a->size, rng);
	return v < 0 ? 0 : v > FLOOD_PAYLOAD_MAX ? FLOOD_PAYLOAD_MAX : (size_t)v;
}

/* one packet into b; returns its length (with IP header when raw) */
static size_t make_packet(const lab_flood_cfg_t *c, uint8_t *b, uint64_t *rng, uint32_t *dst_out,
			  bool raw)
{
	const lab_run_t *r = c->run;
	uint32_t src = c->src_net + 2 + (uint32_t)(lab_rand(rng) % 65000);
	if (c->a->kind == LAB_ATK_DNS_FLOOD) {
		uint32_t dst = LAB_GW_ATK;
		*dst_out = dst;
		if (!raw)
			return build_dns(b, (uint16_t)lab_rand(rng));
		uint8_t *u = b + 20;
		size_t dl = build_dns(u + 8, (uint16_t)lab_rand(rng));
		uint16_t sport = (uint16_t)(1024 + lab_rand(rng) % 60000), ul = (uint16_t)(8 + dl);
		u[0] = (uint8_t)(sport >> 8); u[1] = (uint8_t)sport;
		u[2] = 0; u[3] = 53;
		u[4] = (uint8_t)(ul >> 8); u[5] = (uint8_t)ul;
		u[6] = u[7] = 0;
		uint16_t cs = csum(u, ul, pseudo(src, dst, IPPROTO_UDP, ul));
		u[6] = (uint8_t)(cs >> 8); u[7] = (uint8_t)cs;
		build_ip(b, src, dst, IPPROTO_UDP, ul, (uint16_t)lab_rand(rng));
		return 20u + ul;
	}
	/* SYN/TCP/UDP/ICMP floods: a random pool address */
	uint32_t dst = r->pool_base + (uint32_t)(lab_rand(rng) % r->pool_size);
	if (!c->a->spoof)
		src = c->src_net + 2;
	*dst_out = dst;
	uint8_t *t = b + 20;
	size_t pl;
	if (c->a->kind == LAB_ATK_UDP_FLOOD) {
		pl = draw_size(c, rng, 64);
		uint16_t sport = (uint16_t)(1024 + lab_rand(rng) % 60000), dport = (uint16_t)c->a->port;
		uint16_t ul = (uint16_t)(8 + pl);
		t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
		t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
		t[4] = (uint8_t)(ul >> 8); t[5] = (uint8_t)ul;
		t[6] = t[7] = 0;
		memset(t + 8, 0x5a, pl);
		uint16_t cs = csum(t, ul, pseudo(src, dst, IPPROTO_UDP, ul));
		t[6] = (uint8_t)(cs >> 8); t[7] = (uint8_t)cs;
		build_ip(b, src, dst, IPPROTO_UDP, ul, (uint16_t)lab_rand(rng));
		return 20u + ul;
	}
	if (c->a->kind == LAB_ATK_ICMP_FLOOD) {
		pl = draw_size(c, rng, 56);
		uint16_t id = (uint16_t)lab_rand(rng), il = (uint16_t)(8 + pl);
		t[0] = 8; t[1] = 0; t[2] = t[3] = 0;   /* echo request */
		t[4] = (uint8_t)(id >> 8); t[5] = (uint8_t)id; t[6] = 0; t[7] = 1;
		memset(t + 8, 0x5a, pl);
		uint16_t cs = csum(t, il, 0);
		t[2] = (uint8_t)(cs >> 8); t[3] = (uint8_t)cs;
		build_ip(b, src, dst, IPPROTO_ICMP, il, (uint16_t)lab_rand(rng));
		return 20u + il;
	}
	pl = c->a->kind == LAB_ATK_TCP_FLOOD ? draw_size(c, rng, 0) : 0;
	uint16_t tl = (uint16_t)(20 + pl);
	memset(t, 0, 20);
	uint16_t sport = (uint16_t)(1024 + lab_rand(rng) % 60000), dport = (uint16_t)c->a->port;
	uint32_t seq = (uint32_t)lab_rand(rng), ack = (uint32_t)lab_rand(rng);
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8); t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
	t[12] = 5 << 4;
	/* the Flooder's flag choices: one of the configured sets per packet */
	t[13] = c->a->kind == LAB_ATK_TCP_FLOOD && c->a->nflags
			? c->a->flags[lab_rand(rng) % c->a->nflags] : 0x02;
	if (t[13] & 0x10) {   /* an ACK number only where the ACK flag says so */
		t[8] = (uint8_t)(ack >> 24); t[9] = (uint8_t)(ack >> 16); t[10] = (uint8_t)(ack >> 8); t[11] = (uint8_t)ack;
	}
	t[14] = 0xff; t[15] = 0xff;
	memset(t + 20, 0x5a, pl);
	uint16_t cs = csum(t, tl, pseudo(src, dst, IPPROTO_TCP, tl));
	t[16] = (uint8_t)(cs >> 8); t[17] = (uint8_t)cs;
	build_ip(b, src, dst, IPPROTO_TCP, tl, (uint16_t)lab_rand(rng));
	return 20u + tl;
}

void *flood_thread(void *arg)
{
	lab_flood_cfg_t *c = arg;
	lab_run_t *r = c->run;
	uint64_t rng = c->seed;
	/* unspoofed DNS floods go through the normal stack from many bound
	 * sockets; everything else is crafted on a raw socket */
	bool raw = c->a->kind != LAB_ATK_DNS_FLOOD || c->a->spoof;
	enum { NSOCK = 64 };
	int fds[NSOCK], nfd = 0;
	if (raw) {
		fds[0] = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (fds[0] < 0) {
			lab_log("flood: raw socket: %s", strerror(errno));
			return NULL;
		}
		nfd = 1;
	} else {
		for (; nfd < NSOCK; nfd++) {
			fds[nfd] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			struct sockaddr_in sa = { .sin_family = AF_INET,
						  .sin_addr.s_addr = htonl(c->src_net + 2 + (uint32_t)nfd) };
			if (fds[nfd] < 0 || bind(fds[nfd], (struct sockaddr *)&sa, sizeof sa) < 0)
				break;
		}
	}
	double t_start = r->t0 + c->start_s, t_end = r->t0 + c->end_s, dur = c->end_s - c->start_s;
	c->st->t_start = c->start_s;
	while (lab_now() < t_start && !atomic_load(&r->stop))
		usleep(10000);
	double sent = 0, due = 0, last = lab_now();
	uint8_t pkt[20 + 20 + FLOOD_PAYLOAD_MAX];
	while (!atomic_load(&r->stop)) {
		double now = lab_now();
		if (now >= t_end)
			break;
		/* integrate the rate curve: dynamics change the due count */
		due += flood_rate_at(c->a, now - t_start, dur) * (now - last);
		last = now;
		unsigned burst = 0;
		while (sent < due && burst < 2000) {
			uint32_t dst;
			size_t n = make_packet(c, pkt, &rng, &dst, raw);
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(dst),
						  .sin_port = htons(53) };
			int fd = fds[(size_t)sent % (size_t)nfd];
			if (sendto(fd, pkt, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) < 0 &&
			    errno != EAGAIN && errno != ENOBUFS)
				break;
			sent += 1;
			burst++;
			atomic_fetch_add(&c->st->pkts, 1);
			atomic_fetch_add(&r->ser->atk_pkts[lab_sec_index(r, now)], 1);
		}
		if (due - sent > 1000)
			due = sent;   /* never catch up after a stall: stay bounded */
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	c->st->t_end = lab_now() - r->t0;
	return NULL;
}
