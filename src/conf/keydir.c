/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conf/keydir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "conf/keyfiles.h"

#define KEYFILE_MAX 16384


/* Read a whole small file; `secret` checks the mode first. *buf is
 * NUL-terminated, freed (and for secrets wiped) by the caller. */
static int slurp(int dfd, const char *name, bool secret, char **buf, size_t *len,
		 char *err, size_t errlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "%s: %s", name, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX) {
		close(fd);
		return fg_errf(err, errlen, -EINVAL, "%s: not a regular file of at most %d octets",
			    name, KEYFILE_MAX);
	}
	if (secret && (st.st_mode & 077)) {
		close(fd);
		return fg_errf(err, errlen, -EPERM,
			    "%s: private key readable by group or others (mode %04o): chmod 600",
			    name, (unsigned)(st.st_mode & 07777));
	}
	char *b = malloc((size_t)st.st_size + 1);
	ssize_t n = b ? read(fd, b, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0 || n != st.st_size) {
		free(b);
		return fg_errf(err, errlen, -EIO, "%s: read failed", name);
	}
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
	return 0;
}

/* "K" + zone (no final dot) + "." : the prefix of the zone's key files */
static int key_prefix(const char *zone, char *out, size_t cap)
{
	size_t zl = strlen(zone);
	while (zl > 1 && zone[zl - 1] == '.')
		zl--;
	int n = snprintf(out, cap, "K%.*s.+", (int)zl, zone);
	return n > 0 && (size_t)n < cap ? n : -ENAMETOOLONG;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is `name` the zone's K<zone>.+AAA+TTTTT.key (of algorithm alg, 0 any)? */
static bool key_name_match(const char *name, const char *prefix, int pl, int alg)
{
	size_t l = strlen(name);
	unsigned a, t;
	char tail[8];
	if (strncasecmp(name, prefix, (size_t)pl) || l < 4 || strcmp(name + l - 4, ".key"))
		return false;
	if (sscanf(name + pl, "%3u+%5u%7s", &a, &t, tail) != 3 || strcmp(tail, ".key"))
		return false;
	return !alg || (int)a == alg;
}

/* Where a key directory's files come from: the directory itself, or the
 * files [priv] read from it (kf non-NULL: "DIR/NAME" entries). */
struct kd_src {
	const char *dir;
	DIR *d;                          /* the open directory, or NULL */
	const fg_keyfiles_t *kf;
};

/* The entry's base name when it is a file of src->dir, else NULL. */
static const char *kf_base(const struct kd_src *src, const fg_keyfile_t *f)
{
	size_t dl = strlen(src->dir);
	if (f->kind != FG_KF_DNSKEY || strncmp(f->path, src->dir, dl) || f->path[dl] != '/' ||
	    strchr(f->path + dl + 1, '/'))
		return NULL;
	return f->path + dl + 1;
}

/* Does kf hold files of dir (it read the directory)? */
static bool kf_has_dir(const fg_keyfiles_t *kf, const char *dir)
{
	struct kd_src src = { .dir = dir, .kf = kf };
	for (size_t i = 0; kf && i < kf->n; i++)
		if (kf_base(&src, &kf->f[i]))
			return true;
	return false;
}

static int add_name(char **names, unsigned *nn, const char *dir, const char *name, char *err,
		    size_t errlen)
{
	if (*nn == 64)
		return fg_errf(err, errlen, -E2BIG, "%s: more than 64 key files", dir);
	if (!(names[*nn] = strdup(name)))
		return -ENOMEM;
	(*nn)++;
	return 0;
}

/* The zone's .key file names, sorted (so that errors and key order do not
 * depend on readdir). Opens src->d when reading the directory itself. */
static int key_names(struct kd_src *src, const char *zone, int alg, char **names,
		     unsigned *count, char *err, size_t errlen)
{
	char prefix[300];
	int pl = key_prefix(zone, prefix, sizeof(prefix));
	if (pl < 0)
		return fg_errf(err, errlen, pl, "zone name too long");
	unsigned nn = 0;
	int rc = 0;
	if (src->kf) {
		for (size_t i = 0; i < src->kf->n && rc == 0; i++) {
			const char *b = kf_base(src, &src->kf->f[i]);
			if (b && key_name_match(b, prefix, pl, alg))
				rc = add_name(names, &nn, src->dir, b, err, errlen);
		}
	} else {
		int dfd = open(src->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return fg_errf(err, errlen, -errno, "key directory %s: %s", src->dir,
				       strerror(errno));
		if (!(src->d = fdopendir(dfd))) {
			close(dfd);
			return fg_errf(err, errlen, -errno, "key directory %s: %s", src->dir,
				       strerror(errno));
		}
		struct dirent *de;
		while (rc == 0 && (de = readdir(src->d)))
			if (key_name_match(de->d_name, prefix, pl, alg))
				rc = add_name(names, &nn, src->dir, de->d_name, err, errlen);
	}
	if (rc < 0) {
		for (unsigned i = 0; i < nn; i++)
			free(names[i]);
		if (src->d)
			closedir(src->d);
		src->d = NULL;
		return rc;
	}
	qsort(names, nn, sizeof(names[0]), name_cmp);
	*count = nn;
	return 0;
}

static void src_close(struct kd_src *src, char **names, unsigned nn)
{
	for (unsigned i = 0; i < nn; i++)
		free(names[i]);
	if (src->d)
		closedir(src->d);
	src->d = NULL;
}

/* A file of the directory; from kf, a .private is -EACCES (the loader's
 * fallback takes [priv]'s text, or the running key) and a .key is the
 * text [priv] read. */
static int src_read(const struct kd_src *src, const char *name, bool secret, char **buf,
		    size_t *len, char *err, size_t errlen)
{
	if (!src->kf)
		return slurp(dirfd(src->d), name, secret, buf, len, err, errlen);
	if (secret)
		return fg_errf(err, errlen, -EACCES, "%s: %s", name, strerror(EACCES));
	for (size_t i = 0; i < src->kf->n; i++) {
		const fg_keyfile_t *f = &src->kf->f[i];
		const char *b = kf_base(src, f);
		if (!b || strcmp(b, name))
			continue;
		if (!(*buf = malloc(f->len + 1)))
			return -ENOMEM;
		memcpy(*buf, f->data, f->len + 1);
		*len = f->len;
		return 0;
	}
	return fg_errf(err, errlen, -ENOENT, "%s: %s", name, strerror(ENOENT));
}

/* "NAME.key" -> "NAME.private" */
static void private_name(const char *keyname, char *out, size_t cap)
{
	size_t l = strlen(keyname);
	snprintf(out, cap, "%.*s.private", (int)(l - 4), keyname);
}

int fg_keydir_files_each(const char *dir, const char *zone, int alg, fg_keydir_text_fn fn,
			 void *ctx, char *err, size_t errlen)
{
	char *names[64];
	unsigned nn = 0;
	struct kd_src src = { .dir = dir };
	int rc = key_names(&src, zone, alg, names, &nn, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < nn && rc == 0; i++) {
		char pname[300], *text = NULL;
		size_t len = 0;
		rc = slurp(dirfd(src.d), names[i], false, &text, &len, err, errlen);
		if (rc == 0)
			rc = fn(ctx, names[i], text, len, false);
		free(text);
		text = NULL;
		private_name(names[i], pname, sizeof(pname));
		if (rc == 0)
			rc = slurp(dirfd(src.d), pname, true, &text, &len, err, errlen);
		if (rc == -ENOENT) {
			rc = 0;         /* a public key alone: the loader says so */
			continue;
		}
		if (rc == 0)
			rc = fn(ctx, pname, text, len, true);
		if (text)
			OPENSSL_cleanse(text, len);
		free(text);
	}
	src_close(&src, names, nn);
	return rc;
}

int fg_keydir_load(const char *dir, const char *zone, int alg, bool with_private,
		   const fg_keyfiles_t *kf, fg_keydir_fallback_fn fallback, void *fallback_ctx,
		   fg_dnskey_t *out, unsigned max, char *err, size_t errlen)
{
	char *names[64];
	unsigned nn = 0;
	struct kd_src src = { .dir = dir, .kf = kf_has_dir(kf, dir) ? kf : NULL };
	int rc = key_names(&src, zone, alg, names, &nn, err, errlen);
	if (rc < 0)
		return rc;
	unsigned nk = 0;
	for (unsigned i = 0; i < nn && rc == 0; i++) {
		char *text = NULL, e2[256];
		size_t len = 0;
		if (nk == max) {
			rc = fg_errf(err, errlen, -E2BIG, "%s: more than %u keys for %s", dir, max, zone);
			break;
		}
		fg_dnskey_t *k = &out[nk];
		rc = src_read(&src, names[i], false, &text, &len, err, errlen);
		if (rc < 0)
			break;
		rc = fg_dnskey_parse_public(text, len, k, e2, sizeof(e2));
		free(text);
		if (rc < 0) {
			fg_errf(err, errlen, rc, "%s/%s: %s", dir, names[i], e2);
			break;
		}
		uint8_t zw[FG_DNS_MAXNAME];
		if (fg_dns_name_from_text(zone, NULL, zw) < 0 ||
		    (fg_dns_name_lower(zw), memcmp(zw, k->owner, k->owner_len))) {
			rc = fg_errf(err, errlen, -FG_ESCHEMA, "%s/%s: key owner is not the zone %s",
				  dir, names[i], zone);
			fg_dnskey_clear(k);
			break;
		}
		if (with_private) {
			char pname[300];
			private_name(names[i], pname, sizeof(pname));
			rc = src_read(&src, pname, true, &text, &len, err, errlen);
			/* the .key's timing comments, which dnssec-settime keeps
			 * with the .private's lines, are what an unprivileged
			 * reload can read: they apply over the running key's */
			int64_t t[4] = { k->publish, k->activate, k->inactive, k->remove };
			int fb = rc == -EACCES && fallback ? fallback(fallback_ctx, dir, pname, k) : -1;
			if (fb >= 0) {
				/* 1: the .private text itself, parsed over the .key as
				 * below; 0: a running key, whose timing is stale */
				if (fb == 0 && (t[0] || t[1] || t[2] || t[3])) {
					k->publish = t[0];
					k->activate = t[1];
					k->inactive = t[2];
					k->remove = t[3];
				}
				rc = 0;
				nk++;
				continue;
			}
			if (rc < 0) {
				fg_dnskey_clear(k);
				break;
			}
			rc = fg_dnskey_parse_private(text, len, k, e2, sizeof(e2));
			OPENSSL_cleanse(text, len);
			free(text);
			if (rc < 0) {
				fg_errf(err, errlen, rc, "%s/%s: %s", dir, pname, e2);
				fg_dnskey_clear(k);
				break;
			}
		}
		nk++;
	}
	src_close(&src, names, nn);
	if (rc < 0) {
		for (unsigned i = 0; i < nk; i++)
			fg_dnskey_clear(&out[i]);
		return rc;
	}
	return (int)nk;
}

static int write_new(int dfd, const char *name, const char *text, mode_t mode,
		     char *err, size_t errlen)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "%s: %s", name, strerror(errno));
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int rc = (n == (ssize_t)len && fsync(fd) == 0) ? 0 : -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -EIO;
	if (rc < 0) {
		unlinkat(dfd, name, 0);
		return fg_errf(err, errlen, rc, "%s: write failed", name);
	}
	return 0;
}

