/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the epoch scheduler (grant/epoch.h) over the grant engine
 * and the in-memory NAT backend, with a scripted UPDATE transport (the real
 * servers are in tests/netns/ddns.sh): every address is granted before the
 * UPDATE names it, a replaced address lingers for ttl + grace and then goes,
 * a failed update (REFUSED, BADKEY, timeout, refused grant) keeps the
 * published address granted and offers the same pick again, one UPDATE
 * carries every name of a zone, and the serial check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "dataplane/nat_mem.h"
#include "grant/engine.h"
#include "grant/epoch.h"

static const char *const CONF_TEXT =
	"server:\n  listen: 127.0.0.1@5300\n"
	"key:\n  - { id: k, algorithm: hmac-sha256, secret: \"c2VjcmV0c2VjcmV0c2VjcmV0\" }\n"
	"pool:\n  - id: shop4\n    prefix: 198.51.100.0/24\n"
	"  - id: shop6\n    prefix: 2001:db8:77::/64\n"
	"  - id: api4\n    prefix: 203.0.113.0/24\n"
	"  - id: other4\n    prefix: 192.0.2.0/24\n"
	"service:\n"
	"  - id: shop\n    name: shop.ext.test\n    backend: [ 10.0.2.10, 'fd00:2::10' ]\n"
	"    ports: [tcp/80]\n    pool: [ shop4, shop6 ]\n    ttl: 10s\n    grace: 2s\n"
	"    external: { server: 127.0.0.1@5353, zone: ext.test, key: k, epoch: 30s }\n"
	"  - id: api\n    name: api.ext.test\n    backend: 10.0.2.11\n    ports: [tcp/80]\n"
	"    pool: api4\n    ttl: 5s\n    grace: 1s\n"
	"    external: { server: 127.0.0.1@5353, zone: ext.test, key: k, epoch: 30s }\n"
	"  - id: other\n    name: www.other.test\n    backend: 10.0.2.12\n    ports: [tcp/80]\n"
	"    pool: other4\n    ttl: 5s\n"
	"    external: { server: 127.0.0.1@5354, zone: other.test, key: k, epoch: 10s }\n"
	"nat:\n  backend: memory\n";

struct fx {
	fg_conf_t *conf;
	fg_grant_engine_t *eng;
	fg_grant_worker_t *w;
	fg_nat_t *nat;
	fg_epoch_t *ep;
	/* the scripted server */
	unsigned updates, grants;
	fg_update_rrset_t last[8];
	size_t nlast;
	bool unreachable_at_update;  /* an address named before its grant */
	int answer;                  /* rcode, or -1: time out */
	unsigned tsig_error;
	uint32_t serial;
	bool serial_frozen;
};

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

/* Does the data plane hold a live grant of `addr` for a client that never
 * asked before (the published grants are open to anyone)? */
static bool reachable(struct fx *f, int family, const uint8_t *addr)
{
	static uint8_t n;
	uint8_t be[16];
	uint8_t c4[4] = { 192, 0, 2, ++n };
	uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xee, [15] = n };
	return fg_nat_mem_granted(f->nat, family, family == AF_INET ? c4 : c6, addr, be);
}

static int op_grant(void *ctx, fg_grant_pub_t *p, size_t n)
{
	struct fx *f = ctx;
	f->grants++;
	return fg_grant_publish(f->eng, f->w, p, n);
}

static int op_update(void *ctx, const fg_epoch_zone_t *z, const fg_update_rrset_t *sets,
		     size_t n, fg_update_resp_t *resp, enum fg_epoch_result *result, char *err,
		     size_t errlen)
{
	struct fx *f = ctx;
	(void)z;
	f->updates++;
	f->nlast = n;
	for (size_t i = 0; i < n && i < 8; i++) {
		f->last[i] = sets[i];
		if (!reachable(f, sets[i].type == 28 ? AF_INET6 : AF_INET, sets[i].addr))
			f->unreachable_at_update = true;
	}
	if (f->answer < 0) {
		*result = FG_EPOCH_TIMEOUT;
		snprintf(err, errlen, "no answer within 2000 ms");
		return -ETIMEDOUT;
	}
	resp->rcode = (unsigned)f->answer;
	resp->has_tsig = f->tsig_error != 0;
	resp->tsig_error = f->tsig_error;
	if (f->answer == 0 && !f->serial_frozen)
		f->serial++;
	return 0;
}

static int op_serial(void *ctx, const fg_epoch_zone_t *z, uint32_t *serial, char *err,
		     size_t errlen)
{
	struct fx *f = ctx;
	(void)z;
	(void)err;
	(void)errlen;
	*serial = f->serial;
	return 0;
}

