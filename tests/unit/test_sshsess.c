/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decoy's SSH server session driven end to end in memory by a client
 * written here from the RFCs (4253, 5656, 4419, 8731, 4252): every key
 * exchange family the session answers (X25519, ECDH P-256, a fixed MODP
 * group, group exchange), every host key type, each cipher kind. The
 * client computes the exchange hash itself and checks the server's
 * signature over it with the host key, derives the keys and talks
 * encrypted: so a wrong hash, key or sequence number fails here, not only
 * against OpenSSH (netns fluxdecoy_ssh). Then user authentication: the
 * events and their fields, sshd's delay (output held until due), the
 * MaxAuthTries disconnect, keyboard-interactive, and the refusals (bad
 * service, re-key, a flipped bit, malformed requests). Finally the
 * clone's probe client (sshprobe.h) against the same session.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sshcipher.h"
#include "decoy/sshkey.h"
#include "decoy/sshprobe.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"
#include "ssh_fixtures.h"

#define CV "SSH-2.0-UnitClient_1.0"
#define SV "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
#define METHODS "publickey,password,keyboard-interactive"

/* ---- the server side: a persona's lists, host keys, output sink ---- */

struct srv {
	char *kx[16], *hk[4], *enc[8], *mac[4], *comp[2];
	fd_strlist_t lists[FD_SSH_NLISTS];
	EVP_PKEY *keys[FD_SSHK_NTYPES];
	fd_ssh_cfg_t cfg;
	fd_ssh_sess_t *s;
	fd_ssh_io_t io;
	/* server output not yet read by the client */
	uint8_t out[65536];
	size_t outlen, outoff;
	/* events */
	char ev[32][32];
	json_t *evf[32];
	size_t nev;
};

static int srv_out(void *ctx, const uint8_t *p, size_t n)
{
	struct srv *v = ctx;

	assert_true(v->outlen + n <= sizeof(v->out));
	memcpy(v->out + v->outlen, p, n);
	v->outlen += n;
	return 0;
}

static void srv_event(void *ctx, const char *ev, json_t *f)
{
	struct srv *v = ctx;

	assert_true(v->nev < 32);
	snprintf(v->ev[v->nev], sizeof(v->ev[0]), "%s", ev);
	v->evf[v->nev++] = f;
}

/* the last event named `name`, or NULL */
static json_t *last_event(struct srv *v, const char *name)
{
	for (size_t i = v->nev; i-- > 0;)
		if (strcmp(v->ev[i], name) == 0)
			return v->evf[i];
	return NULL;
}

static const char *ev_str(json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key));
}

static size_t split(char *dst[], size_t max, const char *csv, char *store, size_t cap)
{
	size_t n = 0;

	snprintf(store, cap, "%s", csv);
	for (char *t = strtok(store, ","); t && n < max; t = strtok(NULL, ","))
		dst[n++] = t;
	return n;
}

/* One key per type for the whole run: ECDSA and RSA are ssh-keygen's
 * (ssh_fixtures.h: their fingerprints are known), ed25519 a fresh one. */
static EVP_PKEY *key_cache[FD_SSHK_NTYPES];

static EVP_PKEY *host_key(int t)
{
	char err[200];

	if (key_cache[t])
		return key_cache[t];
	if (t == FD_SSHK_ED25519) {
		key_cache[t] = fd_sshkey_generate(t);
	} else {
		const char *pem = t == FD_SSHK_RSA ? KEY_RSA : KEY_ECDSA;
		assert_int_equal(fd_sshkey_parse((const uint8_t *)pem, strlen(pem), &key_cache[t],
						 err, sizeof(err)), 0);
	}
	assert_non_null(key_cache[t]);
	return key_cache[t];
}

static int free_keys(void **st)
{
	(void)st;
	for (int t = 0; t < FD_SSHK_NTYPES; t++)
		EVP_PKEY_free(key_cache[t]);
	return 0;
}

static char kxbuf[1024], hkbuf[256], encbuf[512], macbuf[256];

static void srv_init(struct srv *v, const char *kex, const char *hostkeys, const char *ciphers,
		     const char *macs, unsigned max_tries, uint32_t delay, const char *sigalgs)
{
	static char comp[] = "none";

	memset(v, 0, sizeof(*v));
	v->lists[0].n = split(v->kx, 16, kex, kxbuf, sizeof(kxbuf));
	v->lists[1].n = split(v->hk, 4, hostkeys, hkbuf, sizeof(hkbuf));
	v->lists[2].n = v->lists[3].n = split(v->enc, 8, ciphers, encbuf, sizeof(encbuf));
	v->lists[4].n = v->lists[5].n = split(v->mac, 4, macs, macbuf, sizeof(macbuf));
	v->comp[0] = comp;
	v->lists[6].n = v->lists[7].n = 1;
	v->lists[0].v = v->kx;
	v->lists[1].v = v->hk;
	v->lists[2].v = v->lists[3].v = v->enc;
	v->lists[4].v = v->lists[5].v = v->mac;
	v->lists[6].v = v->lists[7].v = v->comp;
	for (size_t i = 0; i < v->lists[1].n; i++) {
		int t = fd_sshk_type_of_alg(v->hk[i]);
		if (t >= 0)   /* else a name the decoy has no key for */
			v->keys[t] = host_key(t);
	}
	v->cfg = (fd_ssh_cfg_t){ .version = SV, .kex = v->lists, .auth_methods = METHODS,
				 .max_auth_tries = max_tries, .auth_delay_ms = delay,
				 .server_sig_algs = sigalgs };
	for (int t = 0; t < FD_SSHK_NTYPES; t++)
		v->cfg.hostkey[t] = v->keys[t];
	v->io = (fd_ssh_io_t){ v, srv_out, srv_event };
	assert_int_equal(fd_ssh_sess_new(&v->cfg, &v->s), 0);
}

static void srv_free(struct srv *v)
{
	fd_ssh_sess_free(v->s);
	for (size_t i = 0; i < v->nev; i++)
		json_decref(v->evf[i]);
}

/* ---- the client ---- */

struct cli {
	struct srv *v;
	fd_ssh_dir_t tx, rx;
	uint8_t ic[2048], is[4096];
	size_t iclen, islen;
	const char *kex, *hkalg, *enc, *mac;
	uint8_t scratch[40000];
	uint64_t now;
	int last_rc;
};

