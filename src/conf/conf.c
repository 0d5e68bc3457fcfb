/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Config loading entry points and the checks that span several items:
 * unique zones and ids, pools that do not overlap, are neither too wide nor
 * too small and hold no real host (backend, listen address, decoy next
 * hop), services whose name lies in a zone and whose pools exist, belong
 * to them alone and match their backends' families.
 *
 * Those checks run even after schema errors so that `fluxgated --check`
 * lists everything at once; they skip fields that failed to parse, which
 * keeps one mistake from being reported twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "conf/conf.h"
#include "conf/include.h"
#include "conf/keyfiles.h"
#include "conf/scalar.h"
#include "conf/schema.h"

/* Largest config file read; a config is a few kilobytes. */
#define CONF_MAX_FILE (16u << 20)

/* The file and line a loader line stands for (conf/include.h). */
static const char *line_file(const fg_loader_t *ld, int *line)
{
	unsigned k = (unsigned)*line >> FG_CONF_INC_SHIFT;

	if (*line <= 0 || k == 0 || k > ld->ninc)
		return ld->file;
	*line &= (1 << FG_CONF_INC_SHIFT) - 1;
	return ld->inc_file[k - 1];
}

/* Messages name other entries by "line N": with included files, which
 * file is ambiguous, so each reads "FILE:N" instead. */
static void decode_line_refs(const fg_loader_t *ld, char *msg, size_t cap)
{
	char out[1024];
	size_t o = 0;

	if (ld->ninc == 0)
		return;
	for (const char *p = msg; *p && o + 1 < sizeof(out);) {
		if (strncmp(p, "line ", 5) == 0 && p[5] >= '1' && p[5] <= '9') {
			char *end;
			long v = strtol(p + 5, &end, 10);
			int l = v > 0 && v <= 0x7fffffff ? (int)v : 0;
			const char *f = line_file(ld, &l);
			if (l > 0) {
				int w = snprintf(out + o, sizeof(out) - o, "%s:%d", f, l);
				o = w < 0 ? o : o + (size_t)w < sizeof(out) ? o + (size_t)w
									     : sizeof(out) - 1;
				p = end;
				continue;
			}
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	snprintf(msg, cap, "%s", out);
}

void fg_diag(fg_loader_t *ld, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ld->rc == 0)
		ld->rc = -FG_ESCHEMA;
	if (ld->stop)
		return;
	if (ld->nerr == FG_CONF_MAX_ERRORS) {
		ld->stop = true;
		line = 0;
		snprintf(msg, sizeof(msg), "too many errors (%d), giving up",
			 FG_CONF_MAX_ERRORS);
	} else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		decode_line_refs(ld, msg, sizeof(msg));
	}
	if (!ld->msgs)
		ld->msgs = calloc(FG_CONF_MAX_ERRORS + 1, sizeof(*ld->msgs));
	char *text = ld->msgs ? strdup(msg) : NULL;
	if (!text) {
		/* no memory to hold it back: better out of order than lost */
		const char *f = line_file(ld, &line);
		if (ld->diag)
			ld->diag(ld->ctx, f, line, msg);
		ld->nerr++;
		return;
	}
	ld->msgs[ld->nerr] = (struct fg_diag_msg){ line, ld->nerr, text };
	ld->nerr++;
}

static int diag_msg_cmp(const void *a, const void *b)
{
	const struct fg_diag_msg *x = a, *y = b;

	if (x->text == NULL || y->text == NULL)  /* sent already: keep last */
		return (x->text == NULL) - (y->text == NULL);
	/* "too many errors" goes last whatever its line */
	bool xl = x->seq == FG_CONF_MAX_ERRORS, yl = y->seq == FG_CONF_MAX_ERRORS;
	if (xl != yl)
		return xl - yl;
	if (x->line != y->line)
		return (x->line > y->line) - (x->line < y->line);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void fg_diag_flush(fg_loader_t *ld)
{
	if (!ld->msgs)
		return;
	qsort(ld->msgs, ld->nerr, sizeof(*ld->msgs), diag_msg_cmp);
	for (unsigned i = 0; i < ld->nerr; i++) {
		if (!ld->msgs[i].text)
			continue;
		int line = ld->msgs[i].line;
		const char *f = line_file(ld, &line);
		if (ld->diag)
			ld->diag(ld->ctx, f, line, ld->msgs[i].text);
		free(ld->msgs[i].text);
	}
	free(ld->msgs);
	ld->msgs = NULL;
}

/* ---- cross-item checks ---- */

/* An item's canonical key and its index, sorted to find duplicates and to
 * look names up in O(log n). */
struct key_ref {
	const char *key;
	size_t idx;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	/* ties in file order, so the later one is reported as the duplicate */
	if (c == 0)
		c = (x->idx > y->idx) - (x->idx < y->idx);
	return c;
}

static const struct key_ref *key_find(const struct key_ref *v, size_t n,
				      const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].key, key);
		if (c == 0) {
			while (mid > 0 && strcmp(v[mid - 1].key, key) == 0)
				mid--;  /* the first definition */
			return &v[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Line of key `key`'s value in entry `i` of list section `section`. */
static int entry_line(const fg_loader_t *ld, const char *section, size_t i,
		      const char *key)
{
	const fg_ynode_t *map = fg_loader_entry(ld, section, i);

	return map ? fg_ymap_value_line(map, key, NULL, 0) : 0;
}

/* Sorts `refs` (n used entries) and reports each key seen before, on the
 * line of `key` in the later entry; entries are named by their `label`
 * key (their id). */
static void report_dups(fg_loader_t *ld, struct key_ref *refs, size_t n,
			const char *section, const char *key, const char *label,
			const char *what)
{
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;
		if (strcmp(refs[i].key, refs[first].key) != 0)
			continue;
		while (first > 0 && strcmp(refs[first - 1].key, refs[i].key) == 0)
			first--;
		const fg_ynode_t *v = fg_ymap_get(fg_loader_entry(ld, section,
								   refs[i].idx), label);
		char q[4 * FG_QUOTE_MAX + 4], name[4 * FG_QUOTE_MAX + 32];
		if (v && v->kind == FG_Y_SCALAR && !v->null) {
			fg_quote(v->val, q, sizeof(q));
			snprintf(name, sizeof(name), "%s '%s'", section, q);
		} else {
			snprintf(name, sizeof(name), "%s[%zu]", section, refs[i].idx);
		}
		fg_diag(ld, entry_line(ld, section, refs[i].idx, key),
			"%s: %s (first defined on line %d)", name, what,
			entry_line(ld, section, refs[first].idx, key));
	}
}

struct canon {
	char name[256];
};

static int check_zones(fg_loader_t *ld, const fg_conf_t *c, struct canon *zc,
		       struct key_ref *zref, size_t *nzref)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nzones; i++) {
		if (!c->zones[i].domain)
			continue;
		fg_dname_canon(c->zones[i].domain, zc[i].name);
		zref[n].key = zc[i].name;
		zref[n++].idx = i;
	}
	report_dups(ld, zref, n, "zone", "domain", "domain", "duplicate zone");
	*nzref = n;
	return 0;
}

