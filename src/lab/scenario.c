/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab scenario parser (see scenario.h and lab/README.md). The YAML is
 * loaded as a libyaml document so every node keeps its line; the walk below
 * checks each mapping against the keys it knows, so a typo is an error with
 * its line instead of a silently ignored setting.
 */
#include "lab/scenario.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct pctx {
	const char *file;
	lab_diag_fn diag;
	void *dctx;
	yaml_document_t *doc;
	int errors;
} pctx_t;

static void perr(pctx_t *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void perr(pctx_t *p, const yaml_node_t *n, const char *fmt, ...)
{
	static const char hex[] = "0123456789abcdef";
	char raw[512], msg[512 * 4];
	size_t o = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	/* keys and values from the file are echoed: control bytes in them
	 * would garble the terminal or forge lines, so they are shown \xHH */
	for (const char *c = raw; *c; c++) {
		unsigned char b = (unsigned char)*c;
		if (b < 0x20 || b == 0x7f) {
			msg[o++] = '\\';
			msg[o++] = 'x';
			msg[o++] = hex[b >> 4];
			msg[o++] = hex[b & 15];
		} else {
			msg[o++] = (char)b;
		}
	}
	msg[o] = '\0';
	p->errors++;
	if (p->diag)
		p->diag(p->dctx, p->file, n ? (int)n->start_mark.line + 1 : 0, msg);
}

static const char *scalar(pctx_t *p, const yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		perr(p, n, "%s: expected a scalar value", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* TIME: number with ms/s/m/h suffix, bare = seconds. Result in ms. */
static bool parse_time_ms(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return false;
	double mul;
	if (!*end || !strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 0.001;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else if (!strcmp(end, "h"))
		mul = 3600000;
	else
		return false;
	*out = v * mul;
	return *out < 1e12;
}

static bool get_time(pctx_t *p, const yaml_node_t *n, const char *what, double *out)
{
	const char *s = scalar(p, n, what);
	if (!s)
		return false;
	if (!parse_time_ms(s, out)) {
		perr(p, n, "%s: invalid TIME '%s' (e.g. 500ms, 2s, 1m)", what, s);
		return false;
	}
	return true;
}

static bool get_time32(pctx_t *p, const yaml_node_t *n, const char *what, uint32_t *out)
{
	double v;
	if (!get_time(p, n, what, &v))
		return false;
	if (v > 86400000.0) {
		perr(p, n, "%s: more than a day", what);
		return false;
	}
	*out = (uint32_t)(v + 0.5);   /* no libm: the library links without -lm */
	return true;
}

static bool get_num(pctx_t *p, const yaml_node_t *n, const char *what, double lo, double hi,
		    double *out)
{
	const char *s = scalar(p, n, what);
	if (!s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* rates may be written "1000/s" */
	if (end != s && !strcmp(end, "/s"))
		end += 2;
	if (end == s || *end || errno || !isfinite(v)) {
		perr(p, n, "%s: invalid number '%s'", what, s);
		return false;
	}
	if (v < lo || v > hi) {
		perr(p, n, "%s: %s out of range [%g, %g]", what, s, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool get_uint(pctx_t *p, const yaml_node_t *n, const char *what, unsigned lo, unsigned hi,
		     unsigned *out)
{
	double v;
	if (!get_num(p, n, what, lo, hi, &v))
		return false;
	if (v != (double)(uint64_t)v) {
		perr(p, n, "%s: expected an integer", what);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

static bool get_bool(pctx_t *p, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar(p, n, what);
	if (!s)
		return false;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
		*out = false;
		return true;
	}
	perr(p, n, "%s: expected true or false, not '%s'", what, s);
	return false;
}

static bool get_str(pctx_t *p, const yaml_node_t *n, const char *what, char **out)
{
	const char *s = scalar(p, n, what);
	if (!s)
		return false;
	free(*out);
	*out = strdup(s);
	return *out != NULL;
}

/* Iterate a mapping: calls fn for each (key, value); unknown keys are for
 * fn to report. */
typedef void (*map_fn)(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

static bool walk_map(pctx_t *p, yaml_node_t *n, const char *what, map_fn fn, void *arg)
{
	if (!n || n->type != YAML_MAPPING_NODE) {
		perr(p, n, "%s: expected a mapping", what);
		return false;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pr->value);
		if (!k || k->type != YAML_SCALAR_NODE) {
			perr(p, k, "%s: keys must be scalars", what);
			continue;
		}
		/* duplicate keys are an error, and the later one is not applied:
		 * a second handler run would overwrite (or overrun) the first */
		bool dup = false;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pr && !dup; q++) {
			yaml_node_t *k2 = yaml_document_get_node(p->doc, q->key);
			dup = k2 && k2->type == YAML_SCALAR_NODE &&
			      !strcmp((char *)k2->data.scalar.value, (char *)k->data.scalar.value);
		}
		if (dup) {
			perr(p, k, "%s: duplicate key '%s'", what, (char *)k->data.scalar.value);
			continue;
		}
		fn(p, (const char *)k->data.scalar.value, k, v, arg);
	}
	return true;
}

static void unknown(pctx_t *p, yaml_node_t *k, const char *what, const char *key)
{
	perr(p, k, "%s: unknown key '%s'", what, key);
}

/* ------------------------------------------------------------ pieces */

static const struct { const char *name; enum lab_dist d; } dists[] = {
	{ "none", LAB_DIST_NONE }, { "const", LAB_DIST_CONST }, { "normal", LAB_DIST_NORMAL },
	{ "exponential", LAB_DIST_EXP }, { "pareto", LAB_DIST_PARETO },
	{ "gamma", LAB_DIST_GAMMA }, { "uniform", LAB_DIST_UNIFORM },
};

const char *lab_dist_name(enum lab_dist d)
{
	for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++)
		if (dists[i].d == d)
			return dists[i].name;
	return "?";
}

struct dist_arg {
	lab_dist_spec_t *d;
	const char *what;
	unsigned seen;         /* bit per parameter key */
	double bytes_max;      /* a size distribution: plain byte counts up to
				* this, not TIMEs (0: a TIME distribution) */
};

enum { S_MEAN = 1, S_SD = 2, S_SHAPE = 4, S_SCALEP = 8, S_MIN = 16, S_MAX = 32 };

/* a TIME (ms), or for a size distribution a byte count */
static bool get_dval(pctx_t *p, const yaml_node_t *v, const char *w, const struct dist_arg *a, double *out)
{
	return a->bytes_max > 0 ? get_num(p, v, w, 0, a->bytes_max, out) : get_time(p, v, w, out);
}

static void dist_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct dist_arg *a = arg;
	lab_dist_spec_t *d = a->d;
	char w[160];
	snprintf(w, sizeof w, "%s.%s", a->what, key);
	if (!strcmp(key, "dist")) {
		const char *s = scalar(p, v, w);
		if (!s)
			return;
		for (size_t i = 0; i < sizeof dists / sizeof dists[0]; i++)
			if (!strcmp(s, dists[i].name)) {
				d->kind = dists[i].d;
				return;
			}
		perr(p, v, "%s: unknown distribution '%s' (none, const, normal, exponential, pareto, gamma, uniform)",
		     w, s);
	} else if (!strcmp(key, "mean")) {
		if (get_dval(p, v, w, a, &d->mean))
			a->seen |= S_MEAN;
	} else if (!strcmp(key, "stddev")) {
		if (get_dval(p, v, w, a, &d->stddev))
			a->seen |= S_SD;
	} else if (!strcmp(key, "shape")) {
		if (get_num(p, v, w, 0.01, 1000, &d->shape))
			a->seen |= S_SHAPE;
	} else if (!strcmp(key, "theta")) {
		if (get_dval(p, v, w, a, &d->scale_param))
			a->seen |= S_SCALEP;
	} else if (!strcmp(key, "min")) {
		if (get_dval(p, v, w, a, &d->min))
			a->seen |= S_MIN;
	} else if (!strcmp(key, "max")) {
		if (get_dval(p, v, w, a, &d->max))
			a->seen |= S_MAX;
	} else if (!strcmp(key, "scale")) {
		get_num(p, v, w, 0, 1000, &d->scale);
	} else {
		unknown(p, k, a->what, key);
	}
}

/* A distribution: a mapping { dist: normal, mean: 1s, stddev: 1s }, or a
 * bare TIME meaning a constant, or "none". */
static void get_dist_any(pctx_t *p, yaml_node_t *n, const char *what, lab_dist_spec_t *d, double bytes_max)
{
	memset(d, 0, sizeof *d);
	d->scale = 1;
	struct dist_arg a = { d, what, 0, bytes_max };
	if (n && n->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)n->data.scalar.value;
		if (!strcmp(s, "none") || !strcmp(s, "0")) {
			d->kind = LAB_DIST_NONE;
			return;
		}
		if (get_dval(p, n, what, &a, &d->mean))
			d->kind = LAB_DIST_CONST;
		return;
	}
	int before = p->errors;
	if (!walk_map(p, n, what, dist_key, &a) || p->errors != before)
		return;
	unsigned need = 0;
	switch (d->kind) {
	case LAB_DIST_NONE: break;
	case LAB_DIST_CONST: need = S_MEAN; break;
	case LAB_DIST_NORMAL: need = S_MEAN | S_SD; break;
	case LAB_DIST_EXP: need = S_MEAN; break;
	case LAB_DIST_PARETO: need = S_SHAPE | S_MIN; break;
	case LAB_DIST_GAMMA: need = S_SHAPE | S_SCALEP; break;
	case LAB_DIST_UNIFORM:
		need = S_MIN | S_MAX;
		if ((a.seen & need) == need && d->max < d->min)
			perr(p, n, "%s: max is below min", what);
		break;
	}
	if ((a.seen & need) != need) {
		static const char *names[] = { "mean", "stddev", "shape", "theta", "min", "max" };
		for (int i = 0; i < 6; i++)
			if ((need & (1u << i)) && !(a.seen & (1u << i)))
				perr(p, n, "%s: distribution '%s' needs '%s'", what, lab_dist_name(d->kind),
				     names[i]);
	}
}

static void get_dist(pctx_t *p, yaml_node_t *n, const char *what, lab_dist_spec_t *d)
{
	get_dist_any(p, n, what, d, 0);
}

/* packet sizes in bytes, same forms as a TIME distribution */
static void get_size_dist(pctx_t *p, yaml_node_t *n, const char *what, lab_dist_spec_t *d)
{
	get_dist_any(p, n, what, d, 65535);
}

static void get_protocols(pctx_t *p, yaml_node_t *n, const char *what, unsigned *mask)
{
	*mask = 0;
	yaml_node_item_t *it, *end;
	yaml_node_item_t one;
	if (n && n->type == YAML_SCALAR_NODE) {
		/* a single protocol may be written without brackets */
		one = (yaml_node_item_t)(n - p->doc->nodes.start + 1);
		it = &one;
		end = &one + 1;
	} else if (n && n->type == YAML_SEQUENCE_NODE) {
		it = n->data.sequence.items.start;
		end = n->data.sequence.items.top;
	} else {
		perr(p, n, "%s: expected a list of protocols", what);
		return;
	}
	for (; it < end; it++) {
		yaml_node_t *e = yaml_document_get_node(p->doc, *it);
		const char *s = scalar(p, e, what);
		if (!s)
			continue;
		if (!strcmp(s, "http"))
			*mask |= LAB_HTTP;
		else if (!strcmp(s, "https"))
			*mask |= LAB_HTTPS;
		else if (!strcmp(s, "ssh"))
			*mask |= LAB_SSH;
		else if (!strcmp(s, "smtp"))
			*mask |= LAB_SMTP;
		else
			perr(p, e, "%s: unknown protocol '%s' (http, https, ssh, smtp)", what, s);
	}
	if (!*mask)
		perr(p, n, "%s: at least one protocol", what);
}

const char *lab_proto_names(unsigned mask, char *buf, size_t len)
{
	static const char *n[] = { "http", "https", "ssh", "smtp" };
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < 4; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "", n[i]);
	return buf;
}

/* ------------------------------------------------------------ sections */

static void gw_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	char w[96];
	snprintf(w, sizeof w, "gateway.%s", key);
	double d;
	if (!strcmp(key, "pool")) {
		const char *t = scalar(p, v, w);
		unsigned a, b, c, e, plen;
		char extra;
		if (!t)
			return;
		if (sscanf(t, "%u.%u.%u.%u/%u%c", &a, &b, &c, &e, &plen, &extra) != 5 || a > 255 ||
		    b > 255 || c > 255 || e > 255 || plen < 16 || plen > 30) {
			perr(p, v, "%s: expected an IPv4 prefix /16../30, not '%s'", w, t);
			return;
		}
		uint32_t ip = (a << 24) | (b << 16) | (c << 8) | e;
		if (ip & ((1u << (32 - plen)) - 1)) {
			perr(p, v, "%s: host bits set in '%s'", w, t);
			return;
		}
		/* the lab's own networks live in 10.0.0.0/8 */
		if (a == 10) {
			perr(p, v, "%s: 10.0.0.0/8 is the lab's own address space", w);
			return;
		}
		get_str(p, v, w, &s->gateway.pool);
	} else if (!strcmp(key, "pool6")) {
		const char *t = scalar(p, v, w);
		char buf[64];
		unsigned plen;
		uint8_t a6[16];
		const char *sl = t ? strchr(t, '/') : NULL;
		if (!t)
			return;
		if (!sl || (size_t)(sl - t) >= sizeof buf || sscanf(sl + 1, "%u", &plen) != 1 ||
		    plen < 64 || plen > 120 || strspn(sl + 1, "0123456789") != strlen(sl + 1)) {
			perr(p, v, "%s: expected an IPv6 prefix /64../120, not '%s'", w, t);
			return;
		}
		memcpy(buf, t, (size_t)(sl - t));
		buf[sl - t] = 0;
		if (inet_pton(AF_INET6, buf, a6) != 1) {
			perr(p, v, "%s: expected an IPv6 prefix /64../120, not '%s'", w, t);
			return;
		}
		for (unsigned i = plen; i < 128; i++)
			if (a6[i / 8] & (0x80u >> (i % 8))) {
				perr(p, v, "%s: host bits set in '%s'", w, t);
				return;
			}
		/* the lab's own IPv6 networks live in fd00::/8; multicast and
		 * the unspecified/loopback range are not unicast pools */
		if (a6[0] == 0xfd || a6[0] == 0xff || a6[0] == 0) {
			perr(p, v, "%s: '%s' is not a global or ULA unicast prefix outside the lab's fd00::/8", w, t);
			return;
		}
		get_str(p, v, w, &s->gateway.pool6);
	} else if (!strcmp(key, "ttl")) {
		if (get_time(p, v, w, &d)) {
			if (d < 1000 || (double)(uint64_t)(d / 1000) * 1000 != d)
				perr(p, v, "%s: whole seconds, at least 1s", w);
			else
				s->gateway.ttl_ms = (uint32_t)d;
		}
	} else if (!strcmp(key, "grace")) {
		get_time32(p, v, w, &s->gateway.grace_ms);
	} else if (!strcmp(key, "pin")) {
		get_time32(p, v, w, &s->gateway.pin_ms);
	} else if (!strcmp(key, "max-open-fraction")) {
		get_num(p, v, w, 0.0001, 1, &s->gateway.max_open_fraction);
	} else if (!strcmp(key, "workers")) {
		get_uint(p, v, w, 0, 64, &s->gateway.workers);
	} else if (!strcmp(key, "conntrack-time-wait")) {
		uint32_t ms;
		if (get_time32(p, v, w, &ms))
			s->gateway.ct_time_wait_s = ms / 1000;
	} else if (!strcmp(key, "rrl-rate") || !strcmp(key, "rrl-slip")) {
		unsigned u;
		bool rate = key[4] == 'r';
		if (get_uint(p, v, w, 0, rate ? 1000000 : 100, &u)) {
			if (rate)
				s->gateway.rrl_rate = u;
			else
				s->gateway.rrl_slip = u;
		}
	} else if (!strcmp(key, "mode")) {
		const char *t = scalar(p, v, w);
		if (t && !strcmp(t, "standalone"))
			s->gateway.mode = LAB_GW_STANDALONE;
		else if (t && !strcmp(t, "distributed"))
			s->gateway.mode = LAB_GW_DISTRIBUTED;
		else if (t)
			perr(p, v, "%s: 'standalone' or 'distributed', not '%s'", w, t);
		if (t)
			s->gateway.mode_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "agents")) {
		if (get_uint(p, v, w, 1, LAB_MAX_AGENTS, &s->gateway.agents))
			s->gateway.agents_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "pair")) {
		if (get_bool(p, v, w, &s->gateway.pair))
			s->gateway.pair_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "on-timeout")) {
		const char *t = scalar(p, v, w);
		if (t && (!strcmp(t, "servfail") || !strcmp(t, "healthy-pool")))
			s->gateway.on_timeout_healthy = t[0] == 'h';
		else if (t)
			perr(p, v, "%s: 'servfail' or 'healthy-pool', not '%s'", w, t);
	} else if (!strcmp(key, "external-dns")) {
		const char *t = scalar(p, v, w);
		if (t && !strcmp(t, "knot"))
			s->gateway.external = LAB_EXT_KNOT;
		else if (t && !strcmp(t, "bind"))
			s->gateway.external = LAB_EXT_BIND;
		else if (t)
			perr(p, v, "%s: 'knot' or 'bind', not '%s'", w, t);
		if (t)
			s->gateway.external_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "epoch")) {
		uint32_t ms;
		if (get_time32(p, v, w, &ms)) {
			if (ms < 1000 || ms > 86400000 || ms % 1000)
				perr(p, v, "%s: whole seconds, 1s..1d", w);
			else
				s->gateway.epoch_ms = ms;
		}
	} else if (!strcmp(key, "server-rate")) {
		/* bits/s, as tc writes them: 200mbit, 1gbit, 500kbit or a number */
		const char *t = scalar(p, v, w);
		char *end = NULL;
		double n = t ? strtod(t, &end) : 0;
		double mul = 0;
		if (t && end != t) {
			if (!*end)
				mul = 1;
			else if (!strcmp(end, "kbit"))
				mul = 1e3;
			else if (!strcmp(end, "mbit"))
				mul = 1e6;
			else if (!strcmp(end, "gbit"))
				mul = 1e9;
		}
		if (t && (!mul || n * mul < 1e6 || n * mul > 1e11))
			perr(p, v, "%s: a rate of 1mbit..100gbit (e.g. 200mbit), not '%s'", w, t);
		else if (t)
			s->gateway.server_rate_bps = (uint64_t)(n * mul);
	} else if (!strcmp(key, "agent-timeout")) {
		uint32_t ms;
		if (get_time32(p, v, w, &ms)) {
			if (ms < 10 || ms > 60000)
				perr(p, v, "%s: between 10ms and 60s", w);
			else
				s->gateway.agent_timeout_ms = ms;
		}
	} else {
		unknown(p, k, "gateway", key);
	}
}

