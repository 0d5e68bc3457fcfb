/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Revocation of live flows (libnetfilter_conntrack). Deleting a grant does
 * not cut a flow: conntrack keeps its NAT binding for days. Quarantine
 * therefore deletes the entries a source opened towards the pool; the
 * flow's next packets meet the quarantine rule, go to the decoys untracked
 * and are reset there.
 *
 * Only flows towards pool addresses are cut (the original destination of a
 * DNATed flow is the pool address): a quarantined host may have unrelated
 * flows through the same box that are none of fluxgate's business.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "common/log.h"
#include "dataplane/dp_int.h"

struct kill_ctx {
	int family;
	size_t alen;
	const uint8_t *src;
	const fg_nat_prefix_t *pools;
	size_t npools;
	struct nf_conntrack **hit;   /* stolen entries to delete after the dump */
	size_t nhit, cap;
	int err;
};

static bool in_pools(const struct kill_ctx *k, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < k->npools; i++) {
		const fg_nat_prefix_t *p = &k->pools[i];

		if (p->family == k->family &&
		    memcmp(a, p->first, k->alen) >= 0 && memcmp(a, p->last, k->alen) <= 0)
			return true;
	}
	return false;
}

static int dump_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct kill_ctx *k = data;
	const void *src, *dst;

	(void)type;
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != k->family)
		return NFCT_CB_CONTINUE;
	if (k->family == AF_INET) {
		src = nfct_get_attr(ct, ATTR_ORIG_IPV4_SRC);
		dst = nfct_get_attr(ct, ATTR_ORIG_IPV4_DST);
	} else {
		src = nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC);
		dst = nfct_get_attr(ct, ATTR_ORIG_IPV6_DST);
	}
	if (!src || !dst || memcmp(src, k->src, k->alen) != 0 || !in_pools(k, dst))
		return NFCT_CB_CONTINUE;
	if (k->nhit == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 16;
		void *p = realloc(k->hit, nc * sizeof(*k->hit));

		if (!p) {
			k->err = -ENOMEM;
			return NFCT_CB_STOP;
		}
		k->hit = p;
		k->cap = nc;
	}
	k->hit[k->nhit++] = ct;
	return NFCT_CB_STOLEN;
}

int fg_ct_kill_src(int family, const uint8_t *src, const fg_nat_prefix_t *pools, size_t npools)
{
	struct kill_ctx k = {
		.family = family, .alen = family == AF_INET6 ? 16 : 4,
		.src = src, .pools = pools, .npools = npools,
	};
	struct nfct_handle *h;
	struct nfct_filter_dump *fd;
	size_t i;
	int rc = 0, killed = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	h = nfct_open(CONNTRACK, 0);
	if (!h)
		return -errno;
	nfct_callback_register(h, NFCT_T_ALL, dump_cb, &k);
	/* The kernel filters by family; source and pool are matched here
	 * (this libnetfilter_conntrack has no tuple filter for dumps). */
	fd = nfct_filter_dump_create();
	if (!fd) {
		nfct_close(h);
		return -ENOMEM;
	}
	nfct_filter_dump_set_attr_u8(fd, NFCT_FILTER_DUMP_L3NUM, (uint8_t)family);
	if (nfct_query(h, NFCT_Q_DUMP_FILTER, fd) < 0 && !k.err) {
		rc = -errno;
		log_err("conntrack dump: %s", strerror(errno));
	}
	nfct_filter_dump_destroy(fd);
	nfct_callback_unregister(h);
	for (i = 0; i < k.nhit; i++) {
		/* ENOENT: the flow ended meanwhile, which is what we wanted. */
		if (rc == 0 && nfct_query(h, NFCT_Q_DESTROY, k.hit[i]) < 0 && errno != ENOENT) {
			rc = -errno;
			log_err("conntrack delete: %s", strerror(errno));
		} else if (rc == 0) {
			killed++;
		}
		nfct_destroy(k.hit[i]);
	}
	free(k.hit);
	nfct_close(h);
	if (k.err)
		return k.err;
	return rc < 0 ? rc : killed;
}
