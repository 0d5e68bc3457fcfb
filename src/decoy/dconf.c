/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "decoy/dconf.h"
#include "decoy/shuffle.h"
#include "decoy/yload.h"

#define MS_MAX (49ULL * 86400000ULL)

static bool addr_bytes(const fg_conf_addr_t *a, int *fam, uint8_t b[16])
{
	if (a->ss.ss_family == AF_INET) {
		*fam = AF_INET;
		memcpy(b, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
		return true;
	}
	if (a->ss.ss_family == AF_INET6) {
		*fam = AF_INET6;
		memcpy(b, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
		return true;
	}
	return false;
}

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
	{ .name = "scan-window", .type = FG_T_TIME, .off = DC(scan_window_ms),
	  .min = 100, .max = MS_MAX, .def = "60s" },
	{ .name = "scan-filter-size", .type = FG_T_INT, .off = DC(scan_filter_size),
	  .min = 1, .max = 16777216, .def = "65536" },
	{ .name = "binding-idle", .type = FG_T_TIME, .off = DC(binding_idle_ms),
	  .min = 100, .max = MS_MAX, .def = "5m" },
	{ .name = "max-bindings", .type = FG_T_INT, .off = DC(max_bindings),
	  .min = 1, .max = 1048576, .def = "4096" },
	{ .name = "nft-table", .type = FG_T_STR, .off = DC(nft_table),
	  .check = fg_check_id },
	{ .name = "reflect-address", .type = FG_T_ADDR, .flags = FG_F_NOPORT,
	  .off = DC(reflect_address) },
	{ .name = "reflect-dns", .type = FG_T_ADDR, .off = DC(reflect_dns), .port = 53 },
	{ .name = "control", .type = FG_T_STR, .off = DC(control),
	  .check = fg_check_abspath },
	{ .name = NULL }
};

#define PC(m) offsetof(fd_conf_persona_t, m)

const char *const fd_containment_names[] = { "drop", "reply-only", "reflect", NULL };

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
	{ .name = "backends", .type = FG_T_ADDR, .flags = FG_F_MULTI | FG_F_NOPORT,
	  .off = PC(backends), .cnt_off = PC(nbackends) },
	{ .name = "containment", .type = FG_T_ENUM, .off = PC(containment),
	  .enums = fd_containment_names, .def = "drop" },
	{ .name = "backend-template", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = PC(tmpl), .cnt_off = PC(ntmpl) },
	{ .name = "template-addresses", .type = FG_T_PREFIX, .flags = FG_F_MULTI,
	  .off = PC(tmpl_addrs), .cnt_off = PC(ntmpl_addrs) },
	{ .name = "udp-backends", .type = FG_T_BOOL, .off = PC(udp_backends),
	  .def = "false" },
	{ .name = "ssh-host-keys", .type = FG_T_STR, .flags = FG_F_MULTI,
	  .off = PC(ssh_host_keys), .cnt_off = PC(nssh_host_keys),
	  .check = fg_check_abspath },
	{ .name = "ssh-key-rotation", .type = FG_T_TIME, .flags = FG_F_SECONDS,
	  .off = PC(ssh_key_rotation_s), .min = 0, .max = 86400 * 366, .def = "0s" },
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

static bool addr_in_persona(const fd_conf_t *c, const fg_conf_addr_t *a,
			    const char **who)
{
	int fam;
	uint8_t b[16];

	if (!addr_bytes(a, &fam, b))
		return false;
	for (size_t i = 0; i < c->npersonas; i++)
		if (c->personas[i].naddresses &&
		    fd_conf_persona_covers(&c->personas[i], fam, b)) {
			*who = c->personas[i].id;
			return true;
		}
	return false;
}

/* High interaction: backends outside every persona's addresses (a flow
 * from a backend must be told from an attacker's), reflect only with the
 * fake Internet configured. */
static void check_hi(fg_loader_t *ld, const fd_conf_t *c)
{
	const char *who = NULL;

	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *p = &c->personas[i];
		if (!p->id)
			continue;
		for (size_t j = 0; j < p->nbackends; j++) {
			if (addr_in_persona(c, &p->backends[j], &who))
				fg_diag(ld, p->backends[j].line ? p->backends[j].line : p->line,
					"persona '%s': backend %zu lies in the addresses "
					"of persona '%s' (backends must be outside the pool)",
					p->id, j + 1, who);
			for (size_t k = 0; k < c->npersonas; k++)
				for (size_t m = 0; m < c->personas[k].nbackends; m++)
					if ((k < i || (k == i && m < j)) &&
					    c->personas[k].backends[m].len == p->backends[j].len &&
					    memcmp(&c->personas[k].backends[m].ss,
						   &p->backends[j].ss, p->backends[j].len) == 0)
						fg_diag(ld, p->line, "persona '%s': backend %zu "
							"is already a backend of persona '%s'",
							p->id, j + 1, c->personas[k].id);
		}
		if (p->ntmpl && p->nbackends)
			fg_diag(ld, p->line, "persona '%s': backends and backend-template "
				"exclude each other", p->id);
		if (p->ntmpl && p->tmpl[0] && p->tmpl[0][0] != '/')
			fg_diag(ld, p->line, "persona '%s': backend-template: the command "
				"must be an absolute path", p->id);
		if (!p->ntmpl != !p->ntmpl_addrs)
			fg_diag(ld, p->line, "persona '%s': backend-template and "
				"template-addresses go together", p->id);
		for (size_t j = 0; j < p->ntmpl_addrs; j++) {
			const fg_conf_prefix_t *x = &p->tmpl_addrs[j];
			if (x->family != AF_INET)
				fg_diag(ld, p->line, "persona '%s': template-addresses: "
					"IPv4 only", p->id);
			for (size_t k = 0; k < c->npersonas; k++) {
				if (c->personas[k].naddresses &&
				    (fd_conf_persona_covers(&c->personas[k], AF_INET, x->first) ||
				     fd_conf_persona_covers(&c->personas[k], AF_INET, x->last)))
					fg_diag(ld, p->line, "persona '%s': template-addresses "
						"overlap the addresses of persona '%s'", p->id,
						c->personas[k].id);
			}
		}
		if (p->ntmpl_addrs && fd_conf_slots(p) > FD_MAX_SLOTS)
			fg_diag(ld, p->line, "persona '%s': template-addresses: more than "
				"%d slots", p->id, FD_MAX_SLOTS);
		if (p->containment != FD_CONTAIN_DROP && fd_conf_nbackends(p) == 0)
			fg_diag(ld, p->line, "persona '%s': containment %s needs backends",
				p->id, fd_containment_names[p->containment]);
		if (p->udp_backends && fd_conf_nbackends(p) == 0)
			fg_diag(ld, p->line, "persona '%s': udp-backends needs backends "
				"or backend-template", p->id);
		if (p->containment == FD_CONTAIN_REFLECT &&
		    (!c->decoy.reflect_address.len || !c->decoy.reflect_dns.len))
			fg_diag(ld, p->line, "persona '%s': containment reflect needs "
				"decoy.reflect-address and decoy.reflect-dns", p->id);
	}
	if (c->decoy.reflect_address.len &&
	    c->decoy.reflect_address.ss.ss_family != AF_INET)
		fg_diag(ld, c->decoy.reflect_address.line,
			"decoy.reflect-address: an IPv4 address is needed (the fake "
			"Internet answers A queries)");
	if (c->decoy.reflect_dns.len && c->decoy.reflect_dns.ss.ss_family != AF_INET)
		fg_diag(ld, c->decoy.reflect_dns.line,
			"decoy.reflect-dns: an IPv4 address is needed");
}

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

	check_hi(ld, c);

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

