/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The epoch scheduler of external services (see grant/epoch.h).
 */
#include "grant/epoch.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "dns/msg.h"

/* one grant transaction and one UPDATE per zone and epoch: 2 families of
 * FG_CONF_EXTERNAL_PER_ZONE services, and their pending addresses as well
 * fit one engine batch (64) */
#define ZONE_SLOTS_MAX (2 * FG_CONF_EXTERNAL_PER_ZONE)

const char *fg_epoch_result_name(enum fg_epoch_result r)
{
	static const char *const names[FG_EPOCH_NRESULTS] = {
		"ok", "grant-failed", "timeout", "network", "malformed", "refused",
		"notauth", "badkey", "badsig", "badtime", "rcode",
	};
	return (unsigned)r < FG_EPOCH_NRESULTS ? names[r] : "rcode";
}

enum fg_epoch_result fg_epoch_classify(const fg_update_resp_t *resp)
{
	if (resp->has_tsig && resp->tsig_error) {
		switch (resp->tsig_error) {
		case FG_UPD_BADKEY: return FG_EPOCH_BADKEY;
		case FG_UPD_BADSIG: return FG_EPOCH_BADSIG;
		case FG_UPD_BADTIME: return FG_EPOCH_BADTIME;
		default: return FG_EPOCH_NOTAUTH;
		}
	}
	switch (resp->rcode) {
	case FG_UPD_NOERROR: return FG_EPOCH_OK;
	case FG_UPD_REFUSED: return FG_EPOCH_REFUSED;
	case FG_UPD_NOTAUTH: return FG_EPOCH_NOTAUTH;
	/* RFC 8945 5.3: an unsigned error answer may carry the TSIG error
	 * as the extended rcode when there is no TSIG to carry it */
	case FG_UPD_BADKEY: return FG_EPOCH_BADKEY;
	case FG_UPD_BADSIG: return FG_EPOCH_BADSIG;
	case FG_UPD_BADTIME: return FG_EPOCH_BADTIME;
	default: return FG_EPOCH_RCODE;
	}
}

void fg_epoch_free(fg_epoch_t *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nzones; i++) {
		free(e->zones[i].zone);
		free(e->zones[i].key);
	}
	for (size_t i = 0; i < e->nslots; i++) {
		free(e->slots[i].service);
		free(e->slots[i].name);
	}
	free(e->zones);
	free(e->slots);
	free(e);
}

static bool svc_has_family(const fg_conf_t *conf, const fg_conf_service_t *s, int family)
{
	bool pool = false, backend = false;
	for (size_t i = 0; i < s->npools; i++)
		for (size_t k = 0; k < conf->npools; k++)
			if (!strcmp(conf->pools[k].id, s->pools[i]) &&
			    conf->pools[k].prefix.family == family)
				pool = true;
	for (size_t i = 0; i < s->nbackends; i++)
		if (s->backends[i].ss.ss_family == family)
			backend = true;
	return pool && backend;
}

int fg_epoch_new(const fg_conf_t *conf, uint64_t now_ms, fg_epoch_t **out)
{
	fg_epoch_t *e = calloc(1, sizeof(*e));
	size_t n = conf->nservices ? conf->nservices : 1;
	if (!e)
		return -ENOMEM;
	e->zones = calloc(n, sizeof(*e->zones));
	e->slots = calloc(2 * n, sizeof(*e->slots));
	if (!e->zones || !e->slots)
		goto nomem;
	/* zones in order of first mention; slots grouped by zone */
	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *sv = &conf->services[s];
		if (!sv->external.set)
			continue;
		char zc[256];
		fg_dname_canon(sv->external.zone, zc);
		bool seen = false;
		for (size_t z = 0; z < e->nzones && !seen; z++) {
			char oc[256];
			fg_dname_canon(e->zones[z].zone, oc);
			seen = !strcmp(oc, zc);
		}
		if (seen)
			continue;
		fg_epoch_zone_t *z = &e->zones[e->nzones++];
		if (!(z->zone = strdup(sv->external.zone)) || !(z->key = strdup(sv->external.key)))
			goto nomem;
		z->server = sv->external.server;
		z->epoch_ms = sv->external.epoch_ms;
		z->timeout_ms = sv->external.timeout_ms;
		z->next_ms = now_ms;
		z->first = e->nslots;
		for (size_t t = s; t < conf->nservices; t++) {
			const fg_conf_service_t *o = &conf->services[t];
			char tc[256];
			if (!o->external.set)
				continue;
			fg_dname_canon(o->external.zone, tc);
			if (strcmp(tc, zc))
				continue;
			for (int f = 0; f < 2; f++) {
				int family = f ? AF_INET6 : AF_INET;
				if (!svc_has_family(conf, o, family))
					continue;
				if (z->nslots == ZONE_SLOTS_MAX) {
					fg_epoch_free(e);
					return -E2BIG;
				}
				fg_epoch_slot_t *sl = &e->slots[e->nslots++];
				z->nslots++;
				sl->service_id = (uint32_t)t;
				if (!(sl->service = strdup(o->id)) || !(sl->name = strdup(o->name)))
					goto nomem;
				sl->family = family;
				sl->ttl_s = o->ttl_ms / 1000u;
				sl->hold_ms = fg_conf_service_grant_ms(o);
				sl->linger_ms = o->ttl_ms + o->grace_ms;
				if (!sl->linger_ms)
					sl->linger_ms = 1;
			}
		}
	}
	*out = e;
	return 0;
