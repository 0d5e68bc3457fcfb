/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege separation, the channel framing (privsep_int.h): a message is
 * one SOCK_SEQPACKET record, a header then its payload; a short, long or
 * mislabelled record, or one carrying descriptors or credentials where none
 * is expected, is refused whole.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/privsep_int.h"

int fg_ps_send(int fd, uint16_t op, uint16_t count, int32_t status,
		   const void *payload, uint32_t len)
{
	struct ps_hdr h = { PS_MAGIC, op, count, status, len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t k;
	do
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	return (size_t)k == sizeof(h) + len ? 0 : -EIO;
}

int fg_ps_recv_ex(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed, int flags)
{
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (passed) {
		*passed = -1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
	}
	ssize_t k;
	do
		k = recvmsg(fd, &mh, MSG_TRUNC | MSG_CMSG_CLOEXEC | flags);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		return -EPIPE;
	if (k < 0)
		return -errno;
	bool extra = (mh.msg_flags & MSG_CTRUNC) != 0;
	if (passed) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)) && *passed < 0) {
				memcpy(passed, CMSG_DATA(c), sizeof(int));
			} else {
				extra = true;
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
					size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
					for (size_t i = 0; i < nfd; i++) {
						int x;
						memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(x));
						close(x);
					}
				}
			}
		}
		if (extra && *passed >= 0) {
			close(*passed);
			*passed = -1;
		}
	}
	if (extra)
		return -EPROTO;
	if ((size_t)k > cap || (size_t)k < sizeof(*h))
		goto malformed;
	memcpy(h, buf, sizeof(*h));
	if (h->magic != PS_MAGIC || h->len != (size_t)k - sizeof(*h))
		goto malformed;
	return (int)h->len;
malformed:
	if (passed && *passed >= 0) {
		close(*passed);
		*passed = -1;
	}
	return -FG_EMALF;
}

int fg_ps_recv_fd(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed)
{
	return fg_ps_recv_ex(fd, buf, cap, h, passed, 0);
}

int fg_ps_recv(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h)
{
	return fg_ps_recv_fd(fd, buf, cap, h, NULL);
}
