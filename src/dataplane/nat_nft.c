/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nftables NAT backend: grants become elements of kernel maps with kernel
 * timeouts, written in one nfnetlink batch (one transaction) per commit
 * through libmnl, the static ruleset through libnftnl (nft_ruleset.c).
 *
 * Why the batch I/O is hand-rolled: a commit must not return before the
 * kernel acknowledged the whole transaction (grant before answer), and the
 * hot path must not allocate per element. Every message but BATCH_BEGIN/END
 * carries NLM_F_ACK; nfnetlink answers each of them (ACK or error) while
 * processing the sendmsg, so we read exactly that many answers.
 * Elements are encoded directly with libmnl attribute helpers (no
 * nftnl_set_elem allocation per grant); dump parses with libnftnl.
 *
 * Ownership: the handle owns its netlink socket and buffers; fg_nat_close()
 * frees them. The kernel table outlives the handle (restart safety).
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/dp_int.h"
#include "dataplane/nft_int.h"

/* ---------------------------------------------------------------- helpers */

size_t fg_nft_alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

void fg_nft_set_name(char *out, size_t outlen, const char *base, int family)
{
	snprintf(out, outlen, "%s%c", base, family == AF_INET6 ? '6' : '4');
}

static int addr_str(int family, const uint8_t *a, char *out, size_t outlen)
{
	if (!inet_ntop(family, a, out, (socklen_t)outlen))
		snprintf(out, outlen, "?");
	return 0;
}

/* ------------------------------------------------------------ socket/batch */

