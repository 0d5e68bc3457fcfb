/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege separation, the processes (privsep.h): the fork into [priv]
 * and [dns], [priv] keeping CAP_NET_ADMIN alone and relaying signals, and
 * the [dns] side's drop to an unprivileged user under a seccomp filter.
 * The requests are served by privsep_priv.c, sent by privsep_client.c.
 */
#include "daemon/privsep.h"


#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_int.h"

/* Keep CAP_NET_ADMIN only: the [priv] side needs nothing else. */
static int keep_net_admin(void)
{
	cap_t caps = cap_init();
	cap_value_t v[1] = { CAP_NET_ADMIN };
	int rc = -1;
	if (caps && cap_set_flag(caps, CAP_PERMITTED, 1, v, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, v, CAP_SET) == 0)
		rc = cap_set_proc(caps);
	int e = errno;
	if (caps)
		cap_free(caps);
	return rc < 0 ? -e : 0;
}

static int priv_main(int *fds, unsigned n, pid_t child, int sigw)
{
	pthread_t *th = calloc(n, sizeof(*th));
	fg_ps_chan_t **cs = calloc(n, sizeof(*cs));
	sigset_t sigs;
	int status = 0;
	bool fatal = false;

	prctl(PR_SET_NAME, "fluxgated-priv");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	int rc = keep_net_admin();
	if (rc < 0) {
		/* fail closed: serve nothing; the [dns] side sees the channels
		 * and the signal pipe close and stops */
		log_err("privsep: cannot reduce capabilities to CAP_NET_ADMIN: %s; exiting",
			strerror(-rc));
		fatal = true;
	}

	for (unsigned i = 0; !fatal && th && cs && i < n; i++) {
		cs[i] = fg_ps_chan_new(fds[i]);
		if (!cs[i])
			break;
		fds[i] = -1;
		if (pthread_create(&th[i], NULL, fg_ps_chan_run, cs[i]) != 0) {
			fds[i] = fg_ps_chan_fd(cs[i]);
			fg_ps_chan_free(cs[i]);
			cs[i] = NULL;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (fatal) {
		close(sigw);
		sigw = -1;
	}
	/* relay signals to the [dns] side; leave when it leaves */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&sigs, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			pid_t w = waitpid(child, &status, WNOHANG);
			if (w == child)
				break;
			continue;
		}
		/* a pipe, not kill(2): the [dns] side runs as another user and
		 * this process has no CAP_KILL */
		uint8_t b = (uint8_t)sig;
		if (sigw >= 0 && write(sigw, &b, 1) < 0)
			log_warn("privsep: cannot relay signal %d: %s", sig, strerror(errno));
	}
	if (sigw >= 0)
		close(sigw);
	for (unsigned i = 0; i < n; i++) {
		if (cs && cs[i]) {
			shutdown(fg_ps_chan_fd(cs[i]), SHUT_RDWR);
			pthread_join(th[i], NULL);
			fg_ps_chan_free(cs[i]);
		}
	}
	free(cs);
	free(th);
	free(fds);
	fg_ps_priv_fini();
	if (fatal)
		return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_err("privsep: the DNS process died (signal %d)",
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 1;
}

static void close_pairs(int *pfds, int *cfds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		close(pfds[i]);
		close(cfds[i]);
	}
	free(pfds);
	free(cfds);
}

