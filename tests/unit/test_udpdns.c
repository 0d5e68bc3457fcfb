/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the DNS-aware UDP matcher (decoy/udpdns.h) on real bytes:
 * every exchange below was captured from BIND 9.18.49 (Debian 12, named
 * authoritative for example.test, recursion no) with dig 9.18 in a network
 * namespace. A persona holds some of them; the others are the queries in
 * forms it did not capture, and the decoy's answer must be named's own,
 * octet for octet, but for the server cookie's timestamp and hash (the
 * last 12 octets: our secret, our clock). That covers: the ID, a 0x20
 * question echoed in its case with the owner names spelled out (named's
 * case-sensitive compression), a client cookie answered with a server
 * cookie and none without one, RD=0 with its authority and glue, and the
 * nxdomain / nodata / other / badvers templates with the question
 * rewritten (names of another length: every compression pointer moves).
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
#include <arpa/inet.h>

#include "common/err.h"
#include "decoy/persona.h"
#include "decoy/udpdns.h"
#include "decoy/udpwire.h"
#include "dns/cookie.h"
#include "dns/siphash.h"

#define X20_Q \
	"dffa0120000100000000000103577757074578416d706c650454455354000001" \
	"000100002904d000000000000c000a00084e5551cbcbc10d49"
#define X20_R \
	"dffa8500000100010000000103577757074578416d706c650454455354000001" \
	"000103777777076578616d706c65047465737400000100010000012c00040a00" \
	"020a00002904d000000000001c000a00184e5551cbcbc10d49010000006b0fac" \
	"86f34029e34780821a"
#define NOCOOKIE_Q \
	"22070120000100000000000103777777076578616d706c650474657374000001" \
	"000100002904d0000000000000"
#define NOCOOKIE_R \
	"22078500000100010000000103777777076578616d706c650474657374000001" \
	"0001c00c000100010000012c00040a00020a00002904d0000000000000"
#define NX1_Q \
	"af2e01200001000000000001046e6f7065076578616d706c6504746573740000" \
	"01000100002904d000000000000c000a00087ce0478dee48cd7c"
#define NX1_R \
	"af2e85030001000000010001046e6f7065076578616d706c6504746573740000" \
	"010001c011000600010000012c0027036e7331c0110a686f73746d6173746572" \
	"c01178c4240900000e1000000258000151800000012c00002904d00000000000" \
	"1c000a00187ce0478dee48cd7c010000006b0fac86f23f57a2dde10c24"
#define NX2_Q \
	"1b5b0120000100000000000112612d6d7563682d6c6f6e6765722d6e616d6503" \
	"737562076578616d706c65047465737400001c000100002904d000000000000c" \
	"000a0008193a2fa1de68afc4"
#define NX2_R \
	"1b5b8503000100000001000112612d6d7563682d6c6f6e6765722d6e616d6503" \
	"737562076578616d706c65047465737400001c0001076578616d706c65047465" \
	"737400000600010000012c0027036e7331c0350a686f73746d6173746572c035" \
	"78c4240900000e1000000258000151800000012c00002904d000000000001c00" \
	"0a0018193a2fa1de68afc4010000006b0fac86a8e6a53b83be52d9"
#define REF1_Q \
	"21d10120000100000000000103777777056f7468657204746573740000010001" \
	"00002904d000000000000c000a0008512a361bdd25b4f8"
#define REF1_R \
	"21d18105000100000000000103777777056f7468657204746573740000010001" \
	"00002904d000000000001c000a0018512a361bdd25b4f8010000006b0fac86ef" \
	"73a19f48cc12f4"
#define REF2_Q \
	"0c1e012000010000000000010178017909656c73657768657265036f72670000" \
	"0f000100002904d000000000000c000a0008e4b65b27c830b634"
#define REF2_R \
	"0c1e810500010000000000010178017909656c73657768657265036f72670000" \
	"0f000100002904d000000000001c000a0018e4b65b27c830b634010000006b0f" \
	"ac8629d3f015cf6902fe"
#define NODATA1_Q \
	"819e01200001000000000001076578616d706c65047465737400001000010000" \
	"2904d000000000000c000a0008424bffc30934b276"
#define NODATA1_R \
	"819e85000001000000010001076578616d706c6504746573740000100001c00c" \
	"000600010000012c0027036e7331c00c0a686f73746d6173746572c00c78c424" \
	"0900000e1000000258000151800000012c00002904d000000000001c000a0018" \
	"424bffc30934b276010000006b0fac864971273bd965c37e"
