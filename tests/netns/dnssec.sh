#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Online DNSSEC signing, judged by real validators.
#
#   cli 10.54.1.2 (client), .3 (unbound, right anchors), .4 (unbound, wrong
#       anchor), .5 (tampering proxy), .6 (unbound behind the proxy),
#       .7 (the unsigned child zone sub.example.test), .8 (unbound, TCP only),
#       .9 (BIND named: the signed child zone sec.example.test), fd54:1::2
#     ---- veth ----  gw 10.54.1.1, fd54:1::1 (fluxgated, nft backend)
#   gw 10.54.2.1 ---- veth ---- srv 10.54.2.10, fd54:2::10 (the protected
#                               server, :8080)
#   cli routes the pools 198.51.100.0/24 and 2001:db8:54::/64 via gw
#
# Two signed zones: example.test with a KSK and a ZSK (ECDSAP256SHA256)
# made by `fluxctl dnssec keygen`, ed.test with an Ed25519 CSK made by
# BIND's dnssec-keygen. The trust anchors come from `fluxctl dnssec ds`
# (checked equal to dnssec-dsfromkey). unbound validates static, CNAME,
# wildcard, granted A and AAAA, NXDOMAIN (compact denial), NODATA, empty
# non-terminal answers and a secure referral to a signed child zone served
# by BIND (AD set); delv validates and its records agree with kdig +dnssec's
# answers, RRSIGs included; kdig shows the RRSIGs and the
# NSEC records; DO=0 answers carry none; unbound asking over TCP only
# validates too; a reload under privilege separation keeps signing (the
# [priv] process reads the .private files, a key added since the start is
# published at once, a malformed one is refused with the file named); a
# wrong anchor or one flipped address byte makes unbound SERVFAIL; the
# pre-publish ZSK rollover of fluxctl(8) (keygen --activate-in and a
# reload, dnssec-settime -A and a reload, the old files moved away and a
# reload: no restart) validates at each step. Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig dig delv unbound dnssec-keygen dnssec-dsfromkey dnssec-signzone dnssec-settime named python3 ss pgrep setpriv
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"

GW=10.54.1.1
RES=10.54.1.3
BADRES=10.54.1.4
PROXY=10.54.1.5
PRES=10.54.1.6
CHILD=10.54.1.7
TCPRES=10.54.1.8
SECNS=10.54.1.9

# ------------------------------------------------------------ keys
KEYS="$FG_WORK/keys"
mkdir -p "$KEYS"
# a key directory only root can open: the DNS process (nobody) reads no
# file of it; on a reload [priv] hands the .key and .private texts over
chmod 700 "$KEYS"
ksk=$("$FLUXCTL" dnssec keygen example.test --dir "$KEYS" --ksk); rc=$?
assert_eq "fluxctl dnssec keygen (KSK) exits 0" 0 "$rc"
zsk=$("$FLUXCTL" dnssec keygen example.test --dir "$KEYS" --zsk); rc=$?
assert_eq "fluxctl dnssec keygen (ZSK) exits 0" 0 "$rc"
assert_match "keygen names the files like BIND" '^Kexample\.test\.\+013\+[0-9]{5}$' "$ksk"
assert_eq "the private key file is mode 600" "600" "$(stat -c %a "$KEYS/$ksk.private")"
(cd "$KEYS" && dnssec-keygen -q -a ED25519 -f KSK ed.test >/dev/null 2>&1) || die "dnssec-keygen failed"
chmod 600 "$KEYS"/Ked.test.*.private

DS_EX=$("$FLUXCTL" dnssec ds example.test --dir "$KEYS"); rc=$?
assert_eq "fluxctl dnssec ds exits 0" 0 "$rc"
assert_count "one DS (the KSK's), not the ZSK's" 1 " IN DS " "$DS_EX"
assert_eq "our DS equals dnssec-dsfromkey's (fluxctl key)" \
	"$(dnssec-dsfromkey -2 "$KEYS/$ksk.key")" "$DS_EX"
DS_ED=$("$FLUXCTL" dnssec ds ed.test --dir "$KEYS")
assert_eq "our DS equals dnssec-dsfromkey's (dnssec-keygen key)" \
	"$(dnssec-dsfromkey -2 "$KEYS"/Ked.test.+015+*.key)" "$DS_ED"
