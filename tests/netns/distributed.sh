#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Distributed mode: a controller answers DNS, two NAT agents (each its own
# nftables data plane, the same pool) apply its grants over TLS 1.3 (PSK).
#
#   cli 10.80.0.2 --DNS-- ctl 10.80.0.1 (fluxgated role controller)
#                          ctl 10.81.0.1 ---- ga 10.81.0.2:4700 (agent ga)
#                          ctl 10.82.0.1:4701 (tls_mitm.py) ---- gb 10.82.0.2:4700 (agent gb)
#   cli --10.83.0.0/24-- ga --10.85.0.0/24--\
#                                              srv 10.90.0.10 (python http.server :8080)
#   cli --10.84.0.0/24-- gb --10.86.0.0/24--/
#   cli sends pool traffic (198.51.100.0/24) from 10.80.0.2 via ga or gb.
#
# Checks: a granted client connects through ga and through gb; both
# kernels hold the grant before the answer; with gb stopped (SIGSTOP) the
# answer is SERVFAIL and no kernel keeps a grant for it; a wrong PSK and a
# plaintext client are refused at the handshake and counted; a replayed
# and a reordered TLS record tear the connection down with nothing
# applied; an agent restart keeps its kernel state and is reconciled
# (nothing sent: nothing differs).
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dist_lib.sh"

need_root
need_cmd ip kdig python3 curl openssl nft
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
MITM="$(dirname "$0")/tools/tls_mitm.py"

ns_add cli ctl ga gb srv
veth_link cli c0 10.80.0.2/24 ctl k0 10.80.0.1/24
veth_link ctl ka 10.81.0.1/24 ga a0 10.81.0.2/24
veth_link ctl kb 10.82.0.1/24 gb b0 10.82.0.2/24
veth_link cli ca 10.83.0.2/24 ga a1 10.83.0.1/24
veth_link cli cb 10.84.0.2/24 gb b1 10.84.0.1/24
veth_link ga a2 10.85.0.1/24 srv sa 10.85.0.10/24
veth_link gb b2 10.86.0.1/24 srv sb 10.86.0.10/24
addr_add srv lo 10.90.0.10/32
for g in ga gb; do
	nsx $g sysctl -qw net.ipv4.ip_forward=1
done
for n in ctl ga gb; do
	nsx $n sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
done
nsx ga ip route add 10.80.0.2/32 via 10.83.0.2
nsx gb ip route add 10.80.0.2/32 via 10.84.0.2
nsx ga ip route add 10.90.0.10/32 via 10.85.0.10
nsx gb ip route add 10.90.0.10/32 via 10.86.0.10
via() { # via ga|gb: the client's pool traffic and the server's replies take that agent
	if [ "$1" = ga ]; then
		nsx cli ip route replace 198.51.100.0/24 via 10.83.0.1 src 10.80.0.2
		nsx srv ip route replace 10.80.0.2/32 via 10.85.0.1
	else
		nsx cli ip route replace 198.51.100.0/24 via 10.84.0.1 src 10.80.0.2
		nsx srv ip route replace 10.80.0.2/32 via 10.86.0.1
	fi
}
via ga

mkdir -p "$FG_WORK/www"
echo "distributed-ok" >"$FG_WORK/www/index.html"
start_bg http srv python3 -m http.server --bind 10.90.0.10 --directory "$FG_WORK/www" 8080
HTTP_PID=$BG_PID
wait_port srv tcp 8080 20 "$HTTP_PID" || die "backend web server did not start"

# keys: one per agent, the controller holds both
KA="$FG_WORK/ga.psk" KB="$FG_WORK/gb.psk"
dist_psk "$KA" "$KB"
T=fgd$$

