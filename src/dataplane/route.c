/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Decoy routing through rtnetlink (libmnl): packets the ruleset marks with
 * cfg->decoy_mark are untracked and keep their pool destination; a policy
 * rule `fwmark decoy_mark lookup route_table` sends them to a table whose
 * only route is a default route via the decoy bed.
 *
 * Each call opens a short-lived NETLINK_ROUTE socket: setup/destroy are
 * rare and this keeps the NAT handle free of routing state.
 *
 * Only our own state is ever written: the table must be the data plane's
 * (FG_DECOY_ROUTE_TABLE, never main/local/default/unspec), our routes and
 * rules carry protocol FG_RTPROT, a default route found in the table that
 * is not ours fails setup (never replaced), and destroy deletes only
 * entries with our protocol.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/dp_int.h"

#define DEFAULT_MARK  FG_DECOY_MARK
#define DEFAULT_TABLE FG_DECOY_ROUTE_TABLE

struct rtnl {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char buf[8192];
};

static int rtnl_open(struct rtnl *r)
{
	int one = 1;

	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(r->nl);
		return e;
	}
	mnl_socket_setsockopt(r->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

/* Send one request with NLM_F_ACK and return the kernel's verdict (0 or
 * -errno). */
static int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh)
{
	ssize_t n;
	int rc;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		rc = mnl_cb_run(r->buf, (size_t)n, r->seq, r->portid, NULL, NULL);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -errno : 0;
	}
}

static uint32_t mark_of(const fg_nat_config_t *cfg)
{
	return cfg->decoy_mark ? cfg->decoy_mark : DEFAULT_MARK;
}

static uint32_t table_of(const fg_nat_config_t *cfg)
{
	return cfg->route_table ? cfg->route_table : DEFAULT_TABLE;
}

static bool family_has_pools(const fg_nat_config_t *cfg, int family)
{
	size_t i;

	for (i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].family == family)
			return true;
	return false;
}

static int rule_msg(struct rtnl *r, const fg_nat_config_t *cfg, int family, bool add)
{
	char buf[512] = { 0 };  /* FRA_PROTOCOL (u8) leaves 3 bytes of padding */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *h;

	nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	/* EXCL: without it the kernel happily adds a duplicate rule. */
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
	h = mnl_nlmsg_put_extra_header(nlh, sizeof(*h));
	h->family = (uint8_t)family;
	h->action = FR_ACT_TO_TBL;
	h->table = RT_TABLE_UNSPEC; /* the id goes in FRA_TABLE (> 255 ok) */
	mnl_attr_put_u32(nlh, FRA_PRIORITY, FG_DECOY_RULE_PREF);
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark_of(cfg));
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	mnl_attr_put_u32(nlh, FRA_TABLE, table_of(cfg));
	/* on delete too: the kernel then removes only a rule of ours */
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, FG_RTPROT);
	return rtnl_talk(r, nlh);
}

/* The next hop of the decoy bed for `family`: its family and address, or
 * 0 when there is none usable. */
static int nexthop_for(const fg_nat_config_t *cfg, int family, const uint8_t **via)
{
	if (family == AF_INET6 && cfg->decoy_set && cfg->decoy_family == AF_INET6) {
		*via = cfg->decoy_via;
		return AF_INET6;
	}
	if (family == AF_INET6 && cfg->decoy6_set) {
		*via = cfg->decoy_via6;
		return AF_INET6;
	}
	if (family == AF_INET && cfg->decoy_set &&
	    (cfg->decoy_family == AF_INET || cfg->decoy_family == AF_INET6)) {
		*via = cfg->decoy_via;
		return cfg->decoy_family; /* v4 route via v6 gateway: RTA_VIA */
	}
	return 0;
}

/* What default routes table_of(cfg) holds for one family. */
struct route_scan {
	uint32_t table;
	bool ours, foreign;
	uint8_t foreign_proto;
};

