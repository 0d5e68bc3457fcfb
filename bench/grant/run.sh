#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Grant benchmark: what a grant per answer costs.
#
#   perf 10.53.0.2, fd53::2 ---- 10.53.0.1, fd53::1 fg    (fluxgated, nft backend, workers: 2)
#   perf 10.53.1.2          ---- 10.53.1.1      knot  (knotd, udp-workers 2)
#
# In one run, each figure the median of RUNS runs:
#   1. answers/s (dnsperf, no rate limit), side by side and interleaved:
#      Knot static (www.example.test A), fluxgated static (the production
#      build: nft backend, privilege separation), fluxgated granted with
#      exact-client scope (svc.example.test A from a policy.direct source,
#      a fresh pool address per answer, committed before the answer),
#      granted with ECS scope (the same name from a policy.resolvers source
#      with ECS 10.53.0.0/24: a subnet grant per answer) and granted AAAA
#      over IPv6 (random IIDs of a /64 pool). With PIN=1 (default) the
#      server (fluxgated, both processes, workers: 1; Knot udp-workers: 1)
#      runs on CPU 1 and dnsperf on CPU 0 (taskset): answers/s per server
#      core. The client's CPU (% of one core, /usr/bin/time) is printed
#      next to each figure: a client near 100% is the bottleneck, not the
#      server. Address-less answers (SERVFAIL, and fluxgated's
#      noaddr_by_cause counters) are printed per run;
#   2. grant latency p50/p99, measured on the client side by grant_lat.c
#      (query sent -> answer received, CLOCK_MONOTONIC; the veth and client
#      add a few microseconds), unloaded (1 query in flight) and loaded (32
#      in flight: the "light client"), granted vs static; then the same
#      probe (1 in flight) while dnsperf offers LOADRATE (100k/s) granted
#      queries from another source;
#   3. insert cost at ~1k vs ~1M live grants: grant latency of 1000 granted
#      AAAA answers (1 in flight) with the IPv6 grant map nearly empty, then
#      again after 1M long-lived grants were made through the daemon
#      (grant_lat -P: pre.example.test AAAA, each from a fresh source of a
#      /64, so each a new exact grant), with kernel memory (/proc/meminfo
#      Slab) before and after those 1M grants;
#   4. the kernel-only view: bench/grant/nft_insert.c (the nft backend
#      without the daemon, in a private namespace): batch insert rate with
#      few vs 1M live grants, one-grant transactions, slab per grant.
# Ends with a summary table. Not part of `make check`. PIN=0: nothing
# pinned, workers: 2 and udp-workers: 2 (the unpinned ratios).
#
# Env: FLUXGATED, RUNS (3), DURATION (10 s), CLIENTS (dnsperf -c, 4),
#      OUTSTANDING (dnsperf -q, 200), PRELOAD (1000000), PIN (1),
#      LOADRATE (100000), NICE (-10: servers and client alike), PARTS (1234: which parts run; 1 is always run),
#      OUT (append the table to this file).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-grant
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
PRELOAD=${PRELOAD:-1000000}
PIN=${PIN:-1}
LOADRATE=${LOADRATE:-100000}
PARTS=${PARTS:-1234}
OUT=${OUT:-}
# NICE: the servers and the client alike run at this nice level, so that
# the other processes of a shared machine take less of their CPU (a
# server with more threads gets more of a contended core than one with
# fewer: that, not the code, decides a run otherwise). "" to leave it.
NICE=${NICE:--10}
if [ "$PIN" = 1 ]; then
	WORKERS=1 SRV_TASKSET="taskset -c 1" CLI_TASKSET="taskset -c 0"
else
	WORKERS=2 SRV_TASKSET="" CLI_TASKSET=""
fi
if [ -n "$NICE" ]; then
	SRV_TASKSET="nice -n $NICE $SRV_TASKSET" CLI_TASKSET="nice -n $NICE $CLI_TASKSET"
fi
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}

need_root
need_cmd ip dnsperf knotd kdig ss gcc pkg-config nft taskset /usr/bin/time
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"
[ "$RUNS" -ge 1 ] && [ "$DURATION" -ge 1 ] || die "RUNS and DURATION must be >= 1"