common() { # the zone, pool and service every node shares
	cat <<EOF2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.80.0.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
  - id: alta
    prefix: 203.0.113.0/25
  - id: altb
    prefix: 203.0.113.128/25
service:
  - id: www
    name: www.example.test
    backend: 10.90.0.10@8080
    pool: web4
    ttl: 600s   # outlives the agent restart below under valgrind
  - id: alt
    name: alt.example.test
    backend: 10.90.0.10@8080
    pool: [ alta, altb ]
    ttl: 600s   # outlives the agent restart below under valgrind
policy:
  direct: [ 10.80.0.0/24 ]
  resolvers: [ 10.80.0.250/32 ]
EOF2
}

agent_conf ga 10.81.0.2@4700 "$KA" 127.0.0.1@9153 >"$FG_WORK/ga.conf"
# ga's file alone names an external service (RFC 2136 publishing) whose
# key it lacks: an agent publishes nothing, so it loads, starts no epoch
# thread and grants nothing for it (the controller knows no such service)
python3 - "$FG_WORK/ga.conf" <<'EOF2' || die "cannot add the external service to ga.conf"
import sys
p = sys.argv[1]
s = open(p).read()
assert "\nservice:\n" in s and "\npool:\n" in s
s = s.replace("\npool:\n", "\npool:\n  - id: extp\n    prefix: 192.0.2.0/28\n", 1)
s = s.replace("\nservice:\n", """
service:
  - id: ext
    name: ext.knot.test
    backend: 10.90.0.10@8080
    pool: extp
    external: { server: 10.81.0.1@5354, zone: knot.test, key: nokey.knot.test, epoch: 2s, timeout: 1s }
""", 1)
open(p, "w").write(s)
EOF2
agent_conf gb 10.82.0.2@4700 "$KB" 127.0.0.1@9153 >"$FG_WORK/gb.conf"
cat >"$FG_WORK/ctl.conf" <<EOF2
role: controller
server:
  listen: [ "10.80.0.1@53" ]
  user: nobody
  workers: 2
dist:
  id: ctl
  on-timeout: healthy-pool
agent:
  - id: ga
    address: 10.81.0.1@4700
    psk-file: $KA
    pool: [ web4, altb ]
    timeout: 3s
  - id: gb
    address: 10.82.0.1@4701
    psk-file: $KB
    pool: [ web4, alta ]
    timeout: 3s
control:
  socket: $FG_WORK/ctl.sock
metrics:
  listen: "10.80.0.1@9153"
$(common)
EOF2
# ga's address as the controller sees it (no proxy in front of ga)
sed -i 's/10.81.0.1@4700/10.81.0.2@4700/' "$FG_WORK/ctl.conf"

dns_child() { # the [dns] process of a daemon: the child of its [priv] process
	local p=${DPID[$1]} c
	c=$(ps -o pid= --ppid "$p" | head -n 1 | tr -d ' ')
	echo "$c"
}
wait_up() { wait_for "${2:-60}" is_up "$1"; }  # wait_up ID [TIMEOUT]
grants_for() { # grants_for AGENT: kernel grant elements for the client
	nsx "$1" nft list map inet "${T}$1" grant_client4 2>/dev/null | grep -c '10\.80\.0\.2 \. 198\.51\.100\.'
}
grant_expiries() { # grant_expiries AGENT: "ADDR SECONDS-LEFT" of each grant element for the client
	nsx "$1" nft list map inet "${T}$1" grant_client4 2>/dev/null | python3 -c '
import re, sys
unit = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
for m in re.finditer(r"10\.80\.0\.2 \. (198\.51\.100\.[0-9]+)[^,}]*?expires ((?:[0-9]+(?:ms|d|h|m|s))+)", sys.stdin.read()):
    left = sum(int(n) * unit[u] for n, u in re.findall(r"([0-9]+)(ms|d|h|m|s)", m.group(2)))
    print(m.group(1), int(left))'
}
lost_grants() { # lost_grants AGENT BEFORE ELAPSED: elements of BEFORE (grant_expiries) that should be live and are not
	local now a left
	now=$(grant_expiries "$1" | awk '{print $1}')
	while read -r a left; do
		[ -n "$a" ] || continue
		[ "$left" -gt $(($3 + 2)) ] || continue   # lapsed meanwhile (a slow machine): not a flush
		grep -qx "$a" <<<"$now" || echo "$a"
	done <<<"$2"
}
ametric() { # ametric AGENT PATTERN: a metric line of the agent
	nsx "$1" curl -s --max-time 5 http://127.0.0.1:9153/metrics | grep -E "^$2" | awk '{print $2}' | head -n 1
}
query() { nsx cli kdig @10.80.0.1 +retry=0 +timeout=12 www.example.test A 2>&1; }
addr_of() { grep -E '^www\.example\.test\.\s+[0-9]+\s+IN\s+A\s' | awk '{print $5}' | head -n 1; }

