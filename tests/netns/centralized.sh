#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Centralized mode end to end (issue 3), real kernel, real peers:
#
#   cli 10.0.1.2-.30, fd00:1::2-::30 --+
#   res 10.0.4.53, fd00:4::53 (unbound)-+-- gw (fluxgated, nftables) --+-- srv 10.0.2.10, fd00:2::10 (lighttpd "real")
#   scan 10.0.5.2 (nmap) --------------+                               +-- dcy 10.0.3.10, fd00:3::10 (fluxdecoy, a persona
#                                                                              whose page says "decoy"; local route for the pool)
# fluxgated listens on 10.0.4.1 / fd00:4::1 (for the resolver) and on
# 10.0.1.1 / fd00:1::1 (stub clients, policy.direct: exact-client grants).
# Services: www (ttl 2s, grace 1s, pin 6s, pools 198.51.100.0/25 and
# 2001:db8:77::/64) and hold (ttl 600s, grace 30s: longer than a restart under valgrind; for the restart, reload
# and quarantine checks, pools 198.51.100.128/25 and 2001:db8:78::/64).
#
# Checks (issue 3): lookup-then-curl through unbound (v4, v6); pool
# addresses without a lookup, or granted to another client (exact, ECS),
# go to the decoy; ECS /24 and /56 grants are elements of the subnet hash
# maps (grant_net4_24, grant_net6_56), /28 and /64 ones of pipapo; a second client behind the resolver within the TTL;
# expiry after TTL + grace, pins; a long transfer across 20 rotations and
# the expiry of its grant, zero resets; an idle connection outliving its
# pin; grant before answer (1000 + 300 zero-delay sessions); quarantine
# and release; kill -9 + restart, SIGHUP, fluxctl reload keep grants and
# flows (subnet grants of both kinds too, and a reload that changes
# ecs-min-prefix4 keeps the former length's map); an nmap SYN scan of the pool never reaches the real server.
# The pools come from one shared file that fluxgated and fluxdecoy both
# include (fluxgate.conf(5), include).
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip curl dig kdig unbound lighttpd nmap nft gcc python3 ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL (build it: make)"
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy not found at $FLUXDECOY (build it: make)"
TOOLS="$FG_REPO/tests/netns/tools"
# Run private copies: the binaries may be rebuilt while the scenario runs,
# and the restart check starts the daemon a second time.
mkdir -p "$FG_WORK/bin"
{ cp "$FLUXGATED" "$FG_WORK/bin/fluxgated" && cp "$FLUXCTL" "$FG_WORK/bin/fluxctl" &&
  cp "$FLUXDECOY" "$FG_WORK/bin/fluxdecoy"; } || die "cannot copy the binaries"
FLUXGATED="$FG_WORK/bin/fluxgated" FLUXCTL="$FG_WORK/bin/fluxctl" FLUXDECOY="$FG_WORK/bin/fluxdecoy"

# Slower daemon under valgrind: longer DNS timeouts, slower transfers.
# RATE5: the long transfer of part 5 (must outlast 10 s); RATE7: the
# download across a restart and two reloads (paused meanwhile, see 7b).
if [ "$VALGRIND" = 1 ]; then DNS_T=8; RATE5=1M; RATE7=512K; else DNS_T=3; RATE5=1M; RATE7=2M; fi

GBA="$FG_WORK/gba_client"
gcc -std=c11 -O2 -Wall -Wextra -o "$GBA" "$TOOLS/gba_client.c" || die "cannot build gba_client"

# ------------------------------------------------------------ topology
ns_add cli res gw srv dcy scan
veth_link cli eth0 "10.0.1.2/24,fd00:1::2/64" gw c0 "10.0.1.1/24,fd00:1::1/64"
veth_link res eth0 "10.0.4.53/24,fd00:4::53/64" gw r0 "10.0.4.1/24,fd00:4::1/64"
veth_link srv eth0 "10.0.2.10/24,fd00:2::10/64" gw s0 "10.0.2.1/24,fd00:2::1/64"
veth_link dcy eth0 "10.0.3.10/24,fd00:3::10/64" gw d0 "10.0.3.1/24,fd00:3::1/64"
veth_link scan eth0 "10.0.5.2/24" gw n0 "10.0.5.1/24"
for i in $(seq 3 30); do
	addr_add cli eth0 "10.0.1.$i/24"
	addr_add cli eth0 "fd00:1::$i/64"
done
nsx cli ip route add default via 10.0.1.1
nsx cli ip -6 route add default via fd00:1::1
nsx res ip route add default via 10.0.4.1
nsx res ip -6 route add default via fd00:4::1
nsx srv ip route add default via 10.0.2.1
nsx srv ip -6 route add default via fd00:2::1
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip -6 route add default via fd00:3::1
nsx scan ip route add default via 10.0.5.1
# the decoy bed owns every pool address
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip -6 route add local 2001:db8:77::/64 dev lo
nsx dcy ip -6 route add local 2001:db8:78::/64 dev lo

# gateway: forwarding, no strict reverse path (decoy answers come from pool
# addresses the gateway has no route for), conntrack strict on TCP
nsx gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || die "gateway sysctls"
for k in all default c0 r0 s0 d0 n0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "cannot set nf_conntrack_tcp_loose=0"

