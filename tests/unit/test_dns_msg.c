/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Query parser, error responses and name text helpers: every malformed case
 * the parser must catch, EDNS(0)/ECS parsing, fg_dns_max_response().
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

typedef struct pkt {
	uint8_t b[2048];
	size_t n;
} pkt_t;

static void put(pkt_t *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(pkt_t *p, uint16_t v)
{
	p->b[p->n++] = (uint8_t)(v >> 8);
	p->b[p->n++] = (uint8_t)v;
}

static void hdr(pkt_t *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	p->n = 0;
	put16(p, 0x4242);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, ns);
	put16(p, ar);
}

#define WWW "\003www\007example\004test"       /* + implicit NUL = 18 octets */

static void question(pkt_t *p, uint16_t type)
{
	put(p, WWW, 18);
	put16(p, type);
	put16(p, 1);
}

/* OPT header; returns the offset of its RDLEN */
static size_t opt(pkt_t *p, uint16_t size, uint8_t version, bool do_bit)
{
	p->b[p->n++] = 0;
	put16(p, 41);
	put16(p, size);
	p->b[p->n++] = 0;
	p->b[p->n++] = version;
	p->b[p->n++] = do_bit ? 0x80 : 0;
	p->b[p->n++] = 0;
	size_t at = p->n;
	put16(p, 0);
	return at;
}

static void opt_end(pkt_t *p, size_t rdlen_at)
{
	uint16_t l = (uint16_t)(p->n - rdlen_at - 2);
	p->b[rdlen_at] = (uint8_t)(l >> 8);
	p->b[rdlen_at + 1] = (uint8_t)l;
}

static void ecs(pkt_t *p, uint16_t fam, uint8_t src, uint8_t scope, const uint8_t *a, size_t alen)
{
	put16(p, 8);
	put16(p, (uint16_t)(4 + alen));
	put16(p, fam);
	p->b[p->n++] = src;
	p->b[p->n++] = scope;
	put(p, a, alen);
}

static fg_dns_query_t q;
static enum fg_dns_parse_action act;
static int rcode;

static int parse(const pkt_t *p)
{
	return fg_dns_parse_query(p->b, p->n, &q, &act, &rcode);
}

#define EXPECT_FORMERR(p, err) do { \
	assert_int_equal(parse(p), (err)); \
	assert_int_equal(act, FG_DNS_REPLY_ERROR); \
	assert_int_equal(rcode, FG_RCODE_FORMERR); \
} while (0)

static void test_valid_query(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0110, 1, 0, 0, 0);
	put(&p, "\003WwW\007ExAmple\004TEST", 18);
	put16(&p, 28);
	put16(&p, 1);
	assert_int_equal(parse(&p), 0);
	assert_int_equal(q.id, 0x4242);
	assert_true(q.rd);
	assert_true(q.cd);
	assert_int_equal(q.opcode, 0);
	assert_int_equal(q.qtype, 28);
	assert_int_equal(q.qclass, 1);
	assert_int_equal(q.qname_len, 18);
	assert_memory_equal(q.qname, "\003WwW\007ExAmple\004TEST", 18);
	assert_memory_equal(q.qname_lc, WWW, 18);
	assert_false(q.has_edns);
	assert_int_equal(q.udp_size, 512);
	assert_int_equal(fg_dns_max_response(&q, false), 512);
	assert_int_equal(fg_dns_max_response(&q, true), 65535);
	assert_true(q.has_question);
}

static void test_short_and_qr(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0100, 1, 0, 0, 0);
	for (size_t n = 0; n < 12; n++) {
		assert_int_equal(fg_dns_parse_query(p.b, n, &q, &act, &rcode), -FG_ETRUNC);
		assert_int_equal(act, FG_DNS_DROP);
	}
	assert_int_equal(fg_dns_parse_query(NULL, 0, &q, &act, &rcode), -FG_ETRUNC);
	hdr(&p, 0x8100, 1, 0, 0, 0);
	question(&p, 1);
	assert_int_equal(parse(&p), -FG_ENOTQUERY);
	assert_int_equal(act, FG_DNS_DROP);
}

