/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SMTP server dialogue of the decoy: greeting and EHLO reply from the
 * persona; MAIL, RCPT and DATA accepted (with Postfix's reply texts) so the
 * envelope can be logged; nothing is ever queued or relayed. Pure: one
 * command line in, the reply and what to log out; no I/O, no globals.
 */
#ifndef FG_DECOY_SMTPWIRE_H
#define FG_DECOY_SMTPWIRE_H

#include <stdbool.h>
#include <stddef.h>

#define FD_SMTP_MAX_LINE 1000   /* RFC 5321, 4.5.3.1.4, with CR LF */
#define FD_SMTP_MAX_RCPT 100

enum fd_smtp_state { FD_SMTP_CMD = 0, FD_SMTP_DATA, FD_SMTP_QUIT };

enum fd_smtp_event {
	FD_SMTP_EV_NONE = 0,
	FD_SMTP_EV_HELO,        /* arg: the client's name */
	FD_SMTP_EV_MAIL,        /* arg: reverse path */
	FD_SMTP_EV_RCPT,        /* arg: forward path */
	FD_SMTP_EV_MESSAGE,     /* end of DATA: the message is "accepted" */
};

typedef struct fd_smtp {
	enum fd_smtp_state state;
	bool helo, mail;
	unsigned nrcpt;
	unsigned long long data_bytes;  /* of the message being received */
	unsigned queue_seq;             /* for the "queued as" id */
} fd_smtp_t;

typedef struct fd_smtp_out {
	const char *reply;      /* static text, or `buf` */
	char buf[512];
	enum fd_smtp_event event;
	char arg[256];          /* printable copy for the event log */
} fd_smtp_out_t;

/* The persona's replies; NULL ones get Postfix's text. `host` is the name
 * from the EHLO reply's first line, for HELO. */
typedef struct fd_smtp_replies {
	const char *ehlo;       /* the whole EHLO reply (required) */
	const char *quit, *mail, *rcpt, *rset, *noop;
	const char *host;
} fd_smtp_replies_t;

/* Handle one line (without CR LF) in the state `s`. reply is NULL when
 * nothing is to be sent (a DATA line). */
void fd_smtp_line(fd_smtp_t *s, const char *line, size_t len,
		  const fd_smtp_replies_t *r, fd_smtp_out_t *out);

/* Host name in a "250-name ..." / "220 name ..." reply, into out. */
void fd_smtp_host(const char *reply, char *out, size_t outlen);

#endif
