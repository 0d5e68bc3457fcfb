/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * nftables backend, netlink transport: the handle's socket, the batch
 * under construction (BATCH_BEGIN, messages, BATCH_END in one sendmsg: one
 * kernel transaction), sending it and reading every answer with the
 * kernel's extended-ack reason and the element it blames, and the
 * GETSETELEM dump loop.
 *
 * Why the batch I/O is hand-rolled: a commit must not return before the
 * kernel acknowledged the whole transaction (grant before answer), and the
 * hot path must not allocate per element. Every message but BATCH_BEGIN/END
 * carries NLM_F_ACK; nfnetlink answers each of them (ACK or error) while
 * processing the sendmsg, so we read exactly that many answers.
 */
#include <poll.h>
#include <unistd.h>
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

#include "common/err.h"
#include "common/log.h"
#include "dataplane/nft_int.h"

size_t fg_nft_alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

void fg_nft_set_name(char *out, size_t outlen, const char *base, int family)
{
	snprintf(out, outlen, "%s%c", base, family == AF_INET6 ? '6' : '4');
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

int fg_nft_sock_open(struct fg_nat *nat)
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
int fg_nft_batch_send_ex(struct fg_nat *nat, const char *what, int *kerr,
			 fg_nft_bad_elem_fn bad, void *bctx, int quiet_err)
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
	return fg_nft_batch_send_ex(nat, what, kerr, NULL, NULL, 0);
}


/* --------------------------------------------------------------- dumping */

/* Dump every element of set `set` (GETSETELEM), handing each answer
 * message to `cb`. `*cb_err` is the callback's own error, if it set one. */
/* One request about set `set` (its table and name attributes: the same
 * numbers for GETSET and GETSETELEM), handing each answer message to `cb`
 * until the final ACK or NLMSG_DONE. */
static int set_request(struct fg_nat *nat, uint16_t type, uint16_t flags, const char *set,
		       mnl_cb_t cb, void *data, const int *cb_err)
{
	char *buf = fg_nft_batch_tail(nat);
	struct nlmsghdr *nlh;
	uint32_t seq;
	int rc;

	if (!buf)
		return -ENOMEM;
	seq = ++nat->seq;
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, seq);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, nat->table);
	if (set)
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	else
		set = "sets";  /* for the log lines */
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
			/* no table yet (a first start asking for its sets) */
			if (errno == ENOENT && type == NFT_MSG_GETSET && (flags & NLM_F_DUMP))
				return -ENOENT;
			log_err("nft dump %s: %s", set, strerror(errno));
			return -FG_ENETLINK;
		}
	}
	return *cb_err;
}

int fg_nft_get_elems(struct fg_nat *nat, const char *set, mnl_cb_t cb, void *data,
		     const int *cb_err)
{
	return set_request(nat, NFT_MSG_GETSETELEM, NLM_F_DUMP, set, cb, data, cb_err);
}

int fg_nft_get_set(struct fg_nat *nat, const char *set, mnl_cb_t cb, void *data,
		   const int *cb_err)
{
	return set_request(nat, NFT_MSG_GETSET, 0, set, cb, data, cb_err);
}


int fg_nft_get_sets(struct fg_nat *nat, mnl_cb_t cb, void *data, const int *cb_err)
{
	return set_request(nat, NFT_MSG_GETSET, NLM_F_DUMP, NULL, cb, data, cb_err);
}
