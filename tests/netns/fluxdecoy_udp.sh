#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy's UDP personas against a real BIND named and a real net-snmp
# snmpd:
#
#   srv 10.0.2.10: named, authoritative for example.test (udp/53); snmpd (udp/161)
#   dcy 10.0.3.10: fluxdecoy owning 198.51.100.0/24 by a local route
#   cli 10.0.2.1 / 10.0.3.1: nmap, dig, kdig, python3 (raw datagrams)
#
# `fluxdecoy clone --ports udp/53,udp/161 --zone example.test --names
# www,ns1` captures the
# answers to nmap's own UDP probes for each port (read from the installed
# nmap-service-probes), and for DNS each CHAOS name and the apex SOA/NS in
# the forms dig and kdig send plus the NXDOMAIN/NODATA/REFUSED templates;
# the decoy serves them on the pool. Then: nmap -sU -sV -p 53 and -p 161
# give the same lines for both (addresses masked); dig (plain, +nocookie,
# +noedns, +dnssec, +norec, +edns=1) and kdig (plain, +cookie) get named's very
# answer from the decoy for ten questions, captured or not (a 0x20 name,
# an unknown name, a name outside the zone, a type a name lacks), IDs and
# cookie values masked; a random datagram gets no answer (open, silent), a
# UDP port outside the persona ICMP port unreachable (closed), and a flood
# of version.bind queries from one source is cut by the token bucket:
# answers within burst + rate x elapsed, counted, never more bytes out than
# amplification x bytes in. A persona shuffled over a pool answers udp/53
# exactly where the deal gives it its TCP port. Events and metrics are
# checked; the daemon runs under valgrind with VALGRIND=1.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND,
# FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip named dig kdig nmap python3 curl snmpd
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
mkdir -p "$FG_WORK/bin"
cp "$FLUXDECOY" "$FG_WORK/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$FG_WORK/bin/fluxdecoy"

REAL=10.0.2.10 REAL6=fd00:2::10
POOL=198.51.100.7 POOL6=2001:db8:77::7
W=$FG_WORK

