/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab results: JSON (machine-readable, what tests assert on), a
 * self-contained HTML report (inline SVG, no scripts, no external files:
 * it can be mailed or archived as is), the terminal summary table and the
 * scenario's expectations.
 */
#include "fluxlab/lab.h"
#include "fluxlab/report_dist.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t ld(_Atomic uint64_t *v)
{
	return atomic_load(v);
}

static uint64_t fails(lab_role_stats_t *s)
{
	return ld(&s->fail_dns) + ld(&s->fail_conn) + ld(&s->fail_timeout) + ld(&s->fail_other);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static uint64_t attack_reach_sessions(lab_run_t *r)
{
	uint64_t n = 0;
	for (size_t k = 0; k < r->sc->nattacks && k < LAB_MAX_ATTACKS; k++)
		n += ld(&r->atk[k].real);
	return n;
}

static uint64_t attack_reach_syn(lab_run_t *r)
{
	uint64_t n = 0;
	for (size_t k = 0; k < r->sc->nattacks && k < LAB_MAX_ATTACKS; k++)
		n += r->atk[k].srv_syn;
	return n;
}

static int nsecs(lab_run_t *r)
{
	int n = (int)ceil(r->sc->duration_ms / 1000.0);
	if (r->ser->nsamples > n)
		n = r->ser->nsamples;
	return n < LAB_MAX_SECS ? n : LAB_MAX_SECS;
}

typedef struct agg {
	double mean, max;
} agg_t;

static agg_t agg_d(const double *v, int n)
{
	agg_t a = { 0, 0 };
	for (int i = 0; i < n; i++) {
		a.mean += v[i];
		if (v[i] > a.max)
			a.max = v[i];
	}
	if (n)
		a.mean /= n;
	return a;
}

/* Figures of one address family (0 IPv4, 1 IPv6): its pool, how much of
 * it was open to anyone, its attackers' reach, and the aliasing arithmetic.
 *
 * expect.attack-reach-max: predicted. Each invalid session goes to a
 * uniformly drawn pool address and reaches the real server when that
 * address is open to anyone (T&E section 6.3.2): reach ~ Binomial(n, p)
 * with n the family's attacker sessions and p its measured mean open
 * fraction. The bound is the mean plus 4 standard deviations plus 3, so
 * that a correct gateway fails it far less than once in 10^4 runs; the SYN
 * count may exceed it by one retransmitted SYN per reaching session. */
typedef struct fam_figs {
	bool present;              /* the family has a pool */
	double size;               /* usable pool addresses */
	double open_addr, p;       /* mean addresses open to anyone; as a fraction */
	double fail_open_per_min;  /* answers/min that would keep every address open (T&E 6.3.2) */
	unsigned nattackers;
	uint64_t sessions, reach, reach_syn;   /* the family's attackers */
	double predicted;          /* n·p */
	long bound;
} fam_figs_t;

static void family_figs(lab_run_t *r, int f, fam_figs_t *o)
{
	memset(o, 0, sizeof *o);
	o->present = f == 0 || r->pool6_plen;
	if (!o->present)
		return;
	int ns = r->ser->nsamples;
	if (f == 0) {
		o->size = r->pool_size;
		o->p = agg_d(r->ser->open_frac, ns).mean;
		o->open_addr = o->p * o->size;
	} else {
		o->size = lab_pool6_size(r);
		o->open_addr = agg_d(r->ser->open6, ns).mean;
		o->p = o->size > 0 ? o->open_addr / o->size : 0;
	}
	o->p = o->p < 0 ? 0 : o->p > 1 ? 1 : o->p;
	/* an address stays open TTL (+ grace) after the answer that opened it */
	o->fail_open_per_min = o->size * 60.0 / (r->sc->gateway.ttl_ms / 1000.0);
	for (size_t k = 0; k < r->sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
		if ((r->sc->attacks[k].family == 6) != (f == 1))
			continue;
		o->nattackers++;
		o->sessions += ld(&r->atk[k].sessions);
		o->reach += ld(&r->atk[k].real);
		o->reach_syn += r->atk[k].srv_syn;
	}
	o->predicted = (double)o->sessions * o->p;
	o->bound = (long)ceil(o->predicted + 4.0 * sqrt(o->predicted * (1.0 - o->p)) + 3.0);
}

/* the predicted bound over both families (what `expect` prints) */
static long reach_bound(lab_run_t *r, double *mean_out)
{
	double mean = 0;
	long bound = 0;
	for (int f = 0; f < 2; f++) {
		fam_figs_t ff;
		family_figs(r, f, &ff);
		if (!ff.present || !ff.nattackers)
			continue;
		mean += ff.predicted;
		bound += ff.bound;
	}
	if (mean_out)
		*mean_out = mean;
	return bound;
}

static const char *fam_name[2] = { "ipv4", "ipv6" };

static long max_l(const long *v, int n)
{
	long m = 0;
	for (int i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static const char *dist_text(const lab_dist_spec_t *d, char *b, size_t l)
{
	switch (d->kind) {
	case LAB_DIST_NONE: snprintf(b, l, "none"); break;
	case LAB_DIST_CONST: snprintf(b, l, "const %gms", d->mean); break;
	case LAB_DIST_NORMAL: snprintf(b, l, "normal(%gms, %gms)", d->mean, d->stddev); break;
	case LAB_DIST_EXP: snprintf(b, l, "exponential(%gms)", d->mean); break;
	case LAB_DIST_PARETO: snprintf(b, l, "pareto(shape %g, min %gms)", d->shape, d->min); break;
	case LAB_DIST_GAMMA: snprintf(b, l, "gamma(shape %g, theta %gms)", d->shape, d->scale_param); break;
	case LAB_DIST_UNIFORM: snprintf(b, l, "uniform(%gms, %gms)", d->min, d->max); break;
	}
	if (d->scale != 1 && d->kind != LAB_DIST_NONE) {
		size_t o = strlen(b);
		snprintf(b + o, l - o, " x%g", d->scale);
	}
	return b;
}

static json_t *u32_series(_Atomic uint32_t *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(atomic_load(&v[i])));
	return a;
}

static json_t *d_series(const double *v, int n, double mul)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_real(round(v[i] * mul * 1000) / 1000));
	return a;
}

