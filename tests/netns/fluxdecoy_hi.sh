#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy's high interaction (Potemkin): late binding to real backends,
# the scan filter, and containment.
#
#   cli 10.0.3.1 (+ .7 .8 .9 attacker sources), 203.0.113.5/.53: the outside,
#       the Internet a backend must never reach; the pool is routed to dcy
#   dcy 10.0.3.10 / 10.0.4.1: fluxdecoy owning the pool 198.51.100.0/24 by a
#       local route, forwarding for the backends (ip_forward=1, so that only
#       the containment table stands between a backend and the outside)
#   hi  10.0.4.10 .11 (persona hi-web, containment reflect), .20 (hi-drop,
#       drop), .30 (hi-reply, reply-only): real lighttpd and sshd; .40
#       (hi-dead): sshd only, nothing on port 80
#
# Checked: a flow bound on first contact to a live backend (its page, not the
# persona's), the binding kept per (universe, address, port) and collected
# when idle, a second universe on the other backend; the scan filter (one
# (source, port, proto) per window reaches a backend, the rest get the
# low-interaction persona, counted) and after masscan and nmap sweeps of the
# /24 on the service ports: bindings <= sources x ports. Containment: each
# backend tries curl, DNS and a SYN to outside addresses; 0 packets reach
# the outside (nft counters on cli's veth, which do count the same attempts
# made before the table exists); under reflect the DNS query is answered
# with a bed address and the curl gets the fake Internet's page, the SYN a
# reset from inside the bed; reply-only lets a backend reach a host that
# sent to it first and nothing else; kernel counters in metrics and events.
# Backend failure: a backend that refuses (hi-dead, nothing on its port 80)
# and a template that does not start one (hi-nospawn, /bin/false) reset the
# attacker's connection, first and bound flows alike, with backend_error /
# backend_spawn_failed and flow_end reason backend-error / backend-spawn-failed,
# counted in fluxdecoy_backend_errors_total (_spawn_errors_total); the same
# entry's port 22, other entries and the persona still answer.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft curl awk lighttpd /usr/sbin/sshd ssh-keygen python3 masscan nmap kdig
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
W=$FG_WORK
mkdir -p "$W/bin"
cp "$FLUXDECOY" "$W/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$W/bin/fluxdecoy"

has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
has_no_line() {
	if grep -Eq -- "$2" <<<"$3"; then fail "$1" "unexpected line matching /$2/ in:" "$3"; else ok "$1"; fi
}
ev_count() { grep -Ec -- "$1" "$W/eve.json" 2>/dev/null || true; }
ev_line() { # ev_line NAME ERE: an event matches, waited for (bounded: events are written asynchronously)
	if wait_grep 30 "$W/eve.json" "$2"; then ok "$1"; else
		fail "$1" "no event matches /$2/; last events:" "$(tail -n 5 "$W/eve.json" 2>/dev/null)"; fi
}
wait_for() { # wait_for TIMEOUT_S CMD...: until CMD succeeds
	local t=$1 i; shift
	for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
metric() { # metric ERE: the value of the first matching sample
	nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics | grep -E -- "^$1 " | head -1 | awk '{print $2}'
}

# ------------------------------------------------------------ topology
ns_add cli dcy hi
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
veth_link dcy e4 "10.0.4.1/24" hi eth0 "10.0.4.10/24"
for a in 10.0.3.7 10.0.3.8 10.0.3.9 10.0.3.21 10.0.3.22 203.0.113.5 203.0.113.53; do addr_add cli e1 "$a/32"; done
for a in 10.0.4.11 10.0.4.20 10.0.4.30; do addr_add hi eth0 "$a/24"; done
addr_add hi eth0 10.0.4.40/24   # hi-dead's backend: sshd on 22, nothing on 80
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip route add 10.0.4.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy sysctl -qw net.ipv4.ip_forward=1
nsx hi ip route add default via 10.0.4.1

# the outside's view: what reaches cli from the backends
nsx cli nft -f - <<'EOF' || die "cannot make the outside counters"
table inet outside {
	counter from_bed { }
	counter to_internet { }
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "e1" ip saddr 10.0.4.0/24 counter name from_bed
		iifname "e1" ip daddr 203.0.113.0/24 ip saddr != 10.0.3.0/24 counter name to_internet
	}
}
EOF
outside() { nsx cli nft list counter inet outside "$1" | grep -o 'packets [0-9]*' | awk '{print $2}'; }