has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
cmp_out() { # cmp_out NAME REAL_OUTPUT DECOY_OUTPUT: equal and not empty
	if [ "$2" == "$3" ] && [ -n "$2" ]; then ok "$1"; else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; fi
}
ev_match() { # ev_match NAME ERE (waited for, bounded: events are written asynchronously)
	if wait_grep 30 "$W/eve.json" "$2"; then ok "$1"; else
		fail "$1" "no event matches /$2/; last events:" "$(tail -n 5 "$W/eve.json")"; fi
}
wait_log() { # wait_log FILE ERE TIMEOUT_S
	local i
	for i in $(seq $((10 * $3))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
metric() { # metric NAME: its value on the decoy's endpoint
	nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics | awk -v m="$1" '$1 == m { print $2 }'
}

# ------------------------------------------------------------ topology
ns_add cli srv dcy
veth_link cli e0 "10.0.2.1/24,fd00:2::1/64" srv eth0 "10.0.2.10/24,fd00:2::10/64"
veth_link cli e1 "10.0.3.1/24,fd00:3::1/64" dcy eth0 "10.0.3.10/24,fd00:3::10/64"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip -6 route add 2001:db8:77::/64 via fd00:3::10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip -6 route add default via fd00:3::1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip -6 route add local 2001:db8:77::/64 dev lo

# ------------------------------------------------------------ the real named
N=$W/named; mkdir -p "$N"
cat >"$N/example.test.zone" <<'EOF2'
$TTL 300
@	IN SOA ns1.example.test. hostmaster.example.test. 2026120201 3600 600 86400 300
	IN NS ns1.example.test.
ns1	IN A 10.0.2.10
www	IN A 10.0.2.10
EOF2
cat >"$N/named.conf" <<EOF2
options {
	directory "$N";
	pid-file "$N/named.pid";
	session-keyfile "$N/session.key";
	managed-keys-directory "$N";
	listen-on port 53 { 10.0.2.10; };
	listen-on-v6 port 53 { fd00:2::10; };
	recursion no;
	server-id "ns1.example.test";
	dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "$N/example.test.zone"; };
EOF2
start_bg named srv named -g -n 1 -c "$N/named.conf"; NAMED_PID=$BG_PID
wait_dns cli $REAL example.test 30 "$NAMED_PID" || { fail "named answers" "$(tail "$W/named.log")"; finish; }
ok "named serves example.test"

# ------------------------------------------------------------ a real SNMP agent (udp/161)
# net-snmp's snmpd beside named: a UDP service whose probe set comes from
# nmap's own nmap-service-probes (clone reads it at run time)
S=$W/snmp; mkdir -p "$S"
printf 'agentAddress udp:10.0.2.10:161\nrocommunity public default\nsysLocation lab\nsysName ns1\n' >"$S/snmpd.conf"
start_bg snmpd srv env MIBS= MIBDIRS="$S" SNMP_PERSISTENT_DIR="$S" \
	snmpd -f -Lo -C -c "$S/snmpd.conf" -p "$S/snmpd.pid" -I -smux; SNMPD_PID=$BG_PID
wait_port srv udp 161 30 "$SNMPD_PID" || { fail "snmpd listens on udp/161" "$(tail "$W/snmpd.log")"; finish; }
ok "snmpd serves udp/161"

# ------------------------------------------------------------ clone
P=$W/ns.persona
out=$(nsx cli "$FLUXDECOY" clone --from $REAL --ports udp/53,udp/161 --zone example.test --names www,ns1 \
	--name ns -o "$P" 2>&1)
assert_eq "fluxdecoy clone --ports udp/53 succeeds" "0" "$?"
[ -s "$P" ] || { fail "clone wrote a persona" "$out"; finish; }
pt=$(cat "$P")
has_line "clone: a udp: list for port 53" '^  - port: 53$' "$pt"
has_line "clone: nmap's DNSVersionBindReq captured" \
	'request: "0006010000010000000000000776657273696f6e0462696e640000100003"' "$pt"
has_line "clone: nmap's DNSStatusRequest captured" 'request: "000010000000000000000000"' "$pt"
has_line "clone: the amplification it needs is written down" '^    amplification: [1-9][0-9]*$' "$pt"
nrep=$(grep -c '^      - request:' "$P")
[ "$nrep" -ge 5 ] && ok "clone: five or more probes answered ($nrep)" || fail "clone: probes answered" "$nrep" "$pt"
# a port clone has no probe set for: refused with the reason
has_line "clone: a udp: list entry for port 161" '^  - port: 161$' "$pt"
# nmap's SNMPv1public probe (nmap-service-probes), byte for byte
has_line "clone udp/161: nmap's SNMPv1public probe answered" \
	'request: "3082002f02010004067075626c6963a082002002044c33a756' "$pt"
# a port nobody serves: every probe unanswered (ICMP unreachable), refused
out=$(nsx cli "$FLUXDECOY" clone --from $REAL --ports udp/123 --timeout 1 2>&1); rc=$?
assert_eq "clone udp/123 (closed, nmap has NTPRequest for it): refused" "1" "$rc"
has_line "clone udp/123: the reason" 'no probe was answered' "$out"
# a port for which nmap has no UDP probe at all
out=$(nsx cli "$FLUXDECOY" clone --from $REAL --ports udp/40000 --timeout 1 2>&1); rc=$?
assert_eq "clone udp/40000: refused" "1" "$rc"
has_line "clone udp/40000: the reason" 'nmap has no UDP probe for this port' "$out"
# a persona whose reply outgrows its request by more than amplification: refused
sed 's/^    amplification: .*/    amplification: 1/' "$P" >"$W/amp1.persona"

# the same UDP port in a persona shuffled over a pool (DESIR), with HTTP on
# 80 as the witness of the deal; its bucket is wide (one source asks all)
{ sed -E 's/^    amplification: (.*)/    amplification: \1\n    rate: 200\n    burst: 200/; s/^  name: ns$/  name: shuf/' "$P"
  printf 'service:\n  - port: 80\n    kind: http\n    response-get: "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"\n'
} >"$W/shuf.persona"
printf 'pool:\n  - id: shuf4\n    prefix: 198.51.100.64/26\n' >"$W/pools.conf"
head -c 32 /dev/urandom >"$W/shuffle.key"; chmod 0600 "$W/shuffle.key"
DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF2
include: $W/pools.conf
shuffle:
  epoch: 1h
  key: $W/shuffle.key
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  control: $W/control.sock
  # the fake Internet's DNS (containment reflect) shares port 53 with the
  # UDP persona's wildcard socket: each keeps its own addresses
  reflect-dns: 10.0.3.10@53
persona:
  - id: ns
    file: $P
    addresses: [198.51.100.0/26, "2001:db8:77::/64"]
  - id: shuf
    file: $W/shuf.persona
    pool: shuf4
    share: 0.5
EOF2
sed "s#file: $P#file: $W/amp1.persona#" "$DCONF" >"$W/amp1.conf"
out=$("$FLUXDECOY" --check -c "$W/amp1.conf" 2>&1); rc=$?
assert_eq "--check refuses a reply over the amplification bound" "1" "$rc"
has_line "--check: the bound is named" "more than amplification 1 x the request" "$out"
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1)
assert_eq "fluxdecoy --check accepts the cloned persona" "0" "$?"

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
wait_log "$W/fluxdecoy.log" 'serving [0-9]+ personas as nobody' $T || fail "fluxdecoy serves" "$(tail "$W/fluxdecoy.log")"

# ------------------------------------------------------------ the same surface
dq() { nsx cli timeout 30 dig +noedns +noadflag +tries=3 +time=5 "@$1" "${@:2}" 2>&1; }
for q in "version.bind CH TXT" "id.server CH TXT" "hostname.bind CH TXT" \
	 "example.test SOA" "example.test NS"; do
	# shellcheck disable=SC2086
	r=$(dq $REAL $q +short); d=$(dq $POOL $q +short)
	cmp_out "dig $q: the same answer" "$r" "$d"
done
has_line "dig version.bind from the decoy: BIND's version" '"9\.' "$(dq $POOL version.bind CH TXT +short)"
# the whole answer: flags, sections, rcode (the header ID differs by design)
full() { dq "$1" version.bind CH TXT | grep -Ev '^;; (Query time|SERVER|WHEN|MSG SIZE)|^; <<>>|^$' \
	| sed -E 's/id: [0-9]+/id: N/'; }
cmp_out "dig version.bind: the same full answer (id masked)" "$(full $REAL)" "$(full $POOL)"
# over IPv6 (IPV6_PKTINFO: the answer leaves from the pool address asked)
wait_dns cli $REAL6 example.test 30 "$NAMED_PID" || fail "named answers over IPv6"
cmp_out "dig -6 version.bind: the same answer" "$(dq $REAL6 version.bind CH TXT +short)" \
	"$(dq $POOL6 version.bind CH TXT +short)"
cmp_out "dig -6 example.test SOA: the same answer" "$(dq $REAL6 example.test SOA +short)" \
	"$(dq $POOL6 example.test SOA +short)"
ev_match "event: an IPv6 datagram answered from the pool address" \
	'"dest_ip":"2001:db8:77::7","dest_port":53,"proto":"UDP","decoy":\{"event":"udp".*"result":"answered"'

# ------------------------------------------------------------ queries in forms never captured
# The persona holds each name in a few forms; the decoy re-renders them for
# what dig and kdig actually send (their own IDs and cookies, 0x20 case,
# RD, EDNS or not, DO) and answers names nobody captured from the
# templates. Every answer must be named's, whole: flags, sections, EDNS,
# the message size; the ID and the cookie's value masked (both random).
has_line "clone: question entries" '^        match: question$' "$pt"
has_line "clone: an NXDOMAIN template" '^        match: nxdomain$' "$pt"
has_line "clone: a NODATA template" '^        match: nodata$' "$pt"
has_line "clone: a template for other names (REFUSED)" '^        match: other$' "$pt"
has_line "clone: a template for an unknown EDNS version (BADVERS)" '^        match: badvers$' "$pt"
# dig and kdig, all but the query time, the server's address and the clock
mask() { grep -Ev '^;; (Query time|SERVER|WHEN|Time|From)[: ]|^; <<>>|^;; global options|^$' \
	| sed -E 's/id: [0-9]+/id: N/; s/(COOKIE: )[0-9A-Fa-f]+/\1C/'; }
dg() { nsx cli timeout 60 dig +tries=3 +time=5 "@$1" "${@:2}" 2>&1 | mask; }
kd() { nsx cli timeout 60 kdig +retry=2 +timeout=5 "@$1" "${@:2}" 2>&1 | mask; }
NX="nx$RANDOM$RANDOM.example.test"
for q in "example.test SOA" "ExAmPlE.tEsT SOA" "example.test NS" "www.example.test A" \
	 "Ns1.Example.Test AAAA" "www.example.test MX" "$NX A" \
	 "www.elsewhere.example TXT" "example.test TXT" "version.bind CH TXT"; do
	for form in "dg" "dg +nocookie" "dg +noedns" "dg +dnssec" "dg +norec" "dg +edns=1 +noednsneg" \
		    "kd" "kd +cookie"; do
		read -r tool opt <<<"$form"
		# shellcheck disable=SC2086
		r=$($tool $REAL $opt $q); sleep 0.3
		# shellcheck disable=SC2086
		d=$($tool $POOL $opt $q); sleep 0.3   # under the decoy's bucket (5/s) and named's CHAOS limit
		if grep -q 'status: ' <<<"$r"; then
			cmp_out "${form/dg/dig}: $q: the decoy's answer is named's (ID, cookie masked)" "$r" "$d"
		else
			fail "${form/dg/dig}: $q: named answers" "$r"
		fi
	done
done
has_line "dig: a client cookie gets a server cookie back (named's length)" \
	'^; COOKIE: C \(good\)$' "$(dg $POOL example.test SOA)"
has_line "dig: the unknown name is NXDOMAIN from the decoy" 'status: NXDOMAIN' "$(dg $POOL "$NX" A)"
has_line "dig: outside the zone REFUSED from the decoy" 'status: REFUSED' "$(dg $POOL www.elsewhere.example A)"
has_line "dig +edns=1: BADVERS from the decoy" 'status: BADVERS' "$(dg $POOL +edns=1 +noednsneg example.test SOA)"
BIND_RE='^53/udp +open +domain +ISC BIND'
r=$(nmap_udp_id cli 53 $REAL "$BIND_RE"); d=$(nmap_udp_id cli 53 $POOL "$BIND_RE")
has_line "nmap -sU -sV: named is recognised" '^53/udp +open +domain +ISC BIND' "$r"
cmp_out "nmap -sU -sV -p 53: the same line for the decoy" "$r" "$d"
SNMP_RE='^161/udp +open +snmp +SNMPv1 server; net-snmp'
r=$(nmap_udp_id cli 161 $REAL "$SNMP_RE"); d=$(nmap_udp_id cli 161 $POOL "$SNMP_RE")
has_line "nmap -sU -sV: snmpd is recognised" "$SNMP_RE" "$r"
cmp_out "nmap -sU -sV -p 161: the same lines for the decoy (probes from nmap-service-probes)" "$r" "$d"
# a UDP port the persona lacks: the kernel's ICMP port unreachable
d=$(nsx cli timeout 120 nmap -n -Pn -sU -p 54 --max-retries 2 $POOL 2>&1 | grep '^54/udp')
has_line "udp/54 outside the persona: closed (ICMP port unreachable)" '^54/udp +closed' "$d"

has_line "reflect-dns still answers at its own address (the bed's fake DNS)" \
	'^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "$(dq 10.0.3.10 www.evil.example A +short)"

# ------------------------------------------------------------ the shuffled pool
cat >"$W/deal.py" <<'EOF2'
import socket, time
q = bytes.fromhex("0006010000010000000000000776657273696f6e0462696e640000100003")
addrs = ["198.51.100.%d" % i for i in range(64, 128)]
tcp, udp = set(), set()
for a in addrs:
    c = socket.socket(); c.settimeout(10)
    try:
        c.connect((a, 80)); tcp.add(a)
    except OSError:
        pass
    c.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for a in addrs:
    s.sendto(q, (a, 53))
s.settimeout(3)
try:
    while True:
        r, (src, _) = s.recvfrom(2048)
        udp.add(src)
except socket.timeout:
    pass
print(len(tcp), len(udp), len(tcp ^ udp))
EOF2
read -r nt nu nx < <(nsx cli timeout 120 python3 "$W/deal.py")
assert_eq "shuffled pool: the deal gives HTTP to half of the 64 addresses" "32" "$nt"
assert_eq "shuffled pool: udp/53 answers at the same 32 addresses" "32" "$nu"
assert_eq "shuffled pool: UDP and TCP follow the same deal (addresses that differ)" "0" "$nx"

# ------------------------------------------------------------ silence, limits
cat >"$W/udpprobe.py" <<'EOF2'
import os, socket, sys, time
dst, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.05)
if mode == "random":
    s.sendto(os.urandom(40), (dst, 53))
    s.settimeout(3)
    try:
        s.recvfrom(2048); print("reply")
    except socket.timeout:
        print("silent")
    sys.exit(0)
