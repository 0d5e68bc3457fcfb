/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness for the DNS codec and answer engine: every input is a
 * query packet, answered over UDP and TCP from a small fixed zone db that
 * exercises every answer path (CNAME chains and loops, wildcard, referral
 * with glue, ENT, service names, big RRsets for truncation). SERVICE results
 * are finished with a granted address and with NULL (SERVFAIL).
 *
 * The db is built once and kept (static state is fine in a harness only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_zonedb_t *db;

static const char *const recs[] = {
	"@ NS ns1", "@ NS ns2.example.test.", "@ MX 10 mail", "@ TXT \"v=spf1 -all\"",
	"ns1 A 192.0.2.1", "ns1 AAAA 2001:db8::1", "ns2 A 192.0.2.2", "mail A 192.0.2.3",
	"www A 192.0.2.10", "www AAAA 2001:db8::10", "_sip._udp SRV 10 5 5060 sip",
	"sip A 192.0.2.20", "alias CNAME www", "c1 CNAME c2", "c2 CNAME alias",
	"loop1 CNAME loop2", "loop2 CNAME loop1", "ext CNAME www.other.invalid.",
	"a.b.c A 192.0.2.30", "sub NS ns.sub", "ns.sub A 192.0.2.53",
	"*.wild A 192.0.2.99", "*.wild TXT \"wild\"", "ptr PTR www",
	"svc-alias CNAME app", "app TXT \"svc\"", "deep CNAME x.sub",
};

static void build(void)
{
	char err[256];
	fg_zone_t *z;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 7200, 900, 1209600, 300 };

	db = fg_zonedb_new();
	if (!db || fg_zonedb_add_zone(db, "example.test", 3600, &soa, &z, err, sizeof(err)))
		abort();
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		if (fg_zone_add_record(z, recs[i], err, sizeof(err)))
			abort();
	for (int i = 0; i < 40; i++) {
		char t[128];
		snprintf(t, sizeof(t), "big TXT \"%02d-0123456789012345678901234567890123456789\"", i);
		if (fg_zone_add_record(z, t, err, sizeof(err)))
			abort();
	}
	if (fg_zone_add_service(z, "app", 1, err, sizeof(err)) ||
	    fg_zone_add_service(z, "*.svc", 2, err, sizeof(err)))
		abort();
	/* NSID on: queries with the option take the NSID/EXPIRE paths */
	if (fg_zonedb_set_nsid(db, (const uint8_t *)"fuzz-ns", 7) < 0)
		abort();
	if (fg_zonedb_finalize(db, err, sizeof(err)))
		abort();
}

static void one(const uint8_t *data, size_t size, bool tcp)
{
	static uint8_t out[65536];
	fg_dns_query_t q;
	fg_dns_result_t res;
	static const uint8_t addr[16] = { 100, 64, 0, 1, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	fg_dns_answer(db, data, size, tcp, out, sizeof(out), &q, &res);
	if (res.kind == FG_ANSWER_READY &&
	    (res.len < 12 || res.len > fg_dns_max_response(&q, tcp)) && res.rcode == 0)
		abort();
	if (res.kind == FG_ANSWER_SERVICE) {
		fg_dns_answer_service(db, &q, tcp, addr, 5, 24, out, sizeof(out), &res);
		if (res.kind != FG_ANSWER_READY || res.len > fg_dns_max_response(&q, tcp))
			abort();
		fg_dns_answer_service(db, &q, tcp, NULL, 5, 0, out, sizeof(out), &res);
		if (res.kind != FG_ANSWER_READY || res.rcode != 2)
			abort();
	}
	/* a tiny output buffer must never be overrun */
	uint8_t *small = malloc(64);
	if (small) {
		fg_dns_answer(db, data, size, tcp, small, 64, &q, &res);
		if (res.kind == FG_ANSWER_READY && res.len > 64)
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
