/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the config loader: every input is a config file
 * handed to fg_conf_load_buffer(). Diagnostics are discarded, but each one
 * is checked for the shape the loader promises (a line >= 0 and a short,
 * non-empty, printable message), so a garbled message is a crash too.
 *
 * A config that loads also has its zone database built (zonebuild.c).
 *
 * The first line of the input is also fed to the public scalar parsers,
 * which reach corners of them that a well-formed YAML value rarely does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/zonebuild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void discard(void *ctx, const char *file, int line, const char *msg)
{
	size_t n = strlen(msg);

	(void)ctx;
	(void)file;
	if (line < 0 || n == 0 || n >= 2048)  /* zonebuild: 511 octets, each up to 4 as \xHH */
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20)  /* values are quoted with \xHH */
			abort();
}

static void scalars(const uint8_t *data, size_t size)
{
	char s[256];
	size_t n = 0;
	uint32_t ms;
	uint64_t bytes;
	fg_conf_addr_t addr;
	fg_conf_prefix_t prefix;

	while (n < size && n < sizeof(s) - 1 && data[n] != '\n')
		n++;
	memcpy(s, data, n);
	s[n] = '\0';
	(void)fg_conf_parse_time_ms(s, &ms);
	(void)fg_conf_parse_size(s, &bytes);
	(void)fg_conf_parse_addr(s, 53, &addr);
	(void)fg_conf_parse_prefix(s, &prefix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fg_conf_t *conf = NULL;

	scalars(data, size);
	if (fg_conf_load_buffer("fuzz.conf", (const char *)data, size, &conf,
				discard, NULL) == 0) {
		/* a config that loads must be complete */
		if (!conf || conf->server.nlisten == 0 || !conf->nat.backend ||
		    !conf->nat.table || !conf->control.socket || !conf->log.level)
			abort();
		for (size_t i = 0; i < conf->nservices; i++)
			if (conf->services[i].nbackends == 0 ||
			    conf->services[i].npools == 0)
				abort();
		/* and its zones build (records through the rr.c parser, the
		 * service names placed in their zones), or fail with a reason */
		fg_zonedb_t *db = NULL;
		int zrc = fg_conf_build_zonedb(conf, &db, discard, NULL);
		if ((zrc == 0) != (db != NULL))
			abort();
		fg_zonedb_free(db);
	} else if (conf) {
		abort();  /* failure must not hand out a config */
	}
	fg_conf_free(conf);
	return 0;
}
