/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One YAML document checked against a schema table of src/conf (the loader
 * fluxgated uses), for fluxdecoy's own files: its config and its persona
 * files. Pure: parses a buffer, no I/O, no globals; file reading is
 * fg_conf_read_file() (conf/conf.h).
 *
 * Diagnostics go through `diag` as "file:line: message", sorted by line,
 * exactly as fluxgated --check reports them.
 */
#ifndef FG_DECOY_YLOAD_H
#define FG_DECOY_YLOAD_H

#include <stddef.h>

#include "conf/conf.h"
#include "conf/include.h"
#include "conf/schema.h"

/* Cross-item checks run after the schema was applied (also when some items
 * were refused: fields of refused items are NULL/0), while the loader still
 * knows the line of every entry (fg_loader_entry()). */
typedef void (*fd_check_fn)(fg_loader_t *ld, void *base);

/* Apply `items` to `base` (zeroed by the caller). Returns 0, -FG_ESYNTAX,
 * -FG_ESCHEMA (reported) or -ENOMEM. On failure `base` may hold partial
 * values: release them with fg_schema_free(items, base) in any case. */
int fd_yaml_load(const char *name, const char *buf, size_t len,
		 const fg_item_t *items, void *base, fd_check_fn check,
		 fg_conf_diag_fn diag, void *ctx);

/* The same, expanding a top-level `include:` of shared pool definitions
 * (conf/include.h) read through `reader` first. */
int fd_yaml_load_inc(const char *name, const char *buf, size_t len,
		     const fg_item_t *items, void *base, fd_check_fn check,
		     fg_conf_reader_fn reader, fg_conf_diag_fn diag, void *ctx);

#endif
