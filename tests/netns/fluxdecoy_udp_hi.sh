#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy's UDP high interaction (Potemkin's late binding for UDP), with
# real BIND named as the backends:
#
#   cli 10.0.3.1 (+ .7 .8 .21 .22 attacker sources), fd00:3::1,
#       203.0.113.53: the outside a backend must never reach
#   dcy 10.0.3.10 / 10.0.4.1: fluxdecoy owning 198.51.100.0/24 and
#       2001:db8:77::/64 by local routes, forwarding for the backends
#       (ip_forward=1: only the containment table holds them)
#   hi  10.0.4.10, 10.0.4.11: two named (server-id ns-a, ns-b), the
#       backends of persona ns-hi (udp-backends, containment drop)
#
# Checked: dig and kdig queries of several forms (EDNS with a cookie, no
# EDNS, +dnssec, NXDOMAIN, CHAOS, IPv6) at a decoy address get what named
# gives directly (ids, cookies and timings masked), through one binding per
# (universe, address, udp/53); a second source binds in its own universe;
# the same source at a second address within the scan window gets the
# captured replies (filtered, counted) and, after the window, its own
# binding; each address keeps its backend for that attacker;
# bindings are collected when idle; a flood from one source (one address,
# many source ports; or many addresses) makes at most one binding; the
# backend cannot send a datagram out of the bed (the decoy table's counter
# grows, the outside sees nothing). The time from the first datagram to
# the backend's answer is printed (events backend_answered), not asserted.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft named dig kdig python3 curl awk
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
W=$FG_WORK
mkdir -p "$W/bin"
cp "$FLUXDECOY" "$W/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$W/bin/fluxdecoy"

