#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy high interaction: figures, not a test.
#
#  1. Time from first packet to a live backend: FLOWS fresh universes (one
#     source address each) open one HTTP flow each to the pool; for each,
#     fluxdecoy's backend_connected event gives accept -> backend connection
#     up (connect_ms), and curl gives the client's time to first byte.
#     Side by side: a flash clone (a backend-template slot: a namespace
#     with lighttpd started for the flow), the same request answered by the
#     low-interaction persona (a filtered flow) and by the backend directly
#     (no decoy).
#  2. Bindings under sweeps: masscan (--banners: full handshakes, from
#     SOURCES source addresses it owns, bounded rate) and nmap -sT of the
#     /24 pool on ports 80 and 22. Flows seen = bindings + filtered; the
#     reduction is flows / bindings, against one binding per flow without
#     the scan filter (Potemkin's gateway without it: a VM per flow).
#
# RUNS runs (default 3), fluxdecoy restarted for each (fresh scan filter);
# medians printed. Everything in namespaces made here, deleted at the end.
#
# Env: RUNS, FLOWS (default 20), SOURCES (default 4), RATE (masscan pps,
# default 500), FLUXDECOY (default build/fluxdecoy).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-decoy-hi
. "$HERE/../../tests/netns/lib.sh"
set +e

need_root
need_cmd ip curl lighttpd /usr/sbin/sshd ssh-keygen masscan nmap python3
# FLOWS <= 32 (flash slots) and <= 49 (source addresses)
RUNS=${RUNS:-3} FLOWS=${FLOWS:-20} SOURCES=${SOURCES:-4} RATE=${RATE:-500}
FLUXDECOY=${FLUXDECOY:-$FG_REPO/build/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "no $FLUXDECOY (make)"
W=$FG_WORK

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

ns_add cli dcy hi
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
veth_link dcy e4 "10.0.4.1/24" hi eth0 "10.0.4.10/24"
addr_add hi eth0 10.0.4.11/24
for i in $(seq 1 "$FLOWS"); do
	addr_add cli e1 "10.0.3.$((100 + i))/32"; addr_add cli e1 "10.0.3.$((150 + i))/32"
done
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip route add 10.0.4.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy sysctl -qw net.ipv4.ip_forward=1
nsx hi ip route add default via 10.0.4.1

mkdir -p "$W/www"
printf '<html><body>a web server</body></html>\n' >"$W/www/index.html"
cat >"$W/lighttpd.conf" <<EOF
server.document-root = "$W/www"
server.port = 80
server.bind = "10.0.4.10"
\$SERVER["socket"] == "10.0.4.11:80" { }
server.pid-file = "$W/lighttpd.pid"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
EOF
start_bg lighttpd hi lighttpd -D -f "$W/lighttpd.conf"
mkdir -p "$W/sshd" /run/sshd
rm -f "$W/sshd/k" "$W/sshd/k.pub"; ssh-keygen -q -t ed25519 -N '' -f "$W/sshd/k"
printf 'Port 22\nListenAddress 0.0.0.0\nHostKey %s\nPidFile %s\nUsePAM no\n' \
	"$W/sshd/k" "$W/sshd/pid" >"$W/sshd/cfg"
start_bg sshd hi /usr/sbin/sshd -D -e -f "$W/sshd/cfg"
wait_port hi tcp 80 10 || die "lighttpd"
wait_port hi tcp 22 10 || die "sshd"
nsx dcy "$FLUXDECOY" clone --from 10.0.4.10 --ports tcp/80,tcp/22 --name web -o "$W/p.yaml" >/dev/null 2>&1 \
	|| die "clone"
cat >"$W/spawn.sh" <<'SPAWN'
#!/bin/bash
set -u
prefix=$1 dir=$2 action=$3 addr=$4 slot=$5
ns="$prefix-u$slot" v="fdu$slot" d="$dir/clone$slot"
case $action in
start)
	ip netns add "$ns" || exit 1
	ip -n "$ns" link set lo up
	ip link add "$v" type veth peer name eth0 netns "$ns" || exit 1
	ip link set "$v" up
	ip route add "$addr/32" dev "$v" src 10.0.4.1
	ip -n "$ns" addr add "$addr/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 10.0.4.1/32 dev eth0
	ip -n "$ns" route add default via 10.0.4.1 dev eth0
	mkdir -p "$d/www"
	printf '<html><body>flash clone %s</body></html>\n' "$addr" >"$d/www/index.html"
	sed -e "s#@ADDR@#$addr#" -e "s#@DIR@#$d#" "$dir/reference.conf" >"$d/lighttpd.conf"
	ip netns exec "$ns" lighttpd -f "$d/lighttpd.conf" || exit 1
	for _ in $(seq 100); do
		ip netns exec "$ns" ss -Hlnt 'sport = :80' | grep -q . && exit 0
		sleep 0.05
	done
	exit 1 ;;
stop)
	[ -s "$d/lighttpd.pid" ] && kill "$(cat "$d/lighttpd.pid")"
	ip netns del "$ns"
	ip link del "$v" 2>/dev/null
	exit 0 ;;
esac
exit 2
SPAWN
chmod +x "$W/spawn.sh"
cat >"$W/reference.conf" <<'REF'
server.document-root = "@DIR@/www"
server.port = 80
server.bind = "@ADDR@"
server.pid-file = "@DIR@/lighttpd.pid"
server.errorlog = "@DIR@/error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
REF
for i in $(seq 0 31); do FG_NAMESPACES+=("$(ns u$i)"); done
cat >"$W/d.conf" <<EOF
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  binding-idle: 5m
  scan-window: 60s
  nft-table: fdbench
