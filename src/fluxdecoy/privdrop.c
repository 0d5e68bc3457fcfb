/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "fluxdecoy/privdrop.h"

int fd_privdrop(const char *user)
{
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			log_err("privdrop: user '%s' does not exist", user);
			return -ENOENT;
		}
		/* started as that user already (systemd User=): nothing to switch */
		if (geteuid() != 0 && getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
			goto caps;
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0) {
			int e = errno;
			log_err("privdrop: cannot become %s: %s", user, strerror(e));
			return -e;
		}
		/* a setuid that could be undone is no drop */
		if (setuid(0) == 0 && pw->pw_uid != 0) {
			log_err("privdrop: uid 0 could be regained");
			return -EPERM;
		}
	}
caps:
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	cap_t none = cap_init();
	if (!none || cap_set_proc(none) < 0) {
		int e = errno;
		if (none)
			cap_free(none);
		log_err("privdrop: cannot drop capabilities: %s", strerror(e));
		return -e;
	}
	cap_free(none);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		log_err("privdrop: no_new_privs: %s", strerror(e));
		return -e;
	}
	return 0;
}
