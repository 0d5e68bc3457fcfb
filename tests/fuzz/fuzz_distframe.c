/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the distributed-mode command frames
 * (src/dist/frame.c): every input is what a controller (or an agent) may
 * receive inside TLS. A frame that decodes has its fields in range and
 * encodes back to the same octets; a refusal always says why. The
 * reassembly buffer check (fg_dist_rbuf_frame) agrees with the decoder on
 * the frame's length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dist/frame.h"
#include "dist/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fg_dist_msg_t m;
	static uint8_t again[FG_DIST_MAX_FRAME];
	static fg_dist_rbuf_t rb;
	char why[200] = "";

	if (size > sizeof(rb.buf))
		return 0;
	int rc = fg_dist_decode(data, size, &m, why, sizeof(why));
	if (rc < 0) {
		if (!why[0])
			abort();
	} else {
		if (m.h.type < 1 || m.h.type > FG_DIST_TYPE_MAX)
			abort();
		for (unsigned i = 0; i < m.ngrants; i++)
			if (m.grants[i].scope > FG_SCOPE_ANY ||
			    (m.grants[i].family != AF_INET && m.grants[i].family != AF_INET6) ||
			    m.grants[i].client_plen > (m.grants[i].family == AF_INET ? 32 : 128))
				abort();
		int n = fg_dist_encode(&m, again, sizeof(again));
		/* the ACK text is sanitised on decode: compare only other types */
		if (n < 0 || (m.h.type != FG_DIST_ACK && ((size_t)n != size || memcmp(again, data, size))))
			abort();
	}
	memcpy(rb.buf, data, size);
	rb.have = size;
	int len = fg_dist_rbuf_frame(&rb, why, sizeof(why));
	if (rc == 0 && len != (int)size)
		abort();
	return 0;
}
