/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the messages between fluxdecoy's serving part and
 * [priv]: [priv] parses what the (attacker-facing) serving part sends, the
 * serving part parses [priv]'s replies. A request is accepted only in its
 * one exact form, a refusal always says why, and a request or reply that
 * parses round-trips to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoy/privmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200] = "";
	uint8_t req[FD_PRIV_REQ_LEN];
	fd_priv_req_t rq;
	int32_t status;
	int k = fd_priv_parse_request(data, size, &rq, err, sizeof(err));

	if (k == 0) {
		if (rq.kind < FD_PRIV_COUNTERS || rq.kind > FD_PRIV_DEAL ||
		    fd_priv_build_request(&rq, req, sizeof(req)) != size ||
		    memcmp(req, data, size) != 0)
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	if (fd_priv_parse_spawned(data, size, &rq, &status) == 0) {
		uint8_t back[FD_PRIV_SPAWN_LEN];
		if (fd_priv_build_spawned(&rq, status, back, sizeof(back)) != size ||
		    memcmp(back, data, size) != 0)
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