has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
cmp_out() { # cmp_out NAME REAL DECOY: equal and not empty
	if [ "$2" == "$3" ] && [ -n "$2" ]; then ok "$1"; else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; fi
}
ev_line() { # ev_line NAME ERE: an event matches, waited for (bounded: events are written asynchronously)
	if wait_grep 30 "$W/eve.json" "$2"; then ok "$1"; else
		fail "$1" "no event matches /$2/; last events:" "$(tail -n 5 "$W/eve.json" 2>/dev/null)"; fi
}
ev_count() { grep -Ec -- "$1" "$W/eve.json" 2>/dev/null || true; }
wait_for() { # wait_for TIMEOUT_S CMD...: until CMD succeeds
	local t=$1 i; shift
	for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
metric() { # metric ERE: the value of the first matching sample
	nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics | grep -E -- "^$1 " | head -1 | awk '{print $2}'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
ev_has() { grep -Eq -- "$1" "$W/eve.json" 2>/dev/null; }

# ------------------------------------------------------------ topology
ns_add cli dcy hi
veth_link cli e1 "10.0.3.1/24,fd00:3::1/64" dcy eth0 "10.0.3.10/24,fd00:3::10/64"
veth_link dcy e4 "10.0.4.1/24" hi eth0 "10.0.4.10/24"
for a in 10.0.3.7 10.0.3.8 10.0.3.21 10.0.3.22 203.0.113.53; do addr_add cli e1 "$a/32"; done
addr_add hi eth0 10.0.4.11/24
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip -6 route add 2001:db8:77::/64 via fd00:3::10
nsx cli ip route add 10.0.4.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip -6 route add default via fd00:3::1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip -6 route add local 2001:db8:77::/64 dev lo
nsx dcy sysctl -qw net.ipv4.ip_forward=1
nsx hi ip route add default via 10.0.4.1

# what reaches the outside from the backends
nsx cli nft -f - <<'EOF' || die "cannot make the outside counters"
table inet outside {
	counter from_bed { }
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "e1" ip saddr 10.0.4.0/24 counter name from_bed
	}
}
EOF
outside() { nsx cli nft list counter inet outside from_bed | grep -o 'packets [0-9]*' | awk '{print $2}'; }

# ------------------------------------------------------------ two real named
zone() {
	cat <<'EOF'
$TTL 300
@	IN SOA ns1.example.test. hostmaster.example.test. 2026120201 3600 600 86400 300
	IN NS ns1.example.test.
ns1	IN A 10.0.4.10
www	IN A 192.0.2.80
	IN AAAA 2001:db8::80
mail	IN MX 10 www.example.test.
txt	IN TXT "a real name server"
EOF
}
NPIDS=()
for b in a:10.0.4.10 b:10.0.4.11; do
	id=${b%%:*} addr=${b#*:}
	N=$W/named-$id; mkdir -p "$N"
	zone >"$N/example.test.zone"
	printf 'who\tIN TXT "ns-%s"\n' "$id" >>"$N/example.test.zone"
	cat >"$N/named.conf" <<EOF
options {
	directory "$N";
	pid-file "$N/named.pid";
	session-keyfile "$N/session.key";
	managed-keys-directory "$N";
	listen-on port 53 { $addr; };
	listen-on-v6 { none; };
	recursion no;
	server-id "ns-$id";
	dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "$N/example.test.zone"; };
EOF
	start_bg "named-$id" hi named -g -n 1 -c "$N/named.conf"; NPIDS+=("$BG_PID")
done
wait_dns cli 10.0.4.10 example.test 30 "${NPIDS[0]}" || { fail "named ns-a answers" "$(tail "$W"/named-a.log)"; finish; }
wait_dns cli 10.0.4.11 example.test 30 "${NPIDS[1]}" || { fail "named ns-b answers" "$(tail "$W"/named-b.log)"; finish; }
ok "two named serve example.test (ns-a, ns-b)"

# ------------------------------------------------------------ the persona
# the low-interaction layer is a capture of the backend itself, so a
# filtered datagram gets the same answer at first contact
P=$W/ns.persona
out=$(nsx dcy "$FLUXDECOY" clone --from 10.0.4.10 --ports udp/53 --zone example.test \
	--name ns -o "$P" 2>&1)
assert_eq "fluxdecoy clone --ports udp/53 of backend ns-a" "0" "$?"
[ -s "$P" ] || { fail "clone wrote a persona" "$out"; finish; }
# a wide bucket: the test's own queries are never rate-limited
sed -Ei 's/^    amplification: (.*)/    amplification: \1\n    rate: 500\n    burst: 500/' "$P"

DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  nft-table: fdudphi
  scan-window: 8s
  idle-timeout: 2s
  binding-idle: 6s
persona:
  - id: ns-hi
    file: $P
    addresses: [198.51.100.0/24, "2001:db8:77::/64"]
    backends: [10.0.4.10, 10.0.4.11]
    udp-backends: true
EOF
# udp-backends without backends is refused, with the reason
sed -e '/backends: \[10/d' "$DCONF" >"$W/bad.conf"
out=$("$FLUXDECOY" --check -c "$W/bad.conf" 2>&1); rc=$?
assert_eq "--check refuses udp-backends without backends (exit 1)" "1" "$rc"
has_line "--check: the reason" "persona 'ns-hi': udp-backends needs backends" "$out"
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null

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
wait_port dcy udp 53 $T "$DPID" || { fail "fluxdecoy binds udp/53" "$(tail "$W/fluxdecoy.log")"; finish; }
wait_port dcy tcp 9561 $T "$DPID" || { fail "fluxdecoy metrics listen"; finish; }
wait_for $T grep -q 'serving [0-9]* personas as nobody' "$W/fluxdecoy.log" \
	|| fail "fluxdecoy serves as nobody" "$(tail "$W/fluxdecoy.log")"
has_line "the containment table holds the backends" 'elements = \{ 10\.0\.4\.10, 10\.0\.4\.11 \}' \
	"$(nsx dcy nft list table inet fdudphi 2>&1)"

# ------------------------------------------------------------ the same answers
# masked: the header id, the cookie (named's server cookie is per server
# and time), timings and the server line
mask() { grep -Ev '^;; (Query time|SERVER|WHEN|MSG SIZE)|^; <<>>|^;; global options|^$' \
	| sed -E 's/id: [0-9]+/id: N/; s/^; COOKIE: .*/; COOKIE: C/; s/^;; ->>HEADER<<-/;; HEADER/'; }
dg() { nsx cli timeout 40 dig +tries=3 +time=5 "$@" 2>&1 | mask; }
kd() { nsx cli timeout 40 kdig +retry=2 +timeout=5 "$@" 2>&1 \
	| grep -Ev '^;; (Received|Time|From)|^$' | sed -E 's/id: [0-9]+/id: N/; s/^;; COOKIE: .*/;; COOKIE: C/'; }
POOL=198.51.100.7 POOL6=2001:db8:77::7 BK=10.0.4.10
# the first query binds source 10.0.3.1 at POOL to one backend; which one
# is the pick's (least loaded, ties by the universe's hash): ask it
# (who.example.test TXT names the backend: not id.server, which BIND
# rate-limits to 3/s per /24 in its built-in CHAOS view, and every relayed
# query comes from the bed's address)
first=$(nsx cli timeout 40 dig +tries=3 +time=5 +short -b 10.0.3.1 @$POOL who.example.test TXT 2>&1)
case "$first" in
'"ns-a"') BK=10.0.4.10 ;; '"ns-b"') BK=10.0.4.11 ;;
*) fail "the first query through the binding gets the backend's name" "$first"; finish ;;
esac
ok "the first datagram is bound and answered by a real named ($first)"
for q in "example.test SOA" "www.example.test A" "+dnssec example.test NS" \
	 "nothere.example.test A" "+noedns version.bind CH TXT" "+nocookie txt.example.test TXT" \
	 "mail.example.test MX" "+bufsize=512 www.example.test AAAA" "+norecurse example.test DNSKEY"; do
	# shellcheck disable=SC2086
	cmp_out "dig $q: the backend's answer through the binding" \
		"$(dg -b 10.0.3.1 @$BK $q)" "$(dg -b 10.0.3.1 @$POOL $q)"
