/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * DNSSEC primitives: BIND key files, DS, RRSIG canonical form and signing
 * (known answers from RFC 6605 section 6.1 and RFC 8080 section 6.1, and
 * round trips through OpenSSL verification), compact denial records.
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
#include "common/wire.h"

static char err[256];

/* RFC 6605 section 6.1 (ECDSA P-256) */
static const char rfc6605_pub[] =
	"; a comment line as BIND writes them\n"
	"example.net. 3600 IN DNSKEY 257 3 13 (\n"
	"        GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
	"        krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n";
static const char rfc6605_priv[] =
	"Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
	"PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
static const char rfc6605_sig[] =
	"qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==";

/* RFC 8080 section 6.1 (Ed25519) */
static const char rfc8080_pub[] =
	"example.com. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n";
static const char rfc8080_priv[] =
	"Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\n"
	"PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n";

static void load(const char *pub, const char *priv, fg_dnskey_t *k)
{
	assert_int_equal(fg_dnskey_parse_public(pub, strlen(pub), k, err, sizeof(err)), 0);
	if (priv)
		assert_int_equal(fg_dnskey_parse_private(priv, strlen(priv), k, err, sizeof(err)), 0);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_key_tags_and_ds(void **state)
{
	(void)state;
	fg_dnskey_t k;
	uint8_t ds[36];
	char h[80];

	load(rfc6605_pub, rfc6605_priv, &k);
	assert_int_equal(k.tag, 55648);
	assert_int_equal(k.alg, 13);
	assert_int_equal(k.flags, 257);
	assert_int_equal(fg_dnskey_ds_sha256(&k, ds, sizeof(ds)), 36);
	hex(ds + 4, 32, h);
	assert_string_equal(h, "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17");
	fg_dnskey_clear(&k);

	load(rfc8080_pub, rfc8080_priv, &k);
	assert_int_equal(k.tag, 3613);
	assert_int_equal(fg_dnskey_ds_sha256(&k, ds, sizeof(ds)), 36);
	hex(ds + 4, 32, h);
	assert_string_equal(h, "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b");
	fg_dnskey_clear(&k);
}

static void test_key_rejects(void **state)
{
	(void)state;
	fg_dnskey_t k;
	static const char *const bad_pub[] = {
		"",
		"; only a comment\n",
		"example.net. IN DNSKEY 257 3 8 AwEAAa==\n",           /* RSA: not ours */
		"example.net. IN DNSKEY 257 2 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n",
		"example.net. IN DNSKEY 258 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n",
		"example.net. IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhW\n",      /* short key */
		"example.net. IN DNSKEY 257 3 13 Goj!hhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n",
		"example.net IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n", /* relative */
		"example.net. IN DS 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n",
	};
	for (size_t i = 0; i < sizeof(bad_pub) / sizeof(bad_pub[0]); i++) {
		err[0] = '\0';
		assert_true(fg_dnskey_parse_public(bad_pub[i], strlen(bad_pub[i]), &k, err,
						   sizeof(err)) < 0);
		assert_true(err[0] != '\0');    /* a precise message */
	}
	/* a private key that does not belong to the public key */
	load(rfc6605_pub, NULL, &k);
	static const char other[] = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
				    "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n";
	assert_int_equal(fg_dnskey_parse_private(other, strlen(other), &k, err, sizeof(err)),
			 -FG_EAUTH);
	assert_null(k.pkey);
	/* algorithm mismatch, missing line, bad stamp */
	assert_true(fg_dnskey_parse_private(rfc8080_priv, strlen(rfc8080_priv), &k, err,
					    sizeof(err)) < 0);
	static const char nokey[] = "Private-key-format: v1.3\nAlgorithm: 13\n";
	assert_true(fg_dnskey_parse_private(nokey, strlen(nokey), &k, err, sizeof(err)) < 0);
	char stamp[256];
	snprintf(stamp, sizeof(stamp), "%sActivate: 2026130100000\n", rfc6605_priv);
	assert_true(fg_dnskey_parse_private(stamp, strlen(stamp), &k, err, sizeof(err)) < 0);
	fg_dnskey_clear(&k);
}

static void test_private_timing(void **state)
{
	(void)state;
	fg_dnskey_t k;
	char text[512];
	snprintf(text, sizeof(text), "%sCreated: 20100812100439\nPublish: 20100812100439\n"
		 "Activate: 20100909100439\nInactive: 20380119031407\n", rfc6605_priv);
	load(rfc6605_pub, text, &k);
	assert_int_equal(k.publish, 1281607479);
	assert_int_equal(k.activate, 1284026679);
	assert_int_equal(k.inactive, 2147483647);
	assert_int_equal(k.remove, 0);
	fg_dnskey_clear(&k);
}

/* the .key file's timing comments (BIND's dnssec-keygen and dnssec-settime
 * write them beside the .private lines): read with the public half, so an
 * unprivileged reload sees them; the .private lines override them */
static void test_public_timing(void **state)
{
	(void)state;
	fg_dnskey_t k;
	static const char pub[] =
		"; This is a zone-signing key, keyid 55648, for example.net.\n"
		"; Created: 20100812100439 (Thu Aug 12 10:04:39 2010)\n"
		"; Publish: 20100812100439 (Thu Aug 12 10:04:39 2010)\n"
		";Activate: 20100909100439\n"
		"; Inactive: 2038011903140 (one digit short: ignored)\n"
		"; Delete: 20380119031407 (Tue Jan 19 03:14:07 2038)\n"
		"example.net. 3600 IN DNSKEY 257 3 13 (\n"
		"        GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
		"        krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n";
	load(pub, NULL, &k);
	assert_int_equal(k.publish, 1281607479);
	assert_int_equal(k.activate, 1284026679);
	assert_int_equal(k.inactive, 0);
	assert_int_equal(k.remove, 2147483647);
	char text[512];
	snprintf(text, sizeof(text), "%sActivate: 20100812100439\n", rfc6605_priv);
	assert_int_equal(fg_dnskey_parse_private(text, strlen(text), &k, err, sizeof(err)), 0);
	assert_int_equal(k.activate, 1281607479);
	fg_dnskey_clear(&k);
	/* no comments: no timing */
	load(rfc6605_pub, NULL, &k);
	assert_int_equal(k.publish, 0);
	assert_int_equal(k.activate, 0);
	fg_dnskey_clear(&k);
}

static void test_base64(void **state)
{
	(void)state;
	uint8_t out[8];
	assert_int_equal(fg_base64_decode("Zm9v", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(fg_base64_decode("Zm 9v\nYg==", 10, out, sizeof(out)), 4);
	assert_int_equal(fg_base64_decode("Zm9vYg=", 7, out, sizeof(out)), -FG_EMALF);
	assert_int_equal(fg_base64_decode("Zm9vYh==", 8, out, sizeof(out)), -FG_EMALF);
	assert_int_equal(fg_base64_decode("Zg==Zg==", 8, out, sizeof(out)), -FG_EMALF);
	assert_int_equal(fg_base64_decode("Zm9vZm9vZm9v", 12, out, sizeof(out)), -FG_ESPACE);
}

static const uint8_t www_net[] = "\003www\007example\003net";
static const uint8_t apex_net[] = "\007example\003net";
static const uint8_t a_192_0_2_1[] = { 192, 0, 2, 1 };

static void test_rfc6605_verify(void **state)
{
	(void)state;
	fg_dnskey_t k;
	uint8_t rrsig[FG_RRSIG_MAX];
	load(rfc6605_pub, NULL, &k);
	/* RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. */
	fg_wire_t w = fg_wire_init(rrsig, sizeof(rrsig));
	fg_wire_write_u16(&w, FG_TYPE_A);
	fg_wire_write_u8(&w, 13);
	fg_wire_write_u8(&w, 3);
	fg_wire_write_u32(&w, 3600);
	fg_wire_write_u32(&w, 1284026679);
	fg_wire_write_u32(&w, 1281607479);
	fg_wire_write_u16(&w, 55648);
	fg_wire_write(&w, apex_net, sizeof(apex_net));
	int n = fg_base64_decode(rfc6605_sig, strlen(rfc6605_sig), rrsig + w.pos, 64);
	assert_int_equal(n, 64);
	size_t len = w.pos + 64;
	fg_rdref_t rr = { a_192_0_2_1, 4 };
	assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_A, 3600, &rr, 1,
					 rrsig, len), 0);
	/* the owner in any case verifies the same (canonical form) */
	static const uint8_t www_upper[] = "\003WWW\007Example\003NET";
	assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_upper, FG_TYPE_A, 3600, &rr, 1,
					 rrsig, len), 0);
	/* one flipped bit of the address or signature: invalid */
	uint8_t bad[4] = { 192, 0, 2, 2 };
	fg_rdref_t rb = { bad, 4 };
	assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_A, 3600, &rb, 1,
					 rrsig, len), -FG_EAUTH);
	rrsig[len - 1] ^= 1;
	assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_A, 3600, &rr, 1,
					 rrsig, len), -FG_EAUTH);
	fg_dnskey_clear(&k);
}

