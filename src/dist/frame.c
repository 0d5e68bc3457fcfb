/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Controller <-> agent frames: see frame.h for the layout. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/wire.h"
#include "dist/frame.h"

static const char *const type_names[] = {
	[FG_DIST_HELLO] = "HELLO", [FG_DIST_WELCOME] = "WELCOME", [FG_DIST_GRANT] = "GRANT",
	[FG_DIST_REVOKE] = "REVOKE", [FG_DIST_QUARANTINE] = "QUARANTINE",
	[FG_DIST_RELEASE] = "RELEASE", [FG_DIST_PING] = "PING", [FG_DIST_ACK] = "ACK",
	[FG_DIST_SUMREQ] = "SUMREQ", [FG_DIST_SUMS] = "SUMS", [FG_DIST_KEYREQ] = "KEYREQ",
	[FG_DIST_KEYS] = "KEYS",
};

const char *fg_dist_type_name(unsigned type)
{
	return type >= 1 && type <= FG_DIST_TYPE_MAX ? type_names[type] : "?";
}

static uint64_t read_u64(fg_wire_t *w)
{
	uint64_t hi = fg_wire_read_u32(w);
	return (hi << 32) | fg_wire_read_u32(w);
}

static void write_u64(fg_wire_t *w, uint64_t v)
{
	fg_wire_write_u32(w, (uint32_t)(v >> 32));
	fg_wire_write_u32(w, (uint32_t)v);
}

int fg_dist_hdr_decode(const uint8_t *buf, size_t len, fg_dist_hdr_t *h, char *err, size_t errlen)
{
	fg_wire_t w = fg_wire_init(buf, len);
	uint16_t magic = fg_wire_read_u16(&w);
	uint8_t ver = fg_wire_read_u8(&w);
	h->type = fg_wire_read_u8(&w);
	h->len = fg_wire_read_u32(&w);
	h->seq = read_u64(&w);
	if (w.err)
		return fg_errf(err, errlen, -FG_ETRUNC, "frame header truncated (%zu octets)", len);
	if (magic != FG_DIST_MAGIC)
		return fg_errf(err, errlen, -FG_EMALF, "bad magic 0x%04x", magic);
	if (ver != FG_DIST_VERSION)
		return fg_errf(err, errlen, -FG_EVERSION, "unsupported version %u", ver);
	if (h->type < 1 || h->type > FG_DIST_TYPE_MAX)
		return fg_errf(err, errlen, -FG_EMALF, "unknown frame type %u", h->type);
	if (h->len > FG_DIST_MAX_PAYLOAD)
		return fg_errf(err, errlen, -FG_EMALF, "%s payload of %u octets exceeds %u",
			       fg_dist_type_name(h->type), h->len, (unsigned)FG_DIST_MAX_PAYLOAD);
	return 0;
}

/* id: 1..64 of [A-Za-z0-9._-], like config ids */
static int read_id(fg_wire_t *w, char *id, char *err, size_t errlen)
{
	uint8_t n = fg_wire_read_u8(w);
	if (w->err)
		return fg_errf(err, errlen, -FG_ETRUNC, "id truncated");
	if (n == 0 || n > FG_DIST_ID_MAX)
		return fg_errf(err, errlen, -FG_EMALF, "id length %u not in 1-%d", n, FG_DIST_ID_MAX);
	fg_wire_read(w, id, n);
	id[n] = '\0';
	if (w->err)
		return fg_errf(err, errlen, -FG_ETRUNC, "id truncated");
	for (unsigned i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return fg_errf(err, errlen, -FG_EMALF, "id has a byte 0x%02x outside [A-Za-z0-9._-]",
				       (unsigned char)c);
	}
	return 0;
}

static void write_id(fg_wire_t *w, const char *id)
{
	size_t n = strnlen(id, FG_DIST_ID_MAX + 1);
	if (n == 0 || n > FG_DIST_ID_MAX) {
		fg_wire_fail(w, -EINVAL);
		return;
	}
	fg_wire_write_u8(w, (uint8_t)n);
	fg_wire_write(w, id, n);
}

