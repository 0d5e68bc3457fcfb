/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/dnssec/key.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>

#include "common/err.h"


int fg_dnssec_alg_from_name(const char *name)
{
	if (!strcasecmp(name, "ecdsap256sha256") || !strcmp(name, "13"))
		return FG_DNSSEC_ALG_ECDSAP256;
	if (!strcasecmp(name, "ed25519") || !strcmp(name, "15"))
		return FG_DNSSEC_ALG_ED25519;
	return -EINVAL;
}

const char *fg_dnssec_alg_name(uint8_t alg)
{
	switch (alg) {
	case FG_DNSSEC_ALG_ECDSAP256: return "ECDSAP256SHA256";
	case FG_DNSSEC_ALG_ED25519: return "ED25519";
	default: return NULL;
	}
}

static size_t pubkey_len(uint8_t alg)
{
	return alg == FG_DNSSEC_ALG_ECDSAP256 ? 64 : alg == FG_DNSSEC_ALG_ED25519 ? 32 : 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int fg_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0;
	size_t n = 0, chars = 0;

	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		chars++;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad)
			return -FG_EMALF;       /* bad character, or data after '=' */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -FG_ESPACE;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* whole quads only; padding must match the leftover bits, which
	 * must be zero (one canonical encoding per value) */
	if (chars % 4 || pad > 2 || (pad && bits != pad * 2) ||
	    (!pad && bits) || (acc & ((1u << bits) - 1)))
		return -FG_EMALF;
	return (int)n;
}

uint16_t fg_dnskey_tag(const uint8_t *rdata, size_t rdlen)
{
	uint32_t ac = 0;
	for (size_t i = 0; i < rdlen; i++)
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	return (uint16_t)(ac & 0xFFFF);
}

/* Next blank-separated token of a line; parentheses count as blanks (a
 * record may be split over lines with them). */
static const char *token(const char **p, const char *end, size_t *tl)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
			   *s == '(' || *s == ')'))
		s++;
	if (s >= end || *s == ';') {
		*p = end;
		return NULL;
	}
	const char *t = s;
	while (s < end && !(*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
			    *s == '(' || *s == ')' || *s == ';'))
		s++;
	*tl = (size_t)(s - t);
	*p = s;
	return t;
}

static bool tok_is(const char *t, size_t tl, const char *word)
{
	return t && strlen(word) == tl && strncasecmp(t, word, tl) == 0;
}

