/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the decoy's SSH transport pieces: the packet ciphers
 * (round trip of every cipher and MAC, a flipped bit refused, partial
 * input, impossible lengths), the host key reader (OpenSSH and PEM, the
 * fingerprint ssh-keygen -l prints, encrypted keys refused), the NTRU
 * Prime encoding, the USERAUTH_REQUEST parser, the escaping of logged
 * credentials, mpints, and the session's refusals (not SSH, nothing in
 * common, strict KEX). Interoperability with OpenSSH itself is the netns
 * scenario fluxdecoy_ssh.
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/sntrup761.h"
#include "decoy/sshcipher.h"
#include "decoy/sshkey.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"
#include "ssh_fixtures.h"

/* ssh-keygen -t ed25519 -C unit; its fingerprint as ssh-keygen -l prints */
static const char KEY_ED25519[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACCBlTxutqUDp0Nen7mnX9RE8cuq9Cvx8dk4EaWPGpzRsQAAAIjb/6dR2/+n\n"
	"UQAAAAtzc2gtZWQyNTUxOQAAACCBlTxutqUDp0Nen7mnX9RE8cuq9Cvx8dk4EaWPGpzRsQ\n"
	"AAAEDb/3N2D/D3hLf99lcf8eRLQu1Hrun778tUkk3QIHpVzoGVPG62pQOnQ16fuadf1ETx\n"
	"y6r0K/Hx2TgRpY8anNGxAAAABHVuaXQB\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char FP_ED25519[] = "SHA256:5UV+kaDJctg+oXyTSSwJfXEfP9wg0st+IoWsUKD62IU";
/* the same type with a passphrase */
static const char KEY_ENCRYPTED[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABDYYSOEF3\n"
	"xr0I7+uY54xJADAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIIn79ilR4mAWo6pe\n"
	"wu4dtga6QSn0HNMnCOa8Vlf/Bo5XAAAAkALyjboIzU8ew1tWsPKbV3MyTXO34LHPpPtRN9\n"
	"6UQagFAgv7SDgrXiqIPeY8PKG5FlHhfIOsSlrlg2RtOmNe6ZQOgpT+/8XvWVslVxVwBPbM\n"
	"tSV0/ml5TnTpXr/kCp0fRjYoFWBX3doXBIazBhw+bPsbHWupeOro4vYLOgPGXtGWXHAsGe\n"
	"63ChIyg/xJ4lSP6A==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";

/* ---- ciphers ---- */

static const struct { const char *cipher, *mac; } suites[] = {
	{ "chacha20-poly1305@openssh.com", NULL },
	{ "aes128-gcm@openssh.com", NULL },
	{ "aes256-gcm@openssh.com", NULL },
	{ "aes128-ctr", "hmac-sha2-256" },
	{ "aes192-ctr", "hmac-sha2-512" },
	{ "aes256-ctr", "hmac-sha1" },
	{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	{ "aes256-ctr", "hmac-sha2-512-etm@openssh.com" },
	{ "aes256-ctr", "hmac-sha1-etm@openssh.com" },
};

static void pair(fd_ssh_dir_t *tx, fd_ssh_dir_t *rx, const char *c, const char *m)
{
	uint8_t key[64], iv[16], mk[64];

	for (int i = 0; i < 64; i++) {
		key[i] = (uint8_t)(i * 7 + 1);
		mk[i] = (uint8_t)(i * 13 + 5);
	}
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)(0xa0 + i);
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
	tx->seq = rx->seq = 3;    /* after a cleartext KEX */
	assert_int_equal(fd_ssh_dir_set(tx, c, m, key, iv, mk, true), 0);
	assert_int_equal(fd_ssh_dir_set(rx, c, m, key, iv, mk, false), 0);
	assert_int_equal(tx->seq, 3);
}

static void test_cipher_roundtrip(void **st)
{
	(void)st;
	for (size_t k = 0; k < sizeof(suites) / sizeof(suites[0]); k++) {
		fd_ssh_dir_t tx, rx;
		uint8_t out[4096], scratch[4096], msg[300];
		const uint8_t *pl;
		size_t plen;

		pair(&tx, &rx, suites[k].cipher, suites[k].mac);
		for (size_t n = 1; n < sizeof(msg); n += 37) {
			for (size_t i = 0; i < n; i++)
				msg[i] = (uint8_t)(n + i);
			int m = fd_ssh_seal(&tx, msg, n, out, sizeof(out));
			assert_true(m > (int)n);
			/* every prefix is incomplete */
			for (int cut = 0; cut < m; cut += 5)
				assert_int_equal(fd_ssh_open(&rx, out, (size_t)cut, scratch,
							     sizeof(scratch), &pl, &plen), -EAGAIN);
			assert_int_equal(fd_ssh_open(&rx, out, (size_t)m, scratch,
						     sizeof(scratch), &pl, &plen), m);
			assert_int_equal(plen, n);
			assert_memory_equal(pl, msg, n);
		}
		assert_int_equal(tx.seq, rx.seq);
		/* a flipped bit anywhere in the packet is refused */
		int m = fd_ssh_seal(&tx, msg, 40, out, sizeof(out));
		out[m - 1] ^= 0x01;
		int r = fd_ssh_open(&rx, out, (size_t)m, scratch, sizeof(scratch), &pl, &plen);
		assert_true(r == -FG_EAUTH || r == -FG_EMALF);
		fd_ssh_dir_reset(&tx);
		fd_ssh_dir_reset(&rx);
	}
}

static void test_cipher_names(void **st)
{
	fd_ssh_dir_t d = { 0 };
	uint8_t k[64] = { 0 };

	(void)st;
	assert_true(fd_ssh_cipher_known("chacha20-poly1305@openssh.com"));
	assert_true(fd_ssh_cipher_aead("aes256-gcm@openssh.com"));
	assert_false(fd_ssh_cipher_aead("aes128-ctr"));
	assert_false(fd_ssh_cipher_known("3des-cbc"));
	assert_false(fd_ssh_mac_known("umac-64-etm@openssh.com"));
	assert_int_equal(fd_ssh_cipher_keylen("chacha20-poly1305@openssh.com"), 64);
	assert_int_equal(fd_ssh_cipher_ivlen("aes128-gcm@openssh.com"), 12);
	assert_int_equal(fd_ssh_mac_keylen("hmac-sha2-512-etm@openssh.com"), 64);
	assert_int_equal(fd_ssh_dir_set(&d, "3des-cbc", NULL, k, k, k, true), -EINVAL);
	/* CTR without a MAC is refused */
	assert_int_equal(fd_ssh_dir_set(&d, "aes128-ctr", NULL, k, k, k, true), -EINVAL);
	fd_ssh_dir_reset(&d);
}

static void test_cleartext_lengths(void **st)
{
	fd_ssh_dir_t d = { .bs = 8 };
	uint8_t scratch[64], buf[16] = { 0xff, 0xff, 0xff, 0xff, 4 };
	const uint8_t *pl;
	size_t plen;

	(void)st;
	assert_int_equal(fd_ssh_open(&d, buf, sizeof(buf), scratch, sizeof(scratch),
				     &pl, &plen), -FG_EMALF);
	/* padding longer than the packet */
	uint8_t bad[12] = { 0, 0, 0, 8, 9, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(fd_ssh_open(&d, bad, sizeof(bad), scratch, sizeof(scratch),
				     &pl, &plen), -FG_EMALF);
	/* a packet larger than the scratch the caller has */
	uint8_t big[8] = { 0, 0, 0x10, 0, 4 };
	assert_int_equal(fd_ssh_open(&d, big, sizeof(big), scratch, sizeof(scratch),
				     &pl, &plen), -EAGAIN);
	assert_int_equal(d.seq, 0);
}

/* ---- host keys ---- */

static void test_key_openssh(void **st)
{
	EVP_PKEY *k = NULL;
	uint8_t blob[512], sig[512];
	char err[200], fp[64];

	(void)st;
	assert_int_equal(fd_sshkey_parse((const uint8_t *)KEY_ED25519, strlen(KEY_ED25519),
					 &k, err, sizeof(err)), 0);
	assert_int_equal(fd_sshkey_type(k), FD_SSHK_ED25519);
	int n = fd_sshkey_blob(k, blob, sizeof(blob));
	assert_int_equal(n, 4 + 11 + 4 + 32);
	fd_ssh_fingerprint(blob, (size_t)n, fp);
	assert_string_equal(fp, FP_ED25519);
	int m = fd_sshkey_sign(k, "ssh-ed25519", (const uint8_t *)"H", 1, sig, sizeof(sig));
	assert_int_equal(m, 4 + 11 + 4 + 64);
	/* a key signs only with its own algorithms */
	assert_int_equal(fd_sshkey_sign(k, "rsa-sha2-256", (const uint8_t *)"H", 1, sig,
					sizeof(sig)), -EINVAL);
	EVP_PKEY_free(k);

	assert_true(fd_sshkey_parse((const uint8_t *)KEY_ENCRYPTED, strlen(KEY_ENCRYPTED),
				    &k, err, sizeof(err)) < 0);
	assert_null(k);
	assert_non_null(strstr(err, "encrypted"));
	/* a broken body */
	char broken[sizeof(KEY_ED25519)];
	memcpy(broken, KEY_ED25519, sizeof(broken));
	broken[120] = broken[120] == 'A' ? 'B' : 'A';
	broken[200] = '!';
	assert_true(fd_sshkey_parse((const uint8_t *)broken, strlen(broken), &k, err,
				    sizeof(err)) < 0);
	assert_true(fd_sshkey_parse((const uint8_t *)"hello", 5, &k, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "neither"));
}

static void test_key_pem_and_generated(void **st)
{
	(void)st;
	for (int t = 0; t < FD_SSHK_NTYPES; t++) {
		if (t == FD_SSHK_RSA)
			continue;     /* a 3072-bit RSA key takes long under sanitizers */
		EVP_PKEY *k = fd_sshkey_generate(t), *back = NULL;
		assert_non_null(k);
		assert_int_equal(fd_sshkey_type(k), t);
		BIO *b = BIO_new(BIO_s_mem());
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
		char *pem;
		long n = BIO_get_mem_data(b, &pem);
		char err[200];
		assert_int_equal(fd_sshkey_parse((uint8_t *)pem, (size_t)n, &back, err,
						 sizeof(err)), 0);
		assert_int_equal(EVP_PKEY_eq(k, back), 1);
		uint8_t blob[512], sig[512];
		assert_true(fd_sshkey_blob(back, blob, sizeof(blob)) > 0);
		const char *alg = t == FD_SSHK_ED25519 ? "ssh-ed25519" : "ecdsa-sha2-nistp256";
		assert_true(fd_sshkey_sign(back, alg, (const uint8_t *)"x", 1, sig, sizeof(sig)) > 0);
		BIO_free(b);
		EVP_PKEY_free(k);
		EVP_PKEY_free(back);
	}
	assert_int_equal(fd_sshk_type_of_alg("rsa-sha2-512"), FD_SSHK_RSA);
	assert_int_equal(fd_sshk_type_of_alg("ssh-dss"), FD_SSHK_NONE);
}

/* ssh-keygen's ECDSA and RSA keys: their blobs fingerprint as ssh-keygen
 * -l says, and they sign with each of their algorithms. */
static void test_key_openssh_ecdsa_rsa(void **st)
{
	static const struct { const char *pem, *fp, *algs[3]; int type; } keys[] = {
		{ KEY_ECDSA, FP_ECDSA, { "ecdsa-sha2-nistp256" }, FD_SSHK_ECDSA256 },
		{ KEY_RSA, FP_RSA, { "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa" }, FD_SSHK_RSA },
	};

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY *k = NULL;
		char err[200], fp[64];
		uint8_t blob[1024], sig[1024];

		assert_int_equal(fd_sshkey_parse((const uint8_t *)keys[i].pem, strlen(keys[i].pem),
						 &k, err, sizeof(err)), 0);
		assert_int_equal(fd_sshkey_type(k), keys[i].type);
		int n = fd_sshkey_blob(k, blob, sizeof(blob));
		assert_true(n > 0);
		fd_ssh_fingerprint(blob, (size_t)n, fp);
		assert_string_equal(fp, keys[i].fp);
		/* too small a buffer for the blob */
		assert_int_equal(fd_sshkey_blob(k, blob, 20), -FG_ESPACE);
		for (int a = 0; a < 3 && keys[i].algs[a]; a++) {
			int m = fd_sshkey_sign(k, keys[i].algs[a], (const uint8_t *)"H", 1, sig,
					       sizeof(sig));
			assert_true(m > 0);
			fg_wire_t r = fg_wire_init(sig, (size_t)m);
			size_t l;
			const uint8_t *name = fd_ssh_rd_str(&r, &l);
			assert_true(fd_ssh_str_is(name, l, keys[i].algs[a]));
			assert_int_equal(fd_sshkey_sign(k, keys[i].algs[a], (const uint8_t *)"H", 1,
							sig, 30), -FG_ESPACE);
		}
		assert_int_equal(fd_sshkey_sign(k, "ssh-ed25519", (const uint8_t *)"H", 1, sig,
						sizeof(sig)), -EINVAL);
		EVP_PKEY_free(k);
	}
}

/* An openssh-key-v1 file around a private section we write: every field
 * the reader checks, one at a time. */
static size_t ossh_file(char *out, size_t cap, const char *cipher, uint32_t nkeys, uint32_t c1,
			uint32_t c2, const char *type, const uint8_t *body, size_t blen,
			bool truncate)
{
	uint8_t bin[4096] = { 0 }, priv[2048] = { 0 };
	fg_wire_t p = fg_wire_init(priv, sizeof(priv));
	fg_wire_write_u32(&p, c1);
	fg_wire_write_u32(&p, c2);
	fd_ssh_wr_cstr(&p, type);
	fg_wire_write(&p, body, blen);
	fg_wire_t w = fg_wire_init(bin, sizeof(bin));
	fg_wire_write(&w, "openssh-key-v1", 15);
	fd_ssh_wr_cstr(&w, cipher);
	fd_ssh_wr_cstr(&w, strcmp(cipher, "none") ? "bcrypt" : "none");
	fd_ssh_wr_cstr(&w, "");
	fg_wire_write_u32(&w, nkeys);
	fd_ssh_wr_cstr(&w, "pub");
	fd_ssh_wr_str(&w, priv, p.pos);
	assert_int_equal(w.err, 0);
	size_t n = truncate ? w.pos - 3 : w.pos;
	int o = snprintf(out, cap, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	o += EVP_EncodeBlock((unsigned char *)out + o, bin, (int)n);
	o += snprintf(out + o, cap - (size_t)o, "\n-----END OPENSSH PRIVATE KEY-----\n");
	return (size_t)o;
}

static void expect_refused(const char *text, size_t n, const char *why)
{
	EVP_PKEY *k = (EVP_PKEY *)1;
	char err[200] = "";

	assert_true(fd_sshkey_parse((const uint8_t *)text, n, &k, err, sizeof(err)) < 0);
	assert_null(k);
	if (!strstr(err, why))
		fail_msg("want '%s', got '%s'", why, err);
}

static void test_key_openssh_malformed(void **st)
{
	char f[8192];
	uint8_t body[256] = { 0 };
	size_t n;

	(void)st;
	/* an ed25519 body: public 32, then seed || public 64 */
	fg_wire_t w = fg_wire_init(body, sizeof(body));
	uint8_t pk[32], sk[64];
	memset(pk, 7, 32);
	memset(sk, 9, 32);
	memcpy(sk + 32, pk, 32);
	fd_ssh_wr_str(&w, pk, 32);
	fd_ssh_wr_str(&w, sk, 64);
	fd_ssh_wr_cstr(&w, "comment");
	size_t blen = w.pos;
	/* the well-formed file loads */
	EVP_PKEY *k = NULL;
	char err[200];
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ssh-ed25519", body, blen, false);
	assert_int_equal(fd_sshkey_parse((const uint8_t *)f, n, &k, err, sizeof(err)), 0);
	assert_int_equal(fd_sshkey_type(k), FD_SSHK_ED25519);
	EVP_PKEY_free(k);

	n = ossh_file(f, sizeof(f), "aes256-ctr", 1, 5, 5, "ssh-ed25519", body, blen, false);
	expect_refused(f, n, "encrypted");
	n = ossh_file(f, sizeof(f), "none", 2, 5, 5, "ssh-ed25519", body, blen, false);
	expect_refused(f, n, "2 keys in one file");
	n = ossh_file(f, sizeof(f), "none", 1, 5, 6, "ssh-ed25519", body, blen, false);
	expect_refused(f, n, "corrupt OpenSSH private section");
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ssh-dss", body, blen, false);
	expect_refused(f, n, "key type 'ssh-dss' not supported");
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ssh-ed25519", body, blen, true);
	expect_refused(f, n, "truncated OpenSSH key");
	/* the private half does not end with the public key */
	sk[63] ^= 1;
	w = fg_wire_init(body, sizeof(body));
	fd_ssh_wr_str(&w, pk, 32);
	fd_ssh_wr_str(&w, sk, 64);
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ssh-ed25519", body, w.pos, false);
	expect_refused(f, n, "malformed ssh-ed25519 key");
	/* ECDSA on another curve; RSA with a negative number */
	w = fg_wire_init(body, sizeof(body));
	fd_ssh_wr_cstr(&w, "nistp384");
	fd_ssh_wr_str(&w, pk, 32);
	fd_ssh_wr_str(&w, "\x01", 1);
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ecdsa-sha2-nistp256", body, w.pos, false);
	expect_refused(f, n, "malformed ecdsa-sha2-nistp256 key");
	w = fg_wire_init(body, sizeof(body));
	for (int i = 0; i < 6; i++)
		fd_ssh_wr_str(&w, "\x80\x01", 2);
	n = ossh_file(f, sizeof(f), "none", 1, 5, 5, "ssh-rsa", body, w.pos, false);
	expect_refused(f, n, "malformed ssh-rsa key");
	/* armour: not the magic inside, a body that is not base64, no end */
	static const char nomagic[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
				      "-----END OPENSSH PRIVATE KEY-----\n";
	expect_refused(nomagic, strlen(nomagic), "not an openssh-key-v1 key");
	static const char odd[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAA\n"
				  "-----END OPENSSH PRIVATE KEY-----\n";
	expect_refused(odd, strlen(odd), "bad base64");
	static const char noend[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n";
	expect_refused(noend, strlen(noend), "bad base64");
}

/* ---- NTRU Prime encoding ---- */

static void test_sntrup_encoding(void **st)
{
	uint32_t M[761], R[761], back[761];
	uint8_t buf[1200];

	(void)st;
	for (uint32_t mod = 4591; mod; mod = mod == 4591 ? 1531 : 0) {
		for (int i = 0; i < 761; i++) {
			M[i] = mod;
			R[i] = (uint32_t)((i * 2654435761u) % mod);
		}
		R[0] = 0;
		R[760] = mod - 1;
		int n = fd_sntrup_encode(R, M, 761, buf, sizeof(buf));
		assert_int_equal(n, mod == 4591 ? FD_SNTRUP761_PK : FD_SNTRUP761_CT - 32);
		assert_int_equal(fd_sntrup_decode(buf, n, M, 761, back), n);
		assert_memory_equal(R, back, sizeof(R));
		/* short input is refused, not read past */
		assert_true(fd_sntrup_decode(buf, n - 1, M, 761, back) < 0);
	}
	/* encapsulation to a public key: sizes, and a fresh key each time */
	uint8_t pk[FD_SNTRUP761_PK], ct1[FD_SNTRUP761_CT], ct2[FD_SNTRUP761_CT];
	uint8_t k1[32], k2[32];
	memcpy(pk, buf, sizeof(pk));
	for (int i = 0; i < 761; i++)
		M[i] = 4591;
	fd_sntrup_encode(R, M, 761, pk, sizeof(pk));
	assert_int_equal(fd_sntrup761_enc(pk, ct1, k1), 0);
	assert_int_equal(fd_sntrup761_enc(pk, ct2, k2), 0);
	assert_memory_not_equal(k1, k2, 32);
	assert_memory_not_equal(ct1, ct2, sizeof(ct1));
}

/* ---- userauth, escaping, mpint ---- */

static size_t put_str(uint8_t *p, const char *s, size_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	memcpy(p + 4, s, n);
	return 4 + n;
}

static void test_authreq(void **st)
{
	uint8_t b[256];
	size_t n = 0;
	fd_ssh_authreq_t r;

	(void)st;
	b[n++] = 50;
	n += put_str(b + n, "root", 4);
	n += put_str(b + n, "ssh-connection", 14);
	n += put_str(b + n, "password", 8);
	b[n++] = 0;
	n += put_str(b + n, "hunter2", 7);
	assert_int_equal(fd_ssh_authreq_parse(b, n, &r), 0);
	assert_int_equal(r.userlen, 4);
	assert_memory_equal(r.password, "hunter2", 7);
	assert_false(r.change);
	/* every truncation is an error */
	for (size_t cut = 0; cut < n; cut++)
		assert_true(fd_ssh_authreq_parse(b, cut, &r) < 0);
	/* a string length past the end */
	b[4] = 0x7f;
	assert_true(fd_ssh_authreq_parse(b, n, &r) < 0);
	b[0] = 5;
	assert_int_equal(fd_ssh_authreq_parse(b, n, &r), -FG_EMALF);
}

static void test_printable_and_mpint(void **st)
{
	char out[64];
	uint8_t buf[16];

	(void)st;
	fd_ssh_printable((const uint8_t *)"a\\b\x01\"\xff", 6, out, sizeof(out));
	assert_string_equal(out, "a\\x5cb\\x01\"\\xff");
	fd_ssh_printable((const uint8_t *)"\x01\x02\x03", 3, out, 9);
	assert_string_equal(out, "\\x01\\x02");   /* cut at a whole escape */

	fg_wire_t w = fg_wire_init(buf, sizeof(buf));
	fd_ssh_wr_mpint(&w, (const uint8_t *)"\x00\x00\x80\x01", 4);
	assert_int_equal(w.pos, 7);
	assert_memory_equal(buf, "\x00\x00\x00\x03\x00\x80\x01", 7);
	w = fg_wire_init(buf, sizeof(buf));
	fd_ssh_wr_mpint(&w, (const uint8_t *)"\x00\x00", 2);
	assert_int_equal(w.pos, 4);
	assert_memory_equal(buf, "\x00\x00\x00\x00", 4);
}

/* ---- the session's refusals ---- */

struct sink {
	char out[4096];
	size_t outlen;
	char last_event[64];
	char message[256];
};

static int sink_out(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *k = ctx;
	if (k->outlen + n < sizeof(k->out)) {
		memcpy(k->out + k->outlen, p, n);
		k->outlen += n;
	}
	return 0;
}

static void sink_event(void *ctx, const char *ev, json_t *f)
{
	struct sink *k = ctx;
	const char *m = json_string_value(json_object_get(f, "message"));

	snprintf(k->last_event, sizeof(k->last_event), "%s", ev);
	if (m)
		snprintf(k->message, sizeof(k->message), "%s", m);
	json_decref(f);
}

static size_t kexinit_pkt(uint8_t *out, const char *kex, const char *cipher)
{
	const char *lists[10] = { kex, "ssh-ed25519", cipher, cipher, "hmac-sha2-256",
				  "hmac-sha2-256", "none", "none", "", "" };
	uint8_t pl[1024];
	size_t n = 0;
	pl[n++] = 20;
	memset(pl + n, 'C', 16);
	n += 16;
	for (int i = 0; i < 10; i++)
		n += put_str(pl + n, lists[i], strlen(lists[i]));
	memset(pl + n, 0, 5);
	n += 5;
	size_t pad = 8 - ((5 + n) % 8);
	if (pad < 4)
		pad += 8;
	uint32_t len = (uint32_t)(1 + n + pad);
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[4] = (uint8_t)pad;
	memcpy(out + 5, pl, n);
	memset(out + 5 + n, 0, pad);
	return 4 + len;
}

static int run(const char *version, const char *kex, const char *cipher,
	       struct sink *k)
{
	static char *kx[] = { "curve25519-sha256", "kex-strict-s-v00@openssh.com" };
	static char *hk[] = { "ssh-ed25519" };
	static char *enc[] = { "chacha20-poly1305@openssh.com" };
	static char *mac[] = { "hmac-sha2-256" };
	static char *comp[] = { "none" };
	fd_strlist_t lists[FD_SSH_NLISTS] = {
		{ kx, 2 }, { hk, 1 }, { enc, 1 }, { enc, 1 }, { mac, 1 }, { mac, 1 },
		{ comp, 1 }, { comp, 1 },
	};
	EVP_PKEY *key = fd_sshkey_generate(FD_SSHK_ED25519);
	fd_ssh_cfg_t cfg = { .version = "SSH-2.0-OpenSSH_9.2p1", .kex = lists,
			     .auth_methods = "publickey", .max_auth_tries = 6 };
	fd_ssh_sess_t *s;
	fd_ssh_io_t io = { k, sink_out, sink_event };
	uint8_t in[2048];
	size_t n = strlen(version), used;

	cfg.hostkey[FD_SSHK_ED25519] = key;
	memset(k, 0, sizeof(*k));
	memcpy(in, version, n);
	n += kexinit_pkt(in + n, kex, cipher);
	if (strstr(kex, "kex-strict-c")) {   /* an IGNORE inside the first KEX */
		static const uint8_t ign[16] = { 0, 0, 0, 12, 10, 2 };
		memcpy(in + n, ign, sizeof(ign));
		n += sizeof(ign);
	}
	assert_int_equal(fd_ssh_sess_new(&cfg, &s), 0);
	EVP_PKEY_free(key);    /* the session holds its own reference */
	int rc = fd_ssh_sess_input(s, in, n, 0, &io, &used);
	fd_ssh_sess_free(s);
	return rc;
}

static void test_session_refusals(void **st)
{
	struct sink k;

	(void)st;
	assert_true(run("GET / HTTP/1.1\r\n", "curve25519-sha256", "aes128-ctr", &k) < 0);
	assert_non_null(memmem(k.out, k.outlen, "Invalid SSH identification string.\r\n", 36));
	assert_string_equal(k.message, "no SSH version line");

	assert_true(run("SSH-2.0-x\r\n", "diffie-hellman-group1-sha1", "aes128-ctr", &k) < 0);
	assert_string_equal(k.last_event, "protocol_error");
	assert_non_null(strstr(k.message, "no key exchange method in common"));

	assert_true(run("SSH-2.0-x\r\n", "curve25519-sha256", "3des-cbc", &k) < 0);
	assert_string_equal(k.message, "no cipher in common");

	/* strict KEX: nothing but KEX messages before the first NEWKEYS */
	assert_true(run("SSH-2.0-x\r\n", "curve25519-sha256,kex-strict-c-v00@openssh.com",
			"chacha20-poly1305@openssh.com", &k) < 0);
	assert_non_null(strstr(k.message, "unexpected message 2"));

	/* without strict KEX the same IGNORE is skipped: waiting for the share */
	assert_int_equal(run("SSH-2.0-x\r\n", "curve25519-sha256",
			     "chacha20-poly1305@openssh.com", &k), FD_SSH_MORE);
	assert_string_equal(k.last_event, "ssh_kexinit");
	/* the server's version line is the caller's; the KEXINIT is sent */
	assert_true(k.outlen > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cipher_roundtrip),
		cmocka_unit_test(test_cipher_names),
		cmocka_unit_test(test_cleartext_lengths),
		cmocka_unit_test(test_key_openssh),
		cmocka_unit_test(test_key_pem_and_generated),
		cmocka_unit_test(test_key_openssh_ecdsa_rsa),
		cmocka_unit_test(test_key_openssh_malformed),
		cmocka_unit_test(test_sntrup_encoding),
		cmocka_unit_test(test_authreq),
		cmocka_unit_test(test_printable_and_mpint),
		cmocka_unit_test(test_session_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
