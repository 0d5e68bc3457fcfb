/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decoy's HTTP/2 session (decoy/h2sess.h) against libnghttp2's client
 * session, in memory: the persona's SETTINGS and WINDOW_UPDATE first, the
 * HTTP/1 capture's fields and body as h2 frames, HEAD without a body,
 * concurrent streams (a POST body counted, control bytes and long fields
 * cut, a request the decoy cannot answer reset), a client that is not
 * HTTP/2 refused with GOAWAY, an invalid frame reported, a full output.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "decoy/h2sess.h"

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
	"Connection: keep-alive\r\nContent-Length: 5\r\nServer: lighttpd/1.4.69\r\n\r\nhello";

/* what the server side sent and saw */
struct srv {
	uint8_t out[65536];
	size_t outlen;
	unsigned requests, errors;
	char last_path[256], last_ua[256], last_method[16], last_range[256];
	int last_range_cut;
	uint64_t body_bytes[8];  /* by stream id / 2 */
	int out_fail;            /* s_out fails after this many calls (0: never) */
	unsigned out_calls;
};

static int s_out(void *ctx, const uint8_t *p, size_t n)
{
	struct srv *s = ctx;
	if (s->out_fail && ++s->out_calls >= (unsigned)s->out_fail)
		return -1;
	if (s->outlen + n > sizeof(s->out))
		return -1;
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
	return 0;
}

static char *s_request(void *ctx, const fd_h2_req_t *rq, size_t *len, int *head_only)
{
	struct srv *s = ctx;
	s->requests++;
	snprintf(s->last_path, sizeof(s->last_path), "%s", rq->path);
	if (rq->user_agent[0])   /* the last request that had one */
		snprintf(s->last_ua, sizeof(s->last_ua), "%s", rq->user_agent);
	snprintf(s->last_method, sizeof(s->last_method), "%s", rq->method);
	snprintf(s->last_range, sizeof(s->last_range), "%s", rq->range);
	s->last_range_cut = rq->range_cut;
	if (rq->stream / 2 < 8)
		s->body_bytes[rq->stream / 2] = rq->body_bytes;
	if (strcmp(rq->path, "/fail") == 0)
		return NULL;     /* the decoy has no answer: the stream is reset */
	*head_only = strcmp(rq->method, "HEAD") == 0;
	*len = sizeof(RESP) - 1;
	return strdup(RESP);
}

static void s_error(void *ctx, const char *msg)
{
	struct srv *s = ctx;
	s->errors++;
}

/* what the client saw */
struct cli {
	int32_t settings_id[16];
	uint32_t settings_val[16];
	size_t nsettings;
	int32_t wu;
	bool wu_before_headers, got_headers, goaway;
	uint32_t goaway_code;
	char fields[1024];
	char body[64];
	size_t bodylen;
	unsigned data_frames;
	bool ended;
	uint32_t rst_code;
	int32_t rst_stream;
	unsigned stream_ends;
};

static int c_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct cli *c = ud;
	if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK))
		for (size_t i = 0; i < f->settings.niv && c->nsettings < 16; i++, c->nsettings++) {
			c->settings_id[c->nsettings] = f->settings.iv[i].settings_id;
			c->settings_val[c->nsettings] = f->settings.iv[i].value;
		}
	if (f->hd.type == NGHTTP2_WINDOW_UPDATE && f->hd.stream_id == 0) {
		c->wu = f->window_update.window_size_increment;
		c->wu_before_headers = !c->got_headers;
	}
	if (f->hd.type == NGHTTP2_HEADERS)
		c->got_headers = true;
	if (f->hd.type == NGHTTP2_DATA)
		c->data_frames++;
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		c->ended = true;
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		c->stream_ends++;
	if (f->hd.type == NGHTTP2_RST_STREAM) {
		c->rst_stream = f->hd.stream_id;
		c->rst_code = f->rst_stream.error_code;
	}
	if (f->hd.type == NGHTTP2_GOAWAY) {
		c->goaway = true;
		c->goaway_code = f->goaway.error_code;
	}
	return 0;
}

