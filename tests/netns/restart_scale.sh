#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Restart at scale, against the real daemon and kernel: a gateway holding
# FG_RESTART_N (20000) exact grants and FG_RESTART_ANY (100) grants open to
# anyone (put in by tools/grant_fill.c through the nft backend, plus a few
# made through DNS) is killed with SIGKILL ([dns] and [priv]) and started
# again. Checks that:
#   - it answers, and grants, after the restart (the read-back of the
#     grants open to anyone runs in the background, daemon/adopt.c; the
#     exact grants are never read back);
#   - nothing was flushed or lost: every grant element is still in the
#     kernel, and `fluxctl grants --count` reports them all, once;
#   - the adopted grants are counted: the log names how many, equal to the
#     kernel's grant_any elements, and `fluxctl status` shows the pool's
#     open addresses >= that; a reload keeps that state (and reads nothing
#     back);
#   - a fresh anyone grant after the adoption never picks an adopted address.
# Times are printed, never asserted.
#
#   cli 10.77.0.2 (resolver), 10.77.0.3 + 10.78.0.0/16 (direct) --- gw 10.77.0.1
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh), FG_RESTART_N, FG_RESTART_ANY.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig nft gcc pkg-config python3
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
if [ "$VALGRIND" = 1 ]; then DNS_WAIT=180; else DNS_WAIT=60; fi
N=${FG_RESTART_N:-20000}
NANY=${FG_RESTART_ANY:-100}

FILL="$FG_WORK/grant_fill"
BUILD="$FG_REPO/build"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -I"$FG_REPO/src" -o "$FILL" \
	"$(dirname "$0")/tools/grant_fill.c" "$BUILD/libfluxgated.a" "$BUILD/libfluxgate.a" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack yaml-0.1 libcrypto \
		jansson libsystemd libseccomp libcap libmicrohttpd libnetfilter_log) -pthread \
	2>"$FG_WORK/grant_fill.build.log" \
	|| die "tools/grant_fill.c does not build against $BUILD: $(tail -n 20 "$FG_WORK/grant_fill.build.log")"

ns_add cli gw
veth_link cli c0 10.77.0.2/24 gw g0 10.77.0.1/24
addr_add cli c0 10.77.0.3/24

chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgrs$$"
cat >"$CONF" <<EOF
server:
  listen: [ "10.77.0.1@53" ]
  user: nobody
  workers: 2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.77.0.1"
pool:
  - id: web4
    prefix: 10.200.0.0/16
  - id: any4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.77.0.9
    ports: [ any ]
    pool: web4
    ttl: 600s
  - id: pub
    name: pub.example.test
    backend: 10.77.0.9
    ports: [ any ]
    pool: any4
    ttl: 600s
    max-open-fraction: 0.9
policy:
  direct: [ 10.77.0.3/32, 10.78.0.0/16 ]
  resolvers: [ 10.77.0.2/32 ]
  anyone-per-source: 64
rrl:
  rate: 0
decoy:
  route-via: 10.77.0.2
nat:
  backend: nft
  table: $TABLE
control:
  socket: $CTL
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

fctl() { nsx gw "$FLUXCTL" -s "$CTL" "$@"; }
kcount() { nft_map_count gw "$TABLE" "$1"; }
kany() { nft_map_keys gw "$TABLE" grant_any4; }
status_open() {
	fctl --json status | python3 -c '
import json, sys
for p in json.load(sys.stdin)["pools"]:
    if p["id"] == sys.argv[1]:
        print(p["open"])' "$1"
}

start_fluxgated gw "$CONF" fluxgated-1
wait_dns cli 10.77.0.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID" || die "fluxgated does not answer"

# ------------------------------------------------------------ the state
out=$(nsx gw "$FILL" "$TABLE" exact "$N" 10.200.0.1 65000 10.78.0.1 10.77.0.9 900); rc=$?
log "exact: $out"
assert_eq "grant_fill: $N exact grants in the kernel" 0 "$rc"
# anyone grants on 198.51.100.1 .. .NANY
out=$(nsx gw "$FILL" "$TABLE" any "$NANY" 198.51.100.1 "$NANY" 10.77.0.1 10.77.0.9 900); rc=$?
log "anyone: $out"
assert_eq "grant_fill: $NANY grants open to anyone" 0 "$rc"
# and some through DNS: exact from 10.77.0.3, anyone from the resolver
a=$(nsx cli kdig @10.77.0.1 -b 10.77.0.3 +short www.example.test A)
assert_match "an exact grant through DNS" '^10\.200\.' "$a"
dns_any=""
for i in 1 2 3 4 5; do
	a=$(nsx cli kdig @10.77.0.1 -b 10.77.0.2 +short pub.example.test A)
	dns_any="$dns_any $a"
done
assert_match "anyone grants through DNS (resolver, no ECS)" '198\.51\.100\.' "$dns_any"
fctl rotate pub >/dev/null

exact_before=$(kcount grant_client4)
any_before=$(kany)
nany_before=$(grep -c . <<<"$any_before")
log "before the kill: $exact_before exact, $nany_before anyone elements"
assert_eq "the kernel holds $N + 1 exact grants" "$((N + 1))" "$exact_before"
check "the kernel holds >= $NANY + 1 anyone grants" [ "$nany_before" -gt "$NANY" ]

