/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG secrets in files (`key: [{ secret-file: PATH }]`): the parser of the
 * file's text, the mode check, the loader's messages, and the reload made
 * by an unprivileged process, which takes the secret over from the running
 * config only while the root-only file is unchanged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "conf/conf.h"
#include "conf/secretfile.h"
#include "conf/keyfiles.h"

#define B64 "c2VjcmV0c2VjcmV0c2VjcmV0"   /* "secretsecretsecret", 18 octets */
#define B64_OTHER "b3RoZXJvdGhlcm90aGVy"

struct sink {
	char buf[8192];
	size_t len;
	unsigned n;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n", file, line,
			 msg);
	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
	s->n++;
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fg-secretfile.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return chmod(dir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, mode_t mode, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* a config naming `secret_line` for key k1 (the rest of the key given) */
static void write_conf(const char *secret_line, char *path, size_t cap)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "server:\n  listen: 127.0.0.1\n"
		 "key:\n  - id: k1\n    algorithm: hmac-sha256\n%s"
		 "policy:\n  keys: [ { key: k1, role: client } ]\n", secret_line);
	write_file("f.conf", text, 0644, path, cap);
}

static void test_parse(void **state)
{
	(void)state;
	char out[128];

	assert_int_equal(fg_secretfile_parse(B64 "\n", strlen(B64) + 1, out, sizeof(out)),
			 (int)strlen(B64));
	assert_string_equal(out, B64);
	const char *t = "  \t" B64 "  \r\n\n";
	assert_int_equal(fg_secretfile_parse(t, strlen(t), out, sizeof(out)), (int)strlen(B64));
	/* what tsig-keygen prints */
	t = "key \"k1\" {\n\talgorithm hmac-sha256;\n\tsecret \"" B64 "\";\n};\n";
	assert_int_equal(fg_secretfile_parse(t, strlen(t), out, sizeof(out)), (int)strlen(B64));
	assert_string_equal(out, B64);
	/* refused: nothing, two tokens, a non-base64 character, an open quote */
	assert_int_equal(fg_secretfile_parse("", 0, out, sizeof(out)), -FG_ESYNTAX);
	assert_int_equal(fg_secretfile_parse(" \n", 2, out, sizeof(out)), -FG_ESYNTAX);
	t = B64 " " B64;
	assert_int_equal(fg_secretfile_parse(t, strlen(t), out, sizeof(out)), -FG_ESYNTAX);
	t = "secret: " B64;
	assert_int_equal(fg_secretfile_parse(t, strlen(t), out, sizeof(out)), -FG_ESYNTAX);
	t = "secret \"" B64;
	assert_int_equal(fg_secretfile_parse(t, strlen(t), out, sizeof(out)), -FG_ESYNTAX);
	/* too long for out */
	assert_int_equal(fg_secretfile_parse(B64, strlen(B64), out, 8), -FG_ESPACE);
}

static void test_load(void **state)
{
	(void)state;
	char sp[256], cp[256], line[512];
	struct sink s = { 0 };
	fg_conf_t *c = NULL;

	write_file("k1.secret", B64 "\n", 0600, sp, sizeof(sp));
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	write_conf(line, cp, sizeof(cp));
	int rc = fg_conf_load(cp, &c, sink_fn, &s);
	if (rc)
		fprintf(stderr, "%s", s.buf);
	assert_int_equal(rc, 0);
	assert_string_equal(c->keys[0].secret, B64);
	assert_int_equal(c->tsig_keys[0].secret_len, 18);
	assert_memory_equal(c->tsig_keys[0].secret, "secretsecretsecret", 18);
	assert_true(c->keys[0].secret_id.set);
	fg_conf_free(c);

	/* the stanza tsig-keygen prints, unchanged */
	write_file("k1.secret", "key \"k1\" {\n\talgorithm hmac-sha256;\n\tsecret \"" B64_OTHER
		   "\";\n};\n", 0400, sp, sizeof(sp));
	memset(&s, 0, sizeof(s));
	assert_int_equal(fg_conf_load(cp, &c, sink_fn, &s), 0);
	assert_string_equal(c->keys[0].secret, B64_OTHER);
	fg_conf_free(c);
}

