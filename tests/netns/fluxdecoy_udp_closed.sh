#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Closed UDP ports at the decoy answer as on the real host: ICMP (v6) port
# unreachable from the kernel.
#
#   srv  10.0.2.10 fd00:2::10: host A, named (udp/53 open)
#   srvb 10.0.5.20 fd00:5::20: host B, a web server, no UDP service
#   dcy 10.0.3.10: fluxdecoy owning 198.51.100.0/24 and 2001:db8:77::/64;
#       persona ns (a clone of A) at 198.51.100.0/26 and 2001:db8:77::/120,
#       persona web (B's surface, TCP only) at 198.51.100.64/26 and
#       2001:db8:77::100/120
#       a shuffled pool 198.51.100.128/26, half ns-s, half web-s
#   cli: nmap, dig, python3
#
# fluxdecoy's wildcard socket on udp/53 (for ns) takes the datagrams of
# every pool address; at web's addresses the real host B has no udp/53, so
# its kernel answers port unreachable. Checked: nmap -sU on both personas'
# UDP ports (and ports no persona has) at an address of each persona gives
# exactly what the real host of that persona gives, IPv4 and IPv6; the
# ICMP comes from the decoy table's reject (counter udp_closed), and without
# that chain the port is silent (the check can fail); ns's udp/53 still
# answers. ICMPv6 errors about a pool address leave from that address
# (chain icmp6src); without it nmap sees the decoy's closed IPv6 ports as
# filtered. In the shuffled pool the closed UDP ports follow the deal
# (sets udp_served4/6, filled by the privileged part from its own key),
# also after a forced shuffle. Env: FLUXGATED (fluxdecoy from the same directory), VALGRIND.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft named dig nmap python3 curl
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
wait_for() { # wait_for TIMEOUT_S CMD...
	local t=$1 i; shift
	for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}

# ------------------------------------------------------------ topology
ns_add cli srv srvb dcy
veth_link cli e0 "10.0.2.1/24,fd00:2::1/64" srv eth0 "10.0.2.10/24,fd00:2::10/64"
veth_link cli e2 "10.0.5.1/24,fd00:5::1/64" srvb eth0 "10.0.5.20/24,fd00:5::20/64"
veth_link cli e1 "10.0.3.1/24,fd00:3::1/64" dcy eth0 "10.0.3.10/24,fd00:3::10/64"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip -6 route add 2001:db8:77::/64 via fd00:3::10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip -6 route add default via fd00:3::1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip -6 route add local 2001:db8:77::/64 dev lo

# ------------------------------------------------------------ the real hosts
N=$W/named; mkdir -p "$N"
cat >"$N/example.test.zone" <<'EOF'
$TTL 300
@	IN SOA ns1.example.test. hostmaster.example.test. 2026120201 3600 600 86400 300
	IN NS ns1.example.test.
ns1	IN A 10.0.2.10
EOF
cat >"$N/named.conf" <<EOF
options {
	directory "$N";
	pid-file "$N/named.pid";
	session-keyfile "$N/session.key";
	managed-keys-directory "$N";
	listen-on port 53 { 10.0.2.10; };
	listen-on-v6 port 53 { fd00:2::10; };
	recursion no;
	dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "$N/example.test.zone"; };
EOF
start_bg named srv named -g -n 1 -c "$N/named.conf"; NAMED_PID=$BG_PID
wait_dns cli 10.0.2.10 example.test 30 "$NAMED_PID" || { fail "named answers" "$(tail "$W/named.log")"; finish; }
mkdir -p "$W/www"; printf 'ok' >"$W/www/index.html"
start_bg web srvb python3 -m http.server --bind 10.0.5.20 --directory "$W/www" 80; WEB_PID=$BG_PID
wait_port srvb tcp 80 60 "$WEB_PID" || { fail "host B's web server listens"; finish; }
ok "the real hosts: A (named) and B (web, no UDP)"

# ------------------------------------------------------------ the decoy
P=$W/ns.persona
out=$(nsx cli "$FLUXDECOY" clone --from 10.0.2.10 --ports udp/53 --zone example.test \
	--name ns -o "$P" 2>&1)