static int prefix_cmp(const void *a, const void *b)
{
	const fg_conf_pool_t *x = *(const fg_conf_pool_t *const *)a;
	const fg_conf_pool_t *y = *(const fg_conf_pool_t *const *)b;
	int c;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family - y->prefix.family;
	c = memcmp(x->prefix.first, y->prefix.first, 16);
	if (c == 0)
		c = (x > y) - (x < y);  /* file order */
	return c;
}

/* ---- pools that are real slices of address space ---- */

/* Widest pool per family: a /8 of IPv4, a /32 of IPv6. Wider is not a
 * pool but a share of the Internet (0.0.0.0/0 would send every
 * destination through the gateway's decoy rules). */
#define POOL_MAX_SPAN4_LOG2 24
#define POOL_MAX_SPAN6_LOG2 96
/* Fewest usable addresses: with fewer, rotation has nothing to rotate
 * and the open-fraction cap is always reached. */
#define POOL_MIN_USABLE 4

/* last - first of a prefix as a 128-bit number (hi, lo). */
static void prefix_span(const fg_conf_prefix_t *p, uint64_t *hi, uint64_t *lo)
{
	size_t n = p->family == AF_INET ? 4 : 16;
	uint64_t fh = 0, fl = 0, lh = 0, ll = 0;
	uint8_t f[16] = { 0 }, l[16] = { 0 };

	memcpy(f + 16 - n, p->first, n);
	memcpy(l + 16 - n, p->last, n);
	for (int i = 0; i < 8; i++) {
		fh = (fh << 8) | f[i];
		fl = (fl << 8) | f[8 + i];
		lh = (lh << 8) | l[i];
		ll = (ll << 8) | l[8 + i];
	}
	*hi = lh - fh - (ll < fl ? 1 : 0);
	*lo = ll - fl;
}

/* Usable addresses as fg_pool_new() counts them (pool/pool.h), saturated:
 * IPv4 CIDR /30 and shorter skip network and broadcast, IPv6 skips an
 * all-zero interface id at the start. */
static uint64_t pool_usable(const fg_conf_prefix_t *p)
{
	uint64_t hi, lo;

	prefix_span(p, &hi, &lo);
	if (hi || lo == UINT64_MAX)
		return UINT64_MAX;
	uint64_t n = lo + 1;
	if (p->family == AF_INET && p->plen && p->plen <= 30)
		n -= 2;
	else if (p->family == AF_INET6 && !memcmp(p->first + 8, "\0\0\0\0\0\0\0\0", 8))
		n -= 1;
	return n;
}

static bool addr_in_prefix(const fg_conf_prefix_t *p, const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	size_t n;

	if (ss->ss_family != p->family)
		return false;
	if (ss->ss_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
		n = 4;
	} else {
		a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		n = 16;
	}
	return memcmp(a, p->first, n) >= 0 && memcmp(a, p->last, n) <= 0;
}

static void host_in_pool(fg_loader_t *ld, const fg_conf_pool_t *p, int pline,
			 const fg_conf_addr_t *a, const char *what)
{
	char pa[128], aa[128], q[4 * FG_QUOTE_MAX + 4];

	if (!a->ss.ss_family || !addr_in_prefix(&p->prefix, &a->ss))
		return;
	fg_format_prefix(&p->prefix, pa, sizeof(pa));
	fg_conf_addr_t bare = *a;
	/* the address alone: the port is not what collides */
	if (bare.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&bare.ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&bare.ss)->sin6_port = 0;
	fg_format_addr(&bare, aa, sizeof(aa));
	fg_quote(p->id ? p->id : "?", q, sizeof(q));
	fg_diag(ld, pline, "pool '%s': prefix %s contains %s %s (line %d); pool "
		"addresses are handed out and routed to the decoys, so no real "
		"host may use one", q, pa, what, aa, a->line);
}

static void check_pool_shape(fg_loader_t *ld, const fg_conf_t *c, size_t i)
{
	const fg_conf_pool_t *p = &c->pools[i];
	int line = entry_line(ld, "pool", i, "prefix");
	char pa[128], q[4 * FG_QUOTE_MAX + 4];
	uint64_t hi, lo;
	bool v4 = p->prefix.family == AF_INET;

	fg_format_prefix(&p->prefix, pa, sizeof(pa));
	fg_quote(p->id ? p->id : "?", q, sizeof(q));
	prefix_span(&p->prefix, &hi, &lo);
	if (v4 ? lo >> POOL_MAX_SPAN4_LOG2 != 0 : hi >> (POOL_MAX_SPAN6_LOG2 - 64) != 0) {
		fg_diag(ld, line, "pool '%s': prefix %s is too wide (at most %s)", q, pa,
			v4 ? "2^24 addresses, a /8, for IPv4" : "2^96 addresses, a /32, for IPv6");
		return;
	}
	uint64_t n = pool_usable(&p->prefix);
	if (n < POOL_MIN_USABLE)
		fg_diag(ld, line, "pool '%s': prefix %s has %llu usable address%s, at "
			"least %u are required", q, pa, (unsigned long long)n,
			n == 1 ? "" : "es", POOL_MIN_USABLE);
	for (size_t s = 0; s < c->nservices; s++) {
		const fg_conf_service_t *sv = &c->services[s];
		char what[4 * FG_QUOTE_MAX + 32], sq[4 * FG_QUOTE_MAX + 4];
		fg_quote(sv->id ? sv->id : "?", sq, sizeof(sq));
		snprintf(what, sizeof(what), "the backend of service '%s',", sq);
		for (size_t b = 0; b < sv->nbackends; b++)
			host_in_pool(ld, p, line, &sv->backends[b], what);
	}
	for (size_t l = 0; l < c->server.nlisten; l++)
		host_in_pool(ld, p, line, &c->server.listen[l], "the listen address");
	for (size_t l = 0; l < c->server.ntls_listen; l++)
		host_in_pool(ld, p, line, &c->server.tls_listen[l], "the tls-listen address");
	for (size_t d = 0; d < c->decoy.nroute_via; d++)
		host_in_pool(ld, p, line, &c->decoy.route_via[d], "the decoy next hop");
	if (c->metrics.set)
		host_in_pool(ld, p, line, &c->metrics.listen, "the metrics address");
}