/* Ed25519 is deterministic, so signing is a known-answer test: RFC 8080
 * section 6.1's key over its MX RRset (3600, 1440021600 / 1438207200).
 * The signature printed in RFC 8080 does not verify against the RFC's own
 * key (checked with python3-cryptography), so the expected value was
 * computed independently: python3-cryptography's Ed25519 over the signed
 * data assembled by hand from RFC 4034 3.1.8.1. */
static void test_rfc8080_sign_kat(void **state)
{
	(void)state;
	fg_dnskey_t k;
	uint8_t out[FG_RRSIG_MAX];
	static const uint8_t apex[] = "\007example\003com";
	static const uint8_t mx[] = "\000\012\004mail\007example\003com";
	static const uint8_t want[64] = {
		0xa0, 0xbf, 0x64, 0xac, 0x9b, 0xa7, 0xef, 0x17, 0xc1, 0x38, 0x85, 0x9c, 0x18, 0x78,
		0xbb, 0x99, 0xa8, 0x39, 0xfe, 0x17, 0x59, 0xac, 0xa5, 0xb0, 0xd7, 0x98, 0xcf, 0x1a,
		0xb1, 0xe9, 0x8d, 0x07, 0x91, 0x02, 0xf4, 0xdd, 0xb3, 0x36, 0x8f, 0x0f, 0xe4, 0x0b,
		0xb3, 0x77, 0xf1, 0xf0, 0x0e, 0x0c, 0xdd, 0xed, 0xb7, 0x99, 0x16, 0x7d, 0x56, 0xb6,
		0xe9, 0x32, 0x78, 0x30, 0x72, 0xba, 0x8d, 0x02,
	};
	load(rfc8080_pub, rfc8080_priv, &k);
	fg_sigparams_t sp = { .inception = 1438207200, .expiration = 1440021600, .signer = apex };
	fg_rdref_t rr = { mx, sizeof(mx) };
	int n = fg_rrsig_sign(&k, &sp, apex, FG_TYPE_MX, 3600, &rr, 1, out, sizeof(out));
	assert_int_equal(n, 18 + (int)sizeof(apex) + 64);
	assert_int_equal(out[3], 2);    /* labels */
	assert_memory_equal(out + n - 64, want, 64);
	assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, apex, FG_TYPE_MX, 3600, &rr, 1, out,
					 (size_t)n), 0);
	fg_dnskey_clear(&k);
}

