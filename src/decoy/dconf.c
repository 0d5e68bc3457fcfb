/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "decoy/dconf.h"
#include "decoy/shuffle.h"
#include "decoy/yload.h"

#define MS_MAX (49ULL * 86400000ULL)

static void persona_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			 const char *label)
{
	fd_conf_persona_t *p = entry;

	p->line = map->line;
	if (!p->tls_cert != !p->tls_key)
		fg_diag(ld, map->line, "%s: tls-cert and tls-key go together", label);
	if (p->npools && p->naddresses)
		fg_diag(ld, map->line, "%s: addresses and pool exclude each other "
			"(a pool's addresses are placed by the shuffle)", label);
}

#define DC(m) offsetof(fd_conf_t, decoy.m)

static const fg_item_t decoy_items[] = {
	{ .name = "listen", .type = FG_T_ADDR, .flags = FG_F_MULTI | FG_F_NOPORT,
	  .off = DC(listen), .cnt_off = DC(nlisten) },
	{ .name = "user", .type = FG_T_STR, .off = DC(user), .check = fg_check_user },
	{ .name = "event-log", .type = FG_T_STR, .off = DC(event_log),
	  .check = fg_check_abspath },
	{ .name = "metrics", .type = FG_T_ADDR, .off = DC(metrics), .port = 9561 },
	{ .name = "idle-timeout", .type = FG_T_TIME, .off = DC(idle_timeout_ms),
	  .min = 100, .max = MS_MAX, .def = "30s" },
	{ .name = "max-clients", .type = FG_T_INT, .off = DC(max_clients),
	  .min = 1, .max = 1048576, .def = "1024" },
	{ .name = NULL }
};

#define PC(m) offsetof(fd_conf_persona_t, m)

static const fg_item_t persona_items[] = {
	{ .name = "id", .type = FG_T_STR, .flags = FG_F_REQ, .off = PC(id),
	  .check = fg_check_id },
	{ .name = "file", .type = FG_T_STR, .flags = FG_F_REQ, .off = PC(file),
	  .check = fg_check_abspath },
	{ .name = "addresses", .type = FG_T_PREFIX, .flags = FG_F_MULTI,
	  .off = PC(addresses), .cnt_off = PC(naddresses) },
	{ .name = "tls-cert", .type = FG_T_STR, .off = PC(tls_cert),
	  .check = fg_check_abspath },
	{ .name = "tls-key", .type = FG_T_STR, .off = PC(tls_key),
	  .check = fg_check_abspath },
	{ .name = "pool", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = PC(pools), .cnt_off = PC(npools), .check = fg_check_id },
	{ .name = "share", .type = FG_T_FLOAT, .off = PC(share), .fmin = 0,
	  .fmax = 1, .def = "1" },
	{ .name = NULL }
};

#define SC(m) offsetof(fd_conf_t, shuffle.m)

static const fg_item_t shuffle_items[] = {
	{ .name = "epoch", .type = FG_T_TIME, .off = SC(epoch_ms), .min = 1000,
	  .max = MS_MAX, .def = "10m" },
	{ .name = "key", .type = FG_T_STR, .off = SC(key), .check = fg_check_abspath },
	{ .name = "universe-prefix4", .type = FG_T_INT, .off = SC(universe_prefix4),
	  .min = 0, .max = 32, .def = "32" },
	{ .name = "universe-prefix6", .type = FG_T_INT, .off = SC(universe_prefix6),
	  .min = 0, .max = 128, .def = "64" },
	{ .name = NULL }
};

static void pool_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		      const char *label)
{
	(void)ld;
	(void)label;
	((fg_conf_pool_t *)entry)->line = map->line;
}