static int check_pools(fg_loader_t *ld, const fg_conf_t *c, struct key_ref *pref,
		       size_t *npref)
{
	const fg_conf_pool_t **byaddr = malloc((c->npools ? c->npools : 1) *
					       sizeof(*byaddr));
	const fg_conf_pool_t *reach = NULL;  /* the entry ending highest so far */
	size_t n = 0, m = 0;

	if (!byaddr)
		return -ENOMEM;
	if (c->npools > FG_CONF_MAX_POOLS)
		fg_diag(ld, c->pools[FG_CONF_MAX_POOLS].line, "pool '%s': at most %d pools",
			c->pools[FG_CONF_MAX_POOLS].id ? c->pools[FG_CONF_MAX_POOLS].id : "?",
			FG_CONF_MAX_POOLS);
	for (size_t i = 0; i < c->npools; i++) {
		if (c->pools[i].id) {
			pref[n].key = c->pools[i].id;
			pref[n++].idx = i;
		}
		if (c->pools[i].prefix.family)
			byaddr[m++] = &c->pools[i];
	}
	report_dups(ld, pref, n, "pool", "id", "id", "duplicate id");
	*npref = n;

	/* sorted by start, a pool overlaps an earlier one exactly when it
	 * starts at or below the highest end seen so far */
	qsort(byaddr, m, sizeof(*byaddr), prefix_cmp);
	for (size_t i = 0; i < m; i++) {
		const fg_conf_pool_t *p = byaddr[i];
		if (reach && reach->prefix.family == p->prefix.family &&
		    memcmp(p->prefix.first, reach->prefix.last, 16) <= 0) {
			/* report on the one written later in the file */
			const fg_conf_pool_t *late = p > reach ? p : reach;
			const fg_conf_pool_t *early = p > reach ? reach : p;
			char a[128], b[128], qa[4 * FG_QUOTE_MAX + 4];
			fg_format_prefix(&late->prefix, a, sizeof(a));
			fg_format_prefix(&early->prefix, b, sizeof(b));
			fg_quote(late->id ? late->id : "?", qa, sizeof(qa));
			fg_diag(ld, entry_line(ld, "pool", (size_t)(late - c->pools),
					       "prefix"),
				"pool '%s': prefix %s overlaps pool '%s' (%s, line %d)",
				qa, a, early->id ? early->id : "?", b, early->line);
		}
		if (!reach || reach->prefix.family != p->prefix.family ||
		    memcmp(p->prefix.last, reach->prefix.last, 16) > 0)
			reach = p;
	}
	free(byaddr);
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i].prefix.family)
			check_pool_shape(ld, c, i);
	return 0;
}

/* Whether canonical `name` lies in one of the sorted canonical zones. */
static bool in_some_zone(const char *name, const struct key_ref *zref, size_t nz)
{
	const char *p = name;

	/* try the name and each of its parents down to the root ("") */
	for (;;) {
		if (key_find(zref, nz, p))
			return true;
		if (*p == '\0')
			return false;
		const char *dot = strchr(p, '.');
		p = dot ? dot + 1 : "";
	}
}

static void check_service(fg_loader_t *ld, const fg_conf_t *c, size_t si,
			  const struct key_ref *zref, size_t nz,
			  const struct key_ref *pref, size_t np, size_t *owner)
{
	const fg_conf_service_t *s = &c->services[si];
	const fg_ynode_t *map = fg_loader_entry(ld, "service", si);
	char label[4 * FG_QUOTE_MAX + 16], q[4 * FG_QUOTE_MAX + 4];
	bool v4 = false, v6 = false;

	if (s->id) {
		fg_quote(s->id, q, sizeof(q));
		snprintf(label, sizeof(label), "service '%s'", q);
	} else {
		snprintf(label, sizeof(label), "service[%zu]", si);
	}
	if (s->name && s->external.set) {
		/* served by the external primary: inside its zone there, and
		 * in no zone of ours (two authorities would answer it) */
		char canon[256], zc[256];
		fg_dname_canon(s->name, canon);
		fg_dname_canon(s->external.zone ? s->external.zone : "", zc);
		if (s->external.zone && !fg_dname_inside(canon, zc))
			fg_diag(ld, fg_ymap_value_line(map, "name", NULL, 0),
				"%s: name '%s' is not inside external.zone '%s'",
				label, s->name, s->external.zone);
		if (in_some_zone(canon, zref, nz))
			fg_diag(ld, fg_ymap_value_line(map, "name", NULL, 0),
				"%s: name '%s' is served by external.server but lies inside "
				"a zone of fluxgated too; drop external or the zone",
				label, s->name);
		if (s->access == FG_ACCESS_PRIVATE)
			fg_diag(ld, map->line,
				"%s: access: private cannot apply to an external service (its "
				"address is published to everyone at external.server)", label);
		if (s->external.timeout_ms >= s->external.epoch_ms)
			fg_diag(ld, map->line,
				"%s: external.timeout (%u ms) must be shorter than "
				"external.epoch (%u ms)", label, s->external.timeout_ms,
				s->external.epoch_ms);
	} else if (s->name) {
		char canon[256];
		fg_dname_canon(s->name, canon);
		if (!in_some_zone(canon, zref, nz))
			fg_diag(ld, fg_ymap_value_line(map, "name", NULL, 0),
				"%s: name '%s' is not inside any configured zone",
				label, s->name);
	}
	for (size_t i = 0; i < s->nbackends; i++) {
		v4 |= s->backends[i].ss.ss_family == AF_INET;
		v6 |= s->backends[i].ss.ss_family == AF_INET6;
	}
	for (size_t i = 0; i < s->npools; i++) {
		const struct key_ref *r = key_find(pref, np, s->pools[i]);
		int line = fg_ymap_value_line(map, "pool", s->pools[i], 0);
		if (!r) {
			fg_diag(ld, line, "%s: pool '%s' is not defined", label,
				s->pools[i]);
			continue;
		}
		/* one owner per pool: an address open for one service must
		 * never be handed out for another (its backend would change
		 * under the first one's clients) */
		if (owner[r->idx] != SIZE_MAX && owner[r->idx] != si) {
			const fg_conf_service_t *o = &c->services[owner[r->idx]];
			char oq[4 * FG_QUOTE_MAX + 4];
			fg_quote(o->id ? o->id : "?", oq, sizeof(oq));
			fg_diag(ld, line, "%s: pool '%s' already belongs to service "
				"'%s' (line %d); a pool serves one service", label,
				s->pools[i], oq, o->line);
		} else {
			owner[r->idx] = si;
		}
		int fam = c->pools[r->idx].prefix.family;
		/* the gateway NATs within a family; no NAT64/46 */
		if ((fam == AF_INET && !v4 && s->nbackends) ||
		    (fam == AF_INET6 && !v6 && s->nbackends))
			fg_diag(ld, line, "%s: pool '%s' is %s but the service has "
				"no %s backend (addresses are not translated "
				"between IPv4 and IPv6)", label, s->pools[i],
				fam == AF_INET ? "IPv4" : "IPv6",
				fam == AF_INET ? "IPv4" : "IPv6");
	}
}

