/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the fake Internet's DNS answerer (containment
 * reflect): every input is a datagram a contained backend sends. The
 * answer must fit the buffer, echo the ID, be a response, and carry the
 * bed's address when it answers an A query; the output buffer is also
 * shrunk to every small size to exercise the sticky-error path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/reflectdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ip[4] = { 198, 51, 100, 250 };
	uint8_t out[1500];
	uint16_t qt;
	char qn[256];
	int m = fd_reflect_dns_answer(data, size, ip, out, sizeof(out), &qt, qn);

	if (m > (int)sizeof(out) || strlen(qn) > 255)
		abort();
	if (m > 0) {
		if (m < 12 || size < 2 || memcmp(out, data, 2) != 0 || !(out[2] & 0x80))
			abort();
		if (qt == 1 && out[7] == 1 && memcmp(out + m - 4, ip, 4) != 0)
			abort();
	}
	for (size_t cap = 0; cap < 64; cap += 7) {
		int r = fd_reflect_dns_answer(data, size, ip, out, cap, NULL, NULL);
		if (r > (int)cap)
			abort();
	}
	return 0;
}
