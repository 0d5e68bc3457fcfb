/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/cookie.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "common/err.h"

int fg_cookie_parse(const uint8_t *data, size_t len, fg_cookie_t *c)
{
	memset(c, 0, sizeof(*c));
	if (len != FG_COOKIE_CLIENT_LEN &&
	    (len < FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_MIN ||
	     len > FG_COOKIE_CLIENT_LEN + FG_COOKIE_SERVER_MAX))
		return -FG_ECOOKIE;
	memcpy(c->client, data, FG_COOKIE_CLIENT_LEN);
	c->server_len = (uint8_t)(len - FG_COOKIE_CLIENT_LEN);
	memcpy(c->server, data + FG_COOKIE_CLIENT_LEN, c->server_len);
	return 0;
}

int fg_cookie_make(fg_siphash_t *h, const uint8_t secret[FG_COOKIE_SECRET_LEN],
		   const uint8_t client[FG_COOKIE_CLIENT_LEN], uint32_t now,
		   int family, const uint8_t *addr, uint8_t out[FG_COOKIE_SERVER_LEN])
{
	/* hash input: client cookie | version | reserved | timestamp | IP */
	uint8_t in[FG_COOKIE_CLIENT_LEN + 8 + 16];
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;

	if (!alen)
		return -EAFNOSUPPORT;
	out[0] = 1;                     /* version 1 */
	out[1] = out[2] = out[3] = 0;   /* reserved */
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	memcpy(in, client, FG_COOKIE_CLIENT_LEN);
	memcpy(in + FG_COOKIE_CLIENT_LEN, out, 8);
	memcpy(in + FG_COOKIE_CLIENT_LEN + 8, addr, alen);
	return fg_siphash24(h, secret, in, FG_COOKIE_CLIENT_LEN + 8 + alen, out + 8);
}

enum fg_cookie_verdict fg_cookie_verify(fg_siphash_t *h,
					const uint8_t secret[FG_COOKIE_SECRET_LEN],
					const fg_cookie_t *c, uint32_t now,
					int family, const uint8_t *addr)
{
	uint8_t want[FG_COOKIE_SERVER_LEN];

	if (!c)
		return FG_COOKIE_NONE;
	if (c->server_len == 0)
		return FG_COOKIE_CLIENT;
	const uint8_t *s = c->server;
	if (c->server_len != FG_COOKIE_SERVER_LEN || s[0] != 1 || s[1] || s[2] || s[3])
		return FG_COOKIE_BAD;
	uint32_t ts = ((uint32_t)s[4] << 24) | ((uint32_t)s[5] << 16) |
		      ((uint32_t)s[6] << 8) | s[7];
	/* serial arithmetic (RFC 1982): the 32-bit clock may wrap */
	int64_t d = (int32_t)(ts - now);
	if (d < -(int64_t)FG_COOKIE_MAX_AGE || d > (int64_t)FG_COOKIE_MAX_AHEAD)
		return FG_COOKIE_BAD;
	if (fg_cookie_make(h, secret, c->client, ts, family, addr, want) < 0)
		return FG_COOKIE_BAD;
	bool ok = CRYPTO_memcmp(want + 8, s + 8, 8) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? FG_COOKIE_VALID : FG_COOKIE_BAD;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int fg_cookie_secret_from_hex(const char *hex, uint8_t out[FG_COOKIE_SECRET_LEN])
{
	if (!hex || strlen(hex) != 2 * FG_COOKIE_SECRET_LEN)
		return -EINVAL;
	for (size_t i = 0; i < FG_COOKIE_SECRET_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, FG_COOKIE_SECRET_LEN);
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void fg_cookie_secret_clear(uint8_t secret[FG_COOKIE_SECRET_LEN])
{
	OPENSSL_cleanse(secret, FG_COOKIE_SECRET_LEN);
}
