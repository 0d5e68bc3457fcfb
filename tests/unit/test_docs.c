/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Docs are true: the documented lists are checked against what the code
 * has, in both directions.
 *   - every config key of the schema (src/conf/schema.c) is described in
 *     its section of fluxgate.conf(5), and every key the page describes
 *     (a .TP entry) exists in the schema;
 *   - every key is shown in etc/fluxgate.conf.sample (set or commented);
 *   - every metric the renderer writes is in the operator guide's metrics
 *     table, and every metric of the table is written.
 * Run from the repository root (tests/run.sh does).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/schema.h"
#include "daemon/metrics.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* The text of ".SS name ..." up to the next .SS or .SH (a copy). */
static char *man_section(const char *page, const char *name)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "\n.SS %s", name);
	const char *s = page;
	size_t hl = strlen(hdr);
	while ((s = strstr(s, hdr)) && s[hl] != ' ' && s[hl] != '\n')
		s += hl;
	if (!s)
		return NULL;
	s += 1;
	const char *a = strstr(s, "\n.SS "), *b = strstr(s, "\n.SH ");
	const char *e = !a ? b : !b ? a : a < b ? a : b;
	size_t len = e ? (size_t)(e - s) : strlen(s);
	char *out = malloc(len + 1);
	assert_non_null(out);
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

