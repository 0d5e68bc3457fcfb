#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS throughput: dnsperf against fluxgated and against Knot DNS serving the
# same zones (tests/netns/lib.sh), in the same run, each server in its own
# network namespace behind a veth, dnsperf in a third one:
#
#   perf 10.53.0.2 ---- 10.53.0.1 fg    (fluxgated, workers: 2)
#   perf 10.53.1.2 ---- 10.53.1.1 knot  (knotd, udp-workers 2, tcp-workers 1,
#                                        background-workers 1)
#
# Each server gets RUNS runs of DURATION seconds (interleaved: fg, knot, fg,
# ...), with no rate limit (-Q unset) so dnsperf finds the maximum; the
# median queries/s of each and the ratio fluxgated/Knot are printed.
# PIN=0 (default): nothing is pinned, on a 2-core machine dnsperf shares
# the CPUs with the server under test, the same for both (workers: 2,
# udp-workers 2). PIN=1: each server on CPU 1 (workers: 1, udp-workers 1),
# dnsperf on CPU 0: answers/s per server core.
# BACKEND=nft (default): the production setup, privilege separation and
# the nft data plane (with a service nobody asks for); BACKEND=memory: the
# pure DNS front (--test-memory-backend, no kernel state).
#
# Env: FLUXGATED (default build/fluxgated), RUNS (3), DURATION (10 s),
#      CLIENTS (dnsperf -c, 4), OUTSTANDING (dnsperf -q, 200),
#      THREADS (dnsperf -T, 1), TRANSPORT (udp|tcp, udp), BACKEND (nft),
#      PIN (0), OUT (also append
#      the result lines to this file).
# Usage: make bench   or   sudo bench/dns/run.sh

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-dns
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
THREADS=${THREADS:-1}
TRANSPORT=${TRANSPORT:-udp}
BACKEND=${BACKEND:-nft}
PIN=${PIN:-0}
OUT=${OUT:-}
if [ "$PIN" = 1 ]; then
	WORKERS=1 SRV_TASKSET="taskset -c 1" CLI_TASKSET="taskset -c 0"
else
	WORKERS=2 SRV_TASKSET="" CLI_TASKSET=""
fi

need_root
need_cmd ip dnsperf knotd kdig ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"
[ "$RUNS" -ge 1 ] && [ "$DURATION" -ge 1 ] || die "RUNS and DURATION must be >= 1"

ns_add perf fg knot
veth_link perf fg0 10.53.0.2/24 fg eth0 10.53.0.1/24
veth_link perf kn0 10.53.1.2/24 knot eth0 10.53.1.1/24

# ------------------------------------------------------------ servers
KDIR="$FG_WORK/knot"
mkdir -p "$KDIR"
zones_files "$KDIR"
knot_conf "$KDIR" "$WORKERS" 1 "10.53.1.1@53"
# shellcheck disable=SC2086
start_bg knotd knot $SRV_TASKSET knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID

CONF="$FG_WORK/fluxgated.conf"
{
	cat <<CONF
server:
  listen: [ "10.53.0.1@53" ]
  workers: $WORKERS
control:
  socket: "$FG_WORK/control.sock"
log:
  level: warning
rrl:
  rate: 0          # one benchmark source: no response rate limiting (Knot has none)
CONF
	if [ "$BACKEND" = memory ]; then
		printf 'nat:\n  backend: memory\n'
	else
		# the production setup: privilege separation, the nft data plane
		# (its DNS notrack chains see every query and answer), a service
		# that this benchmark does not ask for
		cat <<CONF
pool:
  - id: p4
    prefix: 198.18.0.0/24
service:
  - id: svc
    name: svc.example.test
    backend: 10.53.9.9
    ports: [ tcp/80 ]
    pool: p4
policy:
  direct: [ 10.53.0.0/24 ]
nat:
  backend: nft
CONF
	fi
	zones_yaml
} >"$CONF"
if [ "$BACKEND" = memory ]; then
	FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
else
	sed -i 's/^server:$/server:\n  user: nobody/' "$CONF"
