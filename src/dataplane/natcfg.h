/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one place where the data plane description (fg_nat_config_t) is made
 * from a configuration: pools, decoy next hops, each service's exposed
 * ports over its pool ranges, the DNS listeners to keep out of conntrack,
 * and the fixed data-plane constants (mark, route table, NFLOG group).
 * The privileged process builds it from the file it read itself, so
 * nothing in it comes from the unprivileged side.
 *
 * Pure: no I/O, no globals. Ownership: fg_nat_config_build() returns a
 * heap object owning every array the config points to (and the table
 * name); the config lives in it and dies with fg_nat_cfgbuf_free().
 */
#ifndef FG_DATAPLANE_NATCFG_H
#define FG_DATAPLANE_NATCFG_H

#include "conf/conf.h"
#include "dataplane/nat.h"

typedef struct fg_nat_cfgbuf {
	fg_nat_config_t cfg;          /* points into this object */
	char *table;
	fg_nat_prefix_t *pools;
	fg_nat_svcport_t *svcports;
	fg_nat_listen_t *listen;
	fg_nat_backend_t *backends;
	fg_nat_prefix_t *portmap;
} fg_nat_cfgbuf_t;

/* 0, -ENOMEM or -EINVAL (a `ports` entry that does not parse: the loader
 * rejects those first). */
int fg_nat_config_build(const fg_conf_t *conf, fg_nat_cfgbuf_t **out);
void fg_nat_cfgbuf_free(fg_nat_cfgbuf_t *b);

/* The port a backend address carries (host order, 0 = same port). */
uint16_t fg_nat_addr_port(const struct sockaddr_storage *ss);

#endif
