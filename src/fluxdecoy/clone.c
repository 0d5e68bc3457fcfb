/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "decoy/httpwire.h"
#include "decoy/persona.h"
#include "decoy/sshprobe.h"
#include "decoy/sshwire.h"
#include "fluxdecoy/clone.h"
#include "fluxdecoy/clone_h2.h"
#include "fluxdecoy/clone_udp.h"
#include "fluxdecoy/event.h"

#define CAP_MAX (4u << 20)   /* most bytes kept of one answer */

struct target {
	unsigned port;
	int kind;
	bool udp;                 /* udp/N: fluxdecoy/clone_udp.h */
};

struct peer {
	int fd;
	SSL *ssl;
};

static int kind_for_port(unsigned port)
{
	switch (port) {
	case 443: case 8443: return FD_HTTPS;
	case 22: return FD_SSH;
	case 25: case 587: case 2525: return FD_SMTP;
	default: return FD_HTTP;
	}
}

/* "tcp/80,tcp/443=https,22" */
static int parse_ports(const char *spec, struct target *t, size_t max, size_t *n)
{
	char *dup = strdup(spec), *save = NULL;

	if (!dup)
		return -ENOMEM;
	*n = 0;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *kind = strchr(tok, '=');
		if (kind)
			*kind++ = '\0';
		bool udp = false;
		if (strncmp(tok, "tcp/", 4) == 0) {
			tok += 4;
		} else if (strncmp(tok, "udp/", 4) == 0) {
			tok += 4;
			udp = true;
			if (kind) {
				fprintf(stderr, "fluxdecoy clone: udp/%s: a UDP port has "
					"no kind\n", tok);
				goto bad;
			}
		} else if (strchr(tok, '/')) {
			fprintf(stderr, "fluxdecoy clone: '%s': tcp/ and udp/ ports are "
				"cloned\n", tok);
			goto bad;
		}
		char *end;
		unsigned long p = strtoul(tok, &end, 10);
		if (!*tok || *end || p < 1 || p > 65535 || *n == max) {
			fprintf(stderr, "fluxdecoy clone: bad port '%s'\n", tok);
			goto bad;
		}
		t[*n].port = (unsigned)p;
		t[*n].kind = kind_for_port((unsigned)p);
		t[*n].udp = udp;
		if (kind) {
			int k = -1;
			for (int i = 0; fd_kind_names[i]; i++)
				if (strcmp(kind, fd_kind_names[i]) == 0)
					k = i;
			if (k < 0) {
				fprintf(stderr, "fluxdecoy clone: unknown kind '%s' "
					"(http, https, ssh, smtp)\n", kind);
				goto bad;
			}
			t[*n].kind = k;
		}
		(*n)++;
	}
	free(dup);
	return *n ? 0 : -EINVAL;
bad:
	free(dup);
	return -EINVAL;
}

static int peer_connect(const char *addr, unsigned port, struct peer *p, unsigned timeout_s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char ps[8];
	struct timeval tv = { .tv_sec = timeout_s };

	p->fd = -1;
	p->ssl = NULL;
	snprintf(ps, sizeof(ps), "%u", port);
	/* numeric only: clone talks to the address it was given, nothing else */
	if (getaddrinfo(addr, ps, &hints, &ai) != 0)
		return -EINVAL;
	p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(p->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int rc = -errno;
		freeaddrinfo(ai);
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
		return rc;
	}
	freeaddrinfo(ai);
	return 0;
}