size_t fd_conf_slots(const fd_conf_persona_t *p)
{
	uint64_t n = 0;

	if (!p->ntmpl)
		return 0;
	for (size_t j = 0; j < p->ntmpl_addrs; j++) {
		const fg_conf_prefix_t *x = &p->tmpl_addrs[j];
		if (x->family != AF_INET)
			continue;
		uint32_t f = (uint32_t)x->first[0] << 24 | (uint32_t)x->first[1] << 16 |
			     (uint32_t)x->first[2] << 8 | x->first[3];
		uint32_t l = (uint32_t)x->last[0] << 24 | (uint32_t)x->last[1] << 16 |
			     (uint32_t)x->last[2] << 8 | x->last[3];
		n += (uint64_t)(l - f) + 1;
		if (n > FD_MAX_SLOTS + 1)
			return FD_MAX_SLOTS + 1;
	}
	return (size_t)n;
}

bool fd_conf_slot_addr(const fd_conf_persona_t *p, size_t i, uint8_t out[4])
{
	if (!p->ntmpl)
		return false;
	for (size_t j = 0; j < p->ntmpl_addrs; j++) {
		const fg_conf_prefix_t *x = &p->tmpl_addrs[j];
		if (x->family != AF_INET)
			continue;
		uint32_t f = (uint32_t)x->first[0] << 24 | (uint32_t)x->first[1] << 16 |
			     (uint32_t)x->first[2] << 8 | x->first[3];
		uint32_t l = (uint32_t)x->last[0] << 24 | (uint32_t)x->last[1] << 16 |
			     (uint32_t)x->last[2] << 8 | x->last[3];
		uint64_t n = (uint64_t)(l - f) + 1;
		if (i < n) {
			uint32_t a = f + (uint32_t)i;
			out[0] = (uint8_t)(a >> 24);
			out[1] = (uint8_t)(a >> 16);
			out[2] = (uint8_t)(a >> 8);
			out[3] = (uint8_t)a;
			return true;
		}
		i -= (size_t)n;
	}
	return false;
}

size_t fd_conf_nbackends(const fd_conf_persona_t *p)
{
	size_t s = fd_conf_slots(p);

	return p->nbackends ? p->nbackends : (s > FD_MAX_SLOTS ? FD_MAX_SLOTS : s);
}

int fd_conf_backend_persona(const fd_conf_t *c, int family, const uint8_t *a)
{
	size_t n = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; family == AF_INET && j < c->personas[i].ntmpl_addrs; j++) {
			const fg_conf_prefix_t *x = &c->personas[i].tmpl_addrs[j];
			if (x->family == AF_INET && memcmp(a, x->first, 4) >= 0 &&
			    memcmp(a, x->last, 4) <= 0)
				return (int)i;
		}
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; j < c->personas[i].nbackends; j++) {
			int f;
			uint8_t b[16];
			if (addr_bytes(&c->personas[i].backends[j], &f, b) && f == family &&
			    memcmp(a, b, n) == 0)
				return (int)i;
		}
	return -1;
}

const char *fd_conf_nft_table(const fd_conf_t *c)
{
	return c->decoy.nft_table ? c->decoy.nft_table : "fluxdecoy";
}

const fg_conf_pool_t *fd_conf_pool(const fd_conf_t *c, const char *id)
{
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].id && strcmp(c->pools[i].id, id) == 0)
			return &c->pools[i];
	return NULL;
}
