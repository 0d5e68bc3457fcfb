/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The static part of the nftables data plane, built with libnftnl into the
 * open batch of a handle (see nft_int.h for the sets).
 *
 * Chains (F = 4/6, each family's rules guarded by `meta nfproto`, because an
 * `ip daddr` test in an inet table does not stop IPv6 packets). Every
 * [log] is rate-limited NFLOG to the decoy group, its prefix the reason of
 * the daemon's decoy event (FG_DECOY_REASON_*):
 *
 *  dns_pre  filter prerouting -300, dns_out filter output -300:
 *     udp/tcp to (from) each server.listen address and port   notrack
 *                                        (a DNS flood costs no conntrack)
 *  raw_pre  filter prerouting -300 (before conntrack):
 *     daddr @poolF                       jump rawF
 *     saddr @poolF                       notrack   (decoy replies stay out of conntrack)
 *  rawF: the source and the port first
 *     saddr @quarantineF  [log quarantine] mark decoy, notrack, accept
 *     daddr . l4proto . dport @svcportF  goto authF   (only with service ports)
 *     [log port-miss]                    mark decoy, notrack, accept
 *  authF: decide only for packets that open a flow
 *     saddr.daddr @pinnedF               update @pinnedF (refresh), accept
 *     tcp flags & (syn|ack) != syn       accept    (mid-flow: to conntrack for de-NAT)
 *     saddr.daddr @grant_clientF         accept
 *     saddr & /L . daddr @grant_netF_L   accept    (each subnet hash map, L its
 *                                         length: the current one first)
 *     saddr.daddr @grant_netF            accept
 *     daddr @grant_anyF                  accept
 *     [log pool-miss]                    mark decoy, notrack, accept
 *  ct_pre   filter prerouting -150 (after conntrack, before routing):
 *     daddr @poolF ct state invalid      jump ctF  (no conntrack state)
 *  ctF: mid-flow packets of decoy flows (and ACK scans) follow to the decoys;
 *     saddr.daddr @pinnedF / grants      drop      (odd packet of an authorized flow)
 *                                        mark decoy, accept
 *  nat_pre  nat prerouting -100 (first packet of a tracked flow):
 *     daddr @poolF mark != decoy         jump natF
 *  natF:
 *     tcp flags & (syn|ack) != syn       drop      (tcp_loose=1 safety)
 *     saddr.daddr @grant_clientF         update @pinnedF {saddr.daddr}
 *     dnat to map @grant_clientF         (backend address . port: TCP/UDP to
 *                                         an address of @portmapF take the
 *                                         port, everything else keeps its own)
 *     (same for each grant_netF_L keyed by saddr & /L . daddr, the pin
 *      still saddr.daddr; then grant_netF, then grant_anyF keyed by daddr)
 *     dnat to daddr map @backendF        (pinned flow, grants gone)
 *     drop                               (pinned past the backend horizon:
 *                                         dropped, never sent to a decoy)
 * An `update` that fails (pin map full) ends its rule, so pin and dnat are
 * separate rules: a full pin map costs pins, never the grant.
 *  ruleset_mark (no hook, nothing jumps to it): one rule without
 *     expressions, comment "fluxgate ruleset HASH" (a hash of every message
 *     of the setup batch above); a start that builds the same batch finds
 *     it and sends nothing (nat_nft.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "common/log.h"
#include "dataplane/nft_int.h"

/* nft's datatype ids, so that `nft list` shows the types. */
enum { DT_IPADDR = 7, DT_IP6ADDR = 8, DT_INET_PROTO = 12, DT_INET_SERVICE = 13,
       DT_CONCAT_BITS = 6 };
enum { RTN_LOCAL_ = 2 };  /* <linux/rtnetlink.h> RTN_LOCAL, without the header */

#define REG_KEY   NFT_REG32_00  /* first field of a key */
#define REG_DATA  NFT_REG32_08  /* 16 bytes after the widest (v6.v6) key */


struct fam {
	int family;           /* AF_INET / AF_INET6 */
	uint8_t nfproto;      /* NFPROTO_IPV4 / NFPROTO_IPV6 */
	uint32_t alen;        /* 4 / 16 */
	uint32_t saddr_off, daddr_off;
	uint32_t dtype;
	const char *raw, *auth, *ct, *nat;
};

static const struct fam fams[2] = {
	{ AF_INET, NFPROTO_IPV4, 4, 12, 16, DT_IPADDR, "raw4", "auth4", "ct4", "nat4" },
	{ AF_INET6, NFPROTO_IPV6, 16, 8, 24, DT_IP6ADDR, "raw6", "auth6", "ct6", "nat6" },
};

/* --------------------------------------------------------------- messages */

static int put_obj(struct fg_nat *nat, uint16_t type, uint16_t flags,
		   void (*build)(struct nlmsghdr *, void *), void *obj)
{
	char *tail = fg_nft_batch_tail(nat);
	struct nlmsghdr *nlh;

	if (!tail)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(tail, type, NFPROTO_INET, flags | NLM_F_ACK,
				    fg_nft_batch_seq(nat));
	build(nlh, obj);
	fg_nft_batch_commit_msg(nat);
	return 0;
}

static void build_table(struct nlmsghdr *nlh, void *o) { nftnl_table_nlmsg_build_payload(nlh, o); }
static void build_set(struct nlmsghdr *nlh, void *o) { nftnl_set_nlmsg_build_payload(nlh, o); }
static void build_chain(struct nlmsghdr *nlh, void *o) { nftnl_chain_nlmsg_build_payload(nlh, o); }
static void build_rule(struct nlmsghdr *nlh, void *o) { nftnl_rule_nlmsg_build_payload(nlh, o); }
static void build_elems(struct nlmsghdr *nlh, void *o) { nftnl_set_elems_nlmsg_build_payload(nlh, o); }

static int add_table(struct fg_nat *nat)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int rc;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, nat->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	/* CREATE without EXCL: an existing table is fine (restart). */
	rc = put_obj(nat, NFT_MSG_NEWTABLE, NLM_F_CREATE, build_table, t);
	nftnl_table_free(t);
	return rc;
}

