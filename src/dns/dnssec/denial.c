/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "dns/dnssec/denial.h"

#include <string.h>

#include "common/err.h"
#include "dns/dnssec/sign.h"
#include "dns/msg.h"

int fg_nsec_bitmap(const uint16_t *types, unsigned n, uint8_t *out, size_t cap)
{
	uint8_t win[256][32];
	uint8_t used[256] = { 0 };   /* octets used in each window, 0 = empty */

	memset(win, 0, sizeof(win));
	for (unsigned i = 0; i < n; i++) {
		unsigned w = types[i] >> 8, lo = types[i] & 0xFF;
		win[w][lo >> 3] |= (uint8_t)(0x80u >> (lo & 7));
		if (used[w] < (lo >> 3) + 1)
			used[w] = (uint8_t)((lo >> 3) + 1);
	}
	size_t o = 0;
	for (unsigned w = 0; w < 256; w++) {
		if (!used[w])
			continue;
		if (o + 2u + used[w] > cap)
			return -FG_ESPACE;
		out[o++] = (uint8_t)w;
		out[o++] = used[w];
		memcpy(out + o, win[w], used[w]);
		o += used[w];
	}
	return (int)o;
}

int fg_nsec_compact(const uint8_t *owner, const uint16_t *types, unsigned n,
		    bool nxname, uint8_t *out, size_t cap)
{
	size_t ol = 0;
	while (owner[ol])
		ol += 1u + owner[ol];
	ol++;
	if (ol + 2 > FG_DNS_MAXNAME)
		return -FG_ENAME;
	if (cap < ol + 2)
		return -FG_ESPACE;
	out[0] = 1;
	out[1] = 0;
	for (size_t i = 0; i < ol; i++)
		out[2 + i] = owner[i];
	/* lowercase the labels' text, never the length octets */
	for (size_t i = 2; out[i];) {
		uint8_t l = out[i];
		for (size_t j = i + 1; j <= i + l; j++)
			if (out[j] >= 'A' && out[j] <= 'Z')
				out[j] = (uint8_t)(out[j] + 32);
		i += 1u + l;
	}
	uint16_t all[64];
	unsigned na = 0;
	for (unsigned i = 0; i < n && na < 61; i++)
		all[na++] = types[i];
	all[na++] = FG_TYPE_RRSIG;
	all[na++] = FG_TYPE_NSEC;
	if (nxname)
		all[na++] = FG_TYPE_NXNAME;
	int bl = fg_nsec_bitmap(all, na, out + ol + 2, cap - ol - 2);
	if (bl < 0)
		return bl;
	return (int)(ol + 2 + (size_t)bl);
}
