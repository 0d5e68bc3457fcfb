#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Packaging check 2: the Debian package. A clean export of the tracked tree
# (as in install.sh) is built with `dpkg-buildpackage -us -uc -b` in a
# temporary directory; the .deb must then
#   - hold the programs, man pages, unit, sysusers/tmpfiles/sysctl/logrotate
#     files, and no /etc/fluxgate/fluxgate.conf (the operator writes it);
#   - have a postinst that creates the user (systemd-sysusers) and never
#     enables the unit (no deb-systemd-helper enable);
#   - be lintian-clean: no error or warning tag (info/pedantic are printed);
#   - ship a unit that `systemd-analyze verify` accepts.
# With FG_PKG_DPKG=1 (root, and nothing called fluxgate installed) the .deb
# is also installed with dpkg -i, checked (user, files, service neither
# enabled nor running) and purged again, leaving the host as found.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/fg-pkg-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok()   { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
note() { printf 'note %s\n' "$*"; }

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null 2>&1 || { fail "$t is missing (make deps)"; exit 1; }
done

SRC=$WORK/fluxgate
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$SRC"
else
	(cd "$ROOT" && tar --exclude=./build --exclude=./build-asan --exclude=./build-fuzz -cf - .) |
		tar -xf - -C "$SRC"
fi