static void peer_close(struct peer *p)
{
	if (p->ssl) {
		SSL_shutdown(p->ssl);
		SSL_free(p->ssl);
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->ssl = NULL;
}

static ssize_t peer_read(struct peer *p, void *buf, size_t n)
{
	if (p->ssl) {
		int r = SSL_read(p->ssl, buf, (int)n);
		if (r > 0)
			return r;
		ERR_clear_error();
		return SSL_get_error(p->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -EIO;
	}
	ssize_t r = recv(p->fd, buf, n, 0);
	return r < 0 ? -errno : r;
}

static int peer_write(struct peer *p, const void *buf, size_t n)
{
	if (p->ssl)
		return SSL_write(p->ssl, buf, (int)n) == (int)n ? 0 : -EIO;
	return send(p->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -EIO;
}

struct buf {
	char *p;
	size_t n, cap;
};

static int buf_fill(struct peer *p, struct buf *b)
{
	if (b->n + 4096 + 1 > b->cap) {
		if (b->cap >= CAP_MAX)
			return -EFBIG;
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	ssize_t r = peer_read(p, b->p + b->n, b->cap - b->n - 1);
	if (r > 0) {
		b->n += (size_t)r;
		b->p[b->n] = '\0';
	}
	return (int)r;
}

/* Read one HTTP response: the head, then Content-Length bytes, a chunked
 * body to its last chunk, or to the end of the stream. */
static int http_read(struct peer *p, bool head, struct buf *b)
{
	char *end;
	int r;

	while (!b->p || !(end = strstr(b->p, "\r\n\r\n")))
		if ((r = buf_fill(p, b)) <= 0)
			return r < 0 ? r : -FG_ETRUNC;
	size_t hlen = (size_t)(end - b->p) + 4;
	if (head)
		goto done;
	const char *cl = strcasestr(b->p, "\r\nContent-Length:");
	if (cl && cl < end) {
		unsigned long long want = strtoull(cl + 17, NULL, 10);
		if (want > CAP_MAX)
			return -EFBIG;
		while (b->n < hlen + want)
			if ((r = buf_fill(p, b)) <= 0)
				return r < 0 ? r : -FG_ETRUNC;
		b->n = hlen + (size_t)want;
		goto done;
	}
	const char *te = strcasestr(b->p, "\r\nTransfer-Encoding: chunked");
	if (te && te < end) {
		while (!strstr(b->p + hlen - 2, "\r\n0\r\n\r\n"))
			if ((r = buf_fill(p, b)) <= 0)
				return r < 0 ? r : -FG_ETRUNC;
		b->n = (size_t)(strstr(b->p + hlen - 2, "\r\n0\r\n\r\n") + 7 - b->p);
		goto done;
	}
	while ((r = buf_fill(p, b)) > 0)
		;
	if (r < 0 && r != -EAGAIN && r != -EWOULDBLOCK)
		return r;
	return 0;
done:
	b->p[b->n] = '\0';
	if (!head)
		return 0;
	b->n = hlen;
	b->p[hlen] = '\0';
	return 0;
}

/* Whether a persona string can hold these bytes: valid UTF-8 without NUL
 * (a YAML scalar cannot hold the rest). */
static bool str_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0)
			return false;
		if (c >= 0x80) {
			size_t k = c >= 0xf5 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 :
				   c >= 0xc2 ? 1 : 0;
			if (k == 0 || i + k >= n)
				return false;
			for (size_t j = 1; j <= k; j++)
				if (((unsigned char)s[i + j] & 0xc0) != 0x80)
					return false;
			i += k;
		}
	}
	return true;
}

/* YAML double-quoted scalar of bytes str_ok() takes. */
static int emit_str(FILE *o, const char *s, size_t n)
{
	if (!str_ok(s, n))
		return -FG_EMALF;
	fputc('"', o);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", o); break;
		case '\\': fputs("\\\\", o); break;
		case '\r': fputs("\\r", o); break;
		case '\n': fputs("\\n", o); break;
		case '\t': fputs("\\t", o); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(o, "\\x%02x", c);
			else
				fputc(c, o);
		}
	}
	fputc('"', o);
	return 0;
}

static int emit_key_at(FILE *o, const char *indent, const char *key, const char *s,
		      size_t n)
{
	fprintf(o, "%s%s: ", indent, key);
	int rc = emit_str(o, s, n);
	fputc('\n', o);
	if (rc < 0)
		fprintf(stderr, "fluxdecoy clone: %s: NUL byte or invalid UTF-8, "
			"which a persona cannot hold\n", key);
	return rc;
}

