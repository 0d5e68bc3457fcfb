/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sntrup761.h"
#include "decoy/sshcipher.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"

enum {
	MSG_DISCONNECT = 1, MSG_IGNORE = 2, MSG_UNIMPLEMENTED = 3, MSG_DEBUG = 4,
	MSG_SERVICE_REQUEST = 5, MSG_SERVICE_ACCEPT = 6, MSG_EXT_INFO = 7,
	MSG_KEXINIT = 20, MSG_NEWKEYS = 21, MSG_KEX_ECDH_INIT = 30,
	MSG_KEX_ECDH_REPLY = 31, MSG_KEX_DH_GEX_GROUP = 31, MSG_KEX_DH_GEX_INIT = 32,
	MSG_KEX_DH_GEX_REPLY = 33, MSG_KEX_DH_GEX_REQUEST = 34, MSG_USERAUTH_REQUEST = 50,
	MSG_USERAUTH_FAILURE = 51, MSG_USERAUTH_INFO_REQUEST = 60,
	MSG_USERAUTH_INFO_RESPONSE = 61,
};

enum st { ST_VERSION, ST_KEXINIT, ST_KEXDH, ST_NEWKEYS, ST_SERVICE, ST_AUTH,
	  ST_KBDINT, ST_DONE };

enum kexk { K_X25519, K_EC, K_SNTRUP, K_DH, K_GEX };

struct kex_def {
	const char *name;
	int kind;
	const char *group;        /* EC: OpenSSL's curve name */
	const char *md;
};

static const struct kex_def kexes[] = {
	{ "sntrup761x25519-sha512@openssh.com", K_SNTRUP, NULL, "SHA512" },
	{ "sntrup761x25519-sha512", K_SNTRUP, NULL, "SHA512" },
	{ "curve25519-sha256", K_X25519, NULL, "SHA256" },
	{ "curve25519-sha256@libssh.org", K_X25519, NULL, "SHA256" },
	{ "ecdh-sha2-nistp256", K_EC, "P-256", "SHA256" },
	{ "ecdh-sha2-nistp384", K_EC, "P-384", "SHA384" },
	{ "ecdh-sha2-nistp521", K_EC, "P-521", "SHA512" },
	/* RFC 8268 / 4253: the MODP groups of RFC 3526 */
	{ "diffie-hellman-group14-sha256", K_DH, "modp_2048", "SHA256" },
	{ "diffie-hellman-group16-sha512", K_DH, "modp_4096", "SHA512" },
	{ "diffie-hellman-group18-sha512", K_DH, "modp_8192", "SHA512" },
	{ "diffie-hellman-group14-sha1", K_DH, "modp_2048", "SHA1" },
	/* RFC 4419, with the RFC 3526 groups (what sshd does without a moduli
	 * file) */
	{ "diffie-hellman-group-exchange-sha256", K_GEX, NULL, "SHA256" },
};