static int grow_sndbuf(struct fg_nat *nat, size_t need)
{
	int fd = mnl_socket_get_fd(nat->nl);
	int v;

	if (need + 4096 <= nat->sndbuf)
		return 0;
	v = (int)(need * 2 + 65536);
	/* FORCE needs CAP_NET_ADMIN, which the daemon has; fall back to the
	 * capped variant otherwise. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0)
		return -errno;
	nat->sndbuf = (size_t)v;
	return 0;
}

static int sock_open(struct fg_nat *nat)
{
	int one = 1, fd, v;

	nat->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nat->nl)
		return -errno;
	if (mnl_socket_bind(nat->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	nat->portid = mnl_socket_get_portid(nat->nl);
	/* Extended ACK: the kernel's reason and the offset of the element it
	 * rejected. CAP_ACK: errors do not echo our (large) request, which
	 * keeps the answers of a big batch from overflowing the socket. */
	mnl_socket_setsockopt(nat->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nat->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	fd = mnl_socket_get_fd(nat->nl);
	v = 1 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	nat->sndbuf = 0;
	return grow_sndbuf(nat, 256 * 1024);
}

static int batch_reserve(fg_nft_batch_t *b, size_t room)
{
	char *nb;
	size_t ncap;

	if (b->len + room <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256 * 1024;
	while (ncap < b->len + room)
		ncap *= 2;
	nb = realloc(b->buf, ncap);
	if (!nb) {
		b->failed = -ENOMEM;
		return -ENOMEM;
	}
	/* zero the new room: libnftnl leaves attribute padding unwritten and
	 * the kernel (and valgrind) would see stale heap bytes */
	memset(nb + b->cap, 0, ncap - b->cap);
	b->buf = nb;
	b->cap = ncap;
	return 0;
}

void fg_nft_batch_begin(struct fg_nat *nat)
{
	fg_nft_batch_t *b = &nat->b;
	struct nlmsghdr *nlh;

	b->len = 0;
	b->nack = 0;
	b->failed = 0;
	b->seq_first = ++nat->seq;
	b->seq_next = b->seq_first + 1;
	if (batch_reserve(b, FG_NFT_MSG_ROOM) < 0)
		return;
	nlh = nftnl_batch_begin(b->buf, b->seq_first);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

char *fg_nft_batch_tail(struct fg_nat *nat)
{
	fg_nft_batch_t *b = &nat->b;

	if (b->failed || batch_reserve(b, FG_NFT_MSG_ROOM) < 0)
		return NULL;
	memset(b->buf + b->len, 0, 64);
	return b->buf + b->len;
}

uint32_t fg_nft_batch_seq(struct fg_nat *nat)
{
	return nat->b.seq_next++;
}

void fg_nft_batch_commit_msg(struct fg_nat *nat)
{
	fg_nft_batch_t *b = &nat->b;
	struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + b->len);

	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	if (nlh->nlmsg_flags & NLM_F_ACK)
		b->nack++;
}

/* Locate the message with sequence `seq` in the batch just sent. */
static const struct nlmsghdr *batch_find(const fg_nft_batch_t *b, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->buf;
	int left = (int)b->len;

	while (mnl_nlmsg_ok(nlh, left)) {
		if (nlh->nlmsg_seq == seq)
			return nlh;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return NULL;
}

static int ext_ack_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t <= NLMSGERR_ATTR_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

/* Optional per-batch hook to name the element an error points at. */
typedef void (*bad_elem_fn)(void *ctx, uint32_t seq, int index, int err);

struct reply_state {
	uint32_t seq_lo, seq_hi;
	unsigned got;
	int kerr;          /* first kernel errno (positive), 0 if none */
	char msg[160];     /* its extended-ack text */
	uint32_t bad_seq;  /* seq of the message it blames */
	uint32_t bad_off;  /* NLMSGERR_ATTR_OFFS, 0 if absent */
};

static void parse_replies(struct reply_state *st, const char *buf, size_t n, uint32_t portid)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)n;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlmsgerr *e;
		const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
		unsigned off;

		if (nlh->nlmsg_pid != portid && nlh->nlmsg_pid != 0)
			continue;
		if (nlh->nlmsg_seq < st->seq_lo || nlh->nlmsg_seq > st->seq_hi)
			continue; /* stale answer of an older batch */
		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		e = mnl_nlmsg_get_payload(nlh);
		st->got++;
		if (e->error == 0 || st->kerr)
			continue;
		st->kerr = -e->error;
		st->bad_seq = nlh->nlmsg_seq;
		if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
			continue;
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_get_payload_len(nlh) <= off)
			continue;
		mnl_attr_parse(nlh, off, ext_ack_cb, tb);
		if (tb[NLMSGERR_ATTR_MSG])
			snprintf(st->msg, sizeof(st->msg), "%s", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
		if (tb[NLMSGERR_ATTR_OFFS])
			st->bad_off = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
}

/* Index of the element of NEWSETELEM/DESTROYSETELEM `nlh` that starts at
 * byte `off` of the message, or -1. */
static int elem_index_at(const struct nlmsghdr *nlh, uint32_t off)
{
	const struct nlattr *a, *list = NULL, *e;
	int i = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return -1;
	mnl_attr_for_each_nested(e, list) {
		uint32_t start = (uint32_t)((const char *)e - (const char *)nlh);

		if (off >= start && off < start + e->nla_len)
			return i;
		i++;
	}
	return -1;
}

/* quiet_err: a kernel errno the caller handles (retries): logged at debug
 * level only. */
static int batch_send_ex(struct fg_nat *nat, const char *what, int *kerr,
			 bad_elem_fn bad, void *bctx, int quiet_err)
{
	fg_nft_batch_t *b = &nat->b;
	struct reply_state st = { 0 };
	int fd = mnl_socket_get_fd(nat->nl);
	struct nlmsghdr *nlh;
	int rc = 0;

	if (kerr)
		*kerr = 0;
	if (b->failed || batch_reserve(b, 64) < 0)
		return -ENOMEM;
	nlh = nftnl_batch_end(b->buf + b->len, b->seq_next);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	nat->seq = b->seq_next;
	st.seq_lo = b->seq_first;
	st.seq_hi = b->seq_next;

	if ((rc = grow_sndbuf(nat, b->len)) < 0)
		return rc;
	if (mnl_socket_sendto(nat->nl, b->buf, b->len) < 0) {
		rc = -errno;
		log_err("nft %s: sendmsg: %s", what, strerror(errno));
		return rc;
	}
	/* nfnetlink processed the batch inside sendmsg: every answer is
	 * queued already. The poll only guards against a kernel that
	 * answers fewer messages than expected. */
	while (st.got < b->nack && !st.kerr) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n = recv(fd, nat->rbuf, nat->rbuf_len, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			int pr = poll(&p, 1, 2000);

			if (pr == 0) {
				log_err("nft %s: %u of %u ACKs after 2 s", what, st.got, b->nack);
				return -FG_ENETLINK;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* ENOBUFS: answers were dropped, the outcome of the
			 * transaction is unknown; report failure (no answer
			 * may be announced), the caller retries or SERVFAILs. */
			log_err("nft %s: recv: %s (%u of %u ACKs)", what, strerror(errno),
				st.got, b->nack);
			return errno == ENOBUFS ? -FG_ENETLINK : -errno;
		}
		parse_replies(&st, nat->rbuf, (size_t)n, nat->portid);
	}
	if (!st.kerr)
		return 0;
	/* Drain the rest of this batch's answers (the kernel reports every
	 * failing message, and acks the others). */
	for (;;) {
		ssize_t n = recv(fd, nat->rbuf, nat->rbuf_len, MSG_DONTWAIT);

		if (n <= 0)
			break;
	}
	{
		const struct nlmsghdr *bad_msg = batch_find(b, st.bad_seq);
		int idx = -1;
		uint16_t type = bad_msg ? (uint16_t)(bad_msg->nlmsg_type & 0xff) : 0xffff;

		if (bad_msg && st.bad_off &&
		    (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DESTROYSETELEM ||
		     type == NFT_MSG_DELSETELEM))
			idx = elem_index_at(bad_msg, st.bad_off);
		fg_log(st.kerr == quiet_err ? FG_LOG_DEBUG : FG_LOG_ERR,
		       "nft %s: kernel refused transaction: %s%s%s (message type %u, #%u of the batch, element %d)",
			what, strerror(st.kerr), st.msg[0] ? ": " : "", st.msg,
			(unsigned)type, st.bad_seq - b->seq_first, idx);
		if (bad && idx >= 0)
			bad(bctx, st.bad_seq, idx, st.kerr);
	}
	if (kerr)
		*kerr = st.kerr;
	return -FG_ENETLINK;
}

int fg_nft_batch_send(struct fg_nat *nat, const char *what, int *kerr)
{
	return batch_send_ex(nat, what, kerr, NULL, NULL, 0);
}

/* -------------------------------------------------------- element encoding */

struct elem_msg {
	struct nlmsghdr *nlh;
	struct nlattr *list;
};

static int elems_start(struct fg_nat *nat, struct elem_msg *m, uint16_t type,
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

static void elems_end(struct fg_nat *nat, struct elem_msg *m)
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

/* One element: key (klen), optional key_end, optional data, timeout in ms
 * (0: none), element flags. */
static void elem_put(struct nlmsghdr *nlh, const void *key, size_t klen,
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
	struct elem_msg m = { 0 };
	size_t i;

	for (i = 0; i < nr; i++) {
		uint8_t end[16];
		int carry = 1, k;

		if (!m.nlh && elems_start(nat, &m, NFT_MSG_NEWSETELEM, set) < 0)
			return -ENOMEM;
		elem_put(m.nlh, r[i].first, alen, NULL, NULL, 0, 0, 0);
		/* rbtree intervals are half-open: the end element is last+1,
		 * absent when the range runs to the top of the space. */
		memcpy(end, r[i].last, alen);
		for (k = (int)alen - 1; k >= 0 && carry; k--) {
			end[k]++;
			carry = end[k] == 0;
		}
		if (!carry)
			elem_put(m.nlh, end, alen, NULL, NULL, 0, 0, NFT_SET_ELEM_INTERVAL_END);
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			elems_end(nat, &m);
	}
	if (m.nlh)
		elems_end(nat, &m);
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
	struct elem_msg m = { 0 };

	for (i = 0; i < nat->cfg.nsvcports; i++) {
		const fg_nat_svcport_t *e = &nat->cfg.svcports[i];
		uint8_t k[24], ke[24];
		size_t kl;

		if (e->family != family)
			continue;
		if (!m.nlh && elems_start(nat, &m, NFT_MSG_NEWSETELEM, set) < 0)
			return -ENOMEM;
		/* pipapo: one element covers key .. key_end field by field */
		kl = svcport_key(k, alen, e->first, e->proto_first, e->port_first);
		svcport_key(ke, alen, e->last, e->proto_last, e->port_last);
		elem_put(m.nlh, k, kl, ke, NULL, 0, 0, 0);
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			elems_end(nat, &m);
	}
	if (m.nlh)
		elems_end(nat, &m);
	return 0;
}

/* ------------------------------------------------------------------ commit */

/* Grant maps (dumped), then the per-address backend map (not dumped). */
enum { G_CLIENT, G_NET, G_ANY, G_NGRANT, G_BACKEND = G_NGRANT, G_NGROUPS };
static const char *const g_base[G_NGROUPS] = { "grant_client", "grant_net", "grant_any", "backend" };

static uint64_t pin_ms_of(const struct fg_nat *nat)
{
	return nat->cfg.pin_ms ? nat->cfg.pin_ms : 60000;
}

/* Key of grant g in its map; key_end for NET; returns the key length. */
static size_t grant_key(const fg_grant_t *g, uint8_t *key, uint8_t *kend)
{
	size_t alen = fg_nft_alen(g->family);

	if (g->scope == FG_SCOPE_ANY) {
		memcpy(key, g->addr, alen);
		return alen;
	}
	memcpy(key, g->client, alen);
	memcpy(key + alen, g->addr, alen);
	if (g->scope == FG_SCOPE_NET) {
		/* first . addr  ..  last . addr: the prefix as an interval in
		 * the first field, the exact address in the second. */
		size_t i;

		memcpy(kend, key, 2 * alen);
		for (i = 0; i < alen * 8; i++) {
			uint8_t bit = (uint8_t)(0x80 >> (i % 8));

			if (i < g->client_plen)
				continue;
			key[i / 8] &= (uint8_t)~bit;
			kend[i / 8] |= bit;
		}
	}
	return 2 * alen;
}

static int grant_check(const struct fg_nat *nat, const fg_grant_t *g)
{
	int rc = fg_nat_grant_allowed(&nat->cfg, g);

	if (rc == -EPERM) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		addr_str(g->family, g->addr, a, sizeof(a));
		addr_str(g->family, g->backend, b, sizeof(b));
		log_err("nft commit: refused grant for %s: backend %s@%u is not configured "
			"for that address", a, b, (unsigned)g->backend_port);
	}
	return rc;
}

/* Which grant each element of the batch came from, to name a refused one. */
struct commit_track {
	const fg_grant_t **elem;   /* k-th element emitted -> grant */
	size_t nelem;
	struct { uint32_t seq; size_t first; } *msg;
	size_t nmsg, capmsg;
	const fg_grant_t *bad;
};

static int track_msg(struct commit_track *t, uint32_t seq)
{
	if (t->nmsg == t->capmsg) {
		size_t nc = t->capmsg ? t->capmsg * 2 : 16;
		void *p = realloc(t->msg, nc * sizeof(*t->msg));

		if (!p)
			return -ENOMEM;
		t->msg = p;
		t->capmsg = nc;
	}
	t->msg[t->nmsg].seq = seq;
	t->msg[t->nmsg].first = t->nelem;
	t->nmsg++;
	return 0;
}

static void track_bad(void *ctx, uint32_t seq, int index, int err)
{
	struct commit_track *t = ctx;
	size_t i;

	(void)err;
	for (i = 0; i < t->nmsg; i++)
		if (t->msg[i].seq == seq && t->msg[i].first + (size_t)index < t->nelem) {
			t->bad = t->elem[t->msg[i].first + (size_t)index];
			return;
		}
}

/* Emit every grant of (family, group) into messages of type `type`. */
static int emit_group(struct fg_nat *nat, const fg_grant_t *g, size_t n, int family,
		      int group, uint16_t type, struct commit_track *t)
{
	struct elem_msg m = { 0 };
	char set[32];
	size_t i, alen = fg_nft_alen(family);

	fg_nft_set_name(set, sizeof(set), g_base[group], family);
	for (i = 0; i < n; i++) {
		uint8_t key[32], kend[32];
		size_t klen;
		uint64_t timeout = g[i].timeout_ms;
		const fg_grant_t *bg = &g[i];     /* whose backend */
		uint8_t data[FG_NFT_BLEN(16)];
		int gr = g[i].scope == FG_SCOPE_CLIENT ? G_CLIENT :
			 g[i].scope == FG_SCOPE_NET ? G_NET : G_ANY;

		if (g[i].family != family)
			continue;
		if (group == G_BACKEND) {
			/* One element per address and batch: the latest
			 * grant's backend, the longest timeout, plus the pin
			 * lifetime (pins made during a grant may outlive it). */
			size_t j;

			for (j = 0; j < i; j++)
				if (g[j].family == family && !memcmp(g[j].addr, g[i].addr, alen))
					break;
			if (j < i)
				continue;
			for (j = i + 1; j < n; j++)
				if (g[j].family == family && !memcmp(g[j].addr, g[i].addr, alen)) {
					if (g[j].timeout_ms > timeout)
						timeout = g[j].timeout_ms;
					bg = &g[j];
				}
			timeout += pin_ms_of(nat);
			memcpy(key, g[i].addr, alen);
			klen = alen;
		} else if (gr != group) {
			continue;
		} else {
			klen = grant_key(&g[i], key, kend);
		}
		if (!m.nlh) {
			if (elems_start(nat, &m, type, set) < 0)
				return -ENOMEM;
			if (track_msg(t, m.nlh->nlmsg_seq) < 0)
				return -ENOMEM;
		}
		memset(data, 0, sizeof(data));
		memcpy(data, bg->backend, alen);
		data[alen] = (uint8_t)(bg->backend_port >> 8);
		data[alen + 1] = (uint8_t)bg->backend_port;
		if (type == NFT_MSG_NEWSETELEM)
			elem_put(m.nlh, key, klen, group == G_NET ? kend : NULL,
				 data, FG_NFT_BLEN(alen), timeout, 0);
		else
			elem_put(m.nlh, key, klen, group == G_NET ? kend : NULL,
				 NULL, 0, 0, 0);
		t->elem[t->nelem++] = &g[i];
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			elems_end(nat, &m);
	}
	if (m.nlh)
		elems_end(nat, &m);
	return 0;
}

static int commit_once(struct fg_nat *nat, const fg_grant_t *g, size_t n, bool replace,
		       int *kerr, struct commit_track *t)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	int f, grp, rc;

	t->nelem = 0;
	t->nmsg = 0;
	t->bad = NULL;
	fg_nft_batch_begin(nat);
	for (f = 0; f < 2; f++)
		for (grp = 0; grp < G_NGROUPS; grp++) {
			/* Replace mode: an element whose backend changed
			 * cannot be re-added (EEXIST); destroy it first in the
			 * same transaction, so no window opens. */
			if (replace &&
			    (rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_DESTROYSETELEM, t)) < 0)
				return rc;
			if ((rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_NEWSETELEM, t)) < 0)
				return rc;
		}
	return batch_send_ex(nat, replace ? "commit (replace)" : "commit", kerr, track_bad, t,
			     replace ? 0 : EEXIST);
}