/* Feed client bytes to the session; the session must take all of them. */
static int feed(struct cli *c, const uint8_t *p, size_t n)
{
	size_t used = 0;
	int rc = fd_ssh_sess_input(c->v->s, p, n, c->now, &c->v->io, &used);

	c->last_rc = rc;
	if (rc >= 0 && !fd_ssh_sess_due(c->v->s))
		assert_int_equal(used, n);
	return rc;
}

static int send_msg(struct cli *c, const uint8_t *pl, size_t n)
{
	uint8_t pkt[40000];
	int m = fd_ssh_seal(&c->tx, pl, n, pkt, sizeof(pkt));

	assert_true(m > 0);
	return feed(c, pkt, (size_t)m);
}

static int send_wire(struct cli *c, fg_wire_t *w)
{
	assert_int_equal(w->err, 0);
	return send_msg(c, w->buf, w->pos);
}

/* Next server message: its payload (in c->scratch) and type, or -1. */
static int recv_msg(struct cli *c, const uint8_t **pl, size_t *n)
{
	struct srv *v = c->v;
	int r = fd_ssh_open(&c->rx, v->out + v->outoff, v->outlen - v->outoff, c->scratch,
			    sizeof(c->scratch), pl, n);
	if (r == -EAGAIN)
		return -1;
	assert_true(r > 0);
	v->outoff += (size_t)r;
	assert_true(*n > 0);
	return (*pl)[0];
}

/* The next message must be of type t. */
static fg_wire_t expect(struct cli *c, int t)
{
	const uint8_t *pl = NULL;
	size_t n = 0;
	int got = recv_msg(c, &pl, &n);

	assert_int_equal(got, t);
	fg_wire_t r = fg_wire_init(pl, n);
	fg_wire_skip(&r, 1);
	return r;
}

static void hash_bytes(EVP_MD_CTX *mc, const uint8_t *p, size_t n)
{
	assert_int_equal(EVP_DigestUpdate(mc, p, n), 1);
}

/* Version lines and KEXINITs; `guess`: first_kex_packet_follows set, with
 * a wrong guess packet sent after the KEXINIT (the session must skip it). */
static void c_hello(struct cli *c, struct srv *v, const char *kex, const char *hkalg,
		    const char *enc, const char *mac, bool guess)
{
	uint8_t buf[2048] = { 0 };
	char kexlist[256];

	memset(c, 0, sizeof(*c));
	c->v = v;
	c->kex = kex;
	c->hkalg = hkalg;
	c->enc = enc;
	c->mac = fd_ssh_cipher_aead(enc) ? NULL : mac;
	c->tx.bs = c->rx.bs = 8;
	c->now = 1000;
	/* version line, then KEXINIT: a guessed method first when `guess` */
	snprintf(kexlist, sizeof(kexlist), "%s%s,ext-info-c,kex-strict-c-v00@openssh.com",
		 guess ? "diffie-hellman-group1-sha1," : "", kex);
	fg_wire_t w = fg_wire_init(c->ic, sizeof(c->ic));
	fg_wire_write_u8(&w, 20);
	fg_wire_write(&w, "0123456789abcdef", 16);
	fd_ssh_wr_cstr(&w, kexlist);
	fd_ssh_wr_cstr(&w, hkalg);
	fd_ssh_wr_cstr(&w, enc);
	fd_ssh_wr_cstr(&w, enc);
	fd_ssh_wr_cstr(&w, mac ? mac : "hmac-sha2-256");
	fd_ssh_wr_cstr(&w, mac ? mac : "hmac-sha2-256");
	fd_ssh_wr_cstr(&w, "none,zlib@openssh.com");
	fd_ssh_wr_cstr(&w, "none");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	fg_wire_write_u8(&w, guess);
	fg_wire_write_u32(&w, 0);
	assert_int_equal(w.err, 0);
	c->iclen = w.pos;
	assert_int_equal(feed(c, (const uint8_t *)CV "\r\n", strlen(CV) + 2), FD_SSH_MORE);
	assert_string_equal(v->ev[0], "ssh");
	assert_string_equal(ev_str(v->evf[0], "client_version"), CV);
	assert_int_equal(send_msg(c, c->ic, c->iclen), FD_SSH_MORE);
	json_t *ki = last_event(v, "ssh_kexinit");
	assert_non_null(ki);
	assert_string_equal(ev_str(ki, "kex_algorithms"), kexlist);
	assert_string_equal(ev_str(ki, "host_key_algorithms"), hkalg);
	if (guess) {   /* a KEX_ECDH_INIT for the guessed method: wasted */
		w = fg_wire_init(buf, sizeof(buf));
		fg_wire_write_u8(&w, 30);
		fd_ssh_wr_str(&w, "junk", 4);
		assert_int_equal(send_wire(c, &w), FD_SSH_MORE);
	}
	/* the server's KEXINIT: its lists as configured */
	const uint8_t *pl = NULL;
	size_t n = 0;
	assert_int_equal(recv_msg(c, &pl, &n), 20);
	assert_true(n <= sizeof(c->is));
	memcpy(c->is, pl, n);
	c->islen = n;
	fd_strlist_t sl[FD_SSH_NLISTS];
	assert_int_equal(fd_ssh_kexinit_parse(pl, n, sl), 0);
	assert_int_equal(sl[0].n, v->lists[0].n);
	assert_string_equal(sl[0].v[0], v->lists[0].v[0]);
	for (int i = 0; i < FD_SSH_NLISTS; i++)
		fd_strlist_free(&sl[i]);
}

/* Check the server's signature blob over h with the host key it used. */
static void check_sig(struct cli *c, const uint8_t *ks, size_t kn, const uint8_t *sg,
		      size_t sn, const uint8_t *h, size_t hl)
{
	int t = fd_sshk_type_of_alg(c->hkalg);
	EVP_PKEY *key = c->v->keys[t];
	uint8_t blob[2048];
	int bl = fd_sshkey_blob(key, blob, sizeof(blob));

	assert_int_equal((size_t)bl, kn);
	assert_memory_equal(blob, ks, kn);
	fg_wire_t r = fg_wire_init(sg, sn);
	size_t an, rn;
	const uint8_t *alg = fd_ssh_rd_str(&r, &an);
	const uint8_t *raw = fd_ssh_rd_str(&r, &rn);
	assert_int_equal(r.err, 0);
	assert_true(fd_ssh_str_is(alg, an, c->hkalg));

	const EVP_MD *md = NULL;
	uint8_t der[256];
	const uint8_t *sig = raw;
	size_t siglen = rn;
	if (t == FD_SSHK_ECDSA256) {
		/* string(mpint r || mpint s) -> DER */
		fg_wire_t e = fg_wire_init(raw, rn);
		size_t l1, l2;
		const uint8_t *rb = fd_ssh_rd_str(&e, &l1), *sb = fd_ssh_rd_str(&e, &l2);
		assert_int_equal(e.err, 0);
		ECDSA_SIG *es = ECDSA_SIG_new();
		assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(rb, (int)l1, NULL),
						BN_bin2bn(sb, (int)l2, NULL)), 1);
		uint8_t *dp = der;
		int dl = i2d_ECDSA_SIG(es, &dp);
		ECDSA_SIG_free(es);
		assert_true(dl > 0);
		sig = der;
		siglen = (size_t)dl;
		md = EVP_sha256();
	} else if (t == FD_SSHK_RSA) {
		md = strcmp(c->hkalg, "rsa-sha2-512") == 0 ? EVP_sha512() : EVP_sha256();
	}
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(mc, NULL, md, NULL, key), 1);
	assert_int_equal(EVP_DigestVerify(mc, sig, siglen, h, hl), 1);
	EVP_MD_CTX_free(mc);
}