static void test_qdcount(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0100, 0, 0, 0, 0);
	EXPECT_FORMERR(&p, -FG_EQDCOUNT);
	assert_false(q.has_question);
	hdr(&p, 0x0100, 2, 0, 0, 0);
	question(&p, 1);
	question(&p, 1);
	EXPECT_FORMERR(&p, -FG_EQDCOUNT);
}

static void test_truncated_question(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0100, 1, 0, 0, 0);
	question(&p, 1);
	size_t full = p.n;
	for (size_t n = 12; n < full; n++) {
		p.n = n;
		EXPECT_FORMERR(&p, -FG_ETRUNC);
	}
	p.n = full;
	assert_int_equal(parse(&p), 0);
}

static void test_label_and_name_limits(void **state)
{
	(void)state;
	pkt_t p;
	uint8_t lab[64];
	memset(lab, 'a', sizeof(lab));
	/* 0x40 as a length */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	p.b[p.n++] = 64;
	put(&p, lab, 64);
	p.b[p.n++] = 0;
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_ELABEL);
	/* 0x80 label type */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\x80" "abc", 5);
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_ELABEL);
	/* 255 octets exactly: accepted */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		p.b[p.n++] = 63;
		put(&p, lab, 63);
	}
	p.b[p.n++] = 61;
	put(&p, lab, 61);
	p.b[p.n++] = 0;
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(parse(&p), 0);
	assert_int_equal(q.qname_len, 255);
	/* 256 octets: rejected */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		p.b[p.n++] = 63;
		put(&p, lab, 63);
	}
	p.b[p.n++] = 62;
	put(&p, lab, 62);
	p.b[p.n++] = 0;
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_ENAME);
	/* too long through compression: each name part legal, sum not */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	for (int i = 0; i < 3; i++) {
		p.b[p.n++] = 63;
		put(&p, lab, 63);
	}
	p.b[p.n++] = 0;                         /* question: 193 octets */
	put16(&p, 1);
	put16(&p, 1);
	p.b[p.n++] = 63;
	put(&p, lab, 63);                       /* + 64 = 257 */
	put(&p, "\xc0\x0c", 2);
	put16(&p, 1);
	put16(&p, 1);
	put(&p, "\0\0\0\0\0\0", 6);
	EXPECT_FORMERR(&p, -FG_ENAME);
}

static void test_pointers(void **state)
{
	(void)state;
	pkt_t p;
	/* pointer to itself */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_EPTR);
	/* forward pointer */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\003www\xc0\x16", 6);
	put16(&p, 1);
	put16(&p, 1);
	put(&p, "\004test\0", 6);
	EXPECT_FORMERR(&p, -FG_EPTR);
	/* out of the packet */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\xff\xff", 2);
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_EPTR);
	/* into the header */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\xc0\x04", 2);
	put16(&p, 1);
	put16(&p, 1);
	EXPECT_FORMERR(&p, -FG_EPTR);
	/* pointer cut short */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	put(&p, "\003www\xc0", 5);
	EXPECT_FORMERR(&p, -FG_ETRUNC);
	/* loop between two names in the additional section:
	 * A at 34 = "a" -> 37 ; B at 37 = "b" -> 34 */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);                        /* ends at 34 */
	put(&p, "\001a\xc0\x25", 4);            /* 34: a, ptr 37 (forward) */
	put(&p, "\001b\xc0\x22", 4);
	put16(&p, 1);
	put16(&p, 1);
	put(&p, "\0\0\0\0\0\0", 6);
	EXPECT_FORMERR(&p, -FG_EPTR);
	/* legal backwards pointer chain in the additional section */
	hdr(&p, 0x0100, 1, 0, 0, 2);
	question(&p, 1);                        /* 12..33, name 12..29 */
	put(&p, "\003foo\xc0\x10", 6);          /* 34: foo.example.test */
	put16(&p, 1); put16(&p, 1); put(&p, "\0\0\0\0\0\0", 6);
	put(&p, "\003bar\xc0\x22", 6);          /* -> 34 -> 16 */
	put16(&p, 1); put16(&p, 1); put(&p, "\0\0\0\0\0\0", 6);
	assert_int_equal(parse(&p), 0);
	/* compressed question name is fine too (points nowhere valid: no
	 * earlier name exists, so any pointer in the question is rejected) */
}

