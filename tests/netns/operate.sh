#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Operating fluxgated: privilege separation, the control protocol under bad
# requests, fluxctl exit codes, Prometheus metrics (promtool + values that
# move), the JSON event log (every type, its fields, SIGUSR1 reopen).
#
#   cli 10.77.0.2 ---- veth ---- gw 10.77.0.1 (fluxgated, nft backend)
#   cli routes the pool 198.51.100.0/24 via gw
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig python3 curl promtool pgrep
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"

ns_add cli gw
veth_link cli c0 10.77.0.2/24 gw g0 10.77.0.1/24
nsx cli ip route add 198.51.100.0/24 via 10.77.0.1
nsx gw sysctl -qw net.ipv4.ip_forward=1
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true

# The event log lives in a root-owned 0755 directory the DNS process
# ('nobody') cannot write: the [priv] process opens the file and hands the
# descriptor over (at start and on SIGUSR1).
EVDIR=$(mktemp -d /tmp/fg-operate-events.XXXXXX) || die "mktemp"
chmod 0755 "$EVDIR"
chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgop$$"
cat >"$CONF" <<CONFEOF
server:
  listen: [ "10.77.0.1@53" ]
  user: nobody
  workers: 2
  pidfile: $FG_WORK/fluxgated.pid
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.77.0.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.77.0.9
    ports: [ any ]
    pool: web4
    ttl: 5s
policy:
  direct: [ 10.77.0.2/32 ]
decoy:
  route-via: 10.77.0.2
nat:
  table: $TABLE
control:
  socket: $CTL
metrics:
  listen: 10.77.0.1@9153
log:
  file: $EVDIR/eve.json
CONFEOF

start_fluxgated gw "$CONF"
wait_dns cli 10.77.0.1 example.test 60 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"

# ------------------------------------------------------ privilege separation
priv=$FG_FLUXGATED_PID
# under valgrind the [priv] process is valgrind's; the DNS side is its child
dns=$(pgrep -P "$priv" | head -n 1)
assert_match "two processes: the DNS side is a child of the privileged one" '^[0-9]+$' "${dns:-none}"
if [ -n "$dns" ]; then
	assert_eq "DNS process has no effective capabilities" "0000000000000000" \
		"$(awk '/^CapEff/ {print $2}' /proc/"$dns"/status)"
	assert_eq "DNS process has no permitted capabilities" "0000000000000000" \
		"$(awk '/^CapPrm/ {print $2}' /proc/"$dns"/status)"
	assert_eq "DNS process runs as nobody" "65534" "$(awk '/^Uid/ {print $2}' /proc/"$dns"/status)"
	assert_eq "DNS process has a seccomp filter" "2" "$(awk '/^Seccomp:/ {print $2}' /proc/"$dns"/status)"
	assert_eq "DNS process has no_new_privs" "1" "$(awk '/^NoNewPrivs/ {print $2}' /proc/"$dns"/status)"
fi
assert_eq "pidfile names the privileged (main) process" "$priv" "$(cat "$FG_WORK/fluxgated.pid" 2>/dev/null)"
assert_eq "privileged process keeps only CAP_NET_ADMIN" "0000000000001000" \
	"$(awk '/^CapEff/ {print $2}' /proc/"$priv"/status)"
assert_match "DNS process proved it cannot open a netlink socket" \
	'netlink socket refused: Operation not permitted' "$(cat "$FG_FLUXGATED_LOG")"

