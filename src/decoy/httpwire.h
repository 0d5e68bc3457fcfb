/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP/1.x request heads as the decoy needs them (method, target, version,
 * User-Agent, body length), and the response rewrite that keeps a replayed
 * response current (its Date header). Pure: no I/O, no clock, no globals.
 */
#ifndef FG_DECOY_HTTPWIRE_H
#define FG_DECOY_HTTPWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest request head accepted; longer is answered like a real server's
 * "431"/close: the connection is closed. */
#define FD_HTTP_MAX_HEAD 16384

typedef struct fd_http_req {
	char method[16];
	char target[256];       /* cut when longer, control bytes as '?' */
	char version[16];
	char user_agent[256];   /* "" when absent */
	char host[256];
	uint64_t content_length;
	size_t head_len;        /* bytes up to and with the blank line */
} fd_http_req_t;

/* Parse the head at buf. Returns 0 (req filled), -EAGAIN (incomplete),
 * -FG_EMALF (not HTTP, or a head over FD_HTTP_MAX_HEAD). */
int fd_http_parse(const uint8_t *buf, size_t len, fd_http_req_t *req);

/* Copy `resp` into out replacing the value of a "Date:" header by `now`
 * (IMF-fixdate, RFC 9110, 5.6.7), and, for HEAD, dropping the body (all
 * after the blank line). Returns the length or -FG_ESPACE. */
int fd_http_render(const char *resp, time_t now, int head_only, char *out,
		   size_t outlen);

/* HTTP/2 (RFC 9113) from the HTTP/1 bytes the real server sent: its h2
 * answer carries the same fields in the same order, names in lower case,
 * without the connection-specific ones (8.2.2: Connection, Keep-Alive,
 * Proxy-Connection, Transfer-Encoding, Upgrade). */
typedef struct fd_h2_field {
	const char *name, *value;     /* point into the rewritten response */
	size_t namelen, valuelen;
} fd_h2_field_t;

/* Rewrite the HTTP/1 response resp[0..len) in place (field names lowered)
 * and describe it: *status, up to maxf fields, the body at resp + *body_off.
 * Returns the number of fields, or -FG_EMALF (no status line or head end),
 * -FG_ESPACE (more than maxf fields). */
int fd_h2_from_http1(char *resp, size_t len, unsigned *status, fd_h2_field_t *f,
		     size_t maxf, size_t *body_off);

/* At most this many SETTINGS in a persona (RFC 9113 defines 6, RFC 8441
 * and 9218 one each). */
#define FD_H2_MAX_SETTINGS 16

/* The SETTINGS of a persona, "ID:VALUE ..." (decimal, e.g. "3:100 4:65536"),
 * in the real server's order. Returns the count (0..max), -FG_EMALF (not of
 * that form, an ID over 0xffff, a value over 0xffffffff) or -FG_ESPACE. */
int fd_h2_settings_parse(const char *s, uint16_t *ids, uint32_t *vals, size_t max);

/* The ALPN protocol for a client's list `client` (wire form: length-prefixed
 * names, RFC 7301), chosen from `names[0..n)` in the client's order when
 * client_order, else in the names' order. Returns the index into names, -1
 * when none matches, -FG_EMALF when the client's list is malformed. */
int fd_alpn_pick(const uint8_t *client, size_t clen, char *const *names, size_t n,
		 int client_order);

/* "Sun, 06 Nov 1994 08:49:37 GMT" into out[30]. */
void fd_http_date(time_t t, char out[30]);

#endif
