#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS to fluxgated's own listeners stays out of conntrack (hardening
# finding 3): a flood of spoofed queries must not fill the gateway's
# conntrack table, and DNS over UDP and TCP keeps answering.
#
#   cli 10.53.0.2 (spoofs 10.53.0.10-249) ---- veth ---- gw 10.53.0.1
#                                                        fluxgated (DNS)
#                                                        + fluxgate table (dataplane_drv)
# The gateway's ruleset is installed by the data plane driver (as the
# privileged process would, from the config's server.listen); fluxgated
# runs with the memory NAT backend and answers DNS on 10.53.0.1@53.
# First a baseline: the same table without listeners tracks every query
# (so the check below can fail); then with the listener, ~0 entries.
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip dig conntrack python3 ss pkg-config
HERE=$(cd "$(dirname "$0")" && pwd)
N=2000

# ---------------------------------------------------------------- build
DRV=$FG_WORK/dataplane_drv
${CC:-gcc} -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -I"$FG_REPO/src" \
	"$FG_REPO"/src/common/*.c $(ls "$FG_REPO"/src/dataplane/*.c | grep -v /natcfg.c) "$FG_REPO/src/dns/siphash.c" \
	"$HERE/dataplane_drv.c" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack) -lcrypto -pthread \
	-o "$DRV" || die "driver build failed"

# ------------------------------------------------------------- topology
ns_add gw cli
veth_link gw eth0 "10.53.0.1/24,fd53::1/64" cli eth0 "10.53.0.2/24,fd53::2/64"
for k in all default eth0; do nsx gw sysctl -qw net.ipv4.conf.$k.rp_filter=0; done

D=(nsx gw "$DRV" --table fluxgate --pool 198.51.100.0/24)

CONF="$FG_WORK/fluxgated.conf"
{
	cat <<EOF
server:
  listen: [ "10.53.0.1@53", "fd53::1@53" ]
  workers: 1
EOF
	zones_yaml
	cat <<EOF
nat:
  backend: memory
control:
  socket: "$FG_WORK/control.sock"
EOF
} >"$CONF"
FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
start_fluxgated gw "$CONF"
wait_port gw udp 53 60 "$FG_FLUXGATED_PID" || die "fluxgated did not bind 10.53.0.1@53"
wait_port gw tcp 53 60 "$FG_FLUXGATED_PID" || die "fluxgated did not listen on tcp 53"

# N queries, each from its own spoofed (source, port) in the link subnet
FLOOD="$FG_WORK/flood.py"
cat >"$FLOOD" <<'EOF'
import socket, struct, sys
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03ns1\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
for i in range(n):
    src = "10.53.0.%d" % (10 + i % 240)
    sport = 20000 + i
    udp = struct.pack("!HHHH", sport, 53, 8 + len(q), 0) + q
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton("10.53.0.1"))
    s.sendto(ip + udp, ("10.53.0.1", 0))
EOF
dns_entries() { nsx gw conntrack -L -p udp 2>/dev/null | grep -c 'dport=53 ' || true; }
tcp_entries() { nsx gw conntrack -L -p tcp 2>/dev/null | grep -c 'dport=53 ' || true; }
dns6_entries() { nsx gw conntrack -L -f ipv6 2>/dev/null | grep -c 'dport=53 ' || true; }

# ---------------------------------------------------------------- baseline
"${D[@]}" setup || fail "setup without listeners"
nsx gw conntrack -F >/dev/null 2>&1
nsx cli python3 "$FLOOD" "$N" || fail "flood (baseline)"
base=$(dns_entries)
if [ "$base" -gt $((N / 2)) ]; then
	ok "baseline: without the listener rules $N spoofed queries make $base conntrack entries"
else
	fail "baseline: without the listener rules $N spoofed queries make $base conntrack entries (expected > $((N / 2)): the measurement cannot see tracking)"
fi

# ---------------------------------------------------------------- notrack
"${D[@]}" --listen 10.53.0.1@53 setup || fail "setup with listener 10.53.0.1@53"
nsx gw conntrack -F >/dev/null 2>&1
nsx cli python3 "$FLOOD" "$N" || fail "flood"
n=$(dns_entries)
if [ "$n" -lt 10 ]; then ok "$N spoofed queries to the listener: $n conntrack entries (< 10)"
else fail "$N spoofed queries to the listener: $n conntrack entries (expected < 10)"; fi

out=$(nsx cli dig +short +tries=1 +timeout=3 @10.53.0.1 ns1.example.test A 2>&1)
assert_eq "dig over UDP answers through the untracked path" "10.0.0.1" "$out"
out=$(nsx cli dig +short +tcp +tries=1 +timeout=3 @10.53.0.1 ns1.example.test A 2>&1)
assert_eq "dig over TCP answers through the untracked path" "10.0.0.1" "$out"
assert_eq "the TCP query left no conntrack entry" 0 "$(tcp_entries)"
assert_eq "nor the UDP one" 0 "$(dns_entries)"
"${D[@]}" --listen 10.53.0.1@53 --listen fd53::1@53 setup || fail "setup with an IPv6 listener"
nsx gw conntrack -F >/dev/null 2>&1
out=$(nsx cli dig +short +tries=1 +timeout=3 @fd53::1 ns1.example.test A 2>&1)
assert_eq "dig over UDP/IPv6 answers" "10.0.0.1" "$out"
out=$(nsx cli dig +short +tcp +tries=1 +timeout=3 @fd53::1 ns1.example.test A 2>&1)
assert_eq "dig over TCP/IPv6 answers" "10.0.0.1" "$out"
assert_eq "IPv6 DNS left no conntrack entry" 0 "$(dns6_entries)"
# a wildcard listener: any local destination on the port
"${D[@]}" --listen 0.0.0.0@53 setup || fail "setup with wildcard listener"
nsx gw conntrack -F >/dev/null 2>&1
nsx cli python3 "$FLOOD" 200 || fail "flood (wildcard)"
n=$(dns_entries)
if [ "$n" -lt 10 ]; then ok "wildcard listener: 200 spoofed queries, $n conntrack entries (< 10)"
else fail "wildcard listener: 200 spoofed queries, $n conntrack entries (expected < 10)"; fi
out=$(nsx cli dig +short +tcp +tries=1 +timeout=3 @10.53.0.1 ns1.example.test A 2>&1)
assert_eq "dig over TCP answers with the wildcard listener" "10.0.0.1" "$out"
fluxgated_alive "fluxgated still serving after the floods"

"${D[@]}" destroy || fail "destroy"
stop_fluxgated
finish
