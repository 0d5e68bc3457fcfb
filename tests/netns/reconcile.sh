#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Distributed mode's reconciliation by per-set digests: an agent whose
# control link is down for longer than the controller's log (dist.log-size
# 16) is reconciled when it comes back, and only the difference travels.
#
#   cli 10.80.0.2, .100-.123 --DNS-- ctl 10.80.0.1 (controller, log-size 16)
#                                    ctl 10.81.0.1 ---- ga 10.81.0.2:4700 (agent ga)
#                                    ctl 10.82.0.1 ---- gb 10.82.0.2:4700 (agent gb, ga's pair)
#   cli --10.83.0.0/24-- ga --10.85.0.0/24-- srv 10.90.0.10 (python http.server :8080)
#   The client's pool traffic (198.51.100.0/24) goes through ga only; ga's
#   control link (a0) is what goes down, not its data path.
#
# Checks: with ga's link down, 24 grants (more than the log holds) are
# answered on gb's ACK and three stale grants are put in ga's kernel; when
# the link is back, ga's kernel grant map (nft's own dump) equals gb's and
# the controller's count; the metrics say 24 grants sent, 3 revoked and no
# command replayed from the log; a client holding a grant connects through
# ga all along (before, during and after), and a client granted while ga
# was away connects through it after; a restart of ga's daemon is
# reconciled with nothing sent and nothing revoked.
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dist_lib.sh"

need_root
need_cmd ip kdig python3 curl openssl nft
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
NEW=24   # grants made while ga is away (the log holds 16 commands)

ns_add cli ctl ga gb srv
veth_link cli c0 10.80.0.2/24 ctl k0 10.80.0.1/24
veth_link ctl ka 10.81.0.1/24 ga a0 10.81.0.2/24
veth_link ctl kb 10.82.0.1/24 gb b0 10.82.0.2/24
veth_link cli ca 10.83.0.2/24 ga a1 10.83.0.1/24
veth_link ga a2 10.85.0.1/24 srv sa 10.85.0.10/24
addr_add srv lo 10.90.0.10/32
for i in $(seq 100 $((100 + NEW - 1))); do addr_add cli c0 10.80.0.$i/24; done
nsx ga sysctl -qw net.ipv4.ip_forward=1
nsx ga sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
nsx ga ip route add 10.80.0.0/24 via 10.83.0.2
nsx ga ip route add 10.90.0.10/32 via 10.85.0.10
nsx cli ip route add 198.51.100.0/24 via 10.83.0.1
nsx srv ip route add 10.80.0.0/24 via 10.85.0.1

mkdir -p "$FG_WORK/www"
echo "reconcile-ok" >"$FG_WORK/www/index.html"
start_bg http srv python3 -m http.server --bind 10.90.0.10 --directory "$FG_WORK/www" 8080
HTTP_PID=$BG_PID
wait_port srv tcp 8080 20 "$HTTP_PID" || die "backend web server did not start"

KA="$FG_WORK/ga.psk" KB="$FG_WORK/gb.psk"
dist_psk "$KA" "$KB"
T=fgr$$

common() {
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
service:
  - id: www
    name: www.example.test
    backend: 10.90.0.10@8080
    pool: web4
    ttl: 600s   # outlives the whole run under valgrind
policy:
  direct: [ 10.80.0.0/24 ]
EOF2
}
agent_conf ga 10.81.0.2@4700 "$KA" 127.0.0.1@9153 >"$FG_WORK/ga.conf"
agent_conf gb 10.82.0.2@4700 "$KB" 127.0.0.1@9153 >"$FG_WORK/gb.conf"
cat >"$FG_WORK/ctl.conf" <<EOF2
role: controller
server:
  listen: [ "10.80.0.1@53" ]
  user: nobody
  workers: 1
dist:
  id: ctl
  log-size: 16
agent:
  - id: ga
    address: 10.81.0.2@4700
    psk-file: $KA
    timeout: 3s
    pair: gb
  - id: gb
    address: 10.82.0.2@4700
    psk-file: $KB
    timeout: 3s
    pair: ga
control:
  socket: $FG_WORK/ctl.sock
