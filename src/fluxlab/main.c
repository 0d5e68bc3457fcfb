/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab: the experiment lab (issue 5).
 *
 *   fluxlab run SCENARIO.yaml [--json OUT.json] [--report OUT.html] [-v]
 *   fluxlab check SCENARIO.yaml...     parse and validate only
 *   fluxlab clean                      remove namespaces of dead fluxlab runs
 *   fluxlab banner MARKER [PORT...]    (internal) SSH/SMTP banner server
 *
 * `run` builds the topology (topo.c), starts the traffic threads (legit
 * engine in the client namespace, one thread per attacker in the attacker
 * namespace), samples the gateway once a second, then writes the results
 * and tears everything down, also on Ctrl-C and on failure.
 * Exit: 0 ok (and the scenario's expectations hold), 1 expectations failed,
 * 2 usage or scenario errors, 3 the lab could not be set up.
 */
#include "fluxlab/lab.h"
#include "fluxlab/serve.h"
#include "conf/conf.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static void on_signal(int sig)
{
	(void)sig;
	if (g_run)
		atomic_fetch_add(&g_run->stop, 1);
}

/* ------------------------------------------------------------ threads in namespaces */

typedef struct ns_thread {
	lab_run_t *run;
	const char *role;
	void *(*fn)(void *);
	void *arg;
	pthread_t tid;
	bool started;
} ns_thread_t;

static void *ns_trampoline(void *p)
{
	ns_thread_t *t = p;
	/* setns() moves only this thread: each role runs in its own namespace */
	if (topo_enter(t->run, t->role) < 0)
		return NULL;
	return t->fn(t->arg);
}

static int ns_thread_start(ns_thread_t *t)
{
	sigset_t all, old;
	sigfillset(&all);
	/* signals go to the main thread only */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&t->tid, NULL, ns_trampoline, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	t->started = rc == 0;
	return rc;
}

/* ------------------------------------------------------------ scanners */

void *scanner_thread(void *arg)
{
	lab_flood_cfg_t *c = arg;
	lab_run_t *r = c->run;
	const lab_attack_t *a = c->a;
	while (lab_now() < r->t0 + c->start_s && !atomic_load(&r->stop))
		usleep(10000);
	c->st->t_start = lab_now() - r->t0;
	char port[16], src[32], rate[32], pool[64], label[64];
	snprintf(port, sizeof port, "%u", a->port);
	snprintf(src, sizeof src, "10.%u.0.2", (c->src_net >> 16) & 0xff);
	bool v6 = a->family == 6;
	char list[800] = "";
	if (v6) {
		/* nmap -6 of an address list: `sample` random interface ids of
		 * the /64, from the attacker's own IPv6 /64 */
		unsigned k = ((c->src_net >> 16) & 0xff) - 16;
		snprintf(src, sizeof src, LAB_ATK_NET6_FMT "2", k);
		snprintf(list, sizeof list, "%s/scan-%s.targets", r->workdir, a->name);
		FILE *lf = fopen(list, "w");
		uint64_t rng = c->seed * 2654435761u + 1;
		for (unsigned i = 0; lf && i < a->sample; i++) {
			uint8_t ad[16];
			char txt[INET6_ADDRSTRLEN];
			lab_pool6_random(r, &rng, ad);
			fprintf(lf, "%s\n", inet_ntop(AF_INET6, ad, txt, sizeof txt));
		}
		if (!lf || fclose(lf)) {
			lab_log("cannot write %s", list);
			return NULL;
		}
	}
	snprintf(rate, sizeof rate, "%.0f", a->rate);
	snprintf(pool, sizeof pool, "%s", r->sc->gateway.pool);
	unsigned open_total = 0;
	for (unsigned round = 0; round < a->rounds && !atomic_load(&r->stop); round++) {
		if (lab_now() >= r->t0 + c->end_s)
			break;
		snprintf(label, sizeof label, "scan-%s-%u", a->name, round);
		char *argv[32];
		int n = 0;
		if (a->kind == LAB_ATK_NMAP) {
			argv[n++] = "nmap";
			if (v6)
				argv[n++] = "-6";
			argv[n++] = "-n";
			argv[n++] = "-Pn";
			argv[n++] = a->scan == LAB_NMAP_SYN ? "-sS" : "-sT";
			argv[n++] = "-T5";
			argv[n++] = "-p";
			argv[n++] = port;
			if (a->scan == LAB_NMAP_SYN) {
				/* from the attacker's own /16, so the server's
				 * counters attribute every probe */
				argv[n++] = "-S";
				argv[n++] = src;
				argv[n++] = "-e";
				argv[n++] = "eth0";
			}
			argv[n++] = "-oG";
			argv[n++] = "-";
			if (v6) {
				argv[n++] = "-iL";
				argv[n++] = list;
			} else {
				argv[n++] = pool;
			}
		} else {
			argv[n++] = "masscan";
			argv[n++] = pool;
			argv[n++] = "-p";
			argv[n++] = port;
			argv[n++] = "--rate";
			argv[n++] = rate;
			argv[n++] = "--source-ip";
			argv[n++] = src;
			argv[n++] = "--adapter";
			argv[n++] = "eth0";
			argv[n++] = "--router-ip";
			argv[n++] = "10.0.5.1";
			argv[n++] = "--wait";
			argv[n++] = "2";
			argv[n++] = "-oL";
			argv[n++] = "/dev/stdout";
		}
		argv[n] = NULL;
		pid_t p = topo_spawn(r, NULL, label, argv);
		if (p < 0)
			break;
		int st = 0;
		for (;;) {
			pid_t w = waitpid(p, &st, WNOHANG);
			if (w == p)
				break;
			if (atomic_load(&r->stop) || lab_now() > r->t0 + c->end_s + 5) {
				kill(p, SIGTERM);
				usleep(200000);
				kill(p, SIGKILL);
				waitpid(p, &st, 0);
				break;
			}
			usleep(50000);
		}
		topo_forget(p);
		c->st->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		atomic_fetch_add(&c->st->probes, v6 ? a->sample : r->pool_size);
		/* count what the tool believed open */
		char path[800], line[512];
		snprintf(path, sizeof path, "%s/%s.log", r->workdir, label);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f)) {
			if (a->kind == LAB_ATK_NMAP && strstr(line, "/open/"))
				open_total++;
			else if (a->kind == LAB_ATK_MASSCAN && !strncmp(line, "open ", 5))
				open_total++;
		}
		if (f)
			fclose(f);
	}
	snprintf(c->st->note, sizeof c->st->note, "%u round(s); %u address(es) reported open on port %u (decoys answer too)",
		 a->rounds, open_total, a->port);
	c->st->t_end = lab_now() - r->t0;
	return NULL;
}

