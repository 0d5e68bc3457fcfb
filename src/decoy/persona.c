/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Persona file schema and checks. Every captured byte string is checked for
 * the shape its protocol needs (an HTTP response has a status line and the
 * blank line that ends the head, SMTP replies end in CR LF, ...), so a
 * hand-edited persona that would make the decoy speak broken protocol is
 * refused by `fluxdecoy --check` with its line, not discovered by an
 * attacker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "decoy/httpwire.h"
#include "decoy/persona.h"
#include "decoy/yload.h"

const char *const fd_ssh_list_keys[FD_SSH_NLISTS] = {
	"kex-algorithms", "host-key-algorithms",
	"ciphers-c2s", "ciphers-s2c", "macs-c2s", "macs-s2c",
	"compression-c2s", "compression-s2c", "languages-c2s", "languages-s2c",
};

const char *const fd_kind_names[] = { "http", "https", "ssh", "smtp", NULL };
const char *const fd_alpn_prefer_names[] = { "client", "server", NULL };

/* The protocols the decoy can speak after ALPN. */
static int check_alpn(const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "h2") != 0 && strcmp(s, "http/1.1") != 0) {
		snprintf(err, errlen, "ALPN protocol '%s': fluxdecoy speaks 'h2' and "
			 "'http/1.1'", s);
		return -FG_ESYNTAX;
	}
	return 0;
}

static int check_h2_settings(const char *s, char *err, size_t errlen)
{
	uint16_t ids[FD_H2_MAX_SETTINGS];
	uint32_t vals[FD_H2_MAX_SETTINGS];
	int n = fd_h2_settings_parse(s, ids, vals, FD_H2_MAX_SETTINGS);

	if (n == -FG_ESPACE) {
		snprintf(err, errlen, "more than %d settings", FD_H2_MAX_SETTINGS);
		return -FG_ESYNTAX;
	}
	if (n < 0) {
		snprintf(err, errlen, "SETTINGS are \"ID:VALUE ...\" in decimal "
			 "(ID up to 65535, VALUE up to 4294967295)");
		return -FG_ESYNTAX;
	}
	return 0;
}

static int check_http(const char *s, char *err, size_t errlen)
{
	if (strncmp(s, "HTTP/", 5) != 0) {
		snprintf(err, errlen, "an HTTP response starts with 'HTTP/'");
		return -FG_ESYNTAX;
	}
	if (!strstr(s, "\r\n\r\n")) {
		snprintf(err, errlen, "the response head does not end in an empty "
			 "line (\\r\\n\\r\\n)");
		return -FG_ESYNTAX;
	}
	return 0;
}

/* OpenSSH 9.2's EXT_INFO server-sig-algs (its PubkeyAcceptedAlgorithms
 * list before filtering) */
#define FD_SSH_SIG_ALGS_92 "ssh-ed25519,sk-ssh-ed25519@openssh.com," \
	"ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
	"sk-ecdsa-sha2-nistp256@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com," \
	"ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-512"

/* A comma-separated name-list (RFC 4251 5): non-empty names of printable
 * ASCII without spaces. */
static int check_namelist(const char *s, char *err, size_t errlen, size_t max)
{
	size_t n = strlen(s), run = 0;

	if (n == 0 || n > max)
		return fg_errf(err, errlen, -FG_ESCHEMA, "expected a name-list of "
			       "1 to %zu characters", max);
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (run == 0)
				return fg_errf(err, errlen, -FG_ESCHEMA, "empty name "
					       "in the list");
			run = 0;
		} else if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e) {
			return fg_errf(err, errlen, -FG_ESCHEMA, "name-lists hold "
				       "printable ASCII without spaces");
		} else {
			run++;
		}
	}
	return 0;
}

static int check_methods(const char *s, char *err, size_t errlen)
{
	return check_namelist(s, err, errlen, 256);
}