/* A prepared context signs again and again: Ed25519 is deterministic, so
 * every signature from one reused context is the RFC's; ECDSA signatures
 * from one context all verify. */
static void test_signctx_reuse(void **state)
{
	(void)state;
	fg_dnskey_t k;
	uint8_t out[FG_RRSIG_MAX], first[FG_RRSIG_MAX];
	static const uint8_t apex[] = "\007example\003com";
	static const uint8_t mx[] = "\000\012\004mail\007example\003com";
	load(rfc8080_pub, rfc8080_priv, &k);
	fg_sigparams_t sp = { .inception = 1438207200, .expiration = 1440021600, .signer = apex };
	fg_rdref_t rr = { mx, sizeof(mx) };
	fg_signctx_t *c = fg_signctx_new(&k);
	assert_non_null(c);
	int n0 = fg_rrsig_sign(&k, &sp, apex, FG_TYPE_MX, 3600, &rr, 1, first, sizeof(first));
	assert_true(n0 > 0);
	for (int i = 0; i < 3; i++) {
		int n = fg_rrsig_sign_ctx(&k, c, &sp, apex, FG_TYPE_MX, 3600, &rr, 1, out,
					  sizeof(out));
		assert_int_equal(n, n0);
		assert_memory_equal(out, first, (size_t)n);
	}
	fg_signctx_free(c);
	fg_dnskey_clear(&k);

	load(rfc6605_pub, rfc6605_priv, &k);
	static const uint8_t owner[] = "\003www\007example\003net";
	static const uint8_t signer[] = "\007example\003net";
	sp.signer = signer;
	c = fg_signctx_new(&k);
	assert_non_null(c);
	for (unsigned i = 0; i < 40; i++) {
		uint8_t a[4] = { 192, 0, 2, (uint8_t)i };
		fg_rdref_t ar = { a, 4 };
		int n = fg_rrsig_sign_ctx(&k, c, &sp, owner, FG_TYPE_A, 3600, &ar, 1, out,
					  sizeof(out));
		assert_true(n > 0);
		assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, owner, FG_TYPE_A, 3600, &ar, 1,
						 out, (size_t)n), 0);
	}
	/* a context of another algorithm's key is refused, not misused */
	fg_dnskey_t e;
	load(rfc8080_pub, rfc8080_priv, &e);
	uint8_t a[4] = { 192, 0, 2, 1 };
	fg_rdref_t ar = { a, 4 };
	assert_int_equal(fg_rrsig_sign_ctx(&e, c, &sp, owner, FG_TYPE_A, 3600, &ar, 1, out,
					   sizeof(out)), -EINVAL);
	fg_signctx_free(c);
	fg_dnskey_clear(&e);
	fg_dnskey_clear(&k);
}

