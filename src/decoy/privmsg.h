/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Messages between fluxdecoy's serving part and its privileged part
 * ([priv]), one per SOCK_SEQPACKET datagram, integers in network order:
 *
 *   request  "FDQ1" u32 kind, u32 persona, u32 slot   (16 bytes)
 *            kind 1 counters (persona, slot 0), 2 spawn, 3 stop: the
 *            backend of template slot `slot` of persona `persona`;
 *            4 deal: the shuffle's deal of epoch `persona` (low 32 bits),
 *            forced shuffle `slot`, for the closed UDP ports of the
 *            shuffled pools (fluxdecoy/contain.h)
 *   reply    "FDR1" u32 n, n x (u64 dropped, u64 replied, u64 reflected)
 *            to counters;
 *            "FDS1" u32 kind, u32 persona, u32 slot, i32 status (0 or
 *            -errno) to spawn, stop and deal
 *
 * [priv] answers only requests that parse exactly (length, magic, a known
 * kind) and checks persona and slot against its own config (a deal:
 * against its own clock and key); otherwise it
 * says why, counts it and answers nothing: it trusts nothing the serving
 * part sends. The serving part checks that a counters reply has exactly
 * one entry per persona.
 *
 * Pure: no I/O, no globals.
 */
#ifndef FG_DECOY_PRIVMSG_H
#define FG_DECOY_PRIVMSG_H

#include <stddef.h>
#include <stdint.h>

#define FD_PRIV_MAX 65536
#define FD_PRIV_REQ_LEN 16
#define FD_PRIV_SPAWN_LEN 24
#define FD_PRIV_MAX_PERSONAS ((FD_PRIV_MAX - 8) / 24)

enum fd_priv_kind { FD_PRIV_COUNTERS = 1, FD_PRIV_SPAWN = 2, FD_PRIV_STOP = 3,
		    FD_PRIV_DEAL = 4 };

typedef struct fd_contain_counts {
	uint64_t contained, replied, reflected;
} fd_contain_counts_t;

typedef struct fd_priv_req {
	uint32_t kind, persona, slot;
} fd_priv_req_t;

/* A request (FD_PRIV_REQ_LEN bytes; cap at least that). Returns its
 * length, 0 when cap is too small. */
size_t fd_priv_build_request(const fd_priv_req_t *r, uint8_t *out, size_t cap);

/* Parse a request; 0 or a negative error with a message in err. The
 * caller checks persona and slot against its config. */
int fd_priv_parse_request(const uint8_t *buf, size_t len, fd_priv_req_t *r,
			  char *err, size_t errlen);

/* The counters reply for n personas. Returns its length or -ENOSPC. */
int fd_priv_build_counts(const fd_contain_counts_t *c, size_t n, uint8_t *out, size_t cap);

/* Parse a counters reply that must hold exactly n entries. */
int fd_priv_parse_counts(const uint8_t *buf, size_t len, fd_contain_counts_t *out, size_t n);

/* The reply to spawn/stop (FD_PRIV_SPAWN_LEN bytes). */
size_t fd_priv_build_spawned(const fd_priv_req_t *r, int32_t status, uint8_t *out, size_t cap);
int fd_priv_parse_spawned(const uint8_t *buf, size_t len, fd_priv_req_t *r, int32_t *status);

#endif
