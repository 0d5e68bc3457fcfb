/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab internals shared by its modules: the run (topology names,
 * addresses, started processes), the traffic engine's configuration and the
 * measurements every thread adds to (per-second series, atomics).
 */
#ifndef FG_FLUXLAB_LAB_H
#define FG_FLUXLAB_LAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "lab/scenario.h"
#include "lab/pcap.h"

#define LAB_MAX_SECS 3700     /* per-second series length (duration <= 1h) */
#define LAB_MAX_ATTACKS 16

/* Address plan (all IPv4, inside the lab's namespaces):
 *   cli  10.0.1.2 on eth0; legit sources 10.1.0.0/16 (AnyIP local route)
 *   gw   10.0.1.1 (cli side, fluxgated stub listener), 10.0.4.1 (resolver
 *        side), 10.0.2.1 (server), 10.0.3.1 (decoy), 10.0.5.1 (attackers)
 *   res  10.0.4.53 unbound
 *   srv  10.0.2.10 lighttpd + banners ("real")
 *   dcy  10.0.3.10 lighttpd + banners ("decoy"), local route for the pool
 *   atk  10.0.5.2; attacker k sources 10.(16+k).0.0/16 (AnyIP) */
#define LAB_LEGIT_NET   0x0a010000u   /* 10.1.0.0/16 */
#define LAB_ATK_NET(k)  (0x0a100000u + ((uint32_t)(k) << 16))   /* 10.16+k.0.0/16 */
#define LAB_GW_CLI      0x0a000101u   /* 10.0.1.1 */
#define LAB_RESOLVER    0x0a000435u   /* 10.0.4.53 */
#define LAB_GW_ATK      0x0a000501u   /* 10.0.5.1 */
/* IPv6 plan (only with gateway.pool6): the same links carry fd00:N::/64
 * (gw fd00:N::1, the peer fd00:N::2, resolver fd00:4::53, server
 * fd00:2::10, decoy bed fd00:3::10); legit IPv6 sources fd01::/64, attacker
 * k's fd10:0:0:k::/64 (AnyIP). */
#define LAB_LEGIT_NET6  "fd01::"
#define LAB_ATK_NET6_FMT "fd10:0:0:%x::"
#define LAB_GW_CLI6     "fd00:1::1"
#define LAB_RESOLVER6   "fd00:4::53"
#define LAB_SERVICE_NAME "www.lab.test"
#define LAB_MARK_REAL   "fluxlab-real"
#define LAB_MARK_DECOY  "fluxlab-decoy"
/* legit.sizes: the servers' files a sized GET asks a Range of (LAB_SIZE_MAX
 * bytes, sparse) or the empty one */
#define LAB_SIZE_FILE   "size.bin"
#define LAB_EMPTY_FILE  "size0.bin"

/* Per-second series, indexed by second since the traffic phase began. */
typedef struct lab_series {
	_Atomic uint32_t legit_real[LAB_MAX_SECS], legit_decoy[LAB_MAX_SECS], legit_fail[LAB_MAX_SECS];
	_Atomic uint32_t atk_real[LAB_MAX_SECS], atk_decoy[LAB_MAX_SECS], atk_fail[LAB_MAX_SECS];
	_Atomic uint32_t atk_pkts[LAB_MAX_SECS];       /* flood packets sent */
	/* sampled by the main thread once a second */
	double answers_ps[LAB_MAX_SECS], open_frac[LAB_MAX_SECS], cpu_pct[LAB_MAX_SECS];
	double open6[LAB_MAX_SECS];    /* IPv6 pool addresses open to anyone (a count:
					* as a fraction of a /64 it is 0) */
	long conntrack[LAB_MAX_SECS], slab_kb[LAB_MAX_SECS];
	int nsamples;
} lab_series_t;

/* Latency histogram of DNS answers seen by legit clients (µs buckets). */
#define LAB_HIST_BUCKETS 4096
typedef struct lab_hist {
	_Atomic uint64_t b[LAB_HIST_BUCKETS];   /* log-linear: see hist_bucket() */
	_Atomic uint64_t n;
} lab_hist_t;
void lab_hist_add(lab_hist_t *h, uint64_t us);
double lab_hist_quantile(const lab_hist_t *h, double q);   /* ms */