static int check_sigalgs(const char *s, char *err, size_t errlen)
{
	return check_namelist(s, err, errlen, 2048);
}

static int check_ssh_version(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];

	/* RFC 4253, 4.2: at most 255 bytes with the CR LF */
	if (strncmp(s, "SSH-2.0-", 8) != 0 && strncmp(s, "SSH-1.99-", 9) != 0) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "'%s' does not start with SSH-2.0- or SSH-1.99-", q);
		return -FG_ESYNTAX;
	}
	if (strlen(s) > 253) {
		snprintf(err, errlen, "longer than 253 characters (RFC 4253, 4.2)");
		return -ERANGE;
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			snprintf(err, errlen, "control or non-ASCII character "
				 "(write the line without its CR LF)");
			return -FG_ESYNTAX;
		}
	return 0;
}

static int check_algo(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];

	/* RFC 4251, 6: printable US-ASCII, no comma, at most 64 characters */
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e || *p == ',') {
			fg_quote(s, q, sizeof(q));
			snprintf(err, errlen, "algorithm name '%s' has a space, comma or "
				 "control character", q);
			return -FG_ESYNTAX;
		}
	if (strlen(s) > 64) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "algorithm name '%s' longer than 64 characters", q);
		return -ERANGE;
	}
	return 0;
}

static int check_smtp(const char *s, const char *code, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (strncmp(s, code, 3) != 0 || (s[3] != ' ' && s[3] != '-')) {
		snprintf(err, errlen, "an SMTP reply here starts with '%s ' or '%s-'",
			 code, code);
		return -FG_ESYNTAX;
	}
	if (n < 2 || strcmp(s + n - 2, "\r\n") != 0) {
		snprintf(err, errlen, "an SMTP reply ends in \\r\\n");
		return -FG_ESYNTAX;
	}
	return 0;
}

static int check_greeting(const char *s, char *err, size_t errlen)
{
	return check_smtp(s, "220", err, errlen);
}

static int check_ehlo(const char *s, char *err, size_t errlen)
{
	return check_smtp(s, "250", err, errlen);
}

static int check_printable(const char *s, char *err, size_t errlen)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			snprintf(err, errlen, "control or non-ASCII character");
			return -FG_ESYNTAX;
		}
	return 0;
}

static int check_quit(const char *s, char *err, size_t errlen)
{
	return check_smtp(s, "221", err, errlen);
}

static int check_250(const char *s, char *err, size_t errlen)
{
	return check_smtp(s, "250", err, errlen);
}

static int check_pem(const char *s, char *err, size_t errlen)
{
	if (!strstr(s, "-----BEGIN CERTIFICATE-----")) {
		snprintf(err, errlen, "no PEM certificate (-----BEGIN CERTIFICATE-----)");
		return -FG_ESYNTAX;
	}
	return 0;
}

static int check_path(const char *s, char *err, size_t errlen)
{
	if (s[0] != '/') {
		snprintf(err, errlen, "a path starts with '/'");
		return -FG_ESYNTAX;
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e) {
			snprintf(err, errlen, "space, control or non-ASCII character in the path");
			return -FG_ESYNTAX;
		}
	if (strlen(s) > 255) {
		snprintf(err, errlen, "path longer than 255 characters");
		return -ERANGE;
	}
	return 0;
}

/* The 206 template of a sized page: both fields it rewrites are there. */
static int check_range(const char *s, char *err, size_t errlen)
{
	int rc = check_http(s, err, errlen);
	const char *hend = rc ? NULL : strstr(s, "\r\n\r\n");

	if (rc)
		return rc;
	const char *cr = strcasestr(s, "\r\nContent-Range:");
	const char *cl = strcasestr(s, "\r\nContent-Length:");
	if (!cr || cr > hend || !cl || cl > hend)
		return fg_errf(err, errlen, -FG_ESYNTAX, "a range answer needs "
			       "Content-Range and Content-Length fields");
	return 0;
}

