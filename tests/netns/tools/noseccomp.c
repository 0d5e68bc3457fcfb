/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * noseccomp PROGRAM ARGS...: run PROGRAM where no seccomp filter can be
 * installed. An outer filter (libseccomp, allow by default) answers EPERM
 * to seccomp(2) and to prctl(PR_SET_SECCOMP), as a kernel without
 * CONFIG_SECCOMP_FILTER or a container runtime that forbids nesting would;
 * everything else is allowed. Used by tests/netns/privsep.sh to show that
 * fluxgated's DNS process refuses to serve when its own filter cannot be
 * installed (hardening issue, "a real trust boundary").
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: noseccomp PROGRAM ARGS...\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return 2;
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP));
	/* root: CAP_SYS_ADMIN loads the filter without no_new_privs, so the
	 * program's own set-uid step is not changed by this wrapper */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		fprintf(stderr, "noseccomp: cannot load the outer filter: %s\n", strerror(-rc));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "noseccomp: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