#define NODATA2_Q \
	"53cc0120000100000000000103777777076578616d706c650474657374000010" \
	"000100002904d000000000000c000a000878af786635f33730"
#define NODATA2_R \
	"53cc8500000100000001000103777777076578616d706c650474657374000010" \
	"0001c010000600010000012c0027036e7331c0100a686f73746d6173746572c0" \
	"1078c4240900000e1000000258000151800000012c00002904d000000000001c" \
	"000a001878af786635f33730010000006b0fac86f3117f02944f4763"
#define NOREC_Q \
	"71850020000100000000000103777777076578616d706c650474657374000001" \
	"000100002904d000000000000c000a000813af2384b7cd90bd"
#define NOREC_R \
	"71858400000100010001000203777777076578616d706c650474657374000001" \
	"0001c00c000100010000012c00040a00020ac010000200010000012c0006036e" \
	"7331c010c03e000100010000012c00040a00020a00002904d000000000001c00" \
	"0a001813af2384b7cd90bd010000006b0fac86283d71ae305ee985"
#define NOREC_X20_Q \
	"885d0020000100000000000103777777074558414d504c450474657374000001" \
	"000100002904d000000000000c000a00086d2a44c1760260d2"
#define NOREC_X20_R \
	"885d8400000100010001000203777777074558414d504c450474657374000001" \
	"000103777777076578616d706c65047465737400000100010000012c00040a00" \
	"020ac026000200010000012c0006036e7331c026c04e000100010000012c0004" \
	"0a00020a00002904d000000000001c000a00186d2a44c1760260d2010000006b" \
	"0fac87fbbc4f758a57c11f"
#define PLAIN_Q \
	"2d420120000100000000000103777777076578616d706c650474657374000001" \
	"000100002904d000000000000c000a0008042ca921000c282d"
#define PLAIN_R \
	"2d428500000100010000000103777777076578616d706c650474657374000001" \
	"0001c00c000100010000012c00040a00020a00002904d000000000001c000a00" \
	"18042ca921000c282d010000006b0fac8e3ffc78c9530aaa2a"

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

struct ent { const char *match, *req, *rep; };

/* A persona with the exchanges e[] on udp/53 (amplification amp). */
static int load(const struct ent *e, size_t n, unsigned amp, fd_persona_t **p,
		struct sink *s)
{
	static char text[65536];
	size_t l = (size_t)snprintf(text, sizeof(text), "persona:\n  name: ns\nudp:\n"
				    "  - port: 53\n    amplification: %u\n    replies:\n", amp);
	for (size_t i = 0; i < n; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l,
				      "      - request: \"%s\"\n        reply: \"%s\"\n"
				      "        match: %s\n", e[i].req, e[i].rep, e[i].match);
	memset(s, 0, sizeof(*s));
	return fd_persona_load_buffer("p.yaml", text, l, p, sink_fn, s);
}

static fd_udp_table_t *table(const struct ent *e, size_t n, unsigned amp)
{
	fd_persona_t *p;
	struct sink s;
	fd_udp_table_t *t;

	if (load(e, n, amp, &p, &s) != 0)
		fail_msg("persona refused: %s", s.buf);
	assert_int_equal(fd_udp_table_build(&p->udp[0], &t), 0);
	fd_persona_free(p);   /* the table keeps its own decoded copy */
	return t;
}

static fg_siphash_t *sip;
static const uint8_t secret[16] = "0123456789abcdef";
static const uint8_t addr4[4] = { 10, 0, 2, 1 };
static const fd_udp_peer_t *peer(void)
{
	static fd_udp_peer_t pr;

	pr = (fd_udp_peer_t){ sip, secret, 1796188031u, AF_INET, addr4 };
	return &pr;
}

static int hx(const char *h, uint8_t *b, size_t cap)
{
	int n = fd_udp_hex_decode(h, b, cap);

	assert_true(n > 0);
	return n;
}

/* The decoy's answer to query qh equals named's reply rh, the last
 * `masked` octets (the server cookie's timestamp and hash) aside. */
static void same(const fd_udp_table_t *t, const char *qh, const char *rh, size_t masked)
{
	uint8_t q[512], want[1232], out[1232];
	int qn = hx(qh, q, sizeof(q)), wn = hx(rh, want, sizeof(want));
	int m = fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out));

	if (m != wn) {
		fail_msg("answer of %d octets, named's has %d", m, wn);
	}
	for (int i = 0; i < wn - (int)masked; i++)
		if (out[i] != want[i])
			fail_msg("octet %d: 0x%02x, named's 0x%02x", i, out[i], want[i]);
	if (masked) {
		/* a server cookie of BIND's shape that we would accept back */
		fg_cookie_t c;
		assert_int_equal(fg_cookie_parse(out + wn - 24, 24, &c), 0);
		assert_int_equal(fg_cookie_verify(sip, secret, &c, 1796188031u, AF_INET,
						  addr4), FG_COOKIE_VALID);
	}
}

