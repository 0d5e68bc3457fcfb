/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the messages between fluxdecoy's serving part and
 * [priv]: [priv] parses what the (attacker-facing) serving part sends, the
 * serving part parses [priv]'s replies. A request is accepted only in its
 * one exact form, a refusal always says why, and a reply that parses
 * round-trips to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/privmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200] = "";
	uint8_t req[8];
	int k = fd_priv_parse_request(data, size, err, sizeof(err));

	if (k >= 0) {
		if (k != (int)FD_PRIV_REQ_COUNTERS || fd_priv_build_request(req, sizeof(req)) != size ||
		    memcmp(req, data, size) != 0)
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	/* a reply: its entry count is in bytes 4..7 */
	if (size >= 8) {
		size_t n = (size_t)data[6] << 8 | data[7];
		fd_contain_counts_t *c = calloc(n ? n : 1, sizeof(*c));
		uint8_t *back = malloc(size);
		if (!c || !back)
			abort();
		if (fd_priv_parse_counts(data, size, c, n) == 0 &&
		    (fd_priv_build_counts(c, n, back, size) != (int)size ||
		     memcmp(back, data, size) != 0))
			abort();
		free(c);
		free(back);
	}
	return 0;
}
