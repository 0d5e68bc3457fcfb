#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS over TLS (RFC 7858), real kernel, real peers.
#
#   cli 10.57.1.2, fd57::2 (kdig, curl, openssl s_client, misbehaving clients),
#       .3 (unbound forwarding over TLS), .4 (a stub behind unbound)
#     ---- veth ----  gw 10.57.1.1, fd57::1 (fluxgated, nft backend, one worker)
#   gw 10.57.2.1 ---- veth ---- srv 10.57.2.10 (the protected server, :8080)
#   cli routes the pool 198.51.100.0/24 via gw
#
# The certificate is issued by a CA made here with openssl. Checks: kdig
# +tls validating the CA and the name gets static answers, and a wrong
# name is refused; a granted address from a TLS answer connects through the
# gateway (curl); unbound forwarding over TLS (forward-tls-upstream) gives
# a stub behind it working answers and a working address; pipelined
# queries are answered in order; resumption (openssl s_client -sess_out /
# -sess_in shows "Reused", TLS 1.3 and 1.2) is counted; tls-max-clients
# refuses the extra connection and counts it; an idle connection is closed
# after tls-idle-timeout (not before) with a close_notify; a stalled
# handshake is closed at tcp-query-timeout; garbage, a truncated TLS record
# (in the handshake and after it) and a non-DNS message are dropped and
# counted while the server keeps serving (one worker: a stuck client would
# stop everything); a reload applies a new tls-idle-timeout and names
# tls-max-clients as needing a restart; a world-readable key and a missing
# certificate are refused with precise messages. Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig openssl unbound curl python3 ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
DOTC="$FG_REPO/tests/netns/tools/dot_client.py"

GW=10.57.1.1
CLI=10.57.1.2
RES=10.57.1.3
STUB=10.57.1.4
NAME=dns.example.test
if [ "$VALGRIND" = 1 ]; then T=15; else T=5; fi

# ------------------------------------------------------------ test CA
PKI="$FG_WORK/pki"
mkdir -p "$PKI"
(
	cd "$PKI" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj "/CN=fluxgate test CA" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
		-out srv.csr -subj "/CN=$NAME" &&
	printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\n' "$NAME" "$GW" >ext.cnf &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out srv.pem
) >"$FG_WORK/pki.log" 2>&1 || die "openssl could not make the test CA: $(tail -n 5 "$FG_WORK/pki.log")"
chmod 600 "$PKI/srv.key"
CA="$PKI/ca.pem"

# ------------------------------------------------------------ topology
# chk: a namespace of its own for the start that must fail (its [priv]
# has already built a data plane there when the key is refused)
ns_add cli gw srv chk
nsx chk ip link add d0 type veth peer name d1
nsx chk ip addr add $GW/24 dev d0
nsx chk ip link set d0 up
nsx chk ip link set d1 up
veth_link cli c0 "$CLI/24,fd57::2/64" gw g0 "$GW/24,fd57::1/64"
veth_link gw s0 10.57.2.1/24 srv eth0 10.57.2.10/24
addr_add cli c0 $RES/24
addr_add cli c0 $STUB/24
nsx cli ip route add 198.51.100.0/24 via $GW
nsx srv ip route add default via 10.57.2.1
nsx gw sysctl -qw net.ipv4.ip_forward=1
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true

mkdir -p "$FG_WORK/www"
echo "hello from the protected server" >"$FG_WORK/www/index.html"
start_bg backend srv python3 -m http.server 8080 --bind 10.57.2.10 --directory "$FG_WORK/www"

CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "$GW@53" ]
  workers: 1
  user: nobody
  tls-listen: [ "$GW@853", "fd57::1@853" ]
  tls-certificate: $PKI/srv.pem
  tls-key: $PKI/srv.key
  tls-max-clients: 6
  tls-idle-timeout: 4s
  tcp-query-timeout: 3s
  tcp-max-per-source: 4
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., minimum: 60 }
    records:
      - "@ NS ns1"
      - "ns1 A $GW"
      - "static A 192.0.2.10"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.57.2.10
    ports: [ tcp/8080 ]
    pool: web4
    ttl: 30s
policy:
  direct: [ $CLI/32, "fd57::2/128" ]
  resolvers: [ $RES/32 ]
decoy:
  route-via: $CLI
nat:
  table: fgdot$$
control:
  socket: $FG_WORK/control.sock
metrics:
  listen: "$GW@9153"
EOF

