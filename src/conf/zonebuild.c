/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conf/zonebuild.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/err.h"
#include "conf/keydir.h"
#include "conf/keyfiles.h"
#include "dns/dnssec/signer.h"

/* SOA names in the config are usually written absolute without the final
 * dot ("ns1.example.test" in zone example.test): a name that already ends
 * with the zone's domain is taken as absolute, others stay relative. */
static const char *soa_name(const char *name, const char *domain, char *buf, size_t len)
{
	size_t n = strlen(name), d = strlen(domain);
	while (d && domain[d - 1] == '.')
		d--;
	if (!n || name[n - 1] == '.' || n < d)
		return name;
	if (strncasecmp(name + n - d, domain, d) == 0 && (n == d || name[n - d - 1] == '.')) {
		snprintf(buf, len, "%s.", name);
		return buf;
	}
	return name;
}

static void diagf(fg_conf_diag_fn diag, void *ctx, const fg_conf_t *conf, int line,
		  const char *fmt, const char *a, const char *b)
{
	static const char hex[] = "0123456789abcdef";
	char raw[512], msg[512 * 4];
	size_t o = 0;

	snprintf(raw, sizeof(raw), fmt, a, b);
	/* record errors echo the record text: its control bytes are shown
	 * \xHH like every other config value, never sent raw to a terminal */
	for (const char *c = raw; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x20 || u == 0x7f) {
			msg[o++] = '\\';
			msg[o++] = 'x';
			msg[o++] = hex[u >> 4];
			msg[o++] = hex[u & 15];
		} else {
			msg[o++] = (char)u;
		}
	}
	msg[o] = '\0';
	if (diag)
		diag(ctx, conf->path ? conf->path : "(config)", line, msg);
}

static int sfail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int sfail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static uint32_t wall_clock(void *ctx)
{
	(void)ctx;
	return (uint32_t)time(NULL);
}

struct key_src {
	const fg_zonedb_t *prev;
	const fg_keyfiles_t *kf;
	int rc;                 /* a .private text [priv] sent that does not load */
	char err[200];
};

/* A private key the unprivileged process cannot open: the text the [priv]
 * process read for this reload (a new key of a rollover), else the key of
 * the running db (see fg_conf_build_zonedb_keys). */
static int key_fallback(void *ctx, const char *dir, const char *pname, fg_dnskey_t *k)
{
	struct key_src *src = ctx;
	char path[FG_KF_MAX_PATH + 1];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, pname) < sizeof(path)) {
		const fg_keyfile_t *f = fg_keyfiles_find(src->kf, FG_KF_DNSSEC, path);
		if (f) {
			char e2[160];
			int rc = fg_dnskey_parse_private((const char *)f->data, f->len, k, e2,
							 sizeof(e2));
			if (rc == 0)
				return 1;
			src->rc = rc;
			fg_errf(src->err, sizeof(src->err), rc, "%s/%s: %s", dir, pname, e2);
			return rc;
		}
	}
	if (!src->prev)
		return -ENOENT;
	return fg_signer_copy_key(fg_zonedb_signer(src->prev, k->owner), k->rdata, k->rdlen, k);
}

/* zone.dnssec: read the zone's keys and attach a signer. Returns 0 or
 * a negative error with a message in err. */