# a DS of a key the zone does not have: the "wrong anchor"
OTHER="$FG_WORK/otherkeys"; mkdir -p "$OTHER"
"$FLUXCTL" dnssec keygen example.test --dir "$OTHER" >/dev/null
DS_WRONG=$("$FLUXCTL" dnssec ds example.test --dir "$OTHER")

# the signed child zone sec.example.test, made and signed by BIND's tools,
# served by named; its DS goes into the parent (fluxgated's example.test)
CHILDZ="$FG_WORK/child"; mkdir -p "$CHILDZ"
(cd "$CHILDZ" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK sec.example.test >/dev/null 2>&1) \
	|| die "dnssec-keygen (child) failed"
cat >"$CHILDZ/sec.example.test" <<EOF
\$TTL 300
@ SOA ns.sec.example.test. hostmaster.sec.example.test. 1 3600 600 604800 60
@ NS ns
ns A $SECNS
host A 192.0.2.55
EOF
(cd "$CHILDZ" && dnssec-signzone -q -S -z -K . -o sec.example.test -f sec.example.test.signed \
	sec.example.test >"$CHILDZ/signzone.log" 2>&1) || die "dnssec-signzone failed: $(cat "$CHILDZ/signzone.log")"
DS_SEC=$(dnssec-dsfromkey -2 "$CHILDZ"/Ksec.example.test.+013+*.key)
cat >"$CHILDZ/named.conf" <<EOF
options {
	directory "$CHILDZ";
	pid-file "$CHILDZ/named.pid";
	listen-on port 53 { $SECNS; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
};
zone "sec.example.test" { type primary; file "sec.example.test.signed"; };
EOF

# ------------------------------------------------------------ topology
ns_add cli gw srv
veth_link cli c0 10.54.1.2/24,fd54:1::2/64 gw g0 $GW/24,fd54:1::1/64
veth_link gw s0 10.54.2.1/24,fd54:2::1/64 srv eth0 10.54.2.10/24,fd54:2::10/64
for a in $RES $BADRES $PROXY $PRES $CHILD $TCPRES $SECNS; do addr_add cli c0 "$a/24"; done
nsx cli ip route add 198.51.100.0/24 via $GW
nsx cli ip -6 route add 2001:db8:54::/64 via fd54:1::1
nsx srv ip route add default via 10.54.2.1
nsx srv ip -6 route add default via fd54:2::1
nsx gw sysctl -qw net.ipv4.ip_forward=1
nsx gw sysctl -qw net.ipv6.conf.all.forwarding=1
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true

# the protected server: answers one line to every connection
start_bg backend srv python3 -c '
import socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"hello from the protected server\n")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("10.54.2.10", 8080), H).serve_forever()'
BACKEND_PID=$BG_PID
start_bg backend6 srv python3 -c '
import socket, socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"hello from the protected server\n")
class S(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
S(("fd54:2::10", 8080), H).serve_forever()'
BACKEND6_PID=$BG_PID

SOA='{ mname: ns1.example.test., rname: hostmaster.example.test., serial: 7, minimum: 60 }'
CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "$GW@53" ]
  workers: 2
  user: nobody
zone:
  - domain: example.test
    ttl: 300
    soa: $SOA
    records:
      - "@ NS ns1"
      - "ns1 A $GW"
      - "static A 192.0.2.10"
      - "static TXT \"signed\""
      - "alias CNAME static"
      - "*.wild A 192.0.2.99"
      - "a.b.ent TXT \"deep\""
      - "sub NS ns.sub"
      - "ns.sub A $CHILD"
      - "sec NS ns.sec"
      - "ns.sec A $SECNS"
      - "sec $(printf '%s' "$DS_SEC" | cut -d' ' -f3-)"
    dnssec:
      algorithm: ecdsap256sha256
      keys: $KEYS
  - domain: ed.test
    soa: { mname: ns1.ed.test., rname: hostmaster.ed.test., minimum: 60 }
    records:
      - "@ NS ns1"
      - "ns1 A $GW"
      - "www A 192.0.2.15"
    dnssec:
      algorithm: ed25519
      keys: $KEYS
pool:
  - id: web4
    prefix: 198.51.100.0/24
  - id: web6
    prefix: 2001:db8:54::/64
