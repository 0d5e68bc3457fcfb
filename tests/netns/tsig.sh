#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# TSIG on queries (RFC 8945), key-based policy and private services, with
# the real kernel, kdig -y, faketime and a real BIND 9 resolver that
# forwards the zone to fluxgated signed with its key.
#
#   cli 10.67.4.2  --- gw 10.67.4.1 (fluxgated, nft) --- srv 10.67.2.10 (real)
#   res 10.67.5.53 --- gw 10.67.5.1                  --- dcy 10.67.3.10 (decoys,
#   (named, forwards example.test with key res-key)        owns 198.51.100.0/24)
#   bcl 10.67.6.2  --- res 10.67.6.53 (a client behind BIND, routed via res)
#
# Keys: cli-key (hmac-sha512, role client), res-key (hmac-sha256, role
# resolver), spare-key (defined, no role); the first two in root-only
# secret files (key.secret-file), checked unreadable by the service user;
# a rewritten file applies on a reload (the [priv] process reads it), a
# file readable by others is refused. Services: www (public),
# priv (private, unauthenticated: nxdomain), privd (private, decoy).
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl nft python3 ss named faketime pgrep setpriv

if [ "$VALGRIND" = 1 ]; then DNS_T=8; DNS_WAIT=120; else DNS_T=3; DNS_WAIT=30; fi

CLI_KEY=hmac-sha512:cli-key:Y2xpZW50LWtleS1mb3ItZmx1eGdhdGUtdHNpZy1uZXRucy10ZXN0LXNoYTUxMi0wMDAwMDAwMDAwMDAwMDAw
RES_SECRET=cmVzb2x2ZXIta2V5LWZvci1mbHV4Z2F0ZS10c2lnLXRlc3Q=
SPARE_SECRET=c3BhcmUta2V5LWZvci1mbHV4Z2F0ZS10c2lnLXRlc3QhIQ==
WRONG_SECRET=d3Jvbmctc2VjcmV0LWZvci10aGUtY2xpZW50LWtleS1vZi1mbHV4Z2F0ZS10c2lnLXRlc3QtMDAwMDAwMA==

# ------------------------------------------------------------ topology
ns_add cli res bcl gw srv dcy
veth_link cli eth0 "10.67.4.2/24" gw c0 "10.67.4.1/24"
veth_link res eth0 "10.67.5.53/24" gw r0 "10.67.5.1/24"
veth_link bcl eth0 "10.67.6.2/24" res b0 "10.67.6.53/24"
veth_link srv eth0 "10.67.2.10/24" gw s0 "10.67.2.1/24"
veth_link dcy eth0 "10.67.3.10/24" gw d0 "10.67.3.1/24"
nsx cli ip route add default via 10.67.4.1
nsx res ip route add default via 10.67.5.1
nsx bcl ip route add default via 10.67.6.53
nsx srv ip route add default via 10.67.2.1
nsx dcy ip route add default via 10.67.3.1
nsx gw ip route add 10.67.6.0/24 via 10.67.5.53
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx res sysctl -qw net.ipv4.ip_forward=1 || die "resolver sysctls"
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default c0 r0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "cannot set nf_conntrack_tcp_loose=0"

# ------------------------------------------------------------ peers
web() { # web NS BODY: an HTTP server on port 80 answering BODY
	mkdir -p "$FG_WORK/$1"
	echo "$2" >"$FG_WORK/$1/index.html"
	start_bg "http-$1" "$1" python3 -m http.server 80 --bind 0.0.0.0 --directory "$FG_WORK/$1"
}
web srv real; SRV_PID=$BG_PID
web dcy decoy; DCY_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
chmod o+x "$FG_WORK"
# cli-key and res-key are in root-only secret files (the base64 alone, and
# the stanza tsig-keygen prints); the directory lets the DNS process stat
# them on a reload, never read them
SECRETS="$FG_WORK/secrets"
mkdir -p "$SECRETS"; chmod 711 "$SECRETS"
printf '%s\n' "${CLI_KEY##*:}" >"$SECRETS/cli-key"
printf 'key "res-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$RES_SECRET" \
	>"$SECRETS/res-key"