# ------------------------------------------------------------ control
check "fluxctl status works" "$FLUXCTL" -s "$CTL" status
out=$("$FLUXCTL" -s "$CTL" --json status); rc=$?
assert_eq "fluxctl --json status exits 0" 0 "$rc"
assert_match "status JSON names the service" '"www.example.test"' "$out"
"$FLUXCTL" -s "$FG_WORK/nope.sock" status >/dev/null 2>&1; rc=$?
assert_eq "fluxctl: daemon unreachable -> exit 3" 3 "$rc"
"$FLUXCTL" -s "$CTL" frobnicate >/dev/null 2>&1; rc=$?
assert_eq "fluxctl: unknown command -> exit 2" 2 "$rc"
out=$("$FLUXCTL" -s "$CTL" quarantine not-an-address 2>&1); rc=$?
assert_eq "fluxctl: bad address refused by the daemon -> exit 1" 1 "$rc"
assert_match "fluxctl: bad address message" 'expected an IPv4 or IPv6 address' "$out"
"$FLUXCTL" -s "$CTL" rotate nosuch >/dev/null 2>&1; rc=$?
assert_eq "fluxctl: unknown service -> exit 1" 1 "$rc"

# raw MAGIC VERSION TYPE CODE LENGTH PAYLOAD_HEX [SEND_BYTES]
raw() {
	python3 - "$CTL" "$@" <<'PYEOF'
import socket, struct, sys, json
path, magic, ver, typ, code, length, payload = sys.argv[1:8]
cut = int(sys.argv[8]) if len(sys.argv) > 8 else None
msg = struct.pack(">IBBHI", int(magic, 0), int(ver), int(typ), int(code), int(length)) + bytes.fromhex(payload)
if cut is not None:
    msg = msg[:cut]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(path)
s.sendall(msg)
s.shutdown(socket.SHUT_WR)
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except socket.timeout:
    pass
if len(data) < 12:
    print("NOREPLY")
    sys.exit(0)
m, v, t, c, l = struct.unpack(">IBBHI", data[:12])
body = json.loads(data[12:12 + l])
print("status=%d %s" % (c, body.get("error", "ok")))
PYEOF
}
out=$(raw 0x464C5843 2 1 1 0 "")
assert_match "control: wrong version answered with an error" '^status=[1-9].*unsupported protocol version' "$out"
out=$(raw 0x464C5843 1 1 1 100000 "")
assert_match "control: oversized request refused" '^status=[1-9].*too large' "$out"
out=$(raw 0x464C5843 1 1 99 0 "")
assert_match "control: unknown command refused" '^status=[1-9].*unknown command 99' "$out"
out=$(raw 0x464C5843 1 1 3 3 "616263")
assert_match "control: unterminated argument refused" '^status=[1-9].*malformed arguments' "$out"
out=$(raw 0x12345678 1 1 1 0 "")
assert_match "control: bad magic refused" '^status=[1-9].*malformed request header' "$out"
out=$(raw 0x464C5843 1 1 1 0 "" 5)
assert_eq "control: truncated header gets no answer" "NOREPLY" "$out"
out=$(raw 0x464C5843 1 1 3 40 "3132")
assert_eq "control: payload shorter than announced gets no answer" "NOREPLY" "$out"
check "control: daemon still answers fluxctl after bad requests" "$FLUXCTL" -s "$CTL" stats
a=$(nsx cli kdig @10.77.0.1 +short www.example.test A)
assert_match "DNS still served after bad control requests" '^198\.51\.100\.' "$a"

