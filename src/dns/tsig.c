/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG (RFC 8945). The MAC is computed over pieces of the message as it
 * sits in its buffer (header with the original ID and ARCOUNT less the
 * TSIG, the body up to the TSIG RR, then the TSIG variables in canonical
 * form), so nothing is copied and a 64 KiB TCP message costs no scratch
 * buffer. Every read goes through the sticky-error cursor.
 */
#include "dns/tsig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/internal.h"

/* Algorithm names on the wire (RFC 8945 section 6), lowercase. */
static const uint8_t alg_sha256[] = "\x0bhmac-sha256";
static const uint8_t alg_sha512[] = "\x0bhmac-sha512";

enum fg_tsig_alg fg_tsig_alg_from_text(const char *s)
{
	if (!s)
		return FG_TSIG_ALG_NONE;
	if (!strcasecmp(s, "hmac-sha256"))
		return FG_TSIG_HMAC_SHA256;
	if (!strcasecmp(s, "hmac-sha512"))
		return FG_TSIG_HMAC_SHA512;
	return FG_TSIG_ALG_NONE;
}

const char *fg_tsig_alg_text(enum fg_tsig_alg alg)
{
	switch (alg) {
	case FG_TSIG_HMAC_SHA256: return "hmac-sha256";
	case FG_TSIG_HMAC_SHA512: return "hmac-sha512";
	default: return "none";
	}
}

size_t fg_tsig_alg_maclen(enum fg_tsig_alg alg)
{
	switch (alg) {
	case FG_TSIG_HMAC_SHA256: return 32;
	case FG_TSIG_HMAC_SHA512: return 64;
	default: return 0;
	}
}

/* wire name of the algorithm (with its root label: 13 octets) */
static const uint8_t *alg_wire(enum fg_tsig_alg alg, size_t *len)
{
	*len = 13;
	switch (alg) {
	case FG_TSIG_HMAC_SHA256: return alg_sha256;
	case FG_TSIG_HMAC_SHA512: return alg_sha512;
	default: *len = 0; return NULL;
	}
}

static enum fg_tsig_alg alg_from_wire(const uint8_t *name, size_t len)
{
	if (len == 13 && !memcmp(name, alg_sha256, 13))
		return FG_TSIG_HMAC_SHA256;
	if (len == 13 && !memcmp(name, alg_sha512, 13))
		return FG_TSIG_HMAC_SHA512;
	return FG_TSIG_ALG_NONE;
}

const char *fg_tsig_error_text(uint16_t error)
{
	switch (error) {
	case FG_TSIG_NOERROR: return "NOERROR";
	case FG_TSIG_BADSIG: return "BADSIG";
	case FG_TSIG_BADKEY: return "BADKEY";
	case FG_TSIG_BADTIME: return "BADTIME";
	case FG_TSIG_BADTRUNC: return "BADTRUNC";
	default: return "unknown";
	}
}

/* ---- keys ---------------------------------------------------------- */

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int fg_tsig_base64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), o = 0;

	if (n == 0 || n % 4)
		return -FG_ESYNTAX;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		unsigned pad = 0;
		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad)        /* data after padding */
				return -FG_ESYNTAX;
			v[j] = b64_val((unsigned char)s[i + j]);
			if (v[j] < 0)
				return -FG_ESYNTAX;
		}
		uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		size_t k = 3 - pad;
		if (o + k > cap)
			return -FG_ESPACE;
		out[o++] = (uint8_t)(q >> 16);
		if (k > 1)
			out[o++] = (uint8_t)(q >> 8);
		if (k > 2)
			out[o++] = (uint8_t)q;
	}
	return (int)o;
}