chmod 600 "$SECRETS/cli-key" "$SECRETS/res-key"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgts$$"
cat >"$CONF" <<EOF
server:
  listen: [ "10.67.4.1@53", "10.67.5.1@53" ]
  user: nobody
  workers: 2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.67.4.1"
key:
  - id: cli-key
    algorithm: hmac-sha512
    secret-file: $SECRETS/cli-key
  - id: res-key
    algorithm: hmac-sha256
    secret-file: $SECRETS/res-key
  - id: spare-key
    algorithm: hmac-sha256
    secret: $SPARE_SECRET
pool:
  - id: web4
    prefix: 198.51.100.0/26
  - id: priv4
    prefix: 198.51.100.64/26
  - id: privd4
    prefix: 198.51.100.128/26
service:
  - id: www
    name: www.example.test
    backend: [ 10.67.2.10 ]
    ports: [ tcp/80 ]
    pool: [ web4 ]
    ttl: 30s
  - id: priv
    name: priv.example.test
    backend: [ 10.67.2.10 ]
    ports: [ tcp/80 ]
    pool: [ priv4 ]
    ttl: 30s
    access: private
  - id: privd
    name: privd.example.test
    backend: [ 10.67.2.10 ]
    ports: [ tcp/80 ]
    pool: [ privd4 ]
    ttl: 30s
    access: private
    unauthenticated: decoy
policy:
  direct: [ 10.67.4.0/24 ]
  resolvers: [ 192.0.2.53/32 ]    # not res: only its key makes it a resolver
  keys:
    - { key: cli-key, role: client }
    - { key: res-key, role: resolver }
decoy:
  route-via: 10.67.3.10
nat:
  backend: nft
  table: $TABLE
control:
  socket: $CTL
metrics:
  listen: 10.67.4.1@9153
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

# --check names a key that policy.keys uses but nobody defined, and a bad secret
BAD="$FG_WORK/bad.conf"
sed -e 's/{ key: res-key, role: resolver }/{ key: nokey, role: resolver }/' \
    -e "s|secret: $SPARE_SECRET|secret: not*base64|" "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check refuses an undefined policy key and a bad secret" 1 "$rc"
assert_match "--check: file:line for the undefined key" "bad\.conf:[0-9]+: policy\.keys: key 'nokey' is not defined" "$out"
assert_match "--check: file:line for the bad secret" "bad\.conf:[0-9]+: .*invalid TSIG secret" "$out"
assert_nomatch "--check never echoes a secret" 'not\*base64' "$out"
# a secret file others may read is refused, naming it and its mode
cp -p "$SECRETS/cli-key" "$SECRETS/loose"; chmod 644 "$SECRETS/loose"
sed "s|secret-file: $SECRETS/cli-key|secret-file: $SECRETS/loose|" "$CONF" >"$BAD"
out=$("$FLUXGATED" --check -c "$BAD" 2>&1); rc=$?
assert_eq "--check refuses a world-readable secret file" 1 "$rc"
assert_match "--check: the loose secret file and its mode named" \
	"bad\.conf:[0-9]+: key 'cli-key': secret-file $SECRETS/loose: mode 644: readable or writable by group or others" "$out"
assert_nomatch "--check never echoes the file's secret" "${CLI_KEY##*:}" "$out"
rm -f "$SECRETS/loose"

start_fluxgated gw "$CONF"
if ! wait_dns cli 10.67.4.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
ok "fluxgated answers on 10.67.4.1"
wait_port srv tcp 80 60 "$SRV_PID" || { fail "real server listens"; finish; }
wait_port dcy tcp 80 60 "$DCY_PID" || { fail "decoy listens"; finish; }

kq() { # kq NS ARGS...: kdig at fluxgated
	local n=$1; shift
	nsx "$n" kdig +retry=1 +timeout="$DNS_T" "$@" 2>&1
}
addr_of() { awk -v n="$1" '$1 == n && $4 == "A" {print $5}' | head -n 1; }
grants() { nsx gw nft list table inet "$TABLE" 2>&1; }
body() { nsx "$1" curl -s -m 5 "http://$2/" 2>/dev/null; }

