/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * PS_KEYS: root-only key material for a reload (daemon/privsep.h).
 *
 * A reload runs in the unprivileged [dns] process, which cannot open the
 * root-only files: TSIG key.secret-file and the DNSSEC .private files. It
 * asks the [priv] process "the keys, please" (a request with no payload:
 * it never names a path); [priv] loads ITS OWN copy of the configuration
 * (the file it was started with, read again now), reads the secret files
 * and every signed zone's .private files that configuration names, with
 * the same checks as at start (mode, regular file, size), and sends their
 * contents back in the bounded form of conf/keyfiles.h. The [dns] side
 * decodes it (every length checked) and gives it to the loader, which
 * takes it before the running config's secrets: a key added since the
 * start (pre-publish ZSK rollover) or a rewritten secret file applies on
 * the reload. Paths sent back are only looked up, never opened.
 *
 * Every buffer that held key material is zeroized before it is freed, on
 * both sides.
 */
#ifndef FG_DAEMON_PRIVSEP_KEYS_H
#define FG_DAEMON_PRIVSEP_KEYS_H

#include <stdint.h>

#include "conf/keyfiles.h"

typedef int (*fg_ps_send_fn)(int fd, uint16_t op, uint16_t count, int32_t status,
			     const void *payload, uint32_t len);

/* [priv] side: answer one PS_KEYS request on fd (data messages through
 * `send`; the caller sends the final status, this function's result). */
int fg_ps_keys_serve(int fd, const char *conf_path, fg_ps_send_fn send);

/* [dns] side: ask for the key material; on success *out holds it (the
 * caller clears it with fg_keyfiles_clear()). */
int fg_privsep_read_keys(fg_keyfiles_t *out);

#endif
