#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNSSEC benchmark (not a test; figures depend on the machine):
#   1. sign cost per answer: bench/dnssec/sign_cost.c (one thread, fresh
#      address each time, as a granted answer pays it), p50/p99 per
#      algorithm;
#   2. answers/s with dnsperf, interleaved, median of RUNS runs:
#      fluxgated granted answers signed (DO=1) and unsigned (DO=0), signed
#      static answers, and Knot's mod-onlinesign signing the same zone with
#      a key of the same algorithm (ALG: ecdsap256sha256 by default, or
#      ed25519; Knot makes its own).
#
#   perf 10.56.0.2 ---- 10.56.0.1 fg   (fluxgated, nft backend, workers: 2)
#   perf 10.56.1.2 ---- 10.56.1.1 knot (knotd, udp-workers 2)
#
#   3. the grant latency a signature adds: grant_lat (1 in flight) with
#      and without DO=1; the granted answer is signed while its grant is in
#      flight to the kernel (sign, then send on the ACK).
#
# Env: FLUXGATED, RUNS (3), DURATION (10 s), CLIENTS (16), OUTSTANDING (200),
#      N (signatures in part 1, 20000), ALG (ecdsap256sha256 | ed25519),
#      PERF (a directory: perf record -a -g for 6 s in the first signed and
#      the first unsigned granted run, into PERF/granted-signed.data and
#      PERF/granted-unsigned.data; see bench/README.md).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-dnssec
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
ALG=${ALG:-ecdsap256sha256}
case "$ALG" in ecdsap256sha256|ed25519) ;; *) die "ALG: ecdsap256sha256 or ed25519" ;; esac
DURATION=${DURATION:-10}
# dnsperf sockets: the workers' SO_REUSEPORT sockets share the flows by
# their 4-tuple hash, and with 4 flows one worker got them all in 1 run of
# 8 (3:1 in half of them): a CPU-bound run (signed) then measured one core
CLIENTS=${CLIENTS:-16}
OUTSTANDING=${OUTSTANDING:-200}
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
need_root
need_cmd ip dnsperf knotd kdig gcc pkg-config
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"
LIB="$(dirname "$FLUXGATED")/libfluxgate.a"
[ -f "$LIB" ] || die "no $LIB (make all)"

# ------------------------------------------------------------ 1. sign cost
gcc -std=c11 -D_GNU_SOURCE -O2 -I"$FG_REPO/src" -o "$FG_WORK/sign_cost" "$HERE/sign_cost.c" "$LIB" \
	$(pkg-config --libs libcrypto) -pthread || die "cannot build sign_cost"
log "1. sign cost per answer"
SIGN=$("$FG_WORK/sign_cost" "${N:-20000}")
printf '%s\n' "$SIGN"

# ------------------------------------------------------------ topology
ns_add perf fg knot
veth_link perf fg0 10.56.0.2/24 fg eth0 10.56.0.1/24
veth_link perf kn0 10.56.1.2/24 knot eth0 10.56.1.1/24

KEYS="$FG_WORK/keys"; mkdir -p "$KEYS"
"$FLUXCTL" dnssec keygen example.test --dir "$KEYS" --algorithm "$ALG" >/dev/null || die "keygen"
RECS='      - "@ NS ns1"
      - "ns1 A 10.56.0.1"
      - "www A 192.0.2.80"'
CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<CONF
server:
  listen: [ "10.56.0.1@53" ]
  user: nobody
  workers: 2
control:
  socket: "$FG_WORK/control.sock"
log:
  level: warning
rrl:
  rate: 0        # one source: the bench is not a flood
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., minimum: 60 }
    records:
$RECS
    dnssec:
      algorithm: $ALG
      keys: $KEYS
pool:
  - id: svc4
    prefix: 198.18.0.0/15
service:
  - id: svc
    name: svc.example.test
    backend: 10.56.9.9
    ports: [ any ]
    pool: svc4
    ttl: 1s
    grace: 1s
    pin: 10s
policy:
  direct: [ 10.56.0.0/24 ]
nat:
  backend: nft
  table: fgbsec$$
  grant-set-size: 2M
CONF
start_fluxgated fg "$CONF"
wait_dns perf 10.56.0.1 example.test 30 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"

KDIR="$FG_WORK/knot"; mkdir -p "$KDIR/run" "$KDIR/db"
cat >"$KDIR/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@ SOA ns1.example.test. hostmaster.example.test. 1 3600 600 604800 60
@ NS ns1
ns1 A 10.56.1.1
www A 192.0.2.80
ZONE
cat >"$KDIR/knot.conf" <<KNOT
server:
    rundir: "$KDIR/run"
    user: root:root
    listen: [ "10.56.1.1@53" ]
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$KDIR/db"
log:
  - target: stderr
    any: warning
policy:
  - id: ecdsa
    algorithm: $ALG
mod-onlinesign:
  - id: sign
    policy: ecdsa
template:
  - id: default
    storage: "$KDIR"
    file: "%s.zone"
zone:
  - domain: example.test
    module: mod-onlinesign/sign
