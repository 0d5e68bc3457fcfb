/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SSH host keys of one persona: the files of `ssh-host-keys` grouped
 * by type (the i-th key of each type forms key set i), plus a key made at
 * start for every type the persona's host-key-algorithms need and no file
 * gives (logged: such a key changes at every restart), except RSA, too
 * slow to make at start (logged: RSA-only clients are then refused). The active set is
 * (epoch + manual rotations) modulo the number of keys of each type, the
 * epoch being wall-clock time / `ssh-key-rotation` (0: no epochs).
 * Never the real server's keys: the clone captures none (DESIR's migration
 * residue).
 *
 * Ownership: the set owns its keys; sessions take their own references,
 * so a reload may free a set while flows that used it go on.
 */
#ifndef FG_FLUXDECOY_HOSTKEYS_H
#define FG_FLUXDECOY_HOSTKEYS_H

#include <openssl/evp.h>
#include <stdint.h>

#include "decoy/dconf.h"
#include "decoy/sshkey.h"

typedef struct fd_hostkeys {
	EVP_PKEY **keys[FD_SSHK_NTYPES];
	size_t n[FD_SSHK_NTYPES];
	unsigned generated;           /* how many were made at start */
} fd_hostkeys_t;

/* Load the persona's key files and fill in the missing types `sv` needs.
 * 0, or a negative code with "FILE: reason" in err. */
int fd_hostkeys_load(const fd_conf_persona_t *cp, const fd_service_t *sv,
		     fd_hostkeys_t *hk, char *err, size_t errlen);
void fd_hostkeys_free(fd_hostkeys_t *hk);

/* Key set number `set` (taken modulo each type's count) into out. */
void fd_hostkeys_pick(const fd_hostkeys_t *hk, uint64_t set,
		      EVP_PKEY *out[FD_SSHK_NTYPES]);

#endif
