/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/include.h"
#include "conf/keyfiles.h"
#include "conf/scalar.h"

struct read_diag {
	fg_loader_t *ld;
	int line;
};

/* fg_conf_read_file's message, at the include's line of the main file */
static void on_read_diag(void *ctx, const char *file, int line, const char *msg)
{
	struct read_diag *rd = ctx;

	(void)line;
	fg_diag(rd->ld, rd->line, "include %s: %s", file, msg);
}

static int reserve(fg_ynode_t *n, size_t need)
{
	if (need <= n->cap)
		return 0;
	fg_ynode_t **k = realloc(n->kids, need * sizeof(*k));
	if (!k)
		return -ENOMEM;
	n->kids = k;
	n->cap = need;
	return 0;
}

/* Append the included `pool:` list (inc->kids[ki + 1]) to the root's,
 * creating the root's when it has none; the moved nodes leave `inc`. */
static int merge_pool(fg_ynode_t *root, fg_ynode_t *inc, size_t ki)
{
	fg_ynode_t *from = inc->kids[ki + 1];

	for (size_t i = 0; i + 1 < root->nkids; i += 2) {
		fg_ynode_t *k = root->kids[i], *v = root->kids[i + 1];
		if (k->kind != FG_Y_SCALAR || strcmp(k->val, "pool") != 0)
			continue;
		if (v->kind == FG_Y_SCALAR && v->null) {
			/* "pool:" with nothing under it: take the list */
			root->kids[i + 1] = from;
			inc->kids[ki + 1] = v;
			return 0;
		}
		if (v->kind != FG_Y_SEQ)
			return 0;     /* the schema reports the main file's value */
		if (reserve(v, v->nkids + from->nkids) < 0)
			return -ENOMEM;
		memcpy(v->kids + v->nkids, from->kids, from->nkids * sizeof(*v->kids));
		v->nkids += from->nkids;
		from->nkids = 0;
		return 0;
	}
	if (reserve(root, root->nkids + 2) < 0)
		return -ENOMEM;
	root->kids[root->nkids++] = inc->kids[ki];
	root->kids[root->nkids++] = from;
	/* the pair now belongs to root: drop it from inc */
	memmove(inc->kids + ki, inc->kids + ki + 2, (inc->nkids - ki - 2) * sizeof(*inc->kids));
	inc->nkids -= 2;
	return 0;
}

static int include_one(fg_loader_t *ld, fg_ynode_t *root, const fg_ynode_t *pv,
		       fg_conf_reader_fn reader)
{
	char err[256];
	const char *path = pv->val;

	if (pv->kind != FG_Y_SCALAR || pv->null) {
		fg_diag(ld, pv->line, "include: expected a file name");
		return 0;
	}
	if (fg_check_abspath(path, err, sizeof(err)) < 0) {
		fg_diag(ld, pv->line, "include: %s", err);
		return 0;
	}
	if (ld->line_base != 0) {
		fg_diag(ld, pv->line, "include: an included file cannot include "
			"another (%s)", path);
		return 0;
	}
	if (!reader) {
		fg_diag(ld, pv->line, "include %s: not available when loading a "
			"buffer", path);
		return 0;
	}
	if (ld->ninc == FG_CONF_MAX_INCLUDES) {
		fg_diag(ld, pv->line, "include: at most %d files", FG_CONF_MAX_INCLUDES);
		return 0;
	}
	for (unsigned i = 0; i < ld->ninc; i++)
		if (strcmp(ld->inc_file[i], path) == 0) {
			fg_diag(ld, pv->line, "include %s: already included", path);
			return 0;
		}
	char *buf = NULL;
	size_t len = 0;
	int rc;
	/* a reload under privilege separation: the text [priv] read with its
	 * own configuration, so a file only root can open still loads */
	const fg_keyfile_t *kf = fg_keyfiles_find(ld->kf, FG_KF_INCLUDE, path);
	if (kf) {
		if (!(buf = malloc(kf->len + 1)))
			return -ENOMEM;
		memcpy(buf, kf->data, kf->len + 1);
		len = kf->len;
	} else {
		struct read_diag rd = { ld, pv->line };
		rc = reader(path, &buf, &len, on_read_diag, &rd);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return 0;
	}
	if (len > FG_CONF_MAX_INCLUDE_SIZE) {
		fg_diag(ld, pv->line, "include %s: %zu bytes (at most %u)", path, len,
			FG_CONF_MAX_INCLUDE_SIZE);
		free(buf);
		return 0;
	}
	ld->inc_file[ld->ninc] = strdup(path);
	if (!ld->inc_file[ld->ninc]) {
		free(buf);
		return -ENOMEM;
	}
	ld->ninc++;
	fg_ynode_t *inc = NULL;
	ld->line_base = (int)ld->ninc << FG_CONF_INC_SHIFT;
	rc = fg_ytree_build(ld, buf, len, &inc);
	free(buf);
	if (rc == -ENOMEM)
		goto out;
	rc = 0;
	if (!inc)
		goto out;      /* an empty file defines nothing */
	if (inc->kind != FG_Y_MAP) {
		fg_diag(ld, inc->line, "an included file holds a map with pool: only");
		goto out;
	}
	for (size_t i = 0; i + 1 < inc->nkids && rc == 0;) {
		const fg_ynode_t *k = inc->kids[i];
		if (k->kind == FG_Y_SCALAR && strcmp(k->val, "pool") == 0) {
			size_t before = inc->nkids;
			rc = merge_pool(root, inc, i);
			if (inc->nkids == before)
				i += 2;
			continue;
		}
		if (k->kind == FG_Y_SCALAR && strcmp(k->val, "include") == 0)
			fg_diag(ld, k->line, "include: an included file cannot "
				"include another");
		else
			fg_diag(ld, k->line, "'%s': an included file may hold only "
				"shared pool definitions (pool:)",
				k->kind == FG_Y_SCALAR ? k->val : "?");
		i += 2;
	}
out:
	ld->line_base = 0;
	fg_ytree_free(inc);
	return rc;
}

int fg_include_expand(fg_loader_t *ld, fg_ynode_t *root, fg_conf_reader_fn reader)
{
	const fg_ynode_t *v = fg_ymap_get(root, "include");

	if (!v || (v->kind == FG_Y_SCALAR && v->null))
		return 0;
	if (v->kind == FG_Y_SCALAR)
		return include_one(ld, root, v, reader);
	if (v->kind != FG_Y_SEQ)
		return 0;    /* the schema reports the wrong type */
	/* root may grow while we walk: v's node stays where it is */
	size_t n = v->nkids;
	for (size_t i = 0; i < n; i++) {
		int rc = include_one(ld, root, v->kids[i], reader);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void fg_include_free(fg_loader_t *ld)
{
	for (unsigned i = 0; i < ld->ninc; i++)
		free(ld->inc_file[i]);
	ld->ninc = 0;
}