static int scan_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_scan *sc = data;
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rt))
		return MNL_CB_OK;
	table = rt->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rt))
		if (mnl_attr_get_type(a) == RTA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			table = mnl_attr_get_u32(a);
	if (table != sc->table || rt->rtm_dst_len != 0)
		return MNL_CB_OK;
	if (rt->rtm_protocol == FG_RTPROT) {
		sc->ours = true;
	} else if (!sc->foreign) {
		sc->foreign = true;
		sc->foreign_proto = rt->rtm_protocol;
	}
	return MNL_CB_OK;
}

static int route_scan(struct rtnl *r, int family, struct route_scan *sc)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	int one = 1, rc;
	ssize_t n;

	/* strict checking lets the kernel filter the dump by table; the
	 * callback filters again for kernels that ignore it */
	mnl_socket_setsockopt(r->nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++r->seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	mnl_attr_put_u32(nlh, RTA_TABLE, sc->table);
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		rc = mnl_cb_run(r->buf, (size_t)n, r->seq, r->portid, scan_cb, sc);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0)
			return -errno;
	}
}

/* replace: only after route_scan() found a route of ours there. */
static int route_msg(struct rtnl *r, const fg_nat_config_t *cfg, int family, bool add,
		     bool replace)
{
	char buf[512] = { 0 };  /* libmnl 1.0.4 leaves attribute padding (RTA_VIA: 18 bytes) unset */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	const uint8_t *via = NULL;
	int vfam = nexthop_for(cfg, family, &via);

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* EXCL unless the route there is ours (a changed decoy next hop is
	 * then updated in place, with no moment without a route). */
	nlh->nlmsg_flags = !add ? 0 : replace ? NLM_F_CREATE | NLM_F_REPLACE :
		NLM_F_CREATE | NLM_F_EXCL;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = 0;
	rt->rtm_table = RT_TABLE_UNSPEC;
	rt->rtm_protocol = FG_RTPROT;  /* on delete too: only ours match */
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = vfam ? RTN_UNICAST : RTN_BLACKHOLE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table_of(cfg));
	if (add && vfam == family) {
		mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET6 ? 16 : 4, via);
	} else if (add && vfam) {
		/* struct rtvia: a family, then the address */
		uint8_t rv[sizeof(struct rtvia) + 16];
		__kernel_sa_family_t vf = (__kernel_sa_family_t)vfam;

		memcpy(rv, &vf, sizeof(vf));
		memcpy(rv + sizeof(struct rtvia), via, 16);
		mnl_attr_put(nlh, RTA_VIA, sizeof(rv), rv);
	}
	if (!add) {
		/* delete whatever default route is there, of any type */
		rt->rtm_type = RTN_UNSPEC;
		rt->rtm_scope = RT_SCOPE_NOWHERE;
	}
	return rtnl_talk(r, nlh);
}

static int table_check(uint32_t table);