static int read_family(fg_wire_t *w, uint8_t *fam, char *err, size_t errlen, const char *what)
{
	uint8_t f = fg_wire_read_u8(w);
	if (w->err)
		return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", what);
	if (f != AF_INET && f != AF_INET6)
		return fg_errf(err, errlen, -FG_EMALF, "%s: family %u is neither IPv4 nor IPv6", what, f);
	*fam = f;
	return 0;
}

static int read_grant(fg_wire_t *w, fg_grant_t *g, unsigned i, char *err, size_t errlen)
{
	char what[32];
	snprintf(what, sizeof(what), "grant %u", i);
	memset(g, 0, sizeof(*g));
	int rc = read_family(w, &g->family, err, errlen, what);
	if (rc < 0)
		return rc;
	g->scope = fg_wire_read_u8(w);
	g->client_plen = fg_wire_read_u8(w);
	fg_wire_read(w, g->client, 16);
	fg_wire_read(w, g->addr, 16);
	fg_wire_read(w, g->backend, 16);
	g->backend_port = fg_wire_read_u16(w);
	g->timeout_ms = fg_wire_read_u32(w);
	if (w->err)
		return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", what);
	unsigned max = g->family == AF_INET ? 32 : 128;
	if (g->scope > FG_SCOPE_ANY)
		return fg_errf(err, errlen, -FG_EMALF, "%s: unknown scope %u", what, g->scope);
	if (g->client_plen > max)
		return fg_errf(err, errlen, -FG_EMALF, "%s: client prefix /%u longer than /%u", what,
			       g->client_plen, max);
	if (g->family == AF_INET) {
		static const uint8_t zero[12];
		if (memcmp(g->client + 4, zero, 12) || memcmp(g->addr + 4, zero, 12) ||
		    memcmp(g->backend + 4, zero, 12))
			return fg_errf(err, errlen, -FG_EMALF, "%s: IPv4 address with octets past the 4th",
				       what);
	}
	if (g->timeout_ms == 0)
		return fg_errf(err, errlen, -FG_EMALF, "%s: timeout 0", what);
	return 0;
}

static void write_grant(fg_wire_t *w, const fg_grant_t *g)
{
	fg_wire_write_u8(w, g->family);
	fg_wire_write_u8(w, g->scope);
	fg_wire_write_u8(w, g->client_plen);
	fg_wire_write(w, g->client, 16);
	fg_wire_write(w, g->addr, 16);
	fg_wire_write(w, g->backend, 16);
	fg_wire_write_u16(w, g->backend_port);
	fg_wire_write_u32(w, g->timeout_ms);
}