/* roff "\-" to "-" in a copy of the first word after ".B " / ".BR ". */
static bool man_word(const char *line, char *out, size_t cap)
{
	const char *p;
	if (!strncmp(line, ".BR ", 4))
		p = line + 4;
	else if (!strncmp(line, ".B ", 3))
		p = line + 3;
	else
		return false;
	size_t n = 0;
	while (*p && *p != ' ' && *p != '\n' && n + 1 < cap) {
		if (p[0] == '\\' && p[1] == '-') {
			out[n++] = '-';
			p += 2;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return n > 0;
}

/* Is `key` named on a .B/.BR line of `sec`; with `tp`, as an entry's tag? */
static bool man_has_key(const char *sec, const char *key, bool tp)
{
	char w[128];
	for (const char *l = sec; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (tp) {
			/* an entry's tag follows .TP, or .TQ for a second tag */
			if (strncmp(l, ".TP\n", 4) && strncmp(l, ".TQ\n", 4))
				continue;
			l += 4;
		}
		if (man_word(l, w, sizeof w) && !strcmp(w, key))
			return true;
	}
	return false;
}

static bool schema_has(const fg_item_t *items, const char *key)
{
	for (const fg_item_t *it = items; it->name; it++)
		if (!strcmp(it->name, key))
			return true;
	return false;
}

static void test_config_keys_documented(void **st)
{
	(void)st;
	char *page = slurp("doc/fluxgate.conf.5");
	int missing = 0;
	for (const fg_item_t *s = fg_conf_schema; s->name; s++) {
		char *sec = man_section(page, s->name);
		if (!sec) {
			print_error("fluxgate.conf.5: no section for '%s'\n", s->name);
			missing++;
			continue;
		}
		for (const fg_item_t *k = s->sub; k && k->name; k++) {
			if (!man_has_key(sec, k->name, true)) {
				print_error("fluxgate.conf.5: %s.%s is not documented\n", s->name, k->name);
				missing++;
			}
			/* keys of a nested map are named in their parent's text */
			for (const fg_item_t *n = k->type == FG_T_MAP ? k->sub : NULL; n && n->name; n++)
				if (!man_has_key(sec, n->name, false)) {
					print_error("fluxgate.conf.5: %s.%s.%s is not documented\n",
						    s->name, k->name, n->name);
					missing++;
				}
		}
		/* and the other way: every described key exists */
		char w[128];
		for (const char *l = strchr(sec, '\n'); l; l = strchr(l + 1, '\n'))
			if ((!strncmp(l, "\n.TP\n", 5) || !strncmp(l, "\n.TQ\n", 5)) &&
			    man_word(l + 5, w, sizeof w) && !schema_has(s->sub, w)) {
				print_error("fluxgate.conf.5: %s.%s is documented but not a key\n", s->name, w);
				missing++;
			}
		free(sec);
	}
	free(page);
	assert_int_equal(missing, 0);
}

/* "key:" at the start of a (possibly commented) line, or inside a flow map. */
static bool sample_has(const char *sample, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = strstr(sample, key); p; p = strstr(p + 1, key)) {
		if (p[kl] != ':')
			continue;
		const char *q = p;
		while (q > sample && (q[-1] == ' ' || q[-1] == '#' || q[-1] == '-'))
			q--;
		if (q == sample || q[-1] == '\n' || p[-1] == '{' || p[-2] == ',' || p[-2] == '{')
			return true;
	}
	return false;
}

static void test_sample_shows_every_key(void **st)
{
	(void)st;
	char *sample = slurp("etc/fluxgate.conf.sample");
	int missing = 0;
	for (const fg_item_t *s = fg_conf_schema; s->name; s++)
		for (const fg_item_t *k = s->sub; k && k->name; k++) {
			/* a nested map (zone.soa) is shown by its keys */
			const fg_item_t *keys = k->type == FG_T_MAP ? k->sub : k;
			for (const fg_item_t *n = keys; n->name; n++) {
				if (!sample_has(sample, n->name)) {
					print_error("fluxgate.conf.sample: %s.%s is not shown\n", s->name, n->name);
					missing++;
				}
				if (keys == k)
					break;
			}
		}
	free(sample);
	assert_int_equal(missing, 0);
}

/* Names in the first column of the guide's metrics table (the section
 * "### Metrics" up to the next heading). */
static size_t guide_metrics(char names[][64], size_t cap)
{
	char *g = slurp("doc/operator-guide.md");
	char *l = strstr(g, "### Metrics");
	assert_non_null(l);
	size_t n = 0;
	while ((l = strchr(l, '\n')) && *++l != '#') {
		if (strncmp(l, "| `", 3))
			continue;
		char *end = strstr(l + 2, " |");
		for (char *p = l + 2; end && p < end; ) {
			char *a = strchr(p, '`'), *b = a ? strchr(a + 1, '`') : NULL;
			if (!b || b >= end)
				break;
			if (n < cap)
				snprintf(names[n++], 64, "%.*s", (int)(b - a - 1), a + 1);
			p = b + 1;
		}
	}
	free(g);
	return n;
}

static void test_metrics_documented(void **st)
{
	(void)st;
	fg_metrics_t m;
	memset(&m, 0, sizeof m);
	m.has_dataplane = true;
	m.has_conntrack = true;
	m.nservices = 1;
	snprintf(m.services[0].id, FG_METRICS_ID_MAX, "www");
	m.npools = 1;
	snprintf(m.pools[0].id, FG_METRICS_ID_MAX, "p");
	m.pools[0].family = AF_INET;
	m.nagents = 1;
	snprintf(m.agents[0].id, FG_METRICS_ID_MAX, "a");
	char *text;
	size_t len;
	assert_int_equal(fg_metrics_render(&m, &text, &len), 0);

	static char doc[256][64];
	size_t ndoc = guide_metrics(doc, 256);
	assert_true(ndoc > 10);
	int bad = 0;

	/* every rendered family is documented */
	for (char *l = strstr(text, "# TYPE fluxgate_"); l; l = strstr(l + 1, "# TYPE fluxgate_")) {
		char name[64];
		if (sscanf(l, "# TYPE fluxgate_%63s", name) != 1)
			continue;
		bool found = false;
		for (size_t i = 0; i < ndoc && !found; i++)
			found = !strcmp(doc[i], name);
		if (!found) {
			print_error("operator-guide.md: metric fluxgate_%s is not in the table\n", name);
			bad++;
		}
	}
	/* every documented one is rendered */
	for (size_t i = 0; i < ndoc; i++) {
		char pat[96];
		snprintf(pat, sizeof pat, "# TYPE fluxgate_%s ", doc[i]);
		if (!strstr(text, pat)) {
			print_error("operator-guide.md: fluxgate_%s is documented but not exported\n", doc[i]);
			bad++;
		}
	}
	free(text);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keys_documented),
		cmocka_unit_test(test_sample_shows_every_key),
		cmocka_unit_test(test_metrics_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