const fg_item_t fd_conf_schema[] = {
	{ .name = "include", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = offsetof(fd_conf_t, include), .cnt_off = offsetof(fd_conf_t, ninclude),
	  .check = fg_check_abspath },
	{ .name = "decoy", .type = FG_T_MAP, .sub = decoy_items },
	{ .name = "shuffle", .type = FG_T_MAP, .sub = shuffle_items },
	{ .name = "pool", .type = FG_T_LIST, .sub = fg_conf_pool_items,
	  .off = offsetof(fd_conf_t, pools), .cnt_off = offsetof(fd_conf_t, npools),
	  .elem_size = sizeof(fg_conf_pool_t), .label_key = "id", .post = pool_post },
	{ .name = "persona", .type = FG_T_LIST, .flags = FG_F_REQ,
	  .off = offsetof(fd_conf_t, personas), .cnt_off = offsetof(fd_conf_t, npersonas),
	  .sub = persona_items, .elem_size = sizeof(fd_conf_persona_t),
	  .label_key = "id", .post = persona_post },
	{ .name = NULL }
};

/* Pools: unique ids, enumerable when shuffled; personas name defined
 * pools; the shares on one pool sum to at most 1. */
static void check_pools(fg_loader_t *ld, const fd_conf_t *c)
{
	for (size_t i = 0; i < c->npools; i++)
		for (size_t j = 0; j < i && c->pools[i].id; j++)
			if (c->pools[j].id && strcmp(c->pools[i].id, c->pools[j].id) == 0) {
				fg_diag(ld, c->pools[i].line, "pool '%s': id already "
					"used (line %d)", c->pools[i].id, c->pools[j].line);
				break;
			}
	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *p = &c->personas[i];
		for (size_t k = 0; k < p->npools; k++) {
			const fg_conf_pool_t *pl = fd_conf_pool(c, p->pools[k]);
			if (!pl)
				fg_diag(ld, p->line, "persona '%s': pool '%s' is not "
					"defined (pool: here or in an include)",
					p->id ? p->id : "?", p->pools[k]);
			else if (pl->prefix.family &&
				 fd_shuffle_pool_size(&pl->prefix) > FD_SHUFFLE_MAX_ADDRS)
				fg_diag(ld, p->line, "persona '%s': pool '%s' has more "
					"than %d addresses, too many to shuffle (give "
					"the persona addresses: instead)", p->id ? p->id : "?",
					pl->id, FD_SHUFFLE_MAX_ADDRS);
		}
	}
	for (size_t i = 0; i < c->npools; i++) {
		double sum = 0;
		size_t n = 0;
		int line = 0;
		for (size_t j = 0; j < c->npersonas; j++)
			for (size_t k = 0; k < c->personas[j].npools; k++)
				if (c->pools[i].id &&
				    strcmp(c->personas[j].pools[k], c->pools[i].id) == 0) {
					sum += c->personas[j].share;
					n++;
					line = c->personas[j].line;
				}
		if (sum > 1 + 1e-9)
			fg_diag(ld, line, "pool '%s': the shares of its personas sum to "
				"%.3g, more than 1", c->pools[i].id, sum);
		if (n > FD_SHUFFLE_MAX_LABELS)
			fg_diag(ld, line, "pool '%s': more than %d personas share it",
				c->pools[i].id, FD_SHUFFLE_MAX_LABELS);
	}
}

static void check_conf(fg_loader_t *ld, void *base)
{
	const fd_conf_t *c = base;

	/* "persona:" with nothing under it is present but serves nothing */
	if (c->npersonas == 0 && ld->rc == 0)  /* else: reported as missing */
		fg_diag(ld, 0, "persona: at least one entry is needed");
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; j < i && c->personas[i].id; j++)
			if (c->personas[j].id &&
			    strcmp(c->personas[i].id, c->personas[j].id) == 0) {
				fg_diag(ld, c->personas[i].line, "persona '%s': id "
					"already used (line %d)", c->personas[i].id,
					c->personas[j].line);
				break;
			}
	check_pools(ld, c);
}

