/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const fg_err_text[] = {
	[FG_ETRUNC - FG_EBASE]     = "truncated input",
	[FG_EMALF - FG_EBASE]      = "malformed input",
	[FG_ELABEL - FG_EBASE]     = "label longer than 63 octets",
	[FG_ENAME - FG_EBASE]      = "name longer than 255 octets",
	[FG_EPTR - FG_EBASE]       = "bad compression pointer",
	[FG_ESPACE - FG_EBASE]     = "no space left in output buffer",
	[FG_EQDCOUNT - FG_EBASE]   = "question count is not 1",
	[FG_ENOTQUERY - FG_EBASE]  = "message is not a query",
	[FG_EOPT - FG_EBASE]       = "malformed OPT record",
	[FG_EECS - FG_EBASE]       = "malformed EDNS client subnet option",
	[FG_ESYNTAX - FG_EBASE]    = "syntax error",
	[FG_ESCHEMA - FG_EBASE]    = "invalid configuration item",
	[FG_ENOZONE - FG_EBASE]    = "name outside configured zones",
	[FG_EGRANT - FG_EBASE]     = "grant failed",
	[FG_ENETLINK - FG_EBASE]   = "netlink error",
	[FG_EVERSION - FG_EBASE]   = "unsupported protocol version",
	[FG_EAUTH - FG_EBASE]      = "authentication failed",
	[FG_ECOOKIE - FG_EBASE]    = "malformed DNS COOKIE option",
	[FG_EEXIT - FG_EBASE]      = "the program exited with a failure status",
};

const char *fg_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		return "success";
	if (code > FG_EBASE && code < FG_ELAST) {
		const char *s = fg_err_text[code - FG_EBASE];
		return s ? s : "unknown fluxgate error";
	}
	if (code < FG_EBASE)
		return strerror(code); /* glibc's is thread-safe for known codes */
	return "unknown error";
}

int fg_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