static int nft_commit(fg_nat_t *nat, const fg_grant_t *g, size_t n)
{
	struct commit_track t = { 0 };
	int rc, kerr = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((rc = grant_check(nat, &g[i])) < 0)
			return rc;
	/* each grant: its map element and its backend element, each possibly
	 * destroyed then added (replace mode) */
	if (nat->trk_elem_cap < 4 * n) {
		const fg_grant_t **ne = realloc(nat->trk_elem, 4 * n * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		nat->trk_elem = ne;
		nat->trk_elem_cap = 4 * n;
	}
	t.elem = nat->trk_elem;
	t.msg = nat->trk_msg;
	t.capmsg = nat->trk_msg_cap;
	rc = commit_once(nat, g, n, false, &kerr, &t);
	if (rc == -FG_ENETLINK && kerr == EEXIST) {
		/* Same key, other backend: the address was re-mapped while a
		 * grant on it lives. Rare; pay the destroy only now. */
		log_debug("nft commit: key clash, retrying with replace");
		rc = commit_once(nat, g, n, true, &kerr, &t);
	}
	if (rc < 0 && t.bad) {
		char c[INET6_ADDRSTRLEN], a[INET6_ADDRSTRLEN];

		addr_str(t.bad->family, t.bad->client, c, sizeof(c));
		addr_str(t.bad->family, t.bad->addr, a, sizeof(a));
		log_err("nft commit: refused grant scope %u client %s/%u addr %s",
			(unsigned)t.bad->scope, t.bad->scope == FG_SCOPE_ANY ? "*" : c,
			(unsigned)t.bad->client_plen, a);
	}
	nat->trk_msg = t.msg;      /* grown by track_msg(), kept */
	nat->trk_msg_cap = t.capmsg;
	return rc;
}

/* Delete the grant elements of g[] in one transaction (DESTROY: an absent
 * or expired one is no error). The backend elements stay: other grants of
 * the address may use them, and alone they open nothing. */
static int nft_revoke(fg_nat_t *nat, const fg_grant_t *g, size_t n)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct commit_track t = { 0 };
	int rc = 0, kerr = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((rc = grant_check(nat, &g[i])) < 0)
			return rc;
	t.elem = malloc(n * sizeof(*t.elem));
	if (!t.elem)
		return -ENOMEM;
	fg_nft_batch_begin(nat);
	for (int f = 0; f < 2 && rc == 0; f++)
		for (int grp = G_CLIENT; grp <= G_ANY && rc == 0; grp++)
			rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_DESTROYSETELEM, &t);
	if (rc == 0)
		rc = batch_send_ex(nat, "revoke", &kerr, track_bad, &t, 0);
	free(t.msg);
	free(t.elem);
	return rc;
}