/* GEX: the groups offered, by size */
static const struct { unsigned bits; const char *name; } gex_groups[] = {
	{ 2048, "modp_2048" }, { 3072, "modp_3072" }, { 4096, "modp_4096" },
	{ 6144, "modp_6144" }, { 8192, "modp_8192" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* A payload we build, or a packet we open: 16 KiB, the most a decoy flow
 * buffers (a bigger client packet is refused as too long), so an SSH flow
 * costs about 48 KiB of buffers whatever the attacker sends. */
#define PBUF 16384
#define OBUF (PBUF + 256)

struct fd_ssh_sess {
	const fd_ssh_cfg_t *cfg;
	EVP_PKEY *hostkey[FD_SSHK_NTYPES];
	int st;
	char vc[256];
	uint8_t *is, *ic;          /* KEXINIT payloads: ours, the client's */
	size_t islen, iclen;
	fd_strlist_t cl[FD_SSH_NLISTS];
	bool strict, ext_info, skip_guess, kexed;
	const struct kex_def *kex;
	const char *gex_group;     /* GEX: the group sent, NULL before */
	uint32_t gex_min, gex_n, gex_max;
	const char *hkalg, *enc[2], *mac[2];   /* [0] c2s, [1] s2c */
	uint8_t sid[64];
	size_t sidlen;
	uint8_t keys[6][64];       /* A..F */
	fd_ssh_dir_t rx, tx;
	uint8_t *scratch, *pbuf, *obuf;
	unsigned failures;
	char user[256];
	/* output held back until `due` (sshd's delay after a failure) */
	uint8_t *deferred;
	size_t deflen;
	uint64_t due;
	bool done_after;
};

bool fd_ssh_kex_known(const char *name)
{
	for (size_t i = 0; i < N(kexes); i++)
		if (strcmp(kexes[i].name, name) == 0)
			return true;
	return false;
}

void fd_ssh_printable(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c >= 0x20 && c <= 0x7e && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
}

int fd_ssh_sess_new(const fd_ssh_cfg_t *cfg, fd_ssh_sess_t **out)
{
	fd_ssh_sess_t *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->scratch = malloc(PBUF);
	s->pbuf = malloc(PBUF);
	s->obuf = malloc(OBUF);
	if (!s->scratch || !s->pbuf || !s->obuf) {
		fd_ssh_sess_free(s);
		return -ENOMEM;
	}
	for (int i = 0; i < FD_SSHK_NTYPES; i++)
		if (cfg->hostkey[i] && EVP_PKEY_up_ref(cfg->hostkey[i]) == 1)
			s->hostkey[i] = cfg->hostkey[i];
	s->rx.bs = s->tx.bs = 8;
	*out = s;
	return 0;
}

void fd_ssh_sess_free(fd_ssh_sess_t *s)
{
	if (!s)
		return;
	for (int i = 0; i < FD_SSHK_NTYPES; i++)
		EVP_PKEY_free(s->hostkey[i]);
	for (size_t i = 0; i < FD_SSH_NLISTS; i++)
		fd_strlist_free(&s->cl[i]);
	fd_ssh_dir_reset(&s->rx);
	fd_ssh_dir_reset(&s->tx);
	OPENSSL_cleanse(s->keys, sizeof(s->keys));
	free(s->is);
	free(s->ic);
	free(s->scratch);
	free(s->pbuf);
	free(s->obuf);
	free(s->deferred);
	free(s);
}

uint64_t fd_ssh_sess_due(const fd_ssh_sess_t *s)
{
	return s->deferred ? (s->due ? s->due : 1) : 0;
}

int fd_ssh_sess_release(fd_ssh_sess_t *s, const fd_ssh_io_t *io)
{
	if (!s->deferred)
		return s->st == ST_DONE ? FD_SSH_DONE : FD_SSH_MORE;
	int rc = io->out(io->ctx, s->deferred, s->deflen);
	free(s->deferred);
	s->deferred = NULL;
	s->deflen = 0;
	s->due = 0;
	if (rc < 0 || s->done_after) {
		s->st = ST_DONE;
		return FD_SSH_DONE;
	}
	return FD_SSH_MORE;
}

/* ---- output ---- */

static int send_payload(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
			size_t n, uint64_t defer_until)
{
	int m = fd_ssh_seal(&s->tx, p, n, s->obuf, OBUF);

	if (m < 0)
		return m;
	if (!defer_until && !s->deferred)
		return io->out(io->ctx, s->obuf, (size_t)m);
	/* held back: everything after a deferred packet waits behind it */
	uint8_t *nd = realloc(s->deferred, s->deflen + (size_t)m);
	if (!nd)
		return -ENOMEM;
	memcpy(nd + s->deflen, s->obuf, (size_t)m);
	s->deferred = nd;
	s->deflen += (size_t)m;
	if (defer_until > s->due)
		s->due = defer_until;
	return 0;
}

static int send_wire(fd_ssh_sess_t *s, const fd_ssh_io_t *io, fg_wire_t *w,
		     uint64_t defer_until)
{
	if (w->err)
		return w->err;
	return send_payload(s, io, w->buf, w->pos, defer_until);
}

static void event(const fd_ssh_io_t *io, const char *name, json_t *f)
{
	if (io->event)
		io->event(io->ctx, name, f);
	else
		json_decref(f);
}

static int proto_error(const fd_ssh_io_t *io, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int proto_error(const fd_ssh_io_t *io, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	json_t *f = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(f, "message", json_string(msg));
	event(io, "protocol_error", f);
	return -FG_EMALF;
}

static int disconnect(fd_ssh_sess_t *s, const fd_ssh_io_t *io, uint32_t reason,
		      const char *text, uint64_t defer_until)
{
	fg_wire_t w = fg_wire_init(s->pbuf, PBUF);

	fg_wire_write_u8(&w, MSG_DISCONNECT);
	fg_wire_write_u32(&w, reason);
	fd_ssh_wr_cstr(&w, text);
	fd_ssh_wr_cstr(&w, "");
	int rc = send_wire(s, io, &w, defer_until);
	if (s->deferred) {
		s->done_after = true;  /* closed by fd_ssh_sess_release() */
		return rc < 0 ? rc : FD_SSH_MORE;
	}
	s->st = ST_DONE;
	return rc < 0 ? rc : FD_SSH_DONE;
}

/* ---- key exchange ---- */

/* The first of the client's names that the server lists and `ok` accepts
 * (RFC 4253 7.1); the server's copy of the name, or NULL. */
static const char *pick(const fd_strlist_t *c, const fd_strlist_t *sv,
			bool (*ok)(const fd_ssh_sess_t *, const char *),
			const fd_ssh_sess_t *s)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < sv->n; j++)
			if (strcmp(c->v[i], sv->v[j]) == 0 && (!ok || ok(s, sv->v[j])))
				return sv->v[j];
	return NULL;
}

static bool has(const fd_strlist_t *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

static bool ok_kex(const fd_ssh_sess_t *s, const char *n) { (void)s; return fd_ssh_kex_known(n); }
static bool ok_hk(const fd_ssh_sess_t *s, const char *n)
{
	int t = fd_sshk_type_of_alg(n);
	return t != FD_SSHK_NONE && s->hostkey[t];
}
static bool ok_cipher(const fd_ssh_sess_t *s, const char *n) { (void)s; return fd_ssh_cipher_known(n); }
static bool ok_mac(const fd_ssh_sess_t *s, const char *n) { (void)s; return fd_ssh_mac_known(n); }
/* delayed compression starts only after a successful login, which never
 * happens here */
static bool ok_comp(const fd_ssh_sess_t *s, const char *n)
{
	(void)s;
	return strcmp(n, "none") == 0 || strcmp(n, "zlib@openssh.com") == 0;
}

static int send_kexinit(fd_ssh_sess_t *s, const fd_ssh_io_t *io)
{
	uint8_t cookie[16];

	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		return -EIO;
	int n = fd_ssh_kexinit_build(s->cfg->kex, cookie, s->pbuf, PBUF);
	if (n < 0)
		return n;
	s->is = malloc((size_t)n);
	if (!s->is)
		return -ENOMEM;
	memcpy(s->is, s->pbuf, (size_t)n);
	s->islen = (size_t)n;
	return send_payload(s, io, s->is, s->islen, 0);
}

static void kexinit_event(const fd_ssh_sess_t *s, const fd_ssh_io_t *io)
{
	char buf[2048];
	json_t *f = json_object();

	fd_strlist_join(&s->cl[0], buf, sizeof(buf));
	json_object_set_new(f, "kex_algorithms", json_string(buf));
	fd_strlist_join(&s->cl[1], buf, sizeof(buf));
	json_object_set_new(f, "host_key_algorithms", json_string(buf));
	fd_strlist_join(&s->cl[2], buf, sizeof(buf));
	json_object_set_new(f, "ciphers", json_string(buf));
	event(io, "ssh_kexinit", f);
}

static int on_kexinit(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
		      size_t n)
{
	int rc = fd_ssh_kexinit_parse(p, n, s->cl);

	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return proto_error(io, "malformed KEXINIT");
	kexinit_event(s, io);
	s->ic = malloc(n);
	if (!s->ic)
		return -ENOMEM;
	memcpy(s->ic, p, n);
	s->iclen = n;
	const fd_strlist_t *sv = s->cfg->kex;
	const char *kex = pick(&s->cl[0], &sv[0], ok_kex, s);
	s->hkalg = pick(&s->cl[1], &sv[1], ok_hk, s);
	for (int d = 0; d < 2; d++) {
		s->enc[d] = pick(&s->cl[2 + d], &sv[2 + d], ok_cipher, s);
		s->mac[d] = s->enc[d] && !fd_ssh_cipher_aead(s->enc[d])
			    ? pick(&s->cl[4 + d], &sv[4 + d], ok_mac, s) : NULL;
		if (!pick(&s->cl[6 + d], &sv[6 + d], ok_comp, s))
			return proto_error(io, "no matching compression method");
	}
	if (!kex)
		return proto_error(io, "no key exchange method in common (or none "
				   "the decoy implements)");
	if (!s->hkalg)
		return proto_error(io, "no host key algorithm in common with a key");
	if (!s->enc[0] || !s->enc[1])
		return proto_error(io, "no cipher in common");
	for (int d = 0; d < 2; d++)
		if (!fd_ssh_cipher_aead(s->enc[d]) && !s->mac[d])
			return proto_error(io, "no MAC in common");
	for (size_t i = 0; i < N(kexes); i++)
		if (strcmp(kexes[i].name, kex) == 0)
			s->kex = &kexes[i];
	s->strict = has(&sv[0], "kex-strict-s-v00@openssh.com") &&
		    has(&s->cl[0], "kex-strict-c-v00@openssh.com");
	s->ext_info = has(&s->cl[0], "ext-info-c") && s->cfg->server_sig_algs;
	/* first_kex_packet_follows with a wrong guess: skip that packet */
	if (n >= 5 && p[n - 5] && (strcmp(s->cl[0].v[0], kex) != 0 ||
				   strcmp(s->cl[1].v[0], s->hkalg) != 0))
		s->skip_guess = true;
	s->st = ST_KEXDH;
	return 0;
}

static EVP_PKEY *ec_peer(const char *group, const uint8_t *q, size_t qn)
{
	OSSL_PARAM p[3] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)q, qn),
		OSSL_PARAM_construct_end()
	};
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *k = NULL;

	if (qn == 0 || q[0] != 0x04)  /* uncompressed only, as OpenSSH */
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int derive(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t *out, size_t *n)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
	int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
		 EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		 EVP_PKEY_derive(ctx, out, n) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/* X25519 with the client's 32-byte share: our share and the secret. */
