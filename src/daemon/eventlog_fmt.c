/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event formatter (see eventlog_fmt.h): a small JSON writer into a
 * caller's fixed buffer. It is hand-written rather than built with jansson
 * objects because it runs on the DNS worker threads for every logged
 * answer, and building a jansson tree costs a few dozen allocations per
 * line; formatting straight into the queue's slot costs none. The unit
 * tests parse every line back with jansson to keep it honest.
 */
#include "daemon/eventlog_fmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

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