# ------------------------------------------------------------ real services
mkdir -p "$W/www" "$W/www11" "$W/outside"
cat >"$W/lighttpd.conf" <<EOF
server.document-root = "$W/www"
server.port = 80
server.bind = "10.0.4.10"
\$SERVER["socket"] == "10.0.4.11:80" { server.document-root = "$W/www11" }
\$SERVER["socket"] == "10.0.4.20:80" { }
\$SERVER["socket"] == "10.0.4.30:80" { }
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd-error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", "" => "application/octet-stream" )
EOF
printf '<html><body>a web server</body></html>\n' >"$W/www/index.html"
cp "$W/www/index.html" "$W/www11/index.html"
start_bg lighttpd hi lighttpd -D -f "$W/lighttpd.conf"; HTTPD_PID=$BG_PID
SSHD=$W/sshd; mkdir -p "$SSHD" /run/sshd
rm -f "$SSHD/host_ed25519" "$SSHD/host_ed25519.pub"; ssh-keygen -q -t ed25519 -N '' -f "$SSHD/host_ed25519" || die "ssh-keygen"
cat >"$SSHD/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $SSHD/host_ed25519
PidFile $SSHD/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
start_bg sshd hi /usr/sbin/sshd -D -e -f "$SSHD/sshd_config"; SSHD_PID=$BG_PID
printf 'the real Internet\n' >"$W/outside/index.html"
start_bg outside-http cli python3 -m http.server --bind 203.0.113.5 --directory "$W/outside" 80
OUT_PID=$BG_PID
start_bg cli-http cli python3 -m http.server --bind 10.0.3.1 --directory "$W/outside" 8000
CLIH_PID=$BG_PID
wait_port hi tcp 80 60 "$HTTPD_PID" || { fail "lighttpd listens"; finish; }
wait_port hi tcp 22 60 "$SSHD_PID" || { fail "sshd listens"; finish; }
wait_port cli tcp 80 60 "$OUT_PID" || { fail "the outside web server listens"; finish; }
wait_port cli tcp 8000 60 "$CLIH_PID" || { fail "cli's web server listens"; finish; }

# the persona: a capture of the backend itself (low and high interaction
# look alike at first contact); then the backends' pages get a marker the
# persona does not have
P=$W/persona.yaml
out=$(nsx dcy "$FLUXDECOY" clone --from 10.0.4.10 --ports tcp/80,tcp/22 --name web -o "$P" 2>&1)
assert_eq "clone of the backend succeeds" "0" "$?"
printf '<html><body>live backend 10.0.4.10</body></html>\n' >"$W/www/index.html"
printf '<html><body>live backend 10.0.4.11</body></html>\n' >"$W/www11/index.html"

# ------------------------------------------------------------ control: no table yet
# each attempt a backend makes later, made now: the outside sees them, so
# the zeros below are the table's doing, not a blind counter
out=$(nsx hi curl -sS -m 5 --interface 10.0.4.20 http://203.0.113.5/ 2>&1)
has_line "control: without containment a backend reaches the outside" "the real Internet" "$out"
nsx hi kdig @203.0.113.53 -b 10.0.4.20 +retry=0 +timeout=1 www.example.org A >/dev/null 2>&1
nsx hi timeout 3 bash -c 'exec 3<>/dev/tcp/203.0.113.5/443' >/dev/null 2>&1
c=$(outside to_internet)
[ "${c:-0}" -ge 3 ] && ok "control: the outside counts the curl, DNS and SYN attempts ($c packets)" \
	|| fail "control: the outside counts the attempts" "to_internet=$c"
nsx cli nft reset counters table inet outside >/dev/null

# the backend template (flash clone): a network namespace per slot with a
# real lighttpd, made from a reference config; run by fluxdecoy's [priv]
# as: spawn.sh PREFIX DIR start|stop ADDRESS SLOT PERSONA
cat >"$W/spawn.sh" <<'SPAWN'
#!/bin/bash
set -u
prefix=$1 dir=$2 action=$3 addr=$4 slot=$5
ns="$prefix-u$slot" v="fdu$slot" d="$dir/clone$slot"
case $action in
start)
	ip netns add "$ns" || exit 1
	ip -n "$ns" link set lo up
	ip link add "$v" type veth peer name eth0 netns "$ns" || exit 1
	ip link set "$v" up
	ip route add "$addr/32" dev "$v" src 10.0.4.1
	ip -n "$ns" addr add "$addr/32" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 10.0.4.1/32 dev eth0
	ip -n "$ns" route add default via 10.0.4.1 dev eth0
	mkdir -p "$d/www"
	printf '<html><body>flash clone %s</body></html>\n' "$addr" >"$d/www/index.html"
	sed -e "s#@ADDR@#$addr#" -e "s#@DIR@#$d#" "$dir/reference.conf" >"$d/lighttpd.conf"
	ip netns exec "$ns" lighttpd -f "$d/lighttpd.conf" || exit 1
	for _ in $(seq 100); do
		ip netns exec "$ns" ss -Hlnt 'sport = :80' | grep -q . && exit 0
		sleep 0.05
	done
	exit 1 ;;
