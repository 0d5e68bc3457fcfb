/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/udpwire.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fd_udp_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);
	fg_wire_t w = fg_wire_init(out, cap);

	if (n % 2)
		return -FG_ESYNTAX;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -FG_ESYNTAX;
		uint8_t *p = fg_wire_take(&w, 1, -FG_ESPACE);
		if (!p)
			return w.err;
		*p = (uint8_t)(hi << 4 | lo);
	}
	return (int)w.pos;
}

int fd_udp_table_build(const fd_udp_service_t *sv, fd_udp_table_t **out)
{
	fd_udp_table_t *t;

	*out = NULL;
	if (sv->nreplies > FD_UDP_MAX_REPLIES)
		return -FG_ESYNTAX;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->port = sv->port;
	t->amplification = sv->amplification;
	t->e = calloc(sv->nreplies ? sv->nreplies : 1, sizeof(*t->e));
	if (!t->e) {
		free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < sv->nreplies; i++) {
		const fd_udp_reply_t *r = &sv->replies[i];
		fd_udp_entry_t *e = &t->e[i];
		int a = r->request ? fd_udp_hex_decode(r->request, e->req, sizeof(e->req)) : -1;
		int b = r->reply ? fd_udp_hex_decode(r->reply, e->rep, sizeof(e->rep)) : -1;
		if (a <= 0 || b <= 0 || r->copy_id > (unsigned)a || r->copy_id > (unsigned)b) {
			fd_udp_table_free(t);
			return -FG_ESYNTAX;
		}
		e->reqlen = (uint16_t)a;
		e->replen = (uint16_t)b;
		e->copy_id = (uint16_t)r->copy_id;
		e->match = r->match > 0 && r->match < FD_UDP_NMATCH ?
			   (enum fd_udp_match)r->match : FD_UDP_EXACT;
		if (e->match != FD_UDP_EXACT) {
			if (fd_udp_dns_key(e->req, e->reqlen, &e->key) < 0) {
				fd_udp_table_free(t);
				return -FG_ESYNTAX;
			}
			t->ndns++;
		}
	}
	t->n = sv->nreplies;
	t->dns = calloc(t->ndns ? t->ndns : 1, sizeof(*t->dns));
	if (!t->dns) {
		fd_udp_table_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0, k = 0; i < t->n; i++)
		if (t->e[i].match != FD_UDP_EXACT)
			t->dns[k++] = (fd_udp_dnsent_t){ t->e[i].match, &t->e[i].key,
							 t->e[i].rep, t->e[i].replen };
	*out = t;
	return 0;
}

void fd_udp_table_free(fd_udp_table_t *t)
{
	if (!t)
		return;
	free(t->dns);
	free(t->e);
	free(t);
}

int fd_udp_answer(const fd_udp_table_t *t, const fd_udp_peer_t *peer,
		  const uint8_t *d, size_t len, uint8_t *out, size_t cap)
{
	for (size_t i = 0; t && i < t->n; i++) {
		const fd_udp_entry_t *e = &t->e[i];
		if (e->match != FD_UDP_EXACT || len != e->reqlen ||
		    memcmp(d + e->copy_id, e->req + e->copy_id, len - e->copy_id) != 0)
			continue;
		if ((uint64_t)e->replen > (uint64_t)t->amplification * len)
			return -ERANGE;
		fg_wire_t w = fg_wire_init(out, cap);
		uint8_t *p = fg_wire_take(&w, e->replen, -FG_ESPACE);
		if (!p)
			return w.err;
		memcpy(p, d, e->copy_id);
		memcpy(p + e->copy_id, e->rep + e->copy_id, e->replen - e->copy_id);
		return e->replen;
	}
	if (!t || !t->ndns)
		return 0;
	int m = fd_udp_dns_answer(t->dns, t->ndns, peer, d, len, out, cap);
	if (m > 0 && (uint64_t)m > (uint64_t)t->amplification * len)
		return -ERANGE;
	return m;
}

bool fd_udp_bucket_take(fd_udp_bucket_t *b, uint32_t rate, uint32_t burst,
			uint64_t now_ms)
{
	uint64_t cap = (uint64_t)burst * 1000;

	if (!b->used) {          /* a new source starts with a full bucket */
		b->used = true;
		b->milli = (uint32_t)cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		/* one token per 1000 / rate ms; the clock going back adds none */
		uint64_t add = (now_ms - b->last_ms) * rate;
		uint64_t m = b->milli + (add < cap ? add : cap);
		b->milli = (uint32_t)(m < cap ? m : cap);
		b->last_ms = now_ms;
	}
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}