/* DER ECDSA-Sig-Value -> r|s: short integers are left padded, a 33-octet
 * integer loses its sign octet, anything else is refused. */
static void test_ecdsa_der(void **state)
{
	(void)state;
	uint8_t der[80], raw[64], want[64];
	/* r = 0x80 0x11.. (33 octets with the sign zero), s = 0x05 (1 octet) */
	size_t o = 0;
	der[o++] = 0x30;
	der[o++] = 2 + 33 + 2 + 1;
	der[o++] = 0x02;
	der[o++] = 33;
	der[o++] = 0x00;
	for (int i = 0; i < 32; i++)
		der[o++] = (uint8_t)(i == 0 ? 0x80 : 0x11);
	der[o++] = 0x02;
	der[o++] = 1;
	der[o++] = 0x05;
	memset(want, 0x11, 32);
	want[0] = 0x80;
	memset(want + 32, 0, 32);
	want[63] = 0x05;
	assert_int_equal(fg_ecdsa_der_to_raw(der, o, raw), 0);
	assert_memory_equal(raw, want, 64);
	/* trailing octet, short outer length, wrong tags, 33 octets without
	 * the zero, empty integer */
	assert_int_equal(fg_ecdsa_der_to_raw(der, o + 1, raw), -FG_EMALF);
	assert_int_equal(fg_ecdsa_der_to_raw(der, o - 1, raw), -FG_EMALF);
	der[0] = 0x31;
	assert_int_equal(fg_ecdsa_der_to_raw(der, o, raw), -FG_EMALF);
	der[0] = 0x30;
	der[2] = 0x04;
	assert_int_equal(fg_ecdsa_der_to_raw(der, o, raw), -FG_EMALF);
	der[2] = 0x02;
	der[4] = 0x01;
	assert_int_equal(fg_ecdsa_der_to_raw(der, o, raw), -FG_EMALF);
	static const uint8_t empty[] = { 0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01 };
	assert_int_equal(fg_ecdsa_der_to_raw(empty, sizeof(empty), raw), -FG_EMALF);
	assert_int_equal(fg_ecdsa_der_to_raw(der, 0, raw), -FG_EMALF);
}