/* The services of one external zone are published together, one UPDATE
 * (one transaction) per epoch: they must name the same server, key, epoch
 * and timeout. Reported once per service, against the first of its zone. */
static void check_external_groups(fg_loader_t *ld, const fg_conf_t *c)
{
	for (size_t i = 0; i < c->nservices; i++) {
		const fg_conf_service_t *s = &c->services[i];
		if (!s->external.set || !s->external.zone || !s->external.key)
			continue;
		char zi[256];
		fg_dname_canon(s->external.zone, zi);
		unsigned same = 1;
		for (size_t j = i + 1; j < c->nservices; j++) {
			const fg_conf_service_t *o = &c->services[j];
			char zj[256];
			if (!o->external.set || !o->external.zone)
				continue;
			fg_dname_canon(o->external.zone, zj);
			same += !strcmp(zi, zj);
		}
		bool first = true;
		for (size_t j = 0; j < i && first; j++) {
			char zj[256];
			if (!c->services[j].external.set || !c->services[j].external.zone)
				continue;
			fg_dname_canon(c->services[j].external.zone, zj);
			first = strcmp(zi, zj) != 0;
		}
		if (first && same > FG_CONF_EXTERNAL_PER_ZONE)
			fg_diag(ld, s->line, "external.zone '%s': %u services, at most %d per zone "
				"(one UPDATE carries them all)", s->external.zone, same,
				FG_CONF_EXTERNAL_PER_ZONE);
		for (size_t j = 0; j < i; j++) {
			const fg_conf_service_t *o = &c->services[j];
			char zj[256];
			if (!o->external.set || !o->external.zone || !o->external.key)
				continue;
			fg_dname_canon(o->external.zone, zj);
			if (strcmp(zi, zj))
				continue;
			const char *what =
				s->external.server.len != o->external.server.len ||
				memcmp(&s->external.server.ss, &o->external.server.ss,
				       s->external.server.len) ? "server" :
				strcmp(s->external.key, o->external.key) ? "key" :
				s->external.epoch_ms != o->external.epoch_ms ? "epoch" :
				s->external.timeout_ms != o->external.timeout_ms ? "timeout" : NULL;
			if (what) {
				char qi[4 * FG_QUOTE_MAX + 4], qj[4 * FG_QUOTE_MAX + 4];
				fg_quote(s->id ? s->id : "?", qi, sizeof(qi));
				fg_quote(o->id ? o->id : "?", qj, sizeof(qj));
				fg_diag(ld, s->line, "service '%s': external.%s differs from service "
					"'%s' (line %d) of the same external.zone '%s'; the names of "
					"one zone are updated together in one message",
					qi, what, qj, o->line, s->external.zone);
			}
			break;
		}
	}
}

static int check_services(fg_loader_t *ld, const fg_conf_t *c,
			  const struct key_ref *zref, size_t nz,
			  const struct key_ref *pref, size_t np)
{
	size_t n = c->nservices ? c->nservices : 1, nid = 0, nname = 0;
	struct key_ref *ids = malloc(n * sizeof(*ids));
	struct key_ref *names = malloc(n * sizeof(*names));
	struct canon *canon = malloc(n * sizeof(*canon));
	size_t *owner = malloc((c->npools ? c->npools : 1) * sizeof(*owner));

	if (!ids || !names || !canon || !owner) {
		free(ids);
		free(names);
		free(canon);
		free(owner);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->npools; i++)
		owner[i] = SIZE_MAX;
	for (size_t i = 0; i < c->nservices && !ld->stop; i++) {
		const fg_conf_service_t *s = &c->services[i];
		check_service(ld, c, i, zref, nz, pref, np, owner);
		if (s->id) {
			ids[nid].key = s->id;
			ids[nid++].idx = i;
		}
		if (s->name) {
			fg_dname_canon(s->name, canon[i].name);
			names[nname].key = canon[i].name;
			names[nname++].idx = i;
		}
	}
	check_external_groups(ld, c);
	report_dups(ld, ids, nid, "service", "id", "id", "duplicate id");
	/* one name cannot rotate through two services' pools */
	report_dups(ld, names, nname, "service", "name", "id",
		    "name is already used by another service");
	free(owner);
	free(ids);
	free(names);
	free(canon);
	return 0;
}

/* DNS over TLS needs its certificate and key, and they mean nothing
 * without it: either all three or none. */