/* events: a list of one-key maps, `- kill-agent: { agent: 1, at: 20s }` */
struct ev_arg {
	lab_event_t *e;
	char what[48];
	bool has_at;
};

static void ev_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct ev_arg *ea = arg;
	char w[96];
	snprintf(w, sizeof w, "%s.%s", ea->what, key);
	if (!strcmp(key, "at"))
		ea->has_at = get_time32(p, v, w, &ea->e->at_ms);
	else if (!strcmp(key, "agent") && ea->e->kind == LAB_EV_KILL_AGENT)
		get_uint(p, v, w, 1, LAB_MAX_AGENTS, &ea->e->agent);
	else
		unknown(p, k, ea->what, key);
}

static void event_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct ev_arg *ea = arg;
	if (ea->e->kind) {
		perr(p, k, "%s: one event per list item", ea->what);
		return;
	}
	if (!strcmp(key, "kill-agent"))
		ea->e->kind = LAB_EV_KILL_AGENT;
	else if (!strcmp(key, "failover"))
		ea->e->kind = LAB_EV_FAILOVER;
	else {
		perr(p, k, "%s: unknown event '%s' (kill-agent, failover)", ea->what, key);
		return;
	}
	/* events[N].kill-agent: the key is one of the two known names */
	size_t o = strlen(ea->what);
	snprintf(ea->what + o, sizeof ea->what - o, ".%s", ea->e->kind == LAB_EV_KILL_AGENT ? "kill-agent" : "failover");
	if (walk_map(p, v, ea->what, ev_key, ea) && !ea->has_at)
		perr(p, v, "%s: 'at' is required", ea->what);
	if (ea->e->kind == LAB_EV_KILL_AGENT && !ea->e->agent)
		perr(p, v, "%s: 'agent' is required", ea->what);
}