/* ------------------------------------------------------------ sampler */

typedef struct sampler {
	lab_run_t *run;
	pid_t pids[4];
	int npids;
	json_t *last_stats;
	long slab0;
	double cpu_total_s;     /* CPU seconds of fluxgated over the traffic phase */
	double traffic_end;
	FILE *live;             /* --live: one JSON line per second, or NULL */
	uint64_t prev_grants;
	uint64_t prev_atk[LAB_MAX_ATTACKS];
	uint64_t prev_fam[2][6];   /* --live per family: the totals one second ago */
} sampler_t;

static uint64_t grants_total(json_t *st)
{
	json_t *g = json_object_get(st, "grants");
	return (uint64_t)(json_integer_value(json_object_get(g, "client")) +
			  json_integer_value(json_object_get(g, "net")) +
			  json_integer_value(json_object_get(g, "any")));
}

/* The attacker's activity so far, whatever its kind: sessions, probes and
 * flood packets (only one of them grows for a given kind). */
static uint64_t atk_activity(const lab_role_stats_t *a)
{
	return atomic_load(&a->sessions) + atomic_load(&a->probes) + atomic_load(&a->pkts);
}

/* --live with gateway.pool6: that second's sessions per family, legit and
 * attack, by who answered (deltas of the engines' per-family totals) */
static json_t *live_families(sampler_t *s)
{
	lab_run_t *r = s->run;
	json_t *o = json_object();
	for (int f = 0; f < 2; f++) {
		const lab_role_stats_t *L = &r->fam[f];
		uint64_t v[6] = { atomic_load(&L->real), atomic_load(&L->decoy),
				  atomic_load(&L->sessions) - atomic_load(&L->real) - atomic_load(&L->decoy) };
		for (size_t k = 0; k < r->sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
			if ((r->sc->attacks[k].family == 6) != (f == 1))
				continue;
			const lab_role_stats_t *A = &r->atk[k];
			v[3] += atomic_load(&A->real);
			v[4] += atomic_load(&A->decoy);
			v[5] += atomic_load(&A->sessions) - atomic_load(&A->real) - atomic_load(&A->decoy);
		}
		uint64_t *p = s->prev_fam[f];
		json_object_set_new(o, f ? "ipv6" : "ipv4",
				    json_pack("{s{sI sI sI} s{sI sI sI}}", "legit", "real", (json_int_t)(v[0] - p[0]),
					      "decoy", (json_int_t)(v[1] - p[1]), "fail", (json_int_t)(v[2] - p[2]),
					      "attack", "real", (json_int_t)(v[3] - p[3]), "decoy",
					      (json_int_t)(v[4] - p[4]), "fail", (json_int_t)(v[5] - p[5])));
		memcpy(p, v, sizeof v);
	}
	return o;
}

/* --live: second `sec` as one JSON line (fluxlab serve streams these to the
 * console): who answered the legit and the attack traffic in that second,
 * each attacker's rate, and the gateway's samples. Flushed at once. */
