/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's event log: one JSON object per line with the flow fields of
 * fluxgated's events (timestamp, event_type, src_ip, src_port, dest_ip,
 * dest_port, proto), so the gateway's "decoy" events and the bed's join on
 * the 5-tuple. event_type is "decoy"; what happened is in the "decoy"
 * object ({"event":"flow_start","persona":"web","service":"http",...}).
 *
 * Single-threaded (the event loop's thread). Writes are appends of whole
 * lines (O_APPEND, one write() per line); a failed write is counted, never
 * retried: the loop must not block on a slow disk.
 *
 * Ownership: fd_event_open() returns a log owned by the caller, released
 * by fd_event_close(). fd_event_emit() takes ownership of `detail`.
 */
#ifndef FG_FLUXDECOY_EVENT_H
#define FG_FLUXDECOY_EVENT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct fd_event fd_event_t;

/* NULL path: events go nowhere (emit still frees `detail`). */
int fd_event_open(const char *path, fd_event_t **out);
void fd_event_close(fd_event_t *ev);

void fd_event_emit(fd_event_t *ev, const struct sockaddr_storage *src,
		   const struct sockaddr_storage *dst, json_t *detail);
/* The same with the flow's protocol named ("TCP", "UDP"); emit is "TCP". */
void fd_event_emit_proto(fd_event_t *ev, const struct sockaddr_storage *src,
			 const struct sockaddr_storage *dst, const char *proto,
			 json_t *detail);

/* Lines written and lines lost. */
uint64_t fd_event_written(const fd_event_t *ev);
uint64_t fd_event_dropped(const fd_event_t *ev);

/* "2026-11-22T03:24:15.123456+0000", the format of fluxgated's log. */
void fd_event_timestamp(char out[40]);

/* Address and port of a socket address as text (IPv4-mapped as IPv4). */
void fd_sockaddr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen,
		      unsigned *port);

#endif
