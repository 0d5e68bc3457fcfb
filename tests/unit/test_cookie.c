/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNS Cookies: RFC 9018 Appendix A server cookies, verification (window,
 * client IP, secret, layout), option lengths, and the COOKIE option on the
 * wire (FORMERR for bad lengths, echo of client cookie + server cookie).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "common/err.h"
#include "dns/cookie.h"
#include "dns/msg.h"

static void unhex(const char *s, uint8_t *out)
{
	for (size_t i = 0; s[2 * i]; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

static fg_siphash_t *H;

static int setup(void **st)
{
	(void)st;
	return fg_siphash_new(&H);
}

static int teardown(void **st)
{
	(void)st;
	fg_siphash_free(H);
	return 0;
}

struct vec {
	const char *secret, *client, *ip;
	int family;
	uint32_t ts;
	const char *server;
};

/* RFC 9018 Appendix A: A.1 (a new cookie), A.2 (a renewed one) and the
 * IPv6 example under the rolled-over secret */
static const struct vec vecs[] = {
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
	  AF_INET, 1559731985, "010000005cf79f111f8130c3eee29480" },
	{ "e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100",
	  AF_INET, 1559734385, "010000005cf7a871d4a564a1442aca77" },
	{ "dd3bdf9344b678b185a6f5cb60fca715", "22681ab97d52c298",
	  "2001:db8:220:1:59de:d0f4:8769:82b8", AF_INET6, 1559741817,
	  "010000005cf7c57926556bd0934c72f8" },
};

static void test_rfc9018_vectors(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint8_t key[16], cli[8], addr[16], want[16], got[16];
		unhex(vecs[i].secret, key);
		unhex(vecs[i].client, cli);
		unhex(vecs[i].server, want);
		assert_int_equal(inet_pton(vecs[i].family, vecs[i].ip, addr), 1);
		assert_int_equal(fg_cookie_make(H, key, cli, vecs[i].ts, vecs[i].family,
						addr, got), 0);
		assert_memory_equal(got, want, 16);

		/* and the same cookie verifies at its own time */
		fg_cookie_t c;
		uint8_t opt[24];
		memcpy(opt, cli, 8);
		memcpy(opt + 8, want, 16);
		assert_int_equal(fg_cookie_parse(opt, sizeof(opt), &c), 0);
		assert_int_equal(fg_cookie_verify(H, key, &c, vecs[i].ts, vecs[i].family, addr),
				 FG_COOKIE_VALID);
	}
}