const char *lab_event_kind_name(enum lab_event_kind k)
{
	return k == LAB_EV_KILL_AGENT ? "kill-agent" : k == LAB_EV_FAILOVER ? "failover" : "?";
}

static void dns_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	char w[96];
	snprintf(w, sizeof w, "dns.%s", key);
	if (!strcmp(key, "mode")) {
		const char *t = scalar(p, v, w);
		if (!t)
			return;
		if (!strcmp(t, "resolver"))
			s->dns.resolver = true;
		else if (!strcmp(t, "direct"))
			s->dns.resolver = false;
		else
			perr(p, v, "%s: 'resolver' or 'direct', not '%s'", w, t);
	} else if (!strcmp(key, "timeout")) {
		if (get_time32(p, v, w, &s->dns.timeout_ms) && s->dns.timeout_ms < 10)
			perr(p, v, "%s: at least 10ms", w);
	} else if (!strcmp(key, "retries")) {
		get_uint(p, v, w, 0, 10, &s->dns.retries);
	} else if (!strcmp(key, "ecs")) {
		get_uint(p, v, w, 0, 32, &s->dns.ecs);
	} else if (!strcmp(key, "ecs6")) {
		if (get_uint(p, v, w, 32, 128, &s->dns.ecs6))   /* fluxgated: ecs-min-prefix6 >= 32 */
			s->dns.ecs6_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "min-ttl")) {
		if (get_time32(p, v, w, &s->dns.min_ttl_ms) && s->dns.min_ttl_ms % 1000)
			perr(p, v, "%s: whole seconds", w);
	} else {
		unknown(p, k, "dns", key);
	}
}