assert_eq "clone of host A (udp/53)" "0" "$?"
sed -Ei 's/^    amplification: (.*)/    amplification: \1\n    rate: 500\n    burst: 500/' "$P"
cat >"$W/web.persona" <<'EOF'
persona:
  name: web
service:
  - port: 80
    kind: http
    response-get: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
EOF
head -c 32 /dev/urandom >"$W/shuffle.key"; chmod 0600 "$W/shuffle.key"
# the shuffled web persona on 8080: port 80 is the wildcard socket of web's
sed 's/- port: 80$/- port: 8080/' "$W/web.persona" >"$W/web-s.persona"
DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF
shuffle:
  epoch: 1h
  key: $W/shuffle.key
pool:
  - id: shuf4
    prefix: 198.51.100.128/26
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  nft-table: fdudp
persona:
  # a shuffled pool: half ns (udp/53), half web (tcp/80), dealt per epoch
  - id: ns-s
    file: $P
    pool: shuf4
    share: 0.5
  - id: web-s
    file: $W/web-s.persona
    pool: shuf4
    share: 0.5
  - id: ns
    file: $P
    addresses: [198.51.100.0/26, "2001:db8:77::/120"]
  - id: web
    file: $W/web.persona
    addresses: [198.51.100.64/26, "2001:db8:77::100/120"]
EOF
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
wait_for $T grep -q 'serving [0-9]* personas as nobody' "$W/fluxdecoy.log" \
	|| fail "fluxdecoy serves" "$(tail "$W/fluxdecoy.log")"
has_line "the table of closed UDP ports was installed" "containment: table inet fdudp installed" \
	"$(cat "$W/fluxdecoy.log")"
TBL=$(nsx dcy nft list table inet fdudp 2>&1)
has_line "nft: the bed's UDP ports" 'elements = \{ 53 \}' "$TBL"
has_line "nft: web's addresses reject them" 'ip daddr 198\.51\.100\.64-198\.51\.100\.127 udp dport @udp_ports .*reject' "$TBL"

# ------------------------------------------------------------ one datagram
cat >"$W/probe.py" <<'EOF'
import socket, sys
a, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in a else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(3); s.connect((a, port))
q = bytes.fromhex("0006010000010000000000000776657273696f6e0462696e640000100003")
for i in range(3):   # up to three tries, spaced beyond icmp_ratelimit's 1 s
    s.send(q)
    try:
        s.recv(2048); print("answer"); break
    except ConnectionRefusedError:
        print("refused"); break
    except socket.timeout:
        pass
else:
    print("silent")
EOF
probe() { nsx cli timeout 30 python3 "$W/probe.py" "$1" "$2"; }
assert_eq "udp/53 at ns's address: answered" "answer" "$(probe 198.51.100.7 53)"
assert_eq "udp/53 at web's address: port unreachable" "refused" "$(probe 198.51.100.70 53)"
assert_eq "udp/53 at web's IPv6 address: port unreachable" "refused" "$(probe 2001:db8:77::170 53)"
assert_eq "udp/53 at ns's IPv6 address: answered" "answer" "$(probe 2001:db8:77::7 53)"
assert_eq "the real host B: udp/53 port unreachable" "refused" "$(probe 10.0.5.20 53)"
c=$(nsx dcy nft list counter inet fdudp udp_closed | grep -o 'packets [0-9]*' | awk '{print $2}')
[ "${c:-0}" -ge 2 ] && ok "the decoy table counts the rejected datagrams ($c)" || fail "udp_closed counts" "${c:-none}"

# ------------------------------------------------------------ nmap -sU
PORTS=53,67,123,161,5353
# nmap's own timing (retries, slowing down when ICMP is rate-limited), as
# an attacker scans
nmu() { local six=; [[ $1 == *:* ]] && six=-6
	nsx cli timeout 300 nmap $six -n -Pn -sU -p $PORTS "$1" 2>&1 \
	| grep -E '^[0-9]+/udp' | awk '{print $1, $2}'; }
for pair in "A 10.0.2.10 198.51.100.7" "B 10.0.5.20 198.51.100.70" \
	    "A fd00:2::10 2001:db8:77::7" "B fd00:5::20 2001:db8:77::170"; do
	read -r host real dec <<<"$pair"
	r=$(nmu "$real"); d=$(nmu "$dec")
	cmp_out "nmap -sU -p $PORTS: the decoy at $dec as the real host $host ($real)" "$r" "$d"
