/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "decoy/yload.h"

int fd_yaml_load(const char *name, const char *buf, size_t len,
		 const fg_item_t *items, void *base, fd_check_fn check,
		 fg_conf_diag_fn diag, void *ctx)
{
	return fd_yaml_load_inc(name, buf, len, items, base, check, NULL, diag, ctx);
}

int fd_yaml_load_inc(const char *name, const char *buf, size_t len,
		     const fg_item_t *items, void *base, fd_check_fn check,
		     fg_conf_reader_fn reader, fg_conf_diag_fn diag, void *ctx)
{
	fg_loader_t ld = { .file = name ? name : "<buffer>", .diag = diag, .ctx = ctx };
	fg_ynode_t *root = NULL;
	int rc;

	rc = fg_ytree_build(&ld, buf ? buf : "", buf ? len : 0, &root);
	if (rc == 0)
		rc = fg_include_expand(&ld, root, reader);
	if (rc == 0)
		rc = fg_schema_apply_items(&ld, items, root, base);
	if (rc == 0 && !ld.stop && check)
		check(&ld, base);
	if (rc == 0)
		rc = ld.rc;
	for (size_t i = 0; i < ld.nlists; i++)
		free(ld.lists[i].nodes);
	fg_ytree_free(root);
	fg_diag_flush(&ld);
	fg_include_free(&ld);
	if (rc == -ENOMEM && diag)
		diag(ctx, ld.file, 0, "out of memory");
	return rc;
}
