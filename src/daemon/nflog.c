/* SPDX-License-Identifier: GPL-3.0-or-later */
/* NFLOG subscriber and packet header parser (see nflog.h). */
#include "daemon/nflog.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnetfilter_log/libnetfilter_log.h>

#include "common/err.h"
#include "common/log.h"
#include "common/wire.h"

/* ---- pure parser ----------------------------------------------------------- */

/* IPv6 extension headers walked before giving up on finding the transport
 * header: a bound on work for crafted chains, far above real traffic. */
#define MAX_EXT_HDRS 8

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* Transport ports (and TCP flags) at the cursor; absent when truncated. */
static void parse_l4(fg_wire_t *w, fg_pkt_info_t *out)
{
	if (!has_ports(out->proto) || fg_wire_avail(w) < 4)
		return;
	out->sport = fg_wire_read_u16(w);
	out->dport = fg_wire_read_u16(w);
	out->has_ports = true;
	if (out->proto == IPPROTO_TCP && fg_wire_avail(w) >= 10) {
		fg_wire_skip(w, 9);   /* seq, ack, data offset */
		out->tcp_flags = fg_wire_read_u8(w);
	}
}

static int parse_v4(fg_wire_t *w, fg_pkt_info_t *out)
{
	uint8_t vihl = fg_wire_read_u8(w);
	size_t ihl = (size_t)(vihl & 0x0f) * 4;
	fg_wire_skip(w, 1);                      /* DSCP/ECN */
	uint16_t total = fg_wire_read_u16(w);
	fg_wire_skip(w, 2);                      /* identification */
	uint16_t frag = fg_wire_read_u16(w);
	fg_wire_skip(w, 1);                      /* TTL */
	out->proto = fg_wire_read_u8(w);
	fg_wire_skip(w, 2);                      /* checksum */
	fg_wire_read(w, out->src, 4);
	fg_wire_read(w, out->dst, 4);
	if (w->err)
		return w->err;
	if (ihl < 20 || total < ihl)
		return -FG_EMALF;
	fg_wire_skip(w, ihl - 20);               /* options */
	if (w->err)
		return w->err;
	out->family = AF_INET;
	/* ignore link-layer padding past the datagram */
	if (total < w->len)
		w->len = total;
	if ((frag & 0x1fff) == 0)                /* first (or only) fragment */
		parse_l4(w, out);
	return 0;
}

static int parse_v6(fg_wire_t *w, fg_pkt_info_t *out)
{
	fg_wire_skip(w, 4);                      /* version, class, flow label */
	uint16_t plen = fg_wire_read_u16(w);
	uint8_t next = fg_wire_read_u8(w);
	fg_wire_skip(w, 1);                      /* hop limit */
	fg_wire_read(w, out->src, 16);
	fg_wire_read(w, out->dst, 16);
	if (w->err)
		return w->err;
	out->family = AF_INET6;
	if (plen && (size_t)plen + 40 < w->len)  /* 0: jumbogram, keep all */
		w->len = (size_t)plen + 40;

	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case 135:   /* mobility */
		case 139:   /* HIP */
		case 140:   /* shim6 */
		case IPPROTO_AH: {
			/* next header, then a length: in 8-octet units not
			 * counting the first 8 (RFC 8200), or for AH in 4-octet
			 * units not counting the first 8 (RFC 4302) */
			if (fg_wire_avail(w) < 2) {
				out->proto = next;
				return 0;
			}
			uint8_t nh = fg_wire_read_u8(w);
			size_t units = fg_wire_read_u8(w);
			size_t hlen = next == IPPROTO_AH ? (units + 2) * 4 : (units + 1) * 8;
			fg_wire_skip(w, hlen - 2);
			if (w->err) {
				out->proto = next;
				return 0;
			}
			next = nh;
			break;
		}
		case IPPROTO_FRAGMENT: {
			if (fg_wire_avail(w) < 8) {
				out->proto = next;
				return 0;
			}
			uint8_t nh = fg_wire_read_u8(w);
			fg_wire_skip(w, 1);
			uint16_t off = fg_wire_read_u16(w);
			fg_wire_skip(w, 4);
			if (off >> 3) {          /* not the first fragment: no ports */
				out->proto = nh;
				return 0;
			}
			next = nh;
			break;
		}
		default:
			out->proto = next;
			parse_l4(w, out);
			return 0;
		}
	}
	out->proto = next;   /* chain too long: addresses only */
	return 0;
}

int fg_pkt_parse(const uint8_t *buf, size_t len, fg_pkt_info_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf || len < 1)
		return -FG_ETRUNC;
	fg_wire_t w = fg_wire_init(buf, len);
	int rc;
	switch (buf[0] >> 4) {
	case 4:
		rc = parse_v4(&w, out);
		break;
	case 6:
		rc = parse_v6(&w, out);
		break;
	default:
		return -FG_EMALF;
	}
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return 0;
}

/* ---- the netlink subscriber ------------------------------------------------ */

/* Receive buffer: the kernel batches several log messages into one netlink
 * datagram (up to the group's nlbufsiz). */
