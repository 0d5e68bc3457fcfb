#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS over TLS throughput: dnsperf -m dot against fluxgated and against
# unbound serving the same static name over TLS (unbound is the DoT server
# Debian ships; Knot 3.2 has no DoT listener), in the same run, plus
# fluxgated over UDP and TCP and fluxgated's granted answers over TLS, each
# server in its own namespace behind a veth, dnsperf in a third:
#
#   perf 10.59.0.2 ---- 10.59.0.1 fg  (fluxgated, workers: 2, memory NAT backend)
#   perf 10.59.1.2 ---- 10.59.1.1 ub  (unbound, num-threads: 2, local-data)
#
# Also TLS handshakes/s by openssl s_time (full TLS 1.3, resumed TLS 1.2)
# against both servers. RUNS runs (interleaved) of DURATION seconds each,
# dnsperf with CLIENTS connections and OUTSTANDING queries in flight, no
# rate limit: the median queries/s of each, and ratios. Nothing is pinned; on a 2-core machine
# dnsperf shares the CPUs with the server under test, the same for all.
# Figures are indicative on a shared machine. Not a test: nothing here
# passes or fails on speed.
#
# Env: FLUXGATED, RUNS (3), DURATION (10 s), CLIENTS (4), OUTSTANDING (100),
#      OUT (append the result lines to this file).
# Usage: sudo bench/dot/run.sh

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-dot
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-100}
OUT=${OUT:-}

need_root
need_cmd ip dnsperf unbound openssl kdig ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"

ns_add perf fg ub
veth_link perf p0 10.59.0.2/24 fg eth0 10.59.0.1/24
veth_link perf p1 10.59.1.2/24 ub eth0 10.59.1.1/24

PKI="$FG_WORK/pki"
mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/k.pem" \
	-out "$PKI/c.pem" -days 2 -subj "/CN=dns.example.test" >/dev/null 2>&1 || die "openssl"
chmod 600 "$PKI/k.pem"

CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "10.59.0.1@53" ]
  workers: 2
  tls-listen: [ "10.59.0.1@853" ]
  tls-certificate: $PKI/c.pem
  tls-key: $PKI/k.pem
log:
  level: warning
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., minimum: 60 }
    records:
      - "@ NS ns1"
      - "ns1 A 10.59.0.1"
      - "static A 192.0.2.10"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.59.0.10
    ports: [ tcp/80 ]
    pool: web4
    ttl: 30s
policy:
  direct: [ 10.59.0.0/24 ]
nat:
  backend: memory
control:
  socket: $FG_WORK/control.sock
EOF
FG_FLUXGATED_ARGS=--test-memory-backend
start_fluxgated fg "$CONF"

UDIR="$FG_WORK/unbound"
mkdir -p "$UDIR"
cat >"$UDIR/unbound.conf" <<EOF
server:
    verbosity: 0
    interface: 10.59.1.1@853
    tls-port: 853
    tls-service-key: "$PKI/k.pem"
    tls-service-pem: "$PKI/c.pem"
    do-ip6: no
    access-control: 10.59.0.0/16 allow
    chroot: ""
    username: ""
    pidfile: ""
    directory: "$UDIR"
    use-syslog: no
    do-daemonize: no
    num-threads: 2
    so-reuseport: yes
    incoming-num-tcp: 512
    local-zone: "example.test." static
    local-data: "static.example.test. 300 IN A 192.0.2.10"
remote-control:
    control-enable: no
EOF
start_bg unbound ub unbound -d -c "$UDIR/unbound.conf"
UB_PID=$BG_PID

wait_dns perf 10.59.0.1 example.test 30 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
wait_port ub tcp 853 30 "$UB_PID" || die "unbound does not listen on 853"
a=$(nsx perf kdig @10.59.1.1 -p 853 +tls +short static.example.test A)
b=$(nsx perf kdig @10.59.0.1 -p 853 +tls +short static.example.test A)
[ "$a" = 192.0.2.10 ] && [ "$a" = "$b" ] || die "DoT answers differ: unbound [$a] fluxgated [$b]"
log "both servers answer static.example.test A over TLS identically"

echo "static.example.test A" >"$FG_WORK/static.txt"
echo "www.example.test A" >"$FG_WORK/granted.txt"

