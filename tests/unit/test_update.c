/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 2136 UPDATE codec: the message layout (zone, delete RRset + add RR per
 * name, several names in one message), refusals (name outside the zone,
 * type, space), response parsing (rcode, extended rcode, TSIG error, id /
 * opcode / QR / trailing octets), the SOA serial, serial arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "dns/msg.h"
#include "dns/update.h"

static const uint8_t ZONE_W[] = "\x07" "example" "\x04" "test";   /* + root NUL */

static void test_build_layout(void **st)
{
	(void)st;
	fg_update_rrset_t sets[2] = {
		{ .name = "www.example.test", .type = FG_TYPE_A, .ttl = 30,
		  .addr = { 198, 51, 100, 7 } },
		{ .name = "app.example.test.", .type = FG_TYPE_AAAA, .ttl = 5,
		  .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 } },
	};
	uint8_t buf[512];
	char err[128] = "";
	int n = fg_update_build(buf, sizeof buf, 0x1234, "example.test", sets, 2, err, sizeof err);
	assert_true(n > 0);
	/* header: id, opcode 5, ZO 1, PR 0, UP 4, AD 0 */
	static const uint8_t hdr[12] = { 0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 4, 0, 0 };
	assert_memory_equal(buf, hdr, 12);
	size_t p = 12;
	assert_memory_equal(buf + p, ZONE_W, sizeof ZONE_W);
	p += sizeof ZONE_W;
	assert_int_equal(buf[p] << 8 | buf[p + 1], FG_TYPE_SOA);
	assert_int_equal(buf[p + 2] << 8 | buf[p + 3], 1);
	p += 4;
	/* delete RRset www A: class ANY, ttl 0, rdlen 0 */
	assert_memory_equal(buf + p, "\x03www", 4);
	p += 4 + sizeof ZONE_W;
	static const uint8_t del_a[10] = { 0, 1, 0, 255, 0, 0, 0, 0, 0, 0 };
	assert_memory_equal(buf + p, del_a, 10);
	p += 10;
	/* add www 30 IN A 198.51.100.7 */
	p += 4 + sizeof ZONE_W;
	static const uint8_t add_a[14] = { 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 198, 51, 100, 7 };
	assert_memory_equal(buf + p, add_a, 14);
	p += 14;
	/* the AAAA pair */
	p += 4 + sizeof ZONE_W + 10;
	p += 4 + sizeof ZONE_W;
	assert_int_equal(buf[p + 1], FG_TYPE_AAAA);
	assert_int_equal(buf[p + 9], 16);
	assert_int_equal(buf[p + 10 + 15], 9);
	p += 26;
	assert_int_equal((size_t)n, p);
}

static void test_build_refusals(void **st)
{
	(void)st;
	fg_update_rrset_t s = { .name = "www.other.test", .type = FG_TYPE_A, .ttl = 30 };
	uint8_t buf[512];
	char err[128] = "";
	assert_int_equal(fg_update_build(buf, sizeof buf, 1, "example.test", &s, 1, err, sizeof err),
			 -FG_ENOZONE);
	assert_non_null(strstr(err, "www.other.test is not inside zone example.test"));
	s.name = "www.example.test";
	s.type = FG_TYPE_TXT;
	assert_true(fg_update_build(buf, sizeof buf, 1, "example.test", &s, 1, err, sizeof err) < 0);
	assert_non_null(strstr(err, "neither A nor AAAA"));
	s.type = FG_TYPE_A;
	s.ttl = 0x80000000u;
	assert_true(fg_update_build(buf, sizeof buf, 1, "example.test", &s, 1, err, sizeof err) < 0);
	s.ttl = 1;
	assert_int_equal(fg_update_build(buf, 40, 1, "example.test", &s, 1, err, sizeof err),
			 -FG_ESPACE);
	assert_non_null(strstr(err, "does not fit"));
	assert_true(fg_update_build(buf, sizeof buf, 1, "bad..zone", &s, 1, err, sizeof err) < 0);
	assert_true(fg_update_build(buf, sizeof buf, 1, "example.test", &s, 0, err, sizeof err) < 0);
	/* the apex itself may be updated */
	s.name = "example.test";
	assert_true(fg_update_build(buf, sizeof buf, 1, "example.test", &s, 1, err, sizeof err) > 0);
}

