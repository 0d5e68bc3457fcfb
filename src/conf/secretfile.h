/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG secret files (layer 2: reads a file): `key: [{ secret-file: PATH }]`
 * keeps a key's secret out of the configuration file, in a file only root
 * reads. It holds the base64 secret alone, or a BIND key stanza as
 * `tsig-keygen` writes it (the `secret "...";` clause is taken). A file
 * readable or writable by group or others, or not a regular file, is
 * refused.
 *
 * The daemon reads the files at start, before the privilege drop. A reload
 * made by the unprivileged DNS process cannot open them: it takes the
 * secret over from the running configuration when the file is the same one,
 * unchanged since then (fg_secretfile_id_t equal).
 *
 * Ownership: *secret is a heap string the caller zeroizes and frees.
 */
#ifndef FG_CONF_SECRETFILE_H
#define FG_CONF_SECRETFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What identifies a file's content without reading it: the inode, its
 * size and modification time (not the change time: a rename moving the
 * same file back changes that, not the content). */
typedef struct fg_secretfile_id {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
	bool set;
} fg_secretfile_id_t;

/* Pure: the base64 secret in text[len] (a bare token, or the quoted value
 * of a `secret` clause), copied NUL-terminated into out[cap]. Returns its
 * length, or -FG_ESYNTAX when there is none or more than one token. */
int fg_secretfile_parse(const char *text, size_t len, char *out, size_t cap);

/* Read `path`: checks the mode, parses the text, zeroizes the buffer.
 * Returns 0 with *secret and *id set, or a negative error (-EACCES when the
 * file cannot be opened for lack of permission) with a message in err. */
int fg_secretfile_read(const char *path, char **secret, fg_secretfile_id_t *id,
		       char *err, size_t errlen);

/* The identity of `path` now (stat, no read); negative errno on failure. */
int fg_secretfile_stat(const char *path, fg_secretfile_id_t *id);

bool fg_secretfile_same(const fg_secretfile_id_t *a, const fg_secretfile_id_t *b);

#endif
