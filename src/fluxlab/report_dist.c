/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab report, distributed mode: per share of the pool (the agent that
 * owns it) the legit answers over time and how the exchanges ended, the
 * answers that carried a killed agent's addresses, the failover's window,
 * time and the exchanges inside and outside it; and the expectations on
 * them. Reads what topo_dist.c and the engines counted; no I/O but the
 * FILE given.
 */
#include "fluxlab/report_dist.h"

#include <stdio.h>
#include <string.h>

static uint64_t ld(_Atomic uint64_t *a)
{
	return atomic_load(a);
}

/* a share whose agent was killed (a pair's share lives on in the partner) */
static bool share_dead(const lab_run_t *r, unsigned k)
{
	return !r->sc->gateway.pair && r->dist->killed_at[k] >= 0;
}

static uint64_t answers_between(lab_run_t *r, unsigned k, double from, double to)
{
	uint64_t n = 0;
	for (int t = 0; t < LAB_MAX_SECS; t++)
		if (t >= from && t < to)
			n += atomic_load(&r->dist->answers[k][t]);
	return n;
}

static void share_prefix(const lab_run_t *r, unsigned k, char *buf, size_t len)
{
	uint32_t a = r->dist->share_net[k];
	snprintf(buf, len, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, r->dist->share_plen);
}

/* legit exchanges to the shares whose agents stayed up */
static void healthy(lab_run_t *r, uint64_t *decoy, uint64_t *routed)
{
	*decoy = *routed = 0;
	for (unsigned k = 0; k < r->dist->nshares; k++)
		if (!share_dead(r, k)) {
			*decoy += ld(&r->dist->decoy[k]);
			*routed += ld(&r->dist->decoy[k]) + ld(&r->dist->real[k]);
		}
}

static uint64_t dead_answers(lab_run_t *r)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < r->dist->nshares; k++)
		n += ld(&r->dist->dead_answers[k]);
	return n;
}

void report_dist_json(lab_run_t *r, json_t *root)
{
	lab_dist_t *d = r->dist;
	if (!d)
		return;
	const lab_scenario_t *sc = r->sc;
	int n = r->ser->nsamples > 0 ? r->ser->nsamples : (int)(sc->duration_ms / 1000);
	json_t *o = json_pack("{ss si sb ss}", "mode", "distributed", "agents", (int)d->nagents, "pair",
			      sc->gateway.pair, "on_timeout", sc->gateway.on_timeout_healthy ? "healthy-pool" : "servfail");
	json_t *shares = json_array();
	for (unsigned k = 0; k < d->nshares; k++) {
		char pfx[40];
		share_prefix(r, k, pfx, sizeof pfx);
		char nm[16];
		snprintf(nm, sizeof nm, sc->gateway.pair ? "ag1+ag2" : "ag%u", k + 1);
		json_t *s = json_pack("{ss ss}", "prefix", pfx, "agent", nm);
		double killed = share_dead(r, k) ? d->killed_at[k] : -1;
		json_object_set_new(s, "killed_at_s", killed >= 0 ? json_real(killed) : json_null());
		json_object_set_new(s, "answers", json_integer((json_int_t)answers_between(r, k, 0, LAB_MAX_SECS)));
		if (killed >= 0) {
			json_object_set_new(s, "answers_before_kill",
					    json_integer((json_int_t)answers_between(r, k, 0, (int)killed)));
			json_object_set_new(s, "answers_to_queries_after_kill",
					    json_integer((json_int_t)ld(&d->dead_answers[k])));
			json_object_set_new(s, "answers_to_queries_after_kill_cached",
					    json_integer((json_int_t)ld(&d->dead_cached[k])));
		}
		json_object_set_new(s, "legit", json_pack("{sI sI sI}", "real", (json_int_t)ld(&d->real[k]), "decoy",
							  (json_int_t)ld(&d->decoy[k]), "failed",
							  (json_int_t)ld(&d->fail[k])));
		json_t *ser = json_array();
		for (int t = 0; t < n && t < LAB_MAX_SECS; t++)
			json_array_append_new(ser, json_integer(atomic_load(&d->answers[k][t])));
		json_object_set_new(s, "answers_per_s", ser);
		json_array_append_new(shares, s);
	}
	json_object_set_new(o, "shares", shares);
	uint64_t hd, hr;
	healthy(r, &hd, &hr);
	json_object_set_new(o, "healthy", json_pack("{sI sI sf}", "misrouted", (json_int_t)hd, "routed",
						    (json_int_t)hr, "misrouted_ratio",
						    hr ? (double)hd / (double)hr : 0.0));
	double from, to;
	if (lab_dist_failover_window(r, &from, &to)) {
		json_t *fo = json_pack("{sf so so}", "at_s", d->failover_at, "done_s",
				       d->failover_done >= 0 ? json_real(d->failover_done) : json_null(), "time_s",
				       d->failover_done >= 0 ? json_real(d->failover_done - d->failover_at)
							     : json_null());
		json_object_set_new(fo, "window_s", json_pack("[f f]", from, to));
		json_object_set_new(fo, "controller_saw_down_s",
				    d->failover_ctl_down >= 0 ? json_real(d->failover_ctl_down) : json_null());
		json_object_set_new(fo, "inside", json_pack("{sI sI sI sI sI}", "real", (json_int_t)ld(&d->fo_real_in),
							    "misrouted_late", (json_int_t)ld(&d->fo_decoy_in_late),
							    "misrouted_blackout", (json_int_t)ld(&d->fo_decoy_in_blackout),
							    "misrouted_product",
							    (json_int_t)ld(&d->fo_decoy_in_product), "failed",
							    (json_int_t)ld(&d->fo_fail_in)));
		json_object_set_new(fo, "outside", json_pack("{sI sI sI}", "misrouted", (json_int_t)ld(&d->fo_decoy_out),
							     "failed", (json_int_t)ld(&d->fo_fail_out), "dns_failed",
							     (json_int_t)ld(&d->fo_dns_out)));
		json_object_set_new(json_object_get(fo, "inside"), "dns_failed", json_integer((json_int_t)ld(&d->fo_dns_in)));
		json_object_set_new(fo, "in_flight", json_pack("{sI sI sI}", "real", (json_int_t)ld(&d->fo_flight_real),
							       "decoy", (json_int_t)ld(&d->fo_flight_decoy), "failed",
							       (json_int_t)ld(&d->fo_flight_fail)));
		json_object_set_new(o, "failover", fo);
	}
	if (sc->gateway.external)
		json_object_set_new(o, "external",
				    json_pack("{ss sI sI sI sI}", "server",
					      sc->gateway.external == LAB_EXT_KNOT ? "knot" : "bind", "serial_before",
					      (json_int_t)d->ext_serial0, "serial_after", (json_int_t)d->ext_serial1,
					      "updates_published", (json_int_t)d->ext_published, "updates_failed",
					      (json_int_t)d->ext_failed));
	json_object_set_new(root, "dist", o);
}

