#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A UDP persona behind the real gateway: the attacker cannot tell the real
# DNS server, reached through a grant, from a decoy at an ungranted pool
# address.
#
#   cli 10.0.1.2 ---- gw 10.0.1.1 (fluxgated, nftables) --+-- srv 10.0.2.10 (BIND named)
#                                                        +-- dcy 10.0.3.10 (fluxdecoy)
#
# fluxgated publishes ns.example.test from the pool 198.51.100.0/25 with
# named as its backend (every port) and routes ungranted pool traffic to
# dcy; fluxdecoy serves the persona `fluxdecoy clone --ports udp/53` made of
# named. The client looks ns.example.test up (the grant), then nmap -sU -sV
# -p 53 and dig CHAOS version.bind against the granted address and an
# ungranted one give the same lines (addresses masked).
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND,
# FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip named dig nmap nft
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
mkdir -p "$FG_WORK/bin"
cp "$FLUXDECOY" "$FG_WORK/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$FG_WORK/bin/fluxdecoy"
W=$FG_WORK

cmp_out() { # cmp_out NAME REAL_OUTPUT DECOY_OUTPUT: equal and not empty
	if [ "$2" == "$3" ] && [ -n "$2" ]; then ok "$1"; else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; fi
}

# ------------------------------------------------------------ topology
ns_add cli gw srv dcy
veth_link cli eth0 "10.0.1.2/24" gw c0 "10.0.1.1/24"
veth_link gw s0 "10.0.2.1/24" srv eth0 "10.0.2.10/24"
veth_link gw d0 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx cli ip route add default via 10.0.1.1
nsx srv ip route add default via 10.0.2.1
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default c0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done

# ------------------------------------------------------------ the real named
N=$W/named; mkdir -p "$N"
cat >"$N/example.test.zone" <<'EOF2'
$TTL 300
@	IN SOA ns1.example.test. hostmaster.example.test. 2026120201 3600 600 86400 300
	IN NS ns1.example.test.
ns1	IN A 10.0.2.10
EOF2
cat >"$N/named.conf" <<EOF2
options {
	directory "$N";
	pid-file "$N/named.pid";
	session-keyfile "$N/session.key";
	managed-keys-directory "$N";
	listen-on port 53 { 10.0.2.10; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
};
controls { };
zone "example.test" { type primary; file "$N/example.test.zone"; };
EOF2
start_bg named srv named -g -n 1 -c "$N/named.conf"; NAMED_PID=$BG_PID
wait_dns gw 10.0.2.10 example.test 30 "$NAMED_PID" || { fail "named answers" "$(tail "$W/named.log")"; finish; }

# ------------------------------------------------------------ the decoy bed
P=$W/ns.persona
out=$(nsx gw "$FLUXDECOY" clone --from 10.0.2.10 --ports udp/53 --zone example.test \
	--name ns -o "$P" 2>&1)
assert_eq "fluxdecoy clone --ports udp/53 of named" "0" "$?"
[ -s "$P" ] || { fail "clone wrote a persona" "$out"; finish; }
cat >"$W/fluxdecoy.conf" <<EOF2
decoy:
  user: nobody
  event-log: $W/eve.json
persona:
  - id: ns
    file: $P
EOF2
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null
if [ "$VALGRIND" = 1 ]; then
	start_bg fluxdecoy dcy valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--log-file="$W/fluxdecoy.valgrind.log" "$FLUXDECOY" -c "$W/fluxdecoy.conf"
	T=120
else
	start_bg fluxdecoy dcy "$FLUXDECOY" -c "$W/fluxdecoy.conf"
	T=15
fi
DPID=$BG_PID
wait_port dcy udp 53 $T "$DPID" || { fail "fluxdecoy binds udp/53" "$(tail "$W/fluxdecoy.log")"; finish; }

# ------------------------------------------------------------ the gateway
CONF=$W/fluxgated.conf
cat >"$CONF" <<EOF2
server:
  listen: [ "10.0.1.1@53" ]
  user: nobody
  workers: 1
control:
  socket: "$W/control.sock"
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 1s }
    records:
      - "@ NS ns1"
      - "ns1 A 10.0.1.1"
pool:
  - id: ns4
    prefix: 198.51.100.0/25
service:
  - id: ns
    name: ns.example.test
    backend: [ 10.0.2.10 ]
    ports: [ any ]
    pool: [ ns4 ]
    ttl: 120s
    grace: 30s
    pin: 30s
decoy:
  route-via: [ 10.0.3.10 ]
policy:
  direct: [ 10.0.1.0/24 ]
nat:
  backend: nft
  table: fluxgate
EOF2
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the gateway's config" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }
DNS_WAIT=30; [ "$VALGRIND" = 1 ] && DNS_WAIT=120
start_fluxgated gw "$CONF"
wait_dns cli 10.0.1.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID" \
	|| { fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"; finish; }

G=$(nsx cli dig +short +tries=2 +time=5 @10.0.1.1 ns.example.test A 2>/dev/null | head -n 1)
case $G in 198.51.100.*) ok "the lookup grants a pool address ($G)" ;;
*) fail "the lookup grants a pool address" "got '$G'"; finish ;; esac
U=198.51.100.$(( 1 + (${G##*.} + 17) % 126 ))   # in the pool, not granted
dq() { nsx cli timeout 30 dig +noedns +noadflag +tries=3 +time=5 "@$1" "${@:2}" 2>&1; }
r=$(dq "$G" version.bind CH TXT +short); d=$(dq "$U" version.bind CH TXT +short)
has_ver() { grep -Eq '^"9\.' <<<"$1"; }
has_ver "$r" && ok "through the grant: named's version.bind" || fail "through the grant: named answers" "$r"
cmp_out "dig CHAOS version.bind: the granted and the ungranted address answer alike" "$r" "$d"
r=$(dq "$G" example.test SOA +short); d=$(dq "$U" example.test SOA +short)
cmp_out "dig example.test SOA: alike" "$r" "$d"
BIND_RE='^53/udp +open +domain +ISC BIND'
r=$(nmap_udp_id cli 53 "$G" "$BIND_RE"); d=$(nmap_udp_id cli 53 "$U" "$BIND_RE")
log "nmap -sU -sV -p 53, granted: $r"
log "nmap -sU -sV -p 53, decoy:   $d"
if grep -Eq '^53/udp +open +domain +ISC BIND' <<<"$r"; then ok "nmap -sU -sV through the grant: ISC BIND"
else fail "nmap -sU -sV through the grant: ISC BIND" "$r"; fi
cmp_out "nmap -sU -sV -p 53: the same line for the real server and the decoy" "$r" "$d"
if grep -q "\"dest_ip\":\"$U\",\"dest_port\":53,\"proto\":\"UDP\".*\"result\":\"answered\"" "$W/eve.json"; then
	ok "the decoy answered the ungranted address (event)"
else fail "the decoy answered the ungranted address" "$(tail -n 3 "$W/eve.json")"; fi
if grep -q "\"dest_ip\":\"$G\"" "$W/eve.json"; then fail "the granted address never reached the decoy" "$(grep "$G" "$W/eve.json" | head -3)"
else ok "the granted address never reached the decoy"; fi

stop_fluxgated
stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