static int emit_key(FILE *o, const char *key, const char *s, size_t n)
{
	return emit_key_at(o, "    ", key, s, n);
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	/* capture whatever the server presents: no verification here */
	if (ctx)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* A message of the persona loader about what clone wrote (a bug of clone's). */
static void clone_diag(void *ctx, const char *file, int line, const char *msg)
{
	fprintf(stderr, "fluxdecoy clone: %s:%d: %s\n", file, line, msg);
}

/* The protocol the server selects from `protos` (ALPN wire form) into
 * sel (NUL-terminated, "" for none). With h2 selected and settings given,
 * also its SETTINGS and first WINDOW_UPDATE (fluxdecoy/clone_h2.h). */
static void alpn_probe(const char *addr, unsigned port, SSL_CTX *tls,
		       const unsigned char *protos, unsigned plen, char sel[256],
		       unsigned timeout, char **settings, unsigned *wu)
{
	const unsigned char *p = NULL;
	unsigned len = 0;
	struct peer pr;
	char auth[INET6_ADDRSTRLEN + 2];

	sel[0] = '\0';
	if (peer_connect(addr, port, &pr, timeout) < 0)
		return;
	pr.ssl = SSL_new(tls);
	if (pr.ssl && SSL_set_alpn_protos(pr.ssl, protos, plen) == 0 &&
	    SSL_set_fd(pr.ssl, pr.fd) == 1 && SSL_connect(pr.ssl) == 1) {
		SSL_get0_alpn_selected(pr.ssl, &p, &len);
		memcpy(sel, p, len);
		sel[len] = '\0';
		snprintf(auth, sizeof(auth), strchr(addr, ':') ? "[%s]" : "%s", addr);
		if (settings && strcmp(sel, "h2") == 0 &&
		    fd_clone_h2(pr.ssl, auth, settings, wu) < 0)
			fprintf(stderr, "fluxdecoy clone: warning: %s port %u selects h2 "
				"but its HTTP/2 SETTINGS could not be read\n", addr, port);
	}
	ERR_clear_error();
	peer_close(&pr);
}

/* The ALPN keys of the persona: what it selects, whose order wins, and
 * with h2 its SETTINGS and connection WINDOW_UPDATE. */
static int clone_alpn(FILE *o, const char *addr, unsigned port, SSL_CTX *tls,
		      unsigned timeout)
{
	char both[256], h1[256], rev[256];
	char *settings = NULL;
	unsigned wu = 0;
	int rc = 0;

	alpn_probe(addr, port, tls, (const unsigned char *)"\x02h2\x08http/1.1", 12,
		   both, timeout, &settings, &wu);
	alpn_probe(addr, port, tls, (const unsigned char *)"\x08http/1.1", 9, h1,
		   timeout, NULL, NULL);
	bool h2 = strcmp(both, "h2") == 0, http11 = strcmp(h1, "http/1.1") == 0;
	if (!h2 && !http11)
		goto out;
	fprintf(o, "    alpn:\n      protocols: [%s%s%s]\n", h2 ? "h2" : "",
		h2 && http11 ? ", " : "", http11 ? "\"http/1.1\"" : "");
	if (h2 && http11) {
		alpn_probe(addr, port, tls, (const unsigned char *)"\x08http/1.1\x02h2", 12,
			   rev, timeout, NULL, NULL);
		fprintf(o, "      prefer: %s\n", strcmp(rev, "h2") == 0 ? "server" : "client");
	}
	if (settings) {
		rc = emit_key_at(o, "      ", "h2-settings", settings, strlen(settings));
		if (wu)
			fprintf(o, "      h2-window-update: %u\n", wu);
	}
out:
	free(settings);
	return rc;
}

/* One request: METHOD PATH with curl's header set plus `extra` (lines
 * ending in CR LF, may be NULL); without a method, `path` is sent as it is
 * (raw, `rawlen` bytes). */
static int http_exchange_x(const char *addr, unsigned port, SSL_CTX *tls,
			   const char *method, const char *path, size_t rawlen,
			   const char *extra, struct buf *b, char **chain_pem,
			   unsigned timeout)
{
	struct peer p;
	char req[1024];
	int rc = peer_connect(addr, port, &p, timeout);

	if (rc < 0)
		return rc;
	if (tls) {
		p.ssl = SSL_new(tls);
		if (!p.ssl || SSL_set_fd(p.ssl, p.fd) != 1 || SSL_connect(p.ssl) != 1) {
			ERR_clear_error();
			peer_close(&p);
			return -FG_EAUTH;
		}
		if (chain_pem) {
			STACK_OF(X509) *ch = SSL_get_peer_cert_chain(p.ssl);
			BIO *m = BIO_new(BIO_s_mem());
			for (int i = 0; m && ch && i < sk_X509_num(ch); i++)
				PEM_write_bio_X509(m, sk_X509_value(ch, i));
			char *data;
			long len = m ? BIO_get_mem_data(m, &data) : 0;
			if (len > 0 && (*chain_pem = malloc((size_t)len + 1))) {
				memcpy(*chain_pem, data, (size_t)len);
				(*chain_pem)[len] = '\0';
			}
			BIO_free(m);
		}
	}
	/* the request curl sends, so the answer is the one a client sees;
	 * without a method, `path` is sent as it is */
	int n = method ? snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s%s%s\r\n"
				  "User-Agent: curl/7.88.1\r\nAccept: */*\r\n%s\r\n",
				  method, path, strchr(addr, ':') ? "[" : "", addr,
				  strchr(addr, ':') ? "]" : "", extra ? extra : "")
		       : 0;
	rc = method ? peer_write(&p, req, (size_t)n) : peer_write(&p, path, rawlen);
	if (rc == 0)
		rc = http_read(&p, method && strcmp(method, "HEAD") == 0, b);
	peer_close(&p);
	return rc;
}

static int http_exchange(const char *addr, unsigned port, SSL_CTX *tls,
			 const char *method, const char *path, struct buf *b,
			 char **chain_pem, unsigned timeout)
{
	return http_exchange_x(addr, port, tls, method, path, method ? 0 : strlen(path),
			       NULL, b, chain_pem, timeout);
}

/* The status of a captured answer, 0 when it is not HTTP. */
static unsigned http_status(const struct buf *b)
{
	if (!b->p || b->n < 12 || strncmp(b->p, "HTTP/", 5) != 0)
		return 0;
	const char *sp = strchr(b->p, ' ');
	return sp ? (unsigned)strtoul(sp + 1, NULL, 10) : 0;
}

/* A file served with ranges: its answer to "Range: bytes=0-0" is a 206
 * with "Content-Range: bytes 0-0/SIZE". Returns SIZE, or -1. */
static long long range_total(const struct buf *r)
{
	const char *hend = r->p ? strstr(r->p, "\r\n\r\n") : NULL;
	const char *cr = hend ? strcasestr(r->p, "\r\nContent-Range: bytes 0-0/") : NULL;

	if (http_status(r) != 206 || !cr || cr > hend)
		return -1;
	const char *v = cr + strlen("\r\nContent-Range: bytes 0-0/");
	char *end;
	unsigned long long t = strtoull(v, &end, 10);
	if (end == v || *end != '\r' || t == 0 || t > 0xffffffffull)
		return -1;
	return (long long)t;
}

/* A sized page (persona.h): the 200 answer (with the file's bytes when a
 * persona can hold them, else its head alone: zero bytes are served), the
 * 206 head of the Range probe, the 416 to a range past the end, and the
 * head of its answer to two ranges far apart (the first and the last byte)
 * when that is a 206 multipart/byteranges. */
static int clone_sized(FILE *o, const char *addr, const struct target *t, SSL_CTX *tls,
		       const char *path, struct buf *r, long long total, unsigned timeout)
{
	struct buf h = { 0 }, u = { 0 }, g = { 0 }, m = { 0 };
	char extra[64], ct[256], bd[71];
	char *hend = strstr(r->p, "\r\n\r\n");
	bool zero = (size_t)(hend + 4 - r->p) < r->n && hend[4] == '\0';
	int rc;

	hend[4] = '\0';
	rc = http_exchange(addr, t->port, tls, "HEAD", path, &h, NULL, timeout);
	/* the whole file when it is small enough and text a persona holds */
	if (rc == 0 && !zero && total < CAP_MAX / 2 &&
	    http_exchange(addr, t->port, tls, "GET", path, &g, NULL, timeout) == 0 &&
	    g.p && strstr(g.p, "\r\n\r\n") &&
	    g.n - (size_t)(strstr(g.p, "\r\n\r\n") + 4 - g.p) == (size_t)total &&
	    str_ok(g.p, g.n)) {
		free(h.p);
		h = g;
		g = (struct buf){ 0 };
	} else if (rc == 0 && !zero) {
		fprintf(stderr, "fluxdecoy clone: warning: %s is not all zero bytes and "
			"its body cannot be kept; the decoy serves zeros\n", path);
	}
	free(g.p);
	snprintf(extra, sizeof(extra), "Range: bytes=%lld-\r\n", total);
	if (rc == 0 && (http_exchange_x(addr, t->port, tls, "GET", path, 0, extra, &u,
					NULL, timeout) < 0 || http_status(&u) != 416)) {
		free(u.p);
		u = (struct buf){ 0 };
	}
	/* merged ranges are one part: these two lie more than the merge gap apart */
	char *mend = NULL;
	if (rc == 0 && total > FD_RANGE_MERGE_GAP + 2 &&
	    (http_exchange_x(addr, t->port, tls, "GET", path, 0, "Range: bytes=0-0,-1\r\n", &m,
			     NULL, timeout) < 0 || http_status(&m) != 206 ||
	     !(mend = strstr(m.p, "\r\n\r\n")) ||
	     fd_http_field(m.p, "Content-Type", ct, sizeof(ct)) < 0 || fd_http_boundary(ct, bd) < 0)) {
		free(m.p);
		m = (struct buf){ 0 };
	}
	if (rc == 0) {
		fprintf(o, "      - path: ");
		rc = emit_str(o, path, strlen(path));
		fprintf(o, "\n        size: %lld\n", total);
	}
	if (rc == 0)
		rc = emit_key_at(o, "        ", "response-get", h.p, h.n);
	size_t hl = rc == 0 ? (size_t)(strstr(h.p, "\r\n\r\n") + 4 - h.p) : 0;
	if (rc == 0)
		rc = emit_key_at(o, "        ", "response-head", h.p, hl);
	if (rc == 0)
		rc = emit_key_at(o, "        ", "response-range", r->p, strlen(r->p));
	if (rc == 0 && u.p)
		rc = emit_key_at(o, "        ", "response-range-unsatisfiable", u.p, u.n);
	if (rc == 0 && m.p)   /* the head alone: the parts are built per request */
		rc = emit_key_at(o, "        ", "response-range-multi", m.p,
				 (size_t)(mend + 4 - m.p));
	free(h.p);
	free(u.p);
	free(m.p);
	return rc;
}

/* The real server's limit on a request head (lighttpd's
 * server.max-request-field-size), found by halving between 256 bytes and
 * FD_HTTP_MAX_HEAD, and its answer to a longer head. Best effort: on
 * failure the persona keeps the defaults. */
static int clone_head_limit(FILE *o, const char *addr, const struct target *t,
			    SSL_CTX *tls, unsigned timeout)
{
	char *req = malloc(FD_HTTP_MAX_HEAD + 64);
	struct buf b = { 0 }, x = { 0 };
	int rc = 0;

	if (!req)
		return -ENOMEM;
	/* a head of exactly n bytes: request line, padding field, blank line */
#define PROBE(n, bp) do { \
		size_t _n = (n); \
		memcpy(req, "GET / HTTP/1.1\r\nX-Pad: ", 23); \
		memset(req + 23, 'p', _n - 27); \
		memcpy(req + _n - 4, "\r\n\r\n", 4); \
		free((bp)->p); \
		*(bp) = (struct buf){ 0 }; \
		if (http_exchange_x(addr, t->port, tls, NULL, req, _n, NULL, (bp), \
				    NULL, timeout) < 0 && !(bp)->p) \
			goto out; \
	} while (0)
	PROBE(FD_HTTP_MAX_HEAD, &b);
	unsigned too = http_status(&b);
	if (too < 400)                  /* takes even that: the highest limit */
		goto out;
	rc = emit_key(o, "response-too-large", b.p, b.n);
	size_t lo = 256, hi = FD_HTTP_MAX_HEAD;  /* lo taken, hi refused */
	while (rc == 0 && hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		PROBE(mid, &x);
		if (http_status(&x) == too)
			hi = mid;
		else
			lo = mid;
	}
	if (rc == 0)
		fprintf(o, "    max-request-head: %zu\n", lo);
#undef PROBE
out:
	free(x.p);
	free(b.p);
	free(req);
	return rc;
}

