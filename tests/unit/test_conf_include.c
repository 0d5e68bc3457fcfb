/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of `include:` (conf/include.c): shared pool files read by both
 * fluxgated's loader and fluxdecoy's, merged with the including file's own
 * pools; errors inside an included file are reported at that file's line,
 * errors about it (unreadable, nested, other keys) where they are; and
 * fluxdecoy's shuffle checks (shares, undefined pools, size).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "conf/conf.h"
#include "conf/keyfiles.h"
#include "conf/schema.h"
#include "decoy/dconf.h"

struct sink {
	char buf[16384];
	size_t len;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n",
			 file, line, msg);

	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
}

static char dir[64];

static const char *put(const char *name, const char *text)
{
	static char path[8][128];
	static int k;
	char *p = path[k++ % 8];
	FILE *f;

	snprintf(p, 128, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/fg-include-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *gw_head =
	"server:\n  listen: 127.0.0.1@5353\n"
	"zone:\n  - domain: example.test\n    soa: { mname: ns1, rname: h }\n";

static int gw_load(const char *body, fg_conf_t **c, struct sink *s)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", gw_head, body);
	memset(s, 0, sizeof(*s));
	return fg_conf_load(put("gw.conf", text), c, sink_fn, s);
}

static void test_gateway_include(void **st)
{
	fg_conf_t *c;
	struct sink s;
	char body[1024];

	(void)st;
	const char *pools = put("pools.conf", "# shared\npool:\n  - id: web4\n"
			       "    prefix: 198.51.100.0/24\n  - id: web6\n"
			       "    prefix: 2001:db8:77::/64\n");
	snprintf(body, sizeof(body), "include: %s\npool:\n  - id: mail4\n"
		 "    prefix: 203.0.113.0/28\nservice:\n  - id: www\n"
		 "    name: www.example.test\n    backend: [10.0.2.10@80, fd00:2::10@80]\n"
		 "    pool: [web4, web6]\n", pools);
	assert_int_equal(gw_load(body, &c, &s), 0);
	assert_int_equal(c->npools, 3);
	assert_string_equal(c->pools[0].id, "mail4");   /* own first */
	assert_string_equal(c->pools[1].id, "web4");
	assert_string_equal(c->pools[2].id, "web6");
	assert_int_equal(c->ninclude, 1);
	fg_conf_free(c);

	/* an error inside the included file: that file's line */
	pools = put("bad.conf", "pool:\n  - id: web4\n    prefix: 198.51.100.0/33\n"
		    "  - id: mail4\n    prefix: 203.0.113.0/29\n");
	snprintf(body, sizeof(body), "include: %s\npool:\n  - id: mail4\n"
		 "    prefix: 203.0.113.0/28\n", pools);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "/bad.conf:3: pool 'web4': prefix: invalid prefix length"));
	/* across files: the duplicate in the include, naming the first by file */
	assert_non_null(strstr(s.buf, "/bad.conf:4: pool 'mail4'"));
	assert_non_null(strstr(s.buf, "/bad.conf:5: pool 'mail4': prefix 203.0.113.0/29 overlaps"));

	/* unreadable, relative, nested, other keys */
	snprintf(body, sizeof(body), "include: [%s/none.conf, rel.conf]\n", dir);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "gw.conf:6: include "));
	assert_non_null(strstr(s.buf, "none.conf: cannot open"));
	assert_non_null(strstr(s.buf, "gw.conf:6: include: "));
	const char *inner = put("inner.conf", "pool:\n  - id: x\n    prefix: 10.9.0.0/24\n");
	char nest[256];
	snprintf(nest, sizeof(nest), "include: %s\nservice: []\n", inner);
	const char *outer = put("outer.conf", nest);
	snprintf(body, sizeof(body), "include: %s\n", outer);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "/outer.conf:1: include: an included file cannot include another"));
	assert_non_null(strstr(s.buf, "/outer.conf:2: 'service': an included file may hold only shared pool definitions"));
	/* the same file twice */
	snprintf(body, sizeof(body), "include: [%s, %s]\n", inner, inner);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "already included"));
	/* a YAML error in the include */
	const char *broken = put("broken.conf", "pool:\n  - id: [\n");
	snprintf(body, sizeof(body), "include: %s\n", broken);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "/broken.conf:"));
	assert_non_null(strstr(s.buf, "YAML syntax error"));
	/* loading a buffer: an include cannot be read */
	snprintf(body, sizeof(body), "%sinclude: %s\n", gw_head, inner);
	memset(&s, 0, sizeof(s));
	assert_int_not_equal(fg_conf_load_buffer("buf", body, strlen(body), &c, sink_fn, &s), 0);
	assert_non_null(strstr(s.buf, "not available when loading a buffer"));
}

/* A reload under privilege separation: the text [priv] read stands in for
 * an included file this process cannot open; an oversized one is refused
 * by the loader whichever way it came (so --check and a reload agree). */
