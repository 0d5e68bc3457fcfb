/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nftables backend, read-back: the live grants of the grant maps
 * (`fluxctl grants`, restart adoption of the anyone grants), parsed with
 * libnftnl, and the element counts of the grant maps, pin and quarantine
 * sets (metrics gauges), walked with libmnl alone.
 */
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
#include <libnftnl/set.h>

#include "dataplane/nft_int.h"

struct dump_ctx {
	int family;
	int group;
	unsigned plen;      /* FG_NFT_G_NETH: the map's prefix length */
	fg_nat_dump_fn fn;
	void *ctx;
	int err;
};

static unsigned range_plen(const uint8_t *a, const uint8_t *b, size_t alen)
{
	unsigned i;

	for (i = 0; i < alen * 8; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if ((a[i / 8] & bit) != (b[i / 8] & bit))
			break;
	}
	return i;
}

static int dump_elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;
	size_t alen = fg_nft_alen(d->family);

	if (!s) {
		d->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	it = nftnl_set_elems_iter_create(s);
	for (e = it ? nftnl_set_elems_iter_next(it) : NULL; e; e = nftnl_set_elems_iter_next(it)) {
		fg_grant_t g = { 0 };
		uint32_t kl = 0, el = 0, dl = 0;
		const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
		const uint8_t *ke = NULL;
		const uint8_t *dv = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);

		/* get_u32 of an absent attribute dereferences NULL: ask first */
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
		    (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END))
			continue;
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END))
			ke = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &el);
		if (!k || !dv || dl < alen)
			continue;
		g.family = (uint8_t)d->family;
		if (d->group == FG_NFT_G_ANY) {
			if (kl < alen)
				continue;
			g.scope = FG_SCOPE_ANY;
			memcpy(g.addr, k, alen);
		} else {
			if (kl < 2 * alen)
				continue;
			memcpy(g.client, k, alen);
			memcpy(g.addr, k + alen, alen);
			if (d->group == FG_NFT_G_NETH) {
				g.scope = FG_SCOPE_NET;
				g.client_plen = (uint8_t)d->plen;
			} else if (d->group == FG_NFT_G_NET) {
				g.scope = FG_SCOPE_NET;
				g.client_plen = (uint8_t)(ke && el >= alen ?
					range_plen(k, ke, alen) : alen * 8);
			} else {
				g.scope = FG_SCOPE_CLIENT;
				g.client_plen = (uint8_t)(alen * 8);
			}
		}
		memcpy(g.backend, dv, alen);
		if (dl >= FG_NFT_BLEN(alen))
			g.backend_port = (uint16_t)(dv[alen] << 8 | dv[alen + 1]);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)) {
			uint64_t ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);

			g.timeout_ms = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
			if (g.timeout_ms == 0)
				continue; /* expired, awaiting GC */
		}
		d->fn(d->ctx, &g);
	}
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int dump_set(struct fg_nat *nat, int family, int group, unsigned plen,
		    fg_nat_dump_fn fn, void *ctx)
{
	struct dump_ctx d = { .family = family, .group = group, .plen = plen, .fn = fn,
			      .ctx = ctx };
	char set[32];

	fg_nft_group_set(set, sizeof(set), group, family, plen);
	return fg_nft_get_elems(nat, set, dump_elem_cb, &d, &d.err);
}

/* ------------------------------------------------------- subnet hash maps */

struct netmaps_ctx {
	int family;
	uint8_t *plens;
	size_t max, n;
	int err;            /* never set */
};

static int netmaps_cb(const struct nlmsghdr *nlh, void *data)
{
	struct netmaps_ctx *c = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		unsigned plen;

		if (mnl_attr_get_type(a) != NFTA_SET_NAME ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		plen = fg_nft_net_map_plen(mnl_attr_get_str(a), c->family);
		if (plen && c->n < c->max)
			c->plens[c->n++] = (uint8_t)plen;
	}
	return MNL_CB_OK;
}

int fg_nft_net_maps(struct fg_nat *nat, int family, uint8_t *plens, size_t max)
{
	struct netmaps_ctx c = { .family = family, .plens = plens, .max = max };
	int rc = fg_nft_get_sets(nat, netmaps_cb, &c, &c.err);

	return rc < 0 ? rc : (int)c.n;
}

/* Every grant map of `family`: the three by scope, then each subnet hash
 * map the table holds (the current prefix length and former ones). */
static int each_grant_set(struct fg_nat *nat, int family,
			  int (*fn)(struct fg_nat *, int family, int group, unsigned plen, void *),
			  void *arg)
{
	uint8_t plens[FG_NFT_NET_MAPS_MAX];
	int grp, rc, i, n;

	for (grp = 0; grp < FG_NFT_G_NETH; grp++)
		if ((rc = fn(nat, family, grp, 0, arg)) < 0)
			return rc;
	if ((n = fg_nft_net_maps(nat, family, plens, FG_NFT_NET_MAPS_MAX)) < 0)
		return n;
	for (i = 0; i < n; i++)
		if ((rc = fn(nat, family, FG_NFT_G_NETH, plens[i], arg)) < 0)
			return rc;
	return 0;
}

struct dump_arg {
	fg_nat_dump_fn fn;
	void *ctx;
};

static int dump_one(struct fg_nat *nat, int family, int group, unsigned plen, void *arg)
{
	struct dump_arg *a = arg;

	return dump_set(nat, family, group, plen, a->fn, a->ctx);
}

int fg_nft_dump(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx)
{
	struct dump_arg a = { fn, ctx };
	int rc = each_grant_set(nat, AF_INET, dump_one, &a);

	return rc < 0 ? rc : each_grant_set(nat, AF_INET6, dump_one, &a);
}

