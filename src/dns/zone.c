/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone database: building (allocates, runs at config load) and the frozen
 * lookup structures read by the answer engine (no allocation, no writes).
 *
 * Every zone keeps its nodes in an open-addressing hash table keyed by the
 * lowercased wire name. finalize() adds the empty non-terminals between each
 * name and its apex, so "does this name exist" is one probe and the walk
 * from the apex down to the query name finds zone cuts, the closest encloser
 * and its wildcard with one probe per label.
 */
#include "dns/internal.h"
#include "dns/dnssec/signer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hent {
	const uint8_t *key;
	void *val;
	uint32_t hash;
	uint8_t len;
} hent_t;

typedef struct htab {
	hent_t *e;
	size_t mask;            /* size - 1; size is a power of two */
	size_t count;
} htab_t;

struct fg_zone {
	fg_zonedb_t *db;
	uint8_t origin[FG_DNS_MAXNAME];  /* lowercased */
	uint8_t origin_len;
	uint32_t ttl;
	htab_t nodes;
	fg_node_t **list;       /* every node, for iteration and freeing */
	size_t nlist, caplist;
	fg_node_t *apex;
	const fg_rr_t *soa;     /* set by finalize */
	fg_signer_t *signer;    /* DNSSEC: owned, NULL when unsigned */
};

struct fg_zonedb {
	fg_zone_t **zones;
	size_t nzones, capzones;
	htab_t ztab;            /* origin -> zone */
	bool frozen;
	uint8_t nsid[FG_DNS_NSID_MAX];  /* RFC 5001 NSID; nsid_len 0: off */
	uint16_t nsid_len;
};


static void *htab_get(const htab_t *t, const uint8_t *key, size_t len, uint32_t h)
{
	if (!t->e)
		return NULL;
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const hent_t *x = &t->e[i];
		if (!x->key)
			return NULL;
		if (x->hash == h && x->len == len && memcmp(x->key, key, len) == 0)
			return x->val;
	}
}

