/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945): requests signed by the real kdig, knsupdate and
 * nsupdate verify; knotd's signed responses verify against the request
 * MAC; BADKEY, BADSIG, BADTIME (server time in Other Data), BADTRUNC and
 * the FORMERR cases of sections 5.1 and 5.2.2.1; our own sign/verify round
 * trips; keys and base64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/wire.h"
#include "dns/msg.h"
#include "dns/tsig.h"
#include "tsig_fixtures.h"

static fg_tsig_key_t keys[2];

static int setup(void **st)
{
	(void)st;
	char err[128];
	if (fg_tsig_key_init(&keys[0], FX_KEY256_NAME, "hmac-sha256", FX_KEY256_SECRET,
			     err, sizeof(err)) < 0)
		return -1;
	if (fg_tsig_key_init(&keys[1], FX_KEY512_NAME, "HMAC-SHA512", FX_KEY512_SECRET,
			     err, sizeof(err)) < 0)
		return -1;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	fg_tsig_key_clear(&keys[0]);
	fg_tsig_key_clear(&keys[1]);
	return 0;
}

static uint64_t signed_at(const uint8_t *m, size_t len)
{
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(m, len, &rr), 1);
	return rr.time_signed;
}

static void verify_ok(const uint8_t *m, size_t len, const fg_tsig_key_t *want)
{
	fg_tsig_ctx_t ctx;
	uint64_t t = signed_at(m, len);
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t, &ctx), FG_TSIG_OK);
	assert_ptr_equal(ctx.key, want);
	assert_int_equal(ctx.error, 0);
	/* inside the fudge either way, outside it BADTIME */
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t + 300, &ctx), FG_TSIG_OK);
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t - 300, &ctx), FG_TSIG_OK);
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t + 301, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADTIME);
	/* the parser of ordinary queries still takes the query (kdig ones) */
}

static void real_tools_verify(void **st)
{
	(void)st;
	verify_ok(fx_kdig256, sizeof(fx_kdig256), &keys[0]);
	verify_ok(fx_kdig512, sizeof(fx_kdig512), &keys[1]);
	verify_ok(fx_knsupdate, sizeof(fx_knsupdate), &keys[0]);
	verify_ok(fx_nsupdate, sizeof(fx_nsupdate), &keys[1]);

	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	assert_int_equal(fg_dns_parse_query(fx_kdig256, sizeof(fx_kdig256), &q, &act, &rcode), 0);
}

/* knotd's answers, signed over the MAC of the request they answer */
static void knot_responses_verify(void **st)
{
	(void)st;
	struct { const uint8_t *req, *resp; size_t rlen, plen; } c[] = {
		{ fx_kdig256, fx_resp_kdig256, sizeof(fx_kdig256), sizeof(fx_resp_kdig256) },
		{ fx_knsupdate, fx_resp_knsupdate, sizeof(fx_knsupdate), sizeof(fx_resp_knsupdate) },
	};
	for (size_t i = 0; i < 2; i++) {
		fg_tsig_ctx_t ctx;
		uint16_t terr = 99;
		uint64_t t = signed_at(c[i].req, c[i].rlen);
		assert_int_equal(fg_tsig_verify_request(c[i].req, c[i].rlen, keys, 2, t, &ctx),
				 FG_TSIG_OK);
		uint64_t rt = signed_at(c[i].resp, c[i].plen);
		assert_int_equal(fg_tsig_verify_response(c[i].resp, c[i].plen, &ctx, rt, &terr, NULL), 0);
		assert_int_equal(terr, 0);
		/* one flipped bit in the answer: BADSIG */
		uint8_t bad[512];
		memcpy(bad, c[i].resp, c[i].plen);
		bad[14] ^= 1;
		assert_int_equal(fg_tsig_verify_response(bad, c[i].plen, &ctx, rt, &terr, NULL),
				 -FG_EAUTH);
		assert_int_equal(terr, FG_TSIG_BADSIG);
		/* the same answer to another request (another MAC): BADSIG */
		ctx.req_mac[0] ^= 1;
		assert_int_equal(fg_tsig_verify_response(c[i].resp, c[i].plen, &ctx, rt, &terr, NULL),
				 -FG_EAUTH);
		assert_int_equal(terr, FG_TSIG_BADSIG);
		/* stale */
		ctx.req_mac[0] ^= 1;
		assert_int_equal(fg_tsig_verify_response(c[i].resp, c[i].plen, &ctx, rt + 1000, &terr, NULL),
				 -FG_EAUTH);
		assert_int_equal(terr, FG_TSIG_BADTIME);
	}
}

