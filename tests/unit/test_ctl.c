/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: control protocol codec (ctl/proto.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "ctl/proto.h"

static void test_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[FG_CTL_HDRLEN + FG_CTL_REQ_MAX];
	const char *args[] = { "198.51.100.7", "10m" };
	int len = fg_ctl_encode_request(buf, sizeof(buf), FG_CTL_QUARANTINE, args, 2);
	assert_int_equal(len, FG_CTL_HDRLEN + 13 + 4);
	fg_ctl_hdr_t h;
	assert_int_equal(fg_ctl_parse_hdr(buf, (size_t)len, FG_CTL_REQUEST, &h), 0);
	assert_int_equal(h.code, FG_CTL_QUARANTINE);
	assert_int_equal(h.length, 17);
	const char *out[FG_CTL_MAX_ARGS];
	assert_int_equal(fg_ctl_decode_args(buf + FG_CTL_HDRLEN, h.length, out), 2);
	assert_string_equal(out[0], "198.51.100.7");
	assert_string_equal(out[1], "10m");
	assert_string_equal(fg_ctl_cmd_name(FG_CTL_ROTATE), "rotate");
	assert_null(fg_ctl_cmd_name(0));
	assert_null(fg_ctl_cmd_name(999));
}

static void test_bad_headers(void **state)
{
	(void)state;
	uint8_t b[FG_CTL_HDRLEN];
	fg_ctl_hdr_t h;
	fg_ctl_put_hdr(b, FG_CTL_REQUEST, FG_CTL_STATUS, 0);
	assert_int_equal(fg_ctl_parse_hdr(b, 11, FG_CTL_REQUEST, &h), -FG_ETRUNC);
	assert_int_equal(fg_ctl_parse_hdr(b, 12, FG_CTL_RESPONSE, &h), -FG_EMALF);
	b[4] = 2;   /* version */
	assert_int_equal(fg_ctl_parse_hdr(b, 12, FG_CTL_REQUEST, &h), -FG_EVERSION);
	b[4] = 1;
	b[0] = 'X'; /* magic */
	assert_int_equal(fg_ctl_parse_hdr(b, 12, FG_CTL_REQUEST, &h), -FG_EMALF);
	fg_ctl_put_hdr(b, FG_CTL_REQUEST, FG_CTL_STATUS, FG_CTL_REQ_MAX + 1);
	assert_int_equal(fg_ctl_parse_hdr(b, 12, FG_CTL_REQUEST, &h), -EMSGSIZE);
	/* responses may be large */
	fg_ctl_put_hdr(b, FG_CTL_RESPONSE, 0, 1u << 20);
	assert_int_equal(fg_ctl_parse_hdr(b, 12, FG_CTL_RESPONSE, &h), 0);
}

static void test_bad_args(void **state)
{
	(void)state;
	const char *out[FG_CTL_MAX_ARGS];
	const uint8_t unterminated[] = { 'a', 'b' };
	assert_int_equal(fg_ctl_decode_args(unterminated, 2, out), -FG_EMALF);
	uint8_t many[64];
	memset(many, 0, sizeof(many));   /* 64 empty args */
	assert_int_equal(fg_ctl_decode_args(many, sizeof(many), out), -E2BIG);
	assert_int_equal(fg_ctl_decode_args(many, 0, out), 0);
	uint8_t small[16];
	const char *args[] = { "a-very-long-argument" };
	assert_int_equal(fg_ctl_encode_request(small, sizeof(small), 1, args, 1), -EMSGSIZE);
	const char *too_many[FG_CTL_MAX_ARGS + 1];
	for (int i = 0; i <= FG_CTL_MAX_ARGS; i++)
		too_many[i] = "x";
	uint8_t big[256];
	assert_int_equal(fg_ctl_encode_request(big, sizeof(big), 1, too_many, FG_CTL_MAX_ARGS + 1), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