static const EVP_MD *kex_md(const char *kex)
{
	if (strstr(kex, "sha512") || strcmp(kex, "ecdh-sha2-nistp521") == 0)
		return EVP_sha512();
	if (strcmp(kex, "ecdh-sha2-nistp384") == 0)
		return EVP_sha384();
	if (strstr(kex, "sha1"))
		return EVP_sha1();
	return EVP_sha256();
}

/* DH with p, g: e = g^x mod p; returns x (caller frees). */
static BIGNUM *dh_pick(const BIGNUM *p, const BIGNUM *g, uint8_t *e, size_t *en, BN_CTX *bc)
{
	BIGNUM *x = BN_new(), *eb = BN_new();

	assert_int_equal(BN_rand(x, 256, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), 1);
	assert_int_equal(BN_mod_exp(eb, g, x, p, bc), 1);
	*en = (size_t)BN_bn2bin(eb, e);
	BN_free(eb);
	return x;
}

static void named_group(const char *name, BIGNUM **p, BIGNUM **g)
{
	OSSL_PARAM gp[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
		OSSL_PARAM_construct_end()
	};
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *params = NULL;

	assert_int_equal(EVP_PKEY_paramgen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_params(pc, gp), 1);
	assert_int_equal(EVP_PKEY_generate(pc, &params), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, p), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_G, g), 1);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(pc);
}