int fg_route_setup(const fg_nat_config_t *cfg)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct rtnl *r = calloc(1, sizeof(*r));
	int i, rc = 0;

	if (!r)
		return -ENOMEM;
	if ((rc = table_check(table_of(cfg))) < 0) {
		free(r);
		return rc;
	}
	if ((rc = rtnl_open(r)) < 0) {
		log_err("route: netlink socket: %s", strerror(-rc));
		free(r);
		return rc;
	}
	for (i = 0; i < 2 && rc == 0; i++) {
		struct route_scan sc = { .table = table_of(cfg) };
		const uint8_t *via;
		int f = fams[i];

		if (!family_has_pools(cfg, f))
			continue;
		if (!nexthop_for(cfg, f, &via))
			log_warn("route: no %s next hop for the decoy bed: decoy traffic of that family is dropped",
				 f == AF_INET6 ? "IPv6" : "IPv4");
		if ((rc = route_scan(r, f, &sc)) < 0) {
			log_err("route: reading %s routes of table %u: %s",
				f == AF_INET6 ? "IPv6" : "IPv4", sc.table, strerror(-rc));
			break;
		}
		if (sc.foreign) {
			log_err("route: table %u already holds an %s default route that fluxgate did "
				"not install (protocol %u): refusing to touch it; remove it or free the table",
				sc.table, f == AF_INET6 ? "IPv6" : "IPv4", (unsigned)sc.foreign_proto);
			rc = -EEXIST;
			break;
		}
		rc = route_msg(r, cfg, f, true, sc.ours);
		if (rc < 0) {
			log_err("route: %s default route in table %u: %s",
				f == AF_INET6 ? "IPv6" : "IPv4", table_of(cfg), strerror(-rc));
			break;
		}
		rc = rule_msg(r, cfg, f, true);
		if (rc == -EEXIST)
			rc = 0;
		if (rc < 0)
			log_err("route: %s rule fwmark 0x%x lookup %u: %s",
				f == AF_INET6 ? "IPv6" : "IPv4", mark_of(cfg), table_of(cfg),
				strerror(-rc));
	}
	mnl_socket_close(r->nl);
	free(r);
	return rc < 0 ? -FG_ENETLINK : 0;
}

int fg_route_destroy(const fg_nat_config_t *cfg)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct rtnl *r = calloc(1, sizeof(*r));
	int i, rc, ret = 0;

	if (!r)
		return -ENOMEM;
	if ((rc = table_check(table_of(cfg))) < 0) {
		free(r);
		return rc;
	}
	if ((rc = rtnl_open(r)) < 0) {
		free(r);
		return rc;
	}
	for (i = 0; i < 2; i++) {
		rc = rule_msg(r, cfg, fams[i], false);
		if (rc < 0 && rc != -ENOENT && rc != -ESRCH && rc != -EAFNOSUPPORT)
			ret = rc;
		rc = route_msg(r, cfg, fams[i], false, false);
		if (rc < 0 && rc != -ENOENT && rc != -ESRCH && rc != -EAFNOSUPPORT)
			ret = rc;
	}
	mnl_socket_close(r->nl);
	free(r);
	if (ret < 0)
		log_err("route: destroy: %s", strerror(-ret));
	return ret < 0 ? -FG_ENETLINK : 0;
}

/* 0 when `table` is the data plane's own routing table, else -EPERM
 * (logged): the host's tables (main, local, ...) are never written. */
static int table_check(uint32_t table)
{
	/* 0 unspec, 253 default, 254 main, 255 local: the host's own */
	if (table == FG_DECOY_ROUTE_TABLE)
		return 0;
	log_err("route: table %u refused: the data plane writes only its own table %u%s", table,
		FG_DECOY_ROUTE_TABLE,
		table == 0 || (table >= 253 && table <= 255) ? " (0, 253, 254, 255 are the host's)" : "");
	return -EPERM;
}

static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

void fg_dp_check_sysctls(const fg_nat_config_t *cfg)
{
	int v;

	/* The daemon does not change system settings: the operator (or the
	 * unit file) does. We only say what is missing. */
	if (family_has_pools(cfg, AF_INET) &&
	    read_sysctl("/proc/sys/net/ipv4/ip_forward") == 0)
		log_warn("net.ipv4.ip_forward=0: the gateway will not forward pool traffic");
	if (family_has_pools(cfg, AF_INET6) &&
	    read_sysctl("/proc/sys/net/ipv6/conf/all/forwarding") == 0)
		log_warn("net.ipv6.conf.all.forwarding=0: the gateway will not forward IPv6 pool traffic");
	v = read_sysctl("/proc/sys/net/netfilter/nf_conntrack_tcp_loose");
	if (v > 0)
		log_warn("net.netfilter.nf_conntrack_tcp_loose=%d: set it to 0, or mid-stream "
			 "packets (ACK scans) create conntrack state", v);
}
