/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conf/keyfiles.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"

#define REC_HEAD (2 + 2 + 4 + 5 * 8 + 1)

static void wipe_free(void *p, size_t n)
{
	if (p)
		explicit_bzero(p, n);
	free(p);
}

size_t fg_keyfiles_max_data(uint16_t kind)
{
	switch (kind) {
	case FG_KF_TSIG:
	case FG_KF_DNSSEC:
	case FG_KF_DNSKEY:
		return FG_KF_MAX_DATA;
	case FG_KF_INCLUDE:
		return FG_KF_MAX_INCLUDE;
	default:
		return 0;
	}
}

int fg_keyfiles_add(fg_keyfiles_t *s, uint16_t kind, const char *path, const void *data,
		    size_t len, const fg_secretfile_id_t *id)
{
	size_t pl = path ? strlen(path) : 0;
	size_t max = fg_keyfiles_max_data(kind);
	if (!max || !pl || pl > FG_KF_MAX_PATH || len > max || (len && !data))
		return -EINVAL;
	if (s->n == FG_KF_MAX_FILES)
		return -E2BIG;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		fg_keyfile_t *nf = calloc(nc, sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		if (s->n)
			memcpy(nf, s->f, s->n * sizeof(*nf));
		free(s->f);     /* only pointers: the secrets are not in it */
		s->f = nf;
		s->cap = nc;
	}
	fg_keyfile_t *e = &s->f[s->n];
	e->path = strdup(path);
	e->data = malloc(len + 1);
	if (!e->path || !e->data) {
		free(e->path);
		free(e->data);
		memset(e, 0, sizeof(*e));
		return -ENOMEM;
	}
	if (len)
		memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	e->kind = kind;
	if (id)
		e->id = *id;
	s->n++;
	return 0;
}

const fg_keyfile_t *fg_keyfiles_find(const fg_keyfiles_t *s, uint16_t kind, const char *path)
{
	for (size_t i = 0; s && path && i < s->n; i++)
		if (s->f[i].kind == kind && !strcmp(s->f[i].path, path))
			return &s->f[i];
	return NULL;
}

void fg_keyfiles_truncate(fg_keyfiles_t *s, size_t n)
{
	for (size_t i = n; i < s->n; i++) {
		free(s->f[i].path);
		wipe_free(s->f[i].data, s->f[i].len + 1);
		memset(&s->f[i], 0, sizeof(s->f[i]));
	}
	if (n < s->n)
		s->n = n;
}

void fg_keyfiles_clear(fg_keyfiles_t *s)
{
	fg_keyfiles_truncate(s, 0);
	free(s->f);
	memset(s, 0, sizeof(*s));
}

int fg_keyfiles_encode(const fg_keyfiles_t *s, uint8_t **out, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < s->n; i++)
		total += REC_HEAD + strlen(s->f[i].path) + s->f[i].len;
	if (total > FG_KF_MAX_WIRE)
		return -E2BIG;
	uint8_t *b = malloc(total ? total : 1);
	if (!b)
		return -ENOMEM;
	fg_wire_t w = fg_wire_init(b, total);
	for (size_t i = 0; i < s->n; i++) {
		const fg_keyfile_t *e = &s->f[i];
		size_t pl = strlen(e->path);
		uint64_t v[5] = { e->id.dev, e->id.ino, e->id.size, (uint64_t)e->id.mtime_sec,
				  (uint64_t)e->id.mtime_nsec };
		uint16_t h16[2] = { e->kind, (uint16_t)pl };
		uint32_t dl = (uint32_t)e->len;
		fg_wire_write(&w, h16, sizeof(h16));
		fg_wire_write(&w, &dl, sizeof(dl));
		fg_wire_write(&w, v, sizeof(v));
		fg_wire_write_u8(&w, e->id.set ? 1 : 0);
		fg_wire_write(&w, e->path, pl);
		fg_wire_write(&w, e->data, e->len);
	}
	if (w.err) {
		wipe_free(b, total);
		return w.err;
	}
	*out = b;
	*len = total;
	return 0;
}

int fg_keyfiles_decode(const uint8_t *buf, size_t len, fg_keyfiles_t *s, char *err,
		       size_t errlen)
{
	char path[FG_KF_MAX_PATH + 1];
	fg_wire_t r = fg_wire_init(buf, len);
	int rc = 0;
	size_t nrec = 0;

	if (len > FG_KF_MAX_WIRE)
		return fg_errf(err, errlen, -FG_EMALF, "key material: %zu octets (at most %u)",
			       len, FG_KF_MAX_WIRE);
	while (rc == 0 && fg_wire_avail(&r)) {
		uint16_t h16[2];
		uint32_t dl;
		uint64_t v[5];
		fg_wire_read(&r, h16, sizeof(h16));
		fg_wire_read(&r, &dl, sizeof(dl));
		fg_wire_read(&r, v, sizeof(v));
		uint8_t set = fg_wire_read_u8(&r);
		if (r.err) {
			rc = fg_errf(err, errlen, -FG_EMALF, "key material: record %zu: short header",
				     nrec);
			break;
		}
		size_t max = fg_keyfiles_max_data(h16[0]);
		if (!max || !h16[1] || h16[1] > FG_KF_MAX_PATH || dl > max || set > 1) {
			rc = fg_errf(err, errlen, -FG_EMALF,
				     "key material: record %zu: bad kind, length or flag", nrec);
			break;
		}
		const uint8_t *p = fg_wire_take(&r, h16[1], -FG_EMALF);
		const uint8_t *d = fg_wire_take(&r, dl, -FG_EMALF);
		if (r.err || !p || (dl && !d)) {
			rc = fg_errf(err, errlen, -FG_EMALF, "key material: record %zu: truncated",
				     nrec);
			break;
		}
		if (memchr(p, '\0', h16[1])) {
			rc = fg_errf(err, errlen, -FG_EMALF, "key material: record %zu: NUL in path",
				     nrec);
			break;
		}
		memcpy(path, p, h16[1]);
		path[h16[1]] = '\0';
		fg_secretfile_id_t id = { .dev = v[0], .ino = v[1], .size = v[2],
					  .mtime_sec = (int64_t)v[3], .mtime_nsec = (int64_t)v[4],
					  .set = set == 1 };
		rc = fg_keyfiles_add(s, h16[0], path, d, dl, &id);
		if (rc < 0)
			fg_errf(err, errlen, rc, "key material: record %zu: %s", nrec,
				rc == -E2BIG ? "too many files" : "out of memory");
		nrec++;
	}
	if (rc < 0)
		fg_keyfiles_clear(s);
	return rc;
}
