/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "decoy/privmsg.h"
#include "fluxdecoy/contain.h"
#include "fluxdecoy/dpriv.h"

static int keep_net_admin(void)
{
	cap_value_t v = CAP_NET_ADMIN;
	cap_t c = cap_init();
	int rc = 0;

	if (!c)
		return -ENOMEM;
	if (cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
	    cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0 ||
	    cap_set_proc(c) < 0)
		rc = -errno;
	cap_free(c);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	return rc;
}

static int serve(const fd_conf_t *conf, int fd)
{
	uint8_t req[FD_PRIV_MAX], *rep = malloc(FD_PRIV_MAX);
	fd_contain_counts_t *c = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*c));
	unsigned long refused = 0;
	char err[200];

	if (!rep || !c) {
		free(rep);
		free(c);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = recv(fd, req, sizeof(req), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fd_priv_parse_request(req, (size_t)n, err, sizeof(err)) < 0) {
			refused++;
			log_warn("[priv] refused a request from the serving part (%lu so "
				 "far): %s", refused, err);
			continue;
		}
		int r = fd_contain_read(conf, c);
		if (r < 0)
			log_debug("[priv] counters: %s", fg_strerror(r));
		int m = fd_priv_build_counts(c, conf->npersonas, rep, FD_PRIV_MAX);
		if (m > 0)
			send(fd, rep, (size_t)m, MSG_NOSIGNAL);
	}
	free(rep);
	free(c);
	return 0;
}

int fd_priv_start(fd_conf_t *conf, fd_event_t *ev, pid_t *pid)
{
	int sv[2];
	pid_t p;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p = fork();
	if (p < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (p == 0) {
		close(sv[0]);
		fd_event_close(ev);
		int rc = keep_net_admin();
		if (rc < 0)
			log_err("[priv] cannot keep only CAP_NET_ADMIN: %s", fg_strerror(rc));
		else
			rc = serve(conf, sv[1]);
		close(sv[1]);
		fd_conf_free(conf);
		_exit(rc < 0 ? 1 : 0);
	}
	close(sv[1]);
	*pid = p;
	return sv[0];
}

void fd_priv_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}
