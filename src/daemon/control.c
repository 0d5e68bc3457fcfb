/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "ctl/proto.h"
#include "grant/engine.h"

#define CTL_TIMEOUT_MS 2000

struct fg_control {
	int fd;
	char *path;
	uint64_t errors;
};

int fg_control_open(const char *path, fg_control_t **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fg_control_t *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ctl->path = strdup(path);
	if (ctl->fd < 0 || !ctl->path)
		goto fail;
	/* a stale socket from a killed daemon: replace it, but never a live
	 * one (a second daemon would steal the first one's control) */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			goto fail;
		}
		close(probe);
	}
	unlink(path);
	mode_t old = umask(0117);          /* socket file mode 0660 */
	int rc = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(ctl->fd, 16) < 0)
		goto fail;
	*out = ctl;
	return 0;
fail:;
	int e = errno;
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl->path);
	free(ctl);
	return -e;
}

int fg_control_fd(const fg_control_t *ctl)
{
	return ctl->fd;
}

uint64_t fg_control_errors(const fg_control_t *ctl)
{
	return ctl->errors;
}

void fg_control_close(fg_control_t *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t k = recv(fd, buf + got, len - got, 0);
		if (k == 0)
			return -FG_ETRUNC;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)k;
	}
	return 0;
}

static void send_json(int fd, uint16_t status, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	uint8_t hdr[FG_CTL_HDRLEN];
	fg_ctl_put_hdr(hdr, FG_CTL_RESPONSE, status, (uint32_t)len);
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { text, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(hdr) + len, sent = 0;
	while (sent < total) {
		ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			break;
		}
		sent += (size_t)k;
		/* advance the iovecs past what went out */
		size_t adv = (size_t)k;
		while (adv && mh.msg_iovlen) {
			if (adv >= mh.msg_iov[0].iov_len) {
				adv -= mh.msg_iov[0].iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + adv;
				mh.msg_iov[0].iov_len -= adv;
				adv = 0;
			}
		}
	}
	free(text);
}

static void send_error(int fd, int code, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	json_t *o = json_pack("{s:s}", "error", msg);
	send_json(fd, (uint16_t)(code < 0 ? -code : code), o);
	json_decref(o);
}