start_d ga ga "$FG_WORK/ga.conf"
start_d gb gb "$FG_WORK/gb.conf"
start_bg mitm ctl python3 -u "$MITM" 10.82.0.1 4701 10.82.0.2 4700
MITM_PID=$BG_PID
wait_port ga tcp 4700 60 "${DPID[ga]}" || die "agent ga does not listen" "$(tail "$FG_WORK/ga.log")"
wait_port gb tcp 4700 60 "${DPID[gb]}" || die "agent gb does not listen"
wait_port ctl tcp 4701 20 "$MITM_PID" || die "mitm does not listen"
start_d ctl ctl "$FG_WORK/ctl.conf"
wait_dns cli 10.80.0.1 example.test 60 "${DPID[ctl]}" || die "controller does not answer" "$(tail "$FG_WORK/ctl.log")"
wait_up ga && ok "controller: agent ga is up" || fail "controller: agent ga is up" "$(ctl_status)"
wait_up gb && ok "controller: agent gb is up" || fail "controller: agent gb is up" "$(ctl_status)"
# the agent with an external service in its file (see ga.conf above)
assert_nomatch "agent ga: no epoch thread for its external service (no ddns line)" 'ddns' \
	"$(cat "$FG_WORK/ga.log")"
assert_eq "agent ga: nothing granted for its external service's pool" "" \
	"$(nsx ga nft list set inet "${T}ga" grant_any4 2>/dev/null | grep -o '192\.0\.2\.[0-9]*')"

# ---- a grant on both agents before the answer; connect through each
out=$(query)
A1=$(echo "$out" | addr_of)
assert_match "granted answer carries a pool address" '^198\.51\.100\.' "$A1"
for g in ga gb; do
	n=$(nsx $g nft list map inet "${T}$g" grant_client4 2>/dev/null | grep -c "10.80.0.2 . $A1 ")
	assert_eq "$g holds the grant of the answer" 1 "$n"