/* The key exchange proper, NEWKEYS both ways, the server's EXT_INFO. */
static void c_kex(struct cli *c)
{
	const EVP_MD *md = kex_md(c->kex);
	uint8_t pl[4096], qc[1100], kenc[1100], gexhdr[2200];
	size_t qcn = 0, kn = 0, gexn = 0;
	fg_wire_t w = fg_wire_init(pl, sizeof(pl));
	EVP_PKEY *eph = NULL;
	BIGNUM *p = NULL, *g = NULL, *x = NULL;
	BN_CTX *bc = BN_CTX_new();
	bool dhk = strstr(c->kex, "diffie-hellman") != NULL;
	bool gex = strstr(c->kex, "group-exchange") != NULL;

	if (gex) {
		/* min, n, max: 2048 is the group nearest 2000 within bounds */
		fg_wire_write_u8(&w, 34);
		fg_wire_write_u32(&w, 1024);
		fg_wire_write_u32(&w, 2000);
		fg_wire_write_u32(&w, 8192);
		assert_int_equal(send_wire(c, &w), FD_SSH_MORE);
		fg_wire_t r = expect(c, 31);
		size_t pn, gn;
		const uint8_t *pb = fd_ssh_rd_str(&r, &pn), *gb = fd_ssh_rd_str(&r, &gn);
		assert_int_equal(r.err, 0);
		assert_int_equal(fg_wire_avail(&r), 0);
		p = BN_bin2bn(pb, (int)pn, NULL);
		g = BN_bin2bn(gb, (int)gn, NULL);
		assert_int_equal(BN_num_bits(p), 2048);
		fg_wire_t hw = fg_wire_init(gexhdr, sizeof(gexhdr));
		fg_wire_write_u32(&hw, 1024);
		fg_wire_write_u32(&hw, 2000);
		fg_wire_write_u32(&hw, 8192);
		fd_ssh_wr_str(&hw, pb, pn);
		fd_ssh_wr_str(&hw, gb, gn);
		gexn = hw.pos;
	} else if (dhk) {
		named_group("modp_2048", &p, &g);
	}
	w = fg_wire_init(pl, sizeof(pl));
	fg_wire_write_u8(&w, gex ? 32 : 30);
	if (dhk) {
		uint8_t e[1100];
		size_t en;
		x = dh_pick(p, g, e, &en, bc);
		fg_wire_t qw = fg_wire_init(qc, sizeof(qc));
		fd_ssh_wr_mpint(&qw, e, en);
		/* Q_C in the hash: the mpint's bytes, as a string */
		memmove(qc, qc + 4, qw.pos - 4);
		qcn = qw.pos - 4;
		fd_ssh_wr_str(&w, qc, qcn);
	} else if (strncmp(c->kex, "curve25519", 10) == 0) {
		eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		qcn = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(eph, qc, &qcn), 1);
		fd_ssh_wr_str(&w, qc, qcn);
	} else {
		const char *curve = strstr(c->kex, "nistp256") ? "P-256"
				    : strstr(c->kex, "nistp384") ? "P-384" : "P-521";
		eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
		assert_int_equal(EVP_PKEY_get_octet_string_param(eph,
				 OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, qc, sizeof(qc), &qcn), 1);
		fd_ssh_wr_str(&w, qc, qcn);
	}
	assert_int_equal(send_wire(c, &w), FD_SSH_MORE);

	/* the reply: K_S, Q_S (f), signature */
	fg_wire_t r = expect(c, gex ? 33 : 31);
	size_t kslen, qsn, sgn;
	const uint8_t *ks = fd_ssh_rd_str(&r, &kslen);
	const uint8_t *qs = fd_ssh_rd_str(&r, &qsn);
	const uint8_t *sg = fd_ssh_rd_str(&r, &sgn);
	assert_int_equal(r.err, 0);
	assert_int_equal(fg_wire_avail(&r), 0);
	uint8_t sec[1100];
	size_t sl = sizeof(sec);
	if (dhk) {
		BIGNUM *f = BN_bin2bn(qs, (int)qsn, NULL), *k = BN_new();
		assert_int_equal(BN_mod_exp(k, f, x, p, bc), 1);
		sl = (size_t)BN_bn2bin(k, sec);
		BN_free(f);
		BN_free(k);
	} else {
		EVP_PKEY *peer;
		if (!EVP_PKEY_is_a(eph, "X25519")) {
			char curve[16];
			assert_int_equal(EVP_PKEY_get_utf8_string_param(eph,
					 OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve), NULL), 1);
			OSSL_PARAM pp[3] = {
				OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, curve, 0),
				OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
								  (void *)qs, qsn),
				OSSL_PARAM_construct_end()
			};
			EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
			peer = NULL;
			assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
			assert_int_equal(EVP_PKEY_fromdata(fc, &peer, EVP_PKEY_PUBLIC_KEY, pp), 1);
			EVP_PKEY_CTX_free(fc);
		} else {
			assert_int_equal(qsn, 32);
			peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, qs, 32);
		}
		EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(eph, NULL);
		assert_int_equal(EVP_PKEY_derive_init(dc), 1);
		assert_int_equal(EVP_PKEY_derive_set_peer(dc, peer), 1);
		assert_int_equal(EVP_PKEY_derive(dc, sec, &sl), 1);
		EVP_PKEY_CTX_free(dc);
		EVP_PKEY_free(peer);
	}
	fg_wire_t kw = fg_wire_init(kenc, sizeof(kenc));
	fd_ssh_wr_mpint(&kw, sec, sl);
	kn = kw.pos;

	/* H = HASH(V_C || V_S || I_C || I_S || K_S || [gex] || Q_C || Q_S || K) */
	uint8_t h[64];
	unsigned hl = 0;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestInit_ex(mc, md, NULL), 1);
	fd_ssh_hash_str(mc, (const uint8_t *)CV, strlen(CV));
	fd_ssh_hash_str(mc, (const uint8_t *)SV, strlen(SV));
	fd_ssh_hash_str(mc, c->ic, c->iclen);
	fd_ssh_hash_str(mc, c->is, c->islen);
	fd_ssh_hash_str(mc, ks, kslen);
	hash_bytes(mc, gexhdr, gexn);
	fd_ssh_hash_str(mc, qc, qcn);
	fd_ssh_hash_str(mc, qs, qsn);
	hash_bytes(mc, kenc, kn);
	assert_int_equal(EVP_DigestFinal_ex(mc, h, &hl), 1);
	EVP_MD_CTX_free(mc);
	check_sig(c, ks, kslen, sg, sgn, h, hl);

	json_t *kx = last_event(c->v, "ssh_kex");
	assert_non_null(kx);
	assert_string_equal(ev_str(kx, "kex"), c->kex);
	assert_string_equal(ev_str(kx, "host_key"), c->hkalg);
	assert_string_equal(ev_str(kx, "cipher"), c->enc);
	assert_true(json_is_true(json_object_get(kx, "strict")));
	char fp[64];
	fd_ssh_fingerprint(ks, kslen, fp);
	assert_string_equal(ev_str(kx, "host_key_fingerprint"), fp);
	int kt = fd_sshk_type_of_alg(c->hkalg);
	if (kt != FD_SSHK_ED25519)   /* what ssh-keygen -l prints for that key */
		assert_string_equal(fp, kt == FD_SSHK_RSA ? FP_RSA : FP_ECDSA);

	/* keys A..F (RFC 4253 7.2): A/C/E client to server */
	uint8_t keys[6][64];
	size_t need[6] = { fd_ssh_cipher_ivlen(c->enc), fd_ssh_cipher_ivlen(c->enc),
			   fd_ssh_cipher_keylen(c->enc), fd_ssh_cipher_keylen(c->enc),
			   c->mac ? fd_ssh_mac_keylen(c->mac) : 0,
			   c->mac ? fd_ssh_mac_keylen(c->mac) : 0 };
	memset(keys, 0, sizeof(keys));
	for (int i = 0; i < 6; i++)
		if (need[i])
			assert_int_equal(fd_ssh_derive_key(md, kenc, kn, h, hl, (char)('A' + i),
							   h, hl, keys[i], need[i]), 0);
	/* NEWKEYS from the server, then ours; strict KEX resets both counters */
	expect(c, 21);
	assert_int_equal(fd_ssh_dir_set(&c->rx, c->enc, c->mac, keys[3], keys[1], keys[5],
					false), 0);
	c->rx.seq = 0;
	uint8_t nk = 21;
	assert_int_equal(send_msg(c, &nk, 1), FD_SSH_MORE);
	assert_int_equal(fd_ssh_dir_set(&c->tx, c->enc, c->mac, keys[2], keys[0], keys[4],
					true), 0);
	c->tx.seq = 0;
	/* EXT_INFO (we sent ext-info-c, the persona has server-sig-algs) */
	r = expect(c, 7);
	assert_int_equal(fg_wire_read_u32(&r), 2);
	size_t l;
	const uint8_t *nm = fd_ssh_rd_str(&r, &l);
	assert_true(fd_ssh_str_is(nm, l, "server-sig-algs"));
	nm = fd_ssh_rd_str(&r, &l);
	assert_true(fd_ssh_str_is(nm, l, c->v->cfg.server_sig_algs));

	EVP_PKEY_free(eph);
	BN_free(p);
	BN_free(g);
	BN_clear_free(x);
	BN_CTX_free(bc);
}

static int c_service(struct cli *c, const char *name)
{
	uint8_t pl[256] = { 0 };
	fg_wire_t w = fg_wire_init(pl, sizeof(pl));

	fg_wire_write_u8(&w, 5);
	fd_ssh_wr_cstr(&w, name);
	return send_wire(c, &w);
}

static void auth_head(fg_wire_t *w, const char *user, const char *method)
{
	fg_wire_write_u8(w, 50);
	fd_ssh_wr_cstr(w, user);
	fd_ssh_wr_cstr(w, "ssh-connection");
	fd_ssh_wr_cstr(w, method);
}

static int c_password(struct cli *c, const char *user, const char *pw, const char *newpw)
{
	uint8_t pl[512] = { 0 };
	fg_wire_t w = fg_wire_init(pl, sizeof(pl));

	auth_head(&w, user, "password");
	fg_wire_write_u8(&w, newpw != NULL);
	fd_ssh_wr_cstr(&w, pw);
	if (newpw)
		fd_ssh_wr_cstr(&w, newpw);
	return send_wire(c, &w);
}

