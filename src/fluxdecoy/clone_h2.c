/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "decoy/httpwire.h"
#include "fluxdecoy/clone_h2.h"

struct cap {
	char settings[FD_H2_MAX_SETTINGS * 18 + 1];
	bool got_settings, answered, closed;
	unsigned wu;
	int32_t stream;
};

static int on_frame(nghttp2_session *ss, const nghttp2_frame *f, void *ud)
{
	struct cap *c = ud;

	switch (f->hd.type) {
	case NGHTTP2_SETTINGS:
		if ((f->hd.flags & NGHTTP2_FLAG_ACK) || c->got_settings)
			break;
		c->got_settings = true;
		for (size_t i = 0; i < f->settings.niv && i < FD_H2_MAX_SETTINGS; i++) {
			size_t o = strlen(c->settings);
			snprintf(c->settings + o, sizeof(c->settings) - o, "%s%d:%u",
				 i ? " " : "", f->settings.iv[i].settings_id,
				 f->settings.iv[i].value);
		}
		break;
	case NGHTTP2_WINDOW_UPDATE:
		/* the connection's, before the answer: part of its preface */
		if (f->hd.stream_id == 0 && !c->answered && !c->wu)
			c->wu = (unsigned)f->window_update.window_size_increment;
		break;
	case NGHTTP2_HEADERS:
		if (f->hd.stream_id == c->stream)
			c->answered = true;
		break;
	default:
		break;
	}
	return 0;
}

static int on_close(nghttp2_session *ss, int32_t id, uint32_t code, void *ud)
{
	struct cap *c = ud;

	if (id == c->stream)
		c->closed = true;
	return 0;
}

int fd_clone_h2(SSL *ssl, const char *authority, char **settings, unsigned *window_update)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *ss = NULL;
	struct cap c = { .settings = "" };
	int rc = -EIO;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -ENOMEM;
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	int r = nghttp2_session_client_new(&ss, cb, &c);
	nghttp2_session_callbacks_del(cb);
	if (r != 0)
		return -ENOMEM;
	/* what curl 7.88 sends: its SETTINGS, then GET / */
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
					{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 25 },
					{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
	nghttp2_nv hd[] = { NV(":method", "GET"), NV(":path", "/"), NV(":scheme", "https"),
			    NV(":authority", authority), NV("user-agent", "curl/7.88.1"),
			    NV("accept", "*/*") };
#undef NV
	if (nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
	    (c.stream = nghttp2_submit_request(ss, NULL, hd, sizeof(hd) / sizeof(hd[0]),
					       NULL, NULL)) < 0)
		goto out;
	/* until the answer to GET / is complete, or the server stops */
	while (!c.closed) {
		const uint8_t *p;
		ssize_t n;
		while ((n = nghttp2_session_mem_send(ss, &p)) > 0)
			if (SSL_write(ssl, p, (int)n) != (int)n)
				goto out;
		if (n < 0)
			goto out;
		uint8_t buf[16384];
		int got = SSL_read(ssl, buf, sizeof(buf));
		if (got <= 0)
			break;
		if (nghttp2_session_mem_recv(ss, buf, (size_t)got) < 0) {
			rc = -FG_EMALF;
			goto out;
		}
	}
	if (!c.got_settings) {
		rc = -FG_EMALF;
		goto out;
	}
	*settings = strdup(c.settings);
	*window_update = c.wu;
	rc = *settings ? 0 : -ENOMEM;
out:
	ERR_clear_error();
	nghttp2_session_del(ss);
	return rc;
}
