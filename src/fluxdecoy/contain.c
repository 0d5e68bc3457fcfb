/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "decoy/shuffle.h"
#include "fluxdecoy/contain.h"

#define REG  NFT_REG32_00
#define BATCH_MAX (1u << 20)

enum { DT_IPADDR = 7, DT_IP6ADDR = 8, DT_CONCAT_BITS = 6 };

struct fam {
	int family;
	uint8_t nfproto;
	uint32_t alen, soff, doff, dtype;
	char tag;                 /* '4' or '6' in set names */
};

static const struct fam fams[2] = {
	{ AF_INET, NFPROTO_IPV4, 4, 12, 16, DT_IPADDR, '4' },
	{ AF_INET6, NFPROTO_IPV6, 16, 8, 24, DT_IP6ADDR, '6' },
};

struct batch {
	struct mnl_nlmsg_batch *b;
	char *buf;
	uint32_t seq, seq_first;
	unsigned nack;
	bool full;
	const char *table;
};

static struct nlmsghdr *msg_start(struct batch *bt, uint16_t type, uint16_t flags)
{
	if (bt->full)
		return NULL;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET,
				     flags | NLM_F_ACK, bt->seq++);
}

static void msg_end(struct batch *bt)
{
	bt->nack++;
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->full = true;
}

/* --------------------------------------------------------------- objects */

static void put_table(struct batch *bt, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t || !(nlh = msg_start(bt, type, flags))) {
		bt->full = true;
		nftnl_table_free(t);
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, bt->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	msg_end(bt);
}

static void put_set(struct batch *bt, const char *name, uint32_t klen, uint32_t ktype,
		    uint32_t flags, uint64_t timeout_ms, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s || !(nlh = msg_start(bt, NFT_MSG_NEWSET, NLM_F_CREATE))) {
		bt->full = true;
		nftnl_set_free(s);
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, bt->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ktype);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	if (timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, timeout_ms);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	msg_end(bt);
}

static void put_elems(struct batch *bt, const char *set, const uint8_t *keys,
		      size_t n, uint32_t klen)
{
	struct nftnl_set *s;
	struct nlmsghdr *nlh;

	if (!n)
		return;
	s = nftnl_set_alloc();
	if (!s || !(nlh = msg_start(bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE))) {
		bt->full = true;
		nftnl_set_free(s);
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, bt->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		if (!e) {
			bt->full = true;
			break;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, keys + i * klen, klen);
		nftnl_set_elem_add(s, e);
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	msg_end(bt);
}

static void put_counter(struct batch *bt, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;

	if (!o || !(nlh = msg_start(bt, NFT_MSG_NEWOBJ, NLM_F_CREATE))) {
		bt->full = true;
		nftnl_obj_free(o);
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, bt->table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	msg_end(bt);
}

static void put_chain(struct batch *bt, const char *name, const char *type, int hook,
		      int prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c || !(nlh = msg_start(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE))) {
		bt->full = true;
		nftnl_chain_free(c);
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, bt->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	msg_end(bt);
}

/* ----------------------------------------------------------------- rules */

struct rb {
	struct nftnl_rule *r;
	bool oom;
};

static void add(struct rb *b, struct nftnl_expr *e)
{
	if (!e)
		b->oom = true;
	else
		nftnl_rule_add_expr(b->r, e);
}

static struct nftnl_expr *ex(struct rb *b, const char *name)
{
	return b->oom ? NULL : nftnl_expr_alloc(name);
}

static void e_cmp(struct rb *b, uint32_t op, const void *v, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, REG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, v, len);
	}
	add(b, e);
}

static void e_meta(struct rb *b, uint32_t key)
{
	struct nftnl_expr *e = ex(b, "meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, REG);
	}
	add(b, e);
}

static void e_payload(struct rb *b, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = ex(b, "payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	add(b, e);
}

static void e_lookup(struct rb *b, const char *set, uint32_t id)
{
	struct nftnl_expr *e = ex(b, "lookup");

	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, REG);
	}
	add(b, e);
}

static void e_dynset_update(struct rb *b, const char *set, uint32_t id)
{
	struct nftnl_expr *e = ex(b, "dynset");

	if (e) {
		nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, id);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, REG);
	}
	add(b, e);
}

