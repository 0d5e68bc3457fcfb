/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Configuration: a YAML file in the style of knot.conf, read against a schema
 * table (conf/schema.c). Parsing is pure apart from reading the file: no
 * globals; every diagnostic carries file:line and goes through a callback.
 *
 * Ownership: fg_conf_load() returns a heap object owning every string and
 * array in it; release it with fg_conf_free().
 *
 * TIME values accept s/m/h/d/w suffixes (plain number = seconds) and ms;
 * SIZE values accept k/M/G.
 */
#ifndef FG_CONF_CONF_H
#define FG_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/secretfile.h"
#include "dns/tsig.h"

typedef struct fg_conf_addr {     /* "10.0.0.1@53", "fd00::1@53", "127.0.0.1" */
	struct sockaddr_storage ss;
	socklen_t len;
	int line;
} fg_conf_addr_t;

typedef struct fg_conf_prefix {   /* an IPv4/IPv6 CIDR or first-last range */
	int family;               /* AF_INET or AF_INET6 */
	uint8_t first[16];        /* network byte order */
	uint8_t last[16];
	uint8_t plen;             /* prefix length when given as CIDR, else 0 */
} fg_conf_prefix_t;

typedef struct fg_conf_record {
	char *text;               /* "www A 10.0.0.1" as written */
	int line;
} fg_conf_record_t;

typedef struct fg_conf_zone {
	char *domain;
	uint32_t ttl;             /* default TTL, seconds (default 3600) */
	struct {
		char *mname, *rname;
		uint32_t serial, refresh, retry, expire, minimum;
	} soa;
	fg_conf_record_t *records;
	size_t nrecords;
	struct {                  /* zone.dnssec: online signing */
		bool set;
		char *algorithm;  /* "ecdsap256sha256" (default) or "ed25519" */
		char *keys;       /* directory of BIND key files */
		uint32_t rrsig_lifetime, rrsig_refresh;  /* seconds */
	} dnssec;
	int line;
} fg_conf_zone_t;

/* Limits the data plane imposes, checked at load so that --check and the
 * daemon agree: the nftables table name fits the kernel's buffer with its
 * NUL (and [priv]'s fixed-size message field), and the pool count fits the
 * fixed pool list of the data-plane setup. */
#define FG_CONF_NFT_NAME_MAX 63
#define FG_CONF_MAX_POOLS    64
/* external services one zone's UPDATE carries (grant/epoch.c) */
#define FG_CONF_EXTERNAL_PER_ZONE 16

typedef struct fg_conf_pool {
	char *id;
	fg_conf_prefix_t prefix;
	int line;
} fg_conf_pool_t;

enum fg_rrl_apply { FG_RRL_APPLY_SERVICE = 0, FG_RRL_APPLY_ALL };

enum fg_rotation { FG_ROTATE_PER_ANSWER = 0, FG_ROTATE_MIN_INTERVAL };

/* service.access: who may get a private service's address */
enum fg_access { FG_ACCESS_PUBLIC = 0, FG_ACCESS_PRIVATE };
/* service.unauthenticated: what everyone else gets */
enum fg_unauth { FG_UNAUTH_NXDOMAIN = 0, FG_UNAUTH_DECOY };

/* A TSIG key (top-level `key:` list, as in knot.conf): its id is the key
 * name on the wire. The secret is given inline or read from `secret_file`
 * (conf/secretfile.h) into `secret` at load; it is decoded into
 * tsig_keys[]; the text and the decoded key are zeroized by fg_conf_free(). */
typedef struct fg_conf_key {
	char *id;                 /* key name, e.g. "resolver1.example." */
	char *algorithm;          /* "hmac-sha256" or "hmac-sha512" */
	char *secret;             /* base64 */
	char *secret_file;        /* absolute path, or NULL */
	fg_secretfile_id_t secret_id;  /* the file as read (reload takeover) */
	int line;
} fg_conf_key_t;

/* policy.keys: what a verified key gives its asker */
enum fg_key_role { FG_ROLE_NONE = 0, FG_ROLE_RESOLVER, FG_ROLE_CLIENT };

typedef struct fg_conf_policy_key {
	char *key;                /* id of a `key:` entry */
	int role;                 /* enum fg_key_role - 1 as parsed (0 resolver, 1 client) */
	int line;
} fg_conf_policy_key_t;

