#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The lab figure of issue 10 (DESIR section V with indistinguishable
# decoys): can an attacker tell the decoys from the real server?
#
#   cli 10.0.1.2 (granted client, stub) --+
#   atk 10.0.5.2 (attacker, no DNS) ------+-- gw (fluxgated) --+-- srv 10.0.2.10: lighttpd (HTTP, HTTPS),
#                                                              |   OpenSSH sshd, Python smtpd (the real server)
#                                                              +-- dcy 10.0.3.10: fluxdecoy, persona cloned from
#                                                                  srv (fluxdecoy clone), the real chain and key,
#                                                                  shuffled over the whole pool 198.51.100.0/26
#
# fluxgated and fluxdecoy include one shared pool file. The attacker
# fingerprints every pool address with nmap -sV, curl -sI (HTTP and
# HTTPS, with and without h2 offered), curl GET, openssl s_client (chain,
# ALPN, version and cipher), ssh-keyscan, ssh -vv (the
# server's KEX proposal), the SSH banner and an SMTP session (greeting and
# EHLO), plus a port no service exposes; the granted client fingerprints
# the real service the same way through DNS and a grant. The script prints
# a Markdown table: per feature, the real server's value and how many pool
# addresses differ from it (the goal is 0 everywhere), then the attacker's
# time to first real hit (SYNs from the attacker counted by nftables in the
# real server's namespace: 0 means "never").
#
# Run as root: sudo bench/decoy/fingerprint.sh   (POOL_SIZE=64 by default)
# Env: FLUXGATED (fluxdecoy from the same directory), OUT=file appends the table.

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-fingerprint
. "$HERE/../../tests/netns/lib.sh"

need_root
need_cmd ip curl lighttpd openssl ssh /usr/sbin/sshd ssh-keygen ssh-keyscan python3 nmap dig nft
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] && [ -x "$FLUXGATED" ] || die "build first: make"
python3 -c 'import smtpd' 2>/dev/null || die "python3 smtpd module missing (Python < 3.12 needed)"
W=$FG_WORK
REAL=10.0.2.10
PFX=198.51.100.0/26

# ------------------------------------------------------------ topology
ns_add cli atk gw srv dcy
veth_link cli eth0 "10.0.1.2/24" gw c0 "10.0.1.1/24"
veth_link atk eth0 "10.0.5.2/24" gw a0 "10.0.5.1/24"
veth_link srv eth0 "10.0.2.10/24" gw s0 "10.0.2.1/24"
veth_link dcy eth0 "10.0.3.10/24" gw d0 "10.0.3.1/24"
for n in cli atk srv dcy; do
	case $n in cli) g=10.0.1.1 ;; atk) g=10.0.5.1 ;; srv) g=10.0.2.1 ;; dcy) g=10.0.3.1 ;; esac
	nsx $n ip route add default via $g
done
nsx dcy ip route add local $PFX dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default c0 a0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "nf_conntrack_tcp_loose"

# ------------------------------------------------------------ the real server
TLS=$W/tls; mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj "/O=Fluxgate Test/CN=Fluxgate Test CA" -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null || die "CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Example/CN=www.example.test" \
	-keyout "$TLS/leaf.key" -out "$TLS/leaf.csr" 2>/dev/null || die "leaf"
printf 'subjectAltName=DNS:www.example.test\n' >"$TLS/ext"
openssl x509 -req -in "$TLS/leaf.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
	-days 90 -extfile "$TLS/ext" -out "$TLS/leaf.pem" 2>/dev/null || die "sign"
cat "$TLS/leaf.pem" "$TLS/ca.pem" >"$TLS/chain.pem"
cat "$TLS/chain.pem" "$TLS/leaf.key" >"$TLS/lighttpd.pem"
mkdir -p "$W/www"
printf '<html><body>welcome to www.example.test</body></html>\n' >"$W/www/index.html"
cat >"$W/lighttpd.conf" <<EOF
server.modules += ( "mod_openssl" )
server.document-root = "$W/www"
server.port = 80
server.bind = "0.0.0.0"
\$SERVER["socket"] == "0.0.0.0:443" { ssl.engine = "enable" ssl.pemfile = "$TLS/lighttpd.pem" ssl.openssl.ssl-conf-cmd = ("Protocol" => "-ALL, TLSv1.2, TLSv1.3") }
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd-error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", "" => "application/octet-stream" )
EOF
start_bg lighttpd srv lighttpd -D -f "$W/lighttpd.conf"
SSHD=$W/sshd; mkdir -p "$SSHD"
for t in ed25519 ecdsa rsa; do ssh-keygen -q -t $t -N '' -f "$SSHD/host_$t" || die "ssh-keygen"; done
cat >"$SSHD/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $SSHD/host_ed25519
HostKey $SSHD/host_ecdsa
HostKey $SSHD/host_rsa
PidFile $SSHD/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
mkdir -p /run/sshd
start_bg sshd srv /usr/sbin/sshd -D -e -f "$SSHD/sshd_config"
start_bg smtpd srv python3 -W ignore -m smtpd -n -c DebuggingServer 0.0.0.0:25
for p in 80 443 22 25; do wait_port srv tcp $p 10 || die "the real server does not listen on $p"; done

