/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the `fluxctl grants` paging arguments
 * (src/daemon/grantpage.c): every input is what a control client sends as
 * the `after` cursor or the `limit`. A cursor that decodes is encoded again
 * and must come back as the same digits (in lower case), and its fields must
 * be in range; a limit that parses is within 1..FG_GRANT_PAGE_MAX.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "daemon/grantpage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256], why[96], again[FG_GRANT_CURSOR_LEN + 1];
	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';                 /* arguments arrive NUL-terminated */

	fg_grant_t g;
	if (fg_grant_cursor_decode(s, &g, why, sizeof(why)) == 0) {
		if (g.scope > FG_SCOPE_ANY || (g.family != AF_INET && g.family != AF_INET6) ||
		    g.client_plen > (g.family == AF_INET ? 32 : 128))
			abort();
		fg_grant_cursor_encode(&g, again);
		if (strcasecmp(again, s) != 0)
			abort();
		if (fg_grant_key_cmp(&g, &g) != 0)
			abort();
	} else if (!why[0]) {
		abort();                /* a refusal always says why */
	}

	unsigned lim = 0;
	if (fg_grant_limit_parse(s, &lim) == 0 && (lim < 1 || lim > FG_GRANT_PAGE_MAX))
		abort();
	return 0;
}