done
has_line "host A: 53/udp open" '^53/udp open$' "$(nmu 10.0.2.10)"
has_line "host B: 53/udp closed" '^53/udp closed$' "$(nmu 10.0.5.20)"

# ------------------------------------------------------------ the shuffled pool
# every address of the pool: tcp/8080 open (web-s) or udp/53 answered (ns-s),
# and where udp/53 is not served, port unreachable (never silence); one
# source address per pool address, so that the kernel's per-peer ICMP rate
# limit (a real attacker meets one per real host) does not merge them
for i in $(seq 0 63); do addr_add cli e1 "10.0.3.$((100 + i))/32"; done
cat >"$W/deal.py" <<'EOF'
import socket
q = bytes.fromhex("0006010000010000000000000776657273696f6e0462696e640000100003")
out = []
for i in range(64):
    a, src = "198.51.100.%d" % (128 + i), "10.0.3.%d" % (100 + i)
    c = socket.socket(); c.settimeout(10); c.bind((src, 0))
    try:
        c.connect((a, 8080)); tcp = "tcp-open"
    except ConnectionRefusedError:
        tcp = "tcp-closed"
    except OSError:
        tcp = "tcp-silent"
    c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((src, 0))
    u.settimeout(3); u.connect((a, 53)); udp = "udp-silent"
    for t in range(3):
        u.send(q)
        try:
            u.recv(2048); udp = "udp-answer"; break
        except ConnectionRefusedError:
            udp = "udp-refused"; break
        except socket.timeout:
            pass
    u.close()
    out.append("%s %s %s" % (a, tcp, udp))
print("\n".join(out))
EOF
metric() { nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
check_deal() { # check_deal LABEL N: every address is one persona, wholly
	local r bad
	r=$(nsx cli timeout 600 python3 "$W/deal.py")
	bad=$(grep -Ev ' (tcp-open udp-refused|tcp-closed udp-answer)$' <<<"$r")
	if [ -z "$bad" ] && [ "$(grep -c . <<<"$r")" = 64 ]; then
		ok "$1: 64 addresses, $(grep -c udp-answer <<<"$r") ns-s (udp/53 open), $(grep -c udp-refused <<<"$r") web-s (udp/53 port unreachable)"
	else fail "$1: every address answers as one persona" "$bad"; fi
	printf '%s\n' "$r" | awk '{print $1, $3}' >"$W/deal.$2"
}
wait_for $T metric_is fluxdecoy_udp_closed_deals_total 1 \
	&& ok "the first deal is in the kernel's sets" || fail "first deal applied" "$(metric fluxdecoy_udp_closed_deals_total)"
check_deal "deal 1" 1
kill -USR1 "$DPID"
wait_for 60 metric_is fluxdecoy_udp_closed_deals_total 2 \
	&& ok "a forced shuffle: the new deal is in the kernel's sets" \
	|| fail "second deal applied" "$(metric fluxdecoy_udp_closed_deals_total)"
check_deal "deal 2 (after SIGUSR1)" 2
ch=$(diff "$W/deal.1" "$W/deal.2" | grep -c '^>')
[ "$ch" -ge 1 ] && ok "the shuffle moved udp/53 between addresses ($ch of 64 changed)" \
	|| fail "the deal changed" "$ch"
assert_eq "metrics: no deal failed" "0" "$(metric fluxdecoy_udp_closed_deal_errors_total)"

# ------------------------------------------------------------ without the chain
# the chain is what makes the difference: deleted, web's udp/53 is silent
nsx dcy nft delete chain inet fdudp udpclosed
assert_eq "control: without chain udpclosed, udp/53 at web's address is silent" "silent" \
	"$(probe 198.51.100.71 53)"

# and without chain icmp6src the kernel's ICMPv6 leaves from the bed's
# interface address: nmap calls the closed port filtered
nsx dcy nft delete chain inet fdudp icmp6src
has_line "control: without chain icmp6src, a closed IPv6 port looks filtered" '^67/udp filtered$' \
	"$(nsx cli timeout 300 nmap -6 -n -Pn -sU -p 67 2001:db8:77::171 2>&1 | grep -E '^[0-9]+/udp' | awk '{print $1, $2}')"

stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
