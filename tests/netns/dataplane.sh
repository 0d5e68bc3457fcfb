#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Real-kernel test of the nftables data plane (src/dataplane) in network
# namespaces. Run as root from anywhere: tests/netns/dataplane.sh
#
#   client (10.0.1.2, .3; fd00:1::2) -- gateway (fluxgate table) -- server (10.0.2.10; fd00:2::10) "real"
#                                          \-- decoy (10.0.3.10; fd00:3::10, owns the whole pool) "decoy"
# Pools: 198.51.100.0/24 and 2001:db8:100::/64. The driver (dataplane_drv.c)
# runs in the gateway namespace and talks netlink only; nft/conntrack are
# used here to inspect state.
#
# Cleanup: only the namespaces this run created (named with its PID) and
# the processes it started (by PID).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${CC:-gcc}
TAG=fgdp$$
NS_C=${TAG}c NS_G=${TAG}g NS_S=${TAG}s NS_D=${TAG}d
WORK=$(mktemp -d /tmp/${TAG}.XXXXXX)
PIDS=()
PASS=0 FAIL=0
PIN_MS=3000

cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in $NS_C $NS_G $NS_S $NS_D; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

reap() { # wait for a background helper and forget its PID (no kill of a recycled PID)
	local p=$1 i
	wait "$p"
	for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" = "$p" ] && unset "PIDS[$i]"; done
}
ok()   { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$2', got '$3')"; fi
}

[ "$(id -u)" = 0 ] || { echo "must run as root"; exit 2; }
PY=$(python3 -c 'import sys; print(sys.executable)') || { echo "python3 needed"; exit 2; }

