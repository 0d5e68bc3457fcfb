/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/dnssec/sign.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include "common/err.h"
#include "common/wire.h"

#define STACK_BUF 4096

/* Length of a wire name inside rdata, bounded by `avail`; 0 if malformed. */
static size_t rd_name_len(const uint8_t *p, size_t avail)
{
	size_t o = 0;
	while (o < avail) {
		uint8_t l = p[o];
		if (l == 0)
			return o + 1 <= FG_DNS_MAXNAME ? o + 1 : 0;
		if (l > FG_DNS_MAXLABEL)
			return 0;
		o += 1u + l;
	}
	return 0;
}

static void lower_name(uint8_t *p)
{
	while (*p) {
		uint8_t l = *p++;
		for (uint8_t i = 0; i < l; i++)
			if (p[i] >= 'A' && p[i] <= 'Z')
				p[i] = (uint8_t)(p[i] + 32);
		p += l;
	}
}

int fg_rdata_canonical(uint16_t type, const uint8_t *rdata, uint16_t rdlen,
		       uint8_t *out, size_t cap)
{
	size_t at = 0, count = 0;

	if (rdlen > cap)
		return -FG_ESPACE;
	memcpy(out, rdata, rdlen);
	switch (type) {
	case 2: case 5: case 12: case 39:       /* NS CNAME PTR DNAME */
		count = 1;
		break;
	case 15:                                /* MX */
		at = 2, count = 1;
		break;
	case 33:                                /* SRV */
		at = 6, count = 1;
		break;
	case 6:                                 /* SOA: mname rname */
		count = 2;
		break;
	default:
		return rdlen;
	}
	for (size_t i = 0; i < count; i++) {
		if (at > rdlen)
			return -FG_EMALF;
		size_t nl = rd_name_len(out + at, rdlen - at);
		if (!nl)
			return -FG_EMALF;
		lower_name(out + at);
		at += nl;
	}
	return rdlen;
}

unsigned fg_rrsig_labels(const uint8_t *owner)
{
	unsigned n = 0;
	if (owner[0] == 1 && owner[1] == '*')
		owner += 2;
	while (*owner) {
		n++;
		owner += 1u + *owner;
	}
	return n;
}

typedef struct canon_rr {
	const uint8_t *rd;      /* canonical rdata inside the scratch buffer */
	uint16_t len;
} canon_rr_t;

static int canon_cmp(const void *a, const void *b)
{
	const canon_rr_t *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->rd, y->rd, m);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Build the signature input (RFC 4034 3.1.8.1): RRSIG rdata without the
 * signature, then the canonical RRset. On success *data is `stackbuf` or a
 * heap buffer the caller frees when it differs. */
static int signed_data(const uint8_t *rrsig_head, size_t headlen, const uint8_t *owner,
		       uint16_t type, uint32_t ttl, const fg_rdref_t *rrs, unsigned n,
		       uint8_t *stackbuf, uint8_t **data, size_t *dlen)
{
	uint8_t own[FG_DNS_MAXNAME];
	size_t ol = rd_name_len(owner, FG_DNS_MAXNAME);
	canon_rr_t c[FG_RRSET_MAX];

	if (!ol || !n || n > FG_RRSET_MAX)
		return -EINVAL;
	memcpy(own, owner, ol);
	lower_name(own);
	size_t rdsum = 0;
	for (unsigned i = 0; i < n; i++)
		rdsum += rrs[i].rdlen;
	/* layout: [head | records] then the canonical rdata scratch */
	size_t total = headlen + n * (ol + 10) + rdsum;
	size_t need = total + rdsum;
	uint8_t *buf = need <= STACK_BUF ? stackbuf : malloc(need);
	if (!buf)
		return -ENOMEM;
	uint8_t *scratch = buf + total;
	size_t so = 0;
	for (unsigned i = 0; i < n; i++) {
		int l = fg_rdata_canonical(type, rrs[i].rdata, rrs[i].rdlen, scratch + so,
					   rdsum - so);
		if (l < 0) {
			if (buf != stackbuf)
				free(buf);
			return l;
		}
		c[i].rd = scratch + so;
		c[i].len = (uint16_t)l;
		so += (size_t)l;
	}
	qsort(c, n, sizeof(c[0]), canon_cmp);
	fg_wire_t w = fg_wire_init(buf, total);
	fg_wire_write(&w, rrsig_head, headlen);
	for (unsigned i = 0; i < n; i++) {
		if (i && canon_cmp(&c[i - 1], &c[i]) == 0)
			continue;       /* duplicate record: once only */
		fg_wire_write(&w, own, ol);
		fg_wire_write_u16(&w, type);
		fg_wire_write_u16(&w, FG_CLASS_IN);
		fg_wire_write_u32(&w, ttl);
		fg_wire_write_u16(&w, c[i].len);
		fg_wire_write(&w, c[i].rd, c[i].len);
	}
	if (w.err) {
		if (buf != stackbuf)
			free(buf);
		return w.err;
	}
	*data = buf;
	*dlen = w.pos;
	return 0;
}

