#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Grant before answer under pipelining (issue 12), real kernel, real peers:
#
#   cli 10.0.1.2-.27 ---- gw (fluxgated, nftables, workers: 1) --+-- srv 10.0.2.10 (lighttpd "real")
#                                                                 +-- dcy 10.0.3.10 (lighttpd "decoy",
#                                                                      local route for the pool)
#
# One worker, so every query shares one batch ring and one channel to
# [priv]: while a load client keeps 64 granted queries in flight (its
# batches' transactions overlap: fluxgate_grant_pipelined_total grows),
#   - 400 zero-delay sessions (gba_client: the answer's address is
#     connected to the instant it arrives, from the asking source) all
#     reach the real server: every answered address was in the kernel when
#     the client received it;
#   - every load answer carries an address, every TCP answer (served
#     between pipelined UDP batches) too;
#   - no answer went out without an address (noaddr_by_cause all 0);
#   - a reload in the middle of the load (batches in flight hold the old
#     snapshot) loses no answer and the daemon keeps serving;
#   - TSIG under pipelining: a signed query's answer, built and signed
#     while its grant is in flight, verifies (kdig -y) over UDP and TCP and
#     carries a granted address; a private service is granted to the key's
#     holder (the real server) and answered without a grant (an address
#     that leads to the decoys) to an asker without one.
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip curl kdig lighttpd nft gcc python3
CLI_KEY=hmac-sha256:cli-key:cGlwZWxpbmUtdHNpZy1rZXktb2YtZmx1eGdhdGUtbmV0bnM=
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL (build it: make)"
TOOLS="$FG_REPO/tests/netns/tools"
mkdir -p "$FG_WORK/bin"
{ cp "$FLUXGATED" "$FG_WORK/bin/fluxgated" && cp "$FLUXCTL" "$FG_WORK/bin/fluxctl"; } || die "cannot copy the binaries"
FLUXGATED="$FG_WORK/bin/fluxgated" FLUXCTL="$FG_WORK/bin/fluxctl"
if [ "$VALGRIND" = 1 ]; then LOAD_S=40; N=150; else LOAD_S=20; N=400; fi

GBA="$FG_WORK/gba_client"
LAT="$FG_WORK/grant_lat"
gcc -std=c11 -O2 -Wall -Wextra -o "$GBA" "$TOOLS/gba_client.c" || die "cannot build gba_client"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$FG_REPO/bench/grant/grant_lat.c" || die "cannot build grant_lat"

# ------------------------------------------------------------ topology
ns_add cli gw srv dcy
veth_link cli eth0 "10.0.1.2/24" gw c0 "10.0.1.1/24"
veth_link srv eth0 "10.0.2.10/24" gw s0 "10.0.2.1/24"
veth_link dcy eth0 "10.0.3.10/24" gw d0 "10.0.3.1/24"
for i in 3 $(seq 20 27); do addr_add cli eth0 "10.0.1.$i/24"; done
nsx cli ip route add default via 10.0.1.1
nsx srv ip route add default via 10.0.2.1
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip route add local 198.51.101.0/24 dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default c0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "cannot set nf_conntrack_tcp_loose=0"

web_conf() { # web_conf NAME BODY
	local d="$FG_WORK/$1"
	mkdir -p "$d/www"
	echo "$2" >"$d/www/index.html"
	cat >"$d/lighttpd.conf" <<EOF
server.document-root = "$d/www"
server.port = 80
server.bind = "0.0.0.0"
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/error.log"
server.max-connections = 4096
server.max-fds = 8192
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/plain" )
EOF
}
web_conf srv real
web_conf dcy decoy
start_bg lighttpd-srv srv lighttpd -D -f "$FG_WORK/srv/lighttpd.conf"
start_bg lighttpd-dcy dcy lighttpd -D -f "$FG_WORK/dcy/lighttpd.conf"

