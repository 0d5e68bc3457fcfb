#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Hardening finding 6 against the real daemon and kernel: services stay
# apart across a reload that reorders them. Two services, each with a pool
# of its own and a backend of its own, answer a caching resolver from its
# per-resolver memory (rotation: min-interval 60 s, so the same address
# again). The configuration is rewritten with the two services swapped and
# reloaded (SIGHUP): each name must still answer its own address from its
# own pool, and a connection to it must still reach its own backend. State
# keyed by the service's index, as before the fix, hands "one" the address
# "two" held (and the other way round).
#
#   res 10.66.4.53 --- gw 10.66.4.1 (fluxgated, nft) --- one 10.66.2.10 ("one")
#                                                    --- two 10.66.6.20 ("two")
#                                                    --- dcy 10.66.3.10 (decoys)
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl nft python3

if [ "$VALGRIND" = 1 ]; then DNS_T=8; DNS_WAIT=120; else DNS_T=3; DNS_WAIT=30; fi

# ------------------------------------------------------------ topology
ns_add res gw one two dcy
veth_link res eth0 "10.66.4.53/24" gw r0 "10.66.4.1/24"
veth_link one eth0 "10.66.2.10/24" gw s0 "10.66.2.1/24"
veth_link two eth0 "10.66.6.20/24" gw t0 "10.66.6.1/24"
veth_link dcy eth0 "10.66.3.10/24" gw d0 "10.66.3.1/24"
nsx res ip route add default via 10.66.4.1
nsx one ip route add default via 10.66.2.1
nsx two ip route add default via 10.66.6.1
nsx dcy ip route add default via 10.66.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip route add local 203.0.113.0/24 dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default r0 s0 t0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done

web() { # web NS BODY: an HTTP server on port 80 answering BODY
	mkdir -p "$FG_WORK/$1"
	echo "$2" >"$FG_WORK/$1/index.html"
	start_bg "http-$1" "$1" python3 -m http.server 80 --bind 0.0.0.0 --directory "$FG_WORK/$1"
}
web one one; ONE_PID=$BG_PID
web two two; TWO_PID=$BG_PID
web dcy decoy; DCY_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fghr$$"
svc_one='  - id: one
    name: one.example.test
    backend: 10.66.2.10@80
    pool: p1
    ttl: 30s
    rotation: min-interval
    min-interval: 60s'
svc_two='  - id: two
    name: two.example.test
    backend: 10.66.6.20@80
    pool: p2
    ttl: 30s
    rotation: min-interval
    min-interval: 60s'
conf() { # conf FIRST SECOND: the services in that order
	cat <<EOF
server:
  listen: [ "10.66.4.1@53" ]
  user: nobody
  workers: 1
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.66.4.1"
pool:
  - id: p1
    prefix: 198.51.100.0/24
  - id: p2
    prefix: 203.0.113.0/24
service:
$1
$2
policy:
  resolvers: [ 10.66.4.53/32 ]
decoy:
  route-via: 10.66.3.10
nat:
  backend: nft
  table: $TABLE
control:
  socket: $CTL
EOF
}
conf "$svc_one" "$svc_two" >"$CONF"
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

start_fluxgated gw "$CONF"
if ! wait_dns res 10.66.4.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
wait_port one tcp 80 60 "$ONE_PID" || fail "one's web server listens"
wait_port two tcp 80 60 "$TWO_PID" || fail "two's web server listens"
wait_port dcy tcp 80 60 "$DCY_PID" || fail "the decoy's web server listens"

ask() { nsx res kdig +short +retry=1 +timeout="$DNS_T" @10.66.4.1 "$1" A 2>/dev/null | head -n 1; }
get() { nsx res curl -s -m 5 "http://$1/" 2>/dev/null; }

a1=$(ask one.example.test)
a2=$(ask two.example.test)
assert_match "before the reload: one answers from its pool p1" '^198\.51\.100\.[0-9]+$' "$a1"
assert_match "before the reload: two answers from its pool p2" '^203\.0\.113\.[0-9]+$' "$a2"
assert_eq "before the reload: the resolver is answered one's address again" "$a1" "$(ask one.example.test)"
assert_eq "before the reload: one's address reaches one's backend" one "$(get "$a1")"
assert_eq "before the reload: two's address reaches two's backend" two "$(get "$a2")"

# ------------------------------------------------------------ reorder and reload
conf "$svc_two" "$svc_one" >"$CONF"
n0=$(grep -c 'reload done' "$FG_FLUXGATED_LOG")
kill -HUP "$FG_FLUXGATED_PID"
for _ in $(seq 300); do [ "$(grep -c 'reload done' "$FG_FLUXGATED_LOG")" -gt "$n0" ] && break; sleep 0.1; done
assert_match "the reordered configuration is loaded" 'reload done' "$(cat "$FG_FLUXGATED_LOG")"

b1=$(ask one.example.test)
b2=$(ask two.example.test)
assert_eq "after the reorder: one keeps its own address (not two's)" "$a1" "$b1"
assert_eq "after the reorder: two keeps its own address (not one's)" "$a2" "$b2"
assert_match "after the reorder: one still answers from p1" '^198\.51\.100\.[0-9]+$' "$b1"
assert_match "after the reorder: two still answers from p2" '^203\.0\.113\.[0-9]+$' "$b2"
assert_eq "after the reorder: one's address reaches one's backend" one "$(get "$b1")"
assert_eq "after the reorder: two's address reaches two's backend" two "$(get "$b2")"
# the anyone map, one element a line: ADDRESS [timeout ... expires ...] : BACKEND
anymap=$(nsx gw nft list map inet "$TABLE" grant_any4 | tr ',{}' '\n\n\n')
assert_match "the kernel maps one's address to one's backend" "^ *${b1//./\\.} [^:]*: 10\\.66\\.2\\.10" "$anymap"
assert_match "the kernel maps two's address to two's backend" "^ *${b2//./\\.} [^:]*: 10\\.66\\.6\\.20" "$anymap"
assert_nomatch "the kernel maps no p1 address to two's backend" '198\.51\.100\.[0-9]+ [^:]*: 10\.66\.6\.20' "$anymap"
assert_nomatch "the kernel maps no p2 address to one's backend" '203\.0\.113\.[0-9]+ [^:]*: 10\.66\.2\.10' "$anymap"
fluxgated_alive "fluxgated still runs"

stop_fluxgated
stop_bg "$ONE_PID"; stop_bg "$TWO_PID"; stop_bg "$DCY_PID"
finish
