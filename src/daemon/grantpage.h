/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Paging of `fluxctl grants` (pure: no I/O, no globals). Grants are ordered
 * by their key (scope, family, client prefix length, client, address), which
 * is unique in the kernel maps; a page is the first `limit` grants after a
 * cursor, and the cursor of the next page is the key of a page's last grant.
 * The kernel cannot resume a set dump, so every page reads every grant and
 * keeps those past the cursor: pages stay correct while grants come and go
 * (a grant never shows twice in one walk; one added behind the cursor is
 * missed until the next walk).
 *
 * Cursor text: FG_GRANT_CURSOR_LEN hex digits, the 35-octet key
 * (scope, family 4|6, prefix length, client[16], address[16]). Opaque to
 * users; checked field by field, since it comes from the client.
 *
 * Ownership: the functions borrow their arguments.
 */
#ifndef FG_DAEMON_GRANTPAGE_H
#define FG_DAEMON_GRANTPAGE_H

#include <stddef.h>

#include "dataplane/nat.h"

#define FG_GRANT_KEY_LEN     35
#define FG_GRANT_CURSOR_LEN  (2 * FG_GRANT_KEY_LEN)
#define FG_GRANT_PAGE_DEFAULT 1000u
#define FG_GRANT_PAGE_MAX     10000u

/* Total order of grants by key: <0, 0, >0. */
int fg_grant_key_cmp(const fg_grant_t *a, const fg_grant_t *b);

/* Write the cursor of `g` into out[FG_GRANT_CURSOR_LEN + 1] (NUL-ended). */
void fg_grant_cursor_encode(const fg_grant_t *g, char *out);

/* Parse a cursor into the key fields of *g (other fields zeroed). Returns 0,
 * or -EINVAL with a reason in why[whylen]. */
int fg_grant_cursor_decode(const char *s, fg_grant_t *g, char *why, size_t whylen);

/* Parse a page size: decimal 1..FG_GRANT_PAGE_MAX. Returns 0 or -EINVAL. */
int fg_grant_limit_parse(const char *s, unsigned *out);

/* Sort v[0..n) by key (in place). */
void fg_grant_sort(fg_grant_t *v, size_t n);

#endif