/* -------------------------------------------------------------------- dump */

struct dump_ctx {
	int family;
	int group;
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
		if (d->group == G_ANY) {
			if (kl < alen)
				continue;
			g.scope = FG_SCOPE_ANY;
			memcpy(g.addr, k, alen);
		} else {
			if (kl < 2 * alen)
				continue;
			memcpy(g.client, k, alen);
			memcpy(g.addr, k + alen, alen);
			if (d->group == G_NET) {
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

/* Dump every element of set `set` (GETSETELEM), handing each answer
 * message to `cb`. `*cb_err` is the callback's own error, if it set one. */
static int get_elems(struct fg_nat *nat, const char *set, mnl_cb_t cb, void *data,
		     const int *cb_err)
{
	char *buf = fg_nft_batch_tail(nat);
	struct nlmsghdr *nlh;
	uint32_t seq;
	int rc;

	if (!buf)
		return -ENOMEM;
	seq = ++nat->seq;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_DUMP | NLM_F_ACK, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, nat->table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if (mnl_socket_sendto(nat->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nat->nl, nat->rbuf, nat->rbuf_len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("nft dump %s: recv: %s", set, strerror(errno));
			return -errno;
		}
		rc = mnl_cb_run(nat->rbuf, (size_t)n, seq, nat->portid, cb, data);
		if (rc == MNL_CB_STOP)
			break;
		if (rc < 0) {
			if (*cb_err)
				return *cb_err;
			log_err("nft dump %s: %s", set, strerror(errno));
			return -FG_ENETLINK;
		}
	}
	return *cb_err;
}

static int dump_set(struct fg_nat *nat, int family, int group, fg_nat_dump_fn fn, void *ctx)
{
	struct dump_ctx d = { .family = family, .group = group, .fn = fn, .ctx = ctx };
	char set[32];

	fg_nft_set_name(set, sizeof(set), g_base[group], family);
	return get_elems(nat, set, dump_elem_cb, &d, &d.err);
}

static int nft_dump(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	int f, grp, rc;

	for (f = 0; f < 2; f++)
		for (grp = 0; grp < G_NGRANT; grp++)
			if ((rc = dump_set(nat, fams[f], grp, fn, ctx)) < 0)
				return rc;
	return 0;
}

/* The kernel cannot resume a set dump: each message of one walks the set
 * from its start, so a dump costs time quadratic in the set's size (most of
 * a minute at 1M). Restart recovery needs only the anyone grants; the
 * client and subnet maps, however big, are not read. */
static int nft_dump_any(fg_nat_t *nat, fg_nat_dump_fn fn, void *ctx)
{
	int rc = dump_set(nat, AF_INET, G_ANY, fn, ctx);

	return rc < 0 ? rc : dump_set(nat, AF_INET6, G_ANY, fn, ctx);
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

static int count_set(struct fg_nat *nat, const char *base, int family, uint64_t *out)
{
	struct count_ctx c = { 0 };
	char set[32];
	int rc;

	fg_nft_set_name(set, sizeof(set), base, family);
	rc = get_elems(nat, set, count_elem_cb, &c, &c.err);
	if (rc == 0)
		*out += c.n;
	return rc;
}

_Static_assert((int)G_CLIENT == (int)FG_SCOPE_CLIENT && (int)G_NET == (int)FG_SCOPE_NET &&
	       (int)G_ANY == (int)FG_SCOPE_ANY,
	       "grant groups index fg_nat_counts_t.grants by scope");

static int nft_count(fg_nat_t *nat, fg_nat_counts_t *out)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	fg_nat_counts_t c;
	int f, grp, rc;

	memset(&c, 0, sizeof(c));
	for (f = 0; f < 2; f++) {
		for (grp = 0; grp < G_NGRANT; grp++)
			if ((rc = count_set(nat, g_base[grp], fams[f], &c.grants[grp])) < 0)
				return rc;
		if ((rc = count_set(nat, "pinned", fams[f], &c.pinned)) < 0 ||
		    (rc = count_set(nat, "quarantine", fams[f], &c.quarantined)) < 0)
			return rc;
	}
	*out = c;
	return 0;
}

/* -------------------------------------------------------------- quarantine */

static int quarantine_msg(struct fg_nat *nat, uint16_t type, int family,
			  const uint8_t *src, uint32_t timeout_ms)
{
	struct elem_msg m = { 0 };
	char set[32];

	fg_nft_set_name(set, sizeof(set), "quarantine", family);
	fg_nft_batch_begin(nat);
	if (elems_start(nat, &m, type, set) < 0)
		return -ENOMEM;
	elem_put(m.nlh, src, fg_nft_alen(family), NULL, NULL, 0,
		 type == NFT_MSG_NEWSETELEM ? timeout_ms : 0, 0);
	elems_end(nat, &m);
	return fg_nft_batch_send(nat, type == NFT_MSG_NEWSETELEM ? "quarantine" : "release", NULL);
}

static int nft_quarantine(fg_nat_t *nat, int family, const uint8_t *src, uint32_t timeout_ms)
{
	int rc;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	/* Set first, then conntrack: once the element is in, no packet of
	 * src can re-open an authorized flow, so the flows we kill stay
	 * dead (their next packets go to the decoys, which reset them). */
	rc = quarantine_msg(nat, NFT_MSG_NEWSETELEM, family, src, timeout_ms);
	if (rc < 0)
		return rc;
	rc = fg_ct_kill_src(family, src, nat->pools, nat->cfg.npools);
	if (rc < 0)
		log_warn("quarantine: conntrack flush failed: %s", fg_strerror(rc));
	return rc < 0 ? rc : 0;
}

static int nft_release(fg_nat_t *nat, int family, const uint8_t *src)
{
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	/* DESTROY: releasing a source that is not quarantined is no error. */
	return quarantine_msg(nat, NFT_MSG_DESTROYSETELEM, family, src, 0);
}

/* ------------------------------------------------------------ setup/destroy */

static void *dup_array(const void *a, size_t n, size_t size, int *err)
{
	void *p;

	if (!n)
		return NULL;
	if (!(p = calloc(n, size))) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(p, a, n * size);
	return p;
}

static int copy_cfg(struct fg_nat *nat, const fg_nat_config_t *cfg)
{
	fg_nat_prefix_t *p;
	fg_nat_svcport_t *sp;
	fg_nat_listen_t *l;
	fg_nat_backend_t *be;
	fg_nat_prefix_t *pm;
	int err = 0;

	if (!cfg || !cfg->table || !cfg->table[0] || strlen(cfg->table) >= sizeof(nat->table))
		return -EINVAL;
	p = dup_array(cfg->pools, cfg->npools, sizeof(*p), &err);
	sp = dup_array(cfg->svcports, cfg->nsvcports, sizeof(*sp), &err);
	l = dup_array(cfg->listen, cfg->nlisten, sizeof(*l), &err);
	be = dup_array(cfg->backends, cfg->nbackends, sizeof(*be), &err);
	pm = dup_array(cfg->portmap, cfg->nportmap, sizeof(*pm), &err);
	if (err) {
		free(pm);
		free(p);
		free(sp);
		free(l);
		free(be);
		return err;
	}
	free(nat->pools);
	free(nat->svcports);
	free(nat->listen);
	free(nat->backends);
	free(nat->portmap);
	nat->pools = p;
	nat->svcports = sp;
	nat->listen = l;
	nat->backends = be;
	nat->portmap = pm;
	nat->cfg = *cfg;
	nat->cfg.pools = p;
	nat->cfg.svcports = sp;
	nat->cfg.listen = l;
	nat->cfg.backends = be;
	nat->cfg.portmap = pm;
	snprintf(nat->table, sizeof(nat->table), "%s", cfg->table);
	nat->cfg.table = nat->table;
	return 0;
}

struct mark_ctx {
	const struct fg_nat *nat;
	unsigned rules;
	bool match;
	int err;            /* never set */
};

static int mark_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct mark_ctx *m = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint32_t len = 0;
	const void *ud;

	if (!r)
		return MNL_CB_OK;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
		m->rules++;
		ud = nftnl_rule_is_set(r, NFTNL_RULE_USERDATA) ?
			nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len) : NULL;
		if (ud && len == m->nat->mark_len && !memcmp(ud, m->nat->mark, len))
			m->match = true;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Does the kernel's mark chain hold exactly the mark of the batch just
 * built? Any error (no table, no chain): no. */
static bool ruleset_marked(struct fg_nat *nat)
{
	struct mark_ctx m = { .nat = nat };
	char buf[512] = { 0 };    /* attribute padding goes out too */
	struct nlmsghdr *nlh;
	uint32_t seq = ++nat->seq;

	if (!nat->mark_len)
		return false;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, nat->table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, FG_NFT_MARK_CHAIN);
	if (mnl_socket_sendto(nat->nl, nlh, nlh->nlmsg_len) < 0)
		return false;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nat->nl, nat->rbuf, nat->rbuf_len);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		rc = mnl_cb_run(nat->rbuf, (size_t)n, seq, nat->portid, mark_rule_cb, &m);
		if (rc == MNL_CB_STOP)
			break;
		if (rc < 0)
			return false;
	}
	return m.match && m.rules == 1;
}