/* A response: header + echoed zone + optional extra tail. */
static size_t mk_resp(uint8_t *b, uint16_t id, uint16_t flags, uint16_t ar,
		      const uint8_t *tail, size_t tlen)
{
	size_t p = 0;
	b[p++] = (uint8_t)(id >> 8);
	b[p++] = (uint8_t)id;
	b[p++] = (uint8_t)(flags >> 8);
	b[p++] = (uint8_t)flags;
	static const uint8_t cnt[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(b + p, cnt, 8);
	b[11] = (uint8_t)ar;
	p += 8;
	memcpy(b + p, ZONE_W, sizeof ZONE_W);
	p += sizeof ZONE_W;
	static const uint8_t soa_in[4] = { 0, 6, 0, 1 };
	memcpy(b + p, soa_in, 4);
	p += 4;
	if (tlen)
		memcpy(b + p, tail, tlen);
	return p + tlen;
}

/* TSIG owner "k.", algorithm hmac-sha256., time, fudge 300, MAC size 0,
 * original id, error 17 (BADKEY), other len 0 */
static const uint8_t TSIG_BADKEY[] = {
	1, 'k', 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 29,
	11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0,
	0, 0, 0x5f, 0, 0, 0, 1, 44, 0, 0, 0x12, 0x34, 0, 17, 0, 0,
};

static void test_parse_response(void **st)
{
	(void)st;
	uint8_t b[512];
	char err[128] = "";
	fg_update_resp_t r;
	/* QR | opcode 5 | NOERROR */
	size_t n = mk_resp(b, 0x1234, 0xa800, 0, NULL, 0);
	assert_int_equal(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err), 0);
	assert_int_equal(r.rcode, 0);
	assert_false(r.has_tsig);
	/* REFUSED */
	n = mk_resp(b, 0x1234, 0xa805, 0, NULL, 0);
	assert_int_equal(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err), 0);
	assert_int_equal(r.rcode, FG_UPD_REFUSED);
	assert_string_equal(fg_update_rcode_name(r.rcode), "REFUSED");
	/* NOTAUTH with an unsigned TSIG carrying BADKEY */
	n = mk_resp(b, 0x1234, 0xa809, 1, TSIG_BADKEY, sizeof TSIG_BADKEY);
	assert_int_equal(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err), 0);
	assert_int_equal(r.rcode, FG_UPD_NOTAUTH);
	assert_true(r.has_tsig);
	assert_int_equal(r.tsig_error, FG_UPD_BADKEY);
	assert_int_equal(r.tsig_off, 12 + sizeof ZONE_W + 4);
	assert_string_equal(fg_update_rcode_name(r.tsig_error), "BADKEY");
	/* wrong id, QR clear, wrong opcode, trailing octet, truncated TSIG */
	assert_true(fg_update_parse_response(b, n, 0x1235, "example.test", &r, err, sizeof err) < 0);
	assert_non_null(strstr(err, "does not match"));
	n = mk_resp(b, 0x1234, 0x2800, 0, NULL, 0);
	assert_true(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err) < 0);
	n = mk_resp(b, 0x1234, 0x8000, 0, NULL, 0);
	assert_true(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err) < 0);
	assert_non_null(strstr(err, "opcode"));
	n = mk_resp(b, 0x1234, 0xa800, 0, (const uint8_t *)"x", 1);
	assert_true(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err) < 0);
	assert_non_null(strstr(err, "after the last record"));
	n = mk_resp(b, 0x1234, 0xa809, 1, TSIG_BADKEY, sizeof TSIG_BADKEY - 3);
	assert_true(fg_update_parse_response(b, n, 0x1234, "example.test", &r, err, sizeof err) < 0);
	/* another zone echoed */
	n = mk_resp(b, 0x1234, 0xa800, 0, NULL, 0);
	assert_true(fg_update_parse_response(b, n, 0x1234, "example.org", &r, err, sizeof err) < 0);
	assert_non_null(strstr(err, "another zone"));
	/* short */
	assert_true(fg_update_parse_response(b, 5, 0x1234, "example.test", &r, err, sizeof err) < 0);
}

static void test_soa(void **st)
{
	(void)st;
	uint8_t q[128];
	char err[128] = "";
	int n = fg_update_build_soa_query(q, sizeof q, 77, "example.test", err, sizeof err);
	assert_int_equal(n, 12 + (int)sizeof ZONE_W + 4);
	assert_int_equal(q[2], 0);   /* opcode QUERY, RD clear */

	/* answer: question + SOA (owner compressed to the question) */
	uint8_t b[256];
	memcpy(b, q, (size_t)n);
	b[2] = 0x84;   /* QR AA */
	b[7] = 1;      /* ANCOUNT */
	size_t p = (size_t)n;
	static const uint8_t rr[] = {
		0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 0,   /* rdlen patched */
		2, 'n', 's', 0xc0, 12,
		4, 'h', 'o', 's', 't', 0xc0, 12,
		0x78, 0x9a, 0xbc, 0xde, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
	};
	memcpy(b + p, rr, sizeof rr);
	b[p + 11] = (uint8_t)(sizeof rr - 12);
	p += sizeof rr;
	uint32_t serial = 0;
	assert_int_equal(fg_update_parse_soa(b, p, 77, "example.test", &serial, err, sizeof err), 0);
	assert_int_equal(serial, 0x789abcde);
	/* REFUSED is named */
	b[3] = 5;
	assert_true(fg_update_parse_soa(b, p, 77, "example.test", &serial, err, sizeof err) < 0);
	assert_non_null(strstr(err, "REFUSED"));
	b[3] = 0;
	/* rdlen one short */
	b[n + 11]--;
	assert_true(fg_update_parse_soa(b, p, 77, "example.test", &serial, err, sizeof err) < 0);
	b[n + 11]++;
	assert_true(fg_update_parse_soa(b, p, 78, "example.test", &serial, err, sizeof err) < 0);
}

static void test_serial(void **st)
{
	(void)st;
	assert_true(fg_serial_gt(2, 1));
	assert_false(fg_serial_gt(1, 1));
	assert_false(fg_serial_gt(1, 2));
	assert_true(fg_serial_gt(0, 0xffffffffu));   /* wraps */
	assert_true(fg_serial_gt(0x7fffffffu, 0));
	assert_false(fg_serial_gt(0x80000000u, 0));  /* undefined: not after */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_layout),
		cmocka_unit_test(test_build_refusals),
		cmocka_unit_test(test_parse_response),
		cmocka_unit_test(test_soa),
		cmocka_unit_test(test_serial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
