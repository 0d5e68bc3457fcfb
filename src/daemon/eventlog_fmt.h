/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Events and their JSON form: the event types, the flow part and the pure
 * formatter of one line in the style of Suricata EVE (the line format is
 * described in daemon/eventlog.h, which queues and writes the lines).
 *
 * Pure: no I/O, no clock, no globals; the caller passes the timestamp.
 * Strings of an event are only read during the call.
 */
#ifndef FG_DAEMON_EVENTLOG_FMT_H
#define FG_DAEMON_EVENTLOG_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

/* Longest line (with its newline). Longer events are cut field by field
 * (every string value is capped at FG_EVLOG_STR_MAX output characters); an
 * event that still does not fit is dropped and counted. */
#define FG_EVLOG_LINE_MAX 1024
#define FG_EVLOG_STR_MAX 300

enum fg_ev_type {
	FG_EV_DNS = 0,
	FG_EV_GRANT,
	FG_EV_DECOY,
	FG_EV_QUARANTINE,
	FG_EV_RELEASE,
	FG_EV_RELOAD,
	FG_EV_ERROR,
	FG_EV_NTYPES
};

/* The flow part of an event. An address family of 0 leaves that side out;
 * ports are written for TCP, UDP, UDP-Lite and SCTP only; proto 0 leaves
 * "proto" out. Addresses in network byte order (4 or 16 octets). */
typedef struct fg_ev_flow {
	uint8_t sfamily, dfamily;   /* AF_INET, AF_INET6 or 0 */
	uint8_t proto;              /* IPPROTO_* or 0 */
	uint16_t sport, dport;      /* host byte order */
	uint8_t src[16], dst[16];
} fg_ev_flow_t;

/* One event. Strings may be NULL: the key is then left out. */
typedef struct fg_event {
	enum fg_ev_type type;
	fg_ev_flow_t flow;
	union {
		struct {
			const char *query;     /* presentation form */
			uint16_t qtype;
			uint8_t rcode;         /* 0..23; extended rcodes folded in */
			const char *scope;     /* "client", "net", "any" or NULL */
			const char *answer;    /* address handed out, or NULL */
			uint32_t ttl;          /* seconds; written when answer set */
		} dns;
		struct {
			const char *service;   /* service id */
			const char *scope;
			const char *client;    /* "192.0.2.7/32", "2001:db8::/56", "*" */
			const char *address;   /* the pool address */
			const char *backend;
			uint32_t timeout_ms;
		} grant;
		struct {                       /* pool traffic sent to the decoys */
			const char *reason;    /* "pool-miss", "quarantine", ... */
			const char *pool;      /* pool id, when known */
		} decoy;
		/* quarantine and release: the source is the flow's src_ip */
		struct {
			uint32_t timeout_ms;   /* 0: until released (quarantine only) */
			const char *origin;    /* "control", "policy", ... */
		} quarantine;
		struct {
			bool ok;
			const char *config;    /* path */
			const char *message;   /* reason when !ok */
			uint32_t zones, services;
		} reload;
		struct {
			const char *where;     /* subsystem: "grant", "nflog", ... */
			int code;              /* negative fluxgate/errno code or 0 */
			const char *message;
		} error;
	} u;
} fg_event_t;

/* Format `e` stamped with `ts` (CLOCK_REALTIME) as one JSON line ending in
 * '\n' into buf. Returns the line length (with the newline) or -FG_ESPACE
 * when it does not fit in `size`. Never writes past `size`; on success the
 * line is also NUL-terminated when there is room. */
int fg_evlog_format(const fg_event_t *e, const struct timespec *ts, char *buf, size_t size);

/* "2026-11-22T03:24:15.123456+0000" (31 characters + NUL into out[32]). */
void fg_evlog_timestamp(const struct timespec *ts, char out[32]);

/* Fill the flow from socket addresses (either may be NULL). IPv4-mapped
 * IPv6 addresses are written as IPv4. */
void fg_ev_flow_from_sockaddr(fg_ev_flow_t *flow, const struct sockaddr *src,
			      const struct sockaddr *dst, uint8_t proto);

/* "dns", "grant", ...; NULL for an unknown type. */
const char *fg_ev_type_name(enum fg_ev_type t);

#endif