/* Results of one traffic role (legit or one attacker). */
typedef struct lab_role_stats {
	_Atomic uint64_t sessions;     /* exchanges finished (any outcome) */
	_Atomic uint64_t real, decoy;  /* who answered */
	_Atomic uint64_t fail_dns, fail_conn, fail_timeout, fail_other;
	_Atomic uint64_t dns_queries, dns_answers;
	_Atomic uint64_t per_proto_real[4], per_proto_decoy[4];
	_Atomic uint64_t pkts;         /* floods: packets sent */
	_Atomic uint64_t probes;       /* probers: probes sent */
	_Atomic int64_t first_hit;     /* probes until the first real answer, -1 none */
	/* legit sessions answered by a decoy, explained (see engine.c):
	 * late = the client connected after the answer's remaining TTL +
	 * grace (its own delay or a stretched cache); product = within it,
	 * so the gateway failed */
	_Atomic uint64_t mis_late, mis_product;
	_Atomic uint64_t fail_late, fail_product;  /* the same for SYNs nobody answered */
	_Atomic uint64_t ans_cached, ans_fresh; /* answers with TTL below / at the zone's */
	_Atomic uint64_t ans_host_cache;        /* sessions that used a host-cached answer */
	uint64_t srv_syn, dcy_syn;     /* ground truth: SYNs seen at the real server / decoys */
	double t_start, t_end;         /* seconds into the run */
	char note[256];                /* scanners: what the tool reported */
	int exit_status;               /* scanners */
} lab_role_stats_t;

/* Pool addresses legit clients were answered with, for the hitlist
 * attacker (it replays what it saw in earlier answers). A ring per family,
 * written by the legit engines, read by the hitlist engines. */
#define LAB_SEEN_MAX 8192
typedef struct lab_seen {
	pthread_mutex_t lock;
	size_t n, head;            /* entries held; next slot */
	double t[LAB_SEEN_MAX];    /* when the answer arrived (lab_now) */
	uint8_t a[LAB_SEEN_MAX][16];   /* IPv4 in the first 4 bytes */
} lab_seen_t;
void lab_seen_add(lab_seen_t *s, double t, const uint8_t *a, size_t alen);
/* a random entry at least `age` s old as of now; false if none */
bool lab_seen_pick(lab_seen_t *s, double now, double age, uint64_t *rng, uint8_t *a, size_t alen);

/* legit.sizes, per protocol (http, https): what the clients drew and what
 * they got. Histograms count bytes (lab_hist_quantile's "ms" x 1000). */
typedef struct lab_size_stats {
	lab_hist_t req, rep;           /* drawn request / reply bytes, every session */
	lab_hist_t got;                /* reply body bytes received, answered sessions */
	_Atomic uint64_t drawn, answered;       /* sessions with drawn sizes; of them answered */
	_Atomic uint64_t rep_bytes, got_bytes;  /* answered: drawn reply bytes, body bytes received */
	_Atomic uint64_t mismatch_real, mismatch_decoy;  /* answered with a body of another size */
} lab_size_stats_t;

/* One legit session answered by a decoy or left unanswered after its SYN:
 * its timeline (seconds into the run), so every misroute in the report
 * says why (explain.c, against fluxgated's grants). Up to LAB_MIS_MAX are
 * kept; the JSON lists the first LAB_MIS_JSON. */
#define LAB_MIS_MAX 200000
#define LAB_MIS_JSON 50
typedef struct lab_misroute {
	uint8_t fam, proto;            /* 4 or 6; index into the protocols */
	uint8_t outcome;               /* 1 decoy answered, 2 nobody (connect or timeout) */
	uint8_t late;                  /* enum lab_mis_class, inverted: 1 late, 0 product,
					* 2 late (retransmitted SYN); 3 unanswered after
					* the handshake (neither) */
	double after;                  /* the first SYN's time after its grant's end (s) */
	uint8_t from;                  /* answer: 0 fresh, 1 resolver cache, 2 host cache */
	uint32_t ttl;                  /* the answer's TTL as received */
	uint32_t syn_retrans;          /* SYNs retransmitted before the connection */
	uint16_t sport;
	uint8_t src[16], dst[16];      /* IPv4 in the first 4 bytes */
	double t_query, t_answer, t_answer_seen, t_syn, t_conn, t_end;   /* t_conn 0: never */
} lab_misroute_t;
/* gateway.mode: distributed. The pool is split in equal shares, one per
 * agent (a failover pair shares the whole pool); what legit clients were
 * answered and how their exchanges ended is counted per share, and the
 * events thread records when it killed what. */
