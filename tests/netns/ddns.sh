#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# External authoritative servers (service.external, issue #8): fluxgated
# moves names that a real knotd and a real BIND 9 named serve, with RFC 2136
# UPDATEs signed with TSIG (hmac-sha256), one epoch (2 s) at a time.
#
#   cli 10.0.1.2 ---- 10.0.1.1 gw (fluxgated, nftables) 10.0.2.1 ---- 10.0.2.10 srv (lighttpd)
#                                  10.0.4.1 ---- 10.0.4.53 knot (knotd: knot.test, bad.test)
#                                  10.0.6.1 ---- 10.0.6.53 bind (named: bind.test)
#
# Checks:
#   - kdig (Knot) and dig (BIND) see the address rotate at every epoch;
#   - each newly published address is reachable through the gateway (curl
#     to the backend) the moment it is seen at the server;
#   - two names of one zone change in one UPDATE: one serial step for both;
#   - the serial follows the server's policy: +1 per update (Knot's
#     serial-policy: increment, BIND's default), i.e. the number of
#     published updates fluxgated counts;
#   - AAAA rotates as A does (IPv6 pool and backend);
#   - a key the server does not know (BADKEY) and a wrong secret (BADSIG)
#     are refused by knotd and reported by fluxgated (log line and
#     fluxgate_ddns_updates_total{result}); the names stay as they were;
#   - serial-policy: unixtime makes the serial the time of the update;
#   - a frozen named (timeouts) leaves the published address granted;
#   - a SIGHUP reload keeps rotating; after kill -9 the published address
#     still leads to the backend and the restarted daemon goes on.
#
# Env: FLUXGATED, VALGRIND=1, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig dig knotd named curl lighttpd python3 ss nft
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"

ns_add cli gw srv knot bind
veth_link cli eth0 10.0.1.2/24,fd00:1::2/64 gw c0 10.0.1.1/24,fd00:1::1/64
addr_add cli eth0 10.0.1.3/24   # a client that connects only late (no pin)
veth_link srv eth0 10.0.2.10/24,fd00:2::10/64 gw s0 10.0.2.1/24,fd00:2::1/64
veth_link knot eth0 10.0.4.53/24 gw k0 10.0.4.1/24
veth_link bind eth0 10.0.6.53/24 gw b0 10.0.6.1/24
nsx cli ip route add default via 10.0.1.1
nsx cli ip -6 route add default via fd00:1::1
nsx srv ip route add default via 10.0.2.1
nsx srv ip -6 route add default via fd00:2::1
nsx knot ip route add default via 10.0.4.1
nsx bind ip route add default via 10.0.6.1
nsx gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || die "gateway sysctls"
for k in all default c0 s0 k0 b0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "cannot set nf_conntrack_tcp_loose=0"

SECRET=$(head -c 32 /dev/urandom | base64)
OTHER=$(head -c 32 /dev/urandom | base64)

# ------------------------------------------------------------ backend
mkdir -p "$FG_WORK/srv/www"
echo real >"$FG_WORK/srv/www/index.html"
cat >"$FG_WORK/srv/lighttpd.conf" <<EOF
server.document-root = "$FG_WORK/srv/www"
server.port = 80
server.bind = "0.0.0.0"
\$SERVER["socket"] == "[::]:80" { }
server.pid-file = "$FG_WORK/srv/lighttpd.pid"
server.errorlog = "$FG_WORK/srv/error.log"
index-file.names = ( "index.html" )
EOF
start_bg lighttpd srv lighttpd -D -f "$FG_WORK/srv/lighttpd.conf"; SRV_PID=$BG_PID

# ------------------------------------------------------------ knotd
# The key may change only A/AAAA at or below its own name (update-owner:
# key): fluxgate's names live under mtd.knot.test.
KDIR="$FG_WORK/knot"
rm -rf "$KDIR"   # no journal of an earlier run in the same FG_LOGDIR
mkdir -p "$KDIR/run" "$KDIR/db"
for z in knot.test bad.test sig.test time.test; do
	cat >"$KDIR/$z.zone" <<EOF
