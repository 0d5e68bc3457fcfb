/* SPDX-License-Identifier: GPL-3.0-or-later */
/* NAT backend registry: name -> ops (a const table, no state). */
#include <stddef.h>
#include <string.h>

#include "dataplane/nat.h"

static const fg_nat_ops_t *const backends[] = {
	&fg_nat_nft_ops,
	&fg_nat_mem_ops,
};

const fg_nat_ops_t *fg_nat_ops_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	/* "memory" is the config spelling; the ops call themselves "mem". */
	if (strcmp(name, "memory") == 0)
		name = "mem";
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}