typedef struct lab_dist_run {
	unsigned nagents, nshares;
	uint32_t share_net[LAB_MAX_AGENTS], share_plen;   /* host order */
	pid_t pid[LAB_MAX_AGENTS];             /* the agents' fluxgated */
	pid_t keepalived[2], conntrackd[2];    /* the pair's */
	/* written by the events thread, read by the engines: atomic */
	_Atomic double killed_at[LAB_MAX_AGENTS];  /* s into the traffic phase, -1: alive */
	_Atomic double failover_at, failover_done; /* s into the traffic phase, -1: none / not seen */
	_Atomic double failover_ctl_down;          /* when the controller saw the dead master down */
	int failover_from;                     /* the master that was killed (0-based), -1 */
	_Atomic uint32_t answers[LAB_MAX_AGENTS][LAB_MAX_SECS];  /* legit answers per share, per second */
	_Atomic uint64_t real[LAB_MAX_AGENTS], decoy[LAB_MAX_AGENTS], fail[LAB_MAX_AGENTS];
	/* answers to queries sent after the share's agent was killed: fresh
	 * from fluxgated (the zone's TTL), and from the resolver's cache */
	_Atomic uint64_t dead_answers[LAB_MAX_AGENTS], dead_cached[LAB_MAX_AGENTS];
	/* failover: legit exchanges answered by a decoy / by nobody, by when
	 * their SYN left: inside the window or outside it; inside, a decoy's
	 * are explained (late / blackout / product, see lab_dist_outcome) */
	_Atomic uint64_t fo_decoy_out, fo_fail_out, fo_decoy_in_late, fo_decoy_in_product, fo_fail_in;
	_Atomic uint64_t fo_decoy_in_blackout;  /* SYN left while no gateway held the addresses */
	_Atomic uint64_t fo_real_in;
	_Atomic uint64_t fo_dns_in, fo_dns_out;    /* no DNS answer, by when the session gave up */
	/* exchanges in flight at the failover (SYN before it, ended after) */
	_Atomic uint64_t fo_flight_real, fo_flight_decoy, fo_flight_fail;
	/* gateway.external-dns */
	char tsig_secret[64];                  /* base64, shared by the server and the controller */
	uint32_t ext_serial0, ext_serial1;     /* the zone's SOA serial before and after the run */
	uint64_t ext_published, ext_failed;    /* the controller's UPDATEs (fluxctl status) */
	pthread_t events;
	bool events_started;
} lab_dist_t;

typedef struct lab_run {
	lab_scenario_t *sc;
	char prefix[32];               /* namespace prefix "fl<pid>" */
	char workdir[512];
	char fluxgated[512], fluxctl[512], self[512];
	char fluxdecoy[512];            /* the decoy bed's daemon */
	uint32_t pool_base;            /* host order, first usable address */
	uint32_t pool_size;            /* usable addresses */
	uint32_t pool_net, pool_plen;
	uint8_t pool6_net[16];         /* gateway.pool6, network order */
	unsigned pool6_plen;           /* 0: no IPv6 */
	lab_seen_t *seen[2];           /* answers seen, IPv4 / IPv6 */
	double t0;                     /* CLOCK_MONOTONIC seconds at traffic start */
	pid_t fluxgated_pid;
	lab_series_t *ser;
	lab_hist_t *dns_lat;
	lab_hist_t *syn_delay;         /* legit: answer received -> SYN sent (µs) */
	lab_misroute_t *mis;           /* timelines of misroutes, nmis of them */
	size_t nmis, mis_cap;          /* under mis_lock */
	pthread_mutex_t mis_lock;
	double t0_wall;                /* CLOCK_REALTIME at t0 (fluxgated's event log) */
	bool explained;                /* the misroutes were classified against the grants */
	uint64_t mis_retrans[2];       /* per family: late ones made by a retransmitted SYN */
	uint64_t ct_drops;             /* gateway conntrack: drop + early_drop + insert_failed */
	uint64_t fail_connected;       /* unanswered after the handshake: a slow server or
					* engine, not routing (neither late nor product) */
	lab_size_stats_t *sizes;       /* [4] by protocol when legit.sizes is set, else NULL */
	lab_dist_t *dist;              /* gateway.mode: distributed, else NULL */
	const lab_pcap_t *replay;      /* legit.replay: the trace's session openings */
	lab_pcap_start_t *trace;       /* --trace-out: legit SYNs recorded, or NULL */
	_Atomic size_t ntrace;
	size_t trace_cap;
	lab_role_stats_t legit;        /* both families (summed at the end) */
	lab_role_stats_t fam[2];       /* legit per family: IPv4, IPv6 (the engines add here) */
	lab_role_stats_t atk[LAB_MAX_ATTACKS];
	atomic_int stop;               /* set by signals and at the end */
	bool verbose;
} lab_run_t;

extern lab_run_t *g_run;

/* ---- topo.c */
int topo_setup(lab_run_t *r);
void topo_teardown(lab_run_t *r);
/* full namespace name of role ("cli", "gw", ...) */
const char *topo_ns(lab_run_t *r, const char *role, char *buf, size_t len);
/* enter a namespace in the calling thread */
int topo_enter(lab_run_t *r, const char *role);
/* start argv in namespace role (NULL = current), output to workdir/label.log;
 * the PID is recorded and killed at teardown */
pid_t topo_spawn(lab_run_t *r, const char *role, const char *label, char *const argv[]);
/* run argv to completion in role (NULL = here); returns exit status, output into *out if given */
int topo_run(lab_run_t *r, const char *role, char *const argv[], char **out);
void topo_forget(pid_t pid);
int topo_clean_stale(void);
uint64_t topo_counter(lab_run_t *r, const char *role, const char *name);