static int attach_signer(const fg_conf_zone_t *cz, const fg_zonedb_t *prev,
			 const fg_keyfiles_t *kf, fg_zone_t *zone, char *err, size_t errlen)
{
	uint8_t apex[FG_DNS_MAXNAME];
	fg_dnskey_t keys[FG_SIGNER_MAXKEYS];
	int alg = fg_dnssec_alg_from_name(cz->dnssec.algorithm);
	int64_t now = (int64_t)time(NULL);

	if (cz->dnssec.rrsig_refresh >= cz->dnssec.rrsig_lifetime)
		return sfail(err, errlen, -FG_ESCHEMA,
				   "dnssec.rrsig-refresh must be shorter than dnssec.rrsig-lifetime");
	if (alg < 0 || fg_dns_name_from_text(cz->domain, NULL, apex) < 0)
		return sfail(err, errlen, -FG_ESCHEMA, "bad dnssec algorithm or zone name");
	struct key_src src = { .prev = prev, .kf = kf };
	int n = fg_keydir_load(cz->dnssec.keys, cz->domain, alg, true, kf,
			       prev || kf ? key_fallback : NULL, &src, keys,
			       FG_SIGNER_MAXKEYS, err, errlen);
	if (n < 0 && src.rc < 0)
		return sfail(err, errlen, src.rc, "%s", src.err);
	if (n < 0)
		return n;
	if (n == 0)
		return sfail(err, errlen, -FG_ESCHEMA,
				   "no %s key in %s (make one: fluxctl dnssec keygen %s --dir %s)",
				   cz->dnssec.algorithm, cz->dnssec.keys, cz->domain, cz->dnssec.keys);
	fg_signer_t *sg = fg_signer_new(apex, cz->dnssec.rrsig_lifetime, cz->dnssec.rrsig_refresh,
					cz->ttl, wall_clock, NULL);
	int rc = sg ? 0 : -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = fg_signer_add_key(sg, &keys[i], now, err, errlen);
		fg_dnskey_clear(&keys[i]);
	}
	if (rc == 0)
		rc = fg_signer_freeze(sg, err, errlen);
	if (rc < 0) {
		fg_signer_free(sg);
		return rc;
	}
	/* the signature counters survive a reload (new signer, new caches) */
	if (prev)
		fg_signer_carry_stats(sg, fg_zonedb_signer(prev, apex));
	return fg_zone_set_signer(zone, sg);
}

int fg_conf_build_zonedb(const fg_conf_t *conf, fg_zonedb_t **out,
			 fg_conf_diag_fn diag, void *ctx)
{
	return fg_conf_build_zonedb_prev(conf, NULL, out, diag, ctx);
}

int fg_conf_build_zonedb_prev(const fg_conf_t *conf, const fg_zonedb_t *prev,
			      fg_zonedb_t **out, fg_conf_diag_fn diag, void *ctx)
{
	return fg_conf_build_zonedb_keys(conf, prev, NULL, out, diag, ctx);
}

