/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The schema engine: walks the YAML tree against the table in schema.c and
 * stores typed values into fg_conf_t. Nothing here knows about a particular
 * key; adding one to the config is a line in the table.
 *
 * Line numbers: a bad value points at the value, an unknown or duplicate key
 * at the key, a missing key at the map that lacks it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "conf/schema.h"

_Static_assert(sizeof(unsigned) == sizeof(uint32_t),
	       "INT items store into unsigned and uint32_t fields alike");
_Static_assert(sizeof(enum fg_rotation) == sizeof(int),
	       "ENUM items store an int");

/* Most keys in one map of the schema (a fixed array tracks which are seen). */
#define MAX_KEYS 64

/* Where a map sits, for messages: keys print as prefix + sep + key. */
struct where {
	const char *prefix;       /* "" at the top, "server", "service 'www'" */
	const char *sep;          /* "" at the top, "." or ": " */
	bool in_entry;            /* inside an entry of a list section */
};

static int apply_map(fg_loader_t *ld, const fg_item_t *items, char *base,
		     const fg_ynode_t *map, const struct where *w, int line,
		     bool report_missing);

static const char *kind_name(const fg_ynode_t *n)
{
	switch (n->kind) {
	case FG_Y_SEQ:
		return "a list";
	case FG_Y_MAP:
		return "a mapping";
	default:
		return "a scalar";
	}
}

static const char *type_desc(const fg_item_t *it)
{
	switch (it->type) {
	case FG_T_INT:
		return "an integer";
	case FG_T_TIME:
		return "a time";
	case FG_T_SIZE:
		return "a size";
	case FG_T_BOOL:
		return "on or off";
	case FG_T_FLOAT:
		return "a number";
	case FG_T_ENUM:
		return "a keyword";
	case FG_T_ADDR:
		return "an address";
	case FG_T_PREFIX:
		return "a prefix";
	case FG_T_RECORD:
		return "a record";
	case FG_T_MAP:
		return "a mapping";
	case FG_T_LIST:
		return "a list";
	default:
		return "a string";
	}
}

static void store_u32(void *field, uint64_t v)
{
	uint32_t x = (uint32_t)v;
	memcpy(field, &x, sizeof(x));
}

/* Bytes of one element of a MULTI item's array. */
static size_t multi_elem_size(const fg_item_t *it)
{
	switch (it->type) {
	case FG_T_ADDR:
		return sizeof(fg_conf_addr_t);
	case FG_T_RECORD:
		return sizeof(fg_conf_record_t);
	case FG_T_PREFIX:
		return sizeof(fg_conf_prefix_t);
	default:
		return sizeof(char *);
	}
}

/* Array pointers of MULTI and LIST items are read and written with memcpy:
 * the field is a typed pointer (fg_conf_addr_t *, char **, ...) that this
 * generic code only knows as bytes at an offset. */
static void *get_ptr(const char *slot)
{
	void *p;
	memcpy(&p, slot, sizeof(p));
	return p;
}

/* Make room for element `cnt` of the array whose pointer is at `slot`,
 * growing by doubling; new room is zeroed. */
static int grow(char *slot, size_t cnt, size_t esz)
{
	size_t cap;
	void *n;

	if (cnt != 0 && (cnt < 4 || (cnt & (cnt - 1)) != 0))
		return 0;  /* capacity is the next power of two >= 4 */
	cap = cnt ? cnt * 2 : 4;
	if (cap > SIZE_MAX / esz)
		return -ENOMEM;
	n = realloc(get_ptr(slot), cap * esz);
	if (!n)
		return -ENOMEM;
	memcpy(slot, &n, sizeof(n));
	memset((char *)n + cnt * esz, 0, (cap - cnt) * esz);
	return 0;
}

static int check_time(fg_loader_t *ld, const fg_item_t *it, const fg_ynode_t *v,
		      const char *path, uint64_t *out)
{
	char err[512], q[4 * FG_QUOTE_MAX + 4], a[32], b[32];
	uint64_t ms, scale = (it->flags & FG_F_SECONDS) ? 1000 : 1;

	if (fg_scalar_time(v->val, &ms, err, sizeof(err)) < 0) {
		fg_diag(ld, v->line, "%s: %s", path, err);
		return 1;
	}
	fg_quote(v->val, q, sizeof(q));
	if ((it->flags & (FG_F_SECONDS | FG_F_WHOLE_SEC)) && ms % 1000 != 0) {
		/* DNS TTLs and SOA timers have no fractions of a second */
		fg_diag(ld, v->line, "%s: time '%s' is not a whole number of seconds",
			path, q);
		return 1;
	}
	if (ms / scale < it->min || ms / scale > it->max) {
		fg_format_time(it->min * scale, a, sizeof(a));
		fg_format_time(it->max * scale, b, sizeof(b));
		fg_diag(ld, v->line, "%s: time '%s' out of range (%s..%s)", path, q, a, b);
		return 1;
	}
	*out = ms / scale;
	return 0;
}

