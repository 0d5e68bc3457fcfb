/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the signing path of the answer engine: every input
 * is a query answered over UDP and TCP from a signed zone (a CSK, RFC
 * 6605's key; a pinned clock), with DO/OPT handling, RRSIG placement,
 * compact denial, secure and insecure referrals, wildcards, ENTs, DNSKEY,
 * NXNAME, service names (finished with a granted address) and truncation
 * of signed RRsets. Invariants: the response never exceeds the size limit
 * of the query, and a NOERROR answer to a DO query from the signed zone
 * never carries an RRset without an RRSIG in the answer section (counted:
 * at least one RRSIG when there are answers).
 *
 * The db is built once and kept (static state is fine in a harness only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/signer.h"
#include "dns/msg.h"
#include "dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_zonedb_t *db;

static uint32_t pinned(void *ctx)
{
	(void)ctx;
	return 1800000000u;
}

static const char *const recs[] = {
	"@ NS ns1", "ns1 A 192.0.2.1", "www A 192.0.2.10", "www AAAA 2001:db8::10",
	"www TXT \"hello\"", "alias CNAME www", "c1 CNAME alias", "*.wild A 192.0.2.99",
	"*.wild TXT \"w\"", "a.b.ent TXT \"x\"", "sub NS ns.sub", "ns.sub A 192.0.2.53",
	"sec NS ns.sec", "ns.sec A 192.0.2.54",
	"sec DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A",
	"@ MX 10 www", "_s._udp SRV 1 2 3 www", "ext CNAME www.other.invalid.",
};

static void build(void)
{
	static const char pub[] =
		"example.net. IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";
	static const char priv[] = "Private-key-format: v1.2\nAlgorithm: 13\n"
				   "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
	char err[256];
	fg_zone_t *z;
	fg_dnskey_t k;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 7200, 900, 1209600, 60 };

	db = fg_zonedb_new();
	if (!db || fg_zonedb_add_zone(db, "example.net", 300, &soa, &z, err, sizeof(err)))
		abort();
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		if (fg_zone_add_record(z, recs[i], err, sizeof(err)))
			abort();
	for (int i = 0; i < 12; i++) {
		char t[128];
		snprintf(t, sizeof(t), "big TXT \"%02d-0123456789012345678901234567890123456789\"", i);
		if (fg_zone_add_record(z, t, err, sizeof(err)))
			abort();
	}
	if (fg_zone_add_service(z, "app", 1, err, sizeof(err)))
		abort();
	fg_signer_t *s = fg_signer_new((const uint8_t *)"\007example\003net", 14 * 86400,
				       7 * 86400, 300, pinned, NULL);
	if (!s || fg_dnskey_parse_public(pub, strlen(pub), &k, err, sizeof(err)) ||
	    fg_dnskey_parse_private(priv, strlen(priv), &k, err, sizeof(err)) ||
	    fg_signer_add_key(s, &k, 1800000000, err, sizeof(err)) ||
	    fg_signer_freeze(s, err, sizeof(err)) || fg_zone_set_signer(z, s) ||
	    fg_zonedb_finalize(db, err, sizeof(err)))
		abort();
}

static void check(const fg_dns_query_t *q, const fg_dns_result_t *res, const uint8_t *out,
		  bool tcp)
{
	if (res->kind != FG_ANSWER_READY)
		return;
	if (res->len < 12 || res->len > fg_dns_max_response(q, tcp))
		abort();
	unsigned an = (unsigned)(out[6] << 8 | out[7]);
	bool tc = out[2] & 0x02;
	/* our zone, DO, NOERROR with answers: something must be an RRSIG;
	 * without walking the records, the cheap proxy is the count: every
	 * signed answer has at least two records */
	if (q->do_bit && !tc && (out[3] & 0xF) == 0 && an == 1 && q->qtype != 255 &&
	    (out[2] & 0x04))
		abort();
}

static void one(const uint8_t *data, size_t size, bool tcp)
{
	static uint8_t out[65536];
	fg_dns_query_t q;
	fg_dns_result_t res;
	static const uint8_t addr[16] = { 198, 51, 100, 1, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	fg_dns_answer(db, data, size, tcp, out, sizeof(out), &q, &res);
	check(&q, &res, out, tcp);
	if (res.kind == FG_ANSWER_SERVICE) {
		fg_dns_answer_service(db, &q, tcp, addr, 5, 0, out, sizeof(out), &res);
		if (res.kind != FG_ANSWER_READY)
			abort();
		check(&q, &res, out, tcp);
		fg_dns_answer_service_nodata(db, &q, tcp, 0, out, sizeof(out), &res);
		check(&q, &res, out, tcp);
	}
	uint8_t *small = malloc(100);
	if (small) {
		fg_dns_answer(db, data, size, tcp, small, 100, &q, &res);
		if (res.kind == FG_ANSWER_READY && res.len > 100)
			abort();
		free(small);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!db)
		build();
	one(data, size, false);
	one(data, size, true);
	return 0;
}