static void test_question(void **st)
{
	(void)st;
	/* captured: the plain dig and dig +norec forms of www.example.test A */
	const struct ent e[] = {
		{ "question", PLAIN_Q, PLAIN_R },
		{ "question", NOREC_Q, NOREC_R },
	};
	fd_udp_table_t *t = table(e, 2, 3);

	same(t, PLAIN_Q, PLAIN_R, 12);          /* its own query, a fresh ID */
	same(t, X20_Q, X20_R, 12);              /* WwW.ExAmple.TEST */
	same(t, NOCOOKIE_Q, NOCOOKIE_R, 0);     /* dig +nocookie: no COOKIE back */
	same(t, NOREC_X20_Q, NOREC_X20_R, 12);  /* RD=0, www.EXAMPLE.test */

	uint8_t q[512], out[1232];
	int qn = hx(PLAIN_Q, q, sizeof(q));
	/* a client cookie and nobody to make the server cookie for: silent */
	assert_int_equal(fd_udp_answer(t, NULL, q, (size_t)qn, out, sizeof(out)), 0);
	/* without EDNS (kdig, dig +noedns): not captured, no template: silent */
	q[11] = 0;
	assert_int_equal(fd_udp_answer(t, peer(), q, 34, out, sizeof(out)), 0);
	/* the same with DO (dig +dnssec): not captured either */
	qn = hx(PLAIN_Q, q, sizeof(q));
	q[40] = 0x80;
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out)), 0);
	/* another type of a captured name, no template: silent */
	qn = hx(PLAIN_Q, q, sizeof(q));
	q[31] = 28;
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out)), 0);
	/* a response is never answered */
	qn = hx(PLAIN_R, q, sizeof(q));
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out)), 0);
	/* out too small: said so */
	qn = hx(PLAIN_Q, q, sizeof(q));
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)qn, out, 40), -FG_ESPACE);
	fd_udp_table_free(t);

	/* captured without a cookie, asked with one: the COOKIE option added */
	const struct ent e1[] = { { "question", NOCOOKIE_Q, NOCOOKIE_R } };
	t = table(e1, 1, 2);
	same(t, PLAIN_Q, PLAIN_R, 12);
	fd_udp_table_free(t);
}

static void test_templates(void **st)
{
	(void)st;
	const struct ent e[] = {
		{ "question", PLAIN_Q, PLAIN_R },
		{ "nxdomain", NX1_Q, NX1_R },       /* nope.example.test A */
		{ "nodata", NODATA1_Q, NODATA1_R }, /* example.test TXT */
		{ "other", REF1_Q, REF1_R },        /* www.other.test A */
	};
	fd_udp_table_t *t = table(e, 4, 3);

	same(t, PLAIN_Q, PLAIN_R, 12);
	/* a longer name two labels down, another type: named spells the SOA
	 * owner out again, so must we */
	same(t, NX2_Q, NX2_R, 12);
	same(t, NX1_Q, NX1_R, 12);
	/* www.example.test exists (captured): TXT there is NODATA */
	same(t, NODATA2_Q, NODATA2_R, 12);
	same(t, NODATA1_Q, NODATA1_R, 12);
	/* outside the zone, another class of name and type: REFUSED */
	same(t, REF2_Q, REF2_R, 12);

	uint8_t q[512], out[1232];
	/* RD=0 on a template: RD mirrored (named's REFUSED keeps the query's) */
	int qn = hx(REF2_Q, q, sizeof(q));
	q[2] &= (uint8_t)~0x01;
	int m = fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out));
	assert_true(m > 12);
	assert_int_equal(out[2], 0x80);
	assert_int_equal(out[3], 0x05);
	/* the templates match the EDNS form too: without OPT, nothing here */
	qn = hx(NX2_Q, q, sizeof(q));
	q[11] = 0;
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)(qn - 23), out,
					sizeof(out)), 0);
	fd_udp_table_free(t);
}

/* named 9.18, dig +edns=1 +noednsneg example.test SOA: BADVERS, no AA,
 * OPT version 0 with extended rcode 1 and no options (no cookie back) */
