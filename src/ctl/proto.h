/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Control protocol codec (pure): the framing between fluxctl and fluxgated
 * over the UNIX control socket. Written down in doc/control-protocol.md.
 *
 *   header (12 octets, big-endian)
 *     0  u32 magic    0x464C5843 ("FLXC")
 *     4  u8  version  FG_CTL_VERSION
 *     5  u8  type     1 = request, 2 = response
 *     6  u16 code     request: command id; response: 0 or an error code
 *     8  u32 length   payload octets
 *   request payload:  arguments, each a NUL-terminated string
 *   response payload: one JSON object (UTF-8)
 *
 * Ownership: decoders borrow the caller's buffer; decoded argument pointers
 * point into it.
 */
#ifndef FG_CTL_PROTO_H
#define FG_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define FG_CTL_MAGIC        0x464C5843u
#define FG_CTL_VERSION      1
#define FG_CTL_HDRLEN       12
#define FG_CTL_REQ_MAX      4096            /* request payload limit */
#define FG_CTL_RESP_MAX     (16u << 20)     /* response payload limit */
#define FG_CTL_MAX_ARGS     16

enum fg_ctl_type { FG_CTL_REQUEST = 1, FG_CTL_RESPONSE = 2 };

enum fg_ctl_cmd {
	FG_CTL_STATUS = 1,
	FG_CTL_GRANTS,
	FG_CTL_QUARANTINE,
	FG_CTL_RELEASE,
	FG_CTL_ROTATE,
	FG_CTL_RELOAD,
	FG_CTL_STATS,
	FG_CTL_CMD_MAX
};

typedef struct fg_ctl_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t code;
	uint32_t length;
} fg_ctl_hdr_t;

/* Name of a command ("status"...), NULL when unknown. */
const char *fg_ctl_cmd_name(unsigned cmd);

/* Write a header into out[FG_CTL_HDRLEN]. */
void fg_ctl_put_hdr(uint8_t *out, uint8_t type, uint16_t code, uint32_t length);

/* Parse and check a header: magic, version, type (`want_type`), and length
 * against the limit of that type. Returns 0 or -FG_EMALF / -FG_EVERSION /
 * -EMSGSIZE; *h is filled whenever the magic matched. */
int fg_ctl_parse_hdr(const uint8_t *buf, size_t len, uint8_t want_type, fg_ctl_hdr_t *h);

/* Encode a full request into out (header + args). Returns total length or a
 * negative error (-EMSGSIZE, -E2BIG). */
int fg_ctl_encode_request(uint8_t *out, size_t cap, unsigned cmd,
			  const char *const *args, unsigned nargs);

/* Split a request payload into its arguments (pointers into `payload`).
 * Every argument must be NUL-terminated and there must be at most
 * FG_CTL_MAX_ARGS. Returns the count or -FG_EMALF / -E2BIG. */
int fg_ctl_decode_args(const uint8_t *payload, size_t len, const char **args);

#endif
