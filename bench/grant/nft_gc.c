/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Does the kernel's set GC keep up with a stream of fresh, short-lived
 * grants? (issue #12). In a private network namespace (unshare: nothing
 * outside is touched), the nft backend's ruleset with a grant map of SIZE
 * elements; then, for SECS seconds, transactions of BATCH fresh exact
 * grants (never the same client twice), each with a TIMEOUT_MS kernel
 * timeout, paced to RATE grants/s (0: as fast as the kernel takes them).
 * Every IDLE_PERIOD_MS the stream pauses IDLE_MS (0 0: never), to see
 * whether a commit-free window lets the GC catch up.
 *
 * With DEL_MS > 0, the program deletes each grant itself DEL_MS after its
 * insert (DESTROYSETELEM, in the next insert transaction: no extra
 * commit), the way a backend that ends its grants would; TIMEOUT_MS is
 * then only the backstop.
 *
 * With OPS = 1, the grants go through the backend's commit (fg_nat_nft_ops:
 * what fluxgated's privileged process runs, its reaper included) rather
 * than raw batches; DEL_MS is then ignored (the backend decides).
 *
 * In that mode, and with DEL_MS, the program also checks, every 100 ms, that the grant
 * whose intended end is 100 ms away is still in the kernel (a single
 * element GETSETELEM): the backend must never end a grant early. TOTAL
 * (0: none) stops the run after that many grants.
 *
 * Every 500 ms one line: time, grants sent, ENFILE refusals, the kernel's
 * element count of the map (NFTA_SET_COUNT: live plus expired elements
 * not collected yet) and the live count the timeouts imply.
 *
 *   nft_gc RATE SECS [BATCH [TIMEOUT_MS [SIZE [IDLE_MS IDLE_PERIOD_MS [DEL_MS [OPS [TOTAL]]]]]]]]
 *   defaults: BATCH 64, TIMEOUT_MS 2000, SIZE 65536, no idle, no delete
 *
 * Exit status 0 when no transaction was refused, 3 when one was (ENFILE),
 * 4 when a probed grant was gone before its end, 1 on any other failure. Built by bench/grant/gc.sh.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/dp_int.h"
#include "dataplane/nat.h"
#include "dataplane/nft_int.h"

#define SET_COUNT_ATTR 20   /* NFTA_SET_COUNT (nft_dump.c) */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

struct cnt { long n; int err; };

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct cnt *c = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == SET_COUNT_ATTR &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			c->n = (long)ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static long kernel_count(struct fg_nat *nat, const char *set)
{
	struct cnt c = { -1, 0 };

	if (fg_nft_get_set(nat, set, count_cb, &c, &c.err) < 0)
		return -1;
	return c.n;
}

/* Key of the id-th grant: client 100.64.0.0/10 + id . pool address. */
static void key_of(unsigned long id, uint8_t key[8])
{
	uint32_t c = htonl(0x64400000u + (uint32_t)(id & 0x3fffff));
	uint32_t a = htonl(0xc6336400u + (uint32_t)((id >> 22) & 0xff));

	memcpy(key, &c, 4);
	memcpy(key + 4, &a, 4);
}

/* 1: the element of `key` is in set `set` of table `table`, 0: not, -1: error */
static int probe(struct mnl_socket *nl, const char *table, const char *set, const uint8_t key[8])
{
	static uint32_t seq = 1;
	char buf[8192];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nlmsghdr *nlh;
	int rc = -1;
	ssize_t n;

	if (!s || !e)
		goto out;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, 8);
	nftnl_set_elem_add(s, e);
	e = NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *err = mnl_nlmsg_get_payload(h);

			if (err->error == 0)
				break;              /* the ACK after the element */
			rc = err->error == -ENOENT ? 0 : -1;
			goto out;
		}
		rc = 1;                     /* the element */
	}
