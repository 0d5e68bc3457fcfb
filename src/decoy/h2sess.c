/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "decoy/httpwire.h"
#include "decoy/h2sess.h"

/* Fields of one answer: the captured heads hold a dozen. */
#define MAX_FIELDS 64

struct stream {
	fd_h2_req_t rq;
	char *resp;          /* the rendered HTTP/1 answer */
	size_t body_off, body_len, sent;
	struct stream *next, *prev;   /* nghttp2_session_del() reports no close */
};

struct fd_h2 {
	nghttp2_session *ss;
	const fd_service_t *sv;
	const fd_h2_io_t *io;    /* of the call under way */
	uint64_t requests;
	struct stream *streams;
};

static void copy_clean(char *dst, size_t dstlen, const uint8_t *s, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : (char)s[i];
	dst[n] = '\0';
}

static void stream_free(fd_h2_t *h, struct stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->resp);
	free(st);
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	fd_h2_t *h = ud;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	st->rq.stream = f->hd.stream_id;
	st->next = h->streams;
	if (h->streams)
		h->streams->prev = st;
	h->streams = st;
	if (nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, st) != 0) {
		stream_free(h, st);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen,
		     uint8_t flags, void *ud)
{
	struct stream *st = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	static const struct { const char *n; size_t off, len; } keep[] = {
		{ ":method", offsetof(fd_h2_req_t, method), sizeof(((fd_h2_req_t *)0)->method) },
		{ ":path", offsetof(fd_h2_req_t, path), sizeof(((fd_h2_req_t *)0)->path) },
		{ ":authority", offsetof(fd_h2_req_t, authority), sizeof(((fd_h2_req_t *)0)->authority) },
		{ "user-agent", offsetof(fd_h2_req_t, user_agent), sizeof(((fd_h2_req_t *)0)->user_agent) },
		{ "range", offsetof(fd_h2_req_t, range), sizeof(((fd_h2_req_t *)0)->range) },
	};

	if (!st || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 5 && memcmp(name, "range", 5) == 0 && valuelen >= sizeof(st->rq.range))
		st->rq.range_cut = 1;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strlen(keep[i].n) == namelen && memcmp(keep[i].n, name, namelen) == 0)
			copy_clean((char *)&st->rq + keep[i].off, keep[i].len, value, valuelen);
	return 0;
}

static int on_data_chunk(nghttp2_session *ss, uint8_t flags, int32_t id,
			 const uint8_t *data, size_t len, void *ud)
{
	struct stream *st = nghttp2_session_get_stream_user_data(ss, id);

	if (st)
		st->rq.body_bytes += len;
	return 0;
}

static ssize_t read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct stream *st = src->ptr;
	size_t left = st->body_len - st->sent;

	/* the body, then an empty DATA frame with END_STREAM, as lighttpd and
	 * nginx end a static file */
	if (!left) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	if (len > left)
		len = left;
	memcpy(buf, st->resp + st->body_off + st->sent, len);
	st->sent += len;
	return (ssize_t)len;
}

static int respond(fd_h2_t *h, struct stream *st)
{
	size_t len = 0;
	int head_only = 0;
	fd_h2_field_t fl[MAX_FIELDS];
	nghttp2_nv nv[MAX_FIELDS + 1];
	unsigned status = 0;
	char code[4];

	h->requests++;
	st->resp = h->io->request(h->io->ctx, &st->rq, &len, &head_only);
	int n = st->resp ? fd_h2_from_http1(st->resp, len, &status, fl, MAX_FIELDS,
					    &st->body_off) : -ENOMEM;
	if (n < 0 || status > 999)
		return nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, st->rq.stream,
						 NGHTTP2_INTERNAL_ERROR);
	snprintf(code, sizeof(code), "%03u", status);
	nv[0] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)code, 7, 3,
			      NGHTTP2_NV_FLAG_NONE };
	for (int i = 0; i < n; i++)
		nv[i + 1] = (nghttp2_nv){ (uint8_t *)fl[i].name, (uint8_t *)fl[i].value,
					  fl[i].namelen, fl[i].valuelen,
					  NGHTTP2_NV_FLAG_NONE };
	st->body_len = head_only ? 0 : len - st->body_off;
	/* no body (HEAD, 204, 304): END_STREAM on the HEADERS frame */
	nghttp2_data_provider dp = { .source.ptr = st, .read_callback = read_body };
	return nghttp2_submit_response(h->ss, st->rq.stream, nv, (size_t)n + 1,
				       st->body_len ? &dp : NULL);
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	fd_h2_t *h = ud;

	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct stream *st = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
	if (!st || st->resp)
		return 0;
	return respond(h, st) == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *ud)
{
	struct stream *st = nghttp2_session_get_stream_user_data(ss, id);

	if (st) {
		nghttp2_session_set_stream_user_data(ss, id, NULL);
		stream_free(ud, st);
	}
	return 0;
}