static void test_reload_include_from_priv(void **st)
{
	fg_conf_t *c = NULL;
	struct sink s;
	char text[2048], path[128];

	(void)st;
	snprintf(path, sizeof(path), "%s/root-only/pools.conf", dir);    /* absent */
	snprintf(text, sizeof(text), "%sinclude: %s\n", gw_head, path);
	const char *gw = put("gw-priv.conf", text);
	memset(&s, 0, sizeof(s));
	assert_int_not_equal(fg_conf_reload_keys(gw, NULL, 0, NULL, NULL, &c, sink_fn, &s), 0);
	assert_non_null(strstr(s.buf, "cannot open"));

	fg_keyfiles_t kf = { 0 };
	const char *pools = "pool:\n  - id: web4\n    prefix: 198.51.100.0/24\n";
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_INCLUDE, path, pools, strlen(pools), NULL), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(fg_conf_reload_keys(gw, NULL, 0, NULL, &kf, &c, sink_fn, &s), 0);
	assert_int_equal(c->npools, 1);
	assert_string_equal(c->pools[0].id, "web4");
	fg_conf_free(c);
	c = NULL;
	/* the kind counts: a key file of that path is not an include */
	fg_keyfiles_clear(&kf);
	assert_int_equal(fg_keyfiles_add(&kf, FG_KF_DNSKEY, path, pools, strlen(pools), NULL), 0);
	memset(&s, 0, sizeof(s));
	assert_int_not_equal(fg_conf_reload_keys(gw, NULL, 0, NULL, &kf, &c, sink_fn, &s), 0);
	fg_keyfiles_clear(&kf);

	/* larger than FG_CONF_MAX_INCLUDE_SIZE, read from disk */
	size_t big = FG_CONF_MAX_INCLUDE_SIZE + 1;
	char *b = malloc(big + 1);
	assert_non_null(b);
	memset(b, '#', big);
	b[big] = '\0';
	const char *bp = put("big.conf", b);
	free(b);
	snprintf(text, sizeof(text), "include: %s\n", bp);
	assert_int_not_equal(gw_load(text, &c, &s), 0);
	assert_non_null(strstr(s.buf, "bytes (at most 524288)"));
}

/* Where the included pools go in the main file's tree, and the include
 * values that are refused (each diagnostic at its line). */
static void test_include_shapes(void **st)
{
	fg_conf_t *c;
	struct sink s;
	char body[4096];

	(void)st;
	const char *one = put("one.conf", "pool:\n  - id: a4\n    prefix: 198.51.100.0/25\n"
			     "  - id: b4\n    prefix: 198.51.100.128/25\n");
	const char *two = put("two.conf", "pool:\n  - id: c4\n    prefix: 203.0.113.0/25\n");
	/* no pool: in the main file: the included list becomes it; a second
	 * include appends to it (the list grows) */
	snprintf(body, sizeof(body), "include: [%s, %s]\n", one, two);
	assert_int_equal(gw_load(body, &c, &s), 0);
	assert_int_equal(c->npools, 3);
	assert_string_equal(c->pools[0].id, "a4");
	assert_string_equal(c->pools[2].id, "c4");
	assert_int_equal(c->ninclude, 2);
	fg_conf_free(c);
	/* "pool:" with nothing under it takes the included list */
	snprintf(body, sizeof(body), "pool:\ninclude: %s\n", two);
	if (gw_load(body, &c, &s) != 0)
		fail_msg("%s", s.buf);
	assert_int_equal(c->npools, 1);
	assert_string_equal(c->pools[0].id, "c4");
	fg_conf_free(c);
	/* include: with nothing is an error of the schema, not a silent no-op */
	assert_int_not_equal(gw_load("include:\n", &c, &s), 0);
	assert_non_null(strstr(s.buf, "gw.conf:6: include: missing value"));
	/* an empty included file defines nothing */
	const char *empty = put("empty.conf", "");
	snprintf(body, sizeof(body), "include: %s\n", empty);
	assert_int_equal(gw_load(body, &c, &s), 0);
	assert_int_equal(c->npools, 0);
	fg_conf_free(c);

	/* a main file whose pool: is not a list: the schema says so, the
	 * included pools are not merged into it */
	snprintf(body, sizeof(body), "pool: 5\ninclude: %s\n", two);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "gw.conf:6: "));
	/* an included file that is a list, not a map */
	const char *list = put("list.conf", "- id: x\n");
	snprintf(body, sizeof(body), "include: %s\n", list);
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "/list.conf:1: an included file holds a map with pool: only"));
	/* an entry that is not a file name */
	assert_int_not_equal(gw_load("include: [ { a: b } ]\n", &c, &s), 0);
	assert_non_null(strstr(s.buf, "gw.conf:6: include: expected a file name"));
	/* include: a map */
	assert_int_not_equal(gw_load("include: { a: b }\n", &c, &s), 0);
	assert_non_null(strstr(s.buf, "gw.conf:6: "));
	/* at most FG_CONF_MAX_INCLUDES (16) files */
	char names[17][32];
	int o = snprintf(body, sizeof(body), "include: [");
	for (int i = 0; i < 17; i++) {
		char text[128];
		snprintf(names[i], sizeof(names[i]), "p%d.conf", i);
		snprintf(text, sizeof(text), "pool:\n  - id: q%d\n    prefix: 10.%d.0.0/24\n", i, i);
		o += snprintf(body + o, sizeof(body) - (size_t)o, "%s%s", i ? ", " : "",
			      put(names[i], text));
	}
	snprintf(body + o, sizeof(body) - (size_t)o, "]\n");
	assert_int_not_equal(gw_load(body, &c, &s), 0);
	assert_non_null(strstr(s.buf, "include: at most 16 files"));
}