static int ecdsa_der_to_raw(const uint8_t *der, size_t dl, uint8_t out[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	if (!s)
		return -FG_EMALF;
	const BIGNUM *r, *sv;
	ECDSA_SIG_get0(s, &r, &sv);
	int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(sv, out + 32, 32) == 32;
	ECDSA_SIG_free(s);
	return ok ? 0 : -FG_EMALF;
}

/* r|s -> DER; returns the DER length or negative. */
static int ecdsa_raw_to_der(const uint8_t raw[64], uint8_t *der, size_t cap)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32, NULL);
	int n = -ENOMEM;
	if (s && r && sv && ECDSA_SIG_set0(s, r, sv) == 1) {
		r = sv = NULL;  /* owned by s now */
		int l = i2d_ECDSA_SIG(s, NULL);
		if (l > 0 && (size_t)l <= cap) {
			unsigned char *p = der;
			n = i2d_ECDSA_SIG(s, &p);
		} else {
			n = -FG_ESPACE;
		}
	}
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	return n;
}

static size_t rrsig_head(uint8_t *out, size_t cap, uint16_t type, uint8_t alg,
			 unsigned labels, uint32_t ttl, const fg_sigparams_t *sp,
			 uint16_t tag, const uint8_t *signer)
{
	fg_wire_t w = fg_wire_init(out, cap);
	size_t sl = rd_name_len(signer, FG_DNS_MAXNAME);
	fg_wire_write_u16(&w, type);
	fg_wire_write_u8(&w, alg);
	fg_wire_write_u8(&w, (uint8_t)labels);
	fg_wire_write_u32(&w, ttl);
	fg_wire_write_u32(&w, sp->expiration);
	fg_wire_write_u32(&w, sp->inception);
	fg_wire_write_u16(&w, tag);
	fg_wire_write(&w, signer, sl);
	if (!sl || w.err)
		return 0;
	lower_name(out + 18);
	return w.pos;
}

EVP_MD_CTX *fg_rrsig_prepare(const fg_dnskey_t *k)
{
	if (!k || !k->pkey)
		return NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const EVP_MD *h = k->alg == FG_DNSSEC_ALG_ECDSAP256 ? EVP_sha256() : NULL;
	if (md && EVP_DigestSignInit(md, NULL, h, NULL, k->pkey) == 1)
		return md;
	EVP_MD_CTX_free(md);
	return NULL;
}

int fg_rrsig_sign(const fg_dnskey_t *k, const fg_sigparams_t *sp,
		  const uint8_t *owner, uint16_t type, uint32_t ttl,
		  const fg_rdref_t *rrs, unsigned n, uint8_t *out, size_t cap)
{
	return fg_rrsig_sign_with(k, NULL, NULL, sp, owner, type, ttl, rrs, n, out, cap);
}