/* ct state / ct status & mask != 0 */
static void e_ct_bits(struct rb *b, uint32_t key, uint32_t mask)
{
	struct nftnl_expr *e = ex(b, "ct");
	uint32_t zero = 0;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, REG);
	}
	add(b, e);
	e = ex(b, "bitwise");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, REG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, REG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
		nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	}
	add(b, e);
	e_cmp(b, NFT_CMP_NEQ, &zero, 4);
}

static void e_counter(struct rb *b, const char *name)
{
	struct nftnl_expr *e = ex(b, "objref");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	}
	add(b, e);
}

static void e_verdict(struct rb *b, int v)
{
	struct nftnl_expr *e = ex(b, "immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	}
	add(b, e);
}

/* dnat to addr (4 octets) [: port (network order; 0 keeps the port)] */
static void e_dnat4(struct rb *b, const uint8_t a[4], uint16_t port_be)
{
	struct nftnl_expr *e = ex(b, "immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG32_00);
		nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, a, 4);
	}
	add(b, e);
	if (port_be) {
		e = ex(b, "immediate");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG32_01);
			nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, &port_be, 2);
		}
		add(b, e);
	}
	e = ex(b, "nat");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG32_00);
		if (port_be) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
					   NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
		}
	}
	add(b, e);
}

static void e_reject_port(struct rb *b)
{
	struct nftnl_expr *e = ex(b, "reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_PORT_UNREACH);
	}
	add(b, e);
}

static void m_fam(struct rb *b, const struct fam *f)
{
	e_meta(b, NFT_META_NFPROTO);
	e_cmp(b, NFT_CMP_EQ, &f->nfproto, 1);
}

static void m_in(struct rb *b, const struct fam *f, bool src, const char *set, uint32_t id)
{
	e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, src ? f->soff : f->doff, f->alen, REG);
	e_lookup(b, set, id);
}

static void m_addr(struct rb *b, bool src, uint32_t op, const uint8_t a[4])
{
	e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, src ? 12 : 16, 4, REG);
	e_cmp(b, op, a, 4);
}

static void m_l4(struct rb *b, uint8_t proto, uint16_t dport)
{
	uint16_t be = htons(dport);

	e_meta(b, NFT_META_L4PROTO);
	e_cmp(b, NFT_CMP_EQ, &proto, 1);
	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG);
	e_cmp(b, NFT_CMP_EQ, &be, 2);
}

static struct rb rule_new(struct batch *bt, const char *chain)
{
	struct rb b = { nftnl_rule_alloc(), false };

	if (!b.r) {
		b.oom = true;
		return b;
	}
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, bt->table);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return b;
}

static void rule_put(struct batch *bt, struct rb *b)
{
	struct nlmsghdr *nlh = NULL;

	if (!b->oom)
		nlh = msg_start(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, b->r);
		msg_end(bt);
	} else {
		bt->full = true;
	}
	nftnl_rule_free(b->r);
}

/* ------------------------------------------------------------- the table */

struct names {
	char hi[2][32], talk[2][32];
	uint32_t hi_id[2], talk_id[2];
	char contained[32], replied[32], reflected[32];
};

static void names_of(size_t i, struct names *n)
{
	for (int k = 0; k < 2; k++) {
		snprintf(n->hi[k], sizeof(n->hi[k]), "hi%c_%zu", fams[k].tag, i);
		snprintf(n->talk[k], sizeof(n->talk[k]), "talk%c_%zu", fams[k].tag, i);
		n->hi_id[k] = (uint32_t)(i * 4 + (size_t)k + 1);
		n->talk_id[k] = (uint32_t)(i * 4 + (size_t)k + 3);
	}
	snprintf(n->contained, sizeof(n->contained), "contained_%zu", i);
	snprintf(n->replied, sizeof(n->replied), "replied_%zu", i);
	snprintf(n->reflected, sizeof(n->reflected), "reflected_%zu", i);
}

int fd_contain_needed(const fd_conf_t *c)
{
	for (size_t i = 0; i < c->npersonas; i++)
		if (fd_conf_nbackends(&c->personas[i]))
			return 1;
	return 0;
}

static void sin4(const fg_conf_addr_t *a, uint8_t out[4], uint16_t *port_be)
{
	const struct sockaddr_in *s = (const struct sockaddr_in *)&a->ss;

	memcpy(out, &s->sin_addr, 4);
	if (port_be)
		*port_be = s->sin_port;
}