/* Extra paths captured like "/" (--paths), in the persona's pages. */
struct paths {
	char **v;
	size_t n;
};

static int clone_pages(FILE *o, const char *addr, const struct target *t, SSL_CTX *tls,
		       const struct paths *ps, unsigned timeout)
{
	int rc = 0;

	if (ps->n)
		fprintf(o, "    pages:\n");
	for (size_t i = 0; rc == 0 && i < ps->n; i++) {
		struct buf g = { 0 }, h = { 0 }, r = { 0 };
		long long total = -1;
		if (http_exchange_x(addr, t->port, tls, "GET", ps->v[i], 0,
				    "Range: bytes=0-0\r\n", &r, NULL, timeout) == 0)
			total = range_total(&r);
		if (total > 0) {
			rc = clone_sized(o, addr, t, tls, ps->v[i], &r, total, timeout);
			free(r.p);
			continue;
		}
		free(r.p);
		rc = http_exchange(addr, t->port, tls, "GET", ps->v[i], &g, NULL, timeout);
		if (rc == 0)
			rc = http_exchange(addr, t->port, tls, "HEAD", ps->v[i], &h, NULL, timeout);
		if (rc == 0) {
			fprintf(o, "      - path: ");
			rc = emit_str(o, ps->v[i], strlen(ps->v[i]));
			fputc('\n', o);
		}
		if (rc == 0)
			rc = emit_key_at(o, "        ", "response-get", g.p, g.n);
		if (rc == 0)
			rc = emit_key_at(o, "        ", "response-head", h.p, h.n);
		free(g.p);
		free(h.p);
	}
	return rc;
}