enum set_kind { K_POOL, K_CLIENT, K_NET, K_ANY, K_PINNED, K_BACKEND, K_QUAR, K_SVCPORT,
		K_PORTMAP, K_NETH };

/* plen: K_NETH's prefix length (its name) */
static int add_set(struct fg_nat *nat, const struct fam *f, enum set_kind k, unsigned plen,
		   uint32_t id)
{
	static const char *const base[] = { "pool", "grant_client", "grant_net",
					    "grant_any", "pinned", "backend", "quarantine",
					    "svcport", "portmap" };
	struct nftnl_set *s = nftnl_set_alloc();
	const fg_nat_config_t *cfg = &nat->cfg;
	bool concat = k == K_CLIENT || k == K_NET || k == K_PINNED || k == K_NETH;
	bool map = k == K_CLIENT || k == K_NET || k == K_ANY || k == K_BACKEND || k == K_NETH;
	uint32_t flags = 0, size = 0;
	char name[32];
	int rc;

	if (!s)
		return -ENOMEM;
	if (k == K_NETH)
		fg_nft_group_set(name, sizeof(name), FG_NFT_G_NETH, f->family, plen);
	else
		fg_nft_set_name(name, sizeof(name), base[k], f->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, nat->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	if (k == K_SVCPORT) {
		/* addr . l4proto . dport, each field in a 4-byte slot */
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, f->alen + 8);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
				  (f->dtype << (2 * DT_CONCAT_BITS)) |
				  (DT_INET_PROTO << DT_CONCAT_BITS) | DT_INET_SERVICE);
	} else {
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, concat ? 2 * f->alen : f->alen);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
				  concat ? (f->dtype << DT_CONCAT_BITS) | f->dtype : f->dtype);
	}
	switch (k) {
	case K_POOL:
	case K_PORTMAP:
		flags = NFT_SET_INTERVAL;
		break;
	case K_CLIENT:
	case K_ANY:
	case K_NETH:   /* a hash map: changes cost no rebuild */
		flags = NFT_SET_MAP | NFT_SET_TIMEOUT;
		size = cfg->grant_set_size;
		break;
	case K_BACKEND:
		/* bounded by the grant maps (one element per granted address);
		 * a size here could only fail commits the grant maps accept */
		flags = NFT_SET_MAP | NFT_SET_TIMEOUT;
		break;
	case K_NET: {
		/* Concatenation with ranges: the pipapo backend, which the
		 * kernel picks only when told the field lengths. */
		uint8_t fl[2] = { (uint8_t)f->alen, (uint8_t)f->alen };

		flags = NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_INTERVAL | NFT_SET_CONCAT;
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, fl, sizeof(fl));
		size = cfg->grant_set_size;
		break;
	}
	case K_PINNED:
		/* Filled from the packet path: explicit size (the kernel's
		 * default is 65535) and a default timeout for `update`. */
		flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;
		size = cfg->pin_set_size ? cfg->pin_set_size : 65536;
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, cfg->pin_ms ? cfg->pin_ms : 60000);
		break;
	case K_QUAR:
		flags = NFT_SET_TIMEOUT;
		break;
	case K_SVCPORT: {
		uint8_t fl[3] = { (uint8_t)f->alen, 1, 2 };

		flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, fl, sizeof(fl));
		break;
	}
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	if (map) {
		/* backend address . port (nft_int.h) */
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE,
				  (f->dtype << DT_CONCAT_BITS) | DT_INET_SERVICE);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, FG_NFT_BLEN(f->alen));
	}
	if (size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, size);
	/* CREATE without EXCL: an existing set keeps its elements. */
	rc = put_obj(nat, NFT_MSG_NEWSET, NLM_F_CREATE, build_set, s);
	nftnl_set_free(s);
	return rc;
}

