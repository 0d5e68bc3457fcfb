/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of fluxdecoy's files: the persona loader (every kind, the
 * protocol-shape checks on captured bytes, keys of the wrong kind,
 * duplicate ports) and the fluxdecoy config (defaults, TLS pairing,
 * duplicate ids, address coverage), with the exact file:line messages; and
 * that every key of both schemas is documented in fluxdecoy.conf(5) and
 * shown in the sample config, and the reverse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "common/err.h"
#include "decoy/dconf.h"
#include "decoy/persona.h"

struct sink {
	char buf[16384];
	size_t len;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n",
			 file, line, msg);

	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
}

static int pload(const char *text, fd_persona_t **p, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return fd_persona_load_buffer("p.yaml", text, strlen(text), p, sink_fn, s);
}

static int cload(const char *text, fd_conf_t **c, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return fd_conf_load_buffer("d.conf", text, strlen(text), false, c, sink_fn, s);
}

static const char GOOD[] =
	"persona:\n"
	"  name: web1\n"
	"  captured-from: \"192.0.2.10\"\n"
	"service:\n"
	"  - port: 80\n"
	"    kind: http\n"
	"    response-get: \"HTTP/1.1 200 OK\\r\\nServer: x\\r\\n\\r\\nbody\"\n"
	"  - port: 22\n"
	"    kind: ssh\n"
	"    ssh-version: \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\"\n"
	"    kex-algorithms: [curve25519-sha256, ext-info-s]\n"
	"    host-key-algorithms: [ssh-ed25519]\n"
	"    ciphers-c2s: [aes128-ctr]\n"
	"    ciphers-s2c: [aes128-ctr]\n"
	"    macs-c2s: [hmac-sha2-256]\n"
	"    macs-s2c: [hmac-sha2-256]\n"
	"    compression-c2s: [none]\n"
	"    compression-s2c: [none]\n"
	"  - port: 25\n"
	"    kind: smtp\n"
	"    smtp-greeting: \"220 mx ESMTP\\r\\n\"\n"
	"    smtp-ehlo: \"250-mx\\r\\n250 8BITMIME\\r\\n\"\n";

static void test_persona_good(void **st)
{
	fd_persona_t *p;
	struct sink s;

	(void)st;
	assert_int_equal(pload(GOOD, &p, &s), 0);
	assert_int_equal(s.len, 0);
	assert_string_equal(p->name, "web1");
	assert_int_equal(p->nservices, 3);
	const fd_service_t *h = fd_persona_find(p, 80);
	assert_non_null(h);
	assert_int_equal(h->kind, FD_HTTP);
	/* the escapes give the exact bytes */
	assert_string_equal(h->response_get, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody");
	const fd_service_t *ssh = fd_persona_find(p, 22);
	assert_int_equal(ssh->kex[0].n, 2);
	assert_string_equal(ssh->kex[0].v[1], "ext-info-s");
	assert_int_equal(ssh->kex[8].n, 0);  /* languages: empty */
	assert_null(fd_persona_find(p, 443));
	fd_persona_free(p);
}

/* Each bad persona gives exactly this first message. */
static void expect_persona_error(const char *text, const char *msg)
{
	fd_persona_t *p = (fd_persona_t *)1;
	struct sink s;

	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	assert_null(p);
	if (strncmp(s.buf, msg, strlen(msg)) != 0)
		fail_msg("expected '%s', got '%s'", msg, s.buf);
}

static void test_persona_errors(void **st)
{
	(void)st;
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"200 OK\\r\\n\\r\\n\"\n",
			     "p.yaml:6: service '80': response-get: an HTTP response starts "
			     "with 'HTTP/'\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\"\n",
			     "p.yaml:6: service '80': response-get: the response head does "
			     "not end in an empty line (\\r\\n\\r\\n)\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n",
			     "p.yaml:4: service '80': kind http needs 'response-get'\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 25\n    kind: smtp\n"
			     "    smtp-greeting: \"220 mx\\r\\n\"\n    smtp-ehlo: \"250 mx\"\n",
			     "p.yaml:7: service '25': smtp-ehlo: an SMTP reply ends in \\r\\n\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 25\n    kind: smtp\n"
			     "    smtp-greeting: \"554 go away\\r\\n\"\n    smtp-ehlo: \"250 mx\\r\\n\"\n",
			     "p.yaml:6: service '25': smtp-greeting: an SMTP reply here starts "
			     "with '220 ' or '220-'\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 22\n    kind: ssh\n"
			     "    ssh-version: \"SSH-2.0-x\\r\"\n",
			     "p.yaml:4: service '22': kind ssh needs 'kex-algorithms'\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "    ssh-version: \"SSH-2.0-x\"\n",
			     "p.yaml:7: service '80': 'ssh-version' does not apply to kind http\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n",
			     "p.yaml:7: service '80': port 80 is already served (line 4)\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 70000\n    kind: gopher\n",
			     "p.yaml:4: service '70000': port: ");
	expect_persona_error("service:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n",
			     "p.yaml:1: missing required section 'persona'");
}

