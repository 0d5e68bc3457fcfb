/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxdecoy clone`: connect to one real server (only the address given)
 * and write its exposed surface as a persona file: the answers to GET / and
 * HEAD / and to a missing path, the TLS chain it presents (public part
 * only), its SSH version line and KEXINIT lists, its SMTP greeting and EHLO
 * reply.
 */
#ifndef FG_FLUXDECOY_CLONE_H
#define FG_FLUXDECOY_CLONE_H

/* argv after "clone". Returns the process exit status. */
int fd_clone_main(int argc, char **argv);

#endif