static void check_tls(fg_loader_t *ld, const fg_conf_t *c)
{
	bool on = c->server.ntls_listen > 0;
	if (on && !c->server.tls_certificate)
		fg_diag(ld, 0, "server: tls-listen needs tls-certificate (a PEM file, leaf first)");
	if (on && !c->server.tls_key)
		fg_diag(ld, 0, "server: tls-listen needs tls-key (a PEM private key file)");
	if (!on && (c->server.tls_certificate || c->server.tls_key))
		fg_diag(ld, 0, "server: tls-certificate and tls-key are set but tls-listen is not "
			"(DNS over TLS stays off)");
}

/* Distributed mode: a role's required keys, every agent's pools exist,
 * every pool of a service is served by some agent, one way to
 * authenticate each peer, unique ids. */
/* agent[].pair: the two gateways of a failover pair name each other and
 * serve the same pools (a grant must be on both: conntrackd does not
 * replicate nftables sets). */
static bool same_pools(const fg_conf_agent_t *a, const fg_conf_agent_t *b)
{
	if (a->npools != b->npools)
		return false;
	for (size_t i = 0; i < a->npools; i++) {
		bool found = false;
		for (size_t j = 0; j < b->npools && !found; j++)
			found = !strcmp(a->pools[i], b->pools[j]);
		if (!found)
			return false;
	}
	return true;
}

static void check_pair(fg_loader_t *ld, const fg_conf_t *c, const fg_conf_agent_t *a)
{
	const fg_conf_agent_t *b = NULL;
	for (size_t j = 0; j < c->nagents && !b; j++)
		if (!strcmp(c->agents[j].id, a->pair))
			b = &c->agents[j];
	if (!b)
		fg_diag(ld, a->line, "agent %s: pair '%s' is not an agent", a->id, a->pair);
	else if (b == a)
		fg_diag(ld, a->line, "agent %s: pair names itself", a->id);
	else if (!b->pair || strcmp(b->pair, a->id))
		fg_diag(ld, a->line, "agent %s: pair %s does not name %s as its pair", a->id, b->id,
			a->id);
	else if (!same_pools(a, b))
		fg_diag(ld, a->line, "agent %s: pair %s serves other pools: a failover pair serves "
			"the same pools", a->id, b->id);
}

/* controller[].pool on an agent: defined pools, and two controllers that
 * both list theirs never share one (they would hand out the same
 * addresses, and one's revoke would delete the other's grant). */
static void check_controller_pools(fg_loader_t *ld, const fg_conf_t *c, size_t i)
{
	const fg_conf_controller_t *a = &c->controllers[i];
	for (size_t k = 0; k < a->npools; k++) {
		bool found = false;
		for (size_t p = 0; p < c->npools && !found; p++)
			found = !strcmp(c->pools[p].id, a->pools[k]);
		if (!found)
			fg_diag(ld, a->line, "controller %s: pool '%s' is not defined", a->id, a->pools[k]);
		for (size_t j = 0; j < i; j++)
			for (size_t q = 0; q < c->controllers[j].npools; q++)
				if (!strcmp(c->controllers[j].pools[q], a->pools[k]))
					fg_diag(ld, a->line, "controllers %s and %s both grant from pool '%s': "
						"partition the pools between them", c->controllers[j].id,
						a->id, a->pools[k]);
	}
}

static bool dist_certs(const fg_conf_t *c)
{
	return c->dist.tls_ca && c->dist.tls_cert && c->dist.tls_key;
}

static void check_dist(fg_loader_t *ld, const fg_conf_t *c)
{
	const char *role = c->role == FG_ROLE_AGENT ? "agent" : "controller";
	if (c->role == FG_ROLE_STANDALONE) {
		if (c->nagents)
			fg_diag(ld, c->agents[0].line, "agent: only with role: controller");
		if (c->ncontrollers)
			fg_diag(ld, c->controllers[0].line, "controller: only with role: agent");
		return;
	}
	if (!c->dist.id)
		fg_diag(ld, 0, "role: %s needs dist.id (this node's name)", role);
	if ((c->dist.tls_ca || c->dist.tls_cert || c->dist.tls_key) && !dist_certs(c))
		fg_diag(ld, 0, "dist: tls-ca, tls-cert and tls-key go together");
	if (c->role == FG_ROLE_AGENT) {
		if (c->nagents)
			fg_diag(ld, c->agents[0].line, "agent: only with role: controller");
		if (!c->dist.listen.len)
			fg_diag(ld, 0, "role: agent needs dist.listen (where controllers connect)");
		if (!c->ncontrollers)
			fg_diag(ld, 0, "role: agent needs at least one controller entry");
		for (size_t i = 0; i < c->ncontrollers; i++) {
			if (!c->controllers[i].psk_file && !dist_certs(c))
				fg_diag(ld, c->controllers[i].line, "controller %s: no psk-file and no "
					"dist.tls-ca/tls-cert/tls-key: it could not authenticate",
					c->controllers[i].id);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->controllers[i].id, c->controllers[j].id))
					fg_diag(ld, c->controllers[i].line, "controller %s is listed twice",
						c->controllers[i].id);
			check_controller_pools(ld, c, i);
		}
		return;
	}
	if (c->ncontrollers)
		fg_diag(ld, c->controllers[0].line, "controller: only with role: agent");
	if (!c->nagents)
		fg_diag(ld, 0, "role: controller needs at least one agent entry");
	if (c->nagents > FG_CONF_MAX_AGENTS)
		fg_diag(ld, c->agents[FG_CONF_MAX_AGENTS].line, "at most %d agents",
			FG_CONF_MAX_AGENTS);
	for (size_t i = 0; i < c->nagents; i++) {
		const fg_conf_agent_t *a = &c->agents[i];
		if (!a->psk_file && !dist_certs(c))
			fg_diag(ld, a->line, "agent %s: no psk-file and no dist.tls-ca/tls-cert/tls-key: "
				"it could not authenticate", a->id);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a->id, c->agents[j].id))
				fg_diag(ld, a->line, "agent %s is listed twice", a->id);
		for (size_t k = 0; k < a->npools; k++) {
			bool found = false;
			for (size_t p = 0; p < c->npools && !found; p++)
				found = !strcmp(c->pools[p].id, a->pools[k]);
			if (!found)
				fg_diag(ld, a->line, "agent %s: pool '%s' is not defined", a->id,
					a->pools[k]);
		}
		if (a->pair)
			check_pair(ld, c, a);
	}
	for (size_t p = 0; p < c->npools; p++) {
		bool served = false;
		for (size_t i = 0; i < c->nagents && !served; i++) {
			served = c->agents[i].npools == 0;
			for (size_t k = 0; k < c->agents[i].npools && !served; k++)
				served = !strcmp(c->agents[i].pools[k], c->pools[p].id);
		}
		if (!served)
			fg_diag(ld, c->pools[p].line, "pool %s is served by no agent: its grants "
				"could reach no data plane", c->pools[p].id);
	}
}