done
for q in "example.test SOA" "+nsid www.example.test AAAA" "+noedns id.server CH TXT"; do
	# shellcheck disable=SC2086
	cmp_out "kdig $q: the backend's answer through the binding" \
		"$(kd -b 10.0.3.1 @$BK $q)" "$(kd -b 10.0.3.1 @$POOL $q)"
done
# a query no capture holds (plain dig: EDNS and a client cookie) is answered
has_line "plain dig www A through the binding: named's answer" '^192\.0\.2\.80$' \
	"$(nsx cli timeout 40 dig +tries=3 +time=5 +short -b 10.0.3.1 @$POOL www.example.test A)"
n=$(ev_count '"src_ip":"10\.0\.3\.1",.*"proto":"UDP".*"event":"binding_created"')
assert_eq "one binding for source 10.0.3.1 at $POOL (every query above used it)" "1" "$n"
# IPv6: its own universe (/64), relayed to the IPv4 backend
r6=$(nsx cli timeout 40 dig +tries=3 +time=5 +short @$POOL6 www.example.test AAAA 2>&1)
has_line "dig -6 through a binding: named's answer from the pool address" '^2001:db8::80$' "$r6"
ev_line "event: the IPv6 flow relayed (flow_start, interaction high)" \
	'"dest_ip":"2001:db8:77::7","dest_port":53,"proto":"UDP","decoy":\{"event":"flow_start","persona":"ns-hi","interaction":"high","persona_name":"ns"'

# ------------------------------------------------------------ scan filter, universes
# source .7: binds at .7; at .8 within the window it is filtered (the
# captured replies answer); after the window it binds there too
idof() { nsx cli timeout 40 dig +tries=3 +time=5 +short -b "$1" "@$2" who.example.test TXT 2>&1; }
id77=$(idof 10.0.3.7 198.51.100.7)
has_line "source .7 at .7: a backend's name" '^"ns-[ab]"$' "$id77"
f0=$(metric fluxdecoy_udp_hi_filtered_total)
r=$(nsx cli timeout 40 dig +tries=3 +time=5 +short -b 10.0.3.7 @198.51.100.8 +noedns +noadflag version.bind CH TXT 2>&1)
has_line "source .7 at .8 within the window: the captured version.bind" '"9\.' "$r"
f1=$(metric fluxdecoy_udp_hi_filtered_total)
[ "${f1:-0}" -gt "${f0:-0}" ] && ok "the filtered datagram is counted ($f0 -> $f1)" \
	|| fail "filtered datagram counted" "$f0 -> $f1"
assert_eq "no binding for .7 at .8 within the window" "0" \
	"$(ev_count '"src_ip":"10\.0\.3\.7",.*"dest_ip":"198\.51\.100\.8".*"event":"binding_created"')"
