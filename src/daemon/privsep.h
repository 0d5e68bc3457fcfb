/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege separation (after OpenBSD's daemons and NSD's capability
 * handling).
 *
 *   fluxgated [priv]   keeps only CAP_NET_ADMIN (or exits); holds the netlink
 *                      sockets; executes grant commits, dumps, counts,
 *                      quarantines and the data plane setup on request, each
 *                      checked against the configuration it reads and parses
 *                      itself (daemon/privsep_policy.h), at start and on every
 *                      reload; sets the sysctls the data plane depends on;
 *                      opens the event log of its own configuration and
 *                      passes the descriptor over (SCM_RIGHTS).
 *                      Talks to nothing on the network.
 *   fluxgated [dns]    everything network facing: DNS workers, control
 *                      socket, metrics. Runs as an unprivileged user with no
 *                      capabilities, no_new_privs and a seccomp filter that
 *                      refuses netlink and packet sockets, exec, ptrace...
 *
 * The two talk over SOCK_SEQPACKET socketpairs, one per worker plus a few
 * for the main and control paths, with fixed-size, length-checked messages
 * (struct fg_ps_*). On the [dns] side the channels are a NAT backend
 * (fg_nat_priv_ops), so the grant engine does not know it is separated.
 *
 * Ownership: the channel fds belong to this module once handed over.
 */
#ifndef FG_DAEMON_PRIVSEP_H
#define FG_DAEMON_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf/conf.h"

#include "dataplane/nat.h"

#define FG_PS_MAX_GRANTS 64
#define FG_PS_MAX_POOLS  FG_CONF_MAX_POOLS
#define FG_PS_CONF_CHUNK 32768

/* Fork the [priv] process. Returns in the child ([dns] side, *is_child
 * true) or, in the parent, only when the child exited (the return value is
 * then the exit status to use). `table` pins the one nftables table the
 * [priv] side will ever touch; `conf_path` the one file it will read. */
int fg_privsep_fork(unsigned nchannels, const char *table, const char *conf_path,
		    bool *is_child);

/* [dns] side: drop to `user` (no capabilities, no_new_privs) and install the
 * seccomp filter. Verifies the result (capabilities all clear, a netlink
 * socket refused) and fails closed. */
int fg_privsep_drop(const char *user);

/* [dns] side: read the config file through the [priv] side (reloads work
 * whatever the file's permissions). Caller frees *buf. */
int fg_privsep_read_conf(char **buf, size_t *len);

/* [dns] side: a descriptor of the event log (log.file), opened by the
 * [priv] side from its own configuration (create, append, mode 0640), so
 * the log directory need not be writable by server.user. Called at start
 * and on SIGUSR1 (logrotate). Checked to be a regular file open for
 * appending. The caller owns *fd. */
int fg_privsep_evlog_fd(int *fd);

/* [dns] side: readable when the [priv] side relays a signal (one octet,
 * the signal number) or exits (EOF: stop). -1 without privsep. */
int fg_privsep_signal_fd(void);

/* True in the [dns] process once fg_privsep_fork() returned there. */
bool fg_privsep_active(void);

/* [priv] side: requests refused since start, for one reason (enum
 * fg_ps_refusal of daemon/privsep_policy.h) or all of them (0). */
uint64_t fg_privsep_refused(unsigned reason);

/* [dns] side: ask the [priv] side for fg_privsep_refused(0) (metrics). */
int fg_privsep_refused_total(uint64_t *out);

/* Tests only: run the [priv] request loop on `fd` in the calling thread
 * until the peer closes it, with the policy read from `conf_path` and the
 * NAT backend `ops` (the in-memory one: no kernel state). */
int fg_privsep_test_serve(int fd, const char *table, const char *conf_path,
			  const fg_nat_ops_t *ops);

/* NAT backend over the channels ([dns] side). */
extern const fg_nat_ops_t fg_nat_priv_ops;

/* Wake the thread waiting on handle `n` (of fg_nat_priv_ops) and make its
 * request fail: the channel is shut for good and never handed out again.
 * At exit only (a restart-recovery read still running); the handle is
 * still closed by its owner. Callable from another thread. */
void fg_privsep_cancel(fg_nat_t *n);

#endif