/* USERAUTH_FAILURE with the persona's methods */
static void expect_failure(struct cli *c)
{
	fg_wire_t r = expect(c, 51);
	size_t l;
	const uint8_t *m = fd_ssh_rd_str(&r, &l);
	assert_true(fd_ssh_str_is(m, l, METHODS));
	assert_int_equal(fg_wire_read_u8(&r), 0);
}

/* ---- tests ---- */

/* Each KEX family, host key type and cipher kind: the hash, signature,
 * keys and encrypted packets check out both ways. */
static void test_kex_matrix(void **st)
{
	static const struct {
		const char *kex, *hk, *enc, *mac;
		bool guess;
	} cases[] = {
		{ "curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com", NULL, false },
		{ "curve25519-sha256@libssh.org", "ecdsa-sha2-nistp256", "aes128-gcm@openssh.com",
		  NULL, true },
		{ "ecdh-sha2-nistp256", "rsa-sha2-256", "aes256-ctr", "hmac-sha2-256-etm@openssh.com",
		  false },
		{ "ecdh-sha2-nistp384", "rsa-sha2-512", "aes128-ctr", "hmac-sha2-512", false },
		{ "ecdh-sha2-nistp521", "ssh-ed25519", "aes256-gcm@openssh.com", NULL, false },
		{ "diffie-hellman-group14-sha256", "ssh-ed25519", "aes192-ctr", "hmac-sha1", false },
		{ "diffie-hellman-group-exchange-sha256", "ecdsa-sha2-nistp256",
		  "chacha20-poly1305@openssh.com", NULL, false },
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srv v;
		struct cli c;
		srv_init(&v, "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
			 "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
			 "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
			 "diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com",
			 "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
			 "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
			 "aes128-ctr,aes192-ctr,aes256-ctr",
			 "hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256,hmac-sha1",
			 6, 0, "ssh-ed25519,rsa-sha2-256");
		c_hello(&c, &v, cases[i].kex, cases[i].hk, cases[i].enc, cases[i].mac,
			cases[i].guess);
		c_kex(&c);
		/* encrypted from here: the service and a "none" probe */
		assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
		fg_wire_t r = expect(&c, 6);
		size_t l;
		const uint8_t *nm = fd_ssh_rd_str(&r, &l);
		assert_true(fd_ssh_str_is(nm, l, "ssh-userauth"));
		uint8_t pl[128] = { 0 };
		fg_wire_t w = fg_wire_init(pl, sizeof(pl));
		auth_head(&w, "root", "none");
		assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
		expect_failure(&c);
		json_t *a = last_event(&v, "ssh_auth");
		assert_non_null(a);
		assert_string_equal(ev_str(a, "method"), "none");
		assert_int_equal(json_integer_value(json_object_get(a, "attempt")), 0);
		/* the client closes */
		w = fg_wire_init(pl, sizeof(pl));
		fg_wire_write_u8(&w, 1);
		fg_wire_write_u32(&w, 11);
		fd_ssh_wr_cstr(&w, "bye");
		fd_ssh_wr_cstr(&w, "");
		assert_int_equal(send_wire(&c, &w), FD_SSH_DONE);
		assert_int_equal(fd_ssh_sess_release(v.s, &v.io), FD_SSH_DONE);
		fd_ssh_dir_reset(&c.tx);
		fd_ssh_dir_reset(&c.rx);
		srv_free(&v);
	}
}

static void start(struct srv *v, struct cli *c, unsigned tries, uint32_t delay)
{
	srv_init(v, "curve25519-sha256,kex-strict-s-v00@openssh.com", "ssh-ed25519",
		 "chacha20-poly1305@openssh.com", "hmac-sha2-256", tries, delay, "ssh-ed25519");
	c_hello(c, v, "curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com",
		NULL, false);
	c_kex(c);
}

static void finish(struct srv *v, struct cli *c)
{
	fd_ssh_dir_reset(&c->tx);
	fd_ssh_dir_reset(&c->rx);
	srv_free(v);
}

/* Password, publickey and keyboard-interactive attempts: logged (printable),
 * failed with the real method list after sshd's delay, until MaxAuthTries. */
