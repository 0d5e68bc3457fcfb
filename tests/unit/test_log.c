/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The log prefix: program[pid] on a plain stderr, the sd-daemon priority
 * "<N>" when stderr is the journal stream named by JOURNAL_STREAM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* Log one line with stderr on a pipe and return what was written. */
static void capture(bool as_journal, enum fg_log_level lv, const char *msg, char *out, size_t cap)
{
	int p[2], saved = dup(STDERR_FILENO);
	assert_int_equal(pipe(p), 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	if (as_journal) {
		struct stat st;
		char v[64];
		assert_int_equal(fstat(STDERR_FILENO, &st), 0);
		snprintf(v, sizeof v, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	} else {
		setenv("JOURNAL_STREAM", "1:1", 1);   /* some other stream */
	}
	fg_log_init("tlog", FG_LOG_DEBUG);
	fg_log(lv, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	ssize_t n = read(p[0], out, cap - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	unsetenv("JOURNAL_STREAM");
	fg_log_init("tlog", FG_LOG_INFO);
}

static void test_plain_prefix(void **st)
{
	(void)st;
	char buf[256], want[128];
	capture(false, FG_LOG_WARN, "hello", buf, sizeof buf);
	snprintf(want, sizeof want, "tlog[%d]: warning: hello\n", (int)getpid());
	assert_string_equal(buf, want);
}

static void test_journal_priorities(void **st)
{
	(void)st;
	char buf[256];
	capture(true, FG_LOG_ERR, "e", buf, sizeof buf);
	assert_string_equal(buf, "<3>error: e\n");
	capture(true, FG_LOG_WARN, "w", buf, sizeof buf);
	assert_string_equal(buf, "<4>warning: w\n");
	capture(true, FG_LOG_INFO, "i", buf, sizeof buf);
	assert_string_equal(buf, "<6>info: i\n");
	capture(true, FG_LOG_DEBUG, "d", buf, sizeof buf);
	assert_string_equal(buf, "<7>debug: d\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_prefix),
		cmocka_unit_test(test_journal_priorities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
