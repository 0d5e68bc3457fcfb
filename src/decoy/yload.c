/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "decoy/yload.h"

#define FD_MAX_FILE (16u << 20)

int fd_yaml_load(const char *name, const char *buf, size_t len,
		 const fg_item_t *items, void *base, fd_check_fn check,
		 fg_conf_diag_fn diag, void *ctx)
{
	fg_loader_t ld = { .file = name ? name : "<buffer>", .diag = diag, .ctx = ctx };
	fg_ynode_t *root = NULL;
	int rc;

	rc = fg_ytree_build(&ld, buf ? buf : "", buf ? len : 0, &root);
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
	if (rc == -ENOMEM && diag)
		diag(ctx, ld.file, 0, "out of memory");
	return rc;
}

int fd_read_file(const char *path, char **buf, size_t *len,
		 fg_conf_diag_fn diag, void *ctx)
{
	char msg[256];
	size_t cap = 0, n = 0;
	char *b = NULL;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		rc = -errno;
		snprintf(msg, sizeof(msg), "cannot open: %s", fg_strerror(rc));
		goto fail;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= FD_MAX_FILE) {
				rc = -EFBIG;
				snprintf(msg, sizeof(msg), "file larger than %u MiB",
					 FD_MAX_FILE >> 20);
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
	if (!b && !(b = malloc(1)))
		return -ENOMEM;
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