# ------------------------------------------------------------ kill -9
priv=$FG_FLUXGATED_PID
dns=$(ps -o pid= --ppid "$priv" | tr -d ' ' | head -n 1)
check "the [dns] process is a child of [priv]" [ -n "$dns" ]
kill -KILL $dns "$priv" 2>/dev/null
wait "$priv" 2>/dev/null
_forget_pid "$priv"
FG_FLUXGATED_PID=""
for ((i = 0; i < 100; i++)); do
	{ _pid_alive "$priv" || { [ -n "$dns" ] && _pid_alive "$dns"; }; } || break
	sleep 0.1
done
assert_eq "after SIGKILL: the exact grants are all still in the kernel" "$exact_before" "$(kcount grant_client4)"
assert_eq "after SIGKILL: the anyone grants are all still in the kernel" "$any_before" "$(kany)"

# ------------------------------------------------------------ restart
t0=$(date +%s.%N)
start_fluxgated gw "$CONF" fluxgated-2
first=""
deadline=$((SECONDS + DNS_WAIT))
while [ $SECONDS -lt $deadline ]; do
	first=$(nsx cli kdig @10.77.0.1 -b 10.77.0.3 +retry=0 +timeout=1 +short www.example.test A 2>/dev/null)
	grep -q '^10\.200\.' <<<"$first" && break
	_pid_alive "$FG_FLUXGATED_PID" || break
	sleep 0.05
done
t1=$(date +%s.%N)
log "restart to first granted answer: $(python3 -c "print(round($t1 - $t0, 3))") s (printed, not asserted)"
assert_match "after the restart: a granted answer" '^10\.200\.' "$first"
# the kernel holds this very ruleset: the start sends no setup batch
assert_match "after the restart: the ruleset is recognised, nothing written" \
	'already holds this ruleset: nothing written' "$(cat "$FG_WORK/fluxgated-2.log")"
assert_nomatch "the first start wrote its ruleset" \
	'already holds this ruleset' "$(cat "$FG_WORK/fluxgated-1.log")"

# the adoption ends with one log line naming the count
adopted=""
for ((i = 0; i < DNS_WAIT * 10; i++)); do
	adopted=$(sed -n 's/.*restart recovery: \([0-9]*\) live grants\{0,1\} open to anyone adopted.*/\1/p' \
		"$FG_WORK/fluxgated-2.log" | head -n 1)
	[ -n "$adopted" ] && break
	sleep 0.1
done
log "$(grep 'restart recovery' "$FG_WORK/fluxgated-2.log")"
assert_eq "restart recovery adopted every anyone grant of the kernel" "$nany_before" "$adopted"
assert_nomatch "restart recovery: no read-back failure" 'reading back .* failed' "$(cat "$FG_WORK/fluxgated-2.log")"
open=$(status_open any4)
log "pool any4 open to anyone after the adoption: $open"
check "status: pool any4 counts the adopted addresses open ($open >= $nany_before)" \
	[ "${open:-0}" -ge "$nany_before" ]

exact_after=$(kcount grant_client4)
check "after the restart: every exact grant is still there ($exact_after >= $exact_before)" \
	[ "$exact_after" -ge "$exact_before" ]
out=$(fctl --json grants --count); rc=$?
assert_eq "grants --count exits 0" 0 "$rc"
total=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["count"]["total"])' "$out" 2>/dev/null)
kt=$(( $(kcount grant_client4) + $(kcount grant_any4) + $(kcount grant_net4) + $(kcount grant_net4_24) ))
assert_eq "grants --count: every kernel grant, once" "$kt" "$total"

# fresh anyone grants now never pick an adopted address (they are open)
fresh=""
for i in 1 2 3 4 5 6 7 8; do
	fctl rotate pub >/dev/null
	a=$(nsx cli kdig @10.77.0.1 -b 10.77.0.2 +short pub.example.test A)
	fresh="$fresh $a"
done
log "fresh anyone answers: $fresh"
assert_match "anyone answers after the restart" '198\.51\.100\.' "$fresh"
reused=0
for a in $fresh; do
	grep -qx "$a" <<<"$any_before" && reused=$((reused + 1))
done
assert_eq "no fresh anyone grant hands out an address adopted as open" 0 "$reused"

# ------------------------------------------------------------ reload
open_before=$(status_open any4)
out=$(fctl reload); rc=$?
assert_eq "reload at $N grants: exit 0" 0 "$rc"
open_after=$(status_open any4)
check "the adopted state survives the reload ($open_after >= $nany_before)" \
	[ "${open_after:-0}" -ge "$nany_before" ]
log "pool any4 open: $open_before before the reload, $open_after after"
assert_eq "after the reload: the exact grants are all still in the kernel" "$exact_after" "$(kcount grant_client4)"
a=$(nsx cli kdig @10.77.0.1 -b 10.77.0.3 +short www.example.test A)
assert_match "after the reload: a granted answer" '^10\.200\.' "$a"
exact_end=$(kcount grant_client4)

stop_fluxgated
assert_eq "after a clean stop: nothing flushed" "$exact_end" "$(kcount grant_client4)"

# a start with another data plane (www exposes tcp/8080 only) writes it
sed -i '0,/    ports: \[ any \]/s//    ports: [ tcp\/8080 ]/' "$CONF"
start_fluxgated gw "$CONF" fluxgated-3
wait_dns cli 10.77.0.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID" || die "fluxgated does not answer (3)"
assert_nomatch "a changed data plane at start: the ruleset is written" \
	'already holds this ruleset' "$(cat "$FG_WORK/fluxgated-3.log")"
assert_match "the kernel has the new service port" '8080' "$(nsx gw nft list set inet "$TABLE" svcport4)"
assert_eq "a changed data plane at start: no grant flushed" "$exact_end" "$(kcount grant_client4)"
stop_fluxgated "fluxgated (3) stops cleanly"
finish
