#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Where the time of the grant path goes: perf record (software cpu-clock
# event: this machine's VM has no hardware counters) of the whole system
# while dnsperf asks a granted name of fluxgated (production build, nft
# backend, privilege separation, workers: 1), then a report by process
# ([dns] worker, [priv] channel thread, kernel) and symbol.
#
#   bench/grant/profile.sh            # granted A (exact scope)
#   QNAME=www.example.test bench/grant/profile.sh   # a static answer
#
# ECS=1: the queries come from a policy.resolvers source with ECS
# 10.53.0.0/24 (a subnet grant each).
# Env: FLUXGATED, SECS (perf record seconds, 8), QNAME, QTYPE, ECS, CPU (taskset
# the server to this CPU, empty: not pinned), OUT (report file).
HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-profile
. "$HERE/../../tests/netns/lib.sh"

SECS=${SECS:-8}
QNAME=${QNAME:-svc.example.test}
QTYPE=${QTYPE:-A}
CPU=${CPU:-}
DNSPERF_ARGS=""
[ "${ECS:-0}" = 1 ] && DNSPERF_ARGS="-a 10.53.0.3 -E 8:000118000a3500"
OUT=${OUT:-$FG_WORK/profile.txt}
need_root
need_cmd ip dnsperf perf
[ "$VALGRIND" = 1 ] && die "do not profile under valgrind (FG_NETNS_VALGRIND=0)"

ns_add perf fg
veth_link perf fg0 10.53.0.2/24,fd53::2/64 fg eth0 10.53.0.1/24,fd53::1/64
addr_add perf fg0 10.53.0.3/24
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<CONF
server:
  listen: [ "10.53.0.1@53", "fd53::1@53" ]
  user: nobody
  workers: 1
control:
  socket: "$FG_WORK/control.sock"
log:
  level: warning
pool:
  - id: svc4
    prefix: 198.18.0.0/15
  - id: svc6
    prefix: 2001:db8:100::/64
service:
  - id: svc
    name: svc.example.test
    backend: [ 10.53.9.9, "fd53:9::9" ]
    ports: [ any ]
    pool: [ svc4, svc6 ]
    ttl: 1s
    grace: 1s
policy:
  direct: [ 10.53.0.2/32, "fd53::/64" ]
  resolvers: [ 10.53.0.3/32 ]
rrl:
  rate: 0                 # a benchmark from one source: no rate limit
nat:
  backend: nft
  grant-set-size: 2M
CONF
	zones_yaml
} >"$CONF"
FLUXGATED_REAL=$FLUXGATED
if [ -n "$CPU" ]; then
	FLUXGATED="$FG_WORK/fg-pinned"
	printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$CPU" "$FLUXGATED_REAL" >"$FLUXGATED"
	chmod +x "$FLUXGATED"
fi
start_fluxgated fg "$CONF"
wait_dns perf 10.53.0.1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
echo "$QNAME $QTYPE" >"$FG_WORK/q.txt"
# shellcheck disable=SC2086
nsx perf dnsperf -s 10.53.0.1 -d "$FG_WORK/q.txt" -l $((SECS + 9)) -c 4 -q 64 -t 2 $DNSPERF_ARGS >"$FG_WORK/dnsperf.txt" 2>&1 &
DP=$!
sleep 2
perf record -e cpu-clock -F 2999 -a -g -o "$FG_WORK/perf.data" -- sleep "$SECS" 2>"$FG_WORK/perf-record.log"
# syscalls per answer, both processes (the [dns] process is the child of
# the one started, [priv])
DNS_PID=$(pgrep -P "$FG_FLUXGATED_PID" | head -n 1)
q0=$(nsx fg "$(dirname "$FLUXGATED_REAL")/fluxctl" -s "$FG_WORK/control.sock" --json stats 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin)["dns"]; print(d["queries_udp"])')
perf stat -x, -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvmsg,syscalls:sys_enter_poll,cs \
	-p "$FG_FLUXGATED_PID,$DNS_PID" -o "$FG_WORK/stat.txt" -- sleep 4
