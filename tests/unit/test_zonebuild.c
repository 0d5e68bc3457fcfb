/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for src/conf/zonebuild.c: a loaded config becomes a zone
 * database; record and service errors are reported at the record's
 * file:line, with the record text's control bytes shown as \xHH. Signed
 * zones: the keys of zone.dnssec.keys become the zone's signer; a missing
 * key, a key of another algorithm, a .private readable by others are
 * refused; on a reload a .private the process may not open is taken from
 * the [priv] process's texts or from the running db, else refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/keydir.h"
#include "conf/keyfiles.h"
#include "conf/zonebuild.h"
#include "dns/dnssec/key.h"
#include "dns/dnssec/signer.h"
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
static int build_keys(const char *text, const fg_zonedb_t *prev, const fg_keyfiles_t *kf,
		      fg_zonedb_t **db)
{
	fg_conf_t *conf = NULL;

	diags[0] = '\0';
	*db = NULL;
	if (fg_conf_load_buffer("t.conf", text, strlen(text), &conf, collect, NULL) != 0)
		fail_msg("config did not load:\n%s", diags);
	int rc = fg_conf_build_zonedb_keys(conf, prev, kf, db, collect, NULL);
	fg_conf_free(conf);
	if (rc == 0)
		assert_non_null(*db);
	else
		assert_null(*db);
	return rc;
}

static int build(const char *text, fg_zonedb_t **db)
{
	return build_keys(text, NULL, NULL, db);
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

/* ---- services ---- */

#define POOLS "pool:\n  - id: p4\n    prefix: 198.51.100.0/24\n" \
	      "  - id: p6\n    prefix: 2001:db8:77::/64\n" \
	      "  - id: q4\n    prefix: 203.0.113.0/24\n"

/* A service belongs to the longest zone containing its name; one served
 * by an external primary is left to it. */
static void test_services(void **state)
{
	fg_zonedb_t *db;

	(void)state;
	assert_int_equal(build(HEAD "      - \"@ NS ns1\"\n"
			       "  - domain: sub.example.test\n"
			       "    soa: { mname: ns1, rname: hostmaster }\n" POOLS
			       "service:\n  - id: a\n    name: www.sub.example.test\n"
			       "    backend: [ 10.0.2.10, \"fd00:2::10\" ]\n    ports: [ tcp/80 ]\n"
			       "    pool: [ p4, p6 ]\n"
			       "  - id: b\n    name: www.example.test\n"
			       "    backend: 10.0.2.11\n    ports: [ tcp/80 ]\n    pool: q4\n",
			       &db), 0);
	assert_string_equal(diags, "");
	uint8_t sub[FG_DNS_MAXNAME], top[FG_DNS_MAXNAME];
	assert_true(fg_dns_name_from_text("sub.example.test", NULL, sub) > 0);
	assert_true(fg_dns_name_from_text("example.test", NULL, top) > 0);
	/* a query for www.sub.example.test is answered from sub's zone */
	static const uint8_t q[] = "\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
		"\x03" "www" "\x03" "sub" "\x07" "example" "\x04" "test" "\x00" "\x00\x01\x00\x01";
	uint8_t out[512];
	fg_dns_result_t res;
	fg_dns_answer(db, q, sizeof(q) - 1, false, out, sizeof(out), NULL, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 0);
	static const uint8_t q2[] = "\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
		"\x03" "www" "\x07" "example" "\x04" "test" "\x00" "\x00\x01\x00\x01";
	fg_dns_answer(db, q2, sizeof(q2) - 1, false, out, sizeof(out), NULL, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 1);
	fg_zonedb_free(db);
}

/* ---- signed zones ---- */

static char keydir[64];
static char keyname[128];

static int make_keydir(void **state)
{
	char err[256];
	fg_dnskey_t k;

	(void)state;
	snprintf(keydir, sizeof(keydir), "/tmp/fg_zonebuild.XXXXXX");
	assert_non_null(mkdtemp(keydir));
	assert_int_equal(fg_dnskey_generate("example.test", FG_DNSSEC_ALG_ECDSAP256, 257, &k, err,
					    sizeof(err)), 0);
	assert_int_equal(fg_keydir_write(keydir, &k, 0, 0, keyname, sizeof(keyname), err,
					 sizeof(err)), 0);
	fg_dnskey_clear(&k);
	return 0;
}

static void path_of(char *out, size_t cap, const char *ext)
{
	snprintf(out, cap, "%s/%s.%s", keydir, keyname, ext);
}

static int remove_keydir(void **state)
{
	char p[300];

	(void)state;
	/* a failed assertion inside the unprivileged part leaves us there */
	if (geteuid() != getuid() && seteuid(getuid()) != 0)
		return -1;
	path_of(p, sizeof(p), "key");
	unlink(p);
	path_of(p, sizeof(p), "private");
	unlink(p);
	rmdir(keydir);
	return 0;
}

static const char *signed_conf(const char *extra)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), HEAD "      - \"@ NS ns1\"\n    dnssec:\n      keys: %s\n%s",
		 keydir, extra);
	return buf;
}

