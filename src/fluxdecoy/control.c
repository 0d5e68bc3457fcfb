/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "ctl/proto.h"
#include "fluxdecoy/control.h"

#define MAX_CONNS   16
#define MAX_CMDS    64
#define DEADLINE_MS 5000

struct cmd {
	const char *name, *help;
	fd_ctl_fn fn;
	void *ctx;
};

struct client {
	int fd;                       /* -1: free slot */
	uint8_t in[FG_CTL_HDRLEN + FG_CTL_REQ_MAX];
	size_t inlen;
	char *out;                    /* header + JSON, once replying */
	size_t outlen, outoff;
	uint64_t deadline;
};

struct fd_ctl {
	int lfd, ep;
	struct cmd cmds[MAX_CMDS];
	size_t ncmds;
	struct client cl[MAX_CONNS];
	uint64_t errors, dropped;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cmd_help(void *ctx, int argc, const char *const *argv, json_t **reply,
		    char *err, size_t errlen)
{
	fd_ctl_t *ctl = ctx;
	json_t *o = json_object();

	(void)argc;
	(void)argv;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < ctl->ncmds; i++)
		json_object_set_new(o, ctl->cmds[i].name, json_string(ctl->cmds[i].help));
	*reply = json_pack("{s:o}", "commands", o);
	return 0;
}

int fd_ctl_open(const char *path, fd_ctl_t **out, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	fd_ctl_t *ctl;
	int rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return fg_errf(err, errlen, -ENAMETOOLONG, "control %s: path too long", path);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	for (int i = 0; i < MAX_CONNS; i++)
		ctl->cl[i].fd = -1;
	strcpy(sun.sun_path, path);
	ctl->ep = epoll_create1(EPOLL_CLOEXEC);
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->ep < 0 || ctl->lfd < 0) {
		rc = fg_errf(err, errlen, -errno, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* a socket left by the last run (it may not unlink it after the
	 * privilege drop); anything else at the path is not ours to remove */
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rc = fg_errf(err, errlen, -EEXIST, "control %s: exists and is "
				     "not a socket", path);
			goto fail;
		}
		unlink(path);
	}
	mode_t old = umask(0177);     /* 0600 from the start, no window */
	rc = bind(ctl->lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(ctl->lfd, 16) < 0) {
		rc = fg_errf(err, errlen, -errno, "control %s: %s", path, strerror(errno));
		goto fail;
	}
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(ctl->ep, EPOLL_CTL_ADD, ctl->lfd, &e) < 0) {
		rc = fg_errf(err, errlen, -errno, "control: epoll: %s", strerror(errno));
		goto fail;
	}
	fd_ctl_add(ctl, "help", "the commands and what they do", cmd_help, ctl);
	*out = ctl;
	return 0;
fail:
	fd_ctl_close(ctl);
	return rc;
}

static void client_close(fd_ctl_t *ctl, struct client *c)
{
	epoll_ctl(ctl->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->inlen = c->outlen = c->outoff = 0;
}

void fd_ctl_close(fd_ctl_t *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		if (ctl->cl[i].fd >= 0)
			client_close(ctl, &ctl->cl[i]);
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	if (ctl->ep >= 0)
		close(ctl->ep);
	free(ctl);
}

int fd_ctl_add(fd_ctl_t *ctl, const char *name, const char *help, fd_ctl_fn fn,
	       void *ctx)
{
	if (ctl->ncmds == MAX_CMDS)
		return -ENOSPC;
	for (size_t i = 0; i < ctl->ncmds; i++)
		if (strcmp(ctl->cmds[i].name, name) == 0)
			return -EEXIST;
	ctl->cmds[ctl->ncmds++] = (struct cmd){ name, help, fn, ctx };
	return 0;
}

int fd_ctl_fd(const fd_ctl_t *ctl) { return ctl->ep; }
uint64_t fd_ctl_errors(const fd_ctl_t *ctl) { return ctl->errors; }
uint64_t fd_ctl_dropped(const fd_ctl_t *ctl) { return ctl->dropped; }

static void set_reply(struct client *c, int code, json_t *o)
{
	char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t n = js ? strlen(js) : 2;

	json_decref(o);
	c->out = malloc(FG_CTL_HDRLEN + n);
	if (!c->out) {
		free(js);
		return;
	}
	fg_ctl_put_hdr((uint8_t *)c->out, FG_CTL_RESPONSE, (uint16_t)code, (uint32_t)n);
	memcpy(c->out + FG_CTL_HDRLEN, js ? js : "{}", n);
	c->outlen = FG_CTL_HDRLEN + n;
	c->outoff = 0;
	free(js);
}

static void reply_error(fd_ctl_t *ctl, struct client *c, const char *msg)
{
	ctl->errors++;
	set_reply(c, 1, json_pack("{s:s}", "error", msg));
}

static void dispatch(fd_ctl_t *ctl, struct client *c, const fg_ctl_hdr_t *h)
{
	const char *args[FG_CTL_MAX_ARGS];
	char err[512] = "";

	if (h->code != FD_CTL_CODE) {
		reply_error(ctl, c, "this is fluxdecoy's control socket: use "
			    "`fluxdecoy ctl COMMAND`");
		return;
	}
	int n = fg_ctl_decode_args(c->in + FG_CTL_HDRLEN, h->length, args);
	if (n <= 0) {
		reply_error(ctl, c, n == 0 ? "no command" : "malformed arguments");
		return;
	}
	for (size_t i = 0; i < ctl->ncmds; i++) {
		if (strcmp(ctl->cmds[i].name, args[0]) != 0)
			continue;
		json_t *reply = NULL;
		int rc = ctl->cmds[i].fn(ctl->cmds[i].ctx, n - 1, args + 1, &reply,
					 err, sizeof(err));
		if (rc < 0) {
			json_decref(reply);
			reply_error(ctl, c, err[0] ? err : fg_strerror(rc));
		} else {
			set_reply(c, 0, reply ? reply : json_object());
		}
		return;
	}
	char msg[128];
	snprintf(msg, sizeof(msg), "unknown command '%.64s' (try: help)", args[0]);
	reply_error(ctl, c, msg);
}

/* Read, answer, write; false when the client is finished (closed). */
static bool progress(fd_ctl_t *ctl, struct client *c)
{
	while (!c->out) {
		ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (r <= 0) {
			ctl->errors++;        /* gone before a whole request */
			client_close(ctl, c);
			return false;
		}
		c->inlen += (size_t)r;
		if (c->inlen < FG_CTL_HDRLEN)
			continue;
		fg_ctl_hdr_t h;
		int rc = fg_ctl_parse_hdr(c->in, c->inlen, FG_CTL_REQUEST, &h);
		if (rc < 0) {
			reply_error(ctl, c, rc == -EMSGSIZE ? "request too large"
				    : rc == -FG_EVERSION ? "unsupported protocol version"
				    : "not a control request");
			break;
		}
		if (c->inlen >= FG_CTL_HDRLEN + h.length)
			dispatch(ctl, c, &h);
	}
	if (!c->out) {                    /* out of memory for the reply */
		client_close(ctl, c);
		return false;
	}
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
			epoll_ctl(ctl->ep, EPOLL_CTL_MOD, c->fd, &e);
			return true;
		}
		if (w <= 0)
			break;
		c->outoff += (size_t)w;
	}
	client_close(ctl, c);
	return false;
}