static void persona_rules(struct batch *bt, const fd_conf_t *c, size_t i)
{
	const fd_conf_persona_t *p = &c->personas[i];
	struct names n;
	bool reply_only = p->containment == FD_CONTAIN_REPLY_ONLY;
	bool reflect = p->containment == FD_CONTAIN_REFLECT;
	uint32_t est = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);

	names_of(i, &n);
	put_counter(bt, n.contained);
	put_counter(bt, n.replied);
	put_counter(bt, n.reflected);
	for (int k = 0; k < 2; k++) {
		const struct fam *f = &fams[k];
		size_t nb = fd_conf_nbackends(p);
		uint8_t *keys = calloc(nb ? nb : 1, 16);
		size_t nk = 0;

		if (!keys) {
			bt->full = true;
			return;
		}
		/* template slots: contained from the start, spawned or not */
		for (size_t j = 0; f->family == AF_INET && !p->nbackends && j < nb; j++)
			if (fd_conf_slot_addr(p, j, keys + nk * 4))
				nk++;
		for (size_t j = 0; j < p->nbackends; j++) {
			const struct sockaddr_storage *ss = &p->backends[j].ss;
			if (ss->ss_family != f->family)
				continue;
			if (f->family == AF_INET)
				memcpy(keys + nk * f->alen, &((const struct sockaddr_in *)ss)->sin_addr, 4);
			else
				memcpy(keys + nk * f->alen, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
			nk++;
		}
		put_set(bt, n.hi[k], f->alen, f->dtype, 0, 0, n.hi_id[k]);
		put_elems(bt, n.hi[k], keys, nk, f->alen);
		free(keys);
		if (reply_only)
			put_set(bt, n.talk[k], 2 * f->alen, f->dtype << DT_CONCAT_BITS | f->dtype,
				NFT_SET_TIMEOUT | NFT_SET_EVAL, c->decoy.binding_idle_ms,
				n.talk_id[k]);
	}
	for (int k = 0; k < 2; k++) {
		const struct fam *f = &fams[k];
		struct rb b;

		if (reply_only) {       /* who sent to a backend: peer . backend */
			b = rule_new(bt, "fwd");
			m_fam(&b, f);
			m_in(&b, f, false, n.hi[k], n.hi_id[k]);
			e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f->soff, f->alen, REG);
			e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f->doff, f->alen, REG + f->alen / 4);
			e_dynset_update(&b, n.talk[k], n.talk_id[k]);
			rule_put(bt, &b);
		}
		b = rule_new(bt, "fwd");
		m_fam(&b, f);
		m_in(&b, f, true, n.hi[k], n.hi_id[k]);
		e_ct_bits(&b, NFT_CT_STATE, est);
		e_verdict(&b, NF_ACCEPT);
		rule_put(bt, &b);
		if (reply_only) {
			b = rule_new(bt, "fwd");
			m_fam(&b, f);
			m_in(&b, f, true, n.hi[k], n.hi_id[k]);
			e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f->doff, f->alen, REG);
			e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f->soff, f->alen, REG + f->alen / 4);
			e_lookup(&b, n.talk[k], n.talk_id[k]);
			e_counter(&b, n.replied);
			e_verdict(&b, NF_ACCEPT);
			rule_put(bt, &b);
		}
		b = rule_new(bt, "fwd");
		m_fam(&b, f);
		m_in(&b, f, true, n.hi[k], n.hi_id[k]);
		e_counter(&b, n.contained);
		e_verdict(&b, NF_DROP);
		rule_put(bt, &b);

		/* the bed itself */
		b = rule_new(bt, "in");
		m_fam(&b, f);
		m_in(&b, f, true, n.hi[k], n.hi_id[k]);
		e_ct_bits(&b, NFT_CT_STATE, est);
		e_verdict(&b, NF_ACCEPT);
		rule_put(bt, &b);
		if (reflect && f->family == AF_INET) {
			uint8_t ra[4], da[4];
			uint16_t dport;
			sin4(&c->decoy.reflect_address, ra, NULL);
			sin4(&c->decoy.reflect_dns, da, &dport);
			b = rule_new(bt, "in");
			m_fam(&b, f);
			m_in(&b, f, true, n.hi[k], n.hi_id[k]);
			e_ct_bits(&b, NFT_CT_STATUS, IPS_DST_NAT);
			e_counter(&b, n.reflected);
			e_verdict(&b, NF_ACCEPT);
			rule_put(bt, &b);
			for (int d = 0; d < 2; d++) {
				b = rule_new(bt, "in");
				m_fam(&b, f);
				m_in(&b, f, true, n.hi[k], n.hi_id[k]);
				m_addr(&b, false, NFT_CMP_EQ, d ? da : ra);
				e_counter(&b, n.reflected);
				e_verdict(&b, NF_ACCEPT);
				rule_put(bt, &b);
			}
			/* the fake Internet: DNS to the answerer, the rest to
			 * the reflect address, ports kept */
			for (int proto = 0; proto < 2; proto++) {
				b = rule_new(bt, "pre");
				m_fam(&b, f);
				m_in(&b, f, true, n.hi[k], n.hi_id[k]);
				m_addr(&b, false, NFT_CMP_NEQ, da);
				m_l4(&b, proto ? IPPROTO_TCP : IPPROTO_UDP, 53);
				e_dnat4(&b, da, dport);
				rule_put(bt, &b);
			}
			b = rule_new(bt, "pre");
			m_fam(&b, f);
			m_in(&b, f, true, n.hi[k], n.hi_id[k]);
			m_addr(&b, false, NFT_CMP_NEQ, ra);
			m_addr(&b, false, NFT_CMP_NEQ, da);
			e_dnat4(&b, ra, 0);
			rule_put(bt, &b);
		}
		b = rule_new(bt, "in");
		m_fam(&b, f);
		m_in(&b, f, true, n.hi[k], n.hi_id[k]);
		e_counter(&b, n.contained);
		e_verdict(&b, NF_DROP);
		rule_put(bt, &b);
	}
}