static int add_chain(struct fg_nat *nat, const char *name, const char *type,
		     int hook, int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *r;
	int rc;

	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, nat->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	rc = put_obj(nat, NFT_MSG_NEWCHAIN, NLM_F_CREATE, build_chain, c);
	nftnl_chain_free(c);
	if (rc < 0)
		return rc;
	/* Then empty it: DELRULE with no handle flushes the chain. Rules hold
	 * no grants, so re-setup replaces them in the same transaction. */
	if (!(r = nftnl_rule_alloc()))
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nat->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	rc = put_obj(nat, NFT_MSG_DELRULE, 0, build_rule, r);
	nftnl_rule_free(r);
	return rc;
}

/* ------------------------------------------------------------ expressions */

/* A rule under construction; `oom` latches allocation failures so the
 * builders below stay one line each. */
struct rb {
	struct nftnl_rule *r;
	int oom;
};

static struct nftnl_expr *ex(struct rb *b, const char *name)
{
	struct nftnl_expr *e = b->oom ? NULL : nftnl_expr_alloc(name);

	if (!e)
		b->oom = 1;
	return e;
}

static void ex_add(struct rb *b, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(b->r, e);
}

static void e_meta_load(struct rb *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = ex(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	ex_add(b, e);
}

static void e_meta_set(struct rb *b, uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = ex(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	ex_add(b, e);
}

static void e_cmp(struct rb *b, uint32_t sreg, uint32_t op, const void *v, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, v, len);
	ex_add(b, e);
}

static void e_payload(struct rb *b, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = ex(b, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	ex_add(b, e);
}

static void e_bitwise(struct rb *b, uint32_t reg, const void *mask, const void *x, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, x, len);
	ex_add(b, e);
}

/* dreg < 0: membership test only. */
static void e_lookup(struct rb *b, const char *set, uint32_t sreg, int dreg)
{
	struct nftnl_expr *e = ex(b, "lookup");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	ex_add(b, e);
}

static void e_verdict(struct rb *b, int verdict, const char *chain)
{
	struct nftnl_expr *e = ex(b, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	ex_add(b, e);
}

static void e_imm(struct rb *b, uint32_t dreg, const void *v, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, v, len);
	ex_add(b, e);
}

static void e_notrack(struct rb *b)
{
	ex_add(b, ex(b, "notrack"));
}

/* Log to NFLOG `group`, rate-limited; `prefix` is the reason the daemon
 * puts in the decoy event (the kernel hands it over with the packet). */
static void e_limit_log(struct rb *b, uint16_t group, const char *prefix)
{
	struct nftnl_expr *e = ex(b, "limit");

	if (e) {
		nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, FG_NFT_LOG_RATE);
		nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, FG_NFT_LOG_BURST);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
		ex_add(b, e);
	}
	e = ex(b, "log");
	if (e) {
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
		ex_add(b, e);
	}
}

/* `update @set { key }`: add with the set's default timeout, or refresh. */
static void e_dynset_update(struct rb *b, const char *set, uint32_t sreg_key)
{
	struct nftnl_expr *e = ex(b, "dynset");

	if (!e)
		return;
	nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg_key);
	ex_add(b, e);
}

/* preg 0: keep the port. Encoded as nft encodes `dnat to ... map` with
 * `addr . port` data, so that `nft list` shows the rule. */
static void e_dnat(struct rb *b, uint8_t nfproto, uint32_t reg, uint32_t preg)
{
	struct nftnl_expr *e = ex(b, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg);
	if (preg) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, preg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, preg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
				   NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	}
	ex_add(b, e);
}

/* `fib daddr type local`: the packet is for this host. */
static void e_fib_daddr_local(struct rb *b)
{
	struct nftnl_expr *e = ex(b, "fib");
	uint32_t local = RTN_LOCAL_;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, REG_KEY);
		ex_add(b, e);
	}
	e_cmp(b, REG_KEY, NFT_CMP_EQ, &local, sizeof(local));
}

static void e_ct_state_invalid(struct rb *b)
{
	struct nftnl_expr *e = ex(b, "ct");
	uint32_t mask = NF_CT_STATE_INVALID_BIT, zero = 0;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, REG_KEY);
		ex_add(b, e);
	}
	e_bitwise(b, REG_KEY, &mask, &zero, sizeof(mask));
	e_cmp(b, REG_KEY, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* Composite matches. */
static void m_nfproto(struct rb *b, const struct fam *f)
{
	e_meta_load(b, NFT_META_NFPROTO, REG_KEY);
	e_cmp(b, REG_KEY, NFT_CMP_EQ, &f->nfproto, 1);
}

static void m_addr(struct rb *b, const struct fam *f, bool src, uint32_t reg)
{
	e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, src ? f->saddr_off : f->daddr_off, f->alen, reg);
}

