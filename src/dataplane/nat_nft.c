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

static int addr_str(int family, const uint8_t *a, char *out, size_t outlen)
{
	if (!inet_ntop(family, a, out, (socklen_t)outlen))
		snprintf(out, outlen, "?");
	return 0;
}

/* ------------------------------------------------------------------ commit */

static uint64_t pin_ms_of(const struct fg_nat *nat)
{
	return nat->cfg.pin_ms ? nat->cfg.pin_ms : 60000;
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
	struct fg_nft_elem_msg m = { 0 };
	char set[32];
	size_t i, alen = fg_nft_alen(family);

	fg_nft_group_set(set, sizeof(set), group, family, fg_nft_hash_plen(&nat->cfg, family));
	for (i = 0; i < n; i++) {
		uint8_t key[32], kend[32];
		size_t klen;
		uint64_t timeout = g[i].timeout_ms;
		const fg_grant_t *bg = &g[i];     /* whose backend */
		uint8_t data[FG_NFT_BLEN(16)];
		int gr = fg_nft_grant_group(&nat->cfg, &g[i]);

		if (g[i].family != family)
			continue;
		if (group == FG_NFT_G_BACKEND) {
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
			timeout += pin_ms_of(nat) + nat->extra_ms;
			memcpy(key, g[i].addr, alen);
			klen = alen;
		} else if (gr != group) {
			continue;
		} else {
			klen = fg_nft_grant_key(&g[i], group, key, kend);
			if (group == FG_NFT_G_CLIENT)
				timeout += nat->extra_ms;   /* the reaper's backstop */
		}
		if (!m.nlh) {
			if (fg_nft_elems_start(nat, &m, type, set) < 0)
				return -ENOMEM;
			if (track_msg(t, m.nlh->nlmsg_seq) < 0)
				return -ENOMEM;
		}
		memset(data, 0, sizeof(data));
		memcpy(data, bg->backend, alen);
		data[alen] = (uint8_t)(bg->backend_port >> 8);
		data[alen + 1] = (uint8_t)bg->backend_port;
		if (type == NFT_MSG_NEWSETELEM)
			fg_nft_elem_put(m.nlh, key, klen, group == FG_NFT_G_NET ? kend : NULL,
				 data, FG_NFT_BLEN(alen), timeout, 0);
		else
			fg_nft_elem_put(m.nlh, key, klen, group == FG_NFT_G_NET ? kend : NULL,
				 NULL, 0, 0, 0);
		t->elem[t->nelem++] = &g[i];
		if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
			fg_nft_elems_end(nat, &m);
	}
	if (m.nlh)
		fg_nft_elems_end(nat, &m);
	return 0;
}

/* The kernel refused a grant with ENFILE: the map counts as full. Its
 * element count (nelems, what the size bound is checked against) includes
 * expired elements the set's GC has not removed yet, and the hash set's GC
 * walk (nft_rhash_gc) gives up whenever a transaction commits meanwhile
 * (nft_net->gc_seq moved), as do its queued batches (nft_trans_gc_work_done):
 * under a stream of frequent commits it collects next to nothing (issue
 * #12). The reaper (nft_reap.c) deletes exact grants itself then; a map
 * full all the same holds more live grants than its size, or grants the
 * reaper had no room to track. Say so, with the kernel's count against the
 * size, at most once a second per handle; the commit fails as before (no
 * answer without its grant). */