static void live_line(sampler_t *s, int sec, json_t *st)
{
	lab_run_t *r = s->run;
	lab_series_t *S = r->ser;
	json_t *atk = json_array();
	for (size_t k = 0; k < r->sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
		uint64_t now = atk_activity(&r->atk[k]);
		json_array_append_new(atk, json_pack("{ss ss sI si}", "name", r->sc->attacks[k].name,
						     "type", lab_attack_kind_name(r->sc->attacks[k].kind),
						     "rate", (json_int_t)(now - s->prev_atk[k]), "family",
						     r->sc->attacks[k].family == 6 ? 6 : 4));
		s->prev_atk[k] = now;
	}
	uint64_t g = st ? grants_total(st) : s->prev_grants;
	json_t *o = json_pack("{si sf s{sI sI sI} s{sI sI sI sI} so sf sI sf sI sf}", "t", sec,
			      "duration", r->sc->duration_ms / 1000.0,
			      "legit", "real", (json_int_t)atomic_load(&S->legit_real[sec]),
			      "decoy", (json_int_t)atomic_load(&S->legit_decoy[sec]),
			      "fail", (json_int_t)atomic_load(&S->legit_fail[sec]),
			      "attack", "real", (json_int_t)atomic_load(&S->atk_real[sec]),
			      "decoy", (json_int_t)atomic_load(&S->atk_decoy[sec]),
			      "fail", (json_int_t)atomic_load(&S->atk_fail[sec]),
			      "pkts", (json_int_t)atomic_load(&S->atk_pkts[sec]),
			      "attackers", atk, "answers_ps", S->answers_ps[sec],
			      "grants_ps", (json_int_t)(g - s->prev_grants), "open_fraction", S->open_frac[sec],
			      "conntrack", (json_int_t)S->conntrack[sec], "cpu_pct", S->cpu_pct[sec]);
	s->prev_grants = g;
	if (o && r->pool6_plen) {
		json_object_set_new(o, "families", live_families(s));
		json_object_set_new(o, "open6", json_real(S->open6[sec]));
	}
	if (o) {
		char *txt = json_dumps(o, JSON_COMPACT);
		if (txt) {
			fprintf(s->live, "%s\n", txt);
			fflush(s->live);
			free(txt);
		}
		json_decref(o);
	}
}

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static long proc_ticks(pid_t p)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *q = strrchr(buf, ')');
	if (!q)
		return 0;
	/* fields after the command: state(3) ... utime(14) stime(15) */
	long ut = 0, st = 0;
	if (sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* fluxgated and its privilege-separated child(ren) */
static void find_children(sampler_t *s, pid_t parent)
{
	s->pids[s->npids++] = parent;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && s->npids < 4) {
		int p = atoi(de->d_name);
		if (p <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/stat", p);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *q = strrchr(buf, ')');
		int ppid = 0;
		if (q && sscanf(q + 2, "%*c %d", &ppid) == 1 && ppid == parent)
			s->pids[s->npids++] = p;
	}
	if (d)
		closedir(d);
}

static json_t *fluxctl_stats(lab_run_t *r)
{
	char sock[700];
	lab_control_sock(r, sock, sizeof sock);
	char *argv[] = { r->fluxctl, "-s", sock, "--json", "stats", NULL };
	char *out = NULL;
	json_t *j = NULL;
	if (topo_run(r, NULL, argv, &out) == 0 && out)
		j = json_loads(out, 0, NULL);
	free(out);
	return j;
}

static uint64_t answers_total(json_t *st)
{
	json_t *rc = json_object_get(json_object_get(st, "dns"), "rcodes");
	const char *k;
	json_t *v;
	uint64_t n = 0;
	json_object_foreach(rc, k, v)
		n += (uint64_t)json_integer_value(v);
	return n;
}

static void *sampler_fn(void *arg)
{
	sampler_t *s = arg;
	lab_run_t *r = s->run;
	long hz = sysconf(_SC_CLK_TCK);
	long ticks0 = 0, prev_ticks = 0;
	for (int i = 0; i < s->npids; i++)
		ticks0 += proc_ticks(s->pids[i]);
	prev_ticks = ticks0;
	uint64_t prev_ans = 0;
	json_t *st0 = fluxctl_stats(r);
	prev_ans = answers_total(st0);
	s->prev_grants = st0 ? grants_total(st0) : 0;
	json_decref(st0);
	double prev_t = lab_now();
	s->slab0 = meminfo_kb("Slab");
	int sec = 0;
	while (!atomic_load(&r->stop)) {
		double next = r->t0 + sec + 1;
		while (lab_now() < next && !atomic_load(&r->stop))
			usleep(20000);
		if (atomic_load(&r->stop) || sec >= LAB_MAX_SECS)
			break;
		double now = lab_now(), dt = now - prev_t;
		json_t *st = fluxctl_stats(r);
		if (st) {
			uint64_t ans = answers_total(st);
			r->ser->answers_ps[sec] = dt > 0 ? (double)(ans - prev_ans) / dt : 0;
			prev_ans = ans;
			json_t *pools = json_object_get(st, "pools"), *pj;
			size_t pi;
			/* IPv4: over every pool (distributed mode: one per agent) */
			double size4 = 0, open4 = 0;
			json_array_foreach(pools, pi, pj) {
				double size = (double)json_integer_value(json_object_get(pj, "size"));
				double open = (double)json_integer_value(json_object_get(pj, "open"));
				const char *fam = json_string_value(json_object_get(pj, "family"));
				if (fam && !strcmp(fam, "ipv6")) {
					r->ser->open6[sec] = open;
				} else {
					size4 += size;
					open4 += open;
				}
			}
			r->ser->open_frac[sec] = size4 > 0 ? open4 / size4 : 0;
			json_decref(s->last_stats);
			s->last_stats = st;
		}
		/* per-namespace view: this thread runs in the gateway namespace */
		FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_count", "r");
		long ct = 0;
		if (f) {
			if (fscanf(f, "%ld", &ct) != 1)
				ct = 0;
			fclose(f);
		}
		r->ser->conntrack[sec] = ct;
		r->ser->slab_kb[sec] = meminfo_kb("Slab");
		long ticks = 0;
		for (int i = 0; i < s->npids; i++)
			ticks += proc_ticks(s->pids[i]);
		r->ser->cpu_pct[sec] = dt > 0 ? 100.0 * (double)(ticks - prev_ticks) / (double)hz / dt : 0;
		prev_ticks = ticks;
		prev_t = now;
		if (s->live)
			live_line(s, sec, st);
		r->ser->nsamples = ++sec;
		if (now >= s->traffic_end)
			break;
	}
	s->cpu_total_s = (double)(prev_ticks - ticks0) / (double)hz;
	return NULL;
}

/* ------------------------------------------------------------ run */

static sampler_t g_sampler;

json_t *lab_fluxgated_stats(void)
{
	return g_sampler.last_stats;
}
double lab_fluxgated_cpu_s(void)
{
	return g_sampler.cpu_total_s;
}
long lab_slab0(void)
{
	return g_sampler.slab0;
}

static void teardown_at_exit(void)
{
	if (g_run)
		topo_teardown(g_run);
}

static int parse_pool(lab_run_t *r)
{
	unsigned a, b, c, d, plen;
	if (sscanf(r->sc->gateway.pool, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &plen) != 5)
		return -1;
	r->pool_net = (a << 24) | (b << 16) | (c << 8) | d;
	r->pool_plen = plen;
	/* fluxgated's pools skip the network and broadcast addresses */
	r->pool_base = r->pool_net + 1;
	r->pool_size = (1u << (32 - plen)) - 2;
	if (r->sc->gateway.pool6) {
		char buf[64];
		snprintf(buf, sizeof buf, "%s", r->sc->gateway.pool6);
		char *sl = strchr(buf, '/');
		if (!sl)
			return -1;
		*sl = 0;
		if (inet_pton(AF_INET6, buf, r->pool6_net) != 1)
			return -1;
		r->pool6_plen = (unsigned)atoi(sl + 1);
	}
	return 0;
}

static int cmp_start(const void *a, const void *b)
{
	double x = ((const lab_pcap_start_t *)a)->t, y = ((const lab_pcap_start_t *)b)->t;
	return x < y ? -1 : x > y;
}

/* --trace-out: the legit SYNs of this run as a pcap (their timing only) */
static int write_trace(lab_run_t *r, const char *path)
{
	size_t n = atomic_load(&r->ntrace);
	if (n > r->trace_cap)
		n = r->trace_cap;
	qsort(r->trace, n, sizeof *r->trace, cmp_start);
	size_t cap = 24 + n * 56;
	uint8_t *buf = malloc(cap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t len = buf ? lab_pcap_write(buf, cap, r->trace, n, (uint64_t)ts.tv_sec * 1000000000u) : 0;
	FILE *f = len ? fopen(path, "wbe") : NULL;
	bool ok = f && fwrite(buf, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	free(buf);
	if (!ok) {
		lab_log("--trace-out %s: %s", path, strerror(errno));
		return -1;
	}
	lab_log("trace: %zu legit SYNs written to %s", n, path);
	return 0;
}

/* legit.replay: read and parse the trace (relative paths: from the
 * scenario file's directory). 0, or -1 with the reason printed. */
static int load_replay(const lab_scenario_t *sc, lab_pcap_t *out)
{
	char path[PATH_MAX];
	if (sc->legit.replay[0] == '/' || !strchr(sc->path, '/'))
		snprintf(path, sizeof path, "%s", sc->legit.replay);
	else
		snprintf(path, sizeof path, "%.*s/%s", (int)(strrchr(sc->path, '/') - sc->path), sc->path,
			 sc->legit.replay);
	/* the shared reader (conf/conf.h): at most 16 MiB */
	char *buf = NULL;
	size_t n = 0;
	int rd = fg_conf_read_file(path, &buf, &n, NULL, NULL);
	if (rd < 0) {
		fprintf(stderr, "%s:%d: legit.replay: %s: %s\n", sc->path, sc->legit.replay_line, path,
			rd == -EFBIG ? "larger than 16 MiB" : strerror(-rd));
		return -1;
	}
	char msg[256];
	int rc = lab_pcap_parse((const uint8_t *)buf, n, out, msg, sizeof msg);
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "%s:%d: legit.replay: %s: %s\n", sc->path, sc->legit.replay_line, path,
			rc == -ENOMEM ? "out of memory" : msg);
		return -1;
	}
	if (out->nstarts == 0) {
		fprintf(stderr, "%s:%d: legit.replay: %s: no TCP connection opening in %zu packets\n", sc->path,
			sc->legit.replay_line, path, out->packets);
		lab_pcap_free(out);
		return -1;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	const char *json_out = NULL, *html_out = NULL, *workdir = NULL, *live_out = NULL, *trace_out = NULL;
	bool verbose = false, keep = false;
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' }, { "report", required_argument, NULL, 'r' },
		{ "workdir", required_argument, NULL, 'w' }, { "verbose", no_argument, NULL, 'v' },
		{ "keep", no_argument, NULL, 'k' }, { "live", required_argument, NULL, 'l' },
		{ "trace-out", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 },
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "j:r:w:vkl:t:", opts, NULL)) != -1) {
		switch (o) {
		case 't': trace_out = optarg; break;
		case 'l': live_out = optarg; break;
		case 'j': json_out = optarg; break;
		case 'r': html_out = optarg; break;
		case 'w': workdir = optarg; break;
		case 'v': verbose = true; break;
		case 'k': keep = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: fluxlab run SCENARIO.yaml [--json OUT.json] [--report OUT.html] [--live OUT.jsonl] [--trace-out OUT.pcap] [--workdir DIR] [-v] [--keep]\n");
		return 2;
	}
	if (live_out) {
		g_sampler.live = fopen(live_out, "we");
		if (!g_sampler.live) {
			fprintf(stderr, "fluxlab: --live %s: %s\n", live_out, strerror(errno));
			return 2;
		}
	}
	lab_scenario_t *sc = NULL;
	if (lab_scenario_load(argv[optind], &sc, diag, NULL) < 0)
		return 2;
	static lab_pcap_t trace;
	if (sc->legit.replay) {
		if (load_replay(sc, &trace) < 0) {
			lab_scenario_free(sc);
			return 2;
		}
		lab_log("replay: %zu sessions of %zu sources over %.1f s from %s", trace.nstarts, trace.nsources,
			trace.span, sc->legit.replay);
	}
	if (geteuid() != 0) {
		fprintf(stderr, "fluxlab: run needs root (network namespaces)\n");
		lab_scenario_free(sc);
		return 3;
	}
	static lab_run_t run;
	lab_run_t *r = &run;
	r->sc = sc;
	r->replay = sc->legit.replay ? &trace : NULL;
	if (trace_out) {
		r->trace_cap = 200000;
		r->trace = calloc(r->trace_cap, sizeof *r->trace);
		if (!r->trace)
			return 3;
	}
	r->verbose = verbose;
	r->ser = calloc(1, sizeof *r->ser);
	r->dns_lat = calloc(1, sizeof *r->dns_lat);
	r->syn_delay = calloc(1, sizeof *r->syn_delay);
	pthread_mutex_init(&r->mis_lock, NULL);
	r->seen[0] = calloc(1, sizeof *r->seen[0]);
	r->seen[1] = calloc(1, sizeof *r->seen[1]);
	if (!r->ser || !r->dns_lat || !r->syn_delay || !r->seen[0] || !r->seen[1])
		return 3;
	for (unsigned i = 0; i < 4; i++)
		if (sc->legit.sizes[i].set && !r->sizes && !(r->sizes = calloc(4, sizeof *r->sizes)))
			return 3;
	pthread_mutex_init(&r->seen[0]->lock, NULL);
	pthread_mutex_init(&r->seen[1]->lock, NULL);
	if (parse_pool(r) < 0)
		return 2;
	snprintf(r->prefix, sizeof r->prefix, "fl%d", (int)getpid());
	if (workdir) {
		mkdir(workdir, 0755);
		snprintf(r->workdir, sizeof r->workdir, "%s", workdir);
	} else {
		snprintf(r->workdir, sizeof r->workdir, "/tmp/fluxlab.XXXXXX");
		if (!mkdtemp(r->workdir)) {
			perror("mkdtemp");
			return 3;
		}
	}
	/* the binaries next to this one, unless told otherwise */
	ssize_t n = readlink("/proc/self/exe", r->self, sizeof r->self - 1);
	if (n <= 0)
		return 3;
	r->self[n] = 0;
	char dir[sizeof r->self];
	memcpy(dir, r->self, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (strlen(dir) > 400)
		return 3;
	const char *e = getenv("FLUXGATED");
	if (e && *e && strlen(e) < sizeof r->fluxgated)
		memcpy(r->fluxgated, e, strlen(e) + 1);
	else
		sprintf(r->fluxgated, "%.400s/fluxgated", dir);
	e = getenv("FLUXCTL");
	if (e && *e && strlen(e) < sizeof r->fluxctl)
		memcpy(r->fluxctl, e, strlen(e) + 1);
	else
		sprintf(r->fluxctl, "%.400s/fluxctl", dir);
	e = getenv("FLUXDECOY");
	if (e && *e && strlen(e) < sizeof r->fluxdecoy)
		memcpy(r->fluxdecoy, e, strlen(e) + 1);
	else
		sprintf(r->fluxdecoy, "%.400s/fluxdecoy", dir);
	if (access(r->fluxdecoy, X_OK)) {
		fprintf(stderr, "fluxlab: need %s (make)\n", r->fluxdecoy);
		return 3;
	}
	if (access(r->fluxgated, X_OK) || access(r->fluxctl, X_OK)) {
		fprintf(stderr, "fluxlab: need %s and %s (make)\n", r->fluxgated, r->fluxctl);
		return 3;
	}
	/* 10000 clients: a socket each, plus the servers' */
	struct rlimit rl = { 200000, 200000 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	g_run = r;
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(teardown_at_exit);

	lab_log("scenario %s: %u legit clients (%s), %zu attacker(s), %.0f s; workdir %s",
		sc->name, sc->legit.clients, sc->dns.resolver ? "via unbound" : "stub at fluxgated",
		sc->nattacks, sc->duration_ms / 1000.0, r->workdir);
	double t_setup = lab_now();
	if (topo_setup(r) < 0) {
		lab_log("setup failed%s; tearing down", atomic_load(&r->stop) ? " (interrupted)" : "");
		topo_teardown(r);
		free(r->dist);
		r->dist = NULL;
		return atomic_load(&r->stop) ? 130 : 3;
	}
	lab_log("topology up in %.1f s (namespaces %s-*)", lab_now() - t_setup, r->prefix);

	double dur = sc->duration_ms / 1000.0;
	r->t0 = lab_now() + 0.2;
	{
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		r->t0_wall = (double)rt.tv_sec + rt.tv_nsec / 1e9 + (r->t0 - lab_now());
	}
	ns_thread_t th[2 + LAB_MAX_ATTACKS + 1] = { 0 };
	int nth = 0;
	/* thousands of clients: two engine threads, so the clients' own event
	 * loop does not become the latency being measured */
	enum { MAX_SHARDS = 2 };
	lab_engine_cfg_t lcfg[2 * MAX_SHARDS];
	unsigned shards = sc->legit.clients >= 1000 ? MAX_SHARDS : 1, nl = 0;
	atomic_store(&r->legit.first_hit, -1);
	/* legit.ipv6: the last share of the clients are IPv6 clients, in
	 * engines of their own (clients first..: unique sources per family) */
	unsigned n6 = (unsigned)lround(sc->legit.clients * sc->legit.ipv6_share);
	unsigned span[2][2] = { { 0, sc->legit.clients - n6 }, { sc->legit.clients - n6, sc->legit.clients } };
	for (unsigned f = 0; f < 2; f++) {
		unsigned cnt = span[f][1] - span[f][0];
		for (unsigned i = 0; cnt && i < shards; i++) {
			unsigned first = span[f][0] + cnt * i / shards, last = span[f][0] + cnt * (i + 1) / shards;
			lcfg[nl] = (lab_engine_cfg_t){ .run = r, .st = &r->fam[f], .legit = true,
						       .clients = last - first, .first = first,
						       .src_net = LAB_LEGIT_NET, .v6 = f == 1,
						       .protocols = sc->legit.protocols, .think = &sc->legit.think,
						       .latency = &sc->legit.latency, .start_s = 0, .end_s = dur,
						       .seed = sc->seed * 7919 + 1 + i + 97 * f };
			inet_pton(AF_INET6, LAB_LEGIT_NET6, lcfg[nl].src_net6);
			th[nth++] = (ns_thread_t){ r, "cli", engine_thread, &lcfg[nl], 0, false };
			nl++;
		}
	}
	lab_engine_cfg_t acfg[LAB_MAX_ATTACKS];
	lab_flood_cfg_t fcfg[LAB_MAX_ATTACKS];
	static const lab_dist_spec_t no_latency = { .kind = LAB_DIST_NONE, .scale = 1 };
	for (size_t k = 0; k < sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
		const lab_attack_t *a = &sc->attacks[k];
		double start = a->start_ms / 1000.0;
		double end = a->duration_ms ? start + a->duration_ms / 1000.0 : dur;
		if (end > dur)
			end = dur;
		atomic_store(&r->atk[k].first_hit, -1);
		switch (a->kind) {
		case LAB_ATK_INVALID:
		case LAB_ATK_AWARE:
		case LAB_ATK_SWEEP:
		case LAB_ATK_HITLIST: {
			unsigned slots = a->clients;
			if (a->kind != LAB_ATK_INVALID) {
				/* enough probes in flight for the rate at ~1 s each */
				slots = (unsigned)(a->rate < 1 ? 1 : a->rate > 512 ? 512 : a->rate);
			}
			acfg[k] = (lab_engine_cfg_t){ .run = r, .st = &r->atk[k], .legit = false, .kind = a->kind,
						      .clients = slots, .src_net = LAB_ATK_NET(k),
						      .protocols = a->protocols, .think = &a->think,
						      .latency = &no_latency, .rate = a->rate, .probes = a->probes,
						      .port = a->port, .rounds = a->rounds, .start_s = start,
						      .end_s = end, .seed = sc->seed * 104729 + k,
						      .v6 = a->family == 6, .sample = a->sample,
						      .delay_s = a->delay_ms / 1000.0 };
			char net6[64];
			snprintf(net6, sizeof net6, LAB_ATK_NET6_FMT, (unsigned)k);
			inet_pton(AF_INET6, net6, acfg[k].src_net6);
			th[nth++] = (ns_thread_t){ r, "atk", engine_thread, &acfg[k], 0, false };
			break;
		}
		case LAB_ATK_NMAP:
		case LAB_ATK_MASSCAN:
			fcfg[k] = (lab_flood_cfg_t){ r, &r->atk[k], a, LAB_ATK_NET(k), start, end, sc->seed + k };
			th[nth++] = (ns_thread_t){ r, "atk", scanner_thread, &fcfg[k], 0, false };
			break;
		case LAB_ATK_DNS_FLOOD:
		case LAB_ATK_SYN_FLOOD:
		case LAB_ATK_TCP_FLOOD:
		case LAB_ATK_UDP_FLOOD:
		case LAB_ATK_ICMP_FLOOD:
			fcfg[k] = (lab_flood_cfg_t){ r, &r->atk[k], a, LAB_ATK_NET(k), start, end, sc->seed + k };
			th[nth++] = (ns_thread_t){ r, "atk", flood_thread, &fcfg[k], 0, false };
			break;
		}
	}
	g_sampler.run = r;
	find_children(&g_sampler, r->fluxgated_pid);
	g_sampler.traffic_end = r->t0 + dur;
	th[nth++] = (ns_thread_t){ r, "gw", sampler_fn, &g_sampler, 0, false };
	for (int i = 0; i < nth; i++)
		if (ns_thread_start(&th[i]) != 0) {
			lab_log("cannot start a thread");
			atomic_store(&r->stop, 2);
		}
	if (lab_dist_events_start(r) < 0) {
		lab_log("cannot start the events thread");
		atomic_store(&r->stop, 2);
	}
	/* the main thread only waits: signals land here */
	double end = r->t0 + dur;
	int last_pct = -1;
	while (lab_now() < end && !atomic_load(&r->stop)) {
		usleep(100000);
		int pct = (int)((lab_now() - r->t0) * 100 / dur);
		if (pct / 10 != last_pct / 10 && isatty(2)) {
			fprintf(stderr, "\rfluxlab: %3d%%  legit %lu real / %lu decoy / %lu failed   ", pct < 0 ? 0 : pct,
				(unsigned long)(atomic_load(&r->fam[0].real) + atomic_load(&r->fam[1].real)),
				(unsigned long)(atomic_load(&r->fam[0].decoy) + atomic_load(&r->fam[1].decoy)),
				(unsigned long)(atomic_load(&r->fam[0].fail_dns) + atomic_load(&r->fam[0].fail_conn) +
						atomic_load(&r->fam[0].fail_timeout) + atomic_load(&r->fam[0].fail_other) +
						atomic_load(&r->fam[1].fail_dns) + atomic_load(&r->fam[1].fail_conn) +
						atomic_load(&r->fam[1].fail_timeout) + atomic_load(&r->fam[1].fail_other)));
			last_pct = pct;
		}
	}
	if (isatty(2))
		fputc('\n', stderr);
	bool interrupted = atomic_load(&r->stop) > 0;
	if (!interrupted)
		atomic_store(&r->stop, 0);
	/* engines stop on their own at the end time and drain in-flight sessions */
	for (int i = 0; i < nth; i++)
		if (th[i].started && th[i].fn != sampler_fn)
			pthread_join(th[i].tid, NULL);
	atomic_fetch_add(&r->stop, 1);
	lab_dist_events_join(r);
	for (int i = 0; i < nth; i++)
		if (th[i].started && th[i].fn == sampler_fn)
			pthread_join(th[i].tid, NULL);
	/* ground truth from the servers' SYN counters */
	r->fam[0].srv_syn = topo_counter(r, "srv", "legit_syn");
	r->fam[0].dcy_syn = topo_counter(r, "dcy", "legit_syn");
	r->fam[1].srv_syn = topo_counter(r, "srv", "legit6_syn");
	r->fam[1].dcy_syn = topo_counter(r, "dcy", "legit6_syn");
	/* every misroute against the grants fluxgated logged (before the
	 * teardown, which removes nothing of the work directory) */
	explain_misroutes(r);
	lab_role_add(&r->legit, &r->fam[0]);
	lab_role_add(&r->legit, &r->fam[1]);
	uint64_t own_srv = topo_counter(r, "srv", "atk_own_syn"), own_dcy = topo_counter(r, "dcy", "atk_own_syn");
	for (size_t k = 0; k < sc->nattacks && k < LAB_MAX_ATTACKS; k++) {
		char name[32];
		snprintf(name, sizeof name, "atk%zu_syn", k);
		r->atk[k].srv_syn = topo_counter(r, "srv", name);
		r->atk[k].dcy_syn = topo_counter(r, "dcy", name);
		/* the connect scan uses the namespace's own address */
		if (sc->attacks[k].kind == LAB_ATK_NMAP && sc->attacks[k].scan == LAB_NMAP_CONNECT) {
			r->atk[k].srv_syn += own_srv;
			r->atk[k].dcy_syn += own_dcy;
			own_srv = own_dcy = 0;
		}
	}
	topo_dist_finish(r);
	if (!keep)
		topo_teardown(r);
	else
		lab_log("--keep: namespaces %s-* left for inspection; remove with: fluxlab clean (after exit)", r->prefix);
	int rc = 0;
	if (trace_out && write_trace(r, trace_out) < 0)
		rc = 3;
	if (json_out && report_json(r, json_out) < 0)
		rc = 3;
	if (html_out && report_html(r, html_out) < 0)
		rc = 3;
	report_summary(r, stdout);
	if (sc->expect.set && report_check(r, stdout) != 0)
		rc = rc ? rc : 1;
	if (interrupted) {
		lab_log("interrupted: partial results");
		rc = 130;
	}
	if (keep)
		return rc;
	/* the work directory holds configs and logs: keep only when asked */
	if (!workdir) {
		char *argv2[] = { "rm", "-rf", r->workdir, NULL };
		topo_run(r, NULL, argv2, NULL);
	}
	json_decref(g_sampler.last_stats);
	g_sampler.last_stats = NULL;
	if (g_sampler.live)
		fclose(g_sampler.live);
	g_sampler.live = NULL;
	g_run = NULL;
	free(r->ser);
	free(r->dns_lat);
	free(r->sizes);
	free(r->syn_delay);
	free(r->mis);
	pthread_mutex_destroy(&r->mis_lock);
	free(r->dist);
	r->dist = NULL;
	for (int f = 0; f < 2; f++) {
		pthread_mutex_destroy(&r->seen[f]->lock);
		free(r->seen[f]);
		r->seen[f] = NULL;
	}
	lab_pcap_free(&trace);
	free(r->trace);
	r->trace = NULL;
	lab_scenario_free(sc);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	int bad = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: fluxlab check SCENARIO.yaml...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		lab_scenario_t *s = NULL;
		if (lab_scenario_load(argv[i], &s, diag, NULL) < 0) {
			bad++;
			continue;
		}
		if (s->legit.replay) {
			lab_pcap_t t;
			if (load_replay(s, &t) < 0) {
				bad++;
				lab_scenario_free(s);
				continue;
			}
			lab_pcap_free(&t);
		}
		printf("%s: ok (%s: %u clients, %zu attackers, %.0f s)\n", argv[i], s->name, s->legit.clients,
		       s->nattacks, s->duration_ms / 1000.0);
		lab_scenario_free(s);
	}
	return bad ? 2 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fluxlab run SCENARIO.yaml [--json OUT.json] [--report OUT.html] [--live OUT.jsonl] [--trace-out OUT.pcap] [--workdir DIR] [-v] [--keep]\n"
		   "       fluxlab check SCENARIO.yaml...\n"
		   "       fluxlab serve [--listen ADDR@PORT] [--token TOKEN] [--scenarios DIR] [--runs DIR] [--assets DIR]\n"
		   "       fluxlab clean\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return serve_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "banner"))
		return banner_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "clean")) {
		int n = topo_clean_stale();
		printf("%d stale namespace(s) removed\n", n);
		return 0;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