static bool has(const char *what)
{
	if (strstr(diags, what))
		return true;
	print_message("want '%s' in:\n%s", what, diags);
	return false;
}

static void test_signed_zone(void **state)
{
	fg_zonedb_t *db, *db2;
	uint8_t apex[FG_DNS_MAXNAME];

	(void)state;
	assert_true(fg_dns_name_from_text("example.test", NULL, apex) > 0);
	assert_int_equal(build(signed_conf(""), &db), 0);
	const fg_signer_t *sg = fg_zonedb_signer(db, apex);
	assert_non_null(sg);
	/* a reload with the running db: a new signer, the counters kept */
	assert_int_equal(build_keys(signed_conf(""), db, NULL, &db2), 0);
	assert_non_null(fg_zonedb_signer(db2, apex));
	assert_ptr_not_equal(fg_zonedb_signer(db2, apex), sg);
	fg_zonedb_free(db2);
	fg_zonedb_free(db);

	/* refresh must be shorter than the lifetime */
	assert_true(build(signed_conf("      rrsig-lifetime: 2h\n      rrsig-refresh: 2h\n"),
			  &db) < 0);
	assert_true(has("t.conf:4: zone 'example.test': dnssec: dnssec.rrsig-refresh must be "
			"shorter than dnssec.rrsig-lifetime"));
	/* only keys of the zone's algorithm are read */
	assert_true(build(signed_conf("      algorithm: ed25519\n"), &db) < 0);
	assert_true(has("dnssec: no ed25519 key in "));
	assert_true(has("fluxctl dnssec keygen example.test"));
	/* a directory that does not exist */
	assert_true(build(HEAD "      - \"@ NS ns1\"\n    dnssec:\n      keys: /nonexistent/k\n",
			  &db) < 0);
	assert_true(has("zone 'example.test': dnssec: "));
	/* a .private readable by group: refused, named */
	char pp[300];
	path_of(pp, sizeof(pp), "private");
	assert_int_equal(chmod(pp, 0640), 0);
	assert_true(build(signed_conf(""), &db) < 0);
	assert_true(has("readable by group or others"));
	assert_int_equal(chmod(pp, 0600), 0);
}

/* As the unprivileged process on a reload: the .private cannot be opened
 * (EACCES). Needs root to stand in for both sides (seteuid). */
static void test_signed_reload_unprivileged(void **state)
{
	fg_zonedb_t *run, *db;
	char pp[300], err[256];
	uint8_t apex[FG_DNS_MAXNAME];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_true(fg_dns_name_from_text("example.test", NULL, apex) > 0);
	assert_int_equal(build(signed_conf(""), &run), 0);
	path_of(pp, sizeof(pp), "private");
	/* the .private text as the [priv] process would send it */
	int fd = open(pp, O_RDONLY);
	assert_true(fd >= 0);
	char text[8192];
	ssize_t tl = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(tl > 0);
	text[tl] = '\0';
	assert_int_equal(chmod(keydir, 0755), 0);

	assert_int_equal(seteuid(65534), 0);
	/* nothing to fall back on: the open's error, named */
	int rc0 = build(signed_conf(""), &db);
	/* the running key */
	int rc1 = build_keys(signed_conf(""), run, NULL, &db);
	const fg_signer_t *s1 = rc1 == 0 ? fg_zonedb_signer(db, apex) : NULL;
	if (rc1 == 0)
		fg_zonedb_free(db);
	/* the [priv] process's text */
	fg_keyfiles_t kf = { 0 };
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_DNSSEC, pp, text, (size_t)tl, NULL), 0);
	int rc2 = build_keys(signed_conf(""), NULL, &kf, &db);
	if (rc2 == 0)
		fg_zonedb_free(db);
	fg_keyfiles_clear(&kf);
	/* a text that does not parse is an error, not a fall back */
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_DNSSEC, pp, "Private-key-format: v1.3\n",
					 25, NULL), 0);
	int rc3 = build_keys(signed_conf(""), run, &kf, &db);
	char d3[sizeof(diags)];
	memcpy(d3, diags, sizeof(d3));
	fg_keyfiles_clear(&kf);
	assert_int_equal(seteuid(0), 0);
	assert_int_equal(chmod(keydir, 0700), 0);
	fg_zonedb_free(run);

	assert_true(rc0 < 0);
	assert_int_equal(rc1, 0);
	assert_non_null(s1);
	assert_int_equal(rc2, 0);
	assert_true(rc3 < 0);
	snprintf(err, sizeof(err), "%s/%s.private: ", keydir, keyname);
	if (!strstr(d3, err))
		fail_msg("want '%s' in:\n%s", err, d3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds),
		cmocka_unit_test(test_bad_record_at_its_line),
		cmocka_unit_test(test_control_bytes_escaped),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_services),
		cmocka_unit_test_setup_teardown(test_signed_zone, make_keydir, remove_keydir),
		cmocka_unit_test_setup_teardown(test_signed_reload_unprivileged, make_keydir,
						remove_keydir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
