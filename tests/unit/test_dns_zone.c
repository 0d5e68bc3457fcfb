/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone building: record text syntax (every type, TXT escapes and limits,
 * TTL forms), zone-level checks at finalize, service declarations. Records
 * are checked end to end: added as text, read back from an answer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "dns/msg.h"
#include "dns/zone.h"

static fg_zonedb_t *db;
static fg_zone_t *zone;
static char err[256];

static void new_db(void)
{
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 2, 3, 4, 5 };
	db = fg_zonedb_new();
	assert_non_null(db);
	assert_int_equal(fg_zonedb_add_zone(db, "example.test", 3600, &soa, &zone, err,
					    sizeof(err)), 0);
}

static int setup(void **state)
{
	(void)state;
	new_db();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fg_zonedb_free(db);
	db = NULL;
	return 0;
}

static int add(const char *text)
{
	err[0] = '\0';
	return fg_zone_add_record(zone, text, err, sizeof(err));
}

static void add_ok(const char *text)
{
	if (add(text))
		fail_msg("'%s': %s", text, err);
}

static void add_bad(const char *text, const char *msg_part)
{
	int rc = add(text);
	if (rc >= 0)
		fail_msg("'%s' accepted", text);
	if (!strstr(err, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", text, err, msg_part);
}

static void finalize_ok(void)
{
	if (fg_zonedb_finalize(db, err, sizeof(err)))
		fail_msg("finalize: %s", err);
}

static void finalize_bad(const char *msg_part)
{
	err[0] = '\0';
	assert_true(fg_zonedb_finalize(db, err, sizeof(err)) < 0);
	if (!strstr(err, msg_part))
		fail_msg("finalize message '%s' lacks '%s'", err, msg_part);
}

/* Query (uncompressed question), return the answer; *rd points at the
 * rdata of the first answer RR (its owner is a 2-octet pointer). */
static uint8_t out[65536];

static size_t ask(const char *label, uint16_t type, const uint8_t **rd, uint16_t *rdlen,
		  uint32_t *ttl)
{
	uint8_t pkt[512];
	size_t n = 0;
	memcpy(pkt, "\x11\x11\0\0\0\1\0\0\0\0\0\0", 12);
	n = 12;
	size_t l = strlen(label);
	if (l) {
		pkt[n++] = (uint8_t)l;
		memcpy(pkt + n, label, l);
		n += l;
	}
	memcpy(pkt + n, "\007example\004test\0", 14);
	n += 14;
	pkt[n++] = (uint8_t)(type >> 8);
	pkt[n++] = (uint8_t)type;
	pkt[n++] = 0;
	pkt[n++] = 1;
	fg_dns_query_t q;
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, true, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	size_t a = n;
	if (rd && out[7] > 0) {
		assert_int_equal(out[a], 0xC0);
		*ttl = ((uint32_t)out[a + 6] << 24) | ((uint32_t)out[a + 7] << 16) |
		       ((uint32_t)out[a + 8] << 8) | out[a + 9];
		*rdlen = (uint16_t)((out[a + 10] << 8) | out[a + 11]);
		*rd = out + a + 12;
	}
	return out[7];  /* ANCOUNT (low octet) */
}

static void test_types_roundtrip(void **state)
{
	(void)state;
	const uint8_t *rd;
	uint16_t rl;
	uint32_t ttl;
	add_ok("a A 192.0.2.1");
	add_ok("a 1h30m AAAA 2001:db8::1 ; comment");
	add_ok("b IN 60 A 10.0.0.1");
	add_ok("c 60 IN A 10.0.0.2");
	add_ok("t TXT \"a\\\"b\" plain \\065\\255x \"\"");
	add_ok("s SRV 1 2 65535 target.example.test.");
	add_ok("s2 SRV 0 0 0 .");
	add_ok("m MX 5 mx");
	add_ok("p PTR host.");
	add_ok("n NS ns.elsewhere.");
	add_ok("cn CNAME a");
	add_ok("MiXeD A 192.0.2.9");
	finalize_ok();

	assert_int_equal(ask("a", 1, &rd, &rl, &ttl), 1);
	assert_int_equal(rl, 4);
	assert_memory_equal(rd, "\xc0\x00\x02\x01", 4);
	assert_int_equal(ttl, 3600);
	assert_int_equal(ask("a", 28, &rd, &rl, &ttl), 1);
	assert_int_equal(ttl, 5400);
	assert_memory_equal(rd, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
	ask("b", 1, &rd, &rl, &ttl);
	assert_int_equal(ttl, 60);
	ask("c", 1, &rd, &rl, &ttl);
	assert_int_equal(ttl, 60);
	ask("t", 16, &rd, &rl, &ttl);
	assert_int_equal(rl, 4 + 6 + 4 + 1);
	assert_memory_equal(rd, "\003a\"b\005plain\003A\xffx\0", 15);
	ask("s", 33, &rd, &rl, &ttl);
	assert_int_equal(rl, 6 + 21);
	assert_memory_equal(rd, "\0\1\0\2\xff\xff\006target\007example\004test\0", 27);
	ask("s2", 33, &rd, &rl, &ttl);
	assert_int_equal(rl, 7);
	ask("m", 15, &rd, &rl, &ttl);
	assert_memory_equal(rd, "\0\5\002mx\xc0", 6);          /* compressed exchange */
	ask("p", 12, &rd, &rl, &ttl);
	assert_memory_equal(rd, "\004host\0", 6);
	assert_int_equal(ask("mIxEd", 1, &rd, &rl, &ttl), 1);
	ask("n", 1, NULL, NULL, NULL);
	assert_int_equal(out[3] & 0x0F, 0);
	assert_int_equal(out[2] & 0x04, 0);                     /* referral: no AA */
	assert_int_equal(ask("cn", 1, NULL, NULL, NULL), 2);    /* CNAME + A */
}

static void test_txt_limits(void **state)
{
	(void)state;
	char rec[700], s[300];
	const uint8_t *rd;
	uint16_t rl;
	uint32_t ttl;
	memset(s, 'x', 255);
	s[255] = '\0';
	snprintf(rec, sizeof(rec), "t TXT \"%s\" \"%s\"", s, s);
	add_ok(rec);
	snprintf(rec, sizeof(rec), "u TXT \"%sy\"", s);
	add_bad(rec, "255");
	snprintf(rec, sizeof(rec), "u TXT %s\\065", s);        /* unquoted, escaped */
	add_bad(rec, "split");
	add_bad("u TXT \"open", "unterminated");
	add_bad("u TXT", "missing");
	add_bad("u TXT \"\\25\"", "DDD");
	add_bad("u TXT \"\\256\"", "255");
	finalize_ok();
	ask("t", 16, &rd, &rl, &ttl);
	assert_int_equal(rl, 512);
	assert_int_equal(rd[0], 255);
	assert_int_equal(rd[256], 255);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	add_bad("", "owner");
	add_bad("a", "type");
	add_bad("a 60", "type");
	add_bad("a HINFO x y", "unsupported record type");
	add_bad("a CH TXT \"x\"", "class IN");
	add_bad("a 1x A 1.2.3.4", "TTL");
	add_bad("a 99999999999 A 1.2.3.4", "TTL");
	add_bad("a 60 60 A 1.2.3.4", "TTL");
	add_bad("a A 1.2.3", "invalid address");
	add_bad("a A 1.2.3.4 5", "unexpected");
	add_bad("a AAAA 1.2.3.4", "invalid address");
	add_bad("a A", "missing");
	add_bad("a MX mail", "preference");
	add_bad("a MX 70000 mail", "preference");
	add_bad("a MX 10", "missing");
	add_bad("a SRV 1 2 mail", "port");
	add_bad("a NS a..b", "invalid name");
	add_bad("a CNAME x y", "unexpected");
	add_bad("www.other.test. A 1.2.3.4", "outside zone");
	add_bad("sub SOA a b 1 2 3 4 5", "apex");
	add_bad("*.w NS ns1", "wildcard");
	add_bad("a SOA a b 1 2 3 4", "missing");
	char lab[80];
	memset(lab, 'x', 64);
	snprintf(lab + 64, 16, " A 1.2.3.4");
	add_bad(lab, "63");
	assert_true(fg_zone_add_record(NULL, "a A 1.2.3.4", err, sizeof(err)) < 0);
	assert_true(fg_zone_add_record(zone, NULL, err, sizeof(err)) < 0);
	finalize_ok();
	/* frozen */
	assert_int_equal(add("late A 1.2.3.4"), -EPERM);
	assert_true(fg_zonedb_add_zone(db, "other.test", 1, NULL, NULL, err, sizeof(err)) < 0);
}

static void test_zone_errors(void **state)
{
	(void)state;
	fg_zone_t *z2;
	assert_int_equal(fg_zonedb_add_zone(db, "EXAMPLE.test.", 1, NULL, &z2, err, sizeof(err)),
			 -EEXIST);
	assert_true(fg_zonedb_add_zone(db, "a..b", 1, NULL, &z2, err, sizeof(err)) < 0);
	assert_null(z2);
	fg_soa_params_t bad = { "a..b", "x", 1, 1, 1, 1, 1 };
	assert_true(fg_zonedb_add_zone(db, "bad.test", 1, &bad, &z2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "mname"));
	fg_zonedb_free(db);
	/* a zone without SOA parameters needs a SOA record */
	db = fg_zonedb_new();
	assert_int_equal(fg_zonedb_add_zone(db, "nosoa.test", 1, NULL, &z2, err, sizeof(err)), 0);
	finalize_bad("no SOA");
	fg_zonedb_free(db);
	db = fg_zonedb_new();
	assert_int_equal(fg_zonedb_add_zone(db, "example.test", 1, NULL, &zone, err, sizeof(err)), 0);
	add_ok("@ SOA ns1 hostmaster 7 1h 15m 2w 1d");
	add_ok("@ SOA ns1 hostmaster 8 1h 15m 2w 1d");     /* replaces */
	finalize_ok();
	const uint8_t *rd;
	uint16_t rl;
	uint32_t ttl;
	assert_int_equal(ask("", 6, &rd, &rl, &ttl), 1);
	/* ns1 + ptr, hostmaster + ptr, then serial 8 and the timers */
	assert_memory_equal(rd + 6 + 13, "\0\0\0\x08\0\0\x0e\x10\0\0\x03\x84\0\x12\x75\0\0\1\x51\x80", 20);
}

static void test_cname_conflicts(void **state)
{
	(void)state;
	add_ok("x CNAME a");
	add_ok("x A 1.2.3.4");
	finalize_bad("CNAME and other data");
}

static void test_two_cnames(void **state)
{
	(void)state;
	add_ok("x CNAME a");
	add_ok("x CNAME b");
	finalize_bad("more than one CNAME");
}

static void test_cname_at_apex(void **state)
{
	(void)state;
	add_ok("@ CNAME a");
	finalize_bad("CNAME and other data");
}

static void test_service_errors(void **state)
{
	(void)state;
	assert_int_equal(fg_zone_add_service(zone, "app", 1, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(zone, "app.example.test.", 2, err, sizeof(err)),
			 -EEXIST);
	assert_true(fg_zone_add_service(zone, "www.other.test.", 3, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "outside"));
	assert_true(fg_zone_add_service(zone, "a..b", 3, err, sizeof(err)) < 0);
	/* relative, absolute without dot, "@" */
	assert_int_equal(fg_zone_add_service(zone, "rel", 4, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(zone, "abs.example.test", 5, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(zone, "@", 6, err, sizeof(err)), 0);
	add_ok("app A 1.2.3.4");
	finalize_bad("static A/AAAA");
}

static void test_service_cname(void **state)
{
	(void)state;
	assert_int_equal(fg_zone_add_service(zone, "app", 1, err, sizeof(err)), 0);
	add_ok("app CNAME x");
	finalize_bad("must not own a CNAME");
}

static void test_service_names_resolve(void **state)
{
	(void)state;
	assert_int_equal(fg_zone_add_service(zone, "abs.example.test", 5, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(zone, "Rel", 4, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(zone, "*.pool", 9, err, sizeof(err)), 0);
	finalize_ok();
	uint8_t pkt[] = "\1\1\0\0\0\1\0\0\0\0\0\0\003abs\007example\004test\0\0\1\0\1";
	fg_dns_query_t q;
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, sizeof(pkt) - 1, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 5);
	uint8_t pkt2[] = "\1\1\0\0\0\1\0\0\0\0\0\0\003REL\007example\004test\0\0\x1c\0\1";
	fg_dns_answer(db, pkt2, sizeof(pkt2) - 1, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 4);
	assert_int_equal(res.qtype, 28);
	uint8_t pkt3[] = "\1\1\0\0\0\1\0\0\0\0\0\0\001q\004pool\007example\004test\0\0\1\0\1";
	fg_dns_answer(db, pkt3, sizeof(pkt3) - 1, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 9);
}

static void test_dedup_and_ttl(void **state)
{
	(void)state;
	const uint8_t *rd;
	uint16_t rl;
	uint32_t ttl;
	add_ok("d 100 A 192.0.2.1");
	add_ok("d 200 A 192.0.2.2");
	add_ok("d 300 A 192.0.2.1");
	add_ok("d AAAA ::1");
	finalize_ok();
	assert_int_equal(ask("d", 1, &rd, &rl, &ttl), 2);
	assert_int_equal(ttl, 100);
	/* second record's TTL was normalised too */
	const uint8_t *second = rd + 4;
	assert_int_equal(second[9], 100);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(fg_strerror(-FG_EPTR), "bad compression pointer");
	assert_string_equal(fg_strerror(0), "success");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_types_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txt_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_cnames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_at_apex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_names_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strerror, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