/* Key registers for `saddr . daddr`. */
static void m_pair(struct rb *b, const struct fam *f)
{
	m_addr(b, f, true, REG_KEY);
	m_addr(b, f, false, REG_KEY + f->alen / 4);
}

/* Key registers for `saddr & /plen . daddr` (the subnet hash maps). */
static void m_pair_masked(struct rb *b, const struct fam *f, unsigned plen)
{
	uint8_t mask[16] = { 0 }, zero[16] = { 0 };
	unsigned i;

	for (i = 0; i < plen && i < f->alen * 8; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	m_addr(b, f, true, REG_KEY);
	e_bitwise(b, REG_KEY, mask, zero, f->alen);
	m_addr(b, f, false, REG_KEY + f->alen / 4);
}

/* `tcp flags & (syn|ack) != syn`: a TCP packet that does not open a flow. */
static void m_tcp_not_syn(struct rb *b)
{
	uint8_t tcp = 6, mask = 0x12, zero = 0, syn = 0x02;

	e_meta_load(b, NFT_META_L4PROTO, REG_KEY);
	e_cmp(b, REG_KEY, NFT_CMP_EQ, &tcp, 1);
	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, REG_KEY);
	e_bitwise(b, REG_KEY, &mask, &zero, 1);
	e_cmp(b, REG_KEY, NFT_CMP_NEQ, &syn, 1);
}

static void m_l4proto(struct rb *b, uint8_t proto)
{
	e_meta_load(b, NFT_META_L4PROTO, REG_KEY);
	e_cmp(b, REG_KEY, NFT_CMP_EQ, &proto, 1);
}

/* `th sport|dport == port` (after m_l4proto: a TCP or UDP header). */
static void m_th_port(struct rb *b, bool src, uint16_t port)
{
	uint16_t be = htons(port);

	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, 2, REG_KEY);
	e_cmp(b, REG_KEY, NFT_CMP_EQ, &be, 2);
}

/* Key registers for `daddr . l4proto . th dport` (svcport<F>). */
static void m_svcport_key(struct rb *b, const struct fam *f)
{
	m_addr(b, f, false, REG_KEY);
	e_meta_load(b, NFT_META_L4PROTO, REG_KEY + f->alen / 4);
	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG_KEY + f->alen / 4 + 1);
}

static void m_mark_set(struct rb *b, uint32_t mark)
{
	e_imm(b, REG_KEY, &mark, sizeof(mark));
	e_meta_set(b, NFT_META_MARK, REG_KEY);
}

static struct rb rule_new(struct fg_nat *nat, const char *chain)
{
	struct rb b = { nftnl_rule_alloc(), 0 };

	if (!b.r) {
		b.oom = 1;
		return b;
	}
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, nat->table);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return b;
}

static int rule_put(struct fg_nat *nat, struct rb *b)
{
	int rc = -ENOMEM;

	if (!b->oom)
		rc = put_obj(nat, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, build_rule, b->r);
	if (b->r)
		nftnl_rule_free(b->r);
	return rc;
}

#define RULE(chain, body) do {                                        \
		struct rb b_ = rule_new(nat, (chain));                 \
		struct rb *b = &b_;                                    \
		body;                                                  \
		if ((rc = rule_put(nat, b)) < 0)                       \
			return rc;                                     \
	} while (0)

static void sn(char *out, size_t len, const char *base, const struct fam *f)
{
	fg_nft_set_name(out, len, base, f->family);
}

/* hp[0..nhp): the prefix lengths of the family's subnet hash maps (the
 * current one first, then former ones still in the table) */