# ------------------------------------------------------------ peers
BIG_MB=24
web_conf() { # web_conf NAME BODY
	local d="$FG_WORK/$1"
	mkdir -p "$d/www"
	echo "$2" >"$d/www/index.html"
	cat >"$d/lighttpd.conf" <<EOF
server.document-root = "$d/www"
server.port = 80
server.bind = "0.0.0.0"
\$SERVER["socket"] == "[::]:80" { }
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/error.log"
server.max-keep-alive-idle = 120
server.max-keep-alive-requests = 10000
server.max-connections = 4096
server.max-fds = 8192
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/plain", "" => "application/octet-stream" )
EOF
}
web_conf srv real
head -c $((BIG_MB * 1024 * 1024)) /dev/zero >"$FG_WORK/srv/www/big"
start_bg lighttpd-srv srv lighttpd -D -f "$FG_WORK/srv/lighttpd.conf"; SRV_PID=$BG_PID

# the pools, shared by fluxgated and fluxdecoy (include:)
POOLS="$FG_WORK/pools.conf"
cat >"$POOLS" <<EOF
pool:
  - id: web4
    prefix: 198.51.100.0/25
  - id: web6
    prefix: 2001:db8:77::/64
  - id: hold4
    prefix: 198.51.100.128/25
  - id: hold6
    prefix: 2001:db8:78::/64
EOF
# readable by root only: fluxgated's DNS process (nobody) cannot open it, so
# the reloads of section 7 take the text the privileged process read
chmod 600 "$POOLS"
# the decoy bed: fluxdecoy with a lighttpd-like persona whose page says
# "decoy", so the checks below see where a session landed
D="$FG_WORK/dcy"; mkdir -p "$D"
cat >"$D/web.persona" <<'EOF'
persona:
  name: decoy
service:
  - port: 80
    kind: http
    response-get: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nAccept-Ranges: bytes\r\nContent-Length: 6\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\nServer: lighttpd/1.4.69\r\n\r\ndecoy\n"
EOF
cat >"$D/fluxdecoy.conf" <<EOF
include: $POOLS
decoy:
  user: nobody
  metrics: 127.0.0.1@9561
  max-clients: 4096
persona:
  - id: web
    file: $D/web.persona
EOF
out=$("$FLUXDECOY" --check -c "$D/fluxdecoy.conf" 2>&1)
assert_eq "fluxdecoy --check: the decoy bed's config (shared pools) is valid" 0 "$?"
start_bg fluxdecoy dcy "$FLUXDECOY" -c "$D/fluxdecoy.conf"; DCY_PID=$BG_PID

UDIR="$FG_WORK/unbound"
mkdir -p "$UDIR"
cat >"$UDIR/unbound.conf" <<EOF
server:
  interface: 10.0.4.53
  interface: fd00:4::53
  port: 53
  do-ip4: yes
  do-ip6: yes
  outgoing-interface: 10.0.4.53
  chroot: ""
  username: ""
  directory: "$UDIR"
  pidfile: "$UDIR/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  num-threads: 1
  so-reuseport: no
  do-not-query-localhost: no
  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  cache-min-ttl: 0
  prefetch: no
  serve-expired: no
  qname-minimisation: no
  domain-insecure: "example.test"
  # test. is one of unbound's default (RFC 6761) local zones: lift it
  local-zone: "test." nodefault
  module-config: "iterator"
remote-control:
  control-enable: no
stub-zone:
  name: "example.test"
  stub-addr: 10.0.4.1
EOF
start_bg unbound res unbound -d -c "$UDIR/unbound.conf"
UNBOUND_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "10.0.4.1@53", "fd00:4::1@53", "10.0.1.1@53", "fd00:1::1@53" ]
  user: nobody
  workers: 2
control:
  socket: "$CTL"
log:
  level: info
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 1s }
    records:
      - "@ NS ns1"
      - "ns1 A 10.0.4.1"
      - "static A 10.0.0.80"
include: $POOLS
service:
  - id: www
    name: www.example.test
    backend: [ 10.0.2.10, "fd00:2::10" ]
    ports: [ any ]
    pool: [ web4, web6 ]
    ttl: 2s
    grace: 1s
    pin: 6s
    rotation: per-answer
  - id: hold
    name: hold.example.test
    backend: [ 10.0.2.10, "fd00:2::10" ]
    ports: [ any ]
    pool: [ hold4, hold6 ]
    ttl: 600s
    grace: 30s
    pin: 6s
    rotation: per-answer
decoy:
  route-via: [ 10.0.3.10, "fd00:3::10" ]
policy:
  direct: [ 10.0.1.0/24, "fd00:1::/64" ]
nat:
  backend: nft
  table: fluxgate
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the centralized config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

DNS_WAIT=30; [ "$VALGRIND" = 1 ] && DNS_WAIT=120
start_fluxgated gw "$CONF"
if ! wait_dns cli 10.0.1.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
ok "fluxgated answers on 10.0.1.1"
wait_dns cli 10.0.4.53 example.test 30 "$UNBOUND_PID" \
	|| { fail "unbound answers on 10.0.4.53" "$(tail -n 20 "$FG_WORK/unbound.log")"; finish; }
wait_port srv tcp 80 60 "$SRV_PID" || { fail "lighttpd (real) listens"; finish; }
wait_port dcy tcp 80 60 "$DCY_PID" || { fail "fluxdecoy listens" "$(tail -n 20 "$FG_WORK/fluxdecoy.log")"; finish; }
check "data plane: table inet fluxgate is installed" nsx gw nft list table inet fluxgate