if (cd "$SRC" && DEB_BUILD_OPTIONS="parallel=${FG_PKG_JOBS:-2}" \
	dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	fail "dpkg-buildpackage -us -uc -b"; tail -n 40 "$WORK/build.log"; exit 1
fi
deb=$(ls "$WORK"/fluxgate_*.deb 2>/dev/null | head -n 1)
changes=$(ls "$WORK"/fluxgate_*.changes 2>/dev/null | head -n 1)
[ -n "$deb" ] || { fail "no .deb produced"; exit 1; }
ok "built $(basename "$deb")"

# ---- contents
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#' >"$WORK/contents"
for f in /usr/sbin/fluxgated /usr/sbin/fluxctl /lib/systemd/system/fluxgated.service \
	 /usr/lib/sysusers.d/fluxgate.conf /usr/lib/tmpfiles.d/fluxgate.conf \
	 /usr/lib/sysctl.d/50-fluxgate.conf /usr/lib/modules-load.d/fluxgate.conf /etc/logrotate.d/fluxgate \
	 /etc/fluxgate/fluxgate.conf.sample /usr/share/man/man8/fluxgated.8.gz \
	 /usr/share/man/man8/fluxctl.8.gz /usr/share/man/man5/fluxgate.conf.5.gz \
	 /usr/lib/fluxgate/fluxgate-failover-notify /etc/fluxgate/failover/keepalived.conf.sample \
	 /etc/fluxgate/failover/conntrackd.conf.sample /etc/fluxgate/failover/failover.conf.sample; do
	if grep -qx "$f" "$WORK/contents"; then ok "ships $f"; else fail "does not ship $f"; fi
done
if grep -qx /etc/fluxgate/fluxgate.conf "$WORK/contents"; then
	fail "ships /etc/fluxgate/fluxgate.conf (the operator must write it)"
else
	ok "ships no /etc/fluxgate/fluxgate.conf"
fi

mkdir -p "$WORK/ctrl"
dpkg-deb -e "$deb" "$WORK/ctrl"
if grep -q 'systemd-sysusers.*fluxgate.conf' "$WORK/ctrl/postinst" 2>/dev/null; then
	ok "postinst creates the user with systemd-sysusers"
else
	fail "postinst does not run systemd-sysusers fluxgate.conf"
fi
if grep -q 'systemd-tmpfiles.*fluxgate.conf' "$WORK/ctrl/postinst" 2>/dev/null; then
	ok "postinst creates the directories with systemd-tmpfiles"
else
	fail "postinst does not run systemd-tmpfiles fluxgate.conf"
fi
# the only enable allowed is debhelper's --no-enable form: inside
# "if deb-systemd-helper debian-installed" (the unit was enabled before, by
# the admin), which keeps that choice across upgrades. Without --no-enable
# the enable runs on every fresh install ("was-enabled defaults to true").
if awk '/^[[:space:]]*if / { depth++; if (/debian-installed/ && !g) g = depth }
	/deb-systemd-helper.* enable|systemctl.* enable/ && !g { bad = 1 }
	/^[[:space:]]*fi([[:space:];]|$)/ { if (g == depth) g = 0; depth-- }
	END { exit bad }' "$WORK/ctrl/postinst"; then
	ok "postinst never enables the unit (only keeps an admin's enable across upgrades)"
else
	fail "postinst enables the unit on a fresh install"
fi
if grep -q 'deb-systemd-invoke' "$WORK/ctrl/postinst" && ! grep -qE 'systemctl[^|]* (start|restart)' "$WORK/ctrl/postinst"; then
	ok "postinst starts only through deb-systemd-invoke (which skips disabled units)"
else
	fail "postinst starts the unit other than through deb-systemd-invoke"
fi
awk '/systemd-sysusers/ { u = NR } /systemd-tmpfiles/ { t = NR } END { exit !(u && t && u < t) }' \
	"$WORK/ctrl/postinst" && ok "postinst creates the user before its directories" ||
	fail "postinst runs systemd-tmpfiles before systemd-sysusers"

# ---- lintian: errors and warnings fail, the rest is shown
lintian --info --display-info --pedantic --tag-display-limit 0 "$changes" >"$WORK/lintian.log" 2>&1
sed 's/^/  lintian: /' "$WORK/lintian.log"
if grep -qE '^[EW]: ' "$WORK/lintian.log"; then
	fail "lintian reports errors or warnings"
else
	ok "lintian: no error or warning ($(grep -cE '^[IPX]: ' "$WORK/lintian.log") info/pedantic/experimental)"
fi

# ---- the unit as shipped
mkdir -p "$WORK/x" "$WORK/verify"
dpkg-deb -x "$deb" "$WORK/x"
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s#=\([-@!+]*\)/usr/sbin/#=\1$WORK/x/usr/sbin/#" "$WORK/x/lib/systemd/system/fluxgated.service" \
		>"$WORK/verify/fluxgated.service"
	if systemd-analyze verify --man=no "$WORK/verify/fluxgated.service" >"$WORK/verify.log" 2>&1 &&
	   ! grep -q . "$WORK/verify.log"; then
		ok "systemd-analyze verify on the packaged unit (no output)"
	else
		fail "systemd-analyze verify:"; sed 's/^/  | /' "$WORK/verify.log"
	fi
fi

# ---- optional: install, inspect, purge
if [ "${FG_PKG_DPKG:-0}" = 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		fail "FG_PKG_DPKG=1 needs root"
	elif dpkg-query -W fluxgate >/dev/null 2>&1 || getent passwd fluxgate >/dev/null; then
		fail "FG_PKG_DPKG=1: a fluxgate package or user is already on this host; not touching it"
	else
		if dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1; then ok "dpkg -i"; else fail "dpkg -i"; cat "$WORK/dpkg.log"; fi
		sed 's/^/  dpkg: /' "$WORK/dpkg.log"
		if getent passwd fluxgate | grep -qE ':/usr/sbin/nologin$'; then
			ok "installed: user fluxgate exists, no login"
		else
			fail "installed: no user fluxgate"
		fi
		for d in /run/fluxgate /var/log/fluxgate; do
			st=$(stat -c '%a %U %G' "$d" 2>/dev/null)
			[ "$st" = "750 fluxgate fluxgate" ] && ok "installed: $d 0750 fluxgate:fluxgate" ||
				fail "installed: $d is '${st:-missing}'"
		done
		[ -x /usr/sbin/fluxgated ] && /usr/sbin/fluxgated -V >/dev/null 2>&1 &&
			ok "installed: /usr/sbin/fluxgated runs (-V)" || fail "installed: /usr/sbin/fluxgated -V"
		if [ -d /run/systemd/system ]; then
			st=$(systemctl is-enabled fluxgated.service 2>/dev/null)
			[ "$st" = disabled ] && ok "installed: unit disabled" || fail "installed: unit is '$st'"
			systemctl is-active --quiet fluxgated.service &&
				fail "installed: fluxgated is running" || ok "installed: fluxgated not running"
		else
			note "systemd is not PID 1: enable/start state not checked"
		fi
		if [ -e /etc/systemd/system/multi-user.target.wants/fluxgated.service ]; then
			fail "installed: unit enabled (multi-user.target.wants link)"
		else
			ok "installed: unit not enabled (no multi-user.target.wants link)"
		fi
		# other checks may run their own fluxgated: look for the packaged one
		running=""
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/fluxgated ] && running+=" ${p#/proc/}"
		done
		[ -z "$running" ] && ok "no /usr/sbin/fluxgated process after dpkg -i" ||
			fail "/usr/sbin/fluxgated runs after dpkg -i (pid$running)"
		if dpkg -P fluxgate >"$WORK/purge.log" 2>&1; then ok "dpkg -P"; else fail "dpkg -P"; cat "$WORK/purge.log"; fi
		sed 's/^/  dpkg: /' "$WORK/purge.log"
		left=$(for f in /usr/sbin/fluxgated /usr/sbin/fluxctl /etc/fluxgate /lib/systemd/system/fluxgated.service \
			/var/log/fluxgate /run/fluxgate /etc/logrotate.d/fluxgate; do
			[ -e "$f" ] && echo "$f"; done)
		[ -z "$left" ] && ok "purged: no files left" || fail "purged: left $left"
		# sysusers users stay after purge (Debian practice: files may
		# still be owned by the uid); remove the one this check created
		if getent passwd fluxgate >/dev/null; then
			userdel fluxgate 2>/dev/null; groupdel fluxgate 2>/dev/null
			note "removed the fluxgate user and group this check created"
		fi
	fi
fi

echo "deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