static void mk(fg_cookie_t *c, const uint8_t key[16], uint32_t ts, const uint8_t ip[4])
{
	memset(c, 0, sizeof(*c));
	memcpy(c->client, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	c->server_len = 16;
	assert_int_equal(fg_cookie_make(H, key, c->client, ts, AF_INET, ip, c->server), 0);
}

static void test_verify(void **st)
{
	(void)st;
	uint8_t key[16], other[16];
	const uint8_t ip[4] = { 192, 0, 2, 1 }, ip2[4] = { 192, 0, 2, 2 };
	const uint32_t now = 1700000000u;
	fg_cookie_t c;

	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(fg_cookie_verify(H, key, NULL, now, AF_INET, ip), FG_COOKIE_NONE);

	mk(&c, key, now, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_VALID);
	/* wrong client IP, wrong secret */
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip2), FG_COOKIE_BAD);
	assert_int_equal(fg_cookie_verify(H, other, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	/* a flipped hash bit, a different client cookie */
	c.server[15] ^= 1;
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	mk(&c, key, now, ip);
	c.client[0] ^= 0x80;
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);

	/* window: 1 h back and 5 min ahead are fine, one second more is not */
	mk(&c, key, now - 3600, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_VALID);
	mk(&c, key, now - 3601, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	mk(&c, key, now + 300, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_VALID);
	mk(&c, key, now + 301, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	/* serial arithmetic across the 32-bit wrap */
	mk(&c, key, 0xFFFFFFF0u, ip);
	assert_int_equal(fg_cookie_verify(H, key, &c, 0x10u, AF_INET, ip), FG_COOKIE_VALID);

	/* layout: version, reserved, length */
	mk(&c, key, now, ip);
	c.server[0] = 2;
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	mk(&c, key, now, ip);
	c.server[2] = 1;
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	mk(&c, key, now, ip);
	c.server_len = 24;     /* 16 of ours and 8 of garbage */
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_BAD);
	c.server_len = 0;
	assert_int_equal(fg_cookie_verify(H, key, &c, now, AF_INET, ip), FG_COOKIE_CLIENT);
}

static void test_parse_lengths(void **st)
{
	(void)st;
	uint8_t buf[48];
	fg_cookie_t c;

	memset(buf, 0xAB, sizeof(buf));
	for (size_t n = 0; n <= sizeof(buf); n++) {
		int want = (n == 8 || (n >= 16 && n <= 40)) ? 0 : -FG_ECOOKIE;
		assert_int_equal(fg_cookie_parse(buf, n, &c), want);
		if (want == 0)
			assert_int_equal(c.server_len, n - 8);
	}
}

static void test_secret_hex(void **st)
{
	(void)st;
	uint8_t k[16];
	assert_int_equal(fg_cookie_secret_from_hex("e5e973e5a6b2a43f48e7dc849e37bfcf", k), 0);
	assert_int_equal(k[0], 0xe5);
	assert_int_equal(k[15], 0xcf);
	assert_int_equal(fg_cookie_secret_from_hex("e5e973e5a6b2a43f48e7dc849e37bfc", k), -EINVAL);
	assert_int_equal(fg_cookie_secret_from_hex("e5e973e5a6b2a43f48e7dc849e37bfcg", k), -EINVAL);
	assert_int_equal(fg_cookie_secret_from_hex(NULL, k), -EINVAL);
	fg_cookie_secret_clear(k);
	static const uint8_t zero[16];
	assert_memory_equal(k, zero, 16);
}

/* ---- the COOKIE option on the wire --------------------------------- */

/* A query for a.test/A with an OPT holding one option of `olen` octets
 * (code `code`), `nopt` times. */
static size_t query(uint8_t *b, uint16_t code, const uint8_t *odata, uint16_t olen,
		    int nopt)
{
	static const uint8_t head[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
					1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	size_t n = sizeof(head);
	memcpy(b, head, n);
	b[n++] = 0;                             /* root */
	b[n++] = 0; b[n++] = 41;                /* OPT */
	b[n++] = 0x04; b[n++] = 0xD0;           /* 1232 */
	b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0;
	uint16_t rdlen = (uint16_t)(nopt * (4 + olen));
	b[n++] = (uint8_t)(rdlen >> 8); b[n++] = (uint8_t)rdlen;
	for (int i = 0; i < nopt; i++) {
		b[n++] = (uint8_t)(code >> 8); b[n++] = (uint8_t)code;
		b[n++] = (uint8_t)(olen >> 8); b[n++] = (uint8_t)olen;
		memcpy(b + n, odata, olen);
		n += olen;
	}
	return n;
}

static void test_wire_parse(void **st)
{
	(void)st;
	uint8_t pkt[256], od[48];
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;

	for (int i = 0; i < 48; i++)
		od[i] = (uint8_t)i;
	/* client only */
	size_t n = query(pkt, FG_EDNS_OPT_COOKIE, od, 8, 1);
	assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), 0);
	assert_true(q.has_cookie);
	assert_int_equal(q.cookie.server_len, 0);
	assert_memory_equal(q.cookie.client, od, 8);
	assert_false(q.resp_cookie_set);
	/* client + server */
	n = query(pkt, FG_EDNS_OPT_COOKIE, od, 24, 1);
	assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), 0);
	assert_true(q.has_cookie);
	assert_int_equal(q.cookie.server_len, 16);
	assert_memory_equal(q.cookie.server, od + 8, 16);
	/* RFC 7873 5.2.2: bad lengths are FORMERR, and the OPT is echoed */
	static const uint16_t bad[] = { 0, 1, 7, 9, 15, 41, 48 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = query(pkt, FG_EDNS_OPT_COOKIE, od, bad[i], 1);
		assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), -FG_ECOOKIE);
		assert_int_equal(act, FG_DNS_REPLY_ERROR);
		assert_int_equal(rcode, FG_RCODE_FORMERR);
		assert_false(q.has_cookie);
		assert_true(q.has_edns);
	}
	/* two COOKIE options */
	n = query(pkt, FG_EDNS_OPT_COOKIE, od, 8, 2);
	assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), -FG_ECOOKIE);
	assert_int_equal(rcode, FG_RCODE_FORMERR);
	/* another option code of the same length means nothing */
	n = query(pkt, 65001, od, 7, 1);
	assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), 0);
	assert_false(q.has_cookie);
}