typedef struct fg_conf_service {
	char *id;
	char *name;               /* presentation form, inside a configured zone */
	fg_conf_addr_t *backends; /* protected servers (port 0 = same port) */
	size_t nbackends;
	char **ports;             /* exposed: "tcp/80", "udp/53", "tcp/8000-8099",
				     "any"; none: the backends' ports (TCP) */
	size_t nports;
	char **pools;             /* pool ids */
	size_t npools;
	uint32_t ttl_ms, grace_ms, pin_ms, min_interval_ms;
	enum fg_rotation rotation;
	double max_open_fraction; /* 0 < f <= 1, default 0.1 */
	/* service.external: the name is served by an external authoritative
	 * server (Knot, BIND) that fluxgated updates over RFC 2136 with TSIG
	 * once per epoch, instead of answering it itself */
	struct {
		bool set;
		fg_conf_addr_t server;    /* primary that accepts UPDATE (port 53) */
		char *zone;               /* the zone the name is in, on that server */
		char *key;                /* TSIG key id (key: section) */
		uint32_t epoch_ms;        /* one new address per epoch (30s) */
		uint32_t timeout_ms;      /* per request to the server (2s) */
	} external;
	int access;               /* enum fg_access, default public */
	int unauthenticated;      /* enum fg_unauth, default nxdomain */
	int line;
} fg_conf_service_t;

/* Distributed mode (dist/): what this node is. */
enum fg_role { FG_ROLE_STANDALONE = 0, FG_ROLE_CONTROLLER, FG_ROLE_AGENT };
/* A controller's answer when an agent serving the pool does not ACK. */
enum fg_dist_on_timeout { FG_DIST_SERVFAIL = 0, FG_DIST_HEALTHY_POOL };

#define FG_CONF_MAX_AGENTS 16
#define FG_DIST_DEFAULT_PORT 4700

typedef struct fg_conf_agent {    /* controller: one NAT agent it commands */
	char *id;                 /* the agent's dist.id (certificate name) */
	fg_conf_addr_t address;   /* where it listens (default port 4700) */
	char *psk_file;           /* TLS 1.3 external PSK (hex); else certificates */
	char **pools;             /* pools it serves; none = every pool */
	size_t npools;
	uint32_t timeout_ms;      /* ACK deadline of a command (default 2s) */
	char *pair;               /* the other agent of its failover pair, or NULL */
	int line;
} fg_conf_agent_t;

typedef struct fg_conf_controller { /* agent: a controller it obeys */
	char *id;                 /* the controller's dist.id (PSK identity) */
	char *psk_file;           /* else certificates */
	char **pools;             /* the pools it may grant from; none = every pool */
	size_t npools;
	int line;
} fg_conf_controller_t;

/* The longest a grant of service `s` may live: ttl + grace, and for an
 * external service one epoch more (its address stays published for an
 * epoch, then cached for ttl). The one figure the grant engine uses and
 * the privileged side enforces. */
