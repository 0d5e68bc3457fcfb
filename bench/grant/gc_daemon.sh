#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Issue 12 against a real fluxgated: fresh exact grants (grant_lat -P, each
# query from a fresh source of a /64, -q 64) for DURATION seconds, each
# grant living 2 s (ttl 1s + grace 1s), with a grant map of SIZE; prints
# the queries answered, those with an address, and the daemon's commit
# failures and SERVFAILs. The figure is the count of refused commits, not
# a rate. FLUXGATED picks the daemon (default build/fluxgated).
#
#   perf fd53::2 ---- fd53::1 fg (fluxgated, nft backend, workers: 2)
#
# Env: FLUXGATED, DURATION (20), SIZE (64k). One run per invocation.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034  # read by lib.sh
FG_TEST_NAME=bench-gc-daemon
. "$HERE/../../tests/netns/lib.sh"

DURATION=${DURATION:-20}
SIZE=${SIZE:-64k}
need_root
need_cmd ip kdig nft python3

LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/grant_lat.c" || die "cannot build grant_lat"
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || FLUXCTL="$FG_REPO/build/fluxctl"

run=1
ns_add perf fg
veth_link perf fg0 10.53.0.2/24,fd53::2/64 fg eth0 10.53.0.1/24,fd53::1/64
nsx perf ip -6 route add local "fd53:0:0:1::/64" dev lo
nsx fg ip -6 route add "fd53:0:0:1::/64" via fd53::2
CTL="$FG_WORK/control$run.sock"
CONF="$FG_WORK/fluxgated$run.conf"
{
	cat <<CONF
server:
  listen: [ "fd53::1@53" ]
  user: nobody
  workers: 2
control:
  socket: "$CTL"
log:
  level: warning
pool:
  - id: svc6
    prefix: 2001:db8:100::/64
service:
  - id: svc
    name: svc.example.test
    backend: "fd53:9::9"
    ports: [ any ]
    pool: svc6
    ttl: 1s
    grace: 1s
    pin: 10s
policy:
  direct: [ "fd53::/48" ]
  unverified-share: 0     # the kernel's map is under test, not the budget
rrl:
  rate: 0
nat:
  backend: nft
  table: fggc$$
  grant-set-size: $SIZE
  pin-set-size: 64k
CONF
	zones_yaml
} >"$CONF"
"$FLUXGATED" --check -c "$CONF" >/dev/null || die "config rejected: $("$FLUXGATED" --check -c "$CONF" 2>&1 | tail -n 5)"
start_fluxgated fg "$CONF"
wait_dns perf fd53::1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
o=$(nsx perf timeout $((DURATION + 30)) "$LAT" -s fd53::1 -n svc.example.test -t AAAA -d "$DURATION" -q 64 -P fd53:0:0:1::)
st=$(nsx fg "$FLUXCTL" -s "$CTL" --json stats 2>/dev/null | python3 -c '
import json, sys
g = json.load(sys.stdin)["grants"]
print("commit_failures=%s commit_servfail=%s" % (g["commit_failures"], g["commit_servfail"]))')
full=$(grep -c "grant map full" "$FG_FLUXGATED_LOG")
echo "run $run: $o $st grant_map_full_logs=$full"
stop_fluxgated