\$TTL 60
@ SOA ns1 hostmaster 100 3600 600 86400 1
@ NS ns1
ns1 A 10.0.4.53
shop.mtd A 192.0.2.1
api.mtd A 192.0.2.2
x.mtd A 192.0.2.3
y.mtd A 192.0.2.5
t.mtd A 192.0.2.6
EOF
done
cat >"$KDIR/knot.conf" <<EOF
server:
    rundir: "$KDIR/run"
    user: root:root
    listen: [ "10.0.4.53@53" ]
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$KDIR/db"
key:
  - id: mtd.knot.test
    algorithm: hmac-sha256
    secret: $SECRET
  - id: mtd.sig.test
    algorithm: hmac-sha256
    secret: $OTHER
  - id: mtd.time.test
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: fluxgate
    key: [ mtd.knot.test, mtd.sig.test, mtd.time.test ]
    action: update
    update-owner: key
    update-type: [ A, AAAA ]
template:
  - id: default
    storage: "$KDIR"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    serial-policy: increment
    acl: fluxgate
zone:
  - domain: knot.test
  - domain: bad.test
  - domain: sig.test
  - domain: time.test
    serial-policy: unixtime
EOF
start_bg knotd knot knotd -c "$KDIR/knot.conf"; KNOT_PID=$BG_PID

