/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `include:` for shared pool definitions. fluxgated's config and
 * fluxdecoy's both accept a top-level
 *
 *   include: /etc/fluxgate/pools.conf      # or a list of absolute paths
 *
 * naming files that hold only a `pool:` list (id, prefix), so that the
 * gateway and the decoy bed read the same pools from one file. The entries
 * of each included `pool:` are appended to the including file's own, in
 * order, before the schema is applied: every check (types, duplicate ids,
 * overlaps, hosts inside a pool) sees one list.
 *
 * Lines: the nodes of included file k carry line + (k + 1) * 2^25, and the
 * loader's messages decode them back (fg_diag_flush), so `--check` of
 * either program reports "pools.conf:3: ..." for a mistake made there and
 * "fluxgate.conf:12: ..." for one made in the main file. An included file
 * may not include again, and may hold nothing but `pool:`.
 *
 * Ownership: the expanded nodes become part of `root`; the included file
 * names are copied into the loader (freed by fg_include_free()). Reading
 * goes through `reader` (fg_conf_read_file, or NULL when loading a buffer:
 * an include is then an error).
 */
#ifndef FG_CONF_INCLUDE_H
#define FG_CONF_INCLUDE_H

#include "conf/schema.h"

typedef int (*fg_conf_reader_fn)(const char *path, char **buf, size_t *len,
				 fg_conf_diag_fn diag, void *ctx);

/* Expand the `include` key of `root` (a map; NULL is fine). Returns 0
 * (problems are reported through ld) or -ENOMEM. */
int fg_include_expand(fg_loader_t *ld, fg_ynode_t *root, fg_conf_reader_fn reader);

/* Release the file names the loader keeps for its messages. */
void fg_include_free(fg_loader_t *ld);

#endif