int fg_conf_build_zonedb_keys(const fg_conf_t *conf, const fg_zonedb_t *prev,
			      const fg_keyfiles_t *kf, fg_zonedb_t **out,
			      fg_conf_diag_fn diag, void *ctx)
{
	char err[256];
	int errors = 0;
	fg_zonedb_t *db = fg_zonedb_new();

	if (!db)
		return -ENOMEM;
	if (conf->server.nsid) {
		char host[256] = "";
		const char *nsid = conf->server.nsid;
		if (!strcmp(nsid, "hostname")) {
			/* the name at (re)load time; too long a one is cut */
			if (gethostname(host, sizeof(host) - 1) < 0 || !host[0]) {
				diagf(diag, ctx, conf, 0, "server: nsid: %s%s", "hostname: cannot read the host name", "");
				errors++;
			}
			nsid = host;
		}
		size_t n = strlen(nsid);
		if (fg_zonedb_set_nsid(db, (const uint8_t *)nsid, n > FG_DNS_NSID_MAX ? FG_DNS_NSID_MAX : n) < 0)
			errors++;
	}
	/* zones[] maps each conf zone to its db zone so services can be
	 * attached to the zone that contains them */
	fg_zone_t *zones[conf->nzones ? conf->nzones : 1];

	for (size_t i = 0; i < conf->nzones; i++) {
		const fg_conf_zone_t *cz = &conf->zones[i];
		char mbuf[300], rbuf[300];
		fg_soa_params_t soa = {
			.mname = cz->soa.mname ? soa_name(cz->soa.mname, cz->domain, mbuf, sizeof(mbuf)) : NULL,
			.rname = cz->soa.rname ? soa_name(cz->soa.rname, cz->domain, rbuf, sizeof(rbuf)) : NULL,
			.serial = cz->soa.serial, .refresh = cz->soa.refresh,
			.retry = cz->soa.retry, .expire = cz->soa.expire,
			.minimum = cz->soa.minimum,
		};
		zones[i] = NULL;
		err[0] = '\0';
		if (fg_zonedb_add_zone(db, cz->domain, cz->ttl, &soa, &zones[i],
				       err, sizeof(err)) < 0) {
			diagf(diag, ctx, conf, cz->line, "zone '%s': %s", cz->domain, err);
			errors++;
			continue;
		}
		for (size_t r = 0; r < cz->nrecords; r++) {
			err[0] = '\0';
			if (fg_zone_add_record(zones[i], cz->records[r].text, err,
					       sizeof(err)) < 0) {
				diagf(diag, ctx, conf, cz->records[r].line,
				      "zone '%s': record: %s", cz->domain, err);
				errors++;
			}
		}
		if (cz->dnssec.set) {
			err[0] = '\0';
			if (attach_signer(cz, prev, kf, zones[i], err, sizeof(err)) < 0) {
				diagf(diag, ctx, conf, cz->line, "zone '%s': dnssec: %s", cz->domain, err);
				errors++;
			}
		}
	}

	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *sv = &conf->services[s];
		if (sv->external.set)
			continue;   /* an external primary serves it (daemon/ddns.h) */
		/* the longest zone that contains the name owns it */
		size_t best = conf->nzones, bestlen = 0;
		uint8_t name[FG_DNS_MAXNAME];
		if (fg_dns_name_from_text(sv->name, NULL, name) < 0) {
			diagf(diag, ctx, conf, sv->line, "service '%s': invalid name '%s'",
			      sv->id, sv->name);
			errors++;
			continue;
		}
		fg_dns_name_lower(name);
		for (size_t i = 0; i < conf->nzones; i++) {
			uint8_t zn[FG_DNS_MAXNAME];
			int zl = fg_dns_name_from_text(conf->zones[i].domain, NULL, zn);
			if (zl < 0 || !zones[i])
				continue;
			fg_dns_name_lower(zn);
			/* walk labels of name; compare each suffix with the zone */
			size_t off = 0;
			while (1) {
				if (memcmp(name + off, zn, (size_t)zl) == 0 &&
				    (size_t)zl > bestlen) {
					best = i;
					bestlen = (size_t)zl;
				}
				if (name[off] == 0)
					break;
				off += name[off] + 1u;
			}
		}
		if (best == conf->nzones) {
			diagf(diag, ctx, conf, sv->line,
			      "service '%s': name '%s' is not inside any zone", sv->id, sv->name);
			errors++;
			continue;
		}
		err[0] = '\0';
		if (fg_zone_add_service(zones[best], sv->name, (uint32_t)s, err, sizeof(err)) < 0) {
			diagf(diag, ctx, conf, sv->line, "service '%s': %s", sv->id, err);
			errors++;
			continue;
		}
		/* the families its pools give it (NSEC bitmaps of signed zones) */
		bool v4 = false, v6 = false;
		for (size_t p = 0; p < sv->npools; p++)
			for (size_t k = 0; k < conf->npools; k++)
				if (!strcmp(conf->pools[k].id, sv->pools[p])) {
					v4 |= conf->pools[k].prefix.family == AF_INET;
					v6 |= conf->pools[k].prefix.family == AF_INET6;
				}
		if (v4 || v6)
			fg_zone_set_service_families(zones[best], (uint32_t)s, v4, v6);
	}

	if (!errors) {
		err[0] = '\0';
		if (fg_zonedb_finalize(db, err, sizeof(err)) < 0) {
			diagf(diag, ctx, conf, 0, "zones: %s%s", err, "");
			errors++;
		}
	}
	if (errors) {
		fg_zonedb_free(db);
		return -FG_ESCHEMA;
	}
	*out = db;
	return 0;
}