stop)
	[ -s "$d/lighttpd.pid" ] && kill "$(cat "$d/lighttpd.pid")"
	ip netns del "$ns"
	ip link del "$v" 2>/dev/null
	exit 0 ;;
esac
exit 2
SPAWN
chmod +x "$W/spawn.sh"
cat >"$W/reference.conf" <<'REF'
server.document-root = "@DIR@/www"
server.port = 80
server.bind = "@ADDR@"
server.pid-file = "@DIR@/lighttpd.pid"
server.errorlog = "@DIR@/error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html" )
REF
for i in 0 1 2 3 4 5 6 7; do FG_NAMESPACES+=("$(ns u$i)"); done   # cleanup, should a stop be missed

# ------------------------------------------------------------ the decoy
DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  idle-timeout: 20s
  scan-window: 60s
  binding-idle: 4s
  nft-table: fdhi
  reflect-address: 198.51.100.250
  reflect-dns: 10.0.4.1@53
persona:
  - id: fake-internet
    file: $P
    addresses: [198.51.100.250/32]
  - id: hi-web
    file: $P
    addresses: [198.51.100.0/25]
    backends: [10.0.4.10, 10.0.4.11]
    containment: reflect
  - id: hi-drop
    file: $P
    addresses: [198.51.100.128/26]
    backends: [10.0.4.20]
  - id: hi-reply
    file: $P
    addresses: [198.51.100.192/27]
    backends: [10.0.4.30]
    containment: reply-only
  - id: hi-flash
    file: $P
    addresses: [198.51.100.224/28]
    backend-template: [$W/spawn.sh, $FG_NS_PREFIX, $W]
    template-addresses: [10.0.5.0/29]
  - id: hi-dead
    file: $P
    addresses: [198.51.100.240/30]
    backends: [10.0.4.40]
  - id: hi-nospawn
    file: $P
    addresses: [198.51.100.244/30]
    backend-template: [/bin/false]
    template-addresses: [10.0.5.8/30]
EOF
touch "$W/eve.json"; chown nobody "$W/eve.json"
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1)
assert_eq "fluxdecoy --check accepts the high-interaction config" "0" "$?"
# bad input: precise messages
sed -e 's/backends: \[10.0.4.20\]/backends: [198.51.100.9]/' -e 's/containment: reply-only/containment: bounce/' \
	"$DCONF" >"$W/bad.conf"
printf '  - id: lo\n    file: %s\n    containment: reflect\n' "$P" >>"$W/bad.conf"
out=$("$FLUXDECOY" --check -c "$W/bad.conf" 2>&1); rc=$?
assert_eq "--check rejects bad high-interaction keys (exit 1)" "1" "$rc"
has_line "a backend inside the pool is refused" "persona 'hi-drop': backend 1 lies in the addresses of persona 'hi-web'" "$out"
has_line "an unknown containment is refused" "containment: expected one of drop, reply-only, reflect, got 'bounce'" "$out"
has_line "containment without backends is refused" "persona 'lo': containment reflect needs backends" "$out"

if [ "$VALGRIND" = 1 ]; then
	start_bg fluxdecoy dcy valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--log-file="$W/fluxdecoy.valgrind.log" "$FLUXDECOY" -c "$DCONF"
	T=120
else
	start_bg fluxdecoy dcy "$FLUXDECOY" -c "$DCONF"
	T=15
fi
DPID=$BG_PID
wait_port dcy tcp 80 $T "$DPID" || { fail "fluxdecoy listens" "$(tail "$W/fluxdecoy.log")"; finish; }
wait_port dcy tcp 9561 $T "$DPID" || { fail "fluxdecoy metrics listen"; finish; }
wait_for $T grep -q 'serving [0-9]* personas as nobody' "$W/fluxdecoy.log" \
	|| fail "fluxdecoy serves as nobody" "$(tail "$W/fluxdecoy.log")"
has_line "the containment table was installed" "containment: table inet fdhi installed" "$(cat "$W/fluxdecoy.log")"
T_NFT=$(nsx dcy nft list table inet fdhi 2>&1)
has_line "the table holds the backends" 'elements = \{ 10\.0\.4\.10, 10\.0\.4\.11 \}' "$T_NFT"
has_line "the template slots are contained before any exists" 'elements = \{ 10\.0\.5\.0, 10\.0\.5\.1,' "$T_NFT"
if [ "$VALGRIND" != 1 ]; then
	has_line "the serving part holds no capability" '^CapEff:[[:space:]]+0+$' "$(cat /proc/$DPID/status)"
fi

