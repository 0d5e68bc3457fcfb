/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Bounds-checked wire cursors with a sticky error (after Knot's wire_ctx.h
 * and NSD's buffer.h). Once an access fails, `err` keeps the first error and
 * every later access is a no-op that reads zeros; callers check `err` once at
 * the end of a sequence instead of after every field.
 *
 * Ownership: a cursor borrows its buffer; it never allocates or frees.
 * All functions are pure (no I/O, no globals) and header-only so the hot path
 * inlines them.
 */
#ifndef FG_COMMON_WIRE_H
#define FG_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

typedef struct fg_wire {
	uint8_t *buf;   /* start of buffer (const for readers by convention) */
	size_t len;     /* readable length, or writable capacity */
	size_t pos;     /* current offset */
	int err;        /* 0, or the first negative error */
} fg_wire_t;

static inline fg_wire_t fg_wire_init(const uint8_t *buf, size_t len)
{
	fg_wire_t w = { (uint8_t *)buf, len, 0, 0 };
	return w;
}

static inline size_t fg_wire_avail(const fg_wire_t *w)
{
	return w->err ? 0 : w->len - w->pos;
}

static inline void fg_wire_fail(fg_wire_t *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Reserve n bytes at the cursor; NULL (and sticky error) when not possible. */
static inline uint8_t *fg_wire_take(fg_wire_t *w, size_t n, int err_if_short)
{
	if (w->err)
		return NULL;
	if (w->len - w->pos < n) {
		w->err = err_if_short;
		return NULL;
	}
	uint8_t *p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline uint8_t fg_wire_read_u8(fg_wire_t *w)
{
	const uint8_t *p = fg_wire_take(w, 1, -FG_ETRUNC);
	return p ? p[0] : 0;
}

static inline uint16_t fg_wire_read_u16(fg_wire_t *w)
{
	const uint8_t *p = fg_wire_take(w, 2, -FG_ETRUNC);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t fg_wire_read_u32(fg_wire_t *w)
{
	const uint8_t *p = fg_wire_take(w, 4, -FG_ETRUNC);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		   ((uint32_t)p[2] << 8) | p[3] : 0;
}

static inline void fg_wire_read(fg_wire_t *w, void *dst, size_t n)
{
	const uint8_t *p = fg_wire_take(w, n, -FG_ETRUNC);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

static inline void fg_wire_skip(fg_wire_t *w, size_t n)
{
	(void)fg_wire_take(w, n, -FG_ETRUNC);
}

static inline void fg_wire_write_u8(fg_wire_t *w, uint8_t v)
{
	uint8_t *p = fg_wire_take(w, 1, -FG_ESPACE);
	if (p)
		p[0] = v;
}

static inline void fg_wire_write_u16(fg_wire_t *w, uint16_t v)
{
	uint8_t *p = fg_wire_take(w, 2, -FG_ESPACE);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void fg_wire_write_u32(fg_wire_t *w, uint32_t v)
{
	uint8_t *p = fg_wire_take(w, 4, -FG_ESPACE);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void fg_wire_write(fg_wire_t *w, const void *src, size_t n)
{
	uint8_t *p = fg_wire_take(w, n, -FG_ESPACE);
	if (p && n)
		memcpy(p, src, n);
}

/* Big-endian store at an absolute offset already written (for back-patching
 * counts and lengths). Out-of-range offsets set the sticky error. */
static inline void fg_wire_put_u16_at(fg_wire_t *w, size_t off, uint16_t v)
{
	if (w->err)
		return;
	if (off + 2 > w->pos) {
		w->err = -FG_ESPACE;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 8);
	w->buf[off + 1] = (uint8_t)v;
}

#endif