static void test_counts_and_trailing(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0100, 1, 1, 0, 0);
	question(&p, 1);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 1); put16(&p, 1); put(&p, "\0\0\0\0\0\4\1\2\3\4", 10);
	EXPECT_FORMERR(&p, -FG_EMALF);
	assert_true(q.has_question);    /* echoed in the FORMERR */
	hdr(&p, 0x0100, 1, 0, 1, 0);
	question(&p, 1);
	EXPECT_FORMERR(&p, -FG_EMALF);
	hdr(&p, 0x0100, 1, 0, 0, 0);
	question(&p, 1);
	p.b[p.n++] = 0;
	EXPECT_FORMERR(&p, -FG_EMALF);
	/* declared additional record missing */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	EXPECT_FORMERR(&p, -FG_ETRUNC);
	/* a non-OPT additional record is skipped */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 1); put16(&p, 1); put(&p, "\0\0\0\0\0\4\1\2\3\4", 10);
	assert_int_equal(parse(&p), 0);
	assert_false(q.has_edns);
	/* IXFR carries the client's SOA in authority (RFC 1995): parsed */
	hdr(&p, 0x0000, 1, 0, 1, 0);
	question(&p, 251);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 6); put16(&p, 1); put(&p, "\0\0\0\0", 4);
	put16(&p, 22);
	put(&p, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
	assert_int_equal(parse(&p), 0);
	assert_int_equal(q.qtype, 251);
	/* ... but a truncated one is not */
	p.n -= 3;
	assert_int_equal(parse(&p), -FG_ETRUNC);
	/* query type 0 is reserved: NOTIMP */
	hdr(&p, 0x0100, 1, 0, 0, 0);
	question(&p, 0);
	assert_int_equal(parse(&p), -EOPNOTSUPP);
	assert_int_equal(act, FG_DNS_REPLY_ERROR);
	assert_int_equal(rcode, FG_RCODE_NOTIMP);
}

static void test_opcodes(void **state)
{
	(void)state;
	pkt_t p;
	for (unsigned op = 1; op < 16; op++) {
		hdr(&p, (uint16_t)(0x0100 | (op << 11)), 1, 0, 0, 0);
		question(&p, 6);
		assert_int_equal(parse(&p), -EOPNOTSUPP);
		assert_int_equal(act, FG_DNS_REPLY_ERROR);
		assert_int_equal(rcode, FG_RCODE_NOTIMP);
		assert_int_equal(q.opcode, op);
	}
	/* UPDATE with prerequisite/update sections: still NOTIMP */
	hdr(&p, 0x2800, 1, 0, 1, 0);
	question(&p, 6);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 1); put16(&p, 1); put(&p, "\0\0\0\0\0\4\1\2\3\4", 10);
	assert_int_equal(parse(&p), -EOPNOTSUPP);
	assert_int_equal(rcode, FG_RCODE_NOTIMP);
}