static void test_persona_pages(void **st)
{
	fd_persona_t *p;
	struct sink s;
	static const char text[] =
		"persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
		"    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\nroot\"\n"
		"    pages:\n"
		"      - path: /index.html\n"
		"        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\nindex\"\n"
		"      - path: /robots.txt\n"
		"        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\nrobots\"\n";

	(void)st;
	assert_int_equal(pload(text, &p, &s), 0);
	const fd_service_t *sv = fd_persona_find(p, 80);
	assert_int_equal(sv->npages, 2);
	assert_string_equal(fd_service_page(sv, "/robots.txt")->response_get,
			    "HTTP/1.1 200 OK\r\n\r\nrobots");
	assert_null(fd_service_page(sv, "/"));
	assert_null(fd_service_page(sv, "/index"));
	fd_persona_free(p);
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "    pages:\n      - path: index.html\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "      - path: /a\n",
			     "p.yaml:8: service '80': pages 'index.html': path: a path starts "
			     "with '/'\n"
			     "p.yaml:10: service '80': pages '/a': a page needs 'response-get'\n");
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "    pages:\n"
			     "      - path: /a\n        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "      - path: /a\n        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n",
			     "p.yaml:10: service '80': page '/a' is already given (line 8)\n");
}

/* A sized page (Range served as lighttpd does) and the request-head limit. */
static void test_persona_sized(void **st)
{
	fd_persona_t *p;
	struct sink s;
	static const char text[] =
		"persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
		"    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\nroot\"\n"
		"    max-request-head: 65535\n"
		"    response-too-large: \"HTTP/1.0 431 Request Header Fields Too Large\\r\\n\\r\\n\"\n"
		"    pages:\n"
		"      - path: /size.bin\n"
		"        size: 10000000\n"
		"        response-get: \"HTTP/1.1 200 OK\\r\\nContent-Length: 10000000\\r\\n\\r\\n\"\n"
		"        response-range: \"HTTP/1.1 206 Partial Content\\r\\nContent-Length: 1\\r\\n"
		"Content-Range: bytes 0-0/10000000\\r\\n\\r\\n\"\n"
		"        response-range-unsatisfiable: \"HTTP/1.1 416 Range Not Satisfiable\\r\\n\\r\\n\"\n"
		"      - path: /a\n"
		"        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\na\"\n";

	(void)st;
	assert_int_equal(pload(text, &p, &s), 0);
	const fd_service_t *sv = fd_persona_find(p, 80);
	assert_int_equal(sv->max_request_head, 65535);
	assert_non_null(sv->response_too_large);
	const fd_page_t *pg = fd_service_page(sv, "/size.bin");
	assert_true(pg->sized);
	assert_int_equal(pg->size, 10000000);
	assert_non_null(pg->response_range_unsatisfiable);
	assert_false(fd_service_page(sv, "/a")->sized);
	fd_persona_free(p);
	/* lighttpd's default limit when none is given */
	assert_int_equal(pload(GOOD, &p, &s), 0);
	assert_int_equal(fd_persona_find(p, 80)->max_request_head, 8192);
	assert_null(fd_persona_find(p, 80)->response_too_large);
	fd_persona_free(p);
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "    max-request-head: 70000\n"
			     "    pages:\n"
			     "      - path: /s\n        size: 10\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "      - path: /t\n        size: 10\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\nContent-Length: 10\\r\\n\\r\\n\"\n"
			     "        response-range: \"HTTP/1.1 206 Partial Content\\r\\nContent-Length: 1\\r\\n\\r\\n\"\n"
			     "      - path: /u\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "        response-range-unsatisfiable: \"HTTP/1.1 416 x\\r\\n\\r\\n\"\n",
			     "p.yaml:7: service '80': max-request-head: expected an integer "
			     "256..65535, got '70000'\n"
			     "p.yaml:9: service '80': pages '/s': a sized page needs 'response-range'\n"
			     "p.yaml:9: service '80': pages '/s': the response-get of a sized page "
			     "needs a Content-Length field\n"
			     "p.yaml:15: service '80': pages '/t': response-range: a range answer "
			     "needs Content-Range and Content-Length fields\n"
			     "p.yaml:18: service '80': pages '/u': 'response-range-unsatisfiable' "
			     "needs 'size'\n");	/* the multipart head names its boundary and has a length to rewrite */
	expect_persona_error("persona:\n  name: a\nservice:\n  - port: 80\n    kind: http\n"
			     "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "    pages:\n"
			     "      - path: /t\n        size: 1000\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\nContent-Length: 1000\\r\\n\\r\\n\"\n"
			     "        response-range: \"HTTP/1.1 206 Partial Content\\r\\nContent-Length: 1\\r\\n"
			     "Content-Range: bytes 0-0/1000\\r\\n\\r\\n\"\n"
			     "        response-range-multi: \"HTTP/1.1 206 Partial Content\\r\\nContent-Length: 1\\r\\n"
			     "Content-Type: text/html\\r\\n\\r\\n\"\n"
			     "      - path: /u\n        size: 1000\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\nContent-Length: 1000\\r\\n\\r\\n\"\n"
			     "        response-range: \"HTTP/1.1 206 Partial Content\\r\\nContent-Length: 1\\r\\n"
			     "Content-Range: bytes 0-0/1000\\r\\n\\r\\n\"\n"
			     "        response-range-multi: \"HTTP/1.1 206 Partial Content\\r\\n"
			     "Content-Type: multipart/byteranges; boundary=b\\r\\n\\r\\n\"\n"
			     "      - path: /v\n"
			     "        response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			     "        response-range-multi: \"HTTP/1.1 206 x\\r\\nContent-Length: 1\\r\\n"
			     "Content-Type: multipart/byteranges; boundary=b\\r\\n\\r\\n\"\n",
			     "p.yaml:12: service '80': pages '/t': response-range-multi: a multipart "
			     "range answer needs 'Content-Type: multipart/byteranges; boundary=...'\n"
			     "p.yaml:17: service '80': pages '/u': response-range-multi: a multipart "
			     "range answer needs a Content-Length field\n"
			     "p.yaml:20: service '80': pages '/v': 'response-range-multi' needs 'size'\n");
}

