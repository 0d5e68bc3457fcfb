/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a grant is: a pool address opened to a scope of clients, leading to
 * a backend, for a time. The grant layer's own vocabulary (pure types, no
 * functions): the policy decides a scope, the engine builds grants, and the
 * data-plane adapters (dataplane/nat.h) install them.
 */
#ifndef FG_GRANT_GRANT_H
#define FG_GRANT_GRANT_H

#include <stdint.h>

enum fg_scope {
	FG_SCOPE_CLIENT = 0,   /* exact client address */
	FG_SCOPE_NET,          /* client prefix (EDNS Client Subnet) */
	FG_SCOPE_ANY,          /* anyone: last resort, one address */
};

typedef struct fg_grant {
	uint8_t family;        /* AF_INET or AF_INET6: of addr, client, backend */
	uint8_t scope;         /* enum fg_scope */
	uint8_t client_plen;   /* 32/128 for CLIENT; prefix length for NET */
	uint8_t client[16];    /* client address/prefix (masked), unused for ANY */
	uint8_t addr[16];      /* granted pool address */
	uint8_t backend[16];   /* protected server the address leads to */
	uint16_t backend_port; /* DNAT to this port (host order); 0 = same port */
	uint32_t timeout_ms;   /* ttl + grace */
} fg_grant_t;

#endif
