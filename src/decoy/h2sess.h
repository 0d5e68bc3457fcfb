/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP/2 side of an HTTPS persona (RFC 9113), for a flow whose TLS
 * handshake selected ALPN "h2": framing, HPACK and flow control are
 * libnghttp2's; what the decoy adds is the real server's surface, its
 * SETTINGS and first connection WINDOW_UPDATE (sent before the client's
 * preface arrives, as lighttpd and nginx do) and, per request, the answer
 * the HTTP/1 persona gives, turned into h2 fields (decoy/httpwire.h).
 *
 * Ownership: fd_h2_new() returns a session owned by the caller, released by
 * fd_h2_free(); it keeps a pointer to the service, which must outlive it.
 * No I/O: bytes come in through fd_h2_input() and go out through io->out.
 */
#ifndef FG_DECOY_H2SESS_H
#define FG_DECOY_H2SESS_H

#include <stddef.h>
#include <stdint.h>

#include "decoy/persona.h"

typedef struct fd_h2 fd_h2_t;

/* One complete request (its END_STREAM seen). Strings are NUL-terminated,
 * control bytes replaced by '?', cut at 255 bytes; "" when absent. */
typedef struct fd_h2_req {
	int32_t stream;
	char method[16];
	char path[256];
	char authority[256];
	char user_agent[256];
	char range[256];         /* the Range field (a sized page's) */
	int range_cut;           /* ...longer than range[] */
	uint64_t body_bytes;
} fd_h2_req_t;

typedef struct fd_h2_io {
	void *ctx;
	/* queue bytes for the client; < 0 ends the session */
	int (*out)(void *ctx, const uint8_t *p, size_t n);
	/* the HTTP/1 answer to `rq` (status line to body, Date current),
	 * malloc'ed, handed over; *head_only: send no body. NULL: reset the
	 * stream (INTERNAL_ERROR). */
	char *(*request)(void *ctx, const fd_h2_req_t *rq, size_t *len, int *head_only);
	/* a protocol error of the client's, with nghttp2's words */
	void (*error)(void *ctx, const char *msg);
} fd_h2_io_t;

enum { FD_H2_DONE = 1 };

/* A server session speaking as `sv`; its SETTINGS (and WINDOW_UPDATE) are
 * queued and go out on the first fd_h2_send(). NULL: out of memory, or
 * the persona's SETTINGS are refused by nghttp2. */
fd_h2_t *fd_h2_new(const fd_service_t *sv);

/* Feed received bytes, answer complete requests, queue what is due.
 * Returns 0, FD_H2_DONE (nothing more to read or write: close after the
 * queue is flushed) or < 0 (a fatal protocol error, reported through
 * io->error; the GOAWAY nghttp2 made is queued). */
int fd_h2_input(fd_h2_t *h, const uint8_t *in, size_t len, const fd_h2_io_t *io);

/* Queue what nghttp2 has to send. Same returns as fd_h2_input(). */
int fd_h2_send(fd_h2_t *h, const fd_h2_io_t *io);

/* Requests answered so far. */
uint64_t fd_h2_requests(const fd_h2_t *h);

void fd_h2_free(fd_h2_t *h);

#endif
