/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy's control socket (fluxdecoy(8), CONTROL): the framing of
 * fluxgated's (ctl/proto.h: 12-octet header, NUL-terminated arguments, a
 * JSON object in reply) with one request code, FD_CTL_CODE, whose first
 * argument names the command. Commands are registered at run time, so a
 * feature adds its own (fd_ctl_add) without touching this file or the
 * client: `fluxdecoy ctl COMMAND ARGS...` sends any name and prints the
 * JSON reply.
 *
 * Non-blocking, in the decoy's event loop: the socket's clients live in an
 * epoll set of their own (fd_ctl_fd), each with a 5 s deadline from accept
 * to its reply; at most 16 at once. Access control is the socket file:
 * created 0600 by root before the privilege drop.
 *
 * Ownership: fd_ctl_open() returns a handle owned by the caller;
 * fd_ctl_close() closes it (the socket file is removed at the next start:
 * after the drop the daemon may not unlink it).
 */
#ifndef FG_FLUXDECOY_CONTROL_H
#define FG_FLUXDECOY_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FD_CTL_CODE 0x0100   /* "named command": args[0] is its name */

typedef struct fd_ctl fd_ctl_t;

/* A command: 0 with *reply set (a JSON object, ownership passed), or a
 * negative code with the reason in err. */
typedef int (*fd_ctl_fn)(void *ctx, int argc, const char *const *argv,
			 json_t **reply, char *err, size_t errlen);

int fd_ctl_open(const char *path, fd_ctl_t **out, char *err, size_t errlen);
void fd_ctl_close(fd_ctl_t *ctl);

/* Register a command (name and a one-line help, both static strings). */
int fd_ctl_add(fd_ctl_t *ctl, const char *name, const char *help, fd_ctl_fn fn,
	       void *ctx);

/* The fd to poll (an epoll set); serve every ready client without
 * blocking, and close those past their deadline. */
int fd_ctl_fd(const fd_ctl_t *ctl);
void fd_ctl_serve(fd_ctl_t *ctl);

/* Requests refused (bad framing, unknown command) and clients dropped at
 * their deadline or because 16 were open. */
uint64_t fd_ctl_errors(const fd_ctl_t *ctl);
uint64_t fd_ctl_dropped(const fd_ctl_t *ctl);

/* The client: send COMMAND ARGS to the socket at path, print the reply
 * (indented JSON) on stdout, or the error on stderr. Exit status. */
int fd_ctl_main(int argc, char **argv, const char *default_socket);

#endif