static json_t *l_series(const long *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *role_json(lab_role_stats_t *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "sessions", json_integer((json_int_t)ld(&s->sessions)));
	json_object_set_new(o, "real", json_integer((json_int_t)ld(&s->real)));
	json_object_set_new(o, "decoy", json_integer((json_int_t)ld(&s->decoy)));
	json_object_set_new(o, "failed", json_pack("{sI sI sI sI}", "dns", (json_int_t)ld(&s->fail_dns),
						   "connect", (json_int_t)ld(&s->fail_conn),
						   "timeout", (json_int_t)ld(&s->fail_timeout),
						   "other", (json_int_t)ld(&s->fail_other)));
	json_object_set_new(o, "syn_at_server", json_integer((json_int_t)s->srv_syn));
	json_object_set_new(o, "syn_at_decoys", json_integer((json_int_t)s->dcy_syn));
	static const char *pn[] = { "http", "https", "ssh", "smtp" };
	json_t *pp = json_object();
	for (int i = 0; i < 4; i++)
		if (ld(&s->per_proto_real[i]) || ld(&s->per_proto_decoy[i]))
			json_object_set_new(pp, pn[i], json_pack("{sI sI}", "real", (json_int_t)ld(&s->per_proto_real[i]),
								 "decoy", (json_int_t)ld(&s->per_proto_decoy[i])));
	json_object_set_new(o, "per_protocol", pp);
	return o;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* p50/p99/max of v[0..n) (sorted here), in ms */
static json_t *pct_json(double *v, size_t n)
{
	if (!n)
		return json_pack("{sn sn sn}", "p50", "p99", "max");
	qsort(v, n, sizeof *v, cmp_d);
	return json_pack("{sf sf sf}", "p50", v[(n - 1) / 2] * 1000, "p99", v[(size_t)((double)(n - 1) * 0.99)] * 1000,
			 "max", v[n - 1] * 1000);
}

static const char *mis_class_name(const lab_misroute_t *m)
{
	return m->late == 0 ? "product" : m->late == 2 ? "late-retransmitted" : m->late == 3 ? "connected" : "late";
}

/* The misroutes' client-side causes (misrouted = answered by a decoy):
 * answer -> first SYN, and how long after its grant's end the SYN that
 * counted left; the first LAB_MIS_JSON timelines, decoy ones first. */
static json_t *misroutes_json(lab_run_t *r)
{
	static const char *from[3] = { "fresh", "resolver_cache", "host_cache" };
	static const char *proto[4] = { "http", "https", "ssh", "smtp" };
	json_t *o = json_object(), *a = json_array();
	size_t n = r->nmis, nd = 0, nl = 0;
	double *a2s = calloc(n + 1, sizeof *a2s), *aft = calloc(n + 1, sizeof *aft);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			const lab_misroute_t *m = &r->mis[i];
			if ((m->outcome == 1) != (pass == 0))
				continue;
			if (pass == 0 && a2s && aft) {
				a2s[nd++] = m->t_syn - m->t_answer;
				if (m->late)
					aft[nl++] = m->after;
			}
			if (json_array_size(a) >= LAB_MIS_JSON)
				continue;
			char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
			int af = m->fam == 6 ? AF_INET6 : AF_INET;
			inet_ntop(af, m->src, src, sizeof src);
			inet_ntop(af, m->dst, dst, sizeof dst);
			json_t *x = json_pack("{si ss ss ss si ss ss si si}", "family", m->fam, "outcome",
					      m->outcome == 1 ? "decoy" : "unanswered", "class", mis_class_name(m),
					      "src", src, "sport", m->sport, "dst", dst, "proto", proto[m->proto & 3],
					      "ttl", (int)m->ttl, "syn_retrans", (int)m->syn_retrans);
			json_object_set_new(x, "answer_from", json_string(from[m->from < 3 ? m->from : 0]));
			json_object_set_new(x, "t_query", json_real(m->t_query));
			json_object_set_new(x, "t_answer", json_real(m->t_answer));
			json_object_set_new(x, "t_answer_read", json_real(m->t_answer_seen));
			json_object_set_new(x, "t_syn", json_real(m->t_syn));
			json_object_set_new(x, "t_connected", m->t_conn > 0 ? json_real(m->t_conn) : json_null());
			json_object_set_new(x, "t_end", json_real(m->t_end));
			json_object_set_new(x, "answer_to_syn_ms", json_real((m->t_syn - m->t_answer) * 1000));
			if (r->explained)
				json_object_set_new(x, "after_grant_end_ms", json_real(m->after * 1000));
			json_array_append_new(a, x);
		}
	json_object_set_new(o, "answer_to_syn_ms", pct_json(a2s, a2s ? nd : 0));
	json_object_set_new(o, "after_grant_end_ms", pct_json(aft, aft ? nl : 0));
	json_object_set_new(o, "sessions", a);
	free(a2s);
	free(aft);
	return o;
}

