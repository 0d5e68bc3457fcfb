/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of the nftables backend, shared by its files (not a public
 * interface):
 *   nat_nft.c      the ops: open/close, setup, commit, revoke, quarantine
 *   nft_mnl.c      netlink transport: socket, batches, answers, dump loop
 *   nft_elem.c     element encoding into the open batch
 *   nft_dump.c     read-back of the grant maps and element counts
 *   nft_ruleset.c  the static part: table, sets, chains, rules
 *
 * Ruleset shape (inet table cfg->table; F = 4 or 6):
 *   pool<F>          interval set of the pool ranges (re-synced by setup)
 *   portmap<F>       interval set of the pool ranges whose backends carry ports
 *   svcport<F>       set addr . l4proto . dport, flags interval (pipapo): what
 *                    the services expose on their pool ranges (cfg->svcports)
 *   grant_client<F>  map client . addr   -> backend, flags timeout
 *   grant_net<F>     map prefix . addr   -> backend, flags interval,timeout (pipapo):
 *                    subnet grants of any other prefix length
 *   grant_net<F>_<L> map (client & /L) . addr -> backend, flags timeout (hash):
 *                    subnet grants of prefix length L = cfg->net_hash_plen<F>
 *                    (policy.ecs-min-prefix4/6); the rules mask saddr to /L
 *                    (bitwise) before the lookup. A map of a former L (a
 *                    reload changed it) keeps its elements and its rules
 *                    until they expire: setup finds it in the kernel
 *                    (fg_nft_net_maps) and builds its rules too; dump and
 *                    count read it as well.
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
struct nlmsghdr;
struct nlattr;

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
	/* grant map full (ENFILE): refusals since the last log line, and
	 * when that was (CLOCK_MONOTONIC ms; nat_nft.c) */
	uint64_t full_refused;
	uint64_t full_logged_ms;
	/* the table's reaper (nft_reap.c; shared, one reference per handle)
	 * and the deletions the next transaction carries */
	struct fg_nft_reap *reap;
	struct fg_nft_reap_del { uint8_t fam, klen; uint8_t key[32]; } *del;
	size_t ndel;
	uint32_t extra_ms;        /* kernel timeout margin of this commit's exact grants */
};

/* Reaper of exact grants (nft_reap.c says why and how). While the
 * handles of a table commit at least FG_NFT_REAP_RATE transactions a
 * second, exact grants get FG_NFT_REAP_MARGIN_MS more kernel timeout and
 * are deleted by the backend at their intended end, at most
 * FG_NFT_REAP_MAX per transaction. */
#ifndef FG_NFT_REAP_RATE           /* benchmarks build a variant without the reaper */
#define FG_NFT_REAP_RATE      50
#endif
#define FG_NFT_REAP_MARGIN_MS 1000
#define FG_NFT_REAP_MAX       2048
struct fg_nft_reap;
/* The reaper of `table` (created on first use, tracking up to cap keys),
 * one reference more; NULL without memory. */
struct fg_nft_reap *fg_nft_reap_get(const char *table, uint32_t cap);
void fg_nft_reap_put(struct fg_nft_reap *r);
/* Everything below but fg_nft_reap_dropped() with the reaper locked. */
void fg_nft_reap_lock(struct fg_nft_reap *r);
void fg_nft_reap_unlock(struct fg_nft_reap *r);
/* Count one transaction at now_ms; true when the rate calls for reaping. */
bool fg_nft_reap_commit(struct fg_nft_reap *r, uint64_t now_ms);
/* An exact grant's key is asked to live until end_ms: raise the key's
 * recorded end; with `track`, also queue its deletion (if room). */
void fg_nft_reap_record(struct fg_nft_reap *r, int family, const uint8_t *key, size_t klen,
			uint64_t end_ms, bool track);
/* Hand each key whose latest end is <= now_ms to fn (at most max), and
 * forget it; returns how many. */
typedef void (*fg_nft_reap_fn)(void *ctx, int family, const uint8_t *key, size_t klen);
size_t fg_nft_reap_due(struct fg_nft_reap *r, uint64_t now_ms, fg_nft_reap_fn fn, void *ctx,
		       size_t max);
/* Records not tracked for want of room (the kernel timeout ends them);
 * takes the lock itself (not to be called with it held). */
uint64_t fg_nft_reap_dropped(struct fg_nft_reap *r);

/* Socket of a handle (nft_mnl.c): NETLINK_NETFILTER with extended ACKs,
 * capped error echoes and grown buffers. */
int fg_nft_sock_open(struct fg_nat *nat);

/* Batch helpers (nft_mnl.c). */
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
/* Optional per-batch hook to name the element an error points at. */
typedef void (*fg_nft_bad_elem_fn)(void *ctx, uint32_t seq, int index, int err);
/* fg_nft_batch_send() that also names the refused element to `bad` (may be
 * NULL); a kernel errno equal to `quiet_err` (one the caller handles by
 * retrying) is logged at debug level only. */
int fg_nft_batch_send_ex(struct fg_nat *nat, const char *what, int *kerr,
			 fg_nft_bad_elem_fn bad, void *bctx, int quiet_err);