static const fg_epoch_ops_t OPS = { op_grant, op_update, op_serial };

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	if (fg_conf_load_buffer("test.conf", CONF_TEXT, strlen(CONF_TEXT), &f.conf, diag, NULL))
		return -1;
	if (fg_grant_engine_new(f.conf, NULL, &f.eng) || fg_grant_engine_setup(f.eng) ||
	    fg_grant_worker_new(f.eng, &f.w))
		return -1;
	f.nat = fg_grant_worker_nat(f.w);
	if (fg_nat_mem_ops.setup(f.nat, fg_grant_engine_natcfg(f.eng)))
		return -1;
	fg_nat_mem_clock_freeze(f.nat);
	if (fg_epoch_new(f.conf, 1000, &f.ep))
		return -1;
	f.serial = 2026120100;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fg_epoch_free(f->ep);
	fg_grant_worker_free(f->w);
	fg_grant_engine_free(f->eng);
	fg_conf_free(f->conf);
	return 0;
}

static void test_grouping(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	assert_int_equal(e->nzones, 2);
	assert_string_equal(e->zones[0].zone, "ext.test");
	assert_int_equal(e->zones[0].nslots, 3);   /* shop A, shop AAAA, api A */
	assert_int_equal(e->zones[1].nslots, 1);
	assert_int_equal(e->slots[0].hold_ms, 30000 + 10000 + 2000);
	assert_int_equal(e->slots[0].linger_ms, 12000);
	assert_int_equal(e->slots[0].ttl_s, 10);
	assert_int_equal(e->slots[1].family, AF_INET6);
	assert_int_equal(fg_epoch_next_due(e), 1000);
}

static void test_rotation(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	fg_epoch_report_t rep;
	uint8_t prev[3][16];

	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 0, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	assert_int_equal(f->updates, 1);
	assert_int_equal(f->nlast, 3);          /* one message for the zone */
	assert_false(f->unreachable_at_update); /* granted before named */
	assert_int_equal(rep.published, 3);
	assert_true(rep.serial_read && rep.serial_moved);
	assert_int_equal(e->zones[0].next_ms, 31000);
	assert_string_equal(f->last[0].name, "shop.ext.test");
	assert_int_equal(f->last[0].ttl, 10);
	assert_int_equal(f->last[1].type, 28);
	for (int i = 0; i < 3; i++)
		memcpy(prev[i], e->slots[i].cur, 16);

	/* next epoch: new addresses; the old ones linger for ttl + grace */
	fg_nat_mem_advance(f->nat, 30000);
	assert_int_equal(fg_epoch_run_zone(e, 0, 31000, &OPS, f, &rep), FG_EPOCH_OK);
	assert_false(f->unreachable_at_update);
	for (int i = 0; i < 3; i++)
		assert_memory_not_equal(prev[i], e->slots[i].cur, 16);
	assert_true(reachable(f, AF_INET, prev[0]));
	assert_true(reachable(f, AF_INET, e->slots[0].cur));
	fg_nat_mem_advance(f->nat, 12001);      /* shop's ttl + grace */
	assert_false(reachable(f, AF_INET, prev[0]));
	assert_false(reachable(f, AF_INET6, prev[1]));
	assert_true(reachable(f, AF_INET, e->slots[0].cur));
	assert_int_equal(e->slots[0].rotations, 2);
	assert_int_equal(e->zones[0].results[FG_EPOCH_OK], 2);
}

/* A refused update: the published address stays granted past its hold,
 * the same pick is offered again, nothing changes at the server. */
static void test_failures_keep_published(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	fg_epoch_report_t rep;
	uint8_t cur[16], pend[16];

	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 1, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	memcpy(cur, e->slots[3].cur, 16);

	f->answer = FG_UPD_REFUSED;
	fg_nat_mem_advance(f->nat, 10000);
	assert_int_equal(fg_epoch_run_zone(e, 1, 11000, &OPS, f, &rep), FG_EPOCH_REFUSED);
	assert_string_equal(rep.err, "server answered REFUSED");
	assert_true(e->slots[3].has_pend);
	memcpy(pend, e->slots[3].pend, 16);
	assert_memory_equal(cur, e->slots[3].cur, 16);
	/* past the first grant's hold (10 + 5 + 2 s): still reachable */
	fg_nat_mem_advance(f->nat, 9000);
	assert_true(reachable(f, AF_INET, cur));

	/* a BADKEY answer (NOTAUTH + TSIG error) */
	f->answer = FG_UPD_NOTAUTH;
	f->tsig_error = FG_UPD_BADKEY;
	assert_int_equal(fg_epoch_run_zone(e, 1, 21000, &OPS, f, &rep), FG_EPOCH_BADKEY);
	assert_string_equal(rep.err, "server answered NOTAUTH, TSIG error BADKEY");
	assert_memory_equal(pend, e->slots[3].pend, 16);   /* the same pick again */
	f->tsig_error = 0;

	/* a timeout */
	f->answer = -1;
	assert_int_equal(fg_epoch_run_zone(e, 1, 31000, &OPS, f, &rep), FG_EPOCH_TIMEOUT);
	assert_string_equal(rep.err, "no answer within 2000 ms");
	assert_string_equal(fg_epoch_result_name(rep.result), "timeout");

	/* then it works: the pending pick is what gets published */
	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 1, 41000, &OPS, f, &rep), FG_EPOCH_OK);
	assert_memory_equal(pend, e->slots[3].cur, 16);
	assert_int_equal(e->zones[1].results[FG_EPOCH_REFUSED], 1);
	assert_int_equal(e->zones[1].results[FG_EPOCH_BADKEY], 1);
	assert_int_equal(e->zones[1].results[FG_EPOCH_TIMEOUT], 1);
}

