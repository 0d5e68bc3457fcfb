/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the pcap reader of fluxlab's replay (lab/pcap.h):
 * every input is a trace file. A parse that succeeds must hold what the
 * reader promises (offsets within [0, span], source indexes below the
 * number of sources, counts that add up); a failed one must say why and
 * hand out nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lab/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lab_pcap_t p;
	char msg[256] = "";
	int rc = lab_pcap_parse(data, size, &p, msg, sizeof msg);
	if (rc < 0) {
		if (p.starts || p.nstarts || (rc == -22 && !msg[0]))
			abort();
		return 0;
	}
	if (p.nstarts + p.skipped != p.packets || p.nsources > p.nstarts || p.nstarts > LAB_PCAP_MAX_STARTS)
		abort();
	for (size_t i = 0; i < p.nstarts; i++)
		if (p.starts[i].t < 0 || p.starts[i].t > p.span || p.starts[i].src >= p.nsources)
			abort();
	lab_pcap_free(&p);
	return 0;
}