static int clone_http(FILE *o, const char *addr, const struct target *t,
		      const struct paths *ps, unsigned timeout)
{
	struct buf g = { 0 }, h = { 0 }, nf = { 0 }, bad = { 0 };
	char *chain = NULL;
	SSL_CTX *tls = t->kind == FD_HTTPS ? client_ctx() : NULL;
	int rc;

	if (t->kind == FD_HTTPS && !tls)
		return -ENOMEM;
	rc = http_exchange(addr, t->port, tls, "GET", "/", &g, &chain, timeout);
	if (rc == 0)
		rc = http_exchange(addr, t->port, tls, "HEAD", "/", &h, NULL, timeout);
	if (rc == 0)
		rc = http_exchange(addr, t->port, tls, "GET",
				   "/fluxdecoy-clone-missing-page", &nf, NULL, timeout);
	/* what it answers to a line that is not HTTP (optional: some servers
	 * just close) */
	if (rc == 0 && (http_exchange(addr, t->port, tls, NULL, "GARBAGE\r\n\r\n", &bad,
				      NULL, timeout) < 0 || !bad.p ||
			strncmp(bad.p, "HTTP/", 5) != 0)) {
		free(bad.p);
		bad = (struct buf){ 0 };
	}
	if (rc == 0) {
		fprintf(o, "  - port: %u\n    kind: %s\n", t->port, fd_kind_names[t->kind]);
		rc = emit_key(o, "response-get", g.p, g.n);
		if (rc == 0)
			rc = emit_key(o, "response-head", h.p, h.n);
		if (rc == 0)
			rc = emit_key(o, "response-not-found", nf.p, nf.n);
		if (rc == 0 && bad.p)
			rc = emit_key(o, "response-bad-request", bad.p, bad.n);
		if (rc == 0)
			rc = clone_head_limit(o, addr, t, tls, timeout);
		if (rc == 0 && chain)
			rc = emit_key(o, "tls-chain", chain, strlen(chain));
		if (rc == 0 && tls)
			rc = clone_alpn(o, addr, t->port, tls, timeout);
		if (rc == 0)
			rc = clone_pages(o, addr, t, tls, ps, timeout);
	}
	free(bad.p);
	free(g.p);
	free(h.p);
	free(nf.p);
	free(chain);
	SSL_CTX_free(tls);
	return rc;
}

