/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/tsigq.h"

#include <string.h>

#include "common/err.h"
#include "dns/msg.h"

const char *const fg_tsigq_result_names[FG_TSIGQ_NRESULTS] = {
	"ok", "badkey", "badsig", "badtime", "badtrunc", "formerr",
};

static enum fg_tsigq_result result_of(uint16_t error)
{
	switch (error) {
	case FG_TSIG_BADKEY: return FG_TSIGQ_BADKEY;
	case FG_TSIG_BADTIME: return FG_TSIGQ_BADTIME;
	case FG_TSIG_BADTRUNC: return FG_TSIGQ_BADTRUNC;
	default: return FG_TSIGQ_BADSIG;
	}
}

static void ready(fg_dns_result_t *res, int n, int rcode)
{
	memset(res, 0, sizeof(*res));
	res->kind = n > 0 ? FG_ANSWER_READY : FG_ANSWER_DROP;
	res->len = n > 0 ? (size_t)n : 0;
	res->rcode = rcode;
}

size_t fg_tsigq_cap(const fg_tsigq_t *t, const fg_dns_query_t *q, bool tcp, size_t outcap)
{
	if (!t->sign)
		return outcap;
	size_t lim = fg_dns_max_response(q, tcp), need = fg_tsig_response_size(&t->ctx);
	if (lim > outcap)
		lim = outcap;
	return lim > need ? lim - need : 0;
}

void fg_tsigq_answer_parsed(const fg_zonedb_t *db, const fg_conf_t *conf,
			    const uint8_t *pkt, size_t len, const fg_dns_query_t *q,
			    int prc, enum fg_dns_parse_action act, int rcode, bool tcp,
			    uint64_t now, uint8_t *out, size_t outcap, fg_dns_result_t *res,
			    fg_tsigq_t *t, const fg_tsigq_stats_t *st)
{
	memset(t, 0, sizeof(*t));
	/* a query we would not answer at all needs no TSIG either */
	if (!(prc < 0 && act == FG_DNS_DROP) && pkt && len >= FG_DNS_HDRLEN) {
		/* with no key configured a signed query is BADKEY */
		enum fg_tsig_verdict v = fg_tsig_verify_request(pkt, len, conf->tsig_keys,
								conf->tsig_keys ? conf->nkeys : 0,
								now, &t->ctx);
		if (v == FG_TSIG_FORMERR) {
			st->result[FG_TSIGQ_FORMERR]++;
			int n = fg_dns_build_error(pkt, len, q, FG_RCODE_FORMERR, out, outcap);
			ready(res, n, FG_RCODE_FORMERR);
			return;
		}
		if (v == FG_TSIG_REFUSE) {
			/* RFC 8945 5.3.2: NOTAUTH, the TSIG says why */
			st->result[result_of(t->ctx.error)]++;
			size_t cap = fg_dns_max_response(q, tcp);
			cap = cap > outcap ? outcap : cap;
			int n = fg_dns_build_error(pkt, len, q, FG_RCODE_NOTAUTH, out, cap);
			if (n > 0)
				n = fg_tsig_sign_response(out, (size_t)n, cap, &t->ctx, now);
			ready(res, n, FG_RCODE_NOTAUTH);
			return;
		}
		if (v == FG_TSIG_OK) {
			st->result[FG_TSIGQ_OK]++;
			t->sign = true;
			size_t ki = (size_t)(t->ctx.key - conf->tsig_keys);
			t->role = ki < conf->nkeys && conf->key_roles ? conf->key_roles[ki]
								     : FG_ROLE_NONE;
		}
	}
	fg_dns_answer_parsed(db, q, prc, act, rcode, tcp, out, fg_tsigq_cap(t, q, tcp, outcap), res);
}

bool fg_tsigq_hidden(const fg_conf_t *conf, const fg_tsigq_t *t, uint32_t service_id)
{
	if (service_id >= conf->nservices || conf->services[service_id].access != FG_ACCESS_PRIVATE)
		return false;
	return t->role != FG_ROLE_CLIENT && t->role != FG_ROLE_RESOLVER;
}

void fg_tsigq_private_answer(const fg_zonedb_t *db, const fg_conf_t *conf,
			     fg_grant_engine_t *eng, fg_grant_worker_t *gw, fg_grant_req_t *r,
			     bool tcp, uint8_t *out, size_t outcap, fg_dns_result_t *res,
			     const fg_tsigq_stats_t *st)
{
	const fg_conf_service_t *s = &conf->services[r->service_id];
	if (s->unauthenticated == FG_UNAUTH_DECOY) {
		st->private_denied[FG_UNAUTH_DECOY]++;
		/* an ordinary-looking answer with an address nobody was granted */
		int rc = eng && gw ? fg_grant_decoy_pick(eng, gw, r) : -FG_EGRANT;
		if (rc == 0 && r->nodata)
			fg_dns_answer_service_nodata(db, r->q, tcp, r->ecs_scope, out, outcap, res);
		else
			fg_dns_answer_service(db, r->q, tcp, rc == 0 ? r->addr : NULL, r->ttl,
					      r->ecs_scope, out, outcap, res);
		return;
	}
	st->private_denied[FG_UNAUTH_NXDOMAIN]++;
	fg_dns_answer_service_hidden(db, r->q, tcp, 0, out, outcap, res);
}

void fg_tsigq_sign(const fg_tsigq_t *t, const fg_dns_query_t *q, bool tcp, uint64_t now,
		   uint8_t *out, size_t outcap, fg_dns_result_t *res)
{
	if (!t->sign || res->kind != FG_ANSWER_READY || res->len < FG_DNS_HDRLEN)
		return;
	size_t cap = fg_dns_max_response(q, tcp);
	if (cap > outcap)
		cap = outcap;
	int n = fg_tsig_sign_response(out, res->len, cap, &t->ctx, now);
	if (n > 0)
		res->len = (size_t)n;
	else
		res->kind = FG_ANSWER_DROP;   /* never an unsigned answer to a signed query */
}