# ------------------------------------------------------------ helpers
# rlk NAME TYPE: lookup through the resolver (first address only)
rlk() {
	nsx cli dig +short +tries=2 +time="$DNS_T" @10.0.4.53 "$1" "$2" 2>/dev/null \
		| grep -E '^[0-9a-f.:]+$' | grep -E '[.:]' | head -n 1
}
# dlk SRC NAME TYPE: direct (stub) lookup from SRC at fluxgated
dlk() {
	local srv=10.0.1.1
	[[ $1 == *:* ]] && srv=fd00:1::1
	nsx cli dig +short +tries=2 +time="$DNS_T" -b "$1" @"$srv" "$2" "$3" 2>/dev/null \
		| grep -E '^[0-9a-f.:]+$' | grep -E '[.:]' | head -n 1
}
url() { if [[ $1 == *:* ]]; then echo "http://[$1]/${2:-}"; else echo "http://$1/${2:-}"; fi; }
# hget SRC ADDR: body of GET / from SRC to ADDR, or "none"
hget() {
	local out
	[ -n "$2" ] || { echo "none(no address)"; return; }
	out=$(nsx cli curl -g -s -m 5 --interface "$1" "$(url "$2")" 2>/dev/null) || out=""
	echo "${out:-none}"
}
# pool addresses in any map of the table right now (to pick free ones)
granted_now() {
	nsx gw nft list table inet fluxgate 2>/dev/null \
		| grep -oE '(198\.51\.100\.[0-9]+|2001:db8:7[78]:[0-9a-f:]+)' | sort -u
}
fctl() { nsx gw "$FLUXCTL" -s "$CTL" "$@"; }
# rst counters in the client namespace for selected local ports
nsx cli nft -f - <<'EOF' || die "cannot install the client rst counters"
table inet probe {
	counter rst_in {}
	counter rst_out {}
	set ports { type inet_service; }
	chain in { type filter hook input priority 0; tcp dport @ports tcp flags & rst != 0 counter name rst_in; }
	chain out { type filter hook output priority 0; tcp sport @ports tcp flags & rst != 0 counter name rst_out; }
}
EOF
rst_watch() { nsx cli nft add element inet probe ports "{ $1 }"; }
rst_count() {
	local a b
	a=$(nsx cli nft list counter inet probe rst_in | grep -oE 'packets [0-9]+' | awk '{print $2}')
	b=$(nsx cli nft list counter inet probe rst_out | grep -oE 'packets [0-9]+' | awk '{print $2}')
	echo $((a + b))
}