static void badkey_badsig(void **st)
{
	(void)st;
	fg_tsig_ctx_t ctx;
	uint8_t m[512], out[600];
	size_t len = sizeof(fx_kdig256);
	uint64_t t = signed_at(fx_kdig256, len);

	/* a key we do not have: only the 512-bit one configured */
	assert_int_equal(fg_tsig_verify_request(fx_kdig256, len, &keys[1], 1, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADKEY);
	assert_null(ctx.key);
	/* same name, other secret */
	fg_tsig_key_t wrong;
	char err[128];
	assert_int_equal(fg_tsig_key_init(&wrong, FX_KEY256_NAME, "hmac-sha256",
					  "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=", err,
					  sizeof(err)), 0);
	assert_int_equal(fg_tsig_verify_request(fx_kdig256, len, &wrong, 1, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADSIG);
	fg_tsig_key_clear(&wrong);
	for (size_t i = 0; i < sizeof(wrong); i++)
		assert_int_equal(((uint8_t *)&wrong)[i], 0);
	/* same name, other algorithm: BADKEY (keys are matched on both) */
	memcpy(m, fx_kdig256, len);
	uint8_t *alg = memmem(m, len, "hmac-sha256", 11);
	assert_non_null(alg);
	memcpy(alg, "hmac-sha512", 11);
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADKEY);
	/* one flipped bit in the question: BADSIG */
	memcpy(m, fx_kdig256, len);
	m[13] ^= 0x20;
	assert_int_equal(fg_tsig_verify_request(m, len, keys, 2, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADSIG);

	/* the error answer is unsigned: empty MAC, error BADSIG, orig id */
	fg_dns_query_t q;
	enum fg_dns_parse_action act;
	int rcode;
	assert_int_equal(fg_dns_parse_query(m, len, &q, &act, &rcode), 0);
	int n = fg_dns_build_error(m, len, &q, FG_RCODE_NOTAUTH, out, sizeof(out));
	assert_true(n > 0);
	int s = fg_tsig_sign_response(out, (size_t)n, sizeof(out), &ctx, t);
	assert_true(s > n);
	assert_int_equal((size_t)s - (size_t)n, fg_tsig_response_size(&ctx));
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(out, (size_t)s, &rr), 1);
	assert_int_equal(rr.mac_len, 0);
	assert_int_equal(rr.error, FG_TSIG_BADSIG);
	assert_int_equal(rr.orig_id, (fx_kdig256[0] << 8) | fx_kdig256[1]);
	assert_memory_equal(rr.key_name, "\x09tsig-test", 11);
}

/* BADTIME: signed with the request MAC, the request's time signed, our
 * time in Other Data; a client reads it back */
static void badtime_signed(void **st)
{
	(void)st;
	fg_tsig_ctx_t ctx;
	uint8_t out[600];
	size_t len = sizeof(fx_kdig512);
	uint64_t t = signed_at(fx_kdig512, len), now = t + 3600;

	assert_int_equal(fg_tsig_verify_request(fx_kdig512, len, keys, 2, now, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADTIME);
	assert_ptr_equal(ctx.key, &keys[1]);
	int n = fg_dns_build_error(fx_kdig512, len, NULL, FG_RCODE_NOTAUTH, out, sizeof(out));
	assert_true(n > 0);
	int s = fg_tsig_sign_response(out, (size_t)n, sizeof(out), &ctx, now);
	assert_int_equal((size_t)s - (size_t)n, fg_tsig_response_size(&ctx));
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(out, (size_t)s, &rr), 1);
	assert_int_equal(rr.error, FG_TSIG_BADTIME);
	assert_int_equal(rr.time_signed, t);
	assert_int_equal(rr.other_len, 6);
	assert_int_equal(rr.mac_len, 64);
	uint16_t terr = 0;
	uint64_t srv = 0;
	assert_int_equal(fg_tsig_verify_response(out, (size_t)s, &ctx, t, &terr, &srv), -FG_EAUTH);
	assert_int_equal(terr, FG_TSIG_BADTIME);
	assert_int_equal(srv, now);
}

/* Rebuild a signed message with its MAC cut (or padded) to `ml` octets. */
static size_t with_mac_len(const uint8_t *m, size_t len, uint16_t ml, uint8_t *out)
{
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(m, len, &rr), 1);
	size_t rd = rr.offset + rr.key_name_len + 10;  /* rdata start */
	size_t mac_at = rd + rr.alg_name_len + 8;
	memcpy(out, m, mac_at);
	out[mac_at] = (uint8_t)(ml >> 8);
	out[mac_at + 1] = (uint8_t)ml;
	for (uint16_t i = 0; i < ml; i++)
		out[mac_at + 2 + i] = i < rr.mac_len ? rr.mac[i] : 0;
	size_t tail_at = mac_at + 2 + rr.mac_len;
	size_t tail = len - tail_at;
	memcpy(out + mac_at + 2 + ml, m + tail_at, tail);
	size_t nlen = mac_at + 2 + ml + tail;
	uint16_t rdlen = (uint16_t)(nlen - rd);
	out[rd - 2] = (uint8_t)(rdlen >> 8);
	out[rd - 1] = (uint8_t)rdlen;
	return nlen;
}