static int family_rules(struct fg_nat *nat, const struct fam *f, const uint8_t *hp, size_t nhp)
{
	const fg_nat_config_t *cfg = &nat->cfg;
	uint32_t decoy = cfg->decoy_mark ? cfg->decoy_mark : 0x666;
	char pool[32], quar[32], pin[32], gc[32], gn[32], ga[32], be[32], sp[32], pm[32];
	char gh[FG_NFT_NET_MAPS_MAX][32];
	uint32_t preg = REG_DATA + f->alen / 4;  /* backend port, after its address */
	int rc, p;
	size_t h;

	for (h = 0; h < nhp; h++)
		fg_nft_group_set(gh[h], sizeof(gh[h]), FG_NFT_G_NETH, f->family, hp[h]);

	sn(pool, sizeof(pool), "pool", f);
	sn(quar, sizeof(quar), "quarantine", f);
	sn(pin, sizeof(pin), "pinned", f);
	sn(gc, sizeof(gc), "grant_client", f);
	sn(gn, sizeof(gn), "grant_net", f);
	sn(ga, sizeof(ga), "grant_any", f);
	sn(be, sizeof(be), "backend", f);
	sn(sp, sizeof(sp), "svcport", f);
	sn(pm, sizeof(pm), "portmap", f);

	/* raw_pre: dispatch pool traffic; keep decoy replies untracked. */
	RULE("raw_pre", m_nfproto(b, f); m_addr(b, f, false, REG_KEY);
	     e_lookup(b, pool, REG_KEY, -1); e_verdict(b, NFT_JUMP, f->raw));
	RULE("raw_pre", m_nfproto(b, f); m_addr(b, f, true, REG_KEY);
	     e_lookup(b, pool, REG_KEY, -1); e_notrack(b));

	/* rawF: quarantine beats everything, even established flows. */
	if (cfg->nflog_group)
		RULE(f->raw, m_nfproto(b, f); m_addr(b, f, true, REG_KEY); e_lookup(b, quar, REG_KEY, -1);
		     e_limit_log(b, cfg->nflog_group, FG_DECOY_REASON_QUARANTINE));
	RULE(f->raw, m_nfproto(b, f); m_addr(b, f, true, REG_KEY); e_lookup(b, quar, REG_KEY, -1);
	     m_mark_set(b, decoy); e_notrack(b); e_verdict(b, NF_ACCEPT, NULL));
	/* Only what the services expose reaches the grant checks, on every
	 * packet (a pin or grant opens an address, never its other ports).
	 * A positive match, so that a packet whose key cannot be read (no
	 * transport header) falls to the decoys too. */
	if (cfg->ports_set) {
		RULE(f->raw, m_nfproto(b, f); m_svcport_key(b, f); e_lookup(b, sp, REG_KEY, -1);
		     e_verdict(b, NFT_GOTO, f->auth));
		if (cfg->nflog_group)
			RULE(f->raw, e_limit_log(b, cfg->nflog_group, FG_DECOY_REASON_PORT));
		RULE(f->raw, m_mark_set(b, decoy); e_notrack(b); e_verdict(b, NF_ACCEPT, NULL));
	} else {
		RULE(f->raw, e_verdict(b, NFT_GOTO, f->auth));
	}

	/* authF: pinned: refresh on every packet (pins live while used). */
	RULE(f->auth, m_nfproto(b, f); m_pair(b, f); e_lookup(b, pin, REG_KEY, -1);
	     e_dynset_update(b, pin, REG_KEY); e_verdict(b, NF_ACCEPT, NULL));
	/* Mid-flow TCP: conntrack decides (de-NAT of established flows whose
	 * pin and grant are gone; invalid without state -> ct_pre drops). */
	RULE(f->auth, m_tcp_not_syn(b); e_verdict(b, NF_ACCEPT, NULL));
	RULE(f->auth, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gc, REG_KEY, -1); e_verdict(b, NF_ACCEPT, NULL));
	for (h = 0; h < nhp; h++)
		RULE(f->auth, m_nfproto(b, f); m_pair_masked(b, f, hp[h]); e_lookup(b, gh[h], REG_KEY, -1);
		     e_verdict(b, NF_ACCEPT, NULL));
	RULE(f->auth, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gn, REG_KEY, -1); e_verdict(b, NF_ACCEPT, NULL));
	RULE(f->auth, m_nfproto(b, f); m_addr(b, f, false, REG_KEY); e_lookup(b, ga, REG_KEY, -1);
	     e_verdict(b, NF_ACCEPT, NULL));
	if (cfg->nflog_group)
		RULE(f->auth, e_limit_log(b, cfg->nflog_group, FG_DECOY_REASON_POOL));
	RULE(f->auth, m_mark_set(b, decoy); e_notrack(b); e_verdict(b, NF_ACCEPT, NULL));

	/* ct_pre: pool packets conntrack has no state for. Mid-flow packets
	 * of decoy flows land here (their SYN went out untracked): send them
	 * after it. Odd packets of an authorized client's flow (out of
	 * window...) are dropped instead, lest the decoy reset the flow. */
	RULE("ct_pre", m_nfproto(b, f); m_addr(b, f, false, REG_KEY);
	     e_lookup(b, pool, REG_KEY, -1); e_ct_state_invalid(b); e_verdict(b, NFT_JUMP, f->ct));
	RULE(f->ct, m_nfproto(b, f); m_pair(b, f); e_lookup(b, pin, REG_KEY, -1); e_verdict(b, NF_DROP, NULL));
	RULE(f->ct, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gc, REG_KEY, -1); e_verdict(b, NF_DROP, NULL));
	for (h = 0; h < nhp; h++)
		RULE(f->ct, m_nfproto(b, f); m_pair_masked(b, f, hp[h]); e_lookup(b, gh[h], REG_KEY, -1);
		     e_verdict(b, NF_DROP, NULL));
	RULE(f->ct, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gn, REG_KEY, -1); e_verdict(b, NF_DROP, NULL));
	RULE(f->ct, m_nfproto(b, f); m_addr(b, f, false, REG_KEY); e_lookup(b, ga, REG_KEY, -1);
	     e_verdict(b, NF_DROP, NULL));
	RULE(f->ct, m_mark_set(b, decoy); e_verdict(b, NF_ACCEPT, NULL));

	/* nat_pre */
	RULE("nat_pre", m_nfproto(b, f); m_addr(b, f, false, REG_KEY);
	     e_lookup(b, pool, REG_KEY, -1);
	     e_meta_load(b, NFT_META_MARK, REG_KEY);
	     e_cmp(b, REG_KEY, NFT_CMP_NEQ, &decoy, sizeof(decoy));
	     e_verdict(b, NFT_JUMP, f->nat));

	/* natF: a live grant leads to its own backend (and pins); without
	 * one the flow was let in by its pin: the address's backend. */
	RULE(f->nat, m_tcp_not_syn(b); e_verdict(b, NF_DROP, NULL));
	/* DNAT to a backend `addr . port`: TCP and UDP to an address of
	 * portmapF take the port; everything else keeps its own. */
