/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the DNS-aware UDP matcher (decoy/udpdns.h). The
 * first input octet picks the role of the rest:
 *
 *   even: a query from an attacker, against a table of question entries
 *         and templates captured from BIND 9.18. An answer must fit the
 *         buffer (also shrunk to small sizes), carry the query's ID, be a
 *         response (QR), stay within amplification x the datagram and
 *         within the query's UDP size; a cookie query is answered only
 *         with a peer to make the server cookie for.
 *   odd:  a captured reply from a hand-edited persona, for a fixed query,
 *         under each match kind: what fd_udp_dns_check() accepts must
 *         render for that very query without an error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "decoy/persona.h"
#include "decoy/udpdns.h"
#include "decoy/udpwire.h"
#include "dns/siphash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* named 9.18: www.example.test A (dig, dig +norec), nope.example.test A,
 * example.test TXT, www.other.test A, example.test SOA with EDNS version
 * 1; see tests/unit/test_udpdns.c */
static const char PERSONA[] =
	"persona:\n  name: ns\nudp:\n  - port: 53\n    amplification: 4\n"
	"    replies:\n"
	"      - request: \"2d420120000100000000000103777777076578616d706c650474657374000001000100002904d000000000000c000a0008042ca921000c282d\"\n"
	"        reply: \"2d428500000100010000000103777777076578616d706c6504746573740000010001c00c000100010000012c00040a00020a00002904d000000000001c000a0018042ca921000c282d010000006b0fac8e3ffc78c9530aaa2a\"\n"
	"        match: question\n"
	"      - request: \"71850020000100000000000103777777076578616d706c650474657374000001000100002904d000000000000c000a000813af2384b7cd90bd\"\n"
	"        reply: \"71858400000100010001000203777777076578616d706c6504746573740000010001c00c000100010000012c00040a00020ac010000200010000012c0006036e7331c010c03e000100010000012c00040a00020a00002904d000000000001c000a001813af2384b7cd90bd010000006b0fac86283d71ae305ee985\"\n"
	"        match: question\n"
	"      - request: \"af2e01200001000000000001046e6f7065076578616d706c650474657374000001000100002904d000000000000c000a00087ce0478dee48cd7c\"\n"
	"        reply: \"af2e85030001000000010001046e6f7065076578616d706c6504746573740000010001c011000600010000012c0027036e7331c0110a686f73746d6173746572c01178c4240900000e1000000258000151800000012c00002904d000000000001c000a00187ce0478dee48cd7c010000006b0fac86f23f57a2dde10c24\"\n"
	"        match: nxdomain\n"
	"      - request: \"819e01200001000000000001076578616d706c650474657374000010000100002904d000000000000c000a0008424bffc30934b276\"\n"
	"        reply: \"819e85000001000000010001076578616d706c6504746573740000100001c00c000600010000012c0027036e7331c00c0a686f73746d6173746572c00c78c4240900000e1000000258000151800000012c00002904d000000000001c000a0018424bffc30934b276010000006b0fac864971273bd965c37e\"\n"
	"        match: nodata\n"
	"      - request: \"21d10120000100000000000103777777056f746865720474657374000001000100002904d000000000000c000a0008512a361bdd25b4f8\"\n"
	"        reply: \"21d18105000100000000000103777777056f746865720474657374000001000100002904d000000000001c000a0018512a361bdd25b4f8010000006b0fac86ef73a19f48cc12f4\"\n"
	"        match: other\n"
	"      - request: \"125a01200001000000000001076578616d706c650474657374000006000100002904d000010000000c000a00084b7f35ca339dcfab\"\n"
	"        reply: \"125a81000001000000000001076578616d706c650474657374000006000100002904d0010000000000\"\n"
	"        match: badvers\n";

/* the query of the odd role: www.example.test A, EDNS, a client cookie */
static const uint8_t QUERY[] = {
	0x2d, 0x42, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
	0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
};

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx; (void)file; (void)line; (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fd_udp_table_t *t;
	static fg_siphash_t *sip;
	static const uint8_t secret[16] = "fuzz-secret-0123";
	static const uint8_t a4[4] = { 192, 0, 2, 1 };
	uint8_t out[FD_UDP_MAX_PAYLOAD + 64];

	if (!t) {
		fd_persona_t *p = NULL;
		if (fd_persona_load_buffer("fuzz", PERSONA, sizeof(PERSONA) - 1, &p,
					   diag, NULL) < 0 ||
		    fd_udp_table_build(&p->udp[0], &t) < 0 || fg_siphash_new(&sip) < 0)
			abort();
		fd_persona_free(p);
	}
	if (size < 1)
		return 0;
	fd_udp_peer_t peer = { sip, secret, 1796188031u, AF_INET, a4 };
	const uint8_t *d = data + 1;
	size_t n = size - 1;

	if ((data[0] & 1) == 0) {
		int m = fd_udp_answer(t, &peer, d, n, out, sizeof(out));
		if (m > 0) {
			if ((size_t)m > sizeof(out) || (size_t)m > t->amplification * n ||
			    m < 12 || memcmp(out, d, 2) != 0 || !(out[2] & 0x80) ||
			    (size_t)m > 1232)
				abort();
		} else if (m < 0 && m != -ERANGE) {
			abort();      /* the captures render: never another error */
		}
		for (size_t cap = 0; cap < 200; cap += 13) {
			int r = fd_udp_answer(t, &peer, d, n, out, cap);
			if (r > (int)cap || (m > 0 && r > 0 && r != m))
				abort();
		}
		/* no peer: a cookie query is never answered without its cookie */
		(void)fd_udp_answer(t, NULL, d, n, out, sizeof(out));
		return 0;
	}
	for (int k = FD_UDP_QUESTION; k < FD_UDP_NMATCH; k++) {
		if (fd_udp_dns_check((enum fd_udp_match)k, QUERY, sizeof(QUERY), d, n,
				     NULL, 0) < 0)
			continue;
		fd_udp_dnskey_t key;
		if (fd_udp_dns_key(QUERY, sizeof(QUERY), &key) < 0)
			abort();
		fd_udp_dnsent_t e = { (enum fd_udp_match)k, &key, d, n };
		int m = fd_udp_dns_answer(&e, 1, &peer, QUERY, sizeof(QUERY), out,
					  sizeof(out));
		if (m < 0)
			abort();      /* checked, so it renders */
	}
	return 0;
}