static json_t *build_json(lab_run_t *r)
{
	lab_scenario_t *sc = r->sc;
	int n = nsecs(r);
	char b1[128], b2[128], pr[64];
	json_t *root = json_object();
	json_object_set_new(root, "scenario",
			    json_pack("{ss ss sf si ss ss ss ss ss sf sf sf sI}", "name", sc->name, "file", sc->path,
				      "duration_s", sc->duration_ms / 1000.0, "clients", (int)sc->legit.clients,
				      "dns", sc->dns.resolver ? "resolver" : "direct",
				      "protocols", lab_proto_names(sc->legit.protocols, pr, sizeof pr),
				      "think", dist_text(&sc->legit.think, b1, sizeof b1),
				      "latency", dist_text(&sc->legit.latency, b2, sizeof b2),
				      "pool", sc->gateway.pool, "ttl_s", sc->gateway.ttl_ms / 1000.0,
				      "grace_s", sc->gateway.grace_ms / 1000.0, "pin_s", sc->gateway.pin_ms / 1000.0,
				      "seed", (json_int_t)sc->seed));
	lab_role_stats_t *L = &r->legit;
	uint64_t routed = ld(&L->real) + ld(&L->decoy);
	json_t *lj = role_json(L);
	json_object_set_new(lj, "misrouted", json_integer((json_int_t)ld(&L->decoy)));
	json_object_set_new(lj, "routed", json_integer((json_int_t)routed));
	json_object_set_new(lj, "misrouted_ratio", json_real(ratio(ld(&L->decoy), routed)));
	snprintf(b1, sizeof b1, "%llu/%llu (%.0f%%)", (unsigned long long)ld(&L->decoy),
		 (unsigned long long)routed, 100 * ratio(ld(&L->decoy), routed));
	json_object_set_new(lj, "misrouted_text", json_string(b1));
	json_object_set_new(lj, "ok_ratio", json_real(ratio(ld(&L->real), ld(&L->sessions))));
	json_object_set_new(lj, "dns_queries", json_integer((json_int_t)ld(&L->dns_queries)));
	json_object_set_new(lj, "dns_answers", json_integer((json_int_t)ld(&L->dns_answers)));
	/* stub mode: the answer waits for the kernel's grant ACK, so this is
	 * the grant latency as a client sees it */
	json_object_set_new(lj, "dns_latency_ms",
			    json_pack("{sf sf sf}", "p50", lab_hist_quantile(r->dns_lat, 0.5), "p99",
				      lab_hist_quantile(r->dns_lat, 0.99), "max", lab_hist_quantile(r->dns_lat, 1.0)));
	json_object_set_new(lj, "misrouted_explained",
			    json_pack("{sI sI sI ss}", "late", (json_int_t)ld(&L->mis_late), "product",
				      (json_int_t)ld(&L->mis_product), "late_retransmitted",
				      (json_int_t)(r->mis_retrans[0] + r->mis_retrans[1]), "basis",
				      r->explained ? "grants" : "ttl"));
	json_object_set_new(lj, "gateway_conntrack_drops", json_integer((json_int_t)r->ct_drops));
	json_object_set_new(lj, "failed_explained",
			    json_pack("{sI sI sI}", "late", (json_int_t)ld(&L->fail_late), "product",
				      (json_int_t)ld(&L->fail_product), "connected", (json_int_t)r->fail_connected));
	json_object_set_new(lj, "misroutes", misroutes_json(r));
	json_object_set_new(lj, "answers", json_pack("{sI sI sI}", "from_cache", (json_int_t)ld(&L->ans_cached),
						     "fresh", (json_int_t)ld(&L->ans_fresh), "host_cache",
						     (json_int_t)ld(&L->ans_host_cache)));
	json_object_set_new(lj, "answer_to_syn_ms",
			    json_pack("{sf sf sf}", "p50", lab_hist_quantile(r->syn_delay, 0.5), "p99",
				      lab_hist_quantile(r->syn_delay, 0.99), "max", lab_hist_quantile(r->syn_delay, 1.0)));
	if (r->sizes) {
		/* what the clients drew against what they got, so a server
		 * that does not serve the drawn size shows */
		json_t *zj = json_object();
		for (unsigned i = 0; i < 2; i++) {
			if (!r->sc->legit.sizes[i].set)
				continue;
			lab_size_stats_t *z = &r->sizes[i];
			json_object_set_new(zj, i ? "https" : "http",
				json_pack("{sI sI s{sf sf} s{sf sf} s{sf sf} sI sI s{sI sI}}",
					  "sessions", (json_int_t)ld(&z->drawn), "answered", (json_int_t)ld(&z->answered),
					  "request", "p50", lab_hist_quantile(&z->req, 0.5), "p99",
					  lab_hist_quantile(&z->req, 0.99),
					  "reply", "p50", lab_hist_quantile(&z->rep, 0.5), "p99",
					  lab_hist_quantile(&z->rep, 0.99),
					  "received", "p50", lab_hist_quantile(&z->got, 0.5), "p99",
					  lab_hist_quantile(&z->got, 0.99),
					  "reply_bytes", (json_int_t)ld(&z->rep_bytes),
					  "received_bytes", (json_int_t)ld(&z->got_bytes),
					  "mismatch", "real", (json_int_t)ld(&z->mismatch_real), "decoy",
					  (json_int_t)ld(&z->mismatch_decoy)));
		}
		json_object_set_new(lj, "sizes", zj);
	}
	json_object_set_new(root, "legit", lj);
	/* every figure per family: legit outcome, the pool's open share, the
	 * attackers' reach against the aliasing arithmetic */
	json_t *fams = json_object();
	for (int f = 0; f < 2; f++) {
		fam_figs_t ff;
		family_figs(r, f, &ff);
		if (!ff.present)
			continue;
		lab_role_stats_t *F = &r->fam[f];
		uint64_t fr = ld(&F->real) + ld(&F->decoy);
		json_t *fo = json_object();
		json_object_set_new(fo, "pool", json_string(f ? sc->gateway.pool6 : sc->gateway.pool));
		json_object_set_new(fo, "pool_size", json_real(ff.size));
		json_t *fl = role_json(F);
		json_object_set_new(fl, "misrouted_ratio", json_real(ratio(ld(&F->decoy), fr)));
		json_object_set_new(fl, "ok_ratio", json_real(ratio(ld(&F->real), ld(&F->sessions))));
		json_object_set_new(fo, "legit", fl);
		json_object_set_new(fo, "open_addresses_mean", json_real(ff.open_addr));
		json_object_set_new(fo, "open_fraction_mean", json_real(ff.p));
		json_object_set_new(fo, "fail_open_answers_per_min", json_real(ff.fail_open_per_min));
		json_object_set_new(fo, "attack",
				    json_pack("{si sI sI sI sf sI}", "attackers", (int)ff.nattackers,
					      "sessions", (json_int_t)ff.sessions, "reach_sessions",
					      (json_int_t)ff.reach, "reach_syn_at_server", (json_int_t)ff.reach_syn,
					      "reach_predicted", ff.predicted, "reach_bound", (json_int_t)ff.bound));
		json_object_set_new(fams, fam_name[f], fo);
	}
	json_object_set_new(root, "families", fams);
	json_t *atk = json_array();
	for (size_t k = 0; k < sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
		lab_attack_t *a = &sc->attacks[k];
		lab_role_stats_t *s = &r->atk[k];
		json_t *o = role_json(s);
		json_object_set_new(o, "name", json_string(a->name));
		json_object_set_new(o, "type", json_string(lab_attack_kind_name(a->kind)));
		json_object_set_new(o, "family", json_integer(a->family));
		json_object_set_new(o, "probes", json_integer((json_int_t)ld(&s->probes)));
		json_object_set_new(o, "packets", json_integer((json_int_t)ld(&s->pkts)));
		int64_t fh = atomic_load(&s->first_hit);
		json_object_set_new(o, "probes_to_first_hit", fh < 0 ? json_null() : json_integer(fh));
		json_object_set_new(o, "pool_size", json_real(a->family == 6 ? lab_pool6_size(r) : r->pool_size));
		json_object_set_new(o, "start_s", json_real(s->t_start));
		json_object_set_new(o, "end_s", json_real(s->t_end));
		if (s->note[0])
			json_object_set_new(o, "note", json_string(s->note));
		if (lab_attack_is_flood(a->kind))
			json_object_set_new(o, "flood", json_pack("{sf ss sb}", "peak_rate", a->rate, "dynamics",
								  a->dynamics == LAB_DYN_FLAT ? "flat"
								  : a->dynamics == LAB_DYN_PULSE ? "pulse"
								  : a->dynamics == LAB_DYN_RAMP_UP ? "ramp-up" : "ramp-down",
								  "spoof", a->spoof));
		json_array_append_new(atk, o);
	}
	json_object_set_new(root, "attackers", atk);
	json_object_set_new(root, "attack",
			    json_pack("{sI sI}", "reach_sessions", (json_int_t)attack_reach_sessions(r),
				      "reach_syn_at_server", (json_int_t)attack_reach_syn(r)));
	lab_series_t *S = r->ser;
	int ns = S->nsamples;
	agg_t ans = agg_d(S->answers_ps, ns), open = agg_d(S->open_frac, ns), cpu = agg_d(S->cpu_pct, ns);
	json_t *gw = json_object();
	json_object_set_new(gw, "dns_answers_per_s", json_pack("{sf sf}", "mean", ans.mean, "max", ans.max));
	json_object_set_new(gw, "open_fraction", json_pack("{sf sf}", "mean", open.mean, "max", open.max));
	json_object_set_new(gw, "conntrack_max", json_integer(max_l(S->conntrack, ns)));
	long slab_max = max_l(S->slab_kb, ns);
	json_object_set_new(gw, "slab_kb", json_pack("{sI sI}", "before", (json_int_t)lab_slab0(), "max", (json_int_t)slab_max));
	json_object_set_new(gw, "fluxgated_cpu_pct", json_pack("{sf sf sf}", "mean", cpu.mean, "max", cpu.max,
								"total_cpu_s", lab_fluxgated_cpu_s()));
	json_t *st = lab_fluxgated_stats();
	if (st)
		json_object_set(gw, "fluxctl_stats", st);
	json_object_set_new(root, "gateway", gw);
	json_t *ser = json_object();
	json_object_set_new(ser, "legit_real", u32_series(S->legit_real, n));
	json_object_set_new(ser, "legit_decoy", u32_series(S->legit_decoy, n));
	json_object_set_new(ser, "legit_failed", u32_series(S->legit_fail, n));
	json_object_set_new(ser, "attack_real", u32_series(S->atk_real, n));
	json_object_set_new(ser, "attack_decoy", u32_series(S->atk_decoy, n));
	json_object_set_new(ser, "attack_failed", u32_series(S->atk_fail, n));
	json_object_set_new(ser, "flood_packets", u32_series(S->atk_pkts, n));
	json_object_set_new(ser, "dns_answers_per_s", d_series(S->answers_ps, ns, 1));
	json_object_set_new(ser, "open_fraction", d_series(S->open_frac, ns, 1));
	json_object_set_new(ser, "conntrack", l_series(S->conntrack, ns));
	json_object_set_new(ser, "slab_kb", l_series(S->slab_kb, ns));
	json_object_set_new(ser, "fluxgated_cpu_pct", d_series(S->cpu_pct, ns, 1));
	json_object_set_new(root, "series", ser);
	report_dist_json(r, root);
	if (sc->expect.set) {
		json_t *ex = json_pack("{sf sf sb}", "legit_misrouted_max", sc->expect.legit_misrouted_max,
				       "legit_ok_min", sc->expect.legit_ok_min, "passed",
				       report_check(r, NULL) == 0);
		if (sc->expect.attack_reach_max == LAB_REACH_PREDICTED) {
			double mean;
			long bound = reach_bound(r, &mean);
			json_object_set_new(ex, "attack_reach_max", json_string("predicted"));
			json_object_set_new(ex, "attack_reach_predicted", json_real(mean));
			json_object_set_new(ex, "attack_reach_bound", json_integer(bound));
		} else {
			json_object_set_new(ex, "attack_reach_max", json_integer(sc->expect.attack_reach_max));
		}
		json_object_set_new(root, "expect", ex);
	}
	return root;
}

