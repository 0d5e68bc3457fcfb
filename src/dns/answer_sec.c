/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The DNSSEC parts of an answer (RFC 4035 section 3, RFC 9824): RRSIGs
 * after each RRset of a signed zone and compact denial NSEC records, for
 * queries with DO=1. Called by answer.c; no allocation, no I/O.
 *
 * RRSIGs are written right after their RRset, with the RRset's TTL; a
 * misfit returns -FG_ESPACE and the caller truncates (an RRset without its
 * signature would be bogus to a validator, so it is never sent alone).
 */
#include "dns/internal.h"
#include "dns/dnssec/denial.h"
#include "dns/dnssec/signer.h"

#include <string.h>

int fg_dnssec_put_rrsig(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
			fg_signer_t *s, const void *cache_key, const uint8_t *sname,
			uint16_t type, uint32_t ttl, uint32_t rr_ttl,
			const fg_rdref_t *rrs, unsigned n)
{
	uint8_t sig[FG_RRSIG_MAX];
	int len = fg_signer_sign(s, cache_key, sname, type, ttl, rrs, n, sig, sizeof(sig));
	if (len < 0)
		return len;
	return fg_dnsb_rr(b, sec, owner, FG_DNS_HDRLEN, FG_TYPE_RRSIG, rr_ttl, sig,
			  (uint16_t)len);
}

int fg_dnssec_sign_rrset(fg_dnsb_t *b, enum fg_dns_section sec, const uint8_t *owner,
			 fg_signer_t *s, const void *cache_key, const uint8_t *sname,
			 const fg_rr_t *rr, unsigned n)
{
	fg_rdref_t refs[FG_RRSET_MAX];
	if (n > FG_RRSET_MAX)
		return -FG_ESPACE;
	for (unsigned i = 0; i < n; i++) {
		refs[i].rdata = rr[i].rdata;
		refs[i].rdlen = rr[i].rdlen;
	}
	/* one TTL per RRset (RFC 2181 5.2): the builder keeps them equal */
	return fg_dnssec_put_rrsig(b, sec, owner, s, cache_key, sname, rr[0].type, rr[0].ttl,
				   rr[0].ttl, refs, n);
}

int fg_dnssec_put_nsec(fg_dnsb_t *b, fg_signer_t *s, const void *cache_key,
		       const uint8_t *name, const fg_node_t *n, bool apex,
		       const uint16_t *extra, unsigned nextra, uint16_t absent, uint32_t ttl)
{
	uint16_t types[96];
	unsigned nt = 0;
	uint8_t rd[FG_DNS_MAXNAME + 2 + 256];

	if (n) {
		for (unsigned i = 0; i < n->nrr && nt < 80; i++)
			if (!nt || types[nt - 1] != n->rrs[i].type)
				types[nt++] = n->rrs[i].type;
		if (n->service) {
			if (!n->svc_fams || (n->svc_fams & 1))
				types[nt++] = FG_TYPE_A;
			if (!n->svc_fams || (n->svc_fams & 2))
				types[nt++] = FG_TYPE_AAAA;
		}
	}
	for (unsigned i = 0; i < nextra && nt < 90; i++)
		types[nt++] = extra[i];
	if (apex)
		types[nt++] = FG_TYPE_DNSKEY;
	/* drop the type the answer denies (a service without that family) */
	unsigned w = 0;
	for (unsigned i = 0; i < nt; i++)
		if (types[i] != absent || !absent)
			types[w++] = types[i];
	int len = fg_nsec_compact(name, types, w, n == NULL, rd, sizeof(rd));
	if (len < 0)
		return len;
	int rc = fg_dnsb_rr(b, FG_SEC_NS, name, 0, FG_TYPE_NSEC, ttl, rd, (uint16_t)len);
	if (rc < 0)
		return rc;
	fg_rdref_t ref = { rd, (uint16_t)len };
	return fg_dnssec_put_rrsig(b, FG_SEC_NS, name, s, cache_key, name, FG_TYPE_NSEC, ttl,
				   ttl, &ref, 1);
}