int fd_ssh_x25519(const uint8_t *qc, size_t qn, uint8_t qs[32], uint8_t sec[32])
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *peer = qn == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,
								 NULL, qc, 32) : NULL;
	size_t pl = 32, sl = 32;
	int rc = -FG_EMALF;

	if (eph && peer && EVP_PKEY_get_raw_public_key(eph, qs, &pl) == 1 &&
	    derive(eph, peer, sec, &sl) == 0 && sl == 32) {
		static const uint8_t zero[32];
		rc = CRYPTO_memcmp(sec, zero, 32) ? 0 : -FG_EMALF;
	}
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer);
	return rc;
}

/* Finite-field DH in a named MODP group: the client's e (an mpint's
 * bytes), our f (magnitude into fs) and the secret (magnitude). OpenSSL
 * checks 1 < e < p - 1 when deriving. */
static int dh(const char *group, const uint8_t *e, size_t en, uint8_t *fs, size_t *fn,
	      uint8_t *sec, size_t *sl)
{
	OSSL_PARAM gp[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
		OSSL_PARAM_construct_end()
	};
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *eph = NULL, *peer = NULL;
	BIGNUM *eb = NULL, *fb = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *pp = NULL;
	int rc = -FG_EMALF;

	if (en == 0 || en > 1025 || (e[0] & 0x80))   /* negative, or too long */
		goto out;
	eb = BN_bin2bn(e, (int)en, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!kc || !eb || !bld || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_CTX_set_params(kc, gp) != 1 || EVP_PKEY_generate(kc, &eph) != 1)
		goto out;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, eb) ||
	    !(pp = OSSL_PARAM_BLD_to_param(bld)))
		goto out;
	pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &peer, EVP_PKEY_PUBLIC_KEY, pp) != 1)
		goto out;
	if (EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_PUB_KEY, &fb) != 1 ||
	    BN_num_bytes(fb) > (int)*fn)
		goto out;
	*fn = (size_t)BN_bn2bin(fb, fs);
	if (derive(eph, peer, sec, sl) == 0)
		rc = 0;
