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

/* One INTEGER of an ECDSA-Sig-Value as OpenSSL writes it (DER, short
 * length form: P-256 integers are at most 33 octets) into 32 octets, left
 * padded. Replaces d2i_ECDSA_SIG, which allocates a structure and two
 * BIGNUMs per signature. */
static int der_int32(fg_wire_t *r, uint8_t out[32])
{
	if (fg_wire_read_u8(r) != 0x02)
		return -FG_EMALF;
	uint8_t l = fg_wire_read_u8(r);
	const uint8_t *v = fg_wire_take(r, l, -FG_EMALF);
	if (r->err || !v || l == 0 || l > 33)
		return -FG_EMALF;
	/* a leading zero only when the next octet has its high bit set */
	if (l == 33) {
		if (v[0] != 0)
			return -FG_EMALF;
		v++, l--;
	}
	memset(out, 0, 32u - l);
	memcpy(out + 32 - l, v, l);
	return 0;
}

static int ecdsa_der_to_raw(const uint8_t *der, size_t dl, uint8_t out[64])
{
	fg_wire_t r = fg_wire_init(der, dl);
	if (fg_wire_read_u8(&r) != 0x30)
		return -FG_EMALF;
	uint8_t sl = fg_wire_read_u8(&r);
	if (r.err || sl >= 0x80 || sl != fg_wire_avail(&r))
		return -FG_EMALF;
	if (der_int32(&r, out) < 0 || der_int32(&r, out + 32) < 0 || fg_wire_avail(&r))
		return -FG_EMALF;
	return 0;
}

int fg_ecdsa_der_to_raw(const uint8_t *der, size_t dl, uint8_t out[64])
{
	return ecdsa_der_to_raw(der, dl, out);
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

struct fg_signctx {
	uint8_t alg;
	EVP_PKEY_CTX *pk;       /* ECDSA: EVP_PKEY_sign_init done once */
	EVP_MD_CTX *md;         /* ECDSA: SHA-256; Ed25519: DigestSignInit done */
	EVP_MD *sha256;         /* fetched once (EVP_sha256() fetches per init) */
};

void fg_signctx_free(fg_signctx_t *c)
{
	if (!c)
		return;
	EVP_PKEY_CTX_free(c->pk);
	EVP_MD_CTX_free(c->md);
	EVP_MD_free(c->sha256);
	free(c);
}

static int ed25519_init(fg_signctx_t *c, EVP_PKEY *pkey)
{
	EVP_MD_CTX_reset(c->md);
	return EVP_DigestSignInit_ex(c->md, NULL, NULL, NULL, NULL, pkey, NULL) == 1 ? 0
										  : -FG_EAUTH;
}

fg_signctx_t *fg_signctx_new(const fg_dnskey_t *k)
{
	if (!k || !k->pkey)
		return NULL;
	fg_signctx_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->alg = k->alg;
	c->md = EVP_MD_CTX_new();
	bool ok = c->md != NULL;
	if (ok && k->alg == FG_DNSSEC_ALG_ECDSAP256) {
		c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
		c->pk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		ok = c->sha256 && c->pk && EVP_PKEY_sign_init(c->pk) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(c->pk, c->sha256) == 1;
	} else if (ok) {
		ok = k->alg == FG_DNSSEC_ALG_ED25519 && ed25519_init(c, k->pkey) == 0;
	}
	if (!ok) {
		fg_signctx_free(c);
		return NULL;
	}
	return c;
}

/* The signature over data[dlen] into out[64]. */
static int sign_data(const fg_dnskey_t *k, fg_signctx_t *c, const uint8_t *data, size_t dlen,
		     uint8_t out[FG_DNSSEC_SIGMAX])
{
	if (c->alg == FG_DNSSEC_ALG_ECDSAP256) {
		uint8_t dg[32], der[80];
		unsigned dgl = 0;
		size_t sl = sizeof(der);
		if (EVP_DigestInit_ex2(c->md, c->sha256, NULL) != 1 ||
		    EVP_DigestUpdate(c->md, data, dlen) != 1 ||
		    EVP_DigestFinal_ex(c->md, dg, &dgl) != 1 || dgl != sizeof(dg) ||
		    EVP_PKEY_sign(c->pk, der, &sl, dg, sizeof(dg)) != 1)
			return -FG_EAUTH;
		return ecdsa_der_to_raw(der, sl, out);
	}
	/* Ed25519 has no prehash form: the one-shot DigestSign, on a context
	 * initialised once (3.0's one-shot leaves it reusable; if a later
	 * OpenSSL refuses a second use, it is initialised again) */
	size_t sl = FG_DNSSEC_SIGMAX;
	if (EVP_DigestSign(c->md, out, &sl, data, dlen) != 1) {
		sl = FG_DNSSEC_SIGMAX;
		if (ed25519_init(c, k->pkey) < 0 || EVP_DigestSign(c->md, out, &sl, data, dlen) != 1)
			return -FG_EAUTH;
	}
	return sl == FG_DNSSEC_SIGMAX ? 0 : -FG_EAUTH;
}

int fg_rrsig_sign(const fg_dnskey_t *k, const fg_sigparams_t *sp,
		  const uint8_t *owner, uint16_t type, uint32_t ttl,
		  const fg_rdref_t *rrs, unsigned n, uint8_t *out, size_t cap)
{
	fg_signctx_t *c = fg_signctx_new(k);
	if (!c)
		return k && k->pkey ? -FG_EAUTH : -EINVAL;
	int rc = fg_rrsig_sign_ctx(k, c, sp, owner, type, ttl, rrs, n, out, cap);
	fg_signctx_free(c);
	return rc;
}

int fg_rrsig_sign_ctx(const fg_dnskey_t *k, fg_signctx_t *c, const fg_sigparams_t *sp,
		      const uint8_t *owner, uint16_t type, uint32_t ttl,
		      const fg_rdref_t *rrs, unsigned n, uint8_t *out, size_t cap)
{
	uint8_t stackbuf[STACK_BUF];
	uint8_t *data = NULL;
	size_t dlen = 0;

	if (!k || !k->pkey || !c || c->alg != k->alg || !sp || !sp->signer)
		return -EINVAL;
	size_t hl = rrsig_head(out, cap, type, k->alg, fg_rrsig_labels(owner), ttl, sp,
			       k->tag, sp->signer);
	if (!hl || cap < hl + FG_DNSSEC_SIGMAX)
		return -FG_ESPACE;
	int rc = signed_data(out, hl, owner, type, ttl, rrs, n, stackbuf, &data, &dlen);
	if (rc < 0)
		return rc;
	rc = sign_data(k, c, data, dlen, out + hl);
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
