#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Distributed mode's failover pair: two agents (ga, gb) of one controller
# share the pool routes through real keepalived (VRRP) with the shipped
# notify script, and real conntrackd (FTFW) replicates the NATed flows,
# from the shipped etc/failover/ samples.
#
#   cl1 10.83.0.100 (downloader) --+                      +-- srv 10.85.0.10 (lighttpd :80)
#   cl2 10.83.0.101 (holds a grant)+-- br0 (sw) -- ga .2 --+-- br1 (sw)
#   ctl 10.83.0.10 (controller) ---+          \-- gb .3 --/
#   VIPs 10.83.0.1 (lan0) and 10.85.0.1 (srv0), held by the VRRP master;
#   ga sync0 10.87.0.1 ---- gb sync0 10.87.0.2 (conntrackd FTFW, VRRP on lan0)
#
# Checks: the controller grants on both gateways; a 48 MiB download
# through the master (ga) survives the death of ga (its keepalived
# SIGKILLed by PID, its links down) with curl's exit 0, every byte, the
# right digest and no TCP reset on client or server; the backup committed
# conntrackd's external cache before it took the addresses; a client that
# held an unused grant connects through the backup. Prints the failover
# time (not asserted).
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dist_lib.sh"

need_root
need_cmd ip kdig curl nft lighttpd keepalived conntrackd conntrack arping flock sha256sum
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
ETC="$(cd "$(dirname "$0")/../../etc/failover" && pwd)"
NOTIFY=${FG_FAILOVER_NOTIFY:-$ETC/fluxgate-failover-notify}  # (a mutant, to see this test fail)
BIG_MB=48

ns_add sw cl1 cl2 cl3 ctl ga gb srv
nsx sw ip link add br0 type bridge
nsx sw ip link add br1 type bridge
nsx sw ip link set br0 up
nsx sw ip link set br1 up
port() { # port NS IF ADDR BRIDGE: NS's IF on the switch's BRIDGE
	veth_link "$1" "$2" "$3" sw "$1-$2" ""
	nsx sw ip link set "$1-$2" master "$4"
}
port cl1 eth0 10.83.0.100/24 br0
port cl2 eth0 10.83.0.101/24 br0
port cl3 eth0 10.83.0.102/24 br0
port ctl eth0 10.83.0.10/24 br0
port ga lan0 10.83.0.2/24 br0
port gb lan0 10.83.0.3/24 br0
port ga srv0 10.85.0.2/24 br1
port gb srv0 10.85.0.3/24 br1
port srv eth0 10.85.0.10/24 br1
veth_link ga sync0 10.87.0.1/24 gb sync0 10.87.0.2/24
for c in cl1 cl2 cl3 ctl; do nsx $c ip route add 198.51.100.0/24 via 10.83.0.1; done
nsx srv ip route add 10.83.0.0/24 via 10.85.0.1
for g in ga gb; do
	nsx $g sysctl -qw net.ipv4.ip_forward=1
	nsx $g sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true
done

# ---- the backend: lighttpd serving the 48 MiB file
mkdir -p "$FG_WORK/www"
echo "failover-ok" >"$FG_WORK/www/index.html"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$FG_WORK/www/big"
BIG_SUM=$(sha256sum <"$FG_WORK/www/big" | cut -d' ' -f1)
cat >"$FG_WORK/lighttpd.conf" <<EOF2
server.document-root = "$FG_WORK/www"
server.port = 80
server.bind = "10.85.0.10"
server.pid-file = "$FG_WORK/lighttpd.pid"
server.errorlog = "$FG_WORK/lighttpd-error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/plain", "" => "application/octet-stream" )
EOF2
start_bg lighttpd srv lighttpd -D -f "$FG_WORK/lighttpd.conf"
HTTP_PID=$BG_PID
wait_port srv tcp 80 20 "$HTTP_PID" || die "lighttpd did not start" "$(cat "$FG_WORK/lighttpd.log")"

# ---- fluxgated: a controller, two agents serving the same pool
KA="$FG_WORK/ga.psk" KB="$FG_WORK/gb.psk"
dist_psk "$KA" "$KB"
T=fgf$$
common() {
	cat <<EOF2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.83.0.10"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.85.0.10@80
    pool: web4
    ttl: 600s
policy:
  direct: [ 10.83.0.0/24 ]
EOF2
}
agent_conf ga 10.83.0.2@4700 "$KA" >"$FG_WORK/ga.conf"
agent_conf gb 10.83.0.3@4700 "$KB" >"$FG_WORK/gb.conf"
cat >"$FG_WORK/ctl.conf" <<EOF2
role: controller
server:
  listen: [ "10.83.0.10@53" ]
  user: nobody
  workers: 1
