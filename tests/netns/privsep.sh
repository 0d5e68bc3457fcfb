#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Start-up on a stock kernel and safe defaults of fluxgated:
#   - from freshly created namespaces with kernel defaults (this script sets
#     no conntrack sysctl), fluxgated makes nf_conntrack_tcp_loose 0 in its
#     namespace and a session to an ungranted pool address gets the decoy's
#     page (with tcp_loose=1 it hangs after the SYN-ACK);
#   - the control socket is root's alone (0600), or root's and
#     control.group's (0660, and the directory fluxgated creates 0750);
#     never reachable by the DNS process's user;
#   - nat.backend: memory refused without --test-memory-backend; a missing
#     server.user refused; a [priv] side that cannot keep CAP_NET_ADMIN
#     stops the daemon; so does a DNS process that cannot install its
#     seccomp filter, and a read-only /proc/sys with tcp_loose=1;
#   - forged requests to the real [priv] loop (tools/ps_forge.c) leave the
#     kernel untouched: no route in table 254, no forged grant; each is
#     refused, counted and logged with its reason.
#
#   cli 10.66.1.2 ---- gw 10.66.1.1 | 10.66.3.1 (fluxgated, nft) ---- dcy 10.66.3.10
#   (lighttpd "decoy", local route for the pool 198.51.100.0/24)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl lighttpd setpriv stat getent unshare mount nft gcc pkg-config
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"

ns_add cli gw dcy
veth_link cli c0 10.66.1.2/24 gw g0 10.66.1.1/24
veth_link gw g1 10.66.3.1/24 dcy d0 10.66.3.10/24
nsx cli ip route add default via 10.66.1.1
nsx dcy ip route add default via 10.66.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
# the router's own settings (not what is under test): forwarding on, no
# reverse-path filter on the decoy leg
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "ip_forward"
for k in all default g0 g1; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
LOOSE=/proc/sys/net/netfilter/nf_conntrack_tcp_loose
before=$(nsx gw cat "$LOOSE" 2>/dev/null || echo absent)
log "fresh namespace: nf_conntrack_tcp_loose=$before before fluxgated"
assert_nomatch "fresh namespace has the kernel default (not 0) before fluxgated" '^0$' "$before"

mkdir -p "$FG_WORK/dcy/www"
echo "decoy-page" >"$FG_WORK/dcy/www/index.html"
cat >"$FG_WORK/dcy/lighttpd.conf" <<EOF
server.document-root = "$FG_WORK/dcy/www"
server.port = 80
server.bind = "0.0.0.0"
server.pid-file = "$FG_WORK/dcy/lighttpd.pid"
server.errorlog = "$FG_WORK/dcy/error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( "" => "text/plain" )
EOF
start_bg lighttpd-dcy dcy lighttpd -D -f "$FG_WORK/dcy/lighttpd.conf"; DCY_PID=$BG_PID
wait_port dcy tcp 80 60 "$DCY_PID" || die "lighttpd (decoy) does not listen"

# the DNS process and the probing users below reach files under FG_WORK only
# through the permissions fluxgated itself sets
chmod o+x "$FG_WORK"
TABLE="fgps$$"
conf() { # conf FILE EXTRA_CONTROL_LINES: the gateway's config
	cat >"$1" <<CONFEOF
server:
  listen: [ "10.66.1.1@53" ]
  workers: 1
  user: nobody
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.66.1.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.66.2.10
    ports: [ any ]
    pool: web4
    ttl: 5s
policy:
  direct: [ 10.66.1.2/32 ]
decoy:
  route-via: 10.66.3.10
nat:
  table: $TABLE
metrics:
  listen: 10.66.1.1@9153
control:
$2
CONFEOF
	chmod 0644 "$1"
}