/* ------------------------------------------------- closed UDP ports */

static bool pool_shuffled(const fd_conf_t *c, const char *id);

#define UDP_PORTS_SET "udp_ports"
#define UDP_PORTS_ID 0x75647001u
#define UDP_CLOSED "udp_closed"
#define SERVED4 "udp_served4"
#define SERVED6 "udp_served6"
#define SERVED4_ID 0x75647004u
#define SERVED6_ID 0x75647006u

int fd_contain_udp_needed(const fd_conf_t *c)
{
	for (size_t i = 0; i < c->npersonas; i++)
		if (c->personas[i].persona && c->personas[i].persona->nudp)
			return 1;
	return 0;
}

/* daddr within [x->first, x->last] (the prefix's family) */
static void m_dst_range(struct rb *b, const fg_conf_prefix_t *x)
{
	const struct fam *f = &fams[x->family == AF_INET ? 0 : 1];

	m_fam(b, f);
	e_payload(b, NFT_PAYLOAD_NETWORK_HEADER, f->doff, f->alen, REG);
	e_cmp(b, NFT_CMP_GTE, x->first, f->alen);
	e_cmp(b, NFT_CMP_LTE, x->last, f->alen);
}

static void m_udp(struct rb *b)
{
	uint8_t proto = IPPROTO_UDP;

	e_meta(b, NFT_META_L4PROTO);
	e_cmp(b, NFT_CMP_EQ, &proto, 1);
}

static void m_udp_dport(struct rb *b, unsigned port)
{
	uint16_t be = htons((uint16_t)port);

	m_udp(b);
	e_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG);
	e_cmp(b, NFT_CMP_EQ, &be, 2);
}

/* The UDP ports of the bed are bound by wildcard sockets (fluxdecoy/udp.h):
 * without these rules a datagram to a pool address whose persona lacks the
 * port would be taken by the socket and go unanswered, where the real host
 * answers ICMP port unreachable. The kernel sends it here (reject, through
 * icmp_send()/icmpv6_send(), so under the same icmp_ratelimit and
 * icmp_ratemask as for a port without a socket). Chain udpclosed (filter input
 * -10), in the order in which udp.c attributes a datagram (udp.c port_of()):
 *   daddr . udp dport @udp_served<F>               accept (the epoch's deal
 *                                                   serves it: fd_contain_udp_deal)
 *   daddr in a shuffled pool, udp dport @udp_ports  counter udp_closed, reject
 *   daddr in persona i's addresses, udp dport P     accept (i serves P)
 *   udp dport P, P served by a persona without addresses  accept
 *   daddr in persona i's addresses, udp dport @udp_ports  counter udp_closed,
 *                                                   reject icmpx port-unreachable */