/* Dump every element of set `set` (GETSETELEM), handing each answer
 * message to `cb` (a libmnl callback). `*cb_err` is the callback's own
 * error, if it set one. */
int fg_nft_get_elems(struct fg_nat *nat, const char *set,
		     int (*cb)(const struct nlmsghdr *nlh, void *data), void *data,
		     const int *cb_err);
/* The same for the set itself (GETSET): one answer message. */
int fg_nft_get_set(struct fg_nat *nat, const char *set,
		   int (*cb)(const struct nlmsghdr *nlh, void *data), void *data,
		   const int *cb_err);
/* Every set of the table (GETSET dump). */
int fg_nft_get_sets(struct fg_nat *nat, int (*cb)(const struct nlmsghdr *nlh, void *data),
		    void *data, const int *cb_err);

/* The grant maps, first by scope, then the subnet hash map (scope NET too);
 * then the per-address backend map (not dumped); fg_nft_group_base[] names
 * their sets (nft_elem.c; the hash map's name also carries its prefix
 * length: fg_nft_group_set). */
enum { FG_NFT_G_CLIENT, FG_NFT_G_NET, FG_NFT_G_ANY, FG_NFT_G_NETH, FG_NFT_G_NGRANT,
       FG_NFT_G_BACKEND = FG_NFT_G_NGRANT, FG_NFT_NGROUPS };
extern const char *const fg_nft_group_base[FG_NFT_NGROUPS];

/* The prefix length of family `family`'s subnet hash map in `cfg` (0: none,
 * valid lengths 1 .. alen*8-1). Pure. */
unsigned fg_nft_hash_plen(const fg_nat_config_t *cfg, int family);
/* The group whose map holds grant g under `cfg`. Pure. */
int fg_nft_grant_group(const fg_nat_config_t *cfg, const fg_grant_t *g);
/* Name of group `group`'s set of `family` ("grant_client4", "grant_net4_24":
 * plen is the hash map's prefix length, unused for other groups). Pure. */
void fg_nft_group_set(char *out, size_t outlen, int group, int family, unsigned plen);
/* The prefix length a set name of the subnet hash maps of `family` carries
 * ("grant_net4_24": 24), 0 when `name` is not one. Pure. */
unsigned fg_nft_net_map_plen(const char *name, int family);
/* The prefix lengths of the subnet hash maps of `family` the kernel table
 * holds (one GETSET dump), at most `max` into plens[]: how many, or a
 * negative error (nft_dump.c). */
int fg_nft_net_maps(struct fg_nat *nat, int family, uint8_t *plens, size_t max);
/* Hash maps of one family a table may hold at once (the current length and
 * former ones whose elements have not expired). */
#define FG_NFT_NET_MAPS_MAX 8

/* Element encoding (nft_elem.c): one NEWSETELEM/DESTROYSETELEM message of
 * set `set` at the batch's tail, its elements, its end. */
struct fg_nft_elem_msg {
	struct nlmsghdr *nlh;
	struct nlattr *list;
};
int fg_nft_elems_start(struct fg_nat *nat, struct fg_nft_elem_msg *m, uint16_t type,
		       const char *set);
void fg_nft_elems_end(struct fg_nat *nat, struct fg_nft_elem_msg *m);
/* One element: key (klen), optional key_end, optional data, timeout in ms
 * (0: none), element flags. */
void fg_nft_elem_put(struct nlmsghdr *nlh, const void *key, size_t klen,
		     const void *kend, const void *data, size_t dlen,
		     uint64_t timeout_ms, uint32_t eflags);
/* Key of grant g in the map of `group` (fg_nft_grant_group): key_end for
 * NET (the pipapo interval), the client masked to g->client_plen for NETH;
 * returns the key length. Pure. */
size_t fg_nft_grant_key(const fg_grant_t *g, int group, uint8_t *key, uint8_t *kend);

/* Read-back (nft_dump.c): the ops dump, dump_any and count. A set the
 * kernel says holds more elements than this is counted by the kernel's
 * figure rather than walked (nft_dump.c says why). */
#define FG_NFT_COUNT_WALK_MAX 16384
/* (the ops) */
int fg_nft_dump(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx);
int fg_nft_dump_any(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx);
int fg_nft_count(fg_nat_t *nat, fg_nat_counts_t *out);
/* The kernel's own element count of set base<family> (NFTA_SET_COUNT: live
 * elements plus expired ones its GC has not removed yet), added to *out;
 * -EOPNOTSUPP on a kernel that does not report it. One request. */
int fg_nft_kernel_count(struct fg_nat *nat, const char *base, int family, uint64_t *out);

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
 * the interval set `set` (nft_elem.c). */
int fg_nft_put_pool(struct fg_nat *nat, const char *set, int family,
		    const fg_nat_prefix_t *r, size_t nr);
/* Append the svcport<F> elements of family `family` (cfg->svcports). */
int fg_nft_put_svcports(struct fg_nat *nat, const char *set, int family);

#endif
