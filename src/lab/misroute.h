/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Why a legit session went to a decoy (or got no answer after its SYN):
 * the lab's verdict, from the gateway's own record of its grants rather
 * than from the TTL the client saw. Pure: no I/O, no clock, no globals.
 *
 * The TTL a client reads cannot tell when the grant behind it ends: TTLs
 * are whole seconds and a caching resolver counts them down in whole
 * seconds from its own (coarse) clock, so a cached answer can show up to
 * a second more than is left (unbound serves TTL 0 for up to a second
 * after the record's last full second). fluxgated logs every grant it
 * committed (time, address, scope, lifetime), so the lab knows when each
 * one ended; a misroute is then
 *   product: a grant covering the client and the address was surely live
 *            when the session's first SYN left (the gateway failed), or
 *            there was no grant for it at all (an answer without a grant);
 *   late:    no grant that covered it was surely live at the first SYN
 *            (with a margin for the SYN's way to the gateway): the client's
 *            own delay, or a cache that kept the answer. A SYN inside the
 *            commit's own duration before the end (the kernel took the
 *            grant at some moment of it) counts here, its "after" negative:
 *            the timelines show it;
 *   late, retransmitted: a grant was live at the first SYN, but the
 *            connection was made by a retransmitted SYN that left after it
 *            ended. Had the first SYN reached the gateway, its conntrack
 *            entry would have carried the retransmission to the real
 *            server; it was lost on the client's side (the lab's report
 *            shows the gateway's conntrack drops next to it, so a SYN the
 *            gateway itself dropped cannot hide here).
 *
 * Ownership: the caller owns every array; nothing is kept.
 */
#ifndef FG_LAB_MISROUTE_H
#define FG_LAB_MISROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One committed grant of a pool address. */
typedef struct lab_grant_span {
	double start, end;     /* the commit began; its log line + its lifetime: the
				* kernel took it in between, so it surely lived
				* until start + lifetime and surely ended by end
				* (seconds, any clock) */
	double end_min;        /* start + its lifetime */
	uint8_t addr[16];      /* the pool address (IPv4 in the first 4 bytes) */
	uint8_t client[16];    /* who may use it: an address or a prefix ... */
	uint8_t plen;          /* ... of this length; 0 = anyone */
	uint8_t fam;           /* 4 or 6 */
} lab_grant_span_t;

enum lab_mis_class { LAB_MIS_LATE = 0, LAB_MIS_PRODUCT = 1, LAB_MIS_LATE_RETRANS = 2 };

/* When the k-th retransmission of a SYN first sent at t leaves: Linux's
 * initial RTO is 1 s, doubled on every retry (t + 1, t + 3, t + 7, ...). */
double lab_syn_retrans_time(double t, unsigned k);

/* The SYN's way from the client to the gateway and the gap between the
 * kernel's insert and the grant's log line: a grant that ends less than
 * this after the first SYN counts as ended. */
#define LAB_MIS_MARGIN_S 0.05

/* Classifies the session from (fam, src) to addr whose first SYN left at
 * t_syn (same clock as the spans) and was retransmitted syn_retrans times
 * before the connection, against spans[0..n) (any order). *after gets how
 * long after the last covering grant ended the SYN that counted left
 * (late: the first; late, retransmitted: the last), or how long before the
 * live one ends (product, negative; 0 when there was no grant). */
enum lab_mis_class lab_misroute_class(const lab_grant_span_t *spans, size_t n, uint8_t fam,
				      const uint8_t src[16], const uint8_t addr[16], double t_syn,
				      unsigned syn_retrans, double *after);

/* true when the span's scope includes src (same family) */
bool lab_grant_covers(const lab_grant_span_t *g, uint8_t fam, const uint8_t src[16]);

#endif