dist:
  id: ctl
agent:
  - id: ga
    address: 10.83.0.2@4700
    psk-file: $KA
    timeout: 5s
    pair: gb
  - id: gb
    address: 10.83.0.3@4700
    psk-file: $KB
    timeout: 5s
    pair: ga
control:
  socket: $FG_WORK/ctl.sock
$(common)
EOF2


start_d ga ga "$FG_WORK/ga.conf"
start_d gb gb "$FG_WORK/gb.conf"
wait_port ga tcp 4700 60 "${DPID[ga]}" || die "agent ga does not listen" "$(tail "$FG_WORK/ga.log")"
wait_port gb tcp 4700 60 "${DPID[gb]}" || die "agent gb does not listen" "$(tail "$FG_WORK/gb.log")"
start_d ctl ctl "$FG_WORK/ctl.conf"
wait_dns cl1 10.83.0.10 example.test 60 "${DPID[ctl]}" || die "controller does not answer" "$(tail "$FG_WORK/ctl.log")"
wait_for 60 is_up ga && wait_for 60 is_up gb || die "agents not up" "$(ctl_status)"

# ---- conntrackd and keepalived from the shipped samples
for g in ga gb; do
	d="$FG_WORK/$g"
	mkdir -p "$d"
	if [ $g = ga ]; then me=10.87.0.1 peer=10.87.0.2 prio=150; else me=10.87.0.2 peer=10.87.0.1 prio=100; fi
	sed -e "s#IPv4_address 10.87.0.1              \\# this#IPv4_address $me  \\# this#" \
		-e "s#IPv4_Destination_Address 10.87.0.2#IPv4_Destination_Address $peer#" \
		-e "s#/var/lock/conntrack.lock#$d/conntrack.lock#" -e "s#/var/run/conntrackd.ctl#$d/conntrackd.ctl#" \
		-e "s#/var/log/conntrackd.log#$d/conntrackd.log#" \
		"$ETC/conntrackd.conf.sample" >"$d/conntrackd.conf"
	sed -e "s#/etc/conntrackd/conntrackd.conf#$d/conntrackd.conf#" \
		-e "s#/run/fluxgate-failover.lock#$d/failover.lock#" -e "s#/var/log/fluxgate-failover.log#$d/failover.log#" \
		"$ETC/failover.conf.sample" >"$d/failover.conf"
	sed -e "s#router_id fluxgate-a#router_id fluxgate-$g#" -e "s#priority 150#priority $prio#" \
		-e "s#/usr/local/lib/fluxgate/fluxgate-failover-notify /etc/fluxgate/failover/failover.conf#$NOTIFY $d/failover.conf#" \
		-e "/enable_script_security/d" \
		"$ETC/keepalived.conf.sample" >"$d/keepalived.conf"
done
for g in ga gb; do # the samples' paths all replaced: nothing of the host's is used
	sed 's/#.*//' "$FG_WORK/$g/conntrackd.conf" "$FG_WORK/$g/failover.conf" |
		grep -E '/var/(lock|run|log)/|/etc/conntrackd/|/run/fluxgate' &&
		die "a sample path was not replaced"
done
grep -q "IPv4_address 10.87.0.2" "$FG_WORK/gb/conntrackd.conf" || die "conntrackd sample: the UDP block changed"
declare -A CTD=()
for g in ga gb; do
	start_bg "conntrackd-$g" $g conntrackd -C "$FG_WORK/$g/conntrackd.conf"
	CTD[$g]=$BG_PID
done
ct_ready() { nsx "$1" conntrackd -C "$FG_WORK/$1/conntrackd.conf" -s >/dev/null 2>&1; }
wait_for 30 ct_ready ga && wait_for 30 ct_ready gb || die "conntrackd does not answer" "$(cat "$FG_WORK"/conntrackd-*.log)"
kad() { # kad G: keepalived of gateway G, VRRP only, in the foreground
	local d="$FG_WORK/$1"
	start_bg "keepalived-$1" "$1" keepalived -n -l -D -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid" -c "$d/checkers.pid"
	KAD[$1]=$BG_PID
}
has_vips() { # has_vips G: G holds both virtual addresses
	nsx "$1" ip -o addr show dev lan0 | grep -q ' 10\.83\.0\.1/' &&
		nsx "$1" ip -o addr show dev srv0 | grep -q ' 10\.85\.0\.1/'
}
declare -A KAD=()
kad ga
wait_for 60 has_vips ga && ok "ga is VRRP master and holds the virtual addresses" ||
	die "ga did not become master" "$(tail -n 30 "$FG_WORK/keepalived-ga.log")"
