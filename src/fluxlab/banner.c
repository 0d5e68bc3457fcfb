/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxlab banner MARKER [PORT...]`: the SMTP server and SSH banner of the
 * lab's real server. Both speak the banner with the marker the lab reads to
 * tell who answered. SMTP is a small real dialogue for legit.sizes.smtp:
 * EHLO, MAIL, RCPT, DATA (the message's octets are counted and named in the
 * 250 that ends it, so the client learns what the server received), HELP N
 * (a multi-line 214 reply of N octets of text: the drawn reply size) and
 * QUIT; nothing is stored or relayed. An SSH client gets the banner and is
 * closed (with legit.sizes.ssh a real sshd serves port 22 instead). One
 * epoll loop; runs until SIGTERM.
 */
#include "fluxlab/lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t banner_stop;

/* one SMTP flow */
typedef struct bconn {
	bool data;                 /* between DATA's 354 and the final dot */
	bool quit;                 /* close once the output is written */
	char line[512];            /* a command, cut at 511 bytes */
	size_t ll;                 /* bytes of the current line (data: all of them) */
	char lead[2];              /* data: the current line's first bytes */
	uint64_t msg;              /* data: message octets so far (dots unstuffed) */
	char *out;
	size_t olen, ooff;
} bconn_t;

#define BANNER_HELP_LINE 76       /* text octets on each 214 line */

static int out_add(bconn_t *b, const char *p, size_t n)
{
	char *o = realloc(b->out, b->olen + n);
	if (!o)
		return -1;
	memcpy(o + b->olen, p, n);
	b->out = o;
	b->olen += n;
	return 0;
}

/* HELP N: ceil(N / 76) lines (one when N is 0) whose text totals N octets */
static int help_reply(bconn_t *b, uint64_t n)
{
	char l[8 + BANNER_HELP_LINE];
	uint64_t left = n;
	do {
		size_t k = left > BANNER_HELP_LINE ? BANNER_HELP_LINE : (size_t)left;
		left -= k;
		memcpy(l, left ? "214-" : "214 ", 4);
		memset(l + 4, 'h', k);
		memcpy(l + 4 + k, "\r\n", 2);
		if (out_add(b, l, k + 6) < 0)
			return -1;
	} while (left);
	return 0;
}

static int smtp_command(bconn_t *b, const char *l)
{
	static const char ehlo[] = "250-mail.lab.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
				   "250 8BITMIME\r\n";
	const char *r = "502 5.5.2 Error: command not recognized\r\n";
	if (!strncasecmp(l, "EHLO", 4))
		r = ehlo;
	else if (!strncasecmp(l, "HELO", 4))
		r = "250 mail.lab.test\r\n";
	else if (!strncasecmp(l, "MAIL", 4))
		r = "250 2.1.0 Ok\r\n";
	else if (!strncasecmp(l, "RCPT", 4))
		r = "250 2.1.5 Ok\r\n";
	else if (!strncasecmp(l, "NOOP", 4) || !strncasecmp(l, "RSET", 4))
		r = "250 2.0.0 Ok\r\n";
	else if (!strncasecmp(l, "DATA", 4)) {
		b->data = true;
		b->msg = 0;
		r = "354 End data with <CR><LF>.<CR><LF>\r\n";
	} else if (!strncasecmp(l, "HELP", 4)) {
		char *end;
		unsigned long long n = strtoull(l + 4, &end, 10);
		if (end != l + 4 && n <= LAB_SMTP_REP_MAX)
			return help_reply(b, n);
		r = "214 2.0.0 HELP N: a reply of N octets of text\r\n";
	} else if (!strncasecmp(l, "QUIT", 4)) {
		b->quit = true;
		r = "221 2.0.0 Bye\r\n";
	}
	return out_add(b, r, strlen(r));
}

/* the bytes a client sent: commands line by line, a message counted */
static int smtp_input(bconn_t *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !b->quit; i++) {
		char ch = p[i];
		if (b->data) {
			if (b->ll < 2)
				b->lead[b->ll] = ch;
			b->ll++;
			if (ch != '\n')
				continue;
			if ((b->ll == 3 && b->lead[0] == '.' && b->lead[1] == '\r') ||
			    (b->ll == 2 && b->lead[0] == '.')) {
				char r[64];
				int w = snprintf(r, sizeof r, "250 2.0.0 Ok: queued, %llu octets\r\n",
						 (unsigned long long)b->msg);
				b->data = false;
				if (out_add(b, r, (size_t)w) < 0)
					return -1;
			} else {
				b->msg += b->ll - (b->lead[0] == '.' ? 1 : 0);   /* dot-stuffing */
			}
			b->ll = 0;
			continue;
		}
		if (ch != '\n') {
			if (b->ll < sizeof b->line - 1)
				b->line[b->ll++] = ch;
			continue;
		}
		b->line[b->ll] = 0;
		b->ll = 0;
		if (smtp_command(b, b->line) < 0)
			return -1;
	}
	return 0;
}

/* write what is queued: 1 all written, 0 more to write, -1 failed */
static int out_flush(int fd, bconn_t *b)
{
	while (b->ooff < b->olen) {
		ssize_t w = send(fd, b->out + b->ooff, b->olen - b->ooff, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		b->ooff += (size_t)w;
	}
	free(b->out);
	b->out = NULL;
	b->olen = b->ooff = 0;
	return 1;
}

static void on_term(int sig)
{
	(void)sig;
	banner_stop = 1;
}

int banner_main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fluxlab banner MARKER [PORT...]\n");
		return 2;
	}
	const char *marker = argv[1];
	int ports[8] = { 22, 25 }, np = 2;
	if (argc > 2) {
		np = 0;
		for (int i = 2; i < argc && np < 8; i++)
			ports[np++] = atoi(argv[i]);
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int lfd[8];
	for (int i = 0; i < np; i++) {
		/* dual stack (IPv4 as mapped addresses) for gateway.pool6;
		 * IPv4 only where the kernel has no IPv6 */
		int one = 1, zero = 0, rc;
		lfd[i] = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (lfd[i] >= 0) {
			setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			setsockopt(lfd[i], IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
			struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)ports[i]) };
			rc = bind(lfd[i], (struct sockaddr *)&s6, sizeof s6);
		} else {
			lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i]) };
			rc = bind(lfd[i], (struct sockaddr *)&sa, sizeof sa);
		}
		if (rc < 0 || listen(lfd[i], 4096) < 0) {
			fprintf(stderr, "banner: port %d: %s\n", ports[i], strerror(errno));
			return 1;
		}
		/* data: negative = listener index */
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(-(int64_t)i - 1) };
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
	}
	char ssh[160], smtp[160];
	snprintf(ssh, sizeof ssh, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 %s\r\n", marker);
	snprintf(smtp, sizeof smtp, "220 mail.lab.test ESMTP Postfix (Debian/GNU) %s\r\n", marker);
	struct epoll_event evs[256];
	bconn_t **bc = NULL;       /* SMTP flows by fd */
	size_t nbc = 0;
	while (!banner_stop) {
		int n = epoll_wait(ep, evs, 256, 500);
		for (int i = 0; i < n; i++) {
			int64_t d = (int64_t)evs[i].data.u64;
			if (d < 0) {
				int li = (int)(-d - 1);
				for (;;) {
					int fd = accept4(lfd[li], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					bool is_smtp = ports[li] == 25;
					const char *b = is_smtp ? smtp : ssh;
					if (send(fd, b, strlen(b), MSG_NOSIGNAL) < 0) {
						close(fd);
						continue;
					}
					if (is_smtp && (size_t)fd >= nbc) {
						size_t nn = (size_t)fd * 2 + 64;
						bconn_t **g = realloc(bc, nn * sizeof *bc);
						if (!g) {
							close(fd);
							continue;
						}
						memset(g + nbc, 0, (nn - nbc) * sizeof *g);
						bc = g;
						nbc = nn;
					}
					if (is_smtp && !(bc[fd] = calloc(1, sizeof **bc))) {
						close(fd);
						continue;
					}
					/* remember the port in the high bits for the reply */
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
								  .data.u64 = (uint64_t)fd | ((uint64_t)ports[li] << 32) };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
						close(fd);
						if (is_smtp) {
							free(bc[fd]);
							bc[fd] = NULL;
						}
					}
				}
				continue;
			}
			int fd = (int)(uint32_t)d;
			int port = (int)(d >> 32);
			if (port != 25) {
				char buf[512];
				if (recv(fd, buf, sizeof buf, 0) > 0 && port != 22)
					continue;
				close(fd);
				continue;
			}
			bconn_t *b = bc[fd];
			int rc = 0;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				char buf[16384];
				ssize_t r = recv(fd, buf, sizeof buf, 0);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
					rc = -1;
				else if (r > 0 && smtp_input(b, buf, (size_t)r) < 0)
					rc = -1;
			}
			if (rc == 0) {
				rc = out_flush(fd, b);
				if (rc == 1 && b->quit) {
					rc = -1;
				} else if (rc >= 0) {
					/* a reply not yet written: wait for room, reading no more */
					struct epoll_event ev = { .events = rc ? EPOLLIN | EPOLLRDHUP : EPOLLOUT,
								  .data.u64 = evs[i].data.u64 };
					epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
				}
			}
			if (rc < 0) {
				close(fd);
				free(b->out);
				free(b);
				bc[fd] = NULL;
			}
		}
	}
	for (size_t i = 0; i < nbc; i++)
		if (bc[i]) {
			free(bc[i]->out);
			free(bc[i]);
		}
	free(bc);
	return 0;
}