static void test_auth_flow(void **st)
{
	struct srv v;
	struct cli c;
	const uint8_t *pl = NULL;
	size_t n = 0;
	uint8_t b[1024] = { 0 };

	(void)st;
	start(&v, &c, 4, 250);
	/* a request other than SERVICE_REQUEST first: UNIMPLEMENTED, seq 1 */
	uint8_t ign[] = { 80, 0, 0, 0, 0 };   /* GLOBAL_REQUEST */
	assert_int_equal(send_msg(&c, ign, sizeof(ign)), FD_SSH_MORE);
	fg_wire_t r = expect(&c, 3);
	/* strict KEX: numbering restarts at 0 after NEWKEYS */
	assert_int_equal(fg_wire_read_u32(&r), 0);
	/* IGNORE and DEBUG are skipped once the KEX is over */
	uint8_t ig[] = { 2, 0, 0, 0, 1, 'x' };
	assert_int_equal(send_msg(&c, ig, sizeof(ig)), FD_SSH_MORE);
	assert_int_equal(recv_msg(&c, &pl, &n), -1);
	assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
	expect(&c, 6);

	/* password: the failure waits for the delay */
	c.now = 5000;
	assert_int_equal(c_password(&c, "ad\x01min", "hunter2", NULL), FD_SSH_MORE);
	json_t *a = last_event(&v, "ssh_auth");
	assert_string_equal(ev_str(a, "username"), "ad\\x01min");
	assert_string_equal(ev_str(a, "password"), "hunter2");
	assert_string_equal(ev_str(a, "ssh_service"), "ssh-connection");
	assert_string_equal(ev_str(a, "result"), "failure");
	assert_int_equal(json_integer_value(json_object_get(a, "attempt")), 1);
	assert_int_equal(fd_ssh_sess_due(v.s), 5250);
	assert_int_equal(recv_msg(&c, &pl, &n), -1);   /* nothing yet */
	/* while deferred, input is not consumed */
	size_t used = 99;
	uint8_t more[8] = { 0 };
	assert_int_equal(fd_ssh_sess_input(v.s, more, sizeof(more), 5100, &v.io, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(fd_ssh_sess_release(v.s, &v.io), FD_SSH_MORE);
	assert_int_equal(fd_ssh_sess_due(v.s), 0);
	expect_failure(&c);
	/* nothing deferred: release is a no-op */
	assert_int_equal(fd_ssh_sess_release(v.s, &v.io), FD_SSH_MORE);

	/* password change: both logged */
	assert_int_equal(c_password(&c, "root", "old", "new"), FD_SSH_MORE);
	a = last_event(&v, "ssh_auth");
	assert_string_equal(ev_str(a, "new_password"), "new");
	assert_int_equal(json_integer_value(json_object_get(a, "attempt")), 2);
	assert_int_equal(fd_ssh_sess_release(v.s, &v.io), FD_SSH_MORE);
	expect_failure(&c);

	/* publickey: the key's fingerprint, no delay */
	uint8_t blob[512];
	int bl = fd_sshkey_blob(v.keys[FD_SSHK_ED25519], blob, sizeof(blob));
	fg_wire_t w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "root", "publickey");
	fg_wire_write_u8(&w, 0);
	fd_ssh_wr_cstr(&w, "ssh-ed25519");
	fd_ssh_wr_str(&w, blob, (size_t)bl);
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	assert_int_equal(fd_ssh_sess_due(v.s), 0);
	expect_failure(&c);
	a = last_event(&v, "ssh_auth");
	char fp[64];
	fd_ssh_fingerprint(blob, (size_t)bl, fp);
	assert_string_equal(ev_str(a, "key_fingerprint"), fp);
	assert_string_equal(ev_str(a, "key_type"), "ssh-ed25519");
	assert_true(json_is_false(json_object_get(a, "signed")));

	/* keyboard-interactive: one "Password: " prompt, the responses logged */
	w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "root", "keyboard-interactive");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	size_t nev = v.nev;
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	assert_int_equal(v.nev, nev);   /* logged with the response */
	r = expect(&c, 60);
	size_t l;
	fd_ssh_rd_str(&r, &l);
	fd_ssh_rd_str(&r, &l);
	fd_ssh_rd_str(&r, &l);
	assert_int_equal(fg_wire_read_u32(&r), 1);
	const uint8_t *prompt = fd_ssh_rd_str(&r, &l);
	assert_true(fd_ssh_str_is(prompt, l, "Password: "));
	/* the 4th counted failure (MaxAuthTries 4): the disconnect, delayed */
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 61);
	fg_wire_write_u32(&w, 1);
	fd_ssh_wr_cstr(&w, "letmein");
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	a = last_event(&v, "ssh_auth");
	assert_string_equal(ev_str(a, "method"), "keyboard-interactive");
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "responses"), 0)),
			    "letmein");
	assert_int_equal(json_integer_value(json_object_get(a, "attempt")), 4);
	assert_int_equal(fd_ssh_sess_due(v.s), c.now + 250);
	assert_int_equal(fd_ssh_sess_release(v.s, &v.io), FD_SSH_DONE);
	r = expect(&c, 1);
	assert_int_equal(fg_wire_read_u32(&r), 2);
	const uint8_t *why = fd_ssh_rd_str(&r, &l);
	assert_true(fd_ssh_str_is(why, l, "Too many authentication failures"));
	finish(&v, &c);
}

/* Keyboard-interactive abandoned for another request; too many responses;
 * a method not offered is a plain failure. */
static void test_kbdint_edges(void **st)
{
	struct srv v;
	struct cli c;
	uint8_t b[512] = { 0 };

	(void)st;
	start(&v, &c, 6, 0);
	assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
	expect(&c, 6);
	fg_wire_t w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "u", "keyboard-interactive");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	expect(&c, 60);
	/* anything else while the prompt is open: UNIMPLEMENTED */
	uint8_t gr[] = { 80, 0, 0, 0, 0 };
	assert_int_equal(send_msg(&c, gr, sizeof(gr)), FD_SSH_MORE);
	expect(&c, 3);
	/* the client gives up on the prompt and tries a password */
	assert_int_equal(c_password(&c, "u", "pw", NULL), FD_SSH_MORE);
	expect_failure(&c);
	assert_string_equal(ev_str(last_event(&v, "ssh_auth"), "method"), "password");
	/* a method the persona does not offer */
	w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "u", "hostbased");
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	expect_failure(&c);
	assert_string_equal(ev_str(last_event(&v, "ssh_auth"), "method"), "hostbased");
	/* a re-key is not emulated */
	assert_true(send_msg(&c, c.ic, c.iclen) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "re-key not emulated");
	finish(&v, &c);

	start(&v, &c, 6, 0);
	assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
	expect(&c, 6);
	w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "u", "keyboard-interactive");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	expect(&c, 60);
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 61);
	fg_wire_write_u32(&w, 101);
	assert_true(send_wire(&c, &w) < 0);
	assert_non_null(strstr(ev_str(last_event(&v, "protocol_error"), "message"),
			       "101 responses"));
	finish(&v, &c);

	/* a response cut short */
	start(&v, &c, 6, 0);
	assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
	expect(&c, 6);
	w = fg_wire_init(b, sizeof(b));
	auth_head(&w, "u", "keyboard-interactive");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	assert_int_equal(send_wire(&c, &w), FD_SSH_MORE);
	expect(&c, 60);
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 61);
	fg_wire_write_u32(&w, 2);
	fd_ssh_wr_cstr(&w, "one");
	assert_true(send_wire(&c, &w) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "malformed USERAUTH_INFO_RESPONSE");
	finish(&v, &c);
}

/* Refusals after the key exchange: a service other than ssh-userauth
 * (disconnect 7), a malformed USERAUTH_REQUEST, a flipped bit (MAC). */
static void test_refusals_encrypted(void **st)
{
	struct srv v;
	struct cli c;
	uint8_t b[256] = { 0 }, pkt[512];

	(void)st;
	start(&v, &c, 6, 0);
	assert_int_equal(c_service(&c, "ssh-connection"), FD_SSH_DONE);
	fg_wire_t r = expect(&c, 1);
	assert_int_equal(fg_wire_read_u32(&r), 7);
	finish(&v, &c);

	start(&v, &c, 6, 0);
	assert_int_equal(c_service(&c, "ssh-userauth"), FD_SSH_MORE);
	expect(&c, 6);
	uint8_t bad[] = { 50, 0, 0, 0, 9, 'r' };
	assert_true(send_msg(&c, bad, sizeof(bad)) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "malformed USERAUTH_REQUEST");
	finish(&v, &c);

	start(&v, &c, 6, 0);
	fg_wire_t w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 5);
	fd_ssh_wr_cstr(&w, "ssh-userauth");
	int m = fd_ssh_seal(&c.tx, b, w.pos, pkt, sizeof(pkt));
	pkt[m - 3] ^= 0x40;
	assert_true(feed(&c, pkt, (size_t)m) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "corrupted MAC on input");
	finish(&v, &c);
}

