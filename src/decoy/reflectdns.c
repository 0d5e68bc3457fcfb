/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"
#include "decoy/reflectdns.h"
#include "dns/msg.h"

int fd_reflect_dns_answer(const uint8_t *pkt, size_t len, const uint8_t a4[4],
			  uint8_t *out, size_t cap, uint16_t *qtype, char *qname)
{
	fg_dns_query_t q;
	enum fg_dns_parse_action act = FG_DNS_DROP;
	int rcode = 0;
	int rc = fg_dns_parse_query(pkt, len, &q, &act, &rcode);

	if (qtype)
		*qtype = 0;
	if (qname)
		qname[0] = '\0';
	if (rc < 0) {
		if (act != FG_DNS_REPLY_ERROR)
			return 0;
		return fg_dns_build_error(pkt, len, &q, rcode, out, cap);
	}
	if (qtype)
		*qtype = q.qtype;
	if (qname && fg_dns_name_to_text(q.qname, qname, 256) < 0)
		qname[0] = '\0';
	if (q.opcode != 0)
		return fg_dns_build_error(pkt, len, &q, FG_RCODE_NOTIMP, out, cap);
	bool answer = q.qtype == FG_TYPE_A && q.qclass == FG_CLASS_IN;
	fg_wire_t w = fg_wire_init(out, cap);
	/* QR AA, RD copied, RA: a recursive resolver's answer as the backend
	 * expects from its configured server */
	uint16_t flags = 0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | 0x0080;
	fg_wire_write_u16(&w, q.id);
	fg_wire_write_u16(&w, flags);
	fg_wire_write_u16(&w, 1);
	fg_wire_write_u16(&w, answer ? 1 : 0);
	fg_wire_write_u16(&w, 0);
	fg_wire_write_u16(&w, 0);
	fg_wire_write(&w, q.qname, q.qname_len);
	fg_wire_write_u16(&w, q.qtype);
	fg_wire_write_u16(&w, q.qclass);
	if (answer) {
		fg_wire_write_u16(&w, 0xc00c);   /* the question's name */
		fg_wire_write_u16(&w, FG_TYPE_A);
		fg_wire_write_u16(&w, FG_CLASS_IN);
		fg_wire_write_u32(&w, FD_REFLECT_TTL);
		fg_wire_write_u16(&w, 4);
		fg_wire_write(&w, a4, 4);
	}
	if (w.err)
		return w.err;
	return (int)w.pos;
}