/* sshd's method list for "none", read through one key exchange on the
 * same connection (decoy/sshprobe.h). Best effort: on failure the persona
 * keeps the default ssh-auth-methods. */
static int probe_methods(struct peer *pp, struct buf *b, size_t off, const char *me,
			 const char *ver, const uint8_t *is, size_t islen,
			 char *methods, size_t mlen)
{
	fd_ssh_probe_t *pr;
	uint8_t out[8192];
	size_t outlen = 0, used;
	int rc = fd_ssh_probe_new(me, ver, is, islen, "root", &pr);

	if (rc < 0)
		return rc;
	rc = fd_ssh_probe_start(pr, out, sizeof(out));
	if (rc > 0)
		rc = peer_write(pp, out, (size_t)rc);
	while (rc == 0) {
		rc = fd_ssh_probe_input(pr, (uint8_t *)b->p + off, b->n - off, &used, out,
					sizeof(out), &outlen);
		off += used;
		if (rc >= 0 && outlen && peer_write(pp, out, outlen) < 0)
			rc = -EIO;
		if (rc == 0 && (rc = buf_fill(pp, b)) > 0)
			rc = 0;
		else if (rc == 0)
			rc = -FG_ETRUNC;   /* closed before its answer */
	}
	if (rc == 1)
		snprintf(methods, mlen, "%s", fd_ssh_probe_methods(pr));
	fd_ssh_probe_free(pr);
	return rc == 1 ? 0 : rc;
}