# sessions.sh: N lookup-then-curl sessions through the resolver
cat >"$FG_WORK/sessions.sh" <<'EOF'
#!/bin/bash
# sessions.sh TYPE COUNT SRC DNS_T -> "real=N decoy=N failed=N nodns=N distinct=N"
type=$1 n=$2 src=$3 t=$4
real=0 decoy=0 failed=0 nodns=0
declare -A seen=()
for ((i = 0; i < n; i++)); do
	a=$(dig +short +tries=2 +time="$t" @10.0.4.53 www.example.test "$type" 2>/dev/null | grep -E '[.:]' | head -n 1)
	if [ -z "$a" ]; then nodns=$((nodns + 1)); continue; fi
	seen[$a]=1
	if [ "$type" = AAAA ]; then u="http://[$a]/"; else u="http://$a/"; fi
	b=$(curl -g -s -m 5 --interface "$src" "$u" 2>/dev/null)
	case $b in real) real=$((real + 1)) ;; decoy) decoy=$((decoy + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "real=$real decoy=$decoy failed=$failed nodns=$nodns distinct=${#seen[@]}"
EOF
chmod +x "$FG_WORK/sessions.sh"

# ================================================================ 1
log "1. lookup-then-curl sessions through unbound"
for t in A AAAA; do
	src=10.0.1.2; [ $t = AAAA ] && src=fd00:1::2
	res=$(nsx cli "$FG_WORK/sessions.sh" $t 100 $src "$DNS_T")
	assert_eq "1: 100 of 100 lookup-then-curl sessions reach the real server ($t)" \
		"real=100 decoy=0 failed=0 nodns=0" "${res% distinct=*}"
	# Rotation, by construction rather than by how long 100 sessions
	# take: three lookups, each after the previous answer's 2 s TTL has
	# run out of unbound's cache (sleep 2.5). The previous address is
	# still open to anyone for its grace second, and the pool never hands
	# out an address already open to anyone, so the next answer differs;
	# even on a machine slow enough to miss that second, three equal
	# picks from 128 addresses have odds of 1 in 16384.
	declare -A rot=()
	for k in 1 2 3; do
		[ "$k" -gt 1 ] && sleep 2.5
		a=$(nsx cli dig +short +tries=2 +time="$DNS_T" @10.0.4.53 www.example.test $t 2>/dev/null \
			| grep -E '[.:]' | head -n 1)
		[ -n "$a" ] && rot[$a]=1
	done
	if [ "${#rot[@]}" -ge 2 ]; then ok "1: answers rotate through the resolver cache ($t: ${#rot[@]} addresses in 3 TTLs)"
	else fail "1: answers rotate through the resolver cache ($t)" "addresses: ${!rot[*]}"; fi
	unset rot
done
out=$(nsx cli dig +tries=2 +time="$DNS_T" @10.0.4.53 www.example.test A 2>&1)
assert_match "1: the answer TTL is the service TTL (2 s or less from the cache)" \
	'^www\.example\.test\.[[:space:]]+[0-2][[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.' "$out"
out=$(nsx cli dig +short +tries=2 +time="$DNS_T" @10.0.4.53 static.example.test A 2>&1)
assert_eq "1: a static name answers its static address" "10.0.0.80" "$out"

# ================================================================ 2
log "2. pool addresses without a lookup go to the decoy"
sleep 3.5   # let the ANY grants of part 1 lapse
busy=$(granted_now)
picked=()
for a in 198.51.100.7 198.51.100.33 198.51.100.77 198.51.100.126 198.51.100.140 198.51.100.200 \
	198.51.100.254 198.51.100.9 198.51.100.99 198.51.100.190 \
	2001:db8:77::1 2001:db8:77::abcd 2001:db8:77:0:1234:5678:9abc:def0 2001:db8:78::7 2001:db8:78::ffff; do
	grep -qxF "$a" <<<"$busy" && continue
	picked+=("$a")
done
bad=""
for a in "${picked[@]}"; do
	src=10.0.1.2; [[ $a == *:* ]] && src=fd00:1::2
	b=$(hget $src "$a"); [ "$b" = decoy ] || bad+="$a -> $b; "
done
if [ ${#picked[@]} -ge 10 ] && [ -z "$bad" ]; then ok "2: ${#picked[@]} pool addresses without a lookup reach the decoy (v4 and v6)"
else fail "2: pool addresses without a lookup reach the decoy" "picked: ${picked[*]}" "wrong: $bad"; fi

for fam in 4 6; do
	if [ $fam = 4 ]; then c2=10.0.1.2 c3=10.0.1.3 t=A; else c2=fd00:1::2 c3=fd00:1::3 t=AAAA; fi
	x=$(dlk $c3 www.example.test $t)
	assert_eq "2: address granted to another client (exact scope, v$fam) -> decoy" decoy "$(hget $c2 "$x")"
	assert_eq "2: ... and the client it was granted to reaches real (v$fam)" real "$(hget $c3 "$x")"
done
ecs() { # ecs SUBNET TYPE [NAME]: a query with ECS from the resolver's namespace
	nsx res kdig +short +retry=1 +timeout="$DNS_T" @10.0.4.1 +subnet="$1" "${3:-www.example.test}" "$2" \
		2>/dev/null | grep -E '[.:]' | head -n 1
}
# nmap MAP: the elements of one map of the table, `nft list` text
nmap_of() { nsx gw nft list map inet fluxgate "$1" 2>/dev/null; }
# Subnet grants of ecs-min-prefix4/6 (default /24, /56) are elements of the
# hash maps grant_net4_24 / grant_net6_56 (saddr masked . daddr); other
# lengths stay in the pipapo maps grant_net4 / grant_net6.
y=$(ecs 10.0.9.0/24 A)
assert_match "2: ECS 10.0.9.0/24 grant is an element of the hash map grant_net4_24" \
	"10\.0\.9\.0 \. ${y//./\\.} " "$(nmap_of grant_net4_24)"
assert_eq "2: address granted to another network (ECS 10.0.9.0/24) -> decoy" decoy "$(hget 10.0.1.2 "$y")"
y=$(ecs 10.0.1.0/28 A)
assert_match "2: ECS 10.0.1.0/28 grant is an element of the pipapo map grant_net4" \
	"10\.0\.1\.0/28 \. ${y//./\\.}" "$(nmap_of grant_net4)"
assert_eq "2: ECS 10.0.1.0/28 grant -> its client 10.0.1.2 reaches real" real "$(hget 10.0.1.2 "$y")"
assert_eq "2: ... and 10.0.1.20 (outside the /28) gets the decoy" decoy "$(hget 10.0.1.20 "$y")"
y=$(ecs fd00:9::/56 AAAA)
assert_match "2: ECS fd00:9::/56 grant is an element of the hash map grant_net6_56" \
	"fd00:9:: \. $y " "$(nmap_of grant_net6_56)"
assert_eq "2: address granted to another network (ECS fd00:9::/56) -> decoy" decoy "$(hget fd00:1::2 "$y")"
y=$(ecs fd00:1::/56 AAAA)
assert_eq "2: ECS fd00:1::/56 grant (hash map) -> its client reaches real" real "$(hget fd00:1::2 "$y")"
y=$(ecs fd00:1::/64 AAAA)
assert_match "2: ECS fd00:1::/64 grant is an element of the pipapo map grant_net6" \
	"fd00:1::/64 \. $y" "$(nmap_of grant_net6)"
assert_eq "2: ECS fd00:1::/64 grant -> its client reaches real" real "$(hget fd00:1::2 "$y")"
# last: a /24 grant of the clients' own network covers every check above
y=$(ecs 10.0.1.0/24 A)
assert_match "2: ECS 10.0.1.0/24 grant is an element of grant_net4_24" \
	"10\.0\.1\.0 \. ${y//./\\.} " "$(nmap_of grant_net4_24)"
assert_nomatch "2: ... and not of the pipapo map grant_net4" "10\\.0\\.1\\.0/24 \\. ${y//./\\.}" "$(nmap_of grant_net4)"
assert_eq "2: ECS 10.0.1.0/24 grant (hash map) -> 10.0.1.2 reaches real" real "$(hget 10.0.1.2 "$y")"
assert_eq "2: ... and 10.0.1.29 (same /24) reaches real" real "$(hget 10.0.1.29 "$y")"
b=$(nsx scan curl -s -m 5 "$(url "$y")" 2>/dev/null)
assert_eq "2: ... and 10.0.5.2 (outside the /24) gets the decoy" decoy "${b:-none}"

# ================================================================ 3
log "3. a second client behind the same resolver, within the TTL"
for t in A AAAA; do
	if [ $t = A ]; then s2=10.0.1.5; else s2=fd00:1::5; fi
	same=0
	for _ in 1 2 3; do
		a1=$(rlk www.example.test $t)
		a2=$(rlk www.example.test $t)   # second client's lookup: same resolver cache
		[ -n "$a1" ] && [ "$a1" = "$a2" ] && { same=1; break; }
	done
	assert_eq "3: the resolver answers the second client from its cache ($t)" 1 "$same"
	assert_eq "3: second client behind the resolver reaches real ($t)" real "$(hget $s2 "$a2")"
done

# ================================================================ 4 + 5
log "4/5. expiry and pins, long transfer across rotations, idle connection"
sleep 3.5
# 5: long transfer (direct lookup: exact scope), watched for resets
rst_watch 45000
B=$(dlk 10.0.1.2 www.example.test A)
nsx cli curl -s -m 120 --local-port 45000 --interface 10.0.1.2 --limit-rate "$RATE5" \
	-o /dev/null -w '%{http_code} %{size_download} %{time_total}\n' "$(url "$B" big)" \
	>"$FG_WORK/t5.out" 2>&1 &
T5_PID=$!
# 5b: idle connection that outlives its pin (pin 6 s, window 3 s, backend 9 s)
I=$(dlk 10.0.1.8 www.example.test A)
nsx cli python3 "$TOOLS/conn_probe.py" --src 10.0.1.8 --dst "$I" --wait 12 >"$FG_WORK/idle.out" 2>&1 &
IDLE_PID=$!
# 5: 20 rotations while the transfer runs
(
	for i in $(seq 1 20); do
		dlk 10.0.1.2 www.example.test A
		fctl rotate www >/dev/null 2>&1
		sleep 0.4
	done
) >"$FG_WORK/rot.out" &
ROT_PID=$!

# 4: two clients behind the resolver take the same answer; .7 connects
# (pin), .6 does not
# The windows start from kernel state, not from fixed sleeps: the checks
# after TTL + grace run once the kernel has dropped the anyone grant (3 s
# after the lookup; the pin, refreshed by .7's every packet, has 6 s), the
# last once it has dropped .7's pin (6 s after its last packet). Bounded
# waits: on a slow machine they only get longer, never wrong.
# (the listing is read whole, then searched: `nft | grep -q` under pipefail
# reads a match as a miss when nft gets SIGPIPE)
any_granted() {
	local l; l=$(nsx gw nft list map inet fluxgate grant_any4 2>/dev/null)
	grep -qE "(^|[[:space:]{,])${1//./\\.}([[:space:],]|\$)" <<<"$l"
}
pinned() {
	local l; l=$(nsx gw nft list set inet fluxgate pinned4 2>/dev/null)
	grep -qE "(^|[[:space:]{,])${1//./\\.} \\. ${2//./\\.}([[:space:],]|\$)" <<<"$l"
}
X=$(rlk www.example.test A)
assert_eq "4: pinned client reaches real right after the lookup" real "$(hget 10.0.1.7 "$X")"
check "4: the kernel holds .7's pin" pinned 10.0.1.7 "$X"
wait_until 30 eval '! any_granted "$X"' || fail "4: the anyone grant of $X lapses in the kernel (30 s)"
assert_eq "4: after TTL + grace an unpinned client gets the decoy" decoy "$(hget 10.0.1.6 "$X")"
assert_eq "4: after TTL + grace the pinned client still reaches real" real "$(hget 10.0.1.7 "$X")"
wait_until 30 eval '! pinned 10.0.1.7 "$X"' || fail "4: .7's pin lapses in the kernel (30 s)"
assert_eq "4: after its pin lapsed the pinned client gets the decoy" decoy "$(hget 10.0.1.7 "$X")"

wait $ROT_PID
nrot=$(grep -cE '^198\.51\.100\.' "$FG_WORK/rot.out")
ndist=$(grep -E '^198\.51\.100\.' "$FG_WORK/rot.out" | sort -u | grep -vxF "$B" | wc -l)
if [ "$nrot" -eq 20 ] && [ "$ndist" -ge 15 ]; then ok "5: 20 rotations during the transfer ($ndist new addresses)"
else fail "5: 20 rotations during the transfer" "$nrot answers, $ndist distinct new addresses" "$(cat "$FG_WORK/rot.out")"; fi
if kill -0 $T5_PID 2>/dev/null; then ok "5: the transfer was still running after the rotations"
else fail "5: the transfer was still running after the rotations" "$(cat "$FG_WORK/t5.out")"; fi
wait $T5_PID
read -r code size secs <"$FG_WORK/t5.out"
assert_eq "5: long transfer completes (HTTP 200, $BIG_MB MiB)" "200 $((BIG_MB * 1024 * 1024))" "${code:-} ${size:-}"
if [ "${secs%%.*}" -ge 10 ] 2>/dev/null; then ok "5: the transfer outlived its grant (3 s) and its address's backend (9 s): ${secs%%.*} s"
else fail "5: the transfer outlived its grant and its address's backend (> 10 s)" "took ${secs:-?} s"; fi
assert_eq "5: zero TCP resets on the long transfer" 0 "$(rst_count)"
wait $IDLE_PID
assert_eq "5: idle connection outliving its pin still works" "first=real second=real" "$(cat "$FG_WORK/idle.out")"

# ================================================================ 6
log "6. grant before answer: zero-delay sessions"
srcs4=$(seq -s, -f '10.0.1.%g' 20 27)
srcs6=$(seq -s, -f 'fd00:1::%g' 20 27)
out=$(nsx cli timeout 900 "$GBA" -s 10.0.1.1 -n www.example.test -t A -c 1000 -b "$srcs4" 2>&1)
assert_match "6: 1000 zero-delay sessions (v4), 0 misrouted" '^sessions=1000 real=1000 decoy=0 failed=0 dnsfail=0 ' "$out"
out=$(nsx cli timeout 600 "$GBA" -s fd00:1::1 -n www.example.test -t AAAA -c 300 -b "$srcs6" 2>&1)
assert_match "6: 300 zero-delay sessions (v6), 0 misrouted" '^sessions=300 real=300 decoy=0 failed=0 dnsfail=0 ' "$out"

# ================================================================ 7a
log "7. quarantine and release"
Q=$(dlk 10.0.1.9 hold.example.test A)
rm -f "$FG_WORK/q.ready" "$FG_WORK/q.go"
nsx cli python3 "$TOOLS/conn_probe.py" --src 10.0.1.9 --dst "$Q" --wait 30 \
	--ready "$FG_WORK/q.ready" --go "$FG_WORK/q.go" >"$FG_WORK/q.out" 2>&1 &
QP=$!
for _ in $(seq 100); do [ -e "$FG_WORK/q.ready" ] && break; sleep 0.1; done
check "7: fluxctl quarantine 10.0.1.9 --for 30s" fctl quarantine 10.0.1.9 --for 30s
touch "$FG_WORK/q.go"
wait $QP
assert_match "7: quarantined client's established connection is cut" \
	'^first=real second=(reset|closed)$' "$(cat "$FG_WORK/q.out")"
Q2=$(dlk 10.0.1.9 hold.example.test A)
assert_eq "7: quarantined client's new session (fresh lookup) lands on the decoy" decoy "$(hget 10.0.1.9 "$Q2")"
assert_eq "7: quarantined client's pinned address lands on the decoy" decoy "$(hget 10.0.1.9 "$Q")"
assert_eq "7: other clients are not affected" real "$(hget 10.0.1.10 "$(dlk 10.0.1.10 hold.example.test A)")"
check "7: fluxctl release 10.0.1.9" fctl release 10.0.1.9
assert_eq "7: after release the client reaches real (granted address)" real "$(hget 10.0.1.9 "$Q2")"
assert_eq "7: after release a new session reaches real" real "$(hget 10.0.1.9 "$(dlk 10.0.1.9 www.example.test A)")"
check "7: fluxctl quarantine fd00:1::9 (v6)" fctl quarantine fd00:1::9
Q6=$(dlk fd00:1::9 hold.example.test AAAA)
assert_eq "7: quarantined v6 client lands on the decoy" decoy "$(hget fd00:1::9 "$Q6")"
check "7: fluxctl release fd00:1::9" fctl release fd00:1::9
assert_eq "7: released v6 client reaches real" real "$(hget fd00:1::9 "$Q6")"
check "7: fluxctl quarantine 10.0.1.11 --for 2s" fctl quarantine 10.0.1.11 --for 2s
Q3=$(dlk 10.0.1.11 hold.example.test A)
assert_eq "7: timed quarantine: decoy while it lasts" decoy "$(hget 10.0.1.11 "$Q3")"
# the lapse is the daemon's and the kernel's business: poll (bounded), each
# try a new connection, until the client reaches real again
wait_until 30 eval '[ "$(hget 10.0.1.11 "$Q3")" = real ]'
assert_eq "7: timed quarantine: real once it lapsed" real "$(hget 10.0.1.11 "$Q3")"

# ================================================================ 7b
log "7. restart (kill -9) and reload keep grants and flows"
rst_watch 45001
D=$(dlk 10.0.1.12 hold.example.test A)
nsx cli curl -s -m 600 --local-port 45001 --interface 10.0.1.12 --limit-rate "$RATE7" \
	-o /dev/null -w '%{http_code} %{size_download}\n' "$(url "$D" big)" >"$FG_WORK/t7.out" 2>&1 &
T7_PID=$!
# The download must span the restart and both reloads however slow the
# machine is: once it is under way, curl is stopped (SIGSTOP: it reads
# nothing, the flow idles with a zero window) and only continued after the
# reloads. Its PID is the socket's owner, as ss reports it.
CURL7=""
for _ in $(seq 200); do
	CURL7=$(nsx cli ss -Htnp state established "sport = :45001" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1)
	CURL7=${CURL7#pid=}
	[ -n "$CURL7" ] && break
	sleep 0.05
done
if [ -n "$CURL7" ]; then
	sleep 0.5
	kill -STOP "$CURL7"
	ok "7: the download is under way, paused across the restart and reloads (curl pid $CURL7)"
else
	fail "7: the download is under way before the restart" "no established flow from port 45001"
fi
G4=$(dlk 10.0.1.13 hold.example.test A)
G6=$(dlk fd00:1::13 hold.example.test AAAA)
# subnet grants of both kinds: the hash map (/24, /56) and pipapo (/28)
E24=$(ecs 10.0.1.0/24 A hold.example.test)
E28=$(ecs 10.0.1.16/28 A hold.example.test)
E56=$(ecs fd00:1::/56 AAAA hold.example.test)
sleep 1
# the exact grants with two minutes or more to live (the hold grants): any
# shorter one may end by itself while the daemon is down, which is no loss
long_grants() {
	nsx gw nft list map inet fluxgate grant_client4 | tr ',' '\n' |
		sed 's/.*elements = { *//; s/^[[:space:]]*//' |
		grep -E 'expires ([0-9]+d|[0-9]+h|([2-9]|[1-9][0-9])m([^s]|$))' | awk '{print $1, $2, $3}' | sort
}
grants_before=$(long_grants)
kids=$(pgrep -P "$FG_FLUXGATED_PID" | tr '\n' ' ')
{ kill -KILL "$FG_FLUXGATED_PID"; wait "$FG_FLUXGATED_PID"; } 2>/dev/null
_forget_pid "$FG_FLUXGATED_PID"
FG_FLUXGATED_PID=""
# the daemon's own children (privilege separation) must follow it
left=""
for _ in $(seq 100); do
	left=""
	for k in $kids; do kill -0 "$k" 2>/dev/null && left+="$k "; done
	[ -z "$left" ] && break
	sleep 0.1
done
if [ -z "$left" ]; then ok "7: fluxgated's child processes exit when it is killed (-9)"
else
	fail "7: fluxgated's child processes exit when it is killed (-9)" "still running: $left" "$(ps -o pid,user,stat,cmd -p "${left// /,}" 2>&1)"
	for k in $left; do kill -KILL "$k" 2>/dev/null; done
fi
[ -n "$grants_before" ] || fail "7: long-lived grants listed before the kill" "$(nsx gw nft list map inet fluxgate grant_client4)"
grants_after=$(nsx gw nft list map inet fluxgate grant_client4 | tr ',' '\n' |
	sed 's/.*elements = { *//; s/^[[:space:]]*//' | awk '/ : /{print $1, $2, $3}' | sort)
assert_eq "7: grants survive the daemon's death (kernel state: $(echo "$grants_before" | wc -l) long-lived)" "" \
	"$(comm -23 <(echo "$grants_before") <(echo "$grants_after"))"
start_fluxgated gw "$CONF" fluxgated-restarted
if wait_dns cli 10.0.1.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then ok "7: fluxgated answers again after kill -9 + start"
else fail "7: fluxgated answers again after kill -9 + start" "$(tail -n 30 "$FG_FLUXGATED_LOG")"; finish; fi
assert_eq "7: granted-but-not-connected client reaches real after the restart (v4)" real "$(hget 10.0.1.13 "$G4")"
assert_eq "7: granted-but-not-connected client reaches real after the restart (v6)" real "$(hget fd00:1::13 "$G6")"
assert_match "7: the grant is still in the kernel after the restart" "$G4" \
	"$(nsx gw nft list map inet fluxgate grant_client4)"
assert_match "7: the /24 subnet grant is still in grant_net4_24 after the restart" \
	"10\.0\.1\.0 \. ${E24//./\\.} " "$(nmap_of grant_net4_24)"
assert_match "7: the /28 subnet grant is still in grant_net4 after the restart" \
	"10\.0\.1\.16/28 \. ${E28//./\\.}" "$(nmap_of grant_net4)"
assert_eq "7: ECS /24 grant (hash map) -> 10.0.1.21 reaches real after the restart" real "$(hget 10.0.1.21 "$E24")"
assert_eq "7: ECS /28 grant (pipapo) -> 10.0.1.18 reaches real after the restart" real "$(hget 10.0.1.18 "$E28")"
assert_eq "7: ECS /56 grant (hash map) -> fd00:1::21 reaches real after the restart" real "$(hget fd00:1::21 "$E56")"
out=$(fctl grants --service hold 2>&1)
assert_match "7: fluxctl grants lists the /24 subnet grant (read back from the hash map)" \
	"10\.0\.1\.0/24.*${E24//./\\.}|${E24//./\\.}.*10\.0\.1\.0/24" "$out"
assert_match "7: fluxctl grants lists the /56 subnet grant" "fd00:1::/56" "$out"
assert_eq "7: new sessions work after the restart" real "$(hget 10.0.1.14 "$(dlk 10.0.1.14 www.example.test A)")"

H4=$(dlk 10.0.1.15 hold.example.test A)
nhup=$(grep -c 'reload done' "$FG_FLUXGATED_LOG")
kill -HUP "$FG_FLUXGATED_PID"
for _ in $(seq 300); do
	[ "$(grep -c 'reload done' "$FG_FLUXGATED_LOG")" -gt "$nhup" ] && break
	sleep 0.1
done
if [ "$(grep -c 'reload done' "$FG_FLUXGATED_LOG")" -gt "$nhup" ]; then ok "7: SIGHUP reloads"
else fail "7: SIGHUP reloads" "$(tail -n 20 "$FG_FLUXGATED_LOG")"; fi
assert_eq "7: granted client reaches real after SIGHUP" real "$(hget 10.0.1.15 "$H4")"
H5=$(dlk 10.0.1.16 hold.example.test A)
# this reload also changes ecs-min-prefix4 to /22 (a /20 would hold the
# scanner of 7c): the /24 map and its grants stay until they expire, new
# /24 grants go to pipapo, /22 ones to the new hash map grant_net4_22
sed -i 's|^policy:$|policy:\n  ecs-min-prefix4: 22|' "$CONF"
check "7: fluxctl reload" fctl reload
assert_eq "7: ECS /24 grant of the former ecs-min-prefix4 still reaches real after the reload" \
	real "$(hget 10.0.1.22 "$E24")"
assert_match "7: ... and is still in grant_net4_24" "10\.0\.1\.0 \. ${E24//./\\.} " "$(nmap_of grant_net4_24)"
y=$(ecs 10.0.1.0/22 A hold.example.test)
assert_match "7: an ECS /22 grant is an element of the new hash map grant_net4_22" \
	"10\.0\.0\.0 \. ${y//./\\.} " "$(nmap_of grant_net4_22)"
assert_eq "7: ... and 10.0.1.23 reaches real through it" real "$(hget 10.0.1.23 "$y")"
y=$(ecs 10.0.1.0/24 A hold.example.test)
assert_match "7: an ECS /24 grant after the reload is a pipapo element" \
	"10\.0\.1\.0/24 \. ${y//./\\.}" "$(nmap_of grant_net4)"
assert_eq "7: ... and 10.0.1.24 reaches real through it" real "$(hget 10.0.1.24 "$y")"
assert_eq "7: granted client reaches real after fluxctl reload" real "$(hget 10.0.1.16 "$H5")"
assert_eq "7: earlier grant still good after both reloads" real "$(hget 10.0.1.13 "$G4")"
assert_eq "7: new sessions work after the reloads" real "$(hget 10.0.1.17 "$(dlk 10.0.1.17 www.example.test A)")"
if kill -0 $T7_PID 2>/dev/null; then ok "7: the download was in progress across restart and reloads"
else fail "7: the download was in progress across restart and reloads" "$(cat "$FG_WORK/t7.out")"; fi
[ -n "$CURL7" ] && kill -CONT "$CURL7"
wait $T7_PID
assert_eq "7: download in progress survives restart and reloads" "200 $((BIG_MB * 1024 * 1024))" "$(cat "$FG_WORK/t7.out")"
assert_eq "7: zero TCP resets on that download" 0 "$(rst_count)"
fluxgated_alive "7: fluxgated runs after the reloads"

# ================================================================ 7c
log "7. SYN scan of the pool from a non-client"
nsx srv nft -f - <<'EOF' || fail "server-side scanner counter installed"
table inet scancount {
	counter from_scanner {}
	chain pre { type filter hook prerouting priority -500; ip saddr 10.0.5.2 counter name from_scanner; }
}
EOF
scan_pkts() { nsx srv nft list counter inet scancount from_scanner | grep -oE 'packets [0-9]+' | awk '{print $2}'; }
# positive control: the counter sees the scanner when it talks to the server directly
nsx scan curl -s -m 3 -o /dev/null http://10.0.2.10/ >/dev/null 2>&1
c0=$(scan_pkts)
if [ "${c0:-0}" -ge 1 ]; then ok "7: scanner counter on the server counts (control: direct HTTP GET)"
else fail "7: scanner counter on the server counts (control: direct HTTP GET)" "counter: ${c0:-?}"; fi
# no pool address may be open to anyone during the scan (the ANY grants of
# the resolver parts have a 3 s window); exact-client grants of hold stay
for _ in $(seq 50); do
	[ "$(nsx gw nft list map inet fluxgate grant_any4 | grep -c ' : ')" -eq 0 ] && break
	sleep 0.2
done
live=$(nsx gw nft list map inet fluxgate grant_client4 | grep -c ' : ')
out=$(nsx scan timeout 120 nmap -n -Pn -sS -T5 -p 80 --max-retries 1 -oG - 198.51.100.0/24 2>&1)
nopen=$(grep -c '80/open' <<<"$out")
c1=$(scan_pkts)
assert_eq "7: nmap SYN scan of 198.51.100.0/24 ($live exact grants live): 0 packets reach the real server" 0 $((c1 - c0))
if [ "$nopen" -ge 250 ]; then ok "7: nmap sees the decoys ($nopen of 256 addresses answer on port 80)"
else fail "7: nmap sees the decoys" "$nopen open" "$(tail -n 5 <<<"$out")"; fi

M=$(nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics)
if grep -Eq '^fluxdecoy_http_requests_total [1-9]' <<<"$M"; then ok "fluxdecoy answered the decoy sessions (metrics)"
else fail "fluxdecoy answered the decoy sessions (metrics)" "$(grep http_requests <<<"$M")"; fi
stop_pid "$DCY_PID" 15
assert_eq "fluxdecoy stops cleanly" 0 "$STOP_RC"

stop_fluxgated
finish
