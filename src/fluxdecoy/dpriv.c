/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

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

/* Run the persona's backend-template with ACTION ADDRESS SLOT PERSONA,
 * in its own process group, no inherited descriptor but /dev/null on
 * stdin, a fixed PATH; at most 30 s. Returns 0 or a negative code. */
static int run_template(const fd_conf_persona_t *p, const char *action, size_t slot)
{
	uint8_t a4[4];
	char addr[INET_ADDRSTRLEN], sl[16];
	char **argv;
	pid_t pid;
	int st;

	if (!fd_conf_slot_addr(p, slot, a4))
		return -EINVAL;
	inet_ntop(AF_INET, a4, addr, sizeof(addr));
	snprintf(sl, sizeof(sl), "%zu", slot);
	argv = calloc(p->ntmpl + 5, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntmpl; i++)
		argv[i] = p->tmpl[i];
	argv[p->ntmpl] = (char *)action;
	argv[p->ntmpl + 1] = addr;
	argv[p->ntmpl + 2] = sl;
	argv[p->ntmpl + 3] = p->id;
	pid = fork();
	if (pid < 0) {
		int e = -errno;
		free(argv);
		return e;
	}
	if (pid == 0) {
		static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		setsid();
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		closefrom(3);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(argv);
	for (int i = 0; i < 600; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				return 0;
			/* the status goes to the log; callers name the slot */
			if (WIFEXITED(st))
				log_warn("[priv] persona '%s': %s %s: exited with status %d%s",
					 p->id, p->tmpl[0], action, WEXITSTATUS(st),
					 WEXITSTATUS(st) == 127 ? " (could not be run)" : "");
			else
				log_warn("[priv] persona '%s': %s %s: killed by signal %d", p->id,
					 p->tmpl[0], action, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
			return -FG_EEXIT;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		usleep(50000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -ETIMEDOUT;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The deal the serving part asks for: an epoch within one of ours (its low
 * 32 bits on the wire), a forced-shuffle count below 2^20. */
static int deal(const fd_conf_t *conf, const uint8_t *root, size_t rootlen,
		const fd_priv_req_t *rq, char *err, size_t errlen)
{
	uint64_t own = wall_ms() / (conf->shuffle.epoch_ms ? conf->shuffle.epoch_ms : 600000);

	if (!root || !fd_contain_udp_shuffled(conf))
		return fg_errf(err, errlen, -FG_EMALF, "deal: no shuffled UDP ports");
	if (rq->slot >= (1u << 20))
		return fg_errf(err, errlen, -FG_EMALF, "deal: forced shuffle %u", rq->slot);
	for (uint64_t e = own ? own - 1 : 0; e <= own + 1; e++)
		if ((uint32_t)e == rq->persona)
			return fd_contain_udp_deal(conf, root, rootlen, e, rq->slot, err, errlen);
	return fg_errf(err, errlen, -FG_EMALF, "deal: epoch %u is not ours (%llu)",
		       rq->persona, (unsigned long long)own);
}

static int serve(const fd_conf_t *conf, int fd, const uint8_t *root, size_t rootlen)
{
	uint8_t req[FD_PRIV_MAX], *rep = malloc(FD_PRIV_MAX);
	fd_contain_counts_t *c = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*c));
	uint8_t **live = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*live));
	unsigned long refused = 0;
	char err[200];
	int rc = 0;

	if (!rep || !c || !live) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < conf->npersonas; i++)
		if (fd_conf_slots(&conf->personas[i]) &&
		    !(live[i] = calloc(fd_conf_nbackends(&conf->personas[i]), 1))) {
			rc = -ENOMEM;
			goto out;
		}
	for (;;) {
		fd_priv_req_t rq;
		ssize_t n = recv(fd, req, sizeof(req), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		int r = fd_priv_parse_request(req, (size_t)n, &rq, err, sizeof(err));
		/* checked against [priv]'s own copy of the config */
		if (r == 0 && rq.kind == FD_PRIV_DEAL) {
			r = deal(conf, root, rootlen, &rq, err, sizeof(err));
			if (r == -FG_EMALF) {
				refused++;
				log_warn("[priv] refused a request from the serving part "
					 "(%lu so far): %s", refused, err);
			} else if (r < 0) {
				log_err("[priv] %s", err);
			}
			size_t m = fd_priv_build_spawned(&rq, r, rep, FD_PRIV_MAX);
			if (m)
				send(fd, rep, m, MSG_NOSIGNAL);
			continue;
		}
		if (r == 0 && rq.kind != FD_PRIV_COUNTERS &&
		    (rq.persona >= conf->npersonas || !live[rq.persona] ||
		     rq.slot >= fd_conf_nbackends(&conf->personas[rq.persona]))) {
			snprintf(err, sizeof(err), "%s of persona %u slot %u: no such "
				 "template slot", rq.kind == FD_PRIV_SPAWN ? "spawn" : "stop",
				 rq.persona, rq.slot);
			r = -FG_EMALF;
		}
		if (r < 0) {
			refused++;
			log_warn("[priv] refused a request from the serving part (%lu so "
				 "far): %s", refused, err);
			continue;
		}
		if (rq.kind == FD_PRIV_COUNTERS) {
			r = fd_contain_read(conf, c);
			if (r < 0)
				log_debug("[priv] counters: %s", fg_strerror(r));
			int m = fd_priv_build_counts(c, conf->npersonas, rep, FD_PRIV_MAX);
			if (m > 0)
				send(fd, rep, (size_t)m, MSG_NOSIGNAL);
			continue;
		}
		const fd_conf_persona_t *p = &conf->personas[rq.persona];
		uint8_t *lv = &live[rq.persona][rq.slot];
		r = 0;
		if (rq.kind == FD_PRIV_SPAWN && !*lv) {
			r = run_template(p, "start", rq.slot);
			if (r == 0)
				*lv = 1;
			else
				log_err("[priv] persona '%s': backend-template start of slot "
					"%u failed: %s", p->id, rq.slot, fg_strerror(r));
		} else if (rq.kind == FD_PRIV_STOP && *lv) {
			r = run_template(p, "stop", rq.slot);
			*lv = 0;
			if (r < 0)
				log_warn("[priv] persona '%s': backend-template stop of slot "
					 "%u failed: %s", p->id, rq.slot, fg_strerror(r));
		}
		size_t m = fd_priv_build_spawned(&rq, r, rep, FD_PRIV_MAX);
		if (m)
			send(fd, rep, m, MSG_NOSIGNAL);
	}
	/* the serving part is gone: recycle every backend still running */
	for (size_t i = 0; i < conf->npersonas; i++)
		for (size_t j = 0; live[i] && j < fd_conf_nbackends(&conf->personas[i]); j++)
			if (live[i][j])
				run_template(&conf->personas[i], "stop", j);
out:
	for (size_t i = 0; live && i < conf->npersonas; i++)
		free(live[i]);
	free(live);
	free(rep);
	free(c);
	return rc;
}

static int any_template(const fd_conf_t *conf)
{
	for (size_t i = 0; i < conf->npersonas; i++)
		if (conf->personas[i].ntmpl)
			return 1;
	return 0;
}

int fd_priv_start(fd_conf_t *conf, fd_event_t *ev, const uint8_t *root, size_t rootlen,
		  pid_t *pid)
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
		/* a backend template makes namespaces and starts daemons: that
		 * [priv] keeps root's capabilities; otherwise only NET_ADMIN */
		int rc = any_template(conf) ? 0 : keep_net_admin();
		if (rc < 0)
			log_err("[priv] cannot keep only CAP_NET_ADMIN: %s", fg_strerror(rc));
		else
			rc = serve(conf, sv[1], root, rootlen);
		close(sv[1]);
		if (root)       /* our copy of the caller's key (fork) */
			OPENSSL_cleanse((void *)root, rootlen);
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
