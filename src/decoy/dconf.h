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
 *   persona:
 *     - id: web
 *       file: /etc/fluxdecoy/web.persona
 *       addresses: [198.51.100.0/24]      # destinations it answers for
 *       tls-cert: /etc/fluxdecoy/web.chain.pem
 *       tls-key: /etc/fluxdecoy/web.key
 *       ssh-host-keys: [/etc/fluxdecoy/ssh_host_ed25519_key, ...]
 *       ssh-key-rotation: 10m
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
	fd_persona_t *persona;        /* loaded from `file` */
	int line;
} fd_conf_persona_t;

typedef struct fd_conf {
	struct {
		fg_conf_addr_t *listen;
		size_t nlisten;
		char *user;
		char *event_log;
		fg_conf_addr_t metrics;   /* .len 0: no metrics endpoint */
		uint32_t idle_timeout_ms;
		unsigned max_clients;
		char *control;            /* control socket path; NULL: none */
	} decoy;
	fd_conf_persona_t *personas;
	size_t npersonas;
} fd_conf_t;

/* Parse `buf`. Persona files are read when `load_personas` (the unit tests
 * and the fuzzer check the config alone). */
int fd_conf_load_buffer(const char *name, const char *buf, size_t len,
			bool load_personas, fd_conf_t **out,
			fg_conf_diag_fn diag, void *ctx);
int fd_conf_load(const char *path, fd_conf_t **out, fg_conf_diag_fn diag, void *ctx);
void fd_conf_free(fd_conf_t *c);

/* Whether address `a` (4 or 16 octets, network order, of `family`) lies in
 * one of the persona's addresses (true when it has none). */
bool fd_conf_persona_covers(const fd_conf_persona_t *p, int family, const uint8_t *a);

#endif
