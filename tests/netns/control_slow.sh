#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Slow and idle control clients must not hold the daemon's main loop.
#
#   srv: fluxgated on 127.0.0.1 (DNS, metrics), control socket in $FG_WORK
#
# A control client that sends its request one octet every 1.5 s and 100
# clients that connect and send nothing: `fluxctl status` still answers at
# once, the systemd watchdog keeps being fed, the idle ones are closed at
# their deadline (counted in the metrics), and SIGTERM is honoured at once.
# The bound is the issue's 1 s: `fluxctl status` with a client timeout of
# 1 s, up to three tries (one slow scheduling slice on a shared machine is
# not a blocked loop; a blocked loop fails all three), and SIGTERM logged
# within 1 s. Measured: status 0.01-0.35 s and SIGTERM 0.01-0.13 s, normal
# build, ASan and valgrind alike, so 1 s holds with margin under valgrind
# too. A main loop served one client at a time (2 s per recv) takes 30 s
# and more.
# Env: FLUXGATED, FLUXCTL, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig python3 curl
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
SLOW="$FG_REPO/tests/netns/tools/slow_client.py"

ns_add srv
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<EOF
server:
  listen: [ "127.0.0.1@53" ]
  workers: 1
control:
  socket: "$CTL"
metrics:
  listen: "127.0.0.1@9153"
nat:
  backend: memory
EOF
	zones_yaml
} >"$CONF"

# a stand-in for systemd's notify socket: one line per datagram, with the
# time it arrived
NOTIFY="$FG_WORK/notify.sock"
WDLOG="$FG_WORK/notify.log"
start_bg notify srv python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        d = s.recv(4096).decode(errors="replace").replace("\n", " ")
        f.write("%.3f %s\n" % (time.monotonic(), d))
' "$NOTIFY" "$WDLOG"
NOTIFY_PID=$BG_PID
wait_until 30 [ -S "$NOTIFY" ]

# WATCHDOG_USEC=2 s: the daemon pings every second
export NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=2000000
FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
start_fluxgated srv "$CONF"
unset NOTIFY_SOCKET WATCHDOG_USEC
if ! wait_dns srv 127.0.0.1 example.test 90 "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
wait_until 30 [ -S "$CTL" ]
check "fluxctl status answers (no slow clients yet)" timeout 20 "$FLUXCTL" -s "$CTL" status

mono() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }

# the bound (s) for `fluxctl status` and SIGTERM, as the issue asks
BOUND=1.0

# timed_status LABEL: fluxctl status with a client timeout of BOUND s, up to
# three tries; wall time in TIMED_S
timed_status() {
	local t0 t1 rc try
	for try in 1 2 3; do
		t0=$EPOCHREALTIME   # no helper process: the time is fluxctl's
		timeout "$BOUND" "$FLUXCTL" -s "$CTL" status >"$FG_WORK/status.out" 2>&1; rc=$?
		t1=$EPOCHREALTIME
		[ "$rc" -eq 0 ] && break
	done
	TIMED_S=$(python3 -c "print('%.2f' % ($t1 - $t0))")
	if [ "$rc" -eq 0 ]; then
		ok "$1: fluxctl status answered in ${TIMED_S}s (client timeout ${BOUND} s, try $try of 3)"
	else
		fail "$1: fluxctl status answers within ${BOUND} s (3 tries)" "last exit $rc" \
			"$(cat "$FG_WORK/status.out")"
	fi
}

# ------------------------------------------------------------ slow and idle clients
ATTACK_T0=$(mono)
start_bg trickle srv python3 "$SLOW" ctl-trickle --path "$CTL" --interval 1.5
TRICKLE_PID=$BG_PID
sleep 0.5     # the trickler is connected first, as the one that held the old loop
start_bg idle srv python3 "$SLOW" ctl-idle --path "$CTL" --count 100 --ready "$FG_WORK/idle.ready"
IDLE_PID=$BG_PID
for _ in $(seq 150); do [ -e "$FG_WORK/idle.ready" ] && break; sleep 0.1; done
[ -e "$FG_WORK/idle.ready" ] || fail "100 idle control connections opened" "$(cat "$FG_WORK/idle.log")"
sleep 1

timed_status "trickler + 100 idle"
sleep 2
timed_status "trickler + 100 idle, 3 s later"

# past the 5 s request deadline of the idle ones (the 4 s also keep the
# attack long enough for the watchdog check below), and until the daemon
# has logged one closed there (bounded: a slow machine logs it later)
sleep 4
wait_grep 60 "$FG_FLUXGATED_LOG" 'control: client timed out sending its request'
timed_status "after the idle clients' deadline"
log_text=$(cat "$FG_FLUXGATED_LOG")
assert_match "idle control clients closed at their deadline (logged)" \
	'control: client timed out sending its request' "$log_text"
assert_match "the connection limit closed the oldest unfinished clients (logged)" \
	'control: 64 connections open, closing the oldest unfinished one' "$log_text"
