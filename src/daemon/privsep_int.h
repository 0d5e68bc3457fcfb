/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals of privilege separation (daemon/privsep.h), shared by its
 * files, one job each (not a public interface):
 *   privsep_chan.c    the channel framing: one length-checked message per
 *                     SOCK_SEQPACKET record, descriptors only where expected
 *   privsep_priv.c    [priv]: the request dispatcher, each request checked
 *                     against [priv]'s own configuration (privsep_policy.h)
 *   privsep_client.c  [dns]: the NAT backend and requests over the channels
 *   privsep.c         the processes: fork, capabilities, privilege drop,
 *                     seccomp, the signal relay
 */
#ifndef FG_DAEMON_PRIVSEP_INT_H
#define FG_DAEMON_PRIVSEP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/privsep_msg.h"

/* largest message either way */
#define PS_MSG_MAX (sizeof(struct ps_hdr) + \
		    (FG_PS_CONF_CHUNK > sizeof(struct ps_natcfg) ? FG_PS_CONF_CHUNK : sizeof(struct ps_natcfg)) + \
		    FG_PS_MAX_GRANTS * sizeof(fg_grant_t))

/* ---- framing (privsep_chan.c) ------------------------------------------- */

/* Send one message: header and payload in one record. 0 or -errno. */
int fg_ps_send(int fd, uint16_t op, uint16_t count, int32_t status,
	       const void *payload, uint32_t len);
/* Receive one message; checks the framing. Returns payload length.
 * With `passed`, takes at most one descriptor sent along (SCM_RIGHTS,
 * close-on-exec) into *passed (-1 when none); without it, a message that
 * carried any (their copies are closed by the kernel) is -EPROTO: no side
 * expects descriptors but the [dns] side in fg_privsep_evlog_fd().
 * `flags` go to recvmsg (MSG_DONTWAIT). */
int fg_ps_recv_ex(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed, int flags);
int fg_ps_recv_fd(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed);
int fg_ps_recv(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h);

/* ---- [priv] dispatcher (privsep_priv.c) ---------------------------------- */

/* Load [priv]'s own configuration once before serving; `ops` is the NAT
 * backend requests run on (fg_nat_nft_ops but in tests). */
int fg_ps_priv_init(const char *table, const char *conf_path, const fg_nat_ops_t *ops);
/* Drop the policies (the [dns] child after fork, and at exit). */
void fg_ps_priv_fini(void);
/* One channel's state; fg_ps_chan_run() serves requests on it until the
 * peer closes it (a thread function), then closes its descriptor. */
typedef struct fg_ps_chan fg_ps_chan_t;
fg_ps_chan_t *fg_ps_chan_new(int fd);
int fg_ps_chan_fd(const fg_ps_chan_t *c);
void *fg_ps_chan_run(void *chan);
void fg_ps_chan_free(fg_ps_chan_t *c);

/* ---- [dns] client (privsep_client.c) ------------------------------------- */

/* Take the channel ends and the signal pipe in the [dns] process after the
 * fork (owned from then on). 0, or -ENOMEM (privsep then inactive). */
int fg_ps_client_init(int sigfd, int *fds, unsigned n);

#endif