done
assert_eq "curl through agent ga" distributed-ok "$(nsx cli curl -s --max-time 10 "http://$A1:8080/")"
via gb
assert_eq "curl through agent gb" distributed-ok "$(nsx cli curl -s --max-time 10 "http://$A1:8080/")"
via ga
m=$(nsx ctl curl -s --max-time 5 http://10.80.0.1:9153/metrics)
assert_match "metrics: fluxgate_agent_up{agent=ga} 1" 'fluxgate_agent_up\{agent="ga"\} 1' "$m"
assert_match "metrics: ack latency histogram of gb" 'fluxgate_agent_ack_duration_seconds_count\{agent="gb"\} [1-9]' "$m"

# ---- grant before answer across machines: gb stopped, no address leaves
GA0=$(grants_for ga) GB0=$(grants_for gb)
GBD=$(dns_child gb)
kill -STOP "$GBD"
out=$(query)
assert_match "gb stopped: SERVFAIL" 'status: SERVFAIL' "$out"
assert_eq "gb stopped: no address in the answer" "" "$(echo "$out" | addr_of)"
out=$(query)
assert_match "gb stalled: next query SERVFAIL at once" 'status: SERVFAIL' "$out"
# on-timeout: healthy-pool: a service with another pool answers from it
out=$(nsx cli kdig @10.80.0.1 +retry=0 +timeout=12 alt.example.test A 2>&1)
log "alt answer: $(echo "$out" | grep -E "status|^alt")"
AH=$(echo "$out" | grep -E '^alt\.example\.test\.\s' | awk '{print $5}' | head -n 1)
assert_match "healthy-pool: alt answered from the pool of the healthy agent (altb)" \
	'^203\.0\.113\.(1[3-9][0-9]|2[0-9][0-9])$' "$AH"
assert_eq "healthy-pool: ga holds that grant" 1 \
	"$(nsx ga nft list map inet "${T}ga" grant_client4 2>/dev/null | grep -c "10.80.0.2 . $AH ")"
# ga applied the batch and then its revoke: nothing left of it
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ] && [ "$(grants_for ga)" != "$GA0" ]; do sleep 0.2; done
assert_eq "ga keeps no grant of the unanswered batch" "$GA0" "$(grants_for ga)"
kill -CONT "$GBD"
wait_up gb 30 && ok "gb back up after SIGCONT" || fail "gb back up after SIGCONT" "$(ctl_status)"
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ] && [ "$(agent_field gb lag)" != 0 ]; do sleep 0.2; done
assert_eq "gb caught up (lag 0)" 0 "$(agent_field gb lag)"
assert_eq "gb keeps no grant of the unanswered batch" "$GB0" "$(grants_for gb)"
to=$(agent_field gb timeouts)
assert_match "controller counted gb's timeout" '^[1-9]' "$to"
out=$(query)
assert_match "after gb resumed: granted again" '^198\.51\.100\.' "$(echo "$out" | addr_of)"

# ---- handshake refusals: a wrong PSK, a plaintext client
H0=$(ametric ga 'fluxgate_dist_refused_total\{reason="handshake"\}')
WRONG=$(openssl rand -hex 32)
nsx ctl timeout 10 openssl s_client -connect 10.81.0.2:4700 -tls1_3 -psk_identity ctl \
	-psk "$WRONG" -ciphersuites TLS_AES_128_GCM_SHA256 </dev/null >"$FG_WORK/wrongpsk.out" 2>&1