service:
  - id: www
    name: www.example.test
    backend: 10.54.2.10
    ports: [ any ]
    pool: web4
    ttl: 30s
  - id: www6
    name: www6.example.test
    backend: "fd54:2::10"
    ports: [ any ]
    pool: web6
    ttl: 30s
policy:
  direct: [ 10.54.1.2/32, "fd54:1::2/128" ]
decoy:
  route-via: 10.54.1.2
nat:
  table: fgsec$$
control:
  socket: $FG_WORK/control.sock
EOF

out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the signed config is valid" 0 "$rc"
[ $rc -eq 0 ] || log "$out"

# --check on broken dnssec settings: precise messages
BAD="$FG_WORK/bad.conf"
sed "s|keys: $KEYS\$|keys: $FG_WORK/nokeys|" "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check: missing key directory exits 1" 1 "$rc"
assert_match "--check: missing key directory named" "nokeys: No such file or directory" "$out"
mkdir -p "$FG_WORK/loose"
cp "$KEYS/$ksk".* "$FG_WORK/loose/"
chmod 644 "$FG_WORK/loose/$ksk.private"
sed "0,\|keys: $KEYS\$|s||keys: $FG_WORK/loose|" "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check: a world-readable private key is refused" 1 "$rc"
assert_match "--check: the loose private key is named" "readable by group or others" "$out"

start_fluxgated gw "$CONF"
wait_dns cli $GW example.test 90 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
ok "fluxgated serves the signed zones"

q() { nsx cli kdig @"$GW" +retry=0 +timeout=5 "$@" 2>&1; }

# ------------------------------------------------------------ direct (kdig)
out=$(q +dnssec static.example.test A)
assert_match "DO=1: static A" '^static\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.10$' "$out"
assert_match "DO=1: its RRSIG by the ZSK" "^static\\.example\\.test\\.\\s+300\\s+IN\\s+RRSIG\\s+A 13 3 300 [0-9]{14} [0-9]{14} $((10#${zsk##*+})) example\\.test\\. " "$out"
out=$(q static.example.test A)
assert_nomatch "DO=0: no RRSIG" 'RRSIG' "$out"
out=$(q +dnssec example.test DNSKEY)
assert_match "DNSKEY RRset: the KSK" '^example\.test\.\s+300\s+IN\s+DNSKEY\s+257 3 13 ' "$out"
assert_match "DNSKEY RRset: the ZSK" '^example\.test\.\s+300\s+IN\s+DNSKEY\s+256 3 13 ' "$out"
assert_match "DNSKEY RRset signed by the KSK" "IN\\s+RRSIG\\s+DNSKEY 13 2 300 [0-9]{14} [0-9]{14} $((10#${ksk##*+})) example\\.test\\." "$out"
out=$(q +dnssec nope.example.test A)
assert_match "compact denial: NOERROR for a missing name" 'status: NOERROR' "$out"
assert_match "compact denial: NSEC at the name, next \\000, RRSIG NSEC NXNAME" \
	'^nope\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.nope\.example\.test\. RRSIG NSEC (NXNAME|TYPE128)$' "$out"
assert_match "compact denial: the NSEC is signed" 'IN\s+RRSIG\s+NSEC 13 3 60 ' "$out"
assert_match "compact denial: the SOA is signed" 'IN\s+RRSIG\s+SOA 13 2 300 ' "$out"
out=$(q nope.example.test A)
assert_match "DO=0: NXDOMAIN unchanged" 'status: NXDOMAIN' "$out"
assert_nomatch "DO=0: no NSEC" 'NSEC' "$out"
out=$(q +dnssec static.example.test MX)
assert_match "NODATA: NSEC lists the types that exist" \
	'^static\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.static\.example\.test\. A TXT RRSIG NSEC$' "$out"
out=$(q +dnssec www.example.test TXT)
assert_match "NODATA at a service with an IPv4 pool only: NSEC lists A, not AAAA" \
	'^www\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.www\.example\.test\. A RRSIG NSEC$' "$out"
out=$(q +dnssec b.ent.example.test A)
assert_match "empty non-terminal: NODATA with RRSIG NSEC only" \
	'^b\.ent\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.b\.ent\.example\.test\. RRSIG NSEC$' "$out"