KNOT
start_bg knotd knot knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID
wait_dns perf 10.56.1.1 example.test 30 "$KNOT_PID" || die "knotd does not answer: $(tail -n 20 "$FG_WORK/knotd.log")"
nsx perf kdig @10.56.1.1 +dnssec www.example.test A | grep -q 'RRSIG' || die "Knot does not sign"
nsx perf kdig @10.56.0.1 +dnssec svc.example.test A | grep -q 'RRSIG' || die "fluxgated does not sign"

echo "svc.example.test A" >"$FG_WORK/q-grant.txt"
echo "www.example.test A" >"$FG_WORK/q-static.txt"
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# dnsperf_run ADDR QFILE LABEL [DO] -> queries/s
dnsperf_run() {
	local f="$FG_WORK/dnsperf-$3.txt" qps do=${4:+-D}
	nsx perf dnsperf -s "$1" -d "$2" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 $do >"$f" 2>&1
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$f")
	[ -n "$qps" ] || die "dnsperf ($3) gave no result: $(tail -n 5 "$f")"
	log "$3: $qps answers/s, lost $(awk '/Queries lost:/ {print $3 " " $4}' "$f"), $(sed -n 's/.*Response codes: *//p' "$f")" >&2
	echo "$qps"
}
# perf_bg NAME: a 6 s system-wide profile, 1 s into the run that follows
perf_bg() {
	[ -n "${PERF:-}" ] && [ "$i" = 1 ] || return 0
	command -v perf >/dev/null || die "PERF set but no perf"
	mkdir -p "$PERF"
	(sleep 1; perf record -a -g -o "$PERF/$1.data" -- sleep 6 >/dev/null 2>&1) &
}
gs=() gu=() ss=() ks=()
log "2. answers/s: $RUNS runs x ${DURATION}s, dnsperf -c $CLIENTS -q $OUTSTANDING"
for ((i = 1; i <= RUNS; i++)); do
	perf_bg granted-signed
	gs+=("$(dnsperf_run 10.56.0.1 "$FG_WORK/q-grant.txt" "granted-signed-$i" do)")
	perf_bg granted-unsigned
	gu+=("$(dnsperf_run 10.56.0.1 "$FG_WORK/q-grant.txt" "granted-unsigned-$i")")
	ss+=("$(dnsperf_run 10.56.0.1 "$FG_WORK/q-static.txt" "static-signed-$i" do)")
	ks+=("$(dnsperf_run 10.56.1.1 "$FG_WORK/q-static.txt" "knot-onlinesign-$i" do)")
done
# the grant latency a signature adds (client side, 1 in flight): the
# granted answer is signed while its grant is in flight to the kernel
LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/../grant/grant_lat.c" || die "cannot build grant_lat"
lf() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
l50s=() l50u=() l99s=() l99u=()
for ((i = 1; i <= RUNS; i++)); do
	o=$(nsx perf "$LAT" -s 10.56.0.1 -n svc.example.test -t A -d 5 -q 1 -D)
	log "latency signed run $i: $o"
	l50s+=("$(lf p50_us "$o")"); l99s+=("$(lf p99_us "$o")")
	o=$(nsx perf "$LAT" -s 10.56.0.1 -n svc.example.test -t A -d 5 -q 1)
	log "latency unsigned run $i: $o"
	l50u+=("$(lf p50_us "$o")"); l99u+=("$(lf p99_us "$o")")
done
L50S=$(printf '%s\n' "${l50s[@]}" | median); L99S=$(printf '%s\n' "${l99s[@]}" | median)
L50U=$(printf '%s\n' "${l50u[@]}" | median); L99U=$(printf '%s\n' "${l99u[@]}" | median)
GS=$(printf '%s\n' "${gs[@]}" | median); GU=$(printf '%s\n' "${gu[@]}" | median)
SS=$(printf '%s\n' "${ss[@]}" | median); KS=$(printf '%s\n' "${ks[@]}" | median)
stop_bg "$KNOT_PID"
stop_fluxgated "fluxgated stops"
printf '\n| figure | value |\n|---|---|\n'
printf '| fluxgated granted, signed (DO=1, %s) | %s answers/s |\n' "$ALG" "$GS"
printf '| fluxgated granted, unsigned (DO=0) | %s answers/s |\n' "$GU"
printf '| fluxgated static, signed (DO=1) | %s answers/s |\n' "$SS"
printf '| Knot mod-onlinesign static, signed | %s answers/s |\n' "$KS"
awk -v a="$GS" -v b="$GU" -v c="$SS" -v d="$KS" 'BEGIN {
	if (b > 0) printf "| signed / unsigned granted | %.2f (goal >= 0.5) |\n", a / b;
	if (d > 0) printf "| fluxgated signed static / Knot | %.2f (goal >= 1.0) |\n", c / d }'
printf '%s\n' "$SIGN" | sed 's/^/| sign cost | /; s/$/ |/'
printf '| grant latency, 1 in flight, signed (DO=1) | p50 %s µs, p99 %s µs |\n' "$L50S" "$L99S"
printf '| grant latency, 1 in flight, unsigned | p50 %s µs, p99 %s µs |\n' "$L50U" "$L99U"
awk -v a="$L50S" -v b="$L50U" 'BEGIN { printf "| added by signing (p50) | %d µs |\n", a - b }'
printf '| runs (answers/s) | granted signed %s; unsigned %s; static signed %s; Knot %s |\n' "${gs[*]}" "${gu[*]}" "${ss[*]}" "${ks[*]}"
finish
