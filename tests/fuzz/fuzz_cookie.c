/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness for the DNS COOKIE option (RFC 7873 / RFC 9018): every
 * input is a query packet. It is parsed; a parsed COOKIE is judged against
 * a fixed secret, answered with a fresh server cookie (truncated answer and
 * error response), and the fresh cookie must verify for the same client at
 * the same time and fail for another address. The input is also fed to the
 * option parser as a bare option body.
 *
 * The hash context is made once and kept (static state is fine in a
 * harness only).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/cookie.h"
#include "dns/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_siphash_t *h;
static const uint8_t secret[FG_COOKIE_SECRET_LEN] = {
	0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f,
	0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ip4[4] = { 198, 51, 100, 100 }, other4[4] = { 198, 51, 100, 101 };
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t out[FG_DNS_UDP_MAX];
	fg_dns_query_t q;
	fg_cookie_t c;
	enum fg_dns_parse_action act;
	int rcode;

	if (!h && fg_siphash_new(&h) < 0)
		abort();
	/* the clock comes from the input too, so stale and future stamps and
	 * the 32-bit wrap are reached */
	uint32_t now = 1559731985u;
	if (size >= 4)
		memcpy(&now, data + size - 4, 4);

	if (fg_cookie_parse(data, size, &c) == 0) {
		if (c.server_len > FG_COOKIE_SERVER_MAX)
			abort();
		(void)fg_cookie_verify(h, secret, &c, now, AF_INET, ip4);
		(void)fg_cookie_verify(h, secret, &c, now, AF_INET6, ip6);
	}

	int prc = fg_dns_parse_query(data, size, &q, &act, &rcode);
	if (q.has_cookie) {
		(void)fg_cookie_verify(h, secret, &q.cookie, now, AF_INET, ip4);
		if (fg_cookie_make(h, secret, q.cookie.client, now, AF_INET, ip4,
				   q.resp_cookie) < 0)
			abort();
		q.resp_cookie_set = true;
		fg_cookie_t fresh = q.cookie;
		fresh.server_len = FG_COOKIE_SERVER_LEN;
		memcpy(fresh.server, q.resp_cookie, FG_COOKIE_SERVER_LEN);
		if (fg_cookie_verify(h, secret, &fresh, now, AF_INET, ip4) != FG_COOKIE_VALID)
			abort();        /* our own fresh cookie must verify */
		if (fg_cookie_verify(h, secret, &fresh, now, AF_INET, other4) != FG_COOKIE_BAD)
			abort();        /* and be bound to the client address */
	}
	if (prc == 0)
		(void)fg_dns_build_truncated(&q, out, sizeof(out));
	if (prc == 0 || act == FG_DNS_REPLY_ERROR)
		(void)fg_dns_build_error(data, size, &q, rcode ? rcode : 5, out, sizeof(out));
	return 0;
}
