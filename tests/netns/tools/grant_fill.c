/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * grant_fill: put many grants into a running fluxgated's table, straight
 * through the nft backend (libnftnl/libmnl batches, the real kernel), as a
 * long-running gateway would have them: the restart scenario and
 * bench/scale need tens of thousands to a million live grants, which
 * through DNS would take minutes. Run inside the gateway's namespace.
 *
 *   grant_fill TABLE exact|any COUNT POOL_FIRST SPAN CLIENT_FIRST BACKEND TIMEOUT_S
 *
 * Grant i: address POOL_FIRST + (i mod SPAN), client CLIENT_FIRST + i
 * (exact; unused for any), backend BACKEND (same family), lifetime
 * TIMEOUT_S. Additions are to the low 32 bits. Batches of 256 grants;
 * prints "filled COUNT" and the rate.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/nat.h"

#define BATCH 256

static int parse(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static void add(uint8_t a[16], int family, uint32_t k)
{
	size_t off = family == AF_INET ? 0 : 12;
	uint32_t v;
	memcpy(&v, a + off, 4);
	v = htonl(ntohl(v) + k);
	memcpy(a + off, &v, 4);
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: grant_fill TABLE exact|any COUNT POOL_FIRST SPAN "
				"CLIENT_FIRST BACKEND TIMEOUT_S\n");
		return 2;
	}
	fg_log_init("grant_fill", FG_LOG_WARN);
	bool any = !strcmp(argv[2], "any");
	unsigned long count = strtoul(argv[3], NULL, 10);
	unsigned long span = strtoul(argv[5], NULL, 10);
	unsigned long tmo = strtoul(argv[8], NULL, 10);
	int fp, fc, fb;
	uint8_t pool[16], client[16], backend[16];
	if ((!any && strcmp(argv[2], "exact")) || !span || !tmo || tmo > 86400 ||
	    parse(argv[4], &fp, pool) || parse(argv[6], &fc, client) ||
	    parse(argv[7], &fb, backend) || fp != fc || fp != fb) {
		fprintf(stderr, "grant_fill: bad arguments\n");
		return 2;
	}
	fg_nat_prefix_t none = { .family = fp };
	fg_nat_config_t cfg = { .table = argv[1], .pools = &none, .npools = 1 };
	fg_nat_t *nat = NULL;
	int rc = fg_nat_nft_ops.open(&cfg, &nat);
	if (rc < 0) {
		fprintf(stderr, "grant_fill: open: %s\n", fg_strerror(rc));
		return 1;
	}
	static fg_grant_t g[BATCH];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long done = 0; done < count;) {
		size_t n = count - done < BATCH ? count - done : BATCH;
		for (size_t i = 0; i < n; i++) {
			fg_grant_t *e = &g[i];
			memset(e, 0, sizeof(*e));
			e->family = (uint8_t)fp;
			e->scope = any ? FG_SCOPE_ANY : FG_SCOPE_CLIENT;
			memcpy(e->addr, pool, 16);
			add(e->addr, fp, (uint32_t)((done + i) % span));
			if (!any) {
				memcpy(e->client, client, 16);
				add(e->client, fp, (uint32_t)(done + i));
				e->client_plen = fp == AF_INET ? 32 : 128;
			}
			memcpy(e->backend, backend, 16);
			e->timeout_ms = (uint32_t)(tmo * 1000u);
		}
		if ((rc = fg_nat_nft_ops.commit(nat, g, n)) < 0) {
			fprintf(stderr, "grant_fill: commit at %lu: %s\n", done, fg_strerror(rc));
			return 1;
		}
		done += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("filled %lu in %.2f s (%.0f grants/s)\n", count, s, s > 0 ? (double)count / s : 0.0);
	fg_nat_nft_ops.close(nat);
	return 0;
}
