/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nftables backend, element encoding: set elements (key, key end, data,
 * timeout, flags) written straight into the open batch with libmnl
 * attribute helpers, no nftnl_set_elem allocation per grant; the pool and
 * svcport elements of the static sets; the key of a grant in its map.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>

#include "dataplane/nft_int.h"

const char *const fg_nft_group_base[FG_NFT_NGROUPS] = {
	"grant_client", "grant_net", "grant_any", "grant_net", "backend"
};

unsigned fg_nft_hash_plen(const fg_nat_config_t *cfg, int family)
{
	unsigned plen = family == AF_INET6 ? cfg->net_hash_plen6 : cfg->net_hash_plen4;

	/* /0 is an anyone grant, a full length an exact one: neither is a
	 * subnet grant the hash map could hold */
	return plen < fg_nft_alen(family) * 8 ? plen : 0;
}

int fg_nft_grant_group(const fg_nat_config_t *cfg, const fg_grant_t *g)
{
	unsigned hp;

	if (g->scope == FG_SCOPE_CLIENT)
		return FG_NFT_G_CLIENT;
	if (g->scope == FG_SCOPE_ANY)
		return FG_NFT_G_ANY;
	hp = fg_nft_hash_plen(cfg, g->family);
	return hp && g->client_plen == hp ? FG_NFT_G_NETH : FG_NFT_G_NET;
}

void fg_nft_group_set(char *out, size_t outlen, int group, int family, unsigned plen)
{
	char base[24];

	fg_nft_set_name(base, sizeof(base), fg_nft_group_base[group], family);
	if (group == FG_NFT_G_NETH)
		snprintf(out, outlen, "%s_%u", base, plen);
	else
		snprintf(out, outlen, "%s", base);
}

unsigned fg_nft_net_map_plen(const char *name, int family)
{
	char base[24];
	size_t bl;
	unsigned v = 0;
	const char *p;

	fg_nft_set_name(base, sizeof(base), fg_nft_group_base[FG_NFT_G_NETH], family);
	bl = strlen(base);
	if (strncmp(name, base, bl) != 0 || name[bl] != '_')
		return 0;
	for (p = name + bl + 1; *p >= '0' && *p <= '9' && v < 1000; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p || p == name + bl + 1 || v == 0 || v >= fg_nft_alen(family) * 8)
		return 0;
	return v;
}

int fg_nft_elems_start(struct fg_nat *nat, struct fg_nft_elem_msg *m, uint16_t type,
		       const char *set)
{
	char *tail = fg_nft_batch_tail(nat);
	uint16_t flags = NLM_F_ACK;

	if (!tail)
		return -ENOMEM;
	/* CREATE without EXCL: re-adding a live element succeeds and sets
	 * its timeout to the new value (kernel >= 6.x). */
	if (type == NFT_MSG_NEWSETELEM)
		flags |= NLM_F_CREATE;
	m->nlh = nftnl_nlmsg_build_hdr(tail, type, NFPROTO_INET, flags,
				       fg_nft_batch_seq(nat));
	mnl_attr_put_strz(m->nlh, NFTA_SET_ELEM_LIST_TABLE, nat->table);
	mnl_attr_put_strz(m->nlh, NFTA_SET_ELEM_LIST_SET, set);
	m->list = mnl_attr_nest_start(m->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	return 0;
}

void fg_nft_elems_end(struct fg_nat *nat, struct fg_nft_elem_msg *m)
{
	mnl_attr_nest_end(m->nlh, m->list);
	fg_nft_batch_commit_msg(nat);
	m->nlh = NULL;
}

static void put_data(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(nlh, n);
}

void fg_nft_elem_put(struct nlmsghdr *nlh, const void *key, size_t klen,
		     const void *kend, const void *data, size_t dlen,
		     uint64_t timeout_ms, uint32_t eflags)
{
	struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);

	put_data(nlh, NFTA_SET_ELEM_KEY, key, klen);
	if (kend)
		put_data(nlh, NFTA_SET_ELEM_KEY_END, kend, klen);
	if (timeout_ms)
		mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(timeout_ms));
	if (eflags)
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(eflags));
	if (data)
		put_data(nlh, NFTA_SET_ELEM_DATA, data, dlen);
	mnl_attr_nest_end(nlh, e);
}