/* The multipart 206 head: a Content-Length to rewrite and a Content-Type
 * with the boundary the parts are framed with. */
static int check_range_multi(const char *s, char *err, size_t errlen)
{
	int rc = check_http(s, err, errlen);
	char ct[256], b[71];

	if (rc)
		return rc;
	const char *hend = strstr(s, "\r\n\r\n");
	const char *cl = strcasestr(s, "\r\nContent-Length:");
	if (!cl || cl > hend)
		return fg_errf(err, errlen, -FG_ESYNTAX, "a multipart range answer "
			       "needs a Content-Length field");
	if (fd_http_field(s, "Content-Type", ct, sizeof(ct)) < 0 || fd_http_boundary(ct, b) < 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "a multipart range answer needs "
			       "'Content-Type: multipart/byteranges; boundary=...'");
	return 0;
}

static void page_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		      const char *label)
{
	fd_page_t *pg = entry;
	static const char *const sized_only[] = { "response-range",
		"response-range-unsatisfiable", "response-range-multi", NULL };

	pg->line = map->line;
	pg->sized = fg_ymap_get(map, "size") != NULL;
	if (!fg_ymap_get(map, "response-get"))
		fg_diag(ld, map->line, "%s: a page needs 'response-get'", label);
	if (pg->sized && !fg_ymap_get(map, "response-range"))
		fg_diag(ld, map->line, "%s: a sized page needs 'response-range'", label);
	for (size_t i = 0; !pg->sized && sized_only[i]; i++) {
		const fg_ynode_t *k = fg_ymap_key(map, sized_only[i]);
		if (k)
			fg_diag(ld, k->line, "%s: '%s' needs 'size'", label, sized_only[i]);
	}
	if (pg->sized && pg->response_get) {
		const char *hend = strstr(pg->response_get, "\r\n\r\n");
		const char *cl = strcasestr(pg->response_get, "\r\nContent-Length:");
		if (!cl || !hend || cl > hend)
			fg_diag(ld, map->line, "%s: the response-get of a sized page "
				"needs a Content-Length field", label);
	}
}

#define PG(m) offsetof(fd_page_t, m)

static const fg_item_t page_items[] = {
	{ .name = "path", .type = FG_T_STR, .flags = FG_F_REQ, .off = PG(path),
	  .check = check_path },
	{ .name = "response-get", .type = FG_T_STR, .off = PG(response_get),
	  .check = check_http },
	{ .name = "response-head", .type = FG_T_STR, .off = PG(response_head),
	  .check = check_http },
	{ .name = "size", .type = FG_T_INT, .off = PG(size), .min = 0,
	  .max = 0xffffffffu },
	{ .name = "response-range", .type = FG_T_STR, .off = PG(response_range),
	  .check = check_range },
	{ .name = "response-range-unsatisfiable", .type = FG_T_STR,
	  .off = PG(response_range_unsatisfiable), .check = check_http },
	{ .name = "response-range-multi", .type = FG_T_STR,
	  .off = PG(response_range_multi), .check = check_range_multi },
	{ .name = NULL }
};