# ------------------------------------------------------------ config errors
BAD="$FG_WORK/bad.conf"
grep -v 'tls-certificate' "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check: tls-listen without a certificate exits 1" 1 "$rc"
assert_match "--check: the missing key is named" "tls-listen needs tls-certificate" "$out"
grep -v 'tls-listen' "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check: a certificate without tls-listen exits 1" 1 "$rc"
assert_match "--check: says DoT stays off" "tls-listen is not" "$out"
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the DoT config is valid" 0 "$rc"
[ $rc -eq 0 ] || log "$out"
cp "$PKI/srv.key" "$PKI/loose.key"; chmod 644 "$PKI/loose.key"
sed "s|tls-key: .*|tls-key: $PKI/loose.key|" "$CONF" >"$BAD"
out=$(nsx chk timeout 60 "$FLUXGATED" -c "$BAD" 2>&1); rc=$?
assert_eq "a world-readable TLS key: fluxgated refuses to start" 1 "$rc"
assert_match "the loose key is named" "loose.key is readable by others" "$out"

# ------------------------------------------------------------ start
start_fluxgated gw "$CONF"
wait_dns cli $GW example.test 90 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"
wait_port gw tcp 853 30 "$FG_FLUXGATED_PID" || die "fluxgated does not listen on 853"
ok "fluxgated serves UDP and listens on 853"