out:
	BN_free(eb);
	BN_free(fb);
	OSSL_PARAM_free(pp);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(kc);
	EVP_PKEY_CTX_free(pc);
	return rc;
}

/* The shared secret K, encoded for the hash (kenc: mpint, or a string for
 * the hybrid KEM), and our share qs. */
static int kex_compute(fd_ssh_sess_t *s, const uint8_t *qc, size_t qn,
		       uint8_t *qs, size_t *qsn, uint8_t *kenc, size_t *kn)
{
	fg_wire_t w = fg_wire_init(kenc, *kn);
	uint8_t sec[1040];
	size_t sl = sizeof(sec);
	int rc = -FG_EMALF;

	switch (s->kex->kind) {
	case K_DH:
	case K_GEX:
		*qsn = 1040;
		if (dh(s->kex->kind == K_GEX ? s->gex_group : s->kex->group, qc, qn,
		       qs, qsn, sec, &sl) < 0)
			break;
		fd_ssh_wr_mpint(&w, sec, sl);
		rc = 0;
		break;
	case K_X25519:
		if (fd_ssh_x25519(qc, qn, qs, sec) < 0)
			return -FG_EMALF;
		*qsn = 32;
		fd_ssh_wr_mpint(&w, sec, 32);
		rc = 0;
		break;
	case K_EC: {
		EVP_PKEY *peer = ec_peer(s->kex->group, qc, qn);
		EVP_PKEY *eph = peer ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", s->kex->group) : NULL;
		if (eph && EVP_PKEY_get_octet_string_param(eph,
				OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, qs, 256, qsn) == 1 &&
		    derive(eph, peer, sec, &sl) == 0) {
			fd_ssh_wr_mpint(&w, sec, sl);
			rc = 0;
		}
		EVP_PKEY_free(eph);
		EVP_PKEY_free(peer);
		break;
	}
	case K_SNTRUP: {
		/* client: sntrup761 public key || X25519 share; server:
		 * ciphertext || X25519 share; K = SHA-512(kem key || x25519
		 * secret) as a string */
		uint8_t both[64], h[64];
		unsigned hl = 0;
		if (qn != FD_SNTRUP761_PK + 32)
			return -FG_EMALF;
		if (fd_sntrup761_enc(qc, qs, both) < 0 ||
		    fd_ssh_x25519(qc + FD_SNTRUP761_PK, 32, qs + FD_SNTRUP761_CT, both + 32) < 0) {
			OPENSSL_cleanse(both, sizeof(both));
			return -FG_EMALF;
		}
		*qsn = FD_SNTRUP761_CT + 32;
		EVP_Digest(both, 64, h, &hl, EVP_sha512(), NULL);
		fd_ssh_wr_str(&w, h, 64);
		OPENSSL_cleanse(both, sizeof(both));
		OPENSSL_cleanse(h, sizeof(h));
		rc = 0;
		break;
	}
	}
	OPENSSL_cleanse(sec, sizeof(sec));
	if (rc == 0 && w.err)
		rc = w.err;
	*kn = w.pos;
	return rc;
}

void fd_ssh_hash_str(EVP_MD_CTX *mc, const uint8_t *p, size_t n)
{
	uint8_t l[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
			 (uint8_t)n };
	EVP_DigestUpdate(mc, l, 4);
	EVP_DigestUpdate(mc, p, n);
}

/* RFC 4253 7.2: key X = HASH(K || H || X || session_id), extended by
 * HASH(K || H || K1 || ...) to `need` bytes. */
int fd_ssh_derive_key(const EVP_MD *md, const uint8_t *kenc, size_t kn,
		      const uint8_t *h, size_t hl, char x, const uint8_t *sid,
		      size_t sidlen, uint8_t *out, size_t need)
{
	uint8_t buf[128];
	size_t have = 0;
	unsigned dl = 0;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	int ok = mc != NULL;

	while (ok && have < need && have + (size_t)EVP_MD_get_size(md) <= sizeof(buf)) {
		ok = EVP_DigestInit_ex(mc, md, NULL) == 1 &&
		     EVP_DigestUpdate(mc, kenc, kn) == 1 &&
		     EVP_DigestUpdate(mc, h, hl) == 1;
		if (ok && have == 0)
			ok = EVP_DigestUpdate(mc, &x, 1) == 1 &&
			     EVP_DigestUpdate(mc, sid, sidlen) == 1;
		else if (ok)
			ok = EVP_DigestUpdate(mc, buf, have) == 1;
		ok = ok && EVP_DigestFinal_ex(mc, buf + have, &dl) == 1;
		have += dl;
	}
	EVP_MD_CTX_free(mc);
	if (!ok || have < need)
		return -EIO;
	memcpy(out, buf, need);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static void wr_bn_mpint(fg_wire_t *w, const BIGNUM *bn)
{
	uint8_t tmp[1040];
	int n = BN_num_bytes(bn);

	if (n < 0 || (size_t)n > sizeof(tmp)) {
		fg_wire_fail(w, -FG_ESPACE);
		return;
	}
	BN_bn2bin(bn, tmp);
	fd_ssh_wr_mpint(w, tmp, (size_t)n);
}

/* p and g of a named group as mpints (the GEX_GROUP body) into w. */
static int group_params(const char *group, fg_wire_t *w)
{
	OSSL_PARAM gp[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
		OSSL_PARAM_construct_end()
	};
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *params = NULL;
	BIGNUM *p = NULL, *g = NULL;
	int rc = -EIO;

	if (pc && EVP_PKEY_paramgen_init(pc) == 1 && EVP_PKEY_CTX_set_params(pc, gp) == 1 &&
	    EVP_PKEY_generate(pc, &params) == 1 &&
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) == 1 &&
	    EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_G, &g) == 1) {
		wr_bn_mpint(w, p);
		wr_bn_mpint(w, g);
		rc = w->err;
	}
	BN_free(p);
	BN_free(g);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(pc);
	return rc;
}

