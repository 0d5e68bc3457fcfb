#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Hardening finding 1 against the real daemon and kernel: a query with a
# wide EDNS Client Subnet (kdig +subnet=0.0.0.0/1, ::/1) must not open pool
# addresses to half the Internet. With no policy section (the case of the
# finding), such a query is scoped as if it had no ECS: an "anyone" grant
# for one address, bounded per source (policy.anyone-per-source, default
# 4) and by max-open-fraction. The kernel table holds no /1 element, and
# an unrelated source reaches the real server through none of the pool
# addresses but the handful the asker holds: every other one is a decoy.
#
#   res 10.66.4.53 --- gw 10.66.4.1 (fluxgated, nft) --- srv 10.66.2.10 (real)
#   far 10.66.5.2  --- gw 10.66.5.1                  --- dcy 10.66.3.10 (decoys,
#                                                        owns 198.51.100.0/24)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl nft python3 ss

if [ "$VALGRIND" = 1 ]; then DNS_T=8; DNS_WAIT=120; else DNS_T=3; DNS_WAIT=30; fi

# ------------------------------------------------------------ topology
ns_add res far gw srv dcy
veth_link res eth0 "10.66.4.53/24" gw r0 "10.66.4.1/24"
veth_link far eth0 "10.66.5.2/24" gw f0 "10.66.5.1/24"
veth_link srv eth0 "10.66.2.10/24" gw s0 "10.66.2.1/24"
veth_link dcy eth0 "10.66.3.10/24" gw d0 "10.66.3.1/24"
for n in res far srv dcy; do
	case $n in res) g=10.66.4.1 ;; far) g=10.66.5.1 ;; srv) g=10.66.2.1 ;; dcy) g=10.66.3.1 ;; esac
	nsx $n ip route add default via $g
done
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default r0 f0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "cannot set nf_conntrack_tcp_loose=0"

# ------------------------------------------------------------ peers
web() { # web NS BODY: an HTTP server on port 80 answering BODY
	mkdir -p "$FG_WORK/$1"
	echo "$2" >"$FG_WORK/$1/index.html"
	start_bg "http-$1" "$1" python3 -m http.server 80 --bind 0.0.0.0 --directory "$FG_WORK/$1"
}
web srv real; SRV_PID=$BG_PID
web dcy decoy; DCY_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fghs$$"
# deliberately no policy section: what the finding was reported with
cat >"$CONF" <<EOF
server:
  listen: [ "10.66.4.1@53", "10.66.5.1@53" ]
  user: nobody
  workers: 2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.66.4.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
  - id: web6
    prefix: 2001:db8:77::/64
service:
  - id: www
    name: www.example.test
    backend: [ 10.66.2.10, "fd66:2::10" ]
    ports: [ any ]
    pool: [ web4, web6 ]
    ttl: 30s
    max-open-fraction: 0.5
decoy:
  route-via: 10.66.3.10
nat:
  backend: nft
  table: $TABLE
control:
  socket: $CTL
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

start_fluxgated gw "$CONF"
if ! wait_dns res 10.66.4.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
ok "fluxgated answers on 10.66.4.1"
wait_port srv tcp 80 60 "$SRV_PID" || { fail "real server listens"; finish; }
wait_port dcy tcp 80 60 "$DCY_PID" || { fail "decoy listens"; finish; }
assert_match "start-up log warns that policy.resolvers is empty" \
	'policy\.resolvers is empty' "$(cat "$FG_FLUXGATED_LOG")"

# ------------------------------------------------------------ the wide ECS queries
# 30 queries, each from the resolver with ECS 0.0.0.0/1; the old daemon
# opened a fresh pool address to 0.0.0.0/1 for each of them
declare -A held=()
echo_ok=0 answered=0
for i in $(seq 1 30); do
	out=$(nsx res kdig +retry=1 +timeout="$DNS_T" @10.66.4.1 +subnet=0.0.0.0/1 www.example.test A 2>&1)
	a=$(printf '%s\n' "$out" | awk '$4 == "A" && $1 ~ /^www\./ {print $5}' | head -n 1)
	[ -n "$a" ] || continue
	answered=$((answered + 1))
	held[$a]=1
	grep -Eq '^;; CLIENT-SUBNET: 0\.0\.0\.0/1/0$' <<<"$out" && echo_ok=$((echo_ok + 1))
done
assert_eq "30 of 30 wide-ECS queries answered" 30 "$answered"
assert_eq "every answer echoes ECS scope 0 (not subnet-specific)" 30 "$echo_ok"
n=${#held[@]}
if [ "$n" -ge 1 ] && [ "$n" -le 4 ]; then ok "the asker holds $n addresses open (at most anyone-per-source = 4)"
else fail "the asker holds at most 4 addresses open" "distinct answers: $n: ${!held[*]}"; fi

for i in $(seq 1 10); do
	nsx res kdig +retry=1 +timeout="$DNS_T" @10.66.4.1 +subnet=::/1 www.example.test AAAA >/dev/null 2>&1
done
table=$(nsx gw nft list table inet "$TABLE" 2>&1)
assert_nomatch "no kernel element for 0.0.0.0/1 (grant_net4)" '0\.0\.0\.0/1' "$table"
assert_nomatch "no kernel element for ::/1 (grant_net6)" '(^|[^0-9a-f:])::/1([^0-9]|$)' "$table"

# ------------------------------------------------------------ an unrelated source
# far (10.66.5.2, inside 0.0.0.0/1) never asked: of the 254 pool addresses
# it reaches the real server only through those open to anyone; the old
# daemon let it through about 30 of them
real=0 decoy=0 other=0 wrong=""
for x in $(seq 1 254); do
	a=198.51.100.$x
	b=$(nsx far curl -s -m 3 "http://$a/" 2>/dev/null) || b=""
	case $b in
	real) real=$((real + 1)); [ -n "${held[$a]:-}" ] || wrong+="$a " ;;
	decoy) decoy=$((decoy + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
done
assert_eq "an unrelated source reaches the real server only through the held addresses" "" "$wrong"
if [ "$real" -le 4 ] && [ $((decoy + real)) -eq 254 ]; then
	ok "an unrelated source lands on the decoy for $decoy of 254 pool addresses (real: $real)"
else
	fail "an unrelated source lands on the decoy for all but the held addresses" \
		"real=$real decoy=$decoy no answer=$other (held: ${!held[*]})"
fi

fluxgated_alive "fluxgated still runs"
finish