static void report_full(struct fg_nat *nat, const fg_grant_t *bad)
{
	static const char *const what[] = { "exact", "subnet", "open" };
	struct timespec ts;
	uint64_t now, kn = 0;
	int scope = bad ? bad->scope : FG_SCOPE_CLIENT;

	nat->full_refused++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (nat->full_logged_ms && now - nat->full_logged_ms < 1000)
		return;
	nat->full_logged_ms = now;
	if (scope < FG_SCOPE_CLIENT || scope > FG_SCOPE_ANY)
		scope = FG_SCOPE_CLIENT;
	/* both families: one request each (no walk) */
	if (fg_nft_kernel_count(nat, fg_nft_group_base[scope], AF_INET, &kn) < 0 ||
	    fg_nft_kernel_count(nat, fg_nft_group_base[scope], AF_INET6, &kn) < 0)
		kn = 0;
	log_err("nft commit: grant map full (ENFILE, %llu refused transactions): the kernel "
		"counts %llu elements of the %s grant maps (0: unknown) against nat.grant-set-size %u "
		"each: live grants, and expired ones its set GC has not removed (every commit aborts "
		"its walk; exact grants are deleted by fluxgated while commits come fast, %llu had no "
		"room in its reaper; bench/grant/RESULTS.md)", (unsigned long long)nat->full_refused,
		(unsigned long long)kn, what[scope], nat->cfg.grant_set_size,
		(unsigned long long)(nat->reap ? fg_nft_reap_dropped(nat->reap) : 0));
	nat->full_refused = 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void reap_take(void *ctx, int family, const uint8_t *key, size_t klen)
{
	struct fg_nat *nat = ctx;
	struct fg_nft_reap_del *d = &nat->del[nat->ndel++];

	d->fam = (uint8_t)family;
	d->klen = (uint8_t)klen;
	memcpy(d->key, key, klen);
}

/* Before a commit: count it, record the ends of its exact grants (with the
 * backstop margin on their kernel timeouts while reaping), take the due
 * deletions. A transaction carrying deletions keeps the reaper locked
 * until reap_end(): no renewal of those keys may commit in between. The
 * recorded end is the grant's timeout from now, before the transaction:
 * the answer's promise was made earlier still, so a deletion at that end
 * never ends a grant before its promised lifetime. */
static void reap_begin(struct fg_nat *nat, const fg_grant_t *g, size_t n)
{
	uint64_t now = mono_ms();
	bool busy;

	nat->ndel = 0;
	nat->extra_ms = 0;
	if (!nat->reap)
		return;
	fg_nft_reap_lock(nat->reap);
	busy = fg_nft_reap_commit(nat->reap, now);
	if (busy)
		nat->extra_ms = FG_NFT_REAP_MARGIN_MS;
	for (size_t i = 0; i < n; i++) {
		uint8_t key[32], kend[32];
		size_t klen;

		if (g[i].scope != FG_SCOPE_CLIENT || !g[i].timeout_ms)
			continue;
		klen = fg_nft_grant_key(&g[i], FG_NFT_G_CLIENT, key, kend);
		fg_nft_reap_record(nat->reap, g[i].family, key, klen, now + g[i].timeout_ms, busy);
	}
	if (nat->del || (nat->del = malloc(FG_NFT_REAP_MAX * sizeof(*nat->del))))
		fg_nft_reap_due(nat->reap, now, reap_take, nat, FG_NFT_REAP_MAX);
	if (!nat->ndel)
		fg_nft_reap_unlock(nat->reap);
}

/* After it: a transaction refused for a full map deleted nothing; its
 * deletions are due again (the next transaction of any handle carries
 * them: they free the room it lacked). After any other failure they are
 * dropped, so that they cannot fail every later transaction too: their
 * kernel timeouts end those grants. */
static void reap_end(struct fg_nat *nat, int rc, int kerr)
{
	if (!nat->reap || !nat->ndel)
		return;
	if (rc == -FG_ENETLINK && kerr == ENFILE) {
		uint64_t now = mono_ms();

		for (size_t i = 0; i < nat->ndel; i++)
			fg_nft_reap_record(nat->reap, nat->del[i].fam, nat->del[i].key,
					   nat->del[i].klen, now, true);
	}
	nat->ndel = 0;
	fg_nft_reap_unlock(nat->reap);
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
	/* the reaper's deletions first: their slots count as free for the
	 * inserts of the same transaction (the kernel's size check allows
	 * for elements this transaction deactivates) */
	for (f = 0; f < 2; f++) {
		struct fg_nft_elem_msg m = { 0 };
		char set[32];

		fg_nft_set_name(set, sizeof(set), fg_nft_group_base[FG_NFT_G_CLIENT], fams[f]);
		for (size_t i = 0; i < nat->ndel; i++) {
			if (nat->del[i].fam != fams[f])
				continue;
			if (!m.nlh) {
				if (fg_nft_elems_start(nat, &m, NFT_MSG_DESTROYSETELEM, set) < 0)
					return -ENOMEM;
				if (track_msg(t, m.nlh->nlmsg_seq) < 0)
					return -ENOMEM;
			}
			fg_nft_elem_put(m.nlh, nat->del[i].key, nat->del[i].klen, NULL, NULL, 0, 0, 0);
			t->elem[t->nelem++] = NULL;
			if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
				fg_nft_elems_end(nat, &m);
		}
		if (m.nlh)
			fg_nft_elems_end(nat, &m);
	}
	for (f = 0; f < 2; f++)
		for (grp = 0; grp < FG_NFT_NGROUPS; grp++) {
			/* Replace mode: an element whose backend changed
			 * cannot be re-added (EEXIST); destroy it first in the
			 * same transaction, so no window opens. */
			if (replace &&
			    (rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_DESTROYSETELEM, t)) < 0)
				return rc;
			if ((rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_NEWSETELEM, t)) < 0)
				return rc;
		}
	return fg_nft_batch_send_ex(nat, replace ? "commit (replace)" : "commit", kerr, track_bad, t,
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
	 * destroyed then added (replace mode); and the reaper's deletions */
	if (nat->trk_elem_cap < 4 * n + FG_NFT_REAP_MAX) {
		const fg_grant_t **ne = realloc(nat->trk_elem,
						(4 * n + FG_NFT_REAP_MAX) * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		nat->trk_elem = ne;
		nat->trk_elem_cap = 4 * n + FG_NFT_REAP_MAX;
	}
	reap_begin(nat, g, n);
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
	reap_end(nat, rc, kerr);
	if (rc == -FG_ENETLINK && kerr == ENFILE)
		report_full(nat, t.bad);
	else if (rc < 0 && t.bad) {
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
		for (int grp = FG_NFT_G_CLIENT; grp < FG_NFT_G_NGRANT && rc == 0; grp++)
			rc = emit_group(nat, g, n, fams[f], grp, NFT_MSG_DESTROYSETELEM, &t);
	if (rc == 0)
		rc = fg_nft_batch_send_ex(nat, "revoke", &kerr, track_bad, &t, 0);
	free(t.msg);
	free(t.elem);
	return rc;
}

/* -------------------------------------------------------------- quarantine */

static int quarantine_msg(struct fg_nat *nat, uint16_t type, int family,
			  const uint8_t *src, uint32_t timeout_ms)
{
	struct fg_nft_elem_msg m = { 0 };
	char set[32];

	fg_nft_set_name(set, sizeof(set), "quarantine", family);
	fg_nft_batch_begin(nat);
	if (fg_nft_elems_start(nat, &m, type, set) < 0)
		return -ENOMEM;
	fg_nft_elem_put(m.nlh, src, fg_nft_alen(family), NULL, NULL, 0,
		 type == NFT_MSG_NEWSETELEM ? timeout_ms : 0, 0);
	fg_nft_elems_end(nat, &m);
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
	fg_nft_reap_put(nat->reap);
	free(nat->del);
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
	if ((rc = fg_nft_sock_open(nat)) < 0) {
		log_err("nft: netlink socket: %s", strerror(-rc));
		goto fail;
	}
	/* without one (no memory) grants are only ended by their timeouts */
	nat->reap = fg_nft_reap_get(nat->table, cfg->grant_set_size);
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
	.dump = fg_nft_dump,
	.dump_any = fg_nft_dump_any,
	.count = fg_nft_count,
	.quarantine = nft_quarantine,
	.release = nft_release,
	.revoke = nft_revoke,
	.destroy = nft_destroy,
	.close = nft_close,
};