#define BADVERS_Q \
	"125a01200001000000000001076578616d706c650474657374000006000100002904d0" \
	"00010000000c000a00084b7f35ca339dcfab"
#define BADVERS_R \
	"125a81000001000000000001076578616d706c650474657374000006000100002904d0" \
	"010000000000"

static void test_badvers(void **st)
{
	(void)st;
	const struct ent e[] = {
		{ "question", PLAIN_Q, PLAIN_R },
		{ "badvers", BADVERS_Q, BADVERS_R },
	};
	fd_udp_table_t *t = table(e, 2, 3);
	uint8_t q[512], out[1232], want[512];

	same(t, BADVERS_Q, BADVERS_R, 0);
	/* version 2, another name and ID: BADVERS all the same, for it */
	int qn = hx(PLAIN_Q, q, sizeof(q));
	q[0] = 0x77;
	q[40] = 0x02;
	int m = fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out));
	int wn = hx(BADVERS_R, want, sizeof(want));
	assert_int_equal(m, wn + 4);                  /* www. is 4 octets longer */
	assert_int_equal(out[0], 0x77);
	assert_memory_equal(out + 12, q + 12, 22);    /* the query's question */
	assert_memory_equal(out + 34, want + 30, (size_t)wn - 30);
	/* version 0 with the plain question: the question entry, not BADVERS */
	same(t, PLAIN_Q, PLAIN_R, 12);
	fd_udp_table_free(t);
	/* no badvers template: a version above 0 gets no answer */
	const struct ent e1[] = { { "question", PLAIN_Q, PLAIN_R } };
	t = table(e1, 1, 3);
	assert_int_equal(fd_udp_answer(t, peer(), q, (size_t)qn, out, sizeof(out)), 0);
	fd_udp_table_free(t);
}

static void test_check(void **st)
{
	fd_persona_t *p;
	struct sink s;
	char bad[4096];

	(void)st;
	/* the request of a question entry must be a DNS query */
	const struct ent e1[] = { { "question", "000010000000000000000000", PLAIN_R } };
	assert_int_equal(load(e1, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "p.yaml:7: udp '53': match question: the request is not a DNS query"))
		fail_msg("%s", s.buf);
	/* a reply cut short */
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(PLAIN_R) - 2, PLAIN_R);
	const struct ent e2[] = { { "question", PLAIN_Q, bad } };
	assert_int_equal(load(e2, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "match question: the reply is not a DNS response for it"))
		fail_msg("%s", s.buf);
	/* a compression pointer forward */
	snprintf(bad, sizeof(bad), "%s", PLAIN_R);
	memcpy(strstr(bad, "c00c"), "c07c", 4);
	const struct ent e3[] = { { "nxdomain", PLAIN_Q, bad } };
	assert_int_equal(load(e3, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "match nxdomain: the reply is not a DNS response"))
		fail_msg("%s", s.buf);
	/* an unknown word */
	const struct ent e4[] = { { "fuzzy", PLAIN_Q, PLAIN_R } };
	assert_int_equal(load(e4, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "match"))
		fail_msg("%s", s.buf);
	/* the same question twice is refused, the same bytes as exact and as
	 * question are not (two ways to match) */
	const struct ent e5[] = { { "question", PLAIN_Q, PLAIN_R }, { "question", PLAIN_Q, PLAIN_R } };
	assert_int_equal(load(e5, 2, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "this request is already answered"))
		fail_msg("%s", s.buf);
	const struct ent e6[] = { { "exact", PLAIN_Q, PLAIN_R }, { "question", PLAIN_Q, PLAIN_R } };
	assert_int_equal(load(e6, 2, 10, &p, &s), 0);
	assert_int_equal(p->udp[0].replies[1].match, FD_UDP_QUESTION);
	assert_int_equal(p->udp[0].replies[0].match, FD_UDP_EXACT);
	fd_persona_free(p);
	/* a badvers template asked with version 0, a question with version 1 */
	const struct ent e7[] = { { "badvers", PLAIN_Q, PLAIN_R } };
	assert_int_equal(load(e7, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "match badvers: the request has EDNS version 0"))
		fail_msg("%s", s.buf);
	const struct ent e8[] = { { "question", BADVERS_Q, BADVERS_R } };
	assert_int_equal(load(e8, 1, 10, &p, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "match question: the request is not a DNS query"))
		fail_msg("%s", s.buf);
	assert_string_equal(fd_udp_match_name(FD_UDP_NXDOMAIN), "nxdomain");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_check),
	};
	if (fg_siphash_new(&sip) < 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fg_siphash_free(sip);
	return rc;
}