static void udp_rules(struct batch *bt, const fd_conf_t *c)
{
	uint16_t *ports = calloc(65536, sizeof(*ports));
	size_t np = 0;

	if (!ports) {
		bt->full = true;
		return;
	}
	for (unsigned port = 1; port <= 65535; port++)
		for (size_t i = 0; i < c->npersonas; i++)
			if (c->personas[i].persona &&
			    fd_persona_find_udp(c->personas[i].persona, port)) {
				ports[np++] = htons((uint16_t)port);
				break;
			}
	put_chain(bt, "udpclosed", "filter", NF_INET_LOCAL_IN, -10);
	put_counter(bt, UDP_CLOSED);
	put_set(bt, UDP_PORTS_SET, 2, 13 /* inet_service */, 0, 0, UDP_PORTS_ID);
	put_elems(bt, UDP_PORTS_SET, (const uint8_t *)ports, np, 2);
	free(ports);
	if (fd_contain_udp_shuffled(c)) {
		/* filled per epoch by fd_contain_udp_deal() (the sets exist
		 * only then: no shuffled pool, no rule) */
		for (int k = 0; k < 2; k++) {
			const struct fam *f = &fams[k];
			put_set(bt, k ? SERVED6 : SERVED4, f->alen + 4,
				f->dtype << DT_CONCAT_BITS | 13, 0, 0, k ? SERVED6_ID : SERVED4_ID);
			struct rb b = rule_new(bt, "udpclosed");
			m_fam(&b, f);
			m_udp(&b);
			e_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, f->doff, f->alen, REG);
			e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG + f->alen / 4);
			e_lookup(&b, k ? SERVED6 : SERVED4, k ? SERVED6_ID : SERVED4_ID);
			e_verdict(&b, NF_ACCEPT);
			rule_put(bt, &b);
		}
	}
	for (size_t i = 0; i < c->npools; i++) {
		if (!pool_shuffled(c, c->pools[i].id))
			continue;
		/* the deal decides: what it does not serve is closed (before
		 * it is dealt, every port: fail closed) */
		struct rb b = rule_new(bt, "udpclosed");
		m_dst_range(&b, &c->pools[i].prefix);
		m_udp(&b);
		e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG);
		e_lookup(&b, UDP_PORTS_SET, UDP_PORTS_ID);
		e_counter(&b, UDP_CLOSED);
		e_reject_port(&b);
		rule_put(bt, &b);
	}
	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *p = &c->personas[i];
		if (p->npools || !p->persona)
			continue;
		for (size_t u = 0; u < p->persona->nudp; u++) {
			for (size_t j = 0; j < p->naddresses; j++) {
				struct rb b = rule_new(bt, "udpclosed");
				m_dst_range(&b, &p->addresses[j]);
				m_udp_dport(&b, p->persona->udp[u].port);
				e_verdict(&b, NF_ACCEPT);
				rule_put(bt, &b);
			}
			if (!p->naddresses) {   /* every destination */
				struct rb b = rule_new(bt, "udpclosed");
				m_udp_dport(&b, p->persona->udp[u].port);
				e_verdict(&b, NF_ACCEPT);
				rule_put(bt, &b);
			}
		}
	}
	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *p = &c->personas[i];
		if (p->npools)
			continue;
		for (size_t j = 0; j < p->naddresses; j++) {
			struct rb b = rule_new(bt, "udpclosed");
			m_dst_range(&b, &p->addresses[j]);
			m_udp(&b);
			e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, REG);
			e_lookup(&b, UDP_PORTS_SET, UDP_PORTS_ID);
			e_counter(&b, UDP_CLOSED);
			e_reject_port(&b);
			rule_put(bt, &b);
		}
	}
}

/* The kernel's ICMPv6 errors about a pool address (a local route, no
 * address on an interface) leave from the interface's address, where the
 * real host, which owns its address, sends them from the address asked;
 * nmap then calls a closed port "filtered". IPv4 picks the asked address
 * itself (icmp_send(), RTCF_LOCAL). Chain icmp6src (filter output 0): an
 * ICMPv6 destination unreachable whose invoking packet went to a pool
 * address leaves from that address (ip6 saddr set, checksum updated):
 *   icmpv6 type 1, inner daddr in a pool range  ip6 saddr set inner daddr */
