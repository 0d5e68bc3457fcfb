/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxgate error convention.
 *
 * Every fallible function returns 0 (or a non-negative count) on success and a
 * negative code on failure. Codes are either negated errno values (-ENOMEM,
 * -EINVAL, ...) or the fluxgate-specific codes below, which live above the
 * errno range so the two never collide. fg_strerror() names both kinds.
 */
#ifndef FG_COMMON_ERR_H
#define FG_COMMON_ERR_H

#include <stddef.h>

enum fg_err {
	FG_EBASE = 4096,
	FG_ETRUNC,      /* input ends before a field it announces */
	FG_EMALF,       /* input is structurally malformed */
	FG_ELABEL,      /* DNS label longer than 63 octets */
	FG_ENAME,       /* DNS name longer than 255 octets */
	FG_EPTR,        /* compression pointer loops or points forward */
	FG_ESPACE,      /* output buffer too small */
	FG_EQDCOUNT,    /* query does not carry exactly one question */
	FG_ENOTQUERY,   /* QR bit set: a response where a query was expected */
	FG_EOPT,        /* malformed or duplicated OPT record */
	FG_EECS,        /* malformed EDNS Client Subnet option */
	FG_ESYNTAX,     /* text syntax error (config, zone record) */
	FG_ESCHEMA,     /* config item violates its schema */
	FG_ENOZONE,     /* name lies outside every configured zone */
	FG_EGRANT,      /* grant refused or not acknowledged */
	FG_ENETLINK,    /* netlink error reported by the kernel */
	FG_EVERSION,    /* unsupported protocol version */
	FG_EAUTH,       /* authentication failure */
	FG_ECOOKIE,     /* malformed EDNS COOKIE option (RFC 7873) */
	FG_EEXIT,       /* a program we ran exited with a failure status */
	FG_ELAST
};

/* Human-readable text for a code returned by any fluxgate function (either
 * sign accepted). Returns a static string; never NULL. Thread-safe. */
const char *fg_strerror(int code);

/* Write a message into err[errlen] (when err is not NULL) and return
 * `code`: the one way pure parsers report what went wrong, e.g.
 * `return fg_errf(err, errlen, -FG_ESYNTAX, "bad TTL '%s'", s);`. */
int fg_errf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
