/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `fluxlab banner MARKER [PORT...]`: the SSH and SMTP servers of the lab's
 * real server and decoy bed. Both speak the same banner apart from the
 * marker the lab reads to tell who answered; the decoy bed listens on
 * 0.0.0.0 behind a local route for the whole pool, so every pool address
 * answers. One epoll loop; runs until SIGTERM.
 */
#include "fluxlab/lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t banner_stop;

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
					const char *b = ports[li] == 25 ? smtp : ssh;
					if (send(fd, b, strlen(b), MSG_NOSIGNAL) < 0) {
						close(fd);
						continue;
					}
					/* remember the port in the high bits for the reply */
					struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
								  .data.u64 = (uint64_t)fd | ((uint64_t)ports[li] << 32) };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
						close(fd);
				}
				continue;
			}
			int fd = (int)(uint32_t)d;
			int port = (int)(d >> 32);
			char buf[512];
			ssize_t r = recv(fd, buf, sizeof buf - 1, 0);
			if (r > 0 && port == 25) {
				static const char bye[] = "221 2.0.0 Bye\r\n";
				send(fd, bye, sizeof bye - 1, MSG_NOSIGNAL);
			}
			if (r > 0 && port != 25 && port != 22)
				continue;
			close(fd);
		}
	}
	return 0;
}
