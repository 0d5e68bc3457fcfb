/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * daemon/privsep_keys.h, [priv] side: what a PS_KEYS answer holds for a
 * configuration naming a TSIG secret file and a signed zone's key
 * directory, and what it leaves out (files readable by others).
 * The refusal of forged PS_KEYS requests is in test_privsep.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "conf/keydir.h"
#include "conf/keyfiles.h"
#include "daemon/privsep_keys.h"
#include "daemon/privsep_msg.h"
#include "dns/dnssec/key.h"

static struct {
	uint8_t buf[1 << 16];
	size_t len;
	unsigned nmsg;
} got;

static int capture(int fd, uint16_t op, uint16_t count, int32_t status, const void *pl,
		   uint32_t len)
{
	(void)fd;
	assert_int_equal(op, PS_KEYS);
	assert_int_equal(count, 0);
	assert_int_equal(status, 0);
	assert_true(got.len + len <= sizeof(got.buf));
	memcpy(got.buf + got.len, pl, len);
	got.len += len;
	got.nmsg++;
	return 0;
}

static void test_keys_served(void **state)
{
	(void)state;
	char dir[] = "/tmp/fg_pskeys.XXXXXX", p[256], conf[2048], name[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/tsig.secret", dir);
	int f = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(f >= 0);
	assert_int_equal(write(f, "c2VjcmV0LWtleS1mb3ItdGVzdHM=\n", 29), 29);
	close(f);
	fg_dnskey_t k;
	assert_int_equal(fg_dnskey_generate("example.test", FG_DNSSEC_ALG_ECDSAP256, 257, &k, err,
					    sizeof(err)), 0);
	assert_int_equal(fg_keydir_write(dir, &k, 0, 0, name, sizeof(name), err, sizeof(err)), 0);
	fg_dnskey_clear(&k);
	snprintf(conf, sizeof(conf),
		 "server:\n  listen: [ 127.0.0.1@5353 ]\n"
		 "key:\n  - id: k1\n    algorithm: hmac-sha256\n    secret-file: %s\n"
		 "zone:\n  - domain: example.test\n"
		 "    soa: { mname: ns1.example.test, rname: h.example.test }\n"
		 "    dnssec:\n      keys: %s\n", p, dir);
	char cp[300];
	snprintf(cp, sizeof(cp), "%s/fluxgated.conf", dir);
	FILE *cf = fopen(cp, "w");
	assert_non_null(cf);
	fputs(conf, cf);
	fclose(cf);

	memset(&got, 0, sizeof(got));
	assert_int_equal(fg_ps_keys_serve(-1, cp, capture), 0);
	assert_true(got.nmsg >= 1);
	fg_keyfiles_t kf = { 0 };
	assert_int_equal(fg_keyfiles_decode(got.buf, got.len, &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.n, 3);      /* the secret, the .key and the .private */
	const fg_keyfile_t *t = fg_keyfiles_find(&kf, FG_KF_TSIG, p);
	assert_non_null(t);
	assert_string_equal((const char *)t->data, "c2VjcmV0LWtleS1mb3ItdGVzdHM=");
	assert_true(t->id.set);
	char pp[400];
	snprintf(pp, sizeof(pp), "%s/%s.private", dir, name);
	const fg_keyfile_t *d = fg_keyfiles_find(&kf, FG_KF_DNSSEC, pp);
	assert_non_null(d);
	assert_non_null(strstr((const char *)d->data, "PrivateKey: "));
	char kp0[400];
	snprintf(kp0, sizeof(kp0), "%s/%s.key", dir, name);
	d = fg_keyfiles_find(&kf, FG_KF_DNSKEY, kp0);
	assert_non_null(d);
	assert_non_null(strstr((const char *)d->data, "DNSKEY 257 3 13 "));
	fg_keyfiles_clear(&kf);

	/* a secret file readable by others: the configuration does not load
	 * here, nothing is sent */
	assert_int_equal(chmod(p, 0644), 0);
	memset(&got, 0, sizeof(got));
	assert_true(fg_ps_keys_serve(-1, cp, capture) < 0);
	assert_int_equal(got.nmsg, 0);
	/* a .private readable by others: the zone's files are all left out
	 * (the [dns] side's loader then names it), the secret still sent */
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(chmod(pp, 0640), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(fg_ps_keys_serve(-1, cp, capture), 0);
	assert_int_equal(fg_keyfiles_decode(got.buf, got.len, &kf, err, sizeof(err)), 0);
	assert_int_equal(kf.n, 1);
	assert_non_null(fg_keyfiles_find(&kf, FG_KF_TSIG, p));
	fg_keyfiles_clear(&kf);

	char kp[400];
	snprintf(kp, sizeof(kp), "%s/%s.key", dir, name);
	unlink(kp);
	unlink(pp);
	unlink(p);
	unlink(cp);
	rmdir(dir);
}

int main(void)
{
	fg_log_init("test_privsep_keys", FG_LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_served),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