# ------------------------------------------------------------ stock kernel
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
conf "$CONF" "  socket: $CTL"
start_fluxgated gw "$CONF"
wait_dns cli 10.66.1.1 example.test 90 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"
assert_eq "fluxgated set nf_conntrack_tcp_loose=0 in its namespace" 0 "$(nsx gw cat "$LOOSE" 2>/dev/null)"
out=$(nsx cli curl -s -m 10 http://198.51.100.77/ 2>&1)
assert_eq "stock kernel: an ungranted pool address serves the decoy's page" "decoy-page" "$out"
# the metrics endpoint is bound after the DNS workers answer (a few seconds
# later under valgrind on a loaded machine): wait for it, bounded
wait_port gw tcp 9153 60 "$FG_FLUXGATED_PID"
out=$(nsx cli curl -s -m 10 http://10.66.1.1:9153/metrics 2>&1)
assert_match "metrics: fluxgate_privsep_refused_total exported (0: nothing refused)" '^fluxgate_privsep_refused_total 0$' "$out"

# ------------------------------------------------------------ reloads
# [priv] re-reads the file itself: a reload that moves the pool is granted
# in the new pool (the old policy would refuse those grants) ...
a=$(nsx cli kdig @10.66.1.1 +short +retry=1 +timeout=3 www.example.test A 2>/dev/null)
assert_match "before reload: answer from the configured pool" '^198\.51\.100\.' "$a"
cp "$CONF" "$CONF.orig"
sed -i 's#198\.51\.100\.0/24#198.51.101.0/24#' "$CONF"
kill -HUP "$FG_FLUXGATED_PID"
a=""
for _ in $(seq 1 60); do
	a=$(nsx cli kdig @10.66.1.1 +short +retry=0 +timeout=2 www.example.test A 2>/dev/null)
	case $a in 198.51.101.*) break ;; esac
	sleep 0.5
done
assert_match "after SIGHUP: granted in the new pool (the privileged side re-read the file)" '^198\.51\.101\.' "$a"
assert_match "after SIGHUP: that grant is in the kernel" "$a" "$(nsx gw nft list table inet "$TABLE")"
# ... and one that names another table is refused; the running one stays
sed -i "s/^  table: $TABLE\$/  table: ${TABLE}x/" "$CONF"
"$FLUXCTL" -s "$CTL" reload >/dev/null 2>&1; rc=$?
assert_eq "reload naming another nat.table: refused (fluxctl exit 1)" 1 "$rc"
assert_match "reload naming another nat.table: the log says why" 'refused request op 2 .*setup: .*table \(not the one fluxgated started with\)' "$(cat "$FG_FLUXGATED_LOG")"
a=$(nsx cli kdig @10.66.1.1 +short +retry=1 +timeout=3 www.example.test A 2>/dev/null)
assert_match "after the refused reload: still granting in the running pool" '^198\.51\.101\.' "$a"
cp "$CONF.orig" "$CONF"

# ------------------------------------------------------------ control socket
assert_eq "control socket: mode 0600, owner root:root" "600 root root" "$(stat -c '%a %U %G' "$CTL")"
check "control socket: root connects" "$FLUXCTL" -s "$CTL" status
setpriv --reuid=nobody --regid=nogroup --clear-groups "$FLUXCTL" -s "$CTL" status >/dev/null 2>&1; rc=$?
assert_eq "control socket: the DNS process's user (nobody) cannot connect (fluxctl exit 3)" 3 "$rc"
fluxgated_alive "daemon running"
stop_fluxgated

# control.group: root and that group only; the directory fluxgated
# creates for the socket gets the same audience
CTL2="$FG_WORK/run/control.sock"
CONF2="$FG_WORK/fluxgated-group.conf"
conf "$CONF2" "  socket: $CTL2
  group: nogroup"
start_fluxgated gw "$CONF2"
wait_dns cli 10.66.1.1 example.test 90 "$FG_FLUXGATED_PID" || die "fluxgated (control.group) does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"
assert_eq "control.group: socket mode 0660 root:nogroup" "660 root nogroup" "$(stat -c '%a %U %G' "$CTL2")"
assert_eq "control.group: directory created 0750 root:nogroup" "750 root nogroup" "$(stat -c '%a %U %G' "$(dirname "$CTL2")")"
setpriv --reuid=65533 --regid=nogroup --clear-groups "$FLUXCTL" -s "$CTL2" status >/dev/null 2>&1; rc=$?
assert_eq "control.group: a member of the group connects" 0 "$rc"
setpriv --reuid=65533 --regid=65533 --clear-groups "$FLUXCTL" -s "$CTL2" status >/dev/null 2>&1; rc=$?
assert_eq "control.group: a process outside the group cannot connect (exit 3)" 3 "$rc"
stop_fluxgated "fluxgated (control.group) stops cleanly"

# ------------------------------------------------------------ refusals
MEM="$FG_WORK/memory.conf"
printf 'server:\n  listen: [ "10.66.1.1@5399" ]\nnat:\n  backend: memory\ncontrol:\n  socket: %s\n' \
	"$FG_WORK/mem.sock" >"$MEM"
out=$(nsx gw timeout 60 "$FLUXGATED" -c "$MEM" 2>&1); rc=$?
assert_eq "nat.backend: memory without --test-memory-backend: exit 1" 1 "$rc"
assert_match "nat.backend: memory refused with a message naming the flag" 'nat.backend: memory is for tests only.*--test-memory-backend' "$out"

NOUSER="$FG_WORK/nouser.conf"
conf "$NOUSER" "  socket: $FG_WORK/nouser.sock"
sed -i 's/^  user: nobody$/  user: fg-no-such-user/' "$NOUSER"
out=$(nsx gw timeout 60 "$FLUXGATED" -c "$NOUSER" 2>&1); rc=$?
assert_eq "server.user that does not exist: exit 1" 1 "$rc"
assert_match "server.user that does not exist: named" "server.user: user 'fg-no-such-user' does not exist" "$out"
if ! getent passwd fluxgate >/dev/null; then
	sed -i '/^  user: /d' "$NOUSER"
	out=$(nsx gw timeout 60 "$FLUXGATED" -c "$NOUSER" 2>&1); rc=$?
	assert_eq "no server.user, no user 'fluxgate': exit 1 (never nobody)" 1 "$rc"
	assert_match "no server.user, no user 'fluxgate': message says how to fix it" "user 'fluxgate' .*does not exist: create it" "$out"
else
	log "a 'fluxgate' user exists here: default-user refusal not checked"
fi

# started without CAP_NET_ADMIN: the [priv] side cannot keep it and the
# daemon exits non-zero instead of carrying on
CAPLESS="$FG_WORK/capless.conf"
conf "$CAPLESS" "  socket: $FG_WORK/capless.sock"
out=$(nsx gw timeout 60 setpriv --reuid=nobody --regid=nogroup --clear-groups "$FLUXGATED" -c "$CAPLESS" 2>&1); rc=$?
assert_nomatch "without CAP_NET_ADMIN: exit status not 0" '^0$' "$rc"
assert_match "without CAP_NET_ADMIN: the reason is logged" 'cannot reduce capabilities to CAP_NET_ADMIN' "$out"
assert_nomatch "without CAP_NET_ADMIN: no mere warning and carrying on" 'ready' "$out"

# no seccomp filter can be installed (tools/noseccomp.c: an outer filter
# answers EPERM to seccomp(2) and prctl(PR_SET_SECCOMP)): the DNS process
# refuses to serve and the daemon exits, instead of serving unconfined
NOSEC="$FG_WORK/noseccomp"
if gcc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -o "$NOSEC" "$(dirname "$0")/tools/noseccomp.c" \
	$(pkg-config --cflags --libs libseccomp) 2>"$FG_WORK/noseccomp.build.log"; then
	NSC="$FG_WORK/noseccomp.conf"
	conf "$NSC" "  socket: $FG_WORK/noseccomp.sock"
	out=$(nsx gw timeout 60 "$NOSEC" "$FLUXGATED" -c "$NSC" 2>&1); rc=$?
	assert_eq "seccomp filter cannot be installed: exit 1" 1 "$rc"
	assert_match "seccomp filter cannot be installed: the reason is logged" \
		'privsep: seccomp filter not installed' "$out"
	assert_match "seccomp filter cannot be installed: refuses to serve" \
		'cannot drop privileges, refusing to serve' "$out"
	assert_nomatch "seccomp filter cannot be installed: never ready" ' ready ' "$out"
else
	fail "tools/noseccomp.c builds" "$(tail -n 20 "$FG_WORK/noseccomp.build.log")"
fi

# ------------------------------------------------------------ forged requests, real kernel
# tools/ps_forge.c drives the [priv] request loop with the nftables backend
# here as a compromised DNS process would: nothing it forges reaches the
# kernel (tests/unit/test_privsep.c covers every refusal in memory)
FORGE="$FG_WORK/ps_forge"
BUILD="$FG_REPO/build"
if gcc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -I"$FG_REPO/src" -o "$FORGE" \
	"$(dirname "$0")/tools/ps_forge.c" "$BUILD/libfluxgated.a" "$BUILD/libfluxgate.a" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack yaml-0.1 libcrypto \
		jansson libsystemd libseccomp libcap libmicrohttpd libnetfilter_log) -pthread \
	2>"$FG_WORK/ps_forge.build.log"; then
	main_before=$(nsx gw ip -4 route show table main)
	# start from no table: what the kernel holds afterwards is ps_forge's
	# doing alone, not grants the daemon made above
	nsx gw nft delete table inet "$TABLE" 2>/dev/null
	out=$(nsx gw timeout 60 "$FORGE" "$CONF" "$TABLE" 2>"$FG_WORK/ps_forge.log")
	log "ps_forge: $(echo $out)"
	assert_match "forged SETUP with route table 254: refused (EPERM)" '^setup_254 status=-1 refused=1$' "$out"
	assert_match "the configuration's own SETUP still works" '^setup_ok status=0 refused=1$' "$out"
	assert_match "commit to a host that is no service's backend: refused" '^commit_foreign status=-1 refused=2$' "$out"
	assert_match "commit outside the pools: refused" '^commit_outside status=-1 refused=3$' "$out"
	assert_match "subnet commit for 0.0.0.0/1 (wider than ecs-min-prefix4): refused" '^commit_wide status=-1 refused=4$' "$out"
	assert_match "commit outliving the service's ttl + grace: refused" '^commit_long status=-1 refused=5$' "$out"
	assert_match "a valid commit afterwards: accepted" '^commit_ok status=0 refused=5$' "$out"
	# each refusal is logged with its reason (the [priv] side's log)
	plog=$(cat "$FG_WORK/ps_forge.log")
	for why in setup backend pool prefix timeout; do
		assert_match "[priv] logs the refused $why request" \
			"privsep: refused request op [0-9]+ from the DNS process: $why" "$plog"
	done
	assert_eq "the main routing table (254) is untouched" "$main_before" "$(nsx gw ip -4 route show table main)"
	assert_match "the decoy route is in fluxgate's own table 4666" '10\.66\.3\.10' "$(nsx gw ip -4 route show table 4666)"
	ruleset=$(nsx gw nft list table inet "$TABLE")
	# ps_forge grants to 10.66.1.99, a client nothing else here uses; the
	# addresses are anchored (198.51.100.20 must not match .209)
	assert_match "kernel holds the valid grant" '10\.66\.1\.99 \. 198\.51\.100\.21[^0-9]' "$ruleset"
	assert_nomatch "kernel holds no forged grant" '(198\.51\.100\.2[023]|192\.0\.2\.20|10\.66\.9\.9|0\.0\.0\.0/1)([^0-9]|$)' "$ruleset"