/* legit.host-cache: { share: 0.2, ttl: 3600s } */
static void host_cache_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	char w[96];
	snprintf(w, sizeof w, "legit.host-cache.%s", key);
	if (!strcmp(key, "share"))
		get_num(p, v, w, 0, 1, &s->legit.host_cache_share);
	else if (!strcmp(key, "ttl")) {
		if (get_time32(p, v, w, &s->legit.host_cache_ttl_ms) && s->legit.host_cache_ttl_ms < 1000)
			perr(p, v, "%s: at least 1s", w);
	} else
		unknown(p, k, "legit.host-cache", key);
}

/* legit.sizes.PROTO: { request: DIST, reply: DIST } in bytes */
struct sizes_arg {
	lab_scenario_t *s;
	unsigned proto;        /* index: 0 http, 1 https, ... */
	char what[48];
};

static void size_pair_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct sizes_arg *a = arg;
	lab_size_pair_t *sp = &a->s->legit.sizes[a->proto];
	char w[96];
	snprintf(w, sizeof w, "%s.%s", a->what, key);
	if (!strcmp(key, "request"))
		get_dist_any(p, v, w, &sp->request, LAB_REQ_MAX);
	else if (!strcmp(key, "reply"))
		get_dist_any(p, v, w, &sp->reply, LAB_SIZE_MAX);
	else
		unknown(p, k, a->what, key);
}

static void sizes_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	static const char *n[] = { "http", "https", "ssh", "smtp" };
	unsigned i = 0;
	while (i < 4 && strcmp(key, n[i]))
		i++;
	if (i == 4) {
		perr(p, k, "legit.sizes: unknown protocol '%s' (http, https)", key);
		return;
	}
	if (i >= 2) {
		/* the lab's SSH and SMTP servers speak fixed banners */
		perr(p, k, "legit.sizes.%s: sizes are drawn for http and https only", key);
		return;
	}
	struct sizes_arg a = { s, i, "" };
	snprintf(a.what, sizeof a.what, "legit.sizes.%s", key);
	lab_size_pair_t *sp = &s->legit.sizes[i];
	sp->request.scale = sp->reply.scale = 1;
	sp->set = true;
	sp->line = (int)k->start_mark.line + 1;
	walk_map(p, v, a.what, size_pair_key, &a);
}

