/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The `udp:` part of a persona file (persona.h, decoy/udpwire.h): its
 * schema and the checks that make the decoy's UDP answers safe to serve,
 * so a hand edit that would make the decoy an amplifier is refused by
 * `fluxdecoy --check` with its line.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "decoy/persona.h"
#include "decoy/udpwire.h"

static int check_hex(const char *s, char *err, size_t errlen)
{
	uint8_t buf[FD_UDP_MAX_PAYLOAD];
	int n = fd_udp_hex_decode(s, buf, sizeof(buf));

	if (n == -FG_ESPACE)
		return fg_errf(err, errlen, -FG_ESCHEMA, "more than %d octets",
			       FD_UDP_MAX_PAYLOAD);
	if (n < 0)
		return fg_errf(err, errlen, -FG_ESYNTAX, "expected hex digits in "
			       "pairs, without separators");
	if (n == 0)
		return fg_errf(err, errlen, -FG_ESCHEMA, "an empty datagram");
	return 0;
}

static void reply_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
		       const char *label)
{
	fd_udp_reply_t *r = entry;

	(void)ld;
	(void)label;
	r->line = map->line;
}

#define RP(m) offsetof(fd_udp_reply_t, m)

static const fg_item_t reply_items[] = {
	{ .name = "request", .type = FG_T_STR, .flags = FG_F_REQ, .off = RP(request),
	  .check = check_hex },
	{ .name = "reply", .type = FG_T_STR, .flags = FG_F_REQ, .off = RP(reply),
	  .check = check_hex },
	{ .name = "copy-id", .type = FG_T_INT, .off = RP(copy_id), .min = 0, .max = 16,
	  .def = "0" },
	{ .name = "match", .type = FG_T_ENUM, .off = RP(match),
	  .enums = fd_udp_match_names, .def = "exact" },
	{ .name = NULL }
};

#define US(m) offsetof(fd_udp_service_t, m)

const fg_item_t fd_persona_udp_items[] = {
	{ .name = "port", .type = FG_T_INT, .flags = FG_F_REQ, .off = US(port),
	  .min = 1, .max = 65535 },
	/* secure by default: no answer longer than its request */
	{ .name = "amplification", .type = FG_T_INT, .off = US(amplification),
	  .min = 1, .max = FD_UDP_MAX_AMP, .def = "1" },
	{ .name = "rate", .type = FG_T_INT, .off = US(rate), .min = 1, .max = 1000,
	  .def = "5" },
	{ .name = "burst", .type = FG_T_INT, .off = US(burst), .min = 1, .max = 1000,
	  .def = "10" },
	{ .name = "replies", .type = FG_T_LIST, .off = US(replies),
	  .cnt_off = US(nreplies), .sub = reply_items,
	  .elem_size = sizeof(fd_udp_reply_t), .post = reply_post },
	{ .name = NULL }
};

void fd_persona_udp_post(fg_loader_t *ld, void *entry, const fg_ynode_t *map,
			 const char *label)
{
	fd_udp_service_t *sv = entry;

	(void)ld;
	(void)label;
	sv->line = map->line;
}

void fd_persona_udp_check(fg_loader_t *ld, const fd_persona_t *p)
{
	uint8_t a[FD_UDP_MAX_PAYLOAD], b[FD_UDP_MAX_PAYLOAD];

	for (size_t i = 0; i < p->nudp; i++) {
		const fd_udp_service_t *sv = &p->udp[i];
		for (size_t j = 0; j < i; j++)
			if (p->udp[j].port == sv->port) {
				fg_diag(ld, sv->line, "udp '%u': port %u is already "
					"served (line %d)", sv->port, sv->port,
					p->udp[j].line);
				break;
			}
		if (sv->nreplies > FD_UDP_MAX_REPLIES)
			fg_diag(ld, sv->line, "udp '%u': more than %d replies",
				sv->port, FD_UDP_MAX_REPLIES);
		for (size_t k = 0; k < sv->nreplies; k++) {
			const fd_udp_reply_t *r = &sv->replies[k];
			if (!r->request || !r->reply)
				continue;       /* reported as missing */
			int na = fd_udp_hex_decode(r->request, a, sizeof(a));
			int nb = fd_udp_hex_decode(r->reply, b, sizeof(b));
			if (na <= 0 || nb <= 0)
				continue;       /* reported by check_hex */
			if (r->copy_id > (unsigned)na || r->copy_id > (unsigned)nb)
				fg_diag(ld, r->line, "udp '%u': copy-id %u is longer "
					"than the request (%d) or the reply (%d)",
					sv->port, r->copy_id, na, nb);
			if ((unsigned)nb > sv->amplification * (unsigned)na)
				fg_diag(ld, r->line, "udp '%u': the reply (%d octets) is "
					"more than amplification %u x the request (%d "
					"octets): the decoy would amplify reflected "
					"traffic", sv->port, nb, sv->amplification, na);
			char why[160];
			if (fd_udp_dns_check(r->match, a, (size_t)na, b, (size_t)nb, why,
					     sizeof(why)) < 0)
				fg_diag(ld, r->line, "udp '%u': %s", sv->port, why);
			for (size_t m = 0; m < k; m++)
				if (sv->replies[m].request && r->copy_id == sv->replies[m].copy_id &&
				    r->match == sv->replies[m].match &&
				    strcasecmp(sv->replies[m].request, r->request) == 0) {
					fg_diag(ld, r->line, "udp '%u': this request is "
						"already answered (line %d)", sv->port,
						sv->replies[m].line);
					break;
				}
		}
	}
}

const fd_udp_service_t *fd_persona_find_udp(const fd_persona_t *p, unsigned port)
{
	for (size_t i = 0; p && i < p->nudp; i++)
		if (p->udp[i].port == port)
			return &p->udp[i];
	return NULL;
}