static void icmp6_rule(struct batch *bt, const fg_conf_prefix_t *x)
{
	struct rb b;
	uint8_t proto = IPPROTO_ICMPV6, type = 1;

	if (x->family != AF_INET6)
		return;
	b = rule_new(bt, "icmp6src");
	m_fam(&b, &fams[1]);
	e_meta(&b, NFT_META_L4PROTO);
	e_cmp(&b, NFT_CMP_EQ, &proto, 1);
	e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, REG);
	e_cmp(&b, NFT_CMP_EQ, &type, 1);
	/* the invoking packet's destination: ICMPv6 header 8, ip6 daddr 24 */
	e_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 8 + 24, 16, REG);
	e_cmp(&b, NFT_CMP_GTE, x->first, 16);
	e_cmp(&b, NFT_CMP_LTE, x->last, 16);
	struct nftnl_expr *e = ex(&b, "payload");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, REG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 8);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 16);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
	}
	add(&b, e);
	rule_put(bt, &b);
}

static void icmp6_rules(struct batch *bt, const fd_conf_t *c)
{
	bool any = false;

	for (size_t i = 0; i < c->npools; i++)
		any |= c->pools[i].prefix.family == AF_INET6;
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; j < c->personas[i].naddresses; j++)
			any |= c->personas[i].addresses[j].family == AF_INET6;
	if (!any)
		return;
	put_chain(bt, "icmp6src", "filter", NF_INET_LOCAL_OUT, 0);
	for (size_t i = 0; i < c->npools; i++)
		icmp6_rule(bt, &c->pools[i].prefix);
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; j < c->personas[i].naddresses; j++)
			icmp6_rule(bt, &c->personas[i].addresses[j]);
}

/* ------------------------------------------------------------- transport */

struct acks {
	unsigned got;
	int kerr;
	uint32_t bad_seq;
	char msg[200];
};

static int ext_ack_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t <= NLMSGERR_ATTR_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

static void parse_acks(struct acks *st, const char *buf, size_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)n;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		st->got++;
		if (e->error == 0 || st->kerr)
			continue;
		st->kerr = -e->error;
		st->bad_seq = nlh->nlmsg_seq;
		if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
			continue;
		unsigned off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_get_payload_len(nlh) <= off)
			continue;
		const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
		mnl_attr_parse(nlh, off, ext_ack_cb, tb);
		if (tb[NLMSGERR_ATTR_MSG])
			snprintf(st->msg, sizeof(st->msg), "%s",
				 mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	}
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int one = 1;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	return nl;
}

/* Start a batch on table `table`: buffers in bt, the batch-begin message. */
static int batch_open(struct batch *bt, const char *table)
{
	memset(bt, 0, sizeof(*bt));
	bt->table = table;
	bt->buf = calloc(1, BATCH_MAX);  /* attribute padding goes out as is */
	if (!bt->buf)
		return -ENOMEM;
	bt->seq = (uint32_t)time(NULL);
	bt->seq_first = bt->seq;
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_MAX - 64 * 1024);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	return 0;
}

/* End, send and wait for every ACK; frees the batch. `what` names it in
 * the messages. */
static int batch_commit(struct batch *bt, const char *what, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	char *rbuf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
	int rc;

	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
	if (!rbuf) {
		rc = fg_errf(err, errlen, -ENOMEM, "%s: out of memory", what);
		goto out;
	}
	if (bt->full) {
		rc = fg_errf(err, errlen, -ENOBUFS, "%s: ruleset too large "
			     "for one batch (or out of memory)", what);
		goto out;
	}
	nl = nl_open();
	if (!nl) {
		rc = -errno;
		fg_errf(err, errlen, rc, "%s: netlink: %s", what, fg_strerror(rc));
		goto out;
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b), mnl_nlmsg_batch_size(bt->b)) < 0) {
		rc = -errno;
		fg_errf(err, errlen, rc, "%s: sendmsg: %s", what, fg_strerror(rc));
		mnl_socket_close(nl);
		goto out;
	}
	struct acks st = { 0 };
	rc = 0;
	while (st.got < bt->nack && !st.kerr) {
		struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0) {
			rc = fg_errf(err, errlen, -FG_ENETLINK, "%s: %u of %u "
				     "netlink ACKs after 5 s", what, st.got, bt->nack);
			break;
		}
		ssize_t n = recv(p.fd, rbuf, MNL_SOCKET_BUFFER_SIZE * 4, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			rc = -errno;
			fg_errf(err, errlen, rc, "%s: recv: %s", what, fg_strerror(rc));
			break;
		}
		parse_acks(&st, rbuf, (size_t)n);
	}
	if (st.kerr)
		rc = fg_errf(err, errlen, -FG_ENETLINK, "%s: the kernel refused "
			     "table %s: %s%s%s (message #%u of the batch)", what, bt->table,
			     strerror(st.kerr), st.msg[0] ? ": " : "", st.msg,
			     st.bad_seq - bt->seq_first);
	mnl_socket_close(nl);