kad gb
log_has() { grep -q "$2" "$FG_WORK/$1.log" 2>/dev/null; }
wait_for 60 log_has keepalived-gb 'Entering BACKUP STATE' && ok "gb is VRRP backup" ||
	fail "gb is VRRP backup" "$(tail -n 30 "$FG_WORK/keepalived-gb.log")"
has_vips gb && fail "the backup holds no virtual address" || ok "the backup holds no virtual address"

# ---- grants on both gateways: cl2's stays unused until the failover
query() { nsx "$1" kdig @10.83.0.10 +retry=0 +timeout=12 www.example.test A 2>&1 |
	grep -E '^www\.example\.test\.\s+[0-9]+\s+IN\s+A\s' | awk '{print $5}' | head -n 1; }
A1=$(query cl1)
A2=$(query cl2)
assert_match "cl1 granted a pool address" '^198\.51\.100\.' "$A1"
assert_match "cl2 granted a pool address" '^198\.51\.100\.' "$A2"
for g in ga gb; do
	m=$(nsx $g nft list map inet "${T}$g" grant_client4 2>/dev/null)
	assert_match "$g holds cl1's grant" "10\\.83\\.0\\.100 \\. ${A1//./\\.} " "$m"
	assert_match "$g holds cl2's grant" "10\\.83\\.0\\.101 \\. ${A2//./\\.} " "$m"
done

# ---- the download through the master, then ga dies
tcp_ctr() { # tcp_ctr NS FIELD: a Tcp: counter of /proc/net/snmp in NS
	nsx "$1" awk -v f="$2" '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) h[i] = $i; n = 1 } else for (i = 1; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp
}
R_CL0=$(tcp_ctr cl1 OutRsts) R_SRV0=$(tcp_ctr srv OutRsts)
E_CL0=$(tcp_ctr cl1 EstabResets) E_SRV0=$(tcp_ctr srv EstabResets)
# rate-limited so that the download spans the failover on any machine
start_bg curl cl1 curl -s -o "$FG_WORK/big.out" -w '%{http_code} %{size_download}\n' \
	--limit-rate 3M --max-time 300 "http://$A1/big"
CURL_PID=$BG_PID
got() { [ "$(stat -c %s "$FG_WORK/big.out" 2>/dev/null || echo 0)" -ge $((6 * 1024 * 1024)) ]; }
wait_for 120 got || die "the download does not start" "$(cat "$FG_WORK/curl.log")"
# the flow is in gb's external cache (replicated by FTFW) before ga dies
in_ext() { nsx gb conntrackd -C "$FG_WORK/gb/conntrackd.conf" -e 2>/dev/null | grep -q "src=10\\.83\\.0\\.100 dst=${A1//./\\.} .*dport=80"; }
wait_for 60 in_ext && ok "gb's conntrackd holds the download's flow in its external cache" ||
	fail "gb's conntrackd holds the download's flow in its external cache" \
		"$(nsx gb conntrackd -C "$FG_WORK/gb/conntrackd.conf" -e 2>&1 | head)"
has_ct() { nsx gb conntrack -L -p tcp --orig-src 10.83.0.100 --orig-dst "$A1" 2>/dev/null | grep -q ESTABLISHED; }
has_ct gb && fail "before the failover gb's kernel does not track the flow" ||
	ok "before the failover gb's kernel does not track the flow"

KA_PIDS="${KAD[ga]} $(ps -o pid= --ppid "${KAD[ga]}" | tr '\n' ' ')"
T0=$(date +%s.%N)
kill -KILL $KA_PIDS
for i in lan0 srv0 sync0; do nsx ga ip link set "$i" down; done
log "ga died (keepalived $KA_PIDS SIGKILLed, links down) at ${BIG_MB} MiB download byte $(stat -c %s "$FG_WORK/big.out")"
wait_for 120 has_vips gb && ok "gb took the virtual addresses" ||
	fail "gb took the virtual addresses" "$(tail -n 30 "$FG_WORK/keepalived-gb.log")"
