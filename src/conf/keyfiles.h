/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Root-only key material for a reload (pure: no I/O, no globals). The
 * [priv] process reads the files its own copy of the configuration names
 * (daemon/privsep_keys.h) and hands their contents over; the unprivileged
 * loader then takes them instead of files it cannot open:
 *   FG_KF_TSIG    key.secret-file: the base64 secret as fg_secretfile_read()
 *                 parsed it (mode checked), with the file's identity;
 *   FG_KF_DNSSEC  a zone's K<zone>.+AAA+TTTTT.private file's text (mode
 *                 checked), under "DIR/NAME" with DIR as dnssec.keys says;
 *   FG_KF_DNSKEY  the public .key file beside it, under "DIR/NAME" too: a
 *                 key directory only root can list is read through these;
 *   FG_KF_INCLUDE an `include:` file's text (shared pools, conf/include.h),
 *                 under the path the configuration gives.
 * Paths are the configuration's strings, compared exactly. The set is what
 * [priv] read with its own copy of the configuration, so the unprivileged
 * reload sees the same files whatever their modes.
 *
 * Wire form (privsep channel, host byte order: one binary on both sides):
 * a sequence of records { u16 kind, u16 pathlen, u32 datalen, the file id
 * (fg_secretfile_id_t fields: 5 x u64/i64, u8 set), path, data }, bounded
 * below. Decoding checks every length and kind, and refuses NULs in paths.
 *
 * Ownership: the set owns copies of everything; fg_keyfiles_free()
 * zeroizes them. Encoded buffers are the caller's to zeroize and free.
 */
#ifndef FG_CONF_KEYFILES_H
#define FG_CONF_KEYFILES_H

#include <stddef.h>
#include <stdint.h>

#include "conf/secretfile.h"

enum fg_keyfile_kind { FG_KF_TSIG = 1, FG_KF_DNSSEC = 2, FG_KF_DNSKEY = 3, FG_KF_INCLUDE = 4 };

#define FG_KF_MAX_FILES 1024     /* 64 TSIG keys + 2 files x 8 keys x many zones */
#define FG_KF_MAX_PATH 4096
#define FG_KF_MAX_DATA 16384     /* a key file (conf/keydir.c's bound) */
#define FG_KF_MAX_INCLUDE (512u << 10)  /* an included file (FG_CONF_MAX_INCLUDE_SIZE) */
#define FG_KF_MAX_WIRE (12u << 20)      /* 16 includes + keys, under the channel's 16 MiB */

/* The largest data of a record of that kind, 0 for an unknown kind. */
size_t fg_keyfiles_max_data(uint16_t kind);

typedef struct fg_keyfile {
	uint16_t kind;
	char *path;                  /* NUL-terminated */
	uint8_t *data;               /* data[len], NUL-terminated for parsers */
	size_t len;
	fg_secretfile_id_t id;       /* FG_KF_TSIG: the file as read */
} fg_keyfile_t;

typedef struct fg_keyfiles {
	fg_keyfile_t *f;
	size_t n, cap;
} fg_keyfiles_t;

/* Copies path and data[len] in. 0, -EINVAL (kind, sizes), -E2BIG (too
 * many files), -ENOMEM. */
int fg_keyfiles_add(fg_keyfiles_t *s, uint16_t kind, const char *path, const void *data,
		    size_t len, const fg_secretfile_id_t *id);

/* The entry of that kind and path, or NULL (s may be NULL). */
const fg_keyfile_t *fg_keyfiles_find(const fg_keyfiles_t *s, uint16_t kind, const char *path);

/* Zeroizes and drops the entries from index n on (a unit that failed
 * half-way: all of its files or none). */
void fg_keyfiles_truncate(fg_keyfiles_t *s, size_t n);

/* Zeroizes and frees the entries; s itself stays (empty). */
void fg_keyfiles_clear(fg_keyfiles_t *s);

int fg_keyfiles_encode(const fg_keyfiles_t *s, uint8_t **out, size_t *len);
/* Replaces nothing: entries are added to *s. On error *s is cleared and
 * err names the record. */
int fg_keyfiles_decode(const uint8_t *buf, size_t len, fg_keyfiles_t *s, char *err,
		       size_t errlen);

#endif
