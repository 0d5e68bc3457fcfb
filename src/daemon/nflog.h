/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Decoy hits from the kernel: a subscriber to one NFLOG group (netlink,
 * libnetfilter_log). The nftables ruleset logs to that group, rate-limited
 * in the rule itself, every packet it sends to the decoy bed (a pool miss,
 * or a quarantined source). For each logged packet this module parses the
 * IPv4/IPv6 and TCP/UDP headers of the copied payload and hands the flow to
 * a callback (the daemon emits a `decoy` event and counts the hit).
 *
 * Threading: the handle belongs to one thread (the main loop): put
 * fg_nflog_fd() in its epoll set and call fg_nflog_dispatch() when it is
 * readable; the callback runs inside fg_nflog_dispatch() on that thread.
 * fg_pkt_parse() is pure and may be called from anywhere.
 *
 * Ownership: fg_nflog_open() returns a handle owned by the caller, released
 * with fg_nflog_close() (which unbinds the group). The packet and prefix
 * given to the callback are valid during the call only.
 */
#ifndef FG_DAEMON_NFLOG_H
#define FG_DAEMON_NFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What fg_pkt_parse() finds in a packet that starts at its IP header. */
typedef struct fg_pkt_info {
	uint8_t family;        /* AF_INET or AF_INET6 */
	uint8_t proto;         /* transport protocol (after IPv6 extension headers) */
	bool has_ports;        /* TCP, UDP, UDP-Lite or SCTP with its ports present */
	uint8_t tcp_flags;     /* TCP flags octet when present, else 0 */
	uint16_t sport, dport; /* host byte order; 0 unless has_ports */
	uint8_t src[16];       /* network byte order, 4 or 16 octets */
	uint8_t dst[16];
} fg_pkt_info_t;

/*
 * Parse the network and transport headers at the start of `buf` (pure,
 * bounds-checked). Returns 0 when the IP header is complete (the addresses
 * are known); the ports are filled only when the transport header is there
 * too and the packet is not a non-first fragment. Returns -FG_ETRUNC when
 * the IP header is cut short, -FG_EMALF for an unknown IP version or an
 * impossible header length.
 */
int fg_pkt_parse(const uint8_t *buf, size_t len, fg_pkt_info_t *out);

/* One logged packet; `prefix` is the rule's log prefix ("" when none). */
typedef void (*fg_nflog_fn)(void *ctx, const fg_pkt_info_t *pkt, const char *prefix);

typedef struct fg_nflog fg_nflog_t;

/* Bytes of each packet the kernel copies to us: enough for an IPv6 header,
 * a few extension headers and the start of TCP. */
#define FG_NFLOG_COPY_LEN 256

/* Bind NFLOG `group` (1..65535) and deliver its packets to `cb`. Needs
 * CAP_NET_ADMIN. -EBUSY when another process (ulogd) holds the group. */
int fg_nflog_open(uint16_t group, fg_nflog_fn cb, void *ctx, fg_nflog_t **out);

/* The netlink socket, non-blocking, for the caller's epoll set. */
int fg_nflog_fd(const fg_nflog_t *nl);

/* Read what is pending (bounded per call so the main loop stays
 * responsive) and run the callback for each packet. Returns the number of
 * packets delivered, or a negative error for a broken socket. */
int fg_nflog_dispatch(fg_nflog_t *nl);

/* Netlink trouble since open: receive overruns (ENOBUFS: the kernel dropped
 * log messages because we were slow) and other receive/parse failures. */
uint64_t fg_nflog_errors(const fg_nflog_t *nl);
/* Logged packets whose headers could not be parsed. */
uint64_t fg_nflog_malformed(const fg_nflog_t *nl);

void fg_nflog_close(fg_nflog_t *nl);

#endif