void fg_tsig_key_clear(fg_tsig_key_t *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

int fg_tsig_key_init(fg_tsig_key_t *k, const char *name, const char *alg,
		     const char *secret_b64, char *err, size_t errlen)
{
	char abs[FG_DNS_MAXNAME * 4 + 2];
	uint8_t wire[FG_DNS_MAXNAME];

	memset(k, 0, sizeof(*k));
	if (!name || !*name || strlen(name) + 2 > sizeof(abs))
		return fg_errf(err, errlen, -FG_ESYNTAX, "invalid key name");
	size_t nl = strlen(name);
	snprintf(abs, sizeof(abs), "%s%s", name, name[nl - 1] == '.' ? "" : ".");
	int wl = fg_dns_name_from_text(abs, NULL, wire);
	if (wl < 0 || wl <= 1)
		return fg_errf(err, errlen, -FG_ESYNTAX, "invalid key name '%.80s'", name);
	k->alg = fg_tsig_alg_from_text(alg);
	if (k->alg == FG_TSIG_ALG_NONE) {
		memset(k, 0, sizeof(*k));
		return fg_errf(err, errlen, -FG_ESYNTAX,
			       "unknown TSIG algorithm '%.40s' (use hmac-sha256 or hmac-sha512)",
			       alg ? alg : "");
	}
	int sl = secret_b64 ? fg_tsig_base64_decode(secret_b64, k->secret, sizeof(k->secret)) : -1;
	if (sl <= 0) {
		fg_tsig_key_clear(k);
		/* never echo the secret */
		return fg_errf(err, errlen, -FG_ESYNTAX, sl == -FG_ESPACE
			       ? "TSIG secret longer than %d octets" : "invalid base64 TSIG secret%.0d",
			       FG_TSIG_SECRET_MAX);
	}
	k->secret_len = (size_t)sl;
	memcpy(k->name, wire, (size_t)wl);
	fg_dns_name_lower(k->name);
	k->name_len = (uint8_t)wl;
	return 0;
}

/* ---- parsing ----------------------------------------------------------- */

static void skip_rr(fg_wire_t *w, uint16_t *type, size_t *start)
{
	uint8_t name[FG_DNS_MAXNAME];
	*start = w->pos;
	(void)fg_dns_wire_name(w, name);
	*type = fg_wire_read_u16(w);
	fg_wire_skip(w, 6);
	uint16_t rdlen = fg_wire_read_u16(w);
	fg_wire_skip(w, rdlen);
}

static int parse_tsig_rr(const uint8_t *msg, size_t len, size_t off, fg_tsig_rr_t *rr)
{
	fg_wire_t w = fg_wire_init(msg, len);
	w.pos = off;
	memset(rr, 0, sizeof(*rr));
	rr->offset = off;
	int nl = fg_dns_wire_name(&w, rr->key_name);
	uint16_t type = fg_wire_read_u16(&w);
	uint16_t cls = fg_wire_read_u16(&w);
	uint32_t ttl = fg_wire_read_u32(&w);
	uint16_t rdlen = fg_wire_read_u16(&w);
	if (w.err || nl <= 0)
		return -FG_EMALF;
	if (type != FG_TYPE_TSIG || cls != FG_CLASS_ANY || ttl != 0)
		return -FG_EMALF;
	size_t rd_end = w.pos + rdlen;
	if (rd_end > len)
		return -FG_EMALF;
	fg_wire_t r = fg_wire_init(msg, rd_end);
	r.pos = w.pos;
	/* the algorithm name must not be compressed (section 4.2) but a
	 * compressed one reads the same: accept it, compare canonically */
	int al = fg_dns_wire_name(&r, rr->alg_name);
	uint16_t hi = fg_wire_read_u16(&r);
	uint32_t lo = fg_wire_read_u32(&r);
	rr->fudge = fg_wire_read_u16(&r);
	rr->mac_len = fg_wire_read_u16(&r);
	const uint8_t *mac = fg_wire_take(&r, rr->mac_len, -FG_ETRUNC);
	rr->orig_id = fg_wire_read_u16(&r);
	rr->error = fg_wire_read_u16(&r);
	rr->other_len = fg_wire_read_u16(&r);
	const uint8_t *other = fg_wire_take(&r, rr->other_len, -FG_ETRUNC);
	if (r.err || al <= 0 || r.pos != rd_end)
		return -FG_EMALF;
	rr->key_name_len = (uint8_t)nl;
	rr->alg_name_len = (uint8_t)al;
	fg_dns_name_lower(rr->key_name);
	fg_dns_name_lower(rr->alg_name);
	rr->time_signed = (uint64_t)hi << 32 | lo;
	memcpy(rr->mac, mac, rr->mac_len < FG_TSIG_MAC_MAX ? rr->mac_len : FG_TSIG_MAC_MAX);
	if (other)
		memcpy(rr->other, other, rr->other_len < 6 ? rr->other_len : 6);
	return 0;
}

int fg_tsig_find(const uint8_t *msg, size_t len, fg_tsig_rr_t *rr)
{
	if (!msg || len < FG_DNS_HDRLEN)
		return -FG_ETRUNC;
	fg_wire_t w = fg_wire_init(msg, len);
	fg_wire_skip(&w, 4);
	uint16_t qd = fg_wire_read_u16(&w);
	uint16_t an = fg_wire_read_u16(&w);
	uint16_t ns = fg_wire_read_u16(&w);
	uint16_t ar = fg_wire_read_u16(&w);
	for (unsigned i = 0; i < qd && !w.err; i++) {
		uint8_t name[FG_DNS_MAXNAME];
		(void)fg_dns_wire_name(&w, name);
		fg_wire_skip(&w, 4);
	}
	unsigned total = (unsigned)an + ns + ar, ntsig = 0;
	size_t tsig_off = 0;
	bool tsig_last = false;
	for (unsigned i = 0; i < total && !w.err; i++) {
		uint16_t type;
		size_t start;
		skip_rr(&w, &type, &start);
		if (type == FG_TYPE_TSIG && !w.err) {
			ntsig++;
			tsig_off = start;
			tsig_last = i + 1 == total && i >= (unsigned)an + ns;
		}
	}
	if (w.err)
		return w.err;
	if (w.pos != len)
		return -FG_EMALF;
	if (ntsig == 0)
		return 0;
	if (ntsig > 1 || !tsig_last)
		return -FG_EMALF;       /* section 5.1: the last record, once */
	return parse_tsig_rr(msg, len, tsig_off, rr) < 0 ? -FG_EMALF : 1;
}

/* ---- MAC ------------------------------------------------------------- */

typedef struct tsig_vars {
	const uint8_t *key_name;
	size_t key_name_len;
	const uint8_t *alg_name;
	size_t alg_name_len;
	uint64_t time_signed;
	uint16_t fudge, error, other_len;
	const uint8_t *other;
} tsig_vars_t;

/*
 * HMAC over: [request MAC (len16 + mac)] + header (id = orig_id, arcount
 * = arcount) + msg[12..body_end) + TSIG variables. Returns the MAC length
 * or a negative error.
 */
static int tsig_mac(const fg_tsig_key_t *key, const uint8_t *prior, size_t prior_len,
		    bool with_prior, const uint8_t *msg, size_t body_end, uint16_t orig_id,
		    uint16_t arcount, const tsig_vars_t *v, uint8_t out[FG_TSIG_MAC_MAX])
{
	const char *md = key->alg == FG_TSIG_HMAC_SHA512 ? "SHA512" : "SHA256";
	uint8_t hdr[FG_DNS_HDRLEN], buf[16];
	size_t outl = 0;
	int rc = -FG_EAUTH;

	if (body_end < FG_DNS_HDRLEN || fg_tsig_alg_maclen(key->alg) == 0)
		return -EINVAL;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!c || !EVP_MAC_init(c, key->secret, key->secret_len, params))
		goto out;
	memcpy(hdr, msg, FG_DNS_HDRLEN);
	hdr[0] = (uint8_t)(orig_id >> 8);
	hdr[1] = (uint8_t)orig_id;
	hdr[10] = (uint8_t)(arcount >> 8);
	hdr[11] = (uint8_t)arcount;
	if (with_prior) {
		buf[0] = (uint8_t)(prior_len >> 8);
		buf[1] = (uint8_t)prior_len;
		if (!EVP_MAC_update(c, buf, 2) || (prior_len && !EVP_MAC_update(c, prior, prior_len)))
			goto out;
	}
	if (!EVP_MAC_update(c, hdr, sizeof(hdr)) ||
	    !EVP_MAC_update(c, msg + FG_DNS_HDRLEN, body_end - FG_DNS_HDRLEN) ||
	    !EVP_MAC_update(c, v->key_name, v->key_name_len))
		goto out;
	/* class ANY, TTL 0 */
	static const uint8_t cls_ttl[6] = { 0, FG_CLASS_ANY, 0, 0, 0, 0 };
	if (!EVP_MAC_update(c, cls_ttl, 6) || !EVP_MAC_update(c, v->alg_name, v->alg_name_len))
		goto out;
	fg_wire_t w = fg_wire_init(buf, sizeof(buf));
	fg_wire_write_u16(&w, (uint16_t)(v->time_signed >> 32));
	fg_wire_write_u32(&w, (uint32_t)v->time_signed);
	fg_wire_write_u16(&w, v->fudge);
	fg_wire_write_u16(&w, v->error);
	fg_wire_write_u16(&w, v->other_len);
	if (w.err || !EVP_MAC_update(c, buf, w.pos) ||
	    (v->other_len && !EVP_MAC_update(c, v->other, v->other_len)))
		goto out;
	if (!EVP_MAC_final(c, out, &outl, FG_TSIG_MAC_MAX))
		goto out;
	rc = (int)outl;
out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return rc;
}