# ------------------------------------------------------------ kdig -y
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" www.example.test A)
assert_match "signed query: NOERROR" 'status: NOERROR' "$out"
assert_match "signed query: the answer is signed (kdig verified it)" 'TSIG PSEUDOSECTION' "$out"
assert_nomatch "signed query: kdig reports no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"
a=$(addr_of www.example.test. <<<"$out")
assert_match "signed query: a pool address" '^198\.51\.100\.' "$a"
assert_match "client key: an exact grant for the asker" "10\.67\.4\.2 \. $a " "$(grants)"

out=$(kq cli @10.67.4.1 +tcp -y "$CLI_KEY" www.example.test A)
assert_match "signed query over TCP: NOERROR" 'status: NOERROR' "$out"
assert_match "signed query over TCP: signed" 'TSIG PSEUDOSECTION' "$out"
assert_nomatch "signed query over TCP: no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"

out=$(kq cli @10.67.4.1 -y hmac-sha256:unknown-key:$SPARE_SECRET www.example.test A)
# kdig shows the TSIG error as the status; the error answer is unsigned
assert_match "unknown key: TSIG error BADKEY" 'status: BADKEY' "$out"
assert_match "unknown key: the error answer is unsigned (empty MAC)" 'TSIG[[:space:]]+hmac-sha256\. [0-9]+ 300 0 [0-9]+ BADKEY' "$out"
out=$(nsx cli dig +tries=1 +time="$DNS_T" @10.67.4.1 -y hmac-sha256:unknown-key:$SPARE_SECRET www.example.test A 2>&1)
assert_match "unknown key (dig): rcode NOTAUTH" 'status: NOTAUTH' "$out"
assert_nomatch "unknown key: no address" 'IN[[:space:]]+A[[:space:]]+198\.51' "$out"

out=$(kq cli @10.67.4.1 -y "hmac-sha512:cli-key:$WRONG_SECRET" www.example.test A)
assert_match "wrong secret: TSIG error BADSIG" 'status: BADSIG' "$out"
assert_match "wrong secret: the error answer is unsigned" 'TSIG[[:space:]]+hmac-sha512\. [0-9]+ 300 0 [0-9]+ BADSIG' "$out"

out=$(nsx cli faketime -f "-1h" kdig +retry=1 +timeout="$DNS_T" @10.67.4.1 -y "$CLI_KEY" www.example.test A 2>&1)
assert_match "clock 1 h behind: TSIG error BADTIME" 'status: BADTIME' "$out"
# signed, with the query's time signed and our clock in Other Data
assert_match "clock 1 h behind: signed, our time in Other Data" 'TSIG[[:space:]]+hmac-sha512\. [0-9]+ 300 64 [^ ]+ [0-9]+ BADTIME 6 [0-9]+' "$out"

# an RFC 2136 UPDATE signed by knsupdate: not served (NOTIMP), but the
# refusal is signed and knsupdate verifies it
out=$(printf 'server 10.67.4.1\nzone example.test.\nupdate add x.example.test. 60 A 192.0.2.1\nsend\n' |
	nsx cli timeout 20 knsupdate -t "$DNS_T" -r 1 -y "$CLI_KEY" 2>&1)
echo "$out" >"$FG_WORK/knsupdate.out"
assert_match "signed UPDATE: refused NOTIMP" 'NOTIMP' "$out"
assert_match "signed UPDATE: the refusal is signed" 'TSIG[[:space:]]+hmac-sha512\. [0-9]+ 300 64 .* NOERROR 0' "$out"
assert_nomatch "signed UPDATE: knsupdate verifies it" 'BADSIG|BADKEY|BADTIME|verif|WARNING' "$out"

