#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy's shuffle (DESIR) and universes (Potemkin), seen with real
# tools from outside:
#
#   cli 10.0.3.1 and 10.0.3.2 (two attackers), the pool routed to dcy
#   dcy 10.0.3.10: fluxdecoy owning 198.51.100.0/26 by a local route
#
# The pool comes from a shared pool file (include:), the one fluxgated
# would read. Two personas share it: "web" (HTTP on 80 and SSH on 22) on
# half the addresses, "ssh-only" (SSH alone) on a quarter, the rest left
# closed. nmap -sT of the pool gives each address's open ports: the counts
# must be exact, a port the address's persona does not serve must be
# "closed" (the kernel's RST), curl -sI and the SSH banner must be the
# persona's. The same source sees the same map again within the epoch;
# SIGUSR1 forces a shuffle: the map changes on at least a quarter of the
# addresses (the ssh-only share; the expected change is 62.5%, and a change
# under 25% of 64 addresses has a probability below 1e-9), the counts stay.
# EVE flow_start events carry the universe: one per source and epoch.
# --check reports errors of the included file as file:line, and refuses a
# shuffle key others can read. Under VALGRIND=1 fluxdecoy runs in memcheck.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip curl nmap python3
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
W=$FG_WORK
has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}

ns_add cli dcy
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx cli ip addr add 10.0.3.2/24 dev e1
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/26 dev lo

# ------------------------------------------------------------ config
SSHV='SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'
KEX='    kex-algorithms: [curve25519-sha256, ext-info-s]
    host-key-algorithms: [ssh-ed25519]
    ciphers-c2s: [aes128-ctr]
    ciphers-s2c: [aes128-ctr]
    macs-c2s: [hmac-sha2-256]
    macs-s2c: [hmac-sha2-256]
    compression-c2s: [none]
    compression-s2c: [none]'
cat >"$W/web.persona" <<EOF
persona:
  name: web
service:
  - port: 80
    kind: http
    response-get: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: lighttpd/1.4.69\r\n\r\nok"
  - port: 22
    kind: ssh
    ssh-version: "$SSHV"
$KEX
EOF
cat >"$W/ssh.persona" <<EOF
persona:
  name: ssh-only
service:
  - port: 22
    kind: ssh
    ssh-version: "$SSHV"
$KEX
EOF
cat >"$W/pools.conf" <<EOF
# shared with fluxgated (include: in both configs)
pool:
  - id: web4
    prefix: 198.51.100.0/26
EOF
head -c 32 /dev/urandom >"$W/shuffle.key"; chmod 0600 "$W/shuffle.key"
DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF
include: $W/pools.conf
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
shuffle:
  epoch: 1h
  key: $W/shuffle.key
persona:
  - id: web
    file: $W/web.persona
    pool: web4
    share: 0.5
  - id: ssh-only
    file: $W/ssh.persona
    pool: web4
    share: 0.25
EOF
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1)
assert_eq "fluxdecoy --check accepts the shuffled config with its include" "0" "$?"

# --check: an error in the included file is reported there, with its line
printf 'pool:\n  - id: web4\n    prefix: 198.51.100.0/26\n  - id: web4\n    prefix: 198.51.100.64/33\n' >"$W/bad-pools.conf"
sed "s#$W/pools.conf#$W/bad-pools.conf#" "$DCONF" >"$W/bad.conf"
printf '  - id: more\n    file: %s\n    pool: [web4, nosuch]\n    share: 0.5\n' "$W/ssh.persona" >>"$W/bad.conf"
out=$("$FLUXDECOY" --check -c "$W/bad.conf" 2>&1); rc=$?
assert_eq "--check rejects the bad include (exit 1)" "1" "$rc"
has_line "include error: file:line of the included file" "^$W/bad-pools.conf:5: pool 'web4': prefix: invalid prefix length" "$out"
has_line "include error: duplicate id in the included file" "^$W/bad-pools.conf:4: pool 'web4': id already used" "$out"
has_line "undefined pool named at the persona's line" "^$W/bad.conf:[0-9]+: persona 'more': pool 'nosuch' is not defined" "$out"
has_line "shares over 1 refused" "pool 'web4': the shares of its personas sum to 1.25, more than 1" "$out"
printf 'include: %s\npool:\n  - id: x\n    prefix: 10.9.0.0/24\n' "$W/pools.conf" >"$W/nested.conf"
printf 'include: %s\n' "$W/nested.conf" >"$W/nest-main.conf"
cat "$DCONF" | grep -v '^include' >>"$W/nest-main.conf"
out=$("$FLUXDECOY" --check -c "$W/nest-main.conf" 2>&1)
has_line "an included file cannot include" "^$W/nested.conf:1: include: an included file cannot include another" "$out"
chmod 0644 "$W/shuffle.key"
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1); rc=$?
assert_eq "--check refuses a shuffle key others can read (exit 1)" "1" "$rc"
has_line "... naming the fix" "shuffle.key $W/shuffle.key: mode 0644 lets group or others read it \\(chmod 0600\\)" "$out"
chmod 0600 "$W/shuffle.key"
# fluxgated reads the same pool file
cat >"$W/fluxgate.conf" <<EOF
include: $W/pools.conf
server:
  listen: 127.0.0.1@5353