/* Refusals during the key exchange. */
static void test_kex_refusals(void **st)
{
	struct srv v;
	struct cli c;
	uint8_t b[2048] = { 0 };
	fg_wire_t w;

	(void)st;
	/* a share of the wrong size */
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	c_hello(&c, &v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
		false);
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, "short", 5);
	assert_true(send_wire(&c, &w) < 0);
	assert_non_null(strstr(ev_str(last_event(&v, "protocol_error"), "message"),
			       "bad client key share (5 bytes)"));
	srv_free(&v);

	/* the all-zero X25519 point: the shared secret would be zero */
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	c_hello(&c, &v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
		false);
	uint8_t zero[32] = { 0 };
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, zero, 32);
	assert_true(send_wire(&c, &w) < 0);
	srv_free(&v);

	/* an EC point that is not uncompressed, a DH e with the top bit set */
	srv_init(&v, "ecdh-sha2-nistp256,diffie-hellman-group14-sha256", "ssh-ed25519",
		 "aes128-ctr", "hmac-sha2-256", 6, 0, NULL);
	c_hello(&c, &v, "ecdh-sha2-nistp256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
		false);
	uint8_t pt[33] = { 0x02 };
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, pt, sizeof(pt));
	assert_true(send_wire(&c, &w) < 0);
	srv_free(&v);
	srv_init(&v, "diffie-hellman-group14-sha256", "ssh-ed25519", "aes128-ctr",
		 "hmac-sha2-256", 6, 0, NULL);
	c_hello(&c, &v, "diffie-hellman-group14-sha256", "ssh-ed25519", "aes128-ctr",
		"hmac-sha2-256", false);
	uint8_t neg[4] = { 0x80, 1, 2, 3 };
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, neg, sizeof(neg));
	assert_true(send_wire(&c, &w) < 0);
	srv_free(&v);

	/* GEX: bounds out of order, then no group in range; a trailing byte */
	static const uint32_t req[][3] = { { 4096, 2048, 8192 }, { 512, 768, 1024 } };
	static const char *const msg[] = { "malformed KEX_DH_GEX_REQUEST", "no DH group of 512" };
	for (int i = 0; i < 2; i++) {
		srv_init(&v, "diffie-hellman-group-exchange-sha256", "ssh-ed25519", "aes128-ctr",
			 "hmac-sha2-256", 6, 0, NULL);
		c_hello(&c, &v, "diffie-hellman-group-exchange-sha256", "ssh-ed25519",
			"aes128-ctr", "hmac-sha2-256", false);
		w = fg_wire_init(b, sizeof(b));
		fg_wire_write_u8(&w, 34);
		for (int k = 0; k < 3; k++)
			fg_wire_write_u32(&w, req[i][k]);
		assert_true(send_wire(&c, &w) < 0);
		assert_non_null(strstr(ev_str(last_event(&v, "protocol_error"), "message"),
				       msg[i]));
		srv_free(&v);
	}
	/* GEX: an INIT before the group was asked for is out of place */
	srv_init(&v, "diffie-hellman-group-exchange-sha256", "ssh-ed25519", "aes128-ctr",
		 "hmac-sha2-256", 6, 0, NULL);
	c_hello(&c, &v, "diffie-hellman-group-exchange-sha256", "ssh-ed25519", "aes128-ctr",
		"hmac-sha2-256", false);
	uint8_t init[] = { 32, 0, 0, 0, 1, 5 };
	assert_true(send_msg(&c, init, sizeof(init)) < 0);
	assert_non_null(strstr(ev_str(last_event(&v, "protocol_error"), "message"),
			       "unexpected message 32"));
	srv_free(&v);

	/* a trailing byte after the share; an empty packet */
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	c_hello(&c, &v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
		false);
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, zero, 32);
	fg_wire_write_u8(&w, 0);
	assert_true(send_wire(&c, &w) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "malformed KEX_ECDH_INIT");
	srv_free(&v);
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	c_hello(&c, &v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256",
		false);
	assert_true(send_msg(&c, b, 0) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"), "empty packet");
	srv_free(&v);

	/* a client KEXINIT with no host key algorithm the decoy has a key for,
	 * no MAC for a CTR cipher, no compression in common */
	static const struct { const char *hk, *enc, *mac, *err; } bad[] = {
		{ "ssh-dss", "aes128-ctr", "hmac-sha2-256", "no host key algorithm" },
		{ "ssh-ed25519", "aes128-ctr", "umac-64@openssh.com", "no MAC in common" },
	};
	for (int i = 0; i < 2; i++) {
		srv_init(&v, "curve25519-sha256", "ssh-ed25519,ssh-dss", "aes128-ctr",
			 "hmac-sha2-256,umac-64@openssh.com", 6, 0, NULL);
		memset(&c, 0, sizeof(c));
		c.v = &v;
		c.tx.bs = c.rx.bs = 8;
		assert_int_equal(feed(&c, (const uint8_t *)CV "\r\n", strlen(CV) + 2), 0);
		w = fg_wire_init(b, sizeof(b));
		fg_wire_write_u8(&w, 20);
		fg_wire_write(&w, "0123456789abcdef", 16);
		const char *l[10] = { "curve25519-sha256", bad[i].hk, bad[i].enc, bad[i].enc,
				      bad[i].mac, bad[i].mac, "none", "none", "", "" };
		for (int k = 0; k < 10; k++)
			fd_ssh_wr_cstr(&w, l[k]);
		fg_wire_write_u8(&w, 0);
		fg_wire_write_u32(&w, 0);
		assert_true(send_wire(&c, &w) < 0);
		assert_non_null(strstr(ev_str(last_event(&v, "protocol_error"), "message"),
				       bad[i].err));
		srv_free(&v);
	}
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.tx.bs = c.rx.bs = 8;
	assert_int_equal(feed(&c, (const uint8_t *)CV "\r\n", strlen(CV) + 2), 0);
	w = fg_wire_init(b, sizeof(b));
	fg_wire_write_u8(&w, 20);
	fg_wire_write(&w, "0123456789abcdef", 16);
	const char *l[10] = { "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr",
			      "hmac-sha2-256", "hmac-sha2-256", "zlib", "zlib", "", "" };
	for (int k = 0; k < 10; k++)
		fd_ssh_wr_cstr(&w, l[k]);
	fg_wire_write_u8(&w, 0);
	fg_wire_write_u32(&w, 0);
	assert_true(send_wire(&c, &w) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "no matching compression method");
	srv_free(&v);
	/* a KEXINIT cut short */
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.tx.bs = c.rx.bs = 8;
	assert_int_equal(feed(&c, (const uint8_t *)CV "\r\n", strlen(CV) + 2), 0);
	uint8_t cut[] = { 20, 1, 2, 3 };
	assert_true(send_msg(&c, cut, sizeof(cut)) < 0);
	assert_string_equal(ev_str(last_event(&v, "protocol_error"), "message"),
			    "malformed KEXINIT");
	srv_free(&v);
}

