/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decoy/smtpwire.h"

static bool verb(const char *line, size_t len, const char *v)
{
	size_t n = strlen(v);

	return len >= n && strncasecmp(line, v, n) == 0 &&
	       (len == n || line[n] == ' ' || line[n] == ':');
}

static void arg_copy(fd_smtp_out_t *out, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == ':')) {
		s++;
		n--;
	}
	if (n >= sizeof(out->arg))
		n = sizeof(out->arg) - 1;
	for (size_t i = 0; i < n; i++)
		out->arg[i] = ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			      ? '?' : s[i];
	out->arg[n] = '\0';
}

void fd_smtp_host(const char *reply, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = reply;

	if (outlen == 0)
		return;
	if (strlen(p) > 4)
		p += 4;
	while (p[n] && p[n] != ' ' && p[n] != '\r' && p[n] != '\n' && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static const char *or(const char *persona, const char *postfix)
{
	return persona ? persona : postfix;
}

void fd_smtp_line(fd_smtp_t *s, const char *line, size_t len,
		  const fd_smtp_replies_t *r, fd_smtp_out_t *out)
{
	out->reply = NULL;
	out->event = FD_SMTP_EV_NONE;
	out->arg[0] = '\0';

	if (s->state == FD_SMTP_DATA) {
		if (len == 1 && line[0] == '.') {
			s->state = FD_SMTP_CMD;
			s->mail = false;
			s->nrcpt = 0;
			out->event = FD_SMTP_EV_MESSAGE;
			snprintf(out->arg, sizeof(out->arg), "%llu", s->data_bytes);
			/* Postfix's queue ids are 10+ hex digits */
			snprintf(out->buf, sizeof(out->buf),
				 "250 2.0.0 Ok: queued as %08X%02X\r\n",
				 0x4B1D0000u + s->queue_seq * 7919u, s->queue_seq & 0xff);
			s->queue_seq++;
			out->reply = out->buf;
		} else {
			s->data_bytes += len + 2;
		}
		return;
	}
	if (s->state == FD_SMTP_QUIT)
		return;
	if (verb(line, len, "EHLO")) {
		s->helo = true;
		out->event = FD_SMTP_EV_HELO;
		arg_copy(out, line + 4, len - 4);
		out->reply = r->ehlo;
	} else if (verb(line, len, "HELO")) {
		s->helo = true;
		out->event = FD_SMTP_EV_HELO;
		arg_copy(out, line + 4, len - 4);
		snprintf(out->buf, sizeof(out->buf), "250 %s\r\n", r->host ? r->host : "");
		out->reply = out->buf;
	} else if (verb(line, len, "MAIL")) {
		if (!s->helo) {
			out->reply = "503 5.5.1 Error: send HELO/EHLO first\r\n";
		} else if (s->mail) {
			out->reply = "503 5.5.1 Error: nested MAIL command\r\n";
		} else if (len < 10 || strncasecmp(line, "MAIL FROM:", 10) != 0) {
			out->reply = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
		} else {
			s->mail = true;
			out->event = FD_SMTP_EV_MAIL;
			arg_copy(out, line + 10, len - 10);
			out->reply = or(r->mail, "250 2.1.0 Ok\r\n");
		}
	} else if (verb(line, len, "RCPT")) {
		if (!s->mail) {
			out->reply = "503 5.5.1 Error: need MAIL command\r\n";
		} else if (len < 8 || strncasecmp(line, "RCPT TO:", 8) != 0) {
			out->reply = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
		} else if (s->nrcpt >= FD_SMTP_MAX_RCPT) {
			out->reply = "452 4.5.3 Error: too many recipients\r\n";
		} else {
			s->nrcpt++;
			out->event = FD_SMTP_EV_RCPT;
			arg_copy(out, line + 8, len - 8);
			out->reply = or(r->rcpt, "250 2.1.5 Ok\r\n");
		}
	} else if (verb(line, len, "DATA")) {
		if (!s->nrcpt) {
			out->reply = "554 5.5.1 Error: no valid recipients\r\n";
		} else {
			s->state = FD_SMTP_DATA;
			s->data_bytes = 0;
			out->reply = "354 End data with <CR><LF>.<CR><LF>\r\n";
		}
	} else if (verb(line, len, "RSET")) {
		s->mail = false;
		s->nrcpt = 0;
		out->reply = or(r->rset, "250 2.0.0 Ok\r\n");
	} else if (verb(line, len, "NOOP")) {
		out->reply = or(r->noop, "250 2.0.0 Ok\r\n");
	} else if (verb(line, len, "QUIT")) {
		s->state = FD_SMTP_QUIT;
		out->reply = or(r->quit, "221 2.0.0 Bye\r\n");
	} else if (verb(line, len, "VRFY")) {
		out->reply = "502 5.5.1 VRFY command is disabled\r\n";
	} else if (verb(line, len, "STARTTLS")) {
		out->reply = "502 5.5.1 Error: command not implemented\r\n";
	} else {
		out->reply = "502 5.5.2 Error: command not recognized\r\n";
	}
}