static void test_persona_ssh_names(void **st)
{
	char text[2048];

	(void)st;
	const char *old = "[curve25519-sha256, ext-info-s]";
	const char *k = strstr(GOOD, old);
	assert_non_null(k);
	snprintf(text, sizeof(text), "%.*s[\"curve 25519\", ext-info-s]%s",
		 (int)(k - GOOD), GOOD, k + strlen(old));
	expect_persona_error(text, "p.yaml:11: service '22': kex-algorithms: algorithm "
			     "name 'curve 25519' has a space, comma or control character\n");
}

static void test_persona_alpn(void **st)
{
	fd_persona_t *p;
	struct sink s;
	static const char head[] = "persona:\n  name: w\nservice:\n  - port: 443\n"
		"    kind: https\n    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n";
	char text[1024];

	(void)st;
	snprintf(text, sizeof(text), "%s    alpn:\n      protocols: [h2, \"http/1.1\"]\n"
		 "      h2-settings: \"3:8 4:65536\"\n      h2-window-update: 196609\n", head);
	assert_int_equal(pload(text, &p, &s), 0);
	const fd_service_t *sv = &p->services[0];
	assert_int_equal(sv->alpn.n, 2);
	assert_string_equal(sv->alpn.v[0], "h2");
	assert_string_equal(sv->alpn.v[1], "http/1.1");
	assert_int_equal(sv->alpn_prefer, FD_ALPN_CLIENT);
	assert_string_equal(sv->h2_settings, "3:8 4:65536");
	assert_int_equal(sv->h2_window_update, 196609);
	fd_persona_free(p);
	/* without the map: no ALPN, no window update */
	assert_int_equal(pload(head, &p, &s), 0);
	assert_int_equal(p->services[0].alpn.n, 0);
	assert_int_equal(p->services[0].h2_window_update, 0);
	fd_persona_free(p);
	/* a protocol the decoy cannot speak, bad SETTINGS, bad prefer, too big */
	snprintf(text, sizeof(text), "%s    alpn:\n      protocols: [spdy/3]\n", head);
	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	assert_non_null(strstr(s.buf, "p.yaml:8: "));
	assert_non_null(strstr(s.buf, "'spdy/3'"));
	snprintf(text, sizeof(text), "%s    alpn:\n      h2-settings: \"3=8\"\n", head);
	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	assert_non_null(strstr(s.buf, "ID:VALUE"));
	snprintf(text, sizeof(text), "%s    alpn:\n      prefer: mine\n", head);
	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	snprintf(text, sizeof(text), "%s    alpn:\n      h2-window-update: 2147483648\n", head);
	assert_int_equal(pload(text, &p, &s), -FG_ESCHEMA);
	/* ALPN is TLS: not on kind http */
	assert_int_equal(pload("persona:\n  name: w\nservice:\n  - port: 80\n    kind: http\n"
			       "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
			       "    alpn:\n      protocols: [h2]\n", &p, &s), -FG_ESCHEMA);
	assert_non_null(strstr(s.buf, "'alpn' does not apply to kind http"));
}