static void legit_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	char w[96];
	snprintf(w, sizeof w, "legit.%s", key);
	if (!strcmp(key, "clients"))
		get_uint(p, v, w, 0, 20000, &s->legit.clients);
	else if (!strcmp(key, "protocols"))
		get_protocols(p, v, w, &s->legit.protocols);
	else if (!strcmp(key, "think"))
		get_dist(p, v, w, &s->legit.think);
	else if (!strcmp(key, "latency"))
		get_dist(p, v, w, &s->legit.latency);
	else if (!strcmp(key, "timeout"))
		get_time32(p, v, w, &s->legit.timeout_ms);
	else if (!strcmp(key, "host-cache"))
		walk_map(p, v, "legit.host-cache", host_cache_key, s);
	else if (!strcmp(key, "sizes"))
		walk_map(p, v, "legit.sizes", sizes_key, s);
	else if (!strcmp(key, "ipv6")) {
		if (get_num(p, v, w, 0, 1, &s->legit.ipv6_share))
			s->legit.ipv6_line = (int)v->start_mark.line + 1;
	}
	else if (!strcmp(key, "replay")) {
		/* the file is read by fluxlab run/check, not by this pure parser */
		if (get_str(p, v, w, &s->legit.replay))
			s->legit.replay_line = (int)v->start_mark.line + 1;
	}
	else
		unknown(p, k, "legit", key);
}

static const struct { const char *name; enum lab_attack_kind k; } kinds[] = {
	{ "invalid", LAB_ATK_INVALID }, { "aware", LAB_ATK_AWARE }, { "sweep", LAB_ATK_SWEEP },
	{ "nmap", LAB_ATK_NMAP }, { "masscan", LAB_ATK_MASSCAN },
	{ "dns-flood", LAB_ATK_DNS_FLOOD }, { "syn-flood", LAB_ATK_SYN_FLOOD },
	{ "tcp-flood", LAB_ATK_TCP_FLOOD }, { "udp-flood", LAB_ATK_UDP_FLOOD },
	{ "icmp-flood", LAB_ATK_ICMP_FLOOD }, { "hitlist", LAB_ATK_HITLIST },
};

const char *lab_attack_kind_name(enum lab_attack_kind k)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].k == k)
			return kinds[i].name;
	return "?";
}

/* tcp-flood flags: a list of flag sets, one drawn per packet, each written
 * as flag names joined by '+': [syn, ack, "syn+ack", "fin+psh+urg", rst] */
static void get_tcp_flags(pctx_t *p, yaml_node_t *n, const char *what, lab_attack_t *a)
{
	static const struct { const char *name; uint8_t bit; } fl[] = {
		{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 },
		{ "ack", 0x10 }, { "urg", 0x20 }, { "ece", 0x40 }, { "cwr", 0x80 },
	};
	a->nflags = 0;
	if (!n || n->type != YAML_SEQUENCE_NODE) {
		perr(p, n, "%s: expected a list of flag sets, e.g. [syn, ack, \"fin+psh+urg\"]", what);
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(p->doc, *it);
		const char *s = scalar(p, e, what);
		if (!s)
			return;
		if (a->nflags == sizeof a->flags) {
			perr(p, e, "%s: at most %zu flag sets", what, sizeof a->flags);
			return;
		}
		uint8_t bits = 0;
		char buf[64];
		snprintf(buf, sizeof buf, "%s", s);
		for (char *save = NULL, *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
			size_t i = 0;
			while (i < sizeof fl / sizeof fl[0] && strcmp(tok, fl[i].name))
				i++;
			if (i == sizeof fl / sizeof fl[0]) {
				perr(p, e, "%s: unknown TCP flag '%s' (fin, syn, rst, psh, ack, urg, ece, cwr)", what, tok);
				return;
			}
			bits |= fl[i].bit;
		}
		if (!bits) {
			perr(p, e, "%s: an empty flag set", what);
			return;
		}
		a->flags[a->nflags++] = bits;
	}
}

bool lab_attack_is_flood(enum lab_attack_kind k)
{
	return k == LAB_ATK_DNS_FLOOD || k == LAB_ATK_SYN_FLOOD || k == LAB_ATK_TCP_FLOOD ||
	       k == LAB_ATK_UDP_FLOOD || k == LAB_ATK_ICMP_FLOOD;
}

struct atk_arg {
	lab_attack_t *a;
	char what[64];
	bool has_type;
};