int fg_keydir_write(const char *dir, const fg_dnskey_t *k, int64_t now, int64_t activate,
		    char *name, size_t namelen, char *err, size_t errlen)
{
	char zone[FG_DNS_MAXNAME * 4 + 2], prefix[300], pub[2048], priv[2048];
	char kname[320], pname[320];
	int rc;

	if (fg_dns_name_to_text(k->owner, zone, sizeof(zone)) < 0 ||
	    key_prefix(zone, prefix, sizeof(prefix)) < 0)
		return fg_errf(err, errlen, -EINVAL, "bad zone name");
	snprintf(name, namelen, "%s%03u+%05u", prefix, k->alg, k->tag);
	snprintf(kname, sizeof(kname), "%s.key", name);
	snprintf(pname, sizeof(pname), "%s.private", name);
	rc = fg_dnskey_format(k, now, activate, pub, sizeof(pub), priv, sizeof(priv));
	if (rc < 0)
		return fg_errf(err, errlen, rc, "cannot format the key");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		OPENSSL_cleanse(priv, sizeof(priv));
		return fg_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	}
	/* the private half first: a .key without it would be a key that
	 * loads as published but can never sign */
	rc = write_new(dfd, pname, priv, 0600, err, errlen);
	OPENSSL_cleanse(priv, sizeof(priv));
	if (rc == 0) {
		rc = write_new(dfd, kname, pub, 0644, err, errlen);
		if (rc < 0)
			unlinkat(dfd, pname, 0);
	}
	close(dfd);
	return rc;
}