/* Parse scalar `v` into `field` (one element for MULTI items). Returns 0
 * when stored, 1 when a problem was reported, or -ENOMEM. */
static int set_scalar(fg_loader_t *ld, const fg_item_t *it, void *field,
		      const fg_ynode_t *v, const char *path)
{
	char err[512], q[4 * FG_QUOTE_MAX + 4], a[32], b[32];
	const char *s = v->val;
	uint64_t x;

	if (s[0] == '\0') {
		fg_diag(ld, v->line, "%s: empty value", path);
		return 1;
	}
	switch (it->type) {
	case FG_T_STR:
	case FG_T_RECORD: {
		if (it->check && it->check(s, err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		char *d = strdup(s);
		if (!d)
			return -ENOMEM;
		if (it->type == FG_T_RECORD) {
			fg_conf_record_t *r = field;
			r->text = d;
			r->line = v->line;
		} else {
			free(*(char **)field);
			*(char **)field = d;
		}
		return 0;
	}
	case FG_T_INT:
		if (fg_scalar_uint(s, it->min, it->max, it->flags & FG_F_AUTO, &x,
				   err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		store_u32(field, x);
		return 0;
	case FG_T_TIME:
		if (check_time(ld, it, v, path, &x))
			return 1;
		store_u32(field, x);
		return 0;
	case FG_T_SIZE:
		if (fg_scalar_size(s, &x, err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		if (x < it->min || x > it->max) {
			fg_quote(s, q, sizeof(q));
			fg_format_size(it->min, a, sizeof(a));
			fg_format_size(it->max, b, sizeof(b));
			fg_diag(ld, v->line, "%s: size '%s' out of range (%s..%s)",
				path, q, a, b);
			return 1;
		}
		store_u32(field, x);
		return 0;
	case FG_T_BOOL:
		if (fg_scalar_bool(s, field, err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		return 0;
	case FG_T_FLOAT:
		if (fg_scalar_float(s, it->fmin, it->fmin_open, it->fmax, field,
				    err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		return 0;
	case FG_T_ENUM:
		for (int i = 0; it->enums[i]; i++) {
			if (strcmp(s, it->enums[i]) != 0)
				continue;
			if (it->flags & FG_F_ENUM_STR) {
				char *d = strdup(s);
				if (!d)
					return -ENOMEM;
				free(*(char **)field);
				*(char **)field = d;
			} else {
				memcpy(field, &i, sizeof(i));
			}
			return 0;
		}
		{
			char list[256] = "";
			size_t o = 0;
			for (int i = 0; it->enums[i] && o < sizeof(list); i++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
						      i ? ", " : "", it->enums[i]);
			fg_quote(s, q, sizeof(q));
			fg_diag(ld, v->line, "%s: expected one of %s, got '%s'", path,
				list, q);
		}
		return 1;
	case FG_T_ADDR: {
		fg_conf_addr_t *addr = field;
		if (fg_scalar_addr(s, it->port, !(it->flags & FG_F_NOPORT), addr,
				   err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		addr->line = v->line;
		return 0;
	}
	case FG_T_PREFIX: {
		fg_conf_prefix_t p;
		if (fg_scalar_prefix(s, &p, err, sizeof(err)) < 0) {
			fg_diag(ld, v->line, "%s: %s", path, err);
			return 1;
		}
		memcpy(field, &p, sizeof(p));
		return 0;
	}
	default:
		return 1;  /* MAP/LIST never reach here */
	}
}

static int apply_multi(fg_loader_t *ld, const fg_item_t *it, char *base,
		       const fg_ynode_t *k, const fg_ynode_t *v, const char *path)
{
	char *slot = base + it->off;
	size_t *cnt = (size_t *)(base + it->cnt_off);
	size_t esz = multi_elem_size(it), n;
	fg_ynode_t *const *elems;
	fg_ynode_t *const single[1] = { (fg_ynode_t *)v };

	if (v->kind == FG_Y_SCALAR) {
		if (v->null) {
			fg_diag(ld, k->line, "%s: missing value", path);
			return 0;
		}
		elems = single;  /* one value needs no brackets */
		n = 1;
	} else if (v->kind == FG_Y_SEQ) {
		elems = v->kids;
		n = v->nkids;
	} else {
		fg_diag(ld, v->line, "%s: expected %s or a list of them, got %s",
			path, type_desc(it), kind_name(v));
		return 0;
	}
	if (n == 0 && (it->flags & FG_F_REQ))
		fg_diag(ld, v->line, "%s: empty list, at least one value is required",
			path);
	for (size_t i = 0; i < n && !ld->stop; i++) {
		const fg_ynode_t *e = elems[i];
		int rc;

		if (e->kind == FG_Y_BAD)
			continue;
		if (e->kind != FG_Y_SCALAR) {
			fg_diag(ld, e->line, "%s: expected %s, got %s", path,
				type_desc(it), kind_name(e));
			continue;
		}
		if (e->null) {
			fg_diag(ld, e->line, "%s: empty list entry", path);
			continue;
		}
		if (grow(slot, *cnt, esz) < 0)
			return -ENOMEM;
		char *elem = (char *)get_ptr(slot) + *cnt * esz;
		rc = set_scalar(ld, it, elem, e, path);
		if (rc < 0)
			return rc;
		if (rc == 0)
			(*cnt)++;
		else  /* drop what a failed parse may have left */
			memset(elem, 0, esz);
	}
	return 0;
}

static struct fg_list_nodes *list_nodes(fg_loader_t *ld, const fg_item_t *it)
{
	for (size_t i = 0; i < ld->nlists; i++)
		if (ld->lists[i].item == it)
			return &ld->lists[i];
	if (ld->nlists == sizeof(ld->lists) / sizeof(ld->lists[0]))
		return NULL;
	ld->lists[ld->nlists].item = it;
	return &ld->lists[ld->nlists++];
}

const fg_ynode_t *fg_loader_entry(const fg_loader_t *ld, const char *name, size_t i)
{
	for (size_t j = 0; j < ld->nlists; j++)
		if (strcmp(ld->lists[j].item->name, name) == 0)
			return i < ld->lists[j].n ? ld->lists[j].nodes[i] : NULL;
	return NULL;
}

static int apply_list(fg_loader_t *ld, const fg_item_t *it, char *base,
		      const fg_ynode_t *v, const char *path)
{
	char *slot = base + it->off;
	size_t *cnt = (size_t *)(base + it->cnt_off);
	struct fg_list_nodes *ln = list_nodes(ld, it);

	if (v->kind == FG_Y_SCALAR && v->null)
		return 0;  /* "service:" with nothing under it: no entries */
	if (v->kind != FG_Y_SEQ) {
		fg_diag(ld, v->line, "%s: expected a list of entries ('- %s: ...'), "
			"got %s", path, it->label_key, kind_name(v));
		return 0;
	}
	if (!ln)
		return -ENOMEM;  /* more list sections than slots: a schema bug */
	for (size_t i = 0; i < v->nkids && !ld->stop; i++) {
		const fg_ynode_t *e = v->kids[i];
		const fg_ynode_t *id;
		char label[600], q[4 * FG_QUOTE_MAX + 4];
		char *entry;

		if (e->kind == FG_Y_BAD)
			continue;
		if (e->kind != FG_Y_MAP) {
			fg_diag(ld, e->line, "%s[%zu]: expected a mapping, got %s",
				path, i, kind_name(e));
			continue;
		}
		if (grow(slot, *cnt, it->elem_size) < 0)
			return -ENOMEM;
		if (grow((char *)&ln->nodes, ln->n, sizeof(*ln->nodes)) < 0)
			return -ENOMEM;
		entry = (char *)get_ptr(slot) + *cnt * it->elem_size;
		(*cnt)++;
		ln->nodes[ln->n++] = e;

		/* name the entry by its id even when the id comes after the
		 * key being reported */
		id = it->label_key ? fg_ymap_get(e, it->label_key) : NULL;
		if (id && id->kind == FG_Y_SCALAR && !id->null) {
			fg_quote(id->val, q, sizeof(q));
			snprintf(label, sizeof(label), "%.300s '%s'", path, q);
		} else {
			snprintf(label, sizeof(label), "%.300s[%zu]", path, i);
		}
		struct where w = { label, ": ", true };
		int rc = apply_map(ld, it->sub, entry, e, &w, e->line, true);
		if (rc < 0)
			return rc;
		if (it->post && !ld->stop)
			it->post(ld, entry, e, label);
	}
	return 0;
}

static int apply_value(fg_loader_t *ld, const fg_item_t *it, char *base,
		       const fg_ynode_t *k, const fg_ynode_t *v,
		       const struct where *w)
{
	char path[600];

	snprintf(path, sizeof(path), "%.300s%s%.64s", w->prefix, w->sep, it->name);
	if (v->kind == FG_Y_BAD)
		return 0;
	switch (it->type) {
	case FG_T_MAP: {
		struct where sub = { path, ".", w->in_entry };
		bool ok = v->kind == FG_Y_MAP || (v->kind == FG_Y_SCALAR && v->null);
		if (!ok)
			fg_diag(ld, v->line, "%s: expected a mapping, got %s", path,
				kind_name(v));
		if (ok && (it->flags & FG_F_SETFLAG))
			*(bool *)(base + it->set_off) = true;
		return apply_map(ld, it->sub, base, v->kind == FG_Y_MAP ? v : NULL,
				 &sub, k->line, ok);
	}
	case FG_T_LIST:
		return apply_list(ld, it, base, v, path);
	default:
		break;
	}
	if (it->flags & FG_F_MULTI)
		return apply_multi(ld, it, base, k, v, path);
	if (v->kind != FG_Y_SCALAR) {
		fg_diag(ld, v->line, "%s: expected %s, got %s", path, type_desc(it),
			kind_name(v));
		return 0;
	}
	if (v->null) {
		fg_diag(ld, k->line, "%s: missing value", path);
		return 0;
	}
	int rc = set_scalar(ld, it, base + it->off, v, path);
	return rc < 0 ? rc : 0;
}

static void report_unknown(fg_loader_t *ld, const fg_ynode_t *k,
			   const struct where *w)
{
	char q[4 * FG_QUOTE_MAX + 4];

	fg_quote(k->val, q, sizeof(q));
	if (w->prefix[0] == '\0')
		fg_diag(ld, k->line, "unknown section '%s'", q);
	else if (w->in_entry)
		fg_diag(ld, k->line, "%s: unknown key '%s'", w->prefix, q);
	else
		fg_diag(ld, k->line, "unknown key '%s' in section '%s'", q, w->prefix);
}

static void report_duplicate(fg_loader_t *ld, const fg_ynode_t *k, int first,
			     const struct where *w)
{
	if (w->prefix[0] == '\0')
		fg_diag(ld, k->line, "duplicate section '%s' (first on line %d)",
			k->val, first);
	else if (w->in_entry)
		fg_diag(ld, k->line, "%s: duplicate key '%s' (first on line %d)",
			w->prefix, k->val, first);
	else
		fg_diag(ld, k->line, "duplicate key '%s' in section '%s' (first on "
			"line %d)", k->val, w->prefix, first);
}

static void report_missing(fg_loader_t *ld, const fg_item_t *it, int line,
			   const struct where *w)
{
	if (w->prefix[0] == '\0')
		fg_diag(ld, line, "missing required section '%s'", it->name);
	else if (w->in_entry)
		fg_diag(ld, line, "%s: missing required key '%s'", w->prefix, it->name);
	else
		fg_diag(ld, line, "missing required key '%s' in section '%s'",
			it->name, w->prefix);
}

/*
 * Apply map node `map` (NULL: absent or empty) to `items`. Keys that are
 * not given get their defaults; required ones are reported when
 * `report_missing` (an absent optional section still gets its defaults but
 * its required keys do not matter).
 */
static int apply_map(fg_loader_t *ld, const fg_item_t *items, char *base,
		     const fg_ynode_t *map, const struct where *w, int line,
		     bool report)
{
	const fg_ynode_t *seen[MAX_KEYS] = { NULL };
	size_t nitems = 0;
	int rc;

	while (items[nitems].name)
		nitems++;
	if (nitems > MAX_KEYS)
		return -ENOMEM;  /* schema bug; the unit tests load every section */

	for (size_t i = 0; map && i + 1 < map->nkids && !ld->stop; i += 2) {
		const fg_ynode_t *k = map->kids[i], *v = map->kids[i + 1];
		size_t j;

		if (k->kind == FG_Y_BAD)
			continue;
		if (k->kind != FG_Y_SCALAR || k->null) {
			fg_diag(ld, k->line, "%s%skeys must be plain words, got %s",
				w->prefix, w->prefix[0] ? ": " : "",
				k->kind == FG_Y_SCALAR ? "an empty key" : kind_name(k));
			continue;
		}
		for (j = 0; j < nitems; j++)
			if (strcmp(items[j].name, k->val) == 0)
				break;
		if (j == nitems) {
			report_unknown(ld, k, w);
			continue;
		}
		if (seen[j]) {
			report_duplicate(ld, k, seen[j]->line, w);
			continue;
		}
		seen[j] = k;
		rc = apply_value(ld, &items[j], base, k, v, w);
		if (rc < 0)
			return rc;
	}

	for (size_t j = 0; j < nitems && !ld->stop; j++) {
		const fg_item_t *it = &items[j];

		if (seen[j])
			continue;
		if ((it->flags & FG_F_REQ) && report)
			report_missing(ld, it, line, w);
		if (it->type == FG_T_MAP) {
			/* defaults of the keys inside, with nothing to report */
			char path[600];
			snprintf(path, sizeof(path), "%.300s%s%.64s", w->prefix,
				 w->sep, it->name);
			struct where sub = { path, ".", w->in_entry };
			rc = apply_map(ld, it->sub, base, NULL, &sub, line, false);
			if (rc < 0)
				return rc;
		} else if (it->def && !(it->flags & FG_F_MULTI)) {
			fg_ynode_t d = { .kind = FG_Y_SCALAR, .line = line,
					 .val = (char *)it->def };
			char path[600];
			snprintf(path, sizeof(path), "%.300s%s%.64s (default)",
				 w->prefix, w->sep, it->name);
			rc = set_scalar(ld, it, base + it->off, &d, path);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int fg_schema_apply(fg_loader_t *ld, const fg_ynode_t *root, fg_conf_t *conf)
{
	struct where top = { "", "", false };

	if (root && root->kind != FG_Y_MAP) {
		if (root->kind != FG_Y_BAD && !(root->kind == FG_Y_SCALAR && root->null))
			fg_diag(ld, root->line, "expected a mapping of sections "
				"(server:, zone:, ...) at the top level, got %s",
				kind_name(root));
		root = NULL;
	}
	return apply_map(ld, fg_conf_schema, (char *)conf, root, &top,
			 root ? root->line : 0, true);
}

int fg_schema_apply_items(fg_loader_t *ld, const fg_item_t *items,
			  const fg_ynode_t *root, void *base)
{
	struct where top = { "", "", false };

	if (root && root->kind != FG_Y_MAP) {
		if (root->kind != FG_Y_BAD && !(root->kind == FG_Y_SCALAR && root->null))
			fg_diag(ld, root->line, "expected a mapping of sections "
				"at the top level, got %s", kind_name(root));
		root = NULL;
	}
	return apply_map(ld, items, base, root, &top, root ? root->line : 0, true);
}

void fg_schema_free(const fg_item_t *items, void *vbase)
{
	char *base = vbase;

	for (const fg_item_t *it = items; it->name; it++) {
		if (it->type == FG_T_MAP) {
			fg_schema_free(it->sub, base);
		} else if (it->type == FG_T_LIST) {
			char *arr = get_ptr(base + it->off);
			size_t n = *(size_t *)(base + it->cnt_off);
			for (size_t i = 0; i < n; i++)
				fg_schema_free(it->sub, arr + i * it->elem_size);
			free(arr);
		} else if (it->flags & FG_F_MULTI) {
			void *arr = get_ptr(base + it->off);
			size_t n = *(size_t *)(base + it->cnt_off);
			for (size_t i = 0; i < n; i++) {
				if (it->type == FG_T_STR)
					free(((char **)arr)[i]);
				else if (it->type == FG_T_RECORD)
					free(((fg_conf_record_t *)arr)[i].text);
			}
			free(arr);
		} else if (it->type == FG_T_STR ||
			   (it->type == FG_T_ENUM && (it->flags & FG_F_ENUM_STR))) {
			free(*(char **)(base + it->off));
		}
	}
}
