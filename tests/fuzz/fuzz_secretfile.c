/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the TSIG secret file parser (conf/secretfile.h,
 * fg_secretfile_parse): any text, including a tsig-keygen stanza. A
 * success must be a NUL-terminated base64 run of the length returned that
 * fits the output; a failure is -FG_ESYNTAX or -FG_ESPACE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/secretfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	int n = fg_secretfile_parse((const char *)data, size, out, sizeof(out));
	if (n == -FG_ESYNTAX || n == -FG_ESPACE)
		return 0;
	if (n <= 0 || (size_t)n >= sizeof(out) || strlen(out) != (size_t)n)
		abort();
	for (int i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", out[i]))
			abort();
	return 0;
}
