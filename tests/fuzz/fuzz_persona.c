/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for fluxdecoy's parsers of untrusted or hand-edited
 * input: every input is a persona file and a fluxdecoy config (the YAML
 * loaders, whose messages must have the promised shape), and also bytes
 * from a client, fed to the SSH version/packet/KEXINIT parsers, the HTTP
 * request parser (and its Range) and the SMTP dialogue.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/dconf.h"
#include "decoy/httpwire.h"
#include "decoy/persona.h"
#include "decoy/udpwire.h"
#include "decoy/smtpwire.h"
#include "decoy/sshwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void discard(void *ctx, const char *file, int line, const char *msg)
{
	size_t n = strlen(msg);

	(void)ctx;
	(void)file;
	if (line < 0 || n == 0 || n >= 1024)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20)
			abort();
}

static void wire(const uint8_t *data, size_t size)
{
	char v[256];
	const uint8_t *pl;
	size_t plen;
	fd_strlist_t lists[FD_SSH_NLISTS];
	fd_http_req_t rq;

	for (int skip = 0; skip < 2; skip++)
		if (fd_ssh_version_parse(data, size, skip, v, sizeof(v)) > 0 &&
		    strlen(v) >= sizeof(v))
			abort();
	if (fd_ssh_packet_parse(data, size, &pl, &plen) > 0 &&
	    (pl < data || pl + plen > data + size))
		abort();
	/* the payload alone as KEXINIT */
	if (fd_ssh_kexinit_parse(data, size, lists) == 0)
		for (size_t i = 0; i < FD_SSH_NLISTS; i++)
			fd_strlist_free(&lists[i]);
	if (fd_http_parse(data, size, &rq) == 0) {
		if (rq.head_len > size)
			abort();
		/* its Range against a few file sizes: one range inside the file */
		static const uint64_t sizes[] = { 0, 1, 100, 10000000 };
		for (size_t i = 0; rq.range[0] && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint64_t f = 0, l = 0;
			if (fd_http_range(rq.range, sizes[i], &f, &l) == FD_RANGE_OK &&
			    (f > l || l >= sizes[i]))
				abort();
			/* several: each inside the file, none left to merge, framed
			 * to the length announced */
			fd_range_set_t rs;
			int k = fd_http_ranges(rq.range, sizes[i], &rs);
			if ((k == FD_RANGE_MULTI) != (rs.n > 1) || rs.n > FD_RANGE_MAX)
				abort();
			uint64_t framed = 0;
			char b[512];
			for (unsigned j = 0; k == FD_RANGE_MULTI && j < rs.n; j++) {
				if (rs.first[j] > rs.last[j] || rs.last[j] >= sizes[i])
					abort();
				for (unsigned m = j + 1; m < rs.n; m++)
					if (rs.first[m] <= rs.last[j] + FD_RANGE_MERGE_GAP &&
					    rs.first[j] <= rs.last[m] + FD_RANGE_MERGE_GAP)
						abort();
				int w = fd_http_part_head("fkj49sn38dcn3", rq.user_agent, &rs, j,
							  sizes[i], b, sizeof(b));
				if (w < 0 && strlen(rq.user_agent) < 400)
					abort();
				framed += (uint64_t)(w < 0 ? 0 : w) + rs.last[j] - rs.first[j] + 1;
			}
			if (k == FD_RANGE_MULTI && strlen(rq.user_agent) < 400 &&
			    fd_http_multipart_length("fkj49sn38dcn3", rq.user_agent, &rs, sizes[i]) !=
				    framed + 21)
				abort();
		}
		/* the user agent as a Content-Type: a boundary is a bounded token */
		char bd[71];
		int bn = fd_http_boundary(rq.user_agent, bd);
		if (bn > 70 || (bn >= 0 && strlen(bd) != (size_t)bn))
			abort();
	}

	fd_smtp_t s = { 0 };
	size_t off = 0;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
		fd_smtp_out_t o;
		static const fd_smtp_replies_t rp = { .ehlo = "250 mx\r\n", .host = "mx" };
		fd_smtp_line(&s, (const char *)data + off, n, &rp, &o);
		if (o.reply && strlen(o.reply) >= 1024)
			abort();
		off += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fd_persona_t *p = NULL;
	fd_conf_t *c = NULL;

	wire(data, size);
	if (fd_persona_load_buffer("fuzz.persona", (const char *)data, size, &p,
				   discard, NULL) == 0) {
		/* a persona that loads has what each kind needs */
		if (!p || !p->name || (p->nservices == 0 && p->nudp == 0))
			abort();
		/* a UDP port that loads can be served, within its bound */
		for (size_t i = 0; i < p->nudp; i++) {
			fd_udp_table_t *t = NULL;
			if (fd_udp_table_build(&p->udp[i], &t) < 0)
				abort();
			for (size_t k = 0; k < t->n; k++)
				if (t->e[k].replen > t->amplification * t->e[k].reqlen)
					abort();
			fd_udp_table_free(t);
		}
		for (size_t i = 0; i < p->nservices; i++) {
			const fd_service_t *sv = &p->services[i];
			if ((sv->kind == FD_HTTP || sv->kind == FD_HTTPS) && !sv->response_get)
				abort();
			if (sv->kind == FD_SSH && (!sv->ssh_version || sv->kex[0].n == 0))
				abort();
			if (sv->kind == FD_SMTP && (!sv->smtp_greeting || !sv->smtp_ehlo))
				abort();
		}
	} else if (p) {
		abort();
	}
	fd_persona_free(p);
	if (fd_conf_load_buffer("fuzz.conf", (const char *)data, size, false, &c,
				discard, NULL) == 0) {
		if (!c || c->npersonas == 0 || c->decoy.nlisten == 0)
			abort();
	} else if (c) {
		abort();
	}
	fd_conf_free(c);
	return 0;
}
