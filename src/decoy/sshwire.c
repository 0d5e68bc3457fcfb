/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sshwire.h"

int fd_ssh_version_parse(const uint8_t *buf, size_t len, int skip_other_lines,
			 char *out, size_t outlen)
{
	size_t start = 0;

	for (;;) {
		const uint8_t *nl = memchr(buf + start, '\n', len - start);
		if (!skip_other_lines && len - start >= 4 &&
		    memcmp(buf + start, "SSH-", 4) != 0)
			return -FG_EMALF;
		if (!nl)
			return len - start > 255 ? -FG_EMALF : -EAGAIN;
		size_t end = (size_t)(nl - buf), n = end - start;
		if (n > 255)
			return -FG_EMALF;
		if (n >= 4 && memcmp(buf + start, "SSH-", 4) == 0) {
			if (n && buf[end - 1] == '\r')
				n--;
			if (n >= outlen)
				n = outlen - 1;
			for (size_t i = 0; i < n; i++) {
				uint8_t c = buf[start + i];
				out[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
			}
			out[n] = '\0';
			return (int)(end + 1);
		}
		start = end + 1;
		if (start > 8192)  /* banner lines before the version: bounded */
			return -FG_EMALF;
	}
}

int fd_ssh_packet_parse(const uint8_t *buf, size_t len, const uint8_t **payload,
			size_t *plen)
{
	fg_wire_t w = fg_wire_init(buf, len);
	uint32_t pl = fg_wire_read_u32(&w);
	uint8_t pad = fg_wire_read_u8(&w);

	if (w.err)
		return -EAGAIN;
	if (pl < 5 || pl > FD_SSH_MAX_PACKET || pad < 4 || (size_t)pad + 1 > pl)
		return -FG_EMALF;
	if (len - 4 < pl)
		return -EAGAIN;
	*payload = buf + 5;
	*plen = pl - 1 - pad;
	return (int)(pl + 4);
}

int fd_ssh_packet_build(const uint8_t *payload, size_t plen, const uint8_t *pad,
			uint8_t *out, size_t outlen)
{
	fg_wire_t w = fg_wire_init(out, outlen);
	size_t padn = 8 - ((4 + 1 + plen) % 8);

	if (padn < 4)
		padn += 8;
	if (plen > FD_SSH_MAX_PACKET)
		return -FG_ESPACE;
	fg_wire_write_u32(&w, (uint32_t)(1 + plen + padn));
	fg_wire_write_u8(&w, (uint8_t)padn);
	fg_wire_write(&w, payload, plen);
	fg_wire_write(&w, pad, padn);
	return w.err ? w.err : (int)w.pos;
}

int fd_ssh_kexinit_build(const fd_strlist_t lists[FD_SSH_NLISTS],
			 const uint8_t cookie[16], uint8_t *out, size_t outlen)
{
	fg_wire_t w = fg_wire_init(out, outlen);

	fg_wire_write_u8(&w, FD_SSH_MSG_KEXINIT);
	fg_wire_write(&w, cookie, 16);
	for (size_t i = 0; i < FD_SSH_NLISTS; i++) {
		size_t total = 0;
		for (size_t j = 0; j < lists[i].n; j++)
			total += strlen(lists[i].v[j]) + (j ? 1 : 0);
		if (total > UINT32_MAX)
			return -FG_ESPACE;
		fg_wire_write_u32(&w, (uint32_t)total);
		for (size_t j = 0; j < lists[i].n; j++) {
			if (j)
				fg_wire_write_u8(&w, ',');
			fg_wire_write(&w, lists[i].v[j], strlen(lists[i].v[j]));
		}
	}
	fg_wire_write_u8(&w, 0);      /* first_kex_packet_follows */
	fg_wire_write_u32(&w, 0);     /* reserved */
	return w.err ? w.err : (int)w.pos;
}

void fd_strlist_free(fd_strlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Split a name-list; empty names (",," or a trailing comma) are malformed
 * (RFC 4251, 5). */
static int split(const uint8_t *s, size_t n, fd_strlist_t *l)
{
	size_t cnt = n ? 1 : 0;

	for (size_t i = 0; i < n; i++)
		cnt += s[i] == ',';
	if (cnt > 512)
		return -FG_EMALF;
	l->v = cnt ? calloc(cnt, sizeof(char *)) : NULL;
	if (cnt && !l->v)
		return -ENOMEM;
	size_t start = 0;
	for (size_t i = 0; i <= n && n; i++) {
		if (i < n && s[i] != ',')
			continue;
		size_t len = i - start;
		if (len == 0 || len > 64)
			return -FG_EMALF;
		for (size_t k = start; k < i; k++)
			if (s[k] <= 0x20 || s[k] > 0x7e)
				return -FG_EMALF;
		char *d = malloc(len + 1);
		if (!d)
			return -ENOMEM;
		memcpy(d, s + start, len);
		d[len] = '\0';
		l->v[l->n++] = d;
		start = i + 1;
	}
	return 0;
}

int fd_ssh_kexinit_parse(const uint8_t *payload, size_t plen,
			 fd_strlist_t lists[FD_SSH_NLISTS])
{
	fg_wire_t w = fg_wire_init(payload, plen);
	int rc = 0;

	memset(lists, 0, sizeof(fd_strlist_t) * FD_SSH_NLISTS);
	if (fg_wire_read_u8(&w) != FD_SSH_MSG_KEXINIT)
		return w.err ? w.err : -FG_EMALF;
	fg_wire_skip(&w, 16);
	for (size_t i = 0; i < FD_SSH_NLISTS && rc == 0; i++) {
		uint32_t n = fg_wire_read_u32(&w);
		const uint8_t *s = fg_wire_take(&w, n, -FG_ETRUNC);
		if (w.err)
			rc = w.err;
		else
			rc = split(s, n, &lists[i]);
	}
	if (rc == 0) {
		fg_wire_skip(&w, 5);  /* first_kex_packet_follows, reserved */
		rc = w.err;
	}
	if (rc < 0)
		for (size_t i = 0; i < FD_SSH_NLISTS; i++)
			fd_strlist_free(&lists[i]);
	return rc;
}

void fd_strlist_join(const fd_strlist_t *l, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);
		if (o + n + 2 > outlen)
			break;
		if (i)
			out[o++] = ',';
		memcpy(out + o, l->v[i], n);
		o += n;
		out[o] = '\0';
	}
}

const uint8_t *fd_ssh_rd_str(fg_wire_t *w, size_t *n)
{
	uint32_t len = fg_wire_read_u32(w);
	const uint8_t *p = fg_wire_take(w, len, -FG_ETRUNC);

	*n = p ? len : 0;
	return p;
}

void fd_ssh_wr_str(fg_wire_t *w, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		fg_wire_fail(w, -FG_ESPACE);
		return;
	}
	fg_wire_write_u32(w, (uint32_t)n);
	fg_wire_write(w, p, n);
}

void fd_ssh_wr_cstr(fg_wire_t *w, const char *s)
{
	fd_ssh_wr_str(w, s, strlen(s));
}

void fd_ssh_wr_mpint(fg_wire_t *w, const uint8_t *be, size_t n)
{
	while (n && be[0] == 0) {
		be++;
		n--;
	}
	bool top = n && (be[0] & 0x80);
	fg_wire_write_u32(w, (uint32_t)(n + top));
	if (top)
		fg_wire_write_u8(w, 0);
	fg_wire_write(w, be, n);
}

int fd_ssh_str_is(const uint8_t *p, size_t n, const char *s)
{
	return p && strlen(s) == n && memcmp(p, s, n) == 0;
}
