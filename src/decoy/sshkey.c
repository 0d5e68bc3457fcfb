/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sshkey.h"
#include "decoy/sshwire.h"

const char *const fd_sshk_names[FD_SSHK_NTYPES] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"
};

int fd_sshk_type_of_alg(const char *alg)
{
	if (strcmp(alg, "ssh-ed25519") == 0)
		return FD_SSHK_ED25519;
	if (strcmp(alg, "ecdsa-sha2-nistp256") == 0)
		return FD_SSHK_ECDSA256;
	if (strcmp(alg, "rsa-sha2-256") == 0 || strcmp(alg, "rsa-sha2-512") == 0 ||
	    strcmp(alg, "ssh-rsa") == 0)
		return FD_SSHK_RSA;
	return FD_SSHK_NONE;
}

int fd_sshkey_type(EVP_PKEY *k)
{
	char group[64];

	if (!k)
		return FD_SSHK_NONE;
	if (EVP_PKEY_is_a(k, "ED25519"))
		return FD_SSHK_ED25519;
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 && EVP_PKEY_get_bits(k) <= 8192
		       ? FD_SSHK_RSA : FD_SSHK_NONE;
	if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return FD_SSHK_ECDSA256;
	return FD_SSHK_NONE;
}

/* ---- reading keys ---- */

static const char OSSH_BEGIN[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char OSSH_END[] = "-----END OPENSSH PRIVATE KEY-----";

/* Base64 body between the armour lines, decoded into a malloc'd buffer. */
static int unarmour(const uint8_t *buf, size_t len, uint8_t **out, size_t *outlen)
{
	const char *s = memmem(buf, len, OSSH_BEGIN, sizeof(OSSH_BEGIN) - 1);
	const char *e;
	char *b64;
	size_t n = 0, pad = 0;

	if (!s)
		return -FG_EMALF;
	s += sizeof(OSSH_BEGIN) - 1;
	e = memmem(s, len - (size_t)((const uint8_t *)s - buf), OSSH_END,
		   sizeof(OSSH_END) - 1);
	if (!e || e - s > 65536)
		return -FG_EMALF;
	b64 = malloc((size_t)(e - s) + 1);
	if (!b64)
		return -ENOMEM;
	for (const char *p = s; p < e; p++)
		if (!isspace((unsigned char)*p))
			b64[n++] = *p;
	if (n == 0 || n % 4) {
		free(b64);
		return -FG_EMALF;
	}
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	*out = malloc(n / 4 * 3);
	if (!*out) {
		free(b64);
		return -ENOMEM;
	}
	int r = EVP_DecodeBlock(*out, (unsigned char *)b64, (int)n);
	free(b64);
	if (r < 0 || (size_t)r < pad) {
		free(*out);
		return -FG_EMALF;
	}
	*outlen = (size_t)r - pad;
	return 0;
}

static BIGNUM *rd_bn(fg_wire_t *w)
{
	size_t n;
	const uint8_t *p = fd_ssh_rd_str(w, &n);

	if (!p || n > 2048 || (n && (p[0] & 0x80)))  /* negative: no key has one */
		return NULL;
	return BN_bin2bn(p, (int)n, NULL);
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *k = NULL;

	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
		if (EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) != 1)
			k = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return k;
}

static EVP_PKEY *rsa_key(fg_wire_t *w)
{
	BIGNUM *n = rd_bn(w), *e = rd_bn(w), *d = rd_bn(w), *iqmp = rd_bn(w);
	BIGNUM *p = rd_bn(w), *q = rd_bn(w), *dp = BN_new(), *dq = BN_new();
	BIGNUM *t = BN_new();
	BN_CTX *bc = BN_CTX_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *k = NULL;

	if (!w->err && n && e && d && iqmp && p && q && dp && dq && t && bc && bld &&
	    BN_sub(t, p, BN_value_one()) && BN_mod(dp, d, t, bc) &&
	    BN_sub(t, q, BN_value_one()) && BN_mod(dq, d, t, bc) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp))
		k = from_params("RSA", bld);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(dp);
	BN_clear_free(dq);
	BN_clear_free(iqmp);
	BN_clear_free(t);
	BN_free(n);
	BN_free(e);
	BN_CTX_free(bc);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