static bool tok_uint(const char *t, size_t tl, uint32_t max, uint32_t *v)
{
	uint64_t x = 0;
	if (!t || !tl || tl > 10)
		return false;
	for (size_t i = 0; i < tl; i++) {
		if (t[i] < '0' || t[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(t[i] - '0');
	}
	if (x > max)
		return false;
	*v = (uint32_t)x;
	return true;
}

static bool parse_stamp(const char *s, size_t l, int64_t *out);

/* A timing comment of a .key file, as BIND's tools keep them beside the
 * .private file's lines: "; Activate: 20261202014000 (Wed Dec  2 ...)".
 * A malformed one is ignored: the .private file's line is authoritative. */
static void comment_timing(const char *q, const char *le, fg_dnskey_t *k)
{
	static const struct { const char *word; size_t off; } w[] = {
		{ "Publish:", offsetof(fg_dnskey_t, publish) },
		{ "Activate:", offsetof(fg_dnskey_t, activate) },
		{ "Inactive:", offsetof(fg_dnskey_t, inactive) },
		{ "Delete:", offsetof(fg_dnskey_t, remove) },
	};
	while (q < le && (*q == ' ' || *q == '\t'))
		q++;
	if (q >= le || *q != ';')
		return;
	q++;
	while (q < le && (*q == ' ' || *q == '\t'))
		q++;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		size_t wl = strlen(w[i].word);
		if ((size_t)(le - q) < wl || memcmp(q, w[i].word, wl))
			continue;
		const char *v = q + wl;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		int64_t t;
		if (le - v >= 14 && (le - v == 14 || v[14] == ' ' || v[14] == '\r') &&
		    parse_stamp(v, 14, &t))
			memcpy((char *)k + w[i].off, &t, sizeof(t));
		return;
	}
}

int fg_dnskey_parse_public(const char *text, size_t len, fg_dnskey_t *k,
			   char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (!text)
		return fg_errf(err, errlen, -EINVAL, "no key text");
	/* gather the record: every non-comment token of the file in order
	 * (BIND writes comments first, then one record line) */
	const char *p = text, *end = text + len;
	const char *tok[40];
	size_t tl[40];
	unsigned nt = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *q = p;
		size_t l;
		const char *t;
		comment_timing(q, le, k);
		while ((t = token(&q, le, &l))) {
			if (nt == 40)
				return fg_errf(err, errlen, -FG_EMALF, "too many fields in the key file");
			tok[nt] = t;
			tl[nt++] = l;
		}
		p = eol ? eol + 1 : end;
	}
	/* owner [ttl] [class] DNSKEY flags protocol algorithm base64... */
	unsigned ti = 1;
	uint32_t v;
	if (nt < 6)
		return fg_errf(err, errlen, -FG_ESYNTAX, "no complete DNSKEY record found");
	for (int i = 0; i < 2 && ti < nt; i++)
		if (tok_uint(tok[ti], tl[ti], UINT32_MAX, &v) || tok_is(tok[ti], tl[ti], "IN"))
			ti++;
	if (ti >= nt || !tok_is(tok[ti], tl[ti], "DNSKEY"))
		return fg_errf(err, errlen, -FG_ESYNTAX, "no DNSKEY record found");
	ti++;
	if (ti + 4 > nt)
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY record is incomplete");
	char extra[512];
	size_t ne = 0;
	for (unsigned i = ti + 3; i < nt; i++) {
		if (ne + tl[i] >= sizeof(extra))
			return fg_errf(err, errlen, -FG_EMALF, "key data too long");
		memcpy(extra + ne, tok[i], tl[i]);
		ne += tl[i];
	}

	uint32_t flags, proto, alg;
	if (!tok_uint(tok[ti], tl[ti], 65535, &flags) ||
	    !tok_uint(tok[ti + 1], tl[ti + 1], 255, &proto) ||
	    !tok_uint(tok[ti + 2], tl[ti + 2], 255, &alg))
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY flags, protocol or algorithm is not a number");
	if (flags != 256 && flags != 257)
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY flags %u: only 256 (ZSK) and 257 (KSK) are used", flags);
	if (proto != 3)
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY protocol %u, must be 3", proto);
	size_t plen = pubkey_len((uint8_t)alg);
	if (!plen)
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY algorithm %u is not supported (13 or 15)", alg);
	uint8_t pub[FG_DNSKEY_RDMAX];
	int n = fg_base64_decode(extra, ne, pub, sizeof(pub));
	if (n < 0)
		return fg_errf(err, errlen, -FG_EMALF, "DNSKEY public key is not valid base64");
	if ((size_t)n != plen)
		return fg_errf(err, errlen, -FG_EMALF, "DNSKEY public key has %d octets, algorithm %u needs %zu",
			    n, alg, plen);

	char owner[FG_DNS_MAXNAME * 4 + 2];
	if (tl[0] >= sizeof(owner) || tok[0][tl[0] - 1] != '.')
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY owner must be an absolute name");
	memcpy(owner, tok[0], tl[0]);
	owner[tl[0]] = '\0';
	int ol = fg_dns_name_from_text(owner, NULL, k->owner);
	if (ol < 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "DNSKEY owner '%s' is not a valid name", owner);
	fg_dns_name_lower(k->owner);
	k->owner_len = (uint8_t)ol;
	k->flags = (uint16_t)flags;
	k->alg = (uint8_t)alg;
	k->rdata[0] = (uint8_t)(flags >> 8);
	k->rdata[1] = (uint8_t)flags;
	k->rdata[2] = 3;
	k->rdata[3] = (uint8_t)alg;
	memcpy(k->rdata + 4, pub, plen);
	k->rdlen = (uint16_t)(4 + plen);
	k->tag = fg_dnskey_tag(k->rdata, k->rdlen);
	return 0;
}