int report_json(lab_run_t *r, const char *path)
{
	json_t *j = build_json(r);
	int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (rc < 0)
		lab_log("cannot write %s", path);
	return rc;
}

/* ------------------------------------------------------------ HTML */

typedef struct line {
	const char *name, *color;
	double v[LAB_MAX_SECS];
} line_t;

static void svg_chart(FILE *f, const char *title, const char *unit, line_t *ls, int nl, int n)
{
	const double W = 760, H = 220, L = 60, R = 150, T = 25, B = 30;
	double max = 0;
	for (int i = 0; i < nl; i++)
		for (int t = 0; t < n; t++)
			if (ls[i].v[t] > max)
				max = ls[i].v[t];
	if (max <= 0)
		max = 1;
	/* a round top for the axis */
	double mag = pow(10, floor(log10(max))), top = ceil(max / mag) * mag;
	fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' role='img'>\n", W, H);
	fprintf(f, "<text x='%.0f' y='16' font-size='13' font-weight='bold'>%s</text>\n", L, title);
	fprintf(f, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#999'/>\n", L, T,
		W - L - R, H - T - B);
	for (int g = 0; g <= 4; g++) {
		double y = T + (H - T - B) * (1 - g / 4.0);
		fprintf(f, "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#eee'/>"
			   "<text x='%.0f' y='%.1f' font-size='10' text-anchor='end'>%g</text>\n",
			L, W - R, y, y, L - 4, y + 3, top * g / 4);
	}
	for (int s = 0; s <= 4; s++) {
		double x = L + (W - L - R) * s / 4.0;
		fprintf(f, "<text x='%.1f' y='%.0f' font-size='10' text-anchor='middle'>%.0fs</text>\n", x, H - B + 14,
			(double)(n > 1 ? n - 1 : 1) * s / 4.0);
	}
	fprintf(f, "<text x='%.0f' y='%.0f' font-size='10'>%s</text>\n", 4.0, T + 10, unit);
	for (int i = 0; i < nl; i++) {
		fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.6' points='", ls[i].color);
		for (int t = 0; t < n; t++) {
			double x = L + (W - L - R) * (n > 1 ? (double)t / (n - 1) : 0);
			double y = T + (H - T - B) * (1 - ls[i].v[t] / top);
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		fprintf(f, "'/>\n<rect x='%.0f' y='%.0f' width='10' height='10' fill='%s'/>"
			   "<text x='%.0f' y='%.0f' font-size='11'>%s</text>\n",
			W - R + 10, T + 4 + i * 16.0, ls[i].color, W - R + 24, T + 13 + i * 16.0, ls[i].name);
	}
	fprintf(f, "</svg>\n");
}

static void html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

int report_html(lab_run_t *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		lab_log("cannot write %s", path);
		return -1;
	}
	lab_series_t *S = r->ser;
	int n = nsecs(r), ns = S->nsamples;
	static line_t ls[4];
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>fluxlab: ");
	html_escape(f, r->sc->name);
	fprintf(f, "</title><style>body{font-family:sans-serif;max-width:900px;margin:2em auto}"
		   "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
		   "th{background:#f4f4f4}pre{background:#f8f8f8;padding:1em}</style></head><body>\n");
	fprintf(f, "<h1>fluxlab: ");
	html_escape(f, r->sc->name);
	fprintf(f, "</h1>\n<p>");
	html_escape(f, r->sc->description);
	fprintf(f, "</p>\n<pre>");
	FILE *mem = tmpfile();
	if (mem) {
		report_summary(r, mem);
		if (r->sc->expect.set)
			report_check(r, mem);
		rewind(mem);
		char line[512];
		while (fgets(line, sizeof line, mem))
			html_escape(f, line);
		fclose(mem);
	}
	fprintf(f, "</pre>\n<h2>Sessions over time</h2>\n");
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "legit: real", .color = "#1a9850" };
	ls[1] = (line_t){ .name = "legit: decoy", .color = "#a6d96a" };
	ls[2] = (line_t){ .name = "attack: real", .color = "#d73027" };
	ls[3] = (line_t){ .name = "attack: decoy", .color = "#f46d43" };
	for (int t = 0; t < n; t++) {
		ls[0].v[t] = atomic_load(&S->legit_real[t]);
		ls[1].v[t] = atomic_load(&S->legit_decoy[t]);
		ls[2].v[t] = atomic_load(&S->atk_real[t]);
		ls[3].v[t] = atomic_load(&S->atk_decoy[t]);
	}
	svg_chart(f, "Application sessions per second, by who answered", "per s", ls, 4, n);
	bool flood = false;
	for (int t = 0; t < n; t++)
		flood |= atomic_load(&S->atk_pkts[t]) > 0;
	if (flood) {
		memset(ls, 0, sizeof ls);
		ls[0] = (line_t){ .name = "flood packets", .color = "#d73027" };
		for (int t = 0; t < n; t++)
			ls[0].v[t] = atomic_load(&S->atk_pkts[t]);
		svg_chart(f, "Flood packets sent per second", "pkt/s", ls, 1, n);
	}
	fprintf(f, "<h2>Gateway</h2>\n");
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "DNS answers/s", .color = "#1a9850" };
	for (int t = 0; t < ns; t++)
		ls[0].v[t] = S->answers_ps[t];
	svg_chart(f, "fluxgated DNS answers per second", "per s", ls, 1, ns);
	if (r->dist) {
		/* distributed: legit answers by the share (agent) they carried */
		static const char *col[] = { "#1a9850", "#4575b4", "#d73027", "#762a83" };
		static char nm[LAB_MAX_AGENTS][16];
		memset(ls, 0, sizeof ls);
		for (unsigned k = 0; k < r->dist->nshares && k < 4; k++) {
			snprintf(nm[k], sizeof nm[k], r->sc->gateway.pair ? "pair" : "ag%u", k + 1);
			ls[k] = (line_t){ .name = nm[k], .color = col[k] };
			for (int t = 0; t < n; t++)
				ls[k].v[t] = atomic_load(&r->dist->answers[k][t]);
		}
		svg_chart(f, "Legit DNS answers per second, by the agent owning the address", "per s", ls,
			  (int)r->dist->nshares, n);
	}
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "open fraction", .color = "#d73027" };
	for (int t = 0; t < ns; t++)
		ls[0].v[t] = S->open_frac[t];
	svg_chart(f, "Fraction of the pool open to anyone", "fraction", ls, 1, ns);
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "conntrack", .color = "#4575b4" };
	for (int t = 0; t < ns; t++)
		ls[0].v[t] = (double)S->conntrack[t];
	svg_chart(f, "Conntrack entries in the gateway namespace", "entries", ls, 1, ns);
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "fluxgated CPU", .color = "#762a83" };
	for (int t = 0; t < ns; t++)
		ls[0].v[t] = S->cpu_pct[t];
	svg_chart(f, "fluxgated CPU (both processes, % of one core)", "%", ls, 1, ns);
	memset(ls, 0, sizeof ls);
	ls[0] = (line_t){ .name = "slab", .color = "#777" };
	for (int t = 0; t < ns; t++)
		ls[0].v[t] = (double)S->slab_kb[t] / 1024.0;
	svg_chart(f, "Kernel slab memory (whole machine)", "MiB", ls, 1, ns);
	fprintf(f, "<p>Generated by fluxlab from <code>");
	html_escape(f, r->sc->path);
	fprintf(f, "</code>.</p></body></html>\n");
	return fclose(f) ? -1 : 0;
}

