#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Packaging check 1: `make install DESTDIR=...` from a clean tree.
#
# The tree is exported from git's list of tracked files (working-tree
# content), so a file the build or the install needs but git does not track
# (an ignored etc/*.d/ file, say) fails here as it would in a fresh clone.
# The export is built and installed into a temporary DESTDIR, twice
# (default PREFIX=/usr/local, and PREFIX=/usr as the Debian package does),
# and then checked:
#   - the installed file list is exactly the expected one, with its modes;
#   - the unit's ExecStart*/config paths point at what was installed, and
#     `systemd-analyze verify` accepts it (when systemd-analyze is present);
#   - sysusers.d creates the fluxgate user (systemd-sysusers --root), and
#     tmpfiles.d then creates /run/fluxgate and /var/log/fluxgate owned by
#     it (systemd-tmpfiles --root), when those tools are present and we are
#     root;
#   - every sysctl.d key exists in /proc/sys (or is '-' prefixed: optional);
#   - logrotate accepts its file (logrotate -d), when logrotate is present.
# Nothing outside the temporary directory is touched.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/fg-pkg-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok()   { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
note() { printf 'note %s\n' "$*"; }

# ---- clean tree
SRC=$WORK/src
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked files only (deleted-but-tracked ones are skipped)
	(cd "$ROOT" && git ls-files -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) |
		tar -xf - -C "$SRC" || { fail "export of the tracked tree"; exit 1; }
	note "exported $(cd "$SRC" && find . -type f | wc -l) tracked files"
else
	(cd "$ROOT" && tar --exclude=./build --exclude=./build-asan --exclude=./build-fuzz -cf - .) |
		tar -xf - -C "$SRC"
	note "not a git checkout: copied the tree without build directories"
fi

JOBS=${FG_PKG_JOBS:-2}
if ! make -C "$SRC" -j"$JOBS" all >"$WORK/build.log" 2>&1; then
	fail "make all in the clean tree"; tail -n 30 "$WORK/build.log"; exit 1
fi
ok "make all in the clean tree"