static int clone_ssh(FILE *o, const char *addr, const struct target *t, unsigned timeout)
{
	struct peer p;
	struct buf b = { 0 };
	char ver[256];
	int rc = peer_connect(addr, t->port, &p, timeout), r;
	size_t off = 0;
	fd_strlist_t lists[FD_SSH_NLISTS];

	if (rc < 0)
		return rc;
	while ((r = b.p ? fd_ssh_version_parse((uint8_t *)b.p, b.n, 1, ver, sizeof(ver))
			: -EAGAIN) == -EAGAIN)
		if ((rc = buf_fill(&p, &b)) <= 0)
			goto short_read;
	if (r < 0) {
		rc = r;
		goto out;
	}
	off = (size_t)r;
	static const char me[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
	if ((rc = peer_write(&p, me, sizeof(me) - 1)) < 0)
		goto out;
	const uint8_t *pl;
	size_t plen;
	while ((r = fd_ssh_packet_parse((uint8_t *)b.p + off, b.n - off, &pl, &plen)) == -EAGAIN)
		if ((rc = buf_fill(&p, &b)) <= 0)
			goto short_read;
	if (r < 0 || (rc = fd_ssh_kexinit_parse(pl, plen, lists)) < 0) {
		rc = r < 0 ? r : rc;
		goto out;
	}
	char methods[512] = "", mine[64];
	snprintf(mine, sizeof(mine), "%.*s", (int)sizeof(me) - 3, me);
	int pr = probe_methods(&p, &b, off + (size_t)r, mine, ver, pl, plen, methods,
			       sizeof(methods));
	if (pr < 0)
		fprintf(stderr, "fluxdecoy clone: warning: %s port %u: the login methods "
			"could not be read (%s); ssh-auth-methods keeps its default\n",
			addr, t->port, fg_strerror(pr));
	fprintf(o, "  - port: %u\n    kind: ssh\n", t->port);
	rc = emit_key(o, "ssh-version", ver, strlen(ver));
	for (size_t i = 0; i < FD_SSH_NLISTS; i++) {
		if (lists[i].n == 0)
			continue;  /* an empty list is the default */
		fprintf(o, "    %s:\n", fd_ssh_list_keys[i]);
		for (size_t j = 0; j < lists[i].n; j++)
			fprintf(o, "      - \"%s\"\n", lists[i].v[j]);
		fd_strlist_free(&lists[i]);
	}
	if (rc == 0 && methods[0])
		rc = emit_key(o, "ssh-auth-methods", methods, strlen(methods));
	goto out;
short_read:
	if (rc == 0)
		rc = -FG_ETRUNC;
out:
	free(b.p);
	peer_close(&p);
	return rc;
}

/* A complete (multi-line) SMTP reply starting at b->p + from. */
static int smtp_reply(struct peer *p, struct buf *b, size_t from, size_t *end)
{
	for (;;) {
		size_t i = from;
		while (b->p && i < b->n) {
			char *nl = memchr(b->p + i, '\n', b->n - i);
			if (!nl)
				break;
			if (nl - (b->p + i) >= 4 && b->p[i + 3] == ' ') {
				*end = (size_t)(nl - b->p) + 1;
				return 0;
			}
			i = (size_t)(nl - b->p) + 1;
		}
		int r = buf_fill(p, b);
		if (r <= 0)
			return r < 0 ? r : -FG_ETRUNC;
	}
}

static int clone_smtp(FILE *o, const char *addr, const struct target *t, unsigned timeout)
{
	struct peer p;
	struct buf b = { 0 };
	size_t g_end, e_end, q_end = 0, at;
	/* envelope replies: a MAIL and a RCPT to postmaster (RFC 5321, 4.5.1),
	 * then RSET; never DATA, so nothing is ever sent through the server */
	static const struct { const char *cmd, *key; } env[] = {
		{ "MAIL FROM:<clone@clone.invalid>\r\n", "smtp-mail" },
		{ "RCPT TO:<postmaster>\r\n", "smtp-rcpt" },
		{ "RSET\r\n", "smtp-rset" },
		{ "NOOP\r\n", "smtp-noop" },
	};
	size_t env_from[4] = { 0 }, env_to[4] = { 0 };
	int rc = peer_connect(addr, t->port, &p, timeout);

	if (rc < 0)
		return rc;
	rc = smtp_reply(&p, &b, 0, &g_end);
	if (rc == 0)
		rc = peer_write(&p, "EHLO clone.invalid\r\n", 20);
	if (rc == 0)
		rc = smtp_reply(&p, &b, g_end, &e_end);
	at = e_end;
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		if (peer_write(&p, env[i].cmd, strlen(env[i].cmd)) < 0 ||
		    smtp_reply(&p, &b, at, &env_to[i]) < 0)
			break;
		env_from[i] = at;
		at = env_to[i];
	}
	/* the QUIT reply is optional: some servers just close */
	size_t q_from = at;
	if (rc == 0 && peer_write(&p, "QUIT\r\n", 6) == 0 &&
	    smtp_reply(&p, &b, at, &q_end) < 0)
		q_end = 0;
	if (rc == 0) {
		fprintf(o, "  - port: %u\n    kind: smtp\n", t->port);
		rc = emit_key(o, "smtp-greeting", b.p, g_end);
		if (rc == 0)
			rc = emit_key(o, "smtp-ehlo", b.p + g_end, e_end - g_end);
		for (size_t i = 0; rc == 0 && i < 4; i++)
			if (env_to[i] > env_from[i] &&
			    strncmp(b.p + env_from[i], "250", 3) == 0)  /* refusals stay Postfix's */
				rc = emit_key(o, env[i].key, b.p + env_from[i],
					      env_to[i] - env_from[i]);
		if (rc == 0 && q_end > q_from && strncmp(b.p + q_from, "221", 3) == 0)
			rc = emit_key(o, "smtp-quit", b.p + q_from, q_end - q_from);
	}
	free(b.p);
	peer_close(&p);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fluxdecoy clone --from ADDR --ports tcp/80,tcp/443,tcp/22,tcp/25\n"
		   "                       [--name NAME] [-o FILE] [--timeout SECONDS]\n"
		   "                       [--paths /index.html,/robots.txt,...]\n"
		   "                       [--zone ZONE [--names www,ns1,...]]\n"
		   "  a port may name its kind: tcp/8080=http (http, https, ssh, smtp)\n"
		   "  udp/N: nmap's UDP probes for N (nmap-service-probes); udp/53 also\n"
		   "  DNS questions in dig's and kdig's forms (--zone: the apex SOA, NS;\n"
		   "  --names: A and AAAA of these names in the zone)\n");
}