q1=$(nsx fg "$(dirname "$FLUXGATED_REAL")/fluxctl" -s "$FG_WORK/control.sock" --json stats 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin)["dns"]; print(d["queries_udp"])')
wait "$DP"
log "dnsperf: $(awk '/Queries per second:/ {print $4}' "$FG_WORK/dnsperf.txt") q/s"
{
	echo "== per answer, both processes, over 4 s ($((q1 - q0)) queries) =="
	awk -F, -v n=$((q1 - q0)) '$1 ~ /^[0-9]+$/ && n > 0 { printf "  %-36s %8.3f\n", $3, $1 / n }' "$FG_WORK/stat.txt"
	echo "== the stages (inclusive share of all samples; user-space frames have no frame pointers, so"
	echo "   user functions are self time) =="
	rep() { perf report -i "$FG_WORK/perf.data" --children --comms "$1" --sort sym --stdio -g none 2>/dev/null | grep -v '^#'; }
	pick() { awk -v pat="$2" -v lab="$1" '$0 ~ pat { c += $1 + 0 } END { printf "  %-52s %6.2f%%\n", lab, c }'; }
	rep fluxgated >"$FG_WORK/rep-dns.txt"
	rep fluxgated-priv >"$FG_WORK/rep-priv.txt"
	pick "[dns] receive (recvmmsg)" '\] __x64_sys_recvmmsg$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] parse (fg_dns_parse_query, names; self)" '\] (fg_dns_parse_query|fg_dns_wire_name|fg_dns_name_[a-z_]+|parse_opt)$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] answer lookup/build (self)" '\] (fg_dns_answer_[a-z_]+|fg_zonedb_[a-z_]+|fg_dnsb_[a-z_]+|build_answer|resolve|finish_service|write_name|htab_get|slot_find)$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] policy + address pick (self)" '\] (fg_grant_begin|fg_scope_decide|fg_pool_[a-z_]+|to_u128|hold_get|choose|worker_rand)$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] -> [priv] hop (unix send/recv, poll)" '\] (__x64_sys_sendmsg|__x64_sys_recvmsg|__x64_sys_poll)$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] send answers (sendmmsg, incl. veth + peer rx)" '\] __x64_sys_sendmmsg$' <"$FG_WORK/rep-dns.txt"
	pick "[dns] epoll_wait + scheduling" '\] (__x64_sys_epoll_wait)$' <"$FG_WORK/rep-dns.txt"
	pick "[priv] channel recv/send (unix)" '\] (unix_dgram_sendmsg|__unix_dgram_recvmsg)$' <"$FG_WORK/rep-priv.txt"
	pick "[priv] policy check (fg_ps_check_grant; self)" '\] (fg_ps_check_grant|fg_nat_grant_allowed|pv_commit_check|grant_check)$' <"$FG_WORK/rep-priv.txt"
	pick "[priv] netlink encoding (self)" '\] (emit_group|elem_put|put_data|grant_key|mnl_[a-z_]+|nftnl_[a-z_]+|elems_start|track_msg)$' <"$FG_WORK/rep-priv.txt"
	pick "[priv] commit in the kernel (nfnetlink_rcv_batch)" '\] nfnetlink_rcv_batch$' <"$FG_WORK/rep-priv.txt"
	pick "[priv] ACK read (netlink_recvmsg)" '\] netlink_recvmsg$' <"$FG_WORK/rep-priv.txt"
	echo "== by process (comm) =="
	perf report -i "$FG_WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
	echo "== fluxgated [dns] (comm fluxgated), top symbols =="
	perf report -i "$FG_WORK/perf.data" --no-children --comms fluxgated --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45
	echo "== fluxgated [priv] (comm fluxgated-priv), top symbols =="
	perf report -i "$FG_WORK/perf.data" --no-children --comms fluxgated-priv --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45
	echo "== fluxgated [dns], inclusive (children) =="
	perf report -i "$FG_WORK/perf.data" --children --comms fluxgated --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60
	echo "== fluxgated [priv], inclusive (children) =="
	perf report -i "$FG_WORK/perf.data" --children --comms fluxgated-priv --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -50
} >"$OUT"
cat "$OUT"
stop_fluxgated "fluxgated stopped"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ]
