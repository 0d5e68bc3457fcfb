/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fluxdecoy/event.h"

struct fd_event {
	int fd;
	uint64_t written, dropped;
};

int fd_event_open(const char *path, fd_event_t **out)
{
	fd_event_t *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->fd = -1;
	if (path) {
		ev->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (ev->fd < 0) {
			int rc = -errno;
			free(ev);
			return rc;
		}
	}
	*out = ev;
	return 0;
}

void fd_event_close(fd_event_t *ev)
{
	if (!ev)
		return;
	if (ev->fd >= 0)
		close(ev->fd);
	free(ev);
}

void fd_event_timestamp(char out[40])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%.19s.%06u+0000", base, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}

void fd_sockaddr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen,
		      unsigned *port)
{
	ip[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(a->sin6_port);
	}
}

void fd_event_emit(fd_event_t *ev, const struct sockaddr_storage *src,
		   const struct sockaddr_storage *dst, json_t *detail)
{
	fd_event_emit_proto(ev, src, dst, "TCP", detail);
}

void fd_event_emit_proto(fd_event_t *ev, const struct sockaddr_storage *src,
			 const struct sockaddr_storage *dst, const char *proto,
			 json_t *detail)
{
	char ts[40], ip[INET6_ADDRSTRLEN];
	unsigned port;
	json_t *o;
	char *line;

	if (!ev || ev->fd < 0) {
		json_decref(detail);
		return;
	}
	o = json_object();
	if (!o) {
		json_decref(detail);
		ev->dropped++;
		return;
	}
	fd_event_timestamp(ts);
	json_object_set_new(o, "timestamp", json_string(ts));
	json_object_set_new(o, "event_type", json_string("decoy"));
	if (src) {
		fd_sockaddr_text(src, ip, sizeof(ip), &port);
		json_object_set_new(o, "src_ip", json_string(ip));
		json_object_set_new(o, "src_port", json_integer(port));
	}
	if (dst) {
		fd_sockaddr_text(dst, ip, sizeof(ip), &port);
		json_object_set_new(o, "dest_ip", json_string(ip));
		json_object_set_new(o, "dest_port", json_integer(port));
	}
	json_object_set_new(o, "proto", json_string(proto));
	if (detail)
		json_object_set_new(o, "decoy", detail);
	/* ensure_ascii: attacker bytes never reach the file raw */
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!line) {
		ev->dropped++;
		return;
	}
	size_t n = strlen(line);
	line[n] = '\n';  /* json_dumps leaves room only for the NUL: rewrite it */
	ssize_t w = write(ev->fd, line, n + 1);
	free(line);
	if (w == (ssize_t)(n + 1))
		ev->written++;
	else
		ev->dropped++;
}

uint64_t fd_event_written(const fd_event_t *ev)
{
	return ev ? ev->written : 0;
}

uint64_t fd_event_dropped(const fd_event_t *ev)
{
	return ev ? ev->dropped : 0;
}
