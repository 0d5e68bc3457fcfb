/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fluxctl/dnssec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "conf/keydir.h"
#include "dns/dnssec/key.h"

#define MAXKEYS 16

static int keygen(const char *zone, const char *dir, int alg, int flags, int64_t activate)
{
	fg_dnskey_t k;
	char err[256], name[320];
	int64_t now = (int64_t)time(NULL);

	if (fg_dnskey_generate(zone, (uint8_t)alg, (uint16_t)flags, &k, err, sizeof(err)) < 0 ||
	    fg_keydir_write(dir, &k, now, activate ? now + activate : 0, name, sizeof(name),
			    err, sizeof(err)) < 0) {
		fprintf(stderr, "fluxctl dnssec keygen: %s\n", err);
		fg_dnskey_clear(&k);
		return 1;
	}
	printf("%s\n", name);
	fg_dnskey_clear(&k);
	return 0;
}

static int ds(const char *zone, const char *dir, int alg)
{
	fg_dnskey_t keys[MAXKEYS];
	char err[512], owner[FG_DNS_MAXNAME * 4 + 2];
	int n = fg_keydir_load(dir, zone, alg, false, NULL, NULL, NULL, keys, MAXKEYS, err, sizeof(err));
	int printed = 0;

	if (n < 0) {
		fprintf(stderr, "fluxctl dnssec ds: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		uint8_t d[36];
		if (keys[i].flags == 257 && fg_dnskey_ds_sha256(&keys[i], d, sizeof(d)) == 36 &&
		    fg_dns_name_to_text(keys[i].owner, owner, sizeof(owner)) > 0) {
			printf("%s IN DS %u %u 2 ", owner, keys[i].tag, keys[i].alg);
			for (int j = 4; j < 36; j++)
				printf("%02X", d[j]);
			printf("\n");
			printed++;
		}
		fg_dnskey_clear(&keys[i]);
	}
	if (!printed) {
		fprintf(stderr, "fluxctl dnssec ds: no key-signing key for %s in %s\n", zone, dir);
		return 1;
	}
	return 0;
}

int fg_fluxctl_dnssec(int argc, char **argv)
{
	const char *dir = ".", *zone = NULL;
	int alg = 0, flags = 257;
	uint32_t activate_ms = 0;

	if (argc < 2)
		return -1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--algorithm") && i + 1 < argc) {
			alg = fg_dnssec_alg_from_name(argv[++i]);
			if (alg < 0) {
				fprintf(stderr, "fluxctl dnssec: unknown algorithm '%s' "
						"(ecdsap256sha256 or ed25519)\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--ksk") || !strcmp(argv[i], "--csk")) {
			flags = 257;
		} else if (!strcmp(argv[i], "--zsk")) {
			flags = 256;
		} else if (!strcmp(argv[i], "--activate-in") && i + 1 < argc) {
			if (fg_conf_parse_time_ms(argv[++i], &activate_ms) < 0) {
				fprintf(stderr, "fluxctl dnssec: bad time '%s'\n", argv[i]);
				return 2;
			}
		} else {
			return -1;
		}
	}
	zone = argv[1];
	if (!strcmp(argv[0], "keygen"))
		return keygen(zone, dir, alg ? alg : FG_DNSSEC_ALG_ECDSAP256, flags,
			      (int64_t)(activate_ms / 1000));
	if (!strcmp(argv[0], "ds"))
		return ds(zone, dir, alg);
	return -1;
}
