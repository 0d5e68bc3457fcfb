/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's privilege drop, once its sockets are bound and its key files
 * read: become `user` (supplementary groups cleared) when given, then give
 * up every capability (when already running as `user`, as under systemd's
 * User=, only the capabilities go) (permitted, effective, inheritable, ambient, bounding
 * set kept empty for children) and set no_new_privs. The decoy needs no
 * capability afterwards: the pool reaches its wildcard sockets through a
 * local route, not IP_TRANSPARENT.
 */
#ifndef FG_FLUXDECOY_PRIVDROP_H
#define FG_FLUXDECOY_PRIVDROP_H

/* Returns 0 or a negative errno (logged). */
int fd_privdrop(const char *user);

#endif