/* Find the COOKIE option in the OPT of a response we built. */
static const uint8_t *find_cookie(const uint8_t *r, size_t n, uint16_t *olen)
{
	/* header, question a.test A IN, then the OPT as the only record */
	size_t p = 12 + 8 + 4;
	assert_true(n >= p + 11);
	assert_int_equal(r[p], 0);
	assert_int_equal(r[p + 1] << 8 | r[p + 2], 41);
	size_t rdlen = (size_t)(r[p + 9] << 8 | r[p + 10]);
	size_t o = p + 11, end = o + rdlen;
	assert_int_equal(end, n);
	while (o + 4 <= end) {
		uint16_t code = (uint16_t)(r[o] << 8 | r[o + 1]);
		uint16_t l = (uint16_t)(r[o + 2] << 8 | r[o + 3]);
		if (code == FG_EDNS_OPT_COOKIE) {
			*olen = l;
			return r + o + 4;
		}
		o += 4u + l;
	}
	return NULL;
}

static void test_wire_echo(void **st)
{
	(void)st;
	uint8_t pkt[256], od[8] = { 9, 8, 7, 6, 5, 4, 3, 2 }, out[512];
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	uint16_t olen = 0;

	size_t n = query(pkt, FG_EDNS_OPT_COOKIE, od, 8, 1);
	assert_int_equal(fg_dns_parse_query(pkt, n, &q, &act, &rcode), 0);
	/* no server cookie set by the caller: none is invented */
	int len = fg_dns_build_truncated(&q, out, sizeof(out));
	assert_true(len > 0);
	assert_null(find_cookie(out, (size_t)len, &olen));

	memset(q.resp_cookie, 0xC5, sizeof(q.resp_cookie));
	q.resp_cookie_set = true;
	len = fg_dns_build_truncated(&q, out, sizeof(out));
	assert_true(len > 0);
	assert_true(out[2] & 0x02);                     /* TC */
	assert_int_equal(out[6] << 8 | out[7], 0);      /* no answer */
	const uint8_t *c = find_cookie(out, (size_t)len, &olen);
	assert_non_null(c);
	assert_int_equal(olen, 24);
	assert_memory_equal(c, od, 8);
	assert_memory_equal(c + 8, q.resp_cookie, 16);

	/* error responses carry it too (the client learns it from a REFUSED) */
	len = fg_dns_build_error(pkt, n, &q, FG_RCODE_REFUSED, out, sizeof(out));
	assert_true(len > 0);
	c = find_cookie(out, (size_t)len, &olen);
	assert_non_null(c);
	assert_memory_equal(c + 8, q.resp_cookie, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9018_vectors),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_secret_hex),
		cmocka_unit_test(test_wire_parse),
		cmocka_unit_test(test_wire_echo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