zone:
  - domain: example.test
    soa: { mname: ns1, rname: hostmaster }
service:
  - id: www
    name: www.example.test
    backend: 10.0.2.10@80
    pool: web4
EOF
out=$("$FLUXGATED" --check -c "$W/fluxgate.conf" 2>&1)
assert_eq "fluxgated --check accepts the same include" "0" "$?"
sed "s#$W/pools.conf#$W/bad-pools.conf#" "$W/fluxgate.conf" >"$W/fluxgate-bad.conf"
out=$("$FLUXGATED" --check -c "$W/fluxgate-bad.conf" 2>&1)
has_line "fluxgated --check: error at the included file's line" "^$W/bad-pools.conf:5: pool 'web4': prefix: invalid prefix length" "$out"
has_line "fluxgated --check: duplicate pool id in the include" "^$W/bad-pools.conf:4: pool 'web4'.*duplicate id" "$out"

# ------------------------------------------------------------ run
if [ "$VALGRIND" = 1 ]; then
	start_bg fluxdecoy dcy valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--log-file="$W/fluxdecoy.valgrind.log" "$FLUXDECOY" -c "$DCONF"
	T=120
else
	start_bg fluxdecoy dcy "$FLUXDECOY" -c "$DCONF"
	T=15
fi
DPID=$BG_PID
wait_port dcy tcp 9561 $T "$DPID" || { fail "fluxdecoy metrics listen" "$(tail "$W/fluxdecoy.log")"; finish; }
metrics() { nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics; }
M=$(metrics)
has_line "first deal in effect" '^fluxdecoy_shuffles_total 1$' "$M"
has_line "32 addresses show web" '^fluxdecoy_pool_addresses\{pool="web4",persona="web"\} 32$' "$M"
has_line "16 addresses show ssh-only" '^fluxdecoy_pool_addresses\{pool="web4",persona="ssh-only"\} 16$' "$M"
has_line "16 addresses closed" '^fluxdecoy_pool_addresses\{pool="web4",persona="closed"\} 16$' "$M"