static void expect_error(const char *secret_line, const char *want, const char *never)
{
	char cp[256];
	struct sink s = { 0 };
	fg_conf_t *c = NULL;

	write_conf(secret_line, cp, sizeof(cp));
	assert_int_equal(fg_conf_load(cp, &c, sink_fn, &s), -FG_ESCHEMA);
	assert_null(c);
	if (!strstr(s.buf, want))
		fail_msg("expected '%s' in:\n%s", want, s.buf);
	if (never && strstr(s.buf, never))
		fail_msg("the message echoes '%s':\n%s", never, s.buf);
}

static void test_errors(void **state)
{
	(void)state;
	char sp[256], line[512], want[512];

	/* group- or world-readable: refused, the mode named */
	write_file("loose.secret", B64 "\n", 0640, sp, sizeof(sp));
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	snprintf(want, sizeof(want), "f.conf:4: key 'k1': secret-file %s: mode 640: readable or "
		 "writable by group or others (chmod 600 it)", sp);
	expect_error(line, want, B64);
	write_file("loose.secret", B64 "\n", 0602, sp, sizeof(sp));
	expect_error(line, "mode 602: readable or writable by group or others", B64);

	/* missing */
	snprintf(line, sizeof(line), "    secret-file: %s/none\n", dir);
	snprintf(want, sizeof(want), "key 'k1': secret-file %s/none: No such file or directory",
		 dir);
	expect_error(line, want, NULL);

	/* a directory */
	snprintf(line, sizeof(line), "    secret-file: %s\n", dir);
	expect_error(line, "not a regular file", NULL);

	/* no secret in it, or not a valid one: the content is never echoed */
	write_file("junk.secret", "hunter2 hunter3\n", 0600, sp, sizeof(sp));
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	expect_error(line, "no secret found (write the base64 secret alone, or the key stanza "
		     "tsig-keygen prints)", "hunter");
	write_file("bad64.secret", "QUJD=QUJD\n", 0600, sp, sizeof(sp));
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	expect_error(line, ": invalid base64 TSIG secret", "QUJD");

	/* exactly one of secret and secret-file; the path is absolute */
	snprintf(line, sizeof(line), "    secret: %s\n    secret-file: %s\n", B64, sp);
	expect_error(line, "f.conf:4: key 'k1': give secret or secret-file, not both", NULL);
	expect_error("", "f.conf:4: key 'k1': missing required key 'secret' (or 'secret-file')", NULL);
	expect_error("    secret-file: k1.secret\n",
		     "f.conf:6: key 'k1': secret-file: expected an absolute path, got 'k1.secret'",
		     "missing required key");

	/* from a buffer (unit tests, fuzzing): no file is opened */
	struct sink s = { 0 };
	fg_conf_t *c = NULL;
	const char *text = "server:\n  listen: 127.0.0.1\n"
		"key:\n  - { id: k1, algorithm: hmac-sha256, secret-file: /etc/passwd }\n";
	assert_int_equal(fg_conf_load_buffer("b.conf", text, strlen(text), &c, sink_fn, &s),
			 -FG_ESCHEMA);
	assert_non_null(strstr(s.buf, "b.conf:4: key 'k1': secret-file is read only from a "
				      "configuration file on disk"));
}

/* reload in a child that has become `nobody`: rc and the messages come
 * back through a pipe */