int fg_nft_put_pool(struct fg_nat *nat, const char *set, int family,
		    const fg_nat_prefix_t *r, size_t nr)
{
	size_t alen = fg_nft_alen(family);
	struct fg_nft_elem_msg m = { 0 };
	size_t i;

	for (i = 0; i < nr; i++) {
		uint8_t end[16];
		int carry = 1, k;

		if (!m.nlh && fg_nft_elems_start(nat, &m, NFT_MSG_NEWSETELEM, set) < 0)
			return -ENOMEM;
		fg_nft_elem_put(m.nlh, r[i].first, alen, NULL, NULL, 0, 0, 0);
		/* rbtree intervals are half-open: the end element is last+1,
		 * absent when the range runs to the top of the space. */
		memcpy(end, r[i].last, alen);
		for (k = (int)alen - 1; k >= 0 && carry; k--) {
			end[k]++;
			carry = end[k] == 0;
		}
		if (!carry)
			fg_nft_elem_put(m.nlh, end, alen, NULL, NULL, 0, 0, NFT_SET_ELEM_INTERVAL_END);
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			fg_nft_elems_end(nat, &m);
	}
	if (m.nlh)
		fg_nft_elems_end(nat, &m);
	return 0;
}

/* Key of a svcport element: addr . proto . port, each field in a 4-byte
 * register slot (the set's concatenation layout). */
static size_t svcport_key(uint8_t *k, size_t alen, const uint8_t *addr, uint8_t proto,
			  uint16_t port)
{
	memset(k, 0, alen + 8);
	memcpy(k, addr, alen);
	k[alen] = proto;
	k[alen + 4] = (uint8_t)(port >> 8);
	k[alen + 5] = (uint8_t)port;
	return alen + 8;
}

int fg_nft_put_svcports(struct fg_nat *nat, const char *set, int family)
{
	size_t alen = fg_nft_alen(family), i;
	struct fg_nft_elem_msg m = { 0 };

	for (i = 0; i < nat->cfg.nsvcports; i++) {
		const fg_nat_svcport_t *e = &nat->cfg.svcports[i];
		uint8_t k[24], ke[24];
		size_t kl;

		if (e->family != family)
			continue;
		if (!m.nlh && fg_nft_elems_start(nat, &m, NFT_MSG_NEWSETELEM, set) < 0)
			return -ENOMEM;
		/* pipapo: one element covers key .. key_end field by field */
		kl = svcport_key(k, alen, e->first, e->proto_first, e->port_first);
		svcport_key(ke, alen, e->last, e->proto_last, e->port_last);
		fg_nft_elem_put(m.nlh, k, kl, ke, NULL, 0, 0, 0);
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			fg_nft_elems_end(nat, &m);
	}
	if (m.nlh)
		fg_nft_elems_end(nat, &m);
	return 0;
}


size_t fg_nft_grant_key(const fg_grant_t *g, int group, uint8_t *key, uint8_t *kend)
{
	size_t alen = fg_nft_alen(g->family), i;

	if (group == FG_NFT_G_ANY) {
		memcpy(key, g->addr, alen);
		return alen;
	}
	memcpy(key, g->client, alen);
	memcpy(key + alen, g->addr, alen);
	if (group == FG_NFT_G_NETH) {
		/* (client & mask) . addr: what the rule's bitwise leaves of
		 * saddr, so every client of the prefix finds the element */
		for (i = g->client_plen; i < alen * 8; i++)
			key[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	} else if (group == FG_NFT_G_NET) {
		/* first . addr  ..  last . addr: the prefix as an interval in
		 * the first field, the exact address in the second. */
		memcpy(kend, key, 2 * alen);
		for (i = g->client_plen; i < alen * 8; i++) {
			uint8_t bit = (uint8_t)(0x80 >> (i % 8));

			key[i / 8] &= (uint8_t)~bit;
			kend[i / 8] |= bit;
		}
	}
	return 2 * alen;
}
