/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the rotating session ticket keys of DNS over TLS
 * (daemon/dot_tickets.h), driven with a fake clock and real OpenSSL
 * contexts: a ticket sealed now opens now and one period later (renewed),
 * never two periods later, and never under another ring's keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "daemon/dot_tickets.h"

#define PERIOD 3600000ull

typedef struct ticket {
	unsigned char name[16], iv[16];
	unsigned char ct[64], mac[32];
	int ctlen;
} ticket_t;

static const char plain[] = "a TLS session state, sealed";

static EVP_MAC_CTX *mac_ctx(void)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	assert_non_null(m);
	EVP_MAC_CTX *h = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);
	assert_non_null(h);
	return h;
}

static void seal(fg_tkr_t *r, uint64_t now, ticket_t *t)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MAC_CTX *h = mac_ctx();
	assert_int_equal(fg_tkr_crypt(r, now, t->name, t->iv, c, h, 1), 1);
	int n = 0, m = 0;
	assert_int_equal(EVP_EncryptUpdate(c, t->ct, &n, (const unsigned char *)plain, sizeof(plain)), 1);
	assert_int_equal(EVP_EncryptFinal_ex(c, t->ct + n, &m), 1);
	t->ctlen = n + m;
	size_t ml = 0;
	assert_int_equal(EVP_MAC_init(h, NULL, 0, NULL), 1);
	assert_int_equal(EVP_MAC_update(h, t->ct, (size_t)t->ctlen), 1);
	assert_int_equal(EVP_MAC_final(h, t->mac, &ml, sizeof(t->mac)), 1);
	assert_int_equal(ml, 32);
	EVP_CIPHER_CTX_free(c);
	EVP_MAC_CTX_free(h);
}

/* The callback's verdict at `now`; when it accepts, the ticket must open
 * to the sealed text with a matching MAC. */
static int open_ticket(fg_tkr_t *r, uint64_t now, ticket_t *t)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MAC_CTX *h = mac_ctx();
	int rc = fg_tkr_crypt(r, now, t->name, t->iv, c, h, 0);
	if (rc > 0) {
		unsigned char mac[32], out[80];
		size_t ml = 0;
		int n = 0, m = 0;
		assert_int_equal(EVP_MAC_init(h, NULL, 0, NULL), 1);
		assert_int_equal(EVP_MAC_update(h, t->ct, (size_t)t->ctlen), 1);
		assert_int_equal(EVP_MAC_final(h, mac, &ml, sizeof(mac)), 1);
		assert_memory_equal(mac, t->mac, 32);
		assert_int_equal(EVP_DecryptUpdate(c, out, &n, t->ct, t->ctlen), 1);
		assert_int_equal(EVP_DecryptFinal_ex(c, out + n, &m), 1);
		assert_int_equal(n + m, sizeof(plain));
		assert_memory_equal(out, plain, sizeof(plain));
	}
	EVP_CIPHER_CTX_free(c);
	EVP_MAC_CTX_free(h);
	return rc;
}

static void test_ticket_lifetime(void **state)
{
	(void)state;
	fg_tkr_t *r = NULL;
	assert_int_equal(fg_tkr_new(PERIOD, 1000, &r), 0);
	ticket_t t;
	seal(r, 1000, &t);
	assert_int_equal(open_ticket(r, 1000, &t), 1);            /* current key */
	assert_int_equal(open_ticket(r, 1000 + PERIOD - 1, &t), 1);
	assert_int_equal(fg_tkr_rotations(r), 0);
	assert_int_equal(open_ticket(r, 1000 + PERIOD, &t), 2);   /* previous: renew */
	assert_int_equal(fg_tkr_rotations(r), 1);
	/* a ticket sealed now uses the new key, not the old one */
	ticket_t t2;
	seal(r, 1000 + PERIOD, &t2);
	assert_memory_not_equal(t.name, t2.name, 16);
	assert_int_equal(open_ticket(r, 1000 + PERIOD, &t2), 1);
	assert_int_equal(open_ticket(r, 1000 + 2 * PERIOD, &t), 0);   /* expired */
	assert_int_equal(open_ticket(r, 1000 + 2 * PERIOD, &t2), 2);
	fg_tkr_free(r);
}

static void test_long_silence_drops_both(void **state)
{
	(void)state;
	fg_tkr_t *r = NULL;
	assert_int_equal(fg_tkr_new(PERIOD, 0, &r), 0);
	ticket_t t;
	seal(r, 0, &t);
	/* no handshake for ten periods: the old key is gone, not kept as
	 * "previous" by a single late rotation */
	assert_int_equal(open_ticket(r, 10 * PERIOD, &t), 0);
	ticket_t t2;
	seal(r, 10 * PERIOD, &t2);
	assert_int_equal(open_ticket(r, 10 * PERIOD + PERIOD / 2, &t2), 1);
	fg_tkr_free(r);
}

static void test_foreign_ticket_refused(void **state)
{
	(void)state;
	fg_tkr_t *a = NULL, *b = NULL;
	assert_int_equal(fg_tkr_new(PERIOD, 0, &a), 0);
	assert_int_equal(fg_tkr_new(PERIOD, 0, &b), 0);
	ticket_t t;
	seal(a, 0, &t);
	assert_int_equal(open_ticket(b, 0, &t), 0);
	memset(t.name, 0, sizeof(t.name));
	assert_int_equal(open_ticket(a, 0, &t), 0);
	fg_tkr_free(a);
	fg_tkr_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_lifetime),
		cmocka_unit_test(test_long_silence_drops_both),
		cmocka_unit_test(test_foreign_ticket_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