static void test_persona_syntax(void **st)
{
	fd_persona_t *p;
	struct sink s;

	(void)st;
	assert_int_equal(pload("persona: [\n", &p, &s), -FG_ESYNTAX);
	assert_null(p);
	assert_true(strncmp(s.buf, "p.yaml:", 7) == 0);
	assert_int_equal(fd_persona_load_buffer("x", "", 0, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(fd_persona_load("/nonexistent/persona", &p, sink_fn, &s), -ENOENT);
}

static void test_conf_defaults(void **st)
{
	fd_conf_t *c;
	struct sink s;

	(void)st;
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p.yaml\n", &c, &s), 0);
	assert_int_equal(s.len, 0);
	assert_int_equal(c->decoy.idle_timeout_ms, 30000);
	assert_int_equal(c->decoy.max_clients, 1024);
	assert_int_equal(c->decoy.nlisten, 2);  /* 0.0.0.0 and :: */
	assert_int_equal(c->decoy.listen[0].ss.ss_family, AF_INET);
	assert_int_equal(c->decoy.listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(c->decoy.metrics.len, 0);
	assert_null(c->decoy.user);
	assert_int_equal(c->npersonas, 1);
	uint8_t a[4] = { 203, 0, 113, 9 };
	assert_true(fd_conf_persona_covers(&c->personas[0], AF_INET, a));
	fd_conf_free(c);
}

static void test_conf_values(void **st)
{
	fd_conf_t *c;
	struct sink s;

	(void)st;
	assert_int_equal(cload("decoy:\n  listen: 10.0.3.10\n  user: nobody\n"
			       "  event-log: /var/log/eve.json\n  metrics: 127.0.0.1\n"
			       "  idle-timeout: 5s\n  max-clients: 10\n"
			       "persona:\n  - id: web\n    file: /p.yaml\n"
			       "    addresses: [198.51.100.0/25, 2001:db8::/64]\n"
			       "    tls-cert: /c.pem\n    tls-key: /k.pem\n", &c, &s), 0);
	assert_int_equal(s.len, 0);
	assert_int_equal(c->decoy.nlisten, 1);
	assert_int_equal(c->decoy.idle_timeout_ms, 5000);
	assert_int_equal(c->decoy.max_clients, 10);
	assert_true(c->decoy.metrics.len > 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&c->decoy.metrics.ss)->sin_port), 9561);
	const fd_conf_persona_t *p = &c->personas[0];
	uint8_t in[4] = { 198, 51, 100, 127 }, out[4] = { 198, 51, 100, 128 };
	uint8_t in6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };
	assert_true(fd_conf_persona_covers(p, AF_INET, in));
	assert_false(fd_conf_persona_covers(p, AF_INET, out));
	assert_true(fd_conf_persona_covers(p, AF_INET6, in6));
	in6[7] = 1;
	assert_false(fd_conf_persona_covers(p, AF_INET6, in6));
	fd_conf_free(c);
}