static void service_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			 const char *label)
{
	fd_service_t *s = entry;
	static const char *const http_keys[] = { "response-get", NULL };
	static const char *const ssh_keys[] = { "ssh-version", "kex-algorithms",
		"host-key-algorithms", "ciphers-c2s", "ciphers-s2c", "macs-c2s",
		"macs-s2c", "compression-c2s", "compression-s2c", NULL };
	static const char *const smtp_keys[] = { "smtp-greeting", "smtp-ehlo", NULL };
	const char *const *need = NULL;

	s->line = map->line;
	/* a refused kind leaves 0 behind: no checks on a guess */
	const fg_ynode_t *kv = fg_ymap_get(map, "kind");
	if (!kv || kv->kind != FG_Y_SCALAR || !kv->val || s->kind < 0 ||
	    s->kind >= FD_NKINDS || strcmp(kv->val, fd_kind_names[s->kind]) != 0)
		return;
	switch (s->kind) {
	case FD_HTTP:
	case FD_HTTPS:
		need = http_keys;
		break;
	case FD_SSH:
		need = ssh_keys;
		break;
	case FD_SMTP:
		need = smtp_keys;
		break;
	default:
		return;
	}
	for (size_t i = 0; need[i]; i++)
		if (!fg_ymap_get(map, need[i]))
			fg_diag(ld, map->line, "%s: kind %s needs '%s'", label,
				fd_kind_names[s->kind], need[i]);
	/* keys of another kind are a sign of a mis-edit: say so */
	static const struct { const char *key; unsigned kinds; } only[] = {
		{ "response-get", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "response-head", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "response-not-found", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "response-bad-request", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "max-request-head", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "response-too-large", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "tls-chain", 1u << FD_HTTPS },
		{ "alpn", 1u << FD_HTTPS },
		{ "pages", 1u << FD_HTTP | 1u << FD_HTTPS },
		{ "ssh-version", 1u << FD_SSH },
		{ "ssh-auth-methods", 1u << FD_SSH },
		{ "ssh-max-auth-tries", 1u << FD_SSH },
		{ "ssh-auth-delay", 1u << FD_SSH },
		{ "ssh-server-sig-algs", 1u << FD_SSH },
		{ "smtp-greeting", 1u << FD_SMTP },
		{ "smtp-ehlo", 1u << FD_SMTP },
		{ "smtp-quit", 1u << FD_SMTP },
		{ "smtp-mail", 1u << FD_SMTP },
		{ "smtp-rcpt", 1u << FD_SMTP },
		{ "smtp-rset", 1u << FD_SMTP },
		{ "smtp-noop", 1u << FD_SMTP },
	};
	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
		const fg_ynode_t *k = fg_ymap_key(map, only[i].key);
		if (k && !(only[i].kinds & (1u << s->kind)))
			fg_diag(ld, k->line, "%s: '%s' does not apply to kind %s",
				label, only[i].key, fd_kind_names[s->kind]);
	}
	if (s->kind != FD_SSH)
		for (size_t i = 0; i < FD_SSH_NLISTS; i++) {
			const fg_ynode_t *k = fg_ymap_key(map, fd_ssh_list_keys[i]);
			if (k)
				fg_diag(ld, k->line, "%s: '%s' does not apply to kind %s",
					label, fd_ssh_list_keys[i],
					fd_kind_names[s->kind]);
		}
}

#define SV(m) offsetof(fd_service_t, m)
#define LIST(i, k) { .name = k, .type = FG_T_STR, .flags = FG_F_MULTI, \
	.off = SV(kex[i].v), .cnt_off = SV(kex[i].n), .check = check_algo }

/* https: how the real server answers ALPN, and its HTTP/2 preface */
static const fg_item_t alpn_items[] = {
	{ .name = "protocols", .type = FG_T_STR, .flags = FG_F_MULTI, .off = SV(alpn.v),
	  .cnt_off = SV(alpn.n), .check = check_alpn },
	{ .name = "prefer", .type = FG_T_ENUM, .off = SV(alpn_prefer),
	  .enums = fd_alpn_prefer_names, .def = "client" },
	{ .name = "h2-settings", .type = FG_T_STR, .off = SV(h2_settings),
	  .check = check_h2_settings },
	{ .name = "h2-window-update", .type = FG_T_INT, .off = SV(h2_window_update),
	  .min = 0, .max = 0x7fffffff, .def = "0" },
	{ .name = NULL }
};

