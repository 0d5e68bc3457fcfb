#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Distributed-mode benchmark: what grant before answer across machines
# costs. Side by side in one run:
#
#   standalone   fluxgated owns the data plane (nft, privilege separated)
#   ctl+N        fluxgated role controller, N agents (N = 1, 2, 4 by
#                default), each its own namespace, nftables data plane and
#                fluxgated role agent, every grant on every agent (all serve
#                the pool), TLS 1.3 PSK over a veth
#
#   perf 10.60.0.2 ---- 10.60.0.1 fg (standalone or controller, workers: 2)
#                       fg 10.61.K.1 ---- 10.61.K.2 agent K (workers: 1)
#
# Per configuration, each figure the median of RUNS runs of DURATION s:
#   - granted answers/s: grant_lat (bench/grant/grant_lat.c) with 32 in
#     flight, every answer a fresh grant committed before it left;
#   - grant latency p50/p99, query sent -> answer received: with 32 in
#     flight (loaded) and 1 in flight (unloaded).
# The machine is shared and noisy: the figures are indicative; the ratios
# against standalone, measured in the same run, are the point. Not a test.
#
# Env: FLUXGATED, RUNS (3), DURATION (5), AGENTS ("1 2 4"), OUT (append
#      the table to this file).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-dist
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
AGENTS=${AGENTS:-"1 2 4"}
OUT=${OUT:-}

need_root
need_cmd ip kdig gcc openssl
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"

LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/../grant/grant_lat.c" || die "cannot build grant_lat"

MAXA=0
for n in $AGENTS; do [ "$n" -gt "$MAXA" ] && MAXA=$n; done
ns_add perf fg
veth_link perf p0 10.60.0.2/24 fg f0 10.60.0.1/24
for ((k = 1; k <= MAXA; k++)); do
	ns_add "a$k"
	veth_link fg "fa$k" "10.61.$k.1/24" "a$k" e0 "10.61.$k.2/24"
	nsx "a$k" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
	openssl rand -hex 32 >"$FG_WORK/a$k.psk"
	chmod 0600 "$FG_WORK/a$k.psk"
done
nsx fg sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
T=fgb$$

common() {
	cat <<EOF2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.60.0.1"
pool:
  - id: svc4
    prefix: 198.18.0.0/15
service:
  - id: svc
    name: svc.example.test
    backend: 10.60.9.9
    ports: [ any ]
    pool: svc4
    ttl: 1s
    grace: 1s
    pin: 10s
policy:
  direct: [ 10.60.0.0/24 ]
  resolvers: [ 10.60.0.250/32 ]
log:
  level: warning
rrl:
  rate: 0        # one source: the bench is not a flood
EOF2
}

standalone_conf() {
	cat <<EOF2
server:
  listen: [ "10.60.0.1@53" ]
  user: nobody
  workers: 2
nat:
  table: ${T}s
  grant-set-size: 2M
control:
  socket: $FG_WORK/fg.sock
EOF2
	common
}

controller_conf() { # controller_conf N
	cat <<EOF2
role: controller
server:
  listen: [ "10.60.0.1@53" ]
  user: nobody
  workers: 2
dist:
  id: ctl
control:
  socket: $FG_WORK/fg.sock
agent:
EOF2
	for ((k = 1; k <= $1; k++)); do
		printf '  - id: a%d\n    address: 10.61.%d.2@4700\n    psk-file: %s\n' "$k" "$k" "$FG_WORK/a$k.psk"
	done
	common
}

agent_conf() { # agent_conf K
	cat <<EOF2
role: agent
server:
  listen: [ "127.0.0.1@53" ]
  user: nobody
  workers: 1
dist:
  id: a$1
  listen: 10.61.$1.2@4700
controller:
  - id: ctl
    psk-file: $FG_WORK/a$1.psk
control:
  socket: $FG_WORK/a$1.sock
nat:
  table: ${T}a$1
  grant-set-size: 2M
EOF2
	common
}

declare -A PID=()
start_one() { start_bg "$1" "$2" "$FLUXGATED" -c "$3"; PID[$1]=$BG_PID; }
stop_all() {
	local l
	for l in "${!PID[@]}"; do stop_bg "${PID[$l]}"; done
	PID=()
}

