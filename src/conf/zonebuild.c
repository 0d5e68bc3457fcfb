/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "conf/zonebuild.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

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

int fg_conf_build_zonedb(const fg_conf_t *conf, fg_zonedb_t **out,
			 fg_conf_diag_fn diag, void *ctx)
{
	char err[256];
	int errors = 0;
	fg_zonedb_t *db = fg_zonedb_new();

	if (!db)
		return -ENOMEM;
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
	}

	for (size_t s = 0; s < conf->nservices; s++) {
		const fg_conf_service_t *sv = &conf->services[s];
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
		}
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
