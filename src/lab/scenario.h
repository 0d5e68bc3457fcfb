/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab scenarios: a YAML file describing one experiment (topology knobs
 * of the gateway, legitimate clients, attackers, what to expect). Parsing is
 * pure apart from reading the file: the result is a plain struct, every
 * diagnostic carries file:line and goes through a callback, so the parser is
 * unit-tested without namespaces. The format is documented in lab/README.md.
 */
#ifndef FG_LAB_SCENARIO_H
#define FG_LAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lab_dist {
	LAB_DIST_NONE = 0,     /* always 0 */
	LAB_DIST_CONST,        /* always mean */
	LAB_DIST_NORMAL,       /* normal(mean, stddev) truncated at 0 */
	LAB_DIST_EXP,          /* exponential with this mean */
	LAB_DIST_PARETO,       /* Pareto(shape, min) */
	LAB_DIST_GAMMA,        /* gamma(shape, scale) */
	LAB_DIST_UNIFORM,      /* uniform in [min, max] */
};

/* A random duration; every time is in milliseconds (double) before scale. */
typedef struct lab_dist_spec {
	enum lab_dist kind;
	double mean, stddev, shape, scale_param, min, max;
	double scale;          /* multiplies every sample, default 1 */
} lab_dist_spec_t;

/* legit.sizes.PROTO: request and reply bytes drawn per session */
#define LAB_SIZE_MAX 10000000.0    /* reply: 10 MB, a sample is clamped to this */
#define LAB_REQ_MAX 60000.0        /* request: padded in one header line
				    * (lighttpd's limit is 64 KiB), clamped */
typedef struct lab_size_pair {
	bool set;
	lab_dist_spec_t request, reply;
	int line;
} lab_size_pair_t;

enum lab_proto { LAB_HTTP = 1u << 0, LAB_HTTPS = 1u << 1, LAB_SSH = 1u << 2, LAB_SMTP = 1u << 3 };

enum lab_attack_kind {
	LAB_ATK_INVALID = 1,   /* application sessions straight to pool addresses */
	LAB_ATK_AWARE,         /* random probing with replacement */
	LAB_ATK_SWEEP,         /* built-in sequential sweep, until the first real hit */
	LAB_ATK_NMAP,          /* real nmap */
	LAB_ATK_MASSCAN,       /* real masscan */
	LAB_ATK_DNS_FLOOD,     /* DNS queries at fluxgated */
	LAB_ATK_SYN_FLOOD,     /* TCP SYNs at the pool */
	LAB_ATK_TCP_FLOOD,     /* TCP segments with drawn flags at the pool (the Flooder) */
	LAB_ATK_UDP_FLOOD,     /* UDP datagrams of drawn sizes at the pool */
	LAB_ATK_ICMP_FLOOD,    /* ICMP echo requests of drawn sizes at the pool */
	LAB_ATK_HITLIST,       /* replays pool addresses legit clients got in earlier answers */
};

enum lab_dynamics { LAB_DYN_FLAT = 0, LAB_DYN_PULSE, LAB_DYN_RAMP_UP, LAB_DYN_RAMP_DOWN };
enum lab_nmap_scan { LAB_NMAP_SYN = 0, LAB_NMAP_CONNECT };

typedef struct lab_attack {
	enum lab_attack_kind kind;
	char *name;            /* label in the report (default: the type) */
	unsigned clients;      /* invalid: concurrent sessions */
	unsigned protocols;    /* invalid: LAB_* mask */
	lab_dist_spec_t think; /* invalid: think time */
	double rate;           /* aware/sweep: probes/s; floods: packets/s (peak) */
	unsigned probes;       /* aware: budget (0 = until the end) */
	unsigned port;         /* aware/sweep/scanners/syn-flood: TCP port */
	enum lab_nmap_scan scan;   /* nmap */
	unsigned rounds;       /* nmap/masscan/sweep: times over the pool */
	enum lab_dynamics dynamics;
	uint32_t period_ms;    /* pulse period */
	double duty;           /* pulse: fraction of the period on */
	bool spoof;            /* floods: random source addresses */
	lab_dist_spec_t size;  /* floods: payload bytes per packet (0..1400 used) */
	bool size_set;
	uint8_t flags[8];      /* tcp-flood: flag sets to draw from (default SYN) */
	unsigned nflags;
	uint32_t start_ms, duration_ms;  /* when it runs (duration 0 = to the end) */
	unsigned family;       /* 4 or 6: the pool (and source addresses) it attacks */
	unsigned sample;       /* IPv6 sweep/nmap: addresses drawn from the pool6 prefix */
	uint32_t delay_ms;     /* hitlist: replayed addresses are at least this old */
	int line, sample_line;
} lab_attack_t;

enum lab_gw_mode { LAB_GW_STANDALONE = 0, LAB_GW_DISTRIBUTED };
#define LAB_MAX_AGENTS 4
#define LAB_MAX_EVENTS 8

/* events: what happens to the topology during the traffic phase */
enum lab_event_kind {
	LAB_EV_KILL_AGENT = 1, /* SIGKILL an agent's fluxgated, take its links down */
	LAB_EV_FAILOVER,       /* kill the pair's active gateway (keepalived + links) */
};
typedef struct lab_event {
	enum lab_event_kind kind;
	unsigned agent;        /* kill-agent: 1..gateway.agents */
	uint32_t at_ms;        /* into the traffic phase */
	int line;
} lab_event_t;

typedef struct lab_scenario {
	char *path;
	char *name;
	char *description;
	uint32_t duration_ms;  /* traffic phase */
	uint64_t seed;
	struct {
		char *pool;            /* IPv4 CIDR, default 198.51.100.0/24 */
		char *pool6;           /* IPv6 prefix /64../120 (NULL = IPv4 only) */
		uint32_t ttl_ms, grace_ms, pin_ms;
		double max_open_fraction;
		unsigned workers;      /* fluxgated DNS workers (0 = auto) */
		uint32_t ct_time_wait_s;   /* gateway nf_conntrack TIME_WAIT (0 = kernel default) */
		long rrl_rate, rrl_slip;   /* fluxgated rrl.rate / rrl.slip, -1 = its default */
		/* gateway.mode: distributed = a controller answering DNS and
		 * `agents` NAT agents, each owning its share of the pool, or
		 * (pair) two agents sharing it through keepalived + conntrackd */
		enum lab_gw_mode mode;
		unsigned agents;           /* distributed: 1..LAB_MAX_AGENTS (default 2) */
		bool pair;                 /* distributed: the agents are a failover pair */
		bool on_timeout_healthy;   /* dist.on-timeout: healthy-pool (default servfail) */
		uint32_t agent_timeout_ms; /* agent[].timeout (default 2s) */
		/* distributed: www.lab.test is served by an external Knot or
		 * BIND the controller updates (RFC 2136, TSIG) every epoch */
		enum lab_external { LAB_EXT_NONE = 0, LAB_EXT_KNOT, LAB_EXT_BIND } external;
		uint32_t epoch_ms;         /* service external.epoch (default 30s, the daemon's) */
		int external_line;
		uint64_t server_rate_bps;  /* the servers' replies leave at this rate (tbf), 0 = line rate */
		int mode_line, agents_line, pair_line;
	} gateway;
	struct {
		bool resolver;         /* true: via unbound; false: stub at fluxgated */
		uint32_t timeout_ms;   /* per query before a retry */
		unsigned retries;
		unsigned ecs;          /* resolver sends EDNS Client Subnet of this
					* IPv4 prefix length (0 = off) */
		unsigned ecs6;         /* with gateway.pool6: the IPv6 prefix length
					* it sends, also fluxgated's ecs-min-prefix6
					* (0 = 56, both defaults) */
		int ecs6_line;
		uint32_t min_ttl_ms;   /* resolver keeps answers at least this long
					* whatever their TTL (unbound cache-min-ttl; 0 = off) */
	} dns;
	struct {
		unsigned clients;
		unsigned protocols;    /* LAB_* mask */
		lab_dist_spec_t think;
		lab_dist_spec_t latency;   /* one-way, added before every send */
		uint32_t timeout_ms;   /* per application exchange */
		double host_cache_share;   /* share of the clients with a host cache that
					    * ignores the TTL (nscd, T&E section 3.1) */
		uint32_t host_cache_ttl_ms; /* how long such a cache keeps an answer */
		double ipv6_share;     /* share of the clients that use IPv6 (AAAA, pool6) */
		int ipv6_line;
		char *replay;          /* pcap whose TCP openings time the sessions,
					* as written (relative: to the scenario file) */
		int replay_line;
		lab_size_pair_t sizes[4];  /* indexed like LAB_* bits: http, https
					    * (ssh, smtp are refused: fixed banners) */
	} legit;
	lab_attack_t *attacks;
	size_t nattacks;
	lab_event_t events[LAB_MAX_EVENTS];
	size_t nevents;
	struct {
		bool set;
		double legit_misrouted_max;    /* ratio, e.g. 0 */
		long attack_reach_max;         /* real-server hits by attackers, -1 = not checked,
						  LAB_REACH_PREDICTED = the aliasing bound */
		double legit_ok_min;           /* fraction of legit sessions that reached the real server */
		int reach_line;                /* line of attack-reach-max: predicted (diagnostics) */
		/* distributed mode (-1 = not checked): legit exchanges a decoy
		 * answered among those to pools whose agents stayed up (ratio);
		 * answers to queries sent after a kill-agent that carry the dead
		 * agent's addresses (count); with a failover, legit exchanges a
		 * decoy answered outside the failover window (count) */
		double healthy_misrouted_max;
		long dead_answers_max;
		long outside_failover_misrouted_max;
		int dist_line;                 /* line of the first of them */
	} expect;
} lab_scenario_t;

/* expect.attack-reach-max: predicted. Attackers that only send `invalid`
 * sessions to random pool addresses reach the real server when the address
 * is open to anyone (T&E section 6.3.2, aliasing): fluxlab computes the
 * bound from their session count and the measured open fraction. */
#define LAB_REACH_PREDICTED (-2L)

/* One problem: file, line (0 if none) and message. */
typedef void (*lab_diag_fn)(void *ctx, const char *file, int line, const char *msg);

int lab_scenario_load(const char *path, lab_scenario_t **out, lab_diag_fn diag, void *ctx);
int lab_scenario_load_buffer(const char *name, const char *buf, size_t len,
			     lab_scenario_t **out, lab_diag_fn diag, void *ctx);
void lab_scenario_free(lab_scenario_t *s);

const char *lab_attack_kind_name(enum lab_attack_kind k);
const char *lab_event_kind_name(enum lab_event_kind k);
/* the packet generators of flood.c (dns-, syn-, tcp-, udp-, icmp-flood) */
bool lab_attack_is_flood(enum lab_attack_kind k);
const char *lab_dist_name(enum lab_dist d);
/* "http,ssh" form of a protocol mask into buf */
const char *lab_proto_names(unsigned mask, char *buf, size_t len);

#endif