/* Canonical order and case: a set given shuffled, in mixed case and with
 * a duplicate signs to the same input as the sorted lowercase set. */
static void test_canonical_roundtrip(void **state)
{
	(void)state;
	static const uint8_t owner[] = "\003WwW\007example\003NET";
	static const uint8_t ns1[] = "\003NS1\007Example\003net";
	static const uint8_t ns1l[] = "\003ns1\007example\003net";
	static const uint8_t ns2[] = "\003ns2\007example\003net";
	static const uint8_t nsa[] = "\002ns\007example\003net";
	uint8_t out[FG_RRSIG_MAX];
	for (int alg = 0; alg < 2; alg++) {
		fg_dnskey_t k;
		if (alg == 0)
			load(rfc6605_pub, rfc6605_priv, &k);
		else
			load(rfc8080_pub, rfc8080_priv, &k);
		const uint8_t *signer = alg == 0 ? apex_net : (const uint8_t *)"\007example\003com";
		fg_sigparams_t sp = { .inception = 1000, .expiration = 2000, .signer = signer };
		fg_rdref_t shuffled[4] = {
			{ ns2, sizeof(ns2) }, { ns1, sizeof(ns1) }, { nsa, sizeof(nsa) },
			{ ns1l, sizeof(ns1l) },
		};
		fg_rdref_t sorted[3] = {
			{ nsa, sizeof(nsa) }, { ns1l, sizeof(ns1l) }, { ns2, sizeof(ns2) },
		};
		int n = fg_rrsig_sign(&k, &sp, owner, FG_TYPE_NS, 300, shuffled, 4, out, sizeof(out));
		assert_true(n > 0);
		assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_NS, 300,
						 sorted, 3, out, (size_t)n), 0);
		/* a different TTL or type breaks it */
		assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_NS, 301,
						 sorted, 3, out, (size_t)n), -FG_EAUTH);
		/* one record fewer breaks it */
		assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, www_net, FG_TYPE_NS, 300,
						 sorted, 2, out, (size_t)n), -FG_EAUTH);
		fg_dnskey_clear(&k);
	}
}

static void test_canonical_rdata(void **state)
{
	(void)state;
	uint8_t out[64];
	static const uint8_t mx[] = "\000\012\004MAIL\001X";
	assert_int_equal(fg_rdata_canonical(FG_TYPE_MX, mx, sizeof(mx), out, sizeof(out)),
			 (int)sizeof(mx));
	assert_memory_equal(out, "\000\012\004mail\001x", sizeof(mx));
	static const uint8_t txt[] = "\003ABC";
	assert_int_equal(fg_rdata_canonical(FG_TYPE_TXT, txt, 4, out, sizeof(out)), 4);
	assert_memory_equal(out, "\003ABC", 4);      /* not a name: unchanged */
	static const uint8_t soa[] = "\001A\000\001B\000\000\000\000\001\000\000\000\002\000\000\000\003\000\000\000\004\000\000\000\005";
	assert_int_equal(fg_rdata_canonical(FG_TYPE_SOA, soa, 26, out, sizeof(out)), 26);
	assert_memory_equal(out, "\001a\000\001b\000", 6);
	static const uint8_t broken[] = "\005ab";      /* label runs past the end */
	assert_true(fg_rdata_canonical(FG_TYPE_CNAME, broken, 3, out, sizeof(out)) < 0);
	assert_int_equal(fg_rrsig_labels((const uint8_t *)"\001*\007example\003net"), 2);
	assert_int_equal(fg_rrsig_labels(www_net), 3);
	assert_int_equal(fg_rrsig_labels((const uint8_t *)""), 0);
}