int fg_dist_decode(const uint8_t *buf, size_t len, fg_dist_msg_t *m, char *err, size_t errlen)
{
	memset(m, 0, offsetof(fg_dist_msg_t, grants));
	memset(m->salt, 0, sizeof(*m) - offsetof(fg_dist_msg_t, salt));
	int rc = fg_dist_hdr_decode(buf, len, &m->h, err, errlen);
	if (rc < 0)
		return rc;
	if (len != FG_DIST_HDR_LEN + (size_t)m->h.len)
		return fg_errf(err, errlen, -FG_EMALF, "%s: frame of %zu octets, header says %u",
			       fg_dist_type_name(m->h.type), len, FG_DIST_HDR_LEN + m->h.len);
	fg_wire_t w = fg_wire_init(buf + FG_DIST_HDR_LEN, m->h.len);
	const char *tn = fg_dist_type_name(m->h.type);
	bool seq_zero = m->h.type == FG_DIST_HELLO || m->h.type == FG_DIST_WELCOME ||
			m->h.type == FG_DIST_PING || m->h.type >= FG_DIST_SUMREQ;
	if (seq_zero && m->h.seq != 0)
		return fg_errf(err, errlen, -FG_EMALF, "%s with sequence number %llu (must be 0)", tn,
			       (unsigned long long)m->h.seq);
	bool is_cmd = m->h.type == FG_DIST_GRANT || m->h.type == FG_DIST_REVOKE ||
		      m->h.type == FG_DIST_QUARANTINE || m->h.type == FG_DIST_RELEASE;
	if (is_cmd && m->h.seq == 0)
		return fg_errf(err, errlen, -FG_EMALF, "%s with sequence number 0", tn);
	switch (m->h.type) {
	case FG_DIST_HELLO:
	case FG_DIST_WELCOME:
		m->epoch = read_u64(&w);
		if (m->h.type == FG_DIST_WELCOME)
			m->last_seq = read_u64(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", tn);
		rc = read_id(&w, m->id, err, errlen);
		if (rc < 0)
			return rc;
		break;
	case FG_DIST_GRANT:
	case FG_DIST_REVOKE:
		m->ngrants = fg_wire_read_u16(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", tn);
		if (m->ngrants == 0 || m->ngrants > FG_DIST_MAX_GRANTS)
			return fg_errf(err, errlen, -FG_EMALF, "%s of %u grants (1-%d)", tn, m->ngrants,
				       FG_DIST_MAX_GRANTS);
		for (unsigned i = 0; i < m->ngrants; i++) {
			rc = read_grant(&w, &m->grants[i], i, err, errlen);
			if (rc < 0)
				return rc;
		}
		break;
	case FG_DIST_QUARANTINE:
	case FG_DIST_RELEASE:
		rc = read_family(&w, &m->family, err, errlen, tn);
		if (rc < 0)
			return rc;
		fg_wire_read(&w, m->src, 16);
		if (m->h.type == FG_DIST_QUARANTINE)
			m->timeout_ms = fg_wire_read_u32(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", tn);
		break;
	case FG_DIST_PING:
		break;
	case FG_DIST_SUMREQ:
	case FG_DIST_KEYREQ:
		fg_wire_read(&w, m->salt, sizeof(m->salt));
		for (unsigned s = 0; m->h.type == FG_DIST_KEYREQ && s < FG_DIST_NSETS; s++)
			m->want[s] = read_u64(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "%s truncated", tn);
		break;
	case FG_DIST_SUMS:
		m->generation = read_u64(&w);
		m->flags = fg_wire_read_u8(&w);
		for (unsigned s = 0; s < FG_DIST_NSETS; s++) {
			m->digest.count[s] = fg_wire_read_u32(&w);
			for (unsigned b = 0; b < FG_DIST_BUCKETS; b++)
				m->digest.sum[s][b] = read_u64(&w);
		}
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "SUMS truncated");
		if (m->flags & ~FG_DIST_SUMS_SHARED)
			return fg_errf(err, errlen, -FG_EMALF, "SUMS with unknown flags 0x%02x", m->flags);
		break;
	case FG_DIST_KEYS:
		m->last = fg_wire_read_u8(&w);
		m->ngrants = fg_wire_read_u16(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "KEYS truncated");
		if (m->last > 1)
			return fg_errf(err, errlen, -FG_EMALF, "KEYS with last flag %u (0 or 1)", m->last);
		if (m->ngrants > FG_DIST_KEYS_MAX)
			return fg_errf(err, errlen, -FG_EMALF, "KEYS of %u grants (0-%d)", m->ngrants,
				       FG_DIST_KEYS_MAX);
		for (unsigned i = 0; i < m->ngrants; i++) {
			rc = read_grant(&w, &m->grants[i], i, err, errlen);
			if (rc < 0)
				return rc;
		}
		break;
	case FG_DIST_ACK: {
		m->status = (int32_t)fg_wire_read_u32(&w);
		uint8_t n = fg_wire_read_u8(&w);
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "ACK truncated");
		if (m->status > 0)
			return fg_errf(err, errlen, -FG_EMALF, "ACK with status %d (must be 0 or negative)",
				       m->status);
		if (n > FG_DIST_TEXT_MAX)
			return fg_errf(err, errlen, -FG_EMALF, "ACK text of %u octets", n);
		fg_wire_read(&w, m->text, n);
		m->text[n] = '\0';
		if (w.err)
			return fg_errf(err, errlen, -FG_ETRUNC, "ACK text truncated");
		for (unsigned i = 0; i < n; i++)
			if ((unsigned char)m->text[i] < 0x20 || (unsigned char)m->text[i] > 0x7e)
				m->text[i] = '?';   /* it goes to a log line */
		break;
	}
	default:
		return fg_errf(err, errlen, -FG_EMALF, "unknown frame type %u", m->h.type);
	}
	if (fg_wire_avail(&w))
		return fg_errf(err, errlen, -FG_EMALF, "%s: %zu octets after the payload", tn,
			       fg_wire_avail(&w));
	return 0;
}

int fg_dist_encode(const fg_dist_msg_t *m, uint8_t *buf, size_t cap)
{
	fg_wire_t w = fg_wire_init(buf, cap);
	if (m->h.type < 1 || m->h.type > FG_DIST_TYPE_MAX)
		return -EINVAL;
	fg_wire_write_u16(&w, FG_DIST_MAGIC);
	fg_wire_write_u8(&w, FG_DIST_VERSION);
	fg_wire_write_u8(&w, m->h.type);
	fg_wire_write_u32(&w, 0);     /* length, patched below */
	write_u64(&w, m->h.seq);
	switch (m->h.type) {
	case FG_DIST_HELLO:
	case FG_DIST_WELCOME:
		write_u64(&w, m->epoch);
		if (m->h.type == FG_DIST_WELCOME)
			write_u64(&w, m->last_seq);
		write_id(&w, m->id);
		break;
	case FG_DIST_GRANT:
	case FG_DIST_REVOKE:
		if (m->ngrants == 0 || m->ngrants > FG_DIST_MAX_GRANTS)
			return -EINVAL;
		fg_wire_write_u16(&w, m->ngrants);
		for (unsigned i = 0; i < m->ngrants; i++)
			write_grant(&w, &m->grants[i]);
		break;
	case FG_DIST_QUARANTINE:
	case FG_DIST_RELEASE:
		fg_wire_write_u8(&w, m->family);
		fg_wire_write(&w, m->src, 16);
		if (m->h.type == FG_DIST_QUARANTINE)
			fg_wire_write_u32(&w, m->timeout_ms);
		break;
	case FG_DIST_PING:
		break;
	case FG_DIST_SUMREQ:
	case FG_DIST_KEYREQ:
		fg_wire_write(&w, m->salt, sizeof(m->salt));
		for (unsigned s = 0; m->h.type == FG_DIST_KEYREQ && s < FG_DIST_NSETS; s++)
			write_u64(&w, m->want[s]);
		break;
	case FG_DIST_SUMS:
		write_u64(&w, m->generation);
		fg_wire_write_u8(&w, m->flags);
		for (unsigned s = 0; s < FG_DIST_NSETS; s++) {
			fg_wire_write_u32(&w, m->digest.count[s]);
			for (unsigned b = 0; b < FG_DIST_BUCKETS; b++)
				write_u64(&w, m->digest.sum[s][b]);
		}
		break;
	case FG_DIST_KEYS:
		if (m->ngrants > FG_DIST_KEYS_MAX || m->last > 1)
			return -EINVAL;
		fg_wire_write_u8(&w, m->last);
		fg_wire_write_u16(&w, m->ngrants);
		for (unsigned i = 0; i < m->ngrants; i++)
			write_grant(&w, &m->grants[i]);
		break;
	case FG_DIST_ACK: {
		size_t n = strnlen(m->text, FG_DIST_TEXT_MAX);
		fg_wire_write_u32(&w, (uint32_t)m->status);
		fg_wire_write_u8(&w, (uint8_t)n);
		fg_wire_write(&w, m->text, n);
		break;
	}
	}
	if (w.err)
		return w.err;
	uint32_t plen = (uint32_t)(w.pos - FG_DIST_HDR_LEN);
	buf[4] = (uint8_t)(plen >> 24);
	buf[5] = (uint8_t)(plen >> 16);
	buf[6] = (uint8_t)(plen >> 8);
	buf[7] = (uint8_t)plen;
	return (int)w.pos;
}
