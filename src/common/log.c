/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_prog = "fluxgate";
static enum fg_log_level log_level = FG_LOG_INFO;

void fg_log_init(const char *prog, enum fg_log_level level)
{
	if (prog)
		log_prog = prog;
	log_level = level;
}

void fg_log_set_level(enum fg_log_level level)
{
	log_level = level;
}

void fg_log(enum fg_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(buf, sizeof(buf), "%s[%d]: %s: ", log_prog, (int)getpid(), tag[level]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	/* one write keeps lines from different threads whole */
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}
