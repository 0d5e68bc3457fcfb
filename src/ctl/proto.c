/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "ctl/proto.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"

static const char *const cmd_names[FG_CTL_CMD_MAX] = {
	[FG_CTL_STATUS] = "status",
	[FG_CTL_GRANTS] = "grants",
	[FG_CTL_QUARANTINE] = "quarantine",
	[FG_CTL_RELEASE] = "release",
	[FG_CTL_ROTATE] = "rotate",
	[FG_CTL_RELOAD] = "reload",
	[FG_CTL_STATS] = "stats",
};

const char *fg_ctl_cmd_name(unsigned cmd)
{
	return cmd < FG_CTL_CMD_MAX ? cmd_names[cmd] : NULL;
}

void fg_ctl_put_hdr(uint8_t *out, uint8_t type, uint16_t code, uint32_t length)
{
	fg_wire_t w = fg_wire_init(out, FG_CTL_HDRLEN);
	fg_wire_write_u32(&w, FG_CTL_MAGIC);
	fg_wire_write_u8(&w, FG_CTL_VERSION);
	fg_wire_write_u8(&w, type);
	fg_wire_write_u16(&w, code);
	fg_wire_write_u32(&w, length);
}

int fg_ctl_parse_hdr(const uint8_t *buf, size_t len, uint8_t want_type, fg_ctl_hdr_t *h)
{
	fg_wire_t r = fg_wire_init(buf, len);
	uint32_t magic = fg_wire_read_u32(&r);
	h->version = fg_wire_read_u8(&r);
	h->type = fg_wire_read_u8(&r);
	h->code = fg_wire_read_u16(&r);
	h->length = fg_wire_read_u32(&r);
	if (r.err)
		return -FG_ETRUNC;
	if (magic != FG_CTL_MAGIC)
		return -FG_EMALF;
	if (h->version != FG_CTL_VERSION)
		return -FG_EVERSION;
	if (h->type != want_type)
		return -FG_EMALF;
	if (h->length > (want_type == FG_CTL_REQUEST ? FG_CTL_REQ_MAX : FG_CTL_RESP_MAX))
		return -EMSGSIZE;
	return 0;
}

int fg_ctl_encode_request(uint8_t *out, size_t cap, unsigned cmd,
			  const char *const *args, unsigned nargs)
{
	if (nargs > FG_CTL_MAX_ARGS)
		return -E2BIG;
	fg_wire_t w = fg_wire_init(out, cap);
	fg_wire_skip(&w, FG_CTL_HDRLEN);   /* header written last */
	if (w.err)
		return -EMSGSIZE;
	for (unsigned i = 0; i < nargs; i++)
		fg_wire_write(&w, args[i], strlen(args[i]) + 1);
	if (w.err || w.pos - FG_CTL_HDRLEN > FG_CTL_REQ_MAX)
		return -EMSGSIZE;
	fg_ctl_put_hdr(out, FG_CTL_REQUEST, (uint16_t)cmd, (uint32_t)(w.pos - FG_CTL_HDRLEN));
	return (int)w.pos;
}

int fg_ctl_decode_args(const uint8_t *payload, size_t len, const char **args)
{
	size_t off = 0;
	int n = 0;
	while (off < len) {
		const uint8_t *nul = memchr(payload + off, 0, len - off);
		if (!nul)
			return -FG_EMALF;      /* last argument not terminated */
		if (n == FG_CTL_MAX_ARGS)
			return -E2BIG;
		args[n++] = (const char *)payload + off;
		off = (size_t)(nul - payload) + 1;
	}
	return n;
}
