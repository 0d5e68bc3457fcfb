/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * conf/keyfiles.h: the key material the [priv] process hands over for a
 * reload. Round trip, lookups by kind and path, and refusal of every
 * malformed record (the decoder checks what crosses the privsep channel).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "conf/keyfiles.h"

static char err[256];

static void test_roundtrip(void **state)
{
	(void)state;
	fg_keyfiles_t a = { 0 }, b = { 0 };
	fg_secretfile_id_t id = { .dev = 1, .ino = 2, .size = 3, .mtime_sec = 4,
				  .mtime_nsec = 5, .set = true };
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, "/etc/fg/k1", "c2VjcmV0", 8, &id), 0);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_DNSSEC, "/k/Kx.+013+00001.private",
					 "Private-key-format: v1.3\n", 25, NULL), 0);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_DNSSEC, "/k/empty", NULL, 0, NULL), 0);
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(fg_keyfiles_encode(&a, &w, &wl), 0);
	assert_int_equal(fg_keyfiles_decode(w, wl, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 3);
	const fg_keyfile_t *f = fg_keyfiles_find(&b, FG_KF_TSIG, "/etc/fg/k1");
	assert_non_null(f);
	assert_int_equal(f->len, 8);
	assert_memory_equal(f->data, "c2VjcmV0", 9);   /* NUL-terminated */
	assert_true(fg_secretfile_same(&f->id, &id));
	/* kind and path both count */
	assert_null(fg_keyfiles_find(&b, FG_KF_DNSSEC, "/etc/fg/k1"));
	assert_null(fg_keyfiles_find(&b, FG_KF_TSIG, "/etc/fg/k"));
	assert_null(fg_keyfiles_find(NULL, FG_KF_TSIG, "/etc/fg/k1"));
	f = fg_keyfiles_find(&b, FG_KF_DNSSEC, "/k/empty");
	assert_non_null(f);
	assert_int_equal(f->len, 0);
	free(w);
	fg_keyfiles_clear(&a);
	fg_keyfiles_clear(&b);
	assert_int_equal(b.n, 0);
	assert_null(b.f);
	/* nothing: an empty encoding */
	assert_int_equal(fg_keyfiles_encode(&a, &w, &wl), 0);
	assert_int_equal(wl, 0);
	assert_int_equal(fg_keyfiles_decode(w, wl, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 0);
	free(w);
}

static void test_add_limits(void **state)
{
	(void)state;
	fg_keyfiles_t a = { 0 };
	static char big[FG_KF_MAX_DATA + 1];
	static char inc[FG_KF_MAX_INCLUDE + 1];
	assert_int_equal(fg_keyfiles_add(&a, 5, "/p", "x", 1, NULL), -EINVAL);
	assert_int_equal(fg_keyfiles_add(&a, 0, "/p", "x", 1, NULL), -EINVAL);
	/* an included file may be larger than a key file, within its own bound */
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_DNSKEY, "/k/K.key", big, sizeof(big), NULL),
			 -EINVAL);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_INCLUDE, "/p.conf", big, sizeof(big), NULL), 0);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_INCLUDE, "/p.conf", inc, sizeof(inc), NULL),
			 -EINVAL);
	assert_non_null(fg_keyfiles_find(&a, FG_KF_INCLUDE, "/p.conf"));
	assert_null(fg_keyfiles_find(&a, FG_KF_DNSKEY, "/p.conf"));
	fg_keyfiles_clear(&a);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, "", "x", 1, NULL), -EINVAL);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, NULL, "x", 1, NULL), -EINVAL);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, "/p", big, sizeof(big), NULL), -EINVAL);
	for (unsigned i = 0; i < FG_KF_MAX_FILES; i++)
		assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, "/p", "x", 1, NULL), 0);
	assert_int_equal(fg_keyfiles_add(&a, FG_KF_TSIG, "/p", "x", 1, NULL), -E2BIG);
	fg_keyfiles_clear(&a);
}

/* one record: kind 1, path "/p", data "ab" */
static size_t one(uint8_t *b, uint16_t kind, uint16_t pl, uint32_t dl, uint8_t set)
{
	size_t o = 0;
	memcpy(b + o, &kind, 2), o += 2;
	memcpy(b + o, &pl, 2), o += 2;
	memcpy(b + o, &dl, 4), o += 4;
	memset(b + o, 0, 40), o += 40;
	b[o++] = set;
	memcpy(b + o, "/p", 2), o += 2;
	memcpy(b + o, "ab", 2), o += 2;
	return o;
}

static void test_decode_refuses(void **state)
{
	(void)state;
	uint8_t b[128];
	fg_keyfiles_t s = { 0 };
	size_t n = one(b, FG_KF_TSIG, 2, 2, 1);
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 1);
	fg_keyfiles_clear(&s);
	/* every prefix of a record is truncated */
	for (size_t k = 1; k < n; k++) {
		assert_int_equal(fg_keyfiles_decode(b, k, &s, err, sizeof(err)), -FG_EMALF);
		assert_int_equal(s.n, 0);
	}
	/* a good record then a bad one: nothing is kept */
	size_t m = n + one(b + n, 7, 2, 2, 0);
	assert_int_equal(fg_keyfiles_decode(b, m, &s, err, sizeof(err)), -FG_EMALF);
	assert_non_null(strstr(err, "record 1"));
	assert_int_equal(s.n, 0);
	n = one(b, FG_KF_TSIG, 0, 2, 0);
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), -FG_EMALF);
	n = one(b, FG_KF_TSIG, 2, FG_KF_MAX_DATA + 1, 0);
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), -FG_EMALF);
	n = one(b, FG_KF_TSIG, 2, 2, 2);
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), -FG_EMALF);
	/* lengths that overrun the buffer */
	n = one(b, FG_KF_DNSSEC, 2, 3, 0);
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), -FG_EMALF);
	assert_non_null(strstr(err, "truncated"));
	/* a NUL inside the path */
	n = one(b, FG_KF_DNSSEC, 2, 2, 0);
	b[49] = '\0';
	assert_int_equal(fg_keyfiles_decode(b, n, &s, err, sizeof(err)), -FG_EMALF);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_add_limits),
		cmocka_unit_test(test_decode_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