out=$(q +dnssec x.sub.example.test A)
assert_match "referral: NS in authority" '^sub\.example\.test\.\s+300\s+IN\s+NS\s+ns\.sub\.example\.test\.$' "$out"
assert_match "referral: signed NSEC proves there is no DS" \
	'^sub\.example\.test\.\s+60\s+IN\s+NSEC\s+\\000\.sub\.example\.test\. NS RRSIG NSEC$' "$out"
out=$(q +dnssec x.sec.example.test A)
assert_match "secure referral: the DS in authority" '^sec\.example\.test\.\s+300\s+IN\s+DS\s+[0-9]+ 13 2 ' "$out"
assert_match "secure referral: the DS is signed" 'IN\s+RRSIG\s+DS 13 3 300 ' "$out"
assert_nomatch "secure referral: no NSEC" 'IN\s+NSEC\s' "$out"
out=$(q +dnssec static.example.test TYPE128)
assert_match "explicit NXNAME query: FORMERR" 'status: FORMERR' "$out"
out=$(q +dnssec +tcp static.example.test A)
assert_match "TCP: signed too" 'IN\s+RRSIG\s+A 13 3 300 ' "$out"
out=$(q +dnssec www.ed.test A)
assert_match "Ed25519 zone (dnssec-keygen key): RRSIG alg 15" 'IN\s+RRSIG\s+A 15 3 3600 ' "$out"

# ------------------------------------------------------------ delv
printf 'trust-anchors {\n' >"$FG_WORK/anchors.conf"
for ds in "$DS_EX" "$DS_ED"; do
	set -- $ds
	printf '  %s static-ds %s %s %s "%s";\n' "$1" "$4" "$5" "$6" "$7" >>"$FG_WORK/anchors.conf"
done
printf '};\n' >>"$FG_WORK/anchors.conf"
dv() { nsx cli delv @"$GW" -a "$FG_WORK/anchors.conf" +root="$1" +nosplit "${@:2}" 2>&1; }
out=$(dv example.test static.example.test A)
assert_match "delv: static A fully validated" '^; fully validated' "$out"
out=$(dv example.test example.test DNSKEY)
assert_match "delv: DNSKEY fully validated" '^; fully validated' "$out"
out=$(dv ed.test www.ed.test A)
assert_match "delv: Ed25519 zone fully validated" '^; fully validated' "$out"
out=$(dv example.test x.wild.example.test A)
assert_match "delv: wildcard answer fully validated" '^; fully validated' "$out"
# delv and kdig +dnssec agree: the same records and RRSIGs (type, algorithm,
# labels, original TTL, key tag, signer), TTL, class and delv's comments
# aside; the times and signature too, as a wildcard answer is signed for
# each answer (its RRSIG names the query name: online signing)
rrs() { sed 's/ ;.*$//' | awk '!/^;/ && NF >= 4 { $2 = ""; $3 = "";
	if (toupper($4) == "RRSIG") { $9 = ""; $10 = ""; $13 = "" } print tolower($0) }' \
	| tr -s ' ' | sort; }