# the idle ones time out one by one: wait (bounded) for the counts
ctl_counts_reached() {
	local m
	m=$(nsx srv curl -s --max-time 10 http://127.0.0.1:9153/metrics)
	awk '$1 == "fluxgate_control_timeouts_total" && $2 >= 30 { t = 1 }
		$1 == "fluxgate_control_connections_refused_total" && $2 >= 37 { r = 1 }
		END { exit !(t && r) }' <<<"$m"
}
wait_until 60 ctl_counts_reached
metrics=$(nsx srv curl -s --max-time 10 http://127.0.0.1:9153/metrics)
printf '%s\n' "$metrics" >"$FG_WORK/metrics.txt"
timeouts=$(printf '%s\n' "$metrics" | awk '$1 == "fluxgate_control_timeouts_total" { print $2 }')
refused=$(printf '%s\n' "$metrics" | awk '$1 == "fluxgate_control_connections_refused_total" { print $2 }')
# 100 idle + 1 trickler on 64 places: at least 37 closed to make room,
# and the other idle ones time out
if [ "${refused:-0}" -ge 37 ]; then ok "metrics: control connections refused = $refused (>= 37)"
else fail "metrics: control connections refused >= 37" "got '${refused:-}'"; fi
if [ "${timeouts:-0}" -ge 30 ]; then ok "metrics: control timeouts = $timeouts (>= 30)"
else fail "metrics: control timeouts >= 30" "got '${timeouts:-}'"; fi

# the watchdog was fed throughout: no gap of 3 s or more between pings
gap=$(awk -v t0="$ATTACK_T0" '/WATCHDOG=1/ && $1 >= t0 - 1 { if (prev) { g = $1 - prev; if (g > max) max = g } prev = $1 }
	END { printf "%.2f", max + 0 }' "$WDLOG")
pings=$(awk -v t0="$ATTACK_T0" '/WATCHDOG=1/ && $1 >= t0 { n++ } END { print n + 0 }' "$WDLOG")
if [ "$pings" -ge 5 ] && python3 -c "import sys; sys.exit(0 if $gap < 3.0 else 1)"; then
	ok "watchdog fed during the attack ($pings pings, longest gap ${gap}s < 3 s)"
else
	fail "watchdog fed during the attack" "pings=$pings longest gap=${gap}s" "$(tail -n 20 "$WDLOG")"
fi

# ------------------------------------------------------------ SIGTERM
# fresh idle clients and the trickler in the middle of a request
stop_bg "$IDLE_PID"
rm -f "$FG_WORK/idle.ready"
start_bg idle2 srv python3 "$SLOW" ctl-idle --path "$CTL" --count 100 --ready "$FG_WORK/idle.ready"
IDLE_PID=$BG_PID
for _ in $(seq 150); do [ -e "$FG_WORK/idle.ready" ] && break; sleep 0.1; done
sleep 1
fluxgated_alive "fluxgated still running under slow clients"
t0=$EPOCHREALTIME   # no helper process between the clock and the kill
kill -TERM "$FG_FLUXGATED_PID"
honoured=""
for _ in $(seq 300); do
	if grep -q 'signal 15: stopping' "$FG_FLUXGATED_LOG"; then honoured=$EPOCHREALTIME; break; fi
	sleep 0.05
done
if [ -n "$honoured" ]; then
	took=$(python3 -c "print('%.2f' % ($honoured - $t0))")
	if python3 -c "import sys; sys.exit(0 if $took < $BOUND else 1)"; then
		ok "SIGTERM honoured in ${took}s (< ${BOUND} s) with slow control clients"
	else
		fail "SIGTERM honoured in ${took}s (< ${BOUND} s) with slow control clients"
	fi
else
	fail "SIGTERM honoured within 15 s with slow control clients" "$(tail -n 20 "$FG_FLUXGATED_LOG")"
fi
# it is going: wait for it (bash reaps it, so not through stop_fluxgated)
pid=$FG_FLUXGATED_PID
for _ in $(seq 600); do _pid_alive "$pid" || break; sleep 0.1; done
_pid_alive "$pid" && stop_pid "$pid" 5
wait "$pid" 2>/dev/null; rc=$?
_forget_pid "$pid"
FG_FLUXGATED_PID=""
case $rc in
0) ok "fluxgated exits cleanly after that SIGTERM" ;;
99) fail "fluxgated exits cleanly after that SIGTERM (valgrind memcheck errors)" \
	"$(tail -n 80 "$FG_VALGRIND_LOG" 2>/dev/null)" ;;
*) fail "fluxgated exits cleanly after that SIGTERM" "exit status $rc" \
	"$(tail -n 30 "$FG_FLUXGATED_LOG" 2>/dev/null)" ;;
esac
stop_bg "$TRICKLE_PID"
stop_bg "$IDLE_PID"
stop_bg "$NOTIFY_PID"
finish