metrics:
  listen: "10.80.0.1@9153"
$(common)
EOF2

query() { # query [SOURCE]
	nsx cli kdig @10.80.0.1 ${1:+-b $1} +retry=0 +timeout=12 www.example.test A 2>&1
}
addr_of() { grep -E '^www\.example\.test\.\s+[0-9]+\s+IN\s+A\s' | awk '{print $5}' | head -n 1; }
# grant_pairs AGENT: "client . address" of every element of its grant map, sorted
grant_pairs() {
	nsx "$1" nft list map inet "${T}$1" grant_client4 2>/dev/null |
		grep -oE '10\.80\.0\.[0-9]+ \. 198\.51\.100\.[0-9]+' | sort
}
cmetric() { # cmetric NAME: the controller's sample of NAME for agent ga
	nsx ctl curl -s --max-time 5 http://10.80.0.1:9153/metrics |
		grep -E "^fluxgate_$1\{agent=\"ga\"\} " | awk '{print $2}' | head -n 1
}
recon() { agent_field ga "reconcile.$1"; }

start_d ga ga "$FG_WORK/ga.conf"
start_d gb gb "$FG_WORK/gb.conf"
wait_port ga tcp 4700 60 "${DPID[ga]}" || die "agent ga does not listen" "$(tail "$FG_WORK/ga.log")"
wait_port gb tcp 4700 60 "${DPID[gb]}" || die "agent gb does not listen" "$(tail "$FG_WORK/gb.log")"
start_d ctl ctl "$FG_WORK/ctl.conf"
wait_dns cli 10.80.0.1 example.test 60 "${DPID[ctl]}" || die "controller does not answer" "$(tail "$FG_WORK/ctl.log")"
wait_for 60 caught_up ga && wait_for 60 caught_up gb || die "agents not up" "$(ctl_status)"
assert_match "first contact: a reconciliation (learning) ran with ga" "^[1-9]" "$(recon runs)"
assert_eq "first contact: ga held no grant of ours" 0 "$(recon grants_learnt)"

# ---- a client granted before the outage, connecting all along
A0=$(query | addr_of)
assert_match "granted answer" '^198\.51\.100\.' "$A0"
assert_eq "curl through ga" reconcile-ok "$(nsx cli curl -s --max-time 10 --interface 10.80.0.2 "http://$A0:8080/")"
cat >"$FG_WORK/probe.sh" <<EOF2
# one curl through ga every 0.3 s, each result on a line, until stopped
while :; do
	if curl -s --max-time 5 --interface 10.80.0.2 -o /dev/null -w '%{http_code}\n' "http://$A0:8080/" | grep -qx 200; then
		echo ok
	else
		echo "fail \$(date +%T.%N)"
	fi
	sleep 0.3
done
EOF2
start_bg probe cli bash "$FG_WORK/probe.sh"
PROBE_PID=$BG_PID

# ---- ga's control link goes down (its data path stays)
R0=$(agent_field ga replayed) S0=$(recon grants_sent) V0=$(recon grants_revoked) N0=$(recon runs)
nsx ga ip link set a0 down
wait_for 120 eval '! is_up ga' && ok "controller: ga's link is down" || fail "controller: ga's link is down" "$(ctl_status)"
declare -A NEWADDR=()
answered=0
for i in $(seq 100 $((100 + NEW - 1))); do
	a=$(query 10.80.0.$i | addr_of)
	[ -n "$a" ] && answered=$((answered + 1)) && NEWADDR[$i]=$a
done
assert_eq "ga away: $NEW grants answered on gb's ACK" "$NEW" "$answered"
assert_match "ga away: more commands queued for it than the log holds" '^(1[7-9]|[2-9][0-9])$' "$(agent_field ga pair_queued)"
# three grants only ga holds (as if the controller revoked them while ga was away)
for s in 201 202 203; do
	nsx ga nft add element inet "${T}ga" grant_client4 "{ 10.80.0.$s . 198.51.100.$s timeout 600s : 10.90.0.10 . 8080 }" \
		|| fail "stale element 10.80.0.$s put in ga's kernel"
