/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * topo.c's helpers shared with topo_dist.c (the distributed topology):
 * commands in a namespace, sysctls, readiness waits, veth links. All run
 * subprocesses (fluxlab is a test tool); none keeps state of its own.
 */
#ifndef FG_FLUXLAB_TOPO_INT_H
#define FG_FLUXLAB_TOPO_INT_H

#include "fluxlab/lab.h"

/* run a NULL-terminated command in role (NULL: here); logs a failure */
int runv(lab_run_t *r, const char *role, ...);
int write_file(const char *path, const char *text);
int ns_sysctl(lab_run_t *r, const char *role, const char *key, const char *val);
int wait_tcp(lab_run_t *r, const char *role, const char *ip, const char *port, double secs);
int wait_dns(lab_run_t *r, const char *role, const char *server, double secs);
/* a veth pair between two namespaces, addresses (CIDR) on both, up */
int link_pair(lab_run_t *r, const char *a, const char *ifa, const char *addra,
	      const char *b, const char *ifb, const char *addrb);
void show_log(lab_run_t *r, const char *label);
bool topo_alive(pid_t p);

/* ---- topo_dist.c: gateway.mode: distributed */
/* links and routes of the agents (and the pair's switch), instead of the
 * standalone gateway's server and decoy links */
int topo_dist_links(lab_run_t *r);
/* configurations, PSKs, agents, then the controller in "gw"; returns the
 * controller's PID (r->fluxgated_pid) or -1 */
pid_t topo_dist_start(lab_run_t *r);
/* gateway.server-rate: a token bucket on every interface the real
 * server and the decoy bed send their replies out of (any mode) */
int topo_server_rate(lab_run_t *r);
/* the namespace the servers are checked from once the topology is up */
const char *topo_dist_probe_role(lab_run_t *r);

#endif