static int c_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *n, size_t nl,
		    const uint8_t *v, size_t vl, uint8_t flags, void *ud)
{
	struct cli *c = ud;
	size_t o = strlen(c->fields);
	snprintf(c->fields + o, sizeof(c->fields) - o, "%.*s=%.*s;", (int)nl, n, (int)vl, v);
	return 0;
}

static int c_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *d,
		  size_t len, void *ud)
{
	struct cli *c = ud;
	if (c->bodylen + len < sizeof(c->body)) {
		memcpy(c->body + c->bodylen, d, len);
		c->bodylen += len;
	}
	return 0;
}

static fd_service_t service(void)
{
	static char h2[] = "h2", h1[] = "http/1.1";
	static char *protos[] = { h2, h1 };
	static char settings[] = "3:8 4:65536 6:65535 8:1 9:1";
	fd_service_t sv;

	memset(&sv, 0, sizeof(sv));
	sv.port = 443;
	sv.kind = FD_HTTPS;
	sv.alpn.v = protos;
	sv.alpn.n = 2;
	sv.h2_settings = settings;
	sv.h2_window_update = 196609;
	return sv;
}

/* Run a request between the two sessions until nothing moves. */
static void exchange(const char *method, const char *path, struct srv *s, struct cli *c)
{
	fd_service_t sv = service();
	fd_h2_t *h = fd_h2_new(&sv);
	fd_h2_io_t io = { s, s_out, s_request, s_error };
	nghttp2_session_callbacks *cb;
	nghttp2_session *cs;

	assert_non_null(h);
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
	assert_int_equal(nghttp2_session_client_new(&cs, cb, c), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(nghttp2_submit_settings(cs, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	nghttp2_nv nv[] = {
		{ (uint8_t *)":method", (uint8_t *)method, 7, strlen(method), 0 },
		{ (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"www.example.test", 10, 16, 0 },
		{ (uint8_t *)"user-agent", (uint8_t *)"curl/7.88.1", 10, 11, 0 },
		{ (uint8_t *)"range", (uint8_t *)"bytes=0-99", 5, 10, 0 },
	};
	assert_true(nghttp2_submit_request(cs, NULL, nv, 6, NULL, NULL) > 0);
	/* the server speaks first: its preface before the client's */
	assert_int_equal(fd_h2_send(h, &io), 0);
	assert_true(s->outlen > 0);
	for (int round = 0; round < 10; round++) {
		const uint8_t *p;
		ssize_t n;
		if (s->outlen) {
			assert_int_equal(nghttp2_session_mem_recv(cs, s->out, s->outlen),
					 (ssize_t)s->outlen);
			s->outlen = 0;
		}
		while ((n = nghttp2_session_mem_send(cs, &p)) > 0)
			assert_true(fd_h2_input(h, p, (size_t)n, &io) >= 0);
	}
	assert_int_equal(fd_h2_requests(h), 1);
	nghttp2_session_del(cs);
	fd_h2_free(h);
}

static void test_get(void **st)
{
	struct srv s = { .outlen = 0 };
	struct cli c = { .nsettings = 0 };

	(void)st;
	exchange("GET", "/", &s, &c);
	/* the Range field reaches the server (a sized page's ranges) */
	assert_string_equal(s.last_range, "bytes=0-99");
	assert_int_equal(c.nsettings, 5);
	assert_int_equal(c.settings_id[0], 3);
	assert_int_equal(c.settings_val[0], 8);
	assert_int_equal(c.settings_id[4], 9);
	assert_int_equal(c.wu, 196609);
	assert_true(c.wu_before_headers);
	assert_string_equal(c.fields, ":status=200;content-type=text/html;content-length=5;"
			    "server=lighttpd/1.4.69;");
	assert_int_equal(c.bodylen, 5);
	assert_memory_equal(c.body, "hello", 5);
	/* the body, then an empty DATA frame ending the stream, as lighttpd */
	assert_int_equal(c.data_frames, 2);
	assert_true(c.ended);
	assert_int_equal(s.requests, 1);
	assert_string_equal(s.last_path, "/");
	assert_string_equal(s.last_ua, "curl/7.88.1");
	assert_int_equal(s.errors, 0);
}

static void test_head(void **st)
{
	struct srv s = { .outlen = 0 };
	struct cli c = { .nsettings = 0 };

	(void)st;
	exchange("HEAD", "/x", &s, &c);
	assert_string_equal(s.last_method, "HEAD");
	assert_string_equal(c.fields, ":status=200;content-type=text/html;content-length=5;"
			    "server=lighttpd/1.4.69;");
	assert_int_equal(c.bodylen, 0);
	assert_int_equal(c.data_frames, 0);
	assert_true(c.ended);
}

static ssize_t c_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len,
		      uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	size_t *left = src->ptr;
	size_t n = *left < len ? *left : len;

	memset(buf, 'b', n);
	*left -= n;
	if (!*left)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static nghttp2_session *client(struct cli *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *cs;

	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
	assert_int_equal(nghttp2_session_client_new(&cs, cb, c), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(nghttp2_submit_settings(cs, NGHTTP2_FLAG_NONE, NULL, 0), 0);
	return cs;
}

/* Three streams at once: a GET with non-ASCII bytes in its User-Agent and
 * a Range longer than the decoy keeps, a POST with a 1000-byte body, and
 * one the decoy has no answer for (reset, INTERNAL_ERROR); the others
 * answered. */
static void test_streams(void **st)
{
	fd_service_t sv = service();
	struct srv s = { .outlen = 0 };
	struct cli c = { .nsettings = 0 };
	fd_h2_io_t io = { &s, s_out, s_request, s_error };
	fd_h2_t *h = fd_h2_new(&sv);
	nghttp2_session *cs = client(&c);
	char range[400];

	(void)st;
	assert_non_null(h);
	memset(range, '9', sizeof(range));
	memcpy(range, "bytes=", 6);
	nghttp2_nv get[] = {
		{ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/a", 5, 2, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0 },
		{ (uint8_t *)"user-agent", (uint8_t *)"evil\xc3\xa9ua", 10, 8, 0 },
		{ (uint8_t *)"range", (uint8_t *)range, 5, sizeof(range), 0 },
	};
	nghttp2_nv post[] = {
		{ (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/b", 5, 2, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0 },
	};
	nghttp2_nv fail[] = {
		{ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/fail", 5, 5, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0 },
	};
	size_t left = 1000;
	nghttp2_data_provider dp = { .source.ptr = &left, .read_callback = c_body };
	assert_int_equal(nghttp2_submit_request(cs, NULL, get, 6, NULL, NULL), 1);
	assert_int_equal(nghttp2_submit_request(cs, NULL, post, 4, &dp, NULL), 3);
	assert_int_equal(nghttp2_submit_request(cs, NULL, fail, 4, NULL, NULL), 5);
	assert_int_equal(fd_h2_send(h, &io), 0);
	for (int round = 0; round < 10; round++) {
		const uint8_t *p;
		ssize_t n;
		if (s.outlen) {
			assert_int_equal(nghttp2_session_mem_recv(cs, s.out, s.outlen),
					 (ssize_t)s.outlen);
			s.outlen = 0;
		}
		while ((n = nghttp2_session_mem_send(cs, &p)) > 0)
			assert_true(fd_h2_input(h, p, (size_t)n, &io) >= 0);
	}
	assert_int_equal(fd_h2_requests(h), 3);
	assert_int_equal(s.requests, 3);
	assert_string_equal(s.last_ua, "evil??ua");
	assert_int_equal(s.body_bytes[1], 1000);   /* stream 3 */
	assert_int_equal(s.body_bytes[0], 0);
	assert_int_equal(c.rst_stream, 5);
	assert_int_equal(c.rst_code, NGHTTP2_INTERNAL_ERROR);
	assert_int_equal(c.stream_ends, 2);         /* /a and /b answered */
	assert_int_equal(s.errors, 0);
	nghttp2_session_del(cs);
	/* streams still open when the session goes are freed with it */
	fd_h2_free(h);
	fd_h2_free(NULL);
	assert_int_equal(fd_h2_requests(NULL), 0);
}

/* The Range field: cut at 255 bytes and flagged. */
static void test_long_range(void **st)
{
	fd_service_t sv = service();
	struct srv s = { .outlen = 0 };
	struct cli c = { .nsettings = 0 };
	fd_h2_io_t io = { &s, s_out, s_request, s_error };
	fd_h2_t *h = fd_h2_new(&sv);
	nghttp2_session *cs = client(&c);
	char range[300];

	(void)st;
	memset(range, '1', sizeof(range));
	nghttp2_nv nv[] = {
		{ (uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/", 5, 1, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0 },
		{ (uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0 },
		{ (uint8_t *)"range", (uint8_t *)range, 5, sizeof(range), 0 },
	};
	assert_true(nghttp2_submit_request(cs, NULL, nv, 5, NULL, NULL) > 0);
	const uint8_t *p;
	ssize_t n;
	while ((n = nghttp2_session_mem_send(cs, &p)) > 0)
		assert_true(fd_h2_input(h, p, (size_t)n, &io) >= 0);
	assert_int_equal(s.requests, 1);
	assert_int_equal(s.last_range_cut, 1);
	assert_int_equal(strlen(s.last_range), 255);
	nghttp2_session_del(cs);
	fd_h2_free(h);
}

/* A frame nghttp2 refuses (a WINDOW_UPDATE of 0 on the connection)
 * reaches the error callback; output that cannot be queued ends the
 * session. */
static void test_invalid_and_full(void **st)
{
	fd_service_t sv = service();
	struct srv s = { .outlen = 0 };
	fd_h2_io_t io = { &s, s_out, s_request, s_error };
	fd_h2_t *h = fd_h2_new(&sv);
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	/* client SETTINGS (empty), then WINDOW_UPDATE with increment 0 on
	 * connection: a PROTOCOL_ERROR nghttp2 reports as an invalid frame */
	static const uint8_t frames[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0,
					  0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	(void)st;
	assert_int_equal(fd_h2_send(h, &io), 0);
	assert_true(fd_h2_input(h, preface, sizeof(preface) - 1, &io) >= 0);
	fd_h2_input(h, frames, sizeof(frames), &io);
	assert_true(s.errors >= 1);
	fd_h2_free(h);

	/* the first write fails: -ENOBUFS, nothing else sent */
	memset(&s, 0, sizeof(s));
	s.out_fail = 1;
	h = fd_h2_new(&sv);
	assert_int_equal(fd_h2_send(h, &io), -ENOBUFS);
	assert_int_equal(s.outlen, 0);
	fd_h2_free(h);
}

static void test_not_h2(void **st)
{
	fd_service_t sv = service();
	struct srv s = { .outlen = 0 };
	fd_h2_io_t io = { &s, s_out, s_request, s_error };
	fd_h2_t *h = fd_h2_new(&sv);
	static const uint8_t junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	(void)st;
	assert_non_null(h);
	assert_int_equal(fd_h2_send(h, &io), 0);
	size_t pre = s.outlen;
	assert_int_equal(fd_h2_input(h, junk, sizeof(junk) - 1, &io), -FG_EMALF);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.requests, 0);
	/* GOAWAY (type 7) with PROTOCOL_ERROR (1) after the preface */
	assert_int_equal(s.outlen - pre, 9 + 8);
	assert_int_equal(s.out[pre + 3], 7);
	assert_int_equal(s.out[pre + 9 + 7], 1);
	fd_h2_free(h);
	/* SETTINGS the persona cannot hold */
	char bad[] = "3=8";
	sv.h2_settings = bad;
	assert_null(fd_h2_new(&sv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_not_h2),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_long_range),
		cmocka_unit_test(test_invalid_and_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