persona:
  - id: hi-web
    file: $W/p.yaml
    addresses: [198.51.100.0/25]
    backends: [10.0.4.10, 10.0.4.11]
  - id: hi-flash
    file: $W/p.yaml
    addresses: [198.51.100.128/25]
    backend-template: [$W/spawn.sh, $FG_NS_PREFIX, $W]
    template-addresses: [10.0.5.0/27]
EOF
metric() { nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics | awk -v m="$1" '$1 == m {print $2}'; }
: >"$W/connect_ms" ; : >"$W/connect_flash" ; : >"$W/ttfb_flash" ; : >"$W/ttfb_hi" ; : >"$W/ttfb_li" ; : >"$W/ttfb_direct"
: >"$W/red_masscan" ; : >"$W/red_nmap" ; : >"$W/bind_masscan" ; : >"$W/flows_masscan"
MAC=$(nsx dcy cat /sys/class/net/eth0/address)
ttfb() { nsx cli curl -sS -m 10 -o /dev/null -w '%{time_starttransfer}\n' "$@" | awk '{printf "%.3f\n", $1 * 1000}'; }

for run in $(seq 1 "$RUNS"); do
	: >"$W/eve.json"; chown nobody "$W/eve.json"
	start_bg fluxdecoy dcy "$FLUXDECOY" -c "$W/d.conf"; DPID=$BG_PID
	wait_port dcy tcp 9561 15 "$DPID" || die "fluxdecoy"
	# 1. first packet to live backend; then the same source on another
	# address (filtered: the persona) and the backend directly
	for i in $(seq 1 "$FLOWS"); do
		ttfb --interface "10.0.3.$((100 + i))" "http://198.51.100.$i/" >>"$W/ttfb_hi"
		ttfb --interface "10.0.3.$((100 + i))" "http://198.51.100.$((100 + i))/" >>"$W/ttfb_li"
		ttfb --interface "10.0.3.$((100 + i))" "http://10.0.4.10/" >>"$W/ttfb_direct"
		ttfb --interface "10.0.3.$((150 + i))" "http://198.51.100.$((128 + i))/" >>"$W/ttfb_flash"
	done
	grep -o '"event":"backend_connected","persona":"hi-web"[^}]*"connect_us":[0-9]*' "$W/eve.json" \
		| sed 's/.*"connect_us"://' | awk '{printf "%.3f\n", $1 / 1000}' >>"$W/connect_ms"
	grep -o '"event":"backend_connected","persona":"hi-flash"[^}]*"connect_us":[0-9]*' "$W/eve.json" \
		| sed 's/.*"connect_us"://' | awk '{printf "%.3f\n", $1 / 1000}' >>"$W/connect_flash"
	# 2. sweeps
	b0=$(metric fluxdecoy_bindings_created_total); f0=$(metric fluxdecoy_scan_filtered_total)
	for s in $(seq 1 "$SOURCES"); do
		nsx cli masscan 198.51.100.0/24 -p80,22 --banners --rate "$RATE" --wait 3 -e e1 \
			--source-ip "10.0.3.$((200 + s))" --router-mac "$MAC" >/dev/null 2>&1
	done
	sleep 1
	b1=$(metric fluxdecoy_bindings_created_total); f1=$(metric fluxdecoy_scan_filtered_total)
	nsx cli nmap -n -Pn -sT -p 80,22 -T4 --max-retries 0 198.51.100.0/24 >/dev/null 2>&1
	sleep 1
	b2=$(metric fluxdecoy_bindings_created_total); f2=$(metric fluxdecoy_scan_filtered_total)
	bm=$((b1 - b0)); fm=$((f1 - f0)); bn=$((b2 - b1)); fn=$((f2 - f1))
	echo "$bm" >>"$W/bind_masscan"; echo $((bm + fm)) >>"$W/flows_masscan"
	[ "$bm" -gt 0 ] && awk -v f=$((bm + fm)) -v b=$bm 'BEGIN {printf "%.1f\n", f / b}' >>"$W/red_masscan"
	[ "$bn" -gt 0 ] && awk -v f=$((bn + fn)) -v b=$bn 'BEGIN {printf "%.1f\n", f / b}' >>"$W/red_nmap"
	log "run $run: masscan x$SOURCES: $((bm + fm)) flows, $bm bindings; nmap -sT: $((bn + fn)) flows, $bn bindings"
	stop_pid "$DPID" 15
done

echo "== fluxdecoy high interaction (medians of $RUNS runs; shared machine: indicative) =="
echo "first packet to live backend (accept -> backend connected), ms: pool backend $(median <"$W/connect_ms") (n=$(wc -l <"$W/connect_ms")), flash clone (netns + lighttpd started) $(median <"$W/connect_flash") (n=$(wc -l <"$W/connect_flash"))"
echo "client time to first byte, ms: pool backend $(median <"$W/ttfb_hi"), flash clone $(median <"$W/ttfb_flash"), low-interaction persona $(median <"$W/ttfb_li"), backend direct $(median <"$W/ttfb_direct")"
echo "masscan --banners x$SOURCES sources, ports 80,22, /24: flows $(median <"$W/flows_masscan"), bindings $(median <"$W/bind_masscan") (bound: sources x ports = $((SOURCES * 2))), reduction flows/bindings $(median <"$W/red_masscan")x"
echo "nmap -sT, ports 80,22, /24, 1 source: reduction flows/bindings $(median <"$W/red_nmap")x"
FG_FINISHED=1
FG_PASSED=1
exit 0