else
	fail "ps_forge builds against $BUILD (make all)" "$(tail -n 20 "$FG_WORK/ps_forge.build.log")"
fi

# /proc/sys read-only (as under the unit's ProtectKernelTunables=yes) in a
# fresh namespace where the sysctl is still 1: refuse to start, naming it
ns_add ro
RO="$FG_WORK/ro.conf"
conf "$RO" "  socket: $FG_WORK/ro.sock"
sed -i -e 's/10\.66\.1\.1@53/127.0.0.1@5353/' -e '/^metrics:/,/^  listen:/d' "$RO"
assert_nomatch "read-only /proc/sys: fresh namespace still has tcp_loose != 0" '^0$' "$(nsx ro cat "$LOOSE" 2>/dev/null)"
out=$(nsx ro timeout 120 unshare -m sh -c 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$0" -c "$1"' \
	"$FLUXGATED" "$RO" 2>&1); rc=$?
assert_eq "read-only /proc/sys and tcp_loose=1: exit 1" 1 "$rc"
assert_match "read-only /proc/sys and tcp_loose=1: names the sysctl and the fix" 'nf_conntrack_tcp_loose must be 0.*sysctl.d/50-fluxgate.conf' "$out"
nsx ro nft delete table inet "$TABLE" 2>/dev/null

stop_bg "$DCY_PID"
finish
