/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's config (fluxdecoy.conf(5)):
 *
 *   decoy:
 *     listen: [0.0.0.0, "::"]      # wildcard: the pool reaches it by a local route
 *     user: fluxdecoy
 *     event-log: /var/log/fluxdecoy/eve.json
 *     metrics: 127.0.0.1@9561
 *     idle-timeout: 30s
 *     max-clients: 1024
 *     scan-window: 60s             # high interaction: the scan filter
 *     scan-filter-size: 65536
 *     binding-idle: 5m             # late bindings collected after this
 *     max-bindings: 4096
 *     nft-table: fluxdecoy         # containment (fluxdecoy's own table)
 *     reflect-address: 198.51.100.250   # the fake Internet (reflect)
 *     reflect-dns: 10.0.4.1@53
 *   persona:
 *     - id: web
 *       file: /etc/fluxdecoy/web.persona
 *       addresses: [198.51.100.0/24]      # destinations it answers for
 *       tls-cert: /etc/fluxdecoy/web.chain.pem
 *       tls-key: /etc/fluxdecoy/web.key
 *       backends: [10.0.4.10]            # high-interaction (real) servers
 *       containment: drop                # drop | reply-only | reflect
 *       udp-backends: true               # its udp: ports bind to them too
 *     - id: web-flash                      # or: a backend per universe
 *       backend-template: [/usr/local/lib/fluxdecoy/spawn-web]
 *       template-addresses: [10.0.5.0/28]
 *       ssh-host-keys: [/etc/fluxdecoy/ssh_host_ed25519_key, ...]
 *       ssh-key-rotation: 10m
 *
 *   include: /etc/fluxgate/pools.conf     # shared pool definitions
 *   shuffle:
 *     epoch: 10m
 *     key: /etc/fluxdecoy/shuffle.key
 *     universe-prefix4: 32
 *     universe-prefix6: 64
 *   pool:                                  # here or in the include
 *     - id: web4
 *       prefix: 198.51.100.0/24
 *   persona:
 *     - id: web-like
 *       file: /etc/fluxdecoy/web.persona
 *       pool: web4                          # shuffled over the pool...
 *       share: 0.8                          # ...on this share of it
 *
 * fd_conf_load*() also load every persona file it names (errors there are
 * reported with the persona file's name and line). Pure apart from reading
 * those files. Ownership: the caller frees the result with fd_conf_free().
 */
#ifndef FG_DECOY_DCONF_H
#define FG_DECOY_DCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "decoy/persona.h"

/* The schema (root table), for the documentation checks. */
extern const fg_item_t fd_conf_schema[];

typedef struct fd_conf_persona {
	char *id;
	char *file;
	fg_conf_prefix_t *addresses;  /* none: every destination */
	size_t naddresses;
	char *tls_cert, *tls_key;     /* PEM chain and its private key */
	char **ssh_host_keys;         /* OpenSSH or PEM private key files */
	size_t nssh_host_keys;
	uint32_t ssh_key_rotation_s;  /* 0: the active set changes on `rotate` */
	char **pools;                 /* shuffled over these pools (ids) */
	size_t npools;
	double share;                 /* of each pool's addresses, [0, 1] */
	fd_persona_t *persona;        /* loaded from `file` */
	fg_conf_addr_t *backends;     /* high-interaction servers (no port:
					 a flow keeps its port) */
	size_t nbackends;
	int containment;              /* enum fd_containment */
	char **tmpl;                  /* backend-template: argv of the command
					 that starts/stops a backend per
					 universe (Potemkin's flash clone) */
	size_t ntmpl;
	fg_conf_prefix_t *tmpl_addrs; /* template-addresses: its slots */
	size_t ntmpl_addrs;
	bool udp_backends;            /* udp-backends: the persona's `udp:`
					 ports late-bind to the backends too */
	int line;
} fd_conf_persona_t;

/* Most template slots of one persona. */
#define FD_MAX_SLOTS 256

/* Export policy of a persona's backends (Potemkin), enforced by the
 * kernel (fluxdecoy/contain.h). */
enum fd_containment { FD_CONTAIN_DROP, FD_CONTAIN_REPLY_ONLY, FD_CONTAIN_REFLECT };
extern const char *const fd_containment_names[];

typedef struct fd_conf {
	struct {
		fg_conf_addr_t *listen;
		size_t nlisten;
		char *user;
		char *event_log;
		fg_conf_addr_t metrics;   /* .len 0: no metrics endpoint */
		uint32_t idle_timeout_ms;
		unsigned max_clients;
		uint32_t scan_window_ms;
		unsigned scan_filter_size;
		uint32_t binding_idle_ms;
		unsigned max_bindings;
		char *nft_table;          /* NULL: "fluxdecoy" */
		fg_conf_addr_t reflect_address;  /* .len 0: none */
		fg_conf_addr_t reflect_dns;      /* .len 0: none */
		char *control;            /* control socket path; NULL: none */
	} decoy;
	fd_conf_persona_t *personas;
	size_t npersonas;
	char **include;               /* files of shared pools */
	size_t ninclude;
	fg_conf_pool_t *pools;        /* from the include or this file */
	size_t npools;
	struct {
		uint32_t epoch_ms;
		char *key;                /* root-only file; NULL: random per start */
		unsigned universe_prefix4, universe_prefix6;
	} shuffle;
} fd_conf_t;

/* Parse `buf`. Persona files are read when `load_personas` (the unit tests
 * and the fuzzer check the config alone). */
int fd_conf_load_buffer(const char *name, const char *buf, size_t len,
			bool load_personas, fd_conf_t **out,
			fg_conf_diag_fn diag, void *ctx);
int fd_conf_load(const char *path, fd_conf_t **out, fg_conf_diag_fn diag, void *ctx);
void fd_conf_free(fd_conf_t *c);

/* Whether address `a` (4 or 16 octets, network order, of `family`) lies in
 * one of the persona's addresses (true when it has none; false for a
 * persona shuffled over pools: the shuffle places those). */
bool fd_conf_persona_covers(const fd_conf_persona_t *p, int family, const uint8_t *a);

/* Index of the persona whose backends include `a` (4 or 16 octets of
 * `family`), or -1: a flow from a backend is reflected, never bound. */
int fd_conf_backend_persona(const fd_conf_t *c, int family, const uint8_t *a);

/* Template slots of a persona (0 without backend-template), and the
 * IPv4 address of slot i (false past the last). */
size_t fd_conf_slots(const fd_conf_persona_t *p);
bool fd_conf_slot_addr(const fd_conf_persona_t *p, size_t i, uint8_t out[4]);

/* Backends of a persona: its fixed backends, or its template slots. */
size_t fd_conf_nbackends(const fd_conf_persona_t *p);

/* The nftables table name (decoy.nft-table or its default). */
const char *fd_conf_nft_table(const fd_conf_t *c);

/* The pool with id `id`, or NULL. */
const fg_conf_pool_t *fd_conf_pool(const fd_conf_t *c, const char *id);

#endif