#define DNAT_RULES(map, key) do {                                              \
		for (p = 0; p < 2; p++)                                        \
			RULE(f->nat, m_nfproto(b, f); m_l4proto(b, p ? 17 : 6); \
			     m_addr(b, f, false, REG_KEY); e_lookup(b, pm, REG_KEY, -1); \
			     key; e_lookup(b, map, REG_KEY, REG_DATA);         \
			     e_dnat(b, f->nfproto, REG_DATA, preg));           \
		RULE(f->nat, m_nfproto(b, f); key; e_lookup(b, map, REG_KEY, REG_DATA); \
		     e_dnat(b, f->nfproto, REG_DATA, 0));                      \
	} while (0)
	RULE(f->nat, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gc, REG_KEY, -1);
	     e_dynset_update(b, pin, REG_KEY));
	DNAT_RULES(gc, m_pair(b, f));
	/* the pin is the exact saddr . daddr, so the key is built again */
	for (h = 0; h < nhp; h++) {
		RULE(f->nat, m_nfproto(b, f); m_pair_masked(b, f, hp[h]); e_lookup(b, gh[h], REG_KEY, -1);
		     m_pair(b, f); e_dynset_update(b, pin, REG_KEY));
		DNAT_RULES(gh[h], m_pair_masked(b, f, hp[h]));
	}
	RULE(f->nat, m_nfproto(b, f); m_pair(b, f); e_lookup(b, gn, REG_KEY, -1);
	     e_dynset_update(b, pin, REG_KEY));
	DNAT_RULES(gn, m_pair(b, f));
	RULE(f->nat, m_nfproto(b, f); m_addr(b, f, false, REG_KEY); e_lookup(b, ga, REG_KEY, -1);
	     m_pair(b, f); e_dynset_update(b, pin, REG_KEY));
	DNAT_RULES(ga, m_addr(b, f, false, REG_KEY));
	DNAT_RULES(be, m_addr(b, f, false, REG_KEY));
#undef DNAT_RULES
	/* Authorized a moment ago in raw, no mapping now (expired in
	 * between): never forward to the pool address itself. */
	RULE(f->nat, e_verdict(b, NF_DROP, NULL));
	return 0;
}

/* DNS to and from fluxgated's own listeners stays out of conntrack: a
 * flood of (spoofed) queries must not fill the table. Local sockets need
 * no conntrack, TCP included. A wildcard listener matches any local
 * destination (`fib daddr type local`), never forwarded traffic. */
static int dns_rules(struct fg_nat *nat, const struct fam *f)
{
	const fg_nat_config_t *cfg = &nat->cfg;
	static const uint8_t zero[16];
	size_t i;
	int rc, p;

	for (i = 0; i < cfg->nlisten; i++) {
		const fg_nat_listen_t *l = &cfg->listen[i];
		bool wild = !memcmp(l->addr, zero, f->alen);
		uint16_t port = l->port ? l->port : 53;

		if (l->family != f->family)
			continue;
		for (p = 0; p < 2; p++) {
			uint8_t proto = p ? 17 : 6;

			RULE("dns_pre", m_nfproto(b, f); m_l4proto(b, proto);
			     m_th_port(b, false, port);
			     if (wild) e_fib_daddr_local(b);
			     else { m_addr(b, f, false, REG_KEY);
				    e_cmp(b, REG_KEY, NFT_CMP_EQ, l->addr, f->alen); }
			     e_notrack(b));
			RULE("dns_out", m_nfproto(b, f); m_l4proto(b, proto);
			     m_th_port(b, true, port);
			     if (!wild) { m_addr(b, f, true, REG_KEY);
					  e_cmp(b, REG_KEY, NFT_CMP_EQ, l->addr, f->alen); }
			     e_notrack(b));
		}
	}
	return 0;
}

