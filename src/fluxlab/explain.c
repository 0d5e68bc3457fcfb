/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Every misroute explained, after the run: fluxgated's event log (the
 * lab's fluxgated writes it into the work directory) says when each grant
 * was committed, for which address and scope and for how long; each
 * recorded misroute (engine.c) is classified against those grants by
 * lab_misroute_class() (src/lab/misroute.c, pure and unit-tested), and the
 * per-family late/product counts are replaced by that verdict. Without a
 * readable log the engine's TTL-based estimate stays (r->explained false).
 * The gateway's conntrack drop counters are read too: a SYN the gateway
 * itself dropped would pass for one lost on the client's side.
 */
#include "fluxlab/lab.h"
#include "lab/misroute.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-12-02T05:30:49.356023+0000" (UTC, as eventlog.c writes it) */
static bool parse_ts(const char *s, double *out)
{
	struct tm tm = { 0 };
	unsigned us = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6u", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec, &us) != 7)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (double)timegm(&tm) + us / 1e6;
	return true;
}

/* "198.51.100.54", "2001:db8::/56", "*" */
static bool parse_addr(const char *s, uint8_t out[16], uint8_t *fam, uint8_t *plen)
{
	char b[INET6_ADDRSTRLEN + 8];
	if (!s || strlen(s) >= sizeof b)
		return false;
	strcpy(b, s);
	memset(out, 0, 16);
	char *slash = strchr(b, '/');
	int bits = -1;
	if (slash) {
		*slash = 0;
		bits = atoi(slash + 1);
	}
	if (inet_pton(AF_INET, b, out) == 1) {
		*fam = 4;
		*plen = (uint8_t)(bits >= 0 && bits <= 32 ? bits : 32);
		return true;
	}
	if (inet_pton(AF_INET6, b, out) == 1) {
		*fam = 6;
		*plen = (uint8_t)(bits >= 0 && bits <= 128 ? bits : 128);
		return true;
	}
	return false;
}

static lab_grant_span_t *read_grants(const char *path, size_t *n_out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t n = 0, cap = 0;
	lab_grant_span_t *g = NULL;
	char line[2048];
	bool ok = true;
	while (ok && fgets(line, sizeof line, f)) {
		if (!strstr(line, "\"event_type\":\"grant\""))
			continue;
		json_t *o = json_loads(line, 0, NULL);
		json_t *gr = json_object_get(o, "grant");
		lab_grant_span_t s = { 0 };
		uint8_t fam2 = 0, plen = 0;
		const char *client = json_string_value(json_object_get(gr, "client"));
		if (gr && parse_ts(json_string_value(json_object_get(o, "timestamp")), &s.start) &&
		    parse_addr(json_string_value(json_object_get(gr, "address")), s.addr, &s.fam, &plen)) {
			/* the kernel took the grant during the commit, which
			 * ended before the log line */
			double life = (double)json_integer_value(json_object_get(gr, "timeout_ms")) / 1000.0;
			double commit = (double)json_integer_value(json_object_get(gr, "commit_us")) / 1e6;
			s.end = s.start + life;
			s.start -= commit;
			s.end_min = s.start + life;
			s.plen = 0;
			if (client && strcmp(client, "*") && parse_addr(client, s.client, &fam2, &plen) &&
			    fam2 == s.fam)
				s.plen = plen ? plen : 1;   /* never "anyone" by a /0 */
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				lab_grant_span_t *ng = realloc(g, nc * sizeof *ng);
				if (!ng)
					ok = false;
				else {
					g = ng;
					cap = nc;
				}
			}
			if (ok)
				g[n++] = s;
		}
		json_decref(o);
	}
	fclose(f);
	if (!ok) {
		free(g);
		return NULL;
	}
	*n_out = n;
	return g ? g : calloc(1, sizeof *g);
}

/* drop + early_drop + insert_failed of the gateway's conntrack, all CPUs
 * (/proc/net/stat/nf_conntrack: a header of names, a row of hex per CPU) */
static uint64_t ct_drops(lab_run_t *r)
{
	char *out = NULL;
	char *argv[] = { "cat", "/proc/net/stat/nf_conntrack", NULL };
	if (topo_run(r, "gw", argv, &out) != 0 || !out) {
		free(out);
		return 0;
	}
	int col[3] = { -1, -1, -1 }, ncol = 0;
	uint64_t sum = 0;
	char *save = NULL;
	for (char *ln = strtok_r(out, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char *s2 = NULL;
		int i = 0;
		if (!ncol) {
			for (char *t = strtok_r(ln, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2), i++) {
				if (!strcmp(t, "drop"))
					col[0] = i;
				else if (!strcmp(t, "early_drop"))
					col[1] = i;
				else if (!strcmp(t, "insert_failed"))
					col[2] = i;
			}
			ncol = i;
			continue;
		}
		for (char *t = strtok_r(ln, " \t", &s2); t; t = strtok_r(NULL, " \t", &s2), i++)
			if (i == col[0] || i == col[1] || i == col[2])
				sum += strtoull(t, NULL, 16);
	}
	free(out);
	return sum;
}

int explain_misroutes(lab_run_t *r)
{
	r->ct_drops = ct_drops(r);
	char path[600];
	snprintf(path, sizeof path, "%s/events.jsonl", r->workdir);
	size_t ng = 0;
	lab_grant_span_t *g = read_grants(path, &ng);
	if (!g) {
		lab_log("no grant log (%s): misroutes explained from the TTLs the clients saw", path);
		return -1;
	}
	uint64_t late[2][2] = { { 0 } }, prod[2][2] = { { 0 } };   /* [family][decoy, unanswered] */
	memset(r->mis_retrans, 0, sizeof r->mis_retrans);
	r->fail_connected = 0;
	for (size_t i = 0; i < r->nmis; i++) {
		lab_misroute_t *m = &r->mis[i];
		int f = m->fam == 6;
		double after = 0;
		/* both clocks are CLOCK_REALTIME seconds here */
		enum lab_mis_class c = lab_misroute_class(g, ng, m->fam, m->src, m->dst, r->t0_wall + m->t_syn,
							  m->syn_retrans, &after);
		m->late = c == LAB_MIS_PRODUCT ? 0 : c == LAB_MIS_LATE ? 1 : 2;
		m->after = after;
		int k = m->outcome == 1 ? 0 : 1;
		if (k == 1 && m->t_conn > 0) {
			/* the handshake was made: the SYN was routed and answered,
			 * the exchange then timed out */
			m->late = 3;
			r->fail_connected++;
		} else if (c == LAB_MIS_PRODUCT) {
			prod[f][k]++;
		} else {
			late[f][k]++;
			if (c == LAB_MIS_LATE_RETRANS && k == 0)
				r->mis_retrans[f]++;
		}
	}
	free(g);
	if (r->nmis >= LAB_MIS_MAX) {
		lab_log("more than %u misroutes: the engines' TTL-based estimate stays", LAB_MIS_MAX);
		return -1;
	}
	for (int f = 0; f < 2; f++) {
		atomic_store(&r->fam[f].mis_late, late[f][0]);
		atomic_store(&r->fam[f].mis_product, prod[f][0]);
		atomic_store(&r->fam[f].fail_late, late[f][1]);
		atomic_store(&r->fam[f].fail_product, prod[f][1]);
	}
	r->explained = true;
	return 0;
}