static int nft_setup(fg_nat_t *nat, const fg_nat_config_t *cfg)
{
	int rc, kerr = 0;

	if ((rc = copy_cfg(nat, cfg)) < 0)
		return rc;
	if (!cfg->ports_set)
		log_warn("nft setup: no port filter in this data plane config (not made by "
			 "fg_nat_config_build()): a grant opens every port of its backend");
	fg_nft_batch_begin(nat);
	if ((rc = fg_nft_ruleset_build(nat)) < 0)
		return rc;
	/* the kernel holds this very ruleset (a restart): sending it again
	 * would rebind the grant maps, which the kernel walks element by
	 * element under its commit lock (seconds at a million grants) */
	if (ruleset_marked(nat))
		log_info("nft setup: table inet %s already holds this ruleset: nothing written",
			 nat->table);
	else if ((rc = fg_nft_batch_send(nat, "setup", &kerr)) < 0) {
		/* sets are created without EXCL: EEXIST means one exists with
		 * another shape (a table of an older release) */
		if (kerr == EEXIST)
			log_err("nft setup: table inet %s holds a set of another layout (older "
				"release?); remove the table to start afresh (its grants are lost)",
				nat->table);
		return rc;
	}
	if ((rc = fg_route_setup(&nat->cfg)) < 0)
		return rc;
	fg_dp_check_sysctls(&nat->cfg);
	return 0;
}

