/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event log: one JSON object per line in the style of Suricata EVE.
 *
 *   {"timestamp":"2026-11-22T03:24:15.123456+0000","event_type":"dns",
 *    "src_ip":"192.0.2.7","src_port":40312,"dest_ip":"192.0.2.53",
 *    "dest_port":53,"proto":"UDP","dns":{"query":"www.example.test",
 *    "qtype":"A","rcode":"NOERROR","scope":"client",
 *    "answer":"198.51.100.7","ttl":5}}
 *
 * Timestamps are always UTC ("+0000") so that logs of gateways in different
 * time zones sort and compare as text. Flow fields (src_ip ... proto) are
 * left out when an event has no flow (reload) or only a source (quarantine).
 *
 * Threading. fg_evlog_emit() and the typed helpers may be called from any
 * thread and never block on I/O: the line is formatted on the caller's
 * thread straight into a fixed-size slot of a bounded lock-free ring
 * (multi-producer, single-consumer); one writer thread owned by the log
 * drains the ring to the file in batches. When the ring is full the event is
 * dropped and counted (fg_evlog_dropped()): the DNS path is never slowed by
 * a slow disk. fg_evlog_reopen() and fg_evlog_close() are for the main
 * thread only.
 *
 * Open the log after the process dropped its privileges: a thread gets
 * the seccomp filter and capability sets of its creator at creation only.
 *
 * Every function accepts a NULL log and then does nothing (returns 0), so
 * callers need no "is the event log configured?" test.
 *
 * Ownership: fg_evlog_open() returns a handle owned by the caller;
 * fg_evlog_close() drains what is queued, writes it, joins the writer and
 * frees the handle. Strings passed to the emit functions are only read
 * during the call.
 */
#ifndef FG_DAEMON_EVENTLOG_H
#define FG_DAEMON_EVENTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/eventlog_fmt.h"

/* Ring capacity used when fg_evlog_open() is given 0. */
#define FG_EVLOG_DEFAULT_CAPACITY 8192

typedef struct fg_evlog fg_evlog_t;

/* ---- the log ------------------------------------------------------------- */

/* Open (create, append, mode 0640) `path` and start the writer thread.
 * `capacity` is the number of queued lines (rounded up to a power of two,
 * 0 = FG_EVLOG_DEFAULT_CAPACITY); memory use is capacity * LINE_MAX. The
 * writer thread blocks every signal (signals belong to the main thread). */
int fg_evlog_open(const char *path, size_t capacity, fg_evlog_t **out);

/* Queue one event, stamped now. Any thread; never blocks. Returns 0, or
 * -ENOBUFS (ring full) / -FG_ESPACE (line too long): dropped and counted. */
int fg_evlog_emit(fg_evlog_t *ev, const fg_event_t *e);

/* As fg_evlog_open() on a file already open for appending (the [priv]
 * process opens it with privilege separation, daemon/privsep.h). Takes
 * `fd` in every case, closed on error; `path` only names it in messages. */
int fg_evlog_adopt(const char *path, int fd, size_t capacity, fg_evlog_t **out);

/* Reopen the file by its path (logrotate's postrotate sends SIGUSR1). Main
 * thread. The new file is opened here, so an error is returned to the caller
 * and the old file stays in use; the writer switches between two batches. */
int fg_evlog_reopen(fg_evlog_t *ev);

/* As fg_evlog_reopen() with the new file already open: takes `fd` (a
 * negative errno is logged and returned, the old file kept). Main thread. */
int fg_evlog_reopen_fd(fg_evlog_t *ev, int fd);

/* Events dropped since open (ring full, too long). Any thread. */
uint64_t fg_evlog_dropped(const fg_evlog_t *ev);
/* Lines written to the file, and write(2) failures (lines lost). */
uint64_t fg_evlog_written(const fg_evlog_t *ev);
uint64_t fg_evlog_write_errors(const fg_evlog_t *ev);

/* Write what is queued, stop the writer, close the file, free. */
void fg_evlog_close(fg_evlog_t *ev);

/* ---- typed helpers: build the event and fg_evlog_emit() it -------------- */

/* A DNS answer. `peer` asked, at `local` (may be NULL) over `proto`
 * (IPPROTO_UDP/TCP); scope and answer are NULL when no address was handed
 * out. */
int fg_evlog_dns(fg_evlog_t *ev, const struct sockaddr *peer, const struct sockaddr *local,
		 uint8_t proto, const char *qname, uint16_t qtype, uint8_t rcode,
		 const char *scope, const char *answer, uint32_t ttl);

/* A grant committed to the data plane for a query from `peer`. */
int fg_evlog_grant(fg_evlog_t *ev, const struct sockaddr *peer, const char *service,
		   const char *scope, const char *client, const char *address,
		   const char *backend, uint32_t timeout_ms);

/* A packet the kernel sent to the decoy bed (from NFLOG): who, to which
 * pool address and port. reason/pool may be NULL. */
int fg_evlog_decoy(fg_evlog_t *ev, const fg_ev_flow_t *flow, const char *reason,
		   const char *pool);

/* Quarantine / release of a source (`family`, 4/16 octets in `addr`). */
int fg_evlog_quarantine(fg_evlog_t *ev, int family, const uint8_t *addr,
			uint32_t timeout_ms, const char *origin);
int fg_evlog_release(fg_evlog_t *ev, int family, const uint8_t *addr, const char *origin);

/* A configuration reload: ok, or failed with `message`. */
int fg_evlog_reload(fg_evlog_t *ev, bool ok, const char *config, uint32_t zones,
		    uint32_t services, const char *message);

/* An operational error worth an event (grant commit failed, netlink error). */
int fg_evlog_error(fg_evlog_t *ev, const char *where, int code, const char *message);

#endif