# ------------------------------------------------------------ BIND
BDIR="$FG_WORK/bind"
rm -rf "$BDIR"
mkdir -p "$BDIR"
cat >"$BDIR/bind.test.zone" <<EOF
\$TTL 60
@ SOA ns1 hostmaster 100 3600 600 86400 1
@ NS ns1
ns1 A 10.0.6.53
www.mtd A 192.0.2.4
EOF
cat >"$BDIR/named.conf" <<EOF
key "mtd.bind.test" { algorithm hmac-sha256; secret "$SECRET"; };
controls { };
options {
    directory "$BDIR";
    pid-file "$BDIR/named.pid";
    session-keyfile "$BDIR/session.key";
    listen-on port 53 { 10.0.6.53; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    allow-query { any; };
};
zone "bind.test" {
    type primary;
    file "$BDIR/bind.test.zone";
    journal "$BDIR/bind.test.zone.jnl";
    update-policy { grant mtd.bind.test. selfsub mtd.bind.test. A AAAA; };
};
EOF
start_bg named bind named -g -c "$BDIR/named.conf"; BIND_PID=$BG_PID

wait_dns cli 10.0.4.53 knot.test 30 "$KNOT_PID" \
	|| { fail "knotd answers" "$(tail -n 20 "$FG_WORK/knotd.log")"; finish; }
wait_dns cli 10.0.6.53 bind.test 30 "$BIND_PID" \
	|| { fail "named answers" "$(tail -n 20 "$FG_WORK/named.log")"; finish; }
wait_port srv tcp 80 60 "$SRV_PID" || { fail "lighttpd listens"; finish; }

serial() { nsx cli kdig @"$1" +short +timeout=2 +retry=1 "$2" SOA 2>/dev/null | awk '{print $3}'; }
KNOT_SERIAL0=$(serial 10.0.4.53 knot.test)
BIND_SERIAL0=$(serial 10.0.6.53 bind.test)
assert_eq "knotd serves knot.test at serial 100" 100 "$KNOT_SERIAL0"
assert_eq "named serves bind.test at serial 100" 100 "$BIND_SERIAL0"

# ------------------------------------------------------------ fluxgated
CONF="$FG_WORK/fluxgate.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "10.0.1.1@53" ]
  user: nobody
  workers: 1
control:
  socket: "$FG_WORK/control.sock"
metrics:
  listen: 10.0.1.1@9153
log:
  level: info
  file: "$FG_WORK/eve.json"
key:
  - id: mtd.knot.test
    algorithm: hmac-sha256
    secret: "$SECRET"
  - id: mtd.bind.test
    algorithm: hmac-sha256
    secret: "$SECRET"
  - id: nokey.bad.test
    algorithm: hmac-sha256
    secret: "$SECRET"
  - id: mtd.sig.test              # knotd has another secret for it
    algorithm: hmac-sha256
    secret: "$SECRET"
  - id: mtd.time.test
    algorithm: hmac-sha256
    secret: "$SECRET"
pool:
  - { id: shop4, prefix: 198.51.100.0/26 }
  - { id: api4, prefix: 198.51.100.64/26 }
  - { id: www4, prefix: 198.51.100.128/26 }
  - { id: x4, prefix: 198.51.100.192/26 }
  - { id: y4, prefix: 203.0.113.0/26 }
  - { id: t4, prefix: 203.0.113.64/26 }
  - { id: shop6, prefix: "2001:db8:77::/64" }
service:
  - id: shop
    name: shop.mtd.knot.test
    backend: [ 10.0.2.10, "fd00:2::10" ]
    ports: [ tcp/80 ]
    pool: [ shop4, shop6 ]
    ttl: 1s
    grace: 20s                    # kill -9 below: the grant outlives the daemon long enough to check
    external: { server: 10.0.4.53@53, zone: knot.test, key: mtd.knot.test, epoch: 2s, timeout: 1s }
  - id: api
    name: api.mtd.knot.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: api4
    ttl: 1s
    grace: 1s
    external: { server: 10.0.4.53@53, zone: knot.test, key: mtd.knot.test, epoch: 2s, timeout: 1s }
  - id: www
    name: www.mtd.bind.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: www4
    ttl: 1s
    grace: 3s
    external: { server: 10.0.6.53, zone: bind.test, key: mtd.bind.test, epoch: 2s, timeout: 1s }
  - id: x
    name: x.mtd.bad.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: x4
    ttl: 1s
    grace: 1s
    external: { server: 10.0.4.53, zone: bad.test, key: nokey.bad.test, epoch: 2s, timeout: 1s }
  - id: y
    name: y.mtd.sig.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: y4
    ttl: 1s
    grace: 1s
    external: { server: 10.0.4.53, zone: sig.test, key: mtd.sig.test, epoch: 2s, timeout: 1s }
  - id: t
    name: t.mtd.time.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: t4
    ttl: 1s
    grace: 1s
    external: { server: 10.0.4.53, zone: time.test, key: mtd.time.test, epoch: 2s, timeout: 1s }
nat:
  table: fg$$ddns
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the external-services config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

start_fluxgated gw "$CONF"
T=30; [ "$VALGRIND" = 1 ] && T=120

# addr SERVER NAME TOOL: the A (QTYPE) record at the server
QTYPE=A
addr() {
	if [ "$3" = dig ]; then
		nsx cli dig @"$1" +short +time=2 +tries=1 "$2" "$QTYPE" 2>/dev/null | head -n1
	else
		nsx cli kdig @"$1" +short +timeout=2 +retry=1 "$2" "$QTYPE" 2>/dev/null | head -n1
	fi
}
url() { case $1 in *:*) echo "http://[$1]/" ;; *) echo "http://$1/" ;; esac; }

# follow LABEL SERVER NAME TOOL ROUNDS: wait for ROUNDS new addresses; each
# must be in the pool and reachable (curl) as soon as it is seen.
follow() {
	local label=$1 srv=$2 name=$3 tool=$4 rounds=$5 prev cur i deadline body seen=0 bad=0
	prev=$(addr "$srv" "$name" "$tool")
	for ((i = 0; i < rounds; i++)); do
		deadline=$((SECONDS + T))
		while cur=$(addr "$srv" "$name" "$tool"); [ "$cur" = "$prev" ] || [ -z "$cur" ]; do
			[ $SECONDS -lt $deadline ] || break
			sleep 0.1
		done
		if [ "$cur" = "$prev" ] || [ -z "$cur" ]; then
			fail "$label: $tool sees $name rotate (round $((i + 1)))" "still '$prev'" \
				"$(tail -n 20 "$FG_FLUXGATED_LOG")"
			return
		fi
		# at once, through the gateway to the real server
		body=$(nsx cli curl -s --max-time 5 "$(url "$cur")" 2>&1)
		if [ "$body" = real ]; then
			seen=$((seen + 1))
		else
			bad=$((bad + 1))
			fail "$label: $cur reachable the moment it is published" "curl: $body"
		fi
		prev=$cur
	done
	assert_eq "$label: $tool saw $rounds rotations of $name, each reachable at once" \
		"$rounds" "$seen"
	assert_match "$label: the last address is in the service's pool" '^(198\.51\.100\.|2001:db8:77:)' "$prev"
}

