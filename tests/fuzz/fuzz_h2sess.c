/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the decoy's HTTP/2 session (decoy/h2sess.h): every
 * input is a client's byte stream after ALPN h2, fed in one piece and again
 * split at every 5th byte, to a session speaking as a lighttpd persona that
 * answers each request with a captured HTTP/1 response; and the pure
 * helpers the session and the ALPN choice use (decoy/httpwire.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/h2sess.h"
#include "decoy/httpwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
	"Content-Length: 5\r\nServer: lighttpd/1.4.69\r\n\r\nhello";

static int out_fn(void *ctx, const uint8_t *p, size_t n)
{
	size_t *total = ctx;
	if (!p && n)
		abort();
	*total += n;
	return *total > (8u << 20) ? -1 : 0;
}

static char *req_fn(void *ctx, const fd_h2_req_t *rq, size_t *len, int *head_only)
{
	if (strlen(rq->path) >= sizeof(rq->path) || strlen(rq->method) >= sizeof(rq->method))
		abort();
	*len = sizeof(RESP) - 1;
	*head_only = strcmp(rq->method, "HEAD") == 0;
	return strdup(RESP);
}

static void err_fn(void *ctx, const char *msg)
{
	if (!msg)
		abort();
}

static void run(const uint8_t *data, size_t size, size_t step)
{
	static char h2[] = "h2", h1[] = "http/1.1", st[] = "3:8 4:65536 6:65535 8:1 9:1";
	static char *protos[] = { h2, h1 };
	fd_service_t sv;
	size_t total = 0;

	memset(&sv, 0, sizeof(sv));
	sv.kind = FD_HTTPS;
	sv.port = 443;
	sv.alpn.v = protos;
	sv.alpn.n = 2;
	sv.h2_settings = st;
	sv.h2_window_update = 196609;
	fd_h2_t *h = fd_h2_new(&sv);
	fd_h2_io_t io = { &total, out_fn, req_fn, err_fn };
	if (!h)
		return;
	if (fd_h2_send(h, &io) == 0)
		for (size_t off = 0; off < size; off += step) {
			size_t n = size - off < step ? size - off : step;
			if (fd_h2_input(h, data + off, n, &io) != 0)
				break;
		}
	fd_h2_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, size ? size : 1);
	run(data, size, 5);

	/* the helpers on the same bytes */
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	fd_h2_field_t f[16];
	unsigned status;
	size_t body;
	int n = fd_h2_from_http1(copy, size, &status, f, 16, &body);
	if (n > 16 || (n >= 0 && body > size))
		abort();
	uint16_t ids[FD_H2_MAX_SETTINGS];
	uint32_t vals[FD_H2_MAX_SETTINGS];
	fd_h2_settings_parse(copy, ids, vals, FD_H2_MAX_SETTINGS);
	char h2[] = "h2", h1[] = "http/1.1";
	char *names[] = { h2, h1 };
	int k = fd_alpn_pick(data, size, names, 2, size & 1);
	if (k > 1)
		abort();
	free(copy);
	return 0;
}