/* The version line may come in pieces; a DISCONNECT ends the session. */
static void test_version_and_disconnect(void **st)
{
	struct srv v;
	struct cli c;

	(void)st;
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.tx.bs = c.rx.bs = 8;
	size_t used = 1;
	assert_int_equal(fd_ssh_sess_input(v.s, (const uint8_t *)"SSH-2.0-a", 9, 0, &v.io,
					   &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(v.outlen, 0);     /* no KEXINIT before the version */
	assert_int_equal(feed(&c, (const uint8_t *)"SSH-2.0-a\r\n", 11), 0);
	assert_true(v.outlen > 0);
	uint8_t d[] = { 1, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(send_msg(&c, d, sizeof(d)), FD_SSH_DONE);
	srv_free(&v);
	assert_true(fd_ssh_kex_known("diffie-hellman-group16-sha512"));
	assert_false(fd_ssh_kex_known("diffie-hellman-group1-sha1"));
}

/* The clone's probe against the decoy's own session: it learns the
 * method list through the encrypted transport. */
static void test_probe(void **st)
{
	static const char *const encs[] = { "aes256-gcm@openssh.com", "aes128-ctr" };

	(void)st;
	for (int i = 0; i < 2; i++) {
		struct srv v;
		uint8_t buf[65536] = { 0 };
		size_t blen = 0, used, outlen;
		fd_ssh_probe_t *p;

		srv_init(&v, "curve25519-sha256,ecdh-sha2-nistp256", "ssh-ed25519", encs[i],
			 "hmac-sha2-256", 6, 0, NULL);
		size_t u;
		assert_int_equal(fd_ssh_sess_input(v.s, (const uint8_t *)CV "\r\n", strlen(CV) + 2,
						   0, &v.io, &u), 0);
		/* the server's KEXINIT: cleartext packet */
		const uint8_t *is;
		size_t isn;
		int pk = fd_ssh_packet_parse(v.out, v.outlen, &is, &isn);
		assert_true(pk > 0);
		assert_int_equal(fd_ssh_probe_new(CV, SV, is, isn, "probe", &p), 0);
		assert_null(fd_ssh_probe_methods(p));
		v.outoff = (size_t)pk;
		int n = fd_ssh_probe_start(p, buf, sizeof(buf));
		assert_true(n > 0);
		blen = (size_t)n;
		int rc = 0;
		for (int round = 0; round < 10 && rc == 0; round++) {
			assert_true(fd_ssh_sess_input(v.s, buf, blen, 0, &v.io, &u) >= 0);
			assert_int_equal(u, blen);
			rc = fd_ssh_probe_input(p, v.out + v.outoff, v.outlen - v.outoff, &used,
						buf, sizeof(buf), &outlen);
			v.outoff += used;
			blen = outlen;
		}
		assert_int_equal(rc, 1);
		assert_string_equal(fd_ssh_probe_methods(p), METHODS);
		json_t *a = last_event(&v, "ssh_auth");
		assert_string_equal(ev_str(a, "username"), "probe");
		assert_string_equal(ev_str(a, "method"), "none");
		fd_ssh_probe_free(p);
		srv_free(&v);
	}

	/* a server without curve25519 or with no cipher of the probe's */
	struct srv v;
	size_t u;
	fd_ssh_probe_t *p = NULL;
	const uint8_t *is;
	size_t isn;
	srv_init(&v, "ecdh-sha2-nistp256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	fd_ssh_sess_input(v.s, (const uint8_t *)CV "\r\n", strlen(CV) + 2, 0, &v.io, &u);
	assert_true(fd_ssh_packet_parse(v.out, v.outlen, &is, &isn) > 0);
	assert_int_equal(fd_ssh_probe_new(CV, SV, is, isn, "x", &p), -ENOTSUP);
	assert_null(p);
	srv_free(&v);
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes192-ctr", "hmac-sha1", 6, 0, NULL);
	fd_ssh_sess_input(v.s, (const uint8_t *)CV "\r\n", strlen(CV) + 2, 0, &v.io, &u);
	assert_true(fd_ssh_packet_parse(v.out, v.outlen, &is, &isn) > 0);
	assert_int_equal(fd_ssh_probe_new(CV, SV, is, isn, "x", &p), -ENOTSUP);
	srv_free(&v);
	/* a malformed KEXINIT */
	uint8_t junk[] = { 20, 1, 2 };
	assert_true(fd_ssh_probe_new(CV, SV, junk, sizeof(junk), "x", &p) < 0);

	/* garbage from the server once started: refused */
	srv_init(&v, "curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256", 6, 0,
		 NULL);
	fd_ssh_sess_input(v.s, (const uint8_t *)CV "\r\n", strlen(CV) + 2, 0, &v.io, &u);
	assert_true(fd_ssh_packet_parse(v.out, v.outlen, &is, &isn) > 0);
	assert_int_equal(fd_ssh_probe_new(CV, SV, is, isn, "x", &p), 0);
	uint8_t out[4096], pkt[64];
	size_t used, outlen;
	assert_true(fd_ssh_probe_start(p, out, sizeof(out)) > 0);
	uint8_t pad[255] = { 0 };
	uint8_t svcacc[] = { 51, 0, 0, 0, 0, 0 };   /* FAILURE before any KEX */
	int m = fd_ssh_packet_build(svcacc, sizeof(svcacc), pad, pkt, sizeof(pkt));
	assert_int_equal(fd_ssh_probe_input(p, pkt, (size_t)m, &used, out, sizeof(out), &outlen),
			 -FG_EMALF);
	fd_ssh_probe_free(p);
	srv_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kex_matrix),
		cmocka_unit_test(test_auth_flow),
		cmocka_unit_test(test_kbdint_edges),
		cmocka_unit_test(test_refusals_encrypted),
		cmocka_unit_test(test_kex_refusals),
		cmocka_unit_test(test_version_and_disconnect),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, free_keys);
}