/* Append a TSIG RR; mac NULL/0 for the unsigned error form. */
static int put_tsig(uint8_t *msg, size_t len, size_t cap, const tsig_vars_t *v,
		    const uint8_t *mac, size_t mac_len, uint16_t orig_id)
{
	fg_wire_t w = fg_wire_init(msg, cap);
	if (len < FG_DNS_HDRLEN || len > cap)
		return -FG_ETRUNC;
	uint16_t ar = (uint16_t)((msg[10] << 8) | msg[11]);
	if (ar == 0xFFFF)
		return -FG_ESPACE;
	w.pos = len;
	fg_wire_write(&w, v->key_name, v->key_name_len);
	fg_wire_write_u16(&w, FG_TYPE_TSIG);
	fg_wire_write_u16(&w, FG_CLASS_ANY);
	fg_wire_write_u32(&w, 0);
	size_t rdlen_at = w.pos;
	fg_wire_write_u16(&w, 0);
	fg_wire_write(&w, v->alg_name, v->alg_name_len);
	fg_wire_write_u16(&w, (uint16_t)(v->time_signed >> 32));
	fg_wire_write_u32(&w, (uint32_t)v->time_signed);
	fg_wire_write_u16(&w, v->fudge);
	fg_wire_write_u16(&w, (uint16_t)mac_len);
	fg_wire_write(&w, mac, mac_len);
	fg_wire_write_u16(&w, orig_id);
	fg_wire_write_u16(&w, v->error);
	fg_wire_write_u16(&w, v->other_len);
	fg_wire_write(&w, v->other, v->other_len);
	fg_wire_put_u16_at(&w, rdlen_at, (uint16_t)(w.pos - rdlen_at - 2));
	if (w.err)
		return w.err;
	ar++;
	msg[10] = (uint8_t)(ar >> 8);
	msg[11] = (uint8_t)ar;
	return (int)w.pos;
}

