/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the nmap-service-probes reader (decoy/nmapprobes.h): which
 * UDP probes a port gets (ports and sslports lines, ranges, TCP probes
 * and other ports left out, file order), the payload escapes, and the
 * precise error for a line that does not parse. The text is written here
 * in nmap's format (nothing of nmap's own file is copied).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "decoy/nmapprobes.h"

static const char FILE_TEXT[] =
	"# a comment\n"
	"Exclude T:9100-9107\n"
	"Probe TCP NULL q||\n"
	"ports 1-65535\n"
	"match x m|^x|\n"
	"Probe UDP Alpha q|\\0\\x01AB\\r\\n|\n"
	"rarity 1\n"
	"ports 7,161,1000-1010\n"
	"match snmp m|^0|s p/x/\n"
	"Probe UDP Beta q/a\\/b\\\\c\\t/\n"
	"sslports 443,161\n"
	"Probe UDP Gamma q|zz|\n"
	"ports 53\n"
	"Probe UDP Empty q||\n"
	"ports 1005\n"
	"Probe UDP Last q|end|\n"
	"ports 9,161";   /* no newline at the end */

static fd_nmap_probe_t pr[8];

static void test_select(void **st)
{
	char err[128];

	(void)st;
	int n = fd_nmap_udp_probes(FILE_TEXT, strlen(FILE_TEXT), 161, pr, 8, err, sizeof(err));
	assert_int_equal(n, 3);
	assert_string_equal(pr[0].name, "Alpha");
	assert_int_equal(pr[0].n, 6);
	assert_memory_equal(pr[0].q, "\x00\x01" "AB\r\n", 6);
	assert_int_equal(pr[0].line, 6);
	assert_string_equal(pr[1].name, "Beta");      /* by sslports */
	assert_int_equal(pr[1].n, 6);
	assert_memory_equal(pr[1].q, "a/b\\c\t", 6);
	assert_string_equal(pr[2].name, "Last");      /* the last line, unterminated */
	/* a range, and an empty probe (the caller leaves it out) */
	n = fd_nmap_udp_probes(FILE_TEXT, strlen(FILE_TEXT), 1005, pr, 8, err, sizeof(err));
	assert_int_equal(n, 2);
	assert_string_equal(pr[1].name, "Empty");
	assert_int_equal(pr[1].n, 0);
	/* the TCP probe's ports line does not count */
	assert_int_equal(fd_nmap_udp_probes(FILE_TEXT, strlen(FILE_TEXT), 80, pr, 8, err,
					    sizeof(err)), 0);
	/* no more than max */
	assert_int_equal(fd_nmap_udp_probes(FILE_TEXT, strlen(FILE_TEXT), 161, pr, 1, err,
					    sizeof(err)), 1);
	/* only the given length is read */
	assert_int_equal(fd_nmap_udp_probes(FILE_TEXT, 60, 161, pr, 8, err, sizeof(err)), 0);
}

static void expect(const char *text, const char *msg)
{
	char err[128] = "";

	assert_int_equal(fd_nmap_udp_probes(text, strlen(text), 1, pr, 8, err, sizeof(err)),
			 -FG_ESYNTAX);
	if (!strstr(err, msg))
		fail_msg("expected '%s', got '%s'", msg, err);
}

static void test_errors(void **st)
{
	(void)st;
	expect("Probe UDP A q|abc\nports 1\n", "line 1: no closing delimiter");
	expect("\nProbe UDP A q|\\xg0|\n", "line 2: \\x without two hex digits");
	expect("Probe UDP A q|\\", "line 1: a backslash at the end");
	expect("Probe UDP A z|a|\n", "line 1: expected q|...|");
	expect("Probe UDP Aq|a|\n", "line 1: expected Probe UDP NAME");
	expect("Probe UDP A q|a|\nports 1,,2\n", "line 2: a bad port list");
	expect("Probe UDP A q|a|\nports 5-2\n", "line 2: a bad port range");
	expect("Probe UDP A q|a|\nports 70000\n", "line 2: a bad port list");
	/* a payload over 1232 octets */
	static char big[5000];
	int w = snprintf(big, sizeof(big), "Probe UDP A q|");
	for (int i = 0; i < 1233; i++)
		big[w++] = 'a';
	snprintf(big + w, sizeof(big) - (size_t)w, "|\n");
	expect(big, "line 1: a payload over 1232 octets");
	/* a TCP probe is not parsed beyond its name: its errors are nmap's */
	char err[64];
	assert_int_equal(fd_nmap_udp_probes("Probe TCP A q|\\x\nports 1\n", 25, 1, pr, 8,
					    err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