done
assert_eq "ga holds the three stale grants" 3 "$(grant_pairs ga | grep -c '^10\.80\.0\.20[123] ')"

# ---- the link is back: reconciled
nsx ga ip link set a0 up
wait_for 120 caught_up ga && ok "ga reconnected and caught up" || fail "ga reconnected and caught up" "$(ctl_status)"
wait_for 60 eval '[ "$(recon runs)" -gt "$N0" ]'
log "reconcile: $(ctl_status | python3 -c "import json,sys; print([a['reconcile'] for a in json.load(sys.stdin)['agents'] if a['id']=='ga'][0])")"
assert_eq "ga's kernel grant map equals gb's (nft dump)" "$(grant_pairs gb)" "$(grant_pairs ga)"
assert_eq "ga's kernel holds as many grants as the controller for it" "$(recon grants)" "$(grant_pairs ga | wc -l)"
assert_eq "ga holds 1 + $NEW grants" $((1 + NEW)) "$(grant_pairs ga | wc -l)"
assert_eq "only the difference sent: $NEW grants" $((S0 + NEW)) "$(recon grants_sent)"
assert_eq "only the difference revoked: the 3 stale grants" $((V0 + 3)) "$(recon grants_revoked)"
assert_eq "no command replayed from the log" "$R0" "$(agent_field ga replayed)"
d=$(recon buckets_differing)
assert_match "some buckets differed, not all" '^([1-9]|[1-9][0-9]|1[01][0-9]|12[0-7])$' "$d"
assert_eq "metrics: grants sent" "$(recon grants_sent)" "$(cmetric agent_reconcile_grants_sent_total)"
assert_eq "metrics: grants revoked" "$(recon grants_revoked)" "$(cmetric agent_reconcile_grants_revoked_total)"
assert_eq "metrics: buckets differing" "$d" "$(cmetric agent_reconcile_buckets_differing_total)"
assert_match "metrics: ga's generation reported" '^[1-9]' "$(cmetric agent_generation)"
assert_match "log: reconciled, not lost" 'reconciled: 24 grants sent, 3 revoked' "$(cat "$FG_WORK/ctl.log")"
assert_nomatch "log: no command lost" 'are lost' "$(cat "$FG_WORK/ctl.log")"
# a client granted while ga was away connects through it now
assert_eq "curl through ga from a client granted while it was away" reconcile-ok \
	"$(nsx cli curl -s --max-time 10 --interface 10.80.0.105 "http://${NEWADDR[105]}:8080/")"

# ---- ga's daemon restarts: kernel state kept, nothing differs, nothing sent
N1=$(recon runs) S1=$(recon grants_sent) V1=$(recon grants_revoked) D1=$(recon buckets_differing)
B1=$(grant_pairs ga)
stop_d ga
start_d ga2 ga "$FG_WORK/ga.conf"
wait_for 120 eval '[ "$(recon runs)" -gt "$N1" ]' && wait_for 60 caught_up ga \
	&& ok "restarted ga reconnected and reconciled" || fail "restarted ga reconnected and reconciled" "$(ctl_status)"
assert_eq "restart: no bucket differed" "$D1" "$(recon buckets_differing)"
assert_eq "restart: nothing sent" "$S1" "$(recon grants_sent)"
assert_eq "restart: nothing revoked" "$V1" "$(recon grants_revoked)"
assert_eq "restart: ga's grants unchanged" "$B1" "$(grant_pairs ga)"

# ---- the client held its grant all along
stop_bg "$PROBE_PID"
probes=$(grep -c . "$FG_WORK/probe.log")
assert_match "the holding client's probes ran throughout" '^([2-9][0-9]|[1-9][0-9]{2,})$' "$probes"
assert_eq "the holding client never failed to connect" "" "$(grep fail "$FG_WORK/probe.log" | head -n 3)"
assert_eq "curl through ga after everything" reconcile-ok "$(nsx cli curl -s --max-time 10 --interface 10.80.0.2 "http://$A0:8080/")"

stop_d ctl
stop_d ga2
stop_d gb
stop_bg "$HTTP_PID"
for g in ga gb; do nsx $g nft delete table inet "${T}$g" 2>/dev/null; done
finish