# ------------------------------------------------------------ shared pools, fluxgated
cat >"$W/pools.conf" <<EOF
pool:
  - id: web4
    prefix: $PFX
EOF
cat >"$W/fluxgate.conf" <<EOF
include: $W/pools.conf
server:
  listen: [ "10.0.1.1@53" ]
  user: nobody
zone:
  - domain: example.test
    soa: { mname: ns1.example.test., rname: hostmaster.example.test. }
    records:
      - "@ NS ns1"
      - "ns1 A 10.0.1.1"
service:
  - id: www
    name: www.example.test
    backend: [ 10.0.2.10 ]
    ports: [ tcp/22, tcp/25, tcp/80, tcp/443 ]
    pool: web4
    ttl: 30s
    pin: 120s
decoy:
  route-via: 10.0.3.10
policy:
  direct: [ 10.0.1.0/24 ]
nat:
  table: fgbench
EOF
start_fluxgated gw "$W/fluxgate.conf"
wait_dns cli 10.0.1.1 example.test 30 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail "$FG_FLUXGATED_LOG")"

# ------------------------------------------------------------ fluxdecoy, cloned from the real server
nsx dcy "$FLUXDECOY" clone --from $REAL --ports tcp/80,tcp/443,tcp/22,tcp/25 --name web -o "$W/web.persona" \
	>"$W/clone.log" 2>&1 || die "clone: $(cat "$W/clone.log")"
head -c 32 /dev/urandom >"$W/shuffle.key"; chmod 0600 "$W/shuffle.key"
cp "$TLS/chain.pem" "$W/dcy-chain.pem"; cp "$TLS/leaf.key" "$W/dcy-leaf.key"
# the decoy's own SSH host keys, of the real sshd's types (never its keys;
# without an RSA key fluxdecoy offers none, and ssh-keyscan tells)
for t in ed25519 ecdsa rsa; do ssh-keygen -q -t $t -N '' -f "$W/dcy_host_$t" || die "ssh-keygen"; done
chown nobody "$W"/dcy_host_* 2>/dev/null
cat >"$W/fluxdecoy.conf" <<EOF
include: $W/pools.conf
decoy:
  user: nobody
  metrics: 127.0.0.1@9561
shuffle:
  epoch: 10m
  key: $W/shuffle.key
persona:
  - id: web
    file: $W/web.persona
    pool: web4
    share: 1
    tls-cert: $W/dcy-chain.pem
    tls-key: $W/dcy-leaf.key
    ssh-host-keys: [$W/dcy_host_ed25519, $W/dcy_host_ecdsa, $W/dcy_host_rsa]
EOF
"$FLUXDECOY" --check -c "$W/fluxdecoy.conf" >/dev/null || die "fluxdecoy config"
start_bg fluxdecoy dcy "$FLUXDECOY" -c "$W/fluxdecoy.conf"; DPID=$BG_PID
wait_port dcy tcp 9561 15 "$DPID" || die "fluxdecoy: $(tail "$W/fluxdecoy.log")"

# ground truth: SYNs from the attacker at the real server and at the bed
for n in srv dcy; do
	nsx $n nft -f - <<'EOF' || die "counters"
table inet fpcount {
	counter atk_syn {}
	chain pre { type filter hook prerouting priority -500; ip saddr 10.0.5.2 tcp flags & (syn|ack) == syn counter name atk_syn; }
}
EOF
done
atk_syns() { nsx "$1" nft list counter inet fpcount atk_syn | grep -oE 'packets [0-9]+' | awk '{print $2}'; }