/* KEX_DH_GEX_REQUEST: min, n, max; the group nearest n within the bounds,
 * as sshd picks (RFC 4419 3). */
static int on_gex_request(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
			  size_t n)
{
	fg_wire_t r = fg_wire_init(p, n);

	fg_wire_skip(&r, 1);
	s->gex_min = fg_wire_read_u32(&r);
	s->gex_n = fg_wire_read_u32(&r);
	s->gex_max = fg_wire_read_u32(&r);
	if (r.err || fg_wire_avail(&r) || s->gex_min > s->gex_max ||
	    s->gex_n < s->gex_min || s->gex_n > s->gex_max)
		return proto_error(io, "malformed KEX_DH_GEX_REQUEST");
	const char *best = NULL;
	unsigned bestd = ~0u;
	for (size_t i = 0; i < N(gex_groups); i++) {
		unsigned b = gex_groups[i].bits;
		unsigned d = b > s->gex_n ? b - s->gex_n : s->gex_n - b;
		if (b >= s->gex_min && b <= s->gex_max && d < bestd) {
			best = gex_groups[i].name;
			bestd = d;
		}
	}
	if (!best)
		return proto_error(io, "no DH group of %u to %u bits", s->gex_min, s->gex_max);
	fg_wire_t w = fg_wire_init(s->pbuf, PBUF);
	fg_wire_write_u8(&w, MSG_KEX_DH_GEX_GROUP);
	int rc = group_params(best, &w);
	if (rc < 0)
		return proto_error(io, "DH group %s unavailable", best);
	s->gex_group = best;
	return send_wire(s, io, &w, 0);
}