ev_line "event: the filtered datagram got the low-interaction answer" \
	'"src_ip":"10\.0\.3\.7",.*"dest_ip":"198\.51\.100\.8".*"event":"udp","persona":"ns-hi".*"result":"answered"'
# a second source is its own (source, port, proto): it binds at once
id87=$(idof 10.0.3.8 198.51.100.7)
has_line "a second source at .7: bound in its own universe" '^"ns-[ab]"$' "$id87"
u7=$(grep -E '"src_ip":"10\.0\.3\.7",.*"event":"binding_created"' "$W/eve.json" | grep -o '"universe":"[0-9a-f]*"' | head -1)
u8=$(grep -E '"src_ip":"10\.0\.3\.8",.*"event":"binding_created"' "$W/eve.json" | grep -o '"universe":"[0-9a-f]*"' | head -1)
[ -n "$u7" ] && [ -n "$u8" ] && [ "$u7" != "$u8" ] && ok "two sources, two universes ($u7, $u8)" \
	|| fail "two universes" "$u7 / $u8"
# (the binding at .7 is kept alive meanwhile: binding-idle is 6 s)
bound78() { idof 10.0.3.7 198.51.100.7 >/dev/null
	nsx cli timeout 10 dig +tries=1 +time=1 +short -b 10.0.3.7 @198.51.100.8 who.example.test TXT >/dev/null 2>&1
	ev_has '"src_ip":"10\.0\.3\.7",.*"dest_ip":"198\.51\.100\.8".*"event":"binding_created"'; }
wait_for 60 bound78 && ok "after the scan window source .7 binds at .8 too" \
	|| fail "source .7 binds at .8 after the window"
u78=$(grep -E '"src_ip":"10\.0\.3\.7",.*"dest_ip":"198\.51\.100\.8".*"event":"binding_created"' "$W/eve.json" \
	| grep -o '"universe":"[0-9a-f]*"' | head -1)
assert_eq "the binding at .8 is in the same universe as at .7" "$u7" "$u78"
id78=$(idof 10.0.3.7 198.51.100.8)
seen=
for i in 1 2 3; do seen="$seen $(idof 10.0.3.7 198.51.100.7)/$(idof 10.0.3.7 198.51.100.8)"; done
assert_eq "each address keeps its backend for that attacker (.7: $id77, .8: $id78)" \
	"$(printf ' %s' "$id77/$id78" "$id77/$id78" "$id77/$id78")" "$seen"

# ------------------------------------------------------------ idle collection
wait_for 60 metric_is fluxdecoy_bindings 0 && ok "bindings are collected once idle" \
	|| fail "bindings collected when idle" "$(metric fluxdecoy_bindings) live"
ev_line "event: binding_expired" '"event":"binding_expired","persona":"ns-hi"'
ev_line "event: the relayed flow ended with its bytes" \
	'"proto":"UDP","decoy":\{"event":"flow_end","persona":"ns-hi","interaction":"high","persona_name":"ns",.*"reason":"idle-timeout","bytes_toserver":[1-9][0-9]*,"bytes_toclient":[1-9]'
assert_eq "metrics: no relayed flow open" "0" "$(metric fluxdecoy_udp_hi_flows)"

# ------------------------------------------------------------ floods
cat >"$W/flood.py" <<'EOF'
import socket, struct, sys, time
src, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0) + b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"
socks = []
if mode == "ports":      # one address, a new source port each datagram
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0)); s.sendto(q, ("198.51.100.20", 53)); socks.append(s)
        if len(socks) > 100:
            socks.pop(0).close()
else:                    # many addresses, one source port
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0))
    for i in range(n):
        s.sendto(q, ("198.51.100.%d" % (30 + i % 100), 53))