static EVP_PKEY *ecdsa_key(fg_wire_t *w)
{
	size_t cn, qn;
	const uint8_t *curve = fd_ssh_rd_str(w, &cn);
	const uint8_t *q = fd_ssh_rd_str(w, &qn);
	BIGNUM *d = rd_bn(w);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *k = NULL;

	if (!w->err && fd_ssh_str_is(curve, cn, "nistp256") && d && bld &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
		k = from_params("EC", bld);
	BN_clear_free(d);
	OSSL_PARAM_BLD_free(bld);
	return k;
}

static EVP_PKEY *ed25519_key(fg_wire_t *w)
{
	size_t pn, sn;
	const uint8_t *pk = fd_ssh_rd_str(w, &pn);
	const uint8_t *sk = fd_ssh_rd_str(w, &sn);
	EVP_PKEY *k;

	/* sk is seed || public key */
	if (w->err || pn != 32 || sn != 64 || memcmp(sk + 32, pk, 32) != 0)
		return NULL;
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	return k;
}

static int parse_openssh(const uint8_t *bin, size_t n, EVP_PKEY **out,
			 char *err, size_t errlen)
{
	static const char magic[] = "openssh-key-v1";  /* with its NUL */
	fg_wire_t w = fg_wire_init(bin, n);
	size_t cn, kn, on, pn, tn;
	const uint8_t *cipher, *kdf, *priv, *type;

	if (n < sizeof(magic) || memcmp(bin, magic, sizeof(magic)) != 0)
		return fg_errf(err, errlen, -FG_EMALF, "not an openssh-key-v1 key");
	fg_wire_skip(&w, sizeof(magic));
	cipher = fd_ssh_rd_str(&w, &cn);
	kdf = fd_ssh_rd_str(&w, &kn);
	(void)fd_ssh_rd_str(&w, &on);
	uint32_t nkeys = fg_wire_read_u32(&w);
	(void)fd_ssh_rd_str(&w, &pn);
	priv = fd_ssh_rd_str(&w, &tn);
	if (w.err)
		return fg_errf(err, errlen, -FG_EMALF, "truncated OpenSSH key");
	if (!fd_ssh_str_is(cipher, cn, "none") || !fd_ssh_str_is(kdf, kn, "none"))
		return fg_errf(err, errlen, -FG_EMALF, "the key is encrypted (a "
			       "passphrase); the decoy needs an unencrypted key "
			       "(ssh-keygen -p -N '')");
	if (nkeys != 1)
		return fg_errf(err, errlen, -FG_EMALF, "%u keys in one file; one "
			       "expected", nkeys);
	fg_wire_t p = fg_wire_init(priv, tn);
	uint32_t c1 = fg_wire_read_u32(&p), c2 = fg_wire_read_u32(&p);
	type = fd_ssh_rd_str(&p, &kn);
	if (p.err || c1 != c2)
		return fg_errf(err, errlen, -FG_EMALF, "corrupt OpenSSH private section");
	EVP_PKEY *k = NULL;
	if (fd_ssh_str_is(type, kn, "ssh-ed25519"))
		k = ed25519_key(&p);
	else if (fd_ssh_str_is(type, kn, "ecdsa-sha2-nistp256"))
		k = ecdsa_key(&p);
	else if (fd_ssh_str_is(type, kn, "ssh-rsa"))
		k = rsa_key(&p);
	else
		return fg_errf(err, errlen, -FG_EMALF, "key type '%.*s' not supported "
			       "(ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa)",
			       (int)(kn > 40 ? 40 : kn), type ? (const char *)type : "");
	if (!k)
		return fg_errf(err, errlen, -FG_EMALF, "malformed %.*s key",
			       (int)kn, (const char *)type);
	*out = k;
	return 0;
}

int fd_sshkey_parse(const uint8_t *buf, size_t len, EVP_PKEY **out,
		    char *err, size_t errlen)
{
	int rc;

	*out = NULL;
	if (memmem(buf, len, OSSH_BEGIN, sizeof(OSSH_BEGIN) - 1)) {
		uint8_t *bin = NULL;
		size_t n = 0;
		rc = unarmour(buf, len, &bin, &n);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return fg_errf(err, errlen, rc, "bad base64 in OpenSSH key");
		rc = parse_openssh(bin, n, out, err, errlen);
		OPENSSL_cleanse(bin, n);
		free(bin);
	} else {
		BIO *b = BIO_new_mem_buf(buf, len > INT32_MAX ? -1 : (int)len);
		/* no passphrase callback: an encrypted PEM key fails */
		*out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
		BIO_free(b);
		rc = *out ? 0 : fg_errf(err, errlen, -FG_EMALF, "neither an OpenSSH "
					"nor an unencrypted PEM private key");
	}
	if (rc == 0 && fd_sshkey_type(*out) == FD_SSHK_NONE) {
		EVP_PKEY_free(*out);
		*out = NULL;
		rc = fg_errf(err, errlen, -FG_EMALF, "key type not supported "
			     "(ed25519, ECDSA P-256, RSA of 2048 to 8192 bits)");
	}
	return rc;
}

EVP_PKEY *fd_sshkey_generate(int type)
{
	switch (type) {
	case FD_SSHK_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case FD_SSHK_ECDSA256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case FD_SSHK_RSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	default:
		return NULL;
	}
}

/* ---- public blobs and signatures ---- */

static void wr_bn(fg_wire_t *w, const BIGNUM *bn)
{
	uint8_t tmp[1024];
	int n = BN_num_bytes(bn);

	if (n < 0 || (size_t)n > sizeof(tmp)) {
		fg_wire_fail(w, -FG_ESPACE);
		return;
	}
	BN_bn2bin(bn, tmp);
	fd_ssh_wr_mpint(w, tmp, (size_t)n);
}

int fd_sshkey_blob(EVP_PKEY *k, uint8_t *out, size_t outlen)
{
	fg_wire_t w = fg_wire_init(out, outlen);
	uint8_t pub[133];
	size_t pl = sizeof(pub);

	switch (fd_sshkey_type(k)) {
	case FD_SSHK_ED25519:
		if (EVP_PKEY_get_raw_public_key(k, pub, &pl) != 1)
			return -EIO;
		fd_ssh_wr_cstr(&w, "ssh-ed25519");
		fd_ssh_wr_str(&w, pub, pl);
		break;
	case FD_SSHK_ECDSA256:
		if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						    pub, sizeof(pub), &pl) != 1)
			return -EIO;
		fd_ssh_wr_cstr(&w, "ecdsa-sha2-nistp256");
		fd_ssh_wr_cstr(&w, "nistp256");
		fd_ssh_wr_str(&w, pub, pl);
		break;
	case FD_SSHK_RSA: {
		BIGNUM *n = NULL, *e = NULL;
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
			BN_free(n);
			return -EIO;
		}
		fd_ssh_wr_cstr(&w, "ssh-rsa");
		wr_bn(&w, e);
		wr_bn(&w, n);
		BN_free(n);
		BN_free(e);
		break;
	}
	default:
		return -EINVAL;
	}
	return w.err ? w.err : (int)w.pos;
}