# ------------------------------------------------------------ private services
out=$(kq cli @10.67.4.1 priv.example.test A)
assert_match "private, no key: NXDOMAIN" 'status: NXDOMAIN' "$out"
assert_nomatch "private, no key: no address" 'IN[[:space:]]+A[[:space:]]+198\.51' "$out"
out=$(kq cli @10.67.4.1 -y "hmac-sha256:spare-key:$SPARE_SECRET" priv.example.test A)
assert_match "private, a key without a role: NXDOMAIN" 'status: NXDOMAIN' "$out"
assert_match "private, a key without a role: the answer is signed" 'TSIG PSEUDOSECTION' "$out"
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" priv.example.test A)
pa=$(addr_of priv.example.test. <<<"$out")
assert_match "private, client key: the address" '^198\.51\.100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])$' "$pa"
assert_eq "private, client key: the real server behind it" real "$(body cli "$pa")"

out=$(kq cli @10.67.4.1 privd.example.test A)
assert_match "private decoy, no key: an ordinary NOERROR" 'status: NOERROR' "$out"
da=$(addr_of privd.example.test. <<<"$out")
assert_match "private decoy, no key: an address of its pool" '^198\.51\.100\.(1[3-8][0-9]|19[01])$' "$da"
if [ -n "$da" ]; then
	assert_nomatch "private decoy: the address is in no grant map" "[ .]$da[ ,]" "$(grants)"
	assert_eq "private decoy: a connection to it reaches a decoy" decoy "$(body cli "$da")"
fi
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" privd.example.test A)
ka=$(addr_of privd.example.test. <<<"$out")
assert_eq "private decoy, client key: the real server" real "$(body cli "$ka")"

# ------------------------------------------------------------ BIND 9 resolver
mkdir -p "$FG_WORK/named"
cat >"$FG_WORK/named/named.conf" <<EOF
options {
	directory "$FG_WORK/named";
	pid-file "$FG_WORK/named/named.pid";
	listen-on port 53 { 10.67.6.53; };
	listen-on-v6 { none; };
	query-source address 10.67.5.53;
	recursion yes;
	allow-query { any; };
	allow-recursion { any; };
	dnssec-validation no;
	max-cache-ttl 1;
};
key "res-key" { algorithm hmac-sha256; secret "$RES_SECRET"; };
server 10.67.5.1 { keys { res-key; }; };
zone "example.test" { type forward; forward only; forwarders { 10.67.5.1; }; };
EOF
start_bg named res named -g -n 1 -c "$FG_WORK/named/named.conf"; NAMED_PID=$BG_PID
wait_port res udp 53 30 "$NAMED_PID" || { fail "named listens" "$(tail -n 20 "$FG_WORK/named.log")"; finish; }
ok "BIND 9 resolver up"

ba=""
for i in $(seq 1 20); do
	out=$(kq bcl @10.67.6.53 www.example.test A)
	ba=$(addr_of www.example.test. <<<"$out")
	[ -n "$ba" ] && break
	sleep 0.5
done
assert_match "behind BIND: an address through the signed forward" '^198\.51\.100\.' "$ba"
assert_match "resolver key: an anyone grant (as policy.resolvers gives)" "[{,] $ba timeout" \
	"$(nsx gw nft list map inet "$TABLE" grant_any4 2>&1)"
assert_eq "behind BIND: the client reaches the real server" real "$(body bcl "$ba")"
out=$(kq bcl @10.67.6.53 priv.example.test A)
pb=$(addr_of priv.example.test. <<<"$out")
assert_match "behind BIND: the private service, by the resolver key" '^198\.51\.100\.' "$pb"
assert_eq "behind BIND: the private service reaches the real server" real "$(body bcl "$pb")"

# the same source without the key is only a client: an exact grant
out=$(kq res @10.67.5.1 www.example.test A)
ra=$(addr_of www.example.test. <<<"$out")
assert_match "the resolver's address without its key: an exact grant" "10\.67\.5\.53 \. $ra " "$(grants)"
out=$(kq res @10.67.5.1 priv.example.test A)
assert_match "the resolver's address without its key: no private service" 'status: NXDOMAIN' "$out"