assert_nomatch "wrong PSK: no session" 'Cipher is TLS_AES' "$(grep -a 'Cipher is' "$FG_WORK/wrongpsk.out")"
nsx ctl python3 -c '
import socket
s = socket.create_connection(("10.81.0.2", 4700), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
try:
    print(len(s.recv(100)))
except Exception:
    print(0)
' >/dev/null 2>&1
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && [ "$(ametric ga 'fluxgate_dist_refused_total\{reason="handshake"\}')" != $((H0 + 2)) ]; do sleep 0.2; done
assert_eq "wrong PSK and plaintext: 2 handshakes refused and counted" $((H0 + 2)) \
	"$(ametric ga 'fluxgate_dist_refused_total\{reason="handshake"\}')"
assert_match "refusal logged" 'refused at the TLS handshake' "$(cat "$FG_WORK/ga.log")"
wait_up ga 30 && ok "ga still serves" || fail "ga still serves" "$(ctl_status)"

# ---- a replayed and a reordered record: torn down, nothing applied
for mode in replay reorder; do
	E0=$(ametric gb 'fluxgate_dist_tls_errors_total')
	C0=$(ametric gb 'fluxgate_dist_commands_total\{result="applied"\}')
	GB0=$(grants_for gb)
	if [ $mode = replay ]; then kill -USR1 "$MITM_PID"; else kill -USR2 "$MITM_PID"; fi
	out=$(query)
	A=$(echo "$out" | addr_of)
	deadline=$((SECONDS + 20))
	while [ $SECONDS -lt $deadline ] && [ "$(ametric gb 'fluxgate_dist_tls_errors_total')" = "$E0" ]; do sleep 0.2; done
	assert_eq "$mode: gb tore the connection down (TLS error counted)" $((E0 + 1)) "$(ametric gb 'fluxgate_dist_tls_errors_total')"
	assert_match "$mode: the proxy tampered" "${mode}ed" "$(cat "$FG_WORK/mitm.log")"
	wait_up gb 30 && ok "$mode: controller reconnected to gb" || fail "$mode: controller reconnected to gb" "$(ctl_status)"
	deadline=$((SECONDS + 20))
	while [ $SECONDS -lt $deadline ] && [ "$(agent_field gb lag)" != 0 ]; do sleep 0.2; done
	C1=$(ametric gb 'fluxgate_dist_commands_total\{result="applied"\}')
	if [ -n "$A" ]; then
		# answered: gb applied that grant exactly once, the copy nothing
		assert_eq "$mode: answered grant applied once on gb" 1 \
			"$(nsx gb nft list map inet "${T}gb" grant_client4 | grep -c "10.80.0.2 . $A ")"
	else
		assert_eq "$mode: unanswered: gb holds no grant of it" "$GB0" "$(grants_for gb)"
	fi
	log "$mode: applied commands on gb $C0 -> $C1, answer '${A:-none}'"
done

# ---- agent restart: kernel state kept, the controller reconciles (a
# digest exchange: nothing differs, nothing is sent)
GA0=$(grants_for ga)
GA0_EXP=$(grant_expiries ga) GA0_T=$SECONDS
N0=$(agent_field ga reconcile.runs) S0=$(agent_field ga reconcile.grants_sent)
stop_d ga
out=$(query)
assert_match "ga down: SERVFAIL" 'status: SERVFAIL' "$out"
assert_eq "ga down: its kernel keeps its grants" "$GA0" "$(grants_for ga)"
start_d ga2 ga "$FG_WORK/ga.conf"    # ga again (a log of its own)
wait_up ga 60 && ok "ga restarted and reconnected" || fail "ga restarted and reconnected" "$(ctl_status)"
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ] && [ "$(agent_field ga lag)" != 0 ]; do sleep 0.2; done
wait_for 60 eval '[ "$(agent_field ga reconcile.runs)" -gt "$N0" ]'
assert_match "controller reconciled with the restarted ga" '^[1-9]' "$(($(agent_field ga reconcile.runs) - N0))"
assert_eq "the restarted ga was sent no grant (it lacked none)" "$S0" "$(agent_field ga reconcile.grants_sent)"
# every grant that has not lapsed meanwhile is still there (under valgrind
# the restart may outlast some of the older ones' lifetimes)
assert_match "ga: grants before the restart seen with their expiry" '^[0-9]' "$(wc -l <<<"$GA0_EXP")"
assert_eq "ga: nothing flushed by the restart" "" "$(lost_grants ga "$GA0_EXP" $((SECONDS - GA0_T)))"
out=$(query)
A2=$(echo "$out" | addr_of)
assert_match "after the restart: granted" '^198\.51\.100\.' "$A2"
assert_eq "curl through the restarted ga" distributed-ok "$(nsx cli curl -s --max-time 10 "http://$A2:8080/")"

# ---- quarantine and release fan out to every agent
nsx ctl "$FLUXCTL" -s "$FG_WORK/ctl.sock" quarantine 10.80.0.77 --for 60s >/dev/null 2>&1
assert_eq "fluxctl quarantine on the controller: done" 0 $?
for g in ga gb; do
	assert_match "$g quarantined the source" '10\.80\.0\.77' \
		"$(nsx $g nft list set inet "${T}$g" quarantine4 2>/dev/null)"
done
nsx ctl "$FLUXCTL" -s "$FG_WORK/ctl.sock" release 10.80.0.77 >/dev/null 2>&1
for g in ga gb; do
	assert_nomatch "$g released it" '10\.80\.0\.77' \
		"$(nsx $g nft list set inet "${T}$g" quarantine4 2>/dev/null)"
done

stop_d ctl
stop_d ga2
stop_d gb
stop_bg "$MITM_PID"
stop_bg "$HTTP_PID"
for g in ga gb; do nsx $g nft delete table inet "${T}$g" 2>/dev/null; done
finish