# map ADDR -> web | ssh-only | closed | other:<ports> from nmap -sT
scan() { # scan SRC
	nsx cli nmap -n -Pn -sT -T4 --max-retries 2 -S "$1" -e e1 -p 22,80 198.51.100.0/26 -oG - 2>/dev/null \
		| sed -n 's/^Host: \([0-9.]*\) .*Ports: \(.*\)$/\1 \2/p' \
		| while read -r a ports; do
			case $ports in
			*22/open/*80/open/*) echo "$a web" ;;
			*22/open/*80/closed/*) echo "$a ssh-only" ;;
			*22/closed/*80/closed/*) echo "$a closed" ;;
			*) echo "$a other:$ports" ;;
			esac
		done | sort -t. -k4 -n
}
S1=$(scan 10.0.3.1)
assert_eq "nmap sees 64 addresses" "64" "$(grep -c . <<<"$S1")"
assert_eq "nmap: 32 web (80 and 22 open)" "32" "$(grep -c ' web$' <<<"$S1")"
assert_eq "nmap: 16 ssh-only (22 open, 80 closed: the kernel's RST)" "16" "$(grep -c ' ssh-only$' <<<"$S1")"
assert_eq "nmap: 16 closed (every port closed, not filtered)" "16" "$(grep -c ' closed$' <<<"$S1")"
assert_eq "nmap: no address shows anything else" "0" "$(grep -c ' other:' <<<"$S1")"
# the real tools agree with nmap on a web and an ssh-only address
aw=$(awk '$2=="web"{print $1; exit}' <<<"$S1"); as=$(awk '$2=="ssh-only"{print $1; exit}' <<<"$S1")
has_line "curl -sI of a web address: the persona's Server header" '^Server: lighttpd/1.4.69' \
	"$(nsx cli curl -sS -m 10 -I "http://$aw/" | tr -d '\r')"
nsx cli curl -sS -m 10 -I "http://$as/" >/dev/null 2>&1; rc=$?
assert_eq "curl of an ssh-only address: connection refused (exit 7)" "7" "$rc"
banner() { nsx cli timeout 10 python3 -c '
import socket,sys
s=socket.create_connection((sys.argv[1],22),5); print(s.recv(256).split(b"\r\n")[0].decode())' "$1" 2>/dev/null; }
assert_eq "the ssh-only address greets as the real sshd" "$SSHV" "$(banner "$as")"
# consistency: the same source sees the same world again within the epoch
S1b=$(scan 10.0.3.1)
assert_eq "same source, same epoch: the same map (Potemkin)" "$S1" "$S1b"
S2=$(scan 10.0.3.2)
assert_eq "another source in this epoch sees the deal of the epoch" "$S1" "$S2"

# ------------------------------------------------------------ forced shuffle
kill -USR1 "$DPID"
for i in $(seq $((T * 10))); do
	grep -q '^fluxdecoy_shuffles_total 2$' <<<"$(metrics)" && break; sleep 0.1
done
M=$(metrics)
has_line "SIGUSR1: a second deal took effect" '^fluxdecoy_shuffles_total 2$' "$M"
S3=$(scan 10.0.3.1)
changed=$(join <(sort <<<"$S1") <(sort <<<"$S3") | awk '$2!=$3' | wc -l)
log "shuffle changed the persona of $changed of 64 addresses"
if [ "$changed" -ge 16 ]; then ok "shuffle: at least the ssh-only share (16/64) changed persona ($changed)"
else fail "shuffle: at least 16 of 64 addresses change persona" "changed $changed"; fi
assert_eq "after the shuffle: still 32 web" "32" "$(grep -c ' web$' <<<"$S3")"
assert_eq "after the shuffle: still 16 ssh-only" "16" "$(grep -c ' ssh-only$' <<<"$S3")"
ov=$(sed -n 's/^fluxdecoy_shuffle_overlap{pool="web4"} //p' <<<"$M")
exp=$(awk -v c="$changed" 'BEGIN{printf "%.4f", (64 - c) / 64}')
assert_eq "the overlap metric is what nmap measured" "$exp" "$ov"
# the shuffle's metrics are in fluxdecoy(8), and those there are exported
for m in $(grep -o '^\.B fluxdecoy_\(shuffle\|pool\)[a-z_]*' "$FG_REPO/doc/fluxdecoy.8" | cut -c4- | sort -u); do
	grep -q "^$m" <<<"$M" || extra="${extra:-} $m"
done
assert_eq "every shuffle metric of fluxdecoy(8) is exported" "" "${extra:-}"
undoc=""
for m in $(grep -o '^fluxdecoy_\(shuffle\|pool\)[a-z_]*' <<<"$M" | sort -u); do
	grep -q "^\.B $m\b" "$FG_REPO/doc/fluxdecoy.8" || undoc="$undoc $m"
done
assert_eq "every shuffle metric exported is documented in fluxdecoy(8)" "" "$undoc"
# a blacklist of the ssh-only addresses of the first epoch
bl=$(awk '$2=="ssh-only"{print $1}' <<<"$S1")
hits=$(grep -c -F -x -f <(printf '%s\n' "$bl") <(awk '$2=="ssh-only"{print $1}' <<<"$S3"))
log "a blacklist of the 16 ssh-only addresses still hits $hits of them after the shuffle"

# ------------------------------------------------------------ universes in events
universes() {
	python3 - "$W/eve.json" <<'EOF'
import json,sys
seen={}
for l in open(sys.argv[1]):
    if not l.endswith("\n"):
        break                       # a line still being written
    e=json.loads(l); d=e.get("decoy",{})
    if d.get("event")=="flow_start" and "universe" in d:
        seen.setdefault((e["src_ip"], d["epoch"], d["generation"]), set()).add(d["universe"])
srcs={}
for (s,ep,g),u in seen.items(): srcs.setdefault(s,[]).append(len(u))
print("keys=%d one-per-key=%s srcs=%s" % (len(seen), all(len(u)==1 for u in seen.values()),
      ",".join(sorted(srcs))))
us=[next(iter(u)) for u in seen.values()]
# a slow daemon may accept a flow the kernel completed before the shuffle
# after it (then it counts in the next generation): count keys, not runs
print("distinct-per-key=%s keys-ge-3=%s" % (len(set(us)) == len(seen), len(seen) >= 3))
EOF
}
# the events are written asynchronously: wait (bounded) until the scans'
# flow_starts are in (the keys and sources only grow; one universe per key
# can only be broken by more events), then judge the file
wait_output 30 universes -- 'one-per-key=True srcs=10.0.3.1,10.0.3.2' '^distinct-per-key=True keys-ge-3=True$'
U=$(universes)
has_line "EVE flow_start: one universe per (source, epoch, generation)" 'one-per-key=True srcs=10.0.3.1,10.0.3.2' "$U"
has_line "EVE flow_start: two sources in one epoch, and a source across the shuffle, are distinct universes" '^distinct-per-key=True keys-ge-3=True$' "$U"

# ------------------------------------------------------------ stop
stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
