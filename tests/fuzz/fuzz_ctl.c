/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the control protocol codec (src/ctl/proto.c): every
 * input is what a peer writes on the control socket, a header followed by
 * a payload. The header is parsed as a request (what fluxgated does) and as
 * a response (what fluxctl does); a request payload that decodes is encoded
 * again and must come back byte for byte, so the codec agrees with itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_args(const uint8_t *payload, size_t len, unsigned cmd)
{
	const char *args[FG_CTL_MAX_ARGS];
	static uint8_t again[FG_CTL_HDRLEN + FG_CTL_REQ_MAX + 1];
	int n = fg_ctl_decode_args(payload, len, args);

	if (n < 0)
		return;
	if (n > FG_CTL_MAX_ARGS || (n == 0 && len != 0))
		abort();
	for (int i = 0; i < n; i++)   /* pointers stay inside the payload */
		if ((const uint8_t *)args[i] < payload ||
		    (const uint8_t *)args[i] + strlen(args[i]) >= payload + len)
			abort();
	if (len > FG_CTL_REQ_MAX)
		return;
	int enc = fg_ctl_encode_request(again, sizeof(again), cmd, args, (unsigned)n);
	if (enc != (int)(FG_CTL_HDRLEN + len) ||
	    memcmp(again + FG_CTL_HDRLEN, payload, len) != 0)
		abort();
	fg_ctl_hdr_t h;
	if (fg_ctl_parse_hdr(again, (size_t)enc, FG_CTL_REQUEST, &h) != 0 ||
	    h.length != len || h.code != (uint16_t)cmd)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fg_ctl_hdr_t h;

	if (fg_ctl_parse_hdr(data, size, FG_CTL_REQUEST, &h) == 0) {
		if (h.type != FG_CTL_REQUEST || h.length > FG_CTL_REQ_MAX)
			abort();
		size_t avail = size - FG_CTL_HDRLEN;
		check_args(data + FG_CTL_HDRLEN, avail < h.length ? avail : h.length, h.code);
		(void)fg_ctl_cmd_name(h.code);
	}
	if (fg_ctl_parse_hdr(data, size, FG_CTL_RESPONSE, &h) == 0 &&
	    (h.type != FG_CTL_RESPONSE || h.length > FG_CTL_RESP_MAX))
		abort();
	/* the whole input as a bare payload reaches the splitter's corners */
	check_args(data, size, FG_CTL_STATUS);
	return 0;
}