static void test_conf_errors(void **st)
{
	fd_conf_t *c = (fd_conf_t *)1;
	struct sink s;

	(void)st;
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p.yaml\n    tls-key: /k\n"
			       "  - id: web\n    file: rel.yaml\n"
			       "decoy:\n  idle-timeout: 1ms\n  listen: 10.0.0.1@80\n  colour: red\n",
			       &c, &s), -FG_ESCHEMA);
	assert_null(c);
	assert_string_equal(s.buf,
		"d.conf:2: persona 'web': tls-cert and tls-key go together\n"
		"d.conf:5: persona 'web': id already used (line 2)\n"
		"d.conf:6: persona 'web': file: expected an absolute path, got 'rel.yaml'\n"
		"d.conf:8: decoy.idle-timeout: time '1ms' out of range (100ms..7w)\n"
		"d.conf:9: decoy.listen: expected an address without port, got '10.0.0.1@80'\n"
		"d.conf:10: unknown key 'colour' in section 'decoy'\n");
	assert_int_equal(cload("decoy:\n  user: nobody\n", &c, &s), -FG_ESCHEMA);
	assert_string_equal(s.buf, "d.conf:1: missing required section 'persona'\n");
	/* present but empty (found by fuzz_persona) */
	assert_int_equal(cload("persona:\n", &c, &s), -FG_ESCHEMA);
	assert_string_equal(s.buf, "d.conf:0: persona: at least one entry is needed\n");
	fd_persona_t *p;
	assert_int_equal(pload("persona:\n  name: a\nservice:\n", &p, &s), -FG_ESCHEMA);
	assert_string_equal(s.buf, "p.yaml:0: service: at least one entry is needed (or a 'udp' port)\n");
}

/* fd_conf_load reads the persona files and reports their errors with their
 * own name and line. */
static void test_conf_loads_personas(void **st)
{
	char dir[] = "/tmp/test_persona.XXXXXX", pf[300], cf[300], text[600];
	fd_conf_t *c;
	struct sink s;
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(pf, sizeof(pf), "%s/p.yaml", dir);
	snprintf(cf, sizeof(cf), "%s/d.conf", dir);
	assert_non_null(f = fopen(pf, "w"));
	fputs(GOOD, f);
	fclose(f);
	snprintf(text, sizeof(text), "persona:\n  - id: web\n    file: %s\n", pf);
	assert_non_null(f = fopen(cf, "w"));
	fputs(text, f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_conf_load(cf, &c, sink_fn, &s), 0);
	assert_non_null(c->personas[0].persona);
	assert_int_equal(c->personas[0].persona->nservices, 3);
	fd_conf_free(c);

	assert_non_null(f = fopen(pf, "w"));
	fputs("persona:\n  name: web1\nservice:\n  - port: 22\n    kind: telnet\n", f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_conf_load(cf, &c, sink_fn, &s), -FG_ESCHEMA);
	char want[1200];
	snprintf(want, sizeof(want), "%s:5: service '22': kind: expected one of http, "
		 "https, ssh, smtp, got 'telnet'\n", pf);
	assert_string_equal(s.buf, want);
	/* https with nothing to make a certificate from */
	assert_non_null(f = fopen(pf, "w"));
	fputs("persona:\n  name: web1\nservice:\n  - port: 443\n    kind: https\n"
	      "    response-get: \"HTTP/1.1 200 OK\\r\\n\\r\\n\"\n", f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_conf_load(cf, &c, sink_fn, &s), -FG_ESCHEMA);
	snprintf(want, sizeof(want), "%s:2: persona 'web': port 443 is https but there "
		 "is neither tls-cert/tls-key nor a captured tls-chain in %s\n", cf, pf);
	assert_string_equal(s.buf, want);
	unlink(pf);
	unlink(cf);
	rmdir(dir);
}