static int parse_ip(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static const char *scope_name(int s)
{
	static const char *const n[] = { "client", "net", "any" };
	return s >= 0 && s < 3 ? n[s] : "?";
}

/* ---- command handlers ------------------------------------------------- */

static json_t *worker_totals(const fg_server_t *srv)
{
	uint64_t qu = 0, qt = 0, drop = 0, tc = 0, svc = 0, gf = 0, ta = 0, tr = 0, ti = 0;
	uint64_t rc[24] = { 0 };
	for (unsigned i = 0; i < fg_server_nworkers(srv); i++) {
		const fg_worker_stats_t *s = fg_server_worker_stats(srv, i);
		qu += s->queries_udp;
		qt += s->queries_tcp;
		drop += s->dropped;
		tc += s->truncated;
		svc += s->service_answers;
		gf += s->grant_failures;
		ta += s->tcp_accepted;
		tr += s->tcp_rejected;
		ti += s->tcp_idle_closed;
		for (int k = 0; k < 24; k++)
			rc[k] += s->rcode[k];
	}
	json_t *rcodes = json_pack("{sI sI sI sI sI sI sI}",
				   "NOERROR", (json_int_t)rc[0], "FORMERR", (json_int_t)rc[1],
				   "SERVFAIL", (json_int_t)rc[2], "NXDOMAIN", (json_int_t)rc[3],
				   "NOTIMP", (json_int_t)rc[4], "REFUSED", (json_int_t)rc[5],
				   "BADVERS", (json_int_t)rc[16]);
	return json_pack("{sI sI sI sI sI sI sI sI sI so}",
			 "queries_udp", (json_int_t)qu, "queries_tcp", (json_int_t)qt,
			 "dropped", (json_int_t)drop, "truncated", (json_int_t)tc,
			 "granted_answers", (json_int_t)svc, "grant_failures", (json_int_t)gf,
			 "tcp_accepted", (json_int_t)ta, "tcp_rejected", (json_int_t)tr,
			 "tcp_idle_closed", (json_int_t)ti, "rcodes", rcodes);
}

static void pool_to_json(void *ctx, const char *id, int family, uint64_t size, uint64_t open)
{
	json_array_append_new((json_t *)ctx,
			      json_pack("{ss ss sI sI}", "id", id,
					"family", family == AF_INET ? "ipv4" : "ipv6",
					"size", (json_int_t)(size > INT64_MAX ? INT64_MAX : size),
					"open", (json_int_t)open));
}

static json_t *cmd_status(const fg_control_env_t *env)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *svcs = json_array();
	for (size_t i = 0; i < snap->conf->nservices; i++)
		json_array_append_new(svcs, json_pack("{ss ss}", "id", snap->conf->services[i].id,
						      "name", snap->conf->services[i].name));
	json_t *zones = json_array();
	for (size_t i = 0; i < snap->conf->nzones; i++)
		json_array_append_new(zones, json_string(snap->conf->zones[i].domain));
	json_t *pools = json_array();
	if (snap->grants)
		fg_grant_engine_pools(snap->grants, pool_to_json, pools);
	time_t now = time(NULL);
	return json_pack("{ss ss sI si so so so ss}",
			 "version", "0.1.0", "config", snap->conf->path ? snap->conf->path : "",
			 "uptime_seconds", (json_int_t)(now - (time_t)env->start_time),
			 "workers", (int)fg_server_nworkers(env->srv),
			 "zones", zones, "services", svcs, "pools", pools,
			 "nat", snap->grants ? fg_grant_engine_ops(snap->grants)->name : "none");
}

static json_t *cmd_stats(const fg_control_env_t *env)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *o = json_pack("{so}", "dns", worker_totals(env->srv));
	if (snap->grants) {
		uint64_t sc[3], reuse, fails;
		fg_grant_engine_counters(snap->grants, sc, &reuse, &fails);
		json_object_set_new(o, "grants",
				    json_pack("{sI sI sI sI sI}", "client", (json_int_t)sc[0],
					      "net", (json_int_t)sc[1], "any", (json_int_t)sc[2],
					      "forced_reuse", (json_int_t)reuse,
					      "commit_failures", (json_int_t)fails));
		json_t *pools = json_array();
		fg_grant_engine_pools(snap->grants, pool_to_json, pools);
		json_object_set_new(o, "pools", pools);
	}
	return o;
}

struct grants_ctx {
	json_t *arr;
	const fg_snapshot_t *snap;
	long service;             /* -1: all */
	int cfam;                 /* client filter family, 0: none */
	uint8_t caddr[16];
};

static bool client_matches(const fg_grant_t *g, int fam, const uint8_t *a)
{
	if (g->scope == FG_SCOPE_ANY)
		return true;
	if (g->family != fam)
		return false;
	unsigned bits = g->client_plen, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (g->client[i] != a[i])
			return false;
	if (bits) {
		uint8_t m = (uint8_t)(0xff << (8 - bits));
		if ((g->client[i] & m) != (a[i] & m))
			return false;
	}
	return true;
}

static void grant_to_json(void *vctx, const fg_grant_t *g)
{
	struct grants_ctx *c = vctx;
	if (c->service >= 0 &&
	    !fg_grant_engine_service_has(c->snap->grants, (uint32_t)c->service, g->family, g->addr))
		return;
	if (c->cfam && !client_matches(g, c->cfam, c->caddr))
		return;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cl[INET6_ADDRSTRLEN + 8];
	inet_ntop(g->family, g->addr, a, sizeof(a));
	inet_ntop(g->family, g->backend, b, sizeof(b));
	if (g->scope == FG_SCOPE_ANY) {
		strcpy(cl, "*");
	} else {
		inet_ntop(g->family, g->client, cl, sizeof(cl) - 8);
		snprintf(cl + strlen(cl), 8, "/%u", g->client_plen);
	}
	json_array_append_new(c->arr, json_pack("{ss ss ss ss sI}", "scope", scope_name(g->scope),
						"client", cl, "address", a, "backend", b,
						"expires_ms", (json_int_t)g->timeout_ms));
}

