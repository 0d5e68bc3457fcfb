/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Persona files: the exposed surface of one real server, as captured by
 * `fluxdecoy clone` and edited by the operator (YAML, see fluxdecoy.conf(5)):
 *
 *   persona:
 *     name: web1
 *     captured-from: 192.0.2.10
 *   service:
 *     - port: 80
 *       kind: http
 *       response-get: "HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.69\r\n..."
 *       response-head: "..."
 *     - port: 22
 *       kind: ssh
 *       ssh-version: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
 *       kex-algorithms: [curve25519-sha256, ...]
 *
 * HTTP responses and SMTP replies are the exact bytes the real server sent
 * (YAML double-quoted escapes carry \r\n); a NUL byte cannot be represented
 * and is refused by clone.
 *
 * Pure: parses a buffer, no I/O, no globals. Ownership: fd_persona_load*()
 * hand out a persona owned by the caller; fd_persona_free() releases it.
 */
#ifndef FG_DECOY_PERSONA_H
#define FG_DECOY_PERSONA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "conf/schema.h"

enum fd_kind { FD_HTTP = 0, FD_HTTPS, FD_SSH, FD_SMTP, FD_NKINDS };
enum fd_alpn_prefer { FD_ALPN_CLIENT = 0, FD_ALPN_SERVER };

/* The ten name-lists of an SSH KEXINIT, in wire order (RFC 4253, 7.1). */
enum { FD_SSH_NLISTS = 10 };

typedef struct fd_strlist {
	char **v;
	size_t n;
} fd_strlist_t;

typedef struct fd_page {         /* a path besides "/" with its own answer */
	char *path;
	char *response_get, *response_head;
	/* a sized page (`size:` given): a file of `size` zero bytes (a sparse
	 * file) served with Range as lighttpd does. response-get is then the
	 * 200 head alone (the body is generated), response-range the 206 head
	 * whose Content-Range and Content-Length are rewritten per request,
	 * response-range-unsatisfiable the 416 answer (default: the 200),
	 * response-range-multi the head of the 206 to several ranges, whose
	 * Content-Type names the multipart/byteranges boundary (default: several
	 * ranges get the 200, as from a server without multipart answers) */
	bool sized;
	uint32_t size;
	char *response_range, *response_range_unsatisfiable, *response_range_multi;
	int line;
} fd_page_t;

typedef struct fd_service {
	unsigned port;            /* TCP port, 1..65535 */
	int kind;                 /* enum fd_kind */
	/* http, https */
	char *response_get;       /* answer to GET / (status line to body) */
	char *response_head;      /* answer to HEAD / (default: GET's head) */
	char *response_not_found; /* answer to any other path (default: GET's) */
	char *response_bad_request; /* answer to what is not HTTP/1 (default:
				     * none, the flow is closed) */
	unsigned max_request_head;  /* longest request head it takes (bytes) */
	char *response_too_large;   /* its answer to a longer one (default:
				     * none, the flow is closed) */
	char *tls_chain;          /* https: PEM chain of the real server */
	/* https, the `alpn:` map: the protocols it selects ("h2", "http/1.1";
	 * none: no ALPN answer), whose order wins (enum fd_alpn_prefer), its
	 * HTTP/2 SETTINGS ("ID:VALUE ...", httpwire.h) and first connection
	 * WINDOW_UPDATE (0: none) */
	fd_strlist_t alpn;
	int alpn_prefer;
	char *h2_settings;
	unsigned h2_window_update;
	fd_page_t *pages;
	size_t npages;
	/* ssh */
	char *ssh_version;        /* "SSH-2.0-..." without CR LF */
	fd_strlist_t kex[FD_SSH_NLISTS];
	char *ssh_auth_methods;   /* USERAUTH_FAILURE list of the real sshd */
	unsigned ssh_max_auth_tries; /* its MaxAuthTries */
	uint32_t ssh_auth_delay_ms;  /* before a failed password answer */
	char *ssh_server_sig_algs;   /* its EXT_INFO server-sig-algs */
	/* smtp */
	char *smtp_greeting;      /* "220 ...\r\n" */
	char *smtp_ehlo;          /* the whole multi-line 250 reply */
	char *smtp_quit;          /* reply to QUIT (default Postfix's) */
	char *smtp_mail, *smtp_rcpt, *smtp_rset, *smtp_noop; /* 250 replies */
	int line;
} fd_service_t;

/* A UDP port (`udp:`, decoy/udpwire.h): captured request/reply pairs. */
typedef struct fd_udp_reply {
	char *request, *reply;    /* hex */
	unsigned copy_id;         /* leading octets copied from the request */
	int match;                /* enum fd_udp_match (decoy/udpdns.h) */
	int line;
} fd_udp_reply_t;

typedef struct fd_udp_service {
	unsigned port;            /* UDP port, 1..65535 */
	unsigned amplification;   /* most reply bytes per request byte */
	unsigned rate, burst;     /* answers per second per source, at once */
	fd_udp_reply_t *replies;
	size_t nreplies;
	int line;
} fd_udp_service_t;

typedef struct fd_persona {
	char *name;
	char *captured_from;
	fd_service_t *services;
	size_t nservices;
	fd_udp_service_t *udp;
	size_t nudp;
} fd_persona_t;

/* The `udp:` list's schema and checks (persona_udp.c). */
extern const fg_item_t fd_persona_udp_items[];
void fd_persona_udp_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			 const char *label);
void fd_persona_udp_check(fg_loader_t *ld, const fd_persona_t *p);
/* The UDP port `port` of `p`, or NULL. */
const fd_udp_service_t *fd_persona_find_udp(const fd_persona_t *p, unsigned port);

/* YAML key of KEXINIT name-list i: "kex-algorithms", ... */
extern const char *const fd_ssh_list_keys[FD_SSH_NLISTS];
/* "client", "server" */
extern const char *const fd_alpn_prefer_names[];
/* "http", "https", "ssh", "smtp" */
extern const char *const fd_kind_names[];

/* The schema (root table), for the documentation checks. */
extern const fg_item_t fd_persona_schema[];

/* Parse a persona file held in buf. Returns 0 and *out, or -FG_ESYNTAX /
 * -FG_ESCHEMA (reported as "name:line: message") / -ENOMEM. */
int fd_persona_load_buffer(const char *name, const char *buf, size_t len,
			   fd_persona_t **out, fg_conf_diag_fn diag, void *ctx);
int fd_persona_load(const char *path, fd_persona_t **out,
		    fg_conf_diag_fn diag, void *ctx);
void fd_persona_free(fd_persona_t *p);

/* The page of `sv` for request target `path`, or NULL. */
const fd_page_t *fd_service_page(const fd_service_t *sv, const char *path);

/* The service of `p` on TCP `port`, or NULL. */
const fd_service_t *fd_persona_find(const fd_persona_t *p, unsigned port);

#endif
