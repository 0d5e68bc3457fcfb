#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS over TCP under slow and idle clients.
#
#   cli 10.54.0.2-.9, fd54::2-5  ---- veth ----  srv 10.54.0.1, fd54::1 (fluxgated)
#
# - a query sent one octet a second is closed at tcp-query-timeout from its
#   first octet (3 s here), not before, although every octet restarts the
#   idle timer; a connection that sends nothing lasts tcp-idle-timeout (6 s);
# - with the shipped timeouts (query 5 s, idle 10 s), a query sent one octet
#   every 5 s (the issue's case: an idle timer restarted by every octet
#   never fires) is closed at the query deadline, before the idle timeout;
# - tcp-max-per-source: 20 connections from one address keep 16; two
#   addresses of one IPv6 /64 share 16;
# - 2,000 idle connections from one address do not stop another address's
#   TCP queries;
# - a reload applies a new tcp-max-per-source, and says that a new
#   tcp-max-clients needs a restart;
# - with the table full (tcp-max-clients 40, 48 idle clients), a new client
#   is served by closing the longest-idle connection.
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig python3 curl ss
SLOW="$FG_REPO/tests/netns/tools/slow_client.py"
SRV4=10.54.0.1

ns_add srv cli
veth_link srv eth0 "$SRV4/24,fd54::1/64" cli eth0 "10.54.0.2/24,fd54::2/64"
for i in 3 4 5 6 7 8 9; do addr_add cli eth0 "10.54.0.$i/24"; done
addr_add cli eth0 "fd54::4/64"
addr_add cli eth0 "fd54::5/64"

CONF="$FG_WORK/fluxgated.conf"
# write_conf MAX_CLIENTS PER_SOURCE [QUERY_TIMEOUT IDLE_TIMEOUT]: the
# timeouts default to 3 s and 6 s; "-" leaves them at the shipped defaults
write_conf() {
	local tq=${3:-3s} ti=${4:-6s}
	{
		cat <<EOF
server:
  listen: [ "$SRV4@53", "fd54::1@53" ]
  workers: 2
  tcp-max-clients: $1
  tcp-max-per-source: $2
EOF
		[ "$tq" = - ] || echo "  tcp-query-timeout: $tq"
		[ "$ti" = - ] || echo "  tcp-idle-timeout: $ti"
		cat <<EOF
control:
  socket: "$FG_WORK/control.sock"
metrics:
  listen: "$SRV4@9153"
nat:
  backend: memory
EOF
		zones_yaml
	} >"$CONF"
}

start() {
	FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
	start_fluxgated srv "$CONF" "$1"
	if ! wait_dns cli "$SRV4" example.test 90 "$FG_FLUXGATED_PID"; then
		fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
		finish
	fi
	wait_port srv tcp 53 20 "$FG_FLUXGATED_PID" || fail "fluxgated listens on TCP 53"
}

metric() {
	nsx cli curl -s --max-time 10 "http://$SRV4:9153/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}

# metric_ge NAME N: the metric is there and at least N
metric_ge() { [ "$(metric "$1")" -ge "$2" ] 2>/dev/null; }

# tcp_query SRC: one TCP query from SRC, the A record or the error
tcp_query() {
	nsx cli kdig @"$SRV4" -b "$1" +tcp +retry=1 +timeout=10 www.example.test A 2>&1
}
RR_WWW_A='^www\.example\.test\.\s+300\s+IN\s+A\s+10\.0\.0\.80$'

# in_range NAME VALUE LOW HIGH
in_range() {
	if python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if $3 <= v <= $4 else 1)" "$2" 2>/dev/null; then
		ok "$1 ($2 s, expected $3..$4)"
	else
		fail "$1" "got '$2', expected $3..$4 s"
	fi
}

# idle_probe LABEL SRC COUNT HOLD: COUNT idle connections from SRC, result
# (open=N closed=N failed=N) in $FG_WORK/LABEL.out after HOLD seconds
idle_probe() {
	local dst=$SRV4
	case $2 in *:*) dst=fd54::1 ;; esac
	nsx cli python3 "$SLOW" tcp-idle --src "$2" --dst "$dst" --count "$3" --hold "$4" \
		>"$FG_WORK/$1.out" 2>&1
}

write_conf 1024 16
start fluxgated
assert_match "a TCP query is answered (baseline)" "$RR_WWW_A" "$(tcp_query 10.54.0.3)"

# ------------------------------------------------------------ query deadline vs idle timeout
nsx cli python3 "$SLOW" tcp-trickle --src 10.54.0.2 --dst "$SRV4" --interval 1 --max 12 \
	>"$FG_WORK/trickle.out" 2>&1 &
p1=$!
idle_probe idle45 10.54.0.3 1 4.5 &
p2=$!
idle_probe idle85 10.54.0.3 1 8.5 &
p3=$!
wait $p1 $p2 $p3
out=$(cat "$FG_WORK/trickle.out")
assert_match "a query trickling one octet a second is closed by the server" '^closed_after=' "$out"
in_range "... at tcp-query-timeout (3 s) from its first octet" "${out#closed_after=}" 2.8 5.5
assert_eq "an idle connection outlives tcp-query-timeout (open at 4.5 s)" \
	"open=1 closed=0 failed=0" "$(cat "$FG_WORK/idle45.out")"
assert_eq "an idle connection is closed at tcp-idle-timeout (closed at 8.5 s)" \
	"open=0 closed=1 failed=0" "$(cat "$FG_WORK/idle85.out")"
