/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Misroute classification against the gateway's grants (misroute.h). */
#include "lab/misroute.h"

#include <string.h>

bool lab_grant_covers(const lab_grant_span_t *g, uint8_t fam, const uint8_t src[16])
{
	if (g->fam != fam)
		return false;
	unsigned bits = g->plen, max = fam == 6 ? 128 : 32;
	if (bits == 0)
		return true;
	if (bits > max)
		bits = max;
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(g->client, src, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (g->client[full] & mask) == (src[full] & mask);
}

double lab_syn_retrans_time(double t, unsigned k)
{
	if (k > 16)
		k = 16;   /* tcp_syn_retries tops out at 127; the lab's at 6 */
	return t + (double)((1u << k) - 1u);
}

/* the last end of a covering grant committed by t, and whether one was
 * live at t (ends more than the margin after it) */
static bool live_at(const lab_grant_span_t *spans, size_t n, uint8_t fam, const uint8_t src[16],
		    const uint8_t addr[16], double t, bool *seen, double *last_end)
{
	size_t alen = fam == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++) {
		const lab_grant_span_t *g = &spans[i];
		if (memcmp(g->addr, addr, alen) || !lab_grant_covers(g, fam, src))
			continue;
		/* a grant committed after the SYN did not let it in (the SYN
		 * may race its log line by the margin) */
		if (g->start > t + LAB_MIS_MARGIN_S)
			continue;
		if (g->end_min > t + LAB_MIS_MARGIN_S) {
			*last_end = g->end;
			return true;
		}
		if (!*seen || g->end > *last_end)
			*last_end = g->end;
		*seen = true;
	}
	return false;
}

enum lab_mis_class lab_misroute_class(const lab_grant_span_t *spans, size_t n, uint8_t fam,
				      const uint8_t src[16], const uint8_t addr[16], double t_syn,
				      unsigned syn_retrans, double *after)
{
	bool seen = false;
	double end = 0;
	if (live_at(spans, n, fam, src, addr, t_syn, &seen, &end)) {
		if (syn_retrans) {
			/* the decoy (or nobody) got the SYN that went through */
			double t_last = lab_syn_retrans_time(t_syn, syn_retrans);
			bool seen2 = false;
			double end2 = 0;
			if (!live_at(spans, n, fam, src, addr, t_last, &seen2, &end2)) {
				*after = t_last - end2;
				return LAB_MIS_LATE_RETRANS;
			}
			end = end2;
		}
		*after = t_syn - end;
		return LAB_MIS_PRODUCT;
	}
	if (!seen) {
		/* nothing ever let this client in at that address: the answer
		 * it used had no grant behind it */
		*after = 0;
		return LAB_MIS_PRODUCT;
	}
	*after = t_syn - end;
	return LAB_MIS_LATE;
}
