/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of UDP personas (decoy/udpwire.h, the `udp:` persona keys):
 * hex decoding, the matcher (the ID copied, every other octet compared, a
 * different length never matches), the amplification bound enforced by
 * the loader and again by the matcher, the per-source token bucket, and
 * the loader's messages for bad entries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "decoy/persona.h"
#include "decoy/udpwire.h"

struct sink {
	char buf[8192];
	size_t len;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n",
			 file, line, msg);

	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
}

static int pload(const char *text, fd_persona_t **p, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return fd_persona_load_buffer("p.yaml", text, strlen(text), p, sink_fn, s);
}

/* nmap's DNSVersionBindReq and a BIND-like answer (ID 0x0006) */
#define REQ "0006010000010000000000000776657273696f6e0462696e640000100003"
#define REP "0006850000010001000000000776657273696f6e0462696e640000100003" \
	    "c00c0010000300000000000706392e31382e30"

static const char PERSONA[] =
	"persona:\n  name: ns\n"
	"udp:\n"
	"  - port: 53\n"
	"    amplification: 2\n"
	"    rate: 2\n"
	"    burst: 3\n"
	"    replies:\n"
	"      - request: \"" REQ "\"\n"
	"        reply: \"" REP "\"\n"
	"        copy-id: 2\n";

static void test_hex(void **st)
{
	uint8_t b[4];

	(void)st;
	assert_int_equal(fd_udp_hex_decode("00fFa1", b, sizeof(b)), 3);
	assert_memory_equal(b, "\x00\xff\xa1", 3);
	assert_int_equal(fd_udp_hex_decode("", b, sizeof(b)), 0);
	assert_int_equal(fd_udp_hex_decode("abc", b, sizeof(b)), -FG_ESYNTAX);
	assert_int_equal(fd_udp_hex_decode("zz", b, sizeof(b)), -FG_ESYNTAX);
	assert_int_equal(fd_udp_hex_decode("00 1", b, sizeof(b)), -FG_ESYNTAX);
	assert_int_equal(fd_udp_hex_decode("0011223344", b, sizeof(b)), -FG_ESPACE);
}

static void test_match(void **st)
{
	fd_persona_t *p;
	struct sink s;
	fd_udp_table_t *t;
	uint8_t q[64], out[FD_UDP_MAX_PAYLOAD], want[128];

	(void)st;
	assert_int_equal(pload(PERSONA, &p, &s), 0);
	assert_int_equal(p->nudp, 1);
	const fd_udp_service_t *sv = fd_persona_find_udp(p, 53);
	assert_non_null(sv);
	assert_null(fd_persona_find_udp(p, 54));
	assert_int_equal(sv->rate, 2);
	assert_int_equal(sv->burst, 3);
	assert_int_equal(fd_udp_table_build(sv, &t), 0);
	int qn = fd_udp_hex_decode(REQ, q, sizeof(q));
	int wn = fd_udp_hex_decode(REP, want, sizeof(want));

	/* the captured request with another ID: the reply carries that ID */
	q[0] = 0xbe;
	q[1] = 0xef;
	int m = fd_udp_answer(t, NULL, q, (size_t)qn, out, sizeof(out));
	assert_int_equal(m, wn);
	assert_memory_equal(out, "\xbe\xef", 2);
	assert_memory_equal(out + 2, want + 2, (size_t)wn - 2);
	/* one octet past the ID differs: silence */
	q[2] ^= 0x01;
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn, out, sizeof(out)), 0);
	q[2] ^= 0x01;
	/* the same bytes and one more, or one fewer: silence */
	q[qn] = 0;
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn + 1, out, sizeof(out)), 0);
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn - 1, out, sizeof(out)), 0);
	assert_int_equal(fd_udp_answer(t, NULL, q, 0, out, sizeof(out)), 0);
	/* a small output buffer is refused, never overrun */
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn, out, 10), -FG_ESPACE);
	/* the matcher keeps the bound even for a table the loader did not see */
	t->amplification = 1;
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn, out, sizeof(out)), -ERANGE);
	fd_udp_table_free(t);
	fd_persona_free(p);
}

static void test_bucket(void **st)
{
	fd_udp_bucket_t b = { 0 };

	(void)st;
	/* burst 3, then one per 500 ms at rate 2 */
	for (int i = 0; i < 3; i++)
		assert_true(fd_udp_bucket_take(&b, 2, 3, 1000));
	assert_false(fd_udp_bucket_take(&b, 2, 3, 1000));
	assert_false(fd_udp_bucket_take(&b, 2, 3, 1499));
	assert_true(fd_udp_bucket_take(&b, 2, 3, 1500));
	assert_false(fd_udp_bucket_take(&b, 2, 3, 1500));
	/* the clock going back adds nothing */
	assert_false(fd_udp_bucket_take(&b, 2, 3, 10));
	/* a long pause refills to the burst, not beyond */
	int ok = 0;
	for (int i = 0; i < 10; i++)
		ok += fd_udp_bucket_take(&b, 2, 3, 1000000);
	assert_int_equal(ok, 3);
}

static void expect_error(const char *text, const char *msg)
{
	fd_persona_t *p = (fd_persona_t *)1;
	struct sink s;

	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	assert_null(p);
	if (!strstr(s.buf, msg))
		fail_msg("expected '%s', got '%s'", msg, s.buf);
}

static void test_loader(void **st)
{
	fd_persona_t *p;
	struct sink s;

	(void)st;
	/* the default amplification is 1: this reply is refused */
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n    replies:\n"
		     "      - request: \"" REQ "\"\n        reply: \"" REP "\"\n",
		     "p.yaml:6: udp '53': the reply (49 octets) is more than "
		     "amplification 1 x the request (30 octets)");
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n    amplification: 11\n",
		     "p.yaml:5: udp '53': amplification: ");
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n    replies:\n"
		     "      - request: \"0g\"\n        reply: \"00\"\n",
		     "expected hex digits in pairs");
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n    replies:\n"
		     "      - request: \"0001\"\n        reply: \"00\"\n        copy-id: 2\n",
		     "udp '53': copy-id 2 is longer than the request (2) or the reply (1)");
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n  - port: 53\n",
		     "p.yaml:5: udp '53': port 53 is already served (line 4)");
	expect_error("persona:\n  name: ns\nudp:\n  - port: 53\n    replies:\n"
		     "      - request: \"00\"\n",
		     "reply");
	/* a UDP-only persona needs no TCP service; ports are separate */
	assert_int_equal(pload("persona:\n  name: ns\nudp:\n  - port: 53\n", &p, &s), 0);
	assert_int_equal(p->nservices, 0);
	assert_int_equal(p->udp[0].amplification, 1);
	assert_int_equal(p->udp[0].rate, 5);
	assert_int_equal(p->udp[0].burst, 10);
	assert_null(fd_persona_find(p, 53));
	fd_persona_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_loader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
