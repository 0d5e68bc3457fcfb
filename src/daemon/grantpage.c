/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/grantpage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void key_of(const fg_grant_t *g, uint8_t k[FG_GRANT_KEY_LEN])
{
	k[0] = g->scope;
	k[1] = g->family == AF_INET ? 4 : 6;
	k[2] = g->client_plen;
	memcpy(k + 3, g->client, 16);
	memcpy(k + 19, g->addr, 16);
}

int fg_grant_key_cmp(const fg_grant_t *a, const fg_grant_t *b)
{
	uint8_t ka[FG_GRANT_KEY_LEN], kb[FG_GRANT_KEY_LEN];
	key_of(a, ka);
	key_of(b, kb);
	return memcmp(ka, kb, FG_GRANT_KEY_LEN);
}

void fg_grant_cursor_encode(const fg_grant_t *g, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t k[FG_GRANT_KEY_LEN];
	key_of(g, k);
	for (size_t i = 0; i < FG_GRANT_KEY_LEN; i++) {
		out[2 * i] = hex[k[i] >> 4];
		out[2 * i + 1] = hex[k[i] & 15];
	}
	out[FG_GRANT_CURSOR_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -EINVAL;
}

int fg_grant_cursor_decode(const char *s, fg_grant_t *g, char *why, size_t whylen)
{
	uint8_t k[FG_GRANT_KEY_LEN];
	memset(g, 0, sizeof(*g));
	if (strlen(s) != FG_GRANT_CURSOR_LEN)
		return fail(why, whylen, "expected the 70 hex digits printed as \"next\"");
	for (size_t i = 0; i < FG_GRANT_KEY_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return fail(why, whylen, "not a hex digit");
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	if (k[0] > FG_SCOPE_ANY)
		return fail(why, whylen, "unknown scope");
	if (k[1] != 4 && k[1] != 6)
		return fail(why, whylen, "unknown address family");
	unsigned bits = k[1] == 4 ? 32 : 128;
	if (k[2] > bits)
		return fail(why, whylen, "client prefix length out of range");
	g->scope = k[0];
	g->family = k[1] == 4 ? AF_INET : AF_INET6;
	g->client_plen = k[2];
	memcpy(g->client, k + 3, 16);
	memcpy(g->addr, k + 19, 16);
	return 0;
}

int fg_grant_limit_parse(const char *s, unsigned *out)
{
	unsigned long v = 0;
	if (!*s || strlen(s) > 6)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > FG_GRANT_PAGE_MAX)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int cmp_void(const void *a, const void *b)
{
	return fg_grant_key_cmp(a, b);
}

void fg_grant_sort(fg_grant_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_void);
}