static int on_kexdh(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
		    size_t n)
{
	fg_wire_t r = fg_wire_init(p, n);
	size_t qn, qsn = 0, kn = 1100, hkn, sgn;
	const EVP_MD *md = EVP_get_digestbyname(s->kex->md);
	uint8_t qs[1100], kenc[1100], hk[2048], sig[1100], h[64];
	uint8_t fenc[1100];   /* DH: f as an mpint */
	bool dhk = s->kex->kind == K_DH || s->kex->kind == K_GEX;
	unsigned hl = 0;

	fg_wire_skip(&r, 1);
	const uint8_t *qc = fd_ssh_rd_str(&r, &qn);
	if (r.err || fg_wire_avail(&r))
		return proto_error(io, "malformed KEX_ECDH_INIT");
	int rc = kex_compute(s, qc, qn, qs, &qsn, kenc, &kn);
	if (rc < 0) {
		OPENSSL_cleanse(kenc, sizeof(kenc));
		return rc == -ENOMEM ? rc : proto_error(io, "bad client key share "
							"(%zu bytes) for %s", qn,
							s->kex->name);
	}
	EVP_PKEY *key = s->hostkey[fd_sshk_type_of_alg(s->hkalg)];
	int m = fd_sshkey_blob(key, hk, sizeof(hk));
	if (m < 0)
		goto fail;
	hkn = (size_t)m;
	/* H = HASH(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K) */
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	int ok = mc && EVP_DigestInit_ex(mc, md, NULL) == 1;
	if (ok) {
		fd_ssh_hash_str(mc, (const uint8_t *)s->vc, strlen(s->vc));
		fd_ssh_hash_str(mc, (const uint8_t *)s->cfg->version, strlen(s->cfg->version));
		fd_ssh_hash_str(mc, s->ic, s->iclen);
		fd_ssh_hash_str(mc, s->is, s->islen);
		fd_ssh_hash_str(mc, hk, hkn);
		if (s->kex->kind == K_GEX) {   /* min, n, max, p, g */
			uint8_t gb[2200];
			fg_wire_t gw = fg_wire_init(gb, sizeof(gb));
			fg_wire_write_u32(&gw, s->gex_min);
			fg_wire_write_u32(&gw, s->gex_n);
			fg_wire_write_u32(&gw, s->gex_max);
			ok = group_params(s->gex_group, &gw) == 0;
			EVP_DigestUpdate(mc, gb, gw.pos);
		}
		if (dhk) {   /* e and f are mpints: e as the client wrote it */
			fg_wire_t fw = fg_wire_init(fenc, sizeof(fenc));
			fd_ssh_wr_mpint(&fw, qs, qsn);
			fd_ssh_hash_str(mc, qc, qn);
			EVP_DigestUpdate(mc, fenc, fw.pos);
		} else {
			fd_ssh_hash_str(mc, qc, qn);
			fd_ssh_hash_str(mc, qs, qsn);
		}
		EVP_DigestUpdate(mc, kenc, kn);
		ok = EVP_DigestFinal_ex(mc, h, &hl) == 1 && ok;
	}
	EVP_MD_CTX_free(mc);
	if (!ok)
		goto fail;
	if (!s->sidlen) {
		memcpy(s->sid, h, hl);
		s->sidlen = hl;
	}
	m = fd_sshkey_sign(key, s->hkalg, h, hl, sig, sizeof(sig));
	if (m < 0)
		goto fail;
	sgn = (size_t)m;
	/* the six keys: IVs A (c2s) B, keys C D, MAC keys E F */
	size_t need[6] = {
		fd_ssh_cipher_ivlen(s->enc[0]), fd_ssh_cipher_ivlen(s->enc[1]),
		fd_ssh_cipher_keylen(s->enc[0]), fd_ssh_cipher_keylen(s->enc[1]),
		s->mac[0] ? fd_ssh_mac_keylen(s->mac[0]) : 0,
		s->mac[1] ? fd_ssh_mac_keylen(s->mac[1]) : 0,
	};
	for (int i = 0; i < 6; i++)
		if (need[i] && fd_ssh_derive_key(md, kenc, kn, h, hl, (char)('A' + i), s->sid,
					  s->sidlen, s->keys[i], need[i]) < 0)
			goto fail;
	OPENSSL_cleanse(kenc, sizeof(kenc));

	fg_wire_t w = fg_wire_init(s->pbuf, PBUF);
	fg_wire_write_u8(&w, s->kex->kind == K_GEX ? MSG_KEX_DH_GEX_REPLY : MSG_KEX_ECDH_REPLY);
	fd_ssh_wr_str(&w, hk, hkn);
	if (dhk)
		fd_ssh_wr_mpint(&w, qs, qsn);
	else
		fd_ssh_wr_str(&w, qs, qsn);
	fd_ssh_wr_str(&w, sig, sgn);
	if ((rc = send_wire(s, io, &w, 0)) < 0)
		return rc;
	uint8_t nk = MSG_NEWKEYS;
	if ((rc = send_payload(s, io, &nk, 1, 0)) < 0)
		return rc;
	if (fd_ssh_dir_set(&s->tx, s->enc[1], s->mac[1], s->keys[3], s->keys[1],
			   s->keys[5], true) < 0)
		return -EIO;
	if (s->strict)
		s->tx.seq = 0;

	char fp[64];
	fd_ssh_fingerprint(hk, hkn, fp);
	json_t *f = json_object();
	json_object_set_new(f, "kex", json_string(s->kex->name));
	json_object_set_new(f, "host_key", json_string(s->hkalg));
	json_object_set_new(f, "host_key_fingerprint", json_string(fp));
	json_object_set_new(f, "cipher", json_string(s->enc[1]));
	if (s->mac[1])
		json_object_set_new(f, "mac", json_string(s->mac[1]));
	json_object_set_new(f, "strict", json_boolean(s->strict));
	event(io, "ssh_kex", f);

	if (s->ext_info) {
		w = fg_wire_init(s->pbuf, PBUF);
		fg_wire_write_u8(&w, MSG_EXT_INFO);
		fg_wire_write_u32(&w, 2);
		fd_ssh_wr_cstr(&w, "server-sig-algs");
		fd_ssh_wr_cstr(&w, s->cfg->server_sig_algs);
		fd_ssh_wr_cstr(&w, "publickey-hostbound@openssh.com");
		fd_ssh_wr_cstr(&w, "0");
		if ((rc = send_wire(s, io, &w, 0)) < 0)
			return rc;
	}
	s->st = ST_NEWKEYS;
	return 0;
fail:
	OPENSSL_cleanse(kenc, sizeof(kenc));
	return proto_error(io, "key exchange failed (host key %s)", s->hkalg);
}

static int on_newkeys(fd_ssh_sess_t *s)
{
	if (fd_ssh_dir_set(&s->rx, s->enc[0], s->mac[0], s->keys[2], s->keys[0],
			   s->keys[4], false) < 0)
		return -EIO;
	if (s->strict)
		s->rx.seq = 0;
	OPENSSL_cleanse(s->keys, sizeof(s->keys));
	s->kexed = true;
	s->st = ST_SERVICE;
	return 0;
}

/* ---- user authentication ---- */

int fd_ssh_authreq_parse(const uint8_t *p, size_t n, fd_ssh_authreq_t *r)
{
	fg_wire_t w = fg_wire_init(p, n);

	memset(r, 0, sizeof(*r));
	if (fg_wire_read_u8(&w) != MSG_USERAUTH_REQUEST)
		return w.err ? w.err : -FG_EMALF;
	r->user = fd_ssh_rd_str(&w, &r->userlen);
	r->service = fd_ssh_rd_str(&w, &r->servicelen);
	r->method = fd_ssh_rd_str(&w, &r->methodlen);
	if (w.err)
		return w.err;
	if (fd_ssh_str_is(r->method, r->methodlen, "password")) {
		r->change = fg_wire_read_u8(&w) != 0;
		r->password = fd_ssh_rd_str(&w, &r->passwordlen);
		if (r->change)
			r->newpassword = fd_ssh_rd_str(&w, &r->newpasswordlen);
	} else if (fd_ssh_str_is(r->method, r->methodlen, "publickey")) {
		r->has_sig = fg_wire_read_u8(&w) != 0;
		r->alg = fd_ssh_rd_str(&w, &r->alglen);
		r->blob = fd_ssh_rd_str(&w, &r->bloblen);
		/* the signature itself is not checked: it never succeeds */
	}
	return w.err;
}