out:
	mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	free(rbuf);
	return rc;
}

int fd_contain_install(const fd_conf_t *c, char *err, size_t errlen)
{
	struct batch bt;

	if (batch_open(&bt, fd_conf_nft_table(c)) < 0)
		return fg_errf(err, errlen, -ENOMEM, "containment: out of memory");
	/* replace the whole table in the one transaction: create (so the
	 * delete cannot fail), delete, create */
	put_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_table(&bt, NFT_MSG_DELTABLE, 0);
	put_table(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	if (fd_contain_needed(c)) {
		put_chain(&bt, "pre", "nat", NF_INET_PRE_ROUTING, -100);
		put_chain(&bt, "fwd", "filter", NF_INET_FORWARD, 0);
		put_chain(&bt, "in", "filter", NF_INET_LOCAL_IN, 0);
	}
	for (size_t i = 0; i < c->npersonas; i++)
		if (fd_conf_nbackends(&c->personas[i]))
			persona_rules(&bt, c, i);
	if (fd_contain_udp_needed(c)) {
		udp_rules(&bt, c);
		icmp6_rules(&bt, c);
	}
	return batch_commit(&bt, "containment", err, errlen);
}

/* ------------------------------------------- the deal of the UDP ports */

/* Whether persona list of the config shuffles pool `id`. */
static bool pool_shuffled(const fd_conf_t *c, const char *id)
{
	for (size_t j = 0; j < c->npersonas; j++)
		for (size_t k = 0; k < c->personas[j].npools; k++)
			if (strcmp(c->personas[j].pools[k], id) == 0)
				return true;
	return false;
}

int fd_contain_udp_shuffled(const fd_conf_t *c)
{
	for (size_t i = 0; fd_contain_udp_needed(c) && i < c->npersonas; i++)
		if (c->personas[i].npools)
			return 1;
	return 0;
}

/* served<F>: (address . port) of the shuffled pools' UDP ports that the
 * deal of the epoch key `ek` serves, appended to keys[f] (klen 8 / 20:
 * the port padded to a register). */
struct served {
	uint8_t *keys[2];
	size_t n[2], cap[2];
};

static int served_add(struct served *sv, int k, const uint8_t *a, unsigned port)
{
	size_t klen = k ? 20 : 8;

	if (sv->n[k] == sv->cap[k]) {
		size_t nc = sv->cap[k] ? sv->cap[k] * 2 : 256;
		uint8_t *nk = realloc(sv->keys[k], nc * klen);
		if (!nk)
			return -ENOMEM;
		sv->keys[k] = nk;
		sv->cap[k] = nc;
	}
	uint8_t *e = sv->keys[k] + sv->n[k] * klen;
	uint16_t be = htons((uint16_t)port);
	memset(e, 0, klen);
	memcpy(e, a, k ? 16 : 4);
	memcpy(e + (k ? 16 : 4), &be, 2);
	sv->n[k]++;
	return 0;
}

static int deal_pool(const fd_conf_t *c, const fg_conf_pool_t *pl,
		     const uint8_t ek[FD_SHUFFLE_KEYLEN], struct served *sv)
{
	const fd_conf_persona_t *ps[FD_SHUFFLE_MAX_LABELS];
	double shares[FD_SHUFFLE_MAX_LABELS];
	size_t np = 0;
	int k = pl->prefix.family == AF_INET ? 0 : 1, rc = 0;

	/* the personas in config order, as the bed deals them (universe.c) */
	for (size_t i = 0; i < c->npersonas; i++)
		for (size_t j = 0; j < c->personas[i].npools; j++)
			if (strcmp(c->personas[i].pools[j], pl->id) == 0) {
				if (np == FD_SHUFFLE_MAX_LABELS)
					return -E2BIG;
				ps[np] = &c->personas[i];
				shares[np++] = c->personas[i].share;
			}
	uint64_t n = fd_shuffle_pool_size(&pl->prefix);
	if (n > FD_SHUFFLE_MAX_ADDRS)
		return -E2BIG;
	uint16_t *label = calloc(n ? n : 1, sizeof(*label));
	if (!label)
		return -ENOMEM;
	rc = fd_shuffle_assign(ek, pl->id, &pl->prefix, shares, np, label);
	for (uint64_t a = 0; rc == 0 && a < n; a++) {
		if (label[a] == FD_SHUFFLE_CLOSED || label[a] >= np || !ps[label[a]]->persona)
			continue;
		uint8_t addr[16];
		fd_shuffle_pool_addr(&pl->prefix, a, addr);
		const fd_persona_t *p = ps[label[a]]->persona;
		for (size_t u = 0; rc == 0 && u < p->nudp; u++)
			rc = served_add(sv, k, addr, p->udp[u].port);
	}
	free(label);
	return rc;
}

int fd_contain_udp_deal(const fd_conf_t *c, const uint8_t *root, size_t rootlen,
			uint64_t epoch, uint64_t gen, char *err, size_t errlen)
{
	uint8_t ek[FD_SHUFFLE_KEYLEN];
	struct served sv = { { NULL, NULL }, { 0, 0 }, { 0, 0 } };
	struct batch bt;
	int rc = fd_shuffle_epoch_key(root, rootlen, epoch, gen, ek);

	if (rc < 0)
		return fg_errf(err, errlen, rc, "udp deal: no epoch key: %s", fg_strerror(rc));
	for (size_t i = 0; rc == 0 && i < c->npools; i++)
		if (pool_shuffled(c, c->pools[i].id))
			rc = deal_pool(c, &c->pools[i], ek, &sv);
	OPENSSL_cleanse(ek, sizeof(ek));
	if (rc == 0 && (rc = batch_open(&bt, fd_conf_nft_table(c))) == 0) {
		/* one transaction: the old deal's elements go, the new come */
		for (int k = 0; k < 2; k++) {
			struct nftnl_set *s = nftnl_set_alloc();
			struct nlmsghdr *nlh = s ? msg_start(&bt, NFT_MSG_DELSETELEM, 0) : NULL;
			if (!nlh) {
				bt.full = true;
				nftnl_set_free(s);
				continue;
			}
			nftnl_set_set_str(s, NFTNL_SET_TABLE, bt.table);
			nftnl_set_set_str(s, NFTNL_SET_NAME, k ? SERVED6 : SERVED4);
			nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			nftnl_set_free(s);
			msg_end(&bt);
			put_elems(&bt, k ? SERVED6 : SERVED4, sv.keys[k], sv.n[k], k ? 20 : 8);
		}
		rc = batch_commit(&bt, "udp deal", err, errlen);
	} else if (rc < 0) {
		fg_errf(err, errlen, rc, "udp deal: %s", fg_strerror(rc));
	}
	free(sv.keys[0]);
	free(sv.keys[1]);
	return rc;
}

/* ------------------------------------------------------------- counters */

struct rd {
	const fd_conf_t *c;
	fd_contain_counts_t *out;
};

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rd *r = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *name;
	size_t i;
	char kind[16];

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) < 0 ||
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER ||
	    !(name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME)) ||
	    sscanf(name, "%15[a-z]_%zu", kind, &i) != 2 || i >= r->c->npersonas) {
		nftnl_obj_free(o);
		return MNL_CB_OK;
	}
	uint64_t pk = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	if (strcmp(kind, "contained") == 0)
		r->out[i].contained = pk;
	else if (strcmp(kind, "replied") == 0)
		r->out[i].replied = pk;
	else if (strcmp(kind, "reflected") == 0)
		r->out[i].reflected = pk;
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int fd_contain_read(const fd_conf_t *c, fd_contain_counts_t *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = nl_open();
	struct nftnl_obj *o;
	struct nlmsghdr *nlh;
	struct rd r = { c, out };
	uint32_t seq = (uint32_t)time(NULL), portid;
	int rc = 0;

	memset(out, 0, c->npersonas * sizeof(*out));
	memset(buf, 0, sizeof(buf));  /* attribute padding goes out as is */
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	o = nftnl_obj_alloc();
	if (!o) {
		mnl_socket_close(nl);
		return -ENOMEM;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, fd_conf_nft_table(c));
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP, seq);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		int cr = mnl_cb_run(buf, (size_t)n, seq, portid, obj_cb, &r);
		if (cr < 0) {
			rc = -errno;
			break;
		}
		if (cr == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return rc;
}
