/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conf/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "common/err.h"

/* a 256-octet secret is 344 base64 characters; a tsig-keygen stanza adds
 * a few lines around it */
#define SECRETFILE_MAX 4096

static bool is_b64(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/' || ch == '=';
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* copy the base64 run t[0..n) into out; -FG_ESYNTAX if it is not one */
static int take(const char *t, size_t n, char *out, size_t cap)
{
	if (n == 0)
		return -FG_ESYNTAX;
	for (size_t i = 0; i < n; i++)
		if (!is_b64(t[i]))
			return -FG_ESYNTAX;
	if (n >= cap)
		return -FG_ESPACE;
	memcpy(out, t, n);
	out[n] = '\0';
	return (int)n;
}

int fg_secretfile_parse(const char *text, size_t len, char *out, size_t cap)
{
	static const char clause[] = "secret";

	if (!text || !out || cap == 0)
		return -FG_ESYNTAX;
	/* a BIND key stanza: key "name" { algorithm ...; secret "B64"; }; */
	for (size_t i = 0; i + sizeof(clause) - 1 <= len; i++) {
		if (memcmp(text + i, clause, sizeof(clause) - 1) != 0 ||
		    (i > 0 && !is_space(text[i - 1]) && text[i - 1] != '{' && text[i - 1] != ';'))
			continue;
		size_t p = i + sizeof(clause) - 1;
		while (p < len && is_space(text[p]))
			p++;
		if (p >= len || text[p] != '"')
			continue;
		size_t s = ++p;
		while (p < len && text[p] != '"')
			p++;
		if (p >= len)
			return -FG_ESYNTAX;
		return take(text + s, p - s, out, cap);
	}
	/* else one bare token, surrounding white space allowed */
	size_t s = 0, e = len;
	while (s < e && is_space(text[s]))
		s++;
	while (e > s && is_space(text[e - 1]))
		e--;
	return take(text + s, e - s, out, cap);
}

static void fill_id(const struct stat *st, fg_secretfile_id_t *id)
{
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->size = (uint64_t)st->st_size;
	id->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	id->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	id->set = true;
}

int fg_secretfile_stat(const char *path, fg_secretfile_id_t *id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	fill_id(&st, id);
	return 0;
}

bool fg_secretfile_same(const fg_secretfile_id_t *a, const fg_secretfile_id_t *b)
{
	return a->set && b->set && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

int fg_secretfile_read(const char *path, char **secret, fg_secretfile_id_t *id,
		       char *err, size_t errlen)
{
	char buf[SECRETFILE_MAX + 1];
	char tok[SECRETFILE_MAX + 1];
	struct stat st;
	size_t n = 0;
	int rc;

	*secret = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		return fg_errf(err, errlen, rc, "%s: %s", path, fg_strerror(rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return fg_errf(err, errlen, rc, "%s: %s", path, fg_strerror(rc));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fg_errf(err, errlen, -FG_ESYNTAX, "%s: not a regular file", path);
	}
	/* the secret proves a resolver or a client: nobody but its owner may
	 * read it, nor replace it */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return fg_errf(err, errlen, -EPERM,
			       "%s: mode %03o: readable or writable by group or others "
			       "(chmod 600 it)", path, (unsigned)(st.st_mode & 0777));
	}
	if (st.st_size > SECRETFILE_MAX) {
		close(fd);
		return fg_errf(err, errlen, -EFBIG, "%s: larger than %d bytes", path,
			       SECRETFILE_MAX);
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			close(fd);
			OPENSSL_cleanse(buf, sizeof(buf));
			return fg_errf(err, errlen, rc, "%s: %s", path, fg_strerror(rc));
		}
		if (r == 0 || (n += (size_t)r) == sizeof(buf) - 1)
			break;
	}
	close(fd);
	rc = fg_secretfile_parse(buf, n, tok, sizeof(tok));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc < 0) {
		OPENSSL_cleanse(tok, sizeof(tok));
		/* never echo the content */
		return fg_errf(err, errlen, -FG_ESYNTAX,
			       "%s: no secret found (write the base64 secret alone, or the "
			       "key stanza tsig-keygen prints)", path);
	}
	*secret = strdup(tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (!*secret)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	fill_id(&st, id);
	return 0;
}
