/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for zone record text (the presentation-form parser in
 * src/dns/rr.c behind fg_zone_add_record(), which the config's zone
 * records go through in src/conf/zonebuild.c). Every input line is one
 * record of zone example.test; a line "!svc NAME" declares a service name
 * instead. A rejected line must come with a message. A zone that finalizes
 * is then asked a fixed set of queries, so whatever the parser accepted is
 * also encoded into answers (UDP, TCP, and into a tiny buffer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 64

/* one query for name.example.test, qtype */
static size_t query(uint8_t *q, const char *label, uint16_t qtype)
{
	static const uint8_t hdr[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = 0, l = strlen(label);

	memcpy(q, hdr, 12);
	n = 12;
	if (l) {
		q[n++] = (uint8_t)l;
		memcpy(q + n, label, l);
		n += l;
	}
	memcpy(q + n, "\7example\4test\0", 14);
	n += 14;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype;
	q[n++] = 0;
	q[n++] = 1;
	return n;
}

static void ask(const fg_zonedb_t *db)
{
	static const char *const names[] = { "", "www", "a", "mail", "x", "svc" };
	static const uint16_t types[] = { 1, 2, 5, 6, 12, 15, 16, 28, 33, 255 };
	static uint8_t out[65536];
	static const uint8_t addr[16] = { 192, 0, 2, 7 };
	uint8_t q[128], small[64];
	fg_dns_query_t dq;
	fg_dns_result_t res;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			size_t n = query(q, names[i], types[t]);
			for (int tcp = 0; tcp < 2; tcp++) {
				fg_dns_answer(db, q, n, tcp, out, sizeof(out), &dq, &res);
				if (res.kind == FG_ANSWER_READY && res.len > fg_dns_max_response(&dq, tcp))
					abort();
				if (res.kind == FG_ANSWER_SERVICE) {
					fg_dns_answer_service(db, &dq, tcp, addr, 5, 24, out, sizeof(out), &res);
					if (res.kind != FG_ANSWER_READY)
						abort();
				}
			}
			fg_dns_answer(db, q, n, false, small, sizeof(small), &dq, &res);
			if (res.kind == FG_ANSWER_READY && res.len > sizeof(small))
				abort();
		}
}

static void need_msg(const char *err)
{
	if (!memchr(err, 0, 256) || err[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	fg_zone_t *z;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 7200, 900, 1209600, 300 };
	fg_zonedb_t *db = fg_zonedb_new();
	char *text = malloc(size + 1);

	if (!db || !text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (fg_zonedb_add_zone(db, "example.test", 3600, &soa, &z, err, sizeof(err)))
		abort();

	char *line = text, *end = text + size;
	for (int n = 0; line < end && n < MAX_LINES; n++) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (nl)
			*nl = '\0';
		err[0] = '\0';
		if (strncmp(line, "!svc ", 5) == 0) {
			if (fg_zone_add_service(z, line + 5, (uint32_t)n + 1, err, sizeof(err)) < 0)
				need_msg(err);
		} else if (fg_zone_add_record(z, line, err, sizeof(err)) < 0) {
			need_msg(err);
		}
		line = nl ? nl + 1 : end;
	}
	err[0] = '\0';
	if (fg_zonedb_finalize(db, err, sizeof(err)) == 0)
		ask(db);
	else
		need_msg(err);
	fg_zonedb_free(db);
	free(text);
	return 0;
}