/* The kernel cannot resume a set dump: each message of one walks the set
 * from its start, so a dump costs time quadratic in the set's size (most of
 * a minute at 1M). Restart recovery needs only the anyone grants; the
 * client and subnet maps, however big, are not read. */
int fg_nft_dump_any(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx)
{
	int rc = dump_set(nat, AF_INET, FG_NFT_G_ANY, 0, fn, ctx);

	return rc < 0 ? rc : dump_set(nat, AF_INET6, FG_NFT_G_ANY, 0, fn, ctx);
}

/* ------------------------------------------------------------------- count */

struct count_ctx {
	uint64_t n;
	int err;            /* never set: the walk cannot fail */
};

/* Live elements of one GETSETELEM answer, by the rules of dump_elem_cb
 * (interval ends and expired elements awaiting GC do not count). Walked
 * with libmnl alone: a pin set may hold a million elements, and parsing
 * them into libnftnl objects would allocate for each. */
static int count_elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct count_ctx *c = data;
	const struct nlattr *list, *e, *a;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, list) {
			bool live = true;

			if (mnl_attr_get_type(e) != NFTA_LIST_ELEM)
				continue;
			mnl_attr_for_each_nested(a, e) {
				uint16_t t = mnl_attr_get_type(a);

				if (t == NFTA_SET_ELEM_FLAGS &&
				    mnl_attr_validate(a, MNL_TYPE_U32) == 0 &&
				    (ntohl(mnl_attr_get_u32(a)) & NFT_SET_ELEM_INTERVAL_END))
					live = false;
				else if (t == NFTA_SET_ELEM_EXPIRATION &&
					 mnl_attr_validate(a, MNL_TYPE_U64) == 0 &&
					 mnl_attr_get_u64(a) == 0)
					live = false;
			}
			if (live)
				c->n++;
		}
	}
	return MNL_CB_OK;
}

/* The kernel's element count of a set (NFTA_SET_COUNT of a GETSET answer,
 * on kernels that report it, as 6.18 does; the installed uapi header may
 * not name it). */
#define FG_NFTA_SET_COUNT 20

struct setinfo_ctx {
	bool have;
	uint32_t n;
	int err;            /* never set */
};

static int setinfo_cb(const struct nlmsghdr *nlh, void *data)
{
	struct setinfo_ctx *si = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == FG_NFTA_SET_COUNT &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
			si->have = true;
			si->n = ntohl(mnl_attr_get_u32(a));
		}
	return MNL_CB_OK;
}

int fg_nft_kernel_count(struct fg_nat *nat, const char *base, int family, uint64_t *out)
{
	struct setinfo_ctx si = { 0 };
	char set[32];
	int rc;

	fg_nft_set_name(set, sizeof(set), base, family);
	if ((rc = fg_nft_get_set(nat, set, setinfo_cb, &si, &si.err)) < 0)
		return rc;
	if (!si.have)
		return -EOPNOTSUPP;
	*out += si.n;
	return 0;
}

/* Live elements of one set. The kernel restarts a set dump's walk for each
 * answer message (about 32 KiB, a few hundred elements), so walking a set
 * costs time quadratic in its size: minutes at a million. A set the kernel
 * says holds more than FG_NFT_COUNT_WALK_MAX elements is counted by that
 * figure (one request), which also holds elements expired since the set's
 * last garbage collection (hash sets: every second; the subnet map: at its
 * next change); a smaller one, or any on an older kernel, is walked and
 * counted exactly. */
static int count_named(struct fg_nat *nat, const char *set, uint64_t *out)
{
	struct count_ctx c = { 0 };
	struct setinfo_ctx si = { 0 };
	int rc;

	rc = fg_nft_get_set(nat, set, setinfo_cb, &si, &si.err);
	if (rc < 0)
		return rc;
	if (si.have && si.n > FG_NFT_COUNT_WALK_MAX) {
		*out += si.n;
		return 0;
	}
	rc = fg_nft_get_elems(nat, set, count_elem_cb, &c, &c.err);
	if (rc == 0)
		*out += c.n;
	return rc;
}

static int count_set(struct fg_nat *nat, const char *base, int family, uint64_t *out)
{
	char set[32];

	fg_nft_set_name(set, sizeof(set), base, family);
	return count_named(nat, set, out);
}

static int count_grants(struct fg_nat *nat, int family, int group, unsigned plen, void *arg)
{
	fg_nat_counts_t *c = arg;
	char set[32];

	fg_nft_group_set(set, sizeof(set), group, family, plen);
	/* the hash maps hold subnet grants */
	return count_named(nat, set, &c->grants[group == FG_NFT_G_NETH ? FG_SCOPE_NET : group]);
}

_Static_assert((int)FG_NFT_G_CLIENT == (int)FG_SCOPE_CLIENT && (int)FG_NFT_G_NET == (int)FG_SCOPE_NET &&
	       (int)FG_NFT_G_ANY == (int)FG_SCOPE_ANY,
	       "grant groups index fg_nat_counts_t.grants by scope");

int fg_nft_count(fg_nat_t *nat, fg_nat_counts_t *out)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	fg_nat_counts_t c;
	int f, rc;

	memset(&c, 0, sizeof(c));
	for (f = 0; f < 2; f++) {
		if ((rc = each_grant_set(nat, fams[f], count_grants, &c)) < 0)
			return rc;
		if ((rc = count_set(nat, "pinned", fams[f], &c.pinned)) < 0 ||
		    (rc = count_set(nat, "quarantine", fams[f], &c.quarantined)) < 0)
			return rc;
	}
	*out = c;
	return 0;
}