# ---------------------------------------------------------------- build
DRV=$WORK/drv
$CC -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -I"$ROOT/src" \
	"$ROOT"/src/common/*.c $(ls "$ROOT"/src/dataplane/*.c | grep -v /natcfg.c) "$ROOT/src/dns/siphash.c" "$HERE/dataplane_drv.c" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack) -lcrypto -pthread \
	-o "$DRV" || { echo "build failed"; exit 2; }

# ------------------------------------------------------------- topology
for n in $NS_C $NS_G $NS_S $NS_D; do ip netns add "$n" || exit 2; done
inns() { local n=$1; shift; ip netns exec "$n" "$@"; }
link() { # link NS_A IF_A NS_B IF_B
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	inns "$1" ip link set "$2" up
	inns "$3" ip link set "$4" up
}
for n in $NS_C $NS_G $NS_S $NS_D; do inns "$n" ip link set lo up; done
link $NS_C c0 $NS_G g1
link $NS_S s0 $NS_G g2
link $NS_D d0 $NS_G g3

inns $NS_C ip addr add 10.0.1.2/24 dev c0
inns $NS_C ip addr add 10.0.1.3/24 dev c0
inns $NS_C ip -6 addr add fd00:1::2/64 dev c0 nodad
inns $NS_C ip route add 198.51.100.0/24 via 10.0.1.1
inns $NS_C ip -6 route add 2001:db8:100::/64 via fd00:1::1

inns $NS_G ip addr add 10.0.1.1/24 dev g1
inns $NS_G ip addr add 10.0.2.1/24 dev g2
inns $NS_G ip addr add 10.0.3.1/24 dev g3
inns $NS_G ip -6 addr add fd00:1::1/64 dev g1 nodad
inns $NS_G ip -6 addr add fd00:2::1/64 dev g2 nodad
inns $NS_G ip -6 addr add fd00:3::1/64 dev g3 nodad

inns $NS_S ip addr add 10.0.2.10/24 dev s0
inns $NS_S ip -6 addr add fd00:2::10/64 dev s0 nodad
inns $NS_S ip route add default via 10.0.2.1
inns $NS_S ip -6 route add default via fd00:2::1

inns $NS_D ip addr add 10.0.3.10/24 dev d0
inns $NS_D ip -6 addr add fd00:3::10/64 dev d0 nodad
inns $NS_D ip route add default via 10.0.3.1
inns $NS_D ip -6 route add default via fd00:3::1
# the decoy owns every pool address
inns $NS_D ip route add local 198.51.100.0/24 dev lo
inns $NS_D ip -6 route add local 2001:db8:100::/64 dev lo

inns $NS_G sysctl -qw net.ipv4.ip_forward=1
inns $NS_G sysctl -qw net.ipv6.conf.all.forwarding=1
# decoy answers come back with pool sources the gateway has no route for
for k in all default g1 g2 g3; do inns $NS_G sysctl -qw net.ipv4.conf.$k.rp_filter=0; done

# Background processes: `ip netns exec` execs its command, so $! is the
# helper's own PID (a backgrounded shell function would be a subshell).
ip netns exec $NS_S "$PY" "$HERE/dataplane_helper.py" serve real 22 8080 & PIDS+=($!)
ip netns exec $NS_D "$PY" "$HERE/dataplane_helper.py" serve decoy 22 8080 & PIDS+=($!)

# ------------------------------------------------------------- helpers
D=(inns $NS_G "$DRV" --table fluxgate --pool 198.51.100.0/24 --pool 2001:db8:100::/64
	--decoy 10.0.3.10 --decoy6 fd00:3::10 --pin-ms $PIN_MS --pin-size 1024 --nflog 7)
drv() { "${D[@]}" "$@"; }
get() { # get URL [curl args...] -> body or "none"
	local url=$1; shift
	local out
	out=$(inns $NS_C curl -s -m 3 "$@" "$url" 2>/dev/null) || out=none
	echo "${out:-none}"
}

# wait for the servers
for _ in $(seq 50); do
	inns $NS_S "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 80), 1)' 2>/dev/null &&
	inns $NS_D "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 80), 1)' 2>/dev/null && break
	sleep 0.1
done

# ---------------------------------------------------------------- tests
if drv setup; then ok "setup"; else bad "setup"; fi
inns $NS_G sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || bad "tcp_loose sysctl"

check "ruleset lists (nft CLI parses every rule)" "0:" \
	"$(inns $NS_G nft list table inet fluxgate 2>&1 >/dev/null | head -3; echo "${PIPESTATUS[0]}:")"
check "policy rule installed" 1 "$(inns $NS_G ip rule | grep -c 'fwmark 0x666 lookup 4666')"

check "non-granted address -> decoy" decoy "$(get http://198.51.100.5/)"
check "decoy flow not in conntrack" 0 \
	"$(inns $NS_G conntrack -L 2>/dev/null | grep -c 'dst=198.51.100.5 ')"

drv grant client 10.0.1.2 198.51.100.5 10.0.2.10 60000 || bad "commit client grant"
check "granted client -> real" real "$(get http://198.51.100.5/)"
check "pin created by first packet" 1 \
	"$(inns $NS_G nft list set inet fluxgate pinned4 | grep -c '10.0.1.2 . 198.51.100.5')"
check "granted address, other client -> decoy" decoy \
	"$(get http://198.51.100.5/ --interface 10.0.1.3)"

drv grant client 10.0.1.99 198.51.100.6 10.0.2.10 60000 || bad "commit grant other"
check "grant for another client -> decoy" decoy "$(get http://198.51.100.6/)"

drv grant any '*' 198.51.100.7 10.0.2.10 60000 || bad "commit any grant"
check "ANY grant -> real (client .2)" real "$(get http://198.51.100.7/)"
check "ANY grant -> real (client .3)" real "$(get http://198.51.100.7/ --interface 10.0.1.3)"

drv grant net 10.0.1.0/28 198.51.100.8 10.0.2.10 60000 || bad "commit net grant"
check "NET grant covering client -> real" real "$(get http://198.51.100.8/ --interface 10.0.1.3)"
drv grant net 10.0.9.0/24 198.51.100.9 10.0.2.10 60000 || bad "commit net grant 2"
check "NET grant not covering client -> decoy" decoy "$(get http://198.51.100.9/)"

# re-grant with a longer timeout: the kernel refreshes the element
drv grant client 10.0.1.2 198.51.100.5 10.0.2.10 600000 || bad "re-grant"
t=$(drv dump | awk '$1=="client" && $3=="198.51.100.5" {print $5}')
if [ -n "$t" ] && [ "$t" -gt 500000 ]; then ok "re-grant with longer timeout refreshes ($t ms)"
else bad "re-grant with longer timeout refreshes (got '$t')"; fi
# a batch of 3000 grants (several NEWSETELEM messages in one batch)
args=()
for i in $(seq 0 2999); do args+=(client 100.64.$((i / 250)).$((i % 250 + 1)) 198.51.100.200 10.0.2.10 60000); done
if drv grant "${args[@]}"; then ok "commit of 3000 grants in one batch"; else bad "commit of 3000 grants"; fi
check "dump sees the 3000" 3000 "$(drv dump | grep -c ' 198.51.100.200 ')"

# restart safety: setup again keeps every grant
before=$(drv dump | wc -l)
if drv setup 2>/dev/null; then ok "setup twice"; else bad "setup twice"; fi
check "grants survive re-setup" "$before" "$(drv dump | wc -l)"
check "granted client -> real after re-setup" real "$(get http://198.51.100.5/)"
check "policy rule not duplicated" 1 "$(inns $NS_G ip rule | grep -c 'fwmark 0x666 lookup 4666')"

# IPv6
check "v6 non-granted -> decoy" decoy "$(get 'http://[2001:db8:100::5]/')"
drv grant client fd00:1::2 2001:db8:100::5 fd00:2::10 60000 || bad "commit v6 grant"
check "v6 granted client -> real" real "$(get 'http://[2001:db8:100::5]/')"
drv grant net fd00:1::/64 2001:db8:100::6 fd00:2::10 60000 || bad "commit v6 net grant"
check "v6 NET grant -> real" real "$(get 'http://[2001:db8:100::6]/')"
check "v6 pin created" 1 \
	"$(inns $NS_G nft list set inet fluxgate pinned6 | grep -c 'fd00:1::2 . 2001:db8:100::5')"

# expiry: grant 2 s, pin 3 s (backend horizon 5 s). The checks start when
# the kernel has dropped the element (grant, then pin), not after fixed
# sleeps: the pin's 3 s run from its last packet, so a check just past the
# grant's expiry keeps a second of margin however slow the machine.
# gone_from KIND NAME ERE: no element of set/map NAME matches ERE (the
# kernel leaves expired elements out of a listing)
gone_from() { ! inns $NS_G nft list "$1" inet fluxgate "$2" 2>/dev/null | grep -qE -- "$3"; }
wait_gone() { # wait_gone TIMEOUT_S KIND NAME ERE
	local deadline=$((SECONDS + $1)); shift
	until gone_from "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
drv grant client 10.0.1.2 198.51.100.20 10.0.2.10 2000 || bad "commit short grant"
check "short grant -> real" real "$(get http://198.51.100.20/)"
gone_from map grant_client4 '10\.0\.1\.2 \. 198\.51\.100\.20([[:space:],]|$)' && bad "the short grant is listed in grant_client4"
gone_from set pinned4 '10\.0\.1\.2 \. 198\.51\.100\.20([[:space:],]|$)' && bad "the short grant's pin is listed in pinned4"
ip netns exec $NS_C "$PY" "$HERE/dataplane_helper.py" hold 198.51.100.20 7 7 \
	>"$WORK/hold.out" & HOLD=$!; PIDS+=($HOLD)
wait_gone 30 map grant_client4 '10\.0\.1\.2 \. 198\.51\.100\.20([[:space:],]|$)' || bad "the short grant lapses in the kernel"
check "grant expired, pin alive -> real" real "$(get http://198.51.100.20/)"
wait_gone 30 set pinned4 '10\.0\.1\.2 \. 198\.51\.100\.20([[:space:],]|$)' || bad "the pin lapses in the kernel"
check "grant and pin expired -> decoy for new connections" decoy "$(get http://198.51.100.20/)"
reap $HOLD
check "idle established connection survives grant and pin expiry" survived "$(cat "$WORK/hold.out")"

# quarantine: existing connection cut, new ones to the decoys
drv grant client 10.0.1.2 198.51.100.30 10.0.2.10 60000 || bad "commit grant q"
ip netns exec $NS_C "$PY" "$HERE/dataplane_helper.py" holdcut 198.51.100.30 7 "$WORK/ready" "$WORK/go" \
	>"$WORK/cut.out" & HC=$!; PIDS+=($HC)
for _ in $(seq 50); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
check "flow tracked before quarantine" 1 \
	"$(inns $NS_G conntrack -L -s 10.0.1.2 -d 198.51.100.30 2>/dev/null | grep -c 'dport=7')"
drv quarantine 10.0.1.2 0 || bad "quarantine"
check "conntrack entry deleted" 0 \
	"$(inns $NS_G conntrack -L -s 10.0.1.2 -d 198.51.100.30 2>/dev/null | grep -c 'dport=7')"
touch "$WORK/go"
reap $HC
check "quarantine cuts the established connection" cut "$(cat "$WORK/cut.out")"
check "quarantined client -> decoy despite grant" decoy "$(get http://198.51.100.30/)"
check "other client unaffected by quarantine" real "$(get http://198.51.100.7/ --interface 10.0.1.3)"
drv release 10.0.1.2 || bad "release"
check "released client -> real again" real "$(get http://198.51.100.30/)"
if drv release 10.0.1.2; then ok "release of a free source is no error"; else bad "release twice"; fi

# decoy traffic stays out of conntrack
n=$(inns $NS_G conntrack -L 2>/dev/null | grep -c 'dst=198.51.100.9 ')
check "decoy flows not in conntrack" 0 "$n"

# ports (hardening finding 5): with the port filter on, a grant opens only
# what the service exposes (here tcp/80 and ICMP); every other port of a
# granted address goes to the decoys, and a backend port is DNATed to.
PF=(--svcport 198.51.100.0/24,tcp,80 --svcport 198.51.100.0/24,icmp,0-65535
	--svcport 2001:db8:100::/64,tcp,80 --svcport 2001:db8:100::/64,icmp6,0-65535
	--portmap 198.51.100.42/31 --portmap 2001:db8:100::40/128)
if drv "${PF[@]}" setup; then ok "setup with a port filter"; else bad "setup with a port filter"; fi
check "ruleset with port filter lists, nft CLI decodes every rule" "0:" \
	"$(inns $NS_G nft list table inet fluxgate 2>&1 >/dev/null | head -3; echo "${PIPESTATUS[0]}:")"
drv grant client 10.0.1.2 198.51.100.40 10.0.2.10 60000 || bad "commit grant ports"
check "granted client, exposed port 80 -> real" real "$(get http://198.51.100.40/)"
check "granted (and now pinned) client, port 22 -> decoy" decoy:22 "$(get http://198.51.100.40:22/)"
check "granted client, port 8080 not exposed -> decoy" decoy:8080 "$(get http://198.51.100.40:8080/)"
check "port-22 decoy flow not in conntrack" 0 \
	"$(inns $NS_G conntrack -L -d 198.51.100.40 2>/dev/null | grep -c 'dport=22 ')"
check "ICMP echo to a granted address answered" reply \
	"$(inns $NS_C "$PY" "$HERE/dataplane_helper.py" ping 198.51.100.40)"
check "... by the backend (NATed, tracked)" 1 \
	"$(inns $NS_G conntrack -L -p icmp -d 198.51.100.40 2>/dev/null | grep -c 'src=10.0.2.10 ')"
drv grant any '*' 198.51.100.41 10.0.2.10 60000 || bad "commit any grant ports"
check "ANY grant, port 80 -> real" real "$(get http://198.51.100.41/ --interface 10.0.1.3)"
check "ANY grant, port 22 -> decoy" decoy:22 "$(get http://198.51.100.41:22/ --interface 10.0.1.3)"
drv grant client 10.0.1.2 198.51.100.42 10.0.2.10@8080 60000 || bad "commit grant with backend port"
check "backend @8080 reached on the service port 80" real:8080 "$(get http://198.51.100.42/)"
check "dump shows the backend port" 1 \
	"$(drv dump | grep -c '^client 10.0.1.2/32 198.51.100.42 10.0.2.10@8080 ')"
drv grant client fd00:1::2 2001:db8:100::40 fd00:2::10@8080 60000 || bad "commit v6 grant ports"
check "v6 backend @8080 reached on port 80" real:8080 "$(get 'http://[2001:db8:100::40]/')"
check "v6 granted client, port 22 -> decoy" decoy:22 "$(get 'http://[2001:db8:100::40]:22/')"

# the privileged side takes no backend on trust: with the configured
# backends known, a grant leading elsewhere (or outside the pools) is refused
BE=(--backend 198.51.100.0/24,10.0.2.10 --backend 198.51.100.0/24,10.0.2.10@8080)
if "${D[@]}" "${BE[@]}" grant client 10.0.1.2 198.51.100.43 10.0.2.10@8080 60000; then
	ok "grant to a configured backend accepted"; else bad "grant to a configured backend accepted"; fi
if "${D[@]}" "${BE[@]}" grant client 10.0.1.2 198.51.100.44 10.0.2.1@22 60000 2>/dev/null; then
	bad "grant to an unconfigured backend (the gateway's ssh) refused"
else ok "grant to an unconfigured backend (the gateway's ssh) refused"; fi
if "${D[@]}" "${BE[@]}" grant client 10.0.1.2 198.51.100.45 10.0.2.10@2222 60000 2>/dev/null; then
	bad "grant to a configured backend on another port refused"
else ok "grant to a configured backend on another port refused"; fi
if "${D[@]}" "${BE[@]}" grant client 10.0.1.2 192.0.2.1 10.0.2.10 60000 2>/dev/null; then
	bad "grant outside the pools refused"; else ok "grant outside the pools refused"; fi
check "refused grants left nothing in the kernel" 0 \
	"$(drv dump | grep -c -e ' 198.51.100.44 ' -e ' 198.51.100.45 ' -e ' 192.0.2.1 ')"

# routes (hardening finding 4): only our own table, never a foreign route
inns $NS_G ip route add default via 10.0.2.10 || bad "main default route"
if drv --rtable 254 setup 2>/dev/null; then bad "route table 254 (main) refused"; else ok "route table 254 (main) refused"; fi
check "main default route untouched" "default via 10.0.2.10 dev g2" \
	"$(inns $NS_G ip route show table main default | head -1 | sed 's/ *$//')"
if drv --decoy 10.0.3.11 "${PF[@]}" setup; then ok "setup with another decoy next hop"; else bad "setup with another decoy next hop"; fi
check "our own decoy route is updated in place" 1 \
	"$(inns $NS_G ip route show table 4666 | grep -c 'default via 10.0.3.11')"
if drv "${PF[@]}" setup; then ok "setup back"; else bad "setup back"; fi

# destroy removes table and routing
if drv destroy; then ok "destroy"; else bad "destroy"; fi
check "table gone" 1 "$(inns $NS_G nft list table inet fluxgate >/dev/null 2>&1; echo $?)"
check "policy rule gone" 0 "$(inns $NS_G ip rule | grep -c 'fwmark 0x666')"
if drv destroy 2>/dev/null; then ok "destroy twice is no error"; else bad "destroy twice"; fi

# a default route in table 4666 that is not ours: setup refuses to touch
# it, destroy leaves it alone
inns $NS_G ip route add default via 10.0.2.10 table 4666 || bad "foreign route"
if drv setup 2>/dev/null; then bad "setup refuses a foreign route in its table"
else ok "setup refuses a foreign route in its table"; fi
check "foreign route kept" "default via 10.0.2.10 dev g2" \
	"$(inns $NS_G ip route show table 4666 | sed 's/ *$//')"
drv destroy 2>/dev/null
check "destroy leaves the foreign route" "default via 10.0.2.10 dev g2" \
	"$(inns $NS_G ip route show table 4666 | sed 's/ *$//')"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