field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# measure LABEL: RUNS x (loaded, unloaded) grant_lat runs
declare -A R_QPS R_P50 R_P99 R_U50 R_U99
measure() {
	local i out q=() p50=() p99=() u50=() u99=()
	for ((i = 1; i <= RUNS; i++)); do
		out=$(nsx perf "$LAT" -s 10.60.0.1 -n svc.example.test -t A -d "$DURATION" -q 32)
		log "$1 run $i (32 in flight): $out"
		[ "$(field with_addr "$out")" -gt 0 ] 2>/dev/null || die "$1: no granted answers: $out"
		q+=("$(field qps "$out")"); p50+=("$(field p50_us "$out")"); p99+=("$(field p99_us "$out")")
		out=$(nsx perf "$LAT" -s 10.60.0.1 -n svc.example.test -t A -d 2 -q 1)
		u50+=("$(field p50_us "$out")"); u99+=("$(field p99_us "$out")")
	done
	R_QPS[$1]=$(printf '%s\n' "${q[@]}" | median)
	R_P50[$1]=$(printf '%s\n' "${p50[@]}" | median)
	R_P99[$1]=$(printf '%s\n' "${p99[@]}" | median)
	R_U50[$1]=$(printf '%s\n' "${u50[@]}" | median)
	R_U99[$1]=$(printf '%s\n' "${u99[@]}" | median)
	log "$1: ${R_QPS[$1]} granted answers/s, loaded p50 ${R_P50[$1]} us p99 ${R_P99[$1]} us, unloaded p50 ${R_U50[$1]} us p99 ${R_U99[$1]} us"
}

wait_agents_up() { # wait_agents_up N
	local deadline=$((SECONDS + 60)) up
	while [ $SECONDS -lt $deadline ]; do
		up=$(nsx fg "$(dirname "$FLUXGATED")/fluxctl" -s "$FG_WORK/fg.sock" --json status 2>/dev/null |
			python3 -c 'import json,sys; print(sum(a["state"] == "up" for a in json.load(sys.stdin).get("agents", [])))' 2>/dev/null)
		[ "${up:-0}" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}

LABELS=(standalone)
standalone_conf >"$FG_WORK/standalone.conf"
start_one fg fg "$FG_WORK/standalone.conf"
wait_dns perf 10.60.0.1 example.test 30 "${PID[fg]}" || die "standalone does not answer: $(tail "$FG_WORK/fg.log")"
measure standalone
stop_all
for n in $AGENTS; do
	for ((k = 1; k <= n; k++)); do
		agent_conf "$k" >"$FG_WORK/a$k.conf"
		start_one "a$k" "a$k" "$FG_WORK/a$k.conf"
	done
	controller_conf "$n" >"$FG_WORK/ctl$n.conf"
	start_one fg fg "$FG_WORK/ctl$n.conf"
	wait_dns perf 10.60.0.1 example.test 30 "${PID[fg]}" || die "controller does not answer: $(tail "$FG_WORK/fg.log")"
	wait_agents_up "$n" || die "ctl+$n: agents not up"
	measure "ctl+$n"
	LABELS+=("ctl+$n")
	stop_all
	for ((k = 1; k <= n; k++)); do nsx "a$k" nft delete table inet "${T}a$k" 2>/dev/null; done
done
nsx fg nft delete table inet "${T}s" 2>/dev/null

{
	echo "distributed-mode bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r), medians of $RUNS runs x ${DURATION}s; shared machine: indicative)"
	printf '%-12s %14s %8s %12s %12s %14s %14s\n' config "granted ans/s" ratio "p50 us (32)" "p99 us (32)" "p50 us (1)" "p99 us (1)"
	for l in "${LABELS[@]}"; do
		ratio=$(awk -v a="${R_QPS[$l]}" -v b="${R_QPS[standalone]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
		printf '%-12s %14s %8s %12s %12s %14s %14s\n' "$l" "${R_QPS[$l]}" "$ratio" "${R_P50[$l]}" "${R_P99[$l]}" "${R_U50[$l]}" "${R_U99[$l]}"
	done
} | tee -a "${OUT:-/dev/null}"
FG_PASSED=1
finish