static void test_edns(void **state)
{
	(void)state;
	pkt_t p;
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	size_t at = opt(&p, 4096, 0, true);
	put16(&p, 65001);               /* unknown option: ignored */
	put16(&p, 3);
	put(&p, "xyz", 3);
	opt_end(&p, at);
	assert_int_equal(parse(&p), 0);
	assert_true(q.has_edns);
	assert_true(q.do_bit);
	assert_int_equal(q.udp_size, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_false(q.has_ecs);
	assert_int_equal(fg_dns_max_response(&q, false), 1232);
	assert_false(q.want_nsid);
	assert_false(q.want_expire);
	/* NSID (RFC 5001) and EXPIRE (RFC 7314): requests, payload ignored */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 6);
	at = opt(&p, 1232, 0, false);
	put16(&p, FG_EDNS_OPT_NSID);
	put16(&p, 0);
	put16(&p, FG_EDNS_OPT_EXPIRE);
	put16(&p, 0);
	opt_end(&p, at);
	assert_int_equal(parse(&p), 0);
	assert_true(q.want_nsid);
	assert_true(q.want_expire);
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 6);
	at = opt(&p, 1232, 0, false);
	put16(&p, FG_EDNS_OPT_NSID);
	put16(&p, 2);
	put(&p, "ab", 2);
	opt_end(&p, at);
	assert_int_equal(parse(&p), 0);
	assert_true(q.want_nsid);
	assert_false(q.want_expire);
	/* an NSID TLV longer than the OPT: FORMERR (framing) */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 6);
	at = opt(&p, 1232, 0, false);
	put16(&p, FG_EDNS_OPT_NSID);
	put16(&p, 9);
	put(&p, "ab", 2);
	opt_end(&p, at);
	assert_int_equal(parse(&p), -FG_EOPT);
	assert_int_equal(rcode, FG_RCODE_FORMERR);
	/* small sizes count as 512 */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	opt(&p, 100, 0, false);
	assert_int_equal(parse(&p), 0);
	assert_int_equal(q.udp_size, 512);
	assert_false(q.do_bit);
	assert_int_equal(fg_dns_max_response(&q, false), 512);
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	opt(&p, 1000, 0, false);
	assert_int_equal(parse(&p), 0);
	assert_int_equal(fg_dns_max_response(&q, false), 1000);
	/* BADVERS */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	opt(&p, 1232, 1, false);
	assert_int_equal(parse(&p), -FG_EVERSION);
	assert_int_equal(rcode, FG_RCODE_BADVERS);
	assert_int_equal(act, FG_DNS_REPLY_ERROR);
	assert_true(q.has_edns);
	/* duplicate OPT */
	hdr(&p, 0x0100, 1, 0, 0, 2);
	question(&p, 1);
	opt(&p, 1232, 0, false);
	opt(&p, 1232, 0, false);
	EXPECT_FORMERR(&p, -FG_EOPT);
	assert_false(q.has_edns);
	/* owner not root */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 41); put16(&p, 1232); put(&p, "\0\0\0\0\0\0", 6);
	EXPECT_FORMERR(&p, -FG_EOPT);
	/* OPT in the answer section: ANCOUNT != 0 */
	hdr(&p, 0x0100, 1, 1, 0, 0);
	question(&p, 1);
	opt(&p, 1232, 0, false);
	EXPECT_FORMERR(&p, -FG_EMALF);
	/* truncated OPT (rdlen beyond the packet) and bad option framing */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	at = opt(&p, 1232, 0, false);
	put16(&p, 8);
	put16(&p, 8);
	put(&p, "\0\1\x18\0\1\2\3", 7);
	opt_end(&p, at);
	size_t full = p.n;
	for (size_t n = full - 11; n < full; n++) {
		p.n = n;
		EXPECT_FORMERR(&p, -FG_ETRUNC);
	}
	p.n = full;
	EXPECT_FORMERR(&p, -FG_EOPT);           /* option longer than rdata */
}

static void test_ecs(void **state)
{
	(void)state;
	pkt_t p;
	size_t at;
	static const uint8_t a4[3] = { 198, 51, 100 };
	static const uint8_t a6[7] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56 };
	const struct {
		uint16_t fam;
		uint8_t src, scope;
		const uint8_t *a;
		size_t alen;
		int rc;
	} cases[] = {
		{ 1, 24, 0, a4, 3, 0 },
		{ 2, 56, 0, a6, 7, 0 },
		{ 1, 0, 0, a4, 0, 0 },
		{ 1, 23, 0, a4, 3, 0 },            /* 0x64 = 0110 0100: bit 24 clear */
		{ 1, 21, 0, a4, 3, -FG_EECS },     /* bit 22 (0x04) set beyond /21 */
		{ 3, 8, 0, a4, 1, -FG_EECS },      /* family */
		{ 0, 8, 0, a4, 1, -FG_EECS },
		{ 1, 33, 0, a4, 3, -FG_EECS },     /* prefix > 32 */
		{ 2, 129, 0, a6, 7, -FG_EECS },
		{ 1, 24, 24, a4, 3, -FG_EECS },    /* scope in a query */
		{ 1, 24, 0, a4, 2, -FG_EECS },     /* too few octets */
		{ 1, 16, 0, a4, 3, -FG_EECS },     /* too many octets */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hdr(&p, 0x0100, 1, 0, 0, 1);
		question(&p, 1);
		at = opt(&p, 1232, 0, false);
		ecs(&p, cases[i].fam, cases[i].src, cases[i].scope, cases[i].a, cases[i].alen);
		opt_end(&p, at);
		int rc = parse(&p);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		if (rc == 0) {
			assert_true(q.has_ecs);
			assert_int_equal(q.ecs.family, cases[i].fam);
			assert_int_equal(q.ecs.source_prefix, cases[i].src);
			assert_memory_equal(q.ecs.addr, cases[i].a, cases[i].alen);
		} else {
			assert_int_equal(rcode, FG_RCODE_FORMERR);
			assert_true(q.has_edns);        /* OPT echoed, ECS not */
			assert_false(q.has_ecs);
		}
	}
	/* a short ECS header */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	at = opt(&p, 1232, 0, false);
	put16(&p, 8);
	put16(&p, 2);
	put16(&p, 1);
	opt_end(&p, at);
	EXPECT_FORMERR(&p, -FG_EECS);
	/* two ECS options */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	at = opt(&p, 1232, 0, false);
	ecs(&p, 1, 24, 0, a4, 3);
	ecs(&p, 1, 24, 0, a4, 3);
	opt_end(&p, at);
	EXPECT_FORMERR(&p, -FG_EECS);
	/* ECS in a version-1 OPT is not looked at: BADVERS wins */
	hdr(&p, 0x0100, 1, 0, 0, 1);
	question(&p, 1);
	at = opt(&p, 1232, 1, false);
	ecs(&p, 9, 99, 9, a4, 3);
	opt_end(&p, at);
	assert_int_equal(parse(&p), -FG_EVERSION);
}