/* Sort and merge the ranges of one family (the rbtree refuses overlaps). */
static int cmp_range(const void *a, const void *b)
{
	const fg_nat_prefix_t *x = a, *y = b;

	return memcmp(x->first, y->first, 16);
}

static size_t merge_ranges(fg_nat_prefix_t *r, size_t n, size_t alen)
{
	size_t i, out = 0;

	qsort(r, n, sizeof(*r), cmp_range);
	for (i = 0; i < n; i++) {
		if (memcmp(r[i].first, r[i].last, alen) > 0)
			continue; /* empty */
		if (out) {
			fg_nat_prefix_t *p = &r[out - 1];
			uint8_t next[16];
			int k, carry = 1;

			memcpy(next, p->last, alen);
			for (k = (int)alen - 1; k >= 0 && carry; k--) {
				next[k]++;
				carry = next[k] == 0;
			}
			/* overlapping or adjacent (or p runs to the top) */
			if (carry || memcmp(r[i].first, next, alen) <= 0) {
				if (memcmp(r[i].last, p->last, alen) > 0)
					memcpy(p->last, r[i].last, alen);
				continue;
			}
		}
		r[out++] = r[i];
	}
	return out;
}

/* Interval set `base`F := the ranges src[] of that family. */
static int range_elems(struct fg_nat *nat, const struct fam *f, const char *base,
		       const fg_nat_prefix_t *src, size_t nsrc)
{
	fg_nat_prefix_t *r;
	size_t i, n = 0;
	char set[32];
	int rc = 0;
	struct nftnl_set *s;

	sn(set, sizeof(set), base, f);
	/* Re-sync: flush (DELSETELEM without elements) then add, in the same
	 * transaction, so the pool is never seen empty. */
	if (!(s = nftnl_set_alloc()))
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, nat->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	rc = put_obj(nat, NFT_MSG_DELSETELEM, 0, build_elems, s);
	nftnl_set_free(s);
	if (rc < 0)
		return rc;
	r = calloc(nsrc + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < nsrc; i++)
		if (src[i].family == f->family)
			r[n++] = src[i];
	n = merge_ranges(r, n, f->alen);
	if (n)
		rc = fg_nft_put_pool(nat, set, f->family, r, n);
	free(r);
	return rc;
}

static int svcport_elems(struct fg_nat *nat, const struct fam *f)
{
	struct nftnl_set *s;
	char set[32];
	int rc;

	sn(set, sizeof(set), "svcport", f);
	/* re-sync in the same transaction, like the pool */
	if (!(s = nftnl_set_alloc()))
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, nat->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	rc = put_obj(nat, NFT_MSG_DELSETELEM, 0, build_elems, s);
	nftnl_set_free(s);
	if (rc < 0)
		return rc;
	return fg_nft_put_svcports(nat, set, f->family);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ull;
	return h;
}

/* Two 64-bit FNV-1a hashes (different bases) over each message's type,
 * flags and payload: only root writes this table, so the hash need only
 * tell rulesets apart, not resist forgery. */
static int ruleset_mark(struct fg_nat *nat)
{
	const fg_nft_batch_t *b = &nat->b;
	uint64_t h1 = 1469598103934665603ull, h2 = 0x9e3779b97f4a7c15ull;
	size_t off;
	struct nftnl_udata_buf *u;
	struct nftnl_rule *r;
	char text[80];
	int rc;

	if (b->failed || b->len < sizeof(struct nlmsghdr))
		return -ENOMEM;
	/* past BATCH_BEGIN */
	off = NLMSG_ALIGN(((const struct nlmsghdr *)(const void *)b->buf)->nlmsg_len);
	while (off + sizeof(struct nlmsghdr) <= b->len) {
		const struct nlmsghdr *m = (const void *)(b->buf + off);

		if (m->nlmsg_len < sizeof(*m) || off + m->nlmsg_len > b->len)
			return -EINVAL;
		h1 = fnv(h1, &m->nlmsg_type, sizeof(m->nlmsg_type));
		h1 = fnv(h1, &m->nlmsg_flags, sizeof(m->nlmsg_flags));
		h1 = fnv(h1, (const char *)m + sizeof(*m), m->nlmsg_len - sizeof(*m));
		h2 = fnv(h2, (const char *)m + sizeof(*m), m->nlmsg_len - sizeof(*m));
		h2 = fnv(h2, &m->nlmsg_len, sizeof(m->nlmsg_len));
		off += NLMSG_ALIGN(m->nlmsg_len);
	}
	snprintf(text, sizeof(text), "fluxgate ruleset %016llx%016llx",
		 (unsigned long long)h1, (unsigned long long)h2);
	if ((rc = add_chain(nat, FG_NFT_MARK_CHAIN, NULL, 0, 0)) < 0)
		return rc;
	if (!(u = nftnl_udata_buf_alloc(sizeof(nat->mark))))
		return -ENOMEM;
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text) ||
	    nftnl_udata_buf_len(u) > sizeof(nat->mark)) {
		nftnl_udata_buf_free(u);
		return -EINVAL;
	}
	nat->mark_len = nftnl_udata_buf_len(u);
	memcpy(nat->mark, nftnl_udata_buf_data(u), nat->mark_len);
	nftnl_udata_buf_free(u);
	if (!(r = nftnl_rule_alloc()))
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nat->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, FG_NFT_MARK_CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nat->mark, nat->mark_len);
	rc = put_obj(nat, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, build_rule, r);
	nftnl_rule_free(r);
	return rc;
}

