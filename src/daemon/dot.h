/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS over TLS (RFC 7858) for the DNS workers.
 *
 * Each worker owns SO_REUSEPORT listening sockets on every server.tls-listen
 * address in its own epoll set, like its TCP ones, and a table of TLS
 * connections, each a non-blocking state machine: handshake, then
 * length-prefixed DNS messages (RFC 1035 4.2.2 framing, as over TCP)
 * answered in order; the answers to pipelined messages leave together in
 * one TLS write (up to 16 KiB), and no more is read while output waits
 * (backpressure). A message is answered through the worker's
 * TCP query path (fg_dot_answer_fn), so answers and grant semantics are
 * those of DNS over TCP: the answer is written only once its grant is
 * acknowledged. A slow client costs its own connection's buffers, never the
 * worker's time: no call waits on a client, the handshake and every query
 * have a deadline (server.tcp-query-timeout), a connection idle between
 * queries is closed after server.tls-idle-timeout.
 *
 * TLS 1.2 and 1.3 (1.3 preferred: OpenSSL picks the highest both offer),
 * ECDHE with AEAD ciphers only, no renegotiation. Resumption by session
 * tickets whose key rotates every hour (daemon/dot_tickets.h), and a
 * server-side session cache for TLS 1.2 session IDs.
 *
 * Ownership: fg_dot_new() reads the certificate and the key (call it before
 * the privilege drop) and returns the shared state: SSL_CTX, ticket keys,
 * connection count and per-source table; freed by fg_dot_free() after every
 * worker part. fg_dot_worker_new() binds one worker's sockets and adds them
 * to its epoll set; the worker's thread alone calls fg_dot_event() and
 * fg_dot_sweep(); fg_dot_worker_free() closes its sockets and connections.
 */
#ifndef FG_DAEMON_DOT_H
#define FG_DAEMON_DOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"

/* epoll kinds of DoT sockets in a worker's set (data.u64 = kind << 32 |
 * index, as the worker's own kinds 1..4) */
enum { FG_DOT_EV_LISTEN = 8, FG_DOT_EV_CONN = 9 };

/* Counters of one worker, written by it only. */
typedef struct fg_dot_stats {
	_Atomic uint64_t accepted;         /* connections taken */
	_Atomic uint64_t rejected;         /* over tls-max-clients */
	_Atomic uint64_t source_rejected;  /* over tcp-max-per-source */
	_Atomic uint64_t handshake_failed; /* not TLS, bad version, bad record, EOF */
	_Atomic uint64_t resumed;          /* handshakes that resumed a session */
	_Atomic uint64_t queries;          /* DNS messages received */
	_Atomic uint64_t tls_errors;       /* record errors after the handshake */
	_Atomic uint64_t dns_errors;       /* messages that could not be answered */
	_Atomic uint64_t idle_closed;      /* idle past tls-idle-timeout */
	_Atomic uint64_t timeouts;         /* handshake or query past tcp-query-timeout */
} fg_dot_stats_t;

typedef struct fg_dot fg_dot_t;
typedef struct fg_dot_worker fg_dot_worker_t;

/* Answer one DNS message `msg` from `peer` into out[cap] as over TCP
 * (grant included). Returns the answer's length, or <= 0 when the message
 * gets no answer (the connection is then closed, as for TCP). */
typedef int (*fg_dot_answer_fn)(void *ctx, const struct sockaddr_storage *peer,
				const uint8_t *msg, size_t len, uint8_t *out, size_t cap);

/* NULL in *out and 0 when `conf` has no tls-listen. Errors name the file
 * and OpenSSL's reason (logged). */
int fg_dot_new(const fg_conf_t *conf, unsigned nworkers, fg_dot_t **out);
void fg_dot_free(fg_dot_t *d);

/* The limits a reload applies at once (idle and query timeouts, per-source
 * cap); the rest needs a restart. */
void fg_dot_limits_set(fg_dot_t *d, const fg_conf_t *conf);

/* Open worker `idx`'s listening sockets into `epfd`. `stats` outlives the
 * worker part. */
int fg_dot_worker_new(fg_dot_t *d, unsigned idx, int epfd, fg_dot_answer_fn fn, void *ctx,
		      fg_dot_stats_t *stats, fg_dot_worker_t **out);
void fg_dot_worker_free(fg_dot_worker_t *w);

/* An epoll event of kind FG_DOT_EV_* with index `idx`. */
void fg_dot_event(fg_dot_worker_t *w, uint32_t kind, uint32_t idx, uint32_t events);

/* Close connections past their deadlines; call every tick. */
void fg_dot_sweep(fg_dot_worker_t *w);

#endif
