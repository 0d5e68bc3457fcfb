#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Online signing side by side with Knot's mod-onlinesign: the same zone and
# the same key (a CSK made by `fluxctl dnssec keygen`, imported into Knot
# with `keymgr import-bind`), judged by two unbound validators with the one
# trust anchor `fluxctl dnssec ds` prints. Both must validate every kind of
# answer (AD); then the answers of both servers to the same queries are
# printed side by side (dnssec_knot_cmp.py) and every difference must be
# one of the deliberate ones listed in dnssec_knot_cmp.py (RRSIG times and
# signature bytes aside, which differ by nature: ECDSA signatures are
# randomised).
#
#   cli 10.57.0.2, .3 (unbound -> fluxgated) ---- fg   10.57.0.1 (fluxgated)
#   cli 10.57.1.2, .3 (unbound -> knotd)     ---- knot 10.57.1.1 (knotd)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

need_root
need_cmd ip kdig dig unbound knotd keymgr python3 ss
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
if [ "$VALGRIND" = 1 ]; then DNS_WAIT=120; else DNS_WAIT=30; fi

FG=10.57.0.1
KN=10.57.1.1
UFG=10.57.0.3
UKN=10.57.1.3

# ------------------------------------------------------------ the key
KEYS="$FG_WORK/keys"
mkdir -p "$KEYS"
chmod o+x "$FG_WORK"; chmod 755 "$KEYS"
csk=$("$FLUXCTL" dnssec keygen example.test --dir "$KEYS"); rc=$?
assert_eq "fluxctl dnssec keygen (CSK) exits 0" 0 "$rc"
tag=$((10#${csk##*+}))
DS=$("$FLUXCTL" dnssec ds example.test --dir "$KEYS")

# ------------------------------------------------------------ topology
ns_add cli fg knot
veth_link cli f0 10.57.0.2/24 fg eth0 $FG/24
veth_link cli k0 10.57.1.2/24 knot eth0 $KN/24
addr_add cli f0 $UFG/24
addr_add cli k0 $UKN/24

# one record list for both servers
RECORDS=(
	"@ NS ns1"
	"ns1 A 10.57.0.1"
	"static A 192.0.2.10"
	"static TXT \"signed\""
	"alias CNAME static"
	"*.wild A 192.0.2.99"
	"a.b.ent TXT \"deep\""
	"sub NS ns.sub"
	"ns.sub A 192.0.2.53"
)

# ------------------------------------------------------------ Knot
KDIR="$FG_WORK/knot"
mkdir -p "$KDIR/db" "$KDIR/run"
{
	printf '$ORIGIN example.test.\n$TTL 300\n'
	printf '@ SOA ns1.example.test. hostmaster.example.test. 7 3600 600 604800 60\n'
	printf '%s\n' "${RECORDS[@]}"
} >"$KDIR/example.test.zone"
cat >"$KDIR/knot.conf" <<EOF
server:
    rundir: "$KDIR/run"
    user: root:root
    listen: [ "$KN@53" ]
database:
    storage: "$KDIR/db"
log:
  - target: stderr
    any: info
policy:
  - id: imported
    algorithm: ecdsap256sha256
    manual: on
    single-type-signing: on
mod-onlinesign:
  - id: sign
    policy: imported
template:
  - id: default
    storage: "$KDIR"
    file: "%s.zone"
zone:
  - domain: example.test
    module: mod-onlinesign/sign
EOF
out=$(keymgr -c "$KDIR/knot.conf" example.test import-bind "$KEYS/$csk.private" 2>&1); rc=$?
assert_eq "keymgr import-bind takes the fluxctl key" 0 "$rc"
kid=$(keymgr -c "$KDIR/knot.conf" example.test list 2>/dev/null | awk -v t="$tag" '$2 == t {print $1; exit}')
# the BIND files carry no CSK role: make it sign the zone too
out=$(keymgr -c "$KDIR/knot.conf" example.test set "$kid" zsk=yes 2>&1); rc=$?
assert_eq "keymgr: the imported key is a CSK" 0 "$rc"
start_bg knotd knot knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<EOF
server:
  listen: [ "$FG@53" ]
  workers: 2
  user: nobody
control:
  socket: $FG_WORK/control.sock
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 7, refresh: 3600, retry: 600, expire: 604800, minimum: 60 }
    dnssec:
      algorithm: ecdsap256sha256
      keys: $KEYS
    records:
EOF
	for r in "${RECORDS[@]}"; do printf '      - %s\n' "$(printf '%s' "$r" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"; done
} >"$CONF"
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }
start_fluxgated fg "$CONF"
wait_dns cli $FG example.test "$DNS_WAIT" "$FG_FLUXGATED_PID" || { fail "fluxgated answers"; finish; }
wait_dns cli $KN example.test 30 "$KNOT_PID" || { fail "knotd answers" "$(tail -n 20 "$FG_WORK/knotd.log")"; finish; }
ok "both servers answer"