for nt in "static.example.test A" "static.example.test TXT" "alias.example.test A" \
	  "x.wild.example.test A" "example.test DNSKEY" "example.test SOA" "ed.test:www.ed.test A"; do
	root=example.test; case $nt in ed.test:*) root=ed.test; nt=${nt#ed.test:} ;; esac
	d=$(dv $root $nt | rrs)
	k=$(q +dnssec +noall +answer $nt | rrs)
	assert_match "delv and kdig +dnssec: $nt has an RRSIG" ' rrsig ' "$k"
	assert_eq "delv and kdig +dnssec agree: $nt" "$k" "$d"
done

# ------------------------------------------------------------ unbound
# unbound_conf DIR IP STUB_ADDR ANCHORS...
unbound_conf() {
	local dir=$1 ip=$2 stub=$3; shift 3
	mkdir -p "$dir"
	printf '%s\n' "$@" >"$dir/anchors"
	cat >"$dir/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $ip
    port: 53
    outgoing-interface: $ip
    do-ip4: yes
    do-ip6: no
    access-control: 10.54.1.0/24 allow
    chroot: ""
    username: ""
    pidfile: ""
    directory: "$dir"
    use-syslog: no
    logfile: ""
    do-daemonize: no
    module-config: "validator iterator"
    trust-anchor-file: "$dir/anchors"
    do-not-query-localhost: no
    local-zone: "test." nodefault
    num-threads: 1
    so-reuseport: no
    val-log-level: 2
stub-zone:
    name: "example.test"
    stub-addr: $stub
stub-zone:
    name: "ed.test"
    stub-addr: $stub
remote-control:
    control-enable: no
EOF
}
unbound_conf "$FG_WORK/ub" $RES $GW "$DS_EX" "$DS_ED"
unbound_conf "$FG_WORK/ubbad" $BADRES $GW "$DS_WRONG" "$DS_ED"
unbound_conf "$FG_WORK/ubproxy" $PRES $PROXY "$DS_EX" "$DS_ED"
unbound_conf "$FG_WORK/ubtcp" $TCPRES $GW "$DS_EX" "$DS_ED"
sed -i 's/^server:$/server:\n    tcp-upstream: yes/' "$FG_WORK/ubtcp/unbound.conf"
start_bg named-child cli named -g -n 1 -c "$CHILDZ/named.conf"
NAMED_PID=$BG_PID
start_bg unbound-tcp cli unbound -d -c "$FG_WORK/ubtcp/unbound.conf"
UBTCP_PID=$BG_PID
start_bg unbound cli unbound -d -c "$FG_WORK/ub/unbound.conf"
UB_PID=$BG_PID
start_bg unbound-bad cli unbound -d -c "$FG_WORK/ubbad/unbound.conf"
UBBAD_PID=$BG_PID
start_bg unbound-proxy cli unbound -d -c "$FG_WORK/ubproxy/unbound.conf"
UBP_PID=$BG_PID
# the tampering proxy: flips the last octet of 192.0.2.10 in every answer
start_bg proxy cli python3 -c '
import socket, select
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'$PROXY'", 53))
while True:
    data, peer = s.recvfrom(4096)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(10)
    u.sendto(data, ("'$GW'", 53))
    try:
        resp = u.recv(65535)
    except OSError:
        continue
    s.sendto(resp.replace(bytes([192, 0, 2, 10]), bytes([192, 0, 2, 11])), peer)'
PROXY_PID=$BG_PID
# the unsigned child zone sub.example.test: A 192.0.2.77 for every name
start_bg child cli python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'$CHILD'", 53))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 17:
        continue
    end = q.index(0, 12) + 5
    hdr = q[:2] + bytes([0x84 | (q[2] & 1), 0]) + bytes([0, 1, 0, 1, 0, 0, 0, 0])
    rr = bytes([0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77])
    s.sendto(hdr + q[12:end] + rr, peer)'
CHILD_PID=$BG_PID
wait_port cli udp 53 20 "$UB_PID" || die "unbound does not start"

r() { nsx cli dig @"$1" +tries=2 +time=10 +dnssec "${@:2}" 2>&1; }
ADFLAGS=';; flags: qr rd ra ad;'
out=$(r $RES static.example.test A)
assert_match "unbound: static A validated (AD)" "$ADFLAGS" "$out"
assert_match "unbound: static A value" 'IN\s+A\s+192\.0\.2\.10$' "$out"
out=$(r $RES alias.example.test A)
assert_match "unbound: CNAME validated (AD)" "$ADFLAGS" "$out"
out=$(r $RES foo.wild.example.test A)
assert_match "unbound: wildcard validated (AD)" "$ADFLAGS" "$out"
assert_match "unbound: wildcard value" 'IN\s+A\s+192\.0\.2\.99$' "$out"
out=$(r $RES nope.example.test A)
assert_match "unbound: missing name (compact denial) validated (AD)" "$ADFLAGS" "$out"
assert_match "unbound: missing name has no answer" 'ANSWER: 0,' "$out"
out=$(r $RES static.example.test MX)
assert_match "unbound: NODATA validated (AD)" "$ADFLAGS" "$out"
out=$(r $RES b.ent.example.test A)
assert_match "unbound: empty non-terminal validated (AD)" "$ADFLAGS" "$out"
out=$(r $RES www.ed.test A)
assert_match "unbound: Ed25519 zone validated (AD)" "$ADFLAGS" "$out"
out=$(r $RES x.sub.example.test A)
assert_match "unbound: below the insecure delegation: the child's answer" 'IN\s+A\s+192\.0\.2\.77$' "$out"
assert_match "unbound: ... NOERROR, not AD (proven insecure, not bogus)" ';; flags: qr rd ra;' "$out"

out=$(r $RES sec.example.test DS)
assert_match "unbound: the DS of a delegation validated (AD)" "$ADFLAGS" "$out"
wait_port cli udp 53 20 "$NAMED_PID" || fail "named (the signed child) starts"
out=$(r $RES host.sec.example.test A)
assert_match "unbound: through the secure referral (signed DS), the child's answer validated (AD)" \
	"$ADFLAGS" "$out"
assert_match "unbound: ... the child's address" 'IN\s+A\s+192\.0\.2\.55$' "$out"

# the granted answer: validated, and the address leads to the server
out=$(r $RES www.example.test A)
assert_match "unbound: granted answer validated (AD)" "$ADFLAGS" "$out"
addr=$(printf '%s\n' "$out" | awk '$4 == "A" && $1 == "www.example.test." {print $5; exit}')
assert_match "unbound: granted address from the pool" '^198\.51\.100\.[0-9]+$' "${addr:-none}"
if [ -n "$addr" ]; then
	got=$(nsx cli python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
print(s.makefile().readline().strip())' "$addr" 2>&1)
	assert_eq "the validated granted address reaches the protected server" \
		"hello from the protected server" "$got"
fi
out=$(r $RES www.example.test AAAA)
assert_match "unbound: granted name without an IPv6 pool: NODATA validated (AD)" "$ADFLAGS" "$out"
out=$(r $RES www6.example.test AAAA)
assert_match "unbound: granted AAAA validated (AD)" "$ADFLAGS" "$out"
addr6=$(printf '%s\n' "$out" | awk '$4 == "AAAA" && $1 == "www6.example.test." {print $5; exit}')
assert_match "unbound: granted AAAA from the IPv6 pool" '^2001:db8:54:' "${addr6:-none}"
if [ -n "$addr6" ]; then
	got=$(nsx cli python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8080), timeout=10)
print(s.makefile().readline().strip())' "$addr6" 2>&1)
	assert_eq "the validated granted IPv6 address reaches the protected server" \
		"hello from the protected server" "$got"
fi
out=$(q +dnssec www6.example.test AAAA)
assert_match "kdig: the granted AAAA carries its RRSIG" 'IN\s+RRSIG\s+AAAA 13 3 30 ' "$out"

# the same validation with unbound asking over TCP only
wait_port cli udp 53 20 "$UBTCP_PID" || fail "unbound (tcp-upstream) starts"
tcpq() { "$FLUXCTL" -s "$FG_WORK/control.sock" --json stats 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "queries_tcp":
                return v
            r = find(v)
            if r is not None:
                return r
print(find(d))'; }
tcp0=$(tcpq)
out=$(r $TCPRES static.example.test A)
assert_match "unbound over TCP: static A validated (AD)" "$ADFLAGS" "$out"
out=$(r $TCPRES nope.example.test A)
assert_match "unbound over TCP: compact denial validated (AD)" "$ADFLAGS" "$out"
out=$(r $TCPRES www.example.test A)
assert_match "unbound over TCP: granted answer validated (AD)" "$ADFLAGS" "$out"
tcp1=$(tcpq)
check "unbound asked fluxgated over TCP ($tcp0 -> $tcp1 TCP queries)" test "${tcp1:-0}" -gt "${tcp0:-0}"
out=$(dv example.test static.example.test A +tcp)
assert_match "delv over TCP: fully validated" '^; fully validated' "$out"

# tampering
out=$(r $BADRES static.example.test A)
assert_match "wrong trust anchor: SERVFAIL" 'status: SERVFAIL' "$out"
out=$(r $BADRES www.ed.test A)
assert_match "wrong anchor for one zone only: the other still validates" "$ADFLAGS" "$out"
out=$(r $PRES static.example.test A)
assert_match "one flipped address byte: SERVFAIL" 'status: SERVFAIL' "$out"
out=$(r $PRES static.example.test TXT)
assert_match "through the proxy, untouched answers still validate" "$ADFLAGS" "$out"

# ------------------------------------------------------------ reload
CTL="$FG_WORK/control.sock"
dns=$(pgrep -P "$FG_FLUXGATED_PID" | head -n 1)
assert_eq "the DNS process runs as nobody (cannot read the private keys)" "65534" \
	"$(awk '/^Uid/ {print $2}' /proc/"$dns"/status 2>/dev/null)"
nprivate=$(ls "$KEYS"/*.private | wc -l)
check "the service user reads none of the $nprivate .private files" \
	bash -c "for f in '$KEYS'/*.private; do setpriv --reuid=65534 --regid=65534 --clear-groups cat \"\$f\" >/dev/null 2>&1 && exit 1; done; exit 0"
check "... nor can it list the key directory (a reload gets the files from [priv])" \
	bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups ls '$KEYS' >/dev/null 2>&1"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload with signed zones under privilege separation: accepted" 0 "$rc"
[ $rc -eq 0 ] || log "$out"
out=$(dv example.test static.example.test A)
assert_match "after the reload: still signed, fully validated" '^; fully validated' "$out"
dnskeys() { q +dnssec example.test DNSKEY | grep -Ec '^example\.test\.\s+[0-9]+\s+IN\s+DNSKEY\s'; }
sigtag() { q +dnssec static.example.test A | awk '$4 == "RRSIG" && $5 == "A" {print $11; exit}'; }
old_zsk=$((10#${zsk##*+}))
# a key added since the start: the [priv] process reads its .private for
# the reload (PS_KEYS), the DNS process never can
new=$("$FLUXCTL" dnssec keygen example.test --dir "$KEYS" --zsk --activate-in 1h)
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload with a key added since the start: accepted (no restart)" 0 "$rc"
[ $rc -eq 0 ] || log "$out $(tail -n 5 "$FG_FLUXGATED_LOG")"
assert_match "... the privileged process handed the private keys over" \
	'privsep: files for a reload: [0-9]+ included, [0-9]+ TSIG secret file\(s\), [0-9]+ DNSSEC key file\(s\)' \
	"$(cat "$FG_FLUXGATED_LOG")"
assert_eq "... the new key is published at once" 3 "$(dnskeys)"
assert_eq "... and, not active yet, does not sign" "$old_zsk" "$(sigtag)"
out=$(dv example.test example.test DNSKEY)
assert_match "... delv validates the DNSKEY RRset with the new key" '^; fully validated' "$out"
# what [priv] hands over is checked on the DNS side like a file it read
bad=Kexample.test.+013+00001
sed 's/^example\.test\. /example.test. /' "$KEYS/$new.key" >"$KEYS/$bad.key"
printf 'Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n' >"$KEYS/$bad.private"
chmod 600 "$KEYS/$bad.private"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload with a malformed private key [priv] read: refused" 1 "$rc"
assert_match "... the log names the file" \
	"zone 'example\.test': dnssec: .*${bad//+/\\+}\.private: " "$(cat "$FG_FLUXGATED_LOG")"
assert_nomatch "... the log shows no key material" 'PrivateKey|AAAA$' "$(grep "${bad//+/\\+}" "$FG_FLUXGATED_LOG")"
out=$(q +dnssec static.example.test A)
assert_match "... and the running configuration keeps signing" 'IN\s+RRSIG\s+A 13 3 300 ' "$out"
rm -f "$KEYS/$bad.key" "$KEYS/$bad.private"
mv "$KEYS/$new.key" "$KEYS/$new.private" "$OTHER/"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "the new key moved away: reload accepted" 0 "$rc"
assert_eq "... and no longer published" 2 "$(dnskeys)"
out=$(dv example.test example.test DNSKEY)
assert_match "after the reload: the DNSKEY RRset validates" '^; fully validated' "$out"

# ------------------------------------------------------------ ZSK rollover
# the pre-publish rollover of fluxctl(8): a new ZSK is published, then
# signs, then the old one leaves; unbound and delv validate at every step,
# and fluxgated is only reloaded, never restarted
# 1. published, not signing: keygen --activate-in, then a reload
new=$("$FLUXCTL" dnssec keygen example.test --dir "$KEYS" --zsk --activate-in 30d); rc=$?
assert_eq "rollover 1: fluxctl dnssec keygen --zsk --activate-in exits 0" 0 "$rc"
new_zsk=$((10#${new##*+}))
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "rollover 1: reload accepted (the new private key read by [priv])" 0 "$rc"
[ $rc -eq 0 ] || log "$out $(tail -n 5 "$FG_FLUXGATED_LOG")"
assert_eq "rollover 1: the DNSKEY RRset holds KSK and both ZSKs" 3 "$(dnskeys)"
assert_eq "rollover 1: the old ZSK still signs" "$old_zsk" "$(sigtag)"
out=$(dv example.test example.test DNSKEY)
assert_match "rollover 1: delv validates the DNSKEY RRset" '^; fully validated' "$out"
# "once the DNSKEY TTL has passed everywhere": a resolver that cached the
# DNSKEY RRset before the new key was published would reject the new
# signatures (bogus) until that TTL runs out; a restarted unbound stands
# for one whose cache has expired
stop_bg "$UB_PID"
start_bg unbound cli unbound -d -c "$FG_WORK/ub/unbound.conf"
UB_PID=$BG_PID
for i in $(seq 1 200); do
	nsx cli ss -H -lnu "src = $RES and sport = :53" 2>/dev/null | grep -q . && break
	sleep 0.1
done
check "rollover 1: unbound restarts" bash -c "ip netns exec $(ns cli) ss -H -lnu 'src = $RES and sport = :53' | grep -q ."
out=$(r $RES y1.wild.example.test A)
assert_match "rollover 1: unbound validates (AD)" "$ADFLAGS" "$out"
# 2. the activation time reached (brought forward here with BIND's
#    dnssec-settime, which rewrites both files), then a reload
out=$(dnssec-settime -A now -K "$KEYS" "$new" 2>&1); rc=$?
assert_eq "rollover 2: dnssec-settime -A now on the fluxctl key exits 0" 0 "$rc"
chmod 600 "$KEYS/$new.private"; chmod 644 "$KEYS/$new.key"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "rollover 2: reload accepted (the .key's timing, as [priv] read it)" 0 "$rc"
[ $rc -eq 0 ] || log "$out $(tail -n 5 "$FG_FLUXGATED_LOG")"
assert_eq "rollover 2: the new ZSK signs" "$new_zsk" "$(sigtag)"
assert_eq "rollover 2: both ZSKs still published" 3 "$(dnskeys)"
out=$(dv example.test static.example.test A)
assert_match "rollover 2: delv validates the new signature" '^; fully validated' "$out"
out=$(r $RES y2.wild.example.test A)
assert_match "rollover 2: unbound, with the DNSKEY RRset cached at step 1, validates (AD)" \
	"$ADFLAGS" "$out"
# 3. the old ZSK's files moved away, then a reload
mkdir -p "$FG_WORK/retired"
mv "$KEYS/$zsk.key" "$KEYS/$zsk.private" "$FG_WORK/retired/"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "rollover 3: reload accepted" 0 "$rc"
assert_eq "rollover 3: the old ZSK left the DNSKEY RRset" 2 "$(dnskeys)"
out=$(q +dnssec example.test DNSKEY)
assert_nomatch "rollover 3: ... its key tag is gone" "DNSKEY 13 2 300 [0-9]+ [0-9]+ $old_zsk |IN\s+RRSIG\s+[A-Z]+ 13 [0-9] [0-9]+ [0-9]+ [0-9]+ $old_zsk " "$out"
out=$(dv example.test example.test DNSKEY)
assert_match "rollover 3: delv validates the DNSKEY RRset" '^; fully validated' "$out"
out=$(r $RES y3.wild.example.test A)
assert_match "rollover 3: unbound validates (AD)" "$ADFLAGS" "$out"

fluxgated_alive "fluxgated still serving"
stop_bg "$CHILD_PID"
stop_bg "$NAMED_PID"
stop_bg "$BACKEND6_PID"
stop_bg "$PROXY_PID"
stop_bg "$UBP_PID"
stop_bg "$UBBAD_PID"
stop_bg "$UB_PID"
stop_bg "$UBTCP_PID"
stop_bg "$BACKEND_PID"
stop_fluxgated
finish
