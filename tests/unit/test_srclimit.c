/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: per-source connection counts (daemon/srclimit.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "daemon/srclimit.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_limit_per_address(void **state)
{
	(void)state;
	fg_srclimit_t *t = NULL;
	assert_int_equal(fg_srclimit_new(64, 12345, &t), 0);
	struct sockaddr_storage a = addr("192.0.2.1"), b = addr("192.0.2.2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(fg_srclimit_acquire(t, SA(a), 3), 0);
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 3), -EBUSY);
	/* another address of the same /24 is a source of its own */
	assert_int_equal(fg_srclimit_acquire(t, SA(b), 3), 0);
	assert_int_equal(fg_srclimit_count(t, SA(a)), 3);
	fg_srclimit_release(t, SA(a));
	assert_int_equal(fg_srclimit_count(t, SA(a)), 2);
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 3), 0);
	fg_srclimit_free(t);
}

static void test_ipv6_counts_per_64(void **state)
{
	(void)state;
	fg_srclimit_t *t = NULL;
	assert_int_equal(fg_srclimit_new(64, 1, &t), 0);
	struct sockaddr_storage a = addr("2001:db8:1:2::1"), b = addr("2001:db8:1:2:ffff::9"),
				c = addr("2001:db8:1:3::1");
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 2), 0);
	assert_int_equal(fg_srclimit_acquire(t, SA(b), 2), 0);
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 2), -EBUSY);   /* same /64 */
	assert_int_equal(fg_srclimit_acquire(t, SA(c), 2), 0);
	/* the IPv4 address with the same leading octets is not the same source */
	struct sockaddr_storage v4 = addr("32.1.13.184");
	assert_int_equal(fg_srclimit_count(t, SA(v4)), 0);
	fg_srclimit_free(t);
}

static void test_max_keys_and_family(void **state)
{
	(void)state;
	fg_srclimit_t *t = NULL;
	assert_int_equal(fg_srclimit_new(2, 7, &t), 0);
	struct sockaddr_storage a = addr("10.0.0.1"), b = addr("10.0.0.2"), c = addr("10.0.0.3");
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 5), 0);
	assert_int_equal(fg_srclimit_acquire(t, SA(b), 5), 0);
	assert_int_equal(fg_srclimit_acquire(t, SA(c), 5), -ENOSPC);
	assert_int_equal(fg_srclimit_acquire(t, SA(a), 5), 0);   /* known source */
	fg_srclimit_release(t, SA(b));
	assert_int_equal(fg_srclimit_acquire(t, SA(c), 5), 0);
	struct sockaddr_storage un;
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	assert_int_equal(fg_srclimit_acquire(t, SA(un), 5), -EAFNOSUPPORT);
	fg_srclimit_release(t, SA(un));   /* harmless */
	fg_srclimit_free(t);
}

/* Many sources in a small table, released in another order: every count
 * stays right through the backward-shift deletions (checked against a
 * plain array). */
static void test_churn_matches_model(void **state)
{
	(void)state;
	enum { N = 200 };
	fg_srclimit_t *t = NULL;
	assert_int_equal(fg_srclimit_new(N, 0, &t), 0);
	unsigned model[N] = { 0 };
	struct sockaddr_storage ss[N];
	for (unsigned i = 0; i < N; i++) {
		char text[32];
		snprintf(text, sizeof(text), "198.%u.%u.1", i % 7, i);
		ss[i] = addr(text);
	}
	uint32_t x = 2463534242u;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned i = x % N;
		if ((x >> 16) & 1) {
			int rc = fg_srclimit_acquire(t, SA(ss[i]), 4);
			assert_int_equal(rc, model[i] < 4 ? 0 : -EBUSY);
			if (rc == 0)
				model[i]++;
		} else if (model[i]) {
			fg_srclimit_release(t, SA(ss[i]));
			model[i]--;
		}
		if (step % 1000 == 0)
			for (unsigned k = 0; k < N; k++)
				assert_int_equal(fg_srclimit_count(t, SA(ss[k])), model[k]);
	}
	for (unsigned k = 0; k < N; k++)
		assert_int_equal(fg_srclimit_count(t, SA(ss[k])), model[k]);
	fg_srclimit_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_address),
		cmocka_unit_test(test_ipv6_counts_per_64),
		cmocka_unit_test(test_max_keys_and_family),
		cmocka_unit_test(test_churn_matches_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
