/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of the config loader (not part of the public API).
 *
 * Loading runs in three steps:
 *   1. tree.c turns the libyaml event stream into a small node tree that
 *      keeps the line of every key and value;
 *   2. apply.c walks that tree against the schema table of schema.c and
 *      fills an fg_conf_t (types, ranges, defaults, unknown and duplicate
 *      keys);
 *   3. conf.c checks relations between items (references, overlaps,
 *      uniqueness) while the tree is still there to give line numbers.
 * Every step reports through fg_diag() and carries on after an error.
 */
#ifndef FG_CONF_SCHEMA_H
#define FG_CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* ---- YAML node tree (tree.c) ---- */

enum fg_ykind {
	FG_Y_SCALAR,
	FG_Y_SEQ,
	FG_Y_MAP,     /* kids alternate key, value */
	FG_Y_BAD,     /* placeholder for something already reported (alias) */
};

typedef struct fg_ynode {
	enum fg_ykind kind;
	int line;                 /* 1-based */
	bool null;                /* plain "", "~" or "null": no value given */
	char *val;                /* FG_Y_SCALAR: NUL-terminated text */
	struct fg_ynode **kids;
	size_t nkids, cap;
} fg_ynode_t;

/* Deepest nesting accepted; the config needs 4, the limit keeps hostile
 * input from costing stack in the recursive walkers. */
#define FG_YAML_MAX_DEPTH 32

/* ---- loader state ---- */

/* Most errors reported before giving up, so a garbage file does not flood
 * the terminal. */
#define FG_CONF_MAX_ERRORS 100

struct fg_item;

struct fg_list_nodes {            /* YAML map of each entry of a list section */
	const struct fg_item *item;
	const fg_ynode_t **nodes; /* aligned with the entries in fg_conf_t */
	size_t n, cap;
};

struct fg_diag_msg {
	int line;
	unsigned seq;             /* report order, to keep the sort stable */
	char *text;
};

typedef struct fg_loader {
	const char *file;
	fg_conf_diag_fn diag;
	void *ctx;
	/* messages held back until the end so they can be handed out in line
	 * order: the cross-item checks run last but their lines are anywhere */
	struct fg_diag_msg *msgs;
	unsigned nerr;
	int rc;                   /* first error: -FG_ESYNTAX or -FG_ESCHEMA */
	bool stop;                /* error budget spent: walkers return early */
	struct fg_list_nodes lists[8];
	size_t nlists;
	/* include.c: lines of included file k are line + (k + 1) << 25 */
	int line_base;            /* added to every line fg_ytree_build makes */
	char *inc_file[16];
	unsigned ninc;
	/* secret files (conf/secretfile.h) are read only when loading from
	 * a path, not from a buffer (unit tests, fuzzing); on a reload, prev
	 * is the running config whose secrets may be taken over */
	bool read_secrets;
	const fg_conf_t *prev;
	/* on a reload, the secrets the [priv] process read (conf/keyfiles.h) */
	const struct fg_keyfiles *kf;
} fg_loader_t;

#define FG_CONF_MAX_INCLUDES 16
#define FG_CONF_MAX_INCLUDE_SIZE (512u << 10)  /* bytes; [priv] hands them over on reload */
#define FG_CONF_INC_SHIFT 25

/* Report one problem (conf.c); counts it and sets ld->rc to -FG_ESCHEMA
 * unless an error is already recorded. */