# ------------------------------------------------------------ metrics
m=$(nsx cli curl -s -m 5 http://10.67.4.1:9153/metrics)
for r in ok badkey badsig badtime; do
	v=$(awk -v k="fluxgate_tsig_queries_total{result=\"$r\"}" '$1 == k {print $2}' <<<"$m")
	if [ -n "$v" ] && [ "$v" -ge 1 ]; then ok "metric tsig_queries_total{result=$r} = $v"
	else fail "metric tsig_queries_total{result=$r} counts" "$(grep tsig <<<"$m")"; fi
done
for r in nxdomain decoy; do
	v=$(awk -v k="fluxgate_tsig_private_denied_total{answer=\"$r\"}" '$1 == k {print $2}' <<<"$m")
	if [ -n "$v" ] && [ "$v" -ge 1 ]; then ok "metric tsig_private_denied_total{answer=$r} = $v"
	else fail "metric tsig_private_denied_total{answer=$r} counts" "$(grep tsig <<<"$m")"; fi
done

# ------------------------------------------------------------ secret files
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
dns=$(pgrep -P "$FG_FLUXGATED_PID" | head -n 1)
assert_eq "the DNS process runs as nobody" 65534 "$(awk '/^Uid/ {print $2}' /proc/"$dns"/status 2>/dev/null)"
check "the service user cannot read the secret files" \
	bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$SECRETS/cli-key' '$SECRETS/res-key' 2>/dev/null"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload with secret files under privilege separation: accepted" 0 "$rc"
[ $rc -eq 0 ] || log "$out"
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" www.example.test A)
assert_match "after the reload: the file's key still verifies" 'status: NOERROR' "$out"
assert_nomatch "after the reload: no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"
# a rewritten file: the DNS process cannot read it, the [priv] process
# reads it for the reload (PS_KEYS) and the new secret applies at once
printf '%s\n' "$SPARE_SECRET" >"$SECRETS/cli-key.new"; chmod 600 "$SECRETS/cli-key.new"
mv "$SECRETS/cli-key" "$SECRETS/cli-key.old"; mv "$SECRETS/cli-key.new" "$SECRETS/cli-key"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload after the secret file was rewritten: accepted (no restart)" 0 "$rc"
[ $rc -eq 0 ] || log "$out $(tail -n 5 "$FG_FLUXGATED_LOG")"
assert_match "... the privileged process read the secret files" \
	'privsep: files for a reload: [0-9]+ included, 2 TSIG secret file\(s\)' "$(cat "$FG_FLUXGATED_LOG")"
NEW_KEY="${CLI_KEY%:*}:$SPARE_SECRET"
out=$(kq cli @10.67.4.1 -y "$NEW_KEY" www.example.test A)
assert_match "... the new secret verifies" 'status: NOERROR' "$out"
assert_nomatch "... with no TSIG problem" 'failed|BADSIG|BADKEY|BADTIME|WARNING' "$out"
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" www.example.test A)
assert_match "... the old secret no longer does (BADSIG)" 'BADSIG|NOTAUTH' "$out"
assert_nomatch "... the log never shows a secret" "${CLI_KEY##*:}|$SPARE_SECRET|$RES_SECRET" \
	"$(cat "$FG_FLUXGATED_LOG")"
# a file [priv] refuses (readable by others) is refused by the reload,
# which names it; the running secret stays
chmod 644 "$SECRETS/cli-key"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "reload with a secret file readable by others: refused" 1 "$rc"
assert_match "... the log names the file and its mode" \
	"key 'cli-key': secret-file $SECRETS/cli-key: .*(mode|group or others)" "$(cat "$FG_FLUXGATED_LOG")"
out=$(kq cli @10.67.4.1 -y "$NEW_KEY" www.example.test A)
assert_match "... the running configuration keeps the new secret" 'status: NOERROR' "$out"
chmod 600 "$SECRETS/cli-key"
mv "$SECRETS/cli-key.old" "$SECRETS/cli-key"
out=$("$FLUXCTL" -s "$CTL" reload 2>&1); rc=$?
assert_eq "the original file back: reload accepted again" 0 "$rc"
out=$(kq cli @10.67.4.1 -y "$CLI_KEY" www.example.test A)
assert_match "... and the original secret verifies again" 'status: NOERROR' "$out"

stop_bg "$NAMED_PID"
fluxgated_alive "fluxgated still runs"
finish
