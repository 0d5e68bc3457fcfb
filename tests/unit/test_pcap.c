/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: session openings from pcap traces (lab/pcap.h): the shipped
 * sample trace, both byte orders and resolutions, the link types, what is
 * skipped, and every malformed-file error with its offset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/pcap.h"

static uint8_t file[8192];
static size_t flen;

static void put32(uint32_t v, int big)
{
	for (int i = 0; i < 4; i++)
		file[flen++] = (uint8_t)(big ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void header(uint32_t magic, int big, uint32_t linktype)
{
	flen = 0;
	put32(magic, big);
	file[flen++] = big ? 0 : 2;
	file[flen++] = big ? 2 : 0;
	file[flen++] = big ? 0 : 4;
	file[flen++] = big ? 4 : 0;
	put32(0, big);
	put32(0, big);
	put32(65535, big);
	put32(linktype, big);
}

/* an IPv4 TCP segment from 10.0.0.SRC to port DPORT with FLAGS */
static size_t ip4_tcp(uint8_t *p, uint8_t src, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[9] = 6;
	p[12] = 10; p[15] = src;
	p[16] = 198; p[17] = 51; p[18] = 100; p[19] = 7;
	p[22] = (uint8_t)(dport >> 8); p[23] = (uint8_t)dport;
	p[32] = 0x50;
	p[33] = flags;
	return 40;
}

static void record(uint32_t sec, uint32_t frac, const uint8_t *pkt, size_t n, int big)
{
	put32(sec, big);
	put32(frac, big);
	put32((uint32_t)n, big);
	put32((uint32_t)n, big);
	memcpy(file + flen, pkt, n);
	flen += n;
}

static int parse(lab_pcap_t *p, char *msg)
{
	return lab_pcap_parse(file, flen, p, msg, 256);
}

static void test_shipped_trace(void **state)
{
	(void)state;
	FILE *f = fopen("lab/traces/web-20.pcap", "rb");   /* tests/run.sh runs from the root */
	assert_non_null(f);
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	lab_pcap_t p;
	char msg[256];
	assert_int_equal(lab_pcap_parse(buf, n, &p, msg, sizeof msg), 0);
	assert_true(p.nstarts > 100);
	assert_int_equal(p.nstarts, p.packets);   /* the lab writes openings only */
	assert_int_equal(p.skipped, 0);
	assert_true(p.nsources > 1 && p.nsources <= 20);
	assert_true(p.span > 5 && p.span < 25);
	for (size_t i = 1; i < p.nstarts; i++)
		assert_true(p.starts[i].t >= p.starts[i - 1].t);
	lab_pcap_free(&p);
}

static void test_write_roundtrip(void **state)
{
	(void)state;
	lab_pcap_start_t in[3] = { { 0, 0, 80 }, { 0.25, 1, 443 }, { 1.5, 0, 22 } };
	static uint8_t buf[512];
	assert_int_equal(lab_pcap_write(buf, 100, in, 3, 0), 0);   /* too small: nothing */
	size_t n = lab_pcap_write(buf, sizeof buf, in, 3, 1700000000ull * 1000000000ull);
	assert_int_equal(n, 24 + 3 * 56);
	lab_pcap_t p;
	char msg[256];
	assert_int_equal(lab_pcap_parse(buf, n, &p, msg, sizeof msg), 0);
	assert_int_equal(p.nstarts, 3);
	assert_int_equal(p.nsources, 2);
	assert_int_equal(p.starts[1].src, 1);
	assert_int_equal(p.starts[2].src, 0);
	assert_int_equal(p.starts[1].dport, 443);
	assert_true(p.starts[1].t > 0.2499 && p.starts[1].t < 0.2501);
	assert_true(p.span > 1.4999 && p.span < 1.5001);
	lab_pcap_free(&p);
}

/* big-endian microseconds, Ethernet with a VLAN tag: SYN kept, SYN-ACK,
 * ACK and UDP skipped; the time is relative to the first opening */
static void test_ethernet_bigendian(void **state)
{
	(void)state;
	header(0xa1b2c3d4, 1, 1);
	uint8_t fr[80];
	memset(fr, 0, 18);
	fr[12] = 0x81; fr[13] = 0x00;   /* 802.1Q */
	fr[16] = 0x08; fr[17] = 0x00;
	ip4_tcp(fr + 18, 5, 80, 0x02);
	record(100, 500000, fr, 58, 1);
	ip4_tcp(fr + 18, 5, 80, 0x12);   /* SYN-ACK */
	record(100, 600000, fr, 58, 1);
	ip4_tcp(fr + 18, 6, 443, 0x10);  /* ACK */
	record(101, 0, fr, 58, 1);
	ip4_tcp(fr + 18, 6, 443, 0x02);
	fr[18 + 9] = 17;                 /* UDP */
	record(101, 1, fr, 58, 1);
	ip4_tcp(fr + 18, 7, 443, 0x02);
	record(102, 0, fr, 58, 1);
	lab_pcap_t p;
	char msg[256];
	assert_int_equal(parse(&p, msg), 0);
	assert_int_equal(p.packets, 5);
	assert_int_equal(p.nstarts, 2);
	assert_int_equal(p.skipped, 3);
	assert_int_equal(p.starts[0].dport, 80);
	assert_true(p.starts[1].t > 1.4999 && p.starts[1].t < 1.5001);
	assert_int_equal(p.nsources, 2);
	lab_pcap_free(&p);
}

/* raw IPv6 and Linux cooked IPv4, nanoseconds little-endian */
static void test_ipv6_and_cooked(void **state)
{
	(void)state;
	header(0xa1b23c4d, 0, 101);
	uint8_t p6[60];
	memset(p6, 0, sizeof p6);
	p6[0] = 0x60;
	p6[6] = 6;
	p6[8] = 0x20; p6[9] = 0x01; p6[23] = 9;
	p6[40 + 2] = 0; p6[40 + 3] = 25;
	p6[40 + 13] = 0x02;
	record(5, 999999999, p6, 60, 0);
	lab_pcap_t p;
	char msg[256];
	assert_int_equal(parse(&p, msg), 0);
	assert_int_equal(p.nstarts, 1);
	assert_int_equal(p.starts[0].dport, 25);
	lab_pcap_free(&p);

	header(0xa1b2c3d4, 0, 113);
	uint8_t c[56];
	memset(c, 0, 16);
	ip4_tcp(c + 16, 3, 22, 0x02);
	record(1, 0, c, 56, 0);
	record(1, 10, c, 10, 0);   /* a capture cut inside the cooked header: skipped */
	assert_int_equal(parse(&p, msg), 0);
	assert_int_equal(p.nstarts, 1);
	assert_int_equal(p.skipped, 1);
	assert_int_equal(p.starts[0].dport, 22);
	lab_pcap_free(&p);
}

static void rejects(const char *want)
{
	lab_pcap_t p;
	char msg[256] = "";
	assert_int_equal(parse(&p, msg), -EINVAL);
	assert_null(p.starts);
	if (!strstr(msg, want))
		fail_msg("wanted \"%s\", got \"%s\"", want, msg);
}

static void test_malformed(void **state)
{
	(void)state;
	flen = 10;
	rejects("not a pcap file: 10 bytes");
	header(0x0a0d0d0a, 0, 1);   /* pcapng */
	rejects("magic 0x0a0d0d0a (pcapng is not read");
	header(0xa1b2c3d4, 0, 1);
	file[16] = 0; file[17] = 0; file[18] = 0x10; file[19] = 0;   /* snaplen 1 MiB */
	rejects("offset 16: snaplen 1048576 over 262144");
	header(0xa1b2c3d4, 0, 101);
	uint8_t pkt[40];
	ip4_tcp(pkt, 1, 80, 0x02);
	record(1, 0, pkt, 40, 0);
	flen -= 1;
	rejects("offset 24: record length 40 runs past the end of the file");
	header(0xa1b2c3d4, 0, 101);
	record(1, 0, pkt, 40, 0);
	file[flen++] = 1;
	rejects("offset 80: a record header cut short (1 of 16 bytes)");
	header(0xa1b2c3d4, 0, 101);
	record(1, 1000000, pkt, 40, 0);
	rejects("offset 24: fraction of a second 1000000 out of range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_trace),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_ethernet_bigendian),
		cmocka_unit_test(test_ipv6_and_cooked),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