# ------------------------------------------------------------ late binding
POOLA=198.51.100.20
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.7 "http://$POOLA/" 2>&1)
has_line "first contact: bound to a live backend (its page)" 'live backend 10\.0\.4\.1[01]' "$out"
B1=$(grep -o 'live backend 10\.0\.4\.1[01]' <<<"$out" | awk '{print $3}')
wait_for 10 grep -q '"event":"binding_created"' "$W/eve.json"
ev_line "event: binding_created with universe and backend" \
	"\"src_ip\":\"10.0.3.7\".*\"dest_ip\":\"$POOLA\",\"dest_port\":80.*\"event\":\"binding_created\",\"persona\":\"hi-web\",\"universe\":\"[0-9a-f]{16}\",\"universe_prefix\":\"10.0.3.7/32\",\"backend\":\"$B1\""
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.7 "http://$POOLA/" 2>&1)
has_line "the same universe and address: the same backend" "live backend $B1" "$out"
assert_eq "one binding made for the two flows" "1" "$(ev_count '"event":"binding_created"')"
# the next address from the same source on the same port: the scan filter
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.7 "http://198.51.100.21/" 2>&1)
has_line "another address within the window: the persona answers" "a web server" "$out"
has_no_line "(not a backend)" "live backend" "$out"
ev_line "event: filtered by the scan filter" '"dest_ip":"198.51.100.21".*"event":"filtered","persona":"hi-web","reason":"scan-filter"'
# a second universe binds the same address to the other (least loaded) backend
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.8 "http://$POOLA/" 2>&1)
has_line "another universe: its own binding" 'live backend 10\.0\.4\.1[01]' "$out"
B2=$(grep -o 'live backend 10\.0\.4\.1[01]' <<<"$out" | awk '{print $3}')
if [ -n "$B2" ] && [ "$B2" != "$B1" ]; then ok "the second universe got the other backend ($B1, $B2)"
else fail "the second universe got the other backend" "$B1 then $B2"; fi
# SSH: the real sshd behind the binding (its own host key)
out=$(nsx cli timeout 10 ssh-keyscan -T 5 -t ed25519 -p 22 198.51.100.30 2>/dev/null)
real=$(cut -d' ' -f2 "$SSHD/host_ed25519.pub")
got=$(awk '{print $3}' <<<"$out")
assert_eq "ssh-keyscan of a pool address gets the backend's real host key" "$real" "$got"
assert_eq "metrics: HI flows counted" "ok" "$([ "$(metric fluxdecoy_hi_flows_total)" -ge 4 ] && echo ok)"
ev_line "event: backend_connected with the first-packet-to-backend time" '"event":"backend_connected".*"connect_ms":[0-9]+'
# binding-idle (4 s): collected once idle
wait_for 60 grep -q '"event":"binding_expired"' "$W/eve.json" \
	&& ok "an idle binding is collected (binding_expired)" || fail "an idle binding is collected"
ev_line "event: binding_expired names its universe and flow count" \
	'"event":"binding_expired","persona":"hi-web","universe":"[0-9a-f]{16}","universe_prefix":"10.0.3.[78]/32","flows":[0-9]+'

# ------------------------------------------------------------ flash clones
# a persona with a backend template: the first flow of a (universe,
# address) starts its own backend (a namespace with a real lighttpd)
out=$(nsx cli curl -sS -m 30 --interface 10.0.3.21 "http://198.51.100.225/" 2>&1)
has_line "flash clone: the first flow gets a backend made for it" 'flash clone 10\.0\.5\.[0-7]' "$out"
C1=$(grep -o 'flash clone 10\.0\.5\.[0-7]' <<<"$out" | awk '{print $3}')
out=$(nsx cli curl -sS -m 30 --interface 10.0.3.21 "http://198.51.100.225/" 2>&1)
has_line "flash clone: the same universe and address, the same clone" "flash clone $C1" "$out"
out=$(nsx cli curl -sS -m 30 --interface 10.0.3.22 "http://198.51.100.225/" 2>&1)
C2=$(grep -o 'flash clone 10\.0\.5\.[0-7]' <<<"$out" | awk '{print $3}')
if [ -n "$C2" ] && [ "$C2" != "$C1" ]; then ok "flash clone: another universe, another clone ($C1, $C2)"
else fail "flash clone: another universe, another clone" "$C1 then '$C2'" "$out"; fi
ev_line "event: backend_spawned" '"event":"backend_spawned","persona":"hi-flash","backend":"10.0.5.[0-7]","slot":[0-7]'
ev_line "event: the time from first packet to the cloned backend" \
	'"src_ip":"10.0.3.21".*"event":"backend_connected","persona":"hi-flash".*"connect_ms":[0-9]+'