time.sleep(1)
EOF
b0=$(metric fluxdecoy_bindings_created_total)
nsx cli timeout 120 python3 "$W/flood.py" 10.0.3.21 ports 300
nsx cli timeout 120 python3 "$W/flood.py" 10.0.3.22 addrs 300
# the daemon may still be draining the floods: wait (bounded) until both
# bindings and the refused relays are counted, then judge the exact counts
floods_counted() {
	[ "$(ev_count '"src_ip":"10\.0\.3\.21",.*"event":"binding_created"')" -ge 1 ] &&
		[ "$(ev_count '"src_ip":"10\.0\.3\.22",.*"event":"binding_created"')" -ge 1 ] &&
		[ "$(metric fluxdecoy_bindings_created_total)" -ge $(( ${b0:-0} + 2 )) ] 2>/dev/null &&
		[ "$(metric fluxdecoy_udp_hi_refused_total)" -ge 1 ] 2>/dev/null
}
wait_for 60 floods_counted
assert_eq "a flood over 300 source ports makes one binding" "1" \
	"$(ev_count '"src_ip":"10\.0\.3\.21",.*"event":"binding_created"')"
assert_eq "a flood over 100 addresses makes one binding" "1" \
	"$(ev_count '"src_ip":"10\.0\.3\.22",.*"event":"binding_created"')"
b1=$(metric fluxdecoy_bindings_created_total)
assert_eq "metrics: two bindings made by the floods" "2" "$(( ${b1:-0} - ${b0:-0} ))"
rf=$(metric fluxdecoy_udp_hi_refused_total)
[ "${rf:-0}" -ge 1 ] && ok "source ports past 64 per binding are refused relay ($rf)" \
	|| fail "relay flows per binding are bounded" "${rf:-none}"
fl=$(metric fluxdecoy_udp_hi_flows)
[ "${fl:-999}" -le 128 ] && ok "relayed flows open after the floods: $fl (at most 64 per binding)" \
	|| fail "relayed flows bounded" "$fl"

# ------------------------------------------------------------ containment
o0=$(outside)
nsx hi timeout 10 kdig @203.0.113.53 -b 10.0.4.10 +retry=0 +timeout=1 www.example.org A >/dev/null 2>&1
nsx hi timeout 10 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.0.4.11", 5353))
for p in (53, 123, 161): s.sendto(b"x" * 40, ("203.0.113.53", p))'
cnt() { nsx dcy nft list counter inet fdudphi contained_0 2>&1 | grep -o 'packets [0-9]*' | awk '{print $2}'; }
c=$(cnt)
[ "${c:-0}" -ge 4 ] && ok "the backends' datagrams are dropped and counted in the decoy's table ($c packets)" \
	|| fail "contained_0 counts the backends' datagrams" "${c:-none}"
o1=$(outside)
assert_eq "0 datagrams of a backend reach the outside" "${o0:-0}" "${o1:-0}"
wait_for 30 ev_has '"event":"contained","persona":"ns-hi","policy":"drop","dropped":[1-9]' \
	&& ok "event: contained (kernel counters)" || fail "contained event" "$(tail -n 3 "$W/eve.json")"

# ------------------------------------------------------------ figures, metrics
# the figure: the interactive queries (the floods' flows excluded)
us=$(grep -E '"src_ip":"(10\.0\.3\.(1|7|8)|fd00:3::1)",' "$W/eve.json" \
	| grep -o '"event":"backend_answered"[^}]*"answer_us":[0-9]*' | grep -o '[0-9]*$' | sort -n)
nus=$(grep -c . <<<"$us")
med=$(sed -n "$(( (nus + 1) / 2 ))p" <<<"$us")
log "figure: first datagram to the backend's answer through a binding: median ${med} us over $nus flows (min $(head -1 <<<"$us"), max $(tail -1 <<<"$us"))"
[ "$nus" -ge 5 ] && ok "events: backend_answered carries answer_us ($nus flows)" || fail "backend_answered events" "$nus"
has_line "metrics: relayed datagrams to the backends" '^[1-9]' "$(metric 'fluxdecoy_udp_hi_datagrams_total\{direction="toserver"\}')"
has_line "metrics: relayed answers" '^[1-9]' "$(metric 'fluxdecoy_udp_hi_datagrams_total\{direction="toclient"\}')"
has_line "metrics: answer time sum" '^[0-9]+\.[0-9]+$' "$(metric fluxdecoy_udp_hi_answer_seconds_total)"
has_line "still serving after the floods" '^192\.0\.2\.80$' \
	"$(nsx cli timeout 40 dig +tries=3 +time=5 +short -b 10.0.3.1 @198.51.100.99 +noedns www.example.test A)"

stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