# perf_run ADDR MODE QUERYFILE LABEL N -> queries/s
perf_run() {
	local addr=$1 mode=$2 qf=$3 label=$4 n=$5 f qps port=53
	[ "$mode" = dot ] && port=853
	f="$FG_WORK/dnsperf-$label-$n.txt"
	nsx perf dnsperf -s "$addr" -p "$port" -m "$mode" -d "$qf" -l "$DURATION" -c "$CLIENTS" \
		-q "$OUTSTANDING" -t 5 >"$f" 2>&1
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$f")
	[ -n "$qps" ] || die "dnsperf $label gave no result: $(tail -n 5 "$f")"
	log "run $n $label: $qps q/s, lost $(awk '/Queries lost:/ {print $3 " " $4}' "$f")" >&2
	echo "$qps"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# hs_run ADDR LABEL N MODE... -> handshakes/s by openssl s_time (-new: full
# handshakes, TLS 1.3; -reuse -tls1_2: resumed by session ID or ticket)
hs_run() {
	local addr=$1 label=$2 n=$3 f rate; shift 3
	f="$FG_WORK/s_time-$label-$n.txt"
	nsx perf timeout 60 openssl s_time -connect "$addr:853" -time 5 "$@" >"$f" 2>&1
	rate=$(awk '/connections in [0-9]+ real seconds/ { for (i = 1; i < NF; i++) if ($(i+1) == "connections") c = $i; for (i = 1; i <= NF; i++) if ($i == "real") s = $(i-1); if (s > 0) printf "%.0f", c / s }' "$f" | tail -n 1)
	[ -n "$rate" ] || die "s_time $label gave no result: $(tail -n 5 "$f")"
	log "run $n $label: $rate handshakes/s" >&2
	echo "$rate"
}

declare -A R
LABELS=(fg-udp fg-tcp fg-dot ub-dot fg-dot-granted fg-hs-new ub-hs-new fg-hs-reuse ub-hs-reuse)
for ((i = 1; i <= RUNS; i++)); do
	R[fg-udp]+=" $(perf_run 10.59.0.1 udp "$FG_WORK/static.txt" fg-udp "$i")"
	R[fg-tcp]+=" $(perf_run 10.59.0.1 tcp "$FG_WORK/static.txt" fg-tcp "$i")"
	R[fg-dot]+=" $(perf_run 10.59.0.1 dot "$FG_WORK/static.txt" fg-dot "$i")"
	R[ub-dot]+=" $(perf_run 10.59.1.1 dot "$FG_WORK/static.txt" ub-dot "$i")"
	R[fg-dot-granted]+=" $(perf_run 10.59.0.1 dot "$FG_WORK/granted.txt" fg-dot-granted "$i")"
	R[fg-hs-new]+=" $(hs_run 10.59.0.1 fg-hs-new "$i" -new)"
	R[ub-hs-new]+=" $(hs_run 10.59.1.1 ub-hs-new "$i" -new)"
	R[fg-hs-reuse]+=" $(hs_run 10.59.0.1 fg-hs-reuse "$i" -reuse -tls1_2)"
	R[ub-hs-reuse]+=" $(hs_run 10.59.1.1 ub-hs-reuse "$i" -reuse -tls1_2)"
done
declare -A M
for l in "${LABELS[@]}"; do M[$l]=$(printf '%s\n' ${R[$l]} | median); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

fluxgated_alive "fluxgated survived the benchmark"
stop_fluxgated "fluxgated stopped cleanly after the benchmark"
stop_bg "$UB_PID"

{
	echo "DoT benchmark, $RUNS runs x ${DURATION}s, dnsperf -c $CLIENTS -q $OUTSTANDING, medians (q/s):"
	printf '  %-34s %8s   runs:%s\n' "fluxgated UDP static" "${M[fg-udp]}" "${R[fg-udp]}"
	printf '  %-34s %8s   runs:%s\n' "fluxgated TCP static" "${M[fg-tcp]}" "${R[fg-tcp]}"
	printf '  %-34s %8s   runs:%s\n' "fluxgated DoT static" "${M[fg-dot]}" "${R[fg-dot]}"
	printf '  %-34s %8s   runs:%s\n' "unbound DoT static (local-data)" "${M[ub-dot]}" "${R[ub-dot]}"
	printf '  %-34s %8s   runs:%s\n' "fluxgated DoT granted (memory NAT)" "${M[fg-dot-granted]}" "${R[fg-dot-granted]}"
	echo "TLS handshakes/s (openssl s_time -time 5, one connection at a time):"
	printf '  %-34s %8s   runs:%s\n' "fluxgated full (TLS 1.3)" "${M[fg-hs-new]}" "${R[fg-hs-new]}"
	printf '  %-34s %8s   runs:%s\n' "unbound full (TLS 1.3)" "${M[ub-hs-new]}" "${R[ub-hs-new]}"
	printf '  %-34s %8s   runs:%s\n' "fluxgated resumed (TLS 1.2)" "${M[fg-hs-reuse]}" "${R[fg-hs-reuse]}"
	printf '  %-34s %8s   runs:%s\n' "unbound resumed (TLS 1.2)" "${M[ub-hs-reuse]}" "${R[ub-hs-reuse]}"
	echo "  ratio fluxgated DoT / unbound DoT (static): $(ratio "${M[fg-dot]}" "${M[ub-dot]}")"
	echo "  ratio fluxgated DoT / fluxgated TCP (static): $(ratio "${M[fg-dot]}" "${M[fg-tcp]}")"
	echo "  ratio fluxgated / unbound full handshakes: $(ratio "${M[fg-hs-new]}" "${M[ub-hs-new]}")"
	echo "  ratio fluxgated resumed / full handshakes: $(ratio "${M[fg-hs-reuse]}" "${M[fg-hs-new]}")"
} | tee ${OUT:+-a "$OUT"}
finish
