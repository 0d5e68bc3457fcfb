#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Distributed mode with certificate authentication (dist.tls-ca, tls-cert,
# tls-key; no psk-file): a controller and one agent, each with a
# certificate of a test CA naming its dist.id.
#
#   cli 10.70.0.2 --DNS-- ctl 10.70.0.1 (role controller)
#                         ctl 10.71.0.1 ---- ga 10.71.0.2:4700 (role agent)
#
# Checks: the certificates authenticate both ends and a grant reaches the
# agent's kernel before the answer; a client certificate of another CA, no
# client certificate, and a valid certificate whose name is not the
# controller the HELLO claims are refused and counted.
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dist_lib.sh"

need_root
need_cmd ip kdig python3 curl openssl nft
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}

ns_add cli ctl ga
veth_link cli c0 10.70.0.2/24 ctl k0 10.70.0.1/24
veth_link ctl ka 10.71.0.1/24 ga a0 10.71.0.2/24
for n in ctl ga; do nsx $n sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 2>/dev/null || true; done

# ---- a test CA, certificates naming ctl, ga and other; a rogue CA
P="$FG_WORK/pki"
mkdir -p "$P"
mkca() { # mkca NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" >/dev/null 2>&1
}
mkcert() { # mkcert CA NAME
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$P/$2.key" -out "$P/$2.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:%s\n' "$2" >"$P/$2.ext"
	openssl x509 -req -in "$P/$2.csr" -CA "$P/$1.pem" -CAkey "$P/$1.key" -CAcreateserial \
		-days 2 -extfile "$P/$2.ext" -out "$P/$2.pem" >/dev/null 2>&1
}
mkca ca
mkca rogueca
mkcert ca ctl
mkcert ca ga
mkcert ca other
mkcert rogueca rogue
chmod 0600 "$P"/*.key
for f in ca ctl ga other rogue; do [ -s "$P/$f.pem" ] || die "certificate $f not made"; done
T=fgc$$

common() {
	cat <<EOF2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.70.0.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.90.0.10@8080
    pool: web4
    ttl: 60s
policy:
  direct: [ 10.70.0.0/24 ]
  resolvers: [ 10.70.0.250/32 ]
EOF2
}
cat >"$FG_WORK/ga.conf" <<EOF2
role: agent
server:
  listen: [ "127.0.0.1@53" ]
  user: nobody
  workers: 1
dist:
  id: ga
  listen: 10.71.0.2@4700
  tls-ca: $P/ca.pem
  tls-cert: $P/ga.pem
  tls-key: $P/ga.key
controller:
  - id: ctl
nat:
  table: ${T}ga
control:
  socket: $FG_WORK/ga.sock
metrics:
  listen: "127.0.0.1@9153"
$(common)
EOF2
cat >"$FG_WORK/ctl.conf" <<EOF2
role: controller
server:
  listen: [ "10.70.0.1@53" ]
  user: nobody
  workers: 2
dist:
  id: ctl
  tls-ca: $P/ca.pem
  tls-cert: $P/ctl.pem
  tls-key: $P/ctl.key
agent:
  - id: ga
    address: 10.71.0.2@4700
control:
  socket: $FG_WORK/ctl.sock
$(common)
EOF2

wait_up() { wait_for "${1:-60}" is_up ga; }
ametric() { nsx ga curl -s --max-time 5 http://127.0.0.1:9153/metrics | grep -E "^$1" | awk '{print $2}' | head -n 1; }
wait_metric() { # wait_metric PATTERN VALUE
	local deadline=$((SECONDS + 20))
	while [ $SECONDS -lt $deadline ] && [ "$(ametric "$1")" != "$2" ]; do sleep 0.2; done
	ametric "$1"
}

start_d ga ga "$FG_WORK/ga.conf"
wait_port ga tcp 4700 60 "${DPID[ga]}" || die "agent does not listen" "$(tail "$FG_WORK/ga.log")"
start_d ctl ctl "$FG_WORK/ctl.conf"
wait_dns cli 10.70.0.1 example.test 60 "${DPID[ctl]}" || die "controller does not answer" "$(tail "$FG_WORK/ctl.log")"
wait_up 60 && ok "certificates: the agent is up" || fail "certificates: the agent is up" "$(ctl_status)" "$(tail "$FG_WORK/ga.log")"

out=$(nsx cli kdig @10.70.0.1 +retry=0 +timeout=8 www.example.test A 2>&1)
A=$(echo "$out" | grep -E '^www\.example\.test\.\s' | awk '{print $5}' | head -n 1)
assert_match "granted answer" '^198\.51\.100\.' "$A"
assert_eq "the agent holds the grant" 1 \
	"$(nsx ga nft list map inet "${T}ga" grant_client4 2>/dev/null | grep -c "10.70.0.2 . $A ")"

H0=$(ametric 'fluxgate_dist_refused_total\{reason="handshake"\}')
# a client certificate of another CA; no client certificate at all
nsx ctl timeout 10 openssl s_client -connect 10.71.0.2:4700 -tls1_3 -cert "$P/rogue.pem" \
	-key "$P/rogue.key" -CAfile "$P/ca.pem" </dev/null >"$FG_WORK/rogue.out" 2>&1
nsx ctl timeout 10 openssl s_client -connect 10.71.0.2:4700 -tls1_3 -CAfile "$P/ca.pem" \
	</dev/null >"$FG_WORK/nocert.out" 2>&1
assert_eq "another CA's certificate and no certificate: refused and counted" $((H0 + 2)) \
	"$(wait_metric 'fluxgate_dist_refused_total\{reason="handshake"\}' $((H0 + 2)))"

# a valid certificate that names 'other' claiming to be ctl in its HELLO
E0=$(ametric 'fluxgate_dist_refused_total\{reason="hello"\}')
nsx ctl python3 - "$P" <<'PY' >"$FG_WORK/other.out" 2>&1
import socket, ssl, struct, sys
p = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(p + "/ca.pem")
ctx.load_cert_chain(p + "/other.pem", p + "/other.key")
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("10.71.0.2", 4700), timeout=5))
body = struct.pack(">Q", 1) + bytes([3]) + b"ctl"
s.sendall(struct.pack(">HBBIQ", 0x4658, 1, 1, len(body), 0) + body)
try:
    print("reply", len(s.recv(100)))
except Exception as e:
    print("closed", e)
PY
assert_eq "a certificate naming another controller than its HELLO: refused and counted" $((E0 + 1)) \
	"$(wait_metric 'fluxgate_dist_refused_total\{reason="hello"\}' $((E0 + 1)))"
assert_match "the refusal says why" "but TLS authenticated" "$(cat "$FG_WORK/ga.log")"
assert_eq "the controller's link stays up" up "$(agent_state ga)"

stop_d ctl
stop_d ga
nsx ga nft delete table inet "${T}ga" 2>/dev/null
finish