q() { nsx cli kdig @"$1" +retry=1 +timeout=5 +dnssec "${@:2}" 2>&1; }
out=$(q $KN example.test DNSKEY)
assert_match "Knot publishes the fluxctl key" "IN\\s+RRSIG\\s+DNSKEY 13 2 300 [0-9]+ [0-9]+ $tag example\\.test\\." "$out"
out=$(q $KN static.example.test A)
assert_match "Knot signs with it" "IN\\s+RRSIG\\s+A 13 3 300 [0-9]+ [0-9]+ $tag example\\.test\\." "$out"
assert_eq "the same DNSKEY RRset on both" \
	"$(q $FG +noall +answer example.test DNSKEY | awk '$4 == "DNSKEY"' | tr -s ' \t' ' ' | cut -d' ' -f1,4-)" \
	"$(q $KN +noall +answer example.test DNSKEY | awk '$4 == "DNSKEY"' | tr -s ' \t' ' ' | cut -d' ' -f1,4-)"

# ------------------------------------------------------------ validators
ub() { # ub IP STUB
	mkdir -p "$FG_WORK/ub-$1"
	printf '%s\n' "$DS" >"$FG_WORK/ub-$1/anchors"
	cat >"$FG_WORK/ub-$1/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $1
    port: 53
    outgoing-interface: $1
    do-ip6: no
    access-control: 10.57.0.0/16 allow
    chroot: ""
    username: ""
    pidfile: ""
    directory: "$FG_WORK/ub-$1"
    use-syslog: no
    logfile: ""
    do-daemonize: no
    module-config: "validator iterator"
    trust-anchor-file: "$FG_WORK/ub-$1/anchors"
    do-not-query-localhost: no
    local-zone: "test." nodefault
    num-threads: 1
    so-reuseport: no
    val-log-level: 2
stub-zone:
    name: "example.test"
    stub-addr: $2
remote-control:
    control-enable: no
EOF
	start_bg "unbound-$1" cli unbound -d -c "$FG_WORK/ub-$1/unbound.conf"
}
ub $UFG $FG; UFG_PID=$BG_PID
ub $UKN $KN; UKN_PID=$BG_PID
for ip in $UFG $UKN; do
	for i in $(seq 1 200); do
		nsx cli ss -H -lnu "src = $ip and sport = :53" 2>/dev/null | grep -q . && break
		sleep 0.1
	done
done

ADFLAGS=';; flags: qr rd ra ad;'
QUERIES=(
	"static.example.test A"
	"static.example.test TXT"
	"alias.example.test A"
	"x.wild.example.test A"
	"static.example.test MX"
	"nope.example.test A"
	"b.ent.example.test A"
	"example.test DNSKEY"
	"example.test SOA"
	"example.test NS"
)
for qq in "${QUERIES[@]}"; do
	for side in "fluxgated $UFG" "Knot $UKN"; do
		set -- $side
		out=$(nsx cli dig @"$2" +tries=2 +time=10 +dnssec $qq 2>&1)
		assert_match "unbound validates $1's answer to $qq (AD)" "$ADFLAGS" "$out"
	done
done
for side in "fluxgated $UFG" "Knot $UKN"; do
	set -- $side
	out=$(nsx cli dig @"$2" +tries=2 +time=10 +tcp +dnssec static.example.test A 2>&1)
	assert_match "unbound validates $1's answer over TCP (AD)" "$ADFLAGS" "$out"
done

# ------------------------------------------------------------ side by side
mkdir -p "$FG_WORK/answers"
QUERIES+=("x.sub.example.test A" "sub.example.test DS")
i=0
for qq in "${QUERIES[@]}"; do
	i=$((i + 1))
	q $FG +norecurse $qq >"$FG_WORK/answers/$i.fluxgated"
	q $KN +norecurse $qq >"$FG_WORK/answers/$i.knot"
done
out=$(python3 "$HERE/dnssec_knot_cmp.py" "$FG_WORK/answers" "${#QUERIES[@]}" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
assert_eq "side by side: every difference is a listed deliberate one" 0 "$rc"
assert_match "side by side: compared every query" "^compared ${#QUERIES[@]} queries" "$out"

fluxgated_alive "fluxgated still serving"
stop_bg "$UFG_PID"
stop_bg "$UKN_PID"
stop_bg "$KNOT_PID"
stop_fluxgated
finish
