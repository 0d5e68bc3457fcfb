/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the BIND key file parsers (dns/dnssec/key.h): the
 * input is split at the first "\n%%\n" into a .key text and a .private
 * text (without the separator, both get the whole input). The public half
 * is parsed alone and, when it parses, the private half against it; when
 * both parse, the key must sign and its signature must verify (a pair
 * that loads but cannot sign would be a bug). The private half is also
 * parsed against a fixed valid public key (RFC 6605's), so the .private
 * grammar is reached even by inputs whose .key half is garbage.
 * Every failure must come with a non-empty message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnssec/key.h"
#include "dns/dnssec/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_pub[] =
	"example.net. IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==\n";

static void check_msg(int rc, const char *err)
{
	if (rc < 0 && err[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *txt = (const char *)data;
	const char *sep = NULL;
	for (size_t i = 0; i + 4 <= size; i++)
		if (!memcmp(txt + i, "\n%%\n", 4)) {
			sep = txt + i;
			break;
		}
	size_t publen = sep ? (size_t)(sep - txt) : size;
	const char *priv = sep ? sep + 4 : txt;
	size_t privlen = sep ? size - publen - 4 : size;
	char err[256];
	fg_dnskey_t k;

	err[0] = '\0';
	int rc = fg_dnskey_parse_public(txt, publen, &k, err, sizeof(err));
	check_msg(rc, err);
	if (rc == 0) {
		if (k.rdlen < 4 || k.tag != fg_dnskey_tag(k.rdata, k.rdlen))
			abort();
		err[0] = '\0';
		rc = fg_dnskey_parse_private(priv, privlen, &k, err, sizeof(err));
		check_msg(rc, err);
		if (rc == 0) {
			uint8_t sig[FG_RRSIG_MAX];
			const uint8_t a[4] = { 192, 0, 2, 1 };
			fg_rdref_t rr = { a, 4 };
			fg_sigparams_t sp = { 1, 2, k.owner };
			int n = fg_rrsig_sign(&k, &sp, k.owner, 1, 60, &rr, 1, sig, sizeof(sig));
			if (n < 0 || fg_rrsig_verify(k.rdata, k.rdlen, k.owner, 1, 60, &rr, 1, sig,
						     (size_t)n) != 0)
				abort();
		}
		fg_dnskey_clear(&k);
	}
	if (fg_dnskey_parse_public(fixed_pub, sizeof(fixed_pub) - 1, &k, err, sizeof(err)) != 0)
		abort();
	err[0] = '\0';
	rc = fg_dnskey_parse_private(priv, privlen, &k, err, sizeof(err));
	check_msg(rc, err);
	fg_dnskey_clear(&k);
	uint8_t buf[256];
	(void)fg_base64_decode(txt, publen, buf, sizeof(buf));
	return 0;
}
