#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Operations at a million grants (issue #9): what a restart, a reload and a
# `fluxctl grants --count` cost a gateway that holds PRELOAD live exact
# IPv6 grants and ANY grants open to anyone.
#
#   perf 10.53.0.2, fd53::2 ---- 10.53.0.1, fd53::1 fg (fluxgated, nft backend, workers: 2)
#
# The grants are put into the daemon's table by tests/netns/tools/grant_fill.c
# (the nft backend, batches of 256: the kernel state a long-running gateway
# has; through DNS a million would take minutes). Then, each figure the
# median of RUNS runs:
#   1. DNS latency of granted AAAA answers (grant_lat, 8 in flight, from
#      bench/grant), unloaded, during a SIGHUP reload, and during a
#      `fluxctl grants --count` (printed, with how long it took);
#   2. restart: kill -9 of [dns] and [priv], start, time to the first
#      granted answer (kdig polled every 20 ms), and the background
#      adoption of the anyone grants (its log line), with the DNS latency
#      while it runs.
# With OLD_FLUXGATED set (another build, e.g. the commit before the change),
# the restart is also measured with it, side by side. Not part of `make
# check`; figures are indicative on a shared machine.
#
# Env: FLUXGATED, OLD_FLUXGATED, PRELOAD (1000000), ANY (100000), RUNS (3),
#      DURATION (seconds of each latency window, 10), PHASES (all; 2: the
#      restart alone), COUNT (1; 0: no grants --count).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-scale
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
PRELOAD=${PRELOAD:-1000000}
ANY=${ANY:-100000}
OLD_FLUXGATED=${OLD_FLUXGATED:-}
PHASES=${PHASES:-all}
COUNT=${COUNT:-1}
[ "$PHASES" = 2 ] || PHASES=0
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}

need_root
need_cmd ip kdig nft gcc pkg-config python3
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"

LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/../grant/grant_lat.c" || die "cannot build grant_lat"
FILL="$FG_WORK/grant_fill"
BUILD="$FG_REPO/build"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$FG_REPO/src" -o "$FILL" \
	"$FG_REPO/tests/netns/tools/grant_fill.c" "$BUILD/libfluxgated.a" "$BUILD/libfluxgate.a" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack yaml-0.1 libcrypto \
		jansson libsystemd libseccomp libcap libmicrohttpd libnetfilter_log) -pthread \
	|| die "cannot build grant_fill"

ns_add perf fg
veth_link perf fg0 10.53.0.2/24,fd53::2/64 fg eth0 10.53.0.1/24,fd53::1/64

chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgsc$$"
cat >"$CONF" <<EOF
server:
  listen: [ "10.53.0.1@53", "fd53::1@53" ]
  user: nobody
  workers: 2
control:
  socket: "$CTL"
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.53.0.1"
pool:
  - id: web6
    prefix: 2001:db8:f0::/104
  - id: any6
    prefix: 2001:db8:a0::/104
service:
  - id: www
    name: www.example.test
    backend: "fd53:9::9"
    ports: [ any ]
    pool: web6
    ttl: 1h
    grace: 0s
  - id: pub
    name: pub.example.test
    backend: "fd53:9::9"
    ports: [ any ]
    pool: any6
    ttl: 1h
    grace: 0s
policy:
  direct: [ "fd53::/64", "fd00:c::/64" ]
  resolvers: [ 10.53.0.2/32 ]
rrl:
  rate: 0
decoy:
  route-via: 10.53.0.2
nat:
  backend: nft
  table: $TABLE
  grant-set-size: 2M
EOF
"$FLUXGATED" --check -c "$CONF" >/dev/null || die "bench config rejected: $("$FLUXGATED" --check -c "$CONF" 2>&1 | tail -n 5)"

median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$1" "$(now)"; }
lat() { nsx perf "$LAT" -s fd53::1 -b fd53::2 -n www.example.test -t AAAA -q 8 -d "$1"; }
# elements of a map (nft lists it through the same quadratic dump: slow at 1M)
kcount() { nsx fg nft list map inet "$TABLE" "$1" 2>/dev/null | grep -c ' : ' | awk '{print $1 - 1}'; }

# ------------------------------------------------------------ fill
log "starting fluxgated ($FLUXGATED)"
start_fluxgated fg "$CONF" fg-fill
wait_dns perf 10.53.0.1 example.test 30 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
out=$(nsx fg "$FILL" "$TABLE" exact "$PRELOAD" 2001:db8:f0::1 16000000 fd00:c::1 fd53:9::9 7200) \
	|| die "grant_fill exact failed: $out"
log "exact grants: $out"
if [ "$ANY" -gt 0 ]; then
	out=$(nsx fg "$FILL" "$TABLE" any "$ANY" 2001:db8:a0::1 "$ANY" fd53::1 fd53:9::9 7200) \
		|| die "grant_fill any failed: $out"
	log "anyone grants: $out"
fi

