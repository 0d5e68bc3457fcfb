/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The cleartext start of SSH (RFC 4253): the version line and the binary
 * packet carrying SSH_MSG_KEXINIT, built and parsed with bounds-checked
 * cursors. Pure: no I/O, no globals.
 *
 * Ownership: fd_ssh_kexinit_parse() fills lists whose strings the caller
 * releases with fd_strlist_free(); the builders write into caller buffers.
 */
#ifndef FG_DECOY_SSHWIRE_H
#define FG_DECOY_SSHWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.h"
#include "decoy/persona.h"

#define FD_SSH_MSG_KEXINIT 20
/* Largest cleartext packet accepted (RFC 4253, 6.1 asks for 35000). */
#define FD_SSH_MAX_PACKET 35000

/* Find the peer's version line in buf[0..len). With `skip_other_lines`
 * (reading a server) lines before it that do not start with "SSH-" are
 * skipped (RFC 4253, 4.2); otherwise (reading a client, as sshd does) such
 * a line is -FG_EMALF. On success the line without
 * CR LF is copied NUL-terminated into out (at most 255 bytes with NUL), and
 * the bytes consumed are returned; -EAGAIN when no full line is there yet;
 * -FG_EMALF for a line longer than 255 bytes. */
int fd_ssh_version_parse(const uint8_t *buf, size_t len, int skip_other_lines,
			 char *out, size_t outlen);

/* One cleartext binary packet at buf: *payload / *plen point into buf.
 * Returns the packet's total size, -EAGAIN when incomplete, -FG_EMALF for
 * an impossible length or padding. */
int fd_ssh_packet_parse(const uint8_t *buf, size_t len, const uint8_t **payload,
			size_t *plen);

/* Frame `payload` as a cleartext packet (padding to 8, at least 4 bytes,
 * padding bytes taken from `pad`, which must hold 255 bytes). Returns the
 * length written or -FG_ESPACE. */
int fd_ssh_packet_build(const uint8_t *payload, size_t plen, const uint8_t *pad,
			uint8_t *out, size_t outlen);

/* SSH_MSG_KEXINIT payload from the ten lists and a 16-byte cookie. */
int fd_ssh_kexinit_build(const fd_strlist_t lists[FD_SSH_NLISTS],
			 const uint8_t cookie[16], uint8_t *out, size_t outlen);

/* Parse a KEXINIT payload into ten lists (each name a NUL-terminated heap
 * string). Returns 0, -FG_EMALF / -FG_ETRUNC, -ENOMEM. On failure nothing
 * is left allocated. */
int fd_ssh_kexinit_parse(const uint8_t *payload, size_t plen,
			 fd_strlist_t lists[FD_SSH_NLISTS]);

/* SSH data types (RFC 4251, 5) on a wire cursor (sticky errors). */
/* string: *n gets its length; NULL (and w->err) when it does not fit. */
const uint8_t *fd_ssh_rd_str(fg_wire_t *w, size_t *n);
void fd_ssh_wr_str(fg_wire_t *w, const void *p, size_t n);
void fd_ssh_wr_cstr(fg_wire_t *w, const char *s);
/* mpint of the unsigned big-endian magnitude be[0..n) (leading zeros
 * dropped, a zero octet added when the top bit is set). */
void fd_ssh_wr_mpint(fg_wire_t *w, const uint8_t *be, size_t n);
/* Whether string p[0..n) is exactly the C string s. */
int fd_ssh_str_is(const uint8_t *p, size_t n, const char *s);

/* Comma-joined list into out (cut, NUL-terminated, when too long). */
void fd_strlist_join(const fd_strlist_t *l, char *out, size_t outlen);
void fd_strlist_free(fd_strlist_t *l);

#endif