/* YYYYMMDDHHMMSS (UTC) -> seconds since the epoch. */
static bool parse_stamp(const char *s, size_t l, int64_t *out)
{
	unsigned f[6] = { 0 };
	static const unsigned w[6] = { 4, 2, 2, 2, 2, 2 };
	size_t o = 0;
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
		l--;
	if (l != 14)
		return false;
	for (int i = 0; i < 6; i++)
		for (unsigned j = 0; j < w[i]; j++, o++) {
			if (s[o] < '0' || s[o] > '9')
				return false;
			f[i] = f[i] * 10 + (unsigned)(s[o] - '0');
		}
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
		return false;
	/* days from civil (H. Hinnant's algorithm) */
	int64_t y = (int64_t)f[0] - (f[1] <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (f[1] + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + f[2] - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	*out = days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
	return true;
}

static EVP_PKEY *ecdsa_from_priv(const uint8_t priv[32], const uint8_t pub[64])
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = BN_secure_new();
	uint8_t point[65];

	point[0] = 0x04;        /* uncompressed */
	memcpy(point + 1, pub, 64);
	if (!bld || !bn || !BN_bin2bn(priv, 32, bn) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
		goto out;
	/* the published point must be priv * G: a mismatched pair would
	 * sign with a key nobody can verify */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!chk || EVP_PKEY_pairwise_check(chk) <= 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return pkey;
}

static EVP_PKEY *ed25519_from_priv(const uint8_t priv[32], const uint8_t pub[32])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
	uint8_t derived[32];
	size_t dl = sizeof(derived);
	if (!pkey)
		return NULL;
	if (EVP_PKEY_get_raw_public_key(pkey, derived, &dl) != 1 || dl != 32 ||
	    CRYPTO_memcmp(derived, pub, 32) != 0) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

int fg_dnskey_parse_private(const char *text, size_t len, fg_dnskey_t *k,
			    char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	bool have_fmt = false, have_alg = false;
	uint8_t priv[64];
	int privlen = -1;
	int rc = 0;

	if (!text || !k->rdlen)
		return fg_errf(err, errlen, -EINVAL, "no key text or no public key");
	while (p < end && rc == 0) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			size_t kl = (size_t)(colon - p);
			const char *v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			size_t vl = (size_t)(le - v);
			int64_t *stamp = NULL;
#define KEY_IS(s) (kl == sizeof(s) - 1 && strncmp(p, s, kl) == 0)
			if (KEY_IS("Private-key-format")) {
				have_fmt = vl >= 4 && strncmp(v, "v1.", 3) == 0;
				if (!have_fmt)
					rc = fg_errf(err, errlen, -FG_ESYNTAX, "unsupported Private-key-format");
			} else if (KEY_IS("Algorithm")) {
				size_t nl = 0;
				uint32_t a;
				while (nl < vl && v[nl] >= '0' && v[nl] <= '9')
					nl++;
				if (!tok_uint(v, nl, 255, &a) || a != k->alg)
					rc = fg_errf(err, errlen, -FG_ESYNTAX,
						  "private key algorithm does not match the DNSKEY (%u)", k->alg);
				have_alg = true;
			} else if (KEY_IS("PrivateKey")) {
				privlen = fg_base64_decode(v, vl, priv, sizeof(priv));
				if (privlen < 0)
					rc = fg_errf(err, errlen, -FG_EMALF, "PrivateKey is not valid base64");
			} else if (KEY_IS("Publish")) {
				stamp = &k->publish;
			} else if (KEY_IS("Activate")) {
				stamp = &k->activate;
			} else if (KEY_IS("Inactive")) {
				stamp = &k->inactive;
			} else if (KEY_IS("Delete")) {
				stamp = &k->remove;
			}
#undef KEY_IS
			if (stamp && rc == 0 && !parse_stamp(v, vl, stamp))
				rc = fg_errf(err, errlen, -FG_ESYNTAX, "bad timestamp '%.*s' (YYYYMMDDHHMMSS)",
					  (int)(vl > 20 ? 20 : vl), v);
		}
		p = eol ? eol + 1 : end;
	}
	if (rc == 0 && (!have_fmt || !have_alg || privlen < 0))
		rc = fg_errf(err, errlen, -FG_ESYNTAX,
			  "missing Private-key-format, Algorithm or PrivateKey line");
	if (rc == 0 && privlen != 32)
		rc = fg_errf(err, errlen, -FG_EMALF, "PrivateKey has %d octets, 32 expected", privlen);
	if (rc == 0) {
		EVP_PKEY_free(k->pkey);
		k->pkey = k->alg == FG_DNSSEC_ALG_ECDSAP256 ? ecdsa_from_priv(priv, k->rdata + 4)
							    : ed25519_from_priv(priv, k->rdata + 4);
		if (!k->pkey)
			rc = fg_errf(err, errlen, -FG_EAUTH,
				  "private key does not match the public key of tag %u", k->tag);
	}
	OPENSSL_cleanse(priv, sizeof(priv));
	return rc;
}

int fg_dnskey_ds_sha256(const fg_dnskey_t *k, uint8_t *out, size_t cap)
{
	if (cap < 36 || !k->rdlen)
		return -FG_ESPACE;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned dl = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, k->owner, k->owner_len) == 1 &&
		 EVP_DigestUpdate(md, k->rdata, k->rdlen) == 1 &&
		 EVP_DigestFinal_ex(md, out + 4, &dl) == 1 && dl == 32;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -ENOMEM;
	out[0] = (uint8_t)(k->tag >> 8);
	out[1] = (uint8_t)k->tag;
	out[2] = k->alg;
	out[3] = 2;
	return 36;
}

