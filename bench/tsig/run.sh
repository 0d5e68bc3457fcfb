#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The cost of TSIG (RFC 8945) on queries: dnsperf against fluxgated and
# against Knot DNS serving the same zones, each unsigned and signed with
# one hmac-sha256 key (dnsperf -y: every query signed, every answer
# verified by dnsperf), in the same run, interleaved:
#
#   perf 10.54.0.2 ---- 10.54.0.1 fg    (fluxgated, workers: 2)
#   perf 10.54.1.2 ---- 10.54.1.1 knot  (knotd, udp-workers 2)
#
# First the cost per query of verify + sign (bench/tsig/tsig_cost.c, one
# thread, p50/p99). Then the median queries/s of each of the four, the
# signed/unsigned ratio of each server and fluxgated/Knot signed. Static
# answers only (nat: memory, no service): what TSIG adds, not the grant
# path. dnsperf signs and verifies too, on the same 2 CPUs: the ratios
# include the client's share.
#
# Env: FLUXGATED, RUNS (3), DURATION (5 s), CLIENTS (4), OUTSTANDING (200),
#      OUT (append the result lines to this file).
# Usage: sudo bench/tsig/run.sh

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-tsig
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
OUT=${OUT:-}
KEY_NAME=bench-key
KEY_SECRET=YmVuY2gta2V5LWZvci1mbHV4Z2F0ZS10c2lnLWJlbmNobWFyaw==

need_root
need_cmd ip dnsperf knotd kdig ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"

LIB="$(dirname "$FLUXGATED")/libfluxgate.a"
[ -f "$LIB" ] || die "no $LIB (make all)"

# ------------------------------------------------------------ 1. cost per query
gcc -std=c11 -D_GNU_SOURCE -O2 -I"$FG_REPO/src" -o "$FG_WORK/tsig_cost" "$HERE/tsig_cost.c" "$LIB" \
	$(pkg-config --libs libcrypto) -pthread || die "cannot build tsig_cost"
COST=$("$FG_WORK/tsig_cost" "${N:-20000}")
printf '%s\n' "$COST"

# ------------------------------------------------------------ 2. throughput
ns_add perf fg knot
veth_link perf fg0 10.54.0.2/24 fg eth0 10.54.0.1/24
veth_link perf kn0 10.54.1.2/24 knot eth0 10.54.1.1/24

KDIR="$FG_WORK/knot"
mkdir -p "$KDIR"
zones_files "$KDIR"
knot_conf "$KDIR" 2 1 "10.54.1.1@53"
# Knot verifies a query's TSIG against the keys of the zone's query ACL:
# one rule for the key, one that lets unsigned queries in as before (Knot
# wants key and acl defined before the template that uses them)
KNOT_TSIG=$(cat <<KNOT
key:
  - id: $KEY_NAME
    algorithm: hmac-sha256
    secret: $KEY_SECRET
acl:
  - id: q-key
    key: $KEY_NAME
    action: query
  - id: q-any
    address: 0.0.0.0/0
    action: query
KNOT
)
awk -v pre="$KNOT_TSIG" '/^template:$/ { print pre } { print } /^  - id: default$/ { print "    acl: [ q-key, q-any ]" }' \
	"$KDIR/knot.conf" >"$KDIR/knot.conf.new" && mv "$KDIR/knot.conf.new" "$KDIR/knot.conf"
start_bg knotd knot knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID

CONF="$FG_WORK/fluxgated.conf"
{
	cat <<CONF
server:
  listen: [ "10.54.0.1@53" ]
  workers: 2
control:
  socket: "$FG_WORK/control.sock"
log:
  level: warning
nat:
  backend: memory
key:
  - id: $KEY_NAME
    algorithm: hmac-sha256
    secret: $KEY_SECRET
CONF
	zones_yaml
} >"$CONF"
FG_FLUXGATED_ARGS=--test-memory-backend
start_fluxgated fg "$CONF"

wait_dns perf 10.54.1.1 example.test 20 "$KNOT_PID" || die "knotd does not answer: $(tail -n 20 "$FG_WORK/knotd.log")"
wait_dns perf 10.54.0.1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"

QF="$FG_WORK/queries.txt"
{
	for _ in 1 2 3 4; do
		echo "www.example.test A"
		echo "www.example.test AAAA"
		echo "mail.example.test A"
	done
	echo "example.test MX"
	echo "example.test SOA"
	echo "example.test NS"
	echo "alias.example.test A"
} >"$QF"

# both sign their answers: kdig verifies each
for s in 10.54.0.1 10.54.1.1; do
	out=$(nsx perf kdig @$s -y "hmac-sha256:$KEY_NAME:$KEY_SECRET" www.example.test A 2>&1)
	grep -q 'TSIG PSEUDOSECTION' <<<"$out" && ! grep -Eq 'WARNING|failed' <<<"$out" \
		|| die "$s does not sign its answers: $out"
done
log "both servers verify the key and sign their answers"

perf_run() { # ADDR LABEL N [KEYARGS...] -> q/s
	local addr=$1 label=$2 n=$3 f qps lost; shift 3
	f="$FG_WORK/dnsperf-$label-$n.txt"
	nsx perf dnsperf -s "$addr" -d "$QF" -l "$DURATION" -c "$CLIENTS" \
		-q "$OUTSTANDING" -t 2 "$@" >"$f" 2>&1
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$f")
	lost=$(awk '/Queries lost:/ {print $3 " " $4}' "$f")
	[ -n "$qps" ] || die "dnsperf against $label gave no result: $(tail -n 5 "$f")"
	log "run $n $label: $qps q/s, lost $lost" >&2
	echo "$qps"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

Y=(-y "hmac-sha256:$KEY_NAME:$KEY_SECRET")
fg_u=() fg_s=() kn_u=() kn_s=()
for ((i = 1; i <= RUNS; i++)); do
	fg_u+=("$(perf_run 10.54.0.1 fluxgated "$i")")
	fg_s+=("$(perf_run 10.54.0.1 fluxgated-tsig "$i" "${Y[@]}")")
	kn_u+=("$(perf_run 10.54.1.1 knot "$i")")
	kn_s+=("$(perf_run 10.54.1.1 knot-tsig "$i" "${Y[@]}")")
done
m() { printf '%s\n' "$@" | median; }
fu=$(m "${fg_u[@]}"); fs=$(m "${fg_s[@]}"); ku=$(m "${kn_u[@]}"); ks=$(m "${kn_s[@]}")
r() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

fluxgated_alive "fluxgated survived the benchmark"
stop_fluxgated "fluxgated stopped cleanly after the benchmark"
stop_bg "$KNOT_PID"

result=$(cat <<RES
tsig bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, udp, ${DURATION}s x $RUNS, dnsperf -c $CLIENTS -q $OUTSTANDING, hmac-sha256)
  fluxgated unsigned: median $(printf '%.0f' "$fu") q/s   runs: ${fg_u[*]}
  fluxgated TSIG:     median $(printf '%.0f' "$fs") q/s   runs: ${fg_s[*]}
  knot unsigned:      median $(printf '%.0f' "$ku") q/s   runs: ${kn_u[*]}
  knot TSIG:          median $(printf '%.0f' "$ks") q/s   runs: ${kn_s[*]}
  TSIG/unsigned: fluxgated $(r "$fs" "$fu"), knot $(r "$ks" "$ku"); fluxgated/knot with TSIG: $(r "$fs" "$ks")
$(printf '%s\n' "$COST" | sed 's/^/  /')
RES
)
echo "$result"
[ -n "$OUT" ] && echo "$result" >>"$OUT"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ]
