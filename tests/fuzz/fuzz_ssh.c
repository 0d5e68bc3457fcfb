/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the decoy's SSH server: every input is a client's
 * byte stream fed to a session (version line, KEXINIT, the key share of
 * each key exchange, and whatever follows), in one piece and split at
 * every 7th byte (so partial packets are exercised), the same bytes as a
 * server's answer to clone's probe (sshprobe.h), and also the bare
 * parsers: USERAUTH_REQUEST, a cleartext packet through the cipher layer,
 * host key files, the NTRU Prime decoding.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/sntrup761.h"
#include "decoy/sshcipher.h"
#include "decoy/sshkey.h"
#include "decoy/sshprobe.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *kex_names[] = { "sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
			     "ecdh-sha2-nistp256", "diffie-hellman-group-exchange-sha256",
			     "diffie-hellman-group14-sha256", "kex-strict-s-v00@openssh.com" };
static char *hk_names[] = { "ssh-ed25519" };
static char *enc_names[] = { "chacha20-poly1305@openssh.com", "aes128-ctr" };
static char *mac_names[] = { "hmac-sha2-256" };
static char *comp_names[] = { "none" };

static int out_fn(void *ctx, const uint8_t *p, size_t n)
{
	size_t *total = ctx;
	if (!p && n)
		abort();
	*total += n;
	return 0;
}

static void event_fn(void *ctx, const char *event, json_t *fields)
{
	(void)ctx;
	if (!event || !fields)
		abort();
	json_decref(fields);
}

static void feed(const fd_ssh_cfg_t *cfg, const uint8_t *data, size_t size, size_t step)
{
	fd_ssh_sess_t *s;
	size_t total = 0, off = 0;
	fd_ssh_io_t io = { &total, out_fn, event_fn };
	uint8_t buf[16384];
	size_t have = 0;

	if (fd_ssh_sess_new(cfg, &s) < 0)
		return;
	while (off < size || have) {
		size_t n = size - off < step ? size - off : step;
		if (n > sizeof(buf) - have)
			n = sizeof(buf) - have;
		memcpy(buf + have, data + off, n);
		have += n;
		off += n;
		size_t used = 0;
		int rc = fd_ssh_sess_input(s, buf, have, 1000, &io, &used);
		if (used > have)
			abort();
		memmove(buf, buf + used, have - used);
		have -= used;
		if (fd_ssh_sess_due(s))
			rc = fd_ssh_sess_release(s, &io);
		if (rc != FD_SSH_MORE || (n == 0 && used == 0))
			break;
	}
	fd_ssh_sess_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	fd_strlist_t lists[FD_SSH_NLISTS] = {
		{ kex_names, 6 }, { hk_names, 1 }, { enc_names, 2 }, { enc_names, 2 },
		{ mac_names, 1 }, { mac_names, 1 }, { comp_names, 1 }, { comp_names, 1 },
	};
	fd_ssh_cfg_t cfg = {
		.version = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", .kex = lists,
		.auth_methods = "publickey,password,keyboard-interactive",
		.max_auth_tries = 6, .auth_delay_ms = 10, .server_sig_algs = "ssh-ed25519",
	};

	cfg.hostkey[FD_SSHK_ED25519] = k;
	feed(&cfg, data, size, size ? size : 1);
	feed(&cfg, data, size, 7);
	EVP_PKEY_free(k);

	/* the bytes as a server answering clone's probe */
	uint8_t is[2048], pout[8192];
	int isn = fd_ssh_kexinit_build(lists, seed, is, sizeof(is));
	fd_ssh_probe_t *probe;
	if (isn > 0 && fd_ssh_probe_new("SSH-2.0-c", cfg.version, is, (size_t)isn, "root", &probe) == 0) {
		size_t used, outlen;
		if (fd_ssh_probe_start(probe, pout, sizeof(pout)) <= 0)
			abort();
		int pr_rc = fd_ssh_probe_input(probe, data, size, &used, pout, sizeof(pout), &outlen);
		if (used > size || outlen > sizeof(pout) || (pr_rc == 1 && !fd_ssh_probe_methods(probe)))
			abort();
		fd_ssh_probe_free(probe);
	}

	fd_ssh_authreq_t r;
	if (fd_ssh_authreq_parse(data, size, &r) == 0 &&
	    (r.userlen > size || r.passwordlen > size || r.bloblen > size))
		abort();
	char pr[64];
	fd_ssh_printable(data, size, pr, sizeof(pr));
	if (strlen(pr) >= sizeof(pr))
		abort();

	fd_ssh_dir_t d = { .bs = 8 };
	static uint8_t scratch[40000];
	const uint8_t *pl;
	size_t plen;
	int n = fd_ssh_open(&d, data, size, scratch, sizeof(scratch), &pl, &plen);
	if (n > 0 && ((size_t)n > size || pl + plen > scratch + sizeof(scratch)))
		abort();

	EVP_PKEY *pk = NULL;
	char err[200];
	if (fd_sshkey_parse(data, size, &pk, err, sizeof(err)) == 0) {
		uint8_t blob[2048];
		if (fd_sshkey_blob(pk, blob, sizeof(blob)) < 0)
			abort();
		EVP_PKEY_free(pk);
	}
	if (size >= FD_SNTRUP761_PK) {
		uint32_t M[761], R[761];
		for (int i = 0; i < 761; i++)
			M[i] = 4591;
		if (fd_sntrup_decode(data, FD_SNTRUP761_PK, M, 761, R) == FD_SNTRUP761_PK)
			for (int i = 0; i < 761; i++)
				if (R[i] >= 4591)
					abort();
	}
	return 0;
}