static void atk_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct atk_arg *aa = arg;
	lab_attack_t *a = aa->a;
	char w[128];
	snprintf(w, sizeof w, "%s.%s", aa->what, key);
	if (!strcmp(key, "type")) {
		const char *t = scalar(p, v, w);
		if (!t)
			return;
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (!strcmp(t, kinds[i].name)) {
				a->kind = kinds[i].k;
				aa->has_type = true;
				return;
			}
		perr(p, v, "%s: unknown attack type '%s' (invalid, aware, sweep, nmap, masscan, dns-flood, syn-flood, tcp-flood, udp-flood, icmp-flood, hitlist)",
		     w, t);
	} else if (!strcmp(key, "name")) {
		get_str(p, v, w, &a->name);
	} else if (!strcmp(key, "clients")) {
		get_uint(p, v, w, 1, 20000, &a->clients);
	} else if (!strcmp(key, "protocols")) {
		get_protocols(p, v, w, &a->protocols);
	} else if (!strcmp(key, "think")) {
		get_dist(p, v, w, &a->think);
	} else if (!strcmp(key, "rate")) {
		/* bounded: the lab must not take the machine down */
		get_num(p, v, w, 0.1, 200000, &a->rate);
	} else if (!strcmp(key, "probes")) {
		get_uint(p, v, w, 0, 10000000, &a->probes);
	} else if (!strcmp(key, "port")) {
		get_uint(p, v, w, 1, 65535, &a->port);
	} else if (!strcmp(key, "rounds")) {
		get_uint(p, v, w, 1, 1000, &a->rounds);
	} else if (!strcmp(key, "scan")) {
		const char *t = scalar(p, v, w);
		if (!t)
			return;
		if (!strcmp(t, "syn"))
			a->scan = LAB_NMAP_SYN;
		else if (!strcmp(t, "connect"))
			a->scan = LAB_NMAP_CONNECT;
		else
			perr(p, v, "%s: 'syn' or 'connect', not '%s'", w, t);
	} else if (!strcmp(key, "dynamics")) {
		const char *t = scalar(p, v, w);
		if (!t)
			return;
		if (!strcmp(t, "flat"))
			a->dynamics = LAB_DYN_FLAT;
		else if (!strcmp(t, "pulse"))
			a->dynamics = LAB_DYN_PULSE;
		else if (!strcmp(t, "ramp-up"))
			a->dynamics = LAB_DYN_RAMP_UP;
		else if (!strcmp(t, "ramp-down"))
			a->dynamics = LAB_DYN_RAMP_DOWN;
		else
			perr(p, v, "%s: flat, pulse, ramp-up or ramp-down, not '%s'", w, t);
	} else if (!strcmp(key, "period")) {
		if (get_time32(p, v, w, &a->period_ms) && a->period_ms < 10)
			perr(p, v, "%s: at least 10ms", w);
	} else if (!strcmp(key, "duty")) {
		get_num(p, v, w, 0.01, 1, &a->duty);
	} else if (!strcmp(key, "spoof")) {
		get_bool(p, v, w, &a->spoof);
	} else if (!strcmp(key, "size")) {
		get_size_dist(p, v, w, &a->size);
		a->size_set = true;
	} else if (!strcmp(key, "flags")) {
		get_tcp_flags(p, v, w, a);
	} else if (!strcmp(key, "family")) {
		if (get_uint(p, v, w, 4, 6, &a->family) && a->family != 4 && a->family != 6)
			perr(p, v, "%s: 4 or 6", w);
	} else if (!strcmp(key, "sample")) {
		if (get_uint(p, v, w, 1, 1000000, &a->sample))
			a->sample_line = (int)v->start_mark.line + 1;
	} else if (!strcmp(key, "delay")) {
		get_time32(p, v, w, &a->delay_ms);
	} else if (!strcmp(key, "start")) {
		get_time32(p, v, w, &a->start_ms);
	} else if (!strcmp(key, "duration")) {
		get_time32(p, v, w, &a->duration_ms);
	} else {
		unknown(p, k, aa->what, key);
	}
}

static void expect_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	char w[96];
	snprintf(w, sizeof w, "expect.%s", key);
	double d;
	if (!strcmp(key, "legit-misrouted-max"))
		get_num(p, v, w, 0, 1, &s->expect.legit_misrouted_max);
	else if (!strcmp(key, "legit-ok-min"))
		get_num(p, v, w, 0, 1, &s->expect.legit_ok_min);
	else if (!strcmp(key, "attack-reach-max")) {
		if (v && v->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)v->data.scalar.value, "predicted")) {
			s->expect.attack_reach_max = LAB_REACH_PREDICTED;
			s->expect.reach_line = (int)v->start_mark.line + 1;
		} else if (get_num(p, v, w, 0, 1e12, &d))
			s->expect.attack_reach_max = (long)d;
	} else if (!strcmp(key, "healthy-misrouted-max")) {
		get_num(p, v, w, 0, 1, &s->expect.healthy_misrouted_max);
	} else if (!strcmp(key, "dead-agent-answers-max") ||
		   !strcmp(key, "outside-failover-misrouted-max")) {
		if (get_num(p, v, w, 0, 1e12, &d))
			*(key[0] == 'd' ? &s->expect.dead_answers_max
					: &s->expect.outside_failover_misrouted_max) = (long)d;
	} else
		unknown(p, k, "expect", key);
	if (!strncmp(key, "healthy-", 8) || !strncmp(key, "dead-", 5) || !strncmp(key, "outside-", 8))
		if (!s->expect.dist_line)
			s->expect.dist_line = (int)k->start_mark.line + 1;
}

static void top_key(pctx_t *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	lab_scenario_t *s = arg;
	if (!strcmp(key, "name")) {
		get_str(p, v, "name", &s->name);
	} else if (!strcmp(key, "description")) {
		get_str(p, v, "description", &s->description);
	} else if (!strcmp(key, "duration")) {
		if (get_time32(p, v, "duration", &s->duration_ms) &&
		    (s->duration_ms < 1000 || s->duration_ms > 3600000))
			perr(p, v, "duration: between 1s and 1h");
	} else if (!strcmp(key, "seed")) {
		double d;
		if (get_num(p, v, "seed", 0, 4294967295.0, &d))
			s->seed = (uint64_t)d;
	} else if (!strcmp(key, "gateway")) {
		walk_map(p, v, "gateway", gw_key, s);
	} else if (!strcmp(key, "dns")) {
		walk_map(p, v, "dns", dns_key, s);
	} else if (!strcmp(key, "legit")) {
		walk_map(p, v, "legit", legit_key, s);
	} else if (!strcmp(key, "expect")) {
		s->expect.set = true;
		walk_map(p, v, "expect", expect_key, s);
	} else if (!strcmp(key, "events")) {
		if (!v || v->type != YAML_SEQUENCE_NODE) {
			perr(p, v, "events: expected a list");
			return;
		}
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (n > LAB_MAX_EVENTS) {
			perr(p, v, "events: at most %d", LAB_MAX_EVENTS);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *e = yaml_document_get_node(p->doc, v->data.sequence.items.start[i]);
			struct ev_arg ea = { .e = &s->events[s->nevents++] };
			snprintf(ea.what, sizeof ea.what, "events[%zu]", i);
			ea.e->line = e ? (int)e->start_mark.line + 1 : 0;
			if (walk_map(p, e, ea.what, event_key, &ea) && !ea.e->kind)
				perr(p, e, "events[%zu]: an event (kill-agent, failover)", i);
		}
	} else if (!strcmp(key, "attack")) {
		if (v && v->type == YAML_SCALAR_NODE && !*(char *)v->data.scalar.value)
			return;   /* "attack:" with nothing = none */
		if (!v || v->type != YAML_SEQUENCE_NODE) {
			perr(p, v, "attack: expected a list");
			return;
		}
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		if (n > 64) {
			perr(p, v, "attack: at most 64 attackers");
			return;
		}
		s->attacks = calloc(n ? n : 1, sizeof *s->attacks);
		if (!s->attacks)
			return;
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *e = yaml_document_get_node(p->doc, v->data.sequence.items.start[i]);
			lab_attack_t *a = &s->attacks[s->nattacks++];
			struct atk_arg aa = { .a = a };
			snprintf(aa.what, sizeof aa.what, "attack[%zu]", i);
			a->line = e ? (int)e->start_mark.line + 1 : 0;
			a->clients = 10;
			a->protocols = LAB_HTTP;
			a->think.kind = LAB_DIST_CONST;
			a->think.mean = 1000;
			a->think.scale = 1;
			a->rate = 100;
			a->port = 80;
			a->rounds = 1;
			a->duty = 0.5;
			a->period_ms = 2000;
			a->family = 4;
			a->delay_ms = 30000;
			if (!walk_map(p, e, aa.what, atk_key, &aa))
				continue;
			if (!aa.has_type)
				perr(p, e, "%s: 'type' is required", aa.what);
			if (!a->name)
				a->name = strdup(lab_attack_kind_name(a->kind));
		}
	} else {
		unknown(p, k, "scenario", key);
	}
}