assert_eq "two clone namespaces exist" "2" "$(ip netns list 2>/dev/null | grep -c "^$FG_NS_PREFIX-u[0-7]")"
# recycled once idle (binding-idle 4 s)
gone() { ! ip netns list 2>/dev/null | grep -q "^$FG_NS_PREFIX-u[0-7]"; }
if wait_for 60 gone; then ok "flash clones are recycled when their bindings expire"
else fail "flash clones are recycled" "$(ip netns list | grep "$FG_NS_PREFIX")"; fi
assert_eq "metrics: clones spawned" "2" "$(metric fluxdecoy_backends_spawned_total)"
assert_eq "metrics: clones recycled" "2" "$(metric fluxdecoy_backends_recycled_total)"

# ------------------------------------------------------------ scan filter
created0=$(metric fluxdecoy_bindings_created_total)
filtered0=$(metric fluxdecoy_scan_filtered_total)
# masscan with its own TCP stack (banners: full handshakes) from an address
# cli's kernel does not own, bounded rate, only the pool
MAC=$(nsx dcy cat /sys/class/net/eth0/address)
nsx cli masscan 198.51.100.0/24 -p80,22 --banners --rate 300 --wait 3 -e e1 \
	--source-ip 10.0.3.100 --router-mac "$MAC" >"$W/masscan.out" 2>&1
grep -q 'Banner on port' "$W/masscan.out" && ok "masscan completed handshakes (banners)" \
	|| fail "masscan completed handshakes" "$(tail -n 20 "$W/masscan.out")"
# nmap connect scan of the pool from another source, port 80
nsx cli nmap -n -Pn -sT -p 80 -T4 --max-retries 0 -S 10.0.3.8 -e e1 198.51.100.0/24 >"$W/nmap.out" 2>&1
# the daemon may still be working through the sweeps' flows: wait (bounded)
# until they are counted, then judge the counts as strictly as before
sweeps_counted() {
	[ "$(metric fluxdecoy_scan_filtered_total)" -ge $(( ${filtered0:-0} + 200 )) ] 2>/dev/null &&
		[ "$(metric fluxdecoy_bindings_created_total)" -ge $(( ${created0:-0} + 1 )) ] 2>/dev/null
}
wait_for 60 sweeps_counted
created=$(( $(metric fluxdecoy_bindings_created_total) - created0 ))
filtered=$(( $(metric fluxdecoy_scan_filtered_total) - filtered0 ))
# sources x ports: masscan (10.0.3.100) x {80, 22} + nmap (10.0.3.8) x {80}
log "sweeps: $created bindings made, $filtered flows filtered"
[ "$created" -ge 1 ] && [ "$created" -le 3 ] && ok "bindings after the sweeps <= sources x ports ($created <= 3)" \
	|| fail "bindings after the sweeps <= sources x ports" "created=$created filtered=$filtered"
[ "$filtered" -ge 200 ] && ok "the rest of the sweeps was filtered and counted ($filtered)" \
	|| fail "the rest of the sweeps was filtered and counted" "filtered=$filtered"

# ------------------------------------------------------------ containment
# drop (10.0.4.20): nothing it starts gets out
nsx hi curl -sS -m 5 --interface 10.0.4.20 http://203.0.113.5/ >"$W/c-drop.out" 2>&1
has_no_line "drop: the backend's curl gets nothing" "the real Internet" "$(cat "$W/c-drop.out")"
out=$(nsx hi kdig @203.0.113.53 -b 10.0.4.20 +retry=0 +timeout=1 www.example.org A 2>&1)
has_no_line "drop: the backend's DNS query gets no answer" "status: NOERROR" "$out"
out=$(nsx hi timeout 5 bash -c 'exec 3<>/dev/tcp/203.0.113.5/443' 2>&1; echo "rc=$?")
has_no_line "drop: the backend's SYN opens nothing" "^rc=0$" "$out"
# the bed itself is closed to it too (its metrics listen on 127.0.0.1 only,
# so try a service on the bed's own address: the reflect DNS)
out=$(nsx hi kdig @10.0.4.1 -b 10.0.4.20 +retry=0 +timeout=1 www.example.org A 2>&1)
has_no_line "drop: the bed's own services are closed to the backend" "status: NOERROR" "$out"