void report_dist_summary(lab_run_t *r, FILE *f)
{
	lab_dist_t *d = r->dist;
	if (!d)
		return;
	const lab_scenario_t *sc = r->sc;
	fprintf(f, "\ndistributed: a controller and %u agent(s)%s, on-timeout %s\n", d->nagents,
		sc->gateway.pair ? " (failover pair: keepalived + conntrackd)" : "",
		sc->gateway.on_timeout_healthy ? "healthy-pool" : "servfail");
	if (sc->gateway.external)
		fprintf(f, "%-28s %s at 10.0.6.53 serves " LAB_SERVICE_NAME " (epoch %us): %llu UPDATEs published, "
			"%llu failed; serial %u -> %u\n",
			"external DNS", sc->gateway.external == LAB_EXT_KNOT ? "knotd" : "named",
			sc->gateway.epoch_ms / 1000, (unsigned long long)d->ext_published,
			(unsigned long long)d->ext_failed, d->ext_serial0, d->ext_serial1);
	fprintf(f, "%-6s %-20s %-9s %9s %9s %9s %12s %8s %7s %7s\n", "agent", "share", "killed", "answers",
		"before", "after", "dead-answers", "real", "decoy", "failed");
	for (unsigned k = 0; k < d->nshares; k++) {
		char pfx[40], killed[16] = "-", before[16] = "-", after[16] = "-", dead[24] = "-";
		share_prefix(r, k, pfx, sizeof pfx);
		if (share_dead(r, k)) {
			double t = d->killed_at[k];
			snprintf(killed, sizeof killed, "%.1fs", t);
			snprintf(before, sizeof before, "%llu", (unsigned long long)answers_between(r, k, 0, (int)t));
			snprintf(after, sizeof after, "%llu",
				 (unsigned long long)answers_between(r, k, (int)t + 1, LAB_MAX_SECS));
			snprintf(dead, sizeof dead, "%llu (+%llu cached)", (unsigned long long)ld(&d->dead_answers[k]),
				 (unsigned long long)ld(&d->dead_cached[k]));
		}
		char nm[16];
		snprintf(nm, sizeof nm, sc->gateway.pair ? "pair" : "ag%u", k + 1);
		fprintf(f, "%-6s %-20s %-9s %9llu %9s %9s %12s %8llu %7llu %7llu\n", nm, pfx, killed,
			(unsigned long long)answers_between(r, k, 0, LAB_MAX_SECS), before, after, dead,
			(unsigned long long)ld(&d->real[k]), (unsigned long long)ld(&d->decoy[k]),
			(unsigned long long)ld(&d->fail[k]));
	}
	/* answers per share over time, in 5 s columns */
	int n = r->ser->nsamples > 0 ? r->ser->nsamples : (int)(sc->duration_ms / 1000);
	fprintf(f, "%-27s", "answers per 5 s, by share");
	for (int t = 0; t < n && t < 60 * 5; t += 5)
		fprintf(f, " %5ds", t);
	fputc('\n', f);
	for (unsigned k = 0; k < d->nshares; k++) {
		char pfx[40];
		share_prefix(r, k, pfx, sizeof pfx);
		fprintf(f, "  %-25s", pfx);
		for (int t = 0; t < n && t < 60 * 5; t += 5)
			fprintf(f, " %6llu", (unsigned long long)answers_between(r, k, t, t + 5));
		fputc('\n', f);
	}
	uint64_t hd, hr;
	healthy(r, &hd, &hr);
	fprintf(f, "%-28s %llu/%llu\n", "misrouted on healthy shares", (unsigned long long)hd, (unsigned long long)hr);
	double from, to;
	if (lab_dist_failover_window(r, &from, &to)) {
		if (d->failover_done >= 0)
			fprintf(f, "%-28s %.2f s (ag%d killed at %.1fs, the backup held both addresses at %.1fs)\n",
				"failover time", d->failover_done - d->failover_at, d->failover_from + 1, d->failover_at,
				d->failover_done);
		else
			fprintf(f, "%-28s never: the backup did not take the addresses\n", "failover time");
		if (d->failover_ctl_down >= 0)
			fprintf(f, "%-28s at %.1fs (until then its batches fail: SERVFAIL)\n",
				"  controller saw it down", d->failover_ctl_down);
		fprintf(f, "%-28s answered by the real server %llu, by a decoy %llu, by nobody %llu\n",
			"  in flight at the kill", (unsigned long long)ld(&d->fo_flight_real),
			(unsigned long long)ld(&d->fo_flight_decoy), (unsigned long long)ld(&d->fo_flight_fail));
		fprintf(f, "%-28s %.1fs..%.1fs: real %llu, misrouted %llu (late %llu, blackout %llu, product %llu), "
			"failed %llu, no DNS answer %llu\n",
			"  inside the window", from, to, (unsigned long long)ld(&d->fo_real_in),
			(unsigned long long)(ld(&d->fo_decoy_in_late) + ld(&d->fo_decoy_in_blackout) +
					     ld(&d->fo_decoy_in_product)),
			(unsigned long long)ld(&d->fo_decoy_in_late), (unsigned long long)ld(&d->fo_decoy_in_blackout),
			(unsigned long long)ld(&d->fo_decoy_in_product),
			(unsigned long long)ld(&d->fo_fail_in), (unsigned long long)ld(&d->fo_dns_in));
		fprintf(f, "%-28s misrouted %llu, failed %llu, no DNS answer %llu\n", "  outside it",
			(unsigned long long)ld(&d->fo_decoy_out), (unsigned long long)ld(&d->fo_fail_out),
			(unsigned long long)ld(&d->fo_dns_out));
	}
}