static const fg_item_t service_items[] = {
	{ .name = "port", .type = FG_T_INT, .flags = FG_F_REQ, .off = SV(port),
	  .min = 1, .max = 65535 },
	{ .name = "kind", .type = FG_T_ENUM, .flags = FG_F_REQ, .off = SV(kind),
	  .enums = fd_kind_names },
	{ .name = "response-get", .type = FG_T_STR, .off = SV(response_get),
	  .check = check_http },
	{ .name = "response-head", .type = FG_T_STR, .off = SV(response_head),
	  .check = check_http },
	{ .name = "response-not-found", .type = FG_T_STR,
	  .off = SV(response_not_found), .check = check_http },
	{ .name = "response-bad-request", .type = FG_T_STR,
	  .off = SV(response_bad_request), .check = check_http },
	/* lighttpd's server.max-request-field-size: 8192 by default, 65535 at
	 * most (the whole head, request line included) */
	{ .name = "max-request-head", .type = FG_T_INT, .off = SV(max_request_head),
	  .min = 256, .max = FD_HTTP_MAX_HEAD - 1, .def = "8192" },
	{ .name = "response-too-large", .type = FG_T_STR,
	  .off = SV(response_too_large), .check = check_http },
	{ .name = "tls-chain", .type = FG_T_STR, .off = SV(tls_chain),
	  .check = check_pem },
	{ .name = "alpn", .type = FG_T_MAP, .sub = alpn_items },
	{ .name = "pages", .type = FG_T_LIST, .off = SV(pages), .cnt_off = SV(npages),
	  .sub = page_items, .elem_size = sizeof(fd_page_t), .label_key = "path",
	  .post = page_post },
	{ .name = "ssh-version", .type = FG_T_STR, .off = SV(ssh_version),
	  .check = check_ssh_version },
	LIST(0, "kex-algorithms"), LIST(1, "host-key-algorithms"),
	LIST(2, "ciphers-c2s"), LIST(3, "ciphers-s2c"),
	LIST(4, "macs-c2s"), LIST(5, "macs-s2c"),
	LIST(6, "compression-c2s"), LIST(7, "compression-s2c"),
	LIST(8, "languages-c2s"), LIST(9, "languages-s2c"),
	/* sshd's defaults on Debian (UsePAM yes, KbdInteractiveAuthentication
	 * no); clone captures the method list, the rest is edited to match */
	{ .name = "ssh-auth-methods", .type = FG_T_STR, .off = SV(ssh_auth_methods),
	  .check = check_methods, .def = "publickey,password" },
	{ .name = "ssh-max-auth-tries", .type = FG_T_INT, .off = SV(ssh_max_auth_tries),
	  .min = 1, .max = 100, .def = "6" },
	{ .name = "ssh-auth-delay", .type = FG_T_TIME, .off = SV(ssh_auth_delay_ms),
	  .min = 0, .max = 60000, .def = "2s" },
	{ .name = "ssh-server-sig-algs", .type = FG_T_STR, .off = SV(ssh_server_sig_algs),
	  .check = check_sigalgs, .def = FD_SSH_SIG_ALGS_92 },
	{ .name = "smtp-greeting", .type = FG_T_STR, .off = SV(smtp_greeting),
	  .check = check_greeting },
	{ .name = "smtp-ehlo", .type = FG_T_STR, .off = SV(smtp_ehlo),
	  .check = check_ehlo },
	{ .name = "smtp-quit", .type = FG_T_STR, .off = SV(smtp_quit),
	  .check = check_quit },
	{ .name = "smtp-mail", .type = FG_T_STR, .off = SV(smtp_mail), .check = check_250 },
	{ .name = "smtp-rcpt", .type = FG_T_STR, .off = SV(smtp_rcpt), .check = check_250 },
	{ .name = "smtp-rset", .type = FG_T_STR, .off = SV(smtp_rset), .check = check_250 },
	{ .name = "smtp-noop", .type = FG_T_STR, .off = SV(smtp_noop), .check = check_250 },
	{ .name = NULL }
};

#define PE(m) offsetof(fd_persona_t, m)