static inline uint32_t fg_conf_service_grant_ms(const fg_conf_service_t *s)
{
	uint64_t ms = (uint64_t)s->ttl_ms + s->grace_ms;
	if (s->external.set)
		ms += s->external.epoch_ms;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

typedef struct fg_conf {
	char *path;               /* file the config was read from */
	int role;                 /* enum fg_role, default standalone */
	struct {
		char *id;         /* this node's name: PSK identity, certificate name */
		fg_conf_addr_t listen;  /* agent: where controllers connect (len 0: unset) */
		int on_timeout;   /* enum fg_dist_on_timeout */
		uint32_t log_size;        /* commands kept per agent for replay */
		char *tls_ca, *tls_cert, *tls_key;  /* certificate authentication */
	} dist;
	fg_conf_agent_t *agents;
	size_t nagents;
	fg_conf_controller_t *controllers;
	size_t ncontrollers;
	char **include;           /* files of shared pools (conf/include.h) */
	size_t ninclude;
	struct {
		fg_conf_addr_t *listen;
		size_t nlisten;
		unsigned workers;         /* 0 = auto (one per online CPU) */
		unsigned tcp_max_clients; /* default 1024 */
		uint32_t tcp_idle_timeout_ms; /* default 10s */
		uint32_t tcp_query_timeout_ms; /* first byte to answer, default 5s */
		unsigned tcp_max_per_source; /* per IPv4 address or IPv6 /64, default 16 */
		char *user;               /* drop privileges to this user, optional */
		char *pidfile;
		char *nsid;               /* RFC 5001 NSID; "hostname": gethostname(); NULL: off */
		/* DNS over TLS (RFC 7858): off unless tls-listen is set */
		fg_conf_addr_t *tls_listen;
		size_t ntls_listen;
		char *tls_certificate;    /* PEM chain, leaf first */
		char *tls_key;            /* PEM private key, read before the privilege drop */
		unsigned tls_max_clients; /* default 256 */
		uint32_t tls_idle_timeout_ms; /* default 10s */
	} server;
	fg_conf_zone_t *zones;
	size_t nzones;
	fg_conf_pool_t *pools;
	size_t npools;
	fg_conf_service_t *services;
	size_t nservices;
	fg_conf_key_t *keys;      /* TSIG keys */
	size_t nkeys;
	/* keys[i] decoded (aligned with keys; nkeys entries), and the role
	 * policy.keys gives each (enum fg_key_role, FG_ROLE_NONE: none) */
	fg_tsig_key_t *tsig_keys;
	uint8_t *key_roles;
	struct {
		bool set;
		/* next hop(s) of the decoy bed: one IPv4 and/or one IPv6 */
		fg_conf_addr_t *route_via;
		size_t nroute_via;
	} decoy;
	struct {
		/* policy.direct: sources that query us themselves (stub
		 * resolvers on the clients): their grants are scoped to the
		 * exact source address. Everything else is a caching resolver:
		 * ECS scope when it sends a subnet, else "anyone". */
		fg_conf_prefix_t *direct;
		size_t ndirect;
		/* policy.resolvers: the caching resolvers allowed to obtain
		 * subnet- or anyone-scoped grants. When set, every other
		 * source is treated as a direct client (exact scope), so a
		 * flood of (spoofed) queries cannot open addresses to anyone. */
		fg_conf_prefix_t *resolvers;
		size_t nresolvers;
		/* ECS source prefixes shorter than these are ignored (the
		 * query counts as one without ECS): no subnet grant is wider */
		unsigned ecs_min_prefix4;     /* default 24 */
		unsigned ecs_min_prefix6;     /* default 56 */
		/* addresses one source /24 (IPv4) or /56 (IPv6) may hold open
		 * to anyone per service; past it, one it holds is handed again */
		unsigned anyone_per_source;   /* default 4 */
		/* live exact (client-scope) grants per source address and
		 * service; past it, one of its live grants is handed again */
		unsigned exact_per_source;    /* default 64 */
		/* percent of nat.grant-set-size that grants to unverified
		 * askers (UDP, no valid server cookie, no TSIG) may hold;
		 * past it their service answers are TC=1. 0: no budget */
		unsigned unverified_share;    /* default 50 */
		/* policy.keys: TSIG keys and the role each proves (resolver:
		 * as policy.resolvers, whatever the source; client: exact
		 * grants, private services) */
		fg_conf_policy_key_t *keys;
		size_t nkeys;
	} policy;
	struct {
		char *backend;            /* "nft" (default) or "memory" (tests) */
		char *table;              /* default "fluxgate" */
		uint32_t pin_set_size;    /* default 262144 */
		uint32_t grant_set_size;  /* default 1048576 */
	} nat;
	struct {
		char *socket;             /* default /run/fluxgate/control.sock */
		char *group;              /* may connect besides root (0660), optional */
	} control;
	struct {
		bool set;
		fg_conf_addr_t listen;    /* Prometheus endpoint */
	} metrics;
	struct {
		/* response rate limiting (dns/rrl.h) per source prefix */
		uint32_t rate;            /* responses/s per prefix, 0 = off (200) */
		uint32_t slip;            /* every slip-th limited: TC=1 (2), 0 = never */
		uint32_t ipv4_prefix;     /* default 24 */
		uint32_t ipv6_prefix;     /* default 56 */
		uint32_t table_size;      /* buckets (default 65536) */
		int apply_to;             /* FG_RRL_APPLY_SERVICE (default) or _ALL */
	} rrl;
	struct {
		/* DNS cookies: 32 hex digits shared by servers behind one
		 * anycast address; unset = random at start. Zeroized on free. */
		char *secret;
	} cookie;
	struct {
		char *file;               /* JSON event log path, optional */
		char *level;              /* error|warning|info|debug (default info) */
	} log;
} fg_conf_t;

/* Diagnostic sink: one call per problem, e.g. ("f.conf", 12, "zone[0].ttl:
 * invalid TIME value 'x'"). line is 0 when the problem has no line. */
typedef void (*fg_conf_diag_fn)(void *ctx, const char *file, int line, const char *msg);

/*
 * Load and validate `path`. Returns 0 and sets *out, or a negative error
 * after reporting every problem found through `diag` (it keeps going after
 * the first error so --check lists them all). Semantic checks across items
 * (service name inside a zone, pool ids exist, pool families match, unique
 * ids) are done here too. Zone *records* are only stored with their lines;
 * their syntax is checked when the zone database is built (conf/zonebuild.h).
 */
int fg_conf_load(const char *path, fg_conf_t **out, fg_conf_diag_fn diag, void *ctx);

/* Whole file (at most 16 MiB) into a NUL-terminated heap buffer the caller
 * frees (config files of fluxgated and fluxdecoy, persona files). Reports
 * through diag (line 0) and returns -errno on failure. */
int fg_conf_read_file(const char *path, char **buf, size_t *len,
		      fg_conf_diag_fn diag, void *ctx);

/* Same, from an in-memory buffer (unit tests, fuzzing); `name` labels
 * diags. An include is an error here (nothing to read it with). */
int fg_conf_load_buffer(const char *name, const char *buf, size_t len,
			fg_conf_t **out, fg_conf_diag_fn diag, void *ctx);

/* The text of the file at `path`, already read (the privilege separation
 * hands it over): like fg_conf_load_buffer(), but the files it includes
 * (conf/include.h) are read from disk. On a reload the reload variants
 * below take [priv]'s reading of them instead (FG_KF_INCLUDE), so they
 * need not be readable by the unprivileged user; [priv] checks every grant
 * against its own reading anyway. */
int fg_conf_load_text(const char *path, const char *buf, size_t len,
		      fg_conf_t **out, fg_conf_diag_fn diag, void *ctx);

/* A reload: like fg_conf_load_text() (text NULL: like fg_conf_load()),
 * but a key's secret-file that cannot be opened for lack of permission
 * (the unprivileged DNS process) takes the secret of `prev`'s key of the
 * same id and file, when the file is unchanged since prev read it. */
int fg_conf_reload(const char *path, const char *text, size_t len, const fg_conf_t *prev,
		   fg_conf_t **out, fg_conf_diag_fn diag, void *ctx);

/* The same, with the secrets the [priv] process read for this reload
 * (conf/keyfiles.h; may be NULL): a secret-file this process cannot open
 * takes [priv]'s copy first (a rewritten file applies), then prev's. */
struct fg_keyfiles;
int fg_conf_reload_keys(const char *path, const char *text, size_t len, const fg_conf_t *prev,
			const struct fg_keyfiles *kf, fg_conf_t **out, fg_conf_diag_fn diag,
			void *ctx);

void fg_conf_free(fg_conf_t *conf);

/* Advice on a valid config that is not an error (policy.resolvers empty
 * while services exist: any source outside policy.direct may obtain subnet
 * and anyone grants; a private service while no key has a role). One call of `warn` per warning, line 0 when it has
 * none. Pure. Returns the number of warnings. */
int fg_conf_warnings(const fg_conf_t *conf, fg_conf_diag_fn warn, void *ctx);

/* Reload semantics: the keys whose change between the running config
 * `run` and the reloaded `next` takes effect only after a restart (every
 * other key applies on reload). Writes them as "a, b" into out[cap] and
 * returns how many differ. Pure. */
unsigned fg_conf_restart_keys(const fg_conf_t *run, const fg_conf_t *next, char *out, size_t cap);

#define FG_CONF_WARN_NO_RESOLVERS \
	"warning: policy.resolvers is empty: any source outside policy.direct " \
	"may obtain subnet- and anyone-scoped grants; list the caching " \
	"resolvers in front of the gateway"


/* Parsers for scalar types, exposed for reuse and tests. Return 0 or a
 * negative error. */
int fg_conf_parse_time_ms(const char *s, uint32_t *ms);
int fg_conf_parse_size(const char *s, uint64_t *bytes);
int fg_conf_parse_addr(const char *s, uint16_t default_port, fg_conf_addr_t *out);
int fg_conf_parse_prefix(const char *s, fg_conf_prefix_t *out);

/* One entry of a service's `ports`: "tcp/N", "udp/N", "tcp/N-M", "any".
 * proto 6 or 17, ports first..last (1-65535); "any" gives proto 0. */
typedef struct fg_conf_port {
	uint8_t proto;
	uint16_t first, last;
} fg_conf_port_t;
int fg_conf_parse_port(const char *s, fg_conf_port_t *out);

#endif