/* ---- documentation, both ways ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	if (!f) {
		char alt[512];
		snprintf(alt, sizeof(alt), "../../%s", path);  /* run from build/tests */
		f = fopen(alt, "r");
	}
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* The key as the man page writes it on a ".TP\n.B key" line. */
static bool man_has(const char *page, const char *key)
{
	char pat[160], esc[120];
	size_t o = 0;

	for (const char *p = key; *p && o + 3 < sizeof(esc); p++) {
		if (*p == '-')
			esc[o++] = '\\';
		esc[o++] = *p;
	}
	esc[o] = '\0';
	snprintf(pat, sizeof(pat), ".TP\n.B %s\n", esc);
	if (strstr(page, pat))
		return true;
	snprintf(pat, sizeof(pat), ".TP\n.BI %s ", esc);
	return strstr(page, pat) != NULL;
}

static void check_items(const fg_item_t *items, const char *page, const char *sample,
			const char *where)
{
	for (const fg_item_t *it = items; it->name; it++) {
		if (it->sub) {  /* a section: ".SS name", its keys below */
			char ss[80];
			snprintf(ss, sizeof(ss), "\n.SS %s\n", it->name);
			if (!strstr(page, ss))
				fail_msg("%s: no section '%s' in fluxdecoy.conf.5", where,
					 it->name);
			check_items(it->sub, page, sample, it->name);
			continue;
		}
		if (!man_has(page, it->name))
			fail_msg("%s: key '%s' is not documented in fluxdecoy.conf.5",
				 where, it->name);
		if (sample) {
			char pat[80];
			snprintf(pat, sizeof(pat), "%s:", it->name);
			if (!strstr(sample, pat))
				fail_msg("%s: key '%s' is not in the sample", where, it->name);
		}
	}
}

static bool schema_has(const fg_item_t *items, const char *key)
{
	for (const fg_item_t *it = items; it->name; it++)
		if (!strcmp(it->name, key) || (it->sub && schema_has(it->sub, key)))
			return true;
	return false;
}

static void test_docs(void **st)
{
	char *page = slurp("doc/fluxdecoy.conf.5");
	char *sample = slurp("etc/fluxdecoy.conf.sample");
	char *psample = slurp("etc/fluxdecoy.persona.sample");

	(void)st;
	check_items(fd_conf_schema, page, sample, "fluxdecoy.conf");
	check_items(fd_persona_schema, page, psample, "persona");
	/* every documented key exists */
	for (const char *l = strstr(page, ".TP\n.B "); l; l = strstr(l + 1, ".TP\n.B ")) {
		char w[80];
		size_t n = 0;
		for (const char *p = l + 7; *p && *p != '\n' && *p != ' ' && n + 1 < sizeof(w); p++)
			if (*p != '\\')
				w[n++] = *p;
		w[n] = '\0';
		if (!schema_has(fd_conf_schema, w) && !schema_has(fd_persona_schema, w))
			fail_msg("fluxdecoy.conf.5 documents '%s', which is no key", w);
	}
	/* the samples load */
	fd_conf_t *c;
	fd_persona_t *p;
	struct sink s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(fd_conf_load_buffer("sample", sample, strlen(sample), false, &c,
					     sink_fn, &s), 0);
	fd_conf_free(c);
	assert_int_equal(fd_persona_load_buffer("psample", psample, strlen(psample), &p,
						sink_fn, &s), 0);
	fd_persona_free(p);
	free(page);
	free(sample);
	free(psample);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persona_good),
		cmocka_unit_test(test_persona_errors),
		cmocka_unit_test(test_persona_pages),
		cmocka_unit_test(test_persona_sized),
		cmocka_unit_test(test_persona_ssh_names),
		cmocka_unit_test(test_persona_alpn),
		cmocka_unit_test(test_persona_syntax),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_values),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_conf_loads_personas),
		cmocka_unit_test(test_docs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