nomem:
	fg_epoch_free(e);
	return -ENOMEM;
}

void fg_epoch_adopt(fg_epoch_t *e, const fg_epoch_t *prev)
{
	if (!prev)
		return;
	for (size_t i = 0; i < e->nslots; i++) {
		fg_epoch_slot_t *s = &e->slots[i];
		for (size_t k = 0; k < prev->nslots; k++) {
			const fg_epoch_slot_t *p = &prev->slots[k];
			char a[256], b[256];
			fg_dname_canon(s->name, a);
			fg_dname_canon(p->name, b);
			if (p->family != s->family || strcmp(p->service, s->service) || strcmp(a, b))
				continue;
			s->has_cur = p->has_cur;
			s->has_pend = p->has_pend;
			memcpy(s->cur, p->cur, 16);
			memcpy(s->pend, p->pend, 16);
			s->rotations = p->rotations;
		}
	}
	/* a zone whose epoch did not change keeps its rhythm and serial */
	for (size_t z = 0; z < e->nzones; z++)
		for (size_t k = 0; k < prev->nzones; k++) {
			char a[256], b[256];
			fg_dname_canon(e->zones[z].zone, a);
			fg_dname_canon(prev->zones[k].zone, b);
			if (strcmp(a, b))
				continue;
			e->zones[z].have_serial = prev->zones[k].have_serial;
			e->zones[z].serial = prev->zones[k].serial;
			if (prev->zones[k].epoch_ms == e->zones[z].epoch_ms)
				e->zones[z].next_ms = prev->zones[k].next_ms;
			memcpy(e->zones[z].results, prev->zones[k].results,
			       sizeof(e->zones[z].results));
			e->zones[z].serial_stuck = prev->zones[k].serial_stuck;
		}
}

uint64_t fg_epoch_next_due(const fg_epoch_t *e)
{
	uint64_t next = UINT64_MAX;
	for (size_t z = 0; z < e->nzones; z++)
		if (e->zones[z].next_ms < next)
			next = e->zones[z].next_ms;
	return next;
}

/* Grant the published addresses of the zone again: for linger_ms once
 * replaced (`linger`), else for another hold_ms, and then the pending ones
 * too (an update whose answer was lost may have published them). Best
 * effort: the caller reports a failure. */
static int regrant_current(fg_epoch_t *e, const fg_epoch_zone_t *z, const fg_epoch_ops_t *ops,
			   void *ctx, bool linger)
{
	fg_grant_pub_t p[2 * ZONE_SLOTS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < z->nslots; i++) {
		fg_epoch_slot_t *s = &e->slots[z->first + i];
		if (s->has_cur) {
			p[n] = (fg_grant_pub_t){ .service_id = s->service_id, .family = s->family,
						 .timeout_ms = linger ? s->linger_ms : s->hold_ms };
			memcpy(p[n++].addr, s->cur, 16);
		}
		if (!linger && s->has_pend) {
			p[n] = (fg_grant_pub_t){ .service_id = s->service_id, .family = s->family,
						 .timeout_ms = s->hold_ms };
			memcpy(p[n++].addr, s->pend, 16);
		}
	}
	return n ? ops->grant(ctx, p, n) : 0;
}

