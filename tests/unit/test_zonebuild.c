/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for src/conf/zonebuild.c: a loaded config becomes a zone
 * database; record and service errors are reported at the record's
 * file:line, with the record text's control bytes shown as \xHH.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/zonebuild.h"
#include "dns/zone.h"

static char diags[8192];

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	size_t o = strlen(diags);

	(void)ctx;
	snprintf(diags + o, sizeof diags - o, "%s:%d: %s\n", file, line, msg);
}

#define HEAD "server:\n  listen: 127.0.0.1\nzone:\n  - domain: example.test\n" \
	     "    soa: { mname: ns1, rname: hostmaster }\n    records:\n"

/* Build the zones of `text` (which must load); returns the build's rc. */
static int build(const char *text, fg_zonedb_t **db)
{
	fg_conf_t *conf = NULL;

	diags[0] = '\0';
	*db = NULL;
	if (fg_conf_load_buffer("t.conf", text, strlen(text), &conf, collect, NULL) != 0)
		fail_msg("config did not load:\n%s", diags);
	int rc = fg_conf_build_zonedb(conf, db, collect, NULL);
	fg_conf_free(conf);
	return rc;
}

static void test_builds(void **state)
{
	fg_zonedb_t *db;

	(void)state;
	assert_int_equal(build(HEAD "      - \"@ NS ns1\"\n      - \"ns1 A 192.0.2.1\"\n"
			       "      - \"www 60 AAAA 2001:db8::1\"\n", &db), 0);
	assert_non_null(db);
	assert_string_equal(diags, "");
	fg_zonedb_free(db);
}

static void test_bad_record_at_its_line(void **state)
{
	fg_zonedb_t *db;

	(void)state;
	assert_true(build(HEAD "      - \"@ NS ns1\"\n      - \"ns1 A 192.0.2.300\"\n", &db) < 0);
	assert_null(db);
	if (!strstr(diags, "t.conf:8: zone 'example.test': record: "))
		fail_msg("got:\n%s", diags);
}

/* found by fuzz_conf: control bytes inside a record went out raw */
static void test_control_bytes_escaped(void **state)
{
	fg_zonedb_t *db;

	(void)state;
	assert_true(build(HEAD "      - \"@ NS ns1\"\n      - \"www A 192.0.2.1 x\\x01y\\e[2J\"\n", &db) < 0);
	if (!strstr(diags, "x\\x01y\\x1b[2J"))
		fail_msg("want x\\x01y\\x1b[2J in:\n%s", diags);
	for (const char *c = diags; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n')
			fail_msg("raw control byte 0x%02x in:\n%s", *c, diags);
}

/* server.nsid reaches the answers; "hostname" is the host name */
static size_t nsid_of(fg_zonedb_t *db, char *nsid)
{
	/* SOA query for example.test with EDNS and an empty NSID option */
	static const uint8_t pkt[] = "\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01"
		"\x07" "example" "\x04" "test" "\x00" "\x00\x06\x00\x01"
		"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04" "\x00\x03\x00\x00";
	uint8_t out[1232];
	fg_dns_result_t res;

	fg_dns_answer(db, pkt, sizeof(pkt) - 1, false, out, sizeof(out), NULL, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	/* our OPT is the last record: ... 00 03 LEN NSID */
	for (size_t i = res.len; i-- > 12;) {
		size_t l = (size_t)out[i - 2] << 8 | out[i - 1];
		if (i >= 4 && out[i - 4] == 0 && out[i - 3] == 3 && i + l == res.len) {
			memcpy(nsid, out + i, l);
			nsid[l] = '\0';
			return l;
		}
	}
	nsid[0] = '\0';
	return 0;
}

static void test_nsid(void **state)
{
	fg_zonedb_t *db;
	char nsid[256], host[256] = "";

	(void)state;
	assert_int_equal(build(HEAD "      - \"@ NS ns1\"\n", &db), 0);
	assert_int_equal(nsid_of(db, nsid), 0);         /* default: off */
	fg_zonedb_free(db);
	assert_int_equal(build("server:\n  listen: 127.0.0.1\n  nsid: \"fg-1 (lab)\"\n"
			       "zone:\n  - domain: example.test\n"
			       "    soa: { mname: ns1, rname: hostmaster }\n", &db), 0);
	assert_int_equal(nsid_of(db, nsid), 10);
	assert_string_equal(nsid, "fg-1 (lab)");
	fg_zonedb_free(db);
	assert_int_equal(build("server:\n  listen: 127.0.0.1\n  nsid: hostname\n"
			       "zone:\n  - domain: example.test\n"
			       "    soa: { mname: ns1, rname: hostmaster }\n", &db), 0);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_int_equal(nsid_of(db, nsid), strlen(host));
	assert_string_equal(nsid, host);
	fg_zonedb_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds),
		cmocka_unit_test(test_bad_record_at_its_line),
		cmocka_unit_test(test_control_bytes_escaped),
		cmocka_unit_test(test_nsid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