int fg_rrsig_sign_with(const fg_dnskey_t *k, EVP_MD_CTX *tpl, pthread_mutex_t *lock,
		       const fg_sigparams_t *sp, const uint8_t *owner, uint16_t type,
		       uint32_t ttl, const fg_rdref_t *rrs, unsigned n, uint8_t *out,
		       size_t cap)
{
	uint8_t stackbuf[STACK_BUF];
	uint8_t *data = NULL;
	size_t dlen = 0;

	if (!k || !k->pkey || !sp || !sp->signer)
		return -EINVAL;
	size_t hl = rrsig_head(out, cap, type, k->alg, fg_rrsig_labels(owner), ttl, sp,
			       k->tag, sp->signer);
	if (!hl || cap < hl + FG_DNSSEC_SIGMAX)
		return -FG_ESPACE;
	int rc = signed_data(out, hl, owner, type, ttl, rrs, n, stackbuf, &data, &dlen);
	if (rc < 0)
		return rc;

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t sl = k->alg == FG_DNSSEC_ALG_ECDSAP256 ? sizeof(der) : FG_DNSSEC_SIGMAX;
	uint8_t *sig = k->alg == FG_DNSSEC_ALG_ECDSAP256 ? der : out + hl;
	const EVP_MD *h = k->alg == FG_DNSSEC_ALG_ECDSAP256 ? EVP_sha256() : NULL;
	bool ready = false;
	if (md && tpl) {
		if (lock)
			pthread_mutex_lock(lock);
		ready = EVP_MD_CTX_copy_ex(md, tpl) == 1;
		if (lock)
			pthread_mutex_unlock(lock);
	}
	if (md && !ready)
		ready = EVP_DigestSignInit(md, NULL, h, NULL, k->pkey) == 1;
	rc = -FG_EAUTH;
	if (ready && EVP_DigestSign(md, sig, &sl, data, dlen) == 1) {
		if (k->alg == FG_DNSSEC_ALG_ECDSAP256)
			rc = ecdsa_der_to_raw(der, sl, out + hl);
		else
			rc = sl == FG_DNSSEC_SIGMAX ? 0 : -FG_EAUTH;
	}
	EVP_MD_CTX_free(md);
	if (data != stackbuf)
		free(data);
	return rc < 0 ? rc : (int)(hl + FG_DNSSEC_SIGMAX);
}

static EVP_PKEY *pubkey_from_dnskey(const uint8_t *rd, size_t len)
{
	if (len < 4 || rd[2] != 3)
		return NULL;
	if (rd[3] == FG_DNSSEC_ALG_ED25519 && len == 4 + 32)
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, rd + 4, 32);
	if (rd[3] != FG_DNSSEC_ALG_ECDSAP256 || len != 4 + 64)
		return NULL;
	uint8_t point[65];
	point[0] = 0x04;
	memcpy(point + 1, rd + 4, 64);
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (bld && ctx &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int fg_rrsig_verify(const uint8_t *dnskey, size_t dnskey_len,
		    const uint8_t *owner, uint16_t type, uint32_t ttl,
		    const fg_rdref_t *rrs, unsigned n,
		    const uint8_t *rrsig, size_t rrsig_len)
{
	uint8_t stackbuf[STACK_BUF];
	uint8_t *data = NULL;
	size_t dlen = 0;

	if (rrsig_len < 18 + 1 + FG_DNSSEC_SIGMAX)
		return -FG_EMALF;
	size_t sn = rd_name_len(rrsig + 18, rrsig_len - 18);
	if (!sn || rrsig_len != 18 + sn + FG_DNSSEC_SIGMAX)
		return -FG_EMALF;
	uint16_t covered = (uint16_t)(rrsig[0] << 8 | rrsig[1]);
	uint32_t ottl = (uint32_t)rrsig[4] << 24 | (uint32_t)rrsig[5] << 16 |
			(uint32_t)rrsig[6] << 8 | rrsig[7];
	uint16_t tag = (uint16_t)(rrsig[16] << 8 | rrsig[17]);
	if (covered != type || ottl != ttl || dnskey_len < 4 || rrsig[2] != dnskey[3] ||
	    tag != fg_dnskey_tag(dnskey, dnskey_len) || rrsig[3] != fg_rrsig_labels(owner))
		return -FG_EAUTH;
	EVP_PKEY *pk = pubkey_from_dnskey(dnskey, dnskey_len);
	if (!pk)
		return -FG_EMALF;
	int rc = signed_data(rrsig, 18 + sn, owner, type, ttl, rrs, n, stackbuf, &data, &dlen);
	if (rc < 0) {
		EVP_PKEY_free(pk);
		return rc;
	}
	const uint8_t *sig = rrsig + 18 + sn;
	uint8_t der[80];
	size_t sl = FG_DNSSEC_SIGMAX;
	const EVP_MD *h = NULL;
	if (dnskey[3] == FG_DNSSEC_ALG_ECDSAP256) {
		int l = ecdsa_raw_to_der(sig, der, sizeof(der));
		sig = der;
		sl = l > 0 ? (size_t)l : 0;
		h = EVP_sha256();
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	rc = -FG_EAUTH;
	if (md && sl && EVP_DigestVerifyInit(md, NULL, h, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, sl, data, dlen) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	if (data != stackbuf)
		free(data);
	return rc;
}