out:
	if (e)
		nftnl_set_elem_free(e);
	if (s)
		nftnl_set_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	double rate, secs, t0, next_report, t, idle_start;
	unsigned long batch = 64, timeout_ms = 2000, size = 65536, idle_ms = 0, idle_period = 0;
	unsigned long del_ms = 0, use_ops = 0, total = 0, probe_id = 0, probes = 0, missing = 0;
	struct mnl_socket *pnl = NULL;
	double next_probe;
	unsigned long id = 0, del_id = 0, sent = 0, enfile = 0, commits = 0, deleted = 0;
	double *sent_at;      /* send time of grant id (ring of 2^22) */
	fg_nat_prefix_t pool = { .family = AF_INET };
	fg_nat_config_t cfg = {
		.table = "fgbench", .pools = &pool, .npools = 1,
		.pin_ms = 60000, .pin_set_size = 65536, .decoy_mark = 0x666, .route_table = 4666,
	};
	const fg_nat_ops_t *ops = &fg_nat_nft_ops;
	fg_nat_t *nat;
	char set[32];
	long peak = 0;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: nft_gc RATE SECS [BATCH [TIMEOUT_MS [SIZE [IDLE_MS IDLE_PERIOD_MS [DEL_MS]]]]]\n");
		return 2;
	}
	rate = strtod(argv[1], NULL);
	secs = strtod(argv[2], NULL);
	if (argc > 3) batch = strtoul(argv[3], NULL, 0);
	if (argc > 4) timeout_ms = strtoul(argv[4], NULL, 0);
	if (argc > 5) size = strtoul(argv[5], NULL, 0);
	if (argc > 7) { idle_ms = strtoul(argv[6], NULL, 0); idle_period = strtoul(argv[7], NULL, 0); }
	if (argc > 8) del_ms = strtoul(argv[8], NULL, 0);
	if (argc > 9) use_ops = strtoul(argv[9], NULL, 0);
	if (argc > 10) total = strtoul(argv[10], NULL, 0);
	if (use_ops)
		del_ms = 0;
	if (!batch || batch > 512 || secs <= 0 || secs > 600) {
		fprintf(stderr, "BATCH 1..512, SECS 0..600\n");
		return 2;
	}
	fg_log_init("nft_gc", FG_LOG_WARN);
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	pool.first[0] = 198; pool.first[1] = 51; pool.first[2] = 100; pool.first[3] = 0;
	memcpy(pool.last, pool.first, 4);
	pool.last[3] = 255;
	cfg.grant_set_size = (uint32_t)size;
	sent_at = calloc(1ul << 22, sizeof(*sent_at));
	if (!sent_at || ops->open(&cfg, &nat) < 0 || (rc = ops->setup(nat, &cfg)) < 0) {
		fprintf(stderr, "open/setup failed\n");
		return 1;
	}
	fg_nft_set_name(set, sizeof(set), fg_nft_group_base[FG_NFT_G_CLIENT], AF_INET);
	if ((use_ops || del_ms) && ((pnl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
			mnl_socket_bind(pnl, 0, MNL_SOCKET_AUTOPID) < 0)) {
		perror("probe socket");
		return 1;
	}
	printf("rate %.0f/s for %.0f s, batch %lu, timeout %lu ms, size %lu, idle %lu ms every %lu ms, delete after %lu ms\n",
	       rate, secs, batch, timeout_ms, size, idle_ms, idle_period, del_ms);
	printf("%6s %9s %7s %8s %9s %8s\n", "t_s", "sent", "refused", "commits", "kernel_n", "live_n");
	t0 = now_s();
	next_report = t0 + 0.5;
	next_probe = t0 + 0.1;
	idle_start = t0 + (double)idle_period / 1000.0;
	for (;;) {
		struct fg_nft_elem_msg m = { 0 };
		uint8_t key[8], data[8] = { 10, 2, 0, 10, 0, 0, 0, 0 };
		unsigned long i;
		int kerr = 0;

		t = now_s();
		if ((use_ops || del_ms) && t >= next_probe && timeout_ms > 100) {
			/* the newest grant sent at least timeout - 100 ms ago */
			double cut = t - (double)(timeout_ms - 100) / 1000.0;

			while (probe_id + 1 < id && id - probe_id < (1ul << 22) &&
			       sent_at[(probe_id + 1) & ((1ul << 22) - 1)] <= cut)
				probe_id++;
			if (probe_id < id && sent_at[probe_id & ((1ul << 22) - 1)] <= cut &&
			    sent_at[probe_id & ((1ul << 22) - 1)] > cut - 0.05) {
				uint8_t pk[8];
				int pr;

				key_of(probe_id, pk);
				pr = probe(pnl, "fgbench", set, pk);
				/* one sent within the last 50 ms before the cut:
				 * its end is 50-100 ms away */
				if (pr == 0 && now_s() - sent_at[probe_id & ((1ul << 22) - 1)] <
						       (double)timeout_ms / 1000.0 - 0.01) {
					missing++;
					fprintf(stderr, "grant %lu gone %.0f ms before its end\n", probe_id,
						((double)timeout_ms / 1000.0 - (now_s() - sent_at[probe_id & ((1ul << 22) - 1)])) * 1000.0);
				}
				if (pr >= 0)
					probes++;
			}
			next_probe = t + 0.1;
		}
		if (t >= next_report || t - t0 >= secs || (total && sent >= total)) {
			long kn = kernel_count(nat, set);
			/* live: sent within the last timeout (or not deleted) */
			double span = (double)(del_ms ? del_ms : timeout_ms) / 1000.0;
			long live = (long)(rate > 0 ? rate * (t - t0 < span ? t - t0 : span) : 0);

			if (kn > peak)
				peak = kn;
			printf("%6.1f %9lu %7lu %8lu %9ld %8ld\n", t - t0, sent, enfile, commits, kn, live);
			fflush(stdout);
			next_report += 0.5;
			if (t - t0 >= secs || (total && sent >= total))
				break;
		}
		if (idle_ms && t >= idle_start) {
			sleep_until(t + (double)idle_ms / 1000.0);
			idle_start = now_s() + (double)idle_period / 1000.0;
			continue;
		}
		if (rate > 0)
			sleep_until(t0 + (double)sent / rate);
		if (use_ops) {
			fg_grant_t g[512];

			for (i = 0; i < batch; i++) {
				memset(&g[i], 0, sizeof(g[i]));
				key_of(id + i, key);
				g[i].family = AF_INET;
				g[i].scope = FG_SCOPE_CLIENT;
				g[i].client_plen = 32;
				memcpy(g[i].client, key, 4);
				memcpy(g[i].addr, key + 4, 4);
				memcpy(g[i].backend, data, 4);
				g[i].timeout_ms = (uint32_t)timeout_ms;
			}
			rc = ops->commit(nat, g, batch);
			commits++;
			t = now_s();
			for (i = 0; i < batch; i++)
				sent_at[(id + i) & ((1ul << 22) - 1)] = rc == 0 ? t : -1e9;
			if (rc == -FG_ENETLINK) {
				enfile++;      /* the backend logged the kernel's reason */
			} else if (rc < 0) {
				fprintf(stderr, "commit: %s\n", fg_strerror(rc));
				return 1;
			}
			id += batch;
			sent += batch;
			continue;
		}
		fg_nft_batch_begin(nat);
		if (del_ms) {
			/* the grants whose end has come, in the same transaction */
			double tn = now_s();

			while (del_id < id && tn - sent_at[del_id & ((1ul << 22) - 1)] >= (double)del_ms / 1000.0) {
				if (!m.nlh && fg_nft_elems_start(nat, &m, NFT_MSG_DESTROYSETELEM, set) < 0)
					return 1;
				key_of(del_id++, key);
				fg_nft_elem_put(m.nlh, key, 8, NULL, NULL, 0, 0, 0);
				deleted++;
				if (m.nlh->nlmsg_len > FG_NFT_MSG_SOFT)
					fg_nft_elems_end(nat, &m);
			}
			if (m.nlh)
				fg_nft_elems_end(nat, &m);
		}
		if (fg_nft_elems_start(nat, &m, NFT_MSG_NEWSETELEM, set) < 0)
			return 1;
		for (i = 0; i < batch; i++) {
			key_of(id + i, key);
			fg_nft_elem_put(m.nlh, key, 8, NULL, data, sizeof(data), timeout_ms, 0);
		}
		fg_nft_elems_end(nat, &m);
		rc = fg_nft_batch_send_ex(nat, "insert", &kerr, NULL, NULL, ENFILE);
		commits++;
		if (rc < 0 && kerr == ENFILE) {
			/* refused: those ids were never installed; a deletion
			 * of them later is harmless (DESTROY) */
			enfile++;
		} else if (rc < 0) {
			fprintf(stderr, "commit: %s (kernel %s)\n", fg_strerror(rc), strerror(kerr));
			return 1;
		}
		t = now_s();
		for (i = 0; i < batch; i++)
			sent_at[(id + i) & ((1ul << 22) - 1)] = t;
		id += batch;
		sent += batch;
		if (id - del_id >= (1ul << 22)) {
			fprintf(stderr, "more than 4M grants pending deletion\n");
			return 1;
		}
	}
	printf("sent %lu grants in %lu transactions (%.0f/s), %lu refused with ENFILE, deleted %lu, kernel count peak %ld\n",
	       sent, commits, (double)sent / (now_s() - t0), enfile, deleted, peak);
	if (pnl)
		printf("probes: %lu grants checked 50-100 ms before their end, %lu gone early\n", probes, missing);
	if (pnl)
		mnl_socket_close(pnl);
	ops->destroy(nat);
	ops->close(nat);
	free(sent_at);
	return enfile ? 3 : missing ? 4 : 0;
}