int report_dist_check(lab_run_t *r, FILE *f)
{
	const lab_scenario_t *sc = r->sc;
	lab_dist_t *d = r->dist;
	int bad = 0;
	if (!d)
		return 0;
	if (sc->expect.healthy_misrouted_max >= 0) {
		uint64_t hd, hr;
		healthy(r, &hd, &hr);
		double m = hr ? (double)hd / (double)hr : 0;
		/* a healthy share that carried nothing proves nothing */
		bool ok = m <= sc->expect.healthy_misrouted_max && hr > 0;
		bad += !ok;
		if (f)
			fprintf(f, "  %-4s legit misrouted on healthy shares (%.4f <= %.4f, %llu routed)\n",
				ok ? "ok" : "FAIL", m, sc->expect.healthy_misrouted_max, (unsigned long long)hr);
	}
	if (sc->expect.dead_answers_max >= 0) {
		long n = (long)dead_answers(r);
		bool killed = false;
		for (unsigned k = 0; k < d->nshares; k++)
			killed |= share_dead(r, k);
		bool ok = n <= sc->expect.dead_answers_max && killed;
		bad += !ok;
		if (f)
			fprintf(f, "  %-4s answers after the kill carrying the dead agent's addresses (%ld <= %ld%s)\n",
				ok ? "ok" : "FAIL", n, sc->expect.dead_answers_max, killed ? "" : "; no agent was killed");
	}
	if (sc->expect.outside_failover_misrouted_max >= 0) {
		long n = (long)ld(&d->fo_decoy_out);
		bool ok = n <= sc->expect.outside_failover_misrouted_max && d->failover_done >= 0;
		bad += !ok;
		if (f)
			fprintf(f, "  %-4s legit misrouted outside the failover window (%ld <= %ld%s)\n", ok ? "ok" : "FAIL",
				n, sc->expect.outside_failover_misrouted_max,
				d->failover_done >= 0 ? "" : "; the failover did not complete");
	}
	return bad;
}