static const fg_item_t persona_items[] = {
	{ .name = "name", .type = FG_T_STR, .flags = FG_F_REQ, .off = PE(name),
	  .check = fg_check_id },
	{ .name = "captured-from", .type = FG_T_STR, .off = PE(captured_from),
	  .check = check_printable },
	{ .name = NULL }
};

const fg_item_t fd_persona_schema[] = {
	{ .name = "persona", .type = FG_T_MAP, .flags = FG_F_REQ, .sub = persona_items },
	{ .name = "service", .type = FG_T_LIST,
	  .off = PE(services), .cnt_off = PE(nservices), .sub = service_items,
	  .elem_size = sizeof(fd_service_t), .label_key = "port",
	  .post = service_post },
	{ .name = "udp", .type = FG_T_LIST, .off = PE(udp), .cnt_off = PE(nudp),
	  .sub = fd_persona_udp_items, .elem_size = sizeof(fd_udp_service_t),
	  .label_key = "port", .post = fd_persona_udp_post },
	{ .name = NULL }
};

static void check_persona(fg_loader_t *ld, void *base)
{
	const fd_persona_t *p = base;

	for (size_t i = 0; i < p->nservices; i++) {
		const fd_service_t *sv = &p->services[i];
		for (size_t j = 0; j < sv->npages; j++) {
			const fd_page_t *pg = &sv->pages[j];
			if (!pg->path)
				continue;
			if (strcmp(pg->path, "/") == 0)
				fg_diag(ld, pg->line, "service '%u': page '/': that is "
					"response-get", sv->port);
			for (size_t k = 0; k < j; k++)
				if (sv->pages[k].path && strcmp(sv->pages[k].path, pg->path) == 0) {
					fg_diag(ld, pg->line, "service '%u': page '%s' is "
						"already given (line %d)", sv->port, pg->path,
						sv->pages[k].line);
					break;
				}
		}
	}

	if (p->nservices == 0 && p->nudp == 0 && ld->rc == 0)
		fg_diag(ld, 0, "service: at least one entry is needed (or a 'udp' port)");
	fd_persona_udp_check(ld, p);
	for (size_t i = 0; i < p->nservices; i++)
		for (size_t j = 0; j < i; j++)
			if (p->services[i].port == p->services[j].port) {
				fg_diag(ld, p->services[i].line,
					"service '%u': port %u is already served "
					"(line %d)", p->services[i].port,
					p->services[i].port, p->services[j].line);
				break;
			}
}

int fd_persona_load_buffer(const char *name, const char *buf, size_t len,
			   fd_persona_t **out, fg_conf_diag_fn diag, void *ctx)
{
	fd_persona_t *p;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = fd_yaml_load(name, buf, len, fd_persona_schema, p, check_persona, diag, ctx);
	if (rc < 0) {
		fd_persona_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int fd_persona_load(const char *path, fd_persona_t **out,
		    fg_conf_diag_fn diag, void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	rc = fg_conf_read_file(path, &buf, &len, diag, ctx);
	if (rc < 0)
		return rc;
	rc = fd_persona_load_buffer(path, buf, len, out, diag, ctx);
	free(buf);
	return rc;
}

void fd_persona_free(fd_persona_t *p)
{
	if (!p)
		return;
	fg_schema_free(fd_persona_schema, p);
	free(p);
}

const fd_page_t *fd_service_page(const fd_service_t *sv, const char *path)
{
	for (size_t i = 0; sv && i < sv->npages; i++)
		if (sv->pages[i].path && strcmp(sv->pages[i].path, path) == 0)
			return &sv->pages[i];
	return NULL;
}

const fd_service_t *fd_persona_find(const fd_persona_t *p, unsigned port)
{
	for (size_t i = 0; p && i < p->nservices; i++)
		if (p->services[i].port == port)
			return &p->services[i];
	return NULL;
}
