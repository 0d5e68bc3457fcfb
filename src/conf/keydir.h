/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNSSEC key directory (layer 2: reads files): finds a zone's BIND key
 * files K<zone>.+<alg>+<tag>.key / .private in a directory, like
 * dnssec-keygen and Knot's keymgr write them, and parses them with
 * dns/dnssec/key.h. A .private file readable by group or others is
 * refused: the private keys are for the privileged process only.
 *
 * Ownership: the keys in out[] belong to the caller (fg_dnskey_clear()).
 */
#ifndef FG_CONF_KEYDIR_H
#define FG_CONF_KEYDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "dns/dnssec/key.h"

/* When a .private file cannot be opened for lack of permission (a reload
 * in the unprivileged process), `fallback` may complete the key k (public
 * half read) from the text the [priv] process read at dir/pname, or from
 * one loaded earlier (same DNSKEY rdata): it returns 1 when it parsed the
 * .private text into k (its timing lines apply over the .key's, as when
 * the file is read), 0 when it copied a running key (the .key's timing
 * comments apply), negative when it has neither. */
typedef int (*fg_keydir_fallback_fn)(void *ctx, const char *dir, const char *pname,
				     fg_dnskey_t *k);

/* Read the keys of `zone` (presentation form) and algorithm `alg` (0 =
 * any). With `with_private` the .private halves are read too (fallback
 * may be NULL). When `kf` (may be NULL) holds FG_KF_DNSKEY files of `dir`,
 * the [priv] process read the directory for this reload: its files stand
 * in for the directory (which this process may not be allowed to list),
 * the .private halves then coming through `fallback`. Returns the number
 * of keys stored in out (at most max), or a negative error with a message
 * in err naming the file. */
struct fg_keyfiles;
int fg_keydir_load(const char *dir, const char *zone, int alg, bool with_private,
		   const struct fg_keyfiles *kf, fg_keydir_fallback_fn fallback,
		   void *fallback_ctx, fg_dnskey_t *out, unsigned max, char *err, size_t errlen);

/* For each key file of the zone (as fg_keydir_load finds them), the text
 * of its .key file (secret false) and of its .private file (secret true,
 * mode checked; a key without one has none), for the [priv] process to
 * hand over for a reload. fn returns 0 to go on; a secret text is wiped
 * after the call. Returns 0 or the first error (err names the file). */
typedef int (*fg_keydir_text_fn)(void *ctx, const char *name, const char *text, size_t len,
				 bool secret);
int fg_keydir_files_each(const char *dir, const char *zone, int alg, fg_keydir_text_fn fn,
			 void *ctx, char *err, size_t errlen);

/* Write a new key pair as dir/K<zone>.+<alg>+<tag>.{key,private} (the
 * .private with mode 0600, never overwriting), signing from `activate`
 * (0: now). The base name goes to name (cap namelen). */
int fg_keydir_write(const char *dir, const fg_dnskey_t *k, int64_t now, int64_t activate,
		    char *name, size_t namelen, char *err, size_t errlen);

#endif
