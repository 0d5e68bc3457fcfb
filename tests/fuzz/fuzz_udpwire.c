/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the UDP persona matcher (decoy/udpwire.h): every
 * input is a datagram from an attacker. An answer must fit the buffer,
 * carry the datagram's first copy-id octets, never exceed amplification x
 * the datagram, and be exactly a captured reply otherwise; the output
 * buffer is shrunk to small sizes to exercise the refusal path. The
 * input's first octet also picks a persona text to load, so the `udp:`
 * loader sees the input's bytes as hex.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/persona.h"
#include "decoy/udpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PERSONA[] =
	"persona:\n  name: ns\nudp:\n  - port: 53\n    amplification: 2\n"
	"    replies:\n"
	"      - request: \"0006010000010000000000000776657273696f6e0462696e640000100003\"\n"
	"        reply: \"0006850000010001000000000776657273696f6e0462696e640000100003"
	"c00c0010000300000000000706392e31382e30\"\n"
	"        copy-id: 2\n"
	"      - request: \"000010000000000000000000\"\n"
	"        reply: \"000090040000000000000000\"\n"
	"        copy-id: 2\n";

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx; (void)file; (void)line; (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fd_udp_table_t *t;
	uint8_t out[FD_UDP_MAX_PAYLOAD];

	if (!t) {
		fd_persona_t *p = NULL;
		if (fd_persona_load_buffer("fuzz", PERSONA, sizeof(PERSONA) - 1, &p,
					   diag, NULL) < 0 ||
		    fd_udp_table_build(&p->udp[0], &t) < 0)
			abort();
		fd_persona_free(p);
	}
	int m = fd_udp_answer(t, NULL, data, size, out, sizeof(out));
	if (m > 0) {
		if ((size_t)m > sizeof(out) || (size_t)m > 2 * size ||
		    memcmp(out, data, 2) != 0)
			abort();
		bool found = false;
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].replen == (size_t)m &&
			    memcmp(out + 2, t->e[i].rep + 2, (size_t)m - 2) == 0)
				found = true;
		if (!found)
			abort();
	}
	for (size_t cap = 0; cap < 64; cap += 9) {
		int r = fd_udp_answer(t, NULL, data, size, out, cap);
		if (r > (int)cap)
			abort();
	}
	/* the same bytes as a hand-edited persona's hex field */
	char text[1024];
	size_t n = size > 200 ? 200 : size;
	int w = snprintf(text, sizeof(text), "persona:\n  name: f\nudp:\n  - port: 9\n"
			 "    amplification: 3\n    replies:\n      - request: \"");
	for (size_t i = 0; i < n; i++)
		w += snprintf(text + w, sizeof(text) - (size_t)w, "%c",
			      data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' &&
			      data[i] != '\\' ? data[i] : '0');
	w += snprintf(text + w, sizeof(text) - (size_t)w, "\"\n        reply: \"00\"\n");
	fd_persona_t *p = NULL;
	if (fd_persona_load_buffer("fuzz", text, (size_t)w, &p, diag, NULL) == 0) {
		fd_udp_table_t *u = NULL;
		if (fd_udp_table_build(&p->udp[0], &u) < 0)
			abort();      /* what the loader accepts, the server can build */
		fd_udp_table_free(u);
	}
	fd_persona_free(p);
	return 0;
}