/* A refused grant publishes nothing and keeps the published address. */
static void test_grant_refused(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	fg_epoch_report_t rep;

	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 1, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	unsigned updates = f->updates;
	uint8_t cur[16];
	memcpy(cur, e->slots[3].cur, 16);
	fg_nat_mem_fail_next(f->nat, 1, 0);
	fg_nat_mem_advance(f->nat, 10000);
	assert_int_equal(fg_epoch_run_zone(e, 1, 11000, &OPS, f, &rep), FG_EPOCH_GRANT_FAILED);
	assert_int_equal(f->updates, updates);   /* no UPDATE without a grant */
	assert_non_null(strstr(rep.err, "nothing published"));
	assert_false(e->slots[3].has_pend);
	assert_memory_equal(cur, e->slots[3].cur, 16);
	/* past the first grant's hold (10 + 5 + 2 s): granted again */
	fg_nat_mem_advance(f->nat, 15000);
	assert_true(reachable(f, AF_INET, cur));
}

/* A pending pick (its update's answer may have been lost: the server may
 * have published it) survives a refused grant and stays granted. */
static void test_pending_survives_grant_failure(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	fg_epoch_report_t rep;

	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 1, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	f->answer = -1;                              /* answer lost */
	fg_nat_mem_advance(f->nat, 10000);
	assert_int_equal(fg_epoch_run_zone(e, 1, 11000, &OPS, f, &rep), FG_EPOCH_TIMEOUT);
	uint8_t pend[16];
	memcpy(pend, e->slots[3].pend, 16);
	fg_nat_mem_fail_next(f->nat, 1, 0);         /* the next grant is refused */
	fg_nat_mem_advance(f->nat, 10000);
	assert_int_equal(fg_epoch_run_zone(e, 1, 21000, &OPS, f, &rep), FG_EPOCH_GRANT_FAILED);
	assert_true(e->slots[3].has_pend);
	assert_memory_equal(pend, e->slots[3].pend, 16);
	/* past the hold of its last grant (at 10 s: until 27 s) */
	fg_nat_mem_advance(f->nat, 10000);
	assert_true(reachable(f, AF_INET, pend));
}

static void test_serial_stuck_and_classify(void **state)
{
	struct fx *f = *state;
	fg_epoch_t *e = f->ep;
	fg_epoch_report_t rep;
	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(e, 1, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	f->serial_frozen = true;
	assert_int_equal(fg_epoch_run_zone(e, 1, 11000, &OPS, f, &rep), FG_EPOCH_OK);
	assert_true(rep.serial_read);
	assert_false(rep.serial_moved);
	assert_int_equal(e->zones[1].serial_stuck, 1);

	fg_update_resp_t r = { .rcode = FG_UPD_NOTAUTH, .has_tsig = true,
			       .tsig_error = FG_UPD_BADSIG };
	assert_int_equal(fg_epoch_classify(&r), FG_EPOCH_BADSIG);
	r.tsig_error = FG_UPD_BADTIME;
	assert_int_equal(fg_epoch_classify(&r), FG_EPOCH_BADTIME);
	r.has_tsig = false;
	assert_int_equal(fg_epoch_classify(&r), FG_EPOCH_NOTAUTH);
	r.rcode = FG_UPD_SERVFAIL;
	assert_int_equal(fg_epoch_classify(&r), FG_EPOCH_RCODE);
}

static void test_adopt(void **state)
{
	struct fx *f = *state;
	fg_epoch_report_t rep;
	f->answer = 0;
	assert_int_equal(fg_epoch_run_zone(f->ep, 0, 1000, &OPS, f, &rep), FG_EPOCH_OK);
	fg_epoch_t *next = NULL;
	assert_int_equal(fg_epoch_new(f->conf, 5000, &next), 0);
	fg_epoch_adopt(next, f->ep);
	assert_true(next->slots[0].has_cur);
	assert_memory_equal(next->slots[0].cur, f->ep->slots[0].cur, 16);
	assert_int_equal(next->zones[0].next_ms, 31000);   /* same epoch: same rhythm */
	assert_int_equal(next->zones[0].serial, f->ep->zones[0].serial);
	fg_epoch_free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_keep_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_survives_grant_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_stuck_and_classify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
