/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal scalar parsers of the config loader. Unlike the public wrappers in
 * conf.h they explain a failure in `err` (one phrase that quotes the
 * offending text, ready to follow "<key>: "), because an operator reading
 * `fluxgated --check` needs the reason, not an errno.
 *
 * All return 0, -FG_ESYNTAX (malformed text) or -ERANGE (well formed but out
 * of range). None keeps state; all are thread-safe.
 */
#ifndef FG_CONF_SCALAR_H
#define FG_CONF_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* Longest value quoted in a message; longer ones are cut with "...". */
#define FG_QUOTE_MAX 64

/* Copy `s` for a message: non-printable bytes become \xHH, long text is cut.
 * Always NUL-terminates (out must hold at least 4 * FG_QUOTE_MAX + 4). */
void fg_quote(const char *s, char *out, size_t outlen);

/* Decimal integer in [min, max]. With `allow_auto`, "auto" yields 0. */
int fg_scalar_uint(const char *s, uint64_t min, uint64_t max, bool allow_auto,
		   uint64_t *v, char *err, size_t errlen);

/* TIME in milliseconds (no range check beyond uint64). */
int fg_scalar_time(const char *s, uint64_t *ms, char *err, size_t errlen);

/* Format a millisecond count with the largest unit that divides it. */
void fg_format_time(uint64_t ms, char *out, size_t outlen);

/* SIZE (k/M/G, 1024 based). */
int fg_scalar_size(const char *s, uint64_t *v, char *err, size_t errlen);

/* Format a size with the largest suffix that divides it. */
void fg_format_size(uint64_t v, char *out, size_t outlen);

/* Plain decimal number ("0.1", "1", "12.5"); no exponent, no sign, not
 * locale dependent. Range is [min, max], or (min, max] with min_open. */
int fg_scalar_float(const char *s, double min, bool min_open, double max,
		    double *v, char *err, size_t errlen);

/* on/off, true/false, yes/no. */
int fg_scalar_bool(const char *s, bool *v, char *err, size_t errlen);

/* ADDR or ADDR@PORT. Without a port the result has `default_port`; with
 * `allow_port` false a port is an error. out->line is left untouched. */
int fg_scalar_addr(const char *s, uint16_t default_port, bool allow_port,
		   fg_conf_addr_t *out, char *err, size_t errlen);

/* CIDR with zero host bits, or "first-last" of one family. */
int fg_scalar_prefix(const char *s, fg_conf_prefix_t *out, char *err, size_t errlen);

/* Presentation form of a prefix: "198.51.100.0/24" or "a-b". */
void fg_format_prefix(const fg_conf_prefix_t *p, char *out, size_t outlen);

/* Presentation form of an address with its port: "10.0.0.1@53". */
void fg_format_addr(const fg_conf_addr_t *a, char *out, size_t outlen);

/* Value checks for STR items (same convention, used by the schema). */
int fg_check_dname(const char *s, char *err, size_t errlen);
int fg_check_id(const char *s, char *err, size_t errlen);
int fg_check_abspath(const char *s, char *err, size_t errlen);
int fg_check_user(const char *s, char *err, size_t errlen);
/* server.nsid: 1..128 printable ASCII characters */
int fg_check_nsid(const char *s, char *err, size_t errlen);
int fg_check_group(const char *s, char *err, size_t errlen);
int fg_check_sockpath(const char *s, char *err, size_t errlen);
int fg_check_nft_name(const char *s, char *err, size_t errlen);
int fg_check_text(const char *s, char *err, size_t errlen);

/* Canonical form of a valid domain name for comparisons: lower case, no
 * trailing dot, root is "". `out` must hold 256 bytes. */
void fg_dname_canon(const char *s, char out[256]);

/* Whether canonical name `name` equals `zone` or lies below it on a label
 * boundary. */
bool fg_dname_inside(const char *name, const char *zone);

#endif
