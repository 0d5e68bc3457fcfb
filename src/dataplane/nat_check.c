/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fg_nat_grant_allowed(): whether a grant stays inside the data plane the
 * configuration describes (see nat.h). Pure. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/nat.h"

static bool in_range(const uint8_t *a, const uint8_t *first, const uint8_t *last, size_t alen)
{
	return memcmp(a, first, alen) >= 0 && memcmp(a, last, alen) <= 0;
}

int fg_nat_grant_allowed(const fg_nat_config_t *cfg, const fg_grant_t *g)
{
	size_t alen, i;

	if (g->family != AF_INET && g->family != AF_INET6)
		return -EINVAL;
	if (g->scope > FG_SCOPE_ANY || g->timeout_ms == 0)
		return -EINVAL; /* a grant never lives forever */
	alen = g->family == AF_INET6 ? 16 : 4;
	if (g->scope != FG_SCOPE_ANY && g->client_plen > alen * 8)
		return -EINVAL;
	if (!cfg->backends_set)
		return 0;
	for (i = 0; i < cfg->nbackends; i++) {
		const fg_nat_backend_t *b = &cfg->backends[i];

		if (b->family == g->family && in_range(g->addr, b->first, b->last, alen) &&
		    !memcmp(b->addr, g->backend, alen) && b->port == g->backend_port)
			return 0;
	}
	return -EPERM;
}