static const char *persona_text =
	"persona:\n  name: w\nservice:\n  - port: 22\n    kind: ssh\n"
	"    ssh-version: \"SSH-2.0-x\"\n    kex-algorithms: [curve25519-sha256]\n"
	"    host-key-algorithms: [ssh-ed25519]\n    ciphers-c2s: [aes128-ctr]\n"
	"    ciphers-s2c: [aes128-ctr]\n    macs-c2s: [hmac-sha2-256]\n"
	"    macs-s2c: [hmac-sha2-256]\n    compression-c2s: [none]\n"
	"    compression-s2c: [none]\n";

static void test_decoy_include(void **st)
{
	fd_conf_t *c;
	struct sink s;
	char text[2048];

	(void)st;
	const char *pf = put("p.persona", persona_text);
	const char *pools = put("dpools.conf", "pool:\n  - id: web4\n    prefix: 198.51.100.0/26\n"
				"  - id: big\n    prefix: 2001:db8::/64\n");
	snprintf(text, sizeof(text), "include: %s\nshuffle:\n  epoch: 5m\n"
		 "  universe-prefix4: 24\npersona:\n  - id: a\n    file: %s\n"
		 "    pool: web4\n    share: 0.75\n  - id: b\n    file: %s\n"
		 "    pool: web4\n    share: 0.25\n", pools, pf, pf);
	memset(&s, 0, sizeof(s));
	int lrc = fd_conf_load(put("d.conf", text), &c, sink_fn, &s);
	if (lrc) fprintf(stderr, "%s", s.buf);
	assert_int_equal(lrc, 0);
	assert_int_equal(c->npools, 2);
	assert_int_equal(c->shuffle.epoch_ms, 300000);
	assert_int_equal(c->shuffle.universe_prefix4, 24);
	assert_int_equal(c->shuffle.universe_prefix6, 64);
	assert_null(c->shuffle.key);
	assert_true(c->personas[0].share == 0.75);
	assert_non_null(fd_conf_pool(c, "web4"));
	/* a shuffled persona covers nothing by addresses */
	uint8_t a[4] = { 198, 51, 100, 1 };
	assert_false(fd_conf_persona_covers(&c->personas[0], AF_INET, a));
	fd_conf_free(c);

	snprintf(text, sizeof(text), "include: %s\npersona:\n  - id: a\n    file: %s\n"
		 "    pool: [web4, nosuch]\n    share: 0.75\n  - id: b\n    file: %s\n"
		 "    pool: web4\n    share: 0.5\n  - id: c\n    file: %s\n    pool: big\n"
		 "  - id: d\n    file: %s\n    pool: web4\n    share: 0\n"
		 "    addresses: 10.0.0.0/24\n", pools, pf, pf, pf, pf);
	memset(&s, 0, sizeof(s));
	assert_int_not_equal(fd_conf_load(put("d2.conf", text), &c, sink_fn, &s), 0);
	assert_non_null(strstr(s.buf, "d2.conf:3: persona 'a': pool 'nosuch' is not defined"));
	assert_non_null(strstr(s.buf, "pool 'web4': the shares of its personas sum to 1.25, more than 1"));
	assert_non_null(strstr(s.buf, "persona 'c': pool 'big' has more than 65536 addresses"));
	assert_non_null(strstr(s.buf, "persona 'd': addresses and pool exclude each other"));
	/* a share outside [0, 1] */
	snprintf(text, sizeof(text), "include: %s\npersona:\n  - id: a\n    file: %s\n"
		 "    pool: web4\n    share: 1.5\n", pools, pf);
	memset(&s, 0, sizeof(s));
	assert_int_not_equal(fd_conf_load(put("d3.conf", text), &c, sink_fn, &s), 0);
	assert_non_null(strstr(s.buf, "d3.conf:6: persona 'a': share"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway_include),
		cmocka_unit_test(test_reload_include_from_priv),
		cmocka_unit_test(test_include_shapes),
		cmocka_unit_test(test_decoy_include),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