# ------------------------------------------------------------ fluxgated
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "10.0.1.1@53" ]
  user: nobody
  workers: 1
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
      - "ns1 A 10.0.1.1"
key:
  - id: cli-key
    algorithm: hmac-sha256
    secret: ${CLI_KEY##*:}
pool:
  - id: web4
    prefix: 198.51.100.0/24
  - id: priv4
    prefix: 198.51.101.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: web4
    ttl: 3s
    grace: 2s
    pin: 6s
    rotation: per-answer
  - id: priv
    name: priv.example.test
    backend: 10.0.2.10
    ports: [ tcp/80 ]
    pool: priv4
    ttl: 30s
    access: private
    unauthenticated: decoy
decoy:
  route-via: 10.0.3.10
policy:
  direct: [ 10.0.1.0/24 ]
  # the default unverified-share (50% of a grant set): the load is one
  # cookie-less source renewing its exact grants, whose renewals move
  # their count (they do not add one), so the budget never fills
  keys:
    - { key: cli-key, role: client }
rrl:
  rate: 0
nat:
  backend: nft
EOF
"$FLUXGATED" --check -c "$CONF" >/dev/null || die "config rejected: $("$FLUXGATED" --check -c "$CONF" 2>&1 | tail -n 5)"
start_fluxgated gw "$CONF"
wait_dns cli 10.0.1.1 example.test 120 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"
a=$(nsx cli kdig @10.0.1.1 +short www.example.test A)
assert_match "a granted answer carries a pool address" '^198\.51\.100\.[0-9]+$' "$a"

stat_field() { nsx gw "$FLUXCTL" -s "$CTL" --json stats | python3 -c '
import json, sys
d = json.load(sys.stdin)[sys.argv[2] if len(sys.argv) > 2 else "dns"]
k = sys.argv[1]
print(sum(d[k].values()) if isinstance(d[k], dict) else d[k])' "$@"; }
piped0=$(stat_field grant_pipelined)

# ------------------------------------------------------------ under load
log "load: 64 granted queries in flight from 10.0.1.3 for ${LOAD_S}s; $N zero-delay sessions beside it"
nsx cli "$LAT" -s 10.0.1.1 -n www.example.test -t A -d "$LOAD_S" -q 64 -b 10.0.1.3 >"$FG_WORK/load.out" 2>&1 &
LOAD_PID=$!
sleep 2

# TSIG while batches are in flight (the load's queries share the ring)
body() { nsx cli curl -s -m 5 --interface "$1" "http://$2/" 2>/dev/null; }
tsig_ok=0
for i in $(seq 1 10); do
	out=$(nsx cli kdig +retry=1 +timeout=5 @10.0.1.1 -b 10.0.1.24 -y "$CLI_KEY" www.example.test A 2>&1)
	if [[ $out == *"TSIG PSEUDOSECTION"* ]] && ! grep -Eq 'failed|BADSIG|BADKEY|BADTIME|WARNING' <<<"$out" &&
		grep -Eq 'IN[[:space:]]+A[[:space:]]+198\.51\.100\.' <<<"$out"; then
		tsig_ok=$((tsig_ok + 1))
	fi
done
assert_eq "10 signed UDP queries under load: each answer signed, verified, with an address" 10 "$tsig_ok"
out=$(nsx cli kdig +retry=1 +timeout=5 +tcp @10.0.1.1 -b 10.0.1.24 -y "$CLI_KEY" www.example.test A 2>&1)
assert_match "signed TCP query under load: the answer is signed" 'TSIG PSEUDOSECTION' "$out"
assert_nomatch "signed TCP query under load: kdig reports no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"
out=$(nsx cli kdig +retry=1 +timeout=5 @10.0.1.1 -b 10.0.1.25 -y "$CLI_KEY" priv.example.test A 2>&1)
assert_nomatch "private service, client key, under load: kdig reports no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"
pa=$(grep -Eo 'IN[[:space:]]+A[[:space:]]+198\.51\.101\.[0-9]+' <<<"$out" | grep -Eo '198\.51\.101\.[0-9]+$')
assert_match "private service, client key: an address of its pool" '^198\.51\.101\.[0-9]+$' "$pa"
assert_eq "private service, client key: the real server behind it" real "$(body 10.0.1.25 "$pa")"
da=$(nsx cli kdig +retry=1 +timeout=5 +short @10.0.1.1 -b 10.0.1.26 priv.example.test A 2>&1)
assert_match "private service, no key, under load: an ordinary answer with an address of its pool" \
	'^198\.51\.101\.[0-9]+$' "$da"
assert_eq "private service, no key: the address leads to the decoys" decoy "$(body 10.0.1.26 "$da")"

# the unverified-grant budget under the load: one count per live element
# of the renewing source (at most exact-per-source, 64), not one per answer
# (hundreds of thousands); the few sessions so far add theirs
live=$(stat_field unverified_live grants)
log "unverified grants counted under load: $live (limit $(stat_field unverified_limit grants))"
if [ "$live" -ge 1 ] && [ "$live" -le 1000 ]; then ok "under load the budget counts live elements, not answers ($live)"
else fail "under load the budget counts live elements, not answers" "unverified_live=$live"; fi

srcs=$(seq -s, -f '10.0.1.%g' 20 27)
out=$(nsx cli timeout 900 "$GBA" -s 10.0.1.1 -n www.example.test -t A -c "$N" -b "$srcs" 2>&1)
assert_match "$N zero-delay sessions under pipelined load: every one reached the real server" \
	"^sessions=$N real=$N decoy=0 failed=0 dnsfail=0 " "$out"

tcp_ok=0
for _ in $(seq 1 20); do
	t=$(nsx cli kdig @10.0.1.1 +tcp +short -b 10.0.1.21 www.example.test A 2>/dev/null)
	[[ $t =~ ^198\.51\.100\.[0-9]+$ ]] && tcp_ok=$((tcp_ok + 1))
done
assert_eq "20 TCP queries between pipelined UDP batches: all granted" 20 "$tcp_ok"

# a reload while batches are in flight
nsx gw "$FLUXCTL" -s "$CTL" reload >"$FG_WORK/reload.out" 2>&1
assert_eq "fluxctl reload under pipelined load" 0 "$?"
a=$(nsx cli kdig @10.0.1.1 +short -b 10.0.1.22 www.example.test A)
assert_match "after the reload: granted answers" '^198\.51\.100\.[0-9]+$' "$a"

wait "$LOAD_PID"
load=$(cat "$FG_WORK/load.out")
log "load: $load"
sent=$(sed -n 's/.*\bsent=\([0-9]*\).*/\1/p' <<<"$load")
answered=$(sed -n 's/.*\banswered=\([0-9]*\).*/\1/p' <<<"$load")
with=$(sed -n 's/.*\bwith_addr=\([0-9]*\).*/\1/p' <<<"$load")
if [ "${answered:-0}" -gt 1000 ] && [ "$answered" = "$with" ]; then
	ok "load: $answered answers, every one with an address ($sent sent)"
else
	fail "load: every answer with an address" "$load"
fi
piped1=$(stat_field grant_pipelined)
if [ "$piped1" -gt "$piped0" ]; then ok "batches were pipelined ($((piped1 - piped0)) begun while another was in flight)"
else fail "batches were pipelined" "grant_pipelined $piped0 -> $piped1"; fi
assert_eq "no answer without an address (noaddr_by_cause)" 0 "$(stat_field noaddr_by_cause)"
assert_eq "no grant failure" 0 "$(stat_field grant_failures)"
assert_eq "no answer held back by the unverified-grant budget (TC=1)" 0 \
	"$(stat_field unverified_truncated grants)"

fluxgated_alive "fluxgated still serves after the load"
finish