/* ---- topo_dist.c: distributed mode's measurements and events */
/* the share of the pool addr (host order) is in, -1: none */
int lab_dist_share(const lab_run_t *r, uint32_t addr);
/* a legit IPv4 answer carrying addr, to a query sent at t_query */
void lab_dist_answer(lab_run_t *r, double t_query, double now, uint32_t addr, bool fresh);
/* how a legit IPv4 exchange to addr ended at `now`: 0 real, 1 decoy,
 * 2 nobody, 3 no DNS answer (addr then means nothing); t_syn 0 when no
 * SYN left; late: the client's own lateness (engine.c) */
void lab_dist_outcome(lab_run_t *r, uint32_t addr, int outcome, double t_syn, double now, bool late);
/* the failover window, s into the run: [from, to] (false: no failover) */
bool lab_dist_failover_window(const lab_run_t *r, double *from, double *to);
int lab_dist_events_start(lab_run_t *r);
/* after the traffic phase, before teardown: the external server's serial
 * and the controller's UPDATE counts (nothing in other modes) */
void topo_dist_finish(lab_run_t *r);
void lab_dist_events_join(lab_run_t *r);

/* ---- engine.c: TCP/UDP traffic (legit, invalid, aware, sweep) */
typedef struct lab_engine_cfg {
	lab_run_t *run;
	lab_role_stats_t *st;
	bool legit;
	enum lab_attack_kind kind;     /* when !legit */
	unsigned clients;
	unsigned first;                /* index of the first client (shards) */
	uint32_t src_net;              /* /16 of source addresses */
	bool v6;                       /* IPv6: AAAA, pool6, sources in src_net6 */
	uint8_t src_net6[16];          /* /64 of IPv6 source addresses */
	unsigned sample;               /* IPv6 sweep: addresses drawn from the /64 */
	double delay_s;                /* hitlist: age of the replayed addresses */
	unsigned protocols;
	const lab_dist_spec_t *think, *latency;
	double rate;                   /* probers */
	unsigned probes, port, rounds;
	double start_s, end_s;         /* relative to run t0 */
	uint64_t seed;
} lab_engine_cfg_t;
void *engine_thread(void *cfg);

/* ---- flood.c */
typedef struct lab_flood_cfg {
	lab_run_t *run;
	lab_role_stats_t *st;
	const lab_attack_t *a;
	uint32_t src_net;
	double start_s, end_s;
	uint64_t seed;
} lab_flood_cfg_t;
void *flood_thread(void *cfg);
double flood_rate_at(const lab_attack_t *a, double t_rel, double dur);

/* ---- scanners (main.c) */
void *scanner_thread(void *cfg);

/* ---- banner server (banner.c) */
int banner_main(int argc, char **argv);

/* ---- main.c: what the sampler saw */
struct json_t;
struct json_t *lab_fluxgated_stats(void);
double lab_fluxgated_cpu_s(void);
long lab_slab0(void);

/* ---- explain.c: misroutes against fluxgated's grant log (after the run) */
int explain_misroutes(lab_run_t *r);

/* ---- report.c */
int report_json(lab_run_t *r, const char *path);
int report_html(lab_run_t *r, const char *path);
void report_summary(lab_run_t *r, FILE *f);
int report_check(lab_run_t *r, FILE *f);

/* ---- util */
double lab_now(void);                    /* CLOCK_MONOTONIC seconds */
double lab_sample(const lab_dist_spec_t *d, uint64_t *rng);   /* ms, >= 0 */
/* a byte count, >= 0, clamped to max (no duration cap) */
double lab_sample_bytes(const lab_dist_spec_t *d, uint64_t *rng, double max);
uint64_t lab_rand(uint64_t *s);
double lab_rand01(uint64_t *s);
/* a random address of pool6 (never the all-zero interface id) */
void lab_pool6_random(const lab_run_t *r, uint64_t *rng, uint8_t out[16]);
/* usable addresses of pool6 (2^(128-plen) - 1: the all-zero id is not used) */
double lab_pool6_size(const lab_run_t *r);
/* sum of the per-family legit stats into r->legit */
void lab_role_add(lab_role_stats_t *dst, lab_role_stats_t *src);
void lab_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fluxgated's control socket: in the work directory, or /tmp/fluxlab-PID.ctl
 * when that path would not fit a UNIX socket (a console run's directory
 * carries the scenario's name) */
const char *lab_control_sock(const lab_run_t *r, char *buf, size_t len);

static inline unsigned lab_sec_index(lab_run_t *r, double now)
{
	double t = now - r->t0;
	if (t < 0)
		t = 0;
	unsigned i = (unsigned)t;
	return i < LAB_MAX_SECS ? i : LAB_MAX_SECS - 1;
}

#endif
