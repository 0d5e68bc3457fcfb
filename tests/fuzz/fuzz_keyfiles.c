/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the key material a PS_KEYS answer carries
 * (conf/keyfiles.h, fg_keyfiles_decode): any octets. A success must hold
 * only valid entries (known kind, NUL-free path, bounded data) and encode
 * back to the same octets; a failure is -FG_EMALF (or -E2BIG / -ENOMEM
 * from the set) and leaves the set empty.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "conf/keyfiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	fg_keyfiles_t s = { 0 };
	int rc = fg_keyfiles_decode(data, size, &s, err, sizeof(err));
	if (rc < 0) {
		if ((rc != -FG_EMALF && rc != -E2BIG && rc != -ENOMEM) || s.n || s.f)
			abort();
		return 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		const fg_keyfile_t *f = &s.f[i];
		if ((f->kind != FG_KF_TSIG && f->kind != FG_KF_DNSSEC) || !f->path[0] ||
		    strlen(f->path) > FG_KF_MAX_PATH || f->len > FG_KF_MAX_DATA || f->data[f->len])
			abort();
		if (fg_keyfiles_find(&s, f->kind, f->path) == NULL)
			abort();
	}
	uint8_t *w = NULL;
	size_t wl = 0;
	if (fg_keyfiles_encode(&s, &w, &wl) < 0 || wl != size || (size && memcmp(w, data, size)))
		abort();
	free(w);
	fg_keyfiles_clear(&s);
	return 0;
}