# ------------------------------------------------------------ tools
LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/grant_lat.c" || die "cannot build grant_lat"
INS=""
if [ -f "$HERE/nft_insert.c" ]; then
	INS="$FG_WORK/nft_insert"
	# shellcheck disable=SC2046
	gcc -std=c11 -D_GNU_SOURCE -O2 -I"$FG_REPO/src" "$HERE/nft_insert.c" \
		"$FG_REPO/build/libfluxgated.a" "$FG_REPO/build/libfluxgate.a" \
		$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack) -lyaml -lcrypto -ljansson \
		-pthread -o "$INS" 2>"$FG_WORK/nft_insert.build.log" \
		|| { log "nft_insert does not build (see $FG_WORK/nft_insert.build.log): skipping part 4"; INS=""; }
fi

# ------------------------------------------------------------ topology
ns_add perf fg knot
veth_link perf fg0 10.53.0.2/24,fd53::2/64 fg eth0 10.53.0.1/24,fd53::1/64
addr_add perf fg0 10.53.0.3/24   # the "resolver" (ECS)
addr_add perf fg0 10.53.0.4/24   # the latency probe under load
# two /64s of client sources for grant_lat -P (a fresh source, so a fresh
# exact grant, per query): local in perf, routed there from fg
for p6 in fd53:0:0:1:: fd53:0:0:2::; do
	nsx perf ip -6 route add local "$p6/64" dev lo
	nsx fg ip -6 route add "$p6/64" via fd53::2
done
veth_link perf kn0 10.53.1.2/24 knot eth0 10.53.1.1/24

KDIR="$FG_WORK/knot"
mkdir -p "$KDIR"
zones_files "$KDIR"
knot_conf "$KDIR" "$WORKERS" 1 "10.53.1.1@53"
# shellcheck disable=SC2086
start_bg knotd knot $SRV_TASKSET knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID

CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<CONF
server:
  listen: [ "10.53.0.1@53", "fd53::1@53" ]
  user: nobody
  workers: $WORKERS
control:
  socket: "$CTL"
log:
  level: warning
pool:
  - id: svc4
    prefix: 198.18.0.0/15
  - id: svc6
    prefix: 2001:db8:100::/64
  - id: pre6
    prefix: 2001:db8:200::/64
service:
  - id: svc
    name: svc.example.test
    backend: [ 10.53.9.9, "fd53:9::9" ]
    ports: [ any ]
    pool: [ svc4, svc6 ]
    ttl: 1s
    grace: 1s
    pin: 10s
  - id: pre
    name: pre.example.test
    backend: "fd53:9::9"
    ports: [ any ]
    pool: pre6
    ttl: 1h
    grace: 0s
    pin: 10s
policy:
  direct: [ 10.53.0.2/32, 10.53.0.4/32, "fd53::/48" ]
  resolvers: [ 10.53.0.3/32 ]
rrl:
  rate: 0          # one benchmark source: no response rate limiting
nat:
  backend: nft
  grant-set-size: 2M
  pin-set-size: 64k
CONF
	zones_yaml
} >"$CONF"
"$FLUXGATED" --check -c "$CONF" >/dev/null || die "bench config rejected: $("$FLUXGATED" --check -c "$CONF" 2>&1 | tail -n 5)"
if [ -n "$SRV_TASKSET" ]; then
	FG_REAL=$FLUXGATED
	FLUXGATED="$FG_WORK/fluxgated-pinned"
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$SRV_TASKSET" "$FG_REAL" >"$FLUXGATED"
	chmod +x "$FLUXGATED"
fi
start_fluxgated fg "$CONF"
wait_dns perf 10.53.1.1 example.test 20 "$KNOT_PID" || die "knotd does not answer: $(tail -n 20 "$FG_WORK/knotd.log")"
wait_dns perf 10.53.0.1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"

a=$(nsx perf kdig @10.53.0.1 +short svc.example.test A)
[[ $a == 198.1[89].* ]] || die "svc.example.test A gives no pool address: [$a]"
[ "$(nsx perf kdig @10.53.0.1 +short www.example.test A)" = "$(nsx perf kdig @10.53.1.1 +short www.example.test A)" ] \
	|| die "fluxgated and Knot answer www.example.test A differently"

