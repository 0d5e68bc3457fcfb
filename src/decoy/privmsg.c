/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/privmsg.h"

size_t fd_priv_build_request(const fd_priv_req_t *r, uint8_t *out, size_t cap)
{
	fg_wire_t w = fg_wire_init(out, cap);

	fg_wire_write(&w, "FDQ1", 4);
	fg_wire_write_u32(&w, r->kind);
	fg_wire_write_u32(&w, r->persona);
	fg_wire_write_u32(&w, r->slot);
	return w.err ? 0 : w.pos;
}

int fd_priv_parse_request(const uint8_t *buf, size_t len, fd_priv_req_t *r,
			  char *err, size_t errlen)
{
	fg_wire_t w = fg_wire_init(buf, len);
	uint8_t magic[4];

	memset(r, 0, sizeof(*r));
	if (len != FD_PRIV_REQ_LEN)
		return fg_errf(err, errlen, -FG_EMALF, "request of %zu bytes (%d expected)",
			       len, FD_PRIV_REQ_LEN);
	fg_wire_read(&w, magic, 4);
	r->kind = fg_wire_read_u32(&w);
	r->persona = fg_wire_read_u32(&w);
	r->slot = fg_wire_read_u32(&w);
	if (w.err || memcmp(magic, "FDQ1", 4) != 0)
		return fg_errf(err, errlen, -FG_EMALF, "request without the FDQ1 magic");
	if (r->kind < FD_PRIV_COUNTERS || r->kind > FD_PRIV_DEAL)
		return fg_errf(err, errlen, -FG_EMALF, "unknown request kind %u", r->kind);
	if (r->kind == FD_PRIV_COUNTERS && (r->persona || r->slot))
		return fg_errf(err, errlen, -FG_EMALF, "counters request with arguments");
	return 0;
}

size_t fd_priv_build_spawned(const fd_priv_req_t *r, int32_t status, uint8_t *out, size_t cap)
{
	fg_wire_t w = fg_wire_init(out, cap);

	fg_wire_write(&w, "FDS1", 4);
	fg_wire_write_u32(&w, r->kind);
	fg_wire_write_u32(&w, r->persona);
	fg_wire_write_u32(&w, r->slot);
	fg_wire_write_u32(&w, (uint32_t)status);
	fg_wire_write_u32(&w, 0);
	return w.err ? 0 : w.pos;
}

int fd_priv_parse_spawned(const uint8_t *buf, size_t len, fd_priv_req_t *r, int32_t *status)
{
	fg_wire_t w = fg_wire_init(buf, len);
	uint8_t magic[4];

	if (len != FD_PRIV_SPAWN_LEN)
		return -FG_EMALF;
	fg_wire_read(&w, magic, 4);
	r->kind = fg_wire_read_u32(&w);
	r->persona = fg_wire_read_u32(&w);
	r->slot = fg_wire_read_u32(&w);
	*status = (int32_t)fg_wire_read_u32(&w);
	if (w.err || memcmp(magic, "FDS1", 4) != 0 ||
	    (r->kind != FD_PRIV_SPAWN && r->kind != FD_PRIV_STOP && r->kind != FD_PRIV_DEAL) ||
	    fg_wire_read_u32(&w) != 0)
		return -FG_EMALF;
	return 0;
}

static void put_u64(fg_wire_t *w, uint64_t v)
{
	fg_wire_write_u32(w, (uint32_t)(v >> 32));
	fg_wire_write_u32(w, (uint32_t)v);
}

static uint64_t get_u64(fg_wire_t *w)
{
	uint64_t hi = fg_wire_read_u32(w);

	return hi << 32 | fg_wire_read_u32(w);
}

int fd_priv_build_counts(const fd_contain_counts_t *c, size_t n, uint8_t *out, size_t cap)
{
	fg_wire_t w = fg_wire_init(out, cap);

	if (n > FD_PRIV_MAX_PERSONAS)
		return -ENOSPC;
	fg_wire_write(&w, "FDR1", 4);
	fg_wire_write_u32(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put_u64(&w, c[i].contained);
		put_u64(&w, c[i].replied);
		put_u64(&w, c[i].reflected);
	}
	return w.err ? -ENOSPC : (int)w.pos;
}

int fd_priv_parse_counts(const uint8_t *buf, size_t len, fd_contain_counts_t *out, size_t n)
{
	fg_wire_t w = fg_wire_init(buf, len);
	uint8_t magic[4];

	fg_wire_read(&w, magic, 4);
	uint32_t m = fg_wire_read_u32(&w);
	if (w.err || memcmp(magic, "FDR1", 4) != 0 || m != n || len != 8 + 24 * (size_t)m)
		return -FG_EMALF;
	for (size_t i = 0; i < n; i++) {
		out[i].contained = get_u64(&w);
		out[i].replied = get_u64(&w);
		out[i].reflected = get_u64(&w);
	}
	return w.err ? -FG_EMALF : 0;
}
