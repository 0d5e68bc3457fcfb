/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The controller <-> agent command frames (distributed mode), carried
 * inside TLS 1.3 (dist/tls.h): TLS authenticates both ends and tears the
 * connection down on a replayed, reordered or altered record; these frames
 * only say what to do. Compact binary, big-endian:
 *
 *   header (16 octets): magic "FX" (2), version (1), type (1),
 *                       payload length (4), sequence number (8)
 *   payload: by type, below
 *
 *   HELLO      C->A  epoch (8), id length (1), id            seq 0
 *   WELCOME    A->C  epoch (8), last seq (8), id length (1), id
 *                    (the epoch and last sequence number the agent applied
 *                    of this controller; epoch 0: it knows none)
 *   GRANT      C->A  count (2), count x grant (57)            seq > 0
 *   REVOKE     C->A  the same: delete these grants
 *   QUARANTINE C->A  family (1), source (16), timeout ms (4)
 *   RELEASE    C->A  family (1), source (16)
 *   PING       C->A  empty                                    seq 0
 *   ACK        A->C  status (4, negative fg error or 0), text length (1), text
 *                    (seq: the command's; 0 answers a PING)
 *   SUMREQ     C->A  salt (16)                                seq 0
 *   SUMS       A->C  generation (8), flags (1), then per set (IPv4, IPv6):
 *                    grant count (4), FG_DIST_BUCKETS x bucket digest (8)
 *                    (flag 1, "shared": another controller of the agent
 *                    may grant in this share: never revoke on its word) seq 0
 *   KEYREQ     C->A  salt (16), per set a bitmap of buckets (8)      seq 0
 *   KEYS       A->C  last (1: 0 or 1), count (2, 0-63), count x grant
 *                    (its timeout: what is left of it)               seq 0
 *
 * SUMREQ to KEYS are reconciliation (dist/digest.h): the digests of the
 * agent's grants of this controller's share, then the grants of the
 * buckets that differ, in as many KEYS frames as it takes, the last one
 * flagged. The generation is the agent's count of commands of this
 * controller it applied (the last sequence number of the epoch it knows).
 *
 *   grant: family (1), scope (1), client prefix length (1), client (16),
 *          address (16), backend (16), backend port (2), timeout ms (4)
 *
 * Sequence numbers count a controller's commands within its epoch (a
 * random number drawn at its start); an agent applies a command once, in
 * order, and ACKs a repeat without applying it again (idempotent replay).
 *
 * Pure: no I/O, no globals; decoders read through bounds-checked cursors
 * (common/wire.h) and say why they refuse. Ownership: callers own every
 * buffer; decoded strings are copied into the caller's structs.
 */
#ifndef FG_DIST_FRAME_H
#define FG_DIST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"
#include "dist/digest.h"

#define FG_DIST_MAGIC     0x4658u  /* "FX" */
#define FG_DIST_VERSION   1
#define FG_DIST_HDR_LEN   16
#define FG_DIST_GRANT_LEN 57
#define FG_DIST_MAX_GRANTS 64
#define FG_DIST_ID_MAX    64
#define FG_DIST_TEXT_MAX  200
#define FG_DIST_SUMS_SHARED 0x01
#define FG_DIST_KEYS_MAX  63   /* grants per KEYS frame (it fits FG_DIST_MAX_PAYLOAD) */
/* the largest payload of any type: a full GRANT */
#define FG_DIST_MAX_PAYLOAD (2 + FG_DIST_MAX_GRANTS * FG_DIST_GRANT_LEN)
#define FG_DIST_MAX_FRAME (FG_DIST_HDR_LEN + FG_DIST_MAX_PAYLOAD)

enum fg_dist_type {
	FG_DIST_HELLO = 1,
	FG_DIST_WELCOME,
	FG_DIST_GRANT,
	FG_DIST_REVOKE,
	FG_DIST_QUARANTINE,
	FG_DIST_RELEASE,
	FG_DIST_PING,
	FG_DIST_ACK,
	FG_DIST_SUMREQ,
	FG_DIST_SUMS,
	FG_DIST_KEYREQ,
	FG_DIST_KEYS,
	FG_DIST_TYPE_MAX = FG_DIST_KEYS,
};

typedef struct fg_dist_hdr {
	uint8_t type;
	uint32_t len;
	uint64_t seq;
} fg_dist_hdr_t;

/* A decoded frame (the payload fields of its type are set). */
typedef struct fg_dist_msg {
	fg_dist_hdr_t h;
	uint64_t epoch, last_seq;               /* HELLO, WELCOME */
	char id[FG_DIST_ID_MAX + 1];            /* HELLO, WELCOME */
	uint16_t ngrants;                       /* GRANT, REVOKE, KEYS */
	fg_grant_t grants[FG_DIST_MAX_GRANTS];
	uint8_t family;                         /* QUARANTINE, RELEASE */
	uint8_t src[16];
	uint32_t timeout_ms;                    /* QUARANTINE */
	int32_t status;                         /* ACK */
	char text[FG_DIST_TEXT_MAX + 1];        /* ACK */
	uint8_t salt[FG_DIST_SALT_LEN];         /* SUMREQ, KEYREQ */
	uint64_t generation;                    /* SUMS */
	uint8_t flags;                          /* SUMS: FG_DIST_SUMS_SHARED */
	fg_dist_digest_t digest;                /* SUMS */
	uint64_t want[FG_DIST_NSETS];           /* KEYREQ */
	uint8_t last;                           /* KEYS */
} fg_dist_msg_t;

/* Parse the header in buf[len >= FG_DIST_HDR_LEN]: magic, version, a known
 * type and a payload length within FG_DIST_MAX_PAYLOAD. 0 or a negative
 * error with the reason in err. */
int fg_dist_hdr_decode(const uint8_t *buf, size_t len, fg_dist_hdr_t *h,
		       char *err, size_t errlen);

/* Parse one whole frame (header + exactly h.len payload octets). Checks
 * every field's range (families, scopes, prefix lengths, id characters,
 * counts against the length). 0 or a negative error with the reason. */
int fg_dist_decode(const uint8_t *buf, size_t len, fg_dist_msg_t *m, char *err, size_t errlen);

/* Encode `m` (its h.type and h.seq, and the fields of the type) into
 * buf[cap]. Returns the frame length, or -FG_ESPACE / -EINVAL. */
int fg_dist_encode(const fg_dist_msg_t *m, uint8_t *buf, size_t cap);

/* Name of a frame type for logs ("GRANT"), "?" when unknown. */
const char *fg_dist_type_name(unsigned type);

#endif