static void truncation_rules(void **st)
{
	(void)st;
	fg_tsig_ctx_t ctx;
	uint8_t m[512];
	size_t len = sizeof(fx_kdig256);
	uint64_t t = signed_at(fx_kdig256, len);

	/* SHA-256: 16..32 octets framed; shorter than 32 but correct:
	 * BADTRUNC (our local minimum is the full MAC) */
	size_t n = with_mac_len(fx_kdig256, len, 16, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADTRUNC);
	/* BADTRUNC is answered signed */
	uint8_t out[600];
	int e = fg_dns_build_error(m, n, NULL, FG_RCODE_NOTAUTH, out, sizeof(out));
	int s = fg_tsig_sign_response(out, (size_t)e, sizeof(out), &ctx, t);
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(out, (size_t)s, &rr), 1);
	assert_int_equal(rr.mac_len, 32);
	assert_int_equal(rr.error, FG_TSIG_BADTRUNC);
	/* truncated and wrong: BADSIG first */
	m[n - 7 - 16 + 1] ^= 1;   /* inside the 16-octet MAC */
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, t, &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADSIG);
	/* below max(10, 16): FORMERR; longer than the hash: FORMERR */
	n = with_mac_len(fx_kdig256, len, 15, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, t, &ctx), FG_TSIG_FORMERR);
	n = with_mac_len(fx_kdig256, len, 0, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, t, &ctx), FG_TSIG_FORMERR);
	n = with_mac_len(fx_kdig256, len, 33, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, t, &ctx), FG_TSIG_FORMERR);
	/* SHA-512: 32 is the floor */
	n = with_mac_len(fx_kdig512, sizeof(fx_kdig512), 31, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, signed_at(m, n), &ctx), FG_TSIG_FORMERR);
	n = with_mac_len(fx_kdig512, sizeof(fx_kdig512), 32, m);
	assert_int_equal(fg_tsig_verify_request(m, n, keys, 2, signed_at(m, n), &ctx), FG_TSIG_REFUSE);
	assert_int_equal(ctx.error, FG_TSIG_BADTRUNC);
}