static void defaults(lab_scenario_t *s)
{
	s->duration_ms = 60000;
	s->seed = 1;
	s->gateway.ttl_ms = 5000;
	s->gateway.grace_ms = 2000;
	s->gateway.pin_ms = 30000;
	s->gateway.max_open_fraction = 0.1;
	s->gateway.workers = 1;
	s->dns.resolver = true;
	s->dns.timeout_ms = 2000;
	s->dns.retries = 2;
	s->legit.clients = 50;
	s->legit.protocols = LAB_HTTP;
	s->legit.think.kind = LAB_DIST_NORMAL;
	s->legit.think.mean = 1000;
	s->legit.think.stddev = 1000;
	s->legit.think.scale = 1;
	s->legit.latency.kind = LAB_DIST_NONE;
	s->legit.latency.scale = 1;
	s->legit.timeout_ms = 5000;
	s->expect.attack_reach_max = -1;   /* not checked unless given */
	s->gateway.rrl_rate = s->gateway.rrl_slip = -1;
	s->gateway.agent_timeout_ms = 2000;
	s->gateway.epoch_ms = 30000;
	s->expect.healthy_misrouted_max = -1;
	s->expect.dead_answers_max = -1;
	s->expect.outside_failover_misrouted_max = -1;
}

/* gateway.mode and events: what distributed mode needs, checked once the
 * whole file is read (keys may come in any order) */
static void check_dist(pctx_t *p, lab_scenario_t *s)
{
	bool dist = s->gateway.mode == LAB_GW_DISTRIBUTED;
	if (!dist && (s->gateway.agents_line || s->gateway.pair_line))
		perr(p, NULL, "gateway.%s (line %d): needs gateway.mode: distributed",
		     s->gateway.agents_line ? "agents" : "pair",
		     s->gateway.agents_line ? s->gateway.agents_line : s->gateway.pair_line);
	if (dist && !s->gateway.agents)
		s->gateway.agents = 2;
	if (dist && s->gateway.pair && s->gateway.agents != 2)
		perr(p, NULL, "gateway.pair (line %d): a failover pair is 2 agents, not %u", s->gateway.pair_line,
		     s->gateway.agents);
	if (dist && s->gateway.pool6)
		perr(p, NULL, "gateway.mode (line %d): distributed mode is IPv4 only in the lab (no gateway.pool6)",
		     s->gateway.mode_line);
	if (dist && !s->gateway.pair && s->gateway.pool) {
		/* each agent owns an equal share of the pool: /plen+1 or +2 */
		unsigned plen = 0;
		const char *sl = strchr(s->gateway.pool, '/');
		if (sl)
			plen = (unsigned)atoi(sl + 1);
		unsigned bits = s->gateway.agents > 2 ? 2 : s->gateway.agents > 1 ? 1 : 0;
		if (plen + bits > 30)
			perr(p, NULL, "gateway.agents (line %d): %u agents need a pool of /%u or wider",
			     s->gateway.agents_line ? s->gateway.agents_line : s->gateway.mode_line,
			     s->gateway.agents, 30 - bits);
	}
	if (s->gateway.external && !dist)
		perr(p, NULL, "gateway.external-dns (line %d): needs gateway.mode: distributed", s->gateway.external_line);
	if (s->gateway.external && !s->dns.resolver)
		perr(p, NULL, "gateway.external-dns (line %d): the clients ask the external server through the "
		     "resolver (dns.mode: resolver)", s->gateway.external_line);
	bool kill = false, failover = false;
	for (size_t i = 0; i < s->nevents; i++) {
		lab_event_t *e = &s->events[i];
		if (!dist)
			perr(p, NULL, "events[%zu] (line %d): %s needs gateway.mode: distributed", i, e->line,
			     lab_event_kind_name(e->kind));
		else if (e->kind == LAB_EV_KILL_AGENT && e->agent > s->gateway.agents)
			perr(p, NULL, "events[%zu] (line %d): agent %u of %u", i, e->line, e->agent,
			     s->gateway.agents);
		else if (e->kind == LAB_EV_FAILOVER && !s->gateway.pair)
			perr(p, NULL, "events[%zu] (line %d): failover needs gateway.pair: true", i, e->line);
		if (e->at_ms >= s->duration_ms)
			perr(p, NULL, "events[%zu] (line %d): at the end of the scenario or after it", i, e->line);
		for (size_t j = 0; j < i; j++)
			if (e->kind == s->events[j].kind &&
			    (e->kind == LAB_EV_FAILOVER || e->agent == s->events[j].agent))
				perr(p, NULL, "events[%zu] (line %d): the same as events[%zu]", i, e->line, j);
		kill |= e->kind == LAB_EV_KILL_AGENT;
		failover |= e->kind == LAB_EV_FAILOVER;
	}
	if ((s->expect.healthy_misrouted_max >= 0 || s->expect.dead_answers_max >= 0) && !kill)
		perr(p, NULL, "expect (line %d): healthy-misrouted-max and dead-agent-answers-max need a "
		     "kill-agent event", s->expect.dist_line);
	if (s->expect.outside_failover_misrouted_max >= 0 && !failover)
		perr(p, NULL, "expect (line %d): outside-failover-misrouted-max needs a failover event",
		     s->expect.dist_line);
}