# ------------------------------------------------------------ fingerprints
# fp NS ADDR: one "feature<TAB>value" line per feature, address and dates masked
fp() {
	local n=$1 a=$2 v
	mask() { sed -E -e "s/$a/ADDR/g" -e 's/^([Dd]ate:).*/\1 MASKED/' | tr -d '\r'; }
	one() { printf '%s\t%s\n' "$1" "$(tr '\n' '|' | sed 's/|$//')"; }
	nsx $n nmap -n -Pn -sV -T4 -p 22,25,80,443,8080 "$a" -oG - 2>/dev/null \
		| sed -n 's/.*Ports: //p' | tr ',' '\n' | sed 's/^ //' | while IFS=/ read -r port state proto _ svc _ ver _; do
			printf 'nmap -sV %s/%s\t%s %s %s\n' "$port" "$proto" "$state" "$svc" "$ver"; done
	nsx $n curl -sS -m 10 -I "http://$a/" 2>&1 | mask | one "curl -sI http"
	nsx $n curl -sS -m 10 --http1.1 -kI "https://$a/" 2>&1 | mask | one "curl --http1.1 -skI https"
	nsx $n curl -sS -m 10 -kI "https://$a/" 2>&1 | mask | one "curl -skI https (h2 offered)"
	nsx $n openssl s_client -alpn h2,http/1.1 -connect "$a:443" </dev/null 2>/dev/null \
		| grep -aE '^(ALPN protocol|No ALPN)' | one "TLS ALPN (client offers h2, http/1.1)"
	# the "New, ..." line, not the session block: whether a TLS 1.3 session
	# ticket arrives before s_client quits on EOF is a race (lighttpd too)
	nsx $n openssl s_client -connect "$a:443" </dev/null 2>/dev/null \
		| grep -aE '^New, ' | one "TLS version and cipher"
	nsx $n curl -sS -m 10 "http://$a/" 2>&1 | mask | one "GET / body"
	nsx $n curl -sS -m 10 -i "http://$a/nothing-here" 2>&1 | mask | one "GET of a missing page"
	nsx $n openssl s_client -showcerts -connect "$a:443" -servername www.example.test </dev/null 2>/dev/null \
		| sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' | sha256sum | cut -c1-16 | one "openssl s_client -showcerts chain"
	nsx $n timeout 15 ssh-keyscan -T 5 "$a" 2>/dev/null | awk '{print $2}' | sort | one "ssh-keyscan key types"
	nsx $n timeout 20 ssh -F /dev/null -vv -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "probe@$a" true 2>&1 \
		| sed -n '/peer server KEXINIT proposal/,/first_kex_follows/p' | sed 's/^debug2: //' | sha256sum | cut -c1-16 \
		| one "ssh -vv server KEX proposal"
	nsx $n timeout 10 python3 -c '
import socket,sys
s=socket.create_connection((sys.argv[1],22),5); print(s.recv(256).split(b"\r\n")[0].decode())' "$a" 2>&1 | one "SSH banner"
	nsx $n timeout 15 python3 -c '
import smtplib,sys
s=smtplib.SMTP(timeout=10); c,m=s.connect(sys.argv[1],25); print(c,m.decode())
c,m=s.ehlo("probe.example"); print(c,m.decode()); s.quit()' "$a" 2>&1 | mask | one "SMTP greeting and EHLO"
}

log "granted client: fingerprinting the real service through DNS and a grant"
G=$(nsx cli dig +short @10.0.1.1 www.example.test A | head -1)
[ -n "$G" ] || die "no DNS answer"
fp cli "$G" >"$W/fp.real"
log "attacker: fingerprinting every address of $PFX"
# four addresses at a time (each fingerprint waits mostly on timeouts)
PAR=${PAR:-4}
# (wait on these PIDs only: a bare wait would wait for the daemons too)
N=0 batch=()
for i in $(seq 0 63); do
	a=198.51.100.$i
	fp atk "$a" | sed "s/^/$a\t/" >"$W/fp.decoy.$i" &
	batch+=($!)
	N=$((N + 1))
	if [ ${#batch[@]} -ge "$PAR" ]; then wait "${batch[@]}"; batch=(); fi
done
[ ${#batch[@]} -gt 0 ] && wait "${batch[@]}"
cat "$W"/fp.decoy.* >"$W/fp.decoys"
syn_real=$(atk_syns srv); syn_bed=$(atk_syns dcy)

# ------------------------------------------------------------ the table
table=$(python3 - "$W/fp.real" "$W/fp.decoys" "$N" "$syn_real" "$syn_bed" <<'EOF'
import sys
real = dict(l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]) if "\t" in l)
dec = {}
for l in open(sys.argv[2]):
    a, f, v = l.rstrip("\n").split("\t", 2)
    dec.setdefault(f, {})[a] = v
n = int(sys.argv[3])
print("| feature | real server (granted client) | pool addresses that differ (attacker) |")
print("|---|---|---|")
bad = 0
for f in real:
    d = dec.get(f, {})
    diff = sum(1 for a in d if d[a] != real[f]) + (n - len(d))
    bad += diff > 0
    v = real[f].replace("|", " / ")
    if len(v) > 70: v = v[:67] + "..."
    print("| %s | `%s` | %d of %d |" % (f, v, diff, n))
print()
print("Features in which some decoy differs from the real server: **%d of %d**." % (bad, len(real)))
print("Attacker SYNs at the real server: %s (at the decoy bed: %s): time to first real hit **%s**." %
      (sys.argv[4], sys.argv[5], "never" if sys.argv[4] == "0" else "REACHED"))
EOF
)
printf '%s\n' "$table"
[ -n "${OUT:-}" ] && printf '%s\n' "$table" >>"$OUT"
stop_pid "$DPID" 10
stop_fluxgated "fluxgated stops"
finish