int fd_sshkey_sign(EVP_PKEY *k, const char *alg, const uint8_t *data, size_t dlen,
		   uint8_t *out, size_t outlen)
{
	fg_wire_t w = fg_wire_init(out, outlen);
	const EVP_MD *md = NULL;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	uint8_t sig[1024];
	size_t sl = sizeof(sig);
	int type = fd_sshkey_type(k), rc = -EIO;

	if (!mc)
		return -ENOMEM;
	if (type != fd_sshk_type_of_alg(alg) || type == FD_SSHK_NONE) {
		rc = -EINVAL;
		goto out;
	}
	if (type == FD_SSHK_ECDSA256 || strcmp(alg, "rsa-sha2-256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "rsa-sha2-512") == 0)
		md = EVP_sha512();
	else if (strcmp(alg, "ssh-rsa") == 0)
		md = EVP_sha1();
	if (EVP_DigestSignInit(mc, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(mc, sig, &sl, data, dlen) != 1)
		goto out;
	fd_ssh_wr_cstr(&w, alg);
	if (type == FD_SSHK_ECDSA256) {
		/* DER (r, s) to the SSH form: string(mpint r, mpint s) */
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
		if (!es)
			goto out;
		uint8_t inner[160];
		fg_wire_t iw = fg_wire_init(inner, sizeof(inner));
		wr_bn(&iw, ECDSA_SIG_get0_r(es));
		wr_bn(&iw, ECDSA_SIG_get0_s(es));
		ECDSA_SIG_free(es);
		if (iw.err)
			goto out;
		fd_ssh_wr_str(&w, inner, iw.pos);
	} else {
		fd_ssh_wr_str(&w, sig, sl);
	}
	rc = w.err ? w.err : (int)w.pos;
out:
	EVP_MD_CTX_free(mc);
	return rc;
}

void fd_ssh_fingerprint(const uint8_t *blob, size_t len, char out[64])
{
	uint8_t h[32];
	unsigned char b64[48];
	unsigned hl = 0;

	EVP_Digest(blob, len, h, &hl, EVP_sha256(), NULL);
	int n = EVP_EncodeBlock(b64, h, 32);  /* 44 with one '=' */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", n, (const char *)b64);
}