static void accept_all(fd_ctl_t *ctl)
{
	for (int k = 0; k < MAX_CONNS; k++) {
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct client *c = NULL;
		for (int i = 0; i < MAX_CONNS && !c; i++)
			if (ctl->cl[i].fd < 0)
				c = &ctl->cl[i];
		if (!c) {
			ctl->dropped++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->inlen = 0;
		c->deadline = now_ms() + DEADLINE_MS;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ctl->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		progress(ctl, c);
	}
}

void fd_ctl_serve(fd_ctl_t *ctl)
{
	struct epoll_event evs[MAX_CONNS + 1];
	int n = epoll_wait(ctl->ep, evs, MAX_CONNS + 1, 0);

	for (int i = 0; i < n; i++) {
		if (!evs[i].data.ptr)
			accept_all(ctl);
		else if (((struct client *)evs[i].data.ptr)->fd >= 0)
			progress(ctl, evs[i].data.ptr);
	}
	uint64_t now = now_ms();
	for (int i = 0; i < MAX_CONNS; i++)
		if (ctl->cl[i].fd >= 0 && now >= ctl->cl[i].deadline) {
			ctl->dropped++;
			client_close(ctl, &ctl->cl[i]);
		}
}

/* ---- the client ---- */

int fd_ctl_main(int argc, char **argv, const char *default_socket)
{
	const char *path = default_socket;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: fluxdecoy ctl [-s SOCKET] COMMAND [ARGS...]\n"
			       "  -s, --socket PATH  control socket (default %s)\n"
			       "  `fluxdecoy ctl help` lists the daemon's commands\n",
			       default_socket);
			return 0;
		} else {
			fprintf(stderr, "fluxdecoy ctl: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: fluxdecoy ctl [-s SOCKET] COMMAND [ARGS...]\n");
		return 2;
	}
	uint8_t req[FG_CTL_HDRLEN + FG_CTL_REQ_MAX];
	int n = fg_ctl_encode_request(req, sizeof(req), FD_CTL_CODE,
				      (const char *const *)argv + i, (unsigned)(argc - i));
	if (n < 0) {
		fprintf(stderr, "fluxdecoy ctl: request too large\n");
		return 2;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "fluxdecoy ctl: socket path too long: %s\n", path);
		return 2;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 10, 0 };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "fluxdecoy ctl: cannot reach fluxdecoy at %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fprintf(stderr, "fluxdecoy ctl: send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (len == cap) {
			if (cap >= FG_CTL_RESP_MAX + FG_CTL_HDRLEN)
				break;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + len, cap - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	fg_ctl_hdr_t h;
	if (!buf || fg_ctl_parse_hdr((uint8_t *)buf, len, FG_CTL_RESPONSE, &h) < 0 ||
	    len < FG_CTL_HDRLEN + h.length) {
		fprintf(stderr, "fluxdecoy ctl: no valid reply from %s\n", path);
		free(buf);
		return 1;
	}
	json_error_t je;
	json_t *j = json_loadb(buf + FG_CTL_HDRLEN, h.length, 0, &je);
	free(buf);
	if (!j) {
		fprintf(stderr, "fluxdecoy ctl: the reply is not JSON: %s\n", je.text);
		return 1;
	}
	int rc = 0;
	if (h.code != 0) {
		const char *msg = json_string_value(json_object_get(j, "error"));
		fprintf(stderr, "fluxdecoy ctl: %s\n", msg ? msg : "error");
		rc = 1;
	} else {
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s)
			printf("%s\n", s);
		free(s);
	}
	json_decref(j);
	return rc;
}