static int check_all(fg_loader_t *ld, const fg_conf_t *c)
{
	check_tls(ld, c);
	size_t nz = 0, np = 0;
	struct canon *zc = malloc((c->nzones ? c->nzones : 1) * sizeof(*zc));
	struct key_ref *zref = malloc((c->nzones ? c->nzones : 1) * sizeof(*zref));
	struct key_ref *pref = malloc((c->npools ? c->npools : 1) * sizeof(*pref));
	int rc = -ENOMEM;

	if (zc && zref && pref) {
		rc = check_zones(ld, c, zc, zref, &nz);
		if (rc == 0)
			rc = check_pools(ld, c, pref, &np);
		/* report_dups sorted both: ready for lookups */
		if (rc == 0)
			rc = check_services(ld, c, zref, nz, pref, np);
		if (rc == 0)
			check_dist(ld, c);
	}
	free(zc);
	free(zref);
	free(pref);
	return rc;
}

/* ---- TSIG keys ---- */

/* A reload in the unprivileged process cannot open a root-only secret
 * file: the running config's secret of the same key and file stands in,
 * if the file has not changed since it was read. */
static int take_over_secret(const fg_loader_t *ld, fg_conf_key_t *k)
{
	fg_secretfile_id_t now = { 0 };
	char a[256], b[256];

	if (!ld->prev || fg_secretfile_stat(k->secret_file, &now) < 0)
		return -1;
	fg_dname_canon(k->id, a);
	for (size_t j = 0; j < ld->prev->nkeys; j++) {
		const fg_conf_key_t *p = &ld->prev->keys[j];
		if (!p->id || !p->secret || !p->secret_file || strcmp(p->secret_file, k->secret_file))
			continue;
		fg_dname_canon(p->id, b);
		if (strcmp(a, b) || !fg_secretfile_same(&p->secret_id, &now))
			continue;
		if (!(k->secret = strdup(p->secret)))
			return -ENOMEM;
		k->secret_id = p->secret_id;
		return 0;
	}
	return -1;
}

