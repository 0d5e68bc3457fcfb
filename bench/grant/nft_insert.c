/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Grant insert benchmark of the nft backend, in a private network namespace
 * (unshare(CLONE_NEWNET): nothing outside is touched, everything vanishes
 * with the process). Needs CAP_SYS_ADMIN + CAP_NET_ADMIN.
 *
 *   nft_insert [TOTAL [BATCH]]     default 1000000 grants, batches of 64
 *
 * Prints the insert rate near the start (few live grants) and near the end
 * (TOTAL live grants), the rate of one-grant transactions, and the kernel
 * slab growth per grant (/proc/meminfo Slab, so other activity on the host
 * adds noise). Build:
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Isrc src/common/(all).c src/dataplane/(all).c
 *       bench/grant/nft_insert.c $(pkg-config --cflags --libs libmnl libnftnl
 *       libnetfilter_conntrack) -pthread -o nft_insert
 * ((all) = the shell glob star)
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/nat.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void fill(fg_grant_t *g, unsigned long id)
{
	/* distinct clients from 100.64.0.0/10, addresses cycling over the
	 * pool /24, one backend */
	uint32_t c = htonl(0x64400000u + (uint32_t)id);
	uint32_t a = htonl(0xc6336400u + (uint32_t)(id % 256));
	uint32_t b = htonl(0x0a02000au);

	memset(g, 0, sizeof(*g));
	g->family = AF_INET;
	g->scope = FG_SCOPE_CLIENT;
	g->client_plen = 32;
	memcpy(g->client, &c, 4);
	memcpy(g->addr, &a, 4);
	memcpy(g->backend, &b, 4);
	g->timeout_ms = 3600 * 1000;
}

int main(int argc, char **argv)
{
	unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	unsigned long batch = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
	unsigned long window = 16384, done = 0, id = 0, i;
	fg_nat_prefix_t pool = { .family = AF_INET };
	fg_nat_config_t cfg = {
		.table = "fgbench", .pools = &pool, .npools = 1,
		.pin_ms = 60000, .pin_set_size = 65536, .decoy_mark = 0x666, .route_table = 4666,
	};
	const fg_nat_ops_t *ops = &fg_nat_nft_ops;
	fg_nat_t *nat;
	fg_grant_t *g;
	double t0, t, first_rate = 0, last_rate = 0, single_rate;
	long slab0, slab1, unrecl0, unrecl1;
	int rc;

	fg_log_init("nft_insert", FG_LOG_WARN);
	if (!batch || total < 2 * window) {
		fprintf(stderr, "TOTAL must be >= %lu, BATCH > 0\n", 2 * window);
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	memset(pool.first, 0, 16);
	memset(pool.last, 0, 16);
	pool.first[0] = 198; pool.first[1] = 51; pool.first[2] = 100; pool.first[3] = 0;
	memcpy(pool.last, pool.first, 4);
	pool.last[3] = 255;
	g = calloc(batch, sizeof(*g));
	if (!g || (rc = ops->open(&cfg, &nat)) < 0) {
		fprintf(stderr, "open failed\n");
		return 1;
	}
	/* no decoy next hop: setup installs a blackhole route, fine here */
	if ((rc = ops->setup(nat, &cfg)) < 0) {
		fprintf(stderr, "setup: %s\n", fg_strerror(rc));
		return 1;
	}
	slab0 = meminfo_kb("Slab");
	unrecl0 = meminfo_kb("SUnreclaim");
	t0 = now_s();
	t = t0;
	while (done < total) {
		unsigned long n = total - done < batch ? total - done : batch;

		for (i = 0; i < n; i++)
			fill(&g[i], id++);
		if ((rc = ops->commit(nat, g, n)) < 0) {
			fprintf(stderr, "commit at %lu: %s\n", done, fg_strerror(rc));
			return 1;
		}
		done += n;
		if (done >= window && first_rate == 0) {
			first_rate = (double)done / (now_s() - t0);
		}
		if (done >= total - window && t == t0) {
			t = now_s();
			i = done;
			/* remember where the last window starts */
			window = total - i;
		}
	}
	last_rate = (double)window / (now_s() - t);
	slab1 = meminfo_kb("Slab");
	unrecl1 = meminfo_kb("SUnreclaim");
	printf("grants: %lu in batches of %lu, %.2f s total, %.0f grants/s overall\n",
	       total, batch, now_s() - t0, (double)total / (now_s() - t0));
	printf("rate, first 16k grants (few live):  %.0f grants/s\n", first_rate);
	printf("rate, last %lu grants (%lu live):  %.0f grants/s\n", window, total, last_rate);
	printf("kernel slab: +%ld kB (unreclaimable +%ld kB) = %.0f B per grant\n",
	       slab1 - slab0, unrecl1 - unrecl0, (double)(slab1 - slab0) * 1024.0 / (double)total);

	/* one grant per transaction, with the maps full */
	t0 = now_s();
	for (i = 0; i < 20000; i++) {
		fill(&g[0], id++);
		if ((rc = ops->commit(nat, g, 1)) < 0) {
			fprintf(stderr, "single commit: %s\n", fg_strerror(rc));
			return 1;
		}
	}
	single_rate = 20000.0 / (now_s() - t0);
	printf("one grant per transaction: %.0f grants/s\n", single_rate);
	ops->destroy(nat);
	ops->close(nat);
	free(g);
	return 0;
}