static int on_invalid_frame(nghttp2_session *ss, const nghttp2_frame *f,
			    int lib_error, void *ud)
{
	fd_h2_t *h = ud;
	char msg[128];

	snprintf(msg, sizeof(msg), "HTTP/2 frame type %u on stream %d: %s",
		 f->hd.type, f->hd.stream_id, nghttp2_strerror(lib_error));
	if (h->io && h->io->error)
		h->io->error(h->io->ctx, msg);
	return 0;
}

fd_h2_t *fd_h2_new(const fd_service_t *sv)
{
	fd_h2_t *h = calloc(1, sizeof(*h));
	nghttp2_session_callbacks *cb = NULL;
	uint16_t ids[FD_H2_MAX_SETTINGS];
	uint32_t vals[FD_H2_MAX_SETTINGS];
	nghttp2_settings_entry iv[FD_H2_MAX_SETTINGS];
	int n = sv->h2_settings ? fd_h2_settings_parse(sv->h2_settings, ids, vals,
							FD_H2_MAX_SETTINGS) : 0;

	if (!h || n < 0 || nghttp2_session_callbacks_new(&cb) != 0)
		goto fail;
	h->sv = sv;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	int rc = nghttp2_session_server_new(&h->ss, cb, h);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0)
		goto fail;
	for (int i = 0; i < n; i++)
		iv[i] = (nghttp2_settings_entry){ ids[i], vals[i] };
	if (nghttp2_submit_settings(h->ss, NGHTTP2_FLAG_NONE, iv, (size_t)n) != 0)
		goto fail;
	if (sv->h2_window_update &&
	    nghttp2_submit_window_update(h->ss, NGHTTP2_FLAG_NONE, 0,
					 (int32_t)sv->h2_window_update) != 0)
		goto fail;
	return h;
fail:
	fd_h2_free(h);
	return NULL;
}

int fd_h2_send(fd_h2_t *h, const fd_h2_io_t *io)
{
	h->io = io;
	for (;;) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(h->ss, &p);
		if (n < 0) {
			if (io->error)
				io->error(io->ctx, nghttp2_strerror((int)n));
			h->io = NULL;
			return -FG_EMALF;
		}
		if (n == 0)
			break;
		if (io->out(io->ctx, p, (size_t)n) < 0) {
			h->io = NULL;
			return -ENOBUFS;
		}
	}
	h->io = NULL;
	return nghttp2_session_want_read(h->ss) || nghttp2_session_want_write(h->ss)
	       ? 0 : FD_H2_DONE;
}

int fd_h2_input(fd_h2_t *h, const uint8_t *in, size_t len, const fd_h2_io_t *io)
{
	h->io = io;
	ssize_t r = nghttp2_session_mem_recv(h->ss, in, len);
	h->io = NULL;
	if (r < 0) {
		if (io->error)
			io->error(io->ctx, nghttp2_strerror((int)r));
		/* a bad preface, a flood: GOAWAY PROTOCOL_ERROR, as lighttpd
		 * answers a client that is not HTTP/2 (nghttp2 sends none for a
		 * bad preface; where it made one already this one is refused) */
		nghttp2_submit_goaway(h->ss, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(h->ss),
				      NGHTTP2_PROTOCOL_ERROR, NULL, 0);
		fd_h2_send(h, io);
		return -FG_EMALF;
	}
	return fd_h2_send(h, io);
}

uint64_t fd_h2_requests(const fd_h2_t *h)
{
	return h ? h->requests : 0;
}

void fd_h2_free(fd_h2_t *h)
{
	if (!h)
		return;
	nghttp2_session_del(h->ss);
	while (h->streams)
		stream_free(h, h->streams);
	free(h);
}
