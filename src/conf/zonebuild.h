/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Builds the frozen zone database (dns/zone.h) from a loaded config: zones,
 * their records and the service names. Record syntax errors are reported as
 * file:line through the config diag callback, like every other config error.
 *
 * Ownership: on success *out is a new db owned by the caller
 * (fg_zonedb_free()); the config is only read.
 */
#ifndef FG_CONF_ZONEBUILD_H
#define FG_CONF_ZONEBUILD_H

#include "conf/conf.h"
#include "conf/keyfiles.h"
#include "dns/zone.h"

/* Returns 0, or a negative error after reporting every problem via diag. */
int fg_conf_build_zonedb(const fg_conf_t *conf, fg_zonedb_t **out,
			 fg_conf_diag_fn diag, void *ctx);

/* Same, on a reload: a signed zone's private key that the (unprivileged)
 * process may not read is taken from `prev`, the running db, when it holds
 * the same key. prev may be NULL. */
int fg_conf_build_zonedb_prev(const fg_conf_t *conf, const fg_zonedb_t *prev,
			      fg_zonedb_t **out, fg_conf_diag_fn diag, void *ctx);

/* Same, with the .private texts the [priv] process read for this reload
 * (conf/keyfiles.h; may be NULL): they come first, so that a key added
 * since the start (a rollover) signs without a restart. */
int fg_conf_build_zonedb_keys(const fg_conf_t *conf, const fg_zonedb_t *prev,
			      const fg_keyfiles_t *kf, fg_zonedb_t **out,
			      fg_conf_diag_fn diag, void *ctx);

#endif