static int htab_put(htab_t *t, const uint8_t *key, size_t len, uint32_t h, void *val)
{
	/* keep the load under 1/2 so probes stay short and always end */
	if (!t->e || (t->count + 1) * 2 > t->mask + 1) {
		size_t size = t->e ? (t->mask + 1) * 2 : 16;
		hent_t *ne = calloc(size, sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		for (size_t i = 0; t->e && i <= t->mask; i++) {
			if (!t->e[i].key)
				continue;
			size_t j = t->e[i].hash & (size - 1);
			while (ne[j].key)
				j = (j + 1) & (size - 1);
			ne[j] = t->e[i];
		}
		free(t->e);
		t->e = ne;
		t->mask = size - 1;
	}
	size_t i = h & t->mask;
	while (t->e[i].key)
		i = (i + 1) & t->mask;
	t->e[i].key = key;
	t->e[i].len = (uint8_t)len;
	t->e[i].hash = h;
	t->e[i].val = val;
	t->count++;
	return 0;
}

fg_zonedb_t *fg_zonedb_new(void)
{
	return calloc(1, sizeof(fg_zonedb_t));
}

static void node_free(fg_node_t *n)
{
	for (unsigned i = 0; i < n->nrr; i++)
		free(n->rrs[i].rdata);
	free(n->rrs);
	free(n->name);
	free(n);
}

void fg_zonedb_free(fg_zonedb_t *db)
{
	if (!db)
		return;
	for (size_t z = 0; z < db->nzones; z++) {
		fg_zone_t *zone = db->zones[z];
		for (size_t i = 0; i < zone->nlist; i++)
			node_free(zone->list[i]);
		free(zone->list);
		free(zone->nodes.e);
		fg_signer_free(zone->signer);
		free(zone);
	}
	free(db->zones);
	free(db->ztab.e);
	free(db);
}

int fg_zonedb_set_nsid(fg_zonedb_t *db, const uint8_t *nsid, size_t len)
{
	if (!db || db->frozen || len > FG_DNS_NSID_MAX || (len && !nsid))
		return -EINVAL;
	if (len)
		memcpy(db->nsid, nsid, len);
	db->nsid_len = (uint16_t)len;
	return 0;
}

const uint8_t *fg_zonedb_nsid(const fg_zonedb_t *db, uint16_t *len)
{
	*len = db ? db->nsid_len : 0;
	return *len ? db->nsid : NULL;
}

/* Existing node for a lowercased name, or a new empty one. */
static fg_node_t *get_node(fg_zone_t *z, const uint8_t *name_lc, bool create)
{
	size_t len = fg_dns_name_len(name_lc);
	uint32_t h = fg_dns_name_hash(name_lc, len);
	fg_node_t *n = htab_get(&z->nodes, name_lc, len, h);
	if (n || !create)
		return n;
	if (z->nlist == z->caplist) {
		size_t cap = z->caplist ? z->caplist * 2 : 16;
		fg_node_t **nl = realloc(z->list, cap * sizeof(*nl));
		if (!nl)
			return NULL;
		z->list = nl;
		z->caplist = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = malloc(len);
	if (!n->name) {
		free(n);
		return NULL;
	}
	memcpy(n->name, name_lc, len);
	n->name_len = (uint8_t)len;
	n->hash = h;
	if (htab_put(&z->nodes, n->name, len, h, n) < 0) {
		free(n->name);
		free(n);
		return NULL;
	}
	z->list[z->nlist++] = n;
	return n;
}

/* Takes ownership of rdata (freed here on failure). */
static int node_add_rr(fg_node_t *n, uint16_t type, uint32_t ttl, uint8_t *rdata,
		       uint16_t rdlen)
{
	if (n->nrr == n->caprr) {
		if (n->caprr >= 0x8000u) {
			free(rdata);
			return -ENOSPC;
		}
		uint16_t cap = n->caprr ? (uint16_t)(n->caprr * 2) : 4;
		fg_rr_t *nr = realloc(n->rrs, cap * sizeof(*nr));
		if (!nr) {
			free(rdata);
			return -ENOMEM;
		}
		n->rrs = nr;
		n->caprr = cap;
	}
	fg_rr_t *r = &n->rrs[n->nrr++];
	r->type = type;
	r->ttl = ttl;
	r->rdata = rdata;
	r->rdlen = rdlen;
	return 0;
}

static void node_drop_type(fg_node_t *n, uint16_t type)
{
	unsigned o = 0;
	for (unsigned i = 0; i < n->nrr; i++) {
		if (n->rrs[i].type == type)
			free(n->rrs[i].rdata);
		else
			n->rrs[o++] = n->rrs[i];
	}
	n->nrr = (uint16_t)o;
}

int fg_zonedb_add_zone(fg_zonedb_t *db, const char *origin, uint32_t ttl,
		       const fg_soa_params_t *soa, fg_zone_t **zone,
		       char *err, size_t errlen)
{
	uint8_t name[FG_DNS_MAXNAME];
	char text[1024];

	if (zone)
		*zone = NULL;
	if (!db || !origin)
		return fg_errf(err, errlen, -EINVAL, "no zone name");
	if (db->frozen)
		return fg_errf(err, errlen, -EPERM, "zone database is frozen");
	int n = fg_dns_name_from_text(origin, NULL, name);
	if (n < 0)
		return fg_errf(err, errlen, n, "invalid zone name '%s': %s", origin, fg_strerror(n));
	fg_dns_name_lower(name);
	fg_dns_name_to_text(name, text, sizeof(text));
	uint32_t h = fg_dns_name_hash(name, (size_t)n);
	if (htab_get(&db->ztab, name, (size_t)n, h))
		return fg_errf(err, errlen, -EEXIST, "zone '%s' defined twice", text);

	fg_zone_t *z = calloc(1, sizeof(*z));
	if (!z)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	z->db = db;
	memcpy(z->origin, name, (size_t)n);
	z->origin_len = (uint8_t)n;
	z->ttl = ttl;
	if (db->nzones == db->capzones) {
		size_t cap = db->capzones ? db->capzones * 2 : 8;
		fg_zone_t **nz = realloc(db->zones, cap * sizeof(*nz));
		if (!nz) {
			free(z);
			return fg_errf(err, errlen, -ENOMEM, "out of memory");
		}
		db->zones = nz;
		db->capzones = cap;
	}
	/* from here on the db owns z, whatever happens */
	db->zones[db->nzones++] = z;
	z->apex = get_node(z, z->origin, true);
	if (!z->apex || htab_put(&db->ztab, z->origin, (size_t)n, h, z) < 0)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	if (soa) {
		uint8_t rd[2 * FG_DNS_MAXNAME + 20];
		int rl = fg_rr_soa_rdata(soa, z->origin, rd, sizeof(rd), err, errlen);
		if (rl < 0)
			return rl;
		uint8_t *copy = malloc((size_t)rl);
		if (!copy)
			return fg_errf(err, errlen, -ENOMEM, "out of memory");
		memcpy(copy, rd, (size_t)rl);
		int rc = node_add_rr(z->apex, FG_TYPE_SOA, ttl, copy, (uint16_t)rl);
		if (rc < 0)
			return fg_errf(err, errlen, rc, "out of memory");
	}
	if (zone)
		*zone = z;
	return 0;
}

static bool is_wild(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

int fg_zone_add_record(fg_zone_t *zone, const char *text, char *err, size_t errlen)
{
	fg_rr_text_t rr;
	uint8_t owner[FG_DNS_MAXNAME];
	char otext[1024], ztext[1024];

	if (!zone)
		return fg_errf(err, errlen, -EINVAL, "no zone");
	if (zone->db->frozen)
		return fg_errf(err, errlen, -EPERM, "zone database is frozen");
	int rc = fg_rr_parse(text, zone->origin, &rr, err, errlen);
	if (rc < 0)
		return rc;
	fg_dns_name_copy_lower(owner, rr.owner);
	fg_dns_name_to_text(rr.owner, otext, sizeof(otext));
	fg_dns_name_to_text(zone->origin, ztext, sizeof(ztext));
	if (!fg_dns_name_in(owner, zone->origin)) {
		free(rr.rdata);
		return fg_errf(err, errlen, -FG_ENOZONE, "owner '%s' is outside zone '%s'",
			    otext, ztext);
	}
	bool apex = fg_dns_name_eq(owner, zone->origin);
	if (rr.type == FG_TYPE_SOA && !apex) {
		free(rr.rdata);
		return fg_errf(err, errlen, -FG_ESYNTAX, "SOA at '%s' is not at the zone apex",
			    otext);
	}
	if (rr.type == FG_TYPE_NS && is_wild(owner)) {
		free(rr.rdata);
		return fg_errf(err, errlen, -FG_ESYNTAX,
			    "NS at wildcard '%s' is not supported (RFC 4592 section 4.2)",
			    otext);
	}
	fg_node_t *n = get_node(zone, owner, true);
	if (!n) {
		free(rr.rdata);
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	}
	if (rr.type == FG_TYPE_SOA)
		node_drop_type(n, FG_TYPE_SOA);  /* a zone has one SOA: last wins */
	rc = node_add_rr(n, rr.type, rr.has_ttl ? rr.ttl : zone->ttl, rr.rdata, rr.rdlen);
	if (rc < 0)
		return fg_errf(err, errlen, rc, "too many records at '%s'", otext);
	return 0;
}

int fg_zone_add_service(fg_zone_t *zone, const char *name, uint32_t service_id,
			char *err, size_t errlen)
{
	uint8_t wire[FG_DNS_MAXNAME];
	char ztext[1024];

	if (!zone || !name)
		return fg_errf(err, errlen, -EINVAL, "no zone or name");
	if (zone->db->frozen)
		return fg_errf(err, errlen, -EPERM, "zone database is frozen");
	fg_dns_name_to_text(zone->origin, ztext, sizeof(ztext));
	/* Service names come from the config as full names, often without
	 * the final dot: "app.example.test" in zone example.test means that
	 * name, not app.example.test.example.test. Names that are not inside
	 * the zone when read as absolute are read relative to the origin. */
	int n = fg_dns_name_from_text(name, strcmp(name, "@") ? NULL : zone->origin, wire);
	if (n < 0)
		return fg_errf(err, errlen, n, "invalid service name '%s': %s", name,
			    fg_strerror(n));
	fg_dns_name_lower(wire);
	if (!fg_dns_name_in(wire, zone->origin) && name[strlen(name) - 1] != '.') {
		n = fg_dns_name_from_text(name, zone->origin, wire);
		if (n < 0)
			return fg_errf(err, errlen, n, "invalid service name '%s': %s", name,
				    fg_strerror(n));
		fg_dns_name_lower(wire);
	}
	if (!fg_dns_name_in(wire, zone->origin))
		return fg_errf(err, errlen, -FG_ENOZONE, "service name '%s' is outside zone '%s'",
			    name, ztext);
	fg_node_t *node = get_node(zone, wire, true);
	if (!node)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	if (node->service)
		return fg_errf(err, errlen, -EEXIST, "service name '%s' declared twice", name);
	node->service = true;
	node->service_id = service_id;
	return 0;
}

int fg_zone_set_service_families(fg_zone_t *zone, uint32_t service_id, bool v4, bool v6)
{
	if (!zone || zone->db->frozen)
		return -EINVAL;
	for (size_t i = 0; i < zone->nlist; i++) {
		fg_node_t *n = zone->list[i];
		if (n->service && n->service_id == service_id) {
			n->svc_fams = (uint8_t)((v4 ? 1 : 0) | (v6 ? 2 : 0));
			return 0;
		}
	}
	return -ENOENT;
}

static int rr_cmp(const fg_rr_t *a, const fg_rr_t *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return 0;
}

/* Sort by type (stable, keeps the configured order inside an RRset), drop
 * duplicate records (an RRset is a set, RFC 2181 section 5) and give every
 * RRset the TTL of its first record (section 5.2; Knot does the same). */
static void node_normalize(fg_node_t *n)
{
	for (unsigned i = 1; i < n->nrr; i++) {
		fg_rr_t x = n->rrs[i];
		unsigned j = i;
		while (j > 0 && rr_cmp(&n->rrs[j - 1], &x) > 0) {
			n->rrs[j] = n->rrs[j - 1];
			j--;
		}
		n->rrs[j] = x;
	}
	unsigned o = 0;
	for (unsigned i = 0; i < n->nrr; i++) {
		fg_rr_t *r = &n->rrs[i];
		bool dup = false;
		unsigned first = o;
		while (first > 0 && n->rrs[first - 1].type == r->type)
			first--;
		for (unsigned k = first; k < o; k++) {
			if (n->rrs[k].rdlen == r->rdlen &&
			    memcmp(n->rrs[k].rdata, r->rdata, r->rdlen) == 0)
				dup = true;
		}
		if (dup) {
			free(r->rdata);
			continue;
		}
		if (first < o)
			r->ttl = n->rrs[first].ttl;
		n->rrs[o++] = *r;
	}
	n->nrr = (uint16_t)o;
}

static int zone_finalize(fg_zone_t *z, char *err, size_t errlen)
{
	char text[1024], ztext[1024];

	fg_dns_name_to_text(z->origin, ztext, sizeof(ztext));
	if (!fg_node_rrset(z->apex, FG_TYPE_SOA, NULL))
		return fg_errf(err, errlen, -FG_ESCHEMA, "zone '%s' has no SOA", ztext);
	/* the list grows while we add empty non-terminals: index, not pointer */
	for (size_t i = 0; i < z->nlist; i++) {
		fg_node_t *n = z->list[i];
		node_normalize(n);
		unsigned ncname = 0, other = 0, addr = 0;
		for (unsigned k = 0; k < n->nrr; k++) {
			uint16_t t = n->rrs[k].type;
			if (t == FG_TYPE_CNAME)
				ncname++;
			else
				other++;
			if (t == FG_TYPE_A || t == FG_TYPE_AAAA)
				addr++;
			if (t == FG_TYPE_NS && n != z->apex)
				n->has_ns = true;
		}
		n->has_cname = ncname > 0;
		fg_dns_name_to_text(n->name, text, sizeof(text));
		if (ncname > 1)
			return fg_errf(err, errlen, -FG_ESCHEMA, "more than one CNAME at '%s'", text);
		if (ncname && other)
			return fg_errf(err, errlen, -FG_ESCHEMA,
				    "CNAME and other data at '%s' (RFC 1034 section 3.6.2)", text);
		if (ncname && n->service)
			return fg_errf(err, errlen, -FG_ESCHEMA,
				    "service name '%s' must not own a CNAME", text);
		if (addr && n->service)
			return fg_errf(err, errlen, -FG_ESCHEMA,
				    "service name '%s' must not have static A/AAAA records", text);
		if (fg_node_rrset(n, FG_TYPE_DS, NULL) && (n == z->apex || !n->has_ns))
			return fg_errf(err, errlen, -FG_ESCHEMA,
				    "DS at '%s': only at a delegation (a name with NS below the apex)",
				    text);
		/* empty non-terminals up to the apex */
		const uint8_t *p = n->name;
		while (n != z->apex && p[0] && !fg_dns_name_eq(p, z->origin)) {
			p += p[0] + 1u;
			if (fg_dns_name_eq(p, z->origin))
				break;
			if (!get_node(z, p, true))
				return fg_errf(err, errlen, -ENOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < z->nlist; i++) {
		fg_node_t *n = z->list[i];
		if (is_wild(n->name) && n != z->apex) {
			fg_node_t *parent = get_node(z, n->name + 2, false);
			if (parent)
				parent->wild = n;
		}
	}
	z->soa = fg_node_rrset(z->apex, FG_TYPE_SOA, NULL);
	return 0;
}

int fg_zonedb_finalize(fg_zonedb_t *db, char *err, size_t errlen)
{
	if (!db)
		return fg_errf(err, errlen, -EINVAL, "no zone database");
	if (db->frozen)
		return 0;
	for (size_t z = 0; z < db->nzones; z++) {
		int rc = zone_finalize(db->zones[z], err, errlen);
		if (rc < 0)
			return rc;
	}
	db->frozen = true;
	return 0;
}

/* ---- lookups (frozen db; read-only, thread-safe) ---------------------- */

const uint8_t *fg_zone_origin(const fg_zone_t *z)
{
	return z->origin;
}

const fg_rr_t *fg_zone_soa(const fg_zone_t *z)
{
	return z->soa;
}

const fg_node_t *fg_zone_apex(const fg_zone_t *z)
{
	return z->apex;
}

const fg_signer_t *fg_zonedb_signer(const fg_zonedb_t *db, const uint8_t *apex)
{
	for (size_t i = 0; db && i < db->nzones; i++)
		if (fg_dns_name_eq(db->zones[i]->origin, apex))
			return db->zones[i]->signer;
	return NULL;
}

void fg_zonedb_signer_stats(const fg_zonedb_t *db, struct fg_signer_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; db && i < db->nzones; i++) {
		fg_signer_stats_t st;
		if (!db->zones[i]->signer)
			continue;
		fg_signer_stats(db->zones[i]->signer, &st);
		sum->signatures += st.signatures;
		sum->static_hits += st.static_hits;
		sum->static_misses += st.static_misses;
		sum->addr_hits += st.addr_hits;
		sum->addr_misses += st.addr_misses;
	}
}

fg_signer_t *fg_zone_signer(const fg_zone_t *z)
{
	return z ? z->signer : NULL;
}

int fg_zone_set_signer(fg_zone_t *zone, fg_signer_t *signer)
{
	if (!zone || zone->db->frozen || zone->signer) {
		fg_signer_free(signer);
		return -EINVAL;
	}
	zone->signer = signer;
	return 0;
}

const fg_rr_t *fg_node_rrset(const fg_node_t *n, uint16_t type, unsigned *count)
{
	for (unsigned i = 0; i < n->nrr; i++) {
		if (n->rrs[i].type != type)
			continue;
		unsigned c = 1;
		while (i + c < n->nrr && n->rrs[i + c].type == type)
			c++;
		if (count)
			*count = c;
		return &n->rrs[i];
	}
	if (count)
		*count = 0;
	return NULL;
}

const fg_node_t *fg_zone_node(const fg_zone_t *z, const uint8_t *name_lc)
{
	size_t len = fg_dns_name_len(name_lc);
	return htab_get(&z->nodes, name_lc, len, fg_dns_name_hash(name_lc, len));
}

static const fg_zone_t *zone_of(const fg_zonedb_t *db, const uint8_t *name_lc,
				size_t len, const uint8_t *offs, unsigned n, unsigned *idx)
{
	/* longest suffix first: the deepest zone wins (nested zones) */
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *s = name_lc + offs[i];
		size_t sl = len - offs[i];
		const fg_zone_t *z = htab_get(&db->ztab, s, sl, fg_dns_name_hash(s, sl));
		if (z) {
			*idx = i;
			return z;
		}
	}
	return NULL;
}

const fg_zone_t *fg_zonedb_zone_of(const fg_zonedb_t *db, const uint8_t *name_lc)
{
	uint8_t offs[FG_DNS_MAXLABELS];
	unsigned idx;
	unsigned n = fg_dns_name_offsets(name_lc, offs);
	return zone_of(db, name_lc, fg_dns_name_len(name_lc), offs, n, &idx);
}

void fg_zonedb_lookup(const fg_zonedb_t *db, const uint8_t *name_lc,
		      uint16_t qtype, fg_lookup_t *lk)
{
	uint8_t offs[FG_DNS_MAXLABELS];
	unsigned zi = 0;
	size_t len = fg_dns_name_len(name_lc);
	unsigned n = fg_dns_name_offsets(name_lc, offs);

	memset(lk, 0, sizeof(*lk));
	if (!db)
		return;
	const fg_zone_t *z = zone_of(db, name_lc, len, offs, n, &zi);
	if (!z)
		return;
	lk->zone = z;
	const fg_node_t *ce = z->apex;
	/* walk down from the apex, one label at a time */
	for (unsigned i = zi; i-- > 0;) {
		const uint8_t *s = name_lc + offs[i];
		size_t sl = len - offs[i];
		const fg_node_t *node = htab_get(&z->nodes, s, sl, fg_dns_name_hash(s, sl));
		if (!node) {
			/* RFC 4592: the wildcard child of the closest encloser */
			if (ce->wild) {
				lk->kind = FG_LK_FOUND;
				lk->node = ce->wild;
				lk->wildcard = true;
			} else {
				lk->kind = FG_LK_NXDOMAIN;
				lk->node = ce;
			}
			return;
		}
		/* a zone cut; DS at the cut itself belongs to the parent side */
		if (node->has_ns && !(i == 0 && qtype == FG_TYPE_DS)) {
			lk->kind = FG_LK_DELEG;
			lk->node = node;
			return;
		}
		ce = node;
	}
	lk->kind = FG_LK_FOUND;
	lk->node = ce;
}