static int reload_as_nobody_kf(const char *cp, const fg_conf_t *prev, const fg_keyfiles_t *kf,
			       char *msgs, size_t cap, char *secret, size_t scap)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct sink s = { 0 };
		fg_conf_t *c = NULL;
		char *text = NULL;
		size_t len = 0;
		/* [priv] reads the config file; the child only its text */
		if (fg_conf_read_file(cp, &text, &len, NULL, NULL) < 0)
			_exit(100);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(101);
		int rc = fg_conf_reload_keys(cp, text, len, prev, kf, &c, sink_fn, &s);
		char out[8192 + 600];
		int n = snprintf(out, sizeof(out), "%d\n%s\n%s", rc,
				 c && c->keys[0].secret ? c->keys[0].secret : "-", s.buf);
		if (write(p[1], out, (size_t)n) != n)
			_exit(102);
		fg_conf_free(c);
		free(text);
		_exit(0);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(p[0], msgs + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	msgs[n] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char *nl = strchr(msgs, '\n');
	assert_non_null(nl);
	char *nl2 = strchr(nl + 1, '\n');
	assert_non_null(nl2);
	snprintf(secret, scap, "%.*s", (int)(nl2 - nl - 1), nl + 1);
	return atoi(msgs);
}

static int reload_as_nobody(const char *cp, const fg_conf_t *prev, char *msgs, size_t cap,
			    char *secret, size_t scap)
{
	return reload_as_nobody_kf(cp, prev, NULL, msgs, cap, secret, scap);
}

static void test_reload_unprivileged(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char sp[256], cp[256], line[512], msgs[9000], secret[512];
	struct sink s = { 0 };
	fg_conf_t *run = NULL;

	write_file("r.secret", B64 "\n", 0600, sp, sizeof(sp));
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	write_conf(line, cp, sizeof(cp));
	assert_int_equal(fg_conf_load(cp, &run, sink_fn, &s), 0);

	/* without a running config, nobody cannot read it */
	int rc = reload_as_nobody(cp, NULL, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, -FG_ESCHEMA);
	assert_non_null(strstr(msgs, ": Permission denied"));
	/* with it, the unchanged file's secret is taken over */
	rc = reload_as_nobody(cp, run, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, 0);
	assert_string_equal(secret, B64);

	/* another key id naming the same file: no takeover */
	snprintf(line, sizeof(line), "    secret-file: %s\n", sp);
	char text[1024], cp2[256];
	snprintf(text, sizeof(text), "server:\n  listen: 127.0.0.1\n"
		 "key:\n  - id: k2\n    algorithm: hmac-sha256\n%s", line);
	write_file("g.conf", text, 0644, cp2, sizeof(cp2));
	rc = reload_as_nobody(cp2, run, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, -FG_ESCHEMA);

	/* the file rewritten since: refused, with what to do */
	write_file("r.secret", B64_OTHER "\n", 0600, sp, sizeof(sp));
	rc = reload_as_nobody(cp, run, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, -FG_ESCHEMA);
	char want[512];
	snprintf(want, sizeof(want), "f.conf:4: key 'k1': secret-file %s: Permission denied (the "
		 "privileged process did not hand it over, see its log, and the running secret "
		 "was read from another version of the file)", sp);
	if (!strstr(msgs, want))
		fail_msg("expected '%s' in:\n%s", want, msgs);
	assert_null(strstr(msgs, B64));

	/* the [priv] process's copy of the rewritten file (PS_KEYS) applies;
	 * one of another path does not */
	fg_keyfiles_t kf = { 0 };
	fg_secretfile_id_t id = { .set = true, .size = 45 };
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_TSIG, "/nonexistent/r.secret", B64_OTHER,
					 strlen(B64_OTHER), &id), 0);
	rc = reload_as_nobody_kf(cp, run, &kf, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, -FG_ESCHEMA);
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_TSIG, sp, B64_OTHER, strlen(B64_OTHER), &id),
			 0);
	rc = reload_as_nobody_kf(cp, run, &kf, msgs, sizeof(msgs), secret, sizeof(secret));
	assert_int_equal(rc, 0);
	assert_string_equal(secret, B64_OTHER);
	fg_keyfiles_clear(&kf);
	fg_conf_free(run);

	/* root reloads read the file itself: the new secret */
	memset(&s, 0, sizeof(s));
	fg_conf_t *next = NULL;
	assert_int_equal(fg_conf_load(cp, &next, sink_fn, &s), 0);
	assert_string_equal(next->keys[0].secret, B64_OTHER);
	fg_conf_free(next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_reload_unprivileged),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