static long service_index(const fg_snapshot_t *snap, const char *id)
{
	for (size_t i = 0; i < snap->conf->nservices; i++)
		if (!strcmp(snap->conf->services[i].id, id) ||
		    !strcasecmp(snap->conf->services[i].name, id))
			return (long)i;
	return -1;
}

static int with_nat(const fg_snapshot_t *snap, fg_nat_t **nat)
{
	if (!snap->grants)
		return -ENOENT;
	const fg_nat_ops_t *ops = fg_grant_engine_ops(snap->grants);
	return ops->open(fg_grant_engine_natcfg(snap->grants), nat);
}

static void handle(int fd, fg_control_env_t *env, unsigned cmd,
		   const char **args, int nargs, fg_control_t *ctl)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *res = NULL;
	fg_nat_t *nat = NULL;
	int rc;

	switch (cmd) {
	case FG_CTL_STATUS:
		res = cmd_status(env);
		break;
	case FG_CTL_STATS:
		res = cmd_stats(env);
		break;
	case FG_CTL_GRANTS: {
		struct grants_ctx c = { .arr = json_array(), .snap = snap, .service = -1 };
		for (int i = 0; i + 1 < nargs; i += 2) {
			if (!strcmp(args[i], "service")) {
				c.service = service_index(snap, args[i + 1]);
				if (c.service < 0) {
					json_decref(c.arr);
					send_error(fd, ENOENT, "no service '%s'", args[i + 1]);
					return;
				}
			} else if (!strcmp(args[i], "client")) {
				if (parse_ip(args[i + 1], &c.cfam, c.caddr) < 0) {
					json_decref(c.arr);
					send_error(fd, EINVAL, "invalid client address '%s'", args[i + 1]);
					return;
				}
			}
		}
		if ((rc = with_nat(snap, &nat)) < 0) {
			json_decref(c.arr);
			send_error(fd, rc, "no data plane: %s", fg_strerror(rc));
			return;
		}
		const fg_nat_ops_t *ops = fg_grant_engine_ops(snap->grants);
		rc = ops->dump(nat, grant_to_json, &c);
		ops->close(nat);
		if (rc < 0) {
			json_decref(c.arr);
			send_error(fd, rc, "reading grants failed: %s", fg_strerror(rc));
			return;
		}
		res = json_pack("{so}", "grants", c.arr);
		break;
	}
	case FG_CTL_QUARANTINE:
	case FG_CTL_RELEASE: {
		int fam;
		uint8_t a[16];
		uint32_t ms = 0;
		if (nargs < 1 || parse_ip(args[0], &fam, a) < 0) {
			send_error(fd, EINVAL, "expected an IPv4 or IPv6 address, got '%s'",
				   nargs ? args[0] : "");
			return;
		}
		if (cmd == FG_CTL_QUARANTINE && nargs >= 2 && fg_conf_parse_time_ms(args[1], &ms) < 0) {
			send_error(fd, EINVAL, "invalid duration '%s'", args[1]);
			return;
		}
		if ((rc = with_nat(snap, &nat)) < 0) {
			send_error(fd, rc, "no data plane: %s", fg_strerror(rc));
			return;
		}
		const fg_nat_ops_t *ops = fg_grant_engine_ops(snap->grants);
		rc = cmd == FG_CTL_QUARANTINE ? ops->quarantine(nat, fam, a, ms)
					      : ops->release(nat, fam, a);
		ops->close(nat);
		if (rc < 0) {
			send_error(fd, rc, "%s", fg_strerror(rc));
			return;
		}
		if (cmd == FG_CTL_QUARANTINE) {
			env->quarantines++;
			fg_evlog_quarantine(env->evlog, fam, a, ms, "fluxctl");
		} else {
			env->releases++;
			fg_evlog_release(env->evlog, fam, a, "fluxctl");
		}
		log_info("%s %s%s%s", cmd == FG_CTL_QUARANTINE ? "quarantined" : "released",
			 args[0], nargs >= 2 ? " for " : "", nargs >= 2 ? args[1] : "");
		res = json_pack("{ss ss sI}", "action", fg_ctl_cmd_name(cmd), "address", args[0],
				"timeout_ms", (json_int_t)ms);
		break;
	}
	case FG_CTL_ROTATE: {
		long s = nargs >= 1 ? service_index(snap, args[0]) : -1;
		if (s < 0 || !snap->grants) {
			send_error(fd, ENOENT, "no service '%s'", nargs ? args[0] : "");
			return;
		}
		rc = fg_grant_engine_rotate(snap->grants, (uint32_t)s);
		log_info("rotate %s: %d resolver entries forgotten", args[0], rc);
		res = json_pack("{ss si}", "service", snap->conf->services[s].id, "forgotten", rc);
		break;
	}
	case FG_CTL_RELOAD: {
		char err[256] = "";
		rc = env->reload(env->ctx, err, sizeof(err));
		if (rc < 0) {
			send_error(fd, rc, "reload failed: %s", err);
			return;
		}
		res = json_pack("{sb}", "reloaded", 1);
		break;
	}
	default:
		ctl->errors++;
		send_error(fd, EOPNOTSUPP, "unknown command %s", "");
		return;
	}
	send_json(fd, 0, res);
	json_decref(res);
}