void fg_dnskey_clear(fg_dnskey_t *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
}

int fg_dnskey_generate(const char *zone_text, uint8_t alg, uint16_t flags,
		       fg_dnskey_t *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (flags != 256 && flags != 257)
		return fg_errf(err, errlen, -EINVAL, "flags must be 256 or 257");
	int ol = fg_dns_name_from_text(zone_text, NULL, k->owner);
	if (ol < 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "'%s' is not a valid zone name", zone_text);
	fg_dns_name_lower(k->owner);
	k->owner_len = (uint8_t)ol;
	EVP_PKEY *pkey = NULL;
	size_t pl = 0;
	uint8_t pub[65];
	if (alg == FG_DNSSEC_ALG_ECDSAP256) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (pkey && (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
							     sizeof(pub), &pl) != 1 ||
			     pl != 65 || pub[0] != 0x04))
			pl = 0;
		if (pl) {
			memmove(pub, pub + 1, 64);
			pl = 64;
		}
	} else if (alg == FG_DNSSEC_ALG_ED25519) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		pl = sizeof(pub);
		if (pkey && (EVP_PKEY_get_raw_public_key(pkey, pub, &pl) != 1 || pl != 32))
			pl = 0;
	} else {
		return fg_errf(err, errlen, -EINVAL, "unsupported algorithm %u", alg);
	}
	if (!pkey || !pl) {
		EVP_PKEY_free(pkey);
		return fg_errf(err, errlen, -ENOMEM, "key generation failed");
	}
	k->pkey = pkey;
	k->alg = alg;
	k->flags = flags;
	k->rdata[0] = (uint8_t)(flags >> 8);
	k->rdata[1] = (uint8_t)flags;
	k->rdata[2] = 3;
	k->rdata[3] = alg;
	memcpy(k->rdata + 4, pub, pl);
	k->rdlen = (uint16_t)(4 + pl);
	k->tag = fg_dnskey_tag(k->rdata, k->rdlen);
	return 0;
}

static void stamp_text(int64_t t, char out[32])
{
	int64_t days = t / 86400, sec = t % 86400;
	/* civil from days (H. Hinnant) */
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", (int)y, (int)m, (int)d,
		 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

int fg_dnskey_format(const fg_dnskey_t *k, int64_t now, int64_t activate, char *pub,
		     size_t publen, char *priv, size_t privlen)
{
	char owner[FG_DNS_MAXNAME * 4 + 2], st[32], act[32];
	unsigned char b64[128], praw[32];
	const char *alg = fg_dnssec_alg_name(k->alg);
	int rc = -FG_ESPACE;

	if (!k->pkey || !alg || fg_dns_name_to_text(k->owner, owner, sizeof(owner)) < 0)
		return -EINVAL;
	stamp_text(now, st);
	stamp_text(activate ? activate : now, act);
	EVP_EncodeBlock(b64, k->rdata + 4, k->rdlen - 4);
	int n = snprintf(pub, publen,
			 "; This is a %s, keyid %u, for %s\n"
			 "; Created: %s\n; Publish: %s\n; Activate: %s\n"
			 "%s IN DNSKEY %u 3 %u %s\n",
			 k->flags == 257 ? "key-signing key" : "zone-signing key",
			 k->tag, owner, st, st, act, owner, k->flags, k->alg, b64);
	if (n < 0 || (size_t)n >= publen)
		return -FG_ESPACE;

	size_t pl = sizeof(praw);
	if (k->alg == FG_DNSSEC_ALG_ECDSAP256) {
		BIGNUM *bn = NULL;
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
		    BN_bn2binpad(bn, praw, 32) != 32)
			pl = 0;
		BN_clear_free(bn);
	} else if (EVP_PKEY_get_raw_private_key(k->pkey, praw, &pl) != 1 || pl != 32) {
		pl = 0;
	}
	if (pl != 32) {
		rc = -EINVAL;
		goto out;
	}
	EVP_EncodeBlock(b64, praw, 32);
	n = snprintf(priv, privlen,
		     "Private-key-format: v1.3\nAlgorithm: %u (%s)\nPrivateKey: %s\n"
		     "Created: %s\nPublish: %s\nActivate: %s\n",
		     k->alg, alg, b64, st, st, act);
	if (n > 0 && (size_t)n < privlen)
		rc = 0;
out:
	OPENSSL_cleanse(praw, sizeof(praw));
	OPENSSL_cleanse(b64, sizeof(b64));
	return rc;
}
