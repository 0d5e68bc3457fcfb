/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "fluxdecoy/hostkeys.h"

static int add(fd_hostkeys_t *hk, int type, EVP_PKEY *k)
{
	EVP_PKEY **nk = realloc(hk->keys[type], (hk->n[type] + 1) * sizeof(*nk));

	if (!nk)
		return -ENOMEM;
	hk->keys[type] = nk;
	nk[hk->n[type]++] = k;
	return 0;
}

static int read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	uint8_t buf[65536];
	size_t n;
	char e[200];

	if (!f)
		return fg_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf))
		return fg_errf(err, errlen, -FG_EMALF, "%s: larger than a key file", path);
	int rc = fd_sshkey_parse(buf, n, out, e, sizeof(e));
	OPENSSL_cleanse(buf, n);
	if (rc < 0)
		return fg_errf(err, errlen, rc, "%s: %s", path, e);
	return 0;
}

int fd_hostkeys_load(const fd_conf_persona_t *cp, const fd_service_t *sv,
		     fd_hostkeys_t *hk, char *err, size_t errlen)
{
	bool warned_rsa = false;
	int rc;

	memset(hk, 0, sizeof(*hk));
	for (size_t i = 0; i < cp->nssh_host_keys; i++) {
		EVP_PKEY *k;
		rc = read_key(cp->ssh_host_keys[i], &k, err, errlen);
		if (rc < 0)
			goto fail;
		if ((rc = add(hk, fd_sshkey_type(k), k)) < 0) {
			EVP_PKEY_free(k);
			goto fail;
		}
	}
	for (size_t i = 0; i < sv->kex[1].n; i++) {
		int t = fd_sshk_type_of_alg(sv->kex[1].v[i]);
		if (t == FD_SSHK_NONE || hk->n[t])
			continue;
		if (t == FD_SSHK_RSA) {
			/* an RSA key takes a second to make, minutes under
			 * valgrind: not at start; clients that want only RSA
			 * are refused until one is configured */
			if (!warned_rsa)
				log_warn("persona '%s': no ssh-rsa key in ssh-host-keys; "
					 "clients that accept only RSA host keys are "
					 "refused (configure one)", cp->id);
			warned_rsa = true;
			continue;
		}
		EVP_PKEY *k = fd_sshkey_generate(t);
		if (!k) {
			rc = fg_errf(err, errlen, -EIO, "cannot generate a %s host key",
				     fd_sshk_names[t]);
			goto fail;
		}
		if ((rc = add(hk, t, k)) < 0) {
			EVP_PKEY_free(k);
			goto fail;
		}
		hk->generated++;
		log_warn("persona '%s': no %s key in ssh-host-keys; made one that "
			 "lasts until the next restart", cp->id, fd_sshk_names[t]);
	}
	return 0;
fail:
	fd_hostkeys_free(hk);
	return rc;
}

void fd_hostkeys_free(fd_hostkeys_t *hk)
{
	for (int t = 0; t < FD_SSHK_NTYPES; t++) {
		for (size_t i = 0; i < hk->n[t]; i++)
			EVP_PKEY_free(hk->keys[t][i]);
		free(hk->keys[t]);
	}
	memset(hk, 0, sizeof(*hk));
}

void fd_hostkeys_pick(const fd_hostkeys_t *hk, uint64_t set,
		      EVP_PKEY *out[FD_SSHK_NTYPES])
{
	for (int t = 0; t < FD_SSHK_NTYPES; t++)
		out[t] = hk->n[t] ? hk->keys[t][set % hk->n[t]] : NULL;
}