void fg_control_serve(fg_control_t *ctl, fg_control_env_t *env)
{
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = { CTL_TIMEOUT_MS / 1000, (CTL_TIMEOUT_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	uint8_t hdrbuf[FG_CTL_HDRLEN];
	uint8_t payload[FG_CTL_REQ_MAX + 1];
	fg_ctl_hdr_t h;
	int rc = read_full(fd, hdrbuf, sizeof(hdrbuf));
	if (rc < 0) {
		ctl->errors++;
		log_warn("control: truncated request header: %s", fg_strerror(rc));
		goto out;
	}
	rc = fg_ctl_parse_hdr(hdrbuf, sizeof(hdrbuf), FG_CTL_REQUEST, &h);
	if (rc < 0) {
		ctl->errors++;
		log_warn("control: rejected request: %s", fg_strerror(rc));
		if (rc == -FG_EVERSION)
			send_error(fd, rc, "unsupported protocol version (this daemon speaks %s)", "1");
		else if (rc == -EMSGSIZE)
			send_error(fd, rc, "request too large (limit %s octets)", "4096");
		else
			send_error(fd, rc, "malformed request header%s", "");
		goto out;
	}
	rc = read_full(fd, payload, h.length);
	if (rc < 0) {
		ctl->errors++;
		log_warn("control: truncated request payload: %s", fg_strerror(rc));
		goto out;
	}
	const char *args[FG_CTL_MAX_ARGS];
	int nargs = fg_ctl_decode_args(payload, h.length, args);
	if (nargs < 0) {
		ctl->errors++;
		send_error(fd, nargs, "malformed arguments: %s", fg_strerror(nargs));
		goto out;
	}
	if (!fg_ctl_cmd_name(h.code)) {
		ctl->errors++;
		char num[16];
		snprintf(num, sizeof(num), "%u", h.code);
		send_error(fd, EOPNOTSUPP, "unknown command %s", num);
		goto out;
	}
	handle(fd, env, h.code, args, nargs, ctl);
out:
	close(fd);
}
