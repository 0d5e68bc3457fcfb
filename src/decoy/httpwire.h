/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP/1.x request heads as the decoy needs them (method, target, version,
 * User-Agent, body length), and the response rewrite that keeps a replayed
 * response current (its Date header). Pure: no I/O, no clock, no globals.
 */
#ifndef FG_DECOY_HTTPWIRE_H
#define FG_DECOY_HTTPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest request head accepted; longer is answered like a real server's
 * "431"/close: the connection is closed. */
#define FD_HTTP_MAX_HEAD 16384

typedef struct fd_http_req {
	char method[16];
	char target[256];       /* cut when longer, control bytes as '?' */
	char version[16];
	char user_agent[256];   /* "" when absent */
	char host[256];
	uint64_t content_length;
	size_t head_len;        /* bytes up to and with the blank line */
} fd_http_req_t;

/* Parse the head at buf. Returns 0 (req filled), -EAGAIN (incomplete),
 * -FG_EMALF (not HTTP, or a head over FD_HTTP_MAX_HEAD). */
int fd_http_parse(const uint8_t *buf, size_t len, fd_http_req_t *req);

/* Copy `resp` into out replacing the value of a "Date:" header by `now`
 * (IMF-fixdate, RFC 9110, 5.6.7), and, for HEAD, dropping the body (all
 * after the blank line). Returns the length or -FG_ESPACE. */
int fd_http_render(const char *resp, time_t now, int head_only, char *out,
		   size_t outlen);

/* "Sun, 06 Nov 1994 08:49:37 GMT" into out[30]. */
void fd_http_date(time_t t, char out[30]);

#endif