static void put_u48(uint8_t out[6], uint64_t t)
{
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(t >> (40 - 8 * i));
}

static uint64_t get_u48(const uint8_t in[6])
{
	uint64_t t = 0;
	for (int i = 0; i < 6; i++)
		t = t << 8 | in[i];
	return t;
}

static bool time_ok(uint64_t now, uint64_t signed_at, uint16_t fudge)
{
	uint64_t d = now > signed_at ? now - signed_at : signed_at - now;
	return d <= fudge;
}

/* The MAC length bounds of section 5.2.2.1. */
static bool mac_len_ok(size_t got, size_t full)
{
	size_t min = full / 2 > 10 ? full / 2 : 10;
	return got <= full && got >= min;
}

/* ---- server side ---------------------------------------------------- */

enum fg_tsig_verdict fg_tsig_verify_request(const uint8_t *msg, size_t len,
					    const fg_tsig_key_t *keys, size_t nkeys,
					    uint64_t now, fg_tsig_ctx_t *ctx)
{
	fg_tsig_rr_t rr;

	memset(ctx, 0, sizeof(*ctx));
	int f = fg_tsig_find(msg, len, &rr);
	if (f == 0)
		return FG_TSIG_NONE;
	if (f < 0)
		return FG_TSIG_FORMERR;
	ctx->present = true;
	memcpy(ctx->key_name, rr.key_name, rr.key_name_len);
	ctx->key_name_len = rr.key_name_len;
	memcpy(ctx->alg_name, rr.alg_name, rr.alg_name_len);
	ctx->alg_name_len = rr.alg_name_len;
	ctx->time_signed = rr.time_signed;
	ctx->fudge = rr.fudge;
	ctx->orig_id = rr.orig_id;

	/* 5.2.1: the key, by name and algorithm */
	enum fg_tsig_alg alg = alg_from_wire(rr.alg_name, rr.alg_name_len);
	const fg_tsig_key_t *key = NULL;
	for (size_t i = 0; alg && i < nkeys && !key; i++)
		if (keys[i].alg == alg && keys[i].name_len == rr.key_name_len &&
		    !memcmp(keys[i].name, rr.key_name, rr.key_name_len))
			key = &keys[i];
	if (!key) {
		ctx->error = FG_TSIG_BADKEY;
		return FG_TSIG_REFUSE;
	}
	/* 5.2.2.1: MAC length bounds are a format error */
	size_t full = fg_tsig_alg_maclen(alg);
	if (!mac_len_ok(rr.mac_len, full))
		return FG_TSIG_FORMERR;

	/* 5.2.2: the MAC, over the message as it was before signing */
	uint8_t want[FG_TSIG_MAC_MAX];
	uint16_t ar = (uint16_t)((msg[10] << 8) | msg[11]);
	tsig_vars_t v = { rr.key_name, rr.key_name_len, rr.alg_name, rr.alg_name_len,
			  rr.time_signed, rr.fudge, rr.error, rr.other_len, NULL };
	/* Other Data ends the RR, which ends the message (the TSIG is last) */
	v.other = msg + len - rr.other_len;
	int ml = tsig_mac(key, NULL, 0, false, msg, rr.offset, rr.orig_id, (uint16_t)(ar - 1),
			  &v, want);
	if (ml < 0 || CRYPTO_memcmp(want, rr.mac, rr.mac_len) != 0) {
		OPENSSL_cleanse(want, sizeof(want));
		ctx->error = FG_TSIG_BADSIG;
		return FG_TSIG_REFUSE;
	}
	OPENSSL_cleanse(want, sizeof(want));
	ctx->key = key;
	memcpy(ctx->req_mac, rr.mac, rr.mac_len);
	ctx->req_mac_len = rr.mac_len;
	/* a correct MAC shorter than ours: refused by local policy */
	if (rr.mac_len < full) {
		ctx->error = FG_TSIG_BADTRUNC;
		return FG_TSIG_REFUSE;
	}
	/* 5.2.3: the time window */
	if (!time_ok(now, rr.time_signed, rr.fudge)) {
		ctx->error = FG_TSIG_BADTIME;
		return FG_TSIG_REFUSE;
	}
	return FG_TSIG_OK;
}

