/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the nmap-service-probes reader (decoy/nmapprobes.h):
 * the input's first two octets are the port, the rest the file's text (not
 * NUL-terminated: the reader must keep to the length). Every result must
 * be within bounds: at most `max` probes, payloads within their buffer,
 * names terminated; an error comes with its message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "decoy/nmapprobes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fd_nmap_probe_t pr[4];
	char err[128];

	if (size < 2)
		return 0;
	unsigned port = (unsigned)data[0] << 8 | data[1];
	char *text = malloc(size - 2 ? size - 2 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, size - 2);
	err[0] = 0;
	int n = fd_nmap_udp_probes(text, size - 2, port, pr, 4, err, sizeof(err));
	if (n > 4 || (n < 0 && (n != -FG_ESYNTAX || !err[0])))
		abort();
	for (int i = 0; i < n; i++)
		if (pr[i].n > sizeof(pr[i].q) || !memchr(pr[i].name, 0, sizeof(pr[i].name)))
			abort();
	free(text);
	return 0;
}