# reflect (10.0.4.10): DNS and connections answered inside the bed
out=$(nsx hi kdig @203.0.113.53 -b 10.0.4.10 +retry=2 +timeout=5 www.evil.example A 2>&1)
has_line "reflect: the DNS query is answered from inside the bed" 'www\.evil\.example\.[[:space:]]+60[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.250' "$out"
out=$(nsx hi curl -sS -m 10 --interface 10.0.4.10 http://203.0.113.5/ 2>&1)
has_line "reflect: the backend's curl gets the fake Internet's page" "a web server" "$out"
has_no_line "(not the real outside)" "the real Internet" "$out"
out=$(nsx hi curl -sS -m 10 --interface 10.0.4.10 http://198.51.100.250/ 2>&1)
has_line "reflect: the address DNS gave answers inside" "a web server" "$out"
out=$(nsx hi timeout 5 bash -c 'exec 3<>/dev/tcp/203.0.113.5/443' 2>&1)
has_line "reflect: the SYN is answered (reset) inside the bed" "Connection refused" "$out"
ev_line "event: the reflected flow is marked" '"src_ip":"10.0.4.10".*"event":"flow_start","persona":"fake-internet".*"reflected":true'
# reflection stays in the attacker's universe: while 10.0.3.9 holds a flow
# to a backend, what that backend starts is logged in 10.0.3.9's universe
nsx cli timeout 40 bash -c "sleep 30 | nc -s 10.0.3.9 198.51.100.40 80" >/dev/null 2>&1 &
HOLD=$!
FG_PIDS+=("$HOLD")
wait_for 30 grep -q '"src_ip":"10.0.3.9".*"event":"binding_created"' "$W/eve.json"
bl=$(grep '"src_ip":"10.0.3.9".*"event":"binding_created"' "$W/eve.json" | tail -1)
UB=$(grep -oE '"universe":"[0-9a-f]{16}"' <<<"$bl" | cut -d'"' -f4)
BB=$(grep -oE '"backend":"10\.0\.4\.1[01]' <<<"$bl" | cut -d'"' -f4)
if [ -n "$UB" ] && [ -n "$BB" ]; then
	nsx hi curl -sS -m 10 --interface "$BB" http://203.0.113.7/ >/dev/null 2>&1
	pat="\"src_ip\":\"$BB\".*\"event\":\"flow_start\",\"persona\":\"fake-internet\".*\"reflected\":true,\"universe\":\"$UB\""
	wait_for 10 grep -Eq "$pat" "$W/eve.json"
	ev_line "reflection: the backend's flow is in its attacker's universe ($UB)" "$pat"
	ua=$(grep '"src_ip":"10.0.3.7".*"event":"binding_created"' "$W/eve.json" | head -1 | grep -oE '"universe":"[0-9a-f]{16}"')
	[ -n "$ua" ] && [ "$ua" != "\"universe\":\"$UB\"" ] && ok "another attacker, another universe id" \
		|| fail "another attacker, another universe id" "$ua vs $UB"
else
	fail "a held flow from 10.0.3.9 binds a backend" "$bl"
fi
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
ev_line "event: the reflected DNS query" '"event":"reflect_dns","rrname":"www.evil.example.","rrtype":1,"answer":"198.51.100.250"'

# reply-only (10.0.4.30): only to a host that sent to it first
out=$(nsx hi curl -sS -m 5 --interface 10.0.4.30 http://203.0.113.5/ 2>&1)
has_no_line "reply-only: no flow to a host that never sent to it" "the real Internet" "$out"
out=$(nsx hi curl -sS -m 5 --interface 10.0.4.30 http://10.0.3.1:8000/ 2>&1)
has_no_line "reply-only: cli has not sent to it yet: nothing" "the real Internet" "$out"
nsx cli curl -sS -m 5 --interface 10.0.3.1 -o /dev/null http://10.0.4.30/ >"$W/first.out" 2>&1
nsx dcy nft list set inet fdhi talk4_3 >"$W/talk.nft" 2>&1
out=$(nsx hi curl -sS -m 10 --interface 10.0.4.30 http://10.0.3.1:8000/ 2>&1)
has_line "reply-only: after cli sent to it, it may answer cli" "the real Internet" "$out"

c=$(outside to_internet)
assert_eq "0 packets from the backends reached the outside addresses" "0" "$c"
c=$(outside from_bed)
[ "${c:-0}" -ge 1 ] && ok "only reply-only's answer to cli left the bed ($c packets)" || fail "reply-only's answer left the bed" "from_bed=$c"
nsx dcy nft list table inet fdhi >"$W/table.nft" 2>&1
# persona indices: 1 hi-web, 2 hi-drop, 3 hi-reply
for name in reflected_1 contained_2 contained_3 replied_3; do
	has_line "kernel counter $name counted" "counter $name \{ packets [1-9]" \
		"$(nsx dcy nft list counter inet fdhi $name 2>&1 | tr -s '\n\t' '  ')"
done
# the containment counters reach the metrics and the event log on the
# daemon's own schedule: wait for them (bounded), not a fixed 2 s (the
# scrape is made inside dcy: the metrics listen on its loopback only)
dmetrics() { nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics; }
wait_output 60 dmetrics -- '^fluxdecoy_contained_packets_total\{persona="hi-drop",verdict="dropped"\} [1-9]' \
	'^fluxdecoy_contained_packets_total\{persona="hi-web",verdict="reflected"\} [1-9]' \
	'^fluxdecoy_contained_packets_total\{persona="hi-reply",verdict="replied"\} [1-9]' \
	'^fluxdecoy_reflect_dns_queries_total [1-9]'
wait_grep 60 "$W/eve.json" '"event":"contained","persona":"hi-drop","policy":"drop","dropped":[1-9]'
M=$(dmetrics)
has_line "metrics: dropped packets of hi-drop" '^fluxdecoy_contained_packets_total\{persona="hi-drop",verdict="dropped"\} [1-9]' "$M"
has_line "metrics: reflected flows of hi-web" '^fluxdecoy_contained_packets_total\{persona="hi-web",verdict="reflected"\} [1-9]' "$M"
has_line "metrics: replied packets of hi-reply" '^fluxdecoy_contained_packets_total\{persona="hi-reply",verdict="replied"\} [1-9]' "$M"
has_line "metrics: reflected DNS queries" '^fluxdecoy_reflect_dns_queries_total [1-9]' "$M"
ev_line "event: contained (kernel counters)" '"event":"contained","persona":"hi-drop","policy":"drop","dropped":[1-9]'
undoc=""
for m in $(grep -o '^fluxdecoy_[a-z_]*' <<<"$M" | sort -u); do
	grep -q "^\.B $m\b" "$FG_REPO/doc/fluxdecoy.8" || undoc="$undoc $m"
done
assert_eq "every exported metric is documented in fluxdecoy(8)" "" "$undoc"
if command -v promtool >/dev/null; then
	check "promtool check metrics" bash -c "printf '%s\n' \"\$1\" | promtool check metrics" _ "$M"
fi

# still serving after all that
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.1 "http://198.51.100.99/" 2>&1)
has_line "still serving" "a web server|live backend" "$out"

# ------------------------------------------------------------ backend failure
# What fluxdecoy(8) promises when a backend cannot be reached or started:
# the attacker's connection is reset (as a host without that service would),
# a backend_error / backend_spawn_failed event, flow_end with reason
# backend-error / backend-spawn-failed, fluxdecoy_backend_errors_total
# (and fluxdecoy_backend_spawn_errors_total) counted, and the bed serves on.
# Fresh sources (10.0.3.41-43), so that the scan filter lets each through.
for a in 10.0.3.41 10.0.3.42 10.0.3.43; do addr_add cli e1 "$a/32"; done
# how the other side ends a connection (an HTTP request sent): reset, closed,
# refused, data or timeout; curl alone cannot tell (a reset that beats its
# connect check is "Couldn't connect", exit 7, later "reset by peer", 56)
tcp_end() { # tcp_end SRC DST PORT
	nsx cli python3 - "$@" <<'PY'
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.settimeout(60)
s.bind((src, 0))
try:
    s.connect((dst, port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    print("data" if s.recv(4096) else "closed")
except ConnectionResetError:
    print("reset")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error", e)
PY
}
nsx cli ip route add 198.51.100.240/30 via 10.0.3.10 src 10.0.3.41   # for ssh-keyscan
# hi-dead (198.51.100.240/30) is bound to 10.0.4.40, where nothing listens
# on port 80 (its port 22 is the real sshd)
be0=$(metric fluxdecoy_backend_errors_total)
se0=$(metric fluxdecoy_backend_spawn_errors_total)
sp0=$(metric fluxdecoy_backends_spawned_total)
DEAD=198.51.100.241
assert_eq "a refusing backend: the client's connection is reset" "reset" \
	"$(tcp_end 10.0.3.41 $DEAD 80)"
# and nothing of the flow stays on either side (fluxdecoy let go of the
# client's socket: no ESTAB or CLOSE-WAIT left)
assert_eq "ss: no socket of the reset flow left on the bed" "" \
	"$(nsx dcy ss -Htan src "$DEAD:80" dst 10.0.3.41)"
assert_eq "ss: no socket of the reset flow left on the client" "" \
	"$(nsx cli ss -Htan src 10.0.3.41 dst "$DEAD:80")"
pat="\"src_ip\":\"10.0.3.41\".*\"dest_ip\":\"$DEAD\",\"dest_port\":80.*\"event\":\"flow_end\",\"persona\":\"hi-dead\",\"interaction\":\"high\",\"backend\":\"10.0.4.40\",\"reason\":\"backend-error\",\"bytes_toserver\":0,\"bytes_toclient\":0"
wait_for $T grep -Eq "$pat" "$W/eve.json"
has_line "event: flow_end with reason backend-error" "$pat" "$(cat "$W/eve.json")"
has_line "event: backend_error names the backend, the times and the error" \
	"\"src_ip\":\"10.0.3.41\".*\"event\":\"backend_error\",\"persona\":\"hi-dead\",\"backend\":\"10.0.4.40\",\"connect_ms\":[0-9]+,\"connect_us\":[0-9]+,\"error\":\"Connection refused\"" \
	"$(cat "$W/eve.json")"
be_is() { [ "$(metric fluxdecoy_backend_errors_total)" = "$1" ]; }
wait_for $T be_is $((be0 + 1))
assert_eq "metrics: fluxdecoy_backend_errors_total counts the failed backend" \
	"$((be0 + 1))" "$(metric fluxdecoy_backend_errors_total)"
# the bound flow after it: the same binding, the same reset
assert_eq "a bound flow to the refusing backend is reset too" "reset" \
	"$(tcp_end 10.0.3.41 $DEAD 80)"
wait_for $T be_is $((be0 + 2))
assert_eq "metrics: each failed flow counted" "$((be0 + 2))" "$(metric fluxdecoy_backend_errors_total)"

# hi-nospawn: its template (/bin/false) never starts a backend
NOSP=198.51.100.245
assert_eq "a template that fails: the waiting client is reset" "reset" \
	"$(tcp_end 10.0.3.42 $NOSP 80)"
pat="\"src_ip\":\"10.0.3.42\".*\"dest_ip\":\"$NOSP\",\"dest_port\":80.*\"event\":\"flow_end\",\"persona\":\"hi-nospawn\",\"interaction\":\"high\",\"backend\":\"10\.0\.5\.(8|9|10|11)\",\"reason\":\"backend-spawn-failed\""
wait_for $T grep -Eq "$pat" "$W/eve.json"
has_line "event: flow_end with reason backend-spawn-failed" "$pat" "$(cat "$W/eve.json")"
has_line "event: backend_spawn_failed names the slot and the error" \
	'"event":"backend_spawn_failed","persona":"hi-nospawn","backend":"10\.0\.5\.(8|9|10|11)","slot":[0-3],"error":"the program exited with a failure status"' \
	"$(cat "$W/eve.json")"
has_line "log: the template's exit status is named" \
	"persona 'hi-nospawn': /bin/false start: exited with status 1" "$(cat "$W/fluxdecoy.log")"
se_is() { [ "$(metric fluxdecoy_backend_spawn_errors_total)" = "$1" ]; }
wait_for $T se_is $((se0 + 1))
assert_eq "metrics: fluxdecoy_backend_spawn_errors_total counts the failed start" \
	"$((se0 + 1))" "$(metric fluxdecoy_backend_spawn_errors_total)"
assert_eq "metrics: the reset flow is in fluxdecoy_backend_errors_total" \
	"$((be0 + 3))" "$(metric fluxdecoy_backend_errors_total)"
assert_eq "metrics: no clone counted as spawned for it" "$sp0" "$(metric fluxdecoy_backends_spawned_total)"
# the binding stays: the universe's next flow runs the template again
assert_eq "a bound flow to the failing template is reset too" "reset" \
	"$(tcp_end 10.0.3.42 $NOSP 80)"
wait_for $T se_is $((se0 + 2))
assert_eq "metrics: the template was run again and counted" \
	"$((se0 + 2))" "$(metric fluxdecoy_backend_spawn_errors_total)"
assert_eq "events: two flows ended backend-spawn-failed" "2" \
	"$(ev_count '"src_ip":"10.0.3.42".*"event":"flow_end","persona":"hi-nospawn".*"reason":"backend-spawn-failed"')"

# the bed serves on: the dead backend's other port, another backend, the
# low-interaction persona
out=$(nsx cli timeout 10 ssh-keyscan -T 5 -t ed25519 -p 22 $DEAD 2>/dev/null)
assert_eq "after the failures: the same entry's port 22 reaches its backend's sshd" \
	"$real" "$(awk '{print $3}' <<<"$out")"
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.43 "http://198.51.100.50/" 2>&1)
has_line "after the failures: another entry's flow reaches a live backend" 'live backend 10\.0\.4\.1[01]' "$out"
out=$(nsx cli curl -sS -m 10 --interface 10.0.3.43 "http://198.51.100.250/" 2>&1)
has_line "after the failures: the low-interaction persona answers" "a web server" "$out"
if kill -0 "$DPID" 2>/dev/null; then ok "fluxdecoy is still running"; else fail "fluxdecoy is still running"; fi

# ------------------------------------------------------------ stop
stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
# fail closed: the table stays, the backends stay contained
out=$(nsx hi curl -sS -m 5 --interface 10.0.4.20 http://203.0.113.5/ 2>&1)
has_no_line "after fluxdecoy stopped: the backends are still contained" "the real Internet" "$out"
assert_eq "after fluxdecoy stopped: still 0 packets to the outside" "0" "$(outside to_internet)"
finish
