/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "common/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_prog = "fluxgate";
static enum fg_log_level log_level = FG_LOG_INFO;
static bool log_journal;   /* stderr is systemd's journal stream */

/* systemd sets JOURNAL_STREAM=dev:inode of the stream it connected to
 * stderr; only when stderr is still that stream (not redirected by a
 * wrapper) does the journal read "<N>" prefixes as the priority. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	if (!e || sscanf(e, "%ju:%ju", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void fg_log_init(const char *prog, enum fg_log_level level)
{
	if (prog)
		log_prog = prog;
	log_level = level;
	log_journal = stderr_is_journal();
}

void fg_log_set_level(enum fg_log_level level)
{
	log_level = level;
}

void fg_log(enum fg_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	static const char prio[] = { '3', '4', '6', '7' };   /* sd-daemon.h levels */
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	/* the journal records program and pid itself */
	if (log_journal)
		n = snprintf(buf, sizeof(buf), "<%c>%s: ", prio[level], tag[level]);
	else
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