/* key.secret-file: read into k->secret (the schema checked the path) */
static int read_secret(fg_loader_t *ld, fg_conf_key_t *k)
{
	char err[512];

	if (!ld->read_secrets) {
		fg_diag(ld, k->line, "key '%s': secret-file is read only from a configuration "
			"file on disk", k->id);
		return 0;
	}
	int rc = fg_secretfile_read(k->secret_file, &k->secret, &k->secret_id, err, sizeof(err));
	const fg_keyfile_t *f = rc == -EACCES ? fg_keyfiles_find(ld->kf, FG_KF_TSIG, k->secret_file)
					      : NULL;
	if (f) {
		/* read for this reload by the [priv] process (a rewritten file
		 * applies now) */
		if (!(k->secret = strndup((const char *)f->data, f->len)))
			return -ENOMEM;
		k->secret_id = f->id;
		return 0;
	}
	if (rc == -EACCES) {
		int t = take_over_secret(ld, k);
		if (t == -ENOMEM)
			return t;
		if (t == 0)
			return 0;
		if (ld->prev) {
			fg_diag(ld, k->line, "key '%s': secret-file %s (the privileged process "
				"did not hand it over, see its log, and the running secret was read "
				"from another version of the file)", k->id, err);
			return 0;
		}
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		fg_diag(ld, k->line, "key '%s': secret-file %s", k->id, err);
	return 0;
}

/* Read the secret files, decode every key (the schema checked each inline
 * secret), refuse duplicate names, and give each key the role policy.keys
 * names for it. */
static int build_keys(fg_loader_t *ld, fg_conf_t *c)
{
	char err[256];

	if (c->nkeys == 0 && c->policy.nkeys == 0)
		return 0;
	c->tsig_keys = calloc(c->nkeys ? c->nkeys : 1, sizeof(*c->tsig_keys));
	c->key_roles = calloc(c->nkeys ? c->nkeys : 1, 1);
	if (!c->tsig_keys || !c->key_roles)
		return -ENOMEM;
	for (size_t i = 0; i < c->nkeys; i++) {
		fg_conf_key_t *k = &c->keys[i];
		if (!k->id || !k->algorithm)
			continue;       /* reported by the schema */
		if (k->secret && k->secret_file) {
			fg_diag(ld, k->line, "key '%s': give secret or secret-file, not both", k->id);
			continue;
		}
		if (!k->secret && !k->secret_file) {
			/* a value the schema refused was reported already */
			const fg_ynode_t *m = fg_loader_entry(ld, "key", i);
			if (!m || (!fg_ymap_get(m, "secret") && !fg_ymap_get(m, "secret-file")))
				fg_diag(ld, k->line, "key '%s': missing required key 'secret' (or "
					"'secret-file')", k->id);
			continue;
		}
		if (k->secret_file) {
			int rc = read_secret(ld, k);
			if (rc < 0)
				return rc;
			if (!k->secret)
				continue;
		}
		if (fg_tsig_key_init(&c->tsig_keys[i], k->id, k->algorithm, k->secret, err,
				     sizeof(err)) < 0) {
			if (k->secret_file)
				fg_diag(ld, k->line, "key '%s': secret-file %s: %s", k->id,
					k->secret_file, err);
			else
				fg_diag(ld, k->line, "key '%s': %s", k->id, err);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (c->tsig_keys[j].name_len == c->tsig_keys[i].name_len &&
			    !memcmp(c->tsig_keys[j].name, c->tsig_keys[i].name,
				    c->tsig_keys[i].name_len)) {
				fg_diag(ld, k->line, "key '%s': duplicate id (first on line %d)",
					k->id, c->keys[j].line);
				break;
			}
	}
	for (size_t i = 0; i < c->policy.nkeys; i++) {
		const fg_conf_policy_key_t *pk = &c->policy.keys[i];
		fg_tsig_key_t want;
		if (!pk->key || fg_tsig_key_init(&want, pk->key, "hmac-sha256", "AA==", err,
						 sizeof(err)) < 0)
			continue;
		size_t j;
		for (j = 0; j < c->nkeys; j++)
			if (c->tsig_keys[j].name_len == want.name_len &&
			    !memcmp(c->tsig_keys[j].name, want.name, want.name_len))
				break;
		fg_tsig_key_clear(&want);
		if (j == c->nkeys) {
			fg_diag(ld, pk->line, "policy.keys: key '%s' is not defined (add it to "
				"the 'key:' list)", pk->key);
			continue;
		}
		if (c->key_roles[j] != FG_ROLE_NONE) {
			fg_diag(ld, pk->line, "policy.keys: key '%s' is listed twice", pk->key);
			continue;
		}
		c->key_roles[j] = (uint8_t)(pk->role == 0 ? FG_ROLE_RESOLVER : FG_ROLE_CLIENT);
	}
	return 0;
}

/* service.external.key names a key: entry (matched like the key names
 * on the wire: case-insensitive, trailing dot or not). */
static void check_external_keys(fg_loader_t *ld, const fg_conf_t *c)
{
	for (size_t i = 0; i < c->nservices; i++) {
		const fg_conf_service_t *s = &c->services[i];
		if (!s->external.set || !s->external.key)
			continue;
		char a[256], b[256];
		size_t j;
		fg_dname_canon(s->external.key, a);
		for (j = 0; j < c->nkeys; j++) {
			fg_dname_canon(c->keys[j].id ? c->keys[j].id : "", b);
			if (!strcmp(a, b))
				break;
		}
		if (j == c->nkeys) {
			char q[4 * FG_QUOTE_MAX + 4];
			fg_quote(s->id ? s->id : "?", q, sizeof(q));
			fg_diag(ld, s->line, "service '%s': external.key '%s' is not defined (add "
				"it to the 'key:' list)", q, s->external.key);
		}
	}
}

/* ---- entry points ---- */

static int load_buffer(const char *name, const char *buf, size_t len,
		       fg_conf_reader_fn reader, const fg_conf_t *prev, const fg_keyfiles_t *kf,
		       fg_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	fg_loader_t ld = { .file = name ? name : "<buffer>", .diag = diag, .ctx = ctx,
			   .read_secrets = reader != NULL, .prev = prev, .kf = kf };
	fg_ynode_t *root = NULL;
	fg_conf_t *conf;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	conf = calloc(1, sizeof(*conf));
	if (!conf)
		return -ENOMEM;
	conf->path = strdup(ld.file);
	if (!conf->path) {
		free(conf);
		return -ENOMEM;
	}
	rc = fg_ytree_build(&ld, buf ? buf : "", buf ? len : 0, &root);
	if (rc == 0)
		rc = fg_include_expand(&ld, root, reader);
	if (rc == 0)
		rc = fg_schema_apply(&ld, root, conf);
	if (rc == 0 && !ld.stop)
		rc = check_all(&ld, conf);
	if (rc == 0 && !ld.stop)
		rc = build_keys(&ld, conf);
	/* an agent publishes nothing (daemon/main.c starts no epoch thread
	 * there): its services' external keys need not be in its file */
	if (rc == 0 && !ld.stop && conf->role != FG_ROLE_AGENT)
		check_external_keys(&ld, conf);
	if (rc == 0)
		rc = ld.rc;
	for (size_t i = 0; i < ld.nlists; i++)
		free(ld.lists[i].nodes);
	fg_ytree_free(root);
	fg_diag_flush(&ld);
	fg_include_free(&ld);
	if (rc == -ENOMEM && diag)
		diag(ctx, ld.file, 0, "out of memory");
	if (rc < 0) {
		fg_conf_free(conf);
		return rc;
	}
	*out = conf;
	return 0;
}

int fg_conf_load_buffer(const char *name, const char *buf, size_t len,
			fg_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	return load_buffer(name, buf, len, NULL, NULL, NULL, out, diag, ctx);
}

int fg_conf_load_text(const char *path, const char *buf, size_t len,
		      fg_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	return load_buffer(path, buf, len, fg_conf_read_file, NULL, NULL, out, diag, ctx);
}

int fg_conf_read_file(const char *path, char **buf, size_t *len,
		      fg_conf_diag_fn diag, void *ctx)
{
	char msg[256];
	size_t cap = 0, n = 0;
	char *b = NULL;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		rc = -errno;
		snprintf(msg, sizeof(msg), "cannot open: %s", fg_strerror(rc));
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= CONF_MAX_FILE) {
				rc = -EFBIG;
				snprintf(msg, sizeof(msg), "file larger than %u MiB",
					 CONF_MAX_FILE >> 20);
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			char *nb = realloc(b, cap + 1);
			if (!nb) {
				rc = -ENOMEM;
				snprintf(msg, sizeof(msg), "out of memory");
				goto fail;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(msg, sizeof(msg), "cannot read: %s", fg_strerror(rc));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(b);
	if (diag)
		diag(ctx, path, 0, msg);
	return rc;
}

int fg_conf_reload(const char *path, const char *text, size_t len, const fg_conf_t *prev,
		   fg_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	return fg_conf_reload_keys(path, text, len, prev, NULL, out, diag, ctx);
}

int fg_conf_reload_keys(const char *path, const char *text, size_t len, const fg_conf_t *prev,
			const fg_keyfiles_t *kf, fg_conf_t **out, fg_conf_diag_fn diag,
			void *ctx)
{
	char *buf = NULL;
	int rc;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	if (text)
		return load_buffer(path, text, len, fg_conf_read_file, prev, kf, out, diag, ctx);
	rc = fg_conf_read_file(path, &buf, &len, diag, ctx);
	if (rc < 0)
		return rc;
	rc = load_buffer(path, buf, len, fg_conf_read_file, prev, kf, out, diag, ctx);
	explicit_bzero(buf, len);       /* the text may hold cookie.secret, key secrets */
	free(buf);
	return rc;
}

int fg_conf_load(const char *path, fg_conf_t **out, fg_conf_diag_fn diag, void *ctx)
{
	return fg_conf_reload(path, NULL, 0, NULL, out, diag, ctx);
}

void fg_conf_free(fg_conf_t *conf)
{
	if (!conf)
		return;
	if (conf->cookie.secret)
		explicit_bzero(conf->cookie.secret, strlen(conf->cookie.secret));
	for (size_t i = 0; i < conf->nkeys; i++) {
		if (conf->keys[i].secret)
			explicit_bzero(conf->keys[i].secret, strlen(conf->keys[i].secret));
		if (conf->tsig_keys)
			fg_tsig_key_clear(&conf->tsig_keys[i]);
	}
	free(conf->tsig_keys);
	free(conf->key_roles);
	fg_schema_free(fg_conf_schema, conf);
	free(conf->path);
	free(conf);
}

int fg_conf_warnings(const fg_conf_t *conf, fg_conf_diag_fn warn, void *ctx)
{
	int n = 0;
	size_t answered = 0;   /* external services are not answered by us */

	for (size_t i = 0; i < conf->nservices; i++)
		answered += !conf->services[i].external.set;
	if (answered && !conf->policy.nresolvers) {
		if (warn)
			warn(ctx, conf->path, 0, FG_CONF_WARN_NO_RESOLVERS);
		n++;
	}
	/* a private service nobody can be given */
	bool any_role = false;
	for (size_t i = 0; conf->key_roles && i < conf->nkeys; i++)
		any_role |= conf->key_roles[i] != FG_ROLE_NONE;
	for (size_t i = 0; !any_role && i < conf->nservices; i++) {
		if (conf->services[i].access != FG_ACCESS_PRIVATE)
			continue;
		if (warn) {
			char msg[300];
			snprintf(msg, sizeof(msg), "warning: service '%.64s' is private but no "
				 "policy.keys entry gives a key the client or resolver role: "
				 "nobody gets its address", conf->services[i].id ? conf->services[i].id : "?");
			warn(ctx, conf->path, conf->services[i].line, msg);
		}
		n++;
	}
	return n;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

static bool addr_differs(const fg_conf_addr_t *a, const fg_conf_addr_t *b)
{
	return a->len != b->len || memcmp(&a->ss, &b->ss, a->len);
}

unsigned fg_conf_restart_keys(const fg_conf_t *run, const fg_conf_t *next, char *out, size_t cap)
{
	bool listen = run->server.nlisten != next->server.nlisten;
	for (size_t i = 0; !listen && i < run->server.nlisten; i++)
		listen = addr_differs(&run->server.listen[i], &next->server.listen[i]);
	bool tls_listen = run->server.ntls_listen != next->server.ntls_listen;
	for (size_t i = 0; !tls_listen && i < run->server.ntls_listen; i++)
		tls_listen = addr_differs(&run->server.tls_listen[i], &next->server.tls_listen[i]);
	const struct { const char *key; bool changed; } k[] = {
		{ "server.listen", listen },
		{ "server.workers", run->server.workers != next->server.workers },
		{ "server.tcp-max-clients", run->server.tcp_max_clients != next->server.tcp_max_clients },
		{ "server.tls-listen", tls_listen },
		{ "server.tls-certificate", str_differs(run->server.tls_certificate, next->server.tls_certificate) },
		{ "server.tls-key", str_differs(run->server.tls_key, next->server.tls_key) },
		{ "server.tls-max-clients", run->server.tls_max_clients != next->server.tls_max_clients },
		{ "server.user", str_differs(run->server.user, next->server.user) },
		{ "server.pidfile", str_differs(run->server.pidfile, next->server.pidfile) },
		{ "nat.backend", str_differs(run->nat.backend, next->nat.backend) },
		{ "nat.table", str_differs(run->nat.table, next->nat.table) },
		{ "nat.pin-set-size", run->nat.pin_set_size != next->nat.pin_set_size },
		{ "nat.grant-set-size", run->nat.grant_set_size != next->nat.grant_set_size },
		{ "control.socket", str_differs(run->control.socket, next->control.socket) },
		{ "control.group", str_differs(run->control.group, next->control.group) },
		{ "metrics.listen", run->metrics.set != next->metrics.set ||
				    (run->metrics.set && addr_differs(&run->metrics.listen, &next->metrics.listen)) },
		{ "log.file", str_differs(run->log.file, next->log.file) },
		{ "cookie.secret", str_differs(run->cookie.secret, next->cookie.secret) },
		/* the channels, keys and replay logs are set up at start */
		{ "role", run->role != next->role },
		{ "dist", run->nagents != next->nagents || run->ncontrollers != next->ncontrollers ||
			  str_differs(run->dist.id, next->dist.id) ||
			  run->dist.log_size != next->dist.log_size ||
			  addr_differs(&run->dist.listen, &next->dist.listen) ||
			  str_differs(run->dist.tls_cert, next->dist.tls_cert) },
	};
	unsigned n = 0;
	size_t used = 0;
	if (cap)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (!k[i].changed)
			continue;
		if (cap > used) {
			int w = snprintf(out + used, cap - used, "%s%s", n ? ", " : "", k[i].key);
			used += w > 0 ? (size_t)w : 0;
		}
		n++;
	}
	return n;
}

/* ---- public scalar parsers: the internal ones without the message ---- */

int fg_conf_parse_time_ms(const char *s, uint32_t *ms)
{
	char err[512];
	uint64_t v;
	int rc;

	if (!s || !ms)
		return -EINVAL;
	rc = fg_scalar_time(s, &v, err, sizeof(err));
	if (rc < 0)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ms = (uint32_t)v;
	return 0;
}

int fg_conf_parse_size(const char *s, uint64_t *bytes)
{
	char err[512];

	if (!s || !bytes)
		return -EINVAL;
	return fg_scalar_size(s, bytes, err, sizeof(err));
}

int fg_conf_parse_addr(const char *s, uint16_t default_port, fg_conf_addr_t *out)
{
	char err[512];
	int rc;

	if (!s || !out)
		return -EINVAL;
	rc = fg_scalar_addr(s, default_port, true, out, err, sizeof(err));
	if (rc == 0)
		out->line = 0;
	return rc;
}

int fg_conf_parse_prefix(const char *s, fg_conf_prefix_t *out)
{
	char err[512];
	fg_conf_prefix_t p;
	int rc;

	if (!s || !out)
		return -EINVAL;
	rc = fg_scalar_prefix(s, &p, err, sizeof(err));
	if (rc == 0)
		*out = p;
	return rc;
}