/* ------------------------------------------------------------ terminal */

/* Both families side by side (only with gateway.pool6): the legit outcome
 * and the attackers' reach against the T&E 6.3.2 arithmetic. */
static void family_table(lab_run_t *r, FILE *f)
{
	fam_figs_t ff[2];
	char h[2][96];
	for (int i = 0; i < 2; i++) {
		family_figs(r, i, &ff[i]);
		snprintf(h[i], sizeof h[i], "%s %s", i ? "IPv6" : "IPv4", i ? r->sc->gateway.pool6 : r->sc->gateway.pool);
	}
	fprintf(f, "\n%-28s %-24s %-24s\n", "per family", h[0], h[1]);
	char a[2][64];
#define ROW(label, ...)                                                   \
	do {                                                              \
		for (int i = 0; i < 2; i++)                               \
			snprintf(a[i], sizeof a[i], __VA_ARGS__);         \
		fprintf(f, "%-28s %-24s %-24s\n", label, a[0], a[1]);     \
	} while (0)
	ROW("pool addresses", "%.4g", ff[i].size);
	ROW("legit sessions", "%llu", (unsigned long long)ld(&r->fam[i].sessions));
	ROW("  real / decoy / failed", "%llu / %llu / %llu", (unsigned long long)ld(&r->fam[i].real),
	    (unsigned long long)ld(&r->fam[i].decoy), (unsigned long long)fails(&r->fam[i]));
	ROW("  SYNs at server / decoys", "%llu / %llu", (unsigned long long)r->fam[i].srv_syn,
	    (unsigned long long)r->fam[i].dcy_syn);
	ROW("open to anyone (mean)", "%.2f addr (%.3g)", ff[i].open_addr, ff[i].p);
	ROW("fail open at (T&E 6.3.2)", "%.4g answers/min", ff[i].fail_open_per_min);
	ROW("attacker sessions n", "%llu", (unsigned long long)ff[i].sessions);
	ROW("reach predicted n*p", "%.3g", ff[i].predicted);
	ROW("reach bound", "%ld", ff[i].nattackers ? ff[i].bound : 0L);
	ROW("reach measured", "%llu sessions, %llu SYNs", (unsigned long long)ff[i].reach,
	    (unsigned long long)ff[i].reach_syn);
#undef ROW
}