int fd_clone_main(int argc, char **argv)
{
	/* a probe the server cuts short (the over-long heads of
	 * clone_head_limit: lighttpd answers 431 and closes while the head is
	 * still being written) must be an error return, not SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "ports", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "paths", required_argument, NULL, 'P' },
		{ "zone", required_argument, NULL, 'z' },
		{ "names", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *from = NULL, *ports = NULL, *name = "clone", *outp = NULL;
	char *paths_arg = NULL;
	const char *zone = NULL, *names = NULL;
	struct paths ps = { 0 };
	unsigned timeout = 5;
	struct target t[64];
	size_t nt = 0;
	int c, failed = 0;
	char err[256];

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'p': ports = optarg; break;
		case 'n': name = optarg; break;
		case 'o': outp = optarg; break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': paths_arg = optarg; break;
		case 'z': zone = optarg; break;
		case 'N': names = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!from || !ports || optind != argc || timeout == 0 || timeout > 600) {
		usage(stderr);
		return 2;
	}
	if (names && !zone) {
		fprintf(stderr, "fluxdecoy clone: --names needs --zone\n");
		return 2;
	}
	if (fg_check_id(name, err, sizeof(err)) < 0) {
		fprintf(stderr, "fluxdecoy clone: --name: %s\n", err);
		return 2;
	}
	if (parse_ports(ports, t, sizeof(t) / sizeof(t[0]), &nt) < 0)
		return 2;
	char *pdup = paths_arg ? strdup(paths_arg) : NULL, *save = NULL;
	char *pv[64];
	for (char *tok = pdup ? strtok_r(pdup, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (tok[0] != '/' || strcmp(tok, "/") == 0 || strlen(tok) > 255 ||
		    strpbrk(tok, " \t\r\n") || ps.n == 64) {
			fprintf(stderr, "fluxdecoy clone: --paths: '%s' is not a path "
				"other than / (at most 64)\n", tok);
			free(pdup);
			return 2;
		}
		pv[ps.n++] = tok;
	}
	ps.v = pv;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *ai;
	if (getaddrinfo(from, NULL, &hints, &ai) != 0) {
		fprintf(stderr, "fluxdecoy clone: --from: '%s' is not an IP address\n", from);
		return 2;
	}
	freeaddrinfo(ai);

	char *text = NULL;
	size_t tlen = 0;
	FILE *o = open_memstream(&text, &tlen);
	if (!o)
		return 1;
	char ts[40];
	fd_event_timestamp(ts);
	fprintf(o, "# persona captured by fluxdecoy clone at %s from %s\n"
		   "# edit freely; check with: fluxdecoy --check -c CONFIG\n"
		   "persona:\n  name: %s\n  captured-from: \"%s\"\n",
		ts, from, name, from);
	bool tcp_head = false, udp_head = false;
	for (size_t i = 0; i < nt; i++) {
		int rc;
		if (!t[i].udp && !tcp_head) {
			fprintf(o, "service:\n");
			tcp_head = true;
		}
		if (t[i].udp)
			continue;      /* after the TCP services: their own list */
		if (t[i].kind == FD_SSH)
			rc = clone_ssh(o, from, &t[i], timeout);
		else if (t[i].kind == FD_SMTP)
			rc = clone_smtp(o, from, &t[i], timeout);
		else
			rc = clone_http(o, from, &t[i], &ps, timeout);
		if (rc < 0) {
			fprintf(stderr, "fluxdecoy clone: %s port %u (%s): %s\n", from,
				t[i].port, fd_kind_names[t[i].kind], fg_strerror(rc));
			failed++;
		}
	}
	for (size_t i = 0; i < nt; i++) {
		if (!t[i].udp)
			continue;
		if (!udp_head) {
			fprintf(o, "udp:\n");
			udp_head = true;
		}
		int rc = fd_clone_udp(o, from, t[i].port, zone, names, timeout);
		if (rc < 0) {
			fprintf(stderr, "fluxdecoy clone: %s udp/%u: %s\n", from, t[i].port,
				rc == -ENOTSUP ? "nmap has no UDP probe for this port (nmap-service-probes)" :
				rc == -ETIMEDOUT ? "no probe was answered" : fg_strerror(rc));
			failed++;
		}
	}
	fclose(o);
	/* what we write must load: a capture the decoy cannot serve is useless */
	fd_persona_t *chk = NULL;
	if (!failed && fd_persona_load_buffer("<clone>", text, tlen, &chk, clone_diag,
					      NULL) < 0) {
		fprintf(stderr, "fluxdecoy clone: the capture does not form a valid persona\n");
		failed++;
	}
	fd_persona_free(chk);
	if (!failed) {
		FILE *f = outp ? fopen(outp, "we") : stdout;
		if (!f || fwrite(text, 1, tlen, f) != tlen || (outp && fclose(f) != 0)) {
			fprintf(stderr, "fluxdecoy clone: cannot write %s: %s\n",
				outp ? outp : "stdout", strerror(errno));
			failed++;
		}
	}
	free(text);
	free(pdup);
	return failed ? 1 : 0;
}