static int nft_destroy(fg_nat_t *nat)
{
	struct nlmsghdr *nlh;
	char *tail;
	int rc, rc2;

	fg_nft_batch_begin(nat);
	if (!(tail = fg_nft_batch_tail(nat)))
		return -ENOMEM;
	/* DESTROY, not DEL: removing an absent table is no error. */
	nlh = nftnl_nlmsg_build_hdr(tail, NFT_MSG_DESTROYTABLE, NFPROTO_INET,
				    NLM_F_ACK, fg_nft_batch_seq(nat));
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, nat->table);
	fg_nft_batch_commit_msg(nat);
	rc = fg_nft_batch_send(nat, "destroy", NULL);
	rc2 = fg_route_destroy(&nat->cfg);
	return rc < 0 ? rc : rc2;
}

/* ---------------------------------------------------------------- open/close */

static void nft_close(fg_nat_t *nat)
{
	if (!nat)
		return;
	if (nat->nl)
		mnl_socket_close(nat->nl);
	free(nat->b.buf);
	free(nat->rbuf);
	free(nat->trk_elem);
	free(nat->trk_msg);
	free(nat->pools);
	free(nat->svcports);
	free(nat->listen);
	free(nat->backends);
	free(nat->portmap);
	free(nat);
}

static int nft_open(const fg_nat_config_t *cfg, fg_nat_t **out)
{
	struct fg_nat *nat = calloc(1, sizeof(*nat));
	int rc;

	*out = NULL;
	if (!nat)
		return -ENOMEM;
	if ((rc = copy_cfg(nat, cfg)) < 0)
		goto fail;
	nat->rbuf_len = 256 * 1024; /* > MNL_SOCKET_BUFFER_SIZE: dumps batch answers */
	nat->rbuf = malloc(nat->rbuf_len);
	if (!nat->rbuf) {
		rc = -ENOMEM;
		goto fail;
	}
	/* Sequence numbers only need to differ between our batches; start
	 * from the clock so two handles' stale answers are never confused. */
	nat->seq = (uint32_t)time(NULL);
	if ((rc = sock_open(nat)) < 0) {
		log_err("nft: netlink socket: %s", strerror(-rc));
		goto fail;
	}
	*out = nat;
	return 0;
fail:
	nft_close(nat);
	return rc;
}

const fg_nat_ops_t fg_nat_nft_ops = {
	.name = "nft",
	.open = nft_open,
	.setup = nft_setup,
	.commit = nft_commit,
	.dump = nft_dump,
	.dump_any = nft_dump_any,
	.count = nft_count,
	.quarantine = nft_quarantine,
	.release = nft_release,
	.revoke = nft_revoke,
	.destroy = nft_destroy,
	.close = nft_close,
};