static void set_printable(json_t *f, const char *key, const uint8_t *p, size_t n)
{
	char buf[1100];

	fd_ssh_printable(p, n, buf, sizeof(buf));
	json_object_set_new(f, key, json_string(buf));
}

/* Count a failed attempt and answer it (after `delay` ms): FAILURE, or
 * the disconnect once MaxAuthTries is reached, as sshd. */
static int auth_fail(fd_ssh_sess_t *s, const fd_ssh_io_t *io, bool counts,
		     uint64_t now, uint32_t delay)
{
	uint64_t until = delay ? now + delay : 0;

	if (counts && ++s->failures >= s->cfg->max_auth_tries)
		return disconnect(s, io, 2, "Too many authentication failures", until);
	fg_wire_t w = fg_wire_init(s->pbuf, PBUF);
	fg_wire_write_u8(&w, MSG_USERAUTH_FAILURE);
	fd_ssh_wr_cstr(&w, s->cfg->auth_methods);
	fg_wire_write_u8(&w, 0);
	s->st = ST_AUTH;
	return send_wire(s, io, &w, until);
}

static bool method_offered(const fd_ssh_sess_t *s, const char *m)
{
	const char *l = s->cfg->auth_methods;
	size_t n = strlen(m);

	while (l && *l) {
		const char *c = strchr(l, ',');
		size_t len = c ? (size_t)(c - l) : strlen(l);
		if (len == n && memcmp(l, m, n) == 0)
			return true;
		l = c ? c + 1 : NULL;
	}
	return false;
}

static int on_userauth(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
		       size_t n, uint64_t now)
{
	fd_ssh_authreq_t r;

	if (fd_ssh_authreq_parse(p, n, &r) < 0)
		return proto_error(io, "malformed USERAUTH_REQUEST");
	char method[64];
	fd_ssh_printable(r.method, r.methodlen, method, sizeof(method));
	fd_ssh_printable(r.user, r.userlen, s->user, sizeof(s->user));
	json_t *f = json_object();
	json_object_set_new(f, "username", json_string(s->user));
	json_object_set_new(f, "method", json_string(method));
	set_printable(f, "ssh_service", r.service, r.servicelen);
	bool none = strcmp(method, "none") == 0;
	if (strcmp(method, "password") == 0) {
		set_printable(f, "password", r.password, r.passwordlen);
		if (r.change)
			set_printable(f, "new_password", r.newpassword, r.newpasswordlen);
	} else if (strcmp(method, "publickey") == 0) {
		char fp[64];
		fd_ssh_fingerprint(r.blob, r.bloblen, fp);
		set_printable(f, "key_type", r.alg, r.alglen);
		json_object_set_new(f, "key_fingerprint", json_string(fp));
		json_object_set_new(f, "signed", json_boolean(r.has_sig));
	} else if (strcmp(method, "keyboard-interactive") == 0 &&
		   method_offered(s, method)) {
		/* ask for the password as sshd's PAM conversation does; the
		 * attempt is logged with the responses */
		json_decref(f);
		fg_wire_t w = fg_wire_init(s->pbuf, PBUF);
		fg_wire_write_u8(&w, MSG_USERAUTH_INFO_REQUEST);
		fd_ssh_wr_cstr(&w, "");
		fd_ssh_wr_cstr(&w, "");
		fd_ssh_wr_cstr(&w, "");
		fg_wire_write_u32(&w, 1);
		fd_ssh_wr_cstr(&w, "Password: ");
		fg_wire_write_u8(&w, 0);
		s->st = ST_KBDINT;
		return send_wire(s, io, &w, 0);
	}
	json_object_set_new(f, "attempt", json_integer(s->failures + (none ? 0 : 1)));
	json_object_set_new(f, "result", json_string("failure"));
	event(io, "ssh_auth", f);
	bool slow = strcmp(method, "password") == 0;
	return auth_fail(s, io, !none, now, slow ? s->cfg->auth_delay_ms : 0);
}

static int on_info_response(fd_ssh_sess_t *s, const fd_ssh_io_t *io,
			    const uint8_t *p, size_t n, uint64_t now)
{
	fg_wire_t w = fg_wire_init(p, n);
	json_t *resp = json_array();

	fg_wire_skip(&w, 1);
	uint32_t cnt = fg_wire_read_u32(&w);
	if (cnt > 100) {
		json_decref(resp);
		return proto_error(io, "USERAUTH_INFO_RESPONSE with %u responses", cnt);
	}
	for (uint32_t i = 0; i < cnt && !w.err; i++) {
		size_t l;
		const uint8_t *r = fd_ssh_rd_str(&w, &l);
		char buf[1100];
		if (!r)
			break;
		fd_ssh_printable(r, l, buf, sizeof(buf));
		json_array_append_new(resp, json_string(buf));
	}
	if (w.err) {
		json_decref(resp);
		return proto_error(io, "malformed USERAUTH_INFO_RESPONSE");
	}
	json_t *f = json_object();
	json_object_set_new(f, "username", json_string(s->user));
	json_object_set_new(f, "method", json_string("keyboard-interactive"));
	json_object_set_new(f, "responses", resp);
	json_object_set_new(f, "attempt", json_integer(s->failures + 1));
	json_object_set_new(f, "result", json_string("failure"));
	event(io, "ssh_auth", f);
	return auth_fail(s, io, true, now, s->cfg->auth_delay_ms);
}