metric() {
	nsx cli curl -s --max-time 10 "http://$GW:9153/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
kt() { nsx cli kdig @"$GW" -p 853 +tls-ca="$CA" +tls-hostname=$NAME +retry=0 +timeout=$T "$@" 2>&1; }
dotc() { nsx cli timeout 150 python3 "$DOTC" "$1" $GW 853 "$CA" $NAME "${@:2}" 2>&1; }

# ------------------------------------------------------------ kdig +tls
out=$(kt static.example.test A)
assert_match "kdig +tls (CA and name validated): static A" \
	'^static\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10$' "$out"
assert_match "kdig +tls: TLS 1.3 negotiated" 'TLS1\.3' "$out"
out=$(nsx cli kdig @"$GW" -p 853 +tls-ca="$CA" +tls-hostname=wrong.example +retry=0 +timeout=$T static.example.test A 2>&1)
assert_nomatch "kdig +tls with a wrong name: no answer (the name is checked)" 'IN\s+A\s+192\.0\.2\.10' "$out"
out=$(nsx cli kdig @"$GW" -p 853 +tls-ca="$CA" +tls-hostname=$NAME +tls-version=TLSv1.2 +retry=0 +timeout=$T static.example.test A 2>&1)
if printf '%s' "$out" | grep -q 'tls-version'; then
	log "kdig has no +tls-version: TLS 1.2 checked with s_client below"
fi
out=$(nsx cli kdig @fd57::1 -p 853 +tls-ca="$CA" +tls-hostname=$NAME +retry=0 +timeout=$T static.example.test A 2>&1)
assert_match "kdig +tls over IPv6: static A" '^static\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10$' "$out"
out=$(kt nope.example.test A)
assert_match "kdig +tls: NXDOMAIN as over UDP" 'status: NXDOMAIN' "$out"

# grant before answer: the address of a TLS answer connects at once
out=$(kt www.example.test A)
addr=$(printf '%s\n' "$out" | awk '$1 == "www.example.test." && $4 == "A" { print $5; exit }')
assert_match "kdig +tls: www gets a pool address" '^198\.51\.100\.[0-9]+$' "$addr"
if [ -n "$addr" ]; then
	got=$(nsx cli curl -s --interface $CLI --max-time 10 "http://$addr:8080/" 2>&1 | head -c 200)
	assert_match "the granted address connects through the gateway" 'hello from the protected server' "$got"
fi

out=$(dotc pipeline static.example.test 5)
assert_eq "5 pipelined queries in one write: 5 answers, in order" "answers 5 ids OK" "$out"
out=$(dotc pipeline www.example.test 40)
assert_eq "40 pipelined granted queries: 40 answers, in order" "answers 40 ids OK" "$out"
out=$(dotc pipeline-bad static.example.test 3)
assert_eq "3 queries then a non-DNS message: 3 answers, then the connection closes" \
	"answers 3 ids OK then closed" "$out"

# ------------------------------------------------------------ unbound over TLS
UDIR="$FG_WORK/unbound"
mkdir -p "$UDIR"
cat >"$UDIR/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $RES
    port: 53
    outgoing-interface: $RES
    do-ip4: yes
    do-ip6: no
    access-control: 10.57.1.0/24 allow
    chroot: ""
    username: ""
    pidfile: ""
    directory: "$UDIR"
    use-syslog: no
    logfile: ""
    do-daemonize: no
    module-config: "iterator"
    do-not-query-localhost: no
    local-zone: "test." nodefault
    num-threads: 1
    so-reuseport: no
    tls-cert-bundle: "$CA"
forward-zone:
    name: "example.test"
    forward-tls-upstream: yes
    forward-addr: $GW@853#$NAME
remote-control:
    control-enable: no
EOF
start_bg unbound cli unbound -d -c "$UDIR/unbound.conf"
UB_PID=$BG_PID
wait_port cli udp 53 30 "$UB_PID" || fail "unbound listens"
q0=$(metric fluxgate_dot_queries_total)
ub() { nsx cli kdig @"$RES" -b "$STUB" +retry=2 +timeout=$T "$@" 2>&1; }
out=$(ub static.example.test A)
assert_match "stub behind unbound (forward-tls-upstream): static A" \
	'^static\.example\.test\.\s+[0-9]+\s+IN\s+A\s+192\.0\.2\.10$' "$out"
out=$(ub www.example.test A)
uaddr=$(printf '%s\n' "$out" | awk '$1 == "www.example.test." && $4 == "A" { print $5; exit }')
assert_match "stub behind unbound: www gets a pool address" '^198\.51\.100\.[0-9]+$' "$uaddr"
if [ -n "$uaddr" ]; then
	got=$(nsx cli curl -s --interface $STUB --max-time 10 "http://$uaddr:8080/" 2>&1 | head -c 200)
	assert_match "the stub connects to the address unbound got over TLS" 'hello from the protected server' "$got"
fi
q1=$(metric fluxgate_dot_queries_total)
check "unbound's queries arrived over TLS (dot_queries_total $q0 -> $q1)" [ "${q1:-0}" -gt "${q0:-0}" ]
udp=$(metric 'fluxgate_dns_queries_total{proto="udp"}')
log "UDP queries so far: $udp (the readiness probes)"
# its upstream connection must not count in the connection caps below
stop_bg "$UB_PID"

# ------------------------------------------------------------ resumption
sc() { nsx cli timeout 60 openssl s_client -connect $GW:853 -servername $NAME -CAfile "$CA" -verify_return_error "$@" 2>&1; }
r0=$(metric fluxgate_dot_resumed_total)
for v in tls1_3 tls1_2; do
	S="$FG_WORK/sess-$v.pem"
	rm -f "$S"
	# stdin stays open until s_client has written the session it got (the
	# TLS 1.3 ticket comes after the handshake), bounded, not for a fixed 2 s
	out=$( (wait_until 60 [ -s "$S" ]) | sc -$v -sess_out "$S")
	assert_match "s_client -$v: verified handshake" 'Verify return code: 0 \(ok\)' "$out"
	assert_match "s_client -$v: a session to resume" 'Session-ID|TLS session ticket' "$out"
	out=$( (sleep 1) | sc -$v -sess_in "$S")
	assert_match "s_client -$v -sess_in: Reused" '^Reused, ' "$out"
done
r1=$(metric fluxgate_dot_resumed_total)
check "resumptions are counted (dot_resumed_total $r0 -> $r1)" [ "${r1:-0}" -ge $((${r0:-0} + 2)) ]
out=$( (sleep 1) | sc -tls1_1 2>&1)
assert_match "TLS 1.1 is refused" 'Cipher is \(NONE\)' "$out"

# ------------------------------------------------------------ connection caps
src0=$(metric 'fluxgate_dot_connections_total{result="source_limit"}')
out=$(dotc hold 4)
assert_eq "tcp-max-per-source 4: four held from one address, the fifth refused" "held 4 refused 1" "$out"
src1=$(metric 'fluxgate_dot_connections_total{result="source_limit"}')
assert_eq "the refused connection is counted (source_limit)" "$((${src0:-0} + 1))" "${src1:-x}"

# cap_check LABEL: 3 busy connections from STUB, then 3 + 1 from CLI: the
# seventh is over tls-max-clients 6 (CLI's own share, 4, is not reached)
cap_check() {
	local pid
	start_bg "keep-$1" cli env DOT_SRC=$STUB python3 "$DOTC" keep $GW 853 "$CA" $NAME 3 $((3 * T))
	pid=$BG_PID
	for _ in $(seq 1 300); do grep -q kept "$FG_WORK/keep-$1.log" 2>/dev/null && break; sleep 0.1; done
	assert_eq "$1: 3 busy connections from $STUB" "kept 3" "$(head -n 1 "$FG_WORK/keep-$1.log")"
	out=$(dotc hold 3)
	stop_bg "$pid"
}
rej0=$(metric 'fluxgate_dot_connections_total{result="rejected"}')
cap_check cap
assert_eq "tls-max-clients 6: 3 busy from one address, 3 held from another, the seventh refused" \
	"held 3 refused 1" "$out"
rej1=$(metric 'fluxgate_dot_connections_total{result="rejected"}')
assert_eq "the refused connection is counted (rejected)" "$((${rej0:-0} + 1))" "${rej1:-x}"
out=$(kt static.example.test A)
assert_match "served again once the held connections closed" 'IN\s+A\s+192\.0\.2\.10' "$out"

# ------------------------------------------------------------ idle, stall
i0=$(metric fluxgate_dot_idle_closed_total)
out=$(dotc idle)
set -- $out
check "an idle connection is closed ($out)" [ "${1:-}" = closed ]
check "not before tls-idle-timeout 4s (${2:-?} s)" python3 -c "import sys; sys.exit(0 if float('${2:-0}') >= 3.9 else 1)"
check "within a generous bound (${2:-?} s < 60 s)" python3 -c "import sys; sys.exit(0 if float('${2:-99}') < 60 else 1)"
assert_eq "the idle close sends a close_notify" notify "${3:-}"
i1=$(metric fluxgate_dot_idle_closed_total)
assert_eq "the idle close is counted" "$((${i0:-0} + 1))" "${i1:-x}"

t0=$(metric fluxgate_dot_timeouts_total)
start_bg stall cli python3 "$DOTC" stall $GW 853 "$CA" $NAME
STALL_PID=$BG_PID
# the stalled handshake's connection is open before the query (bounded)
stall_open() { local l; l=$(nsx cli ss -Htn state established "( dport = :853 )"); [ -n "$l" ]; }
wait_until 30 stall_open
# one worker only: the stalled handshake must not hold it
out=$(kt static.example.test A)
assert_match "answered while a handshake stalls (one worker)" 'IN\s+A\s+192\.0\.2\.10' "$out"
for _ in $(seq 1 300); do _pid_alive "$STALL_PID" || break; sleep 0.2; done
t1=$(metric fluxgate_dot_timeouts_total)
assert_eq "the stalled handshake is closed at tcp-query-timeout and counted" "$((${t0:-0} + 1))" "${t1:-x}"

# ------------------------------------------------------------ bad input
h0=$(metric fluxgate_dot_handshake_failures_total)
out=$(dotc garbage)
assert_eq "garbage instead of TLS: dropped" closed "$out"
out=$(dotc trunc-hello)
assert_eq "a truncated TLS record in the handshake: dropped" closed "$out"
h1=$(metric fluxgate_dot_handshake_failures_total)
assert_eq "both are counted as handshake failures" "$((${h0:-0} + 2))" "${h1:-x}"
e0=$(metric 'fluxgate_dot_errors_total{kind="tls"}')
out=$(dotc trunc-record)
assert_eq "a truncated record after the handshake: dropped" closed "$out"
e1=$(metric 'fluxgate_dot_errors_total{kind="tls"}')
assert_eq "and counted (dot_errors_total{kind=tls})" "$((${e0:-0} + 1))" "${e1:-x}"
d0=$(metric 'fluxgate_dot_errors_total{kind="dns"}')
out=$(dotc badmsg)
assert_eq "a framed non-DNS message: the connection is dropped" closed "$out"
d1=$(metric 'fluxgate_dot_errors_total{kind="dns"}')
assert_eq "and counted (dot_errors_total{kind=dns})" "$((${d0:-0} + 1))" "${d1:-x}"
# ------------------------------------------------------------ reload
# a longer tls-idle-timeout applies at once (a lower bound proves it: the
# old 4 s would close sooner); a new tls-max-clients needs a restart
sed -i 's/^  tls-idle-timeout: 4s$/  tls-idle-timeout: 8s/; s/^  tls-max-clients: 6$/  tls-max-clients: 9/' "$CONF"
kill -HUP "$FG_FLUXGATED_PID"
for _ in $(seq 300); do grep -q 'reload done' "$FG_FLUXGATED_LOG" && break; sleep 0.1; done
log_text=$(cat "$FG_FLUXGATED_LOG")
assert_match "reload done" 'reload done' "$log_text"
assert_match "reload: a changed tls-max-clients is logged as needing a restart" \
	'reload: server\.tls-max-clients: the running value stays until a restart' "$log_text"
out=$(dotc idle)
set -- $out
check "after the reload, idle closes wait for the new 8 s (${2:-?} s)" \
	python3 -c "import sys; sys.exit(0 if float('${2:-0}') >= 7.9 else 1)"
cap_check reload
assert_eq "the running tls-max-clients (6) stays until a restart" "held 3 refused 1" "$out"

out=$(kt static.example.test A)
assert_match "still serving over TLS after the bad clients" 'IN\s+A\s+192\.0\.2\.10' "$out"
fluxgated_alive "fluxgated still runs"

finish
