/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/privsep_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "conf/keydir.h"
#include "daemon/privsep.h"
#include "daemon/privsep_msg.h"
#include "dns/dnssec/key.h"

static void keys_diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	log_err("privsep: keys: %s:%d: %s", file, line, msg);
}

struct priv_ctx {
	fg_keyfiles_t *kf;
	const char *dir;
};

static int add_keyfile(void *vctx, const char *name, const char *text, size_t len, bool secret)
{
	struct priv_ctx *c = vctx;
	char path[FG_KF_MAX_PATH + 1];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return fg_keyfiles_add(c->kf, secret ? FG_KF_DNSSEC : FG_KF_DNSKEY, path, text, len, NULL);
}

/* The included files, as this process's loader just read them (a file it
 * could not read failed that load already). */
static int add_includes(const fg_conf_t *conf, fg_keyfiles_t *kf, unsigned *ninc)
{
	int rc = 0;
	for (size_t i = 0; i < conf->ninclude && rc == 0; i++) {
		char *text = NULL;
		size_t len = 0;
		rc = fg_conf_read_file(conf->include[i], &text, &len, keys_diag, NULL);
		if (rc == 0)
			rc = fg_keyfiles_add(kf, FG_KF_INCLUDE, conf->include[i], text, len, NULL);
		if (rc == 0)
			(*ninc)++;
		free(text);
	}
	return rc;
}

/* The files of this process's own configuration: loading it from its path
 * reads and checks the secret files (as at start); the included files and
 * the key directories are read here. A zone whose directory fails is logged and skipped: the
 * [dns] side's loader then names the file that did not come. */
static int collect(const char *conf_path, fg_keyfiles_t *kf, unsigned *ntsig, unsigned *nkey,
		   unsigned *ninc)
{
	fg_conf_t *conf = NULL;
	int rc = fg_conf_load(conf_path, &conf, keys_diag, NULL);
	if (rc < 0)
		return rc;
	rc = add_includes(conf, kf, ninc);
	for (size_t i = 0; i < conf->nkeys && rc == 0; i++) {
		const fg_conf_key_t *k = &conf->keys[i];
		if (!k->secret_file || !k->secret)
			continue;
		rc = fg_keyfiles_add(kf, FG_KF_TSIG, k->secret_file, k->secret, strlen(k->secret),
				     &k->secret_id);
		if (rc == 0)
			(*ntsig)++;
	}
	for (size_t i = 0; i < conf->nzones && rc == 0; i++) {
		const fg_conf_zone_t *cz = &conf->zones[i];
		if (!cz->dnssec.set || !cz->dnssec.keys)
			continue;
		int alg = fg_dnssec_alg_from_name(cz->dnssec.algorithm);
		if (alg < 0)
			continue;       /* the [dns] side reports it */
		char err[300];
		size_t before = kf->n;
		struct priv_ctx c = { kf, cz->dnssec.keys };
		int zrc = fg_keydir_files_each(cz->dnssec.keys, cz->domain, alg, add_keyfile, &c,
						 err, sizeof(err));
		if (zrc == -ENOMEM || zrc == -E2BIG) {
			rc = zrc;
		} else if (zrc < 0) {
			/* none of the zone's files: the [dns] side reads the
			 * directory itself and names the file, or fails to */
			fg_keyfiles_truncate(kf, before);
			log_warn("privsep: keys: zone %s: %s", cz->domain, err);
		}
		*nkey += (unsigned)(kf->n - before);
	}
	fg_conf_free(conf);     /* zeroizes the secrets */
	return rc;
}

int fg_ps_keys_serve(int fd, const char *conf_path, fg_ps_send_fn send)
{
	fg_keyfiles_t kf = { 0 };
	unsigned ntsig = 0, nkey = 0, ninc = 0;
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc = collect(conf_path, &kf, &ntsig, &nkey, &ninc);
	if (rc == 0)
		rc = fg_keyfiles_encode(&kf, &wire, &len);
	fg_keyfiles_clear(&kf);
	for (size_t off = 0; rc == 0 && off < len; off += FG_PS_CONF_CHUNK) {
		size_t k = len - off > FG_PS_CONF_CHUNK ? FG_PS_CONF_CHUNK : len - off;
		rc = send(fd, PS_KEYS, 0, 0, wire + off, (uint32_t)k);
	}
	if (wire) {
		explicit_bzero(wire, len);
		free(wire);
	}
	if (rc < 0)
		log_warn("privsep: keys for a reload: %s", fg_strerror(rc));
	else
		log_info("privsep: files for a reload: %u included, %u TSIG secret file(s), %u "
			 "DNSSEC key file(s) from %s", ninc, ntsig, nkey, conf_path);
	return rc;
}

int fg_privsep_read_keys(fg_keyfiles_t *out)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	int rc = fg_privsep_fetch(PS_KEYS, &buf, &len);
	if (rc < 0)
		return rc;
	rc = fg_keyfiles_decode((const uint8_t *)buf, len, out, err, sizeof(err));
	if (rc < 0)
		log_err("privsep: %s", err);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}
