/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests: paging of `fluxctl grants` (daemon/grantpage.h): the cursor
 * codec and its checks, the page size, and a walk by pages that yields every
 * grant exactly once, also while grants are added and removed between pages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/grantpage.h"

static fg_grant_t mk(int scope, int fam, uint32_t client, uint32_t addr)
{
	fg_grant_t g = { .family = (uint8_t)fam, .scope = (uint8_t)scope };
	unsigned bits = fam == AF_INET ? 32 : 128;
	g.client_plen = scope == FG_SCOPE_CLIENT ? (uint8_t)bits : scope == FG_SCOPE_NET ? 24 : 0;
	if (scope != FG_SCOPE_ANY)
		memcpy(g.client, &client, 4);
	memcpy(g.addr, &addr, 4);
	return g;
}

static void test_cursor_roundtrip(void **state)
{
	(void)state;
	fg_grant_t g = mk(FG_SCOPE_NET, AF_INET6, 0x01020304, 0xa0b0c0d0), back;
	char cur[FG_GRANT_CURSOR_LEN + 1], why[96];
	fg_grant_cursor_encode(&g, cur);
	assert_int_equal(strlen(cur), FG_GRANT_CURSOR_LEN);
	assert_int_equal(fg_grant_cursor_decode(cur, &back, why, sizeof(why)), 0);
	assert_int_equal(fg_grant_key_cmp(&g, &back), 0);
	assert_int_equal(back.family, AF_INET6);
	assert_int_equal(back.client_plen, 24);
}

static void test_cursor_rejects(void **state)
{
	(void)state;
	fg_grant_t g = mk(FG_SCOPE_CLIENT, AF_INET, 1, 2), back;
	char cur[FG_GRANT_CURSOR_LEN + 1], bad[FG_GRANT_CURSOR_LEN + 2], why[96];
	fg_grant_cursor_encode(&g, cur);

	assert_int_equal(fg_grant_cursor_decode("", &back, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "70 hex digits"));
	assert_int_equal(fg_grant_cursor_decode("zz", &back, why, sizeof(why)), -EINVAL);
	snprintf(bad, sizeof(bad), "%s0", cur);            /* one digit too many */
	assert_int_equal(fg_grant_cursor_decode(bad, &back, why, sizeof(why)), -EINVAL);
	memcpy(bad, cur, sizeof(cur));
	bad[10] = 'g';
	assert_int_equal(fg_grant_cursor_decode(bad, &back, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "not a hex digit");
	memcpy(bad, cur, sizeof(cur));
	bad[1] = '3';                                     /* scope 3 */
	assert_int_equal(fg_grant_cursor_decode(bad, &back, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unknown scope");
	memcpy(bad, cur, sizeof(cur));
	bad[3] = '5';                                     /* family 5 */
	assert_int_equal(fg_grant_cursor_decode(bad, &back, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unknown address family");
	memcpy(bad, cur, sizeof(cur));
	bad[4] = '2';                                     /* IPv4 /33 */
	bad[5] = '1';
	assert_int_equal(fg_grant_cursor_decode(bad, &back, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "client prefix length out of range");
}

static void test_limit(void **state)
{
	(void)state;
	unsigned v = 0;
	assert_int_equal(fg_grant_limit_parse("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(fg_grant_limit_parse("10000", &v), 0);
	assert_int_equal(v, FG_GRANT_PAGE_MAX);
	assert_int_equal(fg_grant_limit_parse("0", &v), -EINVAL);
	assert_int_equal(fg_grant_limit_parse("10001", &v), -EINVAL);
	assert_int_equal(fg_grant_limit_parse("", &v), -EINVAL);
	assert_int_equal(fg_grant_limit_parse("-5", &v), -EINVAL);
	assert_int_equal(fg_grant_limit_parse("12a", &v), -EINVAL);
	assert_int_equal(fg_grant_limit_parse("99999999999", &v), -EINVAL);
}

/* What the daemon does for one page: every grant past the cursor, sorted,
 * cut at `limit`; returns the count taken and sets *more. */
static size_t page(const fg_grant_t *all, size_t n, const fg_grant_t *after, unsigned limit,
		   fg_grant_t *out, int *more)
{
	fg_grant_t *v = malloc((n ? n : 1) * sizeof(*v));
	size_t k = 0, taken = 0;
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		if (!after || fg_grant_key_cmp(&all[i], after) > 0)
			v[k++] = all[i];
	fg_grant_sort(v, k);
	*more = k > limit;
	for (; taken < k && taken < limit; taken++)
		out[taken] = v[taken];
	free(v);
	return taken;
}

/* 3000 grants of every scope and both families, in a shuffled order,
 * walked by pages of 100 through the cursor text: each one exactly once. */
static void test_walk_every_grant_once(void **state)
{
	(void)state;
	enum { N = 3000, LIMIT = 100 };
	fg_grant_t *all = calloc(N, sizeof(*all)), pg[LIMIT], after;
	int *seen = calloc(N, sizeof(int));
	assert_non_null(all);
	assert_non_null(seen);
	for (uint32_t i = 0; i < N; i++) {
		all[i] = mk((int)(i % 3), i % 2 ? AF_INET : AF_INET6, i * 2654435761u, i);
		all[i].timeout_ms = i;         /* the index, to find it again */
	}
	for (size_t i = N - 1; i > 0; i--) {   /* deterministic shuffle */
		size_t j = (i * 7919u) % (i + 1);
		fg_grant_t t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	int more = 1, pages = 0;
	const fg_grant_t *cur = NULL;
	size_t total = 0;
	while (more) {
		size_t k = page(all, N, cur, LIMIT, pg, &more);
		for (size_t i = 0; i < k; i++)
			seen[pg[i].timeout_ms]++;
		total += k;
		pages++;
		if (more) {
			char text[FG_GRANT_CURSOR_LEN + 1], why[96];
			assert_int_equal(k, LIMIT);
			fg_grant_cursor_encode(&pg[k - 1], text);
			assert_int_equal(fg_grant_cursor_decode(text, &after, why, sizeof(why)), 0);
			cur = &after;
		}
	}
	assert_int_equal(total, N);
	assert_int_equal(pages, N / LIMIT);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	free(all);
	free(seen);
}

/* A grant removed between pages (the cursor's own one) does not lose the
 * place: the walk goes on after its key. */
static void test_cursor_of_a_gone_grant(void **state)
{
	(void)state;
	fg_grant_t all[5], pg[2];
	int more;
	for (uint32_t i = 0; i < 5; i++)
		all[i] = mk(FG_SCOPE_CLIENT, AF_INET, 1, i);
	size_t k = page(all, 5, NULL, 2, pg, &more);
	assert_int_equal(k, 2);
	assert_true(more);
	fg_grant_t after = pg[1];
	all[1] = all[4];                       /* grant 1 expires */
	k = page(all, 4, &after, 2, pg, &more);   /* 2, 3 of 2, 3, 4 */
	assert_int_equal(k, 2);
	assert_true(more);
	assert_int_equal(fg_grant_key_cmp(&pg[0], &all[2]), 0);
	assert_int_equal(fg_grant_key_cmp(&pg[1], &all[3]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_roundtrip),
		cmocka_unit_test(test_cursor_rejects),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_walk_every_grant_once),
		cmocka_unit_test(test_cursor_of_a_gone_grant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