map_count() { nsx fg nft list map inet fluxgate "$1" 2>/dev/null | grep -c ' : '; }
grants_total() { nsx fg "$FLUXCTL" -s "$CTL" --json stats 2>/dev/null | python3 -c '
import json, sys
g = json.load(sys.stdin).get("grants", {})
print(sum(int(g.get(k, 0)) for k in ("client", "net", "any")))' 2>/dev/null || echo 0; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }

# ------------------------------------------------------------ 1. answers/s
noaddr() { nsx fg "$FLUXCTL" -s "$CTL" --json stats 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin).get("dns", {})
c = d.get("noaddr_by_cause", {})
print(" ".join("%s=%s" % (k, v) for k, v in sorted(c.items())), "failures=%s" % d.get("grant_failures", "?"))' 2>/dev/null; }
echo "svc.example.test A" >"$FG_WORK/q-grant.txt"
echo "svc.example.test AAAA" >"$FG_WORK/q-grant6.txt"
echo "www.example.test A" >"$FG_WORK/q-static.txt"
# dnsperf_run LABEL ADDR QFILE [DNSPERF ARGS...] -> queries/s on stdout;
# logs the loss, rcodes, the client's CPU and fluxgated's address-less
# answers of the run
dnsperf_run() {
	local label=$1 addr=$2 qf=$3; shift 3
	local f="$FG_WORK/dnsperf-$label.txt" qps cpu na0 na1
	na0=$(noaddr)
	# shellcheck disable=SC2086
	nsx perf /usr/bin/time -f 'client_cpu=%P' -o "$f.time" $CLI_TASKSET dnsperf -s "$addr" -d "$qf" \
		-l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 "$@" >"$f" 2>&1
	na1=$(noaddr)
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$f")
	cpu=$(sed -n 's/.*client_cpu=\([0-9]*\)%.*/\1/p' "$f.time")
	[ -n "$qps" ] || die "dnsperf ($label) gave no result: $(tail -n 5 "$f")"
	echo "${cpu:-?}" >"$f.cpu"
	log "$label: $qps answers/s, client CPU ${cpu:-?}%, lost $(awk '/Queries lost:/ {print $3 " " $4}' "$f"), $(sed -n 's/.*Response codes: *//p' "$f")" >&2
	[ "$addr" = 10.53.1.1 ] || log "  $label: fluxgated address-less answers before: [$na0] after: [$na1]" >&2
	echo "$qps"
}
declare -A R CPU
KINDS="knot static exact ecs aaaa"
log "1. answers/s: $RUNS runs x ${DURATION}s each, dnsperf -c $CLIENTS -q $OUTSTANDING, PIN=$PIN"
for ((i = 1; i <= RUNS; i++)); do
	R[knot]+=" $(dnsperf_run "knot-$i" 10.53.1.1 "$FG_WORK/q-static.txt")"
	R[static]+=" $(dnsperf_run "static-$i" 10.53.0.1 "$FG_WORK/q-static.txt")"
	R[exact]+=" $(dnsperf_run "exact-$i" 10.53.0.1 "$FG_WORK/q-grant.txt" -a 10.53.0.2)"
	R[ecs]+=" $(dnsperf_run "ecs-$i" 10.53.0.1 "$FG_WORK/q-grant.txt" -a 10.53.0.3 -E 8:000118000a3500)"
	R[aaaa]+=" $(dnsperf_run "aaaa-$i" fd53::1 "$FG_WORK/q-grant6.txt" -a fd53::2)"
	sleep 4   # the round's grants lapse and are collected before the next static runs
	for k in knot static exact ecs aaaa; do CPU[$k]+=" $(cat "$FG_WORK/dnsperf-$k-$i.txt.cpu")"; done
done
declare -A MED MCPU
for k in $KINDS; do
	# shellcheck disable=SC2086
	MED[$k]=$(printf '%s\n' ${R[$k]} | median)
	# shellcheck disable=SC2086
	MCPU[$k]=$(printf '%s\n' ${CPU[$k]} | grep -v '?' | median)
done
G_QPS=${MED[exact]} S_QPS=${MED[static]} K_QPS=${MED[knot]}
NOADDR_END=$(noaddr)
sf=$(grep -h 'SERVFAIL' "$FG_WORK"/dnsperf-{exact,ecs,aaaa}-*.txt 2>/dev/null | grep -oE 'SERVFAIL [0-9]+' | awk '{s += $2} END {print s + 0}')

# ------------------------------------------------------------ 2. latency
if [[ $PARTS == *2* ]]; then
# lat_runs LABEL ARGS... -> sets P50 P99 QPS (medians over RUNS)
lat_runs() {
	local label=$1; shift
	local r p50s=() p99s=() qpss=() out
	for ((i = 1; i <= RUNS; i++)); do
		# shellcheck disable=SC2086
		out=$(nsx perf $CLI_TASKSET "$LAT" "$@")
		log "$label run $i: $out" >&2
		[ "$(field with_addr "$out")" = "$(field answered "$out")" ] || log "WARNING: $label: answers without an address: $out" >&2
		p50s+=("$(field p50_us "$out")"); p99s+=("$(field p99_us "$out")"); qpss+=("$(field qps "$out")")
	done
	P50=$(printf '%s\n' "${p50s[@]}" | median)
	P99=$(printf '%s\n' "${p99s[@]}" | median)
	QPS=$(printf '%s\n' "${qpss[@]}" | median)
}
log "2. latency (client side, grant_lat): 5 s per run"
sleep 3   # let the svc grants of part 1 expire (ttl 1 s + grace 1 s)
lat_runs granted-q1 -s 10.53.0.1 -n svc.example.test -t A -d 5 -q 1
GL1_50=$P50 GL1_99=$P99 GL1_Q=$QPS
lat_runs static-q1 -s 10.53.0.1 -n www.example.test -t A -d 5 -q 1
SL1_50=$P50 SL1_99=$P99 SL1_Q=$QPS
lat_runs granted-q32 -s 10.53.0.1 -n svc.example.test -t A -d 5 -q 32
GL32_50=$P50 GL32_99=$P99 GL32_Q=$QPS
lat_runs static-q32 -s 10.53.0.1 -n www.example.test -t A -d 5 -q 32
SL32_50=$P50 SL32_99=$P99 SL32_Q=$QPS
lat_runs knot-q1 -s 10.53.1.1 -n www.example.test -t A -d 5 -q 1
KL1_50=$P50 KL1_99=$P99
# the probe while dnsperf offers LOADRATE granted answers/s (another source)
sleep 3
# shellcheck disable=SC2086
nsx perf $CLI_TASKSET dnsperf -s 10.53.0.1 -d "$FG_WORK/q-grant.txt" -a 10.53.0.2 -Q "$LOADRATE" \
	-l $((RUNS * 6 + 4)) -c "$CLIENTS" -q "$OUTSTANDING" -t 2 >"$FG_WORK/dnsperf-load.txt" 2>&1 &
LOAD_PID=$!
sleep 2
lat_runs granted-q1-loaded -s 10.53.0.1 -n svc.example.test -t A -d 5 -q 1 -b 10.53.0.4
GLL_50=$P50 GLL_99=$P99
wait "$LOAD_PID"
LOAD_QPS=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$FG_WORK/dnsperf-load.txt")
log "load during the probe: $LOAD_QPS answers/s of $LOADRATE offered, $(sed -n 's/.*Response codes: *//p' "$FG_WORK/dnsperf-load.txt")"

fi
# ------------------------------------------------------------ 3. 1k vs 1M live
if [[ $PARTS == *3* ]]; then
log "3. insert cost at ~1k vs ~$PRELOAD live grants (IPv6 exact-client map)"
sleep 3
lat_runs v6-few -s fd53::1 -n svc.example.test -t AAAA -c 1000 -q 1 -P fd53:0:0:2::
F50=$P50 F99=$P99
LIVE_FEW=$(map_count grant_client6)
echo "pre.example.test AAAA" >"$FG_WORK/q-pre.txt"
slab0=$(slab_kb)
t0=$(date +%s.%N)
# shellcheck disable=SC2086
nsx perf $CLI_TASKSET "$LAT" -s fd53::1 -n pre.example.test -t AAAA -c "$PRELOAD" -q "$OUTSTANDING" \
	-P fd53:0:0:1:: >"$FG_WORK/preload.txt" 2>&1
t1=$(date +%s.%N)
sleep 1
slab1=$(slab_kb)
LIVE_MANY=$(map_count grant_client6)
PRE_QPS=$(field qps "$(cat "$FG_WORK/preload.txt")")
log "preload: $(cat "$FG_WORK/preload.txt")"
log "preload: $PRELOAD queries in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s ($PRE_QPS/s), $LIVE_MANY live IPv6 grants, slab +$((slab1 - slab0)) kB"
SLAB_PER=$(awk -v d=$((slab1 - slab0)) -v n="$((LIVE_MANY - LIVE_FEW))" 'BEGIN { if (n > 0) printf "%.0f", d * 1024 / n; else print "n/a" }')
lat_runs v6-many -s fd53::1 -n svc.example.test -t AAAA -c 1000 -q 1 -P fd53:0:0:2::
M50=$P50 M99=$P99

fi
fluxgated_alive "fluxgated survived the benchmark"
stop_fluxgated "fluxgated stopped cleanly after the benchmark"
stop_bg "$KNOT_PID"
nsx fg nft delete table inet fluxgate 2>/dev/null   # free the 1M elements now

# ------------------------------------------------------------ 4. kernel only
INS_OUT=""
if [[ $PARTS == *4* ]]; then
if [ -n "$INS" ]; then
	log "4. nft_insert: $PRELOAD grants in batches of 64 (kernel only, private namespace)"
	INS_OUT=$("$INS" "$PRELOAD" 64 2>&1) || log "nft_insert failed: $INS_OUT"
	printf '%s\n' "$INS_OUT" | sed 's/^/    /'
fi

fi
# ------------------------------------------------------------ summary
# figures of the parts not run
for v in GL1_Q GL1_50 GL1_99 SL1_Q SL1_50 SL1_99 KL1_50 KL1_99 GL32_Q GL32_50 GL32_99 SL32_Q SL32_50 \
	SL32_99 GLL_50 GLL_99 LOAD_QPS LIVE_FEW LIVE_MANY F50 F99 M50 M99 SLAB_PER PRE_QPS; do
	[ -n "${!v:-}" ] || printf -v "$v" '%s' -
done
row() { printf '  %-44s %9s %8s %8s\n' "$@"; }
result=$(
	echo "grant bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r), medians of $RUNS runs)"
	row "" "answers/s" "p50 us" "p99 us"
	echo "  PIN=$PIN (server on CPU 1, dnsperf on CPU 0 when 1), workers $WORKERS, nice ${NICE:-0}; client CPU % in ()"
	row "knot static (A)" "${MED[knot]} (${MCPU[knot]}%)" "" ""
	row "fluxgated static (A), nft + privsep" "${MED[static]} (${MCPU[static]}%)" "" ""
	row "fluxgated granted exact (A)" "${MED[exact]} (${MCPU[exact]}%)" "" ""
	row "fluxgated granted ECS /24 (A)" "${MED[ecs]} (${MCPU[ecs]}%)" "" ""
	row "fluxgated granted AAAA, random IIDs" "${MED[aaaa]} (${MCPU[aaaa]}%)" "" ""
	for k in $KINDS; do echo "    runs $k:${R[$k]}"; done
	row "fluxgated granted A, 1 in flight" "$GL1_Q" "$GL1_50" "$GL1_99"
	row "fluxgated static A, 1 in flight" "$SL1_Q" "$SL1_50" "$SL1_99"
	row "knot static A, 1 in flight" "-" "$KL1_50" "$KL1_99"
	row "fluxgated granted A, 32 in flight" "$GL32_Q" "$GL32_50" "$GL32_99"
	row "fluxgated static A, 32 in flight" "$SL32_Q" "$SL32_50" "$SL32_99"
	row "granted A, 1 in flight, ${LOAD_QPS}/s load" "-" "$GLL_50" "$GLL_99"
	row "granted AAAA, $LIVE_FEW live v6 grants" "-" "$F50" "$F99"
	row "granted AAAA, $LIVE_MANY live v6 grants" "-" "$M50" "$M99"
	echo "  latency: client side (grant_lat.c), query sent -> answer received"
	echo "  kernel slab per grant through the daemon ($PRELOAD grants, grant + backend element, IPv6): ${SLAB_PER} B"
	echo "  preload rate (grant_lat -P, a new exact grant per answer, AAAA): $PRE_QPS grants/s"
	echo "  address-less answers: SERVFAIL in the granted dnsperf runs: $sf; fluxgated at the end of part 1: $NOADDR_END"
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
	echo "  ratios: granted exact/static $(ratio "$G_QPS" "$S_QPS"), static/knot $(ratio "$S_QPS" "$K_QPS"), granted exact/knot $(ratio "$G_QPS" "$K_QPS"), ECS/knot $(ratio "${MED[ecs]}" "$K_QPS"), AAAA/knot $(ratio "${MED[aaaa]}" "$K_QPS")"
	echo "  light client (grant_lat, 32 in flight): granted/static $(ratio "$GL32_Q" "$SL32_Q")"
)
if [ -n "$INS_OUT" ]; then
	result+=$'\n  kernel only (nft_insert.c, batches of 64):\n'
	result+=$(printf '%s\n' "$INS_OUT" | grep -E 'rate|slab|transaction|grants:' | sed 's/^/    /')
fi
echo
echo "$result"
[ -n "$OUT" ] && echo "$result" >>"$OUT"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ]