follow knot 10.0.4.53 shop.mtd.knot.test kdig 3
QTYPE=AAAA follow knot6 10.0.4.53 shop.mtd.knot.test kdig 2
follow bind 10.0.6.53 www.mtd.bind.test dig 3

# one UPDATE for both names of knot.test: they change under the same serial
s_before=$(serial 10.0.4.53 knot.test)
a_before=$(addr 10.0.4.53 api.mtd.knot.test kdig)
h_before=$(addr 10.0.4.53 shop.mtd.knot.test kdig)
deadline=$((SECONDS + T))
while [ "$(serial 10.0.4.53 knot.test)" = "$s_before" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
s_after=$(serial 10.0.4.53 knot.test)
a_after=$(addr 10.0.4.53 api.mtd.knot.test kdig)
h_after=$(addr 10.0.4.53 shop.mtd.knot.test kdig)
if [ "$a_after" != "$a_before" ] && [ "$h_after" != "$h_before" ] && \
   [ "$s_after" = "$(serial 10.0.4.53 knot.test)" ]; then
	ok "both names of knot.test changed with one serial step ($s_before -> $s_after)"
elif [ "$s_after" != "$(serial 10.0.4.53 knot.test)" ]; then
	ok "both names of knot.test: the next epoch came in between (not judged)"
else
	fail "both names of knot.test change with one serial step" \
		"serial $s_before -> $s_after, api $a_before -> $a_after, shop $h_before -> $h_after"
fi

# ------------------------------------------------------------ serials and metrics
metrics() { nsx cli curl -s --max-time 5 http://10.0.1.1:9153/metrics; }
ok_count() { # ZONE: published updates fluxgated counted
	metrics | awk -v z="$1" '$1 == "fluxgate_ddns_updates_total{zone=\"" z "\",result=\"ok\"}" {print $2}'
}
# serial - 100 == updates counted, read between two equal counts
serial_matches() { # LABEL SERVER ZONE
	local i c1 s c2
	for ((i = 0; i < 20; i++)); do
		c1=$(ok_count "$3"); s=$(serial "$2" "$3"); c2=$(ok_count "$3")
		# one more than counted: an update the server applied whose
		# answer fluxgated has not read yet (a slow daemon): look again
		if [ -n "$c1" ] && [ "$c1" = "$c2" ] && [ "$s" != "$((101 + c1))" ]; then
			assert_eq "$1: serial went up by one per published update ($c1 updates)" \
				"$((100 + c1))" "$s"
			return
		fi
		sleep 0.2
	done
	fail "$1: a quiet moment to compare serial and update count" "last: $c1 updates, serial $s"
}
serial_matches knot 10.0.4.53 knot.test
serial_matches bind 10.0.6.53 bind.test
m=$(metrics)
assert_match "metrics: fluxgate_ddns_serial for knot.test" '^fluxgate_ddns_serial\{zone="knot.test"\} [0-9]+' "$m"
assert_match "metrics: rotations counted for shop" '^fluxgate_ddns_rotations_total\{service="shop"\} [1-9]' "$m"
assert_match "metrics: no serial stuck on bind.test" '^fluxgate_ddns_serial_stuck_total\{zone="bind.test"\} 0$' "$m"

# ------------------------------------------------------------ the server stops answering
# named frozen (SIGSTOP): updates time out; the address it last published
# stays granted past its own epoch + ttl + grace (6 s), for a client that
# never connected to it (that a replaced address goes after ttl + grace is
# tests/unit/test_epoch.c: here a random pick may hand it out again)
for ((i = 0; i < 20; i++)); do
	c1=$(ok_count bind.test); pub=$(addr 10.0.6.53 www.mtd.bind.test dig)
	kill -STOP "$BIND_PID"
	c2=$(ok_count bind.test)
	[ -n "$pub" ] && [ "$c1" = "$c2" ] && break
	kill -CONT "$BIND_PID"; sleep 0.3
done
deadline=$((SECONDS + T))
to_count() { metrics | awk '$1 == "fluxgate_ddns_updates_total{zone=\"bind.test\",result=\"timeout\"}" {print $2}'; }
# four epochs of 2 s: past the last grant's epoch + ttl + grace (6 s)
while n=$(to_count); [ "${n:-0}" -lt 4 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
assert_match "frozen server: four updates timed out" '^[4-9]|^[1-9][0-9]' "$(to_count)"
body=$(nsx cli curl -s --max-time 5 --interface 10.0.1.3 "http://$pub/" 2>&1)
assert_eq "frozen server: the published $pub still leads to the backend for a new client" real "$body"
assert_match "frozen server: fluxgated logs the timeout" \
	'ddns: zone bind.test at 10.0.6.53@53: update timeout: 10.0.6.53@53: no answer within 1000 ms' \
	"$(cat "$FG_FLUXGATED_LOG")"
kill -CONT "$BIND_PID"
follow "bind after the freeze" 10.0.6.53 www.mtd.bind.test dig 1

# ------------------------------------------------------------ reload
kill -HUP "$FG_FLUXGATED_PID"
deadline=$((SECONDS + T))
while ! grep -q 'reload done' "$FG_FLUXGATED_LOG" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
assert_match "SIGHUP: reloaded" 'reload done' "$(cat "$FG_FLUXGATED_LOG")"
follow "knot after the reload" 10.0.4.53 shop.mtd.knot.test kdig 2

# ------------------------------------------------------------ kill -9 and restart
# the published address is kernel state: it outlives the daemon, and the
# restarted one goes on rotating (its first update at once)
for ((i = 0; i < 20; i++)); do
	c1=$(ok_count knot.test); pub=$(addr 10.0.4.53 shop.mtd.knot.test kdig)
	kids=$(pgrep -P "$FG_FLUXGATED_PID" | tr '\n' ' ')
	c2=$(ok_count knot.test)
	[ -n "$pub" ] && [ "$c1" = "$c2" ] && break
	sleep 0.3
done
{ kill -KILL "$FG_FLUXGATED_PID"; wait "$FG_FLUXGATED_PID"; } 2>/dev/null
_forget_pid "$FG_FLUXGATED_PID"
FG_FLUXGATED_PID=""
for _ in $(seq 100); do
	left=""
	for k in $kids; do kill -0 "$k" 2>/dev/null && left+="$k "; done
	[ -z "$left" ] && break
	sleep 0.1
done
for k in $left; do kill -KILL "$k" 2>/dev/null; done
assert_eq "kill -9: the daemon's children are gone" "" "$left"
body=$(nsx cli curl -s --max-time 5 --interface 10.0.1.3 "$(url "$pub")" 2>&1)
assert_eq "kill -9: the published $pub still leads to the backend (kernel state)" real "$body"
start_fluxgated gw "$CONF" fluxgated-restarted
follow "knot after kill -9 and restart" 10.0.4.53 shop.mtd.knot.test kdig 2

# ------------------------------------------------------------ the wrong key
# knotd knows no key nokey.bad.test: NOTAUTH with TSIG error BADKEY
deadline=$((SECONDS + T))
while ! metrics | grep -Eq '^fluxgate_ddns_updates_total\{zone="bad.test",result="badkey"\} [1-9]' \
	&& [ $SECONDS -lt $deadline ]; do sleep 0.2; done
m=$(metrics)
assert_match "wrong key: counted as badkey" \
	'^fluxgate_ddns_updates_total\{zone="bad.test",result="badkey"\} [1-9]' "$m"
assert_match "wrong key: nothing published for bad.test" \
	'^fluxgate_ddns_updates_total\{zone="bad.test",result="ok"\} 0$' "$m"
assert_match "wrong key: fluxgated logs the refusal precisely" \
	'ddns: zone bad.test at 10.0.4.53@53: update badkey: server answered NOTAUTH, TSIG error BADKEY' \
	"$(cat "$FG_FLUXGATED_LOG")"
assert_match "wrong key: an error event for it (where ddns)" \
	'"event_type":"error".*"where":"ddns".*zone bad.test at 10.0.4.53@53: update badkey' \
	"$(cat "$FG_WORK/eve.json" 2>/dev/null)"
assert_eq "wrong key: x.mtd.bad.test keeps its address at knotd" 192.0.2.3 \
	"$(addr 10.0.4.53 x.mtd.bad.test kdig)"
assert_nomatch "wrong key: knotd applied no update to bad.test" '\[bad\.test\.\] DDNS' \
	"$(cat "$FG_WORK/knotd.log")"

# knotd knows mtd.sig.test with another secret: NOTAUTH with TSIG error BADSIG
deadline=$((SECONDS + T))
while ! metrics | grep -Eq '^fluxgate_ddns_updates_total\{zone="sig.test",result="badsig"\} [1-9]' \
	&& [ $SECONDS -lt $deadline ]; do sleep 0.2; done
m=$(metrics)
assert_match "wrong secret: counted as badsig" \
	'^fluxgate_ddns_updates_total\{zone="sig.test",result="badsig"\} [1-9]' "$m"
assert_match "wrong secret: fluxgated logs the refusal precisely" \
	'ddns: zone sig.test at 10.0.4.53@53: update badsig: server answered NOTAUTH, TSIG error BADSIG' \
	"$(cat "$FG_FLUXGATED_LOG")"
assert_eq "wrong secret: y.mtd.sig.test keeps its address at knotd" 192.0.2.5 \
	"$(addr 10.0.4.53 y.mtd.sig.test kdig)"

# serial-policy: unixtime on time.test: the serial is the time of the update
assert_match "unixtime: t.mtd.time.test rotated" '^203\.0\.113\.' "$(addr 10.0.4.53 t.mtd.time.test kdig)"
ts=$(serial 10.0.4.53 time.test); now=$(date +%s)
# (Knot takes max(now, serial + 1): two updates in one second run ahead)
if [ -n "$ts" ] && [ "$ts" -le $((now + 10)) ] && [ "$ts" -gt $((now - 600)) ]; then
	ok "unixtime: the serial of time.test is the time of an update ($ts, now $now)"
else
	fail "unixtime: the serial of time.test is the time of an update" "serial '$ts', now $now"
fi
assert_match "unixtime: fluxgated read that serial" \
	"^fluxgate_ddns_serial\\{zone=\"time.test\"\\} 1[0-9]{9}" "$(metrics)"
st=$(nsx gw "$FLUXCTL" -s "$FG_WORK/control.sock" --json status 2>&1)
assert_match "fluxctl status: knot.test published, last epoch ok" \
	'"zone": *"knot.test", *"server": *"10.0.4.53@53", *"last": *"ok"' "$(tr -d '\n' <<<"$st" | sed 's/}/}\n/g')"
assert_match "fluxctl status: bad.test refused, last epoch badkey" \
	'"zone": *"bad.test", *"server": *"10.0.4.53@53", *"last": *"badkey", *"published": *0' \
	"$(tr -d '\n' <<<"$st" | sed 's/}/}\n/g')"
fluxgated_alive "fluxgated keeps serving after the refusals"

stop_fluxgated
finish