static void test_keygen_format_parse(void **state)
{
	(void)state;
	for (int a = 0; a < 2; a++) {
		uint8_t alg = a ? FG_DNSSEC_ALG_ED25519 : FG_DNSSEC_ALG_ECDSAP256;
		fg_dnskey_t k, back;
		char pub[1024], priv[1024];
		assert_int_equal(fg_dnskey_generate("Example.Test", alg, 257, &k, err, sizeof(err)), 0);
		assert_int_equal(fg_dnskey_format(&k, 1281607479, 0, pub, sizeof(pub), priv,
						  sizeof(priv)), 0);
		assert_non_null(strstr(priv, "Activate: 20100812100439\n"));
		load(pub, priv, &back);
		assert_int_equal(back.tag, k.tag);
		assert_int_equal(back.activate, 1281607479);
		assert_memory_equal(back.rdata, k.rdata, k.rdlen);
		assert_memory_equal(back.owner, "\007example\004test", 14);
		/* a signature by the reloaded key verifies with the original */
		uint8_t sig[FG_RRSIG_MAX];
		fg_sigparams_t sp = { 1, 2, back.owner };
		fg_rdref_t rr = { a_192_0_2_1, 4 };
		int n = fg_rrsig_sign(&back, &sp, back.owner, FG_TYPE_A, 60, &rr, 1, sig, sizeof(sig));
		assert_true(n > 0);
		assert_int_equal(fg_rrsig_verify(k.rdata, k.rdlen, back.owner, FG_TYPE_A, 60, &rr,
						 1, sig, (size_t)n), 0);
		fg_dnskey_clear(&k);
		fg_dnskey_clear(&back);
	}
}

static void test_nsec_bitmap(void **state)
{
	(void)state;
	uint8_t out[64];
	/* RFC 4034 4.3 example: A MX RRSIG NSEC TYPE1234 */
	uint16_t t[] = { 1234, 47, 46, 15, 1, 15 };
	uint8_t want[10 + 27] = { 0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b };
	want[sizeof(want) - 1] = 0x20;
	int n = fg_nsec_bitmap(t, 6, out, sizeof(out));
	assert_int_equal(n, (int)sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(fg_nsec_bitmap(t, 6, out, 10), -FG_ESPACE);
}

static void test_nsec_compact(void **state)
{
	(void)state;
	uint8_t out[300];
	/* NXDOMAIN form: next = \000.qname, bitmap RRSIG NSEC NXNAME */
	int n = fg_nsec_compact((const uint8_t *)"\001X\004test", NULL, 0, true, out, sizeof(out));
	uint8_t want[10 + 2 + 17] = { 1, 0, 1, 'x', 4, 't', 'e', 's', 't', 0, 0x00, 17 };
	want[12 + 5] = 0x03;           /* RRSIG NSEC */
	want[12 + 16] = 0x80;          /* NXNAME (128) */
	assert_int_equal(n, (int)sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* NODATA form: the types at the name plus RRSIG NSEC, no NXNAME */
	uint16_t types[] = { FG_TYPE_A, FG_TYPE_TXT };
	n = fg_nsec_compact((const uint8_t *)"\001x\004test", types, 2, false, out, sizeof(out));
	static const uint8_t want2[] = { 1, 0, 1, 'x', 4, 't', 'e', 's', 't', 0,
					 0x00, 0x06, 0x40, 0x00, 0x80, 0x00, 0x00, 0x03 };
	assert_int_equal(n, (int)sizeof(want2));
	assert_memory_equal(out, want2, sizeof(want2));
	/* a 254-octet name has no room for the \000 label */
	uint8_t longname[255];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		longname[o++] = 63;
		memset(longname + o, 'a', 63);
		o += 63;
	}
	longname[o++] = 60;
	memset(longname + o, 'b', 60);
	o += 60;
	longname[o++] = 0;
	assert_int_equal(o, 254);
	assert_int_equal(fg_nsec_compact(longname, NULL, 0, true, out, sizeof(out)), -FG_ENAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_tags_and_ds),
		cmocka_unit_test(test_key_rejects),
		cmocka_unit_test(test_private_timing),
		cmocka_unit_test(test_public_timing),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_rfc6605_verify),
		cmocka_unit_test(test_rfc8080_sign_kat),
		cmocka_unit_test(test_signctx_reuse),
		cmocka_unit_test(test_ecdsa_der),
		cmocka_unit_test(test_canonical_roundtrip),
		cmocka_unit_test(test_canonical_rdata),
		cmocka_unit_test(test_keygen_format_parse),
		cmocka_unit_test(test_nsec_bitmap),
		cmocka_unit_test(test_nsec_compact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