void report_summary(lab_run_t *r, FILE *f)
{
	lab_scenario_t *sc = r->sc;
	lab_role_stats_t *L = &r->legit;
	char b1[128], b2[128], pr[64];
	uint64_t routed = ld(&L->real) + ld(&L->decoy);
	fprintf(f, "\n== fluxlab: %s (%.0f s, %u clients, %s, %s, think %s, latency %s)\n", sc->name,
		sc->duration_ms / 1000.0, sc->legit.clients, sc->dns.resolver ? "via unbound" : "stub",
		lab_proto_names(sc->legit.protocols, pr, sizeof pr),
		sc->legit.replay ? (snprintf(b1, sizeof b1, "replayed from %s", sc->legit.replay), b1)
				 : dist_text(&sc->legit.think, b1, sizeof b1),
		dist_text(&sc->legit.latency, b2, sizeof b2));
	fprintf(f, "%-28s %s\n", "", "value");
	fprintf(f, "%-28s %llu\n", "legit sessions", (unsigned long long)ld(&L->sessions));
	fprintf(f, "%-28s %llu\n", "  answered by real server", (unsigned long long)ld(&L->real));
	fprintf(f, "%-28s %llu\n", "  answered by a decoy", (unsigned long long)ld(&L->decoy));
	fprintf(f, "%-28s %llu (dns %llu, connect %llu, timeout %llu, other %llu)\n", "  failed",
		(unsigned long long)fails(L), (unsigned long long)ld(&L->fail_dns),
		(unsigned long long)ld(&L->fail_conn), (unsigned long long)ld(&L->fail_timeout),
		(unsigned long long)ld(&L->fail_other));
	fprintf(f, "%-28s %llu/%llu (%.2f%%)\n", "misrouted / routed (T&E)", (unsigned long long)ld(&L->decoy),
		(unsigned long long)routed, 100 * ratio(ld(&L->decoy), routed));
	if (r->explained)
		fprintf(f, "%-28s late %llu (first SYN after its grant ended; %llu by a retransmitted SYN), "
			   "product %llu (a grant was live)\n",
			"  misrouted, explained", (unsigned long long)ld(&L->mis_late),
			(unsigned long long)(r->mis_retrans[0] + r->mis_retrans[1]),
			(unsigned long long)ld(&L->mis_product));
	else
		fprintf(f, "%-28s late %llu (client connected after TTL + grace), product %llu (within it)\n",
			"  misrouted, explained", (unsigned long long)ld(&L->mis_late),
			(unsigned long long)ld(&L->mis_product));
	if (ld(&L->decoy)) {
		/* the client-side causes of the misroutes, from their timelines */
		json_t *mj = misroutes_json(r);
		json_t *a2 = json_object_get(mj, "answer_to_syn_ms"), *af = json_object_get(mj, "after_grant_end_ms");
		fprintf(f, "%-28s answer -> SYN p50 %.0f, p99 %.0f, max %.0f ms; SYN after grant end p50 %.0f, max %.0f ms; "
			   "gateway conntrack drops %llu\n",
			"  misrouted, client delays", json_real_value(json_object_get(a2, "p50")),
			json_real_value(json_object_get(a2, "p99")), json_real_value(json_object_get(a2, "max")),
			json_real_value(json_object_get(af, "p50")), json_real_value(json_object_get(af, "max")),
			(unsigned long long)r->ct_drops);
		json_decref(mj);
	}
	fprintf(f, "%-28s late %llu, product %llu (connect failures and timeouts after the SYN)\n",
		"  failed, explained", (unsigned long long)ld(&L->fail_late),
		(unsigned long long)ld(&L->fail_product));
	if (r->fail_connected)
		fprintf(f, "%-28s %llu (the handshake was made, then no reply in time: a slow server or engine)\n",
			"  failed after connecting", (unsigned long long)r->fail_connected);
	fprintf(f, "%-28s p50 %.2f ms, p99 %.2f ms\n", "DNS answer latency", lab_hist_quantile(r->dns_lat, 0.5),
		lab_hist_quantile(r->dns_lat, 0.99));
	fprintf(f, "%-28s p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", "client answer -> SYN",
		lab_hist_quantile(r->syn_delay, 0.5), lab_hist_quantile(r->syn_delay, 0.99),
		lab_hist_quantile(r->syn_delay, 1.0));
	for (unsigned i = 0; r->sizes && i < 2; i++) {
		if (!r->sc->legit.sizes[i].set)
			continue;
		lab_size_stats_t *z = &r->sizes[i];
		fprintf(f, "%-28s request p50 %.0f p99 %.0f B, reply p50 %.0f p99 %.0f B drawn; "
			"received p50 %.0f p99 %.0f B (%llu/%llu B), %llu+%llu of %llu bodies off size (real+decoy)\n",
			i ? "  sizes https" : "  sizes http",
			lab_hist_quantile(&z->req, 0.5), lab_hist_quantile(&z->req, 0.99),
			lab_hist_quantile(&z->rep, 0.5), lab_hist_quantile(&z->rep, 0.99),
			lab_hist_quantile(&z->got, 0.5), lab_hist_quantile(&z->got, 0.99),
			(unsigned long long)ld(&z->got_bytes), (unsigned long long)ld(&z->rep_bytes),
			(unsigned long long)ld(&z->mismatch_real), (unsigned long long)ld(&z->mismatch_decoy),
			(unsigned long long)ld(&z->answered));
	}
	fprintf(f, "%-28s %llu from the resolver's cache, %llu fresh, %llu from a host cache\n", "answers used",
		(unsigned long long)ld(&L->ans_cached), (unsigned long long)ld(&L->ans_fresh),
		(unsigned long long)ld(&L->ans_host_cache));
	fprintf(f, "%-28s at server %llu, at decoys %llu\n", "legit SYNs (ground truth)",
		(unsigned long long)L->srv_syn, (unsigned long long)L->dcy_syn);
	if (sc->nattacks) {
		fprintf(f, "\n%-14s %-9s %3s %9s %7s %7s %9s %9s %10s %10s\n", "attacker", "type", "fam", "probes", "real",
			"decoy", "1st hit", "pkts@srv", "pkts@decoy", "sent");
		for (size_t k = 0; k < sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
			lab_role_stats_t *s = &r->atk[k];
			int64_t fh = atomic_load(&s->first_hit);
			char fhs[32];
			if (fh < 0)
				snprintf(fhs, sizeof fhs, "none");
			else
				snprintf(fhs, sizeof fhs, "%lld", (long long)fh);
			fprintf(f, "%-14.14s %-9s %3u %9llu %7llu %7llu %9s %9llu %10llu %10llu\n", sc->attacks[k].name,
				lab_attack_kind_name(sc->attacks[k].kind), sc->attacks[k].family,
				(unsigned long long)ld(&s->probes),
				(unsigned long long)ld(&s->real), (unsigned long long)ld(&s->decoy), fhs,
				(unsigned long long)s->srv_syn, (unsigned long long)s->dcy_syn,
				(unsigned long long)ld(&s->pkts));
			if (s->note[0])
				fprintf(f, "%-14s   %s\n", "", s->note);
		}
		fprintf(f, "%-28s %llu sessions, %llu SYNs at the real server\n", "attacker reach",
			(unsigned long long)attack_reach_sessions(r), (unsigned long long)attack_reach_syn(r));
	}
	if (r->pool6_plen)
		family_table(r, f);
	lab_series_t *S = r->ser;
	int ns = S->nsamples;
	agg_t ans = agg_d(S->answers_ps, ns), open = agg_d(S->open_frac, ns), cpu = agg_d(S->cpu_pct, ns);
	fprintf(f, "\n%-28s mean %.0f, max %.0f\n", "fluxgated DNS answers/s", ans.mean, ans.max);
	fprintf(f, "%-28s mean %.3f, max %.3f\n", "pool open to anyone", open.mean, open.max);
	fprintf(f, "%-28s max %ld\n", "conntrack entries (gw)", max_l(S->conntrack, ns));
	fprintf(f, "%-28s %+ld kB (max %ld kB)\n", "kernel slab (machine)", max_l(S->slab_kb, ns) - lab_slab0(),
		max_l(S->slab_kb, ns));
	fprintf(f, "%-28s mean %.1f%%, max %.1f%% of one core\n", "fluxgated CPU", cpu.mean, cpu.max);
	report_dist_summary(r, f);
}

