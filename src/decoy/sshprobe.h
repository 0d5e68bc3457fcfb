/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The client side `fluxdecoy clone` uses to read what a real sshd shows
 * only inside the encrypted transport: the method list of its
 * USERAUTH_FAILURE to "none" (the persona's ssh-auth-methods). One key
 * exchange (curve25519-sha256, the server's host key taken unverified:
 * nothing is trusted or sent but the "none" request), NEWKEYS, the
 * ssh-userauth service, one "none" request; no password or key is ever
 * offered. Pure apart from OpenSSL: bytes in, bytes out.
 *
 * Ownership: the probe owns its state; fd_ssh_probe_free() releases it.
 */
#ifndef FG_DECOY_SSHPROBE_H
#define FG_DECOY_SSHPROBE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fd_ssh_probe fd_ssh_probe_t;

/* After the version lines and the server's KEXINIT (payload `is`) were
 * exchanged. -ENOTSUP when the server offers no curve25519-sha256 or none
 * of the probe's ciphers. */
int fd_ssh_probe_new(const char *client_version, const char *server_version,
		     const uint8_t *is, size_t islen, const char *user,
		     fd_ssh_probe_t **out);
void fd_ssh_probe_free(fd_ssh_probe_t *p);

/* The first bytes to send: our KEXINIT and the key share. Length or
 * -FG_ESPACE. */
int fd_ssh_probe_start(fd_ssh_probe_t *p, uint8_t *out, size_t cap);

/* Server bytes in[0..len) (*used consumed); bytes to send go to out
 * (*outlen). Returns 0 (more input needed), 1 (the method list is known),
 * or a negative code (-FG_EMALF, -FG_EAUTH, -ENOTSUP: "none" succeeded). */
int fd_ssh_probe_input(fd_ssh_probe_t *p, const uint8_t *in, size_t len, size_t *used,
		       uint8_t *out, size_t cap, size_t *outlen);

/* The USERAUTH_FAILURE name-list, once input returned 1. */
const char *fd_ssh_probe_methods(const fd_ssh_probe_t *p);

#endif
