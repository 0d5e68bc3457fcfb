/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon side of the control socket (protocol in ctl/proto.h and
 * doc/control-protocol.md). Runs in the main thread, one request per
 * connection, without ever blocking it: every client is a non-blocking
 * state machine in an epoll set of its own, with a deadline from accept to
 * a complete request (5 s) and one to take the reply (5 s), and at most 64
 * are open (past that the oldest one still sending its request is closed).
 * `grants` reads the kernel on a thread of its own (one at a time; another
 * request meanwhile gets EBUSY) and replies a page of at most 10000 grants
 * (daemon/grantpage.h); its connection waits without a deadline.
 * Access control is the socket file's owner and mode (0660).
 *
 * Ownership: fg_control_open() returns a handle owned by the caller;
 * fg_control_close() unlinks the socket file.
 */
#ifndef FG_DAEMON_CONTROL_H
#define FG_DAEMON_CONTROL_H

#include "daemon/server.h"
#include "dist/agent.h"
#include "dist/hub.h"

typedef struct fg_control fg_control_t;

/* What the main loop provides to the control handlers. */
typedef struct fg_control_env {
	fg_server_t *srv;
	/* reload the config; fills `errbuf` with the reason on failure */
	int (*reload)(void *ctx, char *errbuf, size_t errlen);
	void *ctx;
	uint64_t start_time;       /* CLOCK_REALTIME seconds at start */
	fg_evlog_t *evlog;         /* quarantine/release events (may be NULL) */
	uint64_t quarantines, releases;   /* counted here, read by metrics */
	fg_dist_hub_t *hub;        /* role controller: the agents (else NULL) */
	fg_dist_agent_t *agent;    /* role agent: the controllers (else NULL) */
	struct fg_ddns **ddns;     /* external zones' thread (status), may be NULL */
} fg_control_env_t;

int fg_control_open(const char *path, fg_control_t **out);
/* An fd to poll for input (an epoll set: listener, clients, deadlines). */
int fg_control_fd(const fg_control_t *ctl);
/* Make progress on every ready client, without blocking (call when the fd
 * is readable). */
void fg_control_serve(fg_control_t *ctl, fg_control_env_t *env);
void fg_control_close(fg_control_t *ctl);

/* Counters of rejected control requests (bad framing, unknown command,
 * a bad grants limit, cursor or argument name). */
uint64_t fg_control_errors(const fg_control_t *ctl);
/* Connections closed unserved because CTL_MAX_CONNS were open. */
uint64_t fg_control_refused(const fg_control_t *ctl);
/* Connections closed at their request or reply deadline. */
uint64_t fg_control_timeouts(const fg_control_t *ctl);

#endif
