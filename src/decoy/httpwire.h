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

/* Longest request head parsed at all: lighttpd's highest
 * server.max-request-field-size (65535). A persona's own limit
 * (max-request-head, lighttpd's default 8192) is applied by the server
 * on top, with the real server's 431. */
#define FD_HTTP_MAX_HEAD 65536

typedef struct fd_http_req {
	char method[16];
	char target[256];       /* cut when longer, control bytes as '?' */
	char version[16];
	char user_agent[256];   /* "" when absent */
	char host[256];
	char range[256];        /* the Range value, "" when absent */
	int range_cut;          /* the Range value was longer than range[] */
	uint64_t content_length;
	size_t head_len;        /* bytes up to and with the blank line */
} fd_http_req_t;

/* Parse the head at buf. Returns 0 (req filled), -EAGAIN (incomplete),
 * -FG_EMALF (not HTTP, or a head over FD_HTTP_MAX_HEAD). */
int fd_http_parse(const uint8_t *buf, size_t len, fd_http_req_t *req);

/* The Range of a request (RFC 9110, 14.2) against a file of `size` bytes,
 * as lighttpd 1.4 answers it (measured on 1.4.69):
 *   FD_RANGE_NONE:  no "bytes=" unit, or an empty file: the whole file (200);
 *   FD_RANGE_OK:    one range (206);
 *   FD_RANGE_MULTI: several ranges (206 multipart/byteranges);
 *   FD_RANGE_UNSATISFIABLE: no spec is well formed and starts inside the
 *                   file (416).
 * A spec that is malformed or starts past the end is ignored; at most
 * FD_RANGE_MAX well-formed specs are read, the rest ignored. Ranges that
 * overlap, or are at most FD_RANGE_MERGE_GAP bytes apart, are merged into
 * the earlier one of the two, again until no pair is left; the parts keep
 * the order of the request (RFC 9110, 15.3.7.2). */
enum { FD_RANGE_NONE = 0, FD_RANGE_OK, FD_RANGE_MULTI, FD_RANGE_UNSATISFIABLE };
#define FD_RANGE_MERGE_GAP 80
#define FD_RANGE_MAX 10
typedef struct fd_range_set {
	unsigned n;
	uint64_t first[FD_RANGE_MAX], last[FD_RANGE_MAX];   /* inclusive */
} fd_range_set_t;
int fd_http_ranges(const char *v, uint64_t size, fd_range_set_t *rs);
/* The same for one range: *first, *last set when FD_RANGE_OK. */
int fd_http_range(const char *v, uint64_t size, uint64_t *first, uint64_t *last);

/* multipart/byteranges (RFC 9110, 14.6) as lighttpd frames it: part i is
 * "--B\r\nContent-Type: T\r\nContent-Range: bytes F-L/SIZE\r\n\r\n" and
 * its bytes, every part after the first opens with "\r\n", and the body
 * ends "\r\n--B--\r\n". No Content-Type line when ctype is "". */
/* The head of part i of rs into out. Returns its length or -FG_ESPACE. */
int fd_http_part_head(const char *boundary, const char *ctype, const fd_range_set_t *rs,
		      unsigned i, uint64_t size, char *out, size_t outlen);
/* The closing delimiter into out. Returns its length or -FG_ESPACE. */
int fd_http_part_end(const char *boundary, char *out, size_t outlen);
/* The whole body's length (the Content-Length of the 206), 0 on a
 * boundary or type too long to frame. */
uint64_t fd_http_multipart_length(const char *boundary, const char *ctype,
				  const fd_range_set_t *rs, uint64_t size);
/* The value of the field `name` of the response head `head` (up to its
 * blank line), blanks trimmed, into out. Returns its length, -ENOENT
 * when there is none, -FG_ESPACE when it does not fit. */
int fd_http_field(const char *head, const char *name, char *out, size_t outlen);
/* The boundary parameter of a multipart Content-Type value ("multipart/
 * byteranges; boundary=B", B a token or quoted, RFC 2046 5.1.1: 1..70
 * characters) into out[71]. Returns its length or -FG_EMALF. */
int fd_http_boundary(const char *ctype, char out[71]);

/* Replace the values of the Content-Length and (when cr is given)
 * Content-Range fields of the response head `head` by cl and cr, and its
 * Date by `now`; the body of `head`, if any, is not copied. The field
 * order and every other byte stay. Returns the length or -FG_ESPACE. */
int fd_http_render_sized(const char *head, time_t now, uint64_t cl, const char *cr,
			 char *out, size_t outlen);

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
