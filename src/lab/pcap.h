/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Session timing from a pcap trace, for fluxlab's replay generator (the DDoS
 * workbench's replay tool): the TCP connection openings (SYN without ACK,
 * IPv4 or IPv6) of a classic libpcap file, as (time, source, port). Pure: a
 * buffer in, a table out; no I/O, no globals. Reads both byte orders,
 * micro- and nanosecond files, and the link types Ethernet (1, with 802.1Q
 * tags), raw IP (101, 228, 229), Linux cooked (113) and BSD loopback (0).
 * Everything else in the file (other protocols, truncated captures of a
 * packet's headers) is skipped and counted; a malformed file (bad magic, a
 * record header or length that runs past the end, a snaplen over 256 KiB)
 * is an error with the offset that broke it.
 *
 * Ownership: lab_pcap_parse() allocates out->starts; lab_pcap_free() frees
 * it. The buffer is only read.
 */
#ifndef FG_LAB_PCAP_H
#define FG_LAB_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define LAB_PCAP_MAX_STARTS 1000000u   /* sessions kept from one trace */

typedef struct lab_pcap_start {
	double t;              /* seconds since the first opening in the trace */
	uint32_t src;          /* index of the source address (0..nsources-1), in order of appearance */
	uint16_t dport;
} lab_pcap_start_t;

typedef struct lab_pcap {
	lab_pcap_start_t *starts;   /* by time, as in the file */
	size_t nstarts;
	size_t nsources;
	size_t packets;             /* records in the file */
	size_t skipped;             /* records that were not a connection opening */
	double span;                /* last opening - first opening, seconds */
} lab_pcap_t;

/* 0, or -EINVAL with msg (offset and reason) filled; -ENOMEM. */
int lab_pcap_parse(const uint8_t *buf, size_t len, lab_pcap_t *out, char *msg, size_t msglen);
void lab_pcap_free(lab_pcap_t *p);

/* Writes a trace of session openings as a nanosecond pcap with link type
 * raw IPv4 (101): one 40-byte IPv4+TCP SYN per opening, from 10.1.A.B to
 * 198.51.100.1:dport. Returns the bytes written into buf (0 if cap is too
 * small: 24 + 56 per opening). Used by `fluxlab run --trace-out` to make
 * the shipped sample trace. */
size_t lab_pcap_write(uint8_t *buf, size_t cap, const lab_pcap_start_t *starts, size_t n, uint64_t t0_ns);

#endif