# flood: version.bind queries (nmap's probe with fresh IDs) from one source
q = bytes.fromhex("0006010000010000000000000776657273696f6e0462696e640000100003")
n = int(mode)
got = sent_b = got_b = 0
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setblocking(False)
t0 = time.monotonic()
for i in range(n):   # as fast as the socket takes them
    d = bytes([i >> 8 & 255, i & 255]) + q[2:]
    try:
        s.sendto(d, (dst, 53)); sent_b += len(d)
    except BlockingIOError:
        time.sleep(0.001); continue
    try:
        while True:
            r, _ = s.recvfrom(2048); got += 1; got_b += len(r)
    except BlockingIOError:
        pass
s.settimeout(1)
try:
    while True:
        r, _ = s.recvfrom(2048); got += 1; got_b += len(r)
except socket.timeout:
    pass
print(n, got, "%.3f" % (time.monotonic() - t0), sent_b, got_b)
EOF2
assert_eq "a random datagram to the decoy's udp/53: no answer" "silent" \
	"$(nsx cli timeout 30 python3 "$W/udpprobe.py" $POOL random)"
read -r n got el sb gb < <(nsx cli timeout 120 python3 "$W/udpprobe.py" $POOL 300)
burst=10 rate=5   # the persona's defaults (fluxdecoy.conf(5))
amp=$(awk '/^    amplification:/ { print $2; exit }' "$P")
bound=$(awk -v b=$burst -v r=$rate -v e="$el" 'BEGIN { printf "%d", b + r * e + 1 }')
if [ "$got" -ge 1 ] && [ "$got" -le "$bound" ]; then
	ok "flood of $n queries from one source: $got answers (at most $bound in ${el}s)"
