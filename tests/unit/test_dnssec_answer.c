/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Online signing in the answer engine: a zone with a KSK (RFC 6605's key)
 * and a generated ZSK, a pinned clock. Every signature in a response is
 * checked with fg_rrsig_verify() against the published DNSKEY rdata (as a
 * validator would: public half only); denial records against RFC 9824's
 * form; the cache against the clock; DO=0 answers against an unsigned copy
 * of the zone, octet for octet.
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
#include "dns/dnssec/denial.h"
#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"
#include "dns/dnssec/signer.h"
#include "dns/msg.h"
#include "dns/zone.h"

#define LIFETIME (14u * 86400u)
#define REFRESH  (7u * 86400u)
#define T0       1800000000u
#define T_DS     43     /* internal to src/dns */

static uint32_t now = T0;
static uint32_t clock_fn(void *ctx)
{
	(void)ctx;
	return now;
}

static const char ksk_pub[] =
	"example.net. IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";
static const char ksk_priv[] =
	"Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
	"PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";

static const char *const recs[] = {
	"@ NS ns1", "ns1 A 192.0.2.1", "www A 192.0.2.10", "www A 192.0.2.11",
	"www TXT \"hello\"", "alias CNAME www", "*.wild A 192.0.2.99", "a.b.ent TXT \"x\"",
	"sub NS ns.sub", "ns.sub A 192.0.2.53",
	"sec NS ns.sec", "ns.sec A 192.0.2.54",
	"sec DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4 469DA50A",
	/* 400 octets: fits 512 unsigned, not with its signature */
	"big TXT \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
};

static fg_zonedb_t *signed_db, *plain_db;
static uint8_t ksk_rd[FG_DNSKEY_RDMAX], zsk_rd[FG_DNSKEY_RDMAX];
static uint16_t ksk_len, zsk_len;

static fg_zonedb_t *build(bool sign)
{
	char err[256];
	fg_zone_t *z;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 7200, 900, 1209600, 60 };
	fg_zonedb_t *db = fg_zonedb_new();
	assert_non_null(db);
	assert_int_equal(fg_zonedb_add_zone(db, "example.net", 300, &soa, &z, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		assert_int_equal(fg_zone_add_record(z, recs[i], err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(z, "svc", 7, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(z, "svc4", 8, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_set_service_families(z, 8, true, false), 0);
	assert_int_equal(fg_zone_set_service_families(z, 99, true, false), -ENOENT);
	if (sign) {
		fg_dnskey_t k, zk;
		assert_int_equal(fg_dnskey_parse_public(ksk_pub, strlen(ksk_pub), &k, err, sizeof(err)), 0);
		assert_int_equal(fg_dnskey_parse_private(ksk_priv, strlen(ksk_priv), &k, err, sizeof(err)), 0);
		assert_int_equal(fg_dnskey_generate("example.net", 13, 256, &zk, err, sizeof(err)), 0);
		memcpy(ksk_rd, k.rdata, k.rdlen);
		ksk_len = k.rdlen;
		memcpy(zsk_rd, zk.rdata, zk.rdlen);
		zsk_len = zk.rdlen;
		fg_signer_t *s = fg_signer_new((const uint8_t *)"\007example\003net", LIFETIME,
					       REFRESH, 300, clock_fn, NULL);
		assert_non_null(s);
		assert_int_equal(fg_signer_add_key(s, &k, T0, err, sizeof(err)), 0);
		assert_int_equal(fg_signer_add_key(s, &zk, T0, err, sizeof(err)), 0);
		assert_int_equal(fg_signer_freeze(s, err, sizeof(err)), 0);
		assert_int_equal(fg_zone_set_signer(z, s), 0);
	}
	assert_int_equal(fg_zonedb_finalize(db, err, sizeof(err)), 0);
	return db;
}

static int setup(void **state)
{
	(void)state;
	signed_db = build(true);
	plain_db = build(false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fg_zonedb_free(signed_db);
	fg_zonedb_free(plain_db);
	return 0;
}

/* ---- queries and a small independent response reader ----------------- */

static size_t mkquery(uint8_t *b, const char *name, uint16_t type, bool edns, bool do_bit,
		      uint16_t size)
{
	size_t n = 0;
	uint8_t hdr[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0 };
	memcpy(b, hdr, 12);
	n = 12;
	int l = fg_dns_name_from_text(name, NULL, b + n);
	assert_true(l > 0);
	n += (size_t)l;
	b[n++] = (uint8_t)(type >> 8); b[n++] = (uint8_t)type;
	b[n++] = 0; b[n++] = 1;
	if (edns) {
		uint8_t opt[11] = { 0, 0, 41, (uint8_t)(size >> 8), (uint8_t)size, 0, 0,
				    do_bit ? 0x80 : 0, 0, 0, 0 };
		memcpy(b + n, opt, 11);
		n += 11;
	}
	return n;
}

typedef struct rr {
	int sec;
	uint8_t owner[FG_DNS_MAXNAME];
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rd;
	uint16_t rdlen;
} rr_t;

typedef struct resp {
	uint16_t flags;
	unsigned n;
	rr_t rr[32];
} resp_t;

/* read a possibly compressed name into out (lowercased) */
static size_t rdname(const uint8_t *m, size_t len, size_t off, uint8_t *out)
{
	size_t o = 0, end = 0;
	int hops = 0;
	while (1) {
		assert_true(off < len);
		uint8_t l = m[off];
		if ((l & 0xC0) == 0xC0) {
			if (!end)
				end = off + 2;
			off = (size_t)((l & 0x3F) << 8 | m[off + 1]);
			assert_true(++hops < 20);
			continue;
		}
		out[o++] = l;
		if (!l)
			break;
		for (uint8_t i = 1; i <= l; i++) {
			uint8_t c = m[off + i];
			out[o++] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
		off += 1u + l;
	}
	return end ? end : off + 1;
}

static void parse(const uint8_t *m, size_t len, resp_t *r)
{
	memset(r, 0, sizeof(*r));
	assert_true(len >= 12);
	r->flags = (uint16_t)(m[2] << 8 | m[3]);
	unsigned cnt[4];
	for (int i = 0; i < 4; i++)
		cnt[i] = (unsigned)(m[4 + 2 * i] << 8 | m[5 + 2 * i]);
	uint8_t tmp[FG_DNS_MAXNAME];
	size_t off = rdname(m, len, 12, tmp) + 4;
	for (int s = 1; s < 4; s++)
		for (unsigned i = 0; i < cnt[s]; i++) {
			rr_t *x = &r->rr[r->n++];
			assert_true(r->n <= 32);
			x->sec = s;
			off = rdname(m, len, off, x->owner);
			x->type = (uint16_t)(m[off] << 8 | m[off + 1]);
			x->ttl = (uint32_t)m[off + 4] << 24 | (uint32_t)m[off + 5] << 16 |
				 (uint32_t)m[off + 6] << 8 | m[off + 7];
			x->rdlen = (uint16_t)(m[off + 8] << 8 | m[off + 9]);
			x->rd = m + off + 10;
			off += 10u + x->rdlen;
			assert_true(off <= len);
		}
}

static uint8_t out[4096];
static fg_dns_query_t lastq;

static void ask(const fg_zonedb_t *db, const char *name, uint16_t type, bool do_bit,
		uint16_t size, resp_t *r, size_t *len)
{
	uint8_t q[512];
	size_t ql = mkquery(q, name, type, true, do_bit, size);
	fg_dns_result_t res;
	fg_dns_answer(db, q, ql, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	if (len)
		*len = res.len;
	parse(out, res.len, r);
}

static const rr_t *find(const resp_t *r, int sec, uint16_t type, unsigned nth)
{
	for (unsigned i = 0; i < r->n; i++)
		if (r->rr[i].sec == sec && r->rr[i].type == type && nth-- == 0)
			return &r->rr[i];
	return NULL;
}

static unsigned count(const resp_t *r, uint16_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->n; i++)
		n += r->rr[i].type == type;
	return n;
}

/* verify the RRSIG covering `type` in section sec against the records of
 * that type and owner in the same section, with the key it names */
static void verify(const resp_t *r, int sec, uint16_t type)
{
	const rr_t *sig = NULL;
	for (unsigned i = 0; i < r->n; i++)
		if (r->rr[i].sec == sec && r->rr[i].type == FG_TYPE_RRSIG &&
		    (r->rr[i].rd[0] << 8 | r->rr[i].rd[1]) == type)
			sig = &r->rr[i];
	assert_non_null(sig);
	fg_rdref_t set[16];
	static uint8_t flat[16][600];
	unsigned n = 0;
	for (unsigned i = 0; i < r->n; i++)
		if (r->rr[i].sec == sec && r->rr[i].type == type &&
		    !memcmp(r->rr[i].owner, sig->owner, sizeof(sig->owner))) {
			/* names in NS/CNAME/SOA rdata are compressed on the
			 * wire: undo it, as a validator does */
			const rr_t *x = &r->rr[i];
			size_t off = (size_t)(x->rd - out), o = 0;
			uint8_t nm[FG_DNS_MAXNAME];
			unsigned names = type == FG_TYPE_SOA ? 2 :
					 (type == FG_TYPE_NS || type == FG_TYPE_CNAME) ? 1 : 0;
			for (unsigned k = 0; k < names; k++) {
				off = rdname(out, sizeof(out), off, nm);
				size_t nl = 0;
				while (nm[nl])
					nl += 1u + nm[nl];
				memcpy(flat[n] + o, nm, nl + 1);
				o += nl + 1;
			}
			size_t rest = x->rdlen - (off - (size_t)(x->rd - out));
			memcpy(flat[n] + o, out + off, rest);
			set[n].rdata = flat[n];
			set[n++].rdlen = (uint16_t)(o + rest);
		}
	assert_true(n > 0);
	uint32_t ottl = (uint32_t)sig->rd[4] << 24 | (uint32_t)sig->rd[5] << 16 |
			(uint32_t)sig->rd[6] << 8 | sig->rd[7];
	uint16_t tag = (uint16_t)(sig->rd[16] << 8 | sig->rd[17]);
	const uint8_t *key = tag == fg_dnskey_tag(ksk_rd, ksk_len) ? ksk_rd : zsk_rd;
	size_t kl = key == ksk_rd ? ksk_len : zsk_len;
	/* the DNSKEY RRset by the KSK, everything else by the ZSK */
	assert_ptr_equal(key, type == FG_TYPE_DNSKEY ? ksk_rd : zsk_rd);
	assert_int_equal(fg_rrsig_verify(key, kl, sig->owner, type, ottl, set, n, sig->rd,
					 sig->rdlen), 0);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- tests -------------------------------------------------------------- */

static void test_positive_signed(void **state)
{
	(void)state;
	resp_t r;
	now = T0;
	ask(signed_db, "www.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_int_equal(count(&r, FG_TYPE_A), 2);
	verify(&r, 1, FG_TYPE_A);
	const rr_t *sig = find(&r, 1, FG_TYPE_RRSIG, 0);
	assert_int_equal(be32(sig->rd + 8), T0 + LIFETIME);      /* expiration */
	assert_int_equal(be32(sig->rd + 12), T0 - 3600);         /* inception, backdated */
	assert_int_equal(sig->rd[3], 3);                         /* labels */
	/* owner in any case: the same signature validates */
	ask(signed_db, "WwW.ExAmPle.NET", FG_TYPE_A, true, 1232, &r, NULL);
	verify(&r, 1, FG_TYPE_A);
	/* CNAME then its target, each signed */
	ask(signed_db, "alias.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	verify(&r, 1, FG_TYPE_CNAME);
	verify(&r, 1, FG_TYPE_A);
	/* wildcard: signed as the expanded name (labels 4, not 3) */
	ask(signed_db, "x.wild.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	verify(&r, 1, FG_TYPE_A);
	assert_int_equal(find(&r, 1, FG_TYPE_RRSIG, 0)->rd[3], 4);
	/* DNSKEY: both keys, signed by the KSK */
	ask(signed_db, "example.net", FG_TYPE_DNSKEY, true, 1232, &r, NULL);
	assert_int_equal(count(&r, FG_TYPE_DNSKEY), 2);
	verify(&r, 1, FG_TYPE_DNSKEY);
	/* SOA, NS at the apex */
	ask(signed_db, "example.net", FG_TYPE_NS, true, 1232, &r, NULL);
	verify(&r, 1, FG_TYPE_NS);
}

static void test_do0_unchanged(void **state)
{
	(void)state;
	static const char *const names[] = { "www.example.net", "nope.example.net",
					     "alias.example.net", "b.ent.example.net",
					     "x.sub.example.net", "x.wild.example.net" };
	static const uint16_t types[] = { FG_TYPE_A, FG_TYPE_TXT, FG_TYPE_MX };
	uint8_t a[4096];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < 3; t++) {
			resp_t r;
			size_t la, lb;
			ask(plain_db, names[i], types[t], false, 1232, &r, &la);
			memcpy(a, out, la);
			ask(signed_db, names[i], types[t], false, 1232, &r, &lb);
			assert_int_equal(la, lb);
			assert_memory_equal(a, out, la);
			assert_int_equal(count(&r, FG_TYPE_RRSIG), 0);
		}
	/* and DO=1 on the unsigned zone: nothing added either */
	resp_t r;
	ask(plain_db, "www.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_int_equal(count(&r, FG_TYPE_RRSIG), 0);
}

static void test_cache_and_refresh(void **state)
{
	(void)state;
	resp_t r;
	uint8_t first[FG_RRSIG_MAX];
	now = T0 + 10;
	ask(signed_db, "www.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	const rr_t *s = find(&r, 1, FG_TYPE_RRSIG, 0);
	memcpy(first, s->rd, s->rdlen);
	uint16_t fl = s->rdlen;
	/* ECDSA signatures are randomized: equal octets mean the cache */
	now = T0 + 10 + (LIFETIME - REFRESH) - 1;
	ask(signed_db, "www.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	s = find(&r, 1, FG_TYPE_RRSIG, 0);
	assert_int_equal(s->rdlen, fl);
	assert_memory_equal(s->rd, first, fl);
	/* within rrsig-refresh of the expiration: signed again, later times */
	now = T0 + 10 + (LIFETIME - REFRESH);
	ask(signed_db, "www.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	s = find(&r, 1, FG_TYPE_RRSIG, 0);
	assert_int_equal(be32(s->rd + 12), now - 3600);
	assert_int_equal(be32(s->rd + 8), now + LIFETIME);
	verify(&r, 1, FG_TYPE_TXT);
	now = T0;
}

static void test_granted_signed(void **state)
{
	(void)state;
	uint8_t q[512];
	fg_dns_result_t res;
	fg_dns_query_t qq;
	resp_t r;
	const uint8_t addr[4] = { 198, 51, 100, 7 };
	size_t ql = mkquery(q, "svc.example.net", FG_TYPE_A, true, true, 1232);
	fg_dns_answer(signed_db, q, ql, false, out, sizeof(out), &qq, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	fg_dns_answer_service(signed_db, &qq, false, addr, 5, 0, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	parse(out, res.len, &r);
	const rr_t *a = find(&r, 1, FG_TYPE_A, 0);
	assert_non_null(a);
	assert_memory_equal(a->rd, addr, 4);
	verify(&r, 1, FG_TYPE_A);
	assert_int_equal(be32(find(&r, 1, FG_TYPE_RRSIG, 0)->rd + 4), 5);  /* orig TTL */
	/* another address: its own signature, never a cached one */
	const uint8_t addr2[4] = { 198, 51, 100, 8 };
	fg_dns_answer_service(signed_db, &qq, false, addr2, 5, 0, out, sizeof(out), &res);
	parse(out, res.len, &r);
	verify(&r, 1, FG_TYPE_A);
	/* no pool of the family: NODATA whose NSEC lists A but not AAAA */
	ql = mkquery(q, "svc.example.net", FG_TYPE_AAAA, true, true, 1232);
	fg_dns_answer(signed_db, q, ql, false, out, sizeof(out), &qq, &res);
	fg_dns_answer_service_nodata(signed_db, &qq, false, 0, out, sizeof(out), &res);
	parse(out, res.len, &r);
	const rr_t *nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_non_null(nsec);
	uint16_t t[] = { FG_TYPE_A };
	uint8_t want[300];
	int wl = fg_nsec_compact((const uint8_t *)"\003svc\007example\003net", t, 1, false,
				 want, sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	verify(&r, 2, FG_TYPE_NSEC);
	/* a TXT query at a service with IPv4 pools only: the NSEC lists A,
	 * never an AAAA the service cannot give; without family information
	 * both are listed */
	ask(signed_db, "svc4.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_non_null(nsec);
	wl = fg_nsec_compact((const uint8_t *)"\004svc4\007example\003net", t, 1, false, want,
			     sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	ask(signed_db, "svc.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	uint16_t both[] = { FG_TYPE_A, FG_TYPE_AAAA };
	wl = fg_nsec_compact((const uint8_t *)"\003svc\007example\003net", both, 2, false, want,
			     sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
}

static void test_denial(void **state)
{
	(void)state;
	resp_t r;
	uint8_t want[300];
	/* NXDOMAIN -> NOERROR, SOA + NSEC(NXNAME), both signed */
	ask(signed_db, "Nope.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_int_equal(r.flags & 0xF, FG_RCODE_NOERROR);
	assert_true(r.flags & 0x0400);  /* AA */
	const rr_t *nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_non_null(nsec);
	assert_memory_equal(nsec->owner, "\004nope\007example\003net", 18);
	int wl = fg_nsec_compact((const uint8_t *)"\004nope\007example\003net", NULL, 0, true,
				 want, sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	assert_int_equal(nsec->ttl, 60);        /* min(SOA TTL, MINIMUM) */
	verify(&r, 2, FG_TYPE_NSEC);
	verify(&r, 2, FG_TYPE_SOA);
	assert_int_equal(count(&r, FG_TYPE_NSEC), 1);   /* one NSEC only */
	/* NODATA: the types that exist */
	ask(signed_db, "www.example.net", FG_TYPE_MX, true, 1232, &r, NULL);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	uint16_t t[] = { FG_TYPE_A, FG_TYPE_TXT };
	wl = fg_nsec_compact((const uint8_t *)"\003www\007example\003net", t, 2, false, want,
			     sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	verify(&r, 2, FG_TYPE_NSEC);
	/* apex NODATA lists DNSKEY */
	ask(signed_db, "example.net", FG_TYPE_MX, true, 1232, &r, NULL);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	uint16_t ta[] = { FG_TYPE_NS, FG_TYPE_SOA, FG_TYPE_DNSKEY };
	wl = fg_nsec_compact((const uint8_t *)"\007example\003net", ta, 3, false, want, sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	/* empty non-terminal: exists, no types */
	ask(signed_db, "b.ent.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_int_equal(r.flags & 0xF, FG_RCODE_NOERROR);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	wl = fg_nsec_compact((const uint8_t *)"\001b\003ent\007example\003net", NULL, 0, false,
			     want, sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	/* wildcard NODATA: at the query name, the wildcard's types */
	ask(signed_db, "q.wild.example.net", FG_TYPE_TXT, true, 1232, &r, NULL);
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_memory_equal(nsec->owner, "\001q\004wild\007example\003net", 20);
	verify(&r, 2, FG_TYPE_NSEC);
	/* referral: NS unsigned, an NSEC without DS proves it insecure */
	ask(signed_db, "x.sub.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_non_null(find(&r, 2, FG_TYPE_NS, 0));
	nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_non_null(nsec);
	uint16_t tn[] = { FG_TYPE_NS };
	wl = fg_nsec_compact((const uint8_t *)"\003sub\007example\003net", tn, 1, false, want,
			     sizeof(want));
	assert_memory_equal(nsec->rd, want, (size_t)wl);
	verify(&r, 2, FG_TYPE_NSEC);
	assert_int_equal(count(&r, FG_TYPE_RRSIG), 1);  /* only the NSEC's */
}

static void test_secure_referral(void **state)
{
	(void)state;
	resp_t r;
	/* referral to a signed child: DS + its RRSIG instead of an NSEC */
	ask(signed_db, "x.sec.example.net", FG_TYPE_A, true, 1232, &r, NULL);
	assert_non_null(find(&r, 2, FG_TYPE_NS, 0));
	const rr_t *ds = find(&r, 2, T_DS, 0);
	assert_non_null(ds);
	assert_int_equal(ds->rdlen, 36);
	assert_int_equal(ds->rd[0] << 8 | ds->rd[1], 60485);
	assert_int_equal(ds->rd[4], 0xD4);
	assert_int_equal(ds->rd[35], 0x0A);
	verify(&r, 2, T_DS);
	assert_null(find(&r, 2, FG_TYPE_NSEC, 0));
	assert_false(r.flags & 0x0400);  /* a referral is not authoritative */
	/* without DO: the plain referral */
	ask(signed_db, "x.sec.example.net", FG_TYPE_A, false, 1232, &r, NULL);
	assert_null(find(&r, 2, T_DS, 0));
	/* the DS RRset itself is the parent's: answered and signed */
	ask(signed_db, "sec.example.net", T_DS, true, 1232, &r, NULL);
	assert_true(r.flags & 0x0400);
	verify(&r, 1, T_DS);
	/* DS only at a delegation */
	char err[256];
	fg_zone_t *z;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 7200, 900, 1209600, 60 };
	fg_zonedb_t *db = fg_zonedb_new();
	assert_int_equal(fg_zonedb_add_zone(db, "example.org", 300, &soa, &z, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_record(z, "@ NS ns1", err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_record(z, "www DS 1 13 2 0000000000000000000000000000000000000000000000000000000000000000", err, sizeof(err)), 0);
	assert_true(fg_zonedb_finalize(db, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "only at a delegation"));
	/* digest length and hex checked */
	assert_true(fg_zone_add_record(z, "a DS 1 13 2 00", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "hex digits"));
	assert_true(fg_zone_add_record(z, "a DS 1 13 2 zz", err, sizeof(err)) < 0);
	assert_true(fg_zone_add_record(z, "a DS 1 13 3 00", err, sizeof(err)) < 0);
	assert_true(fg_zone_add_record(z, "a DS 70000 13 2 00", err, sizeof(err)) < 0);
	fg_zonedb_free(db);
}

static void test_nxname_formerr(void **state)
{
	(void)state;
	resp_t r;
	ask(signed_db, "www.example.net", FG_TYPE_NXNAME, true, 1232, &r, NULL);
	assert_int_equal(r.flags & 0xF, FG_RCODE_FORMERR);
	/* unsigned zones keep their behaviour (NODATA) */
	ask(plain_db, "www.example.net", FG_TYPE_NXNAME, true, 1232, &r, NULL);
	assert_int_equal(r.flags & 0xF, FG_RCODE_NOERROR);
}

/* a private service hidden from an asker without a key: the signed
 * denial of a name that does not exist, the same as for any other */
static void test_private_hidden_signed(void **state)
{
	(void)state;
	uint8_t q[512], want[300];
	fg_dns_result_t res;
	fg_dns_query_t qq;
	resp_t r;
	size_t ql = mkquery(q, "svc.example.net", FG_TYPE_A, true, true, 1232);
	fg_dns_answer(signed_db, q, ql, false, out, sizeof(out), &qq, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	fg_dns_answer_service_hidden(signed_db, &qq, false, 0, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	parse(out, res.len, &r);
	assert_int_equal(r.flags & 0xF, FG_RCODE_NOERROR);   /* RFC 9824 */
	assert_null(find(&r, 1, FG_TYPE_A, 0));
	const rr_t *nsec = find(&r, 2, FG_TYPE_NSEC, 0);
	assert_non_null(nsec);
	int wl = fg_nsec_compact((const uint8_t *)"\003svc\007example\003net", NULL, 0, true,
				 want, sizeof(want));
	assert_int_equal(nsec->rdlen, wl);
	assert_memory_equal(nsec->rd, want, (size_t)wl);       /* NXNAME */
	verify(&r, 2, FG_TYPE_NSEC);
	verify(&r, 2, FG_TYPE_SOA);
	/* unsigned (DO=0): a plain NXDOMAIN with the SOA */
	ql = mkquery(q, "svc.example.net", FG_TYPE_A, true, false, 1232);
	fg_dns_answer(signed_db, q, ql, false, out, sizeof(out), &qq, &res);
	fg_dns_answer_service_hidden(signed_db, &qq, false, 0, out, sizeof(out), &res);
	parse(out, res.len, &r);
	assert_int_equal(r.flags & 0xF, FG_RCODE_NXDOMAIN);
	assert_non_null(find(&r, 2, FG_TYPE_SOA, 0));
	assert_int_equal(count(&r, FG_TYPE_RRSIG), 0);
}

static void test_truncation(void **state)
{
	(void)state;
	resp_t r;
	size_t len;
	/* fits in 512 without its signature */
	ask(signed_db, "big.example.net", FG_TYPE_TXT, false, 512, &r, &len);
	assert_false(r.flags & 0x0200);
	/* with DO=1 it does not: TC, never an RRset without its RRSIG */
	ask(signed_db, "big.example.net", FG_TYPE_TXT, true, 512, &r, &len);
	assert_true(r.flags & 0x0200);
	assert_int_equal(count(&r, FG_TYPE_TXT), 0);
	assert_true(len <= 512);
	/* a larger EDNS size: whole and signed */
	ask(signed_db, "big.example.net", FG_TYPE_TXT, true, 1232, &r, &len);
	assert_false(r.flags & 0x0200);
	verify(&r, 1, FG_TYPE_TXT);
}

static void test_signer_rules(void **state)
{
	(void)state;
	char err[256];
	fg_dnskey_t k;
	/* a ZSK alone cannot sign the DNSKEY RRset */
	fg_signer_t *s = fg_signer_new((const uint8_t *)"\007example\003net", LIFETIME, REFRESH,
				       300, clock_fn, NULL);
	assert_int_equal(fg_dnskey_generate("example.net", 13, 256, &k, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_add_key(s, &k, T0, err, sizeof(err)), 0);
	assert_true(fg_signer_freeze(s, err, sizeof(err)) < 0);
	fg_signer_free(s);
	/* keys of another zone are refused */
	s = fg_signer_new((const uint8_t *)"\007example\003net", LIFETIME, REFRESH, 300, clock_fn, NULL);
	assert_int_equal(fg_dnskey_generate("example.org", 13, 257, &k, err, sizeof(err)), 0);
	assert_true(fg_signer_add_key(s, &k, T0, err, sizeof(err)) < 0);
	fg_dnskey_clear(&k);
	/* a pre-published ZSK (Activate later) is in the DNSKEY RRset but
	 * does not sign; the active one does */
	fg_dnskey_t ksk, z1, z2;
	assert_int_equal(fg_dnskey_parse_public(ksk_pub, strlen(ksk_pub), &ksk, err, sizeof(err)), 0);
	assert_int_equal(fg_dnskey_parse_private(ksk_priv, strlen(ksk_priv), &ksk, err, sizeof(err)), 0);
	assert_int_equal(fg_dnskey_generate("example.net", 13, 256, &z1, err, sizeof(err)), 0);
	assert_int_equal(fg_dnskey_generate("example.net", 13, 256, &z2, err, sizeof(err)), 0);
	z2.activate = T0 + 86400;
	uint16_t z1tag = z1.tag;
	assert_int_equal(fg_signer_add_key(s, &ksk, T0, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_add_key(s, &z1, T0, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_add_key(s, &z2, T0, err, sizeof(err)), 0);
	assert_int_equal(fg_signer_freeze(s, err, sizeof(err)), 0);
	unsigned n;
	fg_signer_dnskeys(s, &n);
	assert_int_equal(n, 3);
	uint8_t sig[FG_RRSIG_MAX];
	fg_rdref_t rr = { (const uint8_t *)"\300\000\002\001", 4 };
	now = T0;
	int l = fg_signer_sign(s, NULL, (const uint8_t *)"\003www\007example\003net", FG_TYPE_A,
			       60, &rr, 1, sig, sizeof(sig));
	assert_true(l > 0);
	assert_int_equal(sig[16] << 8 | sig[17], z1tag);
	fg_signer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_signed),
		cmocka_unit_test(test_do0_unchanged),
		cmocka_unit_test(test_cache_and_refresh),
		cmocka_unit_test(test_granted_signed),
		cmocka_unit_test(test_denial),
		cmocka_unit_test(test_secure_referral),
		cmocka_unit_test(test_nxname_formerr),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_signer_rules),
		cmocka_unit_test(test_private_hidden_signed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
