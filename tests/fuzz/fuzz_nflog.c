/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the NFLOG packet header parser fg_pkt_parse()
 * (src/daemon/nflog.c): every input is the copied payload of a logged
 * packet, starting at its IP header, as a sender on the pool chooses it.
 * The result must be self-consistent: a parsed packet has a known family,
 * ports only for a transport that has them, and TCP flags only for TCP.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "daemon/nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fg_pkt_info_t p;

	memset(&p, 0xa5, sizeof(p));   /* the parser must set what it reports */
	int rc = fg_pkt_parse(data, size, &p);
	if (rc != 0 && rc != -FG_ETRUNC && rc != -FG_EMALF)
		abort();
	if (rc != 0)
		return 0;
	if (p.family != AF_INET && p.family != AF_INET6)
		abort();
	if (p.has_ports && p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP &&
	    p.proto != IPPROTO_SCTP && p.proto != IPPROTO_UDPLITE)
		abort();
	if (!p.has_ports && (p.sport || p.dport))
		abort();
	if (p.tcp_flags && p.proto != IPPROTO_TCP)
		abort();
	return 0;
}