size_t fg_tsig_response_size(const fg_tsig_ctx_t *ctx)
{
	if (!ctx || !ctx->present)
		return 0;
	size_t mac = 0;
	if (ctx->key && ctx->error != FG_TSIG_BADKEY && ctx->error != FG_TSIG_BADSIG)
		mac = fg_tsig_alg_maclen(ctx->key->alg);
	/* owner + type/class/ttl/rdlen + alg + time/fudge/maclen + mac +
	 * orig id/error/other len + other (BADTIME: our time, 6) */
	size_t other = ctx->key && ctx->error == FG_TSIG_BADTIME ? 6u : 0u;
	return ctx->key_name_len + 10u + ctx->alg_name_len + 10u + mac + 6u + other;
}

int fg_tsig_sign_response(uint8_t *msg, size_t len, size_t cap,
			  const fg_tsig_ctx_t *ctx, uint64_t now)
{
	uint8_t other[6], mac[FG_TSIG_MAC_MAX];

	if (!ctx || !ctx->present || len < FG_DNS_HDRLEN)
		return -EINVAL;
	tsig_vars_t v = { ctx->key_name, ctx->key_name_len, ctx->alg_name, ctx->alg_name_len,
			  now, FG_TSIG_FUDGE, ctx->error, 0, other };
	uint16_t id = (uint16_t)((msg[0] << 8) | msg[1]);
	/* 5.3.2: errors about the key or the MAC go back unsigned */
	if (!ctx->key || ctx->error == FG_TSIG_BADKEY || ctx->error == FG_TSIG_BADSIG)
		return put_tsig(msg, len, cap, &v, NULL, 0, ctx->orig_id ? ctx->orig_id : id);
	if (ctx->error == FG_TSIG_BADTIME) {
		/* the request's time signed, our clock in Other Data */
		v.time_signed = ctx->time_signed;
		put_u48(other, now);
		v.other_len = 6;
	}
	uint16_t ar = (uint16_t)((msg[10] << 8) | msg[11]);
	int ml = tsig_mac(ctx->key, ctx->req_mac, ctx->req_mac_len, true, msg, len, id, ar,
			  &v, mac);
	if (ml < 0)
		return ml;
	int rc = put_tsig(msg, len, cap, &v, mac, (size_t)ml, id);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* ---- client side ---------------------------------------------------- */

int fg_tsig_sign_request(uint8_t *msg, size_t len, size_t cap,
			 const fg_tsig_key_t *key, uint64_t now, uint16_t fudge,
			 fg_tsig_ctx_t *ctx)
{
	uint8_t mac[FG_TSIG_MAC_MAX];
	size_t alen;

	memset(ctx, 0, sizeof(*ctx));
	if (!key || len < FG_DNS_HDRLEN || !key->name_len)
		return -EINVAL;
	const uint8_t *aw = alg_wire(key->alg, &alen);
	if (!aw)
		return -EINVAL;
	uint16_t id = (uint16_t)((msg[0] << 8) | msg[1]);
	uint16_t ar = (uint16_t)((msg[10] << 8) | msg[11]);
	tsig_vars_t v = { key->name, key->name_len, aw, alen, now,
			  fudge ? fudge : FG_TSIG_FUDGE, 0, 0, NULL };
	int ml = tsig_mac(key, NULL, 0, false, msg, len, id, ar, &v, mac);
	if (ml < 0)
		return ml;
	int rc = put_tsig(msg, len, cap, &v, mac, (size_t)ml, id);
	if (rc >= 0) {
		ctx->present = true;
		ctx->key = key;
		memcpy(ctx->key_name, key->name, key->name_len);
		ctx->key_name_len = key->name_len;
		memcpy(ctx->alg_name, aw, alen);
		ctx->alg_name_len = (uint8_t)alen;
		memcpy(ctx->req_mac, mac, (size_t)ml);
		ctx->req_mac_len = (uint16_t)ml;
		ctx->time_signed = now;
		ctx->fudge = v.fudge;
		ctx->orig_id = id;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int fg_tsig_verify_response(const uint8_t *msg, size_t len, const fg_tsig_ctx_t *ctx,
			    uint64_t now, uint16_t *tsig_error, uint64_t *server_time)
{
	fg_tsig_rr_t rr;
	uint16_t dummy;

	if (!tsig_error)
		tsig_error = &dummy;
	*tsig_error = FG_TSIG_NOERROR;
	if (!ctx || !ctx->key)
		return -EINVAL;
	int f = fg_tsig_find(msg, len, &rr);
	if (f <= 0)
		return f < 0 ? f : -FG_EMALF;
	if (rr.key_name_len != ctx->key_name_len ||
	    memcmp(rr.key_name, ctx->key_name, rr.key_name_len) ||
	    alg_from_wire(rr.alg_name, rr.alg_name_len) != ctx->key->alg) {
		*tsig_error = FG_TSIG_BADKEY;
		return -FG_EAUTH;
	}
	if (rr.mac_len == 0 && rr.error != FG_TSIG_NOERROR) {
		/* the unsigned error form: what the server says, unproven */
		*tsig_error = rr.error;
		return -FG_EAUTH;
	}
	size_t full = fg_tsig_alg_maclen(ctx->key->alg);
	if (!mac_len_ok(rr.mac_len, full))
		return -FG_EMALF;
	uint8_t want[FG_TSIG_MAC_MAX];
	uint16_t ar = (uint16_t)((msg[10] << 8) | msg[11]);
	tsig_vars_t v = { rr.key_name, rr.key_name_len, rr.alg_name, rr.alg_name_len,
			  rr.time_signed, rr.fudge, rr.error, rr.other_len,
			  msg + len - rr.other_len };
	int ml = tsig_mac(ctx->key, ctx->req_mac, ctx->req_mac_len, true, msg, rr.offset,
			  rr.orig_id, (uint16_t)(ar - 1), &v, want);
	bool ok = ml >= 0 && CRYPTO_memcmp(want, rr.mac, rr.mac_len) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok) {
		*tsig_error = FG_TSIG_BADSIG;
		return -FG_EAUTH;
	}
	if (rr.mac_len < full) {
		*tsig_error = FG_TSIG_BADTRUNC;
		return -FG_EAUTH;
	}
	if (rr.error != FG_TSIG_NOERROR) {
		*tsig_error = rr.error;
		if (rr.error == FG_TSIG_BADTIME && rr.other_len == 6 && server_time)
			*server_time = get_u48(rr.other);
		return -FG_EAUTH;
	}
	if (!time_ok(now, rr.time_signed, rr.fudge)) {
		*tsig_error = FG_TSIG_BADTIME;
		return -FG_EAUTH;
	}
	return 0;
}
