/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sshcipher.h"
#include "decoy/sshprobe.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"

#define SCRATCH 16384

static const char *const my_kex[] = { "curve25519-sha256", "curve25519-sha256@libssh.org" };
static const char *const my_enc[] = { "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com",
				      "aes128-gcm@openssh.com", "aes128-ctr", "aes256-ctr" };
static const char *const my_mac[] = { "hmac-sha2-256-etm@openssh.com", "hmac-sha2-256",
				      "hmac-sha2-512-etm@openssh.com", "hmac-sha2-512" };

enum { P_REPLY, P_NEWKEYS, P_FAILURE, P_DONE };

struct fd_ssh_probe {
	int st;
	char vc[256], vs[256], user[64];
	uint8_t *is, *ic;
	size_t islen, iclen;
	char hk[2048];             /* our host key list: the server's own */
	const char *enc, *mac;     /* both directions alike */
	EVP_PKEY *eph;
	uint8_t qc[32];
	fd_ssh_dir_t rx, tx;
	uint8_t keys[6][64];
	uint8_t *scratch;
	char methods[512];
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool listed(const fd_strlist_t *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

/* The client's choice: the first of ours the server lists. */
static const char *choose(const char *const *mine, size_t n, const fd_strlist_t *srv)
{
	for (size_t i = 0; i < n; i++)
		if (listed(srv, mine[i]))
			return mine[i];
	return NULL;
}

void fd_ssh_probe_free(fd_ssh_probe_t *p)
{
	if (!p)
		return;
	EVP_PKEY_free(p->eph);
	fd_ssh_dir_reset(&p->rx);
	fd_ssh_dir_reset(&p->tx);
	OPENSSL_cleanse(p->keys, sizeof(p->keys));
	free(p->is);
	free(p->ic);
	free(p->scratch);
	free(p);
}

int fd_ssh_probe_new(const char *client_version, const char *server_version,
		     const uint8_t *is, size_t islen, const char *user,
		     fd_ssh_probe_t **out)
{
	fd_strlist_t sl[FD_SSH_NLISTS];
	fd_ssh_probe_t *p;
	int rc = fd_ssh_kexinit_parse(is, islen, sl);

	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(p->vc, sizeof(p->vc), "%s", client_version);
	snprintf(p->vs, sizeof(p->vs), "%s", server_version);
	snprintf(p->user, sizeof(p->user), "%s", user);
	fd_strlist_join(&sl[1], p->hk, sizeof(p->hk));
	p->enc = choose(my_enc, N(my_enc), &sl[2]);
	p->mac = choose(my_mac, N(my_mac), &sl[4]);
	if (!choose(my_kex, N(my_kex), &sl[0]) || !p->enc || !p->hk[0] ||
	    (!fd_ssh_cipher_aead(p->enc) && !p->mac) || !choose(my_enc, N(my_enc), &sl[3]) ||
	    strcmp(choose(my_enc, N(my_enc), &sl[3]), p->enc) != 0 || !listed(&sl[6], "none") ||
	    !listed(&sl[7], "none")) {
		rc = -ENOTSUP;
		goto out;
	}
	if (fd_ssh_cipher_aead(p->enc))
		p->mac = NULL;
	p->is = malloc(islen);
	p->scratch = malloc(SCRATCH);
	p->eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	size_t ql = 32;
	if (!p->is || !p->scratch || !p->eph ||
	    EVP_PKEY_get_raw_public_key(p->eph, p->qc, &ql) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(p->is, is, islen);
	p->islen = islen;
	p->rx.bs = p->tx.bs = 8;
	p->rx.seq = 1;          /* the server's KEXINIT was packet 0 */
	*out = p;
	p = NULL;
	rc = 0;
out:
	fd_ssh_probe_free(p);
	for (size_t i = 0; i < FD_SSH_NLISTS; i++)
		fd_strlist_free(&sl[i]);
	return rc;
}

static int seal(fd_ssh_probe_t *p, fg_wire_t *w, uint8_t *out, size_t cap, size_t *outlen)
{
	if (w->err)
		return w->err;
	int n = fd_ssh_seal(&p->tx, w->buf, w->pos, out + *outlen, cap - *outlen);
	if (n < 0)
		return n;
	*outlen += (size_t)n;
	return 0;
}

int fd_ssh_probe_start(fd_ssh_probe_t *p, uint8_t *out, size_t cap)
{
	uint8_t pl[4096];
	fg_wire_t w = fg_wire_init(pl, sizeof(pl));
	size_t outlen = 0;
	uint8_t cookie[16];
	char enc[256] = "", mac[256] = "";

	for (size_t i = 0; i < N(my_enc); i++)
		snprintf(enc + strlen(enc), sizeof(enc) - strlen(enc), "%s%s", i ? "," : "", my_enc[i]);
	for (size_t i = 0; i < N(my_mac); i++)
		snprintf(mac + strlen(mac), sizeof(mac) - strlen(mac), "%s%s", i ? "," : "", my_mac[i]);
	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		return -EIO;
	fg_wire_write_u8(&w, 20);
	fg_wire_write(&w, cookie, 16);
	fd_ssh_wr_cstr(&w, "curve25519-sha256,curve25519-sha256@libssh.org");
	fd_ssh_wr_cstr(&w, p->hk);
	fd_ssh_wr_cstr(&w, enc);
	fd_ssh_wr_cstr(&w, enc);
	fd_ssh_wr_cstr(&w, mac);
	fd_ssh_wr_cstr(&w, mac);
	fd_ssh_wr_cstr(&w, "none");
	fd_ssh_wr_cstr(&w, "none");
	fd_ssh_wr_cstr(&w, "");
	fd_ssh_wr_cstr(&w, "");
	fg_wire_write_u8(&w, 0);
	fg_wire_write_u32(&w, 0);
	if (w.err)
		return w.err;
	p->ic = malloc(w.pos);
	if (!p->ic)
		return -ENOMEM;
	memcpy(p->ic, pl, w.pos);
	p->iclen = w.pos;
	int rc = seal(p, &w, out, cap, &outlen);
	if (rc < 0)
		return rc;
	w = fg_wire_init(pl, sizeof(pl));
	fg_wire_write_u8(&w, 30);
	fd_ssh_wr_str(&w, p->qc, 32);
	rc = seal(p, &w, out, cap, &outlen);
	return rc < 0 ? rc : (int)outlen;
}

static int on_reply(fd_ssh_probe_t *p, const uint8_t *m, size_t n, uint8_t *out,
		    size_t cap, size_t *outlen)
{
	fg_wire_t r = fg_wire_init(m, n);
	size_t kn, qn, sn;

	fg_wire_skip(&r, 1);
	const uint8_t *ks = fd_ssh_rd_str(&r, &kn);
	const uint8_t *qs = fd_ssh_rd_str(&r, &qn);
	(void)fd_ssh_rd_str(&r, &sn);   /* the signature: not verified */
	if (r.err || qn != 32)
		return -FG_EMALF;
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, qs, 32);
	EVP_PKEY_CTX *dc = peer ? EVP_PKEY_CTX_new(p->eph, NULL) : NULL;
	uint8_t sec[32], kenc[40], h[32];
	size_t sl = sizeof(sec);
	unsigned hl = 0;
	int ok = dc && EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, peer) == 1 &&
		 EVP_PKEY_derive(dc, sec, &sl) == 1 && sl == 32;
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(peer);
	if (!ok)
		return -FG_EMALF;
	fg_wire_t kw = fg_wire_init(kenc, sizeof(kenc));
	fd_ssh_wr_mpint(&kw, sec, 32);
	OPENSSL_cleanse(sec, sizeof(sec));
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	ok = mc && EVP_DigestInit_ex(mc, EVP_sha256(), NULL) == 1;
	if (ok) {
		fd_ssh_hash_str(mc, (const uint8_t *)p->vc, strlen(p->vc));
		fd_ssh_hash_str(mc, (const uint8_t *)p->vs, strlen(p->vs));
		fd_ssh_hash_str(mc, p->ic, p->iclen);
		fd_ssh_hash_str(mc, p->is, p->islen);
		fd_ssh_hash_str(mc, ks, kn);
		fd_ssh_hash_str(mc, p->qc, 32);
		fd_ssh_hash_str(mc, qs, 32);
		EVP_DigestUpdate(mc, kenc, kw.pos);
		ok = EVP_DigestFinal_ex(mc, h, &hl) == 1;
	}
	EVP_MD_CTX_free(mc);
	size_t need[6] = { fd_ssh_cipher_ivlen(p->enc), fd_ssh_cipher_ivlen(p->enc),
			   fd_ssh_cipher_keylen(p->enc), fd_ssh_cipher_keylen(p->enc),
			   p->mac ? fd_ssh_mac_keylen(p->mac) : 0,
			   p->mac ? fd_ssh_mac_keylen(p->mac) : 0 };
	for (int i = 0; ok && i < 6; i++)
		if (need[i] && fd_ssh_derive_key(EVP_sha256(), kenc, kw.pos, h, hl,
						 (char)('A' + i), h, hl, p->keys[i], need[i]) < 0)
			ok = 0;
	OPENSSL_cleanse(kenc, sizeof(kenc));
	if (!ok)
		return -EIO;
	/* NEWKEYS, then the userauth service and one "none" request */
	uint8_t pl[256];
	fg_wire_t w = fg_wire_init(pl, sizeof(pl));
	fg_wire_write_u8(&w, 21);
	int rc = seal(p, &w, out, cap, outlen);
	if (rc == 0 && fd_ssh_dir_set(&p->tx, p->enc, p->mac, p->keys[2], p->keys[0],
				      p->keys[4], true) < 0)
		rc = -EIO;
	if (rc == 0) {
		w = fg_wire_init(pl, sizeof(pl));
		fg_wire_write_u8(&w, 5);
		fd_ssh_wr_cstr(&w, "ssh-userauth");
		rc = seal(p, &w, out, cap, outlen);
	}
	if (rc == 0) {
		w = fg_wire_init(pl, sizeof(pl));
		fg_wire_write_u8(&w, 50);
		fd_ssh_wr_cstr(&w, p->user);
		fd_ssh_wr_cstr(&w, "ssh-connection");
		fd_ssh_wr_cstr(&w, "none");
		rc = seal(p, &w, out, cap, outlen);
	}
	p->st = P_NEWKEYS;
	return rc;
}

int fd_ssh_probe_input(fd_ssh_probe_t *p, const uint8_t *in, size_t len, size_t *used,
		       uint8_t *out, size_t cap, size_t *outlen)
{
	size_t off = 0;
	int rc = 0;

	*outlen = 0;
	while (rc == 0 && p->st != P_DONE && off < len) {
		const uint8_t *m;
		size_t n;
		int r = fd_ssh_open(&p->rx, in + off, len - off, p->scratch, SCRATCH, &m, &n);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			rc = r;
			break;
		}
		off += (size_t)r;
		uint8_t t = n ? m[0] : 0;
		if (t == 2 || t == 4 || t == 7 || t == 6 || t == 53)
			continue;   /* ignore, debug, ext-info, service accept, banner */
		if (p->st == P_REPLY && t == 31) {
			rc = on_reply(p, m, n, out, cap, outlen);
		} else if (p->st == P_NEWKEYS && t == 21) {
			if (fd_ssh_dir_set(&p->rx, p->enc, p->mac, p->keys[3], p->keys[1],
					   p->keys[5], false) < 0)
				rc = -EIO;
			p->st = P_FAILURE;
		} else if (p->st == P_FAILURE && t == 51) {
			fg_wire_t r2 = fg_wire_init(m, n);
			size_t ml;
			fg_wire_skip(&r2, 1);
			const uint8_t *ms = fd_ssh_rd_str(&r2, &ml);
			if (r2.err || ml >= sizeof(p->methods))
				rc = -FG_EMALF;
			else {
				memcpy(p->methods, ms, ml);
				p->methods[ml] = '\0';
				p->st = P_DONE;
			}
		} else if (p->st == P_FAILURE && t == 52) {
			rc = -ENOTSUP;      /* "none" logged in: nothing to copy */
		} else {
			rc = -FG_EMALF;
		}
	}
	*used = off;
	if (rc < 0)
		return rc;
	return p->st == P_DONE ? 1 : 0;
}

const char *fd_ssh_probe_methods(const fd_ssh_probe_t *p)
{
	return p->st == P_DONE ? p->methods : NULL;
}