#define RECV_BUF (128u * 1024u)
#define NL_BUFSIZ (64u * 1024u)
#define SOCK_RCVBUF (1u << 20)
/* Flush the kernel's batch after 100 ms or this many packets, so events
 * show up promptly without a netlink message per packet. */
#define FLUSH_TIMEOUT_CS 10
#define QTHRESH 32
/* Datagrams read per dispatch call before returning to the main loop. */
#define MAX_READS 32

struct fg_nflog {
	struct nflog_handle *h;
	struct nflog_g_handle *gh;
	int fd;
	uint16_t group;
	fg_nflog_fn cb;
	void *ctx;
	int delivered;             /* during one dispatch */
	uint64_t errors, malformed;
	char *buf;
};

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg,
		     struct nflog_data *nfd, void *data)
{
	fg_nflog_t *nl = data;
	char *payload = NULL;
	fg_pkt_info_t pkt;

	(void)gh;
	(void)nfmsg;
	int len = nflog_get_payload(nfd, &payload);
	if (len <= 0 || !payload || fg_pkt_parse((const uint8_t *)payload, (size_t)len, &pkt) < 0) {
		nl->malformed++;
		return 0;   /* keep going with the rest of the batch */
	}
	const char *prefix = nflog_get_prefix(nfd);
	nl->cb(nl->ctx, &pkt, prefix ? prefix : "");
	nl->delivered++;
	return 0;
}

int fg_nflog_open(uint16_t group, fg_nflog_fn cb, void *ctx, fg_nflog_t **out)
{
	if (!group || !cb || !out)
		return -EINVAL;
	fg_nflog_t *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->group = group;
	nl->cb = cb;
	nl->ctx = ctx;
	nl->buf = malloc(RECV_BUF);
	int rc = -ENOMEM;
	if (!nl->buf)
		goto fail;

	errno = 0;
	nl->h = nflog_open();
	if (!nl->h) {
		rc = errno ? -errno : -FG_ENETLINK;
		goto fail;
	}
	/* Kernels before 3.8 need the per-family binding; later ones accept
	 * and ignore it, so failures here are not fatal. */
	nflog_unbind_pf(nl->h, AF_INET);
	nflog_unbind_pf(nl->h, AF_INET6);
	nflog_bind_pf(nl->h, AF_INET);
	nflog_bind_pf(nl->h, AF_INET6);

	errno = 0;
	nl->gh = nflog_bind_group(nl->h, group);
	if (!nl->gh) {
		rc = errno ? -errno : -FG_ENETLINK;
		goto fail;
	}
	if (nflog_set_mode(nl->gh, NFULNL_COPY_PACKET, FG_NFLOG_COPY_LEN) < 0) {
		rc = errno ? -errno : -FG_ENETLINK;
		goto fail;
	}
	/* tuning only: the defaults work, just less promptly */
	nflog_set_nlbufsiz(nl->gh, NL_BUFSIZ);
	nflog_set_timeout(nl->gh, FLUSH_TIMEOUT_CS);
	nflog_set_qthresh(nl->gh, QTHRESH);
	nflog_callback_register(nl->gh, on_packet, nl);

	nl->fd = nflog_fd(nl->h);
	/* room for bursts while the main loop is busy; what still overflows
	 * is reported as ENOBUFS and counted in fg_nflog_errors() */
	int sz = SOCK_RCVBUF;
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	*out = nl;
	return 0;
fail:
	fg_nflog_close(nl);
	return rc;
}

int fg_nflog_fd(const fg_nflog_t *nl)
{
	return nl ? nl->fd : -1;
}

int fg_nflog_dispatch(fg_nflog_t *nl)
{
	if (!nl)
		return 0;
	nl->delivered = 0;
	for (int i = 0; i < MAX_READS; i++) {
		ssize_t n = recv(nl->fd, nl->buf, RECV_BUF, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* the kernel dropped log messages: count, go on */
				nl->errors++;
				continue;
			}
			nl->errors++;
			return -errno;
		}
		if (n == 0)
			break;
		if (nflog_handle_packet(nl->h, nl->buf, (int)n) < 0)
			nl->errors++;
	}
	return nl->delivered;
}

uint64_t fg_nflog_errors(const fg_nflog_t *nl)
{
	return nl ? nl->errors : 0;
}

uint64_t fg_nflog_malformed(const fg_nflog_t *nl)
{
	return nl ? nl->malformed : 0;
}

void fg_nflog_close(fg_nflog_t *nl)
{
	if (!nl)
		return;
	/* After the privilege drop the unbind message is refused (it needs
	 * CAP_NET_ADMIN) and libnetfilter_log then keeps the group handle;
	 * closing the socket unbinds in the kernel anyway, so free it here. */
	int unbound = nl->gh ? nflog_unbind_group(nl->gh) : 0;
	if (nl->h)
		nflog_close(nl->h);
	if (unbound < 0)
		free(nl->gh);
	free(nl->buf);
	free(nl);
}