# expected files (path relative to DESTDIR and mode) for a PREFIX
expected() {
	local p=$1
	cat <<EOF
0644 etc/fluxdecoy/fluxdecoy.conf.sample
0644 etc/fluxdecoy/fluxdecoy.persona.sample
0644 etc/fluxgate/failover/conntrackd.conf.sample
0644 etc/fluxgate/failover/failover.conf.sample
0644 etc/fluxgate/failover/keepalived.conf.sample
0644 etc/fluxgate/fluxgate.conf.sample
0644 etc/logrotate.d/fluxgate
0644 lib/systemd/system/fluxdecoy.service
0644 lib/systemd/system/fluxgated.service
0755 ${p#/}/lib/fluxgate/fluxgate-failover-notify
0644 ${p#/}/lib/modules-load.d/fluxgate.conf
0644 ${p#/}/lib/sysctl.d/50-fluxgate.conf
0644 ${p#/}/lib/sysusers.d/fluxdecoy.conf
0644 ${p#/}/lib/sysusers.d/fluxgate.conf
0644 ${p#/}/lib/tmpfiles.d/fluxgate.conf
0755 ${p#/}/sbin/fluxctl
0755 ${p#/}/sbin/fluxdecoy
0755 ${p#/}/sbin/fluxgated
0644 ${p#/}/share/fluxgate/monitoring/fluxgate-alerts.test.yml
0644 ${p#/}/share/fluxgate/monitoring/fluxgate-alerts.yml
0644 ${p#/}/share/fluxgate/monitoring/fluxgated-dashboard.json
0644 ${p#/}/share/man/man5/fluxdecoy.conf.5
0644 ${p#/}/share/man/man5/fluxgate.conf.5
0644 ${p#/}/share/man/man8/fluxctl.8
0644 ${p#/}/share/man/man8/fluxdecoy.8
0644 ${p#/}/share/man/man8/fluxgated.8
EOF
}

# check_install PREFIX: install into a new DESTDIR and check it
check_install() {
	local prefix=$1 dest="$WORK/dest${1//\//_}"
	mkdir -p "$dest"
	if ! make -C "$SRC" install DESTDIR="$dest" PREFIX="$prefix" >"$WORK/install.log" 2>&1; then
		fail "make install DESTDIR PREFIX=$prefix"; tail -n 30 "$WORK/install.log"; return
	fi
	ok "make install DESTDIR PREFIX=$prefix"

	local got want
	got=$(cd "$dest" && find . -type f -printf '%m %P\n' | awk '{printf "%04d %s\n", $1, $2}' | sort -k2)
	want=$(expected "$prefix" | sort -k2)
	if [ "$got" = "$want" ]; then
		ok "PREFIX=$prefix: installed file list and modes"
	else
		fail "PREFIX=$prefix: installed file list and modes differ (- expected, + installed):"
		diff <(echo "$want") <(echo "$got") | sed -n 's/^[<>]/  &/p' | sed 's/^  </  -/; s/^  >/  +/'
	fi

	local unit="$dest/lib/systemd/system/fluxgated.service"
	[ -f "$unit" ] || return
	local bad
	bad=$(grep -E '^Exec' "$unit" | grep -vE "=[-@!+]*(/bin/kill|${prefix}/sbin/fluxgated)( |$)" || true)
	if [ -z "$bad" ]; then
		ok "PREFIX=$prefix: unit runs ${prefix}/sbin/fluxgated"
	else
		fail "PREFIX=$prefix: unit Exec lines not at the installed binary: $bad"
	fi
	if grep -q -- "-c /etc/fluxgate/fluxgate.conf" "$unit"; then
		ok "PREFIX=$prefix: unit reads /etc/fluxgate/fluxgate.conf"
	else
		fail "PREFIX=$prefix: unit does not read /etc/fluxgate/fluxgate.conf"
	fi

	if command -v systemd-analyze >/dev/null 2>&1; then
		# the unit as installed, its program paths moved into DESTDIR so
		# that verify finds them; man: references are not looked up (the
		# host need not have our man pages)
		mkdir -p "$WORK/verify"
		sed "s#=\([-@!+]*\)${prefix}/sbin/#=\1${dest}${prefix}/sbin/#" "$unit" \
			>"$WORK/verify/fluxgated.service"
		if systemd-analyze verify --man=no "$WORK/verify/fluxgated.service" >"$WORK/verify.log" 2>&1 &&
		   ! grep -q . "$WORK/verify.log"; then
			ok "PREFIX=$prefix: systemd-analyze verify (no output)"
		else
			fail "PREFIX=$prefix: systemd-analyze verify:"; sed 's/^/  | /' "$WORK/verify.log"
		fi
	else
		note "systemd-analyze not present: unit not verified"
	fi

	local sysd="$dest/${prefix#/}/lib"
	if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null 2>&1 &&
	   command -v systemd-tmpfiles >/dev/null 2>&1; then
		mkdir -p "$dest/etc"
		if systemd-sysusers --root="$dest" "$sysd/sysusers.d/fluxgate.conf" >"$WORK/su.log" 2>&1 &&
		   grep -q '^fluxgate:' "$dest/etc/passwd" 2>/dev/null &&
		   grep -q '^fluxgate:' "$dest/etc/group" 2>/dev/null; then
			ok "PREFIX=$prefix: sysusers.d creates user and group fluxgate"
		else
			fail "PREFIX=$prefix: sysusers.d did not create fluxgate"; sed 's/^/  | /' "$WORK/su.log"
		fi
		local uid gid
		uid=$(awk -F: '$1 == "fluxgate" { print $3 }' "$dest/etc/passwd" 2>/dev/null)
		gid=$(awk -F: '$1 == "fluxgate" { print $3 }' "$dest/etc/group" 2>/dev/null)
		if [ -n "$uid" ] && [ "$uid" -ne 0 ] && [ "$uid" -lt 1000 ] &&
		   awk -F: '$1 == "fluxgate" && $7 ~ /nologin|false/ { f = 1 } END { exit !f }' "$dest/etc/passwd"; then
			ok "PREFIX=$prefix: fluxgate is a system user ($uid) without a login shell"
		else
			fail "PREFIX=$prefix: fluxgate is not a system user without login (uid '$uid')"
		fi
		systemd-tmpfiles --root="$dest" --create "$sysd/tmpfiles.d/fluxgate.conf" >"$WORK/tf.log" 2>&1
		local d st
		for d in run/fluxgate var/log/fluxgate; do
			st=$(stat -c '%a %u %g' "$dest/$d" 2>/dev/null)
			if [ "$st" = "750 $uid $gid" ]; then
				ok "PREFIX=$prefix: tmpfiles.d creates /$d 0750 fluxgate:fluxgate"
			else
				fail "PREFIX=$prefix: /$d is '${st:-missing}', want '750 $uid $gid'"
				sed 's/^/  | /' "$WORK/tf.log"
			fi
		done
	else
		note "not root or no systemd-sysusers/systemd-tmpfiles: user and directories not created"
	fi

	local line key opt path
	while IFS= read -r line; do
		line=${line%%#*}
		[[ $line == *=* ]] || continue
		key=${line%%=*}; key=${key//[[:space:]]/}
		opt=0; [[ $key == -* ]] && { opt=1; key=${key#-}; }
		path=/proc/sys/${key//./\/}
		if [ -e "$path" ]; then
			ok "PREFIX=$prefix: sysctl key $key exists"
		elif [ $opt = 1 ]; then
			ok "PREFIX=$prefix: sysctl key $key is optional ('-') and absent here"
		else
			fail "PREFIX=$prefix: sysctl key $key does not exist ($path)"
		fi
	done <"$sysd/sysctl.d/50-fluxgate.conf"

	if command -v logrotate >/dev/null 2>&1; then
		if logrotate -d -s "$WORK/lr.state" "$dest/etc/logrotate.d/fluxgate" >"$WORK/lr.log" 2>&1 &&
		   ! grep -qiE '^error' "$WORK/lr.log"; then
			ok "PREFIX=$prefix: logrotate -d accepts etc/logrotate.d/fluxgate"
		else
			fail "PREFIX=$prefix: logrotate -d:"; sed 's/^/  | /' "$WORK/lr.log"
		fi
	else
		note "logrotate not present: its file not checked"
	fi
}

check_install /usr/local
check_install /usr

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