declare -A R
# ------------------------------------------------------------ 1. latency
for ((r = 1; r <= (PHASES == 2 ? 0 : RUNS); r++)); do
	o=$(lat "$DURATION"); log "unloaded: $o"
	R[idle_p99]+="$(field p99_us "$o") "; R[idle_max]+="$(field max_us "$o") "; R[idle_p50]+="$(field p50_us "$o") "

	lat "$DURATION" >"$FG_WORK/lat.hup" & lp=$!
	sleep 2
	t=$(now)
	out=$(nsx fg "$FLUXCTL" -s "$CTL" reload 2>&1) || log "reload: $out"
	R[reload_s]+="$(since "$t") "
	wait $lp; o=$(cat "$FG_WORK/lat.hup"); log "during a reload: $o"
	R[hup_p99]+="$(field p99_us "$o") "; R[hup_max]+="$(field max_us "$o") "

	# an unfiltered count takes the kernel's element count of a big map
	# (one request); before, it read every set (the kernel restarts each
	# set's walk for each message): 220 s at 1M
	[ "$COUNT" = 1 ] || continue
	( t=$(now); nsx fg "$FLUXCTL" -s "$CTL" grants --count >"$FG_WORK/count.out" 2>&1
	  since "$t" >"$FG_WORK/count.took" ) & cp=$!
	o=$(lat "$DURATION")
	wait $cp; R[count_s]+="$(cat "$FG_WORK/count.took") "
	log "during grants --count: $o ($(tr '\n' ' ' <"$FG_WORK/count.out"))"
	R[count_p99]+="$(field p99_us "$o") "; R[count_max]+="$(field max_us "$o") "
done
stop_fluxgated "fluxgated (fill run) stops"

# ------------------------------------------------------------ 2. restart
# restart BIN LABEL: kill -9 a running daemon, start BIN, poll for the
# first granted answer; appends to R[LABEL_first], R[LABEL_adopt]
restart_once() {
	local bin=$1 label=$2 run=$3 priv dns t0 a
	FLUXGATED=$bin start_fluxgated fg "$CONF" "fg-$label-pre$run"
	wait_dns perf 10.53.0.1 example.test 300 "$FG_FLUXGATED_PID" || die "$label: fluxgated does not answer"
	priv=$FG_FLUXGATED_PID
	dns=$(ps -o pid= --ppid "$priv" | tr -d ' ' | head -n 1)
	kill -KILL $dns "$priv"; wait "$priv" 2>/dev/null; _forget_pid "$priv"; FG_FLUXGATED_PID=""
	sleep 0.5
	t0=$(now)
	FLUXGATED=$bin start_fluxgated fg "$CONF" "fg-$label-$run"
	while :; do
		a=$(nsx perf kdig @fd53::1 -b fd53::2 +retry=0 +timeout=1 +short www.example.test AAAA 2>/dev/null)
		[[ $a == 2001:db8:f0:* ]] && break
		_pid_alive "$FG_FLUXGATED_PID" || die "$label: fluxgated died on restart"
		sleep 0.02
	done
	a=$(since "$t0")
	R[${label}_first]+="$a "
	log "$label: restart $run: first granted answer after $a s"
	o=$(lat "$DURATION"); log "$label: after restart $run: $o"
	R[${label}_after_p99]+="$(field p99_us "$o") "; R[${label}_after_max]+="$(field max_us "$o") "
	a=$(sed -n 's/.*data plane set up in \([0-9]*\) ms.*/\1/p' "$FG_WORK/fg-$label-$run.log" | head -n 1)
	[ -n "$a" ] && R[${label}_setup_ms]+="$a "
	a=$(sed -n 's/.*restart recovery: \([0-9]*\) live .* in \([0-9]*\) ms.*/\1 \2/p' "$FG_WORK/fg-$label-$run.log")
	[ -n "$a" ] && { R[${label}_adopted]+="${a% *} "; R[${label}_adopt_ms]+="${a#* } "; }
	stop_fluxgated "$label: fluxgated stops after restart $run"
}
for ((r = 1; r <= RUNS; r++)); do
	restart_once "$FLUXGATED" new "$r"
	[ -n "$OLD_FLUXGATED" ] && restart_once "$OLD_FLUXGATED" old "$r"
done
# (the exact map is not listed: nft reads it through the same quadratic
# dump, minutes at 1M; grants --count in part 1 covers it)
log "kernel after the restarts: $(kcount grant_any6) anyone elements (filled: $ANY)"

m() { tr ' ' '\n' <<<"${R[$1]:-}" | grep . | median; }
cat <<EOF

bench/scale: $PRELOAD exact IPv6 grants + $ANY open to anyone, medians of $RUNS runs
(shared, noisy machine: indicative figures)

| figure | value |
|---|---|
| DNS p50 / p99 / max, unloaded (µs) | $(m idle_p50) / $(m idle_p99) / $(m idle_max) |
| DNS p99 / max during a reload (µs) | $(m hup_p99) / $(m hup_max) |
| reload (fluxctl reload) took (s) | $(m reload_s) |
| DNS p99 / max during grants --count (µs) | $(m count_p99) / $(m count_max) |
| grants --count took (s) | $(m count_s) |
| restart (kill -9) to first granted answer (s) | $(m new_first) |
| of which the data plane setup (ms) | $(m new_setup_ms) |
| anyone grants adopted in the background, took (ms) | $(m new_adopted), $(m new_adopt_ms) |
| DNS p99 / max right after the restart (µs) | $(m new_after_p99) / $(m new_after_max) |
EOF
if [ -n "$OLD_FLUXGATED" ]; then
	cat <<EOF
| OLD ($OLD_FLUXGATED): restart to first granted answer (s) | $(m old_first) |
| OLD: DNS p99 / max right after the restart (µs) | $(m old_after_p99) / $(m old_after_max) |
EOF
fi
finish