/* Section 5.1: one TSIG, the last record; class ANY, TTL 0, exact rdata */
static void placement_and_framing(void **st)
{
	(void)st;
	fg_tsig_ctx_t ctx;
	fg_tsig_rr_t rr;
	uint8_t m[600];
	size_t len = sizeof(fx_kdig256);
	uint64_t t = signed_at(fx_kdig256, len);
	static const uint8_t a_rr[] = { 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };

	/* a record after the TSIG */
	memcpy(m, fx_kdig256, len);
	memcpy(m + len, a_rr, sizeof(a_rr));
	m[11]++;
	assert_int_equal(fg_tsig_find(m, len + sizeof(a_rr), &rr), -FG_EMALF);
	assert_int_equal(fg_tsig_verify_request(m, len + sizeof(a_rr), keys, 2, t, &ctx),
			 FG_TSIG_FORMERR);
	/* two TSIGs */
	assert_int_equal(fg_tsig_find(fx_kdig256, len, &rr), 1);
	memcpy(m, fx_kdig256, len);
	memcpy(m + len, fx_kdig256 + rr.offset, len - rr.offset);
	m[11]++;
	assert_int_equal(fg_tsig_find(m, len + (len - rr.offset), &rr), -FG_EMALF);
	/* class IN, TTL 1 */
	assert_int_equal(fg_tsig_find(fx_kdig256, len, &rr), 1);
	size_t cls = rr.offset + rr.key_name_len + 2;
	memcpy(m, fx_kdig256, len);
	m[cls + 1] = 1;
	assert_int_equal(fg_tsig_find(m, len, &rr), -FG_EMALF);
	memcpy(m, fx_kdig256, len);
	m[cls + 5] = 1;
	assert_int_equal(fg_tsig_find(m, len, &rr), -FG_EMALF);
	/* rdata length one too long / short (the message then lies too) */
	memcpy(m, fx_kdig256, len);
	m[cls + 7]--;
	assert_true(fg_tsig_find(m, len, &rr) < 0);
	/* every truncation of the message is refused, none read beyond */
	for (size_t l = 0; l < len; l++)
		assert_true(fg_tsig_find(fx_kdig256, l, &rr) <= 0);
	/* no TSIG */
	static const uint8_t plain[] = { 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
					 3, 'w', 'w', 'w', 0, 0, 1, 0, 1 };
	assert_int_equal(fg_tsig_find(plain, sizeof(plain), &rr), 0);
	assert_int_equal(fg_tsig_verify_request(plain, sizeof(plain), keys, 2, t, &ctx), FG_TSIG_NONE);
	assert_false(ctx.present);
	assert_int_equal(fg_tsig_response_size(&ctx), 0);
}