T1=$(date +%s.%N)
FAILOVER=$(echo "$T1 - $T0" | bc -l 2>/dev/null || python3 -c "print($T1 - $T0)")
printf '[%s] failover time: %.2f s (ga killed -> both virtual addresses on gb)\n' "$FG_TEST_NAME" "$FAILOVER"
has_ct && ok "gb's kernel tracks the download's flow (committed)" ||
	fail "gb's kernel tracks the download's flow (committed)" "$(nsx gb conntrack -L 2>&1 | head)"
# the notify script's order: the commit returned before any address was taken
nl() { grep -n -m1 "$1" "$FG_WORK/gb/failover.log" | cut -d: -f1; }
LC=$(nl 'MASTER: commit of the external cache done') LT=$(nl 'MASTER: took ')
if [ -n "$LC" ] && [ -n "$LT" ] && [ "$LC" -lt "$LT" ]; then
	ok "gb: the commit returned before the addresses were taken"
else
	fail "gb: the commit returned before the addresses were taken" "$(cat "$FG_WORK/gb/failover.log")"
fi

# ---- the download completes, no reset anywhere
wait "$CURL_PID"
CURL_RC=$?
_forget_pid "$CURL_PID"
assert_eq "curl exits 0 across the failover" 0 "$CURL_RC"
assert_eq "curl: HTTP 200 and every byte" "200 $((BIG_MB * 1024 * 1024))" "$(tail -n 1 "$FG_WORK/curl.log")"
assert_eq "the file arrived intact (sha256)" "$BIG_SUM" "$(sha256sum <"$FG_WORK/big.out" | cut -d' ' -f1)"
assert_eq "client sent no TCP reset" "$R_CL0" "$(tcp_ctr cl1 OutRsts)"
assert_eq "server sent no TCP reset" "$R_SRV0" "$(tcp_ctr srv OutRsts)"
assert_eq "client: no established connection reset" "$E_CL0" "$(tcp_ctr cl1 EstabResets)"
assert_eq "server: no established connection reset" "$E_SRV0" "$(tcp_ctr srv EstabResets)"

# ---- the client that held an unused grant connects through the backup
assert_eq "cl2 connects with its earlier grant through gb" failover-ok \
	"$(nsx cl2 curl -s --max-time 20 "http://$A2/")"
assert_match "gb tracked cl2's connection" 'dport=80' \
	"$(nsx gb conntrack -L -p tcp --orig-src 10.83.0.101 --orig-dst "$A2" 2>/dev/null)"

# ---- new grants after the failover: ga's link is down, its pair partner
# gb ACKs alone (agent[].pair); ga is queued the commands
gone() { case $(agent_state ga) in down | connecting) return 0 ;; esac; return 1; }
wait_for 120 gone && ok "controller: ga's link is down" || fail "controller: ga's link is down" "$(ctl_status)"
A3=$(query cl3)
assert_match "a new client is granted with ga down (its pair gb ACKed)" '^198\.51\.100\.' "$A3"
assert_match "gb holds the new grant" "10\\.83\\.0\\.102 \\. ${A3//./\\.} " \
	"$(nsx gb nft list map inet "${T}gb" grant_client4 2>/dev/null)"
assert_eq "the new client connects through gb" failover-ok "$(nsx cl3 curl -s --max-time 20 "http://$A3/")"
assert_match "controller: commands queued for ga" '^[1-9]' "$(agent_field ga pair_queued)"

# ---- ga comes back (without the addresses: its keepalived is gone): the
# controller replays what it missed, so it could be master again
nsx ga ip addr del 10.83.0.1/24 dev lan0 2>/dev/null
nsx ga ip addr del 10.85.0.1/24 dev srv0 2>/dev/null
for i in lan0 srv0 sync0; do nsx ga ip link set "$i" up; done
back() { [ "$(agent_state ga)" = up ] && [ "$(agent_field ga lag)" = 0 ]; }
wait_for 120 back && ok "controller: ga reconnected and caught up" || fail "controller: ga reconnected and caught up" "$(ctl_status)"
assert_match "ga was replayed the grant made while it was down" "10\\.83\\.0\\.102 \\. ${A3//./\\.} " \
	"$(nsx ga nft list map inet "${T}ga" grant_client4 2>/dev/null)"

stop_bg "${KAD[gb]}"
stop_d ctl
stop_d ga
stop_d gb
for g in ga gb; do stop_bg "${CTD[$g]}"; done
stop_bg "$HTTP_PID"
for g in ga gb; do nsx $g nft delete table inet "${T}$g" 2>/dev/null; done
finish