int fg_privsep_fork(unsigned nchannels, const char *table, const char *conf_path,
		    bool *is_child)
{
	int *pfds = calloc(nchannels, sizeof(int));
	int *cfds = calloc(nchannels, sizeof(int));
	int rc = pfds && cfds ? fg_ps_priv_init(table, conf_path, &fg_nat_nft_ops) : -ENOMEM;
	if (rc < 0) {
		free(pfds);
		free(cfds);
		fg_ps_priv_fini();
		return rc;
	}
	for (unsigned i = 0; i < nchannels; i++) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
			int e = errno;
			close_pairs(pfds, cfds, i);
			fg_ps_priv_fini();
			return -e;
		}
		pfds[i] = sp[0];
		cfds[i] = sp[1];
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		int e = errno;
		close_pairs(pfds, cfds, nchannels);
		fg_ps_priv_fini();
		return -e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pairs(pfds, cfds, nchannels);
		close(sp[0]);
		close(sp[1]);
		fg_ps_priv_fini();
		return -e;
	}
	if (pid == 0) {
		fg_ps_priv_fini();          /* the [priv] policy is not the [dns] side's */
		close(sp[1]);
		for (unsigned i = 0; i < nchannels; i++)
			close(pfds[i]);
		free(pfds);
		/* the [dns] side dies with the [priv] side, never orphaned */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		*is_child = true;
		return fg_ps_client_init(sp[0], cfds, nchannels);
	}
	for (unsigned i = 0; i < nchannels; i++)
		close(cfds[i]);
	free(cfds);
	close(sp[0]);
	*is_child = false;
	log_info("privsep: DNS process %d, netlink kept in %d", (int)pid, (int)getpid());
	return priv_main(pfds, nchannels, pid, sp[1]);
}

/* ---- [dns] side: dropping privileges ------------------------------------ */

static int install_seccomp(void)
{
	/* A deny list with EPERM rather than an allow list: the libraries
	 * under the DNS workers (libc, libyaml, jansson, microhttpd) call a
	 * varying set of syscalls, and killing the daemon on an unlisted one
	 * would be a worse outage than the risk these rules remove. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int rc = 0;
	static const int denied[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace),
		SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
		SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
		SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
		SCMP_SYS(kexec_load), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff),
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
		SCMP_SYS(open_by_handle_at), SCMP_SYS(userfaultfd), SCMP_SYS(setuid),
		SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
		SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
		SCMP_SYS(capset),
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	/* no netlink (nftables, routes, conntrack) and no raw packet sockets */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
	/* No TSYNC: the drop happens before any thread starts, and without it
	 * libseccomp can fall back to prctl(PR_SET_SECCOMP) where seccomp(2)
	 * is unavailable (valgrind does not know the syscall). */
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int fg_privsep_drop(const char *user)
{
	struct passwd *pw;
	if (getuid() != 0 && geteuid() != 0) {
		/* started unprivileged (systemd User= with ambient
		 * capabilities): stay that user, only the capabilities go */
		pw = getpwuid(getuid());
		user = pw ? pw->pw_name : "(unnamed)";
	} else {
		pw = getpwnam(user);
		if (!pw) {
			log_err("privsep: user '%s' does not exist", user);
			return -ENOENT;
		}
		if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0) {
			int e = errno;
			log_err("privsep: cannot become %s: %s", user, strerror(e));
			return -e;
		}
	}
	/* a credential change clears the parent-death signal: set it again */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* clear every capability, ambient ones included, for good */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	cap_t none = cap_init();
	if (!none || cap_set_proc(none) < 0) {
		if (none)
			cap_free(none);
		log_err("privsep: cannot clear capabilities: %s", strerror(errno));
		return -EPERM;
	}
	cap_free(none);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		log_err("privsep: cannot set no_new_privs: %s", strerror(e));
		return -e;
	}
	int rc = install_seccomp();
	if (rc < 0) {
		log_err("privsep: seccomp filter not installed: %s", strerror(-rc));
		return rc;
	}
	/* fail closed: prove the DNS process can no longer touch netlink */
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (nl >= 0) {
		close(nl);
		log_err("privsep: netlink socket still allowed after the drop");
		return -EPERM;
	}
	cap_t now = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	if (now)
		cap_get_flag(now, CAP_NET_ADMIN, CAP_EFFECTIVE, &v);
	if (now)
		cap_free(now);
	if (v == CAP_SET)
		return -EPERM;
	log_info("privsep: DNS process runs as %s (uid %d) without capabilities; "
		 "netlink socket refused: %s", user, (int)getuid(), strerror(errno));
	return 0;
}