static int load(pctx_t *p, yaml_parser_t *yp, lab_scenario_t **out)
{
	yaml_document_t doc;
	if (!yaml_parser_load(yp, &doc)) {
		char msg[300];
		snprintf(msg, sizeof msg, "YAML syntax error: %s%s%s", yp->problem ? yp->problem : "?",
			 yp->context ? " " : "", yp->context ? yp->context : "");
		p->errors++;
		if (p->diag)
			p->diag(p->dctx, p->file, (int)yp->problem_mark.line + 1, msg);
		return -EINVAL;
	}
	p->doc = &doc;
	lab_scenario_t *s = calloc(1, sizeof *s);
	if (!s) {
		yaml_document_delete(&doc);
		return -ENOMEM;
	}
	defaults(s);
	s->path = strdup(p->file);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		perr(p, NULL, "empty scenario file");
	} else {
		walk_map(p, root, "scenario", top_key, s);
		if (!s->name)
			perr(p, root, "scenario: 'name' is required");
		if (!s->gateway.pool)
			s->gateway.pool = strdup("198.51.100.0/24");
		if (s->legit.clients && !s->legit.protocols)
			s->legit.protocols = LAB_HTTP;
		if (s->dns.ecs6 && (!s->dns.ecs || !s->gateway.pool6))
			perr(p, NULL, "dns.ecs6 (line %d): needs dns.ecs (ECS on) and gateway.pool6",
			     s->dns.ecs6_line);
		for (size_t i = 0; i < s->nattacks; i++) {
			lab_attack_t *a = &s->attacks[i];
			if (a->start_ms >= s->duration_ms)
				perr(p, NULL, "attack[%zu] (line %d): starts after the scenario ends", i, a->line);
			bool v6ok = a->kind == LAB_ATK_INVALID || a->kind == LAB_ATK_AWARE ||
				    a->kind == LAB_ATK_SWEEP || a->kind == LAB_ATK_NMAP || a->kind == LAB_ATK_HITLIST;
			if (a->family == 6 && !v6ok)
				perr(p, NULL, "attack[%zu] (line %d): family 6 is for invalid, aware, sweep, nmap "
				     "and hitlist attackers, not '%s'", i, a->line, lab_attack_kind_name(a->kind));
			else if (a->family == 6 && !s->gateway.pool6)
				perr(p, NULL, "attack[%zu] (line %d): family 6 needs gateway.pool6", i, a->line);
			if (a->sample && !(a->family == 6 && (a->kind == LAB_ATK_SWEEP || a->kind == LAB_ATK_NMAP)))
				perr(p, NULL, "attack[%zu] (line %d): 'sample' is for family 6 sweep and nmap "
				     "attackers (an IPv4 pool is swept whole)", i, a->sample_line);
			if (a->family == 6 && (a->kind == LAB_ATK_SWEEP || a->kind == LAB_ATK_NMAP) && !a->sample)
				a->sample = a->kind == LAB_ATK_NMAP ? 256 : 4096;
			if (s->expect.attack_reach_max == LAB_REACH_PREDICTED && a->kind != LAB_ATK_INVALID)
				perr(p, NULL, "expect.attack-reach-max (line %d): 'predicted' is the bound for "
				     "'invalid' attackers only; attack[%zu] (line %d) is '%s'",
				     s->expect.reach_line, i, a->line, lab_attack_kind_name(a->kind));
		}
		for (unsigned i = 0; i < 2; i++)
			if (s->legit.sizes[i].set && !(s->legit.protocols & (1u << i)))
				perr(p, NULL, "legit.sizes.%s (line %d): the legit clients do not speak %s "
				     "(legit.protocols)", i ? "https" : "http", s->legit.sizes[i].line,
				     i ? "https" : "http");
		if (s->legit.ipv6_share > 0 && !s->gateway.pool6)
			perr(p, NULL, "legit.ipv6 (line %d): IPv6 clients need gateway.pool6", s->legit.ipv6_line);
		if (s->legit.ipv6_share > 0 && s->legit.replay)
			perr(p, NULL, "legit.ipv6 (line %d): not with legit.replay", s->legit.ipv6_line);
		check_dist(p, s);
		if (s->expect.attack_reach_max == LAB_REACH_PREDICTED && s->nattacks == 0)
			perr(p, NULL, "expect.attack-reach-max (line %d): 'predicted' needs an 'invalid' attacker",
			     s->expect.reach_line);
	}
	yaml_document_delete(&doc);
	p->doc = NULL;
	if (p->errors) {
		lab_scenario_free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int lab_scenario_load_buffer(const char *name, const char *buf, size_t len,
			     lab_scenario_t **out, lab_diag_fn diag, void *ctx)
{
	pctx_t p = { .file = name, .diag = diag, .dctx = ctx };
	yaml_parser_t yp;
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	int rc = load(&p, &yp, out);
	yaml_parser_delete(&yp);
	return rc;
}

int lab_scenario_load(const char *path, lab_scenario_t **out, lab_diag_fn diag, void *ctx)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char msg[300];
		snprintf(msg, sizeof msg, "cannot open: %s", strerror(errno));
		if (diag)
			diag(ctx, path, 0, msg);
		return -errno;
	}
	pctx_t p = { .file = path, .diag = diag, .dctx = ctx };
	yaml_parser_t yp;
	if (!yaml_parser_initialize(&yp)) {
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&yp, f);
	int rc = load(&p, &yp, out);
	yaml_parser_delete(&yp);
	fclose(f);
	return rc;
}

void lab_scenario_free(lab_scenario_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nattacks; i++)
		free(s->attacks[i].name);
	free(s->attacks);
	free(s->path);
	free(s->name);
	free(s->description);
	free(s->gateway.pool);
	free(s->gateway.pool6);
	free(s->legit.replay);
	free(s);
}