int report_check(lab_run_t *r, FILE *f)
{
	lab_scenario_t *sc = r->sc;
	lab_role_stats_t *L = &r->legit;
	uint64_t routed = ld(&L->real) + ld(&L->decoy);
	double mis = ratio(ld(&L->decoy), routed), okr = ratio(ld(&L->real), ld(&L->sessions));
	long reach = (long)(attack_reach_syn(r) > attack_reach_sessions(r) ? attack_reach_syn(r)
									  : attack_reach_sessions(r));
	int bad = 0;
	struct {
		const char *what;
		bool ok;
		char detail[128];
	} c[3];
	c[0].what = "legit misrouted ratio";
	c[0].ok = mis <= sc->expect.legit_misrouted_max;
	snprintf(c[0].detail, sizeof c[0].detail, "%.4f <= %.4f", mis, sc->expect.legit_misrouted_max);
	c[1].what = "attacker reach";
	c[1].ok = sc->expect.attack_reach_max < 0 || reach <= sc->expect.attack_reach_max;
	if (sc->expect.attack_reach_max == LAB_REACH_PREDICTED) {
		double mean;
		long bound = reach_bound(r, &mean);
		long rs = (long)attack_reach_sessions(r), ry = (long)attack_reach_syn(r);
		/* each family against its own open fraction */
		c[1].ok = true;
		for (int fi = 0; fi < 2; fi++) {
			fam_figs_t ff;
			family_figs(r, fi, &ff);
			if (ff.present && ff.nattackers &&
			    ((long)ff.reach > ff.bound || (long)ff.reach_syn > 2 * ff.bound))
				c[1].ok = false;
		}
		snprintf(c[1].detail, sizeof c[1].detail,
			 "sessions %ld <= %ld and SYNs %ld <= %ld: aliasing predicts %.1f", rs, bound, ry,
			 2 * bound, mean);
	} else if (sc->expect.attack_reach_max < 0)
		snprintf(c[1].detail, sizeof c[1].detail, "%ld, no limit set", reach);
	else
		snprintf(c[1].detail, sizeof c[1].detail, "%ld <= %ld", reach, sc->expect.attack_reach_max);
	c[2].what = "legit sessions reaching the real server";
	c[2].ok = okr >= sc->expect.legit_ok_min && (sc->legit.clients == 0 || ld(&L->sessions) > 0);
	snprintf(c[2].detail, sizeof c[2].detail, "%.4f >= %.4f", okr, sc->expect.legit_ok_min);
	if (f)
		fprintf(f, "\nexpectations:\n");
	for (int i = 0; i < 3; i++) {
		if (!c[i].ok)
			bad++;
		if (f)
			fprintf(f, "  %-4s %s (%s)\n",
				i == 1 && sc->expect.attack_reach_max == -1 ? "info" : c[i].ok ? "ok" : "FAIL",
				c[i].what, c[i].detail);
	}
	bad += report_dist_check(r, f);
	return bad ? 1 : 0;
}