static int unimplemented(fd_ssh_sess_t *s, const fd_ssh_io_t *io, uint32_t seq)
{
	fg_wire_t w = fg_wire_init(s->pbuf, PBUF);

	fg_wire_write_u8(&w, MSG_UNIMPLEMENTED);
	fg_wire_write_u32(&w, seq);
	return send_wire(s, io, &w, 0);
}

/* ---- dispatch ---- */

static int on_packet(fd_ssh_sess_t *s, const fd_ssh_io_t *io, const uint8_t *p,
		     size_t n, uint32_t seq, uint64_t now)
{
	uint8_t t = n ? p[0] : 0;
	bool in_kex = s->st == ST_KEXINIT || s->st == ST_KEXDH || s->st == ST_NEWKEYS;

	if (n == 0)
		return proto_error(io, "empty packet");
	if (t == MSG_DISCONNECT) {
		s->st = ST_DONE;
		return FD_SSH_DONE;
	}
	/* strict KEX (the Terrapin fix): nothing else during the first KEX */
	if (!(in_kex && s->strict && !s->kexed) &&
	    (t == MSG_IGNORE || t == MSG_DEBUG || t == MSG_UNIMPLEMENTED))
		return 0;
	switch (s->st) {
	case ST_KEXINIT:
		if (t != MSG_KEXINIT)
			break;
		return on_kexinit(s, io, p, n);
	case ST_KEXDH:
		if (s->skip_guess) {
			s->skip_guess = false;
			return 0;
		}
		if (s->kex->kind == K_GEX) {
			if (!s->gex_group && t == MSG_KEX_DH_GEX_REQUEST)
				return on_gex_request(s, io, p, n);
			if (s->gex_group && t == MSG_KEX_DH_GEX_INIT)
				return on_kexdh(s, io, p, n);
			break;
		}
		if (t != MSG_KEX_ECDH_INIT)
			break;
		return on_kexdh(s, io, p, n);
	case ST_NEWKEYS:
		if (t != MSG_NEWKEYS)
			break;
		return on_newkeys(s);
	case ST_SERVICE: {
		fg_wire_t r = fg_wire_init(p, n);
		size_t l;
		fg_wire_skip(&r, 1);
		const uint8_t *name = fd_ssh_rd_str(&r, &l);
		if (t != MSG_SERVICE_REQUEST)
			return unimplemented(s, io, seq);
		if (!fd_ssh_str_is(name, l, "ssh-userauth"))
			return disconnect(s, io, 7, "bad service request", 0);
		fg_wire_t w = fg_wire_init(s->pbuf, PBUF);
		fg_wire_write_u8(&w, MSG_SERVICE_ACCEPT);
		fd_ssh_wr_cstr(&w, "ssh-userauth");
		s->st = ST_AUTH;
		return send_wire(s, io, &w, 0);
	}
	case ST_AUTH:
		if (t == MSG_USERAUTH_REQUEST)
			return on_userauth(s, io, p, n, now);
		if (t == MSG_KEXINIT)
			return proto_error(io, "re-key not emulated");
		return unimplemented(s, io, seq);
	case ST_KBDINT:
		if (t == MSG_USERAUTH_INFO_RESPONSE)
			return on_info_response(s, io, p, n, now);
		if (t == MSG_USERAUTH_REQUEST)  /* the client gave up on it */
			return on_userauth(s, io, p, n, now);
		return unimplemented(s, io, seq);
	default:
		break;
	}
	return proto_error(io, "unexpected message %u during key exchange", t);
}

int fd_ssh_sess_input(fd_ssh_sess_t *s, const uint8_t *in, size_t len,
		      uint64_t now_ms, const fd_ssh_io_t *io, size_t *used)
{
	size_t off = 0;
	int rc = 0;

	*used = 0;
	if (s->st == ST_VERSION) {
		int r = fd_ssh_version_parse(in, len, 0, s->vc, sizeof(s->vc));
		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			/* what sshd answers to a non-SSH client */
			static const char inv[] = "Invalid SSH identification string.\r\n";
			io->out(io->ctx, (const uint8_t *)inv, sizeof(inv) - 1);
			*used = len;
			return proto_error(io, "no SSH version line");
		}
		off = (size_t)r;
		json_t *f = json_object();
		json_object_set_new(f, "client_version", json_string(s->vc));
		json_object_set_new(f, "server_version", json_string(s->cfg->version));
		event(io, "ssh", f);
		if ((rc = send_kexinit(s, io)) < 0) {
			*used = off;
			return rc;
		}
		s->st = ST_KEXINIT;
	}
	while (s->st != ST_DONE && !s->deferred && off < len) {
		const uint8_t *pl;
		size_t plen;
		uint32_t seq = s->rx.seq;
		int r = fd_ssh_open(&s->rx, in + off, len - off, s->scratch, PBUF, &pl, &plen);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			*used = len;
			return r == -FG_EAUTH ? proto_error(io, "corrupted MAC on input")
					      : proto_error(io, "bad packet length or padding");
		}
		off += (size_t)r;
		rc = on_packet(s, io, pl, plen, seq, now_ms);
		if (rc != 0)
			break;
	}
	*used = off;
	if (rc < 0 && rc != -ENOMEM && rc != -FG_EMALF)
		rc = proto_error(io, "internal error: %s", fg_strerror(rc));
	if (rc == 0 && s->st == ST_DONE)
		rc = FD_SSH_DONE;
	return rc;
}
