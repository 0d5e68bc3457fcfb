/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the fluxlab scenario parser: every input is a
 * scenario file handed to lab_scenario_load_buffer(). Diagnostics must have
 * a sane shape (line >= 0, short, non-empty, no control characters); a
 * scenario that loads must hold what the loader promises (a name, a traffic
 * phase, its attacks with their kind names), and a failed load must not
 * hand out a scenario.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void discard(void *ctx, const char *file, int line, const char *msg)
{
	size_t n = strlen(msg);

	(void)ctx;
	(void)file;
	if (line < 0 || n == 0 || n >= 2048)  /* 511 octets, each up to 4 as \xHH */
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lab_scenario_t *s = NULL;
	char buf[128];

	if (lab_scenario_load_buffer("fuzz.yaml", (const char *)data, size, &s,
				     discard, NULL) == 0) {
		if (!s || !s->name || !s->gateway.pool)
			abort();
		if (s->nattacks && !s->attacks)
			abort();
		for (size_t i = 0; i < s->nattacks; i++)
			if (strcmp(lab_attack_kind_name(s->attacks[i].kind), "?") == 0 ||
			    !s->attacks[i].name)
				abort();
		(void)lab_proto_names(s->legit.protocols, buf, sizeof(buf));
		(void)lab_dist_name(s->legit.think.kind);
	} else if (s) {
		abort();
	}
	lab_scenario_free(s);
	return 0;
}