else
	fail "flood from one source is rate-limited" "$got answers to $n, bound $bound (${el}s)"
fi
[ "$gb" -le $((amp * sb)) ] && ok "flood: $gb bytes out for $sb in (amplification $amp at most)" \
	|| fail "flood: no amplification" "$gb bytes out, $sb in, amplification $amp"

# (a slow decoy, under valgrind, may lose part of the flood in its socket
# buffer: those the kernel drops are never read, so they are not counted)
lim=$(metric 'fluxdecoy_udp_datagrams_total{result="rate-limited"}')
if [ "${lim:-0}" -ge 1 ] && [ $((lim + got)) -le "$n" ]; then
	ok "metrics: rate-limited datagrams counted ($lim of $n, $got answered)"
else fail "metrics: rate-limited counted" "${lim:-none} limited, $got answered, $n sent"; fi
has_line "metrics: answered counted" '^[1-9]' "$(metric 'fluxdecoy_udp_datagrams_total{result="answered"}')"
has_line "metrics: the random datagram counted" '^[1-9]' "$(metric 'fluxdecoy_udp_datagrams_total{result="no-match"}')"
rx=$(metric fluxdecoy_udp_received_bytes_total); tx=$(metric fluxdecoy_udp_sent_bytes_total)
[ "${tx:-1}" -le $((amp * ${rx:-0})) ] && ok "metrics: UDP bytes sent ($tx) <= amplification x received ($rx)" \
	|| fail "metrics: UDP bytes" "sent $tx received $rx amplification $amp"
ev_match "event: an answered datagram, proto UDP" \
	'"dest_ip":"198\.51\.100\.7","dest_port":53,"proto":"UDP","decoy":\{"event":"udp","persona":"ns","persona_name":"ns","result":"answered"'
ev_match "event: the unmatched datagram" '"proto":"UDP","decoy":\{"event":"udp".*"result":"no-match","bytes_toserver":40,'
ev_match "event: the source that is being limited" '"event":"udp".*"result":"rate-limited"'
nlim=$(grep -c '"result":"rate-limited"' "$W/eve.json")
[ "$nlim" -le 2 ] && ok "a flood does not flood the event log ($nlim rate-limited events)" \
	|| fail "rate-limited events are few" "$nlim"

# ------------------------------------------------------------ still serving
sleep 3   # the bucket refills (rate 5/s, burst 10)
has_line "still serving: version.bind after the flood" '"9\.' "$(dq $POOL version.bind CH TXT +short)"

stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