/* Our signer against our verifier, both directions, both algorithms */
static void round_trip(void **st)
{
	(void)st;
	for (int k = 0; k < 2; k++) {
		uint8_t m[600] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				   3, 's', 'v', 'c', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				   4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
		size_t len = 34;
		fg_tsig_ctx_t cli, srv;
		uint64_t now = 1764633600;
		int n = fg_tsig_sign_request(m, len, sizeof(m), &keys[k], now, 0, &cli);
		assert_true(n > (int)len);
		assert_int_equal(m[11], 1);
		assert_int_equal(fg_tsig_verify_request(m, (size_t)n, keys, 2, now + 10, &srv), FG_TSIG_OK);
		assert_ptr_equal(srv.key, &keys[k]);
		assert_int_equal(srv.fudge, FG_TSIG_FUDGE);
		/* a response: the request's question, QR set, then signed */
		uint8_t r[600];
		memcpy(r, m, len);
		r[2] |= 0x80;
		r[11] = 0;      /* the request's ARCOUNT counted its TSIG */
		int rl = fg_tsig_sign_response(r, len, sizeof(r), &srv, now + 10);
		assert_true(rl > (int)len);
		uint16_t terr = 7;
		assert_int_equal(fg_tsig_verify_response(r, (size_t)rl, &cli, now + 11, &terr, NULL), 0);
		assert_int_equal(terr, 0);
		/* the response does not fit: nothing written */
		assert_int_equal(fg_tsig_sign_response(r, len, len + 20, &srv, now), -FG_ESPACE);
		/* a response without TSIG to a signed request */
		r[11] = 0;
		assert_int_equal(fg_tsig_verify_response(r, len, &cli, now, &terr, NULL), -FG_EMALF);
		/* an unsigned BADKEY answer is reported as such */
		srv.error = FG_TSIG_BADKEY;
		r[11] = 0;
		rl = fg_tsig_sign_response(r, len, sizeof(r), &srv, now);
		assert_int_equal(fg_tsig_verify_response(r, (size_t)rl, &cli, now, &terr, NULL), -FG_EAUTH);
		assert_int_equal(terr, FG_TSIG_BADKEY);
	}
}

static void keys_and_base64(void **st)
{
	(void)st;
	uint8_t out[16];
	/* RFC 4648 section 10 */
	assert_int_equal(fg_tsig_base64_decode("Zg==", out, sizeof(out)), 1);
	assert_int_equal(fg_tsig_base64_decode("Zm8=", out, sizeof(out)), 2);
	assert_int_equal(fg_tsig_base64_decode("Zm9vYmFy", out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	assert_true(fg_tsig_base64_decode("Zm9vYmF", out, sizeof(out)) < 0);
	assert_true(fg_tsig_base64_decode("Zg=a", out, sizeof(out)) < 0);
	assert_true(fg_tsig_base64_decode("Z===", out, sizeof(out)) < 0);
	assert_true(fg_tsig_base64_decode("Zm9v YmFy", out, sizeof(out)) < 0);
	assert_true(fg_tsig_base64_decode("", out, sizeof(out)) < 0);
	assert_int_equal(fg_tsig_base64_decode("Zm9vYmFyYmF6", out, 8), -FG_ESPACE);

	fg_tsig_key_t k;
	char err[160];
	assert_int_equal(fg_tsig_key_init(&k, "Key-One", "hmac-sha256", "Zm9vYmFy", err, sizeof(err)), 0);
	assert_int_equal(k.name_len, 9);
	assert_memory_equal(k.name, "\x07key-one", 9);
	assert_int_equal(k.secret_len, 6);
	fg_tsig_key_clear(&k);
	assert_true(fg_tsig_key_init(&k, "k", "hmac-md5", "Zm9vYmFy", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "hmac-md5"));
	assert_true(fg_tsig_key_init(&k, "k", "hmac-sha512", "not*base64", err, sizeof(err)) < 0);
	assert_null(strstr(err, "not*base64"));   /* the secret is never echoed */
	assert_int_equal(k.secret_len, 0);
	assert_true(fg_tsig_key_init(&k, "", "hmac-sha512", "Zm9vYmFy", err, sizeof(err)) < 0);
	assert_int_equal(fg_tsig_alg_from_text("hmac-sha1"), FG_TSIG_ALG_NONE);
	assert_string_equal(fg_tsig_alg_text(FG_TSIG_HMAC_SHA512), "hmac-sha512");
	assert_string_equal(fg_tsig_error_text(18), "BADTIME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_tools_verify),
		cmocka_unit_test(knot_responses_verify),
		cmocka_unit_test(badkey_badsig),
		cmocka_unit_test(badtime_signed),
		cmocka_unit_test(truncation_rules),
		cmocka_unit_test(placement_and_framing),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(keys_and_base64),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