/* The prefix lengths of family f's subnet hash maps: the configured one
 * first, then those of former configurations the table still holds (their
 * elements keep working until they expire; nft_int.h). A table that cannot
 * be read (not there yet) holds none. */
static size_t hash_plens(struct fg_nat *nat, const struct fam *f, uint8_t *out)
{
	uint8_t found[FG_NFT_NET_MAPS_MAX];
	unsigned cur = fg_nft_hash_plen(&nat->cfg, f->family);
	size_t n = 0;
	int nf, j;

	if (cur)
		out[n++] = (uint8_t)cur;
	nf = fg_nft_net_maps(nat, f->family, found, FG_NFT_NET_MAPS_MAX);
	for (j = 0; j < nf && n < FG_NFT_NET_MAPS_MAX; j++)
		if (found[j] != cur) {
			log_info("nft setup: keeping %s subnet map /%u of a former "
				 "ecs-min-prefix until its grants expire",
				 f->family == AF_INET ? "IPv4" : "IPv6", (unsigned)found[j]);
			out[n++] = found[j];
		}
	return n;
}

int fg_nft_ruleset_build(struct fg_nat *nat)
{
	uint8_t hp[2][FG_NFT_NET_MAPS_MAX];
	size_t nhp[2], h;
	uint32_t id = 1;
	int rc, i, k;

	for (i = 0; i < 2; i++)
		nhp[i] = hash_plens(nat, &fams[i], hp[i]);
	if ((rc = add_table(nat)) < 0)
		return rc;
	for (i = 0; i < 2; i++) {
		for (k = K_POOL; k <= K_PORTMAP; k++)
			if ((rc = add_set(nat, &fams[i], (enum set_kind)k, 0, id++)) < 0)
				return rc;
		for (h = 0; h < nhp[i]; h++)
			if ((rc = add_set(nat, &fams[i], K_NETH, hp[i][h], id++)) < 0)
				return rc;
	}
	if ((rc = add_chain(nat, "raw_pre", "filter", NF_INET_PRE_ROUTING, -300)) < 0 ||
	    (rc = add_chain(nat, "ct_pre", "filter", NF_INET_PRE_ROUTING, -150)) < 0 ||
	    (rc = add_chain(nat, "nat_pre", "nat", NF_INET_PRE_ROUTING, -100)) < 0 ||
	    (rc = add_chain(nat, "dns_pre", "filter", NF_INET_PRE_ROUTING, -300)) < 0 ||
	    (rc = add_chain(nat, "dns_out", "filter", NF_INET_LOCAL_OUT, -300)) < 0 ||
	    (rc = add_chain(nat, fams[0].raw, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[1].raw, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[0].auth, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[1].auth, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[0].ct, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[1].ct, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[0].nat, NULL, 0, 0)) < 0 ||
	    (rc = add_chain(nat, fams[1].nat, NULL, 0, 0)) < 0)
		return rc;
	for (i = 0; i < 2; i++)
		if ((rc = family_rules(nat, &fams[i], hp[i], nhp[i])) < 0 ||
		    (rc = dns_rules(nat, &fams[i])) < 0)
			return rc;
	for (i = 0; i < 2; i++)
		if ((rc = range_elems(nat, &fams[i], "pool", nat->cfg.pools, nat->cfg.npools)) < 0 ||
		    (rc = range_elems(nat, &fams[i], "portmap", nat->cfg.portmap, nat->cfg.nportmap)) < 0 ||
		    (rc = svcport_elems(nat, &fams[i])) < 0)
			return rc;
	return ruleset_mark(nat);
}
