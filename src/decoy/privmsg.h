/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Messages between fluxdecoy's serving part and its privileged part
 * ([priv], the only one that keeps CAP_NET_ADMIN), one per SOCK_SEQPACKET
 * datagram, integers in network order:
 *
 *   request  "FDQ1" u32 kind             kind 1: containment counters
 *   reply    "FDR1" u32 n, n x (u64 dropped, u64 replied, u64 reflected)
 *
 * [priv] answers only requests that parse exactly (length, magic, a known
 * kind) and otherwise says why, counts it and answers nothing: it trusts
 * nothing the serving part sends. The serving part checks that a reply
 * has exactly one entry per persona.
 *
 * Pure: no I/O, no globals.
 */
#ifndef FG_DECOY_PRIVMSG_H
#define FG_DECOY_PRIVMSG_H

#include <stddef.h>
#include <stdint.h>

#define FD_PRIV_MAX 65536
#define FD_PRIV_REQ_COUNTERS 1u
#define FD_PRIV_MAX_PERSONAS ((FD_PRIV_MAX - 8) / 24)

typedef struct fd_contain_counts {
	uint64_t contained, replied, reflected;
} fd_contain_counts_t;

/* The counters request (8 bytes; cap >= 8). Returns its length. */
size_t fd_priv_build_request(uint8_t *out, size_t cap);

/* The request's kind, or a negative error with a message in err. */
int fd_priv_parse_request(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* The counters reply for n personas. Returns its length or a negative
 * error (-ENOSPC). */
int fd_priv_build_counts(const fd_contain_counts_t *c, size_t n, uint8_t *out, size_t cap);

/* Parse a counters reply that must hold exactly n entries. */
int fd_priv_parse_counts(const uint8_t *buf, size_t len, fd_contain_counts_t *out, size_t n);

#endif