v=$(metric fluxgate_dns_tcp_query_timeouts_total)
assert_eq "metrics: one TCP query timeout" 1 "${v:-none}"

# ------------------------------------------------------------ per-source cap
idle_probe per4 10.54.0.4 20 2
assert_eq "20 connections from one address: 16 kept, 4 closed" \
	"open=16 closed=4 failed=0" "$(cat "$FG_WORK/per4.out")"
idle_probe per6a fd54::4 10 3 &
p1=$!
sleep 0.5
idle_probe per6b fd54::5 10 2.5 &
p2=$!
wait $p1 $p2
a=$(sed -n 's/^open=\([0-9]*\).*/\1/p' "$FG_WORK/per6a.out")
b=$(sed -n 's/^open=\([0-9]*\).*/\1/p' "$FG_WORK/per6b.out")
assert_eq "two addresses of one IPv6 /64 share 16 connections (10 + ${b:-?})" 16 "$(( ${a:-0} + ${b:-0} ))"

# ------------------------------------------------------------ 2,000 idle connections
rm -f "$FG_WORK/flood.ready"
start_bg flood cli python3 "$SLOW" tcp-idle --src 10.54.0.2 --dst "$SRV4" --count 2000 \
	--ready "$FG_WORK/flood.ready"
FLOOD_PID=$BG_PID
for _ in $(seq 300); do [ -e "$FG_WORK/flood.ready" ] && break; sleep 0.1; done
[ -e "$FG_WORK/flood.ready" ] || fail "2,000 idle connections opened" "$(cat "$FG_WORK/flood.log")"
# the daemon refuses them as it accepts them: wait (bounded) until it has
wait_until 60 metric_ge 'fluxgate_dns_tcp_connections_total{result="source_limit"}' 1900
assert_match "2,000 idle connections from 10.54.0.2: 10.54.0.3 is answered over TCP" \
	"$RR_WWW_A" "$(tcp_query 10.54.0.3)"
assert_match "... and over IPv6" 'IN\s+A\s+10\.0\.0\.80$' \
	"$(nsx cli kdig @fd54::1 -b fd54::2 +tcp +retry=1 +timeout=10 www.example.test A 2>&1)"
v=$(metric 'fluxgate_dns_tcp_connections_total{result="source_limit"}')
if [ "${v:-0}" -ge 1900 ]; then ok "metrics: ${v} connections refused at the per-source limit"
else fail "metrics: >= 1900 connections refused at the per-source limit" "got '${v:-}'"; fi
stop_bg "$FLOOD_PID"

# ------------------------------------------------------------ reload
write_conf 512 4
kill -HUP "$FG_FLUXGATED_PID"
wait_grep 60 "$FG_FLUXGATED_LOG" 'reload done'
log_text=$(cat "$FG_FLUXGATED_LOG")
assert_match "reload done" 'reload done' "$log_text"
assert_match "reload: a changed tcp-max-clients is logged as needing a restart" \
	'reload: server\.tcp-max-clients: the running value stays until a restart' "$log_text"
idle_probe reload5 10.54.0.5 10 2
assert_eq "after a reload with tcp-max-per-source 4: 4 of 10 kept" \
	"open=4 closed=6 failed=0" "$(cat "$FG_WORK/reload5.out")"
stop_fluxgated "fluxgated stops cleanly (table 1024)"

# ------------------------------------------------------------ eviction
# shipped timeouts from here on (query 5 s, idle 10 s)
write_conf 40 16 - -
start fluxgated-evict

# one octet every 5 s: closed at the 5 s query deadline from the first
# octet, long before the 10 s idle timeout that each octet restarts; a
# server that only had the idle timer keeps it open for the whole 30 s
nsx cli python3 "$SLOW" tcp-trickle --src 10.54.0.8 --dst "$SRV4" --interval 5 --max 30 \
	>"$FG_WORK/trickle5.out" 2>&1
out=$(cat "$FG_WORK/trickle5.out")
assert_match "shipped timeouts: a query trickling one octet every 5 s is closed by the server" \
	'^closed_after=' "$out"
in_range "... at the 5 s query deadline, before the 10 s idle timeout" "${out#closed_after=}" 4.8 9.5
pids=()
for i in 4 5 6; do
	start_bg "evict$i" cli python3 "$SLOW" tcp-idle --src "10.54.0.$i" --dst "$SRV4" --count 16 \
		--ready "$FG_WORK/evict$i.ready"
	pids+=("$BG_PID")
	sleep 0.3
done
for i in 4 5 6; do
	wait_until 60 [ -e "$FG_WORK/evict$i.ready" ]
done
# the daemon evicts as it accepts: wait (bounded) until the 8 over the
# table's 40 places are out, then the new client makes one more
wait_until 60 metric_ge fluxgate_dns_tcp_evicted_total 8
assert_match "table full (48 idle on 40 places): a new client is answered" \
	"$RR_WWW_A" "$(tcp_query 10.54.0.7)"
wait_until 30 metric_ge fluxgate_dns_tcp_evicted_total 9
v=$(metric fluxgate_dns_tcp_evicted_total)
if [ "${v:-0}" -ge 9 ]; then ok "metrics: $v idle connections evicted (>= 9)"
else fail "metrics: >= 9 idle connections evicted" "got '${v:-}'"; fi
for p in "${pids[@]}"; do stop_bg "$p"; done
stop_fluxgated "fluxgated stops cleanly (table 40)"
finish
