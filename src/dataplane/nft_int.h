/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of the nftables backend, shared by nat_nft.c (handle, netlink
 * batch I/O, grants, dump, quarantine) and nft_ruleset.c (the static part:
 * table, sets, chains, rules). Not a public interface.
 *
 * Ruleset shape (inet table cfg->table; F = 4 or 6):
 *   pool<F>          interval set of the pool ranges (re-synced by setup)
 *   portmap<F>       interval set of the pool ranges whose backends carry ports
 *   svcport<F>       set addr . l4proto . dport, flags interval (pipapo): what
 *                    the services expose on their pool ranges (cfg->svcports)
 *   grant_client<F>  map client . addr   -> backend, flags timeout
 *   grant_net<F>     map prefix . addr   -> backend, flags interval,timeout (pipapo)
 *   grant_any<F>     map addr            -> backend, flags timeout
 *   pinned<F>        set client . addr, flags timeout,dynamic, size
 *                    cfg->pin_set_size, timeout cfg->pin_ms (packet path)
 *   backend<F>       map addr -> backend, flags timeout: where new flows of
 *                    pinned clients go once their grants lapsed; written
 *                    with every grant, timeout = grant + pin_ms
 *   quarantine<F>    set client, flags timeout
 * A backend is `addr . port` (port 0: keep the client's port).
 * Each grant element carries its own backend, because the kernel *sets*
 * (never maxes) the timeout of an element re-added with a new one: a
 * shared addr->backend element is shortened by the shortest grant of the
 * address, which must never cut a live grant (only, at worst, a pin).
 * Pins are a plain set, not a map carrying the backend: nft 1.0.6 aborts
 * listing a dynset whose data comes from a map lookup. See nft_ruleset.c.
 */
#ifndef FG_DATAPLANE_NFT_INT_H
#define FG_DATAPLANE_NFT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"

struct mnl_socket;

/* Kernels >= 6.3 know these; the installed uapi header may be older. */
#ifndef NFT_MSG_DESTROYTABLE
#define NFT_MSG_DESTROYTABLE   26
#define NFT_MSG_DESTROYSETELEM 30
#endif

/* Rate of decoy NFLOG events (per family, per reason): enough to see scans,
 * too little to let a flood reach the logger. */
#define FG_NFT_LOG_RATE   100
#define FG_NFT_LOG_BURST  100

/* A batch of netlink messages under construction: BATCH_BEGIN, messages,
 * BATCH_END, sent in one sendmsg (one kernel transaction). Messages are
 * built in place; the buffer grows so that FG_NFT_MSG_ROOM bytes are always
 * free at the tail before a message is started. */
#define FG_NFT_MSG_ROOM  (80 * 1024)
/* Close a NEWSETELEM message once it reaches this size: the element list
 * nest must stay below the 64 KiB netlink attribute limit. */
#define FG_NFT_MSG_SOFT  (48 * 1024)

typedef struct fg_nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq_first;  /* seq of BATCH_BEGIN */
	uint32_t seq_next;   /* seq for the next message */
	unsigned nack;       /* messages sent with NLM_F_ACK */
	int failed;          /* -ENOMEM during construction */
} fg_nft_batch_t;

struct fg_nat {
	struct mnl_socket *nl;    /* NETLINK_NETFILTER, one per handle */
	uint32_t portid;
	uint32_t seq;             /* last sequence number used */
	size_t sndbuf;            /* current SO_SNDBUF, grown for big batches */
	char table[64];
	fg_nat_config_t cfg;      /* copy; pools/table point into this handle */
	fg_nat_prefix_t *pools;
	fg_nat_svcport_t *svcports;
	fg_nat_listen_t *listen;
	fg_nat_backend_t *backends;
	fg_nat_prefix_t *portmap;
	fg_nft_batch_t b;         /* reused between batches */
	/* the ruleset's mark (fg_nft_ruleset_build): the user data of the one
	 * rule of chain FG_NFT_MARK_CHAIN */
	uint8_t mark[64];
	uint32_t mark_len;
	char *rbuf;               /* receive buffer */
	size_t rbuf_len;
	/* commit bookkeeping (which grant each element came from), kept
	 * between commits: no allocation per batch once grown */
	const fg_grant_t **trk_elem;
	size_t trk_elem_cap;
	void *trk_msg;
	size_t trk_msg_cap;
};

/* Batch helpers (nat_nft.c). */
void fg_nft_batch_begin(struct fg_nat *nat);
/* Reserve room and return the start of the next message, or NULL. */
char *fg_nft_batch_tail(struct fg_nat *nat);
/* Account the message just built at the tail (flags NLM_F_ACK counted). */
void fg_nft_batch_commit_msg(struct fg_nat *nat);
uint32_t fg_nft_batch_seq(struct fg_nat *nat);
/* Close, send, wait for every ACK. Returns 0, -FG_ENETLINK (kernel said
 * no; first errno in *kerr if non-NULL) or -errno (local failure). `what`
 * names the operation in log messages. */
int fg_nft_batch_send(struct fg_nat *nat, const char *what, int *kerr);

/* Ruleset (nft_ruleset.c). Appends to the open batch; last, a chain
 * nothing jumps to whose one rule's comment is a hash of every message
 * before it (types, flags, payloads: the whole ruleset, static sets
 * included), kept in nat->mark: a start may skip sending a batch whose mark
 * the kernel already holds (nat_nft.c). */
#define FG_NFT_MARK_CHAIN "ruleset_mark"
int fg_nft_ruleset_build(struct fg_nat *nat);
void fg_nft_set_name(char *out, size_t outlen, const char *base, int family);

/* Address length of a family (4 or 16). */
size_t fg_nft_alen(int family);
/* Length of a backend in map data: address, then the port in a 4-byte
 * register slot (network order, 2 bytes of padding). The port is used for
 * addresses in portmap<F> only (0 there never: the config requires every
 * backend of such a service to carry one). */
#define FG_NFT_BLEN(alen) ((alen) + 4)
/* Append NEWSETELEM messages holding the (sorted, disjoint) ranges r[] to
 * the interval set `set` (nat_nft.c). */
int fg_nft_put_pool(struct fg_nat *nat, const char *set, int family,
		    const fg_nat_prefix_t *r, size_t nr);
/* Append the svcport<F> elements of family `family` (cfg->svcports). */
int fg_nft_put_svcports(struct fg_nat *nat, const char *set, int family);

#endif