/* Fill in what the file leaves out: both wildcards. */
static int default_listen(fd_conf_t *c)
{
	static const char *const any[] = { "0.0.0.0", "::" };
	char err[256];

	if (c->decoy.nlisten)
		return 0;
	c->decoy.listen = calloc(2, sizeof(*c->decoy.listen));
	if (!c->decoy.listen)
		return -ENOMEM;
	for (size_t i = 0; i < 2; i++)
		if (fg_scalar_addr(any[i], 0, false, &c->decoy.listen[i], err, sizeof(err)) < 0)
			return -EINVAL;
	c->decoy.nlisten = 2;
	return 0;
}

/* An HTTPS service needs a certificate: the operator's, or the captured
 * chain to shape one after. Reported at the persona entry's line. */
static void check_tls(const fd_conf_t *c, fg_conf_diag_fn diag, void *ctx,
		      const char *name, int *rc)
{
	char msg[300];

	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *cp = &c->personas[i];
		for (size_t j = 0; cp->persona && j < cp->persona->nservices; j++) {
			const fd_service_t *sv = &cp->persona->services[j];
			if (sv->kind != FD_HTTPS || cp->tls_cert || sv->tls_chain)
				continue;
			snprintf(msg, sizeof(msg), "persona '%s': port %u is https but "
				 "there is neither tls-cert/tls-key nor a captured "
				 "tls-chain in %s", cp->id, sv->port, cp->file);
			if (diag)
				diag(ctx, name, cp->line, msg);
			*rc = -FG_ESCHEMA;
		}
	}
}

int fd_conf_load_buffer(const char *name, const char *buf, size_t len,
			bool load_personas, fd_conf_t **out,
			fg_conf_diag_fn diag, void *ctx)
{
	fd_conf_t *c;
	int rc, prc = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = fd_yaml_load_inc(name, buf, len, fd_conf_schema, c, check_conf,
			      load_personas ? fg_conf_read_file : NULL, diag, ctx);
	if (rc == 0)
		rc = default_listen(c);
	/* persona files are checked even when the config has errors, so one
	 * --check run shows every problem */
	for (size_t i = 0; rc != -ENOMEM && load_personas && i < c->npersonas; i++) {
		if (!c->personas[i].file)
			continue;
		int r = fd_persona_load(c->personas[i].file, &c->personas[i].persona,
					diag, ctx);
		if (r == -ENOMEM)
			rc = r;
		else if (r < 0 && prc == 0)
			prc = r;  /* keep checking the other files */
	}
	if (rc == 0)
		rc = prc;
	for (size_t i = 0; rc == 0 && load_personas && i < c->npersonas; i++)
		if (!c->personas[i].persona)
			rc = -FG_ESCHEMA;
	if (rc == 0 && load_personas)
		check_tls(c, diag, ctx, name ? name : "<buffer>", &rc);
	if (rc < 0) {
		fd_conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int fd_conf_load(const char *path, fd_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	rc = fg_conf_read_file(path, &buf, &len, diag, ctx);
	if (rc < 0)
		return rc;
	rc = fd_conf_load_buffer(path, buf, len, true, out, diag, ctx);
	free(buf);
	return rc;
}

void fd_conf_free(fd_conf_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npersonas; i++)
		fd_persona_free(c->personas[i].persona);
	fg_schema_free(fd_conf_schema, c);
	free(c);
}

bool fd_conf_persona_covers(const fd_conf_persona_t *p, int family, const uint8_t *a)
{
	size_t n = family == AF_INET ? 4 : 16;

	if (p->npools)
		return false;
	if (p->naddresses == 0)
		return true;
	for (size_t i = 0; i < p->naddresses; i++) {
		const fg_conf_prefix_t *x = &p->addresses[i];
		if (x->family == family && memcmp(a, x->first, n) >= 0 &&
		    memcmp(a, x->last, n) <= 0)
			return true;
	}
	return false;
}

const fg_conf_pool_t *fd_conf_pool(const fd_conf_t *c, const char *id)
{
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].id && strcmp(c->pools[i].id, id) == 0)
			return &c->pools[i];
	return NULL;
}