# ------------------------------------------------------------ metrics
scrape() { nsx cli curl -s --max-time 10 http://10.77.0.1:9153/metrics; }
m1=$(scrape)
printf '%s\n' "$m1" >"$FG_WORK/metrics1.txt"
check "metrics pass promtool check metrics" promtool check metrics <"$FG_WORK/metrics1.txt"
val() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k {print $2}'; }
q1=$(val "$m1" 'fluxgate_dns_queries_total{proto="udp"}')
g1=$(val "$m1" 'fluxgate_grants_total{service="www",scope="client"}')
for i in 1 2 3 4 5; do nsx cli kdig @10.77.0.1 +short www.example.test A >/dev/null; done
m2=$(scrape)
q2=$(val "$m2" 'fluxgate_dns_queries_total{proto="udp"}')
g2=$(val "$m2" 'fluxgate_grants_total{service="www",scope="client"}')
assert_eq "metrics: UDP query counter moved by 5" 5 "$(( ${q2:-0} - ${q1:-0} ))"
assert_eq "metrics: client-scope grants moved by 5" 5 "$(( ${g2:-0} - ${g1:-0} ))"
assert_match "metrics: build info" '^fluxgate_build_info\{version="0.1.0"' "$m2"
assert_match "metrics: pool figures exported" '^fluxgate_pool_[a-z_]+\{[^}]*pool="web4"' "$m2"
assert_match "metrics: grant latency histogram" '^fluxgate_grant_duration_seconds_count [1-9]' "$m2"
assert_match "metrics: control errors counted" '^fluxgate_control_errors_total [1-9]' "$m2"
# data plane gauges: the first scrape counted the kernel sets
assert_match "metrics: pinned flows gauge" '^fluxgate_pinned_flows [0-9]+$' "$m1"
assert_eq "metrics: no source quarantined yet" 0 "$(val "$m1" fluxgate_quarantined_sources)"
# They are cached (refreshed at most every 10 s, every 60 s after a count
# slower than 500 ms): poll until a scrape shows the figure.
# wait_gauge KEY TEST-OP VALUE SECONDS [CMD...]: CMD runs before each scrape.
wait_gauge() {
	local key=$1 op=$2 want=$3 deadline=$((SECONDS + $4)) v
	shift 4
	for (( ; ; )); do
		if [ $# -gt 0 ]; then "$@" >/dev/null 2>&1; fi
		v=$(val "$(scrape)" "$key")
		if [ -n "$v" ] && [ "$v" "$op" "$want" ]; then echo "$v"; return 0; fi
		if [ $SECONDS -ge $deadline ]; then echo "${v:-absent}"; return 1; fi
		sleep 1
	done
}
out=$(wait_gauge 'fluxgate_grants_active{scope="client"}' -ge 1 75 \
	nsx cli kdig @10.77.0.1 +short www.example.test A); rc=$?
assert_eq "metrics: live client-scope grants counted in the data plane (got $out)" 0 "$rc"
# a first packet to a granted address pins (client, address), even though
# the backend does not answer; the pin lives pin-time (60 s by default)
a=$(nsx cli kdig @10.77.0.1 +short www.example.test A)
nsx cli curl -s --max-time 1 -o /dev/null "http://$a/" || true
"$FLUXCTL" -s "$CTL" quarantine 10.77.0.51 --for 5m >/dev/null
out=$(wait_gauge fluxgate_quarantined_sources -eq 1 75); rc=$?
assert_eq "metrics: the quarantined source is counted (got $out)" 0 "$rc"
out=$(wait_gauge fluxgate_pinned_flows -ge 1 75); rc=$?
assert_eq "metrics: the pinned flow is counted (got $out)" 0 "$rc"
"$FLUXCTL" -s "$CTL" release 10.77.0.51 >/dev/null
code=$(nsx cli curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.77.0.1:9153/other)
assert_eq "metrics: other paths are 404" 404 "$code"

# ------------------------------------------------------------ events
"$FLUXCTL" -s "$CTL" quarantine 10.77.0.50 --for 30s >/dev/null
"$FLUXCTL" -s "$CTL" release 10.77.0.50 >/dev/null
"$FLUXCTL" -s "$CTL" reload >/dev/null
# a pool address nobody was given: the SYN goes to the decoys and is logged.
# The NFLOG copy is read by the main thread, which may still be busy with the
# reload above (seconds under the sanitizers): knock again until the event is
# written, bounded.
for _ in $(seq 1 30); do
    nsx cli curl -s --max-time 1 -o /dev/null http://198.51.100.77/ || true
    grep -q '"event_type":"decoy"' "$EVDIR/eve.json" && break
    sleep 1
done
python3 - "$EVDIR/eve.json" >"$FG_WORK/events.check" 2>&1 <<'PYEOF'
import json, re, sys
POOL_ID = "web4"   # the pool of 198.51.100.77 in this config
ts = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}$')
seen = {}
bad = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        e = json.loads(line)
    except Exception as x:
        print("line %d: not JSON: %s" % (n, x)); bad += 1; continue
    t = e.get("event_type")
    if not ts.match(e.get("timestamp", "")):
        print("line %d: bad timestamp %r" % (n, e.get("timestamp"))); bad += 1
    if t not in e or not isinstance(e[t], dict):
        print("line %d: no object named %r" % (n, t)); bad += 1
    seen[t] = e
need = {"dns": ["src_ip", "src_port", "proto"], "grant": ["src_ip"],
        "quarantine": ["src_ip"], "release": ["src_ip"], "reload": [],
        "decoy": ["src_ip", "dest_ip", "dest_port", "proto"]}
for t, fields in need.items():
    if t not in seen:
        print("missing event type", t); bad += 1; continue
    for f in fields:
        if f not in seen[t]:
            print("%s: missing field %s" % (t, f)); bad += 1
d = seen.get("dns", {}).get("dns", {})
for f in ("query", "qtype", "rcode", "scope", "answer"):
    if f not in d:
        print("dns: missing dns.%s" % f); bad += 1
g = seen.get("grant", {}).get("grant", {})
# fluxgated(8): service, scope, client (address/prefix or *), address, backend, timeout_ms, commit_us
for f in ("service", "scope", "client", "address", "backend", "timeout_ms", "commit_us"):
    if f not in g:
        print("grant: missing grant.%s" % f); bad += 1
if g.get("scope") == "any" and g.get("client") != "*":
    print("grant: scope any wants client *, got %r" % g.get("client")); bad += 1
if g.get("scope") in ("client", "net") and not re.match(r'^[0-9a-f.:]+/\d+$', g.get("client", "")):
    print("grant: client %r is not address/prefix" % g.get("client")); bad += 1
if seen.get("decoy", {}).get("dest_port") != 80:
    print("decoy: dest_port is not 80"); bad += 1
dc = seen.get("decoy", {}).get("decoy", {})
if dc.get("reason") != "pool-miss" or dc.get("pool") != POOL_ID:
    print("decoy: want reason pool-miss and pool %s, got %r" % (POOL_ID, dc)); bad += 1
print("types:", sorted(seen))
sys.exit(1 if bad else 0)
PYEOF
rc=$?
assert_eq "event log: JSON lines with EVE fields for dns/grant/quarantine/release/reload/decoy" 0 "$rc"
[ $rc -eq 0 ] || cat "$FG_WORK/events.check"

mv "$EVDIR/eve.json" "$EVDIR/eve.json.1"
kill -USR1 "$priv"
# the reopen is asynchronous: query until an answer's event is in the new
# file (a query before the reopen is written to eve.json.1), bounded
dns_in_new_log() {
	nsx cli kdig @10.77.0.1 +short www.example.test A >/dev/null
	grep -q '"event_type":"dns"' "$EVDIR/eve.json" 2>/dev/null
}
wait_until 60 dns_in_new_log
assert_match "SIGUSR1 reopens the event log (logrotate)" '"event_type":"dns"' "$(cat "$EVDIR/eve.json" 2>/dev/null)"
assert_eq "event log directory stays root's, mode 0755" "0:755" "$(stat -c %u:%a "$EVDIR")"
assert_eq "event log files owned by root, mode 0640" "0:640 0:640" \
	"$(stat -c %u:%a "$EVDIR/eve.json.1" "$EVDIR/eve.json" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"

fluxgated_alive "daemon still running at the end"
stop_fluxgated
[ ! -e "$FG_WORK/fluxgated.pid" ]; assert_eq "pidfile removed at stop" 0 $?
cp -r "$EVDIR" "$FG_WORK/events" 2>/dev/null
rm -rf "$EVDIR"
finish