static void test_build_error(void **state)
{
	(void)state;
	pkt_t p;
	uint8_t out[512];
	/* FORMERR with question and OPT (bad ECS), DO echoed */
	hdr(&p, 0x0110, 1, 0, 0, 1);
	question(&p, 1);
	size_t at = opt(&p, 1232, 0, true);
	ecs(&p, 7, 8, 0, (const uint8_t *)"\1", 1);
	opt_end(&p, at);
	assert_int_equal(parse(&p), -FG_EECS);
	int n = fg_dns_build_error(p.b, p.n, &q, rcode, out, sizeof(out));
	assert_int_equal(n, 12 + 22 + 11);
	assert_memory_equal(out, "\x42\x42\x81\x11\0\1\0\0\0\0\0\1", 12);
	assert_memory_equal(out + 12, WWW "\0\0\1\0\1", 22);
	assert_memory_equal(out + 34, "\0\0\x29\x04\xd0\0\0\x80\0\0\0", 11);
	/* BADVERS: extended rcode 1 in the OPT TTL */
	hdr(&p, 0x0000, 1, 0, 0, 1);
	question(&p, 1);
	opt(&p, 1232, 3, false);
	assert_int_equal(parse(&p), -FG_EVERSION);
	n = fg_dns_build_error(p.b, p.n, &q, rcode, out, sizeof(out));
	assert_int_equal(n, 12 + 22 + 11);
	assert_int_equal(out[2], 0x80);
	assert_int_equal(out[3], 0x00);         /* low rcode bits 0 */
	assert_memory_equal(out + 34, "\0\0\x29\x04\xd0\x01\0\0\0\0\0", 11);
	/* before the question: header only */
	hdr(&p, 0x0100, 2, 0, 0, 0);
	assert_int_equal(parse(&p), -FG_EQDCOUNT);
	n = fg_dns_build_error(p.b, p.n, &q, rcode, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_memory_equal(out, "\x42\x42\x81\x01\0\0\0\0\0\0\0\0", 12);
	/* NOTIMP keeps the opcode; RD and CD (QUERY only) are not copied,
	 * as ISC's compliance tester (opcodeflg) expects */
	hdr(&p, 0x2110, 1, 0, 0, 0);
	question(&p, 6);
	parse(&p);
	n = fg_dns_build_error(p.b, p.n, &q, rcode, out, sizeof(out));
	assert_int_equal(out[2], 0xA0);
	assert_int_equal(out[3], 0x04);
	/* a QUERY error copies both */
	hdr(&p, 0x0110, 1, 0, 0, 0);
	question(&p, 0);
	parse(&p);
	n = fg_dns_build_error(p.b, p.n, &q, rcode, out, sizeof(out));
	assert_int_equal(out[2], 0x81);
	assert_int_equal(out[3], 0x14);
	hdr(&p, 0x0100, 1, 0, 0, 0);
	question(&p, 6);
	parse(&p);
	/* output too small */
	assert_true(fg_dns_build_error(p.b, p.n, &q, rcode, out, 20) < 0);
	/* without packet: from q */
	n = fg_dns_build_error(NULL, 0, &q, FG_RCODE_SERVFAIL, out, sizeof(out));
	assert_int_equal(n, 12 + 22);
	assert_int_equal(out[3], 0x02);
	assert_true(fg_dns_build_error(NULL, 0, NULL, 2, out, sizeof(out)) < 0);
}

static void test_name_text(void **state)
{
	(void)state;
	uint8_t w[FG_DNS_MAXNAME], origin[FG_DNS_MAXNAME];
	char t[1100];
	assert_int_equal(fg_dns_name_from_text("example.test.", NULL, origin), 14);
	assert_memory_equal(origin, "\007example\004test", 14);
	assert_int_equal(fg_dns_name_from_text("example.test", NULL, w), 14);   /* absolute */
	assert_int_equal(fg_dns_name_from_text("www", origin, w), 18);
	assert_memory_equal(w, WWW, 18);
	assert_int_equal(fg_dns_name_from_text("@", origin, w), 14);
	assert_int_equal(fg_dns_name_from_text("@", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_from_text(".", origin, w), 1);
	assert_int_equal(w[0], 0);
	assert_int_equal(fg_dns_name_from_text("a..b", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_from_text(".a", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_from_text("", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_from_text("a\\.b\\032c\\\\.", NULL, w), 8);
	assert_memory_equal(w, "\006a.b c\\\0", 8);
	assert_int_equal(fg_dns_name_from_text("a\\25", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_from_text("a\\256", NULL, w), -FG_ESYNTAX);
	assert_int_equal(fg_dns_name_to_text(w, t, sizeof(t)), 12);
	assert_string_equal(t, "a\\.b\\032c\\\\.");
	char lab[80];
	memset(lab, 'x', 64);
	lab[64] = '\0';
	assert_int_equal(fg_dns_name_from_text(lab, NULL, w), -FG_ELABEL);
	lab[63] = '\0';
	assert_int_equal(fg_dns_name_from_text(lab, NULL, w), 65);
	/* 255 octets is the limit, with or without the origin */
	char big[400];
	snprintf(big, sizeof(big), "%s.%s.%s.%.61s.", lab, lab, lab, lab);
	assert_int_equal(fg_dns_name_from_text(big, NULL, w), 255);
	assert_int_equal(fg_dns_name_to_text(w, t, sizeof(t)), 254);
	snprintf(big, sizeof(big), "%s.%s.%s.%.62s.", lab, lab, lab, lab);
	assert_int_equal(fg_dns_name_from_text(big, NULL, w), -FG_ENAME);
	snprintf(big, sizeof(big), "%s.%s.%s.%.48s", lab, lab, lab, lab);
	assert_int_equal(fg_dns_name_from_text(big, origin, w), 255);
	snprintf(big, sizeof(big), "%s.%s.%s.%.49s", lab, lab, lab, lab);
	assert_int_equal(fg_dns_name_from_text(big, origin, w), -FG_ENAME);
	/* to_text: small buffers, root */
	assert_int_equal(fg_dns_name_to_text(origin, t, 13), -FG_ESPACE);
	assert_int_equal(fg_dns_name_to_text(origin, t, 14), 13);
	assert_string_equal(t, "example.test.");
	assert_int_equal(fg_dns_name_to_text((const uint8_t *)"", t, 2), 1);
	assert_string_equal(t, ".");
	/* lower: letters only, length octets untouched */
	uint8_t m[] = "\x41" "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLM" "\002Z@";
	fg_dns_name_lower(m);
	assert_int_equal(m[0], 0x41);
	assert_int_equal(m[1], 'a');
	assert_int_equal(m[65], 'm');
	assert_int_equal(m[66], 2);
	assert_int_equal(m[67], 'z');
	assert_int_equal(m[68], '@');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_query),
		cmocka_unit_test(test_short_and_qr),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_truncated_question),
		cmocka_unit_test(test_label_and_name_limits),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_counts_and_trailing),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_ecs),
		cmocka_unit_test(test_build_error),
		cmocka_unit_test(test_name_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