fi
if [ -n "$SRV_TASKSET" ]; then
	FG_REAL=$FLUXGATED
	FLUXGATED="$FG_WORK/fluxgated-pinned"
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$SRV_TASKSET" "$FG_REAL" >"$FLUXGATED"
	chmod +x "$FLUXGATED"
fi
start_fluxgated fg "$CONF"

wait_dns perf 10.53.1.1 example.test 20 "$KNOT_PID" || die "knotd does not answer: $(tail -n 20 "$FG_WORK/knotd.log")"
wait_dns perf 10.53.0.1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"

# ------------------------------------------------------------ query mix
# Names that exist, most common types first (weights by repetition).
QF="$FG_WORK/queries.txt"
{
	for _ in 1 2 3 4; do
		echo "www.example.test A"
		echo "www.example.test AAAA"
		echo "mail.example.test A"
	done
	for _ in 1 2; do
		echo "example.test MX"
		echo "ns1.example.test A"
		echo "mail.example.test AAAA"
		echo "ftp.example.test A"
	done
	echo "example.test NS"
	echo "example.test SOA"
	echo "example.test TXT"
	echo "_sip._udp.example.test SRV"
	echo "sip.example.test A"
	echo "alias.example.test A"
	echo "80.0.0.10.in-addr.arpa PTR"
	echo "25.0.0.10.in-addr.arpa PTR"
} >"$QF"

# Both servers must give the same answers to the mix, or the race is unfair.
while read -r name type; do
	a=$(nsx perf kdig @10.53.1.1 +short "$name" "$type" | sort)
	b=$(nsx perf kdig @10.53.0.1 +short "$name" "$type" | sort)
	[ -n "$a" ] || die "Knot gives no answer to $name $type"
	[ "$a" == "$b" ] || die "answers differ for $name $type: knot [$a] fluxgated [$b]"
done < <(sort -u "$QF")
log "both servers answer the $(sort -u "$QF" | wc -l) distinct queries of the mix identically"

# ------------------------------------------------------------ runs
# perf_run ADDR LABEL N -> prints queries/s; keeps dnsperf's output
perf_run() {
	local addr=$1 label=$2 n=$3 f qps lost
	f="$FG_WORK/dnsperf-$label-$n.txt"
	# shellcheck disable=SC2086
	nsx perf $CLI_TASKSET dnsperf -s "$addr" -d "$QF" -l "$DURATION" -c "$CLIENTS" -T "$THREADS" \
		-q "$OUTSTANDING" -m "$TRANSPORT" -t 2 >"$f" 2>&1
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$f")
	lost=$(awk '/Queries lost:/ {print $3 " " $4}' "$f")
	[ -n "$qps" ] || die "dnsperf against $label gave no result: $(tail -n 5 "$f")"
	log "run $n $label: $qps q/s, lost $lost" >&2
	echo "$qps"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

fg_runs=()
knot_runs=()
log "dnsperf: $RUNS runs x ${DURATION}s per server, -c $CLIENTS -T $THREADS -q $OUTSTANDING, $TRANSPORT"
for ((i = 1; i <= RUNS; i++)); do
	fg_runs+=("$(perf_run 10.53.0.1 fluxgated "$i")")
	knot_runs+=("$(perf_run 10.53.1.1 knot "$i")")
done

fg_med=$(printf '%s\n' "${fg_runs[@]}" | median)
kn_med=$(printf '%s\n' "${knot_runs[@]}" | median)
ratio=$(awk -v a="$fg_med" -v b="$kn_med" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')

fluxgated_alive "fluxgated survived the benchmark"
stop_fluxgated "fluxgated stopped cleanly after the benchmark"
stop_bg "$KNOT_PID"

result=$(cat <<RES
dns bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $TRANSPORT, ${DURATION}s x $RUNS, dnsperf -c $CLIENTS -T $THREADS -q $OUTSTANDING, fluxgated backend $BACKEND, PIN=$PIN, workers $WORKERS)
  fluxgated: median $(printf '%.0f' "$fg_med") q/s   runs: ${fg_runs[*]}
  knot:      median $(printf '%.0f' "$kn_med") q/s   runs: ${knot_runs[*]}
  ratio fluxgated/knot: $ratio
RES
)
echo "$result"
[ -n "$OUT" ] && echo "$result" >>"$OUT"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ]