enum fg_epoch_result fg_epoch_run_zone(fg_epoch_t *e, size_t zi, uint64_t now_ms,
				       const fg_epoch_ops_t *ops, void *ctx,
				       fg_epoch_report_t *rep)
{
	fg_epoch_zone_t *z = &e->zones[zi];
	fg_grant_pub_t p[ZONE_SLOTS_MAX];
	fg_update_rrset_t sets[ZONE_SLOTS_MAX];
	size_t n = z->nslots;

	memset(rep, 0, sizeof(*rep));
	/* the next epoch counts from this one's start; a late run does not
	 * pile up runs behind it */
	z->next_ms += z->epoch_ms;
	if (z->next_ms <= now_ms)
		z->next_ms = now_ms + z->epoch_ms;

	/* 1. the next addresses, granted before anything names them */
	for (size_t i = 0; i < n; i++) {
		fg_epoch_slot_t *s = &e->slots[z->first + i];
		p[i] = (fg_grant_pub_t){ .service_id = s->service_id, .family = s->family,
					 .fresh = !s->has_pend, .timeout_ms = s->hold_ms };
		if (s->has_pend)
			memcpy(p[i].addr, s->pend, 16);
	}
	int rc = n ? ops->grant(ctx, p, n) : 0;
	if (rc < 0) {
		rep->result = FG_EPOCH_GRANT_FAILED;
		rep->rc = rc;
		snprintf(rep->err, sizeof(rep->err), "granting %zu new address%s failed: %s; "
			 "nothing published", n, n == 1 ? "" : "es", fg_strerror(rc));
		/* a fresh pick that failed to grant is not kept (the next
		 * epoch picks again); an earlier pending one is, and is tried
		 * again below with the published ones */
		(void)regrant_current(e, z, ops, ctx, false);
		z->results[rep->result]++;
		return rep->result;
	}
	for (size_t i = 0; i < n; i++) {
		fg_epoch_slot_t *s = &e->slots[z->first + i];
		memcpy(s->pend, p[i].addr, 16);
		s->has_pend = true;
		sets[i] = (fg_update_rrset_t){ .name = s->name, .ttl = s->ttl_s,
					       .type = s->family == AF_INET6 ? FG_TYPE_AAAA
									     : FG_TYPE_A };
		memcpy(sets[i].addr, s->pend, 16);
	}

	/* 2. publish, one message for the zone */
	fg_update_resp_t resp;
	enum fg_epoch_result res = FG_EPOCH_OK;
	memset(&resp, 0, sizeof(resp));
	rc = ops->update(ctx, z, sets, n, &resp, &res, rep->err, sizeof(rep->err));
	if (rc == 0) {
		res = fg_epoch_classify(&resp);
		if (res != FG_EPOCH_OK)
			snprintf(rep->err, sizeof(rep->err), "server answered %s%s%s",
				 fg_update_rcode_name(resp.rcode),
				 resp.has_tsig && resp.tsig_error ? ", TSIG error " : "",
				 resp.has_tsig && resp.tsig_error ?
				 fg_update_rcode_name(resp.tsig_error) : "");
	} else if (res == FG_EPOCH_OK) {
		res = FG_EPOCH_NETWORK;
	}
	rep->result = res;
	rep->rc = rc;
	z->results[res]++;
	if (res != FG_EPOCH_OK) {
		/* 4. still published: keep it granted for another epoch */
		int grc = regrant_current(e, z, ops, ctx, false);
		if (grc < 0) {
			size_t l = strlen(rep->err);
			snprintf(rep->err + l, sizeof(rep->err) - l,
				 "; granting the published addresses again failed: %s",
				 fg_strerror(grc));
		}
		return res;
	}

	/* 3. published: the old addresses linger for ttl + grace, the new
	 * ones are current */
	int lrc = regrant_current(e, z, ops, ctx, true);
	if (lrc < 0)
		snprintf(rep->err, sizeof(rep->err), "letting the replaced addresses go after "
			 "ttl + grace failed: %s (they expire an epoch later)", fg_strerror(lrc));
	for (size_t i = 0; i < n; i++) {
		fg_epoch_slot_t *s = &e->slots[z->first + i];
		if (!s->has_cur || memcmp(s->cur, s->pend, 16))
			rep->published++;
		memcpy(s->cur, s->pend, 16);
		s->has_cur = true;
		s->has_pend = false;
		s->rotations++;
	}
	uint32_t serial = 0;
	char serr[192] = "";
	if (ops->serial && ops->serial(ctx, z, &serial, serr, sizeof(serr)) == 0) {
		rep->serial_read = true;
		rep->serial_before = z->serial;
		rep->serial_after = serial;
		rep->serial_moved = !z->have_serial || fg_serial_gt(serial, z->serial);
		if (z->have_serial && !rep->serial_moved)
			z->serial_stuck++;
		z->serial = serial;
		z->have_serial = true;
	} else if (!rep->err[0]) {
		snprintf(rep->err, sizeof(rep->err), "reading the SOA serial: %s", serr);
	}
	return FG_EPOCH_OK;
}
