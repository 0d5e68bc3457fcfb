/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fluxlab serve: the workbench console. A libmicrohttpd server that lists
 * and checks the scenarios, starts one run at a time as a child
 * `fluxlab run ... --live FILE` (stop: SIGINT, as Ctrl-C), streams the
 * run's per-second samples to the browser over Server-Sent Events, and
 * serves the reports of past runs. Assets (HTML, JS, CSS) come from a
 * directory in the repository or the installed share/ directory; nothing
 * is fetched from elsewhere.
 *
 * Access: loopback unless --token is given; with a token every request
 * carries it (Authorization: Bearer, or the cookie the console sets).
 * Every request must name the listen address in Host (DNS rebinding), and
 * every POST carries "X-Fluxlab: 1" (a cross-site form cannot), so a web
 * page in the operator's browser cannot start a run as root. */
#ifndef FLUXLAB_SERVE_H
#define FLUXLAB_SERVE_H

/* argv as after "fluxlab": argv[0] = "serve". Returns the exit status. */
int serve_main(int argc, char **argv);

#endif
