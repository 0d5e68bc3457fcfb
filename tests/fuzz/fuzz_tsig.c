/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness for TSIG (RFC 8945): every input is a DNS message. It
 * is searched for its TSIG and verified as a request against two fixed
 * keys (the clock from the input's last 6 octets, so the window edges are
 * reached); whatever the verdict, the response a server would send is
 * built and signed, and a client's check of it must agree. Invariants:
 *   - a message we sign ourselves always verifies with the key used, and
 *     our signed response always verifies against our request;
 *   - nothing reads outside the input (ASan) and no verdict is undefined.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dns/msg.h"
#include "dns/tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fg_tsig_key_t keys[2];
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65535 + 512], out[1024];
	char err[128];
	fg_tsig_rr_t rr;
	fg_tsig_ctx_t ctx, cli;

	if (!ready) {
		if (fg_tsig_key_init(&keys[0], "tsig-test.", "hmac-sha256",
				     "c2VjcmV0LWtleS1mb3ItZmx1eGdhdGUtdHNpZy10ZXN0cy0yNTY=",
				     err, sizeof(err)) < 0 ||
		    fg_tsig_key_init(&keys[1], "tsig512.example.", "hmac-sha512",
				     "Zmx1eGdhdGUtNTEyLWJpdC1rZXktZm9yLXVuaXQtdGVzdHMtb2YtdHNpZy1zaWduaW5nLWFuZC12ZXJpZnk=",
				     err, sizeof(err)) < 0)
			abort();
		ready = 1;
	}
	if (size > 65535)
		return 0;
	uint64_t now = 1764633600;
	int f = fg_tsig_find(data, size, &rr);
	if (f == 1)
		now = rr.time_signed + (size ? data[size - 1] % 3 : 0) * 200;   /* in, in, out */

	enum fg_tsig_verdict v = fg_tsig_verify_request(data, size, keys, 2, now, &ctx);
	if ((v == FG_TSIG_NONE) != (f == 0))
		abort();
	if (v == FG_TSIG_OK && (!ctx.key || ctx.error))
		abort();
	if (v == FG_TSIG_REFUSE) {
		/* the answer a server sends: NOTAUTH, signed as the error says */
		int n = fg_dns_build_error(data, size, NULL, FG_RCODE_NOTAUTH, out, sizeof(out));
		if (n > 0) {
			int s = fg_tsig_sign_response(out, (size_t)n, sizeof(out), &ctx, now);
			if (s >= 0 && (size_t)s - (size_t)n != fg_tsig_response_size(&ctx))
				abort();
			if (s >= 0 && ctx.key) {
				uint16_t terr = 0;
				int vr = fg_tsig_verify_response(out, (size_t)s, &ctx, now, &terr, NULL);
				if (vr != -FG_EAUTH || terr != ctx.error)
					abort();
			}
		}
	}

	/* our own signature over the input (when it frames as a message
	 * without a TSIG) must verify, and so must our signed response */
	if (f == 0 && size >= 12 && size + 200 < sizeof(buf)) {
		memcpy(buf, data, size);
		const fg_tsig_key_t *k = &keys[size & 1];
		int n = fg_tsig_sign_request(buf, size, sizeof(buf), k, now, 0, &cli);
		if (n < 0)
			return 0;       /* ARCOUNT already at its maximum */
		if (fg_tsig_verify_request(buf, (size_t)n, keys, 2, now, &ctx) != FG_TSIG_OK ||
		    ctx.key != k)
			abort();
		memcpy(buf + n, data, size);   /* any bytes as the "response" */
		if (size >= 12) {
			uint8_t *r = buf + n;
			int s = fg_tsig_sign_response(r, size, sizeof(buf) - (size_t)n, &ctx, now);
			uint16_t terr = 0;
			if (s >= 0 && fg_tsig_verify_response(r, (size_t)s, &cli, now, &terr, NULL) != 0)
				abort();
		}
	}
	return 0;
}