void fg_diag(fg_loader_t *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Hand the held-back messages to the callback, sorted by line, and free
 * them. */
void fg_diag_flush(fg_loader_t *ld);

/* Build the tree of the (single) document in buf. *root is NULL for an
 * empty file. Returns 0, -FG_ESYNTAX (reported) or -ENOMEM. */
int fg_ytree_build(fg_loader_t *ld, const char *buf, size_t len, fg_ynode_t **root);
void fg_ytree_free(fg_ynode_t *n);

/* Value of `key` in map node `map`, or NULL. */
const fg_ynode_t *fg_ymap_get(const fg_ynode_t *map, const char *key);
/* Key node of `key` in `map`, or NULL. */
const fg_ynode_t *fg_ymap_key(const fg_ynode_t *map, const char *key);

/* Line of a value under `key` in `map`: the scalar's own line, or for a
 * list the `nth` (0-based) entry equal to `val`; else the key's line, else
 * the map's. */
int fg_ymap_value_line(const fg_ynode_t *map, const char *key, const char *val,
		       unsigned nth);

/* ---- schema (schema.c) and the engine applying it (apply.c) ---- */

enum fg_type {
	FG_T_STR,       /* char *; `check` validates the text */
	FG_T_INT,       /* uint32_t / unsigned in [min, max] */
	FG_T_TIME,      /* uint32_t ms, or seconds with FG_F_SECONDS */
	FG_T_SIZE,      /* uint32_t in [min, max] */
	FG_T_BOOL,      /* bool */
	FG_T_FLOAT,     /* double in [fmin, fmax] or (fmin, fmax] */
	FG_T_ENUM,      /* int index into `enums`; char * with FG_F_ENUM_STR */
	FG_T_ADDR,      /* fg_conf_addr_t */
	FG_T_PREFIX,    /* fg_conf_prefix_t */
	FG_T_RECORD,    /* fg_conf_record_t (only with FG_F_MULTI) */
	FG_T_MAP,       /* nested map; offsets of `sub` stay relative to the
			   same struct as this item's */
	FG_T_LIST,      /* list of maps: array of elem_size at off, count at
			   cnt_off; `sub` offsets are relative to one entry */
};

enum fg_flag {
	FG_F_REQ       = 1 << 0,  /* must be present (MULTI: non-empty too) */
	FG_F_MULTI     = 1 << 1,  /* a scalar or a list of scalars: array at
				     off, count (size_t) at cnt_off */
	FG_F_AUTO      = 1 << 2,  /* INT: "auto" means 0 */
	FG_F_SECONDS   = 1 << 3,  /* TIME: stored in seconds, min/max too */
	FG_F_WHOLE_SEC = 1 << 4,  /* TIME: must be a whole number of seconds */
	FG_F_NOPORT    = 1 << 5,  /* ADDR: a port is an error */
	FG_F_ENUM_STR  = 1 << 6,  /* ENUM: store a copy of the text */
	FG_F_SETFLAG   = 1 << 7,  /* MAP: set bool at set_off when present */
};

typedef struct fg_item {
	const char *name;
	enum fg_type type;
	unsigned flags;
	size_t off;
	size_t cnt_off;
	const char *def;          /* default, written as in the file */
	uint64_t min, max;        /* INT, SIZE, TIME */
	double fmin, fmax;        /* FLOAT */
	bool fmin_open;
	const char *const *enums; /* ENUM: NULL-terminated */
	uint16_t port;            /* ADDR: port when none is written */
	int (*check)(const char *s, char *err, size_t errlen);  /* STR */
	const struct fg_item *sub;   /* MAP, LIST: ends with name == NULL */
	size_t elem_size;         /* LIST */
	size_t set_off;           /* MAP with FG_F_SETFLAG */
	const char *label_key;    /* LIST: key that names an entry in messages */
	/* LIST: checks inside one entry once all its keys are applied */
	void (*post)(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		     const char *label);
} fg_item_t;

/* The root of the schema: the top-level sections. */
extern const fg_item_t fg_conf_schema[];

/* The keys of one `pool:` entry (id, prefix) into an fg_conf_pool_t: the
 * shared pool definitions fluxdecoy reads too (conf/include.h). */
extern const fg_item_t fg_conf_pool_items[];

/* Fill `conf` from `root` (may be NULL). Returns 0 (even when problems were
 * reported: see ld->rc) or -ENOMEM. */
int fg_schema_apply(fg_loader_t *ld, const fg_ynode_t *root, fg_conf_t *conf);

/* The same for another program's schema (fluxdecoy): `items` is its root
 * table and `base` the struct its offsets refer to. */
int fg_schema_apply_items(fg_loader_t *ld, const fg_item_t *items,
			  const fg_ynode_t *root, void *base);

/* Release everything the schema stored in `base` (not base itself). */
void fg_schema_free(const fg_item_t *items, void *base);

/* YAML map of entry `i` of the list section `name` (or NULL). */
const fg_ynode_t *fg_loader_entry(const fg_loader_t *ld, const char *name, size_t i);

#endif
