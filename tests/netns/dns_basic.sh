#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxgated as an authoritative DNS server, asked by real clients.
#
#   cli 10.53.0.2, fd53::2  ---- veth ----  srv 10.53.0.1, fd53::1 (fluxgated)
#   cli 10.53.0.3 (unbound, stub zones -> 10.53.0.1)
#
# kdig and dig over UDP and TCP, IPv4 and IPv6; every record type; NXDOMAIN,
# NODATA, REFUSED; EDNS, DO, ECS; qname case kept; TC over UDP then the
# full answer over TCP; several queries on one TCP connection; malformed
# packets (the daemon keeps serving); a real unbound resolver in front;
# `fluxgated --check` on broken configs. Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig dig unbound python3 ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"

SRV4=10.53.0.1
SRV6=fd53::1
RES4=10.53.0.3

# ------------------------------------------------------------ --check
BAD1="$FG_WORK/broken-time.conf"
cat >"$BAD1" <<'EOF'
server:
  listen: [ "10.53.0.1@53" ]
  workers: 1
zone:
  - domain: example.test
    ttl: soon
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5s }
    records:
      - "@ NS ns1"
nat:
  backend: memory
EOF
out=$("$FLUXGATED" --check -c "$BAD1" 2>&1); rc=$?
assert_eq "--check: bad TIME value exits 1" 1 "$rc"
assert_match "--check: bad TIME value reported as file:6:" "^$BAD1:6: " "$out"

BAD2="$FG_WORK/broken-record.conf"
cat >"$BAD2" <<'EOF'
server:
  listen: [ "10.53.0.1@53" ]
zone:
  - domain: example.test
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5s }
    records:
      - "@ NS ns1"
      - "ns1 A 10.0.0.1"
      - "www A 300.1.2.3"
      - "mail BOGUS x"
nat:
  backend: memory
EOF
out=$("$FLUXGATED" --check -c "$BAD2" 2>&1); rc=$?
assert_eq "--check: bad record exits 1" 1 "$rc"
assert_match "--check: bad A rdata reported as file:9:" "^$BAD2:9: " "$out"
assert_match "--check: unknown type reported as file:10:" "^$BAD2:10: " "$out"

BAD3="$FG_WORK/broken-key.conf"
printf 'server:\n  listen: [ "10.53.0.1@53" ]\n  wrokers: 2\nnat:\n  backend: memory\n' >"$BAD3"
out=$("$FLUXGATED" --check -c "$BAD3" 2>&1); rc=$?
assert_eq "--check: unknown key exits 1" 1 "$rc"
assert_match "--check: unknown key reported as file:3:" "^$BAD3:3: " "$out"

# ------------------------------------------------------------ topology
ns_add srv cli
veth_link srv eth0 "$SRV4/24,$SRV6/64" cli eth0 "10.53.0.2/24,fd53::2/64"
addr_add cli eth0 "$RES4/24"

CONF="$FG_WORK/fluxgated.conf"
{
	cat <<EOF
server:
  listen: [ "$SRV4@53", "$SRV6@53" ]
  workers: auto
  nsid: "fg-basic (lab)"
control:
  socket: "$FG_WORK/control.sock"
nat:
  backend: memory
EOF
	zones_yaml
} >"$CONF"

# the daemon refuses the memory backend without its test flag: so does --check
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: nat.backend memory without --test-memory-backend exits 1" 1 "$rc"
assert_match "--check: names the test-only backend and the flag" \
	'nat\.backend: memory is for tests only.*--test-memory-backend' "$out"
FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
out=$("$FLUXGATED" $FG_FLUXGATED_ARGS --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the test config is valid (exit 0)" 0 "$rc"
[ $rc -eq 0 ] || log "$out"

start_fluxgated srv "$CONF"
if ! wait_dns cli "$SRV4" example.test 90 "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers on $SRV4" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
ok "fluxgated answers on $SRV4"
wait_port srv tcp 53 20 "$FG_FLUXGATED_PID" || fail "fluxgated listens on TCP 53"

# q ARGS...: kdig to the server over IPv4 (add +tcp, @SERVER overrides)
q() { nsx cli kdig @"$SRV4" +retry=0 +timeout=3 "$@" 2>&1; }
q6() { nsx cli kdig @"$SRV6" +retry=0 +timeout=3 "$@" 2>&1; }
d() { nsx cli dig @"$SRV4" +tries=1 +time=3 "$@" 2>&1; }

RR_WWW_A='^www\.example\.test\.\s+300\s+IN\s+A\s+10\.0\.0\.80$'
RR_WWW_AAAA='^www\.example\.test\.\s+300\s+IN\s+AAAA\s+fd00::80$'
AUTH_OK=';; Flags: qr aa rd;'
SOA_RR='^example\.test\.\s+60\s+IN\s+SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. 2024010101 3600 600 604800 60$'

# ------------------------------------------------------------ transports
for tr in udp tcp; do
	opt=""; [ $tr = tcp ] && opt=+tcp
	out=$(q $opt www.example.test A)
	assert_match "$tr/v4: www A" "$RR_WWW_A" "$out"
	assert_match "$tr/v4: NOERROR, authoritative" "$AUTH_OK" "$out"
	assert_match "$tr/v4: answer came over ${tr^^}" "^;; From $SRV4@53\(${tr^^}\)" "$out"
	out=$(q6 $opt www.example.test AAAA)
	assert_match "$tr/v6: www AAAA" "$RR_WWW_AAAA" "$out"
	assert_match "$tr/v6: answer came over ${tr^^}" "^;; From $SRV6@53\(${tr^^}\)" "$out"
done

# ------------------------------------------------------------ NSID, EXPIRE, opcodes
# RFC 5001: the NSID only when asked for; RFC 7314: EXPIRE on the apex SOA
for tr in udp tcp; do
	opt=""; [ $tr = tcp ] && opt=+tcp
	out=$(q $opt +nsid www.example.test A)
	assert_match "$tr: kdig +nsid shows server.nsid" '^;; NSID: .*"fg-basic \(lab\)"' "$out"
	assert_match "$tr: the +nsid answer is still the answer" "$RR_WWW_A" "$out"
done
out=$(q www.example.test A)
assert_nomatch "no NSID unless asked for" 'NSID' "$out"
out=$(q +nsid nope.example.test A)
assert_match "NXDOMAIN carries the NSID too" '^;; NSID: .*"fg-basic \(lab\)"' "$out"
out=$(q +expire example.test SOA)
assert_match "kdig +expire on the apex SOA: the SOA expire (1w)" '^;; EXPIRE: 604800 ' "$out"
out=$(q +expire www.example.test A)
assert_nomatch "no EXPIRE outside an SOA answer" 'EXPIRE' "$out"
# an unknown opcode: NOTIMP, opcode echoed, RD and CD not copied (ISC
# genreport opcodeflg)
out=$(d +opcode=15 +rdflag +cdflag example.test SOA)
assert_match "opcode 15: NOTIMP, opcode echoed" 'opcode: RESERVED15, status: NOTIMP' "$out"
assert_match "opcode 15: flags qr only (no rd, no cd)" '^;; flags: qr;' "$out"

# ------------------------------------------------------------ record types
out=$(q example.test SOA)
assert_match "SOA" '^example\.test\.\s+300\s+IN\s+SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. 2024010101 3600 600 604800 60$' "$out"
out=$(q example.test NS)
assert_match "NS ns1" '^example\.test\.\s+300\s+IN\s+NS\s+ns1\.example\.test\.$' "$out"
assert_match "NS ns2" '^example\.test\.\s+300\s+IN\s+NS\s+ns2\.example\.test\.$' "$out"
out=$(q example.test MX)
assert_match "MX 10 mail" '^example\.test\.\s+300\s+IN\s+MX\s+10 mail\.example\.test\.$' "$out"
assert_match "MX 20 mail2" '^example\.test\.\s+300\s+IN\s+MX\s+20 mail2\.example\.test\.$' "$out"
out=$(q example.test TXT)
assert_match "TXT apex" '^example\.test\.\s+300\s+IN\s+TXT\s+"v=spf1 -all"$' "$out"
out=$(q www.example.test TXT)
assert_match "TXT with its own TTL 60" '^www\.example\.test\.\s+60\s+IN\s+TXT\s+"hello world"$' "$out"
out=$(q multi.example.test TXT)
assert_match "TXT with three strings" '^multi\.example\.test\.\s+300\s+IN\s+TXT\s+"one" "two" "three"$' "$out"
out=$(q esc.example.test TXT)
assert_match "TXT with ; and escaped quotes" '^esc\.example\.test\.\s+300\s+IN\s+TXT\s+"semi;colon" "say \\"hi\\""$' "$out"
out=$(q _sip._udp.example.test SRV)
assert_match "SRV" '^_sip\._udp\.example\.test\.\s+300\s+IN\s+SRV\s+10 5 5060 sip\.example\.test\.$' "$out"
out=$(q ns1.example.test AAAA)
assert_match "AAAA" '^ns1\.example\.test\.\s+300\s+IN\s+AAAA\s+fd00::1$' "$out"
out=$(q 80.0.0.10.in-addr.arpa PTR)
assert_match "PTR (reverse zone, TTL 3600)" '^80\.0\.0\.10\.in-addr\.arpa\.\s+3600\s+IN\s+PTR\s+www\.example\.test\.$' "$out"
out=$(q ftp.example.test A)
assert_match "CNAME answer" '^ftp\.example\.test\.\s+300\s+IN\s+CNAME\s+www\.example\.test\.$' "$out"
assert_match "CNAME followed to the A" "$RR_WWW_A" "$out"
out=$(q alias.example.test A)
assert_match "CNAME chain: first link" '^alias\.example\.test\.\s+300\s+IN\s+CNAME\s+ftp\.example\.test\.$' "$out"
assert_match "CNAME chain: second link" '^ftp\.example\.test\.\s+300\s+IN\s+CNAME\s+www\.example\.test\.$' "$out"
assert_match "CNAME chain: final A" "$RR_WWW_A" "$out"
out=$(q loop1.example.test A)
assert_match "CNAME loop answered (not dropped)" 'status: NOERROR' "$out"

# ------------------------------------------------------------ negative answers
out=$(q nope.example.test A)
assert_match "NXDOMAIN status" 'status: NXDOMAIN' "$out"
assert_match "NXDOMAIN is authoritative" "$AUTH_OK" "$out"
assert_match "NXDOMAIN carries the SOA (TTL = SOA minimum)" "$SOA_RR" "$out"
assert_nomatch "NXDOMAIN has no answer" '^;; ANSWER SECTION' "$out"
out=$(q mail.example.test MX)
assert_match "NODATA status NOERROR" 'status: NOERROR' "$out"
assert_match "NODATA: 0 answers" 'ANSWER: 0;' "$out"
assert_match "NODATA carries the SOA" "$SOA_RR" "$out"
out=$(q b.ent.example.test A)
assert_match "empty non-terminal is NODATA, not NXDOMAIN" 'status: NOERROR' "$out"
out=$(q www.other.invalid A)
assert_match "foreign name REFUSED" 'status: REFUSED' "$out"
assert_nomatch "REFUSED is not authoritative" ';; Flags: [^;]*\baa\b' "$out"
out=$(q foo.sub.example.test A)
assert_match "delegation: referral NS in authority" '^sub\.example\.test\.\s+300\s+IN\s+NS\s+ns\.sub\.example\.test\.$' "$out"
assert_nomatch "delegation: referral is not authoritative" ';; Flags: [^;]*\baa\b' "$out"

# ------------------------------------------------------------ EDNS
out=$(q +dnssec www.example.test A)
assert_match "EDNS: OPT in answer" '^;; EDNS PSEUDOSECTION:' "$out"
assert_match "EDNS: DO echoed, UDP size 1232" '^;; Version: 0; flags: do; UDP size: 1232 B' "$out"
assert_match "EDNS+DO: answer still there" "$RR_WWW_A" "$out"
out=$(q +noedns www.example.test A)
assert_nomatch "no EDNS in query: no OPT in answer" 'EDNS PSEUDOSECTION' "$out"
out=$(q +edns=1 www.example.test A)
assert_match "EDNS version 1: BADVERS" 'status: BADVERS' "$out"
out=$(q +subnet=192.0.2.0/24 www.example.test A)
assert_match "ECS: echoed with scope 0 for static data" '^;; CLIENT-SUBNET: 192\.0\.2\.0/24/0$' "$out"
assert_match "ECS: answer unchanged" "$RR_WWW_A" "$out"
out=$(q6 +subnet=2001:db8:1::/48 www.example.test AAAA)
assert_match "ECS v6 over v6: echoed with scope 0" '^;; CLIENT-SUBNET: 2001:db8:1::/48/0$' "$out"

# ------------------------------------------------------------ case
out=$(d +norec wWw.ExAmPlE.tEsT A)
assert_match "0x20: question case kept" '^;wWw\.ExAmPlE\.tEsT\.\s+IN\s+A$' "$out"
assert_match "0x20: answer owner in the query's case" '^wWw\.ExAmPlE\.tEsT\.\s+300\s+IN\s+A\s+10\.0\.0\.80$' "$out"
out=$(d +norec NoPe.ExAmPlE.TeSt A)
assert_match "0x20: NXDOMAIN question case kept" '^;NoPe\.ExAmPlE\.TeSt\.\s+IN\s+A$' "$out"

# ------------------------------------------------------------ truncation
out=$(q +ignore +noedns big.example.test TXT)
assert_match "big RRset over UDP without EDNS: TC set" ';; Flags: qr aa tc' "$out"
out=$(q +ignore big.example.test TXT)
assert_match "big RRset over UDP with EDNS 1232: TC set" ';; Flags: qr aa tc' "$out"
out=$(q +tcp big.example.test TXT)
assert_nomatch "big RRset over TCP: no TC" ';; Flags: [^;]*\btc\b' "$out"
assert_count "big RRset over TCP: all 8 TXT records" 8 '^big\.example\.test\.\s+300\s+IN\s+TXT\s+"[1-8]x{199}"$' "$out"
out=$(d big.example.test TXT)
assert_match "dig retries over TCP after TC" 'Truncated, retrying in TCP mode' "$out"
assert_count "dig gets the full RRset over TCP" 8 '^big\.example\.test\.\s+300\s+IN\s+TXT' "$out"

# ------------------------------------------------------------ one TCP connection, many queries
out=$(q +tcp +keepopen www.example.test A mail.example.test AAAA example.test MX)
assert_match "keepopen: 1st answer" "$RR_WWW_A" "$out"
assert_match "keepopen: 2nd answer" '^mail\.example\.test\.\s+300\s+IN\s+AAAA\s+fd00::25$' "$out"
assert_match "keepopen: 3rd answer" '^example\.test\.\s+300\s+IN\s+MX\s+10 mail\.example\.test\.$' "$out"
assert_count "keepopen: three answers over TCP" 3 "^;; From $SRV4@53\(TCP\)" "$out"

py_checks cli "$SRV4" <<'PY'
import socket, struct, sys, random
srv = sys.argv[1]

def qpkt(qid, name, qtype=1, flags=0x0100):
    w = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + w + struct.pack("!HH", qtype, 1)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return b

# 10 pipelined queries in a single write on one connection
s = socket.create_connection((srv, 53), timeout=5)
names = ["www", "mail", "ns1", "ns2", "sip", "mail2", "www", "ns1", "mail", "sip"]
s.sendall(b"".join(struct.pack("!H", len(p)) + p for p in
                   (qpkt(0x4000 + i, n + ".example.test") for i, n in enumerate(names))))
ids = set()
try:
    for _ in names:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
        r = recv_exact(s, n)
        qid, fl, qd, an = struct.unpack("!HHHH", r[:8])
        if (fl & 0xF) == 0 and an >= 1:
            ids.add(qid)
    want = set(range(0x4000, 0x4000 + len(names)))
    if ids == want:
        print("PASS TCP pipelining: 10 queries in one write, 10 answers with matching IDs")
    else:
        print("FAIL TCP pipelining: answered IDs %s, wanted %s" % (sorted(ids), sorted(want)))
except Exception as e:
    print("FAIL TCP pipelining: %r after %d answers" % (e, len(ids)))
s.close()

# a query split across two TCP segments (length prefix, then the rest)
s = socket.create_connection((srv, 53), timeout=5)
p = qpkt(0x5000, "www.example.test")
try:
    s.sendall(struct.pack("!H", len(p))[:1]); import time; time.sleep(0.2)
    s.sendall(struct.pack("!H", len(p))[1:] + p[:7]); time.sleep(0.2)
    s.sendall(p[7:])
    n = struct.unpack("!H", recv_exact(s, 2))[0]
    r = recv_exact(s, n)
    ok = struct.unpack("!H", r[:2])[0] == 0x5000
    print(("PASS" if ok else "FAIL") + " TCP: query split across segments is answered")
except Exception as e:
    print("FAIL TCP: query split across segments is answered: %r" % (e,))
s.close()
PY

# ------------------------------------------------------------ through unbound
UDIR="$FG_WORK/unbound"
mkdir -p "$UDIR"
cat >"$UDIR/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $RES4
    port: 53
    outgoing-interface: $RES4
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 10.53.0.0/24 allow
    chroot: ""
    username: ""
    pidfile: ""
    directory: "$UDIR"
    use-syslog: no
    logfile: ""
    do-daemonize: no
    module-config: "iterator"
    do-not-query-localhost: no
    domain-insecure: "example.test"
    domain-insecure: "0.0.10.in-addr.arpa"
    local-zone: "test." nodefault
    local-zone: "10.in-addr.arpa." nodefault
    num-threads: 1
    so-reuseport: no
    cache-max-negative-ttl: 60
stub-zone:
    name: "example.test"
    stub-addr: $SRV4
stub-zone:
    name: "0.0.10.in-addr.arpa"
    stub-addr: $SRV4
remote-control:
    control-enable: no
EOF
start_bg unbound cli unbound -d -c "$UDIR/unbound.conf"
UNBOUND_PID=$BG_PID
if wait_port cli udp 53 20 "$UNBOUND_PID"; then
	r() { nsx cli dig @"$RES4" +tries=2 +time=3 "$@" 2>&1; }
	out=$(r www.example.test A)
	assert_match "unbound: www A through the resolver" '^www\.example\.test\.\s+[0-9]+\s+IN\s+A\s+10\.0\.0\.80$' "$out"
	assert_match "unbound: recursion available, not authoritative" ';; flags: qr rd ra;' "$out"
	out=$(r alias.example.test A)
	assert_match "unbound: CNAME chain resolved" '^www\.example\.test\.\s+[0-9]+\s+IN\s+A\s+10\.0\.0\.80$' "$out"
	out=$(r example.test MX)
	assert_match "unbound: MX" 'IN\s+MX\s+10 mail\.example\.test\.$' "$out"
	out=$(r _sip._udp.example.test SRV)
	assert_match "unbound: SRV" 'IN\s+SRV\s+10 5 5060 sip\.example\.test\.$' "$out"
	out=$(r nope.example.test A)
	assert_match "unbound: NXDOMAIN passed on" 'status: NXDOMAIN' "$out"
	out=$(r mail.example.test TXT)
	assert_match "unbound: NODATA passed on" 'status: NOERROR.*' "$out"
	assert_match "unbound: NODATA has no answer" 'ANSWER: 0,' "$out"
	out=$(r -x 10.0.0.25)
	assert_match "unbound: PTR via the reverse stub zone" 'IN\s+PTR\s+mail\.example\.test\.$' "$out"
	out=$(r big.example.test TXT)
	assert_count "unbound: big RRset (fetched over TCP after TC)" 8 '^big\.example\.test\.\s+[0-9]+\s+IN\s+TXT' "$out"
	out=$(r +tcp www.example.test AAAA)
	assert_match "unbound: AAAA over TCP to the resolver" 'IN\s+AAAA\s+fd00::80$' "$out"
else
	fail "unbound started on $RES4" "$(tail -n 20 "$FG_WORK/unbound.log")"
fi
stop_bg "$UNBOUND_PID"

# ------------------------------------------------------------ malformed input
# Each bad input is followed by a liveness probe (4 queries from fresh
# sockets, so every worker is likely to see one), so a failure names the
# input that broke the daemon.
py_checks cli "$SRV4" <<'PY'
import socket, struct, sys, random, time
srv = sys.argv[1]
rnd = random.Random(1053)
hdr = lambda qid, fl, qd=1, an=0, ns=0, ar=0: struct.pack("!HHHHHH", qid, fl, qd, an, ns, ar)
www = b"\x03www\x07example\x04test\x00"
GOOD = hdr(0x7777, 0x0100) + www + b"\x00\x01\x00\x01"

def udp(pkt, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(pkt, (srv, 53))
    try:
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
    finally:
        s.close()

def tcp_query(q, timeout=3):
    s = socket.create_connection((srv, 53), timeout=timeout)
    try:
        s.sendall(struct.pack("!H", len(q)) + q)
        b = b""
        while len(b) < 2:
            c = s.recv(2 - len(b))
            if not c:
                return None
            b += c
        n = struct.unpack("!H", b)[0]
        r = b""
        while len(r) < n:
            c = s.recv(n - len(r))
            if not c:
                return None
            r += c
        return r
    finally:
        s.close()

def rcode(r):
    return None if r is None or len(r) < 4 else r[3] & 0xF

dead = False
def alive(after):
    """4 UDP queries from fresh ports and one over TCP must be answered."""
    global dead
    if dead:
        return
    lost = sum(1 for _ in range(4) if (lambda r: r is None or r[:2] != b"\x77\x77")(udp(GOOD, 2)))
    try:
        t = tcp_query(GOOD)
        tcp_ok = t is not None and t[:2] == b"\x77\x77"
    except OSError:
        tcp_ok = False
    if lost or not tcp_ok:
        dead = True
        print("FAIL daemon still answers after %s (%d of 4 UDP queries lost, TCP %s)"
              % (after, lost, "ok" if tcp_ok else "unanswered"))

def expect(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + (": " + detail if detail and not cond else ""))

# Nothing to answer: not even a header, or a response (QR=1: no loops).
r = udp(b"\x12\x34\x01")
expect("short packet (3 bytes) gets no reply", r is None)
alive("a 3-byte packet")
r = udp(b"")
expect("empty datagram gets no reply", r is None)
alive("an empty datagram")
r = udp(hdr(0x2222, 0x8000) + www + b"\x00\x01\x00\x01")
expect("a response (QR=1) gets no reply (no reflection loops)", r is None)
alive("a QR=1 packet")

# Broken questions: FORMERR or silence, and the daemon keeps going.
cases = [
    ("self-pointer qname (C0 0C at offset 12)", hdr(0x3333, 0x0100) + b"\xc0\x0c" + b"\x00\x01\x00\x01"),
    ("pointer back to the question's first label", hdr(0x3334, 0x0100) + b"\x03www\xc0\x0c" + b"\x00\x01\x00\x01"),
    ("pointer into the header", hdr(0x333b, 0x0100) + b"\xc0\x04" + b"\x00\x01\x00\x01"),
    ("forward pointer past the end", hdr(0x333c, 0x0100) + b"\xc0\xff" + b"\x00\x01\x00\x01"),
    ("label length 64 (reserved bits)", hdr(0x3335, 0x0100) + b"\x03www\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"),
    ("question cut in the middle of a label", hdr(0x3336, 0x0100) + b"\x03www\x07exam"),
    ("question without full type/class", hdr(0x3337, 0x0100) + www + b"\x00"),
    ("name longer than 255 octets", hdr(0x3338, 0x0100) + b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00\x00\x01\x00\x01"),
    ("OPT with a truncated option", hdr(0x3339, 0x0100, ar=1) + www + b"\x00\x01\x00\x01"
        + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x10\x00\x08\x00"),
]
for name, pkt in cases:
    r = udp(pkt)
    expect(name + ": FORMERR or dropped", rcode(r) in (None, 1), "got rcode %s" % rcode(r))
    alive(name)
r = udp(hdr(0x333a, 0x0100, qd=1, an=200, ns=200, ar=200) + www + b"\x00\x01\x00\x01")
expect("section counts beyond the packet: FORMERR, dropped or answered", rcode(r) in (None, 0, 1), "got %s" % rcode(r))
alive("huge section counts")

# 300 random datagrams, half with a plausible query header.
for i in range(300):
    n = rnd.randrange(0, 600)
    b = bytes(rnd.randrange(256) for _ in range(n))
    if i % 2 and n >= 12:
        b = struct.pack("!HH", i, 0x0100) + b[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b, (srv, 53))
    s.close()
time.sleep(0.3)
alive("300 random datagrams")

# TCP: garbage, zero length, a length with no body, a lone byte, a bad query.
for name, data in (("length-prefixed garbage", b"\x00\x20" + bytes(rnd.randrange(256) for _ in range(32))),
                   ("zero length message", b"\x00\x00"),
                   ("length 65535 with 10 bytes then close", b"\xff\xff" + b"x" * 10),
                   ("a single byte then close", b"\x01"),
                   ("self-pointer query", b"\x00\x12" + hdr(0x6666, 0x0100) + b"\xc0\x0c\x00\x01\x00\x01")):
    try:
        s = socket.create_connection((srv, 53), timeout=3)
        s.sendall(data)
        time.sleep(0.3)
        s.close()
        expect("TCP %s: accepted and closed" % name, True)
    except OSError as e:
        expect("TCP %s: accepted and closed" % name, False, repr(e))
    alive("TCP " + name)

expect("daemon answers UDP and TCP after all malformed input", not dead)
PY
fluxgated_alive "fluxgated still running after malformed input"

fluxgated_alive "fluxgated still running at the end"
stop_fluxgated
finish
